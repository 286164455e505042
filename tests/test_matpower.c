/* test_matpower.c: the case readers (MATPOWER .m, grid YAML) and `stackelberg dispatch`.
 * Values are read off the case files themselves (quoted in comments); bad inputs are the
 * fixtures in tests/data/grid/ (tiny3.m with one line changed) and must be reported as
 * `file:line: what is wrong` with the line of the change. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "config/gridyaml.h"
#include "grid/dispatch.h"
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

/* ---- bad MATPOWER files through `stackelberg dispatch` ----
 * Each case is tiny3.m (quoted line numbers: 3 version, 4 baseMVA, 7-9 bus rows, 13-14 gen
 * rows, 18-20 branch rows, 22 `mpc.gencost = [`, 23-24 gencost rows) with lines first..last
 * replaced by `text` (lines of its own, '\n'-separated); the expected line is that of the
 * edit, the expected message what MATPOWER's format (caseformat.m) says is wrong there. */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s", path);
    static char buf[1 << 16];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = 0;
    return buf;
}

/* tiny3.m with lines first..last (1-based) replaced by text, written to path. */
static void write_tiny3_edit(const char *path, int first, int last, const char *text) {
    const char *src = slurp(FIX "tiny3.m");
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    int line = 1;
    for (const char *p = src; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (line == first) fprintf(f, "%s\n", text);
        if (line < first || line > last) fwrite(p, 1, len, f);
        p += len;
        line++;
    }
    fclose(f);
}

typedef struct {
    int first, last;
    const char *text;
    int line;        /* where the error must point */
    const char *what;
} BadEdit;

static int run(const char *args, char *out, size_t cap);

Test(cli_dispatch, bad_matpower_values_exit_2_with_file_and_line) {
    static const BadEdit bad[] = {
        /* the four: NaN, Inf, version '1', gencost rows != generators */
        {8, 8, "\t2\t2\tNaN\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9;", 8, "mpc.bus: 'NaN' is not a finite number"},
        {14, 14, "\t2\t0\t0\t0\t0\t1\t100\t1\tInf\t0;", 14, "mpc.gen: 'Inf' is not a finite number"},
        {19, 19, "\t1\t3\t0\t0.1\t0\t-inf\t0\t0\t0\t0\t1\t-360\t360;", 19, "'-inf' is not a finite number"},
        {3, 3, "mpc.version = '1';", 3, "mpc.version: only version '2' case files are supported, got '1'"},
        {3, 3, "mpc.version = '21';", 3, "only version '2'"},
        {24, 24, "\t2\t0\t0\t3\t0.02\t12\t0;\n\t2\t0\t0\t3\t0.5\t50\t0;", 22,
         "mpc.gencost: 3 rows for 2 generators (expected 2, or 4 with reactive costs)"},
        {24, 24, "", 22, "mpc.gencost: 1 rows for 2 generators"},
        /* numbers out of a double's range, and a baseMVA that is not one */
        {8, 8, "\t2\t2\t1e400\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9;", 8, "'1e400' is beyond the range of a double"},
        {4, 4, "mpc.baseMVA = Inf;", 4, "mpc.baseMVA: must be a finite positive number"},
        {4, 4, "mpc.baseMVA = 100x;", 4, "mpc.baseMVA: must be a finite positive number"},
        /* tables of the wrong width: every row one column too many */
        {7, 9,
         "\t1\t3\t0\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9\t0;\n\t2\t2\t50\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9\t0;\n"
         "\t3\t1\t60\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9\t0;",
         7, "mpc.bus: 14 columns; MATPOWER's bus table has 13 columns"},
        {13, 14, "\t1\t0\t0\t0\t0\t1\t100\t1\t200\t0\t0;\n\t2\t0\t0\t0\t0\t1\t100\t1\t200\t0\t0;", 13,
         "mpc.gen: 11 columns"},
        {23, 23, "\t2\t0\t0\t2\t10\t0\t5;", 23, "gencost: column 7 holds 5 beyond NCOST = 2"},
        /* impossible values */
        {19, 19, "\t1\t3\t0\t0.1\t0\t100\t0\t0\t-1\t0\t1\t-360\t360;", 19, "branch: negative tap ratio -1"},
        {19, 19, "\t1\t3\t0\t0.1\t0\t100\t-5\t0\t0\t0\t1\t-360\t360;", 19, "branch: negative rating RATE_B -5"},
        {19, 19, "\t1\t3\t0\t0.1\t0\t100\t0\t0\t0\t0\t1\t30\t-30;", 19, "branch: ANGMIN 30 > ANGMAX -30"},
        {14, 14, "\t2\t0\t0\t0\t0\t1\t100\t1\t200\t300;", 14, "gen: Pmin 300 > Pmax 200"},
        {14, 14, "\t2\t0\t0\t-10\t10\t1\t100\t1\t200\t0;", 14, "gen: Qmin 10 > Qmax -10"},
        {8, 8, "\t2\t2\t50\t0\t0\t0\t1\t1\t0\t230\t1\t0.9\t1.1;", 8, "bus: Vmin 1.1 > Vmax 0.9"},
        {23, 23, "\t2\t-5\t0\t3\t0.01\t10\t0;", 23, "gencost: negative start-up or shut-down cost"},
        /* finite but beyond what a grid holds: once a 1e300 MW load made a 200 MW unit give 249,500 MW */
        {8, 8, "\t2\t2\t1e300\t0\t0\t0\t1\t1\t0\t230\t1\t1.1\t0.9;", 8, "bus 2: load Pd beyond +-1e9 MW"},
        {23, 23, "\t2\t0\t0\t3\t1e300\t10\t0;", 23, "generator 1: a cost coefficient beyond"},
        {18, 18, "\t1\t2\t0\t1e-300\t0\t100\t0\t0\t0\t0\t1\t-360\t360;", 18,
         "branch 1: reactance within +-1e-9 p.u. of 0"},
        /* a table changed by MATLAB code after it was written: not evaluated, so refused */
        {25, 25, "];\nmpc.gen(2, 9) = 500;", 26, "mpc.gen: only `mpc.gen = [ ... ];` is supported"},
    };
    char dir[] = "/tmp/sb_badcase_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    static char out[1 << 14];
    for (size_t k = 0; k < SB_ARRAY_LEN(bad); k++) {
        char path[256], want[300], args[300];
        snprintf(path, sizeof path, "%s/bad%zu.m", dir, k);
        write_tiny3_edit(path, bad[k].first, bad[k].last, bad[k].text);
        snprintf(args, sizeof args, "%s --json", path);
        int rc = run(args, out, sizeof out);
        snprintf(want, sizeof want, "%s:%d: ", path, bad[k].line);
        cr_expect_eq(rc, 2, "case %zu: exit %d\n%s", k, rc, out);
        cr_expect(strncmp(out, want, strlen(want)) == 0, "case %zu: '%s' does not start with '%s'", k, out, want);
        cr_expect(strstr(out, bad[k].what) != NULL, "case %zu: '%s' does not say '%s'", k, out, bad[k].what);
        cr_expect(strstr(out, "\"status\"") == NULL, "case %zu: a result was printed:\n%s", k, out);
        unlink(path);
    }
    rmdir(dir);
}

Test(cli_dispatch, odd_but_valid_matpower_files_solve_as_tiny3) {
    /* An underflowing 1e-400 is the double 0 (strtod's nearest value), and a second block of
     * G gencost rows holds reactive costs, which a DC dispatch ignores: both files are tiny3,
     * whose LMP is 0.02 * 106.6667 + 10 = 12.1333 $/MWh (by hand in tiny3_fixture_is_valid). */
    static const BadEdit ok[] = {
        {8, 8, "\t2\t2\t50\t0\t1e-400\t0\t1\t1\t0\t230\t1\t1.1\t0.9;", 0, NULL},
        {24, 24, "\t2\t0\t0\t3\t0.02\t12\t0;\n\t2\t0\t0\t3\t5\t50\t0;\n\t2\t0\t0\t3\t7\t60\t0;", 0, NULL},
    };
    char dir[] = "/tmp/sb_okcase_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    static char out[1 << 14];
    for (size_t k = 0; k < SB_ARRAY_LEN(ok); k++) {
        char path[256], args[300];
        snprintf(path, sizeof path, "%s/ok%zu.m", dir, k);
        write_tiny3_edit(path, ok[k].first, ok[k].last, ok[k].text);
        snprintf(args, sizeof args, "%s --json", path);
        cr_expect_eq(run(args, out, sizeof out), 0, "case %zu:\n%s", k, out);
        cr_expect(strstr(out, "\"lmp\": [12.133333333333") != NULL, "case %zu:\n%s", k, out);
        unlink(path);
    }
    rmdir(dir);
}

Test(cli_dispatch, load_scale_must_be_finite) {
    static char out[4096];
    cr_expect_eq(run(FIX "tiny3.m --load-scale nan", out, sizeof out), 2, "%s", out);
    cr_expect_eq(run(FIX "tiny3.m --load-scale inf", out, sizeof out), 2, "%s", out);
    cr_expect_eq(run(FIX "tiny3.m --load-scale -1", out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "--load-scale") != NULL, "%s", out);
    /* finite, but 1e307 * 60 MW overflows: the dispatch's own check names the bus */
    cr_expect_eq(run(FIX "tiny3.m --load-scale 1e307", out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, FIX "tiny3.m: bus 2: load Pd is not a finite number") != NULL, "%s", out);
    /* finite, 1e8 * 50 MW beyond the 1e9 MW a grid may hold (network.h) */
    cr_expect_eq(run(FIX "tiny3.m --load-scale 1e8", out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, FIX "tiny3.m: bus 2: load Pd beyond +-1e9 MW") != NULL, "%s", out);
}

Test(network, validate_refuses_non_finite_values_and_negative_taps) {
    /* The check dispatch_setup runs on any GridNetwork, however it was built. */
    GridNetwork g;
    char err[512];
    DispatchSettings set;
    dispatch_settings_default(&set);
    DispatchSolver *s = NULL;
    struct {
        int field;
        double v;
        const char *what;
    } bad[] = {{0, NAN, "bus 3: load Pd is not a finite number"},
               {1, INFINITY, "generator 2: Pmin or Pmax is not a finite number"},
               {2, -INFINITY, "generator 2: a cost coefficient is not a finite number"},
               {3, NAN, "branch 3: x, tap, shift or rating is not a finite number"},
               {4, -0.5, "branch 3: negative tap ratio"},
               {5, INFINITY, "baseMVA must be in (0, 1e+09], got inf"},
               /* finite but beyond what a grid holds (network.h GRID_MAX_*) */
               {0, -2e9, "bus 3: load Pd beyond +-1e9 MW"},
               {2, 1e10, "generator 2: a cost coefficient beyond +-1e9 (c2, c1) or +-1e15 (c0)"},
               {3, 1e-12, "branch 3: reactance within +-1e-9 p.u. of 0"},
               {4, 1e4, "branch 3: tap ratio above 1000"},
               {5, 0, "baseMVA must be in (0, 1e+09], got 0"}};
    for (size_t k = 0; k < SB_ARRAY_LEN(bad); k++) {
        cr_assert_eq(grid_read_matpower(&g, FIX "tiny3.m", err, sizeof err), 0, "%s", err);
        double *p[] = {&g.pd[2], &g.pmax[1], &g.c1[1], &g.x[2], &g.tap[2], &g.base_mva};
        *p[bad[k].field] = bad[k].v;
        cr_expect_eq(grid_network_validate(&g, err, sizeof err), -1, "case %zu accepted", k);
        cr_expect_str_eq(err, bad[k].what);
        cr_expect_eq(dispatch_setup(&s, &g, &set, err, sizeof err), -1, "case %zu: dispatch_setup accepted", k);
        cr_expect(s == NULL);
        grid_network_free(&g);
    }
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

/* Line and column (1-based) of the first occurrence of tok in text: the reference
 * position of a bad value, found by searching the text rather than through yamltree. */
static void position_of(const char *text, const char *tok, int *line, int *col) {
    const char *p = strstr(text, tok);
    cr_assert(p != NULL, "'%s' not in the document", tok);
    *line = 1;
    const char *bol = text;
    for (const char *c = text; c < p; c++)
        if (*c == '\n') (*line)++, bol = c + 1;
    *col = (int)(p - bol) + 1;
}

Test(gridyaml, non_finite_and_impossible_values_are_reported_at_the_value) {
    /* The same nonsense the MATPOWER reader refuses, written as grid YAML: each document
     * is the template with one value replaced; the error must point at that value. */
    static const char *tmpl = "base_mva: %s\n"
                              "buses:\n"
                              "  - {id: 1, type: ref}\n"
                              "  - {id: %s, pd: %s, gs: %s}\n"
                              "generators:\n"
                              "  - {bus: 1, pmin: %s, pmax: %s, cost: [0, %s, 0]}\n"
                              "branches:\n"
                              "  - {from: 1, to: 2, x: 0.1, tap: %s}\n";
    struct {
        const char *v[8]; /* base_mva, id, pd, gs, pmin, pmax, c1, tap */
        const char *tok, *what;
    } bad[] = {
        {{"100", "2", ".inf", "0", "0", "10", "1", "0"}, ".inf", "pd: must be a finite number, got inf"},
        {{"100", "2", "5", "0", "0", ".Inf", "1", "0"}, ".Inf", "pmax: must be a finite number, got inf"},
        {{"100", "2", "5", "0", "0", "10", "-.inf", "0"}, "-.inf", "cost: c1 must be a finite number, got -inf"},
        {{".inf", "2", "5", "0", "0", "10", "1", "0"}, ".inf", "base_mva: must be a finite number, got inf"},
        {{"100", "2", "5", ".nan", "0", "10", "1", "0"}, ".nan", "gs: expected a number"},
        {{"100", "2", "5", "0", "0", "10", "1", "-0.5"}, "-0.5", "tap: must be >= 0 (0 means 1), got -0.5"},
        {{"100", "2", "5", "0", "20", "10", "1", "0"}, "10,", "pmax: must be >= pmin (20), got 10"},
        {{"100", "4294967298", "5", "0", "0", "10", "1", "0"}, "4294967298", "id: must be an integer in [1, 2147483647]"},
        /* the network's own checks: at the element (the list item), or the cost list */
        {{"100", "2", "1e300", "0", "0", "10", "1", "0"}, "{id: 2,", "bus 2: load Pd beyond +-1e9 MW"},
        {{"100", "2", "5", "0", "0", "10", "1e12", "0"}, "[0, 1e12", "generator 1: a cost coefficient beyond"},
    };
    char dir[] = "/tmp/sb_gridyaml_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/g.yaml", dir);
    for (size_t k = 0; k < SB_ARRAY_LEN(bad); k++) {
        char text[1024], want[512], err[512];
        const char *const *v = bad[k].v;
        snprintf(text, sizeof text, tmpl, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
        write_file(path, text);
        int line, col;
        position_of(text, bad[k].tok, &line, &col);
        snprintf(want, sizeof want, "%s:%d:%d: %s", path, line, col, bad[k].what);
        GridNetwork g;
        cr_expect_eq(grid_read_yaml(&g, path, err, sizeof err), -1, "case %zu accepted", k);
        cr_expect(strncmp(err, want, strlen(want)) == 0, "case %zu: '%s' (want '%s')", k, err, want);
        /* and through the command: exit 2, the same message */
        static char out[4096];
        cr_expect_eq(run(path, out, sizeof out), 2, "case %zu: %s", k, out);
        cr_expect(strncmp(out, want, strlen(want)) == 0, "case %zu: '%s' (want '%s')", k, out, want);
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
