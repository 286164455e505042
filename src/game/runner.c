/* runner.c: seeds in parallel processes, live progress, and the aggregate over seeds. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "game/runner.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "game/game.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

/* One seed's slot in memory shared with its child process: the results as plain numbers
 * (GameResult's arrays live in the child's heap; the classes' fixed charges follow the slots). */
typedef struct {
    GameProgress progress;
    GameResult result;   /* fixed_class not valid here: see slot_fixed */
    int status;          /* 0 running/ok, 1 stopped, 2 failed, 3 bad input (a checkpoint or record) */
    char err[512];
} SeedSlot;

static double *slot_fixed(SeedSlot *slots, int seeds, int C, int s) {
    return (double *)(slots + seeds) + (size_t)s * (size_t)C;
}

static volatile sig_atomic_t g_stop;
static volatile int *g_child_stop;
static pid_t *g_pids;  /* children, for forwarding a SIGTERM sent to the parent alone */
static int g_npids;
static void on_signal(int sig) {
    if (g_stop == sig && !g_child_stop) _exit(128 + sig); /* a second identical signal: at once */
    g_stop = sig;
    if (g_child_stop) {
        *g_child_stop = 1;
        return;
    }
    for (int i = 0; i < g_npids; i++)
        if (g_pids[i] > 0) kill(g_pids[i], SIGTERM);
}

static void seed_dir(char *out, size_t cap, const char *dir, int s) {
    char name[32];
    snprintf(name, sizeof name, "seed-%d", s);
    path_join(out, cap, dir, name);
}

static void run_child(const GameConfig *cfg, const GameWorld *w, const char *dir, int s, const RunnerOptions *ro,
                      GameTokens *tokens, SeedSlot *slot, double *fixed) {
    static volatile int stop;
    g_child_stop = &stop;
    g_npids = 0;
    char sd[4096];
    seed_dir(sd, sizeof sd, dir, s);
    /* This seed computes only while it holds a core token (run/pool.h). */
    game_tokens_acquire(tokens);
    GamePool *pool = game_pool_create(ro->threads, tokens);
    GameOptions o = {.progress = &slot->progress, .stop = &stop, .pool = pool};
    GameResult res = {0};
    int rc = game_run(cfg, w, cfg->seed + s, sd, ro->resume, &o, &res, slot->err, sizeof slot->err);
    game_pool_free(pool);
    game_tokens_release(tokens);
    if (rc == 0) {
        slot->result = res;
        slot->result.fixed_class = NULL;
        memcpy(fixed, res.fixed_class, (size_t)res.n_class * sizeof(double));
    }
    game_result_free(&res);
    slot->status = rc == 0 ? 0 : rc == 1 ? 1 : rc == -2 ? 3 : 2;
    slot->progress.done = 1;
    slot->progress.failed = rc < 0;
    _exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
}

static void draw_progress(const SeedSlot *slots, int seeds, double t0, int active) {
    if (!active) return;
    double done = 0, total = 0, imv = 0;
    int running = 0, finished = 0;
    for (int s = 0; s < seeds; s++) {
        total += slots[s].progress.days > 0 ? slots[s].progress.days : 1;
        done += slots[s].progress.done ? slots[s].progress.days : slots[s].progress.day;
        finished += slots[s].progress.done;
        if (!slots[s].progress.done && slots[s].progress.day > 0) {
            running++;
            imv += slots[s].progress.imv;
        }
    }
    double el = sb_now() - t0, eta = done > 0 ? el * (total - done) / done : NAN;
    fprintf(stderr, "\r\033[Kseeds %d/%d done, %d running; days %.0f/%.0f; %.0f s elapsed, ETA %s%.0f s; IMV %.2f $/MWh",
            finished, seeds, running, done, total, el, isfinite(eta) ? "" : "~", isfinite(eta) ? eta : 0.0,
            running ? imv / running : 0.0);
    fflush(stderr);
}

/* ---- aggregation of CSVs: key columns copied, numeric columns -> mean and std ---- */

typedef struct {
    char **lines;
    size_t n, cap;
} Lines;

static int read_lines(const char *path, Lines *L, char *err, size_t n) {
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, err, n)) return -1;
    memset(L, 0, sizeof *L);
    char *save = NULL;
    for (char *ln = strtok_r((char *)buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (L->n == L->cap) {
            L->cap = L->cap ? 2 * L->cap : 256;
            L->lines = sb_realloc(L->lines, L->cap * sizeof *L->lines);
        }
        L->lines[L->n++] = sb_strdup(ln);
    }
    free(buf);
    return 0;
}

static void free_lines(Lines *L) {
    for (size_t i = 0; i < L->n; i++) free(L->lines[i]);
    free(L->lines);
}

static int split(char *line, char **fields, int cap) {
    int k = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, ",", &save); f && k < cap; f = strtok_r(NULL, ",", &save)) fields[k++] = f;
    return k;
}

static int count_fields(const char *line) {
    int k = 1;
    for (const char *c = line; *c; c++) k += *c == ',';
    return k;
}

static int aggregate_csv(const char *dir, int seeds, const char *name, int key_cols, char *err, size_t n) {
    Lines *L = sb_calloc((size_t)seeds, sizeof *L);
    int rc = -1;
    char path[4096];
    for (int s = 0; s < seeds; s++) {
        char sd[4096];
        seed_dir(sd, sizeof sd, dir, s);
        path_join(path, sizeof path, sd, name);
        if (read_lines(path, &L[s], err, n)) goto done;
        if (L[s].n != L[0].n) {
            sb_err(err, n, "%s: %zu rows, seed 0 has %zu", path, L[s].n, L[0].n);
            goto done;
        }
    }
    path_join(path, sizeof path, dir, name);
    AtomicFile a;
    if (!L[0].n || atomic_open(&a, path, err, n)) goto done;
    const int MAXC = count_fields(L[0].lines[0]);
    char **f = sb_calloc((size_t)MAXC, sizeof *f), **g = sb_calloc((size_t)MAXC, sizeof *g);
    double *sum = sb_calloc((size_t)MAXC, sizeof *sum), *sum2 = sb_calloc((size_t)MAXC, sizeof *sum2);
    for (size_t r = 0; r < L[0].n; r++) {
        char *row0 = sb_strdup(L[0].lines[r]);
        int nc = split(row0, f, MAXC);
        if (r == 0) {
            for (int c = 0; c < nc; c++) {
                if (c < key_cols) fprintf(a.f, "%s%s", c ? "," : "", f[c]);
                else fprintf(a.f, ",%s_mean,%s_std", f[c], f[c]);
            }
            fputc('\n', a.f);
            free(row0);
            continue;
        }
        memset(sum, 0, (size_t)MAXC * sizeof *sum);
        memset(sum2, 0, (size_t)MAXC * sizeof *sum2);
        for (int s = 0; s < seeds; s++) {
            char *row = sb_strdup(L[s].lines[r]);
            int k = split(row, g, MAXC);
            for (int c = key_cols; c < k && c < nc; c++) {
                double v = strtod(g[c], NULL);
                sum[c] += v;
                sum2[c] += v * v;
            }
            free(row);
        }
        for (int c = 0; c < nc; c++) {
            if (c < key_cols) {
                fprintf(a.f, "%s%s", c ? "," : "", f[c]);
            } else {
                double m = sum[c] / seeds, var = fmax(sum2[c] / seeds - m * m, 0);
                fprintf(a.f, ",%.9g,%.9g", m, sqrt(var));
            }
        }
        fputc('\n', a.f);
        free(row0);
    }
    free(f);
    free(g);
    free(sum);
    free(sum2);
    rc = atomic_commit(&a, err, n);
done:
    for (int s = 0; s < seeds; s++) free_lines(&L[s]);
    free(L);
    return rc;
}

/* ---- summary over seeds ---- */

typedef double (*Metric)(const GameResult *r);
#define METRIC(fn, expr) \
    static double fn(const GameResult *r) { return (expr); }
METRIC(m_imv_rl, r->imv_rl)
METRIC(m_imv_ns, r->imv_no_storage)
METRIC(m_gap_base, r->eei_gap_baseline)
METRIC(m_gap_learn, r->eei_gap_learned)
METRIC(m_fc, r->fixed_consumer)
METRIC(m_ab, r->alpha_buy)
METRIC(m_as, r->alpha_sell)
METRIC(m_sf, r->shortfall)
METRIC(m_slack, (double)r->slack_steps)
METRIC(m_wall, r->wall_s)
METRIC(m_tsps, r->train_steps_per_s)
METRIC(m_fs, r->follower_s)
METRIC(m_ls, r->leader_s)
METRIC(m_ds, r->dispatch_s)
METRIC(m_cs, r->comm_s)

/* {mean, std, seeds: [...]} of one value per seed. */
static void emit_values(Json *j, const char *key, const double *v, int seeds) {
    double s1 = 0, s2 = 0;
    for (int s = 0; s < seeds; s++) {
        s1 += v[s];
        s2 += v[s] * v[s];
    }
    double m = s1 / seeds;
    json_obj_begin(j, key);
    json_num(j, "mean", m);
    json_num(j, "std", sqrt(fmax(s2 / seeds - m * m, 0)));
    json_num_array(j, "seeds", v, (size_t)seeds);
    json_obj_end(j);
}

static void emit_stat(Json *j, const char *key, const GameResult *res, int seeds, Metric f) {
    double *v = sb_malloc((size_t)seeds * sizeof *v);
    for (int s = 0; s < seeds; s++) v[s] = f(&res[s]);
    emit_values(j, key, v, seeds);
    free(v);
}

static void emit_fixed(Json *j, const char *key, const GameResult *res, int seeds, int k) {
    double *v = sb_malloc((size_t)seeds * sizeof *v);
    for (int s = 0; s < seeds; s++) v[s] = res[s].fixed_class[k];
    emit_values(j, key, v, seeds);
    free(v);
}

static int write_summary(const GameConfig *cfg, const GameWorld *w, const char *dir, const GameResult *slots, int seeds,
                         double wall, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, dir, "summary.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_obj_begin(&j, "imv_last3d");
    emit_stat(&j, "rl", slots, seeds, m_imv_rl);
    emit_stat(&j, "no_storage", slots, seeds, m_imv_ns);
    json_obj_end(&j);
    json_obj_begin(&j, "eei_gap");
    emit_stat(&j, "baseline_tariff", slots, seeds, m_gap_base);
    emit_stat(&j, "learned", slots, seeds, m_gap_learn);
    json_obj_end(&j);
    json_obj_begin(&j, "fixed_charges");
    for (int k = 0; k < w->hh.n_class; k++) emit_fixed(&j, w->hh.class_name[k], slots, seeds, k);
    emit_stat(&j, "consumers", slots, seeds, m_fc);
    json_obj_end(&j);
    emit_stat(&j, "alpha_buy", slots, seeds, m_ab);
    emit_stat(&j, "alpha_sell", slots, seeds, m_as);
    emit_stat(&j, "revenue_shortfall", slots, seeds, m_sf);
    emit_stat(&j, "slack_steps", slots, seeds, m_slack);
    emit_stat(&j, "seed_wall_s", slots, seeds, m_wall);
    emit_stat(&j, "train_steps_per_s", slots, seeds, m_tsps);
    json_obj_begin(&j, "time_s");
    emit_stat(&j, "follower_training", slots, seeds, m_fs);
    emit_stat(&j, "leader_training", slots, seeds, m_ls);
    emit_stat(&j, "dispatch", slots, seeds, m_ds);
    emit_stat(&j, "communication", slots, seeds, m_cs);
    json_obj_end(&j);
    json_num(&j, "wall_s", wall);
    json_arr_begin(&j, "seeds");
    for (int s = 0; s < seeds; s++) json_int(&j, NULL, cfg->seed + s);
    json_arr_end(&j);
    json_str(&j, "timing_note", "wall_s, seed_wall_s, train_steps_per_s and time_s are wall-clock; every other "
                                "field of a resumed run equals an uninterrupted run's");
    json_str(&j, "version", SB_VERSION);
    game_config_json(cfg, &j, "config");
    json_obj_end(&j);
    json_end(&j);
    return atomic_commit(&a, err, n);
}

int game_runner_aggregate(const GameConfig *cfg, const GameWorld *w, const char *dir, const GameResult *res, int seeds,
                          double wall, char *err, size_t n) {
    if (aggregate_csv(dir, seeds, "steps.csv", 3, err, n) || aggregate_csv(dir, seeds, "periods.csv", 2, err, n) ||
        aggregate_csv(dir, seeds, "days.csv", 1, err, n) || aggregate_csv(dir, seeds, "hourly.csv", 1, err, n))
        return -1;
    return write_summary(cfg, w, dir, res, seeds, wall, err, n);
}

int game_train(const GameConfig *cfg, const GameWorld *w, const char *dir, const RunnerOptions *o, char *err,
               size_t n) {
    if (sb_mpi_active()) return game_train_mpi(cfg, w, dir, o, err, n);
    int seeds = o->seeds > 0 ? o->seeds : 1;
    /* jobs is the cores to use: that many core tokens; every seed (up to 4 per core) is a
     * process from the start, and the tokens pack their work onto the cores (run/pool.h). */
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    const int procs = seeds < 4 * jobs ? seeds : 4 * jobs;
    RunnerOptions ro = *o;
    if (ro.threads <= 0) ro.threads = jobs;
    GameTokens *tokens = game_tokens_create(jobs);
    if (!tokens) return sb_err(err, n, "cannot create the core tokens (shared memory)");
    if (mkdir_p(dir, err, n)) return -1;
    const int C = w->hh.n_class;
    size_t bytes = (size_t)seeds * sizeof(SeedSlot) + (size_t)seeds * (size_t)C * sizeof(double);
    SeedSlot *slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) return sb_err(err, n, "mmap: %s", strerror(errno));
    memset(slots, 0, bytes);
    pid_t *pid = sb_calloc((size_t)seeds, sizeof *pid);
    g_pids = pid;
    g_npids = seeds;
    g_stop = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int tty = !o->quiet && isatty(STDERR_FILENO);
    double t0 = sb_now();
    int next = 0, running = 0, failed = 0, stopped = 0;
    while (next < seeds || running > 0) {
        while (running < procs && next < seeds && !g_stop) {
            fflush(NULL);
            pid_t p = fork();
            if (p < 0) {
                failed++;
                snprintf(slots[next].err, sizeof slots[next].err, "fork: %s", strerror(errno));
                next++;
                continue;
            }
            if (p == 0) run_child(cfg, w, dir, next, &ro, tokens, &slots[next], slot_fixed(slots, seeds, C, next));
            pid[next++] = p;
            running++;
        }
        if (g_stop && next < seeds) {
            for (int s = next; s < seeds; s++) slots[s].status = 1;
            stopped += seeds - next;
            next = seeds;
        }
        int st;
        pid_t w = waitpid(-1, &st, WNOHANG);
        if (w > 0) {
            running--;
            for (int s = 0; s < seeds; s++)
                if (pid[s] == w) {
                    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
                    if (code == 1) stopped++;
                    else if (code != 0) {
                        failed++;
                        if (!slots[s].err[0]) snprintf(slots[s].err, sizeof slots[s].err, "seed %d crashed", s);
                    }
                }
            continue;
        }
        draw_progress(slots, seeds, t0, tty);
        nanosleep(&(struct timespec){0, 200000000L}, NULL);
    }
    if (tty) fputc('\n', stderr);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    double wall = sb_now() - t0;
    int rc = 0;
    for (int s = 0; s < seeds; s++)
        if (slots[s].status >= 2 || (slots[s].err[0] && slots[s].status != 1)) {
            rc = sb_err(err, n, "seed %d: %s", s, slots[s].err);
            if (slots[s].status == 3) rc = -2;
            break;
        }
    if (!rc && (stopped || g_stop)) rc = g_stop ? (int)g_stop : SIGINT;
    if (!rc) {
        GameResult *res = sb_calloc((size_t)seeds, sizeof *res);
        for (int s = 0; s < seeds; s++) {
            res[s] = slots[s].result;
            res[s].fixed_class = slot_fixed(slots, seeds, C, s);
        }
        if (game_runner_aggregate(cfg, w, dir, res, seeds, wall, err, n)) rc = -1;
        free(res);
    }
    if (!rc && o->figures) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "command -v gnuplot >/dev/null 2>&1 && tools/figures.sh '%s' >/dev/null 2>&1", dir);
        if (system(cmd) != 0 && !o->quiet)
            fprintf(stderr, "note: figures skipped (gnuplot or tools/figures.sh not available); make figures RUN=%s\n",
                    dir);
    }
    munmap(slots, bytes);
    game_tokens_free(tokens);
    g_pids = NULL;
    g_npids = 0;
    free(pid);
    return rc;
}
