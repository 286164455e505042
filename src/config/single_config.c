/* single_config.c: YAML -> SingleConfig. */
#include "config/single_config.h"

#include <stdio.h>
#include <string.h>

#include "config/ppo_config.h"

int single_config_from_yaml(const YtDoc *d, SingleConfig *c, char *err, size_t n) {
    const char *env = NULL;
    long v;
    int rc;
    if ((rc = yt_get_str(d, NULL, "env", &env, err, n)) < 0) return -1;
    if (!rc) return yt_error_at(d, d->root, "env", err, n, "missing: name the environment, e.g. env: CartPole-v1");
    if (strlen(env) >= sizeof c->env) return yt_error_at(d, yt_find(d, NULL, "env"), "env", err, n, "name too long");
    snprintf(c->env, sizeof c->env, "%s", env);
    if ((rc = yt_get_int(d, NULL, "seed", &v, err, n)) < 0) return -1;
    if (rc) {
        if (yt_check_range(d, NULL, "seed", (double)v, 0, 9.0e15, err, n)) return -1;
        c->seed = (uint64_t)v;
    }
    if ((rc = yt_get_int(d, NULL, "n_envs", &v, err, n)) < 0) return -1;
    if (rc) {
        if (yt_check_range(d, NULL, "n_envs", (double)v, 1, 4096, err, n)) return -1;
        c->n_envs = (int)v;
    }
    if ((rc = yt_get_int(d, NULL, "total_timesteps", &v, err, n)) < 0) return -1;
    if (rc) {
        if (yt_check_range(d, NULL, "total_timesteps", (double)v, 1, 1e13, err, n)) return -1;
        c->total_timesteps = v;
    }
    if ((rc = yt_get_int(d, NULL, "eval_episodes", &v, err, n)) < 0) return -1;
    if (rc) {
        if (yt_check_range(d, NULL, "eval_episodes", (double)v, 1, 1e6, err, n)) return -1;
        c->eval_episodes = (int)v;
    }
    if ((rc = yt_get_int(d, NULL, "blas_threads", &v, err, n)) < 0) return -1;
    if (rc) {
        if (yt_check_range(d, NULL, "blas_threads", (double)v, 1, 256, err, n)) return -1;
        c->blas_threads = (int)v;
    }
    if (ppo_config_from_yaml(d, NULL, &c->ppo, err, n)) return -1;
    return yt_check_unused(d, NULL, err, n);
}
