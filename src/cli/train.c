/* train.c: `stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--quiet]`. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/single_config.h"
#include "config/yamltree.h"
#include "rl/single.h"
#include "util/common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg train CONFIG.yaml [--seed N] [--out DIR] [--set key=value ...] [--quiet]\n"
            "                                     [--seeds K] [--jobs J]   (tariff game)\n"
            "\n"
            "Train PPO agents as CONFIG describes (keys follow Stable-Baselines3's PPO names).\n"
            "\n"
            "  --seed N          override the config's seed\n"
            "  --out DIR         run directory (default runs/<config name>-seed<N>)\n"
            "  --set key=value   override a config key, e.g. --set learning_rate=1e-3 or\n"
            "                    --set policy_kwargs.net_arch=[32,32] (repeatable)\n"
            "  --quiet           no progress line\n"
            "  --seeds K         tariff game: run K seeds (default: the config's `seeds`)\n"
            "  --jobs J          tariff game: J seeds at once in parallel processes (default: cores)\n"
            "  -h, --help        this help\n"
            "\n"
            "Writes DIR/progress.csv (a row per update) and DIR/summary.json. A bad config exits 2\n"
            "with file:line:col: key: what is wrong, and writes nothing.\n");
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"seed", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 'S'},  {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},       {"seeds", required_argument, 0, 'K'},
                                         {"jobs", required_argument, 0, 'J'},  {0, 0, 0, 0}};
    const char *out = NULL, *seed_arg = NULL;
    const char **sets = sb_calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, quiet = 0, c, seeds = 0, jobs = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:S:qh", opts, NULL)) != -1) {
        switch (c) {
        case 's': seed_arg = optarg; break;
        case 'o': out = optarg; break;
        case 'S': sets[n_sets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'K': seeds = atoi(optarg); break;
        case 'J': jobs = atoi(optarg); break;
        case 'h': usage(stdout); free(sets); return SB_EXIT_OK;
        default: usage(stderr); free(sets); return SB_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "stackelberg train: expected one CONFIG.yaml\n\n");
        usage(stderr);
        free(sets);
        return SB_EXIT_USAGE;
    }
    const char *path = argv[optind];
    char err[1024];
    YtDoc doc;
    if (yt_load_file(&doc, path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        free(sets);
        return SB_EXIT_USAGE;
    }
    int rc = SB_EXIT_USAGE;
    for (int i = 0; i < n_sets; i++)
        if (yt_set(&doc, sets[i], err, sizeof err)) goto bad;
    if (seed_arg) {
        char buf[128];
        snprintf(buf, sizeof buf, "seed=%s", seed_arg);
        if (yt_set(&doc, buf, err, sizeof err)) goto bad;
    }
    if (!yt_find(&doc, NULL, "env")) {
        /* No `env`: a tariff-game config. */
        char outbuf[4096];
        if (!out) {
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s", path);
            char *stem = basename(tmp), *dot = strrchr(stem, '.');
            if (dot) *dot = 0;
            snprintf(outbuf, sizeof outbuf, "runs/%s", stem);
            out = outbuf;
        }
        rc = train_game(&doc, out, seeds, jobs, quiet);
        yt_free(&doc);
        free(sets);
        return rc;
    }
    SingleConfig cfg;
    single_config_default(&cfg);
    if (single_config_from_yaml(&doc, &cfg, err, sizeof err)) goto bad;

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
    SingleResult res;
    if (single_train(&cfg, out, quiet, &res, err, sizeof err)) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        rc = SB_EXIT_FAIL;
    } else {
        if (!quiet)
            printf("%s seed %llu: %ld steps in %.2f s (%.0f steps/s); eval return %.2f; wrote %s\n", cfg.env,
                   (unsigned long long)cfg.seed, res.env_steps, res.wall_s, res.steps_per_s,
                   res.eval_return_mean, out);
        rc = SB_EXIT_OK;
    }
    yt_free(&doc);
    free(sets);
    return rc;
bad:
    fprintf(stderr, "%s\n", err);
    yt_free(&doc);
    free(sets);
    return rc;
}
