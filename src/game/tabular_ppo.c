/* tabular_ppo.c: the ppo method for tabular Stackelberg games: leader and follower as
 * categorical PPO agents trained by the alternating schedule (see tabular.h).
 *
 * Legend: S states, L leader actions, F follower actions, N environments per agent,
 * O_F follower observation size: S + L, plus S*L with the pair one-hot (see tabular.h).
 * Observations: leader one-hot(s) (S); follower one-hot(s) ++ one-hot(aL) [++ one-hot(s, aL)].
 * Frozen policies: piL (S, L) and piF (S, L, F) in double, the layouts of tabular.h. A player
 * with a single action has nothing to learn: its table stays [1] and it gets no agent (PPO
 * needs two actions). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "game/tabular.h"
#include "util/common.h"

void tab_ppo_settings_default(TabPpoSettings *s) {
    memset(s, 0, sizeof *s);
    /* Small games want small nets, short rollouts and a larger step size than SB3's
     * defaults; one hidden layer lets the follower represent the (s, aL) interaction. */
    PpoConfig *c[2] = {&s->leader, &s->follower};
    for (int k = 0; k < 2; k++) {
        ppo_config_default(c[k]);
        c[k]->learning_rate = 3e-3;
        c[k]->n_steps = 128;
        c[k]->batch_size = 128;
        c[k]->n_epochs = 5;
        c[k]->gae_lambda = 0.95;
        c[k]->n_pi = c[k]->n_vf = 1;
        c[k]->pi_arch[0] = c[k]->vf_arch[0] = 32;
    }
    s->rounds = 6;
    s->follower_steps = 12288;
    s->leader_steps = 12288;
    s->horizon = 8;
    s->n_envs = 4;
    s->seed = 0;
    /* Measured on random games (see the report in tests/test_tabular.c): a fresh leader
     * per phase escapes actions it collapsed onto against an earlier follower; the
     * follower, which learns far more states, does better warm-started. */
    s->fresh_leader = 1;
    s->fresh_follower = 0;
    s->follower_pair = 1;
}

int tab_ppo_settings_validate(const TabPpoSettings *s, char *err, size_t errlen) {
    char msg[256];
    if (ppo_config_validate(&s->leader, msg, sizeof msg)) return sb_err(err, errlen, "solver.ppo.leader.%s", msg);
    if (ppo_config_validate(&s->follower, msg, sizeof msg))
        return sb_err(err, errlen, "solver.ppo.follower.%s", msg);
    if (s->rounds < 1) return sb_err(err, errlen, "solver.ppo.rounds: must be >= 1, got %d", s->rounds);
    if (s->follower_steps < 1) return sb_err(err, errlen, "solver.ppo.follower_steps: must be >= 1");
    if (s->leader_steps < 1) return sb_err(err, errlen, "solver.ppo.leader_steps: must be >= 1");
    if (s->horizon < 1) return sb_err(err, errlen, "solver.ppo.horizon: must be >= 1, got %d", s->horizon);
    if (s->n_envs < 1 || s->n_envs > 1024) return sb_err(err, errlen, "solver.ppo.n_envs: must be in [1, 1024]");
    return 0;
}

/* ---- environments ---- */

typedef struct {
    const TabGame *g;
    const double *piL; /* (S, L) frozen leader */
    const double *piF; /* (S, L, F) frozen follower */
    Rng rng;
    int s, aL, t, horizon;
    int pair; /* follower: append one-hot(s, aL) */
} TabEnv;

static int draw(const double *p, int n, Rng *rng) {
    double u = rng_uniform(rng), c = 0;
    for (int i = 0; i < n - 1; i++)
        if (u < (c += p[i])) return i;
    return n - 1;
}

static int next_state(TabEnv *e, int aF) {
    const TabGame *g = e->g;
    return draw(g->trans + (((size_t)e->s * g->L + e->aL) * g->F + aF) * g->S, g->S, &e->rng);
}

static int follower_obs_dim(const TabGame *g, int pair) { return g->S + g->L + (pair ? g->S * g->L : 0); }

/* obs (O_F) of augmented state (s, aL). */
static void follower_encode(const TabGame *g, int pair, int s, int aL, float *obs) {
    memset(obs, 0, (size_t)follower_obs_dim(g, pair) * sizeof(float));
    obs[s] = 1;
    obs[g->S + aL] = 1;
    if (pair) obs[g->S + g->L + s * g->L + aL] = 1;
}

static void follower_obs(const TabEnv *e, float *obs) { follower_encode(e->g, e->pair, e->s, e->aL, obs); }

static void follower_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    TabEnv *e = env;
    e->s = (int)rng_below(&e->rng, (uint64_t)e->g->S);
    e->aL = (int)rng_below(&e->rng, (uint64_t)e->g->L); /* off-path coverage, see tabular.h */
    e->t = 0;
    follower_obs(e, obs);
}

static void follower_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                          int *terminated, int *truncated) {
    (void)mask;
    TabEnv *e = env;
    const TabGame *g = e->g;
    int aF = (int)action[0];
    *reward = (float)g->r_follower[((size_t)e->s * g->L + e->aL) * g->F + aF];
    e->s = next_state(e, aF);
    e->aL = draw(e->piL + (size_t)e->s * g->L, g->L, &e->rng);
    *terminated = 0;
    *truncated = ++e->t >= e->horizon;
    follower_obs(e, obs);
}

static void leader_obs(const TabEnv *e, float *obs) {
    memset(obs, 0, (size_t)e->g->S * sizeof(float));
    obs[e->s] = 1;
}

static void leader_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    TabEnv *e = env;
    e->s = (int)rng_below(&e->rng, (uint64_t)e->g->S);
    e->t = 0;
    leader_obs(e, obs);
}

static void leader_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                        int *terminated, int *truncated) {
    (void)mask;
    TabEnv *e = env;
    const TabGame *g = e->g;
    e->aL = (int)action[0];
    size_t row = ((size_t)e->s * g->L + e->aL) * g->F;
    int aF = draw(e->piF + row, g->F, &e->rng);
    *reward = (float)g->r_leader[row + aF];
    e->s = next_state(e, aF);
    *terminated = 0;
    *truncated = ++e->t >= e->horizon;
    leader_obs(e, obs);
}

/* ---- the alternating schedule ---- */

/* An agent, its environments and the frozen table it produces. */
typedef struct {
    EnvClass cls;
    TabEnv *envs;  /* (N) */
    void **ptrs;   /* (N) */
    VecEnv vec;
    Ppo *ppo;
    float *obs;    /* (rows, O) every observation, for freezing */
    float *probs;  /* (rows, K) */
    int rows;
    int phase;     /* phases run, for fresh seeds */
} Agent;

static void agent_setup(Agent *a, const TabGame *g, const TabPpoSettings *s, int follower, const double *piL,
                        const double *piF) {
    memset(a, 0, sizeof *a);
    int S = g->S, L = g->L;
    a->cls.name = follower ? "tabular-follower" : "tabular-leader";
    a->cls.obs_dim = follower ? follower_obs_dim(g, s->follower_pair) : S;
    a->cls.space.kind = SPACE_DISCRETE;
    a->cls.space.dim = 1;
    a->cls.space.n = follower ? g->F : L;
    a->cls.reset = follower ? follower_reset : leader_reset;
    a->cls.step = follower ? follower_step : leader_step;
    a->cls.size = sizeof(TabEnv);
    int N = s->n_envs;
    a->envs = sb_calloc((size_t)N, sizeof(TabEnv));
    a->ptrs = sb_calloc((size_t)N, sizeof(void *));
    for (int i = 0; i < N; i++) {
        TabEnv *e = &a->envs[i];
        e->g = g;
        e->piL = piL;
        e->piF = piF;
        e->horizon = s->horizon;
        e->pair = s->follower_pair;
        rng_seed(&e->rng, s->seed, (uint64_t)(follower ? 1000 : 2000) + (uint64_t)i);
        a->ptrs[i] = e;
    }
    vecenv_init(&a->vec, &a->cls, a->ptrs, N);
    char err[256];
    a->ppo = ppo_create(follower ? &s->follower : &s->leader, a->cls.obs_dim, &a->cls.space, N,
                        s->seed * 2 + (uint64_t)follower, err, sizeof err);
    if (!a->ppo) SB_PANIC("tabular ppo: %s (validate the settings first)", err);
    a->rows = follower ? S * L : S;
    size_t O = (size_t)a->cls.obs_dim;
    a->obs = sb_calloc((size_t)a->rows * O, sizeof(float));
    a->probs = sb_calloc((size_t)a->rows * (size_t)a->cls.space.n, sizeof(float));
    for (int r = 0; r < a->rows; r++) {
        /* row r: (state r / L, leader action r % L) for the follower, state r for the leader */
        if (follower) follower_encode(g, s->follower_pair, r / L, r % L, a->obs + (size_t)r * O);
        else a->obs[(size_t)r * O + (size_t)r] = 1;
    }
}

static void agent_cleanup(Agent *a) {
    if (!a->envs) return;
    if (a->ppo) ppo_free(a->ppo);
    vecenv_free(&a->vec);
    free(a->envs);
    free(a->ptrs);
    free(a->obs);
    free(a->probs);
    memset(a, 0, sizeof *a);
}

/* Train for `steps` (from fresh networks if `fresh`), then copy the network's probabilities
 * into table (rows, K). */
static void agent_phase(Agent *a, const TabPpoSettings *s, int follower, int fresh, long steps, double *table) {
    if (!a->envs) return; /* a single action: the table stays [1] */
    if (fresh) {
        /* A new agent per phase: a policy that collapsed onto one action against an earlier
         * opponent rarely samples the others again, a fresh one answers the current one. */
        char err[256];
        ppo_free(a->ppo);
        a->ppo = ppo_create(follower ? &s->follower : &s->leader, a->cls.obs_dim, &a->cls.space, s->n_envs,
                            s->seed * 2 + (uint64_t)follower + 1000003ull * (uint64_t)++a->phase, err, sizeof err);
        if (!a->ppo) SB_PANIC("tabular ppo: %s", err);
    }
    ppo_learn(a->ppo, &a->vec, steps, NULL, NULL);
    ppo_action_probs(a->ppo, a->obs, NULL, a->rows, a->probs);
    size_t n = (size_t)a->rows * (size_t)a->cls.space.n;
    for (size_t i = 0; i < n; i++) table[i] = a->probs[i];
}

/* Most likely action of each row, lowest index on ties. */
static void greedy(const double *table, int rows, int k, int *out) {
    for (int r = 0; r < rows; r++) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (table[(size_t)r * k + i] > table[(size_t)r * k + best]) best = i;
        out[r] = best;
    }
}

void tab_solve_ppo(const TabGame *g, const TabPpoSettings *s, TabSolution *sol) {
    char err[256];
    if (tab_game_validate(g, err, sizeof err)) SB_PANIC("tabular game: %s", err);
    int S = g->S, L = g->L, F = g->F;
    double *piL = sol->leader_policy, *piF = sol->follower_policy;
    for (size_t i = 0; i < (size_t)S * L; i++) piL[i] = 1.0 / L;
    for (size_t i = 0; i < (size_t)S * L * F; i++) piF[i] = 1.0 / F;
    TabPpoSettings set = *s;
    set.leader.gamma = g->gamma_leader;
    set.follower.gamma = g->gamma_follower;
    Agent lead = {0}, fol = {0};
    if (L > 1) agent_setup(&lead, g, &set, 0, piL, piF);
    if (F > 1) agent_setup(&fol, g, &set, 1, piL, piF);
    double *prevL = sb_malloc((size_t)S * L * sizeof(double)); /* (S, L) */
    int *gl = sb_malloc((size_t)S * 2 * sizeof(int));          /* (2, S) greedy leader before/after */
    int *gf = sb_malloc((size_t)S * L * 2 * sizeof(int));      /* (2, S*L) greedy follower */
    int stable = 0;
    for (int r = 1; r <= s->rounds; r++) {
        memcpy(prevL, piL, (size_t)S * L * sizeof(double));
        greedy(piL, S, L, gl);
        greedy(piF, S * L, F, gf);
        agent_phase(&fol, &set, 1, s->fresh_follower, s->follower_steps, piF);
        agent_phase(&lead, &set, 0, s->fresh_leader, s->leader_steps, piL);
        greedy(piL, S, L, gl + S);
        double diff = 0;
        for (int st = 0; st < S; st++) {
            double d = 0;
            for (int a = 0; a < L; a++) d += fabs(piL[(size_t)st * L + a] - prevL[(size_t)st * L + a]);
            diff = fmax(diff, d);
        }
        sol->iterations = r;
        sol->residual = diff;
        stable = !memcmp(gl, gl + S, (size_t)S * sizeof(int));
    }
    /* The returned follower answers the returned leader. */
    agent_phase(&fol, &set, 1, s->fresh_follower, s->follower_steps, piF);
    greedy(piF, S * L, F, gf + S * L);
    stable = stable && !memcmp(gf, gf + S * L, (size_t)S * L * sizeof(int));
    sol->status = stable ? TAB_CONVERGED : TAB_MAX_ITER;
    TabEval e;
    tab_eval_init(&e, g);
    tab_evaluate(&e, g, piL, piF, sol->value_leader, sol->value_follower);
    tab_eval_free(&e);
    agent_cleanup(&lead);
    agent_cleanup(&fol);
    free(prevL);
    free(gl);
    free(gf);
}
