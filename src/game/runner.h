/* runner.h: the tariff game over several seeds, in parallel processes, and the aggregate.
 *
 * OUT/seed-K/ holds each seed's steps.csv, periods.csv, days.csv and summary.json; OUT/ holds
 * the same files aggregated over seeds (mean and standard deviation of every numeric column,
 * row by row), hourly.csv (fleet net demand by hour of day, first and last report window),
 * summary.json ({mean, std} of each metric and the per-seed values) and, when gnuplot is
 * installed, the figures (tools/figures.sh). */
#ifndef SB_RUNNER_H
#define SB_RUNNER_H

#include <stddef.h>

#include "config/game_config.h"
#include "game/game.h"
#include "game/world.h"

typedef struct {
    int seeds;         /* runs: seed, seed + 1, ... */
    int jobs;          /* cores to use (<= 0: all online): core tokens shared by the seeds */
    int threads;       /* threads per seed for the aggregators' phases (<= 0: jobs) */
    int quiet;
    int figures;       /* 1: draw figures when gnuplot is present */
    int resume;        /* continue each seed from OUT/seed-K/checkpoint.npz where there is one */
} RunnerOptions;

/* SIGINT stops every seed at its next real step with a checkpoint; SIGTERM sent to the parent
 * is forwarded to the seeds. Returns 0 on success, the signal number (SIGINT, SIGTERM) when
 * stopped (checkpoints written; `train --resume OUT` continues), -1 with err, -2 with err
 * when a seed found its checkpoint or records damaged or foreign. */
int game_train(const GameConfig *cfg, const GameWorld *w, const char *out_dir, const RunnerOptions *o, char *err,
               size_t n);

/* OUT/'s aggregate over seeds (steps, periods, days, hourly CSVs: mean and std per cell) and
 * summary.json, from the seeds' results res (seeds) and their directories OUT/seed-K. */
int game_runner_aggregate(const GameConfig *cfg, const GameWorld *w, const char *dir, const GameResult *res, int seeds,
                          double wall, char *err, size_t n);

/* run/spread.c: the same under mpirun: seeds spread over the ranks, a seed's aggregators over
 * its group of ranks (run/mpi.h); world rank 0 writes the aggregate. Every rank calls it. */
int game_train_mpi(const GameConfig *cfg, const GameWorld *w, const char *dir, const RunnerOptions *o, char *err,
                   size_t n);

#endif
