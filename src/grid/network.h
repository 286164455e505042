/* network.h: a power network for the DC model, as MATPOWER defines it.
 *
 * Legend: N buses, G generators, M branches (all in file order; indices 0-based and
 * internal, external bus numbers kept in bus_id). Units as MATPOWER: MW, p.u. reactance,
 * degrees, $/h with costs c2 p^2 + c1 p + c0 in MW. The paper's grid uses the same
 * fields with MWh per 3-hour step and $ per step (SPEC section 2).
 *
 * Readers (MATPOWER .m, grid YAML) fill a GridNetwork; the dispatch solver reads it. */
#ifndef SB_NETWORK_H
#define SB_NETWORK_H

#include <stddef.h>

enum { BUS_PQ = 1, BUS_PV = 2, BUS_REF = 3, BUS_ISOLATED = 4 };

typedef struct {
    char *name;          /* case name, for messages */
    double base_mva;
    int per_step;        /* cost basis: 0, MATPOWER's MW and $/h; 1, MWh per market step and $ per
                          * step (the paper's grid, [P] Table 3 footnote). Only the game uses it. */

    int n_bus;           /* N */
    int *bus_id;         /* (N) external bus number */
    int *bus_type;       /* (N) BUS_* */
    double *pd;          /* (N) MW real load */
    double *gs;          /* (N) MW shunt conductance at V = 1 p.u. (DC: consumed as load) */

    int n_gen;           /* G */
    int *gen_bus;        /* (G) internal bus index */
    int *gen_on;         /* (G) status > 0 */
    double *pmin, *pmax; /* (G) MW */
    double *c2, *c1, *c0;/* (G) polynomial cost coefficients, $/MW^2h, $/MWh, $/h */
    char **gen_name;     /* (G) optional names (NULL entries allowed), e.g. "solar" */

    int n_branch;        /* M */
    int *f, *t;          /* (M) internal from/to bus index */
    double *x;           /* (M) series reactance, p.u. (never 0 for an in-service branch; may be < 0) */
    double *tap;         /* (M) off-nominal tap ratio; 0 means 1 (MATPOWER's convention) */
    double *shift;       /* (M) phase shift, degrees */
    double *rate;        /* (M) MW rating (RATE_A); 0 means unlimited */
    int *br_on;          /* (M) status > 0 */
} GridNetwork;

/* Allocate arrays for the given sizes (all zeroed; tap 1.0). */
void grid_network_alloc(GridNetwork *g, int n_bus, int n_gen, int n_branch);
void grid_network_free(GridNetwork *g);
/* Internal index of an external bus number, or -1. */
int grid_bus_index(const GridNetwork *g, int bus_id);
/* Magnitudes beyond which a value is not a grid [R]: a petawatt is ~100 times the world's
 * installed capacity; within these the dispatch's tolerances (relative to the load) stay
 * far below a megawatt, beyond them an "optimal" dispatch can break generator limits
 * (a 1e300 MW load gave 249,500 MW from a 200 MW unit). */
#define GRID_MAX_MW 1e9    /* |pd|, |gs|, |pmin|, |pmax|, rate, baseMVA */
#define GRID_MAX_COST 1e9  /* |c2| $/MW^2h, |c1| $/MWh */
#define GRID_MAX_C0 1e15   /* |c0| $/h */
#define GRID_MAX_X 1e9     /* |x| p.u. */
#define GRID_MIN_X 1e-9    /* |x| p.u. of an in-service branch (1/x enters the B matrix) */
#define GRID_MAX_TAP 1e3

/* Where a check failed: the element (0-based index in file order), or the whole network. */
typedef enum { GRID_AT_NETWORK, GRID_AT_BUS, GRID_AT_GEN, GRID_AT_COST, GRID_AT_BRANCH } GridAtKind;
typedef struct {
    GridAtKind kind;
    int index;
} GridAt;

/* Checks shared by every reader and by dispatch_setup: every number finite and within the
 * magnitudes above, a reference bus, nonzero x on in-service branches (negative x, series
 * capacitors, is allowed), non-negative ratings and tap ratios, a connected in-service
 * network, Pmin <= Pmax, c2 >= 0. 0, or -1 with err (no file name: callers add it, at the
 * element *where names when where is not NULL). */
int grid_network_check(const GridNetwork *g, GridAt *where, char *err, size_t n);
/* The same without the location. */
int grid_network_validate(const GridNetwork *g, char *err, size_t n);

#endif
