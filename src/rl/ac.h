/* ac.h: a one-step actor-critic (TD(0) advantages, one update per transition) on the project's
 * MLPs: the agents of AC-SMFG on the tariff game (game.c, schedule ac_smfg).
 *
 * Legend: O observation size, A action floats (Gaussian dims; 1 for a categorical), K head
 * width (categorical levels; A for a Gaussian).
 *
 * The networks are the caller's: an actor O -> K (the logits of a masked categorical, or the
 * mean of a diagonal Gaussian with a state-independent log_std (A)) and a critic O -> 1, lent
 * as shapes (Mlp) and parameter buffers (AcNets). The game lends a Ppo's buffers, so the policy
 * acts, exports and checkpoints as every other agent's. An Ac owns what the update adds: the
 * gradients, the optimisers' moments, the Rng of its actions and a workspace. Nothing
 * allocates after ac_create.
 *
 * One update on a transition (s, a, r, s', end), with pi the actor's distribution (rl/dist.h:
 * sb3-contrib's masked categorical, or SB3's diagonal Gaussian) and V the critic:
 *
 *   delta = r - tau log pi(a | s) + gamma V(s') [not when s' is terminal] - V(s)
 *   critic: w     <- w     - lr_critic * d(delta^2 / 2)/dw with the target held fixed
 *                          (semi-gradient: the gradient is -delta dV(s)/dw)
 *   actor:  theta <- theta - lr_actor  * d(-delta log pi(a | s))/dtheta with delta held fixed
 *                          (theta: the actor net, and log_std for a Gaussian)
 *
 * delta is computed once, before either step, from the parameters the action was drawn with.
 * tau > 0 makes it the soft (entropy-regularised) TD error of the reward r - tau log pi: its
 * critic learns soft values and its actor ascends the entropy-regularised objective (the
 * -tau grad log pi term that the exact soft gradient adds has expectation 0 under pi and is
 * left out, as in the tabular AC-SMFG of game/ac_smfg.c). A step is PyTorch's Adam (nn/adam.h,
 * betas 0.9 and 0.999, eps 1e-5 as SB3 builds it, one Adam per parameter group so the actor's
 * and the critic's learning rates differ) or plain SGD, theta <- theta - lr g. */
#ifndef SB_AC_H
#define SB_AC_H

#include <stddef.h>
#include <stdint.h>

#include "io/npz.h"
#include "nn/mlp.h"
#include "rl/env.h"
#include "util/rng.h"

typedef enum { AC_ADAM = 0, AC_SGD = 1 } AcOptimizer;

typedef struct {
    double gamma;          /* discount of the TD target, [0, 1] */
    double entropy;        /* tau >= 0: the reward is r - tau log pi(a | s) */
    AcOptimizer optimizer;
} AcConfig;

/* The caller's networks: shapes and parameter buffers (outlive the Ac). */
typedef struct {
    const Mlp *pi;         /* O -> K */
    const Mlp *vf;         /* O -> 1 */
    float *pi_params;      /* (pi->n_params) */
    float *vf_params;      /* (vf->n_params) */
    float *log_std;        /* (A) Gaussian only; NULL for a categorical */
} AcNets;

/* What one ac_learn call saw (means over its transitions). */
typedef struct {
    long samples;          /* transitions in this call */
    long total_samples;    /* all calls */
    long updates;          /* all calls (one per transition) */
    double delta_mean;     /* the TD error */
    double delta_sq_mean;  /* its square: the critic's loss (x 2) */
    double policy_loss;    /* mean of -delta log pi(a | s): the actor's surrogate */
    double entropy;        /* mean entropy of pi(. | s) */
    double explained_variance; /* 1 - Var(delta) / Var(target), NaN with fewer than 2 samples */
    double std;            /* Gaussian: mean exp(log_std) after the call; NaN otherwise */
} AcStats;

typedef struct Ac Ac;

/* "key: what is wrong" for the first bad field; 0 if valid. */
int ac_config_validate(const AcConfig *c, char *err, size_t n);
/* An actor-critic for obs_dim observations and `space` (Box: the Gaussian; Discrete, masked or
 * not: the categorical) on the caller's nets; seed drives its actions. NULL with err when the
 * config is invalid or the nets do not fit (widths, log_std). */
Ac *ac_create(const AcConfig *c, int obs_dim, const ActionSpace *space, const AcNets *nets, uint64_t seed, char *err,
              size_t n);
void ac_free(Ac *a);

/* One update on one transition: obs (O), act (A: Box, the unclipped sample; Discrete, the
 * level as a float), mask (K) of obs or NULL (all valid), reward, next_obs (O; the episode's
 * last observation when it ended; ignored when terminal), terminal (1: no bootstrap; a time
 * limit is not terminal). Returns delta. */
double ac_update(Ac *a, const float *obs, const float *act, const unsigned char *mask, float reward,
                 const float *next_obs, int terminal, double lr_actor, double lr_critic);

/* n transitions of env (one environment), each followed by ac_update. The trajectory continues
 * from call to call (the environment is reset on the first call only; an episode's end
 * auto-resets it, and a time limit bootstraps from its last observation). st: this call. */
void ac_learn(Ac *a, VecEnv *env, long n, double lr_actor, double lr_critic, AcStats *st);

long ac_total_samples(const Ac *a);

/* Checkpoints: NAME.ac.ints (updates, samples, started, Adam steps of the actor, log_std and
 * critic groups), NAME.ac.rng (u8 4), NAME.ac.adam_m and NAME.ac.adam_v (f4, [actor | log_std |
 * critic]). The parameters are the caller's (saved with its agent). ac_restore reads them back
 * into an Ac created alike, with "LABEL: member X: what is wrong"; nothing changes on error. */
int ac_save(const Ac *a, Npz *z, const char *name, char *err, size_t n);
int ac_restore(Ac *a, const Npz *z, const char *name, const char *label, char *err, size_t n);

#endif
