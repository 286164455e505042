#!/usr/bin/python3
"""mfg_convergence.py: the convergence comparison of the mean-field methods (issue 11) on the
example games of configs/games/ (pricing, positioning, market_entry): nested (Algorithm 1 with
its inner loop learned from samples), ac_smfg and the PPO alternation, each run for about
800,000 environment samples on SEEDS seeds (default 5). Every run writes its --history: the
leader objective J of its current leader policy, evaluated exactly (the MFE of that policy),
against the samples used so far. This script puts the runs on a common grid of samples (a
run's J at x is its last row at or before x; after its end, its final value), averages over
seeds, and writes

    OUT/convergence.csv   game,method,samples,J_mean,J_sd,seeds   (sd: sample, ddof 1)
    OUT/references.csv    game,nested_fixed_point,exact_optimum,pure_spread, and per method the
                          final J (mean, sd) and samples_to_2pct: the first grid point from
                          which the mean stays within 2% of pure_spread (the spread of J over
                          the pure leader actions) of the nested fixed point (-1: never)
    OUT/runs.csv          game,method,seed,samples,J_final,wall_s
    OUT/convergence.png   one panel per game, band = one sd over seeds (gnuplot, Debian's gnuplot-nox)

The references are model-based: nested with its inner loop exact (the point nested and ac_smfg
both aim at, see src/game/ac_smfg.c) and exact (the leader's Stackelberg optimum).

Usage: /usr/bin/python3 tools/mfg_convergence.py [OUT]     (default OUT bench/meanfield; SB_BIN, SEEDS)
Programs are started with argument vectors, never through a shell.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

GAMES = ["pricing", "positioning", "market_entry"]
STEP = 8000          # samples between grid points and history rows
BUDGET = 800000      # samples, about, per run
METHODS = {
    # Algorithm 1 with a learned inner loop: 20 leader iterations of 20,000 actor-critic
    # iterations (2 samples each) plus L simulator queries; tol 0 keeps all 20.
    "nested": ["--method", "nested", "--set", "solver.nested.inner=samples",
               "--set", "solver.nested.inner_steps=20000", "--set", "solver.nested.max_iter=20",
               "--set", "solver.nested.tol=0"],
    # The defaults: 400,000 iterations, 2 samples each.
    "ac_smfg": ["--method", "ac_smfg"],
    # 8 rounds of 65,536 follower, 16,384 mean-field and 16,384 leader samples, then the
    # closing follower and mean-field phases.
    "ppo": ["--method", "ppo", "--set", "solver.ppo.rounds=8", "--set", "solver.ppo.follower_steps=65536",
            "--set", "solver.ppo.leader_steps=16384", "--set", "solver.ppo.mean_field_steps=16384"],
}


def solve(binary, game, args):
    out = subprocess.run([binary, "solve", "configs/games/%s.yaml" % game] + args + ["--json"],
                         check=False, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit("%s %s: exit %d\n%s" % (game, " ".join(args), out.returncode, out.stderr))
    return json.loads(out.stdout)


def history(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["samples"]) for r in rows]), np.array([float(r["leader_objective"]) for r in rows])


def on_grid(xs, js, grid):
    idx = np.searchsorted(xs, grid, side="right") - 1
    return js[np.clip(idx, 0, len(js) - 1)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/meanfield"
    binary = os.environ.get("SB_BIN", "bin/stackelberg")
    seeds = int(os.environ.get("SEEDS", "5"))
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="histories-", dir=out)  # the runs' CSVs, removed at the end
    grid = np.arange(0, BUDGET + STEP, STEP, dtype=float)
    conv, refs, runs = [], [], []
    for game in GAMES:
        ref_nested = solve(binary, game, ["--method", "nested"])["leader_objective"]
        ref_exact = solve(binary, game, ["--method", "exact"])["leader_objective"]
        L = len(solve(binary, game, ["--method", "nested"])["leader_policy"])
        pure = [solve(binary, game, ["--method", "mfe", "--leader-policy", ",".join("1" if b == a else "0" for b in range(L))])
                ["leader_objective"] for a in range(L)]
        spread = max(pure) - min(pure)
        finals, reach = {}, {}
        for method, args in METHODS.items():
            curves = []
            for seed in range(seeds):
                path = os.path.join(tmp, "%s-%s-%d.csv" % (game, method, seed))
                t0 = time.time()
                res = solve(binary, game, args + ["--seed", str(seed), "--set", "solver.history_every=%d" % STEP,
                                                  "--history", path])
                wall = time.time() - t0
                xs, js = history(path)
                curves.append(on_grid(xs, js, grid))
                runs.append([game, method, seed, res["samples"], res["leader_objective"], round(wall, 2)])
                finals.setdefault(method, []).append(res["leader_objective"])
            c = np.array(curves)
            mean, sd = c.mean(axis=0), c.std(axis=0, ddof=1) if seeds > 1 else np.zeros(len(grid))
            # The first grid point from which the mean stays within 2% of the pure-action spread
            # of the nested fixed point (the bar of tests/test_meanfield.c).
            off = np.abs(mean - ref_nested) > 0.02 * spread
            reach[method] = int(grid[np.nonzero(off)[0][-1] + 1]) if off.any() and off[-1] == 0 else (0 if not off.any() else -1)
            series = os.path.join(tmp, "plot-%s-%s.csv" % (game, method))
            with open(series, "w") as f:
                for k, x in enumerate(grid):
                    conv.append([game, method, int(x), "%.10g" % mean[k], "%.6g" % sd[k], seeds])
                    f.write("%d,%.10g,%.6g\n" % (x, mean[k], sd[k]))
        row = [game, "%.10g" % ref_nested, "%.10g" % ref_exact, "%.10g" % spread]
        for method in METHODS:
            f = np.array(finals[method])
            row += ["%.10g" % f.mean(), "%.6g" % (f.std(ddof=1) if seeds > 1 else 0), reach[method]]
        refs.append(row)
        print(game, "done", flush=True)
    with open(os.path.join(out, "convergence.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["game", "method", "samples", "J_mean", "J_sd", "seeds"])
        w.writerows(conv)
    with open(os.path.join(out, "references.csv"), "w", newline="") as f:
        w = csv.writer(f)
        head = ["game", "nested_fixed_point", "exact_optimum", "pure_spread"]
        for method in METHODS:
            head += ["%s_final_mean" % method, "%s_final_sd" % method, "%s_samples_to_2pct" % method]
        w.writerow(head)
        w.writerows(refs)
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["game", "method", "seed", "samples", "J_final", "wall_s"])
        w.writerows(runs)
    plot(out, refs, tmp)
    shutil.rmtree(tmp)


def plot(out, refs, tmp):
    """One panel per game: mean J against samples, one-sd bands, the two references."""
    data = os.path.join(out, "convergence.csv")
    lines = ['set terminal pngcairo size 1500,520 font ",10" noenhanced',
             'set output "%s"' % os.path.join(out, "convergence.png"),
             'set datafile separator ","',
             "set grid",
             "set style fill transparent solid 0.2 noborder",
             "set key below horizontal maxcols 3",
             'set multiplot layout 1,%d title "leader objective J of the current leader policy (exact MFE), '
             'mean over seeds, band = 1 sd"' % len(GAMES)]
    colours = {"nested": 1, "ac_smfg": 2, "ppo": 3}
    for game, ref in zip(GAMES, refs):
        nested_fp, exact_opt = ref[1], ref[2]
        lines += ['set title "%s"' % game, 'set xlabel "environment samples (thousands)"', 'set ylabel "J"',
                  "set xrange [0:%d]" % (BUDGET // 1000)]
        parts = []
        for m, lc in colours.items():
            series = os.path.join(tmp, "plot-%s-%s.csv" % (game, m))
            parts.append('"%s" using ($1/1000):($2 - $3):($2 + $3) with filledcurves lc %d notitle' % (series, lc))
            parts.append('"%s" using ($1/1000):2 with lines lw 2 lc %d title "%s"' % (series, lc, m))
        parts.append("%s with lines dt 2 lw 1.5 lc rgb 'black' title 'nested, inner exact'" % nested_fp)
        parts.append("%s with lines dt 3 lw 1.5 lc rgb 'gray40' title 'exact (Stackelberg optimum)'" % exact_opt)
        lines.append("plot " + ", \\\n     ".join(parts))
    lines.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(lines) + "\n", text=True, check=True)


if __name__ == "__main__":
    main()
