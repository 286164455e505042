/* describe.h: what the tariff game's agents observe and play, in the words and numbers of
 * meta.json (the generic description is io/pspec.h; this fills it for the game).
 *
 * Legend: B household buses, S steps per day, K action levels. */
#ifndef SB_GAME_DESCRIBE_H
#define SB_GAME_DESCRIBE_H

#include "game/game.h"
#include "io/pspec.h"
#include "rl/ppo.h"
#include "util/json.h"

/* Fill s's "observations" and "play" for agent b of game g (b < 0: the utility; otherwise
 * the aggregator of household bus b), s already holding the agent's networks (ppo_pspec),
 * every constant taken from g and its config. pspec_free(s) releases it. */
void game_describe(const GameShared *g, int b, Pspec *s);

/* The whole description of agent b (its networks from p, then game_describe) written into
 * j under the writer's current array: what the checkpoint writer calls once per agent. */
void game_describe_emit(Json *j, const GameShared *g, const Ppo *p, const char *name, int b);

#endif
