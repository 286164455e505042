/* ppo_config.h: PpoConfig from YAML, with SB3's parameter names.
 *
 * Keys read from a map (the file's top level for a single-agent run, `aggregator.ppo` and
 * `utility.ppo` in the game): learning_rate (number or "lin_X"), n_steps, batch_size,
 * n_epochs, gamma, gae_lambda, clip_range (number or "lin_X"), clip_range_vf (number or
 * null), normalize_advantage, ent_coef, vf_coef, max_grad_norm, target_kl (number or null),
 * use_sde (only false is accepted: gSDE is not implemented), reset_num_timesteps,
 * policy_kwargs {net_arch: [64, 64] | {pi: [...], vf: [...]}, activation_fn: tanh|relu,
 * log_std_init, ortho_init}, normalize (bool or {norm_obs, norm_reward, clip_obs, clip_reward}),
 * and one key of ours: wide_head (own | blas, the kernel of a wide policy output layer; nn/mlp.c). */
#ifndef SB_PPO_CONFIG_H
#define SB_PPO_CONFIG_H

#include <stddef.h>

#include "config/yamltree.h"
#include "rl/ppo.h"

/* Fill c (already holding defaults) from the keys present in map m (NULL: root). Errors as
 * "file:line:col: key: what is wrong". Does not check for unknown keys (the caller does,
 * once, over the whole document). */
int ppo_config_from_yaml(const YtDoc *d, const YtNode *m, PpoConfig *c, char *err, size_t n);

#endif
