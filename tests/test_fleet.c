/* test_fleet.c: the 201-level action mask at float SoC, the masked policy's expected level and
 * mode, and the battery step with one-way losses, against hand calculations. */
#include <criterion/criterion.h>

#include "grid/fleet.h"
#include "testutil.h"

#define K 201

/* Level k is -1 + 0.01 k. At SoC 0.37 the feasible range is [-0.37, 0.63], i.e. levels
 * k = 63 ... 163: 101 levels. */
static void expect_range(double soc, int first, int last) {
    unsigned char m[K];
    int valid = fleet_mask(soc, K, 1e-9, m);
    cr_expect_eq(valid, last - first + 1, "soc %.17g: %d valid levels, want %d", soc, valid, last - first + 1);
    for (int k = 0; k < K; k++)
        cr_expect_eq(m[k], k >= first && k <= last, "soc %.17g: level %d mask %d", soc, k, m[k]);
}

Test(fleet, mask_at_soc_037_keeps_levels_minus037_to_063) {
    expect_range(0.37, 63, 163);
    /* The same SoC reached by float arithmetic: 37 steps of 0.01 (0.37000000000000016) and
     * 0.1 + 0.27 (0.37000000000000005): the tolerance keeps both boundary levels. */
    double s = 0;
    for (int i = 0; i < 37; i++) s += 0.01;
    cr_assert(s != 0.37); /* the case the tolerance exists for */
    expect_range(s, 63, 163);
    expect_range(0.1 + 0.27, 63, 163);
}

Test(fleet, mask_at_empty_and_full) {
    expect_range(0.0, 100, 200); /* charge only: a in [0, 1] */
    expect_range(1.0, 0, 100);   /* discharge only: a in [-1, 0] */
    /* A continuous SoC (from play: mean) admits the grid levels inside [-0.375, 0.625]:
     * -0.37 ... 0.62, i.e. k = 63 ... 162. */
    expect_range(0.375, 63, 162);
}

Test(fleet, level_values_and_indices) {
    cr_expect_float_eq(fleet_level_value(0, K), -1.0, 1e-15);
    cr_expect_float_eq(fleet_level_value(100, K), 0.0, 1e-15);
    cr_expect_float_eq(fleet_level_value(163, K), 0.63, 1e-12);
    cr_expect_eq(fleet_level_index(0.63, K), 163);
    cr_expect_eq(fleet_level_index(-0.37, K), 63);
    cr_expect_eq(fleet_level_index(7.0, K), 200);
}

Test(fleet, expected_level_renormalises_over_the_mask) {
    /* Half the mass on -0.37 (k = 63) and half on 0.63 (k = 163): mean 0.13. Mass put on an
     * invalid level (k = 0) is ignored by renormalising over the valid ones. */
    float p[K] = {0};
    unsigned char m[K];
    fleet_mask(0.37, K, 1e-9, m);
    p[63] = 0.5f;
    p[163] = 0.5f;
    cr_expect_float_eq(fleet_expected_level(p, m, K, 0.37), 0.13, 1e-7);
    p[0] = 0.5f;
    cr_expect_float_eq(fleet_expected_level(p, m, K, 0.37), 0.13, 1e-7);
    /* 0.25 on 0, 0.75 on 0.4: 0.3. */
    float q[K] = {0};
    q[100] = 0.25f;
    q[140] = 0.75f;
    cr_expect_float_eq(fleet_expected_level(q, m, K, 0.37), 0.3, 1e-7);
    /* Mode: 0.5 on an invalid level, 0.3 on k = 150, 0.2 on k = 100 -> 150. */
    float r[K] = {0};
    r[10] = 0.5f;
    r[150] = 0.3f;
    r[100] = 0.2f;
    cr_expect_eq(fleet_mode_level(r, m, K), 150);
}

Test(fleet, clip_action_to_feasible_range) {
    cr_expect_float_eq(fleet_clip_action(0.9, 0.37), 0.63, 1e-15);
    cr_expect_float_eq(fleet_clip_action(-0.9, 0.37), -0.37, 1e-15);
    cr_expect_float_eq(fleet_clip_action(0.1, 0.37), 0.1, 1e-15);
}

Test(fleet, battery_step_with_losses) {
    /* 100 prosumers x 30 kWh = 3000 kWh; SoC 0.37; net demand 1000 kWh; efficiency 0.8.
     * Charge a = 0.2: 600 kWh into the batteries, 600 / 0.8 = 750 from the grid,
     *   q = 1000 + 750 = 1750 kWh, loss 150, SoC 0.57. */
    FleetStep s;
    fleet_step(0.37, 0.2, 3000, 0.8, 0.8, 1000, &s);
    cr_expect_float_eq(s.charge_kwh, 600, 1e-9);
    cr_expect_float_eq(s.discharge_kwh, 0, 1e-12);
    cr_expect_float_eq(s.grid_kwh, 1750, 1e-9);
    cr_expect_float_eq(s.loss_kwh, 150, 1e-9);
    cr_expect_float_eq(s.soc_next, 0.57, 1e-12);
    /* Discharge a = -0.3: 900 kWh out, 0.8 * 900 = 720 delivered, q = 280, loss 180, SoC 0.07. */
    fleet_step(0.37, -0.3, 3000, 0.8, 0.8, 1000, &s);
    cr_expect_float_eq(s.discharge_kwh, 900, 1e-9);
    cr_expect_float_eq(s.grid_kwh, 280, 1e-9);
    cr_expect_float_eq(s.loss_kwh, 180, 1e-9);
    cr_expect_float_eq(s.soc_next, 0.07, 1e-12);
    /* Over-discharge a = -0.5 is clipped to -0.37: 1110 out, 888 delivered, q = 112, SoC 0. */
    fleet_step(0.37, -0.5, 3000, 0.8, 0.8, 1000, &s);
    cr_expect_float_eq(s.discharge_kwh, 1110, 1e-9);
    cr_expect_float_eq(s.grid_kwh, 112, 1e-9);
    cr_expect_eq(s.soc_next, 0.0);
    /* Discharging into a small demand exports: 500 - 720 = -220 kWh. */
    fleet_step(0.37, -0.3, 3000, 0.8, 0.8, 500, &s);
    cr_expect_float_eq(s.grid_kwh, -220, 1e-9);
}

Test(fleet, losses_on_charging_only) {
    /* efficiency_applies: charging (e_in 0.8, e_out 1). Charging is unchanged: a = 0.2 draws
     * 600 / 0.8 = 750, q = 1750, loss 150. Discharge a = -0.3: 900 out, all 900 delivered,
     * q = 1000 - 900 = 100, no loss. Round trip: 750 in for 600 back, 0.8. */
    FleetStep s;
    fleet_step(0.37, 0.2, 3000, 0.8, 1.0, 1000, &s);
    cr_expect_float_eq(s.grid_kwh, 1750, 1e-9);
    cr_expect_float_eq(s.loss_kwh, 150, 1e-9);
    fleet_step(0.37, -0.3, 3000, 0.8, 1.0, 1000, &s);
    cr_expect_float_eq(s.grid_kwh, 100, 1e-9);
    cr_expect_float_eq(s.loss_kwh, 0, 1e-12);
    cr_expect_float_eq(s.soc_next, 0.07, 1e-12);
}
