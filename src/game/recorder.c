/* recorder.c: a seed's CSV records, checksummed as written, verified on resume (recorder.h). */
#include "game/recorder.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/common.h"
#include "util/fsutil.h"

typedef struct {
    FILE *f;
    char path[4096];
    int64_t bytes;
    uint32_t crc;
} Log;

struct Recorder {
    const GameConfig *c;
    const GameWorld *w;
    Log log[REC_N];
    char line[1 << 14];
};

static const char *const FILES[REC_N] = {"steps.csv",      "draws.csv",     "periods.csv",   "training.csv",
                                         "grid_buses.csv", "grid_gens.csv", "grid_steps.csv"};

/* An error that is the input's fault (exit 2). */
static int bad_input(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_input(char *err, size_t n, const char *fmt, ...) {
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -2;
}

static int wanted(const GameConfig *c, int k) {
    return k < REC_GRID_BUSES || (c->record & GAME_RECORD_GRID);
}

/* Append printf output to a log, keeping its length and CRC. */
static void logf_(Recorder *r, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(Recorder *r, int k, const char *fmt, ...) {
    Log *l = &r->log[k];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(r->line, sizeof r->line, fmt, ap);
    va_end(ap);
    SB_ASSERT(len >= 0 && (size_t)len < sizeof r->line);
    fwrite(r->line, 1, (size_t)len, l->f);
    l->crc = (uint32_t)crc32(l->crc, (const unsigned char *)r->line, (uInt)len);
    l->bytes += len;
}

/* The periods.csv header names the classes. */
static void periods_header(Recorder *r) {
    const HhParams *p = &r->w->hh;
    char hdr[1 << 14];
    size_t k = (size_t)snprintf(hdr, sizeof hdr, "period,day_start,alpha_buy,alpha_sell");
    for (int c = 0; c < p->n_class && k < sizeof hdr; c++)
        k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",fixed_%s", p->class_name[c]);
    if (k < sizeof hdr) k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",fixed_consumers");
    for (int c = 0; c < p->n_class && k < sizeof hdr; c++)
        k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",eei_%s", p->class_name[c]);
    SB_ASSERT(k < sizeof hdr);
    logf_(r, REC_PERIODS, "%s,eei_consumers,eei_prosumers,eei_gap,mean_lmp,revenue,shortfall,leader_reward\n", hdr);
}

static void headers(Recorder *r) {
    logf_(r, REC_STEPS, "day,hour,bus,lmp,lmp_no_storage,bus_load_mwh,prosumer_grid_kwh,consumer_grid_kwh,"
                        "soc,action,alpha_buy,alpha_sell,fixed_prosumer,fixed_consumer,belief\n");
    logf_(r, REC_DRAWS, "day,hour,kind,name,value\n");
    periods_header(r);
    logf_(r, REC_TRAINING, "agent,day,hour,iteration,timesteps,total_timesteps,n_updates,ep_rew_mean,ep_len_mean,"
                           "policy_gradient_loss,value_loss,entropy_loss,loss,approx_kl,clip_fraction,"
                           "explained_variance,learning_rate,clip_range,std\n");
    if (wanted(r->c, REC_GRID_BUSES)) {
        logf_(r, REC_GRID_BUSES, "day,hour,market,bus,load_mwh,lmp\n");
        logf_(r, REC_GRID_GENS, "day,hour,market,gen,dispatch_mwh,min_mwh,available_mwh\n");
        logf_(r, REC_GRID_STEPS, "day,hour,market,cost,unserved_mwh,spilled_mwh\n");
    }
}

/* CRC-32 of the first `len` bytes of path; -1 if the file is shorter or unreadable. */
static int crc_prefix(const char *path, int64_t len, uint32_t *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char buf[1 << 16];
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    int64_t left = len;
    while (left > 0) {
        size_t want = left > (int64_t)sizeof buf ? sizeof buf : (size_t)left;
        size_t got = fread(buf, 1, want, f);
        if (got == 0) break;
        crc = (uint32_t)crc32(crc, buf, (uInt)got);
        left -= (int64_t)got;
    }
    fclose(f);
    if (left) return -1;
    *out = crc;
    return 0;
}

/* One file against its mark: present, at least as long, the same CRC over that length. */
static int verify_one(const char *path, int64_t bytes, uint32_t want, char *err, size_t n) {
    if (bytes < 0) return bad_input(err, n, "%s: the checkpoint has no record of this file (another config?)", path);
    struct stat st;
    uint32_t crc = 0;
    if (stat(path, &st) != 0)
        return bad_input(err, n, "%s: missing; the checkpoint counted %lld bytes of it", path, (long long)bytes);
    if ((int64_t)st.st_size < bytes || crc_prefix(path, bytes, &crc) || crc != want)
        return bad_input(err, n,
                         "%s: %s the checkpoint's record (%lld bytes, CRC-32 %08x; the file has %lld bytes): "
                         "the records were damaged or written by another run; resuming would corrupt them",
                         path, (int64_t)st.st_size < bytes ? "shorter than" : "differs from", (long long)bytes,
                         (unsigned)want, (long long)st.st_size);
    return 0;
}

int recorder_verify(const char *dir, const GameConfig *c, const RecorderMark *mark, char *err, size_t n) {
    for (int k = 0; k < REC_N; k++) {
        if (!wanted(c, k)) continue;
        char path[4096];
        path_join(path, sizeof path, dir, FILES[k]);
        int rc = verify_one(path, mark->bytes[k], mark->crc[k], err, n);
        if (rc) return rc;
    }
    return 0;
}

int recorder_open(Recorder **out, const char *dir, const GameConfig *c, const GameWorld *w, const RecorderMark *mark,
                  char *err, size_t n) {
    Recorder *r = sb_calloc(1, sizeof *r);
    r->c = c;
    r->w = w;
    *out = NULL;
    for (int k = 0; k < REC_N; k++) {
        Log *l = &r->log[k];
        l->crc = (uint32_t)crc32(0L, Z_NULL, 0);
        if (!wanted(c, k)) continue;
        path_join(l->path, sizeof l->path, dir, FILES[k]);
        if (mark) {
            int rc = verify_one(l->path, mark->bytes[k], mark->crc[k], err, n);
            if (rc) {
                recorder_close(r);
                return rc;
            }
            if (truncate(l->path, (off_t)mark->bytes[k]) || !(l->f = fopen(l->path, "ab"))) {
                sb_err(err, n, "%s: cannot reopen for appending: %s", l->path, strerror(errno));
                recorder_close(r); /* after the message: l lives in r */
                return -1;
            }
            l->bytes = mark->bytes[k];
            l->crc = mark->crc[k];
        } else if (!(l->f = fopen(l->path, "wb"))) {
            sb_err(err, n, "%s: cannot write: %s", l->path, strerror(errno));
            recorder_close(r);
            return -1;
        }
    }
    if (!mark) headers(r);
    *out = r;
    return 0;
}

void recorder_step(Recorder *r, const StepRecord *s) {
    const GameWorld *w = r->w;
    const HhParams *p = &w->hh;
    const Tariff *t = s->tariff;
    for (int b = 0; b < p->n_bus; b++)
        logf_(r, REC_STEPS, "%d,%d,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", s->day,
              s->hour, p->bus_name[b], s->lmp[b], s->lmp_ns[b], game_world_mwh(w, s->rl->load[w->grid_bus[b]]),
              s->fleet_kwh[b], s->consumer_kwh[b], s->soc_before[b], s->action[b], t->alpha_buy, t->alpha_sell,
              market_bus_fixed_prosumer(p, t, b), t->fixed_consumer, s->belief[b]);
    for (int b = 0; b < p->n_bus; b++) {
        logf_(r, REC_DRAWS, "%d,%d,prosumer_net_kwh,%s,%.17g\n", s->day, s->hour, p->bus_name[b], s->net_kwh[b]);
        /* Buses with several prosumer groups: each group's share, for its class's bill. */
        for (int g = p->group_first[b]; p->group_count[b] > 1 && g < p->group_first[b] + p->group_count[b]; g++)
            logf_(r, REC_DRAWS, "%d,%d,group_net_kwh,%s/%s,%.17g\n", s->day, s->hour, p->bus_name[b],
                  p->class_name[p->group_class[g]], s->group_net_kwh[g]);
    }
    for (int u = 0; u < p->n_solar; u++)
        logf_(r, REC_DRAWS, "%d,%d,solar_mwh,%s,%.17g\n", s->day, s->hour, r->c->solar_gen[u], s->solar_mwh[u]);
    if (!wanted(r->c, REC_GRID_BUSES)) return;
    const GridNetwork *net = &w->net;
    const MarketClear *m[2] = {s->rl, s->ns};
    const double cost[2] = {s->cost_rl, s->cost_ns};
    static const char *const name[2] = {"storage", "no_storage"};
    for (int k = 0; k < 2; k++) {
        const DispatchResult *res = dispatch_result(m[k]->ds);
        double unserved = 0, spilled = 0;
        for (int i = 0; i < net->n_bus; i++) {
            logf_(r, REC_GRID_BUSES, "%d,%d,%s,%d,%.17g,%.17g\n", s->day, s->hour, name[k], net->bus_id[i],
                  game_world_mwh(w, m[k]->load[i]), res->lmp[i]);
            unserved += res->unserved[i];
            spilled += res->spilled[i];
        }
        for (int g = 0; g < net->n_gen; g++) {
            int on = net->gen_on[g];
            logf_(r, REC_GRID_GENS, "%d,%d,%s,%d,%.17g,%.17g,%.17g\n", s->day, s->hour, name[k], g + 1,
                  game_world_mwh(w, res->pg[g]), on ? game_world_mwh(w, m[k]->pmin[g]) : 0.0,
                  on ? game_world_mwh(w, m[k]->pmax[g]) : 0.0);
        }
        logf_(r, REC_GRID_STEPS, "%d,%d,%s,%.17g,%.17g,%.17g\n", s->day, s->hour, name[k], cost[k],
              game_world_mwh(w, unserved), game_world_mwh(w, spilled));
    }
}

void recorder_period(Recorder *r, const PeriodRecord *pr) {
    const Tariff *t = pr->tariff;
    const MarketEei *e = pr->eei;
    char row[1 << 14];
    size_t k = (size_t)snprintf(row, sizeof row, "%d,%d,%.17g,%.17g", pr->period, pr->day_start, t->alpha_buy,
                                t->alpha_sell);
    for (int c = 0; c < t->n_class && k < sizeof row; c++)
        k += (size_t)snprintf(row + k, sizeof row - k, ",%.17g", t->fixed_prosumer[c]);
    if (k < sizeof row) k += (size_t)snprintf(row + k, sizeof row - k, ",%.17g", t->fixed_consumer);
    for (int c = 0; c < e->n_class && k < sizeof row; c++)
        k += (size_t)snprintf(row + k, sizeof row - k, ",%.17g", 100 * e->prosumer[c]);
    SB_ASSERT(k < sizeof row);
    logf_(r, REC_PERIODS, "%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", row, 100 * e->consumer_mean, 100 * e->prosumer_mean,
          100 * fabs(e->prosumer_mean - e->consumer_mean), pr->mean_lmp, pr->revenue, pr->shortfall, pr->reward);
}

void recorder_training(Recorder *r, const char *rows, size_t len) {
    Log *l = &r->log[REC_TRAINING];
    if (!len) return;
    fwrite(rows, 1, len, l->f);
    l->crc = (uint32_t)crc32(l->crc, (const unsigned char *)rows, (uInt)len);
    l->bytes += (int64_t)len;
}

void recorder_training_row(char **buf, size_t *len, size_t *cap, const char *agent, long t, int steps_per_day,
                           const PpoStats *s) {
    char row[1024];
    int k = snprintf(row, sizeof row,
                     "%s,%ld,%ld,%d,%ld,%ld,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", agent,
                     t / steps_per_day, t % steps_per_day, s->iteration, s->timesteps, s->total_timesteps, s->n_updates,
                     s->ep_return_mean, s->ep_len_mean, s->policy_loss, s->value_loss, s->entropy_loss, s->loss,
                     s->approx_kl, s->clip_fraction, s->explained_variance, s->learning_rate, s->clip_range, s->std);
    SB_ASSERT(k > 0 && (size_t)k < sizeof row);
    if (*len + (size_t)k + 1 > *cap) {
        *cap = 2 * (*len + (size_t)k + 1);
        *buf = sb_realloc(*buf, *cap);
    }
    memcpy(*buf + *len, row, (size_t)k + 1);
    *len += (size_t)k;
}

int recorder_mark(Recorder *r, RecorderMark *mark, char *err, size_t n) {
    for (int k = 0; k < REC_N; k++) {
        Log *l = &r->log[k];
        mark->bytes[k] = l->f ? l->bytes : -1;
        mark->crc[k] = l->crc;
        if (!l->f) continue;
        if (fflush(l->f) || fsync(fileno(l->f)) || ferror(l->f))
            return sb_err(err, n, "%s: write failed: %s", l->path, strerror(errno));
    }
    return 0;
}

void recorder_close(Recorder *r) {
    if (!r) return;
    for (int k = 0; k < REC_N; k++)
        if (r->log[k].f) fclose(r->log[k].f);
    free(r);
}

int recorder_profiles(const char *dir, const GameConfig *c, int B, const double *lmp_rl, const double *lmp_ns,
                      const double *fleet, char *err, size_t n) {
    const int S = c->steps_per_day, D = c->days, W = c->report_days;
    char path[4096];
    path_join(path, sizeof path, dir, "days.csv");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    fprintf(a.f, "day,imv_rl,imv_no_storage\n");
    for (int d = 0; d < D; d++) {
        size_t off = (size_t)d * (size_t)S * (size_t)B;
        fprintf(a.f, "%d,%.17g,%.17g\n", d, market_imv_mean(lmp_rl + off, (size_t)S, (size_t)B),
                market_imv_mean(lmp_ns + off, (size_t)S, (size_t)B));
    }
    if (atomic_commit(&a, err, n)) return -1;
    path_join(path, sizeof path, dir, "hourly.csv");
    if (atomic_open(&a, path, err, n)) return -1;
    fprintf(a.f, "hour,fleet_mwh_first,fleet_mwh_last\n");
    for (int h = 0; h < S; h++) {
        double first = 0, last = 0;
        for (int d = 0; d < W; d++)
            for (int b = 0; b < B; b++) {
                first += fleet[((size_t)d * S + (size_t)h) * (size_t)B + (size_t)b];
                last += fleet[((size_t)(D - W + d) * S + (size_t)h) * (size_t)B + (size_t)b];
            }
        fprintf(a.f, "%d,%.17g,%.17g\n", h, first / W / 1000, last / W / 1000);
    }
    return atomic_commit(&a, err, n);
}
