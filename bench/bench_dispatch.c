/* bench_dispatch.c: microseconds per DC-OPF solve (median), cold and warm, one core.
 *
 *   paper3            configs/grids/paper3.yaml under SPEC section 3 loads: each bus' load is
 *                     the sum over its households of shape x 16.667 kWh x triangular(0.8,
 *                     1.2, 1) noise, and each solar unit makes 30 x capacity factor x noise;
 *                     the 8 steps of a day in turn (no batteries).
 *   case118/300/2000  MATPOWER cases, every bus load scaled by its own U(0.95, 1.05) per
 *                     solve (a market step's change).
 * A warm solve is update_load + update_gen_bounds + solve after the previous step; a cold
 * one resets the warm start first. Load vectors are drawn before timing.
 * Usage: bench_dispatch [CASE_DIR]  (default data/matpower) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gridyaml.h"
#include "grid/dispatch.h"
#include "grid/matpower.h"
#include "util/common.h"
#include "util/rng.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median microseconds per solve (update + solve, each timed on its own so that a solve
 * preempted on a busy machine is an outlier, not a shift) over `count` solves cycling
 * through the `nv` prepared load (N) and pmax (G) vectors. One clock read per solve. */
static double time_solves(DispatchSolver *s, const double *loads, const double *pmin, const double *pmaxs,
                          int nv, int count, int cold, int *worst_status) {
    int N = dispatch_n_bus(s), G = dispatch_n_gen(s), k = 0;
    double *t = malloc((size_t)count * sizeof *t);
    double prev = sb_now();
    for (int i = 0; i < count; i++, k = (k + 1) % nv) {
        dispatch_update_load(s, loads + (size_t)k * N);
        if (pmaxs) dispatch_update_gen_bounds(s, pmin, pmaxs + (size_t)k * G);
        if (cold) dispatch_reset(s);
        DispatchStatus st = dispatch_solve(s);
        if (st != DISPATCH_OPTIMAL) *worst_status = st;
        double now = sb_now();
        t[i] = (now - prev) * 1e6;
        prev = now;
    }
    double m = median(t, count);
    free(t);
    return m;
}

static void bench_paper3(void) {
    /* SPEC section 3 */
    const double consumer[8] = {.5567, .4700, .7933, .8933, .9500, .9967, .9900, .8100};
    const double prosumer[8] = {.5633, .5567, .6333, .6733, .6700, .7100, .8000, .7333};
    const double solar_cf[8] = {0, 0, .2567, .7633, .9000, .4733, .0200, 0};
    const int n_pro[3] = {1000, 500, 300}, n_con[3] = {3000, 3000, 3000};
    const double scale_kwh = 16.667;
    GridNetwork g;
    char err[512];
    if (grid_read_yaml(&g, "configs/grids/paper3.yaml", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    DispatchSettings set;
    dispatch_settings_default(&set);
    DispatchSolver *s;
    if (dispatch_setup(&s, &g, &set, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    enum { NV = 1024 };
    double *loads = malloc(sizeof(double) * 3 * NV), *pmaxs = malloc(sizeof(double) * 4 * NV);
    double pmin[4] = {0, 0, 0, 0};
    Rng r;
    rng_seed(&r, 2025, 0);
    for (int k = 0; k < NV; k++) {
        int h = k % 8;
        for (int b = 0; b < 3; b++) {
            double kwh = 0;
            for (int i = 0; i < n_pro[b]; i++) kwh += prosumer[h] * scale_kwh * rng_triangular(&r, 0.8, 1.2, 1.0);
            for (int i = 0; i < n_con[b]; i++) kwh += consumer[h] * scale_kwh * rng_triangular(&r, 0.8, 1.2, 1.0);
            loads[k * 3 + b] = kwh / 1000.0; /* MWh per step */
        }
        pmaxs[k * 4 + 0] = g.pmax[0];
        pmaxs[k * 4 + 1] = g.pmax[1];
        pmaxs[k * 4 + 2] = 30 * solar_cf[h] * rng_triangular(&r, 0.8, 1.2, 1.0);
        pmaxs[k * 4 + 3] = 30 * solar_cf[h] * rng_triangular(&r, 0.8, 1.2, 1.0);
    }
    int bad = DISPATCH_OPTIMAL;
    time_solves(s, loads, pmin, pmaxs, NV, 20000, 0, &bad); /* warm-up */
    double warm = time_solves(s, loads, pmin, pmaxs, NV, 200001, 0, &bad);
    double cold = time_solves(s, loads, pmin, pmaxs, NV, 100001, 1, &bad);
    printf("| paper3 | %d | %.3f | %.3f | %s |\n", g.n_bus, cold, warm, dispatch_status_str((DispatchStatus)bad));
    free(loads);
    free(pmaxs);
    dispatch_cleanup(s);
    grid_network_free(&g);
}

static void bench_case(const char *dir, const char *name, int warm_count, int cold_count) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s.m", dir, name);
    GridNetwork g;
    if (grid_read_matpower(&g, path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    DispatchSettings set;
    dispatch_settings_default(&set);
    DispatchSolver *s;
    double t0 = sb_now();
    if (dispatch_setup(&s, &g, &set, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(1);
    }
    double tsetup = sb_now() - t0;
    enum { NV = 64 };
    int N = g.n_bus;
    double *loads = malloc(sizeof(double) * (size_t)N * NV);
    Rng r;
    rng_seed(&r, 7, 0);
    for (int k = 0; k < NV; k++)
        for (int i = 0; i < N; i++) loads[(size_t)k * N + i] = g.pd[i] * rng_uniform_range(&r, 0.95, 1.05);
    int bad = DISPATCH_OPTIMAL;
    time_solves(s, loads, NULL, NULL, NV, 10, 0, &bad);
    double warm = time_solves(s, loads, NULL, NULL, NV, warm_count, 0, &bad);
    double cold = time_solves(s, loads, NULL, NULL, NV, cold_count, 1, &bad);
    printf("| %s | %d | %.1f | %.1f | %s | (setup %.3f s)\n", name, N, cold, warm,
           dispatch_status_str((DispatchStatus)bad), tsetup);
    free(loads);
    dispatch_cleanup(s);
    grid_network_free(&g);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "data/matpower";
    printf("| case | buses | cold us/solve (median) | warm us/solve (median) | status |\n|---|---|---|---|---|\n");
    bench_paper3();
    bench_case(dir, "case118", 5001, 501);
    bench_case(dir, "case300", 2001, 201);
    bench_case(dir, "case_ACTIVSg2000", 101, 5);
    return 0;
}
