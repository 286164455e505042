/* solve.c: `stackelberg solve GAME.yaml`: solve a tabular game and print the result, as text
 * or JSON. Two kinds of file (the `game:` key): two-player Stackelberg Markov games
 * (`tabular`, src/game/tabular.h) and Stackelberg mean-field games (`mean_field`,
 * src/game/meanfield.h).
 *
 * Exit codes: 0 converged, 1 stopped at max_iter (the result is still printed), 2 bad usage
 * or a bad game file (file:line:col: key: what is wrong), with nothing written. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/gamefile.h"
#include "config/meanfield_config.h"
#include "config/tabular_config.h"
#include "game/meanfield.h"
#include "game/tabular.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg solve GAME.yaml [--method M] [--json]\n"
            "       stackelberg solve GAME.yaml [--method mfe|exact|nested|ac_smfg|ppo]\n"
            "                         [--leader-policy p1,p2,...] [--seed N] [--history FILE.csv]\n"
            "                         [--set KEY=VALUE ...] [--json]\n\n"
            "Solve a tabular Stackelberg game; the file's `game:` key says which kind (see\n"
            "configs/games/).\n\n"
            "game: tabular, a two-player Stackelberg Markov game on a finite state: in state s the\n"
            "leader picks aL, the follower sees (s, aL) and picks aF. GAME.yaml gives states, action\n"
            "counts, gamma, reward.{leader,follower}[s][aL][aF], transition[s][aL][aF][s'] and an\n"
            "optional solver section. methods:\n"
            "  exact    Stackelberg Q-value iteration (follower ties go to the leader)\n"
            "  softmax  the paper's softmax policy iteration (solver.alpha, optional solver.net)\n"
            "  ppo      PPO agents for both players, alternating (solver.ppo)\n"
            "  --json prints status, iterations, leader_policy[s][aL], follower_policy[s][aL][aF],\n"
            "  value_leader[s], value_follower[s]: the values of the returned pair, evaluated exactly.\n\n"
            "game: mean_field, a Stackelberg mean-field game: a stateless leader draws aL from phi\n"
            "each step, a continuum of followers in states s see it and play pi(aF | s, aL) with\n"
            "entropy-regularised rewards that depend on the population's profile mu(s) pi(aF|s,aL);\n"
            "mu is the stationary state distribution; the leader's objective is J(phi), its reward at\n"
            "the mean-field equilibrium (MFE) of phi. methods:\n"
            "  mfe      the MFE of a given leader policy, to solver.mfe.tol (1e-10)\n"
            "  exact    the leader's Stackelberg optimum: max of J over the simplex (grid, then\n"
            "           pattern search; meant for up to 4 leader actions)\n"
            "  nested   Algorithm 1 of He et al.: inner loop to the MFE, then the leader's softmax\n"
            "           response (solver.alpha), until phi settles (solver.nested)\n"
            "  ac_smfg  the single-loop actor-critic AC-SMFG (Zeng et al.), from samples only\n"
            "           (solver.ac_smfg)\n"
            "  ppo      PPO agents for the leader and the representative follower, alternating,\n"
            "           with the mean field from a sampled trajectory (solver.ppo)\n"
            "  --json prints status, iterations, samples (sample-based methods), leader_policy[aL],\n"
            "  follower_policy[s][aL][aF], mean_field[s], leader_objective (J of the returned\n"
            "  leader policy, evaluated exactly; the sample-based methods return the follower\n"
            "  policy and mean field they learned).\n\n"
            "options:\n"
            "  --method M             override solver.method\n"
            "  --json                 print the result as JSON\n"
            "  --leader-policy P      mean_field, method mfe: the leader policy (comma-separated,\n"
            "                         on the simplex), overriding solver.leader_policy\n"
            "  --seed N               mean_field: override solver.seed\n"
            "  --history FILE.csv     mean_field: write iteration,samples,leader_objective,phi_0,...\n"
            "                         (the objective of the current leader policy, evaluated exactly)\n"
            "  --set KEY=VALUE        mean_field: override a key of the file, e.g.\n"
            "                         --set solver.nested.inner=samples (repeatable)\n\n"
            "Exit status: 0 converged, 1 stopped at the method's iteration limit (tabular ppo: the\n"
            "most likely actions still changed in the last round; ac_smfg: phi still moved more than\n"
            "solver.ac_smfg.tol over the last tenth of the run), 2 bad usage or bad file.\n");
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

static int solve_tabular(const char *path, const char *method, int json) {
    TabMethod override = TAB_EXACT;
    if (method && tab_method_parse(method, &override)) {
        fprintf(stderr, "stackelberg solve: unknown method '%s' for a tabular game (exact, softmax or ppo)\n", method);
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

/* ---- mean-field games ---- */

static int mfg_sample_based(const MfgSettings *s) {
    return s->method == MFG_AC_SMFG || s->method == MFG_PPO ||
           (s->method == MFG_NESTED && s->nested.inner == MFG_INNER_SAMPLES);
}

static void mfg_print_json(const MfgGame *g, const MfgSettings *set, const MfgSolution *sol) {
    Json j;
    json_init(&j, stdout, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "method", mfg_method_name(set->method));
    json_str(&j, "status", sol->status == MFG_CONVERGED ? "converged" : "max_iter");
    json_int(&j, "iterations", sol->iterations);
    if (mfg_sample_based(set)) json_int(&j, "samples", sol->samples);
    json_num(&j, "residual", sol->residual);
    json_num_array(&j, "leader_policy", sol->leader_policy, (size_t)g->L);
    json_arr_begin_block(&j, "follower_policy");
    for (int s = 0; s < g->S; s++) {
        json_arr_begin_block(&j, NULL);
        for (int a = 0; a < g->L; a++)
            json_num_array(&j, NULL, sol->follower_policy + ((size_t)s * g->L + a) * g->F, (size_t)g->F);
        json_arr_end(&j);
    }
    json_arr_end(&j);
    json_num_array(&j, "mean_field", sol->mean_field, (size_t)g->S);
    json_num(&j, "leader_objective", sol->leader_objective);
    json_obj_end(&j);
    json_end(&j);
}

static void mfg_print_text(const char *path, const MfgGame *g, const MfgSettings *set, const MfgSolution *sol) {
    printf("%s: mean-field game, %d states, %d leader actions, %d follower actions, gamma %g, entropy %g\n", path,
           g->S, g->L, g->F, g->gamma, g->tau);
    printf("method %s: %s after %ld iterations (residual %.3g)", mfg_method_name(set->method),
           sol->status == MFG_CONVERGED ? "converged" : "stopped at its limit", sol->iterations, sol->residual);
    if (mfg_sample_based(set)) printf(", %ld samples", sol->samples);
    printf("\nleader objective J %.10g%s\nleader policy ", sol->leader_objective,
           sol->objective_converged ? "" : " (the MFE of this leader policy did not converge)");
    print_row(sol->leader_policy, g->L);
    printf("\nmean field ");
    print_row(sol->mean_field, g->S);
    printf("\n");
    for (int s = 0; s < g->S; s++)
        for (int a = 0; a < g->L; a++) {
            printf("  follower policy in state %d after aL=%d ", s, a);
            print_row(sol->follower_policy + ((size_t)s * g->L + a) * g->F, g->F);
            printf("\n");
        }
}

/* "p1,p2,..." into phi (L); 0, or -1 with what is wrong. */
static int parse_policy(const char *text, int L, double *phi, char *err, size_t n) {
    int k = 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(v))
            return sb_err(err, n, "entry %d: expected a number at \"%s\"", k, p);
        if (k >= L) return sb_err(err, n, "more than %d entries (one per leader action)", L);
        phi[k++] = v;
        if (*end == 0) break;
        if (*end != ',') return sb_err(err, n, "entry %d: expected a comma after the number at \"%s\"", k - 1, end);
        p = end + 1;
    }
    if (k != L) return sb_err(err, n, "%d entries, expected %d (one per leader action)", k, L);
    char msg[256];
    if (mfg_check_simplex(phi, L, msg, sizeof msg)) return sb_err(err, n, "not on the simplex: %s", msg);
    return 0;
}

typedef struct {
    FILE *f;
    int L;
} HistoryCsv;

static void history_row(void *user, long it, long samples, const double *phi, double J) {
    HistoryCsv *h = user;
    fprintf(h->f, "%ld,%ld,%.17g", it, samples, J);
    for (int a = 0; a < h->L; a++) fprintf(h->f, ",%.17g", phi[a]);
    fputc('\n', h->f);
}

static int solve_mean_field(const char *path, const char *method, int json, const char *policy, const char *seed,
                            const char *history, const char *const *sets, int n_sets) {
    MfgMethod override = MFG_MFE;
    if (method && mfg_method_parse(method, &override)) {
        fprintf(stderr, "stackelberg solve: unknown method '%s' for a mean-field game (mfe, exact, nested, ac_smfg or ppo)\n",
                method);
        return SB_EXIT_USAGE;
    }
    unsigned long long seed_v = 0;
    if (seed) {
        char *end;
        errno = 0;
        seed_v = strtoull(seed, &end, 10);
        if (end == seed || *end || errno == ERANGE || seed[0] == '-') {
            fprintf(stderr, "stackelberg solve: --seed: expected a non-negative integer, got '%s'\n", seed);
            return SB_EXIT_USAGE;
        }
    }
    MfgGame g;
    MfgSettings set;
    char err[1024];
    if (mfg_load_file_set(path, sets, n_sets, &g, &set, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return SB_EXIT_USAGE;
    }
    if (method) set.method = override;
    if (seed) set.seed = seed_v;
    int rc = SB_EXIT_USAGE;
    if (policy) {
        if (set.method != MFG_MFE) {
            fprintf(stderr, "stackelberg solve: --leader-policy: only method mfe takes a leader policy (this is %s)\n",
                    mfg_method_name(set.method));
            goto out;
        }
        if (parse_policy(policy, g.L, set.leader_policy, err, sizeof err)) {
            fprintf(stderr, "stackelberg solve: --leader-policy: %s\n", err);
            goto out;
        }
        set.has_leader_policy = 1;
    }
    if (set.method == MFG_MFE && !set.has_leader_policy) {
        fprintf(stderr, "%s: method mfe needs a leader policy: solver.leader_policy in the file or --leader-policy\n",
                path);
        goto out;
    }
    AtomicFile af = {0};
    HistoryCsv hc = {.L = g.L};
    MfgRecorder rec = {.fn = history_row, .user = &hc, .every = 0};
    if (history) {
        if (atomic_open(&af, history, err, sizeof err)) {
            fprintf(stderr, "stackelberg solve: --history: %s\n", err);
            goto out;
        }
        hc.f = af.f;
        fprintf(hc.f, "iteration,samples,leader_objective");
        for (int a = 0; a < g.L; a++) fprintf(hc.f, ",phi_%d", a);
        fputc('\n', hc.f);
    }
    MfgSolution sol;
    mfg_solution_init(&sol, &g);
    mfg_solve(&g, &set, &sol, history ? &rec : NULL);
    if (history && atomic_commit(&af, err, sizeof err)) {
        fprintf(stderr, "stackelberg solve: --history: %s\n", err);
        mfg_solution_free(&sol);
        rc = SB_EXIT_FAIL;
        goto out;
    }
    if (json) mfg_print_json(&g, &set, &sol);
    else mfg_print_text(path, &g, &set, &sol);
    rc = sol.status == MFG_CONVERGED && sol.objective_converged ? SB_EXIT_OK : SB_EXIT_FAIL;
    mfg_solution_free(&sol);
out:
    mfg_game_free(&g);
    return rc;
}

/* The value of option argv[*i] ("--name VALUE"), or NULL with a message. */
static const char *option_value(int argc, char **argv, int *i, const char *what) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "stackelberg solve: %s needs a value (%s)\n", argv[*i], what);
        return NULL;
    }
    return argv[++*i];
}

int cmd_solve(int argc, char **argv) {
    const char *path = NULL, *method = NULL, *policy = NULL, *seed = NULL, *history = NULL;
    const char *sets[64];
    int json = 0, n_sets = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL, *what = NULL;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return SB_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        } else if (!strcmp(argv[i], "--method")) {
            slot = &method;
            what = "exact, softmax or ppo; mfe, exact, nested, ac_smfg or ppo";
        } else if (!strcmp(argv[i], "--leader-policy")) {
            slot = &policy;
            what = "comma-separated probabilities";
        } else if (!strcmp(argv[i], "--seed")) {
            slot = &seed;
            what = "a non-negative integer";
        } else if (!strcmp(argv[i], "--history")) {
            slot = &history;
            what = "a CSV file to write";
        } else if (!strcmp(argv[i], "--set")) {
            if (n_sets == (int)SB_ARRAY_LEN(sets)) {
                fprintf(stderr, "stackelberg solve: at most %zu --set options\n", SB_ARRAY_LEN(sets));
                return SB_EXIT_USAGE;
            }
            slot = &sets[n_sets++];
            what = "KEY=VALUE";
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "stackelberg solve: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return SB_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "stackelberg solve: one game file only ('%s' and '%s')\n", path, argv[i]);
            return SB_EXIT_USAGE;
        } else {
            path = argv[i];
            continue;
        }
        if (!(*slot = option_value(argc, argv, &i, what))) return SB_EXIT_USAGE;
    }
    if (!path) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    char kind[32], err[1024];
    if (gf_file_kind(path, kind, sizeof kind, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return SB_EXIT_USAGE;
    }
    if (!strcmp(kind, "mean_field")) return solve_mean_field(path, method, json, policy, seed, history, sets, n_sets);
    if (policy || seed || history || n_sets) {
        fprintf(stderr, "stackelberg solve: --leader-policy, --seed, --history and --set are for mean-field games "
                        "(%s is a tabular game)\n", path);
        return SB_EXIT_USAGE;
    }
    return solve_tabular(path, method, json);
}
