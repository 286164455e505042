/* test_households.c: the SPEC population and shapes, triangular noise moments in the three
 * noise modes, expected steps and bus loads, against hand calculations. */
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
}

Test(households, mean_step_at_noon) {
    /* Hour 4 (12:00-15:00): consumers of b1 3000 * 0.95 * 16.667 = 47500.95 kWh; prosumers of
     * b1 1000 * 0.67 * 16.667 = 11166.89 kWh; each solar unit 30 * 0.9 = 27 MWh. */
    HhParams p;
    HhStep s;
    hh_params_default(&p);
    hh_mean_step(&p, 4, &s);
    cr_expect_float_eq(s.consumer_kwh[0], 47500.95, 1e-6);
    cr_expect_float_eq(s.prosumer_kwh[0], 11166.89, 1e-6);
    cr_expect_float_eq(s.prosumer_kwh[2], 300 * 0.67 * 16.667, 1e-6);
    cr_expect_float_eq(s.solar_mwh[0], 27.0, 1e-12);
    cr_expect_float_eq(s.solar_mwh[1], 27.0, 1e-12);
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
}

Test(households, drawn_steps_are_reproducible_and_bounded) {
    HhParams p;
    HhStep s1, s2, mean;
    Rng a, b;
    hh_params_default(&p);
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
}

Test(households, bus_loads_follow_the_grid_index) {
    /* consumers [47500, 30000, 20000] kWh, fleets [-500, 1000, 0] kWh; household buses map to
     * grid buses [2, 0, 1]: load[2] = 47.0, load[0] = 31.0, load[1] = 20.0 MWh. */
    HhParams p;
    hh_params_default(&p);
    double cons[3] = {47500, 30000, 20000}, fleet[3] = {-500, 1000, 0}, load[3] = {9, 9, 9};
    int idx[3] = {2, 0, 1};
    hh_bus_load_mwh(&p, idx, cons, fleet, load, 3);
    cr_expect_float_eq(load[2], 47.0, 1e-12);
    cr_expect_float_eq(load[0], 31.0, 1e-12);
    cr_expect_float_eq(load[1], 20.0, 1e-12);
}

Test(households, validate_names_the_bad_field) {
    HhParams p;
    char err[256];
    hh_params_default(&p);
    p.consumers[1] = 0;
    cr_expect_eq(hh_params_validate(&p, err, sizeof err), -1);
    cr_expect(strstr(err, "consumers[1]") != NULL, "%s", err);
    hh_params_default(&p);
    p.shape_solar[3] = 1.5;
    cr_expect_eq(hh_params_validate(&p, err, sizeof err), -1);
    cr_expect(strstr(err, "shapes.solar[3]") != NULL, "%s", err);
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
}
