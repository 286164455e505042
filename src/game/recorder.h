/* recorder.h: a seed's records, written from what the game hands over (never from inside the
 * market step): steps.csv (a row per step and household bus), draws.csv (the households' and
 * solar draws a replay needs), periods.csv (a row per leader period), training.csv (a row per
 * PPO update of every agent: SB3's logger fields, with the agent and the step), with record: grid the
 * grid_*.csv files (every grid bus's load and LMP, every generator's dispatch and bounds, each
 * step's cost: enough to re-solve any step with another DC-OPF), and at the end days.csv,
 * hourly.csv and summary.json. docs/OUTPUTS.md says what every column means.
 *
 * Legend: B household buses, C classes, N grid buses, G generators, U solar units.
 *
 * Every number is written with 17 significant digits (a double read back is the same double),
 * so a replay starts from exactly what the game used.
 *
 * The appended files are checksummed as they are written: recorder_mark flushes and fsyncs
 * them and returns each file's length and CRC-32, which the checkpoint stores; on resume
 * recorder_open verifies every file against its mark (length and CRC of that prefix) and
 * cuts off what was written after the checkpoint. A file shorter than its mark, or with other
 * bytes, is refused: the run would otherwise go on from damaged records. */
#ifndef SB_RECORDER_H
#define SB_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "config/game_config.h"
#include "game/clear.h"
#include "game/world.h"
#include "grid/market.h"
#include "rl/ppo.h"

enum { REC_STEPS, REC_DRAWS, REC_PERIODS, REC_TRAINING, REC_GRID_BUSES, REC_GRID_GENS, REC_GRID_STEPS, REC_N };

typedef struct {
    int64_t bytes[REC_N];   /* length of each appended file at the mark (-1: not written) */
    uint32_t crc[REC_N];    /* CRC-32 (zlib) of those bytes */
} RecorderMark;

/* What one real step hands to the recorder. */
typedef struct {
    int day, hour;
    const double *lmp, *lmp_ns;       /* (B) $/MWh at the household buses */
    const double *net_kwh;            /* (B) prosumers' net demand before batteries, kWh */
    const double *group_net_kwh;      /* (G) the same per prosumer group */
    const double *belief;             /* (B) the price belief for this step's hour the followers saw
                                       * (before this step moved it), $/MWh */
    const double *fleet_kwh;          /* (B) the fleets' grid energy q, kWh */
    const double *consumer_kwh;       /* (B) kWh */
    const double *soc_before;         /* (B) fraction of capacity */
    const double *action;             /* (B) fraction of capacity */
    const Tariff *tariff;             /* in force */
    const double *solar_mwh;          /* (U) availability, MWh per step */
    const MarketClear *rl, *ns;       /* the two clearings of the step (loads, bounds, result) */
    double cost_rl, cost_ns;          /* $ of the step (objective in the grid's basis * hours) */
} StepRecord;

/* What closing a leader period hands over. */
typedef struct {
    int period, day_start;
    const Tariff *tariff;
    const MarketEei *eei;
    double mean_lmp, revenue, shortfall, reward;
} PeriodRecord;

typedef struct Recorder Recorder;

/* Open dir's appended files. mark == NULL: new files with their headers; otherwise verify
 * each against the mark and cut it there. 0, -1 with err (I/O), -2 with err (records that do
 * not match the mark). */
int recorder_open(Recorder **out, const char *dir, const GameConfig *c, const GameWorld *w, const RecorderMark *mark,
                  char *err, size_t n);
/* Check dir's appended files against a mark without touching them (as recorder_open does
 * before it cuts them): 0, or -2 with err. */
int recorder_verify(const char *dir, const GameConfig *c, const RecorderMark *mark, char *err, size_t n);
void recorder_step(Recorder *r, const StepRecord *s);
void recorder_period(Recorder *r, const PeriodRecord *p);
/* training.csv: rows already formatted by recorder_training_row (the agents' PPO updates),
 * len bytes, appended as they are. */
void recorder_training(Recorder *r, const char *rows, size_t len);
/* One training.csv row for an update of agent `agent` during the phase before real step t
 * (day, step of the day), appended to *buf (malloc'd, grown; *len, *cap). The SB3 logger's
 * fields, without the wall-clock ones (so the file is the same for any thread count). */
void recorder_training_row(char **buf, size_t *len, size_t *cap, const char *agent, long t, int steps_per_day,
                           const PpoStats *s);
/* Flush and fsync every file; their lengths and CRCs into *mark. 0, or -1 with err. */
int recorder_mark(Recorder *r, RecorderMark *mark, char *err, size_t n);
/* Close (after a final recorder_mark when the records matter). */
void recorder_close(Recorder *r);

/* days.csv (IMV of each day with and without storage) and hourly.csv (the fleets' net grid
 * energy by hour of day, MWh summed over buses, averaged over the first and the last report
 * windows: the paper's Fig. 5), from the histories lmp_rl, lmp_ns, fleet (T, B). */
int recorder_profiles(const char *dir, const GameConfig *c, int B, const double *lmp_rl, const double *lmp_ns,
                      const double *fleet, char *err, size_t n);

#endif
