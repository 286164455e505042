/* train.c: `stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--quiet]
 * [--force | --continue]` and `stackelberg train --resume DIR [--quiet]`.
 *
 * Every run claims its directory first (run/rundir.h: one writer, a new run only into an
 * empty directory unless --force) and records itself in DIR/run.json; --resume rebuilds the
 * config from that record and refuses a checkpoint written by another run. */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/single_config.h"
#include "config/yamltree.h"
#include "rl/single.h"
#include "run/rundir.h"
#include "run/signals.h"
#include "util/common.h"
#include "util/fsutil.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--force | --continue]\n"
            "       stackelberg train --resume DIR [--quiet]\n"
            "       stackelberg train GAME.yaml [--seeds K] [--jobs J] [--out DIR] [--set key=value ...]\n"
            "\n"
            "Train PPO agents as CONFIG describes (keys follow Stable-Baselines3's PPO names).\n"
            "\n"
            "  --seed N          override the config's seed\n"
            "  --out DIR         run directory (default runs/<config name>-seed<N>; tariff game:\n"
            "                    runs/<config name>); it must be empty or new\n"
            "  --set key=value   override a config key, e.g. --set learning_rate=1e-3 or\n"
            "                    --set policy_kwargs.net_arch=[32,32] (repeatable)\n"
            "  --force           DIR may hold an earlier run: its files are removed first (only the\n"
            "                    kinds a run writes: CSV, JSON, npz, figures; other files stay)\n"
            "  --continue        if DIR holds a run of this same config (text, overrides, seeds),\n"
            "                    continue it as --resume would; otherwise start (into an empty DIR,\n"
            "                    or with --force into any)\n"
            "  --resume DIR      continue the run in DIR (its config, overrides and seed are the\n"
            "                    ones DIR/run.json records)\n"
            "  --checkpoint-every S  seconds between periodic checkpoints (default 10; 0: only\n"
            "                    at the end and on a signal)\n"
            "  --quiet           no progress line\n"
            "  --seeds K         tariff game: run K seeds (default: the config's `seeds`)\n"
            "  --jobs J          tariff game: use J cores (default: all); every seed is a process and\n"
            "                    their work is packed onto the J cores\n"
            "  --threads T       tariff game: threads per seed for the aggregators' training phases\n"
            "                    (default: J); results are the same bits for every T. Under\n"
            "                    `mpirun -np K` the seeds, and a seed's aggregators, spread over the ranks\n"
            "  -h, --help        this help\n"
            "\n"
            "Writes DIR/run.json (the run's record), DIR/progress.csv (a row per update),\n"
            "DIR/checkpoint.npz and DIR/summary.json. One run writes into a directory at a time:\n"
            "a second one exits 2 naming the first's pid and command. SIGINT (Ctrl-C) or SIGTERM\n"
            "stop after the current update with a checkpoint and exit 130 or 143; a second Ctrl-C\n"
            "stops at once. A resumed run ends exactly as an uninterrupted one would (only the\n"
            "wall-clock fields differ); records that do not match their checkpoint, a checkpoint\n"
            "from another run and an edited run.json are refused with exit 2. A bad config exits 2\n"
            "with file:line:col: key: what is wrong, and writes nothing.\n");
}

/* Parse the recorded or given source into cfg. -1 with err (file:line:col: ...). */
static int load_config(const SingleSource *src, SingleConfig *cfg, char *err, size_t n) {
    YtDoc doc;
    if (yt_load_string(&doc, src->file, src->text, err, n)) return -1;
    int rc = 0;
    for (int i = 0; i < src->n_sets && !rc; i++) rc = yt_set(&doc, src->sets[i], err, n);
    single_config_default(cfg);
    if (!rc) rc = single_config_from_yaml(&doc, cfg, err, n);
    yt_free(&doc);
    return rc;
}

/* Run and map the outcome to the exit status. */
static int run(const SingleConfig *cfg, const char *out, SingleOptions *o) {
    char err[1024];
    SingleResult res;
    sig_install();
    o->stop = sig_stop_flag();
    int rc = single_run(cfg, out, o, &res, err, sizeof err);
    if (rc) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    }
    if (res.signal) {
        fprintf(stderr, "stackelberg train: stopped by %s after %ld steps; checkpoint in %s/checkpoint.npz; "
                        "continue with: stackelberg train --resume %s\n",
                res.signal == SIGINT ? "SIGINT" : "SIGTERM", res.env_steps, out, out);
        return sig_exit_code(res.signal);
    }
    if (!o->quiet)
        printf("%s seed %llu: %ld steps in %.2f s (%.0f steps/s); eval return %.2f; wrote %s\n", cfg->env,
               (unsigned long long)cfg->seed, res.env_steps, res.wall_s, res.steps_per_s, res.eval_return_mean,
               out);
    return SB_EXIT_OK;
}

/* Continue the single-agent run in dir (its lock held) from its record: from its checkpoint
 * when there is one (refused if another run wrote it), else from the start. */
static int resume_single(const char *dir, const RunRecord *rec, SingleOptions *o) {
    char err[1024], path[4200];
    SingleSource src = {.file = rec->file, .text = rec->yaml, .sets = rec->sets, .n_sets = rec->n_sets};
    SingleConfig cfg;
    if (rundir_source_fingerprint(rec->yaml, rec->sets, rec->n_sets) != rec->fingerprint) {
        fprintf(stderr, "stackelberg train: %s/run.json: its fingerprint is not its config's\n", dir);
        return SB_EXIT_USAGE;
    }
    if (load_config(&src, &cfg, err, sizeof err) || single_validate(&cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s/run.json: the recorded config: %s\n", dir, err);
        return SB_EXIT_USAGE;
    }
    o->source = &src;
    path_join(path, sizeof path, dir, "checkpoint.npz");
    if (access(path, F_OK) != 0) {
        if (!o->quiet) fprintf(stderr, "stackelberg train: %s: no checkpoint yet; starting the run again\n", dir);
        return run(&cfg, dir, o);
    }
    SingleCheckpoint ck;
    int status = SB_EXIT_USAGE;
    if (single_checkpoint_load(&ck, dir, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
    } else if (rundir_source_fingerprint(ck.source.text, ck.source.sets, ck.source.n_sets) != rec->fingerprint) {
        fprintf(stderr,
                "stackelberg train: %s: written by another run (its config: %s with %d overrides; this directory's "
                "run.json: %s with %d); a checkpoint continues only the run that wrote it\n",
                ck.path, ck.source.file, ck.source.n_sets, rec->file, rec->n_sets);
    } else {
        o->resume = &ck;
        status = run(&cfg, dir, o);
    }
    single_checkpoint_free(&ck);
    return status;
}

/* `train --resume DIR`: the record read and verified before the directory is claimed (an
 * edited run.json leaves everything as it was), and again under the lock. */
static int resume(const char *dir, SingleOptions *o, const TrainGameOptions *go) {
    char err[1024];
    RunRecord rec;
    int rc = rundir_read(&rec, dir, err, sizeof err);
    rundir_record_free(&rec);
    if (rc) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return SB_EXIT_USAGE;
    }
    DirLock lock;
    if ((rc = rundir_claim_ranks(&lock, dir, RUNDIR_RESUME, go->holder, err, sizeof err))) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    }
    int status = SB_EXIT_USAGE;
    if (rundir_read(&rec, dir, err, sizeof err)) fprintf(stderr, "stackelberg train: %s\n", err);
    else if (!strcmp(rec.kind, "game")) status = train_game_resume(dir, &rec, go);
    else if (!strcmp(rec.kind, "single")) status = resume_single(dir, &rec, o);
    else fprintf(stderr, "stackelberg train: %s/run.json: a %s, not a training run (continue a sweep with `stackelberg sweep`)\n", dir, rec.kind);
    rundir_record_free(&rec);
    dir_unlock(&lock);
    return status;
}

/* A new single-agent run into out (or the one it holds, with --continue). */
static int start_single(const SingleSource *src, const SingleConfig *cfg, const char *out, SingleOptions *o,
                        const TrainGameOptions *go) {
    char err[1024];
    if (single_validate(cfg, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", src->file, err);
        return SB_EXIT_USAGE;
    }
    RunRecord rec = {.kind = "single", .file = src->file, .yaml = src->text, .sets = src->sets, .n_sets = src->n_sets,
                     .seeds = 1, .fingerprint = rundir_source_fingerprint(src->text, src->sets, src->n_sets)};
    if (go->cont) {
        RunRecord old;
        int same = !rundir_read(&old, out, err, sizeof err) && !strcmp(old.kind, "single") &&
                   old.fingerprint == rec.fingerprint;
        rundir_record_free(&old);
        if (same) return resume(out, o, go);
    }
    DirLock lock;
    int rc = rundir_claim(&lock, out, go->force ? RUNDIR_FORCE : RUNDIR_NEW, go->holder, err, sizeof err);
    if (rc) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    }
    int status;
    if (rundir_write(out, &rec, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        status = SB_EXIT_FAIL;
    } else {
        o->source = src;
        status = run(cfg, out, o);
    }
    dir_unlock(&lock);
    return status;
}

/* A tariff-game config is one without `env` (the single-agent runs name their environment). */
static int is_game(const SingleSource *src) {
    YtDoc doc;
    char err[256];
    if (yt_load_string(&doc, src->file, src->text, err, sizeof err)) return 0; /* load_config reports it */
    int game = !yt_find(&doc, NULL, "env");
    yt_free(&doc);
    return game;
}

static int game_source(const SingleSource *src, const char *out, const TrainGameOptions *go) {
    char outbuf[4096];
    if (!out) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", src->file);
        char *stem = basename(tmp), *dot = strrchr(stem, '.');
        if (dot) *dot = 0;
        snprintf(outbuf, sizeof outbuf, "runs/%s", stem);
        out = outbuf;
    }
    return train_game(src->file, src->text, src->sets, src->n_sets, out, go);
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 'S'},
                                         {"resume", required_argument, 0, 'r'},
                                         {"checkpoint-every", required_argument, 0, 'c'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {"seeds", required_argument, 0, 'K'},
                                         {"jobs", required_argument, 0, 'J'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"force", no_argument, 0, 'F'},
                                         {"continue", no_argument, 0, 'C'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *seed_arg = NULL, *resume_dir = NULL;
    /* the overrides in the order applied; a --seed goes last as "seed=N" */
    const char **sets = sb_calloc((size_t)argc + 1, sizeof *sets);
    char seed_set[128];
    int n_sets = 0, c;
    SingleOptions o = {.checkpoint_every = 10.0};
    char holder[1024];
    rundir_holder(holder, sizeof holder, argc, argv);
    TrainGameOptions go = {.holder = holder};
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:S:qh", opts, NULL)) != -1) {
        switch (c) {
        case 's': seed_arg = optarg; break;
        case 'o': out = optarg; break;
        case 'S': sets[n_sets++] = optarg; break;
        case 'r': resume_dir = optarg; break;
        case 'c': {
            char *end;
            o.checkpoint_every = strtod(optarg, &end);
            if (end == optarg || *end || !(o.checkpoint_every >= 0)) {
                fprintf(stderr, "stackelberg train: --checkpoint-every: '%s' is not a number of seconds >= 0\n", optarg);
                free(sets);
                return SB_EXIT_USAGE;
            }
            break;
        }
        case 'q': o.quiet = go.quiet = 1; break;
        case 'F': go.force = 1; break;
        case 'C': go.cont = 1; break;
        case 'K':
        case 'J':
        case 'T': {
            char *end;
            long v = strtol(optarg, &end, 10);
            const char *name = c == 'K' ? "seeds" : c == 'J' ? "jobs" : "threads";
            if (end == optarg || *end || v < 1 || v > 4096) {
                fprintf(stderr, "stackelberg train: --%s: '%s' is not a whole number >= 1\n", name, optarg);
                free(sets);
                return SB_EXIT_USAGE;
            }
            *(c == 'K' ? &go.seeds : c == 'J' ? &go.jobs : &go.threads) = (int)v;
            break;
        }
        case 'h': usage(stdout); free(sets); return SB_EXIT_OK;
        default: usage(stderr); free(sets); return SB_EXIT_USAGE;
        }
    }
    if (resume_dir) {
        int status;
        if (optind != argc || out || seed_arg || n_sets || go.seeds || go.force || go.cont) {
            fprintf(stderr, "stackelberg train: --resume DIR takes no CONFIG, --out, --seed, --seeds, --set, --force "
                            "or --continue (the run continues with what DIR/run.json records)\n\n");
            usage(stderr);
            status = SB_EXIT_USAGE;
        } else {
            status = resume(resume_dir, &o, &go);
        }
        free(sets);
        return status;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "stackelberg train: expected one CONFIG.yaml\n\n");
        usage(stderr);
        free(sets);
        return SB_EXIT_USAGE;
    }
    const char *path = argv[optind];
    if (seed_arg) {
        snprintf(seed_set, sizeof seed_set, "seed=%s", seed_arg);
        sets[n_sets++] = seed_set;
    }
    char err[1024];
    unsigned char *text = NULL;
    size_t len;
    int status = SB_EXIT_USAGE;
    if (read_file(path, &text, &len, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        free(sets);
        return SB_EXIT_USAGE;
    }
    SingleSource src = {.file = path, .text = (const char *)text, .sets = sets, .n_sets = n_sets};
    SingleConfig cfg;
    if (strlen(src.text) != len) {
        fprintf(stderr, "%s: contains a NUL byte; not a YAML text file\n", path);
    } else if (is_game(&src)) {
        status = game_source(&src, out, &go);
    } else if (load_config(&src, &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
    } else {
        char outbuf[4096];
        if (!out) {
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s", path);
            char *stem = basename(tmp);
            char *dot = strrchr(stem, '.');
            if (dot) *dot = 0;
            snprintf(outbuf, sizeof outbuf, "runs/%s-seed%llu", stem, (unsigned long long)cfg.seed);
            out = outbuf;
        }
        status = start_single(&src, &cfg, out, &o, &go);
    }
    free(text);
    free(sets);
    return status;
}
