/* jsonval.c: a recursive-descent JSON parser into JVal trees (see jsonval.h). */
#include "io/jsonval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

typedef struct {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
} Parser;

static int fail(Parser *ps, const char *what) {
    int line = 1;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++) line += *q == '\n';
    return sb_err(ps->err, ps->errlen, "line %d: %s", line, what);
}

static void skip_ws(Parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(Parser *ps, unsigned *out) {
    if (ps->end - ps->p < 4) return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) return fail(ps, "bad \\u escape");
        v = v << 4 | (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

/* A string starting at the opening quote into a malloc'd UTF-8 buffer. */
static int parse_string(Parser *ps, char **out) {
    ps->p++; /* opening quote */
    size_t cap = 16, k = 0;
    char *s = sb_malloc(cap);
    for (;;) {
        if (ps->p >= ps->end) {
            free(s);
            return fail(ps, "unterminated string");
        }
        if (k + 5 >= cap) {
            cap *= 2;
            s = sb_realloc(s, cap);
        }
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"') break;
        if (c < 0x20) {
            free(s);
            return fail(ps, "control character in a string");
        }
        if (c != '\\') {
            s[k++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end) {
            free(s);
            return fail(ps, "unterminated string");
        }
        char e = *ps->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            s[k++] = map[simple - "\"\\/bfnrt"];
            continue;
        }
        if (e != 'u') {
            free(s);
            return fail(ps, "bad escape in a string");
        }
        unsigned cp;
        if (read_hex4(ps, &cp)) {
            free(s);
            return -1;
        }
        if (cp >= 0xd800 && cp < 0xdc00) { /* high surrogate: a low one must follow */
            unsigned lo;
            if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                free(s);
                return fail(ps, "unpaired surrogate in a string");
            }
            ps->p += 2;
            if (read_hex4(ps, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                free(s);
                return ps->err && *ps->err ? -1 : fail(ps, "unpaired surrogate in a string");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
            free(s);
            return fail(ps, "unpaired surrogate in a string");
        }
        if (cp == 0) {
            free(s);
            return fail(ps, "\\u0000 in a string");
        }
        if (cp < 0x80) {
            s[k++] = (char)cp;
        } else if (cp < 0x800) {
            s[k++] = (char)(0xc0 | cp >> 6);
            s[k++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            s[k++] = (char)(0xe0 | cp >> 12);
            s[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            s[k++] = (char)(0x80 | (cp & 0x3f));
        } else {
            s[k++] = (char)(0xf0 | cp >> 18);
            s[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            s[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            s[k++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    s[k] = 0;
    *out = s;
    return 0;
}

/* A number in JSON's grammar (no leading '+', no leading zeros, no hex, no inf). */
static int parse_number(Parser *ps, double *out) {
    const char *q = ps->p;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
    if (*q == '0') q++;
    else
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - ps->p);
    char buf[64];
    if (n >= sizeof buf) return fail(ps, "number too long");
    memcpy(buf, ps->p, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    ps->p = q;
    return 0;
}

static int parse_value(Parser *ps, JVal *v, int depth);

static int parse_container(Parser *ps, JVal *v, int depth, int is_obj) {
    v->kind = is_obj ? JV_OBJ : JV_ARR;
    ps->p++;
    size_t cap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 4;
            v->items = sb_realloc(v->items, cap * sizeof *v->items);
            if (is_obj) v->keys = sb_realloc(v->keys, cap * sizeof *v->keys);
        }
        skip_ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key string");
            char *key;
            if (parse_string(ps, &key)) return -1;
            v->keys[v->n] = key;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                memset(&v->items[v->n], 0, sizeof *v->items);
                v->n++;
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        JVal *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        v->n++; /* counted before parsing so jv_free releases a half-built item */
        if (parse_value(ps, item, depth + 1)) return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
            ps->p++;
            return 0;
        }
        return fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(Parser *ps, JVal *v, int depth) {
    memset(v, 0, sizeof *v);
    if (depth > JV_MAX_DEPTH) return fail(ps, "nested too deeply");
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end of input");
    size_t left = (size_t)(ps->end - ps->p);
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"':
        v->kind = JV_STR;
        return parse_string(ps, &v->str);
    case 't':
        if (left < 4 || memcmp(ps->p, "true", 4)) return fail(ps, "bad literal");
        v->kind = JV_BOOL;
        v->b = 1;
        ps->p += 4;
        return 0;
    case 'f':
        if (left < 5 || memcmp(ps->p, "false", 5)) return fail(ps, "bad literal");
        v->kind = JV_BOOL;
        ps->p += 5;
        return 0;
    case 'n':
        if (left < 4 || memcmp(ps->p, "null", 4)) return fail(ps, "bad literal");
        v->kind = JV_NULL;
        ps->p += 4;
        return 0;
    default:
        v->kind = JV_NUM;
        return parse_number(ps, &v->num);
    }
}

int jv_parse(JVal *v, const char *text, size_t len, char *err, size_t errlen) {
    Parser ps = {text, text + len, text, err, errlen};
    if (err && errlen) err[0] = 0;
    if (parse_value(&ps, v, 0)) {
        jv_free(v);
        return -1;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        jv_free(v);
        return fail(&ps, "trailing characters after the JSON value");
    }
    return 0;
}

void jv_free(JVal *v) {
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const JVal *jv_get(const JVal *obj, const char *key) {
    if (!obj || obj->kind != JV_OBJ) return NULL;
    for (size_t i = obj->n; i-- > 0;)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

int jv_get_num(const JVal *obj, const char *key, double *out) {
    const JVal *v = jv_get(obj, key);
    if (!v) return 0;
    if (v->kind != JV_NUM) return -1;
    *out = v->num;
    return 1;
}

int jv_get_str(const JVal *obj, const char *key, const char **out) {
    const JVal *v = jv_get(obj, key);
    if (!v) return 0;
    if (v->kind != JV_STR) return -1;
    *out = v->str;
    return 1;
}

int jv_get_bool(const JVal *obj, const char *key, int *out) {
    const JVal *v = jv_get(obj, key);
    if (!v) return 0;
    if (v->kind != JV_BOOL) return -1;
    *out = v->b;
    return 1;
}

void jv_emit(Json *j, const char *key, const JVal *v) {
    switch (v->kind) {
    case JV_NULL: json_null(j, key); break;
    case JV_BOOL: json_bool(j, key, v->b); break;
    case JV_NUM: json_num(j, key, v->num); break;
    case JV_STR: json_str(j, key, v->str); break;
    case JV_ARR: {
        int flat = 1;
        for (size_t i = 0; i < v->n; i++) flat &= v->items[i].kind != JV_ARR && v->items[i].kind != JV_OBJ;
        if (flat) json_arr_begin(j, key);
        else json_arr_begin_block(j, key);
        for (size_t i = 0; i < v->n; i++) jv_emit(j, NULL, &v->items[i]);
        json_arr_end(j);
        break;
    }
    case JV_OBJ:
        json_obj_begin(j, key);
        for (size_t i = 0; i < v->n; i++) jv_emit(j, v->keys[i], &v->items[i]);
        json_obj_end(j);
        break;
    }
}
