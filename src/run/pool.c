/* pool.c: a seed's tasks on threads, packed on the cores by shared tokens (pool.h). */
#define _XOPEN_SOURCE 700 /* System V semaphores */
#include "run/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include "util/common.h"

/* The tokens are a System V semaphore used with SEM_UNDO: when a seed process dies holding
 * tokens (a crash, SIGKILL), the kernel gives them back, so the other seeds never wait for a
 * token that no one can release. */
struct GameTokens {
    int semid;
    pid_t owner; /* the process that created the set removes it */
};

union sb_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

GameTokens *game_tokens_create(int cores) {
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (id < 0) return NULL;
    union sb_semun arg = {.val = cores > 0 ? cores : 1};
    if (semctl(id, 0, SETVAL, arg) < 0) {
        semctl(id, 0, IPC_RMID);
        return NULL;
    }
    GameTokens *t = sb_malloc(sizeof *t);
    t->semid = id;
    t->owner = getpid();
    return t;
}

void game_tokens_free(GameTokens *t) {
    if (!t) return;
    if (t->owner == getpid()) semctl(t->semid, 0, IPC_RMID);
    free(t);
}

static void token_op(GameTokens *t, short op) {
    struct sembuf b = {.sem_num = 0, .sem_op = op, .sem_flg = SEM_UNDO};
    while (semop(t->semid, &b, 1) && errno == EINTR) {
    }
}

void game_tokens_acquire(GameTokens *t) {
    if (t) token_op(t, -1);
}

void game_tokens_release(GameTokens *t) {
    if (t) token_op(t, +1);
}

struct GamePool {
    int threads;               /* the caller and threads - 1 workers */
    GameTokens *tokens;
    pthread_t *workers;        /* (threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    /* the job in progress */
    GamePoolFn fn;
    void *ctx;
    int n, next, running;      /* tasks, next to hand out, workers inside the job */
    long generation;           /* bumped per job, so a worker joins each job once */
    int quit;
};

/* Tasks of the current job not yet handed out. */
static int left(GamePool *p) {
    pthread_mutex_lock(&p->mu);
    int k = p->next < p->n;
    pthread_mutex_unlock(&p->mu);
    return k;
}

/* The next task index, or -1 when the job has none left. */
static int take(GamePool *p) {
    pthread_mutex_lock(&p->mu);
    int i = p->next < p->n ? p->next++ : -1;
    pthread_mutex_unlock(&p->mu);
    return i;
}

static void *worker(void *arg) {
    GamePool *p = arg;
    long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        /* A token first, then a task: a worker never sits on a task it cannot run. And it asks
         * for a token only while the job has tasks left: a worker that wakes after the job was
         * done by others returns at once instead of waiting for a core it does not need. */
        while (left(p)) {
            game_tokens_acquire(p->tokens);
            int i = take(p);
            if (i >= 0) p->fn(p->ctx, i);
            game_tokens_release(p->tokens);
            if (i < 0) break;
        }
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

GamePool *game_pool_create(int threads, GameTokens *tokens) {
    GamePool *p = sb_calloc(1, sizeof *p);
    p->threads = threads > 1 ? threads : 1;
    p->tokens = tokens;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (p->threads > 1) {
        p->workers = sb_calloc((size_t)p->threads - 1, sizeof *p->workers);
        for (int k = 0; k < p->threads - 1; k++)
            if (pthread_create(&p->workers[k], NULL, worker, p)) SB_PANIC("pthread_create failed");
    }
    return p;
}

void game_pool_free(GamePool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < p->threads - 1; k++) pthread_join(p->workers[k], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int game_pool_threads(const GamePool *p) { return p ? p->threads : 1; }

void game_pool_run(GamePool *pool, int n, GamePoolFn fn, void *ctx) {
    if (!pool || pool->threads <= 1 || n <= 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    pool->next = 0;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    /* The caller works with the token it holds. */
    for (int i; (i = take(pool)) >= 0;) fn(ctx, i);
    /* Then lends its token while the workers finish what they took. */
    pthread_mutex_lock(&pool->mu);
    if (pool->running > 0) {
        pthread_mutex_unlock(&pool->mu);
        game_tokens_release(pool->tokens);
        pthread_mutex_lock(&pool->mu);
        while (pool->running > 0) pthread_cond_wait(&pool->done_cv, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
        game_tokens_acquire(pool->tokens);
    } else {
        pthread_mutex_unlock(&pool->mu);
    }
}
