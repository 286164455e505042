/* train.c: `stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--quiet]`
 * and `stackelberg train --resume DIR [--quiet]`. */
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
#include "util/common.h"
#include "util/fsutil.h"
#include "util/signals.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--quiet]\n"
            "       stackelberg train --resume DIR [--quiet]\n"
            "       stackelberg train GAME.yaml [--seeds K] [--jobs J] [--out DIR] [--set key=value ...]\n"
            "\n"
            "Train PPO agents as CONFIG describes (keys follow Stable-Baselines3's PPO names).\n"
            "\n"
            "  --seed N          override the config's seed\n"
            "  --out DIR         run directory (default runs/<config name>-seed<N>)\n"
            "  --set key=value   override a config key, e.g. --set learning_rate=1e-3 or\n"
            "                    --set policy_kwargs.net_arch=[32,32] (repeatable)\n"
            "  --resume DIR      continue the run in DIR from DIR/checkpoint.npz (its config,\n"
            "                    overrides and seed are the ones recorded there)\n"
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
            "Writes DIR/progress.csv (a row per update), DIR/checkpoint.npz and DIR/summary.json.\n"
            "SIGINT (Ctrl-C) or SIGTERM stop after the current update with a checkpoint and exit\n"
            "130 or 143; a second Ctrl-C stops at once. A resumed run ends exactly as an\n"
            "uninterrupted one would (only the wall-clock fields differ). A bad config exits 2\n"
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
static int run(const SingleConfig *cfg, const char *out, const SingleOptions *o) {
    char err[1024];
    SingleResult res;
    sig_install();
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

static int resume(const char *dir, SingleOptions *o) {
    char err[1024];
    SingleCheckpoint ck;
    int status = SB_EXIT_USAGE;
    if (single_checkpoint_load(&ck, dir, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        goto done;
    }
    SingleConfig cfg;
    if (load_config(&ck.source, &cfg, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s: the recorded config: %s\n", ck.path, err);
        goto done;
    }
    o->source = &ck.source;
    o->resume = &ck;
    status = run(&cfg, dir, o);
done:
    single_checkpoint_free(&ck);
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

static int game_source(const SingleSource *src, const char *out, int seeds, int jobs, int threads, int quiet) {
    char outbuf[4096];
    if (!out) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", src->file);
        char *stem = basename(tmp), *dot = strrchr(stem, '.');
        if (dot) *dot = 0;
        snprintf(outbuf, sizeof outbuf, "runs/%s", stem);
        out = outbuf;
    }
    return train_game(src->file, src->text, src->sets, src->n_sets, out, seeds, jobs, threads, quiet);
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
                                         {0, 0, 0, 0}};
    const char *out = NULL, *seed_arg = NULL, *resume_dir = NULL;
    /* the overrides in the order applied; a --seed goes last as "seed=N" */
    const char **sets = sb_calloc((size_t)argc + 1, sizeof *sets);
    char seed_set[128];
    int n_sets = 0, c, seeds = 0, jobs = 0, threads = 0;
    SingleOptions o = {.checkpoint_every = 10.0};
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
        case 'q': o.quiet = 1; break;
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
            *(c == 'K' ? &seeds : c == 'J' ? &jobs : &threads) = (int)v;
            break;
        }
        case 'h': usage(stdout); free(sets); return SB_EXIT_OK;
        default: usage(stderr); free(sets); return SB_EXIT_USAGE;
        }
    }
    if (resume_dir) {
        int status;
        if (optind != argc || out || seed_arg || n_sets) {
            fprintf(stderr, "stackelberg train: --resume DIR takes no CONFIG, --out, --seed or --set "
                            "(the run continues with what its checkpoint records)\n\n");
            usage(stderr);
            status = SB_EXIT_USAGE;
        } else {
            /* A tariff-game run records run.json; a single-agent run its checkpoint.npz. */
            char rj[4096];
            path_join(rj, sizeof rj, resume_dir, "run.json");
            status = access(rj, F_OK) == 0 ? train_game_resume(resume_dir, jobs, threads, o.quiet) : resume(resume_dir, &o);
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
        status = game_source(&src, out, seeds, jobs, threads, o.quiet);
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
        o.source = &src;
        status = run(&cfg, out, &o);
    }
    free(text);
    free(sets);
    return status;
}
