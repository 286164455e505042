/* test_rundir.c: one writer per run directory, and runs that tell the truth about it (issue
 * 12): the lock (a second run into one --out exits 2 naming the first's pid and command), a
 * new run refused in a non-empty directory unless --force (which removes only a run's own
 * files), --continue, an edited or damaged run.json refused with nothing written, short or
 * foreign game records refused on resume with nothing overwritten, the `--out "x';touch
 * PWNED;'"` injection (and its gnuplot twin), the data directory, and helper programs
 * started with an argument vector. */
#define _DEFAULT_SOURCE /* realpath, setenv */
#include "io/jsonval.h"
#include "run/rundir.h"
#include "runutil.h"
#include "util/datadir.h"
#include "util/spawn.h"

/* ---- the pieces ---- */

Test(rundir, a_lock_names_its_holder_and_dies_with_it) {
    char dir[64], err[512];
    ru_scratch(dir, sizeof dir, "lock");
    DirLock a, b;
    cr_assert_eq(dir_lock(&a, dir, "stackelberg train x.yaml", err, sizeof err), 0, "%s", err);
    /* Another process (a lock belongs to an open file: a second open in this one would be
     * another holder too, but the case that matters is another process). */
    pid_t p = fork();
    if (p == 0) {
        char e[512];
        int rc = dir_lock(&b, dir, "second", e, sizeof e);
        char pid[32];
        snprintf(pid, sizeof pid, "pid %ld", (long)getppid());
        _exit(rc == 1 && strstr(e, pid) && strstr(e, "stackelberg train x.yaml") ? 0 : 1);
    }
    cr_expect_eq(ru_wait(p), 0, "the second locker was not refused with the holder named");
    dir_unlock(&a);
    cr_expect_eq(dir_lock(&b, dir, "second", err, sizeof err), 0, "%s", err);
    dir_unlock(&b);
    ru_rm(dir);
}

Test(rundir, claim_refuses_what_it_must_and_force_clears_only_a_runs_files) {
    char dir[64], err[512], p[256];
    ru_scratch(dir, sizeof dir, "claim");
    DirLock l;
    /* a directory of someone's files: refused, and nothing added to it */
    snprintf(p, sizeof p, "%s/mine.txt", dir);
    cr_assert_eq(write_file_atomic(p, "x", 1, err, sizeof err), 0);
    cr_expect_eq(rundir_claim(&l, dir, RUNDIR_NEW, "t", err, sizeof err), -2);
    cr_expect(strstr(err, "not empty") && strstr(err, "mine.txt"), "%s", err);
    cr_expect(!ru_exists(dir, ".lock"), "a refused claim wrote its lock file");
    cr_expect_eq(rundir_claim(&l, "/nonexistent/run", RUNDIR_RESUME, "t", err, sizeof err), -2);
    /* a run's files, and someone's file beside them: --force removes the run's only */
    RunRecord r = {.kind = "game", .file = "f.yaml", .yaml = "days: 3\n", .seeds = 1, .fingerprint = 42};
    cr_assert_eq(rundir_write(dir, &r, err, sizeof err), 0, "%s", err);
    snprintf(p, sizeof p, "%s/seed-0/steps.csv", dir);
    cr_assert_eq(mkdir_p(dir, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/seed-0", dir);
    cr_assert_eq(mkdir_p(p, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/seed-0/steps.csv", dir);
    cr_assert_eq(write_file_atomic(p, "a,b\n", 4, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/fig1_lmp.png", dir);
    cr_assert_eq(write_file_atomic(p, "png", 3, err, sizeof err), 0);
    cr_expect_eq(rundir_claim(&l, dir, RUNDIR_NEW, "t", err, sizeof err), -2);
    cr_expect(strstr(err, "holds a run") && strstr(err, "--resume"), "%s", err);
    cr_assert_eq(rundir_claim(&l, dir, RUNDIR_FORCE, "t", err, sizeof err), 0, "%s", err);
    cr_expect(!ru_exists(dir, "run.json") && !ru_exists(dir, "seed-0") && !ru_exists(dir, "fig1_lmp.png"));
    cr_expect(ru_exists(dir, "mine.txt"), "--force removed a file that is not a run's");
    dir_unlock(&l);
    ru_rm(dir);
}

Test(rundir, run_json_round_trips_and_refuses_any_edit) {
    char dir[64], err[512];
    ru_scratch(dir, sizeof dir, "runjson");
    const char *sets[] = {"days=3", "seed=2"};
    RunRecord r = {.kind = "game", .file = "/x/paper.yaml", .yaml = "days: 100\n", .sets = sets, .n_sets = 2,
                   .seeds = 5, .fingerprint = 0x0123456789abcdefull};
    cr_assert_eq(rundir_write(dir, &r, err, sizeof err), 0, "%s", err);
    RunRecord back;
    cr_assert_eq(rundir_read(&back, dir, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(back.kind, "game");
    cr_expect_str_eq(back.yaml, "days: 100\n");
    cr_expect_eq(back.n_sets, 2);
    cr_expect_str_eq(back.sets[1], "seed=2");
    cr_expect_eq(back.seeds, 5);
    cr_expect_eq(back.fingerprint, 0x0123456789abcdefull);
    rundir_record_free(&back);
    /* one character of the config text, the seed count, an override: each is caught */
    const char *edits[][2] = {{"days: 100", "days: 200"}, {"\"seeds\": 5", "\"seeds\": 4"}, {"seed=2", "seed=3"}};
    size_t len;
    char *orig = (char *)ru_read(dir, "run.json", &len);
    for (size_t i = 0; i < 3; i++) {
        char *t = strdup(orig), *at = strstr(t, edits[i][0]);
        cr_assert(at, "%s", edits[i][0]);
        memcpy(at, edits[i][1], strlen(edits[i][1]));
        char p[256];
        snprintf(p, sizeof p, "%s/run.json", dir);
        cr_assert_eq(write_file_atomic(p, t, strlen(t), err, sizeof err), 0);
        cr_expect_eq(rundir_read(&back, dir, err, sizeof err), -2, "edit %zu accepted", i);
        cr_expect(strstr(err, "checksum"), "%s", err);
        rundir_record_free(&back);
        free(t);
    }
    free(orig);
    ru_rm(dir);
}

Test(rundir, data_directory_convention) {
    char d[4096], want[4200];
    setenv("STACKELBERG_DATA", "/opt/sb-data", 1);
    sb_data_dir(d, sizeof d);
    cr_expect_str_eq(d, "/opt/sb-data");
    sb_data_path(d, sizeof d, "tools/figures.sh");
    cr_expect_str_eq(d, "/opt/sb-data/tools/figures.sh");
    unsetenv("STACKELBERG_DATA");
    /* this test binary is build/<kind>/tests/test_rundir: no share/stackelberg beside it, so
     * the directory above its own */
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert(k > 0);
    exe[k] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(want, sizeof want, "%s/..", exe);
    sb_data_dir(d, sizeof d);
    cr_expect_str_eq(d, want);
}

Test(rundir, helpers_start_with_an_argument_vector) {
    char dir[64], err[512], p[256];
    ru_scratch(dir, sizeof dir, "spawn");
    /* A name full of shell syntax reaches the program as one argument, untouched. */
    snprintf(p, sizeof p, "%s/x';touch PWNED;' $(touch PWNED2)", dir);
    const char *argv[] = {"touch", p, NULL};
    cr_expect_eq(spawn_wait(argv, 1, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_expect_eq(stat(p, &st), 0, "the file of that name");
    cr_expect(!ru_exists(dir, "PWNED") && !ru_exists(".", "PWNED") && !ru_exists(".", "PWNED2"));
    const char *bad[] = {"no-such-program-sb", NULL};
    cr_expect_eq(spawn_wait(bad, 1, err, sizeof err), -1);
    cr_expect(strstr(err, "cannot start"), "%s", err);
    const char *fails[] = {"false", NULL};
    cr_expect_eq(spawn_wait(fails, 1, err, sizeof err), 1);
    cr_expect(spawn_on_path("sh") && !spawn_on_path("no-such-program-sb"));
    ru_rm(dir);
}

/* ---- through `train` ---- */

Test(rundir, two_runs_into_one_out, .timeout = 300) {
    char dir[64], out[8192], run[128], log[128];
    ru_scratch(dir, sizeof dir, "two");
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(log, sizeof log, "%s/first.log", dir);
    /* the first, long enough to be running when the second comes */
    pid_t first =
        ru_start(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--set", "days=8", "--seeds", "2", NULL}),
                 NULL, log);
    for (int i = 0; i < 60000 && !ru_exists(run, "seed-0/checkpoint.npz"); i++) ru_sleep_ms(1);
    /* a second into the same --out, even forced: refused, naming the first */
    int rc = ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--force", "--seeds", "1", NULL}),
                    NULL, out, sizeof out);
    cr_expect_eq(rc, 2, "%s", out);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)first);
    cr_expect(strstr(out, "in use by") && strstr(out, pid) && strstr(out, "stackelberg train configs/paper.yaml"),
              "%s", out);
    /* and --resume of it too */
    rc = ru_run((char *[]){"stackelberg", "train", "--resume", run, NULL}, NULL, out, sizeof out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, pid), "%s", out);
    cr_assert_eq(ru_wait(first), 0);
    /* the first's records are its own: 8 days x 8 steps x 3 buses + a header */
    size_t len;
    char *steps = (char *)ru_read(run, "seed-1/steps.csv", &len);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += steps[i] == '\n';
    cr_expect_eq(lines, 8 * 8 * 3 + 1);
    free(steps);
    /* over: a new run there is still refused (not empty) */
    rc = ru_run(ru_train_argv("configs/paper.yaml", run, NULL), NULL, out, sizeof out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "not empty") && strstr(out, "--force"), "%s", out);
    ru_rm(dir);
}

Test(rundir, force_replaces_and_continue_continues, .timeout = 300) {
    char dir[64], out[8192], run[128], p[256], err[256];
    ru_scratch(dir, sizeof dir, "force");
    snprintf(run, sizeof run, "%s/run", dir);
    const char *const two[] = {"--seeds", "2", NULL};
    cr_assert_eq(ru_run(ru_train_argv("configs/paper.yaml", run, two), NULL, out, sizeof out), 0, "%s", out);
    snprintf(p, sizeof p, "%s/notes.txt", run);
    cr_assert_eq(write_file_atomic(p, "mine", 4, err, sizeof err), 0);
    /* --continue with the same config: continues (a finished run: the same summary again) */
    size_t l1, l2;
    unsigned char *before = ru_read(run, "steps.csv", &l1);
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--seeds", "2", "--continue", NULL}),
                        NULL, out, sizeof out),
                 0, "%s", out);
    unsigned char *after = ru_read(run, "steps.csv", &l2);
    cr_expect(l1 == l2 && !memcmp(before, after, l1));
    free(before);
    free(after);
    /* --continue with another config: a new run, so refused without --force */
    const char *const one_c[] = {"--seeds", "1", "--continue", NULL};
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, one_c), NULL, out, sizeof out), 2, "%s", out);
    /* --force: the earlier run's files go (seed-1 included), notes.txt stays */
    const char *const one_f[] = {"--seeds", "1", "--continue", "--force", NULL};
    cr_expect_eq(ru_run(ru_train_argv("configs/paper.yaml", run, one_f), NULL, out, sizeof out), 0, "%s", out);
    cr_expect(!ru_exists(run, "seed-1"), "the old run's seed 1 is still there");
    cr_expect(ru_exists(run, "seed-0/summary.json") && ru_exists(run, "notes.txt"));
    ru_rm(dir);
}

Test(rundir, edited_or_damaged_run_json_is_exit_2_and_writes_nothing, .timeout = 300) {
    char dir[64], out[8192], run[128], p[256], err[256];
    ru_scratch(dir, sizeof dir, "edited");
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(ru_run(ru_train_argv("configs/paper.yaml", run, (const char *const[]){"--seeds", "2", NULL}), NULL, out,
                        sizeof out),
                 0, "%s", out);
    size_t len, lock_len;
    char *orig = (char *)ru_read(run, "run.json", &len);
    unsigned char *lock = ru_read(run, ".lock", &lock_len);
    snprintf(p, sizeof p, "%s/run.json", run);
    /* the number of days in the recorded config text changed */
    char *t = strdup(orig), *at = strstr(t, "days=3");
    cr_assert(at);
    at[5] = '4';
    const char *texts[] = {t, "{\"kind\": \"game\"", "not json at all"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(write_file_atomic(p, texts[i], strlen(texts[i]), err, sizeof err), 0);
        RuSnap snap;
        ru_snap(&snap, run);
        cr_expect_eq(ru_run((char *[]){"stackelberg", "train", "--resume", run, NULL}, NULL, out, sizeof out), 2,
                     "case %d: %s", i, out);
        cr_expect(strstr(out, "run.json"), "case %d: %s", i, out);
        ru_expect_unchanged(&snap, run);
        size_t n;
        unsigned char *now = ru_read(run, ".lock", &n);
        cr_expect(n == lock_len && !memcmp(now, lock, n), "case %d: even the lock file was rewritten", i);
        free(now);
    }
    free(t);
    free(orig);
    free(lock);
    ru_rm(dir);
}

/* Issue 12: a steps.csv shorter than the checkpoint's record was padded with NUL bytes on
 * resume, and a checkpoint of another run continued. Both now exit 2 and touch nothing. */
Test(rundir, short_or_foreign_game_records_exit_2_and_nothing_is_overwritten, .timeout = 300) {
    char dir[64], out[8192], a[128], b[128], p[256], err[256];
    ru_scratch(dir, sizeof dir, "short");
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    cr_assert_eq(ru_run(ru_train_argv("configs/paper.yaml", a, (const char *const[]){"--seeds", "2", NULL}), NULL, out,
                        sizeof out),
                 0, "%s", out);
    cr_assert_eq(ru_run(ru_train_argv("configs/paper.yaml", b,
                                      (const char *const[]){"--seeds", "2", "--set", "days=4", NULL}),
                        NULL, out, sizeof out),
                 0, "%s", out);
    snprintf(p, sizeof p, "%s/seed-0/steps.csv", a);
    cr_assert_eq(truncate(p, 700), 0);
    RuSnap snap;
    ru_snap(&snap, a);
    cr_expect_eq(ru_run((char *[]){"stackelberg", "train", "--resume", a, NULL}, NULL, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "seed-0/steps.csv") && strstr(out, "shorter than"), "%s", out);
    ru_expect_unchanged(&snap, a);
    /* b's seed 1 gets a's seed 1 checkpoint */
    size_t len;
    unsigned char *ck = ru_read(a, "seed-1/checkpoint.npz", &len);
    snprintf(p, sizeof p, "%s/seed-1/checkpoint.npz", b);
    cr_assert_eq(write_file_atomic(p, ck, len, err, sizeof err), 0);
    free(ck);
    ru_snap(&snap, b);
    cr_expect_eq(ru_run((char *[]){"stackelberg", "train", "--resume", b, NULL}, NULL, out, sizeof out), 2, "%s", out);
    cr_expect(strstr(out, "seed-1/checkpoint.npz") && strstr(out, "another config"), "%s", out);
    ru_expect_unchanged(&snap, b);
    ru_rm(dir);
}

/* Issue 12: `--out "x';touch PWNED;'"` ran the command (the figures step built a system()
 * string). Now no shell sees the name, and gnuplot never sees a path (nor its twin with a
 * double quote, which would have run gnuplot's system()). The figures are drawn all the same. */
Test(rundir, out_names_with_shell_or_gnuplot_syntax_run_nothing, .timeout = 300) {
    if (!spawn_on_path("gnuplot")) cr_skip_test("gnuplot is not installed: the figures step does not run");
    char dir[64], out[8192];
    ru_scratch(dir, sizeof dir, "pwned");
    const char *names[] = {"x';touch PWNED;'", "y\"; system(\"touch PWNED\"); \""};
    for (int i = 0; i < 2; i++) {
        char cwd_config[4200], abs[4096];
        cr_assert(realpath("configs/paper.yaml", abs));
        snprintf(cwd_config, sizeof cwd_config, "%s", abs);
        int rc = ru_run(ru_train_argv(cwd_config, names[i], (const char *const[]){"--seeds", "1", NULL}), dir, out,
                        sizeof out);
        cr_expect_eq(rc, 0, "%s", out);
        char run[4300];
        snprintf(run, sizeof run, "%s/%s", dir, names[i]);
        cr_expect(ru_exists(run, "fig4_imv.png"), "figures not drawn into %s: %s", run, out);
        cr_expect(!ru_exists(dir, "PWNED") && !ru_exists(run, "PWNED") && !ru_exists(".", "PWNED"),
                  "a command in the name ran");
    }
    ru_rm(dir);
}

/* Runs from any working directory: the config's relative grid resolves against the config,
 * the default grid and the figure script through the data directory; and without gnuplot or
 * the script, stderr says the figures were skipped. */
Test(rundir, train_runs_from_another_directory, .timeout = 300) {
    char dir[64], out[8192], abs[4096];
    ru_scratch(dir, sizeof dir, "cwd");
    cr_assert(realpath("configs/paper.yaml", abs));
    /* as the binary finds it: beside itself (bin/stackelberg), or where make asan names it */
    const char *given = getenv("STACKELBERG_DATA");
    char data[4096] = "";
    if (given) snprintf(data, sizeof data, "%s", given);
    cr_expect_eq(ru_run(ru_train_argv(abs, "x", (const char *const[]){"--seeds", "1", NULL}), dir, out, sizeof out), 0,
                 "%s", out);
    char run[128];
    snprintf(run, sizeof run, "%s/x", dir);
    cr_expect(ru_exists(run, "summary.json"));
    if (spawn_on_path("gnuplot")) cr_expect(ru_exists(run, "fig1_lmp.png"), "%s", out);
    /* a config that names no grid: the default grid comes from the data directory */
    char bare[128], err[256];
    snprintf(bare, sizeof bare, "%s/bare.yaml", dir);
    cr_assert_eq(write_file_atomic(bare, "seeds: 1\n", 9, err, sizeof err), 0);
    cr_expect_eq(ru_run(ru_train_argv("bare.yaml", "w", NULL), dir, out, sizeof out), 0, "%s", out);
    snprintf(run, sizeof run, "%s/w", dir);
    cr_expect(ru_exists(run, "seed-0/steps.csv"), "%s", out);
    /* a data directory without the script: said, not silent */
    setenv("STACKELBERG_DATA", dir, 1);
    cr_expect_eq(ru_run(ru_train_argv(abs, "y", (const char *const[]){"--seeds", "1", NULL}), dir, out, sizeof out), 0,
                 "%s", out);
    cr_expect(strstr(out, "figures") && strstr(out, "skipped") && strstr(out, "tools/figures.sh not found"), "%s", out);
    /* a script that fails: said, with the end of what it wrote */
    char tools[128], script[160];
    snprintf(tools, sizeof tools, "%s/tools", dir);
    snprintf(script, sizeof script, "%s/figures.sh", tools);
    cr_assert_eq(mkdir_p(tools, err, sizeof err), 0);
    const char *fail = "echo 'gnuplot: no such column' >&2; exit 3\n";
    cr_assert_eq(write_file_atomic(script, fail, strlen(fail), err, sizeof err), 0);
    cr_expect_eq(ru_run(ru_train_argv(abs, "v", (const char *const[]){"--seeds", "1", NULL}), dir, out, sizeof out), 0,
                 "%s", out);
    if (spawn_on_path("gnuplot")) /* (without it the script is not started: said below) */
        cr_expect(strstr(out, "figures") && strstr(out, "failed") && strstr(out, "exited 3") &&
                      strstr(out, "gnuplot: no such column"),
                  "%s", out);
    if (data[0]) setenv("STACKELBERG_DATA", data, 1);
    else unsetenv("STACKELBERG_DATA");
    /* no gnuplot on PATH: said */
    setenv("PATH", "/nonexistent", 1);
    cr_expect_eq(ru_run(ru_train_argv(abs, "z", (const char *const[]){"--seeds", "1", NULL}), dir, out, sizeof out), 0,
                 "%s", out);
    cr_expect(strstr(out, "gnuplot is not installed"), "%s", out);
    ru_rm(dir);
}
