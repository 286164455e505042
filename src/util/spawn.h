/* spawn.h: helper programs started with an argument vector, never through a shell, so no
 * path or name is ever parsed as shell syntax. */
#ifndef SB_SPAWN_H
#define SB_SPAWN_H

#include <stddef.h>

/* Run argv[0] (searched on PATH) with argv and stdin from /dev/null; wait for it. quiet: its
 * stdout and stderr are kept off the terminal, and when it fails the end of what it wrote is
 * in err; otherwise both are inherited. Returns its exit status (0..255), 128 + N if a signal
 * N killed it, or -1 with err when it could not be started. */
int spawn_wait(const char *const argv[], int quiet, char *err, size_t n);
/* 1 if `name` is an executable file in a directory of $PATH (or a path that is), else 0. */
int spawn_on_path(const char *name);

#endif
