/* fsutil.h: files that are never left half-written, and directories with one writer.
 *
 * Results and checkpoints are written to "PATH.tmp.PID", flushed, fsync'd and renamed
 * over PATH, so a reader sees the old file or the new one, never a torn one.
 *
 * A run directory is locked through DIR/.lock with flock(2): the lock belongs to the open
 * file, so processes forked while it is held (seed processes) hold it too, and it is gone
 * when the last of them exits, however it exits (the kernel releases it, even after
 * SIGKILL). The file says who holds it: "pid N" and the command, for the message a second
 * writer gets. It is opened close-on-exec: helper programs never hold it. */
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
typedef struct {
    int fd; /* -1: not held */
} DirLock;

#define DIR_LOCK_NAME ".lock"

/* Lock dir (which must exist), creating dir/.lock if needed, and write `holder` (the
 * command, one line) into it. 0 locked; 1 another process holds it, with err "DIR: in use by
 * pid N (COMMAND)"; -1 with err on I/O errors. */
int dir_lock(DirLock *l, const char *dir, const char *holder, char *err, size_t n);
void dir_unlock(DirLock *l);

/* Join "dir/name" into out (truncates safely). */
void path_join(char *out, size_t cap, const char *dir, const char *name);

#endif
