/* fsutil.c: atomic writes, whole-file reads, directories. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"

void path_join(char *out, size_t cap, const char *dir, const char *name) {
    size_t k = strlen(dir);
    if (k && dir[k - 1] == '/') snprintf(out, cap, "%s%s", dir, name);
    else snprintf(out, cap, "%s/%s", dir, name);
}

static void dirname_of(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == out) out[1] = 0;
    else *slash = 0;
}

void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_open(AtomicFile *a, const char *path, char *err, size_t n) {
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return sb_err(err, n, "%s: cannot write: %s", a->tmp, strerror(errno));
    return 0;
}

int atomic_commit(AtomicFile *a, char *err, size_t n) {
    int bad = ferror(a->f);
    if (fflush(a->f)) bad = 1;
    if (!bad && fsync(fileno(a->f))) bad = 1;
    int saved = errno;
    if (fclose(a->f)) bad = 1;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return sb_err(err, n, "%s: write failed: %s", a->path, strerror(saved ? saved : EIO));
    }
    if (rename(a->tmp, a->path)) {
        saved = errno;
        unlink(a->tmp);
        return sb_err(err, n, "%s: cannot rename into place: %s", a->path, strerror(saved));
    }
    char dir[4096];
    dirname_of(a->path, dir, sizeof dir);
    fsync_dir(dir);
    return 0;
}

void atomic_abort(AtomicFile *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}

int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t n) {
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    if (len && fwrite(data, 1, len, a.f) != len) {
        atomic_abort(&a);
        return sb_err(err, n, "%s: write failed: %s", path, strerror(errno));
    }
    return atomic_commit(&a, err, n);
}

int read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t n) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sb_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, k = 0;
    unsigned char *buf = sb_malloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + k, 1, cap - k, f);
        k += got;
        if (k < cap) break;
        cap *= 2;
        buf = sb_realloc(buf, cap + 1);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return sb_err(err, n, "%s: read error", path);
    }
    buf[k] = 0;
    *data = buf;
    *len = k;
    return 0;
}

int mkdir_p(const char *path, char *err, size_t n) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return sb_err(err, n, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) return sb_err(err, n, "%s: not a directory", path);
    return 0;
}

/* ---- directory locks ---- */

/* "DIR: in use by pid N (COMMAND)" from the lock file's text. */
static int held_by(int fd, const char *dir, char *err, size_t n) {
    char text[1024];
    ssize_t k = pread(fd, text, sizeof text - 1, 0);
    text[k > 0 ? k : 0] = 0;
    long pid = 0;
    char cmd[900] = "";
    if (sscanf(text, "pid %ld\n%899[^\n]", &pid, cmd) < 1 || pid <= 0)
        return sb_err(err, n, "%s: in use by another process (it is starting); wait for it to end", dir);
    /* Seed processes inherit the lock: their parent may be gone while they stop. */
    int alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
    return sb_err(err, n, "%s: in use by pid %ld (%s)%s; wait for it to end or stop it (kill %ld)", dir, pid,
                  cmd[0] ? cmd : "?", alive ? "" : ", which has exited while its seed processes stop", pid);
}

int dir_lock(DirLock *l, const char *dir, const char *holder, char *err, size_t n) {
    char path[4200];
    path_join(path, sizeof path, dir, DIR_LOCK_NAME);
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (l->fd < 0) return sb_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    if (flock(l->fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        if (e == EWOULDBLOCK) held_by(l->fd, dir, err, n);
        else sb_err(err, n, "%s: cannot lock: %s", path, strerror(e));
        close(l->fd);
        l->fd = -1;
        return e == EWOULDBLOCK ? 1 : -1;
    }
    char text[1100];
    int len = snprintf(text, sizeof text, "pid %ld\n%.1000s\n", (long)getpid(), holder ? holder : "");
    if (ftruncate(l->fd, 0) || pwrite(l->fd, text, (size_t)len, 0) != len) {
        int e = errno;
        dir_unlock(l);
        return sb_err(err, n, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

void dir_unlock(DirLock *l) {
    if (l->fd >= 0) close(l->fd); /* closing the last descriptor releases the lock */
    l->fd = -1;
}
