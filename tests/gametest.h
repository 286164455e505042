/* gametest.h: helpers shared by the tariff-game tests (header-only; Criterion asserts). */
#ifndef SB_GAMETEST_H
#define SB_GAMETEST_H

#include <criterion/criterion.h>

#include "game/game.h"
#include "game/world.h"
#include "testutil.h"
#include "util/common.h"
#include "util/fsutil.h"

/* The grid and households of c (loaded once the config is final). */
static inline GameWorld gt_world_of(const GameConfig *c) {
    GameWorld w;
    char err[1024];
    cr_assert_eq(game_world_load(&w, c, err, sizeof err), 0, "%s", err);
    return w;
}

/* One seed of c in dir; the world is loaded and freed around the run. */
static inline int gt_run_seed(const GameConfig *c, long seed, const char *dir, int resume, const GameOptions *o,
                              GameResult *r, char *err, size_t n) {
    GameWorld w = gt_world_of(c);
    int rc = game_run(c, &w, seed, dir, resume, o, r, err, n);
    game_world_free(&w);
    return rc;
}

/* The records of two run directories are the same bytes, and so are the results. */
static inline void gt_expect_same_records(const char *a, const char *b, const GameResult *ra, const GameResult *rb) {
    const char *files[] = {"steps.csv", "periods.csv", "days.csv", "hourly.csv", "draws.csv", "training.csv"};
    for (size_t i = 0; i < SB_ARRAY_LEN(files); i++) {
        char pa[512], pb[512];
        path_join(pa, sizeof pa, a, files[i]);
        path_join(pb, sizeof pb, b, files[i]);
        cr_expect(tu_same_file(pa, pb), "%s differs between %s and %s", files[i], a, b);
    }
    cr_expect_eq(ra->imv_rl, rb->imv_rl);
    cr_expect_eq(ra->imv_no_storage, rb->imv_no_storage);
    cr_expect_eq(ra->eei_gap_learned, rb->eei_gap_learned);
    cr_expect_eq(ra->eei_gap_baseline, rb->eei_gap_baseline);
    cr_expect_eq(ra->shortfall, rb->shortfall);
    cr_expect_eq(ra->alpha_buy, rb->alpha_buy);
    cr_expect_eq(ra->fixed_consumer, rb->fixed_consumer);
    cr_assert_eq(ra->n_class, rb->n_class);
    cr_expect(!memcmp(ra->fixed_class, rb->fixed_class, (size_t)ra->n_class * sizeof(double)));
    cr_expect_eq(ra->train_env_steps, rb->train_env_steps);
}

#endif
