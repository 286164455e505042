/* households.c: populations, demand shapes, noise and bus loads (SPEC section 3). */
#include "grid/households.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

void hh_params_default(HhParams *p) {
    static const double consumer[8] = {.5567, .4700, .7933, .8933, .9500, .9967, .9900, .8100};
    static const double prosumer[8] = {.5633, .5567, .6333, .6733, .6700, .7100, .8000, .7333};
    static const double solar[8] = {0, 0, .2567, .7633, .9000, .4733, .0200, 0};
    static const int pros[3] = {1000, 500, 300};
    static const double pinc[3] = {25000, 45000, 65000}, stor[3] = {30, 60, 100};
    memset(p, 0, sizeof *p);
    p->n_bus = 3;
    for (int b = 0; b < 3; b++) {
        p->bus_id[b] = b + 1;
        p->prosumers[b] = pros[b];
        p->prosumer_income[b] = pinc[b];
        p->storage_kwh[b] = stor[b];
        p->consumers[b] = 3000;
        p->consumer_income[b] = 15000;
    }
    p->steps_per_day = 8;
    memcpy(p->shape_consumer, consumer, sizeof consumer);
    memcpy(p->shape_prosumer, prosumer, sizeof prosumer);
    memcpy(p->shape_solar, solar, sizeof solar);
    /* [P] 4.5.2: the mean storage over all 10,800 households, consumers counted at a 10 kWh
     * reference: (1000*30 + 500*60 + 300*100 + 9000*10) / 10800 = 16.667. */
    p->demand_scale_kwh = 16.667;
    p->efficiency = 0.8;
    p->noise_low = 0.8;
    p->noise_mode = 1.0;
    p->noise_high = 1.2;
    p->n_solar = 2;
    p->solar_capacity_mwh[0] = p->solar_capacity_mwh[1] = 30.0;
}

double hh_efficiency_out(const HhParams *p) { return p->efficiency_charging_only ? 1.0 : p->efficiency; }

int hh_params_validate(const HhParams *p, char *err, size_t n) {
    if (p->n_bus < 1 || p->n_bus > HH_MAX_BUS)
        return sb_err(err, n, "households: between 1 and %d buses, got %d", HH_MAX_BUS, p->n_bus);
    for (int b = 0; b < p->n_bus; b++) {
        if (p->prosumers[b] < 1) return sb_err(err, n, "households.prosumers[%d]: must be > 0", b);
        if (p->consumers[b] < 1) return sb_err(err, n, "households.consumers[%d]: must be > 0", b);
        if (!(p->prosumer_income[b] > 0))
            return sb_err(err, n, "households.prosumer_income[%d]: must be > 0", b);
        if (!(p->consumer_income[b] > 0))
            return sb_err(err, n, "households.consumer_income[%d]: must be > 0", b);
        if (!(p->storage_kwh[b] >= 0)) return sb_err(err, n, "households.storage_kwh[%d]: must be >= 0", b);
        for (int c = 0; c < b; c++)
            if (p->bus_id[c] == p->bus_id[b])
                return sb_err(err, n, "households.bus: bus %d appears twice", p->bus_id[b]);
    }
    if (p->steps_per_day < 1 || p->steps_per_day > HH_MAX_STEPS)
        return sb_err(err, n, "steps_per_day: between 1 and %d, got %d", HH_MAX_STEPS, p->steps_per_day);
    for (int h = 0; h < p->steps_per_day; h++) {
        if (!(p->shape_consumer[h] >= 0)) return sb_err(err, n, "shapes.consumer[%d]: must be >= 0", h);
        if (!(p->shape_prosumer[h] >= 0)) return sb_err(err, n, "shapes.prosumer[%d]: must be >= 0", h);
        if (!(p->shape_solar[h] >= 0 && p->shape_solar[h] <= 1))
            return sb_err(err, n, "shapes.solar[%d]: a capacity factor must be in [0, 1]", h);
    }
    if (!(p->demand_scale_kwh > 0)) return sb_err(err, n, "demand_scale_kwh: must be > 0");
    if (!(p->efficiency > 0 && p->efficiency <= 1)) return sb_err(err, n, "efficiency: must be in (0, 1]");
    if (!(p->noise_low > 0 && p->noise_low <= p->noise_mode && p->noise_mode <= p->noise_high))
        return sb_err(err, n, "noise_triangular: need 0 < low <= mode <= high");
    if (p->n_solar < 0 || p->n_solar > HH_MAX_SOLAR)
        return sb_err(err, n, "solar: at most %d units", HH_MAX_SOLAR);
    for (int u = 0; u < p->n_solar; u++)
        if (!(p->solar_capacity_mwh[u] >= 0)) return sb_err(err, n, "solar.capacity_mwh[%d]: must be >= 0", u);
    return 0;
}

int hh_noise_parse(const char *s) {
    if (!strcmp(s, "per_household")) return HH_NOISE_PER_HOUSEHOLD;
    if (!strcmp(s, "clt")) return HH_NOISE_CLT;
    if (!strcmp(s, "per_bus")) return HH_NOISE_PER_BUS;
    return -1;
}

const char *hh_noise_str(HhNoise m) {
    switch (m) {
    case HH_NOISE_PER_HOUSEHOLD: return "per_household";
    case HH_NOISE_CLT: return "clt";
    case HH_NOISE_PER_BUS: return "per_bus";
    }
    return "?";
}

static double tri(const HhParams *p, Rng *r) {
    return rng_triangular(r, p->noise_low, p->noise_high, p->noise_mode);
}

double hh_noise_mean(const HhParams *p, HhNoise mode, int count, Rng *r) {
    if (count <= 0) return 1.0;
    if (mode == HH_NOISE_PER_BUS) return tri(p, r);
    if (mode == HH_NOISE_CLT && count > HH_CLT_MIN) {
        double a = p->noise_low, b = p->noise_high, c = p->noise_mode;
        double mean = (a + b + c) / 3.0;
        double var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0;
        double x = mean + sqrt(var / count) * rng_normal(r);
        return x < a ? a : x > b ? b : x;
    }
    double s = 0;
    for (int i = 0; i < count; i++) s += tri(p, r);
    return s / count;
}

void hh_draw_step(const HhParams *p, HhNoise mode, int hour, Rng *r, HhStep *out) {
    SB_ASSERT(hour >= 0 && hour < p->steps_per_day);
    /* Fixed draw order (per bus: consumers, prosumers; then solar units) keeps a run
     * reproducible and lets two dispatches of the same step share the same noise. */
    for (int b = 0; b < p->n_bus; b++) {
        double unit = p->demand_scale_kwh;
        out->consumer_kwh[b] =
            p->shape_consumer[hour] * unit * p->consumers[b] * hh_noise_mean(p, mode, p->consumers[b], r);
        out->prosumer_kwh[b] =
            p->shape_prosumer[hour] * unit * p->prosumers[b] * hh_noise_mean(p, mode, p->prosumers[b], r);
    }
    for (int u = 0; u < p->n_solar; u++)
        out->solar_mwh[u] = p->solar_capacity_mwh[u] * p->shape_solar[hour] * tri(p, r);
}

void hh_mean_step(const HhParams *p, int hour, HhStep *out) {
    SB_ASSERT(hour >= 0 && hour < p->steps_per_day);
    double mean = (p->noise_low + p->noise_mode + p->noise_high) / 3.0;
    for (int b = 0; b < p->n_bus; b++) {
        out->consumer_kwh[b] = p->shape_consumer[hour] * p->demand_scale_kwh * p->consumers[b] * mean;
        out->prosumer_kwh[b] = p->shape_prosumer[hour] * p->demand_scale_kwh * p->prosumers[b] * mean;
    }
    for (int u = 0; u < p->n_solar; u++) out->solar_mwh[u] = p->solar_capacity_mwh[u] * p->shape_solar[hour] * mean;
}

double hh_draw_prosumer_kwh(const HhParams *p, HhNoise mode, int b, int hour, Rng *r) {
    return p->shape_prosumer[hour] * p->demand_scale_kwh * p->prosumers[b] * hh_noise_mean(p, mode, p->prosumers[b], r);
}

double hh_mean_net_demand_kwh(const HhParams *p, int b) {
    double mean_noise = (p->noise_low + p->noise_mode + p->noise_high) / 3.0;
    return p->prosumers[b] * p->demand_scale_kwh * hh_shape_mean(p->shape_prosumer, p->steps_per_day) * mean_noise;
}

double hh_net_demand_ratio(const HhParams *p, int b, double kwh) {
    return kwh / (p->prosumers[b] * p->demand_scale_kwh);
}

double hh_fleet_capacity_kwh(const HhParams *p, int b) { return p->prosumers[b] * p->storage_kwh[b]; }

long hh_total_households(const HhParams *p) {
    long t = 0;
    for (int b = 0; b < p->n_bus; b++) t += (long)p->prosumers[b] + p->consumers[b];
    return t;
}

double hh_shape_mean(const double *shape, int steps) {
    double s = 0;
    for (int h = 0; h < steps; h++) s += shape[h];
    return steps > 0 ? s / steps : 0.0;
}

void hh_bus_load_mwh(const HhParams *p, const int *grid_index, const double *consumer_kwh,
                     const double *fleet_grid_kwh, double *load, int n_grid_bus) {
    for (int i = 0; i < n_grid_bus; i++) load[i] = 0.0;
    for (int b = 0; b < p->n_bus; b++) {
        int i = grid_index ? grid_index[b] : b;
        SB_ASSERT(i >= 0 && i < n_grid_bus);
        load[i] += (consumer_kwh[b] + fleet_grid_kwh[b]) / 1000.0;
    }
}
