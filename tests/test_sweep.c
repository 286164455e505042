/* test_sweep.c: sweeps (src/config/sweep_config.c, src/run/sweep.c, `stackelberg sweep`):
 * the reader (values as flow text, the order of variants), a small sweep whose sweep.csv
 * holds each variant's axes and the mean and std over its seeds of every summary field
 * (checked against the seeds' own summaries), a second run that skips finished variants, a
 * stop and continue that ends as an uninterrupted sweep, and bad input (an unknown key, an
 * empty axis, a missing base, a refused value, override or combination) at the sweep file's
 * line:col with nothing written. Small games of 3 days with tiny PPO phases: seconds each. */
#define _DEFAULT_SOURCE /* realpath */
#include <math.h>

#include "config/sweep_config.h"
#include "io/jsonval.h"
#include "runutil.h"
#include "util/spawn.h"

/* A sweep file in dir: base (absolute), the tiny overrides (those not in `extra_set`) and the
 * `extra_set` lines, then `axes` (its lines as given). */
static void write_sweep(const char *path, const char *base, const char *extra_set, const char *axes) {
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "base: %s\nset:\n", base);
    for (size_t i = 0; i < RU_N_TINY; i++) {
        char k[128];
        snprintf(k, sizeof k, "%s", RU_TINY[i]);
        char *eq = strchr(k, '='), mine[140];
        *eq = 0;
        snprintf(mine, sizeof mine, "  %s:", k);
        if (extra_set && strstr(extra_set, mine)) continue; /* given in extra_set */
        fprintf(f, "  %s: %s\n", k, eq + 1);
    }
    fprintf(f, "%saxes:\n%s", extra_set ? extra_set : "", axes);
    fclose(f);
}

static void paper_abs(char *out) { cr_assert(realpath("configs/paper.yaml", out)); }

/* Line and column (1-based) of the first `token` after `after` in the file's text. */
static void pos_of(const char *path, const char *after, const char *token, int *line, int *col) {
    size_t len;
    char *t, err[256];
    cr_assert_eq(read_file(path, (unsigned char **)&t, &len, err, sizeof err), 0, "%s", err);
    const char *a = strstr(t, after), *p = a ? strstr(a, token) : NULL;
    cr_assert(p, "%s not in %s", token, path);
    *line = 1;
    const char *bol = t;
    for (const char *c = t; c < p; c++)
        if (*c == '\n') (*line)++, bol = c + 1;
    *col = (int)(p - bol) + 1;
    free(t);
}

/* ---- the reader ---- */

Test(sweep, reader_keeps_values_as_flow_text_and_orders_variants) {
    char dir[64], path[128], base[4096], err[1024];
    ru_scratch(dir, sizeof dir, "swread");
    paper_abs(base);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    write_sweep(path, base, NULL,
                "  utility.alpha_bounds: [[0, 0.01], [0, 0.02]]\n"
                "  aggregator.ppo.policy_kwargs.net_arch: [{pi: [8], vf: [8]}]\n"
                "  utility.surplus_penalty: [0, 10, 100]\n");
    SweepConfig s;
    cr_assert_eq(sweep_config_load(&s, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(s.n_axes, 3);
    cr_expect_eq(s.n_variants, 2 * 1 * 3);
    cr_expect_str_eq(s.axes[0].values[1], "[0, 0.02]");
    cr_expect_str_eq(s.axes[1].values[0], "{pi: [8], vf: [8]}");
    cr_expect_str_eq(s.base_path, base);
    /* the last axis changes fastest: variant 4 = (1, 0, 1) */
    int idx[3];
    sweep_variant_index(&s, 4, idx);
    cr_expect(idx[0] == 1 && idx[1] == 0 && idx[2] == 1, "%d %d %d", idx[0], idx[1], idx[2]);
    char **sets = sweep_variant_sets(&s, 4);
    cr_expect_str_eq(sets[0], "days=3");
    cr_expect_str_eq(sets[RU_N_TINY], "utility.alpha_bounds=[0, 0.02]");
    cr_expect_str_eq(sets[RU_N_TINY + 2], "utility.surplus_penalty=10");
    cr_expect_eq(sets[RU_N_TINY + 3], NULL);
    sweep_sets_free(sets);
    cr_expect_eq(sweep_config_check(&s, err, sizeof err), 0, "%s", err);
    /* a variant's config has its values */
    GameConfig c;
    cr_assert_eq(sweep_variant_config(&s, 4, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.utility.bounds.alpha_hi, 0.02);
    cr_expect_eq(c.utility.surplus_penalty, 10);
    cr_expect_eq(c.days, 3);
    game_config_free(&c);
    sweep_config_free(&s);
    ru_rm(dir);
}

/* ---- bad input ---- */

Test(sweep, bad_input_is_exit_2_at_the_sweep_files_line_and_column_and_writes_nothing) {
    char dir[64], path[128], base[4096], out[8192], runs[128];
    ru_scratch(dir, sizeof dir, "swbad");
    paper_abs(base);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(runs, sizeof runs, "%s/out", dir);
    const struct {
        const char *extra_set, *axes, *after, *token, *want;
    } cases[] = {
        /* a key the config does not have: every value refused, reported at the key */
        {NULL, "  utility.surplus_pnalty: [0, 10]\n", "axes:", "utility.surplus_pnalty", "unknown key"},
        {NULL, "  utility.surplus_penalty: []\n", "axes:", "[]", "empty"},
        /* one value refused: at the value */
        {NULL, "  utility.surplus_penalty: [0, abc]\n", "axes:", "abc", "expected a number"},
        /* an override refused: at its key */
        {"  utility.kappa: -5\n", "  utility.surplus_penalty: [0]\n", "set:", "utility.kappa", "utility.kappa"},
        /* fine alone, refused together (report_days > days): at `axes` */
        {NULL, "  days: [2, 3]\n  report_days: [1, 3]\n", "", "axes", "variant 1 (days=2, report_days=3)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_sweep(path, base, cases[i].extra_set, cases[i].axes);
        int line, col;
        pos_of(path, cases[i].after, cases[i].token, &line, &col);
        char want[256];
        snprintf(want, sizeof want, "%s:%d:%d: ", path, line, col);
        int rc = ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, "--quiet", NULL}, NULL, out, sizeof out);
        cr_expect_eq(rc, 2, "case %zu: %s", i, out);
        cr_expect(!strncmp(out, want, strlen(want)), "case %zu: expected %s..., got %s", i, want, out);
        cr_expect(strstr(out, cases[i].want), "case %zu: %s", i, out);
        struct stat st;
        cr_expect_neq(stat(runs, &st), 0, "case %zu: %s was created", i, runs);
    }
    /* a base that is not there: at `base` */
    write_sweep(path, "nothere.yaml", NULL, "  days: [2]\n");
    int rc = ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, NULL}, NULL, out, sizeof out);
    char want[256];
    snprintf(want, sizeof want, "%s:1:7: base: ", path);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(!strncmp(out, want, strlen(want)) && strstr(out, "nothere.yaml: cannot open"), "%s", out);
    struct stat st;
    cr_expect_neq(stat(runs, &st), 0);
    ru_rm(dir);
}

/* ---- sweeps that run ---- */

static JVal load_json(const char *dir, const char *name) {
    size_t len;
    char err[256];
    unsigned char *t = ru_read(dir, name, &len);
    cr_assert(t, "%s/%s", dir, name);
    JVal v;
    cr_assert_eq(jv_parse(&v, (const char *)t, len, err, sizeof err), 0, "%s", err);
    free(t);
    return v;
}

/* Field `col` (0-based) of CSV line `row` (0: the header) of text, into out; quotes kept. */
static void csv_cell(const char *text, int row, int col, char *out, size_t cap) {
    const char *p = text;
    for (int r = 0; r < row; r++) p = strchr(p, '\n') + 1;
    int c = 0, q = 0;
    size_t k = 0;
    for (; *p && *p != '\n'; p++) {
        if (*p == '"') q = !q;
        if (*p == ',' && !q) {
            if (c++ == col) break;
            continue;
        }
        if (c == col && k + 1 < cap) out[k++] = *p;
    }
    out[k] = 0;
}

static int csv_col(const char *text, const char *name) {
    char cell[256];
    for (int c = 0; c < 200; c++) {
        csv_cell(text, 0, c, cell, sizeof cell);
        if (!strcmp(cell, name)) return c;
    }
    cr_assert_fail("no column %s", name);
    return -1;
}

static const char *AXES = "  utility.surplus_penalty: [0, 100]\n  utility.alpha_bounds: [[0, 0.01]]\n";

Test(sweep, a_small_sweep_summarises_each_variant_over_its_seeds, .timeout = 600) {
    char dir[64], path[128], base[4096], out[8192], runs[128];
    ru_scratch(dir, sizeof dir, "swrun");
    paper_abs(base);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(runs, sizeof runs, "%s/out", dir);
    write_sweep(path, base, "  seeds: 2\n", AXES);
    cr_assert_eq(ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, "--quiet", NULL}, NULL, out, sizeof out),
                 0, "%s", out);
    size_t len;
    char *csv = (char *)ru_read(runs, "sweep.csv", &len);
    cr_assert(csv);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += csv[i] == '\n';
    cr_expect_eq(lines, 3, "a header and a row per variant");
    const int c_pen = csv_col(csv, "utility.surplus_penalty"), c_ab = csv_col(csv, "utility.alpha_bounds"),
              c_m = csv_col(csv, "imv_last3d.rl_mean"), c_s = csv_col(csv, "imv_last3d.rl_std"),
              c_gap = csv_col(csv, "eei_gap.learned_mean"), c_seeds = csv_col(csv, "seeds");
    char cell[256], vd[256];
    for (int v = 0; v < 2; v++) {
        csv_cell(csv, v + 1, c_pen, cell, sizeof cell);
        cr_expect_str_eq(cell, v ? "100" : "0");
        csv_cell(csv, v + 1, c_ab, cell, sizeof cell);
        cr_expect_str_eq(cell, "\"[0, 0.01]\"", "a value with a comma is quoted");
        csv_cell(csv, v + 1, c_seeds, cell, sizeof cell);
        cr_expect_str_eq(cell, "2");
        /* mean and population std over the variant's two seeds, from their own summaries:
         * for two values the std is half their distance */
        double x[2], g[2];
        for (int s = 0; s < 2; s++) {
            snprintf(vd, sizeof vd, "%s/variant-%d/seed-%d", runs, v, s);
            JVal one = load_json(vd, "summary.json");
            cr_assert_eq(jv_get_num(jv_get(&one, "imv_last3d"), "rl", &x[s]), 1);
            cr_assert_eq(jv_get_num(jv_get(&one, "eei_gap"), "learned", &g[s]), 1);
            double pen = -1;
            cr_expect_eq(jv_get_num(jv_get(jv_get(&one, "config"), "utility"), "surplus_penalty", &pen), 1);
            cr_expect_eq(pen, v ? 100 : 0, "variant %d ran with its axis value", v);
            jv_free(&one);
        }
        csv_cell(csv, v + 1, c_m, cell, sizeof cell);
        cr_expect(fabs(atof(cell) - (x[0] + x[1]) / 2) < 1e-8 * fmax(1, fabs(x[0])), "variant %d: %s vs %.9g", v, cell,
                  (x[0] + x[1]) / 2);
        csv_cell(csv, v + 1, c_s, cell, sizeof cell);
        cr_expect(fabs(atof(cell) - fabs(x[0] - x[1]) / 2) < 1e-7, "variant %d: std %s vs %.9g", v, cell,
                  fabs(x[0] - x[1]) / 2);
        csv_cell(csv, v + 1, c_gap, cell, sizeof cell);
        cr_expect(fabs(atof(cell) - (g[0] + g[1]) / 2) < 1e-8 * fmax(1, fabs(g[0])), "variant %d: %s", v, cell);
    }
    if (spawn_on_path("gnuplot"))
        cr_expect(ru_exists(runs, "sweep_metrics.png") && ru_exists(runs, "sweep_metrics.pdf") &&
                  ru_exists(runs, "sweep_imv.png") && ru_exists(runs, "sweep_imv.pdf"));
    /* the same command again: every variant is skipped, sweep.csv is the same */
    cr_assert_eq(ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, NULL}, NULL, out, sizeof out), 0, "%s",
                 out);
    cr_expect(strstr(out, "2 of 2 variants already done; running 0"), "%s", out);
    size_t len2;
    char *again = (char *)ru_read(runs, "sweep.csv", &len2);
    cr_expect(len2 == len && !memcmp(csv, again, len));
    free(again);
    /* another sweep into the same directory: refused unless --force */
    write_sweep(path, base, "  seeds: 2\n", "  utility.surplus_penalty: [5]\n");
    cr_expect_eq(ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, NULL}, NULL, out, sizeof out), 2, "%s",
                 out);
    cr_expect(strstr(out, "not empty"), "%s", out);
    free(csv);
    ru_rm(dir);
}

/* The columns of sweep.csv that are not wall-clock measurements, row by row, are equal. */
static void expect_same_results(const char *a, const char *b) {
    size_t la, lb;
    char *x = (char *)ru_read(a, "sweep.csv", &la), *y = (char *)ru_read(b, "sweep.csv", &lb);
    cr_assert(x && y);
    char ca[256], cb[256], head[256];
    int compared = 0;
    for (int col = 0;; col++) {
        csv_cell(x, 0, col, head, sizeof head);
        if (!head[0]) break;
        if (strstr(head, "wall_s") || strstr(head, "time_s.") || strstr(head, "steps_per_s")) continue;
        for (int row = 1; row <= 2; row++) {
            csv_cell(x, row, col, ca, sizeof ca);
            csv_cell(y, row, col, cb, sizeof cb);
            cr_expect_str_eq(ca, cb, "%s, variant %d", head, row - 1);
            compared++;
        }
    }
    cr_expect_gt(compared, 20);
    free(x);
    free(y);
}

Test(sweep, a_stopped_sweep_continues_to_the_uninterrupted_result, .timeout = 600) {
    char dir[64], path[128], base[4096], out[8192], ref[128], runs[128], ck[256];
    ru_scratch(dir, sizeof dir, "swstop");
    paper_abs(base);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(runs, sizeof runs, "%s/out", dir);
    write_sweep(path, base, "  seeds: 2\n  days: 4\n", AXES);
    cr_assert_eq(ru_run((char *[]){"stackelberg", "sweep", path, "--out", ref, "--quiet", NULL}, NULL, out, sizeof out),
                 0, "%s", out);
    /* SIGTERM once the last variant has begun: some seeds finished, some stop mid-run */
    snprintf(ck, sizeof ck, "%s/variant-1/seed-0/checkpoint.npz", runs);
    pid_t p = ru_start((char *[]){"stackelberg", "sweep", path, "--out", runs, "--quiet", "--jobs", "2", NULL}, NULL, NULL);
    for (int i = 0; i < 120000 && !ru_exists(runs, "variant-1/seed-0/checkpoint.npz"); i++) ru_sleep_ms(1);
    kill(p, SIGTERM);
    cr_assert_eq(ru_wait(p), 143);
    cr_expect(!ru_exists(runs, "sweep.csv"), "a stopped sweep has no sweep.csv");
    cr_assert_eq(ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, "--quiet", NULL}, NULL, out, sizeof out),
                 0, "%s", out);
    expect_same_results(ref, runs);
    cr_expect(ru_same(ref, runs, "variant-1/steps.csv") && ru_same(ref, runs, "variant-1/seed-1/steps.csv"));
    ru_rm(dir);
}

Test(sweep, a_variant_directory_in_use_is_refused_naming_its_holder, .timeout = 120) {
    char dir[64], path[128], base[4096], out[8192], runs[128], vd[256], err[512];
    ru_scratch(dir, sizeof dir, "swlock");
    paper_abs(base);
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    snprintf(runs, sizeof runs, "%s/out", dir);
    snprintf(vd, sizeof vd, "%s/variant-1", runs);
    write_sweep(path, base, NULL, AXES);
    cr_assert_eq(mkdir_p(vd, err, sizeof err), 0);
    DirLock l;
    cr_assert_eq(dir_lock(&l, vd, "stackelberg train --resume variant-1", err, sizeof err), 0, "%s", err);
    int rc = ru_run((char *[]){"stackelberg", "sweep", path, "--out", runs, "--force", NULL}, NULL, out, sizeof out);
    cr_expect_eq(rc, 2, "%s", out);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    cr_expect(strstr(out, "variant-1: in use by") && strstr(out, pid), "%s", out);
    cr_expect(!ru_exists(runs, "variant-0/seed-0"), "a seed started although a variant was in use");
    dir_unlock(&l);
    ru_rm(dir);
}
