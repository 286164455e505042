/* json.c: the streaming writer behind summary.json, --json outputs and meta.json. */
#include "util/json.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

void json_init(Json *j, FILE *f, int indent) {
    memset(j, 0, sizeof *j);
    j->f = f;
    j->indent = indent;
}

static void newline(Json *j) {
    if (!j->indent) return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth * j->indent; i++) fputc(' ', j->f);
}

static void write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20) fprintf(f, "\\u%04x", *c);
            else fputc(*c, f);
        }
    }
    fputc('"', f);
}

/* Comma, line break and key before a value. */
static void before(Json *j, const char *key) {
    if (j->depth > 0) {
        if (j->count[j->depth]++) fputc(',', j->f);
        if (j->compact[j->depth]) {
            if (j->count[j->depth] > 1) fputc(' ', j->f);
        } else {
            newline(j);
        }
    }
    if (key) {
        write_string(j->f, key);
        fputs(j->indent ? ": " : ":", j->f);
    }
}

static void open(Json *j, const char *key, char c, int compact) {
    before(j, key);
    fputc(c, j->f);
    if (j->depth + 1 >= JSON_MAX_DEPTH) SB_PANIC("JSON nesting deeper than %d", JSON_MAX_DEPTH);
    j->depth++;
    j->count[j->depth] = 0;
    j->compact[j->depth] = compact;
}

static void close(Json *j, char c) {
    int had = j->count[j->depth], compact = j->compact[j->depth];
    j->depth--;
    if (had && !compact) newline(j);
    fputc(c, j->f);
}

void json_obj_begin(Json *j, const char *key) { open(j, key, '{', 0); }
void json_obj_end(Json *j) { close(j, '}'); }
void json_arr_begin(Json *j, const char *key) { open(j, key, '[', 1); }
void json_arr_begin_block(Json *j, const char *key) { open(j, key, '[', 0); }
void json_arr_end(Json *j) { close(j, ']'); }

void json_num(Json *j, const char *key, double v) {
    before(j, key);
    if (isfinite(v)) fprintf(j->f, "%.17g", v);
    else fputs("null", j->f);
}

void json_int(Json *j, const char *key, long long v) {
    before(j, key);
    fprintf(j->f, "%lld", v);
}

void json_str(Json *j, const char *key, const char *s) {
    before(j, key);
    write_string(j->f, s);
}

void json_bool(Json *j, const char *key, int v) {
    before(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(Json *j, const char *key) {
    before(j, key);
    fputs("null", j->f);
}

void json_num_array(Json *j, const char *key, const double *v, size_t n) {
    json_arr_begin(j, key);
    for (size_t i = 0; i < n; i++) json_num(j, NULL, v[i]);
    json_arr_end(j);
}

void json_end(Json *j) { fputc('\n', j->f); }
