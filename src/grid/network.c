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

/* Outside [-lim, lim] (NaN and infinities included). */
static int beyond(double v, double lim) { return !(fabs(v) <= lim); }

static int at(GridAt *where, GridAtKind kind, int index) {
    if (where) {
        where->kind = kind;
        where->index = index;
    }
    return -1;
}

int grid_network_check(const GridNetwork *g, GridAt *where, char *err, size_t n) {
    at(where, GRID_AT_NETWORK, -1);
    if (g->n_bus < 1) return sb_err(err, n, "no buses");
    if (!(g->base_mva > 0) || beyond(g->base_mva, GRID_MAX_MW))
        return sb_err(err, n, "baseMVA must be in (0, %g], got %g", GRID_MAX_MW, g->base_mva);
    for (int i = 0; i < g->n_bus; i++) {
        const char *bad = !isfinite(g->pd[i]) ? "load Pd is not a finite number"
                        : !isfinite(g->gs[i]) ? "shunt Gs is not a finite number"
                        : beyond(g->pd[i], GRID_MAX_MW) ? "load Pd beyond +-1e9 MW"
                        : beyond(g->gs[i], GRID_MAX_MW) ? "shunt Gs beyond +-1e9 MW" : NULL;
        if (bad) return at(where, GRID_AT_BUS, i), sb_err(err, n, "bus %d: %s", g->bus_id[i], bad);
    }
    int ref = -1;
    for (int i = 0; i < g->n_bus; i++)
        if (g->bus_type[i] == BUS_REF) {
            ref = i;
            break;
        }
    if (ref < 0) return sb_err(err, n, "no reference bus (type 3)");
    for (int k = 0; k < g->n_gen; k++) {
        const char *bad = NULL, *bad_cost = NULL;
        if (g->gen_bus[k] < 0 || g->gen_bus[k] >= g->n_bus) bad = "bad bus index";
        else if (!isfinite(g->pmin[k]) || !isfinite(g->pmax[k])) bad = "Pmin or Pmax is not a finite number";
        else if (beyond(g->pmin[k], GRID_MAX_MW) || beyond(g->pmax[k], GRID_MAX_MW)) bad = "Pmin or Pmax beyond +-1e9 MW";
        else if (!isfinite(g->c2[k]) || !isfinite(g->c1[k]) || !isfinite(g->c0[k]))
            bad_cost = "a cost coefficient is not a finite number";
        else if (beyond(g->c2[k], GRID_MAX_COST) || beyond(g->c1[k], GRID_MAX_COST) || beyond(g->c0[k], GRID_MAX_C0))
            bad_cost = "a cost coefficient beyond +-1e9 (c2, c1) or +-1e15 (c0)";
        else if (g->gen_on[k] && g->c2[k] < 0) bad_cost = "negative quadratic cost (non-convex)";
        else if (g->gen_on[k] && g->pmin[k] > g->pmax[k]) {
            at(where, GRID_AT_GEN, k);
            return sb_err(err, n, "generator %d: Pmin %g > Pmax %g", k + 1, g->pmin[k], g->pmax[k]);
        }
        if (bad) return at(where, GRID_AT_GEN, k), sb_err(err, n, "generator %d: %s", k + 1, bad);
        if (bad_cost) return at(where, GRID_AT_COST, k), sb_err(err, n, "generator %d: %s", k + 1, bad_cost);
    }
    for (int l = 0; l < g->n_branch; l++) {
        const char *bad = NULL;
        if (g->f[l] < 0 || g->f[l] >= g->n_bus || g->t[l] < 0 || g->t[l] >= g->n_bus) bad = "bad bus index";
        else if (!isfinite(g->x[l]) || !isfinite(g->tap[l]) || !isfinite(g->shift[l]) || !isfinite(g->rate[l]))
            bad = "x, tap, shift or rating is not a finite number";
        else if (g->rate[l] < 0) bad = "negative rating";
        else if (beyond(g->rate[l], GRID_MAX_MW)) bad = "rating beyond 1e9 MW";
        else if (g->tap[l] < 0) bad = "negative tap ratio";
        else if (g->tap[l] > GRID_MAX_TAP) bad = "tap ratio above 1000";
        else if (beyond(g->shift[l], 360)) bad = "phase shift beyond +-360 degrees";
        else if (beyond(g->x[l], GRID_MAX_X)) bad = "reactance beyond +-1e9 p.u.";
        else if (g->br_on[l] && g->x[l] == 0.0) bad = "zero reactance";
        else if (g->br_on[l] && !beyond(g->x[l], GRID_MIN_X)) bad = "reactance within +-1e-9 p.u. of 0";
        else if (g->br_on[l] && g->f[l] == g->t[l]) bad = "from and to bus are the same";
        if (bad) return at(where, GRID_AT_BRANCH, l), sb_err(err, n, "branch %d: %s", l + 1, bad);
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

int grid_network_validate(const GridNetwork *g, char *err, size_t n) { return grid_network_check(g, NULL, err, n); }
