/* cartpole.c: CartPole-v1 dynamics (explicit Euler, tau = 0.02 s), after Gymnasium 0.29.1.
 *
 * The arithmetic follows Gymnasium's expression order operation by operation in double, so
 * a trajectory from the same state and actions matches Python's to the last bit (checked
 * over 30 steps against the Gymnasium expressions run in Python). */
#include "rl/cartpole.h"

#include <math.h>
#include <stdio.h>

#include "util/common.h"

static const double GRAVITY = 9.8;
static const double MASSCART = 1.0;
static const double MASSPOLE = 0.1;
static const double LENGTH = 0.5; /* half the pole's length */
static const double FORCE_MAG = 10.0;
static const double TAU = 0.02;
static const double X_THRESHOLD = 2.4;
static const double CARTPOLE_PI = 3.141592653589793; /* math.pi */

void cartpole_seed(void *env, uint64_t seed, uint64_t stream) {
    CartPole *e = env;
    rng_seed(&e->rng, seed, stream);
    e->x = e->x_dot = e->theta = e->theta_dot = 0.0;
    e->steps = 0;
    e->max_steps = CARTPOLE_MAX_STEPS;
}

static void write_obs(const CartPole *e, float *obs) {
    obs[0] = (float)e->x;
    obs[1] = (float)e->x_dot;
    obs[2] = (float)e->theta;
    obs[3] = (float)e->theta_dot;
}

void cartpole_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    CartPole *e = env;
    e->x = rng_uniform_range(&e->rng, -0.05, 0.05);
    e->x_dot = rng_uniform_range(&e->rng, -0.05, 0.05);
    e->theta = rng_uniform_range(&e->rng, -0.05, 0.05);
    e->theta_dot = rng_uniform_range(&e->rng, -0.05, 0.05);
    e->steps = 0;
    write_obs(e, obs);
}

void cartpole_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                   int *terminated, int *truncated) {
    (void)mask;
    CartPole *e = env;
    SB_ASSERT(action[0] == 0.0f || action[0] == 1.0f);
    /* Derived constants computed as Gymnasium computes them (0.1 + 1.0, 0.1 * 0.5). */
    const double total_mass = MASSPOLE + MASSCART;
    const double polemass_length = MASSPOLE * LENGTH;
    const double theta_threshold = 12 * 2 * CARTPOLE_PI / 360;

    double force = action[0] == 1.0f ? FORCE_MAG : -FORCE_MAG;
    double costheta = cos(e->theta), sintheta = sin(e->theta);
    double temp = (force + polemass_length * (e->theta_dot * e->theta_dot) * sintheta) / total_mass;
    double thetaacc = (GRAVITY * sintheta - costheta * temp) /
                      (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass));
    double xacc = temp - polemass_length * thetaacc * costheta / total_mass;

    /* Explicit Euler: positions advance with the old velocities. */
    e->x = e->x + TAU * e->x_dot;
    e->x_dot = e->x_dot + TAU * xacc;
    e->theta = e->theta + TAU * e->theta_dot;
    e->theta_dot = e->theta_dot + TAU * thetaacc;
    e->steps++;

    *terminated = e->x < -X_THRESHOLD || e->x > X_THRESHOLD || e->theta < -theta_threshold ||
                  e->theta > theta_threshold;
    *truncated = e->steps >= e->max_steps; /* TimeLimit: set even if also terminated */
    *reward = 1.0f;
    write_obs(e, obs);
}

const EnvClass cartpole_class = {
    .name = "CartPole-v1",
    .obs_dim = 4,
    .space = {.kind = SPACE_DISCRETE, .dim = 1, .n = 2},
    .reset = cartpole_reset,
    .step = cartpole_step,
    .size = sizeof(CartPole),
    .seed = cartpole_seed,
};

void cartpole_describe(Pspec *s) {
    SB_ASSERT(s->obs_dim == 4 && s->kind == PSPEC_DISCRETE && s->size == 2);
    double theta_threshold = 12 * 2 * CARTPOLE_PI / 360;
    PspecObs *o = pspec_describe_obs(s, 0, "x", "m", "the cart's position; the episode ends when |x| > x_threshold");
    pspec_obs_const(o, "x_threshold", X_THRESHOLD);
    pspec_describe_obs(s, 1, "x_dot", "m/s", "the cart's velocity");
    o = pspec_describe_obs(s, 2, "theta", "rad",
                           "the pole's angle from upright; the episode ends when |theta| > theta_threshold (12 degrees)");
    pspec_obs_const(o, "theta_threshold", theta_threshold);
    pspec_describe_obs(s, 3, "theta_dot", "rad/s", "the pole's angular velocity");
    PspecPlay *p = &s->play;
    p->kind = PSPEC_PLAY_TABLE;
    pspec_play_entry(p, 0, "force", "N");
    p->values[0] = -FORCE_MAG; /* action 0 pushes the cart left, 1 right */
    p->values[1] = FORCE_MAG;
    snprintf(p->note, sizeof p->note, "the force on the cart for the next tau = %g s", TAU);
}
