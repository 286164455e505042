/* meanfield_config.c: the reader of mean-field game files (format in meanfield_config.h).
 *
 * Legend: S states, L leader actions, F follower actions (layouts in game/meanfield.h). */
#include "config/meanfield_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/gamefile.h"
#include "config/tabular_config.h"
#include "config/yamltree.h"
#include "util/common.h"

/* A bound of a setting's range: its value and whether it is excluded. */
typedef struct {
    double v;
    int open;
} Bound;

/* An optional number at the dotted path `key` (from the root) in the range lo..hi. */
static int opt_double(const YtDoc *d, const char *key, Bound lo, Bound hi, double *out, char *err, size_t n) {
    double v;
    int rc = yt_get_double(d, NULL, key, &v, err, n);
    if (rc <= 0) return rc;
    int ok = isfinite(v) && (lo.open ? v > lo.v : v >= lo.v) && (hi.open ? v < hi.v : v <= hi.v);
    if (!ok) {
        char range[96];
        if (isinf(hi.v)) snprintf(range, sizeof range, "%s %g", lo.open ? ">" : ">=", lo.v);
        else snprintf(range, sizeof range, "in %s%g, %g%s", lo.open ? "(" : "[", lo.v, hi.v, hi.open ? ")" : "]");
        return yt_error_at(d, yt_find(d, NULL, key), key, err, n, "must be %s, got %g", range, v);
    }
    *out = v;
    return 1;
}

/* An optional integer at `key` in [lo, hi]. */
static int opt_long(const YtDoc *d, const char *key, long lo, long hi, long *out, char *err, size_t n) {
    long v;
    int rc = yt_get_int(d, NULL, key, &v, err, n);
    if (rc <= 0) return rc;
    if (v < lo || v > hi)
        return yt_error_at(d, yt_find(d, NULL, key), key, err, n, "must be in [%ld, %ld], got %ld", lo, hi, v);
    *out = v;
    return 1;
}

static const Bound ZERO = {0, 0}, ZERO_OPEN = {0, 1}, ONE = {1, 0}, INF = {INFINITY, 1};

/* A map at `key` if present (error if it is not a map). */
static int opt_map(const YtDoc *d, const char *key, const char *example, const YtNode **out, char *err, size_t n) {
    *out = yt_find(d, NULL, key);
    if (*out && (*out)->kind != YT_MAP) return yt_error_at(d, *out, key, err, n, "expected a map such as %s", example);
    return 0;
}

static int read_ppo(const YtDoc *d, MfgPpoSettings *p, char *err, size_t n) {
    const YtNode *m;
    if (opt_map(d, "solver.ppo", "{rounds: 6}", &m, err, n)) return -1;
    if (!m) return 0;
    /* Keys the mean-field schedule sets itself: refused, not silently overridden. */
    static const struct {
        const char *key, *why;
    } refused[] = {{"solver.ppo.seed", "the seed of every sample-based method is solver.seed"},
                   {"solver.ppo.follower.ent_coef", "the follower's entropy weight is the game's `entropy`"},
                   {"solver.ppo.leader.ent_coef", "the leader's entropy weight is 1/solver.alpha"}};
    for (size_t i = 0; i < SB_ARRAY_LEN(refused); i++) {
        const YtNode *x = yt_find(d, NULL, refused[i].key);
        if (x) return yt_error_at(d, x, refused[i].key, err, n, "%s", refused[i].why);
    }
    if (opt_long(d, "solver.ppo.mean_field_steps", 1, 1000000000000L, &p->mean_field_steps, err, n) < 0 ||
        opt_double(d, "solver.ppo.damping", ZERO_OPEN, ONE, &p->damping, err, n) < 0)
        return -1;
    return tab_ppo_settings_from_yaml(d, m, &p->base, err, n);
}

static int read_solver(const YtDoc *d, int L, MfgSettings *s, char *err, size_t n) {
    const YtNode *m;
    if (opt_map(d, "solver", "{method: exact}", &m, err, n)) return -1;
    if (!m) return 0;
    const char *str;
    int rc = yt_get_str(d, NULL, "solver.method", &str, err, n);
    if (rc < 0) return -1;
    if (rc == 1 && mfg_method_parse(str, &s->method))
        return yt_error_at(d, yt_find(d, NULL, "solver.method"), "solver.method", err, n,
                           "unknown method \"%s\" (mfe, exact, nested, ac_smfg or ppo)", str);
    long v;
    if ((rc = opt_long(d, "solver.seed", 0, 9000000000000000L, &v, err, n)) < 0) return -1;
    if (rc) s->seed = (uint64_t)v;
    const YtNode *lp = yt_find(d, NULL, "solver.leader_policy");
    if (lp) {
        char label[64] = "solver.leader_policy";
        static const char *const names[] = {"leader action"};
        if (gf_read_tensor(d, lp, label, sizeof label, &L, names, 1, s->leader_policy, err, n)) return -1;
        for (int a = 0; a < L; a++)
            if (s->leader_policy[a] < 0) {
                snprintf(label, sizeof label, "solver.leader_policy[%d]", a);
                return yt_error_at(d, lp->items[a], label, err, n,
                                   "a probability must be >= 0, got %g (the policy must lie on the simplex)",
                                   s->leader_policy[a]);
            }
        double sum = 0;
        for (int a = 0; a < L; a++) sum += s->leader_policy[a];
        if (fabs(sum - 1) > MFG_SIMPLEX_TOL)
            return yt_error_at(d, lp, "solver.leader_policy", err, n,
                               "probabilities sum to %.12g, must sum to 1 within %g (the policy must lie on the simplex)",
                               sum, MFG_SIMPLEX_TOL);
        s->has_leader_policy = 1;
    }
    if (opt_double(d, "solver.alpha", ZERO_OPEN, INF, &s->alpha, err, n) < 0) return -1;
    if (opt_long(d, "solver.history_every", 0, 1000000000000L, &s->history_every, err, n) < 0) return -1;
    const YtNode *x;
    if (opt_map(d, "solver.mfe", "{tol: 1e-10}", &x, err, n) || opt_map(d, "solver.exact", "{starts: 4}", &x, err, n) ||
        opt_map(d, "solver.nested", "{inner: exact}", &x, err, n) ||
        opt_map(d, "solver.ac_smfg", "{iterations: 400000}", &x, err, n))
        return -1;
    long starts = s->exact.starts, inner_steps = s->nested.inner_steps;
    if (opt_double(d, "solver.mfe.tol", ZERO, INF, &s->mfe.tol, err, n) < 0 ||
        opt_long(d, "solver.mfe.max_iter", 1, 1000000000L, &s->mfe.max_iter, err, n) < 0 ||
        opt_double(d, "solver.mfe.damping", ZERO_OPEN, ONE, &s->mfe.damping, err, n) < 0 ||
        opt_long(d, "solver.exact.grid_points", 1, 100000000L, &s->exact.grid_points, err, n) < 0 ||
        opt_long(d, "solver.exact.starts", 1, 1000, &starts, err, n) < 0 ||
        opt_double(d, "solver.exact.tol", ZERO_OPEN, ONE, &s->exact.tol, err, n) < 0 ||
        opt_double(d, "solver.nested.tol", ZERO, INF, &s->nested.tol, err, n) < 0 ||
        opt_long(d, "solver.nested.max_iter", 1, 1000000000L, &s->nested.max_iter, err, n) < 0 ||
        opt_double(d, "solver.nested.damping", ZERO_OPEN, ONE, &s->nested.damping, err, n) < 0 ||
        opt_long(d, "solver.nested.inner_steps", 1, 1000000000000L, &inner_steps, err, n) < 0 ||
        opt_long(d, "solver.ac_smfg.iterations", 1, 1000000000000L, &s->ac.iterations, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.power", ZERO, ONE, &s->ac.power, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.leader_step", ZERO_OPEN, INF, &s->ac.leader_step, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.follower_step", ZERO_OPEN, INF, &s->ac.follower_step, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.critic_step", ZERO_OPEN, ONE, &s->ac.critic_step, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.mean_field_step", ZERO_OPEN, ONE, &s->ac.mean_field_step, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.leader_entropy", ZERO, INF, &s->ac.leader_entropy, err, n) < 0 ||
        opt_double(d, "solver.ac_smfg.tol", ZERO, INF, &s->ac.tol, err, n) < 0)
        return -1;
    s->exact.starts = (int)starts;
    s->nested.inner_steps = inner_steps;
    if ((rc = yt_get_str(d, NULL, "solver.nested.inner", &str, err, n)) < 0) return -1;
    if (rc) {
        if (!strcmp(str, "exact")) s->nested.inner = MFG_INNER_EXACT;
        else if (!strcmp(str, "samples")) s->nested.inner = MFG_INNER_SAMPLES;
        else
            return yt_error_at(d, yt_find(d, NULL, "solver.nested.inner"), "solver.nested.inner", err, n,
                               "expected exact (the MFE solved) or samples (learned), got \"%s\"", str);
    }
    if (read_ppo(d, &s->ppo, err, n)) return -1;
    char msg[256];
    if (mfg_settings_validate(s, msg, sizeof msg)) return yt_error_at(d, m, NULL, err, n, "%s", msg);
    return 0;
}

/* reward.<who>: {base: ..., mean_field: ...}; base required, mean_field optional (zero). */
static int read_reward(const YtDoc *d, const YtNode *rew, const char *who, const int *dims_base, int nb,
                       const char *const *names_base, const int *dims_mf, int nm, const char *const *names_mf,
                       double *base, double *mf, char *err, size_t n) {
    char label[160];
    snprintf(label, sizeof label, "reward.%s", who);
    const YtNode *x = yt_find(d, rew, who);
    if (!x) return yt_error_at(d, rew, label, err, n, "missing ({base: [...], mean_field: [...]})");
    if (x->kind != YT_MAP) return yt_error_at(d, x, label, err, n, "expected a map {base: [...], mean_field: [...]}");
    const YtNode *b = yt_find(d, x, "base");
    snprintf(label, sizeof label, "reward.%s.base", who);
    if (!b) return yt_error_at(d, x, label, err, n, "missing (nested lists of %d levels)", nb);
    if (gf_read_tensor(d, b, label, sizeof label, dims_base, names_base, nb, base, err, n)) return -1;
    const YtNode *c = yt_find(d, x, "mean_field");
    snprintf(label, sizeof label, "reward.%s.mean_field", who);
    if (c && gf_read_tensor(d, c, label, sizeof label, dims_mf, names_mf, nm, mf, err, n)) return -1;
    return 0;
}

static int load_doc(const YtDoc *d, MfgGame *g, MfgSettings *s, char *err, size_t n) {
    const char *kind;
    int rc = yt_get_str(d, NULL, "game", &kind, err, n);
    if (rc < 0) return -1;
    if (rc == 0) return yt_error_at(d, d->root, "game", err, n, "missing (this reader reads `game: mean_field`)");
    if (strcmp(kind, "mean_field"))
        return yt_error_at(d, yt_find(d, NULL, "game"), "game", err, n, "expected \"mean_field\", got \"%s\"", kind);
    int S, L, F;
    if (gf_read_size(d, "states", MFG_MAX_STATES, &S, err, n) ||
        gf_read_size(d, "leader_actions", MFG_MAX_ACTIONS, &L, err, n) ||
        gf_read_size(d, "follower_actions", MFG_MAX_ACTIONS, &F, err, n))
        return -1;
    if ((double)S * L * F * S * F > MFG_MAX_COUPLING)
        return yt_error_at(d, yt_find(d, NULL, "states"), "states", err, n,
                           "the followers' mean-field tensor would hold %.0f entries, more than %d",
                           (double)S * L * F * S * F, MFG_MAX_COUPLING);
    mfg_game_init(g, S, L, F);
    const YtNode *x = yt_find(d, NULL, "gamma");
    if (!x) {
        yt_error_at(d, d->root, "gamma", err, n, "missing (the followers' discount, in [0, 1))");
        goto fail;
    }
    if (yt_node_double(d, x, "gamma", &g->gamma, err, n)) goto fail;
    if (!(g->gamma >= 0 && g->gamma < 1)) {
        yt_error_at(d, x, "gamma", err, n, "must be in [0, 1), got %g", g->gamma);
        goto fail;
    }
    x = yt_find(d, NULL, "entropy");
    if (!x) {
        yt_error_at(d, d->root, "entropy", err, n, "missing (the followers' entropy weight, > 0)");
        goto fail;
    }
    if (yt_node_double(d, x, "entropy", &g->tau, err, n)) goto fail;
    if (!(g->tau > 0) || !isfinite(g->tau)) {
        yt_error_at(d, x, "entropy", err, n,
                    "must be finite and > 0, got %g (the followers' soft best response needs a positive weight)",
                    g->tau);
        goto fail;
    }
    const YtNode *rew = yt_find(d, NULL, "reward");
    if (!rew) {
        yt_error_at(d, d->root, "reward", err, n, "missing ({follower: {...}, leader: {...}})");
        goto fail;
    }
    if (rew->kind != YT_MAP) {
        yt_error_at(d, rew, "reward", err, n, "expected a map {follower: {...}, leader: {...}}");
        goto fail;
    }
    {
        static const char *const nf[] = {"state", "leader action", "follower action", "state", "follower action"};
        static const char *const nl[] = {"leader action", "state", "follower action"};
        int df[5] = {S, L, F, S, F}, dl[3] = {L, S, F};
        if (read_reward(d, rew, "follower", df, 3, nf, df, 5, nf, g->base_f, g->coup_f, err, n) ||
            read_reward(d, rew, "leader", dl, 1, nl, dl, 3, nl, g->base_l, g->coup_l, err, n))
            goto fail;
    }
    const YtNode *tr = yt_find(d, NULL, "transition");
    if (!tr) {
        yt_error_at(d, d->root, "transition", err, n, "missing (nested lists indexed [s][aL][aF][s'])");
        goto fail;
    }
    {
        static const char *const nt[] = {"state", "leader action", "follower action", "next state"};
        int dt[4] = {S, L, F, S};
        char label[128] = "transition";
        if (gf_read_tensor(d, tr, label, sizeof label, dt, nt, 4, g->trans, err, n) ||
            gf_check_rows(d, tr, "transition", S, L, F, g->trans, err, n))
            goto fail;
    }
    if (read_solver(d, L, s, err, n)) goto fail;
    if (yt_check_unused(d, NULL, err, n)) goto fail;
    return 0;
fail:
    mfg_game_free(g);
    return -1;
}

int mfg_load_file(const char *path, MfgGame *g, MfgSettings *s, char *err, size_t errlen) {
    return mfg_load_file_set(path, NULL, 0, g, s, err, errlen);
}

int mfg_load_file_set(const char *path, const char *const *sets, int n_sets, MfgGame *g, MfgSettings *s, char *err,
                      size_t errlen) {
    YtDoc d;
    if (yt_load_file(&d, path, err, errlen)) return -1;
    int rc = 0;
    for (int i = 0; i < n_sets && !rc; i++) rc = yt_set(&d, sets[i], err, errlen);
    if (!rc) {
        mfg_settings_default(s);
        rc = load_doc(&d, g, s, err, errlen);
    }
    yt_free(&d);
    return rc;
}

int mfg_load_string(const char *name, const char *text, MfgGame *g, MfgSettings *s, char *err, size_t errlen) {
    YtDoc d;
    if (yt_load_string(&d, name, text, err, errlen)) return -1;
    mfg_settings_default(s);
    int rc = load_doc(&d, g, s, err, errlen);
    yt_free(&d);
    return rc;
}
