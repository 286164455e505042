/* clear.c: bus loads, solar bounds and one dispatch per market step (clear.h). */
#include "game/clear.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

int market_clear_setup(MarketClear *m, const GameWorld *w, double voll, char *err, size_t n) {
    memset(m, 0, sizeof *m);
    m->w = w;
    DispatchSettings s;
    dispatch_settings_default(&s);
    s.voll = voll;
    if (dispatch_setup(&m->ds, &w->net, &s, err, n)) return -1;
    const size_t N = (size_t)w->net.n_bus, G = (size_t)w->net.n_gen;
    m->load = sb_calloc(N, sizeof *m->load);
    m->pmin = sb_calloc(G ? G : 1, sizeof *m->pmin);
    m->pmax = sb_calloc(G ? G : 1, sizeof *m->pmax);
    memcpy(m->pmin, w->net.pmin, G * sizeof *m->pmin);
    memcpy(m->pmax, w->net.pmax, G * sizeof *m->pmax);
    return 0;
}

void market_clear_cleanup(MarketClear *m) {
    dispatch_cleanup(m->ds);
    free(m->load);
    free(m->pmin);
    free(m->pmax);
    memset(m, 0, sizeof *m);
}

const DispatchResult *market_clear(MarketClear *m, int hour, const HhStep *hs, const double *fleet_kwh, int warm,
                                   double *lmp, int *slack) {
    const GameWorld *w = m->w;
    const HhParams *p = &w->hh;
    const int N = w->net.n_bus;
    memcpy(m->load, w->base_load + (size_t)hour * (size_t)N, (size_t)N * sizeof *m->load);
    for (int b = 0; b < p->n_bus; b++)
        m->load[w->grid_bus[b]] += game_world_units(w, (hs->consumer_kwh[b] + fleet_kwh[b]) / 1000.0);
    for (int u = 0; u < p->n_solar; u++) m->pmax[w->solar_gen[u]] = game_world_units(w, hs->solar_mwh[u]);
    double t0 = sb_now();
    if (!warm) dispatch_reset(m->ds);
    dispatch_update_load(m->ds, m->load);
    dispatch_update_gen_bounds(m->ds, m->pmin, m->pmax);
    dispatch_solve(m->ds);
    m->dispatch_s += sb_now() - t0;
    const DispatchResult *r = dispatch_result(m->ds);
    for (int b = 0; b < p->n_bus; b++) lmp[b] = r->lmp[w->grid_bus[b]];
    if (slack) {
        *slack = 0;
        for (int k = 0; k < N; k++)
            if (r->unserved[k] > 1e-9 || r->spilled[k] > 1e-9) *slack = 1;
    }
    return r;
}
