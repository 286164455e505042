/* dist.c: log-probabilities, entropies, samples and gradients of SB3's distributions. */
#include "rl/dist.h"

#include "nn/simd.h"
#include "util/common.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LOG_SQRT_2PI 0.91893853320467274178

void dist_gauss_prepare(DistGauss *g, const float *log_std, int A) {
    SB_ASSERT(A >= 1 && A <= DIST_GAUSS_MAX);
    g->A = A;
    g->log_std = log_std;
    for (int a = 0; a < A; a++) {
        g->sd[a] = exp((double)log_std[a]);
        g->var[a] = exp(2.0 * log_std[a]);
    }
}

double dist_gauss_logp_p(const DistGauss *g, const float *mean, const float *x) {
    double s = 0;
    for (int a = 0; a < g->A; a++) {
        double z = ((double)x[a] - mean[a]) / g->sd[a];
        s += -0.5 * z * z - g->log_std[a] - LOG_SQRT_2PI;
    }
    return s;
}

double dist_gauss_logp(const float *mean, const float *log_std, const float *x, int A) {
    DistGauss g;
    dist_gauss_prepare(&g, log_std, A);
    return dist_gauss_logp_p(&g, mean, x);
}

double dist_gauss_entropy(const float *log_std, int A) {
    double s = 0;
    for (int a = 0; a < A; a++) s += 0.5 + LOG_SQRT_2PI + log_std[a];
    return s;
}

void dist_gauss_sample_p(const DistGauss *g, const float *mean, Rng *rng, float *x) {
    for (int a = 0; a < g->A; a++) x[a] = (float)(mean[a] + g->sd[a] * rng_normal(rng));
}

void dist_gauss_sample(const float *mean, const float *log_std, int A, Rng *rng, float *x) {
    DistGauss g;
    dist_gauss_prepare(&g, log_std, A);
    dist_gauss_sample_p(&g, mean, rng, x);
}

void dist_gauss_backward_p(const DistGauss *g, const float *mean, const float *x, double g_logp, double g_ent,
                           float *d_mean, float *d_log_std) {
    /* dlogp/dmu = (x - mu)/sigma^2;  dlogp/dlog_std = (x - mu)^2/sigma^2 - 1;  dH/dlog_std = 1 */
    for (int a = 0; a < g->A; a++) {
        double diff = (double)x[a] - mean[a];
        d_mean[a] += (float)(g_logp * diff / g->var[a]);
        d_log_std[a] += (float)(g_logp * (diff * diff / g->var[a] - 1.0) + g_ent);
    }
}

void dist_gauss_backward(const float *mean, const float *log_std, const float *x, int A, double g_logp,
                         double g_ent, float *d_mean, float *d_log_std) {
    DistGauss g;
    dist_gauss_prepare(&g, log_std, A);
    dist_gauss_backward_p(&g, mean, x, g_logp, g_ent, d_mean, d_log_std);
}

/* ---- categorical ----
 * A 201-way masked softmax per sample is the largest cost of the tariff game's follower
 * updates, so it runs eight lanes at a time (GCC vector extensions, src/nn/simd.h, compiled per
 * CPU by NN_DISPATCH): a branch-free exp (Cephes-style 2^n P(r), r = x - n ln2, degree-6
 * polynomial, within 2 float ulps for x <= 0), lane-wise selects for the mask, reductions with
 * eight fixed partial sums. Every clone and the scalar tail do the same float operations in
 * the same order, so results do not depend on the CPU. Float32, as PyTorch's log_softmax. */

#define CAT_MAX 1024

/* exp(x) for x <= 0; below -87 it is exp(-87) (callers mask those entries to 0). The same
 * steps as EXP8 below, one lane. */
static inline float exp_neg(float x) {
    x = x < -87.0f ? -87.0f : x;
    int n = (int)(x * 1.44269504088896341f - 0.5f); /* x <= 0: truncation rounds to nearest */
    float nf = (float)n;
    float r = (x - nf * 0.693359375f) - nf * -2.12194440e-4f; /* ln 2 in two parts */
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    float y = q * r * r + r + 1.0f;
    union {
        int i;
        float f;
    } u = {.i = (n + 127) << 23};
    return y * u.f;
}

#define EXP8(y, xin)                                                                       \
    do {                                                                                   \
        const NnV8 lo_ = (NnV8){0} - 87.0f;                                                \
        NnV8 x_ = NN_SELECT((xin) < lo_, lo_, (xin));                                      \
        NnV8i n_ = __builtin_convertvector(x_ * 1.44269504088896341f - 0.5f, NnV8i);       \
        NnV8 nf_ = __builtin_convertvector(n_, NnV8);                                      \
        NnV8 r_ = (x_ - nf_ * 0.693359375f) - nf_ * -2.12194440e-4f;                       \
        NnV8 q_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                                \
        q_ = q_ * r_ + 8.3334519073e-3f;                                                   \
        q_ = q_ * r_ + 4.1665795894e-2f;                                                   \
        q_ = q_ * r_ + 1.6666665459e-1f;                                                   \
        q_ = q_ * r_ + 5.0000001201e-1f;                                                   \
        NnV8 e_ = q_ * r_ * r_ + r_ + 1.0f;                                                \
        (y) = e_ * (NnV8)((n_ + 127) << 23);                                               \
    } while (0)

/* EXP8 on sixteen lanes (two blocks) at once, the same operations lane by lane: one zmm register on
 * AVX-512, so twice as many exponentials are in flight (each is one long dependency chain, and a
 * block at a time left the pipes half idle). Used only where nn_wide(): with 16 registers (two ymm
 * per vector) its constants spill and it was slower than EXP8. */
typedef float V16 __attribute__((vector_size(64)));
typedef int V16i __attribute__((vector_size(64)));
#define EXP16(y, xin)                                                                      \
    do {                                                                                   \
        const V16 lo_ = (V16){0} - 87.0f;                                                  \
        V16i lt_ = (xin) < lo_;                                                            \
        V16 x_ = (V16)((lt_ & (V16i)lo_) | (~lt_ & (V16i)(xin)));                          \
        V16i n_ = __builtin_convertvector(x_ * 1.44269504088896341f - 0.5f, V16i);         \
        V16 nf_ = __builtin_convertvector(n_, V16);                                        \
        V16 r_ = (x_ - nf_ * 0.693359375f) - nf_ * -2.12194440e-4f;                        \
        V16 q_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                                 \
        q_ = q_ * r_ + 8.3334519073e-3f;                                                   \
        q_ = q_ * r_ + 4.1665795894e-2f;                                                   \
        q_ = q_ * r_ + 1.6666665459e-1f;                                                   \
        q_ = q_ * r_ + 5.0000001201e-1f;                                                   \
        V16 e_ = q_ * r_ * r_ + r_ + 1.0f;                                                 \
        (y) = e_ * (V16)((n_ + 127) << 23);                                                \
    } while (0)

/* Lanes where mask[k..k+8) is nonzero, as all-ones ints: the eight bytes loaded as one word,
 * its halves spread over lanes 0-3 and 4-7, each lane testing its own byte (a byte-to-int
 * vector conversion, or building the vector from scalars, compiled to scalar code or a trip
 * through memory). */
typedef long long V4q __attribute__((vector_size(32)));
#define MASK8(mi, m)                                                                       \
    do {                                                                                   \
        uint64_t w_;                                                                       \
        __builtin_memcpy(&w_, (m), 8);                                                     \
        NnV8i v_ = (NnV8i)(V4q){(long long)w_, 0, 0, 0};                                   \
        v_ = NN_SHUFFLE(v_, v_, 0, 0, 0, 0, 1, 1, 1, 1);                                   \
        const NnV8i bytes_ = {0xff, 0xff00, 0xff0000, (int)0xff000000,                     \
                              0xff, 0xff00, 0xff0000, (int)0xff000000};                    \
        (mi) = (v_ & bytes_) != 0;                                                         \
    } while (0)

/* Eight fixed partial sums, then the tail: the same order on every CPU. */
#define SUM8_FINISH(acc, tail_sum)                                                         \
    (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + (tail_sum))

/* Blocks of eight that cover the span [lo, hi) of K entries: [*j0, *j1) among the K / 8 full
 * blocks (the scalar tail k >= K8 is always visited). */
static inline void span_blocks(int K, int lo, int hi, int *j0, int *j1) {
    const int K8 = K / NN_W * NN_W;
    *j0 = SB_MIN(lo, K8) / NN_W * NN_W;
    *j1 = SB_MIN((hi + NN_W - 1) / NN_W * NN_W, K8);
}

/* One row's masked softmax in three passes (max; exponentials and their sum; log-probabilities,
 * probabilities and entropy), kept apart so that the batched entry point can interleave the
 * passes of two rows: each pass waits on the previous one's reduction, and another row's
 * independent work fills that latency.
 *
 * Only the blocks of eight that meet [lo, hi) are computed; outside them every lane is masked,
 * where the full loop would add a zero to each partial sum and take no maximum, so skipping
 * them leaves every partial sum and the result the same bits. Their lp and p are still written
 * (-inf and 0), as the full loop does. */
typedef struct {
    const float *logits;
    const unsigned char *mask; /* NULL: the valid actions are exactly [lo, hi) */
    float *lp, *p;
    int K, K8, j0, j1, lo, hi;
    float mx, sum;
} CatRow;

/* Lanes k..k+7 of row c that are valid actions, as all-ones ints: from the mask, or without one
 * from kk (the lanes' indices k..k+7) against lov and hiv (lo and hi in every lane), which the
 * loops keep in registers. */
#define CAT_VALID8(mi, c, k, kk, lov, hiv)                                                     \
    do {                                                                                       \
        if ((c)->mask) MASK8(mi, (c)->mask + (k));                                             \
        else (mi) = ((kk) >= (lov)) & ((kk) < (hiv));                                          \
    } while (0)
#define CAT_LANES(c)                                                                           \
    const NnV8i lov = (NnV8i){0} + (c)->lo, hiv = (NnV8i){0} + (c)->hi;                       \
    NnV8i kk = (NnV8i){0, 1, 2, 3, 4, 5, 6, 7} + (c)->j0

NN_INLINE int cat_valid(const CatRow *c, int k) { return c->mask ? c->mask[k] != 0 : k >= c->lo && k < c->hi; }

NN_INLINE void cat_pass_max(CatRow *c, const float *logits, const unsigned char *mask, int K, int lo, int hi,
                            float *lp, float *p) {
    const NnV8 neg_inf = (NnV8){0} - INFINITY, zero = {0};
    c->logits = logits;
    c->mask = mask;
    c->lo = lo;
    c->hi = hi;
    c->lp = lp;
    c->p = p;
    c->K = K;
    c->K8 = K / NN_W * NN_W;
    span_blocks(K, lo, hi, &c->j0, &c->j1);
    for (int k = 0; k < c->j0; k += NN_W) {
        NN_ST(lp + k, neg_inf);
        NN_ST(p + k, zero);
    }
    for (int k = c->j1; k < c->K8; k += NN_W) {
        NN_ST(lp + k, neg_inf);
        NN_ST(p + k, zero);
    }
    /* max over valid logits: lane maxima in two chains (even and odd blocks), then the tail (max is
     * exact: order does not matter) */
    NnV8 vmx = neg_inf, vmx1 = neg_inf;
    CAT_LANES(c);
    int k = c->j0;
    for (; k + 2 * NN_W <= c->j1; k += 2 * NN_W, kk += 2 * NN_W) {
        NnV8 x0, x1;
        NnV8i m0, m1, kk1 = kk + NN_W;
        NN_LD(x0, logits + k);
        NN_LD(x1, logits + k + NN_W);
        CAT_VALID8(m0, c, k, kk, lov, hiv);
        CAT_VALID8(m1, c, k + NN_W, kk1, lov, hiv);
        x0 = NN_SELECT(m0, x0, neg_inf);
        x1 = NN_SELECT(m1, x1, neg_inf);
        vmx = NN_SELECT(x0 > vmx, x0, vmx);
        vmx1 = NN_SELECT(x1 > vmx1, x1, vmx1);
    }
    for (; k < c->j1; k += NN_W, kk += NN_W) {
        NnV8 x;
        NnV8i mi;
        NN_LD(x, logits + k);
        CAT_VALID8(mi, c, k, kk, lov, hiv);
        x = NN_SELECT(mi, x, neg_inf);
        vmx = NN_SELECT(x > vmx, x, vmx);
    }
    vmx = NN_SELECT(vmx1 > vmx, vmx1, vmx);
    float mx = -INFINITY;
    for (int j = 0; j < NN_W; j++) mx = vmx[j] > mx ? vmx[j] : mx;
    for (int k = c->K8; k < K; k++) mx = cat_valid(c, k) && logits[k] > mx ? logits[k] : mx;
    c->mx = mx;
}

/* e = exp(z - max) on valid lanes (into p), and their sum; wide: two blocks at a time (EXP16) */
NN_INLINE void cat_pass_exp(CatRow *c, int wide) {
    const NnV8 zero = {0};
    const float mx = c->mx;
    NnV8 acc = zero;
    CAT_LANES(c);
    int k = c->j0;
    for (; wide && k + 2 * NN_W <= c->j1; k += 2 * NN_W, kk += 2 * NN_W) {
        V16 x, e;
        NnV8i m0, m1;
        __builtin_memcpy(&x, c->logits + k, sizeof x);
        CAT_VALID8(m0, c, k, kk, lov, hiv);
        NnV8i kk1 = kk + NN_W;
        CAT_VALID8(m1, c, k + NN_W, kk1, lov, hiv);
        x = x - mx;
        EXP16(e, x);
        NnV8 e0 = {e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]};
        NnV8 e1 = {e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15]};
        e0 = NN_SELECT(m0, e0, zero);
        e1 = NN_SELECT(m1, e1, zero);
        NN_ST(c->p + k, e0);
        NN_ST(c->p + k + NN_W, e1);
        acc += e0;
        acc += e1;
    }
    for (; k < c->j1; k += NN_W, kk += NN_W) {
        NnV8 x, e;
        NnV8i mi;
        NN_LD(x, c->logits + k);
        CAT_VALID8(mi, c, k, kk, lov, hiv);
        x = x - mx;
        EXP8(e, x);
        e = NN_SELECT(mi, e, zero);
        NN_ST(c->p + k, e);
        acc += e;
    }
    float tail = 0;
    for (int k = c->K8; k < c->K; k++) {
        c->p[k] = cat_valid(c, k) ? exp_neg(c->logits[k] - mx) : 0.0f;
        tail += c->p[k];
    }
    c->sum = SUM8_FINISH(acc, tail);
}

/* lp, p, and the entropy H = -sum p lp over valid lanes (returned) */
NN_INLINE float cat_pass_log(CatRow *c) {
    const NnV8 neg_inf = (NnV8){0} - INFINITY, zero = {0};
    const float mx = c->mx, inv = 1.0f / c->sum, lse = logf(c->sum);
    NnV8 hacc = zero;
    CAT_LANES(c);
    for (int k = c->j0; k < c->j1; k += NN_W, kk += NN_W) {
        NnV8 x, e;
        NnV8i mi;
        NN_LD(x, c->logits + k);
        NN_LD(e, c->p + k);
        CAT_VALID8(mi, c, k, kk, lov, hiv);
        NnV8 l = (x - mx) - lse, pk = e * inv;
        NN_ST(c->p + k, pk);
        NnV8 lv = NN_SELECT(mi, l, neg_inf);
        NN_ST(c->lp + k, lv);
        hacc += NN_SELECT(mi, pk * l, zero);
    }
    float tail = 0;
    for (int k = c->K8; k < c->K; k++) {
        float l = (c->logits[k] - mx) - lse, pk = c->p[k] * inv;
        c->p[k] = pk;
        c->lp[k] = cat_valid(c, k) ? l : -INFINITY;
        tail += cat_valid(c, k) ? pk * l : 0.0f;
    }
    return -SUM8_FINISH(hacc, tail);
}

NN_DISPATCH static float cat_forward(const float *logits, const unsigned char *mask, int K, int lo, int hi, float *lp,
                                     float *p) {
    CatRow c;
    cat_pass_max(&c, logits, mask, K, lo, hi, lp, p);
    cat_pass_exp(&c, nn_wide());
    return cat_pass_log(&c);
}

/* Rows two at a time, their passes interleaved; each row gets the bits of cat_forward. */
#define ROWS 2
NN_DISPATCH static void cat_forward_rows(const float *logits, const unsigned char *mask, const int *span, int B,
                                         int K, float *lp, float *p, double *H) {
    const int wide = nn_wide();
    int b = 0;
    for (; b + ROWS <= B; b += ROWS) {
        CatRow c[ROWS];
        for (int j = 0; j < ROWS; j++) {
            const size_t o = (size_t)(b + j) * (size_t)K;
            cat_pass_max(&c[j], logits + o, mask ? mask + o : NULL, K, span[2 * (b + j)], span[2 * (b + j) + 1],
                         lp + o, p + o);
        }
        for (int j = 0; j < ROWS; j++) cat_pass_exp(&c[j], wide);
        for (int j = 0; j < ROWS; j++) H[b + j] = cat_pass_log(&c[j]);
    }
    for (; b < B; b++) {
        const size_t o = (size_t)b * (size_t)K;
        CatRow c;
        cat_pass_max(&c, logits + o, mask ? mask + o : NULL, K, span[2 * b], span[2 * b + 1], lp + o, p + o);
        cat_pass_exp(&c, wide);
        H[b] = cat_pass_log(&c);
    }
}

void dist_cat_forward_rows(const float *logits, const unsigned char *mask, const int *span, int B, int K, float *lp,
                           float *p, double *H) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX);
    for (int b = 0; b < B; b++) SB_ASSERT(0 <= span[2 * b] && span[2 * b] <= span[2 * b + 1] && span[2 * b + 1] <= K);
    cat_forward_rows(logits, mask, span, B, K, lp, p, H);
}

static inline uint64_t load64(const unsigned char *m) {
    uint64_t w;
    memcpy(&w, m, sizeof w);
    return w;
}

/* Eight bytes at a time where it can: the rollout calls this on every step. */
int dist_cat_mask_span(const unsigned char *mask, int K, int *lo, int *hi) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    int a = 0, b = K;
    while (a + 8 <= K && load64(mask + a) == 0) a += 8;
    while (a < K && !mask[a]) a++;
    while (b - 8 >= a && load64(mask + b - 8) == 0) b -= 8;
    while (b > a && !mask[b - 1]) b--;
    *lo = a;
    *hi = b;
    int k = a;
    for (; k + 8 <= b; k += 8) {
        uint64_t w = load64(mask + k);
        if ((w - ones) & ~w & highs) return 0; /* a zero byte inside the span */
    }
    for (; k < b; k++)
        if (!mask[k]) return 0;
    return 1;
}

double dist_cat_forward_span(const float *logits, const unsigned char *mask, int K, int lo, int hi, float *lp,
                             float *p) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX && 0 <= lo && lo <= hi && hi <= K);
    return cat_forward(logits, mask, K, lo, hi, lp, p);
}

double dist_cat_forward(const float *logits, const unsigned char *mask, int K, float *lp, float *p) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX);
    int lo = 0, hi = K;
    if (mask) dist_cat_mask_span(mask, K, &lo, &hi);
    return cat_forward(logits, mask, K, lo, hi, lp, p);
}

double dist_cat_logsoftmax(const float *logits, const unsigned char *mask, int K, float *lp) {
    float p[CAT_MAX];
    return dist_cat_forward(logits, mask, K, lp, p);
}

NN_DISPATCH static void cat_probs(const float *lp, int K, float *p) {
    const int K8 = K / NN_W * NN_W;
    const NnV8 zero = {0}, neg_inf = (NnV8){0} - INFINITY;
    for (int k = 0; k < K8; k += NN_W) {
        NnV8 l, e;
        NN_LD(l, lp + k);
        NnV8 x = NN_SELECT(l > zero, zero, l);
        EXP8(e, x);
        e = NN_SELECT(l == neg_inf, zero, e);
        NN_ST(p + k, e);
    }
    for (int k = K8; k < K; k++) p[k] = lp[k] == -INFINITY ? 0.0f : exp_neg(lp[k] > 0.0f ? 0.0f : lp[k]);
}

void dist_cat_probs(const float *lp, int K, float *p) {
    SB_ASSERT(K >= 1 && K <= CAT_MAX);
    cat_probs(lp, K, p);
}

int dist_cat_sample_p(const float *p, int K, Rng *rng) { return dist_cat_sample_span(p, 0, K, rng); }

int dist_cat_sample_span(const float *p, int lo, int hi, Rng *rng) {
    double u = rng_uniform(rng), c = 0;
    int last = 0;
    for (int k = lo; k < hi; k++) {
        if (p[k] <= 0.0f) continue;
        last = k;
        c += p[k];
        if (u < c) return k;
    }
    return last; /* rounding left u above the total */
}

int dist_cat_sample(const float *lp, int K, Rng *rng) {
    float p[CAT_MAX];
    dist_cat_probs(lp, K, p);
    return dist_cat_sample_p(p, K, rng);
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

NN_DISPATCH static void cat_backward(const float *lp, const float *p, int K, int lo, int hi, int a, float H,
                                     float g_logp, float g_ent, float *d_logits) {
    /* dlogp_a/dz_k = 1[k = a] - p_k;  dH/dz_k = -p_k (lp_k + H); invalid actions: p_k = 0.
     * Lane-wise, then the chosen action's 1[k = a] term added on its own (the same float
     * operations as the tail's formula for that element). Blocks outside the span would add
     * zeros: they are skipped. */
    const int K8 = K / NN_W * NN_W;
    const NnV8 zero = {0}, neg_inf = (NnV8){0} - INFINITY;
    int j0, j1;
    span_blocks(K, lo, hi, &j0, &j1);
    for (int k = j0; k < j1; k += NN_W) {
        NnV8 l, pk, d;
        NN_LD(l, lp + k);
        NN_LD(pk, p + k);
        NN_LD(d, d_logits + k);
        NnV8i valid = l != neg_inf;
        NnV8 lz = NN_SELECT(valid, l, zero);
        NnV8 g = g_logp * ((NnV8){0} - pk) - g_ent * pk * (lz + H);
        d += NN_SELECT(valid, g, zero);
        NN_ST(d_logits + k, d);
    }
    for (int k = K8; k < K; k++) {
        if (lp[k] == -INFINITY) continue;
        d_logits[k] += g_logp * (0.0f - p[k]) - g_ent * p[k] * (lp[k] + H);
    }
    /* The action's own term: g_logp * (1 - p_a) replaces g_logp * (0 - p_a). */
    if (lp[a] != -INFINITY) d_logits[a] += g_logp;
}

void dist_cat_backward_p(const float *lp, const float *p, int K, int a, double H, double g_logp, double g_ent,
                         float *d_logits) {
    cat_backward(lp, p, K, 0, K, a, (float)H, (float)g_logp, (float)g_ent, d_logits);
}

void dist_cat_backward_span(const float *lp, const float *p, int K, int lo, int hi, int a, double H, double g_logp,
                            double g_ent, float *d_logits) {
    SB_ASSERT(0 <= lo && lo <= hi && hi <= K);
    cat_backward(lp, p, K, lo, hi, a, (float)H, (float)g_logp, (float)g_ent, d_logits);
}

void dist_cat_backward(const float *lp, int K, int a, double H, double g_logp, double g_ent, float *d_logits) {
    float p[CAT_MAX];
    dist_cat_probs(lp, K, p);
    dist_cat_backward_p(lp, p, K, a, H, g_logp, g_ent, d_logits);
}
