/* test_ppo.c: PPO (src/rl/ppo.c) against Stable-Baselines3's loss computed by PyTorch, whole
 * updates against SB3's own PPO.train(), central finite differences of its own loss, GAE against
 * a hand calculation, learn(N) semantics, reproducibility, the Box action that is stored unclipped
 * but applied clipped, learning the optimal policy of a masked environment, and the orthogonal
 * initialisation's gains (SB3's module_gains).
 *
 * Legend: R rows in the rollout buffer, B minibatch rows, O obs size, A action floats,
 * K head width (Box: A; Discrete: n; MultiDiscrete: sum of nvec), P parameters, N envs,
 * T n_steps.
 *
 * The reference files tests/data/ppo/<case>.txt come from tools/gen_ppo_reference.py (PyTorch,
 * float64 on float32 parameters and data; SB3 2.3.2's PPO.train() loss for one minibatch, the
 * formulas cited in the script) and tests/data/ppo/update_<case>.txt from tools/gen_sb3_update.py
 * (SB3 2.3.2 itself). They are committed, so this test needs neither torch nor SB3. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl/env.h"
#include "rl/envs.h"
#include "rl/ppo.h"
#include "rl/ppo_internal.h"
#include "testutil.h"
#include "util/common.h"

/* ---------------------------------------------------------------------------------------- */
/* Reference files                                                                           */

typedef struct {
    const char *name;
    int kind, A, K, masked, O, R, B;
    PpoConfig cfg;
    ActionSpace space;
    int idx[64];                 /* (B) */
    size_t P;
    float *params;               /* (P) */
    float *obs, *act;            /* (R, O), (R, A) */
    unsigned char *mask;         /* (R, K) or NULL */
    float *old_logp, *adv, *ret, *old_val; /* (R) */
    double loss[6];              /* pg, vf, ent, kl, clipfrac, loss */
    double *grad;                /* (P) */
    TuRef f;
} RefCase;

static void ref_read(TuRef *f, const char *path) {
    char err[256];
    cr_assert(tu_ref_read(f, path, err, sizeof err) == 0, "%s", err);
}

/* Section name; want > 0: it must have that many values. */
static const double *ref_sec(const TuRef *f, const char *name, size_t want) {
    const double *v = tu_ref_sec(f, name, want);
    cr_assert(v, "section %s missing or not of %zu values (%zu)", name, want, tu_ref_count(f, name));
    return v;
}

static size_t ref_count(const TuRef *f, const char *name) { return tu_ref_count(f, name); }

static float *to_floats(const double *v, size_t n) {
    float *o = sb_calloc(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) o[i] = (float)v[i];
    return o;
}

static void case_load(RefCase *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->name = name;
    char path[256];
    snprintf(path, sizeof path, "tests/data/ppo/%s.txt", name);
    ref_read(&c->f, path);
    const TuRef *f = &c->f;
    const double *sp = ref_sec(f, "space", 4);
    c->kind = (int)sp[0];
    c->A = (int)sp[1];
    c->K = (int)sp[2];
    c->masked = (int)sp[3];
    c->O = (int)ref_sec(f, "obs_dim", 1)[0];
    c->R = (int)ref_sec(f, "rows", 1)[0];
    c->B = (int)ref_count(f, "idx");
    cr_assert(c->B >= 2 && c->B <= 64 && c->B <= c->R);
    const double *idx = ref_sec(f, "idx", 0);
    for (int b = 0; b < c->B; b++) c->idx[b] = (int)idx[b];

    memset(&c->space, 0, sizeof c->space);
    c->space.kind = c->kind == 0 ? SPACE_BOX : c->kind == 1 ? SPACE_DISCRETE : SPACE_MULTI_DISCRETE;
    c->space.dim = c->A;
    c->space.n = c->kind == 0 ? 0 : c->K;
    c->space.masked = c->masked;
    const double *nv = ref_sec(f, "nvec", 0);
    for (size_t j = 0; j < ref_count(f, "nvec"); j++) c->space.nvec[j] = (int)nv[j];
    for (int a = 0; a < c->A; a++) {
        c->space.low[a] = -1.0f;
        c->space.high[a] = 1.0f;
    }

    PpoConfig *cfg = &c->cfg;
    ppo_config_default(cfg);
    cfg->n_pi = (int)ref_count(f, "pi_arch");
    cfg->n_vf = (int)ref_count(f, "vf_arch");
    const double *pa = ref_sec(f, "pi_arch", 0), *va = ref_sec(f, "vf_arch", 0);
    for (int l = 0; l < cfg->n_pi; l++) cfg->pi_arch[l] = (int)pa[l];
    for (int l = 0; l < cfg->n_vf; l++) cfg->vf_arch[l] = (int)va[l];
    cfg->activation = MLP_TANH;
    const double *co = ref_sec(f, "coefs", 5);
    cfg->ent_coef = co[0];
    cfg->vf_coef = co[1];
    cfg->clip_range = co[2];
    cfg->clip_range_vf = co[3];
    cfg->normalize_advantage = (int)co[4];
    cfg->n_steps = c->R; /* n_steps * n_envs >= R with one env */
    cfg->batch_size = c->B;

    c->P = ref_count(f, "params");
    c->params = to_floats(ref_sec(f, "params", 0), c->P);
    size_t R = (size_t)c->R;
    c->obs = to_floats(ref_sec(f, "obs", R * (size_t)c->O), R * (size_t)c->O);
    c->act = to_floats(ref_sec(f, "act", R * (size_t)c->A), R * (size_t)c->A);
    if (c->masked) {
        const double *m = ref_sec(f, "mask", R * (size_t)c->K);
        c->mask = sb_calloc(R * (size_t)c->K, 1);
        for (size_t i = 0; i < R * (size_t)c->K; i++) c->mask[i] = (unsigned char)m[i];
    }
    c->old_logp = to_floats(ref_sec(f, "old_logp", R), R);
    c->adv = to_floats(ref_sec(f, "adv", R), R);
    c->ret = to_floats(ref_sec(f, "ret", R), R);
    c->old_val = to_floats(ref_sec(f, "old_val", R), R);
    memcpy(c->loss, ref_sec(f, "loss", 6), sizeof c->loss);
    c->grad = (double *)ref_sec(f, "grad", c->P);
}

static void case_free(RefCase *c) {
    free(c->params);
    free(c->obs);
    free(c->act);
    free(c->mask);
    free(c->old_logp);
    free(c->adv);
    free(c->ret);
    free(c->old_val);
    tu_ref_free(&c->f);
}

/* An agent of the case's shapes holding the case's parameters and buffer rows. The layout
 * [pi | vf | log_std], each net W (out, in) then b per layer, is what the generator wrote;
 * it is checked here rather than assumed. */
static Ppo *case_agent(const RefCase *c) {
    char err[256];
    Ppo *p = ppo_create(&c->cfg, c->O, &c->space, 1, 1, err, sizeof err);
    cr_assert(p, "%s: ppo_create: %s", c->name, err);
    size_t n;
    float *params = ppo_params(p, &n);
    cr_assert_eq(n, c->P, "%s: %zu parameters, reference has %zu", c->name, n, c->P);
    const Mlp *nets[2] = {ppo_pi_net(p), ppo_vf_net(p)};
    size_t off = 0;
    for (int k = 0; k < 2; k++) {
        size_t base = off;
        for (int l = 0; l < nets[k]->n_layers; l++) {
            cr_assert_eq(base + nets[k]->w_off[l], off);
            off += (size_t)nets[k]->sizes[l] * (size_t)nets[k]->sizes[l + 1];
            cr_assert_eq(base + nets[k]->b_off[l], off);
            off += (size_t)nets[k]->sizes[l + 1];
        }
    }
    cr_assert_eq(ppo_vf_params(p) - params, (ptrdiff_t)nets[0]->n_params);
    if (c->kind == 0) cr_assert_eq(ppo_log_std(p) - params, (ptrdiff_t)off);
    memcpy(params, c->params, c->P * sizeof(float));
    ppo_debug_load_batch(p, c->obs, c->act, c->mask, c->old_logp, c->adv, c->ret, c->old_val, c->R);
    return p;
}

/* log pi(act | obs) of buffer row r, in double straight from the case's parameters: the tanh MLP
 * (layer by layer W (out, in) then b, the layout the generator wrote), then the Gaussian or the
 * masked log-softmax of each categorical segment. A second method beside dist.c and mlp.c. */
static double ref_logp(const RefCase *c, int r) {
    enum { W_MAX = 256 };
    double x[W_MAX], y[W_MAX];
    const float *w = c->params;
    int n_in = c->O;
    for (int i = 0; i < n_in; i++) x[i] = c->obs[(size_t)r * c->O + i];
    for (int l = 0; l <= c->cfg.n_pi; l++) {
        int n_out = l < c->cfg.n_pi ? c->cfg.pi_arch[l] : c->K;
        cr_assert(n_out <= W_MAX);
        for (int o = 0; o < n_out; o++) {
            double a = w[(size_t)n_in * n_out + o];
            for (int i = 0; i < n_in; i++) a += (double)w[(size_t)o * n_in + i] * x[i];
            y[o] = l < c->cfg.n_pi ? tanh(a) : a;
        }
        w += (size_t)n_in * n_out + n_out;
        memcpy(x, y, (size_t)n_out * sizeof(double));
        n_in = n_out;
    }
    const float *act = c->act + (size_t)r * c->A;
    double lp = 0;
    if (c->kind == 0) {
        const float *log_std = c->params + c->P - c->A;
        for (int a = 0; a < c->A; a++) {
            double sd = exp((double)log_std[a]), z = (act[a] - x[a]) / sd;
            lp += -0.5 * z * z - log(sd) - 0.5 * log(2 * 3.14159265358979323846);
        }
        return lp;
    }
    for (int j = 0, off = 0; j < c->A; off += c->kind == 1 ? c->K : c->space.nvec[j], j++) {
        int n = c->kind == 1 ? c->K : c->space.nvec[j];
        const unsigned char *m = c->mask ? c->mask + (size_t)r * c->K + off : NULL;
        double mx = -INFINITY, sum = 0;
        for (int k = 0; k < n; k++)
            if (!m || m[k]) mx = fmax(mx, x[off + k]);
        for (int k = 0; k < n; k++)
            if (!m || m[k]) sum += exp(x[off + k] - mx);
        lp += x[off + (int)act[j]] - mx - log(sum);
    }
    return lp;
}

/* ---------------------------------------------------------------------------------------- */
/* Against PyTorch                                                                           */

/* Tolerances. Loss terms: 1e-5 relative. Gradient: the whole vector to 1e-5 relative in the
 * 2-norm, ||g - g_torch|| <= 1e-5 ||g_torch||, and every entry to 1e-4 relative with an absolute
 * floor of 1e-3 of the case's largest entry, |g_i - t_i| <= 1e-4 max(|t_i|, 1e-3 max|t|).
 * Why not 1e-5 per entry: the networks run in float32 and a tanh unit near saturation turns
 * the float32 error of y into a much larger relative error of tanh' = 1 - y^2 (y = 0.99 gives
 * 1 - y^2 = 0.02, fifty-fold). PyTorch's own float32 run of the same loss on the same data
 * differs from this float64 reference by up to 1.3e-4 per entry (the generator prints it);
 * ours by up to 5.3e-5. The loss terms, accumulated in double, meet 1e-5 easily. */
static const double TERM_TOL = 1e-5, NORM_TOL = 1e-5, ENTRY_TOL = 1e-4, FLOOR = 1e-3;

static void check_case_against_torch(const char *name) {
    RefCase c;
    case_load(&c, name);
    Ppo *p = case_agent(&c);
    float *g = sb_calloc(c.P, sizeof(float));
    PpoLoss L = ppo_debug_loss(p, c.idx, c.B, c.cfg.clip_range, c.cfg.clip_range_vf, g);

    const char *tn[6] = {"policy", "value", "entropy", "approx_kl", "clip_fraction", "total"};
    double got[6] = {L.pg, L.vf, L.ent, L.kl, L.clipfrac, L.loss}, worst_term = 0;
    for (int k = 0; k < 6; k++) {
        double e = fabs(got[k] - c.loss[k]) / fmax(fabs(c.loss[k]), 1e-3);
        worst_term = fmax(worst_term, e);
        cr_expect(e <= TERM_TOL, "%s: %s loss %.9g, torch %.9g (rel %.2e)", name, tn[k], got[k], c.loss[k], e);
    }
    /* The case must exercise clipping, and our clip fraction must count the rows whose ratio,
     * worked out here in double from the case's data alone, leaves [1 - clip, 1 + clip] (and
     * approx_kl must be those ratios' mean of (r - 1) - log r). */
    int clipped = 0;
    double kl = 0;
    for (int b = 0; b < c.B; b++) {
        double log_ratio = ref_logp(&c, c.idx[b]) - c.old_logp[c.idx[b]], ratio = exp(log_ratio);
        clipped += fabs(ratio - 1.0) > c.cfg.clip_range;
        kl += (ratio - 1.0 - log_ratio) / c.B;
    }
    cr_expect(fabs(L.kl - kl) <= TERM_TOL * kl, "%s: approx_kl %.9g, by hand %.9g", name, L.kl, kl);
    cr_expect(clipped > 0 && clipped < c.B, "%s: %d of %d rows clipped: the case does not exercise clipping", name,
              clipped, c.B);
    cr_expect(fabs(L.clipfrac - (double)clipped / c.B) < 1e-12, "%s: clip fraction %.6f, %d of %d rows by hand", name,
              L.clipfrac, clipped, c.B);

    double scale = 0;
    for (size_t i = 0; i < c.P; i++) scale = fmax(scale, fabs(c.grad[i]));
    double worst = 0, d2 = 0, t2 = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < c.P; i++) {
        double d = g[i] - c.grad[i], e = fabs(d) / fmax(fabs(c.grad[i]), FLOOR * scale);
        d2 += d * d;
        t2 += c.grad[i] * c.grad[i];
        if (e > worst) {
            worst = e;
            worst_i = i;
        }
        cr_expect(e <= ENTRY_TOL, "%s: dLoss/dparam[%zu] = %.9g, torch %.9g (rel %.2e)", name, i, g[i],
                  c.grad[i], e);
    }
    double norm_err = sqrt(d2 / t2);
    cr_expect(norm_err <= NORM_TOL, "%s: ||g - g_torch|| / ||g_torch|| = %.2e", name, norm_err);
    cr_log_info("%-24s loss terms max rel %.2e; gradient (P %zu) norm rel %.2e, max entry rel %.2e at %zu",
                name, worst_term, c.P, norm_err, worst, worst_i);
    free(g);
    ppo_free(p);
    case_free(&c);
}

Test(ppo_vs_torch, box_gaussian) { check_case_against_torch("box_gauss"); }
Test(ppo_vs_torch, box_gaussian_value_clipping) { check_case_against_torch("box_gauss_clipvf"); }
Test(ppo_vs_torch, box_gaussian_raw_advantages) { check_case_against_torch("box_gauss_raw_adv"); }
Test(ppo_vs_torch, discrete) { check_case_against_torch("discrete"); }
Test(ppo_vs_torch, discrete_masked) { check_case_against_torch("discrete_masked"); }
Test(ppo_vs_torch, discrete_masked_value_clipping) { check_case_against_torch("discrete_masked_clipvf"); }
Test(ppo_vs_torch, multidiscrete_value_clipping) { check_case_against_torch("multidiscrete"); }
Test(ppo_vs_torch, multidiscrete_masked) { check_case_against_torch("multidiscrete_masked"); }
/* The game's sizes: heads of 9, 16, 17, 33 and 201 levels, across and beyond the categorical's
 * eight lanes, with the game's SoC masks (one contiguous range of levels) or random ones. */
Test(ppo_vs_torch, discrete9_soc_masks) { check_case_against_torch("discrete9_soc"); }
Test(ppo_vs_torch, discrete16_random_masks_value_clipping) { check_case_against_torch("discrete16_masked"); }
Test(ppo_vs_torch, discrete17_soc_masks) { check_case_against_torch("discrete17_soc"); }
Test(ppo_vs_torch, discrete33_random_masks) { check_case_against_torch("discrete33_masked"); }
Test(ppo_vs_torch, discrete201_soc_masks) { check_case_against_torch("discrete201_soc"); }
Test(ppo_vs_torch, discrete201_random_masks_value_clipping) { check_case_against_torch("discrete201_masked"); }

/* ---------------------------------------------------------------------------------------- */
/* Central finite differences of the full loss                                               */

/* Loss of the case's minibatch with parameter i set to v (then restored). */
static double loss_at(Ppo *p, const RefCase *c, float *params, size_t i, float v) {
    float keep = params[i];
    params[i] = v;
    PpoLoss L = ppo_debug_loss(p, c->idx, c->B, c->cfg.clip_range, c->cfg.clip_range_vf, NULL);
    params[i] = keep;
    return L.loss;
}

/* Central difference with one Richardson step: D(h) = (L(p + h) - L(p - h)) / 2h, and
 * (4 D(h/2) - D(h)) / 3, whose truncation error is O(h^4). Why: the loss is accumulated in
 * double but the networks run in float32, so a loss evaluation carries rounding noise of
 * ~1e-7 relative; measured on these cases a plain central difference is noise-limited below
 * h ~ 4e-3 and truncation-limited above it, with a best error of ~3e-3 relative; Richardson
 * at h = 1e-2 reaches 1.5e-3. Tolerance: 4e-3 relative, with a floor of 2e-2 of the largest
 * gradient entry (noise / h is an absolute error, so tiny entries are compared absolutely).
 * A wrong term of the loss (a missing entropy or value-clipping branch, a wrong sign, a
 * factor) moves entries by far more. Each step is the difference of the two float32
 * parameter values actually used, not the nominal h. The generator left every clip decision
 * at least 0.02 from its boundary, and these steps move ratios and values by less, so no
 * branch of the clipped objective flips between the two sides. */
static double central_difference(Ppo *p, const RefCase *c, float *params, size_t i, double h) {
    float hi = (float)(params[i] + h), lo = (float)(params[i] - h);
    return (loss_at(p, c, params, i, hi) - loss_at(p, c, params, i, lo)) / ((double)hi - (double)lo);
}

static void check_case_fd(const char *name) {
    RefCase c;
    case_load(&c, name);
    Ppo *p = case_agent(&c);
    size_t P;
    float *params = ppo_params(p, &P);
    float *g = sb_calloc(P, sizeof(float));
    ppo_debug_loss(p, c.idx, c.B, c.cfg.clip_range, c.cfg.clip_range_vf, g);
    double scale = 0;
    for (size_t i = 0; i < P; i++) scale = fmax(scale, fabs(g[i]));
    const double h = 1e-2;
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < P; i++) {
        double fd = (4.0 * central_difference(p, &c, params, i, h / 2) - central_difference(p, &c, params, i, h)) / 3.0;
        double e = fabs(fd - g[i]) / fmax(fabs(fd), 2e-2 * scale);
        if (e > worst) {
            worst = e;
            worst_i = i;
        }
        cr_expect(e <= 4e-3, "%s: dLoss/dparam[%zu] = %.8g, central difference %.8g (rel %.2e)", name, i, g[i],
                  fd, e);
    }
    cr_log_info("%-24s finite differences (P %zu, h %.0e, Richardson): max rel %.2e at %zu", name, P, h, worst,
                worst_i);
    free(g);
    ppo_free(p);
    case_free(&c);
}

Test(ppo_fd, box_gaussian_full_loss) { check_case_fd("box_gauss"); }
Test(ppo_fd, box_gaussian_value_clipping_full_loss) { check_case_fd("box_gauss_clipvf"); }
Test(ppo_fd, discrete_masked_full_loss) { check_case_fd("discrete_masked"); }
Test(ppo_fd, discrete_masked_value_clipping_full_loss) { check_case_fd("discrete_masked_clipvf"); }
Test(ppo_fd, multidiscrete_full_loss) { check_case_fd("multidiscrete"); }
Test(ppo_fd, multidiscrete_masked_full_loss) { check_case_fd("multidiscrete_masked"); }
Test(ppo_fd, discrete17_soc_masks_full_loss) { check_case_fd("discrete17_soc"); }
Test(ppo_fd, discrete201_soc_masks_full_loss) { check_case_fd("discrete201_soc"); }

/* ---------------------------------------------------------------------------------------- */
/* A whole update against Stable-Baselines3 2.3.2's PPO.train()                              */

/* tests/data/ppo/update_<case>.txt come from tools/gen_sb3_update.py: SB3 itself (float64)
 * trained once from the file's parameters on the file's rollout (E epochs of minibatches in the
 * recorded permutations, advantage normalisation, clipping, gradient-norm clipping, Adam, the lr
 * and clip schedules at the file's progress_remaining, target_kl), for a Gaussian policy and for
 * masked categoricals (sb3-contrib's masking rule). Our update gets the same permutations through
 * ppo_debug_update. Every decision of SB3's run (clip branches, target_kl) has a margin that
 * float32 rounding cannot cross (see the generator). */
typedef struct {
    const char *name;
    TuRef f;
    PpoConfig cfg;
    ActionSpace space;
    int O, N, T, R, A, K;
    double progress;
    size_t P;
    float *params, *obs, *act, *old_logp, *adv, *ret, *old_val; /* (P), (R, O), (R, A), (R) x4 */
    unsigned char *mask;                                        /* (R, K) or NULL */
    int *perms;                                                 /* (n_epochs, R) */
    const double *after, *stats;                                /* (P), (11) */
    int steps;                                                  /* optimiser steps SB3 took */
} UpdCase;

static void upd_load(UpdCase *u, const char *name) {
    memset(u, 0, sizeof *u);
    u->name = name;
    char path[256];
    snprintf(path, sizeof path, "tests/data/ppo/%s.txt", name);
    ref_read(&u->f, path);
    const TuRef *f = &u->f;
    const double *sp = ref_sec(f, "space", 4), *es = ref_sec(f, "envs_steps", 2);
    u->A = (int)sp[1];
    u->K = (int)sp[2];
    u->O = (int)ref_sec(f, "obs_dim", 1)[0];
    u->N = (int)es[0];
    u->T = (int)es[1];
    u->R = u->N * u->T;
    memset(&u->space, 0, sizeof u->space);
    u->space.kind = sp[0] == 0 ? SPACE_BOX : SPACE_DISCRETE;
    u->space.dim = u->A;
    u->space.n = sp[0] == 0 ? 0 : u->K;
    u->space.masked = (int)sp[3];
    for (int a = 0; a < u->A; a++) {
        u->space.low[a] = -1.0f;
        u->space.high[a] = 1.0f;
    }
    PpoConfig *c = &u->cfg;
    ppo_config_default(c);
    const double *arch = ref_sec(f, "arch", 0);
    c->n_pi = c->n_vf = (int)ref_count(f, "arch");
    for (int l = 0; l < c->n_pi; l++) c->pi_arch[l] = c->vf_arch[l] = (int)arch[l];
    const double *k = ref_sec(f, "config", 12);
    c->learning_rate = k[0];
    c->lr_linear = (int)k[1];
    c->clip_range = k[2];
    c->clip_linear = (int)k[3];
    c->clip_range_vf = k[4];
    c->ent_coef = k[5];
    c->vf_coef = k[6];
    c->max_grad_norm = k[7];
    c->target_kl = k[8];
    c->n_epochs = (int)k[9];
    c->batch_size = (int)k[10];
    c->normalize_advantage = (int)k[11];
    c->n_steps = u->T;
    u->progress = ref_sec(f, "progress", 1)[0];
    u->P = ref_count(f, "params");
    u->params = to_floats(ref_sec(f, "params", 0), u->P);
    size_t R = (size_t)u->R;
    u->obs = to_floats(ref_sec(f, "obs", R * (size_t)u->O), R * (size_t)u->O);
    u->act = to_floats(ref_sec(f, "act", R * (size_t)u->A), R * (size_t)u->A);
    u->old_logp = to_floats(ref_sec(f, "old_logp", R), R);
    u->adv = to_floats(ref_sec(f, "adv", R), R);
    u->ret = to_floats(ref_sec(f, "ret", R), R);
    u->old_val = to_floats(ref_sec(f, "old_val", R), R);
    if (u->space.masked) {
        const double *m = ref_sec(f, "mask", R * (size_t)u->K);
        u->mask = sb_calloc(R * (size_t)u->K, 1);
        for (size_t i = 0; i < R * (size_t)u->K; i++) u->mask[i] = (unsigned char)m[i];
    }
    /* SB3 draws one permutation per epoch it begins; epochs it never began keep the identity
     * (our update reaching them would already be a difference). */
    size_t np_ = ref_count(f, "perms");
    cr_assert(np_ % R == 0 && np_ / R <= (size_t)c->n_epochs, "%s: %zu permutation entries", name, np_);
    const double *pm = ref_sec(f, "perms", 0);
    u->perms = sb_calloc((size_t)c->n_epochs * R, sizeof(int));
    for (size_t i = 0; i < (size_t)c->n_epochs * R; i++) u->perms[i] = i < np_ ? (int)pm[i] : (int)(i % R);
    u->steps = (int)ref_sec(f, "optimizer_steps", 1)[0];
    u->after = ref_sec(f, "params_after", u->P);
    u->stats = ref_sec(f, "stats", 11);
}

static void upd_free(UpdCase *u) {
    free(u->params);
    free(u->obs);
    free(u->act);
    free(u->old_logp);
    free(u->adv);
    free(u->ret);
    free(u->old_val);
    free(u->mask);
    free(u->perms);
    tu_ref_free(&u->f);
}

/* Our update from the case's start with cfg, progress and perms; the parameters after it into
 * out (P). */
static PpoStats upd_run(const UpdCase *u, const PpoConfig *cfg, double progress, const int *perms, float *out) {
    char err[256];
    Ppo *p = ppo_create(cfg, u->O, &u->space, u->N, 1, err, sizeof err);
    cr_assert(p, "%s: ppo_create: %s", u->name, err);
    size_t n;
    float *params = ppo_params(p, &n);
    cr_assert_eq(n, u->P, "%s: %zu parameters, reference has %zu", u->name, n, u->P);
    memcpy(params, u->params, n * sizeof(float));
    ppo_debug_load_batch(p, u->obs, u->act, u->mask, u->old_logp, u->adv, u->ret, u->old_val, u->R);
    PpoStats st;
    ppo_debug_update(p, progress, perms, &st);
    memcpy(out, params, n * sizeof(float));
    ppo_free(p);
    return st;
}

/* How far parameters x are from SB3's: the largest |x_i - s_i| / max(|s_i|, 1e-2), and the error
 * relative to the update's own size, ||x - s|| / ||s - start||. */
typedef struct {
    double rel, of_delta;
    size_t worst;
} UpdErr;

static UpdErr upd_err(const UpdCase *u, const float *x) {
    UpdErr e = {0, 0, 0};
    double d2 = 0, u2 = 0;
    for (size_t i = 0; i < u->P; i++) {
        double d = x[i] - u->after[i], r = fabs(d) / fmax(fabs(u->after[i]), 1e-2);
        d2 += d * d;
        u2 += (u->after[i] - u->params[i]) * (u->after[i] - u->params[i]);
        if (r > e.rel) {
            e.rel = r;
            e.worst = i;
        }
    }
    e.of_delta = sqrt(d2 / u2);
    return e;
}

/* Tolerances. Parameters: 1e-5 relative (with a floor of 1e-2 for parameters near 0), and the
 * error at most 1e-4 of the update's own size in the 2-norm: SB3's float32 run lands 1e-5 to
 * 3.3e-5 of the largest update entry from its float64 run (the generator prints it). Statistics
 * (means of the loss terms, approx_kl, clip fraction, explained variance, std, lr, clip range):
 * 1e-5 relative with a floor of 1e-3; train/loss, one minibatch's sum of terms of order 1 that
 * nearly cancel (0.03 in update_masked201, off by 2.8e-7), with a floor of 0.1. */
static const double UPD_TOL = 1e-5, UPD_DELTA_TOL = 1e-4;

/* A deliberately wrong run: what differs from the case. */
typedef struct {
    const char *what;
    PpoConfig cfg;
    double progress;
    const int *perms;
} Wrong;

static void check_update_against_sb3(const char *name) {
    UpdCase u;
    upd_load(&u, name);
    float *x = sb_calloc(u.P, sizeof(float));
    PpoStats st = upd_run(&u, &u.cfg, u.progress, u.perms, x);
    UpdErr e = upd_err(&u, x);
    cr_expect(e.rel <= UPD_TOL, "%s: parameter %zu after the update %.9g, SB3 %.9g (rel %.2e)", name, e.worst,
              x[e.worst], u.after[e.worst], e.rel);
    cr_expect(e.of_delta <= UPD_DELTA_TOL, "%s: ||ours - SB3|| / ||SB3's update|| = %.2e", name, e.of_delta);
    /* SB3 counts an epoch in _n_updates when it begins it (target_kl stops inside one). */
    cr_expect_eq(st.n_updates, (long)u.stats[0], "%s: %ld epochs begun, SB3 %ld", name, st.n_updates,
                 (long)u.stats[0]);
    const char *sn[11] = {"n_updates",     "policy_loss", "value_loss",         "entropy_loss",
                          "approx_kl",     "clip_fraction", "loss",              "explained_variance",
                          "std",           "learning_rate", "clip_range"};
    double got[11] = {0,       st.policy_loss,        st.value_loss, st.entropy_loss,  st.approx_kl, st.clip_fraction,
                      st.loss, st.explained_variance, st.std,        st.learning_rate, st.clip_range};
    double worst_stat = 0;
    for (int k = 1; k < 11; k++) {
        if (isnan(u.stats[k])) {
            cr_expect(isnan(got[k]), "%s: %s %g, SB3 logs none", name, sn[k], got[k]);
            continue;
        }
        double r = fabs(got[k] - u.stats[k]) / fmax(fabs(u.stats[k]), k == 6 ? 0.1 : 1e-3);
        worst_stat = fmax(worst_stat, r);
        cr_expect(r <= UPD_TOL, "%s: %s %.9g, SB3 %.9g (rel %.2e)", name, sn[k], got[k], u.stats[k], r);
    }
    cr_log_info("%-26s P %5zu, %ld epochs begun, %d optimiser steps: parameters max rel %.2e (at %zu), "
                "of the update %.2e; stats max rel %.2e",
                name, u.P, st.n_updates, u.steps, e.rel, e.worst, e.of_delta, worst_stat);

    /* The comparison is sharp enough to see each part of the update go wrong: */
    PpoConfig c = u.cfg;
    int *swapped = sb_calloc((size_t)c.n_epochs * (size_t)u.R, sizeof(int));
    memcpy(swapped, u.perms, (size_t)c.n_epochs * (size_t)u.R * sizeof(int));
    for (int i = 0; i < c.batch_size; i++) { /* the first two minibatches of epoch 0 trade places */
        int t = swapped[i];
        swapped[i] = swapped[c.batch_size + i];
        swapped[c.batch_size + i] = t;
    }
    Wrong wrong[6];
    int nw = 0;
    wrong[nw++] = (Wrong){"the agent's own shuffle", c, u.progress, NULL};
    wrong[nw++] = (Wrong){"two minibatches in another order", c, u.progress, swapped};
    PpoConfig fewer = c;
    fewer.n_epochs = c.n_epochs - 1;
    if (c.target_kl <= 0) wrong[nw++] = (Wrong){"one epoch fewer", fewer, u.progress, u.perms};
    PpoConfig no_kl = c;
    no_kl.target_kl = 0;
    if (c.target_kl > 0) wrong[nw++] = (Wrong){"no target_kl stop", no_kl, u.progress, u.perms};
    if (c.lr_linear || c.clip_linear) wrong[nw++] = (Wrong){"schedules at progress 1", c, 1.0, u.perms};
    PpoConfig no_gc = c;
    no_gc.max_grad_norm = 1e9;
    wrong[nw++] = (Wrong){"no gradient clipping", no_gc, u.progress, u.perms};
    for (int w = 0; w < nw; w++) {
        upd_run(&u, &wrong[w].cfg, wrong[w].progress, wrong[w].perms, x);
        UpdErr ew = upd_err(&u, x);
        cr_log_info("%-26s   with %s: parameters max rel %.2e, of the update %.2e", name, wrong[w].what, ew.rel,
                    ew.of_delta);
        cr_expect(ew.rel > 10 * UPD_TOL && ew.of_delta > 10 * UPD_DELTA_TOL,
                  "%s: with %s the parameters are still within 10x the tolerance (rel %.2e, of the update %.2e)",
                  name, wrong[w].what, ew.rel, ew.of_delta);
    }
    free(swapped);
    free(x);
    upd_free(&u);
}

Test(ppo_vs_sb3, update_gaussian) { check_update_against_sb3("update_gauss"); }
Test(ppo_vs_sb3, update_gaussian_schedules_value_clipping_target_kl) {
    check_update_against_sb3("update_gauss_sched_kl");
}
Test(ppo_vs_sb3, update_masked_categorical_201_soc_masks) { check_update_against_sb3("update_masked201"); }
Test(ppo_vs_sb3, update_masked_categorical_33_schedules_target_kl) {
    check_update_against_sb3("update_masked33_sched_kl");
}

/* ---------------------------------------------------------------------------------------- */
/* A deterministic environment: Tick                                                        */

/* Obs (1) = steps into the episode; reward of the k-th step (k = 0, 1, ...) is k + 1; the
 * episode ends after `len` steps, by termination or (truncate) by a time limit. The action
 * (Box (1) in [-0.5, 0.5]) changes nothing but is recorded as the env received it. */
enum { TICK_LOG = 64 };
typedef struct {
    int t, len, truncate;
    int n_seen;
    float seen[TICK_LOG];
} Tick;

static void tick_reset(void *e, float *obs, unsigned char *mask) {
    (void)mask;
    Tick *k = e;
    k->t = 0;
    obs[0] = 0.0f;
}

static void tick_step(void *e, const float *action, float *obs, unsigned char *mask, float *reward, int *term,
                      int *trunc) {
    (void)mask;
    Tick *k = e;
    if (k->n_seen < TICK_LOG) k->seen[k->n_seen++] = action[0];
    *reward = (float)(k->t + 1);
    k->t++;
    obs[0] = (float)k->t;
    int end = k->t == k->len;
    *term = end && !k->truncate;
    *trunc = end && k->truncate;
}

static void tick_seed(void *e, uint64_t seed, uint64_t stream) {
    (void)seed;
    (void)stream;
    memset(e, 0, sizeof(Tick));
}

static const EnvClass TICK = {
    .name = "Tick",
    .obs_dim = 1,
    .space = {.kind = SPACE_BOX, .dim = 1, .low = {-0.5f}, .high = {0.5f}},
    .reset = tick_reset,
    .step = tick_step,
    .size = sizeof(Tick),
    .seed = tick_seed,
};

/* Env 0 terminates after 3 steps, env 1 is truncated after 4. */
static void tick_pair(Tick t[2], void *envs[2], VecEnv *v) {
    memset(t, 0, 2 * sizeof(Tick));
    t[0].len = 3;
    t[1].len = 4;
    t[1].truncate = 1;
    envs[0] = &t[0];
    envs[1] = &t[1];
    vecenv_init(v, &TICK, envs, 2);
}

enum { TICK_T = 7, TICK_N = 2 };

/* One rollout of TICK_T steps on the Tick pair with learning_rate 0 (Adam then moves nothing),
 * V(s) = 0.5 everywhere (value net zero but for its output bias) and mean action 0 with
 * log_std 0 (policy net zero): the buffer stays in the agent for ppo_debug_loss to read. */
static Ppo *tick_agent_after_one_rollout(Tick t[2], VecEnv *v) {
    static void *envs[2];
    tick_pair(t, envs, v);
    PpoConfig c;
    ppo_config_default(&c);
    c.learning_rate = 0.0;
    c.n_steps = TICK_T;
    c.batch_size = TICK_T * TICK_N;
    c.n_epochs = 1;
    c.gamma = 0.9;
    c.gae_lambda = 0.8;
    c.normalize_advantage = 0;
    c.n_pi = c.n_vf = 1;
    c.pi_arch[0] = c.vf_arch[0] = 4;
    char err[256];
    Ppo *p = ppo_create(&c, 1, &TICK.space, TICK_N, 7, err, sizeof err);
    cr_assert(p, "%s", err);
    size_t n;
    float *params = ppo_params(p, &n);
    memset(params, 0, n * sizeof(float));
    const Mlp *vf = ppo_vf_net(p);
    ppo_vf_params(p)[vf->b_off[vf->n_layers - 1]] = 0.5f;
    cr_assert_eq(ppo_learn(p, v, TICK_T * TICK_N, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        float want = (ppo_vf_params(p) + vf->b_off[vf->n_layers - 1] == params + i) ? 0.5f : 0.0f;
        cr_assert_eq(params[i], want, "learning rate 0 moved parameter %zu", i);
    }
    return p;
}

/* What ppo_debug_loss reveals about buffer row r when both nets are constant: a minibatch of
 * the row twice (no advantage normalisation), so
 *   policy loss = -adv * ratio, ratio = 1 (same parameters as at collection);
 *   dLoss/d(value output bias) = vf_coef * -2 (ret - 0.5)   -> ret;
 *   dLoss/d(policy output bias) = -adv * ratio * (x - 0) / 1  -> the stored action x. */
typedef struct {
    double adv, ret, act, kl;
} RowView;

static RowView tick_row(Ppo *p, int r) {
    size_t n;
    ppo_params(p, &n);
    float *g = sb_calloc(n, sizeof(float));
    int idx[2] = {r, r};
    const PpoConfig *c = ppo_config(p);
    PpoLoss L = ppo_debug_loss(p, idx, 2, c->clip_range, 0.0, g);
    const Mlp *pi = ppo_pi_net(p), *vf = ppo_vf_net(p);
    size_t vf_b = (size_t)(ppo_vf_params(p) - ppo_pi_params(p)) + vf->b_off[vf->n_layers - 1];
    size_t pi_b = pi->b_off[pi->n_layers - 1];
    RowView rv = {.adv = -L.pg, .ret = 0.5 - g[vf_b] / (2.0 * c->vf_coef), .act = g[pi_b] / L.pg, .kl = L.kl};
    free(g);
    return rv;
}

Test(ppo_gae, advantages_and_returns_match_hand_calculation) {
    /* gamma 0.9, lambda 0.8 (gamma lambda = 0.72), V = 0.5, rewards k + 1 for the k-th step.
     * delta_t = r_t + gamma V(s_t+1) (1 - done_t) - V(s_t); A_t = delta_t + 0.72 (1 - done_t) A_t+1,
     * with V(s_T) = 0.5 after the last step (the rollout does not end an episode there).
     * Env 0, episodes of 3 steps ending by termination (no bootstrap):
     *   rewards 1 2 3 | 1 2 3 | 1;  deltas 0.95 1.95 2.5 | 0.95 1.95 2.5 | 0.95
     *   A_6 = 0.95;  A_5 = 2.5;  A_4 = 1.95 + 0.72 * 2.5 = 3.75;  A_3 = 0.95 + 0.72 * 3.75 = 3.65
     *   and A_2, A_1, A_0 = 2.5, 3.75, 3.65.
     * Env 1, an episode truncated after 4 steps: the last reward is bootstrapped with
     * gamma V(terminal obs) = 0.45 and the episode still ends there (SB3 collect_rollouts):
     *   rewards 1 2 3 4.45 | 1 2 3;  deltas 0.95 1.95 2.95 3.95 | 0.95 1.95 2.95
     *   A_6 = 2.95;  A_5 = 1.95 + 0.72 * 2.95 = 4.074;  A_4 = 0.95 + 0.72 * 4.074 = 3.88328
     *   A_3 = 3.95;  A_2 = 2.95 + 0.72 * 3.95 = 5.794;  A_1 = 1.95 + 0.72 * 5.794 = 6.12168
     *   A_0 = 0.95 + 0.72 * 6.12168 = 5.3576096
     * Returns are A + V = A + 0.5. Buffer row of (t, env n) is t * 2 + n. */
    const double adv[TICK_T][TICK_N] = {{3.65, 5.3576096}, {3.75, 6.12168}, {2.5, 5.794}, {3.65, 3.95},
                                        {3.75, 3.88328},   {2.5, 4.074},    {0.95, 2.95}};
    Tick t[2];
    VecEnv v;
    Ppo *p = tick_agent_after_one_rollout(t, &v);
    for (int s = 0; s < TICK_T; s++)
        for (int e = 0; e < TICK_N; e++) {
            RowView rv = tick_row(p, s * TICK_N + e);
            cr_expect(fabs(rv.adv - adv[s][e]) < 1e-5, "t %d env %d: advantage %.7f, hand %.7f", s, e, rv.adv,
                      adv[s][e]);
            cr_expect(fabs(rv.ret - (adv[s][e] + 0.5)) < 1e-5, "t %d env %d: return %.7f, hand %.7f", s, e, rv.ret,
                      adv[s][e] + 0.5);
        }
    ppo_free(p);
    vecenv_free(&v);
}

Test(ppo_rollout, box_action_is_stored_unclipped_and_applied_clipped) {
    /* Mean 0, std 1 against bounds [-0.5, 0.5]: most samples fall outside. The stored action
     * is read back through the policy gradient (see tick_row); ratio 1 (approx_kl 0) shows the
     * stored log-prob belongs to the stored, unclipped action. */
    Tick t[2];
    VecEnv v;
    Ppo *p = tick_agent_after_one_rollout(t, &v);
    int outside = 0;
    for (int s = 0; s < TICK_T; s++)
        for (int e = 0; e < TICK_N; e++) {
            RowView rv = tick_row(p, s * TICK_N + e);
            double clipped = fmin(fmax(rv.act, -0.5), 0.5);
            outside += fabs(rv.act) > 0.5 + 1e-3;
            cr_assert_eq(t[e].n_seen, TICK_T);
            cr_expect(fabs(t[e].seen[s] - clipped) < 1e-5, "t %d env %d: env got %.7f, stored sample %.7f", s, e,
                      t[e].seen[s], rv.act);
            cr_expect(rv.kl < 1e-9, "t %d env %d: approx_kl %.3g, the log-prob is not the stored action's", s, e,
                      rv.kl);
        }
    cr_log_info("Box samples outside [-0.5, 0.5]: %d of %d (stored unclipped)", outside, TICK_T * TICK_N);
    cr_expect(outside >= 3, "only %d samples beyond the bounds: the test does not exercise clipping", outside);
    ppo_free(p);
    vecenv_free(&v);
}

/* ---------------------------------------------------------------------------------------- */
/* learn(N) semantics, persistence, reproducibility (CartPole-v1, small nets)               */

enum { MAX_CALLS = 16 };
typedef struct {
    int calls;
    PpoStats s[MAX_CALLS];
} Calls;

static int record_call(const PpoStats *s, void *user) {
    Calls *c = user;
    if (c->calls < MAX_CALLS) c->s[c->calls] = *s;
    c->calls++;
    return 0;
}

typedef struct {
    const EnvClass *cls;
    void **envs;
    VecEnv v;
    Ppo *p;
} Run;

static void run_open(Run *r, int n_steps, uint64_t seed) {
    r->cls = envs_find("CartPole-v1");
    cr_assert(r->cls);
    r->envs = envs_create(r->cls, 1, seed);
    vecenv_init(&r->v, r->cls, r->envs, 1);
    PpoConfig c;
    ppo_config_default(&c);
    c.n_steps = n_steps;
    c.batch_size = 400;
    c.n_epochs = 2;
    c.n_pi = c.n_vf = 1;
    c.pi_arch[0] = c.vf_arch[0] = 8;
    char err[256];
    r->p = ppo_create(&c, r->cls->obs_dim, &r->cls->space, 1, seed, err, sizeof err);
    cr_assert(r->p, "%s", err);
}

static void run_close(Run *r) {
    ppo_free(r->p);
    vecenv_free(&r->v);
    envs_destroy(r->envs, 1);
}

static float *params_copy(Ppo *p, size_t *n) {
    float *src = ppo_params(p, n);
    float *o = sb_malloc(*n * sizeof(float));
    memcpy(o, src, *n * sizeof(float));
    return o;
}

Test(ppo_learn, whole_rollouts_until_total_timesteps_is_reached) {
    /* SB3's learn(total_timesteps): rollouts of n_steps * n_envs until num_timesteps >=
     * total_timesteps, each followed by one update: 2000 -> 2 rollouts (2400 steps); 1200 -> 1. */
    Run r;
    run_open(&r, 1200, 3);
    Calls a = {0}, b = {0};
    cr_assert_eq(ppo_learn(r.p, &r.v, 2000, record_call, &a), 0);
    cr_expect_eq(a.calls, 2, "learn(2000) with n_steps 1200: %d updates", a.calls);
    cr_expect_eq(a.s[0].timesteps, 1200);
    cr_expect_eq(a.s[1].timesteps, 2400);
    cr_expect_eq(a.s[1].iteration, 2);
    cr_expect_eq(ppo_total_steps(r.p), 2400);
    cr_assert_eq(ppo_learn(r.p, &r.v, 1200, record_call, &b), 0);
    cr_expect_eq(b.calls, 1, "learn(1200) with n_steps 1200: %d updates", b.calls);
    cr_expect_eq(b.s[0].timesteps, 1200, "num_timesteps restarts with each call");
    cr_expect_eq(b.s[0].total_timesteps, 3600, "the agent's step count runs across calls");
    cr_expect_eq(b.s[0].n_updates, a.s[1].n_updates + 2, "n_updates (epochs) accumulates across calls");
    run_close(&r);
}

static int stop_at_once(const PpoStats *s, void *user) {
    (void)s;
    (void)user;
    return 1;
}

Test(ppo_learn, callback_returning_nonzero_stops_after_that_update) {
    Run r;
    run_open(&r, 1200, 3);
    cr_expect_eq(ppo_learn(r.p, &r.v, 10000, stop_at_once, NULL), 1);
    cr_expect_eq(ppo_total_steps(r.p), 1200);
    run_close(&r);
}

Test(ppo_learn, networks_persist_across_calls) {
    /* Two identical agents both learn(1200); one then has its parameters halved. If learn
     * re-initialised the networks, their second learn(1200) would end equal (same Rng states,
     * same envs); it persists, so they differ. And a fresh agent's single learn(1200) differs
     * from learn(1200); learn(1200). */
    Run x, z, y;
    run_open(&x, 1200, 5);
    run_open(&z, 1200, 5);
    run_open(&y, 1200, 5);
    ppo_learn(x.p, &x.v, 1200, NULL, NULL);
    ppo_learn(z.p, &z.v, 1200, NULL, NULL);
    size_t n;
    float *px = ppo_params(x.p, &n), *pz = ppo_params(z.p, &n);
    cr_assert_eq(memcmp(px, pz, n * sizeof(float)), 0, "identical agents diverged after one call");
    for (size_t i = 0; i < n; i++) pz[i] *= 0.5f;
    ppo_learn(x.p, &x.v, 1200, NULL, NULL);
    ppo_learn(z.p, &z.v, 1200, NULL, NULL);
    cr_expect_neq(memcmp(px, pz, n * sizeof(float)), 0, "the second call ignored the parameters it started from");
    ppo_learn(y.p, &y.v, 1200, NULL, NULL);
    cr_expect_neq(memcmp(px, ppo_params(y.p, &n), n * sizeof(float)), 0);
    run_close(&x);
    run_close(&z);
    run_close(&y);
}

/* Everything in PpoStats but the wall-clock fields. */
static int stats_equal(const PpoStats *a, const PpoStats *b) {
    PpoStats x = *a, y = *b;
    x.rollout_s = y.rollout_s = x.update_s = y.update_s = x.fps = y.fps = 0;
    return memcmp(&x, &y, sizeof x) == 0;
}

Test(ppo_learn, same_seed_is_bitwise_reproducible_and_seeds_differ) {
    float *par[3];
    Calls calls[3];
    size_t n = 0;
    const uint64_t seeds[3] = {11, 11, 12};
    for (int k = 0; k < 3; k++) {
        Run r;
        run_open(&r, 600, seeds[k]);
        memset(&calls[k], 0, sizeof calls[k]);
        ppo_learn(r.p, &r.v, 1800, record_call, &calls[k]);
        par[k] = params_copy(r.p, &n);
        run_close(&r);
    }
    cr_expect_eq(memcmp(par[0], par[1], n * sizeof(float)), 0, "same seed, different parameters");
    cr_assert_eq(calls[0].calls, 3);
    cr_assert_eq(calls[1].calls, 3);
    for (int i = 0; i < 3; i++)
        cr_expect(stats_equal(&calls[0].s[i], &calls[1].s[i]), "same seed, different stats at update %d", i + 1);
    cr_expect_neq(memcmp(par[0], par[2], n * sizeof(float)), 0, "seeds 11 and 12 gave identical parameters");
    for (int k = 0; k < 3; k++) free(par[k]);
}

Test(ppo_learn, linear_schedule_continues_across_calls_without_reset_num_timesteps) {
    /* SB3's _setup_learn: with reset_num_timesteps=False, total_timesteps += num_timesteps and
     * num_timesteps carries on, so progress_remaining = 1 - num_timesteps / total_timesteps runs
     * over both calls. n_steps 100, learning_rate lin_1e-3:
     *   learn(200): after 100 steps 1 - 100/200 = 0.5 -> 5e-4; after 200: 0.
     *   learn(200) again (total 400): after 300 steps 1 - 300/400 = 0.25 -> 2.5e-4; after 400: 0.
     * With reset_num_timesteps=True each call starts over: 5e-4, 0 again. */
    for (int reset = 0; reset < 2; reset++) {
        Run r;
        run_open(&r, 100, 4);
        PpoConfig c = *ppo_config(r.p);
        ppo_free(r.p);
        c.learning_rate = 1e-3;
        c.lr_linear = 1;
        c.batch_size = 50;
        c.reset_num_timesteps = reset;
        char err[256];
        r.p = ppo_create(&c, r.cls->obs_dim, &r.cls->space, 1, 4, err, sizeof err);
        cr_assert(r.p, "%s", err);
        Calls a = {0}, b = {0};
        ppo_learn(r.p, &r.v, 200, record_call, &a);
        ppo_learn(r.p, &r.v, 200, record_call, &b);
        cr_assert_eq(a.calls, 2);
        cr_assert_eq(b.calls, 2);
        const double want_b0 = reset ? 5e-4 : 2.5e-4;
        cr_expect(fabs(a.s[0].learning_rate - 5e-4) < 1e-12, "reset %d: first call lr %g", reset, a.s[0].learning_rate);
        cr_expect(fabs(a.s[1].learning_rate) < 1e-12);
        cr_expect(fabs(b.s[0].learning_rate - want_b0) < 1e-12, "reset %d: second call's first lr %g, SB3 %g", reset,
                  b.s[0].learning_rate, want_b0);
        cr_expect(fabs(b.s[1].learning_rate) < 1e-12);
        run_close(&r);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Learning a masked policy: a two-step battery                                              */

/* The game's problem in miniature. A battery holds s in {0..4} units; at step t = 0, 1 it moves
 * d = k - 4 units (action k in 0..8, d > 0 charges) at price P[t] with a wear cost C d^2:
 *   reward = -P[t] d - C d^2,   s <- s + d,
 * and only levels that keep s in [0, 4] are valid: k in [4 - s, 8 - s], the game's contiguous SoC
 * mask. An episode starts at a uniform step and level (so every state keeps being visited, also
 * those the optimal policy never leads to) and terminates after step 1 (undiscounted, gamma 1).
 * Observation: one-hot of (t, s), 10 floats.
 * With P = (1, 2.3), C = 1/4 (worked by hand; the test recomputes it by backward induction):
 *   step 1: -2.3 d - d^2/4 falls for every d > -4.6, so the best move, d = -4, is masked out in
 *     every state but s = 4: the best valid one is d = -s (sell all), V1(s) = 2.3 s - s^2/4
 *     = 0, 2.05, 3.6, 4.65, 5.2.
 *   step 0: -d - d^2/4 + V1(s + d) is a parabola of curvature -1/2 with its top at
 *     d = 1.3 - s/2: s = 0..4 -> d = 1, 1, 0, 0, -1 (tops at 1.3, 0.8, 0.3, -0.2, -0.7, no ties:
 *     the runner-up is >= 0.2 worse). Charging at step 0 costs now and pays at step 1; a myopic
 *     policy would sell (d = -2 or the lowest valid) instead, so learning it needs the return.
 * PPO must make the greedy valid action (dist_cat_mode on the masked distribution) the optimum in
 * all 10 states and keep every invalid level at probability 0. */
enum { BAT_S = 5, BAT_K = 9, BAT_T = 2 };
static const double BAT_PRICE[BAT_T] = {1.0, 2.3}, BAT_WEAR = 0.25;

typedef struct {
    int t, s;
    Rng rng;
} Battery;

static void bat_observe(const Battery *b, float *obs, unsigned char *mask) {
    memset(obs, 0, BAT_T * BAT_S * sizeof(float));
    obs[b->t * BAT_S + b->s] = 1.0f;
    for (int k = 0; k < BAT_K; k++) mask[k] = b->s + (k - 4) >= 0 && b->s + (k - 4) <= BAT_S - 1;
}

static void bat_reset(void *e, float *obs, unsigned char *mask) {
    Battery *b = e;
    b->t = (int)rng_below(&b->rng, BAT_T);
    b->s = (int)rng_below(&b->rng, BAT_S);
    bat_observe(b, obs, mask);
}

static double bat_reward(int t, int d) { return -BAT_PRICE[t] * d - BAT_WEAR * d * d; }

static void bat_step(void *e, const float *action, float *obs, unsigned char *mask, float *reward, int *term,
                     int *trunc) {
    Battery *b = e;
    int d = (int)action[0] - 4;
    cr_assert(b->s + d >= 0 && b->s + d < BAT_S, "PPO chose masked level %d at t %d, s %d", (int)action[0], b->t, b->s);
    *reward = (float)bat_reward(b->t, d);
    b->s += d;
    b->t++;
    *term = b->t == BAT_T;
    *trunc = 0;
    if (*term) b->t = 0; /* the observation after the end is not used; keep it in range */
    bat_observe(b, obs, mask);
}

static void bat_seed(void *e, uint64_t seed, uint64_t stream) {
    Battery *b = e;
    memset(b, 0, sizeof *b);
    rng_seed(&b->rng, seed, 0xba77 + stream);
}

static const EnvClass BATTERY = {
    .name = "Battery",
    .obs_dim = BAT_T * BAT_S,
    .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = BAT_K, .masked = 1},
    .reset = bat_reset,
    .step = bat_step,
    .size = sizeof(Battery),
    .seed = bat_seed,
};

/* Backward induction over (t, s): best[t][s] the optimal valid level, gap[t][s] how much worse
 * the runner-up is. */
static void bat_optimum(int best[BAT_T][BAT_S], double gap[BAT_T][BAT_S]) {
    double V[BAT_T + 1][BAT_S] = {{0}};
    for (int t = BAT_T - 1; t >= 0; t--)
        for (int s = 0; s < BAT_S; s++) {
            double q1 = -INFINITY, q2 = -INFINITY;
            for (int k = 0; k < BAT_K; k++) {
                int n = s + k - 4;
                if (n < 0 || n >= BAT_S) continue;
                double q = bat_reward(t, k - 4) + V[t + 1][n];
                if (q > q1) {
                    q2 = q1;
                    q1 = q;
                    best[t][s] = k;
                } else if (q > q2) {
                    q2 = q;
                }
            }
            V[t][s] = q1;
            gap[t][s] = q1 - q2;
        }
}

Test(ppo_learn, masked_two_step_battery_learns_the_best_valid_levels, .timeout = 300) {
    int best[BAT_T][BAT_S];
    double gap[BAT_T][BAT_S];
    bat_optimum(best, gap);
    /* The hand calculation above: sell all at step 1, charge 1, 1, 0, 0, -1 at step 0. */
    const int hand[BAT_T][BAT_S] = {{5, 5, 4, 4, 3}, {4, 3, 2, 1, 0}};
    for (int t = 0; t < BAT_T; t++)
        for (int s = 0; s < BAT_S; s++) {
            cr_assert_eq(best[t][s], hand[t][s], "t %d s %d: induction %d, hand %d", t, s, best[t][s], hand[t][s]);
            cr_assert(gap[t][s] >= 0.2 - 1e-12, "t %d s %d: a near tie (%.3f)", t, s, gap[t][s]);
        }

    enum { N = 4 };
    const uint64_t seed = 3;
    void **envs = envs_create(&BATTERY, N, seed);
    VecEnv v;
    vecenv_init(&v, &BATTERY, envs, N);
    PpoConfig c;
    ppo_config_default(&c);
    c.n_steps = 128;
    c.batch_size = 128;
    c.learning_rate = 1e-3;
    c.gamma = 1.0;
    c.n_pi = c.n_vf = 1;
    c.pi_arch[0] = c.vf_arch[0] = 32;
    char err[256];
    Ppo *p = ppo_create(&c, BATTERY.obs_dim, &BATTERY.space, N, seed, err, sizeof err);
    cr_assert(p, "%s", err);
    const long steps = 30000;
    ppo_learn(p, &v, steps, NULL, NULL);

    Rng r;
    rng_seed(&r, 1, 0);
    int wrong = 0;
    for (int t = 0; t < BAT_T; t++)
        for (int s = 0; s < BAT_S; s++) {
            Battery b = {.t = t, .s = s};
            float obs[BAT_T * BAT_S], act, probs[BAT_K];
            unsigned char mask[BAT_K];
            bat_observe(&b, obs, mask);
            ppo_predict(p, obs, mask, 1, 1, &act, NULL, &r);
            ppo_action_probs(p, obs, mask, 1, probs);
            for (int k = 0; k < BAT_K; k++)
                if (!mask[k]) cr_expect_eq(probs[k], 0.0f, "t %d s %d: invalid level %d has probability %g", t, s, k, probs[k]);
            wrong += (int)act != best[t][s];
            cr_log_info("battery t %d s %d: greedy level %d (optimum %d, p %.3f), the unmasked optimum %s", t, s,
                        (int)act, best[t][s], probs[best[t][s]], t == 1 && s < 4 ? "masked out" : "valid");
            cr_expect_eq((int)act, best[t][s], "t %d s %d: greedy level %d, optimum %d (p %.3f)", t, s, (int)act,
                         best[t][s], probs[best[t][s]]);
        }
    cr_log_info("battery: %d of %d states greedy-optimal after %ld steps", BAT_T * BAT_S - wrong, BAT_T * BAT_S, steps);
    ppo_free(p);
    vecenv_free(&v);
    envs_destroy(envs, N);
}

Test(ppo_rollout, masked_rollout_stores_the_mask_each_action_was_sampled_under) {
    /* With learning rate 0 the policy that evaluates the buffer is the one that filled it, so
     * every stored row must give ratio 1 (approx_kl 0): its log-prob, its action and its mask must
     * all be the ones of the same env and step. Battery masks differ from env to env and step to
     * step (uniform starts), so a mask stored from another env or the next step would show. */
    enum { N = 4, T = 32 };
    void **envs = envs_create(&BATTERY, N, 5);
    VecEnv v;
    vecenv_init(&v, &BATTERY, envs, N);
    PpoConfig c;
    ppo_config_default(&c);
    c.n_steps = T;
    c.batch_size = T * N;
    c.n_epochs = 1;
    c.learning_rate = 0.0;
    c.n_pi = c.n_vf = 1;
    c.pi_arch[0] = c.vf_arch[0] = 16;
    char err[256];
    Ppo *p = ppo_create(&c, BATTERY.obs_dim, &BATTERY.space, N, 5, err, sizeof err);
    cr_assert(p, "%s", err);
    /* A policy far from uniform, so that a wrong mask changes the log-probabilities a lot. */
    float *pi = ppo_pi_params(p);
    for (size_t i = 0; i < ppo_pi_net(p)->n_params; i++) pi[i] *= 300.0f;
    ppo_learn(p, &v, T * N, NULL, NULL);
    int idx[T * N];
    for (int r = 0; r < T * N; r++) idx[r] = r;
    PpoLoss L = ppo_debug_loss(p, idx, T * N, c.clip_range, 0.0, NULL);
    cr_expect(L.kl < 1e-9 && L.clipfrac == 0.0, "approx_kl %.3g, clip fraction %.3f: the buffer's rows disagree with "
              "the policy that filled it", L.kl, L.clipfrac);
    ppo_free(p);
    vecenv_free(&v);
    envs_destroy(envs, N);
}

/* ------------------------------------------------------------------------------------ */
/* Initialisation (SB3 ActorCriticPolicy with ortho_init)                                */

/* Largest deviation of the Gram matrix of W (O, I) from gain^2 times the identity, over the
 * smaller side: W W^T for O <= I (orthonormal rows), W^T W for O > I (orthonormal columns). */
static double gram_error(const float *W, int O, int I, double gain) {
    int wide = O <= I, k = wide ? O : I, len = wide ? I : O;
    double worst = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            double s = 0;
            for (int e = 0; e < len; e++) {
                double x = wide ? W[(size_t)a * I + e] : W[(size_t)e * I + a];
                double y = wide ? W[(size_t)b * I + e] : W[(size_t)e * I + b];
                s += x * y;
            }
            worst = fmax(worst, fabs(s - (a == b ? gain * gain : 0.0)) / (gain * gain));
        }
    return worst;
}

Test(ppo_init, orthogonal_gains_are_sb3s) {
    /* SB3 2.3.2 ActorCriticPolicy._build with ortho_init: module_gains = {mlp_extractor:
     * sqrt(2), action_net: 0.01, value_net: 1}, every bias 0 (init_weights); log_std starts at
     * log_std_init. A (O, I) orthogonal_ weight times gain has W W^T = gain^2 I when O <= I and
     * W^T W = gain^2 I when O > I. Nets [64, 64] on 5 inputs: pi 5-64-64-2, vf 5-64-64-1. */
    PpoConfig c;
    ppo_config_default(&c);
    c.log_std_init = -0.5;
    ActionSpace sp = {.kind = SPACE_BOX, .dim = 2, .low = {-1, -1}, .high = {1, 1}};
    char err[256];
    Ppo *p = ppo_create(&c, 5, &sp, 1, 11, err, sizeof err);
    cr_assert(p, "%s", err);
    const Mlp *nets[2] = {ppo_pi_net(p), ppo_vf_net(p)};
    const float *params[2] = {ppo_pi_params(p), ppo_vf_params(p)};
    const double head_gain[2] = {0.01, 1.0};
    for (int k = 0; k < 2; k++) {
        const Mlp *m = nets[k];
        cr_assert_eq(m->n_layers, 3);
        for (int l = 0; l < 3; l++) {
            int I = m->sizes[l], O = m->sizes[l + 1];
            double gain = l == 2 ? head_gain[k] : sqrt(2.0);
            double e = gram_error(params[k] + m->w_off[l], O, I, gain);
            cr_expect(e < 1e-5, "%s layer %d (%d, %d): Gram matrix %.3g from gain^2 I (gain %g)", k ? "vf" : "pi", l, O, I,
                      e, gain);
            for (int o = 0; o < O; o++) cr_expect_eq(params[k][m->b_off[l] + (size_t)o], 0.0f, "bias not 0");
        }
    }
    cr_expect_eq(ppo_log_std(p)[0], -0.5f);
    cr_expect_eq(ppo_log_std(p)[1], -0.5f);
    ppo_free(p);
}
