/* test_normalize.c: RunningMeanStd against a two-pass mean/variance of all the data pooled
 * with the prior, and VecNormalize's observation and reward normalisation against the
 * formulas of SB3 2.3.2 written out by hand. */
#include <criterion/criterion.h>

#include "rl/normalize.h"
#include "testutil.h"
#include "util/rng.h"

/* Pooled moments of the prior (count 1e-4 at mean 0, var 1) and the samples xs[0..n) of
 * column d: mean M = sum x / (1e-4 + n), var = (1e-4 (1 + M^2) + sum (x - M)^2) / (1e-4 + n).
 * Two passes in long double, a different method from the streaming merge. */
static void pooled(const double *xs, int n, int dim, int d, double *mean, double *var) {
    long double c0 = 1e-4L, s = 0;
    for (int i = 0; i < n; i++) s += xs[(size_t)i * dim + d];
    long double m = s / (c0 + n), q = c0 * (1 + m * m);
    for (int i = 0; i < n; i++) {
        long double e = xs[(size_t)i * dim + d] - m;
        q += e * e;
    }
    *mean = (double)m;
    *var = (double)(q / (c0 + n));
}

Test(rms, starts_at_mean_0_var_1_count_1e_4) {
    RunningMeanStd r;
    rms_init(&r, 2);
    cr_expect_eq(r.mean[0], 0.0);
    cr_expect_eq(r.var[1], 1.0);
    cr_expect_eq(r.count, 1e-4);
    rms_free(&r);
}

Test(rms, float_batches_match_two_pass_over_all_data) {
    enum { D = 3, B = 6, K = 7 };
    RunningMeanStd r;
    rms_init(&r, D);
    Rng rng;
    rng_seed(&rng, 3, 0);
    static double all[K * B * D];
    float batch[B * D];
    for (int k = 0; k < K; k++) {
        for (int j = 0; j < B * D; j++) {
            int d = j % D;
            batch[j] = (float)(2.0 * d - 1.0 + (d + 0.5) * rng_normal(&rng));
            all[k * B * D + j] = batch[j];
        }
        rms_update_f32(&r, batch, B);
        for (int d = 0; d < D; d++) {
            double m, v;
            pooled(all, (k + 1) * B, D, d, &m, &v);
            /* float32 batch moments, as NumPy: agreement to a few float ulps. */
            cr_expect(fabs(r.mean[d] - m) < 1e-6 * (1 + fabs(m)), "k=%d d=%d mean %.9g vs %.9g", k, d,
                      r.mean[d], m);
            cr_expect(tu_rel(r.var[d], v) < 1e-5, "k=%d d=%d var %.9g vs %.9g", k, d, r.var[d], v);
        }
        cr_expect(fabs(r.count - (1e-4 + (k + 1) * B)) < 1e-9);
    }
    rms_free(&r);
}

Test(rms, double_batches_match_two_pass_over_all_data) {
    enum { B = 5, K = 9 };
    RunningMeanStd r;
    rms_init(&r, 1);
    Rng rng;
    rng_seed(&rng, 4, 0);
    double all[K * B];
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < B; i++) all[k * B + i] = 10.0 + 3.0 * rng_normal(&rng);
        rms_update_f64(&r, all + k * B, B);
        double m, v;
        pooled(all, (k + 1) * B, 1, 0, &m, &v);
        cr_expect(tu_rel(r.mean[0], m) < 1e-12, "k=%d", k);
        cr_expect(tu_rel(r.var[0], v) < 1e-12, "k=%d var %.17g vs %.17g", k, r.var[0], v);
    }
    rms_free(&r);
}

Test(vecnorm, obs_updates_then_normalises_and_clips) {
    /* N = 2, O = 2. Batch rows (1, 100) and (3, 100): batch mean (2, 100), var (1, 0).
     * Merged with the prior: mean = (2, 100) * 2 / 2.0001, and
     * var_0 = (1e-4 * 1 + 2 * 1 + 2^2 * 1e-4 * 2 / 2.0001) / 2.0001,
     * var_1 = (1e-4 * 1 + 0 + 100^2 * 1e-4 * 2 / 2.0001) / 2.0001. */
    VecNorm vn;
    vecnorm_init(&vn, 2, 2, 1, 1, 0.99, 10.0, 10.0);
    const float raw[4] = {1, 100, 3, 100};
    float out[4];
    vecnorm_obs(&vn, raw, out, 1);
    const double c = 2.0001;
    const double mean[2] = {4 / c, 200 / c};
    const double var[2] = {(1e-4 + 2 + 4 * 1e-4 * 2 / c) / c, (1e-4 + 1e4 * 1e-4 * 2 / c) / c};
    for (int d = 0; d < 2; d++) {
        cr_expect(tu_rel(vn.obs_rms.mean[d], mean[d]) < 1e-12);
        cr_expect(tu_rel(vn.obs_rms.var[d], var[d]) < 1e-12, "var %.17g vs %.17g", vn.obs_rms.var[d], var[d]);
    }
    for (int i = 0; i < 2; i++)
        for (int d = 0; d < 2; d++) {
            double z = (raw[i * 2 + d] - mean[d]) / sqrt(var[d] + 1e-8);
            cr_expect(fabs(out[i * 2 + d] - z) < 1e-6 * (1 + fabs(z)), "i=%d d=%d %g vs %g", i, d,
                      out[i * 2 + d], z);
        }
    /* Without an update the stats stay; a far-off value is clipped to +-clip_obs. */
    const float far[4] = {1e6f, -1e6f, 2, 100};
    vecnorm_normalize_obs(&vn, far, out, 2);
    cr_expect_eq(out[0], 10.0f);
    cr_expect_eq(out[1], -10.0f);
    vecnorm_obs(&vn, far, out, 0);
    cr_expect(tu_rel(vn.obs_rms.mean[0], mean[0]) < 1e-12, "update = 0 leaves the stats");
    cr_expect_eq(vn.obs_rms.count, 1e-4 + 2);
    vecnorm_free(&vn);
}

Test(vecnorm, norm_obs_off_copies) {
    VecNorm vn;
    vecnorm_init(&vn, 2, 3, 0, 0, 0.99, 10.0, 10.0);
    const float raw[6] = {1, -2, 300, 4, 5, -600};
    float out[6], rew[2];
    vecnorm_obs(&vn, raw, out, 1);
    cr_expect_eq(memcmp(raw, out, sizeof raw), 0);
    cr_expect_eq(vn.obs_rms.count, 1e-4, "no obs stats without norm_obs");
    const float r[2] = {123.0f, -7.0f};
    const unsigned char done[2] = {0, 1};
    vecnorm_reward(&vn, r, done, rew, 1);
    cr_expect_eq(rew[0], 123.0f);
    cr_expect_eq(rew[1], -7.0f);
    vecnorm_free(&vn);
}

Test(vecnorm, reward_scaled_by_running_std_of_discounted_return) {
    /* The recurrence by hand: R_i <- gamma R_i + r_i for each env; all R values seen so far
     * (pooled with the prior) give var; the output is clip(r / sqrt(var + 1e-8), +-10);
     * R_i <- 0 after a step where env i is done. */
    enum { N = 3, T = 12 };
    const double gamma = 0.9;
    VecNorm vn;
    vecnorm_init(&vn, N, 1, 1, 1, gamma, 10.0, 10.0);
    vecnorm_reset(&vn);
    Rng rng;
    rng_seed(&rng, 6, 0);
    double R[N] = {0}, seen[N * T];
    int nseen = 0;
    float r[N], out[N];
    unsigned char done[N];
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < N; i++) {
            r[i] = (float)rng_uniform_range(&rng, -1, 2);
            done[i] = (unsigned char)((t + i) % 5 == 4);
        }
        vecnorm_reward(&vn, r, done, out, 1);
        for (int i = 0; i < N; i++) {
            R[i] = gamma * R[i] + r[i];
            seen[nseen++] = R[i];
        }
        double m, v;
        pooled(seen, nseen, 1, 0, &m, &v);
        for (int i = 0; i < N; i++) {
            double want = fmax(-10, fmin(10, r[i] / sqrt(v + 1e-8)));
            cr_expect(fabs(out[i] - want) < 1e-6 * (1 + fabs(want)), "t=%d i=%d %.9g vs %.9g", t, i,
                      out[i], want);
            if (done[i]) R[i] = 0;
            cr_expect(fabs(vn.returns[i] - R[i]) < 1e-12, "t=%d i=%d returns", t, i);
        }
    }
    vecnorm_free(&vn);
}

Test(vecnorm, large_first_reward_is_clipped_to_10) {
    /* Returns (1000, 1000): batch var 0, pooled var = (1e-4 + 1e6 * 1e-4 * 2 / 2.0001) /
     * 2.0001 ~ 50, so 1000 / 7.07 ~ 141 is clipped to 10; -1000 likewise to -10 in the
     * next env. */
    VecNorm vn;
    vecnorm_init(&vn, 2, 1, 1, 1, 0.99, 10.0, 10.0);
    const float r[2] = {1000.0f, 1000.0f};
    const unsigned char done[2] = {1, 0};
    float out[2];
    vecnorm_reward(&vn, r, done, out, 1);
    cr_expect_eq(out[0], 10.0f);
    cr_expect_eq(out[1], 10.0f);
    double v = (1e-4 + 1e6 * 1e-4 * 2 / 2.0001) / 2.0001;
    cr_expect(tu_rel(vn.ret_rms.var[0], v) < 1e-12);
    cr_expect_eq(vn.returns[0], 0.0, "done resets the return");
    cr_expect_eq(vn.returns[1], 1000.0);
    /* update = 0 (evaluation) leaves the returns and stats, and only scales. */
    const float r2[2] = {-1000.0f, 7.0f};
    const unsigned char nd[2] = {0, 0};
    vecnorm_reward(&vn, r2, nd, out, 0);
    cr_expect_eq(out[0], -10.0f);
    cr_expect(fabs(out[1] - 7.0 / sqrt(v + 1e-8)) < 1e-6);
    cr_expect_eq(vn.returns[1], 1000.0);
    cr_expect(tu_rel(vn.ret_rms.var[0], v) < 1e-12);
    vecnorm_free(&vn);
}
