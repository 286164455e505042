/* pspec.h: the description of one agent's networks as meta.json carries it, shared by the
 * checkpoint (written by the trainer), `export` and the policy loader.
 *
 * One JSON object per agent:
 *   {"name": "agg_b1", "obs_dim": 6, "pi_sizes": [6, 64, 64, 201], "vf_sizes": [6, 64, 64, 1],
 *    "activation": "tanh", "action": {"kind": "discrete", "size": 201, "mask": "soc_range"},
 *    "normalize_obs": true, "clip_obs": 10.0}
 * with "low"/"high" (size numbers) for kind "box" and "nvec" for "multi_discrete".
 *
 * Legend: O obs_dim, A action floats (box: size; discrete: 1; multi_discrete: len(nvec)),
 * K policy-head width (box: size; discrete: size; multi_discrete: sum(nvec)), L layers.
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

typedef enum { PSPEC_BOX = 0, PSPEC_DISCRETE = 1, PSPEC_MULTI_DISCRETE = 2 } PspecKind;

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
} Pspec;

/* A: floats of one action; K: width of the policy head (and of a mask). */
int pspec_action_dim(const Pspec *s);
int pspec_head_dim(const Pspec *s);
const char *pspec_kind_name(PspecKind k);

/* Read and validate one agent object; messages read "WHERE: field: what" (WHERE e.g.
 * "run/checkpoint.npz: meta.json: agents[0]"). */
int pspec_parse(Pspec *s, const JVal *obj, const char *where, char *err, size_t errlen);
/* Write it back (the same schema). */
void pspec_emit(Json *j, const char *key, const Pspec *s);

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
