/* households.c: populations, income classes, demand shapes, noise and the household generator. */
#include "grid/households.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void hh_params_free(HhParams *p) {
    free(p->bus_id);
    free(p->bus_name);
    free(p->consumers);
    free(p->consumer_income);
    free(p->group_first);
    free(p->group_count);
    free(p->group_bus);
    free(p->group_class);
    free(p->prosumers);
    free(p->storage_kwh);
    free(p->class_name);
    free(p->class_income);
    free(p->solar_capacity_mwh);
    p->bus_id = p->consumers = p->group_first = p->group_count = p->group_bus = p->group_class = p->prosumers = NULL;
    p->bus_name = p->class_name = NULL;
    p->consumer_income = p->storage_kwh = p->class_income = p->solar_capacity_mwh = NULL;
    p->n_bus = p->n_group = p->n_class = p->n_solar = 0;
}

void hh_params_alloc(HhParams *p, int n_bus, int n_group, int n_class, int n_solar) {
    hh_params_free(p);
    size_t B = (size_t)(n_bus > 0 ? n_bus : 1), G = (size_t)(n_group > 0 ? n_group : 1);
    size_t C = (size_t)(n_class > 0 ? n_class : 1), U = (size_t)(n_solar > 0 ? n_solar : 1);
    p->n_bus = n_bus;
    p->n_group = n_group;
    p->n_class = n_class;
    p->n_solar = n_solar;
    p->bus_id = sb_calloc(B, sizeof *p->bus_id);
    p->bus_name = sb_calloc(B, sizeof *p->bus_name);
    p->consumers = sb_calloc(B, sizeof *p->consumers);
    p->consumer_income = sb_calloc(B, sizeof *p->consumer_income);
    p->group_first = sb_calloc(B, sizeof *p->group_first);
    p->group_count = sb_calloc(B, sizeof *p->group_count);
    p->group_bus = sb_calloc(G, sizeof *p->group_bus);
    p->group_class = sb_calloc(G, sizeof *p->group_class);
    p->prosumers = sb_calloc(G, sizeof *p->prosumers);
    p->storage_kwh = sb_calloc(G, sizeof *p->storage_kwh);
    p->class_name = sb_calloc(C, sizeof *p->class_name);
    p->class_income = sb_calloc(C, sizeof *p->class_income);
    p->solar_capacity_mwh = sb_calloc(U, sizeof *p->solar_capacity_mwh);
}

void hh_params_copy(HhParams *dst, const HhParams *src) {
    *dst = *src;
    dst->bus_id = NULL; /* alloc frees what dst holds: it holds src's pointers now */
    dst->bus_name = dst->class_name = NULL;
    dst->consumers = dst->group_first = dst->group_count = dst->group_bus = dst->group_class = dst->prosumers = NULL;
    dst->consumer_income = dst->storage_kwh = dst->class_income = dst->solar_capacity_mwh = NULL;
    hh_params_alloc(dst, src->n_bus, src->n_group, src->n_class, src->n_solar);
    size_t B = (size_t)src->n_bus, G = (size_t)src->n_group, C = (size_t)src->n_class, U = (size_t)src->n_solar;
#define CP(f, k) memcpy(dst->f, src->f, (k) * sizeof *src->f)
    CP(bus_id, B);
    CP(bus_name, B);
    CP(consumers, B);
    CP(consumer_income, B);
    CP(group_first, B);
    CP(group_count, B);
    CP(group_bus, G);
    CP(group_class, G);
    CP(prosumers, G);
    CP(storage_kwh, G);
    CP(class_name, C);
    CP(class_income, C);
    CP(solar_capacity_mwh, U);
#undef CP
}

void hh_index_groups(HhParams *p) {
    for (int b = 0; b < p->n_bus; b++) p->group_first[b] = p->group_count[b] = 0;
    for (int g = p->n_group - 1; g >= 0; g--) {
        int b = p->group_bus[g];
        if (b < 0 || b >= p->n_bus) continue; /* hh_params_validate reports it */
        p->group_first[b] = g;
        p->group_count[b]++;
    }
}

void hh_params_default(HhParams *p) {
    static const double consumer[8] = {.5567, .4700, .7933, .8933, .9500, .9967, .9900, .8100};
    static const double prosumer[8] = {.5633, .5567, .6333, .6733, .6700, .7100, .8000, .7333};
    static const double solar[8] = {0, 0, .2567, .7633, .9000, .4733, .0200, 0};
    static const int pros[3] = {1000, 500, 300};
    static const double pinc[3] = {25000, 45000, 65000}, stor[3] = {30, 60, 100};
    memset(p, 0, sizeof *p);
    hh_params_alloc(p, 3, 3, 3, 2);
    for (int b = 0; b < 3; b++) {
        p->bus_id[b] = b + 1;
        snprintf(p->bus_name[b], HH_NAME_MAX, "b%d", b + 1);
        snprintf(p->class_name[b], HH_NAME_MAX, "b%d", b + 1);
        p->consumers[b] = 3000;
        p->consumer_income[b] = 15000;
        p->group_bus[b] = b;
        p->group_class[b] = b;
        p->prosumers[b] = pros[b];
        p->storage_kwh[b] = stor[b];
        p->class_income[b] = pinc[b];
    }
    hh_index_groups(p);
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
    p->solar_capacity_mwh[0] = p->solar_capacity_mwh[1] = 30.0;
}

double hh_efficiency_out(const HhParams *p) { return p->efficiency_charging_only ? 1.0 : p->efficiency; }

int hh_params_validate(const HhParams *p, char *err, size_t n) {
    if (p->n_bus < 1) return sb_err(err, n, "households: at least one bus, got %d", p->n_bus);
    if (p->n_class < 1) return sb_err(err, n, "households: at least one income class");
    for (int b = 0; b < p->n_bus; b++) {
        const char *bn = p->bus_name[b];
        if (p->consumers[b] < 1) return sb_err(err, n, "households.%s.consumers: must be > 0", bn);
        if (!(p->consumer_income[b] > 0)) return sb_err(err, n, "households.%s.consumer_income: must be > 0", bn);
        if (p->group_count[b] < 1) return sb_err(err, n, "households.%s: no prosumers", bn);
        for (int c = 0; c < b; c++)
            if (p->bus_id[c] == p->bus_id[b])
                return sb_err(err, n, "households.%s.bus: bus %d appears twice (also households.%s)", bn,
                              p->bus_id[b], p->bus_name[c]);
    }
    for (int g = 0; g < p->n_group; g++) {
        if (p->group_bus[g] < 0 || p->group_bus[g] >= p->n_bus || (g && p->group_bus[g] < p->group_bus[g - 1]))
            return sb_err(err, n, "households: prosumer group %d is not in bus order", g);
        if (p->group_class[g] < 0 || p->group_class[g] >= p->n_class)
            return sb_err(err, n, "households: prosumer group %d has no class", g);
        const char *bn = p->bus_name[p->group_bus[g]];
        if (p->prosumers[g] < 1) return sb_err(err, n, "households.%s.prosumers: must be > 0", bn);
        if (!(p->storage_kwh[g] >= 0)) return sb_err(err, n, "households.%s.storage_kwh: must be >= 0", bn);
    }
    for (int c = 0; c < p->n_class; c++)
        if (!(p->class_income[c] > 0)) return sb_err(err, n, "households: income of class %s must be > 0", p->class_name[c]);
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
    for (int u = 0; u < p->n_solar; u++)
        if (!(p->solar_capacity_mwh[u] >= 0)) return sb_err(err, n, "solar.capacity_mwh[%d]: must be >= 0", u);
    return 0;
}

/* ---- the household generator ---- */

/* Split `total` into k parts proportional to w (sum > 0) by largest remainder, each at least
 * `floor_each`; ties go to the earlier index. out (k). */
static void apportion(long total, const double *w, int k, long floor_each, long *out) {
    double sw = 0;
    for (int i = 0; i < k; i++) sw += w[i];
    long left = total - floor_each * k, given = 0;
    double *rem = sb_malloc((size_t)k * sizeof *rem);
    for (int i = 0; i < k; i++) {
        double exact = left * (w[i] / sw);
        out[i] = (long)floor(exact);
        rem[i] = exact - (double)out[i];
        given += out[i];
    }
    for (; given < left; given++) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (rem[i] > rem[best]) best = i;
        out[best]++;
        rem[best] = -1;
    }
    for (int i = 0; i < k; i++) out[i] += floor_each;
    free(rem);
}

int hh_generate_from_load(HhParams *p, const HhClassRow *rows, int n_rows, long total, const int *bus_ids,
                          const double *pd, int n_grid_bus, char *err, size_t n) {
    if (n_rows < 2) return sb_err(err, n, "households.from_load: needs at least one prosumer class and the consumers");
    double s = 0;
    for (int r = 0; r < n_rows; r++) {
        if (!(rows[r].share > 0)) return sb_err(err, n, "households.from_load.%s.share: must be > 0", rows[r].name);
        s += rows[r].share;
    }
    if (fabs(s - 1.0) > 1e-9)
        return sb_err(err, n, "households.from_load: the shares must sum to 1, they sum to %.12g", s);
    int B = 0;
    for (int i = 0; i < n_grid_bus; i++) B += pd[i] > 0;
    if (B == 0) return sb_err(err, n, "households.from_load: the grid has no bus with load (pd > 0)");
    const int C = n_rows - 1;
    if (total < (long)B * n_rows)
        return sb_err(err, n, "households.from_load.households: %ld households cannot give every one of the %d load "
                              "buses one household of each of the %d rows (need >= %ld)",
                      total, B, n_rows, (long)B * n_rows);
    double *w = sb_malloc((size_t)B * sizeof *w), *share = sb_malloc((size_t)n_rows * sizeof *share);
    long *per_bus = sb_malloc((size_t)B * sizeof *per_bus), *split = sb_malloc((size_t)n_rows * sizeof *split);
    int *ids = sb_malloc((size_t)B * sizeof *ids);
    for (int i = 0, b = 0; i < n_grid_bus; i++)
        if (pd[i] > 0) {
            w[b] = pd[i];
            ids[b++] = bus_ids[i];
        }
    for (int r = 0; r < n_rows; r++) share[r] = rows[r].share;
    apportion(total, w, B, n_rows, per_bus);
    int n_solar = p->n_solar;
    double *solar = sb_malloc((size_t)(n_solar > 0 ? n_solar : 1) * sizeof *solar);
    memcpy(solar, p->solar_capacity_mwh, (size_t)n_solar * sizeof *solar);
    hh_params_alloc(p, B, B * C, C, n_solar);
    memcpy(p->solar_capacity_mwh, solar, (size_t)n_solar * sizeof *solar);
    for (int c = 0; c < C; c++) {
        snprintf(p->class_name[c], HH_NAME_MAX, "%s", rows[c].name);
        p->class_income[c] = rows[c].income;
    }
    int rc = 0;
    for (int b = 0; b < B; b++) {
        apportion(per_bus[b], share, n_rows, 1, split);
        p->bus_id[b] = ids[b];
        snprintf(p->bus_name[b], HH_NAME_MAX, "bus%d", ids[b]);
        if (split[C] > 2147483647L) rc = sb_err(err, n, "households.from_load.households: too many for bus %d", ids[b]);
        p->consumers[b] = (int)split[C];
        p->consumer_income[b] = rows[C].income;
        for (int c = 0; c < C; c++) {
            int g = b * C + c;
            p->group_bus[g] = b;
            p->group_class[g] = c;
            p->prosumers[g] = (int)split[c];
            p->storage_kwh[g] = rows[c].storage_kwh;
        }
    }
    hh_index_groups(p);
    free(w);
    free(share);
    free(per_bus);
    free(split);
    free(ids);
    free(solar);
    return rc;
}

/* ---- noise and draws ---- */

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

void hh_step_alloc(HhStep *s, const HhParams *p) {
    s->consumer_kwh = sb_calloc((size_t)p->n_bus, sizeof(double));
    s->prosumer_kwh = sb_calloc((size_t)p->n_bus, sizeof(double));
    s->group_kwh = sb_calloc((size_t)(p->n_group > 0 ? p->n_group : 1), sizeof(double));
    s->solar_mwh = sb_calloc((size_t)(p->n_solar > 0 ? p->n_solar : 1), sizeof(double));
}

void hh_step_free(HhStep *s) {
    free(s->consumer_kwh);
    free(s->prosumer_kwh);
    free(s->group_kwh);
    free(s->solar_mwh);
    memset(s, 0, sizeof *s);
}

/* Sum of the bus's group energies, starting from the first (no 0.0 + x: the one-group case
 * keeps the group's bits, sign of zero included). */
static double bus_sum(const HhParams *p, int b, const double *group_kwh) {
    int g0 = p->group_first[b], k = p->group_count[b];
    double s = group_kwh[g0];
    for (int g = g0 + 1; g < g0 + k; g++) s += group_kwh[g];
    return s;
}

void hh_draw_step(const HhParams *p, HhNoise mode, int hour, Rng *r, HhStep *out) {
    SB_ASSERT(hour >= 0 && hour < p->steps_per_day);
    /* Fixed draw order (per bus: consumers, then its prosumer groups; then solar units) keeps
     * a run reproducible and lets two dispatches of the same step share the same noise. */
    double unit = p->demand_scale_kwh;
    for (int b = 0; b < p->n_bus; b++) {
        out->consumer_kwh[b] =
            p->shape_consumer[hour] * unit * p->consumers[b] * hh_noise_mean(p, mode, p->consumers[b], r);
        for (int g = p->group_first[b]; g < p->group_first[b] + p->group_count[b]; g++)
            out->group_kwh[g] =
                p->shape_prosumer[hour] * unit * p->prosumers[g] * hh_noise_mean(p, mode, p->prosumers[g], r);
        out->prosumer_kwh[b] = bus_sum(p, b, out->group_kwh);
    }
    for (int u = 0; u < p->n_solar; u++)
        out->solar_mwh[u] = p->solar_capacity_mwh[u] * p->shape_solar[hour] * tri(p, r);
}

void hh_mean_step(const HhParams *p, int hour, HhStep *out) {
    SB_ASSERT(hour >= 0 && hour < p->steps_per_day);
    double mean = (p->noise_low + p->noise_mode + p->noise_high) / 3.0;
    for (int b = 0; b < p->n_bus; b++) {
        out->consumer_kwh[b] = p->shape_consumer[hour] * p->demand_scale_kwh * p->consumers[b] * mean;
        for (int g = p->group_first[b]; g < p->group_first[b] + p->group_count[b]; g++)
            out->group_kwh[g] = p->shape_prosumer[hour] * p->demand_scale_kwh * p->prosumers[g] * mean;
        out->prosumer_kwh[b] = bus_sum(p, b, out->group_kwh);
    }
    for (int u = 0; u < p->n_solar; u++) out->solar_mwh[u] = p->solar_capacity_mwh[u] * p->shape_solar[hour] * mean;
}

double hh_draw_prosumer_kwh(const HhParams *p, HhNoise mode, int b, int hour, Rng *r) {
    int g0 = p->group_first[b], k = p->group_count[b];
    double s = 0;
    for (int g = g0; g < g0 + k; g++) {
        double e = p->shape_prosumer[hour] * p->demand_scale_kwh * p->prosumers[g] *
                   hh_noise_mean(p, mode, p->prosumers[g], r);
        s = g == g0 ? e : s + e;
    }
    return s;
}

long hh_bus_prosumers(const HhParams *p, int b) {
    long s = 0;
    for (int g = p->group_first[b]; g < p->group_first[b] + p->group_count[b]; g++) s += p->prosumers[g];
    return s;
}

long hh_class_prosumers(const HhParams *p, int c) {
    long s = 0;
    for (int g = 0; g < p->n_group; g++)
        if (p->group_class[g] == c) s += p->prosumers[g];
    return s;
}

double hh_mean_net_demand_kwh(const HhParams *p, int b) {
    double mean_noise = (p->noise_low + p->noise_mode + p->noise_high) / 3.0;
    return (double)hh_bus_prosumers(p, b) * p->demand_scale_kwh * hh_shape_mean(p->shape_prosumer, p->steps_per_day) *
           mean_noise;
}

double hh_net_demand_ratio(const HhParams *p, int b, double kwh) {
    return kwh / ((double)hh_bus_prosumers(p, b) * p->demand_scale_kwh);
}

double hh_fleet_capacity_kwh(const HhParams *p, int b) {
    int g0 = p->group_first[b], k = p->group_count[b];
    double s = 0;
    for (int g = g0; g < g0 + k; g++) s = g == g0 ? p->prosumers[g] * p->storage_kwh[g] : s + p->prosumers[g] * p->storage_kwh[g];
    return s;
}

long hh_total_households(const HhParams *p) {
    long t = 0;
    for (int b = 0; b < p->n_bus; b++) t += hh_bus_prosumers(p, b) + p->consumers[b];
    return t;
}

double hh_shape_mean(const double *shape, int steps) {
    double s = 0;
    for (int h = 0; h < steps; h++) s += shape[h];
    return steps > 0 ? s / steps : 0.0;
}
