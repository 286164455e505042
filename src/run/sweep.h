/* sweep.h: every variant of a sweep (config/sweep_config.h) x its seeds, as parallel
 * processes (run/runner.h), resumable, summarised by variant.
 *
 * DIR/run.json records the sweep (kind "sweep": the sweep file, its text and a fingerprint
 * of every variant's resolved config and seed count); DIR/variant-K/ is variant K's run
 * directory, as `train` writes one (run.json, seed-*, the aggregate CSVs, summary.json), so
 * `train --resume DIR/variant-K` and `export DIR/variant-K/seed-0` work on it. When every
 * variant is done: DIR/sweep.csv (a row per variant: its axes' values and every summary field
 * with a mean and std over seeds, as NAME_mean, NAME_std) and, with gnuplot, the overlay
 * figures of tools/sweep_figures.sh (sweep_metrics.png/.pdf, sweep_imv.png/.pdf).
 *
 * Running a sweep into a DIR that holds the same sweep continues it: variants with a
 * summary.json are skipped, the others resume from their seeds' checkpoints. Every variant's
 * config is built and its grid loaded, and every checkpoint to continue checked, before any
 * process starts: bad input exits 2 with nothing written. */
#ifndef SB_SWEEP_H
#define SB_SWEEP_H

#include <stddef.h>

#include "config/sweep_config.h"

typedef struct {
    int jobs;            /* processes at once (<= 0: cores) */
    int quiet;
    int force;           /* DIR may hold something else: replace it */
    int figures;         /* draw the overlay figures */
    const char *holder;  /* the command line, for the directories' locks */
} SweepOptions;

/* Run sweep s into dir. 0 when every variant is done (sweep.csv written); SIGINT or SIGTERM
 * when stopped (run it again to continue); -1 with err (I/O, a seed failed); -2 with err (bad
 * input, dir in use or holding another run: nothing started). done receives the number of
 * variants finished (skipped ones included). */
int sweep_run(const SweepConfig *s, const char *dir, const SweepOptions *o, long *done, char *err, size_t n);

/* DIR/sweep.csv from DIR/variant-K/summary.json, K < s->n_variants. 0, or -1 with err. */
int sweep_write_csv(const SweepConfig *s, const char *dir, char *err, size_t n);

#endif
