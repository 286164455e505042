#!/usr/bin/env python3
"""check_paper.py RUN_DIR: the paper's findings, in shape, on a tariff-game run directory.

Reads RUN_DIR/summary.json (per-seed values) and RUN_DIR/steps.csv (aggregated over seeds) and
prints each criterion of the issue with the measured figures and PASS or FAIL:
  1. mean IMV of the last 3 days with storage and RL <= 50% of the paired no-storage IMV;
  2. the fleets charge in the solar hours and export at the evening peak (last 3 days, mean
     over seeds and buses: action > 0 at 9:00-15:00, grid energy < 0 at 18:00-21:00);
  3. the learned tariff's EEI gap <= 80% of the baseline tariff's (means over seeds);
  4. fixed charges rising with prosumer income (b1 < b2 < b3) in at least 4 of 5 seeds;
  5. revenue shortfall <= 1% of the fixed cost (mean over seeds).
Exit status: 0 if all pass, 1 otherwise. Standard library only."""
import csv
import json
import sys
from collections import defaultdict


def main(run):
    s = json.load(open(f"{run}/summary.json"))
    rows = list(csv.DictReader(open(f"{run}/steps.csv")))
    last_day = max(int(r["day"]) for r in rows)
    report = s["config"].get("report_days", 3)
    window = [r for r in rows if int(r["day"]) > last_day - report]
    act, q = defaultdict(list), defaultdict(list)
    for r in window:
        h = int(r["hour"])
        act[h].append(float(r["action_mean"]))
        q[h].append(float(r["prosumer_grid_kwh_mean"]) / 1000)
    mean = lambda v: sum(v) / len(v)
    solar_hours, peak_hours = (3, 4), (6,)
    checks = []
    rl, ns = s["imv_last3d"]["rl"]["mean"], s["imv_last3d"]["no_storage"]["mean"]
    checks.append(("IMV storage+RL <= 50% of no storage", f"{rl:.3f} vs {ns:.3f} $/MWh ({100 * rl / ns:.0f}%)",
                   rl <= 0.5 * ns))
    charge = mean([mean(act[h]) for h in solar_hours])
    export = mean([mean(q[h]) for h in peak_hours])
    profile = " ".join(f"{3 * h:02d}h:{mean(act[h]):+.2f}" for h in sorted(act))
    checks.append(("fleets charge at 9-15h, export at 18-21h",
                   f"mean action at 9-15h {charge:+.3f}, fleet grid energy at 18-21h {export:+.2f} MWh/bus; "
                   f"actions by hour {profile}", charge > 0 and export < 0))
    gb, gl = s["eei_gap"]["baseline_tariff"]["mean"], s["eei_gap"]["learned"]["mean"]
    checks.append(("EEI gap learned <= 80% of baseline tariff's", f"{gl:.3f} vs {gb:.3f} pp ({100 * gl / gb:.0f}%)",
                   gl <= 0.8 * gb))
    fc = s["fixed_charges"]
    seeds = len(fc["b1"]["seeds"])
    rising = sum(1 for k in range(seeds) if fc["b1"]["seeds"][k] < fc["b2"]["seeds"][k] < fc["b3"]["seeds"][k])
    per_seed = "; ".join(f"{fc['b1']['seeds'][k]:.2f} < {fc['b2']['seeds'][k]:.2f} < {fc['b3']['seeds'][k]:.2f}"
                         for k in range(seeds))
    checks.append(("fixed charges b1 < b2 < b3 in >= 4 of 5 seeds", f"{rising} of {seeds} ({per_seed})",
                   rising >= min(4, seeds)))
    sf = s["revenue_shortfall"]["mean"]
    checks.append(("revenue shortfall <= 1% of the fixed cost", f"{100 * sf:.2f}%", sf <= 0.01))
    ok = True
    for name, got, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {got}")
        ok &= passed
    print(f"wall {s['wall_s']:.1f} s for {seeds} seeds; per seed (mean): follower training "
          f"{s['time_s']['follower_training']['mean']:.1f} s, leader training {s['time_s']['leader_training']['mean']:.1f} s, "
          f"dispatch {s['time_s']['dispatch']['mean']:.2f} s, seed wall {s['seed_wall_s']['mean']:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tools/check_paper.py RUN_DIR")
    sys.exit(main(sys.argv[1]))
