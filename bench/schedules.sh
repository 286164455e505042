#!/usr/bin/env bash
# schedules.sh: the tariff game under its three schedules on the same seeds, for bench/RESULTS.md
# ("The three schedules", issue 11): single loop PPO (configs/paper.yaml), nested PPO, Algorithm 1
# (configs/nested.yaml) and AC-SMFG (configs/ac_smfg.yaml), run one after another, then a table of
# mean +- sd over the seeds. Runs from any directory; writes OUT/{single_loop,nested,ac_smfg}.
# The default (5 seeds, 100 days) takes hours: run it on a quiet machine.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/schedules.sh [--seeds K] [--jobs J] [--out DIR] [--set key=value ...] [--report]

Trains configs/paper.yaml (schedule single_loop), configs/nested.yaml (nested) and
configs/ac_smfg.yaml (ac_smfg) one after another, each on seeds 0 .. K-1 (the configs' seed
plus K, all three the same), into DIR/single_loop, DIR/nested and DIR/ac_smfg (any earlier run
there is replaced: train --force), then prints a Markdown table from each seed's summary.json
and periods.csv: mean +- sd over the seeds (sd the population one, as OUT/summary.json's std).

  --seeds K         seeds per schedule (default 5, the paper's; with --report, the
                    seed directories found)
  --jobs J          cores for each run (default: all; train --jobs)
  --out DIR         where the three runs go (default runs/schedules)
  --set key=value   passed to all three runs, e.g. --set days=6 (repeatable)
  --report          train nothing: print the table of the runs already in DIR
  -h, --help        this help

Environment: BIN (default: bin/stackelberg of this repository).

Rows: IMV of the last report_days days with storage and RL and without storage ($/MWh), the
pooled EEI gap at the learned and at the baseline tariff (pp), each fixed charge of the final
tariff ($/household/day), the revenue shortfall (fraction), environment samples (train_env_steps:
every agent's PPO or actor-critic environment steps, a leader step counted once), leader
iterations (periods.csv rows: tariffs the leader set; under ac_smfg the leader also updates at
every real step), a seed's wall time (s) and the whole run's wall and CPU time (s, one value:
seeds run in parallel processes).
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin/stackelberg}
SEEDS=
OUT=runs/schedules
JOBS=()
SETS=()
REPORT=0
while (($#)); do
    case $1 in
    --seeds) SEEDS=${2:?--seeds needs a number}; shift 2 ;;
    --jobs) JOBS=(--jobs "${2:?--jobs needs a number}"); shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --set) SETS+=(--set "${2:?--set needs key=value}"); shift 2 ;;
    --report) REPORT=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/schedules.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
((REPORT)) || SEEDS=${SEEDS:-5}
[[ -z $SEEDS || $SEEDS =~ ^[1-9][0-9]*$ ]] || { echo "bench/schedules.sh: --seeds: expected a positive integer, got '$SEEDS'" >&2; exit 2; }

NAMES=(single_loop nested ac_smfg)
CONFIGS=("$ROOT/configs/paper.yaml" "$ROOT/configs/nested.yaml" "$ROOT/configs/ac_smfg.yaml")
export OPENBLAS_NUM_THREADS=1

if ((!REPORT)); then
    [[ -x $BIN ]] || { echo "bench/schedules.sh: $BIN: not built (make)" >&2; exit 2; }
    mkdir -p "$OUT"
    {
        echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
        echo "binary: $BIN ($("$BIN" --version 2>/dev/null || echo '?'); $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
        echo "started: $(date -u '+%Y-%m-%d %H:%M UTC'); seeds $SEEDS; ${JOBS[*]} ${SETS[*]}"
    } >"$OUT/about.txt"
    for i in "${!NAMES[@]}"; do
        name=${NAMES[$i]}
        echo "== $name: ${CONFIGS[$i]##*/}" >&2
        # %e wall, %U user, %S system seconds of train and every seed process it waited for.
        /usr/bin/time -o "$OUT/$name.time" -f "%e %U %S" \
            "$BIN" train "${CONFIGS[$i]}" --seeds "$SEEDS" --out "$OUT/$name" --force --quiet \
            "${JOBS[@]}" "${SETS[@]}" || { echo "bench/schedules.sh: $name failed" >&2; exit 1; }
    done
fi

/usr/bin/python3 - "$OUT" "${SEEDS:-0}" "${NAMES[@]}" <<'PY'
import json, math, os, sys

out, seeds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if not seeds:  # --report without --seeds: the seed directories of the first schedule's run
    seeds = sum(1 for e in os.listdir(os.path.join(out, names[0])) if e.startswith("seed-"))

def seed_rows(name):
    """Each seed's summary.json and its periods.csv row count, seeds 0 .. seeds-1."""
    rows = []
    for k in range(seeds):
        d = os.path.join(out, name, f"seed-{k}")
        try:
            with open(os.path.join(d, "summary.json")) as f:
                s = json.load(f)
            with open(os.path.join(d, "periods.csv")) as f:
                s["_periods"] = sum(1 for _ in f) - 1
        except OSError as e:
            sys.exit(f"bench/schedules.sh: {name}: {e} (did seed {k} finish?)")
        rows.append(s)
    return rows

def get(s, key):
    for part in key.split("."):
        s = s[part]
    return float(s)

def stat(xs):
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

def fmt(m, sd, digits):
    return f"{m:,.{digits}f} ± {sd:,.{digits}f}"

runs = {n: seed_rows(n) for n in names}
first = runs[names[0]][0]
classes = list(first["fixed_charges"].keys())  # prosumer classes, then consumers
cfg = first["config"]
days = cfg.get("days", "?")
report = cfg.get("report_days", "?")

table = [  # label, key in a seed's summary.json, digits
    (f"IMV last {report} days, storage + RL ($/MWh)", "imv_last3d.rl", 3),
    (f"IMV last {report} days, no storage ($/MWh)", "imv_last3d.no_storage", 3),
    ("EEI gap, learned tariff (pp)", "eei_gap.learned", 3),
    ("EEI gap, baseline tariff (pp)", "eei_gap.baseline_tariff", 3),
] + [(f"fixed charge {c} ($/hh/day)", f"fixed_charges.{c}", 3) for c in classes] + [
    ("alpha_buy ($/kWh)", "alpha_buy", 4),
    ("alpha_sell ($/kWh)", "alpha_sell", 4),
    ("revenue shortfall (fraction)", "revenue_shortfall", 3),
    ("environment samples (train_env_steps)", "train_env_steps", 0),
    ("leader iterations (periods.csv rows)", "_periods", 1),
    ("seed wall time (s)", "wall_s", 1),
    ("seed training time, followers (s)", "time_s.follower_training", 1),
    ("seed training time, leader (s)", "time_s.leader_training", 1),
]

print(f"{seeds} seeds x {days} days; mean ± sd over seeds (population sd)\n")
print("| | " + " | ".join(names) + " |")
print("|---|" + "---|" * len(names))
for label, key, digits in table:
    cells = [fmt(*stat([get(s, key) for s in runs[n]]), digits) for n in names]
    print(f"| {label} | " + " | ".join(cells) + " |")
walls, cpus = [], []
for n in names:
    try:
        with open(os.path.join(out, f"{n}.time")) as f:
            e, u, sy = (float(x) for x in f.read().split()[-3:])
        walls.append(f"{e:.0f}")
        cpus.append(f"{u + sy:.0f}")
    except (OSError, ValueError):
        with open(os.path.join(out, n, "summary.json")) as f:
            walls.append(f"{json.load(f)['wall_s']:.0f}")
        cpus.append("?")
print("| run wall time (s) | " + " | ".join(walls) + " |")
print("| run CPU time, user + system (s) | " + " | ".join(cpus) + " |")
about = os.path.join(out, "about.txt")
if os.path.exists(about):
    print()
    with open(about) as f:
        print(f.read().rstrip())
PY
