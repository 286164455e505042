/* game_envs.c: the followers' and the leader's training environments (SPEC 4 and 5). */
#include <math.h>
#include <string.h>

#include "game/game.h"
#include "util/common.h"

/* ---- follower ---- */

void game_follower_obs(const GameShared *g, int b, int hour, double soc, double net_kwh, double progress,
                       float *obs) {
    const GameConfig *c = g->cfg;
    market_follower_obs(g->belief[b][hour], g->belief_mean[b], g->belief_sd[b], c->aggregator.belief_clip, hour,
                        g->S, hh_net_demand_ratio(&c->hh, b, net_kwh), soc, &g->tariff, obs);
    if (c->aggregator.obs_progress) obs[MARKET_FOLLOWER_OBS] = (float)progress;
}

int game_follower_obs_dim(const GameConfig *c) { return MARKET_FOLLOWER_OBS + (c->aggregator.obs_progress != 0); }

double game_leader_reward(const GameConfig *c, const MarketEei *e, double revenue, double days) {
    double gap;
    if (c->utility.eei_gap_groups) {
        double w = 0, s = 0;
        for (int b = 0; b < c->hh.n_bus; b++) {
            w += c->hh.prosumers[b];
            s += c->hh.prosumers[b] * fabs(e->prosumer[b] - e->consumer_mean);
        }
        gap = s / w;
    } else {
        gap = fabs(e->prosumer_mean - e->consumer_mean);
    }
    double cost = c->utility.fixed_cost_per_day * days;
    double shortfall = market_shortfall(revenue, c->utility.fixed_cost_per_day, days);
    double surplus = cost > 0 ? fmax(0.0, revenue - cost) / cost : 0.0;
    return -100.0 * gap - c->utility.kappa * shortfall - c->utility.surplus_penalty * surplus;
}

double game_follower_play(const GameShared *g, Ppo *p, int b, const float *obs, double soc, Rng *rng,
                          float *probs, unsigned char *mask) {
    const GameConfig *c = g->cfg;
    (void)b;
    if (c->aggregator.action == AGG_GAUSSIAN) {
        float a;
        ppo_predict(p, obs, NULL, 1, c->aggregator.play != AGG_PLAY_SAMPLE, &a, NULL, rng);
        return fleet_clip_action(a, soc);
    }
    fleet_mask(soc, g->K, c->aggregator.mask_tol, mask);
    if (c->aggregator.play == AGG_PLAY_SAMPLE) {
        float k;
        ppo_predict(p, obs, mask, 1, 0, &k, NULL, rng);
        return fleet_clip_action(fleet_level_value((int)k, g->K), soc);
    }
    ppo_action_probs(p, obs, mask, 1, probs);
    if (c->aggregator.play == AGG_PLAY_MODE)
        return fleet_clip_action(fleet_level_value(fleet_mode_level(probs, mask, g->K), g->K), soc);
    return fleet_expected_level(probs, mask, g->K, soc);
}

static void agg_observe(AggEnv *e, float *obs, unsigned char *mask) {
    const GameShared *g = e->g;
    e->net_kwh = hh_draw_prosumer_kwh(&g->cfg->hh, g->cfg->train_noise, e->bus, e->hour, &e->rng);
    game_follower_obs(g, e->bus, e->hour, e->soc, e->net_kwh, (double)e->t / e->len, obs);
    if (mask) fleet_mask(e->soc, g->K, g->cfg->aggregator.mask_tol, mask);
}

static void agg_reset(void *env, float *obs, unsigned char *mask) {
    AggEnv *e = env;
    e->hour = 0;
    e->t = 0;
    e->soc = rng_uniform(&e->rng); /* U(0, 1) [A] */
    agg_observe(e, obs, mask);
}

static void agg_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                     int *terminated, int *truncated) {
    AggEnv *e = env;
    const GameShared *g = e->g;
    const GameConfig *c = g->cfg;
    double a = c->aggregator.action == AGG_GAUSSIAN ? fleet_clip_action(action[0], e->soc)
                                                    : fleet_clip_action(fleet_level_value((int)action[0], g->K), e->soc);
    FleetStep fs;
    fleet_step(e->soc, a, g->capacity_kwh[e->bus], c->hh.efficiency, hh_efficiency_out(&c->hh), e->net_kwh, &fs);
    double price = g->belief[e->bus][e->hour];
    double r = market_follower_reward(fs.grid_kwh, price, &g->tariff, g->reward_scale[e->bus]);
    if (c->aggregator.reward_battery) /* minus the same step's bill without the battery */
        r -= market_follower_reward(e->net_kwh, price, &g->tariff, g->reward_scale[e->bus]);
    *reward = (float)r;
    e->soc = fs.soc_next;
    e->hour = (e->hour + 1) % g->S;
    e->t++;
    /* A time limit (PPO bootstraps it) unless the config makes it terminal [A]. */
    *terminated = c->aggregator.episode_terminate && e->t >= e->len;
    *truncated = !*terminated && e->t >= e->len;
    agg_observe(e, obs, mask);
}

static void agg_seed(void *env, uint64_t seed, uint64_t stream) {
    AggEnv *e = env;
    rng_seed(&e->rng, seed, stream);
}

const EnvClass agg_env_class_discrete = {
    .name = "aggregator",
    .obs_dim = MARKET_FOLLOWER_OBS,
    .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = 0, .masked = 1}, /* n set per game */
    .reset = agg_reset,
    .step = agg_step,
    .size = sizeof(AggEnv),
    .seed = agg_seed,
};

const EnvClass agg_env_class_gaussian = {
    .name = "aggregator-gaussian",
    .obs_dim = MARKET_FOLLOWER_OBS,
    .space = {.kind = SPACE_BOX, .dim = 1, .low = {-1.0f}, .high = {1.0f}},
    .reset = agg_reset,
    .step = agg_step,
    .size = sizeof(AggEnv),
    .seed = agg_seed,
};

/* ---- leader ---- */

double game_balancing_consumer_charge(const GameConfig *c, const Tariff *t) {
    /* Expected energy per day from the mean shapes (noise has mean 1; the batteries move
     * energy between hours and add only their losses), kWh. */
    const HhParams *p = &c->hh;
    double e_cons = 0, e_pros = 0, n_cons = 0, fixed_pros = 0;
    for (int b = 0; b < p->n_bus; b++) {
        e_cons += p->consumers[b] * hh_shape_mean(p->shape_consumer, p->steps_per_day);
        e_pros += p->prosumers[b] * hh_shape_mean(p->shape_prosumer, p->steps_per_day);
        n_cons += p->consumers[b];
        fixed_pros += p->prosumers[b] * t->fixed_prosumer[b];
    }
    double per_day = p->steps_per_day * p->demand_scale_kwh;
    double energy_margin = t->alpha_buy * (e_cons + e_pros) * per_day;
    double f = (c->utility.fixed_cost_per_day - energy_margin - fixed_pros) / n_cons;
    const TariffBounds *bd = &c->utility.bounds;
    return f < bd->fixed_lo ? bd->fixed_lo : f > bd->fixed_hi ? bd->fixed_hi : f;
}

void game_leader_tariff(const GameShared *g, const float *act, Tariff *t) {
    /* [R] The policy acts in [-1, 1]^(B+3) (SB3 advises a symmetric, normalised Box: its
     * Gaussian starts at std 1); each entry maps linearly onto its bounds. With
     * utility.action_map: tanh the Gaussian is not clipped but squashed by tanh first, so a
     * mean beyond a bound still moves the tariff (clipping makes it flat there). */
    const TariffBounds *bd = &g->cfg->utility.bounds;
    float v[HH_MAX_BUS + 3];
    int K = market_tariff_dim(g->B);
    for (int k = 0; k < K; k++) {
        double lo = k < 2 ? bd->alpha_lo : bd->fixed_lo, hi = k < 2 ? bd->alpha_hi : bd->fixed_hi;
        double a = g->cfg->utility.action_tanh ? tanh(act[k]) : fmin(fmax(act[k], -1.0), 1.0);
        v[k] = (float)(lo + 0.5 * (a + 1.0) * (hi - lo));
    }
    market_tariff_from_action(v, g->B, bd, t);
    if (g->cfg->utility.consumer_charge_balancing) t->fixed_consumer = game_balancing_consumer_charge(g->cfg, t);
}

void game_tariff_to_action(const GameShared *g, const Tariff *t, float *act) {
    const TariffBounds *bd = &g->cfg->utility.bounds;
    float v[HH_MAX_BUS + 3];
    int K = market_tariff_dim(g->B);
    market_tariff_to_vec(t, g->B, v);
    for (int k = 0; k < K; k++) {
        double lo = k < 2 ? bd->alpha_lo : bd->fixed_lo, hi = k < 2 ? bd->alpha_hi : bd->fixed_hi;
        double a = hi > lo ? 2.0 * (v[k] - lo) / (hi - lo) - 1.0 : 0.0;
        if (g->cfg->utility.action_tanh) a = atanh(fmin(fmax(a, -0.999999), 0.999999));
        act[k] = (float)a;
    }
}

static void lead_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    LeadEnv *e = env;
    const GameShared *g = e->g;
    e->t = 0;
    memcpy(e->soc, g->soc, sizeof e->soc);
    memcpy(obs, g->leader_obs, (size_t)market_leader_obs_dim(g->B) * sizeof(float));
}

static void lead_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                      int *terminated, int *truncated) {
    (void)mask;
    LeadEnv *e = env;
    const GameShared *g = e->g;
    const GameConfig *c = g->cfg;
    const int B = g->B, S = g->S, P = game_period_steps(c);
    /* The followers see the tariff being evaluated: a private copy of the shared state. */
    GameShared view = *g;
    game_leader_tariff(g, action, &view.tariff);
    MarketLedger led;
    market_ledger_reset(&led, B, S);
    float fobs[GAME_FOLLOWER_OBS_MAX], probs[1024];
    unsigned char fmask[1024];
    SB_ASSERT(g->K <= 1024);
    double lmp[HH_MAX_BUS], fleet_kwh[HH_MAX_BUS];
    for (int k = 0; k < P; k++) {
        int hour = k % S;
        HhStep hs;
        hh_draw_step(&c->hh, c->train_noise, hour, &e->rng, &hs);
        for (int b = 0; b < B; b++) {
            double a = 0;
            if (g->capacity_kwh[b] > 0) {
                game_follower_obs(&view, b, hour, e->soc[b], hs.prosumer_kwh[b],
                                  (double)(k % (c->aggregator.episode_days * S)) / (c->aggregator.episode_days * S), fobs);
                a = game_follower_play(&view, e->followers[b], b, fobs, e->soc[b], &e->rng, probs, fmask);
            }
            FleetStep fs;
            fleet_step(e->soc[b], a, g->capacity_kwh[b], c->hh.efficiency, hh_efficiency_out(&c->hh), hs.prosumer_kwh[b], &fs);
            e->soc[b] = fs.soc_next;
            fleet_kwh[b] = fs.grid_kwh;
        }
        hh_bus_load_mwh(&c->hh, g->grid_bus, hs.consumer_kwh, fleet_kwh, e->load, dispatch_n_bus(e->ds));
        for (int u = 0; u < c->hh.n_solar; u++) e->pmax[g->solar_gen[u]] = hs.solar_mwh[u];
        double t0 = sb_now();
        dispatch_update_load(e->ds, e->load);
        dispatch_update_gen_bounds(e->ds, e->pmin, e->pmax);
        dispatch_solve(e->ds);
        e->dispatch_s += sb_now() - t0;
        const DispatchResult *r = dispatch_result(e->ds);
        for (int b = 0; b < B; b++) lmp[b] = r->lmp[g->grid_bus[b]];
        market_ledger_step(&led, &c->hh, &view.tariff, lmp, fleet_kwh, hs.consumer_kwh);
    }
    MarketEei eei;
    market_eei(&led, &c->hh, &eei);
    double days = market_ledger_days(&led);
    double shortfall = market_shortfall(led.revenue, c->utility.fixed_cost_per_day, days);
    *reward = (float)game_leader_reward(c, &eei, led.revenue, days);
    market_leader_obs(&eei, B, market_ledger_mean_lmp(&led), c->utility.obs_lmp_scale, shortfall, &view.tariff,
                      obs);
    e->t++;
    *terminated = 0;
    *truncated = e->t >= e->len;
}

static void lead_seed(void *env, uint64_t seed, uint64_t stream) {
    LeadEnv *e = env;
    rng_seed(&e->rng, seed, stream);
}

const EnvClass lead_env_class = {
    .name = "utility",
    .obs_dim = 0, /* set per game: 2B + 6 */
    .space = {.kind = SPACE_BOX, .dim = 0},
    .reset = lead_reset,
    .step = lead_step,
    .size = sizeof(LeadEnv),
    .seed = lead_seed,
};
