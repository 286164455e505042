/* bench_meanfield.c: the time each mean-field method takes with its default settings
 * (game/meanfield.h): on 5 random games of 4 states and 3 x 3 actions (the bar: under
 * 10 s each) and on the example games of configs/games/. Wall and CPU seconds per solve;
 * mfe solves for the uniform leader policy. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config/meanfield_config.h"
#include "game/meanfield.h"
#include "util/common.h"

#define GAMES 5

static void run(const char *name, const MfgGame *g, MfgSettings set, double *worst_wall, double *worst_cpu) {
    static const MfgMethod methods[] = {MFG_MFE, MFG_EXACT, MFG_NESTED, MFG_AC_SMFG, MFG_PPO};
    printf("  %-26s", name);
    for (size_t m = 0; m < SB_ARRAY_LEN(methods); m++) {
        set.method = methods[m];
        set.has_leader_policy = 1;
        for (int a = 0; a < g->L; a++) set.leader_policy[a] = 1.0 / g->L;
        MfgSolution sol;
        mfg_solution_init(&sol, g);
        clock_t c0 = clock();
        double t0 = sb_now();
        mfg_solve(g, &set, &sol, NULL);
        double wall = sb_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        printf(" %7.3f/%-7.3f%s", wall, cpu, sol.status == MFG_CONVERGED ? " " : "*");
        if (wall > worst_wall[m]) worst_wall[m] = wall;
        if (cpu > worst_cpu[m]) worst_cpu[m] = cpu;
        mfg_solution_free(&sol);
    }
    printf("\n");
}

int main(void) {
    double ww[5] = {0}, wc[5] = {0}, ew[5] = {0}, ec[5] = {0};
    printf("mean-field methods with default settings: wall/CPU seconds per solve (* not converged)\n");
    printf("  %-26s %-16s %-16s %-16s %-16s %-16s\n", "game", "mfe", "exact", "nested", "ac_smfg", "ppo");
    Rng r;
    rng_seed(&r, 4242, 0);
    for (int k = 0; k < GAMES; k++) {
        MfgGame g;
        double tau = rng_uniform_range(&r, 0.5, 1.0), gamma = rng_uniform_range(&r, 0.5, 0.95);
        mfg_game_random(&g, 4, 3, 3, gamma, tau, 0.5, &r);
        MfgSettings set;
        mfg_settings_default(&set);
        char name[64];
        snprintf(name, sizeof name, "random 4x3x3 #%d", k);
        run(name, &g, set, ww, wc);
        mfg_game_free(&g);
    }
    static const char *const files[] = {"configs/games/pricing.yaml", "configs/games/positioning.yaml",
                                        "configs/games/market_entry.yaml"};
    for (size_t i = 0; i < SB_ARRAY_LEN(files); i++) {
        MfgGame g;
        MfgSettings set;
        char err[512];
        if (mfg_load_file(files[i], &g, &set, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        run(files[i] + 14, &g, set, ew, ec);
        mfg_game_free(&g);
    }
    printf("  %-26s", "worst random 4x3x3");
    for (int m = 0; m < 5; m++) printf(" %7.3f/%-7.3f ", ww[m], wc[m]);
    printf("\n  %-26s", "worst example");
    for (int m = 0; m < 5; m++) printf(" %7.3f/%-7.3f ", ew[m], ec[m]);
    printf("\n");
    return 0;
}
