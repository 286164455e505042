/* yamltree.h: a YAML document as a tree with source positions, and typed getters
 * that report errors as `file:line:col: key: what is wrong`.
 *
 * This is the only module that sees libyaml. Every config parser (PPO, grid, game,
 * tabular) walks a YtDoc, asks for typed values, and finally calls yt_check_unused
 * so that a misspelt key is an error rather than a silently ignored default.
 * Keys are addressed by dotted paths relative to a map node ("ppo.learning_rate"). */
#ifndef SB_YAMLTREE_H
#define SB_YAMLTREE_H

#include <stddef.h>

typedef enum { YT_SCALAR, YT_SEQ, YT_MAP } YtKind;

/* Nesting deeper than this is refused (the tree is built recursively; configs need ~5). */
#define YT_MAX_DEPTH 64

typedef struct YtNode {
    YtKind kind;
    int line, col;          /* 1-based position of the node's first character */
    int set;                /* 0: from the file; k > 0: from the k-th yt_set (doc->sets[k - 1]) */
    int in_seq;             /* inside a sequence (list items are not config keys) */
    char *str;              /* YT_SCALAR: the text; NULL otherwise */
    int quoted;             /* YT_SCALAR: written with quotes (a string, never a number) */
    size_t n;               /* YT_SEQ: items; YT_MAP: pairs */
    struct YtNode **items;  /* (n) values */
    char **keys;            /* YT_MAP: (n) keys */
    int *key_line, *key_col;/* YT_MAP: (n) positions of the keys */
    unsigned char *used;    /* YT_MAP: (n) set when a getter read the key */
} YtNode;

typedef struct YtAsked YtAsked;

typedef struct {
    char *file;             /* name used in messages */
    YtNode *root;           /* a YT_MAP for every config we accept */
    char **sets;            /* (n_sets) the yt_set assignments applied, as given */
    int n_sets;
    YtAsked *asked;         /* keys looked up and absent: the known keys behind "did you mean" */
} YtDoc;

/* Parse a file. Returns 0, or -1 with "file:line:col: what is wrong" in err. */
int yt_load_file(YtDoc *doc, const char *path, char *err, size_t errlen);
/* Parse a string; `name` stands for the file in messages. */
int yt_load_string(YtDoc *doc, const char *name, const char *text, char *err, size_t errlen);
void yt_free(YtDoc *doc);

/* Apply a command-line override "a.b.c=value": the value is parsed as YAML (so
 * "[1, 2]" is a list) and replaces or inserts the key. Errors about the new nodes name
 * the override instead of a file position: "--set a.b.c=value: a.b.c: what is wrong". */
int yt_set(YtDoc *doc, const char *assignment, char *err, size_t errlen);

/* Look up a dotted path below map `m` (NULL: the root); marks keys as used.
 * Returns NULL when absent (and remembers the path as a known key for yt_check_unused's
 * suggestions). */
const YtNode *yt_find(const YtDoc *doc, const YtNode *m, const char *path);

/* Typed getters. Each returns 1 if the key was found and converted, 0 if absent
 * (out untouched: the caller's default stands), -1 on error with the message in err. */
int yt_get_double(const YtDoc *d, const YtNode *m, const char *path, double *out, char *err, size_t n);
int yt_get_int(const YtDoc *d, const YtNode *m, const char *path, long *out, char *err, size_t n);
int yt_get_bool(const YtDoc *d, const YtNode *m, const char *path, int *out, char *err, size_t n);
/* The string stays owned by the document. */
int yt_get_str(const YtDoc *d, const YtNode *m, const char *path, const char **out, char *err, size_t n);
/* A sequence of numbers (flow or block); *count receives its length; at most cap. */
int yt_get_double_list(const YtDoc *d, const YtNode *m, const char *path, double *out, size_t cap,
                       size_t *count, char *err, size_t n);
int yt_get_int_list(const YtDoc *d, const YtNode *m, const char *path, long *out, size_t cap,
                    size_t *count, char *err, size_t n);

/* Conversions of a node already in hand (for nested lists). Return 0 or -1 with err;
 * `what` names the value in the message. Numbers: an underflow (1e-400) is the nearest
 * double (0 or subnormal), an overflow (1e400) is an error; .inf reads as infinity. */
int yt_node_double(const YtDoc *d, const YtNode *node, const char *what, double *out, char *err, size_t n);
int yt_node_int(const YtDoc *d, const YtNode *node, const char *what, long *out, char *err, size_t n);

/* Range checks written once: "file:line:col: key: must be in [lo, hi], got v". */
int yt_check_range(const YtDoc *d, const YtNode *m, const char *path, double v, double lo, double hi,
                   char *err, size_t n);

/* Report "file:line:col: key: msg" for the node at path (or the map itself). */
int yt_error_at(const YtDoc *d, const YtNode *node, const char *key, char *err, size_t n,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* First key below `m` (recursively through maps) that no getter read: an error
 * "file:line:col: key: unknown key (did you mean a.b?)" with the nearest key the readers
 * asked for (Levenshtein distance over dotted paths), or "--set k=v: ..." for an override. */
int yt_check_unused(const YtDoc *d, const YtNode *m, char *err, size_t n);

#endif
