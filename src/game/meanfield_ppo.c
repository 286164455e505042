/* meanfield_ppo.c: the ppo method for Stackelberg mean-field games (meanfield.h): the leader
 * and the representative follower as categorical PPO agents (src/rl/ppo.h) in the
 * alternating schedule of the tabular games (tabular_ppo.c), with the mean field estimated
 * from a sampled trajectory between phases. The baseline that the convergence comparison of
 * issue 11 sets beside nested and ac_smfg.
 *
 * Legend: S states, L leader actions, F follower actions, N environments per agent,
 * O_F follower observation size: S + L, plus S*L with the pair one-hot (as tabular_ppo.c).
 *
 * A round: (1) the follower learns for ppo.follower_steps against the frozen leader phi and
 * the rewards of the population's profile (mu_hat, pi_pop); its network is frozen into pi;
 * (2) a trajectory of ppo.mean_field_steps transitions under (phi, pi), continuing from where
 * the last one stopped, gives the empirical state distribution mu_emp; the population moves a
 * step eta = ppo.damping towards the representative: pi_pop += eta (pi - pi_pop), mu_hat +=
 * eta (mu_emp - mu_hat) (eta = 1 in the first round) [R]: undamped, followers who avoid crowds
 * all flee the crowded state together and the alternation oscillates from round to round
 * (measured: the leader's J swung by 0.02 between rounds on configs/games/market_entry.yaml);
 * (3) the leader, stateless, learns for ppo.leader_steps with reward r_L(aL) against
 * (mu_hat, pi_pop) and is frozen into phi. After the last round a follower phase and a
 * mean-field step make the returned (pi_pop, mu_hat) answer the returned phi.
 * Ours [R]: the follower's PPO gamma is the game's and its ent_coef the game's entropy weight
 * tau (PPO's entropy bonus is the current state's entropy, not the discounted entropy of the
 * soft objective: an approximation); the leader's gamma is 0 (its objective is a stage
 * payoff) and its ent_coef 1/alpha, as ac_smfg's leader (ac_smfg.c); the leader sees a
 * constant observation [1]; a follower episode starts in a uniform state facing a uniform
 * leader action (later ones follow phi), so that rows phi rarely plays are learned too, and
 * is truncated after ppo.horizon steps. Status: converged when the most likely actions of
 * both tables did not change in the last round. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "game/meanfield.h"
#include "util/common.h"

typedef struct {
    const MfgGame *g;
    const double *phi; /* (L) frozen leader */
    const double *rF;  /* (S, L, F) the phase's follower rewards */
    const double *rL;  /* (L) the phase's leader rewards */
    Rng rng;
    int s, aL, t, horizon, pair;
} MfEnv;

static int draw(const double *p, int n, Rng *rng) {
    double u = rng_uniform(rng), c = 0;
    for (int i = 0; i < n - 1; i++)
        if (u < (c += p[i])) return i;
    return n - 1;
}

static int follower_obs_dim(const MfgGame *g, int pair) { return g->S + g->L + (pair ? g->S * g->L : 0); }

/* obs (O_F) of the augmented state (s, aL). */
static void follower_encode(const MfgGame *g, int pair, int s, int aL, float *obs) {
    memset(obs, 0, (size_t)follower_obs_dim(g, pair) * sizeof(float));
    obs[s] = 1;
    obs[g->S + aL] = 1;
    if (pair) obs[g->S + g->L + s * g->L + aL] = 1;
}

static void follower_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    MfEnv *e = env;
    e->s = (int)rng_below(&e->rng, (uint64_t)e->g->S);
    e->aL = (int)rng_below(&e->rng, (uint64_t)e->g->L);
    e->t = 0;
    follower_encode(e->g, e->pair, e->s, e->aL, obs);
}

static void follower_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                          int *terminated, int *truncated) {
    (void)mask;
    MfEnv *e = env;
    const MfgGame *g = e->g;
    int aF = (int)action[0];
    size_t i = ((size_t)e->s * g->L + e->aL) * g->F + aF;
    *reward = (float)e->rF[i];
    e->s = draw(g->trans + i * g->S, g->S, &e->rng);
    e->aL = draw(e->phi, g->L, &e->rng);
    *terminated = 0;
    *truncated = ++e->t >= e->horizon;
    follower_encode(g, e->pair, e->s, e->aL, obs);
}

static void leader_reset(void *env, float *obs, unsigned char *mask) {
    (void)env;
    (void)mask;
    obs[0] = 1;
}

static void leader_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                        int *terminated, int *truncated) {
    (void)mask;
    MfEnv *e = env;
    *reward = (float)e->rL[(int)action[0]];
    *terminated = 1;
    *truncated = 0;
    obs[0] = 1;
}

/* An agent, its environments and the table of its probabilities. */
typedef struct {
    EnvClass cls;
    PpoConfig cfg;
    MfEnv *envs; /* (N) */
    void **ptrs; /* (N) */
    VecEnv vec;
    Ppo *ppo;
    float *obs;   /* (rows, O) every observation, for freezing */
    float *probs; /* (rows, K) */
    int rows, phase, follower;
} Agent;

static void agent_setup(Agent *a, const MfgGame *g, const MfgSettings *set, int follower, const double *phi,
                        const double *rF, const double *rL) {
    const TabPpoSettings *s = &set->ppo.base;
    memset(a, 0, sizeof *a);
    a->follower = follower;
    a->cfg = follower ? s->follower : s->leader;
    a->cfg.gamma = follower ? g->gamma : 0;
    a->cfg.ent_coef = follower ? g->tau : 1.0 / set->alpha;
    a->cls.name = follower ? "mean-field-follower" : "mean-field-leader";
    a->cls.obs_dim = follower ? follower_obs_dim(g, s->follower_pair) : 1;
    a->cls.space.kind = SPACE_DISCRETE;
    a->cls.space.dim = 1;
    a->cls.space.n = follower ? g->F : g->L;
    a->cls.reset = follower ? follower_reset : leader_reset;
    a->cls.step = follower ? follower_step : leader_step;
    a->cls.size = sizeof(MfEnv);
    int N = s->n_envs;
    a->envs = sb_calloc((size_t)N, sizeof(MfEnv));
    a->ptrs = sb_calloc((size_t)N, sizeof(void *));
    for (int i = 0; i < N; i++) {
        MfEnv *e = &a->envs[i];
        e->g = g;
        e->phi = phi;
        e->rF = rF;
        e->rL = rL;
        e->horizon = s->horizon;
        e->pair = s->follower_pair;
        rng_seed(&e->rng, set->seed, (uint64_t)(follower ? 1000 : 2000) + (uint64_t)i);
        a->ptrs[i] = e;
    }
    vecenv_init(&a->vec, &a->cls, a->ptrs, N);
    char err[256];
    a->ppo = ppo_create(&a->cfg, a->cls.obs_dim, &a->cls.space, N, set->seed * 2 + (uint64_t)follower, err, sizeof err);
    if (!a->ppo) SB_PANIC("mean-field ppo: %s (validate the settings first)", err);
    a->rows = follower ? g->S * g->L : 1;
    size_t O = (size_t)a->cls.obs_dim;
    a->obs = sb_calloc((size_t)a->rows * O, sizeof(float));
    a->probs = sb_calloc((size_t)a->rows * (size_t)a->cls.space.n, sizeof(float));
    for (int r = 0; r < a->rows; r++) {
        /* row r: (state r / L, leader action r % L) for the follower; [1] for the leader */
        if (follower) follower_encode(g, s->follower_pair, r / g->L, r % g->L, a->obs + (size_t)r * O);
        else a->obs[0] = 1;
    }
}

static void agent_cleanup(Agent *a) {
    if (!a->envs) return;
    ppo_free(a->ppo);
    vecenv_free(&a->vec);
    free(a->envs);
    free(a->ptrs);
    free(a->obs);
    free(a->probs);
    memset(a, 0, sizeof *a);
}

static void agent_freeze(Agent *a, double *table) {
    ppo_action_probs(a->ppo, a->obs, NULL, a->rows, a->probs);
    size_t n = (size_t)a->rows * (size_t)a->cls.space.n;
    for (size_t i = 0; i < n; i++) table[i] = a->probs[i];
}

/* What the leader phase's callback needs to record J after each update. */
typedef struct {
    const MfgRecorder *rec;
    const MfgGame *g;
    const MfgSettings *set;
    Agent *lead;
    MfgWork w;
    double *phi, *mu, *pi; /* (L), (S), (S, L, F) */
    int warm;
    long base, round;      /* samples before the phase; the round */
} Hist;

static void hist_record(Hist *h, long samples, const double *phi) {
    if (!h->rec) return;
    MfeInfo info;
    double J = mfg_objective(&h->w, h->g, &h->set->mfe, phi, h->warm, h->mu, h->pi, &info);
    h->warm = 1;
    h->rec->fn(h->rec->user, h->round, samples, phi, J);
}

static int leader_update(const PpoStats *st, void *user) {
    Hist *h = user;
    if (!h->rec) return 0;
    agent_freeze(h->lead, h->phi);
    hist_record(h, h->base + st->timesteps, h->phi);
    return 0;
}

/* Train for `steps` (fresh networks if `fresh`), then freeze into table; returns the env
 * steps taken. */
static long agent_phase(Agent *a, const MfgSettings *set, int fresh, long steps, double *table, PpoCallback cb,
                        void *user) {
    if (!a->envs) return 0; /* a single action: the table stays [1] */
    if (fresh) {
        /* As tabular_ppo.c: a fresh agent answers the current opponent instead of staying
         * collapsed on an action that was best against an earlier one. */
        char err[256];
        ppo_free(a->ppo);
        a->ppo = ppo_create(&a->cfg, a->cls.obs_dim, &a->cls.space, set->ppo.base.n_envs,
                            set->seed * 2 + (uint64_t)a->follower + 1000003ull * (uint64_t)++a->phase, err, sizeof err);
        if (!a->ppo) SB_PANIC("mean-field ppo: %s", err);
    }
    long before = ppo_total_steps(a->ppo);
    ppo_learn(a->ppo, &a->vec, steps, cb, user);
    agent_freeze(a, table);
    return ppo_total_steps(a->ppo) - before;
}

/* mu_hat (S) = empirical distribution of `steps` transitions under (phi, pi) from *z. */
static void mean_field_phase(const MfgGame *g, const double *phi, const double *pi, long steps, int *z, Rng *rng,
                             double *mu) {
    int S = g->S, L = g->L, F = g->F;
    memset(mu, 0, (size_t)S * sizeof(double));
    for (long t = 0; t < steps; t++) {
        int aL = draw(phi, L, rng);
        size_t row = (size_t)*z * L + aL;
        int aF = draw(pi + row * F, F, rng);
        *z = draw(g->trans + (row * F + (size_t)aF) * S, S, rng);
        mu[*z] += 1;
    }
    for (int s = 0; s < S; s++) mu[s] /= (double)steps;
}

static void greedy(const double *table, int rows, int k, int *out) {
    for (int r = 0; r < rows; r++) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (table[(size_t)r * k + i] > table[(size_t)r * k + best]) best = i;
        out[r] = best;
    }
}

void mfg_solve_ppo(const MfgGame *g, const MfgSettings *set, MfgSolution *sol, const MfgRecorder *rec) {
    char err[256];
    if (mfg_game_validate(g, err, sizeof err)) SB_PANIC("mean-field game: %s", err);
    const TabPpoSettings *s = &set->ppo.base;
    int S = g->S, L = g->L, F = g->F;
    size_t n = (size_t)S * L * F;
    double *phi = sol->leader_policy, *pi = sol->follower_policy, *mu = sol->mean_field;
    for (int a = 0; a < L; a++) phi[a] = 1.0 / L;
    for (size_t i = 0; i < n; i++) pi[i] = 1.0 / F;
    for (int t = 0; t < S; t++) mu[t] = 1.0 / S;
    double *pop = sb_malloc(n * sizeof(double));                /* (S, L, F) the population's policy */
    double *emp = sb_malloc((size_t)S * sizeof(double));        /* (S) a phase's state frequencies */
    double *rF = sb_malloc(n * sizeof(double));                 /* (S, L, F) */
    double *rL = sb_malloc((size_t)L * sizeof(double));         /* (L) */
    int *gl = sb_malloc((size_t)2 * sizeof(int));               /* (2) greedy leader before/after */
    int *gf = sb_malloc((size_t)S * L * 2 * sizeof(int));       /* (2, S*L) greedy follower */
    Agent lead = {0}, fol = {0};
    if (L > 1) agent_setup(&lead, g, set, 0, phi, rF, rL);
    if (F > 1) agent_setup(&fol, g, set, 1, phi, rF, rL);
    Hist h = {.rec = rec && rec->fn ? rec : NULL, .g = g, .set = set, .lead = &lead};
    if (h.rec) {
        mfg_work_init(&h.w, g);
        h.phi = sb_malloc((size_t)L * sizeof(double));
        h.mu = sb_malloc((size_t)S * sizeof(double));
        h.pi = sb_malloc(n * sizeof(double));
    }
    memcpy(pop, pi, n * sizeof(double));
    Rng rng_mf;
    rng_seed(&rng_mf, set->seed, 13);
    int z = (int)rng_below(&rng_mf, (uint64_t)S);
    long samples = 0;
    int stable = 0;
    hist_record(&h, 0, phi);
    for (int r = 1; r <= s->rounds + 1; r++) {
        int last = r == s->rounds + 1; /* the closing follower and mean-field phases */
        h.round = r;
        greedy(phi, 1, L, gl);
        greedy(pi, S * L, F, gf);
        mfg_follower_reward(rF, g, mu, pop);
        samples += agent_phase(&fol, set, s->fresh_follower, s->follower_steps, pi, NULL, NULL);
        mean_field_phase(g, phi, pi, set->ppo.mean_field_steps, &z, &rng_mf, emp);
        samples += set->ppo.mean_field_steps;
        /* The population moves part of the way to what the representative just learned. */
        double eta = r == 1 ? 1.0 : set->ppo.damping;
        for (size_t i = 0; i < n; i++) pop[i] += eta * (pi[i] - pop[i]);
        for (int t = 0; t < S; t++) mu[t] += eta * (emp[t] - mu[t]);
        if (last) {
            greedy(pi, S * L, F, gf + S * L);
            stable = stable && !memcmp(gf, gf + S * L, (size_t)S * L * sizeof(int));
            break;
        }
        hist_record(&h, samples, phi);
        mfg_leader_reward(rL, g, mu, pop);
        h.base = samples;
        samples += agent_phase(&lead, set, s->fresh_leader, s->leader_steps, phi, leader_update, &h);
        greedy(phi, 1, L, gl + 1);
        stable = gl[0] == gl[1];
        sol->iterations = r;
    }
    hist_record(&h, samples, phi);
    memcpy(pi, pop, n * sizeof(double)); /* the population's policy, whose profile mu describes */
    sol->status = stable ? MFG_CONVERGED : MFG_MAX_ITER;
    sol->residual = 0;
    sol->samples = samples;
    MfgWork w;
    mfg_work_init(&w, g);
    double *emu = sb_malloc((size_t)S * sizeof(double));
    double *epi = sb_malloc(n * sizeof(double));
    MfeInfo info;
    sol->leader_objective = mfg_objective(&w, g, &set->mfe, phi, 0, emu, epi, &info);
    sol->objective_converged = info.status == MFG_CONVERGED;
    free(emu);
    free(epi);
    mfg_work_free(&w);
    if (h.rec) {
        mfg_work_free(&h.w);
        free(h.phi);
        free(h.mu);
        free(h.pi);
    }
    agent_cleanup(&lead);
    agent_cleanup(&fol);
    free(pop);
    free(emp);
    free(rF);
    free(rL);
    free(gl);
    free(gf);
}
