/* yamltree.c: libyaml events -> YtNode tree, and the typed getters. */
#include "config/yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "util/common.h"

static YtNode *node_new(YtKind kind, const yaml_mark_t *mark) {
    YtNode *x = sb_calloc(1, sizeof *x);
    x->kind = kind;
    x->line = (int)mark->line + 1;
    x->col = (int)mark->column + 1;
    return x;
}

static void node_free(YtNode *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n; i++) {
        node_free(x->items[i]);
        if (x->keys) free(x->keys[i]);
    }
    free(x->items);
    free(x->keys);
    free(x->key_line);
    free(x->key_col);
    free(x->used);
    free(x->str);
    free(x);
}

/* Keys looked up and absent, as (map, dotted path below it): what the readers know, for
 * "did you mean". Lookups inside sequences are list items, not config keys, and not kept. */
struct YtAsked {
    const YtNode **map;  /* (n) */
    char **path;         /* (n) */
    size_t n, cap;
};
#define YT_ASKED_MAX 4096

static void asked_add(YtAsked *a, const YtNode *m, const char *path) {
    if (!a || m->in_seq || a->n == YT_ASKED_MAX) return;
    for (size_t i = 0; i < a->n; i++)
        if (a->map[i] == m && !strcmp(a->path[i], path)) return;
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->map = sb_realloc(a->map, a->cap * sizeof *a->map);
        a->path = sb_realloc(a->path, a->cap * sizeof *a->path);
    }
    a->map[a->n] = m;
    a->path[a->n++] = sb_strdup(path);
}

static void asked_free(YtAsked *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) free(a->path[i]);
    free(a->map);
    free(a->path);
    free(a);
}

static void seq_push(YtNode *s, YtNode *item) {
    s->items = sb_realloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = item;
}

static void map_push(YtNode *m, char *key, int kl, int kc, YtNode *val) {
    size_t k = m->n + 1;
    m->items = sb_realloc(m->items, k * sizeof *m->items);
    m->keys = sb_realloc(m->keys, k * sizeof *m->keys);
    m->key_line = sb_realloc(m->key_line, k * sizeof *m->key_line);
    m->key_col = sb_realloc(m->key_col, k * sizeof *m->key_col);
    m->used = sb_realloc(m->used, k);
    m->items[m->n] = val;
    m->keys[m->n] = key;
    m->key_line[m->n] = kl;
    m->key_col[m->n] = kc;
    m->used[m->n] = 0;
    m->n = k;
}

/* Recursive descent over the event stream: one call builds one node at nesting `depth`
 * (the root is 1); `in_seq` marks nodes inside a sequence. */
static int parse_node(yaml_parser_t *p, yaml_event_t *ev, YtNode **out, const char *name, int depth, int in_seq,
                      char *err, size_t n);

static int next_event(yaml_parser_t *p, yaml_event_t *ev, const char *name, char *err, size_t n) {
    if (!yaml_parser_parse(p, ev))
        return sb_err(err, n, "%s:%zu:%zu: %s", name, p->problem_mark.line + 1,
                      p->problem_mark.column + 1, p->problem ? p->problem : "YAML syntax error");
    return 0;
}

static int parse_node(yaml_parser_t *p, yaml_event_t *ev, YtNode **out, const char *name, int depth, int in_seq,
                      char *err, size_t n) {
    /* `ev` holds the node's first event; it is consumed here. */
    *out = NULL;
    if (depth > YT_MAX_DEPTH && (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT)) {
        sb_err(err, n, "%s:%zu:%zu: lists and maps nested deeper than %d levels", name, ev->start_mark.line + 1,
               ev->start_mark.column + 1, YT_MAX_DEPTH);
        yaml_event_delete(ev);
        return -1;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        YtNode *x = node_new(YT_SCALAR, &ev->start_mark);
        x->in_seq = in_seq;
        x->str = sb_strdup((const char *)ev->data.scalar.value);
        x->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        yaml_event_delete(ev);
        *out = x;
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT: {
        YtNode *x = node_new(YT_SEQ, &ev->start_mark);
        x->in_seq = in_seq;
        yaml_event_delete(ev);
        for (;;) {
            if (next_event(p, ev, name, err, n)) { node_free(x); return -1; }
            if (ev->type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(ev); break; }
            YtNode *item;
            if (parse_node(p, ev, &item, name, depth + 1, 1, err, n)) { node_free(x); return -1; }
            seq_push(x, item);
        }
        *out = x;
        return 0;
    }
    case YAML_MAPPING_START_EVENT: {
        YtNode *x = node_new(YT_MAP, &ev->start_mark);
        x->in_seq = in_seq;
        yaml_event_delete(ev);
        for (;;) {
            if (next_event(p, ev, name, err, n)) { node_free(x); return -1; }
            if (ev->type == YAML_MAPPING_END_EVENT) { yaml_event_delete(ev); break; }
            if (ev->type != YAML_SCALAR_EVENT) {
                sb_err(err, n, "%s:%zu:%zu: a key must be a plain word", name, ev->start_mark.line + 1,
                       ev->start_mark.column + 1);
                yaml_event_delete(ev);
                node_free(x);
                return -1;
            }
            char *key = sb_strdup((const char *)ev->data.scalar.value);
            int kl = (int)ev->start_mark.line + 1, kc = (int)ev->start_mark.column + 1;
            yaml_event_delete(ev);
            for (size_t i = 0; i < x->n; i++)
                if (!strcmp(x->keys[i], key)) {
                    sb_err(err, n, "%s:%d:%d: %s: duplicate key (first at line %d)", name, kl, kc, key,
                           x->key_line[i]);
                    free(key);
                    node_free(x);
                    return -1;
                }
            YtNode *val;
            if (next_event(p, ev, name, err, n) || parse_node(p, ev, &val, name, depth + 1, in_seq, err, n)) {
                free(key);
                node_free(x);
                return -1;
            }
            map_push(x, key, kl, kc, val);
        }
        *out = x;
        return 0;
    }
    case YAML_ALIAS_EVENT:
        sb_err(err, n, "%s:%zu:%zu: anchors and aliases are not supported; write the value out", name,
               ev->start_mark.line + 1, ev->start_mark.column + 1);
        yaml_event_delete(ev);
        return -1;
    default:
        sb_err(err, n, "%s:%zu:%zu: unexpected YAML event", name, ev->start_mark.line + 1,
               ev->start_mark.column + 1);
        yaml_event_delete(ev);
        return -1;
    }
}

static int load(YtDoc *doc, const char *name, yaml_parser_t *p, char *err, size_t n) {
    yaml_event_t ev;
    YtNode *root = NULL;
    int rc = -1;
    doc->file = sb_strdup(name);
    doc->root = NULL;
    doc->asked = sb_calloc(1, sizeof *doc->asked);
    if (next_event(p, &ev, name, err, n)) goto done; /* stream start */
    yaml_event_delete(&ev);
    if (next_event(p, &ev, name, err, n)) goto done;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        sb_err(err, n, "%s:1:1: the file is empty", name);
        goto done;
    }
    yaml_event_delete(&ev); /* document start */
    if (next_event(p, &ev, name, err, n) || parse_node(p, &ev, &root, name, 1, 0, err, n)) goto done;
    if (root->kind != YT_MAP) {
        sb_err(err, n, "%s:%d:%d: the top level must be a mapping of `key: value` lines", name,
               root->line, root->col);
        goto done;
    }
    if (next_event(p, &ev, name, err, n)) goto done; /* document end */
    yaml_event_delete(&ev);
    if (next_event(p, &ev, name, err, n)) goto done;
    if (ev.type != YAML_STREAM_END_EVENT) {
        sb_err(err, n, "%s:%zu:%zu: only one YAML document per file", name, ev.start_mark.line + 1,
               ev.start_mark.column + 1);
        yaml_event_delete(&ev);
        goto done;
    }
    yaml_event_delete(&ev);
    doc->root = root;
    root = NULL;
    rc = 0;
done:
    node_free(root);
    if (rc) yt_free(doc);
    return rc;
}

int yt_load_file(YtDoc *doc, const char *path, char *err, size_t n) {
    memset(doc, 0, sizeof *doc);
    FILE *f = fopen(path, "rb");
    if (!f) return sb_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) SB_PANIC("libyaml could not initialise");
    yaml_parser_set_input_file(&p, f);
    int rc = load(doc, path, &p, err, n);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

int yt_load_string(YtDoc *doc, const char *name, const char *text, char *err, size_t n) {
    memset(doc, 0, sizeof *doc);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) SB_PANIC("libyaml could not initialise");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    int rc = load(doc, name, &p, err, n);
    yaml_parser_delete(&p);
    return rc;
}

void yt_free(YtDoc *doc) {
    if (!doc) return;
    node_free(doc->root);
    free(doc->file);
    for (int i = 0; i < doc->n_sets; i++) free(doc->sets[i]);
    free(doc->sets);
    asked_free(doc->asked);
    memset(doc, 0, sizeof *doc);
}

/* ---- overrides ---- */

/* Levels of a subtree (1 for a scalar; bounded by the parse's limit). */
static int node_depth(const YtNode *x) {
    int d = 0;
    for (size_t i = 0; i < x->n; i++) {
        int c = node_depth(x->items[i]);
        if (c > d) d = c;
    }
    return d + 1;
}

/* Mark a subtree as coming from the k-th override (depth bounded by the parse). */
static void mark_set(YtNode *x, int k) {
    x->set = k;
    for (size_t i = 0; i < x->n; i++) mark_set(x->items[i], k);
}

int yt_set(YtDoc *doc, const char *assignment, char *err, size_t n) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return sb_err(err, n, "--set %s: expected key=value (e.g. --set learning_rate=1e-3)", assignment);
    size_t klen = (size_t)(eq - assignment);
    int empty = assignment[0] == '.' || eq[-1] == '.';
    for (size_t i = 1; i < klen; i++) empty |= assignment[i] == '.' && assignment[i - 1] == '.';
    if (empty)
        return sb_err(err, n, "--set %s: empty key in '%.*s'", assignment, (int)klen, assignment);
    char *path = sb_malloc(klen + 1);
    memcpy(path, assignment, klen);
    path[klen] = 0;
    /* Parse "v: VALUE" so the value gets YAML's own typing. */
    size_t vlen = strlen(eq + 1);
    char *text = sb_malloc(vlen + 8);
    snprintf(text, vlen + 8, "v: %s\n", eq + 1);
    YtDoc tmp;
    char perr[256];
    if (yt_load_string(&tmp, "--set", text, perr, sizeof perr)) {
        sb_err(err, n, "--set %s: value is not valid YAML (%s)", assignment, perr);
        free(path);
        free(text);
        return -1;
    }
    free(text);
    if (tmp.root->n != 1) { /* "1\nother: 2" would parse as two keys */
        yt_free(&tmp);
        free(path);
        return sb_err(err, n, "--set %s: the value must be a single YAML value", assignment);
    }
    YtNode *val = tmp.root->items[0];
    tmp.root->items[0] = NULL;
    yt_free(&tmp);
    int parts = 1;
    for (size_t i = 0; i < klen; i++) parts += assignment[i] == '.';
    if (parts + node_depth(val) > YT_MAX_DEPTH) { /* the root map, the key's sections, the value */
        node_free(val);
        free(path);
        return sb_err(err, n, "--set %s: lists and maps nested deeper than %d levels", assignment, YT_MAX_DEPTH);
    }
    doc->sets = sb_realloc(doc->sets, (size_t)(doc->n_sets + 1) * sizeof *doc->sets);
    doc->sets[doc->n_sets++] = sb_strdup(assignment);
    int k = doc->n_sets;
    mark_set(val, k);

    YtNode *m = doc->root;
    char *save = NULL;
    char *tok = strtok_r(path, ".", &save);
    int rc = 0;
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        size_t i;
        for (i = 0; i < m->n; i++)
            if (!strcmp(m->keys[i], tok)) break;
        if (!next) {
            if (i < m->n) {
                node_free(m->items[i]);
                m->items[i] = val;
                m->key_line[i] = 1;
                m->key_col[i] = 1;
            } else {
                map_push(m, sb_strdup(tok), 1, 1, val);
            }
            val = NULL;
            break;
        }
        if (i == m->n) {
            YtNode *sub = sb_calloc(1, sizeof *sub);
            sub->kind = YT_MAP;
            sub->line = sub->col = 1;
            sub->set = k;
            map_push(m, sb_strdup(tok), 1, 1, sub);
        }
        if (m->items[i]->kind != YT_MAP) {
            rc = sb_err(err, n, "--set %s: %s is not a section", assignment, tok);
            break;
        }
        m = m->items[i];
        tok = next;
    }
    node_free(val);
    free(path);
    return rc;
}

/* ---- lookup and errors ---- */

static const YtNode *find(const YtDoc *d, const YtNode *m, const char *path, size_t *idx_out,
                          const YtNode **parent) {
    const YtNode *cur = m;
    const char *p = path;
    for (;;) {
        if (!cur || cur->kind != YT_MAP) return NULL;
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        size_t i;
        for (i = 0; i < cur->n; i++)
            if (strlen(cur->keys[i]) == len && !strncmp(cur->keys[i], p, len)) break;
        if (i == cur->n) {
            if (m) asked_add(d->asked, m, path);
            return NULL;
        }
        cur->used[i] = 1;
        if (!dot) {
            if (idx_out) *idx_out = i;
            if (parent) *parent = cur;
            return cur->items[i];
        }
        cur = cur->items[i];
        p = dot + 1;
    }
}

const YtNode *yt_find(const YtDoc *d, const YtNode *m, const char *path) {
    return find(d, m ? m : d->root, path, NULL, NULL);
}

int yt_error_at(const YtDoc *d, const YtNode *node, const char *key, char *err, size_t n, const char *fmt,
                ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node && node->set > 0 && node->set <= d->n_sets) {
        const char *a = d->sets[node->set - 1];
        return key ? sb_err(err, n, "--set %s: %s: %s", a, key, msg) : sb_err(err, n, "--set %s: %s", a, msg);
    }
    int line = node ? node->line : 1, col = node ? node->col : 1;
    if (key)
        return sb_err(err, n, "%s:%d:%d: %s: %s", d->file, line, col, key, msg);
    return sb_err(err, n, "%s:%d:%d: %s", d->file, line, col, msg);
}

int yt_node_double(const YtDoc *d, const YtNode *x, const char *what, double *out, char *err, size_t n) {
    if (x->kind != YT_SCALAR || x->quoted)
        return yt_error_at(d, x, what, err, n, "expected a number");
    const char *s = x->str;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end) {
        if (!strcasecmp(s, ".inf") || !strcasecmp(s, "+.inf")) v = INFINITY;
        else if (!strcasecmp(s, "-.inf")) v = -INFINITY;
        else return yt_error_at(d, x, what, err, n, "expected a number, got \"%.40s\"", s);
    } else if (errno == ERANGE && isinf(v)) {
        return yt_error_at(d, x, what, err, n, "%.40s is out of range (beyond +-1.8e308)", s);
    } /* else an underflow (1e-400) is strtod's nearest double: 0 or subnormal */
    if (isnan(v)) return yt_error_at(d, x, what, err, n, "expected a number, got NaN");
    *out = v;
    return 0;
}

int yt_node_int(const YtDoc *d, const YtNode *x, const char *what, long *out, char *err, size_t n) {
    if (x->kind != YT_SCALAR || x->quoted)
        return yt_error_at(d, x, what, err, n, "expected an integer");
    const char *s = x->str;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && *end) {
        /* Accept 1e5 and 200_000 style integers when they are exact. */
        char buf[64];
        size_t k = 0;
        const char *c;
        for (c = s; *c && k + 1 < sizeof buf; c++)
            if (*c != '_') buf[k++] = *c;
        buf[k] = 0;
        errno = 0;
        double dv = strtod(buf, &end);
        if (!*c && end != buf && !*end && errno != ERANGE && dv == floor(dv) && fabs(dv) < 9e15) {
            *out = (long)dv;
            return 0;
        }
        return yt_error_at(d, x, what, err, n, "expected an integer, got \"%.40s\"", s);
    }
    if (end == s || errno == ERANGE)
        return yt_error_at(d, x, what, err, n, "expected an integer, got \"%.40s\"", s);
    *out = v;
    return 0;
}

int yt_get_double(const YtDoc *d, const YtNode *m, const char *path, double *out, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    return yt_node_double(d, x, path, out, err, n) ? -1 : 1;
}

int yt_get_int(const YtDoc *d, const YtNode *m, const char *path, long *out, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    return yt_node_int(d, x, path, out, err, n) ? -1 : 1;
}

int yt_get_bool(const YtDoc *d, const YtNode *m, const char *path, int *out, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    if (x->kind == YT_SCALAR && !x->quoted) {
        const char *s = x->str;
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) { *out = 1; return 1; }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) { *out = 0; return 1; }
    }
    return yt_error_at(d, x, path, err, n, "expected true or false");
}

int yt_get_str(const YtDoc *d, const YtNode *m, const char *path, const char **out, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    if (x->kind != YT_SCALAR) return yt_error_at(d, x, path, err, n, "expected a single value, not a list or map");
    *out = x->str;
    return 1;
}

int yt_get_double_list(const YtDoc *d, const YtNode *m, const char *path, double *out, size_t cap,
                       size_t *count, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    if (x->kind != YT_SEQ) return yt_error_at(d, x, path, err, n, "expected a list such as [1, 2]");
    if (x->n > cap) return yt_error_at(d, x, path, err, n, "at most %zu values, got %zu", cap, x->n);
    for (size_t i = 0; i < x->n; i++)
        if (yt_node_double(d, x->items[i], path, &out[i], err, n)) return -1;
    *count = x->n;
    return 1;
}

int yt_get_int_list(const YtDoc *d, const YtNode *m, const char *path, long *out, size_t cap,
                    size_t *count, char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return 0;
    if (x->kind != YT_SEQ) return yt_error_at(d, x, path, err, n, "expected a list such as [64, 64]");
    if (x->n > cap) return yt_error_at(d, x, path, err, n, "at most %zu values, got %zu", cap, x->n);
    for (size_t i = 0; i < x->n; i++)
        if (yt_node_int(d, x->items[i], path, &out[i], err, n)) return -1;
    *count = x->n;
    return 1;
}

int yt_check_range(const YtDoc *d, const YtNode *m, const char *path, double v, double lo, double hi,
                   char *err, size_t n) {
    if (v >= lo && v <= hi) return 0;
    const YtNode *x = yt_find(d, m, path);
    return yt_error_at(d, x ? x : (m ? m : d->root), path, err, n, "must be in [%g, %g], got %g", lo, hi, v);
}

/* The dotted path from the root to map `target` (maps only); 1 if found. */
static int path_of(const YtNode *m, const YtNode *target, char *buf, size_t cap) {
    if (m == target) return 1;
    if (m->kind != YT_MAP) return 0;
    size_t len = strlen(buf);
    for (size_t i = 0; i < m->n; i++) {
        snprintf(buf + len, cap - len, "%s%s", len ? "." : "", m->keys[i]);
        if (path_of(m->items[i], target, buf, cap)) return 1;
    }
    buf[len] = 0;
    return 0;
}

/* Edit distance (insertions, deletions, substitutions) between a and b, both < 256 chars. */
static size_t levenshtein(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), row[256];
    if (la > 255 || lb > 255) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The search for the known key nearest to `key`. */
typedef struct {
    const char *key;
    int parts;          /* components of key: candidates are cut to as many */
    size_t best;        /* distance to beat */
    char *out;
    size_t cap;
} Nearest;

static void nearest_try(Nearest *s, char *cand) {
    int seen = 0;
    for (char *c = cand; *c; c++)
        if (*c == '.' && ++seen == s->parts) {
            *c = 0;
            break;
        }
    if (!strcmp(cand, s->key)) return;
    size_t dist = levenshtein(s->key, cand);
    if (dist < s->best && dist < strlen(s->key)) {
        s->best = dist;
        snprintf(s->out, s->cap, "%s", cand);
    }
}

/* Keys a getter read (used) below map m, outside sequences. */
static void nearest_used(Nearest *s, const YtNode *m, const char *prefix) {
    for (size_t i = 0; i < m->n; i++) {
        if (!m->used[i]) continue;
        char cand[512];
        snprintf(cand, sizeof cand, "%s%s%s", prefix, *prefix ? "." : "", m->keys[i]);
        if (m->items[i]->kind == YT_MAP) nearest_used(s, m->items[i], cand);
        nearest_try(s, cand);
    }
}

/* The known key (read, or asked for and absent) nearest to `key`, cut to as many
 * components, into out; "" if none is within max(2, len/3) edits. On a tie a key asked for
 * and absent wins (a misspelt key is one the reader looked for and did not find). */
static void nearest_key(const YtDoc *d, const char *key, char *out, size_t cap) {
    Nearest s = {key, 1, (strlen(key) / 3 > 2 ? strlen(key) / 3 : 2) + 1, out, cap};
    for (const char *c = key; *c; c++) s.parts += *c == '.';
    out[0] = 0;
    for (size_t i = 0; d->asked && i < d->asked->n; i++) {
        char cand[512] = "";
        if (!path_of(d->root, d->asked->map[i], cand, sizeof cand)) continue;
        size_t len = strlen(cand);
        snprintf(cand + len, sizeof cand - len, "%s%s", len ? "." : "", d->asked->path[i]);
        nearest_try(&s, cand);
    }
    nearest_used(&s, d->root, "");
}

static int unknown_key(const YtDoc *d, const YtNode *m, size_t i, const char *full, char *err, size_t n) {
    const YtNode *v = m->items[i];
    char key[256], near[256], hint[300] = "";
    int from_set = v->set > 0 && v->set <= d->n_sets;
    if (from_set) { /* the override's whole key: --set utilty.x=1 created "utilty" */
        const char *a = d->sets[v->set - 1];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(a, "="), a);
    } else {
        snprintf(key, sizeof key, "%s", full);
    }
    nearest_key(d, key, near, sizeof near);
    if (near[0]) snprintf(hint, sizeof hint, " (did you mean %s?)", near);
    if (from_set) return sb_err(err, n, "--set %s: %s: unknown key%s", d->sets[v->set - 1], key, hint);
    return sb_err(err, n, "%s:%d:%d: %s: unknown key%s", d->file, m->key_line[i], m->key_col[i], key, hint);
}

static int unused(const YtDoc *d, const YtNode *m, const char *prefix, char *err, size_t n) {
    for (size_t i = 0; i < m->n; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", m->keys[i]);
        if (!m->used[i]) return unknown_key(d, m, i, full, err, n);
        if (m->items[i]->kind == YT_MAP && unused(d, m->items[i], full, err, n)) return -1;
    }
    return 0;
}

int yt_check_unused(const YtDoc *d, const YtNode *m, char *err, size_t n) {
    return unused(d, m ? m : d->root, "", err, n);
}
