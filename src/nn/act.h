/* act.h: activation functions over float arrays, fast enough for the acting loop.
 *
 * glibc's tanhf is a scalar call of ~10 ns; a 64-64 tanh net spends most of a single-row
 * forward in it. nn_tanh is a branch-free rational approximation, vectorised, within 4e-7
 * relative of tanh (a few float ulps; PyTorch's CPU kernel is within about 1 ulp, so the
 * two agree far inside the 1e-5 our PyTorch comparison asks). */
#ifndef SB_ACT_H
#define SB_ACT_H

#include <stddef.h>

/* y[i] = tanh(y[i]) for i < n, in place; NaN stays NaN, the sign of zero is kept. */
void nn_tanh(float *y, size_t n);

#endif
