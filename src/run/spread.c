/* spread.c: runner_train under mpirun (runner.h, runner_train_mpi).
 *
 * Tasks are the (run, seed) pairs, in the plan's order. With K ranks and N tasks: K <= N,
 * rank r runs tasks r, r + K, ... one after another, each alone (its aggregators on its
 * threads); K > N, task i gets the ranks [i K / N, (i+1) K / N) as its group, which share its
 * aggregators (game.h, GameOptions.comm). Each task's root sends its result to world rank 0,
 * which aggregates every run whose seeds all finished and draws its figures. Results are the
 * same bits as a single process's for every K (run/mpi.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "run/runner.h"
#include "run/signals.h"
#include "util/common.h"
#include "util/fsutil.h"

/* One task's result as plain bytes: this header, then its run's C fixed charges. */
typedef struct {
    int task, status; /* status: 0 done, 1 stopped */
    GameResult r;     /* fixed_class not valid */
} Record;

int runner_train_mpi(const RunnerRun *runs, int n_runs, const RunnerOptions *o, RunnerStatus *status, char *err,
                     size_t n) {
    const int K = sb_mpi_size(), me = sb_mpi_rank();
    RunnerPlan plan;
    runner_plan(&plan, runs, n_runs, 1, o->threads, 1);
    const int N = plan.n;
    double t0 = sb_now();
    int color = -1;
    if (K > N)
        for (int i = 0; i < N; i++) {
            int lo, hi;
            sb_block(K, N, i, &lo, &hi);
            if (me >= lo && me < hi) color = i;
        }
    SbComm *group = K > N ? sb_comm_split(color) : NULL;
    sig_install();
    GamePool *pool = game_pool_create(o->threads > 0 ? o->threads : 1, NULL);
    int C_max = 1;
    for (int r = 0; r < n_runs; r++) C_max = SB_MAX(C_max, runs[r].w->hh.n_class);
    const size_t rec_max = sizeof(Record) + (size_t)C_max * sizeof(double);
    unsigned char *mine = sb_calloc((size_t)N + 1, rec_max);
    size_t used = 0;
    for (int i = K > N ? color : me; i >= 0 && i < N; i += K > N ? N : K) {
        const RunnerTask *t = &plan.task[i];
        const RunnerRun *run = &runs[t->run];
        char sd[4096], name[32];
        snprintf(name, sizeof name, "seed-%d", t->seed);
        path_join(sd, sizeof sd, run->dir, name);
        GameOptions go = {.pool = pool, .comm = group, .stop = sig_stop_flag()};
        GameResult r = {0};
        char e[1024];
        int rc = game_run(run->cfg, run->w, run->cfg->seed + t->seed, sd, run->resume, &go, &r, e, sizeof e);
        if (rc < 0) { /* game_run stops the group on failures; a rank alone stops the world */
            char msg[1200];
            snprintf(msg, sizeof msg, "%s seed %d: %s", run->dir, t->seed, e);
            sb_mpi_abort(msg);
        }
        if (sb_comm_rank(group) == 0) {
            Record rec = {.task = i, .status = rc, .r = r};
            rec.r.fixed_class = NULL;
            memcpy(mine + used, &rec, sizeof rec);
            if (rc == 0) memcpy(mine + used + sizeof rec, r.fixed_class, (size_t)r.n_class * sizeof(double));
            used += sizeof rec + (size_t)run->w->hh.n_class * sizeof(double);
        }
        game_result_free(&r);
        if (rc == 1 || K > N) break;
    }
    game_pool_free(pool);
    int sig = sig_pending();
    sig_restore();
    unsigned char **all;
    size_t *lens;
    sb_comm_gather_bytes(sb_comm_world(), mine, used, &all, &lens);
    free(mine);
    sb_comm_free(group);
    if (me != 0) {
        runner_plan_free(&plan);
        return sig;
    }
    /* World rank 0: every task's record. */
    GameResult *res = sb_calloc((size_t)N + 1, sizeof *res);
    double *fixed = sb_calloc((size_t)N * (size_t)C_max + 1, sizeof *fixed);
    int *done = sb_calloc((size_t)N + 1, sizeof *done);
    for (int k = 0; k < (sb_comm_world() ? K : 1); k++) {
        for (size_t off = 0; off + sizeof(Record) <= lens[k];) {
            Record rec;
            memcpy(&rec, all[k] + off, sizeof rec);
            SB_ASSERT(rec.task >= 0 && rec.task < N);
            int C = runs[plan.task[rec.task].run].w->hh.n_class;
            res[rec.task] = rec.r;
            memcpy(fixed + (size_t)rec.task * C_max, all[k] + off + sizeof rec, (size_t)C * sizeof(double));
            res[rec.task].fixed_class = fixed + (size_t)rec.task * C_max;
            done[rec.task] = rec.status == 0;
            off += sizeof rec + (size_t)C * sizeof(double);
        }
        free(all[k]);
    }
    free(all);
    free(lens);
    int rc = 0;
    GameResult *run_res = sb_calloc((size_t)N + 1, sizeof *run_res);
    for (int r = 0; r < n_runs; r++) {
        int complete = 1, at = 0;
        for (int i = 0; i < N; i++)
            if (plan.task[i].run == r) {
                complete &= done[i];
                run_res[plan.task[i].seed] = res[i];
                at++;
            }
        RunnerStatus st = RUNNER_STOPPED;
        if (complete && at == runs[r].seeds) {
            if (runner_aggregate(runs[r].cfg, runs[r].w, runs[r].dir, run_res, runs[r].seeds, sb_now() - t0, err, n)) {
                st = RUNNER_FAILED;
                rc = -1;
            } else {
                st = RUNNER_DONE;
                if (o->figures) runner_figures("figures.sh", runs[r].dir);
            }
        } else if (!rc) {
            rc = sig ? sig : SIGINT;
        }
        if (status) status[r] = st;
    }
    free(run_res);
    free(res);
    free(fixed);
    free(done);
    runner_plan_free(&plan);
    return rc;
}
