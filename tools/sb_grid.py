#!/usr/bin/python3
"""sb_grid.py: grids and an independent DC optimal power flow for the replay checkers.

Shared by tools/check_run.py and tools/check_grid.py; nothing here is taken from the C
program: the grid formats are read as MATPOWER's CASEFORMAT and configs/grids/*.yaml
document them, and the dispatch is written in MATPOWER's own DC model (bus angles, B = 1/x),
not the C solver's PTDF form. NumPy and cvxopt come from Debian (python3-numpy,
python3-cvxopt).

Legend: N buses, G generators, M branches (file order), V variables of the QP.

The DC-OPF, in grid units (MW and $/h for MATPOWER cases; MWh per step and $ per step for a
per_step grid such as the paper's):
    minimise   sum_g c2 p_g^2 + c1 p_g + c0  +  voll * sum_n (u_n + s_n)
    subject to gen_n + u_n - s_n - (Pd_n + Gs_n) = sum_l A_ln f_l          (price: the LMP)
               f_l = base * (theta_f - theta_t - shift_l) / (x_l * tap_l),   theta_ref = 0
               -rate_l <= f_l <= rate_l   (rated in-service branches),   pmin <= p <= pmax
               u, s >= 0                  (unserved and spilled energy at voll)
cvxopt's interior-point QP finds the optimum to ~1e-8; its active set (the inequalities whose
multiplier exceeds their slack) is then solved exactly as one KKT system in double precision,
checked for feasibility and multiplier signs (and repaired one constraint at a time when the
guess was wrong), so the LMPs are exact to rounding (~1e-12 relative). They are the negated
multipliers of the bus balances, d cost / d load. Where the active constraints are linearly
dependent (LICQ fails) the multipliers are not unique and the result says so.

`python3 tools/sb_grid.py --selftest` solves MATPOWER cases and compares with MATPOWER's
published rundcopf results (objective and case5's LMPs).
"""
import math
import re
import sys

import numpy as np
import cvxopt

cvxopt.solvers.options.update({"show_progress": False, "abstol": 1e-10, "reltol": 1e-10,
                               "feastol": 1e-10, "maxiters": 200})


class Grid:
    """A network as read: external bus numbers, internal 0-based indices everywhere else."""

    def __init__(self):
        self.name = ""
        self.base_mva = 100.0
        self.per_step = False      # cost basis: True for MWh per step and $ per step
        self.bus_id = []           # (N) external numbers
        self.bus_type = []         # (N) 1 PQ, 2 PV, 3 ref, 4 isolated
        self.pd = []               # (N) MW
        self.gs = []               # (N) MW at V = 1 p.u. (the DC model consumes it as load)
        self.gen_name = []         # (G) or None
        self.gen_bus = []          # (G) internal bus index
        self.gen_on = []           # (G) bool
        self.pmin, self.pmax = [], []
        self.c2, self.c1, self.c0 = [], [], []
        self.br_f, self.br_t = [], []      # (M) internal bus indices
        self.x, self.tap, self.shift, self.rate, self.br_on = [], [], [], [], []

    def bus_index(self, bus_id):
        return self.bus_id.index(bus_id) if bus_id in self.bus_id else -1

    def finish(self):
        for k in ("pd", "gs", "pmin", "pmax", "c2", "c1", "c0", "x", "tap", "shift", "rate"):
            setattr(self, k, np.array(getattr(self, k), dtype=float))
        for k in ("bus_type", "gen_bus", "br_f", "br_t"):
            setattr(self, k, np.array(getattr(self, k), dtype=int))
        self.gen_on = np.array(self.gen_on, dtype=bool)
        self.br_on = np.array(self.br_on, dtype=bool)
        return self

    @property
    def N(self):
        return len(self.bus_id)

    @property
    def G(self):
        return len(self.gen_bus)


class GridError(Exception):
    pass


# ---- MATPOWER .m (CASEFORMAT version 2) ----

def read_matpower(path):
    """The fields a DC-OPF needs from a MATPOWER case file (columns as CASEFORMAT numbers
    them, 1-based there): bus BUS_I, BUS_TYPE, PD, GS; gen GEN_BUS, GEN_STATUS, PMAX, PMIN;
    branch F_BUS, T_BUS, BR_X, RATE_A, TAP, SHIFT, BR_STATUS; gencost model 2 (polynomial,
    highest degree first)."""
    text = open(path).read()
    mats, base = {}, None
    # mpc.NAME = [ rows ];   with % comments, rows ended by ; or newlines
    for m in re.finditer(r"mpc\.(\w+)\s*=\s*(\[.*?\]|[^;\n]+)\s*;", text, re.S):
        name, body = m.group(1), m.group(2)
        if name == "baseMVA":
            base = float(body)
        elif body.startswith("["):
            rows = []
            for line in re.sub(r"%[^\n]*", "", body[1:-1]).replace(";", "\n").split("\n"):
                if line.strip():
                    rows.append([float(v) for v in line.replace(",", " ").split()])
            mats[name] = rows
    for need in ("bus", "gen", "branch", "gencost"):
        if need not in mats:
            raise GridError(f"{path}: no mpc.{need}")
    if base is None:
        raise GridError(f"{path}: no mpc.baseMVA")
    g = Grid()
    g.name = path.rsplit("/", 1)[-1]
    g.base_mva = base
    for r in mats["bus"]:
        g.bus_id.append(int(r[0]))
        g.bus_type.append(int(r[1]))
        g.pd.append(r[2])
        g.gs.append(r[4])
    if len(mats["gencost"]) < len(mats["gen"]):
        raise GridError(f"{path}: fewer gencost rows than generators")
    for r, c in zip(mats["gen"], mats["gencost"]):
        g.gen_name.append(None)
        g.gen_bus.append(g.bus_index(int(r[0])))
        g.gen_on.append(r[7] > 0)
        g.pmax.append(r[8])
        g.pmin.append(r[9])
        if int(c[0]) != 2:
            raise GridError(f"{path}: gencost model {c[0]:g}: only polynomial costs (2)")
        n = int(c[3])
        coef = c[4:4 + n][::-1] + [0.0] * 3     # c0, c1, c2, ...
        if any(v != 0 for v in coef[3:n]):
            raise GridError(f"{path}: gencost of degree > 2")
        g.c0.append(coef[0])
        g.c1.append(coef[1])
        g.c2.append(coef[2])
    for r in mats["branch"]:
        g.br_f.append(g.bus_index(int(r[0])))
        g.br_t.append(g.bus_index(int(r[1])))
        g.x.append(r[3])
        g.rate.append(r[5])
        g.tap.append(r[8])
        g.shift.append(r[9])
        g.br_on.append(r[10] > 0)
    return g.finish()


# ---- the project's grid YAML (configs/grids/*.yaml) ----

def _scalar(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    low = s.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", ""):
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def _split_flow(s):
    """Split 'a, {b, c}, [d]' at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _flow(s):
    s = s.strip()
    if s.startswith("{"):
        d = {}
        for item in _split_flow(s[1:-1]):
            k, _, v = item.partition(":")
            d[k.strip()] = _flow(v)
        return d
    if s.startswith("["):
        return [_flow(v) for v in _split_flow(s[1:-1])]
    return _scalar(s)


def _strip_comment(line):
    q = None
    for i, ch in enumerate(line):
        if q:
            q = None if ch == q else q
        elif ch in "'\"":
            q = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def read_yaml_subset(path):
    """The YAML the grid files use: block mappings and sequences by indentation, flow maps and
    lists, plain or quoted scalars, # comments. Anchors, tags and multi-line scalars are
    refused rather than misread."""
    lines = []
    for no, raw in enumerate(open(path), 1):
        line = _strip_comment(raw.rstrip("\n")).rstrip()
        if not line.strip() or line.strip() == "---":
            continue
        if re.search(r"(^|\s)[&*!|>]", line.strip()[:2]):
            raise GridError(f"{path}:{no}: YAML feature not supported by this reader")
        lines.append((no, len(line) - len(line.lstrip()), line.strip()))

    def block(i, indent):
        if i >= len(lines):
            return None, i
        if lines[i][2].startswith("- ") or lines[i][2] == "-":
            seq = []
            while i < len(lines) and lines[i][1] == indent and lines[i][2].startswith("-"):
                rest = lines[i][2][1:].strip()
                if not rest:
                    v, i = block(i + 1, lines[i + 1][1] if i + 1 < len(lines) else indent + 1)
                    seq.append(v)
                elif rest.startswith(("{", "[")) or ":" not in rest:
                    seq.append(_flow(rest))
                    i += 1
                else:   # "- key: value" opens a mapping at the column after "- "
                    col = indent + 2
                    lines[i] = (lines[i][0], col, rest)
                    v, i = block(i, col)
                    seq.append(v)
            return seq, i
        m = {}
        while i < len(lines) and lines[i][1] == indent and not lines[i][2].startswith("- "):
            no, _, text = lines[i]
            key, sep, rest = text.partition(":")
            if not sep:
                raise GridError(f"{path}:{no}: expected 'key: value'")
            rest = rest.strip()
            if rest:
                m[key.strip()] = _flow(rest)
                i += 1
            elif i + 1 < len(lines) and (lines[i + 1][1] > indent or
                                         (lines[i + 1][1] == indent and lines[i + 1][2].startswith("-"))):
                m[key.strip()], i = block(i + 1, lines[i + 1][1])
            else:
                m[key.strip()] = None
                i += 1
        return m, i

    doc, i = block(0, lines[0][1] if lines else 0)
    if i != len(lines):
        raise GridError(f"{path}:{lines[i][0]}: unexpected indentation")
    return doc


def read_grid_yaml(path):
    """configs/grids/*.yaml: name, base_mva, cost_basis (per_hour by default | per_step),
    buses [{id, type, pd, gs}], generators [{name, bus, pmin, pmax, cost: [c2, c1, c0], on}],
    branches [{name, from, to, r, x, rate, tap, shift, on}]."""
    d = read_yaml_subset(path)
    g = Grid()
    g.name = d.get("name", "grid")
    g.base_mva = float(d.get("base_mva", 100))
    g.per_step = d.get("cost_basis", "per_hour") == "per_step"
    types = {"ref": 3, "pv": 2, "pq": 1}
    for b in d["buses"]:
        g.bus_id.append(int(b["id"]))
        g.bus_type.append(types[b.get("type", "pq")])
        g.pd.append(float(b.get("pd", 0)))
        g.gs.append(float(b.get("gs", 0)))
    for k in d["generators"]:
        c2, c1, c0 = (float(v) for v in k["cost"])
        g.gen_name.append(k.get("name"))
        g.gen_bus.append(g.bus_index(int(k["bus"])))
        g.gen_on.append(bool(k.get("on", True)))
        g.pmin.append(float(k.get("pmin", 0)))
        g.pmax.append(float(k["pmax"]))
        g.c2.append(c2)
        g.c1.append(c1)
        g.c0.append(c0)
    for br in d.get("branches") or []:
        g.br_f.append(g.bus_index(int(br["from"])))
        g.br_t.append(g.bus_index(int(br["to"])))
        g.x.append(float(br["x"]))
        g.rate.append(float(br.get("rate", 0)))
        g.tap.append(float(br.get("tap", 0)))
        g.shift.append(float(br.get("shift", 0)))
        g.br_on.append(bool(br.get("on", True)))
    if min(g.gen_bus + g.br_f + g.br_t + [0]) < 0:
        raise GridError(f"{path}: a generator or branch names a bus that is not in buses")
    return g.finish()


def read_grid(path):
    return read_matpower(path) if path.endswith(".m") else read_grid_yaml(path)


# ---- the DC-OPF ----

def _solve(K, rhs, sv=None):
    """K x = rhs in the least-squares sense (K may be singular when the optimum is not
    unique), with two steps of iterative refinement: the KKT matrix mixes susceptances of
    thousands of MW per radian with voll, and the refinement takes the error from ~1e-9 of the
    largest entry to rounding. sv: K's singular values when known; a K they show nonsingular
    (the test of a unique optimum below) is solved by LU, ~10x faster than lstsq's SVD on
    case118's ~900 x 900 systems, to the same solution after the refinement."""
    if sv is not None and sv[-1] > 1e-12 * sv[0]:
        step = lambda r: np.linalg.solve(K, r)
    else:
        step = lambda r: np.linalg.lstsq(K, r, rcond=None)[0]
    x = step(rhs)
    for _ in range(2):
        x = x + step(rhs - K @ x)
    return x


class Dispatch:
    """One solved step. pg (G, 0 when off), lmp (N), unserved (N), spilled (N), flow (M),
    cost (objective incl. c0 of in-service units and the slack), unique (the LMPs are the
    only multipliers), dlmp_dload (N, N): d LMP_i / d load_j with the active set held."""


class DcOpf:
    """The QP's structure for a grid, built once; solve() per step with loads and bounds."""

    def __init__(self, grid, voll):
        g = self.g = grid
        N, M = g.N, len(g.br_f)
        self.voll = voll
        self.ref = int(np.flatnonzero(g.bus_type == 3)[0])
        # Branch susceptances in MW per radian: base / (x tap) (tap 0 means 1, MATPOWER).
        tap = np.where(g.tap == 0, 1.0, g.tap)
        on = g.br_on
        self.bflow = np.where(on, g.base_mva / (np.where(on, g.x, 1.0) * tap), 0.0)      # (M)
        self.phi = np.deg2rad(g.shift)                                                    # (M)
        inc = np.zeros((M, N))                                                            # A_ln
        inc[np.arange(M), g.br_f] = 1.0
        inc[np.arange(M), g.br_t] = -1.0
        self.inc = inc
        self.rated = np.flatnonzero(on & (g.rate > 0))

    def solve(self, load, pmin, pmax, want_jac=False):
        """load (N) grid units (Gs is added here), pmin/pmax (G) grid units."""
        g = self.g
        N = g.N
        on = g.gen_on.copy()
        fixed = on & (pmax - pmin <= 0)              # a unit with no range is a constant
        free = np.flatnonzero(on & ~fixed)
        F = len(free)
        slack = self.voll > 0
        V = F + N + (2 * N if slack else 0)
        it, iu, is_ = F, F + N, F + 2 * N            # variable offsets: p (0), theta, u, s
        P = np.zeros((V, V))
        q = np.zeros(V)
        P[np.arange(F), np.arange(F)] = 2 * g.c2[free]
        q[:F] = g.c1[free]
        if slack:
            q[iu:] = self.voll
        # Equalities: N bus balances, theta_ref = 0.
        A = np.zeros((N + 1, V))
        b = np.zeros(N + 1)
        A[g.gen_bus[free], np.arange(F)] = 1.0
        B = self.inc.T @ (self.bflow[:, None] * self.inc)          # (N, N) = A' diag(b) A
        A[:N, it:it + N] = -B
        if slack:
            A[np.arange(N), iu + np.arange(N)] = 1.0
            A[np.arange(N), is_ + np.arange(N)] = -1.0
        fixed_at = np.zeros(N)
        np.add.at(fixed_at, g.gen_bus[fixed], pmax[fixed])
        b[:N] = load + g.gs - fixed_at - self.inc.T @ (self.bflow * self.phi)
        A[N, it + self.ref] = 1.0
        # Inequalities G x <= h.
        rows, h = [], []
        for l in self.rated:
            r = np.zeros(V)
            r[it:it + N] = self.bflow[l] * self.inc[l]
            off = self.bflow[l] * self.phi[l]
            rows += [r, -r]
            h += [g.rate[l] + off, g.rate[l] - off]
        for k, gi in enumerate(free):
            r = np.zeros(V)
            r[k] = 1
            rows += [r, -r]
            h += [pmax[gi], -pmin[gi]]
        if slack:
            for j in range(iu, V):
                r = np.zeros(V)
                r[j] = -1
                rows.append(r)
                h.append(0.0)
        Gm, h = np.array(rows), np.array(h)
        # LDL: cvxopt's default Cholesky KKT solver stops at once on the zero-curvature
        # variables (angles, slacks, free solar units).
        sol = cvxopt.solvers.qp(cvxopt.matrix(P), cvxopt.matrix(q), cvxopt.matrix(Gm), cvxopt.matrix(h),
                                cvxopt.matrix(A), cvxopt.matrix(b), kktsolver="ldl")
        if sol["status"] != "optimal":
            raise GridError(f"DC-OPF: cvxopt ends {sol['status']}")
        x0 = np.array(sol["x"]).ravel()
        z0 = np.array(sol["z"]).ravel()
        active = z0 > h - Gm @ x0
        x, nu, mu, active, unique = self._refine(P, q, A, b, Gm, h, active, x0)
        d = Dispatch()
        d.status = sol["status"]
        d.pg = np.zeros(g.G)
        d.pg[free] = x[:F]
        d.pg[fixed] = pmax[fixed]
        d.theta = x[it:it + N]
        d.unserved = x[iu:iu + N] if slack else np.zeros(N)
        d.spilled = x[is_:is_ + N] if slack else np.zeros(N)
        d.flow = self.bflow * (self.inc @ d.theta - self.phi)
        d.lmp = -nu[:N]
        d.unique = unique
        d.primal_unique = self.primal_unique
        d.cost = float(np.sum(g.c2[on] * d.pg[on] ** 2 + g.c1[on] * d.pg[on] + g.c0[on]))
        if slack:
            d.cost += self.voll * float(np.sum(d.unserved) + np.sum(d.spilled))
        if want_jac:
            d.dlmp_dload = self._jacobian(P, A, Gm, active, N)
        return d

    @staticmethod
    def _kkt(P, A, Gm, active):
        E = np.vstack([A, Gm[active]])
        n, m = P.shape[0], E.shape[0]
        K = np.zeros((n + m, n + m))
        K[:n, :n] = P
        K[:n, n:] = E.T
        K[n:, :n] = E
        return K, E

    def _refine(self, P, q, A, b, Gm, h, active, x0):
        """Solve the equality QP of the guessed active set exactly; move one constraint in or
        out while a bound is violated or a multiplier has the wrong sign."""
        n = P.shape[0]
        scale_x = 1.0 + np.max(np.abs(x0))
        scale_y = 1.0 + np.max(np.abs(q)) + np.max(np.abs(P)) * scale_x
        for _ in range(4 * len(h) + 10):
            K, E = self._kkt(P, A, Gm, active)
            svk = np.linalg.svd(K, compute_uv=False)
            rhs = np.concatenate([-q, b, h[active]])
            sol = _solve(K, rhs, svk)
            x, y = sol[:n], sol[n:]
            nu, mu = y[:A.shape[0]], y[A.shape[0]:]
            viol = Gm @ x - h
            viol[active] = -np.inf
            worst_v = int(np.argmax(viol)) if len(h) else -1
            idx = np.flatnonzero(active)
            worst_m = int(idx[np.argmin(mu)]) if len(idx) else -1
            bad_v = len(h) and viol[worst_v] > 1e-9 * scale_x
            bad_m = len(idx) and np.min(mu) < -1e-9 * scale_y
            if not bad_v and not bad_m:
                break
            if bad_v and (not bad_m or viol[worst_v] / scale_x >= -np.min(mu) / scale_y):
                active[worst_v] = True
            else:
                active[worst_m] = False
        else:
            raise GridError("DC-OPF: the active set did not settle")
        # LICQ: the equality and active rows independent <=> the multipliers are unique.
        sv = np.linalg.svd(E, compute_uv=False)
        unique = sv[-1] > 1e-10 * sv[0]
        # A nonsingular KKT matrix: the optimum itself is unique too.
        self.primal_unique = bool(svk[-1] > 1e-12 * svk[0])
        return x, nu, mu, active, bool(unique)

    def _jacobian(self, P, A, Gm, active, N):
        """d LMP / d load with the active set held: the KKT system's response to the right-hand
        side of each bus balance (load_j enters b_j with coefficient +1)."""
        K, _ = self._kkt(P, A, Gm, active)
        n = P.shape[0]
        R = np.zeros((K.shape[0], N))
        R[n + np.arange(N), np.arange(N)] = 1.0
        dsol = _solve(K, R)
        return -dsol[n:n + N, :]


# ---- a game's world, from the config a run records in summary.json ----

def find_grid(path, seed_dir, override=None):
    """The grid file a run used: --grid, else the recorded path (relative to the directory the
    run was started from: tried from here, from the repository this script is in, and above
    the run directory)."""
    import os
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    tries = [path] if os.path.isabs(path) else [path, os.path.join(here, "..", path)] + [
        os.path.join(seed_dir, *([".."] * k), path) for k in range(1, 4)]
    for t in tries:
        if os.path.isfile(t):
            return t
    raise GridError(f"grid file {path} (recorded in summary.json) not found; give it with --grid")


def apportion(total, weights, floor_each):
    """[R] the households generator's split (docs: largest remainder, every part at least
    floor_each, totals exact, ties to the earlier index), in exact rational arithmetic."""
    from fractions import Fraction
    w = [Fraction(v) for v in weights]
    left = total - floor_each * len(w)
    exact = [left * v / sum(w) for v in w]
    out = [math.floor(e) for e in exact]
    rem = [e - o for e, o in zip(exact, out)]
    for _ in range(left - sum(out)):
        best = max(range(len(w)), key=lambda i: (rem[i], -i))
        out[best] += 1
        rem[best] = Fraction(-1)
    return [o + floor_each for o in out]


class World:
    """Households (buses, prosumer groups, income classes), fleets, solar units and the
    grid's own load, resolved from a run's config as the model describes them.

    Legend: B household buses, Gp prosumer groups, C income classes, U solar units, S steps
    per day, N grid buses."""

    def __init__(self, cfg, grid):
        self.cfg, self.grid = cfg, grid
        S = self.S = int(cfg["steps_per_day"])
        basis = cfg.get("cost_basis", "grid")
        self.per_step = grid.per_step if basis == "grid" else basis == "per_step"
        self.mwh_per_unit = 1.0 if self.per_step else float(cfg["step_hours"])
        self.shape_c = np.array(cfg["shapes"]["consumer"], dtype=float)
        self.shape_p = np.array(cfg["shapes"]["prosumer"], dtype=float)
        self.shape_s = np.array(cfg["shapes"]["solar"], dtype=float)
        self.scale = float(cfg["demand_scale_kwh"])
        tri = cfg["noise_triangular"]
        self.noise = (float(tri["low"]), float(tri["mode"]), float(tri["high"]))
        self.eff_in = float(cfg["efficiency"])
        self.eff_out = 1.0 if cfg["efficiency_applies"] == "charging" else self.eff_in
        hh = cfg["households"]
        if "from_load" in hh:
            self._from_load(hh["from_load"])
        else:   # one prosumer group and one income class per bus, named after it
            self.bus_name = list(hh)
            self.bus_id = [int(hh[b]["bus"]) for b in hh]
            self.consumers = np.array([int(hh[b]["consumers"]) for b in hh])
            self.consumer_income = np.array([float(hh[b]["consumer_income"]) for b in hh])
            self.class_name = list(hh)
            self.class_income = np.array([float(hh[b]["income"]) for b in hh])
            self.group_bus = np.arange(len(hh))
            self.group_class = np.arange(len(hh))
            self.prosumers = np.array([int(hh[b]["prosumers"]) for b in hh])
            self.storage_kwh = np.array([float(hh[b]["storage_kwh"]) for b in hh])
        self.B, self.C, self.Gp = len(self.bus_id), len(self.class_name), len(self.group_bus)
        self.grid_bus = np.array([grid.bus_index(i) for i in self.bus_id])
        if np.any(self.grid_bus < 0):
            raise GridError("a household bus is not in the grid")
        storage = bool(cfg["storage"])
        self.group_cap = self.prosumers * self.storage_kwh * (1.0 if storage else 0.0)   # (Gp) kWh
        self.cap = np.bincount(self.group_bus, self.group_cap, self.B)                     # (B) kWh
        self.bus_prosumers = np.bincount(self.group_bus, self.prosumers, self.B)
        self.class_prosumers = np.bincount(self.group_class, self.prosumers, self.C)
        # Solar units: a named generator, or gen<K> (the K-th in file order).
        sol = cfg["solar"]
        self.solar_gen = []
        for name in sol["generators"]:
            k = grid.gen_name.index(name) if name in grid.gen_name else -1
            m = re.fullmatch(r"gen(\d+)", name)
            if k < 0 and m and 1 <= int(m.group(1)) <= grid.G:
                k = int(m.group(1)) - 1
            if k < 0:
                raise GridError(f"solar unit {name} is not a generator of the grid")
            self.solar_gen.append(k)
        self.solar_cap = np.array([float(c) if c is not None else self.mwh(grid.pmax[k])
                                   for c, k in zip(sol["capacity_mwh"], self.solar_gen)])
        # The grid's own load (grid units): Pd times a daily shape, by default the consumers'
        # normalised to mean 1 [R].
        if cfg.get("base_load", "none") == "case":
            shp = cfg.get("base_load_shape")
            shape = np.array(shp, dtype=float) if isinstance(shp, list) else self.shape_c / self.shape_c.mean()
            self.base_load = np.outer(shape, grid.pd)                       # (S, N)
        else:
            self.base_load = np.zeros((S, grid.N))

    def _from_load(self, fl):
        """[R] households placed on every load bus (Pd > 0, file order) in proportion to its
        load, split over the classes by their shares, at least one of each class per bus."""
        g = self.grid
        rows = [(k, v) for k, v in fl["prosumers"].items()] + [("consumers", fl["consumers"])]
        load_buses = [i for i in range(g.N) if g.pd[i] > 0]
        per_bus = apportion(int(fl["households"]), [g.pd[i] for i in load_buses], len(rows))
        C = len(rows) - 1
        self.bus_id = [g.bus_id[i] for i in load_buses]
        self.bus_name = [f"bus{i}" for i in self.bus_id]
        self.class_name = [k for k, _ in rows[:C]]
        self.class_income = np.array([float(v["income"]) for _, v in rows[:C]])
        cons, gb, gc, pros, stor = [], [], [], [], []
        for b, n in enumerate(per_bus):
            split = apportion(n, [float(v["share"]) for _, v in rows], 1)
            cons.append(split[C])
            for c in range(C):
                gb.append(b)
                gc.append(c)
                pros.append(split[c])
                stor.append(float(rows[c][1]["storage_kwh"]))
        self.consumers = np.array(cons)
        self.consumer_income = np.full(len(cons), float(rows[C][1]["income"]))
        self.group_bus, self.group_class = np.array(gb), np.array(gc)
        self.prosumers, self.storage_kwh = np.array(pros), np.array(stor)

    def mwh(self, units):
        """Grid units to MWh per step."""
        return units if self.per_step else units * self.mwh_per_unit

    def units(self, mwh):
        return mwh / self.mwh_per_unit

    def noise_mean(self):
        return sum(self.noise) / 3.0

    def total_households(self):
        return int(self.prosumers.sum() + self.consumers.sum())


# ---- reading records and comparing with them ----

def read_csv(path):
    """Columns of a CSV as lists of strings (the header names them)."""
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise GridError(f"{path}: empty")
    head = rows[0]
    for k, r in enumerate(rows[1:], 2):
        if len(r) != len(head):
            raise GridError(f"{path}:{k}: {len(r)} fields, the header has {len(head)}")
    return {h: [r[i] for r in rows[1:]] for i, h in enumerate(head)}


def floats(strings):
    """A column's numbers. The records print 17 significant digits, so each reads back as the
    very double the program held (Python's float() rounds correctly, as strtod does)."""
    return np.array([float(x) for x in strings]) if len(strings) else np.zeros(0)


def unit17(x):
    """One unit of the 17th significant digit of each x (the last digit %.17g prints); nan at 0."""
    x = np.abs(np.asarray(x, dtype=float))
    with np.errstate(divide="ignore"):
        return np.where(x > 0, 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 16), np.nan)


class Report:
    """The largest difference per quantity between the records and their recomputation.

    Three kinds of comparison, named in the report's `kind` column:
      exact   the record must be the recomputed double itself (or a structural fact must hold);
      bound   |record - recomputed| <= an allowance for rounding that the caller derives (a
              bound on how far two evaluations of the same formula can differ);
      solver  |record - recomputed| <= a tolerance of another solver's (the DC-OPF).
    `allow/unit` is the largest allowance divided by one unit of the record's 17th significant
    digit: 0 for exact rows (an edit of the last digit that changes the double is caught), and
    above about 1 where a one-unit edit of the last digit hides inside the allowance."""

    def __init__(self):
        self.rows = {}      # quantity -> [kind, count, max |diff|, max rel, max diff/allowed, where, max allow/unit]
        self.notes = []

    def _row(self, name, kind):
        return self.rows.setdefault(name, [kind, 0, 0.0, 0.0, 0.0, "", 0.0])

    def close(self, name, rec, ref, allow, where=None, kind="bound"):
        """Elementwise |rec - ref| <= allow."""
        rec, ref, allow = (np.ravel(x) for x in np.broadcast_arrays(
            *(np.asarray(x, dtype=float) for x in (rec, ref, allow))))
        row = self._row(name, kind)
        row[1] += rec.size
        if not rec.size:
            return
        diff = np.abs(rec - ref)
        diff = np.where(np.isnan(diff), np.where(np.isnan(rec) & np.isnan(ref), 0.0, np.inf), diff)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(diff > 0, diff / np.abs(ref), 0.0)
            ratio = np.where(diff == 0, 0.0, diff / allow)
            per_unit = allow / unit17(rec)
        row[2] = max(row[2], float(diff.max()))
        row[3] = max(row[3], float(np.nanmax(np.where(np.isfinite(rel), rel, np.inf))))
        if np.any(np.isfinite(per_unit)):
            row[6] = max(row[6], float(np.nanmax(per_unit)))
        k = int(np.argmax(ratio))
        if ratio[k] > row[4] or (row[4] == 0 and not row[5]):
            row[4] = float(ratio[k])
            w = where(k) if callable(where) else (where or "")
            row[5] = f"{w}: record {rec[k]!r}, recomputed {ref[k]!r}, allowed {allow[k]:.3g}"

    def exact(self, name, rec, ref, where=None):
        """Elementwise rec == ref, as doubles."""
        self.close(name, rec, ref, 0.0, where, kind="exact")

    def holds(self, name, ok, what):
        """A structural fact (row order, counts, names) that must hold."""
        row = self._row(name, "exact")
        row[1] += 1
        if not ok and row[4] <= 1:
            row[4] = math.inf
            row[5] = what

    def note(self, text):
        self.notes.append(text)

    def print(self, out=sys.stdout):
        w = max([len(k) for k in self.rows] + [8])
        print(f"{'quantity':{w}s} {'kind':6s} {'n':>6s} {'max |diff|':>10s} {'max rel':>8s} {'diff/allowed':>12s} "
              f"{'allow/unit':>10s}", file=out)
        bad = []
        for k, (kind, n, d, r, q, where, pu) in self.rows.items():
            flag = "" if q <= 1 else "  FAIL"
            print(f"{k:{w}s} {kind:6s} {n:6d} {d:10.3g} {r:8.2g} {q:12.3g} {pu:10.3g}{flag}", file=out)
            if q > 1:
                bad.append(f"{k}: {where}")
        for t in self.notes:
            print(f"note: {t}", file=out)
        for b in bad:
            print(f"FAIL {b}", file=out)
        return not bad


# ---- self-test against MATPOWER's published DC-OPF results ----

# rundcopf objectives ($/h) of the MATPOWER cases, and case5's LMPs ($/MWh).
MATPOWER_DCOPF = {"case5.m": 17479.90, "case9.m": 5216.03, "case14.m": 7642.59, "case30.m": 565.21,
                  "case57.m": 41006.74, "case118.m": 125947.88}
CASE5_LMP = [16.98, 26.38, 30.00, 39.94, 10.00]


def selftest(data_dir):
    ok = True
    for case, want in MATPOWER_DCOPF.items():
        g = read_matpower(f"{data_dir}/{case}")
        opf = DcOpf(g, voll=0)
        d = opf.solve(g.pd.copy(), g.pmin.copy(), g.pmax.copy())
        good = abs(d.cost - want) <= 0.006
        if case == "case5.m":
            good &= bool(np.all(np.abs(d.lmp - CASE5_LMP) <= 0.006))
            print(f"  case5 LMPs {np.round(d.lmp, 2).tolist()} (MATPOWER {CASE5_LMP})")
        print(f"  {case:10s} cost {d.cost:12.2f} (MATPOWER {want:.2f}) {'ok' if good else 'WRONG'}")
        ok &= good
    return ok


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--selftest":
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        sys.exit(0 if selftest(sys.argv[2] if len(sys.argv) > 2 else f"{here}/../data/matpower") else 1)
    print("usage: sb_grid.py --selftest [MATPOWER_DIR]   (a module of tools/check_run.py and check_grid.py)")
    print(__doc__)
    sys.exit(0 if sys.argv[1:2] in (["--help"], ["-h"]) else 2)
