/* households.h: who lives at each bus, how much energy they use per step, and the solar
 * units' availability (the model's households section, docs/MODEL.md).
 *
 * Legend: B household buses (one aggregator each), G prosumer groups (G >= B), C prosumer
 * income classes, S steps per day, U grid solar units. Units: energy per step in kWh for
 * households (one group's total) and MWh for the grid; incomes in $ per year; storage in kWh
 * per prosumer household.
 *
 * At each household bus live consumers (no solar, no battery; one group per bus with its own
 * income) and one or more prosumer groups (rooftop solar behind the meter and a battery
 * each). A prosumer group is the prosumers of one income class at one bus; the bus's
 * aggregator controls every battery of the bus with one action (a fraction of the bus fleet's
 * capacity), so all of a bus's groups share one state of charge. Income classes are what the
 * EEI is computed over and what the leader's fixed charges are set for: with households given
 * per bus each bus is its own class (the paper's case: G = B = C); with households generated
 * from the grid's loads (hh_generate_from_load) every load bus has a group of every class.
 *
 * The energy of one household in one step is shape[hour] * demand_scale_kwh * noise, noise ~
 * triangular(low, high, mode) drawn per household per step [P]. A group's energy is the sum
 * over its households, i.e. shape * scale * count * (mean noise of the group).
 *
 * [R] How the group's mean noise is drawn (config `noise`, and `train_noise` for the
 * training environments, where millions of steps are simulated):
 *   per_household  exact: `count` triangular draws, averaged (the paper's model; 10,800 draws
 *                  a step for the paper's population);
 *   clt            the same distribution at O(1) cost: groups of more than HH_CLT_MIN
 *                  households draw the mean from a normal with the triangular's mean and
 *                  variance var/count (the default triangular is symmetric: skew 0, excess
 *                  kurtosis -0.6/count, so for count > 32 the normal is indistinguishable
 *                  from the exact mean), clamped to [low, high]; smaller groups draw exactly;
 *   per_bus        one triangular draw shared by the whole group (fully correlated
 *                  households: a much noisier aggregate, for sensitivity studies).
 * Solar units draw one triangular factor per unit per step in every mode [P]. */
#ifndef SB_HOUSEHOLDS_H
#define SB_HOUSEHOLDS_H

#include <stddef.h>

#include "util/rng.h"

#define HH_MAX_STEPS 48
#define HH_CLT_MIN 32 /* clt: groups up to this size are drawn exactly */
#define HH_NAME_MAX 32

typedef enum { HH_NOISE_PER_HOUSEHOLD = 0, HH_NOISE_CLT = 1, HH_NOISE_PER_BUS = 2 } HhNoise;

typedef struct {
    /* buses */
    int n_bus;                           /* B */
    int *bus_id;                         /* (B) external bus numbers in the grid file */
    char (*bus_name)[HH_NAME_MAX];       /* (B) names (households keys, or "bus<id>") */
    int *consumers;                      /* (B) consumer households */
    double *consumer_income;             /* (B) $ per year per household */
    int *group_first, *group_count;      /* (B) the bus's prosumer groups: [first, first + count) */
    /* prosumer groups, in bus order */
    int n_group;                         /* G */
    int *group_bus;                      /* (G) bus index */
    int *group_class;                    /* (G) income class */
    int *prosumers;                      /* (G) prosumer households */
    double *storage_kwh;                 /* (G) battery capacity per household, kWh */
    /* income classes */
    int n_class;                         /* C */
    char (*class_name)[HH_NAME_MAX];     /* (C) */
    double *class_income;                /* (C) $ per year per household */

    int steps_per_day;                   /* S */
    double shape_consumer[HH_MAX_STEPS]; /* (S) consumer demand, fraction of demand_scale_kwh */
    double shape_prosumer[HH_MAX_STEPS]; /* (S) prosumer net demand after rooftop solar */
    double shape_solar[HH_MAX_STEPS];    /* (S) grid solar capacity factor in [0, 1] */
    double demand_scale_kwh;             /* kWh per household per step at shape 1 */
    double efficiency;                   /* one-way battery efficiency (0, 1] */
    int efficiency_charging_only;        /* [R] 0: the loss applies to charging and to
                                          * discharging; 1: to charging only (round trip = efficiency) */

    double noise_low, noise_mode, noise_high; /* triangular noise (0.8, 1, 1.2) */

    int n_solar;                         /* U */
    double *solar_capacity_mwh;          /* (U) MWh per step at capacity factor 1 */
} HhParams;

/* The energy drawn for one step; buffers sized by hh_step_alloc. */
typedef struct {
    double *consumer_kwh;  /* (B) consumers' demand, group total, kWh */
    double *prosumer_kwh;  /* (B) prosumers' net demand before batteries, bus total, kWh */
    double *group_kwh;     /* (G) the same per prosumer group */
    double *solar_mwh;     /* (U) grid solar availability, MWh per step */
} HhStep;

/* ---- lifecycle ---- */

/* Allocate for B buses, G groups, C classes, U solar units (zeroed; names empty); every
 * other field is left as it is. Frees what p held first. */
void hh_params_alloc(HhParams *p, int n_bus, int n_group, int n_class, int n_solar);
void hh_params_free(HhParams *p);
/* A deep copy (dst is overwritten without being freed). */
void hh_params_copy(HhParams *dst, const HhParams *src);
/* Fill group_first/group_count from group_bus (groups must be in bus order). */
void hh_index_groups(HhParams *p);

/* The paper's 3-bus population (one class per bus), the 8 three-hour shapes, 16.667 kWh,
 * efficiency 0.8, triangular(0.8, 1.2, 1), two 30 MWh solar units. */
void hh_params_default(HhParams *p);
/* Populations > 0, incomes > 0, storage >= 0, shapes >= 0, capacity factors in [0, 1],
 * 0 < low <= mode <= high, efficiency in (0, 1], groups in bus order, classes in range.
 * 0, or -1 with "field: what is wrong". */
int hh_params_validate(const HhParams *p, char *err, size_t n);
/* Efficiency of discharging: efficiency, or 1 when the loss applies to charging only. */
double hh_efficiency_out(const HhParams *p);

/* ---- generating households from a grid's loads ---- */

/* One row of the from_load table: a share of all households, with an income; prosumer rows
 * also a battery size. */
typedef struct {
    char name[HH_NAME_MAX];
    double share;         /* fraction of the households; the rows sum to 1 */
    double income;        /* $ per year */
    double storage_kwh;   /* prosumers: kWh per household */
} HhClassRow;

/* [R] Place `total` households on every bus with load (pd > 0, in file order) in proportion
 * to its load, and split each bus's households over the classes by their shares (both by
 * largest remainder, so the totals are exact), at least one household of every class per
 * load bus. rows (R): prosumer classes, then one consumer row (the last). Fills p's buses,
 * groups and classes (shapes and the rest are left as they are). bus_ids (N) and pd (N) are
 * the grid's. 0, or -1 with err (no load bus, shares that do not sum to 1, too few households). */
int hh_generate_from_load(HhParams *p, const HhClassRow *rows, int n_rows, long total, const int *bus_ids,
                          const double *pd, int n_grid_bus, char *err, size_t n);

/* ---- noise and draws ---- */

/* Parse "per_household" | "clt" | "per_bus"; -1 if unknown. */
int hh_noise_parse(const char *s);
const char *hh_noise_str(HhNoise m);

/* Mean noise factor of `count` households (dimensionless, mean 1 for the default
 * triangular); see the header comment for the modes. count <= 0 returns 1. */
double hh_noise_mean(const HhParams *p, HhNoise mode, int count, Rng *r);

void hh_step_alloc(HhStep *s, const HhParams *p);
void hh_step_free(HhStep *s);
/* Draw one step at hour-of-day `hour` (0..S-1): group energies and solar availability
 * (capacity * capacity factor * own triangular draw). Draw order: per bus, its consumers then
 * its prosumer groups; then the solar units. */
void hh_draw_step(const HhParams *p, HhNoise mode, int hour, Rng *r, HhStep *out);
/* The same with every noise factor at its mean: the expected step (the initial beliefs). */
void hh_mean_step(const HhParams *p, int hour, HhStep *out);

/* The prosumers' net demand of bus b at hour `hour` for one step, kWh (bus total), each group's
 * mean noise drawn in `mode`: the training environments' draw (no consumers, no solar). */
double hh_draw_prosumer_kwh(const HhParams *p, HhNoise mode, int b, int hour, Rng *r);
/* Expected prosumer net demand of bus b averaged over the day, kWh per step:
 * prosumers * demand_scale_kwh * mean(shape_prosumer) * E[noise] (reward_scale auto). */
double hh_mean_net_demand_kwh(const HhParams *p, int b);
/* The follower observation's net-demand ratio: kwh / (prosumers of b * demand_scale_kwh), i.e.
 * shape * noise (about 0.5-0.9 with the default shapes). */
double hh_net_demand_ratio(const HhParams *p, int b, double kwh);

/* Prosumer households of bus b (over its groups), and of class c (over every bus). */
long hh_bus_prosumers(const HhParams *p, int b);
long hh_class_prosumers(const HhParams *p, int c);
/* Fleet battery capacity of bus b, kWh (sum over its groups of prosumers * storage_kwh). */
double hh_fleet_capacity_kwh(const HhParams *p, int b);
/* All households, prosumers and consumers. */
long hh_total_households(const HhParams *p);
/* Mean of a shape over the day. */
double hh_shape_mean(const double *shape, int steps);

#endif
