/* tabular_config.h: the reader of two-player tabular game files (`game: tabular`, see
 * configs/games/ and game/tabular.h): the game and its `solver:` section. */
#ifndef SB_TABULAR_CONFIG_H
#define SB_TABULAR_CONFIG_H

#include <stddef.h>

#include "config/yamltree.h"
#include "game/tabular.h"

/* Load a game file: the game and its `solver:` section over tab_settings_default. Errors,
 * with `file:line:col: key: what is wrong`, cover syntax, unknown keys, wrong nesting or
 * sizes, rows not summing to 1 within GF_ROW_TOL (config/gamefile.h) and gammas outside
 * [0, 1). Returns 0 or -1. On failure nothing is left allocated. */
int tab_load_file(const char *path, TabGame *g, TabSettings *s, char *err, size_t errlen);
/* The same from a string; `name` stands for the file in messages. */
int tab_load_string(const char *name, const char *text, TabGame *g, TabSettings *s, char *err,
                    size_t errlen);

/* solver.ppo (map m) over p: rounds, steps, horizon, n_envs, seed, fresh_*, follower_obs and
 * SB3 hyperparameters under `leader:` and `follower:`, validated. Shared with the mean-field
 * reader, whose `solver.ppo` has the same keys. */
int tab_ppo_settings_from_yaml(const YtDoc *d, const YtNode *m, TabPpoSettings *p, char *err, size_t n);

#endif
