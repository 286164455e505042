/* single.h: a single-agent training run (CartPole-v1, Pendulum-v1): PPO on a vector of
 * environments, progress rows after every update, checkpoints, a deterministic evaluation
 * at the end.
 *
 * Output directory (when out_dir is not NULL):
 *   progress.csv    one row per update (SB3 logger fields), flushed row by row; its length and
 *                   CRC-32 are in each checkpoint, and a resume verifies them
 *   checkpoint.npz  everything needed to continue bitwise (agent "agent", environments, the
 *                   run's own counters, meta.json with the config); written atomically at the
 *                   end, every checkpoint_every seconds and when SIGINT/SIGTERM arrive
 *   summary.json    written atomically at the end
 * The run is bitwise reproducible for a seed, config and BLAS thread count, and a run
 * interrupted and resumed from a checkpoint ends with the same parameters, progress rows
 * and summary as one that was not (apart from wall-clock fields). */
#ifndef SB_SINGLE_H
#define SB_SINGLE_H

#include <stddef.h>
#include <stdint.h>

#include "io/jsonval.h"
#include "io/npz.h"
#include "rl/env.h"
#include "rl/ppo.h"

typedef struct {
    char env[64];          /* registry name, e.g. "Pendulum-v1" */
    uint64_t seed;
    int n_envs;
    long total_timesteps;
    int eval_episodes;     /* deterministic episodes after training (SB3 evaluate_policy) */
    int blas_threads;
    PpoConfig ppo;
} SingleConfig;

void single_config_default(SingleConfig *c);

typedef struct {
    long env_steps;
    double wall_s, steps_per_s;        /* training time, summed over the sessions of a resumed run */
    double rollout_s, update_s;        /* summed over updates (and sessions) */
    double eval_return_mean, eval_return_std;
    double train_return_mean_last100;
    int signal;                        /* 0, or SIGINT/SIGTERM: stopped after a checkpoint */
} SingleResult;

/* Where the config came from, recorded in the checkpoint so a resume parses the same one:
 * the YAML text as read and the --set overrides in the order applied (--seed N as "seed=N"). */
typedef struct {
    const char *file;          /* name for messages */
    const char *text;
    const char *const *sets;   /* (n_sets) */
    int n_sets;
} SingleSource;

/* A checkpoint read back: the archive, its meta.json, and the source it records. */
typedef struct {
    char path[4096];           /* DIR/checkpoint.npz, the label of every message */
    Npz z;
    JVal meta;
    SingleSource source;       /* points into meta */
    const char **sets;         /* (n_sets) storage behind source.sets */
    int finished;              /* training had completed when it was written */
} SingleCheckpoint;

/* Read DIR/checkpoint.npz and check its meta.json (format, version, kind, config).
 * -1 with "PATH: what is wrong". single_checkpoint_free is safe after a failure. */
int single_checkpoint_load(SingleCheckpoint *ck, const char *dir, char *err, size_t n);
void single_checkpoint_free(SingleCheckpoint *ck);

typedef struct {
    int quiet;                 /* no progress line on stderr */
    double checkpoint_every;   /* seconds between periodic checkpoints; <= 0: only at the end and on a signal */
    const SingleSource *source;/* recorded in meta.json; NULL records an empty config */
    const SingleCheckpoint *resume; /* continue this checkpoint (out_dir must be its directory) */
    volatile int *stop;        /* polled after each update: nonzero (a signal number, e.g. run/signals.h's
                                * sig_stop_flag()) stops with a checkpoint; NULL: never */
} SingleOptions;

/* The config's environment exists and its PPO settings are valid (what single_run would
 * refuse before writing anything). 0, or -1 with "key: what is wrong". */
int single_validate(const SingleConfig *c, char *err, size_t n);

/* Train as c says. A stop request (o->stop) stops it after the current update with a
 * checkpoint; res->signal tells which. Returns 0 (finished or stopped), -1 with err for I/O
 * failures, -2 with err for bad input (unknown env, invalid PPO config, a checkpoint that
 * does not fit the config, a progress.csv that does not match its checkpoint). */
int single_run(const SingleConfig *c, const char *out_dir, const SingleOptions *o, SingleResult *res,
               char *err, size_t n);
/* single_run without checkpoints or resume (benchmarks). */
int single_train(const SingleConfig *c, const char *out_dir, int quiet, SingleResult *res, char *err,
                 size_t n);

/* The state of a vector of environments (each instance's bytes, observations, masks and the
 * episode statistics) as npz members PREFIX.*, and back into a VecEnv of the same class and
 * size. Instances are stored as their raw structs: exact on the machine that wrote them. */
int single_envs_save(const VecEnv *v, Npz *z, const char *prefix, char *err, size_t n);
int single_envs_restore(VecEnv *v, const Npz *z, const char *prefix, const char *label, char *err, size_t n);

#endif
