/* test_envs.c: CartPole-v1 and Pendulum-v1 dynamics against hand-derived equations, their
 * termination and truncation rules, the VecEnv's auto-reset, Box clipping and episode log,
 * seeding, and the random-policy CartPole episode length. */
#include <criterion/criterion.h>

#include "rl/cartpole.h"
#include "rl/env.h"
#include "rl/envs.h"
#include "rl/pendulum.h"
#include "testutil.h"
#include "util/common.h"
#include "util/rng.h"

static const double THETA_MAX = 0.20943951023931953; /* 12 degrees = pi / 15 */

/* One Euler step of the cart-pole written the way Barto, Sutton and Anderson (1983) state
 * the frictionless equations (Florian 2007, eqs. 23-24), not in Gymnasium's factorised form:
 *   theta_acc = [g sin th + cos th (-F - m_p l thd^2 sin th) / M] / [l (4/3 - m_p cos^2 th / M)]
 *   x_acc     = [F + m_p l (thd^2 sin th - theta_acc cos th)] / M,   M = m_c + m_p
 * then x += tau x_dot, x_dot += tau x_acc, th += tau thd, thd += tau theta_acc. */
static void bsa_step(double s[4], int action) {
    const double g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, tau = 0.02, M = mc + mp;
    double F = action ? 10.0 : -10.0;
    double sn = sin(s[2]), cs = cos(s[2]), w2 = s[3] * s[3];
    double tha = (g * sn + cs * (-F - mp * l * w2 * sn) / M) / (l * (4.0 / 3.0 - mp * cs * cs / M));
    double xa = (F + mp * l * (w2 * sn - tha * cs)) / M;
    double n[4] = {s[0] + tau * s[1], s[1] + tau * xa, s[2] + tau * s[3], s[3] + tau * tha};
    memcpy(s, n, sizeof n);
}

static void cp_set(CartPole *e, double x, double xd, double th, double thd) {
    e->x = x;
    e->x_dot = xd;
    e->theta = th;
    e->theta_dot = thd;
}

Test(cartpole, one_euler_step_matches_hand_calculation) {
    /* From (x, x_dot, th, thd) = (0.1, -0.2, 0.05, 0.3), push right (F = +10):
     *   sin 0.05 = 0.0499791693, cos 0.05 = 0.9987502604, M = 1.1
     *   numerator   = 9.8 * 0.04997917 + 0.99875026 * (-10 - 0.05 * 0.09 * 0.04997917) / 1.1
     *               = 0.48979586 - 9.07955203 = -8.58995617
     *   denominator = 0.5 * (4/3 - 0.1 * 0.99750177 / 1.1) = 0.62132566
     *   theta_acc   = -13.82520742
     *   x_acc       = (10 + 0.05 * (0.09 * 0.04997917 + 13.82520742 * 0.99875026)) / 1.1
     *               = 9.71874671
     *   x' = 0.1 + 0.02 * -0.2 = 0.096       x_dot' = -0.2 + 0.02 * 9.71874671 = -0.00562507
     *   th' = 0.05 + 0.02 * 0.3 = 0.056      thd' = 0.3 + 0.02 * -13.82520742 = 0.02349585 */
    CartPole e;
    cartpole_seed(&e, 1, 0);
    cp_set(&e, 0.1, -0.2, 0.05, 0.3);
    float obs[4], r = 0, act = 1.0f;
    int term = -1, trunc = -1;
    cartpole_step(&e, &act, obs, NULL, &r, &term, &trunc);
    const double want[4] = {0.096, -0.005625065781779681, 0.056, 0.023495851518526456};
    const double got[4] = {e.x, e.x_dot, e.theta, e.theta_dot};
    for (int k = 0; k < 4; k++) {
        cr_expect(fabs(got[k] - want[k]) < 1e-9, "state[%d] = %.17g, want %.17g", k, got[k], want[k]);
        cr_expect_eq(obs[k], (float)got[k], "obs is the float32 rounding of the double state");
    }
    cr_expect_eq(r, 1.0f);
    cr_expect_eq(term, 0);
    cr_expect_eq(trunc, 0);
}

Test(cartpole, trajectory_follows_bsa_equations_in_double) {
    /* 40 steps of alternating pushes: the state stays in double (no float32 rounding in the
     * loop), so it agrees with the independent formulation to rounding error. */
    CartPole e;
    cartpole_seed(&e, 1, 0);
    double s[4] = {-0.03, 0.02, 0.01, -0.04};
    cp_set(&e, s[0], s[1], s[2], s[3]);
    for (int t = 0; t < 40; t++) {
        int a = (t / 3) % 2;
        float act = (float)a, obs[4], r;
        int term, trunc;
        cartpole_step(&e, &act, obs, NULL, &r, &term, &trunc);
        bsa_step(s, a);
        const double got[4] = {e.x, e.x_dot, e.theta, e.theta_dot};
        for (int k = 0; k < 4; k++)
            cr_assert(fabs(got[k] - s[k]) < 1e-12 * (1 + fabs(s[k])), "t=%d k=%d %.17g vs %.17g", t, k,
                      got[k], s[k]);
        int fell = fabs(s[0]) > 2.4 || fabs(s[2]) > THETA_MAX;
        cr_assert_eq(term, fell, "t=%d", t);
        if (fell) break;
    }
}

/* One step from a state whose next angle or position is given exactly by the Euler update
 * (accelerations only change the velocities); returns terminated. */
static int cp_term_after(double x, double xd, double th, double thd, float *reward) {
    CartPole e;
    cartpole_seed(&e, 1, 0);
    cp_set(&e, x, xd, th, thd);
    float act = 0.0f, obs[4];
    int term, trunc;
    cartpole_step(&e, &act, obs, NULL, reward, &term, &trunc);
    return term;
}

Test(cartpole, terminates_exactly_beyond_12_degrees_and_2_4) {
    float r = 0;
    /* theta' = theta + 0.02 * theta_dot. */
    cr_expect_eq(cp_term_after(0, 0, THETA_MAX, 0, &r), 0, "theta exactly at 12 deg is alive");
    cr_expect_eq(cp_term_after(0, 0, -THETA_MAX, 0, &r), 0);
    cr_expect_eq(cp_term_after(0, 0, 0.2, (THETA_MAX - 1e-9 - 0.2) / 0.02, &r), 0);
    cr_expect_eq(cp_term_after(0, 0, 0.2, (THETA_MAX + 1e-9 - 0.2) / 0.02, &r), 1);
    cr_expect_eq(r, 1.0f, "the terminating step still pays 1");
    cr_expect_eq(cp_term_after(0, 0, -0.2, -(THETA_MAX + 1e-9 - 0.2) / 0.02, &r), 1);
    /* x' = x + 0.02 * x_dot. */
    cr_expect_eq(cp_term_after(2.4, 0, 0, 0, &r), 0, "x exactly at 2.4 is alive");
    cr_expect_eq(cp_term_after(-2.4, 0, 0, 0, &r), 0);
    cr_expect_eq(cp_term_after(2.3, (2.4 + 1e-9 - 2.3) / 0.02, 0, 0, &r), 1);
    cr_expect_eq(cp_term_after(-2.3, -(2.4 + 1e-9 - 2.3) / 0.02, 0, 0, &r), 1);
    cr_expect_eq(cp_term_after(2.3, (2.4 - 1e-9 - 2.3) / 0.02, 0, 0, &r), 0);
    cr_expect_eq(r, 1.0f);
}

Test(cartpole, truncates_at_step_500_without_terminating) {
    CartPole e;
    cartpole_seed(&e, 3, 0);
    float obs[4], r, act;
    cartpole_reset(&e, obs, NULL);
    for (int t = 1; t <= 500; t++) {
        cp_set(&e, 0, 0, 0, 0); /* hold the pole upright so only the time limit can end it */
        act = (float)(t % 2);
        int term = -1, trunc = -1;
        cartpole_step(&e, &act, obs, NULL, &r, &term, &trunc);
        cr_assert_eq(term, 0);
        cr_assert_eq(trunc, t == 500, "step %d", t);
        cr_assert_eq(r, 1.0f);
    }
}

Test(cartpole, reset_draws_state_in_plus_minus_0_05) {
    CartPole e;
    cartpole_seed(&e, 5, 0);
    float obs[4];
    double lo = 1, hi = -1;
    for (int k = 0; k < 2000; k++) {
        cartpole_reset(&e, obs, NULL);
        const double s[4] = {e.x, e.x_dot, e.theta, e.theta_dot};
        for (int j = 0; j < 4; j++) {
            cr_assert(s[j] >= -0.05 && s[j] < 0.05);
            cr_assert_eq(obs[j], (float)s[j]);
            lo = fmin(lo, s[j]);
            hi = fmax(hi, s[j]);
        }
        cr_assert_eq(e.steps, 0);
    }
    cr_expect(lo < -0.049 && hi > 0.049, "the draws cover the interval: [%g, %g]", lo, hi);
}

/* Gymnasium's cost by hand, from the docstring formula with the angle wrapped by hand. */
static double pend_cost(double th_wrapped, double thd, double u) {
    return th_wrapped * th_wrapped + 0.1 * thd * thd + 0.001 * u * u;
}

static void pend_step(Pendulum *e, float u, float obs[3], float *r, int *term, int *trunc) {
    pendulum_step(e, &u, obs, NULL, r, term, trunc);
}

Test(pendulum, one_step_matches_the_formula) {
    /* th = 1, thd = 0.5, u = 1.5:
     *   cost = 1 + 0.1 * 0.25 + 0.001 * 2.25 = 1.02725
     *   thd' = 0.5 + (3 * 10 / 2 * sin 1 + 3 * 1.5) * 0.05 = 0.5 + (12.62206477 + 4.5) * 0.05
     *        = 1.35610324
     *   th'  = 1 + 1.35610324 * 0.05 = 1.06780516; obs = [cos th', sin th', thd']
     *        = [0.48204838, 0.87614460, 1.35610324] */
    Pendulum e;
    pendulum_seed(&e, 1, 0);
    e.th = 1.0;
    e.thdot = 0.5;
    float obs[3], r;
    int term, trunc;
    pend_step(&e, 1.5f, obs, &r, &term, &trunc);
    cr_expect(fabs(r - (-1.02725)) < 1e-6, "reward %.9g", r);
    cr_expect(fabs(e.thdot - 1.3561032386059226) < 1e-9);
    cr_expect(fabs(e.th - 1.0678051619302962) < 1e-9);
    cr_expect(fabs(obs[0] - 0.48204838409011624) < 1e-7);
    cr_expect(fabs(obs[1] - 0.8761445973103457) < 1e-7);
    cr_expect(fabs(obs[2] - 1.3561032386059226) < 1e-6);
    cr_expect_eq(term, 0);
    cr_expect_eq(trunc, 0);
}

Test(pendulum, clips_torque_and_speed) {
    Pendulum e;
    pendulum_seed(&e, 1, 0);
    float obs[3], r;
    int term, trunc;
    /* u = 5 acts as u = 2: cost uses 0.001 * 4, thd' = 0 + (15 sin 0.3 + 3 * 2) * 0.05. */
    e.th = 0.3;
    e.thdot = 0.0;
    pend_step(&e, 5.0f, obs, &r, &term, &trunc);
    cr_expect(fabs(r + pend_cost(0.3, 0, 2)) < 1e-6);
    cr_expect(fabs(e.thdot - (15 * sin(0.3) + 6) * 0.05) < 1e-12);
    e.th = 0.3;
    e.thdot = 0.0;
    pend_step(&e, -7.0f, obs, &r, &term, &trunc);
    cr_expect(fabs(e.thdot - (15 * sin(0.3) - 6) * 0.05) < 1e-12);
    /* th = pi/2, thd = 7.9, u = 2: 7.9 + (15 + 6) * 0.05 = 8.95 is clipped to 8, and the angle
     * advances with the clipped speed: th' = pi/2 + 8 * 0.05. */
    e.th = 1.5707963267948966;
    e.thdot = 7.9;
    pend_step(&e, 2.0f, obs, &r, &term, &trunc);
    cr_expect_eq(e.thdot, 8.0);
    cr_expect(fabs(e.th - (1.5707963267948966 + 0.4)) < 1e-12);
    cr_expect_eq(obs[2], 8.0f);
    e.th = -1.5707963267948966;
    e.thdot = -7.9;
    pend_step(&e, -2.0f, obs, &r, &term, &trunc);
    cr_expect_eq(e.thdot, -8.0);
}

Test(pendulum, angle_is_wrapped_into_minus_pi_pi) {
    const double pi = 3.141592653589793;
    /* x -> x - 2 pi k with k chosen so the result lies in [-pi, pi). */
    const double xs[] = {0.0, 1.0, -1.0, 4.0, -4.0, 7.0, -7.0, 20.0, -20.0, pi - 1e-9, -pi};
    for (size_t k = 0; k < SB_ARRAY_LEN(xs); k++) {
        double want = xs[k] - 2 * pi * floor((xs[k] + pi) / (2 * pi));
        double got = pendulum_angle_normalize(xs[k]);
        cr_expect(fabs(got - want) < 1e-12, "x=%g: %.17g vs %.17g", xs[k], got, want);
        cr_expect(got >= -pi && got < pi);
    }
    cr_expect(fabs(pendulum_angle_normalize(pi) - (-pi)) < 1e-12, "pi wraps to -pi");
    /* The reward sees the wrapped angle: th = 4 costs (4 - 2 pi)^2, not 16. */
    Pendulum e;
    pendulum_seed(&e, 1, 0);
    e.th = 4.0;
    e.thdot = 0.0;
    float obs[3], r;
    int term, trunc;
    pend_step(&e, 0.0f, obs, &r, &term, &trunc);
    cr_expect(fabs(r + pend_cost(4.0 - 2 * pi, 0, 0)) < 1e-6, "reward %.9g", r);
}

Test(pendulum, truncates_at_step_200_never_terminates) {
    Pendulum e;
    pendulum_seed(&e, 9, 0);
    float obs[3], r;
    pendulum_reset(&e, obs, NULL);
    cr_expect(e.th >= -3.141592653589793 && e.th < 3.141592653589793);
    cr_expect(e.thdot >= -1 && e.thdot < 1);
    cr_expect(fabs(obs[0] - cos(e.th)) < 1e-7 && fabs(obs[1] - sin(e.th)) < 1e-7);
    for (int t = 1; t <= 200; t++) {
        int term = -1, trunc = -1;
        pend_step(&e, 2.0f, obs, &r, &term, &trunc);
        cr_assert_eq(term, 0);
        cr_assert_eq(trunc, t == 200, "step %d", t);
        cr_assert(r <= 0 && r >= -16.2736045f, "reward within the documented range");
    }
}

Test(registry, finds_both_envs_by_gymnasium_id) {
    const EnvClass *c = envs_find("CartPole-v1"), *p = envs_find("Pendulum-v1");
    cr_assert(c && p);
    cr_expect_eq(c->obs_dim, 4);
    cr_expect_eq(c->space.kind, SPACE_DISCRETE);
    cr_expect_eq(c->space.n, 2);
    cr_expect_eq(c->space.dim, 1);
    cr_expect_eq(p->obs_dim, 3);
    cr_expect_eq(p->space.kind, SPACE_BOX);
    cr_expect_eq(p->space.dim, 1);
    cr_expect_eq(p->space.low[0], -2.0f);
    cr_expect_eq(p->space.high[0], 2.0f);
    cr_expect_null(envs_find("CartPole-v0"));
    cr_expect_null(envs_find(NULL));
    char buf[128];
    envs_list(buf, sizeof buf);
    cr_expect_str_eq(buf, "CartPole-v1, Pendulum-v1");
}

Test(vecenv, auto_reset_keeps_terminal_obs_and_logs_the_episode) {
    const EnvClass *cls = envs_find("CartPole-v1");
    void **envs = envs_create(cls, 2, 11);
    VecEnv v;
    vecenv_init(&v, cls, envs, 2);
    vecenv_reset(&v);
    cr_expect(isnan(vecenv_mean_return(&v)) && isnan(vecenv_mean_length(&v)), "NaN before any episode");
    cr_expect_null(v.mask);
    /* Env 0 is about to fall: th' = 0.2 + 0.02 * 1 = 0.22 > 12 deg; x stays at 0.5. */
    CartPole *e0 = envs[0];
    cp_set(e0, 0.5, 0.0, 0.2, 1.0);
    float act[2] = {1.0f, 0.0f};
    vecenv_step(&v, act);
    cr_assert_eq(v.terminated[0], 1);
    cr_expect_eq(v.truncated[0], 0);
    cr_expect_eq(v.done[0], 1);
    cr_expect_eq(v.terminated[1] | v.truncated[1] | v.done[1], 0);
    cr_expect_eq(v.reward[0], 1.0f);
    cr_expect_eq(v.terminal_obs[0], 0.5f);
    cr_expect_eq(v.terminal_obs[2], (float)(0.2 + 0.02 * 1.0));
    /* obs now holds the new episode's first observation, the env's fresh state. */
    cr_expect_eq(e0->steps, 0);
    const double s0[4] = {e0->x, e0->x_dot, e0->theta, e0->theta_dot};
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(v.obs[k], (float)s0[k]);
        cr_expect(fabs(v.obs[k]) <= 0.05f);
    }
    cr_expect_eq(v.episodes, 1);
    cr_expect_eq(vecenv_mean_return(&v), 1.0);
    cr_expect_eq(vecenv_mean_length(&v), 1.0);
    cr_expect_eq(v.last_len[0], 1);
    cr_expect_eq(v.ep_len[0], 0);
    cr_expect_eq(v.ep_len[1], 1);
    cr_expect_eq(v.ep_return[1], 1.0);
    vecenv_free(&v);
    envs_destroy(envs, 2);
}

Test(vecenv, history_keeps_the_last_100_episodes) {
    const EnvClass *cls = envs_find("CartPole-v1");
    const int n = 3;
    void **envs = envs_create(cls, n, 21);
    VecEnv v;
    vecenv_init(&v, cls, envs, n);
    vecenv_reset(&v);
    Rng rng;
    rng_seed(&rng, 99, 0);
    long lens[400];
    int got = 0;
    float act[3];
    while (got < 250) {
        for (int i = 0; i < n; i++) act[i] = (float)rng_below(&rng, 2);
        vecenv_step(&v, act);
        for (int i = 0; i < n; i++)
            if (v.done[i]) {
                cr_assert_eq((double)v.last_return[i], (double)v.last_len[i], "CartPole pays 1 per step");
                lens[got++] = v.last_len[i];
            }
    }
    double s = 0;
    for (int k = got - 100; k < got; k++) s += (double)lens[k];
    cr_expect_eq(v.episodes, got);
    cr_expect_eq(v.hist_count, 100);
    cr_expect(fabs(vecenv_mean_length(&v) - s / 100) < 1e-9, "%g vs %g", vecenv_mean_length(&v), s / 100);
    cr_expect(fabs(vecenv_mean_return(&v) - s / 100) < 1e-9);
    vecenv_free(&v);
    envs_destroy(envs, n);
}

Test(vecenv, box_actions_reach_the_env_clipped) {
    /* Two identical pendulums: one is sent 3.5 and -9, the other 2 and -2; the env must see
     * the clipped values, so both trajectories coincide, while the caller's array is untouched. */
    const EnvClass *cls = envs_find("Pendulum-v1");
    void **ea = envs_create(cls, 1, 4), **eb = envs_create(cls, 1, 4);
    VecEnv a, b;
    vecenv_init(&a, cls, ea, 1);
    vecenv_init(&b, cls, eb, 1);
    vecenv_reset(&a);
    vecenv_reset(&b);
    for (int t = 0; t < 30; t++) {
        float ua = t % 2 ? 3.5f : -9.0f, ub = t % 2 ? 2.0f : -2.0f;
        vecenv_step(&a, &ua);
        vecenv_step(&b, &ub);
        cr_assert_eq(ua, t % 2 ? 3.5f : -9.0f);
        cr_assert_eq(a.act_clipped[0], ub);
        cr_assert_eq(memcmp(a.obs, b.obs, 3 * sizeof(float)), 0, "t=%d", t);
        cr_assert_eq(a.reward[0], b.reward[0]);
    }
    vecenv_free(&a);
    vecenv_free(&b);
    envs_destroy(ea, 1);
    envs_destroy(eb, 1);
}

Test(vecenv, pendulum_episodes_last_200_steps) {
    const EnvClass *cls = envs_find("Pendulum-v1");
    void **envs = envs_create(cls, 2, 8);
    VecEnv v;
    vecenv_init(&v, cls, envs, 2);
    vecenv_reset(&v);
    float act[2] = {0.5f, -0.5f};
    for (int t = 1; t <= 400; t++) {
        vecenv_step(&v, act);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(v.terminated[i], 0);
            cr_assert_eq(v.truncated[i], t % 200 == 0, "t=%d", t);
        }
    }
    cr_expect_eq(v.episodes, 4);
    cr_expect_eq(vecenv_mean_length(&v), 200.0);
    cr_expect(vecenv_mean_return(&v) < 0);
    vecenv_free(&v);
    envs_destroy(envs, 2);
}

/* Run a seeded vector for `steps` with actions from a seeded Rng, writing every obs. */
static void rollout(const char *name, uint64_t seed, int n, int steps, float *trace) {
    const EnvClass *cls = envs_find(name);
    void **envs = envs_create(cls, n, seed);
    VecEnv v;
    vecenv_init(&v, cls, envs, n);
    vecenv_reset(&v);
    Rng rng;
    rng_seed(&rng, 1234, 0);
    size_t O = (size_t)cls->obs_dim;
    float act[8];
    for (int t = 0; t < steps; t++) {
        for (int i = 0; i < n; i++)
            act[i] = cls->space.kind == SPACE_BOX ? (float)rng_uniform_range(&rng, -3, 3)
                                                  : (float)rng_below(&rng, 2);
        vecenv_step(&v, act);
        memcpy(trace + (size_t)t * n * O, v.obs, (size_t)n * O * sizeof(float));
    }
    vecenv_free(&v);
    envs_destroy(envs, n);
}

Test(vecenv, same_seed_repeats_and_env_index_changes_the_stream) {
    const char *names[2] = {"CartPole-v1", "Pendulum-v1"};
    enum { T = 600, N = 4 };
    static float a[T * N * 4], b[T * N * 4];
    for (int k = 0; k < 2; k++) {
        size_t O = (size_t)envs_find(names[k])->obs_dim;
        rollout(names[k], 77, N, T, a);
        rollout(names[k], 77, N, T, b);
        cr_expect_eq(memcmp(a, b, T * N * O * sizeof(float)), 0, "%s repeats", names[k]);
        rollout(names[k], 78, N, T, b);
        cr_expect_neq(memcmp(a, b, O * sizeof(float)), 0, "%s: another seed, another start", names[k]);
        /* First observations of env 0 and env 1 (same seed, streams 0 and 1) differ. */
        cr_expect_neq(memcmp(a, a + O, O * sizeof(float)), 0, "%s: env index is the stream", names[k]);
    }
}

Test(cartpole, random_policy_lasts_about_22_steps) {
    /* A uniformly random policy keeps CartPole up for ~22 steps on average (the usual
     * baseline figure quoted for CartPole-v0/v1); 2000 episodes put the standard error of the
     * mean near 0.3 steps, so [18, 27] is a wide band that still catches wrong dynamics. */
    const EnvClass *cls = envs_find("CartPole-v1");
    const int n = 8;
    void **envs = envs_create(cls, n, 2024);
    VecEnv v;
    vecenv_init(&v, cls, envs, n);
    vecenv_reset(&v);
    Rng rng;
    rng_seed(&rng, 5, 0);
    float act[8];
    long episodes = 0, total = 0;
    while (episodes < 2000) {
        for (int i = 0; i < n; i++) act[i] = (float)rng_below(&rng, 2);
        vecenv_step(&v, act);
        for (int i = 0; i < n; i++)
            if (v.done[i]) {
                episodes++;
                total += v.last_len[i];
                cr_assert_eq(v.terminated[i], 1, "a random policy never survives 500 steps");
            }
    }
    double mean = (double)total / (double)episodes;
    cr_expect(mean >= 18 && mean <= 27, "mean random-policy episode length %.2f", mean);
    vecenv_free(&v);
    envs_destroy(envs, n);
}
