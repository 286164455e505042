/* ppo.h: Proximal Policy Optimisation with Stable-Baselines3 2.3.2's semantics.
 *
 * Legend: N envs, T n_steps per env per rollout, O observation size, A action floats,
 * K logits width (discrete n, multi-discrete sum of nvec), B minibatch rows.
 *
 * One Ppo is one agent: a policy MLP (O -> hidden -> K or A), a value MLP (O -> hidden -> 1),
 * log_std (A) for Box spaces, all in one parameter buffer with gradients and Adam moments in
 * the same layout; an optional VecNormalize; a rollout buffer of T x N; its own Rng.
 * ppo_learn(N) follows SB3's learn(total_timesteps=N): whole rollouts of n_steps until at
 * least N steps are collected, each followed by one update. Networks, optimiser and
 * normaliser persist across calls (the game calls learn once per decision). */
#ifndef SB_PPO_H
#define SB_PPO_H

#include <stddef.h>
#include <stdint.h>

#include "io/npz.h"
#include "io/pspec.h"
#include "nn/mlp.h"
#include "rl/env.h"
#include "util/rng.h"

typedef struct {
    /* SB3 PPO(...) parameters, same names */
    double learning_rate;       /* initial value */
    int lr_linear;              /* 1: linear schedule to 0 over each learn call (zoo's lin_X) */
    int n_steps;                /* T */
    int batch_size;             /* B */
    int n_epochs;
    double gamma, gae_lambda;
    double clip_range;
    int clip_linear;
    double clip_range_vf;       /* <= 0: None (no value clipping) */
    int normalize_advantage;
    double ent_coef, vf_coef, max_grad_norm;
    double target_kl;           /* <= 0: None */
    int reset_num_timesteps;    /* learn(reset_num_timesteps=...): 1 resets env and counter */
    /* policy_kwargs */
    int n_pi, pi_arch[MLP_MAX_LAYERS - 1];
    int n_vf, vf_arch[MLP_MAX_LAYERS - 1];
    MlpAct activation;
    double log_std_init;
    int ortho_init;
    int wide_head_own;          /* wide_head: own (1) | blas (0): which kernel computes a policy output
                                 * layer wider than its input (the game's 201 levels; nn/mlp.c) */
    /* VecNormalize (a wrapper in SB3; owned by the agent here so it persists and checkpoints) */
    int norm_obs, norm_reward;
    double clip_obs, clip_reward;
} PpoConfig;

void ppo_config_default(PpoConfig *c); /* SB3's defaults */
/* "key: what is wrong" for the first bad field; 0 if valid. */
int ppo_config_validate(const PpoConfig *c, char *err, size_t n);

/* What one update reports (SB3 logger's train/ and rollout/ fields). */
typedef struct {
    long timesteps;             /* env steps in this learn call (num_timesteps) */
    long total_timesteps;       /* all calls */
    int iteration;              /* rollouts in this learn call */
    long n_updates;             /* gradient epochs so far (SB3 train/n_updates) */
    double ep_return_mean;      /* rollout/ep_rew_mean (NaN before an episode ends) */
    double ep_len_mean;
    double policy_loss;         /* train/policy_gradient_loss */
    double value_loss;          /* train/value_loss */
    double entropy_loss;        /* train/entropy_loss */
    double loss;                /* train/loss (last minibatch) */
    double approx_kl;           /* train/approx_kl */
    double clip_fraction;       /* train/clip_fraction */
    double explained_variance;  /* train/explained_variance */
    double learning_rate;
    double clip_range;
    double std;                 /* train/std: mean exp(log_std) (Box) */
    double rollout_s, update_s; /* wall time of this iteration's two phases */
    double fps;                 /* env steps per second since the learn call began */
} PpoStats;

/* Return nonzero to stop learning after this update. */
typedef int (*PpoCallback)(const PpoStats *s, void *user);

typedef struct Ppo Ppo;

/* Allocate everything for obs_dim, space and n_envs; seed drives init and sampling.
 * NULL with err if the config is invalid. */
Ppo *ppo_create(const PpoConfig *c, int obs_dim, const ActionSpace *space, int n_envs, uint64_t seed,
                char *err, size_t n);
void ppo_free(Ppo *p);

/* SB3's learn(total_timesteps). env must have n_envs envs of the agent's spaces.
 * Returns 1 if the callback stopped it, else 0. */
int ppo_learn(Ppo *p, VecEnv *env, long total_timesteps, PpoCallback cb, void *user);

/* Act on B raw observations (normalised inside with the current statistics, not updated).
 * deterministic: mean (Box, clipped to bounds) or most likely valid action; otherwise a
 * sample from rng (Box samples clipped to bounds). actions (B, A); values (B) if not NULL. */
void ppo_predict(Ppo *p, const float *obs, const unsigned char *mask, int B, int deterministic,
                 float *actions, float *values, Rng *rng);

/* Categorical spaces: action probabilities (B, K) with invalid actions (mask 0) at 0. */
void ppo_action_probs(Ppo *p, const float *obs, const unsigned char *mask, int B, float *probs);

/* Introspection for export and checkpoints. */
const PpoConfig *ppo_config(const Ppo *p);
const ActionSpace *ppo_space(const Ppo *p);
int ppo_obs_dim(const Ppo *p);
const Mlp *ppo_pi_net(const Ppo *p);    /* shapes */
const Mlp *ppo_vf_net(const Ppo *p);
float *ppo_pi_params(Ppo *p);           /* into the agent's single buffer */
float *ppo_vf_params(Ppo *p);
float *ppo_log_std(Ppo *p);             /* (A) or NULL */
long ppo_total_steps(const Ppo *p);     /* env steps over all learn calls */

/* ---- checkpoints (implemented in ppo_io.c) ----
 * ppo_save adds everything agent `name` needs to continue bitwise to an npz: the tensors of
 * the export contract (NAME.pi.l.weight/bias, NAME.vf.l.weight/bias, NAME.log_std,
 * NAME.obs_mean/obs_var when normalising), plus NAME.adam.* (moments, step), NAME.rng,
 * NAME.norm.* (running statistics, discounted returns) and NAME.learn.* (the state of a learn
 * call in progress: its step count and iteration, the last observations and episode starts).
 * ppo_restore reads them back into an agent created with the same config and shapes, with
 * messages "LABEL: member X: what is wrong". A learn call interrupted after an update and
 * restored continues exactly where it stopped when ppo_learn is called again with the same
 * total_timesteps. ppo_pspec describes the agent for meta.json (io/pspec.h). */
int ppo_save(Ppo *p, Npz *z, const char *name, char *err, size_t n);
int ppo_restore(Ppo *p, const Npz *z, const char *name, const char *label, char *err, size_t n);
/* mask_rule: "none" or how the env masks actions (e.g. "soc_range"). */
void ppo_pspec(const Ppo *p, const char *name, const char *mask_rule, Pspec *out);

#endif
