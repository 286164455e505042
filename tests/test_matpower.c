/* test_matpower.c: the case readers (MATPOWER .m, grid YAML) and `stackelberg dispatch`.
 * Values are read off the case files themselves (quoted in comments); bad inputs are the
 * fixtures in tests/data/grid/ (tiny3.m with one line changed) and must be reported as
 * `file:line: what is wrong` with the line of the change. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "grid/dispatch.h"
#include "config/gridyaml.h"
#include "grid/matpower.h"
#include "testutil.h"
#include "util/common.h"
#include "util/fsutil.h"

#define FIX "tests/data/grid/"

Test(matpower, reads_case9_fields) {
    /* case9.m: gen 1 at bus 1, Pmax 250, Pmin 10; gencost row 1: 2 1500 0 3 0.11 5 150 */
    GridNetwork g;
    char err[512];
    cr_assert_eq(grid_read_matpower(&g, "data/matpower/case9.m", err, sizeof err), 0, "%s", err);
    cr_expect_eq(g.n_bus, 9);
    cr_expect_eq(g.n_gen, 3);
    cr_expect_eq(g.n_branch, 9);
    cr_expect_eq(g.base_mva, 100.0);
    cr_expect_eq(g.pmax[0], 250.0);
    cr_expect_eq(g.pmin[0], 10.0);
    cr_expect_eq(g.c2[0], 0.11);
    cr_expect_eq(g.c1[0], 5.0);
    cr_expect_eq(g.c0[0], 150.0);
    cr_expect_str_eq(g.name, "case9");
    grid_network_free(&g);
}

Test(matpower, skips_cell_arrays_of_large_cases) {
    /* case_ACTIVSg2000 has bus_name, gentype and genfuel cell arrays; rows counted with awk:
     * 2000 buses, 544 generators, 3206 branches. */
    GridNetwork g;
    char err[512];
    cr_assert_eq(grid_read_matpower(&g, "data/matpower/case_ACTIVSg2000.m", err, sizeof err), 0, "%s",
                 err);
    cr_expect_eq(g.n_bus, 2000);
    cr_expect_eq(g.n_gen, 544);
    cr_expect_eq(g.n_branch, 3206);
    grid_network_free(&g);
}

static void expect_error(const char *file, const char *where, const char *what) {
    GridNetwork g;
    char err[512] = "";
    int rc = grid_read_matpower(&g, file, err, sizeof err);
    cr_expect_eq(rc, -1, "%s was accepted", file);
    cr_expect(strncmp(err, where, strlen(where)) == 0, "%s: message '%s' does not start with '%s'", file, err, where);
    cr_expect(strstr(err, what) != NULL, "%s: message '%s' does not say '%s'", file, err, what);
}

Test(matpower, bad_input_is_reported_with_file_and_line) {
    expect_error(FIX "missing.m", FIX "missing.m:", "cannot open");
    expect_error(FIX "bad_row_number.m", FIX "bad_row_number.m:8:", "not a number: '5O'");
    expect_error(FIX "bad_row_columns.m", FIX "bad_row_columns.m:14:", "9 columns, expected 10");
    expect_error(FIX "bad_unknown_bus.m", FIX "bad_unknown_bus.m:19:", "unknown bus 7");
    expect_error(FIX "bad_negative_rating.m", FIX "bad_negative_rating.m:20:", "negative rating");
    expect_error(FIX "bad_zero_reactance.m", FIX "bad_zero_reactance.m:18:", "zero reactance");
    expect_error(FIX "bad_no_ref.m", FIX "bad_no_ref.m:6:", "no reference bus");
    expect_error(FIX "bad_disconnected.m", FIX "bad_disconnected.m:6:", "disconnected network: bus 3");
    expect_error(FIX "bad_pwl_cost.m", FIX "bad_pwl_cost.m:24:", "piecewise-linear costs (model 1) are not supported");
}

Test(matpower, tiny3_fixture_is_valid_and_solves) {
    /* tiny3: loads 50 (bus 2) and 60 (bus 3); g1 0.01p^2 + 10p, g2 0.02p^2 + 12p, lines 100.
     * Equal marginal cost: 0.02 p1 + 10 = 0.04 p2 + 12, p1 + p2 = 110 -> p2 = (2.2 - 2)/0.06
     * = 3.3333, p1 = 106.6667, LMP = 0.02*106.6667 + 10 = 12.1333 (flows below 100: the
     * 106.7 MW from bus 1 split over three lines of equal x). */
    GridNetwork g;
    char err[512];
    cr_assert_eq(grid_read_matpower(&g, FIX "tiny3.m", err, sizeof err), 0, "%s", err);
    DispatchSettings set;
    dispatch_settings_default(&set);
    DispatchSolver *s;
    cr_assert_eq(dispatch_setup(&s, &g, &set, err, sizeof err), 0, "%s", err);
    cr_expect_eq(dispatch_solve(s), DISPATCH_OPTIMAL);
    const DispatchResult *r = dispatch_result(s);
    cr_expect_leq(fabs(r->pg[1] - 0.2 / 0.06), 1e-9);
    cr_expect_leq(fabs(r->lmp[2] - (0.02 * (110 - 0.2 / 0.06) + 10)), 1e-9);
    dispatch_cleanup(s);
    grid_network_free(&g);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

Test(matpower, branch_columns_follow_the_caseformat) {
    /* MATPOWER's caseformat, branch columns: F_BUS T_BUS BR_R BR_X BR_B RATE_A RATE_B RATE_C
     * TAP SHIFT BR_STATUS ANGMIN ANGMAX. The shipped cases give the three ratings equal (but
     * ACTIVSg2000, whose RATE_B is 0): tiny3 with its first branch's ratings 100, 80, 60, tap
     * 1.05, shift 3 degrees, and its second branch out of service. */
    char dir[] = "/tmp/sb_caseformat_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/cols.m", dir);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(read_file(FIX "tiny3.m", &buf, &len, err, sizeof err), 0, "%s", err);
    const char *row1 = "\t1\t2\t0\t0.1\t0\t100\t0\t0\t0\t0\t1\t-360\t360;";
    const char *row2 = "\t1\t3\t0\t0.1\t0\t100\t0\t0\t0\t0\t1\t-360\t360;";
    char *text = (char *)buf, *a = strstr(text, row1), *b = strstr(text, row2);
    cr_assert(a && b && a < b, "tiny3.m changed: update this test");
    char out[4096];
    snprintf(out, sizeof out, "%.*s\t1\t2\t0.01\t0.1\t0\t100\t80\t60\t1.05\t3\t1\t-360\t360;\n"
                              "\t1\t3\t0\t0.1\t0\t100\t0\t0\t0\t0\t0\t-360\t360;%s",
             (int)(a - text), text, b + strlen(row2));
    free(buf);
    write_file(path, out);
    GridNetwork g;
    cr_assert_eq(grid_read_matpower(&g, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(g.x[0], 0.1);
    cr_expect_eq(g.rate[0], 100.0, "RATE_A is the 6th column: got %g", g.rate[0]);
    cr_expect_eq(g.tap[0], 1.05);
    cr_expect_eq(g.shift[0], 3.0);
    cr_expect(g.br_on[0] && !g.br_on[1] && g.br_on[2]);
    grid_network_free(&g);
    unlink(path);
    rmdir(dir);
}

Test(gridyaml, bad_grid_yaml_is_reported_with_position) {
    char dir[] = "/tmp/sb_gridyaml_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    char path[256], err[512];
    GridNetwork g;
    snprintf(path, sizeof path, "%s/g.yaml", dir);
    const char *head = "buses:\n  - {id: 1, type: ref}\n  - {id: 2}\n";
    struct {
        const char *tail, *where, *what;
    } bad[] = {
        {"generators:\n  - {bus: 9, pmax: 10, cost: [0, 1, 0]}\nbranches:\n  - {from: 1, to: 2, x: 0.1}\n", ":5:",
         "unknown bus 9"},
        {"generators:\n  - {bus: 1, pmax: 10, cost: [0, 1, 0]}\nbranches:\n  - {from: 1, to: 2, x: 0.1, rate: -1}\n",
         ":7:", "rate: must be >= 0"},
        {"generators:\n  - {bus: 1, pmax: 10, cost: [0, 1, 0]}\nbranches:\n  - {from: 1, to: 2, x: 0}\n", ":7:",
         "zero reactance"},
        {"generators:\n  - {bus: 1, pmax: 10, cost: [0, 1, 0], colour: red}\nbranches:\n  - {from: 1, to: 2, x: 0.1}\n",
         ":5:", "colour: unknown key"},
        {"generators:\n  - {bus: 1, pmax: 10, cost: [0, 1, 0]}\n", ":", "disconnected network"},
    };
    for (size_t k = 0; k < SB_ARRAY_LEN(bad); k++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, bad[k].tail);
        write_file(path, text);
        cr_expect_eq(grid_read_yaml(&g, path, err, sizeof err), -1, "case %zu accepted", k);
        cr_expect(strstr(err, bad[k].where) != NULL && strstr(err, bad[k].what) != NULL && strstr(err, path) == err,
                  "case %zu: '%s' (want %s ... %s)", k, err, bad[k].where, bad[k].what);
    }
    unlink(path);
    rmdir(dir);
}

/* ---- the command ---- */

static int run(const char *args, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s dispatch %s", tu_bin(), args);
    return tu_run(cmd, out, cap);
}

Test(cli_dispatch, json_has_exactly_the_documented_keys) {
    static char out[1 << 16];
    int rc = run("data/matpower/case5.m --json", out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    const char *keys[] = {"\"status\": \"optimal\"", "\"objective\": 17479.89", "\"lmp\": [16.97", "\"pg\": [40,",
                          "\"flow\": [", "\"iterations\": "};
    const char *p = out;
    for (size_t k = 0; k < SB_ARRAY_LEN(keys); k++) {
        const char *q = strstr(p, keys[k]);
        cr_expect(q != NULL, "missing or out of order: %s in\n%s", keys[k], out);
        if (q) p = q;
    }
    int colons = 0;
    for (const char *c = out; *c; c++) colons += c[0] == '"' && c[1] == ':';
    cr_expect_eq(colons, 6, "expected 6 keys:\n%s", out);
}

Test(cli_dispatch, exit_codes) {
    static char out[1 << 16];
    cr_expect_eq(run("--help", out, sizeof out), 0);
    cr_expect(strstr(out, "usage: stackelberg dispatch") != NULL);
    cr_expect_eq(run("", out, sizeof out), 2);
    cr_expect_eq(run(FIX "tiny3.m --frobnicate", out, sizeof out), 2);
    cr_expect_eq(run(FIX "tiny3.m --load-scale x", out, sizeof out), 2);
    cr_expect_eq(run(FIX "bad_unknown_bus.m", out, sizeof out), 2);
    cr_expect(strncmp(out, FIX "bad_unknown_bus.m:19: ", strlen(FIX "bad_unknown_bus.m:19: ")) == 0, "%s", out);
    cr_expect_eq(run(FIX "nonexistent.m", out, sizeof out), 2);
    /* 1100 MW of load against 400 MW of capacity, slack off */
    cr_expect_eq(run(FIX "tiny3.m --load-scale 10 --voll 0 --json", out, sizeof out), 1);
    cr_expect(strstr(out, "\"status\": \"infeasible\"") != NULL, "%s", out);
    /* the same with slack: sheds at voll, optimal */
    cr_expect_eq(run(FIX "tiny3.m --load-scale 10", out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "5000.0000") != NULL, "%s", out);
    cr_expect_eq(run("configs/grids/paper3.yaml", out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "solar2") != NULL, "%s", out);
}
