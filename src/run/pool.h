/* pool.h: where independent tasks of a seed run: one after another, or on a pool of threads
 * (run/pool.c). A task is fn(ctx, i) for i in [0, n); tasks must not depend on each other's
 * order (each aggregator's PPO phase owns its agent, environment and Rng), so every thread
 * count gives the same results bit for bit. */
#ifndef SB_POOL_H
#define SB_POOL_H

typedef struct GamePool GamePool;
typedef void (*GamePoolFn)(void *ctx, int i);

/* Run fn(ctx, 0..n-1) and return when all are done. pool NULL: in order, on this thread. */
void game_pool_run(GamePool *pool, int n, GamePoolFn fn, void *ctx);

#endif
