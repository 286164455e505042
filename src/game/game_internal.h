/* game_internal.h: the Game's fields, for the files that make up the game (game.c, the
 * schedule; checkpoint.c, its named members). Not part of the library's interface.
 *
 * Legend: B household buses, G prosumer groups, C classes, S steps per day, T real steps. */
#ifndef SB_GAME_INTERNAL_H
#define SB_GAME_INTERNAL_H

#include "game/game.h"
#include "game/recorder.h"

/* Where the nested schedule stands. */
typedef struct {
    int mf_iter;                     /* inner (mean-field) iterations done in this leader iteration */
    int inner_k;                     /* market steps done in the current inner iteration */
    int leader_done;                 /* the leader's tariff moved by <= tol: it stops learning */
    int have_prev;
    int day_start;                   /* first day of the current leader iteration */
    float prev_act[ENV_MAX_ACT];     /* the last tariff as an action in [-1, 1] */
    double last_mf_change;           /* L1 change of the beliefs in the last inner iteration */
    double *before;                  /* (B, S) the beliefs when the inner iteration began */
} NestedState;

/* An agent's training.csv rows since the last flush (a phase appends, game_flush_training
 * writes them in agent order: the same file for any thread or rank count). */
typedef struct {
    char *buf;
    size_t len, cap;
    const struct Game *gm;
    int who;                         /* bus index, or -1 for the utility */
} TrainLog;

struct Game {
    const GameConfig *c;
    const GameWorld *w;
    GameOptions o;
    long seed;
    GameShared g;
    int rank, ranks;                 /* in the seed's group (0, 1 alone) */
    int lo, hi;                      /* the aggregators this rank trains and acts for: [lo, hi) */
    long synced_t;                   /* step at which the root's followers were last synced; -1 */

    /* the real market */
    MarketClear clear_rl, clear_ns;  /* with and without storage */
    HhStep hs;                       /* this step's draw */
    FleetBuffers fb;                 /* this step's actions and energies */
    double *soc_before;              /* (B) */
    double *belief_seen;             /* (B) this step's belief before the market moved it */
    double *lmp, *lmp_ns;            /* (B) this step's LMPs at the household buses */
    Rng market_rng;                  /* household and solar noise of the real market */
    Rng *play_rng;                   /* (B) sampling when play: sample, a stream per bus */

    /* agents and their training environments */
    int learn_followers, learn_leader;
    EnvClass agg_cls, lead_cls;
    Ppo **agg;                       /* (B) NULL entries when followers do not learn */
    AggEnv *agg_env;                 /* (B) */
    void **agg_envp;                 /* (B) */
    VecEnv *agg_vec;                 /* (B) */
    long *agg_steps;                 /* (B) env steps of the last follower phase */
    TrainLog *tlog;                  /* (B + 1) the followers' rows, then the utility's */
    Ppo *lead;
    LeadEnv lead_env;
    int lead_env_ready;
    void *lead_envp;
    VecEnv lead_vec;

    /* where the schedule stands */
    long t, T;                       /* next real step, steps in the run */
    int period;                      /* leader periods closed */
    int finished;                    /* every step done and the last period closed */
    NestedState nested;

    /* accounts */
    MarketLedger period_led;         /* the current leader period */
    MarketLedger window, window_base;/* the report window, learned and baseline tariff */
    MarketEei eei;                   /* scratch */
    long slack_steps;
    long train_env_steps;            /* PPO environment steps, all agents */
    double follower_s, leader_s;     /* wall seconds in the phases */
    double wall_before;              /* wall seconds of earlier sessions (resumed runs) */
    double *lmp_rl_hist, *lmp_ns_hist, *fleet_hist; /* (T, B) for days.csv, hourly.csv, results */
};

/* checkpoint.c: save everything a bitwise continuation needs (with the records' mark and,
 * when finished, the results), and read it back into a game set up with the same config.
 * game_checkpoint_restore: 0, -1 with err (I/O), -2 with err (damaged, foreign or
 * incompatible checkpoint). */
int game_checkpoint_save(const Game *g, const char *dir, const RecorderMark *mark, const GameResult *res,
                         double session_start, char *err, size_t n);
int game_checkpoint_restore(Game *g, const char *path, RecorderMark *mark, GameResult *res, char *err, size_t n);
/* Every aggregator's state (agent, training environment, play stream) from the rank that
 * trains it to the root, whose copies are then exact: before a leader phase (its environment
 * plays every follower) and before a checkpoint. A no-op alone. */
void game_sync_followers(Game *g);

#endif
