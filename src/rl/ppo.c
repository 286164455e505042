/* ppo.c: PPO as Stable-Baselines3 2.3.2 computes it (see ppo.h). */
#include "rl/ppo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "rl/dist.h"
#include "rl/normalize.h"
#include "rl/ppo_impl.h"
#include "rl/ppo_internal.h"
#include "util/common.h"

void ppo_config_default(PpoConfig *c) {
    memset(c, 0, sizeof *c);
    c->learning_rate = 3e-4;
    c->n_steps = 2048;
    c->batch_size = 64;
    c->n_epochs = 10;
    c->gamma = 0.99;
    c->gae_lambda = 0.95;
    c->clip_range = 0.2;
    c->clip_range_vf = 0.0;
    c->normalize_advantage = 1;
    c->ent_coef = 0.0;
    c->vf_coef = 0.5;
    c->max_grad_norm = 0.5;
    c->target_kl = 0.0;
    c->reset_num_timesteps = 1;
    c->n_pi = c->n_vf = 2;
    c->pi_arch[0] = c->pi_arch[1] = 64;
    c->vf_arch[0] = c->vf_arch[1] = 64;
    c->activation = MLP_TANH;
    c->log_std_init = 0.0;
    c->ortho_init = 1;
    c->norm_obs = c->norm_reward = 0;
    c->clip_obs = 10.0;
    c->clip_reward = 10.0;
}

int ppo_config_validate(const PpoConfig *c, char *err, size_t n) {
    if (!(c->learning_rate >= 0)) return sb_err(err, n, "learning_rate: must be >= 0");
    if (c->n_steps < 1) return sb_err(err, n, "n_steps: must be >= 1");
    if (c->batch_size < 2)
        return sb_err(err, n, "batch_size: must be > 1 (advantage normalisation needs two samples)");
    if (c->n_epochs < 1) return sb_err(err, n, "n_epochs: must be >= 1");
    if (!(c->gamma >= 0 && c->gamma <= 1)) return sb_err(err, n, "gamma: must be in [0, 1]");
    if (!(c->gae_lambda >= 0 && c->gae_lambda <= 1)) return sb_err(err, n, "gae_lambda: must be in [0, 1]");
    if (!(c->clip_range > 0)) return sb_err(err, n, "clip_range: must be > 0");
    if (!(c->max_grad_norm > 0)) return sb_err(err, n, "max_grad_norm: must be > 0");
    if (c->n_pi < 0 || c->n_pi > MLP_MAX_LAYERS - 1 || c->n_vf < 0 || c->n_vf > MLP_MAX_LAYERS - 1)
        return sb_err(err, n, "policy_kwargs.net_arch: at most %d hidden layers", MLP_MAX_LAYERS - 1);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* The agent (struct Ppo in ppo_impl.h).                                                */

static int head_width(const ActionSpace *s) { return s->kind == SPACE_BOX ? s->dim : s->n; }

/* Width of categorical segment j: Discrete is one segment of n. */
static int seg_width(const ActionSpace *s, int j) { return s->kind == SPACE_DISCRETE ? s->n : s->nvec[j]; }

Ppo *ppo_create(const PpoConfig *c, int obs_dim, const ActionSpace *space, int n_envs, uint64_t seed,
                char *err, size_t n) {
    if (ppo_config_validate(c, err, n)) return NULL;
    if (obs_dim < 1 || n_envs < 1) {
        sb_err(err, n, "ppo: obs_dim and n_envs must be >= 1");
        return NULL;
    }
    if (space->kind == SPACE_BOX && (space->dim < 1 || space->dim > ENV_MAX_ACT)) {
        sb_err(err, n, "ppo: Box action dimension must be in [1, %d]", ENV_MAX_ACT);
        return NULL;
    }
    if (space->kind != SPACE_BOX && space->n < 2) {
        sb_err(err, n, "ppo: a discrete space needs at least 2 actions");
        return NULL;
    }
    Ppo *p = sb_calloc(1, sizeof *p);
    p->cfg = *c;
    p->space = *space;
    p->O = obs_dim;
    p->A = space->dim;
    p->K = head_width(space);
    p->N = n_envs;
    p->T = c->n_steps;
    if (mlp_init(&p->pi, p->O, c->pi_arch, c->n_pi, p->K, c->activation) ||
        mlp_init(&p->vf, p->O, c->vf_arch, c->n_vf, 1, c->activation)) {
        sb_err(err, n, "ppo: bad network shape");
        free(p);
        return NULL;
    }
    p->pi_off = 0;
    p->vf_off = p->pi.n_params;
    p->ls_off = p->vf_off + p->vf.n_params;
    p->n_params = p->ls_off + (space->kind == SPACE_BOX ? (size_t)p->A : 0);
    p->params = sb_calloc(p->n_params, sizeof(float));
    p->grads = sb_calloc(p->n_params, sizeof(float));
    p->m = sb_calloc(p->n_params, sizeof(float));
    p->v = sb_calloc(p->n_params, sizeof(float));
    rng_seed(&p->rng, seed, 0x5050);
    Rng init;
    rng_seed(&init, seed, 0x1417);
    if (c->ortho_init) {
        mlp_init_orthogonal(&p->pi, p->params + p->pi_off, (float)sqrt(2.0), 0.01f, &init);
        mlp_init_orthogonal(&p->vf, p->params + p->vf_off, (float)sqrt(2.0), 1.0f, &init);
    } else {
        /* PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b. */
        const Mlp *nets[2] = {&p->pi, &p->vf};
        size_t offs[2] = {p->pi_off, p->vf_off};
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < nets[k]->n_layers; l++) {
                double bound = 1.0 / sqrt((double)nets[k]->sizes[l]);
                size_t nw = (size_t)nets[k]->sizes[l] * (size_t)nets[k]->sizes[l + 1];
                float *w = p->params + offs[k] + nets[k]->w_off[l];
                float *b = p->params + offs[k] + nets[k]->b_off[l];
                for (size_t i = 0; i < nw; i++) w[i] = (float)rng_uniform_range(&init, -bound, bound);
                for (int i = 0; i < nets[k]->sizes[l + 1]; i++)
                    b[i] = (float)rng_uniform_range(&init, -bound, bound);
            }
    }
    for (int a = 0; space->kind == SPACE_BOX && a < p->A; a++)
        p->params[p->ls_off + (size_t)a] = (float)c->log_std_init;
    adam_init(&p->adam, c->learning_rate, 1e-5);
    vecnorm_init(&p->norm, n_envs, obs_dim, c->norm_obs, c->norm_reward, c->gamma, c->clip_obs,
                 c->clip_reward);

    size_t TN = (size_t)p->T * (size_t)p->N, B = (size_t)c->batch_size;
    p->b_obs = sb_calloc(TN * (size_t)p->O, sizeof(float));
    p->b_act = sb_calloc(TN * (size_t)p->A, sizeof(float));
    if (space->masked) p->b_mask = sb_calloc(TN * (size_t)p->K, 1);
    if (space->masked && space->kind == SPACE_DISCRETE) {
        p->b_span = sb_calloc(TN * 2, sizeof(int));
        p->b_exact = sb_calloc(TN, 1);
        p->mb_span = sb_calloc(B * 2, sizeof(int));
        p->mb_mask = sb_calloc(B * (size_t)p->K, 1);
        p->mb_H = sb_calloc(B, sizeof(double));
    }
    p->b_rew = sb_calloc(TN, sizeof(float));
    p->b_start = sb_calloc(TN, sizeof(float));
    p->b_val = sb_calloc(TN, sizeof(float));
    p->b_logp = sb_calloc(TN, sizeof(float));
    p->b_adv = sb_calloc(TN, sizeof(float));
    p->b_ret = sb_calloc(TN, sizeof(float));
    p->last_obs = sb_calloc((size_t)p->N * (size_t)p->O, sizeof(float));
    p->last_start = sb_calloc((size_t)p->N, 1);
    p->raw_rew = sb_calloc((size_t)p->N, sizeof(float));
    p->norm_tmp = sb_calloc((size_t)p->N * (size_t)p->O, sizeof(float));
    size_t rows = SB_MAX((size_t)p->N, B);
    p->a_piw = sb_calloc(mlp_work_size(&p->pi, (int)rows), sizeof(float));
    p->a_vfw = sb_calloc(mlp_work_size(&p->vf, (int)rows), sizeof(float));
    p->a_lp = sb_calloc(rows * (size_t)p->K, sizeof(float));
    p->a_p = sb_calloc(rows * (size_t)p->K, sizeof(float));
    p->a_act = sb_calloc((size_t)p->N * (size_t)p->A, sizeof(float));
    p->perm = sb_calloc(TN, sizeof(int));
    p->mb_obs = sb_calloc(B * (size_t)p->O, sizeof(float));
    p->piw = sb_calloc(mlp_work_size(&p->pi, (int)B), sizeof(float));
    p->pis = sb_calloc(mlp_work_size(&p->pi, (int)B), sizeof(float));
    p->vfw = sb_calloc(mlp_work_size(&p->vf, (int)B), sizeof(float));
    p->vfs = sb_calloc(mlp_work_size(&p->vf, (int)B), sizeof(float));
    p->d_head = sb_calloc(B * (size_t)p->K, sizeof(float));
    p->d_val = sb_calloc(B, sizeof(float));
    p->mb_lp = sb_calloc(B * (size_t)p->K, sizeof(float));
    p->mb_p = sb_calloc(B * (size_t)p->K, sizeof(float));
    return p;
}

void ppo_free(Ppo *p) {
    if (!p) return;
    free(p->params);
    free(p->grads);
    free(p->m);
    free(p->v);
    vecnorm_free(&p->norm);
    free(p->b_obs);
    free(p->b_act);
    free(p->b_mask);
    free(p->b_span);
    free(p->b_exact);
    free(p->mb_span);
    free(p->mb_mask);
    free(p->mb_H);
    free(p->b_rew);
    free(p->b_start);
    free(p->b_val);
    free(p->b_logp);
    free(p->b_adv);
    free(p->b_ret);
    free(p->last_obs);
    free(p->last_start);
    free(p->raw_rew);
    free(p->norm_tmp);
    free(p->a_piw);
    free(p->a_vfw);
    free(p->a_lp);
    free(p->a_p);
    free(p->a_act);
    free(p->perm);
    free(p->mb_obs);
    free(p->piw);
    free(p->pis);
    free(p->vfw);
    free(p->vfs);
    free(p->d_head);
    free(p->d_val);
    free(p->mb_lp);
    free(p->mb_p);
    free(p);
}

/* Forward both nets on B normalised rows; returns head (B, K) and values (B, 1) pointers. */
static void forward_rows(Ppo *p, const float *obs, int B, float *piw, float *vfw, const float **head,
                         const float **val) {
    const float *pp = p->params + p->pi_off, *vp = p->params + p->vf_off;
    if (B == 1) {
        mlp_forward1(&p->pi, pp, obs, piw);
        mlp_forward1(&p->vf, vp, obs, vfw);
    } else {
        mlp_forward(&p->pi, pp, obs, B, piw);
        mlp_forward(&p->vf, vp, obs, B, vfw);
    }
    *head = mlp_output(&p->pi, piw, B);
    *val = mlp_output(&p->vf, vfw, B);
}

/* Distribution of one row: log-probabilities and probabilities of each sub-action
 * (categorical) into lp and pr (K each), and the entropy; for Box only the entropy. */
static double row_dist(const Ppo *p, const float *head, const unsigned char *mask, float *lp, float *pr) {
    if (p->space.kind == SPACE_BOX) return dist_gauss_entropy(p->params + p->ls_off, p->A);
    if (p->space.kind == SPACE_DISCRETE) return dist_cat_forward(head, mask, p->K, lp, pr);
    double H = 0;
    for (int j = 0, off = 0; j < p->A; off += p->space.nvec[j], j++)
        H += dist_cat_forward(head + off, mask ? mask + off : NULL, p->space.nvec[j], lp + off, pr + off);
    return H;
}

/* row_dist for rollout row r, a masked Discrete row whose valid actions lie in b_span (exactly,
 * if b_exact: then the mask need not be read). */
static double row_dist_span(const Ppo *p, const float *head, const unsigned char *mask, size_t r, float *lp,
                            float *pr) {
    const int *sp = p->b_span + 2 * r;
    return dist_cat_forward_span(head, p->b_exact[r] ? NULL : mask, p->K, sp[0], sp[1], lp, pr);
}

/* Box: p->gauss for the current log_std; called where the parameters may have changed (before a
 * rollout, a minibatch, a prediction), so the rows that follow share its exponentials. */
static void prepare_gauss(Ppo *p) {
    if (p->space.kind == SPACE_BOX) dist_gauss_prepare(&p->gauss, p->params + p->ls_off, p->A);
}

static double row_logp(const Ppo *p, const float *head, const float *lp, const float *act) {
    if (p->space.kind == SPACE_BOX) return dist_gauss_logp_p(&p->gauss, head, act);
    double s = 0;
    for (int j = 0, off = 0; j < p->A; off += seg_width(&p->space, j), j++) s += lp[off + (int)act[j]];
    return s;
}

static void row_sample(Ppo *p, const float *head, const float *lp, const float *pr, int deterministic, Rng *rng,
                       float *act) {
    if (p->space.kind == SPACE_BOX) {
        if (deterministic) memcpy(act, head, (size_t)p->A * sizeof(float));
        else dist_gauss_sample_p(&p->gauss, head, rng, act);
        return;
    }
    for (int j = 0, off = 0; j < p->A; off += seg_width(&p->space, j), j++) {
        int k = deterministic ? dist_cat_mode(lp + off, seg_width(&p->space, j))
                              : dist_cat_sample_p(pr + off, seg_width(&p->space, j), rng);
        act[j] = (float)k;
    }
}

static void clip_box(const ActionSpace *s, float *act) {
    for (int a = 0; a < s->dim; a++) act[a] = fminf(fmaxf(act[a], s->low[a]), s->high[a]);
}

void ppo_predict(Ppo *p, const float *obs, const unsigned char *mask, int B, int deterministic,
                 float *actions, float *values, Rng *rng) {
    prepare_gauss(p);
    /* Row at a time keeps the workspace at N rows whatever B is. */
    for (int i = 0; i < B; i++) {
        float *x = p->norm_tmp;
        vecnorm_normalize_obs(&p->norm, obs + (size_t)i * (size_t)p->O, x, 1);
        const float *head, *val;
        forward_rows(p, x, 1, p->a_piw, p->a_vfw, &head, &val);
        const unsigned char *mk = mask ? mask + (size_t)i * (size_t)p->K : NULL;
        row_dist(p, head, mk, p->a_lp, p->a_p);
        float *act = actions + (size_t)i * (size_t)p->A;
        row_sample(p, head, p->a_lp, p->a_p, deterministic, rng, act);
        if (p->space.kind == SPACE_BOX) clip_box(&p->space, act);
        if (values) values[i] = val[0];
    }
}

void ppo_action_probs(Ppo *p, const float *obs, const unsigned char *mask, int B, float *probs) {
    SB_ASSERT(p->space.kind != SPACE_BOX);
    for (int i = 0; i < B; i++) {
        float *x = p->norm_tmp;
        vecnorm_normalize_obs(&p->norm, obs + (size_t)i * (size_t)p->O, x, 1);
        const float *head, *val;
        forward_rows(p, x, 1, p->a_piw, p->a_vfw, &head, &val);
        const unsigned char *mk = mask ? mask + (size_t)i * (size_t)p->K : NULL;
        row_dist(p, head, mk, p->a_lp, probs + (size_t)i * (size_t)p->K);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Rollout (SB3 OnPolicyAlgorithm.collect_rollouts) and GAE (RolloutBuffer).             */

static void collect_rollout(Ppo *p, VecEnv *env, long *num_timesteps) {
    const int N = p->N, O = p->O, A = p->A, K = p->K;
    prepare_gauss(p);
    for (int t = 0; t < p->T; t++) {
        const float *head, *val;
        size_t base = (size_t)t * (size_t)N;
        /* The valid actions' spans first: the policy head is needed only there. */
        for (int i = 0; p->b_span && i < N; i++) {
            int *sp = p->b_span + 2 * (base + (size_t)i);
            sp[0] = 0;
            sp[1] = K;
            p->b_exact[base + (size_t)i] =
                env->mask ? (unsigned char)dist_cat_mask_span(env->mask + (size_t)i * (size_t)K, K, &sp[0], &sp[1])
                          : 1;
        }
        /* Policy on the current (normalised) observations. */
        if (N == 1 && p->b_span) {
            const int *sp = p->b_span + 2 * base;
            mlp_forward1_span(&p->pi, p->params + p->pi_off, p->last_obs, sp[0], sp[1], p->a_piw);
            mlp_forward1(&p->vf, p->params + p->vf_off, p->last_obs, p->a_vfw);
            head = mlp_output(&p->pi, p->a_piw, 1);
            val = mlp_output(&p->vf, p->a_vfw, 1);
        } else {
            forward_rows(p, p->last_obs, N, p->a_piw, p->a_vfw, &head, &val);
        }
        for (int i = 0; i < N; i++) {
            size_t r = base + (size_t)i;
            const float *h = head + (size_t)i * (size_t)K;
            const unsigned char *mk = env->mask ? env->mask + (size_t)i * (size_t)K : NULL;
            float *lp = p->a_lp + (size_t)i * (size_t)K, *pr = p->a_p + (size_t)i * (size_t)K;
            if (p->b_span) {
                row_dist_span(p, h, mk, r, lp, pr);
            } else {
                row_dist(p, h, mk, lp, pr);
            }
            float *act = p->a_act + (size_t)i * (size_t)A;
            if (p->b_span) act[0] = (float)dist_cat_sample_span(pr, p->b_span[2 * r], p->b_span[2 * r + 1], &p->rng);
            else row_sample(p, h, lp, pr, 0, &p->rng, act);
            memcpy(p->b_obs + r * (size_t)O, p->last_obs + (size_t)i * (size_t)O, (size_t)O * sizeof(float));
            memcpy(p->b_act + r * (size_t)A, act, (size_t)A * sizeof(float));
            if (p->b_mask) {
                if (mk) memcpy(p->b_mask + r * (size_t)K, mk, (size_t)K);
                else memset(p->b_mask + r * (size_t)K, 1, (size_t)K);
            }
            p->b_val[r] = val[i];
            p->b_logp[r] = (float)row_logp(p, h, lp, act);
            p->b_start[r] = p->last_start[i];
        }
        /* The env clips Box actions itself (SB3 clips in the policy wrapper). */
        vecenv_step(env, p->a_act);
        *num_timesteps += N;
        vecnorm_obs(&p->norm, env->obs, p->last_obs, 1);
        vecnorm_reward(&p->norm, env->reward, env->done, p->raw_rew, 1);
        for (int i = 0; i < N; i++) {
            float rew = p->raw_rew[i];
            int done = env->terminated[i] || env->truncated[i];
            if (done && env->truncated[i] && !env->terminated[i]) {
                /* Bootstrap a time-limit truncation with V(terminal obs), as SB3 does. */
                float *x = p->norm_tmp;
                vecnorm_normalize_obs(&p->norm, env->terminal_obs + (size_t)i * (size_t)O, x, 1);
                mlp_forward1(&p->vf, p->params + p->vf_off, x, p->a_vfw);
                rew += (float)p->cfg.gamma * mlp_output(&p->vf, p->a_vfw, 1)[0];
            }
            p->b_rew[base + (size_t)i] = rew;
            p->last_start[i] = (unsigned char)done;
        }
    }
    /* GAE(lambda) backwards over the buffer, in float32 as SB3's numpy buffer. */
    const float *head, *val;
    forward_rows(p, p->last_obs, N, p->a_piw, p->a_vfw, &head, &val);
    const float gamma = (float)p->cfg.gamma, lam = (float)p->cfg.gae_lambda;
    for (int i = 0; i < N; i++) {
        float last_gae = 0;
        for (int t = p->T - 1; t >= 0; t--) {
            size_t r = (size_t)t * (size_t)N + (size_t)i;
            float next_non_terminal, next_value;
            if (t == p->T - 1) {
                next_non_terminal = 1.0f - (float)p->last_start[i];
                next_value = val[i];
            } else {
                next_non_terminal = 1.0f - p->b_start[r + (size_t)N];
                next_value = p->b_val[r + (size_t)N];
            }
            float delta = p->b_rew[r] + gamma * next_value * next_non_terminal - p->b_val[r];
            last_gae = delta + gamma * lam * next_non_terminal * last_gae;
            p->b_adv[r] = last_gae;
            p->b_ret[r] = last_gae + p->b_val[r];
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Update (SB3 PPO.train).                                                               */

typedef struct {
    double pg, vf, ent, kl, clipfrac, loss;
} MbStats;

/* One minibatch: forward, loss, backward into p->grads. Returns approx_kl computed before
 * the gradient (SB3 checks target_kl on it before stepping). */
static MbStats minibatch_loss(Ppo *p, const int *idx, int B, double clip, double clip_vf) {
    const int O = p->O, A = p->A, K = p->K;
    MbStats st = {0};
    prepare_gauss(p);
    for (int b = 0; b < B; b++)
        memcpy(p->mb_obs + (size_t)b * (size_t)O, p->b_obs + (size_t)idx[b] * (size_t)O,
               (size_t)O * sizeof(float));
    const float *head, *val;
    if (p->mb_span) {
        /* The policy head only on each row's valid actions (b_span). */
        for (int b = 0; b < B; b++) {
            p->mb_span[2 * b] = p->b_span[2 * (size_t)idx[b]];
            p->mb_span[2 * b + 1] = p->b_span[2 * (size_t)idx[b] + 1];
        }
        mlp_forward_span(&p->pi, p->params + p->pi_off, p->mb_obs, B, p->mb_span, p->piw);
        mlp_forward(&p->vf, p->params + p->vf_off, p->mb_obs, B, p->vfw);
        head = mlp_output(&p->pi, p->piw, B);
        val = mlp_output(&p->vf, p->vfw, B);
        /* Every row's distribution at once (rows interleaved); the same bits as row_dist_span. The
         * masks are read only if some row's valid actions are not exactly its span. */
        int exact = 1;
        for (int b = 0; b < B; b++) exact &= p->b_exact[idx[b]];
        for (int b = 0; !exact && b < B; b++)
            memcpy(p->mb_mask + (size_t)b * (size_t)K, p->b_mask + (size_t)idx[b] * (size_t)K, (size_t)K);
        dist_cat_forward_rows(head, exact ? NULL : p->mb_mask, p->mb_span, B, K, p->mb_lp, p->mb_p, p->mb_H);
    } else {
        forward_rows(p, p->mb_obs, B, p->piw, p->vfw, &head, &val);
    }

    /* Advantage normalisation per minibatch: torch's std is the unbiased one. */
    double am = 0, as = 0;
    for (int b = 0; b < B; b++) am += p->b_adv[idx[b]];
    am /= B;
    for (int b = 0; b < B; b++) {
        double d = p->b_adv[idx[b]] - am;
        as += d * d;
    }
    as = sqrt(as / (B - 1));
    int norm_adv = p->cfg.normalize_advantage && B > 1;

    memset(p->d_head, 0, (size_t)B * (size_t)K * sizeof(float));
    float *d_ls = p->grads + p->ls_off;
    const double inv_b = 1.0 / B;
    for (int b = 0; b < B; b++) {
        int r = idx[b];
        const float *h = head + (size_t)b * (size_t)K;
        const unsigned char *mk = p->b_mask ? p->b_mask + (size_t)r * (size_t)K : NULL;
        float *lp = p->mb_lp + (size_t)b * (size_t)K, *pr = p->mb_p + (size_t)b * (size_t)K;
        const float *act = p->b_act + (size_t)r * (size_t)A;
        const int *sp = p->b_span ? p->b_span + 2 * (size_t)r : NULL;
        double H = sp ? p->mb_H[b] : row_dist(p, h, mk, lp, pr);
        double logp = row_logp(p, h, lp, act);
        double adv = p->b_adv[r];
        if (norm_adv) adv = (adv - am) / (as + 1e-8);
        double log_ratio = logp - p->b_logp[r];
        double ratio = exp(log_ratio);
        double cr = fmin(fmax(ratio, 1.0 - clip), 1.0 + clip);
        double l1 = adv * ratio, l2 = adv * cr;
        st.pg += -fmin(l1, l2);
        st.clipfrac += fabs(ratio - 1.0) > clip;
        st.kl += (ratio - 1.0) - log_ratio;
        st.ent += -H;
        /* d(-min(l1, l2))/dlogp: the unclipped branch carries ratio * adv; the clipped one
         * has zero slope outside the clip range (ties give the same value either way). */
        double g_logp = (l1 <= l2) ? -adv * ratio * inv_b : 0.0;
        double g_ent = -p->cfg.ent_coef * inv_b;
        if (p->space.kind == SPACE_BOX) {
            dist_gauss_backward_p(&p->gauss, h, act, g_logp, g_ent, p->d_head + (size_t)b * (size_t)K, d_ls);
        } else {
            float *dh = p->d_head + (size_t)b * (size_t)K;
            if (sp) {
                dist_cat_backward_span(lp, pr, K, sp[0], sp[1], (int)act[0], H, g_logp, g_ent, dh);
            } else if (p->space.kind == SPACE_DISCRETE) {
                dist_cat_backward_p(lp, pr, K, (int)act[0], H, g_logp, g_ent, dh);
            } else {
                for (int j = 0, off = 0; j < A; off += p->space.nvec[j], j++) {
                    /* Entropy and log-prob are sums over sub-actions: each segment's own H. */
                    double Hj = 0;
                    for (int k = 0; k < p->space.nvec[j]; k++)
                        if (lp[off + k] != -INFINITY) Hj -= (double)pr[off + k] * lp[off + k];
                    dist_cat_backward_p(lp + off, pr + off, p->space.nvec[j], (int)act[j], Hj, g_logp, g_ent,
                                        dh + off);
                }
            }
        }
        /* Value loss: mse(returns, v_pred), v_pred optionally clipped around the old value. */
        double v = val[b], vpred = v, dvpred_dv = 1.0;
        if (clip_vf > 0) {
            double dv = v - p->b_val[r];
            if (dv > clip_vf) { vpred = p->b_val[r] + clip_vf; dvpred_dv = 0; }
            else if (dv < -clip_vf) { vpred = p->b_val[r] - clip_vf; dvpred_dv = 0; }
        }
        double e = p->b_ret[r] - vpred;
        st.vf += e * e;
        p->d_val[b] = (float)(p->cfg.vf_coef * -2.0 * e * inv_b * dvpred_dv);
    }
    st.pg *= inv_b;
    st.vf *= inv_b;
    st.ent *= inv_b;
    st.kl *= inv_b;
    st.clipfrac *= inv_b;
    st.loss = st.pg + p->cfg.ent_coef * st.ent + p->cfg.vf_coef * st.vf;
    if (p->mb_span)
        mlp_backward_span(&p->pi, p->params + p->pi_off, p->mb_obs, B, p->piw, p->d_head, p->mb_span,
                          p->grads + p->pi_off, NULL, p->pis);
    else
        mlp_backward(&p->pi, p->params + p->pi_off, p->mb_obs, B, p->piw, p->d_head, p->grads + p->pi_off, NULL,
                     p->pis);
    mlp_backward(&p->vf, p->params + p->vf_off, p->mb_obs, B, p->vfw, p->d_val, p->grads + p->vf_off, NULL,
                 p->vfs);
    return st;
}

static void update(Ppo *p, double progress_remaining, PpoStats *out) {
    const int TN = p->T * p->N, B = p->cfg.batch_size;
    double lr = p->cfg.lr_linear ? p->cfg.learning_rate * progress_remaining : p->cfg.learning_rate;
    double clip = p->cfg.clip_linear ? p->cfg.clip_range * progress_remaining : p->cfg.clip_range;
    p->adam.lr = lr;
    double s_pg = 0, s_vf = 0, s_ent = 0, s_cf = 0, s_kl = 0, last_loss = 0;
    long n_mb = 0, n_kl = 0;
    int cont = 1;
    for (int epoch = 0; epoch < p->cfg.n_epochs && cont; epoch++) {
        /* np.random.permutation, then consecutive slices including the last partial one. */
        for (int i = 0; i < TN; i++) p->perm[i] = i;
        for (int i = TN - 1; i > 0; i--) {
            int j = (int)rng_below(&p->rng, (uint64_t)i + 1);
            int tmp = p->perm[i];
            p->perm[i] = p->perm[j];
            p->perm[j] = tmp;
        }
        if (p->debug_perms) /* test hook (ppo_debug_update): a recorded order instead */
            memcpy(p->perm, p->debug_perms + (size_t)epoch * (size_t)TN, (size_t)TN * sizeof(int));
        s_kl = 0;
        n_kl = 0; /* SB3 logs approx_kl of the last epoch only */
        for (int start = 0; start < TN; start += B) {
            int bs = SB_MIN(B, TN - start);
            memset(p->grads, 0, p->n_params * sizeof(float));
            MbStats st = minibatch_loss(p, p->perm + start, bs, clip, p->cfg.clip_range_vf);
            s_pg += st.pg;
            s_vf += st.vf;
            s_ent += st.ent;
            s_cf += st.clipfrac;
            s_kl += st.kl;
            n_kl++;
            n_mb++;
            last_loss = st.loss; /* SB3 logs the loss of the minibatch that stops it too */
            if (p->cfg.target_kl > 0 && st.kl > 1.5 * p->cfg.target_kl) {
                cont = 0;
                break;
            }
            nn_clip_grad_norm(p->grads, p->n_params, p->cfg.max_grad_norm);
            adam_step(&p->adam, p->params, p->grads, p->m, p->v, p->n_params);
        }
        p->n_updates++;
    }
    /* Explained variance of the rollout's values for its returns (ddof 0). */
    double my = 0, md = 0;
    for (int i = 0; i < TN; i++) {
        my += p->b_ret[i];
        md += p->b_ret[i] - p->b_val[i];
    }
    my /= TN;
    md /= TN;
    double vy = 0, vd = 0;
    for (int i = 0; i < TN; i++) {
        double y = p->b_ret[i] - my, d = p->b_ret[i] - p->b_val[i] - md;
        vy += y * y;
        vd += d * d;
    }
    out->explained_variance = vy == 0 ? NAN : 1.0 - vd / vy;
    out->policy_loss = n_mb ? s_pg / n_mb : NAN;
    out->value_loss = n_mb ? s_vf / n_mb : NAN;
    out->entropy_loss = n_mb ? s_ent / n_mb : NAN;
    out->clip_fraction = n_mb ? s_cf / n_mb : NAN;
    out->approx_kl = n_kl ? s_kl / n_kl : NAN;
    out->loss = last_loss;
    out->learning_rate = lr;
    out->clip_range = clip;
    out->n_updates = p->n_updates;
    if (p->space.kind == SPACE_BOX) {
        double s = 0;
        for (int a = 0; a < p->A; a++) s += exp(p->params[p->ls_off + (size_t)a]);
        out->std = s / p->A;
    } else {
        out->std = NAN;
    }
}

int ppo_learn(Ppo *p, VecEnv *env, long total_timesteps, PpoCallback cb, void *user) {
    SB_ASSERT(env->n == p->N && env->cls->obs_dim == p->O);
    long num_timesteps = 0;
    int iteration = 0, resumed = 0;
    if (p->resume_pending) {
        /* A restored checkpoint: continue its call; env and observations are restored. */
        num_timesteps = p->call_steps;
        iteration = p->call_iteration;
        p->resume_pending = 0;
        resumed = 1;
    } else if (p->cfg.reset_num_timesteps || !p->have_last) {
        vecenv_reset(env);
        vecnorm_reset(&p->norm);
        vecnorm_obs(&p->norm, env->obs, p->last_obs, 1);
        memset(p->last_start, 1, (size_t)p->N);
        p->have_last = 1;
    }
    /* SB3's _setup_learn: without reset_num_timesteps the counter carries on and the call's
     * total is added to it, so schedules run over all such calls instead of restarting. */
    if (p->cfg.reset_num_timesteps && !resumed) p->sb3_num_timesteps = 0;
    /* The counter at the call's start (a resumed call has already counted num_timesteps). */
    const long sb3_total = total_timesteps + p->sb3_num_timesteps - num_timesteps;
    double t0 = sb_now();
    long t0_steps = num_timesteps;
    while (num_timesteps < total_timesteps) {
        double ta = sb_now();
        collect_rollout(p, env, &num_timesteps);
        p->sb3_num_timesteps += (long)p->T * p->N;
        double tb = sb_now();
        iteration++;
        double progress = 1.0 - (double)p->sb3_num_timesteps / (double)sb3_total;
        PpoStats st;
        memset(&st, 0, sizeof st);
        update(p, progress, &st);
        double tc = sb_now();
        p->total_steps += (long)p->T * p->N;
        st.timesteps = num_timesteps;
        st.total_timesteps = p->total_steps;
        st.iteration = iteration;
        st.ep_return_mean = vecenv_mean_return(env);
        st.ep_len_mean = vecenv_mean_length(env);
        st.rollout_s = tb - ta;
        st.update_s = tc - tb;
        st.fps = (double)(num_timesteps - t0_steps) / fmax(tc - t0, 1e-9);
        p->call_steps = num_timesteps;
        p->call_iteration = iteration;
        if (cb && cb(&st, user)) return 1;
    }
    p->call_steps = 0;
    p->call_iteration = 0;
    return 0;
}

const PpoConfig *ppo_config(const Ppo *p) { return &p->cfg; }
const ActionSpace *ppo_space(const Ppo *p) { return &p->space; }
int ppo_obs_dim(const Ppo *p) { return p->O; }
const Mlp *ppo_pi_net(const Ppo *p) { return &p->pi; }
const Mlp *ppo_vf_net(const Ppo *p) { return &p->vf; }
float *ppo_pi_params(Ppo *p) { return p->params + p->pi_off; }
float *ppo_vf_params(Ppo *p) { return p->params + p->vf_off; }
float *ppo_log_std(Ppo *p) { return p->space.kind == SPACE_BOX ? p->params + p->ls_off : NULL; }
long ppo_total_steps(const Ppo *p) { return p->total_steps; }

/* ---- test and checkpoint hooks (ppo_internal.h) ---- */

void ppo_debug_load_batch(Ppo *p, const float *obs, const float *act, const unsigned char *mask,
                          const float *old_logp, const float *adv, const float *ret, const float *old_val,
                          int count) {
    SB_ASSERT(count <= p->T * p->N);
    memcpy(p->b_obs, obs, (size_t)count * (size_t)p->O * sizeof(float));
    memcpy(p->b_act, act, (size_t)count * (size_t)p->A * sizeof(float));
    if (p->b_mask) {
        if (mask) memcpy(p->b_mask, mask, (size_t)count * (size_t)p->K);
        else memset(p->b_mask, 1, (size_t)count * (size_t)p->K);
    }
    for (int r = 0; p->b_span && r < count; r++)
        p->b_exact[r] = (unsigned char)dist_cat_mask_span(p->b_mask + (size_t)r * (size_t)p->K, p->K, &p->b_span[2 * r],
                                                          &p->b_span[2 * r + 1]);
    memcpy(p->b_logp, old_logp, (size_t)count * sizeof(float));
    memcpy(p->b_adv, adv, (size_t)count * sizeof(float));
    memcpy(p->b_ret, ret, (size_t)count * sizeof(float));
    memcpy(p->b_val, old_val, (size_t)count * sizeof(float));
}

PpoLoss ppo_debug_loss(Ppo *p, const int *idx, int B, double clip, double clip_vf, float *grads) {
    memset(p->grads, 0, p->n_params * sizeof(float));
    MbStats st = minibatch_loss(p, idx, B, clip, clip_vf);
    if (grads) memcpy(grads, p->grads, p->n_params * sizeof(float));
    PpoLoss l = {st.pg, st.vf, st.ent, st.kl, st.clipfrac, st.loss};
    return l;
}

void ppo_debug_update(Ppo *p, double progress_remaining, const int *perms, PpoStats *out) {
    memset(out, 0, sizeof *out);
    p->debug_perms = perms;
    update(p, progress_remaining, out);
    p->debug_perms = NULL;
}

float *ppo_params(Ppo *p, size_t *n) {
    *n = p->n_params;
    return p->params;
}
