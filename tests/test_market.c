/* test_market.c: retail rates and bills, a day's ledger with EEI, revenue and shortfall, EEI
 * per income class over several buses, the baseline tariff, the tariff repair, IMV, the belief
 * update and the observations, each against a hand calculation written out beside it. */
#include <criterion/criterion.h>

#include "grid/market.h"
#include "testutil.h"

/* A tariff for C classes (the caller frees it). */
static Tariff tariff(int C, double buy, double sell, double fixed_pros, double fixed_cons) {
    Tariff t;
    tariff_init(&t, C);
    t.alpha_buy = buy;
    t.alpha_sell = sell;
    for (int c = 0; c < C; c++) t.fixed_prosumer[c] = fixed_pros;
    t.fixed_consumer = fixed_cons;
    return t;
}

Test(market, rates_and_one_step_bill) {
    /* LMP 40 $/MWh = 0.04 $/kWh. alpha_buy 0.02, alpha_sell -0.01:
     * buy 0.06 $/kWh, sell 0.03 $/kWh. 1000 kWh bought: $60. 500 kWh sold: -$15.
     * The utility's margin: 0.02 * 1000 = $20 on the purchase; on the sale it pays
     * 0.03 instead of 0.04: -(-0.01) * 500 = $5. */
    Tariff t = tariff(1, 0.02, -0.01, 0, 0);
    cr_expect_float_eq(market_buy_rate(40, &t), 0.06, 1e-15);
    cr_expect_float_eq(market_sell_rate(40, &t), 0.03, 1e-15);
    cr_expect_float_eq(market_energy_bill(1000, 40, &t), 60, 1e-12);
    cr_expect_float_eq(market_energy_bill(-500, 40, &t), -15, 1e-12);
    cr_expect_float_eq(market_energy_margin(1000, &t), 20, 1e-12);
    cr_expect_float_eq(market_energy_margin(-500, &t), 5, 1e-12);
    tariff_free(&t);
}

/* One bus: 100 prosumers (income 20,000), 200 consumers (income 10,000), 8 steps a day. */
static HhParams one_bus(void) {
    HhParams p;
    hh_params_default(&p);
    hh_params_alloc(&p, 1, 1, 1, 0);
    p.prosumers[0] = 100;
    p.class_income[0] = 20000;
    p.consumers[0] = 200;
    p.consumer_income[0] = 10000;
    hh_index_groups(&p);
    return p;
}

Test(market, one_day_bill_eei_revenue_and_reward) {
    /* One day at LMP 40, alpha_buy 0.02, alpha_sell -0.01, fixed charges 2 (prosumers) and
     * 1 (consumers) $/household/day. The fleet buys 1000 kWh in 4 steps and sells 500 kWh in 4;
     * consumers buy 2000 kWh every step.
     *   prosumer bill  = 4*60 - 4*15 + 2*100       = 380 $  -> 3.8 $/household/day
     *   EEI prosumers  = 3.8 * 365 / 20000         = 0.06935
     *   consumer bill  = 8*2000*0.06 + 1*200       = 1160 $ -> 5.8 $/household/day
     *   EEI consumers  = 5.8 * 365 / 10000         = 0.2117
     *   revenue        = 4*20 + 4*5 + 8*40 + 200 + 200 = 820 $
     *   shortfall      = (1000 - 820) / 1000       = 0.18   (fixed cost 1000 $/day) */
    HhParams p = one_bus();
    Tariff t = tariff(1, 0.02, -0.01, 2, 1);
    MarketLedger l;
    market_ledger_init(&l, 1, 1, 8);
    double lmp = 40, cons = 2000;
    for (int h = 0; h < 8; h++) {
        double q = h < 4 ? 1000 : -500;
        market_ledger_step(&l, &p, &t, &lmp, &q, &cons);
    }
    cr_expect_float_eq(market_ledger_days(&l), 1.0, 1e-15);
    cr_expect_float_eq(l.bill_class[0], 380, 1e-9);
    cr_expect_float_eq(l.bill_consumer[0], 1160, 1e-9);
    cr_expect_float_eq(l.revenue, 820, 1e-9);
    cr_expect_float_eq(l.fixed_collected, 400, 1e-9);
    cr_expect_float_eq(market_ledger_mean_lmp(&l), 40, 1e-12);
    MarketEei e;
    market_eei_init(&e, 1, 1);
    market_eei(&l, &p, &e);
    cr_expect_float_eq(e.prosumer[0], 0.06935, 1e-12);
    cr_expect_float_eq(e.consumer[0], 0.2117, 1e-12);
    cr_expect_float_eq(e.prosumer_mean, 0.06935, 1e-12);
    double sf = market_shortfall(l.revenue, 1000, market_ledger_days(&l));
    cr_expect_float_eq(sf, 0.18, 1e-12);
    market_eei_free(&e);
    market_ledger_free(&l);
    tariff_free(&t);
    hh_params_free(&p);
    /* A surplus is not rewarded: revenue 820 against a cost of 500. */
    cr_expect_eq(market_shortfall(820, 500, 1), 0.0);
    /* A negative revenue: (500 - (-250)) / 500 = 1.5, above the no-revenue 1. */
    cr_expect_float_eq(market_shortfall(-250, 500, 1), 1.5, 1e-12);
}

Test(market, eei_is_annualised_and_population_weighted) {
    /* Over 2 days: bus 1's 100 prosumers pay 2000 $ (10 $/household/day -> 3650 $/yr, 0.365 of
     * 10,000); bus 2's 300 pay 1200 $ (2 $/day -> 730 $/yr, 0.073). Weighted:
     * (100*0.365 + 300*0.073) / 400 = 58.4 / 400 = 0.146. */
    HhParams p;
    hh_params_default(&p);
    hh_params_alloc(&p, 2, 2, 2, 0);
    for (int b = 0; b < 2; b++) {
        p.group_bus[b] = p.group_class[b] = b;
        p.class_income[b] = 10000;
        p.consumers[b] = 1;
        p.consumer_income[b] = 1;
    }
    p.prosumers[0] = 100;
    p.prosumers[1] = 300;
    hh_index_groups(&p);
    MarketLedger l;
    market_ledger_init(&l, 2, 2, 8);
    l.steps = 16;
    l.bill_class[0] = 2000;
    l.bill_class[1] = 1200;
    l.bill_consumer[0] = l.bill_consumer[1] = 1;
    MarketEei e;
    market_eei_init(&e, 2, 2);
    market_eei(&l, &p, &e);
    cr_expect_float_eq(e.prosumer[0], 0.365, 1e-12);
    cr_expect_float_eq(e.prosumer[1], 0.073, 1e-12);
    cr_expect_float_eq(e.prosumer_mean, 0.146, 1e-12);
    cr_expect_float_eq(market_eei_group(1200, 300, 2, 10000), 0.073, 1e-12);
    market_eei_free(&e);
    market_ledger_free(&l);
    hh_params_free(&p);
}

Test(market, eei_per_income_class_over_buses) {
    /* Two buses, two income classes at each (households generated from load: a group per bus
     * and class). Class "low" (income 10,000): 100 households at bus 0, 50 at bus 1; class
     * "high" (income 50,000): 10 at bus 0, 40 at bus 1. One step at LMP 40 $/MWh (0.04 $/kWh),
     * alpha 0, fixed charges: low 1, high 4 $/household/day, consumers 0; 1 step of S = 1 is a
     * whole day. Group energies (kWh): low@0 500, high@0 100, low@1 -200 (export, sell rate
     * 0.04), high@1 300.
     *   low  bill = 0.04*500 + 100*1 + 0.04*(-200) + 50*1 = 20 + 100 - 8 + 50 = 162 $
     *        EEI  = 162 / 150 households * 365 / 10000 = 0.03942
     *   high bill = 0.04*100 + 10*4 + 0.04*300 + 40*4 = 4 + 40 + 12 + 160 = 216 $
     *        EEI  = 216 / 50 * 365 / 50000 = 0.031536
     *   pooled   = (150*0.03942 + 50*0.031536) / 200 = (5.913 + 1.5768) / 200 = 0.037449
     *   revenue  = fixed charges only: 100 + 40 + 50 + 160 = 350 $ */
    HhParams p;
    hh_params_default(&p);
    p.steps_per_day = 1;
    hh_params_alloc(&p, 2, 4, 2, 0);
    const int bus[4] = {0, 0, 1, 1}, cls[4] = {0, 1, 0, 1}, n[4] = {100, 10, 50, 40};
    for (int g = 0; g < 4; g++) {
        p.group_bus[g] = bus[g];
        p.group_class[g] = cls[g];
        p.prosumers[g] = n[g];
    }
    p.class_income[0] = 10000;
    p.class_income[1] = 50000;
    for (int b = 0; b < 2; b++) {
        p.consumers[b] = 1;
        p.consumer_income[b] = 1e9;
    }
    hh_index_groups(&p);
    cr_assert_eq(p.group_count[0], 2);
    cr_assert_eq(p.group_first[1], 2);
    Tariff t = tariff(2, 0, 0, 0, 0);
    t.fixed_prosumer[0] = 1;
    t.fixed_prosumer[1] = 4;
    MarketLedger l;
    market_ledger_init(&l, 2, 2, 1);
    double lmp[2] = {40, 40}, q[4] = {500, 100, -200, 300}, cons[2] = {0, 0};
    market_ledger_step(&l, &p, &t, lmp, q, cons);
    cr_expect_float_eq(l.bill_class[0], 162, 1e-9);
    cr_expect_float_eq(l.bill_class[1], 216, 1e-9);
    cr_expect_float_eq(l.revenue, 350, 1e-9);
    MarketEei e;
    market_eei_init(&e, 2, 2);
    market_eei(&l, &p, &e);
    cr_expect_float_eq(e.prosumer[0], 0.03942, 1e-12);
    cr_expect_float_eq(e.prosumer[1], 0.031536, 1e-12);
    cr_expect_float_eq(e.prosumer_mean, 0.037449, 1e-12);
    /* The steps.csv charge of bus 1's prosumers: (50*1 + 40*4) / 90 = 210 / 90. */
    cr_expect_float_eq(market_bus_fixed_prosumer(&p, &t, 1), 210.0 / 90.0, 1e-12);
    market_eei_free(&e);
    market_ledger_free(&l);
    tariff_free(&t);
    hh_params_free(&p);
}

Test(market, baseline_tariff_recovers_the_fixed_cost) {
    /* 10,800 $/day over 10,800 households: 1 $/household/day, alpha 0. With alpha 0 the
     * revenue of one day is exactly the fixed cost: shortfall 0. */
    HhParams p;
    hh_params_default(&p);
    Tariff t;
    tariff_init(&t, 3);
    market_baseline_tariff(&p, 10800, &t);
    cr_expect_eq(t.alpha_buy, 0.0);
    cr_expect_eq(t.alpha_sell, 0.0);
    for (int b = 0; b < 3; b++) cr_expect_float_eq(t.fixed_prosumer[b], 1.0, 1e-15);
    cr_expect_float_eq(t.fixed_consumer, 1.0, 1e-15);
    MarketLedger l;
    market_ledger_init(&l, 3, 3, 8);
    double lmp[3] = {30, 40, 50}, q[3] = {100, -50, 0}, c[3] = {10, 20, 30};
    for (int h = 0; h < 8; h++) market_ledger_step(&l, &p, &t, lmp, q, c);
    cr_expect_float_eq(l.revenue, 10800, 1e-9);
    cr_expect_float_eq(market_shortfall(l.revenue, 10800, 1), 0.0, 1e-12);
    market_ledger_free(&l);
    tariff_free(&t);
    hh_params_free(&p);
}

Test(market, tariff_from_action_clips_and_repairs_sell_above_buy) {
    /* Bounds alpha [-0.1, 0.1], fixed [0, 5]. Action (0.05, 0.08, 6, -1, 2, 1):
     * clip: (0.05, 0.08, 5, 0, 2, 1); sell 0.08 > buy 0.05 -> clip: sell = 0.05;
     * swap: buy 0.08, sell 0.05. */
    TariffBounds bd = {-0.1, 0.1, 0, 5, MARKET_SELL_CLIP};
    float act[6] = {0.05f, 0.08f, 6, -1, 2, 1};
    Tariff t;
    tariff_init(&t, 3);
    market_tariff_from_action(act, &bd, &t);
    cr_expect_float_eq(t.alpha_buy, 0.05, 1e-7);
    cr_expect_float_eq(t.alpha_sell, 0.05, 1e-7);
    cr_expect_eq(t.fixed_prosumer[0], 5.0);
    cr_expect_eq(t.fixed_prosumer[1], 0.0);
    cr_expect_eq(t.fixed_prosumer[2], 2.0);
    cr_expect_eq(t.fixed_consumer, 1.0);
    bd.sell_rule = MARKET_SELL_SWAP;
    market_tariff_from_action(act, &bd, &t);
    cr_expect_float_eq(t.alpha_buy, 0.08, 1e-7);
    cr_expect_float_eq(t.alpha_sell, 0.05, 1e-7);
    float v[6];
    market_tariff_to_vec(&t, v);
    cr_expect_float_eq(v[0], 0.08f, 1e-7);
    cr_expect_eq(v[2], 5.0f);
    cr_expect_eq(v[5], 1.0f);
    cr_expect_eq(market_tariff_dim(3), 6);
    tariff_free(&t);
}

Test(market, imv_of_a_price_series) {
    /* [10, 20, 15, 15, 30]: |10| + |-5| + |0| + |15| = 30, over T = 5 steps: 6 $/MWh.
     * A second bus at a flat 5 $/MWh has IMV 0, so the mean over the two buses is 3. */
    double one[5] = {10, 20, 15, 15, 30};
    cr_expect_float_eq(market_imv(one, 5, 1), 6.0, 1e-12);
    double two[10] = {10, 5, 20, 5, 15, 5, 15, 5, 30, 5}; /* (T = 5, B = 2) */
    cr_expect_float_eq(market_imv(two, 5, 2), 6.0, 1e-12);
    cr_expect_float_eq(market_imv(two + 1, 5, 2), 0.0, 1e-12);
    cr_expect_float_eq(market_imv_mean(two, 5, 2), 3.0, 1e-12);
    cr_expect_eq(market_imv(one, 1, 1), 0.0);
}

Test(market, belief_update_shrinks_with_the_day) {
    /* b = 30, LMP 50: day 0: 30 - 0.9 (30 - 50) / 1 = 48; day 3: 30 - 0.9 (-20) / 2 = 39. */
    double b[8] = {0, 0, 0, 30, 0, 0, 0, 0};
    market_belief_update(b, 3, 50, 0, 0.9);
    cr_expect_float_eq(b[3], 48, 1e-12);
    b[3] = 30;
    market_belief_update(b, 3, 50, 3, 0.9);
    cr_expect_float_eq(b[3], 39, 1e-12);
    cr_expect_eq(b[2], 0.0);
    /* Stats of [10, 20, 30, 40]: mean 25, population sd sqrt(125) = 11.180. */
    double s[4] = {10, 20, 30, 40}, m, sd;
    market_belief_stats(s, 4, &m, &sd);
    cr_expect_float_eq(m, 25, 1e-12);
    cr_expect_float_eq(sd, sqrt(125.0), 1e-12);
    double flat[2] = {7, 7};
    market_belief_stats(flat, 2, &m, &sd);
    cr_expect_eq(sd, 1.0);
}

Test(market, follower_observation_and_reward) {
    /* Belief 60 with mean 40, sd 5: z = 4, clipped to 3. Hour 4 of 8: 0.5. */
    Tariff t = tariff(1, 0.02, -0.01, 1, 1);
    float o[MARKET_FOLLOWER_OBS];
    market_follower_obs(60, 40, 5, 3, 4, 8, 0.67, 0.37, &t, o);
    cr_expect_float_eq(o[0], 3.0f, 1e-7);
    cr_expect_float_eq(o[1], 0.5f, 1e-7);
    cr_expect_float_eq(o[2], 0.67f, 1e-7);
    cr_expect_float_eq(o[3], 0.37f, 1e-7);
    cr_expect_float_eq(o[4], 0.02f, 1e-7);
    cr_expect_float_eq(o[5], -0.01f, 1e-7);
    market_follower_obs(35, 40, 5, 3, 0, 8, 0.5, 0, &t, o);
    cr_expect_float_eq(o[0], -1.0f, 1e-7);
    /* 1000 kWh at LMP 40: $60 at buy 0.06; scale 30: reward -2. Selling 500 kWh: +$15 -> 0.5. */
    cr_expect_float_eq(market_follower_reward(1000, 40, &t, 30), -2.0, 1e-12);
    cr_expect_float_eq(market_follower_reward(-500, 40, &t, 30), 0.5, 1e-12);
    /* auto scale: 11000 kWh at 45 $/MWh: 11000 * 0.045 = $495. */
    cr_expect_float_eq(market_reward_scale_auto(11000, 45), 495, 1e-9);
    tariff_free(&t);
}

Test(market, leader_observation_layout) {
    /* EEIs (0.05, 0.04, 0.03) and consumers 0.06 enter in percent; LMP 45 / 100; shortfall
     * 0.18; then the tariff (0.02, -0.01, 1.5, 2, 2.5, 1): 12 floats for 3 buses. */
    MarketEei e;
    market_eei_init(&e, 3, 3);
    e.prosumer[0] = 0.05;
    e.prosumer[1] = 0.04;
    e.prosumer[2] = 0.03;
    e.consumer_mean = 0.06;
    Tariff t = tariff(3, 0.02, -0.01, 0, 1);
    t.fixed_prosumer[0] = 1.5;
    t.fixed_prosumer[1] = 2;
    t.fixed_prosumer[2] = 2.5;
    float o[12];
    cr_assert_eq(market_leader_obs_dim(3), 12);
    market_leader_obs(&e, 45, 100, 0.18, &t, o);
    float want[12] = {5, 4, 3, 6, 0.45f, 0.18f, 0.02f, -0.01f, 1.5f, 2, 2.5f, 1};
    for (int i = 0; i < 12; i++) cr_expect_float_eq(o[i], want[i], 1e-6, "obs[%d] = %g, want %g", i, o[i], want[i]);
    market_eei_free(&e);
    tariff_free(&t);
}
