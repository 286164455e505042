/* act.h: activation functions over float arrays, fast enough for the acting loop.
 *
 * glibc's tanhf is a scalar call of ~10 ns; a 64-64 tanh net spends most of a single-row
 * forward in it. nn_tanh is branch-free so the compiler vectorises it, to within 1.5e-7
 * relative of tanh (about 1 ulp, like the SLEEF u10 kernel PyTorch uses on CPU). */
#ifndef SB_ACT_H
#define SB_ACT_H

#include <stddef.h>

/* y[i] = tanh(y[i]) for i < n, in place; NaN stays NaN, the sign of zero is kept. */
void nn_tanh(float *y, size_t n);

#endif
