/* test_game_config.c: configs/paper.yaml and configs/no-rl.yaml load with the SPEC's and
 * [P] Table 4's numbers; bad files are rejected with file:line:col (unknown key, wrong type,
 * out of range, bad list lengths, bad choices) and cross-field errors name the key. */
#include <criterion/criterion.h>

#include "config/game_config.h"
#include "testutil.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>

/* [P] Table 4, written out here rather than taken from game_config_default. */
static void expect_table4(const PpoConfig *p, int first_width) {
    cr_expect_float_eq(p->learning_rate, 3e-4, 1e-15);
    cr_expect_float_eq(p->gamma, 0.9999, 1e-15);
    cr_expect_float_eq(p->ent_coef, 0.01, 1e-15);
    cr_expect_eq(p->batch_size, 128);
    cr_expect_eq(p->n_epochs, 10);
    cr_expect_eq(p->n_steps, 1200);
    cr_expect_float_eq(p->clip_range, 0.2, 1e-15);
    cr_expect_eq(p->n_pi, 2);
    cr_expect_eq(p->n_vf, 2);
    cr_expect(p->pi_arch[0] == first_width && p->pi_arch[1] == 36, "pi [%d, %d]", p->pi_arch[0], p->pi_arch[1]);
    cr_expect(p->vf_arch[0] == first_width && p->vf_arch[1] == 36, "vf [%d, %d]", p->vf_arch[0], p->vf_arch[1]);
    /* SB3 defaults the table leaves out (SPEC 7). */
    cr_expect_float_eq(p->gae_lambda, 0.95, 1e-15);
    cr_expect_float_eq(p->vf_coef, 0.5, 1e-15);
    cr_expect_float_eq(p->max_grad_norm, 0.5, 1e-15);
    cr_expect_eq(p->lr_linear, 0);
}

Test(game_config, paper_yaml_holds_spec_and_table4) {
    GameConfig c;
    char err[512];
    cr_assert_eq(game_config_load("configs/paper.yaml", &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.days, 100);
    cr_expect_eq(c.seeds, 5);
    cr_expect_eq(c.steps_per_day, 8);
    cr_expect_eq(c.leader_period_days, 3);
    cr_expect_eq(game_period_steps(&c), 24);
    cr_expect_eq(game_total_steps(&c), 800);
    cr_expect_eq(c.schedule, GAME_SINGLE_LOOP);
    cr_expect_float_eq(c.voll, 5000, 1e-12);
    cr_expect_str_eq(c.grid, "grids/paper3.yaml");
    cr_expect_str_eq(c.grid_path, "configs/grids/paper3.yaml"); /* relative to the config file */
    cr_expect_eq(c.storage, 1);
    cr_expect_eq(c.learning, 1);
    /* SPEC 3. */
    cr_expect_eq(c.hh.n_bus, 3);
    cr_expect_str_eq(c.hh.bus_name[2], "b3");
    cr_expect_str_eq(c.hh.class_name[2], "b3");
    cr_expect_eq(c.hh.bus_id[1], 2);
    cr_expect_eq(c.hh.prosumers[0], 1000);
    cr_expect_eq(c.hh.prosumers[1], 500);
    cr_expect_eq(c.hh.prosumers[2], 300);
    cr_expect_float_eq(c.hh.class_income[2], 65000, 1e-9);
    cr_expect_float_eq(c.hh.storage_kwh[1], 60, 1e-12);
    cr_expect_eq(c.hh.consumers[2], 3000);
    cr_expect_float_eq(c.hh.consumer_income[0], 15000, 1e-9);
    cr_expect_float_eq(hh_fleet_capacity_kwh(&c.hh, 2), 30000, 1e-9);
    cr_expect_float_eq(c.hh.shape_consumer[5], 0.9967, 1e-15);
    cr_expect_float_eq(c.hh.shape_prosumer[6], 0.8, 1e-15);
    cr_expect_float_eq(c.hh.shape_solar[4], 0.9, 1e-15);
    cr_expect_float_eq(c.hh.demand_scale_kwh, 16.667, 1e-12);
    cr_expect_float_eq(c.hh.efficiency, 0.8, 1e-15);
    cr_expect_eq(c.noise, HH_NOISE_PER_HOUSEHOLD);
    cr_expect(c.hh.noise_low == 0.8 && c.hh.noise_mode == 1.0 && c.hh.noise_high == 1.2);
    cr_expect_eq(c.hh.n_solar, 2);
    cr_expect_str_eq(c.solar_gen[1], "solar2");
    cr_expect_float_eq(c.hh.solar_capacity_mwh[0], 30, 1e-12);
    /* SPEC 4 and 5. */
    cr_expect_eq(c.aggregator.action_levels, 201);
    cr_expect_eq(c.aggregator.action, AGG_DISCRETE);
    cr_expect_eq(c.aggregator.play, AGG_PLAY_MEAN);
    cr_expect_eq(c.aggregator.train_steps, 2000);
    cr_expect_eq(c.aggregator.episode_days, 3);
    cr_expect_float_eq(c.aggregator.belief_step, 0.9, 1e-15);
    cr_expect_eq(c.aggregator.reward_scale, 0.0); /* auto */
    cr_expect_eq(c.utility.train_steps, 2000);
    cr_expect_eq(c.utility.episode_periods, 10);
    cr_expect_float_eq(c.utility.kappa, 10, 1e-15);
    cr_expect_float_eq(c.utility.fixed_cost_per_day, 10800, 1e-9);
    cr_expect(c.utility.bounds.alpha_lo == 0 && c.utility.bounds.alpha_hi == 0.01);
    cr_expect_eq(c.utility.consumer_charge_balancing, 1);
    cr_expect_float_eq(c.utility.ppo.log_std_init, -1, 1e-15);
    cr_expect(c.utility.bounds.fixed_lo == 0 && c.utility.bounds.fixed_hi == 15);
    /* The [R] resolutions that differ from SPEC's first ones (configs/paper.yaml says why). */
    cr_expect_eq(c.hh.efficiency_charging_only, 1);
    cr_expect_eq(c.aggregator.reward_battery, 1);
    cr_expect_eq(c.aggregator.episode_terminate, 1);
    cr_expect_eq(c.utility.action_tanh, 1);
    cr_expect_eq(c.utility.initial_mean_baseline, 0);
    cr_expect_eq(c.utility.eei_gap_groups, 1);
    cr_expect_float_eq(c.utility.surplus_penalty, 10, 1e-15);
    expect_table4(&c.aggregator.ppo, 18);
    expect_table4(&c.utility.ppo, 24);
    game_config_free(&c);
}

Test(game_config, defaults_are_the_paper_run) {
    GameConfig c;
    char err[512];
    game_config_default(&c);
    cr_assert_eq(game_config_validate(&c, err, sizeof err), 0, "%s", err);
    expect_table4(&c.aggregator.ppo, 18);
    expect_table4(&c.utility.ppo, 24);
    cr_expect_eq(c.days, 100);
    cr_expect_eq(c.aggregator.action_levels, 201);
    /* Every value of configs/paper.yaml: the two records are the same JSON. */
    GameConfig f;
    cr_assert_eq(game_config_load("configs/paper.yaml", &f, err, sizeof err), 0, "%s", err);
    snprintf(f.source, sizeof f.source, "%s", c.source); /* the file name is not a value */
    char *jd = NULL, *jf = NULL;
    size_t nd = 0, nf = 0;
    FILE *md = open_memstream(&jd, &nd), *mf = open_memstream(&jf, &nf);
    Json j;
    json_init(&j, md, 0);
    game_config_json(&c, &j, NULL);
    json_init(&j, mf, 0);
    game_config_json(&f, &j, NULL);
    fclose(md);
    fclose(mf);
    cr_expect_str_eq(jd, jf);
    free(jd);
    free(jf);
    /* An empty file is the defaults. */
    YtDoc d;
    cr_assert_eq(yt_load_string(&d, "e.yaml", "{}\n", err, sizeof err), 0, "%s", err);
    cr_expect_eq(game_config_from_yaml(&d, &c, err, sizeof err), 0, "%s", err);
    yt_free(&d);
    game_config_free(&c);
    game_config_free(&f);
}

Test(game_config, no_rl_yaml_is_the_baseline) {
    GameConfig c;
    char err[512];
    cr_assert_eq(game_config_load("configs/no-rl.yaml", &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.storage, 0);
    cr_expect_eq(c.learning, 0);
    cr_expect_eq(c.utility.learn, 0);
    cr_expect_eq(c.report_days, 3);
    /* Baseline fixed charge: 10,800 $/day / 10,800 households = 1 $/household/day. */
    Tariff t;
    tariff_init(&t, c.hh.n_class);
    market_baseline_tariff(&c.hh, c.utility.fixed_cost_per_day, &t);
    cr_expect_float_eq(t.fixed_consumer, 1.0, 1e-15);
    cr_expect_float_eq(t.fixed_prosumer[2], 1.0, 1e-15);
    tariff_free(&t);
    game_config_free(&c);
}

/* Parse `text` as file "t.yaml" over the defaults; return the reader's status, message in err. */
static int parse(const char *text, GameConfig *c, char *err, size_t n) {
    YtDoc d;
    game_config_default(c);
    cr_assert_eq(yt_load_string(&d, "t.yaml", text, err, n), 0, "%s", err);
    int rc = game_config_from_yaml(&d, c, err, n);
    yt_free(&d);
    return rc;
}

#define EXPECT_ERROR(text, want)                                                   \
    do {                                                                           \
        GameConfig c_;                                                             \
        char e_[512] = "";                                                         \
        cr_expect_eq(parse(text, &c_, e_, sizeof e_), -1, "accepted: %s", text);   \
        cr_expect(strstr(e_, want) != NULL, "got \"%s\", want \"%s\"", e_, want);  \
        game_config_free(&c_);                                                     \
    } while (0)

Test(game_config, errors_carry_file_line_col) {
    /* Unknown keys, at the top and nested (the key's own position). */
    EXPECT_ERROR("days: 10\nfoo: 1\n", "t.yaml:2:1: foo: unknown key");
    EXPECT_ERROR("aggregator:\n  trian_steps: 5\n", "t.yaml:2:3: aggregator.trian_steps: unknown key");
    EXPECT_ERROR("utility:\n  ppo:\n    gama: 0.9\n", "t.yaml:3:5: utility.ppo.gama: unknown key");
    /* Wrong types. */
    EXPECT_ERROR("days: ten\n", "t.yaml:1:7: days: expected an integer");
    EXPECT_ERROR("storage: maybe\n", "t.yaml:1:10: storage: expected true or false");
    EXPECT_ERROR("aggregator: 3\n", "t.yaml:1:13: aggregator: expected a mapping");
    /* Out of range, with the value. */
    EXPECT_ERROR("utility:\n  kappa: -1\n", "t.yaml:2:10: utility.kappa: must be in [0, 1e+09], got -1");
    EXPECT_ERROR("efficiency: 1.5\n", "t.yaml:1:13: efficiency: must be in");
    EXPECT_ERROR("aggregator:\n  ppo:\n    gamma: 2\n", "t.yaml:3:12: gamma: must be in [0, 1]");
    EXPECT_ERROR("shapes:\n  solar: [0, 0, 0.2, 1.7, 0.9, 0.4, 0, 0]\n", "t.yaml:2:22: shapes.solar: item 3");
    /* Lists of the wrong length. */
    EXPECT_ERROR("shapes:\n  consumer: [1, 2]\n", "t.yaml:2:13: shapes.consumer: expected steps_per_day = 8 values, got 2");
    EXPECT_ERROR("utility:\n  alpha_bounds: [0.1, -0.1]\n", "t.yaml:2:17: utility.alpha_bounds: expected [low, high]");
    EXPECT_ERROR("solar: {generators: [solar], capacity_mwh: [30, 30]}\n", "solar.capacity_mwh: one capacity per generator");
    /* Choices. */
    EXPECT_ERROR("schedule: loop\n", "t.yaml:1:11: schedule: expected single_loop | nested | ac_smfg, got \"loop\"");
    EXPECT_ERROR("noise: per_home\n", "noise: expected per_household | clt | per_bus");
    EXPECT_ERROR("aggregator:\n  play: median\n", "t.yaml:2:9: aggregator.play: expected mean | mode | sample");
    /* Households: every field required, named. */
    EXPECT_ERROR("households:\n  b1: {bus: 1, prosumers: 10, income: 1, storage_kwh: 1, consumers: 5}\n",
                 "t.yaml:2:7: households.b1: missing consumer_income");
    EXPECT_ERROR("households:\n  b1: {bus: 1, prosumers: 0, income: 1, storage_kwh: 1, consumers: 5, consumer_income: 1}\n",
                 "households.b1.prosumers: must be in [1,");
}

Test(game_config, cross_field_errors_name_the_key) {
    /* Changing steps_per_day without new shapes. */
    EXPECT_ERROR("steps_per_day: 4\n", "t.yaml: shapes.consumer: expected steps_per_day = 4 values, got 8");
    /* An even number of levels has no 0. */
    EXPECT_ERROR("aggregator:\n  action_levels: 200\n", "t.yaml: aggregator.action_levels: must be odd");
    /* The baseline charge (10,800 / 10,800 = 1) must be a feasible action. */
    EXPECT_ERROR("utility:\n  fixed_charge_bounds: [2, 5]\n", "utility.fixed_charge_bounds: the baseline charge");
    EXPECT_ERROR("report_days: 200\n", "report_days: must be in [1, days = 100]");
    EXPECT_ERROR("schedule: nested\nlearning: false\n", "schedule: nested needs learning: true");
    /* The bounds themselves are valid: a report window and a leader period as long as the run
     * (closed intervals [1, days]); one day more is not. */
    GameConfig c;
    char err[512];
    cr_expect_eq(parse("days: 5\nreport_days: 5\nleader_period_days: 5\n", &c, err, sizeof err), 0, "%s", err);
    game_config_free(&c);
    cr_expect_eq(parse("days: 5\nreport_days: 1\nleader_period_days: 1\n", &c, err, sizeof err), 0, "%s", err);
    game_config_free(&c);
    EXPECT_ERROR("days: 5\nreport_days: 6\n", "report_days: must be in [1, days = 5], got 6");
    EXPECT_ERROR("days: 5\nleader_period_days: 6\n", "leader_period_days: must be in [1, days = 5], got 6");
}

Test(game_config, overrides_and_small_configs) {
    GameConfig c;
    char err[512];
    /* Top-level train_steps sets both roles; a section's own key wins. reward_scale a number. */
    const char *text = "train_steps: 100\n"
                       "aggregator: {train_steps: 50, reward_scale: 12.5, action: gaussian, play: mode}\n"
                       "steps_per_day: 2\n"
                       "shapes: {consumer: [1, 2], prosumer: [0.5, 0.5], solar: [0, 1]}\n"
                       "households:\n"
                       "  north: {bus: 7, prosumers: 10, income: 30000, storage_kwh: 5, consumers: 20, consumer_income: 20000}\n"
                       "utility: {sell_above_buy: swap, fixed_charge_bounds: [0, 1000]}\n"
                       "solar: {generators: [pv], capacity_mwh: [12]}\n";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.aggregator.train_steps, 50);
    cr_expect_eq(c.utility.train_steps, 100);
    cr_expect_float_eq(c.aggregator.reward_scale, 12.5, 1e-15);
    cr_expect_eq(c.aggregator.action, AGG_GAUSSIAN);
    cr_expect_eq(c.aggregator.play, AGG_PLAY_MODE);
    cr_expect_eq(c.hh.n_bus, 1);
    cr_expect_eq(c.hh.bus_id[0], 7);
    cr_expect_str_eq(c.hh.bus_name[0], "north");
    cr_expect_eq(c.hh.steps_per_day, 2);
    cr_expect_float_eq(c.hh.shape_consumer[1], 2, 1e-15);
    cr_expect_eq(c.utility.bounds.sell_rule, MARKET_SELL_SWAP);
    cr_expect_eq(c.hh.n_solar, 1);
    cr_expect_str_eq(c.solar_gen[0], "pv");
    cr_expect_float_eq(c.hh.solar_capacity_mwh[0], 12, 1e-15);
    /* Baseline charge here: 10,800 / 30 households = 360 $/household/day, inside [0, 1000]. */
    game_config_free(&c);
}

Test(game_config, buses_may_share_an_income_class) {
    /* Three buses, two of them in class "low": two classes, low (income 20,000) first as the
     * first bus names it, then b2's own. */
    GameConfig c;
    char err[512];
    const char *text = "households:\n"
                       "  b1: {bus: 1, prosumers: 10, income: 20000, storage_kwh: 1, consumers: 10, consumer_income: 1, class: low}\n"
                       "  b2: {bus: 2, prosumers: 10, income: 50000, storage_kwh: 1, consumers: 10, consumer_income: 1}\n"
                       "  b3: {bus: 3, prosumers: 30, income: 20000, storage_kwh: 1, consumers: 10, consumer_income: 1, class: low}\n"
                       "utility: {fixed_charge_bounds: [0, 1000]}\n";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.hh.n_class, 2);
    cr_expect_str_eq(c.hh.class_name[0], "low");
    cr_expect_str_eq(c.hh.class_name[1], "b2");
    cr_expect_eq(c.hh.group_class[2], 0);
    cr_expect_eq(hh_class_prosumers(&c.hh, 0), 40);
    game_config_free(&c);
    EXPECT_ERROR("households:\n"
                 "  b1: {bus: 1, prosumers: 10, income: 20000, storage_kwh: 1, consumers: 10, consumer_income: 1, class: low}\n"
                 "  b2: {bus: 2, prosumers: 10, income: 30000, storage_kwh: 1, consumers: 10, consumer_income: 1, class: low}\n",
                 "t.yaml:3:39: households.b2.income: 30000 differs from 20000, the income of class low at t.yaml:2:39 "
                 "(households.b1.income)");
}

Test(game_config, households_from_load_and_the_grid_keys) {
    GameConfig c;
    char err[512];
    const char *text = "grid: ../data/matpower/case14.m\n"
                       "cost_basis: per_hour\n"
                       "base_load: case\n"
                       "record: [grid]\n"
                       "households:\n"
                       "  from_load:\n"
                       "    households: 5000\n"
                       "    prosumers:\n"
                       "      low:  {share: 0.1, income: 25000, storage_kwh: 30}\n"
                       "      high: {share: 0.05, income: 65000, storage_kwh: 100}\n"
                       "    consumers: {share: 0.85, income: 15000}\n"
                       "solar: {generators: []}\n";
    cr_assert_eq(parse(text, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.from_load, 1);
    cr_expect_eq(c.from_load_households, 5000);
    cr_assert_eq(c.from_load_n_rows, 3);
    cr_expect_str_eq(c.from_load_rows[1].name, "high");
    cr_expect_float_eq(c.from_load_rows[1].storage_kwh, 100, 1e-15);
    cr_expect_float_eq(c.from_load_rows[2].share, 0.85, 1e-15);
    cr_expect_eq(c.cost_basis, COST_BASIS_PER_HOUR);
    cr_expect_eq(c.base_load, BASE_LOAD_CASE);
    cr_expect_eq(c.record, GAME_RECORD_GRID);
    cr_expect_eq(c.hh.n_solar, 0);
    /* The grid path resolves against the config file's directory ("t.yaml": the working one). */
    cr_expect_str_eq(c.grid_path, "../data/matpower/case14.m");
    game_config_free(&c);
    /* A table that does not sum to 1, at the table's position. */
    EXPECT_ERROR("households:\n  from_load:\n    households: 10\n    prosumers: {a: {share: 0.5, income: 1, "
                 "storage_kwh: 1}}\n    consumers: {share: 0.4, income: 1}\n",
                 "t.yaml:3:5: households.from_load: the shares of the prosumer classes and the consumers must sum to 1, "
                 "they sum to 0.9");
    EXPECT_ERROR("households:\n  from_load:\n    households: 10\n    consumers: {share: 1, income: 1}\n",
                 "households.from_load: missing prosumers");
    EXPECT_ERROR("households:\n  from_load:\n    households: 10\n    prosumers: {a: {share: 0.5, income: 1}}\n"
                 "    consumers: {share: 0.5, income: 1}\n",
                 "households.from_load.prosumers.a: missing storage_kwh");
    EXPECT_ERROR("cost_basis: hourly\n", "t.yaml:1:13: cost_basis: expected grid | per_step | per_hour");
    EXPECT_ERROR("record: [steps]\n", "t.yaml:1:10: record: expected grid");
    EXPECT_ERROR("base_load_shape: [1, 2]\n", "t.yaml:1:18: base_load_shape: expected steps_per_day = 8 values");
    EXPECT_ERROR("solar: {generators: [a, a], capacity_mwh: [1, 2]}\n", "solar.generators: \"a\" is named twice");
}

Test(game_config, json_record_is_valid_json_with_the_values) {
    /* Written to a file and read back by Python's json module (an independent parser). */
    GameConfig c;
    char err[512], out[4096];
    cr_assert_eq(game_config_load("configs/paper.yaml", &c, err, sizeof err), 0, "%s", err);
    char path[] = "/tmp/sb_game_config_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    Json j;
    json_init(&j, f, 2);
    game_config_json(&c, &j, NULL);
    json_end(&j);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,sys; d=json.load(open('%s')); "
             "print(d['days'], d['households']['b2']['prosumers'], d['utility']['ppo']['net_arch']['pi'], "
             "d['aggregator']['reward_scale'], d['shapes']['solar'][4])\"",
             path);
    int rc = tu_run(cmd, out, sizeof out);
    remove(path);
    game_config_free(&c);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "100 500 [24, 36] auto 0.9") != NULL, "%s", out);
}
