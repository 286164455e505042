/* matpower.h: read a MATPOWER version-2 case file (.m) into a GridNetwork.
 *
 * Reads mpc.baseMVA, mpc.bus, mpc.gen, mpc.branch and mpc.gencost (polynomial model 2 with
 * NCOST 1..3; higher degrees only if their leading coefficients are zero). Piecewise-linear
 * costs (model 1) are rejected with a message that says so. Other fields (bus_name, gentype,
 * areas, ...) are skipped. Errors read `file:line: what is wrong`. */
#ifndef SB_MATPOWER_H
#define SB_MATPOWER_H

#include <stddef.h>

#include "grid/network.h"

/* 0, or -1 with the message in err (g is then empty). The network is validated
 * (grid_network_validate) before returning. */
int grid_read_matpower(GridNetwork *g, const char *path, char *err, size_t errlen);

#endif
