/* test_dist.c: SB3's action distributions (src/rl/dist.c) against closed forms computed here in
 * double, sampling moments against the distributions' parameters, and the backward functions
 * against central differences of those closed forms.
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
