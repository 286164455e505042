/* game.c: the Stackelberg tariff game for one seed: setup, the single-loop schedule, the
 * nested schedule (Algorithm 1), the per-step and per-period records and the summary. */
#include "game/game.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gridyaml.h"
#include "grid/matpower.h"
#include "nn/blas.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "io/npz.h"
#include "io/pspec.h"
#include "rl/single.h"
#include <unistd.h>

/* Where the nested schedule stands (checkpointed as bytes). */
typedef struct {
    int mf_iter;                     /* inner (mean-field) iterations done in this leader iteration */
    int leader_done;                 /* the leader's tariff moved by <= tol: it stops learning */
    int have_prev;
    int day_start;                   /* first day of the current leader iteration */
    float prev_act[HH_MAX_BUS + 3];  /* the last tariff as an action in [-1, 1] */
    double last_mf_change;           /* L1 change of the beliefs in the last inner iteration */
} NestedState;

/* Everything one seed owns. */
typedef struct {
    const GameConfig *c;
    GameShared g;
    GridNetwork net;
    DispatchSolver *ds_rl, *ds_ns;  /* the real market with and without storage */
    double *load, *load_ns, *pmin, *pmax; /* (N), (N), (G), (G) */
    int N, G;

    /* agents and their training environments */
    Ppo *agg[HH_MAX_BUS];
    EnvClass agg_cls;
    AggEnv agg_env[HH_MAX_BUS];
    void *agg_envp[HH_MAX_BUS];
    VecEnv agg_vec[HH_MAX_BUS];
    Ppo *lead;
    EnvClass lead_cls;
    LeadEnv lead_env;
    void *lead_envp;
    DispatchSolver *lead_ds;         /* the leader env's buffers, kept here because a restore */
    double *lead_load, *lead_pmin, *lead_pmax; /* overwrites the env's bytes */
    VecEnv lead_vec;
    int learn_followers, learn_leader;

    Rng market_rng;                  /* household and solar noise of the real market */
    Rng play_rng;                    /* sampling when play: sample */
    float probs[1024];
    unsigned char mask[1024];

    /* records */
    long T;                          /* real steps */
    double *lmp_rl, *lmp_ns;         /* (T, B) */
    double *fleet;                   /* (T, B) fleet grid energy, kWh */
    MarketLedger period, window, window_base; /* current period; report window (learned, baseline) */
    long slack_steps;
    FILE *steps_csv, *periods_csv;
    double follower_s, leader_s, dispatch_s;
    long train_env_steps;
    double wall_before;              /* wall seconds of earlier sessions (resumed runs) */
    NestedState nested;              /* schedule: nested */
} Game;

static GameTraceFn trace_fn;
static void *trace_user;
void game_set_trace(GameTraceFn fn, void *user) {
    trace_fn = fn;
    trace_user = user;
}
#define TRACE(phase, t, who)                                   \
    do {                                                       \
        if (trace_fn) trace_fn(phase, (long)(t), who, trace_user); \
    } while (0)

static int load_grid(GridNetwork *g, const char *path, char *err, size_t n) {
    size_t k = strlen(path);
    if (k > 2 && !strcmp(path + k - 2, ".m")) return grid_read_matpower(g, path, err, n);
    return grid_read_yaml(g, path, err, n);
}

static int setup_grid(Game *gm, char *err, size_t n) {
    const GameConfig *c = gm->c;
    if (load_grid(&gm->net, c->grid, err, n)) return -1;
    GameShared *g = &gm->g;
    for (int b = 0; b < g->B; b++) {
        g->grid_bus[b] = grid_bus_index(&gm->net, c->hh.bus_id[b]);
        if (g->grid_bus[b] < 0)
            return sb_err(err, n, "households.%s.bus: bus %d is not in %s", c->bus_name[b], c->hh.bus_id[b],
                          c->grid);
    }
    for (int u = 0; u < c->hh.n_solar; u++) {
        g->solar_gen[u] = -1;
        for (int k = 0; k < gm->net.n_gen; k++)
            if (gm->net.gen_name[k] && !strcmp(gm->net.gen_name[k], c->solar_gen[u])) g->solar_gen[u] = k;
        if (g->solar_gen[u] < 0)
            return sb_err(err, n, "solar.generators: no generator named \"%s\" in %s", c->solar_gen[u], c->grid);
    }
    DispatchSettings ds;
    dispatch_settings_default(&ds);
    ds.voll = c->voll;
    if (dispatch_setup(&gm->ds_rl, &gm->net, &ds, err, n) || dispatch_setup(&gm->ds_ns, &gm->net, &ds, err, n) ||
        dispatch_setup(&gm->lead_env.ds, &gm->net, &ds, err, n))
        return -1;
    gm->N = gm->net.n_bus;
    gm->G = gm->net.n_gen;
    gm->load = sb_calloc((size_t)gm->N, sizeof(double));
    gm->load_ns = sb_calloc((size_t)gm->N, sizeof(double));
    gm->pmin = sb_calloc((size_t)gm->G, sizeof(double));
    gm->pmax = sb_calloc((size_t)gm->G, sizeof(double));
    memcpy(gm->pmin, gm->net.pmin, (size_t)gm->G * sizeof(double));
    memcpy(gm->pmax, gm->net.pmax, (size_t)gm->G * sizeof(double));
    gm->lead_env.load = sb_calloc((size_t)gm->N, sizeof(double));
    gm->lead_env.pmin = sb_calloc((size_t)gm->G, sizeof(double));
    gm->lead_env.pmax = sb_calloc((size_t)gm->G, sizeof(double));
    memcpy(gm->lead_env.pmin, gm->pmin, (size_t)gm->G * sizeof(double));
    memcpy(gm->lead_env.pmax, gm->pmax, (size_t)gm->G * sizeof(double));
    gm->lead_ds = gm->lead_env.ds;
    gm->lead_load = gm->lead_env.load;
    gm->lead_pmin = gm->lead_env.pmin;
    gm->lead_pmax = gm->lead_env.pmax;
    return 0;
}

/* Clear one market step on solver ds: bus loads from the groups' energies, solar bounds.
 * Returns the dispatch result; counts slack use. */
static const DispatchResult *clear(Game *gm, DispatchSolver *ds, double *load, const HhStep *hs,
                                   const double *fleet_kwh, int *slack) {
    const GameConfig *c = gm->c;
    hh_bus_load_mwh(&c->hh, gm->g.grid_bus, hs->consumer_kwh, fleet_kwh, load, gm->N);
    for (int u = 0; u < c->hh.n_solar; u++) gm->pmax[gm->g.solar_gen[u]] = hs->solar_mwh[u];
    double t0 = sb_now();
    /* Every real solve starts cold: then a checkpoint between steps resumes bit for bit (a
     * warm start may round differently), and paper3 solves in microseconds either way. */
    dispatch_reset(ds);
    dispatch_update_load(ds, load);
    dispatch_update_gen_bounds(ds, gm->pmin, gm->pmax);
    dispatch_solve(ds);
    gm->dispatch_s += sb_now() - t0;
    const DispatchResult *r = dispatch_result(ds);
    if (slack) {
        *slack = 0;
        for (int k = 0; k < gm->N; k++)
            if (r->unserved[k] > 1e-9 || r->spilled[k] > 1e-9) *slack = 1;
    }
    return r;
}

/* Initial beliefs: a dispatch without batteries on the mean shapes, hour by hour (SPEC 4);
 * then their normalisation, the followers' reward scale, and the leader's first observation
 * (the mean day under the baseline tariff). */
static void init_beliefs(Game *gm) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    MarketLedger led;
    market_ledger_reset(&led, g->B, g->S);
    for (int h = 0; h < g->S; h++) {
        HhStep hs;
        hh_mean_step(&c->hh, h, &hs);
        const DispatchResult *r = clear(gm, gm->ds_ns, gm->load_ns, &hs, hs.prosumer_kwh, NULL);
        double lmp[HH_MAX_BUS];
        for (int b = 0; b < g->B; b++) {
            g->belief[b][h] = lmp[b] = r->lmp[g->grid_bus[b]];
        }
        market_ledger_step(&led, &c->hh, &g->baseline, lmp, hs.prosumer_kwh, hs.consumer_kwh);
    }
    for (int b = 0; b < g->B; b++) {
        market_belief_stats(g->belief[b], g->S, &g->belief_mean[b], &g->belief_sd[b]);
        g->reward_scale[b] = c->aggregator.reward_scale > 0
                                 ? c->aggregator.reward_scale
                                 : market_reward_scale_auto(hh_mean_net_demand_kwh(&c->hh, b), g->belief_mean[b]);
    }
    MarketEei eei;
    market_eei(&led, &c->hh, &eei);
    double sf = market_shortfall(led.revenue, c->utility.fixed_cost_per_day, market_ledger_days(&led));
    market_leader_obs(&eei, g->B, market_ledger_mean_lmp(&led), c->utility.obs_lmp_scale, sf, &g->baseline,
                      g->leader_obs);
    dispatch_reset(gm->ds_ns);
}

static int setup_agents(Game *gm, long seed, char *err, size_t n) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    gm->learn_followers = c->learning && c->storage;
    gm->learn_leader = c->learning && c->utility.learn;
    uint64_t s = (uint64_t)seed;
    if (gm->learn_followers) {
        gm->agg_cls = c->aggregator.action == AGG_GAUSSIAN ? agg_env_class_gaussian : agg_env_class_discrete;
        gm->agg_cls.obs_dim = game_follower_obs_dim(c);
        if (c->aggregator.action != AGG_GAUSSIAN) gm->agg_cls.space.n = g->K;
        for (int b = 0; b < g->B; b++) {
            gm->agg[b] = ppo_create(&c->aggregator.ppo, gm->agg_cls.obs_dim, &gm->agg_cls.space, 1,
                                    s * 1000003u + 11u + (uint64_t)b, err, n);
            if (!gm->agg[b]) return -1;
            AggEnv *e = &gm->agg_env[b];
            memset(e, 0, sizeof *e);
            rng_seed(&e->rng, s, 100 + (uint64_t)b);
            e->g = g;
            e->bus = b;
            e->len = c->aggregator.episode_days * g->S;
            gm->agg_envp[b] = e;
            vecenv_init(&gm->agg_vec[b], &gm->agg_cls, &gm->agg_envp[b], 1);
        }
    }
    if (gm->learn_leader) {
        gm->lead_cls = lead_env_class;
        gm->lead_cls.obs_dim = market_leader_obs_dim(g->B);
        gm->lead_cls.space.dim = market_tariff_dim(g->B);
        for (int k = 0; k < gm->lead_cls.space.dim; k++) {
            /* tanh: the env squashes, so the Box is unbounded in effect (clipping a no-op). */
            float lim = c->utility.action_tanh ? 1e30f : 1.0f;
            gm->lead_cls.space.low[k] = -lim;
            gm->lead_cls.space.high[k] = lim;
        }
        gm->lead = ppo_create(&c->utility.ppo, gm->lead_cls.obs_dim, &gm->lead_cls.space, 1, s * 1000003u + 7u,
                              err, n);
        if (!gm->lead) return -1;
        if (c->utility.initial_mean_baseline) {
            /* The policy head's weights start near 0 (orthogonal, gain 0.01), so its bias is
             * the initial mean action: put it on the baseline tariff. */
            float a[HH_MAX_BUS + 3];
            game_tariff_to_action(g, &g->baseline, a);
            const Mlp *m = ppo_pi_net(gm->lead);
            float *bias = ppo_pi_params(gm->lead) + m->b_off[m->n_layers - 1];
            for (int k = 0; k < gm->lead_cls.space.dim; k++) bias[k] = a[k];
        }
        LeadEnv *e = &gm->lead_env;
        rng_seed(&e->rng, s, 200);
        e->g = g;
        e->followers = gm->agg;
        e->len = c->utility.episode_periods;
        gm->lead_envp = e;
        vecenv_init(&gm->lead_vec, &gm->lead_cls, &gm->lead_envp, 1);
    }
    return 0;
}

static void game_free(Game *gm) {
    for (int b = 0; b < HH_MAX_BUS; b++) {
        if (gm->agg[b]) {
            ppo_free(gm->agg[b]);
            vecenv_free(&gm->agg_vec[b]);
        }
    }
    if (gm->lead) {
        ppo_free(gm->lead);
        vecenv_free(&gm->lead_vec);
    }
    dispatch_cleanup(gm->ds_rl);
    dispatch_cleanup(gm->ds_ns);
    dispatch_cleanup(gm->lead_ds);
    free(gm->lead_load);
    free(gm->lead_pmin);
    free(gm->lead_pmax);
    free(gm->load);
    free(gm->load_ns);
    free(gm->pmin);
    free(gm->pmax);
    free(gm->lmp_rl);
    free(gm->lmp_ns);
    free(gm->fleet);
    grid_network_free(&gm->net);
    if (gm->steps_csv) fclose(gm->steps_csv);
    if (gm->periods_csv) fclose(gm->periods_csv);
}


/* ---- checkpoints ----
 * OUT/seed-K/checkpoint.npz, written atomically at every leader period and when a stop is
 * requested, and once more when the seed finishes. It holds every agent (ppo_save: networks,
 * Adam, RNG, normaliser), every training environment, the market state (beliefs, SoC, tariff,
 * the leader's observation, the market RNGs, the open ledgers), the price and energy history,
 * the lengths of steps.csv and periods.csv at that moment (a resume truncates them there)
 * and, once finished, the seed's results. meta.json follows the export contract. */

static void agent_name(const Game *gm, int b, char *out, size_t cap) {
    if (b < 0) snprintf(out, cap, "utility");
    else snprintf(out, cap, "agg_%s", gm->c->bus_name[b]);
}

enum { GI_T, GI_PERIOD, GI_STEPS_BYTES, GI_PERIODS_BYTES, GI_SLACK, GI_TRAIN_STEPS, GI_FINISHED, GI_N };
enum { GT_FOLLOWER, GT_LEADER, GT_DISPATCH, GT_LEAD_DISPATCH, GT_WALL, GT_N };

static int save_raw(Npz *z, const char *name, const void *p, size_t len, char *err, size_t n) {
    size_t shape[1] = {len};
    return npz_add(z, name, NPY_U1, shape, 1, p, err, n);
}

static int game_checkpoint(Game *gm, long seed, const char *dir, long t, int period, int finished,
                           const GameResult *res, double session_start, char *err, size_t n) {
    const GameShared *g = &gm->g;
    Npz z;
    npz_init(&z);
    char *meta = NULL;
    size_t meta_len = 0;
    FILE *mf = open_memstream(&meta, &meta_len);
    Json j;
    json_init(&j, mf, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "format", "stackelberg-checkpoint");
    json_int(&j, "version", 1);
    json_str(&j, "project_version", SB_VERSION);
    json_str(&j, "kind", "game");
    json_int(&j, "seed", seed);
    json_int(&j, "step", t);
    json_bool(&j, "finished", finished);
    json_arr_begin_block(&j, "agents");
    char name[64];
    for (int b = -1; b < g->B; b++) {
        Ppo *p = b < 0 ? gm->lead : gm->agg[b];
        if (!p) continue;
        Pspec ps;
        agent_name(gm, b, name, sizeof name);
        ppo_pspec(p, name, b < 0 ? "none" : "soc_range", &ps);
        pspec_emit(&j, NULL, &ps);
    }
    json_arr_end(&j);
    game_config_json(gm->c, &j, "config");
    json_obj_end(&j);
    json_end(&j);
    fclose(mf);
    int rc = npz_add_raw(&z, "meta.json", meta, meta_len, err, n);
    free(meta);
    for (int b = -1; b < g->B && !rc; b++) {
        Ppo *p = b < 0 ? gm->lead : gm->agg[b];
        if (!p) continue;
        agent_name(gm, b, name, sizeof name);
        rc = ppo_save(p, &z, name, err, n);
        char pre[80];
        snprintf(pre, sizeof pre, "env.%s", name);
        if (!rc) rc = single_envs_save(b < 0 ? &gm->lead_vec : &gm->agg_vec[b], &z, pre, err, n);
    }
    fflush(gm->steps_csv);
    fflush(gm->periods_csv);
    int64_t ints[GI_N] = {t, period, ftell(gm->steps_csv), ftell(gm->periods_csv), gm->slack_steps,
                          gm->train_env_steps, finished};
    double times[GT_N] = {gm->follower_s, gm->leader_s, gm->dispatch_s, gm->lead_env.dispatch_s,
                          gm->wall_before + sb_now() - session_start};
    size_t sh[2];
    sh[0] = GI_N;
    if (!rc) rc = npz_add(&z, "game.ints", NPY_I8, sh, 1, ints, err, n);
    sh[0] = GT_N;
    if (!rc) rc = npz_add(&z, "game.times", NPY_F8, sh, 1, times, err, n);
    sh[0] = (size_t)g->B;
    sh[1] = (size_t)g->S;
    double belief[HH_MAX_BUS * HH_MAX_STEPS];
    for (int b = 0; b < g->B; b++) memcpy(belief + (size_t)b * (size_t)g->S, g->belief[b], (size_t)g->S * sizeof(double));
    if (!rc) rc = npz_add(&z, "game.belief", NPY_F8, sh, 2, belief, err, n);
    sh[0] = (size_t)g->B;
    if (!rc) rc = npz_add(&z, "game.soc", NPY_F8, sh, 1, g->soc, err, n);
    sh[0] = SB_ARRAY_LEN(g->leader_obs);
    if (!rc) rc = npz_add(&z, "game.leader_obs", NPY_F4, sh, 1, g->leader_obs, err, n);
    sh[0] = 4;
    if (!rc) rc = npz_add(&z, "game.market_rng", NPY_U8, sh, 1, gm->market_rng.s, err, n);
    if (!rc) rc = npz_add(&z, "game.play_rng", NPY_U8, sh, 1, gm->play_rng.s, err, n);
    sh[0] = (size_t)gm->T;
    sh[1] = (size_t)g->B;
    if (!rc) rc = npz_add(&z, "game.lmp_rl", NPY_F8, sh, 2, gm->lmp_rl, err, n);
    if (!rc) rc = npz_add(&z, "game.lmp_ns", NPY_F8, sh, 2, gm->lmp_ns, err, n);
    if (!rc) rc = npz_add(&z, "game.fleet", NPY_F8, sh, 2, gm->fleet, err, n);
    /* Plain structs of numbers, stored as bytes (restored on the same kind of machine). */
    if (!rc) rc = save_raw(&z, "game.tariff", &g->tariff, sizeof g->tariff, err, n);
    if (!rc) rc = save_raw(&z, "game.nested", &gm->nested, sizeof gm->nested, err, n);
    if (!rc) rc = save_raw(&z, "game.ledger_period", &gm->period, sizeof gm->period, err, n);
    if (!rc) rc = save_raw(&z, "game.ledger_window", &gm->window, sizeof gm->window, err, n);
    if (!rc) rc = save_raw(&z, "game.ledger_window_base", &gm->window_base, sizeof gm->window_base, err, n);
    if (!rc && res) rc = save_raw(&z, "game.result", res, sizeof *res, err, n);
    char path[4096];
    path_join(path, sizeof path, dir, "checkpoint.npz");
    if (!rc) rc = npz_write(&z, path, err, n);
    npz_free(&z);
    return rc;
}

/* A member of the expected dtype and byte size, or -1 with "PATH: member X: ...". */
static const void *member_bytes(const Npz *z, const char *name, NpyDtype dt, size_t bytes, const char *label,
                                char *err, size_t n) {
    const NpzMember *m = npz_find(z, name);
    if (!m) {
        sb_err(err, n, "%s: member %s: missing", label, name);
        return NULL;
    }
    if (m->dtype != dt || m->count * npy_itemsize(dt) != bytes) {
        sb_err(err, n, "%s: member %s: wrong type or size (%s, %zu bytes; expected %s, %zu bytes)", label, name,
               npy_descr(m->dtype), m->count * npy_itemsize(m->dtype), npy_descr(dt), bytes);
        return NULL;
    }
    return m->data;
}

#define GET(dst, name, dt, bytes)                                                      \
    do {                                                                               \
        const void *src_ = member_bytes(&z, name, dt, bytes, path, err, n);            \
        if (!src_) goto fail;                                                          \
        memcpy(dst, src_, bytes);                                                      \
    } while (0)

/* Restore a seed from dir/checkpoint.npz. *found = 0 (and 0 returned) when there is none. */
static int game_restore(Game *gm, const char *dir, long *t, int *period, int *finished, GameResult *res,
                        int *found, char *err, size_t n) {
    GameShared *g = &gm->g;
    char path[4096];
    path_join(path, sizeof path, dir, "checkpoint.npz");
    *found = 0;
    if (access(path, F_OK) != 0) return 0;
    *found = 1;
    Npz z;
    if (npz_read(&z, path, err, n)) return -1;
    char name[64], pre[80];
    for (int b = -1; b < g->B; b++) {
        Ppo *p = b < 0 ? gm->lead : gm->agg[b];
        if (!p) continue;
        agent_name(gm, b, name, sizeof name);
        if (ppo_restore(p, &z, name, path, err, n)) goto fail;
        snprintf(pre, sizeof pre, "env.%s", name);
        VecEnv *v = b < 0 ? &gm->lead_vec : &gm->agg_vec[b];
        if (single_envs_restore(v, &z, pre, path, err, n)) goto fail;
    }
    /* The environments' bytes carried pointers of the process that wrote them: set them again. */
    for (int b = 0; b < g->B; b++) gm->agg_env[b].g = g;
    {
        LeadEnv *e = &gm->lead_env;
        double ds = e->dispatch_s;
        e->g = g;
        e->followers = gm->agg;
        e->ds = gm->lead_ds;
        e->load = gm->lead_load;
        e->pmin = gm->lead_pmin;
        e->pmax = gm->lead_pmax;
        e->dispatch_s = ds;
    }
    int64_t ints[GI_N];
    double times[GT_N];
    GET(ints, "game.ints", NPY_I8, sizeof ints);
    GET(times, "game.times", NPY_F8, sizeof times);
    if (ints[GI_T] < 0 || ints[GI_T] > gm->T || ints[GI_PERIOD] < 0 || ints[GI_STEPS_BYTES] < 0 ||
        ints[GI_PERIODS_BYTES] < 0) {
        sb_err(err, n, "%s: member game.ints: values out of range for this config", path);
        goto fail;
    }
    {
        double belief[HH_MAX_BUS * HH_MAX_STEPS];
        GET(belief, "game.belief", NPY_F8, (size_t)g->B * (size_t)g->S * sizeof(double));
        for (int b = 0; b < g->B; b++)
            memcpy(g->belief[b], belief + (size_t)b * (size_t)g->S, (size_t)g->S * sizeof(double));
    }
    GET(g->soc, "game.soc", NPY_F8, (size_t)g->B * sizeof(double));
    GET(g->leader_obs, "game.leader_obs", NPY_F4, sizeof g->leader_obs);
    GET(gm->market_rng.s, "game.market_rng", NPY_U8, sizeof gm->market_rng.s);
    GET(gm->play_rng.s, "game.play_rng", NPY_U8, sizeof gm->play_rng.s);
    size_t hist = (size_t)gm->T * (size_t)g->B * sizeof(double);
    GET(gm->lmp_rl, "game.lmp_rl", NPY_F8, hist);
    GET(gm->lmp_ns, "game.lmp_ns", NPY_F8, hist);
    GET(gm->fleet, "game.fleet", NPY_F8, hist);
    GET(&g->tariff, "game.tariff", NPY_U1, sizeof g->tariff);
    GET(&gm->nested, "game.nested", NPY_U1, sizeof gm->nested);
    GET(&gm->period, "game.ledger_period", NPY_U1, sizeof gm->period);
    GET(&gm->window, "game.ledger_window", NPY_U1, sizeof gm->window);
    GET(&gm->window_base, "game.ledger_window_base", NPY_U1, sizeof gm->window_base);
    *finished = ints[GI_FINISHED] != 0;
    if (*finished) GET(res, "game.result", NPY_U1, sizeof *res);
    *t = ints[GI_T];
    *period = (int)ints[GI_PERIOD];
    gm->slack_steps = ints[GI_SLACK];
    gm->train_env_steps = ints[GI_TRAIN_STEPS];
    gm->follower_s = times[GT_FOLLOWER];
    gm->leader_s = times[GT_LEADER];
    gm->dispatch_s = times[GT_DISPATCH];
    gm->lead_env.dispatch_s = times[GT_LEAD_DISPATCH];
    gm->wall_before = times[GT_WALL];
    /* The records: cut back to what the checkpoint had seen, then append. */
    {
        char csv[4096];
        path_join(csv, sizeof csv, dir, "steps.csv");
        if (truncate(csv, (off_t)ints[GI_STEPS_BYTES]) || !(gm->steps_csv = fopen(csv, "a"))) {
            sb_err(err, n, "%s: cannot reopen for appending", csv);
            goto fail;
        }
        path_join(csv, sizeof csv, dir, "periods.csv");
        if (truncate(csv, (off_t)ints[GI_PERIODS_BYTES]) || !(gm->periods_csv = fopen(csv, "a"))) {
            sb_err(err, n, "%s: cannot reopen for appending", csv);
            goto fail;
        }
    }
    npz_free(&z);
    return 0;
fail:
    npz_free(&z);
    return -1;
}
#undef GET

/* ---- the phases ---- */

/* act (B+3, may be NULL) receives the new tariff as the policy's action in [-1, 1]. */
static void leader_phase(Game *gm, float *act_out) {
    if (!gm->learn_leader) return;
    double t0 = sb_now();
    long before = ppo_total_steps(gm->lead);
    dispatch_reset(gm->lead_env.ds); /* each phase starts cold: see clear() */
    ppo_learn(gm->lead, &gm->lead_vec, gm->c->utility.train_steps, NULL, NULL);
    gm->leader_s += sb_now() - t0;
    gm->train_env_steps += ppo_total_steps(gm->lead) - before;
    /* The tariff for the next period: the policy's mean (deterministic) action. */
    float act[HH_MAX_BUS + 3];
    ppo_predict(gm->lead, gm->g.leader_obs, NULL, 1, 1, act, NULL, NULL);
    game_leader_tariff(&gm->g, act, &gm->g.tariff);
    if (act_out) memcpy(act_out, act, (size_t)market_tariff_dim(gm->g.B) * sizeof(float));
}

static void follower_phases(Game *gm) {
    if (!gm->learn_followers) return;
    double t0 = sb_now();
    for (int b = 0; b < gm->g.B; b++) {
        long before = ppo_total_steps(gm->agg[b]);
        ppo_learn(gm->agg[b], &gm->agg_vec[b], gm->c->aggregator.train_steps, NULL, NULL);
        gm->train_env_steps += ppo_total_steps(gm->agg[b]) - before;
    }
    gm->follower_s += sb_now() - t0;
}

/* One real market step t (SPEC 1, steps 2-4). */
static void market_step(Game *gm, long t) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    const int B = g->B, S = g->S;
    int hour = (int)(t % S), day = (int)(t / S);
    HhStep hs;
    hh_draw_step(&c->hh, c->noise, hour, &gm->market_rng, &hs);
    double fleet_kwh[HH_MAX_BUS], action[HH_MAX_BUS], soc_before[HH_MAX_BUS];
    for (int b = 0; b < B; b++) {
        double a = 0;
        soc_before[b] = g->soc[b];
        if (gm->learn_followers && g->capacity_kwh[b] > 0) {
            float obs[GAME_FOLLOWER_OBS_MAX];
            int cycle = c->aggregator.episode_days * S;
            game_follower_obs(g, b, hour, g->soc[b], hs.prosumer_kwh[b], (double)(t % cycle) / cycle, obs);
            a = game_follower_play(g, gm->agg[b], b, obs, g->soc[b], &gm->play_rng, gm->probs, gm->mask);
        }
        FleetStep fs;
        fleet_step(g->soc[b], a, g->capacity_kwh[b], c->hh.efficiency, hh_efficiency_out(&c->hh), hs.prosumer_kwh[b], &fs);
        g->soc[b] = fs.soc_next;
        fleet_kwh[b] = fs.grid_kwh;
        action[b] = a;
        gm->fleet[(size_t)t * (size_t)B + (size_t)b] = fs.grid_kwh;
    }
    int slack = 0;
    const DispatchResult *r = clear(gm, gm->ds_rl, gm->load, &hs, fleet_kwh, &slack);
    gm->slack_steps += slack;
    double lmp[HH_MAX_BUS], lmp_ns[HH_MAX_BUS];
    for (int b = 0; b < B; b++) lmp[b] = r->lmp[g->grid_bus[b]];
    const DispatchResult *rn = clear(gm, gm->ds_ns, gm->load_ns, &hs, hs.prosumer_kwh, NULL);
    for (int b = 0; b < B; b++) lmp_ns[b] = rn->lmp[g->grid_bus[b]];
    for (int b = 0; b < B; b++) {
        gm->lmp_rl[(size_t)t * (size_t)B + (size_t)b] = lmp[b];
        gm->lmp_ns[(size_t)t * (size_t)B + (size_t)b] = lmp_ns[b];
    }
    market_ledger_step(&gm->period, &c->hh, &g->tariff, lmp, fleet_kwh, hs.consumer_kwh);
    if (t >= gm->T - (long)c->report_days * S) {
        market_ledger_step(&gm->window, &c->hh, &g->tariff, lmp, fleet_kwh, hs.consumer_kwh);
        market_ledger_step(&gm->window_base, &c->hh, &g->baseline, lmp, fleet_kwh, hs.consumer_kwh);
    }
    for (int b = 0; b < B; b++) market_belief_update(g->belief[b], hour, lmp[b], day, c->aggregator.belief_step);
    for (int b = 0; b < B; b++)
        fprintf(gm->steps_csv, "%d,%d,%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", day, hour,
                c->bus_name[b], lmp[b], lmp_ns[b], gm->load[g->grid_bus[b]], fleet_kwh[b], hs.consumer_kwh[b],
                soc_before[b], action[b], g->tariff.alpha_buy, g->tariff.alpha_sell, g->tariff.fixed_prosumer[b],
                g->tariff.fixed_consumer);
}

/* Close a leader period: its EEIs, revenue and reward, and the leader's next observation. */
static void close_period(Game *gm, int period, int day_start) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    MarketEei eei;
    market_eei(&gm->period, &c->hh, &eei);
    double days = market_ledger_days(&gm->period);
    double sf = market_shortfall(gm->period.revenue, c->utility.fixed_cost_per_day, days);
    double reward = game_leader_reward(c, &eei, gm->period.revenue, days);
    market_leader_obs(&eei, g->B, market_ledger_mean_lmp(&gm->period), c->utility.obs_lmp_scale, sf, &g->tariff,
                      g->leader_obs);
    fprintf(gm->periods_csv, "%d,%d,%.6f,%.6f", period, day_start, g->tariff.alpha_buy, g->tariff.alpha_sell);
    for (int b = 0; b < g->B; b++) fprintf(gm->periods_csv, ",%.6f", g->tariff.fixed_prosumer[b]);
    fprintf(gm->periods_csv, ",%.6f", g->tariff.fixed_consumer);
    for (int b = 0; b < g->B; b++) fprintf(gm->periods_csv, ",%.6f", 100 * eei.prosumer[b]);
    fprintf(gm->periods_csv, ",%.6f,%.6f,%.6f,%.6f,%.3f,%.6f,%.6f\n", 100 * eei.consumer_mean,
            100 * eei.prosumer_mean, 100 * fabs(eei.prosumer_mean - eei.consumer_mean),
            market_ledger_mean_lmp(&gm->period), gm->period.revenue, sf, reward);
    fflush(gm->periods_csv);
    fflush(gm->steps_csv);
    market_ledger_reset(&gm->period, g->B, g->S);
}

static FILE *open_csv(const char *dir, const char *name, const char *header, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        sb_err(err, n, "%s: cannot write", path);
        return NULL;
    }
    fputs(header, f);
    return f;
}

/* days.csv (IMV of each day with and without storage) and hourly.csv (the fleets' net grid
 * energy by hour of day, MWh summed over buses, averaged over the first and the last report
 * windows: the paper's Fig. 5). */
static int write_profiles(const Game *gm, const char *dir, char *err, size_t n) {
    const int B = gm->g.B, S = gm->g.S, D = gm->c->days, W = gm->c->report_days;
    char path[4096];
    path_join(path, sizeof path, dir, "days.csv");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    fprintf(a.f, "day,imv_rl,imv_no_storage\n");
    for (int d = 0; d < D; d++) {
        size_t off = (size_t)d * (size_t)S * (size_t)B;
        fprintf(a.f, "%d,%.9g,%.9g\n", d, market_imv_mean(gm->lmp_rl + off, (size_t)S, (size_t)B),
                market_imv_mean(gm->lmp_ns + off, (size_t)S, (size_t)B));
    }
    if (atomic_commit(&a, err, n)) return -1;
    path_join(path, sizeof path, dir, "hourly.csv");
    if (atomic_open(&a, path, err, n)) return -1;
    fprintf(a.f, "hour,fleet_mwh_first,fleet_mwh_last\n");
    for (int h = 0; h < S; h++) {
        double first = 0, last = 0;
        for (int d = 0; d < W; d++)
            for (int b = 0; b < B; b++) {
                first += gm->fleet[((size_t)d * S + (size_t)h) * (size_t)B + (size_t)b];
                last += gm->fleet[((size_t)(D - W + d) * S + (size_t)h) * (size_t)B + (size_t)b];
            }
        fprintf(a.f, "%d,%.9g,%.9g\n", h, first / W / 1000, last / W / 1000);
    }
    return atomic_commit(&a, err, n);
}

static double eei_gap_pp(const MarketLedger *l, const HhParams *hh) {
    MarketEei e;
    market_eei(l, hh, &e);
    return 100 * fabs(e.prosumer_mean - e.consumer_mean);
}

static int write_summary(const Game *gm, long seed, const char *dir, const GameResult *r, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, dir, "summary.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_int(&j, "seed", seed);
    json_obj_begin(&j, "imv_last3d");
    json_num(&j, "rl", r->imv_rl);
    json_num(&j, "no_storage", r->imv_no_storage);
    json_obj_end(&j);
    json_obj_begin(&j, "eei_gap");
    json_num(&j, "baseline_tariff", r->eei_gap_baseline);
    json_num(&j, "learned", r->eei_gap_learned);
    json_obj_end(&j);
    json_obj_begin(&j, "fixed_charges");
    for (int b = 0; b < gm->g.B; b++) json_num(&j, gm->c->bus_name[b], r->final_tariff.fixed_prosumer[b]);
    json_num(&j, "consumers", r->final_tariff.fixed_consumer);
    json_obj_end(&j);
    json_num(&j, "alpha_buy", r->final_tariff.alpha_buy);
    json_num(&j, "alpha_sell", r->final_tariff.alpha_sell);
    json_num(&j, "revenue_shortfall", r->shortfall);
    json_int(&j, "slack_steps", r->slack_steps);
    json_num(&j, "wall_s", r->wall_s);
    json_num(&j, "train_steps_per_s", r->train_steps_per_s);
    json_int(&j, "train_env_steps", r->train_env_steps);
    json_obj_begin(&j, "time_s");
    json_num(&j, "follower_training", r->follower_s);
    json_num(&j, "leader_training", r->leader_s);
    json_num(&j, "dispatch", r->dispatch_s);
    json_num(&j, "other", r->other_s);
    json_obj_end(&j);
    json_str(&j, "timing_note", "wall_s, train_steps_per_s and time_s are wall-clock; a resumed run sums its "
                                "sessions, every other field equals an uninterrupted run's");
    json_str(&j, "version", SB_VERSION);
    game_config_json(gm->c, &j, "config");
    json_obj_end(&j);
    json_end(&j);
    return atomic_commit(&a, err, n);
}


/* ---- the nested schedule (Algorithm 1 of [P]) ----
 * [R] details, each visible in the records: a leader iteration starts with the tariff in force
 * (the baseline for the first); each inner (mean-field) iteration trains every follower once
 * (a PPO phase of train_steps) and then plays mf_days of the real market, which moves the
 * beliefs; the inner loop ends when that L1 change (summed over buses and hours, $/MWh) is
 * <= mf_tol or after mf_max_iters; the leader period closes (a row of periods.csv) and the
 * leader trains once; once its tariff (as an action in [-1, 1]) moves by <= tol in L1, or after
 * max_leader_iters, the leader stops learning. The run lasts `days` real days, like the
 * single loop; policies that have settled keep playing. Checkpoints are taken, and a stop is
 * honoured, at the start of every inner iteration. Returns 0, 1 if stopped, -1 with err. */
static int run_nested(Game *gm, long seed, const char *dir, long *tp, int *periodp, int restored, volatile int *stop,
                      GameProgress *progress, double t_start, char *err, size_t n) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    NestedState *ns = &gm->nested;
    long t = *tp;
    int period = *periodp, skip_ckpt = restored;
    const int K = market_tariff_dim(g->B);
    while (t < gm->T) {
        for (; ns->mf_iter < c->mf_max_iters && t < gm->T; ns->mf_iter++) {
            if (!skip_ckpt || (stop && *stop)) {
                if (game_checkpoint(gm, seed, dir, t, period, 0, NULL, t_start, err, n)) return -1;
                if (stop && *stop) {
                    *tp = t;
                    *periodp = period;
                    return 1;
                }
            }
            skip_ckpt = 0;
            for (int b = 0; b < g->B && gm->learn_followers; b++) TRACE("follower", t, b);
            follower_phases(gm);
            double before[HH_MAX_BUS][HH_MAX_STEPS];
            memcpy(before, g->belief, sizeof before);
            for (long k = 0; k < (long)c->mf_days * g->S && t < gm->T; k++, t++) {
                TRACE("market", t, -1);
                market_step(gm, t);
            }
            double change = 0;
            for (int b = 0; b < g->B; b++)
                for (int h = 0; h < g->S; h++) change += fabs(g->belief[b][h] - before[b][h]);
            ns->last_mf_change = change;
            if (progress) {
                progress->day = (int)(t / g->S);
                progress->imv = market_imv_mean(gm->lmp_rl + (size_t)(t - 1) / g->S * g->S * (size_t)g->B,
                                                (size_t)g->S, (size_t)g->B);
            }
            if (change <= c->mf_tol) {
                ns->mf_iter++;
                break;
            }
        }
        TRACE("close", t, -1);
        close_period(gm, period++, ns->day_start);
        ns->mf_iter = 0;
        ns->day_start = (int)(t / g->S);
        if (t >= gm->T) break;
        if (!ns->leader_done && gm->learn_leader) {
            TRACE("leader", t, -1);
            float act[HH_MAX_BUS + 3];
            leader_phase(gm, act);
            double move = 0;
            for (int k = 0; k < K; k++) move += fabs(act[k] - ns->prev_act[k]);
            if ((ns->have_prev && move <= c->tol) || period >= c->max_leader_iters) ns->leader_done = 1;
            memcpy(ns->prev_act, act, sizeof act);
            ns->have_prev = 1;
        }
    }
    *tp = t;
    *periodp = period;
    return 0;
}

int game_run(const GameConfig *cfg, long seed, const char *out_dir, int resume, GameProgress *progress,
             volatile int *stop, GameResult *res, char *err, size_t n) {
    memset(res, 0, sizeof *res);
    double t_start = sb_now();
    Game *gm = sb_calloc(1, sizeof *gm);
    gm->c = cfg;
    GameShared *g = &gm->g;
    g->cfg = cfg;
    g->B = cfg->hh.n_bus;
    g->S = cfg->steps_per_day;
    g->K = cfg->aggregator.action_levels;
    SB_ASSERT(g->K <= (int)sizeof gm->mask);
    for (int b = 0; b < g->B; b++) {
        g->capacity_kwh[b] = game_fleet_capacity_kwh(cfg, b);
        g->soc[b] = cfg->aggregator.initial_soc;
    }
    market_baseline_tariff(&cfg->hh, cfg->utility.fixed_cost_per_day, &g->baseline);
    g->tariff = g->baseline;
    rng_seed(&gm->market_rng, (uint64_t)seed, 1);
    rng_seed(&gm->play_rng, (uint64_t)seed, 2);
    nn_blas_threads(1);
    int rc = -1;
    if (setup_grid(gm, err, n)) goto done;
    init_beliefs(gm);
    if (setup_agents(gm, seed, err, n)) goto done;
    if (mkdir_p(out_dir, err, n)) goto done;
    gm->T = game_total_steps(cfg);
    gm->lmp_rl = sb_calloc((size_t)gm->T * (size_t)g->B, sizeof(double));
    gm->lmp_ns = sb_calloc((size_t)gm->T * (size_t)g->B, sizeof(double));
    gm->fleet = sb_calloc((size_t)gm->T * (size_t)g->B, sizeof(double));
    market_ledger_reset(&gm->period, g->B, g->S);
    market_ledger_reset(&gm->window, g->B, g->S);
    market_ledger_reset(&gm->window_base, g->B, g->S);
    const int P = game_period_steps(cfg);
    int period = 0, found = 0, finished = 0;
    long t0 = 0;
    if (progress) progress->days = cfg->days;
    if (resume && game_restore(gm, out_dir, &t0, &period, &finished, res, &found, err, n)) goto done;
    if (found && finished) {
        rc = 0;
        goto done;
    }
    if (!found) {
        gm->steps_csv = open_csv(out_dir, "steps.csv",
                                 "day,hour,bus,lmp,lmp_no_storage,bus_load_mwh,prosumer_grid_kwh,consumer_grid_kwh,"
                                 "soc,action,alpha_buy,alpha_sell,fixed_prosumer,fixed_consumer\n",
                                 err, n);
        if (!gm->steps_csv) goto done;
        char hdr[2048];
        size_t k = (size_t)snprintf(hdr, sizeof hdr, "period,day_start,alpha_buy,alpha_sell");
        for (int b = 0; b < g->B; b++) k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",fixed_%s", cfg->bus_name[b]);
        k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",fixed_consumers");
        for (int b = 0; b < g->B; b++) k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",eei_%s", cfg->bus_name[b]);
        snprintf(hdr + k, sizeof hdr - k, ",eei_consumers,eei_prosumers,eei_gap,mean_lmp,revenue,shortfall,leader_reward\n");
        gm->periods_csv = open_csv(out_dir, "periods.csv", hdr, err, n);
        if (!gm->periods_csv) goto done;
    }

    if (cfg->schedule == GAME_NESTED) {
        long t = t0;
        int prc = run_nested(gm, seed, out_dir, &t, &period, found, stop, progress, t_start, err, n);
        if (prc) {
            rc = prc;
            goto done;
        }
        goto results;
    }

    /* ---- the single-loop schedule (SPEC 1) ---- */
    for (long t = t0; t < gm->T; t++) {
        /* A restored run resumes after this boundary's period was closed and checkpointed. */
        if (t % P == 0 && t > 0 && !(found && t == t0)) {
            TRACE("close", t, -1);
            close_period(gm, period++, (int)((t - P) / g->S));
        }
        int stopping = stop && *stop;
        if ((t % P == 0 && !(found && t == t0)) || stopping) {
            if (game_checkpoint(gm, seed, out_dir, t, period, 0, NULL, t_start, err, n)) goto done;
            if (stopping) {
                rc = 1;
                goto done;
            }
        }
        if (t % P == 0) {
            TRACE("leader", t, -1);
            leader_phase(gm, NULL);
        }
        for (int b = 0; b < g->B && gm->learn_followers; b++) TRACE("follower", t, b);
        follower_phases(gm);
        TRACE("market", t, -1);
        market_step(gm, t);
        if (progress) {
            progress->day = (int)(t / g->S);
            long w0 = t + 1 >= (long)cfg->report_days * g->S ? t + 1 - (long)cfg->report_days * g->S : 0;
            progress->imv = market_imv_mean(gm->lmp_rl + (size_t)w0 * (size_t)g->B, (size_t)(t + 1 - w0),
                                            (size_t)g->B);
        }
    }
    TRACE("close", gm->T, -1);
    close_period(gm, period, (int)((gm->T - 1) / P * P / g->S));

results:
    /* ---- results ---- */
    {
        size_t W = (size_t)cfg->report_days * (size_t)g->S, off = (size_t)(gm->T - (long)W) * (size_t)g->B;
        res->imv_rl = market_imv_mean(gm->lmp_rl + off, W, (size_t)g->B);
        res->imv_no_storage = market_imv_mean(gm->lmp_ns + off, W, (size_t)g->B);
        res->eei_gap_learned = eei_gap_pp(&gm->window, &cfg->hh);
        res->eei_gap_baseline = eei_gap_pp(&gm->window_base, &cfg->hh);
        MarketEei e;
        market_eei(&gm->window, &cfg->hh, &e);
        res->eei_pros_learned = e.prosumer_mean;
        res->eei_cons_learned = e.consumer_mean;
        res->final_tariff = g->tariff;
        res->shortfall =
            market_shortfall(gm->window.revenue, cfg->utility.fixed_cost_per_day, market_ledger_days(&gm->window));
        res->slack_steps = gm->slack_steps;
        res->wall_s = gm->wall_before + sb_now() - t_start;
        res->dispatch_s = gm->dispatch_s + gm->lead_env.dispatch_s;
        res->follower_s = gm->follower_s;
        res->leader_s = gm->leader_s;
        res->other_s = res->wall_s - gm->follower_s - gm->leader_s - gm->dispatch_s;
        res->train_env_steps = gm->train_env_steps;
        res->train_steps_per_s = gm->train_env_steps / fmax(gm->follower_s + gm->leader_s, 1e-9);
    }
    if (fflush(gm->steps_csv) || fflush(gm->periods_csv)) {
        sb_err(err, n, "%s: write failed", out_dir);
        goto done;
    }
    if (write_profiles(gm, out_dir, err, n) || write_summary(gm, seed, out_dir, res, err, n)) goto done;
    rc = game_checkpoint(gm, seed, out_dir, gm->T, period, 1, res, t_start, err, n);
done:
    if (progress && rc == 0) {
        progress->day = cfg->days;
        progress->imv = res->imv_rl;
        progress->eei_gap = res->eei_gap_learned;
    }
    game_free(gm);
    free(gm);
    return rc;
}
