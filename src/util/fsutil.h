/* fsutil.h: files that are never left half-written.
 *
 * Results and checkpoints are written to "PATH.tmp.PID", flushed, fsync'd and renamed
 * over PATH, so a reader sees the old file or the new one, never a torn one. */
#ifndef SB_FSUTIL_H
#define SB_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4200];
} AtomicFile;

/* Open a temporary beside `path`. Returns 0, or -1 with err. */
int atomic_open(AtomicFile *a, const char *path, char *err, size_t n);
/* Flush, fsync, close and rename over the target. Returns 0, or -1 with err (temp removed). */
int atomic_commit(AtomicFile *a, char *err, size_t n);
/* Close and remove the temporary (after a failure). */
void atomic_abort(AtomicFile *a);

/* Write a whole buffer atomically. */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t n);
/* Read a whole file into a malloc'd buffer (NUL-terminated for convenience). */
int read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t n);

/* mkdir -p; 0 or -1 with err. */
int mkdir_p(const char *path, char *err, size_t n);
/* fsync a directory so a rename inside it is durable. */
void fsync_dir(const char *dir);
/* Join "dir/name" into out (truncates safely). */
void path_join(char *out, size_t cap, const char *dir, const char *name);

#endif
