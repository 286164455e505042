/* test_game_envs.c: the game's training environments stepped by hand with fixed policies.
 * The followers' environment (AggEnv: prices are the beliefs, rewards the fleet's bill
 * against the bill without its battery, 3-day episodes) and the leader's (LeadEnv: one step
 * simulates a leader period of the market with the followers frozen; reward from the
 * period's EEIs and revenue), against values worked out from the model in the comments; and
 * the game's beliefs (their start on the mean day, statistics, the reward scale they give, and
 * their update from the real market's recorded LMPs); and which noise mode the training
 * environments draw with.
 *
 * Every draw is made deterministic by a degenerate noise, triangular(1, 1, 1): each
 * household uses exactly shape x demand_scale_kwh, each solar unit capacity x factor.
 * Paper population: prosumers 1000, 500, 300 with 30, 60, 100 kWh (every fleet 30,000
 * kWh), 3000 consumers per bus; efficiency 0.8 on charging only; 16.667 kWh per household
 * per step at shape 1. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "config/game_config.h"
#include "game/game.h"
#include "game/game_internal.h" /* a game's beliefs and LMP history */
#include "game/world.h"
#include "testutil.h"

static const double SHAPE_C[8] = {.5567, .4700, .7933, .8933, .9500, .9967, .9900, .8100};
static const double SHAPE_P[8] = {.5633, .5567, .6333, .6733, .6700, .7100, .8000, .7333};
static const double SHAPE_S[8] = {0, 0, .2567, .7633, .9000, .4733, .0200, 0};
static const double PROS[3] = {1000, 500, 300}, INCOME[3] = {25000, 45000, 65000};

static void load(GameConfig *c, GameWorld *w) {
    char err[1024];
    cr_assert_eq(game_config_load("configs/paper.yaml", c, err, sizeof err), 0, "%s", err);
    c->hh.noise_low = c->hh.noise_mode = c->hh.noise_high = 1.0;
    cr_assert_eq(game_world_load(w, c, err, sizeof err), 0, "%s", err);
}

/* ---- the followers' environment ---- */

/* Bus b1's beliefs 30 25 20 15 20 40 60 50 $/MWh: mean 260/8 = 32.5; deviations -2.5 -7.5
 * -12.5 -17.5 -12.5 7.5 27.5 17.5, squares summing to 1800: population sd sqrt(225) = 15.
 * Reward scale 100 $; tariff alpha_buy 0.004, alpha_sell 0.002 $/kWh. */
static const double BELIEF[8] = {30, 25, 20, 15, 20, 40, 60, 50};

static void follower_setup(GameConfig *c, GameWorld *w, GameShared *g, AggEnv *e) {
    load(c, w);
    game_shared_init(g, c, w);
    for (int h = 0; h < 8; h++) g->belief[h] = BELIEF[h];
    g->belief_mean[0] = 32.5;
    g->belief_sd[0] = 15;
    g->reward_scale[0] = 100;
    g->tariff.alpha_buy = 0.004;
    g->tariff.alpha_sell = 0.002;
    memset(e, 0, sizeof *e);
    e->g = g;
    e->bus = 0;
    e->len = 24;
    rng_seed(&e->rng, 7, 0);
}

static void expect_obs(const float *obs, double z, int hour, double soc, const char *when) {
    cr_expect_float_eq(obs[0], z, 1e-6, "%s: normalised belief %g, want %g", when, obs[0], z);
    cr_expect_float_eq(obs[1], hour / 8.0, 1e-7, "%s: hour/8 %g", when, obs[1]);
    cr_expect_float_eq(obs[2], SHAPE_P[hour], 1e-6, "%s: net-demand ratio %g, want the shape %g", when, obs[2],
                       SHAPE_P[hour]);
    cr_expect_float_eq(obs[3], soc, 1e-7, "%s: soc %g, want %g", when, obs[3], soc);
    cr_expect_float_eq(obs[4], 0.004, 1e-9, "%s: alpha_buy", when);
    cr_expect_float_eq(obs[5], 0.002, 1e-9, "%s: alpha_sell", when);
}

/* Valid levels of a mask: count, first, last. */
static void mask_range(const unsigned char *m, int *count, int *first, int *last) {
    *count = 0;
    *first = *last = -1;
    for (int k = 0; k < 201; k++)
        if (m[k]) {
            if (*first < 0) *first = k;
            *last = k;
            (*count)++;
        }
}

Test(game_envs, follower_env_prices_rewards_observations_and_episode_end_by_hand) {
    GameConfig c;
    GameWorld w;
    GameShared g;
    AggEnv e;
    follower_setup(&c, &w, &g, &e);
    float obs[MARKET_FOLLOWER_OBS], r, act;
    unsigned char mask[201];
    int term, trunc, n, k0, k1;
    agg_env_class_discrete.reset(&e, obs, mask);
    /* Reset: hour 0, SoC drawn in [0, 1) (its law: the next test); net demand 0.5633 x 16.667
     * x 1000 = 9388.5211 kWh, ratio 0.5633; belief (30 - 32.5) / 15 = -0.1667. */
    cr_expect(e.soc >= 0 && e.soc < 1, "reset SoC %g", e.soc);
    cr_expect_float_eq(e.net_kwh, 9388.5211, 1e-6);
    expect_obs(obs, -2.5 / 15, 0, e.soc, "reset");
    /* Step 1 from SoC 0.3 (set), level 120: a = -1 + 240/200 = 0.2, 6,000 kWh into the
     * batteries, 6000 / 0.8 = 7,500 kWh from the grid at the belief 30 $/MWh plus 0.004:
     * 0.034 $/kWh. reward: battery = -(0.034 x (9388.5211 + 7500) - 0.034 x 9388.5211) / 100
     * = -2.55. SoC 0.5; hour 1: belief (25 - 32.5)/15 = -0.5, ratio 0.5567; mask: a in
     * [-0.5, 0.5], levels 50..150 (101). */
    e.soc = 0.3;
    act = 120;
    agg_env_class_discrete.step(&e, &act, obs, mask, &r, &term, &trunc);
    cr_expect_float_eq(r, -2.55f, 1e-5, "charging reward %g", r);
    cr_expect(!term && !trunc);
    expect_obs(obs, -0.5, 1, 0.5, "after step 1");
    mask_range(mask, &n, &k0, &k1);
    cr_expect(n == 101 && k0 == 50 && k1 == 150, "mask at SoC 0.5: %d levels %d..%d", n, k0, k1);
    /* Step 2, level 0 (a = -1) clipped to -0.5: 15,000 kWh out, all delivered (losses on
     * charging only). Net demand 0.5567 x 16,667 = 9278.5189 kWh, q = -5721.4811 kWh sold at
     * 0.025 + 0.002 = 0.027 $/kWh: bill -154.47999 $; without the battery 9278.5189 x (0.025 +
     * 0.004) = 269.07705 $. reward (154.47999 + 269.07705) / 100 = 4.2355704. SoC 0: mask
     * a in [0, 1], levels 100..200. */
    act = 0;
    agg_env_class_discrete.step(&e, &act, obs, mask, &r, &term, &trunc);
    cr_expect_float_eq(r, 4.2355704f, 1e-5, "discharging reward %g", r);
    expect_obs(obs, -12.5 / 15, 2, 0.0, "after step 2");
    mask_range(mask, &n, &k0, &k1);
    cr_expect(n == 101 && k0 == 100 && k1 == 200, "mask at SoC 0: %d levels %d..%d", n, k0, k1);
    /* The price is the belief of the hour, read when the step is played: move hour 2's to
     * 100 $/MWh and charge 0.1 (level 110): 3,000 kWh in, 3,750 from the grid at 0.104 $/kWh:
     * reward -3750 x 0.104 / 100 = -3.9. */
    g.belief[2] = 100;
    act = 110;
    agg_env_class_discrete.step(&e, &act, obs, mask, &r, &term, &trunc);
    cr_expect_float_eq(r, -3.9f, 1e-5, "reward at the moved belief %g", r);
    cr_expect_float_eq(obs[3], 0.1, 1e-7);
    /* Beliefs move away from their initial statistics: hour 7 at 110 $/MWh is (110 - 32.5) /
     * 15 = 5.17 sd, clipped to belief_clip = 3. Idle (level 100: a = 0, q = net demand:
     * reward exactly 0) up to hour 7, then through the 24th step: terminal (episode_end:
     * terminate), not truncated, and not before. */
    g.belief[7] = 110;
    act = 100;
    for (int t = 3; t < 24; t++) {
        agg_env_class_discrete.step(&e, &act, obs, mask, &r, &term, &trunc);
        cr_expect_eq(r, 0.0f, "idle step %d: reward %g", t + 1, r);
        cr_expect_eq(term, t == 23, "step %d: terminated %d", t + 1, term);
        cr_expect_eq(trunc, 0, "step %d: truncated", t + 1);
        cr_expect_float_eq(obs[1], ((t + 1) % 8) / 8.0, 1e-7, "step %d: hour", t + 1);
        if ((t + 1) % 8 == 7) cr_expect_float_eq(obs[0], 3.0f, 1e-7, "clipped belief %g", obs[0]);
    }
    /* episode_end: truncate makes the same 24th step a time limit. */
    c.aggregator.episode_terminate = 0;
    e.t = 23;
    agg_env_class_discrete.step(&e, &act, obs, mask, &r, &term, &trunc);
    cr_expect(!term && trunc, "truncate: terminated %d truncated %d", term, trunc);
    game_shared_free(&g);
    game_world_free(&w);
    game_config_free(&c);
}

Test(game_envs, follower_env_gaussian_action_is_clipped_to_the_soc) {
    /* Gaussian action 0.35 at SoC 0.8 is clipped to 0.2: 7,500 kWh from the grid at hour 0
     * (0.034 $/kWh): reward -2.55, SoC 1. Then -2 at SoC 1 is clipped to -1: 30,000 kWh
     * delivered at hour 1 against 9278.5189 kWh of demand: q = -20721.4811 sold at 0.027:
     * -559.47999 $; without: 269.07705 $: reward (559.47999 + 269.07705) / 100 = 8.2855704. */
    GameConfig c;
    GameWorld w;
    GameShared g;
    AggEnv e;
    follower_setup(&c, &w, &g, &e);
    c.aggregator.action = AGG_GAUSSIAN;
    float obs[MARKET_FOLLOWER_OBS], r, act = 0.35f;
    int term, trunc;
    agg_env_class_gaussian.reset(&e, obs, NULL);
    e.soc = 0.8;
    agg_env_class_gaussian.step(&e, &act, obs, NULL, &r, &term, &trunc);
    cr_expect_float_eq(r, -2.55f, 1e-5, "reward %g", r);
    cr_expect_float_eq(e.soc, 1.0, 1e-12);
    act = -2;
    agg_env_class_gaussian.step(&e, &act, obs, NULL, &r, &term, &trunc);
    cr_expect_float_eq(r, 8.2855704f, 1e-5, "reward %g", r);
    cr_expect_float_eq(e.soc, 0.0, 1e-12);
    game_shared_free(&g);
    game_world_free(&w);
    game_config_free(&c);
}

Test(game_envs, follower_env_resets_soc_uniformly) {
    /* [A] reset draws SoC ~ U(0, 1): over 4000 resets the mean is 0.5 within 4 standard
     * errors (sqrt(1/12/4000) = 0.0046) and each tenth holds 400 +- 4 sqrt(360) = 76. */
    GameConfig c;
    GameWorld w;
    GameShared g;
    AggEnv e;
    follower_setup(&c, &w, &g, &e);
    float obs[MARKET_FOLLOWER_OBS];
    unsigned char mask[201];
    int bins[10] = {0};
    double sum = 0;
    for (int i = 0; i < 4000; i++) {
        agg_env_class_discrete.reset(&e, obs, mask);
        cr_assert(e.soc >= 0 && e.soc < 1);
        cr_assert_eq(e.hour, 0);
        sum += e.soc;
        bins[(int)(e.soc * 10)]++;
    }
    cr_expect(fabs(sum / 4000 - 0.5) < 4 * 0.0046, "mean SoC %g", sum / 4000);
    for (int k = 0; k < 10; k++) cr_expect(abs(bins[k] - 400) < 76, "tenth %d holds %d", k, bins[k]);
    game_shared_free(&g);
    game_world_free(&w);
    game_config_free(&c);
}

/* ---- the leader's environment ---- */

/* A follower whose expected level is known: every weight 0 but a chain from the observation's
 * alpha_buy (input 4) to level 110's logit: 150 tanh(tanh(100 alpha_buy)). At alpha_buy 0.005
 * that is 150 tanh(tanh(0.5)) = 150 tanh(0.4621) = 64.8, so level 110 (a = 0.1) has
 * probability 1 - 200 e^-64.8 wherever it is valid; where the mask removes it every valid
 * level has logit 0 and the expected level is their mean. At alpha_buy 0 (the tariff in
 * force, the baseline) the logit is 0: a follower that saw the real tariff instead of the one
 * being evaluated would play the mean of its valid levels. */
static Ppo *fixed_follower(const GameConfig *c) {
    ActionSpace sp = agg_env_class_discrete.space;
    sp.n = 201;
    char err[256];
    Ppo *p = ppo_create(&c->aggregator.ppo, MARKET_FOLLOWER_OBS, &sp, 1, 5, err, sizeof err);
    cr_assert(p, "%s", err);
    const Mlp *m = ppo_pi_net(p);
    cr_assert_eq(m->n_layers, 3);
    float *w = ppo_pi_params(p);
    memset(w, 0, m->n_params * sizeof *w);
    w[m->w_off[0] + 0 * (size_t)m->sizes[0] + 4] = 100; /* hidden 1, unit 0 <- alpha_buy */
    w[m->w_off[1] + 0] = 1;                             /* hidden 2, unit 0 <- hidden 1, unit 0 */
    w[m->w_off[2] + 110 * (size_t)m->sizes[2] + 0] = 150;
    return p;
}

Test(game_envs, leader_env_period_reward_and_observation_by_hand) {
    GameConfig c;
    GameWorld w;
    load(&c, &w);
    c.utility.action_tanh = 0;               /* linear onto the bounds */
    c.utility.consumer_charge_balancing = 0; /* the action sets the consumers' charge too */
    c.utility.episode_periods = 2;
    GameShared g;
    game_shared_init(&g, &c, &w);
    for (int i = 0; i < market_leader_obs_dim(3); i++) g.leader_obs[i] = (float)(i + 1);
    for (int b = 0; b < 3; b++) g.belief_sd[b] = 1; /* the followers' policy ignores the belief */
    Ppo *fol[3] = {fixed_follower(&c), fixed_follower(&c), fixed_follower(&c)};
    LeadEnv e;
    char err[256];
    cr_assert_eq(lead_env_init(&e, &g, fol, NULL, err, sizeof err), 0, "%s", err);
    rng_seed(&e.rng, 3, 0);
    float obs[12], r;
    int term, trunc;
    lead_env_class.reset(&e, obs, NULL);
    for (int i = 0; i < 12; i++) cr_expect_eq(obs[i], (float)(i + 1), "reset returns the market's observation");

    /* The tariff: actions in [-1, 1] map linearly onto [lo, hi]: alpha in [0, 0.01], charges
     * in [0, 15] $/day: act (0, -1, -1, 0, 1, -1 + 2/15) -> alpha_buy 0.005, alpha_sell 0,
     * prosumer charges 0, 7.5, 15, consumers 1 $/day (each through a float). */
    const float act[6] = {0.0f, -1.0f, -1.0f, 0.0f, 1.0f, -1.0f + 2.0f / 15.0f};
    double ab = (float)0.005, as = 0, fixed[3] = {0, 7.5, 15}, fc = (float)(0.5 * (act[5] + 1.0) * 15);

    /* The period, 24 steps from the real fleets' SoC 0.5, same at every bus: level 110 (a = 0.1)
     * while valid: 0.6 0.7 0.8 0.9 1.0; at SoC 1 it is masked, the valid levels are a in [-1, 0]
     * (levels 0..100), their mean -0.5: back to 0.5. So a cycle of 6 steps: five of +0.1 and
     * one of -0.5, four cycles. Charging 0.1 of 30,000 kWh draws 3,000 / 0.8 = 3,750 kWh;
     * discharging 0.5 delivers 15,000 (no loss on discharge).
     * The market: no line binds on this grid at these loads (flows well under 100), so one
     * price: g1 (0.2 p^2 + 5p) and g2 (0.2 p^2 + 4p) meet at 0.4 p1 + 5 = 0.4 p2 + 4 = lambda
     * with p1 + p2 = D - S (D the total load, S the free solar, 60 x factor, all used at a
     * positive price): lambda = 0.2 (D - S) + 4.5 $/MWh. E.g. step 0 (hour 0, no sun): D =
     * (0.5567 x 16.667 x 9000 + 0.5633 x 16.667 x 1800 + 3 x 3750) / 1000 = 111.67 MWh,
     * lambda = 26.83. Bills (alpha_sell 0: sales earn the LMP), fixed charges pro rata, EEI
     * = bill / households x 365 / 3 days / income. */
    double bill[3] = {0}, bill_cons[3] = {0}, revenue = 0, lmp_sum = 0, lambda = 0;
    for (int k = 0; k < 24; k++) {
        int h = k % 8;
        double move = k % 6 == 5 ? -15000 : 3750;
        double D = 0, cons[3], q[3];
        for (int b = 0; b < 3; b++) {
            cons[b] = SHAPE_C[h] * 16.667 * 3000;
            q[b] = SHAPE_P[h] * 16.667 * PROS[b] + move;
            D += (cons[b] + q[b]) / 1000;
        }
        lambda = 0.2 * (D - 60 * SHAPE_S[h]) + 4.5;
        for (int b = 0; b < 3; b++) {
            double rate = q[b] >= 0 ? lambda / 1000 + ab : lambda / 1000 + as;
            bill[b] += rate * q[b] + fixed[b] * PROS[b] / 8;
            bill_cons[b] += (lambda / 1000 + ab) * cons[b] + fc * 3000 / 8;
            revenue += (q[b] >= 0 ? ab : as) * q[b] + ab * cons[b] + (fixed[b] * PROS[b] + fc * 3000) / 8;
            lmp_sum += lambda;
        }
    }
    double eei[3], eei_cons = 0, gap = 0;
    for (int b = 0; b < 3; b++) {
        eei[b] = bill[b] / PROS[b] * 365 / 3 / INCOME[b];
        eei_cons += bill_cons[b] / 3000 * 365 / 3 / 15000 / 3;
    }
    for (int b = 0; b < 3; b++) gap += PROS[b] * fabs(eei[b] - eei_cons) / 1800;
    /* Reward [R]: -100 x the household-weighted gap of each class to the consumers (pp) -
     * kappa x shortfall - surplus_penalty x surplus, over a cost of 10,800 $/day x 3 days. */
    double cost = 10800.0 * 3, surplus = fmax(0, revenue - cost) / cost, shortfall = fmax(0, cost - revenue) / cost;
    double want = -100 * gap - 10 * shortfall - 10 * surplus;
    cr_log_info("leader step by hand: EEIs %.4f %.4f %.4f %%, consumers %.4f %%, revenue %.2f $, reward %.6f",
                100 * eei[0], 100 * eei[1], 100 * eei[2], 100 * eei_cons, revenue, want);

    lead_env_class.step(&e, act, obs, NULL, &r, &term, &trunc);
    cr_expect_float_eq(r, want, 1e-5 * fabs(want), "leader reward %.7g, by hand %.7g", r, want);
    cr_expect(!term && !trunc, "the first of 2 leader steps");
    for (int b = 0; b < 3; b++) cr_expect(tu_rel(e.lmp[b], lambda) < 1e-9, "last step's LMP %g, by hand %g", e.lmp[b], lambda);
    /* Observation: EEI per class (%), consumers' EEI (%), mean LMP / 100, shortfall, tariff. */
    double want_obs[12] = {100 * eei[0], 100 * eei[1], 100 * eei[2], 100 * eei_cons, lmp_sum / 72 / 100, shortfall,
                           ab, as, fixed[0], fixed[1], fixed[2], fc};
    for (int i = 0; i < 12; i++)
        cr_expect(fabs(obs[i] - want_obs[i]) <= 2e-6 * fmax(1, fabs(want_obs[i])), "obs[%d] %.8g, by hand %.8g", i,
                  obs[i], want_obs[i]);
    /* The real fleets are not moved by the simulation. */
    for (int b = 0; b < 3; b++) cr_expect_eq(g.soc[b], 0.5);
    /* Step 2 continues from the SoC where step 1 left it (24 steps = 4 whole cycles: 0.5):
     * the same period again, and the episode's time limit (2 steps): truncated. */
    float r2;
    lead_env_class.step(&e, act, obs, NULL, &r2, &term, &trunc);
    cr_expect_float_eq(r2, want, 1e-5 * fabs(want), "second period %.7g", r2);
    cr_expect(!term && trunc, "episode_periods = 2: the second step is truncated");

    lead_env_free(&e);
    for (int b = 0; b < 3; b++) ppo_free(fol[b]);
    game_shared_free(&g);
    game_world_free(&w);
    game_config_free(&c);
}

/* ---- which noise the training environments draw ---- */

Test(game_envs, training_environments_draw_with_train_noise) {
    /* The real market draws with `noise`, both training environments with `train_noise` [R].
     * Here noise: per_bus (one triangular(0.8, 1.2, 1) factor per bus and group: sd
     * sqrt(0.04/6) = 0.082) and train_noise: clt (the mean of n such factors: sd 0.082 /
     * sqrt(n), at most 0.0047 for the 300 prosumers of bus 3). Every factor the training
     * environments draw (energy / (shape x 16.667 kWh x households)) lies within 0.025 of 1
     * (5.3 sd of the widest), where a per-bus factor does so with probability 1 - (1 -
     * 0.025/0.2)^2 = 0.23 each: the 18 factors of the leader's and 24 of a follower's checked
     * here would all pass with probability below 1e-26. */
    GameConfig c;
    GameWorld w;
    char err[512];
    cr_assert_eq(game_config_load("configs/paper.yaml", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(game_world_load(&w, &c, err, sizeof err), 0, "%s", err);
    c.noise = HH_NOISE_PER_BUS;
    c.train_noise = HH_NOISE_CLT;
    GameShared g;
    game_shared_init(&g, &c, &w);
    for (int b = 0; b < 3; b++) g.belief_sd[b] = 1;
    /* The leader's: followers that do not act (NULL), periods of one day (8 steps); after each
     * of 3 environment steps its last draw (hour 7) is checked. */
    c.leader_period_days = 1;
    c.utility.episode_periods = 3;
    LeadEnv e;
    cr_assert_eq(lead_env_init(&e, &g, NULL, NULL, err, sizeof err), 0, "%s", err);
    rng_seed(&e.rng, 5, 0);
    float obs[12], r, act[6] = {0};
    int term, trunc, far = 0;
    lead_env_class.reset(&e, obs, NULL);
    for (int k = 0; k < 3; k++) {
        lead_env_class.step(&e, act, obs, NULL, &r, &term, &trunc);
        for (int b = 0; b < 3; b++) {
            double fc = e.hs.consumer_kwh[b] / (SHAPE_C[7] * 16.667 * 3000);
            double fp = e.hs.group_kwh[b] / (SHAPE_P[7] * 16.667 * PROS[b]);
            far += fabs(fc - 1) > 0.025 || fabs(fp - 1) > 0.025;
            cr_expect(fc >= 0.8 && fc <= 1.2 && fp >= 0.8 && fp <= 1.2, "factors %g %g outside the noise's range", fc, fp);
        }
    }
    cr_expect_eq(far, 0, "the leader's environment drew %d of 9 buses' factors beyond 0.025 of 1: not train_noise", far);
    lead_env_free(&e);
    /* A follower's: 24 steps of its own draws of the bus's net demand. */
    AggEnv a;
    memset(&a, 0, sizeof a);
    a.g = &g;
    a.bus = 2;
    a.len = 24;
    rng_seed(&a.rng, 6, 0);
    unsigned char mask[201];
    float act1 = 100;
    far = 0;
    agg_env_class_discrete.reset(&a, obs, mask);
    for (int t = 0; t < 24; t++) {
        double f = a.net_kwh / (SHAPE_P[a.hour] * 16.667 * PROS[2]);
        far += fabs(f - 1) > 0.025;
        agg_env_class_discrete.step(&a, &act1, obs, mask, &r, &term, &trunc);
    }
    cr_expect_eq(far, 0, "the followers' environment drew %d of 24 factors beyond 0.025 of 1: not train_noise", far);
    game_shared_free(&g);
    game_world_free(&w);
    game_config_free(&c);
}

/* ---- the beliefs the followers price with ---- */

/* The game's own beliefs, from outside: they start at the no-storage market's prices of the
 * mean day and then move towards the real market's LMP of each step (SPEC 5):
 *   b[h] <- b[h] - step (b[h] - lmp_t) / sqrt(day + 1),
 * their statistics (mean, population sd over the day) normalise the followers' observation,
 * and with reward_scale: auto each follower's rewards are divided by |mean net demand x mean
 * belief| / 1000 $. Learning followers (short PPO phases) move the fleets, so the real LMPs
 * differ from the no-storage ones; the leader keeps the baseline tariff. */
Test(game_envs, beliefs_start_at_the_mean_day_and_follow_the_real_lmps) {
    GameConfig c;
    GameWorld w;
    load(&c, &w);
    c.days = 2;
    c.report_days = 1;
    c.leader_period_days = 1;
    c.utility.learn = 0;
    c.aggregator.train_steps = 16;
    c.aggregator.ppo.n_steps = 16;
    c.aggregator.ppo.batch_size = 8;
    c.aggregator.ppo.n_epochs = 1;
    Game *gm;
    char err[512];
    cr_assert_eq(game_setup(&gm, &c, &w, 4, NULL, err, sizeof err), 0, "%s", err);
    const GameShared *g = &gm->g;
    cr_assert(g->B == 3 && g->S == 8);

    /* The mean day without batteries (the noise's mean is 1): D = sum over buses of (consumers'
     * + prosumers' energy) / 1000 MWh, solar 60 x factor, one price lambda = 0.2 (D - S) + 4.5
     * (the paper grid: see the leader's test above), the same at every bus. */
    double belief[3][8], mean = 0, sd = 0;
    for (int h = 0; h < 8; h++) {
        double D = 0;
        for (int b = 0; b < 3; b++) D += (SHAPE_C[h] * 16.667 * 3000 + SHAPE_P[h] * 16.667 * PROS[b]) / 1000;
        double lambda = 0.2 * (D - 60 * SHAPE_S[h]) + 4.5;
        for (int b = 0; b < 3; b++) belief[b][h] = lambda;
        mean += lambda / 8;
    }
    for (int h = 0; h < 8; h++) sd += (belief[0][h] - mean) * (belief[0][h] - mean) / 8;
    sd = sqrt(sd);
    double shape_p = 0;
    for (int h = 0; h < 8; h++) shape_p += SHAPE_P[h] / 8;
    for (int b = 0; b < 3; b++) {
        for (int h = 0; h < 8; h++)
            cr_expect(tu_rel(g->belief[b * 8 + h], belief[b][h]) < 1e-9, "initial belief bus %d hour %d: %.10g, by hand %.10g",
                      b, h, g->belief[b * 8 + h], belief[b][h]);
        cr_expect(tu_rel(g->belief_mean[b], mean) < 1e-9, "belief mean %.10g, by hand %.10g", g->belief_mean[b], mean);
        cr_expect(tu_rel(g->belief_sd[b], sd) < 1e-9, "belief sd %.10g, by hand %.10g", g->belief_sd[b], sd);
        /* Mean net demand PROS x 16.667 x mean prosumer shape kWh, priced at the mean belief. */
        double scale = PROS[b] * 16.667 * shape_p * mean / 1000;
        cr_expect(tu_rel(g->reward_scale[b], scale) < 1e-12, "reward scale %.10g, by hand %.10g", g->reward_scale[b],
                  scale);
    }

    /* Two days of the real market; the beliefs recomputed from the LMPs it recorded (from the
     * game's initial beliefs, checked above to 1e-9). */
    for (int b = 0; b < 3; b++)
        for (int h = 0; h < 8; h++) belief[b][h] = g->belief[b * 8 + h];
    int differ = 0;
    for (long t = 0; t < 16; t++) {
        game_step(gm, NULL);
        int h = (int)(t % 8), day = (int)(t / 8);
        for (int b = 0; b < 3; b++) {
            double lmp = gm->lmp_rl_hist[t * 3 + b];
            differ += fabs(lmp - gm->lmp_ns_hist[t * 3 + b]) > 1e-6;
            belief[b][h] -= 0.9 * (belief[b][h] - lmp) / sqrt(day + 1.0);
        }
    }
    cr_expect(differ > 0, "the fleets never moved a price: the test could not tell the markets apart");
    for (int b = 0; b < 3; b++)
        for (int h = 0; h < 8; h++)
            cr_expect(tu_rel(g->belief[b * 8 + h], belief[b][h]) < 1e-12, "belief bus %d hour %d after two days: %.12g, "
                      "from the recorded LMPs %.12g", b, h, g->belief[b * 8 + h], belief[b][h]);
    cr_log_info("beliefs: %d of 48 real LMPs differ from the no-storage ones", differ);
    game_cleanup(gm);
    game_world_free(&w);
    game_config_free(&c);
}
