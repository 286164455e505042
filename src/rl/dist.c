/* dist.c: log-probabilities, entropies, samples and gradients of SB3's distributions. */
#include "rl/dist.h"

#include "util/common.h"

#include <math.h>

#define LOG_SQRT_2PI 0.91893853320467274178

double dist_gauss_logp(const float *mean, const float *log_std, const float *x, int A) {
    double s = 0;
    for (int a = 0; a < A; a++) {
        double sd = exp((double)log_std[a]);
        double z = ((double)x[a] - mean[a]) / sd;
        s += -0.5 * z * z - log_std[a] - LOG_SQRT_2PI;
    }
    return s;
}

double dist_gauss_entropy(const float *log_std, int A) {
    double s = 0;
    for (int a = 0; a < A; a++) s += 0.5 + LOG_SQRT_2PI + log_std[a];
    return s;
}

void dist_gauss_sample(const float *mean, const float *log_std, int A, Rng *rng, float *x) {
    for (int a = 0; a < A; a++) x[a] = (float)(mean[a] + exp((double)log_std[a]) * rng_normal(rng));
}

void dist_gauss_backward(const float *mean, const float *log_std, const float *x, int A, double g_logp,
                         double g_ent, float *d_mean, float *d_log_std) {
    /* dlogp/dmu = (x - mu)/sigma^2;  dlogp/dlog_std = (x - mu)^2/sigma^2 - 1;  dH/dlog_std = 1 */
    for (int a = 0; a < A; a++) {
        double var = exp(2.0 * log_std[a]);
        double diff = (double)x[a] - mean[a];
        d_mean[a] += (float)(g_logp * diff / var);
        d_log_std[a] += (float)(g_logp * (diff * diff / var - 1.0) + g_ent);
    }
}

/* ---- categorical ----
 * A 201-way masked softmax per sample dominated the tariff game when written with double
 * exp and fmax calls; float expf (glibc's is table-driven, ~0.5 ns) and plain compares keep
 * it a small part of an update. PyTorch's log_softmax works in float32 too. */

#define CAT_MAX 1024

double dist_cat_logsoftmax(const float *logits, const unsigned char *mask, int K, float *lp) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX);
    float mx = -INFINITY;
    for (int k = 0; k < K; k++)
        if ((!mask || mask[k]) && logits[k] > mx) mx = logits[k];
    float z[CAT_MAX], e[CAT_MAX];
    double sum = 0;
    for (int k = 0; k < K; k++) {
        int valid = !mask || mask[k];
        z[k] = valid ? logits[k] - mx : 0.0f;
        e[k] = valid ? expf(z[k]) : 0.0f;
        sum += e[k];
    }
    float lse = (float)log(sum);
    double inv_sum = 1.0 / sum;
    double H = 0;
    for (int k = 0; k < K; k++) {
        if (mask && !mask[k]) {
            lp[k] = -INFINITY;
            continue;
        }
        lp[k] = z[k] - lse;
        H -= e[k] * inv_sum * lp[k];
    }
    return H;
}

void dist_cat_probs(const float *lp, int K, float *p) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX);
    for (int k = 0; k < K; k++) p[k] = lp[k] == -INFINITY ? 0.0f : expf(lp[k]);
}

int dist_cat_sample(const float *lp, int K, Rng *rng) {
    double u = rng_uniform(rng), c = 0;
    int last = 0;
    for (int k = 0; k < K; k++) {
        if (lp[k] == -INFINITY) continue;
        last = k;
        c += exp((double)lp[k]);
        if (u < c) return k;
    }
    return last; /* rounding left u above the total */
}

int dist_cat_mode(const float *lp, int K) {
    int best = 0;
    float bv = -INFINITY;
    for (int k = 0; k < K; k++)
        if (lp[k] > bv) {
            bv = lp[k];
            best = k;
        }
    return best;
}

void dist_cat_backward(const float *lp, int K, int a, double H, double g_logp, double g_ent,
                       float *d_logits) {
    /* dlogp_a/dz_k = 1[k = a] - p_k;  dH/dz_k = -p_k (lp_k + H); invalid actions: p_k = 0. */
    float p[CAT_MAX];
    dist_cat_probs(lp, K, p);
    for (int k = 0; k < K; k++) {
        if (lp[k] == -INFINITY) continue;
        double pk = p[k];
        double d = g_logp * ((k == a) - pk) - g_ent * pk * ((double)lp[k] + H);
        d_logits[k] += (float)d;
    }
}
