#!/usr/bin/python3
"""check_run.py SEED_DIR: replay a tariff-game run from its records and check every number.

From a seed directory's records (steps.csv, draws.csv, periods.csv, days.csv, hourly.csv,
summary.json with the run's config, and the final state in checkpoint.npz) and the grid file
alone, recompute every number, written from the model (docs/MODEL.md, section numbers below)
and sharing no code with the C program. The records print 17 significant digits, so each number
reads back as the very double the program held: the inputs of the recomputation (actions, SoC,
tariffs, draws, consumers' energy, beliefs, LMPs) are exact.

Three kinds of comparison (the report's `kind` column):

exact: the record must be the double the model's arithmetic gives, written in the order the
  model states it; IEEE double arithmetic is deterministic (and the C program is built without
  -march, so without fused multiply-adds), so any difference is a different computation:
  fleets    SoC_0 = initial_soc; SoC_{t+1} = clip(SoC_t + a_t, 0, 1) (3.4), the last one against
            the checkpoint's final SoC; -SoC <= a <= 1 - SoC (4.1); a = 0 without a battery or
            learning; each group's q = net + c / eta_in - eta_out e with c = max(a, 0) x Cap,
            e = max(-a, 0) x Cap, Cap = prosumers x storage_kwh, and the bus's q the sum of its
            groups' from the first (3.4); on a bus with several groups its net demand is the sum
            of the groups' (draws.csv group_net_kwh);
  market    each household bus's load base + (consumer + q) / 1000 / m, in MWh per step x m (2.5);
  beliefs   b <- b - belief_step x (b - LMP) / sqrt(day + 1) (4.2): each day's recorded belief
            (steps.csv `belief`, before the step moved it) from the day before's and its LMP, the
            last day's against the checkpoint's final beliefs;
  tariffs   one tariff per leader period, the same double in every steps.csv row of the period,
            in periods.csv and (the last) in summary.json; a bus's prosumer charge its class's or,
            with several groups, sum(n_g f_g) / sum(n_g) in group order; inside the bounds,
            alpha_sell <= alpha_buy; the baseline tariff F / households when the leader does
            not learn (5.1);
  counts    row structure of every file, slack steps (our DC-OPF's), the PPO step count.

bound: derived quantities, recomputed with the same formulas from the exact inputs but where the
  model fixes no order of summation (bills, EEIs, revenue, shortfall, reward, IMVs, mean LMPs,
  the hourly profile, the balancing charge, every summary field). Two evaluations of one formula
  of + - x / on exact inputs, in any order of summation, each lie within gamma_k M of the exact
  value (M the formula evaluated on absolute values, k a bound on the roundings on any path from
  a record to the result: a sum of l terms adds l - 1 whatever its order; Higham, "Accuracy and
  Stability of Numerical Algorithms", 3.1 and 4.2), so they may differ by 2 gamma_(k+4) M (4
  roundings spare for an equivalent rewriting such as 1 / S precomputed). That is ~1e-13
  relative for bills and EEIs, up to ~4e-11 for a small difference of large terms (the EEI gap,
  the reward), far inside the issue's 1e-6; the differences measured are below a tenth of it.

solver: the LMPs of both markets (and the day-0 beliefs: a dispatch of the mean day without
  batteries) by our own DC-OPF (tools/sb_grid.py, cvxopt, then its active set solved exactly),
  within --lmp-rtol (default 1e-9) of max(|LMP|, 1 $/MWh); degenerate steps are skipped.

What an edit of one unit in a record's last (17th) digit does, and what is caught. A double's
neighbours lie 1 to 18 units of its 17th printed digit apart, so most one-unit edits of the 17th
digit read back as the very same double: they change no value and nothing can catch them (on the
default 100-day seed, 0 of 4800 bus loads or consumers' energies and 442 of 4800 SoCs change).
An edit that does change the double (of the 17th digit, else the 16th; or by one ulp):
- is always caught where the record is the output of an exact relation: every SoC, every belief
  after day 0, every fleet energy q, bus load and (several groups) bus net demand, every tariff
  copy (in at least two places), the counts;
- is caught where the record only feeds exact relations when the model's arithmetic carries the
  change into their output: an action (SoC + a, q), the net demand of a bus with one group (q),
  a group's (the bus's sum), the consumers' energy (the bus load), an LMP (the next day's
  belief), a day-0 belief (day 1's). Where the rounding of that output
  absorbs it, nothing else in the run changes (the policy that chose an action is not recorded),
  the edited records describe a run the model produces just as well, and no replay can catch it.
  --edit-sweep measures the shares: on the default 100-day seed, of one-ulp edits, actions 52%,
  net demands 82%, consumers' energy 82%, LMPs 18%, day-0 beliefs 6% are caught, and all of
  the exact outputs;
- is not caught in a solar draw or an LMP without storage (they enter only the DC-OPF; a
  `record: [grid]` run's solar bounds are checked exactly by tools/check_grid.py), nor in any
  bound or solver row: their allowances are 40 to 4e5 units of the 17th digit (widest for the
  EEI gap and the leader's reward: small differences of larger terms) and 4e7 for the LMPs.
  There an edit of 1e-10 relative is caught in every bound row (1e-12 in bills and EEIs), and of
  1e-6 relative in the LMPs.
checkpoint.npz is read for the final SoC and beliefs only; its copies of the histories, ledgers,
results and the records' CRCs (which `train --resume` verifies) are not used: the verdict comes
from recomputation.

Exit status: 0 when everything agrees, 1 otherwise, 2 on unreadable input.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sb_grid  # noqa: E402

U = 2.0 ** -53      # unit roundoff of IEEE double


class Val:
    """A quantity computed from exact records (elementwise over an array): its value v; m, the
    same formula evaluated on absolute values; and what bounds the number of roundings on any
    path from a record to the result, d + l - 1: a sum of l terms rounds at most l - 1 times
    on a term's path whatever the order of the additions, d is the most roundings inside one
    term (a product or quotient makes its result one term). Any evaluation of the formula, in
    any order of summation, lies within gamma_(d + l - 1) m of the exact value (first order)."""
    __slots__ = ("v", "m", "d", "l")

    def __init__(self, v, m=None, d=0, l=1):
        self.v = np.asarray(v, dtype=float)
        shape = self.v.shape
        self.m = np.abs(self.v) if m is None else np.broadcast_to(np.asarray(m, dtype=float), shape)
        self.d = np.broadcast_to(np.asarray(d, dtype=float), shape)
        self.l = np.broadcast_to(np.asarray(l, dtype=float), shape)

    @staticmethod
    def of(x):
        return x if isinstance(x, Val) else Val(x)

    def rounds(self):
        return self.d + self.l - 1

    def __add__(self, o):
        o = Val.of(o)
        return Val(self.v + o.v, self.m + o.m, np.maximum(self.d, o.d), self.l + o.l)

    __radd__ = __add__

    def __neg__(self):
        return Val(-self.v, self.m, self.d, self.l)

    def __sub__(self, o):
        return self + (-Val.of(o))

    def __rsub__(self, o):
        return Val.of(o) - self

    def __mul__(self, o):
        o = Val.of(o)
        return Val(self.v * o.v, self.m * o.m, self.rounds() + o.rounds() + 1)

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = Val.of(o)
        return Val(self.v / o.v, self.m * o.m / (o.v * o.v), self.rounds() + o.rounds() + 1)

    def __rtruediv__(self, o):
        return Val.of(o) / self

    def __abs__(self):
        """|x|, max(0, x) and clips are 1-Lipschitz: the error bound stays."""
        return Val(np.abs(self.v), self.m, self.d, self.l)

    def pos(self):
        return Val(np.maximum(self.v, 0.0), self.m, self.d, self.l)

    def clip(self, lo, hi):
        return Val(np.clip(self.v, lo, hi), self.m, self.d, self.l)

    def __getitem__(self, k):
        return Val(self.v[k], self.m[k], self.d[k], self.l[k])

    def sum(self, axis=None):
        return Val(self.v.sum(axis=axis), self.m.sum(axis=axis), self.d.max(axis=axis, initial=0),
                   self.l.sum(axis=axis))

    def allowance(self):
        """How far two evaluations may differ: 2 gamma_(k + 4) m, k = d + l - 1 (4 roundings
        spare for an equivalent rewriting such as 1 / S precomputed)."""
        k = self.rounds() + 4
        return 2 * k * U / (1 - k * U) * self.m


def where_tb(w, B):
    return lambda i: f"day {i // B // w.S} hour {i // B % w.S} bus {w.bus_name[i % B]}"


def steps_per_phase(train_steps, n_steps):
    """[P] SB3 learn(total_timesteps=N): whole rollouts of n_steps until N are collected."""
    return -(-int(train_steps) // int(n_steps)) * int(n_steps)


class Run:
    """A seed directory's records as arrays. Legend: T steps, B household buses, Gp prosumer
    groups, U solar units, C income classes."""

    def __init__(self, d, w, rep):
        self.d = d
        cfg = w.cfg
        S, B = w.S, w.B
        self.S, self.B = S, B
        self.T = T = int(cfg["days"]) * S
        st = sb_grid.read_csv(os.path.join(d, "steps.csv"))
        if "belief" not in st:
            raise sb_grid.GridError("steps.csv has no belief column (records older than full precision)")
        rows = len(st["day"])
        want = [(t // S, t % S, w.bus_name[b]) for t in range(T) for b in range(B)]
        got = [(int(a), int(b), c) for a, b, c in zip(st["day"], st["hour"], st["bus"])]
        bad = next((k for k in range(min(rows, len(want))) if got[k] != want[k]), None)
        rep.holds("records: rows", rows == T * B and bad is None,
                  f"steps.csv: {rows} rows, want {T} steps x {B} buses in order" +
                  (f"; line {bad + 2} is {got[bad]}, want {want[bad]}" if bad is not None else ""))
        if rows != T * B or bad is not None:
            raise sb_grid.GridError("steps.csv is incomplete: cannot replay")
        self.st = st
        for k, name in (("lmp", "lmp"), ("lmp_ns", "lmp_no_storage"), ("load", "bus_load_mwh"),
                        ("q", "prosumer_grid_kwh"), ("cons", "consumer_grid_kwh"), ("soc", "soc"),
                        ("act", "action"), ("ab", "alpha_buy"), ("as_", "alpha_sell"), ("fp_bus", "fixed_prosumer"),
                        ("fc", "fixed_consumer"), ("belief", "belief")):
            setattr(self, k, sb_grid.floats(st[name]).reshape(T, B))
        # draws.csv, per step: each bus's net demand, then its groups' on a bus with several;
        # then each solar unit's availability.
        dr = sb_grid.read_csv(os.path.join(d, "draws.csv"))
        names = list(cfg["solar"]["generators"])
        per = []
        for b in range(B):
            per.append(("prosumer_net_kwh", w.bus_name[b]))
            gs = np.flatnonzero(w.group_bus == b)
            if len(gs) > 1:
                per += [("group_net_kwh", f"{w.bus_name[b]}/{w.class_name[w.group_class[g]]}") for g in gs]
        per += [("solar_mwh", n) for n in names]
        want = [(t // S, t % S) + p for t in range(T) for p in per]
        got = [(int(a), int(b), c, e) for a, b, c, e in zip(dr["day"], dr["hour"], dr["kind"], dr["name"])]
        bad = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), None)
        rep.holds("records: rows", len(got) == len(want) and bad is None,
                  f"draws.csv: {len(got)} rows, want {len(want)}" +
                  (f"; line {bad + 2} is {got[bad]}, want {want[bad]}" if bad is not None else ""))
        if len(got) != len(want) or bad is not None:
            raise sb_grid.GridError("draws.csv does not hold every draw of every step: cannot replay")
        v = sb_grid.floats(dr["value"]).reshape(T, len(per))
        kinds = [p[0] for p in per]
        self.net = v[:, [i for i, k in enumerate(kinds) if k == "prosumer_net_kwh"]]          # (T, B)
        self.solar = v[:, [i for i, k in enumerate(kinds) if k == "solar_mwh"]]               # (T, U)
        # Each group's net demand (Gp, in the world's group order): a single group's is its bus's.
        self.gnet = np.empty((T, w.Gp))
        col = {p: i for i, p in enumerate(per)}
        for g in range(w.Gp):
            b = w.group_bus[g]
            if np.count_nonzero(w.group_bus == b) == 1:
                self.gnet[:, g] = v[:, col[("prosumer_net_kwh", w.bus_name[b])]]
            else:
                self.gnet[:, g] = v[:, col[("group_net_kwh", f"{w.bus_name[b]}/{w.class_name[w.group_class[g]]}")]]
        self.hour = np.arange(T) % S
        self.day = np.arange(T) // S
        self.final = read_final_state(d, w, T)


def read_final_state(d, w, T):
    """The real fleets' SoC and the beliefs after the run's last step, from a finished run's
    checkpoint.npz (None when absent or not finished)."""
    path = os.path.join(d, "checkpoint.npz")
    if not os.path.exists(path):
        return None
    z = np.load(path)
    if int(z["game.finished"][0]) != 1 or int(z["game.t"][0]) != T:
        return None
    return dict(soc=np.array(z["game.soc"], dtype=float), belief=np.array(z["game.belief"], dtype=float))


# ---- the exact relations (each returns the recomputed doubles; the caller compares) ----

def next_soc(soc, act):
    """[MODEL 3.4] SoC' = clip(SoC + a, 0, 1)."""
    return np.minimum(np.maximum(soc + act, 0.0), 1.0)


def fleet_energy(w, act, gnet):
    """[MODEL 3.4] Each group g of bus b steps with the bus's action a on its capacity
    Cap_g = prosumers_g x storage_kwh_g: c = max(a, 0) x Cap, e = max(-a, 0) x Cap,
    q_g = net_g + c / eta_in - eta_out x e; the bus's q is the sum of its groups' from the
    first. act (T, B), gnet (T, Gp) -> q_group (T, Gp), q_bus (T, B)."""
    T = act.shape[0]
    qg = np.empty((T, w.Gp))
    qb = np.empty((T, w.B))
    for b in range(w.B):
        a = act[:, b]
        for i, g in enumerate(np.flatnonzero(w.group_bus == b)):
            cap = w.group_cap[g]
            c = np.maximum(a, 0.0) * cap
            e = np.maximum(-a, 0.0) * cap
            qg[:, g] = gnet[:, g] + c / w.eff_in - w.eff_out * e
            qb[:, b] = qg[:, g] if i == 0 else qb[:, b] + qg[:, g]
    return qg, qb


def bus_net(w, gnet):
    """A bus's prosumers' net demand: the sum of its groups' from the first. (T, B)"""
    out = np.empty((gnet.shape[0], w.B))
    for b in range(w.B):
        for i, g in enumerate(np.flatnonzero(w.group_bus == b)):
            out[:, b] = gnet[:, g] if i == 0 else out[:, b] + gnet[:, g]
    return out


def bus_load(w, cons, fleet, hour):
    """[MODEL 2.5] load_n = base_load_n(h) + sum over the household buses b at n, in order, of
    (consumer_b + fleet_b) / 1000 / m, recorded in MWh per step (x m). (T, B)"""
    T = cons.shape[0]
    out = np.empty((T, w.B))
    for t in range(T):
        load = w.base_load[hour[t]].copy()
        for b in range(w.B):
            load[w.grid_bus[b]] += w.units((cons[t, b] + fleet[t, b]) / 1000.0)
        out[t] = w.mwh(load[w.grid_bus])
    return out


def next_belief(w, belief, lmp, day):
    """[MODEL 4.2] b <- b - belief_step x (b - LMP) / sqrt(d + 1), d the 0-based day. (T, B)"""
    step = float(w.cfg["aggregator"]["belief_step"])
    return belief - step * (belief - lmp) / np.sqrt(day + 1.0)[:, None]


def world_base_load(w):
    """[MODEL 2.3] Pd x shape_h, shape_h = consumer_shape[h] / mean (the mean summed in order
    and divided by S) unless base_load_shape is given. Replaces the World's, so that the bus
    loads compare exactly."""
    cfg = w.cfg
    if cfg.get("base_load", "none") != "case":
        return np.zeros((w.S, w.grid.N))
    shp = cfg.get("base_load_shape")
    if isinstance(shp, list) and len(shp):
        shape = np.array(shp, dtype=float)
    else:
        s = 0.0
        for x in w.shape_c:
            s += x
        mean = s / w.S
        shape = w.shape_c / mean if mean > 0 else np.ones(w.S)
    return w.grid.pd[None, :] * shape[:, None]


# ---- fleets, draws, market ----

def check_fleets(rep, w, r):
    cfg = w.cfg
    T, B = r.T, r.B
    wh = where_tb(w, B)
    soc0 = float(cfg["aggregator"]["initial_soc"])
    rep.exact("soc: start = initial_soc", r.soc[0], np.full(B, soc0), lambda b: f"bus {w.bus_name[b]}")
    rep.exact("soc: chain clip(soc + a)", r.soc[1:], next_soc(r.soc[:-1], r.act[:-1]), lambda i: wh(i + B))
    if r.final is not None:
        rep.exact("soc: final (checkpoint) = clip(soc + a)", r.final["soc"], next_soc(r.soc[-1], r.act[-1]),
                  lambda b: f"bus {w.bus_name[b]}")
    else:
        rep.note("no finished checkpoint.npz: the last step's SoC and beliefs are not checked")
    # [MODEL 4.1] the played action is clipped to [-SoC, 1 - SoC].
    lo, hi = -r.soc, 1.0 - r.soc
    rep.exact("action inside [-soc, 1-soc]", np.clip(r.act, lo, hi), r.act, wh)
    # No action without a battery or without learning (the followers have no policy then).
    idle = (w.cap == 0) | (not bool(cfg["learning"]))
    if np.any(idle):
        rep.exact("action 0 (no battery or no learning)", r.act[:, idle], 0.0,
                  lambda i: f"day {i // int(idle.sum()) // w.S} hour {i // int(idle.sum()) % w.S} "
                            f"bus {np.array(w.bus_name)[idle][i % int(idle.sum())]}")
    rep.exact("draws: bus net = its groups' sum", r.net, bus_net(w, r.gnet), wh)
    qg, qb = fleet_energy(w, r.act, r.gnet)
    rep.exact("fleet grid energy q kWh", r.q, qb, wh)
    # The draws inside the noise's range: a group's mean factor lies in [low, high] (a
    # plausibility check; a few roundings of the ratio allowed).
    lo, _, hi = w.noise
    out = lambda x: np.maximum(lo - x, 0) + np.maximum(x - hi, 0)
    slack = 8 * U * hi
    expect = w.shape_p[r.hour][:, None] * w.scale * w.prosumers[None, :]
    rep.close("draws: prosumer groups in noise range", out(r.gnet / expect), 0.0, slack,
              lambda i: f"day {i // w.Gp // w.S} hour {i // w.Gp % w.S} group {i % w.Gp}", kind="range")
    expect = w.shape_c[r.hour][:, None] * w.scale * w.consumers[None, :]
    rep.close("draws: consumers in noise range", out(r.cons / expect), 0.0, slack, wh, kind="range")
    if len(w.solar_gen):
        full = w.solar_cap[None, :] * w.shape_s[r.hour][:, None]
        ratio = np.where(full > 0, r.solar / np.where(full > 0, full, 1), lo)
        rep.close("draws: solar in noise range", out(ratio) + np.where(full > 0, 0, np.abs(r.solar)), 0.0, slack,
                  kind="range")
    return qg


def check_market(rep, w, r, lmp_rtol):
    """Bus loads (exact), the LMPs of both markets by our own DC-OPF, the slack-step count."""
    g = w.grid
    rep.exact("bus load MWh", r.load, bus_load(w, r.cons, r.q, r.hour), where_tb(w, r.B))
    opf = sb_grid.DcOpf(g, float(w.cfg["voll"]))
    slack_steps, nonunique = 0, [0, 0]
    for t in range(r.T):
        h = r.hour[t]
        pmax = g.pmax.copy()
        pmax[w.solar_gen] = w.units(r.solar[t])
        where = lambda b, t=t: f"day {t // w.S} hour {h} bus {w.bus_name[b]}"
        for m, (fleet, rec, name) in enumerate(((r.q[t], r.lmp[t], "lmp $/MWh"),
                                                (r.net[t], r.lmp_ns[t], "lmp no storage $/MWh"))):
            load = w.base_load[h].copy()
            for b in range(w.B):
                load[w.grid_bus[b]] += w.units((r.cons[t, b] + fleet[b]) / 1000.0)
            d = opf.solve(load, g.pmin.copy(), pmax)
            if m == 0 and (np.any(d.unserved > 1e-9) or np.any(d.spilled > 1e-9)):
                slack_steps += 1
            if not d.unique:
                nonunique[m] += 1
                continue
            ref = d.lmp[w.grid_bus]
            rep.close(name, rec, ref, lmp_rtol * np.maximum(np.abs(ref), 1.0), where, kind="solver")
    for m, name in enumerate(("with", "without")):
        if nonunique[m]:
            rep.note(f"{nonunique[m]} steps {name} storage have LMPs that are not unique (degenerate optimum): "
                     "not compared")
    return slack_steps


def initial_beliefs(w):
    """[MODEL 4.2] A dispatch without batteries of the mean day (every noise factor at its
    mean), each step of the day cleared once: (B, S) $/MWh."""
    g = w.grid
    opf = sb_grid.DcOpf(g, float(w.cfg["voll"]))
    mean = w.noise_mean()
    out = np.zeros((w.B, w.S))
    for h in range(w.S):
        load = w.base_load[h].copy()
        for b in range(w.B):
            cons = w.shape_c[h] * w.scale * w.consumers[b] * mean
            net = sum(w.shape_p[h] * w.scale * w.prosumers[gi] * mean for gi in np.flatnonzero(w.group_bus == b))
            load[w.grid_bus[b]] += w.units((cons + net) / 1000.0)
        pmax = g.pmax.copy()
        pmax[w.solar_gen] = w.units(w.solar_cap * w.shape_s[h] * mean)
        d = opf.solve(load, g.pmin.copy(), pmax)
        out[:, h] = d.lmp[w.grid_bus] if d.unique else np.nan
    return out


def check_beliefs(rep, w, r, lmp_rtol):
    T, B, S = r.T, r.B, r.S
    wh = where_tb(w, B)
    nxt = next_belief(w, r.belief, r.lmp, r.day)
    rep.exact("belief: b - step (b - lmp) / sqrt(day + 1)", r.belief[S:], nxt[:-S], lambda i: wh(i + S * B))
    if r.final is not None:
        rep.exact("belief: final (checkpoint) from the last day", r.final["belief"].T, nxt[T - S:],
                  lambda i: f"hour {i // B} bus {w.bus_name[i % B]}")
    b0 = initial_beliefs(w).T                                           # (S, B)
    ok = ~np.isnan(b0)
    rep.close("belief: day 0 = mean-day dispatch", r.belief[:S][ok], b0[ok], lmp_rtol * np.maximum(np.abs(b0[ok]), 1.0),
              kind="solver")
    if not np.all(ok):
        rep.note("a step of the mean day has LMPs that are not unique: its day-0 beliefs are not compared")
    return nxt


# ---- tariffs and periods ----

class Tariffs:
    """The tariff in force at every step: ab, as_, fc (T), fp (T, C); base, the baseline
    tariff's one fixed charge."""


def periods_of(rep, w, r, per):
    """Each period's [first step, end step) from periods.csv; for the single loop also what the
    schedule says they must be."""
    R = len(per["period"])
    starts = [int(x) * w.S for x in per["day_start"]]
    ends = starts[1:] + [r.T]
    rep.holds("records: periods", [int(x) for x in per["period"]] == list(range(R)), "periods.csv: periods not numbered 0..R-1")
    if w.cfg["schedule"] == "single_loop":
        P = int(w.cfg["leader_period_days"]) * w.S
        want = list(range(0, r.T, P))
        rep.holds("records: periods", starts == want, f"periods.csv starts at steps {starts}, the schedule at {want}")
    ok = R > 0 and starts[0] == 0 and all(a < b for a, b in zip(starts, ends))
    rep.holds("records: periods", ok, f"periods.csv: day_start {per['day_start']} do not cover the run in order")
    if not ok:
        raise sb_grid.GridError("periods.csv does not cover the run: cannot replay")
    return list(zip(starts, ends))


def read_tariffs(rep, w, r, per, spans, summ):
    cfg, C, T, B = w.cfg, w.C, r.T, r.B
    cols = ["alpha_buy", "alpha_sell"] + [f"fixed_{c}" for c in w.class_name] + ["fixed_consumers"]
    for c in cols:
        if c not in per:
            raise sb_grid.GridError(f"periods.csv has no column {c}")
    pc = np.stack([sb_grid.floats(per[c]) for c in cols], axis=1)          # (R, C + 3)
    final = np.array([float(summ["alpha_buy"]), float(summ["alpha_sell"])] +
                     [float(summ["fixed_charges"][c]) for c in w.class_name] +
                     [float(summ["fixed_charges"]["consumers"])])
    rep.exact("tariff: summary = last period", final, pc[-1], lambda j: f"summary.json {cols[j]}")
    tar = Tariffs()
    tar.ab, tar.as_, tar.fc = np.zeros(T), np.zeros(T), np.zeros(T)
    tar.fp = np.zeros((T, C))
    for k, (t0, t1) in enumerate(spans):
        tar.ab[t0:t1], tar.as_[t0:t1], tar.fc[t0:t1] = pc[k, 0], pc[k, 1], pc[k, C + 2]
        tar.fp[t0:t1] = pc[k, 2:2 + C]
    wh = where_tb(w, B)
    # Every step of a period shows the period's tariff.
    for name, rec, ref in (("alpha_buy", r.ab, tar.ab), ("alpha_sell", r.as_, tar.as_), ("fixed_consumer", r.fc, tar.fc)):
        rep.exact("tariff: steps = period", rec, np.repeat(ref[:, None], B, axis=1),
                  lambda i, name=name: f"steps.csv {name} of {wh(i)}")
    # A bus's prosumer charge: its class's with one group, else the household-weighted mean of
    # its groups' class charges, sum(n_g f_g) / sum(n_g) in group order.
    fp_bus = np.empty((T, B))
    for b in range(B):
        gs = np.flatnonzero(w.group_bus == b)
        if len(gs) == 1:
            fp_bus[:, b] = tar.fp[:, w.group_class[gs[0]]]
            continue
        s, n = 0.0, 0.0
        for i, g in enumerate(gs):
            x = float(w.prosumers[g]) * tar.fp[:, w.group_class[g]]
            s = x if i == 0 else s + x
            n = float(w.prosumers[g]) if i == 0 else n + float(w.prosumers[g])
        fp_bus[:, b] = s / n
    rep.exact("tariff: bus prosumer charge", r.fp_bus, fp_bus, wh)
    # Bounds, the sell rule, the consumers' charge.
    u = cfg["utility"]
    alo, ahi = (float(x) for x in u["alpha_bounds"])
    flo, fhi = (float(x) for x in u["fixed_charge_bounds"])
    rep.exact("tariff: inside the bounds", np.concatenate([pc[:, :2].ravel(), pc[:, 2:].ravel()]),
              np.concatenate([np.clip(pc[:, :2], alo, ahi).ravel(), np.clip(pc[:, 2:], flo, fhi).ravel()]),
              lambda i: f"periods.csv value {i}")
    rep.exact("tariff: alpha_sell <= alpha_buy", pc[:, 1], np.minimum(pc[:, 1], pc[:, 0]), lambda k: f"period {k}")
    learns = bool(cfg["learning"]) and bool(u["learn"])
    F = float(u["fixed_cost_per_day"])
    tar.base = F / float(w.total_households())
    if not learns:      # [MODEL 5.1] the baseline tariff throughout: alpha 0, one charge for everyone
        rep.exact("tariff: baseline (leader not learning)", pc,
                  np.concatenate([np.zeros((len(spans), 2)), np.full((len(spans), C + 1), tar.base)], axis=1),
                  lambda i: f"period {i // (C + 3)} {cols[i % (C + 3)]}")
    elif u["consumer_charge"] == "balancing":
        # [MODEL 5.1] f_cons = (F - alpha_buy (E_cons + E_pros) S demand_scale_kwh
        #                       - sum_g n_g f_class(g)) / N_cons, clipped to the bounds.
        mean_c, mean_p = Val(w.shape_c).sum() / float(w.S), Val(w.shape_p).sum() / float(w.S)
        e_cons = (Val(w.consumers.astype(float)) * mean_c).sum()           # sum_b consumers_b x mean
        e_pros = (Val(w.prosumers.astype(float)) * mean_p).sum()           # sum_g prosumers_g x mean
        pros = Val(0.0)
        for gi in range(w.Gp):
            pros = pros + Val(pc[:, 2 + w.group_class[gi]]) * float(w.prosumers[gi])
        f = (Val(F) - Val(pc[:, 0]) * (e_cons + e_pros) * float(w.S) * w.scale - pros) / float(w.consumers.sum())
        f = f.clip(flo, fhi)
        rep.close("tariff: consumers' balancing charge", pc[:, C + 2], f.v, f.allowance(), lambda k: f"period {k}")
    return tar


def energy_bill(q, lmp, ab, as_):
    """[MODEL 6.1] buy x q if q >= 0, sell x q if q < 0; rates LMP / 1000 + alpha. q exact."""
    rate = Val(lmp) / 1000.0 + Val(np.where(q >= 0, ab, as_))
    return rate * Val(q)


def margin(q, ab, as_):
    """[MODEL 6.3] alpha_buy x q if q >= 0, alpha_sell x q if q < 0."""
    return Val(np.where(q >= 0, ab, as_)) * Val(q)


def ledger(w, r, st, ab, as_, fp, fc, qg):
    """A window's accounts over steps st (model 6.1-6.3: bills net per group each step, fixed
    charges pro rata fixed x households / S): class bills (C), consumer bills (B), revenue,
    mean LMP, days."""
    S, C, B = w.S, w.C, w.B
    st = np.asarray(st)
    lmp = r.lmp[st]                                                        # (n, B)
    col = lambda x: np.repeat(x[st][:, None], B, axis=1)
    cons = r.cons[st]
    fixed_c = Val(col(fc)) * w.consumers[None, :].astype(float) / float(S)
    bill_b = (energy_bill(cons, lmp, col(ab), col(as_)) + fixed_c).sum(axis=0)
    rev = (margin(cons, col(ab), col(as_)) + fixed_c).sum()
    parts = []
    for c in range(C):
        gs = np.flatnonzero(w.group_class == c)
        q = qg[st][:, gs]                                                  # (n, groups of c)
        rows = lambda x: np.repeat(x[st][:, None], len(gs), axis=1)
        fixed = Val(np.repeat(fp[st, c][:, None], len(gs), axis=1)) * w.prosumers[gs][None, :].astype(float) / float(S)
        parts.append((energy_bill(q, lmp[:, w.group_bus[gs]], rows(ab), rows(as_)) + fixed).sum())
        rev = rev + (margin(q, rows(ab), rows(as_)) + fixed).sum()
    bill_c = Val(*(np.array([getattr(p, k) for p in parts]) for k in ("v", "m", "d", "l")))
    return dict(bill_c=bill_c, bill_b=bill_b, rev=rev, lmp_mean=Val(lmp).sum() / float(len(st) * B), days=len(st) / S)


def eeis(w, L):
    """[MODEL 6.2] EEI = (bill / households) x 365 / d / income (fractions): per class (C), per
    bus's consumers (B), the household-weighted means."""
    k = Val(365.0) / L["days"]
    out = {}
    cb = L["bill_b"] / w.consumers.astype(float) * k / w.consumer_income
    out["cons"] = (cb * w.consumers.astype(float)).sum() / float(w.consumers.sum())
    pc = L["bill_c"] / w.class_prosumers.astype(float) * k / w.class_income
    out["pros_c"] = pc
    out["pros"] = (pc * w.class_prosumers.astype(float)).sum() / float(w.class_prosumers.sum())
    return out


def shortfall(F, days, rev):
    """[MODEL 5.2] max(0, F d - R) / (F d) and max(0, R - F d) / (F d)."""
    cost = Val(F) * days
    return (cost - rev).pos() / cost, (rev - cost).pos() / cost


def check_periods(rep, w, r, per, spans, tar, qg):
    u = w.cfg["utility"]
    F, kappa, sp = float(u["fixed_cost_per_day"]), float(u["kappa"]), float(u["surplus_penalty"])
    cols = {k: sb_grid.floats(per[k]) for k in per if k not in ("period", "day_start")}
    for k, (t0, t1) in enumerate(spans):
        where = f"period {k}"
        L = ledger(w, r, range(t0, t1), tar.ab, tar.as_, tar.fp, tar.fc, qg)
        E = eeis(w, L)
        cmp = lambda name, col, x: rep.close(name, cols[col][k], x.v, x.allowance(), where)
        cmp("period: mean lmp", "mean_lmp", L["lmp_mean"])
        cmp("period: eei consumers %", "eei_consumers", E["cons"] * 100.0)
        for c, name in enumerate(w.class_name):
            cmp("period: eei per class %", f"eei_{name}", E["pros_c"][c] * 100.0)
        cmp("period: eei prosumers %", "eei_prosumers", E["pros"] * 100.0)
        cmp("period: eei gap pp", "eei_gap", abs(E["pros"] - E["cons"]) * 100.0)
        cmp("period: revenue $", "revenue", L["rev"])
        sf, surplus = shortfall(F, L["days"], L["rev"])
        cmp("period: shortfall", "shortfall", sf)
        # [MODEL 5.2] reward = -100 gap - kappa shortfall - surplus_penalty surplus, the gap of
        # each class to the consumers weighted by households (groups) or the pooled one.
        if u["eei_gap"] == "groups":
            n = w.class_prosumers.astype(float)
            gap = (abs(E["pros_c"] - Val(np.full(w.C, E["cons"].v), E["cons"].m, E["cons"].d, E["cons"].l)) * n).sum() / float(n.sum())
        else:
            gap = abs(E["pros"] - E["cons"])
        cmp("period: leader reward", "leader_reward", -(gap * 100.0) - sf * kappa - surplus * sp)


# ---- windows and the summary ----

def imv(lmp):
    """[MODEL 6.4] IMV of a window (T, B) of LMPs: per bus sum_{i<T-1} |LMP_{i+1} - LMP_i| / T,
    mean over buses."""
    T, B = lmp.shape
    d = abs(Val(lmp[1:]) - Val(lmp[:-1]))
    return (d.sum(axis=0) / float(T)).sum() / float(B)


def check_windows(rep, w, r, tar, qg, summ, slack_steps):
    cfg = w.cfg
    S, D, W = w.S, int(cfg["days"]), int(cfg["report_days"])
    dd = sb_grid.read_csv(os.path.join(r.d, "days.csv"))
    rep.holds("records: rows", [int(x) for x in dd["day"]] == list(range(D)), "days.csv: not one row per day")
    for col, lmp in (("imv_rl", r.lmp), ("imv_no_storage", r.lmp_ns)):
        c = sb_grid.floats(dd[col])
        for day in range(min(D, len(c))):
            x = imv(lmp[day * S:(day + 1) * S])
            rep.close(f"days.csv {col}", c[day], x.v, x.allowance(), f"day {day}")
    hr = sb_grid.read_csv(os.path.join(r.d, "hourly.csv"))
    rep.holds("records: rows", [int(x) for x in hr["hour"]] == list(range(S)), "hourly.csv: not one row per hour")
    for col, d0 in (("fleet_mwh_first", 0), ("fleet_mwh_last", D - W)):
        c = sb_grid.floats(hr[col])
        for h in range(min(S, len(c))):
            x = Val(r.q[[(d0 + k) * S + h for k in range(W)]]).sum() / float(W) / 1000.0
            rep.close("hourly.csv fleet MWh", c[h], x.v, x.allowance(), f"{col} hour {h}")
    # summary.json
    t0 = r.T - W * S
    win = range(t0, r.T)
    num = lambda s: float(s)
    for key, lmp in (("rl", r.lmp), ("no_storage", r.lmp_ns)):
        x = imv(lmp[t0:])
        rep.close("summary: imv of the report window", num(summ["imv_last3d"][key]), x.v, x.allowance(),
                  f"imv_last3d.{key}")
    T = r.T
    base = (np.zeros(T), np.zeros(T), np.full((T, w.C), tar.base), np.full(T, tar.base))
    for key, t in (("baseline_tariff", base), ("learned", (tar.ab, tar.as_, tar.fp, tar.fc))):
        L = ledger(w, r, win, *t, qg)
        E = eeis(w, L)
        x = abs(E["pros"] - E["cons"]) * 100.0
        rep.close("summary: eei gap of the report window", num(summ["eei_gap"][key]), x.v, x.allowance(),
                  f"eei_gap.{key}")
        if key == "learned":
            sf, _ = shortfall(float(cfg["utility"]["fixed_cost_per_day"]), L["days"], L["rev"])
            rep.close("summary: revenue shortfall", num(summ["revenue_shortfall"]), sf.v, sf.allowance(),
                      "revenue_shortfall")
    base_dir = os.path.basename(os.path.normpath(r.d))
    if base_dir.startswith("seed-") and base_dir[5:].isdigit():     # seed directory K runs seed + K
        rep.holds("summary: seed", int(summ["seed"]) == int(cfg["seed"]) + int(base_dir[5:]),
                  f"summary.json seed {summ['seed']} in {base_dir}, config seed {cfg['seed']}")
    rep.holds("summary: slack steps", int(summ["slack_steps"]) == slack_steps,
              f"summary.json slack_steps {summ['slack_steps']}, the replay's DC-OPF used slack in {slack_steps} steps")
    # [MODEL 1.2] PPO steps: each phase collects whole rollouts; the single loop trains every
    # follower before every step and the leader at every period's start.
    if cfg["schedule"] == "single_loop":
        ag, ut = cfg["aggregator"], cfg["utility"]
        learn_f = bool(cfg["learning"]) and bool(cfg["storage"])
        learn_l = bool(cfg["learning"]) and bool(ut["learn"])
        P = int(cfg["leader_period_days"]) * S
        n = (w.B * T * steps_per_phase(ag["train_steps"], ag["ppo"]["n_steps"]) if learn_f else 0) + \
            (-(-T // P) * steps_per_phase(ut["train_steps"], ut["ppo"]["n_steps"]) if learn_l else 0)
        rep.holds("summary: train_env_steps", int(summ["train_env_steps"]) == n,
                  f"summary.json train_env_steps {summ['train_env_steps']}, the schedule gives {n}")
    else:
        rep.note("nested schedule: train_env_steps not checked (its phases depend on the beliefs' convergence)")
    # The timing identities (OUTPUTS.md): other = wall - follower - leader - dispatch -
    # communication; steps per second = train_env_steps / (follower + leader), at least 1e-9 s.
    ts = summ["time_s"]
    wall, fol, lead, disp = (Val(num(x)) for x in (summ["wall_s"], ts["follower_training"], ts["leader_training"],
                                                   ts["dispatch"]))
    comm = Val(num(ts.get("communication", 0)))
    x = wall - fol - lead - disp - comm
    rep.close("summary: time_s.other = wall - parts", num(ts["other"]), x.v, x.allowance(), "time_s.other")
    den = fol + lead
    x = Val(float(summ["train_env_steps"])) / (den if den.v >= 1e-9 else Val(1e-9))
    rep.close("summary: train_steps_per_s", num(summ["train_steps_per_s"]), x.v, x.allowance(), "train_steps_per_s")


# ---- what a one-unit edit of the last digit is caught by (--edit-sweep) ----

def edit_digit(x, units, pos=17):
    """x with the pos-th of the 17 significant digits %.17g prints moved by units, read back
    (x where x is 0: its printed "0" has no such digit)."""
    out = np.array(x, dtype=float, copy=True)
    flat = out.reshape(-1)
    for i, v in enumerate(flat):
        if v == 0 or not np.isfinite(v):
            continue
        mant, exp = ("%.16e" % v).split("e")
        digits = int(mant.lstrip("-").replace(".", "")) + units * 10 ** (17 - pos)
        flat[i] = float(f"{'-' if v < 0 else ''}{digits}e{int(exp) - 16}")
    return out


def edit_sweep(w, r, final, out=sys.stdout):
    """For each column that enters an exact relation, edit the 17th digit of every cell by +1
    and by -1 (alternate steps or days at a time, so that no relation sees two edited cells),
    and count the cells whose edit changes the double and, of those, the ones an exact relation
    catches."""
    T, B, S = r.T, r.B, r.S
    soc0 = float(w.cfg["aggregator"]["initial_soc"])
    base = dict(soc=r.soc, act=r.act, q=r.q, load=r.load, cons=r.cons, gnet=r.gnet, net=r.net, belief=r.belief,
                lmp=r.lmp)

    def failures(x):
        """Per relation, (T, B) True where it fails on the arrays x."""
        f = {}
        nxt = next_soc(x["soc"], x["act"])
        s = np.zeros((T, B), bool)
        s[:-1] = x["soc"][1:] != nxt[:-1]
        if final is not None:
            s[-1] = final["soc"] != nxt[-1]
        f["soc_out"] = np.vstack([x["soc"][:1] != soc0, s[:-1]])         # the relation whose output is soc[t]
        f["soc_in"] = s                                                   # the one that reads soc[t], a[t]
        f["feas"] = np.clip(x["act"], -x["soc"], 1.0 - x["soc"]) != x["act"]
        f["q"] = fleet_energy(w, x["act"], x["gnet"])[1] != x["q"]
        f["net"] = bus_net(w, x["gnet"]) != x["net"]
        f["load"] = bus_load(w, x["cons"], x["q"], r.hour) != x["load"]
        nb = next_belief(w, x["belief"], x["lmp"], r.day)
        bi = np.zeros((T, B), bool)
        bi[:-S] = x["belief"][S:] != nb[:-S]
        if final is not None:
            bi[-S:] = final["belief"].T != nb[-S:]
        f["bel_in"] = bi
        f["bel_out"] = np.vstack([np.zeros((S, B), bool), bi[:-S]])
        return f

    grp = lambda f: f[:, w.group_bus]                                     # bus relation seen by each group
    multi = np.bincount(w.group_bus, minlength=B) > 1
    # column -> (array key, relations that see a cell, parity unit)
    cols = [("action", "act", lambda f: f["soc_in"] | f["feas"] | f["q"], 1),
            ("soc", "soc", lambda f: f["soc_out"] | f["soc_in"] | f["feas"], 1),
            ("prosumer_grid_kwh (q)", "q", lambda f: f["q"] | f["load"], 1),
            ("bus_load_mwh", "load", lambda f: f["load"], 1),
            ("consumer_grid_kwh", "cons", lambda f: f["load"], 1),
            ("prosumer_net_kwh", "net", lambda f: np.where(multi[None, :], f["net"], f["q"]), 1),
            ("group_net_kwh", "gnet", lambda f: grp(f["net"] | f["q"]), 1),
            ("belief, day 0", "belief", lambda f: f["bel_in"] | f["bel_out"], S),
            ("belief, later days", "belief", lambda f: f["bel_in"] | f["bel_out"], S),
            ("lmp", "lmp", lambda f: f["bel_in"], 1)]
    edits = (("17th digit", lambda x, u: edit_digit(x, u, 17)), ("16th digit", lambda x, u: edit_digit(x, u, 16)),
             ("1 ulp", lambda x, u: np.nextafter(x, u * np.inf)))
    print(f"{'':22s} {'':6s}" + "".join(f" | {e:14s}" for e, _ in edits), file=out)
    print(f"{'column':22s} {'cells':>6s}" + " | changed caught" * len(edits), file=out)
    for name, key, seen, unit in cols:
        if key == "gnet" and not np.any(multi):
            continue
        rows = np.arange(T)
        sel = np.ones(T, bool)
        if name == "belief, day 0":
            sel = rows < S
        elif name == "belief, later days":
            sel = rows >= S
        line = ""
        for _, edit in edits:
            cells = changed = caught = 0
            for units in (1, -1):
                for parity in (0, 1):
                    pick = sel & ((rows // unit) % 2 == parity)
                    arr = base[key].copy()
                    arr[pick] = edit(arr[pick], units)
                    x = dict(base, **{key: arr})
                    if key == "net":        # a bus with one group: its row is the group's net demand too
                        x["gnet"] = base["gnet"].copy()
                        single = np.flatnonzero(~multi[w.group_bus])
                        x["gnet"][:, single] = arr[:, w.group_bus[single]]
                    f = seen(failures(x))
                    live = np.repeat(pick[:, None], arr.shape[1], axis=1) & (base[key] != 0)
                    if key == "gnet":                                      # a single group is its bus's net
                        live &= multi[w.group_bus][None, :]
                    live_changed = live & (arr != base[key])
                    cells += int(live.sum())
                    changed += int(live_changed.sum())
                    caught += int((live_changed & f).sum())
            line += f" | {changed:7d} {caught:6d}"
        print(f"{name:22s} {cells:6d}{line}", file=out)
    print("(each nonzero cell edited up and down; changed: the edited text reads back as another double; caught: an\n"
          " exact relation fails. Tariffs are always caught (each printed in at least two places); the solar draws\n"
          " and lmp_no_storage enter only the DC-OPF: not caught)", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("seed_dir")
    ap.add_argument("--grid", help="the grid file (default: the one summary.json names)")
    ap.add_argument("--lmp-rtol", type=float, default=1e-9,
                    help="tolerance of the LMPs against our DC-OPF, relative to max(|LMP|, 1 $/MWh)")
    ap.add_argument("--edit-sweep", action="store_true",
                    help="also report which one-unit edits of the last digit the exact relations catch")
    a = ap.parse_args()
    d = a.seed_dir
    rep = sb_grid.Report()
    try:
        summ = json.load(open(os.path.join(d, "summary.json")), parse_float=str)
        cfg = json.load(open(os.path.join(d, "summary.json")))["config"]
        w = sb_grid.World(cfg, sb_grid.read_grid(sb_grid.find_grid(cfg["grid"], d, a.grid)))
        w.base_load = world_base_load(w)
        r = Run(d, w, rep)
        per = sb_grid.read_csv(os.path.join(d, "periods.csv"))
        spans = periods_of(rep, w, r, per)
    except (OSError, KeyError, ValueError, sb_grid.GridError) as e:
        if rep.rows:
            rep.print()
        print(f"check_run: {d}: {e}", file=sys.stderr)
        return 2
    qg = check_fleets(rep, w, r)
    slack_steps = check_market(rep, w, r, a.lmp_rtol)
    check_beliefs(rep, w, r, a.lmp_rtol)
    tar = read_tariffs(rep, w, r, per, spans, summ)
    check_periods(rep, w, r, per, spans, tar, qg)
    check_windows(rep, w, r, tar, qg, summ, slack_steps)
    ok = rep.print()
    if a.edit_sweep:
        edit_sweep(w, r, r.final)
    print("check_run:", "every recomputed quantity agrees with the records" if ok else "DIFFERENCES BEYOND TOLERANCE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
