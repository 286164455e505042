/* test_config_errors.c: bad configs and overrides as a user meets them through
 * `stackelberg train`: exit 2, a message that names where the mistake is (the file's
 * line:col, or the --set argument itself), the nearest known key for a misspelt one, and
 * nothing written. Also the YAML tree's limits (nesting depth, numbers beyond a double's
 * range) and plain `make` naming missing Debian packages.
 *
 * References: keys and positions are read off the config text by searching it (not through
 * yamltree); the expected suggestion is the key as spelt in configs/paper.yaml. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/yamltree.h"
#include "testutil.h"

/* A scratch directory per test (Criterion runs tests in parallel processes). */
static void scratch(char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/sb_config_errors_XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp failed");
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* `stackelberg train CONFIG --out DIR/out ARGS`; the output (stdout+stderr) into out. The
 * run directory must not exist afterwards: a bad config writes nothing. */
static int train(const char *dir, const char *config, const char *args, char *out, size_t cap) {
    char cmd[4096], run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s/out", dir);
    snprintf(cmd, sizeof cmd, "%s train %s --quiet --out %s %s", tu_bin(), config, run_dir, args);
    int rc = tu_run(cmd, out, cap);
    cr_expect(!exists(run_dir), "%s was written by: %s", run_dir, cmd);
    return rc;
}

static void expect_starts(const char *out, const char *want) {
    cr_expect(strncmp(out, want, strlen(want)) == 0, "'%s' does not start with '%s'", out, want);
}

/* ---- --set ---- */

Test(config_errors, set_errors_name_the_set_argument) {
    /* The issue: `--set days=abc` was reported at configs/paper.yaml:1:6, a comment line. */
    char dir[64];
    static char out[1 << 14];
    scratch(dir, sizeof dir);
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set days=abc", out, sizeof out), 2, "%s", out);
    expect_starts(out, "--set days=abc: days: expected an integer, got \"abc\"");
    cr_expect(strstr(out, "paper.yaml:") == NULL, "%s", out);
    /* an override into a section, and a list where a number belongs */
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set utility.fixed_cost_per_day=[1,2]", out, sizeof out), 2);
    expect_starts(out, "--set utility.fixed_cost_per_day=[1,2]: utility.fixed_cost_per_day: expected a number");
    /* not key=value, and an empty key component */
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set days", out, sizeof out), 2);
    expect_starts(out, "--set days: expected key=value");
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set utility..x=1", out, sizeof out), 2);
    expect_starts(out, "--set utility..x=1: empty key in 'utility..x'");
    /* the single-agent reader too */
    cr_expect_eq(train(dir, "configs/cartpole.yaml", "--set n_steps=many", out, sizeof out), 2);
    expect_starts(out, "--set n_steps=many: n_steps: expected an integer");
    rmdir(dir);
}

Test(config_errors, unknown_keys_suggest_the_nearest_known_key) {
    char dir[64];
    static char out[1 << 14];
    scratch(dir, sizeof dir);
    /* configs/paper.yaml spells it utility: fixed_cost_per_day: (one letter dropped) */
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set utility.fixed_cost_pr_day=3", out, sizeof out), 2);
    expect_starts(out, "--set utility.fixed_cost_pr_day=3: utility.fixed_cost_pr_day: unknown key "
                       "(did you mean utility.fixed_cost_per_day?)");
    /* a misspelt section: the whole overridden key is compared */
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set utilty.fixed_cost_per_day=3", out, sizeof out), 2);
    expect_starts(out, "--set utilty.fixed_cost_per_day=3: utilty.fixed_cost_per_day: unknown key "
                       "(did you mean utility.fixed_cost_per_day?)");
    /* CartPole: SB3's name is learning_rate */
    cr_expect_eq(train(dir, "configs/cartpole.yaml", "--set learning_rat=1e-3", out, sizeof out), 2);
    expect_starts(out, "--set learning_rat=1e-3: learning_rat: unknown key (did you mean learning_rate?)");
    /* nothing near: no suggestion */
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set xyzzy=1", out, sizeof out), 2);
    expect_starts(out, "--set xyzzy=1: xyzzy: unknown key");
    cr_expect(strstr(out, "did you mean") == NULL, "%s", out);
    rmdir(dir);
}

Test(config_errors, misspelt_key_in_a_file_is_reported_at_its_position) {
    /* paper.yaml with `seeds:` spelt `seedz:`; both `seed` and `seeds` are one edit away,
     * and `seeds` is the key the reader looked for and did not find. */
    char dir[64], path[128];
    static char text[1 << 16], out[1 << 14];
    scratch(dir, sizeof dir);
    FILE *f = fopen("configs/paper.yaml", "rb");
    cr_assert(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    char *p = strstr(text, "\nseeds:");
    cr_assert(p, "configs/paper.yaml has no top-level seeds:");
    p[5] = 'z';
    int line = 2;
    for (const char *c = text; c < p; c++) line += *c == '\n';
    snprintf(path, sizeof path, "%s/seedz.yaml", dir);
    f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "%s:%d:1: seedz: unknown key (did you mean seeds?)", path, line);
    cr_expect_eq(train(dir, path, "", out, sizeof out), 2, "%s", out);
    expect_starts(out, want);
    unlink(path);
    rmdir(dir);
}

Test(config_errors, set_value_is_one_yaml_value) {
    /* Found by fuzz_config (a leak): a value with a newline parsed as two keys, the second
     * dropped without a word. */
    YtDoc d;
    char err[512];
    cr_assert_eq(yt_load_string(&d, "s.yaml", "days: 3\n", err, sizeof err), 0, "%s", err);
    cr_expect_eq(yt_set(&d, "days=4\nseeds: 9", err, sizeof err), -1);
    cr_expect_str_eq(err, "--set days=4\nseeds: 9: the value must be a single YAML value");
    cr_expect_eq(yt_set(&d, "days=[4,\n 5]", err, sizeof err), 0, "%s", err); /* one value over two lines */
    yt_free(&d);
}

/* ---- the YAML tree's limits ---- */

Test(config_errors, deep_nesting_is_an_error_not_a_crash) {
    /* The issue: 100,000 nested '[' overflowed the stack (SIGSEGV). The root map is level 1
     * and "a: " puts the first '[' (level 2) at column 4, so the k-th '[' is level k + 1 at
     * column 3 + k: the first refused, level YT_MAX_DEPTH + 1, is k = YT_MAX_DEPTH. */
    char dir[64], path[128], want[256];
    static char out[1 << 14];
    scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/deep.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("a: ", f);
    for (int i = 0; i < 100000; i++) fputc('[', f);
    fputc('\n', f);
    fclose(f);
    snprintf(want, sizeof want, "%s:1:%d: lists and maps nested deeper than %d levels", path, 3 + YT_MAX_DEPTH,
             YT_MAX_DEPTH);
    cr_expect_eq(train(dir, path, "", out, sizeof out), 2, "%s", out);
    expect_starts(out, want);
    /* the same through --set */
    char args[512] = "--set 'days=";
    for (int i = 0; i < 100; i++) strcat(args, "[");
    strcat(args, "'");
    cr_expect_eq(train(dir, "configs/paper.yaml", args, out, sizeof out), 2, "%s", out);
    cr_expect(strncmp(out, "--set days=[[[", 14) == 0 && strstr(out, "nested deeper than") != NULL, "%s", out);
    /* and by a --set key of many sections (each one a map level) */
    strcpy(args, "--set ");
    for (int i = 0; i < 2 * YT_MAX_DEPTH; i++) strcat(args, "a.");
    strcat(args, "b=1");
    cr_expect_eq(train(dir, "configs/paper.yaml", args, out, sizeof out), 2, "%s", out);
    cr_expect(strncmp(out, "--set a.a.a.", 12) == 0 && strstr(out, "nested deeper than") != NULL, "%s", out);
    unlink(path);
    rmdir(dir);
}

Test(config_errors, nesting_up_to_the_limit_loads) {
    /* YT_MAX_DEPTH levels: the root map and YT_MAX_DEPTH - 1 lists; one more is refused. */
    static char text[8192];
    char err[512];
    for (int extra = 0; extra <= 1; extra++) {
        int lists = YT_MAX_DEPTH - 1 + extra;
        snprintf(text, sizeof text, "a: ");
        for (int i = 0; i < lists; i++) strcat(text, "[");
        for (int i = 0; i < lists; i++) strcat(text, "]");
        YtDoc d;
        int rc = yt_load_string(&d, "n.yaml", text, err, sizeof err);
        cr_expect_eq(rc, extra ? -1 : 0, "%d lists: %s", lists, err);
        if (!rc) yt_free(&d);
    }
    /* block maps count the same way */
    text[0] = 0;
    for (int i = 0; i < YT_MAX_DEPTH + 1; i++) {
        char line[160];
        snprintf(line, sizeof line, "%*sk%d:\n", i, "", i);
        strcat(text, line);
    }
    YtDoc d;
    cr_expect_eq(yt_load_string(&d, "m.yaml", text, err, sizeof err), -1);
    cr_expect(strstr(err, "nested deeper than") != NULL, "%s", err);
}

Test(config_errors, numbers_beyond_a_double) {
    /* 1e-400 is below the smallest subnormal (4.9e-324): strtod's nearest double is 0, with
     * ERANGE; it used to be "not a number". 1e-310 is subnormal, the C literal is the
     * reference. 1e400 is above DBL_MAX (1.8e308): an error that says so. */
    YtDoc d;
    char err[512];
    cr_assert_eq(yt_load_string(&d, "n.yaml", "a: 1e-400\nb: 1e-310\nc: 1e400\nd: -1e400\ne: -1e-400\n", err,
                                sizeof err),
                 0, "%s", err);
    double v = 1;
    long i = 0;
    cr_expect_eq(yt_get_double(&d, NULL, "a", &v, err, sizeof err), 1, "%s", err);
    cr_expect(v == 0.0, "%g", v);
    cr_expect_eq(yt_get_double(&d, NULL, "b", &v, err, sizeof err), 1, "%s", err);
    cr_expect(v == 1e-310, "%g", v);
    cr_expect_eq(yt_get_double(&d, NULL, "c", &v, err, sizeof err), -1);
    cr_expect_str_eq(err, "n.yaml:3:4: c: 1e400 is out of range (beyond +-1.8e308)");
    cr_expect_eq(yt_get_double(&d, NULL, "d", &v, err, sizeof err), -1);
    cr_expect_str_eq(err, "n.yaml:4:4: d: -1e400 is out of range (beyond +-1.8e308)");
    cr_expect_eq(yt_get_double(&d, NULL, "e", &v, err, sizeof err), 1, "%s", err);
    cr_expect(v == 0.0 && signbit(v), "%g", v);
    /* as an integer, 1e-400 is not one */
    cr_expect_eq(yt_get_int(&d, NULL, "a", &i, err, sizeof err), -1);
    cr_expect(strstr(err, "a: expected an integer") != NULL, "%s", err);
    yt_free(&d);
    /* and through the binary */
    char dir[64];
    static char out[1 << 14];
    scratch(dir, sizeof dir);
    cr_expect_eq(train(dir, "configs/paper.yaml", "--set utility.fixed_cost_per_day=1e400", out, sizeof out), 2);
    expect_starts(out, "--set utility.fixed_cost_per_day=1e400: utility.fixed_cost_per_day: 1e400 is out of range");
    rmdir(dir);
}

/* ---- the build ---- */

Test(config_errors, make_names_missing_debian_packages) {
    /* With pkg-config finding nothing, plain `make` must name the Debian packages, not fail
     * in the compiler. The make of `make test` must not leak into this one. */
    static char out[1 << 14];
    int rc = tu_run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PKG_CONFIG_LIBDIR=/nonexistent "
                    "make --no-print-directory -s pkgcheck",
                    out, sizeof out);
    cr_expect_neq(rc, 0, "%s", out);
    cr_expect(strstr(out, "missing Debian packages: libopenblas-dev libyaml-dev zlib1g-dev") != NULL, "%s", out);
    cr_expect(strstr(out, "sudo apt-get install libopenblas-dev libyaml-dev zlib1g-dev") != NULL, "%s", out);
    rc = tu_run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s pkgcheck", out, sizeof out);
    cr_expect_eq(rc, 0, "%s", out);
}
