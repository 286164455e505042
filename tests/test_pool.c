/* test_pool.c: the seed's thread pool and the core tokens shared by seed processes
 * (run/pool.h): every task runs exactly once, never more threads compute than tokens, a
 * process that dies holding tokens gives them back, and thousands of tiny jobs end (no
 * worker waits for a core it does not need). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run/pool.h"
#include "testutil.h"

typedef struct {
    GameTokens *tokens;
    atomic_int runs[64];
    atomic_int busy, most;
} Job;

static void sleep_us(long us) { nanosleep(&(struct timespec){0, us * 1000L}, NULL); }

static void task(void *ctx, int i) {
    Job *j = ctx;
    int now = atomic_fetch_add(&j->busy, 1) + 1;
    int m = atomic_load(&j->most);
    while (now > m && !atomic_compare_exchange_weak(&j->most, &m, now)) {
    }
    atomic_fetch_add(&j->runs[i], 1);
    sleep_us(2000);
    atomic_fetch_sub(&j->busy, 1);
}

Test(pool, every_task_once_and_no_more_threads_than_tokens) {
    /* 4 threads, 2 tokens (the caller holds one): at most 2 tasks at once, each of the 40
     * tasks of every job exactly once. */
    static Job j;
    j.tokens = game_tokens_create(2);
    cr_assert(j.tokens);
    game_tokens_acquire(j.tokens);
    GamePool *p = game_pool_create(4, j.tokens);
    cr_expect_eq(game_pool_threads(p), 4);
    for (int rep = 0; rep < 5; rep++) {
        for (int i = 0; i < 40; i++) atomic_store(&j.runs[i], 0);
        game_pool_run(p, 40, task, &j);
        for (int i = 0; i < 40; i++) cr_expect_eq(atomic_load(&j.runs[i]), 1, "job %d task %d", rep, i);
    }
    cr_expect_leq(atomic_load(&j.most), 2, "%d tasks at once on 2 tokens", atomic_load(&j.most));
    cr_expect_geq(atomic_load(&j.most), 2, "the second token was never used");
    game_pool_free(p);
    game_tokens_release(j.tokens);
    game_tokens_free(j.tokens);
}

static void nothing(void *ctx, int i) {
    (void)ctx;
    (void)i;
}

Test(pool, thousands_of_tiny_jobs_end, .timeout = 60) {
    /* Jobs of two tasks the caller mostly does itself: workers wake after the job is done. */
    GameTokens *t = game_tokens_create(1);
    game_tokens_acquire(t);
    GamePool *p = game_pool_create(3, t);
    for (int rep = 0; rep < 20000; rep++) game_pool_run(p, 2, nothing, NULL);
    game_pool_free(p);
    game_tokens_release(t);
    game_tokens_free(t);
}

Test(pool, a_process_that_dies_holding_tokens_gives_them_back, .timeout = 60) {
    GameTokens *t = game_tokens_create(2);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t c = fork();
    if (c == 0) {
        game_tokens_acquire(t);
        game_tokens_acquire(t);
        char x = 1;
        if (write(fds[1], &x, 1) != 1) _exit(3);
        for (;;) pause(); /* killed holding both */
    }
    char x;
    cr_assert_eq(read(fds[0], &x, 1), 1);
    kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);
    /* Both back: the parent takes two without waiting. */
    game_tokens_acquire(t);
    game_tokens_acquire(t);
    game_tokens_release(t);
    game_tokens_release(t);
    game_tokens_free(t);
    close(fds[0]);
    close(fds[1]);
}
