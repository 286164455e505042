#!/usr/bin/env python3
"""same_values.py OLD_RUN NEW_RUN: are a tariff-game run's records the same values as those of
a run made before the records gained full precision (before the grid-scale issue)?

The records used to print LMPs and energies with 9 significant digits, SoC, actions, tariffs
and EEIs with 6 decimals, revenue with 3; they now print 17 significant digits (a double reads
back as itself). A value is the same when the new record, printed in the old column's format,
gives the old text exactly; summary.json (always full precision) must be equal field by field,
wall-clock fields aside. Columns the new records add (steps.csv's belief) are not compared.
Works on a seed directory or on a run directory with seed-K/ inside. Exit 0 when every value
matches, 1 otherwise (the first differences are printed)."""
import csv
import json
import os
import sys

OLD_FORMATS = {
    # file: {column: format}; columns not named here are integers or names, compared as text
    "steps.csv": dict(**{c: "%.9g" for c in ("lmp", "lmp_no_storage", "bus_load_mwh", "prosumer_grid_kwh",
                                             "consumer_grid_kwh")},
                      **{c: "%.6f" for c in ("soc", "action", "alpha_buy", "alpha_sell", "fixed_prosumer",
                                             "fixed_consumer")}),
    "periods.csv": None,  # every number %.6f but revenue %.3f
    "days.csv": {"imv_rl": "%.9g", "imv_no_storage": "%.9g"},
    "hourly.csv": {"fleet_mwh_first": "%.9g", "fleet_mwh_last": "%.9g"},
}
WALL = {"wall_s", "seed_wall_s", "train_steps_per_s", "time_s", "timing_note", "config", "version"}


def fmt_for(name, col):
    if name == "periods.csv":
        if col in ("period", "day_start"):
            return None
        return "%.3f" if col == "revenue" else "%.6f"
    return OLD_FORMATS[name].get(col)


def compare_csv(old, new, name, bad):
    with open(old) as f:
        a = list(csv.DictReader(f))
    with open(new) as f:
        b = list(csv.DictReader(f))
    if len(a) != len(b):
        bad.append(f"{new}: {len(b)} rows, the old run has {len(a)}")
        return 0
    cells = 0
    for i, (ra, rb) in enumerate(zip(a, b)):
        for col, text in ra.items():
            f = fmt_for(name, col)
            got = rb.get(col)
            if got is None:
                bad.append(f"{new}: no column {col}")
                return cells
            if f is None:
                same = got == text
            else:
                same = (f % float(got)) == text
            cells += 1
            if not same and len(bad) < 20:
                bad.append(f"{new} row {i + 1} {col}: old {text}, new {got} ({f % float(got) if f else got})")
    return cells


def compare_json(old, new, bad):
    a, b = json.load(open(old)), json.load(open(new))
    n = 0
    for k, v in a.items():
        if k in WALL:
            continue
        n += 1
        if b.get(k) != v:
            bad.append(f"{new}: {k}: old {v}, new {b.get(k)}")
    return n


def compare_dir(old, new, bad):
    cells = 0
    for name in OLD_FORMATS:
        cells += compare_csv(os.path.join(old, name), os.path.join(new, name), name, bad)
    fields = compare_json(os.path.join(old, "summary.json"), os.path.join(new, "summary.json"), bad)
    return cells, fields


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    old, new = sys.argv[1], sys.argv[2]
    dirs = sorted(d for d in os.listdir(old) if d.startswith("seed-")) or ["."]
    bad, cells, fields = [], 0, 0
    for d in dirs:
        c, f = compare_dir(os.path.join(old, d), os.path.join(new, d), bad)
        cells += c
        fields += f
    for line in bad[:20]:
        print(line)
    print(f"{len(dirs)} seed directories, {cells} CSV cells, {fields} summary fields: "
          f"{'the same values' if not bad else f'{len(bad)} differences'}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
