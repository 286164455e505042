/* test_ac_smfg.c: the tariff game under schedule ac_smfg (game.c, step_ac_smfg; the actor-critic
 * of src/rl/ac.c): the order of its phases over 3 days and the samples it counts, the tariff
 * changing only at a leader period's start, a run stopped mid-period and resumed equal to an
 * uninterrupted one, the same records for 1 and 2 threads and for 1, 2 and 3 MPI ranks, and bad
 * ac_smfg settings refused with their file positions before anything is written. */
#include <criterion/criterion.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/game_config.h"
#include "game/game.h"
#include "game/world.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "gametest.h"
#include "testutil.h"
#include "util/common.h"
#include "util/fsutil.h"

/* configs/ac_smfg.yaml made small: 3 days, the leader every day, few samples per step. */
static void small_config(GameConfig *c) {
    char err[512];
    cr_assert_eq(game_config_load("configs/ac_smfg.yaml", c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c->schedule, GAME_AC_SMFG);
    c->days = 3;
    c->leader_period_days = 1;
    c->report_days = 1;
    c->ac.follower_samples = 16;
    c->ac.leader_samples = 2;
    c->utility.episode_periods = 2;
}

typedef struct {
    char log[16384];
    size_t len;
    long stop_at;
    volatile int *stop;
} Trace;

static void record(const char *phase, long t, int who, void *user) {
    Trace *tr = user;
    tr->len += (size_t)snprintf(tr->log + tr->len, sizeof tr->log - tr->len, "%s:%ld:%d ", phase, t, who);
    if (tr->stop && t == tr->stop_at && !strcmp(phase, "market")) *tr->stop = 1;
}

static void tmpdir(char *out, size_t cap, const char *tag) {
    snprintf(out, cap, "/tmp/sb-test-acsmfg-%s-%ld", tag, (long)getpid());
}

static void rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Lines of dir/name (header included). */
static int lines_of(const char *dir, const char *name) {
    char path[512], err[256];
    path_join(path, sizeof path, dir, name);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
    int rows = 0;
    for (size_t i = 0; i < len; i++) rows += buf[i] == '\n';
    free(buf);
    return rows;
}

Test(ac_smfg, phases_every_step_samples_counted_tariff_set_at_period_starts) {
    /* The AC-SMFG single loop, written out independently of the loop: with S = 8 steps a day
     * and a leader period of a day (P = 8), every step t runs the leader's samples and update,
     * the three followers', the market; a period closes after its last step. Samples: 24 steps x
     * (3 aggregators x 16 + 2 leader) = 1,200; training.csv gets a row per agent per step. */
    GameConfig c;
    small_config(&c);
    char want[16384];
    size_t k = 0;
    for (long t = 0; t < 24; t++) {
        if (t % 8 == 0 && t > 0) k += (size_t)snprintf(want + k, sizeof want - k, "close:%ld:-1 ", t);
        k += (size_t)snprintf(want + k, sizeof want - k, "leader:%ld:-1 ", t);
        for (int b = 0; b < 3; b++) k += (size_t)snprintf(want + k, sizeof want - k, "follower:%ld:%d ", t, b);
        k += (size_t)snprintf(want + k, sizeof want - k, "market:%ld:-1 ", t);
    }
    snprintf(want + k, sizeof want - k, "close:24:-1 ");
    Trace tr = {0};
    GameOptions o = {.trace = record, .trace_user = &tr};
    char dir[256], err[512];
    tmpdir(dir, sizeof dir, "order");
    GameResult r = {0};
    cr_assert_eq(gt_run_seed(&c, 0, dir, 0, &o, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(tr.log, want);
    cr_expect_eq(r.train_env_steps, 24 * (3 * 16 + 2));
    cr_expect_eq(lines_of(dir, "periods.csv"), 1 + 3);
    cr_expect_eq(lines_of(dir, "training.csv"), 1 + 24 * 4);
    /* steps.csv: the tariff (alpha_buy, column 11) is the same text on every row of a day and
     * changes from the baseline's 0 at the first step (the leader acts before the market). */
    char path[512], line[1024], first[64] = "";
    path_join(path, sizeof path, dir, "steps.csv");
    FILE *f = fopen(path, "r");
    cr_assert(f);
    cr_assert(fgets(line, sizeof line, f));
    for (int row = 0; fgets(line, sizeof line, f); row++) {
        const char *p = line;
        for (int j = 0; j < 10; j++) p = strchr(p, ',') + 1;
        char alpha[64];
        snprintf(alpha, sizeof alpha, "%.*s", (int)(strchr(p, ',') - p), p);
        if (row % (8 * 3) == 0) snprintf(first, sizeof first, "%s", alpha);
        cr_expect_str_eq(alpha, first, "row %d: alpha_buy %s changed within a leader period (%s)", row, alpha, first);
        if (row == 0) cr_expect_str_neq(alpha, "0.000000", "the leader set no tariff at step 0");
    }
    fclose(f);
    game_result_free(&r);
    game_config_free(&c);
    rm_rf(dir);
}

Test(ac_smfg, stopped_mid_period_and_resumed_equals_uninterrupted, .timeout = 600) {
    /* Stopped after the market of step 12 (mid-period: the actor-critics' moments, their
     * environments mid-episode, their Rngs go into the checkpoint), then resumed. */
    GameConfig c;
    small_config(&c);
    char a[256], b[256], err[512];
    tmpdir(a, sizeof a, "full");
    tmpdir(b, sizeof b, "resumed");
    GameResult ra = {0}, rb = {0}, rc2 = {0};
    cr_assert_eq(gt_run_seed(&c, 3, a, 0, NULL, &ra, err, sizeof err), 0, "%s", err);
    volatile int stop = 0;
    Trace tr = {.stop_at = 12, .stop = &stop};
    GameOptions o = {.trace = record, .trace_user = &tr, .stop = &stop};
    cr_assert_eq(gt_run_seed(&c, 3, b, 0, &o, &rb, err, sizeof err), 1, "a stopped run returns 1 (%s)", err);
    cr_assert_eq(gt_run_seed(&c, 3, b, 1, NULL, &rb, err, sizeof err), 0, "%s", err);
    gt_expect_same_records(a, b, &ra, &rb);
    /* A learning run moved the fleets (a run of idle fleets would resume trivially). */
    cr_expect(ra.imv_rl != ra.imv_no_storage);
    cr_assert_eq(gt_run_seed(&c, 3, b, 1, NULL, &rc2, err, sizeof err), 0, "%s", err);
    cr_expect_eq(rc2.imv_rl, rb.imv_rl);
    game_result_free(&ra);
    game_result_free(&rb);
    game_result_free(&rc2);
    game_config_free(&c);
    rm_rf(a);
    rm_rf(b);
}

/* configs/case14.yaml (households on its 11 load buses) under ac_smfg, 2 days, small. */
static void case14_config(GameConfig *c) {
    char err[1024];
    cr_assert_eq(game_config_load("configs/case14.yaml", c, err, sizeof err), 0, "%s", err);
    c->schedule = GAME_AC_SMFG;
    c->days = 2;
    c->leader_period_days = 1;
    c->report_days = 1;
    c->ac.follower_samples = 8;
    c->ac.leader_samples = 2;
    c->utility.episode_periods = 2;
    cr_assert_eq(game_config_validate(c, err, sizeof err), 0, "%s", err);
}

Test(ac_smfg, thread_count_does_not_change_a_bit, .timeout = 600) {
    /* Each aggregator's samples and updates are independent of the others' (its own
     * actor-critic, environment and Rng), so 1 and 2 threads give the same records. */
    GameConfig c;
    case14_config(&c);
    GameWorld w = gt_world_of(&c);
    cr_assert_eq(w.hh.n_bus, 11);
    char dirs[2][256], err[1024];
    GameResult r[2] = {{0}};
    for (int k = 0; k < 2; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "threads%d", k + 1);
        tmpdir(dirs[k], sizeof dirs[k], tag);
        GamePool *pool = game_pool_create(k + 1, NULL);
        GameOptions o = {.pool = pool};
        cr_assert_eq(game_run(&c, &w, 7, dirs[k], 0, &o, &r[k], err, sizeof err), 0, "%s", err);
        game_pool_free(pool);
    }
    gt_expect_same_records(dirs[0], dirs[1], &r[0], &r[1]);
    for (int k = 0; k < 2; k++) {
        rm_rf(dirs[k]);
        game_result_free(&r[k]);
    }
    game_world_free(&w);
    game_config_free(&c);
}

/* ---- through the binary: MPI ranks, bad settings ---- */

static const char *SMALL14 = "--set schedule=ac_smfg --set days=3 --set leader_period_days=2 --set report_days=1 "
                             "--set ac_smfg.follower_samples=8 --set ac_smfg.leader_samples=2 "
                             "--set utility.episode_periods=2";

static void train14(const char *launcher, const char *extra, const char *dir) {
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s %s train configs/case14.yaml --seeds 1 --out %s --quiet %s %s", dir,
             launcher, tu_bin(), dir, SMALL14, extra);
    cr_assert_eq(tu_run(cmd, out, sizeof out), 0, "%s\n%s", cmd, out);
}

Test(ac_smfg, one_seed_over_mpi_ranks_is_bitwise_identical, .timeout = 900) {
    /* The aggregators split over 2 and 3 ranks; the root's copies are synced before the leader's
     * samples at every step and before each checkpoint (game_sync_followers, which carries the
     * actor-critics too). Every record equals the single process's. */
    if (!sb_mpi_built()) cr_skip_test("built without OpenMPI (libopenmpi-dev was missing at build time)");
    char out[256];
    if (tu_run("command -v mpirun", out, sizeof out) != 0) cr_skip_test("mpirun not found (Debian's openmpi-bin)");
    const char *mpirun = tu_asan() ? "mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0"
                                   : "mpirun --allow-run-as-root --oversubscribe";
    char ref[256], dir[256], launcher[256];
    snprintf(ref, sizeof ref, "/tmp/sb-acsmfg-mpi-%ld-t1", (long)getpid());
    train14("", "--threads 1", ref);
    for (int np = 2; np <= 3; np++) {
        snprintf(launcher, sizeof launcher, "%s -np %d", mpirun, np);
        snprintf(dir, sizeof dir, "/tmp/sb-acsmfg-mpi-%ld-np%d", (long)getpid(), np);
        train14(launcher, "", dir);
        const char *files[] = {"steps.csv", "periods.csv", "days.csv", "hourly.csv", "draws.csv", "training.csv"};
        for (size_t f = 0; f < SB_ARRAY_LEN(files); f++) {
            char a[512], b[512];
            snprintf(a, sizeof a, "%s/seed-0/%s", ref, files[f]);
            snprintf(b, sizeof b, "%s/seed-0/%s", dir, files[f]);
            cr_expect(tu_same_file(a, b), "%d ranks: %s differs", np, files[f]);
        }
        rm_rf(dir);
    }
    rm_rf(ref);
}

/* Write text to a config file in dir (created) and run `train` on it: the exit status, the
 * output in out, and whether the run directory was created. */
static int train_text(const char *dir, const char *text, char *out, size_t cap, int *made) {
    char cfg[512], run[512], cmd[2048];
    mkdir(dir, 0755);
    snprintf(cfg, sizeof cfg, "%s/bad.yaml", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    FILE *f = fopen(cfg, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --quiet", tu_bin(), cfg, run);
    int rc = tu_run(cmd, out, cap);
    struct stat st;
    *made = stat(run, &st) == 0;
    return rc;
}

Test(ac_smfg, bad_settings_exit_2_with_file_line_col_and_write_nothing) {
    /* Each file names the grid (relative to the file's directory it would not be found) and
     * one bad setting; the message must carry the file, the line and column of the offending
     * key, the key, and the reason. */
    char dir[256], out[4096], want[512];
    tmpdir(dir, sizeof dir, "bad");
    char grid[1024];
    cr_assert(getcwd(grid, sizeof grid));
    strncat(grid, "/configs/grids/paper3.yaml", sizeof grid - strlen(grid) - 1);
    struct {
        const char *body, *where, *why;
    } cases[] = {
        /* the leader faster than the followers: reported at leader_step (line 4, column 3) */
        {"schedule: ac_smfg\nac_smfg:\n  follower_step: 0.001\n  leader_step: 0.01\n", "bad.yaml:4:16: ac_smfg.leader_step",
         "leader_step <= ac_smfg.follower_step"},
        /* the critics slower than the followers: only critic_step is written, so it is blamed */
        {"schedule: ac_smfg\nac_smfg: {critic_step: 1.0e-5}\n", "bad.yaml:2:24: ac_smfg.critic_step",
         "the critics are the fastest"},
        {"schedule: ac_smfg\nac_smfg:\n  power: 0\n", "bad.yaml:3:10: ac_smfg.power", "[1e-09, 1]"},
        {"ac_smfg:\n  optimizer: rmsprop\n", "bad.yaml:2:14: ac_smfg.optimizer", "expected adam | sgd"},
        {"ac_smfg:\n  follower_samples: 0\n", "bad.yaml:2:21: ac_smfg.follower_samples", "must be in [1, 1e+09]"},
        {"ac_smfg:\n  leader_gamma: 1.5\n", "bad.yaml:2:17: ac_smfg.leader_gamma", "[0, 1]"},
        {"ac_smfg:\n  leader_sampels: 3\n", "bad.yaml:2:3: ac_smfg.leader_sampels", "unknown key"},
        {"schedule: ac_smfg\naggregator:\n  ppo:\n    normalize: true\n", "bad.yaml:4:16: aggregator.ppo.normalize",
         "does not normalise"},
        {"schedule: ac_smfg\nutility:\n  ppo: {normalize: {norm_reward: true}}\n",
         "bad.yaml:3:34: utility.ppo.normalize.norm_reward", "does not normalise"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        char text[2048]; /* grid (up to 1023) and a body */
        snprintf(text, sizeof text, "grid: %s\n%s", grid, cases[i].body);
        int made;
        int rc = train_text(dir, text, out, sizeof out, &made);
        cr_expect_eq(rc, 2, "case %zu: exit %d\n%s", i, rc, out);
        /* The body starts on line 2 of the file (after grid:). */
        int line, col;
        char key[128];
        cr_assert_eq(sscanf(cases[i].where, "bad.yaml:%d:%d: %127s", &line, &col, key), 3);
        snprintf(want, sizeof want, "bad.yaml:%d:%d: %s", line + 1, col, key);
        cr_expect(strstr(out, want) != NULL, "case %zu: want \"%s\" in:\n%s", i, want, out);
        cr_expect(strstr(out, cases[i].why) != NULL, "case %zu: want \"%s\" in:\n%s", i, cases[i].why, out);
        cr_expect(!made, "case %zu: the run directory was created for a bad config", i);
    }
    rm_rf(dir);
}

Test(ac_smfg, bad_settings_from_set_name_the_set_argument) {
    /* The same checks on --set values: the message names the --set argument (there is no line
     * of a file), the key and the reason; an unknown key suggests the nearest one. */
    char dir[256], cmd[2048], out[4096];
    tmpdir(dir, sizeof dir, "badset");
    struct {
        const char *set, *want;
    } cases[] = {
        {"ac_smfg.leader_step=0.1", "--set ac_smfg.leader_step=0.1: ac_smfg.leader_step: AC-SMFG's time scales need "
                                    "ac_smfg.leader_step <= ac_smfg.follower_step"},
        {"ac_smfg.leader_stp=0.1", "--set ac_smfg.leader_stp=0.1: ac_smfg.leader_stp: unknown key (did you mean "
                                   "ac_smfg.leader_step?)"},
    };
    for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
        snprintf(cmd, sizeof cmd, "%s train configs/ac_smfg.yaml --set %s --out %s/run --quiet", tu_bin(), cases[i].set,
                 dir);
        int rc = tu_run(cmd, out, sizeof out);
        cr_expect_eq(rc, 2, "case %zu: exit %d\n%s", i, rc, out);
        cr_expect(strstr(out, cases[i].want) != NULL, "case %zu: want \"%s\" in:\n%s", i, cases[i].want, out);
        char run[512];
        snprintf(run, sizeof run, "%s/run", dir);
        struct stat st;
        cr_expect(stat(run, &st) != 0, "case %zu: the run directory was created for a bad setting", i);
    }
    rm_rf(dir);
}
