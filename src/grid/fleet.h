/* fleet.h: one aggregator's battery fleet under mean-field control (SPEC section 4).
 *
 * Legend: K action levels (201), a the action, SoC the fleet's state of charge in [0, 1].
 * Units: a and SoC are fractions of the fleet capacity (kWh = prosumers * storage_kwh);
 * energies in kWh per step.
 *
 * Every prosumer battery at a bus follows one common action a in [-1, 1]: charge (a > 0) or
 * discharge (a < 0) that fraction of capacity, so SoC' = SoC + a and the feasible range is
 * [-SoC, 1 - SoC]. The discrete action has K levels a_k = -1 + 2k/(K-1) (step 0.01 for
 * K = 201); infeasible levels are masked.
 *
 * Losses [P][R]: one-way efficiencies e_in and e_out (0.8 both by default). Charging E kWh into
 * the batteries draws E/e_in from the grid; discharging E kWh out of the batteries delivers
 * e_out*E. So the fleet's grid energy is
 *   q = net demand + charge/e_in - e_out * discharge        (kWh; negative = export)
 *
 * [R] Mask tolerance (config `aggregator.mask_tol`, default 1e-9): level a_k is valid when
 * -SoC - tol <= a_k <= 1 - SoC + tol. A SoC that is a sum of 0.01 steps carries float error
 * (0.37 may be stored as 0.36999999999999994), and without the tolerance the boundary level
 * (-0.37) would be wrongly masked. Actions are then clipped to [-SoC, 1 - SoC] and SoC' to
 * [0, 1], so the tolerance never lets the state leave its range. */
#ifndef SB_FLEET_H
#define SB_FLEET_H

#include <stddef.h>

typedef struct {
    double charge_kwh;    /* energy into the batteries (>= 0) */
    double discharge_kwh; /* energy out of the batteries (>= 0) */
    double grid_kwh;      /* q: the fleet's grid energy this step, kWh (negative: export) */
    double soc_next;      /* SoC after the step, in [0, 1] */
    double loss_kwh;      /* energy lost in conversion (>= 0) */
} FleetStep;

/* Value of level k in [0, K): -1 + 2k/(K-1). K >= 2. */
double fleet_level_value(int k, int levels);
/* Level nearest to a (clamped to [0, K-1]). */
int fleet_level_index(double a, int levels);

/* mask (K): 1 for levels feasible at soc (see the tolerance above), 0 otherwise. Returns the
 * number of valid levels (>= 1 whenever 0 is a level, i.e. K odd). */
int fleet_mask(double soc, int levels, double tol, unsigned char *mask);

/* The feasible range for an action: clip a to [-soc, 1 - soc]. */
double fleet_clip_action(double a, double soc);

/* Expected level under a masked policy: sum_k p_k a_k / sum_k p_k over valid k (probs (K),
 * renormalised over the mask so unmasked probabilities work too), clipped to the feasible
 * range. Returns 0 if every valid probability is 0. */
double fleet_expected_level(const float *probs, const unsigned char *mask, int levels, double soc);
/* Most likely valid level's index (the first on ties). */
int fleet_mode_level(const float *probs, const unsigned char *mask, int levels);

/* Apply action a (clipped to the feasible range) to a fleet of capacity_kwh holding soc,
 * with efficiencies eff_in (charging) and eff_out (discharging) and net demand
 * net_demand_kwh this step. */
void fleet_step(double soc, double a, double capacity_kwh, double eff_in, double eff_out, double net_demand_kwh,
                FleetStep *out);

#endif
