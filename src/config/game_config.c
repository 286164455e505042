/* game_config.c: GameConfig defaults, YAML reader (positions on every error) and validator. */
#include "config/game_config.h"

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ppo_config.h"
#include "util/common.h"
#include "util/datadir.h"
#include "util/fsutil.h"

/* [P] Table 4 on top of SB3's defaults; only the network widths differ between the roles. */
static void table4(PpoConfig *p, int first_width) {
    ppo_config_default(p);
    p->learning_rate = 3e-4;
    p->gamma = 0.9999;
    p->ent_coef = 0.01;
    p->batch_size = 128;
    p->n_epochs = 10;
    p->n_steps = 1200;
    p->clip_range = 0.2;
    p->n_pi = p->n_vf = 2;
    p->pi_arch[0] = p->vf_arch[0] = first_width;
    p->pi_arch[1] = p->vf_arch[1] = 36;
}

void game_config_default(GameConfig *c) {
    memset(c, 0, sizeof *c);
    c->seed = 0;
    c->seeds = 5;
    c->days = 100;
    c->steps_per_day = 8;
    c->step_hours = 3.0;
    c->leader_period_days = 3;
    c->report_days = 3;
    c->schedule = GAME_SINGLE_LOOP;
    c->mf_tol = 1e-3;
    c->mf_days = 3;
    c->mf_max_iters = 20;
    c->tol = 1e-3;
    c->max_leader_iters = 20;
    snprintf(c->grid, sizeof c->grid, "configs/grids/paper3.yaml");
    snprintf(c->grid_path, sizeof c->grid_path, "configs/grids/paper3.yaml");
    c->cost_basis = COST_BASIS_GRID;
    c->base_load = BASE_LOAD_CASE;
    c->voll = 5000.0;
    c->storage = 1;
    c->learning = 1;

    hh_params_default(&c->hh);
    c->bus_pos = sb_calloc((size_t)c->hh.n_bus, sizeof *c->bus_pos);
    c->solar_gen = sb_calloc(2, sizeof *c->solar_gen);
    snprintf(c->solar_gen[0], GAME_NAME_MAX, "solar");
    snprintf(c->solar_gen[1], GAME_NAME_MAX, "solar2");
    c->noise = HH_NOISE_PER_HOUSEHOLD;
    c->train_noise = HH_NOISE_CLT;
    c->shape_len[0] = c->shape_len[1] = c->shape_len[2] = c->hh.steps_per_day;
    c->hh.efficiency_charging_only = 1; /* [R] configs/paper.yaml says why */

    AggregatorConfig *a = &c->aggregator;
    a->action_levels = 201;
    a->action = AGG_DISCRETE;
    a->play = AGG_PLAY_MEAN;
    a->train_steps = 2000;
    a->episode_days = 3;
    a->belief_step = 0.9;
    a->belief_clip = 3.0;
    a->reward_scale = 0.0;
    a->mask_tol = 1e-9;
    a->initial_soc = 0.5;
    a->reward_battery = 1;    /* [A] */
    a->episode_terminate = 1; /* [A] */
    table4(&a->ppo, 18);

    UtilityConfig *u = &c->utility;
    u->learn = 1;
    u->bounds.alpha_lo = 0.0;
    u->bounds.alpha_hi = 0.01;
    u->bounds.fixed_lo = 0.0;
    u->bounds.fixed_hi = 15.0;
    u->action_tanh = 1;
    u->surplus_penalty = 10.0;
    u->eei_gap_groups = 1;
    u->consumer_charge_balancing = 1;
    u->bounds.sell_rule = MARKET_SELL_CLIP;
    u->train_steps = 2000;
    u->episode_periods = 10;
    u->kappa = 10.0;
    u->fixed_cost_per_day = 10800.0;
    u->obs_lmp_scale = 100.0;
    table4(&u->ppo, 24);
    u->ppo.log_std_init = -1.0; /* [R] configs/paper.yaml says why */
}

void game_config_free(GameConfig *c) {
    hh_params_free(&c->hh);
    free(c->from_load_rows);
    free(c->solar_gen);
    free(c->bus_pos);
    c->from_load_rows = NULL;
    c->solar_gen = NULL;
    c->bus_pos = NULL;
}

void game_config_copy(GameConfig *dst, const GameConfig *src) {
    *dst = *src;
    hh_params_copy(&dst->hh, &src->hh);
    size_t R = (size_t)src->from_load_n_rows, U = (size_t)src->hh.n_solar, B = (size_t)src->hh.n_bus;
    dst->from_load_rows = sb_calloc(R ? R : 1, sizeof *dst->from_load_rows);
    memcpy(dst->from_load_rows, src->from_load_rows, R * sizeof *src->from_load_rows);
    dst->solar_gen = sb_calloc(U ? U : 1, sizeof *dst->solar_gen);
    memcpy(dst->solar_gen, src->solar_gen, U * sizeof *src->solar_gen);
    dst->bus_pos = sb_calloc(B ? B : 1, sizeof *dst->bus_pos);
    if (src->bus_pos) memcpy(dst->bus_pos, src->bus_pos, B * sizeof *src->bus_pos);
}

void game_config_where(const GameConfig *c, CfgPos pos, char *out, size_t cap) {
    const char *f = c->source[0] ? c->source : "config";
    if (pos.line > 0) snprintf(out, cap, "%s:%d:%d: ", f, pos.line, pos.col);
    else snprintf(out, cap, "%s: ", f);
}

/* ---- typed readers over dotted paths from the root, so messages name the full key ---- */

typedef struct {
    const YtDoc *d;
    char *err;
    size_t n;
} Rd;

static int rd_long(Rd *r, const char *path, long *dst, double lo, double hi) {
    long v;
    int rc = yt_get_int(r->d, NULL, path, &v, r->err, r->n);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    if (yt_check_range(r->d, NULL, path, (double)v, lo, hi, r->err, r->n)) return -1;
    *dst = v;
    return 1;
}

static int rd_int(Rd *r, const char *path, int *dst, double lo, double hi) {
    long v;
    int rc = rd_long(r, path, &v, lo, hi);
    if (rc > 0) *dst = (int)v;
    return rc;
}

static int rd_dbl(Rd *r, const char *path, double *dst, double lo, double hi) {
    double v;
    int rc = yt_get_double(r->d, NULL, path, &v, r->err, r->n);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    if (yt_check_range(r->d, NULL, path, v, lo, hi, r->err, r->n)) return -1;
    *dst = v;
    return 1;
}

static int rd_bool(Rd *r, const char *path, int *dst) {
    return yt_get_bool(r->d, NULL, path, dst, r->err, r->n) < 0 ? -1 : 0;
}

/* One of `names` (count of them); stores its index. */
static int rd_enum(Rd *r, const char *path, const char *const *names, int count, int *dst) {
    const char *s;
    int rc = yt_get_str(r->d, NULL, path, &s, r->err, r->n);
    if (rc <= 0) return rc;
    for (int i = 0; i < count; i++)
        if (!strcmp(s, names[i])) {
            *dst = i;
            return 1;
        }
    char list[256] = "";
    for (int i = 0; i < count; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < count) strncat(list, " | ", sizeof list - strlen(list) - 1);
    }
    return yt_error_at(r->d, yt_find(r->d, NULL, path), path, r->err, r->n, "expected %s, got \"%s\"", list, s);
}

static int rd_noise(Rd *r, const char *path, HhNoise *dst) {
    static const char *const names[] = {"per_household", "clt", "per_bus"};
    int v = (int)*dst;
    int rc = rd_enum(r, path, names, 3, &v);
    *dst = (HhNoise)hh_noise_parse(names[v]);
    return rc;
}

static int rd_str(Rd *r, const char *path, char *dst, size_t cap) {
    const char *s;
    int rc = yt_get_str(r->d, NULL, path, &s, r->err, r->n);
    if (rc <= 0) return rc;
    if (strlen(s) >= cap || !*s)
        return yt_error_at(r->d, yt_find(r->d, NULL, path), path, r->err, r->n,
                           "expected a non-empty name of fewer than %zu characters", cap);
    snprintf(dst, cap, "%s", s);
    return 1;
}

/* A list of numbers, each in [lo, hi] (positions of the bad item). */
static int rd_list(Rd *r, const char *path, double *dst, size_t cap, size_t *count, double lo, double hi) {
    int rc = yt_get_double_list(r->d, NULL, path, dst, cap, count, r->err, r->n);
    if (rc <= 0) return rc;
    const YtNode *x = yt_find(r->d, NULL, path);
    for (size_t i = 0; i < *count; i++)
        if (!(dst[i] >= lo && dst[i] <= hi))
            return yt_error_at(r->d, x->items[i], path, r->err, r->n, "item %zu must be in [%g, %g], got %g", i,
                               lo, hi, dst[i]);
    return 1;
}

/* [lo, hi] with lo <= hi, both in [min, max]. */
static int rd_bounds(Rd *r, const char *path, double *lo, double *hi, double min, double max) {
    double v[2];
    size_t k = 0;
    int rc = rd_list(r, path, v, 2, &k, min, max);
    if (rc <= 0) return rc;
    const YtNode *x = yt_find(r->d, NULL, path);
    if (k != 2 || v[0] > v[1])
        return yt_error_at(r->d, x, path, r->err, r->n, "expected [low, high] with low <= high");
    *lo = v[0];
    *hi = v[1];
    return 1;
}

static int rd_map(Rd *r, const char *path, const YtNode **out) {
    const YtNode *x = yt_find(r->d, NULL, path);
    *out = NULL;
    if (!x) return 0;
    if (x->kind != YT_MAP) return yt_error_at(r->d, x, path, r->err, r->n, "expected a mapping");
    *out = x;
    return 1;
}

static CfgPos pos_of(const YtNode *x) { return (CfgPos){x ? x->line : 0, x ? x->col : 0}; }

/* households: {NAME: {bus, prosumers, income, storage_kwh, consumers, consumer_income[, class]}}:
 * one prosumer group per bus; its income class is named after the bus unless `class` names one
 * that several buses share (their incomes must agree). The whole table is replaced, every field
 * but class required. */
static int rd_households_per_bus(Rd *r, GameConfig *c, const YtNode *h) {
    HhParams *p = &c->hh;
    int B = (int)h->n;
    int S = p->steps_per_day, U = p->n_solar;
    double *solar = sb_malloc((size_t)(U ? U : 1) * sizeof *solar);
    memcpy(solar, p->solar_capacity_mwh, (size_t)U * sizeof *solar);
    hh_params_alloc(p, B, B, B, U);
    memcpy(p->solar_capacity_mwh, solar, (size_t)U * sizeof *solar);
    free(solar);
    p->steps_per_day = S;
    free(c->bus_pos);
    c->bus_pos = sb_calloc((size_t)B, sizeof *c->bus_pos);
    static const char *const fields[] = {"bus", "prosumers", "income", "storage_kwh", "consumers", "consumer_income"};
    p->n_class = 0; /* counted as the buses name them */
    for (int b = 0; b < B; b++) {
        const char *name = h->keys[b];
        char base[96];
        if (strlen(name) >= GAME_NAME_MAX || strchr(name, '.') || !*name)
            return yt_error_at(r->d, h->items[b], "households", r->err, r->n,
                               "bus names need 1 to %d characters and no '.', got \"%s\"", GAME_NAME_MAX - 1, name);
        if (!strcmp(name, "from_load"))
            return yt_error_at(r->d, h->items[b], "households", r->err, r->n,
                               "from_load generates the households: it cannot stand beside buses given one by one");
        snprintf(p->bus_name[b], GAME_NAME_MAX, "%s", name);
        snprintf(base, sizeof base, "households.%s", name);
        const YtNode *e;
        if (rd_map(r, base, &e) < 0) return -1;
        if (!e) return yt_error_at(r->d, h->items[b], base, r->err, r->n, "expected a mapping");
        for (size_t f = 0; f < SB_ARRAY_LEN(fields); f++)
            if (!yt_find(r->d, e, fields[f]))
                return yt_error_at(r->d, e, base, r->err, r->n, "missing %s", fields[f]);
        char path[160];
#define FIELD(key) (snprintf(path, sizeof path, "%s.%s", base, key), path)
        if (rd_int(r, FIELD("bus"), &p->bus_id[b], 0, 1e9) < 0) return -1;
        c->bus_pos[b] = pos_of(yt_find(r->d, NULL, path));
        if (rd_int(r, FIELD("prosumers"), &p->prosumers[b], 1, 1e8) < 0) return -1;
        double income = 0;
        if (rd_dbl(r, FIELD("income"), &income, 1e-9, 1e12) < 0) return -1;
        const char *cls = name;
        if (yt_get_str(r->d, NULL, FIELD("class"), &cls, r->err, r->n) < 0) return -1;
        if (!*cls || strlen(cls) >= GAME_NAME_MAX || strchr(cls, '.'))
            return yt_error_at(r->d, yt_find(r->d, NULL, path), path, r->err, r->n,
                               "class names need 1 to %d characters and no '.'", GAME_NAME_MAX - 1);
        int k = 0;
        while (k < p->n_class && strcmp(p->class_name[k], cls)) k++;
        if (k == p->n_class) {
            snprintf(p->class_name[k], GAME_NAME_MAX, "%s", cls);
            p->class_income[k] = income;
            p->n_class++;
        } else if (p->class_income[k] != income) {
            int first = 0;
            while (p->group_class[first] != k) first++;
            const YtNode *other = yt_find(r->d, h->items[first], "income");
            return yt_error_at(r->d, yt_find(r->d, NULL, FIELD("income")), path, r->err, r->n,
                               "%g differs from %g, the income of class %s at %s:%d:%d (households.%s.income): a class "
                               "has one income",
                               income, p->class_income[k], cls, r->d->file, other ? other->line : 0, other ? other->col : 0,
                               p->bus_name[first]);
        }
        p->group_class[b] = k;
        if (rd_dbl(r, FIELD("storage_kwh"), &p->storage_kwh[b], 0, 1e6) < 0) return -1;
        if (rd_int(r, FIELD("consumers"), &p->consumers[b], 1, 1e8) < 0) return -1;
        if (rd_dbl(r, FIELD("consumer_income"), &p->consumer_income[b], 1e-9, 1e12) < 0) return -1;
#undef FIELD
        p->group_bus[b] = b;
        for (int o = 0; o < b; o++)
            if (p->bus_id[o] == p->bus_id[b])
                return yt_error_at(r->d, yt_find(r->d, e, "bus"), path, r->err, r->n,
                                   "bus %d already has households (households.%s.bus)", p->bus_id[b], p->bus_name[o]);
    }
    hh_index_groups(p);
    c->from_load = 0;
    return 0;
}

/* One row of the from_load table at path: {share, income[, storage_kwh]}. */
static int rd_class_row(Rd *r, const char *path, const char *name, int prosumer, HhClassRow *row) {
    const YtNode *e;
    if (rd_map(r, path, &e) < 0) return -1;
    if (!e) return yt_error_at(r->d, yt_find(r->d, NULL, path), path, r->err, r->n, "expected a mapping");
    const char *need[] = {"share", "income", "storage_kwh"};
    for (int f = 0; f < (prosumer ? 3 : 2); f++)
        if (!yt_find(r->d, e, need[f])) return yt_error_at(r->d, e, path, r->err, r->n, "missing %s", need[f]);
    if (strlen(name) >= GAME_NAME_MAX || strchr(name, '.') || !*name)
        return yt_error_at(r->d, e, path, r->err, r->n, "class names need 1 to %d characters and no '.'",
                           GAME_NAME_MAX - 1);
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    char key[256];
    snprintf(key, sizeof key, "%s.share", path);
    if (rd_dbl(r, key, &row->share, 1e-12, 1) < 0) return -1;
    snprintf(key, sizeof key, "%s.income", path);
    if (rd_dbl(r, key, &row->income, 1e-9, 1e12) < 0) return -1;
    if (prosumer) {
        snprintf(key, sizeof key, "%s.storage_kwh", path);
        if (rd_dbl(r, key, &row->storage_kwh, 0, 1e6) < 0) return -1;
    }
    return 0;
}

/* households: {from_load: {households: N, prosumers: {CLASS: {share, income, storage_kwh}},
 * consumers: {share, income}}}: generated on the grid's load buses (hh_generate_from_load)
 * once the grid is read. */
static int rd_households_from_load(Rd *r, GameConfig *c, const YtNode *h) {
    const YtNode *f = h->items[0];
    if (h->n != 1 || f->kind != YT_MAP)
        return yt_error_at(r->d, h, "households", r->err, r->n, "from_load must be the only key, a mapping");
    const YtNode *pros, *cons;
    if (rd_map(r, "households.from_load.prosumers", &pros) < 0) return -1;
    if (rd_map(r, "households.from_load.consumers", &cons) < 0) return -1;
    if (!pros || pros->n < 1)
        return yt_error_at(r->d, f, "households.from_load", r->err, r->n,
                           "missing prosumers: {CLASS: {share, income, storage_kwh}, ...}");
    if (!cons) return yt_error_at(r->d, f, "households.from_load", r->err, r->n, "missing consumers: {share, income}");
    if (!yt_find(r->d, f, "households"))
        return yt_error_at(r->d, f, "households.from_load", r->err, r->n, "missing households (how many to place)");
    if (rd_long(r, "households.from_load.households", &c->from_load_households, 1, 1e12) < 0) return -1;
    int R = (int)pros->n + 1;
    free(c->from_load_rows);
    c->from_load_rows = sb_calloc((size_t)R, sizeof *c->from_load_rows);
    c->from_load_n_rows = R;
    char path[256];
    double sum = 0;
    for (int k = 0; k + 1 < R; k++) {
        snprintf(path, sizeof path, "households.from_load.prosumers.%s", pros->keys[k]);
        if (rd_class_row(r, path, pros->keys[k], 1, &c->from_load_rows[k]) < 0) return -1;
        sum += c->from_load_rows[k].share;
    }
    if (rd_class_row(r, "households.from_load.consumers", "consumers", 0, &c->from_load_rows[R - 1]) < 0) return -1;
    sum += c->from_load_rows[R - 1].share;
    if (fabs(sum - 1.0) > 1e-9)
        return yt_error_at(r->d, f, "households.from_load", r->err, r->n,
                           "the shares of the prosumer classes and the consumers must sum to 1, they sum to %.12g", sum);
    /* No buses until the grid is read: keep the shapes and solar, drop the per-bus table. */
    HhParams *p = &c->hh;
    int S = p->steps_per_day, U = p->n_solar;
    double *solar = sb_malloc((size_t)(U ? U : 1) * sizeof *solar);
    memcpy(solar, p->solar_capacity_mwh, (size_t)U * sizeof *solar);
    hh_params_alloc(p, 0, 0, 0, U);
    memcpy(p->solar_capacity_mwh, solar, (size_t)U * sizeof *solar);
    free(solar);
    p->steps_per_day = S;
    free(c->bus_pos);
    c->bus_pos = NULL;
    c->from_load = 1;
    return 0;
}

static int rd_households(Rd *r, GameConfig *c) {
    const YtNode *h;
    int rc = rd_map(r, "households", &h);
    if (rc <= 0) return rc;
    if (h->n < 1) return yt_error_at(r->d, h, "households", r->err, r->n, "expected at least one bus, or from_load");
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->keys[i], "from_load")) return rd_households_from_load(r, c, h);
    return rd_households_per_bus(r, c, h);
}

static int rd_solar(Rd *r, GameConfig *c) {
    const YtNode *s;
    int rc = rd_map(r, "solar", &s);
    if (rc <= 0) return rc;
    const YtNode *g = yt_find(r->d, s, "generators");
    HhParams *p = &c->hh;
    if (g) {
        if (g->kind != YT_SEQ)
            return yt_error_at(r->d, g, "solar.generators", r->err, r->n, "expected a list of generator names");
        int U = (int)g->n;
        free(c->solar_gen);
        c->solar_gen = sb_calloc((size_t)(U ? U : 1), sizeof *c->solar_gen);
        for (int u = 0; u < U; u++) {
            const YtNode *x = g->items[u];
            if (x->kind != YT_SCALAR || !*x->str || strlen(x->str) >= GAME_NAME_MAX)
                return yt_error_at(r->d, x, "solar.generators", r->err, r->n, "expected a generator name");
            snprintf(c->solar_gen[u], GAME_NAME_MAX, "%s", x->str);
            for (int o = 0; o < u; o++)
                if (!strcmp(c->solar_gen[o], x->str))
                    return yt_error_at(r->d, x, "solar.generators", r->err, r->n, "\"%s\" is named twice", x->str);
        }
        free(p->solar_capacity_mwh);
        p->solar_capacity_mwh = sb_calloc((size_t)(U ? U : 1), sizeof *p->solar_capacity_mwh);
        for (int u = 0; u < U; u++) p->solar_capacity_mwh[u] = NAN; /* the generator's Pmax */
        p->n_solar = U;
        c->solar_pos = pos_of(g);
    }
    const YtNode *cap = yt_find(r->d, s, "capacity_mwh");
    if (cap) {
        if (cap->kind != YT_SEQ || (int)cap->n != p->n_solar)
            return yt_error_at(r->d, cap, "solar.capacity_mwh", r->err, r->n,
                               "one capacity per generator: %d generators (solar.generators), %zu capacities",
                               p->n_solar, cap->kind == YT_SEQ ? cap->n : (size_t)0);
        size_t k = 0;
        if (rd_list(r, "solar.capacity_mwh", p->solar_capacity_mwh, (size_t)p->n_solar, &k, 0, 1e9) < 0) return -1;
    }
    return 0;
}

/* `grid` resolves against the directory of the file that names it ([R] a config runs from
 * any working directory); an absolute path, or a value given with --set, is taken as is. */
static void resolve_grid(GameConfig *c, const YtNode *x) {
    const char *g = c->grid;
    if (g[0] == '/' || !c->source[0] || (x && x->set > 0)) {
        snprintf(c->grid_path, sizeof c->grid_path, "%s", g);
        return;
    }
    char *tmp = sb_strdup(c->source);
    const char *dir = dirname(tmp);
    if (!strcmp(dir, ".")) snprintf(c->grid_path, sizeof c->grid_path, "%s", g);
    else path_join(c->grid_path, sizeof c->grid_path, dir, g);
    free(tmp);
}

static int rd_ppo(Rd *r, const char *path, PpoConfig *p) {
    const YtNode *m;
    int rc = rd_map(r, path, &m);
    if (rc <= 0) return rc;
    return ppo_config_from_yaml(r->d, m, p, r->err, r->n) ? -1 : 0;
}

static int read_all(Rd *r, GameConfig *c) {
    static const char *const schedules[] = {"single_loop", "nested"};
    static const char *const bases[] = {"grid", "per_step", "per_hour"}, *const base_loads[] = {"none", "case"};
    static const char *const actions[] = {"discrete", "gaussian"};
    static const char *const plays[] = {"mean", "mode", "sample"};
    static const char *const sell_rules[] = {"clip", "swap"};
    size_t k;
    int v, rc;

    if (rd_long(r, "seed", &c->seed, 0, 9e15) < 0) return -1;
    if (rd_int(r, "seeds", &c->seeds, 1, 1e6) < 0) return -1;
    if (rd_int(r, "days", &c->days, 1, 1e7) < 0) return -1;
    if (rd_int(r, "steps_per_day", &c->steps_per_day, 1, HH_MAX_STEPS) < 0) return -1;
    if (rd_dbl(r, "step_hours", &c->step_hours, 1e-6, 24) < 0) return -1;
    if (rd_int(r, "leader_period_days", &c->leader_period_days, 1, 1e6) < 0) return -1;
    if (rd_int(r, "report_days", &c->report_days, 1, 1e7) < 0) return -1;
    v = (int)c->schedule;
    if (rd_enum(r, "schedule", schedules, 2, &v) < 0) return -1;
    c->schedule = (GameSchedule)v;
    if (rd_dbl(r, "mf_tol", &c->mf_tol, 0, 1e12) < 0) return -1;
    if (rd_int(r, "mf_days", &c->mf_days, 1, 1e6) < 0) return -1;
    if (rd_int(r, "mf_max_iters", &c->mf_max_iters, 1, 1e6) < 0) return -1;
    if (rd_dbl(r, "tol", &c->tol, 0, 1e12) < 0) return -1;
    if (rd_int(r, "max_leader_iters", &c->max_leader_iters, 1, 1e6) < 0) return -1;
    if ((rc = rd_str(r, "grid", c->grid, sizeof c->grid)) < 0) return -1;
    if (rc) {
        const YtNode *g = yt_find(r->d, NULL, "grid");
        c->grid_pos = pos_of(g);
        resolve_grid(c, g);
    } else {
        /* A config file that names no grid gets the default one from the data directory, so
         * it runs from any working directory (util/datadir.h). */
        sb_data_path(c->grid_path, sizeof c->grid_path, c->grid);
    }
    v = (int)c->cost_basis;
    if (rd_enum(r, "cost_basis", bases, 3, &v) < 0) return -1;
    c->cost_basis = (CostBasis)v;
    v = (int)c->base_load;
    if (rd_enum(r, "base_load", base_loads, 2, &v) < 0) return -1;
    c->base_load = (BaseLoad)v;
    {
        const YtNode *rec = yt_find(r->d, NULL, "record");
        if (rec) {
            if (rec->kind != YT_SEQ) return yt_error_at(r->d, rec, "record", r->err, r->n, "expected a list, e.g. [grid]");
            c->record = 0;
            for (size_t i = 0; i < rec->n; i++) {
                const YtNode *x = rec->items[i];
                if (x->kind != YT_SCALAR || strcmp(x->str, "grid"))
                    return yt_error_at(r->d, x, "record", r->err, r->n, "expected grid, got \"%s\"",
                                       x->kind == YT_SCALAR ? x->str : "a list or map");
                c->record |= GAME_RECORD_GRID;
            }
        }
    }
    if (rd_dbl(r, "voll", &c->voll, 0, 1e12) < 0) return -1;
    if (rd_bool(r, "storage", &c->storage) < 0) return -1;
    if (rd_bool(r, "learning", &c->learning) < 0) return -1;
    long ts = 0;
    if ((rc = rd_long(r, "train_steps", &ts, 1, 1e12)) < 0) return -1;
    if (rc) c->aggregator.train_steps = c->utility.train_steps = ts;

    /* Households and their energy. */
    if (rd_households(r, c) < 0) return -1;
    HhParams *p = &c->hh;
    p->steps_per_day = c->steps_per_day;
    double shape[HH_MAX_STEPS];
    static const char *const shape_keys[3] = {"shapes.consumer", "shapes.prosumer", "shapes.solar"};
    double *shape_dst[3] = {p->shape_consumer, p->shape_prosumer, p->shape_solar};
    const YtNode *shapes;
    if (rd_map(r, "shapes", &shapes) < 0) return -1;
    for (int s = 0; s < 3; s++) {
        if ((rc = rd_list(r, shape_keys[s], shape, HH_MAX_STEPS, &k, 0, s == 2 ? 1 : 1e6)) < 0) return -1;
        if (rc) {
            memcpy(shape_dst[s], shape, k * sizeof *shape);
            c->shape_len[s] = (int)k;
            if ((int)k != c->steps_per_day)
                return yt_error_at(r->d, yt_find(r->d, NULL, shape_keys[s]), shape_keys[s], r->err, r->n,
                                   "expected steps_per_day = %d values, got %zu", c->steps_per_day, k);
        }
    }
    if ((rc = rd_list(r, "base_load_shape", c->base_load_shape, HH_MAX_STEPS, &k, 0, 1e6)) < 0) return -1;
    if (rc) {
        c->base_load_shape_len = (int)k;
        if ((int)k != c->steps_per_day)
            return yt_error_at(r->d, yt_find(r->d, NULL, "base_load_shape"), "base_load_shape", r->err, r->n,
                               "expected steps_per_day = %d values, got %zu", c->steps_per_day, k);
    }
    if (rd_dbl(r, "demand_scale_kwh", &p->demand_scale_kwh, 1e-9, 1e9) < 0) return -1;
    if (rd_dbl(r, "efficiency", &p->efficiency, 1e-6, 1) < 0) return -1;
    {
        static const char *const applies[] = {"both", "charging"};
        if (rd_enum(r, "efficiency_applies", applies, 2, &p->efficiency_charging_only) < 0) return -1;
    }
    if (rd_noise(r, "noise", &c->noise) < 0) return -1;
    if (rd_noise(r, "train_noise", &c->train_noise) < 0) return -1;
    const YtNode *tri;
    if (rd_map(r, "noise_triangular", &tri) < 0) return -1;
    if (rd_dbl(r, "noise_triangular.low", &p->noise_low, 1e-9, 1e3) < 0) return -1;
    if (rd_dbl(r, "noise_triangular.mode", &p->noise_mode, 1e-9, 1e3) < 0) return -1;
    if (rd_dbl(r, "noise_triangular.high", &p->noise_high, 1e-9, 1e3) < 0) return -1;
    if (tri && !(p->noise_low <= p->noise_mode && p->noise_mode <= p->noise_high))
        return yt_error_at(r->d, tri, "noise_triangular", r->err, r->n, "need low <= mode <= high");
    if (rd_solar(r, c) < 0) return -1;

    /* Followers. */
    AggregatorConfig *a = &c->aggregator;
    const YtNode *sec;
    if (rd_map(r, "aggregator", &sec) < 0) return -1;
    if (rd_int(r, "aggregator.action_levels", &a->action_levels, 3, 100001) < 0) return -1;
    v = (int)a->action;
    if (rd_enum(r, "aggregator.action", actions, 2, &v) < 0) return -1;
    a->action = (AggAction)v;
    v = (int)a->play;
    if (rd_enum(r, "aggregator.play", plays, 3, &v) < 0) return -1;
    a->play = (AggPlay)v;
    if (rd_long(r, "aggregator.train_steps", &a->train_steps, 0, 1e12) < 0) return -1;
    if (rd_int(r, "aggregator.episode_days", &a->episode_days, 1, 1e6) < 0) return -1;
    if (rd_dbl(r, "aggregator.belief_step", &a->belief_step, 0, 1) < 0) return -1;
    if (rd_dbl(r, "aggregator.belief_clip", &a->belief_clip, 1e-9, 1e9) < 0) return -1;
    const YtNode *rs = yt_find(r->d, NULL, "aggregator.reward_scale");
    if (rs && rs->kind == YT_SCALAR && !strcmp(rs->str, "auto")) a->reward_scale = 0.0;
    else if (rd_dbl(r, "aggregator.reward_scale", &a->reward_scale, 1e-12, 1e15) < 0) return -1;
    if (rd_dbl(r, "aggregator.mask_tol", &a->mask_tol, 0, 1e-3) < 0) return -1;
    if (rd_dbl(r, "aggregator.initial_soc", &a->initial_soc, 0, 1) < 0) return -1;
    if (rd_bool(r, "aggregator.obs_progress", &a->obs_progress) < 0) return -1;
    {
        static const char *const rewards[] = {"bill", "battery"}, *const ends[] = {"truncate", "terminate"};
        if (rd_enum(r, "aggregator.reward", rewards, 2, &a->reward_battery) < 0) return -1;
        if (rd_enum(r, "aggregator.episode_end", ends, 2, &a->episode_terminate) < 0) return -1;
    }
    if (rd_ppo(r, "aggregator.ppo", &a->ppo) < 0) return -1;

    /* Leader. */
    UtilityConfig *u = &c->utility;
    if (rd_map(r, "utility", &sec) < 0) return -1;
    if (rd_bool(r, "utility.learn", &u->learn) < 0) return -1;
    if (rd_bounds(r, "utility.alpha_bounds", &u->bounds.alpha_lo, &u->bounds.alpha_hi, -10, 10) < 0) return -1;
    if (rd_bounds(r, "utility.fixed_charge_bounds", &u->bounds.fixed_lo, &u->bounds.fixed_hi, 0, 1e6) < 0)
        return -1;
    v = (int)u->bounds.sell_rule;
    if (rd_enum(r, "utility.sell_above_buy", sell_rules, 2, &v) < 0) return -1;
    u->bounds.sell_rule = (MarketSellRule)v;
    if (rd_long(r, "utility.train_steps", &u->train_steps, 0, 1e12) < 0) return -1;
    if (rd_int(r, "utility.episode_periods", &u->episode_periods, 1, 1e6) < 0) return -1;
    {
        static const char *const maps[] = {"clip", "tanh"}, *const starts[] = {"midpoint", "baseline"},
                                 *const charges[] = {"learned", "balancing"};
        if (rd_enum(r, "utility.action_map", maps, 2, &u->action_tanh) < 0) return -1;
        if (rd_enum(r, "utility.initial_mean", starts, 2, &u->initial_mean_baseline) < 0) return -1;
        if (rd_enum(r, "utility.consumer_charge", charges, 2, &u->consumer_charge_balancing) < 0) return -1;
    }
    if (rd_dbl(r, "utility.kappa", &u->kappa, 0, 1e9) < 0) return -1;
    if (rd_dbl(r, "utility.surplus_penalty", &u->surplus_penalty, 0, 1e9) < 0) return -1;
    {
        static const char *const gaps[] = {"pooled", "groups"};
        if (rd_enum(r, "utility.eei_gap", gaps, 2, &u->eei_gap_groups) < 0) return -1;
    }
    if (rd_dbl(r, "utility.fixed_cost_per_day", &u->fixed_cost_per_day, 0, 1e15) < 0) return -1;
    if (rd_dbl(r, "utility.obs_lmp_scale", &u->obs_lmp_scale, 1e-9, 1e9) < 0) return -1;
    if (rd_ppo(r, "utility.ppo", &u->ppo) < 0) return -1;

    if (!c->learning) u->learn = 0;
    return 0;
}

int game_config_from_yaml(const YtDoc *d, GameConfig *c, char *err, size_t n) {
    if (err && n) err[0] = 0;
    Rd r = {d, err, n};
    snprintf(c->source, sizeof c->source, "%s", d->file ? d->file : "");
    if (read_all(&r, c)) return -1;
    if (yt_check_unused(d, NULL, err, n)) return -1;
    char msg[512];
    if (game_config_validate(c, msg, sizeof msg)) return sb_err(err, n, "%s: %s", d->file, msg);
    return 0;
}

int game_config_load(const char *path, GameConfig *c, char *err, size_t n) {
    YtDoc d;
    game_config_default(c);
    if (yt_load_file(&d, path, err, n)) return -1;
    int rc = game_config_from_yaml(&d, c, err, n);
    yt_free(&d);
    return rc;
}

int game_config_validate(const GameConfig *c, char *err, size_t n) {
    const HhParams *p = &c->hh;
    if (p->steps_per_day != c->steps_per_day)
        return sb_err(err, n, "steps_per_day: households hold %d, the game %d", p->steps_per_day, c->steps_per_day);
    static const char *const names[3] = {"shapes.consumer", "shapes.prosumer", "shapes.solar"};
    for (int s = 0; s < 3; s++)
        if (c->shape_len[s] != c->steps_per_day)
            return sb_err(err, n, "%s: expected steps_per_day = %d values, got %d", names[s], c->steps_per_day,
                          c->shape_len[s]);
    if (!c->from_load && hh_params_validate(p, err, n)) return -1;
    if (c->from_load && c->from_load_n_rows < 2) return sb_err(err, n, "households.from_load: no classes");
    if (c->base_load_shape_len && c->base_load_shape_len != c->steps_per_day)
        return sb_err(err, n, "base_load_shape: expected steps_per_day = %d values, got %d", c->steps_per_day,
                      c->base_load_shape_len);
    if (c->days < 1) return sb_err(err, n, "days: must be >= 1");
    if (c->seeds < 1) return sb_err(err, n, "seeds: must be >= 1");
    if (c->leader_period_days < 1 || c->leader_period_days > c->days)
        return sb_err(err, n, "leader_period_days: must be in [1, days = %d], got %d", c->days, c->leader_period_days);
    if (c->report_days < 1 || c->report_days > c->days)
        return sb_err(err, n, "report_days: must be in [1, days = %d], got %d", c->days, c->report_days);
    if (c->schedule == GAME_NESTED && !c->learning)
        return sb_err(err, n, "schedule: nested needs learning: true");
    if (!c->grid[0]) return sb_err(err, n, "grid: a path is required");
    if (!(c->voll >= 0)) return sb_err(err, n, "voll: must be >= 0");

    const AggregatorConfig *a = &c->aggregator;
    if (a->action_levels < 3 || a->action_levels % 2 == 0)
        return sb_err(err, n, "aggregator.action_levels: must be odd and >= 3 so that 0 is a level, got %d",
                      a->action_levels);
    if (c->learning && c->storage && a->train_steps < 1)
        return sb_err(err, n, "aggregator.train_steps: must be >= 1 when learning");
    if (!(a->belief_step >= 0 && a->belief_step <= 1)) return sb_err(err, n, "aggregator.belief_step: must be in [0, 1]");
    if (!(a->belief_clip > 0)) return sb_err(err, n, "aggregator.belief_clip: must be > 0");
    if (!(a->reward_scale >= 0)) return sb_err(err, n, "aggregator.reward_scale: must be auto or > 0");
    if (!(a->initial_soc >= 0 && a->initial_soc <= 1)) return sb_err(err, n, "aggregator.initial_soc: must be in [0, 1]");
    char sub[400];
    if (ppo_config_validate(&a->ppo, sub, sizeof sub)) return sb_err(err, n, "aggregator.ppo.%s", sub);

    const UtilityConfig *u = &c->utility;
    const TariffBounds *bd = &u->bounds;
    if (!(bd->alpha_lo <= bd->alpha_hi)) return sb_err(err, n, "utility.alpha_bounds: low must be <= high");
    if (!(bd->fixed_lo >= 0 && bd->fixed_lo <= bd->fixed_hi))
        return sb_err(err, n, "utility.fixed_charge_bounds: need 0 <= low <= high");
    if (u->learn && u->train_steps < 1) return sb_err(err, n, "utility.train_steps: must be >= 1 when learning");
    if (u->episode_periods < 1) return sb_err(err, n, "utility.episode_periods: must be >= 1");
    if (!(u->kappa >= 0)) return sb_err(err, n, "utility.kappa: must be >= 0");
    if (!(u->fixed_cost_per_day >= 0)) return sb_err(err, n, "utility.fixed_cost_per_day: must be >= 0");
    if (!(u->obs_lmp_scale > 0)) return sb_err(err, n, "utility.obs_lmp_scale: must be > 0");
    /* The baseline tariff must be a feasible leader action, or "before learning" would be a
     * point the leader can never return to. (From the grid's loads: game_world_load checks.) */
    if (!c->from_load && game_config_check_baseline(c, p, err, n)) return -1;
    if (bd->alpha_lo > 0 || bd->alpha_hi < 0)
        return sb_err(err, n, "utility.alpha_bounds: must contain 0 (the baseline tariff's alpha)");
    if (ppo_config_validate(&u->ppo, sub, sizeof sub)) return sb_err(err, n, "utility.ppo.%s", sub);
    return 0;
}

int game_config_check_baseline(const GameConfig *c, const HhParams *p, char *err, size_t n) {
    const TariffBounds *bd = &c->utility.bounds;
    double base = c->utility.fixed_cost_per_day / (double)hh_total_households(p);
    if (base < bd->fixed_lo || base > bd->fixed_hi)
        return sb_err(err, n,
                      "utility.fixed_charge_bounds: the baseline charge fixed_cost_per_day / households = %g "
                      "$/household/day lies outside [%g, %g] (utility.fixed_cost_per_day = %g, %ld households)",
                      base, bd->fixed_lo, bd->fixed_hi, c->utility.fixed_cost_per_day, hh_total_households(p));
    return 0;
}

int game_period_steps(const GameConfig *c) { return c->steps_per_day * c->leader_period_days; }
long game_total_steps(const GameConfig *c) { return (long)c->steps_per_day * c->days; }

const char *game_schedule_str(GameSchedule s) { return s == GAME_NESTED ? "nested" : "single_loop"; }
const char *agg_action_str(AggAction a) { return a == AGG_GAUSSIAN ? "gaussian" : "discrete"; }
const char *agg_play_str(AggPlay p) {
    return p == AGG_PLAY_MODE ? "mode" : p == AGG_PLAY_SAMPLE ? "sample" : "mean";
}

static void ppo_json(const PpoConfig *p, Json *j) {
    json_obj_begin(j, "ppo");
    json_num(j, "learning_rate", p->learning_rate);
    json_bool(j, "lr_linear", p->lr_linear);
    json_int(j, "n_steps", p->n_steps);
    json_int(j, "batch_size", p->batch_size);
    json_int(j, "n_epochs", p->n_epochs);
    json_num(j, "gamma", p->gamma);
    json_num(j, "gae_lambda", p->gae_lambda);
    json_num(j, "clip_range", p->clip_range);
    json_bool(j, "clip_linear", p->clip_linear);
    if (p->clip_range_vf > 0) json_num(j, "clip_range_vf", p->clip_range_vf);
    else json_null(j, "clip_range_vf");
    json_bool(j, "normalize_advantage", p->normalize_advantage);
    json_num(j, "ent_coef", p->ent_coef);
    json_num(j, "vf_coef", p->vf_coef);
    json_num(j, "max_grad_norm", p->max_grad_norm);
    if (p->target_kl > 0) json_num(j, "target_kl", p->target_kl);
    else json_null(j, "target_kl");
    json_obj_begin(j, "net_arch");
    json_arr_begin(j, "pi");
    for (int i = 0; i < p->n_pi; i++) json_int(j, NULL, p->pi_arch[i]);
    json_arr_end(j);
    json_arr_begin(j, "vf");
    for (int i = 0; i < p->n_vf; i++) json_int(j, NULL, p->vf_arch[i]);
    json_arr_end(j);
    json_obj_end(j);
    json_str(j, "activation_fn", p->activation == MLP_RELU ? "relu" : "tanh");
    json_num(j, "log_std_init", p->log_std_init);
    json_bool(j, "ortho_init", p->ortho_init);
    json_bool(j, "norm_obs", p->norm_obs);
    json_bool(j, "norm_reward", p->norm_reward);
    json_obj_end(j);
}

void game_config_json(const GameConfig *c, Json *j, const char *key) {
    const HhParams *p = &c->hh;
    json_obj_begin(j, key);
    json_str(j, "source", c->source);
    json_int(j, "seed", c->seed);
    json_int(j, "seeds", c->seeds);
    json_int(j, "days", c->days);
    json_int(j, "steps_per_day", c->steps_per_day);
    json_num(j, "step_hours", c->step_hours);
    json_int(j, "leader_period_days", c->leader_period_days);
    json_int(j, "report_days", c->report_days);
    json_str(j, "schedule", game_schedule_str(c->schedule));
    json_num(j, "mf_tol", c->mf_tol);
    json_int(j, "mf_days", c->mf_days);
    json_int(j, "mf_max_iters", c->mf_max_iters);
    json_num(j, "tol", c->tol);
    json_int(j, "max_leader_iters", c->max_leader_iters);
    json_str(j, "grid", c->grid_path); /* the file opened (relative to the working directory) */
    static const char *const bases[] = {"grid", "per_step", "per_hour"};
    json_str(j, "cost_basis", bases[c->cost_basis]);
    json_str(j, "base_load", c->base_load == BASE_LOAD_CASE ? "case" : "none");
    if (c->base_load_shape_len) json_num_array(j, "base_load_shape", c->base_load_shape, (size_t)c->base_load_shape_len);
    else json_str(j, "base_load_shape", "consumer shape / its mean");
    json_arr_begin(j, "record");
    if (c->record & GAME_RECORD_GRID) json_str(j, NULL, "grid");
    json_arr_end(j);
    json_num(j, "voll", c->voll);
    json_bool(j, "storage", c->storage);
    json_bool(j, "learning", c->learning);

    json_obj_begin(j, "households");
    if (c->from_load) {
        const int R = c->from_load_n_rows;
        json_obj_begin(j, "from_load");
        json_int(j, "households", c->from_load_households);
        json_obj_begin(j, "prosumers");
        for (int k = 0; k + 1 < R; k++) {
            json_obj_begin(j, c->from_load_rows[k].name);
            json_num(j, "share", c->from_load_rows[k].share);
            json_num(j, "income", c->from_load_rows[k].income);
            json_num(j, "storage_kwh", c->from_load_rows[k].storage_kwh);
            json_obj_end(j);
        }
        json_obj_end(j);
        json_obj_begin(j, "consumers");
        json_num(j, "share", c->from_load_rows[R - 1].share);
        json_num(j, "income", c->from_load_rows[R - 1].income);
        json_obj_end(j);
        json_obj_end(j);
    } else {
        for (int b = 0; b < p->n_bus; b++) {
            int g = p->group_first[b];
            json_obj_begin(j, p->bus_name[b]);
            json_int(j, "bus", p->bus_id[b]);
            json_int(j, "prosumers", p->prosumers[g]);
            json_num(j, "income", p->class_income[p->group_class[g]]);
            json_num(j, "storage_kwh", p->storage_kwh[g]);
            json_int(j, "consumers", p->consumers[b]);
            json_num(j, "consumer_income", p->consumer_income[b]);
            const char *cls = p->class_name[p->group_class[g]];
            if (strcmp(cls, p->bus_name[b])) json_str(j, "class", cls);
            json_obj_end(j);
        }
    }
    json_obj_end(j);
    json_obj_begin(j, "shapes");
    json_num_array(j, "consumer", p->shape_consumer, (size_t)p->steps_per_day);
    json_num_array(j, "prosumer", p->shape_prosumer, (size_t)p->steps_per_day);
    json_num_array(j, "solar", p->shape_solar, (size_t)p->steps_per_day);
    json_obj_end(j);
    json_num(j, "demand_scale_kwh", p->demand_scale_kwh);
    json_num(j, "efficiency", p->efficiency);
    json_str(j, "efficiency_applies", p->efficiency_charging_only ? "charging" : "both");
    json_str(j, "noise", hh_noise_str(c->noise));
    json_str(j, "train_noise", hh_noise_str(c->train_noise));
    json_obj_begin(j, "noise_triangular");
    json_num(j, "low", p->noise_low);
    json_num(j, "mode", p->noise_mode);
    json_num(j, "high", p->noise_high);
    json_obj_end(j);
    json_obj_begin(j, "solar");
    json_arr_begin(j, "generators");
    for (int u = 0; u < p->n_solar; u++) json_str(j, NULL, c->solar_gen[u]);
    json_arr_end(j);
    json_arr_begin(j, "capacity_mwh");
    for (int u = 0; u < p->n_solar; u++) {
        if (isnan(p->solar_capacity_mwh[u])) json_str(j, NULL, "pmax");
        else json_num(j, NULL, p->solar_capacity_mwh[u]);
    }
    json_arr_end(j);
    json_obj_end(j);

    const AggregatorConfig *a = &c->aggregator;
    json_obj_begin(j, "aggregator");
    json_int(j, "action_levels", a->action_levels);
    json_str(j, "action", agg_action_str(a->action));
    json_str(j, "play", agg_play_str(a->play));
    json_int(j, "train_steps", a->train_steps);
    json_int(j, "episode_days", a->episode_days);
    json_num(j, "belief_step", a->belief_step);
    json_num(j, "belief_clip", a->belief_clip);
    if (a->reward_scale > 0) json_num(j, "reward_scale", a->reward_scale);
    else json_str(j, "reward_scale", "auto");
    json_num(j, "mask_tol", a->mask_tol);
    json_num(j, "initial_soc", a->initial_soc);
    json_bool(j, "obs_progress", a->obs_progress);
    json_str(j, "reward", a->reward_battery ? "battery" : "bill");
    json_str(j, "episode_end", a->episode_terminate ? "terminate" : "truncate");
    ppo_json(&a->ppo, j);
    json_obj_end(j);

    const UtilityConfig *u = &c->utility;
    json_obj_begin(j, "utility");
    json_bool(j, "learn", u->learn);
    double ab[2] = {u->bounds.alpha_lo, u->bounds.alpha_hi}, fb[2] = {u->bounds.fixed_lo, u->bounds.fixed_hi};
    json_num_array(j, "alpha_bounds", ab, 2);
    json_num_array(j, "fixed_charge_bounds", fb, 2);
    json_str(j, "sell_above_buy", u->bounds.sell_rule == MARKET_SELL_SWAP ? "swap" : "clip");
    json_int(j, "train_steps", u->train_steps);
    json_int(j, "episode_periods", u->episode_periods);
    json_str(j, "action_map", u->action_tanh ? "tanh" : "clip");
    json_str(j, "initial_mean", u->initial_mean_baseline ? "baseline" : "midpoint");
    json_str(j, "consumer_charge", u->consumer_charge_balancing ? "balancing" : "learned");
    json_num(j, "kappa", u->kappa);
    json_num(j, "surplus_penalty", u->surplus_penalty);
    json_str(j, "eei_gap", u->eei_gap_groups ? "groups" : "pooled");
    json_num(j, "fixed_cost_per_day", u->fixed_cost_per_day);
    json_num(j, "obs_lmp_scale", u->obs_lmp_scale);
    ppo_json(&u->ppo, j);
    json_obj_end(j);
    json_obj_end(j);
}
