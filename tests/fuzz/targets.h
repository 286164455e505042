/* targets.h: the fuzz targets of the text parsers, shared by the libFuzzer harnesses
 * (tests/fuzz/fuzz_NAME.c, `make fuzz`) and by the replay of their corpora under the normal
 * build (tests/test_fuzz_corpora.c, `make test`), so a found input is replayed through
 * exactly the code the fuzzer ran.
 *
 * Each target returns 0 or aborts when the parser breaks a promise (a sanitizer reports the
 * rest: memory errors, leaks, undefined behaviour):
 *   - every failure is a message that starts with the input's name (or the --set argument);
 *   - what a reader accepts passes grid_network_validate, and a small accepted network goes
 *     through one dispatch whose "optimal" is true: finite numbers, every unit within
 *     [Pmin, Pmax] and every rated line within its rating (to 1e-6 of the case's MW).
 *
 *   fuzz_matpower  the bytes are a MATPOWER case file (grid_read_matpower_mem)
 *   fuzz_gridyaml  the bytes (to the first NUL) are a grid YAML file (grid_read_yaml_string)
 *   fuzz_config    the bytes to the first NUL are a run config; each later NUL-terminated
 *                  piece (at most 8) is a --set argument; read as `train` reads it: a
 *                  single-agent config when it names an env, else a tariff-game config */
#ifndef SB_FUZZ_TARGETS_H
#define SB_FUZZ_TARGETS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gridyaml.h"
#include "config/single_config.h"
#include "config/yamltree.h"
#include "config/game_config.h"
#include "grid/dispatch.h"
#include "grid/matpower.h"

static inline void fuzz_require(int ok, const char *promise, const char *detail) {
    if (ok) return;
    fprintf(stderr, "fuzz: broken promise: %s: %s\n", promise, detail);
    abort();
}

static inline int fuzz_starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* A network a reader accepted. Networks of at most 30 buses and 90 branches are also
 * dispatched (bigger ones cost the fuzzer more than they find). */
static inline void fuzz_check_network(const GridNetwork *g) {
    char err[512];
    fuzz_require(grid_network_validate(g, err, sizeof err) == 0, "an accepted network fails validation", err);
    if (g->n_bus > 30 || g->n_branch > 90) return;
    DispatchSettings set;
    dispatch_settings_default(&set);
    set.max_iter = 1000;
    DispatchSolver *s;
    if (dispatch_setup(&s, g, &set, err, sizeof err)) return; /* e.g. a singular B: a message */
    if (dispatch_solve(s) == DISPATCH_OPTIMAL) {
        /* Optimal means feasible: finite numbers, units within their limits and rated lines
         * within their ratings, up to a tolerance relative to the MW in the case. */
        const DispatchResult *r = dispatch_result(s);
        const DispatchInfo *in = dispatch_info(s);
        double mw = 1;
        for (int i = 0; i < g->n_bus; i++) mw += fabs(g->pd[i]) + fabs(g->gs[i]);
        for (int k = 0; k < g->n_gen; k++) mw += fabs(g->pmax[k]) + fabs(g->pmin[k]);
        double tol = 1e-6 * mw;
        fuzz_require(isfinite(in->objective), "optimal dispatch", "objective is not finite");
        for (int i = 0; i < g->n_bus; i++)
            fuzz_require(isfinite(r->lmp[i]), "optimal dispatch", "an LMP is not finite");
        for (int k = 0; k < g->n_gen; k++) {
            fuzz_require(isfinite(r->pg[k]), "optimal dispatch", "a Pg is not finite");
            if (g->gen_on[k])
                fuzz_require(r->pg[k] >= g->pmin[k] - tol && r->pg[k] <= g->pmax[k] + tol, "optimal dispatch",
                             "a unit outside [Pmin, Pmax]");
            else
                fuzz_require(r->pg[k] == 0, "optimal dispatch", "an out-of-service unit produces");
        }
        for (int l = 0; l < g->n_branch; l++)
            if (g->br_on[l] && g->rate[l] > 0)
                fuzz_require(fabs(r->flow[l]) <= g->rate[l] + tol, "optimal dispatch", "a line beyond its rating");
    }
    dispatch_cleanup(s);
}

static inline int fuzz_matpower(const uint8_t *data, size_t size) {
    GridNetwork g;
    char err[1024] = "";
    if (grid_read_matpower_mem(&g, "fuzz.m", (const char *)data, size, err, sizeof err) == 0) {
        fuzz_check_network(&g);
        grid_network_free(&g);
    } else {
        fuzz_require(fuzz_starts(err, "fuzz.m:"), "errors start with the file's name", err);
    }
    return 0;
}

/* A copy of data as a C string (to the first NUL; the rest is returned through *rest). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    fuzz_require(s != NULL, "malloc", "out of memory");
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

static inline int fuzz_gridyaml(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    GridNetwork g;
    char err[1024] = "";
    if (grid_read_yaml_string(&g, "fuzz.yaml", text, err, sizeof err) == 0) {
        fuzz_check_network(&g);
        grid_network_free(&g);
    } else {
        fuzz_require(fuzz_starts(err, "fuzz.yaml:"), "errors start with the file's name", err);
    }
    free(text);
    return 0;
}

static inline int fuzz_config(const uint8_t *data, size_t size) {
    char *buf = fuzz_cstring(data, size);
    const char *sets[8];
    int n_sets = 0;
    for (size_t p = strlen(buf) + 1; p < size && n_sets < 8; p += strlen(buf + p) + 1) sets[n_sets++] = buf + p;
    YtDoc d;
    char err[1024] = "";
    if (yt_load_string(&d, "fuzz.yaml", buf, err, sizeof err)) {
        fuzz_require(fuzz_starts(err, "fuzz.yaml:"), "errors start with the file's name", err);
        free(buf);
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < n_sets && !rc; i++) {
        rc = yt_set(&d, sets[i], err, sizeof err);
        if (rc) fuzz_require(fuzz_starts(err, "--set "), "--set errors name the argument", err);
    }
    if (!rc) {
        if (yt_find(&d, NULL, "env")) {
            SingleConfig *c = calloc(1, sizeof *c);
            fuzz_require(c != NULL, "malloc", "out of memory");
            single_config_default(c);
            rc = single_config_from_yaml(&d, c, err, sizeof err);
            free(c);
        } else {
            GameConfig *c = calloc(1, sizeof *c);
            fuzz_require(c != NULL, "malloc", "out of memory");
            game_config_default(c);
            rc = game_config_from_yaml(&d, c, err, sizeof err);
            game_config_free(c);
            free(c);
        }
        if (rc)
            fuzz_require(fuzz_starts(err, "fuzz.yaml") || fuzz_starts(err, "--set "),
                         "errors name the file or the --set argument", err);
    }
    yt_free(&d);
    free(buf);
    return 0;
}

#endif
