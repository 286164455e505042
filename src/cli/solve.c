/* solve.c: `stackelberg solve` (not yet written: reports so and exits 2). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_solve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stackelberg solve: not implemented yet\n");
    return 2;
}
