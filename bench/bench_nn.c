/* bench_nn.c: throughput of the MLP layer on the nets PPO trains, against one large sgemm.
 *
 * Prints plain lines: GFLOP/s of mlp_forward + mlp_backward (matmul FLOPs only: 2 B I O per
 * layer forward, 2 B I O for dW and 2 B I O for dX on every layer but the first, dx not
 * requested as in PPO), nanoseconds per mlp_forward1 call (acting in an environment), and
 * GFLOP/s of a single-threaded 2048^3 sgemm as the machine's reference. Times are the best of
 * ten trials.
 * Legend: B batch rows, I/O layer inputs/outputs. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/blas.h"
#include "nn/mlp.h"
#include "util/common.h"
#include "util/rng.h"

/* Seconds per repetition of body: the best of 10 trials of at least min_s/10 seconds each,
 * because the machine is shared and a trial that loses the CPU says nothing about the code. */
#define TIME_LOOP(out, min_s, body)                                   \
    do {                                                              \
        double best_ = 1e300;                                         \
        for (int trial_ = 0; trial_ < 10; trial_++) {                 \
            long reps_ = 0;                                           \
            double t0_ = sb_now(), el_;                               \
            do {                                                      \
                body;                                                 \
                reps_++;                                              \
            } while ((el_ = sb_now() - t0_) < (min_s) / 10);          \
            if (el_ / (double)reps_ < best_) best_ = el_ / (double)reps_; \
        }                                                             \
        (out) = best_;                                                \
    } while (0)

static void bench_net(const int *sz, int n_hidden, Rng *rng) {
    Mlp m;
    if (mlp_init(&m, sz[0], sz + 1, n_hidden, sz[n_hidden + 1], MLP_TANH) != 0) SB_PANIC("shape");
    size_t np = mlp_param_count(&m);
    float *p = sb_malloc(np * sizeof *p), *g = sb_calloc(np, sizeof *g);
    mlp_init_orthogonal(&m, p, 1.41421356f, 0.01f, rng);
    char name[64];
    int k = snprintf(name, sizeof name, "[%d", sz[0]);
    for (int l = 1; l <= m.n_layers; l++) k += snprintf(name + k, sizeof name - (size_t)k, ",%d", sz[l]);
    snprintf(name + k, sizeof name - (size_t)k, "]");

    int batches[] = {64, 128};
    for (size_t bi = 0; bi < SB_ARRAY_LEN(batches); bi++) {
        int B = batches[bi];
        size_t ws = mlp_work_size(&m, B);
        int ni = sz[0], no = sz[m.n_layers];
        float *x = sb_malloc((size_t)B * ni * sizeof *x), *dout = sb_malloc((size_t)B * no * sizeof *dout);
        float *work = sb_malloc(ws * sizeof *work), *scratch = sb_malloc(ws * sizeof *scratch);
        for (size_t i = 0; i < (size_t)B * ni; i++) x[i] = (float)rng_normal(rng);
        for (size_t i = 0; i < (size_t)B * no; i++) dout[i] = (float)rng_normal(rng);
        double flops = 0;
        for (int l = 0; l < m.n_layers; l++) {
            double mac = (double)B * sz[l] * sz[l + 1];
            flops += 2 * mac + 2 * mac + (l > 0 ? 2 * mac : 0);
        }
        double s;
        TIME_LOOP(s, 0.3, {
            mlp_forward(&m, p, x, B, work);
            mlp_backward(&m, p, x, B, work, dout, g, NULL, scratch);
        });
        printf("mlp %-14s B=%-4d forward+backward %8.2f us  %6.2f GFLOP/s\n", name, B, s * 1e6,
               flops / s * 1e-9);
        free(x);
        free(dout);
        free(work);
        free(scratch);
    }
    float *x1 = sb_malloc((size_t)sz[0] * sizeof *x1);
    float *w1 = sb_malloc(mlp_work_size(&m, 1) * sizeof *w1);
    for (int i = 0; i < sz[0]; i++) x1[i] = (float)rng_normal(rng);
    volatile float sink = 0;
    double s1;
    TIME_LOOP(s1, 0.2, {
        for (int r = 0; r < 1000; r++) {
            x1[0] += 1e-7f;
            mlp_forward1(&m, p, x1, w1);
            sink += mlp_output(&m, w1, 1)[0];
        }
    });
    printf("mlp %-14s forward1 (one row)   %8.1f ns\n", name, s1 / 1000 * 1e9);
    free(x1);
    free(w1);
    free(p);
    free(g);
}

int main(void) {
    nn_blas_threads(1);
    Rng rng;
    rng_seed(&rng, 1, 0);
    int a[] = {3, 64, 64, 1}, b[] = {6, 18, 36, 201};
    bench_net(a, 2, &rng);
    bench_net(b, 2, &rng);

    const int n = 2048;
    size_t nn = (size_t)n * n;
    float *A = sb_malloc(nn * sizeof *A), *Bm = sb_malloc(nn * sizeof *Bm), *C = sb_malloc(nn * sizeof *C);
    for (size_t i = 0; i < nn; i++) {
        A[i] = (float)rng_normal(&rng);
        Bm[i] = (float)rng_normal(&rng);
    }
    double s;
    TIME_LOOP(s, 2.0, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, Bm,
                                  n, 0.0f, C, n));
    printf("sgemm %dx%dx%d single-threaded  %8.1f ms  %6.2f GFLOP/s\n", n, n, n, s * 1e3,
           2.0 * n * n * (double)n / s * 1e-9);
    free(A);
    free(Bm);
    free(C);
    return 0;
}
