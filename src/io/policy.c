/* policy.c: loading an exported policy .npz, acting with it, and the action the environment
 * plays (see policy.h; the "play" description in io/pspec.h).
 *
 * Legend: O obs_dim, K head width, W widest layer, L linear layers per network, P played
 * entries.
 * Parameters are widened to double on load (exact for f4 and f2), so the forward pass
 * matches a float64 NumPy recomputation to rounding. */
#include "io/policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/npz.h"
#include "io/pspec.h"
#include "util/common.h"
#include "util/fsutil.h"

#define POLICY_FORMAT "stackelberg-policy"
#define POLICY_VERSION 1

struct SbPolicyAgent {
    Pspec spec;
    double *w[2][PSPEC_MAX_SIZES]; /* [net: 0 pi, 1 vf][l] (D_{l+1}, D_l) */
    double *b[2][PSPEC_MAX_SIZES]; /* [net][l] (D_{l+1}) */
    double *log_std;               /* (A) box only */
    double *obs_mean, *obs_var;    /* (O) when normalize_obs */
    double *x;                     /* (O) normalised observation */
    double *h[2];                  /* (W) ping-pong activations */
    double *dist;                  /* (K) sb_policy_play's distribution or raw action */
    unsigned char *mask;           /* (K) sb_policy_play's mask */
    const char **obs_names, **obs_units; /* (O) into spec.obs_desc, when described */
    const char *play_names[PSPEC_MAX_BOX], *play_units[PSPEC_MAX_BOX]; /* (P) into spec.play */
};

struct SbPolicy {
    SbPolicyAgent *agents; /* (n) */
    int n;
};

static void agent_free(SbPolicyAgent *a) {
    for (int net = 0; net < 2; net++)
        for (int l = 0; l < PSPEC_MAX_SIZES; l++) {
            free(a->w[net][l]);
            free(a->b[net][l]);
        }
    free(a->log_std);
    free(a->obs_mean);
    free(a->obs_var);
    free(a->x);
    free(a->h[0]);
    free(a->h[1]);
    free(a->dist);
    free(a->mask);
    free(a->obs_names);
    free(a->obs_units);
    pspec_free(&a->spec);
}

void sb_policy_free(SbPolicy *pol) {
    if (!pol) return;
    for (int i = 0; i < pol->n; i++) agent_free(&pol->agents[i]);
    free(pol->agents);
    free(pol);
}

/* Point `slot` at a freshly loaded copy of tensor t, checking shape and finiteness. */
static int load_tensor(const Npz *z, const PspecTensor *t, double **slot, const char *label,
                       char *err, size_t errlen) {
    size_t count = t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
    const NpzMember *m = npz_find(z, t->name);
    /* Allocate only once the member is known to hold `count` values (fuzzed metadata may
     * declare huge layers). */
    if (!m || m->dtype == NPY_RAW || m->count != count)
        return npz_get_f64(z, t->name, t->shape, t->ndim, NULL, label, err, errlen) ? -1
               : sb_err(err, errlen, "%s: member %s.npy: wrong size", label, t->name);
    double *v = sb_malloc((count ? count : 1) * sizeof *v);
    if (npz_get_f64(z, t->name, t->shape, t->ndim, v, label, err, errlen)) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(v[i])) {
            free(v);
            return sb_err(err, errlen, "%s: member %s.npy: value %zu is not finite", label, t->name, i);
        }
    *slot = v;
    return 0;
}

static int agent_load(SbPolicyAgent *a, const Npz *z, const char *label, char *err, size_t errlen) {
    const Pspec *s = &a->spec;
    PspecTensor ts[PSPEC_MAX_TENSORS];
    int nt = pspec_tensors(s, ts);
    for (int i = 0; i < nt; i++) {
        const char *what = ts[i].name + strlen(s->name) + 1; /* "pi.0.weight" */
        double **slot;
        int l = 0;
        char kind[8] = "";
        if (!strcmp(what, "log_std")) slot = &a->log_std;
        else if (!strcmp(what, "obs_mean")) slot = &a->obs_mean;
        else if (!strcmp(what, "obs_var")) slot = &a->obs_var;
        else {
            int net = what[0] == 'v';
            sscanf(what + 3, "%d.%7s", &l, kind);
            slot = kind[0] == 'w' ? &a->w[net][l] : &a->b[net][l];
        }
        if (load_tensor(z, &ts[i], slot, label, err, errlen)) return -1;
    }
    if (a->obs_var)
        for (int i = 0; i < s->obs_dim; i++)
            if (a->obs_var[i] < 0)
                return sb_err(err, errlen, "%s: member %s.obs_var.npy: negative variance", label, s->name);
    int width = 1;
    for (int i = 0; i < s->n_pi; i++) width = SB_MAX(width, s->pi_sizes[i]);
    for (int i = 0; i < s->n_vf; i++) width = SB_MAX(width, s->vf_sizes[i]);
    a->x = sb_malloc((size_t)s->obs_dim * sizeof *a->x);
    a->h[0] = sb_malloc((size_t)width * sizeof(double));
    a->h[1] = sb_malloc((size_t)width * sizeof(double));
    size_t K = (size_t)pspec_head_dim(s);
    a->dist = sb_malloc(K * sizeof *a->dist);
    a->mask = sb_malloc(K);
    if (s->obs_desc) {
        a->obs_names = sb_malloc((size_t)s->obs_dim * sizeof *a->obs_names);
        a->obs_units = sb_malloc((size_t)s->obs_dim * sizeof *a->obs_units);
        for (int i = 0; i < s->obs_dim; i++) {
            a->obs_names[i] = s->obs_desc[i].name;
            a->obs_units[i] = s->obs_desc[i].unit;
        }
    }
    for (int k = 0; k < s->play.n; k++) {
        a->play_names[k] = s->play.names[k];
        a->play_units[k] = s->play.units[k];
    }
    return 0;
}

static int load_from_npz(SbPolicy *pol, const Npz *z, const char *label, char *err, size_t errlen) {
    const NpzMember *mj = npz_find(z, "meta.json");
    if (!mj || mj->dtype != NPY_RAW)
        return sb_err(err, errlen, "%s: missing member meta.json (not an exported policy)", label);
    JVal meta;
    char e[512];
    if (jv_parse(&meta, mj->data, mj->count, e, sizeof e))
        return sb_err(err, errlen, "%s: meta.json: %s", label, e);
    int rc = -1;
    const char *fmt = NULL;
    double version = 0;
    if (jv_get_str(&meta, "format", &fmt) != 1) {
        sb_err(err, errlen, "%s: meta.json: no \"format\" string", label);
        goto done;
    }
    if (strcmp(fmt, POLICY_FORMAT)) {
        int ck = !strcmp(fmt, "stackelberg-checkpoint");
        sb_err(err, errlen, "%s: meta.json: format is %s, not '" POLICY_FORMAT "'%s", label,
               ck ? "'stackelberg-checkpoint'" : "another",
               ck ? " (a checkpoint: run `stackelberg export` on its run directory)" : "");
        goto done;
    }
    if (jv_get_num(&meta, "version", &version) != 1) {
        sb_err(err, errlen, "%s: meta.json: no \"version\" number", label);
        goto done;
    }
    if (version != POLICY_VERSION) {
        sb_err(err, errlen, "%s: unknown format version %g (this build reads version %d)", label,
               version, POLICY_VERSION);
        goto done;
    }
    const JVal *names = jv_get(&meta, "agents"), *specs = jv_get(&meta, "policies");
    if (!names || names->kind != JV_ARR || names->n == 0 || names->n > 1024 || !specs ||
        specs->kind != JV_ARR || specs->n != names->n) {
        sb_err(err, errlen, "%s: meta.json: \"agents\" and \"policies\" must be lists of the same length",
               label);
        goto done;
    }
    pol->agents = sb_calloc(names->n, sizeof *pol->agents);
    for (size_t i = 0; i < names->n; i++) {
        SbPolicyAgent *a = &pol->agents[i];
        pol->n = (int)i + 1;
        char where[300];
        snprintf(where, sizeof where, "%s: meta.json: policies[%zu]", label, i);
        if (pspec_parse(&a->spec, &specs->items[i], where, err, errlen)) goto done;
        if (names->items[i].kind != JV_STR || strcmp(names->items[i].str, a->spec.name)) {
            sb_err(err, errlen, "%s: meta.json: agents[%zu] does not name policies[%zu]", label, i, i);
            goto done;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(pol->agents[k].spec.name, a->spec.name)) {
                sb_err(err, errlen, "%s: meta.json: agent '%s' listed twice", label, a->spec.name);
                goto done;
            }
        if (agent_load(a, z, label, err, errlen)) goto done;
    }
    rc = 0;
done:
    jv_free(&meta);
    return rc;
}

int sb_policy_load_mem(const void *data, size_t len, const char *label, SbPolicy **out, char *err,
                       size_t errlen) {
    *out = NULL;
    Npz z;
    if (npz_read_mem(&z, data, len, label, err, errlen)) return -1;
    SbPolicy *pol = sb_calloc(1, sizeof *pol);
    int rc = load_from_npz(pol, &z, label, err, errlen);
    npz_free(&z);
    if (rc) {
        sb_policy_free(pol);
        return -1;
    }
    *out = pol;
    return 0;
}

int sb_policy_load(const char *path, SbPolicy **out, char *err, size_t errlen) {
    *out = NULL;
    unsigned char *buf;
    size_t len;
    char e[512];
    if (read_file(path, &buf, &len, e, sizeof e)) return sb_err(err, errlen, "%s", e);
    int rc = sb_policy_load_mem(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

int sb_policy_agent_count(const SbPolicy *pol) { return pol->n; }

SbPolicyAgent *sb_policy_agent_at(SbPolicy *pol, int i) {
    return i >= 0 && i < pol->n ? &pol->agents[i] : NULL;
}

SbPolicyAgent *sb_policy_agent(SbPolicy *pol, const char *name) {
    for (int i = 0; i < pol->n; i++)
        if (!strcmp(pol->agents[i].spec.name, name)) return &pol->agents[i];
    return NULL;
}

void sb_policy_info(const SbPolicyAgent *a, SbPolicyInfo *info) {
    const Pspec *s = &a->spec;
    memset(info, 0, sizeof *info);
    info->name = s->name;
    info->obs_dim = s->obs_dim;
    info->kind = (int)s->kind;
    info->action_dim = pspec_action_dim(s);
    info->dist_dim = pspec_head_dim(s);
    if (s->kind == PSPEC_BOX) {
        info->low = s->low;
        info->high = s->high;
    }
    if (s->kind == PSPEC_MULTI_DISCRETE) info->nvec = s->nvec;
    info->mask_rule = s->mask;
    info->obs_names = a->obs_names;
    info->obs_units = a->obs_units;
    static const char *const kinds[] = {NULL, "raw", "table", "levels", "affine"};
    info->soc_obs = s->play.soc_range ? s->play.soc_obs : -1;
    if (s->play.kind != PSPEC_PLAY_NONE) {
        info->play_dim = s->play.n;
        info->play_kind = kinds[s->play.kind];
        info->play_rule = pspec_rule_name(s->play.rule);
        info->play_names = a->play_names;
        info->play_units = a->play_units;
    }
}

/* Normalise obs into a->x, then run network `net`; returns its output (in a->h). */
static const double *forward(SbPolicyAgent *a, int net, const double *obs) {
    const Pspec *s = &a->spec;
    for (int i = 0; i < s->obs_dim; i++) {
        double v = obs[i];
        if (s->normalize_obs) {
            v = (v - a->obs_mean[i]) / sqrt(a->obs_var[i] + s->obs_eps);
            v = v < -s->clip_obs ? -s->clip_obs : v > s->clip_obs ? s->clip_obs : v;
        }
        a->x[i] = v;
    }
    const int *sz = net ? s->vf_sizes : s->pi_sizes;
    int L = (net ? s->n_vf : s->n_pi) - 1;
    const double *in = a->x;
    for (int l = 0; l < L; l++) {
        double *out = a->h[l & 1];
        size_t din = (size_t)sz[l];
        const double *w = a->w[net][l];
        for (int o = 0; o < sz[l + 1]; o++) {
            double acc = a->b[net][l][o];
            const double *row = w + (size_t)o * din;
            for (size_t k = 0; k < din; k++) acc += row[k] * in[k];
            if (l + 1 < L) acc = s->relu ? (acc > 0 ? acc : 0) : tanh(acc);
            out[o] = acc;
        }
        in = out;
    }
    return in;
}

int sb_policy_dist(SbPolicyAgent *a, const double *obs, const unsigned char *mask, double *dist,
                   double *std, double *value) {
    const Pspec *s = &a->spec;
    if (value) *value = forward(a, 1, obs)[0];
    const double *head = forward(a, 0, obs);
    int K = pspec_head_dim(s);
    if (s->kind == PSPEC_BOX) {
        for (int i = 0; i < K; i++) {
            dist[i] = head[i];
            if (std) std[i] = exp(a->log_std[i]);
        }
        return 0;
    }
    int groups = s->kind == PSPEC_DISCRETE ? 1 : s->size;
    int off = 0;
    for (int g = 0; g < groups; g++) {
        int n = s->kind == PSPEC_DISCRETE ? s->size : s->nvec[g];
        double mx = -INFINITY;
        for (int i = off; i < off + n; i++)
            if ((!mask || mask[i]) && head[i] > mx) mx = head[i];
        if (mx == -INFINITY) return -1;
        double sum = 0;
        for (int i = off; i < off + n; i++) {
            dist[i] = (!mask || mask[i]) ? exp(head[i] - mx) : 0.0;
            sum += dist[i];
        }
        for (int i = off; i < off + n; i++) dist[i] /= sum;
        off += n;
    }
    return 0;
}

int sb_policy_act(SbPolicyAgent *a, const double *obs, const unsigned char *mask, double *action,
                  double *value) {
    const Pspec *s = &a->spec;
    if (value) *value = forward(a, 1, obs)[0];
    const double *head = forward(a, 0, obs);
    if (s->kind == PSPEC_BOX) {
        for (int i = 0; i < s->size; i++)
            action[i] = head[i] < s->low[i] ? s->low[i] : head[i] > s->high[i] ? s->high[i] : head[i];
        return 0;
    }
    int groups = s->kind == PSPEC_DISCRETE ? 1 : s->size;
    int off = 0;
    for (int g = 0; g < groups; g++) {
        int n = s->kind == PSPEC_DISCRETE ? s->size : s->nvec[g];
        int best = -1;
        for (int i = 0; i < n; i++)
            if ((!mask || mask[off + i]) && (best < 0 || head[off + i] > head[off + best])) best = i;
        if (best < 0) return -1;
        action[g] = best;
        off += n;
    }
    return 0;
}

/* ---- the action played ---- */

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Level i of K: lo + (hi - lo) i / (K - 1), evaluated in the game's order (fleet.c). */
static double level(const PspecPlay *p, int i, int K) {
    return p->level_lo + (p->level_hi - p->level_lo) * i / (K - 1);
}

int sb_policy_mask(const SbPolicyAgent *a, const double *obs, unsigned char *mask) {
    const Pspec *s = &a->spec;
    const PspecPlay *p = &s->play;
    if (p->kind != PSPEC_PLAY_LEVELS || !p->soc_range) return 0;
    double soc = obs[p->soc_obs];
    for (int i = 0; i < s->size; i++) {
        double v = level(p, i, s->size);
        mask[i] = v >= -soc - p->soc_tol && v <= 1.0 - soc + p->soc_tol;
    }
    return 1;
}

/* The affine map of a box action x (P) onto the physical bounds, the sell rule, the derived
 * entry: the utility's tariff in the game (game_leader_tariff). */
static void play_affine(const PspecPlay *p, const double *x, double *v) {
    for (int k = 0; k < p->n; k++) {
        double u = p->tanh ? tanh(x[k]) : clampd(x[k], -1.0, 1.0);
        v[k] = clampd(p->low[k] + 0.5 * (u + 1.0) * (p->high[k] - p->low[k]), p->low[k], p->high[k]);
    }
    if (p->sell != PSPEC_SELL_NONE && v[p->sell_idx] > v[p->buy]) {
        double buy = v[p->buy];
        if (p->sell == PSPEC_SELL_SWAP) v[p->buy] = v[p->sell_idx];
        v[p->sell_idx] = buy;
    }
    if (p->has_derived) {
        double acc = p->d_const;
        for (int k = 0; k < p->n; k++) acc += p->d_coef[k] * v[k];
        v[p->derived] = clampd(acc / p->d_div, p->d_low, p->d_high);
    }
}

int sb_policy_play(SbPolicyAgent *a, const double *obs, double *played) {
    const Pspec *s = &a->spec;
    const PspecPlay *p = &s->play;
    if (p->kind == PSPEC_PLAY_NONE) return SB_PLAY_UNDESCRIBED;
    const unsigned char *mask = sb_policy_mask(a, obs, a->mask) ? a->mask : NULL;
    double soc = p->soc_range ? obs[p->soc_obs] : 0.0;
    switch (p->kind) {
    case PSPEC_PLAY_RAW:
        if (sb_policy_act(a, obs, mask, played, NULL)) return SB_PLAY_NO_VALID;
        if (p->soc_range) played[0] = clampd(played[0], -soc, 1.0 - soc);
        break;
    case PSPEC_PLAY_TABLE:
        if (sb_policy_act(a, obs, mask, a->dist, NULL)) return SB_PLAY_NO_VALID;
        played[0] = p->values[(int)a->dist[0]];
        break;
    case PSPEC_PLAY_LEVELS: {
        double v;
        if (p->rule == PSPEC_RULE_DETERMINISTIC) {
            if (sb_policy_act(a, obs, mask, a->dist, NULL)) return SB_PLAY_NO_VALID;
            v = level(p, (int)a->dist[0], s->size);
        } else { /* the expected level under the masked policy (fleet_expected_level) */
            if (sb_policy_dist(a, obs, mask, a->dist, NULL, NULL)) return SB_PLAY_NO_VALID;
            double sp = 0, sa = 0;
            for (int i = 0; i < s->size; i++) {
                if (mask && !mask[i]) continue;
                sp += a->dist[i];
                sa += a->dist[i] * level(p, i, s->size);
            }
            v = sa / sp;
        }
        played[0] = p->soc_range ? clampd(v, -soc, 1.0 - soc) : v;
        break;
    }
    case PSPEC_PLAY_AFFINE:
        sb_policy_act(a, obs, NULL, a->dist, NULL);
        play_affine(p, a->dist, played);
        break;
    default: return SB_PLAY_UNDESCRIBED;
    }
    return p->rule == PSPEC_RULE_SAMPLE ? SB_PLAY_RANDOM : SB_PLAY_OK;
}
