/* act.c: vectorisable tanh (see act.h).
 *
 * Below |x| = 0.625 Cephes' odd minimax polynomial x + x^3 P(x^2); above it
 * 1 - 2 / (e^{2|x|} + 1), where cancellation no longer costs accuracy, with e^t from
 * Cody-Waite reduction t = k ln2 + r and Cephes' degree-6 polynomial for e^r. |x| is
 * capped at 10: tanh rounds to 1 in float from 9.01 on. Both branches are computed and
 * one selected, so an 8-wide block has no control flow. */

/* GCC keeps float compares as branches while they may raise FP exceptions; we never read
 * the FP exception flags, so let it turn them into vector selects. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "nn/act.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float tanh1(float x) {
    float ax = fabsf(x);
    /* e = exp(t), t = 2 min(|x|, 10) in [0, 20] */
    float t = 2.0f * (ax < 10.0f ? ax : 10.0f);
    int32_t k = (int32_t)(t * 1.44269504088896341f + 0.5f); /* t >= 0: truncation rounds */
    float kf = (float)k;
    float r = t - kf * 0.693359375f; /* ln2 split in two so k*ln2_hi is exact */
    r = r - kf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t bits = (k + 127) << 23; /* 2^k, k in [0, 29] */
    float two_k;
    memcpy(&two_k, &bits, sizeof two_k);
    e *= two_k;
    float big = 1.0f - 2.0f / (e + 1.0f);
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * ax + ax;
    float res = copysignf(ax > 0.625f ? big : small, x);
    return x != x ? x : res;
}

void nn_tanh(float *y, size_t n) {
    size_t i = 0;
    /* Fixed-length blocks: GCC's -O2 cost model vectorises these but not a loop that
     * would need a scalar epilogue. */
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) y[i + k] = tanh1(y[i + k]);
    for (; i < n; i++) y[i] = tanh1(y[i]);
}
