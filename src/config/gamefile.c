/* gamefile.c: helpers of the game-file readers (see gamefile.h). */
#include "config/gamefile.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"

int gf_file_kind(const char *path, char *kind, size_t cap, char *err, size_t n) {
    YtDoc d;
    if (yt_load_file(&d, path, err, n)) return -1;
    const char *k;
    int rc = yt_get_str(&d, NULL, "game", &k, err, n);
    if (rc == 0) rc = yt_error_at(&d, d.root, "game", err, n, "missing (tabular or mean_field)");
    else if (rc == 1 && strcmp(k, "tabular") && strcmp(k, "mean_field"))
        rc = yt_error_at(&d, yt_find(&d, NULL, "game"), "game", err, n, "expected tabular or mean_field, got \"%s\"", k);
    else if (rc == 1) {
        snprintf(kind, cap, "%s", k);
        rc = 0;
    }
    yt_free(&d);
    return rc;
}

int gf_read_size(const YtDoc *d, const char *key, int hi, int *out, char *err, size_t n) {
    long v;
    int rc = yt_get_int(d, NULL, key, &v, err, n);
    if (rc < 0) return -1;
    if (rc == 0) return yt_error_at(d, d->root, key, err, n, "missing (an integer in [1, %d])", hi);
    if (v < 1 || v > hi)
        return yt_error_at(d, yt_find(d, NULL, key), key, err, n, "must be in [1, %d], got %ld", hi, v);
    *out = (int)v;
    return 0;
}

int gf_read_tensor(const YtDoc *d, const YtNode *x, char *label, size_t labcap, const int *dims,
                   const char *const *names, int ndim, double *out, char *err, size_t n) {
    if (x->kind != YT_SEQ)
        return yt_error_at(d, x, label, err, n, "expected a list of %d values (one per %s)%s", dims[0],
                           names[0], x->kind == YT_SCALAR ? ", got a single value" : ", got a map");
    if (x->n != (size_t)dims[0])
        return yt_error_at(d, x, label, err, n, "expected %d entries (one per %s), got %zu", dims[0],
                           names[0], x->n);
    size_t stride = 1;
    for (int k = 1; k < ndim; k++) stride *= (size_t)dims[k];
    size_t base = strlen(label);
    for (size_t i = 0; i < x->n; i++) {
        snprintf(label + base, labcap - base, "[%zu]", i);
        const YtNode *item = x->items[i];
        if (ndim == 1) {
            if (item->kind != YT_SCALAR)
                return yt_error_at(d, item, label, err, n, "expected a number, got a %s (nested too deep)",
                                   item->kind == YT_SEQ ? "list" : "map");
            if (yt_node_double(d, item, label, &out[i], err, n)) return -1;
            if (!isfinite(out[i])) return yt_error_at(d, item, label, err, n, "must be finite");
        } else if (gf_read_tensor(d, item, label, labcap, dims + 1, names + 1, ndim - 1, out + i * stride, err,
                                  n)) {
            return -1;
        }
    }
    label[base] = 0;
    return 0;
}

int gf_check_rows(const YtDoc *d, const YtNode *x, const char *key, int S, int L, int F, const double *p,
                  char *err, size_t n) {
    char label[128];
    for (int s = 0; s < S; s++)
        for (int a = 0; a < L; a++)
            for (int b = 0; b < F; b++) {
                const YtNode *row = x->items[s]->items[a]->items[b];
                const double *q = p + (((size_t)s * L + a) * F + b) * S;
                snprintf(label, sizeof label, "%s[%d][%d][%d]", key, s, a, b);
                double sum = 0;
                for (int t = 0; t < S; t++) {
                    if (q[t] < 0) {
                        snprintf(label, sizeof label, "%s[%d][%d][%d][%d]", key, s, a, b, t);
                        return yt_error_at(d, row->items[t], label, err, n, "probability must be >= 0, got %g",
                                           q[t]);
                    }
                    sum += q[t];
                }
                if (fabs(sum - 1) > GF_ROW_TOL)
                    return yt_error_at(d, row, label, err, n, "probabilities sum to %.12g, must sum to 1 within %g",
                                       sum, GF_ROW_TOL);
            }
    return 0;
}
