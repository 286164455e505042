/* matpower.h: read a MATPOWER version-2 case file (.m) into a GridNetwork.
 *
 * Reads mpc.version, mpc.baseMVA, mpc.bus, mpc.gen, mpc.branch and mpc.gencost (polynomial
 * model 2 with NCOST 1..3; higher degrees only if their leading coefficients are zero).
 * Piecewise-linear costs (model 1) are rejected with a message that says so. Other fields
 * (bus_name, gentype, areas, ...) are skipped.
 *
 * Everything the file says is checked before it is used, against MATPOWER's case format
 * (caseformat.m): every number finite; mpc.version '2' when given; tables as wide as
 * MATPOWER writes them (bus 13 or 17 columns, gen 10, 21 or 25, branch 11, 13, 17 or 21);
 * one gencost row per generator (2 per generator when reactive costs follow); no value
 * that cannot be (a negative tap ratio or rating, Pmin > Pmax, Vmin > Vmax, ...).
 * Errors read `file:line: what is wrong`, at the line of the offending row. */
#ifndef SB_MATPOWER_H
#define SB_MATPOWER_H

#include <stddef.h>

#include "grid/network.h"

/* 0, or -1 with the message in err (g is then empty). The network is validated
 * (grid_network_validate) before returning. */
int grid_read_matpower(GridNetwork *g, const char *path, char *err, size_t errlen);
/* The same from len bytes of text in memory; `name` stands for the file in messages. */
int grid_read_matpower_mem(GridNetwork *g, const char *name, const char *text, size_t len, char *err,
                           size_t errlen);

#endif
