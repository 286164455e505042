/* sweep_config.c: sweep files (sweep_config.h). */
#define _DEFAULT_SOURCE /* realpath */
#include "config/sweep_config.h"

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/yamltree.h"
#include "util/common.h"
#include "util/fsutil.h"

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)k + 64;
        b->s = sb_realloc(b->s, b->cap);
        if (b->len == 0) b->s[0] = 0;
    }
}

/* A node as YAML flow text, so `--set KEY=TEXT` parses back to the same value. Quoted scalars
 * stay strings (double-quoted, escaped); plain ones are written as they were. */
static void flow(Buf *b, const YtNode *x) {
    if (x->kind == YT_SCALAR) {
        if (!x->quoted) {
            buf_add(b, "%s", x->str);
            return;
        }
        buf_add(b, "\"");
        for (const char *c = x->str; *c; c++) {
            if (*c == '"' || *c == '\\') buf_add(b, "\\%c", *c);
            else if (*c == '\n') buf_add(b, "\\n");
            else buf_add(b, "%c", *c);
        }
        buf_add(b, "\"");
        return;
    }
    buf_add(b, "%c", x->kind == YT_SEQ ? '[' : '{');
    for (size_t i = 0; i < x->n; i++) {
        if (i) buf_add(b, ", ");
        if (x->kind == YT_MAP) buf_add(b, "%s: ", x->keys[i]);
        flow(b, x->items[i]);
    }
    buf_add(b, "%c", x->kind == YT_SEQ ? ']' : '}');
}

static char *assignment(const char *key, const YtNode *value) {
    Buf b = {0};
    buf_add(&b, "%s=", key);
    flow(&b, value);
    return b.s;
}

static CfgPos key_pos(const YtNode *map, size_t i) { return (CfgPos){map->key_line[i], map->key_col[i]}; }

void sweep_config_where(const SweepConfig *s, CfgPos pos, char *out, size_t cap) {
    if (pos.line > 0) snprintf(out, cap, "%s:%d:%d: ", s->source, pos.line, pos.col);
    else snprintf(out, cap, "%s: ", s->source);
}

void sweep_config_free(SweepConfig *s) {
    free(s->text);
    free(s->base_text);
    for (int i = 0; i < s->n_sets; i++) free(s->sets[i]);
    free(s->sets);
    free(s->set_pos);
    for (int a = 0; a < s->n_axes; a++) {
        SweepAxis *x = &s->axes[a];
        free(x->key);
        for (int i = 0; i < x->n; i++) free(x->values[i]);
        free(x->values);
        free(x->value_pos);
    }
    free(s->axes);
    memset(s, 0, sizeof *s);
}

static int read_doc(SweepConfig *s, const YtDoc *d, char *err, size_t n) {
    const YtNode *base = yt_find(d, NULL, "base");
    /* set and axes are walked here, and their keys marked as read (the tree is ours). */
    YtNode *set = (YtNode *)yt_find(d, NULL, "set"), *axes = (YtNode *)yt_find(d, NULL, "axes");
    if (!base) return yt_error_at(d, d->root, "base", err, n, "missing: the config every variant starts from");
    if (base->kind != YT_SCALAR) return yt_error_at(d, base, "base", err, n, "expected a file name");
    s->base_pos = (CfgPos){base->line, base->col};
    if (base->str[0] == '/') {
        snprintf(s->base_path, sizeof s->base_path, "%s", base->str);
    } else {
        char *tmp = sb_strdup(s->source);
        const char *dir = dirname(tmp);
        if (!strcmp(dir, ".")) snprintf(s->base_path, sizeof s->base_path, "%s", base->str);
        else path_join(s->base_path, sizeof s->base_path, dir, base->str);
        free(tmp);
    }
    if (set) {
        if (set->kind != YT_MAP) return yt_error_at(d, set, "set", err, n, "expected a map of config keys to values");
        s->sets = sb_calloc(set->n + 1, sizeof *s->sets);
        s->set_pos = sb_calloc(set->n + 1, sizeof *s->set_pos);
        for (size_t i = 0; i < set->n; i++) {
            set->used[i] = 1; /* read here, not by a getter: yt_check_unused must not flag it */
            s->sets[i] = assignment(set->keys[i], set->items[i]);
            s->set_pos[i] = key_pos(set, i);
            s->n_sets++;
        }
    }
    if (!axes)
        return yt_error_at(d, d->root, "axes", err, n, "missing: a map of config keys to lists of values");
    if (axes->kind != YT_MAP || axes->n == 0)
        return yt_error_at(d, axes, "axes", err, n, "expected a map of config keys to lists of values");
    for (size_t i = 0; i < d->root->n; i++) /* where `axes:` is written (the key, not its map) */
        if (!strcmp(d->root->keys[i], "axes")) s->axes_pos = key_pos(d->root, i);
    s->axes = sb_calloc(axes->n, sizeof *s->axes);
    s->n_variants = 1;
    for (size_t a = 0; a < axes->n; a++) {
        SweepAxis *x = &s->axes[a];
        const YtNode *v = axes->items[a];
        axes->used[a] = 1;
        x->key = sb_strdup(axes->keys[a]);
        x->key_pos = key_pos(axes, a);
        s->n_axes++;
        char key[512];
        snprintf(key, sizeof key, "axes.%s", x->key);
        if (v->kind != YT_SEQ)
            return yt_error_at(d, v, key, err, n, "expected a list of values, e.g. [0, 10]");
        if (v->n == 0) return yt_error_at(d, v, key, err, n, "empty: give at least one value");
        if (s->n_variants * (long)v->n > 100000)
            return yt_error_at(d, v, key, err, n, "more than 100000 variants");
        x->values = sb_calloc(v->n, sizeof *x->values);
        x->value_pos = sb_calloc(v->n, sizeof *x->value_pos);
        for (size_t i = 0; i < v->n; i++) {
            Buf b = {0};
            flow(&b, v->items[i]);
            x->values[i] = b.s;
            x->value_pos[i] = (CfgPos){v->items[i]->line, v->items[i]->col};
            x->n++;
        }
        s->n_variants *= x->n;
    }
    return 0;
}

int sweep_config_load(SweepConfig *s, const char *path, char *err, size_t n) {
    memset(s, 0, sizeof *s);
    snprintf(s->source, sizeof s->source, "%s", path);
    unsigned char *text;
    size_t len;
    if (read_file(path, &text, &len, err, n)) return -1;
    s->text = (char *)text;
    if (strlen(s->text) != len) return sb_err(err, n, "%s: contains a NUL byte; not a YAML text file", path);
    YtDoc d;
    if (yt_load_string(&d, path, s->text, err, n)) return -1;
    int rc = read_doc(s, &d, err, n);
    if (!rc) rc = yt_check_unused(&d, NULL, err, n);
    yt_free(&d);
    if (rc) return -1;
    char where[GAME_PATH_MAX + 64], e[1024];
    if (read_file(s->base_path, &text, &len, e, sizeof e)) {
        sweep_config_where(s, s->base_pos, where, sizeof where);
        return sb_err(err, n, "%sbase: %s", where, e);
    }
    s->base_text = (char *)text;
    /* Variants are built, and recorded, with the base's absolute path: its own relative paths
     * (the grid) resolve the same from any working directory. */
    char abs[GAME_PATH_MAX];
    if (realpath(s->base_path, abs)) snprintf(s->base_path, sizeof s->base_path, "%s", abs);
    if (strlen(s->base_text) != len) {
        sweep_config_where(s, s->base_pos, where, sizeof where);
        return sb_err(err, n, "%sbase: %s contains a NUL byte; not a YAML text file", where, s->base_path);
    }
    return 0;
}

void sweep_variant_index(const SweepConfig *s, long v, int *idx) {
    for (int a = s->n_axes - 1; a >= 0; a--) {
        idx[a] = (int)(v % s->axes[a].n);
        v /= s->axes[a].n;
    }
}

char **sweep_variant_sets(const SweepConfig *s, long v) {
    char **sets = sb_calloc((size_t)(s->n_sets + s->n_axes) + 1, sizeof *sets);
    int *idx = sb_calloc((size_t)s->n_axes + 1, sizeof *idx);
    sweep_variant_index(s, v, idx);
    for (int i = 0; i < s->n_sets; i++) sets[i] = sb_strdup(s->sets[i]);
    for (int a = 0; a < s->n_axes; a++) {
        const SweepAxis *x = &s->axes[a];
        size_t len = strlen(x->key) + strlen(x->values[idx[a]]) + 2;
        sets[s->n_sets + a] = sb_malloc(len);
        snprintf(sets[s->n_sets + a], len, "%s=%s", x->key, x->values[idx[a]]);
    }
    free(idx);
    return sets;
}

void sweep_sets_free(char **sets) {
    for (char **p = sets; p && *p; p++) free(*p);
    free(sets);
}

/* Build a config from the base text and the given overrides. */
static int build(const SweepConfig *s, const char *const *sets, int n_sets, GameConfig *cfg, char *err, size_t n) {
    YtDoc doc;
    game_config_default(cfg);
    if (yt_load_string(&doc, s->base_path, s->base_text, err, n)) return -1;
    int rc = 0;
    for (int i = 0; i < n_sets && !rc; i++) rc = yt_set(&doc, sets[i], err, n);
    if (!rc) rc = game_config_from_yaml(&doc, cfg, err, n);
    yt_free(&doc);
    return rc;
}

static int try_build(const SweepConfig *s, const char *const *sets, int n_sets, char *err, size_t n) {
    GameConfig cfg;
    int rc = build(s, sets, n_sets, &cfg, err, n);
    game_config_free(&cfg);
    return rc;
}

int sweep_variant_config(const SweepConfig *s, long v, GameConfig *cfg, char *err, size_t n) {
    char **sets = sweep_variant_sets(s, v);
    int rc = build(s, (const char *const *)sets, s->n_sets + s->n_axes, cfg, err, n);
    sweep_sets_free(sets);
    return rc;
}

int sweep_config_check(const SweepConfig *s, char *err, size_t n) {
    char e[2048], where[GAME_PATH_MAX + 64];
    const int S = s->n_sets;
    const char **sets = sb_calloc((size_t)(S + s->n_axes) + 1, sizeof *sets);
    for (int i = 0; i < S; i++) sets[i] = s->sets[i];
    int rc = 0;
    /* The base alone: its own file:line:col. */
    if (try_build(s, sets, 0, err, n)) {
        rc = -1;
        goto done;
    }
    /* The common overrides, one more at a time: the first refused is reported where it is. */
    for (int i = 1; i <= S && !rc; i++)
        if (try_build(s, sets, i, e, sizeof e)) {
            sweep_config_where(s, s->set_pos[i - 1], where, sizeof where);
            rc = sb_err(err, n, "%sset: %s: %s", where, s->sets[i - 1], e);
        }
    /* Each axis value on its own. */
    for (int a = 0; a < s->n_axes && !rc; a++) {
        const SweepAxis *x = &s->axes[a];
        int bad = 0, first = -1;
        char first_err[2048] = "";
        for (int i = 0; i < x->n; i++) {
            size_t len = strlen(x->key) + strlen(x->values[i]) + 2;
            char *as = sb_malloc(len);
            snprintf(as, len, "%s=%s", x->key, x->values[i]);
            sets[S] = as;
            if (try_build(s, sets, S + 1, e, sizeof e)) {
                bad++;
                if (first < 0) first = i, snprintf(first_err, sizeof first_err, "%s", e);
            }
            free(as);
        }
        if (bad == x->n) {
            sweep_config_where(s, x->key_pos, where, sizeof where);
            rc = sb_err(err, n, "%saxes.%s: every value is refused (an unknown key?): %s=%s: %s", where, x->key,
                        x->key, x->values[0], first_err);
        } else if (bad) {
            sweep_config_where(s, x->value_pos[first], where, sizeof where);
            rc = sb_err(err, n, "%saxes.%s: %s is refused: %s", where, x->key, x->values[first], first_err);
        }
    }
    /* Every combination (cross-key checks). */
    for (long v = 0; v < s->n_variants && !rc; v++) {
        GameConfig cfg;
        if (sweep_variant_config(s, v, &cfg, e, sizeof e)) {
            int *idx = sb_calloc((size_t)s->n_axes, sizeof *idx);
            sweep_variant_index(s, v, idx);
            Buf b = {0};
            for (int a = 0; a < s->n_axes; a++) buf_add(&b, "%s%s=%s", a ? ", " : "", s->axes[a].key, s->axes[a].values[idx[a]]);
            sweep_config_where(s, s->axes_pos, where, sizeof where);
            rc = sb_err(err, n, "%saxes: variant %ld (%s) is refused: %s", where, v, b.s, e);
            free(b.s);
            free(idx);
        }
        game_config_free(&cfg);
    }
done:
    free(sets);
    return rc;
}
