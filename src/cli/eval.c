/* eval.c: `stackelberg eval` (not yet written: reports so and exits 2). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stackelberg eval: not implemented yet\n");
    return 2;
}
