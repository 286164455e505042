/* sweep.c: a sweep's variants x seeds through the runner, and sweep.csv (sweep.h).
 *
 * Legend: V variants, A axes, F summary fields. */
#define _DEFAULT_SOURCE /* realpath */
#include "run/sweep.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "game/checkpoint.h"
#include "game/world.h"
#include "io/jsonval.h"
#include "run/rundir.h"
#include "run/runner.h"
#include "util/common.h"
#include "util/fsutil.h"

static void variant_dir(char *out, size_t cap, const char *dir, long v) {
    char name[32];
    snprintf(name, sizeof name, "variant-%ld", v);
    path_join(out, cap, dir, name);
}

/* One variant, loaded. */
typedef struct {
    GameConfig cfg;
    GameWorld w;
    int loaded;          /* cfg and w hold something to free */
    char dir[4200];
    char **sets;         /* (n_sets + n_axes) its overrides */
    uint64_t fingerprint;
    int finished;        /* its summary.json is there: skipped */
    DirLock lock;
} Variant;

/* The variant directory's record is this variant's: 1; 0 (none there); -2 with err (another
 * run, or a damaged record). */
static int record_matches(const Variant *x, char *err, size_t n) {
    RunRecord rec;
    char rj[4300];
    path_join(rj, sizeof rj, x->dir, "run.json");
    if (access(rj, F_OK) != 0) return 0;
    int rc = rundir_read(&rec, x->dir, err, n) ? -2 : 1;
    if (rc == 1 && (strcmp(rec.kind, "game") || rec.fingerprint != x->fingerprint || rec.seeds != x->cfg.seeds)) {
        sb_err(err, n, "%s: holds another run than this sweep's variant (its config differs)", rj);
        rc = -2;
    }
    rundir_record_free(&rec);
    return rc;
}

int sweep_run(const SweepConfig *s, const char *dir, const SweepOptions *o, long *done, char *err, size_t n) {
    *done = 0;
    if (sweep_config_check(s, err, n)) return -2;
    const long V = s->n_variants;
    Variant *var = sb_calloc((size_t)V, sizeof *var);
    for (long v = 0; v < V; v++) var[v].lock.fd = -1;
    int rc = 0;
    char sweep_abs[4096], where[GAME_PATH_MAX + 64], e[1024];
    if (!realpath(s->source, sweep_abs)) snprintf(sweep_abs, sizeof sweep_abs, "%s", s->source);
    /* Every variant's config and world, before anything is written. */
    uint64_t fp = sb_fnv1a(SB_FNV_INIT, &V, sizeof V);
    for (long v = 0; v < V && !rc; v++) {
        Variant *x = &var[v];
        x->sets = sweep_variant_sets(s, v);
        x->loaded = 1;
        int bad = sweep_variant_config(s, v, &x->cfg, e, sizeof e);
        if (!bad && game_world_load(&x->w, &x->cfg, e, sizeof e)) bad = 1;
        if (bad) {
            game_config_free(&x->cfg);
            x->loaded = 0;
            sweep_config_where(s, s->axes_pos, where, sizeof where);
            sb_err(err, n, "%saxes: variant %ld: %s", where, v, e);
            rc = -2;
            break;
        }
        x->fingerprint = game_fingerprint(&x->cfg, &x->w);
        fp = sb_fnv1a(fp, &x->fingerprint, sizeof x->fingerprint);
        fp = sb_fnv1a(fp, &x->cfg.seeds, sizeof x->cfg.seeds);
        variant_dir(x->dir, sizeof x->dir, dir, v);
    }
    DirLock lock = {-1};
    RunRecord rec = {.kind = "sweep", .file = sweep_abs, .yaml = s->text, .seeds = (int)V, .fingerprint = fp};
    int resume = 0;
    if (!rc) {
        RunRecord old;
        resume = !rundir_read(&old, dir, e, sizeof e) && !strcmp(old.kind, "sweep") && old.fingerprint == fp;
        rundir_record_free(&old);
        RunDirMode mode = resume ? RUNDIR_RESUME : o->force ? RUNDIR_FORCE : RUNDIR_NEW;
        rc = rundir_claim(&lock, dir, mode, o->holder, err, n);
        if (!rc && !resume) rc = rundir_write(dir, &rec, err, n);
    }
    /* Each variant's directory: locked, its record checked or written; finished ones skipped. */
    RunnerRun *runs = sb_calloc((size_t)V, sizeof *runs);
    int R = 0;
    for (long v = 0; v < V && !rc; v++) {
        Variant *x = &var[v];
        if (mkdir_p(x->dir, err, n)) {
            rc = -1;
            break;
        }
        int lr = dir_lock(&x->lock, x->dir, o->holder, err, n);
        if (lr) {
            rc = lr > 0 ? -2 : -1;
            break;
        }
        int m = record_matches(x, err, n);
        if (m < 0) {
            rc = m;
            break;
        }
        char sum[4300];
        path_join(sum, sizeof sum, x->dir, "summary.json");
        if (m == 1 && access(sum, F_OK) == 0) {
            x->finished = 1;
            ++*done;
            continue;
        }
        RunRecord vr = {.kind = "game", .file = s->base_path, .yaml = s->base_text, .sets = (const char *const *)x->sets,
                        .n_sets = s->n_sets + s->n_axes, .seeds = x->cfg.seeds, .fingerprint = x->fingerprint};
        if (m == 0 && rundir_write(x->dir, &vr, err, n)) {
            rc = -1;
            break;
        }
        runs[R] = (RunnerRun){.cfg = &x->cfg, .w = &x->w, .dir = x->dir, .seeds = x->cfg.seeds, .resume = 1};
        R++;
    }
    if (!rc && !o->quiet && *done)
        fprintf(stderr, "sweep: %ld of %ld variants already done; running %d\n", *done, V, R);
    if (!rc && R) {
        RunnerOptions ro = {.jobs = o->jobs, .quiet = o->quiet, .figures = 0};
        RunnerStatus *st = sb_calloc((size_t)R, sizeof *st);
        rc = runner_train(runs, R, &ro, st, err, n);
        for (int r = 0; r < R; r++) *done += st[r] == RUNNER_DONE;
        free(st);
    }
    if (!rc) rc = sweep_write_csv(s, dir, err, n);
    if (!rc && o->figures) runner_figures("sweep_figures.sh", dir);
    for (long v = 0; v < V; v++) {
        dir_unlock(&var[v].lock);
        sweep_sets_free(var[v].sets);
        if (var[v].loaded) {
            game_world_free(&var[v].w);
            game_config_free(&var[v].cfg);
        }
    }
    dir_unlock(&lock);
    free(var);
    free(runs);
    return rc;
}

/* ---- sweep.csv ---- */

/* A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef struct {
    char **name; /* (F) dotted paths of the {mean, std} objects */
    int n, cap;
} Fields;

static int field_index(const Fields *F, const char *name) {
    for (int i = 0; i < F->n; i++)
        if (!strcmp(F->name[i], name)) return i;
    return -1;
}

/* Every object below v with numeric "mean" and "std", by dotted path, in document order. */
static void collect(Fields *F, const JVal *v, const char *prefix) {
    if (v->kind != JV_OBJ) return;
    double m, s;
    if (prefix[0] && jv_get_num(v, "mean", &m) == 1 && jv_get_num(v, "std", &s) == 1) {
        if (field_index(F, prefix) < 0) {
            if (F->n == F->cap) {
                F->cap = F->cap ? 2 * F->cap : 32;
                F->name = sb_realloc(F->name, (size_t)F->cap * sizeof *F->name);
            }
            F->name[F->n++] = sb_strdup(prefix);
        }
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (!strcmp(v->keys[i], "config")) continue; /* the resolved config, not a result */
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", v->keys[i]);
        collect(F, &v->items[i], path);
    }
}

/* The {mean, std} object at a dotted path, or NULL. */
static const JVal *at_path(const JVal *v, const char *path) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) v = jv_get(v, tok);
    return v;
}

int sweep_write_csv(const SweepConfig *s, const char *dir, char *err, size_t n) {
    const long V = s->n_variants;
    JVal *sum = sb_calloc((size_t)V, sizeof *sum);
    Fields F = {0};
    int rc = -1;
    for (long v = 0; v < V; v++) {
        char vd[4200], path[4300];
        variant_dir(vd, sizeof vd, dir, v);
        path_join(path, sizeof path, vd, "summary.json");
        unsigned char *text;
        size_t len;
        char e[256];
        if (read_file(path, &text, &len, err, n)) goto done;
        int bad = jv_parse(&sum[v], (const char *)text, len, e, sizeof e);
        free(text);
        if (bad) {
            sb_err(err, n, "%s: %s", path, e);
            goto done;
        }
        collect(&F, &sum[v], "");
    }
    char path[4200];
    path_join(path, sizeof path, dir, "sweep.csv");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) goto done;
    fprintf(a.f, "variant,seeds");
    for (int k = 0; k < s->n_axes; k++) {
        fputc(',', a.f);
        csv_field(a.f, s->axes[k].key);
    }
    for (int i = 0; i < F.n; i++) fprintf(a.f, ",%s_mean,%s_std", F.name[i], F.name[i]);
    fputc('\n', a.f);
    int *idx = sb_calloc((size_t)s->n_axes + 1, sizeof *idx);
    for (long w = 0; w < V; w++) {
        const JVal *seeds = jv_get(&sum[w], "seeds");
        fprintf(a.f, "%ld,%zu", w, seeds && seeds->kind == JV_ARR ? seeds->n : (size_t)0);
        sweep_variant_index(s, w, idx);
        for (int k = 0; k < s->n_axes; k++) {
            fputc(',', a.f);
            csv_field(a.f, s->axes[k].values[idx[k]]);
        }
        for (int i = 0; i < F.n; i++) {
            const JVal *o = at_path(&sum[w], F.name[i]);
            double m, sd;
            if (o && jv_get_num(o, "mean", &m) == 1 && jv_get_num(o, "std", &sd) == 1) fprintf(a.f, ",%.9g,%.9g", m, sd);
            else fprintf(a.f, ",,");
        }
        fputc('\n', a.f);
    }
    free(idx);
    rc = atomic_commit(&a, err, n);
done:
    for (long w = 0; w < V; w++) jv_free(&sum[w]);
    for (int i = 0; i < F.n; i++) free(F.name[i]);
    free(F.name);
    free(sum);
    return rc;
}
