/* network.c: allocation and structural checks of a GridNetwork. */
#include "grid/network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void grid_network_alloc(GridNetwork *g, int n_bus, int n_gen, int n_branch) {
    memset(g, 0, sizeof *g);
    g->base_mva = 100.0;
    g->n_bus = n_bus;
    g->bus_id = sb_calloc((size_t)n_bus, sizeof *g->bus_id);
    g->bus_type = sb_calloc((size_t)n_bus, sizeof *g->bus_type);
    g->pd = sb_calloc((size_t)n_bus, sizeof *g->pd);
    g->gs = sb_calloc((size_t)n_bus, sizeof *g->gs);
    g->n_gen = n_gen;
    g->gen_bus = sb_calloc((size_t)n_gen, sizeof *g->gen_bus);
    g->gen_on = sb_calloc((size_t)n_gen, sizeof *g->gen_on);
    g->pmin = sb_calloc((size_t)n_gen, sizeof *g->pmin);
    g->pmax = sb_calloc((size_t)n_gen, sizeof *g->pmax);
    g->c2 = sb_calloc((size_t)n_gen, sizeof *g->c2);
    g->c1 = sb_calloc((size_t)n_gen, sizeof *g->c1);
    g->c0 = sb_calloc((size_t)n_gen, sizeof *g->c0);
    g->gen_name = sb_calloc((size_t)n_gen, sizeof *g->gen_name);
    g->n_branch = n_branch;
    g->f = sb_calloc((size_t)n_branch, sizeof *g->f);
    g->t = sb_calloc((size_t)n_branch, sizeof *g->t);
    g->x = sb_calloc((size_t)n_branch, sizeof *g->x);
    g->tap = sb_calloc((size_t)n_branch, sizeof *g->tap);
    g->shift = sb_calloc((size_t)n_branch, sizeof *g->shift);
    g->rate = sb_calloc((size_t)n_branch, sizeof *g->rate);
    g->br_on = sb_calloc((size_t)n_branch, sizeof *g->br_on);
    for (int l = 0; l < n_branch; l++) g->tap[l] = 1.0;
}

void grid_network_free(GridNetwork *g) {
    if (!g) return;
    free(g->name);
    free(g->bus_id);
    free(g->bus_type);
    free(g->pd);
    free(g->gs);
    free(g->gen_bus);
    free(g->gen_on);
    free(g->pmin);
    free(g->pmax);
    free(g->c2);
    free(g->c1);
    free(g->c0);
    if (g->gen_name)
        for (int i = 0; i < g->n_gen; i++) free(g->gen_name[i]);
    free(g->gen_name);
    free(g->f);
    free(g->t);
    free(g->x);
    free(g->tap);
    free(g->shift);
    free(g->rate);
    free(g->br_on);
    memset(g, 0, sizeof *g);
}

int grid_bus_index(const GridNetwork *g, int bus_id) {
    for (int i = 0; i < g->n_bus; i++)
        if (g->bus_id[i] == bus_id) return i;
    return -1;
}

/* Breadth-first search over in-service branches from bus 0; returns the number reached.
 * queue/seen are (N) scratch. */
static int count_connected(const GridNetwork *g, int start, int *queue, unsigned char *seen) {
    int head = 0, tail = 0, count = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
        int b = queue[head++];
        count++;
        for (int l = 0; l < g->n_branch; l++) {
            if (!g->br_on[l]) continue;
            int o = g->f[l] == b ? g->t[l] : g->t[l] == b ? g->f[l] : -1;
            if (o >= 0 && !seen[o]) {
                seen[o] = 1;
                queue[tail++] = o;
            }
        }
    }
    return count;
}

int grid_network_validate(const GridNetwork *g, char *err, size_t n) {
    if (g->n_bus < 1) return sb_err(err, n, "no buses");
    if (!(g->base_mva > 0) || !isfinite(g->base_mva)) return sb_err(err, n, "baseMVA must be finite and positive");
    for (int i = 0; i < g->n_bus; i++)
        if (!isfinite(g->pd[i]) || !isfinite(g->gs[i]))
            return sb_err(err, n, "bus %d: load Pd or shunt Gs is not a finite number", g->bus_id[i]);
    int ref = -1;
    for (int i = 0; i < g->n_bus; i++)
        if (g->bus_type[i] == BUS_REF) {
            ref = i;
            break;
        }
    if (ref < 0) return sb_err(err, n, "no reference bus (type 3)");
    for (int k = 0; k < g->n_gen; k++) {
        if (g->gen_bus[k] < 0 || g->gen_bus[k] >= g->n_bus)
            return sb_err(err, n, "generator %d: bad bus index", k + 1);
        if (!isfinite(g->pmin[k]) || !isfinite(g->pmax[k]) || !isfinite(g->c2[k]) || !isfinite(g->c1[k]) ||
            !isfinite(g->c0[k]))
            return sb_err(err, n, "generator %d: a limit or cost coefficient is not a finite number", k + 1);
        if (g->gen_on[k] && g->pmin[k] > g->pmax[k])
            return sb_err(err, n, "generator %d: Pmin %g > Pmax %g", k + 1, g->pmin[k],
                          g->pmax[k]);
        if (g->gen_on[k] && g->c2[k] < 0)
            return sb_err(err, n, "generator %d: negative quadratic cost (non-convex)", k + 1);
    }
    for (int l = 0; l < g->n_branch; l++) {
        if (g->f[l] < 0 || g->f[l] >= g->n_bus || g->t[l] < 0 || g->t[l] >= g->n_bus)
            return sb_err(err, n, "branch %d: bad bus index", l + 1);
        if (!isfinite(g->x[l]) || !isfinite(g->tap[l]) || !isfinite(g->shift[l]) || !isfinite(g->rate[l]))
            return sb_err(err, n, "branch %d: x, tap, shift or rating is not a finite number", l + 1);
        if (g->rate[l] < 0) return sb_err(err, n, "branch %d: negative rating", l + 1);
        if (g->tap[l] < 0) return sb_err(err, n, "branch %d: negative tap ratio", l + 1);
        if (!g->br_on[l]) continue;
        if (g->x[l] == 0.0) return sb_err(err, n, "branch %d: zero reactance", l + 1);
        if (g->f[l] == g->t[l]) return sb_err(err, n, "branch %d: from and to bus are the same", l + 1);
    }
    int *queue = sb_malloc((size_t)g->n_bus * sizeof *queue);
    unsigned char *seen = sb_calloc((size_t)g->n_bus, 1);
    int reached = count_connected(g, ref, queue, seen);
    int first = -1;
    for (int i = 0; i < g->n_bus && first < 0; i++)
        if (!seen[i]) first = i;
    free(queue);
    free(seen);
    if (reached < g->n_bus)
        return sb_err(err, n, "disconnected network: bus %d is not connected to the reference bus %d",
                      g->bus_id[first], g->bus_id[ref]);
    return 0;
}
