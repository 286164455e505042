/* world.h: the grid and the households of a tariff game, loaded and cross-checked once,
 * before any process starts or any file is written (a bad grid or household table is a
 * usage error: exit 2, nothing left behind). Read-only afterwards: every seed, thread and
 * rank of a run shares one world.
 *
 * Legend: N grid buses, G generators, B household buses, U solar units, S steps per day.
 *
 * Units. The dispatch works in the grid's own basis (cost_basis): per_step grids (the paper's,
 * [P] Table 3 footnote) clear MWh per market step at costs in $ per step; per_hour grids
 * (MATPOWER) clear MW at costs in $/h. A step of step_hours moves E = P * step_hours MWh, so
 * world->mwh_per_unit is 1 (per_step) or step_hours (per_hour): households' kWh per step enter
 * as kWh / 1000 / mwh_per_unit, and LMPs are $/MWh in both. */
#ifndef SB_WORLD_H
#define SB_WORLD_H

#include <stddef.h>

#include "config/game_config.h"
#include "grid/households.h"
#include "grid/network.h"

typedef struct {
    GridNetwork net;            /* as read (N, G, M) */
    HhParams hh;                /* resolved households: per bus as given, or generated from the
                                 * grid's loads; solar capacities filled in (MWh per step) */
    int per_step;               /* the basis in force (config cost_basis, or the grid's own) */
    double mwh_per_unit;        /* MWh per step of one grid unit: 1 (per_step) or step_hours */
    int *grid_bus;              /* (B) internal grid bus of household bus b */
    int *solar_gen;             /* (U) internal generator index of solar unit u */
    double *base_load;          /* (S, N) the grid's own load at each step of the day, grid units */
    double *base_shape;         /* (S) the factor on Pd (base_load: case), or 0 */
} GameWorld;

/* Read the grid (c->grid_path), resolve the households against it (buses exist; from_load
 * generated on its load buses), name the solar units, build the base load, and check what
 * needs both (the baseline tariff's feasibility, the leader's action size). 0, or -1 with
 * "file:line:col: key: what is wrong" (config positions where the error has one). */
int game_world_load(GameWorld *w, const GameConfig *c, char *err, size_t n);
void game_world_free(GameWorld *w);
/* A fingerprint of what the world holds (network, households, base load): a checkpoint made
 * on another grid or population is refused. */
uint64_t game_world_fingerprint(const GameWorld *w);

/* Energy E (MWh per step) in grid units, and back. */
static inline double game_world_units(const GameWorld *w, double mwh) { return mwh / w->mwh_per_unit; }
static inline double game_world_mwh(const GameWorld *w, double units) {
    return w->per_step ? units : units * w->mwh_per_unit;
}

#endif
