/* runutil.h: helpers of the run-room tests (test_runner.c, test_rundir.c, test_sweep.c):
 * the binary run with an argument vector (no shell: paths with quotes stay paths), scratch
 * directories, files compared byte for byte, and a tiny tariff game that runs in about a
 * second. Header-only. */
#ifndef SB_RUNUTIL_H
#define SB_RUNUTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fsutil.h"

/* The paper game cut down: 3 days, the leader daily, PPO phases of a few dozen steps. As
 * --set overrides (argv order) and as a sweep file's `set:` block. */
static const char *const RU_TINY[] = {"days=3",
                                      "leader_period_days=1",
                                      "report_days=1",
                                      "aggregator.train_steps=60",
                                      "aggregator.ppo.n_steps=30",
                                      "aggregator.ppo.batch_size=15",
                                      "aggregator.ppo.n_epochs=1",
                                      "utility.train_steps=8",
                                      "utility.episode_periods=2",
                                      "utility.ppo.n_steps=4",
                                      "utility.ppo.batch_size=4",
                                      "utility.ppo.n_epochs=1"};
#define RU_N_TINY (sizeof RU_TINY / sizeof RU_TINY[0])

static inline void ru_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A fresh directory under /tmp (Criterion runs tests in parallel processes). */
static inline void ru_scratch(char *dir, size_t cap, const char *tag) {
    snprintf(dir, cap, "/tmp/sb_%s_XXXXXX", tag);
    cr_assert(mkdtemp(dir), "mkdtemp failed");
}

static inline void ru_rm(const char *dir) {
    pid_t p = fork();
    if (p == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
}

static inline int ru_exists(const char *dir, const char *name) {
    char p[4200];
    path_join(p, sizeof p, dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

/* Start bin/stackelberg with argv (argv[0] is ignored) in directory cwd (NULL: this one),
 * stdout+stderr into the file at log_path (NULL: /dev/null). Returns the pid. */
static inline pid_t ru_start(char *const argv[], const char *cwd, const char *log_path) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (cwd && chdir(cwd)) _exit(126);
        execv(tu_bin(), argv);
        _exit(127);
    }
    return pid;
}

/* Exit status of pid: its code, or 128 + the signal that killed it. */
static inline int ru_wait(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run bin/stackelberg with argv in cwd, its output into out (cap); the exit status. */
static inline int ru_run(char *const argv[], const char *cwd, char *out, size_t cap) {
    char log[64];
    snprintf(log, sizeof log, "/tmp/sb_ru_log_%ld", (long)getpid());
    int rc = ru_wait(ru_start(argv, cwd, log));
    FILE *f = fopen(log, "r");
    size_t k = 0;
    if (f && out && cap) k = fread(out, 1, cap - 1, f);
    if (out && cap) out[k] = 0;
    if (f) fclose(f);
    unlink(log);
    return rc;
}

/* argv for `stackelberg train CONFIG --out OUT --quiet --set TINY... EXTRA...` (NULL-ended
 * extra); static storage, valid until the next call. */
static inline char **ru_train_argv(const char *config, const char *out, const char *const *extra) {
    static char *v[64];
    int k = 0;
    v[k++] = "stackelberg";
    v[k++] = "train";
    v[k++] = (char *)config;
    v[k++] = "--out";
    v[k++] = (char *)out;
    v[k++] = "--quiet";
    for (size_t i = 0; i < RU_N_TINY; i++) {
        v[k++] = "--set";
        v[k++] = (char *)RU_TINY[i];
    }
    for (; extra && *extra && k < 62; extra++) v[k++] = (char *)*extra;
    v[k] = NULL;
    return v;
}

/* The whole file, or NULL (len 0) if it cannot be read. */
static inline unsigned char *ru_read(const char *dir, const char *name, size_t *len) {
    char p[4200], err[256];
    path_join(p, sizeof p, dir, name);
    unsigned char *buf;
    if (read_file(p, &buf, len, err, sizeof err)) {
        *len = 0;
        return NULL;
    }
    return buf;
}

/* dir_a/name and dir_b/name hold the same bytes. */
static inline int ru_same(const char *a, const char *b, const char *name) {
    size_t na, nb;
    unsigned char *x = ru_read(a, name, &na), *y = ru_read(b, name, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* Every byte of the seed records and aggregates of a game run directory, to see that a
 * refused command changed nothing. */
typedef struct {
    unsigned char *data[16];
    size_t len[16];
} RuSnap;

static const char *const RU_FILES[] = {"run.json",         "summary.json",           "steps.csv",
                                       "seed-0/steps.csv", "seed-0/checkpoint.npz", "seed-0/periods.csv",
                                       "seed-1/steps.csv", "seed-1/checkpoint.npz", "seed-1/periods.csv"};
#define RU_N_FILES (sizeof RU_FILES / sizeof RU_FILES[0])

static inline void ru_snap(RuSnap *s, const char *dir) {
    for (size_t i = 0; i < RU_N_FILES; i++) s->data[i] = ru_read(dir, RU_FILES[i], &s->len[i]);
}

static inline void ru_expect_unchanged(RuSnap *s, const char *dir) {
    for (size_t i = 0; i < RU_N_FILES; i++) {
        size_t n;
        unsigned char *now = ru_read(dir, RU_FILES[i], &n);
        cr_expect(n == s->len[i] && (!n || !memcmp(now, s->data[i], n)), "%s/%s changed (%zu -> %zu bytes)", dir,
                  RU_FILES[i], s->len[i], n);
        free(now);
        free(s->data[i]);
        s->data[i] = NULL;
    }
}

#endif
