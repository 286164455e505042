/* train.c: `stackelberg train` (not yet written: reports so and exits 2). */
#include <stdio.h>

#include "cli/cli.h"

int cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "stackelberg train: not implemented yet\n");
    return 2;
}
