/* market.h: retail tariff arithmetic, bills, EEI, utility revenue, the leader's and
 * followers' observations and rewards, price beliefs and IMV (SPEC sections 4-6).
 *
 * Legend: B household buses, G prosumer groups, C prosumer income classes, S steps per day,
 * T steps in a window, K = C + 3 tariff entries.
 * Units used throughout (stated again on each function):
 *   LMP            $/MWh (what the dispatch returns)
 *   retail rates   $/kWh: buy = LMP/1000 + alpha_buy, sell = LMP/1000 + alpha_sell
 *   energies       kWh per step for households (a group's total); positive = from the grid
 *   bills, revenue $ (totals over a group or the utility)
 *   fixed charges  $ per household per day
 *   EEI            fraction of income (0.03 = 3%); observations and rewards use percent
 *
 * [R] choices made here, each a config value in game_config.h:
 *   - bills net at the group level: one group of households shares one aggregate energy q per
 *     step (a prosumer group's share of its bus fleet's q, or a bus's consumers' demand),
 *     billed buy * q+ - sell * q-; the household bill is the group's divided by its size;
 *   - EEI_c of a prosumer income class = the bills of its groups (at every bus) over its
 *     households; with households given per bus, each bus is its own class [P];
 *   - fixed charges accrue pro rata per step (fixed / S each step), so a window of any length
 *     is charged exactly fixed * days;
 *   - EEI_consumers is the population-weighted mean over the buses' consumer groups, as
 *     EEI_prosumers is over the prosumer groups [P];
 *   - relative shortfall = max(0, fixed_cost_per_day * days - revenue) / (fixed_cost_per_day *
 *     days), not capped (a negative revenue scores above 1); a surplus is not rewarded;
 *   - a leader action with alpha_sell > alpha_buy is repaired by `utility.sell_above_buy`:
 *     clip (alpha_sell = alpha_buy) or swap the two;
 *   - the mean LMP of a window (leader observation) averages every step and household bus,
 *     divided by `utility.obs_lmp_scale` ($/MWh, default 100); EEIs enter in percent;
 *   - IMV of several buses: the mean of the per-bus IMVs (market_imv_mean);
 *   - the belief update uses the 0-based index of the day of the step: day 0 moves by the full
 *     belief_step (0.9) towards the LMP, day 3 by 0.45;
 *   - follower observation "net-demand ratio" = the fleet's net demand this step / (prosumers
 *     * demand_scale_kwh), i.e. shape * noise: about 0.5-0.9;
 *   - belief normalisation: mean and population standard deviation of the initial beliefs over
 *     the S hours (an sd of 0 is replaced by 1);
 *   - reward_scale auto: the fleet's net demand at the mean shape times the mean initial belief,
 *     mean_net_kwh * mean_belief / 1000 ($), without alpha (the baseline tariff has alpha 0). */
#ifndef SB_MARKET_H
#define SB_MARKET_H

#include <stddef.h>

#include "grid/households.h"

#define MARKET_FOLLOWER_OBS 6

typedef enum { MARKET_SELL_CLIP = 0, MARKET_SELL_SWAP = 1 } MarketSellRule;

typedef struct {
    int n_class;                        /* C */
    double alpha_buy;                   /* $/kWh added to LMP/1000 for energy bought */
    double alpha_sell;                  /* $/kWh added to LMP/1000 for energy sold; <= alpha_buy */
    double *fixed_prosumer;             /* (C) $/household/day, prosumers of each income class */
    double fixed_consumer;              /* $/household/day, every consumer */
} Tariff;

/* A tariff for C classes, zeroed; free; copy between tariffs of the same C. */
void tariff_init(Tariff *t, int n_class);
void tariff_free(Tariff *t);
void tariff_copy(Tariff *dst, const Tariff *src);

typedef struct {
    double alpha_lo, alpha_hi;          /* $/kWh, both alphas */
    double fixed_lo, fixed_hi;          /* $/household/day */
    MarketSellRule sell_rule;
} TariffBounds;

/* ---- rates and one step's bill ---- */

/* Retail rates in $/kWh from an LMP in $/MWh. */
double market_buy_rate(double lmp, const Tariff *t);
double market_sell_rate(double lmp, const Tariff *t);
/* Energy bill of q kWh at an LMP in $/MWh: buy * q+ - sell * q- ($; negative = a credit). */
double market_energy_bill(double q_kwh, double lmp, const Tariff *t);
/* The utility's margin on q kWh: alpha_buy q+ - alpha_sell q- ($). */
double market_energy_margin(double q_kwh, const Tariff *t);

/* ---- tariffs ---- */

/* SPEC section 5's "before learning" tariff: alpha 0, every household the same fixed charge
 * fixed_cost_per_day / total households ($/household/day). */
void market_baseline_tariff(const HhParams *p, double fixed_cost_per_day, Tariff *t);
/* Leader action (K floats: alpha_buy, alpha_sell, fixed_prosumer[B], fixed_consumer) to a
 * tariff: clipped to the bounds, then alpha_sell > alpha_buy repaired by the sell rule. */
void market_tariff_from_action(const float *act, const TariffBounds *bd, Tariff *t);
/* The tariff as K floats in the order above. */
void market_tariff_to_vec(const Tariff *t, float *out);
static inline int market_tariff_dim(int n_class) { return n_class + 3; }
/* The fixed charge of bus b's prosumers: the household-weighted mean over its groups' classes
 * ($/household/day; with one group, that class's charge). */
double market_bus_fixed_prosumer(const HhParams *p, const Tariff *t, int b);

/* ---- a window's ledger (a leader period, a day, a whole run) ---- */

typedef struct {
    int n_bus, n_class;                  /* B, C */
    int steps_per_day;                   /* S */
    long steps;                          /* steps accrued */
    double *bill_class;                  /* (C) $, the prosumers of each class: energy + fixed charges */
    double *bill_consumer;               /* (B) $, each bus's consumers */
    double *energy_class;                /* (C) kWh, prosumers' grid energy (net) */
    double *energy_consumer;             /* (B) kWh */
    double revenue;                      /* $ utility: margins + fixed charges */
    double fixed_collected;              /* $ of revenue from fixed charges */
    double lmp_sum;                      /* $/MWh summed over steps and household buses */
} MarketLedger;

void market_ledger_init(MarketLedger *l, int n_bus, int n_class, int steps_per_day);
void market_ledger_free(MarketLedger *l);
void market_ledger_reset(MarketLedger *l);
void market_ledger_copy(MarketLedger *dst, const MarketLedger *src);
/* Accrue one step: lmp (B) $/MWh at the household buses, group_kwh (G) each prosumer group's
 * grid energy q, consumer_kwh (B) consumers' demand; fixed charges for 1/S of a day. */
void market_ledger_step(MarketLedger *l, const HhParams *p, const Tariff *t, const double *lmp,
                        const double *group_kwh, const double *consumer_kwh);
/* Days covered: steps / S. */
double market_ledger_days(const MarketLedger *l);
/* Mean LMP over the window's steps and household buses, $/MWh (0 if empty). */
double market_ledger_mean_lmp(const MarketLedger *l);

typedef struct {
    int n_bus, n_class;
    double *prosumer;             /* (C) EEI of each prosumer income class, fraction of income */
    double *consumer;             /* (B) EEI of each bus's consumers */
    double prosumer_mean;         /* household-weighted over the prosumer classes */
    double consumer_mean;         /* household-weighted over the consumer groups */
} MarketEei;

void market_eei_init(MarketEei *e, int n_bus, int n_class);
void market_eei_free(MarketEei *e);

/* EEI of a group = (group bill / households) * 365 / days / income. Needs days > 0. */
double market_eei_group(double group_bill, int households, double days, double income);
void market_eei(const MarketLedger *l, const HhParams *p, MarketEei *out);

/* Relative revenue shortfall >= 0: max(0, cost - revenue) / cost with cost =
 * fixed_cost_per_day * days ($/day, days). Not capped at 1: a negative revenue (alpha
 * subsidies larger than every charge) must cost the leader more than no revenue at all. */
double market_shortfall(double revenue, double fixed_cost_per_day, double days);

/* ---- the leader ---- */

/* Leader observation, 2C + 6 floats: EEI of each prosumer class (C, percent), EEI of the
 * consumers (percent), mean LMP / lmp_scale, shortfall ratio, tariff (C + 3, as the action). */
static inline int market_leader_obs_dim(int n_class) { return 2 * n_class + 6; }
void market_leader_obs(const MarketEei *e, double mean_lmp, double lmp_scale, double shortfall, const Tariff *t,
                       float *obs);

/* ---- the followers ---- */

/* After a real step of day `day` (0-based) at hour h: b_h <- b_h - step (b_h - lmp) /
 * sqrt(day + 1). belief (S) in $/MWh. */
void market_belief_update(double *belief, int hour, double lmp, int day, double step);
/* Mean and population sd over S beliefs ($/MWh); an sd of 0 becomes 1. */
void market_belief_stats(const double *belief, int steps, double *mean, double *sd);
/* Follower observation (6 floats): clip((belief - mean)/sd, +-clip), hour / S,
 * net-demand ratio, SoC, alpha_buy, alpha_sell. */
void market_follower_obs(double belief, double mean, double sd, double clip, int hour, int steps_per_day,
                         double net_ratio, double soc, const Tariff *t, float *obs);
/* -(energy bill of the fleet's q kWh at price lmp $/MWh) / scale. Fixed charges do not enter:
 * they do not depend on the action. */
double market_follower_reward(double q_kwh, double lmp, const Tariff *t, double scale);
/* Default reward scale ($): mean_net_kwh * mean_belief / 1000, floored at 1e-6. */
double market_reward_scale_auto(double mean_net_kwh, double mean_belief);

/* ---- metrics ---- */

/* Intraday market volatility of T prices lmp[i * stride] ($/MWh):
 * sum_{i < T-1} |lmp_{i+1} - lmp_i| / T. 0 if T < 2. */
double market_imv(const double *lmp, size_t T, size_t stride);
/* Mean over B buses of the IMV of each column of lmp (T, B). */
double market_imv_mean(const double *lmp, size_t T, size_t B);

#endif
