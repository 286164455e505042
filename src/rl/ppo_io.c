/* ppo_io.c: an agent's complete state in and out of an npz checkpoint (see ppo.h).
 *
 * Legend: N envs, O observation size, A action floats, P parameters (pi | vf | log_std),
 * D_l width of layer l.
 *
 * Members of agent NAME (all little-endian, row-major):
 *   export contract (io/pspec.h)  NAME.pi.l.weight (D_{l+1}, D_l) f4, NAME.pi.l.bias (D_{l+1}) f4,
 *                                 NAME.vf.l.weight/bias, NAME.log_std (A) f4 for Box,
 *                                 NAME.obs_mean / NAME.obs_var (O) f8 when normalising
 *   optimiser                     NAME.adam.m, NAME.adam.v (P) f4, NAME.adam.t () i8
 *   sampling                      NAME.rng (4) u8: the xoshiro256** state
 *   VecNormalize                  NAME.norm.obs_mean/obs_var (O) f8, NAME.norm.obs_count () f8,
 *                                 NAME.norm.ret_mean/ret_var (1) f8, NAME.norm.ret_count () f8,
 *                                 NAME.norm.returns (N) f8
 *   counters                      NAME.total_steps, NAME.n_updates () i8
 *   learn call in progress        NAME.learn.steps, NAME.learn.iteration, NAME.learn.have_last () i8,
 *                                 NAME.learn.last_obs (N, O) f4, NAME.learn.last_start (N) u1
 * Every member is copied byte for byte, so a restored agent continues bitwise. The rollout
 * buffer is not saved: a checkpoint is taken between updates, when the next rollout
 * overwrites all of it. */
#include <stdio.h>
#include <string.h>

#include "rl/ppo_impl.h"
#include "util/common.h"

#define MAX_MEMBERS (4 * MLP_MAX_LAYERS + 24)

/* One array member: where its bytes live in the agent. */
typedef struct {
    char name[NPZ_MAX_NAME];
    NpyDtype dt;
    int ndim;
    size_t shape[2];
    void *data;
    int save_only; /* export copies of state restored from another member */
} Member;

typedef struct {
    Member m[MAX_MEMBERS];
    int n;
} MemberList;

static void add(MemberList *l, const char *agent, const char *what, NpyDtype dt, int ndim, size_t d0,
                size_t d1, void *data, int save_only) {
    SB_ASSERT(l->n < MAX_MEMBERS);
    Member *m = &l->m[l->n++];
    snprintf(m->name, sizeof m->name, "%s.%s", agent, what);
    m->dt = dt;
    m->ndim = ndim;
    m->shape[0] = d0;
    m->shape[1] = d1;
    m->data = data;
    m->save_only = save_only;
}

static void add_net(MemberList *l, const char *agent, const char *net, const Mlp *mlp, float *params) {
    char what[64];
    for (int k = 0; k < mlp->n_layers; k++) {
        size_t out = (size_t)mlp->sizes[k + 1], in = (size_t)mlp->sizes[k];
        snprintf(what, sizeof what, "%s.%d.weight", net, k);
        add(l, agent, what, NPY_F4, 2, out, in, params + mlp->w_off[k], 0);
        snprintf(what, sizeof what, "%s.%d.bias", net, k);
        add(l, agent, what, NPY_F4, 1, out, 0, params + mlp->b_off[k], 0);
    }
}

/* Integer scalars of differing C types go through int64 boxes. */
enum { I_ADAM_T, I_TOTAL_STEPS, I_N_UPDATES, I_CALL_STEPS, I_CALL_ITER, I_HAVE_LAST, I_SB3_STEPS, N_INTS };

/* The agent's array members, in file order. ints: the int64 boxes the scalars point into. */
static void members(Ppo *p, const char *name, int64_t *ints, MemberList *l) {
    l->n = 0;
    size_t N = (size_t)p->N, O = (size_t)p->O;
    add_net(l, name, "pi", &p->pi, p->params + p->pi_off);
    add_net(l, name, "vf", &p->vf, p->params + p->vf_off);
    if (p->space.kind == SPACE_BOX) add(l, name, "log_std", NPY_F4, 1, (size_t)p->A, 0, p->params + p->ls_off, 0);
    if (p->cfg.norm_obs) {
        add(l, name, "obs_mean", NPY_F8, 1, O, 0, p->norm.obs_rms.mean, 1);
        add(l, name, "obs_var", NPY_F8, 1, O, 0, p->norm.obs_rms.var, 1);
    }
    add(l, name, "adam.m", NPY_F4, 1, p->n_params, 0, p->m, 0);
    add(l, name, "adam.v", NPY_F4, 1, p->n_params, 0, p->v, 0);
    add(l, name, "adam.t", NPY_I8, 0, 0, 0, &ints[I_ADAM_T], 0);
    add(l, name, "rng", NPY_U8, 1, 4, 0, p->rng.s, 0);
    add(l, name, "norm.obs_mean", NPY_F8, 1, O, 0, p->norm.obs_rms.mean, 0);
    add(l, name, "norm.obs_var", NPY_F8, 1, O, 0, p->norm.obs_rms.var, 0);
    add(l, name, "norm.obs_count", NPY_F8, 0, 0, 0, &p->norm.obs_rms.count, 0);
    add(l, name, "norm.ret_mean", NPY_F8, 1, 1, 0, p->norm.ret_rms.mean, 0);
    add(l, name, "norm.ret_var", NPY_F8, 1, 1, 0, p->norm.ret_rms.var, 0);
    add(l, name, "norm.ret_count", NPY_F8, 0, 0, 0, &p->norm.ret_rms.count, 0);
    add(l, name, "norm.returns", NPY_F8, 1, N, 0, p->norm.returns, 0);
    add(l, name, "total_steps", NPY_I8, 0, 0, 0, &ints[I_TOTAL_STEPS], 0);
    add(l, name, "n_updates", NPY_I8, 0, 0, 0, &ints[I_N_UPDATES], 0);
    add(l, name, "learn.steps", NPY_I8, 0, 0, 0, &ints[I_CALL_STEPS], 0);
    add(l, name, "learn.iteration", NPY_I8, 0, 0, 0, &ints[I_CALL_ITER], 0);
    add(l, name, "learn.have_last", NPY_I8, 0, 0, 0, &ints[I_HAVE_LAST], 0);
    add(l, name, "learn.sb3_num_timesteps", NPY_I8, 0, 0, 0, &ints[I_SB3_STEPS], 0);
    add(l, name, "learn.last_obs", NPY_F4, 2, N, O, p->last_obs, 0);
    add(l, name, "learn.last_start", NPY_U1, 1, N, 0, p->last_start, 0);
}

int ppo_save(Ppo *p, Npz *z, const char *name, char *err, size_t n) {
    int64_t ints[N_INTS] = {0};
    ints[I_ADAM_T] = p->adam.t;
    ints[I_TOTAL_STEPS] = p->total_steps;
    ints[I_N_UPDATES] = p->n_updates;
    ints[I_CALL_STEPS] = p->call_steps;
    ints[I_CALL_ITER] = p->call_iteration;
    ints[I_HAVE_LAST] = p->have_last;
    ints[I_SB3_STEPS] = p->sb3_num_timesteps;
    MemberList l;
    members(p, name, ints, &l);
    for (int i = 0; i < l.n; i++) {
        const Member *m = &l.m[i];
        if (npz_add(z, m->name, m->dt, m->shape, m->ndim, m->data, err, n)) return -1;
    }
    return 0;
}

/* Check member m of z against the expected dtype and shape. */
static int check(const Npz *z, const Member *want, const char *label, char *err, size_t n) {
    const NpzMember *m = npz_find(z, want->name);
    if (!m) return sb_err(err, n, "%s: member %s: missing", label, want->name);
    if (m->dtype != want->dt)
        return sb_err(err, n, "%s: member %s: dtype %s, expected %s", label, want->name, npy_descr(m->dtype),
                      npy_descr(want->dt));
    int same = m->ndim == want->ndim;
    for (int d = 0; same && d < want->ndim; d++) same = m->shape[d] == want->shape[d];
    if (!same) {
        char a[64], b[64];
        return sb_err(err, n, "%s: member %s: shape %s, expected %s", label, want->name,
                      npy_shape_str(m->shape, m->ndim, a, sizeof a), npy_shape_str(want->shape, want->ndim, b, sizeof b));
    }
    return 0;
}

int ppo_restore(Ppo *p, const Npz *z, const char *name, const char *label, char *err, size_t n) {
    int64_t ints[N_INTS] = {0};
    MemberList l;
    members(p, name, ints, &l);
    /* Everything is checked before anything is copied, so a bad file leaves the agent as it was. */
    for (int i = 0; i < l.n; i++)
        if (!l.m[i].save_only && check(z, &l.m[i], label, err, n)) return -1;
    /* The integers land in the boxes first: validate them before touching the agent. */
    for (int i = 0; i < l.n; i++)
        if (l.m[i].dt == NPY_I8) memcpy(l.m[i].data, npz_find(z, l.m[i].name)->data, sizeof(int64_t));
    static const char *const int_names[N_INTS] = {"adam.t", "total_steps", "n_updates",
                                                  "learn.steps", "learn.iteration", "learn.have_last",
                                                  "learn.sb3_num_timesteps"};
    for (int k = 0; k < N_INTS; k++) {
        int64_t hi = k == I_HAVE_LAST ? 1 : k == I_CALL_ITER ? (int64_t)1 << 30 : (int64_t)1 << 62;
        if (ints[k] < 0 || ints[k] > hi)
            return sb_err(err, n, "%s: member %s.%s: value %lld out of range", label, name, int_names[k],
                          (long long)ints[k]);
    }
    for (int i = 0; i < l.n; i++) {
        const Member *m = &l.m[i];
        if (m->save_only || m->dt == NPY_I8) continue;
        const NpzMember *zm = npz_find(z, m->name);
        memcpy(m->data, zm->data, zm->count * npy_itemsize(zm->dtype));
    }
    p->adam.t = (long)ints[I_ADAM_T];
    p->total_steps = (long)ints[I_TOTAL_STEPS];
    p->n_updates = (long)ints[I_N_UPDATES];
    p->call_steps = (long)ints[I_CALL_STEPS];
    p->call_iteration = (int)ints[I_CALL_ITER];
    p->have_last = (int)ints[I_HAVE_LAST];
    p->sb3_num_timesteps = (long)ints[I_SB3_STEPS];
    /* A call stopped by its callback (iteration > 0) continues at the next ppo_learn. */
    p->resume_pending = p->call_iteration > 0;
    return 0;
}

void ppo_pspec(const Ppo *p, const char *name, const char *mask_rule, Pspec *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->obs_dim = p->O;
    SB_ASSERT(p->pi.n_layers + 1 <= PSPEC_MAX_SIZES && p->vf.n_layers + 1 <= PSPEC_MAX_SIZES);
    out->n_pi = p->pi.n_layers + 1;
    out->n_vf = p->vf.n_layers + 1;
    for (int i = 0; i < out->n_pi; i++) out->pi_sizes[i] = p->pi.sizes[i];
    for (int i = 0; i < out->n_vf; i++) out->vf_sizes[i] = p->vf.sizes[i];
    out->relu = p->cfg.activation == MLP_RELU;
    const ActionSpace *s = &p->space;
    if (s->kind == SPACE_BOX) {
        out->kind = PSPEC_BOX;
        out->size = s->dim;
        for (int a = 0; a < s->dim; a++) {
            out->low[a] = s->low[a];
            out->high[a] = s->high[a];
        }
    } else if (s->kind == SPACE_DISCRETE) {
        out->kind = PSPEC_DISCRETE;
        out->size = s->n;
    } else {
        out->kind = PSPEC_MULTI_DISCRETE;
        out->size = s->dim;
        for (int j = 0; j < s->dim; j++) out->nvec[j] = s->nvec[j];
    }
    snprintf(out->mask, sizeof out->mask, "%s", mask_rule ? mask_rule : "none");
    out->normalize_obs = p->cfg.norm_obs;
    out->clip_obs = p->cfg.clip_obs;
    out->obs_eps = p->norm.epsilon;
}
