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
The grid files carry 17 significant digits (each number reads back as the double the program
held), so the tolerance is the solvers' own: --rtol (default 1e-10) of each value's magnitude
(LMPs at least 1 $/MWh, dispatch and slack the largest dispatch or load plus 1 MWh).
With the seed's other records beside them, exact cross-checks (the same doubles, or the model's
arithmetic on them, MODEL 2.2 and 2.5):
  steps.csv     the household buses' LMPs of both markets and their loads with storage;
  draws.csv     each solar unit's bound, its availability converted to grid units and back
                (x / m x m); each bus's load without storage, base load plus the households'
                (consumers from steps.csv, the prosumers' net demand from draws.csv)
                (consumer + net) / 1000 / m, back to MWh per step (x m).

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
    rep = sb_grid.Report()
    N, G = grid.N, grid.G
    opf = sb_grid.DcOpf(grid, float(cfg["voll"]))
    key = lambda t: (int(t[0]), int(t[1]), t[2])
    order = [key(t) for t in zip(steps["day"], steps["hour"], steps["market"])]
    rep.holds("rows", len(buses["bus"]) == N * len(order) and len(gens["gen"]) == G * len(order),
              f"grid_buses.csv has {len(buses['bus'])} rows, grid_gens.csv {len(gens['gen'])}: want {N} and {G} "
              f"per step and market ({len(order)})")
    if len(buses["bus"]) != N * len(order) or len(gens["gen"]) != G * len(order):
        rep.print()
        return 1
    bl, bp = sb_grid.floats(buses["load_mwh"]), sb_grid.floats(buses["lmp"])
    gd, gmin, gmax = (sb_grid.floats(gens[k]) for k in ("dispatch_mwh", "min_mwh", "available_mwh"))
    cost, uns, spl = (sb_grid.floats(steps[k]) for k in ("cost", "unserved_mwh", "spilled_mwh"))
    hours = 1.0 if w.per_step else float(cfg["step_hours"])
    rtol = a.rtol
    skipped_lmp = skipped_pg = 0
    for k, (day, hour, market) in enumerate(order):
        rb, rg = slice(k * N, (k + 1) * N), slice(k * G, (k + 1) * G)
        rep.holds("rows", [key(t) for t in zip(buses["day"][rb], buses["hour"][rb], buses["market"][rb])]
                  == [(day, hour, market)] * N and [int(x) for x in buses["bus"][rb]] == grid.bus_id,
                  f"grid_buses.csv rows of day {day} hour {hour} {market}: not the grid's buses in order")
        rep.holds("rows", [int(x) for x in gens["gen"][rg]] == list(range(1, G + 1)),
                  f"grid_gens.csv rows of day {day} hour {hour} {market}: not the generators in order")
        where = f"day {day} hour {hour} {market}"
        # Out-of-service units are recorded with bounds 0 and stay out.
        pmin, pmax = w.units(gmin[rg]), w.units(gmax[rg])
        res = opf.solve(w.units(bl[rb]), np.where(grid.gen_on, pmin, 0), np.where(grid.gen_on, pmax, 0))
        if res.unique:
            rep.close("lmp $/MWh", bp[rb], res.lmp, rtol * np.maximum(np.abs(res.lmp), 1.0),
                      where=lambda i: f"{where} bus {grid.bus_id[i]}", kind="solver")
        else:
            skipped_lmp += 1
        rep.close("cost $", cost[k], res.cost * hours, rtol * abs(res.cost * hours), where=where, kind="solver")
        pg = w.mwh(res.pg)
        if res.primal_unique:
            rep.close("dispatch MWh", gd[rg], pg, rtol * (np.max(np.abs(pg)) + 1), where=lambda i: f"{where} gen {i + 1}",
                      kind="solver")
        else:
            skipped_pg += 1
        scale = rtol * (1 + np.sum(np.abs(bl[rb])))
        rep.close("unserved MWh", uns[k], w.mwh(np.sum(res.unserved)), scale, where=where, kind="solver")
        rep.close("spilled MWh", spl[k], w.mwh(np.sum(res.spilled)), scale, where=where, kind="solver")
    if skipped_lmp:
        rep.note(f"{skipped_lmp} of {len(order)} steps have multipliers that are not unique: LMPs not compared")
    if skipped_pg:
        rep.note(f"{skipped_pg} of {len(order)} steps have more than one optimal dispatch: dispatch not compared")
    try:
        cross_check(rep, d, w, order, bl, bp, gmax)
    except (OSError, KeyError, ValueError, sb_grid.GridError) as e:
        print(f"check_grid: {e}", file=sys.stderr)
        return 2
    ok = rep.print()
    print("check_grid:", "every step agrees" if ok else "DIFFERENCES BEYOND TOLERANCE")
    return 0 if ok else 1


def cross_check(rep, d, w, order, bl, bp, gmax):
    """The grid files against the seed's other records, where those are beside them: the same
    doubles (LMPs and loads with storage in steps.csv), or the model's arithmetic on them (each
    solar unit's bound from draws.csv; the loads without storage from the consumers and the
    prosumers' net demand)."""
    N, G = w.grid.N, w.grid.G
    index = {t: k for k, t in enumerate(order)}
    path = os.path.join(d, "steps.csv")
    if not os.path.exists(path):
        return
    st = sb_grid.read_csv(path)
    B = w.B
    T = len(st["day"]) // B
    steps = [(int(st["day"][t * B]), int(st["hour"][t * B])) for t in range(T)]
    rep.holds("steps.csv vs grid files: rows", len(st["day"]) == T * B and st["bus"][:B] == w.bus_name and
              all((dh + ("storage",)) in index and (dh + ("no_storage",)) in index for dh in steps),
              "steps.csv: a step or bus without grid records")
    lmp, lmp_ns, load, cons = (sb_grid.floats(st[k]).reshape(T, B) for k in
                               ("lmp", "lmp_no_storage", "bus_load_mwh", "consumer_grid_kwh"))
    ks = np.array([index.get(dh + ("storage",), 0) for dh in steps])
    kn = np.array([index.get(dh + ("no_storage",), 0) for dh in steps])
    gb = w.grid_bus
    where = lambda i: f"day {steps[i // B][0]} hour {steps[i // B][1]} bus {w.bus_name[i % B]}"
    rep.exact("steps.csv lmp = grid files", lmp, bp[ks[:, None] * N + gb[None, :]], where)
    rep.exact("steps.csv lmp_no_storage = grid files", lmp_ns, bp[kn[:, None] * N + gb[None, :]], where)
    rep.exact("steps.csv bus load = grid files", load, bl[ks[:, None] * N + gb[None, :]], where)
    path = os.path.join(d, "draws.csv")
    if not os.path.exists(path):
        return
    dr = sb_grid.read_csv(path)
    kind, name, val = dr["kind"], dr["name"], sb_grid.floats(dr["value"])
    net = [val[i] for i in range(len(kind)) if kind[i] == "prosumer_net_kwh"]
    sol = [val[i] for i in range(len(kind)) if kind[i] == "solar_mwh"]
    U = len(w.solar_gen)
    rep.holds("draws.csv vs grid files: rows", len(net) == T * B and len(sol) == T * U,
              f"draws.csv: {len(net)} net demand rows and {len(sol)} solar rows, want {T * B} and {T * U}")
    if len(net) != T * B or len(sol) != T * U:
        return
    net, sol = np.array(net).reshape(T, B), np.array(sol).reshape(T, U)
    # [MODEL 2.4] a solar unit's upper bound is its availability, in grid units (/ m); the
    # record converts back (x m).
    avail = w.mwh(w.units(sol))
    for kk, mk in ((ks, "storage"), (kn, "no_storage")):
        rep.exact("solar bound = draws.csv availability", gmax[kk[:, None] * G + np.array(w.solar_gen, dtype=int)[None, :]], avail,
                  where=lambda i, mk=mk: f"day {steps[i // U][0]} hour {steps[i // U][1]} {mk} unit "
                                         f"{w.cfg['solar']['generators'][i % U]}")
    # [MODEL 2.5] the load without storage: base load, plus each household bus's consumers and
    # prosumers before batteries, (consumer + net) / 1000 / m, in file order of the buses.
    want = np.empty((T, N))
    for t, (_, h) in enumerate(steps):
        x = w.base_load[h].copy()
        for b in range(B):
            x[gb[b]] += w.units((cons[t, b] + net[t, b]) / 1000.0)
        want[t] = w.mwh(x)
    rep.exact("load without storage = base + households", bl[kn[:, None] * N + np.arange(N)[None, :]], want,
              where=lambda i: f"day {steps[i // N][0]} hour {steps[i // N][1]} no_storage bus {w.grid.bus_id[i % N]}")


if __name__ == "__main__":
    sys.exit(main())
