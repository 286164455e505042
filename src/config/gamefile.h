/* gamefile.h: what the readers of tabular game files share (configs/games/): the `game:` key
 * that says which reader a file needs, sizes, nested lists of numbers checked for shape at
 * every level, and transition rows checked to be distributions, each error reported as
 * `file:line:col: key: what is wrong`.
 *
 * Legend: S states, L leader actions, F follower actions. */
#ifndef SB_GAMEFILE_H
#define SB_GAMEFILE_H

#include <stddef.h>

#include "config/yamltree.h"

/* Tolerance on each transition row's sum, shared by every game file. */
#define GF_ROW_TOL 1e-9

/* The top-level `game:` key of a file ("tabular" or "mean_field"), copied into kind (cap
 * bytes). Returns 0, or -1 with `file:line:col: ...` in err (unreadable file, bad YAML, no
 * `game:` key or another value). */
int gf_file_kind(const char *path, char *kind, size_t cap, char *err, size_t n);

/* A required integer size `key` at the root, in [1, hi]. */
int gf_read_size(const YtDoc *d, const char *key, int hi, int *out, char *err, size_t n);

/* Read node x, a nested list of numbers of shape dims (ndim levels, names[k] says what level k
 * indexes), into out (row-major). `label` is the key path so far (e.g. "reward.leader"),
 * extended in place while descending and restored on success; labcap its capacity. Every
 * entry must be finite. */
int gf_read_tensor(const YtDoc *d, const YtNode *x, char *label, size_t labcap, const int *dims,
                   const char *const *names, int ndim, double *out, char *err, size_t n);

/* The rows of a transition tensor x read by gf_read_tensor into p (S, L, F, S) (`key`
 * names it): entries >= 0 and sums within GF_ROW_TOL of 1, reported at the entry or row. */
int gf_check_rows(const YtDoc *d, const YtNode *x, const char *key, int S, int L, int F, const double *p,
                  char *err, size_t n);

#endif
