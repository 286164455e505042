/* export.c: `stackelberg export` (not yet written: reports so and exits 2). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_export(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stackelberg export: not implemented yet\n");
    return 2;
}
