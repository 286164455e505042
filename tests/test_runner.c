/* test_runner.c: the runner (src/run/runner.c): where seeds run (the plan), the aggregate
 * over seeds against hand-made seed files and hand-computed means and standard deviations,
 * the summary's {mean, std} by hand, and whole runs of a tiny game: a good run, a seed that
 * fails, a stop by SIGTERM and its resume, damaged or foreign records refused before any
 * process starts, the exit statuses of `train`, and seeds that die with a SIGKILLed parent
 * (the orphan of issue 12 that kept appending while --resume ran). */
#define _DEFAULT_SOURCE /* PR_SET_CHILD_SUBREAPER */
#include <math.h>
#include <sys/prctl.h>

#include "config/game_config.h"
#include "game/world.h"
#include "io/jsonval.h"
#include "run/runner.h"
#include "run/signals.h"
#include "runutil.h"

/* ---- the plan ---- */

Test(runner, plan_packs_seeds_onto_the_cores) {
    /* 5 seeds on 2 cores: every seed a process from the start (up to 4 per core), each with a
     * thread per core, and 2 core tokens so only 2 threads compute at once. */
    GameConfig c;
    RunnerRun runs[2] = {{.cfg = &c, .seeds = 3}, {.cfg = &c, .seeds = 2}};
    RunnerPlan p;
    runner_plan(&p, runs, 2, 0, 0, 2);
    cr_assert_eq(p.n, 5);
    const int want[5][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}};
    for (int k = 0; k < 5; k++) {
        cr_expect_eq(p.task[k].run, want[k][0], "task %d", k);
        cr_expect_eq(p.task[k].seed, want[k][1], "task %d", k);
        cr_expect_eq(p.task[k].threads, 2, "threads 0: one per core");
    }
    cr_expect_eq(p.cores, 2, "jobs 0: the cores online");
    cr_expect_eq(p.jobs, 5, "every seed at once (8 allowed on 2 cores)");
    runner_plan_free(&p);
    runner_plan(&p, runs, 2, 1, 3, 2);
    cr_expect_eq(p.cores, 1, "--jobs 1: one core token");
    cr_expect_eq(p.jobs, 4, "4 processes per core");
    cr_expect_eq(p.task[0].threads, 3, "--threads 3");
    runner_plan_free(&p);
    RunnerRun one = {.cfg = &c, .seeds = 1};
    runner_plan(&p, &one, 1, 0, 0, 0);
    cr_expect_eq(p.jobs, 1, "one seed, one process");
    cr_expect_eq(p.cores, 1, "at least one core");
    runner_plan_free(&p);
}

/* ---- the aggregate over seeds ---- */

static void put(const char *dir, const char *name, const char *text) {
    char p[4200], err[256];
    path_join(p, sizeof p, dir, name);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s", p);
    *strrchr(sub, '/') = 0;
    cr_assert_eq(mkdir_p(sub, err, sizeof err), 0, "%s", err);
    cr_assert_eq(write_file_atomic(p, text, strlen(text), err, sizeof err), 0, "%s", err);
}

Test(runner, aggregate_of_hand_made_seed_files) {
    /* Three seeds, two key columns (day, bus), two value columns.
     * Row (0, b1): x = 1, 2, 4: mean 7/3 = 2.333333333, population variance
     *   (1 + 4 + 16)/3 - (7/3)^2 = 7 - 49/9 = 14/9, std sqrt(14)/3 = 1.247219129.
     *   y = -1, -1, -1: mean -1, std 0.
     * Row (0, b2): x = 0.5, 0.5, 2: mean 1, variance (0.25 + 0.25 + 4)/3 - 1 = 0.5, std 0.7071067812.
     *   y = 10, 20, 30: mean 20, variance (100 + 400 + 900)/3 - 400 = 200/3, std 8.164965809. */
    char dir[64];
    ru_scratch(dir, sizeof dir, "agg");
    put(dir, "seed-0/t.csv", "day,bus,x,y\n0,b1,1,-1\n0,b2,0.5,10\n");
    put(dir, "seed-1/t.csv", "day,bus,x,y\n0,b1,2,-1\n0,b2,0.5,20\n");
    put(dir, "seed-2/t.csv", "day,bus,x,y\n0,b1,4,-1\n0,b2,2,30\n");
    char err[512];
    cr_assert_eq(runner_aggregate_csv(dir, 3, "t.csv", 2, err, sizeof err), 0, "%s", err);
    size_t len;
    char *text = (char *)ru_read(dir, "t.csv", &len);
    cr_assert(text);
    char *line2 = strchr(text, '\n') + 1, *line3 = strchr(line2, '\n') + 1;
    *strchr(text, '\n') = 0;
    cr_expect_str_eq(text, "day,bus,x_mean,x_std,y_mean,y_std");
    double m1, s1, m2, s2;
    char key[32];
    cr_assert_eq(sscanf(line2, "0,%2[^,],%lf,%lf,%lf,%lf", key, &m1, &s1, &m2, &s2), 5, "%s", line2);
    cr_expect_str_eq(key, "b1");
    cr_expect(fabs(m1 - 7.0 / 3) < 1e-8 && fabs(s1 - sqrt(14.0) / 3) < 1e-8, "%g %g", m1, s1);
    cr_expect(m2 == -1 && s2 == 0, "%g %g", m2, s2);
    cr_assert_eq(sscanf(line3, "0,%2[^,],%lf,%lf,%lf,%lf", key, &m1, &s1, &m2, &s2), 5, "%s", line3);
    cr_expect_str_eq(key, "b2");
    cr_expect(fabs(m1 - 1) < 1e-8 && fabs(s1 - sqrt(0.5)) < 1e-8, "%g %g", m1, s1);
    cr_expect(fabs(m2 - 20) < 1e-7 && fabs(s2 - sqrt(200.0 / 3)) < 1e-7, "%g %g", m2, s2);
    free(text);
    ru_rm(dir);
}

/* Seed files that do not describe the same rows are refused with the file and line, and no
 * aggregate is written (averaging them would be a lie). */
Test(runner, aggregate_refuses_seed_files_that_disagree) {
    const struct {
        const char *seed1, *want;
    } cases[] = {
        {"day,bus,x\n0,b1,1\n", "2 lines"},                  /* a row short */
        {"day,bus,x\n0,b1,1\n0,b3,2\n", ":3: bus is b3"},     /* another key */
        {"day,bus,x\n0,b1,1\n0,b2,abc\n", ":3: x: 'abc' is not a number"},
        {"day,bus,x\n0,b1,1\n0,b2,\n", ":3: x: '' is not a number"},
        {"day,bus,z\n0,b1,1\n0,b2,2\n", ":1: another header"},
        {"day,bus,x\n0,b1,1\n0,b2,2,7\n", ":3: 4 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], err[512];
        ru_scratch(dir, sizeof dir, "aggbad");
        put(dir, "seed-0/t.csv", "day,bus,x\n0,b1,1\n0,b2,2\n");
        put(dir, "seed-1/t.csv", cases[i].seed1);
        cr_expect_eq(runner_aggregate_csv(dir, 2, "t.csv", 2, err, sizeof err), -1, "case %zu", i);
        cr_expect(strstr(err, "seed-1/t.csv") && strstr(err, cases[i].want), "case %zu: %s", i, err);
        cr_expect(!ru_exists(dir, "t.csv"), "case %zu: an aggregate was written", i);
        ru_rm(dir);
    }
}

/* ---- the summary over seeds ---- */

static void load_paper(GameConfig *c, GameWorld *w) {
    char err[1024];
    cr_assert_eq(game_config_load("configs/paper.yaml", c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(game_world_load(w, c, err, sizeof err), 0, "%s", err);
}

static JVal load_json(const char *dir, const char *name) {
    size_t len;
    char err[256];
    unsigned char *t = ru_read(dir, name, &len);
    cr_assert(t, "%s/%s missing", dir, name);
    JVal v;
    cr_assert_eq(jv_parse(&v, (const char *)t, len, err, sizeof err), 0, "%s", err);
    free(t);
    return v;
}

static double num_at(const JVal *v, const char *a, const char *b, const char *c) {
    const JVal *x = jv_get(v, a);
    if (b) x = jv_get(x, b);
    double d = NAN;
    cr_assert_eq(jv_get_num(x, c, &d), 1, "%s.%s.%s", a, b ? b : "", c);
    return d;
}

Test(runner, summary_mean_and_std_by_hand) {
    /* Two seeds. imv_rl 3 and 5: mean 4, std 1. eei_gap_learned 1 and 1: mean 1, std 0.
     * fixed charge of b2: 6 and 9: mean 7.5, std 1.5. slack steps 0 and 3: mean 1.5, std 1.5. */
    GameConfig c;
    GameWorld w;
    load_paper(&c, &w);
    double fx[2][3] = {{1, 6, 2}, {1, 9, 2}};
    GameResult r[2] = {{.imv_rl = 3, .eei_gap_learned = 1, .slack_steps = 0, .fixed_class = fx[0], .n_class = 3},
                       {.imv_rl = 5, .eei_gap_learned = 1, .slack_steps = 3, .fixed_class = fx[1], .n_class = 3}};
    char dir[64], err[512];
    ru_scratch(dir, sizeof dir, "summary");
    cr_assert_eq(runner_write_summary(dir, &c, &w, r, 2, 12.5, err, sizeof err), 0, "%s", err);
    JVal v = load_json(dir, "summary.json");
    cr_expect_eq(num_at(&v, "imv_last3d", "rl", "mean"), 4);
    cr_expect_eq(num_at(&v, "imv_last3d", "rl", "std"), 1);
    cr_expect_eq(num_at(&v, "eei_gap", "learned", "mean"), 1);
    cr_expect_eq(num_at(&v, "eei_gap", "learned", "std"), 0);
    cr_expect_eq(num_at(&v, "fixed_charges", "b2", "mean"), 7.5);
    cr_expect_eq(num_at(&v, "fixed_charges", "b2", "std"), 1.5);
    cr_expect_eq(num_at(&v, "slack_steps", NULL, "mean"), 1.5);
    cr_expect_eq(num_at(&v, "slack_steps", NULL, "std"), 1.5);
    const JVal *seeds = jv_get(jv_get(&v, "imv_last3d"), "rl");
    seeds = jv_get(seeds, "seeds");
    cr_assert(seeds && seeds->kind == JV_ARR && seeds->n == 2);
    cr_expect(seeds->items[0].num == 3 && seeds->items[1].num == 5);
    jv_free(&v);
    game_world_free(&w);
    game_config_free(&c);
    ru_rm(dir);
}

/* ---- whole runs of a tiny game ---- */

static void tiny_config(GameConfig *c, GameWorld *w, int days) {
    char err[1024];
    cr_assert_eq(game_config_load("configs/paper.yaml", c, err, sizeof err), 0, "%s", err);
    c->days = days;
    c->leader_period_days = 1;
    c->report_days = 1;
    c->aggregator.train_steps = 60;
    c->aggregator.ppo.n_steps = 30;
    c->aggregator.ppo.batch_size = 15;
    c->aggregator.ppo.n_epochs = 1;
    c->utility.train_steps = 8;
    c->utility.episode_periods = 2;
    c->utility.ppo.n_steps = 4;
    c->utility.ppo.batch_size = 4;
    c->utility.ppo.n_epochs = 1;
    cr_assert_eq(game_world_load(w, c, err, sizeof err), 0, "%s", err);
}

static const RunnerOptions QUIET = {.jobs = 2, .quiet = 1, .figures = 0};

Test(runner, a_run_aggregates_what_its_seeds_wrote, .timeout = 300) {
    GameConfig c;
    GameWorld w;
    tiny_config(&c, &w, 3);
    char dir[64], err[1024];
    ru_scratch(dir, sizeof dir, "run");
    RunnerRun r = {.cfg = &c, .w = &w, .dir = dir, .seeds = 2};
    RunnerStatus st = RUNNER_FAILED;
    cr_assert_eq(runner_train(&r, 1, &QUIET, &st, err, sizeof err), 0, "%s", err);
    cr_expect_eq(st, RUNNER_DONE);
    /* The summary's per-seed values are the seeds' own summaries, their mean is the mean. */
    JVal sum = load_json(dir, "summary.json");
    char sd[128];
    double x[2];
    for (int s = 0; s < 2; s++) {
        snprintf(sd, sizeof sd, "%s/seed-%d", dir, s);
        JVal one = load_json(sd, "summary.json");
        x[s] = num_at(&one, "imv_last3d", NULL, "rl");
        const JVal *seeds = jv_get(jv_get(jv_get(&sum, "imv_last3d"), "rl"), "seeds");
        cr_expect_eq(seeds->items[s].num, x[s], "seed %d", s);
        jv_free(&one);
    }
    cr_expect(fabs(num_at(&sum, "imv_last3d", "rl", "mean") - (x[0] + x[1]) / 2) < 1e-12);
    cr_expect(fabs(num_at(&sum, "imv_last3d", "rl", "std") - fabs(x[0] - x[1]) / 2) < 1e-9);
    jv_free(&sum);
    for (const char *const *f = (const char *const[]){"steps.csv", "periods.csv", "days.csv", "hourly.csv", NULL}; *f;
         f++)
        cr_expect(ru_exists(dir, *f), "%s aggregated", *f);
    game_world_free(&w);
    game_config_free(&c);
    ru_rm(dir);
}

Test(runner, a_seed_that_fails_fails_the_run_and_nothing_is_aggregated, .timeout = 300) {
    GameConfig c;
    GameWorld w;
    tiny_config(&c, &w, 3);
    char dir[64], err[1024], path[256];
    ru_scratch(dir, sizeof dir, "fail");
    /* seed 1 cannot create its steps.csv: a directory is in the way */
    snprintf(path, sizeof path, "%s/seed-1/steps.csv", dir);
    cr_assert_eq(mkdir_p(path, err, sizeof err), 0);
    RunnerRun r = {.cfg = &c, .w = &w, .dir = dir, .seeds = 2};
    RunnerStatus st = RUNNER_DONE;
    cr_expect_eq(runner_train(&r, 1, &QUIET, &st, err, sizeof err), -1);
    cr_expect_eq(st, RUNNER_FAILED);
    cr_expect(strstr(err, "seed 1:") && strstr(err, "steps.csv"), "%s", err);
    cr_expect(!ru_exists(dir, "summary.json") && !ru_exists(dir, "steps.csv"), "a failed run has no aggregate");
    cr_expect(ru_exists(dir, "seed-0/summary.json"), "the other seed ran to its end");
    game_world_free(&w);
    game_config_free(&c);
    ru_rm(dir);
}

/* A helper process that sends sig to `target` once `file` exists. */
static pid_t signal_when(const char *file, pid_t target, int sig) {
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0) {
        struct stat st;
        for (int i = 0; i < 60000 && stat(file, &st) != 0; i++) ru_sleep_ms(1);
        kill(target, sig);
        _exit(0);
    }
    return p;
}

Test(runner, sigterm_stops_every_seed_with_a_checkpoint_and_a_resume_ends_as_an_uninterrupted_run, .timeout = 600) {
    GameConfig c;
    GameWorld w;
    tiny_config(&c, &w, 4);
    char ref[64], dir[64], err[1024], ck[256];
    ru_scratch(ref, sizeof ref, "stopref");
    ru_scratch(dir, sizeof dir, "stop");
    RunnerRun r = {.cfg = &c, .w = &w, .dir = ref, .seeds = 2};
    cr_assert_eq(runner_train(&r, 1, &QUIET, NULL, err, sizeof err), 0, "%s", err);
    /* SIGTERM to the runner once seed 0's first checkpoint is there: forwarded to the seeds. */
    snprintf(ck, sizeof ck, "%s/seed-0/checkpoint.npz", dir);
    pid_t helper = signal_when(ck, getpid(), SIGTERM);
    r.dir = dir;
    RunnerStatus st = RUNNER_DONE;
    int rc = runner_train(&r, 1, &QUIET, &st, err, sizeof err);
    cr_assert_eq(ru_wait(helper), 0);
    cr_assert_eq(rc, SIGTERM, "%s", err);
    cr_expect_eq(st, RUNNER_STOPPED);
    cr_expect(!ru_exists(dir, "summary.json"), "a stopped run has no summary");
    cr_expect(ru_exists(dir, "seed-0/checkpoint.npz"));
    sig_clear();
    r.resume = 1;
    cr_assert_eq(runner_train(&r, 1, &QUIET, &st, err, sizeof err), 0, "%s", err);
    cr_expect_eq(st, RUNNER_DONE);
    for (const char *const *f = (const char *const[]){"steps.csv", "periods.csv", "days.csv", "hourly.csv",
                                                      "seed-0/steps.csv", "seed-1/draws.csv", NULL};
         *f; f++)
        cr_expect(ru_same(ref, dir, *f), "%s differs from the uninterrupted run's", *f);
    game_world_free(&w);
    game_config_free(&c);
    ru_rm(ref);
    ru_rm(dir);
}

Test(runner, damaged_or_foreign_records_are_refused_before_any_seed_starts, .timeout = 300) {
    GameConfig c, c4;
    GameWorld w, w4;
    tiny_config(&c, &w, 3);
    tiny_config(&c4, &w4, 4);
    char dir[64], other[64], err[1024], path[256];
    ru_scratch(dir, sizeof dir, "dmg");
    ru_scratch(other, sizeof other, "dmg4");
    RunnerRun r = {.cfg = &c, .w = &w, .dir = dir, .seeds = 2, .resume = 1};
    cr_assert_eq(runner_train(&r, 1, &QUIET, NULL, err, sizeof err), 0, "%s", err);
    RunnerRun r4 = {.cfg = &c4, .w = &w4, .dir = other, .seeds = 1};
    cr_assert_eq(runner_train(&r4, 1, &QUIET, NULL, err, sizeof err), 0, "%s", err);

    /* seed 1's steps.csv cut short: refused, and seed 0 (fine) did not run again either */
    snprintf(path, sizeof path, "%s/seed-1/steps.csv", dir);
    cr_assert_eq(truncate(path, 1000), 0);
    RuSnap snap;
    ru_snap(&snap, dir);
    RunnerStatus st = RUNNER_DONE;
    cr_expect_eq(runner_train(&r, 1, &QUIET, &st, err, sizeof err), -2);
    cr_expect_eq(st, RUNNER_BAD_INPUT);
    cr_expect(strstr(err, "seed-1/steps.csv") && strstr(err, "shorter than"), "%s", err);
    ru_expect_unchanged(&snap, dir);

    /* a checkpoint of a 4-day run in seed 0 of this 3-day run */
    char src[256];
    snprintf(src, sizeof src, "%s/seed-0", other);
    snprintf(path, sizeof path, "%s/seed-0", dir);
    size_t len;
    unsigned char *ck = ru_read(src, "checkpoint.npz", &len);
    cr_assert(ck);
    char dst[300];
    snprintf(dst, sizeof dst, "%s/checkpoint.npz", path);
    cr_assert_eq(write_file_atomic(dst, ck, len, err, sizeof err), 0);
    free(ck);
    ru_snap(&snap, dir);
    cr_expect_eq(runner_train(&r, 1, &QUIET, &st, err, sizeof err), -2);
    cr_expect(strstr(err, "seed-0/checkpoint.npz") && strstr(err, "another config"), "%s", err);
    ru_expect_unchanged(&snap, dir);
    game_world_free(&w);
    game_world_free(&w4);
    game_config_free(&c);
    game_config_free(&c4);
    ru_rm(dir);
    ru_rm(other);
}

/* ---- through `train` ---- */

Test(runner, train_exit_statuses, .timeout = 300) {
    char dir[64], out[8192], run[128];
    ru_scratch(dir, sizeof dir, "exit");
    snprintf(run, sizeof run, "%s/ok", dir);
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--seeds", "1", NULL}), NULL,
                        out, sizeof out),
                 0, "%s", out);
    /* bad input: 2 */
    snprintf(run, sizeof run, "%s/bad", dir);
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--set", "days=-1", NULL}), NULL,
                        out, sizeof out),
                 2, "%s", out);
    /* a seed that cannot write: 1 (--force: the directory holds something, but no run) */
    snprintf(run, sizeof run, "%s/fail/seed-0/steps.csv", dir);
    char err[256];
    cr_assert_eq(mkdir_p(run, err, sizeof err), 0);
    snprintf(run, sizeof run, "%s/fail", dir);
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--seeds", "1", "--force", NULL}),
                        NULL, out, sizeof out),
                 1, "%s", out);
    cr_expect(strstr(out, "seed 0:"), "%s", out);
    /* SIGTERM to train alone: 143, checkpoints, and --resume finishes (0) */
    snprintf(run, sizeof run, "%s/term", dir);
    char ck[256];
    snprintf(ck, sizeof ck, "%s/seed-1/checkpoint.npz", run);
    pid_t p = ru_start(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--seeds", "2", NULL}), NULL, NULL);
    pid_t helper = signal_when(ck, p, SIGTERM);
    cr_expect_eq(ru_wait(p), 143);
    ru_wait(helper);
    cr_expect(ru_exists(run, "seed-0/checkpoint.npz") && !ru_exists(run, "summary.json"));
    cr_expect_eq(ru_run((char *[]){"stackelberg", "train", "--resume", run, "--quiet", NULL}, NULL, out, sizeof out), 0,
                 "%s", out);
    cr_expect(ru_exists(run, "summary.json"));
    ru_rm(dir);
}

/* Issue 12: a seed that outlived its SIGKILLed parent kept appending while --resume ran. Now
 * the seeds die with the parent (this test adopts the orphans to see how they end), and the
 * resumed run's records equal an uninterrupted run's. */
Test(runner, seeds_die_with_a_sigkilled_parent_and_the_resume_is_exact, .timeout = 600) {
    char dir[64], out[8192], ref[128], run[128], ck[256];
    ru_scratch(dir, sizeof dir, "orphan");
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    /* 9 days: the kill comes at seed 1's first checkpoint, and seed 0 must not finish first (on
     * a loaded machine with 5 days it once did, and its orphan exited 0 before the kill). */
    const char *const more[] = {"--seeds", "2", "--jobs", "2", "--set", "days=9", NULL};
    cr_assert_eq(ru_run(ru_train_argv("configs/paper.yaml", ref, more), NULL, out, sizeof out), 0, "%s", out);
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    snprintf(ck, sizeof ck, "%s/seed-1/checkpoint.npz", run);
    pid_t p = ru_start(ru_train_argv("configs/paper.yaml", run, more), NULL, NULL);
    pid_t helper = signal_when(ck, p, SIGKILL);
    cr_assert_eq(ru_wait(helper), 0);
    cr_assert_eq(ru_wait(p), 128 + SIGKILL);
    /* Its two seed processes are now ours: each must end, killed, within seconds. */
    int orphans = 0;
    for (int waited = 0; waited < 10000 && orphans < 2; waited++) {
        int st;
        pid_t w = waitpid(-1, &st, WNOHANG);
        if (w > 0) {
            orphans++;
            cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "a seed ended otherwise (status %d)", st);
            continue;
        }
        ru_sleep_ms(1);
    }
    cr_expect_eq(orphans, 2, "the seed processes did not die with their parent");
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    cr_assert_eq(ru_run((char *[]){"stackelberg", "train", "--resume", run, "--quiet", NULL}, NULL, out, sizeof out), 0,
                 "%s", out);
    for (const char *const *f = (const char *const[]){"steps.csv", "periods.csv", "days.csv", "seed-0/steps.csv",
                                                      "seed-1/steps.csv", "seed-1/draws.csv", NULL};
         *f; f++)
        cr_expect(ru_same(ref, run, *f), "%s differs from the uninterrupted run's", *f);
    ru_rm(dir);
}
