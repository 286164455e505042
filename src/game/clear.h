/* clear.h: one market clearing, the only one: the real market (with and without storage) and
 * the leader's training environment all clear a step through market_clear.
 *
 * Legend: N grid buses, G generators, B household buses, U solar units.
 *
 * A step's bus loads are the grid's own load at that step of the day (world->base_load) plus
 * each household bus's consumers and fleet, converted from kWh per step to grid units; the
 * solar units' upper bounds are this step's availability. Whether the solver starts from the
 * previous active set is the caller's explicit choice (`warm`): the real market clears cold,
 * so a checkpoint between any two steps resumes bit for bit (a warm start may round
 * differently); the leader's environment clears warm within a phase and cold at its start. */
#ifndef SB_CLEAR_H
#define SB_CLEAR_H

#include <stddef.h>

#include "game/world.h"
#include "grid/dispatch.h"
#include "grid/households.h"

typedef struct {
    const GameWorld *w;
    DispatchSolver *ds;
    double *load;         /* (N) grid units, the last step's */
    double *pmin, *pmax;  /* (G) grid units; solar units' pmax set per step */
    double dispatch_s;    /* wall seconds in the solver */
} MarketClear;

/* 0, or -1 with err (the network cannot be solved). voll: $/MWh of the slack. */
int market_clear_setup(MarketClear *m, const GameWorld *w, double voll, char *err, size_t n);
void market_clear_cleanup(MarketClear *m);

/* Clear step `hour` of the day: consumers' demand and solar availability from hs, fleet grid
 * energy fleet_kwh (B; e.g. hs->prosumer_kwh for no storage). lmp (B) receives the LMPs at the
 * household buses ($/MWh); *slack (may be NULL) whether unserved or spilled energy was used.
 * Returns the dispatch's result (valid until the next call). */
const DispatchResult *market_clear(MarketClear *m, int hour, const HhStep *hs, const double *fleet_kwh, int warm,
                                   double *lmp, int *slack);

#endif
