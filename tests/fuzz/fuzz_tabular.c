/* fuzz_tabular.c: libFuzzer harness for the readers of game files: the two-player tabular
 * reader (config/tabular_config.c, `game: tabular`) and the mean-field reader
 * (config/meanfield_config.c, `game: mean_field`), with the YAML tree under both. An input
 * either loads (then a few iterations of a solver run on it, so that every value the reader
 * let through meets the code that trusts it) or fails with a message that names its input as
 * `fuzz:LINE:COL: `; anything else aborts.
 *
 *   make fuzz-games FUZZ_TIME=300      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * tests/fuzz/corpus_games/ holds the seeds (the example games of configs/games/ and small
 * hand-written files, make_game_seeds.sh) and fuzz-* inputs the fuzzer found, one per distinct
 * error message; tests/test_meanfield.c replays them all on each `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/meanfield_config.h"
#include "config/tabular_config.h"
#include "game/meanfield.h"
#include "game/tabular.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Solvers on small loaded games only: the fuzzer's time goes to the readers. */
#define SOLVE_MAX_CELLS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char err[1024];

    TabGame t;
    TabSettings ts;
    if (tab_load_string("fuzz", text, &t, &ts, err, sizeof err) == 0) {
        if ((size_t)t.S * t.L * t.F <= SOLVE_MAX_CELLS) {
            TabSolution sol;
            tab_solution_init(&sol, &t);
            ts.max_iter = 20;
            tab_solve_exact(&t, &ts, &sol);
            tab_solve_softmax(&t, &ts, &sol);
            tab_solution_free(&sol);
        }
        tab_game_free(&t);
    } else if (strncmp(err, "fuzz:", 5)) {
        abort(); /* every failure must name its input */
    }

    MfgGame g;
    MfgSettings ms;
    if (mfg_load_string("fuzz", text, &g, &ms, err, sizeof err) == 0) {
        if ((size_t)g.S * g.L * g.F <= SOLVE_MAX_CELLS) {
            MfgSolution sol;
            mfg_solution_init(&sol, &g);
            ms.mfe.max_iter = 20;
            ms.has_leader_policy = 1;
            for (int a = 0; a < g.L; a++) ms.leader_policy[a] = 1.0 / g.L;
            mfg_solve_mfe(&g, &ms, &sol, NULL);
            ms.nested.max_iter = 3;
            ms.nested.inner = MFG_INNER_EXACT;
            mfg_solve_nested(&g, &ms, &sol, NULL);
            ms.ac.iterations = 50;
            mfg_solve_ac_smfg(&g, &ms, &sol, NULL);
            mfg_solution_free(&sol);
        }
        mfg_game_free(&g);
    } else if (strncmp(err, "fuzz:", 5)) {
        abort();
    }
    free(text);
    return 0;
}
