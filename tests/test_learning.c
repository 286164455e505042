/* test_learning.c: PPO learns the two classic-control tasks with the committed configs.
 *
 * The thresholds, over seeds 0..4:
 *   CartPole-v1 (configs/cartpole.yaml, 100k steps): eval_return_mean >= 475 in at least 4 of 5;
 *   Pendulum-v1 (configs/pendulum.yaml, 200k steps): median eval_return_mean >= -250.
 * The evaluation is single_train's (SB3 evaluate_policy: deterministic actions, eval_episodes
 * episodes on fresh env instances). These runs take ~10-15 s per seed in the release build,
 * so the sanitizer build (10-20x slower) skips them: `make test` runs them. */
#include <criterion/criterion.h>

#include <stdlib.h>

#include "config/single_config.h"
#include "config/yamltree.h"
#include "rl/single.h"
#include "testutil.h"

enum { SEEDS = 5 };

/* eval_return_mean of the config at path for seeds 0..SEEDS-1 into out. */
static void train_seeds(const char *path, double *out) {
    char err[512];
    YtDoc doc;
    cr_assert_eq(yt_load_file(&doc, path, err, sizeof err), 0, "%s", err);
    SingleConfig base;
    single_config_default(&base);
    cr_assert_eq(single_config_from_yaml(&doc, &base, err, sizeof err), 0, "%s", err);
    yt_free(&doc);
    for (int s = 0; s < SEEDS; s++) {
        SingleConfig c = base;
        c.seed = (uint64_t)s;
        SingleResult r;
        cr_assert_eq(single_train(&c, NULL, 1, &r, err, sizeof err), 0, "%s seed %d: %s", path, s, err);
        out[s] = r.eval_return_mean;
        cr_log_info("%s seed %d: eval_return_mean %.1f (std %.1f), last-100 train return %.1f, %ld steps, %.1f s",
                    c.env, s, r.eval_return_mean, r.eval_return_std, r.train_return_mean_last100, r.env_steps,
                    r.wall_s);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(learning, cartpole_reaches_475_in_four_of_five_seeds_within_100k_steps, .timeout = 600) {
    if (tu_asan()) cr_skip("5 PPO runs of 100k steps: the sanitizer build is ~10-20x slower; the release suite runs them");
    double ret[SEEDS];
    train_seeds("configs/cartpole.yaml", ret);
    int ok = 0;
    for (int s = 0; s < SEEDS; s++) ok += ret[s] >= 475.0;
    cr_expect(ok >= 4, "CartPole-v1: %d of %d seeds reached eval_return_mean >= 475", ok, SEEDS);
}

Test(learning, pendulum_median_return_above_minus_250_after_200k_steps, .timeout = 900) {
    if (tu_asan()) cr_skip("5 PPO runs of 200k steps: the sanitizer build is ~10-20x slower; the release suite runs them");
    double ret[SEEDS];
    train_seeds("configs/pendulum.yaml", ret);
    qsort(ret, SEEDS, sizeof ret[0], cmp_double);
    cr_log_info("Pendulum-v1 median eval_return_mean %.1f", ret[SEEDS / 2]);
    cr_expect(ret[SEEDS / 2] >= -250.0, "Pendulum-v1: median eval_return_mean %.1f < -250", ret[SEEDS / 2]);
}
