/* pool.h: where the independent tasks of a seed run: in order on the calling thread, or on a
 * pool of threads, packed with the other seeds' work onto the machine's cores.
 *
 * A task is fn(ctx, i) for i in [0, n). Tasks must not depend on each other's order (each
 * aggregator's PPO phase owns its agent, environment and Rng and only reads the shared state),
 * so every thread count gives the same results bit for bit.
 *
 * Packing. Seeds run in separate processes; a counting semaphore in memory they share holds
 * one token per core (game_pool_tokens). A seed's main thread holds a token while it works
 * and lends it while it waits; a worker takes a token for each task. So at most `cores`
 * threads compute at any moment, whichever seeds they belong to, and when one seed is left
 * its aggregators spread over every core instead of running one after another. */
#ifndef SB_POOL_H
#define SB_POOL_H

typedef struct GamePool GamePool;
typedef struct GameTokens GameTokens;
typedef void (*GamePoolFn)(void *ctx, int i);

/* Tokens for `cores` cores in memory shared with forked children (create before fork; the
 * children inherit it). NULL on failure. */
GameTokens *game_tokens_create(int cores);
void game_tokens_free(GameTokens *t);
/* The calling thread takes a token (blocks until one is free) / gives it back. NULL: no-ops. */
void game_tokens_acquire(GameTokens *t);
void game_tokens_release(GameTokens *t);

/* A pool of `threads` threads in all (the caller and threads - 1 workers); tokens may be NULL
 * (no packing: every thread computes when it has a task). threads <= 1 gives a pool that runs
 * tasks in order on the caller. The caller is assumed to hold a token while it calls
 * game_pool_run. */
GamePool *game_pool_create(int threads, GameTokens *tokens);
void game_pool_free(GamePool *p);
int game_pool_threads(const GamePool *p);

/* Run fn(ctx, 0..n-1) and return when all are done. pool NULL: in order, on this thread. */
void game_pool_run(GamePool *pool, int n, GamePoolFn fn, void *ctx);

#endif
