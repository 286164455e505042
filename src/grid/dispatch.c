/* dispatch.c: DC optimal power flow by a primal active-set QP method, with LMPs.
 *
 * Legend: N buses, G generators (file order), M branches (file order), V variables of the
 * QP: the in-service generators, then one unserved (+) and one spilled (-) slack per bus.
 * W working set of general constraints: row 0 the energy balance, rows 1.. binding lines.
 * F free variables = P (positive curvature, c2 > 0) and Z (zero curvature: linear costs,
 * slacks). K = M is the PTDF width (all branches; out-of-service columns are zero).
 *
 * Formulation (reduced, MW): flow = fconst + PT' inj with inj_n = sum of s_j x_j at bus n
 * (s_j = +1 for generators and unserved energy, -1 for spilled energy) and
 * fconst = base*Pfinj - PT' (pd + gs + base*Pbusinj) as in MATPOWER's makeBdc.
 *
 * Why a primal active-set method: a market step changes the loads a little, so the active
 * set of the previous step is almost always the answer; re-solving means one small dense
 * system (size |W| + |Z|) plus a check. Linear costs make the Hessian singular; we keep the
 * invariant that A_WZ has full column rank (like a simplex basis) and, when a release or a
 * drop breaks it, step along a zero-curvature ray to the next blocking constraint.
 * Subproblem on (W, F), with H_P = diag(2 c2) (>0):
 *     x_P = H_P^-1 (A_WP' y - c_P),   A_WZ' y = c_Z,
 *     [S  A_WZ; A_WZ' 0] [y; x_Z] = [r + A_WP H_P^-1 c_P; c_Z],   S = A_WP H_P^-1 A_WP'.
 * Feasible start: every bus' slack takes the bus' mismatch (so flows are those of a known
 * feasible point) and is marked TEMP: "phase 0" moves all TEMPs to zero at once towards the
 * subproblem solution; if that is blocked the TEMPs are frozen and released one by one.
 * Rounding guards (found by the random-instance tests): direction components at rounding
 * level neither block nor cross bounds; phase 0 only adds constraints that keep the working
 * set independent over the free variables (Gram-Cholesky test); a constraint whose addition
 * makes the subproblem singular is taken back; "optimal" needs residuals <= 1e-6; a warm
 * start that exceeds its iteration budget or fails gives way to one cold start. */
#include "grid/dispatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* LAPACK (from libopenblas): LU factorisation and inverse for the PTDF at setup only. */
extern void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
extern void dgetri_(const int *n, double *a, const int *lda, const int *ipiv, double *work,
                    const int *lwork, int *info);

enum { VS_FREE = 0, VS_LOWER = 1, VS_UPPER = 2, VS_TEMP = 3 };

struct DispatchSolver {
    DispatchSettings set;
    int N, G, M, V, K; /* K: capacity of binding lines */
    int slack;         /* PTDF slack bus */
    int slack_off;     /* settings.voll <= 0: slacks priced at a big internal cost */
    double voll;       /* price used for the slack variables */
    double base;

    /* network */
    double *pd, *gs;        /* (N) MW */
    double *pbusinj;        /* (N) MW, base*Pbusinj (phase shifters) */
    double *fshift;         /* (M) MW, base*Pfinj */
    double *rate;           /* (M) MW, 0 unlimited or out of service */
    unsigned char *br_on;   /* (M) */
    double *pt;             /* (N, M) PTDF transposed: pt[n*M + l] */
    double *fconst;         /* (M) flow at zero injection; stale after a load update */
    double dtot;            /* total load incl. shunts */
    int dirty_load;         /* dtot and fconst are stale */
    int fconst_stale;
    int since_refresh;      /* warm solves since the flows were last recomputed from scratch */

    /* variables */
    int *vbus;              /* (V) */
    signed char *vsgn;      /* (V) +1 / -1 */
    double *vlo, *vhi;      /* (V) */
    double *vq, *vc, *vc0;  /* (V) 2*c2, c1, c0 */
    int *gen_var;           /* (G) variable index or -1 */
    double *x;              /* (V) */
    unsigned char *vst;     /* (V) VS_* */

    /* working set of binding lines */
    int nw;
    int *wl;                /* (K) line index */
    unsigned char *inw;     /* (M) line is in the working set */
    signed char *wside;     /* (K) +1 at +rate, -1 at -rate */
    double *y;              /* (K+1) multipliers of the last optimal subproblem */

    /* scratch, all sized at setup */
    double *flow;           /* (M) current flows; inside a solve only rated entries move */
    double *flow0, *inj0;   /* (M), (N) flows and injections at the start point */
    int kr;                 /* KR rated in-service branches: the only flow constraints */
    int *rated;             /* (KR) branch index */
    double *ptr;            /* (N, KR) PTDF of the rated branches (aliases pt when KR = M) */
    double *dflow;          /* (KR) flow change along d */
    double *d;              /* (V) direction */
    double *inj, *dinj;     /* (N) */
    double *price;          /* (N) */
    int *fidx, *pidx, *zidx;/* (V) */
    double *kkt, *rhs;      /* (C, C), (C) with C = 2K + 3 */
    double *az;             /* (K+1, K+2) A_WZ for the rank test */
    double *nullv;          /* (K+2) */
    int *pivc;              /* (K+2) */
    double *acol;           /* (K+1) a column */

    /* warm start */
    int have_prev;
    double *prev_inj, *prev_load; /* (N) */

    /* last action, for the sign of a zero-cost ray */
    int last_var, last_dir, last_line, last_side;

    DispatchResult res;
    DispatchInfo info;
};

void dispatch_settings_default(DispatchSettings *s) {
    s->voll = 5000.0;
    s->slack_bus = -1;
    s->max_iter = 100000;
    s->tol = 1e-9;
    s->warm_start = 1;
    s->max_binding = 256;
}

int dispatch_settings_validate(const DispatchSettings *s, char *err, size_t n) {
    if (!isfinite(s->voll)) return sb_err(err, n, "voll: must be finite");
    if (s->max_iter < 1) return sb_err(err, n, "max_iter: must be >= 1, got %d", s->max_iter);
    if (!(s->tol > 0 && s->tol < 1e-3)) return sb_err(err, n, "tol: must be in (0, 1e-3), got %g", s->tol);
    if (s->max_binding < 1 || s->max_binding > 4096)
        return sb_err(err, n, "max_binding: must be in [1, 4096], got %d", s->max_binding);
    if (s->slack_bus < -1) return sb_err(err, n, "slack_bus: must be -1 or a bus index");
    return 0;
}

const char *dispatch_status_str(DispatchStatus st) {
    switch (st) {
    case DISPATCH_UNSOLVED: return "unsolved";
    case DISPATCH_OPTIMAL: return "optimal";
    case DISPATCH_INFEASIBLE: return "infeasible";
    case DISPATCH_MAX_ITER: return "max_iter";
    case DISPATCH_NUMERICAL: return "numerical";
    }
    return "unknown";
}

int dispatch_n_bus(const DispatchSolver *s) { return s->N; }
int dispatch_n_gen(const DispatchSolver *s) { return s->G; }
int dispatch_n_branch(const DispatchSolver *s) { return s->M; }
const DispatchResult *dispatch_result(const DispatchSolver *s) { return &s->res; }
const DispatchInfo *dispatch_info(const DispatchSolver *s) { return &s->info; }
void dispatch_reset(DispatchSolver *s) { s->have_prev = 0; }

void dispatch_cleanup(DispatchSolver *s) {
    if (!s) return;
    void *bufs[] = {s->pd, s->gs, s->pbusinj, s->fshift, s->rate, s->br_on, s->pt, s->fconst,
                    s->vbus, s->vsgn, s->vlo, s->vhi, s->vq, s->vc, s->vc0, s->gen_var, s->x,
                    s->vst, s->wl, s->inw, s->wside, s->y, s->flow, s->flow0, s->inj0, s->rated, s->dflow, s->d, s->inj, s->dinj,
                    s->price, s->fidx, s->pidx, s->zidx, s->kkt, s->rhs, s->az, s->nullv, s->pivc,
                    s->acol, s->prev_inj, s->prev_load, s->res.pg, s->res.flow, s->res.lmp,
                    s->res.unserved, s->res.spilled, s->res.binding, s->res.mu_upper,
                    s->res.mu_lower};
    for (size_t i = 0; i < SB_ARRAY_LEN(bufs); i++) free(bufs[i]);
    if (s->ptr != s->pt) free(s->ptr);
    free(s);
}

/* PTDF with the slack bus column zero: pt[n*M + l] = b_l (X[f,n] - X[t,n]), X = Bred^-1. */
static int build_ptdf(DispatchSolver *s, const GridNetwork *g, const double *bl, char *err, size_t n) {
    int N = s->N, M = s->M, n1 = N - 1;
    if (n1 == 0) return 0;
    int *map = sb_malloc((size_t)N * sizeof *map); /* bus -> reduced index or -1 */
    for (int i = 0, k = 0; i < N; i++) map[i] = i == s->slack ? -1 : k++;
    double *b = sb_calloc((size_t)n1 * (size_t)n1, sizeof *b); /* (n1, n1) column-major */
    for (int l = 0; l < M; l++) {
        if (!s->br_on[l]) continue;
        int f = map[g->f[l]], t = map[g->t[l]];
        if (f >= 0) b[(size_t)f * n1 + f] += bl[l];
        if (t >= 0) b[(size_t)t * n1 + t] += bl[l];
        if (f >= 0 && t >= 0) {
            b[(size_t)t * n1 + f] -= bl[l];
            b[(size_t)f * n1 + t] -= bl[l];
        }
    }
    int *ipiv = sb_malloc((size_t)n1 * sizeof *ipiv);
    int info = 0;
    dgetrf_(&n1, &n1, b, &n1, ipiv, &info);
    if (info == 0) {
        int lwork = -1;
        double wq = 0;
        dgetri_(&n1, b, &n1, ipiv, &wq, &lwork, &info);
        lwork = (int)wq > n1 ? (int)wq : n1;
        double *work = sb_malloc((size_t)lwork * sizeof *work);
        dgetri_(&n1, b, &n1, ipiv, work, &lwork, &info);
        free(work);
    }
    free(ipiv);
    if (info != 0) {
        free(map);
        free(b);
        return sb_err(err, n, "singular B matrix (disconnected network?)");
    }
    for (int l = 0; l < M; l++) {
        if (!s->br_on[l]) continue;
        int f = map[g->f[l]], t = map[g->t[l]];
        for (int i = 0; i < N; i++) {
            int c = map[i];
            if (c < 0) continue;
            double xf = f >= 0 ? b[(size_t)c * n1 + f] : 0.0;
            double xt = t >= 0 ? b[(size_t)c * n1 + t] : 0.0;
            s->pt[(size_t)i * M + l] = bl[l] * (xf - xt);
        }
    }
    free(map);
    free(b);
    return 0;
}

int dispatch_setup(DispatchSolver **out, const GridNetwork *g, const DispatchSettings *set, char *err,
                   size_t n) {
    *out = NULL;
    if (dispatch_settings_validate(set, err, n)) return -1;
    if (grid_network_validate(g, err, n)) return -1;
    DispatchSolver *s = sb_calloc(1, sizeof *s);
    s->set = *set;
    s->N = g->n_bus;
    s->G = g->n_gen;
    s->M = g->n_branch;
    s->base = g->base_mva;
    int N = s->N, G = s->G, M = s->M;
    s->slack = set->slack_bus;
    if (s->slack < 0)
        for (int i = 0; i < N; i++)
            if (g->bus_type[i] == BUS_REF) {
                s->slack = i;
                break;
            }
    if (s->slack >= N) {
        free(s);
        return sb_err(err, n, "slack_bus: %d is not a bus index (N = %d)", set->slack_bus, N);
    }
    int ng = 0;
    for (int k = 0; k < G; k++) ng += g->gen_on[k] > 0;
    s->V = ng + 2 * N;
    s->K = set->max_binding < M ? set->max_binding : M;
    if (s->K < 1) s->K = 1;
    int V = s->V, K = s->K, C = 2 * K + 3;

    s->pd = sb_calloc((size_t)N, sizeof(double));
    s->gs = sb_calloc((size_t)N, sizeof(double));
    s->pbusinj = sb_calloc((size_t)N, sizeof(double));
    s->fshift = sb_calloc((size_t)M + 1, sizeof(double));
    s->rate = sb_calloc((size_t)M + 1, sizeof(double));
    s->br_on = sb_calloc((size_t)M + 1, 1);
    s->pt = sb_calloc((size_t)N * (size_t)M + 1, sizeof(double));
    s->fconst = sb_calloc((size_t)M + 1, sizeof(double));
    s->vbus = sb_calloc((size_t)V, sizeof(int));
    s->vsgn = sb_calloc((size_t)V, 1);
    s->vlo = sb_calloc((size_t)V, sizeof(double));
    s->vhi = sb_calloc((size_t)V, sizeof(double));
    s->vq = sb_calloc((size_t)V, sizeof(double));
    s->vc = sb_calloc((size_t)V, sizeof(double));
    s->vc0 = sb_calloc((size_t)V, sizeof(double));
    s->gen_var = sb_calloc((size_t)G + 1, sizeof(int));
    s->x = sb_calloc((size_t)V, sizeof(double));
    s->vst = sb_calloc((size_t)V, 1);
    s->wl = sb_calloc((size_t)K, sizeof(int));
    s->wside = sb_calloc((size_t)K, 1);
    s->inw = sb_calloc((size_t)M + 1, 1);
    s->y = sb_calloc((size_t)K + 1, sizeof(double));
    s->flow = sb_calloc((size_t)M + 1, sizeof(double));
    s->flow0 = sb_calloc((size_t)M + 1, sizeof(double));
    s->inj0 = sb_calloc((size_t)N, sizeof(double));
    s->rated = sb_calloc((size_t)M + 1, sizeof(int));
    s->dflow = sb_calloc((size_t)M + 1, sizeof(double));
    s->d = sb_calloc((size_t)V, sizeof(double));
    s->inj = sb_calloc((size_t)N, sizeof(double));
    s->dinj = sb_calloc((size_t)N, sizeof(double));
    s->price = sb_calloc((size_t)N, sizeof(double));
    s->fidx = sb_calloc((size_t)V, sizeof(int));
    s->pidx = sb_calloc((size_t)V, sizeof(int));
    s->zidx = sb_calloc((size_t)V, sizeof(int));
    s->kkt = sb_calloc((size_t)C * (size_t)C, sizeof(double));
    s->rhs = sb_calloc((size_t)C, sizeof(double));
    s->az = sb_calloc((size_t)(K + 1) * (size_t)(K + 2), sizeof(double));
    s->nullv = sb_calloc((size_t)K + 2, sizeof(double));
    s->pivc = sb_calloc((size_t)K + 2, sizeof(int));
    s->acol = sb_calloc((size_t)K + 1, sizeof(double));
    s->prev_inj = sb_calloc((size_t)N, sizeof(double));
    s->prev_load = sb_calloc((size_t)N, sizeof(double));
    s->res.pg = sb_calloc((size_t)G + 1, sizeof(double));
    s->res.flow = sb_calloc((size_t)M + 1, sizeof(double));
    s->res.lmp = sb_calloc((size_t)N, sizeof(double));
    s->res.unserved = sb_calloc((size_t)N, sizeof(double));
    s->res.spilled = sb_calloc((size_t)N, sizeof(double));
    s->res.binding = sb_calloc((size_t)M + 1, 1);
    s->res.mu_upper = sb_calloc((size_t)M + 1, sizeof(double));
    s->res.mu_lower = sb_calloc((size_t)M + 1, sizeof(double));

    /* makeBdc: b = 1/(x tap), Pfinj = b (-shift in radians), Pbusinj = Cf' Pfinj - Ct' Pfinj. */
    double *bl = sb_calloc((size_t)M + 1, sizeof(double));
    for (int l = 0; l < M; l++) {
        s->br_on[l] = g->br_on[l] > 0;
        if (!s->br_on[l]) continue;
        double tap = g->tap[l] == 0.0 ? 1.0 : g->tap[l];
        bl[l] = 1.0 / (g->x[l] * tap);
        double pfinj = bl[l] * (-g->shift[l] * 3.14159265358979323846 / 180.0);
        s->fshift[l] = s->base * pfinj;
        s->pbusinj[g->f[l]] += s->base * pfinj;
        s->pbusinj[g->t[l]] -= s->base * pfinj;
        s->rate[l] = g->rate[l];
    }
    if (build_ptdf(s, g, bl, err, n)) {
        free(bl);
        dispatch_cleanup(s);
        return -1;
    }
    free(bl);
    for (int l = 0; l < M; l++)
        if (s->rate[l] > 0) s->rated[s->kr++] = l;
    if (s->kr == M) s->ptr = s->pt;
    else {
        s->ptr = sb_calloc((size_t)N * (size_t)s->kr + 1, sizeof(double));
        for (int i = 0; i < N; i++)
            for (int k = 0; k < s->kr; k++) s->ptr[(size_t)i * s->kr + k] = s->pt[(size_t)i * M + s->rated[k]];
    }

    s->slack_off = set->voll <= 0;
    double big = 0, mcmax = 1;
    for (int i = 0; i < N; i++) {
        s->pd[i] = g->pd[i];
        s->gs[i] = g->gs[i];
        big += fabs(g->pd[i]) + fabs(g->gs[i]);
    }
    int v = 0;
    for (int k = 0; k < G; k++) {
        s->gen_var[k] = -1;
        if (g->gen_on[k] <= 0) continue;
        s->gen_var[k] = v;
        s->vbus[v] = g->gen_bus[k];
        s->vsgn[v] = 1;
        s->vlo[v] = g->pmin[k];
        s->vhi[v] = g->pmax[k];
        s->vq[v] = 2.0 * g->c2[k];
        s->vc[v] = g->c1[k];
        s->vc0[v] = g->c0[k];
        big += fabs(g->pmin[k]) + fabs(g->pmax[k]);
        double mc = fabs(g->c1[k]) + 2.0 * g->c2[k] * fmax(fabs(g->pmin[k]), fabs(g->pmax[k]));
        if (mc > mcmax) mcmax = mc;
        v++;
    }
    /* Without slack the slacks stay as an elastic phase 1 at a cost no optimum can reach. */
    s->voll = s->slack_off ? 1e4 * mcmax + 1e6 : set->voll;
    big = 10.0 * big + 1e4; /* slack bounds that never bind */
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 2; k++, v++) {
            s->vbus[v] = i;
            s->vsgn[v] = k == 0 ? 1 : -1;
            s->vlo[v] = 0;
            s->vhi[v] = big;
            s->vc[v] = s->voll;
        }
    }
    s->dirty_load = 1;
    *out = s;
    return 0;
}

void dispatch_update_load(DispatchSolver *s, const double *pd) {
    memcpy(s->pd, pd, (size_t)s->N * sizeof *pd);
    s->dirty_load = 1;
}

void dispatch_update_gen_bounds(DispatchSolver *s, const double *pmin, const double *pmax) {
    for (int k = 0; k < s->G; k++) {
        int v = s->gen_var[k];
        if (v < 0) continue;
        s->vlo[v] = pmin[k];
        s->vhi[v] = pmax[k] < pmin[k] ? pmin[k] : pmax[k];
    }
}

void dispatch_update_costs(DispatchSolver *s, const double *c2, const double *c1, const double *c0) {
    for (int k = 0; k < s->G; k++) {
        int v = s->gen_var[k];
        if (v < 0) continue;
        s->vq[v] = c2[k] > 0 ? 2.0 * c2[k] : 0.0;
        s->vc[v] = c1[k];
        s->vc0[v] = c0[k];
    }
}

/* y += a x over n entries; restrict lets the compiler vectorise without alias checks, and
 * these loops are where a large case spends its time. */
static void axpy(int n, double a, const double *restrict x, double *restrict y) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* fconst = base*Pfinj - PT' (pd + gs + base*Pbusinj), O(N M): only for cold starts and the
 * periodic re-computation of the flows. A warm solve needs fconst only on binding lines
 * (fconst_line) because its flows are carried over from the previous step. */
static void refresh_fconst(DispatchSolver *s) {
    int N = s->N, M = s->M;
    memcpy(s->fconst, s->fshift, (size_t)M * sizeof(double));
    for (int i = 0; i < N; i++) {
        double w = s->pd[i] + s->gs[i] + s->pbusinj[i];
        if (w == 0.0) continue;
        const double *row = s->pt + (size_t)i * M;
        axpy(M, -w, row, s->fconst);
    }
    s->fconst_stale = 0;
}

static double fconst_line(const DispatchSolver *s, int l) {
    if (!s->fconst_stale) return s->fconst[l];
    double v = s->fshift[l];
    for (int i = 0; i < s->N; i++) v -= s->pt[(size_t)i * s->M + l] * (s->pd[i] + s->gs[i] + s->pbusinj[i]);
    return v;
}

static void refresh_load_terms(DispatchSolver *s) {
    s->dtot = 0;
    for (int i = 0; i < s->N; i++) s->dtot += s->pd[i] + s->gs[i];
    s->fconst_stale = 1;
    s->dirty_load = 0;
}

/* Coefficient of variable j in working row r (0: balance, r >= 1: line wl[r-1]). */
static inline double coef(const DispatchSolver *s, int j, int r) {
    if (r == 0) return s->vsgn[j];
    return s->vsgn[j] * s->pt[(size_t)s->vbus[j] * s->M + s->wl[r - 1]];
}

/* A null vector of the (m, z) matrix az (row-major) into nullv, preferring the column
 * `prefer` as the free one; 1 if the columns are dependent, 0 if full column rank. */
static int null_vector(DispatchSolver *s, int m, int z, int prefer) {
    double *a = s->az;
    int r = 0, free_col = -1;
    for (int c = 0; c < z; c++) {
        int p = -1;
        double best = 0, cn = 0;
        for (int i = 0; i < m; i++) cn = fmax(cn, fabs(a[(size_t)i * z + c]));
        for (int i = r; i < m; i++)
            if (fabs(a[(size_t)i * z + c]) > best) best = fabs(a[(size_t)i * z + c]), p = i;
        if (p < 0 || best <= 1e-10 * fmax(cn, 1e-300) || best < 1e-13) {
            if (free_col < 0 || c == prefer) free_col = c;
            continue;
        }
        if (p != r)
            for (int c2 = 0; c2 < z; c2++) {
                double t = a[(size_t)p * z + c2];
                a[(size_t)p * z + c2] = a[(size_t)r * z + c2];
                a[(size_t)r * z + c2] = t;
            }
        for (int i = r + 1; i < m; i++) {
            double f = a[(size_t)i * z + c] / a[(size_t)r * z + c];
            if (f == 0.0) continue;
            for (int c2 = c; c2 < z; c2++) a[(size_t)i * z + c2] -= f * a[(size_t)r * z + c2];
        }
        s->pivc[r++] = c;
        if (r == m) {
            /* every remaining column is free */
            for (int c2 = c + 1; c2 < z; c2++)
                if (free_col < 0 || c2 == prefer) free_col = c2;
            break;
        }
    }
    if (free_col < 0) return 0;
    double *dz = s->nullv;
    for (int c = 0; c < z; c++) dz[c] = 0;
    dz[free_col] = 1.0;
    for (int i = r - 1; i >= 0; i--) {
        int pc = s->pivc[i];
        double acc = 0;
        for (int c = pc + 1; c < z; c++) acc += a[(size_t)i * z + c] * dz[c];
        dz[pc] = -acc / a[(size_t)i * z + pc];
    }
    return 1;
}

/* Dense solve of the (n, n) row-major system in s->kkt with rhs in s->rhs (in place),
 * Gaussian elimination with partial pivoting; -1 if (numerically) singular. */
static int dense_solve(DispatchSolver *s, int n) {
    double *a = s->kkt, *b = s->rhs;
    double amax = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) amax = fmax(amax, fabs(a[i]));
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(a[(size_t)i * n + c]) > fabs(a[(size_t)p * n + c])) p = i;
        if (fabs(a[(size_t)p * n + c]) <= 1e-14 * amax) return -1;
        if (p != c) {
            for (int k = 0; k < n; k++) {
                double t = a[(size_t)p * n + k];
                a[(size_t)p * n + k] = a[(size_t)c * n + k];
                a[(size_t)c * n + k] = t;
            }
            double t = b[p];
            b[p] = b[c];
            b[c] = t;
        }
        double inv = 1.0 / a[(size_t)c * n + c];
        for (int i = c + 1; i < n; i++) {
            double f = a[(size_t)i * n + c] * inv;
            if (f == 0.0) continue;
            for (int k = c + 1; k < n; k++) a[(size_t)i * n + k] -= f * a[(size_t)c * n + k];
            b[i] -= f * b[c];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        double acc = b[i];
        for (int k = i + 1; k < n; k++) acc -= a[(size_t)i * n + k] * b[k];
        b[i] = acc / a[(size_t)i * n + i];
    }
    return 0;
}

/* Per-bus injection of x into s->inj and flows of every branch into s->flow. */
static void compute_flows(DispatchSolver *s) {
    int N = s->N, M = s->M;
    if (s->fconst_stale) refresh_fconst(s);
    memset(s->inj, 0, (size_t)N * sizeof(double));
    for (int j = 0; j < s->V; j++) s->inj[s->vbus[j]] += s->vsgn[j] * s->x[j];
    memcpy(s->flow, s->fconst, (size_t)M * sizeof(double));
    for (int i = 0; i < N; i++) {
        double w = s->inj[i];
        if (w == 0.0) continue;
        const double *row = s->pt + (size_t)i * M;
        axpy(M, w, row, s->flow);
    }
}

/* Prices per bus from the multipliers: price_n = y_0 + sum_w y_w PT[n, l_w]. */
static void compute_prices(DispatchSolver *s) {
    for (int i = 0; i < s->N; i++) {
        double p = s->y[0];
        const double *row = s->pt + (size_t)i * s->M;
        for (int w = 0; w < s->nw; w++) p += s->y[w + 1] * row[s->wl[w]];
        s->price[i] = p;
    }
}

/* Start point: loads on the bus slacks (TEMP), generators at bounds or at the previous
 * point, so that the flows are those of a known feasible point. Returns 1 if phase 0 runs. */
static int start_point(DispatchSolver *s) {
    int N = s->N, V = s->V, ng = V - 2 * N;
    int warm = s->set.warm_start && s->have_prev;
    if (!warm) {
        for (int w = 0; w < s->nw; w++) s->inw[s->wl[w]] = 0;
        s->nw = 0;
        for (int j = 0; j < ng; j++) {
            s->vst[j] = VS_LOWER;
            s->x[j] = s->vlo[j];
        }
        for (int i = 0; i < N; i++) {
            s->prev_inj[i] = s->pd[i] + s->gs[i];
            s->prev_load[i] = s->pd[i] + s->gs[i];
        }
    } else {
        for (int j = 0; j < ng; j++) {
            if (s->vst[j] == VS_LOWER) s->x[j] = s->vlo[j];
            else if (s->vst[j] == VS_UPPER) s->x[j] = s->vhi[j];
            else {
                s->vst[j] = VS_FREE;
                s->x[j] = fmin(fmax(s->x[j], s->vlo[j]), s->vhi[j]);
            }
        }
    }
    memset(s->inj, 0, (size_t)N * sizeof(double));
    for (int j = 0; j < ng; j++) s->inj[s->vbus[j]] += s->x[j];
    int temps = 0;
    for (int i = 0; i < N; i++) {
        /* keep inj - load of the previous (or the zero-injection) point */
        double need = s->prev_inj[i] + (s->pd[i] + s->gs[i] - s->prev_load[i]) - s->inj[i];
        int ju = ng + 2 * i, js = ju + 1;
        int cold_free = !warm && i == s->slack;
        s->x[ju] = need > 0 ? need : 0;
        s->x[js] = need < 0 ? -need : 0;
        for (int k = 0; k < 2; k++) {
            int j = ju + k;
            int was_free = warm && s->vst[j] == VS_FREE;
            if (cold_free) s->vst[j] = (k == 0) == (need >= 0) ? VS_FREE : VS_LOWER;
            else if (was_free) s->vst[j] = VS_FREE;
            else if (s->x[j] != 0.0) {
                s->vst[j] = VS_TEMP;
                temps++;
            } else s->vst[j] = VS_LOWER;
        }
    }
    return temps > 0;
}

/* Build and solve the subproblem on (W, F). TEMP variables count at 0 when phase0, else at x.
 * Writes y (m) and x* of free variables into d as x* (not yet the difference). 0, or -1
 * singular. */
static int solve_subproblem(DispatchSolver *s, int nP, int nZ, int phase0) {
    int m = 1 + s->nw, n = m + nZ, N = s->N, M = s->M;
    double *a = s->kkt, *b = s->rhs;
    memset(a, 0, (size_t)n * n * sizeof(double));
    /* fixed injections per bus */
    memset(s->dinj, 0, (size_t)N * sizeof(double));
    for (int j = 0; j < s->V; j++) {
        unsigned char st = s->vst[j];
        if (st == VS_FREE || (st == VS_TEMP && phase0)) continue;
        s->dinj[s->vbus[j]] += s->vsgn[j] * s->x[j];
    }
    b[0] = s->dtot;
    for (int w = 0; w < s->nw; w++) {
        int l = s->wl[w];
        b[w + 1] = s->wside[w] * s->rate[l] - fconst_line(s, l);
    }
    for (int i = 0; i < N; i++) {
        double v = s->dinj[i];
        if (v == 0.0) continue;
        b[0] -= v;
        const double *row = s->pt + (size_t)i * M;
        for (int w = 0; w < s->nw; w++) b[w + 1] -= row[s->wl[w]] * v;
    }
    for (int k = 0; k < nP; k++) {
        int j = s->pidx[k];
        double iq = 1.0 / s->vq[j];
        for (int r = 0; r < m; r++) s->acol[r] = coef(s, j, r);
        for (int r = 0; r < m; r++) {
            double ar = s->acol[r] * iq;
            b[r] += ar * s->vc[j];
            for (int c = 0; c < m; c++) a[(size_t)r * n + c] += ar * s->acol[c];
        }
    }
    for (int k = 0; k < nZ; k++) {
        int j = s->zidx[k];
        for (int r = 0; r < m; r++) {
            double v = coef(s, j, r);
            a[(size_t)r * n + m + k] = v;
            a[(size_t)(m + k) * n + r] = v;
        }
        b[m + k] = s->vc[j];
    }
    if (dense_solve(s, n)) return -1;
    for (int r = 0; r < m; r++) s->y[r] = b[r];
    for (int k = 0; k < nP; k++) {
        int j = s->pidx[k];
        double acc = -s->vc[j];
        for (int r = 0; r < m; r++) acc += coef(s, j, r) * b[r];
        s->d[j] = acc / s->vq[j];
    }
    for (int k = 0; k < nZ; k++) s->d[s->zidx[k]] = b[m + k];
    return 0;
}

/* Would the working set stay linearly independent over the free variables if variable
 * fix_var were fixed (-1: none) and line add_line joined it (-1: none)? Rank through the
 * Cholesky factorisation of the Gram matrix A A' of the rows restricted to the free
 * variables (m' x m', in the kkt scratch). */
static int stays_independent(DispatchSolver *s, int nF, int fix_var, int add_line) {
    int m = 1 + s->nw + (add_line >= 0);
    double *gm = s->kkt;
    memset(gm, 0, (size_t)m * m * sizeof(double));
    for (int k = 0; k < nF; k++) {
        int j = s->fidx[k];
        if (j == fix_var) continue;
        for (int r = 0; r < 1 + s->nw; r++) s->acol[r] = coef(s, j, r);
        if (add_line >= 0) s->acol[m - 1] = s->vsgn[j] * s->pt[(size_t)s->vbus[j] * s->M + add_line];
        for (int r = 0; r < m; r++)
            for (int c = 0; c <= r; c++) gm[(size_t)r * m + c] += s->acol[r] * s->acol[c];
    }
    for (int c = 0; c < m; c++) {
        double diag = gm[(size_t)c * m + c];
        double orig = diag;
        for (int k = 0; k < c; k++) diag -= gm[(size_t)c * m + k] * gm[(size_t)c * m + k];
        if (!(diag > 1e-12 * fmax(orig, 1e-300))) return 0;
        double l = sqrt(diag);
        gm[(size_t)c * m + c] = l;
        for (int r = c + 1; r < m; r++) {
            double v = gm[(size_t)r * m + c];
            for (int k = 0; k < c; k++) v -= gm[(size_t)r * m + k] * gm[(size_t)c * m + k];
            gm[(size_t)r * m + c] = v / l;
        }
    }
    return 1;
}

/* Largest step along d (nonzero on the listed variables, dflow for lines) before a bound or
 * an inactive rated line blocks; *bvar / *bline say which (-1 if none). */
static double ratio_test(DispatchSolver *s, const int *idx, int cnt, double amax, int *bvar, int *bline,
                         int *bside) {
    double alpha = amax, dn = 0;
    *bvar = -1;
    *bline = -1;
    for (int k = 0; k < cnt; k++) dn = fmax(dn, fabs(s->d[idx[k]]));
    /* components at rounding level are zeros of the exact direction: letting them block
     * would add a constraint dependent on the working set */
    double epsv = 1e-11 * dn;
    for (int k = 0; k < cnt; k++) {
        int j = idx[k];
        double dj = s->d[j];
        if (dj < -epsv) {
            double a = (s->x[j] - s->vlo[j]) / -dj;
            if (a < 0) a = 0;
            if (a < alpha) alpha = a, *bvar = j, *bline = -1;
        } else if (dj > epsv) {
            double a = (s->vhi[j] - s->x[j]) / dj;
            if (a < 0) a = 0;
            if (a < alpha) alpha = a, *bvar = j, *bline = -1;
        }
    }
    double eps = 1e-12 * fmax(dn, 1e-300);
    for (int k = 0; k < s->kr; k++) {
        int l = s->rated[k];
        double r = s->rate[l], df = s->dflow[k];
        if (fabs(df) <= eps || s->inw[l]) continue;
        double a = df > 0 ? (r - s->flow[l]) / df : (-r - s->flow[l]) / df;
        if (a < 0) a = 0;
        if (a < alpha) alpha = a, *bvar = -1, *bline = l, *bside = df > 0 ? 1 : -1;
    }
    return alpha;
}

/* dflow = PTr' dinj (rated branches only) with dinj the per-bus image of d on the listed
 * variables. */
static void direction_flows(DispatchSolver *s, const int *idx, int cnt) {
    int N = s->N, M = s->kr;
    if (M == 0) return;
    memset(s->dinj, 0, (size_t)N * sizeof(double));
    for (int k = 0; k < cnt; k++) {
        int j = idx[k];
        s->dinj[s->vbus[j]] += s->vsgn[j] * s->d[j];
    }
    memset(s->dflow, 0, (size_t)M * sizeof(double));
    for (int i = 0; i < N; i++) {
        double w = s->dinj[i];
        if (w == 0.0) continue;
        const double *row = s->ptr + (size_t)i * M;
        axpy(M, w, row, s->dflow);
    }
}

static void finish(DispatchSolver *s, double cscale, int was_warm);

/* One run of the active-set method from a warm (was_warm) or cold start, at most budget
 * iterations; *iters receives the count. */
static DispatchStatus solve_once(DispatchSolver *s, int was_warm, int budget, int *iters) {
    int V = s->V;
    /* a warm start keeps the previous flows exactly (see start_point); a cold one needs them */
    int phase0 = start_point(s);
    if (!was_warm) compute_flows(s);
    memcpy(s->flow0, s->flow, (size_t)s->M * sizeof(double));
    memset(s->inj0, 0, (size_t)s->N * sizeof(double));
    for (int j = 0; j < V; j++) s->inj0[s->vbus[j]] += s->vsgn[j] * s->x[j];
    double pscale = fmax(1.0, fabs(s->dtot));
    double cscale = 1.0;
    for (int j = 0; j < V - 2 * s->N; j++)
        cscale = fmax(cscale, fabs(s->vc[j]) + s->vq[j] * fmax(fabs(s->vlo[j]), fabs(s->vhi[j])));
    double tolp = s->set.tol * pscale, told = s->set.tol * cscale;
    s->last_var = s->last_line = -1;
    DispatchStatus st = DISPATCH_MAX_ITER;
    /* the constraint the previous iteration added, to undo if it made the working set
     * singular; snap: treat the next subproblem solution as reached */
    int it, add_var = -1, add_line = 0, add_p0 = 0, snap = 0;
    /* fidx lists the variables that move: free ones, plus TEMPs in phase 0 */
    for (it = 0; it < budget; it++) {
        int nF = 0, nP = 0, nZ = 0, m = 1 + s->nw, prefer = -1;
        for (int j = 0; j < V; j++) {
            if (s->vst[j] != VS_FREE) continue;
            s->fidx[nF++] = j;
            if (s->vq[j] > 0) s->pidx[nP++] = j;
            else {
                if (j == s->last_var) prefer = nZ;
                s->zidx[nZ++] = j;
            }
        }
        if (nZ > m + 1) {
            st = DISPATCH_NUMERICAL;
            break;
        }
        int ray = 0;
        if (nZ > 0) {
            for (int r = 0; r < m; r++)
                for (int k = 0; k < nZ; k++) s->az[(size_t)r * nZ + k] = coef(s, s->zidx[k], r);
            ray = null_vector(s, m, nZ, prefer);
        }
        int cnt = nF;
        if (ray) {
            phase0 = 0;
            for (int k = 0; k < nF; k++) s->d[s->fidx[k]] = 0;
            double gd = 0;
            for (int k = 0; k < nZ; k++) {
                s->d[s->zidx[k]] = s->nullv[k];
                gd += s->vc[s->zidx[k]] * s->nullv[k];
            }
            int flip = 0;
            if (gd > told * 1e-3) flip = 1;
            else if (gd >= -told * 1e-3) {
                if (s->last_var >= 0 && s->d[s->last_var] != 0) flip = (s->d[s->last_var] > 0) != (s->last_dir > 0);
                else if (s->last_line >= 0) {
                    double ad = 0;
                    for (int k = 0; k < nZ; k++) {
                        int j = s->zidx[k];
                        ad += s->vsgn[j] * s->pt[(size_t)s->vbus[j] * s->M + s->last_line] * s->d[j];
                    }
                    flip = s->last_side * ad > 0;
                }
            }
            if (flip)
                for (int k = 0; k < nZ; k++) s->d[s->zidx[k]] = -s->d[s->zidx[k]];
        } else {
            if (solve_subproblem(s, nP, nZ, phase0)) {
                if (add_var < 0 && !add_line) {
                    st = DISPATCH_NUMERICAL;
                    break;
                }
                /* The last constraint added depends on the working set. In phase 0 the
                 * free variables cannot carry it: take it back, freeze the TEMPs and go on
                 * one release at a time. Otherwise the step that added it was rounding
                 * noise (an exact direction would have had no component along it): take
                 * it back and accept the subproblem solution. */
                if (add_var >= 0) s->vst[add_var] = VS_FREE;
                else s->inw[s->wl[--s->nw]] = 0;
                if (add_p0) phase0 = 0;
                else snap = 1;
                add_var = -1;
                add_line = 0;
                continue;
            }
            add_var = -1;
            add_line = 0;
            double dn = 0;
            for (int k = 0; k < nF; k++) {
                int j = s->fidx[k];
                s->d[j] -= s->x[j];
                dn = fmax(dn, fabs(s->d[j]));
            }
            if (phase0)
                for (int j = 0; j < V; j++)
                    if (s->vst[j] == VS_TEMP) {
                        s->d[j] = -s->x[j];
                        s->fidx[cnt++] = j;
                        dn = fmax(dn, fabs(s->d[j]));
                    }
            if (snap && dn > 1e-7 * pscale) {
                st = DISPATCH_NUMERICAL; /* the undone constraint was not a rounding artefact */
                break;
            }
            if (dn <= tolp * 1e-3 || snap) {
                /* at the subproblem optimum: snap, then check the multipliers */
                snap = 0;
                for (int k = 0; k < cnt; k++) s->x[s->fidx[k]] += s->d[s->fidx[k]];
                if (phase0)
                    for (int j = 0; j < V; j++)
                        if (s->vst[j] == VS_TEMP) s->vst[j] = VS_LOWER, s->x[j] = 0;
                phase0 = 0;
                compute_prices(s);
                double worst = told;
                int wv = -1, ww = -1;
                for (int j = 0; j < V; j++) {
                    unsigned char vs = s->vst[j];
                    if (vs == VS_FREE || s->vlo[j] == s->vhi[j]) continue;
                    double r = s->vq[j] * s->x[j] + s->vc[j] - s->vsgn[j] * s->price[s->vbus[j]];
                    double viol = vs == VS_LOWER ? -r : vs == VS_UPPER ? r : fabs(r);
                    if (viol > worst) worst = viol, wv = j, ww = -1;
                }
                for (int w = 0; w < s->nw; w++) {
                    double viol = s->wside[w] > 0 ? s->y[w + 1] : -s->y[w + 1];
                    if (viol > worst) worst = viol, ww = w, wv = -1;
                }
                if (wv < 0 && ww < 0) {
                    st = DISPATCH_OPTIMAL;
                    break;
                }
                if (wv >= 0) {
                    double r = s->vq[wv] * s->x[wv] + s->vc[wv] - s->vsgn[wv] * s->price[s->vbus[wv]];
                    s->last_dir = s->vst[wv] == VS_LOWER ? 1 : s->vst[wv] == VS_UPPER ? -1 : (r > 0 ? -1 : 1);
                    s->last_var = wv;
                    s->last_line = -1;
                    s->vst[wv] = VS_FREE;
                } else {
                    s->last_line = s->wl[ww];
                    s->last_side = s->wside[ww];
                    s->last_var = -1;
                    s->inw[s->wl[ww]] = 0;
                    for (int w = ww; w + 1 < s->nw; w++) {
                        s->wl[w] = s->wl[w + 1];
                        s->wside[w] = s->wside[w + 1];
                    }
                    s->nw--;
                }
                continue;
            }
        }
        direction_flows(s, s->fidx, cnt);
        int bvar, bline, bside = 0;
        double alpha = ratio_test(s, s->fidx, cnt, ray ? INFINITY : 1.0, &bvar, &bline, &bside);
        if (!isfinite(alpha)) {
            st = DISPATCH_NUMERICAL;
            break;
        }
        double step = alpha >= 1.0 && !ray ? 1.0 : alpha;
        for (int k = 0; k < cnt; k++) {
            int j = s->fidx[k];
            /* a rounding-level component may not cross its bound */
            s->x[j] = fmin(fmax(s->x[j] + step * s->d[j], s->vlo[j]), s->vhi[j]);
        }
        for (int k = 0; k < s->kr; k++) s->flow[s->rated[k]] += alpha * s->dflow[k];
        int blocked = (bvar >= 0 || bline >= 0) && (alpha < 1.0 || ray);
        /* phase 0 moves fixed variables too, so a blocking constraint may be dependent on the
         * working set over the free variables; a normal step only meets independent ones */
        int indep = !(blocked && phase0) || stays_independent(s, nF, bvar, bvar >= 0 ? -1 : bline);
        if (phase0) {
            if (alpha >= 1.0) {
                for (int j = 0; j < V; j++)
                    if (s->vst[j] == VS_TEMP) s->vst[j] = VS_LOWER, s->x[j] = 0;
            }
            /* blocked: add the blocking constraint and go on, unless the free variables
             * cannot carry it; then the TEMPs freeze and are released one at a time */
            phase0 = alpha < 1.0 && indep;
        }
        if (blocked && !indep) continue;
        add_p0 = phase0;
        if (bvar >= 0 && (alpha < 1.0 || ray)) {
            add_var = bvar;
            int up = s->d[bvar] > 0;
            s->vst[bvar] = up ? VS_UPPER : VS_LOWER;
            s->x[bvar] = up ? s->vhi[bvar] : s->vlo[bvar];
        } else if (bline >= 0 && (alpha < 1.0 || ray)) {
            if (s->nw >= s->K) {
                st = DISPATCH_NUMERICAL;
                break;
            }
            add_line = 1;
            s->wl[s->nw] = bline;
            s->inw[bline] = 1;
            s->wside[s->nw] = (signed char)bside;
            s->nw++;
        }
    }
    *iters = it + (st == DISPATCH_OPTIMAL);
    s->info.status = st;
    if (st == DISPATCH_OPTIMAL) finish(s, cscale, was_warm);
    else s->have_prev = 0;
    return s->info.status;
}

DispatchStatus dispatch_solve(DispatchSolver *s) {
    double t0 = sb_now();
    if (s->dirty_load) refresh_load_terms(s);
    int warm = s->set.warm_start && s->have_prev, it = 0, it2 = 0;
    /* a warm start that wanders (a near-degenerate working set) gives way to a cold one */
    int budget = warm ? SB_MIN(s->set.max_iter, 20 * (s->V + s->K) + 100) : s->set.max_iter;
    DispatchStatus st = solve_once(s, warm, budget, &it);
    if (warm && (st == DISPATCH_MAX_ITER || st == DISPATCH_NUMERICAL)) {
        s->have_prev = 0;
        st = solve_once(s, 0, s->set.max_iter, &it2);
    }
    s->info.iterations = it + it2;
    s->info.solve_time_s = sb_now() - t0;
    return st;
}

/* Results, objective, residuals; infeasible if slack is off and used. */
static void finish(DispatchSolver *s, double cscale, int was_warm) {
    int N = s->N, M = s->M, G = s->G, V = s->V, ng = V - 2 * N;
    DispatchResult *r = &s->res;
    /* carried-over flows gather rounding: recompute them now and then */
    if (!was_warm || ++s->since_refresh >= 64) {
        compute_flows(s);
        s->since_refresh = 0;
    } else if (s->kr == M) {
        /* every branch is rated: the iterations kept all flows up to date */
        memset(s->inj, 0, (size_t)N * sizeof(double));
        for (int j = 0; j < V; j++) s->inj[s->vbus[j]] += s->vsgn[j] * s->x[j];
    } else {
        /* one pass over the buses whose injection moved: flow = flow0 + PT' (inj - inj0) */
        memset(s->inj, 0, (size_t)N * sizeof(double));
        for (int j = 0; j < V; j++) s->inj[s->vbus[j]] += s->vsgn[j] * s->x[j];
        memcpy(s->flow, s->flow0, (size_t)M * sizeof(double));
        for (int i = 0; i < N; i++) {
            double w = s->inj[i] - s->inj0[i];
            if (w == 0.0) continue;
            const double *row = s->pt + (size_t)i * M;
            axpy(M, w, row, s->flow);
        }
    }
    compute_prices(s);
    double pscale = fmax(1.0, fabs(s->dtot));
    double obj = 0, slack_used = 0;
    for (int j = 0; j < ng; j++) obj += (0.5 * s->vq[j] * s->x[j] + s->vc[j]) * s->x[j] + s->vc0[j];
    for (int i = 0; i < N; i++) {
        r->unserved[i] = s->x[ng + 2 * i];
        r->spilled[i] = s->x[ng + 2 * i + 1];
        slack_used += r->unserved[i] + r->spilled[i];
        r->lmp[i] = s->price[i];
    }
    if (!s->slack_off) obj += s->voll * slack_used;
    for (int k = 0; k < G; k++) r->pg[k] = s->gen_var[k] >= 0 ? s->x[s->gen_var[k]] : 0.0;
    memset(r->binding, 0, (size_t)M);
    memset(r->mu_upper, 0, (size_t)M * sizeof(double));
    memset(r->mu_lower, 0, (size_t)M * sizeof(double));
    for (int l = 0; l < M; l++) r->flow[l] = s->br_on[l] ? s->flow[l] + 0.0 : 0.0; /* no -0 */
    for (int w = 0; w < s->nw; w++) {
        int l = s->wl[w];
        if (s->wside[w] > 0) r->mu_upper[l] = -s->y[w + 1], r->binding[l] = 1;
        else r->mu_lower[l] = s->y[w + 1], r->binding[l] = 2;
    }
    r->lambda = s->y[0];

    /* KKT residuals: primal in MW / max(1, total load), dual in $/MWh / max(1, largest
     * marginal cost), complementarity in $/h / (both scales). */
    double pr = 0, dr = 0, cr = 0, bal = -s->dtot;
    for (int j = 0; j < V; j++) {
        bal += s->vsgn[j] * s->x[j];
        pr = fmax(pr, fmax(s->vlo[j] - s->x[j], s->x[j] - s->vhi[j]));
        double rj = s->vq[j] * s->x[j] + s->vc[j] - s->vsgn[j] * s->price[s->vbus[j]];
        double dl = s->x[j] - s->vlo[j], du = s->vhi[j] - s->x[j];
        /* strictly inside needs rj = 0; at a bound only the sign matters */
        double viol;
        if (dl <= 0 && du <= 0) viol = 0;
        else if (dl <= 0) viol = fmax(0, -rj);
        else if (du <= 0) viol = fmax(0, rj);
        else viol = fabs(rj);
        dr = fmax(dr, viol);
        cr = fmax(cr, fabs(rj) * fmax(0, fmin(dl, du)));
    }
    pr = fmax(pr, fabs(bal));
    for (int l = 0; l < M; l++) {
        if (s->rate[l] <= 0) continue;
        pr = fmax(pr, fabs(s->flow[l]) - s->rate[l]);
        double mu = r->mu_upper[l] + r->mu_lower[l];
        dr = fmax(dr, fmax(0, -r->mu_upper[l]));
        dr = fmax(dr, fmax(0, -r->mu_lower[l]));
        double slackd = r->mu_upper[l] != 0 ? s->rate[l] - s->flow[l] : s->rate[l] + s->flow[l];
        if (mu != 0) cr = fmax(cr, fabs(mu) * fabs(slackd));
    }
    double ds = fmax(cscale, 1.0);
    s->info.prim_res = fmax(pr, 0) / pscale;
    s->info.dual_res = dr / ds;
    s->info.compl_res = cr / (ds * pscale);
    s->info.objective = obj;
    s->info.status = DISPATCH_OPTIMAL;
    /* a point the method calls optimal but whose residuals say otherwise is not one */
    if (s->info.prim_res > 1e-6 || s->info.dual_res > 1e-6) s->info.status = DISPATCH_NUMERICAL;
    else if (s->slack_off && slack_used > s->set.tol * pscale) s->info.status = DISPATCH_INFEASIBLE;
    s->have_prev = s->info.status == DISPATCH_OPTIMAL;
    for (int i = 0; i < N; i++) {
        s->prev_inj[i] = s->inj[i];
        s->prev_load[i] = s->pd[i] + s->gs[i];
    }
}
