/* pool.c: tasks of a seed, one after another or on threads (pool.h). */
#include "run/pool.h"

#include <stddef.h>

void game_pool_run(GamePool *pool, int n, GamePoolFn fn, void *ctx) {
    (void)pool;
    for (int i = 0; i < n; i++) fn(ctx, i);
}
