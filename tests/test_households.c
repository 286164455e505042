/* test_households.c: the paper's population and shapes, triangular noise moments in the three
 * noise modes, expected steps, the household generator (from a grid's loads) and the
 * one-group-per-bus sums, against hand calculations. */
#include <criterion/criterion.h>

#include "grid/households.h"
#include "testutil.h"

Test(households, default_population_is_spec_table) {
    HhParams p;
    char err[256];
    hh_params_default(&p);
    cr_assert_eq(hh_params_validate(&p, err, sizeof err), 0, "%s", err);
    cr_expect_eq(p.n_bus, 3);
    cr_expect_eq(hh_total_households(&p), 10800); /* 1800 prosumers + 9000 consumers */
    /* demand_scale_kwh: (1000*30 + 500*60 + 300*100 + 9000*10) / 10800 = 180000 / 10800. */
    cr_expect(fabs(p.demand_scale_kwh - 180000.0 / 10800.0) < 1e-3);
    cr_expect_float_eq(hh_fleet_capacity_kwh(&p, 0), 30000, 1e-9);
    cr_expect_float_eq(hh_fleet_capacity_kwh(&p, 2), 30000, 1e-9);
    /* Mean consumer shape: sum .5567+.47+.7933+.8933+.95+.9967+.99+.81 = 6.46 over 8. */
    cr_expect_float_eq(hh_shape_mean(p.shape_consumer, 8), 6.46 / 8, 1e-12);
    /* One prosumer group and one income class per bus. */
    cr_expect_eq(p.n_group, 3);
    cr_expect_eq(p.n_class, 3);
    cr_expect_eq(hh_class_prosumers(&p, 1), 500);
    cr_expect_eq(hh_bus_prosumers(&p, 2), 300);
    hh_params_free(&p);
}

Test(households, mean_step_at_noon) {
    /* Hour 4 (12:00-15:00): consumers of b1 3000 * 0.95 * 16.667 = 47500.95 kWh; prosumers of
     * b1 1000 * 0.67 * 16.667 = 11166.89 kWh; each solar unit 30 * 0.9 = 27 MWh. */
    HhParams p;
    HhStep s;
    hh_params_default(&p);
    hh_step_alloc(&s, &p);
    hh_mean_step(&p, 4, &s);
    cr_expect_float_eq(s.consumer_kwh[0], 47500.95, 1e-6);
    cr_expect_float_eq(s.prosumer_kwh[0], 11166.89, 1e-6);
    cr_expect_float_eq(s.prosumer_kwh[2], 300 * 0.67 * 16.667, 1e-6);
    cr_expect_eq(s.group_kwh[2], s.prosumer_kwh[2]);
    cr_expect_float_eq(s.solar_mwh[0], 27.0, 1e-12);
    cr_expect_float_eq(s.solar_mwh[1], 27.0, 1e-12);
    hh_step_free(&s);
    hh_params_free(&p);
}

/* Sample mean and variance of n draws of hh_noise_mean(mode, count). */
static void moments(HhNoise mode, int count, int n, double *mean, double *var, double *lo, double *hi) {
    HhParams p;
    Rng r;
    hh_params_default(&p);
    rng_seed(&r, 11, (uint64_t)mode * 1000 + (uint64_t)count);
    double s = 0, s2 = 0;
    *lo = 1e9;
    *hi = -1e9;
    for (int i = 0; i < n; i++) {
        double x = hh_noise_mean(&p, mode, count, &r);
        s += x;
        s2 += x * x;
        *lo = fmin(*lo, x);
        *hi = fmax(*hi, x);
    }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
    hh_params_free(&p);
}

/* triangular(0.8, 1.2, 1): mean 1, variance (a^2+b^2+c^2-ab-ac-bc)/18 = 0.12/18 = 1/150. The
 * mean of `count` iid draws has variance 1/(150 count); one shared draw keeps 1/150. The
 * tolerances are ~5 standard errors (the sample variance of n draws has relative standard
 * error about sqrt(2/n)). */
Test(households, triangular_noise_moments_per_mode) {
    const double v1 = 1.0 / 150.0;
    int n = tu_asan() ? 2000 : 8000;
    double m, v, lo, hi;

    moments(HH_NOISE_PER_HOUSEHOLD, 1, n * 5, &m, &v, &lo, &hi);
    cr_expect(fabs(m - 1) < 5 * sqrt(v1 / (n * 5)), "mean %g", m);
    cr_expect(fabs(v / v1 - 1) < 5 * sqrt(2.0 / (n * 5)), "var %g want %g", v, v1);
    cr_expect(lo >= 0.8 && hi <= 1.2);

    moments(HH_NOISE_PER_HOUSEHOLD, 100, n / 4, &m, &v, &lo, &hi);
    cr_expect(fabs(m - 1) < 5 * sqrt(v1 / 100 / (n / 4)), "mean %g", m);
    cr_expect(fabs(v / (v1 / 100) - 1) < 5 * sqrt(2.0 / (n / 4)), "var %g want %g", v, v1 / 100);

    moments(HH_NOISE_CLT, 1000, n, &m, &v, &lo, &hi);
    cr_expect(fabs(m - 1) < 5 * sqrt(v1 / 1000 / n), "mean %g", m);
    cr_expect(fabs(v / (v1 / 1000) - 1) < 5 * sqrt(2.0 / n), "var %g want %g", v, v1 / 1000);

    moments(HH_NOISE_PER_BUS, 1000, n, &m, &v, &lo, &hi);
    cr_expect(fabs(v / v1 - 1) < 5 * sqrt(2.0 / n), "var %g want %g", v, v1);
    cr_expect(lo >= 0.8 && hi <= 1.2);
}

Test(households, clt_small_groups_are_exact_and_modes_parse) {
    /* A group of one household in clt mode consumes exactly one triangular draw. */
    HhParams p;
    Rng a, b;
    hh_params_default(&p);
    rng_seed(&a, 3, 0);
    rng_seed(&b, 3, 0);
    double x = hh_noise_mean(&p, HH_NOISE_CLT, 1, &a);
    cr_expect_eq(x, rng_triangular(&b, 0.8, 1.2, 1.0));
    cr_expect_eq(hh_noise_parse("per_household"), HH_NOISE_PER_HOUSEHOLD);
    cr_expect_eq(hh_noise_parse("clt"), HH_NOISE_CLT);
    cr_expect_eq(hh_noise_parse("per_bus"), HH_NOISE_PER_BUS);
    cr_expect_eq(hh_noise_parse("bus"), -1);
    hh_params_free(&p);
}

Test(households, drawn_steps_are_reproducible_and_bounded) {
    HhParams p;
    HhStep s1, s2, mean;
    Rng a, b;
    hh_params_default(&p);
    hh_step_alloc(&s1, &p);
    hh_step_alloc(&s2, &p);
    hh_step_alloc(&mean, &p);
    hh_mean_step(&p, 6, &mean);
    rng_seed(&a, 5, 1);
    rng_seed(&b, 5, 1);
    hh_draw_step(&p, HH_NOISE_PER_HOUSEHOLD, 6, &a, &s1);
    hh_draw_step(&p, HH_NOISE_PER_HOUSEHOLD, 6, &b, &s2);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(s1.consumer_kwh[i], s2.consumer_kwh[i]);
        /* A mean of 3000 draws has sd 0.0816 / sqrt(3000) = 0.0015: within 1% of the mean. */
        cr_expect(fabs(s1.consumer_kwh[i] / mean.consumer_kwh[i] - 1) < 0.01);
        cr_expect(fabs(s1.prosumer_kwh[i] / mean.prosumer_kwh[i] - 1) < 0.02);
    }
    for (int u = 0; u < 2; u++) {
        /* One draw per unit: 30 * 0.02 * [0.8, 1.2] = [0.48, 0.72] MWh at hour 6. */
        cr_expect(s1.solar_mwh[u] >= 0.48 - 1e-12 && s1.solar_mwh[u] <= 0.72 + 1e-12, "%g", s1.solar_mwh[u]);
    }
    hh_step_free(&s1);
    hh_step_free(&s2);
    hh_step_free(&mean);
    hh_params_free(&p);
}

Test(households, validate_names_the_bad_field) {
    HhParams p;
    char err[256];
    hh_params_default(&p);
    p.consumers[1] = 0;
    cr_expect_eq(hh_params_validate(&p, err, sizeof err), -1);
    cr_expect(strstr(err, "households.b2.consumers") != NULL, "%s", err);
    hh_params_free(&p);
    hh_params_default(&p);
    p.shape_solar[3] = 1.5;
    cr_expect_eq(hh_params_validate(&p, err, sizeof err), -1);
    cr_expect(strstr(err, "shapes.solar[3]") != NULL, "%s", err);
    hh_params_free(&p);
}

Test(households, generated_from_the_grid_loads_by_hand) {
    /* Grid buses 10, 20, 30, 40 with Pd 0, 1, 1, 2: the three load buses weigh 0.25, 0.25,
     * 0.5. 1000 households, every load bus at least one of each of the 3 rows (9 set aside):
     * 991 * (0.25, 0.25, 0.5) = (247.75, 247.75, 495.5) -> floors (247, 247, 495) = 989; the 2
     * left go to the largest remainders, 0.75 and 0.75 (buses 20 and 30): (248, 248, 495),
     * plus 3 each: (251, 251, 498).
     * Rows low 0.25 (income 20,000, 30 kWh), high 0.125 (80,000, 100 kWh), consumers 0.625:
     *   bus 20 (251): 248 * (0.25, 0.125, 0.625) = (62, 31, 155) exactly, plus 1 each: (63, 32, 156);
     *   bus 40 (498): 495 * ... = (123.75, 61.875, 309.375) -> (123, 61, 309) = 493; the 2 left
     *   go to 0.875 (high) and 0.75 (low): (124, 62, 309), plus 1 each: (125, 63, 310). */
    HhParams p;
    char err[256];
    hh_params_default(&p);
    HhClassRow rows[3] = {{"low", 0.25, 20000, 30}, {"high", 0.125, 80000, 100}, {"consumers", 0.625, 15000, 0}};
    int ids[4] = {10, 20, 30, 40};
    double pd[4] = {0, 1, 1, 2};
    cr_assert_eq(hh_generate_from_load(&p, rows, 3, 1000, ids, pd, 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(hh_params_validate(&p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.n_bus, 3);
    cr_assert_eq(p.n_class, 2);
    cr_assert_eq(p.n_group, 6);
    cr_expect_eq(p.bus_id[0], 20);
    cr_expect_eq(p.bus_id[2], 40);
    cr_expect_str_eq(p.bus_name[2], "bus40");
    cr_expect_str_eq(p.class_name[1], "high");
    const int want_low[3] = {63, 63, 125}, want_high[3] = {32, 32, 63}, want_cons[3] = {156, 156, 310};
    for (int b = 0; b < 3; b++) {
        cr_expect_eq(p.group_count[b], 2);
        int g = p.group_first[b];
        cr_expect_eq(p.group_class[g], 0);
        cr_expect_eq(p.prosumers[g], want_low[b], "bus %d low %d", b, p.prosumers[g]);
        cr_expect_eq(p.prosumers[g + 1], want_high[b], "bus %d high %d", b, p.prosumers[g + 1]);
        cr_expect_eq(p.consumers[b], want_cons[b], "bus %d consumers %d", b, p.consumers[b]);
        cr_expect_eq(p.consumer_income[b], 15000);
        /* Fleet capacity: 63 * 30 + 32 * 100 = 5090 kWh at buses 20 and 30. */
        if (b < 2) cr_expect_float_eq(hh_fleet_capacity_kwh(&p, b), 5090, 1e-9);
    }
    cr_expect_eq(hh_total_households(&p), 1000);
    cr_expect_eq(hh_class_prosumers(&p, 1), 32 + 32 + 63);
    cr_expect_eq(p.storage_kwh[1], 100);
    /* The table must sum to 1; a grid without load has nowhere to put them. */
    rows[2].share = 0.5;
    cr_expect_eq(hh_generate_from_load(&p, rows, 3, 1000, ids, pd, 4, err, sizeof err), -1);
    cr_expect(strstr(err, "sum to 1") != NULL, "%s", err);
    rows[2].share = 0.625;
    double none[4] = {0, 0, 0, 0};
    cr_expect_eq(hh_generate_from_load(&p, rows, 3, 1000, ids, none, 4, err, sizeof err), -1);
    cr_expect(strstr(err, "no bus with load") != NULL, "%s", err);
    /* A tie for the last household goes to the earlier bus: 999 households, 990 after the 9
     * set aside, (247.5, 247.5, 495) -> (247, 247, 495) = 989, the one left to bus 20 (the
     * first of the two remainders 0.5): 251, 250, 498 households. */
    cr_assert_eq(hh_generate_from_load(&p, rows, 3, 999, ids, pd, 4, err, sizeof err), 0, "%s", err);
    const long want_bus[3] = {251, 250, 498};
    for (int b = 0; b < 3; b++)
        cr_expect_eq(hh_bus_prosumers(&p, b) + p.consumers[b], want_bus[b], "bus %d: %ld households, want %ld", b,
                     hh_bus_prosumers(&p, b) + p.consumers[b], want_bus[b]);
    hh_params_free(&p);
}

Test(households, several_groups_at_a_bus_add_up) {
    /* Two groups at one bus (30 and 10 prosumers) and one at another: the bus's net demand is
     * the sum of its groups'; with the mean noise, 40 * 0.67 * 16.667 kWh at hour 4. */
    HhParams p;
    hh_params_default(&p);
    hh_params_alloc(&p, 2, 3, 2, 0);
    const int bus[3] = {0, 0, 1}, cls[3] = {0, 1, 0}, n[3] = {30, 10, 20};
    for (int g = 0; g < 3; g++) {
        p.group_bus[g] = bus[g];
        p.group_class[g] = cls[g];
        p.prosumers[g] = n[g];
        p.storage_kwh[g] = 10.0 * (g + 1);
    }
    for (int b = 0; b < 2; b++) {
        p.consumers[b] = 5;
        p.consumer_income[b] = 1;
    }
    p.class_income[0] = p.class_income[1] = 1;
    hh_index_groups(&p);
    HhStep s;
    hh_step_alloc(&s, &p);
    hh_mean_step(&p, 4, &s);
    cr_expect_float_eq(s.prosumer_kwh[0], 40 * 0.67 * 16.667, 1e-9);
    cr_expect_float_eq(s.group_kwh[1], 10 * 0.67 * 16.667, 1e-9);
    cr_expect_eq(hh_bus_prosumers(&p, 0), 40);
    /* Capacity 30 * 10 + 10 * 20 = 500 kWh; the ratio of 40 prosumers' 2 * 16.667 kWh is 0.05. */
    cr_expect_float_eq(hh_fleet_capacity_kwh(&p, 0), 500, 1e-12);
    cr_expect_float_eq(hh_net_demand_ratio(&p, 0, 2 * 16.667), 0.05, 1e-12);
    hh_step_free(&s);
    hh_params_free(&p);
}

Test(households, training_draw_mean_demand_and_ratio) {
    /* Mean prosumer shape: (.5633+.5567+.6333+.6733+.67+.71+.8+.7333)/8 = 5.3399/8 = 0.6674875.
     * Bus b2: 500 * 16.667 * 0.6674875 = 5562.4400... kWh per step. */
    HhParams p;
    Rng r;
    hh_params_default(&p);
    cr_expect_float_eq(hh_mean_net_demand_kwh(&p, 1), 500 * 16.667 * 5.3399 / 8, 1e-6);
    /* Ratio of 1000 prosumers' 11,166.89 kWh (shape 0.67 at noise 1) = 0.67. */
    cr_expect_float_eq(hh_net_demand_ratio(&p, 0, 11166.89), 0.67, 1e-12);
    rng_seed(&r, 9, 0);
    double s = 0;
    int n = 2000;
    for (int i = 0; i < n; i++) s += hh_draw_prosumer_kwh(&p, HH_NOISE_CLT, 0, 4, &r);
    /* Mean of n draws of 11,166.89 * (1 + e), sd(e) = sqrt(1/150/1000) = 0.00258. */
    cr_expect(fabs(s / n / 11166.89 - 1) < 5 * 0.00258 / sqrt((double)n));
    hh_params_free(&p);
}
