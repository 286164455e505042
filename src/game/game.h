/* game.h: the Stackelberg tariff game (SPEC sections 1-6) for one seed.
 *
 * Legend: B household buses (one aggregator each), S steps per day, N grid buses,
 * G generators, P steps per leader period (S * leader_period_days), K action levels.
 *
 * One readable loop (game_run) does, at every real step t:
 *   1. leader phase when t % P == 0: the utility's PPO trains for train_steps in LeadEnv
 *      (3 simulated days per leader step, followers frozen), then sets the tariff;
 *   2. follower phases: each aggregator's PPO trains for train_steps in AggEnv (beliefs as
 *      prices), then acts once in the real market (the expected level of its masked policy);
 *   3. the market clears twice on the same noise: with the fleets, and without storage;
 *   4. bills accrue, the price beliefs move toward this step's LMPs.
 * Training environments and the real market share one GameShared (beliefs, tariff, grid
 * mapping); every environment owns its Rng, so a seed reproduces bitwise.
 *
 * [R] The real step draws the households' demand before the aggregators act, because their
 * observation contains this step's net-demand ratio (as in their training environment). */
#ifndef SB_GAME_H
#define SB_GAME_H

#include <stdio.h>

#include "game/game_config.h"
#include "grid/dispatch.h"
#include "grid/fleet.h"
#include "grid/households.h"
#include "grid/market.h"
#include "grid/network.h"
#include "rl/env.h"
#include "rl/ppo.h"

/* What every environment and the real market read. */
typedef struct {
    const GameConfig *cfg;
    int B, S, K;                              /* household buses, steps per day, action levels */
    int grid_bus[HH_MAX_BUS];                 /* (B) internal grid bus of household bus b */
    int solar_gen[HH_MAX_SOLAR];              /* (U) internal generator index of solar unit u */
    double capacity_kwh[HH_MAX_BUS];          /* (B) fleet capacity */
    double belief[HH_MAX_BUS][HH_MAX_STEPS];  /* (B, S) price beliefs, $/MWh */
    double belief_mean[HH_MAX_BUS], belief_sd[HH_MAX_BUS]; /* of the initial beliefs */
    double reward_scale[HH_MAX_BUS];          /* $ per unit of follower reward */
    Tariff tariff;                            /* in force */
    Tariff baseline;                          /* alpha 0, uniform fixed charge */
    double soc[HH_MAX_BUS];                   /* real fleets' SoC (leader episodes start here) */
    float leader_obs[32];                     /* the real market's latest leader observation */
} GameShared;

/* A follower's training environment (SPEC 4): 3-day episodes on the beliefs. */
typedef struct {
    Rng rng;
    const GameShared *g;
    int bus, hour, t, len;
    double soc, net_kwh;     /* net demand of the step about to be played, kWh */
} AggEnv;

/* The leader's training environment (SPEC 5): a step simulates a leader period. */
typedef struct {
    Rng rng;
    const GameShared *g;
    Ppo **followers;          /* (B) frozen during the leader phase */
    DispatchSolver *ds;       /* its own solver (warm starts do not leak into the market) */
    double *load, *pmin, *pmax; /* (N), (G), (G) */
    double soc[HH_MAX_BUS];
    int t, len;
    double dispatch_s;        /* time in the solver */
} LeadEnv;

extern const EnvClass agg_env_class_discrete;
extern const EnvClass agg_env_class_gaussian;
extern const EnvClass lead_env_class;

#define GAME_FOLLOWER_OBS_MAX (MARKET_FOLLOWER_OBS + 1)

/* Observation of aggregator b in state (hour, soc, net_kwh) under g's beliefs: SPEC 4's six
 * floats, and with aggregator.obs_progress a seventh, `progress` in [0, 1) (the position in
 * the 3-day episode, or in the real market's 3-day cycle). */
void game_follower_obs(const GameShared *g, int b, int hour, double soc, double net_kwh, double progress,
                       float *obs);
int game_follower_obs_dim(const GameConfig *c);
/* The leader's reward for a window (SPEC 5 with the [R] options utility.eei_gap and
 * utility.surplus_penalty): -100 gap - kappa shortfall - surplus_penalty surplus. */
double game_leader_reward(const GameConfig *c, const MarketEei *e, double revenue, double days);
/* The real-market action of follower policy p for that observation (config `play`). */
double game_follower_play(const GameShared *g, Ppo *p, int b, const float *obs, double soc, Rng *rng,
                          float *probs, unsigned char *mask);

/* The leader's action in [-1, 1]^(B+3) as a tariff (linear onto the bounds, then the sell
 * rule), and back. */
void game_leader_tariff(const GameShared *g, const float *act, Tariff *t);
void game_tariff_to_action(const GameShared *g, const Tariff *t, float *act);
/* utility.consumer_charge: balancing [R]: the consumers' fixed charge that recovers
 * fixed_cost_per_day given the rest of tariff t, on the expected energy of the mean shapes
 * (alpha_buy on every household's energy), clipped to the fixed-charge bounds. */
double game_balancing_consumer_charge(const GameConfig *c, const Tariff *t);

/* Per-seed results (also written to the seed's directory). */
typedef struct {
    double imv_rl, imv_no_storage;            /* mean IMV of the last report_days, $/MWh */
    double eei_gap_baseline, eei_gap_learned; /* percentage points, last report window */
    double eei_pros_learned, eei_cons_learned;
    Tariff final_tariff;
    double shortfall;                         /* relative, last report window, learned tariff */
    long slack_steps;
    double wall_s, follower_s, leader_s, dispatch_s, other_s;
    long train_env_steps;                     /* PPO environment steps, all agents */
    double train_steps_per_s;
} GameResult;

/* Live progress, readable by another process (the parent shows seeds running in children). */
typedef struct {
    volatile int day, days, done, failed;
    volatile double imv, eei_gap;
} GameProgress;

/* Tests observe the schedule through a trace: called with the phase ("leader", "follower",
 * "market", "close"), the real step t and the agent (bus index, or -1). NULL turns it off.
 * Process-wide (tests only). */
typedef void (*GameTraceFn)(const char *phase, long t, int who, void *user);
void game_set_trace(GameTraceFn fn, void *user);

/* Run one seed; writes steps.csv, periods.csv, days.csv, hourly.csv, summary.json and
 * checkpoint.npz into out_dir (created). With resume, a checkpoint there is continued (a
 * finished one only returns its results). `stop` (may be NULL) is polled between real steps:
 * when nonzero the run writes a checkpoint and returns 1. A resumed run ends with the same
 * records as an uninterrupted one (wall-clock fields aside). 0, 1 if stopped, -1 with err. */
int game_run(const GameConfig *cfg, long seed, const char *out_dir, int resume, GameProgress *progress,
             volatile int *stop, GameResult *res, char *err, size_t n);

#endif
