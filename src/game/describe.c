/* describe.c: the tariff game's agents described for meta.json: each observation with its
 * formula and constants, and how the policy's output becomes the action the game plays.
 *
 * The formulas restate what the game computes: the aggregators' observation is
 * game_follower_obs (market_follower_obs, then the optional progress), their action
 * game_follower_play (fleet_mask, fleet_expected_level); the utility's observation is
 * market_leader_obs, its action game_leader_tariff (market_tariff_from_action and
 * game_balancing_consumer_charge). tests/test_policy.c checks the descriptions against
 * those functions, so a change there that is not made here fails a test.
 *
 * Legend: B household buses, C prosumer income classes, S steps per day, K action levels. */
#include "game/describe.h"

#include <stdio.h>

#include "util/common.h"

/* market_follower_obs writes the fleet's SoC at this index. */
#define FOLLOWER_OBS_SOC 3

static PspecObs *obs(Pspec *s, int i, const char *name, const char *unit, const char *formula) {
    return pspec_describe_obs(s, i, name, unit, formula);
}

static void describe_aggregator(const GameShared *g, int b, Pspec *s) {
    const GameConfig *c = g->cfg;
    const HhParams *hh = g->hh;
    SB_ASSERT(s->obs_dim == game_follower_obs_dim(c));
    PspecObs *o = obs(s, 0, "belief", "sd of the initial beliefs",
                      "clip((belief - mean) / sd, -clip, clip); belief: the aggregator's price belief for this "
                      "step's hour, $/MWh; it starts at the no-storage LMP of the mean day and after each real step "
                      "moves toward that step's LMP: belief -= belief_step * (belief - LMP) / sqrt(day + 1), day "
                      "0-based; mean, sd: mean and population sd of the initial beliefs over the day, $/MWh");
    pspec_obs_const(o, "mean", g->belief_mean[b]);
    pspec_obs_const(o, "sd", g->belief_sd[b]);
    pspec_obs_const(o, "clip", c->aggregator.belief_clip);
    pspec_obs_const(o, "belief_step", c->aggregator.belief_step);
    o = obs(s, 1, "hour", "1",
            "hour / steps_per_day; hour: the step's index in its day, 0 .. steps_per_day - 1 (step h covers the "
            "hours h * step_hours .. (h + 1) * step_hours)");
    pspec_obs_const(o, "steps_per_day", g->S);
    pspec_obs_const(o, "step_hours", c->step_hours);
    o = obs(s, 2, "net_demand_ratio", "1",
            "net_kwh / (prosumers * demand_scale_kwh); net_kwh: the prosumers' net demand at this bus in this step "
            "before their batteries (consumption after rooftop solar), kWh, group total");
    pspec_obs_const(o, "prosumers", (double)hh_bus_prosumers(hh, b));
    pspec_obs_const(o, "demand_scale_kwh", hh->demand_scale_kwh);
    o = obs(s, FOLLOWER_OBS_SOC, "soc", "fraction of capacity_kwh",
            "the fleet's state of charge before this step's action, in [0, 1]; capacity_kwh = the sum over the "
            "bus's prosumer groups of prosumers * storage_kwh");
    pspec_obs_const(o, "capacity_kwh", g->capacity_kwh[b]);
    obs(s, 4, "alpha_buy", "$/kWh",
        "the tariff in force: added to LMP/1000 for energy bought from the grid (the utility's played alpha_buy)");
    obs(s, 5, "alpha_sell", "$/kWh",
        "the tariff in force: added to LMP/1000 for energy sold to the grid (the utility's played alpha_sell)");
    if (c->aggregator.obs_progress) {
        o = obs(s, MARKET_FOLLOWER_OBS, "progress", "1",
                "(t mod (episode_days * steps_per_day)) / (episode_days * steps_per_day); t: the real market's "
                "step index (in training, the step of the episode)");
        pspec_obs_const(o, "episode_days", c->aggregator.episode_days);
        pspec_obs_const(o, "steps_per_day", g->S);
    }

    PspecPlay *p = &s->play;
    int gaussian = c->aggregator.action == AGG_GAUSSIAN;
    p->kind = gaussian ? PSPEC_PLAY_RAW : PSPEC_PLAY_LEVELS;
    /* game_follower_play: mean plays the expected level, mode the most probable one; a
     * Gaussian plays its mean for both. */
    p->rule = c->aggregator.play == AGG_PLAY_SAMPLE                ? PSPEC_RULE_SAMPLE
              : c->aggregator.play == AGG_PLAY_MEAN && !gaussian ? PSPEC_RULE_EXPECTED
                                                                   : PSPEC_RULE_DETERMINISTIC;
    pspec_play_entry(p, 0, "a", "fraction of capacity_kwh");
    p->level_lo = -1.0; /* fleet_level_value: -1 + 2k/(K-1) */
    p->level_hi = 1.0;
    p->soc_range = 1;
    p->soc_obs = FOLLOWER_OBS_SOC;
    p->soc_tol = c->aggregator.mask_tol;
    snprintf(p->note, sizeof p->note,
             "a > 0 charges the fleet by a * capacity_kwh (%.10g kWh) this step, drawing that / %.10g from the grid; "
             "a < 0 discharges, delivering |a| * capacity_kwh * %.10g (config aggregator.play: %s)",
             g->capacity_kwh[b], hh->efficiency, hh_efficiency_out(hh), agg_play_str(c->aggregator.play));
}

/* Every bus's consumers share one income (households from the grid's loads, the paper's table). */
static int one_consumer_income(const HhParams *hh) {
    for (int b = 1; b < hh->n_bus; b++)
        if (hh->consumer_income[b] != hh->consumer_income[0]) return 0;
    return 1;
}

static void describe_utility(const GameShared *g, Pspec *s) {
    const GameConfig *c = g->cfg;
    const HhParams *hh = g->hh;
    const UtilityConfig *u = &c->utility;
    const int B = g->B, C = g->C;
    char name[PSPEC_NAME];
    SB_ASSERT(s->obs_dim == market_leader_obs_dim(C) && s->kind == PSPEC_BOX && s->size == market_tariff_dim(C));
    for (int k = 0; k < C; k++) {
        snprintf(name, sizeof name, "eei_prosumer_%s", hh->class_name[k]);
        PspecObs *o = obs(s, k, name, "% of income",
                          "100 * (bill / prosumers) * 365 / days / income over the last leader period (before the "
                          "first: the mean day under the baseline tariff); bill: the energy bills of this income "
                          "class's prosumer groups at every bus (each group's grid energy q per step at LMP/1000 + "
                          "alpha_buy if q > 0, LMP/1000 + alpha_sell if q < 0) plus their fixed charges, $");
        pspec_obs_const(o, "prosumers", (double)hh_class_prosumers(hh, k));
        pspec_obs_const(o, "income", hh->class_income[k]);
        pspec_obs_const(o, "days", c->leader_period_days);
    }
    long consumers = 0;
    for (int b = 0; b < B; b++) consumers += hh->consumers[b];
    PspecObs *o = obs(s, C, "eei_consumer", "% of income",
                      "100 * sum_b consumers_b * eei_b / sum_b consumers_b, eei_b = (bill_b / consumers_b) * 365 / "
                      "days / consumer_income_b: each bus's consumers' bills as the prosumers' over the same period");
    pspec_obs_const(o, "consumers", (double)consumers);
    if (one_consumer_income(hh)) {
        pspec_obs_const(o, "consumer_income", hh->consumer_income[0]);
    } else {
        /* One income per bus: as many as fit (the config's households table has them all). */
        for (int b = 0; b < B && 2 * b + 2 < PSPEC_MAX_CONST; b++) {
            snprintf(name, sizeof name, "consumers_%s", hh->bus_name[b]);
            pspec_obs_const(o, name, hh->consumers[b]);
            snprintf(name, sizeof name, "consumer_income_%s", hh->bus_name[b]);
            pspec_obs_const(o, name, hh->consumer_income[b]);
        }
    }
    pspec_obs_const(o, "days", c->leader_period_days);
    o = obs(s, C + 1, "mean_lmp", "$/MWh / lmp_scale",
            "the mean LMP over the last leader period's steps and the household buses, $/MWh, divided by lmp_scale");
    pspec_obs_const(o, "lmp_scale", u->obs_lmp_scale);
    o = obs(s, C + 2, "shortfall", "1",
            "max(0, fixed_cost_per_day * days - revenue) / (fixed_cost_per_day * days); revenue: the utility's "
            "margins (alpha_buy per kWh bought, alpha_sell per kWh sold) plus the fixed charges collected over the "
            "last leader period, $");
    pspec_obs_const(o, "fixed_cost_per_day", u->fixed_cost_per_day);
    pspec_obs_const(o, "days", c->leader_period_days);

    /* The tariff: observed as in force, played as the policy sets it. Order of
     * market_tariff_to_vec: alpha_buy, alpha_sell, fixed_prosumer[C], fixed_consumer. */
    PspecPlay *p = &s->play;
    p->kind = PSPEC_PLAY_AFFINE;
    p->rule = PSPEC_RULE_DETERMINISTIC; /* game.c: ppo_predict(deterministic) */
    p->tanh = u->action_tanh;
    const TariffBounds *bd = &u->bounds;
    for (int k = 0; k < market_tariff_dim(C); k++) {
        const char *unit = k < 2 ? "$/kWh" : "$/household/day";
        if (k == 0) snprintf(name, sizeof name, "alpha_buy");
        else if (k == 1) snprintf(name, sizeof name, "alpha_sell");
        else if (k < 2 + C) snprintf(name, sizeof name, "fixed_prosumer_%s", hh->class_name[k - 2]);
        else snprintf(name, sizeof name, "fixed_consumer");
        pspec_play_entry(p, k, name, unit);
        p->low[k] = k < 2 ? bd->alpha_lo : bd->fixed_lo;
        p->high[k] = k < 2 ? bd->alpha_hi : bd->fixed_hi;
        obs(s, C + 3 + k, name, unit, "the tariff in force (the entry the utility played, see \"play\")");
    }
    p->sell = bd->sell_rule == MARKET_SELL_SWAP ? PSPEC_SELL_SWAP : PSPEC_SELL_CLIP;
    p->buy = 0;
    p->sell_idx = 1;
    snprintf(p->note, sizeof p->note,
             "alpha: added to LMP/1000 for every kWh bought (alpha_buy) or sold (alpha_sell) by every household; "
             "fixed charges: $ per household per day, accrued per step; the tariff holds for leader_period_days = %d",
             c->leader_period_days);
    if (u->consumer_charge_balancing) {
        /* game_balancing_consumer_charge: (F - alpha_buy * E - sum_c prosumers_c fp_c) / consumers,
         * E the expected energy of every household per day (mean shapes, noise mean 1). */
        double e_households = 0, n_cons = 0;
        for (int b = 0; b < B; b++) {
            e_households += hh->consumers[b] * hh_shape_mean(hh->shape_consumer, hh->steps_per_day);
            e_households += (double)hh_bus_prosumers(hh, b) * hh_shape_mean(hh->shape_prosumer, hh->steps_per_day);
            n_cons += hh->consumers[b];
        }
        double e_day = e_households * hh->steps_per_day * hh->demand_scale_kwh;
        p->has_derived = 1;
        p->derived = C + 2;
        p->d_const = u->fixed_cost_per_day;
        p->d_coef[0] = -e_day;
        for (int k = 0; k < C; k++) p->d_coef[2 + k] = -(double)hh_class_prosumers(hh, k);
        p->d_div = n_cons;
        p->d_low = bd->fixed_lo;
        p->d_high = bd->fixed_hi;
        snprintf(p->d_note, sizeof p->d_note,
                 "utility.consumer_charge: balancing: the consumers' fixed charge recovers fixed_cost_per_day "
                 "(%.10g $/day) given the rest of the tariff, on the expected energy of every household (%.10g "
                 "kWh/day, mean shapes) at alpha_buy; the policy's own entry is not used",
                 u->fixed_cost_per_day, e_day);
    }
}

void game_describe(const GameShared *g, int b, Pspec *s) {
    if (b < 0) describe_utility(g, s);
    else describe_aggregator(g, b, s);
}

void game_describe_emit(Json *j, const GameShared *g, const Ppo *p, const char *name, int b) {
    Pspec ps;
    ppo_pspec(p, name, b < 0 ? "none" : "soc_range", &ps);
    game_describe(g, b, &ps);
    pspec_emit(j, NULL, &ps);
    pspec_free(&ps);
}
