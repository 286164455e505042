/* single.h: a single-agent training run (CartPole-v1, Pendulum-v1): PPO on a vector of
 * environments, progress rows after every update, a deterministic evaluation at the end.
 *
 * Output directory (when out_dir is not NULL):
 *   progress.csv   one row per update (SB3 logger fields), flushed row by row
 *   summary.json   written atomically at the end
 * The run is bitwise reproducible for a seed, config and BLAS thread count. */
#ifndef SB_SINGLE_H
#define SB_SINGLE_H

#include <stddef.h>
#include <stdint.h>

#include "rl/ppo.h"

typedef struct {
    char env[64];          /* registry name, e.g. "Pendulum-v1" */
    uint64_t seed;
    int n_envs;
    long total_timesteps;
    int eval_episodes;     /* deterministic episodes after training (SB3 evaluate_policy) */
    int blas_threads;
    PpoConfig ppo;
} SingleConfig;

void single_config_default(SingleConfig *c);

typedef struct {
    long env_steps;
    double wall_s, steps_per_s;
    double rollout_s, update_s;        /* summed over updates */
    double eval_return_mean, eval_return_std;
    double train_return_mean_last100;
} SingleResult;

/* Progress is drawn on stderr when it is a terminal and quiet is 0. config_text, if not
 * NULL, is recorded in summary.json. Returns 0, or -1 with err (I/O, bad env). */
int single_train(const SingleConfig *c, const char *out_dir, int quiet, SingleResult *res, char *err,
                 size_t n);

#endif
