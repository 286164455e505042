/* main.c: bin/stackelberg, a command dispatcher. Each subcommand lives in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/mpi.h"
#include "util/common.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "train PPO agents from a YAML config (CartPole, Pendulum, the tariff game)"},
    {"sweep", cmd_sweep, "run every variant x seed of a sweep of the tariff game, and compare them"},
    {"dispatch", cmd_dispatch, "solve a DC optimal power flow and print LMPs (MATPOWER .m or grid .yaml)"},
    {"solve", cmd_solve, "solve a tabular Stackelberg game: two-player Markov or mean-field"},
    {"export", cmd_export, "export a run's learned policies as a compressed NumPy .npz"},
    {"eval", cmd_eval, "evaluate an exported policy on one observation"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: stackelberg COMMAND [ARGS...]\n\n"
               "Reinforcement learning for Stackelberg Markov games: a utility (leader) and\n"
               "battery aggregators (followers) learning with PPO on a grid cleared by DC-OPF.\n\n"
               "commands:\n");
    for (size_t i = 0; i < SB_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`stackelberg COMMAND --help` describes a command. Version " SB_VERSION ".\n");
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        usage(stdout);
        return SB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("stackelberg " SB_VERSION "\n");
        return SB_EXIT_OK;
    }
    for (size_t i = 0; i < SB_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "stackelberg: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return SB_EXIT_USAGE;
}

int main(int argc, char **argv) {
    /* Under mpirun every rank runs the same command (run/mpi.h); alone, MPI is not started. */
    sb_mpi_start(&argc, &argv);
    int rc = dispatch(argc, argv);
    sb_mpi_stop();
    return rc;
}
