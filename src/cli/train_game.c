/* train_game.c: `stackelberg train` for a tariff-game config (configs/paper.yaml), and its
 * --resume. OUT/run.json records the config text, the --set overrides, the seed count and the
 * resolved config's fingerprint (run/rundir.h), so a resumed run rebuilds exactly the config
 * it started with, or refuses. */
#define _DEFAULT_SOURCE /* realpath */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/game_config.h"
#include "game/checkpoint.h"
#include "game/world.h"
#include "run/mpi.h"
#include "run/rundir.h"
#include "run/runner.h"
#include "util/common.h"
#include "util/fsutil.h"

/* Build the config from text + overrides. 0, or -1 with "file:line:col: ...". */
static int build_config(const char *file, const char *text, const char *const *sets, int n_sets, GameConfig *cfg,
                        char *err, size_t n) {
    YtDoc doc;
    game_config_default(cfg);
    if (yt_load_string(&doc, file, text, err, n)) return -1;
    int rc = 0;
    for (int i = 0; i < n_sets && !rc; i++) rc = yt_set(&doc, sets[i], err, n);
    if (!rc) rc = game_config_from_yaml(&doc, cfg, err, n);
    yt_free(&doc);
    return rc;
}

static int run(const GameConfig *cfg, const GameWorld *w, const char *out, int seeds, const TrainGameOptions *o,
               int resume) {
    char err[1024];
    /* Under mpirun world rank 0 speaks for the run and draws its figures. */
    RunnerOptions ro = {.jobs = o->jobs, .threads = o->threads, .quiet = o->quiet || sb_mpi_rank() != 0,
                        .figures = sb_mpi_rank() == 0};
    RunnerRun r = {.cfg = cfg, .w = w, .dir = out, .seeds = seeds, .resume = resume};
    double t0 = sb_now();
    int rc = runner_train(&r, 1, &ro, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    }
    if (rc > 0) {
        fprintf(stderr, "stackelberg train: stopped by %s; every seed wrote a checkpoint; continue with: "
                        "stackelberg train --resume %s\n",
                rc == SIGTERM ? "SIGTERM" : "SIGINT", out);
        return 128 + rc;
    }
    if (!ro.quiet) printf("tariff game: %d seeds in %.1f s; wrote %s\n", seeds, sb_now() - t0, out);
    return SB_EXIT_OK;
}

/* The recorded run in dir is this one: a game, the same resolved config and seed count. */
static int same_run(const char *dir, uint64_t fp, int seeds) {
    RunRecord rec;
    char err[256];
    int same = !rundir_read(&rec, dir, err, sizeof err) && !strcmp(rec.kind, "game") && rec.fingerprint == fp &&
               rec.seeds == seeds;
    rundir_record_free(&rec);
    return same;
}

int train_game(const char *file, const char *text, const char *const *sets, int n_sets, const char *out,
               const TrainGameOptions *o) {
    char err[1024];
    GameConfig cfg;
    GameWorld w;
    /* Everything that can be wrong with the input is found before a file is written. */
    if (build_config(file, text, sets, n_sets, &cfg, err, sizeof err) || game_world_load(&w, &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        game_config_free(&cfg);
        return SB_EXIT_USAGE;
    }
    /* The run is recorded, and built, with the config file's absolute path: its relative paths
     * (the grid) then resolve the same when the run is resumed from another directory. */
    char abs[4096];
    if (realpath(file, abs) && strcmp(abs, file)) {
        game_world_free(&w);
        game_config_free(&cfg);
        if (build_config(abs, text, sets, n_sets, &cfg, err, sizeof err) || game_world_load(&w, &cfg, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            game_config_free(&cfg);
            return SB_EXIT_USAGE;
        }
        file = abs;
    }
    int seeds = o->seeds > 0 ? o->seeds : cfg.seeds;
    RunRecord rec = {.kind = "game", .file = file, .yaml = text, .sets = sets, .n_sets = n_sets, .seeds = seeds,
                     .fingerprint = game_fingerprint(&cfg, &w)};
    const int root = sb_mpi_rank() == 0;
    int resume = o->cont && root && same_run(out, rec.fingerprint, seeds);
    sb_comm_bcast(sb_comm_world(), &resume, sizeof resume); /* rank 0's reading, before it writes */
    RunDirMode mode = resume ? RUNDIR_RESUME : o->force ? RUNDIR_FORCE : RUNDIR_NEW;
    DirLock lock;
    int status, rc = rundir_claim_ranks(&lock, out, mode, o->holder, err, sizeof err);
    if (rc) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        status = rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    } else if (root && resume && !same_run(out, rec.fingerprint, seeds)) {
        fprintf(stderr, "stackelberg train: %s: its run record changed while this run started\n", out);
        status = SB_EXIT_USAGE;
        if (sb_mpi_active()) sb_mpi_abort("the run record changed");
    } else if (root && !resume && rundir_write(out, &rec, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        status = SB_EXIT_FAIL;
        if (sb_mpi_active()) sb_mpi_abort(err);
    } else {
        if (resume && !o->quiet) fprintf(stderr, "stackelberg train: %s holds this run: continuing it\n", out);
        status = run(&cfg, &w, out, seeds, o, resume);
    }
    dir_unlock(&lock);
    game_world_free(&w);
    game_config_free(&cfg);
    return status;
}

int train_game_resume(const char *dir, const RunRecord *rec, const TrainGameOptions *o) {
    char err[1024];
    GameConfig cfg;
    GameWorld w;
    int status = SB_EXIT_USAGE;
    if (build_config(rec->file, rec->yaml, rec->sets, rec->n_sets, &cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s/run.json: the recorded config: %s\n", dir, err);
    } else if (game_world_load(&w, &cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s/run.json: the recorded config: %s\n", dir, err);
    } else {
        if (game_fingerprint(&cfg, &w) != rec->fingerprint)
            fprintf(stderr,
                    "stackelberg train: %s/run.json: the recorded config no longer resolves to the run's config "
                    "(fingerprint %016llx, recorded %016llx): a file it names (the grid?) has changed since the run "
                    "began\n",
                    dir, (unsigned long long)game_fingerprint(&cfg, &w), (unsigned long long)rec->fingerprint);
        else
            status = run(&cfg, &w, dir, rec->seeds, o, 1);
        game_world_free(&w);
    }
    game_config_free(&cfg);
    return status;
}
