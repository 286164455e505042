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
#include "game/world.h"

typedef struct {
    int seeds;         /* runs: seed, seed + 1, ... */
    int jobs;          /* parallel processes (<= 0: the number of cores) */
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

#endif
