/* test_replay.c: the game's records checked from outside the program. A short storage run of
 * configs/paper.yaml with learning on is replayed by tools/check_run.py (NumPy, and its own
 * DC-OPF in cvxopt: fleets, SoC, bus loads, LMPs, tariffs, bills, EEIs, revenue, reward, IMVs,
 * every summary field), which must also fail when one record is edited by one unit of its
 * last digit; a case14 game's `record: grid` files are re-solved step by step by
 * tools/check_grid.py; and that DC-OPF reproduces MATPOWER's published results. The scripts
 * share no code with the C program (they are written from the model); Debian's python3 runs
 * them. */
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

static char out[1 << 16];

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

/* Field `col` of line `line` (0 = header) of a CSV file: its text in field (cap), and the
 * byte range [*b0, *b1) in the file's contents buf. 0, or -1 if absent. */
static int csv_field(const char *buf, int line, int col, size_t *b0, size_t *b1) {
    const char *p = buf;
    for (int l = 0; l < line; l++) {
        p = strchr(p, '\n');
        if (!p) return -1;
        p++;
    }
    for (int c = 0; c < col; c++) {
        p = strpbrk(p, ",\n");
        if (!p || *p == '\n') return -1;
        p++;
    }
    *b0 = (size_t)(p - buf);
    *b1 = *b0 + strcspn(p, ",\n");
    return 0;
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

/* Edit a CSV field: with units != 0 by that many units of its last printed decimal (a %.Nf
 * field keeps its N decimals), else multiply it by factor (printed %.9g). Returns the new text
 * in now (64). */
static void edit_csv(const char *path, int line, int col, int units, double factor, char *was, char *now) {
    unsigned char *buf;
    size_t len, b0, b1;
    char err[256];
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(csv_field((const char *)buf, line, col, &b0, &b1), 0, "%s: no field %d on line %d", path, col, line);
    snprintf(was, 64, "%.*s", (int)(b1 - b0), buf + b0);
    free(buf);
    double v = strtod(was, NULL);
    if (units) {
        const char *dot = strchr(was, '.');
        int d = dot ? (int)strlen(dot + 1) : 0;
        snprintf(now, 64, "%.*f", d, v + units * pow(10.0, -d));
    } else {
        snprintf(now, 64, "%.9g", v * factor);
    }
    splice(path, b0, b1, now);
}

/* A fresh copy of run directory src (seed-0) to edit. */
static void copy_run(const char *src, const char *dst) {
    cr_assert_eq(sh("rm -rf %s && cp -r %s %s", dst, src, dst), 0, "%s", out);
}

/* check_run.py on dir must fail, naming quantity. */
static void expect_caught(const char *tool, const char *dir, const char *quantity, const char *what) {
    int rc = sh("/usr/bin/python3 tools/%s %s", tool, dir);
    cr_expect_eq(rc, 1, "%s: %s not caught (exit %d):\n%s", tool, what, rc, out);
    char want[256];
    snprintf(want, sizeof want, "FAIL %s", quantity);
    cr_expect(strstr(out, want) != NULL, "%s: %s: the report does not say \"%s\":\n%s", tool, what, want, out);
}

Test(replay, dcopf_reproduces_matpower_published_results) {
    /* rundcopf's objectives of case5, 9, 14, 30, 57 and 118 and case5's LMPs (MATPOWER's
     * documentation and results), to the cent. */
    int rc = sh("/usr/bin/python3 tools/sb_grid.py --selftest data/matpower");
    cr_expect_eq(rc, 0, "%s", out);
}

/* steps.csv line of (day, hour, bus index b) in a 3-bus game with 8 steps a day. */
static int steps_line(int day, int hour, int b) { return 1 + (day * 8 + hour) * 3 + b; }

Test(replay, storage_run_with_learning_replays_and_an_edited_record_fails, .timeout = 1200) {
    /* 4 days: leader periods of 3 days, so a full and a partial period; the report window (3
     * days) spans both. */
    char run[256], seed[300], ed[300], was[64], now[64], path[400];
    tmpdir(run, sizeof run, "paper");
    snprintf(seed, sizeof seed, "%s/seed-0", run);
    snprintf(ed, sizeof ed, "%s/edited", run);
    cr_assert_eq(sh("rm -rf %s && %s train configs/paper.yaml --set days=4" SMALL_PPO " --out %s", run, tu_bin(), run),
                 0, "%s", out);
    int rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_assert_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    cr_log_info("check_run on %s:\n%s", seed, out);

    /* One unit of the last digit (1e-6) of an action, up and down: the replay knows each action
     * to ~1e-9 from the fleet's grid energy (9 digits) and its net demand (17 digits), so the
     * edit leaves the allowance of half a unit. */
    for (int u = -1; u <= 1; u += 2) {
        copy_run(seed, ed);
        snprintf(path, sizeof path, "%s/steps.csv", ed);
        edit_csv(path, steps_line(1, 4, 1), 9, u, 0, was, now);
        char what[256];
        snprintf(what, sizeof what, "steps.csv action of day 1 hour 4 b2 %s -> %s", was, now);
        expect_caught("check_run.py", ed, "action (implied by q)", what);
    }
    /* One unit of a SoC early in the run (the chain of actions is then known to ~1e-9). */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    edit_csv(path, steps_line(0, 2, 2), 8, 1, 0, was, now);
    expect_caught("check_run.py", ed, "soc (chain of actions)", "steps.csv soc of day 0 hour 2 b3 up one unit");
    /* One unit of alpha_buy in one step: every step of a period shows the period's tariff. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    edit_csv(path, steps_line(0, 3, 0), 10, 1, 0, was, now);
    expect_caught("check_run.py", ed, "tariff: steps = period", "steps.csv alpha_buy of day 0 hour 3 up one unit");
    /* One unit of the last period's charge for b2: the summary holds it to 17 digits. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/periods.csv", ed);
    edit_csv(path, 2, 5, -1, 0, was, now);
    expect_caught("check_run.py", ed, "tariff: summary = last period", "periods.csv fixed_b2 of period 1 down one unit");
    /* An LMP 1e-6 relative off (the tolerance): beyond what the loads' rounding allows
     * (~1e-9 relative). */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/steps.csv", ed);
    edit_csv(path, steps_line(2, 6, 0), 3, 0, 1 + 1e-6, was, now);
    expect_caught("check_run.py", ed, "lmp $/MWh", "steps.csv lmp of day 2 hour 6 b1 times 1 + 1e-6");
    /* One more PPO step in the summary than the schedule runs. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/summary.json", ed);
    unsigned char *buf;
    size_t len;
    char err[256];
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    const char *k = strstr((const char *)buf, "\"train_env_steps\": ");
    cr_assert(k);
    size_t b0 = (size_t)(k - (const char *)buf) + strlen("\"train_env_steps\": ");
    long n = strtol((const char *)buf + b0, NULL, 10);
    size_t b1 = b0 + strspn((const char *)buf + b0, "0123456789");
    free(buf);
    snprintf(now, sizeof now, "%ld", n + 1);
    splice(path, b0, b1, now);
    expect_caught("check_run.py", ed, "summary: train_env_steps", "summary.json train_env_steps + 1");
    cr_expect_eq(sh("rm -rf %s", run), 0);
}

Test(replay, case14_grid_records_resolve_step_by_step, .timeout = 1200) {
    /* A MATPOWER grid (costs per hour, 3-hour steps) with households generated on its 11 load
     * buses and the case's own loads following the consumers' shape: both markets of every
     * step re-solved by an independent DC-OPF from the recorded loads and bounds. */
    char run[256], seed[300], ed[300], was[64], now[64], path[400];
    tmpdir(run, sizeof run, "case14");
    snprintf(seed, sizeof seed, "%s/seed-0", run);
    snprintf(ed, sizeof ed, "%s/edited", run);
    cr_assert_eq(sh("rm -rf %s && %s train configs/case14.yaml --set days=2 --set leader_period_days=1 "
                    "--set report_days=1 --set 'record=[grid]'" SMALL_PPO " --out %s",
                    run, tu_bin(), run),
                 0, "%s", out);
    int rc = sh("/usr/bin/python3 tools/check_grid.py %s", seed);
    cr_assert_eq(rc, 0, "the grid records disagree with an independent DC-OPF (exit %d):\n%s", rc, out);
    cr_log_info("check_grid on %s:\n%s", seed, out);
    cr_expect(strstr(out, "not unique") == NULL, "every step's LMPs are unique on case14:\n%s", out);
    /* The whole replay too (per-class bills need each group's net demand: noted, not checked). */
    rc = sh("/usr/bin/python3 tools/check_run.py %s", seed);
    cr_expect_eq(rc, 0, "the replay disagrees with the records (exit %d):\n%s", rc, out);
    /* An LMP and a cost 1e-6 relative off are caught (they agree to ~1e-15). grid_buses.csv
     * line 1 + 14 k + i is bus i + 1 of the k-th (step, market); 20 is step 0's bus 6 without
     * storage. */
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/grid_buses.csv", ed);
    edit_csv(path, 20, 5, 0, 1 + 1e-6, was, now);
    expect_caught("check_grid.py", ed, "lmp $/MWh", "grid_buses.csv lmp times 1 + 1e-6");
    copy_run(seed, ed);
    snprintf(path, sizeof path, "%s/grid_steps.csv", ed);
    edit_csv(path, 3, 3, 0, 1 + 1e-6, was, now);
    expect_caught("check_grid.py", ed, "cost $", "grid_steps.csv cost times 1 + 1e-6");
    cr_expect_eq(sh("rm -rf %s", run), 0);
}
