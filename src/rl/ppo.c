/* ppo.c: PPO as Stable-Baselines3 2.3.2 computes it (see ppo.h). */
#include "rl/ppo.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

void ppo_config_default(PpoConfig *c) {
    memset(c, 0, sizeof *c);
    c->learning_rate = 3e-4;
    c->n_steps = 2048;
    c->batch_size = 64;
    c->n_epochs = 10;
    c->gamma = 0.99;
    c->gae_lambda = 0.95;
    c->clip_range = 0.2;
    c->clip_range_vf = 0.0;
    c->normalize_advantage = 1;
    c->ent_coef = 0.0;
    c->vf_coef = 0.5;
    c->max_grad_norm = 0.5;
    c->target_kl = 0.0;
    c->reset_num_timesteps = 1;
    c->n_pi = c->n_vf = 2;
    c->pi_arch[0] = c->pi_arch[1] = 64;
    c->vf_arch[0] = c->vf_arch[1] = 64;
    c->activation = MLP_TANH;
    c->log_std_init = 0.0;
    c->ortho_init = 1;
    c->norm_obs = c->norm_reward = 0;
    c->clip_obs = 10.0;
    c->clip_reward = 10.0;
}

int ppo_config_validate(const PpoConfig *c, char *err, size_t n) {
    if (!(c->learning_rate >= 0)) return sb_err(err, n, "learning_rate: must be >= 0");
    if (c->n_steps < 1) return sb_err(err, n, "n_steps: must be >= 1");
    if (c->batch_size < 2)
        return sb_err(err, n, "batch_size: must be > 1 (advantage normalisation needs two samples)");
    if (c->n_epochs < 1) return sb_err(err, n, "n_epochs: must be >= 1");
    if (!(c->gamma >= 0 && c->gamma <= 1)) return sb_err(err, n, "gamma: must be in [0, 1]");
    if (!(c->gae_lambda >= 0 && c->gae_lambda <= 1)) return sb_err(err, n, "gae_lambda: must be in [0, 1]");
    if (!(c->clip_range > 0)) return sb_err(err, n, "clip_range: must be > 0");
    if (!(c->max_grad_norm > 0)) return sb_err(err, n, "max_grad_norm: must be > 0");
    if (c->n_pi < 0 || c->n_pi > MLP_MAX_LAYERS - 1 || c->n_vf < 0 || c->n_vf > MLP_MAX_LAYERS - 1)
        return sb_err(err, n, "policy_kwargs.net_arch: at most %d hidden layers", MLP_MAX_LAYERS - 1);
    return 0;
}
