/* ac_smfg.c: the sample-based methods for Stackelberg mean-field games (meanfield.h):
 * AC-SMFG, the single-loop actor-critic of Zeng, Evans, Bhatt, Ardon, Ganesh, Koppel
 * (arXiv 2509.15392), and the nested Algorithm 1 of He et al. with its inner loop learned from
 * the same samples (nested with inner: samples).
 *
 * Legend: S states, L leader actions, F follower actions (layouts in meanfield.h); k the
 * iteration, K = ac_smfg.iterations.
 *
 * What is the paper's and what is ours. The full text of Zeng et al. is not available to us;
 * what is known of it (the abstract and public summaries): tabular softmax policies for the
 * leader and the representative follower, each updated by a TD(0)-advantage actor step; critics
 * learned by TD; the follower's reward entropy-regularised with weight tau; the mean field a
 * projected running average mu <- Proj(mu + xi_k (e_{s_k} - mu)) of states drawn from a
 * second trajectory; step sizes c/(k+1)^{1/2}, the leader's the slowest and the critics' the
 * fastest; the leader ascends its partial gradient (the mean field held fixed), which the
 * "gradient alignment" condition lets stand for the full one. Ours [R]:
 *  - the follower's critic is a table V_F(s, aL) on the state augmented with the leader's
 *    action it sees (aL is drawn afresh every step, so the next aL' is part of the
 *    transition); its TD error is the soft one, r_F - tau log pi(aF | s, aL) + gamma
 *    V_F(s', aL') - V_F(s, aL), and the same error is the actor's advantage;
 *  - the actor steps are the vanilla policy gradient of a softmax table,
 *    theta(s, aL, .) += b_k delta (e_aF - pi(. | s, aL)), one sampled action per step;
 *  - the leader is stateless: its critic is a scalar baseline V_L tracking its (regularised)
 *    reward, delta_L = r_L(aL) - lambda log phi(aL) - V_L;
 *  - lambda, the leader's entropy weight, is 1/alpha by default (solver.alpha, the inverse
 *    temperature of nested's softmax response): the stationary point of the regularised
 *    partial gradient, phi = softmax(alpha r_L(. ; mu, pi)), is then nested's fixed point, so
 *    the two methods aim at the same answer and can be compared (ac_smfg.leader_entropy: 0
 *    gives the unregularised leader, which drifts towards a pure best response);
 *  - rewards come from a simulator that is handed the current estimates: r_F(s, aL, aF) and
 *    r_L(aL) are evaluated against the profile mu_hat(s) pi(aF | s, aL) of the mean-field
 *    estimate and the representative follower's current policy (the population is
 *    homogeneous, so its policy is the representative's);
 *  - one iteration draws one transition on the main trajectory (the one the actors and
 *    critics learn from) and one on the mean-field trajectory: 2 samples per iteration;
 *  - all four step sizes decay with one exponent, ac_smfg.power (1/2); the time scales are
 *    separated by their constants (defaults: leader 0.1, follower actor 0.5, critics 1,
 *    mean field 1), every one a setting; the projection keeps mu_hat on the simplex against
 *    rounding (a convex combination with xi_k <= 1 never leaves it otherwise);
 *  - status converged when phi moved less than ac_smfg.tol (L1) over the last tenth of the
 *    iterations; the leader objective reported is J of the final phi, evaluated exactly.
 *
 * The nested method with inner: samples runs the same follower and mean-field updates with phi
 * held fixed for nested.inner_steps iterations (warm: actors, critics and mean field carry
 * over, the step-size clock k is global), then the leader's softmax response to the learned
 * (mu_hat, pi): r_L(aL) is asked of the simulator once per leader action (L samples). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "game/meanfield.h"
#include "util/common.h"

typedef struct {
    const MfgGame *g;
    double *theta_f; /* (S, L, F) follower logits */
    double *pi;      /* (S, L, F) softmax of theta_f per (s, aL) row */
    double *vf;      /* (S, L) follower's soft critic */
    double *theta_l; /* (L) leader logits */
    double *phi;     /* (L) */
    double vl;       /* leader's baseline critic */
    double *mu;      /* (S) mean-field estimate */
    int s, aL;       /* main trajectory: state and the leader action it faces */
    int z;           /* mean-field trajectory's state */
    Rng rng_main, rng_mf;
    long samples;
} Learner;

static int draw(const double *p, int n, Rng *rng) {
    double u = rng_uniform(rng), c = 0;
    for (int i = 0; i < n - 1; i++)
        if (u < (c += p[i])) return i;
    return n - 1;
}

/* p (n) = softmax(theta); returns log sum exp(theta). */
static double softmax_row(const double *theta, int n, double *p) {
    double mx = theta[0], z = 0;
    for (int i = 1; i < n; i++) mx = fmax(mx, theta[i]);
    for (int i = 0; i < n; i++) z += p[i] = exp(theta[i] - mx);
    for (int i = 0; i < n; i++) p[i] /= z;
    return mx + log(z);
}

static void learner_init(Learner *x, const MfgGame *g, uint64_t seed) {
    memset(x, 0, sizeof *x);
    x->g = g;
    int S = g->S, L = g->L, F = g->F;
    size_t n = (size_t)S * L * F;
    x->theta_f = sb_calloc(n, sizeof(double));
    x->pi = sb_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) x->pi[i] = 1.0 / F;
    x->vf = sb_calloc((size_t)S * L, sizeof(double));
    x->theta_l = sb_calloc((size_t)L, sizeof(double));
    x->phi = sb_malloc((size_t)L * sizeof(double));
    for (int a = 0; a < L; a++) x->phi[a] = 1.0 / L;
    x->mu = sb_malloc((size_t)S * sizeof(double));
    for (int s = 0; s < S; s++) x->mu[s] = 1.0 / S;
    /* Two independent streams: the main trajectory and the mean field's. */
    rng_seed(&x->rng_main, seed, 11);
    rng_seed(&x->rng_mf, seed, 12);
    x->s = (int)rng_below(&x->rng_main, (uint64_t)S);
    x->aL = draw(x->phi, L, &x->rng_main);
    x->z = (int)rng_below(&x->rng_mf, (uint64_t)S);
}

static void learner_free(Learner *x) {
    free(x->theta_f);
    free(x->pi);
    free(x->vf);
    free(x->theta_l);
    free(x->phi);
    free(x->mu);
    memset(x, 0, sizeof *x);
}

/* r_F(s, aL, aF) against the profile of (mu_hat, pi). */
static double follower_reward(const Learner *x, int s, int aL, int aF) {
    const MfgGame *g = x->g;
    int S = g->S, L = g->L, F = g->F;
    size_t i = ((size_t)s * L + aL) * F + aF;
    const double *c = g->coup_f + i * S * F;
    double r = g->base_f[i];
    for (int s2 = 0; s2 < S; s2++) {
        const double *p = x->pi + ((size_t)s2 * L + aL) * F;
        double e = 0;
        for (int b = 0; b < F; b++) e += c[(size_t)s2 * F + b] * p[b];
        r += x->mu[s2] * e;
    }
    return r;
}

/* r_L(aL) against the profile of (mu_hat, pi). */
static double leader_reward(const Learner *x, int aL) {
    const MfgGame *g = x->g;
    int S = g->S, L = g->L, F = g->F;
    const double *c = g->coup_l + (size_t)aL * S * F;
    double r = g->base_l[aL];
    for (int s = 0; s < S; s++) {
        const double *p = x->pi + ((size_t)s * L + aL) * F;
        double e = 0;
        for (int b = 0; b < F; b++) e += c[(size_t)s * F + b] * p[b];
        r += x->mu[s] * e;
    }
    return r;
}

static double step_size(double c, double power, long k) { return c / pow((double)(k + 1), power); }

/* One iteration k: a transition of the main trajectory (follower critic and actor; the
 * leader's too when lead), then one of the mean-field trajectory. */
static void learner_step(Learner *x, const AcSmfgSettings *a, double lambda, long k, int lead) {
    const MfgGame *g = x->g;
    int L = g->L, F = g->F, S = g->S;
    double bk = step_size(a->follower_step, a->power, k), ck = step_size(a->critic_step, a->power, k);
    int s = x->s, aL = x->aL;
    size_t row = (size_t)s * L + aL;
    double *p = x->pi + row * F, *th = x->theta_f + row * F;
    int aF = draw(p, F, &x->rng_main);
    double rF = follower_reward(x, s, aL, aF);
    double rL = lead ? leader_reward(x, aL) : 0;
    int s2 = draw(g->trans + (row * F + (size_t)aF) * S, S, &x->rng_main);
    int aL2 = draw(x->phi, L, &x->rng_main);
    x->samples++;
    /* Follower: soft TD(0) error, critic then actor with the same error. (The floor only
     * guards log 0 should a probability underflow.) */
    double logp = log(fmax(p[aF], DBL_MIN));
    double delta = rF - g->tau * logp + g->gamma * x->vf[(size_t)s2 * L + aL2] - x->vf[row];
    x->vf[row] += ck * delta;
    for (int b = 0; b < F; b++) th[b] += bk * delta * ((b == aF) - p[b]);
    softmax_row(th, F, p);
    if (lead) {
        double ak = step_size(a->leader_step, a->power, k);
        double dl = rL - (lambda > 0 ? lambda * log(fmax(x->phi[aL], DBL_MIN)) : 0) - x->vl;
        x->vl += ck * dl;
        for (int b = 0; b < L; b++) x->theta_l[b] += ak * dl * ((b == aL) - x->phi[b]);
        softmax_row(x->theta_l, L, x->phi);
    }
    x->s = s2;
    x->aL = aL2;
    /* Mean field: the running average of the second trajectory's states, projected. */
    double xk = step_size(a->mean_field_step, a->power, k);
    int z = x->z, zl = draw(x->phi, L, &x->rng_mf);
    size_t zr = (size_t)z * L + zl;
    int zf = draw(x->pi + zr * F, F, &x->rng_mf);
    int z2 = draw(g->trans + (zr * F + (size_t)zf) * S, S, &x->rng_mf);
    x->samples++;
    double sum = 0;
    for (int t = 0; t < S; t++) {
        x->mu[t] = fmax(0.0, x->mu[t] + xk * ((t == z2) - x->mu[t]));
        sum += x->mu[t];
    }
    for (int t = 0; t < S; t++) x->mu[t] /= sum;
    x->z = z2;
}

/* Exact J of the leader's current policy for the history; the MFE warm-starts from the last. */
typedef struct {
    const MfgRecorder *rec;
    const MfgGame *g;
    const MfeSettings *mfe;
    MfgWork w;
    double *mu, *pi; /* (S), (S, L, F) */
    int warm;
    long every, next;
} History;

static void history_init(History *h, const MfgRecorder *rec, const MfgGame *g, const MfeSettings *mfe,
                         long every_default) {
    memset(h, 0, sizeof *h);
    h->rec = rec && rec->fn ? rec : NULL;
    if (!h->rec) return;
    h->g = g;
    h->mfe = mfe;
    mfg_work_init(&h->w, g);
    h->mu = sb_malloc((size_t)g->S * sizeof(double));
    h->pi = sb_malloc((size_t)g->S * g->L * g->F * sizeof(double));
    h->every = rec->every > 0 ? rec->every : (every_default > 0 ? every_default : 1);
    h->next = 0;
}

/* Record when the sample count has reached the next multiple of `every` (or when forced). */
static void history_maybe(History *h, long it, long samples, const double *phi, int force) {
    if (!h->rec || (!force && samples < h->next)) return;
    MfeInfo info;
    double J = mfg_objective(&h->w, h->g, h->mfe, phi, h->warm, h->mu, h->pi, &info);
    h->warm = 1;
    h->rec->fn(h->rec->user, it, samples, phi, J);
    while (h->next <= samples) h->next += h->every;
}

static void history_free(History *h) {
    if (!h->rec) return;
    mfg_work_free(&h->w);
    free(h->mu);
    free(h->pi);
}

/* Copy what was learned into sol and evaluate J(phi) exactly. */
static void finish(const MfgGame *g, const MfgSettings *set, const Learner *x, MfgSolution *sol) {
    memcpy(sol->leader_policy, x->phi, (size_t)g->L * sizeof(double));
    memcpy(sol->follower_policy, x->pi, (size_t)g->S * g->L * g->F * sizeof(double));
    memcpy(sol->mean_field, x->mu, (size_t)g->S * sizeof(double));
    MfgWork w;
    mfg_work_init(&w, g);
    double *mu = sb_malloc((size_t)g->S * sizeof(double));
    double *pi = sb_malloc((size_t)g->S * g->L * g->F * sizeof(double));
    MfeInfo info;
    sol->leader_objective = mfg_objective(&w, g, &set->mfe, x->phi, 0, mu, pi, &info);
    sol->objective_converged = info.status == MFG_CONVERGED;
    sol->samples = x->samples;
    free(mu);
    free(pi);
    mfg_work_free(&w);
}

static void require_valid(const MfgGame *g) {
    char err[256];
    if (mfg_game_validate(g, err, sizeof err)) SB_PANIC("mean-field game: %s", err);
}

void mfg_solve_ac_smfg(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    require_valid(g);
    const AcSmfgSettings *a = &set->ac;
    int L = g->L;
    double lambda = a->leader_entropy >= 0 ? a->leader_entropy : 1.0 / set->alpha;
    Learner x;
    learner_init(&x, g, set->seed);
    History h;
    long K = a->iterations, tenth = K - K / 10;
    history_init(&h, rec, g, &set->mfe, set->history_every > 0 ? set->history_every : 2 * K / 200);
    double *mark = sb_malloc((size_t)L * sizeof(double)); /* (L) phi at the last tenth's start */
    memcpy(mark, x.phi, (size_t)L * sizeof(double));
    history_maybe(&h, 0, 0, x.phi, 1);
    for (long k = 0; k < K; k++) {
        if (k == tenth) memcpy(mark, x.phi, (size_t)L * sizeof(double));
        learner_step(&x, a, lambda, k, L > 1);
        history_maybe(&h, k + 1, x.samples, x.phi, k + 1 == K);
    }
    double moved = 0;
    for (int b = 0; b < L; b++) moved += fabs(x.phi[b] - mark[b]);
    sol->status = moved <= a->tol ? MFG_CONVERGED : MFG_MAX_ITER;
    sol->iterations = K;
    sol->residual = moved;
    finish(g, set, &x, sol);
    free(mark);
    history_free(&h);
    learner_free(&x);
}

void mfg_solve_nested_samples(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    require_valid(g);
    const MfgNestedSettings *n = &set->nested;
    int L = g->L;
    Learner x;
    learner_init(&x, g, set->seed);
    History h;
    long per = 2 * n->inner_steps + L;
    history_init(&h, rec, g, &set->mfe, set->history_every > 0 ? set->history_every : per);
    double *br = sb_malloc((size_t)L * sizeof(double)); /* (L) */
    double *rL = sb_malloc((size_t)L * sizeof(double)); /* (L) */
    long k = 0;
    sol->status = MFG_MAX_ITER;
    history_maybe(&h, 0, 0, x.phi, 1);
    for (long it = 1; it <= n->max_iter; it++) {
        for (long t = 0; t < n->inner_steps; t++, k++) {
            learner_step(&x, &set->ac, 0, k, 0);
            history_maybe(&h, it - 1, x.samples, x.phi, 0);
        }
        for (int b = 0; b < L; b++) rL[b] = leader_reward(&x, b);
        x.samples += L;
        mfg_softmax(rL, L, set->alpha, br);
        double r = 0;
        for (int b = 0; b < L; b++) r += fabs(br[b] - x.phi[b]);
        sol->iterations = it;
        sol->residual = r;
        if (r <= n->tol) {
            sol->status = MFG_CONVERGED;
            history_maybe(&h, it, x.samples, x.phi, 1);
            break;
        }
        for (int b = 0; b < L; b++) x.phi[b] += n->damping * (br[b] - x.phi[b]);
        history_maybe(&h, it, x.samples, x.phi, it == n->max_iter);
    }
    finish(g, set, &x, sol);
    free(br);
    free(rL);
    history_free(&h);
    learner_free(&x);
}
