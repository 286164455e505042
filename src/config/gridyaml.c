/* gridyaml.c: a GridNetwork from YAML (see gridyaml.h for the format). */
#include "config/gridyaml.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* A required list of maps under key. */
static const YtNode *get_list(const YtDoc *d, const YtNode *m, const char *key, int required, char *err,
                              size_t n) {
    const YtNode *x = yt_find(d, m, key);
    if (!x) {
        if (required) yt_error_at(d, m ? m : d->root, key, err, n, "missing (a list of maps)");
        return NULL;
    }
    if (x->kind != YT_SEQ) {
        yt_error_at(d, x, key, err, n, "expected a list of maps");
        return NULL;
    }
    for (size_t i = 0; i < x->n; i++)
        if (x->items[i]->kind != YT_MAP) {
            yt_error_at(d, x->items[i], key, err, n, "item %zu: expected a map such as {id: 1}", i + 1);
            return NULL;
        }
    return x;
}

/* Keys of a list item that no getter read are errors (yt_check_unused does not descend
 * into lists). */
static int check_item_keys(const YtDoc *d, const YtNode *it, char *err, size_t n) {
    for (size_t k = 0; k < it->n; k++)
        if (!it->used[k])
            return sb_err(err, n, "%s:%d:%d: %s: unknown key", d->file, it->key_line[k], it->key_col[k], it->keys[k]);
    return 0;
}

/* A finite number under key (yamltree reads .inf as a number; no grid value may be one).
 * 0 (absent: *out untouched, or "missing" when required), or -1 with err. */
static int get_finite(const YtDoc *d, const YtNode *it, const char *key, int required, double *out, char *err,
                      size_t n) {
    int rc = yt_get_double(d, it, key, out, err, n);
    if (rc < 0) return -1;
    if (rc == 0) return required ? yt_error_at(d, it, key, err, n, "missing") : 0;
    if (!isfinite(*out)) return yt_error_at(d, yt_find(d, it, key), key, err, n, "must be a finite number, got %g", *out);
    return 0;
}

static int bus_ref(const YtDoc *d, const YtNode *it, const char *key, const GridNetwork *g, int *out,
                   char *err, size_t n) {
    long id = 0;
    int rc = yt_get_int(d, it, key, &id, err, n);
    if (rc < 0) return -1;
    if (rc == 0) return yt_error_at(d, it, key, err, n, "missing");
    *out = id >= 1 && id <= INT_MAX ? grid_bus_index(g, (int)id) : -1;
    if (*out < 0) return yt_error_at(d, yt_find(d, it, key), key, err, n, "unknown bus %ld", id);
    return 0;
}

int grid_from_yaml(GridNetwork *g, const YtDoc *d, const YtNode *m, char *err, size_t n) {
    memset(g, 0, sizeof *g);
    const YtNode *buses = get_list(d, m, "buses", 1, err, n);
    if (!buses) return -1;
    const YtNode *gens = get_list(d, m, "generators", 1, err, n);
    if (!gens) return -1;
    const YtNode *brs = get_list(d, m, "branches", 0, err, n);
    if (!brs && yt_find(d, m, "branches")) return -1;
    grid_network_alloc(g, (int)buses->n, (int)gens->n, brs ? (int)brs->n : 0);
    const char *name = "grid";
    if (yt_get_str(d, m, "name", &name, err, n) < 0) goto fail;
    g->name = sb_strdup(name);
    if (get_finite(d, m, "base_mva", 0, &g->base_mva, err, n)) goto fail;
    if (!(g->base_mva > 0)) {
        yt_error_at(d, yt_find(d, m, "base_mva"), "base_mva", err, n, "must be positive");
        goto fail;
    }
    const char *basis = NULL;
    if (yt_get_str(d, m, "cost_basis", &basis, err, n) < 0) goto fail;
    if (basis) {
        if (strcmp(basis, "per_step") && strcmp(basis, "per_hour")) {
            yt_error_at(d, yt_find(d, m, "cost_basis"), "cost_basis", err, n,
                        "expected per_step | per_hour, got \"%s\"", basis);
            goto fail;
        }
        g->per_step = !strcmp(basis, "per_step");
    }
    for (size_t i = 0; i < buses->n; i++) {
        const YtNode *it = buses->items[i];
        long id = 0;
        int rc = yt_get_int(d, it, "id", &id, err, n);
        if (rc < 0) goto fail;
        if (rc == 0 || id < 1 || id > INT_MAX) {
            yt_error_at(d, rc ? yt_find(d, it, "id") : it, "id", err, n,
                        rc == 0 ? "missing" : "must be an integer in [1, %d]", INT_MAX);
            goto fail;
        }
        if (grid_bus_index(g, (int)id) >= 0) {
            yt_error_at(d, yt_find(d, it, "id"), "id", err, n, "bus %ld given twice", id);
            goto fail;
        }
        g->bus_id[i] = (int)id;
        const char *ty = "pq";
        if (yt_get_str(d, it, "type", &ty, err, n) < 0) goto fail;
        if (!strcmp(ty, "ref")) g->bus_type[i] = BUS_REF;
        else if (!strcmp(ty, "pv")) g->bus_type[i] = BUS_PV;
        else if (!strcmp(ty, "pq")) g->bus_type[i] = BUS_PQ;
        else {
            yt_error_at(d, yt_find(d, it, "type"), "type", err, n, "expected ref, pv or pq, got '%s'", ty);
            goto fail;
        }
        if (get_finite(d, it, "pd", 0, &g->pd[i], err, n)) goto fail;
        if (get_finite(d, it, "gs", 0, &g->gs[i], err, n)) goto fail;
        if (check_item_keys(d, it, err, n)) goto fail;
    }
    for (size_t k = 0; k < gens->n; k++) {
        const YtNode *it = gens->items[k];
        const char *gname = NULL;
        if (yt_get_str(d, it, "name", &gname, err, n) < 0) goto fail;
        if (gname) g->gen_name[k] = sb_strdup(gname);
        if (bus_ref(d, it, "bus", g, &g->gen_bus[k], err, n)) goto fail;
        if (get_finite(d, it, "pmin", 0, &g->pmin[k], err, n)) goto fail;
        if (get_finite(d, it, "pmax", 1, &g->pmax[k], err, n)) goto fail;
        if (g->pmin[k] > g->pmax[k]) {
            yt_error_at(d, yt_find(d, it, "pmax"), "pmax", err, n, "must be >= pmin (%g), got %g", g->pmin[k],
                        g->pmax[k]);
            goto fail;
        }
        double c[3];
        size_t cnt = 0;
        int rc = yt_get_double_list(d, it, "cost", c, 3, &cnt, err, n);
        if (rc < 0) goto fail;
        if (rc == 0 || cnt != 3) {
            yt_error_at(d, rc ? yt_find(d, it, "cost") : it, "cost", err, n,
                        rc ? "expected [c2, c1, c0]" : "missing ([c2, c1, c0])");
            goto fail;
        }
        for (int j = 0; j < 3; j++)
            if (!isfinite(c[j])) {
                yt_error_at(d, yt_find(d, it, "cost")->items[j], "cost", err, n, "%s must be a finite number, got %g",
                            j == 0 ? "c2" : j == 1 ? "c1" : "c0", c[j]);
                goto fail;
            }
        if (c[0] < 0) {
            yt_error_at(d, yt_find(d, it, "cost"), "cost", err, n, "c2 must be >= 0 (convex), got %g", c[0]);
            goto fail;
        }
        g->c2[k] = c[0];
        g->c1[k] = c[1];
        g->c0[k] = c[2];
        int on = 1;
        if (yt_get_bool(d, it, "on", &on, err, n) < 0) goto fail;
        g->gen_on[k] = on;
        if (check_item_keys(d, it, err, n)) goto fail;
    }
    for (size_t l = 0; brs && l < brs->n; l++) {
        const YtNode *it = brs->items[l];
        const char *bname = NULL;
        double r = 0;
        if (yt_get_str(d, it, "name", &bname, err, n) < 0) goto fail;
        if (get_finite(d, it, "r", 0, &r, err, n)) goto fail; /* documented, unused in DC */
        if (bus_ref(d, it, "from", g, &g->f[l], err, n)) goto fail;
        if (bus_ref(d, it, "to", g, &g->t[l], err, n)) goto fail;
        if (get_finite(d, it, "x", 1, &g->x[l], err, n)) goto fail;
        if (get_finite(d, it, "rate", 0, &g->rate[l], err, n)) goto fail;
        if (get_finite(d, it, "tap", 0, &g->tap[l], err, n)) goto fail;
        if (get_finite(d, it, "shift", 0, &g->shift[l], err, n)) goto fail;
        int on = 1;
        if (yt_get_bool(d, it, "on", &on, err, n) < 0) goto fail;
        g->br_on[l] = on;
        if (check_item_keys(d, it, err, n)) goto fail;
        if (g->rate[l] < 0) {
            yt_error_at(d, yt_find(d, it, "rate"), "rate", err, n, "must be >= 0 (0 = unlimited), got %g",
                        g->rate[l]);
            goto fail;
        }
        if (g->tap[l] < 0) {
            yt_error_at(d, yt_find(d, it, "tap"), "tap", err, n, "must be >= 0 (0 means 1), got %g", g->tap[l]);
            goto fail;
        }
        if (on && g->x[l] == 0) {
            yt_error_at(d, yt_find(d, it, "x"), "x", err, n, "zero reactance on an in-service branch");
            goto fail;
        }
        if (g->f[l] == g->t[l]) {
            yt_error_at(d, it, "to", err, n, "from and to are the same bus");
            goto fail;
        }
    }
    char msg[256];
    GridAt at;
    if (grid_network_check(g, &at, msg, sizeof msg)) {
        const YtNode *where = at.kind == GRID_AT_BUS      ? buses->items[at.index]
                            : at.kind == GRID_AT_GEN      ? gens->items[at.index]
                            : at.kind == GRID_AT_COST     ? yt_find(d, gens->items[at.index], "cost")
                            : at.kind == GRID_AT_BRANCH   ? brs->items[at.index]
                                                          : m ? m : d->root;
        yt_error_at(d, where, NULL, err, n, "%s", msg);
        goto fail;
    }
    return 0;
fail:
    grid_network_free(g);
    return -1;
}

/* The grid in a loaded document that holds nothing else. */
static int read_doc(GridNetwork *g, YtDoc *doc, char *err, size_t n) {
    int rc = grid_from_yaml(g, doc, NULL, err, n);
    if (!rc && yt_check_unused(doc, NULL, err, n)) {
        grid_network_free(g);
        rc = -1;
    }
    yt_free(doc);
    return rc;
}

int grid_read_yaml(GridNetwork *g, const char *path, char *err, size_t n) {
    YtDoc doc;
    memset(g, 0, sizeof *g);
    if (yt_load_file(&doc, path, err, n)) return -1;
    return read_doc(g, &doc, err, n);
}

int grid_read_yaml_string(GridNetwork *g, const char *name, const char *text, char *err, size_t n) {
    YtDoc doc;
    memset(g, 0, sizeof *g);
    if (yt_load_string(&doc, name, text, err, n)) return -1;
    return read_doc(g, &doc, err, n);
}
