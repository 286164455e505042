/* spawn.h: helper programs started with an argument vector, never through a shell, so no
 * path or name is ever parsed as shell syntax. */
#ifndef SB_SPAWN_H
#define SB_SPAWN_H

#include <stddef.h>

/* Run argv[0] (searched on PATH) with argv, stdin from /dev/null, stdout to /dev/null when
 * quiet_stdout, stderr inherited; wait for it. Returns its exit status (0..255), 128 + N if
 * a signal N killed it, or -1 with err when it could not be started. */
int spawn_wait(const char *const argv[], int quiet_stdout, char *err, size_t n);
/* 1 if `name` is an executable file in a directory of $PATH (or a path that is), else 0. */
int spawn_on_path(const char *name);

#endif
