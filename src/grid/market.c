/* market.c: the tariff arithmetic of SPEC sections 4-6 (see market.h for units and [R]). */
#include "grid/market.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

double market_buy_rate(double lmp, const Tariff *t) { return lmp / 1000.0 + t->alpha_buy; }
double market_sell_rate(double lmp, const Tariff *t) { return lmp / 1000.0 + t->alpha_sell; }

double market_energy_bill(double q_kwh, double lmp, const Tariff *t) {
    return q_kwh >= 0 ? market_buy_rate(lmp, t) * q_kwh : market_sell_rate(lmp, t) * q_kwh;
}

double market_energy_margin(double q_kwh, const Tariff *t) {
    return q_kwh >= 0 ? t->alpha_buy * q_kwh : t->alpha_sell * q_kwh;
}

void tariff_init(Tariff *t, int n_class) {
    memset(t, 0, sizeof *t);
    t->n_class = n_class;
    t->fixed_prosumer = sb_calloc((size_t)(n_class > 0 ? n_class : 1), sizeof(double));
}

void tariff_free(Tariff *t) {
    free(t->fixed_prosumer);
    memset(t, 0, sizeof *t);
}

void tariff_copy(Tariff *dst, const Tariff *src) {
    SB_ASSERT(dst->n_class == src->n_class);
    dst->alpha_buy = src->alpha_buy;
    dst->alpha_sell = src->alpha_sell;
    dst->fixed_consumer = src->fixed_consumer;
    memcpy(dst->fixed_prosumer, src->fixed_prosumer, (size_t)src->n_class * sizeof(double));
}

void market_baseline_tariff(const HhParams *p, double fixed_cost_per_day, Tariff *t) {
    SB_ASSERT(t->n_class == p->n_class);
    double f = fixed_cost_per_day / (double)hh_total_households(p);
    t->alpha_buy = t->alpha_sell = 0;
    for (int c = 0; c < p->n_class; c++) t->fixed_prosumer[c] = f;
    t->fixed_consumer = f;
}

double market_bus_fixed_prosumer(const HhParams *p, const Tariff *t, int b) {
    int g0 = p->group_first[b], k = p->group_count[b];
    if (k == 1) return t->fixed_prosumer[p->group_class[g0]];
    double s = 0, w = 0;
    for (int g = g0; g < g0 + k; g++) {
        s += p->prosumers[g] * t->fixed_prosumer[p->group_class[g]];
        w += p->prosumers[g];
    }
    return s / w;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

void market_tariff_from_action(const float *act, const TariffBounds *bd, Tariff *t) {
    const int C = t->n_class;
    double buy = clampd(act[0], bd->alpha_lo, bd->alpha_hi);
    double sell = clampd(act[1], bd->alpha_lo, bd->alpha_hi);
    if (sell > buy) {
        if (bd->sell_rule == MARKET_SELL_SWAP) {
            double x = buy;
            buy = sell;
            sell = x;
        } else {
            sell = buy;
        }
    }
    t->alpha_buy = buy;
    t->alpha_sell = sell;
    for (int c = 0; c < C; c++) t->fixed_prosumer[c] = clampd(act[2 + c], bd->fixed_lo, bd->fixed_hi);
    t->fixed_consumer = clampd(act[2 + C], bd->fixed_lo, bd->fixed_hi);
}

void market_tariff_to_vec(const Tariff *t, float *out) {
    const int C = t->n_class;
    out[0] = (float)t->alpha_buy;
    out[1] = (float)t->alpha_sell;
    for (int c = 0; c < C; c++) out[2 + c] = (float)t->fixed_prosumer[c];
    out[2 + C] = (float)t->fixed_consumer;
}

void market_ledger_init(MarketLedger *l, int n_bus, int n_class, int steps_per_day) {
    SB_ASSERT(n_bus >= 1 && n_class >= 1 && steps_per_day >= 1);
    memset(l, 0, sizeof *l);
    l->n_bus = n_bus;
    l->n_class = n_class;
    l->steps_per_day = steps_per_day;
    l->bill_class = sb_calloc((size_t)n_class, sizeof(double));
    l->energy_class = sb_calloc((size_t)n_class, sizeof(double));
    l->bill_consumer = sb_calloc((size_t)n_bus, sizeof(double));
    l->energy_consumer = sb_calloc((size_t)n_bus, sizeof(double));
}

void market_ledger_free(MarketLedger *l) {
    free(l->bill_class);
    free(l->energy_class);
    free(l->bill_consumer);
    free(l->energy_consumer);
    memset(l, 0, sizeof *l);
}

void market_ledger_reset(MarketLedger *l) {
    size_t C = (size_t)l->n_class, B = (size_t)l->n_bus;
    memset(l->bill_class, 0, C * sizeof(double));
    memset(l->energy_class, 0, C * sizeof(double));
    memset(l->bill_consumer, 0, B * sizeof(double));
    memset(l->energy_consumer, 0, B * sizeof(double));
    l->steps = 0;
    l->revenue = l->fixed_collected = l->lmp_sum = 0;
}

void market_ledger_copy(MarketLedger *dst, const MarketLedger *src) {
    SB_ASSERT(dst->n_bus == src->n_bus && dst->n_class == src->n_class);
    size_t C = (size_t)src->n_class, B = (size_t)src->n_bus;
    memcpy(dst->bill_class, src->bill_class, C * sizeof(double));
    memcpy(dst->energy_class, src->energy_class, C * sizeof(double));
    memcpy(dst->bill_consumer, src->bill_consumer, B * sizeof(double));
    memcpy(dst->energy_consumer, src->energy_consumer, B * sizeof(double));
    dst->steps_per_day = src->steps_per_day;
    dst->steps = src->steps;
    dst->revenue = src->revenue;
    dst->fixed_collected = src->fixed_collected;
    dst->lmp_sum = src->lmp_sum;
}

void market_ledger_step(MarketLedger *l, const HhParams *p, const Tariff *t, const double *lmp,
                        const double *group_kwh, const double *consumer_kwh) {
    double day_frac = 1.0 / l->steps_per_day;
    for (int b = 0; b < l->n_bus; b++) {
        /* The bus's prosumer groups; margins and fixed charges summed from the first group
         * (one group per bus, the paper's case, adds exactly what a per-bus ledger adds). */
        int g0 = p->group_first[b], k = p->group_count[b];
        double margin = 0, fixed = 0;
        for (int g = g0; g < g0 + k; g++) {
            int c = p->group_class[g];
            double fp = t->fixed_prosumer[c] * p->prosumers[g] * day_frac;
            l->bill_class[c] += market_energy_bill(group_kwh[g], lmp[b], t) + fp;
            l->energy_class[c] += group_kwh[g];
            double m = market_energy_margin(group_kwh[g], t);
            margin = g == g0 ? m : margin + m;
            fixed = g == g0 ? fp : fixed + fp;
        }
        double fc = t->fixed_consumer * p->consumers[b] * day_frac;
        l->bill_consumer[b] += market_energy_bill(consumer_kwh[b], lmp[b], t) + fc;
        l->energy_consumer[b] += consumer_kwh[b];
        l->revenue += margin + market_energy_margin(consumer_kwh[b], t) + fixed + fc;
        l->fixed_collected += fixed + fc;
        l->lmp_sum += lmp[b];
    }
    l->steps++;
}

double market_ledger_days(const MarketLedger *l) { return (double)l->steps / l->steps_per_day; }

double market_ledger_mean_lmp(const MarketLedger *l) {
    return l->steps ? l->lmp_sum / ((double)l->steps * l->n_bus) : 0.0;
}

double market_eei_group(double group_bill, int households, double days, double income) {
    SB_ASSERT(households > 0 && days > 0 && income > 0);
    return group_bill / households * (365.0 / days) / income;
}

void market_eei_init(MarketEei *e, int n_bus, int n_class) {
    memset(e, 0, sizeof *e);
    e->n_bus = n_bus;
    e->n_class = n_class;
    e->prosumer = sb_calloc((size_t)n_class, sizeof(double));
    e->consumer = sb_calloc((size_t)n_bus, sizeof(double));
}

void market_eei_free(MarketEei *e) {
    free(e->prosumer);
    free(e->consumer);
    memset(e, 0, sizeof *e);
}

void market_eei(const MarketLedger *l, const HhParams *p, MarketEei *out) {
    SB_ASSERT(out->n_bus == l->n_bus && out->n_class == l->n_class);
    double days = market_ledger_days(l);
    double wp = 0, wc = 0;
    out->prosumer_mean = out->consumer_mean = 0;
    for (int c = 0; c < l->n_class; c++) {
        long households = hh_class_prosumers(p, c);
        SB_ASSERT(households <= 2147483647L);
        out->prosumer[c] = market_eei_group(l->bill_class[c], (int)households, days, p->class_income[c]);
        out->prosumer_mean += (double)households * out->prosumer[c];
        wp += (double)households;
    }
    for (int b = 0; b < l->n_bus; b++) {
        out->consumer[b] = market_eei_group(l->bill_consumer[b], p->consumers[b], days, p->consumer_income[b]);
        out->consumer_mean += p->consumers[b] * out->consumer[b];
        wc += p->consumers[b];
    }
    out->prosumer_mean /= wp;
    out->consumer_mean /= wc;
}

double market_shortfall(double revenue, double fixed_cost_per_day, double days) {
    double cost = fixed_cost_per_day * days;
    if (!(cost > 0)) return 0.0;
    double s = (cost - revenue) / cost;
    return s < 0 ? 0.0 : s; /* above 1 when the revenue is negative (subsidies exceed charges) */
}

void market_leader_obs(const MarketEei *e, double mean_lmp, double lmp_scale, double shortfall, const Tariff *t,
                       float *obs) {
    const int C = e->n_class;
    for (int c = 0; c < C; c++) obs[c] = (float)(100.0 * e->prosumer[c]);
    obs[C] = (float)(100.0 * e->consumer_mean);
    obs[C + 1] = (float)(mean_lmp / lmp_scale);
    obs[C + 2] = (float)shortfall;
    market_tariff_to_vec(t, obs + C + 3);
}

void market_belief_update(double *belief, int hour, double lmp, int day, double step) {
    SB_ASSERT(day >= 0);
    belief[hour] -= step * (belief[hour] - lmp) / sqrt(day + 1.0);
}

void market_belief_stats(const double *belief, int steps, double *mean, double *sd) {
    double m = 0, v = 0;
    for (int h = 0; h < steps; h++) m += belief[h];
    m /= steps;
    for (int h = 0; h < steps; h++) v += (belief[h] - m) * (belief[h] - m);
    v /= steps;
    *mean = m;
    *sd = v > 0 ? sqrt(v) : 1.0;
}

void market_follower_obs(double belief, double mean, double sd, double clip, int hour, int steps_per_day,
                         double net_ratio, double soc, const Tariff *t, float *obs) {
    obs[0] = (float)clampd((belief - mean) / sd, -clip, clip);
    obs[1] = (float)((double)hour / steps_per_day);
    obs[2] = (float)net_ratio;
    obs[3] = (float)soc;
    obs[4] = (float)t->alpha_buy;
    obs[5] = (float)t->alpha_sell;
}

double market_follower_reward(double q_kwh, double lmp, const Tariff *t, double scale) {
    return -market_energy_bill(q_kwh, lmp, t) / scale;
}

double market_reward_scale_auto(double mean_net_kwh, double mean_belief) {
    double s = fabs(mean_net_kwh * mean_belief / 1000.0);
    return s > 1e-6 ? s : 1e-6;
}

double market_imv(const double *lmp, size_t T, size_t stride) {
    if (T < 2) return 0.0;
    double s = 0;
    for (size_t i = 0; i + 1 < T; i++) s += fabs(lmp[(i + 1) * stride] - lmp[i * stride]);
    return s / (double)T;
}

double market_imv_mean(const double *lmp, size_t T, size_t B) {
    double s = 0;
    for (size_t b = 0; b < B; b++) s += market_imv(lmp + b, T, B);
    return B ? s / (double)B : 0.0;
}
