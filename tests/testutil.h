/* testutil.h: helpers shared by the Criterion tests (header-only). */
#ifndef SB_TESTUTIL_H
#define SB_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relative difference with an absolute floor, for comparing against references. */
static inline double tu_rel(double got, double want) {
    return fabs(got - want) / fmax(fabs(want), 1e-12);
}

/* Path of bin/stackelberg (set by the Makefile: the sanitizer build has its own). */
static inline const char *tu_bin(void) {
    const char *b = getenv("SB_BIN");
    return b ? b : "bin/stackelberg";
}

/* True under `make asan`, where long learning runs are shortened. */
static inline int tu_asan(void) { return getenv("SB_ASAN") != NULL; }

/* Run a shell command, capturing stdout+stderr into out (truncated to cap); returns the
 * exit status (or -1). */
static inline int tu_run(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t k = 0;
    if (out && cap) {
        size_t got;
        while (k + 1 < cap && (got = fread(out + k, 1, cap - 1 - k, p)) > 0) k += got;
        out[k] = 0;
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    if (st == -1) return -1;
    return (st >> 8) & 0xff;
}

#endif
