/* env.h: environments for PPO, and the vector of them that a rollout steps.
 *
 * Legend: N environments, O observation size, A action floats per env (action_dim),
 * K logits/mask width (discrete: n; multi-discrete: sum of nvec).
 *
 * An environment is a caller-owned struct (it holds its own Rng: no global state) and an
 * EnvClass of functions. The VecEnv owns the step buffers, allocated once; it auto-resets an
 * env whose episode ended (as SB3's VecEnv): `obs` then holds the first observation of the
 * new episode and `terminal_obs` the last one of the old, which PPO needs to bootstrap a
 * truncated episode. Nothing allocates in vecenv_step. */
#ifndef SB_ENV_H
#define SB_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "io/npz.h"

#define ENV_MAX_ACT 16

typedef enum { SPACE_BOX = 0, SPACE_DISCRETE = 1, SPACE_MULTI_DISCRETE = 2 } SpaceKind;

typedef struct {
    SpaceKind kind;
    int dim;                   /* A: Box dims; 1 for Discrete; number of sub-actions for MultiDiscrete */
    int n;                     /* K: Discrete choices, or sum of nvec; 0 for Box */
    int nvec[ENV_MAX_ACT];     /* MultiDiscrete sizes */
    float low[ENV_MAX_ACT];    /* Box bounds (the env receives actions clipped to them) */
    float high[ENV_MAX_ACT];
    int masked;                /* Discrete/MultiDiscrete: the env writes a validity mask (K) */
} ActionSpace;

typedef struct {
    const char *name;
    int obs_dim;
    ActionSpace space;
    /* Start an episode: write obs (O) and, if masked, mask (K). */
    void (*reset)(void *env, float *obs, unsigned char *mask);
    /* Apply action (A floats: clipped Box values, or indices as floats); write the next obs
     * (O), mask (K), reward, and whether the episode terminated or was truncated. */
    void (*step)(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                 int *terminated, int *truncated);
    /* Added for generic creation (envs.h): bytes of one instance, and a seeding hook that
     * also sets the instance's parameters to their defaults. An env is usable after
     * sb_calloc(1, size) and seed(); instance i of a vector gets stream = i. */
    size_t size;
    void (*seed)(void *env, uint64_t seed, uint64_t stream);
    /* Optional, for checkpoints of envs whose struct holds pointers: the state as named,
     * typed members "PREFIX.NAME" (save), read back with "LABEL: member X: ..." messages
     * (restore). NULL: the instance's bytes are the state (plain-data envs). */
    int (*save)(const void *env, Npz *z, const char *prefix, char *err, size_t n);
    int (*restore)(void *env, const Npz *z, const char *prefix, const char *label, char *err, size_t n);
} EnvClass;

#define VECENV_HISTORY 100 /* episodes kept for the rolling mean, as SB3's ep_info_buffer */

typedef struct {
    const EnvClass *cls;
    int n;                       /* N */
    void **envs;                 /* (N) caller-owned instances */
    float *obs;                  /* (N, O) current observation */
    float *terminal_obs;         /* (N, O) last obs of an episode that just ended; a row is
                                  * valid only where terminated or truncated is set */
    unsigned char *mask;         /* (N, K) or NULL when the space is not masked */
    float *reward;               /* (N) */
    unsigned char *terminated;   /* (N) */
    unsigned char *truncated;    /* (N) */
    unsigned char *done;         /* (N) terminated | truncated: SB3's `dones` (added) */
    double *ep_return;           /* (N) running sum of raw rewards */
    long *ep_len;                /* (N) */
    double hist_return[VECENV_HISTORY];
    long hist_len[VECENV_HISTORY];
    int hist_count, hist_pos;
    long episodes;
    float *act_clipped;          /* (N, A) Box actions clipped to [low, high]; NULL otherwise */
    double *last_return;         /* (N) return of the episode that ended at the latest step */
    long *last_len;              /* (N) its length (valid where terminated or truncated) */
} VecEnv;

void vecenv_init(VecEnv *v, const EnvClass *cls, void **envs, int n);
void vecenv_reset(VecEnv *v);
/* actions: (N, A). Box actions are clipped to the space bounds before the env sees them
 * (SB3 clips in the policy wrapper); the caller passes the unclipped sample. */
void vecenv_step(VecEnv *v, const float *actions);
void vecenv_free(VecEnv *v);
/* Mean raw return and length of the last (up to 100) finished episodes; NaN if none. */
double vecenv_mean_return(const VecEnv *v);
double vecenv_mean_length(const VecEnv *v);

#endif
