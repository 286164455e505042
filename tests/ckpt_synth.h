/* ckpt_synth.h: synthetic training checkpoints (random weights) that follow the checkpoint
 * contract of src/io/pspec.h, for the export/eval/policy tests and bench_export (header-only).
 *
 * The shapes are those the trainer uses (SB3's default 64x64 tanh MLPs): the tariff game's
 * leader (obs 12, Gaussian action 6) and three aggregators (obs 6, 201 masked levels), and
 * the single-agent CartPole (obs 4, 2 choices) and Pendulum (obs 3, Gaussian 1 in [-2, 2]).
 * Weights are N(0, gain^2 / fan_in), so hidden activations are O(1) as after training. */
#ifndef SB_CKPT_SYNTH_H
#define SB_CKPT_SYNTH_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/npz.h"
#include "io/pspec.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/rng.h"

typedef struct {
    const char *name;
    int obs_dim, box, n_act; /* box: n_act dims in [lo, hi]; else n_act choices */
    double lo, hi;
    const char *mask;
    int normalize;
    int hidden; /* width of both hidden layers; 0 means 64 */
} SynthAgent;

static const SynthAgent SYNTH_TARIFF[] = {
    {"leader", 12, 1, 6, -0.1, 0.1, "none", 1, 64},
    {"agg_b1", 6, 0, 201, 0, 0, "soc_range", 1, 64},
    {"agg_b2", 6, 0, 201, 0, 0, "soc_range", 1, 64},
    {"agg_b3", 6, 0, 201, 0, 0, "soc_range", 1, 64},
};
static const SynthAgent SYNTH_CARTPOLE[] = {{"agent", 4, 0, 2, 0, 0, "none", 0, 64}};
static const SynthAgent SYNTH_PENDULUM[] = {{"agent", 3, 1, 1, -2, 2, "none", 1, 64}};

static void synth_spec(const SynthAgent *a, Pspec *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", a->name);
    s->obs_dim = a->obs_dim;
    s->n_pi = s->n_vf = 4;
    int h = a->hidden ? a->hidden : 64;
    int pi[4] = {a->obs_dim, h, h, a->n_act}, vf[4] = {a->obs_dim, h, h, 1};
    memcpy(s->pi_sizes, pi, sizeof pi);
    memcpy(s->vf_sizes, vf, sizeof vf);
    s->kind = a->box ? PSPEC_BOX : PSPEC_DISCRETE;
    s->size = a->n_act;
    for (int i = 0; a->box && i < a->n_act; i++) {
        s->low[i] = a->lo;
        s->high[i] = a->hi;
    }
    snprintf(s->mask, sizeof s->mask, "%s", a->mask);
    s->normalize_obs = a->normalize;
    s->clip_obs = 10.0;
    s->obs_eps = 1e-8;
}

/* Write DIR/checkpoint.npz with agents[0..n) and random weights from seed. The head gain
 * sets how peaked the policy is (trained policies are peaked; 1.0 is moderate). */
static int synth_checkpoint(const char *dir, const SynthAgent *agents, int n, uint64_t seed,
                            double head_gain, char *err, size_t errlen) {
    Rng r;
    rng_seed(&r, seed, 0);
    Npz z;
    npz_init(&z);
    char *meta = NULL;
    size_t mlen = 0;
    FILE *f = open_memstream(&meta, &mlen);
    Json j;
    json_init(&j, f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "format", "stackelberg-checkpoint");
    json_int(&j, "version", 1);
    json_str(&j, "project_version", SB_VERSION);
    json_int(&j, "seed", (long long)seed);
    json_obj_begin(&j, "config");
    json_str(&j, "game", n > 1 ? "tariff" : agents[0].box ? "pendulum" : "cartpole");
    json_int(&j, "n_steps", 1200);
    json_num(&j, "learning_rate", 3e-4);
    json_obj_end(&j);
    json_arr_begin_block(&j, "agents");
    for (int a = 0; a < n; a++) {
        Pspec s;
        synth_spec(&agents[a], &s);
        pspec_emit(&j, NULL, &s);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    json_end(&j);
    fclose(f);
    int rc = npz_add_raw(&z, "meta.json", meta, mlen, err, errlen);
    free(meta);
    for (int a = 0; a < n && rc == 0; a++) {
        Pspec s;
        synth_spec(&agents[a], &s);
        PspecTensor ts[PSPEC_MAX_TENSORS];
        int nt = pspec_tensors(&s, ts);
        for (int t = 0; t < nt && rc == 0; t++) {
            size_t count = ts[t].shape[0] * (ts[t].ndim == 2 ? ts[t].shape[1] : 1);
            int head = strstr(ts[t].name, ".pi.2.") != NULL;
            double sd = ts[t].ndim == 2 ? (head ? head_gain : 1.0) / sqrt((double)ts[t].shape[1]) : 0.1;
            if (strstr(ts[t].name, "obs_")) {
                double *v = sb_malloc(count * sizeof *v);
                int var = strstr(ts[t].name, "obs_var") != NULL;
                for (size_t i = 0; i < count; i++)
                    v[i] = var ? 0.05 + 4 * rng_uniform(&r) : 3 * rng_normal(&r);
                rc = npz_add(&z, ts[t].name, NPY_F8, ts[t].shape, ts[t].ndim, v, err, errlen);
                free(v);
            } else {
                float *v = sb_malloc(count * sizeof *v);
                for (size_t i = 0; i < count; i++)
                    v[i] = strstr(ts[t].name, "log_std") ? (float)(-0.5 + 0.2 * rng_normal(&r))
                                                         : (float)(sd * rng_normal(&r));
                rc = npz_add(&z, ts[t].name, NPY_F4, ts[t].shape, ts[t].ndim, v, err, errlen);
                free(v);
            }
        }
        /* Training-only state that export must leave out. */
        char nm[128];
        float adam[16] = {0};
        size_t sh[1] = {16};
        snprintf(nm, sizeof nm, "%s.adam.m", agents[a].name);
        if (rc == 0) rc = npz_add(&z, nm, NPY_F4, sh, 1, adam, err, errlen);
    }
    uint64_t state[4] = {1, 2, 3, 4};
    size_t sh4[1] = {4};
    if (rc == 0) rc = npz_add(&z, "rng.state", NPY_U8, sh4, 1, state, err, errlen);
    char path[4096];
    if (rc == 0) rc = mkdir_p(dir, err, errlen);
    path_join(path, sizeof path, dir, "checkpoint.npz");
    if (rc == 0) rc = npz_write(&z, path, err, errlen);
    npz_free(&z);
    return rc;
}

#endif
