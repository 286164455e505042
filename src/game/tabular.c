/* tabular.c: tabular Stackelberg Markov games: Stackelberg Q-value iteration, the softmax policy iteration of the paper's section 2.2, exact policy
 * evaluation by a linear solve, the epsilon-net projection and policy enumeration. Files are
 * read by config/tabular_config.c.
 *
 * Legend: S states, L leader actions, F follower actions (see tabular.h for the layouts).
 * Index helpers: SL(s,aL) = s*L + aL, SLF(s,aL,aF) = (s*L + aL)*F + aF, and the transition
 * row of (s,aL,aF) starts at SLF(s,aL,aF)*S. */
#include "game/tabular.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* Relative width of a tie between action values. */
#define TAB_TIE_TOL 1e-10

/* ---- game ---- */

void tab_game_init(TabGame *g, int S, int L, int F) {
    SB_ASSERT(S >= 1 && L >= 1 && F >= 1);
    memset(g, 0, sizeof *g);
    g->S = S;
    g->L = L;
    g->F = F;
    size_t n = (size_t)S * L * F;
    g->r_leader = sb_calloc(n, sizeof(double));
    g->r_follower = sb_calloc(n, sizeof(double));
    g->trans = sb_calloc(n * S, sizeof(double));
}

void tab_game_free(TabGame *g) {
    free(g->r_leader);
    free(g->r_follower);
    free(g->trans);
    memset(g, 0, sizeof *g);
}

int tab_game_validate(const TabGame *g, char *err, size_t errlen) {
    if (g->S < 1 || g->S > TAB_MAX_STATES) return sb_err(err, errlen, "states: must be in [1, %d]", TAB_MAX_STATES);
    if (g->L < 1 || g->L > TAB_MAX_ACTIONS || g->F < 1 || g->F > TAB_MAX_ACTIONS)
        return sb_err(err, errlen, "actions: must be in [1, %d]", TAB_MAX_ACTIONS);
    if (!(g->gamma_leader >= 0 && g->gamma_leader < 1))
        return sb_err(err, errlen, "gamma.leader: must be in [0, 1), got %g", g->gamma_leader);
    if (!(g->gamma_follower >= 0 && g->gamma_follower < 1))
        return sb_err(err, errlen, "gamma.follower: must be in [0, 1), got %g", g->gamma_follower);
    size_t n = (size_t)g->S * g->L * g->F;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(g->r_leader[i]) || !isfinite(g->r_follower[i]))
            return sb_err(err, errlen, "reward: entry %zu is not finite", i);
        const double *row = g->trans + i * g->S;
        double sum = 0;
        for (int t = 0; t < g->S; t++) {
            if (!(row[t] >= 0)) return sb_err(err, errlen, "transition: row %zu has a negative entry", i);
            sum += row[t];
        }
        if (fabs(sum - 1) > TAB_ROW_TOL)
            return sb_err(err, errlen, "transition: row %zu sums to %.17g, not 1", i, sum);
    }
    return 0;
}

/* Solvers trust their game: one built in code that breaks the contract is a bug, stopped here. */
static void require_valid(const TabGame *g) {
    char err[256];
    if (tab_game_validate(g, err, sizeof err)) SB_PANIC("tabular game: %s", err);
}

void tab_game_random(TabGame *g, int S, int L, int F, double gamma_leader, double gamma_follower,
                     Rng *rng) {
    tab_game_init(g, S, L, F);
    g->gamma_leader = gamma_leader;
    g->gamma_follower = gamma_follower;
    size_t n = (size_t)S * L * F;
    for (size_t i = 0; i < n; i++) {
        g->r_leader[i] = rng_uniform(rng);
        g->r_follower[i] = rng_uniform(rng);
        double *row = g->trans + i * S, sum = 0;
        for (int t = 0; t < S; t++) {
            double u = rng_uniform(rng);
            sum += row[t] = u * u * u * u + 1e-3;
        }
        for (int t = 0; t < S; t++) row[t] /= sum;
    }
}

/* ---- settings ---- */

void tab_settings_default(TabSettings *s) {
    s->method = TAB_EXACT;
    s->alpha_leader = 5.0;
    s->alpha_follower = 5.0;
    s->tol = 1e-10;
    s->max_iter = 100000;
    s->net = 0;
    tab_ppo_settings_default(&s->ppo);
}

int tab_settings_validate(const TabSettings *s, char *err, size_t errlen) {
    if (!(s->alpha_leader > 0) || !isfinite(s->alpha_leader))
        return sb_err(err, errlen, "solver.alpha.leader: must be > 0, got %g", s->alpha_leader);
    if (!(s->alpha_follower > 0) || !isfinite(s->alpha_follower))
        return sb_err(err, errlen, "solver.alpha.follower: must be > 0, got %g", s->alpha_follower);
    if (!(s->tol >= 0) || !isfinite(s->tol)) return sb_err(err, errlen, "solver.tol: must be >= 0, got %g", s->tol);
    if (s->max_iter < 1) return sb_err(err, errlen, "solver.max_iter: must be >= 1, got %ld", s->max_iter);
    if (s->net < 0) return sb_err(err, errlen, "solver.net: must be >= 0, got %d", s->net);
    return tab_ppo_settings_validate(&s->ppo, err, errlen);
}

static const char *const METHOD_NAMES[] = {"exact", "softmax", "ppo"};

const char *tab_method_name(TabMethod m) {
    return (unsigned)m < SB_ARRAY_LEN(METHOD_NAMES) ? METHOD_NAMES[m] : "?";
}

int tab_method_parse(const char *name, TabMethod *out) {
    for (size_t i = 0; i < SB_ARRAY_LEN(METHOD_NAMES); i++)
        if (!strcmp(name, METHOD_NAMES[i])) {
            *out = (TabMethod)i;
            return 0;
        }
    return -1;
}

/* ---- solutions and evaluation ---- */

void tab_solution_init(TabSolution *sol, const TabGame *g) {
    memset(sol, 0, sizeof *sol);
    sol->leader_policy = sb_calloc((size_t)g->S * g->L, sizeof(double));
    sol->follower_policy = sb_calloc((size_t)g->S * g->L * g->F, sizeof(double));
    sol->value_leader = sb_calloc((size_t)g->S, sizeof(double));
    sol->value_follower = sb_calloc((size_t)g->S, sizeof(double));
}

void tab_solution_free(TabSolution *sol) {
    free(sol->leader_policy);
    free(sol->follower_policy);
    free(sol->value_leader);
    free(sol->value_follower);
    memset(sol, 0, sizeof *sol);
}

void tab_eval_init(TabEval *e, const TabGame *g) {
    size_t S = (size_t)g->S;
    e->S = g->S;
    e->a = sb_malloc(S * S * sizeof(double));
    e->p = sb_malloc(S * S * sizeof(double));
    e->rl = sb_malloc(S * sizeof(double));
    e->rf = sb_malloc(S * sizeof(double));
}

void tab_eval_free(TabEval *e) {
    free(e->a);
    free(e->p);
    free(e->rl);
    free(e->rf);
    memset(e, 0, sizeof *e);
}

/* Solve (I - gamma p) x = b in place of a (S, S) and x (holding b on entry) by Gaussian
 * elimination with partial pivoting. I - gamma P is strictly diagonally dominant for a
 * stochastic P and gamma < 1, so the pivots never vanish. */
static void solve_discounted(int S, double gamma, const double *p, double *a, double *x) {
    size_t n = (size_t)S;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) a[i * n + j] = (i == j) - gamma * p[i * n + j];
    for (size_t k = 0; k < n; k++) {
        size_t piv = k;
        for (size_t i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > fabs(a[piv * n + k])) piv = i;
        if (piv != k) {
            for (size_t j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            double t = x[k];
            x[k] = x[piv];
            x[piv] = t;
        }
        for (size_t i = k + 1; i < n; i++) {
            double f = a[i * n + k] / a[k * n + k];
            if (f == 0) continue;
            for (size_t j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
            x[i] -= f * x[k];
        }
    }
    for (size_t k = n; k-- > 0;) {
        double v = x[k];
        for (size_t j = k + 1; j < n; j++) v -= a[k * n + j] * x[j];
        x[k] = v / a[k * n + k];
    }
}

void tab_evaluate(TabEval *e, const TabGame *g, const double *piL, const double *piF, double *vL,
                  double *vF) {
    SB_ASSERT(e->S == g->S);
    size_t S = (size_t)g->S, L = (size_t)g->L, F = (size_t)g->F;
    memset(e->p, 0, S * S * sizeof(double));
    for (size_t s = 0; s < S; s++) {
        double rl = 0, rf = 0;
        double *prow = e->p + s * S;
        for (size_t a = 0; a < L; a++) {
            double pa = piL[s * L + a];
            if (pa == 0) continue;
            for (size_t b = 0; b < F; b++) {
                size_t i = (s * L + a) * F + b;
                double w = pa * piF[i];
                if (w == 0) continue;
                rl += w * g->r_leader[i];
                rf += w * g->r_follower[i];
                const double *row = g->trans + i * S;
                for (size_t t = 0; t < S; t++) prow[t] += w * row[t];
            }
        }
        e->rl[s] = rl;
        e->rf[s] = rf;
    }
    if (vL) {
        memcpy(vL, e->rl, S * sizeof(double));
        solve_discounted(g->S, g->gamma_leader, e->p, e->a, vL);
    }
    if (vF) {
        memcpy(vF, e->rf, S * sizeof(double));
        solve_discounted(g->S, g->gamma_follower, e->p, e->a, vF);
    }
}

double tab_mean(const double *v, int S) {
    double m = 0;
    for (int s = 0; s < S; s++) m += v[s];
    return m / S;
}

/* ---- exact: Stackelberg Q-value iteration ---- */

static int is_tie(double v, double best) { return v >= best - TAB_TIE_TOL * fmax(1.0, fabs(best)); }

/* sum_s' P(s'|row) v(s') */
static double expect(const double *row, const double *v, int S) {
    double e = 0;
    for (int t = 0; t < S; t++) e += row[t] * v[t];
    return e;
}

void tab_solve_exact(const TabGame *g, const TabSettings *set, TabSolution *sol) {
    require_valid(g);
    int S = g->S, L = g->L, F = g->F;
    double gl = g->gamma_leader, gf = g->gamma_follower;
    double *vl = sb_calloc((size_t)S * 4, sizeof(double)); /* (4, S): V_L, V_F, new V_L, new V_F */
    double *vf = vl + S, *nvl = vl + 2 * S, *nvf = vl + 3 * S;
    int *fol = sb_calloc((size_t)S * L, sizeof(int)); /* (S, L) follower's action */
    int *lead = sb_calloc((size_t)S, sizeof(int));    /* (S) leader's action */
    double *qf = sb_calloc((size_t)F, sizeof(double)); /* (F) */
    double *ql = sb_calloc((size_t)L, sizeof(double)); /* (L) */
    double *qfl = sb_calloc((size_t)L, sizeof(double)); /* (L) follower's value of its response */
    sol->status = TAB_MAX_ITER;
    sol->iterations = 0;
    for (long it = 1; it <= set->max_iter; it++) {
        for (int s = 0; s < S; s++) {
            for (int a = 0; a < L; a++) {
                size_t base = ((size_t)s * L + a) * F;
                double best = -INFINITY;
                for (int b = 0; b < F; b++) {
                    qf[b] = g->r_follower[base + b] + gf * expect(g->trans + (base + b) * S, vf, S);
                    best = fmax(best, qf[b]);
                }
                /* Among the follower's optimal actions, the one best for the leader. */
                int pick = -1;
                double pick_l = -INFINITY;
                for (int b = 0; b < F; b++) {
                    if (!is_tie(qf[b], best)) continue;
                    double q = g->r_leader[base + b] + gl * expect(g->trans + (base + b) * S, vl, S);
                    if (pick < 0 || q > pick_l + TAB_TIE_TOL * fmax(1.0, fabs(pick_l))) {
                        pick = b;
                        pick_l = q;
                    }
                }
                fol[(size_t)s * L + a] = pick;
                ql[a] = pick_l;
                qfl[a] = qf[pick];
            }
            double best = -INFINITY;
            for (int a = 0; a < L; a++) best = fmax(best, ql[a]);
            int pick = 0;
            while (!is_tie(ql[pick], best)) pick++;
            lead[s] = pick;
            nvl[s] = ql[pick];
            nvf[s] = qfl[pick];
        }
        double diff = 0;
        for (int s = 0; s < S; s++) diff = fmax(diff, fmax(fabs(nvl[s] - vl[s]), fabs(nvf[s] - vf[s])));
        memcpy(vl, nvl, (size_t)S * sizeof(double));
        memcpy(vf, nvf, (size_t)S * sizeof(double));
        sol->iterations = it;
        sol->residual = diff;
        if (diff <= set->tol) {
            sol->status = TAB_CONVERGED;
            break;
        }
    }
    memset(sol->leader_policy, 0, (size_t)S * L * sizeof(double));
    memset(sol->follower_policy, 0, (size_t)S * L * F * sizeof(double));
    for (int s = 0; s < S; s++) {
        sol->leader_policy[(size_t)s * L + lead[s]] = 1;
        for (int a = 0; a < L; a++) sol->follower_policy[((size_t)s * L + a) * F + fol[(size_t)s * L + a]] = 1;
    }
    TabEval e;
    tab_eval_init(&e, g);
    tab_evaluate(&e, g, sol->leader_policy, sol->follower_policy, sol->value_leader, sol->value_follower);
    tab_eval_free(&e);
    free(vl);
    free(fol);
    free(lead);
    free(qf);
    free(ql);
    free(qfl);
}

/* ---- softmax policy iteration ---- */

/* Inner fixed points stop when the sup-norm change is below this, relative to the scale of
 * the values; the error is then at most gamma/(1-gamma) times that. */
#define TAB_INNER_TOL 1e-13
#define TAB_INNER_MAX 1000000

/* pi (n) = softmax(alpha q), computed around the maximum so exp never overflows. */
static void softmax(const double *q, int n, double alpha, double *pi) {
    double m = -INFINITY, z = 0;
    for (int i = 0; i < n; i++) m = fmax(m, q[i]);
    for (int i = 0; i < n; i++) z += pi[i] = exp(alpha * (q[i] - m));
    for (int i = 0; i < n; i++) pi[i] /= z;
}

/* Given piL, the follower's optimal Q_F (S, L, F) on the augmented state, warm-started from
 * its contents. w (S) is scratch. */
static void follower_q(const TabGame *g, const double *piL, double *qf, double *w) {
    int S = g->S, L = g->L, F = g->F;
    for (long it = 0; it < TAB_INNER_MAX; it++) {
        /* w(s') = sum_aL' piL(aL'|s') max_aF' Q_F(s', aL', aF') */
        for (int s = 0; s < S; s++) {
            double v = 0;
            for (int a = 0; a < L; a++) {
                const double *q = qf + ((size_t)s * L + a) * F;
                double m = q[0];
                for (int b = 1; b < F; b++) m = fmax(m, q[b]);
                v += piL[(size_t)s * L + a] * m;
            }
            w[s] = v;
        }
        double diff = 0, scale = 1;
        size_t n = (size_t)S * L * F;
        for (size_t i = 0; i < n; i++) {
            double q = g->r_follower[i] + g->gamma_follower * expect(g->trans + i * S, w, S);
            diff = fmax(diff, fabs(q - qf[i]));
            scale = fmax(scale, fabs(q));
            qf[i] = q;
        }
        if (diff <= TAB_INNER_TOL * scale) return;
    }
}

/* Given piF, the leader's optimal Q_L (S, L), warm-started. m (S) is scratch. */
static void leader_q(const TabGame *g, const double *piF, double *ql, double *m) {
    int S = g->S, L = g->L, F = g->F;
    for (long it = 0; it < TAB_INNER_MAX; it++) {
        for (int s = 0; s < S; s++) {
            double v = ql[(size_t)s * L];
            for (int a = 1; a < L; a++) v = fmax(v, ql[(size_t)s * L + a]);
            m[s] = v;
        }
        double diff = 0, scale = 1;
        for (int s = 0; s < S; s++)
            for (int a = 0; a < L; a++) {
                size_t base = ((size_t)s * L + a) * F;
                double q = 0;
                for (int b = 0; b < F; b++)
                    q += piF[base + b] *
                         (g->r_leader[base + b] + g->gamma_leader * expect(g->trans + (base + b) * S, m, S));
                diff = fmax(diff, fabs(q - ql[(size_t)s * L + a]));
                scale = fmax(scale, fabs(q));
                ql[(size_t)s * L + a] = q;
            }
        if (diff <= TAB_INNER_TOL * scale) return;
    }
}

/* The follower's softmax response to piL: piF (S, L, F) from Q_F. */
static void follower_step(const TabGame *g, const TabSettings *set, const double *piL, double *qf, double *w,
                          double *piF) {
    follower_q(g, piL, qf, w);
    size_t n = (size_t)g->S * g->L;
    for (size_t i = 0; i < n; i++) {
        softmax(qf + i * g->F, g->F, set->alpha_follower, piF + i * g->F);
        if (set->net) tab_project_net(piF + i * g->F, g->F, set->net, piF + i * g->F);
    }
}

void tab_solve_softmax(const TabGame *g, const TabSettings *set, TabSolution *sol) {
    require_valid(g);
    int S = g->S, L = g->L, F = g->F;
    double *qf = sb_calloc((size_t)S * L * F, sizeof(double)); /* (S, L, F) */
    double *ql = sb_calloc((size_t)S * L, sizeof(double));     /* (S, L) */
    double *pil = sb_malloc((size_t)S * L * sizeof(double));   /* (S, L) next leader policy */
    double *w = sb_malloc((size_t)S * sizeof(double));         /* (S) */
    double *piL = sol->leader_policy, *piF = sol->follower_policy;
    for (size_t i = 0; i < (size_t)S * L; i++) piL[i] = 1.0 / L;
    if (set->net)
        for (int s = 0; s < S; s++) tab_project_net(piL + (size_t)s * L, L, set->net, piL + (size_t)s * L);
    sol->status = TAB_MAX_ITER;
    for (long it = 1; it <= set->max_iter; it++) {
        follower_step(g, set, piL, qf, w, piF);
        leader_q(g, piF, ql, w);
        double diff = 0;
        for (int s = 0; s < S; s++) {
            double *p = pil + (size_t)s * L;
            softmax(ql + (size_t)s * L, L, set->alpha_leader, p);
            if (set->net) tab_project_net(p, L, set->net, p);
            double d = 0;
            for (int a = 0; a < L; a++) d += fabs(p[a] - piL[(size_t)s * L + a]);
            diff = fmax(diff, d);
        }
        memcpy(piL, pil, (size_t)S * L * sizeof(double));
        sol->iterations = it;
        sol->residual = diff;
        if (diff <= set->tol) {
            sol->status = TAB_CONVERGED;
            break;
        }
    }
    /* The returned follower answers the returned leader exactly. */
    follower_step(g, set, piL, qf, w, piF);
    TabEval e;
    tab_eval_init(&e, g);
    tab_evaluate(&e, g, piL, piF, sol->value_leader, sol->value_follower);
    tab_eval_free(&e);
    free(qf);
    free(ql);
    free(pil);
    free(w);
}

/* ---- epsilon-net ---- */

void tab_project_net(const double *p, int n, int m, double *out) {
    SB_ASSERT(m > 0 && n <= TAB_MAX_ACTIONS);
    /* Each coordinate goes to floor or ceil of m p_i (anything further costs more); rounding
     * i up instead of down changes the L1 distance by (1 - 2 frac_i)/m, so the units left
     * over go to the largest fractional parts. */
    double frac[TAB_MAX_ACTIONS];
    long k[TAB_MAX_ACTIONS], total = 0;
    for (int i = 0; i < n; i++) {
        double x = fmax(0.0, p[i]) * m;
        k[i] = (long)floor(x);
        frac[i] = x - (double)k[i];
        total += k[i];
    }
    for (long left = m - total; left > 0; left--) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (frac[i] > frac[best]) best = i;
        k[best]++;
        frac[best] = -1;
    }
    for (long over = total - m; over > 0; over--) {
        /* Only reachable when p sums to more than 1: take from the smallest remainders. */
        int best = -1;
        for (int i = 0; i < n; i++)
            if (k[i] > 0 && (best < 0 || frac[i] < frac[best])) best = i;
        k[best]--;
        frac[best] = 2;
    }
    for (int i = 0; i < n; i++) out[i] = (double)k[i] / m;
}

/* ---- enumeration ---- */

static unsigned long power(unsigned long base, size_t exp) {
    unsigned long r = 1;
    for (size_t i = 0; i < exp; i++) {
        if (r > (unsigned long)-1 / base) return 0;
        r *= base;
    }
    return r;
}

unsigned long tab_count_leader(const TabGame *g) { return power((unsigned long)g->L, (size_t)g->S); }
unsigned long tab_count_follower(const TabGame *g) {
    return power((unsigned long)g->F, (size_t)g->S * g->L);
}

void tab_leader_from_index(const TabGame *g, unsigned long idx, double *piL) {
    memset(piL, 0, (size_t)g->S * g->L * sizeof(double));
    for (int s = 0; s < g->S; s++) {
        piL[(size_t)s * g->L + idx % g->L] = 1;
        idx /= g->L;
    }
}

void tab_follower_from_index(const TabGame *g, unsigned long idx, double *piF) {
    size_t n = (size_t)g->S * g->L;
    memset(piF, 0, n * g->F * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        piF[i * g->F + idx % g->F] = 1;
        idx /= g->F;
    }
}

void tab_leader_value_bounds(const TabGame *g, double *lo, double *hi) {
    int S = g->S;
    size_t J = (size_t)g->L * g->F; /* joint actions */
    double *v = sb_calloc((size_t)S * 4, sizeof(double)); /* (4, S): max, min, and their updates */
    double *vmax = v, *vmin = v + S, *nmax = v + 2 * S, *nmin = v + 3 * S;
    for (long it = 0; it < TAB_INNER_MAX; it++) {
        double diff = 0, scale = 1;
        for (int s = 0; s < S; s++) {
            double bmax = -INFINITY, bmin = INFINITY;
            for (size_t j = 0; j < J; j++) {
                size_t i = (size_t)s * J + j;
                const double *row = g->trans + i * S;
                bmax = fmax(bmax, g->r_leader[i] + g->gamma_leader * expect(row, vmax, S));
                bmin = fmin(bmin, g->r_leader[i] + g->gamma_leader * expect(row, vmin, S));
            }
            nmax[s] = bmax;
            nmin[s] = bmin;
            diff = fmax(diff, fmax(fabs(bmax - vmax[s]), fabs(bmin - vmin[s])));
            scale = fmax(scale, fmax(fabs(bmax), fabs(bmin)));
        }
        memcpy(vmax, nmax, (size_t)S * sizeof(double));
        memcpy(vmin, nmin, (size_t)S * sizeof(double));
        if (diff <= TAB_INNER_TOL * scale) break;
    }
    *lo = tab_mean(vmin, S);
    *hi = tab_mean(vmax, S);
    free(v);
}
