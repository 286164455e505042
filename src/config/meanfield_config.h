/* meanfield_config.h: the reader of mean-field game files (`game: mean_field`, see
 * configs/games/ and game/meanfield.h).
 *
 *   game: mean_field
 *   states: 3                 # S
 *   leader_actions: 2         # L
 *   follower_actions: 2       # F
 *   gamma: 0.8                # the followers' discount, [0, 1)
 *   entropy: 0.5              # the followers' entropy weight tau, > 0
 *   reward:
 *     follower: {base: [s][aL][aF], mean_field: [s][aL][aF][s2][aF2]}   # mean_field optional (0)
 *     leader:   {base: [aL],        mean_field: [aL][s][aF]}            # likewise
 *   transition: [s][aL][aF][s']                                          # rows sum to 1
 *   solver:                   # optional, every key has a default (game/meanfield.c)
 *     method: mfe | exact | nested | ac_smfg | ppo
 *     seed: 0                 # sample-based methods
 *     leader_policy: [..]     # (L) the policy mfe solves for, on the simplex
 *     alpha: 5                # the leader's softmax inverse temperature
 *     history_every: 0        # samples between --history rows of ac_smfg and nested from samples
 *                             # (0: automatic); ppo writes one after each leader update, the
 *                             # model-based methods one per iteration
 *     mfe: {tol, max_iter, damping}
 *     exact: {grid_points, starts, tol}
 *     nested: {tol, max_iter, damping, inner: exact | samples, inner_steps}
 *     ac_smfg: {iterations, power, leader_step, follower_step, critic_step, mean_field_step,
 *               leader_entropy, tol}
 *     ppo: {mean_field_steps, and the keys of the tabular games' solver.ppo except seed (the
 *           solver's) and the agents' gamma and ent_coef (set from the game, meanfield_ppo.c)}
 */
#ifndef SB_MEANFIELD_CONFIG_H
#define SB_MEANFIELD_CONFIG_H

#include <stddef.h>

#include "game/meanfield.h"

/* Load a game file over mfg_settings_default. Errors `file:line:col: key: what is wrong` cover
 * syntax, unknown keys, wrong nesting or sizes, rows not summing to 1, gamma outside [0, 1),
 * entropy <= 0, a leader policy off the simplex and settings out of range. Returns 0 or -1;
 * on failure nothing is left allocated. */
int mfg_load_file(const char *path, MfgGame *g, MfgSettings *s, char *err, size_t errlen);
/* The same with command-line overrides "a.b.c=value" applied first (yamltree.h's yt_set; a
 * bad value is reported at "--set"). */
int mfg_load_file_set(const char *path, const char *const *sets, int n_sets, MfgGame *g, MfgSettings *s, char *err,
                      size_t errlen);
/* The same from a string; `name` stands for the file in messages. */
int mfg_load_string(const char *name, const char *text, MfgGame *g, MfgSettings *s, char *err, size_t errlen);

#endif
