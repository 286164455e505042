/* world.c: the game's grid and households, loaded and cross-checked (world.h). */
#include "game/world.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gridyaml.h"
#include "grid/market.h"
#include "grid/matpower.h"
#include "rl/env.h"
#include "util/common.h"

static int read_grid(GridNetwork *g, const char *path, char *err, size_t n) {
    size_t k = strlen(path);
    if (k > 2 && !strcmp(path + k - 2, ".m")) return grid_read_matpower(g, path, err, n);
    return grid_read_yaml(g, path, err, n);
}

void game_world_free(GameWorld *w) {
    grid_network_free(&w->net);
    hh_params_free(&w->hh);
    free(w->grid_bus);
    free(w->solar_gen);
    free(w->base_load);
    free(w->base_shape);
    memset(w, 0, sizeof *w);
}

int game_world_load(GameWorld *w, const GameConfig *c, char *err, size_t n) {
    memset(w, 0, sizeof *w);
    char where[GAME_PATH_MAX + 64], msg[1024];
    game_config_where(c, c->grid_pos, where, sizeof where);
    if (read_grid(&w->net, c->grid_path, msg, sizeof msg)) {
        /* The reader's message names the grid file and line; say which key pointed there. */
        sb_err(err, n, "%sgrid: %s", where, msg);
        goto fail;
    }
    const GridNetwork *net = &w->net;
    const int N = net->n_bus, S = c->steps_per_day;
    w->per_step = c->cost_basis == COST_BASIS_GRID ? net->per_step : c->cost_basis == COST_BASIS_PER_STEP;
    w->mwh_per_unit = w->per_step ? 1.0 : c->step_hours;

    /* Households: as given, or placed on the load buses. */
    if (c->from_load) {
        hh_params_copy(&w->hh, &c->hh);
        if (hh_generate_from_load(&w->hh, c->from_load_rows, c->from_load_n_rows, c->from_load_households,
                                  net->bus_id, net->pd, N, msg, sizeof msg)) {
            game_config_where(c, (CfgPos){0, 0}, where, sizeof where);
            sb_err(err, n, "%s%s (grid %s)", where, msg, c->grid_path);
            goto fail;
        }
        w->hh.steps_per_day = S;
    } else {
        hh_params_copy(&w->hh, &c->hh);
    }
    HhParams *p = &w->hh;
    const int B = p->n_bus;
    w->grid_bus = sb_calloc((size_t)B, sizeof *w->grid_bus);
    for (int b = 0; b < B; b++) {
        w->grid_bus[b] = grid_bus_index(net, p->bus_id[b]);
        if (w->grid_bus[b] < 0) {
            game_config_where(c, c->from_load || !c->bus_pos ? (CfgPos){0, 0} : c->bus_pos[b], where, sizeof where);
            sb_err(err, n, "%shouseholds.%s.bus: bus %d is not in the grid %s (%d buses, numbered %d to %d)", where,
                   p->bus_name[b], p->bus_id[b], c->grid_path, N, net->bus_id[0], net->bus_id[N - 1]);
            goto fail;
        }
    }

    /* Solar units: named generators; capacity default their Pmax. */
    const int U = p->n_solar;
    w->solar_gen = sb_calloc((size_t)(U ? U : 1), sizeof *w->solar_gen);
    for (int u = 0; u < U; u++) {
        w->solar_gen[u] = -1;
        for (int k = 0; k < net->n_gen; k++)
            if (net->gen_name && net->gen_name[k] && !strcmp(net->gen_name[k], c->solar_gen[u])) w->solar_gen[u] = k;
        /* "gen<K>": the K-th generator in file order (MATPOWER cases name none). */
        int k = 0, used = 0;
        if (w->solar_gen[u] < 0 && sscanf(c->solar_gen[u], "gen%d%n", &k, &used) == 1 && !c->solar_gen[u][used] &&
            k >= 1 && k <= net->n_gen)
            w->solar_gen[u] = k - 1;
        if (w->solar_gen[u] < 0) {
            game_config_where(c, c->solar_pos, where, sizeof where);
            sb_err(err, n, "%ssolar.generators: no generator named \"%s\" in %s (%d generators; name one as in the "
                           "grid YAML file, or gen1 to gen%d in file order; no solar: solar: {generators: []})",
                   where, c->solar_gen[u], c->grid_path, net->n_gen, net->n_gen);
            goto fail;
        }
        if (isnan(p->solar_capacity_mwh[u])) p->solar_capacity_mwh[u] = game_world_mwh(w, net->pmax[w->solar_gen[u]]);
    }

    /* The grid's own load: Pd times a daily shape (default: the consumers', mean 1) [R]. */
    w->base_shape = sb_calloc((size_t)S, sizeof *w->base_shape);
    w->base_load = sb_calloc((size_t)S * (size_t)N, sizeof *w->base_load);
    if (c->base_load == BASE_LOAD_CASE) {
        double mean = hh_shape_mean(p->shape_consumer, S);
        for (int h = 0; h < S; h++)
            w->base_shape[h] = c->base_load_shape_len ? c->base_load_shape[h] : mean > 0 ? p->shape_consumer[h] / mean : 1.0;
        for (int h = 0; h < S; h++)
            for (int i = 0; i < N; i++) w->base_load[(size_t)h * N + i] = net->pd[i] * w->base_shape[h];
    }

    /* What needs both: a valid population, the baseline tariff inside the bounds, and a leader
     * action the policy can hold. */
    game_config_where(c, (CfgPos){0, 0}, where, sizeof where);
    if (hh_params_validate(p, msg, sizeof msg)) {
        sb_err(err, n, "%s%s", where, msg);
        goto fail;
    }
    if (game_config_check_baseline(c, p, msg, sizeof msg)) {
        sb_err(err, n, "%s%s", where, msg);
        goto fail;
    }
    if (market_tariff_dim(p->n_class) > ENV_MAX_ACT) {
        sb_err(err, n, "%shouseholds: %d income classes give the leader %d tariff entries; at most %d (group buses "
                       "into classes with households: {from_load: ...})",
               where, p->n_class, market_tariff_dim(p->n_class), ENV_MAX_ACT);
        goto fail;
    }
    return 0;
fail:
    game_world_free(w);
    return -1;
}

uint64_t game_world_fingerprint(const GameWorld *w) {
    const GridNetwork *g = &w->net;
    const HhParams *p = &w->hh;
    const size_t N = (size_t)g->n_bus, G = (size_t)g->n_gen, M = (size_t)g->n_branch;
    const size_t B = (size_t)p->n_bus, Gp = (size_t)p->n_group, C = (size_t)p->n_class, U = (size_t)p->n_solar;
    uint64_t h = SB_FNV_INIT;
#define H(ptr, k) h = sb_fnv1a(h, ptr, (k) * sizeof *(ptr))
    H(g->bus_id, N);
    H(g->pd, N);
    H(g->gs, N);
    H(g->gen_bus, G);
    H(g->gen_on, G);
    H(g->pmin, G);
    H(g->pmax, G);
    H(g->c2, G);
    H(g->c1, G);
    H(g->c0, G);
    H(g->f, M);
    H(g->t, M);
    H(g->x, M);
    H(g->tap, M);
    H(g->shift, M);
    H(g->rate, M);
    H(g->br_on, M);
    H(p->bus_id, B);
    H(p->consumers, B);
    H(p->consumer_income, B);
    H(p->group_bus, Gp);
    H(p->group_class, Gp);
    H(p->prosumers, Gp);
    H(p->storage_kwh, Gp);
    H(p->class_income, C);
    H(p->solar_capacity_mwh, U);
    H(w->solar_gen, U);
    H(w->base_load, (size_t)p->steps_per_day * N);
    h = sb_fnv1a(h, &w->mwh_per_unit, sizeof w->mwh_per_unit);
#undef H
    return h;
}
