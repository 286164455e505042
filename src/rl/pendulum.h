/* pendulum.h: Pendulum-v1 as Gymnasium 0.29.1 defines it, including the 200-step TimeLimit.
 *
 * Observation (O = 3, float32): [cos theta, sin theta, theta_dot]. Action: Box(-2, 2, (1,))
 * torque. Reward -(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2). Never
 * terminates; truncated at step 200. State in double between steps, as Gymnasium's
 * float64 array. */
#ifndef SB_PENDULUM_H
#define SB_PENDULUM_H

#include "io/pspec.h"
#include "rl/env.h"
#include "util/rng.h"

#define PENDULUM_MAX_STEPS 200

typedef struct {
    Rng rng;
    double th, thdot; /* state; tests may set it directly */
    double g;         /* gravity, 10.0 by default as gym.make("Pendulum-v1") */
    int steps;
    int max_steps;
} Pendulum;

extern const EnvClass pendulum_class;

void pendulum_seed(void *env, uint64_t seed, uint64_t stream);
void pendulum_reset(void *env, float *obs, unsigned char *mask);
void pendulum_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                   int *terminated, int *truncated);
/* The observations and the played torque of an agent trained on Pendulum (meta.json). */
void pendulum_describe(Pspec *s);
/* ((x + pi) mod 2 pi) - pi with Python's floored modulo: a value in [-pi, pi). */
double pendulum_angle_normalize(double x);

#endif
