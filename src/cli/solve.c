/* solve.c: `stackelberg solve GAME.yaml`: solve a tabular Stackelberg Markov game (see
 * src/game/tabular.h) and print the policy pair with its exact values, as text or JSON.
 *
 * Exit codes: 0 converged, 1 stopped at max_iter (the result is still printed), 2 bad usage
 * or a bad game file (file:line:col: key: what is wrong). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/tabular_config.h"
#include "game/tabular.h"
#include "util/common.h"
#include "util/json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg solve GAME.yaml [--method exact|softmax|ppo] [--json]\n\n"
            "Solve a two-player Stackelberg Markov game on a finite state: in state s the leader\n"
            "picks aL, the follower sees (s, aL) and picks aF. GAME.yaml gives states, action\n"
            "counts, gamma, reward.{leader,follower}[s][aL][aF], transition[s][aL][aF][s'] and\n"
            "an optional solver section (see configs/games/).\n\n"
            "methods:\n"
            "  exact    Stackelberg Q-value iteration (follower ties go to the leader)\n"
            "  softmax  the paper's softmax policy iteration (solver.alpha, optional solver.net)\n"
            "  ppo      PPO agents for both players, alternating (solver.ppo)\n\n"
            "options:\n"
            "  --method M  override solver.method\n"
            "  --json      print status, iterations, leader_policy[s][aL],\n"
            "              follower_policy[s][aL][aF], value_leader[s], value_follower[s]\n\n"
            "Values are those of the returned policy pair, evaluated exactly. Exit status: 0\n"
            "converged, 1 stopped at solver.max_iter (ppo: the most likely actions still\n"
            "changed in the last round), 2 bad usage or bad file.\n");
}

static void print_json(const TabGame *g, const TabSolution *sol) {
    Json j;
    json_init(&j, stdout, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "status", sol->status == TAB_CONVERGED ? "converged" : "max_iter");
    json_int(&j, "iterations", sol->iterations);
    json_arr_begin_block(&j, "leader_policy");
    for (int s = 0; s < g->S; s++) json_num_array(&j, NULL, sol->leader_policy + (size_t)s * g->L, (size_t)g->L);
    json_arr_end(&j);
    json_arr_begin_block(&j, "follower_policy");
    for (int s = 0; s < g->S; s++) {
        json_arr_begin_block(&j, NULL);
        for (int a = 0; a < g->L; a++)
            json_num_array(&j, NULL, sol->follower_policy + ((size_t)s * g->L + a) * g->F, (size_t)g->F);
        json_arr_end(&j);
    }
    json_arr_end(&j);
    json_num_array(&j, "value_leader", sol->value_leader, (size_t)g->S);
    json_num_array(&j, "value_follower", sol->value_follower, (size_t)g->S);
    json_obj_end(&j);
    json_end(&j);
}

static void print_row(const double *p, int n) {
    printf("[");
    for (int i = 0; i < n; i++) printf("%s%.6g", i ? ", " : "", p[i]);
    printf("]");
}

static void print_text(const char *path, const TabGame *g, const TabSettings *set, const TabSolution *sol) {
    printf("%s: %d states, %d leader actions, %d follower actions, gamma leader %g follower %g\n", path, g->S,
           g->L, g->F, g->gamma_leader, g->gamma_follower);
    printf("method %s: %s after %ld iterations (last change %.3g)\n", tab_method_name(set->method),
           sol->status == TAB_CONVERGED ? "converged" : "stopped at max_iter", sol->iterations, sol->residual);
    printf("mean value over states: leader %.10g, follower %.10g\n", tab_mean(sol->value_leader, g->S),
           tab_mean(sol->value_follower, g->S));
    for (int s = 0; s < g->S; s++) {
        printf("state %d: value leader %.10g, follower %.10g\n  leader policy ", s, sol->value_leader[s],
               sol->value_follower[s]);
        print_row(sol->leader_policy + (size_t)s * g->L, g->L);
        printf("\n");
        for (int a = 0; a < g->L; a++) {
            printf("  follower policy after aL=%d ", a);
            print_row(sol->follower_policy + ((size_t)s * g->L + a) * g->F, g->F);
            printf("\n");
        }
    }
}

int cmd_solve(int argc, char **argv) {
    const char *path = NULL, *method = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return SB_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--method")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "stackelberg solve: --method needs a value (exact, softmax or ppo)\n");
                return SB_EXIT_USAGE;
            }
            method = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "stackelberg solve: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return SB_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "stackelberg solve: one game file only ('%s' and '%s')\n", path, argv[i]);
            return SB_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    TabMethod override = TAB_EXACT;
    if (method && tab_method_parse(method, &override)) {
        fprintf(stderr, "stackelberg solve: unknown method '%s' (exact, softmax or ppo)\n", method);
        return SB_EXIT_USAGE;
    }
    TabGame g;
    TabSettings set;
    char err[1024];
    if (tab_load_file(path, &g, &set, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return SB_EXIT_USAGE;
    }
    if (method) set.method = override;
    TabSolution sol;
    tab_solution_init(&sol, &g);
    if (set.method == TAB_EXACT) tab_solve_exact(&g, &set, &sol);
    else if (set.method == TAB_SOFTMAX) tab_solve_softmax(&g, &set, &sol);
    else tab_solve_ppo(&g, &set.ppo, &sol);
    if (json) print_json(&g, &sol);
    else print_text(path, &g, &set, &sol);
    int rc = sol.status == TAB_CONVERGED ? SB_EXIT_OK : SB_EXIT_FAIL;
    tab_solution_free(&sol);
    tab_game_free(&g);
    return rc;
}
