/* ppo_internal.h: hooks into a Ppo for tests and checkpoints (not for ordinary callers).
 *
 * ppo_debug_load_batch writes rows 0..count-1 of the rollout buffer directly; then
 * ppo_debug_loss evaluates one minibatch of those rows exactly as the update does (loss
 * terms, and the gradient of the total loss w.r.t. every parameter, before clipping), and
 * ppo_debug_update runs a whole update on them. */
#ifndef SB_PPO_INTERNAL_H
#define SB_PPO_INTERNAL_H

#include <stddef.h>

#include "rl/ppo.h"

typedef struct {
    double pg, vf, ent, kl, clipfrac, loss;
} PpoLoss;

/* obs (count, O) already normalised; act (count, A); mask (count, K) or NULL;
 * old_logp, adv, ret, old_val (count). count <= n_steps * n_envs. */
void ppo_debug_load_batch(Ppo *p, const float *obs, const float *act, const unsigned char *mask,
                          const float *old_logp, const float *adv, const float *ret, const float *old_val,
                          int count);
/* Loss of rows idx[0..B) with the given clip ranges; grads (n_params) receives the gradient. */
PpoLoss ppo_debug_loss(Ppo *p, const int *idx, int B, double clip, double clip_vf, float *grads);
/* One update (SB3 PPO.train) on the rows loaded by ppo_debug_load_batch (all n_steps * n_envs
 * of them) at progress_remaining (1 at the start of learning, 0 at its end; the linear lr and
 * clip schedules read it). perms (n_epochs, n_steps * n_envs): each epoch's order of the rows,
 * recorded from SB3, instead of the agent's own shuffle (which still runs, so its Rng moves as
 * in learning); NULL: the agent's shuffle. */
void ppo_debug_update(Ppo *p, double progress_remaining, const int *perms, PpoStats *out);
/* The single parameter buffer: [pi | vf | log_std]; *n receives its length. */
float *ppo_params(Ppo *p, size_t *n);

#endif
