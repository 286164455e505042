/* pendulum.c: Pendulum-v1 dynamics (semi-implicit Euler, dt = 0.05 s), after Gymnasium 0.29.1.
 *
 * Gymnasium's arithmetic runs in float64 with the float32 action value (NumPy 1.x promotes
 * a float32 scalar to float64 against Python floats); the order of operations is kept, so
 * a trajectory matches Gymnasium's bitwise when NumPy's sin is the C library's (NumPy's
 * AVX-512 sin can differ in the last bit, as it does between machines). */
#include "rl/pendulum.h"

#include <math.h>
#include <stdio.h>

#include "util/common.h"

static const double PI = 3.141592653589793; /* np.pi */
static const double MAX_SPEED = 8.0;
static const double MAX_TORQUE = 2.0;
static const double DT = 0.05;
static const double MASS = 1.0;
static const double LEN = 1.0;

void pendulum_seed(void *env, uint64_t seed, uint64_t stream) {
    Pendulum *e = env;
    rng_seed(&e->rng, seed, stream);
    e->th = e->thdot = 0.0;
    e->g = 10.0;
    e->steps = 0;
    e->max_steps = PENDULUM_MAX_STEPS;
}

double pendulum_angle_normalize(double x) {
    /* NumPy's floor remainder: fmod, then shift into the divisor's sign. */
    double b = 2 * PI;
    double m = fmod(x + PI, b);
    if (m != 0.0 && m < 0.0) m += b;
    else if (m == 0.0) m = 0.0; /* +0, as copysign(0, b) */
    return m - PI;
}

static void write_obs(const Pendulum *e, float *obs) {
    obs[0] = (float)cos(e->th);
    obs[1] = (float)sin(e->th);
    obs[2] = (float)e->thdot;
}

void pendulum_reset(void *env, float *obs, unsigned char *mask) {
    (void)mask;
    Pendulum *e = env;
    e->th = rng_uniform_range(&e->rng, -PI, PI);
    e->thdot = rng_uniform_range(&e->rng, -1.0, 1.0);
    e->steps = 0;
    write_obs(e, obs);
}

void pendulum_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                   int *terminated, int *truncated) {
    (void)mask;
    Pendulum *e = env;
    float uf = action[0];
    if (uf < -(float)MAX_TORQUE) uf = -(float)MAX_TORQUE;
    if (uf > (float)MAX_TORQUE) uf = (float)MAX_TORQUE;
    double u = uf, th = e->th, thdot = e->thdot;
    double an = pendulum_angle_normalize(th);
    double costs = an * an + 0.1 * (thdot * thdot) + 0.001 * (u * u);

    double newthdot = thdot + (3 * e->g / (2 * LEN) * sin(th) + 3.0 / (MASS * (LEN * LEN)) * u) * DT;
    if (newthdot < -MAX_SPEED) newthdot = -MAX_SPEED;
    if (newthdot > MAX_SPEED) newthdot = MAX_SPEED;
    double newth = th + newthdot * DT;

    e->th = newth;
    e->thdot = newthdot;
    e->steps++;
    *reward = (float)-costs;
    *terminated = 0;
    *truncated = e->steps >= e->max_steps;
    write_obs(e, obs);
}

const EnvClass pendulum_class = {
    .name = "Pendulum-v1",
    .obs_dim = 3,
    .space = {.kind = SPACE_BOX, .dim = 1, .n = 0, .low = {-2.0f}, .high = {2.0f}},
    .reset = pendulum_reset,
    .step = pendulum_step,
    .size = sizeof(Pendulum),
    .seed = pendulum_seed,
};

void pendulum_describe(Pspec *s) {
    SB_ASSERT(s->obs_dim == 3 && s->kind == PSPEC_BOX && s->size == 1);
    pspec_describe_obs(s, 0, "cos_theta", "1", "cos(theta), theta: the pendulum's angle, 0 upright");
    pspec_describe_obs(s, 1, "sin_theta", "1", "sin(theta)");
    PspecObs *o = pspec_describe_obs(s, 2, "theta_dot", "rad/s", "the angular velocity, clipped to [-max_speed, max_speed]");
    pspec_obs_const(o, "max_speed", MAX_SPEED);
    PspecPlay *p = &s->play;
    p->kind = PSPEC_PLAY_RAW;
    pspec_play_entry(p, 0, "torque", "N m");
    snprintf(p->note, sizeof p->note, "the torque for the next dt = %g s, within [-%g, %g]", DT, MAX_TORQUE, MAX_TORQUE);
}
