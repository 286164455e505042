/* pspec.c: parsing, checking and writing an agent's description (see pspec.h): its
 * networks, its observations and how its output becomes the action played. */
#include "io/pspec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A string member of at most cap - 1 bytes into out: 0, or -1 when not a string or too
 * long, or when required and absent or empty. */
static int str_member(const JVal *obj, const char *key, char *out, size_t cap, int required) {
    const char *str = NULL;
    int r = jv_get_str(obj, key, &str);
    if (r == 0 && !required) return 0;
    if (r != 1 || (required && !str[0]) || strlen(str) >= cap) return -1;
    memcpy(out, str, strlen(str) + 1);
    return 0;
}

static int parse_obs(Pspec *s, const JVal *arr, const char *where, char *err, size_t errlen) {
    if (arr->kind != JV_ARR || arr->n != (size_t)s->obs_dim)
        return sb_err(err, errlen, "%s: observations: expected a list of %d objects, one per observation", where,
                      s->obs_dim);
    s->obs_desc = sb_calloc((size_t)s->obs_dim, sizeof *s->obs_desc);
    for (size_t i = 0; i < arr->n; i++) {
        const JVal *o = &arr->items[i];
        PspecObs *d = &s->obs_desc[i];
        if (o->kind != JV_OBJ) return sb_err(err, errlen, "%s: observations[%zu]: not an object", where, i);
        if (str_member(o, "name", d->name, sizeof d->name, 1))
            return sb_err(err, errlen, "%s: observations[%zu].name: expected a string of 1..%d bytes", where, i,
                          PSPEC_NAME - 1);
        if (str_member(o, "unit", d->unit, sizeof d->unit, 0))
            return sb_err(err, errlen, "%s: observations[%zu].unit: expected a string of at most %d bytes", where, i,
                          PSPEC_UNIT - 1);
        if (str_member(o, "formula", d->formula, sizeof d->formula, 1))
            return sb_err(err, errlen, "%s: observations[%zu].formula: expected a string of 1..%d bytes", where, i,
                          PSPEC_TEXT - 1);
        const JVal *c = jv_get(o, "constants");
        if (!c) continue;
        if (c->kind != JV_OBJ || c->n > PSPEC_MAX_CONST)
            return sb_err(err, errlen, "%s: observations[%zu].constants: expected an object of at most %d numbers",
                          where, i, PSPEC_MAX_CONST);
        for (size_t k = 0; k < c->n; k++) {
            size_t kl = strlen(c->keys[k]);
            if (kl == 0 || kl >= PSPEC_NAME || c->items[k].kind != JV_NUM || !isfinite(c->items[k].num))
                return sb_err(err, errlen, "%s: observations[%zu].constants: entry %zu is not a named finite number",
                              where, i, k);
            memcpy(d->c[k].name, c->keys[k], kl + 1);
            d->c[k].value = c->items[k].num;
        }
        d->n_const = (int)c->n;
    }
    return 0;
}

/* The number of played entries each kind yields. */
static int play_size(const Pspec *s, PspecPlayKind kind) {
    return kind == PSPEC_PLAY_RAW ? pspec_action_dim(s) : kind == PSPEC_PLAY_AFFINE ? s->size : 1;
}

static int parse_play(Pspec *s, const JVal *pl, const char *where, char *err, size_t errlen) {
    PspecPlay *p = &s->play;
    const char *str = NULL;
    if (pl->kind != JV_OBJ) return sb_err(err, errlen, "%s: play: not an object", where);
    if (jv_get_str(pl, "kind", &str) != 1) return sb_err(err, errlen, "%s: play.kind: missing", where);
    if (!strcmp(str, "raw")) p->kind = PSPEC_PLAY_RAW;
    else if (!strcmp(str, "table")) p->kind = PSPEC_PLAY_TABLE;
    else if (!strcmp(str, "levels")) p->kind = PSPEC_PLAY_LEVELS;
    else if (!strcmp(str, "affine")) p->kind = PSPEC_PLAY_AFFINE;
    else return sb_err(err, errlen, "%s: play.kind: not raw, table, levels or affine", where);
    int discrete_only = p->kind == PSPEC_PLAY_TABLE || p->kind == PSPEC_PLAY_LEVELS;
    if ((discrete_only && s->kind != PSPEC_DISCRETE) || (p->kind == PSPEC_PLAY_AFFINE && s->kind != PSPEC_BOX))
        return sb_err(err, errlen, "%s: play.kind: %s does not apply to a %s action", where, str,
                      pspec_kind_name(s->kind));
    int r = jv_get_str(pl, "rule", &str);
    p->rule = PSPEC_RULE_DETERMINISTIC;
    if (r == 1 && !strcmp(str, "expected") && p->kind == PSPEC_PLAY_LEVELS) p->rule = PSPEC_RULE_EXPECTED;
    else if (r == 1 && !strcmp(str, "sample")) p->rule = PSPEC_RULE_SAMPLE;
    else if (r != 0 && !(r == 1 && !strcmp(str, "deterministic")))
        return sb_err(err, errlen, "%s: play.rule: expected deterministic, sample or (levels) expected", where);
    p->n = play_size(s, p->kind);
    if (p->n > PSPEC_MAX_BOX) return sb_err(err, errlen, "%s: play: more than %d played entries", where, PSPEC_MAX_BOX);
    const JVal *names = jv_get(pl, "names"), *units = jv_get(pl, "units");
    if (!names || !units || names->kind != JV_ARR || units->kind != JV_ARR || names->n != (size_t)p->n ||
        units->n != (size_t)p->n)
        return sb_err(err, errlen, "%s: play.names/units: expected %d strings each", where, p->n);
    for (int k = 0; k < p->n; k++) {
        const JVal *a = &names->items[k], *b = &units->items[k];
        if (a->kind != JV_STR || b->kind != JV_STR || !a->str[0] || strlen(a->str) >= PSPEC_NAME ||
            strlen(b->str) >= PSPEC_UNIT)
            return sb_err(err, errlen, "%s: play.names/units[%d]: expected a name of 1..%d and a unit of 0..%d bytes",
                          where, k, PSPEC_NAME - 1, PSPEC_UNIT - 1);
        snprintf(p->names[k], sizeof p->names[k], "%s", a->str);
        snprintf(p->units[k], sizeof p->units[k], "%s", b->str);
    }
    if (jv_get(pl, "note") && str_member(pl, "note", p->note, sizeof p->note, 1))
        return sb_err(err, errlen, "%s: play.note: expected a string of 1..%d bytes", where, PSPEC_TEXT - 1);
    if (p->kind == PSPEC_PLAY_TABLE &&
        (s->size > PSPEC_MAX_BOX || num_list(jv_get(pl, "values"), p->values, s->size)))
        return sb_err(err, errlen, "%s: play.values: expected %d finite numbers (at most %d)", where, s->size,
                      PSPEC_MAX_BOX);
    if (p->kind == PSPEC_PLAY_LEVELS) {
        double lv[2];
        if (s->size < 2 || num_list(jv_get(pl, "levels"), lv, 2) || !(lv[0] < lv[1]))
            return sb_err(err, errlen, "%s: play.levels: expected [lo, hi] with lo < hi and at least 2 choices", where);
        p->level_lo = lv[0];
        p->level_hi = lv[1];
    }
    if (p->kind == PSPEC_PLAY_AFFINE) {
        if (jv_get_str(pl, "squash", &str) != 1 || (strcmp(str, "tanh") && strcmp(str, "clip")))
            return sb_err(err, errlen, "%s: play.squash: expected \"tanh\" or \"clip\"", where);
        p->tanh = !strcmp(str, "tanh");
        if (num_list(jv_get(pl, "low"), p->low, p->n) || num_list(jv_get(pl, "high"), p->high, p->n))
            return sb_err(err, errlen, "%s: play.low/high: expected %d finite numbers each", where, p->n);
        for (int k = 0; k < p->n; k++)
            if (p->low[k] > p->high[k]) return sb_err(err, errlen, "%s: play: low[%d] > high[%d]", where, k, k);
        const JVal *sell = jv_get(pl, "sell");
        if (sell) {
            if (sell->kind != JV_OBJ || jv_get_str(sell, "rule", &str) != 1 || (strcmp(str, "clip") && strcmp(str, "swap")) ||
                as_int(jv_get(sell, "buy"), 0, p->n - 1, &p->buy) || as_int(jv_get(sell, "sell"), 0, p->n - 1, &p->sell_idx) ||
                p->buy == p->sell_idx)
                return sb_err(err, errlen, "%s: play.sell: expected {\"rule\": clip or swap, \"buy\": i, \"sell\": j}, "
                              "i != j < %d", where, p->n);
            p->sell = !strcmp(str, "swap") ? PSPEC_SELL_SWAP : PSPEC_SELL_CLIP;
        }
        const JVal *d = jv_get(pl, "derived");
        if (d) {
            if (d->kind != JV_OBJ || as_int(jv_get(d, "index"), 0, p->n - 1, &p->derived) ||
                jv_get_num(d, "constant", &p->d_const) != 1 || jv_get_num(d, "divisor", &p->d_div) != 1 ||
                jv_get_num(d, "low", &p->d_low) != 1 || jv_get_num(d, "high", &p->d_high) != 1 ||
                !isfinite(p->d_const) || !isfinite(p->d_div) || p->d_div == 0 || !isfinite(p->d_low) ||
                !isfinite(p->d_high) || p->d_low > p->d_high || num_list(jv_get(d, "coef"), p->d_coef, p->n))
                return sb_err(err, errlen, "%s: play.derived: expected index < %d, finite constant, divisor != 0, "
                              "low <= high and %d coef", where, p->n, p->n);
            if (jv_get(d, "note") && str_member(d, "note", p->d_note, sizeof p->d_note, 1))
                return sb_err(err, errlen, "%s: play.derived.note: expected a string of 1..%d bytes", where,
                              PSPEC_TEXT - 1);
            p->has_derived = 1;
        }
    }
    const JVal *soc = jv_get(pl, "soc_range");
    if (soc) {
        int fits = p->kind == PSPEC_PLAY_LEVELS || (p->kind == PSPEC_PLAY_RAW && s->kind == PSPEC_BOX && s->size == 1);
        if (!fits) return sb_err(err, errlen, "%s: play.soc_range: applies to levels or a raw box of one entry", where);
        if (soc->kind != JV_OBJ || as_int(jv_get(soc, "obs"), 0, s->obs_dim - 1, &p->soc_obs) ||
            jv_get_num(soc, "tol", &p->soc_tol) != 1 || !(p->soc_tol >= 0 && p->soc_tol < 1))
            return sb_err(err, errlen, "%s: play.soc_range: expected {\"obs\": j < %d, \"tol\": in [0, 1)}", where,
                          s->obs_dim);
        p->soc_range = 1;
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
    const JVal *v = jv_get(obj, "observations");
    if (v && parse_obs(s, v, where, err, errlen)) return -1;
    v = jv_get(obj, "obs_normalization");
    const JVal *nm = v ? jv_get(v, "mean") : NULL, *nv = v ? jv_get(v, "var") : NULL;
    if (s->normalize_obs && (nm || nv)) {
        s->norm_mean = sb_malloc((size_t)s->obs_dim * sizeof *s->norm_mean);
        s->norm_var = sb_malloc((size_t)s->obs_dim * sizeof *s->norm_var);
        if (num_list(nm, s->norm_mean, s->obs_dim) || num_list(nv, s->norm_var, s->obs_dim))
            return sb_err(err, errlen, "%s: obs_normalization.mean/var: expected %d finite numbers each", where,
                          s->obs_dim);
        for (int i = 0; i < s->obs_dim; i++)
            if (s->norm_var[i] < 0) return sb_err(err, errlen, "%s: obs_normalization.var[%d] < 0", where, i);
    }
    v = jv_get(obj, "play");
    if (v && parse_play(s, v, where, err, errlen)) return -1;
    return 0;
}

const char *pspec_rule_name(PspecRule r) {
    return r == PSPEC_RULE_EXPECTED ? "expected" : r == PSPEC_RULE_SAMPLE ? "sample" : "deterministic";
}

static void emit_obs(Json *j, const Pspec *s) {
    json_arr_begin_block(j, "observations");
    for (int i = 0; i < s->obs_dim; i++) {
        const PspecObs *o = &s->obs_desc[i];
        SB_ASSERT(o->name[0]); /* a describer filled every entry */
        json_obj_begin(j, NULL);
        json_str(j, "name", o->name);
        json_str(j, "unit", o->unit);
        json_str(j, "formula", o->formula);
        json_obj_begin(j, "constants");
        for (int k = 0; k < o->n_const; k++) json_num(j, o->c[k].name, o->c[k].value);
        json_obj_end(j);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* The play map in words and symbols (written for people; parse ignores it). */
static void play_formula(const Pspec *s, char *t, size_t cap) {
    const PspecPlay *p = &s->play;
    const char *x = s->kind == PSPEC_BOX ? "x = the Gaussian mean clipped to action.low/high"
                                         : "x = the index of the most probable valid choice";
    size_t k = 0;
#define ADD(...) (k += (size_t)snprintf(t + k, k < cap ? cap - k : 0, __VA_ARGS__), k = k < cap ? k : cap)
    switch (p->kind) {
    case PSPEC_PLAY_RAW: ADD("x; %s", x); break;
    case PSPEC_PLAY_TABLE: ADD("values[x]; %s", x); break;
    case PSPEC_PLAY_LEVELS:
        ADD("a_i = %.10g + %.10g * i / (K - 1), K = %d; ", p->level_lo, p->level_hi - p->level_lo, s->size);
        if (p->rule == PSPEC_RULE_DETERMINISTIC) ADD("played a_x, x the most probable valid level");
        else ADD("played sum_i p_i a_i / sum_i p_i over the valid levels, p = softmax of the policy's logits "
                 "over the valid levels");
        break;
    case PSPEC_PLAY_AFFINE:
        ADD("v_k = low_k + (%s + 1) / 2 * (high_k - low_k), x = the policy's Gaussian mean",
            p->tanh ? "tanh(x_k)" : "clip(x_k, -1, 1)");
        if (p->sell == PSPEC_SELL_CLIP) ADD("; then if v_%d > v_%d: v_%d = v_%d", p->sell_idx, p->buy, p->sell_idx, p->buy);
        if (p->sell == PSPEC_SELL_SWAP) ADD("; then if v_%d > v_%d: swap them", p->sell_idx, p->buy);
        if (p->has_derived) ADD("; then v_%d as \"derived\" says", p->derived);
        break;
    default: break;
    }
    if (p->soc_range)
        ADD("; soc = obs[%d]: level a is valid when -soc - tol <= a <= 1 - soc + tol (tol = soc_range.tol), and the "
            "played value is clipped to [-soc, 1 - soc]", p->soc_obs);
    if (p->rule == PSPEC_RULE_SAMPLE) ADD("; the environment draws its action at random (this is its deterministic counterpart)");
#undef ADD
}

static void emit_play(Json *j, const Pspec *s) {
    const PspecPlay *p = &s->play;
    static const char *const kinds[] = {"none", "raw", "table", "levels", "affine"};
    char t[2 * PSPEC_TEXT];
    json_obj_begin(j, "play");
    json_str(j, "kind", kinds[p->kind]);
    json_str(j, "rule", pspec_rule_name(p->rule));
    json_arr_begin(j, "names");
    for (int k = 0; k < p->n; k++) json_str(j, NULL, p->names[k]);
    json_arr_end(j);
    json_arr_begin(j, "units");
    for (int k = 0; k < p->n; k++) json_str(j, NULL, p->units[k]);
    json_arr_end(j);
    play_formula(s, t, sizeof t);
    json_str(j, "formula", t);
    if (p->kind == PSPEC_PLAY_TABLE) json_num_array(j, "values", p->values, (size_t)s->size);
    if (p->kind == PSPEC_PLAY_LEVELS) {
        double lv[2] = {p->level_lo, p->level_hi};
        json_num_array(j, "levels", lv, 2);
    }
    if (p->kind == PSPEC_PLAY_AFFINE) {
        json_str(j, "squash", p->tanh ? "tanh" : "clip");
        json_num_array(j, "low", p->low, (size_t)p->n);
        json_num_array(j, "high", p->high, (size_t)p->n);
        if (p->sell != PSPEC_SELL_NONE) {
            json_obj_begin(j, "sell");
            json_str(j, "rule", p->sell == PSPEC_SELL_SWAP ? "swap" : "clip");
            json_int(j, "buy", p->buy);
            json_int(j, "sell", p->sell_idx);
            json_obj_end(j);
        }
        if (p->has_derived) {
            json_obj_begin(j, "derived");
            json_int(j, "index", p->derived);
            json_str(j, "formula", "v_index = clip((constant + sum_k coef_k v_k) / divisor, low, high), v after the sell rule");
            json_num(j, "constant", p->d_const);
            json_num_array(j, "coef", p->d_coef, (size_t)p->n);
            json_num(j, "divisor", p->d_div);
            json_num(j, "low", p->d_low);
            json_num(j, "high", p->d_high);
            if (p->d_note[0]) json_str(j, "note", p->d_note);
            json_obj_end(j);
        }
    }
    if (p->soc_range) {
        json_obj_begin(j, "soc_range");
        json_int(j, "obs", p->soc_obs);
        json_num(j, "tol", p->soc_tol);
        json_obj_end(j);
    }
    if (p->note[0]) json_str(j, "note", p->note);
    json_obj_end(j);
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
    if (s->normalize_obs) { /* spelled out for readers; parse takes the fields above */
        char t[PSPEC_TEXT];
        json_obj_begin(j, "obs_normalization");
        snprintf(t, sizeof t, "clip((obs - mean) / sqrt(var + %.10g), -%.10g, %.10g) after the formulas of "
                 "\"observations\" (VecNormalize's running statistics, frozen)", s->obs_eps, s->clip_obs, s->clip_obs);
        json_str(j, "formula", t);
        json_arr_begin(j, "members");
        snprintf(t, sizeof t, "%s.obs_mean", s->name);
        json_str(j, NULL, t);
        snprintf(t, sizeof t, "%s.obs_var", s->name);
        json_str(j, NULL, t);
        json_arr_end(j);
        if (s->norm_mean && s->norm_var) {
            json_num_array(j, "mean", s->norm_mean, (size_t)s->obs_dim);
            json_num_array(j, "var", s->norm_var, (size_t)s->obs_dim);
        }
        json_obj_end(j);
    }
    if (s->obs_desc) emit_obs(j, s);
    if (s->play.kind != PSPEC_PLAY_NONE) emit_play(j, s);
    json_obj_end(j);
}

void pspec_free(Pspec *s) {
    free(s->obs_desc);
    free(s->norm_mean);
    free(s->norm_var);
    s->obs_desc = NULL;
    s->norm_mean = s->norm_var = NULL;
}

void pspec_set_norm(Pspec *s, const double *mean, const double *var) {
    if (!s->norm_mean) s->norm_mean = sb_malloc((size_t)s->obs_dim * sizeof *s->norm_mean);
    if (!s->norm_var) s->norm_var = sb_malloc((size_t)s->obs_dim * sizeof *s->norm_var);
    memcpy(s->norm_mean, mean, (size_t)s->obs_dim * sizeof *mean);
    memcpy(s->norm_var, var, (size_t)s->obs_dim * sizeof *var);
}

PspecObs *pspec_describe_obs(Pspec *s, int i, const char *name, const char *unit, const char *formula) {
    SB_ASSERT(i >= 0 && i < s->obs_dim);
    if (!s->obs_desc) s->obs_desc = sb_calloc((size_t)s->obs_dim, sizeof *s->obs_desc);
    PspecObs *o = &s->obs_desc[i];
    SB_ASSERT(strlen(name) > 0 && strlen(name) < sizeof o->name && strlen(unit) < sizeof o->unit &&
              strlen(formula) > 0 && strlen(formula) < sizeof o->formula);
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->unit, sizeof o->unit, "%s", unit);
    snprintf(o->formula, sizeof o->formula, "%s", formula);
    o->n_const = 0;
    return o;
}

void pspec_obs_const(PspecObs *o, const char *name, double value) {
    SB_ASSERT(o->n_const < PSPEC_MAX_CONST && strlen(name) > 0 && strlen(name) < PSPEC_NAME && isfinite(value));
    snprintf(o->c[o->n_const].name, PSPEC_NAME, "%s", name);
    o->c[o->n_const++].value = value;
}

void pspec_play_entry(PspecPlay *p, int k, const char *name, const char *unit) {
    SB_ASSERT(k >= 0 && k < PSPEC_MAX_BOX && strlen(name) > 0 && strlen(name) < PSPEC_NAME &&
              strlen(unit) < PSPEC_UNIT);
    snprintf(p->names[k], PSPEC_NAME, "%s", name);
    snprintf(p->units[k], PSPEC_UNIT, "%s", unit);
    if (p->n < k + 1) p->n = k + 1;
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
