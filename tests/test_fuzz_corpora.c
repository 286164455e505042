/* test_fuzz_corpora.c: every committed input of the text-parser fuzzers, replayed through
 * the same targets (tests/fuzz/targets.h) under the normal build, and under `make asan`
 * with the sanitizers: the seeds and whatever the fuzzers found (fuzz-* files: crashers
 * fixed since, and inputs that reach new code). A target aborts on a broken promise (an
 * error without the input's name, an accepted network that fails validation or dispatches
 * to non-finite prices), which fails the test; so a fixed crash stays fixed where clang and
 * libFuzzer are absent. */
#include <criterion/criterion.h>
#include <dirent.h>

#include "fuzz/targets.h"
#include "util/fsutil.h"

/* Feed every file of dir to target; returns the number of files. */
static int replay(const char *dir, int (*target)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    cr_assert(d, "%s is missing", dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024], err[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unsigned char *buf;
        size_t len;
        cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
        target(buf, len);
        free(buf);
        files++;
    }
    closedir(d);
    return files;
}

Test(fuzz_corpora, matpower) {
    /* 14 seeds: 4 cases, 9 fixtures of tests/data/grid, a syntax sampler */
    cr_expect_geq(replay("tests/fuzz/corpus-matpower", fuzz_matpower), 14);
}

Test(fuzz_corpora, gridyaml) { cr_expect_geq(replay("tests/fuzz/corpus-gridyaml", fuzz_gridyaml), 3); }

Test(fuzz_corpora, config) { cr_expect_geq(replay("tests/fuzz/corpus-config", fuzz_config), 9); }

Test(fuzz_corpora, seeds_exercise_both_outcomes) {
    /* The replay proves little if every seed fails early: the valid seeds must be read as
     * valid, and a bad one refused, through the same entry points. */
    char err[1024];
    GridNetwork g;
    unsigned char *buf;
    size_t len;
    cr_assert_eq(read_file("tests/fuzz/corpus-matpower/seed-syntax.m", &buf, &len, err, sizeof err), 0, "%s", err);
    cr_expect_eq(grid_read_matpower_mem(&g, "syntax.m", (const char *)buf, len, err, sizeof err), 0, "%s", err);
    /* syntax.m: 3 buses (one row continued with ...), 2 generators, 3 branches, 4 gencost
     * rows (the last 2 reactive), tap 0.98 and shift -3 on branch 1 */
    cr_expect(g.n_bus == 3 && g.n_gen == 2 && g.n_branch == 3);
    cr_expect(g.pd[1] == 50 && g.pd[2] == 60 && g.tap[0] == 0.98 && g.shift[0] == -3);
    cr_expect(g.c1[1] == 12 && g.c2[1] == 0 && g.gen_on[1] == 0 && g.br_on[2] == 0);
    grid_network_free(&g);
    free(buf);
    cr_assert_eq(read_file("tests/fuzz/corpus-matpower/seed-bad_pwl_cost.m", &buf, &len, err, sizeof err), 0);
    cr_expect_eq(grid_read_matpower_mem(&g, "bad.m", (const char *)buf, len, err, sizeof err), -1);
    free(buf);
    cr_assert_eq(read_file("tests/fuzz/corpus-gridyaml/seed-every-key.yaml", &buf, &len, err, sizeof err), 0);
    cr_expect_eq(grid_read_yaml_string(&g, "every-key.yaml", (const char *)buf, err, sizeof err), 0, "%s", err);
    cr_expect(g.n_bus == 3 && g.bus_id[2] == 7 && g.x[1] == -0.05 && g.gen_on[1] == 0 && g.br_on[2] == 0);
    grid_network_free(&g);
    free(buf);
}
