/* test_npz.c: the .npz/.npy library: float16 conversion against hand-derived bit patterns,
 * bitwise round trips, interoperability with NumPy both ways (NumPy is the reference: it
 * must read our files and produce byte-identical .npy members, and we must read its files),
 * clean failure on corrupted input, and a replay of the fuzzing corpus. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

#include "io/jsonval.h"
#include "io/npz.h"
#include "io/policy.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/rng.h"

/* ---- float16 -------------------------------------------------------------------------- */

Test(f16, conversion_matches_hand_derived_bits) {
    /* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
     *   1.0 = 0 01111 0000000000 = 0x3c00;  -2.0 = 0xc000;  0.5 = 0x3800
     *   65504 = (2 - 2^-10) 2^15 = 0x7bff, the largest finite half
     *   65520 lies halfway between 65504 (odd mantissa) and 65536 (= inf): ties to even -> inf
     *   2^-14 = 0x0400 smallest normal; 2^-24 = 0x0001 smallest subnormal
     *   2^-25 is halfway between 0 and 2^-24: ties to even -> 0
     *   1.5 * 2^-24 is halfway between 1 and 2 subnormal ulps: ties to even -> 0x0002
     *   1 + 2^-11 is halfway between 0x3c00 and 0x3c01: -> 0x3c00 (even)
     *   1 + 3 * 2^-11 is halfway between 0x3c01 and 0x3c02: -> 0x3c02 (even)
     *   1 + 2^-11 + 2^-20 is just above halfway: -> 0x3c01 */
    struct {
        float f;
        uint16_t h;
    } cases[] = {
        {1.0f, 0x3c00},          {-2.0f, 0xc000},          {0.5f, 0x3800},
        {65504.0f, 0x7bff},      {65520.0f, 0x7c00},       {65519.0f, 0x7bff},
        {0x1p-14f, 0x0400},      {0x1p-24f, 0x0001},       {0x1p-25f, 0x0000},
        {0x1.8p-24f, 0x0002},    {1.0f + 0x1p-11f, 0x3c00}, {1.0f + 0x3p-11f, 0x3c02},
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01}, {-0.0f, 0x8000}, {1e-10f, 0x0000},
        {INFINITY, 0x7c00},      {-INFINITY, 0xfc00},      {1e10f, 0x7c00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(npy_f32_to_f16(cases[i].f), cases[i].h, "%a -> %04x, want %04x",
                     (double)cases[i].f, npy_f32_to_f16(cases[i].f), cases[i].h);
    uint16_t nan = npy_f32_to_f16(NAN);
    cr_expect((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0, "NaN -> %04x", nan);
}

Test(f16, every_half_widens_exactly_and_narrows_back) {
    /* Second method: the value formula of IEEE 754 binary16, evaluated in double. */
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float got = npy_f16_to_f32((uint16_t)h);
        if (e == 31) {
            cr_assert(m ? isnan(got) : isinf(got), "%04x", h);
            if (!m) cr_assert_eq(npy_f32_to_f16(got), h);
            continue;
        }
        double want = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp((double)m, -24);
        if (s) want = -want;
        cr_assert_eq((double)got, want, "%04x: %a vs %a", h, (double)got, want);
        cr_assert_eq(npy_f32_to_f16(got), h, "%04x does not narrow back", h);
    }
}

/* ---- reference arrays shared with tests/npz_check.py ---------------------------------- */

static void add_reference(Npz *z) {
    char err[256];
    float a[12];
    for (int i = 0; i < 12; i++) a[i] = (float)(i * 0.5 - 1.0);
    uint16_t h[5] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001}; /* 1, -2, 0.5, 65504, 2^-24 */
    double d[8];
    for (int i = 0; i < 8; i++) d[i] = i / 7.0;
    int64_t iv[3] = {-1, (int64_t)1 << 40, 7};
    uint64_t u[1] = {((uint64_t)1 << 63) + 5};
    unsigned char b[4] = {0, 1, 254, 255};
    double pi = 3.141592653589793;
    size_t s34[2] = {3, 4}, s5[1] = {5}, s222[3] = {2, 2, 2}, s3[1] = {3}, s1[1] = {1}, s4[1] = {4},
           s03[2] = {0, 3};
    cr_assert_eq(npz_add(z, "a", NPY_F4, s34, 2, a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "h", NPY_F2, s5, 1, h, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "d", NPY_F8, s222, 3, d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "i", NPY_I8, s3, 1, iv, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "u", NPY_U8, s1, 1, u, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "b", NPY_U1, s4, 1, b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "s", NPY_F8, NULL, 0, &pi, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_add(z, "e", NPY_F4, s03, 2, NULL, err, sizeof err), 0, "%s", err);
    const char *meta = "{\"x\": 1, \"name\": \"caf\xc3\xa9\"}";
    cr_assert_eq(npz_add_raw(z, "meta.json", meta, strlen(meta), err, sizeof err), 0, "%s", err);
}

static int npz_equal(const Npz *a, const Npz *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const NpzMember *x = &a->m[i], *y = npz_find(b, x->name);
        if (!y || x->dtype != y->dtype || x->ndim != y->ndim || x->count != y->count) return 0;
        for (int d = 0; d < x->ndim; d++)
            if (x->shape[d] != y->shape[d]) return 0;
        if (x->count && memcmp(x->data, y->data, x->count * npy_itemsize(x->dtype))) return 0;
    }
    return 1;
}

static void temp_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "/tmp/sb_test_npz_%d_%s", (int)getpid(), name);
}

Test(npz, round_trip_is_bitwise) {
    /* Random bit patterns, NaN payloads and subnormals included: every byte must survive. */
    Npz z, back;
    npz_init(&z);
    add_reference(&z);
    Rng r;
    rng_seed(&r, 3, 0);
    uint32_t bits[1000];
    for (int i = 0; i < 1000; i++) bits[i] = (uint32_t)rng_u64(&r);
    bits[0] = 0x7fc01234u; /* a NaN with a payload */
    bits[1] = 0x00000001u; /* the smallest subnormal */
    size_t shape[2] = {10, 100};
    char err[512];
    cr_assert_eq(npz_add(&z, "noise", NPY_F4, shape, 2, bits, err, sizeof err), 0, "%s", err);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(npz_write_mem(&z, &buf, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_read_mem(&back, buf, len, "mem", err, sizeof err), 0, "%s", err);
    cr_expect(npz_equal(&z, &back), "contents differ after a round trip");
    const NpzMember *m = npz_find(&back, "meta.json");
    cr_assert(m && m->dtype == NPY_RAW);
    cr_expect_str_eq((const char *)m->data, "{\"x\": 1, \"name\": \"caf\xc3\xa9\"}");
    free(buf);
    npz_free(&back);
    npz_free(&z);
}

Test(npz, numpy_reads_our_files_byte_for_byte) {
    Npz z;
    npz_init(&z);
    add_reference(&z);
    char path[256], cmd[512], out[4096], err[512];
    temp_path(path, sizeof path, "c.npz");
    cr_assert_eq(npz_write(&z, path, err, sizeof err), 0, "%s", err);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/npz_check.py check-c %s", path);
    int st = tu_run(cmd, out, sizeof out);
    cr_expect_eq(st, 0, "%s", out);
    cr_expect(strstr(out, "ok check-c") != NULL, "%s", out);
    unlink(path);
    npz_free(&z);
}

Test(npz, we_read_numpy_savez_compressed) {
    char path[256], cmd[512], out[4096], err[512];
    temp_path(path, sizeof path, "np.npz");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/npz_check.py write-np %s", path);
    cr_assert_eq(tu_run(cmd, out, sizeof out), 0, "%s", out);
    Npz got, want;
    cr_assert_eq(npz_read(&got, path, err, sizeof err), 0, "%s", err);
    npz_init(&want);
    add_reference(&want);
    /* NumPy's meta.json is its own JSON text: compare it parsed (its "\u00e9" escape must
     * decode to the same UTF-8 as ours), and the arrays bitwise. */
    const NpzMember *m = npz_find(&got, "meta.json");
    cr_assert(m && m->dtype == NPY_RAW);
    JVal v;
    const char *name = NULL;
    double x = 0;
    cr_assert_eq(jv_parse(&v, m->data, m->count, err, sizeof err), 0, "%s", err);
    cr_expect_eq(jv_get_str(&v, "name", &name), 1);
    cr_expect_str_eq(name, "caf\xc3\xa9");
    cr_expect_eq(jv_get_num(&v, "x", &x), 1);
    cr_expect_eq(x, 1.0);
    jv_free(&v);
    for (size_t i = 0; i < want.n; i++) {
        if (want.m[i].dtype == NPY_RAW) continue;
        const NpzMember *g = npz_find(&got, want.m[i].name);
        cr_assert(g, "missing %s", want.m[i].name);
        cr_expect_eq(g->dtype, want.m[i].dtype, "%s", g->name);
        cr_expect_eq(g->ndim, want.m[i].ndim, "%s", g->name);
        cr_expect_eq(g->count, want.m[i].count, "%s", g->name);
        if (g->count == want.m[i].count && g->count)
            cr_expect(!memcmp(g->data, want.m[i].data, g->count * npy_itemsize(g->dtype)), "%s", g->name);
    }
    /* The conversion helper on one of them: 'a' as doubles with the right shape, and a
     * wrong expected shape named in the message. */
    double a[12];
    size_t s34[2] = {3, 4}, s43[2] = {4, 3};
    cr_expect_eq(npz_get_f64(&got, "a", s34, 2, a, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(a[11], 4.5);
    cr_expect_eq(npz_get_f64(&got, "a", s43, 2, a, path, err, sizeof err), -1);
    cr_expect(strstr(err, "member a.npy: shape (3, 4) does not match the expected (4, 3)") != NULL, "%s", err);
    cr_expect(strstr(err, path) == err, "%s", err);
    /* Bitwise access for checkpoint restore: exact dtype required. */
    uint64_t u = 0;
    size_t s1[1] = {1};
    cr_expect_eq(npz_get_exact(&got, "u", NPY_U8, s1, 1, &u, path, err, sizeof err), 0, "%s", err);
    cr_expect_eq(u, ((uint64_t)1 << 63) + 5);
    cr_expect_eq(npz_get_exact(&got, "a", NPY_F8, s34, 2, a, path, err, sizeof err), -1);
    cr_expect(strstr(err, "member a.npy: dtype <f4, expected <f8") != NULL, "%s", err);
    npz_free(&got);
    npz_free(&want);
    unlink(path);
}

/* ---- corrupted input ------------------------------------------------------------------ */

static unsigned char *reference_bytes(size_t *len) {
    Npz z;
    npz_init(&z);
    add_reference(&z);
    unsigned char *buf;
    char err[256];
    cr_assert_eq(npz_write_mem(&z, &buf, len, err, sizeof err), 0, "%s", err);
    npz_free(&z);
    return buf;
}

Test(npz, every_truncation_fails_with_the_file_name) {
    size_t len;
    unsigned char *buf = reference_bytes(&len);
    char err[512];
    for (size_t cut = 0; cut < len; cut++) {
        Npz z;
        err[0] = 0;
        cr_assert_eq(npz_read_mem(&z, buf, cut, "t.npz", err, sizeof err), -1, "cut at %zu read", cut);
        cr_assert(!strncmp(err, "t.npz: ", 7), "cut %zu: %s", cut, err);
        npz_free(&z);
    }
    Npz z;
    cr_expect_eq(npz_read_mem(&z, buf, len / 2, "t.npz", err, sizeof err), -1);
    cr_expect(strstr(err, "truncated") != NULL, "%s", err);
    free(buf);
}

Test(npz, flipped_bytes_never_give_wrong_data) {
    /* A flip in headers that only describe (dates, attributes, local sizes) may be harmless;
     * anywhere else it must be an error. Either way a successful read returns exactly the
     * original contents: the CRC-32 and size checks leave no silent corruption. */
    size_t len;
    unsigned char *buf = reference_bytes(&len);
    Npz want, z;
    char err[512];
    cr_assert_eq(npz_read_mem(&want, buf, len, "f.npz", err, sizeof err), 0, "%s", err);
    int failures = 0;
    for (size_t off = 0; off < len; off++) {
        for (int bit = 0; bit < 8; bit += 3) {
            buf[off] ^= (unsigned char)(1u << bit);
            int rc = npz_read_mem(&z, buf, len, "f.npz", err, sizeof err);
            if (rc == 0) cr_assert(npz_equal(&want, &z), "flip at %zu bit %d changed the data", off, bit);
            else cr_assert(!strncmp(err, "f.npz: ", 7), "flip %zu: %s", off, err);
            failures += rc != 0;
            npz_free(&z);
            buf[off] ^= (unsigned char)(1u << bit);
        }
    }
    cr_expect(failures > (int)len, "only %d of %zu flips detected", failures, 3 * len);
    npz_free(&want);
    free(buf);
}

/* One archive with a single raw member named NAME (e.g. a hand-made bad .npy). */
static unsigned char *one_member(const char *name, const void *data, size_t n, size_t *len) {
    Npz z;
    npz_init(&z);
    char err[256];
    unsigned char *buf;
    cr_assert_eq(npz_add_raw(&z, name, data, n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(npz_write_mem(&z, &buf, len, err, sizeof err), 0, "%s", err);
    npz_free(&z);
    return buf;
}

static void expect_error(const unsigned char *buf, size_t len, const char *what) {
    Npz z;
    char err[512] = "";
    cr_expect_eq(npz_read_mem(&z, buf, len, "bad.npz", err, sizeof err), -1, "accepted (%s)", what);
    cr_expect(strstr(err, "bad.npz: ") == err && strstr(err, what), "got '%s', want '%s'", err, what);
    npz_free(&z);
}

/* A .npy v1.0 member: magic, version, header length, header text padded to 64, data. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data, size_t n) {
    size_t hl = strlen(dict);
    size_t total = (10 + hl + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = (unsigned char)((total - 10) & 0xff);
    out[9] = (unsigned char)((total - 10) >> 8);
    memset(out + 10, ' ', total - 10);
    memcpy(out + 10, dict, hl);
    out[total - 1] = '\n';
    memcpy(out + total, data, n);
    return total + n;
}

Test(npz, each_defect_has_its_message) {
    size_t len;
    unsigned char *buf;
    expect_error((const unsigned char *)"hello, this is not a zip archive at all", 39, "not a zip file");
    expect_error((const unsigned char *)"PK\x03\x04", 4, "truncated");

    /* Stored CRC changed in the central directory (offset 16 of the entry). */
    buf = reference_bytes(&len);
    size_t cd = buf[len - 6] | buf[len - 5] << 8 | buf[len - 4] << 16 | (size_t)buf[len - 3] << 24;
    buf[cd + 16] ^= 1;
    expect_error(buf, len, "member a.npy: CRC-32 mismatch");
    free(buf);

    /* ZIP64 marker in the end record's entry count. */
    buf = reference_bytes(&len);
    buf[len - 12] = buf[len - 11] = 0xff;
    expect_error(buf, len, "ZIP64");
    free(buf);

    float f[12] = {0};
    unsigned char npy[512];
    size_t n = make_npy(npy, 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", f, 48);
    buf = one_member("x.npy", npy, n, &len);
    expect_error(buf, len, "member x.npy: unsupported .npy version 9.0");
    free(buf);
    n = make_npy(npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }", f, 48);
    buf = one_member("x.npy", npy, n, &len);
    expect_error(buf, len, "member x.npy: shape (3, 5) of <f4 needs 60 bytes, has 48");
    free(buf);
    n = make_npy(npy, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (12,), }", f, 48);
    buf = one_member("x.npy", npy, n, &len);
    expect_error(buf, len, "unsupported dtype");
    free(buf);
    n = make_npy(npy, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", f, 48);
    buf = one_member("x.npy", npy, n, &len);
    expect_error(buf, len, "Fortran-ordered");
    free(buf);
    n = make_npy(npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (12), }", f, 48);
    buf = one_member("x.npy", npy, n, &len);
    expect_error(buf, len, "trailing comma");
    free(buf);
    buf = one_member("x.npy", "not an array", 12, &len);
    expect_error(buf, len, "member x.npy: not a .npy array");
    free(buf);
}

/* ---- the fuzzing corpus --------------------------------------------------------------- */

Test(npz, fuzz_corpus_replays_cleanly) {
    /* Every committed input (seeds and whatever the fuzzer found) goes through both loaders:
     * each must end in success or a message that names the input, never a crash (this test
     * matters most under `make asan`). */
    DIR *d = opendir("tests/fuzz/corpus");
    cr_assert(d, "tests/fuzz/corpus is missing");
    struct dirent *e;
    int files = 0, ok = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512], err[1024];
        snprintf(path, sizeof path, "tests/fuzz/corpus/%s", e->d_name);
        unsigned char *buf;
        size_t len;
        cr_assert_eq(read_file(path, &buf, &len, err, sizeof err), 0, "%s", err);
        Npz z;
        err[0] = 0;
        int rc = npz_read_mem(&z, buf, len, "corpus", err, sizeof err);
        cr_assert(rc == 0 || !strncmp(err, "corpus: ", 8), "%s: %s", path, err);
        npz_free(&z);
        SbPolicy *pol = NULL;
        err[0] = 0;
        rc = sb_policy_load_mem(buf, len, "corpus", &pol, err, sizeof err);
        cr_assert(rc == 0 ? pol != NULL : !strncmp(err, "corpus: ", 8), "%s: %s", path, err);
        ok += rc == 0;
        sb_policy_free(pol);
        free(buf);
        files++;
    }
    closedir(d);
    cr_expect(files >= 20, "only %d corpus files", files);
    cr_expect(ok >= 1, "no valid policy in the corpus");
}
