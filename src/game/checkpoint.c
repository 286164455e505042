/* checkpoint.c: a seed's checkpoint as named, typed members (no struct bytes).
 *
 * OUT/seed-K/checkpoint.npz, written atomically at every boundary (a leader period's first
 * step; an inner iteration's, nested), when a stop is requested, and once more when the seed
 * finishes. Members (B buses, C classes, S steps a day, T steps, K = C + 3):
 *   meta.json                 format "stackelberg-checkpoint", version 2, kind "game", seed,
 *                             step, finished, fingerprint (config and world), agents, config
 *   AGENT.*, env.AGENT.*      every agent (ppo_save) and its training environment
 *   game.t, game.period, game.finished, game.slack_steps, game.train_env_steps   (i8)
 *   game.time                 follower_s, leader_s, dispatch rl/ns/leader, wall (f8, 6)
 *   game.belief (B, S), game.soc (B), game.tariff (K), game.leader_obs (2C + 6, f4)
 *   game.market_rng (u8, 4), game.play_rng (u8, B x 4: a stream per bus)
 *   game.history.{lmp_rl, lmp_ns, fleet} (T, B)
 *   game.ledger.{period, window, window_base}.{bill_class, energy_class (C), bill_consumer,
 *                             energy_consumer (B), sums (revenue, fixed_collected, lmp_sum),
 *                             steps (i8)}
 *   game.nested.{ints (mf_iter, inner_k, leader_done, have_prev, day_start), prev_act (K, f4),
 *                             last_mf_change, before (B, S)}
 *   records.bytes, records.crc32 (i8, one per appended record file; -1: not written)
 *   result.* (finished only): the seed's results
 * A checkpoint of another version, another config or another world is refused (exit 2). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/checkpoint.h"
#include "game/describe.h"
#include "game/game_internal.h"
#include "io/jsonval.h"
#include "io/pspec.h"
#include "rl/single.h"
#include "run/mpi.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

#define CKPT_FORMAT "stackelberg-checkpoint"
#define CKPT_VERSION 2

static void agent_name(const Game *g, int b, char *out, size_t cap) {
    if (b < 0) snprintf(out, cap, "utility");
    else snprintf(out, cap, "agg_%s", g->g.hh->bus_name[b]);
}

/* The config as its JSON record, hashed with the world: what a checkpoint must match. */
uint64_t game_fingerprint(const GameConfig *c, const GameWorld *w) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    Json j;
    json_init(&j, f, 0);
    game_config_json(c, &j, NULL);
    json_end(&j);
    fclose(f);
    uint64_t h = sb_fnv1a(SB_FNV_INIT, text, len);
    free(text);
    uint64_t wf = game_world_fingerprint(w);
    return sb_fnv1a(h, &wf, sizeof wf);
}

static uint64_t fingerprint(const Game *g) { return game_fingerprint(g->c, g->w); }

/* ---- writing ---- */

static int put(Npz *z, const char *name, NpyDtype dt, size_t d0, size_t d1, const void *data, char *err, size_t n) {
    size_t shape[2] = {d0, d1};
    return npz_add(z, name, dt, shape, d1 ? 2 : 1, data, err, n);
}

static int put_i64(Npz *z, const char *name, int64_t v, char *err, size_t n) {
    return put(z, name, NPY_I8, 1, 0, &v, err, n);
}

static int put_f64(Npz *z, const char *name, double v, char *err, size_t n) { return put(z, name, NPY_F8, 1, 0, &v, err, n); }

static int put_ledger(Npz *z, const char *which, const MarketLedger *l, char *err, size_t n) {
    char name[NPZ_MAX_NAME];
    const size_t B = (size_t)l->n_bus, C = (size_t)l->n_class;
    double sums[3] = {l->revenue, l->fixed_collected, l->lmp_sum};
#define PUT(field, dt, d0, data)                                          \
    do {                                                                  \
        snprintf(name, sizeof name, "game.ledger.%s.%s", which, field);   \
        if (put(z, name, dt, d0, 0, data, err, n)) return -1;             \
    } while (0)
    PUT("bill_class", NPY_F8, C, l->bill_class);
    PUT("energy_class", NPY_F8, C, l->energy_class);
    PUT("bill_consumer", NPY_F8, B, l->bill_consumer);
    PUT("energy_consumer", NPY_F8, B, l->energy_consumer);
    PUT("sums", NPY_F8, 3, sums);
    int64_t steps = l->steps;
    PUT("steps", NPY_I8, 1, &steps);
#undef PUT
    return 0;
}

static int put_result(Npz *z, const GameResult *r, char *err, size_t n) {
    const struct {
        const char *name;
        double v;
    } f[] = {{"imv_rl", r->imv_rl},
             {"imv_no_storage", r->imv_no_storage},
             {"eei_gap_baseline", r->eei_gap_baseline},
             {"eei_gap_learned", r->eei_gap_learned},
             {"eei_pros_learned", r->eei_pros_learned},
             {"eei_cons_learned", r->eei_cons_learned},
             {"alpha_buy", r->alpha_buy},
             {"alpha_sell", r->alpha_sell},
             {"fixed_consumer", r->fixed_consumer},
             {"shortfall", r->shortfall},
             {"wall_s", r->wall_s},
             {"follower_s", r->follower_s},
             {"leader_s", r->leader_s},
             {"dispatch_s", r->dispatch_s},
             {"other_s", r->other_s},
             {"train_steps_per_s", r->train_steps_per_s}};
    char name[NPZ_MAX_NAME];
    for (size_t i = 0; i < SB_ARRAY_LEN(f); i++) {
        snprintf(name, sizeof name, "result.%s", f[i].name);
        if (put_f64(z, name, f[i].v, err, n)) return -1;
    }
    if (put(z, "result.fixed_class", NPY_F8, (size_t)r->n_class, 0, r->fixed_class, err, n)) return -1;
    if (put_i64(z, "result.slack_steps", r->slack_steps, err, n)) return -1;
    return put_i64(z, "result.train_env_steps", r->train_env_steps, err, n);
}

static int put_meta(Npz *z, const Game *g, const GameResult *res, char *err, size_t n) {
    char *meta = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&meta, &len);
    Json j;
    json_init(&j, mf, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "format", CKPT_FORMAT);
    json_int(&j, "version", CKPT_VERSION);
    json_str(&j, "project_version", SB_VERSION);
    json_str(&j, "kind", "game");
    json_int(&j, "seed", g->seed);
    json_int(&j, "step", g->t);
    json_bool(&j, "finished", res != NULL);
    char fp[32];
    snprintf(fp, sizeof fp, "%016" PRIx64, fingerprint(g));
    json_str(&j, "fingerprint", fp);
    json_arr_begin_block(&j, "agents");
    char name[64];
    for (int b = -1; b < g->g.B; b++) {
        Ppo *p = b < 0 ? g->lead : g->agg[b];
        if (!p) continue;
        agent_name(g, b, name, sizeof name);
        game_describe_emit(&j, &g->g, p, name, b);
    }
    json_arr_end(&j);
    game_config_json(g->c, &j, "config");
    json_obj_end(&j);
    json_end(&j);
    fclose(mf);
    int rc = npz_add_raw(z, "meta.json", meta, len, err, n);
    free(meta);
    return rc;
}

int game_checkpoint_save(const Game *g, const char *dir, const RecorderMark *mark, const GameResult *res,
                         double session_start, char *err, size_t n) {
    const GameShared *s = &g->g;
    const size_t B = (size_t)s->B, S = (size_t)s->S, C = (size_t)s->C, T = (size_t)g->T;
    const size_t K = (size_t)market_tariff_dim(s->C);
    Npz z;
    npz_init(&z);
    int rc = put_meta(&z, g, res, err, n);
    char name[64], pre[80];
    for (int b = -1; b < s->B && !rc; b++) {
        Ppo *p = b < 0 ? g->lead : g->agg[b];
        if (!p) continue;
        agent_name(g, b, name, sizeof name);
        rc = ppo_save(p, &z, name, err, n);
        snprintf(pre, sizeof pre, "env.%s", name);
        if (!rc) rc = single_envs_save(b < 0 ? &g->lead_vec : &g->agg_vec[b], &z, pre, err, n);
    }
    double tariff[ENV_MAX_ACT]; /* as doubles: market_tariff_to_vec's floats would round it */
    tariff[0] = s->tariff.alpha_buy;
    tariff[1] = s->tariff.alpha_sell;
    memcpy(tariff + 2, s->tariff.fixed_prosumer, C * sizeof(double));
    tariff[2 + C] = s->tariff.fixed_consumer;
    double times[6] = {g->follower_s, g->leader_s, g->clear_rl.dispatch_s, g->clear_ns.dispatch_s,
                       g->lead_env.clear.dispatch_s, g->wall_before + sb_now() - session_start};
    const NestedState *ns = &g->nested;
    int64_t nested[5] = {ns->mf_iter, ns->inner_k, ns->leader_done, ns->have_prev, ns->day_start};
    int64_t crc[REC_N];
    for (int k = 0; k < REC_N; k++) crc[k] = mark->crc[k];
    if (!rc) rc = put_i64(&z, "game.t", g->t, err, n);
    if (!rc) rc = put_i64(&z, "game.period", g->period, err, n);
    if (!rc) rc = put_i64(&z, "game.finished", g->finished, err, n);
    if (!rc) rc = put_i64(&z, "game.slack_steps", g->slack_steps, err, n);
    if (!rc) rc = put_i64(&z, "game.train_env_steps", g->train_env_steps, err, n);
    if (!rc) rc = put(&z, "game.time", NPY_F8, 6, 0, times, err, n);
    if (!rc) rc = put(&z, "game.belief", NPY_F8, B, S, s->belief, err, n);
    if (!rc) rc = put(&z, "game.soc", NPY_F8, B, 0, s->soc, err, n);
    if (!rc) rc = put(&z, "game.tariff", NPY_F8, K, 0, tariff, err, n);
    if (!rc) rc = put(&z, "game.leader_obs", NPY_F4, (size_t)market_leader_obs_dim(s->C), 0, s->leader_obs, err, n);
    if (!rc) rc = put(&z, "game.market_rng", NPY_U8, 4, 0, g->market_rng.s, err, n);
    uint64_t *play = sb_malloc(B * 4 * sizeof *play);
    for (size_t b = 0; b < B; b++) memcpy(play + 4 * b, g->play_rng[b].s, sizeof g->play_rng[b].s);
    if (!rc) rc = put(&z, "game.play_rng", NPY_U8, B, 4, play, err, n);
    free(play);
    if (!rc) rc = put(&z, "game.history.lmp_rl", NPY_F8, T, B, g->lmp_rl_hist, err, n);
    if (!rc) rc = put(&z, "game.history.lmp_ns", NPY_F8, T, B, g->lmp_ns_hist, err, n);
    if (!rc) rc = put(&z, "game.history.fleet", NPY_F8, T, B, g->fleet_hist, err, n);
    if (!rc) rc = put_ledger(&z, "period", &g->period_led, err, n);
    if (!rc) rc = put_ledger(&z, "window", &g->window, err, n);
    if (!rc) rc = put_ledger(&z, "window_base", &g->window_base, err, n);
    if (!rc) rc = put(&z, "game.nested.ints", NPY_I8, 5, 0, nested, err, n);
    if (!rc) rc = put(&z, "game.nested.prev_act", NPY_F4, K, 0, ns->prev_act, err, n);
    if (!rc) rc = put_f64(&z, "game.nested.last_mf_change", ns->last_mf_change, err, n);
    if (!rc) rc = put(&z, "game.nested.before", NPY_F8, B, S, ns->before, err, n);
    if (!rc) rc = put(&z, "records.bytes", NPY_I8, REC_N, 0, mark->bytes, err, n);
    if (!rc) rc = put(&z, "records.crc32", NPY_I8, REC_N, 0, crc, err, n);
    if (!rc && res) rc = put_result(&z, res, err, n);
    char path[4096];
    path_join(path, sizeof path, dir, "checkpoint.npz");
    if (!rc) rc = npz_write(&z, path, err, n);
    npz_free(&z);
    return rc;
}

/* ---- reading ---- */

typedef struct {
    const Npz *z;
    const char *label;
    char *err;
    size_t n;
} Rd;

static int get(Rd *r, const char *name, NpyDtype dt, size_t d0, size_t d1, void *out) {
    size_t shape[2] = {d0, d1};
    return npz_get_exact(r->z, name, dt, shape, d1 ? 2 : 1, out, r->label, r->err, r->n);
}

static int get_i64(Rd *r, const char *name, int64_t *v) { return get(r, name, NPY_I8, 1, 0, v); }
static int get_f64(Rd *r, const char *name, double *v) { return get(r, name, NPY_F8, 1, 0, v); }

static int get_rngs(Rd *r, const char *name, Rng *rng, size_t B) {
    uint64_t *v = sb_malloc(B * 4 * sizeof *v);
    int rc = get(r, name, NPY_U8, B, 4, v);
    for (size_t b = 0; !rc && b < B; b++) memcpy(rng[b].s, v + 4 * b, sizeof rng[b].s);
    free(v);
    return rc;
}

static int get_ledger(Rd *r, const char *which, MarketLedger *l) {
    char name[NPZ_MAX_NAME];
    const size_t B = (size_t)l->n_bus, C = (size_t)l->n_class;
    double sums[3];
    int64_t steps;
#define GET(field, dt, d0, data)                                        \
    do {                                                                \
        snprintf(name, sizeof name, "game.ledger.%s.%s", which, field); \
        if (get(r, name, dt, d0, 0, data)) return -1;                   \
    } while (0)
    GET("bill_class", NPY_F8, C, l->bill_class);
    GET("energy_class", NPY_F8, C, l->energy_class);
    GET("bill_consumer", NPY_F8, B, l->bill_consumer);
    GET("energy_consumer", NPY_F8, B, l->energy_consumer);
    GET("sums", NPY_F8, 3, sums);
    GET("steps", NPY_I8, 1, &steps);
#undef GET
    if (steps < 0) return sb_err(r->err, r->n, "%s: member game.ledger.%s.steps: negative", r->label, which);
    l->revenue = sums[0];
    l->fixed_collected = sums[1];
    l->lmp_sum = sums[2];
    l->steps = (long)steps;
    return 0;
}

static int get_result(Rd *r, const Game *g, GameResult *res) {
    struct {
        const char *name;
        double *v;
    } f[] = {{"imv_rl", &res->imv_rl},
             {"imv_no_storage", &res->imv_no_storage},
             {"eei_gap_baseline", &res->eei_gap_baseline},
             {"eei_gap_learned", &res->eei_gap_learned},
             {"eei_pros_learned", &res->eei_pros_learned},
             {"eei_cons_learned", &res->eei_cons_learned},
             {"alpha_buy", &res->alpha_buy},
             {"alpha_sell", &res->alpha_sell},
             {"fixed_consumer", &res->fixed_consumer},
             {"shortfall", &res->shortfall},
             {"wall_s", &res->wall_s},
             {"follower_s", &res->follower_s},
             {"leader_s", &res->leader_s},
             {"dispatch_s", &res->dispatch_s},
             {"other_s", &res->other_s},
             {"train_steps_per_s", &res->train_steps_per_s}};
    char name[NPZ_MAX_NAME];
    for (size_t i = 0; i < SB_ARRAY_LEN(f); i++) {
        snprintf(name, sizeof name, "result.%s", f[i].name);
        if (get_f64(r, name, f[i].v)) return -1;
    }
    int64_t slack, steps;
    res->n_class = g->g.C;
    res->fixed_class = sb_calloc((size_t)g->g.C, sizeof(double));
    if (get(r, "result.fixed_class", NPY_F8, (size_t)g->g.C, 0, res->fixed_class)) return -1;
    if (get_i64(r, "result.slack_steps", &slack) || get_i64(r, "result.train_env_steps", &steps)) return -1;
    res->slack_steps = (long)slack;
    res->train_env_steps = (long)steps;
    return 0;
}

/* meta.json: our format, this version, a game, this seed, this config and world. */
static int check_meta(Rd *r, const GameConfig *c, const GameWorld *w, long seed) {
    const NpzMember *m = npz_find(r->z, "meta.json");
    if (!m || m->dtype != NPY_RAW) return sb_err(r->err, r->n, "%s: member meta.json: missing", r->label);
    JVal v;
    char jerr[256];
    if (jv_parse(&v, m->data, m->count, jerr, sizeof jerr))
        return sb_err(r->err, r->n, "%s: member meta.json: %s", r->label, jerr);
    const char *format = NULL, *kind = NULL, *fp = NULL;
    double version = 0, written = -1;
    int rc = -1;
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, game_fingerprint(c, w));
    if (jv_get_str(&v, "format", &format) != 1 || strcmp(format, CKPT_FORMAT))
        sb_err(r->err, r->n, "%s: not a stackelberg checkpoint (meta.json format)", r->label);
    else if (jv_get_num(&v, "version", &version) != 1 || version != CKPT_VERSION)
        sb_err(r->err, r->n, "%s: checkpoint version %g; this program reads version %d (start the run again)", r->label,
               version, CKPT_VERSION);
    else if (jv_get_str(&v, "kind", &kind) != 1 || strcmp(kind, "game"))
        sb_err(r->err, r->n, "%s: a checkpoint of a %s run, not of a tariff game", r->label, kind ? kind : "?");
    else if (jv_get_num(&v, "seed", &written) != 1 || written != (double)seed)
        sb_err(r->err, r->n, "%s: written for seed %g, this is seed %ld", r->label, written, seed);
    else if (jv_get_str(&v, "fingerprint", &fp) != 1 || strcmp(fp, want))
        sb_err(r->err, r->n,
               "%s: written by a run with another config or grid (fingerprint %s, this run's %s); a checkpoint "
               "continues only the run that wrote it",
               r->label, fp ? fp : "none", want);
    else
        rc = 0;
    jv_free(&v);
    return rc;
}

static int restore(Game *g, Rd *r, RecorderMark *mark, GameResult *res) {
    if (check_meta(r, g->c, g->w, g->seed)) return -1;
    GameShared *s = &g->g;
    const size_t B = (size_t)s->B, S = (size_t)s->S, C = (size_t)s->C, T = (size_t)g->T;
    const size_t K = (size_t)market_tariff_dim(s->C);
    char name[64], pre[80];
    for (int b = -1; b < s->B; b++) {
        Ppo *p = b < 0 ? g->lead : g->agg[b];
        if (!p) continue;
        agent_name(g, b, name, sizeof name);
        if (ppo_restore(p, r->z, name, r->label, r->err, r->n)) return -1;
        snprintf(pre, sizeof pre, "env.%s", name);
        if (single_envs_restore(b < 0 ? &g->lead_vec : &g->agg_vec[b], r->z, pre, r->label, r->err, r->n)) return -1;
    }
    int64_t t, period, finished, slack, steps, nested[5], crc[REC_N];
    double times[6], tariff[ENV_MAX_ACT];
    if (get_i64(r, "game.t", &t) || get_i64(r, "game.period", &period) || get_i64(r, "game.finished", &finished) ||
        get_i64(r, "game.slack_steps", &slack) || get_i64(r, "game.train_env_steps", &steps) ||
        get(r, "game.time", NPY_F8, 6, 0, times) || get(r, "game.tariff", NPY_F8, K, 0, tariff) ||
        get(r, "game.nested.ints", NPY_I8, 5, 0, nested) || get(r, "records.bytes", NPY_I8, REC_N, 0, mark->bytes) ||
        get(r, "records.crc32", NPY_I8, REC_N, 0, crc))
        return -1;
    if (t < 0 || t > (int64_t)T || period < 0 || (finished && t != (int64_t)T) || nested[1] < 0 || nested[0] < 0)
        return sb_err(r->err, r->n, "%s: game.t, game.period or game.nested.ints out of range for this config", r->label);
    if (get(r, "game.belief", NPY_F8, B, S, s->belief) || get(r, "game.soc", NPY_F8, B, 0, s->soc) ||
        get(r, "game.leader_obs", NPY_F4, (size_t)market_leader_obs_dim(s->C), 0, s->leader_obs) ||
        get(r, "game.market_rng", NPY_U8, 4, 0, g->market_rng.s) || get_rngs(r, "game.play_rng", g->play_rng, B) ||
        get(r, "game.history.lmp_rl", NPY_F8, T, B, g->lmp_rl_hist) ||
        get(r, "game.history.lmp_ns", NPY_F8, T, B, g->lmp_ns_hist) ||
        get(r, "game.history.fleet", NPY_F8, T, B, g->fleet_hist) || get_ledger(r, "period", &g->period_led) ||
        get_ledger(r, "window", &g->window) || get_ledger(r, "window_base", &g->window_base) ||
        get(r, "game.nested.prev_act", NPY_F4, K, 0, g->nested.prev_act) ||
        get_f64(r, "game.nested.last_mf_change", &g->nested.last_mf_change) ||
        get(r, "game.nested.before", NPY_F8, B, S, g->nested.before))
        return -1;
    if (finished && get_result(r, g, res)) return -1;
    s->tariff.alpha_buy = tariff[0];
    s->tariff.alpha_sell = tariff[1];
    memcpy(s->tariff.fixed_prosumer, tariff + 2, C * sizeof(double));
    s->tariff.fixed_consumer = tariff[2 + C];
    g->t = (long)t;
    g->period = (int)period;
    g->finished = finished != 0;
    g->slack_steps = (long)slack;
    g->train_env_steps = (long)steps;
    g->follower_s = times[0];
    g->leader_s = times[1];
    g->clear_rl.dispatch_s = times[2];
    g->clear_ns.dispatch_s = times[3];
    g->lead_env.clear.dispatch_s = times[4];
    g->wall_before = times[5];
    NestedState *ns = &g->nested;
    ns->mf_iter = (int)nested[0];
    ns->inner_k = (int)nested[1];
    ns->leader_done = (int)nested[2];
    ns->have_prev = (int)nested[3];
    ns->day_start = (int)nested[4];
    for (int k = 0; k < REC_N; k++) mark->crc[k] = (uint32_t)crc[k];
    return 0;
}

int game_checkpoint_restore(Game *g, const char *path, RecorderMark *mark, GameResult *res, char *err, size_t n) {
    Npz z;
    if (npz_read(&z, path, err, n)) {
        npz_free(&z);
        return -2; /* a damaged archive is bad input */
    }
    Rd r = {&z, path, err, n};
    int rc = restore(g, &r, mark, res) ? -2 : 0;
    npz_free(&z);
    return rc;
}

/* ---- the root's copies of every aggregator ---- */

void game_sync_followers(Game *g) {
    SbComm *cm = g->o.comm;
    if (!cm || !g->learn_followers || g->synced_t == g->t) return;
    char err[512], name[64], pre[80];
    Npz z;
    npz_init(&z);
    int rc = 0;
    for (int b = g->lo; b < g->hi && g->rank != 0 && !rc; b++) {
        agent_name(g, b, name, sizeof name);
        rc = ppo_save(g->agg[b], &z, name, err, sizeof err);
        snprintf(pre, sizeof pre, "env.%s", name);
        if (!rc) rc = single_envs_save(&g->agg_vec[b], &z, pre, err, sizeof err);
        snprintf(pre, sizeof pre, "play_rng.%s", name);
        if (!rc) rc = put(&z, pre, NPY_U8, 4, 0, g->play_rng[b].s, err, sizeof err);
    }
    unsigned char *buf = NULL, **all;
    size_t len = 0, *lens;
    if (rc || npz_write_mem(&z, &buf, &len, err, sizeof err)) sb_mpi_abort(err);
    npz_free(&z);
    sb_comm_gather_bytes(cm, buf, len, &all, &lens);
    free(buf);
    if (g->rank == 0) {
        const int R = sb_comm_size(cm);
        for (int r = 1; r < R; r++) {
            int lo, hi;
            sb_block(g->g.B, R, r, &lo, &hi);
            Rd rd = {&z, "followers from another rank", err, sizeof err};
            if (npz_read_mem(&z, all[r], lens[r], rd.label, err, sizeof err)) sb_mpi_abort(err);
            for (int b = lo; b < hi; b++) {
                agent_name(g, b, name, sizeof name);
                snprintf(pre, sizeof pre, "env.%s", name);
                if (ppo_restore(g->agg[b], &z, name, rd.label, err, sizeof err) ||
                    single_envs_restore(&g->agg_vec[b], &z, pre, rd.label, err, sizeof err))
                    sb_mpi_abort(err);
                snprintf(pre, sizeof pre, "play_rng.%s", name);
                if (get(&rd, pre, NPY_U8, 4, 0, g->play_rng[b].s)) sb_mpi_abort(err);
            }
            npz_free(&z);
            free(all[r]);
        }
        free(all[0]);
        free(all);
        free(lens);
    }
    g->synced_t = g->t;
}

int game_checkpoint_check(const char *path, const GameConfig *c, const GameWorld *w, long seed,
                          GameCheckpointInfo *info, char *err, size_t n) {
    memset(info, 0, sizeof *info);
    Npz z;
    if (npz_read(&z, path, err, n)) {
        npz_free(&z);
        return -2;
    }
    Rd r = {&z, path, err, n};
    int64_t t, finished, crc[REC_N];
    int rc = -2;
    if (!check_meta(&r, c, w, seed) && !get_i64(&r, "game.t", &t) && !get_i64(&r, "game.finished", &finished) &&
        !get(&r, "records.bytes", NPY_I8, REC_N, 0, info->mark.bytes) && !get(&r, "records.crc32", NPY_I8, REC_N, 0, crc)) {
        if (t < 0 || t > game_total_steps(c) || (finished && t != game_total_steps(c))) {
            sb_err(err, n, "%s: game.t out of range for this config", path);
        } else {
            info->step = (long)t;
            info->finished = finished != 0;
            for (int k = 0; k < REC_N; k++) info->mark.crc[k] = (uint32_t)crc[k];
            rc = 0;
        }
    }
    npz_free(&z);
    return rc;
}
