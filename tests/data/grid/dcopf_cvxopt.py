"""dcopf_cvxopt.py: an independent DC-OPF (angle formulation, solved by cvxopt's interior-point
QP) that produced the second-method reference values in tests/test_dispatch.c.

It shares no code or formulation with src/grid: bus angles are variables, nodal balance rows
carry the LMPs, flows are b (theta_f - theta_t - shift) + nothing else (MATPOWER makeBdc).
Usage: /usr/bin/python3 tests/data/grid/dcopf_cvxopt.py CASE.m [LOAD_SCALE]
(needs Debian's python3-cvxopt)."""
import math, re, sys
import numpy as np
from cvxopt import matrix, solvers

def read(path):
    text = open(path).read()
    def mat(name):
        m = re.search(r"mpc\.%s\s*=\s*\[(.*?)\]" % name, text, re.S)
        rows = []
        for line in m.group(1).split("\n"):
            line = line.split("%")[0]
            for r in line.split(";"):
                if r.strip(): rows.append([float(v) for v in r.split()])
        return np.array(rows)
    base = float(re.search(r"mpc\.baseMVA\s*=\s*([0-9.]+)", text).group(1))
    return base, mat("bus"), mat("gen"), mat("branch"), mat("gencost")

def solve(path, scale=1.0):
    base, bus, gen, br, gc = read(path)
    nb = len(bus); idx = {int(b): i for i, b in enumerate(bus[:, 0])}
    on = gen[:, 7] > 0; gen = gen[on]; gc = gc[:len(on)][on]; ng = len(gen)
    br = br[br[:, 10] > 0]; nl = len(br)
    pd = bus[:, 2] * scale + bus[:, 4]
    n = ng + nb
    f = np.array([idx[int(v)] for v in br[:, 0]]); t = np.array([idx[int(v)] for v in br[:, 1]])
    tap = np.where(br[:, 8] == 0, 1.0, br[:, 8]); b = 1.0 / (br[:, 3] * tap)
    sh = br[:, 9] * math.pi / 180
    # nodal balance: gen at bus - sum of flows out = load, flows in MW = base b (th_f - th_t - sh)
    A = np.zeros((nb + 1, n)); rhs = pd.copy()
    for k in range(ng): A[idx[int(gen[k, 0])], k] = 1
    F = np.zeros((nl, n)); f0 = np.zeros(nl)
    for l in range(nl):
        F[l, ng + f[l]] += base * b[l]; F[l, ng + t[l]] -= base * b[l]; f0[l] = -base * b[l] * sh[l]
    for l in range(nl):
        A[f[l]] -= F[l]; A[t[l]] += F[l]; rhs[f[l]] += f0[l]; rhs[t[l]] -= f0[l]
    ref = [i for i in range(nb) if bus[i, 1] == 3][0]
    A[nb, ng + ref] = 1; rhs = np.append(rhs, 0.0)
    P = np.zeros((n, n)); q = np.zeros(n); c0 = 0.0
    for k in range(ng):
        nc = int(gc[k, 3]); c = list(gc[k, 4:4 + nc])[::-1] + [0, 0, 0]
        c0 += c[0]; q[k] = c[1]; P[k, k] = 2 * c[2]
    G = []; h = []
    for k in range(ng):
        e = np.zeros(n); e[k] = 1; G.append(e); h.append(gen[k, 8]); G.append(-e); h.append(-gen[k, 9])
    for l in range(nl):
        if br[l, 5] > 0:
            G.append(F[l]); h.append(br[l, 5] - f0[l]); G.append(-F[l]); h.append(br[l, 5] + f0[l])
    solvers.options.update(dict(show_progress=False, abstol=1e-11, reltol=1e-12, feastol=1e-11, maxiters=200))
    s = solvers.qp(matrix(P), matrix(q), matrix(np.array(G)), matrix(np.array(h)), matrix(A), matrix(rhs))
    x = np.array(s["x"]).ravel(); y = np.array(s["y"]).ravel()
    obj = 0.5 * x @ P @ x + q @ x + c0
    return s["status"], obj, -y[:nb]

if __name__ == "__main__":
    st, obj, lmp = solve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
    print(st, "%.9f" % obj, " ".join("%.6f" % v for v in lmp[:8]))
