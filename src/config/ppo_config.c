/* ppo_config.c: SB3-named PPO keys -> PpoConfig, with positions on every error. */
#include "config/ppo_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

/* A number, or zoo's "lin_X" for a linear schedule from X to 0. */
static int get_schedule(const YtDoc *d, const YtNode *m, const char *key, double *v, int *linear,
                        char *err, size_t n) {
    const YtNode *x = yt_find(d, m, key);
    if (!x) return 0;
    if (x->kind == YT_SCALAR && !strncmp(x->str, "lin_", 4)) {
        char *end;
        double val = strtod(x->str + 4, &end);
        if (end == x->str + 4 || *end)
            return yt_error_at(d, x, key, err, n, "expected a number or lin_<number>, got \"%s\"", x->str);
        *v = val;
        *linear = 1;
        return 1;
    }
    if (yt_node_double(d, x, key, v, err, n)) return -1;
    *linear = 0;
    return 1;
}

/* A number or null (None in SB3); null stores `off`. */
static int get_optional(const YtDoc *d, const YtNode *m, const char *key, double *v, double off, char *err,
                        size_t n) {
    const YtNode *x = yt_find(d, m, key);
    if (!x) return 0;
    if (x->kind == YT_SCALAR && !x->quoted &&
        (!strcmp(x->str, "null") || !strcmp(x->str, "~") || !strcasecmp(x->str, "none") || !*x->str)) {
        *v = off;
        return 1;
    }
    return yt_node_double(d, x, key, v, err, n) ? -1 : 1;
}

static int get_arch(const YtDoc *d, const YtNode *m, const char *key, int *arch, int *count, char *err,
                    size_t n) {
    long v[MLP_MAX_LAYERS];
    size_t k = 0;
    int rc = yt_get_int_list(d, m, key, v, MLP_MAX_LAYERS - 1, &k, err, n);
    if (rc <= 0) return rc;
    for (size_t i = 0; i < k; i++) {
        if (v[i] < 1 || v[i] > 4096) {
            const YtNode *x = yt_find(d, m, key);
            return yt_error_at(d, x->items[i], key, err, n, "layer widths must be in [1, 4096], got %ld", v[i]);
        }
        arch[i] = (int)v[i];
    }
    *count = (int)k;
    return 1;
}

#define RANGE(key, val, lo, hi)                                                   \
    do {                                                                          \
        if (yt_check_range(d, m, key, (double)(val), lo, hi, err, n)) return -1;  \
    } while (0)

int ppo_config_from_yaml(const YtDoc *d, const YtNode *m, PpoConfig *c, char *err, size_t n) {
    long v;
    int b;
    if (get_schedule(d, m, "learning_rate", &c->learning_rate, &c->lr_linear, err, n) < 0) return -1;
    RANGE("learning_rate", c->learning_rate, 0, 1);
    if (get_schedule(d, m, "clip_range", &c->clip_range, &c->clip_linear, err, n) < 0) return -1;
    RANGE("clip_range", c->clip_range, 1e-12, 10);
    if (get_optional(d, m, "clip_range_vf", &c->clip_range_vf, 0.0, err, n) < 0) return -1;
    if (get_optional(d, m, "target_kl", &c->target_kl, 0.0, err, n) < 0) return -1;
    RANGE("target_kl", c->target_kl, 0, 1e9);
    RANGE("clip_range_vf", c->clip_range_vf, 0, 1e9);

    int rc;
    if ((rc = yt_get_int(d, m, "n_steps", &v, err, n)) < 0) return -1;
    if (rc) { RANGE("n_steps", v, 1, 1 << 24); c->n_steps = (int)v; }
    if ((rc = yt_get_int(d, m, "batch_size", &v, err, n)) < 0) return -1;
    if (rc) { RANGE("batch_size", v, 1, 1 << 24); c->batch_size = (int)v; }
    if ((rc = yt_get_int(d, m, "n_epochs", &v, err, n)) < 0) return -1;
    if (rc) { RANGE("n_epochs", v, 1, 10000); c->n_epochs = (int)v; }
    if (yt_get_double(d, m, "gamma", &c->gamma, err, n) < 0) return -1;
    RANGE("gamma", c->gamma, 0, 1);
    if (yt_get_double(d, m, "gae_lambda", &c->gae_lambda, err, n) < 0) return -1;
    RANGE("gae_lambda", c->gae_lambda, 0, 1);
    if (yt_get_double(d, m, "ent_coef", &c->ent_coef, err, n) < 0) return -1;
    RANGE("ent_coef", c->ent_coef, 0, 1e3);
    if (yt_get_double(d, m, "vf_coef", &c->vf_coef, err, n) < 0) return -1;
    RANGE("vf_coef", c->vf_coef, 0, 1e3);
    if (yt_get_double(d, m, "max_grad_norm", &c->max_grad_norm, err, n) < 0) return -1;
    RANGE("max_grad_norm", c->max_grad_norm, 1e-12, 1e12);
    if (yt_get_bool(d, m, "normalize_advantage", &c->normalize_advantage, err, n) < 0) return -1;
    if (yt_get_bool(d, m, "reset_num_timesteps", &c->reset_num_timesteps, err, n) < 0) return -1;
    if ((rc = yt_get_bool(d, m, "use_sde", &b, err, n)) < 0) return -1;
    if (rc && b)
        return yt_error_at(d, yt_find(d, m, "use_sde"), "use_sde", err, n,
                           "gSDE is not implemented; set use_sde: false");

    const YtNode *pk = yt_find(d, m, "policy_kwargs");
    if (pk) {
        if (pk->kind != YT_MAP) return yt_error_at(d, pk, "policy_kwargs", err, n, "expected a mapping");
        const YtNode *na = yt_find(d, pk, "net_arch");
        if (na && na->kind == YT_SEQ) {
            if (get_arch(d, pk, "net_arch", c->pi_arch, &c->n_pi, err, n) < 0) return -1;
            memcpy(c->vf_arch, c->pi_arch, sizeof c->pi_arch);
            c->n_vf = c->n_pi;
        } else if (na && na->kind == YT_MAP) {
            if (get_arch(d, na, "pi", c->pi_arch, &c->n_pi, err, n) < 0) return -1;
            if (get_arch(d, na, "vf", c->vf_arch, &c->n_vf, err, n) < 0) return -1;
        } else if (na) {
            return yt_error_at(d, na, "net_arch", err, n, "expected [64, 64] or {pi: [...], vf: [...]}");
        }
        const char *act;
        if ((rc = yt_get_str(d, pk, "activation_fn", &act, err, n)) < 0) return -1;
        if (rc) {
            if (!strcasecmp(act, "tanh") || !strcmp(act, "nn.Tanh")) c->activation = MLP_TANH;
            else if (!strcasecmp(act, "relu") || !strcmp(act, "nn.ReLU")) c->activation = MLP_RELU;
            else
                return yt_error_at(d, yt_find(d, pk, "activation_fn"), "activation_fn", err, n,
                                   "expected tanh or relu, got \"%s\"", act);
        }
        if (yt_get_double(d, pk, "log_std_init", &c->log_std_init, err, n) < 0) return -1;
        if (yt_check_range(d, pk, "log_std_init", c->log_std_init, -20, 5, err, n)) return -1;
        if (yt_get_bool(d, pk, "ortho_init", &c->ortho_init, err, n) < 0) return -1;
    }

    const char *wh;
    if ((rc = yt_get_str(d, m, "wide_head", &wh, err, n)) < 0) return -1;
    if (rc) {
        if (!strcmp(wh, "own")) c->wide_head_own = 1;
        else if (!strcmp(wh, "blas")) c->wide_head_own = 0;
        else
            return yt_error_at(d, yt_find(d, m, "wide_head"), "wide_head", err, n,
                               "expected own or blas, got \"%s\"", wh);
    }

    const YtNode *nz = yt_find(d, m, "normalize");
    if (nz) {
        if (nz->kind == YT_MAP) {
            if (yt_get_bool(d, nz, "norm_obs", &c->norm_obs, err, n) < 0) return -1;
            if (yt_get_bool(d, nz, "norm_reward", &c->norm_reward, err, n) < 0) return -1;
            if (yt_get_double(d, nz, "clip_obs", &c->clip_obs, err, n) < 0) return -1;
            if (yt_check_range(d, nz, "clip_obs", c->clip_obs, 1e-6, 1e9, err, n)) return -1;
            if (yt_get_double(d, nz, "clip_reward", &c->clip_reward, err, n) < 0) return -1;
            if (yt_check_range(d, nz, "clip_reward", c->clip_reward, 1e-6, 1e9, err, n)) return -1;
        } else {
            if (yt_get_bool(d, m, "normalize", &b, err, n) < 0) return -1;
            c->norm_obs = c->norm_reward = b;
        }
    }
    return 0;
}
