/* common.c: panic, checked allocation, error buffers and the clock. */
#include "util/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void sb_panic(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "stackelberg: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *sb_malloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) sb_panic(file, line, "out of memory allocating %zu bytes", n);
    return p;
}

void *sb_calloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) sb_panic(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *sb_realloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) sb_panic(file, line, "out of memory reallocating %zu bytes", n);
    return q;
}

char *sb_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = sb_malloc(n);
    memcpy(d, s, n);
    return d;
}

int sb_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

double sb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t sb_fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
