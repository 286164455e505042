/* policy.h: the embedding API for policies exported by `stackelberg export`.
 *
 * A program that deploys a trained agent includes this header and links
 * build/release/libstackelberg.a -lz -lm; nothing else from the trainer is needed (the
 * forward pass is plain double-precision loops, independent of src/nn and BLAS).
 *
 *   char err[512];
 *   SbPolicy *pol;
 *   if (sb_policy_load("runs/x/policy.npz", &pol, err, sizeof err)) { puts(err); exit(2); }
 *   SbPolicyAgent *leader = sb_policy_agent(pol, "leader");
 *   double obs[12] = {...}, action[6], value;
 *   sb_policy_act(leader, obs, NULL, action, &value);
 *   sb_policy_free(pol);
 *
 * Legend: O observation size, A action floats (box: dims; discrete: 1 index; multi-discrete:
 * one index per sub-action), K distribution width (box: A means; discrete: choices;
 * multi-discrete: sum of nvec). Observations are raw (as the environment emits them): the
 * agent's saved normaliser is applied inside, as VecNormalize does:
 * clip((obs - mean) / sqrt(var + 1e-8), -clip_obs, clip_obs).
 *
 * An SbPolicyAgent holds scratch buffers: calls on one agent must not run concurrently. */
#ifndef SB_POLICY_H
#define SB_POLICY_H

#include <stddef.h>

typedef struct SbPolicy SbPolicy;
typedef struct SbPolicyAgent SbPolicyAgent;

enum { SB_ACTION_BOX = 0, SB_ACTION_DISCRETE = 1, SB_ACTION_MULTI_DISCRETE = 2 };

typedef struct {
    const char *name;
    int obs_dim;         /* O */
    int kind;            /* SB_ACTION_* */
    int action_dim;      /* A */
    int dist_dim;        /* K: width of sb_policy_dist's output and of a mask */
    const double *low;   /* (A) box bounds, NULL otherwise */
    const double *high;
    const int *nvec;     /* (A) multi-discrete sizes, NULL otherwise */
    const char *mask_rule; /* "none", "soc_range", ...: how the environment masks actions */
} SbPolicyInfo;

/* Load an exported .npz. Returns 0, or -1 with "FILE: what is wrong" in err. */
int sb_policy_load(const char *path, SbPolicy **out, char *err, size_t errlen);
/* The same from bytes in memory; label names the source in messages. */
int sb_policy_load_mem(const void *data, size_t len, const char *label, SbPolicy **out, char *err,
                       size_t errlen);
void sb_policy_free(SbPolicy *pol);

int sb_policy_agent_count(const SbPolicy *pol);
/* By index (0 .. count-1) or by name; NULL when out of range or absent. */
SbPolicyAgent *sb_policy_agent_at(SbPolicy *pol, int i);
SbPolicyAgent *sb_policy_agent(SbPolicy *pol, const char *name);
void sb_policy_info(const SbPolicyAgent *a, SbPolicyInfo *info);

/* The deterministic action: box, the Gaussian mean clipped to the bounds; discrete, the
 * most probable valid choice (lowest index on ties). mask (K, 1 valid / 0 invalid) may be
 * NULL (all valid). value (may be NULL) receives the value estimate. Returns 0, or -1 when
 * the mask leaves a (sub-)action with no valid choice. */
int sb_policy_act(SbPolicyAgent *a, const double *obs, const unsigned char *mask, double *action,
                  double *value);

/* The action distribution: box, dist (K) = Gaussian mean before clipping and std (K); discrete
 * and multi-discrete, dist (K) = probabilities (0 on masked choices; each sub-action's sum 1)
 * and std is not written (may be NULL). Returns 0, or -1 as sb_policy_act. */
int sb_policy_dist(SbPolicyAgent *a, const double *obs, const unsigned char *mask, double *dist,
                   double *std, double *value);

#endif
