/* test_ac.c: the one-step actor-critic (src/rl/ac.c) against PyTorch update by update (masked
 * and plain categoricals, Gaussians; Adam and SGD; bootstrapped and terminal transitions), its
 * sampling loop against those updates on the transitions its environment produced (a time
 * limit bootstrapped from the episode's last observation, a termination not), learning a
 * contextual bandit whose answer is known, and a checkpoint that continues bit for bit.
 *
 * Legend: U updates, O obs size, A action floats, K head width.
 *
 * The reference files tests/data/ac/<case>.txt come from tools/gen_ac_reference.py (PyTorch,
 * float64 on float32 data: the update written from ac.h's contract with autograd and
 * torch.optim's Adam and SGD). They are committed, so this test does not need torch. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/npz.h"
#include "nn/mlp.h"
#include "rl/ac.h"
#include "rl/env.h"
#include "rl/envs.h"
#include "testutil.h"
#include "util/common.h"

/* ---- against PyTorch ---- */

static const double *sec(const TuRef *f, const char *name, size_t want) {
    const double *v = tu_ref_sec(f, name, want);
    cr_assert(v || want == 0, "section %s missing or not of %zu values (%zu)", name, want, tu_ref_count(f, name));
    return v;
}

static float *floats(const double *v, size_t n) {
    float *o = sb_calloc(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) o[i] = (float)v[i];
    return o;
}

/* Largest |got - want| over n entries, relative to max(|want|, floor). */
static double worst(const float *got, const double *want, size_t n, double floor, size_t *at) {
    double w = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(fabs(want[i]), floor);
        if (d > w) {
            w = d;
            *at = i;
        }
    }
    return w;
}

/* Tolerances. Each TD error to 1e-5 relative (floor 1e-3): one forward pass in float32, the
 * sums in double. The parameters after all U updates to 2e-5 of max(|p|, 0.1): they move by
 * up to 0.4 here, so this is ~1e-4 of each move; float32 rounding of the gradients changes
 * an Adam step by eps-relative amounts (1e-5 / |g| of lr at worst), and tanh near saturation
 * amplifies the float32 error of a unit's derivative, as in test_ppo.c. */
static const double DELTA_TOL = 1e-5, PARAM_TOL = 2e-5, PARAM_FLOOR = 0.1;

static void check_against_torch(const char *name) {
    char path[256], err[256];
    snprintf(path, sizeof path, "tests/data/ac/%s.txt", name);
    TuRef f;
    cr_assert(tu_ref_read(&f, path, err, sizeof err) == 0, "%s", err);
    const double *sp = sec(&f, "space", 4);
    const int gauss = sp[0] == 0, A = (int)sp[1], K = (int)sp[2], masked = (int)sp[3];
    const int O = (int)sec(&f, "obs_dim", 1)[0], U = (int)sec(&f, "updates", 1)[0];
    int pa[MLP_MAX_LAYERS], va[MLP_MAX_LAYERS];
    size_t npa = tu_ref_count(&f, "pi_arch"), nva = tu_ref_count(&f, "vf_arch");
    for (size_t i = 0; i < npa; i++) pa[i] = (int)sec(&f, "pi_arch", npa)[i];
    for (size_t i = 0; i < nva; i++) va[i] = (int)sec(&f, "vf_arch", nva)[i];
    Mlp pi, vf;
    cr_assert_eq(mlp_init(&pi, O, pa, (int)npa, K, MLP_TANH), 0);
    cr_assert_eq(mlp_init(&vf, O, va, (int)nva, 1, MLP_TANH), 0);
    const double *co = sec(&f, "coefs", 3);
    AcConfig cfg = {co[0], co[1], co[2] == 0 ? AC_ADAM : AC_SGD};
    float *pp = floats(sec(&f, "pi", pi.n_params), pi.n_params);
    float *vp = floats(sec(&f, "vf", vf.n_params), vf.n_params);
    float *ls = gauss ? floats(sec(&f, "log_std", (size_t)A), (size_t)A) : NULL;
    ActionSpace space = {.kind = gauss ? SPACE_BOX : SPACE_DISCRETE, .dim = gauss ? A : 1, .n = gauss ? 0 : K,
                         .masked = masked};
    for (int k = 0; gauss && k < A; k++) {
        space.low[k] = -1e30f;
        space.high[k] = 1e30f;
    }
    AcNets nets = {&pi, &vf, pp, vp, ls};
    Ac *ac = ac_create(&cfg, O, &space, &nets, 1, err, sizeof err);
    cr_assert(ac, "%s", err);
    const double *obs = sec(&f, "obs", (size_t)U * O), *act = sec(&f, "act", (size_t)U * A);
    const double *mask = masked ? sec(&f, "mask", (size_t)U * K) : NULL;
    const double *rew = sec(&f, "reward", (size_t)U), *next = sec(&f, "next_obs", (size_t)U * O);
    const double *term = sec(&f, "terminal", (size_t)U), *lra = sec(&f, "lr_actor", (size_t)U);
    const double *lrc = sec(&f, "lr_critic", (size_t)U), *want_delta = sec(&f, "delta", (size_t)U);
    float *o = floats(obs, (size_t)U * O), *a = floats(act, (size_t)U * A), *nx = floats(next, (size_t)U * O);
    unsigned char *m = sb_calloc((size_t)U * K, 1);
    for (size_t i = 0; mask && i < (size_t)U * K; i++) m[i] = mask[i] != 0;
    int terminals = 0;
    for (int u = 0; u < U; u++) {
        double d = ac_update(ac, o + (size_t)u * O, a + (size_t)u * A, mask ? m + (size_t)u * K : NULL, (float)rew[u],
                             nx + (size_t)u * O, term[u] != 0, lra[u], lrc[u]);
        terminals += term[u] != 0;
        cr_expect(fabs(d - want_delta[u]) <= DELTA_TOL * fmax(fabs(want_delta[u]), 1e-3),
                  "%s: update %d: delta %.9g, PyTorch %.9g", name, u, d, want_delta[u]);
    }
    cr_assert(terminals > 0 && terminals < U, "%s: the case must mix terminal and bootstrapped transitions", name);
    size_t at;
    double w;
    w = worst(pp, sec(&f, "pi_after", pi.n_params), pi.n_params, PARAM_FLOOR, &at);
    cr_expect(w <= PARAM_TOL, "%s: actor parameter %zu off by %.3g relative", name, at, w);
    cr_log_info("%s: actor after %d updates, worst %.2e (entry %zu)", name, U, w, at);
    w = worst(vp, sec(&f, "vf_after", vf.n_params), vf.n_params, PARAM_FLOOR, &at);
    cr_expect(w <= PARAM_TOL, "%s: critic parameter %zu off by %.3g relative", name, at, w);
    cr_log_info("%s: critic after %d updates, worst %.2e (entry %zu)", name, U, w, at);
    if (gauss) {
        w = worst(ls, sec(&f, "log_std_after", (size_t)A), (size_t)A, PARAM_FLOOR, &at);
        cr_expect(w <= PARAM_TOL, "%s: log_std %zu off by %.3g relative", name, at, w);
    }
    /* The parameters did move: a no-op update would fail above, but say so plainly. */
    const double *pi0 = sec(&f, "pi", pi.n_params), *pi1 = sec(&f, "pi_after", pi.n_params);
    double moved = 0;
    for (size_t i = 0; i < pi.n_params; i++) moved = fmax(moved, fabs(pi1[i] - pi0[i]));
    cr_assert(moved > 1e-3, "%s: the reference barely moves (%g)", name, moved);
    ac_free(ac);
    free(pp);
    free(vp);
    free(ls);
    free(o);
    free(a);
    free(nx);
    free(m);
    tu_ref_free(&f);
}

Test(ac_vs_torch, masked_categorical_201_soc_masks_adam) { check_against_torch("cat201_soc_adam"); }
Test(ac_vs_torch, masked_categorical_9_random_masks_sgd) { check_against_torch("cat9_masked_sgd"); }
Test(ac_vs_torch, categorical_5_without_mask_adam) { check_against_torch("cat5_adam"); }
Test(ac_vs_torch, gaussian_6_gamma_0_adam) { check_against_torch("gauss6_adam"); }
Test(ac_vs_torch, gaussian_2_sgd) { check_against_torch("gauss2_sgd"); }

/* ---- the sampling loop ---- */

/* A walk on 0..4 from 0, 1 or 2: actions 0, 1, 2 move -1, 0, +1 (clamped), action 3 is masked
 * everywhere; reward -(position - 3)^2 / 4 + 0.1 step; reaching 4 terminates; LEN steps are a
 * time limit. obs = (position / 4, step / LEN). Every action received is logged. */
enum { WALK_LEN = 5, WALK_LOG = 256 };
typedef struct {
    Rng rng;
    int pos, t, n;
    int acts[WALK_LOG];
} Walk;

static void walk_obs(const Walk *w, float *obs, unsigned char *mask) {
    obs[0] = (float)w->pos / 4;
    obs[1] = (float)w->t / WALK_LEN;
    if (mask) {
        mask[0] = mask[1] = mask[2] = 1;
        mask[3] = 0;
    }
}

static void walk_reset(void *env, float *obs, unsigned char *mask) {
    Walk *w = env;
    w->pos = (int)rng_below(&w->rng, 3);
    w->t = 0;
    walk_obs(w, obs, mask);
}

static void walk_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward, int *terminated,
                      int *truncated) {
    Walk *w = env;
    int a = (int)action[0];
    cr_assert(a >= 0 && a <= 2, "a masked action was played: %d", a);
    if (w->n < WALK_LOG) w->acts[w->n++] = a;
    w->pos = w->pos + a - 1 < 0 ? 0 : w->pos + a - 1;
    w->t++;
    *reward = (float)(-(w->pos - 3) * (w->pos - 3) / 4.0 + 0.1 * w->t);
    *terminated = w->pos == 4;
    *truncated = !*terminated && w->t >= WALK_LEN;
    walk_obs(w, obs, mask);
}

static void walk_seed(void *env, uint64_t seed, uint64_t stream) {
    Walk *w = env;
    memset(w, 0, sizeof *w);
    rng_seed(&w->rng, seed, stream);
}

static const EnvClass WALK = {
    .name = "walk",
    .obs_dim = 2,
    .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = 4, .masked = 1},
    .reset = walk_reset,
    .step = walk_step,
    .size = sizeof(Walk),
    .seed = walk_seed,
};

typedef struct {
    Mlp pi, vf;
    float *pp, *vp;
    Ac *ac;
} Agent;

/* An agent with small random nets (the same for the same init seed). */
static void agent_init(Agent *g, const AcConfig *c, const EnvClass *cls, uint64_t init, uint64_t seed) {
    int h[2] = {6, 5};
    cr_assert_eq(mlp_init(&g->pi, cls->obs_dim, h, 2, cls->space.kind == SPACE_BOX ? cls->space.dim : cls->space.n,
                          MLP_TANH),
                 0);
    cr_assert_eq(mlp_init(&g->vf, cls->obs_dim, h, 2, 1, MLP_TANH), 0);
    g->pp = sb_calloc(g->pi.n_params + ENV_MAX_ACT, sizeof(float)); /* log_std after the actor */
    g->vp = sb_calloc(g->vf.n_params, sizeof(float));
    Rng r;
    rng_seed(&r, init, 3);
    mlp_init_orthogonal(&g->pi, g->pp, (float)sqrt(2.0), 0.01f, &r);
    mlp_init_orthogonal(&g->vf, g->vp, (float)sqrt(2.0), 1.0f, &r);
    for (int k = 0; k < ENV_MAX_ACT; k++) g->pp[g->pi.n_params + (size_t)k] = -0.5f;
    AcNets nets = {&g->pi, &g->vf, g->pp, g->vp, cls->space.kind == SPACE_BOX ? g->pp + g->pi.n_params : NULL};
    char err[256];
    g->ac = ac_create(c, cls->obs_dim, &cls->space, &nets, seed, err, sizeof err);
    cr_assert(g->ac, "%s", err);
}

static void agent_free(Agent *g) {
    ac_free(g->ac);
    free(g->pp);
    free(g->vp);
}

Test(ac_learn, equals_updates_on_its_transitions_bootstrapping_time_limits_only) {
    /* ac_learn over 9 then 21 samples (the trajectory continues between calls) must equal
     * ac_update on the transitions the walk produced, replayed here on a second walk of the same
     * seed with the logged actions: s' is the episode's last observation when it ended (not the
     * reset's), and only a termination (reaching 4) drops the bootstrap; a time limit keeps it. */
    AcConfig c = {0.9, 0.05, AC_ADAM};
    Agent x, y;
    agent_init(&x, &c, &WALK, 7, 11);
    agent_init(&y, &c, &WALK, 7, 12);
    void **ea = envs_create(&WALK, 1, 5), **eb = envs_create(&WALK, 1, 5);
    VecEnv va, vb;
    vecenv_init(&va, &WALK, ea, 1);
    vecenv_init(&vb, &WALK, eb, 1);
    AcStats st;
    ac_learn(x.ac, &va, 9, 0.02, 0.05, &st);
    cr_expect_eq(st.samples, 9);
    ac_learn(x.ac, &va, 21, 0.01, 0.04, &st);
    cr_expect_eq(st.samples, 21);
    cr_expect_eq(st.total_samples, 30);
    cr_expect_eq(st.updates, 30);
    cr_expect_eq(ac_total_samples(x.ac), 30);
    const Walk *w = ea[0];
    cr_assert_eq(w->n, 30);
    /* The replay, by hand. */
    Walk *r = eb[0];
    float obs[2], next[2], act;
    unsigned char mask[4];
    WALK.reset(r, obs, mask);
    int terms = 0, truncs = 0;
    for (int i = 0; i < 30; i++) {
        float rew;
        int term, trunc;
        act = (float)w->acts[i];
        WALK.step(r, &act, next, NULL, &rew, &term, &trunc);
        ac_update(y.ac, obs, &act, mask, rew, next, term, i < 9 ? 0.02 : 0.01, i < 9 ? 0.05 : 0.04);
        terms += term;
        truncs += trunc;
        if (term || trunc) WALK.reset(r, next, NULL);
        memcpy(obs, next, sizeof obs);
    }
    cr_assert(terms > 0 && truncs > 0, "the walk must both terminate (%d) and hit its time limit (%d)", terms, truncs);
    cr_expect(!memcmp(x.pp, y.pp, x.pi.n_params * sizeof(float)), "actors differ");
    cr_expect(!memcmp(x.vp, y.vp, x.vf.n_params * sizeof(float)), "critics differ");
    vecenv_free(&va);
    vecenv_free(&vb);
    envs_destroy(ea, 1);
    envs_destroy(eb, 1);
    agent_free(&x);
    agent_free(&y);
}

/* A contextual bandit: obs = +1 or -1 (a fair coin), one step per episode (terminal).
 * Categorical (BANDIT): 3 actions, the third masked; reward 1 for action 0 on +1 and action 1 on
 * -1, else 0. Gaussian (BANDIT_G): reward -(a - 0.5 obs)^2, so the best mean is 0.5 obs. */
typedef struct {
    Rng rng;
    float x;
} Bandit;

static void bandit_draw(Bandit *b, float *obs, unsigned char *mask) {
    b->x = rng_uniform(&b->rng) < 0.5 ? 1.0f : -1.0f;
    obs[0] = b->x;
    if (mask) {
        mask[0] = mask[1] = 1;
        mask[2] = 0;
    }
}

static void bandit_reset(void *env, float *obs, unsigned char *mask) { bandit_draw(env, obs, mask); }

static void bandit_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward, int *terminated,
                        int *truncated) {
    Bandit *b = env;
    int a = (int)action[0];
    cr_assert(a == 0 || a == 1, "a masked action was played: %d", a);
    *reward = (b->x > 0) == (a == 0) ? 1.0f : 0.0f;
    *terminated = 1;
    *truncated = 0;
    bandit_draw(b, obs, mask);
}

static void bandit_step_g(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                          int *terminated, int *truncated) {
    Bandit *b = env;
    float d = action[0] - 0.5f * b->x;
    *reward = -d * d;
    *terminated = 1;
    *truncated = 0;
    bandit_draw(b, obs, mask);
}

static void bandit_seed(void *env, uint64_t seed, uint64_t stream) {
    Bandit *b = env;
    rng_seed(&b->rng, seed, stream);
}

static const EnvClass BANDIT = {.name = "bandit",
                                .obs_dim = 1,
                                .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = 3, .masked = 1},
                                .reset = bandit_reset,
                                .step = bandit_step,
                                .size = sizeof(Bandit),
                                .seed = bandit_seed};
static const EnvClass BANDIT_G = {.name = "bandit-gaussian",
                                  .obs_dim = 1,
                                  .space = {.kind = SPACE_BOX, .dim = 1, .low = {-1}, .high = {1}},
                                  .reset = bandit_reset,
                                  .step = bandit_step_g,
                                  .size = sizeof(Bandit),
                                  .seed = bandit_seed};

Test(ac_learn, learns_a_contextual_bandit_categorical_and_gaussian) {
    /* The right answer is known: on +1 action 0, on -1 action 1 (categorical; the masked third
     * action is never played: the env asserts it); the Gaussian's mean at 0.5 obs. 4000 samples
     * at the step sizes c / sqrt(k + 1) per block of 100, as the game schedules them. A sign
     * error in either gradient, a wrong action fed to the update or a broken mask fails. */
    for (int gauss = 0; gauss < 2; gauss++) {
        const EnvClass *cls = gauss ? &BANDIT_G : &BANDIT;
        AcConfig c = {0.99, 0.01, AC_ADAM};
        Agent g;
        agent_init(&g, &c, cls, 3, 4);
        void **envs = envs_create(cls, 1, 9);
        VecEnv v;
        vecenv_init(&v, cls, envs, 1);
        AcStats st;
        for (int k = 0; k < 40; k++) ac_learn(g.ac, &v, 100, 0.01 / sqrt(k + 1.0), 0.03 / sqrt(k + 1.0), &st);
        float work[64], x;
        for (int s = -1; s <= 1; s += 2) {
            x = (float)s;
            mlp_forward1(&g.pi, g.pp, &x, work);
            const float *h = mlp_output(&g.pi, work, 1);
            if (gauss) {
                cr_expect(fabs(h[0] - 0.5 * s) < 0.1, "Gaussian mean at obs %d: %g, want %g", s, h[0], 0.5 * s);
                cr_log_info("bandit gaussian: mean at %+d is %.4f (std %.3f)", s, h[0], st.std);
            } else {
                double p0 = 1.0 / (1.0 + exp((double)h[1] - h[0]));
                double want = s > 0 ? p0 : 1 - p0;
                cr_expect(want > 0.95, "categorical at obs %d: the right action's probability is %g", s, want);
                cr_log_info("bandit categorical: P(right | %+d) = %.4f", s, want);
            }
        }
        vecenv_free(&v);
        envs_destroy(envs, 1);
        agent_free(&g);
    }
}

Test(ac_checkpoint, saved_and_restored_continues_bit_for_bit) {
    /* Agent x learns 25 samples, is saved (its nets copied as its owner would save them, its
     * actor-critic by ac_save, its env's state with the VecEnv as bytes), and learns 40 more;
     * agent y, created alike with another seed and restored from the save, learns the same 40:
     * the nets must be the same bits. A member of the wrong shape is refused, naming it. */
    AcConfig c = {0.9, 0.05, AC_ADAM};
    Agent x, y;
    agent_init(&x, &c, &WALK, 7, 11);
    agent_init(&y, &c, &WALK, 8, 99);
    void **ea = envs_create(&WALK, 1, 5), **eb = envs_create(&WALK, 1, 6);
    VecEnv va, vb;
    vecenv_init(&va, &WALK, ea, 1);
    vecenv_init(&vb, &WALK, eb, 1);
    AcStats st;
    ac_learn(x.ac, &va, 25, 0.02, 0.05, &st);
    Npz z;
    npz_init(&z);
    char err[512];
    cr_assert_eq(ac_save(x.ac, &z, "agent", err, sizeof err), 0, "%s", err);
    memcpy(y.pp, x.pp, (x.pi.n_params + ENV_MAX_ACT) * sizeof(float));
    memcpy(y.vp, x.vp, x.vf.n_params * sizeof(float));
    memcpy(eb[0], ea[0], sizeof(Walk));
    memcpy(vb.obs, va.obs, 2 * sizeof(float));
    memcpy(vb.mask, va.mask, 4);
    cr_assert_eq(ac_restore(y.ac, &z, "agent", "ckpt", err, sizeof err), 0, "%s", err);
    ac_learn(x.ac, &va, 40, 0.01, 0.03, &st);
    ac_learn(y.ac, &vb, 40, 0.01, 0.03, &st);
    cr_expect_eq(st.total_samples, 65);
    cr_expect(!memcmp(x.pp, y.pp, x.pi.n_params * sizeof(float)), "actors differ after the restore");
    cr_expect(!memcmp(x.vp, y.vp, x.vf.n_params * sizeof(float)), "critics differ after the restore");
    /* A foreign file: the moments of another size. */
    Npz bad;
    npz_init(&bad);
    float junk[3] = {0};
    int64_t ints[6] = {1, 1, 1, 1, 1, 1};
    uint64_t rng[4] = {1, 2, 3, 4};
    size_t sh6[1] = {6}, sh4[1] = {4}, sh3[1] = {3};
    cr_assert_eq(npz_add(&bad, "agent.ac.ints", NPY_I8, sh6, 1, ints, err, sizeof err), 0);
    cr_assert_eq(npz_add(&bad, "agent.ac.rng", NPY_U8, sh4, 1, rng, err, sizeof err), 0);
    cr_assert_eq(npz_add(&bad, "agent.ac.adam_m", NPY_F4, sh3, 1, junk, err, sizeof err), 0);
    cr_assert_eq(npz_add(&bad, "agent.ac.adam_v", NPY_F4, sh3, 1, junk, err, sizeof err), 0);
    cr_expect_eq(ac_restore(y.ac, &bad, "agent", "ckpt", err, sizeof err), -1);
    cr_expect(strstr(err, "ckpt: member agent.ac.adam_m") != NULL, "%s", err);
    npz_free(&bad);
    npz_free(&z);
    vecenv_free(&va);
    vecenv_free(&vb);
    envs_destroy(ea, 1);
    envs_destroy(eb, 1);
    agent_free(&x);
    agent_free(&y);
}

Test(ac_config, bad_settings_and_nets_that_do_not_fit_are_refused) {
    char err[256];
    AcConfig c = {1.5, 0.0, AC_ADAM};
    cr_expect_eq(ac_config_validate(&c, err, sizeof err), -1);
    cr_expect(strstr(err, "gamma") != NULL, "%s", err);
    c.gamma = 0.9;
    c.entropy = -1;
    cr_expect_eq(ac_config_validate(&c, err, sizeof err), -1);
    cr_expect(strstr(err, "entropy") != NULL, "%s", err);
    c.entropy = 0;
    Mlp pi, vf;
    int h[1] = {4};
    cr_assert_eq(mlp_init(&pi, 2, h, 1, 3, MLP_TANH), 0); /* 3 outputs for a 4-level space */
    cr_assert_eq(mlp_init(&vf, 2, h, 1, 1, MLP_TANH), 0);
    float p[64] = {0}, v[64] = {0};
    AcNets nets = {&pi, &vf, p, v, NULL};
    cr_expect_null(ac_create(&c, 2, &WALK.space, &nets, 1, err, sizeof err));
    cr_expect(strstr(err, "do not fit") != NULL, "%s", err);
}
