/* fuzz_npz.c: libFuzzer harness for everything that reads untrusted policy files: the .npz
 * container and .npy headers (npz_read_mem), the JSON of meta.json (jv_parse) and the policy
 * loader on top (sb_policy_load_mem), which then acts once so loaded shapes are exercised.
 *
 *   make fuzz FUZZ_TIME=300      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * The fuzz build defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes npz.c accept
 * a wrong CRC-32 so that mutations reach the .npy header and meta.json parsers.
 *
 * tests/fuzz/corpus/ holds the seeds (make_seeds.py, and policy-*.npz from `export`) and
 * fuzz-* inputs the fuzzer found, one per distinct error message, with their CRC-32s
 * recomputed so the normal build follows the same deep path. tests/test_npz.c replays them
 * all on each `make test`, so a fixed crash stays fixed even where clang is absent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/jsonval.h"
#include "io/npz.h"
#include "io/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[1024];
    Npz z;
    if (npz_read_mem(&z, data, size, "fuzz", err, sizeof err) == 0) {
        /* Touch every byte the reader claims to own. */
        volatile unsigned char sink = 0;
        for (size_t i = 0; i < z.n; i++)
            for (size_t k = 0; k < z.m[i].count * npy_itemsize(z.m[i].dtype); k++)
                sink ^= ((const unsigned char *)z.m[i].data)[k];
        (void)sink;
    } else if (strncmp(err, "fuzz: ", 6)) {
        abort(); /* every failure must name its input */
    }
    npz_free(&z);

    SbPolicy *pol;
    if (sb_policy_load_mem(data, size, "fuzz", &pol, err, sizeof err) == 0) {
        for (int a = 0; a < sb_policy_agent_count(pol); a++) {
            SbPolicyAgent *ag = sb_policy_agent_at(pol, a);
            SbPolicyInfo in;
            sb_policy_info(ag, &in);
            double *obs = calloc((size_t)in.obs_dim, sizeof *obs);
            double *act = calloc((size_t)in.action_dim, sizeof *act);
            double *dist = calloc((size_t)in.dist_dim, sizeof *dist);
            double *std = calloc((size_t)in.dist_dim, sizeof *std);
            double v;
            sb_policy_act(ag, obs, NULL, act, &v);
            sb_policy_dist(ag, obs, NULL, dist, std, &v);
            double *played = calloc((size_t)in.play_dim + 1, sizeof *played);
            unsigned char *mask = calloc((size_t)in.dist_dim, 1);
            for (int i = 0; i < in.obs_dim; i++) obs[i] = 0.25; /* a SoC inside [0, 1] */
            sb_policy_play(ag, obs, played);
            sb_policy_mask(ag, obs, mask);
            free(played);
            free(mask);
            free(obs);
            free(act);
            free(dist);
            free(std);
        }
        sb_policy_free(pol);
    } else if (strncmp(err, "fuzz: ", 6)) {
        abort();
    }

    /* The JSON reader on the raw bytes as well (meta.json is its only input). */
    JVal v;
    if (jv_parse(&v, (const char *)data, size, err, sizeof err) == 0) jv_free(&v);
    return 0;
}
