/* pspec.h: the description of one agent as meta.json carries it, shared by the checkpoint
 * (written by the trainer), `export` and the policy loader: its networks, and what its
 * numbers mean (how each observation is computed, how the policy's output becomes the action
 * the environment plays, in physical units).
 *
 * One JSON object per agent:
 *   {"name": "agg_b1", "obs_dim": 6, "pi_sizes": [6, 64, 64, 201], "vf_sizes": [6, 64, 64, 1],
 *    "activation": "tanh", "action": {"kind": "discrete", "size": 201, "mask": "soc_range"},
 *    "normalize_obs": true, "clip_obs": 10.0, "obs_eps": 1e-8,
 *    "observations": [...], "play": {...}}
 * with "low"/"high" (size numbers) for kind "box" and "nvec" for "multi_discrete".
 *
 * "observations" (optional; O entries, in order): {"name", "unit", "formula", "constants":
 * {NAME: number, ...}}: how the environment computes the raw observation, every number of the
 * formula among the constants. The policy's own normaliser (normalize_obs) comes after that:
 * "obs_normalization" {"formula", "members", "mean" (O), "var" (O)} spells it out (mean and
 * var when known: `export` copies them from the members).
 *
 * "play" (optional): how the environment turns the deterministic output x of the policy
 * (box: the mean clipped to low/high; discrete: the most probable valid index) into the
 * action it plays, P entries named, each with a unit ("names", "units"). "kind":
 *   raw     x itself (a discrete x is an index);
 *   table   discrete: values[x] (K numbers);
 *   levels  discrete: the K levels a_i = lo + (hi - lo) i / (K - 1) ("levels": [lo, hi]):
 *           a_x, or with "rule" expected the expected level sum_i p_i a_i / sum_i p_i over
 *           the valid levels (p the policy's probabilities);
 *   affine  box: v_k = low_k + (squash(x_k) + 1) / 2 (high_k - low_k), squash "tanh" or
 *           "clip" (to [-1, 1]); then "sell" {"rule": clip | swap, "buy": i, "sell": j}:
 *           when v_j > v_i, v_j = v_i (clip) or the two swap; then "derived" {"index": d,
 *           "constant", "coef" (P), "divisor", "low", "high"}: v_d = clip((constant +
 *           sum_k coef_k v_k) / divisor, low, high) replaces the policy's entry d.
 * "soc_range" {"obs": j, "tol"} (levels, or a raw box of one entry): the action is a fraction
 * of a battery's capacity and soc = obs[j]; level i is valid when -soc - tol <= a_i <= 1 -
 * soc + tol (the mask), and the played value is clipped to [-soc, 1 - soc].
 * "rule": deterministic (the default: from x as above), expected (levels only) or sample: the
 * environment draws its action at random (a level from the masked policy, or a Gaussian
 * sample), and the description computes its deterministic counterpart (for levels the
 * expected level). "note": free text for people.
 *
 * Legend: O obs_dim, A action floats (box: size; discrete: 1; multi_discrete: len(nvec)),
 * K policy-head width (box: size; discrete: size; multi_discrete: sum(nvec)), L layers,
 * P played entries.
 * Members of agent NAME: NAME.pi.l.weight (D_{l+1}, D_l), NAME.pi.l.bias (D_{l+1}) for
 * l < L (the last is the head), the same for NAME.vf (last width 1), NAME.log_std (A) for
 * box, NAME.obs_mean and NAME.obs_var (O) when normalize_obs. */
#ifndef SB_PSPEC_H
#define SB_PSPEC_H

#include <stddef.h>

#include "io/jsonval.h"
#include "io/npz.h"

#define PSPEC_MAX_SIZES 9  /* input + up to 8 linear layers */
#define PSPEC_MAX_BOX 64
#define PSPEC_MAX_NVEC 16
#define PSPEC_MAX_WIDTH 65536
#define PSPEC_MAX_CONST 40   /* constants of one observation's formula */
#define PSPEC_NAME 48        /* names of observations and played entries, with the NUL */
#define PSPEC_UNIT 40
#define PSPEC_TEXT 400       /* formulas and notes */

typedef enum { PSPEC_BOX = 0, PSPEC_DISCRETE = 1, PSPEC_MULTI_DISCRETE = 2 } PspecKind;

typedef struct {
    char name[PSPEC_NAME];
    double value;
} PspecConst;

/* One observation: what it is and how it is computed. */
typedef struct {
    char name[PSPEC_NAME];
    char unit[PSPEC_UNIT];
    char formula[PSPEC_TEXT];
    int n_const;
    PspecConst c[PSPEC_MAX_CONST];
} PspecObs;

typedef enum {
    PSPEC_PLAY_NONE = 0, /* not described (checkpoints of earlier versions) */
    PSPEC_PLAY_RAW,
    PSPEC_PLAY_TABLE,
    PSPEC_PLAY_LEVELS,
    PSPEC_PLAY_AFFINE
} PspecPlayKind;
typedef enum { PSPEC_RULE_DETERMINISTIC = 0, PSPEC_RULE_EXPECTED = 1, PSPEC_RULE_SAMPLE = 2 } PspecRule;
typedef enum { PSPEC_SELL_NONE = 0, PSPEC_SELL_CLIP = 1, PSPEC_SELL_SWAP = 2 } PspecSell;

/* The action the environment plays (see "play" above). */
typedef struct {
    PspecPlayKind kind;
    PspecRule rule;
    int n;                                   /* P */
    char names[PSPEC_MAX_BOX][PSPEC_NAME];   /* (P) */
    char units[PSPEC_MAX_BOX][PSPEC_UNIT];   /* (P) */
    char note[PSPEC_TEXT];
    double values[PSPEC_MAX_BOX];            /* table: (K) */
    double level_lo, level_hi;               /* levels */
    int soc_range;                           /* 1: soc_range applies */
    int soc_obs;                             /* the observation holding the SoC */
    double soc_tol;
    int tanh;                                /* affine: squash by tanh (1) or clip (0) */
    double low[PSPEC_MAX_BOX], high[PSPEC_MAX_BOX]; /* affine: (P) physical bounds */
    PspecSell sell;
    int buy, sell_idx;                       /* affine: the entries the sell rule orders */
    int has_derived;                         /* affine: 1 when entry `derived` is derived */
    int derived;
    double d_const, d_div, d_low, d_high;
    double d_coef[PSPEC_MAX_BOX];            /* (P) */
    char d_note[PSPEC_TEXT];
} PspecPlay;

typedef struct {
    char name[64];
    int obs_dim;                   /* O */
    int n_pi, pi_sizes[PSPEC_MAX_SIZES]; /* D_0 = O .. D_L = K */
    int n_vf, vf_sizes[PSPEC_MAX_SIZES]; /* D_0 = O .. 1 */
    int relu;                      /* hidden activation: 0 tanh, 1 relu */
    PspecKind kind;
    int size;                      /* box dims or discrete choices or sub-actions */
    double low[PSPEC_MAX_BOX], high[PSPEC_MAX_BOX];
    int nvec[PSPEC_MAX_NVEC];
    char mask[32];                 /* "none", "soc_range", ...: how the env masks actions */
    int normalize_obs;
    double clip_obs, obs_eps;
    PspecObs *obs_desc;            /* (O) what each observation is; NULL when not described */
    double *norm_mean, *norm_var;  /* (O) the normaliser's frozen statistics, for readers of
                                    * meta.json (the loader uses the NAME.obs_mean/var members);
                                    * NULL when not given */
    PspecPlay play;
} Pspec;

/* A: floats of one action; K: width of the policy head (and of a mask). */
int pspec_action_dim(const Pspec *s);
int pspec_head_dim(const Pspec *s);
const char *pspec_kind_name(PspecKind k);

/* Read and validate one agent object; messages read "WHERE: field: what" (WHERE e.g.
 * "run/checkpoint.npz: meta.json: agents[0]"). s is overwritten; pspec_free releases it,
 * after a failure too. */
int pspec_parse(Pspec *s, const JVal *obj, const char *where, char *err, size_t errlen);
/* Write it back (the same schema, with formulas spelled out for people). */
void pspec_emit(Json *j, const char *key, const Pspec *s);
/* Release what parse or the describe calls below allocated (safe on a zeroed Pspec). */
void pspec_free(Pspec *s);
/* Copy the normaliser's statistics (O each) into s, for meta.json. */
void pspec_set_norm(Pspec *s, const double *mean, const double *var);

/* ---- describing (the trainers) ---- */

/* Observation i (< obs_dim): name, unit and formula; returns it, for its constants. The first
 * call allocates the O entries. */
PspecObs *pspec_describe_obs(Pspec *s, int i, const char *name, const char *unit, const char *formula);
void pspec_obs_const(PspecObs *o, const char *name, double value);
/* Played entry k: name and unit (sets play.n to at least k + 1). */
void pspec_play_entry(PspecPlay *p, int k, const char *name, const char *unit);
const char *pspec_rule_name(PspecRule r);

/* Member names of an agent's tensors, and their expected shapes. */
typedef struct {
    char name[128];
    int ndim;
    size_t shape[2];
    int is_weight; /* 1: follows the export dtype; 0: observation statistics, kept f8 */
} PspecTensor;
/* Fill out (capacity PSPEC_MAX_TENSORS) and return the count. */
#define PSPEC_MAX_TENSORS (4 * PSPEC_MAX_SIZES + 3)
int pspec_tensors(const Pspec *s, PspecTensor *out);

#endif
