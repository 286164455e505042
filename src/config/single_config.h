/* single_config.h: a single-agent run's YAML (configs/cartpole.yaml, configs/pendulum.yaml).
 * Top-level keys: env, seed, n_envs, total_timesteps, eval_episodes, blas_threads, and
 * every PPO key of ppo_config.h (SB3 names). Unknown keys are errors. */
#ifndef SB_SINGLE_CONFIG_H
#define SB_SINGLE_CONFIG_H

#include <stddef.h>

#include "config/yamltree.h"
#include "rl/single.h"

int single_config_from_yaml(const YtDoc *d, SingleConfig *c, char *err, size_t n);

#endif
