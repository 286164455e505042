/* tabular_config.c: the reader of two-player tabular game files (`game: tabular`): sizes,
 * discounts, rewards and transitions checked for shape and meaning, and the `solver:`
 * section (method, softmax temperatures, tolerances, the ppo schedule and SB3 settings).
 *
 * Legend: S states, L leader actions, F follower actions (layouts in game/tabular.h). */
#include "config/tabular_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/gamefile.h"
#include "config/ppo_config.h"
#include "config/yamltree.h"
#include "util/common.h"

static const char *const DIM_NAMES[] = {"state", "leader action", "follower action", "next state"};

/* A discount in [0, 1) at `path`, required. */
static int read_gamma(const YtDoc *d, const YtNode *m, const char *path, const char *label, double *out,
                      char *err, size_t n) {
    const YtNode *x = yt_find(d, m, path);
    if (!x) return yt_error_at(d, m, label, err, n, "missing (a discount in [0, 1))");
    if (yt_node_double(d, x, label, out, err, n)) return -1;
    if (!(*out >= 0 && *out < 1)) return yt_error_at(d, x, label, err, n, "must be in [0, 1), got %g", *out);
    return 0;
}

/* `key: v` for both players or `key: {leader: v, follower: w}`. */
static int read_pair(const YtDoc *d, const YtNode *parent, const char *key, const char *label, double *lead,
                     double *follow, int is_gamma, char *err, size_t n) {
    const YtNode *x = yt_find(d, parent, key);
    if (!x) {
        if (is_gamma) return yt_error_at(d, parent, label, err, n, "missing (a discount in [0, 1), or {leader: g, follower: g})");
        return 0;
    }
    char lab[64];
    if (x->kind == YT_SCALAR) {
        if (is_gamma) {
            if (read_gamma(d, parent, key, label, lead, err, n)) return -1;
        } else if (yt_node_double(d, x, label, lead, err, n)) {
            return -1;
        }
        *follow = *lead;
        return 0;
    }
    if (x->kind != YT_MAP) return yt_error_at(d, x, label, err, n, "expected a number or {leader: ..., follower: ...}");
    snprintf(lab, sizeof lab, "%s.leader", label);
    if (is_gamma) {
        if (read_gamma(d, x, "leader", lab, lead, err, n)) return -1;
        snprintf(lab, sizeof lab, "%s.follower", label);
        return read_gamma(d, x, "follower", lab, follow, err, n);
    }
    const YtNode *v = yt_find(d, x, "leader");
    if (v && yt_node_double(d, v, lab, lead, err, n)) return -1;
    snprintf(lab, sizeof lab, "%s.follower", label);
    v = yt_find(d, x, "follower");
    if (v && yt_node_double(d, v, lab, follow, err, n)) return -1;
    return 0;
}

int tab_ppo_settings_from_yaml(const YtDoc *d, const YtNode *m, TabPpoSettings *p, char *err, size_t n) {
    if (m->kind != YT_MAP) return yt_error_at(d, m, "solver.ppo", err, n, "expected a map such as {rounds: 6}");
    long v;
    int rc;
    static const struct {
        const char *key;
        long lo, hi;
    } ints[] = {{"rounds", 1, 1000000}, {"follower_steps", 1, 1000000000000L}, {"leader_steps", 1, 1000000000000L},
                {"horizon", 1, 1000000000L}, {"n_envs", 1, 1024}, {"seed", 0, 9000000000000000L}};
    for (size_t i = 0; i < SB_ARRAY_LEN(ints); i++) {
        if ((rc = yt_get_int(d, m, ints[i].key, &v, err, n)) < 0) return -1;
        if (!rc) continue;
        if (v < ints[i].lo || v > ints[i].hi) {
            char label[64];
            snprintf(label, sizeof label, "solver.ppo.%s", ints[i].key);
            return yt_error_at(d, yt_find(d, m, ints[i].key), label, err, n, "must be in [%ld, %ld], got %ld",
                               ints[i].lo, ints[i].hi, v);
        }
        switch (i) {
        case 0: p->rounds = (int)v; break;
        case 1: p->follower_steps = v; break;
        case 2: p->leader_steps = v; break;
        case 3: p->horizon = (int)v; break;
        case 4: p->n_envs = (int)v; break;
        default: p->seed = (uint64_t)v; break;
        }
    }
    if (yt_get_bool(d, m, "fresh_leader", &p->fresh_leader, err, n) < 0) return -1;
    if (yt_get_bool(d, m, "fresh_follower", &p->fresh_follower, err, n) < 0) return -1;
    const char *obs;
    if ((rc = yt_get_str(d, m, "follower_obs", &obs, err, n)) < 0) return -1;
    if (rc) {
        if (!strcmp(obs, "pair")) p->follower_pair = 1;
        else if (!strcmp(obs, "concat")) p->follower_pair = 0;
        else
            return yt_error_at(d, yt_find(d, m, "follower_obs"), "solver.ppo.follower_obs", err, n,
                               "expected pair (one-hot(s) ++ one-hot(aL) ++ one-hot(s, aL)) or concat "
                               "(one-hot(s) ++ one-hot(aL)), got \"%s\"", obs);
    }
    static const char *const who[] = {"leader", "follower"};
    for (int k = 0; k < 2; k++) {
        const YtNode *x = yt_find(d, m, who[k]);
        if (!x) continue;
        char label[64];
        snprintf(label, sizeof label, "solver.ppo.%s", who[k]);
        if (x->kind != YT_MAP) return yt_error_at(d, x, label, err, n, "expected a map of PPO hyperparameters");
        const YtNode *gam = yt_find(d, x, "gamma");
        if (gam) {
            snprintf(label, sizeof label, "solver.ppo.%s.gamma", who[k]);
            return yt_error_at(d, gam, label, err, n, "the discount is the game's (top-level gamma), not a PPO setting");
        }
        if (ppo_config_from_yaml(d, x, k ? &p->follower : &p->leader, err, n)) return -1;
    }
    char msg[256];
    if (tab_ppo_settings_validate(p, msg, sizeof msg)) return yt_error_at(d, m, NULL, err, n, "%s", msg);
    return 0;
}

static int read_solver(const YtDoc *d, TabSettings *s, char *err, size_t n) {
    const YtNode *m = yt_find(d, NULL, "solver");
    if (!m) return 0;
    if (m->kind != YT_MAP) return yt_error_at(d, m, "solver", err, n, "expected a map such as {method: exact}");
    const char *method;
    int rc = yt_get_str(d, m, "method", &method, err, n);
    if (rc < 0) return -1;
    if (rc == 1 && tab_method_parse(method, &s->method))
        return yt_error_at(d, yt_find(d, m, "method"), "solver.method", err, n,
                           "unknown method \"%s\" (exact, softmax or ppo)", method);
    if (read_pair(d, m, "alpha", "solver.alpha", &s->alpha_leader, &s->alpha_follower, 0, err, n)) return -1;
    if (yt_get_double(d, m, "tol", &s->tol, err, n) < 0) return -1;
    if (yt_get_int(d, m, "max_iter", &s->max_iter, err, n) < 0) return -1;
    long net = s->net;
    if (yt_get_int(d, m, "net", &net, err, n) < 0) return -1;
    if (net < 0 || net > 1000000) return yt_error_at(d, yt_find(d, m, "net"), "solver.net", err, n, "must be in [0, 1000000], got %ld", net);
    s->net = (int)net;
    const YtNode *ppo = yt_find(d, m, "ppo");
    if (ppo && tab_ppo_settings_from_yaml(d, ppo, &s->ppo, err, n)) return -1;
    const YtNode *alpha = yt_find(d, m, "alpha");
    if (!(s->alpha_leader > 0 && isfinite(s->alpha_leader)) || !(s->alpha_follower > 0 && isfinite(s->alpha_follower)))
        return yt_error_at(d, alpha, "solver.alpha", err, n, "must be finite and > 0, got leader %g, follower %g",
                           s->alpha_leader, s->alpha_follower);
    if (!(s->tol >= 0 && isfinite(s->tol)))
        return yt_error_at(d, yt_find(d, m, "tol"), "solver.tol", err, n, "must be >= 0, got %g", s->tol);
    if (s->max_iter < 1)
        return yt_error_at(d, yt_find(d, m, "max_iter"), "solver.max_iter", err, n, "must be >= 1, got %ld",
                           s->max_iter);
    return 0;
}

static int load_doc(const YtDoc *d, TabGame *g, TabSettings *s, char *err, size_t n) {
    const char *kind;
    int rc = yt_get_str(d, NULL, "game", &kind, err, n);
    if (rc < 0) return -1;
    if (rc == 0) return yt_error_at(d, d->root, "game", err, n, "missing (this command reads `game: tabular`)");
    if (strcmp(kind, "tabular"))
        return yt_error_at(d, yt_find(d, NULL, "game"), "game", err, n, "expected \"tabular\", got \"%s\"", kind);
    int S, L, F;
    if (gf_read_size(d, "states", TAB_MAX_STATES, &S, err, n) || gf_read_size(d, "leader_actions", TAB_MAX_ACTIONS, &L, err, n) ||
        gf_read_size(d, "follower_actions", TAB_MAX_ACTIONS, &F, err, n))
        return -1;
    if ((double)S * L * F * S > TAB_MAX_TRANSITIONS)
        return yt_error_at(d, yt_find(d, NULL, "states"), "states", err, n,
                           "the transition tensor would hold %.0f entries, more than %d", (double)S * L * F * S,
                           TAB_MAX_TRANSITIONS);
    tab_game_init(g, S, L, F);
    if (read_pair(d, NULL, "gamma", "gamma", &g->gamma_leader, &g->gamma_follower, 1, err, n)) goto fail;

    int dims[4] = {S, L, F, S};
    char label[128];
    const YtNode *rew = yt_find(d, NULL, "reward");
    if (!rew) {
        yt_error_at(d, d->root, "reward", err, n, "missing ({leader: [...], follower: [...]} indexed [s][aL][aF])");
        goto fail;
    }
    if (rew->kind != YT_MAP) {
        yt_error_at(d, rew, "reward", err, n, "expected a map {leader: [...], follower: [...]}");
        goto fail;
    }
    static const char *const who[] = {"leader", "follower"};
    for (int k = 0; k < 2; k++) {
        double *out = k ? g->r_follower : g->r_leader;
        snprintf(label, sizeof label, "reward.%s", who[k]);
        const YtNode *x = yt_find(d, rew, who[k]);
        if (!x) {
            yt_error_at(d, rew, label, err, n, "missing (nested lists indexed [s][aL][aF])");
            goto fail;
        }
        if (gf_read_tensor(d, x, label, sizeof label, dims, DIM_NAMES, 3, out, err, n)) goto fail;
    }
    const YtNode *tr = yt_find(d, NULL, "transition");
    if (!tr) {
        yt_error_at(d, d->root, "transition", err, n, "missing (nested lists indexed [s][aL][aF][s'])");
        goto fail;
    }
    snprintf(label, sizeof label, "transition");
    if (gf_read_tensor(d, tr, label, sizeof label, dims, DIM_NAMES, 4, g->trans, err, n)) goto fail;
    if (gf_check_rows(d, tr, "transition", g->S, g->L, g->F, g->trans, err, n)) goto fail;
    if (read_solver(d, s, err, n)) goto fail;
    if (yt_check_unused(d, NULL, err, n)) goto fail;
    return 0;
fail:
    tab_game_free(g);
    return -1;
}

int tab_load_file(const char *path, TabGame *g, TabSettings *s, char *err, size_t errlen) {
    YtDoc d;
    if (yt_load_file(&d, path, err, errlen)) return -1;
    tab_settings_default(s);
    int rc = load_doc(&d, g, s, err, errlen);
    yt_free(&d);
    return rc;
}

int tab_load_string(const char *name, const char *text, TabGame *g, TabSettings *s, char *err,
                    size_t errlen) {
    YtDoc d;
    if (yt_load_string(&d, name, text, err, errlen)) return -1;
    tab_settings_default(s);
    int rc = load_doc(&d, g, s, err, errlen);
    yt_free(&d);
    return rc;
}

