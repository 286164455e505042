/* jsonval.h: a small JSON reader (a DOM) for the meta.json members of checkpoints and
 * exported policies. util/json.h writes; this reads what it wrote, and anything else
 * that is valid JSON, with a depth limit so hostile input cannot exhaust the stack.
 *
 *   JVal v; if (jv_parse(&v, text, len, err, sizeof err)) ...;
 *   const JVal *agents = jv_get(&v, "agents");   // NULL if absent or v is not an object
 *   jv_free(&v); */
#ifndef SB_JSONVAL_H
#define SB_JSONVAL_H

#include <stddef.h>

#include "util/json.h"

#define JV_MAX_DEPTH 20

typedef enum { JV_NULL = 0, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } JvKind;

typedef struct JVal {
    JvKind kind;
    int b;              /* JV_BOOL */
    double num;         /* JV_NUM */
    char *str;          /* JV_STR (UTF-8, NUL-terminated; an embedded \u0000 is refused) */
    struct JVal *items; /* JV_ARR, JV_OBJ: (n) values */
    char **keys;        /* JV_OBJ: (n) keys */
    size_t n;
} JVal;

/* Parse exactly one JSON value (surrounding whitespace allowed). -1 with "line L: what". */
int jv_parse(JVal *v, const char *text, size_t len, char *err, size_t errlen);
void jv_free(JVal *v);

/* Member of an object (the last one if a key repeats); NULL if absent or not an object. */
const JVal *jv_get(const JVal *obj, const char *key);
/* Typed lookups: 1 found with the right type, 0 absent, -1 present with another type. */
int jv_get_num(const JVal *obj, const char *key, double *out);
int jv_get_str(const JVal *obj, const char *key, const char **out);
int jv_get_bool(const JVal *obj, const char *key, int *out);

/* Write v through the JSON writer (key NULL inside arrays). */
void jv_emit(Json *j, const char *key, const JVal *v);

#endif
