/* bench_ppo.c: PPO throughput on configs/bench/pendulum-paper.yaml (the paper's Table 4
 * hyperparameters on Pendulum-v1, one env, one BLAS thread).
 *
 * Prints env steps/s including updates, the rollout/update split, the update's achieved
 * GFLOP/s (matrix-multiply FLOPs of forward and backward, counted from the layer shapes)
 * against one large single-threaded sgemm, and the peak resident memory.
 * Usage: bench_ppo [CONFIG] [REPEATS]   (defaults: configs/bench/pendulum-paper.yaml, 3) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "config/single_config.h"
#include "nn/blas.h"
#include "rl/single.h"
#include "util/common.h"

/* FLOPs of one forward+backward of a net over B rows (no input gradient, as PPO). */
static double mlp_flops(const Mlp *m, int B) {
    double f = 0;
    for (int l = 0; l < m->n_layers; l++) {
        double mn = (double)m->sizes[l] * m->sizes[l + 1];
        f += 2 * B * mn;             /* forward */
        f += 2 * B * mn;             /* dW */
        if (l > 0) f += 2 * B * mn;  /* dX */
    }
    return f;
}

/* CPU seconds of this process: on a shared machine wall-clock throughput mostly measures the
 * other tenants, while CPU time measures this program (it still includes cache interference). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double sgemm_gflops(int n) {
    float *a = sb_malloc((size_t)n * n * sizeof(float)), *b = sb_malloc((size_t)n * n * sizeof(float)),
          *c = sb_calloc((size_t)n * n, sizeof(float));
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t = sb_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = sb_now() - t;
        if (t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "configs/bench/pendulum-paper.yaml";
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    char err[1024];
    YtDoc doc;
    SingleConfig c;
    single_config_default(&c);
    if (yt_load_file(&doc, path, err, sizeof err) || single_config_from_yaml(&doc, &c, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    yt_free(&doc);
    nn_blas_threads(1);
    c.blas_threads = 1;

    /* Shapes for the FLOP count. */
    Mlp pi, vf;
    mlp_init(&pi, 3, c.ppo.pi_arch, c.ppo.n_pi, 1, c.ppo.activation);
    mlp_init(&vf, 3, c.ppo.vf_arch, c.ppo.n_vf, 1, c.ppo.activation);
    double flops_per_sample = (mlp_flops(&pi, 1) + mlp_flops(&vf, 1));

    printf("PPO throughput: %s (%s, n_envs %d, n_steps %d, batch %d, epochs %d, 1 BLAS thread)\n", path, c.env,
           c.n_envs, c.ppo.n_steps, c.ppo.batch_size, c.ppo.n_epochs);
    double best_sps = 0, best_update_gflops = 0, best_cpu_sps = 0;
    SingleResult best = {0};
    for (int r = 0; r < repeats; r++) {
        SingleResult res;
        double cpu0 = cpu_now();
        if (single_train(&c, NULL, 1, &res, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        /* single_train also evaluates the policy afterwards; its CPU time is counted here. */
        double cpu_sps = (double)res.env_steps / (cpu_now() - cpu0);
        if (cpu_sps > best_cpu_sps) best_cpu_sps = cpu_sps;
        double update_flops = flops_per_sample * (double)res.env_steps * c.ppo.n_epochs;
        double gf = update_flops / res.update_s / 1e9;
        printf("  run %d: %ld steps in %.3f s = %.0f steps/s (rollout %.3f s, update %.3f s; update %.2f GFLOP/s); "
               "%.0f steps per CPU second\n",
               r + 1, res.env_steps, res.wall_s, res.steps_per_s, res.rollout_s, res.update_s, gf, cpu_sps);
        if (res.steps_per_s > best_sps) {
            best_sps = res.steps_per_s;
            best = res;
            best_update_gflops = gf;
        }
    }
    double peak = sgemm_gflops(2048);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("best: %.0f env steps/s including updates; rollout %.1f%%, update %.1f%% of the time\n", best_sps,
           100 * best.rollout_s / best.wall_s, 100 * best.update_s / best.wall_s);
    printf("best by CPU time: %.0f env steps per CPU second (training and the final evaluation)\n", best_cpu_sps);
    printf("update arithmetic: %.1f kFLOP per env step; achieved %.2f GFLOP/s = %.1f%% of large sgemm (%.1f GFLOP/s, "
           "2048^3, 1 thread)\n",
           flops_per_sample * c.ppo.n_epochs / 1e3, best_update_gflops, 100 * best_update_gflops / peak, peak);
    printf("peak resident memory of this process: %.1f MB (includes the 2048^3 sgemm buffers of 48 MB: see "
           "bench/RESULTS.md for the training run alone)\n",
           ru.ru_maxrss / 1024.0);
    return 0;
}
