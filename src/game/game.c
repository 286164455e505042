/* game.c: the Stackelberg tariff game for one seed: setup, the phases, one real market step,
 * the single-loop and nested schedules as game_step, results, and game_run (the loop with
 * the recorder and checkpoints). */
#include "game/game.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "game/game_internal.h"
#include "game/recorder.h"
#include "nn/blas.h"
#include "run/mpi.h"
#include "run/pool.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

#define TRACE(g, phase, t, who)                                                   \
    do {                                                                          \
        if ((g)->o.trace) (g)->o.trace(phase, (long)(t), who, (g)->o.trace_user); \
    } while (0)

void game_result_free(GameResult *r) {
    free(r->fixed_class);
    r->fixed_class = NULL;
}

/* ---- the agents' training rows ---- */

static int log_update(const PpoStats *s, void *user) {
    TrainLog *l = user;
    char name[64];
    if (l->who < 0) snprintf(name, sizeof name, "utility");
    else snprintf(name, sizeof name, "agg_%s", l->gm->g.hh->bus_name[l->who]);
    recorder_training_row(&l->buf, &l->len, &l->cap, name, l->gm->t, l->gm->g.S, s);
    return 0;
}

/* A row of training.csv and its place: step (day * S + hour), then the agent's order. */
typedef struct {
    const char *text;
    size_t len;
    long t;
    int source; /* the utility 0, follower b at b + 1 */
    size_t seq; /* arrival order: rows of one agent and step stay in order */
} Row;

static int row_cmp(const void *pa, const void *pb) {
    const Row *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->source != b->source) return a->source < b->source ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Append the rows of text (len bytes, whole lines) from `source` to *rows. */
static void split_rows(const char *text, size_t len, int source, int S, Row **rows, size_t *n, size_t *cap) {
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        long day = 0, hour = 0;
        const char *comma = memchr(text + at, ',', end - at);
        if (comma) sscanf(comma + 1, "%ld,%ld", &day, &hour);
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            *rows = sb_realloc(*rows, *cap * sizeof **rows);
        }
        (*rows)[*n] = (Row){text + at, end - at, day * S + hour, source, *n};
        (*n)++;
        at = end;
    }
}

/* training.csv gets every agent's rows since the last flush, step by step: at each step the
 * utility's, then every follower's in bus order (the followers' from the ranks that train
 * them). Flushing at any boundary writes the same file. Collective over the seed's group. */
static void flush_training(Game *gm, Recorder *rec) {
    const int B = gm->g.B, S = gm->g.S;
    size_t total = 0;
    for (int b = gm->lo; b < gm->hi; b++) total += gm->tlog[b].len;
    char *blob = sb_malloc(total ? total : 1);
    size_t at = 0;
    for (int b = gm->lo; b < gm->hi; b++) {
        if (gm->tlog[b].len) memcpy(blob + at, gm->tlog[b].buf, gm->tlog[b].len); /* buf is NULL until a row */
        at += gm->tlog[b].len;
        gm->tlog[b].len = 0;
    }
    unsigned char **all;
    size_t *lens;
    sb_comm_gather_bytes(gm->o.comm, blob, total, &all, &lens);
    free(blob);
    TrainLog *lead = &gm->tlog[B];
    if (all) { /* the root */
        Row *rows = NULL;
        size_t n = 0, cap = 0;
        split_rows(lead->buf, lead->len, 0, S, &rows, &n, &cap);
        for (int r = 0; r < gm->ranks; r++) {
            /* rank r's rows are its buses' in bus order: find each bus's by its agent name */
            size_t off = 0;
            int lo, hi;
            sb_block(B, gm->ranks, r, &lo, &hi);
            for (int b = lo; b < hi && off < lens[r]; b++) {
                char name[64];
                int k = snprintf(name, sizeof name, "agg_%s,", gm->g.hh->bus_name[b]);
                size_t end = off;
                while (end < lens[r] && !strncmp((const char *)all[r] + end, name, (size_t)k)) {
                    const char *nl = memchr(all[r] + end, '\n', lens[r] - end);
                    end = nl ? (size_t)(nl - (const char *)all[r]) + 1 : lens[r];
                }
                split_rows((const char *)all[r] + off, end - off, b + 1, S, &rows, &n, &cap);
                off = end;
            }
        }
        if (n) qsort(rows, n, sizeof *rows, row_cmp);
        for (size_t i = 0; i < n && rec; i++) recorder_training(rec, rows[i].text, rows[i].len);
        free(rows);
        for (int r = 0; r < gm->ranks; r++) free(all[r]);
        free(all);
        free(lens);
    }
    lead->len = 0;
}

/* ---- setup ---- */

/* Initial beliefs: a dispatch without batteries on the mean shapes, hour by hour; then their
 * normalisation, the followers' reward scale, and the leader's first observation (the mean
 * day under the baseline tariff). */
static void init_beliefs(Game *gm) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    MarketLedger led;
    market_ledger_init(&led, g->B, g->C, g->S);
    for (int h = 0; h < g->S; h++) {
        hh_mean_step(g->hh, h, &gm->hs);
        market_clear(&gm->clear_ns, h, &gm->hs, gm->hs.prosumer_kwh, 0, gm->lmp_ns, NULL);
        for (int b = 0; b < g->B; b++) g->belief[(size_t)b * g->S + h] = gm->lmp_ns[b];
        market_ledger_step(&led, g->hh, &g->baseline, gm->lmp_ns, gm->hs.group_kwh, gm->hs.consumer_kwh);
    }
    for (int b = 0; b < g->B; b++) {
        market_belief_stats(g->belief + (size_t)b * g->S, g->S, &g->belief_mean[b], &g->belief_sd[b]);
        g->reward_scale[b] = c->aggregator.reward_scale > 0
                                 ? c->aggregator.reward_scale
                                 : market_reward_scale_auto(hh_mean_net_demand_kwh(g->hh, b), g->belief_mean[b]);
    }
    market_eei(&led, g->hh, &gm->eei);
    double sf = market_shortfall(led.revenue, c->utility.fixed_cost_per_day, market_ledger_days(&led));
    market_leader_obs(&gm->eei, market_ledger_mean_lmp(&led), c->utility.obs_lmp_scale, sf, &g->baseline, g->leader_obs);
    market_ledger_free(&led);
    gm->clear_ns.dispatch_s = 0;
}

static int setup_agents(Game *gm, char *err, size_t n) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    const int B = g->B;
    gm->learn_followers = c->learning && c->storage;
    gm->learn_leader = c->learning && c->utility.learn;
    uint64_t s = (uint64_t)gm->seed;
    gm->agg = sb_calloc((size_t)B, sizeof *gm->agg);
    gm->agg_steps = sb_calloc((size_t)B, sizeof *gm->agg_steps);
    gm->tlog = sb_calloc((size_t)B + 1, sizeof *gm->tlog);
    for (int b = 0; b <= B; b++) {
        gm->tlog[b].gm = gm;
        gm->tlog[b].who = b < B ? b : -1;
    }
    if (gm->learn_followers) {
        gm->agg_cls = c->aggregator.action == AGG_GAUSSIAN ? agg_env_class_gaussian : agg_env_class_discrete;
        gm->agg_cls.obs_dim = game_follower_obs_dim(c);
        if (c->aggregator.action != AGG_GAUSSIAN) gm->agg_cls.space.n = g->K;
        gm->agg_env = sb_calloc((size_t)B, sizeof *gm->agg_env);
        gm->agg_envp = sb_calloc((size_t)B, sizeof *gm->agg_envp);
        gm->agg_vec = sb_calloc((size_t)B, sizeof *gm->agg_vec);
        for (int b = 0; b < B; b++) {
            gm->agg[b] = ppo_create(&c->aggregator.ppo, gm->agg_cls.obs_dim, &gm->agg_cls.space, 1,
                                    s * 1000003u + 11u + (uint64_t)b, err, n);
            if (!gm->agg[b]) return -1;
            AggEnv *e = &gm->agg_env[b];
            rng_seed(&e->rng, s, 100 + (uint64_t)b);
            e->g = g;
            e->bus = b;
            e->len = c->aggregator.episode_days * g->S;
            gm->agg_envp[b] = e;
            vecenv_init(&gm->agg_vec[b], &gm->agg_cls, &gm->agg_envp[b], 1);
        }
    }
    if (gm->learn_leader) {
        const int K = market_tariff_dim(g->C);
        gm->lead_cls = lead_env_class;
        gm->lead_cls.obs_dim = market_leader_obs_dim(g->C);
        gm->lead_cls.space.dim = K;
        for (int k = 0; k < K; k++) {
            /* tanh: the env squashes, so the Box is unbounded in effect (clipping a no-op). */
            float lim = c->utility.action_tanh ? 1e30f : 1.0f;
            gm->lead_cls.space.low[k] = -lim;
            gm->lead_cls.space.high[k] = lim;
        }
        gm->lead = ppo_create(&c->utility.ppo, gm->lead_cls.obs_dim, &gm->lead_cls.space, 1, s * 1000003u + 7u, err, n);
        if (!gm->lead) return -1;
        if (c->utility.initial_mean_baseline) {
            /* The policy head's weights start near 0 (orthogonal, gain 0.01), so its bias is
             * the initial mean action: put it on the baseline tariff. */
            float a[ENV_MAX_ACT];
            game_tariff_to_action(g, &g->baseline, a);
            const Mlp *m = ppo_pi_net(gm->lead);
            float *bias = ppo_pi_params(gm->lead) + m->b_off[m->n_layers - 1];
            for (int k = 0; k < K; k++) bias[k] = a[k];
        }
        if (lead_env_init(&gm->lead_env, g, gm->agg, gm->o.pool, err, n)) return -1;
        gm->lead_env_ready = 1;
        rng_seed(&gm->lead_env.rng, s, 200);
        gm->lead_envp = &gm->lead_env;
        vecenv_init(&gm->lead_vec, &gm->lead_cls, &gm->lead_envp, 1);
    }
    return 0;
}

int game_setup(Game **out, const GameConfig *cfg, const GameWorld *w, long seed, const GameOptions *o, char *err,
               size_t n) {
    Game *gm = sb_calloc(1, sizeof *gm);
    *out = NULL;
    gm->c = cfg;
    gm->w = w;
    gm->seed = seed;
    if (o) gm->o = *o;
    gm->rank = sb_comm_rank(gm->o.comm);
    gm->ranks = sb_comm_size(gm->o.comm);
    if (gm->rank != 0) gm->o.progress = NULL;
    GameShared *g = &gm->g;
    game_shared_init(g, cfg, w);
    sb_block(g->B, gm->ranks, gm->rank, &gm->lo, &gm->hi);
    const size_t B = (size_t)g->B;
    rng_seed(&gm->market_rng, (uint64_t)seed, 1);
    gm->play_rng = sb_calloc(B, sizeof *gm->play_rng);
    for (int b = 0; b < g->B; b++) rng_seed(&gm->play_rng[b], (uint64_t)seed, 1000 + (uint64_t)b);
    nn_blas_threads(1);
    hh_step_alloc(&gm->hs, g->hh);
    fleet_buffers_init(&gm->fb, g);
    gm->soc_before = sb_calloc(B, sizeof(double));
    gm->belief_seen = sb_calloc(B, sizeof(double));
    gm->lmp = sb_calloc(B, sizeof(double));
    gm->lmp_ns = sb_calloc(B, sizeof(double));
    market_ledger_init(&gm->period_led, g->B, g->C, g->S);
    market_ledger_init(&gm->window, g->B, g->C, g->S);
    market_ledger_init(&gm->window_base, g->B, g->C, g->S);
    market_eei_init(&gm->eei, g->B, g->C);
    gm->nested.before = sb_calloc(B * (size_t)g->S, sizeof(double));
    gm->T = game_total_steps(cfg);
    gm->synced_t = -1;
    gm->lmp_rl_hist = sb_calloc((size_t)gm->T * B, sizeof(double));
    gm->lmp_ns_hist = sb_calloc((size_t)gm->T * B, sizeof(double));
    gm->fleet_hist = sb_calloc((size_t)gm->T * B, sizeof(double));
    if (market_clear_setup(&gm->clear_rl, w, cfg->voll, err, n) || market_clear_setup(&gm->clear_ns, w, cfg->voll, err, n))
        goto fail;
    init_beliefs(gm);
    /* The root's initial beliefs for all (a dispatch may round differently on another machine). */
    SbComm *cm = gm->o.comm;
    sb_comm_bcast(cm, g->belief, B * (size_t)g->S * sizeof(double));
    sb_comm_bcast(cm, g->belief_mean, B * sizeof(double));
    sb_comm_bcast(cm, g->belief_sd, B * sizeof(double));
    sb_comm_bcast(cm, g->reward_scale, B * sizeof(double));
    sb_comm_bcast(cm, g->leader_obs, (size_t)market_leader_obs_dim(g->C) * sizeof(float));
    if (setup_agents(gm, err, n)) goto fail;
    if (gm->o.progress) gm->o.progress->days = cfg->days;
    *out = gm;
    return 0;
fail:
    game_cleanup(gm);
    return -1;
}

void game_cleanup(Game *gm) {
    if (!gm) return;
    for (int b = 0; gm->agg && b < gm->g.B; b++) {
        if (!gm->agg[b]) continue;
        ppo_free(gm->agg[b]);
        vecenv_free(&gm->agg_vec[b]);
    }
    free(gm->agg);
    free(gm->agg_env);
    free(gm->agg_envp);
    free(gm->agg_vec);
    free(gm->agg_steps);
    for (int b = 0; gm->tlog && b <= gm->g.B; b++) free(gm->tlog[b].buf);
    free(gm->tlog);
    if (gm->lead) {
        ppo_free(gm->lead);
        vecenv_free(&gm->lead_vec);
    }
    if (gm->lead_env_ready) lead_env_free(&gm->lead_env);
    market_clear_cleanup(&gm->clear_rl);
    market_clear_cleanup(&gm->clear_ns);
    hh_step_free(&gm->hs);
    fleet_buffers_free(&gm->fb);
    free(gm->soc_before);
    free(gm->belief_seen);
    free(gm->play_rng);
    free(gm->lmp);
    free(gm->lmp_ns);
    market_ledger_free(&gm->period_led);
    market_ledger_free(&gm->window);
    market_ledger_free(&gm->window_base);
    market_eei_free(&gm->eei);
    free(gm->nested.before);
    free(gm->lmp_rl_hist);
    free(gm->lmp_ns_hist);
    free(gm->fleet_hist);
    game_shared_free(&gm->g);
    free(gm);
}

int game_done(const Game *g) { return g->finished; }
long game_t(const Game *g) { return g->t; }

int game_at_boundary(const Game *g) {
    if (g->c->schedule == GAME_NESTED) return g->nested.inner_k == 0;
    return g->t % game_period_steps(g->c) == 0;
}

/* ---- the phases ---- */

/* act (C+3, may be NULL) receives the new tariff as the policy's action in [-1, 1]. */
static void leader_phase(Game *gm, float *act_out) {
    if (!gm->learn_leader) return;
    GameShared *g = &gm->g;
    const int K = market_tariff_dim(g->C);
    /* The leader lives on the root; its environment plays every follower. What the others
     * need afterwards, the root sends: the action, the tariff (exactly), the steps taken. */
    struct {
        float act[ENV_MAX_ACT];
        double tariff[ENV_MAX_ACT];
        long steps;
    } out;
    memset(&out, 0, sizeof out);
    game_sync_followers(gm);
    if (gm->rank == 0) {
        double t0 = sb_now();
        long before = ppo_total_steps(gm->lead);
        dispatch_reset(gm->lead_env.clear.ds); /* each phase starts cold: see clear.h */
        ppo_learn(gm->lead, &gm->lead_vec, gm->c->utility.train_steps, log_update, &gm->tlog[g->B]);
        gm->leader_s += sb_now() - t0;
        out.steps = ppo_total_steps(gm->lead) - before;
        /* The tariff for the next period: the policy's mean (deterministic) action. */
        ppo_predict(gm->lead, g->leader_obs, NULL, 1, 1, out.act, NULL, NULL);
        game_leader_tariff(g, out.act, &g->tariff);
        out.tariff[0] = g->tariff.alpha_buy;
        out.tariff[1] = g->tariff.alpha_sell;
        memcpy(out.tariff + 2, g->tariff.fixed_prosumer, (size_t)g->C * sizeof(double));
        out.tariff[2 + g->C] = g->tariff.fixed_consumer;
    }
    sb_comm_bcast(gm->o.comm, &out, sizeof out);
    g->tariff.alpha_buy = out.tariff[0];
    g->tariff.alpha_sell = out.tariff[1];
    memcpy(g->tariff.fixed_prosumer, out.tariff + 2, (size_t)g->C * sizeof(double));
    g->tariff.fixed_consumer = out.tariff[2 + g->C];
    gm->train_env_steps += out.steps;
    if (act_out) memcpy(act_out, out.act, (size_t)K * sizeof(float));
}

/* One aggregator's PPO phase: independent of every other (its own agent, env and Rng, the
 * shared state read only), so the phases may run in any order on any thread. */
static void follower_phase(void *ctx, int i) {
    Game *gm = ctx;
    const int b = gm->lo + i;
    long before = ppo_total_steps(gm->agg[b]);
    ppo_learn(gm->agg[b], &gm->agg_vec[b], gm->c->aggregator.train_steps, log_update, &gm->tlog[b]);
    gm->agg_steps[b] = ppo_total_steps(gm->agg[b]) - before;
}

static void follower_phases(Game *gm, long t) {
    if (!gm->learn_followers) return;
    for (int b = gm->lo; b < gm->hi; b++) TRACE(gm, "follower", t, b);
    double t0 = sb_now();
    game_pool_run(gm->o.pool, gm->hi - gm->lo, follower_phase, gm);
    long steps = 0;
    for (int b = gm->lo; b < gm->hi; b++) steps += gm->agg_steps[b];
    gm->train_env_steps += sb_comm_sum_long(gm->o.comm, steps);
    gm->follower_s += sb_now() - t0;
    gm->synced_t = -1;
}

/* One real market step t: draw, act, clear twice, account, move the beliefs, record. */
static void market_step(Game *gm, Recorder *rec) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    const long t = gm->t;
    const int B = g->B, S = g->S, hour = (int)(t % S), day = (int)(t / S);
    const int cycle = c->aggregator.episode_days * S;
    SbComm *cm = gm->o.comm;
    TRACE(gm, "market", t, -1);
    /* The root draws the step; every rank acts for its aggregators; the root clears. */
    if (gm->rank == 0) hh_draw_step(g->hh, c->noise, hour, &gm->market_rng, &gm->hs);
    if (cm) {
        sb_comm_bcast(cm, gm->hs.consumer_kwh, (size_t)B * sizeof(double));
        sb_comm_bcast(cm, gm->hs.prosumer_kwh, (size_t)B * sizeof(double));
        sb_comm_bcast(cm, gm->hs.group_kwh, (size_t)g->G * sizeof(double));
        sb_comm_bcast(cm, gm->hs.solar_mwh, (size_t)g->hh->n_solar * sizeof(double));
    }
    memcpy(gm->soc_before, g->soc, (size_t)B * sizeof(double));
    game_fleet_actions(g, gm->learn_followers ? gm->agg : NULL, &g->tariff, hour, (double)(t % cycle) / cycle, g->soc,
                       &gm->hs, gm->lo, gm->hi, gm->play_rng, 1, gm->o.pool, &gm->fb);
    sb_comm_allgather_blocks(cm, gm->fb.action, B);
    game_fleet_apply(g, g->soc, &gm->hs, &gm->fb);
    int slack = 0;
    if (gm->rank == 0) {
        market_clear(&gm->clear_rl, hour, &gm->hs, gm->fb.fleet_kwh, 0, gm->lmp, &slack);
        market_clear(&gm->clear_ns, hour, &gm->hs, gm->hs.prosumer_kwh, 0, gm->lmp_ns, NULL);
    }
    if (cm) {
        sb_comm_bcast(cm, gm->lmp, (size_t)B * sizeof(double));
        sb_comm_bcast(cm, gm->lmp_ns, (size_t)B * sizeof(double));
        sb_comm_bcast(cm, &slack, sizeof slack);
    }
    gm->slack_steps += slack;
    size_t row = (size_t)t * (size_t)B;
    memcpy(gm->lmp_rl_hist + row, gm->lmp, (size_t)B * sizeof(double));
    memcpy(gm->lmp_ns_hist + row, gm->lmp_ns, (size_t)B * sizeof(double));
    memcpy(gm->fleet_hist + row, gm->fb.fleet_kwh, (size_t)B * sizeof(double));
    market_ledger_step(&gm->period_led, g->hh, &g->tariff, gm->lmp, gm->fb.group_kwh, gm->hs.consumer_kwh);
    if (t >= gm->T - (long)c->report_days * S) {
        market_ledger_step(&gm->window, g->hh, &g->tariff, gm->lmp, gm->fb.group_kwh, gm->hs.consumer_kwh);
        market_ledger_step(&gm->window_base, g->hh, &g->baseline, gm->lmp, gm->fb.group_kwh, gm->hs.consumer_kwh);
    }
    for (int b = 0; b < B; b++) {
        gm->belief_seen[b] = g->belief[(size_t)b * S + hour];
        market_belief_update(g->belief + (size_t)b * S, hour, gm->lmp[b], day, c->aggregator.belief_step);
    }
    if (rec) {
        double hours = gm->w->per_step ? 1.0 : c->step_hours;
        StepRecord s = {.day = day,
                        .hour = hour,
                        .lmp = gm->lmp,
                        .lmp_ns = gm->lmp_ns,
                        .net_kwh = gm->hs.prosumer_kwh,
                        .group_net_kwh = gm->hs.group_kwh,
                        .belief = gm->belief_seen,
                        .fleet_kwh = gm->fb.fleet_kwh,
                        .consumer_kwh = gm->hs.consumer_kwh,
                        .soc_before = gm->soc_before,
                        .action = gm->fb.action,
                        .tariff = &g->tariff,
                        .solar_mwh = gm->hs.solar_mwh,
                        .rl = &gm->clear_rl,
                        .ns = &gm->clear_ns,
                        .cost_rl = dispatch_info(gm->clear_rl.ds)->objective * hours,
                        .cost_ns = dispatch_info(gm->clear_ns.ds)->objective * hours};
        recorder_step(rec, &s);
    }
    gm->t++;
    if (gm->o.progress) {
        GameProgress *p = gm->o.progress;
        long t1 = gm->t, w0 = t1 >= (long)c->report_days * S ? t1 - (long)c->report_days * S : 0;
        p->day = (int)(t / S);
        p->imv = market_imv_mean(gm->lmp_rl_hist + (size_t)w0 * (size_t)B, (size_t)(t1 - w0), (size_t)B);
    }
}

/* Close a leader period: its EEIs, revenue and reward, and the leader's next observation. */
static void close_period(Game *gm, int day_start, Recorder *rec) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    TRACE(gm, "close", gm->t, -1);
    market_eei(&gm->period_led, g->hh, &gm->eei);
    double days = market_ledger_days(&gm->period_led);
    double sf = market_shortfall(gm->period_led.revenue, c->utility.fixed_cost_per_day, days);
    double reward = game_leader_reward(c, g->hh, &gm->eei, gm->period_led.revenue, days);
    double mean_lmp = market_ledger_mean_lmp(&gm->period_led);
    market_leader_obs(&gm->eei, mean_lmp, c->utility.obs_lmp_scale, sf, &g->tariff, g->leader_obs);
    if (rec) {
        PeriodRecord pr = {.period = gm->period,
                           .day_start = day_start,
                           .tariff = &g->tariff,
                           .eei = &gm->eei,
                           .mean_lmp = mean_lmp,
                           .revenue = gm->period_led.revenue,
                           .shortfall = sf,
                           .reward = reward};
        recorder_period(rec, &pr);
    }
    gm->period++;
    market_ledger_reset(&gm->period_led);
}

/* ---- the schedules ---- */

/* The single loop: [leader at a period's first step], followers, market; the period closes
 * after its last step (and the run's last period, possibly partial, after the last step). */
static void step_single_loop(Game *gm, Recorder *rec) {
    const int P = game_period_steps(gm->c);
    const long t = gm->t;
    if (t % P == 0) {
        TRACE(gm, "leader", t, -1);
        leader_phase(gm, NULL);
    }
    follower_phases(gm, t);
    market_step(gm, rec);
    if (gm->t % P == 0 || gm->t == gm->T) close_period(gm, (int)((gm->t - 1) / P * P / gm->g.S), rec);
    if (gm->t == gm->T) gm->finished = 1;
}

/* The nested schedule (Algorithm 1 of [P]). [R] details, each visible in the records: a
 * leader iteration starts with the tariff in force (the baseline for the first); each inner
 * (mean-field) iteration trains every follower once (a PPO phase of train_steps) and then
 * plays mf_days of the real market, which moves the beliefs; the inner loop ends when that L1
 * change (summed over buses and hours, $/MWh) is <= mf_tol or after mf_max_iters; the leader
 * period closes (a row of periods.csv) and the leader trains once; once its tariff (as an
 * action in [-1, 1]) moves by <= tol in L1, or after max_leader_iters, the leader stops
 * learning. The run lasts `days` real days, like the single loop; policies that have settled
 * keep playing. */
static void step_nested(Game *gm, Recorder *rec) {
    const GameConfig *c = gm->c;
    GameShared *g = &gm->g;
    NestedState *ns = &gm->nested;
    const size_t BS = (size_t)g->B * (size_t)g->S;
    if (ns->inner_k == 0) {
        follower_phases(gm, gm->t);
        memcpy(ns->before, g->belief, BS * sizeof(double));
    }
    market_step(gm, rec);
    ns->inner_k++;
    if (ns->inner_k < c->mf_days * g->S && gm->t < gm->T) return;
    double change = 0;
    for (size_t i = 0; i < BS; i++) change += fabs(g->belief[i] - ns->before[i]);
    ns->last_mf_change = change;
    ns->inner_k = 0;
    ns->mf_iter++;
    if (change <= c->mf_tol || ns->mf_iter >= c->mf_max_iters || gm->t >= gm->T) {
        close_period(gm, ns->day_start, rec);
        ns->mf_iter = 0;
        ns->day_start = (int)(gm->t / g->S);
        if (gm->t < gm->T && !ns->leader_done && gm->learn_leader) {
            TRACE(gm, "leader", gm->t, -1);
            float act[ENV_MAX_ACT];
            leader_phase(gm, act);
            const int K = market_tariff_dim(g->C);
            double move = 0;
            for (int k = 0; k < K; k++) move += fabs(act[k] - ns->prev_act[k]);
            if ((ns->have_prev && move <= c->tol) || gm->period >= c->max_leader_iters) ns->leader_done = 1;
            memcpy(ns->prev_act, act, (size_t)K * sizeof(float));
            ns->have_prev = 1;
        }
    }
    if (gm->t >= gm->T) gm->finished = 1;
}

void game_step(Game *gm, Recorder *rec) {
    SB_ASSERT(!gm->finished);
    if (gm->c->schedule == GAME_NESTED) step_nested(gm, rec);
    else step_single_loop(gm, rec);
}

/* ---- results ---- */

static double eei_gap_pp(const MarketLedger *l, const HhParams *hh, MarketEei *e) {
    market_eei(l, hh, e);
    return 100 * fabs(e->prosumer_mean - e->consumer_mean);
}

void game_results(const Game *gm, GameResult *res) {
    const GameConfig *c = gm->c;
    const GameShared *g = &gm->g;
    MarketEei e;
    market_eei_init(&e, g->B, g->C);
    size_t W = (size_t)c->report_days * (size_t)g->S, off = (size_t)(gm->T - (long)W) * (size_t)g->B;
    game_result_free(res);
    memset(res, 0, sizeof *res);
    res->imv_rl = market_imv_mean(gm->lmp_rl_hist + off, W, (size_t)g->B);
    res->imv_no_storage = market_imv_mean(gm->lmp_ns_hist + off, W, (size_t)g->B);
    res->eei_gap_baseline = eei_gap_pp(&gm->window_base, g->hh, &e);
    res->eei_gap_learned = eei_gap_pp(&gm->window, g->hh, &e);
    res->eei_pros_learned = e.prosumer_mean;
    res->eei_cons_learned = e.consumer_mean;
    res->alpha_buy = g->tariff.alpha_buy;
    res->alpha_sell = g->tariff.alpha_sell;
    res->fixed_consumer = g->tariff.fixed_consumer;
    res->n_class = g->C;
    res->fixed_class = sb_malloc((size_t)g->C * sizeof(double));
    memcpy(res->fixed_class, g->tariff.fixed_prosumer, (size_t)g->C * sizeof(double));
    res->shortfall = market_shortfall(gm->window.revenue, c->utility.fixed_cost_per_day, market_ledger_days(&gm->window));
    res->slack_steps = gm->slack_steps;
    /* The real market's clearings; the leader environment's are inside leader_s. */
    res->dispatch_s = gm->clear_rl.dispatch_s + gm->clear_ns.dispatch_s;
    res->comm_s = sb_comm_seconds(gm->o.comm);
    res->follower_s = gm->follower_s;
    res->leader_s = gm->leader_s;
    res->train_env_steps = gm->train_env_steps;
    res->train_steps_per_s = gm->train_env_steps / fmax(gm->follower_s + gm->leader_s, 1e-9);
    market_eei_free(&e);
}

static int write_summary(const Game *gm, const char *dir, const GameResult *r, char *err, size_t n) {
    const HhParams *p = gm->g.hh;
    char path[4096];
    path_join(path, sizeof path, dir, "summary.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_int(&j, "seed", gm->seed);
    json_obj_begin(&j, "imv_last3d");
    json_num(&j, "rl", r->imv_rl);
    json_num(&j, "no_storage", r->imv_no_storage);
    json_obj_end(&j);
    json_obj_begin(&j, "eei_gap");
    json_num(&j, "baseline_tariff", r->eei_gap_baseline);
    json_num(&j, "learned", r->eei_gap_learned);
    json_obj_end(&j);
    json_obj_begin(&j, "fixed_charges");
    for (int k = 0; k < p->n_class; k++) json_num(&j, p->class_name[k], r->fixed_class[k]);
    json_num(&j, "consumers", r->fixed_consumer);
    json_obj_end(&j);
    json_num(&j, "alpha_buy", r->alpha_buy);
    json_num(&j, "alpha_sell", r->alpha_sell);
    json_num(&j, "revenue_shortfall", r->shortfall);
    json_int(&j, "slack_steps", r->slack_steps);
    json_num(&j, "wall_s", r->wall_s);
    json_num(&j, "train_steps_per_s", r->train_steps_per_s);
    json_int(&j, "train_env_steps", r->train_env_steps);
    json_obj_begin(&j, "time_s");
    json_num(&j, "follower_training", r->follower_s);
    json_num(&j, "leader_training", r->leader_s);
    json_num(&j, "dispatch", r->dispatch_s);
    json_num(&j, "communication", r->comm_s);
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

/* ---- the run ---- */

/* A failure on one rank of a group must stop the others (they would wait forever). */
static int group_fail(const GameOptions *o, int rc, const char *err) {
    if (o && o->comm && rc < 0) sb_mpi_abort(err);
    return rc;
}

int game_run(const GameConfig *cfg, const GameWorld *w, long seed, const char *out_dir, int resume,
             const GameOptions *o, GameResult *res, char *err, size_t n) {
    double t_start = sb_now();
    memset(res, 0, sizeof *res);
    Game *gm = NULL;
    Recorder *rec = NULL;
    RecorderMark mark;
    int rc = -1, found = 0;
    if (game_setup(&gm, cfg, w, seed, o, err, n)) return group_fail(o, -1, err);
    const int root = gm->rank == 0;
    SbComm *cm = gm->o.comm;
    if (root && mkdir_p(out_dir, err, n)) goto done;
    char ck[4096];
    path_join(ck, sizeof ck, out_dir, "checkpoint.npz");
    found = resume && access(ck, F_OK) == 0;
    sb_comm_bcast(cm, &found, sizeof found); /* the root's view of the directory */
    if (found) {
        /* Every rank reads the checkpoint (the run directory is shared) and restores it all. */
        if ((rc = game_checkpoint_restore(gm, ck, &mark, res, err, n))) goto done;
        rc = -1;
        if (gm->finished) {
            rc = 0;
            goto done;
        }
    }
    if (root) {
        int orc = recorder_open(&rec, out_dir, cfg, w, found ? &mark : NULL, err, n);
        if (orc) {
            rc = orc;
            goto done;
        }
    }
    volatile int *stop = gm->o.stop;
    int skip = found; /* a restored run resumes after its boundary's checkpoint */
    while (!game_done(gm)) {
        int stopping = root && stop && *stop;
        sb_comm_bcast(cm, &stopping, sizeof stopping);
        if ((game_at_boundary(gm) && !skip) || stopping) {
            game_sync_followers(gm);
            flush_training(gm, rec);
            if (root &&
                (recorder_mark(rec, &mark, err, n) || game_checkpoint_save(gm, out_dir, &mark, NULL, t_start, err, n)))
                goto done;
            if (stopping) {
                rc = 1;
                goto done;
            }
        }
        skip = 0;
        game_step(gm, rec);
    }
    game_results(gm, res);
    res->wall_s = gm->wall_before + sb_now() - t_start;
    res->other_s = res->wall_s - res->follower_s - res->leader_s - res->dispatch_s - res->comm_s;
    game_sync_followers(gm);
    flush_training(gm, rec);
    if (root && (recorder_mark(rec, &mark, err, n) ||
                 recorder_profiles(out_dir, cfg, gm->g.B, gm->lmp_rl_hist, gm->lmp_ns_hist, gm->fleet_hist, err, n) ||
                 write_summary(gm, out_dir, res, err, n) || game_checkpoint_save(gm, out_dir, &mark, res, t_start, err, n)))
        goto done;
    rc = 0;
done:
    if (gm && gm->o.progress && rc == 0) {
        gm->o.progress->day = cfg->days;
        gm->o.progress->imv = res->imv_rl;
        gm->o.progress->eei_gap = res->eei_gap_learned;
    }
    recorder_close(rec);
    group_fail(o, rc, err);
    game_cleanup(gm);
    return rc;
}
