/* common.h: process-wide helpers shared by every module.
 *
 * Two tiers of errors (after redis): recoverable failures (bad input, I/O) return a
 * code and write a message into a caller buffer; programming errors and out-of-memory
 * abort at once with file:line, because nothing sensible can continue after them. */
#ifndef SB_COMMON_H
#define SB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define SB_VERSION "0.1.0"

/* Exit codes used by every command. */
enum { SB_EXIT_OK = 0, SB_EXIT_FAIL = 1, SB_EXIT_USAGE = 2 };

#define SB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SB_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Abort with file:line and a message; for broken invariants only. */
#define SB_PANIC(...) sb_panic(__FILE__, __LINE__, __VA_ARGS__)
#define SB_ASSERT(cond)                                                         \
    do {                                                                        \
        if (!(cond)) sb_panic(__FILE__, __LINE__, "assertion failed: %s", #cond); \
    } while (0)

_Noreturn void sb_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocation that never returns NULL: out-of-memory aborts with the call site. */
#define sb_malloc(n) sb_malloc_at((n), __FILE__, __LINE__)
#define sb_calloc(n, s) sb_calloc_at((n), (s), __FILE__, __LINE__)
#define sb_realloc(p, n) sb_realloc_at((p), (n), __FILE__, __LINE__)
void *sb_malloc_at(size_t n, const char *file, int line);
void *sb_calloc_at(size_t n, size_t size, const char *file, int line);
void *sb_realloc_at(void *p, size_t n, const char *file, int line);
char *sb_strdup(const char *s);

/* snprintf into a caller's error buffer (NULL-safe); returns -1 so callers can
 * `return sb_err(err, n, "...")`. */
int sb_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Monotonic wall clock in seconds. */
double sb_now(void);

/* 64-bit FNV-1a of n bytes, continuing from h (start with SB_FNV_INIT): fingerprints of
 * configs and worlds (not a cryptographic hash). */
#define SB_FNV_INIT 0xcbf29ce484222325ull
uint64_t sb_fnv1a(uint64_t h, const void *p, size_t n);

#endif
