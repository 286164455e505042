/* ppo_impl.h: the fields of struct Ppo, shared by ppo.c (learning) and ppo_io.c
 * (checkpoints). Private to src/rl/; everything else uses the accessors of ppo.h.
 *
 * Legend as in ppo.h: N envs, T n_steps, O obs, A action floats, K head width, B minibatch.
 * Parameters: [pi net | vf net | log_std (Box only)] in one buffer; grads, m and v share
 * its layout. */
#ifndef SB_PPO_IMPL_H
#define SB_PPO_IMPL_H

#include "nn/adam.h"
#include "rl/dist.h"
#include "rl/normalize.h"
#include "rl/ppo.h"

struct Ppo {
    PpoConfig cfg;
    ActionSpace space;
    int O, A, K, N; /* obs, action floats, head width (A for Box), envs */
    int T;          /* n_steps */
    Mlp pi, vf;
    size_t n_params, pi_off, vf_off, ls_off;
    float *params, *grads, *m, *v; /* (n_params) each */
    Adam adam;
    DistGauss gauss;       /* Box: exp(log_std) of the current parameters (prepare_gauss) */
    Rng rng;
    VecNorm norm;

    /* rollout buffer, index t * N + n */
    float *b_obs;          /* (T*N, O) normalised observations */
    float *b_act;          /* (T*N, A) unclipped actions (indices for discrete) */
    unsigned char *b_mask; /* (T*N, K) or NULL */
    int *b_span;           /* (T*N, 2) [lo, hi) of the valid actions (masked Discrete), or NULL */
    unsigned char *b_exact; /* (T*N) 1: the valid actions are exactly the span, with b_span */
    float *b_rew, *b_start, *b_val, *b_logp, *b_adv, *b_ret; /* (T*N) */
    float *last_obs;       /* (N, O) normalised */
    unsigned char *last_start; /* (N) */
    float *raw_rew, *norm_tmp; /* (N), (N, O) */
    int have_last;

    /* acting workspace (N rows) */
    float *a_piw, *a_vfw;  /* mlp work for N rows */
    float *a_lp;           /* (N, K) log-probabilities */
    float *a_p;            /* (N, K) probabilities */
    float *a_act;          /* (N, A) */

    /* minibatch workspace (B rows) */
    int *perm;             /* (T*N) */
    float *mb_obs;         /* (B, O) */
    float *piw, *pis, *vfw, *vfs; /* work and scratch */
    float *d_head;         /* (B, K) */
    float *d_val;          /* (B, 1) */
    float *mb_lp;          /* (B, K) log-probabilities */
    float *mb_p;           /* (B, K) probabilities */
    int *mb_span;          /* (B, 2) the rows' b_span, or NULL */
    unsigned char *mb_mask; /* (B, K) the rows' b_mask, with mb_span */
    double *mb_H;          /* (B) entropies, with mb_span */

    long total_steps;      /* env steps over all learn calls */
    long sb3_num_timesteps; /* SB3's self.num_timesteps: zeroed by reset_num_timesteps only */
    long n_updates;

    /* The learn call in progress, kept so a checkpoint taken in the callback can continue it:
     * its num_timesteps and iteration after the latest update (both 0 once a call has run
     * to completion), and whether ppo_restore asked the next ppo_learn to pick them up
     * instead of starting a new call. */
    long call_steps;
    int call_iteration;
    int resume_pending;

    const int *debug_perms; /* (n_epochs, T*N) or NULL: row orders for ppo_debug_update (tests) */
};

#endif
