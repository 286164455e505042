#!/usr/bin/python3
"""check_grid.py SEED_DIR: re-solve every step of a game's `record: grid` files with an
independent DC-OPF (tools/sb_grid.py, cvxopt) and compare.

A seed directory written with `record: [grid]` holds, for every step and both markets (with
and without storage):
  grid_buses.csv  day,hour,market,bus,load_mwh,lmp          every grid bus
  grid_gens.csv   day,hour,market,gen,dispatch_mwh,min_mwh,available_mwh   every generator
  grid_steps.csv  day,hour,market,cost,unserved_mwh,spilled_mwh
Each step is solved again from its loads and generator bounds alone, on the grid file of the
run's config (summary.json), and compared:
  lmp       every bus, where the multipliers are unique (LICQ at the optimum);
  cost      the step's cost in $ (the objective in the grid's basis times the hours of a step);
  dispatch  every generator, where the optimum is unique (the KKT matrix is nonsingular);
  unserved, spilled   MWh summed over buses.
With steps.csv beside them, the household buses' LMPs and loads of both files must agree to
steps.csv's printed digits. The grid files carry 17 significant digits, so the tolerance is
the solvers' own: --rtol (default 1e-10) of each value's magnitude (LMPs at least 1 $/MWh).

Exit status: 0 when every difference is within tolerance, 1 otherwise, 2 on bad input.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sb_grid  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("seed_dir")
    ap.add_argument("--grid", help="the grid file (default: the one summary.json names)")
    ap.add_argument("--rtol", type=float, default=1e-10)
    a = ap.parse_args()
    d = a.seed_dir
    try:
        cfg = json.load(open(os.path.join(d, "summary.json")))["config"]
        grid = sb_grid.read_grid(sb_grid.find_grid(cfg["grid"], d, a.grid))
        w = sb_grid.World(cfg, grid)
        buses = sb_grid.read_csv(os.path.join(d, "grid_buses.csv"))
        gens = sb_grid.read_csv(os.path.join(d, "grid_gens.csv"))
        steps = sb_grid.read_csv(os.path.join(d, "grid_steps.csv"))
    except (OSError, KeyError, ValueError, sb_grid.GridError) as e:
        print(f"check_grid: {e}", file=sys.stderr)
        return 2
    rep = sb_grid.Report(a.rtol)
    N, G = grid.N, grid.G
    opf = sb_grid.DcOpf(grid, float(cfg["voll"]))
    key = lambda t: (int(t[0]), int(t[1]), t[2])
    order = [key(t) for t in zip(steps["day"], steps["hour"], steps["market"])]
    rep.exact("rows", len(buses["bus"]) == N * len(order) and len(gens["gen"]) == G * len(order),
              f"grid_buses.csv has {len(buses['bus'])} rows, grid_gens.csv {len(gens['gen'])}: want {N} and {G} "
              f"per step and market ({len(order)})")
    bl, bp = sb_grid.Column(buses["load_mwh"]), sb_grid.Column(buses["lmp"])
    gd, gmin, gmax = (sb_grid.Column(gens[k]) for k in ("dispatch_mwh", "min_mwh", "available_mwh"))
    cost, uns, spl = (sb_grid.Column(steps[k]) for k in ("cost", "unserved_mwh", "spilled_mwh"))
    hours = 1.0 if w.per_step else float(cfg["step_hours"])
    skipped_lmp = skipped_pg = 0
    lmp_of = {}
    for k, (day, hour, market) in enumerate(order):
        rb, rg = slice(k * N, (k + 1) * N), slice(k * G, (k + 1) * G)
        rep.exact("rows", [key(t) for t in zip(buses["day"][rb], buses["hour"][rb], buses["market"][rb])]
                  == [(day, hour, market)] * N and [int(x) for x in buses["bus"][rb]] == grid.bus_id,
                  f"grid_buses.csv rows of day {day} hour {hour} {market}: not the grid's buses in order")
        rep.exact("rows", [int(x) for x in gens["gen"][rg]] == list(range(1, G + 1)),
                  f"grid_gens.csv rows of day {day} hour {hour} {market}: not the generators in order")
        where = f"day {day} hour {hour} {market}"
        # Out-of-service units are recorded with bounds 0 and stay out.
        pmin, pmax = w.units(gmin.v[rg]), w.units(gmax.v[rg])
        res = opf.solve(w.units(bl.v[rb]), np.where(grid.gen_on, pmin, 0), np.where(grid.gen_on, pmax, 0))
        lmp_of[(day, hour, market)] = dict(zip(grid.bus_id, bp.v[rb]))
        if res.unique:
            rep.compare("lmp $/MWh", bp.v[rb], res.lmp, err=a.rtol, half=bp.h[rb], where=lambda i: f"{where} bus {grid.bus_id[i]}")
        else:
            skipped_lmp += 1
        rep.compare("cost $", cost.v[k], res.cost * hours, half=cost.h[k], where=where)
        if res.primal_unique:
            rep.compare("dispatch MWh", gd.v[rg], w.mwh(res.pg), err=a.rtol * np.max(np.abs(w.mwh(res.pg)) + 1), half=gd.h[rg],
                        where=lambda i: f"{where} gen {i + 1}")
        else:
            skipped_pg += 1
        scale = a.rtol * (1 + np.sum(bl.v[rb]))
        rep.compare("unserved MWh", uns.v[k], w.mwh(np.sum(res.unserved)), err=scale, half=uns.h[k], where=where)
        rep.compare("spilled MWh", spl.v[k], w.mwh(np.sum(res.spilled)), err=scale, half=spl.h[k], where=where)
    if skipped_lmp:
        rep.note(f"{skipped_lmp} of {len(order)} steps have multipliers that are not unique: LMPs not compared")
    if skipped_pg:
        rep.note(f"{skipped_pg} of {len(order)} steps have more than one optimal dispatch: dispatch not compared")
    cross_check(rep, d, w, lmp_of, bl, order, N)
    ok = rep.print()
    print("check_grid:", "every step agrees" if ok else "DIFFERENCES BEYOND TOLERANCE")
    return 0 if ok else 1


def cross_check(rep, d, w, lmp_of, bl, order, N):
    """steps.csv's household-bus LMPs and loads (9 digits) against the grid files (17)."""
    path = os.path.join(d, "steps.csv")
    if not os.path.exists(path):
        return
    st = sb_grid.read_csv(path)
    lmp, lmp_ns, load = (sb_grid.Column(st[k]) for k in ("lmp", "lmp_no_storage", "bus_load_mwh"))
    index = {t: k for k, t in enumerate(order)}
    ids = dict(zip(w.bus_name, w.bus_id))
    rec = defaultdict(list)
    for r, (day, hour, bus) in enumerate(zip(st["day"], st["hour"], st["bus"])):
        day, hour, bid = int(day), int(hour), ids.get(bus)
        if bid is None or (day, hour, "storage") not in index:
            rep.exact("steps.csv vs grid files", False, f"steps.csv row {r + 2}: no grid record of bus {bus} day {day}")
            continue
        i = w.grid.bus_index(bid)
        for col, market in ((lmp, "storage"), (lmp_ns, "no_storage")):
            rec["lmp"].append((col.v[r], lmp_of[(day, hour, market)][bid], col.h[r]))
        rec["load"].append((load.v[r], bl.v[index[(day, hour, "storage")] * N + i], load.h[r]))
    for name, rows in rec.items():
        a = np.array(rows)
        rep.compare(f"steps.csv {name} vs grid files", a[:, 0], a[:, 1], half=a[:, 2], rtol=1e-15)


if __name__ == "__main__":
    sys.exit(main())
