/* game_envs.c: what the real market and the training environments share (the fleets' acting,
 * the leader's tariff map and reward), and the followers' and the leader's training
 * environments (docs/MODEL.md, "Followers" and "Leader"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "run/pool.h"
#include "util/common.h"

/* ---- the shared state ---- */

void game_shared_init(GameShared *g, const GameConfig *cfg, const GameWorld *w) {
    memset(g, 0, sizeof *g);
    const HhParams *p = &w->hh;
    g->cfg = cfg;
    g->w = w;
    g->hh = p;
    g->B = p->n_bus;
    g->G = p->n_group;
    g->C = p->n_class;
    g->S = cfg->steps_per_day;
    g->K = cfg->aggregator.action_levels;
    const size_t B = (size_t)g->B, G = (size_t)g->G;
    g->capacity_kwh = sb_calloc(B, sizeof(double));
    g->group_cap_kwh = sb_calloc(G, sizeof(double));
    g->belief = sb_calloc(B * (size_t)g->S, sizeof(double));
    g->belief_mean = sb_calloc(B, sizeof(double));
    g->belief_sd = sb_calloc(B, sizeof(double));
    g->reward_scale = sb_calloc(B, sizeof(double));
    g->soc = sb_calloc(B, sizeof(double));
    g->leader_obs = sb_calloc((size_t)market_leader_obs_dim(g->C), sizeof(float));
    tariff_init(&g->tariff, g->C);
    tariff_init(&g->baseline, g->C);
    for (int b = 0; b < g->B; b++) {
        g->capacity_kwh[b] = cfg->storage ? hh_fleet_capacity_kwh(p, b) : 0.0;
        g->soc[b] = cfg->aggregator.initial_soc;
    }
    for (int k = 0; k < g->G; k++) g->group_cap_kwh[k] = cfg->storage ? p->prosumers[k] * p->storage_kwh[k] : 0.0;
    market_baseline_tariff(p, cfg->utility.fixed_cost_per_day, &g->baseline);
    tariff_copy(&g->tariff, &g->baseline);
}

void game_shared_free(GameShared *g) {
    free(g->capacity_kwh);
    free(g->group_cap_kwh);
    free(g->belief);
    free(g->belief_mean);
    free(g->belief_sd);
    free(g->reward_scale);
    free(g->soc);
    free(g->leader_obs);
    tariff_free(&g->tariff);
    tariff_free(&g->baseline);
    memset(g, 0, sizeof *g);
}

void fleet_buffers_init(FleetBuffers *f, const GameShared *g) {
    const size_t B = (size_t)g->B;
    f->obs_dim = game_follower_obs_dim(g->cfg);
    f->K = g->K;
    f->obs = sb_calloc(B * (size_t)f->obs_dim, sizeof(float));
    f->probs = sb_calloc(B * (size_t)g->K, sizeof(float));
    f->mask = sb_calloc(B * (size_t)g->K, 1);
    f->action = sb_calloc((size_t)g->B, sizeof(double));
    f->fleet_kwh = sb_calloc((size_t)g->B, sizeof(double));
    f->group_kwh = sb_calloc((size_t)g->G, sizeof(double));
}

void fleet_buffers_free(FleetBuffers *f) {
    free(f->obs);
    free(f->probs);
    free(f->mask);
    free(f->action);
    free(f->fleet_kwh);
    free(f->group_kwh);
    memset(f, 0, sizeof *f);
}

/* ---- the followers ---- */

void game_follower_obs(const GameShared *g, const Tariff *t, int b, int hour, double soc, double net_kwh,
                       double progress, float *obs) {
    const GameConfig *c = g->cfg;
    market_follower_obs(g->belief[(size_t)b * g->S + hour], g->belief_mean[b], g->belief_sd[b],
                        c->aggregator.belief_clip, hour, g->S, hh_net_demand_ratio(g->hh, b, net_kwh), soc, t, obs);
    if (c->aggregator.obs_progress) obs[MARKET_FOLLOWER_OBS] = (float)progress;
}

int game_follower_obs_dim(const GameConfig *c) { return MARKET_FOLLOWER_OBS + (c->aggregator.obs_progress != 0); }

double game_follower_play(const GameShared *g, Ppo *p, const float *obs, double soc, Rng *rng, float *probs,
                          unsigned char *mask) {
    const GameConfig *c = g->cfg;
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

typedef struct {
    const GameShared *g;
    Ppo *const *followers;
    const Tariff *t;
    int hour, b0, b1, chunks, per_bus_rng;
    double progress;
    const double *soc;
    const HhStep *hs;
    Rng *rng;
    FleetBuffers *f;
} ActJob;

static void act_one(const ActJob *j, int b) {
    FleetBuffers *f = j->f;
    f->action[b] = 0;
    if (!j->followers || !j->followers[b] || !(j->g->capacity_kwh[b] > 0)) return;
    float *obs = f->obs + (size_t)b * f->obs_dim;
    game_follower_obs(j->g, j->t, b, j->hour, j->soc[b], j->hs->prosumer_kwh[b], j->progress, obs);
    f->action[b] = game_follower_play(j->g, j->followers[b], obs, j->soc[b], j->per_bus_rng ? &j->rng[b] : j->rng,
                                      f->probs + (size_t)b * f->K, f->mask + (size_t)b * f->K);
}

/* Task i: the i-th of `chunks` blocks of buses (a bus acts in a few microseconds: one task per
 * bus would cost more in hand-offs than it saves). */
static void act_chunk(void *ctx, int i) {
    const ActJob *j = ctx;
    int n = j->b1 - j->b0, lo = j->b0 + (int)((long)n * i / j->chunks), hi = j->b0 + (int)((long)n * (i + 1) / j->chunks);
    for (int b = lo; b < hi; b++) act_one(j, b);
}

void game_fleet_actions(const GameShared *g, Ppo *const *followers, const Tariff *t, int hour, double progress,
                        const double *soc, const HhStep *hs, int b0, int b1, Rng *rng, int per_bus_rng,
                        GamePool *pool, FleetBuffers *f) {
    int threads = game_pool_threads(pool), n = b1 - b0;
    int shared_draws = g->cfg->aggregator.play == AGG_PLAY_SAMPLE && !per_bus_rng;
    int chunks = shared_draws || n < 16 ? 1 : threads;
    ActJob j = {g, followers, t, hour, b0, b1, chunks, per_bus_rng, progress, soc, hs, rng, f};
    game_pool_run(chunks > 1 ? pool : NULL, chunks, act_chunk, &j);
}

void game_fleet_apply(const GameShared *g, double *soc, const HhStep *hs, FleetBuffers *f) {
    const HhParams *p = g->hh;
    const double eff_in = p->efficiency, eff_out = hh_efficiency_out(p);
    for (int b = 0; b < g->B; b++) {
        /* Every group of the bus follows the bus's action on its share of the capacity; the
         * bus fleet's energy sums them from the first (one group: that group's bits). */
        int g0 = p->group_first[b], k = p->group_count[b];
        double q = 0, next = soc[b];
        for (int i = g0; i < g0 + k; i++) {
            FleetStep fs;
            fleet_step(soc[b], f->action[b], g->group_cap_kwh[i], eff_in, eff_out, hs->group_kwh[i], &fs);
            f->group_kwh[i] = fs.grid_kwh;
            q = i == g0 ? fs.grid_kwh : q + fs.grid_kwh;
            next = fs.soc_next;
        }
        f->fleet_kwh[b] = q;
        soc[b] = next;
    }
}

static void agg_observe(AggEnv *e, float *obs, unsigned char *mask) {
    const GameShared *g = e->g;
    e->net_kwh = hh_draw_prosumer_kwh(g->hh, g->cfg->train_noise, e->bus, e->hour, &e->rng);
    game_follower_obs(g, &g->tariff, e->bus, e->hour, e->soc, e->net_kwh, (double)e->t / e->len, obs);
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
    const HhParams *p = g->hh;
    double a = c->aggregator.action == AGG_GAUSSIAN ? fleet_clip_action(action[0], e->soc)
                                                    : fleet_clip_action(fleet_level_value((int)action[0], g->K), e->soc);
    FleetStep fs;
    fleet_step(e->soc, a, g->capacity_kwh[e->bus], p->efficiency, hh_efficiency_out(p), e->net_kwh, &fs);
    double price = g->belief[(size_t)e->bus * g->S + e->hour];
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

/* Checkpoint members: PREFIX.rng (4 u8), PREFIX.ints (bus, hour, t, len), PREFIX.state (soc,
 * net_kwh). The pointer to the shared state is the restoring game's. */
static int agg_save(const void *env, Npz *z, const char *prefix, char *err, size_t n) {
    const AggEnv *e = env;
    char name[NPZ_MAX_NAME];
    size_t sh[1] = {4};
    int64_t ints[4] = {e->bus, e->hour, e->t, e->len};
    double st[2] = {e->soc, e->net_kwh};
    snprintf(name, sizeof name, "%s.rng", prefix);
    if (npz_add(z, name, NPY_U8, sh, 1, e->rng.s, err, n)) return -1;
    snprintf(name, sizeof name, "%s.ints", prefix);
    if (npz_add(z, name, NPY_I8, sh, 1, ints, err, n)) return -1;
    sh[0] = 2;
    snprintf(name, sizeof name, "%s.state", prefix);
    return npz_add(z, name, NPY_F8, sh, 1, st, err, n);
}

static int agg_restore(void *env, const Npz *z, const char *prefix, const char *label, char *err, size_t n) {
    AggEnv *e = env;
    char name[NPZ_MAX_NAME];
    size_t sh4[1] = {4}, sh2[1] = {2};
    uint64_t rng[4];
    int64_t ints[4];
    double st[2];
    snprintf(name, sizeof name, "%s.rng", prefix);
    if (npz_get_exact(z, name, NPY_U8, sh4, 1, rng, label, err, n)) return -1;
    snprintf(name, sizeof name, "%s.ints", prefix);
    if (npz_get_exact(z, name, NPY_I8, sh4, 1, ints, label, err, n)) return -1;
    snprintf(name, sizeof name, "%s.state", prefix);
    if (npz_get_exact(z, name, NPY_F8, sh2, 1, st, label, err, n)) return -1;
    if (ints[0] != e->bus || ints[1] < 0 || ints[1] >= e->g->S || ints[2] < 0 || ints[2] > e->len || ints[3] != e->len ||
        !(st[0] >= 0 && st[0] <= 1))
        return sb_err(err, n, "%s: member %s: values do not fit this game", label, name);
    memcpy(e->rng.s, rng, sizeof rng);
    e->hour = (int)ints[1];
    e->t = (int)ints[2];
    e->soc = st[0];
    e->net_kwh = st[1];
    return 0;
}

const EnvClass agg_env_class_discrete = {
    .name = "aggregator",
    .obs_dim = MARKET_FOLLOWER_OBS,
    .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = 0, .masked = 1}, /* n set per game */
    .reset = agg_reset,
    .step = agg_step,
    .size = sizeof(AggEnv),
    .seed = agg_seed,
    .save = agg_save,
    .restore = agg_restore,
};

const EnvClass agg_env_class_gaussian = {
    .name = "aggregator-gaussian",
    .obs_dim = MARKET_FOLLOWER_OBS,
    .space = {.kind = SPACE_BOX, .dim = 1, .low = {-1.0f}, .high = {1.0f}},
    .reset = agg_reset,
    .step = agg_step,
    .size = sizeof(AggEnv),
    .seed = agg_seed,
    .save = agg_save,
    .restore = agg_restore,
};

/* ---- the leader ---- */

double game_leader_reward(const GameConfig *c, const HhParams *hh, const MarketEei *e, double revenue, double days) {
    double gap;
    if (c->utility.eei_gap_groups) {
        double w = 0, s = 0;
        for (int k = 0; k < hh->n_class; k++) {
            double n = (double)hh_class_prosumers(hh, k);
            w += n;
            s += n * fabs(e->prosumer[k] - e->consumer_mean);
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

double game_balancing_consumer_charge(const GameConfig *c, const HhParams *p, const Tariff *t) {
    /* Expected energy per day from the mean shapes (noise has mean 1; the batteries move
     * energy between hours and add only their losses), kWh. */
    double e_cons = 0, e_pros = 0, n_cons = 0, fixed_pros = 0;
    for (int b = 0; b < p->n_bus; b++) {
        e_cons += p->consumers[b] * hh_shape_mean(p->shape_consumer, p->steps_per_day);
        e_pros += (double)hh_bus_prosumers(p, b) * hh_shape_mean(p->shape_prosumer, p->steps_per_day);
        n_cons += p->consumers[b];
    }
    for (int g = 0; g < p->n_group; g++) fixed_pros += p->prosumers[g] * t->fixed_prosumer[p->group_class[g]];
    double per_day = p->steps_per_day * p->demand_scale_kwh;
    double energy_margin = t->alpha_buy * (e_cons + e_pros) * per_day;
    double f = (c->utility.fixed_cost_per_day - energy_margin - fixed_pros) / n_cons;
    const TariffBounds *bd = &c->utility.bounds;
    return f < bd->fixed_lo ? bd->fixed_lo : f > bd->fixed_hi ? bd->fixed_hi : f;
}

void game_leader_tariff(const GameShared *g, const float *act, Tariff *t) {
    /* [R] The policy acts in [-1, 1]^(C+3) (SB3 advises a symmetric, normalised Box: its
     * Gaussian starts at std 1); each entry maps linearly onto its bounds. With
     * utility.action_map: tanh the Gaussian is not clipped but squashed by tanh first, so a
     * mean beyond a bound still moves the tariff (clipping makes it flat there). */
    const TariffBounds *bd = &g->cfg->utility.bounds;
    float v[ENV_MAX_ACT];
    int K = market_tariff_dim(g->C);
    for (int k = 0; k < K; k++) {
        double lo = k < 2 ? bd->alpha_lo : bd->fixed_lo, hi = k < 2 ? bd->alpha_hi : bd->fixed_hi;
        double a = g->cfg->utility.action_tanh ? tanh(act[k]) : fmin(fmax(act[k], -1.0), 1.0);
        v[k] = (float)(lo + 0.5 * (a + 1.0) * (hi - lo));
    }
    market_tariff_from_action(v, bd, t);
    if (g->cfg->utility.consumer_charge_balancing) t->fixed_consumer = game_balancing_consumer_charge(g->cfg, g->hh, t);
}

void game_tariff_to_action(const GameShared *g, const Tariff *t, float *act) {
    const TariffBounds *bd = &g->cfg->utility.bounds;
    float v[ENV_MAX_ACT];
    int K = market_tariff_dim(g->C);
    market_tariff_to_vec(t, v);
    for (int k = 0; k < K; k++) {
        double lo = k < 2 ? bd->alpha_lo : bd->fixed_lo, hi = k < 2 ? bd->alpha_hi : bd->fixed_hi;
        double a = hi > lo ? 2.0 * (v[k] - lo) / (hi - lo) - 1.0 : 0.0;
        if (g->cfg->utility.action_tanh) a = atanh(fmin(fmax(a, -0.999999), 0.999999));
        act[k] = (float)a;
    }
}

int lead_env_init(LeadEnv *e, const GameShared *g, Ppo **followers, GamePool *pool, char *err, size_t n) {
    memset(e, 0, sizeof *e);
    e->g = g;
    e->followers = followers;
    e->pool = pool;
    e->len = g->cfg->utility.episode_periods;
    if (market_clear_setup(&e->clear, g->w, g->cfg->voll, err, n)) return -1;
    e->soc = sb_calloc((size_t)g->B, sizeof(double));
    tariff_init(&e->view, g->C);
    hh_step_alloc(&e->hs, g->hh);
    fleet_buffers_init(&e->fb, g);
    e->lmp = sb_calloc((size_t)g->B, sizeof(double));
    market_ledger_init(&e->led, g->B, g->C, g->S);
    market_eei_init(&e->eei, g->B, g->C);
    return 0;
}

void lead_env_free(LeadEnv *e) {
    market_clear_cleanup(&e->clear);
    free(e->soc);
    tariff_free(&e->view);
    hh_step_free(&e->hs);
    fleet_buffers_free(&e->fb);
    free(e->lmp);
    market_ledger_free(&e->led);
    market_eei_free(&e->eei);
    memset(e, 0, sizeof *e);
}

static void lead_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    LeadEnv *e = env;
    const GameShared *g = e->g;
    e->t = 0;
    memcpy(e->soc, g->soc, (size_t)g->B * sizeof(double));
    memcpy(obs, g->leader_obs, (size_t)market_leader_obs_dim(g->C) * sizeof(float));
}

static void lead_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                      int *terminated, int *truncated) {
    (void)mask;
    LeadEnv *e = env;
    const GameShared *g = e->g;
    const GameConfig *c = g->cfg;
    const int S = g->S, P = game_period_steps(c), cycle = c->aggregator.episode_days * S;
    /* The followers see the tariff being evaluated. */
    game_leader_tariff(g, action, &e->view);
    market_ledger_reset(&e->led);
    for (int k = 0; k < P; k++) {
        int hour = k % S;
        hh_draw_step(g->hh, c->train_noise, hour, &e->rng, &e->hs);
        game_fleet_actions(g, e->followers, &e->view, hour, (double)(k % cycle) / cycle, e->soc, &e->hs, 0, g->B,
                           &e->rng, 0, e->pool, &e->fb);
        game_fleet_apply(g, e->soc, &e->hs, &e->fb);
        market_clear(&e->clear, hour, &e->hs, e->fb.fleet_kwh, 1, e->lmp, NULL);
        market_ledger_step(&e->led, g->hh, &e->view, e->lmp, e->fb.group_kwh, e->hs.consumer_kwh);
    }
    market_eei(&e->led, g->hh, &e->eei);
    double days = market_ledger_days(&e->led);
    double shortfall = market_shortfall(e->led.revenue, c->utility.fixed_cost_per_day, days);
    *reward = (float)game_leader_reward(c, g->hh, &e->eei, e->led.revenue, days);
    market_leader_obs(&e->eei, market_ledger_mean_lmp(&e->led), c->utility.obs_lmp_scale, shortfall, &e->view, obs);
    e->t++;
    *terminated = 0;
    *truncated = e->t >= e->len;
}

static void lead_seed(void *env, uint64_t seed, uint64_t stream) {
    LeadEnv *e = env;
    rng_seed(&e->rng, seed, stream);
}

/* Checkpoint members: PREFIX.rng, PREFIX.ints (t, len), PREFIX.soc (B). The solver's warm
 * start is not state: every leader phase starts cold. */
static int lead_save(const void *env, Npz *z, const char *prefix, char *err, size_t n) {
    const LeadEnv *e = env;
    char name[NPZ_MAX_NAME];
    size_t sh[1] = {4};
    snprintf(name, sizeof name, "%s.rng", prefix);
    if (npz_add(z, name, NPY_U8, sh, 1, e->rng.s, err, n)) return -1;
    int64_t ints[2] = {e->t, e->len};
    sh[0] = 2;
    snprintf(name, sizeof name, "%s.ints", prefix);
    if (npz_add(z, name, NPY_I8, sh, 1, ints, err, n)) return -1;
    sh[0] = (size_t)e->g->B;
    snprintf(name, sizeof name, "%s.soc", prefix);
    return npz_add(z, name, NPY_F8, sh, 1, e->soc, err, n);
}

static int lead_restore(void *env, const Npz *z, const char *prefix, const char *label, char *err, size_t n) {
    LeadEnv *e = env;
    char name[NPZ_MAX_NAME];
    size_t sh4[1] = {4}, sh2[1] = {2}, shb[1] = {(size_t)e->g->B};
    uint64_t rng[4];
    int64_t ints[2];
    double *soc = sb_malloc(shb[0] * sizeof *soc);
    int rc = -1;
    snprintf(name, sizeof name, "%s.rng", prefix);
    if (npz_get_exact(z, name, NPY_U8, sh4, 1, rng, label, err, n)) goto done;
    snprintf(name, sizeof name, "%s.ints", prefix);
    if (npz_get_exact(z, name, NPY_I8, sh2, 1, ints, label, err, n)) goto done;
    snprintf(name, sizeof name, "%s.soc", prefix);
    if (npz_get_exact(z, name, NPY_F8, shb, 1, soc, label, err, n)) goto done;
    if (ints[0] < 0 || ints[0] > e->len || ints[1] != e->len) {
        sb_err(err, n, "%s: member %s.ints: values do not fit this game", label, prefix);
        goto done;
    }
    memcpy(e->rng.s, rng, sizeof rng);
    e->t = (int)ints[0];
    memcpy(e->soc, soc, shb[0] * sizeof *soc);
    rc = 0;
done:
    free(soc);
    return rc;
}

const EnvClass lead_env_class = {
    .name = "utility",
    .obs_dim = 0, /* set per game: 2C + 6 */
    .space = {.kind = SPACE_BOX, .dim = 0},
    .reset = lead_reset,
    .step = lead_step,
    .size = sizeof(LeadEnv),
    .seed = lead_seed,
    .save = lead_save,
    .restore = lead_restore,
};
