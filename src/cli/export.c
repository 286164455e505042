/* export.c: `stackelberg export RUN_DIR`: a run's policy and value networks as a
 * NumPy .npz that np.load reads and sb_policy_load (src/io/policy.h) loads.
 *
 * Reads RUN_DIR/checkpoint.npz (meta.json "stackelberg-checkpoint" version 1 or 2, agents as in
 * src/io/pspec.h), keeps only what acting needs (networks, log_std, observation
 * statistics), converts weights to the chosen dtype and writes the file atomically after
 * loading it back once as a self-check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/npz.h"
#include "io/policy.h"
#include "io/pspec.h"
#include "util/common.h"
#include "util/fsutil.h"
#include "util/json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg export RUN_DIR [-o FILE.npz] [--agent NAME] [--dtype float32|float16]\n\n"
            "Write the learned policy and value networks of a training run as a NumPy .npz\n"
            "(zip of .npy members, deflate-compressed, CRC-32 checked; np.load reads it).\n\n"
            "  RUN_DIR          a run directory holding checkpoint.npz\n"
            "  -o, --out FILE   output file (default RUN_DIR/policy.npz)\n"
            "  --agent NAME     export only this agent (default: every agent)\n"
            "  --dtype T        float32 (default; bitwise the trained weights) or float16\n"
            "                   (about half the size); observation statistics stay float64\n\n"
            "Members: NAME.pi.L.weight (out, in), NAME.pi.L.bias, NAME.vf.L.weight/bias (the last\n"
            "layer of pi is the action head, of vf the value), NAME.log_std (Gaussian actions),\n"
            "NAME.obs_mean / NAME.obs_var (when observations were normalised, applied as\n"
            "clip((obs - mean) / sqrt(var + 1e-8), -clip_obs, clip_obs)), and meta.json.\n"
            "Exit status: 0 written, 1 the file could not be written, 2 bad usage or bad input.\n");
}

/* Copy the checkpoint's tensor t into out in dtype (weights) or f8 (statistics). */
static int copy_tensor(Npz *out, const Npz *ck, const PspecTensor *t, NpyDtype dt, const char *label,
                       char *err, size_t errlen) {
    size_t count = t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
    const NpzMember *m = npz_find(ck, t->name);
    /* A missing or misshapen member fails here, before any allocation sized by the metadata. */
    if (!m || m->dtype == NPY_RAW || m->count != count) {
        if (npz_get_f64(ck, t->name, t->shape, t->ndim, NULL, label, err, errlen)) return -1;
        return sb_err(err, errlen, "%s: member %s: wrong size", label, t->name);
    }
    double *v = sb_malloc((count ? count : 1) * sizeof *v);
    int rc = npz_get_f64(ck, t->name, t->shape, t->ndim, v, label, err, errlen);
    if (rc == 0 && !t->is_weight) {
        rc = npz_add(out, t->name, NPY_F8, t->shape, t->ndim, v, err, errlen);
    } else if (rc == 0) {
        void *conv = sb_malloc((count ? count : 1) * 4);
        for (size_t i = 0; i < count && rc == 0; i++) {
            float f = (float)v[i];
            if (dt == NPY_F4) {
                ((float *)conv)[i] = f;
            } else {
                uint16_t h = npy_f32_to_f16(f);
                if ((h & 0x7c00u) == 0x7c00u && isfinite(f))
                    rc = sb_err(err, errlen, "%s: member %s: value %g does not fit float16", label,
                                t->name, (double)f);
                ((uint16_t *)conv)[i] = h;
            }
        }
        if (rc == 0) rc = npz_add(out, t->name, dt, t->shape, t->ndim, conv, err, errlen);
        free(conv);
    }
    free(v);
    return rc;
}

/* The export's meta.json (see the README's "Exported policies"). */
static char *export_meta(const JVal *ck_meta, const Pspec *specs, int n, NpyDtype dt, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) SB_PANIC("open_memstream failed");
    Json j;
    json_init(&j, f, 2);
    json_obj_begin(&j, NULL);
    json_str(&j, "format", "stackelberg-policy");
    json_int(&j, "version", 1);
    json_str(&j, "project_version", SB_VERSION);
    const JVal *v = jv_get(ck_meta, "project_version");
    if (v) jv_emit(&j, "trained_with_version", v);
    v = jv_get(ck_meta, "seed");
    if (v) jv_emit(&j, "seed", v);
    json_str(&j, "dtype", dt == NPY_F4 ? "float32" : "float16");
    json_str(&j, "obs_normalization", "clip((obs - obs_mean) / sqrt(obs_var + obs_eps), -clip_obs, clip_obs)");
    json_arr_begin(&j, "agents");
    for (int i = 0; i < n; i++) json_str(&j, NULL, specs[i].name);
    json_arr_end(&j);
    json_arr_begin_block(&j, "policies");
    for (int i = 0; i < n; i++) pspec_emit(&j, NULL, &specs[i]);
    json_arr_end(&j);
    v = jv_get(ck_meta, "config");
    if (v) jv_emit(&j, "config", v);
    json_obj_end(&j);
    json_end(&j);
    fclose(f);
    return buf;
}

/* Everything after argument parsing; returns the exit status. */
static int run_export(const char *run_dir, const char *out_path, const char *only, NpyDtype dt) {
    char ck_path[4096], err[1024];
    path_join(ck_path, sizeof ck_path, run_dir, "checkpoint.npz");
    Npz ck, out;
    npz_init(&out);
    if (npz_read(&ck, ck_path, err, sizeof err)) {
        fprintf(stderr, "stackelberg export: %s\n", err);
        /* A tariff-game run keeps one checkpoint per seed. */
        char seed0[4096];
        path_join(seed0, sizeof seed0, run_dir, "seed-0/checkpoint.npz");
        if (access(seed0, F_OK) == 0)
            fprintf(stderr, "stackelberg export: %s is a tariff-game run: export one seed, e.g. "
                            "stackelberg export %s/seed-0\n", run_dir, run_dir);
        return SB_EXIT_USAGE;
    }
    int status = SB_EXIT_USAGE, n = 0;
    Pspec *specs = NULL;
    JVal meta = {0};
    const NpzMember *mj = npz_find(&ck, "meta.json");
    const char *fmt = NULL;
    double version = 0;
    if (!mj || mj->dtype != NPY_RAW) {
        fprintf(stderr, "stackelberg export: %s: missing member meta.json\n", ck_path);
        goto done;
    }
    if (jv_parse(&meta, mj->data, mj->count, err, sizeof err)) {
        fprintf(stderr, "stackelberg export: %s: meta.json: %s\n", ck_path, err);
        goto done;
    }
    if (jv_get_str(&meta, "format", &fmt) != 1 || strcmp(fmt, "stackelberg-checkpoint")) {
        fprintf(stderr, "stackelberg export: %s: meta.json: format is not \"stackelberg-checkpoint\"\n", ck_path);
        goto done;
    }
    /* Version 2 (game checkpoints with named members; single-agent ones with progress.csv's
     * CRC) lists its agents as version 1 did. */
    if (jv_get_num(&meta, "version", &version) != 1 || (version != 1 && version != 2)) {
        fprintf(stderr, "stackelberg export: %s: unknown format version %g (this build reads versions 1 and 2)\n",
                ck_path, version);
        goto done;
    }
    const JVal *agents = jv_get(&meta, "agents");
    if (!agents || agents->kind != JV_ARR || agents->n == 0 || agents->n > 1024) {
        fprintf(stderr, "stackelberg export: %s: meta.json: \"agents\" must be a non-empty list\n", ck_path);
        goto done;
    }
    specs = sb_calloc(agents->n, sizeof *specs);
    for (size_t i = 0; i < agents->n; i++) {
        char where[4200];
        snprintf(where, sizeof where, "%s: meta.json: agents[%zu]", ck_path, i);
        if (pspec_parse(&specs[n], &agents->items[i], where, err, sizeof err)) {
            fprintf(stderr, "stackelberg export: %s\n", err);
            goto done;
        }
        if (!only || !strcmp(only, specs[n].name)) n++;
    }
    if (n == 0) {
        fprintf(stderr, "stackelberg export: %s: no agent '%s'; agents:", ck_path, only);
        for (size_t i = 0; i < agents->n; i++) {
            const char *nm = "?";
            jv_get_str(&agents->items[i], "name", &nm);
            fprintf(stderr, " %s", nm);
        }
        fprintf(stderr, "\n");
        goto done;
    }
    for (int a = 0; a < n; a++) {
        PspecTensor ts[PSPEC_MAX_TENSORS];
        int nt = pspec_tensors(&specs[a], ts);
        for (int t = 0; t < nt; t++)
            if (copy_tensor(&out, &ck, &ts[t], dt, ck_path, err, sizeof err)) {
                fprintf(stderr, "stackelberg export: %s\n", err);
                goto done;
            }
    }
    size_t mlen;
    char *mtext = export_meta(&meta, specs, n, dt, &mlen);
    int rc = npz_add_raw(&out, "meta.json", mtext, mlen, err, sizeof err);
    free(mtext);
    if (rc) {
        fprintf(stderr, "stackelberg export: %s\n", err);
        goto done;
    }
    unsigned char *bytes;
    size_t blen;
    status = SB_EXIT_FAIL;
    if (npz_write_mem(&out, &bytes, &blen, err, sizeof err)) {
        fprintf(stderr, "stackelberg export: %s\n", err);
        goto done;
    }
    SbPolicy *check;
    if (sb_policy_load_mem(bytes, blen, out_path, &check, err, sizeof err)) {
        free(bytes);
        SB_PANIC("export does not load back: %s", err);
    }
    sb_policy_free(check);
    rc = write_file_atomic(out_path, bytes, blen, err, sizeof err);
    free(bytes);
    if (rc) {
        fprintf(stderr, "stackelberg export: %s\n", err);
        goto done;
    }
    printf("wrote %s: %d agent%s, %s weights, %zu bytes\n", out_path, n, n == 1 ? "" : "s",
           dt == NPY_F4 ? "float32" : "float16", blen);
    status = SB_EXIT_OK;
done:
    free(specs);
    jv_free(&meta);
    npz_free(&ck);
    npz_free(&out);
    return status;
}

int cmd_export(int argc, char **argv) {
    const char *run_dir = NULL, *out = NULL, *only = NULL;
    NpyDtype dt = NPY_F4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return SB_EXIT_OK;
        }
        int has_val = i + 1 < argc;
        if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && has_val) out = argv[++i];
        else if (!strcmp(a, "--agent") && has_val) only = argv[++i];
        else if (!strcmp(a, "--dtype") && has_val) {
            const char *t = argv[++i];
            if (!strcmp(t, "float32")) dt = NPY_F4;
            else if (!strcmp(t, "float16")) dt = NPY_F2;
            else {
                fprintf(stderr, "stackelberg export: --dtype: '%s' is not float32 or float16\n", t);
                return SB_EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "stackelberg export: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return SB_EXIT_USAGE;
        } else if (!run_dir) run_dir = a;
        else {
            fprintf(stderr, "stackelberg export: unexpected argument '%s'\n\n", a);
            usage(stderr);
            return SB_EXIT_USAGE;
        }
    }
    if (!run_dir) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    char def[4096];
    if (!out) {
        path_join(def, sizeof def, run_dir, "policy.npz");
        out = def;
    }
    return run_export(run_dir, out, only, dt);
}
