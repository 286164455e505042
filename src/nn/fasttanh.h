/* fasttanh.h: tanh over float arrays, vectorisable (no calls, no branches in the loop).
 *
 * libm's tanhf costs ~70% of a PPO update on small networks. This is a [13/6] odd/even
 * rational approximation on [-7.9053, 7.9053] (the coefficients are the ones Eigen uses for
 * its fast float tanh); outside that range float tanh is +-1 to within half an ulp. The
 * maximum error against double tanh, measured in tests/test_nn.c over a dense grid, is a few
 * float ulps (relative 1e-6), well inside the 1e-5 we promise against PyTorch. */
#ifndef SB_FASTTANH_H
#define SB_FASTTANH_H

#include <stddef.h>

static inline float nn_tanhf(float x) {
    const float clamp = 7.90531110763549805f;
    float xc = x < -clamp ? -clamp : (x > clamp ? clamp : x);
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    /* Tiny arguments: tanh(x) = x to float precision, and p/q would lose the last bits. */
    float r = p / q;
    return (xc > -0.0004f && xc < 0.0004f) ? xc : r;
}

/* The same in GCC vector extensions, four lanes at a time (one SSE register on baseline x86-64;
 * 16-byte vectors keep the ABI the same with and without AVX): the scalar loop does not vectorise at -O2 because its
 * clamps compile to branches. Lanes are selected with bit masks instead. */
typedef float NnV4f __attribute__((vector_size(16)));
typedef int NnV4i __attribute__((vector_size(16)));

static inline NnV4f nn_v4_select(NnV4i m, NnV4f a, NnV4f b) {
    union { NnV4f f; NnV4i i; } ua = {a}, ub = {b}, r;
    r.i = (m & ua.i) | (~m & ub.i);
    return r.f;
}

static inline void nn_tanhf_array(float *y, size_t n) {
    const NnV4f hi = (NnV4f){0} + 7.90531110763549805f, lo = -hi, tiny = (NnV4f){0} + 0.0004f;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        NnV4f x;
        __builtin_memcpy(&x, y + i, sizeof x);
        NnV4f xc = nn_v4_select(x > hi, hi, nn_v4_select(x < lo, lo, x));
        NnV4f x2 = xc * xc;
        NnV4f p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
        p = p * x2 + -8.60467152213735e-11f;
        p = p * x2 + 5.12229709037114e-08f;
        p = p * x2 + 1.48572235717979e-05f;
        p = p * x2 + 6.37261928875436e-04f;
        p = p * x2 + 4.89352455891786e-03f;
        p = p * xc;
        NnV4f q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
        q = q * x2 + 2.26843463243900e-03f;
        q = q * x2 + 4.89352518554385e-03f;
        NnV4f r = nn_v4_select((xc > -tiny) & (xc < tiny), xc, p / q);
        __builtin_memcpy(y + i, &r, sizeof r);
    }
    for (; i < n; i++) y[i] = nn_tanhf(y[i]);
}

#endif
