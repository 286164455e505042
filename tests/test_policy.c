/* test_policy.c: exported policies: the embedding API's forward pass against hand
 * calculations, `export` + `eval` against NumPy's float64 recomputation (tests/npz_check.py),
 * float32 exports bitwise equal to the checkpoint, the float16 size and action figures, and
 * exit 2 with the file name on every kind of bad input to both commands. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_synth.h"
#include "io/npz.h"
#include "io/policy.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/rng.h"

/* ---- hand-checked networks ------------------------------------------------------------ */

static const char *HAND_META =
    "{\"format\": \"stackelberg-policy\", \"version\": 1, \"agents\": [\"b\", \"d\", \"m\"],"
    " \"policies\": ["
    "{\"name\": \"b\", \"obs_dim\": 2, \"pi_sizes\": [2, 2, 1], \"vf_sizes\": [2, 1], \"activation\": \"tanh\","
    " \"action\": {\"kind\": \"box\", \"size\": 1, \"low\": [-1], \"high\": [1]},"
    " \"normalize_obs\": true, \"clip_obs\": 10, \"obs_eps\": 0},"
    "{\"name\": \"d\", \"obs_dim\": 1, \"pi_sizes\": [1, 3], \"vf_sizes\": [1, 1], \"activation\": \"tanh\","
    " \"action\": {\"kind\": \"discrete\", \"size\": 3, \"mask\": \"soc_range\"}, \"normalize_obs\": false},"
    "{\"name\": \"m\", \"obs_dim\": 1, \"pi_sizes\": [1, 5], \"vf_sizes\": [1, 1], \"activation\": \"relu\","
    " \"action\": {\"kind\": \"multi_discrete\", \"size\": 2, \"nvec\": [2, 3]}, \"normalize_obs\": false}]}";

static SbPolicy *hand_policy(void) {
    Npz z;
    npz_init(&z);
    char err[512];
    float bw0[4] = {0.5f, -1.0f, 1.0f, 0.25f}, bb0[2] = {0.0f, 0.1f}, bw1[2] = {1, 1}, bb1[1] = {0.2f};
    float bvw[2] = {0.5f, 0.5f}, bvb[1] = {-0.5f}, lstd[1] = {-0.69314718055994531f}; /* ln 0.5 */
    double mean[2] = {1, 0}, var[2] = {4, 1};
    float dw[3] = {1, 2, 3}, db[3] = {0, 0, 0}, dvw[1] = {-1}, dvb[1] = {0};
    float mw[5] = {1, 0, 0, 5, 0}, mb[5] = {0, 0, 0, 0, 0.5f};
    size_t s2[1] = {2};
    cr_assert_eq(npz_add_f32(&z, "b.pi.0.weight", bw0, 2, 2, err, sizeof err), 0, "%s", err);
    npz_add_f32(&z, "b.pi.0.bias", bb0, 2, 0, err, sizeof err);
    npz_add_f32(&z, "b.pi.1.weight", bw1, 1, 2, err, sizeof err);
    npz_add_f32(&z, "b.pi.1.bias", bb1, 1, 0, err, sizeof err);
    npz_add_f32(&z, "b.vf.0.weight", bvw, 1, 2, err, sizeof err);
    npz_add_f32(&z, "b.vf.0.bias", bvb, 1, 0, err, sizeof err);
    npz_add_f32(&z, "b.log_std", lstd, 1, 0, err, sizeof err);
    npz_add(&z, "b.obs_mean", NPY_F8, s2, 1, mean, err, sizeof err);
    npz_add(&z, "b.obs_var", NPY_F8, s2, 1, var, err, sizeof err);
    npz_add_f32(&z, "d.pi.0.weight", dw, 3, 1, err, sizeof err);
    npz_add_f32(&z, "d.pi.0.bias", db, 3, 0, err, sizeof err);
    npz_add_f32(&z, "d.vf.0.weight", dvw, 1, 1, err, sizeof err);
    npz_add_f32(&z, "d.vf.0.bias", dvb, 1, 0, err, sizeof err);
    npz_add_f32(&z, "m.pi.0.weight", mw, 5, 1, err, sizeof err);
    npz_add_f32(&z, "m.pi.0.bias", mb, 5, 0, err, sizeof err);
    npz_add_f32(&z, "m.vf.0.weight", dvw, 1, 1, err, sizeof err);
    npz_add_f32(&z, "m.vf.0.bias", dvb, 1, 0, err, sizeof err);
    npz_add_raw(&z, "meta.json", HAND_META, strlen(HAND_META), err, sizeof err);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(npz_write_mem(&z, &buf, &len, err, sizeof err), 0, "%s", err);
    SbPolicy *pol;
    cr_assert_eq(sb_policy_load_mem(buf, len, "hand", &pol, err, sizeof err), 0, "%s", err);
    free(buf);
    npz_free(&z);
    return pol;
}

Test(policy, gaussian_forward_matches_hand_calculation) {
    SbPolicy *pol = hand_policy();
    SbPolicyAgent *b = sb_policy_agent(pol, "b");
    cr_assert(b);
    double mean, std, act, value;
    /* obs (1, 2): normalised x = ((1-1)/sqrt(4), (2-0)/sqrt(1)) = (0, 2) (obs_eps 0).
     * z = W0 x + b0 = (0.5*0 - 1*2 + 0, 1*0 + 0.25*2 + 0.1) = (-2, 0.6)
     * h = tanh(z) = (-0.9640275800758169, 0.5370495669980353)
     * mean = h0 + h1 + 0.2 = -0.22697801307778165 (inside [-1, 1]: action = mean)
     * value = 0.5*0 + 0.5*2 - 0.5 = 0.5;  std = exp(ln 0.5) = 0.5 */
    double obs[2] = {1, 2};
    cr_assert_eq(sb_policy_dist(b, obs, NULL, &mean, &std, &value), 0);
    cr_expect(fabs(mean - -0.22697801307778165) < 1e-7, "mean %.17g", mean);
    cr_expect(fabs(std - 0.5) < 1e-7, "std %.17g", std);
    cr_expect(fabs(value - 0.5) < 1e-7, "value %.17g", value);
    cr_assert_eq(sb_policy_act(b, obs, NULL, &act, NULL), 0);
    cr_expect_eq(act, mean);
    /* obs (201, 0): x0 = 200/2 = 100, clipped to clip_obs 10, so x = (10, 0);
     * z = (5, 10.1); mean = 0.2 + tanh 5 + tanh 10.1 = 2.1999092008875354 -> action 1 (high);
     * value = 0.5*10 - 0.5 = 4.5 (49.5 had the observation not been clipped). */
    double far[2] = {201, 0};
    cr_assert_eq(sb_policy_dist(b, far, NULL, &mean, &std, &value), 0);
    cr_expect(fabs(mean - 2.1999092008875354) < 1e-7, "mean %.17g", mean);
    cr_expect(fabs(value - 4.5) < 1e-6, "value %.17g", value);
    sb_policy_act(b, far, NULL, &act, NULL);
    cr_expect_eq(act, 1.0);
    sb_policy_free(pol);
}

Test(policy, masked_categorical_matches_hand_calculation) {
    SbPolicy *pol = hand_policy();
    SbPolicyAgent *d = sb_policy_agent(pol, "d");
    cr_assert(d);
    SbPolicyInfo in;
    sb_policy_info(d, &in);
    cr_expect(in.kind == SB_ACTION_DISCRETE && in.dist_dim == 3 && in.action_dim == 1);
    cr_expect_str_eq(in.mask_rule, "soc_range");
    /* obs 1: logits (1, 2, 3). Unmasked softmax = e^k / (e + e^2 + e^3) =
     * (0.09003057317038046, 0.24472847105479767, 0.6652409557748219), argmax 2.
     * Mask (1, 1, 0): softmax of (1, 2) = (1/(1+e), e/(1+e)) = (0.2689414213699951,
     * 0.7310585786300049), and the masked choice gets 0; argmax 1. value = -1 * 1 = -1. */
    double obs[1] = {1}, p[3], act, value;
    cr_assert_eq(sb_policy_dist(d, obs, NULL, p, NULL, &value), 0);
    cr_expect(fabs(p[0] - 0.09003057317038046) < 1e-12 && fabs(p[1] - 0.24472847105479767) < 1e-12 &&
              fabs(p[2] - 0.6652409557748219) < 1e-12, "%g %g %g", p[0], p[1], p[2]);
    cr_expect(fabs(value - -1.0) < 1e-12);
    sb_policy_act(d, obs, NULL, &act, NULL);
    cr_expect_eq(act, 2.0);
    unsigned char mask[3] = {1, 1, 0}, none[3] = {0, 0, 0};
    cr_assert_eq(sb_policy_dist(d, obs, mask, p, NULL, NULL), 0);
    cr_expect(fabs(p[0] - 0.2689414213699951) < 1e-12 && fabs(p[1] - 0.7310585786300049) < 1e-12 &&
              p[2] == 0.0, "%g %g %g", p[0], p[1], p[2]);
    sb_policy_act(d, obs, mask, &act, NULL);
    cr_expect_eq(act, 1.0);
    cr_expect_eq(sb_policy_act(d, obs, none, &act, NULL), -1);
    cr_expect_eq(sb_policy_dist(d, obs, none, p, NULL, NULL), -1);

    /* Multi-discrete nvec (2, 3), obs 1: logits (1, 0 | 0, 5, 0.5). Group 1: softmax(1, 0) =
     * (e/(1+e), 1/(1+e)) = (0.7310585786300049, 0.2689414213699951), action 0; group 2 argmax 1. */
    SbPolicyAgent *m = sb_policy_agent(pol, "m");
    double pm[5], am[2];
    cr_assert_eq(sb_policy_dist(m, obs, NULL, pm, NULL, NULL), 0);
    cr_expect(fabs(pm[0] - 0.7310585786300049) < 1e-12 && fabs(pm[1] - 0.2689414213699951) < 1e-12);
    cr_expect(fabs(pm[2] + pm[3] + pm[4] - 1.0) < 1e-12);
    cr_assert_eq(sb_policy_act(m, obs, NULL, am, NULL), 0);
    cr_expect(am[0] == 0 && am[1] == 1, "%g %g", am[0], am[1]);
    cr_expect_null(sb_policy_agent(pol, "nobody"));
    sb_policy_free(pol);
}

/* ---- export and eval through the binary ----------------------------------------------- */

static void temp_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "/tmp/sb_test_policy_%d_%s", (int)getpid(), name);
}

static void make_run(char *dir, size_t cap, const char *name, const SynthAgent *agents, int n) {
    char err[512];
    temp_dir(dir, cap, name);
    cr_assert_eq(synth_checkpoint(dir, agents, n, 7, 1.0, err, sizeof err), 0, "%s", err);
}

static int run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t cap, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, cap);
}

static void rm_rf(const char *dir) {
    char out[256];
    run(out, sizeof out, "rm -rf '%s'", dir);
}

Test(export, eval_matches_numpy_float64_for_every_game) {
    /* NumPy loads the export, recomputes policy and value in float64 for random raw
     * observations (and random masks), runs `eval --json` on each, and compares to 1e-5. */
    struct {
        const char *name;
        const SynthAgent *agents;
        int n;
    } games[] = {{"tariff", SYNTH_TARIFF, 4}, {"cartpole", SYNTH_CARTPOLE, 1}, {"pendulum", SYNTH_PENDULUM, 1}};
    for (size_t g = 0; g < 3; g++) {
        char dir[256], out[8192];
        make_run(dir, sizeof dir, games[g].name, games[g].agents, games[g].n);
        for (int f16 = 0; f16 < 2; f16++) {
            int st = run(out, sizeof out, "%s export %s -o %s/p%d.npz %s", tu_bin(), dir, dir, f16,
                         f16 ? "--dtype float16" : "");
            cr_assert_eq(st, 0, "%s", out);
            st = run(out, sizeof out, "/usr/bin/python3 tests/npz_check.py forward %s/p%d.npz %s %d %d",
                     dir, f16, tu_bin(), tu_asan() ? 3 : 12, (int)g);
            cr_expect_eq(st, 0, "%s %s: %s", games[g].name, f16 ? "float16" : "float32", out);
            cr_expect(strstr(out, "ok forward") != NULL, "%s", out);
        }
        rm_rf(dir);
    }
}

Test(export, float32_is_bitwise_and_leaves_training_state_out) {
    char dir[256], out[4096], path[512], err[512];
    make_run(dir, sizeof dir, "bitwise", SYNTH_TARIFF, 4);
    cr_assert_eq(run(out, sizeof out, "%s export %s", tu_bin(), dir), 0, "%s", out);
    Npz ck, ex;
    path_join(path, sizeof path, dir, "checkpoint.npz");
    cr_assert_eq(npz_read(&ck, path, err, sizeof err), 0, "%s", err);
    path_join(path, sizeof path, dir, "policy.npz"); /* the default output */
    cr_assert_eq(npz_read(&ex, path, err, sizeof err), 0, "%s", err);
    size_t arrays = 0;
    for (size_t i = 0; i < ex.n; i++) {
        const NpzMember *e = &ex.m[i], *c = npz_find(&ck, e->name);
        if (e->dtype == NPY_RAW) continue;
        arrays++;
        cr_assert(c, "%s not in the checkpoint", e->name);
        cr_expect(c->dtype == e->dtype && c->count == e->count &&
                  !memcmp(c->data, e->data, c->count * npy_itemsize(c->dtype)), "%s differs", e->name);
    }
    /* 4 agents x (3 pi + 3 vf layers) x 2 + leader log_std + 4 x obs mean/var. */
    cr_expect_eq(arrays, 4 * 12 + 1 + 8);
    cr_expect_null(npz_find(&ex, "leader.adam.m"));
    cr_expect_null(npz_find(&ex, "rng.state"));
    const NpzMember *meta = npz_find(&ex, "meta.json");
    cr_assert(meta);
    const char *want[] = {"\"format\": \"stackelberg-policy\"", "\"version\": 1", "\"seed\": 7",
                          "\"agents\": [\"leader\", \"agg_b1\", \"agg_b2\", \"agg_b3\"]",
                          "\"activation\": \"tanh\"", "\"mask\": \"soc_range\"", "\"n_steps\": 1200",
                          "\"project_version\"", "\"pi_sizes\": [12, 64, 64, 6]"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(meta->data, want[i]) != NULL, "meta.json lacks %s:\n%s", want[i], (char *)meta->data);
    /* --agent keeps one agent only. */
    cr_assert_eq(run(out, sizeof out, "%s export %s --agent agg_b2 -o %s/one.npz", tu_bin(), dir, dir), 0, "%s", out);
    SbPolicy *pol;
    path_join(path, sizeof path, dir, "one.npz");
    cr_assert_eq(sb_policy_load(path, &pol, err, sizeof err), 0, "%s", err);
    cr_expect_eq(sb_policy_agent_count(pol), 1);
    cr_expect_not_null(sb_policy_agent(pol, "agg_b2"));
    sb_policy_free(pol);
    npz_free(&ck);
    npz_free(&ex);
    rm_rf(dir);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

Test(export, float16_halves_the_file_and_keeps_actions) {
    /* Issue 5's bar: the float16 file is <= 55% of the float32 one, and the deterministic
     * action is unchanged on >= 99% of 10,000 random observations. For the categorical
     * aggregators "unchanged" is the same choice; for the leader's continuous tariff it is
     * a difference within 0.5% of each bound's range (0.001 $/kWh on alpha's [-0.1, 0.1],
     * the tenth of a cent a tariff is quoted in). */
    char dir[256], out[4096], p32[512], p16[512], err[512];
    make_run(dir, sizeof dir, "f16", SYNTH_TARIFF, 4);
    cr_assert_eq(run(out, sizeof out, "%s export %s -o %s/p32.npz", tu_bin(), dir, dir), 0, "%s", out);
    cr_assert_eq(run(out, sizeof out, "%s export %s -o %s/p16.npz --dtype float16", tu_bin(), dir, dir), 0, "%s", out);
    snprintf(p32, sizeof p32, "%s/p32.npz", dir);
    snprintf(p16, sizeof p16, "%s/p16.npz", dir);
    long s32 = file_size(p32), s16 = file_size(p16);
    cr_expect(s32 > 0 && s16 > 0 && s16 <= 0.55 * s32, "float16 %ld bytes vs float32 %ld", s16, s32);
    SbPolicy *a, *b;
    cr_assert_eq(sb_policy_load(p32, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sb_policy_load(p16, &b, err, sizeof err), 0, "%s", err);
    Rng r;
    rng_seed(&r, 99, 0);
    int n = tu_asan() ? 1000 : 10000;
    for (int i = 0; i < sb_policy_agent_count(a); i++) {
        SbPolicyAgent *x = sb_policy_agent_at(a, i), *y = sb_policy_agent_at(b, i);
        SbPolicyInfo in;
        sb_policy_info(x, &in);
        int same = 0;
        double obs[16], ax[16], ay[16];
        for (int k = 0; k < n; k++) {
            for (int d = 0; d < in.obs_dim; d++) obs[d] = 3.0 * rng_normal(&r);
            cr_assert_eq(sb_policy_act(x, obs, NULL, ax, NULL), 0);
            cr_assert_eq(sb_policy_act(y, obs, NULL, ay, NULL), 0);
            int eq = 1;
            for (int d = 0; d < in.action_dim; d++)
                eq &= in.kind == SB_ACTION_BOX ? fabs(ax[d] - ay[d]) <= 5e-3 * (in.high[d] - in.low[d])
                                               : ax[d] == ay[d];
            same += eq;
        }
        cr_expect(same >= 0.99 * n, "%s: %d of %d actions unchanged", in.name, same, n);
        cr_log_info("%s: float16 keeps %d of %d deterministic actions", in.name, same, n);
    }
    sb_policy_free(a);
    sb_policy_free(b);
    rm_rf(dir);
}

/* ---- bad input: exit 2, the file named, never a crash --------------------------------- */

static void expect_exit2(const char *needle1, const char *needle2, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_exit2(const char *needle1, const char *needle2, const char *fmt, ...) {
    char cmd[4096], out[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = tu_run(cmd, out, sizeof out);
    cr_expect_eq(st, 2, "%s -> %d: %s", cmd, st, out);
    cr_expect(strstr(out, needle1) != NULL, "%s: no '%s' in: %s", cmd, needle1, out);
    if (needle2) cr_expect(strstr(out, needle2) != NULL, "%s: no '%s' in: %s", cmd, needle2, out);
}

/* Copy DIR/checkpoint.npz into DIR2 with meta.json edited (from -> to) or one member's
 * shape reversed. */
static void doctored(const char *dir, const char *dir2, const char *from, const char *to,
                     const char *transpose) {
    char path[512], err[512];
    Npz ck, out;
    path_join(path, sizeof path, dir, "checkpoint.npz");
    cr_assert_eq(npz_read(&ck, path, err, sizeof err), 0, "%s", err);
    npz_init(&out);
    for (size_t i = 0; i < ck.n; i++) {
        NpzMember *m = &ck.m[i];
        if (m->dtype == NPY_RAW) {
            char text[16384];
            const char *hit = from ? strstr(m->data, from) : NULL;
            if (hit)
                snprintf(text, sizeof text, "%.*s%s%s", (int)(hit - (char *)m->data), (char *)m->data, to,
                         hit + strlen(from));
            else
                snprintf(text, sizeof text, "%s", (char *)m->data);
            npz_add_raw(&out, m->name, text, strlen(text), err, sizeof err);
            continue;
        }
        size_t shape[NPY_MAX_DIMS];
        for (int d = 0; d < m->ndim; d++) shape[d] = m->shape[d];
        if (transpose && !strcmp(m->name, transpose)) {
            shape[0] = m->shape[1];
            shape[1] = m->shape[0];
        }
        npz_add(&out, m->name, m->dtype, shape, m->ndim, m->data, err, sizeof err);
    }
    cr_assert_eq(mkdir_p(dir2, err, sizeof err), 0, "%s", err);
    path_join(path, sizeof path, dir2, "checkpoint.npz");
    cr_assert_eq(npz_write(&out, path, err, sizeof err), 0, "%s", err);
    npz_free(&ck);
    npz_free(&out);
}

Test(export, bad_checkpoints_exit_2_with_file_and_reason) {
    char dir[256], d2[300], out[4096];
    const char *bin = tu_bin();
    make_run(dir, sizeof dir, "badck", SYNTH_PENDULUM, 1);
    snprintf(d2, sizeof d2, "%s/x", dir);
    expect_exit2("nonexistent/checkpoint.npz", NULL, "%s export %s/nonexistent", bin, dir);
    doctored(dir, d2, "\"version\": 1", "\"version\": 7", NULL);
    expect_exit2("x/checkpoint.npz", "unknown format version 7", "%s export %s", bin, d2);
    doctored(dir, d2, NULL, NULL, "agent.pi.0.weight");
    expect_exit2("x/checkpoint.npz", "agent.pi.0.weight.npy: shape (3, 64) does not match the expected (64, 3)",
                 "%s export %s", bin, d2);
    doctored(dir, d2, "\"pi_sizes\": [3, 64, 64, 1]", "\"pi_sizes\": [3, 64, 64, 2]", NULL);
    expect_exit2("x/checkpoint.npz", "pi_sizes ends with 2", "%s export %s", bin, d2);
    run(out, sizeof out, "echo 'not a zip' > %s/checkpoint.npz", d2);
    expect_exit2("x/checkpoint.npz: not a zip file", NULL, "%s export %s", bin, d2);
    expect_exit2("--dtype", NULL, "%s export %s --dtype float64", bin, dir);
    expect_exit2("no agent 'zz'", NULL, "%s export %s --agent zz", bin, dir);
    cr_expect_eq(run(out, sizeof out, "%s export --help", bin), 0);
    cr_expect(strstr(out, "usage: stackelberg export") != NULL, "%s", out);
    rm_rf(dir);
}

Test(eval, bad_files_and_arguments_exit_2_with_reason) {
    char dir[256], out[4096], path[512], bad[512], err[512];
    const char *bin = tu_bin();
    SynthAgent small[] = {{"agent", 4, 0, 3, 0, 0, "soc_range", 1, 8}};
    make_run(dir, sizeof dir, "badeval", small, 1);
    cr_assert_eq(run(out, sizeof out, "%s export %s", bin, dir), 0, "%s", out);
    snprintf(path, sizeof path, "%s/policy.npz", dir);
    snprintf(bad, sizeof bad, "%s/bad.npz", dir);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    /* Truncations and flips through the binary: a few of each (the library-level tests in
     * test_npz.c cover every offset). */
    size_t cuts[] = {0, 1, 21, 100, len / 3, len / 2, len - 23, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cr_assert_eq(write_file_atomic(bad, buf, cuts[i], err, sizeof err), 0, "%s", err);
        expect_exit2(bad, NULL, "%s eval %s --obs 1,2,3,4", bin, bad);
    }
    /* Flips where no byte is spare: the first member's name, two places in its compressed
     * data, and a name in the central directory (whose offset the end record holds). Bytes
     * such as a local header's flags or date are not read, so a flip there is harmless. */
    size_t cd = buf[len - 6] | buf[len - 5] << 8 | buf[len - 4] << 16 | (size_t)buf[len - 3] << 24;
    size_t flips[] = {35, 80, 150, cd + 50};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        buf[flips[i]] ^= 0x55;
        cr_assert_eq(write_file_atomic(bad, buf, len, err, sizeof err), 0, "%s", err);
        expect_exit2(bad, NULL, "%s eval %s --obs 1,2,3,4", bin, bad);
        buf[flips[i]] ^= 0x55;
    }
    /* Every truncation in-process too (the same code path without a process per case). */
    for (size_t cut = 0; cut < len; cut += tu_asan() ? 37 : 1) {
        SbPolicy *pol;
        cr_assert_eq(sb_policy_load_mem(buf, cut, "p.npz", &pol, err, sizeof err), -1);
        cr_assert(!strncmp(err, "p.npz: ", 7), "%s", err);
    }
    free(buf);
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", dir);
    expect_exit2("checkpoint.npz", "run `stackelberg export`", "%s eval %s --obs 1,2,3,4", bin, ckpt);
    expect_exit2("expects 4", NULL, "%s eval %s --obs 1,2,3", bin, path);
    expect_exit2("expects 4", NULL, "%s eval %s --obs 1,2,x,4", bin, path);
    expect_exit2("no such agent; agents: agent", NULL, "%s eval %s --agent leader --obs 1,2,3,4", bin, path);
    expect_exit2("--mask", "expects 3", "%s eval %s --obs 1,2,3,4 --mask 1,0", bin, path);
    expect_exit2("--mask", "expects 3", "%s eval %s --obs 1,2,3,4 --mask 1,0,2", bin, path);
    expect_exit2("no valid action", NULL, "%s eval %s --obs 1,2,3,4 --mask 0,0,0", bin, path);
    expect_exit2("cannot open", "missing.npz", "%s eval %s/missing.npz --obs 1", bin, dir);
    cr_expect_eq(run(out, sizeof out, "%s eval %s --obs 1,2,3,4 --mask 0,1,0 --json", bin, path), 0, "%s", out);
    cr_expect(strstr(out, "\"raw_action\":1") != NULL, "the only valid choice: %s", out);
    cr_expect_eq(run(out, sizeof out, "%s eval --help", bin), 0);
    cr_expect(strstr(out, "usage: stackelberg eval") != NULL, "%s", out);
    rm_rf(dir);
}
