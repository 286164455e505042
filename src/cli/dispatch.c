/* dispatch.c: `stackelberg dispatch` (not yet written: reports so and exits 2). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_dispatch(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stackelberg dispatch: not implemented yet\n");
    return 2;
}
