/* policy.h: the embedding API for policies exported by `stackelberg export`.
 *
 * A program that deploys a trained agent includes this header and links
 * build/release/libstackelberg.a -lz -lm; nothing else from the trainer is needed (the
 * forward pass is plain double-precision loops, independent of src/nn and BLAS).
 *
 *   char err[512];
 *   SbPolicy *pol;
 *   if (sb_policy_load("runs/x/policy.npz", &pol, err, sizeof err)) { puts(err); exit(2); }
 *   SbPolicyAgent *leader = sb_policy_agent(pol, "utility");
 *   double obs[12] = {...}, tariff[6];
 *   sb_policy_play(leader, obs, tariff);   // $/kWh and $/household/day, as the game plays them
 *   sb_policy_free(pol);
 *
 * Two outputs, not to be confused:
 *   - the raw action (sb_policy_act): what the network outputs deterministically, in the
 *     units of its action space: a Gaussian mean clipped to the space's bounds, or the index
 *     of the most probable valid choice;
 *   - the played action (sb_policy_play): what the environment does with the policy, in
 *     physical units, as meta.json's "play" describes it (src/io/pspec.h): for the game's
 *     aggregators the expected level of the masked policy as a fraction of the fleet's
 *     capacity, for its utility the tariff in $/kWh and $/household/day.
 *
 * Legend: O observation size, A action floats (box: dims; discrete: 1 index; multi-discrete:
 * one index per sub-action), K distribution width (box: A means; discrete: choices;
 * multi-discrete: sum of nvec), P played entries. Observations are raw (as the environment
 * emits them, see SbPolicyInfo.obs_names and meta.json "observations"): the agent's saved
 * normaliser is applied inside, as VecNormalize does:
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
    const char *const *obs_names; /* (O) or NULL when meta.json does not describe them */
    const char *const *obs_units; /* (O) or NULL */
    int play_dim;        /* P: entries of sb_policy_play's output; 0 when not described */
    const char *play_kind; /* "raw", "table", "levels", "affine"; NULL when not described */
    const char *play_rule; /* "deterministic", "expected" (levels) or "sample" (drawn at random) */
    const char *const *play_names; /* (P) e.g. "alpha_buy" */
    const char *const *play_units; /* (P) e.g. "$/kWh" */
    int soc_obs;         /* the observation holding the SoC of a soc_range play; -1 otherwise */
} SbPolicyInfo;

enum {
    SB_PLAY_OK = 0,
    SB_PLAY_RANDOM = 1,       /* the environment samples; played holds its deterministic counterpart */
    SB_PLAY_NO_VALID = -1,    /* the mask leaves no valid choice */
    SB_PLAY_UNDESCRIBED = -2  /* meta.json has no "play" (an export of an earlier version) */
};

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

/* The raw deterministic action, in the action space's units (not what the environment
 * plays: see sb_policy_play): box, the Gaussian mean clipped to the bounds; discrete, the
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

/* The action the environment plays for raw observation obs, in physical units (P entries,
 * sb_policy_info's play_names and play_units), built from the policy as meta.json's "play"
 * says: for a "soc_range" agent the mask comes from the SoC inside obs, as the game builds it.
 * Returns SB_PLAY_OK, SB_PLAY_RANDOM (rule "sample"), SB_PLAY_NO_VALID or
 * SB_PLAY_UNDESCRIBED (played untouched). */
int sb_policy_play(SbPolicyAgent *a, const double *obs, double *played);

/* The mask the environment would give for obs (K): 1 and mask written when the agent
 * describes a rule (soc_range levels), 0 otherwise (mask untouched: every choice valid). */
int sb_policy_mask(const SbPolicyAgent *a, const double *obs, unsigned char *mask);

#endif
