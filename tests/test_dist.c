/* test_dist.c: SB3's action distributions (src/rl/dist.c) against closed forms computed here in
 * double, sampling moments against the distributions' parameters, and the backward functions
 * against central differences of those closed forms; at the game's sizes (9 to 201 levels, the
 * game's SoC masks) against PyTorch row by row, with the expected level the market sees, and
 * sampling by a chi-square test.
 *
 * Legend: A Gaussian action dims, K categorical logits.
 * Closed forms (independent of dist.c's arrangement):
 *   Gaussian: log N(x; mu, s) = -log(s sqrt(2 pi)) - (x - mu)^2 / (2 s^2), s = exp(log_std), summed over
 *   dims; entropy = log(s sqrt(2 pi e)) summed over dims.
 *   Masked categorical (sb3-contrib MaskableCategorical): p_k = exp(z_k) / sum_{valid j} exp(z_j) for a
 *   valid k, 0 otherwise; entropy = -sum_{valid k} p_k log p_k. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "grid/fleet.h"
#include "rl/dist.h"
#include "testutil.h"
#include "util/rng.h"

static const double PI = 3.14159265358979323846;

static double gauss_logp_ref(const double *mu, const double *ls, const double *x, int A) {
    double s = 0;
    for (int a = 0; a < A; a++) {
        double sd = exp(ls[a]);
        s += -log(sd * sqrt(2 * PI)) - (x[a] - mu[a]) * (x[a] - mu[a]) / (2 * sd * sd);
    }
    return s;
}

static double gauss_entropy_ref(const double *ls, int A) {
    double s = 0;
    for (int a = 0; a < A; a++) s += log(exp(ls[a]) * sqrt(2 * PI * exp(1.0)));
    return s;
}

/* log p_a and entropy of the masked categorical, in double. */
static double cat_ref(const double *z, const unsigned char *mask, int K, int a, double *H) {
    double sum = 0;
    for (int k = 0; k < K; k++)
        if (!mask || mask[k]) sum += exp(z[k]);
    double h = 0;
    for (int k = 0; k < K; k++)
        if (!mask || mask[k]) {
            double p = exp(z[k]) / sum;
            h -= p * log(p);
        }
    *H = h;
    return log(exp(z[a]) / sum);
}

static void to_double(double *d, const float *f, int n) {
    for (int i = 0; i < n; i++) d[i] = f[i];
}

/* ---- Gaussian */

Test(dist_gauss, logp_and_entropy_match_closed_form) {
    enum { A = 3 };
    const float mu[A] = {0.3f, -1.2f, 2.0f}, ls[A] = {-0.7f, 0.0f, 0.4f}, x[A] = {1.1f, -1.25f, -0.5f};
    double mud[A], lsd[A], xd[A];
    to_double(mud, mu, A);
    to_double(lsd, ls, A);
    to_double(xd, x, A);
    double lp = dist_gauss_logp(mu, ls, x, A), want = gauss_logp_ref(mud, lsd, xd, A);
    cr_expect(fabs(lp - want) < 1e-12 * fmax(1, fabs(want)), "log p %.15g, closed form %.15g", lp, want);
    double H = dist_gauss_entropy(ls, A), wantH = gauss_entropy_ref(lsd, A);
    cr_expect(fabs(H - wantH) < 1e-12, "entropy %.15g, closed form %.15g", H, wantH);
    /* One dim by hand: mu 0, log_std 0, x 1: -log sqrt(2 pi) - 1/2 = -1.4189385332046727. */
    const float z = 0.0f, one = 1.0f;
    cr_expect(fabs(dist_gauss_logp(&z, &z, &one, 1) - -1.4189385332046727) < 1e-15);
    /* Entropy of N(0, 1): 1/2 log(2 pi e) = 1.4189385332046727. */
    cr_expect(fabs(dist_gauss_entropy(&z, 1) - 1.4189385332046727) < 1e-15);
}

Test(dist_gauss, samples_have_the_mean_and_std_of_the_distribution) {
    enum { A = 2 };
    const int n = tu_asan() ? 40000 : 400000;
    const float mu[A] = {0.5f, -2.0f}, ls[A] = {-1.0f, 0.5f};
    Rng r;
    rng_seed(&r, 42, 0);
    double s[A] = {0}, s2[A] = {0};
    float x[A];
    for (int i = 0; i < n; i++) {
        dist_gauss_sample(mu, ls, A, &r, x);
        for (int a = 0; a < A; a++) {
            s[a] += x[a];
            s2[a] += (double)x[a] * x[a];
        }
    }
    for (int a = 0; a < A; a++) {
        double m = s[a] / n, sd = sqrt(s2[a] / n - m * m), sigma = exp((double)ls[a]);
        /* Five standard errors: sigma / sqrt(n) for the mean, sigma / sqrt(2n) for the std. */
        cr_expect(fabs(m - mu[a]) < 5 * sigma / sqrt(n), "dim %d: sample mean %.5f, mu %.5f", a, m, mu[a]);
        cr_expect(fabs(sd - sigma) < 5 * sigma / sqrt(2.0 * n), "dim %d: sample std %.5f, sigma %.5f", a, sd,
                  sigma);
    }
}

Test(dist_gauss, backward_matches_central_differences_of_the_closed_form) {
    /* L = g_logp * log p(x) + g_ent * H; dist_gauss_backward accumulates dL/dmu and dL/dlog_std.
     * The closed form is smooth and in double: h = 1e-5 gives truncation ~1e-10, rounding ~1e-11. */
    enum { A = 3 };
    const float mu[A] = {0.3f, -1.2f, 2.0f}, ls[A] = {-0.7f, 0.0f, 0.4f}, x[A] = {1.1f, -1.25f, -0.5f};
    const double g_logp = -0.8, g_ent = 0.03, h = 1e-5;
    float dmu[A] = {0.25f, 0.25f, 0.25f}, dls[A] = {-0.5f, -0.5f, -0.5f}; /* accumulated into */
    dist_gauss_backward(mu, ls, x, A, g_logp, g_ent, dmu, dls);
    double mud[A], lsd[A], xd[A];
    to_double(mud, mu, A);
    to_double(lsd, ls, A);
    to_double(xd, x, A);
    for (int a = 0; a < A; a++) {
        double *vars[2] = {mud, lsd};
        const float *got[2] = {dmu, dls};
        const float base[2] = {0.25f, -0.5f};
        for (int w = 0; w < 2; w++) {
            double keep = vars[w][a], L[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                vars[w][a] = keep + (sgn ? -h : h);
                L[sgn] = g_logp * gauss_logp_ref(mud, lsd, xd, A) + g_ent * gauss_entropy_ref(lsd, A);
            }
            vars[w][a] = keep;
            double fd = (L[0] - L[1]) / (2 * h), an = (double)got[w][a] - base[w];
            cr_expect(fabs(an - fd) < 1e-6 * fmax(1, fabs(fd)), "d%s[%d]: backward %.9g, central difference %.9g",
                      w ? "log_std" : "mean", a, an, fd);
        }
    }
}

/* ---- masked categorical */

Test(dist_cat, logsoftmax_and_entropy_match_closed_form_with_and_without_mask) {
    enum { K = 5 };
    const float z[K] = {0.5f, 3.0f, -1.0f, 0.2f, 1.7f};
    const unsigned char mask[K] = {1, 0, 1, 1, 0};
    double zd[K];
    to_double(zd, z, K);
    for (int m = 0; m < 2; m++) {
        const unsigned char *mk = m ? mask : NULL;
        float lp[K];
        double H = dist_cat_logsoftmax(z, mk, K, lp);
        double wantH;
        cat_ref(zd, mk, K, 0, &wantH);
        /* Float32 arithmetic, as PyTorch's log_softmax: entropy to float precision. */
        cr_expect(fabs(H - wantH) < 1e-6 * fmax(1, fabs(wantH)), "mask %d: entropy %.15g, closed form %.15g", m, H, wantH);
        for (int k = 0; k < K; k++) {
            if (mk && !mk[k]) {
                cr_expect(lp[k] == -INFINITY, "masked action %d: log p %g, want -inf", k, lp[k]);
                continue;
            }
            double dummy, want = cat_ref(zd, mk, K, k, &dummy);
            cr_expect(fabs(lp[k] - want) < 1e-6 * fmax(1, fabs(want)), "mask %d: log p[%d] %.9g, closed form %.9g",
                      m, k, lp[k], want);
        }
    }
    /* By hand: valid logits {0.5, -1.0, 0.2}: sum exp = 1.6487212707 + 0.3678794412 + 1.2214027582
     * = 3.2380034701, so log p_0 = 0.5 - log 3.2380034701 = 0.5 - 1.1749569 = -0.6749569. */
    float lp[K];
    dist_cat_logsoftmax(z, mask, K, lp);
    cr_expect(fabs(lp[0] - -0.6749569) < 1e-6, "log p_0 = %.9g", lp[0]);
    /* A single valid action: probability 1, entropy 0. */
    const unsigned char one[K] = {0, 0, 0, 1, 0};
    cr_expect(dist_cat_logsoftmax(z, one, K, lp) == 0.0);
    cr_expect(lp[3] == 0.0f);
}

Test(dist_cat, mode_is_the_most_likely_valid_action) {
    enum { K = 5 };
    const float z[K] = {0.5f, 3.0f, -1.0f, 0.2f, 1.7f};
    const unsigned char mask[K] = {1, 0, 1, 1, 0};
    float lp[K];
    dist_cat_logsoftmax(z, NULL, K, lp);
    cr_expect_eq(dist_cat_mode(lp, K), 1);
    dist_cat_logsoftmax(z, mask, K, lp);
    cr_expect_eq(dist_cat_mode(lp, K), 0, "the largest logit (action 1) is masked");
    /* Ties: SB3's mode is torch.argmax, which returns the first maximal index (its docs). */
    const float tie[K] = {0.5f, 2.0f, -1.0f, 2.0f, 2.0f};
    const unsigned char no1[K] = {1, 0, 1, 1, 1};
    dist_cat_logsoftmax(tie, NULL, K, lp);
    cr_expect_eq(dist_cat_mode(lp, K), 1, "three tied logits: the first");
    dist_cat_logsoftmax(tie, no1, K, lp);
    cr_expect_eq(dist_cat_mode(lp, K), 3, "the first valid one of the ties");
}

Test(dist_cat, sample_frequencies_match_probabilities_and_masked_actions_never_occur) {
    enum { K = 5 };
    const float z[K] = {0.5f, 3.0f, -1.0f, 0.2f, 1.7f};
    const unsigned char mask[K] = {1, 0, 1, 1, 0}; /* the two most likely actions are invalid */
    const int n = tu_asan() ? 40000 : 400000;
    double zd[K];
    to_double(zd, z, K);
    float lp[K];
    dist_cat_logsoftmax(z, mask, K, lp);
    Rng r;
    rng_seed(&r, 9, 0);
    long count[K] = {0};
    for (int i = 0; i < n; i++) {
        int k = dist_cat_sample(lp, K, &r);
        cr_assert(k >= 0 && k < K);
        count[k]++;
    }
    for (int k = 0; k < K; k++) {
        if (!mask[k]) {
            cr_expect_eq(count[k], 0, "masked action %d sampled %ld times", k, count[k]);
            continue;
        }
        double H, p = exp(cat_ref(zd, mask, K, k, &H)), f = (double)count[k] / n;
        cr_expect(fabs(f - p) < 5 * sqrt(p * (1 - p) / n), "action %d: frequency %.5f, probability %.5f", k, f, p);
    }
}

Test(dist_cat, backward_matches_central_differences_of_the_closed_form) {
    /* L = g_logp * log p_a + g_ent * H over the valid logits; invalid logits get no gradient
     * (sb3-contrib replaces them by a constant before the softmax). */
    enum { K = 5 };
    const float z[K] = {0.5f, 3.0f, -1.0f, 0.2f, 1.7f};
    const unsigned char mask[K] = {1, 0, 1, 1, 0};
    const double g_logp = 0.7, g_ent = -0.05, h = 1e-5;
    for (int m = 0; m < 2; m++) {
        const unsigned char *mk = m ? mask : NULL;
        const int a = 2;
        float lp[K], d[K] = {0};
        double H = dist_cat_logsoftmax(z, mk, K, lp);
        dist_cat_backward(lp, K, a, H, g_logp, g_ent, d);
        double zd[K];
        to_double(zd, z, K);
        for (int k = 0; k < K; k++) {
            double keep = zd[k], L[2], Hk;
            for (int sgn = 0; sgn < 2; sgn++) {
                zd[k] = keep + (sgn ? -h : h);
                double lpa = cat_ref(zd, mk, K, a, &Hk);
                L[sgn] = g_logp * lpa + g_ent * Hk;
            }
            zd[k] = keep;
            double fd = (L[0] - L[1]) / (2 * h);
            /* lp is float32: exp(lp) carries ~1e-7 relative error into d. */
            cr_expect(fabs(d[k] - fd) < 1e-6, "mask %d: dL/dz[%d] backward %.9g, central difference %.9g", m, k,
                      d[k], fd);
            if (mk && !mk[k]) cr_expect_eq(d[k], 0.0f, "masked logit %d got a gradient", k);
        }
    }
}

/* ---- the game's sizes against PyTorch
 * tests/data/ppo/catK.txt (tools/gen_ppo_reference.py: sb3-contrib's MaskableCategorical in
 * PyTorch, float64 on the float32 logits), K = 9, 16, 17, 33 (one lane block plus a scalar
 * tail, two whole blocks, ...) and 201 (the aggregators' levels), 12 rows each: the game's SoC
 * masks (soc >= 0; soc 1 and 0 leave only discharging or only charging), random masks, a single
 * valid level in the tail, no mask, and logits spread over ~100 nats.
 * Tolerances, 1e-5 relative, with floors where a relative error means nothing:
 *   log-probabilities relative to max(|lp|, 1): lp = (z - max) - log(sum) in float32 rounds
 *     to ~1e-7 of the logits' scale, so an lp near 0 is only known absolutely;
 *   probabilities relative to max(p, 1e-30): float32 keeps no normal number below 1.2e-38 and
 *     dist.c stops its exp at e^-87 (the wide row has valid levels far below that);
 *   the entropy relative to max(H, 0.01): log(sum) in float32 is off by up to half an ulp of
 *     1 (6e-8), which is all of a nearly deterministic row's entropy (the wide row: H ~ 1e-5);
 *   the gradient relative to max(|x|, 1e-3 of the row's largest entry);
 *   the expected level (in [-1, 1]) relative to max(|x|, 0.01), one level step of the game. */

enum { CAT_ROWS_MAX = 16, CAT_K_MAX = 256 };
static const double CAT_TOL = 1e-5;

typedef struct {
    int K, R;
    const double *soc, *logits, *mask, *act, *g_logp, *g_ent; /* inputs: (R), (R, K) x2, (R) x3 */
    const double *lp, *p, *H, *dz, *level;                    /* PyTorch: (R, K) x2, (R), (R, K), (R) */
    TuRef f;
} CatRef;

static const double *cat_sec(const TuRef *f, const char *name, size_t want) {
    const double *v = tu_ref_sec(f, name, want);
    cr_assert(v, "section %s missing or not of %zu values", name, want);
    return v;
}

static void cat_load(CatRef *c, int K) {
    char path[64], err[256];
    snprintf(path, sizeof path, "tests/data/ppo/cat%d.txt", K);
    cr_assert(tu_ref_read(&c->f, path, err, sizeof err) == 0, "%s", err);
    c->K = (int)cat_sec(&c->f, "K", 1)[0];
    c->R = (int)cat_sec(&c->f, "rows", 1)[0];
    cr_assert(c->K == K && c->R >= 1 && c->R <= CAT_ROWS_MAX && K <= CAT_K_MAX);
    size_t R = (size_t)c->R, RK = R * (size_t)K;
    c->soc = cat_sec(&c->f, "soc", R);
    c->logits = cat_sec(&c->f, "logits", RK);
    c->mask = cat_sec(&c->f, "mask", RK);
    c->act = cat_sec(&c->f, "act", R);
    c->g_logp = cat_sec(&c->f, "g_logp", R);
    c->g_ent = cat_sec(&c->f, "g_ent", R);
    c->lp = cat_sec(&c->f, "lp", RK);
    c->p = cat_sec(&c->f, "p", RK);
    c->H = cat_sec(&c->f, "entropy", R);
    c->dz = cat_sec(&c->f, "dlogits", RK);
    c->level = cat_sec(&c->f, "level", R);
}

/* Worst relative errors over a file, by quantity. */
typedef struct {
    double lp, p, p_from_lp, H, dz, dz_from_lp, level;
} CatErr;

static double rel_floor(double got, double want, double floor) {
    return got == want ? 0.0 : fabs(got - want) / fmax(fabs(want), floor);
}

static void check_cat_against_torch(int K) {
    CatRef c;
    cat_load(&c, K);
    CatErr worst = {0};
    for (int r = 0; r < c.R; r++) {
        const double *zr = c.logits + (size_t)r * K, *mr = c.mask + (size_t)r * K;
        const double *lpr = c.lp + (size_t)r * K, *pr = c.p + (size_t)r * K, *dzr = c.dz + (size_t)r * K;
        float z[CAT_K_MAX], lp[CAT_K_MAX], p[CAT_K_MAX], p2[CAT_K_MAX], d[CAT_K_MAX] = {0}, d2[CAT_K_MAX] = {0};
        unsigned char m[CAT_K_MAX];
        for (int k = 0; k < K; k++) {
            z[k] = (float)zr[k];
            m[k] = (unsigned char)mr[k];
        }
        if (c.soc[r] >= 0) {
            /* The file's mask is the generator's own reading of the game's rule. */
            unsigned char fm[CAT_K_MAX];
            fleet_mask(c.soc[r], K, 1e-9, fm);
            cr_expect(memcmp(fm, m, (size_t)K) == 0, "K %d row %d: fleet_mask(soc %.6f) differs from the reference", K,
                      r, c.soc[r]);
        }
        double H = dist_cat_forward(z, m, K, lp, p);
        dist_cat_probs(lp, K, p2);
        const int a = (int)c.act[r];
        dist_cat_backward_p(lp, p, K, a, H, c.g_logp[r], c.g_ent[r], d);
        dist_cat_backward(lp, K, a, H, c.g_logp[r], c.g_ent[r], d2);
        double dscale = 0;
        for (int k = 0; k < K; k++) dscale = fmax(dscale, fabs(dzr[k]));
        int best = -1;
        for (int k = 0; k < K; k++) {
            if (!m[k]) {
                cr_expect(lp[k] == -INFINITY && p[k] == 0.0f && p2[k] == 0.0f && d[k] == 0.0f && d2[k] == 0.0f,
                          "K %d row %d: masked level %d: lp %g p %g %g d %g %g", K, r, k, lp[k], p[k], p2[k], d[k],
                          d2[k]);
                continue;
            }
            if (best < 0 || pr[k] > pr[best]) best = k;
            double e[4] = {rel_floor(lp[k], lpr[k], 1.0), rel_floor(p[k], pr[k], 1e-30),
                           rel_floor(p2[k], pr[k], 1e-30), rel_floor(d[k], dzr[k], 1e-3 * dscale)};
            double e_d2 = rel_floor(d2[k], dzr[k], 1e-3 * dscale);
            worst.lp = fmax(worst.lp, e[0]);
            worst.p = fmax(worst.p, e[1]);
            worst.p_from_lp = fmax(worst.p_from_lp, e[2]);
            worst.dz = fmax(worst.dz, e[3]);
            worst.dz_from_lp = fmax(worst.dz_from_lp, e_d2);
            cr_expect(e[0] <= CAT_TOL && e[1] <= CAT_TOL && e[2] <= CAT_TOL && e[3] <= CAT_TOL && e_d2 <= CAT_TOL,
                      "K %d row %d level %d: lp %.9g (torch %.9g), p %.9g / from lp %.9g (torch %.9g), dL/dz %.9g / "
                      "%.9g (torch %.9g)",
                      K, r, k, lp[k], lpr[k], p[k], p2[k], pr[k], d[k], d2[k], dzr[k]);
        }
        double eH = rel_floor(H, c.H[r], 1e-2);
        worst.H = fmax(worst.H, eH);
        cr_expect(eH <= CAT_TOL, "K %d row %d: entropy %.9g, torch %.9g", K, r, H, c.H[r]);
        cr_expect_eq(dist_cat_mode(lp, K), best, "K %d row %d: mode %d, torch's most likely level %d", K, r,
                     dist_cat_mode(lp, K), best);
        /* Expected level sum_k p_k a_k, a_k = -1 + 2k/(K-1): the game's path (fleet_expected_level,
         * which clips to the SoC's range: a no-op for a distribution on feasible levels) for SoC
         * masks, the plain sum otherwise. */
        double level;
        if (c.soc[r] >= 0) {
            level = fleet_expected_level(p, m, K, c.soc[r]);
        } else {
            level = 0;
            for (int k = 0; k < K; k++) level += p[k] * (-1.0 + 2.0 * k / (K - 1));
        }
        double eL = rel_floor(level, c.level[r], 0.01);
        worst.level = fmax(worst.level, eL);
        cr_expect(eL <= CAT_TOL, "K %d row %d: expected level %.9g, torch %.9g", K, r, level, c.level[r]);
    }
    cr_log_info("cat K %3d (%d rows): max rel lp %.1e, p %.1e (from lp %.1e), entropy %.1e, dL/dz %.1e (from lp "
                "%.1e), level %.1e",
                K, c.R, worst.lp, worst.p, worst.p_from_lp, worst.H, worst.dz, worst.dz_from_lp, worst.level);
    tu_ref_free(&c.f);
}

Test(dist_cat_vs_torch, k9_one_lane_block_and_a_tail) { check_cat_against_torch(9); }
Test(dist_cat_vs_torch, k16_two_lane_blocks) { check_cat_against_torch(16); }
Test(dist_cat_vs_torch, k17_two_blocks_and_a_tail) { check_cat_against_torch(17); }
Test(dist_cat_vs_torch, k33_four_blocks_and_a_tail) { check_cat_against_torch(33); }
Test(dist_cat_vs_torch, k201_the_aggregators_levels) { check_cat_against_torch(201); }

/* ---- sampling at the game's sizes: a chi-square goodness-of-fit test
 * Draws from the row's distribution (our probabilities, through both samplers: from p as the
 * rollout does, and from lp) are binned by level; levels expected fewer than 5 times are pooled
 * into one bin (dropped if the pool itself expects < 5). Expected counts come from PyTorch's
 * probabilities. The statistic sum (O - E)^2 / E is compared with the chi-square quantile at
 * significance 1e-3 for df = bins - 1 (Wilson-Hilferty: df (1 - 2/(9 df) + z sqrt(2/(9 df)))^3,
 * z = 3.0902; scipy's exact quantile is 1.4% lower at df 4, 0.3% at df 17, 0.04% at df 100, so
 * the test is a shade more lenient than 1e-3 for few bins): a correct sampler fails one seed in
 * a thousand; the seeds are fixed, so the test is deterministic. Masked levels must never occur. */

static double chi2_quantile_999(int df) {
    const double z = 3.0902323061678132, c = 2.0 / (9.0 * df);
    double t = 1.0 - c + z * sqrt(c);
    return df * t * t * t;
}

static void check_sampling(int K, int row, uint64_t seed) {
    CatRef c;
    cat_load(&c, K);
    cr_assert(row < c.R);
    const int n = tu_asan() ? 40000 : 400000;
    float z[CAT_K_MAX], lp[CAT_K_MAX], p[CAT_K_MAX];
    unsigned char m[CAT_K_MAX];
    for (int k = 0; k < K; k++) {
        z[k] = (float)c.logits[(size_t)row * K + k];
        m[k] = (unsigned char)c.mask[(size_t)row * K + k];
    }
    const double *pt = c.p + (size_t)row * K;
    dist_cat_forward(z, m, K, lp, p);
    for (int path = 0; path < 2; path++) {
        Rng r;
        rng_seed(&r, seed, (uint64_t)path);
        long count[CAT_K_MAX] = {0};
        for (int i = 0; i < n; i++) {
            int k = path ? dist_cat_sample(lp, K, &r) : dist_cat_sample_p(p, K, &r);
            cr_assert(k >= 0 && k < K);
            count[k]++;
        }
        double chi2 = 0, pool_o = 0, pool_e = 0;
        int bins = 0, valid = 0;
        for (int k = 0; k < K; k++) {
            if (!m[k]) {
                cr_expect_eq(count[k], 0, "K %d row %d: masked level %d drawn %ld times", K, row, k, count[k]);
                continue;
            }
            valid++;
            double e = n * pt[k];
            if (e < 5) {
                pool_o += count[k];
                pool_e += e;
                continue;
            }
            chi2 += (count[k] - e) * (count[k] - e) / e;
            bins++;
        }
        if (pool_e >= 5) {
            chi2 += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
            bins++;
        }
        cr_assert(bins >= 3, "K %d row %d: %d bins, too few for the test", K, row, bins);
        double crit = chi2_quantile_999(bins - 1);
        cr_log_info("sampling K %d row %d (%s): %d valid levels, %d bins, chi2 %.1f, 0.999 quantile %.1f", K, row,
                    path ? "from lp" : "from p", valid, bins, chi2, crit);
        cr_expect(chi2 < crit, "K %d row %d (%s): chi2 %.1f >= %.1f (df %d, significance 1e-3)", K, row,
                  path ? "from lp" : "from p", chi2, crit, bins - 1);
    }
    tu_ref_free(&c.f);
}

Test(dist_cat_sampling, k201_soc_half_levels_minus_half_to_half) { check_sampling(201, 2, 71); }
Test(dist_cat_sampling, k201_soc_drawn_at_random) { check_sampling(201, 3, 72); }
Test(dist_cat_sampling, k201_no_mask) { check_sampling(201, 10, 73); }
Test(dist_cat_sampling, k17_random_mask) { check_sampling(17, 6, 74); }
Test(dist_cat_sampling, k33_random_mask) { check_sampling(33, 7, 75); }
Test(dist_cat_sampling, k9_soc_one_discharging_only) { check_sampling(9, 0, 76); }
