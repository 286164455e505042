/* test_replay.c: the game's records checked from outside the program. A short storage run of
 * configs/paper.yaml with learning on is replayed by tools/check_run.py (NumPy, and its own
 * DC-OPF in cvxopt: fleets, SoC, beliefs, bus loads, LMPs, tariffs, bills, EEIs, revenue,
 * reward, IMVs, every summary field), which must also fail when one record is edited in its
 * last digit; a case14 game (households generated from the loads: several prosumer groups per
 * bus) is replayed with its per-class bills, and its `record: grid` files are re-solved step by
 * step by tools/check_grid.py; and that DC-OPF reproduces MATPOWER's published results. The
 * scripts share no code with the C program (they are written from the model); Debian's
 * python3 runs them.
 *
 * The records print 17 significant digits. Editing the 17th digit by one unit often leaves the
 * same double (a double's neighbours lie 1 to 18 units of the 17th digit apart), which is no
 * edit of the value at all: each edit below uses the last digit whose one-unit change reads
 * back as another double (17th, else 16th, ...), and says which. A field that is the output of
 * one of the model's exact relations (a SoC, a later day's belief, a fleet energy, a bus load,
 * a tariff printed twice) is caught whatever the cell. A field that only feeds relations (an
 * action, a net demand, the consumers' energy, a day-0 belief, an LMP through the belief
 * update) is caught when the model's arithmetic carries the change to another record: the test
 * computes that from the model (MODEL 3.4, 2.5, 4.2, with the paper's constants below), picks
 * the first cell where it does, and also checks that an action edit the arithmetic absorbs is
 * not flagged (nothing else in that run changes; the policy is not recorded). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/common.h"
#include "util/fsutil.h"

/* Tiny PPO phases (the records, not the learning, are under test). */
#define SMALL_PPO                                                                                    \
    " --set seeds=1 --set aggregator.train_steps=120 --set aggregator.ppo.n_steps=120"                \
    " --set aggregator.ppo.batch_size=60 --set aggregator.ppo.n_epochs=2 --set utility.train_steps=16" \
    " --set utility.ppo.n_steps=16 --set utility.ppo.batch_size=8 --set utility.ppo.n_epochs=2"      \
    " --set utility.episode_periods=2 --quiet"

/* The paper's world (configs/paper.yaml, MODEL 3.1, 3.4, 4.2): 3 household buses, 8 steps a
 * day; every fleet holds 30,000 kWh (1000 x 30, 500 x 60, 300 x 100); one-way efficiency 0.8
 * on charging only; belief step 0.9; a per-step grid without its own load (base load 0, m = 1).
 * draws.csv has per step 3 net-demand rows then 2 solar rows. */
enum { PB = 3, PS = 8, PDAYS = 4, PT = PDAYS * PS, DRAWS_PER_STEP = 5 };
#define CAP_KWH 30000.0
#define EFF_IN 0.8
#define EFF_OUT 1.0
#define BELIEF_STEP 0.9

/* steps.csv columns */
enum { C_LMP = 3, C_LMP_NS, C_LOAD, C_Q, C_CONS, C_SOC, C_ACT, C_AB, C_AS, C_FP, C_FC, C_BELIEF };

static char out[1 << 16];

enum { WHAT = 1024 }; /* what an edit did, for the messages */

static void tmpdir(char *dst, size_t cap, const char *tag) {
    snprintf(dst, cap, "/tmp/sb-test-replay-%s-%ld", tag, (long)getpid());
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, sizeof out);
}

/* A CSV file in memory with every field's byte range; row 0 is the header. */
typedef struct {
    char *buf; /* (len + 1) */
    size_t len;
    int rows, cols;
    size_t *b0, *b1; /* (rows x cols) */
} Csv;

static void csv_load(Csv *c, const char *path) {
    unsigned char *data;
    char err[256];
    memset(c, 0, sizeof *c);
    cr_assert_eq(read_file(path, &data, &c->len, err, sizeof err), 0, "%s", err);
    c->buf = malloc(c->len + 1);
    memcpy(c->buf, data, c->len);
    c->buf[c->len] = 0;
    free(data);
    c->cols = 1;
    for (const char *p = c->buf; *p && *p != '\n'; p++) c->cols += *p == ',';
    for (size_t i = 0; i < c->len; i++) c->rows += c->buf[i] == '\n';
    c->b0 = malloc((size_t)c->rows * (size_t)c->cols * sizeof *c->b0);
    c->b1 = malloc((size_t)c->rows * (size_t)c->cols * sizeof *c->b1);
    size_t at = 0;
    for (int r = 0; r < c->rows; r++)
        for (int k = 0; k < c->cols; k++) {
            size_t n = strcspn(c->buf + at, ",\n");
            c->b0[(size_t)r * c->cols + k] = at;
            c->b1[(size_t)r * c->cols + k] = at + n;
            cr_assert(c->buf[at + n] == (k + 1 < c->cols ? ',' : '\n'), "%s line %d: not %d fields", path, r + 1, c->cols);
            at += n + 1;
        }
}

static void csv_free(Csv *c) {
    free(c->buf);
    free(c->b0);
    free(c->b1);
    memset(c, 0, sizeof *c);
}

static void csv_text(const Csv *c, int row, int col, char *dst, size_t cap) {
    cr_assert(row >= 0 && row < c->rows && col >= 0 && col < c->cols, "no field %d of row %d", col, row);
    size_t k = (size_t)row * c->cols + col;
    snprintf(dst, cap, "%.*s", (int)(c->b1[k] - c->b0[k]), c->buf + c->b0[k]);
}

static double csv_num(const Csv *c, int row, int col) {
    char t[128];
    csv_text(c, row, col, t, sizeof t);
    return strtod(t, NULL);
}

/* Replace bytes [b0, b1) of file path by text. */
static void splice(const char *path, size_t b0, size_t b1, const char *text) {
    unsigned char *buf;
    size_t len;
    char err[256];
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(buf, 1, b0, f);
    fputs(text, f);
    fwrite(buf + b1, 1, len - b1, f);
    fclose(f);
    free(buf);
}

/* The text of a number with its pos-th significant digit moved by units (-1 or +1), carrying
 * as a person editing it would; a text with fewer than pos significant digits (%.17g drops
 * trailing zeros) gets zeros appended first. -1 for a number without a nonzero digit. */
static int digit_edit(const char *was, int pos, int units, char *now, size_t cap) {
    char s[96], tail[32];
    size_t m = strcspn(was, "eE");
    cr_assert(m < 64 && strlen(was) - m < sizeof tail);
    memcpy(s, was, m);
    s[m] = 0;
    snprintf(tail, sizeof tail, "%s", was + m);
    int sig = 0, started = 0;
    for (const char *p = s; *p; p++)
        if (*p >= '0' && *p <= '9') {
            started |= *p != '0';
            sig += started;
        }
    if (!started) return -1;
    if (sig < pos && !strchr(s, '.')) strcat(s, ".");
    for (; sig < pos; sig++) strcat(s, "0");
    /* index of the pos-th significant digit */
    int i = 0, k = 0;
    started = 0;
    for (; s[i]; i++)
        if (s[i] >= '0' && s[i] <= '9') {
            started |= s[i] != '0';
            if (started && ++k == pos) break;
        }
    int carry = units;
    while (carry) {
        if (i < 0 || s[i] == '-') { /* a carry out of the leading digit */
            memmove(s + i + 2, s + i + 1, strlen(s + i + 1) + 1);
            s[i + 1] = '1';
            break;
        }
        if (s[i] == '.') {
            i--;
            continue;
        }
        int d = s[i] - '0' + carry;
        carry = d > 9 ? 1 : d < 0 ? -1 : 0;
        s[i] = (char)('0' + (d + 10) % 10);
        i--;
    }
    snprintf(now, cap, "%s%s", s, tail);
    return 0;
}

/* Whether the model's arithmetic carries a cell's edited value to another record. */
typedef int (*Seen)(const Csv *file, int row, double edited, const void *ctx);

/* Edit one field (column col) of the CSV file path by units in its last digit: the latest
 * digit position (17 down to 10) and, within it, the first of rows[] whose edited text reads
 * back as another double and, with seen, whose change the model carries on. Says which in
 * what (WHAT). */
static void edit_last_digit(const char *path, int col, const int *rows, int n_rows, int units, Seen seen,
                            const void *ctx, char *what) {
    Csv c;
    csv_load(&c, path);
    char was[64], now[64];
    for (int pos = 17; pos >= 10; pos--)
        for (int i = 0; i < n_rows; i++) {
            csv_text(&c, rows[i], col, was, sizeof was);
            if (digit_edit(was, pos, units, now, sizeof now)) continue;
            double v = strtod(now, NULL);
            if (v == strtod(was, NULL)) continue; /* the same double: no edit of the value */
            if (seen && !seen(&c, rows[i], v, ctx)) continue;
            size_t k = (size_t)rows[i] * c.cols + col;
            splice(path, c.b0[k], c.b1[k], now);
            snprintf(what, WHAT, "%s line %d field %d: %s -> %s (%s digit %d%s)", strrchr(path, '/') + 1, rows[i] + 1,
                     col + 1, was, now, units > 0 ? "up one unit of" : "down one unit of", pos,
                     seen       ? ", the latest digit and first cell whose edit reaches another record"
                     : pos < 17 ? ": a later digit's edit reads back as the same double"
                                : "");
            csv_free(&c);
            return;
        }
    csv_free(&c);
    cr_assert_fail("%s: no field of column %d can be edited as asked", path, col + 1);
}

/* Multiply one field by factor (printed %.17g). */
static void scale_field(const char *path, int row, int col, double factor, char *what) {
    Csv c;
    csv_load(&c, path);
    char was[64], now[64];
    csv_text(&c, row, col, was, sizeof was);
    snprintf(now, sizeof now, "%.17g", strtod(was, NULL) * factor);
    size_t k = (size_t)row * c.cols + col;
    splice(path, c.b0[k], c.b1[k], now);
    snprintf(what, WHAT, "%s line %d field %d: %s -> %s (times 1 + %.0e)", strrchr(path, '/') + 1, row + 1, col + 1, was,
             now, factor - 1);
    csv_free(&c);
}

/* summary.json's integer field `key` += delta in place (0: the file as it was); returns the
 * field's old value. */
static long summary_add(const char *path, const char *key, long delta) {
    unsigned char *buf;
    size_t len;
    char err[256], pat[64], now[64];
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *k = strstr((const char *)buf, pat);
    cr_assert(k, "%s has no %s", path, key);
    size_t b0 = (size_t)(k - (const char *)buf) + strlen(pat);
    long n = strtol((const char *)buf + b0, NULL, 10);
    size_t b1 = b0 + strspn((const char *)buf + b0, "0123456789");
    free(buf);
    snprintf(now, sizeof now, "%ld", n + delta);
    splice(path, b0, b1, now);
    return n;
}

/* A fresh copy of run directory src (seed-0) to edit. */
static void copy_run(const char *src, const char *dst) {
    cr_assert_eq(sh("rm -rf %s && cp -r %s %s", dst, src, dst), 0, "%s", out);
}

/* tool on dir must fail, naming quantity. */
static void expect_caught(const char *tool, const char *dir, const char *quantity, const char *what) {
    int rc = sh("/usr/bin/python3 tools/%s %s", tool, dir);
    cr_expect_eq(rc, 1, "%s: %s not caught (exit %d):\n%s", tool, what, rc, out);
    char want[256];
    snprintf(want, sizeof want, "FAIL %s", quantity);
    cr_expect(strstr(out, want) != NULL, "%s: %s: the report does not say \"%s\":\n%s", tool, what, want, out);
    cr_log_info("%s catches %s", tool, what);
}

Test(replay, dcopf_reproduces_matpower_published_results) {
    /* rundcopf's objectives of case5, 9, 14, 30, 57 and 118 and case5's LMPs (MATPOWER's
     * documentation and results), to the cent. */
    int rc = sh("/usr/bin/python3 tools/sb_grid.py --selftest data/matpower");
    cr_expect_eq(rc, 0, "%s", out);
}

Test(replay, digit_edit_moves_one_digit_and_carries) {
    char now[128];
    cr_assert_eq(digit_edit("0.50052433335818813", 17, 1, now, sizeof now), 0);
    cr_expect_str_eq(now, "0.50052433335818814");
    cr_assert_eq(digit_edit("0.5", 17, 1, now, sizeof now), 0);
    cr_expect_str_eq(now, "0.50000000000000001");
    cr_assert_eq(digit_edit("0.5", 17, -1, now, sizeof now), 0);
    cr_expect_str_eq(now, "0.49999999999999999");
    cr_assert_eq(digit_edit("9.9999999999999999", 17, 1, now, sizeof now), 0);
    cr_expect_str_eq(now, "10.0000000000000000");
    cr_assert_eq(digit_edit("-4034.0484010412889e-05", 16, -1, now, sizeof now), 0);
    cr_expect_str_eq(now, "-4034.0484010412879e-05");
    cr_assert_eq(digit_edit("30", 3, 1, now, sizeof now), 0);
    cr_expect_str_eq(now, "30.1");
    cr_expect_eq(digit_edit("0", 17, 1, now, sizeof now), -1);
}

/* Rows of steps.csv and draws.csv in the paper's 4-day run. */
static int steps_row(int t, int b) { return 1 + t * PB + b; }
static int draws_row(int t, int b) { return 1 + t * DRAWS_PER_STEP + b; }

typedef struct {
    Csv steps, draws;
} Paper;

/* [MODEL 3.4] a fleet's grid energy from its net demand and action. */
static double fleet_q(double net, double a) {
    double c = fmax(a, 0.0) * CAP_KWH, e = fmax(-a, 0.0) * CAP_KWH;
    return net + c / EFF_IN - EFF_OUT * e;
}

static double clip01(double x) { return x < 0 ? 0.0 : x > 1 ? 1.0 : x; }

/* An action's edit reaches the next SoC (MODEL 3.4: clip(SoC + a, 0, 1)). */
static int seen_action_in_soc(const Csv *s, int row, double a, const void *ctx) {
    (void)ctx;
    return clip01(csv_num(s, row, C_SOC) + a) != csv_num(s, row + PB, C_SOC);
}

/* An action's edit reaches neither the next SoC nor the fleet's energy. */
static int absorbed_action(const Csv *s, int row, double a, const void *ctx) {
    const Paper *p = ctx;
    int t = (row - 1) / PB, b = (row - 1) % PB;
    return !seen_action_in_soc(s, row, a, ctx) &&
           fleet_q(csv_num(&p->draws, draws_row(t, b), 4), a) == csv_num(s, row, C_Q);
}

/* A net demand's edit reaches the fleet's energy. */
static int seen_net(const Csv *d, int row, double net, const void *ctx) {
    (void)d;
    const Paper *p = ctx;
    int t = (row - 1) / DRAWS_PER_STEP, b = (row - 1) % DRAWS_PER_STEP;
    return fleet_q(net, csv_num(&p->steps, steps_row(t, b), C_ACT)) != csv_num(&p->steps, steps_row(t, b), C_Q);
}

/* [MODEL 2.5] A consumers' energy edit reaches the bus load: 0 + (consumer + q) / 1000 / 1. */
static int seen_cons(const Csv *s, int row, double cons, const void *ctx) {
    (void)ctx;
    return (cons + csv_num(s, row, C_Q)) / 1000.0 != csv_num(s, row, C_LOAD);
}

/* [MODEL 4.2] b <- b - 0.9 (b - LMP) / sqrt(day + 1): a day-0 belief's edit reaches day 1's. */
static int seen_belief0(const Csv *s, int row, double b, const void *ctx) {
    (void)ctx;
    return b - BELIEF_STEP * (b - csv_num(s, row, C_LMP)) / sqrt(0 + 1.0) != csv_num(s, row + PS * PB, C_BELIEF);
}

/* An LMP's edit reaches the next day's belief. */
static int seen_lmp(const Csv *s, int row, double lmp, const void *ctx) {
    (void)ctx;
    int day = (row - 1) / PB / PS;
    double b = csv_num(s, row, C_BELIEF);
    return b - BELIEF_STEP * (b - lmp) / sqrt(day + 1.0) != csv_num(s, row + PS * PB, C_BELIEF);
}

Test(replay, storage_run_with_learning_replays_and_an_edited_record_fails, .timeout = 1200) {
    /* 4 days: leader periods of 3 days, so a full and a partial period; the report window (3
     * days) spans both. */
    char run[256], seed[300], ed[300], what[WHAT], path[400];
    tmpdir(run, sizeof run, "paper");
    snprintf(seed, sizeof seed, "%s/seed-0", run);
    snprintf(ed, sizeof ed, "%s/edited", run);
    cr_assert_eq(sh("rm -rf %s && %s train configs/paper.yaml --set days=%d" SMALL_PPO " --out %s", run, tu_bin(), PDAYS,
                    run),
                 0, "%s", out);
    int rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_assert_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    cr_log_info("check_run on %s:\n%s", seed, out);
    Paper p;
    snprintf(path, sizeof path, "%s/steps.csv", seed);
    csv_load(&p.steps, path);
    snprintf(path, sizeof path, "%s/draws.csv", seed);
    csv_load(&p.draws, path);
    cr_assert_eq(p.steps.rows, 1 + PT * PB);
    cr_assert_eq(p.draws.rows, 1 + PT * DRAWS_PER_STEP);
    int inner[PT * PB], day0[PS * PB], early[(PT - PS) * PB], nets[PT * PB];
    int n_inner = 0;
    for (int t = 1; t + 1 < PT; t++)
        for (int b = 0; b < PB; b++) inner[n_inner++] = steps_row(t, b);
    for (int t = 0; t < PT - PS; t++)
        for (int b = 0; b < PB; b++) early[t * PB + b] = steps_row(t, b);
    for (int k = 0; k < PS * PB; k++) day0[k] = 1 + k;
    for (int t = 0; t < PT; t++)
        for (int b = 0; b < PB; b++) nets[t * PB + b] = draws_row(t, b);

    /* Outputs of exact relations: any edit that changes the double is caught. */
    struct {
        const char *file;
        int row, col, units;
        const char *quantity;
    } out_of_relation[] = {
        {"steps.csv", steps_row(10, 2), C_SOC, 1, "soc: chain clip(soc + a)"},
        {"steps.csv", steps_row(0, 1), C_SOC, -1, "soc: start = initial_soc"},
        {"steps.csv", steps_row(19, 0), C_BELIEF, 1, "belief: b - step (b - lmp) / sqrt(day + 1)"},
        {"steps.csv", steps_row(13, 1), C_Q, -1, "fleet grid energy q kWh"},
        {"steps.csv", steps_row(22, 2), C_LOAD, 1, "bus load MWh"},
        {"steps.csv", steps_row(5, 0), C_AB, 1, "tariff: steps = period"},
        {"steps.csv", steps_row(27, 1), C_FP, -1, "tariff: bus prosumer charge"},
        {"periods.csv", 2, 5, -1, "tariff: summary = last period"}, /* the last period's fixed_b2 */
    };
    for (size_t i = 0; i < sizeof out_of_relation / sizeof *out_of_relation; i++) {
        copy_run(seed, ed);
        snprintf(path, sizeof path, "%s/%s", ed, out_of_relation[i].file);
        edit_last_digit(path, out_of_relation[i].col, &out_of_relation[i].row, 1, out_of_relation[i].units, NULL, NULL,
                        what);
        expect_caught("check_run.py", ed, out_of_relation[i].quantity, what);
    }
    /* Inputs: the first cell whose edit the model carries to another record. */
    struct {
        const char *file;
        const int *rows;
        int n_rows, col;
        Seen seen;
        const char *quantity;
    } into_relation[] = {
        {"steps.csv", inner, n_inner, C_ACT, seen_action_in_soc, "soc: chain clip(soc + a)"},
        {"draws.csv", nets, PT * PB, 4, seen_net, "fleet grid energy q kWh"},
        {"steps.csv", inner, n_inner, C_CONS, seen_cons, "bus load MWh"},
        {"steps.csv", day0, PS * PB, C_BELIEF, seen_belief0, "belief: b - step (b - lmp) / sqrt(day + 1)"},
        {"steps.csv", early, (PT - PS) * PB, C_LMP, seen_lmp, "belief: b - step (b - lmp) / sqrt(day + 1)"},
    };
    for (size_t i = 0; i < sizeof into_relation / sizeof *into_relation; i++)
        for (int u = -1; u <= 1; u += 2) {
            copy_run(seed, ed);
            snprintf(path, sizeof path, "%s/%s", ed, into_relation[i].file);
            edit_last_digit(path, into_relation[i].col, into_relation[i].rows, into_relation[i].n_rows, u,
                            into_relation[i].seen, &p, what);
            expect_caught("check_run.py", ed, into_relation[i].quantity, what);
        }
    /* An action edit that reaches neither the next SoC nor the fleet's energy leaves every other
     * number of the run as it was: a run the model produces just as well, which the replay
     * must not flag. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    edit_last_digit(path, C_ACT, inner, n_inner, 1, absorbed_action, &p, what);
    rc = sh("/usr/bin/python3 tools/check_run.py %s", ed);
    cr_expect_eq(rc, 0, "an absorbed action edit (%s) is flagged (exit %d):\n%s", what, rc, out);
    cr_log_info("check_run.py rightly passes %s (absorbed by SoC + a and q)", what);
    /* check_run --edit-sweep edits every cell of the exact relations' columns: every edit that
     * changes the double of an output of one (SoC, q, bus load, later beliefs) is caught. */
    rc = sh("/usr/bin/python3 tools/check_run.py --edit-sweep %s", seed);
    cr_expect_eq(rc, 0, "%s", out);
    const char *outputs[] = {"\nsoc ", "\nprosumer_grid_kwh (q) ", "\nbus_load_mwh ", "\nbelief, later days "};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
        const char *line = strstr(out, outputs[i]);
        cr_assert(line, "--edit-sweep has no row%s:\n%s", outputs[i], out);
        line = strchr(line + 1, '|');
        int c[6], got = line ? sscanf(line, "| %d %d | %d %d | %d %d", c, c + 1, c + 2, c + 3, c + 4, c + 5) : 0;
        cr_assert_eq(got, 6, "--edit-sweep row%s unreadable:\n%s", outputs[i], out);
        cr_expect(c[0] == c[1] && c[2] == c[3] && c[4] == c[5] && c[2] > 0, "--edit-sweep row%s: not every change caught:\n%s",
                  outputs[i], out);
    }
    /* Derived quantities are within tolerances: an LMP 1e-6 relative off (the issue's
     * tolerance; our DC-OPF allows 1e-9), and a class's EEI 1e-12 relative off (its rounding
     * allowance is ~1e-13 relative: 2 gamma_k of the bill's sum over ~200 terms). */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    scale_field(path, steps_row(18, 0), C_LMP, 1 + 1e-6, what);
    expect_caught("check_run.py", ed, "lmp $/MWh", what);
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/periods.csv", ed);
    scale_field(path, 1, 9, 1 + 1e-12, what); /* period 0's eei_b2 */
    expect_caught("check_run.py", ed, "period: eei per class %", what);
    /* One more PPO step in the summary than the schedule runs. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/summary.json", ed);
    summary_add(path, "train_env_steps", 1);
    expect_caught("check_run.py", ed, "summary: train_env_steps", "summary.json train_env_steps + 1");
    csv_free(&p.steps);
    csv_free(&p.draws);
    cr_expect_eq(sh("rm -rf %s", run), 0);
}

/* case14 from_load: 11 household buses of 3 groups each; draws.csv has per step, for each bus,
 * its net-demand row and its 3 groups' rows (no solar units). */
enum { K_BUSES = 11, K_GROUPS = 3, K_PER_STEP = K_BUSES * (1 + K_GROUPS) };

/* A group's edit reaches its bus's net demand: the groups summed in order from the first. */
static int seen_group(const Csv *d, int row, double v, const void *ctx) {
    (void)ctx;
    int in_step = (row - 1) % K_PER_STEP, first = row - in_step % (1 + K_GROUPS); /* the bus's net row */
    double s = 0;
    for (int g = 0; g < K_GROUPS; g++) {
        double x = first + 1 + g == row ? v : csv_num(d, first + 1 + g, 4);
        s = g == 0 ? x : s + x;
    }
    return s != csv_num(d, first, 4);
}

/* configs/case14.yaml for 2 days (leader periods of a day, a report day, small PPO) with the
 * --set arguments `extra`, trained into a fresh run[256]; seed[300] is its seed-0 and ed[300] a
 * place for edited copies. */
static void case14_run(const char *tag, const char *extra, char *run, char *seed, char *ed) {
    tmpdir(run, 256, tag);
    snprintf(seed, 300, "%s/seed-0", run);
    snprintf(ed, 300, "%s/edited", run);
    cr_assert_eq(sh("rm -rf %s && %s train configs/case14.yaml --set days=2 --set leader_period_days=1 "
                    "--set report_days=1 %s" SMALL_PPO " --out %s",
                    run, tu_bin(), extra, run),
                 0, "%s", out);
}

Test(replay, case14_replays_per_class_and_its_grid_records_resolve, .timeout = 1200) {
    /* A MATPOWER grid (costs per hour, 3-hour steps) with households generated on its 11 load
     * buses (three income classes at each) and the case's own loads following the consumers'
     * shape: the replay recomputes each class's bills from draws.csv's group rows, and both
     * markets of every step are re-solved from the recorded loads and bounds. */
    char run[256], seed[300], ed[300], what[WHAT], path[400];
    case14_run("case14", "--set 'record=[grid]'", run, seed, ed);
    int rc = sh("/usr/bin/python3 tools/check_grid.py %s", seed);
    cr_assert_eq(rc, 0, "the grid records disagree with an independent DC-OPF (exit %d):\n%s", rc, out);
    cr_log_info("check_grid on %s:\n%s", seed, out);
    cr_expect(strstr(out, "not unique") == NULL, "every step's LMPs are unique on case14:\n%s", out);
    rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_expect_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    cr_expect(strstr(out, "period: eei per class %") && strstr(out, "draws: bus net = its groups' sum") &&
                  !strstr(out, "not checked"),
              "the per-class bills are not all recomputed:\n%s", out);
    cr_log_info("check_run on %s:\n%s", seed, out);
    /* A group's net demand whose edit reaches its bus's sum. */
    int groups[16 * K_BUSES * K_GROUPS], n_groups = 0;
    for (int t = 0; t < 16; t++)
        for (int b = 0; b < K_BUSES; b++)
            for (int g = 0; g < K_GROUPS; g++) groups[n_groups++] = 1 + t * K_PER_STEP + b * (1 + K_GROUPS) + 1 + g;
    for (int u = -1; u <= 1; u += 2) {
        copy_run(seed, ed);
        snprintf(path, sizeof path, "%s/draws.csv", ed);
        edit_last_digit(path, 4, groups, n_groups, u, seen_group, NULL, what);
        expect_caught("check_run.py", ed, "draws: bus net = its groups' sum", what);
    }
    /* A period's EEI of class mid 1e-12 relative off. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/periods.csv", ed);
    scale_field(path, 2, 9, 1 + 1e-12, what); /* period 1's eei_mid */
    expect_caught("check_run.py", ed, "period: eei per class %", what);
    /* The grid files: an LMP and a cost 1e-6 relative off (they agree to ~1e-15); a bus's load
     * without storage in its last digit (base load plus the households, exact); a household
     * bus's LMP in steps.csv in its last digit (the same double as in grid_buses.csv).
     * grid_buses.csv line 1 + 14 k + i is bus i + 1 of the k-th (step, market); 20 is step 0's
     * bus 6 without storage. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/grid_buses.csv", ed);
    scale_field(path, 20, 5, 1 + 1e-6, what);
    expect_caught("check_grid.py", ed, "lmp $/MWh", what);
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/grid_steps.csv", ed);
    scale_field(path, 3, 3, 1 + 1e-6, what);
    expect_caught("check_grid.py", ed, "cost $", what);
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/grid_buses.csv", ed);
    int row = 20;
    edit_last_digit(path, 4, &row, 1, 1, NULL, NULL, what);
    expect_caught("check_grid.py", ed, "load without storage = base + households", what);
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    row = 1 + 5 * K_BUSES + 3;
    edit_last_digit(path, C_LMP, &row, 1, -1, NULL, NULL, what);
    expect_caught("check_grid.py", ed, "steps.csv lmp = grid files", what);
    cr_expect_eq(sh("rm -rf %s", run), 0);
}

Test(replay, a_run_whose_tariff_falls_short_replays_its_shortfall, .timeout = 1200) {
    /* Every other replayed run recovers its fixed cost under both tariffs, so both shortfalls are
     * clamped to 0 and the summary could report the baseline tariff's instead of the learned
     * one's unnoticed (a mutant did). Here the fixed cost is 150,000 $/day for the paper's
     * 10,800 households (13.9 $ each: the baseline's uniform charge, within the bounds [0, 15],
     * recovers it), and the learned tariff sets every class's charge itself (consumer_charge:
     * learned) from the middle of the bounds, 7.5 $: about half the cost, so its shortfall is
     * far from 0 and from the baseline's. check_run recomputes it from the records. */
    char run[256], seed[300], path[400];
    tmpdir(run, sizeof run, "short");
    snprintf(seed, sizeof seed, "%s/seed-0", run);
    cr_assert_eq(sh("rm -rf %s && %s train configs/paper.yaml --set days=3 --set utility.consumer_charge=learned "
                    "--set utility.fixed_cost_per_day=150000" SMALL_PPO " --out %s",
                    run, tu_bin(), run),
                 0, "%s", out);
    snprintf(path, sizeof path, "%s/summary.json", seed);
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL, "%s", path);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *k = strstr(text, "\"revenue_shortfall\"");
    cr_assert(k != NULL, "summary.json has no revenue_shortfall");
    double sf = strtod(strchr(k, ':') + 1, NULL);
    cr_expect(sf > 0.2 && sf < 0.8, "the learned tariff recovers about half the fixed cost; shortfall %g", sf);
    int rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_expect_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    cr_expect(strstr(out, "summary: revenue shortfall") != NULL, "the shortfall is not replayed:\n%s", out);
    sh("rm -rf %s", run);
}

/* An overloaded grid: case14 with 120,000 households (four times the config's) asks more than its
 * generators give at the peak hours, so some clearings use unserved energy. The replay counts
 * those steps with its own DC-OPF and must find the run's slack_steps exactly; a count off by one
 * in summary.json must be caught. */
Test(replay, case14_overloaded_counts_its_slack_steps, .timeout = 600) {
    char run[256], seed[300], ed[300], path[400];
    case14_run("slack", "--set households.from_load.households=120000", run, seed, ed);
    int rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_assert_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    cr_expect(strstr(out, "summary: slack steps"), "the slack count is not checked:\n%s", out);
    /* the count agrees with the replay's; the scenario is meant to overload some steps, not all */
    snprintf(path, sizeof path, "%s/summary.json", seed);
    long slack = summary_add(path, "slack_steps", 0);
    cr_assert(slack >= 2 && slack < 16, "the scenario must overload some of the 16 steps but not all: %ld", slack);
    for (int u = -1; u <= 1; u += 2) {
        copy_run(seed, ed);
        snprintf(path, sizeof path, "%s/summary.json", ed);
        summary_add(path, "slack_steps", u);
        expect_caught("check_run.py", ed, "summary: slack steps", u < 0 ? "slack_steps - 1" : "slack_steps + 1");
    }
    cr_expect_eq(sh("rm -rf %s", run), 0);
}
