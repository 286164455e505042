/* runner.h: tariff-game runs over seeds, in parallel processes, and the aggregate over seeds.
 *
 * A run is one config over `seeds` seeds in a directory DIR. DIR/seed-K/ holds seed K's
 * records (game_run: steps.csv, periods.csv, days.csv, hourly.csv, summary.json, the
 * checkpoint); once every seed has finished, DIR/ gets the same CSVs aggregated over seeds
 * (mean and standard deviation of every numeric column, row by row), summary.json ({mean, std,
 * seeds} of each metric) and, when gnuplot and tools/figures.sh are found, the figures.
 *
 * runner_train takes several runs at once (a sweep's variants): their seeds share one pool of
 * processes, and a run is aggregated as soon as its last seed ends. Before any process starts,
 * every checkpoint it will continue is checked (config fingerprint, records' lengths and
 * CRCs), so a foreign or damaged one stops everything with nothing written.
 *
 * Each seed process dies with the runner (run/signals.h). SIGINT stops every seed at its next
 * real step with a checkpoint; SIGTERM sent to the runner alone is forwarded to the seeds. */
#ifndef SB_RUNNER_H
#define SB_RUNNER_H

#include <stddef.h>

#include "config/game_config.h"
#include "game/game.h"
#include "game/world.h"

/* One config over its seeds. */
typedef struct {
    const GameConfig *cfg;
    const GameWorld *w;
    const char *dir;   /* DIR: created by the caller */
    int seeds;         /* seeds cfg->seed, cfg->seed + 1, ... */
    int resume;        /* continue each seed from DIR/seed-K/checkpoint.npz where there is one */
} RunnerRun;

typedef struct {
    int jobs;          /* cores to use (<= 0: all online): core tokens shared by every seed process */
    int threads;       /* threads per seed for the aggregators' phases (<= 0: jobs) */
    int quiet;         /* no progress line */
    int figures;       /* draw each finished run's figures (tools/figures.sh) */
} RunnerOptions;

/* What became of a run. */
typedef enum { RUNNER_DONE = 0, RUNNER_STOPPED, RUNNER_FAILED, RUNNER_BAD_INPUT } RunnerStatus;

/* One seed of one run, as the plan places it. */
typedef struct {
    int run, seed;     /* runs[run], seed index (cfg->seed + seed) */
    int threads;       /* threads for its follower phases (run/pool.h; 1: in order) */
} RunnerTask;

typedef struct {
    RunnerTask *task;  /* (n) in the order they start */
    int n;
    int jobs;          /* seed processes alive at once on this machine */
    int cores;         /* core tokens: at most this many threads compute at once (run/pool.h) */
} RunnerPlan;

/* Where the seeds run and with how many threads each: the one place that decides it. Every
 * (run, seed) is one task. The seeds are packed onto the cores: up to 4 per core are processes
 * at once (cores <= 0: `cores` online), each with `threads` threads (<= 0: one per core), and
 * core tokens let only `cores` of all their threads compute at a time, so no core idles while a
 * seed has work, and the last seed of a run trains its aggregators on every core. Under mpirun
 * the ranks take the tasks instead (run/spread.c). */
void runner_plan(RunnerPlan *p, const RunnerRun *runs, int n_runs, int jobs, int threads, int cores);
void runner_plan_free(RunnerPlan *p);

/* Run every seed of every run and aggregate each finished run. status (n_runs, may be
 * NULL) receives each run's outcome. Returns 0 when all are done; SIGINT or SIGTERM when
 * stopped (checkpoints written; a resume continues); -1 with err if a seed failed; -2 with err
 * for bad input (a damaged or foreign checkpoint or records: then no process was started).
 * Runs not hit by a failure are still completed and aggregated. */
int runner_train(const RunnerRun *runs, int n_runs, const RunnerOptions *o, RunnerStatus *status, char *err,
                 size_t n);

/* DIR/NAME from DIR/seed-0..seeds-1/NAME: the first key_cols columns copied (they must agree
 * across seeds), every other column as NAME_mean and NAME_std (population std over seeds).
 * Every seed's file must have the same header and rows, and numbers where numbers belong.
 * 0, or -1 with "PATH:LINE: what is wrong". */
int runner_aggregate_csv(const char *dir, int seeds, const char *name, int key_cols, char *err, size_t n);

/* DIR/summary.json: {mean, std, seeds} of each metric of the seeds' results (seeds), with
 * w's class names for the fixed charges, the run's wall time and cfg. 0, or -1 with err. */
int runner_write_summary(const char *dir, const GameConfig *cfg, const GameWorld *w, const GameResult *res, int seeds,
                         double wall_s, char *err, size_t n);

/* DIR's whole aggregate: steps.csv (keys day, hour, bus), periods.csv (period, day_start),
 * days.csv (day), hourly.csv (hour) and summary.json, from the seeds' results res (seeds) and
 * DIR/seed-K/. 0, or -1 with err. */
int runner_aggregate(const GameConfig *cfg, const GameWorld *w, const char *dir, const GameResult *res, int seeds,
                     double wall_s, char *err, size_t n);

/* Draw a run directory's figures with <data dir>/tools/SCRIPT DIR (util/datadir.h), started
 * with an argument vector, its output kept off the terminal. When gnuplot or the script is
 * missing, or the script fails (then with the end of its output), says so on stderr. 0
 * drawn, 1 skipped or failed. */
int runner_figures(const char *script, const char *dir);

/* run/spread.c: runner_train under mpirun: the tasks spread over the ranks (a rank runs its
 * share one after another, or, with more ranks than tasks, a task's aggregators spread over a
 * group of ranks: game.h, GameOptions.comm); world rank 0 aggregates every run. Every rank
 * calls it; the results are the same bits as a single process's. */
int runner_train_mpi(const RunnerRun *runs, int n_runs, const RunnerOptions *o, RunnerStatus *status, char *err,
                     size_t n);

#endif
