/* dispatch.h: DC optimal power flow with LMPs, by our own QP solver (OSQP-shaped API).
 *
 *   minimise   sum_g c2_g p_g^2 + c1_g p_g + c0_g  +  voll * (unserved + spilled)
 *   subject to sum_g p_g + unserved - spilled = total load            (price lambda)
 *              -rate_l <= flow_l = sum_n PTDF_ln (inj_n) + shift_l <= rate_l  (mu-_l, mu+_l)
 *              pmin_g <= p_g <= pmax_g
 * with unserved/spilled per bus (slack variables) when settings.voll > 0. Results per bus:
 *   LMP_n = lambda - sum_l PTDF_ln (mu+_l - mu-_l)    ($/MWh: d optimal cost / d load_n)
 *
 * Lifecycle: dispatch_setup is the only function that allocates. dispatch_update_* and
 * dispatch_solve reuse the workspace and warm-start from the previous active set.
 * "Infeasible" (slack off and not enough capacity, or line limits that cannot hold) is a
 * status in DispatchInfo, never a crash. dispatch_cleanup is safe on a half-built solver.
 *
 * The solver (dispatch.c) is a primal active-set method on the reduced (PTDF) problem:
 * exact for quadratic and linear costs alike (a zero-curvature step goes to the next
 * blocking constraint, like a simplex pivot), warm-started so that a market step usually
 * costs one small dense solve plus one pass over the flows. Only rated in-service branches
 * (rate > 0) are constraints; unrated ones only get their flows computed. Without slack
 * (voll <= 0) the bus slacks stay in the model at a prohibitive internal price, and using
 * them at the optimum is reported as DISPATCH_INFEASIBLE (the result arrays then hold that
 * elastic solution, not a dispatch). Under infeasibility, objective and LMPs are meaningless. */
#ifndef SB_DISPATCH_H
#define SB_DISPATCH_H

#include <stddef.h>

#include "grid/network.h"

typedef enum {
    DISPATCH_UNSOLVED = 0,
    DISPATCH_OPTIMAL = 1,
    DISPATCH_INFEASIBLE = 2,
    DISPATCH_MAX_ITER = 3,
    DISPATCH_NUMERICAL = 4, /* singular working set or too many binding lines (max_binding) */
} DispatchStatus;

typedef struct {
    double voll;       /* $/MWh price of unserved and spilled energy; <= 0 turns slack off */
    int slack_bus;     /* internal index of the PTDF slack bus; -1: the (first) reference bus.
                        * LMPs do not depend on it; lambda does (it is the slack bus' LMP). */
    int max_iter;      /* active-set iterations */
    double tol;        /* feasibility / optimality tolerance (scaled) */
    int warm_start;    /* reuse the last active set */
    int max_binding;   /* capacity of the working set of binding lines (workspace ~ (2k)^2) */
} DispatchSettings;

/* voll 5000, slack: the reference bus, max_iter 100000, tol 1e-9, warm start on, max_binding 256 */
void dispatch_settings_default(DispatchSettings *s);
/* 0, or -1 with "field: what is wrong" in err. */
int dispatch_settings_validate(const DispatchSettings *s, char *err, size_t n);

typedef struct {
    DispatchStatus status;
    int iterations;
    double objective;      /* $/h (or $ per step), including c0 of in-service units and slack cost */
    double prim_res;       /* KKT residuals of the returned point: primal in MW / max(1, load) */
    double dual_res;       /* stationarity and signs in $/MWh / max(1, largest marginal cost) */
    double compl_res;      /* complementarity in $/h / (both scales) */
    double solve_time_s;
} DispatchInfo;

typedef struct {
    double *pg;            /* (G) MW, 0 for out-of-service units */
    double *flow;          /* (M) MW from -> to, 0 for out-of-service branches */
    double *lmp;           /* (N) $/MWh */
    double *unserved;      /* (N) MW of load shed (slack) */
    double *spilled;       /* (N) MW of excess spilled (slack) */
    unsigned char *binding;/* (M) 1 at +rating, 2 at -rating, 0 otherwise */
    double lambda;         /* energy-balance multiplier */
    double *mu_upper;      /* (M) multiplier of flow <= rate */
    double *mu_lower;      /* (M) multiplier of flow >= -rate */
} DispatchResult;

typedef struct DispatchSolver DispatchSolver;

/* Copy what is needed from g (g may be freed afterwards). 0, or -1 with err (bad settings,
 * singular network). On failure *out is NULL. */
int dispatch_setup(DispatchSolver **out, const GridNetwork *g, const DispatchSettings *s, char *err,
                   size_t n);
/* New bus loads pd (N) in MW (shunts are added internally as in the network). */
void dispatch_update_load(DispatchSolver *s, const double *pd);
/* New generator bounds (G); e.g. solar availability each step. Entries of out-of-service
 * units are ignored; pmin > pmax is clamped to pmin = pmax. */
void dispatch_update_gen_bounds(DispatchSolver *s, const double *pmin, const double *pmax);
/* New polynomial costs (G) c2 (>= 0, clamped), c1, c0. The active set is kept as a warm start. */
void dispatch_update_costs(DispatchSolver *s, const double *c2, const double *c1, const double *c0);
/* Drop the warm start: the next solve starts cold (for benchmarks and tests). */
void dispatch_reset(DispatchSolver *s);
/* Number of buses/generators/branches the solver was set up with (file order). */
int dispatch_n_bus(const DispatchSolver *s);
int dispatch_n_gen(const DispatchSolver *s);
int dispatch_n_branch(const DispatchSolver *s);
/* Solve; allocates nothing. Returns the status (also in info). */
DispatchStatus dispatch_solve(DispatchSolver *s);
const DispatchResult *dispatch_result(const DispatchSolver *s);
const DispatchInfo *dispatch_info(const DispatchSolver *s);
const char *dispatch_status_str(DispatchStatus st);
void dispatch_cleanup(DispatchSolver *s);

#endif
