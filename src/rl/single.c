/* single.c: the training loop of a single-agent run, its logs and its evaluation. */
#include "rl/single.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/blas.h"
#include "rl/envs.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/progress.h"

void single_config_default(SingleConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->env, sizeof c->env, "CartPole-v1");
    c->seed = 0;
    c->n_envs = 1;
    c->total_timesteps = 100000;
    c->eval_episodes = 20;
    c->blas_threads = 1;
    ppo_config_default(&c->ppo);
}

typedef struct {
    FILE *csv;
    Progress *bar;
    long total;
    double rollout_s, update_s;
} RunLog;

static const char *CSV_HEADER =
    "iteration,timesteps,ep_rew_mean,ep_len_mean,policy_gradient_loss,value_loss,entropy_loss,loss,"
    "approx_kl,clip_fraction,explained_variance,learning_rate,clip_range,std,n_updates,fps,rollout_s,"
    "update_s\n";

static int on_update(const PpoStats *s, void *user) {
    RunLog *log = user;
    log->rollout_s += s->rollout_s;
    log->update_s += s->update_s;
    if (log->csv) {
        fprintf(log->csv, "%d,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%ld,%.1f,%.6f,%.6f\n",
                s->iteration, s->timesteps, s->ep_return_mean, s->ep_len_mean, s->policy_loss, s->value_loss,
                s->entropy_loss, s->loss, s->approx_kl, s->clip_fraction, s->explained_variance,
                s->learning_rate, s->clip_range, s->std, s->n_updates, s->fps, s->rollout_s, s->update_s);
        fflush(log->csv);
    }
    progress_update(log->bar, s->timesteps, "return %.1f", s->ep_return_mean);
    return 0;
}

/* SB3's evaluate_policy: deterministic actions, episodes counted per env until each env has
 * finished its share, on fresh env instances of another seed stream. */
static void evaluate(Ppo *p, const EnvClass *cls, uint64_t seed, int episodes, double *mean, double *std) {
    void **envs = envs_create(cls, 1, seed ^ 0xE7A1E7A1ull);
    VecEnv v;
    vecenv_init(&v, cls, envs, 1);
    vecenv_reset(&v);
    double s = 0, s2 = 0;
    int done = 0;
    float act[ENV_MAX_ACT];
    while (done < episodes) {
        ppo_predict(p, v.obs, v.mask, 1, 1, act, NULL, NULL);
        vecenv_step(&v, act);
        if (v.done[0]) {
            double r = v.last_return[0];
            s += r;
            s2 += r * r;
            done++;
        }
    }
    *mean = s / episodes;
    *std = sqrt(fmax(s2 / episodes - (*mean) * (*mean), 0));
    vecenv_free(&v);
    envs_destroy(envs, 1);
}

int single_train(const SingleConfig *c, const char *out_dir, int quiet, SingleResult *res, char *err,
                 size_t n) {
    memset(res, 0, sizeof *res);
    const EnvClass *cls = envs_find(c->env);
    if (!cls) {
        char names[256];
        envs_list(names, sizeof names);
        return sb_err(err, n, "env: unknown environment \"%s\" (known: %s)", c->env, names);
    }
    nn_blas_threads(c->blas_threads);
    Ppo *p = ppo_create(&c->ppo, cls->obs_dim, &cls->space, c->n_envs, c->seed, err, n);
    if (!p) return -1;
    RunLog log = {0};
    log.total = c->total_timesteps;
    char path[4096];
    if (out_dir) {
        if (mkdir_p(out_dir, err, n)) {
            ppo_free(p);
            return -1;
        }
        path_join(path, sizeof path, out_dir, "progress.csv");
        log.csv = fopen(path, "w");
        if (!log.csv) {
            ppo_free(p);
            return sb_err(err, n, "%s: cannot write", path);
        }
        fputs(CSV_HEADER, log.csv);
    }
    log.bar = progress_new(c->total_timesteps, quiet, c->env);
    void **envs = envs_create(cls, c->n_envs, c->seed);
    VecEnv v;
    vecenv_init(&v, cls, envs, c->n_envs);

    double t0 = sb_now();
    ppo_learn(p, &v, c->total_timesteps, on_update, &log);
    double wall = sb_now() - t0;
    progress_done(log.bar);
    res->env_steps = ppo_total_steps(p);
    res->wall_s = wall;
    res->steps_per_s = res->env_steps / fmax(wall, 1e-9);
    res->rollout_s = log.rollout_s;
    res->update_s = log.update_s;
    res->train_return_mean_last100 = vecenv_mean_return(&v);
    evaluate(p, cls, c->seed, c->eval_episodes, &res->eval_return_mean, &res->eval_return_std);

    int rc = 0;
    if (log.csv && fclose(log.csv)) rc = sb_err(err, n, "progress.csv: write failed");
    if (out_dir && !rc) {
        path_join(path, sizeof path, out_dir, "summary.json");
        AtomicFile a;
        if (atomic_open(&a, path, err, n)) {
            rc = -1;
        } else {
            Json j;
            json_init(&j, a.f, 2);
            json_obj_begin(&j, NULL);
            json_str(&j, "env", c->env);
            json_int(&j, "seed", (long long)c->seed);
            json_int(&j, "env_steps", res->env_steps);
            json_num(&j, "wall_s", res->wall_s);
            json_num(&j, "steps_per_s", res->steps_per_s);
            json_num(&j, "rollout_s", res->rollout_s);
            json_num(&j, "update_s", res->update_s);
            json_num(&j, "eval_return_mean", res->eval_return_mean);
            json_num(&j, "eval_return_std", res->eval_return_std);
            json_int(&j, "eval_episodes", c->eval_episodes);
            json_num(&j, "train_return_mean_last100", res->train_return_mean_last100);
            json_int(&j, "n_envs", c->n_envs);
            json_int(&j, "blas_threads", c->blas_threads);
            json_str(&j, "version", SB_VERSION);
            json_obj_end(&j);
            json_end(&j);
            rc = atomic_commit(&a, err, n);
        }
    }
    vecenv_free(&v);
    envs_destroy(envs, c->n_envs);
    progress_free(log.bar);
    ppo_free(p);
    return rc;
}
