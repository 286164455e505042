/* test_world.c: a game's grid and households, cross-checked (game/world.h), and one market
 * clearing (game/clear.h): the cost basis (per step and per hour) and the base-load shape
 * worked by hand, households generated on case14's load buses, and bad input reported at its
 * place in the config. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/game_config.h"
#include "game/clear.h"
#include "game/world.h"
#include "testutil.h"

/* Write text to a fresh file; returns its path in out. */
static void write_tmp(char *out, size_t cap, const char *suffix, const char *text) {
    static int k;
    snprintf(out, cap, "/tmp/sb-world-%ld-%d%s", (long)getpid(), k++, suffix);
    FILE *f = fopen(out, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* A config read from `text` (as file "cfg.yaml" in /tmp). 0 or -1 with err. */
static int config_from(const char *text, GameConfig *c, char *err, size_t n) {
    YtDoc d;
    game_config_default(c);
    cr_assert_eq(yt_load_string(&d, "/tmp/cfg.yaml", text, err, n), 0, "%s", err);
    int rc = game_config_from_yaml(&d, c, err, n);
    yt_free(&d);
    return rc;
}

/* Two buses: g1 at bus 1 costs 0.1 p^2 + 10 p, bus 2 has Pd 30 and the households (one
 * prosumer, 100 consumers); an unlimited line between them. Two steps a day with consumer
 * shape (1, 3): the default base-load shape is that shape over its mean 2, (0.5, 1.5). */
static const char *GRID = "name: two\n"
                          "base_mva: 100\n"
                          "cost_basis: %s\n"
                          "buses: [{id: 1, type: ref}, {id: 2, type: pq, pd: 30}]\n"
                          "generators: [{name: g1, bus: 1, pmax: 1000, cost: [0.1, 10, 0]}]\n"
                          "branches: [{from: 1, to: 2, x: 0.1}]\n";
static const char *GAME = "grid: %s\n"
                          "steps_per_day: 2\n"
                          "step_hours: 3\n"
                          "shapes: {consumer: [1, 3], prosumer: [1, 1], solar: [0, 0]}\n"
                          "households:\n"
                          "  h: {bus: 2, prosumers: 1, income: 1000, storage_kwh: 0, consumers: 100, consumer_income: 1000}\n"
                          "solar: {generators: []}\n"
                          "utility: {fixed_charge_bounds: [0, 10000]}\n";

/* LMP and cost of one step at hour h with 60,000 kWh of consumers' demand, no fleet. */
static void clear_one(const char *basis, int hour, double *lmp, double *cost, double *load_mwh) {
    char grid[256], text[2048], err[1024];
    snprintf(text, sizeof text, GRID, basis);
    write_tmp(grid, sizeof grid, ".yaml", text);
    snprintf(text, sizeof text, GAME, grid);
    GameConfig c;
    cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
    GameWorld w;
    cr_assert_eq(game_world_load(&w, &c, err, sizeof err), 0, "%s", err);
    MarketClear m;
    cr_assert_eq(market_clear_setup(&m, &w, 5000, err, sizeof err), 0, "%s", err);
    HhStep hs;
    hh_step_alloc(&hs, &w.hh);
    hs.consumer_kwh[0] = 60000;
    double fleet = 0;
    market_clear(&m, hour, &hs, &fleet, 0, lmp, NULL);
    double hours = w.per_step ? 1 : c.step_hours;
    *cost = dispatch_info(m.ds)->objective * hours;
    *load_mwh = game_world_mwh(&w, m.load[1]);
    hh_step_free(&hs);
    market_clear_cleanup(&m);
    game_world_free(&w);
    game_config_free(&c);
    remove(grid);
}

Test(world, cost_basis_per_step_and_per_hour_by_hand) {
    double lmp, cost, load;
    /* per_step: quantities are MWh per step. Bus 2 at hour 1: base 30 * 1.5 = 45 plus the
     * consumers' 60 MWh = 105 MWh; g1 makes 105: LMP = 2 * 0.1 * 105 + 10 = 31 $/MWh, cost
     * 0.1 * 105^2 + 10 * 105 = 1102.5 + 1050 = 2152.5 $ for the step. */
    clear_one("per_step", 1, &lmp, &cost, &load);
    cr_expect_float_eq(lmp, 31, 1e-7);
    cr_expect_float_eq(cost, 2152.5, 1e-6);
    cr_expect_float_eq(load, 105, 1e-9);
    /* per_hour: MW and $/h. Bus 2 at hour 1: base 30 MW * 1.5 = 45 MW plus 60 MWh over 3 h = 20
     * MW: 65 MW. LMP = 2 * 0.1 * 65 + 10 = 23 $/MWh; cost (0.1 * 65^2 + 10 * 65) $/h = 1072.5
     * $/h, 3217.5 $ for the 3-hour step; the bus took 65 MW * 3 h = 195 MWh. */
    clear_one("per_hour", 1, &lmp, &cost, &load);
    cr_expect_float_eq(lmp, 23, 1e-7);
    cr_expect_float_eq(cost, 3217.5, 1e-6);
    cr_expect_float_eq(load, 195, 1e-9);
    /* Hour 0 has the base at half its Pd: 15 + 20 = 35 MW: LMP 17 $/MWh. */
    clear_one("per_hour", 0, &lmp, &cost, &load);
    cr_expect_float_eq(lmp, 17, 1e-7);
}

Test(world, base_load_shape_default_given_and_none) {
    char grid[256], text[4096], err[1024];
    snprintf(text, sizeof text, GRID, "per_hour");
    write_tmp(grid, sizeof grid, ".yaml", text);
    const char *extra[3] = {"", "base_load_shape: [2, 0.25]\n", "base_load: none\n"};
    const double want[3][2] = {{15, 45}, {60, 7.5}, {0, 0}};
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, GAME, grid);
        strncat(text, extra[k], sizeof text - strlen(text) - 1);
        GameConfig c;
        cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
        GameWorld w;
        cr_assert_eq(game_world_load(&w, &c, err, sizeof err), 0, "%s", err);
        for (int h = 0; h < 2; h++)
            cr_expect_float_eq(w.base_load[h * 2 + 1], want[k][h], 1e-12, "case %d hour %d: %g", k, h,
                               w.base_load[h * 2 + 1]);
        cr_expect_eq(w.base_load[0], 0.0, "bus 1 has no load");
        game_world_free(&w);
        game_config_free(&c);
    }
    remove(grid);
}

Test(world, case14_households_on_every_load_bus) {
    /* case14 has 11 buses with Pd > 0 (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14; total 259 MW):
     * 11 aggregators, each with one group per class; bus 3 (94.2 MW) gets the most. */
    GameConfig c;
    char err[1024];
    const char *text = "grid: case14.m\n"
                       "households:\n"
                       "  from_load:\n"
                       "    households: 20000\n"
                       "    prosumers: {low: {share: 0.1, income: 25000, storage_kwh: 30},\n"
                       "                high: {share: 0.05, income: 65000, storage_kwh: 100}}\n"
                       "    consumers: {share: 0.85, income: 15000}\n"
                       "solar: {generators: []}\n";
    cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
    snprintf(c.grid_path, sizeof c.grid_path, "data/matpower/case14.m"); /* from the repository root */
    GameWorld w;
    cr_assert_eq(game_world_load(&w, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(w.per_step, 0, "MATPOWER costs are per hour");
    cr_expect_float_eq(w.mwh_per_unit, 3, 1e-15);
    cr_assert_eq(w.hh.n_bus, 11);
    cr_expect_eq(w.hh.n_class, 2);
    cr_expect_eq(hh_total_households(&w.hh), 20000);
    int most = 0;
    for (int b = 1; b < 11; b++)
        if (w.hh.consumers[b] > w.hh.consumers[most]) most = b;
    cr_expect_eq(w.hh.bus_id[most], 3);
    /* Bus 3's share: 94.2 / 259 of the 20,000 - 33 set aside, about 7262 + 3. */
    long at3 = hh_bus_prosumers(&w.hh, most) + w.hh.consumers[most];
    cr_expect(labs(at3 - 7265) <= 1, "bus 3 has %ld households", at3);
    cr_expect_eq(w.grid_bus[most], 2);
    game_world_free(&w);
    game_config_free(&c);
}

Test(world, bad_bus_and_solar_name_are_reported_where_written) {
    GameConfig c;
    char err[1024];
    const char *text = "grid: paper3.yaml\n"
                       "households:\n"
                       "  x: {bus: 9, prosumers: 1, income: 1, storage_kwh: 1, consumers: 1, consumer_income: 1}\n"
                       "utility: {fixed_charge_bounds: [0, 10800]}\n";
    cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
    snprintf(c.grid_path, sizeof c.grid_path, "configs/grids/paper3.yaml");
    GameWorld w;
    cr_expect_eq(game_world_load(&w, &c, err, sizeof err), -1);
    cr_expect(strstr(err, "/tmp/cfg.yaml:3:12: households.x.bus: bus 9 is not in the grid") != NULL, "%s", err);
    game_config_free(&c);
    text = "grid: x.yaml\nsolar: {generators: [sun], capacity_mwh: [1]}\n";
    cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
    snprintf(c.grid_path, sizeof c.grid_path, "configs/grids/paper3.yaml");
    cr_expect_eq(game_world_load(&w, &c, err, sizeof err), -1);
    cr_expect(strstr(err, "/tmp/cfg.yaml:2:21: solar.generators: no generator named \"sun\"") != NULL, "%s", err);
    game_config_free(&c);
    /* A grid that is not there: the key that named it, and the reader's own message. */
    text = "grid: nowhere.m\n";
    cr_assert_eq(config_from(text, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(game_world_load(&w, &c, err, sizeof err), -1);
    cr_expect(strstr(err, "/tmp/cfg.yaml:1:7: grid: ") != NULL && strstr(err, "/tmp/nowhere.m") != NULL, "%s", err);
    game_config_free(&c);
}

/* Through the binary: bad households exit 2 with the config's file:line:col and leave nothing
 * behind (the world is loaded before the run directory is made). */
static void expect_refused(const char *config_text, const char *want) {
    char cfg[256], dir[256], cmd[1024], out[4096];
    write_tmp(cfg, sizeof cfg, ".yaml", config_text);
    snprintf(dir, sizeof dir, "/tmp/sb-world-%ld-out", (long)getpid());
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --quiet", tu_bin(), cfg, dir);
    cr_expect_eq(tu_run(cmd, out, sizeof out), 2, "%s", out);
    char where[512];
    snprintf(where, sizeof where, "%s:%s", cfg, want);
    cr_expect(strstr(out, where) != NULL, "got: %s\nwant: %s", out, where);
    cr_expect_neq(access(dir, F_OK), 0, "%s was created for a refused config", dir);
    remove(cfg);
}

Test(world, cli_refuses_bad_households_and_writes_nothing) {
    char text[2048];
    snprintf(text, sizeof text,
             "grid: %s/configs/grids/paper3.yaml\n"
             "households:\n"
             "  b1: {bus: 1, prosumers: 10, income: 1, storage_kwh: 1, consumers: 10, consumer_income: 1}\n"
             "  far: {bus: 7, prosumers: 10, income: 1, storage_kwh: 1, consumers: 10, consumer_income: 1}\n"
             "utility: {fixed_charge_bounds: [0, 1000]}\n",
             getcwd((char[1024]){0}, 1024));
    expect_refused(text, "4:14: households.far.bus: bus 7 is not in the grid");
    snprintf(text, sizeof text,
             "grid: %s/data/matpower/case14.m\n"
             "households:\n"
             "  from_load:\n"
             "    households: 1000\n"
             "    prosumers: {low: {share: 0.2, income: 1, storage_kwh: 1}}\n"
             "    consumers: {share: 0.7, income: 1}\n"
             "solar: {generators: []}\n",
             getcwd((char[1024]){0}, 1024));
    expect_refused(text, "4:5: households.from_load: the shares of the prosumer classes and the consumers must sum "
                         "to 1, they sum to 0.9");
}
