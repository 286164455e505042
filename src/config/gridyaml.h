/* gridyaml.h: a grid described in YAML (configs/grids/NAME.yaml), read through yamltree.
 *
 *   name: paper3
 *   base_mva: 100
 *   buses:       [{id: 1, type: ref, pd: 0, gs: 0}, ...]          type: ref | pv | pq
 *   generators:  [{name: g1, bus: 1, pmin: 0, pmax: 2000, cost: [c2, c1, c0], on: true}, ...]
 *   branches:    [{name: l1, from: 1, to: 3, r: 0.065, x: 0.62, rate: 100,
 *                  tap: 0, shift: 0, on: true}, ...]
 * Defaults: pd, gs, pmin, tap, shift, rate 0 (unlimited), r unused by the DC model, on true.
 *   cost_basis: per_hour (default, MATPOWER's MW and $/h) | per_step (quantities are MWh per
 *   market step and costs $ per step: the paper's grid, [P] Table 3 footnote).
 * Every number must be finite (.inf is refused); tap and rate >= 0, pmin <= pmax, c2 >= 0.
 * Units are those of the dispatch (MW or MWh per step; $ per hour or per step). */
#ifndef SB_GRIDYAML_H
#define SB_GRIDYAML_H

#include <stddef.h>

#include "config/yamltree.h"
#include "grid/network.h"

/* The grid in map m of doc (NULL: the root). Marks keys as used; the caller checks unused
 * keys. 0, or -1 with "file:line:col: key: what is wrong". */
int grid_from_yaml(GridNetwork *g, const YtDoc *doc, const YtNode *m, char *err, size_t n);
/* A whole file that is only a grid (unknown keys are errors). */
int grid_read_yaml(GridNetwork *g, const char *path, char *err, size_t n);
/* The same from a string; `name` stands for the file in messages. */
int grid_read_yaml_string(GridNetwork *g, const char *name, const char *text, char *err, size_t n);

#endif
