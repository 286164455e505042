/* testutil.h: helpers shared by the Criterion tests (header-only). */
#ifndef SB_TESTUTIL_H
#define SB_TESTUTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when files a and b hold the same bytes (0 when they differ or one cannot be read). */
static inline int tu_same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

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

/* Reference files written by the tools/gen_*.py generators: '#' comment lines, then sections
 * "name count" each followed by count numbers (inf, -inf allowed). Returns 0, or -1 with a
 * message in err. */
enum { TU_REF_MAX = 32, TU_REF_NAME = 32 };
typedef struct {
    char names[TU_REF_MAX][TU_REF_NAME];
    double *vals[TU_REF_MAX]; /* (counts[s]) */
    size_t counts[TU_REF_MAX];
    int n;
} TuRef;

static inline void tu_ref_err(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static inline void tu_ref_free(TuRef *f) {
    for (int s = 0; s < f->n; s++) free(f->vals[s]);
    f->n = 0;
}

static inline int tu_ref_read(TuRef *f, const char *path, char *err, size_t n) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        tu_ref_err(err, n, "%s: cannot open (tests run from the repository root)", path);
        return -1;
    }
    int c;
    while ((c = fgetc(fp)) == '#')
        while ((c = fgetc(fp)) != '\n' && c != EOF) {
        }
    ungetc(c, fp);
    char name[TU_REF_NAME];
    size_t count;
    const char *what = NULL;
    while (!what && fscanf(fp, "%31s %zu", name, &count) == 2) {
        if (f->n == TU_REF_MAX) {
            what = "too many sections";
            break;
        }
        snprintf(f->names[f->n], TU_REF_NAME, "%s", name);
        f->counts[f->n] = count;
        f->vals[f->n] = calloc(count ? count : 1, sizeof(double));
        for (size_t i = 0; i < count && !what; i++)
            if (fscanf(fp, "%lf", &f->vals[f->n][i]) != 1) what = "a section is short";
        f->n++;
    }
    if (!what && !feof(fp)) what = "not a section header";
    fclose(fp);
    if (what) {
        tu_ref_err(err, n, "%s: after %d sections: %s", path, f->n, what);
        tu_ref_free(f);
        return -1;
    }
    return 0;
}

/* Values of section name, or NULL if it is missing or (want > 0) has another count. */
static inline const double *tu_ref_sec(const TuRef *f, const char *name, size_t want) {
    for (int s = 0; s < f->n; s++)
        if (!strcmp(f->names[s], name)) return want == 0 || f->counts[s] == want ? f->vals[s] : NULL;
    return NULL;
}

static inline size_t tu_ref_count(const TuRef *f, const char *name) {
    for (int s = 0; s < f->n; s++)
        if (!strcmp(f->names[s], name)) return f->counts[s];
    return 0;
}

#endif
