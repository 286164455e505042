/* game_config.h: every number of the tariff game (docs/MODEL.md) as one plain struct, its
 * defaults (configs/paper.yaml says the same, with citations), the YAML reader and the
 * cross-field validator. The config owns heap arrays: game_config_free releases them.
 *
 * Keys (top level of the file; see configs/paper.yaml for the full commented example):
 *   seed, seeds, days, steps_per_day, step_hours, leader_period_days, report_days,
 *   schedule: single_loop | nested | ac_smfg, mf_tol, mf_days, mf_max_iters, tol, max_leader_iters,
 *   ac_smfg: {follower_samples, leader_samples, power, leader_step, follower_step, critic_step,
 *             follower_gamma, leader_gamma, follower_entropy, leader_entropy, optimizer: adam | sgd}
 *             (schedule ac_smfg only; configs/ac_smfg.yaml argues the defaults),
 *   grid (path: grid YAML or MATPOWER .m; relative paths resolve against the config file's
 *   directory), cost_basis: grid | per_step | per_hour, base_load: case | none,
 *   base_load_shape: [S], record: [grid], voll, storage (bool), learning (bool),
 *   train_steps (sets both roles'),
 *   households: {NAME: {bus, prosumers, income, storage_kwh, consumers, consumer_income}, ...}
 *     or households: {from_load: {households: N, prosumers: {CLASS: {share, income,
 *     storage_kwh}, ...}, consumers: {share, income}}},
 *   shapes: {consumer: [S], prosumer: [S], solar: [S]}, demand_scale_kwh, efficiency,
 *   efficiency_applies: both | charging,
 *   noise: per_household | clt | per_bus, train_noise: (same), noise_triangular: {low, mode, high},
 *   solar: {generators: [names in the grid file], capacity_mwh: [U] (optional: default each
 *          generator's Pmax, as MWh per step)},
 *   aggregator: {action_levels, action: discrete | gaussian, play: mean | mode | sample,
 *                train_steps, episode_days, belief_step, belief_clip, reward_scale: auto | $,
 *                mask_tol, initial_soc, obs_progress, reward: bill | battery,
 *                episode_end: truncate | terminate, ppo: {SB3 keys, see ppo_config.h}},
 *   utility: {learn, alpha_bounds: [lo, hi], fixed_charge_bounds: [lo, hi],
 *             action_map: clip | tanh, initial_mean: midpoint | baseline,
 *             consumer_charge: learned | balancing, sell_above_buy: clip | swap, train_steps,
 *             episode_periods, kappa, surplus_penalty, eei_gap: pooled | groups,
 *             fixed_cost_per_day, obs_lmp_scale, ppo: {...}}.
 *
 * The defaults differ from SPEC's first [R] resolutions in ten values (efficiency_applies,
 * aggregator.reward and episode_end, the utility's alpha and fixed-charge bounds, action_map, eei_gap,
 * surplus_penalty, consumer_charge and its ppo log_std_init): configs/paper.yaml gives each
 * reason, bench/RESULTS.md the runs.
 *
 * [R] values introduced here (beyond those in grid/households.h, grid/fleet.h, grid/market.h):
 *   - seed: 0, the base seed; seed s of `seeds` runs with seed + s;
 *   - report_days: 3, the window of the reported IMV and EEIs (the last days of the run) [P][A];
 *   - train_noise: clt, the noise of the training environments, which simulate ~1000x more
 *     steps than the real market (the real market keeps the SPEC's exact per_household);
 *   - storage: false gives every fleet capacity 0 (the aggregators have nothing to control);
 *     learning: false runs no PPO phase at all (the tariff stays the baseline, the fleets idle
 *     at a = 0); utility.learn: false keeps the baseline tariff while the followers learn;
 *   - aggregator.initial_soc: 0.5, the fleets' SoC when the real market starts (training
 *     episodes reset to U(0, 1) [A]);
 *   - aggregator.belief_clip: 3 (SPEC 4), aggregator.reward_scale: auto (market.h);
 *   - nested schedule: mf_tol 1e-3 ($/MWh, L1 over the S beliefs), mf_days 3, mf_max_iters 20,
 *     tol 1e-3 (leader policy change), max_leader_iters 20;
 *   - utility.obs_lmp_scale 100 $/MWh, utility.sell_above_buy clip (market.h);
 *   - ac_smfg: configs/ac_smfg.yaml. */
#ifndef SB_GAME_CONFIG_H
#define SB_GAME_CONFIG_H

#include <stddef.h>

#include "config/yamltree.h"
#include "grid/households.h"
#include "grid/market.h"
#include "rl/ac.h"
#include "rl/ppo.h"
#include "util/json.h"

#define GAME_PATH_MAX 4096
#define GAME_NAME_MAX HH_NAME_MAX

typedef enum { GAME_SINGLE_LOOP = 0, GAME_NESTED = 1, GAME_AC_SMFG = 2 } GameSchedule;
typedef enum { AGG_DISCRETE = 0, AGG_GAUSSIAN = 1 } AggAction;
typedef enum { AGG_PLAY_MEAN = 0, AGG_PLAY_MODE = 1, AGG_PLAY_SAMPLE = 2 } AggPlay;
/* The grid's own loads in the game: none (the paper's model: only the households), or the
 * case's Pd of each bus times a daily shape. */
typedef enum { BASE_LOAD_NONE = 0, BASE_LOAD_CASE = 1 } BaseLoad;
/* What a grid's quantities and costs mean: as the grid file says (MATPOWER: per hour), or
 * forced. per_step: MWh per market step and $ per step; per_hour: MW and $/h. */
typedef enum { COST_BASIS_GRID = 0, COST_BASIS_PER_STEP = 1, COST_BASIS_PER_HOUR = 2 } CostBasis;
enum { GAME_RECORD_GRID = 1 }; /* `record:` items, bits */

/* A key's position in its file (0 when it came from the defaults), for errors found after
 * reading (against the grid). */
typedef struct {
    int line, col;
} CfgPos;

typedef struct {
    int action_levels;      /* K: 201 levels of step 0.01 in [-1, 1] [A] */
    AggAction action;       /* discrete (masked) [A] or gaussian clipped to the mask */
    AggPlay play;           /* real-market action: expected level under the masked policy [A] */
    long train_steps;       /* env steps per PPO phase, before every real step: 2000 [P] */
    int episode_days;       /* training episode, days: 3 [A] */
    double belief_step;     /* 0.9 [A] */
    double belief_clip;     /* normalised belief clipped to +-3 */
    double reward_scale;    /* $ per unit reward; 0: auto (market_reward_scale_auto) */
    double mask_tol;        /* fleet_mask tolerance, 1e-9 */
    double initial_soc;     /* real market's starting SoC, fraction */
    int obs_progress;       /* [R] off by default (SPEC 4): add the position in the 3-day episode
                             * (real market: in the 3-day cycle) to the observation, 7 floats */
    int reward_battery;     /* [R] 0: reward = -(fleet's bill)/scale (SPEC 4); 1: -(bill - bill of the
                             * same step without the battery)/scale, the battery's own cost [A]
                             * ("focus on actions"): an action-independent shift, same optimum */
    int episode_terminate;  /* [R] 0: the 3-day end is a time limit (bootstrapped); 1: a terminal
                             * state, as the authors' env returns terminated=True [A] */
    PpoConfig ppo;          /* Table 4, nets [18, 36] */
} AggregatorConfig;

typedef struct {
    int learn;                  /* 0: the baseline tariff throughout */
    TariffBounds bounds;        /* alpha in [0, 0.01] $/kWh, fixed charges [0, 15] $/household/day */
    long train_steps;           /* leader steps per PPO phase: 2000 [P] */
    int episode_periods;        /* leader steps per training episode: 10 */
    int initial_mean_baseline;  /* [R] 0: the policy starts at the middle of the bounds (SB3); 1: at the
                                 * baseline tariff (the bias of its mean head) */
    int consumer_charge_balancing; /* [R] 0: the leader sets the consumers' fixed charge; 1: it is the
                                 * residual that recovers the fixed cost (game_balancing_consumer_charge) */
    int action_tanh;            /* [R] 0: the Gaussian is clipped to [-1, 1] (SB3's Box); 1: squashed by tanh */
    double kappa;               /* weight of the relative revenue shortfall: 10 */
    double surplus_penalty;     /* [R] weight of the relative revenue surplus: 10 (SPEC 5: none, 0) */
    int eei_gap_groups;         /* [R] 0 (SPEC 5): |pooled prosumer EEI - consumer EEI|; 1: the
                                 * population-weighted mean of |EEI of each prosumer group - consumer EEI| */
    double fixed_cost_per_day;  /* $ per day the utility must recover: 10,800 */
    double obs_lmp_scale;       /* $/MWh dividing the mean LMP in the observation */
    PpoConfig ppo;              /* Table 4, nets [24, 36] */
} UtilityConfig;

/* schedule: ac_smfg, the single loop of AC-SMFG (Zeng et al., arXiv 2509.15392) on the tariff game:
 * every agent is a one-step actor-critic (rl/ac.h) on its PPO section's networks, updated at every
 * real step t from its own training environment, at step sizes c / (t + 1)^power; the price
 * beliefs are the mean field. configs/ac_smfg.yaml gives each default its reason. */
typedef struct {
    long follower_samples;      /* transitions (= updates) per aggregator per real step */
    long leader_samples;        /* the utility's, each a leader period of its environment */
    double power;               /* the step sizes' decay exponent: 1/2 [P: AC-SMFG] */
    double leader_step;         /* c of the utility's actor: the slowest [P: AC-SMFG] */
    double follower_step;       /* c of the aggregators' actors */
    double critic_step;         /* c of every critic: the fastest [P: AC-SMFG] */
    double follower_gamma, leader_gamma;     /* discounts of the TD targets */
    double follower_entropy, leader_entropy; /* tau: weights of -log pi in the rewards */
    AcOptimizer optimizer;      /* adam (PyTorch's) or sgd */
} AcSmfgConfig;

typedef struct {
    char source[GAME_PATH_MAX];         /* file it was read from ("" for defaults) */
    long seed;                          /* base seed */
    int seeds;                          /* independent runs: 5 [P] */
    int days;                           /* simulated days per run: 100 [P] */
    int steps_per_day;                  /* S: 8 [P] */
    double step_hours;                  /* 3 [P] */
    int leader_period_days;             /* the leader acts every 3 days [P] */
    int report_days;                    /* final window of the reported metrics: 3 */
    GameSchedule schedule;
    double mf_tol;                      /* nested: L1 change of the beliefs, $/MWh */
    int mf_days;                        /* nested: days simulated per mean-field iteration */
    int mf_max_iters;
    double tol;                         /* nested: leader policy change to stop */
    int max_leader_iters;
    AcSmfgConfig ac;                    /* schedule: ac_smfg */
    char grid[GAME_PATH_MAX];           /* grid YAML (or MATPOWER .m) path, as written */
    char grid_path[GAME_PATH_MAX];      /* the path opened: relative to the config file's directory */
    CostBasis cost_basis;               /* grid: the grid file's own (paper3.yaml: per_step [P]) */
    BaseLoad base_load;                 /* case [R]: the grid's bus loads stay in the market */
    double base_load_shape[HH_MAX_STEPS]; /* (S) factor on Pd per step of the day */
    int base_load_shape_len;            /* 0: the consumer shape normalised to mean 1 [R] */
    int record;                         /* GAME_RECORD_* bits: extra records */
    double voll;                        /* $/MWh of unserved / spilled energy: 5000 [A] */
    int storage;                        /* 0: no batteries (the no-storage baseline) */
    int learning;                       /* 0: no PPO at all */

    HhParams hh;                        /* shapes, scale, efficiency, noise, solar capacities
                                         * (NaN: the generator's Pmax); the households given per
                                         * bus (from_load: none until the grid is read) */
    int from_load;                      /* households: {from_load: ...} */
    long from_load_households;          /* households to place over the load buses */
    HhClassRow *from_load_rows;         /* (R) prosumer classes, then the consumers */
    int from_load_n_rows;
    char (*solar_gen)[GAME_NAME_MAX];   /* (U) generator names in the grid file */
    CfgPos grid_pos, solar_pos;         /* where `grid` and `solar.generators` were written */
    CfgPos *bus_pos;                    /* (B) where households.NAME.bus was written */
    HhNoise noise;                      /* real market: per_household [P] */
    HhNoise train_noise;                /* training environments: clt */
    int shape_len[3];                   /* lengths read for consumer, prosumer, solar (validate) */

    AggregatorConfig aggregator;
    UtilityConfig utility;
} GameConfig;

/* The paper's run (the same numbers as configs/paper.yaml). */
void game_config_default(GameConfig *c);
void game_config_free(GameConfig *c);
/* A deep copy (dst is overwritten without being freed). */
void game_config_copy(GameConfig *dst, const GameConfig *src);
/* "file:line:col: " for pos (or "file: " without a position) into out. */
void game_config_where(const GameConfig *c, CfgPos pos, char *out, size_t cap);

/* Fill c (already holding defaults) from the whole document: every key above, ranges checked
 * with "file:line:col: key: what is wrong", unknown keys rejected (yt_check_unused over the
 * document), then game_config_validate (its messages prefixed with the file name).
 * 0, or -1 with err. */
int game_config_from_yaml(const YtDoc *d, GameConfig *c, char *err, size_t n);
/* default + load file + from_yaml. */
int game_config_load(const char *path, GameConfig *c, char *err, size_t n);

/* Cross-field checks: households (hh_params_validate, when given per bus), shapes of length
 * steps_per_day, alpha and fixed-charge bounds ordered, an odd number of action levels (0
 * must be a level), leader_period_days <= days (the last period may be partial),
 * report_days <= days, PPO configs valid. 0, or -1 with "key: what is wrong". Checks that
 * need the grid are game_world_load's (game/world.h). */
int game_config_validate(const GameConfig *c, char *err, size_t n);
/* The baseline tariff's uniform charge (fixed_cost_per_day / households) inside the fixed-charge
 * bounds, for households p. 0, or -1 with "utility.fixed_charge_bounds: ...". */
int game_config_check_baseline(const GameConfig *c, const HhParams *p, char *err, size_t n);

/* The resolved config as one JSON object under `key` (NULL at the top level), with the YAML
 * key names, for a run directory's record (reasons: reproduce a run; see what a default was). */
void game_config_json(const GameConfig *c, Json *j, const char *key);

/* Steps in a leader period (S * leader_period_days) and in a run (S * days). */
int game_period_steps(const GameConfig *c);
long game_total_steps(const GameConfig *c);

const char *game_schedule_str(GameSchedule s);
const char *agg_action_str(AggAction a);
const char *agg_play_str(AggPlay p);

#endif
