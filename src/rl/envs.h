/* envs.h: environments by name, and creation of a vector of seeded instances.
 *
 * Instance i of a vector created with seed s owns an Rng seeded (s, stream = i), so
 * envs differ from one another and a run repeats exactly for the same seed. */
#ifndef SB_ENVS_H
#define SB_ENVS_H

#include <stdint.h>

#include "io/pspec.h"
#include "rl/env.h"

/* "CartPole-v1" or "Pendulum-v1"; NULL if the name is unknown. */
const EnvClass *envs_find(const char *name);
/* The registered names, for error messages: writes "CartPole-v1, Pendulum-v1". */
void envs_list(char *buf, size_t cap);
/* n instances (each sb_calloc'd cls->size bytes, then cls->seed(env, seed, i)). */
void **envs_create(const EnvClass *cls, int n, uint64_t seed);
void envs_destroy(void **envs, int n);
/* Fill s's observations and played action (io/pspec.h) for an agent trained on cls, s
 * already holding its networks; nothing for an environment without a description. */
void envs_describe(const EnvClass *cls, Pspec *s);

#endif
