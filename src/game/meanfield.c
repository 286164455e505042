/* meanfield.c: Stackelberg mean-field games (see meanfield.h): the game, the mean-field
 * equilibrium (MFE) of a leader policy, the leader's objective J, and the model-based
 * methods mfe, exact and nested (inner: exact).
 *
 * Legend: S states, L leader actions, F follower actions (layouts in meanfield.h).
 * Index helpers: SLF(s,aL,aF) = (s*L + aL)*F + aF; the transition row of (s,aL,aF) starts at
 * SLF*S; the follower coupling of (s,aL,aF) is the (S, F) block at SLF*S*F. */
#include "game/meanfield.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* Soft value iteration stops when the sup-norm change of Q is below this, relative to the
 * scale of Q; the error is then at most gamma/(1-gamma) times that (as tabular.c). */
#define MFG_INNER_TOL 1e-13
#define MFG_INNER_MAX 10000000L
/* The damped fixed point never steps less than this. */
#define MFG_MIN_DAMPING (1.0 / 1024)

/* ---- game ---- */

void mfg_game_init(MfgGame *g, int S, int L, int F) {
    SB_ASSERT(S >= 1 && L >= 1 && F >= 1);
    memset(g, 0, sizeof *g);
    g->S = S;
    g->L = L;
    g->F = F;
    g->tau = 1;
    size_t n = (size_t)S * L * F;
    g->base_f = sb_calloc(n, sizeof(double));
    g->coup_f = sb_calloc(n * S * F, sizeof(double));
    g->base_l = sb_calloc((size_t)L, sizeof(double));
    g->coup_l = sb_calloc((size_t)L * S * F, sizeof(double));
    g->trans = sb_calloc(n * S, sizeof(double));
}

void mfg_game_free(MfgGame *g) {
    free(g->base_f);
    free(g->coup_f);
    free(g->base_l);
    free(g->coup_l);
    free(g->trans);
    memset(g, 0, sizeof *g);
}

static int all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int mfg_game_validate(const MfgGame *g, char *err, size_t errlen) {
    if (g->S < 1 || g->S > MFG_MAX_STATES) return sb_err(err, errlen, "states: must be in [1, %d]", MFG_MAX_STATES);
    if (g->L < 1 || g->L > MFG_MAX_ACTIONS || g->F < 1 || g->F > MFG_MAX_ACTIONS)
        return sb_err(err, errlen, "actions: must be in [1, %d]", MFG_MAX_ACTIONS);
    if (!(g->gamma >= 0 && g->gamma < 1)) return sb_err(err, errlen, "gamma: must be in [0, 1), got %g", g->gamma);
    if (!(g->tau > 0) || !isfinite(g->tau)) return sb_err(err, errlen, "entropy: must be > 0, got %g", g->tau);
    size_t n = (size_t)g->S * g->L * g->F;
    if (!all_finite(g->base_f, n) || !all_finite(g->coup_f, n * g->S * g->F) || !all_finite(g->base_l, (size_t)g->L) ||
        !all_finite(g->coup_l, (size_t)g->L * g->S * g->F))
        return sb_err(err, errlen, "reward: an entry is not finite");
    for (size_t i = 0; i < n; i++) {
        char msg[128];
        if (mfg_check_simplex(g->trans + i * g->S, g->S, msg, sizeof msg))
            return sb_err(err, errlen, "transition: row %zu: %s", i, msg);
    }
    return 0;
}

/* Solvers trust their game: one built in code that breaks the contract is a bug, stopped here. */
static void require_valid(const MfgGame *g) {
    char err[256];
    if (mfg_game_validate(g, err, sizeof err)) SB_PANIC("mean-field game: %s", err);
}

void mfg_game_random(MfgGame *g, int S, int L, int F, double gamma, double tau, double coupling, Rng *rng) {
    mfg_game_init(g, S, L, F);
    g->gamma = gamma;
    g->tau = tau;
    size_t n = (size_t)S * L * F;
    for (size_t i = 0; i < n; i++) {
        g->base_f[i] = rng_uniform(rng);
        for (size_t j = 0; j < (size_t)S * F; j++) g->coup_f[i * S * F + j] = rng_uniform_range(rng, -coupling, coupling);
        double *row = g->trans + i * S, sum = 0;
        for (int t = 0; t < S; t++) {
            double u = rng_uniform(rng);
            sum += row[t] = u * u * u * u + 1e-3;
        }
        for (int t = 0; t < S; t++) row[t] /= sum;
    }
    for (int a = 0; a < L; a++) g->base_l[a] = rng_uniform(rng);
    for (size_t j = 0; j < (size_t)L * S * F; j++) g->coup_l[j] = rng_uniform_range(rng, -1, 1);
}

int mfg_check_simplex(const double *p, int n, char *err, size_t errlen) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(p[i]) || p[i] < 0) return sb_err(err, errlen, "entry %d is %g, must be >= 0", i, p[i]);
        sum += p[i];
    }
    if (fabs(sum - 1) > MFG_SIMPLEX_TOL)
        return sb_err(err, errlen, "entries sum to %.12g, must sum to 1 within %g", sum, MFG_SIMPLEX_TOL);
    return 0;
}

/* ---- rewards ---- */

/* m (L, S, F): the profile m(s, aF | aL) = mu(s) pi(aF | s, aL). */
static void profile(double *m, const MfgGame *g, const double *mu, const double *pi) {
    int S = g->S, L = g->L, F = g->F;
    for (int a = 0; a < L; a++)
        for (int s = 0; s < S; s++)
            for (int b = 0; b < F; b++)
                m[((size_t)a * S + s) * F + b] = mu[s] * pi[((size_t)s * L + a) * F + b];
}

/* rF (S, L, F) from the profile m (L, S, F). */
static void follower_reward_m(double *rF, const MfgGame *g, const double *m) {
    int S = g->S, L = g->L, F = g->F;
    size_t SF = (size_t)S * F;
    for (int s = 0; s < S; s++)
        for (int a = 0; a < L; a++) {
            const double *ma = m + (size_t)a * SF;
            for (int b = 0; b < F; b++) {
                size_t i = ((size_t)s * L + a) * F + b;
                const double *c = g->coup_f + i * SF;
                double r = g->base_f[i];
                for (size_t j = 0; j < SF; j++) r += c[j] * ma[j];
                rF[i] = r;
            }
        }
}

static void leader_reward_m(double *rL, const MfgGame *g, const double *m) {
    size_t SF = (size_t)g->S * g->F;
    for (int a = 0; a < g->L; a++) {
        double r = g->base_l[a];
        const double *c = g->coup_l + (size_t)a * SF, *ma = m + (size_t)a * SF;
        for (size_t j = 0; j < SF; j++) r += c[j] * ma[j];
        rL[a] = r;
    }
}

void mfg_follower_reward(double *rF, const MfgGame *g, const double *mu, const double *pi) {
    double *m = sb_malloc((size_t)g->L * g->S * g->F * sizeof(double)); /* (L, S, F) */
    profile(m, g, mu, pi);
    follower_reward_m(rF, g, m);
    free(m);
}

void mfg_leader_reward(double *rL, const MfgGame *g, const double *mu, const double *pi) {
    double *m = sb_malloc((size_t)g->L * g->S * g->F * sizeof(double)); /* (L, S, F) */
    profile(m, g, mu, pi);
    leader_reward_m(rL, g, m);
    free(m);
}

double mfg_leader_value(const MfgGame *g, const double *phi, const double *mu, const double *pi) {
    /* r_L(aL) for one aL at a time: no allocation, this runs in every J evaluation. */
    int S = g->S, L = g->L, F = g->F;
    double J = 0;
    for (int a = 0; a < L; a++) {
        double r = g->base_l[a];
        for (int s = 0; s < S; s++)
            for (int b = 0; b < F; b++)
                r += g->coup_l[((size_t)a * S + s) * F + b] * mu[s] * pi[((size_t)s * L + a) * F + b];
        J += phi[a] * r;
    }
    return J;
}

void mfg_softmax(const double *rL, int L, double alpha, double *phi) {
    double mx = -INFINITY, z = 0;
    for (int a = 0; a < L; a++) mx = fmax(mx, rL[a]);
    for (int a = 0; a < L; a++) z += phi[a] = exp(alpha * (rL[a] - mx));
    for (int a = 0; a < L; a++) phi[a] /= z;
}

/* ---- settings ---- */

void mfg_settings_default(MfgSettings *s) {
    memset(s, 0, sizeof *s);
    s->method = MFG_MFE;
    /* [R] the leader's softmax temperature: sharp enough that nested's answer is within a few
     * percent of a best response on games with rewards of order 1, soft enough that its fixed
     * point iteration settles. */
    s->alpha = 5.0;
    s->seed = 0;
    s->history_every = 0;
    s->mfe.tol = 1e-10; /* the precision */
    s->mfe.max_iter = 10000;
    s->mfe.damping = 1.0;
    s->exact.grid_points = 5000;
    s->exact.starts = 4;
    s->exact.tol = 1e-9;
    s->nested.tol = 1e-9;
    s->nested.max_iter = 1000;
    s->nested.damping = 1.0; /* [P] Algorithm 1 takes the whole response */
    s->nested.inner = MFG_INNER_EXACT;
    s->nested.inner_steps = 20000;
    /* AC-SMFG [R], measured on random games (tests/test_meanfield.c, bench/RESULTS.md); the
     * order of the constants is the paper's (leader slowest, critics fastest). */
    s->ac.iterations = 400000;
    s->ac.power = 0.5;
    s->ac.leader_step = 0.1;
    s->ac.follower_step = 0.5;
    s->ac.critic_step = 1.0;
    s->ac.mean_field_step = 1.0;
    s->ac.leader_entropy = -1;
    s->ac.tol = 0.02;
    tab_ppo_settings_default(&s->ppo.base);
    /* [R] unnormalised advantages: each agent's ent_coef (the game's entropy for the follower,
     * 1/alpha for the leader, meanfield_ppo.c) then weighs entropy against rewards in the
     * rewards' own units, as the soft objectives do; normalised, the stateless leader's
     * advantages are of order 1 whatever its rewards and it collapsed onto one action. */
    s->ppo.base.leader.normalize_advantage = 0;
    s->ppo.base.follower.normalize_advantage = 0;
    s->ppo.mean_field_steps = 4096;
    s->ppo.damping = 0.5;
}

static int positive(double x) { return x > 0 && isfinite(x); }

int mfg_settings_validate(const MfgSettings *s, char *err, size_t errlen) {
    if (!positive(s->alpha)) return sb_err(err, errlen, "solver.alpha: must be finite and > 0, got %g", s->alpha);
    if (s->history_every < 0) return sb_err(err, errlen, "solver.history_every: must be >= 0");
    if (!(s->mfe.tol >= 0) || !isfinite(s->mfe.tol)) return sb_err(err, errlen, "solver.mfe.tol: must be >= 0");
    if (s->mfe.max_iter < 1) return sb_err(err, errlen, "solver.mfe.max_iter: must be >= 1");
    if (!(s->mfe.damping > 0 && s->mfe.damping <= 1)) return sb_err(err, errlen, "solver.mfe.damping: must be in (0, 1]");
    if (s->exact.grid_points < 1) return sb_err(err, errlen, "solver.exact.grid_points: must be >= 1");
    if (s->exact.starts < 1) return sb_err(err, errlen, "solver.exact.starts: must be >= 1");
    if (!positive(s->exact.tol)) return sb_err(err, errlen, "solver.exact.tol: must be > 0");
    if (!(s->nested.tol >= 0) || !isfinite(s->nested.tol)) return sb_err(err, errlen, "solver.nested.tol: must be >= 0");
    if (s->nested.max_iter < 1) return sb_err(err, errlen, "solver.nested.max_iter: must be >= 1");
    if (!(s->nested.damping > 0 && s->nested.damping <= 1))
        return sb_err(err, errlen, "solver.nested.damping: must be in (0, 1]");
    if (s->nested.inner_steps < 1) return sb_err(err, errlen, "solver.nested.inner_steps: must be >= 1");
    if (s->ac.iterations < 1) return sb_err(err, errlen, "solver.ac_smfg.iterations: must be >= 1");
    if (!(s->ac.power >= 0 && s->ac.power <= 1)) return sb_err(err, errlen, "solver.ac_smfg.power: must be in [0, 1]");
    if (!positive(s->ac.leader_step)) return sb_err(err, errlen, "solver.ac_smfg.leader_step: must be > 0");
    if (!positive(s->ac.follower_step)) return sb_err(err, errlen, "solver.ac_smfg.follower_step: must be > 0");
    if (!(s->ac.critic_step > 0 && s->ac.critic_step <= 1))
        return sb_err(err, errlen, "solver.ac_smfg.critic_step: must be in (0, 1]");
    if (!(s->ac.mean_field_step > 0 && s->ac.mean_field_step <= 1))
        return sb_err(err, errlen, "solver.ac_smfg.mean_field_step: must be in (0, 1]");
    if (!isfinite(s->ac.leader_entropy)) return sb_err(err, errlen, "solver.ac_smfg.leader_entropy: must be finite");
    if (!(s->ac.tol >= 0) || !isfinite(s->ac.tol)) return sb_err(err, errlen, "solver.ac_smfg.tol: must be >= 0");
    if (s->ppo.mean_field_steps < 1) return sb_err(err, errlen, "solver.ppo.mean_field_steps: must be >= 1");
    if (!(s->ppo.damping > 0 && s->ppo.damping <= 1)) return sb_err(err, errlen, "solver.ppo.damping: must be in (0, 1]");
    return tab_ppo_settings_validate(&s->ppo.base, err, errlen);
}

static const char *const METHOD_NAMES[] = {"mfe", "exact", "nested", "ac_smfg", "ppo"};

const char *mfg_method_name(MfgMethod m) {
    return (unsigned)m < SB_ARRAY_LEN(METHOD_NAMES) ? METHOD_NAMES[m] : "?";
}

int mfg_method_parse(const char *name, MfgMethod *out) {
    for (size_t i = 0; i < SB_ARRAY_LEN(METHOD_NAMES); i++)
        if (!strcmp(name, METHOD_NAMES[i])) {
            *out = (MfgMethod)i;
            return 0;
        }
    return -1;
}

/* ---- solutions and work ---- */

void mfg_solution_init(MfgSolution *sol, const MfgGame *g) {
    memset(sol, 0, sizeof *sol);
    sol->leader_policy = sb_calloc((size_t)g->L, sizeof(double));
    sol->follower_policy = sb_calloc((size_t)g->S * g->L * g->F, sizeof(double));
    sol->mean_field = sb_calloc((size_t)g->S, sizeof(double));
}

void mfg_solution_free(MfgSolution *sol) {
    free(sol->leader_policy);
    free(sol->follower_policy);
    free(sol->mean_field);
    memset(sol, 0, sizeof *sol);
}

void mfg_work_init(MfgWork *w, const MfgGame *g) {
    memset(w, 0, sizeof *w);
    w->S = g->S;
    w->L = g->L;
    w->F = g->F;
    size_t n = (size_t)g->S * g->L * g->F, S = (size_t)g->S;
    w->q = sb_calloc(n, sizeof(double));
    w->v = sb_calloc(S, sizeof(double));
    w->rf = sb_calloc(n, sizeof(double));
    w->m = sb_calloc(n, sizeof(double));
    w->pib = sb_calloc(n, sizeof(double));
    w->mub = sb_calloc(S, sizeof(double));
    w->p = sb_calloc(S * S, sizeof(double));
    w->p2 = sb_calloc(S * S, sizeof(double));
    w->dir = sb_calloc(S + n, sizeof(double));
}

void mfg_work_free(MfgWork *w) {
    free(w->q);
    free(w->v);
    free(w->rf);
    free(w->m);
    free(w->pib);
    free(w->mub);
    free(w->p);
    free(w->p2);
    free(w->dir);
    memset(w, 0, sizeof *w);
}

/* ---- the mean-field equilibrium ---- */

/* tau log sum_b exp(q_b / tau), around the maximum so exp never overflows. */
static double soft_max(const double *q, int F, double tau) {
    double mx = q[0], z = 0;
    for (int b = 1; b < F; b++) mx = fmax(mx, q[b]);
    for (int b = 0; b < F; b++) z += exp((q[b] - mx) / tau);
    return mx + tau * log(z);
}

/* Soft value iteration to a relative sup-norm change of tol. */
static void soft_best_response(MfgWork *w, const MfgGame *g, const double *phi, const double *rF, double tol,
                               double *pi) {
    int S = g->S, L = g->L, F = g->F;
    size_t n = (size_t)S * L * F;
    double *q = w->q, *v = w->v;
    /* Soft value iteration: a gamma-contraction in the sup norm, like the hard one. */
    for (long it = 0; it < MFG_INNER_MAX; it++) {
        for (int s = 0; s < S; s++) {
            double x = 0;
            for (int a = 0; a < L; a++)
                if (phi[a] != 0) x += phi[a] * soft_max(q + ((size_t)s * L + a) * F, F, g->tau);
            v[s] = x;
        }
        double diff = 0, scale = 1;
        for (size_t i = 0; i < n; i++) {
            const double *row = g->trans + i * S;
            double e = 0;
            for (int t = 0; t < S; t++) e += row[t] * v[t];
            double x = rF[i] + g->gamma * e;
            diff = fmax(diff, fabs(x - q[i]));
            scale = fmax(scale, fabs(x));
            q[i] = x;
        }
        if (diff <= tol * scale) break;
    }
    for (size_t r = 0; r < (size_t)S * L; r++) {
        const double *qr = q + r * F;
        double *p = pi + r * F, mx = qr[0], z = 0;
        for (int b = 1; b < F; b++) mx = fmax(mx, qr[b]);
        for (int b = 0; b < F; b++) z += p[b] = exp((qr[b] - mx) / g->tau);
        for (int b = 0; b < F; b++) p[b] /= z;
    }
}

void mfg_soft_best_response(MfgWork *w, const MfgGame *g, const double *phi, const double *rF, double *pi) {
    soft_best_response(w, g, phi, rF, MFG_INNER_TOL, pi);
}

void mfg_stationary(MfgWork *w, const MfgGame *g, const double *phi, const double *pi, const double *mu0,
                    double *mu) {
    int S = g->S, L = g->L, F = g->F;
    size_t n = (size_t)S;
    double *A = w->p, *B = w->p2;
    /* The lazy chain (I + P)/2 has the same stationary distributions as P and is aperiodic,
     * so its powers converge; squaring reaches power 2^k in k products. Limit rows are
     * stationary; with one recurrent class they are all the same distribution. */
    memset(A, 0, n * n * sizeof(double));
    for (size_t s = 0; s < n; s++) {
        for (int a = 0; a < L; a++) {
            if (phi[a] == 0) continue;
            for (int b = 0; b < F; b++) {
                size_t i = (s * L + a) * F + b;
                double wgt = 0.5 * phi[a] * pi[i];
                const double *row = g->trans + i * n;
                for (size_t t = 0; t < n; t++) A[s * n + t] += wgt * row[t];
            }
        }
        A[s * n + s] += 0.5;
    }
    double last = INFINITY;
    for (int k = 0; k < 64; k++) {
        double diff = 0;
        for (size_t i = 0; i < n; i++) {
            double rs = 0;
            for (size_t j = 0; j < n; j++) {
                double x = 0;
                for (size_t t = 0; t < n; t++) x += A[i * n + t] * A[t * n + j];
                B[i * n + j] = x;
                rs += x;
            }
            /* Rounding lets row sums drift from 1, and squaring raises the drift to the power
             * 2^k: each row is put back on the simplex. */
            for (size_t j = 0; j < n; j++) {
                B[i * n + j] /= rs;
                diff = fmax(diff, fabs(B[i * n + j] - A[i * n + j]));
            }
        }
        double *tmp = A;
        A = B;
        B = tmp;
        /* Converged, or at the rounding floor (the change stopped shrinking). */
        if (diff <= 1e-15 || (diff < 1e-12 && diff >= 0.5 * last)) break;
        last = diff;
    }
    double sum = 0;
    for (size_t t = 0; t < n; t++) {
        double x = 0;
        for (size_t s = 0; s < n; s++) x += mu0[s] * A[s * n + t];
        mu[t] = fmax(x, 0.0);
        sum += mu[t];
    }
    for (size_t t = 0; t < n; t++) mu[t] /= sum;
}

/* The damped fixed point. One step maps the profile (mu, pi) to (mu', pi'): pi' the soft best
 * response to the rewards of (mu, pi), mu' the stationary distribution under (phi, pi'); the
 * residual is ||mu' - mu||_1 + max_{s,aL} ||pi'(s, aL) - pi(s, aL)||_1, and the iterate moves
 * a step d towards (mu', pi'). An MFE is a fixed point. The step starts at mfe.damping (or, warm,
 * where the last solve left it); it is halved when the residual grew or when this step's
 * direction opposes the last one's (the iterate overshoots: where followers avoid crowds the
 * undamped map's Jacobian has negative eigenvalues, and a step near 1/(1 - eigenvalue) removes
 * the oscillation), else it grows by 1.25 up to mfe.damping; it never goes below 1/1024. When
 * the residual is still above mfe.tol after mfe.max_iter steps (several equilibria the iteration
 * wanders between, or a coupling too strong for the entropy), mfe returns the last iterate with
 * status max_iter and its residual: it is not an MFE, and `solve` exits 1. */
static void record(const MfgRecorder *rec, long it, long samples, const double *phi, double J) {
    if (rec && rec->fn) rec->fn(rec->user, it, samples, phi, J);
}

/* mfg_mfe, recording J of each iterate when rec is given. */
static void mfe_run(MfgWork *w, const MfgGame *g, const MfeSettings *set, const double *phi, int warm, double *mu,
                    double *pi, MfeInfo *info, const MfgRecorder *rec) {
    int S = g->S, L = g->L, F = g->F;
    size_t n = (size_t)S * L * F;
    if (!warm) {
        for (int s = 0; s < S; s++) mu[s] = 1.0 / S;
        for (size_t i = 0; i < n; i++) pi[i] = 1.0 / F;
    }
    /* A warm start also keeps the step the last solve ended with. */
    double d = warm && w->damping > 0 ? fmin(w->damping, set->damping) : set->damping, prev = INFINITY;
    info->status = MFG_MAX_ITER;
    info->iterations = 0;
    info->residual = INFINITY;
    for (long it = 1; it <= set->max_iter; it++) {
        profile(w->m, g, mu, pi);
        follower_reward_m(w->rf, g, w->m);
        /* Far from the fixed point a rough best response does as well: the inner tolerance
         * follows the outer residual down to MFG_INNER_TOL. */
        soft_best_response(w, g, phi, w->rf, fmax(MFG_INNER_TOL, 1e-3 * fmin(1.0, prev)), w->pib);
        mfg_stationary(w, g, phi, w->pib, mu, w->mub);
        double r = 0, rp = 0;
        for (int s = 0; s < S; s++) r += fabs(w->mub[s] - mu[s]);
        for (size_t row = 0; row < (size_t)S * L; row++) {
            double x = 0;
            for (int b = 0; b < F; b++) x += fabs(w->pib[row * F + b] - pi[row * F + b]);
            rp = fmax(rp, x);
        }
        r += rp;
        info->iterations = it;
        info->residual = r;
        if (r <= set->tol) {
            memcpy(mu, w->mub, (size_t)S * sizeof(double));
            memcpy(pi, w->pib, n * sizeof(double));
            info->status = MFG_CONVERGED;
            if (rec) record(rec, it, 0, phi, mfg_leader_value(g, phi, mu, pi));
            return;
        }
        /* The direction of this step against the last one's. */
        double dot = 0;
        for (int s = 0; s < S; s++) {
            double x = w->mub[s] - mu[s];
            dot += x * w->dir[s];
            w->dir[s] = x;
        }
        for (size_t i = 0; i < n; i++) {
            double x = w->pib[i] - pi[i];
            dot += x * w->dir[S + i];
            w->dir[S + i] = x;
        }
        if (r > prev || (it > 1 && dot < 0)) d = fmax(0.5 * d, MFG_MIN_DAMPING);
        else if (it > 1) d = fmin(set->damping, 1.25 * d);
        prev = r;
        w->damping = d;
        for (int s = 0; s < S; s++) mu[s] += d * (w->mub[s] - mu[s]);
        for (size_t i = 0; i < n; i++) pi[i] += d * (w->pib[i] - pi[i]);
        if (rec) record(rec, it, 0, phi, mfg_leader_value(g, phi, mu, pi));
    }
}

void mfg_mfe(MfgWork *w, const MfgGame *g, const MfeSettings *set, const double *phi, int warm, double *mu,
             double *pi, MfeInfo *info) {
    mfe_run(w, g, set, phi, warm, mu, pi, info, NULL);
}

double mfg_objective(MfgWork *w, const MfgGame *g, const MfeSettings *s, const double *phi, int warm, double *mu,
                     double *pi, MfeInfo *info) {
    mfg_mfe(w, g, s, phi, warm, mu, pi, info);
    return mfg_leader_value(g, phi, mu, pi);
}

/* ---- method mfe ---- */

void mfg_solve_mfe(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    require_valid(g);
    SB_ASSERT(set->has_leader_policy);
    MfgWork w;
    mfg_work_init(&w, g);
    memcpy(sol->leader_policy, set->leader_policy, (size_t)g->L * sizeof(double));
    MfeInfo info;
    mfe_run(&w, g, &set->mfe, sol->leader_policy, 0, sol->mean_field, sol->follower_policy, &info, rec);
    sol->status = info.status;
    sol->iterations = info.iterations;
    sol->residual = info.residual;
    sol->samples = 0;
    sol->leader_objective = mfg_leader_value(g, sol->leader_policy, sol->mean_field, sol->follower_policy);
    sol->objective_converged = info.status == MFG_CONVERGED;
    mfg_work_free(&w);
}

/* ---- method exact ---- */

/* C(n, k) as a double (grid sizes only). */
static double choose(int n, int k) {
    double c = 1;
    for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
    return c;
}

int mfg_exact_grid(int L, long budget) {
    if (L <= 1) return 1;
    int m = 1;
    while (m < 1000000 && choose(m + 1 + L - 1, L - 1) <= (double)budget) m++;
    return m;
}

/* Rank of the composition k (L parts summing to m) in the order next_composition visits. */
static long comp_rank(const int *k, int L, int m) {
    /* Visiting order: k[0] fastest-varying is awkward to rank; we use lexicographic order on
     * (k[0], k[1], ...) descending from (m, 0, ..., 0). Count the compositions that come
     * before: for position i with remaining r, those with a larger k[i]. */
    long rank = 0;
    int r = m;
    for (int i = 0; i < L - 1; i++) {
        for (int v = r; v > k[i]; v--) rank += (long)(choose(r - v + (L - i - 1) - 1, L - i - 2) + 0.5);
        r -= k[i];
    }
    return rank;
}

/* The next composition in descending lexicographic order; 0 after the last. */
static int next_composition(int *k, int L) {
    /* Find the rightmost position i < L-1 with k[i] > 0, move one unit to i+1 and gather
     * everything after i+1 into i+1. */
    int i = L - 2;
    while (i >= 0 && k[i] == 0) i--;
    if (i < 0) return 0;
    int rest = 0;
    for (int j = i + 1; j < L; j++) {
        rest += k[j];
        k[j] = 0;
    }
    k[i]--;
    k[i + 1] = rest + 1;
    return 1;
}

/* Exact's search state: one workspace, warm MFE buffers, evaluation count. */
typedef struct {
    const MfgGame *g;
    const MfgSettings *set;
    MfgWork w;
    double *mu, *pi; /* (S), (S, L, F) last MFE, the next warm start */
    int warm;
    long evals, failures;
    double worst_residual;
} Search;

static double search_eval(Search *x, const double *phi) {
    MfeInfo info;
    double J = mfg_objective(&x->w, x->g, &x->set->mfe, phi, x->warm, x->mu, x->pi, &info);
    if (info.status != MFG_CONVERGED) {
        /* Restart from uniform: a warm start from a far point can sit in another basin. */
        J = mfg_objective(&x->w, x->g, &x->set->mfe, phi, 0, x->mu, x->pi, &info);
        if (info.status != MFG_CONVERGED) x->failures++;
    }
    x->worst_residual = fmax(x->worst_residual, info.status == MFG_CONVERGED ? 0 : info.residual);
    x->warm = 1;
    x->evals++;
    return J;
}

/* Compass search on the simplex from phi (L) with value *J: moves of t = min(h, phi_j) from
 * coordinate j to i over all ordered pairs (a positive spanning set of the simplex's
 * tangent space, clipped at its faces); h halves when no move improves, until h < tol. */
static void pattern_search(Search *x, double *phi, double *J, double h, double *cand, const MfgRecorder *rec,
                           long *it) {
    int L = x->g->L;
    while (h >= x->set->exact.tol) {
        int improved = 0;
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++) {
                if (i == j) continue;
                double t = fmin(h, phi[j]);
                if (t <= 0) continue;
                memcpy(cand, phi, (size_t)L * sizeof(double));
                cand[i] += t;
                cand[j] -= t;
                double Jc = search_eval(x, cand);
                if (Jc > *J) {
                    memcpy(phi, cand, (size_t)L * sizeof(double));
                    *J = Jc;
                    improved = 1;
                    record(rec, ++*it, 0, phi, *J);
                }
            }
        if (!improved) h *= 0.5;
    }
}

/* The leader's optimum over the simplex. J is evaluated on the k/m lattice with at most
 * exact.grid_points points (m = mfg_exact_grid: 4999 for L = 2, 98 for L = 3, 29 for L = 4 at
 * the default 5000), the lattice's local maxima (no neighbour one unit away is higher) are
 * ranked, and a compass search refines the best exact.starts of them down to steps of
 * exact.tol. It finds the global maximum when every local maximum of J has a lattice point in
 * its basin, i.e. no peak is narrower than the lattice step; the search is meant for L <= 4
 * (the lattice step grows with L at a fixed budget). Games where J jumps (several MFEs for
 * one phi) are outside its promise; an MFE that fails to converge is counted and makes the
 * status max_iter. */
void mfg_solve_exact(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    require_valid(g);
    int L = g->L;
    Search x = {.g = g, .set = set};
    mfg_work_init(&x.w, g);
    x.mu = sb_malloc((size_t)g->S * sizeof(double));
    x.pi = sb_malloc((size_t)g->S * L * g->F * sizeof(double));
    int m = mfg_exact_grid(L, set->exact.grid_points);
    long npts = (long)(choose(m + L - 1, L - 1) + 0.5);
    double *Jg = sb_malloc((size_t)npts * sizeof(double));      /* (npts) J on the lattice */
    int *k = sb_calloc((size_t)L, sizeof(int));                 /* (L) a composition of m */
    int *kn = sb_calloc((size_t)L, sizeof(int));                /* (L) a neighbour */
    double *phi = sb_malloc((size_t)L * sizeof(double));        /* (L) */
    double *cand = sb_malloc((size_t)L * sizeof(double));       /* (L) */
    double *best = sb_malloc((size_t)L * sizeof(double));       /* (L) */
    int nstarts = set->exact.starts;
    long *top = sb_malloc((size_t)nstarts * sizeof(long));      /* (starts) lattice ranks */
    double *topJ = sb_malloc((size_t)nstarts * sizeof(double)); /* (starts) */
    int ntop = 0;
    long it = 0;
    /* The lattice, in descending lexicographic order (neighbours mostly follow each other,
     * so the MFE warm start is close). */
    k[0] = m;
    long idx = 0;
    do {
        for (int a = 0; a < L; a++) phi[a] = (double)k[a] / m;
        SB_ASSERT(comp_rank(k, L, m) == idx);
        Jg[idx++] = search_eval(&x, phi);
    } while (next_composition(k, L));
    SB_ASSERT(idx == npts);
    /* Local maxima, best first. */
    memset(k, 0, (size_t)L * sizeof(int));
    k[0] = m;
    idx = 0;
    do {
        int is_max = 1;
        for (int i = 0; i < L && is_max; i++)
            for (int j = 0; j < L && is_max; j++) {
                if (i == j || k[j] == 0) continue;
                memcpy(kn, k, (size_t)L * sizeof(int));
                kn[i]++;
                kn[j]--;
                if (Jg[comp_rank(kn, L, m)] > Jg[idx]) is_max = 0;
            }
        if (is_max) {
            /* insert into the sorted top list (ties keep the earlier point) */
            int pos = ntop;
            while (pos > 0 && topJ[pos - 1] < Jg[idx]) pos--;
            if (pos < nstarts) {
                int last = ntop < nstarts ? ntop : nstarts - 1;
                for (int q = last; q > pos; q--) {
                    top[q] = top[q - 1];
                    topJ[q] = topJ[q - 1];
                }
                top[pos] = idx;
                topJ[pos] = Jg[idx];
                if (ntop < nstarts) ntop++;
            }
        }
        idx++;
    } while (next_composition(k, L));
    double bestJ = -INFINITY;
    for (int t = 0; t < ntop; t++) {
        /* Recover the composition of rank top[t] by walking the lattice again (cheap). */
        memset(k, 0, (size_t)L * sizeof(int));
        k[0] = m;
        for (long r = 0; r < top[t]; r++) next_composition(k, L);
        for (int a = 0; a < L; a++) phi[a] = (double)k[a] / m;
        double J = topJ[t];
        record(rec, ++it, 0, phi, J);
        if (L > 1) pattern_search(&x, phi, &J, 1.0 / m, cand, rec, &it);
        if (J > bestJ) {
            bestJ = J;
            memcpy(best, phi, (size_t)L * sizeof(double));
        }
    }
    memcpy(sol->leader_policy, best, (size_t)L * sizeof(double));
    MfeInfo info;
    sol->leader_objective =
        mfg_objective(&x.w, g, &set->mfe, best, 0, sol->mean_field, sol->follower_policy, &info);
    sol->objective_converged = info.status == MFG_CONVERGED;
    sol->status = x.failures == 0 && sol->objective_converged ? MFG_CONVERGED : MFG_MAX_ITER;
    sol->iterations = x.evals;
    sol->residual = x.worst_residual;
    sol->samples = 0;
    mfg_work_free(&x.w);
    free(x.mu);
    free(x.pi);
    free(Jg);
    free(k);
    free(kn);
    free(phi);
    free(cand);
    free(best);
    free(top);
    free(topJ);
}

/* ---- method nested (inner: exact) ---- */

/* Algorithm 1 of He et al. with exact inner loops: each outer iteration solves the MFE of the
 * current phi (the inner loop run to convergence, warm-started from the last one), then the
 * leader's softmax response to the followers' policy and mean field held fixed,
 * softmax(alpha r_L(. ; mu, pi)) (the leader is stateless, so its Q is its reward); phi moves a
 * step nested.damping towards it, until ||response - phi||_1 <= nested.tol. */
void mfg_solve_nested(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    if (set->nested.inner == MFG_INNER_SAMPLES) {
        mfg_solve_nested_samples(g, set, sol, rec);
        return;
    }
    require_valid(g);
    int L = g->L;
    MfgWork w;
    mfg_work_init(&w, g);
    double *phi = sol->leader_policy, *mu = sol->mean_field, *pi = sol->follower_policy;
    double *rL = sb_malloc((size_t)L * sizeof(double)); /* (L) */
    double *br = sb_malloc((size_t)L * sizeof(double)); /* (L) */
    for (int a = 0; a < L; a++) phi[a] = 1.0 / L;
    MfeInfo info;
    int warm = 0, inner_ok = 1;
    sol->status = MFG_MAX_ITER;
    for (long it = 1; it <= set->nested.max_iter; it++) {
        double J = mfg_objective(&w, g, &set->mfe, phi, warm, mu, pi, &info);
        warm = 1;
        inner_ok = info.status == MFG_CONVERGED;
        record(rec, it - 1, 0, phi, J);
        profile(w.m, g, mu, pi);
        leader_reward_m(rL, g, w.m);
        mfg_softmax(rL, L, set->alpha, br);
        double r = 0;
        for (int a = 0; a < L; a++) r += fabs(br[a] - phi[a]);
        sol->iterations = it;
        sol->residual = r;
        sol->leader_objective = J;
        if (r <= set->nested.tol) {
            sol->status = MFG_CONVERGED;
            break;
        }
        for (int a = 0; a < L; a++) phi[a] += set->nested.damping * (br[a] - phi[a]);
    }
    if (sol->status != MFG_CONVERGED) {
        /* The returned (pi, mu) is the MFE of the returned phi. */
        sol->leader_objective = mfg_objective(&w, g, &set->mfe, phi, 1, mu, pi, &info);
        inner_ok = info.status == MFG_CONVERGED;
    }
    sol->objective_converged = inner_ok;
    if (!inner_ok) sol->status = MFG_MAX_ITER;
    sol->samples = 0;
    mfg_work_free(&w);
    free(rL);
    free(br);
}

void mfg_solve(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec) {
    switch (s->method) {
    case MFG_MFE: mfg_solve_mfe(g, s, sol, rec); break;
    case MFG_EXACT: mfg_solve_exact(g, s, sol, rec); break;
    case MFG_NESTED: mfg_solve_nested(g, s, sol, rec); break;
    case MFG_AC_SMFG: mfg_solve_ac_smfg(g, s, sol, rec); break;
    case MFG_PPO: mfg_solve_ppo(g, s, sol, rec); break;
    }
}
