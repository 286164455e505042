/* single.c: the training loop of a single-agent run, its logs, checkpoints and evaluation.
 *
 * Legend: N envs, O observation size, K mask width, H episodes of history (VECENV_HISTORY).
 *
 * A checkpoint is taken inside the PPO callback, after an update and its progress row and
 * before the next rollout: nothing it does changes the state, so when (or whether) one is
 * taken does not change the result. Its meta.json:
 *   {"format": "stackelberg-checkpoint", "version": 2, "project_version", "kind": "single",
 *    "seed", "env", "config": {"file", "yaml", "set": [...]}, "agents": [pspec of "agent"],
 *    "run": {"finished", "progress_bytes", "progress_crc32", "wall_s", "rollout_s", "update_s"}}
 * progress_bytes and progress_crc32 are the length of progress.csv when the checkpoint was
 * taken (flushed and fsynced before the checkpoint is written) and the CRC-32 of those bytes:
 * a resume verifies them, refuses a file that is shorter or has other bytes (damaged, or
 * written by another run), and truncates it there, so rows written after the checkpoint are
 * not repeated. */
#include "rl/single.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/pspec.h"
#include "nn/blas.h"
#include "rl/envs.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/progress.h"

#define AGENT "agent"
#define FORMAT "stackelberg-checkpoint"
#define VERSION 2

void single_config_default(SingleConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->env, sizeof c->env, "CartPole-v1");
    c->seed = 0;
    c->n_envs = 1;
    c->total_timesteps = 100000;
    c->eval_episodes = 20;
    c->blas_threads = 1;
    ppo_config_default(&c->ppo);
}

/* ------------------------------------------------------------------------------------ */
/* Environment state.                                                                    */

/* Member `name` of z with exactly dtype dt and shape; NULL with err otherwise. */
static const NpzMember *member(const Npz *z, const char *name, NpyDtype dt, const size_t *shape, int ndim,
                               const char *label, char *err, size_t n) {
    const NpzMember *m = npz_find(z, name);
    if (!m) {
        sb_err(err, n, "%s: member %s: missing", label, name);
        return NULL;
    }
    int same = m->dtype == dt && m->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = m->shape[d] == shape[d];
    if (!same) {
        char a[64], b[64];
        sb_err(err, n, "%s: member %s: %s %s, expected %s %s", label, name, npy_descr(m->dtype),
               npy_shape_str(m->shape, m->ndim, a, sizeof a), npy_descr(dt), npy_shape_str(shape, ndim, b, sizeof b));
        return NULL;
    }
    return m;
}

static int add_member(Npz *z, const char *prefix, const char *what, NpyDtype dt, size_t d0, size_t d1,
                      const void *data, char *err, size_t n) {
    char name[NPZ_MAX_NAME];
    snprintf(name, sizeof name, "%s.%s", prefix, what);
    size_t shape[2] = {d0, d1};
    return npz_add(z, name, dt, shape, d1 ? 2 : 1, data, err, n);
}

int single_envs_save(const VecEnv *v, Npz *z, const char *prefix, char *err, size_t n) {
    size_t N = (size_t)v->n, O = (size_t)v->cls->obs_dim, S = v->cls->size, H = VECENV_HISTORY;
    unsigned char *state = sb_malloc(N * S); /* (N, S) */
    int64_t *ints = sb_malloc((N > H ? N : H) * sizeof *ints);
    int rc = 0;
    if (v->cls->save) {
        for (size_t i = 0; i < N && !rc; i++) {
            char pre[NPZ_MAX_NAME];
            snprintf(pre, sizeof pre, "%s.env%zu", prefix, i);
            rc = v->cls->save(v->envs[i], z, pre, err, n);
        }
    } else {
        for (size_t i = 0; i < N; i++) memcpy(state + i * S, v->envs[i], S);
        rc = add_member(z, prefix, "state", NPY_U1, N, S, state, err, n);
    }
    if (!rc) rc = add_member(z, prefix, "obs", NPY_F4, N, O, v->obs, err, n);
    if (!rc && v->mask) rc = add_member(z, prefix, "mask", NPY_U1, N, (size_t)v->cls->space.n, v->mask, err, n);
    if (!rc) rc = add_member(z, prefix, "ep_return", NPY_F8, N, 0, v->ep_return, err, n);
    for (size_t i = 0; i < N; i++) ints[i] = v->ep_len[i];
    if (!rc) rc = add_member(z, prefix, "ep_len", NPY_I8, N, 0, ints, err, n);
    if (!rc) rc = add_member(z, prefix, "last_return", NPY_F8, N, 0, v->last_return, err, n);
    for (size_t i = 0; i < N; i++) ints[i] = v->last_len[i];
    if (!rc) rc = add_member(z, prefix, "last_len", NPY_I8, N, 0, ints, err, n);
    if (!rc) rc = add_member(z, prefix, "hist_return", NPY_F8, H, 0, v->hist_return, err, n);
    for (size_t i = 0; i < H; i++) ints[i] = v->hist_len[i];
    if (!rc) rc = add_member(z, prefix, "hist_len", NPY_I8, H, 0, ints, err, n);
    int64_t counts[3] = {v->hist_count, v->hist_pos, v->episodes};
    if (!rc) rc = add_member(z, prefix, "hist_counts", NPY_I8, 3, 0, counts, err, n);
    free(state);
    free(ints);
    return rc;
}

int single_envs_restore(VecEnv *v, const Npz *z, const char *prefix, const char *label, char *err, size_t n) {
    size_t N = (size_t)v->n, O = (size_t)v->cls->obs_dim, S = v->cls->size, H = VECENV_HISTORY;
    static const char *const what[] = {"state", "obs", "mask", "ep_return", "ep_len", "last_return",
                                       "last_len", "hist_return", "hist_len", "hist_counts"};
    enum { STATE, OBS, MASK, EP_RETURN, EP_LEN, LAST_RETURN, LAST_LEN, HIST_RETURN, HIST_LEN, COUNTS, NW };
    const NpyDtype dts[NW] = {NPY_U1, NPY_F4, NPY_U1, NPY_F8, NPY_I8, NPY_F8, NPY_I8, NPY_F8, NPY_I8, NPY_I8};
    const size_t shapes[NW][2] = {{N, S}, {N, O}, {N, (size_t)v->cls->space.n}, {N, 0}, {N, 0}, {N, 0},
                                  {N, 0}, {H, 0}, {H, 0}, {3, 0}};
    const NpzMember *m[NW] = {0};
    /* All members are checked before the VecEnv is touched. */
    for (int k = 0; k < NW; k++) {
        if ((k == MASK && !v->mask) || (k == STATE && v->cls->restore)) continue;
        char name[NPZ_MAX_NAME];
        snprintf(name, sizeof name, "%s.%s", prefix, what[k]);
        m[k] = member(z, name, dts[k], shapes[k], shapes[k][1] ? 2 : 1, label, err, n);
        if (!m[k]) return -1;
    }
    const int64_t *counts = m[COUNTS]->data;
    if (counts[0] < 0 || counts[0] > (int64_t)H || counts[1] < 0 || counts[1] >= (int64_t)H || counts[2] < 0)
        return sb_err(err, n, "%s: member %s.hist_counts: values out of range", label, prefix);
    if (v->cls->restore) {
        for (size_t i = 0; i < N; i++) {
            char pre[NPZ_MAX_NAME];
            snprintf(pre, sizeof pre, "%s.env%zu", prefix, i);
            if (v->cls->restore(v->envs[i], z, pre, label, err, n)) return -1;
        }
    } else {
        const unsigned char *state = m[STATE]->data;
        for (size_t i = 0; i < N; i++) memcpy(v->envs[i], state + i * S, S);
    }
    memcpy(v->obs, m[OBS]->data, N * O * sizeof(float));
    if (v->mask) memcpy(v->mask, m[MASK]->data, m[MASK]->count);
    memcpy(v->ep_return, m[EP_RETURN]->data, N * sizeof(double));
    memcpy(v->last_return, m[LAST_RETURN]->data, N * sizeof(double));
    memcpy(v->hist_return, m[HIST_RETURN]->data, H * sizeof(double));
    const int64_t *ep_len = m[EP_LEN]->data, *last_len = m[LAST_LEN]->data, *hist_len = m[HIST_LEN]->data;
    for (size_t i = 0; i < N; i++) {
        v->ep_len[i] = (long)ep_len[i];
        v->last_len[i] = (long)last_len[i];
    }
    for (size_t i = 0; i < H; i++) v->hist_len[i] = (long)hist_len[i];
    v->hist_count = (int)counts[0];
    v->hist_pos = (int)counts[1];
    v->episodes = (long)counts[2];
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Checkpoint files.                                                                     */

void single_checkpoint_free(SingleCheckpoint *ck) {
    npz_free(&ck->z);
    jv_free(&ck->meta);
    free(ck->sets);
    ck->sets = NULL;
}

int single_checkpoint_load(SingleCheckpoint *ck, const char *dir, char *err, size_t n) {
    memset(ck, 0, sizeof *ck);
    npz_init(&ck->z);
    path_join(ck->path, sizeof ck->path, dir, "checkpoint.npz");
    const char *P = ck->path;
    if (npz_read(&ck->z, P, err, n)) return -1;
    const NpzMember *mj = npz_find(&ck->z, "meta.json");
    if (!mj || mj->dtype != NPY_RAW) return sb_err(err, n, "%s: missing member meta.json", P);
    char e[512];
    if (jv_parse(&ck->meta, mj->data, mj->count, e, sizeof e)) return sb_err(err, n, "%s: meta.json: %s", P, e);
    const JVal *meta = &ck->meta;
    const char *s = NULL;
    double num = 0;
    if (jv_get_str(meta, "format", &s) != 1 || strcmp(s, FORMAT))
        return sb_err(err, n, "%s: meta.json: format is not \"" FORMAT "\"", P);
    if (jv_get_num(meta, "version", &num) != 1 || num != VERSION)
        return sb_err(err, n, "%s: meta.json: checkpoint version %g; this build reads version %d (start the run again)",
                      P, num, VERSION);
    if (jv_get_str(meta, "kind", &s) != 1 || strcmp(s, "single"))
        return sb_err(err, n, "%s: meta.json: kind: not a single-agent run (this build resumes CartPole and Pendulum runs)", P);
    const JVal *cfg = jv_get(meta, "config");
    if (jv_get_str(cfg, "yaml", &ck->source.text) != 1)
        return sb_err(err, n, "%s: meta.json: config.yaml: missing (the run was not started by `stackelberg train`)", P);
    ck->source.file = "config";
    if (jv_get_str(cfg, "file", &s) == 1) ck->source.file = s;
    const JVal *sets = jv_get(cfg, "set");
    if (sets && sets->kind != JV_ARR) return sb_err(err, n, "%s: meta.json: config.set: not a list", P);
    if (sets && sets->n) {
        ck->sets = sb_calloc(sets->n, sizeof *ck->sets);
        for (size_t i = 0; i < sets->n; i++) {
            if (sets->items[i].kind != JV_STR) return sb_err(err, n, "%s: meta.json: config.set[%zu]: not a string", P, i);
            ck->sets[i] = sets->items[i].str;
        }
        ck->source.n_sets = (int)sets->n;
    }
    ck->source.sets = ck->sets;
    const JVal *run = jv_get(meta, "run");
    if (!run || run->kind != JV_OBJ) return sb_err(err, n, "%s: meta.json: run: missing", P);
    if (jv_get_bool(run, "finished", &ck->finished) != 1) return sb_err(err, n, "%s: meta.json: run.finished: missing", P);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* The run.                                                                              */

typedef struct {
    const SingleConfig *c;
    const SingleOptions *o;
    const char *out_dir;
    Ppo *p;
    VecEnv *v;
    FILE *csv;
    long csv_bytes;             /* progress.csv's length and CRC-32 so far */
    uint32_t csv_crc;
    Progress *bar;
    double rollout_s, update_s; /* summed over updates, earlier sessions included */
    double wall_prev;           /* training time of earlier sessions */
    double t0;                  /* sb_now() when this session's training began */
    double next_ckpt;           /* sb_now() of the next periodic checkpoint */
    long start_steps;           /* env steps already done when this session began */
    int signal;                 /* the signal that stopped training */
    int failed;                 /* a checkpoint could not be written: err holds why */
    char *err;
    size_t errlen;
} Run;

static const char *CSV_HEADER =
    "iteration,timesteps,ep_rew_mean,ep_len_mean,policy_gradient_loss,value_loss,entropy_loss,loss,"
    "approx_kl,clip_fraction,explained_variance,learning_rate,clip_range,std,n_updates,fps,rollout_s,"
    "update_s\n";

static char *checkpoint_meta(const Run *r, int finished, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) SB_PANIC("open_memstream failed");
    Json j;
    json_init(&j, f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "format", FORMAT);
    json_int(&j, "version", VERSION);
    json_str(&j, "project_version", SB_VERSION);
    json_str(&j, "kind", "single");
    json_int(&j, "seed", (long long)r->c->seed);
    json_str(&j, "env", r->c->env);
    json_obj_begin(&j, "config");
    const SingleSource *src = r->o->source;
    if (src) {
        json_str(&j, "file", src->file ? src->file : "config");
        json_str(&j, "yaml", src->text ? src->text : "");
        json_arr_begin(&j, "set");
        for (int i = 0; i < src->n_sets; i++) json_str(&j, NULL, src->sets[i]);
        json_arr_end(&j);
    }
    json_obj_end(&j);
    json_arr_begin_block(&j, "agents");
    Pspec spec;
    ppo_pspec(r->p, AGENT, "none", &spec);
    envs_describe(envs_find(r->c->env), &spec);
    pspec_emit(&j, NULL, &spec);
    pspec_free(&spec);
    json_arr_end(&j);
    json_obj_begin(&j, "run");
    json_bool(&j, "finished", finished);
    json_int(&j, "progress_bytes", r->csv_bytes);
    json_int(&j, "progress_crc32", r->csv_crc);
    json_num(&j, "wall_s", r->wall_prev + (sb_now() - r->t0));
    json_num(&j, "rollout_s", r->rollout_s);
    json_num(&j, "update_s", r->update_s);
    json_obj_end(&j);
    json_obj_end(&j);
    json_end(&j);
    fclose(f);
    return buf;
}

/* Write OUT/checkpoint.npz atomically; progress.csv is synced first so the length the
 * checkpoint records is on disk before the checkpoint is. */
static int write_checkpoint(Run *r, int finished, char *err, size_t n) {
    if (r->csv && (fflush(r->csv) || fsync(fileno(r->csv))))
        return sb_err(err, n, "progress.csv: write failed: %s", strerror(errno));
    Npz z;
    npz_init(&z);
    size_t mlen;
    char *meta = checkpoint_meta(r, finished, &mlen);
    int rc = npz_add_raw(&z, "meta.json", meta, mlen, err, n);
    free(meta);
    if (!rc) rc = ppo_save(r->p, &z, AGENT, err, n);
    if (!rc) rc = single_envs_save(r->v, &z, "env", err, n);
    char path[4096];
    path_join(path, sizeof path, r->out_dir, "checkpoint.npz");
    if (!rc) rc = npz_write(&z, path, err, n);
    npz_free(&z);
    return rc;
}

/* Append to progress.csv, keeping its length and CRC-32 for the next checkpoint. */
static void csv_put(Run *r, const char *text, size_t len) {
    fwrite(text, 1, len, r->csv);
    r->csv_bytes += (long)len;
    r->csv_crc = (uint32_t)crc32(r->csv_crc, (const unsigned char *)text, (uInt)len);
}

static int on_update(const PpoStats *s, void *user) {
    Run *r = user;
    r->rollout_s += s->rollout_s;
    r->update_s += s->update_s;
    if (r->csv) {
        char row[1024];
        int len = snprintf(row, sizeof row,
                           "%d,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%ld,%.1f,%.6f,%.6f\n",
                           s->iteration, s->timesteps, s->ep_return_mean, s->ep_len_mean, s->policy_loss,
                           s->value_loss, s->entropy_loss, s->loss, s->approx_kl, s->clip_fraction,
                           s->explained_variance, s->learning_rate, s->clip_range, s->std, s->n_updates, s->fps,
                           s->rollout_s, s->update_s);
        SB_ASSERT(len > 0 && (size_t)len < sizeof row);
        csv_put(r, row, (size_t)len);
        fflush(r->csv);
    }
    progress_update(r->bar, s->timesteps - r->start_steps, "return %.1f", s->ep_return_mean);
    int sig = r->o->stop ? *r->o->stop : 0;
    double now = sb_now();
    int periodic = r->o->checkpoint_every > 0 && now >= r->next_ckpt;
    if (r->out_dir && (sig || periodic)) {
        if (write_checkpoint(r, 0, r->err, r->errlen)) {
            r->failed = 1;
            return 1;
        }
        r->next_ckpt = sb_now() + r->o->checkpoint_every;
    }
    if (sig) {
        r->signal = sig;
        return 1;
    }
    return 0;
}

/* SB3's evaluate_policy: deterministic actions, episodes counted per env until each env has
 * finished its share, on fresh env instances of another seed stream. */
static void evaluate(Ppo *p, const EnvClass *cls, uint64_t seed, int episodes, double *mean, double *std) {
    void **envs = envs_create(cls, 1, seed ^ 0xE7A1E7A1ull);
    VecEnv v;
    vecenv_init(&v, cls, envs, 1);
    vecenv_reset(&v);
    double s = 0, s2 = 0;
    int done = 0;
    float act[ENV_MAX_ACT];
    while (done < episodes) {
        ppo_predict(p, v.obs, v.mask, 1, 1, act, NULL, NULL);
        vecenv_step(&v, act);
        if (v.done[0]) {
            double r = v.last_return[0];
            s += r;
            s2 += r * r;
            done++;
        }
    }
    *mean = s / episodes;
    *std = sqrt(fmax(s2 / episodes - (*mean) * (*mean), 0));
    vecenv_free(&v);
    envs_destroy(envs, 1);
}

static int write_summary(const SingleConfig *c, const char *out_dir, const SingleResult *res, char *err, size_t n) {
    char path[4096];
    path_join(path, sizeof path, out_dir, "summary.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "env", c->env);
    json_int(&j, "seed", (long long)c->seed);
    json_int(&j, "env_steps", res->env_steps);
    json_num(&j, "wall_s", res->wall_s);
    json_num(&j, "steps_per_s", res->steps_per_s);
    json_num(&j, "rollout_s", res->rollout_s);
    json_num(&j, "update_s", res->update_s);
    json_str(&j, "timing_note",
             "wall_s, steps_per_s, rollout_s and update_s are wall-clock measurements (summed over the "
             "sessions of a resumed run); every other field is reproducible");
    json_num(&j, "eval_return_mean", res->eval_return_mean);
    json_num(&j, "eval_return_std", res->eval_return_std);
    json_int(&j, "eval_episodes", c->eval_episodes);
    json_num(&j, "train_return_mean_last100", res->train_return_mean_last100);
    json_int(&j, "n_envs", c->n_envs);
    json_int(&j, "blas_threads", c->blas_threads);
    json_str(&j, "version", SB_VERSION);
    json_obj_end(&j);
    json_end(&j);
    return atomic_commit(&a, err, n);
}

/* CRC-32 of the first len bytes of path; -1 if it is shorter or unreadable. */
static int crc_prefix(const char *path, long len, uint32_t *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char buf[1 << 16];
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    long left = len;
    while (left > 0) {
        size_t got = fread(buf, 1, left > (long)sizeof buf ? sizeof buf : (size_t)left, f);
        if (got == 0) break;
        crc = (uint32_t)crc32(crc, buf, (uInt)got);
        left -= (long)got;
    }
    fclose(f);
    if (left) return -1;
    *out = crc;
    return 0;
}

/* The run's counters recorded in a checkpoint; progress.csv verified against the length and
 * CRC the checkpoint recorded, and cut back there. 0, -1 with err (I/O), -2 with err (the
 * file does not match the checkpoint). */
static int resume_log(Run *r, const SingleCheckpoint *ck, char *err, size_t n) {
    const JVal *run = jv_get(&ck->meta, "run");
    double bytes = -1, crc = -1;
    if (jv_get_num(run, "progress_bytes", &bytes) != 1 || bytes < 0 || bytes != floor(bytes) ||
        jv_get_num(run, "progress_crc32", &crc) != 1 || !(crc >= 0 && crc <= 4294967295.0) || crc != floor(crc) ||
        jv_get_num(run, "wall_s", &r->wall_prev) != 1 || jv_get_num(run, "rollout_s", &r->rollout_s) != 1 ||
        jv_get_num(run, "update_s", &r->update_s) != 1) {
        sb_err(err, n, "%s: meta.json: run: progress_bytes, progress_crc32, wall_s, rollout_s, update_s: missing or "
                       "invalid", ck->path);
        return -2;
    }
    char path[4096];
    path_join(path, sizeof path, r->out_dir, "progress.csv");
    struct stat st;
    uint32_t have = 0;
    if (stat(path, &st)) {
        sb_err(err, n, "%s: missing; the checkpoint counted %.0f bytes of it", path, bytes);
        return -2;
    }
    if ((double)st.st_size < bytes || crc_prefix(path, (long)bytes, &have) || have != (uint32_t)crc) {
        sb_err(err, n,
               "%s: %s the checkpoint's record (%.0f bytes, CRC-32 %08x; the file has %lld bytes): damaged or "
               "written by another run; resuming would corrupt it",
               path, (double)st.st_size < bytes ? "shorter than" : "differs from", bytes, (unsigned)crc,
               (long long)st.st_size);
        return -2;
    }
    if (truncate(path, (off_t)bytes)) return sb_err(err, n, "%s: cannot truncate: %s", path, strerror(errno));
    r->csv = fopen(path, "a");
    if (!r->csv) return sb_err(err, n, "%s: cannot append: %s", path, strerror(errno));
    r->csv_bytes = (long)bytes;
    r->csv_crc = (uint32_t)crc;
    return 0;
}

int single_validate(const SingleConfig *c, char *err, size_t n) {
    if (!envs_find(c->env)) {
        char names[256];
        envs_list(names, sizeof names);
        return sb_err(err, n, "env: unknown environment \"%s\" (known: %s)", c->env, names);
    }
    return ppo_config_validate(&c->ppo, err, n);
}

int single_run(const SingleConfig *c, const char *out_dir, const SingleOptions *o, SingleResult *res,
               char *err, size_t n) {
    memset(res, 0, sizeof *res);
    const SingleCheckpoint *ck = o->resume;
    SB_ASSERT(!ck || out_dir);
    const EnvClass *cls = envs_find(c->env);
    if (!cls) {
        char names[256];
        envs_list(names, sizeof names);
        sb_err(err, n, "env: unknown environment \"%s\" (known: %s)", c->env, names);
        return -2;
    }
    nn_blas_threads(c->blas_threads);
    Ppo *p = ppo_create(&c->ppo, cls->obs_dim, &cls->space, c->n_envs, c->seed, err, n);
    if (!p) return -2;
    void **envs = envs_create(cls, c->n_envs, c->seed);
    VecEnv v;
    vecenv_init(&v, cls, envs, c->n_envs);
    Run r = {.c = c, .o = o, .out_dir = out_dir, .p = p, .v = &v, .err = err, .errlen = n};
    int rc = 0;
    /* Everything is read back before the run directory is touched. */
    if (ck && (ppo_restore(p, &ck->z, AGENT, ck->path, err, n) ||
               single_envs_restore(&v, &ck->z, "env", ck->path, err, n))) {
        rc = -2;
        goto done;
    }
    if (out_dir) {
        if (mkdir_p(out_dir, err, n)) {
            rc = -1;
            goto done;
        }
        if (ck) {
            if ((rc = resume_log(&r, ck, err, n))) goto done;
        } else {
            /* A new run replaces an old one in this directory: a stale checkpoint or summary
             * would not match the new progress.csv. */
            char path[4096];
            path_join(path, sizeof path, out_dir, "checkpoint.npz");
            unlink(path);
            path_join(path, sizeof path, out_dir, "summary.json");
            unlink(path);
            path_join(path, sizeof path, out_dir, "progress.csv");
            r.csv = fopen(path, "w");
            if (!r.csv) {
                rc = sb_err(err, n, "%s: cannot write: %s", path, strerror(errno));
                goto done;
            }
            r.csv_crc = (uint32_t)crc32(0L, Z_NULL, 0);
            csv_put(&r, CSV_HEADER, strlen(CSV_HEADER));
        }
    }
    /* The bar counts this session's steps, so its rate and ETA are right after a resume. */
    long start = ppo_total_steps(p);
    char label[96];
    snprintf(label, sizeof label, "%s%s", c->env, ck ? " (resumed)" : "");
    r.bar = progress_new(SB_MAX(c->total_timesteps - start, 1), o->quiet, label);
    r.start_steps = start;
    r.t0 = sb_now();
    r.next_ckpt = r.t0 + o->checkpoint_every;
    int stopped = 0;
    if (!ck || !ck->finished) stopped = ppo_learn(p, &v, c->total_timesteps, on_update, &r);
    progress_done(r.bar);
    if (r.failed) {
        rc = -1;
        goto done;
    }
    res->env_steps = ppo_total_steps(p);
    res->wall_s = r.wall_prev + (sb_now() - r.t0);
    res->steps_per_s = res->env_steps / fmax(res->wall_s, 1e-9);
    res->rollout_s = r.rollout_s;
    res->update_s = r.update_s;
    res->train_return_mean_last100 = vecenv_mean_return(&v);
    if (stopped) {
        res->signal = r.signal; /* the callback wrote its checkpoint (when out_dir is set) */
        goto done;
    }
    if (out_dir && write_checkpoint(&r, 1, err, n)) {
        rc = -1;
        goto done;
    }
    evaluate(p, cls, c->seed, c->eval_episodes, &res->eval_return_mean, &res->eval_return_std);
    if (r.csv) {
        int bad = fclose(r.csv);
        r.csv = NULL;
        if (bad) {
            rc = sb_err(err, n, "progress.csv: write failed");
            goto done;
        }
    }
    if (out_dir && write_summary(c, out_dir, res, err, n)) rc = -1;
done:
    if (r.csv) fclose(r.csv);
    vecenv_free(&v);
    envs_destroy(envs, c->n_envs);
    progress_free(r.bar);
    ppo_free(p);
    return rc;
}

int single_train(const SingleConfig *c, const char *out_dir, int quiet, SingleResult *res, char *err,
                 size_t n) {
    SingleOptions o = {.quiet = quiet};
    return single_run(c, out_dir, &o, res, err, n);
}
