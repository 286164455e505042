/* spawn.c: fork + execvp with an argument vector (spawn.h). */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/common.h"

int spawn_on_path(const char *name) {
    if (strchr(name, '/')) return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char dir[4096], full[8192];
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(dir, sizeof dir, "%.*s", (int)len, len ? p : ".");
        snprintf(full, sizeof full, "%s/%s", dir, name);
        if (access(full, X_OK) == 0) return 1;
        p += len + (end != NULL);
        if (!end) break;
    }
    return 0;
}

int spawn_wait(const char *const argv[], int quiet, char *err, size_t n) {
    /* A pipe closed on exec tells the parent whether execvp failed, and why; another carries
     * a quiet program's output. */
    int pfd[2], ofd[2] = {-1, -1};
    if (pipe(pfd)) return sb_err(err, n, "%s: pipe: %s", argv[0], strerror(errno));
    if (quiet && pipe(ofd)) {
        close(pfd[0]);
        close(pfd[1]);
        return sb_err(err, n, "%s: pipe: %s", argv[0], strerror(errno));
    }
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        if (quiet) close(ofd[0]), close(ofd[1]);
        return sb_err(err, n, "%s: fork: %s", argv[0], strerror(e));
    }
    if (pid == 0) {
        close(pfd[0]);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        if (quiet) {
            close(ofd[0]);
            dup2(ofd[1], 1);
            dup2(ofd[1], 2);
        }
        execvp(argv[0], (char *const *)argv);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) {
        }
        _exit(127);
    }
    close(pfd[1]);
    int e = 0;
    ssize_t got;
    while ((got = read(pfd[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(pfd[0]);
    char tail[1024]; /* the last bytes a quiet program wrote */
    size_t k = 0;
    if (quiet) {
        close(ofd[1]);
        char buf[4096];
        ssize_t r;
        while ((r = read(ofd[0], buf, sizeof buf)) != 0) {
            if (r < 0) {
                if (errno == EINTR) continue;
                break;
            }
            for (ssize_t i = 0; i < r; i++) {
                if (k == sizeof tail - 1) memmove(tail, tail + 1, --k);
                tail[k++] = buf[i];
            }
        }
        close(ofd[0]);
    }
    tail[k] = 0;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return sb_err(err, n, "%s: waitpid: %s", argv[0], strerror(errno));
    if (got == (ssize_t)sizeof e) return sb_err(err, n, "%s: cannot start: %s", argv[0], strerror(e));
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (rc && err && n) {
        while (k && (tail[k - 1] == '\n' || tail[k - 1] == ' ')) tail[--k] = 0;
        snprintf(err, n, "%s", tail);
    }
    return rc;
}
