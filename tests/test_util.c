/* test_util.c: the shared utilities: RNG distributions, the YAML tree's typed getters and
 * error positions, --set overrides, the JSON writer and the fingerprints' hash. */
#include <criterion/criterion.h>

#include "config/yamltree.h"
#include "testutil.h"
#include "util/common.h"
#include "util/json.h"
#include "util/rng.h"

Test(rng, streams_differ_and_repeat) {
    Rng a, b, c;
    rng_seed(&a, 7, 0);
    rng_seed(&b, 7, 0);
    rng_seed(&c, 7, 1);
    uint64_t x = rng_u64(&a);
    cr_expect_eq(x, rng_u64(&b));
    cr_expect_neq(x, rng_u64(&c));
}

Test(rng, moments_match_the_distributions) {
    /* Uniform mean 1/2, normal mean 0 var 1, triangular(0.8, 1.2, 1) mean 1 and variance
     * (a^2+b^2+c^2-ab-ac-bc)/18 = 0.04/6. Tolerances are ~6 standard errors. */
    Rng r;
    rng_seed(&r, 42, 0);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0, st = 0, st2 = 0;
    for (int i = 0; i < n; i++) {
        su += rng_uniform(&r);
        double z = rng_normal(&r);
        sn += z;
        sn2 += z * z;
        double t = rng_triangular(&r, 0.8, 1.2, 1.0);
        cr_assert(t >= 0.8 && t <= 1.2);
        st += t;
        st2 += t * t;
    }
    cr_expect(fabs(su / n - 0.5) < 6 * sqrt(1.0 / 12 / n));
    cr_expect(fabs(sn / n) < 6 / sqrt((double)n));
    cr_expect(fabs(sn2 / n - 1.0) < 6 * sqrt(2.0 / n));
    double tv = (0.64 + 1.44 + 1.0 - 0.96 - 0.8 - 1.2) / 18.0;
    cr_expect(fabs(st / n - 1.0) < 6 * sqrt(tv / n));
    cr_expect(fabs(st2 / n - (st / n) * (st / n) - tv) < 0.05 * tv);
    for (int i = 0; i < 1000; i++) cr_assert(rng_below(&r, 7) < 7);
}

Test(rng, an_asymmetric_triangular_has_its_moments_and_mass_below_the_mode) {
    /* The game's noise is symmetric (0.8, 1.2, 1), where the two branches' widths coincide; on
     * triangular(0, 1, mode 0.25) they do not: mean (0 + 1 + 0.25) / 3 = 5/12, variance
     * (0 + 1 + 0.0625 - 0 - 0 - 0.25) / 18 = 0.8125 / 18, and P(t < mode) = (mode - lo) /
     * (hi - lo) = 1/4 (the CDF at the mode). Tolerances ~6 standard errors. */
    Rng r;
    rng_seed(&r, 43, 0);
    const int n = 200000;
    double s = 0, s2 = 0;
    int below = 0;
    for (int i = 0; i < n; i++) {
        double t = rng_triangular(&r, 0.0, 1.0, 0.25);
        cr_assert(t >= 0.0 && t <= 1.0);
        s += t;
        s2 += t * t;
        below += t < 0.25;
    }
    double mean = s / n, var = s2 / n - mean * mean, tv = 0.8125 / 18.0;
    cr_expect(fabs(mean - 5.0 / 12.0) < 6 * sqrt(tv / n), "mean %g", mean);
    cr_expect(fabs(var - tv) < 0.05 * tv, "variance %g, want %g", var, tv);
    cr_expect(fabs((double)below / n - 0.25) < 6 * sqrt(0.25 * 0.75 / n), "P(t < mode) %g", (double)below / n);
}

static const char *DOC = "a: 1.5\n"
                         "n: 200_000\n"
                         "flag: true\n"
                         "net: [18, 36]\n"
                         "sub:\n"
                         "  name: cartpole\n"
                         "  bad: abc\n";

Test(yamltree, typed_getters_and_positions) {
    YtDoc d;
    char err[512];
    cr_assert_eq(yt_load_string(&d, "t.yaml", DOC, err, sizeof err), 0, "%s", err);
    double a = 0;
    long n = 0, net[4];
    int flag = 0;
    size_t k = 0;
    const char *s = NULL;
    cr_expect_eq(yt_get_double(&d, NULL, "a", &a, err, sizeof err), 1);
    cr_expect_eq(a, 1.5);
    cr_expect_eq(yt_get_int(&d, NULL, "n", &n, err, sizeof err), 1);
    cr_expect_eq(n, 200000);
    cr_expect_eq(yt_get_bool(&d, NULL, "flag", &flag, err, sizeof err), 1);
    cr_expect_eq(flag, 1);
    cr_expect_eq(yt_get_int_list(&d, NULL, "net", net, 4, &k, err, sizeof err), 1);
    cr_expect(k == 2 && net[0] == 18 && net[1] == 36);
    cr_expect_eq(yt_get_str(&d, NULL, "sub.name", &s, err, sizeof err), 1);
    cr_expect_str_eq(s, "cartpole");
    cr_expect_eq(yt_get_double(&d, NULL, "missing", &a, err, sizeof err), 0);
    /* "bad" sits at line 7, column 8 (1-based) of DOC. */
    cr_expect_eq(yt_get_double(&d, NULL, "sub.bad", &a, err, sizeof err), -1);
    cr_expect(strstr(err, "t.yaml:7:8: sub.bad: expected a number") != NULL, "%s", err);
    yt_free(&d);
}

Test(yamltree, unknown_keys_and_overrides) {
    YtDoc d;
    char err[512];
    cr_assert_eq(yt_load_string(&d, "t.yaml", DOC, err, sizeof err), 0, "%s", err);
    double a;
    long n;
    cr_assert_eq(yt_set(&d, "a=2.5", err, sizeof err), 0, "%s", err);
    cr_assert_eq(yt_set(&d, "sub.extra=[1, 2]", err, sizeof err), 0, "%s", err);
    yt_get_double(&d, NULL, "a", &a, err, sizeof err);
    cr_expect_eq(a, 2.5);
    yt_get_int(&d, NULL, "n", &n, err, sizeof err);
    /* Unread keys, in file order: "flag" at line 3 col 1. */
    cr_expect_eq(yt_check_unused(&d, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "t.yaml:3:1: flag: unknown key") != NULL, "%s", err);
    cr_expect_eq(yt_check_range(&d, NULL, "a", a, 0, 1, err, sizeof err), -1);
    cr_expect(strstr(err, "a: must be in [0, 1], got 2.5") != NULL, "%s", err);
    yt_free(&d);
}

Test(yamltree, syntax_errors_have_positions) {
    YtDoc d;
    char err[512];
    cr_expect_eq(yt_load_string(&d, "s.yaml", "a: [1, 2\nb: 3\n", err, sizeof err), -1);
    cr_expect(strncmp(err, "s.yaml:", 7) == 0, "%s", err);
    cr_expect_eq(yt_load_string(&d, "s.yaml", "a: 1\na: 2\n", err, sizeof err), -1);
    cr_expect(strstr(err, "s.yaml:2:1: a: duplicate key") != NULL, "%s", err);
    cr_expect_eq(yt_load_string(&d, "s.yaml", "- 1\n- 2\n", err, sizeof err), -1);
    cr_expect_eq(yt_load_file(&d, "/nonexistent/x.yaml", err, sizeof err), -1);
    cr_expect(strstr(err, "/nonexistent/x.yaml: cannot open") != NULL, "%s", err);
}

Test(json, writes_nested_documents) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Json j;
    json_init(&j, f, 0);
    json_obj_begin(&j, NULL);
    json_str(&j, "status", "optimal");
    double v[3] = {1.5, -2, 0.1};
    json_num_array(&j, "lmp", v, 3);
    json_int(&j, "iterations", 4);
    json_num(&j, "nan", NAN);
    json_obj_end(&j);
    fclose(f);
    cr_expect_str_eq(buf, "{\"status\":\"optimal\",\"lmp\":[1.5, -2, 0.10000000000000001],"
                          "\"iterations\":4,\"nan\":null}");
    free(buf);
}

Test(fnv, matches_the_published_fnv1a_64_vectors) {
    /* FNV-1a 64 (Fowler, Noll, Vo): offset basis 0xcbf29ce484222325, prime 2^40 + 2^8 + 0xb3.
     * Vectors from the FNV authors' test suite (fnv_test_str, also in RFC draft
     * draft-eastlake-fnv): "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c, "foobar" ->
     * 85944171f73967e8. A chained call continues the same hash. */
    cr_expect_eq(sb_fnv1a(SB_FNV_INIT, "", 0), 0xcbf29ce484222325ull);
    cr_expect_eq(sb_fnv1a(SB_FNV_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
    cr_expect_eq(sb_fnv1a(SB_FNV_INIT, "foobar", 6), 0x85944171f73967e8ull);
    cr_expect_eq(sb_fnv1a(sb_fnv1a(SB_FNV_INIT, "foo", 3), "bar", 3), 0x85944171f73967e8ull);
}
