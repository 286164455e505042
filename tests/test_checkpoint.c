/* test_checkpoint.c: an agent's checkpoint (ppo_save/ppo_restore) holds everything it needs:
 * a round trip through the npz bytes restores every field bit for bit, and a learn call
 * stopped after k updates, saved, restored into a fresh agent and fresh environments (other
 * seeds) and continued ends with exactly the parameters of a run that was never stopped.
 * The reference is the uninterrupted run itself, and the fresh agent starts from different
 * weights, so a missing piece of state shows up as a difference. Also: damaged checkpoints
 * are refused without touching the agent, and ppo_pspec describes the saved tensors as the
 * export contract (io/pspec.h) says, checked against shapes written out by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "io/jsonval.h"
#include "io/pspec.h"
#include "rl/envs.h"
#include "rl/ppo_impl.h"
#include "rl/single.h"
#include "testutil.h"
#include "util/common.h"
#include "util/json.h"

/* Small configs: two hidden layers of 8, two envs, a handful of updates. */
static PpoConfig small_config(int norm) {
    PpoConfig c;
    ppo_config_default(&c);
    c.n_steps = 32;
    c.batch_size = 16;
    c.n_epochs = 2;
    c.pi_arch[0] = c.pi_arch[1] = c.vf_arch[0] = c.vf_arch[1] = 8;
    c.lr_linear = 1; /* the schedule depends on the call's step count: must survive the restore */
    c.norm_obs = c.norm_reward = norm;
    c.ent_coef = 0.01;
    return c;
}

typedef struct {
    const EnvClass *cls;
    void **envs;
    VecEnv v;
    Ppo *p;
} Agent;

static void agent_make(Agent *a, const char *env, const PpoConfig *c, uint64_t agent_seed, uint64_t env_seed) {
    char err[256];
    a->cls = envs_find(env);
    cr_assert(a->cls);
    a->p = ppo_create(c, a->cls->obs_dim, &a->cls->space, 2, agent_seed, err, sizeof err);
    cr_assert(a->p, "%s", err);
    a->envs = envs_create(a->cls, 2, env_seed);
    vecenv_init(&a->v, a->cls, a->envs, 2);
}

static void agent_free(Agent *a) {
    vecenv_free(&a->v);
    envs_destroy(a->envs, 2);
    ppo_free(a->p);
}

static int stop_after(const PpoStats *s, void *user) { return s->iteration >= *(int *)user; }

/* Save agent and envs, serialise to bytes and parse them back into out. */
static void through_bytes(Agent *a, Npz *out) {
    char err[256];
    Npz z;
    npz_init(&z);
    cr_assert_eq(ppo_save(a->p, &z, "agent", err, sizeof err), 0, "%s", err);
    cr_assert_eq(single_envs_save(&a->v, &z, "env", err, sizeof err), 0, "%s", err);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(npz_write_mem(&z, &buf, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_read_mem(out, buf, len, "mem", err, sizeof err), 0, "%s", err);
    free(buf);
    npz_free(&z);
}

static void expect_same_bytes(const void *a, const void *b, size_t n, const char *what) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) {
            cr_expect_fail("%s: first difference at byte %zu of %zu", what, i, n);
            return;
        }
}

/* Every field ppo_save promises, compared between two agents of the same shapes. */
static void expect_same_agent(const Ppo *a, const Ppo *b) {
    expect_same_bytes(a->params, b->params, a->n_params * sizeof(float), "params");
    expect_same_bytes(a->m, b->m, a->n_params * sizeof(float), "adam m");
    expect_same_bytes(a->v, b->v, a->n_params * sizeof(float), "adam v");
    cr_expect_eq(a->adam.t, b->adam.t);
    expect_same_bytes(a->rng.s, b->rng.s, sizeof a->rng.s, "rng");
    size_t O = (size_t)a->O, N = (size_t)a->N;
    expect_same_bytes(a->norm.obs_rms.mean, b->norm.obs_rms.mean, O * sizeof(double), "obs mean");
    expect_same_bytes(a->norm.obs_rms.var, b->norm.obs_rms.var, O * sizeof(double), "obs var");
    expect_same_bytes(&a->norm.obs_rms.count, &b->norm.obs_rms.count, sizeof(double), "obs count");
    expect_same_bytes(a->norm.ret_rms.mean, b->norm.ret_rms.mean, sizeof(double), "ret mean");
    expect_same_bytes(a->norm.ret_rms.var, b->norm.ret_rms.var, sizeof(double), "ret var");
    expect_same_bytes(&a->norm.ret_rms.count, &b->norm.ret_rms.count, sizeof(double), "ret count");
    expect_same_bytes(a->norm.returns, b->norm.returns, N * sizeof(double), "discounted returns");
    expect_same_bytes(a->last_obs, b->last_obs, N * O * sizeof(float), "last obs");
    expect_same_bytes(a->last_start, b->last_start, N, "last start");
    cr_expect_eq(a->have_last, b->have_last);
    cr_expect_eq(a->total_steps, b->total_steps);
    cr_expect_eq(a->n_updates, b->n_updates);
    cr_expect_eq(a->call_steps, b->call_steps);
    cr_expect_eq(a->call_iteration, b->call_iteration);
}

Test(ppo_checkpoint, round_trip_through_npz_bytes_is_bitwise) {
    PpoConfig c = small_config(1);
    Agent a, b;
    agent_make(&a, "Pendulum-v1", &c, 11, 12);
    agent_make(&b, "Pendulum-v1", &c, 99, 98);
    int k = 3;
    cr_assert_eq(ppo_learn(a.p, &a.v, 100000, stop_after, &k), 1);
    /* The fresh agent differs before the restore, so the comparison below can fail. */
    cr_assert_neq(memcmp(a.p->params, b.p->params, a.p->n_params * sizeof(float)), 0);
    Npz z;
    through_bytes(&a, &z);
    char err[256];
    cr_assert_eq(ppo_restore(b.p, &z, "agent", "mem", err, sizeof err), 0, "%s", err);
    expect_same_agent(a.p, b.p);
    cr_expect_eq(b.p->resume_pending, 1, "a call stopped by its callback is continued");
    cr_assert_eq(single_envs_restore(&b.v, &z, "env", "mem", err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 2; i++) expect_same_bytes(a.envs[i], b.envs[i], a.cls->size, "env instance");
    cr_expect_eq(a.v.hist_count, b.v.hist_count);
    cr_expect_eq(a.v.episodes, b.v.episodes);
    npz_free(&z);
    agent_free(&a);
    agent_free(&b);
}

/* Learn `total` steps uninterrupted, and again stopped after k updates, checkpointed,
 * restored into a fresh agent and envs of other seeds, and continued. */
static void expect_split_run_matches(const char *env, int norm, long total, int k) {
    PpoConfig c = small_config(norm);
    Agent ref, first, second;
    agent_make(&ref, env, &c, 5, 6);
    cr_assert_eq(ppo_learn(ref.p, &ref.v, total, NULL, NULL), 0);

    agent_make(&first, env, &c, 5, 6);
    cr_assert_eq(ppo_learn(first.p, &first.v, total, stop_after, &k), 1);
    cr_assert_lt(first.p->total_steps, ref.p->total_steps, "the stop came before the end");
    Npz z;
    through_bytes(&first, &z);
    agent_free(&first);

    agent_make(&second, env, &c, 1234, 4321);
    char err[256];
    cr_assert_eq(ppo_restore(second.p, &z, "agent", "mem", err, sizeof err), 0, "%s", err);
    cr_assert_eq(single_envs_restore(&second.v, &z, "env", "mem", err, sizeof err), 0, "%s", err);
    npz_free(&z);
    cr_assert_eq(ppo_learn(second.p, &second.v, total, NULL, NULL), 0);

    expect_same_agent(ref.p, second.p);
    for (int i = 0; i < 2; i++) expect_same_bytes(ref.envs[i], second.envs[i], ref.cls->size, "env instance");
    double r1 = vecenv_mean_return(&ref.v), r2 = vecenv_mean_return(&second.v);
    cr_expect(memcmp(&r1, &r2, sizeof r1) == 0, "mean return %.17g vs %.17g", r1, r2);
    agent_free(&ref);
    agent_free(&second);
}

Test(ppo_checkpoint, pendulum_stopped_after_3_updates_continues_bitwise) {
    /* 640 steps = 10 rollouts of 2 x 32; normalised observations and rewards. */
    expect_split_run_matches("Pendulum-v1", 1, 640, 3);
}

Test(ppo_checkpoint, cartpole_stopped_after_4_updates_continues_bitwise) {
    /* Long enough that episodes terminate and auto-reset on both sides of the stop. */
    expect_split_run_matches("CartPole-v1", 0, 1280, 4);
}

Test(ppo_checkpoint, a_finished_call_is_not_resumed) {
    PpoConfig c = small_config(0);
    Agent a, b;
    agent_make(&a, "CartPole-v1", &c, 1, 2);
    agent_make(&b, "CartPole-v1", &c, 1, 2);
    cr_assert_eq(ppo_learn(a.p, &a.v, 128, NULL, NULL), 0);
    Npz z;
    through_bytes(&a, &z);
    char err[256];
    cr_assert_eq(ppo_restore(b.p, &z, "agent", "mem", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.p->resume_pending, 0);
    cr_expect_eq(b.p->call_iteration, 0);
    npz_free(&z);
    agent_free(&a);
    agent_free(&b);
}

/* z without member `drop`, or with it replaced by a (2, 2) float array. */
static void copy_except(const Npz *z, const char *drop, int replace, Npz *out) {
    char err[256];
    npz_init(out);
    for (size_t i = 0; i < z->n; i++) {
        const NpzMember *m = &z->m[i];
        if (!strcmp(m->name, drop)) {
            if (replace) {
                float four[4] = {0};
                size_t sh[2] = {2, 2};
                cr_assert_eq(npz_add(out, m->name, NPY_F4, sh, 2, four, err, sizeof err), 0);
            }
            continue;
        }
        if (m->dtype == NPY_RAW) cr_assert_eq(npz_add_raw(out, m->name, m->data, m->count, err, sizeof err), 0);
        else cr_assert_eq(npz_add(out, m->name, m->dtype, m->shape, m->ndim, m->data, err, sizeof err), 0);
    }
}

Test(ppo_checkpoint, damaged_checkpoint_is_refused_and_the_agent_untouched) {
    PpoConfig c = small_config(1);
    Agent a, b;
    agent_make(&a, "Pendulum-v1", &c, 3, 4);
    agent_make(&b, "Pendulum-v1", &c, 7, 8);
    int k = 2;
    ppo_learn(a.p, &a.v, 100000, stop_after, &k);
    Npz z, bad;
    through_bytes(&a, &z);
    float *before = sb_malloc(b.p->n_params * sizeof(float));
    memcpy(before, b.p->params, b.p->n_params * sizeof(float));
    char err[256];

    copy_except(&z, "agent.adam.v", 0, &bad);
    cr_expect_eq(ppo_restore(b.p, &bad, "agent", "ck.npz", err, sizeof err), -1);
    cr_expect(strstr(err, "ck.npz: member agent.adam.v: missing"), "%s", err);
    npz_free(&bad);

    copy_except(&z, "agent.pi.0.weight", 1, &bad);
    cr_expect_eq(ppo_restore(b.p, &bad, "agent", "ck.npz", err, sizeof err), -1);
    cr_expect(strstr(err, "agent.pi.0.weight") && strstr(err, "(8, 3)"), "%s", err);
    npz_free(&bad);

    copy_except(&z, "env.state", 1, &bad);
    cr_expect_eq(single_envs_restore(&b.v, &bad, "env", "ck.npz", err, sizeof err), -1);
    cr_expect(strstr(err, "env.state"), "%s", err);
    npz_free(&bad);

    cr_expect_eq(memcmp(before, b.p->params, b.p->n_params * sizeof(float)), 0);
    cr_expect_eq(b.p->n_updates, 0);
    free(before);
    npz_free(&z);
    agent_free(&a);
    agent_free(&b);
}

/* Hand-written contract for Pendulum (O = 3, Box(1) in [-2, 2]) with 8x8 nets and
 * normalised observations: 2 nets x 3 layers x (weight, bias) + log_std + obs_mean/var. */
Test(ppo_checkpoint, pspec_names_the_saved_tensors_of_the_export_contract) {
    PpoConfig c = small_config(1);
    Agent a;
    agent_make(&a, "Pendulum-v1", &c, 1, 1);
    Pspec s;
    ppo_pspec(a.p, "agent", "none", &s);
    /* emit and parse back: the description is valid for the loaders */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Json j;
    json_init(&j, f, 0);
    pspec_emit(&j, NULL, &s);
    json_end(&j);
    fclose(f);
    JVal v;
    char err[256];
    cr_assert_eq(jv_parse(&v, buf, len, err, sizeof err), 0, "%s", err);
    Pspec back;
    cr_assert_eq(pspec_parse(&back, &v, "spec", err, sizeof err), 0, "%s", err);
    cr_expect_eq(back.kind, PSPEC_BOX);
    cr_expect_eq(back.low[0], -2.0);
    cr_expect_eq(back.high[0], 2.0);
    cr_expect_eq(back.normalize_obs, 1);
    jv_free(&v);
    free(buf);

    static const struct {
        const char *name;
        int ndim;
        size_t d0, d1;
    } want[] = {
        {"agent.pi.0.weight", 2, 8, 3}, {"agent.pi.0.bias", 1, 8, 0}, {"agent.pi.1.weight", 2, 8, 8},
        {"agent.pi.1.bias", 1, 8, 0},   {"agent.pi.2.weight", 2, 1, 8}, {"agent.pi.2.bias", 1, 1, 0},
        {"agent.vf.0.weight", 2, 8, 3}, {"agent.vf.0.bias", 1, 8, 0}, {"agent.vf.1.weight", 2, 8, 8},
        {"agent.vf.1.bias", 1, 8, 0},   {"agent.vf.2.weight", 2, 1, 8}, {"agent.vf.2.bias", 1, 1, 0},
        {"agent.log_std", 1, 1, 0},     {"agent.obs_mean", 1, 3, 0},  {"agent.obs_var", 1, 3, 0},
    };
    PspecTensor ts[PSPEC_MAX_TENSORS];
    int nt = pspec_tensors(&s, ts);
    cr_assert_eq(nt, (int)(sizeof want / sizeof want[0]));
    Npz z;
    npz_init(&z);
    cr_assert_eq(ppo_save(a.p, &z, "agent", err, sizeof err), 0, "%s", err);
    for (int t = 0; t < nt; t++) {
        cr_expect_str_eq(ts[t].name, want[t].name);
        const NpzMember *m = npz_find(&z, want[t].name);
        cr_assert(m, "%s not saved", want[t].name);
        cr_expect_eq(m->ndim, want[t].ndim, "%s", want[t].name);
        cr_expect_eq(m->shape[0], want[t].d0, "%s", want[t].name);
        if (want[t].ndim == 2) cr_expect_eq(m->shape[1], want[t].d1, "%s", want[t].name);
        cr_expect_eq(m->dtype, strstr(want[t].name, "obs_") ? NPY_F8 : NPY_F4, "%s", want[t].name);
    }
    /* The first weight row is W[0, :] = params[pi w_off 0 .. 3): (out, in) row-major. */
    const NpzMember *w = npz_find(&z, "agent.pi.0.weight");
    cr_expect_eq(memcmp(w->data, a.p->params, 3 * sizeof(float)), 0);
    npz_free(&z);
    agent_free(&a);
}
