/* train_game.c: `stackelberg train` for a tariff-game config (configs/paper.yaml), and its
 * --resume. OUT/run.json records the config text, the --set overrides and the seed count, so
 * a resumed run rebuilds exactly the config it started with. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/game_config.h"
#include "game/runner.h"
#include "game/world.h"
#include "run/mpi.h"
#include "io/jsonval.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

static int write_run_json(const char *out, const char *file, const char *text, const char *const *sets, int n_sets,
                          int seeds, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, out, "run.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "kind", "game");
    json_str(&j, "config_file", file);
    json_str(&j, "config_yaml", text);
    json_arr_begin(&j, "set");
    for (int i = 0; i < n_sets; i++) json_str(&j, NULL, sets[i]);
    json_arr_end(&j);
    json_int(&j, "seeds", seeds);
    json_str(&j, "version", SB_VERSION);
    json_obj_end(&j);
    json_end(&j);
    return atomic_commit(&a, err, n);
}

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

static int run(const GameConfig *cfg, const GameWorld *w, const char *out, int seeds, int jobs, int threads, int quiet,
               int resume) {
    char err[1024];
    if (sb_mpi_rank() != 0) quiet = 1; /* under mpirun, world rank 0 speaks for the run */
    RunnerOptions o = {.seeds = seeds, .jobs = jobs, .threads = threads, .quiet = quiet, .figures = sb_mpi_rank() == 0, .resume = resume};
    double t0 = sb_now();
    int rc = game_train(cfg, w, out, &o, err, sizeof err);
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
    if (!quiet) printf("tariff game: %d seeds in %.1f s; wrote %s\n", seeds, sb_now() - t0, out);
    return SB_EXIT_OK;
}

int train_game(const char *file, const char *text, const char *const *sets, int n_sets, const char *out, int seeds,
               int jobs, int threads, int quiet) {
    char err[1024];
    GameConfig cfg;
    GameWorld w;
    /* Everything that can be wrong with the input is found before a file is written. */
    if (build_config(file, text, sets, n_sets, &cfg, err, sizeof err) || game_world_load(&w, &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        game_config_free(&cfg);
        return SB_EXIT_USAGE;
    }
    if (seeds <= 0) seeds = cfg.seeds;
    int status;
    if (sb_mpi_rank() == 0 &&
        (mkdir_p(out, err, sizeof err) || write_run_json(out, file, text, sets, n_sets, seeds, err, sizeof err))) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        status = SB_EXIT_FAIL;
    } else {
        status = run(&cfg, &w, out, seeds, jobs, threads, quiet, 0);
    }
    game_world_free(&w);
    game_config_free(&cfg);
    return status;
}

int train_game_resume(const char *dir, int jobs, int threads, int quiet) {
    char err[1024], path[4096];
    path_join(path, sizeof path, dir, "run.json");
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return SB_EXIT_USAGE;
    }
    JVal v;
    int status = SB_EXIT_USAGE;
    if (jv_parse(&v, (const char *)buf, len, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s: %s\n", path, err);
        free(buf);
        return status;
    }
    const char *file = NULL, *text = NULL;
    double seeds = 0;
    const JVal *set = jv_get(&v, "set");
    if (jv_get_str(&v, "config_file", &file) != 1 || jv_get_str(&v, "config_yaml", &text) != 1 ||
        jv_get_num(&v, "seeds", &seeds) != 1 || seeds < 1 || !set || set->kind != JV_ARR) {
        fprintf(stderr, "stackelberg train: %s: not a tariff-game run record (config_file, config_yaml, set, seeds)\n",
                path);
        goto done;
    }
    const char **sets = sb_calloc(set->n + 1, sizeof *sets);
    for (size_t i = 0; i < set->n; i++) {
        if (set->items[i].kind != JV_STR) {
            fprintf(stderr, "stackelberg train: %s: set[%zu] is not a string\n", path, i);
            free(sets);
            goto done;
        }
        sets[i] = set->items[i].str;
    }
    GameConfig cfg;
    GameWorld w;
    if (build_config(file, text, sets, (int)set->n, &cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s: the recorded config: %s\n", path, err);
    } else if (game_world_load(&w, &cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s: the recorded config: %s\n", path, err);
    } else {
        status = run(&cfg, &w, dir, (int)seeds, jobs, threads, quiet, 1);
        game_world_free(&w);
    }
    game_config_free(&cfg);
    free(sets);
done:
    jv_free(&v);
    free(buf);
    return status;
}
