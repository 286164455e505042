/* train_game.c: `stackelberg train` for a tariff-game config (configs/paper.yaml). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "game/game_config.h"
#include "game/runner.h"
#include "util/common.h"

int train_game(const YtDoc *doc, const char *out, int seeds, int jobs, int quiet) {
    char err[1024];
    GameConfig cfg;
    game_config_default(&cfg);
    if (game_config_from_yaml(doc, &cfg, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return SB_EXIT_USAGE;
    }
    RunnerOptions o = {.seeds = seeds > 0 ? seeds : cfg.seeds, .jobs = jobs, .quiet = quiet, .figures = 1};
    double t0 = sb_now();
    int rc = game_train(&cfg, out, &o, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "stackelberg train: %s\n", err);
        return SB_EXIT_FAIL;
    }
    if (rc == 1) {
        fprintf(stderr, "stackelberg train: stopped; %s holds what was finished\n", out);
        return 130;
    }
    if (!quiet) printf("tariff game: %d seeds in %.1f s; wrote %s\n", o.seeds, sb_now() - t0, out);
    return SB_EXIT_OK;
}
