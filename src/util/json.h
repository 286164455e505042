/* json.h: a small streaming JSON writer (no DOM): objects, arrays, numbers, strings.
 *
 *   Json j; json_init(&j, stdout, 2);
 *   json_obj_begin(&j, NULL);
 *     json_num(&j, "objective", 17479.9);
 *     json_arr_begin(&j, "lmp"); for (...) json_num(&j, NULL, lmp[i]); json_arr_end(&j);
 *   json_obj_end(&j);
 *
 * Keys are passed with each value inside objects and NULL inside arrays. Doubles are
 * written with %.17g so they read back bitwise; non-finite values become null. */
#ifndef SB_JSON_H
#define SB_JSON_H

#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct {
    FILE *f;
    int indent;                  /* spaces per level; 0 writes one line */
    int depth;
    int count[JSON_MAX_DEPTH];   /* values written at each depth (for commas) */
    int compact[JSON_MAX_DEPTH]; /* arrays of numbers stay on one line */
} Json;

void json_init(Json *j, FILE *f, int indent);
void json_obj_begin(Json *j, const char *key);
void json_obj_end(Json *j);
void json_arr_begin(Json *j, const char *key);  /* elements on one line */
void json_arr_begin_block(Json *j, const char *key); /* one element per line */
void json_arr_end(Json *j);
void json_num(Json *j, const char *key, double v);
void json_int(Json *j, const char *key, long long v);
void json_str(Json *j, const char *key, const char *s);
void json_bool(Json *j, const char *key, int v);
void json_null(Json *j, const char *key);
/* Numbers of an array in one call. */
void json_num_array(Json *j, const char *key, const double *v, size_t n);
/* Finish the document with a newline. */
void json_end(Json *j);

#endif
