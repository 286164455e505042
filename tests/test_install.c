/* test_install.c: `make install` into a temporary PREFIX gives a tree that stands on its own. A
 * tiny program compiled with nothing but `pkg-config --cflags --libs --static stackelberg`
 * (PKG_CONFIG_PATH pointing into the tree) includes every public header, links the installed
 * archive with its dependencies, and solves the installed MATPOWER case5 to MATPOWER's published
 * DC-OPF result; the installed binary runs the installed configs from another working directory;
 * DESTDIR stages the same tree for another PREFIX; `make uninstall` leaves no file behind.
 *
 * One test, not several: each step runs `make`, and two makes on one build directory must not
 * run at once (Criterion runs tests in parallel). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* A make of its own: without the jobserver of the `make test` that may be running us, nor the
 * variables `make asan` gives its commands (make install refuses a sanitizer build). */
#define MAKE "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN -u BUILD -u OPT make --no-print-directory -s"

static const char *APP =
    "#include <stdio.h>\n"
    "#include \"game/game.h\"\n" /* the public headers: their closure must be installed */
    "#include \"run/runner.h\"\n"
    "#include \"grid/dispatch.h\"\n"
    "#include \"grid/matpower.h\"\n"
    "#include \"io/policy.h\"\n"
    "int main(int argc, char **argv) {\n"
    "    char err[1024];\n"
    "    GridNetwork g;\n"
    "    if (argc < 2) return 2;\n"
    "    if (grid_read_matpower(&g, argv[1], err, sizeof err)) { puts(err); return 2; }\n"
    "    DispatchSettings s;\n"
    "    dispatch_settings_default(&s);\n"
    "    DispatchSolver *ds;\n"
    "    if (dispatch_setup(&ds, &g, &s, err, sizeof err)) { puts(err); return 2; }\n"
    "    dispatch_solve(ds);\n"
    "    const DispatchResult *r = dispatch_result(ds);\n"
    "    printf(\"%s %.6f\", dispatch_status_str(dispatch_info(ds)->status), dispatch_info(ds)->objective);\n"
    "    for (int i = 0; i < g.n_bus; i++) printf(\" %.6f\", r->lmp[i]);\n"
    "    printf(\"\\n\");\n"
    "    dispatch_cleanup(ds);\n"
    "    grid_network_free(&g);\n"
    "    SbPolicy *pol;\n"
    "    printf(\"%d %s\\n\", sb_policy_load(\"no-such-policy.npz\", &pol, err, sizeof err), err);\n"
    "    GameConfig c;\n"
    "    game_config_default(&c);\n"
    "    printf(\"days %d\\n\", c.days);\n"
    /* Never taken: it makes the link pull in the game, PPO and OpenBLAS. */
    "    RunnerRun run = {.cfg = &c, .dir = argv[0], .seeds = 1};\n"
    "    RunnerOptions ro = {0};\n"
    "    int rc = argc > 99 ? runner_train(&run, 1, &ro, NULL, err, sizeof err) : 0;\n"
    "    game_config_free(&c);\n"
    "    return rc;\n"
    "}\n";

static int exists(const char *path, int exec) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (!exec || (st.st_mode & S_IXUSR));
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Files under dir (find -type f), counted. */
static int count_files(const char *dir) { /* dir: < 1024 characters */
    char cmd[1100], out[64];
    snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
    tu_run(cmd, out, sizeof out);
    return atoi(out);
}

Test(install, prefix_tree_builds_a_program_with_pkg_config_runs_anywhere_and_uninstalls, .timeout = 900) {
    char tmp[256], prefix[512], cmd[4096], out[16384], path[1024];
    snprintf(tmp, sizeof tmp, "/tmp/sb-test-install-%ld", (long)getpid());
    snprintf(prefix, sizeof prefix, "%s/usr", tmp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/work'", tmp, tmp);
    cr_assert_eq(tu_run(cmd, NULL, 0), 0);

    snprintf(cmd, sizeof cmd, MAKE " install PREFIX='%s'", prefix);
    int rc = tu_run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "make install exited %d:\n%s", rc, out);

    /* The tree: binary, archive, headers, pkg-config file, data directory, docs. */
    static const struct {
        const char *rel;
        int exec;
    } want[] = {{"bin/stackelberg", 1},
                {"lib/libstackelberg.a", 0},
                {"lib/pkgconfig/stackelberg.pc", 0},
                {"include/stackelberg/io/policy.h", 0},
                {"include/stackelberg/grid/dispatch.h", 0},
                {"include/stackelberg/game/game.h", 0},
                {"share/stackelberg/tools/figures.sh", 1},
                {"share/stackelberg/configs/paper.yaml", 0},
                {"share/stackelberg/configs/no-rl.yaml", 0},
                {"share/stackelberg/configs/case14.yaml", 0},
                {"share/stackelberg/configs/grids/paper3.yaml", 0},
                {"share/stackelberg/data/matpower/case5.m", 0},
                {"share/stackelberg/data/matpower/case14.m", 0},
                {"share/stackelberg/data/matpower/LICENSE-MATPOWER", 0},
                {"share/doc/stackelberg/docs/MODEL.md", 0},
                {"share/doc/stackelberg/docs/OUTPUTS.md", 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", prefix, want[i].rel);
        cr_expect(exists(path, want[i].exec), "%s missing%s", path, want[i].exec ? " or not executable" : "");
    }

    /* A program built with pkg-config alone, from outside the repository. */
    snprintf(path, sizeof path, "%s/work/app.c", tmp);
    write_text(path, APP);
    snprintf(cmd, sizeof cmd,
             "cd '%s/work' && export PKG_CONFIG_PATH='%s/lib/pkgconfig' && "
             "cc -std=c11 -Wall -o app app.c $(pkg-config --cflags --libs --static stackelberg) && "
             "./app '%s/share/stackelberg/data/matpower/case5.m'",
             tmp, prefix, prefix);
    rc = tu_run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "building or running the program failed (%d):\n%s", rc, out);
    /* MATPOWER's rundcopf on case5, as published to two decimals (the reference of
     * tests/test_dispatch.c): objective 17479.90 $/h; LMPs 16.98 26.38 30.00 39.94 10.00 $/MWh. */
    char status[32];
    double obj, lmp[5];
    cr_assert_eq(sscanf(out, "%31s %lf %lf %lf %lf %lf %lf", status, &obj, &lmp[0], &lmp[1], &lmp[2], &lmp[3], &lmp[4]),
                 7, "%s", out);
    cr_expect_str_eq(status, "optimal");
    cr_expect(fabs(obj - 17479.90) <= 0.005 + 1e-6 * 17479.90, "objective %.6f", obj);
    const double ref[5] = {16.98, 26.38, 30.00, 39.94, 10.00};
    for (int i = 0; i < 5; i++) cr_expect(fabs(lmp[i] - ref[i]) <= 0.005, "LMP %d: %.6f, MATPOWER %.2f", i + 1, lmp[i], ref[i]);
    cr_expect(strstr(out, "\n-1 no-such-policy.npz"), "the policy loader's error names the file:\n%s", out);
    cr_expect(strstr(out, "\ndays 100\n"), "%s", out);

    /* The installed binary, from another working directory, on the installed configs: the
     * grid path inside the config resolves against the config's own directory. */
    snprintf(cmd, sizeof cmd,
             "cd '%s/work' && '%s/bin/stackelberg' train '%s/share/stackelberg/configs/no-rl.yaml' --seeds 1 "
             "--set days=3 --out run --quiet",
             tmp, prefix, prefix);
    rc = tu_run(cmd, out, sizeof out);
    cr_expect_eq(rc, 0, "installed train exited %d:\n%s", rc, out);
    snprintf(path, sizeof path, "%s/work/run/seed-0/steps.csv", tmp);
    cr_expect(exists(path, 0), "%s missing", path);
    snprintf(path, sizeof path, "%s/work/run/summary.json", tmp);
    cr_expect(exists(path, 0), "%s missing", path);

    /* Uninstall removes every file it installed. */
    snprintf(cmd, sizeof cmd, MAKE " uninstall PREFIX='%s'", prefix);
    rc = tu_run(cmd, out, sizeof out);
    cr_expect_eq(rc, 0, "make uninstall exited %d:\n%s", rc, out);
    cr_expect_eq(count_files(prefix), 0, "files left under %s after make uninstall", prefix);

    /* DESTDIR stages the tree for PREFIX elsewhere; the pkg-config file names PREFIX. */
    char stage[512];
    snprintf(stage, sizeof stage, "%s/stage", tmp);
    snprintf(cmd, sizeof cmd, MAKE " install DESTDIR='%s' PREFIX=/opt/sb", stage);
    rc = tu_run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "make install DESTDIR exited %d:\n%s", rc, out);
    snprintf(path, sizeof path, "%s/opt/sb/bin/stackelberg", stage);
    cr_expect(exists(path, 1), "%s missing", path);
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/opt/sb/lib/pkgconfig' pkg-config --variable=prefix stackelberg",
             stage);
    rc = tu_run(cmd, out, sizeof out);
    cr_expect(rc == 0 && !strcmp(out, "/opt/sb\n"), "the staged stackelberg.pc says prefix %s", out);
    snprintf(cmd, sizeof cmd, MAKE " uninstall DESTDIR='%s' PREFIX=/opt/sb", stage);
    cr_expect_eq(tu_run(cmd, out, sizeof out), 0, "%s", out);
    cr_expect_eq(count_files(stage), 0, "files left under %s after make uninstall", stage);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    tu_run(cmd, NULL, 0);
}
