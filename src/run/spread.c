/* spread.c: the tariff game's seeds under mpirun (runner.h, game_train_mpi).
 *
 * With K ranks and S seeds: K <= S, rank r runs seeds r, r + K, ... one after another, each
 * alone (its aggregators on its threads); K > S, seed s gets the ranks [s K / S, (s+1) K / S)
 * as its group, which share its aggregators (game.h, GameOptions.comm). Each seed's root sends
 * its results to world rank 0, which writes the aggregate over seeds. Results are the same bits
 * as a single process's for every K: see run/mpi.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "game/runner.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "util/common.h"
#include "util/fsutil.h"

static volatile int g_stop;
static volatile sig_atomic_t g_sig;
static void on_signal(int sig) {
    g_sig = sig;
    g_stop = 1;
}

/* One seed's result as plain bytes: header, then the C fixed charges. */
typedef struct {
    int seed, status; /* status: 0 done, 1 stopped */
    GameResult r;     /* fixed_class not valid */
} Record;

int game_train_mpi(const GameConfig *cfg, const GameWorld *w, const char *dir, const RunnerOptions *o, char *err,
                   size_t n) {
    const int K = sb_mpi_size(), me = sb_mpi_rank(), S = o->seeds > 0 ? o->seeds : 1, C = w->hh.n_class;
    double t0 = sb_now();
    int color = -1;
    if (K > S)
        for (int s = 0; s < S; s++) {
            int lo, hi;
            sb_block(K, S, s, &lo, &hi);
            if (me >= lo && me < hi) color = s;
        }
    SbComm *group = K > S ? sb_comm_split(color) : NULL;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    GamePool *pool = game_pool_create(o->threads > 0 ? o->threads : 1, NULL);
    const size_t rec_bytes = sizeof(Record) + (size_t)C * sizeof(double);
    unsigned char *mine = sb_calloc((size_t)S, rec_bytes);
    size_t n_mine = 0;
    for (int s = K > S ? color : me; s < S; s += K > S ? S : K) {
        char sd[4096], name[32];
        snprintf(name, sizeof name, "seed-%d", s);
        path_join(sd, sizeof sd, dir, name);
        GameOptions go = {.pool = pool, .comm = group, .stop = &g_stop};
        GameResult r = {0};
        char e[1024];
        int rc = game_run(cfg, w, cfg->seed + s, sd, o->resume, &go, &r, e, sizeof e);
        if (rc < 0) { /* game_run stops the group on failures; alone, stop the world too */
            char msg[1200];
            snprintf(msg, sizeof msg, "seed %d: %s", s, e);
            sb_mpi_abort(msg);
        }
        if (sb_comm_rank(group) == 0) {
            Record rec = {.seed = s, .status = rc, .r = r};
            rec.r.fixed_class = NULL;
            unsigned char *at = mine + n_mine * rec_bytes;
            memcpy(at, &rec, sizeof rec);
            if (rc == 0) memcpy(at + sizeof rec, r.fixed_class, (size_t)C * sizeof(double));
            n_mine++;
        }
        game_result_free(&r);
        if (rc == 1 || K > S) break;
    }
    game_pool_free(pool);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    unsigned char **all;
    size_t *lens;
    sb_comm_gather_bytes(sb_comm_world(), mine, n_mine * rec_bytes, &all, &lens);
    free(mine);
    sb_comm_free(group);
    if (me != 0) return g_sig ? (int)g_sig : 0;
    /* World rank 0: every seed's record, in seed order. */
    GameResult *res = sb_calloc((size_t)S, sizeof *res);
    double *fixed = sb_calloc((size_t)S * (size_t)(C ? C : 1), sizeof *fixed);
    int *seen = sb_calloc((size_t)S, sizeof *seen), stopped = 0;
    for (int k = 0; k < (sb_comm_world() ? K : 1); k++) {
        for (size_t off = 0; off + rec_bytes <= lens[k]; off += rec_bytes) {
            Record rec;
            memcpy(&rec, all[k] + off, sizeof rec);
            SB_ASSERT(rec.seed >= 0 && rec.seed < S);
            seen[rec.seed] = 1;
            stopped |= rec.status == 1;
            res[rec.seed] = rec.r;
            memcpy(fixed + (size_t)rec.seed * C, all[k] + off + sizeof rec, (size_t)C * sizeof(double));
            res[rec.seed].fixed_class = fixed + (size_t)rec.seed * C;
        }
        free(all[k]);
    }
    free(all);
    free(lens);
    int rc = 0;
    for (int s = 0; s < S; s++) stopped |= !seen[s];
    if (stopped || g_sig) rc = g_sig ? (int)g_sig : SIGINT;
    else rc = game_runner_aggregate(cfg, w, dir, res, S, sb_now() - t0, err, n);
    free(res);
    free(fixed);
    free(seen);
    return rc;
}
