/* sweep_config.h: a sweep file: a base tariff-game config and axes of --set values; every
 * combination of one value per axis is a variant (configs/sweeps/ has an example).
 *
 *   base: ../paper.yaml            # the config every variant starts from (relative to this file)
 *   set:                           # overrides for every variant, as --set KEY=VALUE (optional)
 *     days: 6
 *     seeds: 2
 *   axes:                          # dotted config keys, each with a list of values
 *     utility.surplus_penalty: [0, 10]
 *     utility.alpha_bounds: [[0, 0.01], [0, 0.02]]
 *
 * Variant v takes value (v / prod of the later axes' sizes) % size of each axis: the last axis
 * changes fastest. Its config is the base file's text with the `set` overrides and then its
 * axes' values applied, each as `--set KEY=VALUE` with VALUE in YAML flow text.
 *
 * sweep_config_check builds every variant's config before anything runs and reports a bad one
 * at the sweep file's line and column: an override that the base config refuses at that
 * override, an axis whose every value is refused (an unknown key) at the axis's key, one value
 * refused at that value, a combination refused (a cross-key check) at `axes`. */
#ifndef SB_SWEEP_CONFIG_H
#define SB_SWEEP_CONFIG_H

#include <stddef.h>

#include "config/game_config.h"

typedef struct {
    char *key;          /* dotted config key */
    char **values;      /* (n) values as YAML flow text, e.g. "[0, 0.01]" */
    CfgPos *value_pos;  /* (n) */
    int n;
    CfgPos key_pos;
} SweepAxis;

typedef struct {
    char source[GAME_PATH_MAX];   /* the sweep file, as named */
    char *text;                   /* its text */
    char base_path[GAME_PATH_MAX];/* the base config, absolute (named relative to the sweep file) */
    char *base_text;
    CfgPos base_pos;
    char **sets;                  /* (n_sets) "KEY=VALUE" for every variant */
    CfgPos *set_pos;              /* (n_sets) */
    int n_sets;
    SweepAxis *axes;              /* (n_axes) in file order */
    int n_axes;
    CfgPos axes_pos;
    long n_variants;              /* the product of the axes' sizes */
} SweepConfig;

/* Read a sweep file and its base config's text. 0, or -1 with "file:line:col: key: what is
 * wrong" (a missing or unreadable base: at `base`). sweep_config_free is safe after a failure. */
int sweep_config_load(SweepConfig *s, const char *path, char *err, size_t n);
void sweep_config_free(SweepConfig *s);

/* Variant v's overrides, in the order applied: the `set` ones, then one per axis, as a
 * NULL-terminated array of (n_sets + n_axes) strings; free it with sweep_sets_free. */
char **sweep_variant_sets(const SweepConfig *s, long v);
void sweep_sets_free(char **sets);
/* Variant v's value index on each axis (n_axes). */
void sweep_variant_index(const SweepConfig *s, long v, int *idx);
/* Variant v's config (as train would build it from the base file and those overrides). 0, or
 * -1 with the config reader's message. The caller frees cfg (also after a failure). */
int sweep_variant_config(const SweepConfig *s, long v, GameConfig *cfg, char *err, size_t n);
/* Every override, axis value and variant builds a config; otherwise -1 with the message at
 * the sweep file's position as described above. */
int sweep_config_check(const SweepConfig *s, char *err, size_t n);
/* "file:line:col: " of a position in the sweep file. */
void sweep_config_where(const SweepConfig *s, CfgPos pos, char *out, size_t cap);

#endif
