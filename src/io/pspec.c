/* pspec.c: parsing, checking and writing an agent's network description (see pspec.h). */
#include "io/pspec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"

int pspec_action_dim(const Pspec *s) {
    return s->kind == PSPEC_DISCRETE ? 1 : s->size;
}

int pspec_head_dim(const Pspec *s) {
    if (s->kind != PSPEC_MULTI_DISCRETE) return s->size;
    int k = 0;
    for (int i = 0; i < s->size; i++) k += s->nvec[i];
    return k;
}

const char *pspec_kind_name(PspecKind k) {
    return k == PSPEC_BOX ? "box" : k == PSPEC_DISCRETE ? "discrete" : "multi_discrete";
}

/* A JSON number that is an integer in [lo, hi]. */
static int as_int(const JVal *v, int lo, int hi, int *out) {
    if (!v || v->kind != JV_NUM || v->num != floor(v->num) || v->num < lo || v->num > hi) return -1;
    *out = (int)v->num;
    return 0;
}

static int int_list(const JVal *v, int *out, int cap, int lo, int hi, int *n) {
    if (!v || v->kind != JV_ARR || v->n == 0 || v->n > (size_t)cap) return -1;
    for (size_t i = 0; i < v->n; i++)
        if (as_int(&v->items[i], lo, hi, &out[i])) return -1;
    *n = (int)v->n;
    return 0;
}

static int num_list(const JVal *v, double *out, int want) {
    if (!v || v->kind != JV_ARR || v->n != (size_t)want) return -1;
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i].kind != JV_NUM || !isfinite(v->items[i].num)) return -1;
        out[i] = v->items[i].num;
    }
    return 0;
}

int pspec_parse(Pspec *s, const JVal *obj, const char *where, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (!obj || obj->kind != JV_OBJ) return sb_err(err, errlen, "%s: not an object", where);
    const char *str = NULL;
    if (jv_get_str(obj, "name", &str) != 1) return sb_err(err, errlen, "%s: name: missing or not a string", where);
    size_t nl = strlen(str);
    if (nl == 0 || nl >= sizeof s->name || strspn(str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != nl)
        return sb_err(err, errlen, "%s: name: must be 1-63 letters, digits, '_' or '-'", where);
    memcpy(s->name, str, nl + 1);
    if (as_int(jv_get(obj, "obs_dim"), 1, PSPEC_MAX_WIDTH, &s->obs_dim))
        return sb_err(err, errlen, "%s: obs_dim: missing or not an integer in 1..%d", where, PSPEC_MAX_WIDTH);
    if (int_list(jv_get(obj, "pi_sizes"), s->pi_sizes, PSPEC_MAX_SIZES, 1, PSPEC_MAX_WIDTH, &s->n_pi) || s->n_pi < 2)
        return sb_err(err, errlen, "%s: pi_sizes: expected 2..%d integers in 1..%d", where, PSPEC_MAX_SIZES, PSPEC_MAX_WIDTH);
    if (int_list(jv_get(obj, "vf_sizes"), s->vf_sizes, PSPEC_MAX_SIZES, 1, PSPEC_MAX_WIDTH, &s->n_vf) || s->n_vf < 2)
        return sb_err(err, errlen, "%s: vf_sizes: expected 2..%d integers in 1..%d", where, PSPEC_MAX_SIZES, PSPEC_MAX_WIDTH);
    if (s->pi_sizes[0] != s->obs_dim || s->vf_sizes[0] != s->obs_dim)
        return sb_err(err, errlen, "%s: pi_sizes/vf_sizes must start with obs_dim %d", where, s->obs_dim);
    if (s->vf_sizes[s->n_vf - 1] != 1) return sb_err(err, errlen, "%s: vf_sizes must end with 1", where);
    if (jv_get_str(obj, "activation", &str) != 1 || (strcmp(str, "tanh") && strcmp(str, "relu")))
        return sb_err(err, errlen, "%s: activation: expected \"tanh\" or \"relu\"", where);
    s->relu = !strcmp(str, "relu");

    const JVal *act = jv_get(obj, "action");
    if (!act || act->kind != JV_OBJ) return sb_err(err, errlen, "%s: action: missing or not an object", where);
    if (jv_get_str(act, "kind", &str) != 1) return sb_err(err, errlen, "%s: action.kind: missing", where);
    if (!strcmp(str, "box")) s->kind = PSPEC_BOX;
    else if (!strcmp(str, "discrete")) s->kind = PSPEC_DISCRETE;
    else if (!strcmp(str, "multi_discrete")) s->kind = PSPEC_MULTI_DISCRETE;
    else return sb_err(err, errlen, "%s: action.kind: not box, discrete or multi_discrete", where);
    int cap = s->kind == PSPEC_BOX ? PSPEC_MAX_BOX : s->kind == PSPEC_MULTI_DISCRETE ? PSPEC_MAX_NVEC : PSPEC_MAX_WIDTH;
    if (as_int(jv_get(act, "size"), 1, cap, &s->size))
        return sb_err(err, errlen, "%s: action.size: missing or not an integer in 1..%d", where, cap);
    if (s->kind == PSPEC_BOX) {
        if (num_list(jv_get(act, "low"), s->low, s->size) || num_list(jv_get(act, "high"), s->high, s->size))
            return sb_err(err, errlen, "%s: action.low/high: expected %d finite numbers each", where, s->size);
        for (int i = 0; i < s->size; i++)
            if (s->low[i] > s->high[i]) return sb_err(err, errlen, "%s: action: low[%d] > high[%d]", where, i, i);
    }
    if (s->kind == PSPEC_MULTI_DISCRETE) {
        int n = 0;
        if (int_list(jv_get(act, "nvec"), s->nvec, PSPEC_MAX_NVEC, 1, PSPEC_MAX_WIDTH, &n) || n != s->size)
            return sb_err(err, errlen, "%s: action.nvec: expected %d integers >= 1", where, s->size);
    }
    snprintf(s->mask, sizeof s->mask, "none");
    int r = jv_get_str(act, "mask", &str);
    if (r < 0 || (r == 1 && strlen(str) >= sizeof s->mask))
        return sb_err(err, errlen, "%s: action.mask: expected a short string", where);
    if (r == 1) snprintf(s->mask, sizeof s->mask, "%s", str);
    if (s->pi_sizes[s->n_pi - 1] != pspec_head_dim(s))
        return sb_err(err, errlen, "%s: pi_sizes ends with %d, the %s action needs a head of %d", where,
                      s->pi_sizes[s->n_pi - 1], pspec_kind_name(s->kind), pspec_head_dim(s));

    r = jv_get_bool(obj, "normalize_obs", &s->normalize_obs);
    if (r < 0) return sb_err(err, errlen, "%s: normalize_obs: expected true or false", where);
    s->clip_obs = 10.0; /* VecNormalize's defaults */
    s->obs_eps = 1e-8;
    if (jv_get_num(obj, "clip_obs", &s->clip_obs) < 0 || !(s->clip_obs > 0))
        return sb_err(err, errlen, "%s: clip_obs: expected a positive number", where);
    if (jv_get_num(obj, "obs_eps", &s->obs_eps) < 0 || !(s->obs_eps >= 0))
        return sb_err(err, errlen, "%s: obs_eps: expected a number >= 0", where);
    return 0;
}

void pspec_emit(Json *j, const char *key, const Pspec *s) {
    json_obj_begin(j, key);
    json_str(j, "name", s->name);
    json_int(j, "obs_dim", s->obs_dim);
    json_arr_begin(j, "pi_sizes");
    for (int i = 0; i < s->n_pi; i++) json_int(j, NULL, s->pi_sizes[i]);
    json_arr_end(j);
    json_arr_begin(j, "vf_sizes");
    for (int i = 0; i < s->n_vf; i++) json_int(j, NULL, s->vf_sizes[i]);
    json_arr_end(j);
    json_str(j, "activation", s->relu ? "relu" : "tanh");
    json_obj_begin(j, "action");
    json_str(j, "kind", pspec_kind_name(s->kind));
    json_int(j, "size", s->size);
    if (s->kind == PSPEC_BOX) {
        json_num_array(j, "low", s->low, (size_t)s->size);
        json_num_array(j, "high", s->high, (size_t)s->size);
    }
    if (s->kind == PSPEC_MULTI_DISCRETE) {
        json_arr_begin(j, "nvec");
        for (int i = 0; i < s->size; i++) json_int(j, NULL, s->nvec[i]);
        json_arr_end(j);
    }
    json_str(j, "mask", s->mask);
    json_obj_end(j);
    json_bool(j, "normalize_obs", s->normalize_obs);
    json_num(j, "clip_obs", s->clip_obs);
    json_num(j, "obs_eps", s->obs_eps);
    json_obj_end(j);
}

static void tensor(PspecTensor *t, const char *agent, const char *what, size_t d0, size_t d1,
                   int ndim, int is_weight) {
    snprintf(t->name, sizeof t->name, "%s.%s", agent, what);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->is_weight = is_weight;
}

int pspec_tensors(const Pspec *s, PspecTensor *out) {
    int k = 0;
    char what[64];
    for (int net = 0; net < 2; net++) {
        const int *sz = net ? s->vf_sizes : s->pi_sizes;
        int n = net ? s->n_vf : s->n_pi;
        for (int l = 0; l + 1 < n; l++) {
            snprintf(what, sizeof what, "%s.%d.weight", net ? "vf" : "pi", l);
            tensor(&out[k++], s->name, what, (size_t)sz[l + 1], (size_t)sz[l], 2, 1);
            snprintf(what, sizeof what, "%s.%d.bias", net ? "vf" : "pi", l);
            tensor(&out[k++], s->name, what, (size_t)sz[l + 1], 0, 1, 1);
        }
    }
    if (s->kind == PSPEC_BOX) tensor(&out[k++], s->name, "log_std", (size_t)s->size, 0, 1, 1);
    if (s->normalize_obs) {
        tensor(&out[k++], s->name, "obs_mean", (size_t)s->obs_dim, 0, 1, 0);
        tensor(&out[k++], s->name, "obs_var", (size_t)s->obs_dim, 0, 1, 0);
    }
    return k;
}
