/* game.h: the Stackelberg tariff game for one seed, as a library (docs/MODEL.md).
 *
 * Legend: B household buses (one aggregator each), G prosumer groups, C income classes,
 * S steps per day, N grid buses, P steps per leader period (S * leader_period_days),
 * K action levels, T real steps.
 *
 *   Game *g;  game_setup(&g, cfg, world, seed, &opts, err, n);
 *   while (!game_done(g)) game_step(g, rec);       one real step and the phases due before it
 *   game_results(g, &res);  game_cleanup(g);
 * (game_run wraps that loop with the recorder, checkpoints and resume.)
 *
 * At every real step t of the single-loop schedule:
 *   1. leader phase when t % P == 0: the utility's PPO trains for train_steps in LeadEnv
 *      (a leader step simulates a leader period, followers frozen), then sets the tariff;
 *   2. follower phases: each aggregator's PPO trains for train_steps in AggEnv (beliefs as
 *      prices), in parallel over threads or MPI ranks (each aggregator is independent);
 *   3. the market: households and solar are drawn, the aggregators act (the expected level
 *      of their masked policies), the market clears twice on the same noise (with the fleets,
 *      and without storage), bills accrue, the price beliefs move toward this step's LMPs;
 *   4. after the last step of a leader period, the period closes (EEIs, revenue, reward).
 * The nested schedule (Algorithm 1 of [P]) is game_step with another order of phases.
 * Training environments and the real market share one GameShared (beliefs, tariff, SoC);
 * every environment owns its Rng, so a seed reproduces bitwise for any thread or rank count.
 *
 * [R] The real step draws the households' demand before the aggregators act, because their
 * observation contains this step's net-demand ratio (as in their training environment). */
#ifndef SB_GAME_H
#define SB_GAME_H

#include <stdio.h>

#include "config/game_config.h"
#include "game/clear.h"
#include "game/world.h"
#include "grid/fleet.h"
#include "grid/households.h"
#include "grid/market.h"
#include "rl/env.h"
#include "rl/ppo.h"

typedef struct GamePool GamePool; /* run/pool.h: where independent tasks run in parallel */

/* What every environment and the real market read. */
typedef struct {
    const GameConfig *cfg;
    const GameWorld *w;
    const HhParams *hh;       /* &w->hh */
    int B, G, C, S, K;        /* household buses, prosumer groups, classes, steps per day, levels */
    double *capacity_kwh;     /* (B) fleet capacity (0 without storage) */
    double *group_cap_kwh;    /* (G) the groups' shares of it */
    double *belief;           /* (B, S) price beliefs, $/MWh */
    double *belief_mean;      /* (B) of the initial beliefs */
    double *belief_sd;        /* (B) */
    double *reward_scale;     /* (B) $ per unit of follower reward */
    Tariff tariff;            /* in force */
    Tariff baseline;          /* alpha 0, uniform fixed charge */
    double *soc;              /* (B) real fleets' SoC (leader episodes start here) */
    float *leader_obs;        /* (2C + 6) the real market's latest leader observation */
} GameShared;

/* A follower's training environment: episode_days episodes on the beliefs. */
typedef struct {
    Rng rng;
    const GameShared *g;
    int bus, hour, t, len;
    double soc, net_kwh;      /* net demand of the step about to be played, kWh */
} AggEnv;

/* Buffers for the fleets' acting and stepping over all buses; a bus's scratch rows are its
 * own, so buses may act on different threads. */
typedef struct {
    int obs_dim, K;
    float *obs;               /* (B, obs_dim) */
    float *probs;             /* (B, K) */
    unsigned char *mask;      /* (B, K) */
    double *action;           /* (B) */
    double *fleet_kwh;        /* (B) */
    double *group_kwh;        /* (G) */
} FleetBuffers;

/* The leader's training environment: a step simulates a leader period of the market with
 * the followers' policies frozen (they see the tariff being evaluated). */
typedef struct {
    Rng rng;
    const GameShared *g;
    Ppo **followers;          /* (B) frozen during the leader phase; NULL entries act 0 */
    GamePool *pool;           /* the followers act on its threads (NULL: in order) */
    MarketClear clear;        /* its own solver (warm within a phase, cold at its start) */
    double *soc;              /* (B) */
    int t, len;
    /* scratch */
    Tariff view;
    HhStep hs;
    FleetBuffers fb;
    double *lmp;              /* (B) */
    MarketLedger led;
    MarketEei eei;
} LeadEnv;

extern const EnvClass agg_env_class_discrete;
extern const EnvClass agg_env_class_gaussian;
extern const EnvClass lead_env_class;

/* ---- shared pieces (game_envs.c) ---- */

void game_shared_init(GameShared *g, const GameConfig *cfg, const GameWorld *w);
void game_shared_free(GameShared *g);
void fleet_buffers_init(FleetBuffers *f, const GameShared *g);
void fleet_buffers_free(FleetBuffers *f);
int lead_env_init(LeadEnv *e, const GameShared *g, Ppo **followers, GamePool *pool, char *err, size_t n);
void lead_env_free(LeadEnv *e);

/* Observation of aggregator b in state (hour, soc, net_kwh) under g's beliefs and tariff t:
 * the six floats of market_follower_obs, and with aggregator.obs_progress a seventh,
 * `progress` in [0, 1) (the position in the training episode, or in the real market's cycle
 * of the same length). */
void game_follower_obs(const GameShared *g, const Tariff *t, int b, int hour, double soc, double net_kwh,
                       double progress, float *obs);
int game_follower_obs_dim(const GameConfig *c);
/* The leader's reward for a window: -100 gap - kappa shortfall - surplus_penalty surplus
 * (utility.eei_gap: pooled or groups). */
double game_leader_reward(const GameConfig *c, const HhParams *hh, const MarketEei *e, double revenue, double days);
/* The real-market action of follower policy p for that observation (config `play`). */
double game_follower_play(const GameShared *g, Ppo *p, const float *obs, double soc, Rng *rng, float *probs,
                          unsigned char *mask);
/* The fleets' actions at one step for buses [b0, b1): zero where a bus has no follower or no
 * capacity. followers (B) may be NULL. Draws (play: sample only) from rng[b] when per_bus_rng
 * (each bus its own stream: the real market, whose buses may act on different ranks), else
 * from *rng (the leader's environment, which acts for every bus in order). With a pool the
 * buses act on its threads, except when one stream serves every bus (its draws are in bus
 * order); the actions are the same bits either way. */
void game_fleet_actions(const GameShared *g, Ppo *const *followers, const Tariff *t, int hour, double progress,
                        const double *soc, const HhStep *hs, int b0, int b1, Rng *rng, int per_bus_rng,
                        GamePool *pool, FleetBuffers *f);
/* Apply f->action to every bus: each group's battery step, the bus fleet's grid energy
 * (f->group_kwh, f->fleet_kwh) and soc (B) moved on. */
void game_fleet_apply(const GameShared *g, double *soc, const HhStep *hs, FleetBuffers *f);

/* The leader's action in [-1, 1]^(C+3) as a tariff (linear onto the bounds, then the sell
 * rule), and back. */
void game_leader_tariff(const GameShared *g, const float *act, Tariff *t);
void game_tariff_to_action(const GameShared *g, const Tariff *t, float *act);
/* utility.consumer_charge: balancing [R]: the consumers' fixed charge that recovers
 * fixed_cost_per_day given the rest of tariff t, on the expected energy of the mean shapes
 * (alpha_buy on every household's energy), clipped to the fixed-charge bounds. */
double game_balancing_consumer_charge(const GameConfig *c, const HhParams *hh, const Tariff *t);

/* ---- one seed ---- */

/* Per-seed results (also written to the seed's directory). */
typedef struct {
    double imv_rl, imv_no_storage;            /* mean IMV of the last report_days, $/MWh */
    double eei_gap_baseline, eei_gap_learned; /* percentage points, last report window */
    double eei_pros_learned, eei_cons_learned;
    double alpha_buy, alpha_sell, fixed_consumer; /* the final tariff */
    double *fixed_class;                      /* (C) the final tariff's prosumer charges */
    int n_class;
    double shortfall;                         /* relative, last report window, learned tariff */
    long slack_steps;
    double wall_s, follower_s, leader_s, dispatch_s, other_s;
    double comm_s;                            /* in MPI collectives (the root's), 0 alone */
    long train_env_steps;                     /* PPO environment steps, all agents */
    double train_steps_per_s;
} GameResult;

void game_result_free(GameResult *r);

/* Live progress, readable by another process (the parent shows seeds running in children). */
typedef struct {
    volatile int day, days, done, failed;
    volatile double imv, eei_gap;
} GameProgress;

/* Tests observe the schedule through a trace: called with the phase ("leader", "follower",
 * "market", "close"), the real step t and the agent (bus index, or -1). */
typedef void (*GameTraceFn)(const char *phase, long t, int who, void *user);

typedef struct SbComm SbComm;     /* run/mpi.h: the MPI ranks that share this seed */

typedef struct {
    GameTraceFn trace;        /* NULL: off */
    void *trace_user;
    GamePool *pool;           /* NULL: follower phases one after another */
    SbComm *comm;             /* NULL: this process alone. Otherwise the seed's group of ranks:
                               * each trains its block of the aggregators; rank 0 (the root)
                               * draws the noise, clears the market, trains the leader and
                               * writes every file; the others write nothing */
    GameProgress *progress;   /* NULL: none */
    volatile int *stop;       /* polled between steps (on the root); NULL: never */
} GameOptions;

typedef struct Game Game;

/* Build a seed's agents, environments, solvers and ledgers, and the initial beliefs. The
 * config and world outlive the game. 0, or -1 with err. */
int game_setup(Game **out, const GameConfig *cfg, const GameWorld *w, long seed, const GameOptions *o, char *err,
               size_t n);
void game_cleanup(Game *g);
/* All T steps done (and the last period closed). */
int game_done(const Game *g);
/* A checkpoint boundary: the next step starts a leader period (single loop) or an inner
 * iteration (nested). */
int game_at_boundary(const Game *g);
long game_t(const Game *g);

typedef struct Recorder Recorder; /* game/recorder.h */
/* One real step, with the phases due before it and the period close after it; rows go to
 * rec (may be NULL). */
void game_step(Game *g, Recorder *rec);
/* The seed's results so far (the report window must be complete for the IMV and EEI fields). */
void game_results(const Game *g, GameResult *r);

/* Run one seed; writes steps.csv, periods.csv, draws.csv, days.csv, hourly.csv, summary.json
 * and checkpoint.npz into out_dir (created). With resume, a checkpoint there is continued (a
 * finished one only returns its results). opts->stop is polled between real steps: when
 * nonzero the run writes a checkpoint and returns 1. A resumed run ends with the same records
 * as an uninterrupted one (wall-clock fields aside). 0, 1 if stopped, -1 with err, -2 with err
 * for bad input (a damaged or foreign checkpoint, records that do not match it). */
int game_run(const GameConfig *cfg, const GameWorld *w, long seed, const char *out_dir, int resume,
             const GameOptions *o, GameResult *res, char *err, size_t n);

#endif
