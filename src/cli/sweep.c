/* sweep.c: `stackelberg sweep SWEEP.yaml [--jobs J] [--out DIR] [--force] [--quiet]`: every
 * variant of a sweep file x its seeds as parallel processes, resumable (run/sweep.h). */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/sweep_config.h"
#include "run/rundir.h"
#include "run/sweep.h"
#include "util/common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg sweep SWEEP.yaml [--jobs J] [--out DIR] [--force] [--quiet]\n"
            "\n"
            "Run every variant of a sweep of the tariff game, each over its seeds, as parallel\n"
            "processes. SWEEP.yaml names a base config and axes of --set values; every combination of\n"
            "one value per axis is a variant (configs/sweeps/ has an example):\n"
            "\n"
            "  base: ../paper.yaml              # relative to the sweep file\n"
            "  set: {days: 6, seeds: 2}         # overrides for every variant (optional)\n"
            "  axes:                            # dotted config keys, each with a list of values\n"
            "    utility.surplus_penalty: [0, 10]\n"
            "    utility.alpha_bounds: [[0, 0.01], [0, 0.02]]\n"
            "\n"
            "  --jobs J     seed processes at once (default: the number of cores)\n"
            "  --out DIR    the sweep's directory (default runs/sweep-<file name>)\n"
            "  --force      DIR may hold something else: an earlier run there is replaced\n"
            "  --quiet      no progress line\n"
            "  -h, --help   this help\n"
            "\n"
            "Writes DIR/variant-K/ (a train run directory per variant: its seeds and their aggregate),\n"
            "and once every variant is done DIR/sweep.csv (a row per variant: its axes' values and\n"
            "every summary field as NAME_mean and NAME_std over seeds) and, when gnuplot is installed,\n"
            "overlay figures of the headline metrics by variant (sweep_metrics.png/.pdf, daily IMV in\n"
            "sweep_imv.png/.pdf). A variant's paper figures: tools/figures.sh DIR/variant-K.\n"
            "\n"
            "Run the same command again to continue: finished variants are skipped, the others resume\n"
            "from their seeds' checkpoints. Ctrl-C or SIGTERM stop every seed with a checkpoint (exit\n"
            "130 or 143). Every variant's config is built and its grid loaded before anything starts:\n"
            "bad input exits 2 with file:line:col and writes nothing.\n"
            "Exit status: 0 done, 1 a seed failed, 2 bad usage or bad input, 130/143 stopped.\n");
}

int cmd_sweep(int argc, char **argv) {
    static const struct option opts[] = {{"jobs", required_argument, 0, 'J'}, {"out", required_argument, 0, 'o'},
                                         {"force", no_argument, 0, 'F'},      {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    char holder[1024];
    rundir_holder(holder, sizeof holder, argc, argv);
    SweepOptions o = {.figures = 1, .holder = holder};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'J': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 4096) {
                fprintf(stderr, "stackelberg sweep: --jobs: '%s' is not a whole number >= 1\n", optarg);
                return SB_EXIT_USAGE;
            }
            o.jobs = (int)v;
            break;
        }
        case 'o': out = optarg; break;
        case 'F': o.force = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return SB_EXIT_OK;
        default: usage(stderr); return SB_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "stackelberg sweep: expected one SWEEP.yaml\n\n");
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    const char *path = argv[optind];
    char outbuf[4096], err[4096];
    if (!out) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", path);
        char *stem = basename(tmp), *dot = strrchr(stem, '.');
        if (dot) *dot = 0;
        snprintf(outbuf, sizeof outbuf, "runs/sweep-%s", stem);
        out = outbuf;
    }
    SweepConfig s;
    if (sweep_config_load(&s, path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        sweep_config_free(&s);
        return SB_EXIT_USAGE;
    }
    long done = 0;
    double t0 = sb_now();
    int rc = sweep_run(&s, out, &o, &done, err, sizeof err), status;
    if (rc < 0) {
        /* A message that starts at a position in the sweep or base file is printed as it is. */
        int located = !strncmp(err, s.source, strlen(s.source)) || !strncmp(err, s.base_path, strlen(s.base_path));
        fprintf(stderr, "%s%s\n", located ? "" : "stackelberg sweep: ", err);
        status = rc == -2 ? SB_EXIT_USAGE : SB_EXIT_FAIL;
    } else if (rc > 0) {
        fprintf(stderr, "stackelberg sweep: stopped by %s with %ld of %ld variants done; every running seed wrote "
                        "a checkpoint; continue with the same command\n",
                rc == SIGTERM ? "SIGTERM" : "SIGINT", done, s.n_variants);
        status = 128 + rc;
    } else {
        if (!o.quiet) printf("sweep: %ld variants in %.1f s; wrote %s/sweep.csv\n", s.n_variants, sb_now() - t0, out);
        status = SB_EXIT_OK;
    }
    sweep_config_free(&s);
    return status;
}
