/* blas.h: the one knob on OpenBLAS the trainer turns.
 *
 * Our matrices are tiny (tens of units, batches of 64-256), where OpenBLAS's thread pool
 * costs more than it saves, so runs stay single-threaded unless a config asks otherwise. */
#ifndef SB_BLAS_H
#define SB_BLAS_H

/* Threads OpenBLAS may use from now on (n < 1 is taken as 1). */
void nn_blas_threads(int n);

#endif
