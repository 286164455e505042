#!/usr/bin/python3
"""check_run.py SEED_DIR: replay a tariff-game run from its records and check every number.

From a seed directory's records (steps.csv, draws.csv, periods.csv, days.csv, hourly.csv,
summary.json with the run's config) and the grid file alone, recompute, written from the model
(docs/MODEL.md; configs/paper.yaml says which resolutions are in force) and sharing no code with
the C program:
  fleets    each fleet's grid energy q = net + charge/e_in - e_out discharge from its action;
            the action that the recorded q implies; the SoC chain from initial_soc; every
            action inside [-SoC, 1 - SoC]; the draws inside the triangular noise's range;
  market    the bus loads; the LMPs with and without storage by our own DC-OPF (tools/sb_grid.py,
            cvxopt); the count of steps that needed unserved or spilled energy;
  tariffs   one tariff per leader period, the same in steps.csv and periods.csv and the
            summary's final one; inside the bounds; alpha_sell <= alpha_buy; the consumers'
            balancing charge; the baseline tariff when the leader does not learn;
  periods   bills, EEI per income class and of the consumers (percent), their means and gap,
            mean LMP, revenue, shortfall, the leader's reward;
  windows   days.csv (IMV of each day), hourly.csv (fleet energy by hour, first and last report
            windows), and every summary.json field: IMVs of the report window, the EEI gaps
            under the baseline and the learned tariff, the final tariff, the shortfall, the
            slack steps, the PPO step count, the timing identities;
  beliefs   the followers' price beliefs (a no-battery dispatch on the mean shapes, then
            b_h <- b_h - step (b_h - LMP) / sqrt(day + 1) after every step): printed, as no
            record holds them to compare with.
A record is printed with a limited number of digits, so each recomputation carries the error
it inherits from the rounding of the records it starts from (first-order bounds, propagated
through every sum and product); a difference is allowed up to that bound, plus half a unit of
the compared record's last digit, plus --rtol (default 1e-11) of its magnitude for our own
rounding. Records that are exact (counts, names, the same number printed twice) must match
exactly. The report gives, per quantity, the largest difference, the largest relative
difference, and the largest ratio of difference to allowance (FAIL above 1).

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
from sb_grid import Column  # noqa: E402


class Approx:
    """A value recomputed from rounded records and a bound on its error (elementwise)."""
    __slots__ = ("v", "e")

    def __init__(self, v, e=0.0):
        self.v = np.asarray(v, dtype=float)
        self.e = np.broadcast_to(np.asarray(e, dtype=float), self.v.shape).copy()

    @staticmethod
    def of(x):
        return x if isinstance(x, Approx) else Approx(x, 0.0)

    @staticmethod
    def col(c):
        return Approx(c.v, c.h)

    def __add__(self, o):
        o = Approx.of(o)
        return Approx(self.v + o.v, self.e + o.e)

    __radd__ = __add__

    def __neg__(self):
        return Approx(-self.v, self.e)

    def __sub__(self, o):
        return self + (-Approx.of(o))

    def __rsub__(self, o):
        return Approx.of(o) - self

    def __mul__(self, o):
        o = Approx.of(o)
        return Approx(self.v * o.v, np.abs(self.v) * o.e + np.abs(o.v) * self.e + self.e * o.e)

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = Approx.of(o)
        den = np.abs(o.v) - o.e
        if np.any(den <= 0):
            raise ZeroDivisionError("dividing by a value that may be 0")
        return Approx(self.v / o.v, (np.abs(self.v) * o.e + np.abs(o.v) * self.e) / (np.abs(o.v) * den))

    def __abs__(self):
        return Approx(np.abs(self.v), self.e)

    def __getitem__(self, k):
        return Approx(self.v[k], self.e[k])

    def sum(self, axis=None):
        return Approx(self.v.sum(axis=axis), self.e.sum(axis=axis))

    def clip(self, lo, hi):      # 1-Lipschitz: the error bound stays
        return Approx(np.clip(self.v, lo, hi), self.e)

    def pos(self):
        return self.clip(0.0, np.inf)


def energy_bill(q, lmp, ab, as_):
    """Retail bill of q kWh ($): (LMP/1000 + alpha_buy) q when buying, (LMP/1000 + alpha_sell) q
    when selling. Where |q| is within its error the other rate may apply: the bound covers it."""
    q, lmp, ab, as_ = (Approx.of(x) for x in (q, lmp, ab, as_))
    buy = lmp * (1 / 1000.0) + ab
    sell = lmp * (1 / 1000.0) + as_
    side = q.v >= 0
    rate = Approx(np.where(side, buy.v, sell.v), np.where(side, buy.e, sell.e))
    out = rate * q
    kink = np.abs(q.v) <= q.e
    out.e = out.e + np.where(kink, np.abs(buy.v - sell.v) * (np.abs(q.v) + q.e), 0.0)
    return out


def steps_per_phase(train_steps, n_steps):
    """[A] SB3 learn(total_timesteps=N): whole rollouts of n_steps until N are collected."""
    return -(-int(train_steps) // int(n_steps)) * int(n_steps)


class Run:
    """A seed directory's records as arrays. Legend: T steps, B household buses, U solar units,
    C income classes, Gp prosumer groups, R periods."""

    def __init__(self, d, w, rep):
        self.d = d
        cfg = w.cfg
        self.S, self.B = w.S, w.B
        self.T = T = int(cfg["days"]) * w.S
        st = sb_grid.read_csv(os.path.join(d, "steps.csv"))
        rows = len(st["day"])
        rep.exact("records: rows", rows == T * w.B, f"steps.csv has {rows} rows, want {T} steps x {w.B} buses")
        if rows != T * w.B:
            raise sb_grid.GridError("steps.csv is incomplete: cannot replay")
        want = [(t // w.S, t % w.S, w.bus_name[b]) for t in range(T) for b in range(w.B)]
        got = [(int(a), int(b), c) for a, b, c in zip(st["day"], st["hour"], st["bus"])]
        bad = next((k for k in range(rows) if got[k] != want[k]), None)
        rep.exact("records: rows", bad is None, f"steps.csv row {bad and bad + 2}: {got[bad] if bad is not None else ''}, "
                  f"want day, hour, bus {want[bad] if bad is not None else ''}")
        self.st = st
        shape = (T, w.B)
        for k, name in (("lmp", "lmp"), ("lmp_ns", "lmp_no_storage"), ("load", "bus_load_mwh"),
                        ("q", "prosumer_grid_kwh"), ("cons", "consumer_grid_kwh"), ("soc", "soc"),
                        ("act", "action"), ("fp_bus", "fixed_prosumer")):
            c = Column(st[name])
            setattr(self, k, Approx(c.v.reshape(shape), c.h.reshape(shape)))
        # draws.csv: each bus's prosumer net demand and each solar unit's availability per step.
        dr = sb_grid.read_csv(os.path.join(d, "draws.csv"))
        U = len(w.solar_gen)
        per = w.B + U
        rows = len(dr["day"])
        names = w.bus_name + list(cfg["solar"]["generators"])
        kinds = ["prosumer_net_kwh"] * w.B + ["solar_mwh"] * U
        want = [(t // w.S, t % w.S, kinds[k], names[k]) for t in range(T) for k in range(per)]
        got = [(int(a), int(b), c, e) for a, b, c, e in zip(dr["day"], dr["hour"], dr["kind"], dr["name"])]
        rep.exact("records: rows", got == want, f"draws.csv: {rows} rows, not every bus and solar unit of every step "
                  "in order")
        if got != want:
            raise sb_grid.GridError("draws.csv is incomplete: cannot replay")
        v = Column(dr["value"])
        self.net = Approx(v.v.reshape(T, per)[:, :w.B], v.h.reshape(T, per)[:, :w.B])
        self.solar = Approx(v.v.reshape(T, per)[:, w.B:], v.h.reshape(T, per)[:, w.B:])
        self.hour = np.arange(T) % w.S
        self.day = np.arange(T) // w.S
        self.tariff_str = [tuple(st[k][t * w.B] for k in ("alpha_buy", "alpha_sell", "fixed_consumer"))
                           for t in range(T)]


# ---- fleets ----

def check_fleets(rep, w, r):
    """Actions, SoC and the fleets' grid energy, written from the model: a fleet of capacity
    cap moving a (fraction of cap) draws cap a / e_in from the grid when charging and delivers
    e_out cap |a| when discharging; SoC' = SoC + a, with a inside [-SoC, 1 - SoC]."""
    cfg = w.cfg
    T, B = r.T, r.B
    where = lambda t, b: f"day {t // w.S} hour {t % w.S} bus {w.bus_name[b]}"
    for b in range(B):
        wb = lambda t, b=b: where(t, b)
        cap = w.cap[b]
        soc0 = float(cfg["aggregator"]["initial_soc"])
        rep.compare("soc at the start", r.soc.v[0, b], soc0, half=r.soc.e[0, b], where=f"bus {w.bus_name[b]}")
        if not cap > 0:     # no storage: no action, the fleet's energy is its net demand
            rep.compare("action (no storage)", r.act.v[:, b], 0.0, half=r.act.e[:, b], where=wb)
            rep.compare("fleet grid energy kWh", r.q.v[:, b], r.net.v[:, b], err=r.net.e[:, b], half=r.q.e[:, b], where=wb)
            continue
        k_in, k_out = cap / w.eff_in, cap * w.eff_out          # kWh of grid energy per unit of action
        a = r.act[:, b]
        # q from the recorded action (rounded to its printed digits).
        slope = np.where(a.v >= 0, k_in, k_out)
        q = r.net[:, b] + Approx(slope * a.v, np.maximum(k_in, k_out) * a.e)
        rep.compare("fleet grid energy kWh", r.q.v[:, b], q.v, err=q.e, half=r.q.e[:, b], where=wb)
        # The action the recorded q implies (q has 9 digits: a is known to ~1e-9).
        dq = r.q[:, b] - r.net[:, b]
        imp = Approx(np.where(dq.v >= 0, dq.v / k_in, dq.v / k_out), dq.e / min(k_in, k_out))
        rep.compare("action (implied by q)", a.v, imp.v, err=imp.e, half=a.e, where=wb)
        # The SoC chain from initial_soc with the implied actions, and feasibility.
        soc = np.empty(T)
        err = np.empty(T)
        s, e = soc0, 0.0
        for t in range(T):
            soc[t], err[t] = s, e
            s, e = min(max(s + imp.v[t], 0.0), 1.0), e + imp.e[t]
        rep.compare("soc (chain of actions)", r.soc.v[:, b], soc, err=err, half=r.soc.e[:, b], where=wb)
        lo = r.act.v[:, b] + r.soc.v[:, b]          # a >= -SoC  <=>  a + SoC >= 0
        slack = r.act.e[:, b] + r.soc.e[:, b]
        rep.compare("action inside [-soc, 1-soc]", np.minimum(lo, 0) + np.maximum(lo - 1, 0), 0.0, err=slack, where=wb)
    # Draws: a group's mean noise lies in [low, high], so does the bus's household-weighted mean.
    lo, _, hi = w.noise
    ratio = r.net.v / (w.shape_p[r.hour][:, None] * w.scale * w.bus_prosumers[None, :])
    out = np.maximum(lo - ratio, 0) + np.maximum(ratio - hi, 0)
    rep.compare("draws: net demand / expected in noise range", out, 0.0, err=1e-12, where=lambda i: where(*divmod(i, B)))
    cons = r.cons.v / (w.shape_c[r.hour][:, None] * w.scale * w.consumers[None, :])
    out = np.maximum(lo - cons, 0) + np.maximum(cons - hi, 0)
    rep.compare("draws: consumers / expected in noise range", out, 0.0, err=r.cons.e / (r.cons.v + 1e-300) * hi + 1e-12,
                where=lambda i: where(*divmod(i, B)))
    if len(w.solar_gen):
        full = w.solar_cap[None, :] * w.shape_s[r.hour][:, None]
        ratio = np.where(full > 0, r.solar.v / np.where(full > 0, full, 1), lo)
        out = np.maximum(lo - ratio, 0) + np.maximum(ratio - hi, 0) + np.where(full > 0, 0, np.abs(r.solar.v))
        rep.compare("draws: solar / expected in noise range", out, 0.0, err=1e-12)


# ---- the market ----

def check_market(rep, w, r):
    """Bus loads and LMPs of both markets by our own DC-OPF; the slack-step count."""
    g = w.grid
    opf = sb_grid.DcOpf(g, float(w.cfg["voll"]))
    T = r.T
    slack_steps, nonunique = 0, [0, 0]
    pmin = g.pmin.copy()
    for t in range(T):
        h = r.hour[t]
        pmax = g.pmax.copy()
        pmax[w.solar_gen] = w.units(r.solar.v[t])
        where = lambda b, t=t: f"day {t // w.S} hour {h} bus {w.bus_name[b]}"
        for m, (fleet, lmp_rec, name) in enumerate(((r.q[t], r.lmp[t], "lmp $/MWh"),
                                                     (r.net[t], r.lmp_ns[t], "lmp no storage $/MWh"))):
            hh = (r.cons[t] + fleet) * (1 / 1000.0)                 # MWh per step at the household buses
            load = w.base_load[h].copy()
            np.add.at(load, w.grid_bus, w.units(hh.v))
            if m == 0:
                rec = r.load[t]
                want = w.mwh(load[w.grid_bus])
                rep.compare("bus load MWh", rec.v, want, err=hh.e, half=rec.e, where=where)
            d = opf.solve(load, pmin, pmax, want_jac=True)
            if m == 0 and (np.any(d.unserved > 1e-9) or np.any(d.spilled > 1e-9)):
                slack_steps += 1
            if not d.unique:
                nonunique[m] += 1
                continue
            # The LMPs move with the loads by d LMP / d load: the loads' rounding carries over.
            err = w.units(hh.e)
            J = d.dlmp_dload[np.ix_(w.grid_bus, w.grid_bus)]
            rep.compare(name, lmp_rec.v, d.lmp[w.grid_bus], err=np.abs(J) @ err, half=lmp_rec.e, where=where)
    for m, name in enumerate(("with", "without")):
        if nonunique[m]:
            rep.note(f"{nonunique[m]} steps {name} storage have LMPs that are not unique (degenerate optimum): "
                     "not compared")
    return slack_steps


def initial_beliefs(w):
    """[A] A dispatch without batteries on the mean shapes, hour by hour: (B, S) $/MWh."""
    g = w.grid
    opf = sb_grid.DcOpf(g, float(w.cfg["voll"]))
    mean = w.noise_mean()
    out = np.zeros((w.B, w.S))
    pros = np.bincount(w.group_bus, w.prosumers, w.B)
    for h in range(w.S):
        kwh = (w.shape_c[h] * w.consumers + w.shape_p[h] * pros) * w.scale * mean
        load = w.base_load[h].copy()
        np.add.at(load, w.grid_bus, w.units(kwh / 1000.0))
        pmax = g.pmax.copy()
        pmax[w.solar_gen] = w.units(w.solar_cap * w.shape_s[h] * mean)
        out[:, h] = opf.solve(load, g.pmin.copy(), pmax).lmp[w.grid_bus]
    return out


def beliefs(w, r, b0):
    step = float(w.cfg["aggregator"]["belief_step"])
    b = b0.copy()
    for t in range(r.T):
        h, day = r.hour[t], r.day[t]
        b[:, h] -= step * (b[:, h] - r.lmp.v[t]) / math.sqrt(day + 1.0)
    return b


# ---- tariffs and periods ----

class Tariffs:
    """The tariff in force at every step, as read from the records: (T) alpha_buy and
    alpha_sell, (T, C) prosumer charges, (T) consumer charge; Approx with the records'
    rounding (the summary's 17 digits for the last period)."""


def periods_of(rep, w, r, per):
    """Each period's [first step, end step) from periods.csv; for the single loop also what the
    schedule says they must be."""
    R = len(per["period"])
    starts = [int(x) * w.S for x in per["day_start"]]
    ends = starts[1:] + [r.T]
    rep.exact("records: periods", [int(x) for x in per["period"]] == list(range(R)), "periods.csv: periods not numbered 0..R-1")
    if w.cfg["schedule"] == "single_loop":
        P = int(w.cfg["leader_period_days"]) * w.S
        want = list(range(0, r.T, P))
        rep.exact("records: periods", starts == want, f"periods.csv starts at steps {starts}, the schedule at {want}")
    rep.exact("records: periods", all(a < b for a, b in zip(starts, ends)) and starts[:1] == [0],
              f"periods.csv: day_start {per['day_start']} do not cover the run in order")
    return list(zip(starts, ends))


def read_tariffs(rep, w, r, per, spans, summ):
    cfg, C = w.cfg, w.C
    T = r.T
    cols = ["alpha_buy", "alpha_sell"] + [f"fixed_{c}" for c in w.class_name] + ["fixed_consumers"]
    for c in cols:
        if c not in per:
            raise sb_grid.GridError(f"periods.csv has no column {c}")
    pc = {c: Column(per[c]) for c in cols}
    # The final tariff in the summary, 17 digits: the last period's, printed there with 6.
    final = [summ["alpha_buy"], summ["alpha_sell"]] + [summ["fixed_charges"][c] for c in w.class_name] + \
            [summ["fixed_charges"]["consumers"]]
    last = len(spans) - 1
    for c, s in zip(cols, final):
        rep.exact("tariff: summary = last period", float(s) == float(per[c][last]),
                  f"summary.json {c} {s} is not periods.csv's last {per[c][last]}")
    fin = Column([str(s) for s in final])
    tar = Tariffs()
    tar.ab, tar.as_, tar.fc = Approx(np.zeros(T)), Approx(np.zeros(T)), Approx(np.zeros(T))
    tar.fp = Approx(np.zeros((T, C)))
    for k, (t0, t1) in enumerate(spans):
        src = (lambda j: (fin.v[j], fin.h[j])) if k == last else (lambda j, k=k: (pc[cols[j]].v[k], pc[cols[j]].h[k]))
        for j, name in ((0, "ab"), (1, "as_"), (C + 2, "fc")):
            v, h = src(j)
            getattr(tar, name).v[t0:t1], getattr(tar, name).e[t0:t1] = v, h
        for c in range(C):
            v, h = src(2 + c)
            tar.fp.v[t0:t1, c], tar.fp.e[t0:t1, c] = v, h
        # Every step of the period shows the period's tariff (the same digits).
        want = (per["alpha_buy"][k], per["alpha_sell"][k], per["fixed_consumers"][k])
        bad = [t for t in range(t0, t1) if r.tariff_str[t] != want]
        rep.exact("tariff: steps = period", not bad, f"steps.csv day {bad[0] // w.S if bad else 0} hour "
                  f"{bad[0] % w.S if bad else 0}: tariff {r.tariff_str[bad[0]] if bad else ''} is not period {k}'s {want}")
    # Each bus's prosumer charge: its class's (the same digits) with one prosumer group, else
    # the household-weighted mean of its groups' class charges.
    fp_bus = Approx(np.zeros((T, w.B)))
    multi = np.zeros(w.B, dtype=bool)
    for b in range(w.B):
        gs = np.flatnonzero(w.group_bus == b)
        if len(gs) == 1:
            col = per[f"fixed_{w.class_name[w.group_class[gs[0]]]}"]
            bad = [t for k, (t0, t1) in enumerate(spans) for t in range(t0, t1)
                   if r.st["fixed_prosumer"][t * w.B + b] != col[k]]
            rep.exact("tariff: bus prosumer charge", not bad, f"steps.csv day {bad[0] // w.S if bad else 0} hour "
                      f"{bad[0] % w.S if bad else 0} bus {w.bus_name[b]}: fixed_prosumer is not its class's")
            continue
        multi[b] = True
        wts = w.prosumers[gs] / w.prosumers[gs].sum()
        acc = Approx(np.zeros(T))
        for gi, wt in zip(gs, wts):
            acc = acc + tar.fp[:, w.group_class[gi]] * wt
        fp_bus.v[:, b], fp_bus.e[:, b] = acc.v, acc.e
    if np.any(multi):
        rep.compare("tariff: bus prosumer charge", r.fp_bus.v[:, multi], fp_bus.v[:, multi], err=fp_bus.e[:, multi],
                    half=r.fp_bus.e[:, multi])
    # Bounds, the sell rule, the consumers' charge.
    u = cfg["utility"]
    alo, ahi = (float(x) for x in u["alpha_bounds"])
    flo, fhi = (float(x) for x in u["fixed_charge_bounds"])
    outside = lambda x, lo, hi: np.maximum(lo - x.v - x.e, 0) + np.maximum(x.v - x.e - hi, 0)
    rep.compare("tariff: inside the bounds", np.concatenate([outside(tar.ab, alo, ahi), outside(tar.as_, alo, ahi),
                                                             outside(tar.fp, flo, fhi).ravel(), outside(tar.fc, flo, fhi)]), 0.0)
    rep.compare("tariff: alpha_sell <= alpha_buy", np.maximum(tar.as_.v - tar.ab.v - tar.as_.e - tar.ab.e, 0), 0.0)
    learns = bool(cfg["learning"]) and bool(u["learn"])
    base = float(u["fixed_cost_per_day"]) / w.total_households()
    if not learns:      # the baseline tariff throughout: alpha 0, one charge for everyone
        rep.compare("tariff: baseline (leader not learning)",
                    np.concatenate([tar.ab.v, tar.as_.v, tar.fp.v.ravel(), tar.fc.v]),
                    np.concatenate([np.zeros(2 * T), np.full(T * C + T, base)]),
                    half=np.concatenate([tar.ab.e, tar.as_.e, tar.fp.e.ravel(), tar.fc.e]))
    elif u["consumer_charge"] == "balancing":
        # [R] The consumers cover fixed_cost_per_day minus the prosumers' charges and alpha_buy
        # on every household's expected energy of a day (mean shapes, mean noise), clipped.
        per_day = w.S * w.scale * w.noise_mean()
        energy = (w.consumers.sum() * w.shape_c.mean() + w.prosumers.sum() * w.shape_p.mean()) * per_day
        pros = Approx(np.zeros(T))
        for gi in range(w.Gp):
            pros = pros + tar.fp[:, w.group_class[gi]] * float(w.prosumers[gi])
        f = (float(u["fixed_cost_per_day"]) - tar.ab * energy - pros) * (1.0 / w.consumers.sum())
        f = f.clip(flo, fhi)
        rep.compare("tariff: consumers' balancing charge", tar.fc.v, f.v, err=f.e, half=tar.fc.e)
    tar.base = base
    return tar


def ledger(w, r, steps, ab, as_, fp, fc, qg):
    """A window's accounts over the given steps (model: bills net per group, fixed charges pro
    rata per step): class bills (C), consumer bills (B), revenue, LMP sum, days; None for the
    class bills when qg (T, Gp) is unknown."""
    S = w.S
    C, B = w.C, w.B
    bill_c = Approx(np.zeros(C)) if qg is not None else None
    bill_b = Approx(np.zeros(B))
    rev = Approx(0.0)
    st = np.asarray(steps)
    lmp = r.lmp[st]                                       # (n, B)
    abn, asn, fcn = ab[st], as_[st], fc[st]
    col = lambda x: Approx(x.v[:, None], x.e[:, None])
    # consumers: every step buys (demand >= 0)
    cons = r.cons[st]
    eb = energy_bill(cons, lmp, col(abn), col(asn))
    fixed_c = col(fcn) * (w.consumers[None, :] / S)
    bill_b = bill_b + (eb + fixed_c).sum(axis=0)
    margin = energy_bill(cons, 0.0, col(abn), col(asn))
    rev = rev + margin.sum() + fixed_c.sum()
    if qg is not None:
        for gi in range(w.Gp):
            b, c = w.group_bus[gi], w.group_class[gi]
            q = qg[st, gi]
            fixed = fp[st, c] * (float(w.prosumers[gi]) / S)
            e = energy_bill(q, lmp[:, b], abn, asn) + fixed
            bill_c.v[c] += e.sum().v
            bill_c.e[c] += e.sum().e
            rev = rev + energy_bill(q, 0.0, abn, asn).sum() + fixed.sum()
    return dict(bill_c=bill_c, bill_b=bill_b, rev=rev if qg is not None else None,
                lmp_mean=Approx(lmp.v.sum(), lmp.e.sum()) * (1.0 / (len(st) * B)), days=len(st) / S)


def eeis(w, L):
    """EEIs in percent: per class (C), per bus's consumers (B), the household-weighted means."""
    k = 100 * 365.0 / L["days"]
    out = {}
    cb = L["bill_b"] * (k / (w.consumers * w.consumer_income))
    out["cons_b"] = cb
    out["cons"] = (cb * (w.consumers / w.consumers.sum())).sum()
    if L["bill_c"] is not None:
        pc = L["bill_c"] * (k / (w.class_prosumers * w.class_income))
        out["pros_c"] = pc
        out["pros"] = (pc * (w.class_prosumers / w.class_prosumers.sum())).sum()
    return out


def shortfall(F, days, rev):
    cost = F * days
    return (-(rev - cost) * (1.0 / cost)).pos(), ((rev - cost) * (1.0 / cost)).pos()


def check_periods(rep, w, r, per, spans, tar, qg):
    u = w.cfg["utility"]
    F, kappa, sp = float(u["fixed_cost_per_day"]), float(u["kappa"]), float(u["surplus_penalty"])
    cols = {k: Column(per[k]) for k in per if k not in ("period", "day_start")}
    for k, (t0, t1) in enumerate(spans):
        where = f"period {k}"
        L = ledger(w, r, range(t0, t1), tar.ab, tar.as_, tar.fp, tar.fc, qg)
        E = eeis(w, L)
        cmp = lambda name, col, x: rep.compare(name, cols[col].v[k], x.v, err=x.e, half=cols[col].h[k], where=where)
        cmp("period: mean lmp", "mean_lmp", L["lmp_mean"])
        cmp("period: eei consumers %", "eei_consumers", E["cons"])
        if L["bill_c"] is None:
            continue
        for c, name in enumerate(w.class_name):
            cmp("period: eei per class %", f"eei_{name}", E["pros_c"][c])
        cmp("period: eei prosumers %", "eei_prosumers", E["pros"])
        cmp("period: eei gap pp", "eei_gap", abs(E["pros"] - E["cons"]))
        cmp("period: revenue $", "revenue", L["rev"])
        sf, surplus = shortfall(F, L["days"], L["rev"])
        cmp("period: shortfall", "shortfall", sf)
        # [R] reward: -(gap in pp) - kappa shortfall - surplus_penalty surplus; the gap of each
        # class to the consumers weighted by households (eei_gap: groups) or the pooled one.
        if u["eei_gap"] == "groups":
            gap = (abs(E["pros_c"] - Approx(np.full(w.C, E["cons"].v), np.full(w.C, E["cons"].e))) *
                   (w.class_prosumers / w.class_prosumers.sum())).sum()
        else:
            gap = abs(E["pros"] - E["cons"])
        cmp("period: leader reward", "leader_reward", -gap - sf * kappa - surplus * sp)


# ---- windows and the summary ----

def imv(lmp):
    """IMV of a window (T, B) of LMPs: per bus sum_{i<T-1} |LMP_{i+1} - LMP_i| / T, mean over
    buses [P][A]."""
    T = lmp.v.shape[0]
    d = abs(lmp[1:] - lmp[:-1])
    return d.sum() * (1.0 / (T * lmp.v.shape[1]))


def check_windows(rep, w, r, tar, qg, summ, slack_steps):
    cfg = w.cfg
    S, D, W = w.S, int(cfg["days"]), int(cfg["report_days"])
    dd = sb_grid.read_csv(os.path.join(r.d, "days.csv"))
    rep.exact("records: rows", [int(x) for x in dd["day"]] == list(range(D)), "days.csv: not one row per day")
    for col, lmp in (("imv_rl", r.lmp), ("imv_no_storage", r.lmp_ns)):
        c = Column(dd[col])
        for day in range(D):
            x = imv(lmp[day * S:(day + 1) * S])
            rep.compare(f"days.csv {col}", c.v[day], x.v, err=x.e, half=c.h[day], where=f"day {day}")
    hr = sb_grid.read_csv(os.path.join(r.d, "hourly.csv"))
    rep.exact("records: rows", [int(x) for x in hr["hour"]] == list(range(S)), "hourly.csv: not one row per hour")
    for col, d0 in (("fleet_mwh_first", 0), ("fleet_mwh_last", D - W)):
        c = Column(hr[col])
        for h in range(S):
            x = r.q[[(d0 + k) * S + h for k in range(W)]].sum() * (1.0 / (W * 1000.0))
            rep.compare("hourly.csv fleet MWh", c.v[h], x.v, err=x.e, half=c.h[h], where=f"{col} hour {h}")
    # summary.json
    win = list(range(r.T - W * S, r.T))
    num = lambda s: Column([str(s)])
    for key, lmp in (("rl", r.lmp), ("no_storage", r.lmp_ns)):
        x, c = imv(lmp[win[0]:]), num(summ["imv_last3d"][key])
        rep.compare("summary: imv of the report window", c.v, x.v, err=x.e, half=c.h, where=f"imv_last3d.{key}")
    T = r.T
    base = dict(ab=Approx(np.zeros(T)), as_=Approx(np.zeros(T)), fp=Approx(np.full((T, w.C), tar.base)),
                fc=Approx(np.full(T, tar.base)))
    for key, t in (("baseline_tariff", base), ("learned", dict(ab=tar.ab, as_=tar.as_, fp=tar.fp, fc=tar.fc))):
        L = ledger(w, r, win, t["ab"], t["as_"], t["fp"], t["fc"], qg)
        if L["bill_c"] is None:
            break
        E = eeis(w, L)
        x, c = abs(E["pros"] - E["cons"]), num(summ["eei_gap"][key])
        rep.compare("summary: eei gap of the report window", c.v, x.v, err=x.e, half=c.h, where=f"eei_gap.{key}")
        if key == "learned":
            sf, _ = shortfall(float(cfg["utility"]["fixed_cost_per_day"]), L["days"], L["rev"])
            c = num(summ["revenue_shortfall"])
            rep.compare("summary: revenue shortfall", c.v, sf.v, err=sf.e, half=c.h, where="revenue_shortfall")
    rep.exact("summary: slack steps", int(summ["slack_steps"]) == slack_steps,
              f"summary.json slack_steps {summ['slack_steps']}, the replay's DC-OPF used slack in {slack_steps} steps")
    # PPO steps: each phase collects whole rollouts; the single loop trains every follower
    # before every step and the leader at every period's start.
    if cfg["schedule"] == "single_loop":
        ag, ut = cfg["aggregator"], cfg["utility"]
        learn_f = bool(cfg["learning"]) and bool(cfg["storage"])
        learn_l = bool(cfg["learning"]) and bool(ut["learn"])
        P = int(cfg["leader_period_days"]) * S
        n = (w.B * T * steps_per_phase(ag["train_steps"], ag["ppo"]["n_steps"]) if learn_f else 0) + \
            (-(-T // P) * steps_per_phase(ut["train_steps"], ut["ppo"]["n_steps"]) if learn_l else 0)
        rep.exact("summary: train_env_steps", int(summ["train_env_steps"]) == n,
                  f"summary.json train_env_steps {summ['train_env_steps']}, the schedule gives {n}")
    else:
        rep.note("nested schedule: train_env_steps not checked (its phases depend on the beliefs' convergence)")
    ts = summ["time_s"]
    f = lambda s: float(s)
    wall, fol, lead, disp, oth = f(summ["wall_s"]), f(ts["follower_training"]), f(ts["leader_training"]), \
        f(ts["dispatch"]), f(ts["other"])
    comm = f(ts.get("communication", 0))
    rep.compare("summary: time_s.other = wall - parts", oth, wall - fol - lead - disp - comm, err=1e-12 * wall)
    rep.compare("summary: train_steps_per_s", f(summ["train_steps_per_s"]),
                int(summ["train_env_steps"]) / max(fol + lead, 1e-9))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("seed_dir")
    ap.add_argument("--grid", help="the grid file (default: the one summary.json names)")
    ap.add_argument("--rtol", type=float, default=1e-11)
    a = ap.parse_args()
    d = a.seed_dir
    rep = sb_grid.Report(a.rtol)
    try:
        summ = json.load(open(os.path.join(d, "summary.json")), parse_float=str)
        cfg = json.load(open(os.path.join(d, "summary.json")))["config"]
        w = sb_grid.World(cfg, sb_grid.read_grid(sb_grid.find_grid(cfg["grid"], d, a.grid)))
        r = Run(d, w, rep)
        per = sb_grid.read_csv(os.path.join(d, "periods.csv"))
    except (OSError, KeyError, ValueError, sb_grid.GridError) as e:
        print(f"check_run: {d}: {e}", file=sys.stderr)
        return 2
    check_fleets(rep, w, r)
    slack_steps = check_market(rep, w, r)
    spans = periods_of(rep, w, r, per)
    tar = read_tariffs(rep, w, r, per, spans, summ)
    # Each prosumer group's grid energy: with one group per bus, the bus fleet's.
    if np.all(np.bincount(w.group_bus, minlength=w.B) == 1):
        qg = r.q[:, np.argsort(w.group_bus)] if w.Gp == w.B else None
    else:
        qg = None
        rep.note("buses with several prosumer groups: draws.csv holds each bus's net demand, not each group's, "
                 "so the per-class bills, EEIs, revenue and reward cannot be recomputed (not checked)")
    check_periods(rep, w, r, per, spans, tar, qg)
    check_windows(rep, w, r, tar, qg, summ, slack_steps)
    b0 = initial_beliefs(w)
    b1 = beliefs(w, r, b0)
    def fmt(m):     # one line per distinct row (every bus sees one price without congestion)
        rows = {}
        for b in range(w.B):
            rows.setdefault(" ".join(f"{x:.4f}" for x in m[b]), []).append(w.bus_name[b])
        return "; ".join(f"{','.join(v)}: {k}" for k, v in rows.items())
    rep.note(f"initial beliefs $/MWh by hour: {fmt(b0)}")
    rep.note(f"final beliefs $/MWh by hour: {fmt(b1)} (no record holds the beliefs: not compared)")
    ok = rep.print()
    print("check_run:", "every recomputed quantity agrees with the records" if ok else "DIFFERENCES BEYOND TOLERANCE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
