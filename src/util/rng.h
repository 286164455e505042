/* rng.h: a small, explicit random number generator (xoshiro256**).
 *
 * Every environment, agent and sampler owns an Rng; there is no global state, so a
 * run is bitwise reproducible for a seed whatever the order of unrelated work.
 * Streams: rng_seed(r, seed, stream) gives independent sequences for the same seed. */
#ifndef SB_RNG_H
#define SB_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);                  /* [0, 1), 53 bits */
double rng_uniform_range(Rng *r, double lo, double hi);
uint64_t rng_below(Rng *r, uint64_t n);      /* unbiased integer in [0, n) */
double rng_normal(Rng *r);                   /* standard normal (Box-Muller, no cache) */
double rng_triangular(Rng *r, double lo, double hi, double mode);

#endif
