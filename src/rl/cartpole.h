/* cartpole.h: CartPole-v1 as Gymnasium 0.29.1 defines it (Barto, Sutton and Anderson 1983),
 * including the 500-step TimeLimit.
 *
 * Observation (O = 4, float32): [x, x_dot, theta, theta_dot]. Action: Discrete(2), 0 pushes
 * left, 1 pushes right, with 10 N. Reward 1 on every step, the terminating one included.
 * Terminated when |theta| > 12 degrees or |x| > 2.4; truncated at step 500.
 * The state stays in double between steps, as Gymnasium keeps Python floats; only the
 * returned observation is rounded to float32. */
#ifndef SB_CARTPOLE_H
#define SB_CARTPOLE_H

#include "io/pspec.h"
#include "rl/env.h"
#include "util/rng.h"

#define CARTPOLE_MAX_STEPS 500

typedef struct {
    Rng rng;
    double x, x_dot, theta, theta_dot; /* state; tests may set it directly */
    int steps;                         /* steps in this episode, for the TimeLimit */
    int max_steps;                     /* CARTPOLE_MAX_STEPS unless changed after seeding */
} CartPole;

extern const EnvClass cartpole_class;

void cartpole_seed(void *env, uint64_t seed, uint64_t stream);
void cartpole_reset(void *env, float *obs, unsigned char *mask);
void cartpole_step(void *env, const float *action, float *obs, unsigned char *mask, float *reward,
                   int *terminated, int *truncated);
/* The observations and the played force of an agent trained on CartPole (meta.json). */
void cartpole_describe(Pspec *s);

#endif
