/* env.c: the vector of environments a rollout steps, with SB3's auto-reset and episode log.
 *
 * Legend: N environments, O observation size, A action floats per env, K mask width. */
#include "rl/env.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void vecenv_init(VecEnv *v, const EnvClass *cls, void **envs, int n) {
    SB_ASSERT(cls && envs && n > 0);
    memset(v, 0, sizeof *v);
    v->cls = cls;
    v->n = n;
    v->envs = envs;
    size_t N = (size_t)n, O = (size_t)cls->obs_dim, A = (size_t)cls->space.dim;
    v->obs = sb_calloc(N * O, sizeof(float));
    v->terminal_obs = sb_calloc(N * O, sizeof(float));
    if (cls->space.masked) v->mask = sb_calloc(N * (size_t)cls->space.n, 1);
    v->reward = sb_calloc(N, sizeof(float));
    v->terminated = sb_calloc(N, 1);
    v->truncated = sb_calloc(N, 1);
    v->done = sb_calloc(N, 1);
    v->ep_return = sb_calloc(N, sizeof(double));
    v->ep_len = sb_calloc(N, sizeof(long));
    if (cls->space.kind == SPACE_BOX) v->act_clipped = sb_calloc(N * A, sizeof(float));
    v->last_return = sb_calloc(N, sizeof(double));
    v->last_len = sb_calloc(N, sizeof(long));
}

static unsigned char *mask_row(VecEnv *v, int i) {
    return v->mask ? v->mask + (size_t)i * (size_t)v->cls->space.n : NULL;
}

void vecenv_reset(VecEnv *v) {
    size_t O = (size_t)v->cls->obs_dim;
    for (int i = 0; i < v->n; i++) {
        v->cls->reset(v->envs[i], v->obs + (size_t)i * O, mask_row(v, i));
        v->ep_return[i] = 0.0;
        v->ep_len[i] = 0;
        v->reward[i] = 0.0f;
        v->terminated[i] = v->truncated[i] = v->done[i] = 0;
    }
}

static void record_episode(VecEnv *v, double ret, long len) {
    v->hist_return[v->hist_pos] = ret;
    v->hist_len[v->hist_pos] = len;
    v->hist_pos = (v->hist_pos + 1) % VECENV_HISTORY;
    if (v->hist_count < VECENV_HISTORY) v->hist_count++;
    v->episodes++;
}

void vecenv_step(VecEnv *v, const float *actions) {
    const EnvClass *c = v->cls;
    size_t O = (size_t)c->obs_dim, A = (size_t)c->space.dim;
    for (int i = 0; i < v->n; i++) {
        const float *act = actions + (size_t)i * A;
        if (c->space.kind == SPACE_BOX) {
            float *cl = v->act_clipped + (size_t)i * A;
            for (size_t j = 0; j < A; j++) {
                float a = act[j];
                /* np.clip order: max with low, then min with high; NaN passes through. */
                if (a < c->space.low[j]) a = c->space.low[j];
                if (a > c->space.high[j]) a = c->space.high[j];
                cl[j] = a;
            }
            act = cl;
        }
        float *obs = v->obs + (size_t)i * O;
        float r = 0.0f;
        int term = 0, trunc = 0;
        c->step(v->envs[i], act, obs, mask_row(v, i), &r, &term, &trunc);
        v->reward[i] = r;
        v->terminated[i] = (unsigned char)(term != 0);
        v->truncated[i] = (unsigned char)(trunc != 0);
        v->done[i] = (unsigned char)(term || trunc);
        v->ep_return[i] += (double)r;
        v->ep_len[i]++;
        if (term || trunc) {
            /* As SB3's DummyVecEnv: keep the final obs for bootstrapping, start a new episode. */
            memcpy(v->terminal_obs + (size_t)i * O, obs, O * sizeof(float));
            v->last_return[i] = v->ep_return[i];
            v->last_len[i] = v->ep_len[i];
            record_episode(v, v->ep_return[i], v->ep_len[i]);
            v->ep_return[i] = 0.0;
            v->ep_len[i] = 0;
            c->reset(v->envs[i], obs, mask_row(v, i));
        }
    }
}

void vecenv_free(VecEnv *v) {
    free(v->obs);
    free(v->terminal_obs);
    free(v->mask);
    free(v->reward);
    free(v->terminated);
    free(v->truncated);
    free(v->done);
    free(v->ep_return);
    free(v->ep_len);
    free(v->act_clipped);
    free(v->last_return);
    free(v->last_len);
    memset(v, 0, sizeof *v);
}

double vecenv_mean_return(const VecEnv *v) {
    if (v->hist_count == 0) return NAN;
    double s = 0.0;
    for (int k = 0; k < v->hist_count; k++) s += v->hist_return[k];
    return s / v->hist_count;
}

double vecenv_mean_length(const VecEnv *v) {
    if (v->hist_count == 0) return NAN;
    double s = 0.0;
    for (int k = 0; k < v->hist_count; k++) s += (double)v->hist_len[k];
    return s / v->hist_count;
}
