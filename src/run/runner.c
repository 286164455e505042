/* runner.c: seeds in parallel processes, live progress, and the aggregate over seeds
 * (runner.h).
 *
 * Legend: R runs, T tasks (seeds of all runs), C a run's income classes.
 *
 * Each seed process writes its outcome into a slot of memory shared with the runner (the
 * results as plain numbers: GameResult's arrays live in the child's heap, so the classes'
 * fixed charges get their own shared doubles). The runner only forks, waits, aggregates. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "run/runner.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "game/checkpoint.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "run/signals.h"
#include "util/common.h"
#include "util/datadir.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/spawn.h"

/* A seed process's exit status, and its slot's status. */
enum { SEED_OK = 0, SEED_STOPPED = 1, SEED_FAILED = 2, SEED_BAD_INPUT = 3 };

typedef struct {
    GameProgress progress;
    GameResult result; /* fixed_class not valid here: the task's doubles in `fixed` */
    int status;        /* SEED_*: set by the child when it ends */
    int reported;      /* the child set status (a crash, even one that exits 1, does not) */
    char err[512];
} SeedSlot;

static void seed_dir(char *out, size_t cap, const char *dir, int s) {
    char name[32];
    snprintf(name, sizeof name, "seed-%d", s);
    path_join(out, cap, dir, name);
}

/* ---- the plan ---- */

void runner_plan(RunnerPlan *p, const RunnerRun *runs, int n_runs, int jobs, int threads, int cores) {
    p->n = 0;
    for (int r = 0; r < n_runs; r++) p->n += runs[r].seeds;
    p->task = sb_calloc((size_t)(p->n ? p->n : 1), sizeof *p->task);
    p->cores = jobs > 0 ? jobs : cores > 0 ? cores : 1;
    /* Run by run, seed by seed: a sweep's first variants finish (and are aggregated) first. */
    int k = 0, t = threads > 0 ? threads : p->cores;
    for (int r = 0; r < n_runs; r++)
        for (int s = 0; s < runs[r].seeds; s++) p->task[k++] = (RunnerTask){.run = r, .seed = s, .threads = t};
    p->jobs = 4 * p->cores;
    if (p->jobs > p->n) p->jobs = p->n;
    if (p->jobs < 1) p->jobs = 1;
}

void runner_plan_free(RunnerPlan *p) {
    free(p->task);
    p->task = NULL;
    p->n = 0;
}

/* ---- one seed, in its own process ---- */

/* Called with SIGINT and SIGTERM blocked (they are let through once it forwards nothing). */
static _Noreturn void run_child(const RunnerRun *run, const RunnerTask *t, pid_t parent, SeedSlot *slot,
                                double *fixed, GameTokens *tokens) {
    if (sig_child_setup(parent)) _exit(SEED_STOPPED); /* orphaned before it began */
    sig_block(0);
    char sd[4096];
    seed_dir(sd, sizeof sd, run->dir, t->seed);
    /* The seed computes only while it holds a core token (run/pool.h). */
    game_tokens_acquire(tokens);
    GamePool *pool = game_pool_create(t->threads, tokens);
    GameOptions o = {.progress = &slot->progress, .stop = sig_stop_flag(), .pool = pool};
    GameResult res = {0};
    int rc = game_run(run->cfg, run->w, run->cfg->seed + t->seed, sd, run->resume, &o, &res, slot->err,
                      sizeof slot->err);
    game_pool_free(pool);
    game_tokens_release(tokens);
    if (rc == 0) {
        slot->result = res;
        slot->result.fixed_class = NULL;
        memcpy(fixed, res.fixed_class, (size_t)res.n_class * sizeof(double));
    }
    game_result_free(&res);
    int status = rc == 0 ? SEED_OK : rc == 1 ? SEED_STOPPED : rc == -2 ? SEED_BAD_INPUT : SEED_FAILED;
    slot->status = status;
    slot->reported = 1;
    slot->progress.failed = rc < 0;
    slot->progress.done = 1;
    _exit(status);
}

static void draw_progress(const SeedSlot *slots, int T, double t0, int active) {
    if (!active) return;
    double done = 0, total = 0, imv = 0;
    int running = 0, finished = 0;
    for (int s = 0; s < T; s++) {
        const GameProgress *p = &slots[s].progress;
        total += p->days > 0 ? p->days : 1;
        done += p->done ? p->days : p->day;
        finished += p->done;
        if (!p->done && p->day > 0) {
            running++;
            imv += p->imv;
        }
    }
    double el = sb_now() - t0, eta = done > 0 ? el * (total - done) / done : NAN;
    fprintf(stderr, "\r\033[Kseeds %d/%d done, %d running; days %.0f/%.0f; %.0f s elapsed, ETA %s%.0f s; IMV %.2f $/MWh",
            finished, T, running, done, total, el, isfinite(eta) ? "" : "~", isfinite(eta) ? eta : 0.0,
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
    memset(L, 0, sizeof *L);
    if (read_file(path, &buf, &len, err, n)) return -1;
    char *p = (char *)buf, *end = p + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (L->n == L->cap) {
            L->cap = L->cap ? 2 * L->cap : 256;
            L->lines = sb_realloc(L->lines, L->cap * sizeof *L->lines);
        }
        L->lines[L->n++] = sb_strdup(p);
        p = nl + 1;
    }
    free(buf);
    return 0;
}

static void free_lines(Lines *L) {
    for (size_t i = 0; i < L->n; i++) free(L->lines[i]);
    free(L->lines);
}

/* Split line in place at commas, empty fields kept. Returns the field count (at most cap). */
static int split(char *line, char **fields, int cap) {
    int k = 0;
    for (char *f = line;;) {
        char *comma = strchr(f, ',');
        if (k < cap) fields[k] = f;
        k++;
        if (!comma) break;
        *comma = 0;
        f = comma + 1;
    }
    return k;
}

static int count_fields(const char *line) {
    int k = 1;
    for (const char *c = line; *c; c++) k += *c == ',';
    return k;
}

int runner_aggregate_csv(const char *dir, int seeds, const char *name, int key_cols, char *err, size_t n) {
    Lines *L = sb_calloc((size_t)seeds, sizeof *L);
    char **path = sb_calloc((size_t)seeds, sizeof *path);
    int rc = -1;
    for (int s = 0; s < seeds; s++) {
        char sd[4096], p[4200];
        seed_dir(sd, sizeof sd, dir, s);
        path_join(p, sizeof p, sd, name);
        path[s] = sb_strdup(p);
        if (read_lines(p, &L[s], err, n)) goto done;
        if (!L[s].n) {
            sb_err(err, n, "%s: empty (no header)", p);
            goto done;
        }
        if (L[s].n != L[0].n) {
            sb_err(err, n, "%s: %zu lines, %s has %zu", p, L[s].n, path[0], L[0].n);
            goto done;
        }
        if (strcmp(L[s].lines[0], L[0].lines[0])) {
            sb_err(err, n, "%s:1: another header than %s's", p, path[0]);
            goto done;
        }
    }
    const int NC = count_fields(L[0].lines[0]); /* columns, from the header */
    if (NC <= key_cols) {
        sb_err(err, n, "%s:1: %d columns, expected more than %d key columns", path[0], NC, key_cols);
        goto done;
    }
    char **head = sb_calloc((size_t)NC, sizeof *head), **f0 = sb_calloc((size_t)NC, sizeof *f0),
         **g = sb_calloc((size_t)NC, sizeof *g);
    double *sum = sb_calloc((size_t)NC, sizeof *sum), *sum2 = sb_calloc((size_t)NC, sizeof *sum2);
    char *header = sb_strdup(L[0].lines[0]);
    split(header, head, NC);
    char out_path[4200];
    path_join(out_path, sizeof out_path, dir, name);
    AtomicFile a;
    int bad = atomic_open(&a, out_path, err, n);
    if (!bad) {
        for (int c = 0; c < NC; c++) {
            if (c < key_cols) fprintf(a.f, "%s%s", c ? "," : "", head[c]);
            else fprintf(a.f, ",%s_mean,%s_std", head[c], head[c]);
        }
        fputc('\n', a.f);
    }
    for (size_t r = 1; r < L[0].n && !bad; r++) {
        char *row0 = sb_strdup(L[0].lines[r]);
        split(row0, f0, NC);
        memset(sum, 0, (size_t)NC * sizeof *sum);
        memset(sum2, 0, (size_t)NC * sizeof *sum2);
        for (int s = 0; s < seeds && !bad; s++) {
            char *row = sb_strdup(L[s].lines[r]);
            int k = split(row, g, NC);
            if (k != NC) {
                bad = sb_err(err, n, "%s:%zu: %d fields, the header has %d", path[s], r + 1, k, NC);
            }
            for (int c = 0; c < NC && !bad; c++) {
                if (c < key_cols) {
                    if (strcmp(g[c], f0[c]))
                        bad = sb_err(err, n, "%s:%zu: %s is %s, %s has %s", path[s], r + 1, head[c], g[c], path[0],
                                     f0[c]);
                    continue;
                }
                char *end;
                double v = strtod(g[c], &end);
                if (end == g[c] || *end)
                    bad = sb_err(err, n, "%s:%zu: %s: '%s' is not a number", path[s], r + 1, head[c], g[c]);
                sum[c] += v;
                sum2[c] += v * v;
            }
            free(row);
        }
        for (int c = 0; c < NC && !bad; c++) {
            if (c < key_cols) {
                fprintf(a.f, "%s%s", c ? "," : "", f0[c]);
            } else {
                double m = sum[c] / seeds, var = fmax(sum2[c] / seeds - m * m, 0);
                fprintf(a.f, ",%.9g,%.9g", m, sqrt(var));
            }
        }
        if (!bad) fputc('\n', a.f);
        free(row0);
    }
    if (!bad) rc = atomic_commit(&a, err, n);
    else if (a.f) atomic_abort(&a);
    free(header);
    free(head);
    free(f0);
    free(g);
    free(sum);
    free(sum2);
done:
    for (int s = 0; s < seeds; s++) {
        free_lines(&L[s]);
        free(path[s]);
    }
    free(L);
    free(path);
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

/* {mean, std, seeds: [...]} of one value per seed (std: population, over the seeds). */
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

int runner_write_summary(const char *dir, const GameConfig *cfg, const GameWorld *w, const GameResult *res, int seeds,
                         double wall, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, dir, "summary.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_obj_begin(&j, "imv_last3d");
    emit_stat(&j, "rl", res, seeds, m_imv_rl);
    emit_stat(&j, "no_storage", res, seeds, m_imv_ns);
    json_obj_end(&j);
    json_obj_begin(&j, "eei_gap");
    emit_stat(&j, "baseline_tariff", res, seeds, m_gap_base);
    emit_stat(&j, "learned", res, seeds, m_gap_learn);
    json_obj_end(&j);
    json_obj_begin(&j, "fixed_charges");
    for (int k = 0; k < w->hh.n_class; k++) emit_fixed(&j, w->hh.class_name[k], res, seeds, k);
    emit_stat(&j, "consumers", res, seeds, m_fc);
    json_obj_end(&j);
    emit_stat(&j, "alpha_buy", res, seeds, m_ab);
    emit_stat(&j, "alpha_sell", res, seeds, m_as);
    emit_stat(&j, "revenue_shortfall", res, seeds, m_sf);
    emit_stat(&j, "slack_steps", res, seeds, m_slack);
    emit_stat(&j, "seed_wall_s", res, seeds, m_wall);
    emit_stat(&j, "train_steps_per_s", res, seeds, m_tsps);
    json_obj_begin(&j, "time_s");
    emit_stat(&j, "follower_training", res, seeds, m_fs);
    emit_stat(&j, "leader_training", res, seeds, m_ls);
    emit_stat(&j, "dispatch", res, seeds, m_ds);
    emit_stat(&j, "communication", res, seeds, m_cs);
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

/* ---- figures ---- */

int runner_figures(const char *script, const char *dir) {
    char rel[256], path[4200], err[1100];
    snprintf(rel, sizeof rel, "tools/%s", script);
    sb_data_path(path, sizeof path, rel);
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "note: figures of %s skipped: %s not found (the data directory is $STACKELBERG_DATA, "
                        "else beside the executable)\n", dir, path);
        return 1;
    }
    if (!spawn_on_path("gnuplot")) {
        fprintf(stderr, "note: figures of %s skipped: gnuplot is not installed (apt-get install gnuplot-nox); "
                        "draw them later with: %s %s\n", dir, path, dir);
        return 1;
    }
    const char *argv[] = {"bash", path, dir, NULL};
    int rc = spawn_wait(argv, 1, err, sizeof err);
    if (rc < 0) fprintf(stderr, "note: figures of %s skipped: %s\n", dir, err);
    else if (rc) fprintf(stderr, "note: figures of %s failed (%s exited %d): %s\n", dir, path, rc, err);
    return rc != 0;
}

/* ---- the runs ---- */

/* Every checkpoint a resumed run would continue, and its records, checked before any process
 * starts. 0, or -2 with err. */
static int check_resumable(const RunnerRun *run, int seeds, char *err, size_t n) {
    for (int s = 0; s < seeds; s++) {
        char sd[4096], ck[4200];
        seed_dir(sd, sizeof sd, run->dir, s);
        path_join(ck, sizeof ck, sd, "checkpoint.npz");
        if (access(ck, F_OK) != 0) continue; /* this seed starts from the beginning */
        GameCheckpointInfo info;
        int rc = game_checkpoint_check(ck, run->cfg, run->w, run->cfg->seed + s, &info, err, n);
        if (!rc) rc = recorder_verify(sd, run->cfg, &info.mark, err, n);
        if (rc) return -2;
    }
    return 0;
}

int runner_aggregate(const GameConfig *cfg, const GameWorld *w, const char *dir, const GameResult *res, int seeds,
                     double wall, char *err, size_t n) {
    if (runner_aggregate_csv(dir, seeds, "steps.csv", 3, err, n) ||
        runner_aggregate_csv(dir, seeds, "periods.csv", 2, err, n) ||
        runner_aggregate_csv(dir, seeds, "days.csv", 1, err, n) ||
        runner_aggregate_csv(dir, seeds, "hourly.csv", 1, err, n))
        return -1;
    return runner_write_summary(dir, cfg, w, res, seeds, wall, err, n);
}

/* A run whose seeds all ended well: its aggregate files and summary. task[s] is the plan's
 * index of seed s (the plan may order seeds as it likes). 0, or -1 with err. */
static int finish_run(const RunnerRun *run, const int *task, SeedSlot *slots, double *const *fixed, double wall,
                      char *err, size_t n) {
    GameResult *res = sb_calloc((size_t)run->seeds, sizeof *res);
    for (int s = 0; s < run->seeds; s++) {
        res[s] = slots[task[s]].result;
        res[s].fixed_class = fixed[task[s]];
    }
    int rc = runner_aggregate(run->cfg, run->w, run->dir, res, run->seeds, wall, err, n);
    free(res);
    return rc;
}

int runner_train(const RunnerRun *runs, int n_runs, const RunnerOptions *o, RunnerStatus *status, char *err,
                 size_t n) {
    for (int r = 0; r < n_runs; r++) {
        if (status) status[r] = RUNNER_STOPPED;
        if (runs[r].resume && check_resumable(&runs[r], runs[r].seeds, err, n)) {
            if (status) status[r] = RUNNER_BAD_INPUT;
            return -2;
        }
    }
    if (sb_mpi_active()) return runner_train_mpi(runs, n_runs, o, status, err, n);
    RunnerPlan plan;
    runner_plan(&plan, runs, n_runs, o->jobs, o->threads, (int)sysconf(_SC_NPROCESSORS_ONLN));
    GameTokens *tokens = game_tokens_create(plan.cores);
    if (!tokens) {
        runner_plan_free(&plan);
        return sb_err(err, n, "cannot create the core tokens (shared memory)");
    }
    const int T = plan.n, R = n_runs > 0 ? n_runs : 1;
    /* Shared memory: the slots (T), then each task's fixed charges (C of its run). */
    size_t nfixed = 0;
    for (int k = 0; k < T; k++) nfixed += (size_t)runs[plan.task[k].run].w->hh.n_class;
    size_t bytes = (size_t)T * sizeof(SeedSlot) + nfixed * sizeof(double) + 1;
    SeedSlot *slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        runner_plan_free(&plan);
        return sb_err(err, n, "mmap: %s", strerror(errno));
    }
    memset(slots, 0, bytes);
    double **fixed = sb_calloc((size_t)T + 1, sizeof *fixed); /* (T) into the shared memory */
    int *base = sb_calloc((size_t)R, sizeof *base);  /* (R) run r's seeds start at task_of[base[r]] */
    int *task_of = sb_calloc((size_t)T + 1, sizeof *task_of); /* (T) plan index of each run's seed */
    int *left = sb_calloc((size_t)R, sizeof *left);  /* (R) seeds not yet ended */
    for (int r = 1; r < n_runs; r++) base[r] = base[r - 1] + runs[r - 1].seeds;
    double *pos = (double *)(slots + T);
    for (int k = 0; k < T; k++) {
        const RunnerTask *t = &plan.task[k];
        fixed[k] = pos;
        pos += runs[t->run].w->hh.n_class;
        task_of[base[t->run] + t->seed] = k;
        left[t->run]++;
    }
    volatile pid_t *pid = sb_calloc((size_t)T + 1, sizeof *pid);
    RunnerStatus *st = sb_calloc((size_t)R, sizeof *st); /* RUNNER_DONE until something else happens */
    char (*run_err)[600] = sb_calloc((size_t)R, sizeof *run_err);
    sig_install();
    sig_forward(pid, T);
    const pid_t self = getpid();
    int tty = !o->quiet && isatty(STDERR_FILENO);
    double t0 = sb_now();
    int next = 0, running = 0;
    while (next < T || running > 0) {
        while (running < plan.jobs && next < T && !sig_pending()) {
            const RunnerTask *t = &plan.task[next];
            fflush(NULL);
            sig_block(1); /* the pid is in the array before a signal can be forwarded */
            pid_t p = fork();
            if (p == 0) run_child(&runs[t->run], t, self, &slots[next], fixed[next], tokens);
            if (p < 0) {
                slots[next].status = SEED_FAILED;
                snprintf(run_err[t->run], sizeof run_err[t->run], "seed %d: fork: %s", t->seed, strerror(errno));
                st[t->run] = RUNNER_FAILED;
                left[t->run]--;
            } else {
                pid[next] = p;
                running++;
            }
            sig_block(0);
            next++;
        }
        if (sig_pending() && next < T) {
            for (; next < T; next++) {
                slots[next].status = SEED_STOPPED;
                if (st[plan.task[next].run] == RUNNER_DONE) st[plan.task[next].run] = RUNNER_STOPPED;
            }
        }
        /* Our own children only, by pid: a caller's other children are not ours to reap. */
        int reaped = 0;
        for (int k = 0; k < T && !reaped; k++) {
            if (pid[k] <= 0) continue;
            int ws = 0;
            const pid_t p = pid[k];
            sig_block(1);
            pid_t w = waitpid(p, &ws, WNOHANG);
            int lost = w < 0 && errno != EINTR; /* reaped elsewhere: its status is unknown */
            if (w == p || lost) pid[k] = 0;
            sig_block(0);
            if (w != p && !lost) continue;
            reaped = 1;
            running--;
            SeedSlot *sl = &slots[k];
            const RunnerTask *t = &plan.task[k];
            int code = !lost && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
            if (!sl->reported || code != sl->status) {
                sl->status = SEED_FAILED;
                snprintf(sl->err, sizeof sl->err, "the seed process ended without a result (%s %d)",
                         lost ? "lost, error" : WIFSIGNALED(ws) ? "killed by signal" : "exit status",
                         lost ? errno : WIFSIGNALED(ws) ? WTERMSIG(ws) : code);
            }
            RunnerStatus *rs = &st[t->run];
            if (sl->status == SEED_BAD_INPUT || (sl->status == SEED_FAILED && *rs != RUNNER_BAD_INPUT)) {
                if (*rs != RUNNER_FAILED && *rs != RUNNER_BAD_INPUT)
                    snprintf(run_err[t->run], sizeof run_err[t->run], "seed %d: %s", t->seed, sl->err);
                *rs = sl->status == SEED_BAD_INPUT ? RUNNER_BAD_INPUT : RUNNER_FAILED;
            } else if (sl->status == SEED_STOPPED && *rs == RUNNER_DONE) {
                *rs = RUNNER_STOPPED;
            }
            if (--left[t->run] == 0 && *rs == RUNNER_DONE &&
                finish_run(&runs[t->run], task_of + base[t->run], slots, fixed, sb_now() - t0, run_err[t->run],
                           sizeof run_err[t->run]))
                *rs = RUNNER_FAILED;
        }
        if (reaped) continue;
        draw_progress(slots, T, t0, tty);
        nanosleep(&(struct timespec){0, 50000000L}, NULL); /* a seed that ends is noticed within 50 ms */
    }
    if (tty) fputc('\n', stderr);
    sig_forward(NULL, 0);
    /* Bad input outranks a failure, which outranks a stop; the first run of the kind names it. */
    int rc = 0;
    for (RunnerStatus want = RUNNER_BAD_INPUT; want >= RUNNER_FAILED && !rc; want--)
        for (int r = 0; r < n_runs && !rc; r++)
            if (st[r] == want) {
                if (n_runs == 1) sb_err(err, n, "%s", run_err[r]);
                else sb_err(err, n, "%s: %s", runs[r].dir, run_err[r]);
                rc = want == RUNNER_BAD_INPUT ? -2 : -1;
            }
    for (int r = 0; r < n_runs && !rc; r++)
        if (st[r] == RUNNER_STOPPED) rc = sig_pending() ? sig_pending() : SIGINT;
    if (o->figures && !sig_pending())
        for (int r = 0; r < n_runs; r++)
            if (st[r] == RUNNER_DONE) runner_figures("figures.sh", runs[r].dir);
    if (status) memcpy(status, st, (size_t)n_runs * sizeof *st);
    munmap(slots, bytes);
    game_tokens_free(tokens);
    free((void *)pid);
    free(fixed);
    free(base);
    free(task_of);
    free(left);
    free(st);
    free(run_err);
    runner_plan_free(&plan);
    return rc;
}
