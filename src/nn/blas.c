/* blas.c: OpenBLAS thread count (see blas.h). */
#include "nn/blas.h"

#include <cblas.h>

void nn_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
