/* bench_export.c: exported policy files: float32 vs float16 sizes, how often float16 keeps
 * the deterministic action, and the cost of loading and acting through src/io/policy.h.
 *
 * The checkpoints are synthetic (random N(0, 1/fan_in) weights, the trainer's shapes: 64x64
 * tanh MLPs; see tests/ckpt_synth.h), so sizes are those of real runs while the action
 * agreement is for random rather than trained weights. Prints a Markdown table. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tests/ckpt_synth.h"
#include "cli/cli.h"
#include "io/policy.h"
#include "util/common.h"
#include "util/rng.h"

#define N_OBS 10000

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static int export_run(const char *dir, const char *out, const char *dtype) {
    char *argv[] = {"export", (char *)dir, "-o", (char *)out, "--dtype", (char *)dtype, NULL};
    /* export's one-line report would break the table: silence fd 1 around the call. */
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    int rc = cmd_export(6, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(null);
    close(saved);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    struct {
        const char *game;
        const SynthAgent *agents;
        int n;
    } games[] = {{"tariff game", SYNTH_TARIFF, 4}, {"CartPole", SYNTH_CARTPOLE, 1}, {"Pendulum", SYNTH_PENDULUM, 1}};
    char err[512];
    printf("| run | float32 bytes | float16 bytes | ratio | agent | float16 keeps action | "
           "box: p99 / max of abs(delta)/range | load ms | act us |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t g = 0; g < SB_ARRAY_LEN(games); g++) {
        char dir[256], p32[300], p16[300];
        snprintf(dir, sizeof dir, "/tmp/sb_bench_export_%d_%zu", (int)getpid(), g);
        if (synth_checkpoint(dir, games[g].agents, games[g].n, 7, 1.0, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        snprintf(p32, sizeof p32, "%s/p32.npz", dir);
        snprintf(p16, sizeof p16, "%s/p16.npz", dir);
        if (export_run(dir, p32, "float32") || export_run(dir, p16, "float16")) return 1;
        long s32 = file_size(p32), s16 = file_size(p16);
        double t0 = sb_now();
        SbPolicy *a, *b;
        if (sb_policy_load(p32, &a, err, sizeof err) || sb_policy_load(p16, &b, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double load_ms = (sb_now() - t0) / 2 * 1e3;
        Rng r;
        rng_seed(&r, 99, 0);
        for (int i = 0; i < sb_policy_agent_count(a); i++) {
            SbPolicyAgent *x = sb_policy_agent_at(a, i), *y = sb_policy_agent_at(b, i);
            SbPolicyInfo in;
            sb_policy_info(x, &in);
            double *dev = sb_malloc((size_t)N_OBS * (size_t)in.action_dim * sizeof *dev);
            size_t nd = 0;
            int same = 0;
            double obs[16], ax[16], ay[16], t_act = 0;
            for (int k = 0; k < N_OBS; k++) {
                for (int d = 0; d < in.obs_dim; d++) obs[d] = 3.0 * rng_normal(&r);
                double t1 = sb_now();
                sb_policy_act(x, obs, NULL, ax, NULL);
                t_act += sb_now() - t1;
                sb_policy_act(y, obs, NULL, ay, NULL);
                int eq = 1;
                for (int d = 0; d < in.action_dim; d++) {
                    if (in.kind == SB_ACTION_BOX) {
                        dev[nd] = fabs(ax[d] - ay[d]) / (in.high[d] - in.low[d]);
                        eq &= dev[nd++] <= 5e-3;
                    } else {
                        eq &= ax[d] == ay[d];
                    }
                }
                same += eq;
            }
            char box[64] = "-";
            if (nd) {
                qsort(dev, nd, sizeof *dev, cmp_double);
                snprintf(box, sizeof box, "%.2g / %.2g", dev[nd * 99 / 100], dev[nd - 1]);
            }
            free(dev);
            if (i == 0)
                printf("| %s | %ld | %ld | %.3f | %s | %.2f%% | %s | %.2f | %.1f |\n", games[g].game, s32, s16,
                       (double)s16 / (double)s32, in.name, 100.0 * same / N_OBS, box, load_ms,
                       t_act / N_OBS * 1e6);
            else
                printf("| | | | | %s | %.2f%% | %s | | %.1f |\n", in.name, 100.0 * same / N_OBS, box,
                       t_act / N_OBS * 1e6);
        }
        sb_policy_free(a);
        sb_policy_free(b);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}
