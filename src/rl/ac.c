/* ac.c: the one-step actor-critic of ac.h.
 *
 * Legend: O observation size, A action floats, K head width; P = n_pi + n_ls + n_vf, the
 * parameters an update moves, laid out [actor net | log_std | critic net] in grad, m and v
 * (the parameters themselves are the caller's three buffers). */
#include "rl/ac.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "rl/dist.h"
#include "util/common.h"

#define AC_MAX_LEVELS 1024 /* dist.h's categorical limit */

enum { G_PI = 0, G_LS = 1, G_VF = 2 }; /* parameter groups: one optimiser each */

struct Ac {
    AcConfig cfg;
    int O, A, K, gauss;
    AcNets net;
    size_t n_pi, n_ls, n_vf, P;
    float *grad, *m, *v;     /* (P) each */
    Adam opt[3];             /* G_PI, G_LS, G_VF */
    Rng rng;
    long updates, samples;
    int started;             /* the environment was reset by the first ac_learn */

    /* workspace */
    float *piw, *pis;        /* actor: forward work and backward scratch, one row */
    float *vfw, *vfw_next, *vfs; /* critic: work for s and for s', backward scratch */
    float *lp, *pr, *d_head; /* (K) log-probabilities, probabilities, dLoss/dhead */
    double H_acted;          /* the entropy of the distribution an action was drawn from */
    float *obs, *act;        /* (O), (A): the transition being learned (the env reuses its buffers) */
    unsigned char *mask;     /* (K) */

    /* this ac_learn call's sums */
    long s_n;
    double s_delta, s_delta2, s_pol, s_ent, s_tgt, s_tgt2;
};

int ac_config_validate(const AcConfig *c, char *err, size_t n) {
    if (!(c->gamma >= 0 && c->gamma <= 1)) return sb_err(err, n, "gamma: must be in [0, 1]");
    if (!(c->entropy >= 0 && c->entropy < INFINITY)) return sb_err(err, n, "entropy: must be >= 0 and finite");
    if (c->optimizer != AC_ADAM && c->optimizer != AC_SGD) return sb_err(err, n, "optimizer: adam or sgd");
    return 0;
}

Ac *ac_create(const AcConfig *c, int obs_dim, const ActionSpace *space, const AcNets *nets, uint64_t seed, char *err,
              size_t n) {
    if (ac_config_validate(c, err, n)) return NULL;
    const int gauss = space->kind == SPACE_BOX;
    if (!gauss && space->kind != SPACE_DISCRETE) {
        sb_err(err, n, "ac: a Box or a Discrete action space");
        return NULL;
    }
    const int A = gauss ? space->dim : 1, K = gauss ? space->dim : space->n;
    const Mlp *pi = nets->pi, *vf = nets->vf;
    if (A < 1 || A > ENV_MAX_ACT || K < 1 || (!gauss && (K < 2 || K > AC_MAX_LEVELS))) {
        sb_err(err, n, "ac: action space of %d dims and %d levels out of range", A, K);
        return NULL;
    }
    if (!pi || !vf || !nets->pi_params || !nets->vf_params || pi->sizes[0] != obs_dim ||
        pi->sizes[pi->n_layers] != K || vf->sizes[0] != obs_dim || vf->sizes[vf->n_layers] != 1 ||
        (gauss && !nets->log_std)) {
        sb_err(err, n, "ac: the networks do not fit %d observations and a head of %d%s", obs_dim, K,
               gauss ? " with a log_std" : "");
        return NULL;
    }
    Ac *a = sb_calloc(1, sizeof *a);
    a->cfg = *c;
    a->O = obs_dim;
    a->A = A;
    a->K = K;
    a->gauss = gauss;
    a->net = *nets;
    if (!gauss) a->net.log_std = NULL;
    a->n_pi = pi->n_params;
    a->n_ls = gauss ? (size_t)A : 0;
    a->n_vf = vf->n_params;
    a->P = a->n_pi + a->n_ls + a->n_vf;
    a->grad = sb_calloc(a->P, sizeof(float));
    a->m = sb_calloc(a->P, sizeof(float));
    a->v = sb_calloc(a->P, sizeof(float));
    for (int k = 0; k < 3; k++) adam_init(&a->opt[k], 0.0, 1e-5); /* lr is set at each step */
    rng_seed(&a->rng, seed, 0xAC);
    a->piw = sb_calloc(mlp_work_size(pi, 1), sizeof(float));
    a->pis = sb_calloc(mlp_work_size(pi, 1), sizeof(float));
    a->vfw = sb_calloc(mlp_work_size(vf, 1), sizeof(float));
    a->vfw_next = sb_calloc(mlp_work_size(vf, 1), sizeof(float));
    a->vfs = sb_calloc(mlp_work_size(vf, 1), sizeof(float));
    a->lp = sb_calloc((size_t)K, sizeof(float));
    a->pr = sb_calloc((size_t)K, sizeof(float));
    a->d_head = sb_calloc((size_t)K, sizeof(float));
    a->obs = sb_calloc((size_t)obs_dim, sizeof(float));
    a->act = sb_calloc((size_t)A, sizeof(float));
    a->mask = sb_calloc((size_t)K, 1);
    return a;
}

void ac_free(Ac *a) {
    if (!a) return;
    free(a->grad);
    free(a->m);
    free(a->v);
    free(a->piw);
    free(a->pis);
    free(a->vfw);
    free(a->vfw_next);
    free(a->vfs);
    free(a->lp);
    free(a->pr);
    free(a->d_head);
    free(a->obs);
    free(a->act);
    free(a->mask);
    free(a);
}

long ac_total_samples(const Ac *a) { return a->samples; }

/* One optimiser step on group k: params (n) by grads at offset off of the moment buffers. */
static void step(Ac *a, int k, float *params, size_t off, size_t n, double lr) {
    const float *g = a->grad + off;
    if (a->cfg.optimizer == AC_SGD) {
        const float f = (float)lr;
        for (size_t i = 0; i < n; i++) params[i] -= f * g[i];
        return;
    }
    a->opt[k].lr = lr;
    adam_step(&a->opt[k], params, g, a->m + off, a->v + off, n);
}

/* ac_update; with acted, the actor's forward pass on obs (a->piw) and, for a categorical, its
 * distribution (a->lp, a->pr) are those the action was drawn with (the same parameters: the
 * same bits as computing them again). */
static double update(Ac *a, const float *obs, const float *act, const unsigned char *mask, float reward,
                     const float *next_obs, int terminal, double lr_actor, double lr_critic, int acted) {
    const Mlp *pi = a->net.pi, *vf = a->net.vf;
    float *g_pi = a->grad, *g_ls = a->grad + a->n_pi, *g_vf = a->grad + a->n_pi + a->n_ls;
    /* The TD error, from the parameters before either step. */
    double v_next = 0;
    if (!terminal) {
        mlp_forward1(vf, a->net.vf_params, next_obs, a->vfw_next);
        v_next = mlp_output(vf, a->vfw_next, 1)[0];
    }
    mlp_forward1(vf, a->net.vf_params, obs, a->vfw);
    double v = mlp_output(vf, a->vfw, 1)[0];
    if (!acted) mlp_forward1(pi, a->net.pi_params, obs, a->piw);
    const float *head = mlp_output(pi, a->piw, 1); /* (K) */
    double logp, H;
    if (a->gauss) {
        logp = dist_gauss_logp(head, a->net.log_std, act, a->A);
        H = dist_gauss_entropy(a->net.log_std, a->A);
    } else {
        H = acted ? a->H_acted : dist_cat_forward(head, mask, a->K, a->lp, a->pr);
        logp = a->lp[(int)act[0]];
    }
    double target = (double)reward - a->cfg.entropy * logp + (terminal ? 0.0 : a->cfg.gamma * v_next);
    double delta = target - v;
    /* Gradients: the critic's of delta^2 / 2 with the target fixed (dL/dV(s) = -delta), the
     * actor's of -delta log pi(a | s) (dL/dlog pi = -delta); backward accumulates, so zero. */
    memset(a->grad, 0, a->P * sizeof(float));
    float d_v = (float)-delta;
    mlp_backward(vf, a->net.vf_params, obs, 1, a->vfw, &d_v, g_vf, NULL, a->vfs);
    memset(a->d_head, 0, (size_t)a->K * sizeof(float));
    if (a->gauss) dist_gauss_backward(head, a->net.log_std, act, a->A, -delta, 0.0, a->d_head, g_ls);
    else dist_cat_backward_p(a->lp, a->pr, a->K, (int)act[0], H, -delta, 0.0, a->d_head);
    mlp_backward(pi, a->net.pi_params, obs, 1, a->piw, a->d_head, g_pi, NULL, a->pis);
    step(a, G_PI, a->net.pi_params, 0, a->n_pi, lr_actor);
    if (a->gauss) step(a, G_LS, a->net.log_std, a->n_pi, a->n_ls, lr_actor);
    step(a, G_VF, a->net.vf_params, a->n_pi + a->n_ls, a->n_vf, lr_critic);
    a->updates++;
    a->s_n++;
    a->s_delta += delta;
    a->s_delta2 += delta * delta;
    a->s_pol += -delta * logp;
    a->s_ent += H;
    a->s_tgt += target;
    a->s_tgt2 += target * target;
    return delta;
}

double ac_update(Ac *a, const float *obs, const float *act, const unsigned char *mask, float reward,
                 const float *next_obs, int terminal, double lr_actor, double lr_critic) {
    return update(a, obs, act, mask, reward, next_obs, terminal, lr_actor, lr_critic, 0);
}

void ac_learn(Ac *a, VecEnv *env, long n, double lr_actor, double lr_critic, AcStats *st) {
    SB_ASSERT(env->n == 1 && env->cls->obs_dim == a->O);
    const Mlp *pi = a->net.pi;
    if (!a->started) {
        vecenv_reset(env);
        a->started = 1;
    }
    a->s_n = 0;
    a->s_delta = a->s_delta2 = a->s_pol = a->s_ent = a->s_tgt = a->s_tgt2 = 0;
    for (long i = 0; i < n; i++) {
        /* Act on the current observation with the current actor. */
        memcpy(a->obs, env->obs, (size_t)a->O * sizeof(float));
        const unsigned char *mask = NULL;
        if (env->mask) mask = memcpy(a->mask, env->mask, (size_t)a->K);
        mlp_forward1(pi, a->net.pi_params, a->obs, a->piw);
        const float *head = mlp_output(pi, a->piw, 1);
        if (a->gauss) {
            dist_gauss_sample(head, a->net.log_std, a->A, &a->rng, a->act);
        } else {
            a->H_acted = dist_cat_forward(head, mask, a->K, a->lp, a->pr);
            a->act[0] = (float)dist_cat_sample_p(a->pr, a->K, &a->rng);
        }
        vecenv_step(env, a->act); /* a Box action reaches the env clipped; logp is the sample's */
        const float *next = env->done[0] ? env->terminal_obs : env->obs;
        update(a, a->obs, a->act, mask, env->reward[0], next, env->terminated[0], lr_actor, lr_critic, 1);
        a->samples++;
    }
    if (!st) return;
    const double N = (double)a->s_n;
    memset(st, 0, sizeof *st);
    st->samples = a->s_n;
    st->total_samples = a->samples;
    st->updates = a->updates;
    st->delta_mean = N > 0 ? a->s_delta / N : NAN;
    st->delta_sq_mean = N > 0 ? a->s_delta2 / N : NAN;
    st->policy_loss = N > 0 ? a->s_pol / N : NAN;
    st->entropy = N > 0 ? a->s_ent / N : NAN;
    /* Var(target - V) / Var(target) over this call's transitions (SB3's explained variance of
     * the one-step targets). */
    double var_d = a->s_delta2 / N - (a->s_delta / N) * (a->s_delta / N);
    double var_t = a->s_tgt2 / N - (a->s_tgt / N) * (a->s_tgt / N);
    st->explained_variance = N >= 2 && var_t > 0 ? 1.0 - var_d / var_t : NAN;
    st->std = NAN;
    if (a->gauss) {
        double s = 0;
        for (int k = 0; k < a->A; k++) s += exp((double)a->net.log_std[k]);
        st->std = s / a->A;
    }
}

/* ---- checkpoints ---- */

enum { I_UPDATES, I_SAMPLES, I_STARTED, I_T_PI, I_T_LS, I_T_VF, N_INTS };

int ac_save(const Ac *a, Npz *z, const char *name, char *err, size_t n) {
    char m[NPZ_MAX_NAME];
    int64_t ints[N_INTS] = {a->updates, a->samples, a->started, a->opt[G_PI].t, a->opt[G_LS].t, a->opt[G_VF].t};
    size_t sh[1] = {N_INTS};
    snprintf(m, sizeof m, "%s.ac.ints", name);
    if (npz_add(z, m, NPY_I8, sh, 1, ints, err, n)) return -1;
    sh[0] = 4;
    snprintf(m, sizeof m, "%s.ac.rng", name);
    if (npz_add(z, m, NPY_U8, sh, 1, a->rng.s, err, n)) return -1;
    sh[0] = a->P;
    snprintf(m, sizeof m, "%s.ac.adam_m", name);
    if (npz_add(z, m, NPY_F4, sh, 1, a->m, err, n)) return -1;
    snprintf(m, sizeof m, "%s.ac.adam_v", name);
    return npz_add(z, m, NPY_F4, sh, 1, a->v, err, n);
}

int ac_restore(Ac *a, const Npz *z, const char *name, const char *label, char *err, size_t n) {
    char m[NPZ_MAX_NAME];
    int64_t ints[N_INTS];
    uint64_t rng[4];
    float *mv = sb_malloc(2 * a->P * sizeof(float)); /* (2, P): m then v */
    size_t sh_i[1] = {N_INTS}, sh_r[1] = {4}, sh_p[1] = {a->P};
    int rc = -1;
    snprintf(m, sizeof m, "%s.ac.ints", name);
    if (npz_get_exact(z, m, NPY_I8, sh_i, 1, ints, label, err, n)) goto done;
    snprintf(m, sizeof m, "%s.ac.rng", name);
    if (npz_get_exact(z, m, NPY_U8, sh_r, 1, rng, label, err, n)) goto done;
    snprintf(m, sizeof m, "%s.ac.adam_m", name);
    if (npz_get_exact(z, m, NPY_F4, sh_p, 1, mv, label, err, n)) goto done;
    snprintf(m, sizeof m, "%s.ac.adam_v", name);
    if (npz_get_exact(z, m, NPY_F4, sh_p, 1, mv + a->P, label, err, n)) goto done;
    for (int k = 0; k < N_INTS; k++)
        if (ints[k] < 0 || (k == I_STARTED && ints[k] > 1)) {
            sb_err(err, n, "%s: member %s.ac.ints: values out of range", label, name);
            goto done;
        }
    a->updates = (long)ints[I_UPDATES];
    a->samples = (long)ints[I_SAMPLES];
    a->started = (int)ints[I_STARTED];
    a->opt[G_PI].t = (long)ints[I_T_PI];
    a->opt[G_LS].t = (long)ints[I_T_LS];
    a->opt[G_VF].t = (long)ints[I_T_VF];
    memcpy(a->rng.s, rng, sizeof rng);
    memcpy(a->m, mv, a->P * sizeof(float));
    memcpy(a->v, mv + a->P, a->P * sizeof(float));
    rc = 0;
done:
    free(mv);
    return rc;
}
