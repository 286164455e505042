/* test_mpi.c: the tariff game spread over threads and OpenMPI ranks gives the same records bit
 * for bit: a case14 game with households generated on its 11 load buses, 6 days, run through
 * the binary with --threads 1 and 2, and under `mpirun -np 1, 2, 3` (a seed's aggregators split
 * over the ranks); and two seeds over 1, 3 and 5 ranks (seeds run one after another on a rank,
 * or each on a group of ranks). steps.csv and every non-wall-clock summary field must match. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "run/mpi.h"
#include "testutil.h"
#include "util/common.h"

/* Small phases so 6 days of 11 aggregators run in seconds. */
static const char *SMALL = "--set days=6 --set leader_period_days=2 --set report_days=1 "
                           "--set aggregator.train_steps=60 --set aggregator.ppo.n_steps=30 "
                           "--set aggregator.ppo.batch_size=15 --set aggregator.ppo.n_epochs=2 "
                           "--set utility.train_steps=8 --set utility.episode_periods=2 --set utility.ppo.n_steps=4 "
                           "--set utility.ppo.batch_size=4 --set utility.ppo.n_epochs=1";

static void need_mpirun(void) {
    if (!sb_mpi_built()) cr_skip_test("built without OpenMPI (libopenmpi-dev was missing at build time)");
    char out[256];
    if (tu_run("command -v mpirun", out, sizeof out) != 0) cr_skip_test("mpirun not found (Debian's openmpi-bin)");
}

/* mpirun's options: root may run ranks here; more ranks than cores; under ASan, OpenMPI's own
 * allocations at exit are not ours to report. */
static const char *mpirun(void) {
    return tu_asan() ? "mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0"
                     : "mpirun --allow-run-as-root --oversubscribe";
}

static void train(const char *launcher, const char *extra, const char *dir, int seeds) {
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s %s train configs/case14.yaml --seeds %d --out %s --quiet %s %s", dir,
             launcher, tu_bin(), seeds, dir, SMALL, extra);
    int rc = tu_run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "%s\n%s", cmd, out);
}

/* Every summary field but the wall-clock ones, compared by Python's json (an independent
 * reader): prints the differing keys. */
static void expect_same_summary(const char *a, const char *b) {
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json; a=json.load(open('%s')); b=json.load(open('%s')); "
             "skip={'wall_s','seed_wall_s','train_steps_per_s','time_s','timing_note'}; "
             "bad=[k for k in a if k not in skip and a[k]!=b.get(k)]; print(bad); exit(1 if bad else 0)\"",
             a, b);
    cr_expect_eq(tu_run(cmd, out, sizeof out), 0, "%s vs %s: %s", a, b, out);
}

static void expect_same_run(const char *ref, const char *dir, int seeds) {
    char a[1024], b[1024];
    const char *files[] = {"steps.csv", "periods.csv", "days.csv", "hourly.csv", "draws.csv", "training.csv"};
    for (int s = 0; s < seeds; s++)
        for (size_t f = 0; f < SB_ARRAY_LEN(files); f++) {
            snprintf(a, sizeof a, "%s/seed-%d/%s", ref, s, files[f]);
            snprintf(b, sizeof b, "%s/seed-%d/%s", dir, s, files[f]);
            cr_expect(tu_same_file(a, b), "%s differs from %s", b, a);
        }
    snprintf(a, sizeof a, "%s/steps.csv", ref);
    snprintf(b, sizeof b, "%s/steps.csv", dir);
    cr_expect(tu_same_file(a, b), "the aggregate %s differs", b);
    for (int s = 0; s < seeds; s++) {
        snprintf(a, sizeof a, "%s/seed-%d/summary.json", ref, s);
        snprintf(b, sizeof b, "%s/seed-%d/summary.json", dir, s);
        expect_same_summary(a, b);
    }
    snprintf(a, sizeof a, "%s/summary.json", ref);
    snprintf(b, sizeof b, "%s/summary.json", dir);
    expect_same_summary(a, b);
}

Test(mpi, one_seed_over_threads_and_ranks_is_bitwise_identical, .timeout = 900) {
    need_mpirun();
    char ref[256], dir[256];
    snprintf(ref, sizeof ref, "/tmp/sb-mpi-%ld-t1", (long)getpid());
    train("", "--threads 1", ref, 1);
    snprintf(dir, sizeof dir, "/tmp/sb-mpi-%ld-t2", (long)getpid());
    train("", "--threads 2", dir, 1);
    expect_same_run(ref, dir, 1);
    for (int np = 1; np <= 3; np++) {
        char launcher[256];
        snprintf(launcher, sizeof launcher, "%s -np %d", mpirun(), np);
        snprintf(dir, sizeof dir, "/tmp/sb-mpi-%ld-np%d", (long)getpid(), np);
        train(launcher, "", dir, 1);
        expect_same_run(ref, dir, 1);
    }
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/sb-mpi-%ld-*", (long)getpid());
    tu_run(cmd, out, sizeof out);
}

Test(mpi, two_seeds_over_one_three_and_five_ranks, .timeout = 900) {
    need_mpirun();
    char ref[256], dir[256];
    snprintf(ref, sizeof ref, "/tmp/sb-mpi2-%ld-fork", (long)getpid());
    train("", "", ref, 2);
    for (int np = 1; np <= 5; np += 2) {
        char launcher[256];
        snprintf(launcher, sizeof launcher, "%s -np %d", mpirun(), np);
        snprintf(dir, sizeof dir, "/tmp/sb-mpi2-%ld-np%d", (long)getpid(), np);
        train(launcher, "", dir, 2);
        expect_same_run(ref, dir, 2);
    }
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/sb-mpi2-%ld-*", (long)getpid());
    tu_run(cmd, out, sizeof out);
}
