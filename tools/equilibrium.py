#!/usr/bin/python3
"""equilibrium.py: the best a price-taking storage fleet can do on the paper's 3-bus grid.

A competitive (mean-field) equilibrium of price-taking battery fleets is the social optimum:
minimise the generators' cost over one periodic day with the fleets' charge and discharge as
variables. This script solves that multi-period DC-OPF as one QP (cvxopt, Debian's
python3-cvxopt), on the mean shapes of SPEC section 3 (no noise, alpha = 0), and prints the
LMPs, the fleets' actions and the IMV, for the battery-loss resolutions of configs/paper.yaml
(`efficiency`, `efficiency_applies`). It is an independent check of what the game's learning
followers could reach: their IMV cannot fall below the equilibrium's without losing money.

Usage: /usr/bin/python3 tools/equilibrium.py            (the table in bench/RESULTS.md)
"""
import numpy as np
import cvxopt

cvxopt.solvers.options["show_progress"] = False

S = 8                      # 3-hour steps per day
KWH = 16.667               # demand_scale_kwh
SHAPE_C = np.array([.5567, .4700, .7933, .8933, .9500, .9967, .9900, .8100])
SHAPE_P = np.array([.5633, .5567, .6333, .6733, .6700, .7100, .8000, .7333])
SOLAR_CF = np.array([0, 0, .2567, .7633, .9000, .4733, .0200, 0])
PROSUMERS = np.array([1000, 500, 300])
CONSUMERS = np.array([3000, 3000, 3000])
CAP = PROSUMERS * np.array([30, 60, 100]) / 1000.0      # fleet MWh per bus
LINES = [(0, 2, 0.62), (2, 1, 0.75), (0, 1, 0.9)]        # b1-b3, b3-b2, b1-b2; x
BASE, LIMIT = 100.0, 100.0
LOAD = (np.outer(SHAPE_C, CONSUMERS) + np.outer(SHAPE_P, PROSUMERS)) * KWH / 1000.0  # (S, 3) MWh


def solve(eff_in, eff_out, cap_scale=1.0):
    """Variables per step: g1, g2, solar (b3), solar2 (b1), charge (3), discharge (3), theta2,
    theta3; then the SoC (MWh) of every fleet at every step (periodic)."""
    nt = 12
    n = nt * S + 3 * S
    v = lambda t, k: t * nt + k
    e = lambda t, b: nt * S + t * 3 + b
    P = np.zeros((n, n)); q = np.zeros(n)
    G, h, A, rhs = [], [], [], []
    row = lambda: np.zeros(n)
    for t in range(S):
        P[v(t, 0), v(t, 0)] = 0.4; q[v(t, 0)] = 5.0      # 0.2 p^2 + 5 p
        P[v(t, 1), v(t, 1)] = 0.4; q[v(t, 1)] = 4.0      # 0.2 p^2 + 4 p
        for k in range(10):
            r = row(); r[v(t, k)] = -1; G.append(r); h.append(0.0)
        for k in (2, 3):
            r = row(); r[v(t, k)] = 1; G.append(r); h.append(30.0 * SOLAR_CF[t])
        for b in range(3):
            for k in (4 + b, 7 + b):
                r = row(); r[v(t, k)] = 1; G.append(r); h.append(CAP[b] * cap_scale)
            r = row(); r[e(t, b)] = 1; G.append(r); h.append(CAP[b] * cap_scale)
            r = row(); r[e(t, b)] = -1; G.append(r); h.append(0.0)
            r = row(); r[e((t + 1) % S, b)] = 1; r[e(t, b)] = -1; r[v(t, 4 + b)] = -1; r[v(t, 7 + b)] = 1
            A.append(r); rhs.append(0.0)

        def theta(r, bus, c):
            if bus > 0:
                r[v(t, 9 + bus)] += c
        for (i, j, x) in LINES:
            for sgn in (1, -1):
                r = row(); theta(r, i, sgn * BASE / x); theta(r, j, -sgn * BASE / x); G.append(r); h.append(LIMIT)
        for bus in range(3):
            r = row()
            if bus == 0: r[v(t, 0)] = 1; r[v(t, 3)] = 1
            if bus == 1: r[v(t, 1)] = 1
            if bus == 2: r[v(t, 2)] = 1
            r[v(t, 4 + bus)] = -1.0 / eff_in; r[v(t, 7 + bus)] = eff_out
            for (i, j, x) in LINES:
                if i == bus: theta(r, i, -BASE / x); theta(r, j, BASE / x)
                if j == bus: theta(r, j, -BASE / x); theta(r, i, BASE / x)
            A.append(r); rhs.append(LOAD[t, bus])
    P += np.eye(n) * 1e-9
    m = lambda a: cvxopt.matrix(np.array(a, dtype=float))
    sol = cvxopt.solvers.qp(m(P), m(q), m(G), m(h), m(A), m(rhs))
    assert sol["status"] == "optimal", sol["status"]
    y = np.array(sol["y"]).ravel(); x = np.array(sol["x"]).ravel()
    # Equality rows per step: 3 SoC rows, then 3 bus balances; the balance duals are the LMPs.
    lmp = np.array([[abs(y[t * 6 + 3 + b]) for b in range(3)] for t in range(S)])
    act = np.array([[(x[v(t, 4 + b)] - x[v(t, 7 + b)]) / CAP[b] for b in range(3)] for t in range(S)])
    return lmp, act


def imv(lmp, days=3):
    """SPEC 6: sum |LMP_{i+1} - LMP_i| / T over `days` identical days, mean over buses."""
    seq = np.tile(lmp, (days, 1))
    return float(np.mean([np.abs(np.diff(seq[:, b])).sum() / len(seq) for b in range(3)]))


def main():
    base, _ = solve(0.8, 0.8, cap_scale=1e-9)
    print(f"no storage: IMV {imv(base):.3f} $/MWh; LMP b1 by step: " + " ".join(f"{p:.1f}" for p in base[:, 0]))
    for name, ei, eo in (("efficiency 0.8, applies: both (round trip 0.64)", 0.8, 0.8),
                         ("efficiency 0.8, applies: charging (round trip 0.8)", 0.8, 1.0),
                         ("lossless", 1.0, 1.0)):
        lmp, act = solve(ei, eo)
        print(f"{name}: IMV {imv(lmp):.3f} $/MWh ({100 * imv(lmp) / imv(base):.0f}% of no storage)")
        print("   LMP b1: " + " ".join(f"{p:.1f}" for p in lmp[:, 0]))
        for b in range(3):
            print(f"   actions b{b + 1}: " + " ".join(f"{a:+.2f}" for a in act[:, b]))


if __name__ == "__main__":
    main()
