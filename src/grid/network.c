/* network.c: allocation and structural checks of a GridNetwork. */
#include "grid/network.h"

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
