/* test_train_cli.c: `stackelberg train` as a user drives it: a run stopped by SIGINT (exit
 * 130) or killed outright and continued with `train --resume DIR` ends with the same
 * summary.json and progress rows as the same run left alone (every field but the wall-clock
 * ones); SIGTERM exits 143 with a checkpoint; a missing run or a corrupt checkpoint is exit 2
 * with the file's name and leaves the run directory as it was; a bad config writes nothing; and
 * `export` then `eval` work on a finished run directory. The reference for every
 * comparison is an uninterrupted run of the same config and seed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/jsonval.h"
#include "io/npz.h"
#include "testutil.h"
#include "util/fsutil.h"

/* A scratch directory per test (Criterion runs tests in parallel processes). */
static void scratch(char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/sb_train_cli_XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp failed");
}

/* A CartPole config of `total` steps: 2 envs x 32 steps per update, 16x16 nets. */
static void write_config(const char *dir, long total, char *path, size_t cap) {
    snprintf(path, cap, "%s/cp.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f,
            "env: CartPole-v1\nseed: 7\nn_envs: 2\ntotal_timesteps: %ld\neval_episodes: 3\n"
            "n_steps: 32\nbatch_size: 32\nn_epochs: 4\nlearning_rate: lin_0.001\n"
            "policy_kwargs:\n  net_arch: [16, 16]\n",
            total);
    fclose(f);
}

/* Long enough (about a second, several under the sanitizers) that a signal sent after a
 * few progress rows arrives well before the end. */
static long long_run(void) { return tu_asan() ? 24000 : 160000; }

static void remove_scratch(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    tu_run(cmd, NULL, 0);
}

static int lines_of(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF) n += ch == '\n';
    fclose(f);
    return n;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start `train CONFIG --out OUT --quiet [--checkpoint-every extra]`, wait for `rows` progress
 * rows (with extra: `rows` more after the first checkpoint appeared), send sig and return the
 * exit status (128 + sig if the signal killed it, -1 for any other death). */
static int train_and_signal(const char *config, const char *out, const char *extra, int rows, int sig) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            dup2(fileno(devnull), 1);
            dup2(fileno(devnull), 2);
        }
        if (extra)
            execl(tu_bin(), "stackelberg", "train", config, "--out", out, "--quiet", "--checkpoint-every", extra,
                  (char *)NULL);
        else
            execl(tu_bin(), "stackelberg", "train", config, "--out", out, "--quiet", (char *)NULL);
        _exit(127);
    }
    char csv[4200];
    path_join(csv, sizeof csv, out, "progress.csv");
    char ckpt[4200];
    path_join(ckpt, sizeof ckpt, out, "checkpoint.npz");
    int status, target = rows + 1; /* header */
    struct stat st;
    for (int waited = 0, seen_ckpt = 0; lines_of(csv) < target || (extra && !seen_ckpt); waited++) {
        if (waitpid(pid, &status, WNOHANG) == pid) cr_assert_fail("train ended before %d progress rows", rows);
        if (waited > 120000) {
            kill(pid, SIGKILL);
            cr_assert_fail("no progress rows within 120 s");
        }
        if (extra && !seen_ckpt && stat(ckpt, &st) == 0) {
            /* rows written after the first periodic checkpoint, which a resume must cut */
            seen_ckpt = 1;
            target = lines_of(csv) + rows;
        }
        sleep_ms(1);
    }
    kill(pid, sig);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == sig) return 128 + sig;
    return -1;
}

static int run_cmd(char *out, size_t cap, const char *fmt, const char *a, const char *b) {
    char cmd[4096];
    char full[2048];
    snprintf(full, sizeof full, fmt, a, b);
    snprintf(cmd, sizeof cmd, "%.1000s %s", tu_bin(), full);
    return tu_run(cmd, out, cap);
}

static int file_exists(const char *dir, const char *name) {
    char p[4200];
    path_join(p, sizeof p, dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static void load_json(const char *dir, const char *name, JVal *v) {
    char p[4200], err[256];
    path_join(p, sizeof p, dir, name);
    unsigned char *text;
    size_t len;
    cr_assert_eq(read_file(p, &text, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(jv_parse(v, (const char *)text, len, err, sizeof err), 0, "%s: %s", p, err);
    free(text);
}

static int is_timing(const char *key) {
    return !strcmp(key, "wall_s") || !strcmp(key, "steps_per_s") || !strcmp(key, "rollout_s") ||
           !strcmp(key, "update_s");
}

/* Every non-timing field of a's summary.json equals b's (numbers bitwise: %.17g). */
static void expect_same_summary(const char *a, const char *b) {
    JVal x, y;
    load_json(a, "summary.json", &x);
    load_json(b, "summary.json", &y);
    cr_assert_eq(x.kind, JV_OBJ);
    cr_assert_eq(x.n, y.n, "same number of fields");
    int compared = 0;
    for (size_t i = 0; i < x.n; i++) {
        const char *k = x.keys[i];
        const JVal *u = &x.items[i], *w = jv_get(&y, k);
        cr_assert(w, "field %s missing", k);
        if (is_timing(k)) continue;
        cr_expect_eq(u->kind, w->kind, "field %s", k);
        if (u->kind == JV_NUM) cr_expect(u->num == w->num, "field %s: %.17g vs %.17g", k, u->num, w->num);
        if (u->kind == JV_STR) cr_expect_str_eq(u->str, w->str, "field %s", k);
        compared++;
    }
    cr_expect_geq(compared, 9);
    jv_free(&x);
    jv_free(&y);
}

/* progress.csv rows are equal in their first 15 columns (all but fps, rollout_s, update_s). */
static void expect_same_progress(const char *a, const char *b) {
    char pa[4200], pb[4200];
    path_join(pa, sizeof pa, a, "progress.csv");
    path_join(pb, sizeof pb, b, "progress.csv");
    FILE *fa = fopen(pa, "r"), *fb = fopen(pb, "r");
    cr_assert(fa && fb);
    char la[1024], lb[1024];
    int rows = 0;
    for (;;) {
        char *ra = fgets(la, sizeof la, fa), *rb = fgets(lb, sizeof lb, fb);
        cr_assert_eq(!ra, !rb, "progress.csv: different row counts after %d rows", rows);
        if (!ra) break;
        char *ca = la, *cb = lb;
        for (int col = 0; col < 15; col++) {
            ca = strchr(ca, ',');
            cb = strchr(cb, ',');
            cr_assert(ca && cb);
            ca++;
            cb++;
        }
        *ca = *cb = 0;
        cr_assert_str_eq(la, lb, "progress row %d", rows);
        rows++;
    }
    fclose(fa);
    fclose(fb);
}

Test(train_cli, sigint_then_resume_gives_the_uninterrupted_summary, .timeout = 600) {
    char dir[64], cfg[256], ref[256], run[256], out[4096];
    scratch(dir, sizeof dir);
    write_config(dir, long_run(), cfg, sizeof cfg);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, ref), 0, "%s", out);

    cr_assert_eq(train_and_signal(cfg, run, NULL, 5, SIGINT), 130);
    cr_assert(file_exists(run, "checkpoint.npz"));
    cr_assert(!file_exists(run, "summary.json"), "an interrupted run has no summary");
    cr_assert_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", run, ""), 0, "%s", out);
    expect_same_summary(ref, run);
    expect_same_progress(ref, run);
    remove_scratch(dir);
}

Test(train_cli, sigterm_exits_143_and_leaves_a_resumable_checkpoint, .timeout = 600) {
    char dir[64], cfg[256], run[256], out[4096];
    scratch(dir, sizeof dir);
    write_config(dir, long_run(), cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(train_and_signal(cfg, run, NULL, 3, SIGTERM), 143);
    Npz z;
    char path[4200], err[256];
    path_join(path, sizeof path, run, "checkpoint.npz");
    cr_assert_eq(npz_read(&z, path, err, sizeof err), 0, "%s", err);
    const NpzMember *m = npz_find(&z, "meta.json");
    cr_assert(m);
    JVal meta;
    cr_assert_eq(jv_parse(&meta, m->data, m->count, err, sizeof err), 0);
    int finished = -1;
    cr_expect_eq(jv_get_bool(jv_get(&meta, "run"), "finished", &finished), 1);
    cr_expect_eq(finished, 0);
    jv_free(&meta);
    npz_free(&z);
    (void)out;
    remove_scratch(dir);
}

/* SIGKILL leaves only the latest periodic checkpoint and progress rows written after it:
 * the resume must cut those rows and still end where the uninterrupted run ends. */
Test(train_cli, kill_after_periodic_checkpoints_resumes_to_the_same_summary, .timeout = 600) {
    char dir[64], cfg[256], ref[256], run[256], out[4096];
    scratch(dir, sizeof dir);
    write_config(dir, long_run(), cfg, sizeof cfg);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, ref), 0, "%s", out);
    cr_assert_eq(train_and_signal(cfg, run, "0.05", 10, SIGKILL), 128 + SIGKILL);
    cr_assert(file_exists(run, "checkpoint.npz"), "periodic checkpoints were written");
    cr_assert_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", run, ""), 0, "%s", out);
    expect_same_summary(ref, run);
    expect_same_progress(ref, run);
    remove_scratch(dir);
}

Test(train_cli, resume_of_a_missing_run_is_exit_2_naming_the_file) {
    char dir[64], out[4096];
    scratch(dir, sizeof dir);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s/nothing%s", dir, ""), 2);
    cr_expect(strstr(out, "nothing/run.json") && strstr(out, "cannot open"), "%s", out);
    struct stat st;
    char gone[128];
    snprintf(gone, sizeof gone, "%s/nothing", dir);
    cr_expect_neq(stat(gone, &st), 0, "nothing created");
    remove_scratch(dir);
}

Test(train_cli, resume_of_a_corrupt_checkpoint_is_exit_2_and_changes_nothing) {
    char dir[64], cfg[256], run[256], out[4096], path[4200], err[256];
    scratch(dir, sizeof dir);
    write_config(dir, 640, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, run), 0, "%s", out);
    path_join(path, sizeof path, run, "checkpoint.npz");

    /* A checkpoint without one of the agent's members. */
    Npz z, cut;
    cr_assert_eq(npz_read(&z, path, err, sizeof err), 0, "%s", err);
    npz_init(&cut);
    for (size_t i = 0; i < z.n; i++) {
        const NpzMember *m = &z.m[i];
        if (!strcmp(m->name, "agent.adam.m")) continue;
        if (m->dtype == NPY_RAW) npz_add_raw(&cut, m->name, m->data, m->count, err, sizeof err);
        else npz_add(&cut, m->name, m->dtype, m->shape, m->ndim, m->data, err, sizeof err);
    }
    cr_assert_eq(npz_write(&cut, path, err, sizeof err), 0, "%s", err);
    npz_free(&z);
    npz_free(&cut);
    char csv[4200];
    path_join(csv, sizeof csv, run, "progress.csv");
    int rows = lines_of(csv);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s%s", run, ""), 2);
    cr_expect(strstr(out, "checkpoint.npz: member agent.adam.m: missing"), "%s", out);
    cr_expect_eq(lines_of(csv), rows, "progress.csv untouched");

    /* Bytes that are not an npz at all. */
    cr_assert_eq(write_file_atomic(path, "garbage", 7, err, sizeof err), 0);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s%s", run, ""), 2);
    cr_expect(strstr(out, "run/checkpoint.npz") && strstr(out, "not a zip"), "%s", out);
    remove_scratch(dir);
}

Test(train_cli, resume_takes_no_config_arguments) {
    char dir[64], out[4096];
    scratch(dir, sizeof dir);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s --seed 3%s", dir, ""), 2);
    cr_expect(strstr(out, "--resume DIR takes no CONFIG"), "%s", out);
    remove_scratch(dir);
}

Test(train_cli, bad_config_is_exit_2_and_writes_nothing) {
    char dir[64], cfg[256], run[256], out[4096];
    scratch(dir, sizeof dir);
    snprintf(cfg, sizeof cfg, "%s/bad.yaml", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "env: CartPole-v1\ntotal_timesteps: 64\nlerning_rate: 0.1\n");
    fclose(f);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_expect_eq(run_cmd(out, sizeof out, "train %s --out %s", cfg, run), 2);
    cr_expect(strstr(out, "bad.yaml:3:1: lerning_rate: unknown key"), "%s", out);
    struct stat st;
    cr_expect_neq(stat(run, &st), 0, "no run directory");
    remove_scratch(dir);
}

Test(train_cli, export_and_eval_work_on_a_finished_run) {
    char dir[64], cfg[256], run[256], out[4096], pol[4200];
    scratch(dir, sizeof dir);
    write_config(dir, 640, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, run), 0, "%s", out);
    cr_assert_eq(run_cmd(out, sizeof out, "export %s%s", run, ""), 0, "%s", out);
    cr_expect(strstr(out, "1 agent"), "%s", out);
    path_join(pol, sizeof pol, run, "policy.npz");
    cr_assert_eq(run_cmd(out, sizeof out, "eval %s --obs 0,0,0.05,0 --json%s", pol, ""), 0, "%s", out);
    cr_expect(strstr(out, "\"probs\"") && strstr(out, "\"raw_action\""), "%s", out);
    /* CartPole plays a force of -10 or +10 N (index 0 or 1). */
    cr_expect((strstr(out, "\"played\":[-10]") || strstr(out, "\"played\":[10]")) &&
              strstr(out, "\"played_units\":[\"N\"]"), "%s", out);
    /* A finished run resumed (twice) only re-evaluates: the same summary, no rows lost. */
    char again[256];
    snprintf(again, sizeof again, "%s/again", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, again), 0, "%s", out);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", again, ""), 0, "%s", out);
    expect_same_summary(run, again);
    expect_same_progress(run, again);
    remove_scratch(dir);
}

/* ---- issue 12: one writer, records verified, foreign checkpoints refused ---- */

static unsigned char *slurp(const char *dir, const char *name, size_t *len) {
    char p[4200], err[256];
    path_join(p, sizeof p, dir, name);
    unsigned char *b;
    if (read_file(p, &b, len, err, sizeof err)) {
        *len = 0;
        return NULL;
    }
    return b;
}

/* The named files of dir hold the bytes they held (snapshot taken by the caller). */
static void expect_same_bytes(const char *dir, const char *name, const unsigned char *was, size_t was_len) {
    size_t n;
    unsigned char *now = slurp(dir, name, &n);
    cr_expect(now && n == was_len && !memcmp(now, was, n), "%s/%s changed", dir, name);
    free(now);
}

Test(train_cli, a_progress_csv_that_does_not_match_its_checkpoint_is_refused) {
    char dir[64], cfg[256], run[256], out[4096], csv[4200];
    scratch(dir, sizeof dir);
    write_config(dir, 640, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, run), 0, "%s", out);
    path_join(csv, sizeof csv, run, "progress.csv");
    size_t len;
    unsigned char *orig = slurp(run, "progress.csv", &len), *ck;
    size_t ck_len;
    ck = slurp(run, "checkpoint.npz", &ck_len);
    cr_assert(orig && ck && len > 200);
    /* shorter than the checkpoint counted */
    cr_assert_eq(truncate(csv, (off_t)len - 50), 0);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", run, ""), 2, "%s", out);
    cr_expect(strstr(out, "progress.csv") && strstr(out, "shorter than"), "%s", out);
    /* as long, one digit changed */
    char err[256];
    unsigned char *edited = malloc(len);
    memcpy(edited, orig, len);
    unsigned char *digit = edited + len / 2;
    while (*digit < '0' || *digit > '8') digit++;
    (*digit)++;
    cr_assert_eq(write_file_atomic(csv, edited, len, err, sizeof err), 0);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", run, ""), 2, "%s", out);
    cr_expect(strstr(out, "progress.csv") && strstr(out, "differs from"), "%s", out);
    expect_same_bytes(run, "progress.csv", edited, len);
    expect_same_bytes(run, "checkpoint.npz", ck, ck_len);
    free(edited);
    free(orig);
    free(ck);
    remove_scratch(dir);
}

/* Issue 12: a CartPole checkpoint copied into a Pendulum run resumed and overwrote it. */
Test(train_cli, a_cartpole_checkpoint_in_a_pendulum_run_is_refused) {
    char dir[64], cp_cfg[256], pd_cfg[256], cp[256], pd[256], out[4096], err[256];
    scratch(dir, sizeof dir);
    write_config(dir, 640, cp_cfg, sizeof cp_cfg);
    snprintf(pd_cfg, sizeof pd_cfg, "%s/pd.yaml", dir);
    FILE *f = fopen(pd_cfg, "w");
    cr_assert(f);
    fprintf(f, "env: Pendulum-v1\nseed: 7\nn_envs: 2\ntotal_timesteps: 640\neval_episodes: 1\nn_steps: 32\n"
               "batch_size: 32\nn_epochs: 2\npolicy_kwargs:\n  net_arch: [16, 16]\n");
    fclose(f);
    snprintf(cp, sizeof cp, "%s/cp", dir);
    snprintf(pd, sizeof pd, "%s/pd", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cp_cfg, cp), 0, "%s", out);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", pd_cfg, pd), 0, "%s", out);
    size_t len, plen, slen;
    unsigned char *ck = slurp(cp, "checkpoint.npz", &len);
    char path[4200];
    path_join(path, sizeof path, pd, "checkpoint.npz");
    cr_assert_eq(write_file_atomic(path, ck, len, err, sizeof err), 0);
    unsigned char *prog = slurp(pd, "progress.csv", &plen), *sum = slurp(pd, "summary.json", &slen);
    cr_expect_eq(run_cmd(out, sizeof out, "train --resume %s --quiet%s", pd, ""), 2, "%s", out);
    cr_expect(strstr(out, "checkpoint.npz: written by another run"), "%s", out);
    expect_same_bytes(pd, "progress.csv", prog, plen);
    expect_same_bytes(pd, "summary.json", sum, slen);
    expect_same_bytes(pd, "checkpoint.npz", ck, len);
    free(ck);
    free(prog);
    free(sum);
    remove_scratch(dir);
}

Test(train_cli, a_new_run_into_a_used_directory_needs_force) {
    char dir[64], cfg[256], run[256], out[4096];
    scratch(dir, sizeof dir);
    write_config(dir, 640, cfg, sizeof cfg);
    snprintf(run, sizeof run, "%s/run", dir);
    cr_assert_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, run), 0, "%s", out);
    cr_expect_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet", cfg, run), 2, "%s", out);
    cr_expect(strstr(out, "not empty") && strstr(out, "--force"), "%s", out);
    cr_expect_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet --force", cfg, run), 0, "%s", out);
    /* --continue on the same config continues it (finished: evaluated again, same summary) */
    cr_expect_eq(run_cmd(out, sizeof out, "train %s --out %s --quiet --continue", cfg, run), 0, "%s", out);
    remove_scratch(dir);
}
