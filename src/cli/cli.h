/* cli.h: the subcommands of bin/stackelberg. Each returns the process exit code:
 * 0 success, 1 a run that could not reach its goal (e.g. an infeasible dispatch),
 * 2 bad usage or bad input (with file:line where there is one), 130/143 on SIGINT/SIGTERM. */
#ifndef SB_CLI_H
#define SB_CLI_H

#include "run/rundir.h"

int cmd_train(int argc, char **argv);
int cmd_dispatch(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

/* How `train` runs a tariff game: seeds (<= 0: the config's), cores (jobs), threads per seed, no progress
 * line, --force (replace a run in OUT), --continue (continue OUT if it holds this very run), and
 * the command line for the directory's lock. */
typedef struct {
    int seeds, jobs, threads, quiet, force, cont;
    const char *holder;
} TrainGameOptions;

/* `train` on a tariff-game config (src/cli/train_game.c): the file's text and the --set
 * overrides. And `train --resume DIR` of such a run, from its verified run.json (the caller
 * holds DIR's lock). */
int train_game(const char *file, const char *text, const char *const *sets, int n_sets, const char *out,
               const TrainGameOptions *o);
int train_game_resume(const char *dir, const RunRecord *rec, const TrainGameOptions *o);

/* True for "-h" or "--help". */
int cli_is_help(const char *arg);

#endif
