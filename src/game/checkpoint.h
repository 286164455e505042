/* checkpoint.h: what a runner may ask of a seed's checkpoint without building the game
 * (checkpoint.c; the writing and the full restore are the game's own, game_internal.h).
 * Before any seed process starts, the runner checks every checkpoint it will continue, so
 * a foreign or damaged one is refused before anything is written. */
#ifndef SB_GAME_CHECKPOINT_H
#define SB_GAME_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "config/game_config.h"
#include "game/recorder.h"
#include "game/world.h"

/* The fingerprint a checkpoint records: the resolved config (its JSON record) hashed with
 * the world (game_world_fingerprint). Two runs continue each other only if theirs agree. */
uint64_t game_fingerprint(const GameConfig *c, const GameWorld *w);

typedef struct {
    int finished;       /* the seed had ended */
    long step;          /* real steps done */
    RecorderMark mark;  /* its records' lengths and CRCs */
} GameCheckpointInfo;

/* Read path's meta and marks: our format and version, a game, seed `seed`, the fingerprint
 * of (c, w). 0, or -2 with err ("PATH: what is wrong"). */
int game_checkpoint_check(const char *path, const GameConfig *c, const GameWorld *w, long seed,
                          GameCheckpointInfo *info, char *err, size_t n);

#endif
