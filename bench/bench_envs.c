/* bench_envs.c: raw environment throughput (env steps per second, one core) for each
 * registered environment with random actions, stepping one instance through its EnvClass
 * and 8 instances through a VecEnv (auto-reset, episode log, Box clipping included).
 * Actions are drawn up front so the RNG of the policy is not timed. */
#include <stdio.h>
#include <stdlib.h>

#include "rl/env.h"
#include "rl/envs.h"
#include "util/common.h"
#include "util/rng.h"

#define ACTS 4096 /* pre-drawn action rows, cycled */

static void draw_actions(const EnvClass *c, float *acts, size_t n, Rng *rng) {
    for (size_t k = 0; k < n; k++)
        acts[k] = c->space.kind == SPACE_BOX
                      ? (float)rng_uniform_range(rng, c->space.low[0], c->space.high[0])
                      : (float)rng_below(rng, (uint64_t)c->space.n);
}

static double bench_single(const EnvClass *c, long steps) {
    void **envs = envs_create(c, 1, 1);
    float obs[64], r, *acts = sb_malloc(ACTS * sizeof(float));
    unsigned char mask[64];
    Rng rng;
    rng_seed(&rng, 2, 0);
    draw_actions(c, acts, ACTS, &rng);
    c->reset(envs[0], obs, mask);
    double sink = 0, t0 = sb_now();
    for (long t = 0; t < steps; t++) {
        int term, trunc;
        c->step(envs[0], acts + (t % ACTS), obs, mask, &r, &term, &trunc);
        sink += r;
        if (term || trunc) c->reset(envs[0], obs, mask);
    }
    double dt = sb_now() - t0;
    if (sink == 0.5) printf("(unlikely)\n"); /* keep the loop's results live */
    free(acts);
    envs_destroy(envs, 1);
    return (double)steps / dt;
}

static double bench_vec(const EnvClass *c, int n, long steps) {
    void **envs = envs_create(c, n, 1);
    VecEnv v;
    vecenv_init(&v, c, envs, n);
    vecenv_reset(&v);
    size_t A = (size_t)c->space.dim, row = (size_t)n * A;
    float *acts = sb_malloc(ACTS * row * sizeof(float));
    Rng rng;
    rng_seed(&rng, 3, 0);
    draw_actions(c, acts, ACTS * row, &rng);
    long iters = steps / n;
    double t0 = sb_now();
    for (long t = 0; t < iters; t++) vecenv_step(&v, acts + (size_t)(t % ACTS) * row);
    double dt = sb_now() - t0;
    printf("    (%ld episodes, mean length %.1f)\n", v.episodes, vecenv_mean_length(&v));
    free(acts);
    vecenv_free(&v);
    envs_destroy(envs, n);
    return (double)(iters * n) / dt;
}

int main(void) {
    const char *names[] = {"CartPole-v1", "Pendulum-v1"};
    const long steps = 10000000;
    for (size_t k = 0; k < SB_ARRAY_LEN(names); k++) {
        const EnvClass *c = envs_find(names[k]);
        double single = bench_single(c, steps);
        printf("%-12s single env  : %8.2f M steps/s\n", names[k], single / 1e6);
        double vec = bench_vec(c, 8, steps);
        printf("%-12s VecEnv N=8  : %8.2f M steps/s\n", names[k], vec / 1e6);
    }
    return 0;
}
