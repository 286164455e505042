/* market.c: the tariff arithmetic of SPEC sections 4-6 (see market.h for units and [R]). */
#include "grid/market.h"

#include <math.h>
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

void market_baseline_tariff(const HhParams *p, double fixed_cost_per_day, Tariff *t) {
    memset(t, 0, sizeof *t);
    double f = fixed_cost_per_day / (double)hh_total_households(p);
    for (int b = 0; b < p->n_bus; b++) t->fixed_prosumer[b] = f;
    t->fixed_consumer = f;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

void market_tariff_from_action(const float *act, int n_bus, const TariffBounds *bd, Tariff *t) {
    memset(t, 0, sizeof *t);
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
    for (int b = 0; b < n_bus; b++) t->fixed_prosumer[b] = clampd(act[2 + b], bd->fixed_lo, bd->fixed_hi);
    t->fixed_consumer = clampd(act[2 + n_bus], bd->fixed_lo, bd->fixed_hi);
}

void market_tariff_to_vec(const Tariff *t, int n_bus, float *out) {
    out[0] = (float)t->alpha_buy;
    out[1] = (float)t->alpha_sell;
    for (int b = 0; b < n_bus; b++) out[2 + b] = (float)t->fixed_prosumer[b];
    out[2 + n_bus] = (float)t->fixed_consumer;
}

void market_ledger_reset(MarketLedger *l, int n_bus, int steps_per_day) {
    SB_ASSERT(n_bus >= 1 && n_bus <= HH_MAX_BUS && steps_per_day >= 1);
    memset(l, 0, sizeof *l);
    l->n_bus = n_bus;
    l->steps_per_day = steps_per_day;
}

void market_ledger_step(MarketLedger *l, const HhParams *p, const Tariff *t, const double *lmp,
                        const double *fleet_kwh, const double *consumer_kwh) {
    double day_frac = 1.0 / l->steps_per_day;
    for (int b = 0; b < l->n_bus; b++) {
        double fp = t->fixed_prosumer[b] * p->prosumers[b] * day_frac;
        double fc = t->fixed_consumer * p->consumers[b] * day_frac;
        l->bill_prosumer[b] += market_energy_bill(fleet_kwh[b], lmp[b], t) + fp;
        l->bill_consumer[b] += market_energy_bill(consumer_kwh[b], lmp[b], t) + fc;
        l->energy_prosumer[b] += fleet_kwh[b];
        l->energy_consumer[b] += consumer_kwh[b];
        l->revenue += market_energy_margin(fleet_kwh[b], t) + market_energy_margin(consumer_kwh[b], t) + fp + fc;
        l->fixed_collected += fp + fc;
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

void market_eei(const MarketLedger *l, const HhParams *p, MarketEei *out) {
    double days = market_ledger_days(l);
    double wp = 0, wc = 0;
    out->prosumer_mean = out->consumer_mean = 0;
    for (int b = 0; b < l->n_bus; b++) {
        out->prosumer[b] = market_eei_group(l->bill_prosumer[b], p->prosumers[b], days, p->prosumer_income[b]);
        out->consumer[b] = market_eei_group(l->bill_consumer[b], p->consumers[b], days, p->consumer_income[b]);
        out->prosumer_mean += p->prosumers[b] * out->prosumer[b];
        out->consumer_mean += p->consumers[b] * out->consumer[b];
        wp += p->prosumers[b];
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

double market_leader_reward(double eei_prosumer, double eei_consumer, double shortfall, double kappa) {
    return -100.0 * fabs(eei_prosumer - eei_consumer) - kappa * shortfall;
}

void market_leader_obs(const MarketEei *e, int n_bus, double mean_lmp, double lmp_scale, double shortfall,
                       const Tariff *t, float *obs) {
    for (int b = 0; b < n_bus; b++) obs[b] = (float)(100.0 * e->prosumer[b]);
    obs[n_bus] = (float)(100.0 * e->consumer_mean);
    obs[n_bus + 1] = (float)(mean_lmp / lmp_scale);
    obs[n_bus + 2] = (float)shortfall;
    market_tariff_to_vec(t, n_bus, obs + n_bus + 3);
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
