/* simd.h: eight-float vectors and runtime CPU dispatch for the nn kernels (internal to src/nn).
 *
 * The kernels are written once with GCC vector extensions on eight floats (NnV8) and compiled
 * three times through NN_DISPATCH: x86-64-v4 (AVX-512 with VL) and AVX2 clones (one ymm
 * register per NnV8; the AVX-512 one has 32 of them, so the widest register tiles and the
 * exponential's constants do not spill: AVX-512F alone cannot name ymm16-31, and GCC spilled
 * to zmm registers and the stack) and a baseline x86-64 clone (two xmm registers per NnV8); the
 * loader picks one per CPU. All clones do the same
 * lane-wise IEEE operations in the same order, and -std=c11 keeps -ffp-contract=off (no
 * fused multiply-add), so they produce the same bits: results depend on seed, config and
 * thread count, never on the CPU's vector width. Build with -DSB_NO_DISPATCH to get the
 * baseline code alone (that is how the equality was checked: bench/RESULTS-ppo.md).
 *
 * Rules that keep that promise: never reassociate a sum across lanes differently per clone
 * (every reduction has a fixed shape written out in the source), and never pass an NnV8 by
 * value to a function that is not inlined (its calling convention differs between the clones,
 * which GCC flags with -Wpsabi). Helpers take pointers and are always inlined into the
 * dispatched function, so they compile for its target. */
#ifndef SB_NN_SIMD_H
#define SB_NN_SIMD_H

#include <stddef.h>

typedef float NnV8 __attribute__((vector_size(32)));
typedef int NnV8i __attribute__((vector_size(32)));

#define NN_W 8 /* lanes of NnV8 */

/* Unaligned loads and stores through memcpy: GCC emits one vector move. */
#define NN_LD(v, p) __builtin_memcpy(&(v), (p), sizeof(NnV8))
#define NN_ST(p, v) __builtin_memcpy((p), &(v), sizeof(NnV8))

#define NN_INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(SB_NO_DISPATCH)
#define NN_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define NN_DISPATCH
#endif

/* 1 if the CPU has AVX-512VL, i.e. the x86-64-v4 clones run, with 32 vector registers: a kernel
 * that keeps more values in flight than 16 registers hold (and spills on AVX2) takes its wide form
 * only then. Both forms give the same bits. */
static inline int nn_wide(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SB_NO_DISPATCH)
    static int wide = -1;
    if (wide < 0) wide = __builtin_cpu_supports("avx512vl") != 0;
    return wide;
#else
    return 0;
#endif
}

/* Lanes of a and b (indices 0-7 and 8-15) picked by constant indices. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define NN_SHUFFLE(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define NN_SHUFFLE(a, b, ...) __builtin_shuffle((a), (b), (NnV8i){__VA_ARGS__})
#endif

/* Lane-wise select: m ? a : b, m all-ones or all-zeros per lane. */
#define NN_SELECT(m, a, b) ((NnV8)(((m) & (NnV8i)(a)) | (~(m) & (NnV8i)(b))))

/* r = tanh(x) lane-wise: the rational approximation of act.c (see there for its accuracy). A
 * macro, not a function, so that no NnV8 crosses a call (see the rules above). */
#define NN_TANH8(r, x)                                                                          \
    do {                                                                                        \
        const NnV8 hi_ = (NnV8){0} + 7.90531110763549805f, lo_ = -hi_;                           \
        const NnV8 tiny_ = (NnV8){0} + 0.0004f;                                                 \
        NnV8 xc_ = NN_SELECT((x) > hi_, hi_, NN_SELECT((x) < lo_, lo_, (x)));                     \
        NnV8 x2_ = xc_ * xc_;                                                                   \
        NnV8 p_ = x2_ * -2.76076847742355e-16f + 2.00018790482477e-13f;                         \
        p_ = p_ * x2_ + -8.60467152213735e-11f;                                                 \
        p_ = p_ * x2_ + 5.12229709037114e-08f;                                                  \
        p_ = p_ * x2_ + 1.48572235717979e-05f;                                                  \
        p_ = p_ * x2_ + 6.37261928875436e-04f;                                                  \
        p_ = p_ * x2_ + 4.89352455891786e-03f;                                                  \
        p_ = p_ * xc_;                                                                          \
        NnV8 q_ = x2_ * 1.19825839466702e-06f + 1.18534705686654e-04f;                          \
        q_ = q_ * x2_ + 2.26843463243900e-03f;                                                  \
        q_ = q_ * x2_ + 4.89352518554385e-03f;                                                  \
        (r) = NN_SELECT((xc_ > -tiny_) & (xc_ < tiny_), xc_, p_ / q_);                           \
    } while (0)

/* y[i] = tanh(y[i]) for i < n, in place, eight lanes at a time. A last partial block is the
 * last eight elements, read before the loop overwrites any of them: the lanes it shares with
 * the previous block get tanh of the same inputs, i.e. the same bits. Fewer than eight
 * elements go through a zero-padded copy. Every element sees the same lane-wise operations. */
NN_INLINE void nn_tanh_block(float *y, size_t n) {
    if (n < NN_W) {
        float pad[NN_W] = {0};
        for (size_t i = 0; i < n; i++) pad[i] = y[i];
        NnV8 x, r;
        NN_LD(x, pad);
        NN_TANH8(r, x);
        NN_ST(pad, r);
        for (size_t i = 0; i < n; i++) y[i] = pad[i];
        return;
    }
    NnV8 xt, rt;
    NN_LD(xt, y + n - NN_W);
    size_t i = 0;
    for (; i + NN_W <= n; i += NN_W) {
        NnV8 x, r;
        NN_LD(x, y + i);
        NN_TANH8(r, x);
        NN_ST(y + i, r);
    }
    if (i < n) {
        NN_TANH8(rt, xt);
        NN_ST(y + n - NN_W, rt);
    }
}

#endif
