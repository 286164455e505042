/* normalize.c: RunningMeanStd and VecNormalize (SB3 2.3.2 semantics).
 *
 * Legend: N environments, O observation size, B rows in a batch, D statistic width. */
#include "rl/normalize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void rms_init(RunningMeanStd *r, int dim) {
    SB_ASSERT(dim > 0);
    r->dim = dim;
    r->mean = sb_calloc((size_t)dim, sizeof(double));
    r->var = sb_malloc((size_t)dim * sizeof(double));
    for (int d = 0; d < dim; d++) r->var[d] = 1.0;
    r->count = 1e-4;
    r->bmean = sb_calloc((size_t)dim, sizeof(float));
    r->bvar = sb_calloc((size_t)dim, sizeof(float));
}

void rms_free(RunningMeanStd *r) {
    free(r->mean);
    free(r->var);
    free(r->bmean);
    free(r->bvar);
    memset(r, 0, sizeof *r);
}

/* The parallel-variance merge, in SB3's expression order. m_b is passed in because SB3
 * forms batch_var * batch_count in the batch's own precision (float32 for observations). */
static void merge(RunningMeanStd *r, int d, double bmean, double m_b, double b) {
    double delta = bmean - r->mean[d];
    double tot = r->count + b;
    r->mean[d] = r->mean[d] + delta * b / tot;
    double m_a = r->var[d] * r->count;
    double m_2 = m_a + m_b + (delta * delta) * r->count * b / (r->count + b);
    r->var[d] = m_2 / (r->count + b);
}

void rms_update_f32(RunningMeanStd *r, const float *x, int b) {
    SB_ASSERT(b > 0);
    size_t D = (size_t)r->dim, B = (size_t)b;
    float fb = (float)b;
    for (size_t d = 0; d < D; d++) {
        float s = 0.0f;
        for (size_t i = 0; i < B; i++) s += x[i * D + d];
        float m = s / fb;
        float q = 0.0f;
        for (size_t i = 0; i < B; i++) {
            float c = x[i * D + d] - m;
            q += c * c;
        }
        r->bmean[d] = m;
        r->bvar[d] = q / fb;
    }
    for (size_t d = 0; d < D; d++) merge(r, (int)d, r->bmean[d], (double)(r->bvar[d] * fb), b);
    r->count = b + r->count;
}

void rms_update_f64(RunningMeanStd *r, const double *x, int b) {
    SB_ASSERT(b > 0);
    size_t D = (size_t)r->dim, B = (size_t)b;
    for (size_t d = 0; d < D; d++) {
        double s = 0.0;
        for (size_t i = 0; i < B; i++) s += x[i * D + d];
        double m = s / b;
        double q = 0.0;
        for (size_t i = 0; i < B; i++) {
            double c = x[i * D + d] - m;
            q += c * c;
        }
        merge(r, (int)d, m, q / b * b, b);
    }
    r->count = b + r->count;
}

void vecnorm_init(VecNorm *vn, int n_envs, int obs_dim, int norm_obs, int norm_reward, double gamma,
                  double clip_obs, double clip_reward) {
    SB_ASSERT(n_envs > 0 && obs_dim > 0);
    memset(vn, 0, sizeof *vn);
    vn->n_envs = n_envs;
    vn->obs_dim = obs_dim;
    vn->norm_obs = norm_obs;
    vn->norm_reward = norm_reward;
    vn->gamma = gamma;
    vn->clip_obs = clip_obs;
    vn->clip_reward = clip_reward;
    vn->epsilon = 1e-8;
    rms_init(&vn->obs_rms, obs_dim);
    rms_init(&vn->ret_rms, 1);
    vn->returns = sb_calloc((size_t)n_envs, sizeof(double));
}

void vecnorm_free(VecNorm *vn) {
    rms_free(&vn->obs_rms);
    rms_free(&vn->ret_rms);
    free(vn->returns);
    memset(vn, 0, sizeof *vn);
}

void vecnorm_reset(VecNorm *vn) {
    for (int i = 0; i < vn->n_envs; i++) vn->returns[i] = 0.0;
}

void vecnorm_normalize_obs(const VecNorm *vn, const float *raw, float *out, int rows) {
    size_t O = (size_t)vn->obs_dim, n = (size_t)rows * O;
    if (!vn->norm_obs) {
        if (out != raw) memmove(out, raw, n * sizeof(float));
        return;
    }
    const double *mean = vn->obs_rms.mean, *var = vn->obs_rms.var;
    for (size_t i = 0; i < (size_t)rows; i++)
        for (size_t d = 0; d < O; d++) {
            double z = ((double)raw[i * O + d] - mean[d]) / sqrt(var[d] + vn->epsilon);
            if (z < -vn->clip_obs) z = -vn->clip_obs;
            if (z > vn->clip_obs) z = vn->clip_obs;
            out[i * O + d] = (float)z;
        }
}

void vecnorm_obs(VecNorm *vn, const float *raw, float *out, int update) {
    if (update && vn->norm_obs) rms_update_f32(&vn->obs_rms, raw, vn->n_envs);
    vecnorm_normalize_obs(vn, raw, out, vn->n_envs);
}

void vecnorm_reward(VecNorm *vn, const float *raw_rew, const unsigned char *done, float *out,
                    int update) {
    int n = vn->n_envs;
    if (update) {
        for (int i = 0; i < n; i++) vn->returns[i] = vn->returns[i] * vn->gamma + (double)raw_rew[i];
        rms_update_f64(&vn->ret_rms, vn->returns, n);
    }
    /* NumPy 1.x divides a float32 array by a float64 scalar in float32. */
    float scale = (float)sqrt(vn->ret_rms.var[0] + vn->epsilon);
    float lo = (float)-vn->clip_reward, hi = (float)vn->clip_reward;
    for (int i = 0; i < n; i++) {
        float r = raw_rew[i];
        if (vn->norm_reward) {
            r = r / scale;
            if (r < lo) r = lo;
            if (r > hi) r = hi;
        }
        out[i] = r;
        if (done[i]) vn->returns[i] = 0.0;
    }
}
