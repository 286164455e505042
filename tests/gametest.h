/* gametest.h: helpers shared by the tariff-game tests (header-only; Criterion asserts). */
#ifndef SB_GAMETEST_H
#define SB_GAMETEST_H

#include <criterion/criterion.h>

#include "game/game.h"
#include "game/world.h"

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

#endif
