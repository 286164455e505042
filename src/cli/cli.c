/* cli.c: what every subcommand shares. */
#include "cli/cli.h"

#include <string.h>

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }
