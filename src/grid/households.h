/* households.h: who lives at each bus, how much energy they use per step, and the solar
 * units' availability (SPEC sections 3 and 4).
 *
 * Legend: B household buses (HH_MAX_BUS at most), S steps per day (3-h steps, 8 a day),
 * U grid solar units. Units: energy per step in kWh for households (one group's total) and
 * MWh for the grid; incomes in $ per year; storage in kWh per prosumer household.
 *
 * Two groups per bus: prosumers (rooftop solar behind the meter, a battery each, controlled
 * together by the bus's aggregator) and consumers (no solar, no battery). The energy of one
 * household in one step is shape[hour] * demand_scale_kwh * noise, noise ~
 * triangular(low, high, mode) drawn per household per step [P]. A group's energy is the sum
 * over its households, i.e. shape * scale * count * (mean noise of the group).
 *
 * [R] How the group's mean noise is drawn (config `noise`, and `train_noise` for the
 * training environments, where millions of steps are simulated):
 *   per_household  exact: `count` triangular draws, averaged (SPEC default; 10,800 draws a
 *                  step for the paper's population, ~8.6M for a 100-day run);
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

#define HH_MAX_BUS 16
#define HH_MAX_STEPS 48
#define HH_MAX_SOLAR 16
#define HH_CLT_MIN 32 /* clt: groups up to this size are drawn exactly */

typedef enum { HH_NOISE_PER_HOUSEHOLD = 0, HH_NOISE_CLT = 1, HH_NOISE_PER_BUS = 2 } HhNoise;

typedef struct {
    int n_bus;                           /* B */
    int bus_id[HH_MAX_BUS];              /* (B) external bus numbers in the grid file */
    int prosumers[HH_MAX_BUS];           /* (B) prosumer households */
    double prosumer_income[HH_MAX_BUS];  /* (B) $ per year per household */
    double storage_kwh[HH_MAX_BUS];      /* (B) battery capacity per prosumer household, kWh */
    int consumers[HH_MAX_BUS];           /* (B) consumer households */
    double consumer_income[HH_MAX_BUS];  /* (B) $ per year per household */

    int steps_per_day;                   /* S */
    double shape_consumer[HH_MAX_STEPS]; /* (S) consumer demand, fraction of demand_scale_kwh */
    double shape_prosumer[HH_MAX_STEPS]; /* (S) prosumer net demand after rooftop solar */
    double shape_solar[HH_MAX_STEPS];    /* (S) grid solar capacity factor in [0, 1] */
    double demand_scale_kwh;             /* kWh per household per step at shape 1 */
    double efficiency;                   /* one-way battery efficiency (0, 1] */
    int efficiency_charging_only;        /* [R] 0 (SPEC 3): the loss applies to charging and to
                                          * discharging; 1: to charging only (round trip = efficiency) */

    double noise_low, noise_mode, noise_high; /* triangular noise (0.8, 1, 1.2) */

    int n_solar;                              /* U */
    double solar_capacity_mwh[HH_MAX_SOLAR];  /* (U) MWh per step at capacity factor 1 */
} HhParams;

/* The energy drawn for one step. */
typedef struct {
    double consumer_kwh[HH_MAX_BUS];  /* (B) consumers' demand, group total, kWh */
    double prosumer_kwh[HH_MAX_BUS];  /* (B) prosumers' net demand before batteries, kWh */
    double solar_mwh[HH_MAX_SOLAR];   /* (U) grid solar availability, MWh */
} HhStep;

/* SPEC section 3: the 3-bus population, the 8 three-hour shapes, 16.667 kWh, efficiency 0.8,
 * triangular(0.8, 1.2, 1), two 30 MWh solar units. */
void hh_params_default(HhParams *p);
/* Populations > 0, incomes > 0, storage >= 0, shapes >= 0, capacity factors in [0, 1],
 * 0 < low <= mode <= high, efficiency in (0, 1]. 0, or -1 with "field: what is wrong". */
int hh_params_validate(const HhParams *p, char *err, size_t n);
/* Efficiency of discharging: efficiency, or 1 when the loss applies to charging only. */
double hh_efficiency_out(const HhParams *p);

/* Parse "per_household" | "clt" | "per_bus"; -1 if unknown. */
int hh_noise_parse(const char *s);
const char *hh_noise_str(HhNoise m);

/* Mean noise factor of `count` households (dimensionless, mean 1 for the default
 * triangular); see the header comment for the modes. count <= 0 returns 1. */
double hh_noise_mean(const HhParams *p, HhNoise mode, int count, Rng *r);

/* Draw one step at hour-of-day `hour` (0..S-1): group energies and solar availability
 * (capacity * capacity factor * own triangular draw). */
void hh_draw_step(const HhParams *p, HhNoise mode, int hour, Rng *r, HhStep *out);
/* The same with every noise factor 1: the expected step (used for the initial beliefs). */
void hh_mean_step(const HhParams *p, int hour, HhStep *out);

/* The prosumers' net demand of bus b at hour `hour` for one step, kWh (group total), with the
 * group's mean noise drawn in `mode`: the training environments' draw (no consumers, no solar). */
double hh_draw_prosumer_kwh(const HhParams *p, HhNoise mode, int b, int hour, Rng *r);
/* Expected prosumer net demand of bus b averaged over the day, kWh per step:
 * prosumers * demand_scale_kwh * mean(shape_prosumer) * E[noise] (reward_scale auto). */
double hh_mean_net_demand_kwh(const HhParams *p, int b);
/* The follower observation's net-demand ratio: kwh / (prosumers * demand_scale_kwh), i.e.
 * shape * noise (about 0.5-0.9 with the default shapes). */
double hh_net_demand_ratio(const HhParams *p, int b, double kwh);

/* Fleet battery capacity of bus b, kWh (prosumers * storage_kwh). */
double hh_fleet_capacity_kwh(const HhParams *p, int b);
/* All households, prosumers and consumers. */
long hh_total_households(const HhParams *p);
/* Mean of a shape over the day. */
double hh_shape_mean(const double *shape, int steps);

/* Bus loads for the dispatch, MWh per step: load[grid_index[b]] += (consumer_kwh[b] +
 * fleet_grid_kwh[b]) / 1000 after zeroing load (N). grid_index (B) maps household bus b to
 * the grid's internal bus index (NULL: identity). fleet_grid_kwh (B) is the fleet grid
 * energy q of fleet_step (may be negative: an exporting fleet). */
void hh_bus_load_mwh(const HhParams *p, const int *grid_index, const double *consumer_kwh,
                     const double *fleet_grid_kwh, double *load, int n_grid_bus);

#endif
