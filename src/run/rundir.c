/* rundir.c: claiming a run directory, clearing an earlier run, run.json (rundir.h). */
#define _DEFAULT_SOURCE /* DT_DIR */
#include "run/rundir.h"

#include "run/mpi.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"
#include "util/json.h"

/* An error that is the input's fault (exit 2). */
static int refuse(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t n, const char *fmt, ...) {
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -2;
}

/* What dir holds besides its lock file: 0 nothing (or dir absent), 1 something (its first
 * names in `what`, and whether run.json is among them), -1 with err. */
static int contents(const char *dir, char *what, size_t cap, int *has_run, char *err, size_t n) {
    *has_run = 0;
    what[0] = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return sb_err(err, n, "%s: cannot read: %s", dir, strerror(errno));
    }
    int k = 0;
    size_t len = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, DIR_LOCK_NAME)) continue;
        if (!strcmp(nm, "run.json")) *has_run = 1;
        if (k < 4 && len < cap) len += (size_t)snprintf(what + len, cap - len, "%s%s", k ? ", " : "", nm);
        else if (k == 4 && len < cap) len += (size_t)snprintf(what + len, cap - len, ", ...");
        k++;
    }
    closedir(d);
    return k > 0;
}

int rundir_claim(DirLock *l, const char *dir, RunDirMode mode, const char *holder, char *err, size_t n) {
    l->fd = -1;
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) return refuse(err, n, "%s: not a directory", dir);
    if (mode == RUNDIR_RESUME && !exists) return refuse(err, n, "%s: no such run directory", dir);
    char what[512], lock[4200];
    int has_run, c;
    path_join(lock, sizeof lock, dir, DIR_LOCK_NAME);
    /* A directory of other files that no run ever locked is refused without a file added. */
    if (mode == RUNDIR_NEW && exists && access(lock, F_OK) != 0) {
        if ((c = contents(dir, what, sizeof what, &has_run, err, n)) < 0) return -1;
        if (c) goto not_empty;
    }
    if (!exists && mkdir_p(dir, err, n)) return -1;
    int rc = dir_lock(l, dir, holder, err, n);
    if (rc) return rc > 0 ? -2 : -1;
    if (mode == RUNDIR_NEW) {
        /* Checked again under the lock: a run may have ended just before it was taken. */
        if ((c = contents(dir, what, sizeof what, &has_run, err, n)) < 0) {
            dir_unlock(l);
            return -1;
        }
        if (c) {
            dir_unlock(l);
            goto not_empty;
        }
    }
    /* Only a directory that holds a run is cleared: --force into a directory of other files
     * overwrites the run's own file names and removes nothing. */
    char rj[4200];
    path_join(rj, sizeof rj, dir, "run.json");
    if (mode == RUNDIR_FORCE && access(rj, F_OK) == 0 && rundir_clear(dir, err, n)) {
        dir_unlock(l);
        return -1;
    }
    return 0;
not_empty:
    if (has_run) {
        RunRecord r;
        char e[256];
        int sweep = !rundir_read(&r, dir, e, sizeof e) && !strcmp(r.kind, "sweep");
        rundir_record_free(&r);
        if (sweep)
            return refuse(err, n,
                          "%s: not empty: it holds another sweep (run.json); continue that one with the command that "
                          "started it, or replace it with --force",
                          dir);
        return refuse(err, n,
                      "%s: not empty: it holds a run (run.json); continue it with `stackelberg train --resume %s`, "
                      "or replace it with --force",
                      dir, dir);
    }
    return refuse(err, n, "%s: not empty (%s); choose another --out, or write into it anyway with --force", dir, what);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* seed-<digits> or variant-<digits>. */
static int is_run_subdir(const char *nm) {
    const char *p = !strncmp(nm, "seed-", 5) ? nm + 5 : !strncmp(nm, "variant-", 8) ? nm + 8 : NULL;
    if (!p || !*p) return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

static int is_run_file(const char *nm) {
    static const char *const ext[] = {".csv", ".json", ".npz", ".png", ".pdf", ".svg"};
    for (size_t i = 0; i < SB_ARRAY_LEN(ext); i++)
        if (ends_with(nm, ext[i])) return 1;
    return strstr(nm, ".tmp.") != NULL;
}

int rundir_clear(const char *dir, char *err, size_t n) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : sb_err(err, n, "%s: cannot read: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        char path[4200];
        path_join(path, sizeof path, dir, e->d_name);
        struct stat st;
        if (lstat(path, &st)) continue;
        if (S_ISDIR(st.st_mode) && is_run_subdir(e->d_name)) {
            rc = rundir_clear(path, err, n);
            if (!rc) rmdir(path); /* left in place if it holds other files */
        } else if (S_ISREG(st.st_mode) && is_run_file(e->d_name) && unlink(path)) {
            rc = sb_err(err, n, "%s: cannot remove: %s", path, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

void rundir_holder(char *out, size_t cap, int argc, char *const *argv) {
    size_t k = (size_t)snprintf(out, cap, "stackelberg");
    for (int i = 0; i < argc && k < cap; i++) k += (size_t)snprintf(out + k, cap - k, " %s", argv[i]);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

/* ---- run.json ---- */

uint64_t rundir_source_fingerprint(const char *yaml, const char *const *sets, int n_sets) {
    uint64_t h = sb_fnv1a(SB_FNV_INIT, yaml, strlen(yaml) + 1);
    for (int i = 0; i < n_sets; i++) h = sb_fnv1a(h, sets[i], strlen(sets[i]) + 1);
    return h;
}

/* Over every recorded field, each with its terminating NUL so fields cannot slide. */
static uint64_t checksum(const RunRecord *r) {
    char num[64];
    uint64_t h = sb_fnv1a(SB_FNV_INIT, r->kind, strlen(r->kind) + 1);
    h = sb_fnv1a(h, r->file, strlen(r->file) + 1);
    h = sb_fnv1a(h, r->yaml, strlen(r->yaml) + 1);
    int len = snprintf(num, sizeof num, "%d", r->n_sets);
    h = sb_fnv1a(h, num, (size_t)len + 1);
    for (int i = 0; i < r->n_sets; i++) h = sb_fnv1a(h, r->sets[i], strlen(r->sets[i]) + 1);
    len = snprintf(num, sizeof num, "%d %016" PRIx64, r->seeds, r->fingerprint);
    return sb_fnv1a(h, num, (size_t)len + 1);
}

int rundir_write(const char *dir, const RunRecord *r, char *err, size_t n) {
    char path[4200], hex[32];
    path_join(path, sizeof path, dir, "run.json");
    AtomicFile a;
    if (atomic_open(&a, path, err, n)) return -1;
    Json j;
    json_init(&j, a.f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "kind", r->kind);
    json_str(&j, "config_file", r->file);
    json_str(&j, "config_yaml", r->yaml);
    json_arr_begin(&j, "set");
    for (int i = 0; i < r->n_sets; i++) json_str(&j, NULL, r->sets[i]);
    json_arr_end(&j);
    json_int(&j, "seeds", r->seeds);
    snprintf(hex, sizeof hex, "%016" PRIx64, r->fingerprint);
    json_str(&j, "fingerprint", hex);
    snprintf(hex, sizeof hex, "%016" PRIx64, checksum(r));
    json_str(&j, "checksum", hex);
    json_str(&j, "version", SB_VERSION);
    json_obj_end(&j);
    json_end(&j);
    return atomic_commit(&a, err, n);
}

void rundir_record_free(RunRecord *r) {
    jv_free(&r->doc);
    free(r->set_store);
    r->set_store = NULL;
}

static int hex64(const char *s, uint64_t *out) {
    if (!s || strlen(s) != 16) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end || errno) return -1;
    *out = (uint64_t)v;
    return 0;
}

int rundir_read(RunRecord *r, const char *dir, char *err, size_t n) {
    memset(r, 0, sizeof *r);
    char path[4200], e[256];
    path_join(path, sizeof path, dir, "run.json");
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len, err, n)) return -1;
    int rc = jv_parse(&r->doc, (const char *)buf, len, e, sizeof e);
    free(buf);
    if (rc) return refuse(err, n, "%s: not a run record (%s)", path, e);
    const JVal *v = &r->doc, *set = jv_get(v, "set");
    const char *fp = NULL, *sum = NULL;
    double seeds = 0;
    uint64_t want;
    if (jv_get_str(v, "kind", &r->kind) != 1 || jv_get_str(v, "config_file", &r->file) != 1 ||
        jv_get_str(v, "config_yaml", &r->yaml) != 1 || !set || set->kind != JV_ARR ||
        jv_get_num(v, "seeds", &seeds) != 1 || jv_get_str(v, "fingerprint", &fp) != 1 ||
        jv_get_str(v, "checksum", &sum) != 1)
        return refuse(err, n, "%s: not a run record of this version (kind, config_file, config_yaml, set, seeds, "
                              "fingerprint, checksum)", path);
    if (!(seeds >= 1 && seeds <= 1e6 && seeds == (int)seeds) || hex64(fp, &r->fingerprint) || hex64(sum, &want))
        return refuse(err, n, "%s: seeds, fingerprint or checksum malformed", path);
    r->seeds = (int)seeds;
    r->set_store = sb_calloc(set->n + 1, sizeof *r->set_store);
    for (size_t i = 0; i < set->n; i++) {
        if (set->items[i].kind != JV_STR) return refuse(err, n, "%s: set[%zu] is not a string", path, i);
        r->set_store[i] = set->items[i].str;
    }
    r->sets = r->set_store;
    r->n_sets = (int)set->n;
    if (checksum(r) != want)
        return refuse(err, n, "%s: its contents do not match its checksum (edited or damaged); a run continues only "
                              "with the config it started with",
                      path);
    return 0;
}

int rundir_claim_ranks(DirLock *l, const char *dir, RunDirMode mode, const char *holder, char *err, size_t n) {
    SbComm *world = sb_comm_world();
    int rc = 0;
    l->fd = -1;
    if (sb_mpi_rank() == 0) rc = rundir_claim(l, dir, mode, holder, err, n);
    if (!world) return rc;
    /* Rank 0's outcome for all: a refused directory is refused on every rank. */
    sb_comm_bcast(world, &rc, sizeof rc);
    if (rc && sb_mpi_rank() != 0) snprintf(err, n, "%s: refused on rank 0 (its message is above)", dir);
    return rc;
}
