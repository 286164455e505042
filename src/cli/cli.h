/* cli.h: the subcommands of bin/stackelberg. Each returns the process exit code:
 * 0 success, 1 a run that could not reach its goal (e.g. an infeasible dispatch),
 * 2 bad usage or bad input (with file:line where there is one), 130/143 on SIGINT/SIGTERM. */
#ifndef SB_CLI_H
#define SB_CLI_H

int cmd_train(int argc, char **argv);
int cmd_dispatch(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* `train` on a tariff-game config (src/cli/train_game.c): the file's text and the --set
 * overrides; seeds <= 0 takes the config's. And `train --resume DIR` of such a run. */
int train_game(const char *file, const char *text, const char *const *sets, int n_sets, const char *out, int seeds,
               int jobs, int threads, int quiet);
int train_game_resume(const char *dir, int jobs, int threads, int quiet);

/* True for "-h" or "--help". */
int cli_is_help(const char *arg);

#endif
