/* act.c: tanh over float arrays, vectorised (see act.h).
 *
 * libm's tanhf costs ~10 ns a call and was over 70% of a PPO update on small networks.
 * This is a [13/6] odd/even rational approximation on [-7.9053, 7.9053] (the coefficients
 * are the ones Eigen uses for its fast float tanh); beyond that float tanh is +-1 to half an
 * ulp. Measured against double tanh over [-12, 12] (tests/test_nn.c): under 4e-7 relative.
 * The kernel itself is nn_tanh_block in simd.h, shared with mlp.c, which applies it to a
 * layer's output right after computing it; the scalar loop would not vectorise at -O2
 * because its clamps compile to branches, so lanes are selected with bit masks. Eight lanes
 * at a time, one AVX2 register or two SSE ones (the same bits, see simd.h). NaN propagates. */
#include "nn/act.h"

#include "nn/simd.h"

NN_DISPATCH void nn_tanh(float *y, size_t n) { nn_tanh_block(y, n); }
