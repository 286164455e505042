/* npz.c: the .npz writer and the defensive reader (see npz.h).
 *
 * ZIP layout written (APPNOTE 6.3, no ZIP64): per member a local header (30 bytes + name),
 * the deflated .npy bytes; then one central directory entry (46 bytes + name) per member
 * and the end-of-central-directory record (22 bytes). Dates are fixed at 1980-01-01, as
 * numpy writes them, so the same arrays always give the same file.
 *
 * The reader walks the central directory (the authoritative index) and uses a local header
 * only to find where the member's bytes start: numpy writes ZIP64 extras into local headers
 * even for small files, so their size fields are not compared. */
#define ZLIB_CONST
#include "io/npz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/common.h"
#include "util/fsutil.h"

enum {
    ZIP_LOCAL_SIG = 0x04034b50,
    ZIP_CENTRAL_SIG = 0x02014b50,
    ZIP_EOCD_SIG = 0x06054b50,
    ZIP64_LOCATOR_SIG = 0x07064b50,
    ZIP_LOCAL_LEN = 30,
    ZIP_CENTRAL_LEN = 46,
    ZIP_EOCD_LEN = 22,
    ZIP_DOS_DATE_1980 = 0x0021, /* 1980-01-01 */
};

/* Deflate never expands data by more than this factor the other way round (a stream of
 * length-258 matches at ~2 bits each), so a declared size beyond it is a lie. */
#define INFLATE_MAX_RATIO 1100u

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ---- little helpers ---------------------------------------------------------------- */

static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static unsigned char *put16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}
static unsigned char *put32(unsigned char *p, uint32_t v) {
    p = put16(p, v & 0xffff);
    return put16(p, v >> 16);
}

size_t npy_itemsize(NpyDtype dt) {
    switch (dt) {
    case NPY_F4: return 4;
    case NPY_F2: return 2;
    case NPY_F8: return 8;
    case NPY_I8: return 8;
    case NPY_U8: return 8;
    case NPY_U1: return 1;
    case NPY_I4: return 4;
    case NPY_RAW: return 1;
    }
    return 1;
}

static const struct {
    NpyDtype dt;
    const char *descr;
} DESCRS[] = {
    {NPY_F4, "<f4"}, {NPY_F2, "<f2"}, {NPY_F8, "<f8"}, {NPY_I8, "<i8"},
    {NPY_U8, "<u8"}, {NPY_U1, "|u1"}, {NPY_I4, "<i4"},
};

const char *npy_descr(NpyDtype dt) {
    for (size_t i = 0; i < SB_ARRAY_LEN(DESCRS); i++)
        if (DESCRS[i].dt == dt) return DESCRS[i].descr;
    return "raw";
}

const char *npy_shape_str(const size_t *shape, int ndim, char *buf, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - SB_MIN(k, cap), "(");
    for (int d = 0; d < ndim; d++)
        k += (size_t)snprintf(buf + SB_MIN(k, cap), cap - SB_MIN(k, cap), d ? ", %zu" : "%zu",
                              shape[d]);
    snprintf(buf + SB_MIN(k, cap), cap - SB_MIN(k, cap), ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- float16 ----------------------------------------------------------------------- */

uint16_t npy_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) /* inf stays inf; NaN keeps its top payload bits and stays quiet */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0));
    int e = (int)exp - 127 + 15; /* half's biased exponent */
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* Half subnormal m * 2^-24 with m = (1.mant) * 2^(e-14+23); below 2^-25 it is 0. */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e; /* 14..24 */
        uint32_t hm = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1u))) hm++; /* may carry into the smallest normal */
        return (uint16_t)(sign | hm);
    }
    uint32_t h = sign | (uint32_t)e << 10 | mant >> 13;
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry into the exponent is right */
    return (uint16_t)h;
}

float npy_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24); /* exact: mant < 2^10 */
        return sign ? -v : v;
    }
    if (exp == 31) x = sign | 0x7f800000u | mant << 13;
    else x = sign | (exp - 15 + 127) << 23 | mant << 13;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---- the member list --------------------------------------------------------------- */

void npz_init(Npz *z) { memset(z, 0, sizeof *z); }

void npz_free(Npz *z) {
    for (size_t i = 0; i < z->n; i++) {
        free(z->m[i].name);
        free(z->m[i].data);
    }
    free(z->m);
    npz_init(z);
}

const NpzMember *npz_find(const Npz *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->m[i].name, name)) return &z->m[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !memcmp(s + a - b, suffix, b);
}

static int check_new_name(const Npz *z, const char *name, int is_array, char *err, size_t errlen) {
    size_t len = strlen(name);
    if (len == 0 || len + 4 >= NPZ_MAX_NAME)
        return sb_err(err, errlen, "member name '%s' is empty or too long", name);
    if (is_array && ends_with(name, ".npy"))
        return sb_err(err, errlen, "member name '%s': give array names without '.npy'", name);
    if (npz_find(z, name)) return sb_err(err, errlen, "member '%s' added twice", name);
    return 0;
}

static NpzMember *push(Npz *z) {
    if (z->n == z->cap) {
        z->cap = z->cap ? 2 * z->cap : 16;
        z->m = sb_realloc(z->m, z->cap * sizeof *z->m);
    }
    NpzMember *m = &z->m[z->n++];
    memset(m, 0, sizeof *m);
    return m;
}

int npz_add(Npz *z, const char *name, NpyDtype dt, const size_t *shape, int ndim, const void *data,
            char *err, size_t errlen) {
    if (dt == NPY_RAW || ndim < 0 || ndim > NPY_MAX_DIMS)
        return sb_err(err, errlen, "member '%s': bad dtype or %d dims", name, ndim);
    if (check_new_name(z, name, 1, err, errlen)) return -1;
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= shape[d];
    NpzMember *m = push(z);
    m->name = sb_strdup(name);
    m->dtype = dt;
    m->ndim = ndim;
    for (int d = 0; d < ndim; d++) m->shape[d] = shape[d];
    m->count = count;
    m->data = sb_malloc(count * npy_itemsize(dt) + 1);
    if (count) memcpy(m->data, data, count * npy_itemsize(dt));
    return 0;
}

int npz_add_raw(Npz *z, const char *name, const void *data, size_t len, char *err, size_t errlen) {
    if (check_new_name(z, name, 0, err, errlen)) return -1;
    NpzMember *m = push(z);
    m->name = sb_strdup(name);
    m->dtype = NPY_RAW;
    m->count = len;
    m->data = sb_malloc(len + 1);
    if (len) memcpy(m->data, data, len);
    ((char *)m->data)[len] = 0; /* raw text members read as C strings */
    return 0;
}

int npz_add_f32(Npz *z, const char *name, const float *data, size_t rows, size_t cols, char *err,
                size_t errlen) {
    size_t shape[2] = {rows, cols};
    return npz_add(z, name, NPY_F4, shape, cols ? 2 : 1, data, err, errlen);
}

/* ---- writing ----------------------------------------------------------------------- */

/* The .npy v1.0 header as numpy 1.24 writes it: the dict with sorted keys, spare spaces
 * for growing axis 0 (numpy's GROWTH_AXIS_MAX_DIGITS = 21), then padding so that the data
 * starts at a multiple of 64 bytes, ending in '\n'. Returns the header length. */
static size_t npy_header(const NpzMember *m, char *out, size_t cap) {
    char shape[NPY_MAX_DIMS * 24 + 8];
    npy_shape_str(m->shape, m->ndim, shape, sizeof shape);
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     npy_descr(m->dtype), shape);
    if (m->ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%zu", m->shape[0]);
        for (int i = digits; i < 21; i++) dict[k++] = ' ';
    }
    size_t hlen = (size_t)k + 1; /* with the '\n' */
    size_t pad = 64 - (10 + hlen) % 64;
    if (pad == 64) pad = 0;
    size_t total = 10 + hlen + pad;
    SB_ASSERT(total <= cap && total - 10 <= 0xffff);
    memcpy(out, NPY_MAGIC, 6);
    out[6] = 1;
    out[7] = 0;
    put16((unsigned char *)out + 8, (uint32_t)(total - 10));
    memcpy(out + 10, dict, (size_t)k);
    memset(out + 10 + k, ' ', pad);
    out[total - 1] = '\n';
    return total;
}

/* The member's uncompressed bytes in a malloc'd buffer. */
static unsigned char *member_bytes(const NpzMember *m, size_t *len) {
    size_t dlen = m->count * npy_itemsize(m->dtype);
    if (m->dtype == NPY_RAW) {
        unsigned char *b = sb_malloc(dlen + 1);
        if (dlen) memcpy(b, m->data, dlen);
        *len = dlen;
        return b;
    }
    char head[1024];
    size_t hl = npy_header(m, head, sizeof head);
    unsigned char *b = sb_malloc(hl + dlen + 1);
    memcpy(b, head, hl);
    if (dlen) memcpy(b + hl, m->data, dlen);
    *len = hl + dlen;
    return b;
}

int npz_write_mem(const Npz *z, unsigned char **buf, size_t *len, char *err, size_t errlen) {
    size_t n = z->n;
    uint32_t *crc = sb_calloc(n ? n : 1, sizeof *crc);
    size_t *usize = sb_calloc(n ? n : 1, sizeof *usize);
    size_t *csize = sb_calloc(n ? n : 1, sizeof *csize);
    size_t *offset = sb_calloc(n ? n : 1, sizeof *offset);
    size_t cap = ZIP_EOCD_LEN, pos = 0;
    unsigned char *out = NULL;
    int rc = -1;
    /* Pass 1 sizes the buffer generously with deflateBound; pass 2 fills it. */
    for (size_t i = 0; i < n; i++) {
        size_t dlen = z->m[i].count * npy_itemsize(z->m[i].dtype) + 1024;
        size_t nl = strlen(z->m[i].name) + 4;
        cap += ZIP_LOCAL_LEN + ZIP_CENTRAL_LEN + 2 * nl + dlen + dlen / 1000 + 64;
    }
    out = sb_malloc(cap);
    for (size_t i = 0; i < n; i++) {
        const NpzMember *m = &z->m[i];
        char name[NPZ_MAX_NAME + 8];
        snprintf(name, sizeof name, m->dtype == NPY_RAW ? "%s" : "%s.npy", m->name);
        size_t nl = strlen(name);
        size_t raw_len;
        unsigned char *raw = member_bytes(m, &raw_len);
        if (raw_len > 0xfffffffeu) {
            free(raw);
            sb_err(err, errlen, "member '%s' is over 4 GiB (ZIP64 is not written)", name);
            goto done;
        }
        crc[i] = (uint32_t)crc32(crc32(0L, Z_NULL, 0), raw, (uInt)raw_len);
        usize[i] = raw_len;
        offset[i] = pos;
        unsigned char *dst = out + pos + ZIP_LOCAL_LEN + nl;
        z_stream s;
        memset(&s, 0, sizeof s);
        /* zlib level 6 and a raw stream (windowBits -15): what Python's zipfile uses. */
        if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            SB_PANIC("deflateInit2 failed");
        size_t bound = deflateBound(&s, (uLong)raw_len);
        SB_ASSERT(pos + ZIP_LOCAL_LEN + nl + bound <= cap);
        s.next_in = raw;
        s.avail_in = (uInt)raw_len;
        s.next_out = dst;
        s.avail_out = (uInt)bound;
        int zr = deflate(&s, Z_FINISH);
        SB_ASSERT(zr == Z_STREAM_END);
        csize[i] = s.total_out;
        deflateEnd(&s);
        free(raw);
        unsigned char *p = out + pos;
        p = put32(p, ZIP_LOCAL_SIG);
        p = put16(p, 20); /* version needed: 2.0, deflate */
        p = put16(p, 0);  /* flags */
        p = put16(p, 8);  /* deflate */
        p = put16(p, 0);  /* time 00:00 */
        p = put16(p, ZIP_DOS_DATE_1980);
        p = put32(p, crc[i]);
        p = put32(p, (uint32_t)csize[i]);
        p = put32(p, (uint32_t)usize[i]);
        p = put16(p, (uint32_t)nl);
        p = put16(p, 0); /* extra */
        memcpy(p, name, nl);
        pos += ZIP_LOCAL_LEN + nl + csize[i];
    }
    size_t cd_start = pos;
    for (size_t i = 0; i < n; i++) {
        char name[NPZ_MAX_NAME + 8];
        snprintf(name, sizeof name, z->m[i].dtype == NPY_RAW ? "%s" : "%s.npy", z->m[i].name);
        size_t nl = strlen(name);
        unsigned char *p = out + pos;
        p = put32(p, ZIP_CENTRAL_SIG);
        p = put16(p, 0x0314); /* made by: Unix, 2.0 */
        p = put16(p, 20);
        p = put16(p, 0);
        p = put16(p, 8);
        p = put16(p, 0);
        p = put16(p, ZIP_DOS_DATE_1980);
        p = put32(p, crc[i]);
        p = put32(p, (uint32_t)csize[i]);
        p = put32(p, (uint32_t)usize[i]);
        p = put16(p, (uint32_t)nl);
        p = put16(p, 0);            /* extra */
        p = put16(p, 0);            /* comment */
        p = put16(p, 0);            /* disk */
        p = put16(p, 0);            /* internal attributes */
        p = put32(p, 0600u << 16);  /* external: Unix mode rw------- */
        p = put32(p, (uint32_t)offset[i]);
        memcpy(p, name, nl);
        pos += ZIP_CENTRAL_LEN + nl;
    }
    if (pos > 0xfffffffeu || n > 0xfffe) {
        sb_err(err, errlen, "archive over 4 GiB or 65535 members (ZIP64 is not written)");
        goto done;
    }
    unsigned char *p = out + pos;
    p = put32(p, ZIP_EOCD_SIG);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put16(p, (uint32_t)n);
    p = put16(p, (uint32_t)n);
    p = put32(p, (uint32_t)(pos - cd_start));
    p = put32(p, (uint32_t)cd_start);
    p = put16(p, 0);
    pos += ZIP_EOCD_LEN;
    *buf = out;
    *len = pos;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(crc);
    free(usize);
    free(csize);
    free(offset);
    return rc;
}

int npz_write(const Npz *z, const char *path, char *err, size_t errlen) {
    unsigned char *buf;
    size_t len;
    if (npz_write_mem(z, &buf, &len, err, errlen)) return -1;
    int rc = write_file_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- reading: the .npy header ------------------------------------------------------ */

static const char *skip_sp(const char *p, const char *end) {
    while (p < end && *p == ' ') p++;
    return p;
}

/* A quoted Python string ('...' or "...") without escapes into out. */
static const char *parse_pystr(const char *p, const char *end, char *out, size_t cap) {
    if (p >= end || (*p != '\'' && *p != '"')) return NULL;
    char q = *p++;
    size_t k = 0;
    while (p < end && *p != q) {
        if (*p == '\\' || k + 1 >= cap) return NULL;
        out[k++] = *p++;
    }
    if (p >= end) return NULL;
    out[k] = 0;
    return p + 1;
}

/* Parse the dict of a .npy header into m (dtype, ndim, shape, count). Returns NULL on
 * success or a message. */
static const char *parse_npy_dict(const char *p, const char *end, NpzMember *m) {
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    p = skip_sp(p, end);
    if (p >= end || *p++ != '{') return "header does not start with '{'";
    for (;;) {
        p = skip_sp(p, end);
        if (p < end && *p == '}') {
            p++;
            break;
        }
        char key[32], val[32];
        p = parse_pystr(p, end, key, sizeof key);
        if (!p) return "header key is not a quoted string";
        p = skip_sp(p, end);
        if (p >= end || *p++ != ':') return "header: expected ':' after a key";
        p = skip_sp(p, end);
        if (!strcmp(key, "descr")) {
            if (have_descr++) return "header: 'descr' given twice";
            p = parse_pystr(p, end, val, sizeof val);
            if (!p) return "header: 'descr' is not a simple dtype string";
            int found = 0;
            for (size_t i = 0; i < SB_ARRAY_LEN(DESCRS); i++)
                if (!strcmp(val, DESCRS[i].descr)) {
                    m->dtype = DESCRS[i].dt;
                    found = 1;
                }
            if (!strcmp(val, "<u1") || !strcmp(val, "u1")) {
                m->dtype = NPY_U1;
                found = 1;
            }
            if (!found)
                return "header: unsupported dtype (expected <f4, <f2, <f8, <i8, <u8, <i4 or |u1, "
                       "little-endian)";
        } else if (!strcmp(key, "fortran_order")) {
            if (have_fortran++) return "header: 'fortran_order' given twice";
            if (end - p >= 5 && !memcmp(p, "False", 5)) p += 5;
            else if (end - p >= 4 && !memcmp(p, "True", 4)) return "Fortran-ordered arrays are not supported";
            else return "header: 'fortran_order' is not True or False";
        } else if (!strcmp(key, "shape")) {
            if (have_shape++) return "header: 'shape' given twice";
            if (p >= end || *p++ != '(') return "header: 'shape' is not a tuple";
            int nd = 0, last_comma = 0;
            for (;;) {
                p = skip_sp(p, end);
                if (p < end && *p == ')') {
                    p++;
                    break;
                }
                if (nd > 0 && !last_comma) return "header: bad 'shape' tuple";
                if (p >= end || *p < '0' || *p > '9') return "header: bad 'shape' tuple";
                if (nd == NPY_MAX_DIMS) return "header: more than 8 dimensions";
                size_t v = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (v > (SIZE_MAX - 9) / 10) return "header: shape value too large";
                    v = v * 10 + (size_t)(*p++ - '0');
                }
                m->shape[nd++] = v;
                last_comma = 0;
                p = skip_sp(p, end);
                if (p < end && *p == ',') {
                    p++;
                    last_comma = 1;
                }
            }
            /* "(3)" is an int in parentheses, not a tuple; numpy never writes it. */
            if (nd == 1 && !last_comma) return "header: 1-D shape without a trailing comma";
            m->ndim = nd;
        } else {
            return "header: unknown key";
        }
        p = skip_sp(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        p = skip_sp(p, end);
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return "header: expected ',' or '}'";
    }
    if (!have_descr || !have_fortran || !have_shape)
        return "header lacks 'descr', 'fortran_order' or 'shape'";
    p = skip_sp(p, end);
    if (p + 1 != end || *p != '\n') return "header: trailing characters after the dict";
    return NULL;
}

/* Turn a member's .npy bytes into m's array (m->name set by the caller). */
static int parse_npy(NpzMember *m, const unsigned char *b, size_t len, const char *label,
                     char *err, size_t errlen) {
    if (len < 10 || memcmp(b, NPY_MAGIC, 6))
        return sb_err(err, errlen, "%s: member %s.npy: not a .npy array (bad magic)", label, m->name);
    size_t hl, start;
    if (b[6] == 1 && b[7] == 0) {
        hl = get16(b + 8);
        start = 10;
    } else if ((b[6] == 2 || b[6] == 3) && b[7] == 0 && len >= 12) {
        hl = get32(b + 8);
        start = 12;
    } else {
        return sb_err(err, errlen, "%s: member %s.npy: unsupported .npy version %u.%u", label,
                      m->name, b[6], b[7]);
    }
    if (hl > len - start)
        return sb_err(err, errlen, "%s: member %s.npy: header runs past the end", label, m->name);
    const char *msg = parse_npy_dict((const char *)b + start, (const char *)b + start + hl, m);
    if (msg) return sb_err(err, errlen, "%s: member %s.npy: %s", label, m->name, msg);
    size_t isz = npy_itemsize(m->dtype), count = 1;
    for (int d = 0; d < m->ndim; d++) {
        if (m->shape[d] && count > SIZE_MAX / isz / m->shape[d])
            return sb_err(err, errlen, "%s: member %s.npy: shape overflows", label, m->name);
        count *= m->shape[d];
    }
    size_t dlen = len - start - hl;
    if (dlen != count * isz) {
        char sh[256];
        return sb_err(err, errlen, "%s: member %s.npy: shape %s of %s needs %zu bytes, has %zu",
                      label, m->name, npy_shape_str(m->shape, m->ndim, sh, sizeof sh),
                      npy_descr(m->dtype), count * isz, dlen);
    }
    m->count = count;
    m->data = sb_malloc(dlen + 1);
    if (dlen) memcpy(m->data, b + start + hl, dlen);
    return 0;
}

/* ---- reading: the zip container ---------------------------------------------------- */

/* Inflate or copy a member into a malloc'd buffer of exactly usize bytes and verify its CRC. */
static unsigned char *member_data(const unsigned char *src, size_t csize, size_t usize,
                                  unsigned method, uint32_t crc, const char *label, const char *name,
                                  char *err, size_t errlen) {
    if (usize > NPZ_MAX_MEMBER) {
        sb_err(err, errlen, "%s: member %s: declared size %zu is over the %zu-byte limit", label,
               name, usize, NPZ_MAX_MEMBER);
        return NULL;
    }
    if (method == 0 && csize != usize) {
        sb_err(err, errlen, "%s: member %s: stored sizes differ (%zu vs %zu)", label, name, csize,
               usize);
        return NULL;
    }
    if (method == 8 && usize / INFLATE_MAX_RATIO > csize + 64) {
        sb_err(err, errlen, "%s: member %s: declared size %zu impossible for %zu compressed bytes",
               label, name, usize, csize);
        return NULL;
    }
    unsigned char *out = sb_malloc(usize + 1);
    if (method == 0) {
        if (usize) memcpy(out, src, usize);
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -15) != Z_OK) SB_PANIC("inflateInit2 failed");
        s.next_in = src;
        s.avail_in = (uInt)csize;
        s.next_out = out;
        s.avail_out = (uInt)(usize + 1); /* one spare byte shows a stream longer than declared */
        int zr = inflate(&s, Z_FINISH);
        size_t got = s.total_out;
        size_t left = s.avail_in;
        const char *zmsg = s.msg ? s.msg : "corrupt data";
        char zbuf[128];
        snprintf(zbuf, sizeof zbuf, "%s", zmsg);
        inflateEnd(&s);
        const char *why = NULL;
        if (zr == Z_DATA_ERROR) why = zbuf;
        else if (zr == Z_STREAM_END && got != usize) why = "inflated size differs from the declared size";
        else if (zr == Z_STREAM_END && left) why = "bytes after the end of the deflate stream";
        else if (zr != Z_STREAM_END && got > usize) why = "inflates past the declared size";
        else if (zr != Z_STREAM_END) why = "truncated deflate stream";
        if (why) {
            sb_err(err, errlen, "%s: member %s: %s", label, name, why);
            free(out);
            return NULL;
        }
    }
    uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), out, (uInt)usize);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    c = crc; /* `make fuzz` only: let mutations reach the .npy and JSON parsers behind the CRC */
#endif
    if (c != crc) {
        sb_err(err, errlen, "%s: member %s: CRC-32 mismatch (stored %08x, computed %08x)", label,
               name, crc, c);
        free(out);
        return NULL;
    }
    return out;
}

static int read_zip(Npz *z, const unsigned char *buf, size_t len, const char *label, char *err,
                    size_t errlen) {
    int looks_zip = len >= 2 && buf[0] == 'P' && buf[1] == 'K';
    if (len < ZIP_EOCD_LEN)
        return sb_err(err, errlen, looks_zip ? "%s: truncated (%zu bytes)" : "%s: not a zip file (%zu bytes)",
                      label, len);
    /* The end record sits in the last 22 + 65535 bytes (its comment is at most 65535). */
    size_t eocd = SIZE_MAX;
    size_t lo = len > ZIP_EOCD_LEN + 0xffff ? len - ZIP_EOCD_LEN - 0xffff : 0;
    for (size_t i = len - ZIP_EOCD_LEN + 1; i-- > lo;) {
        if (get32(buf + i) == ZIP_EOCD_SIG && i + ZIP_EOCD_LEN + get16(buf + i + 20) <= len) {
            eocd = i;
            break;
        }
    }
    if (eocd == SIZE_MAX) {
        if (looks_zip) return sb_err(err, errlen, "%s: truncated (no end of central directory)", label);
        return sb_err(err, errlen, "%s: not a zip file", label);
    }
    const unsigned char *e = buf + eocd;
    if (eocd >= 20 && get32(buf + eocd - 20) == ZIP64_LOCATOR_SIG)
        return sb_err(err, errlen, "%s: ZIP64 archives are not supported", label);
    uint32_t n_disk = get16(e + 4), cd_disk = get16(e + 6);
    uint32_t n_here = get16(e + 8), n_total = get16(e + 10);
    size_t cd_size = get32(e + 12), cd_off = get32(e + 16);
    if (n_total == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
        return sb_err(err, errlen, "%s: ZIP64 archives are not supported", label);
    if (n_disk || cd_disk || n_here != n_total)
        return sb_err(err, errlen, "%s: multi-disk archives are not supported", label);
    if (cd_off > eocd || cd_size > eocd - cd_off)
        return sb_err(err, errlen, "%s: truncated (central directory at %zu+%zu past byte %zu)",
                      label, cd_off, cd_size, eocd);
    if ((size_t)n_total * ZIP_CENTRAL_LEN > cd_size)
        return sb_err(err, errlen, "%s: central directory too small for %u entries", label, n_total);
    size_t p = cd_off, cd_end = cd_off + cd_size;
    for (uint32_t i = 0; i < n_total; i++) {
        if (cd_end - p < ZIP_CENTRAL_LEN || get32(buf + p) != ZIP_CENTRAL_SIG)
            return sb_err(err, errlen, "%s: central directory entry %u is corrupt", label, i);
        const unsigned char *c = buf + p;
        unsigned flags = get16(c + 8), method = get16(c + 10);
        uint32_t crc = get32(c + 16);
        size_t csize = get32(c + 20), usize = get32(c + 24);
        size_t nl = get16(c + 28), xl = get16(c + 30), cl = get16(c + 32);
        size_t lho = get32(c + 42);
        if (ZIP_CENTRAL_LEN + nl + xl + cl > cd_end - p)
            return sb_err(err, errlen, "%s: central directory entry %u runs past its end", label, i);
        char name[NPZ_MAX_NAME];
        int binary = 0; /* control bytes would reach the terminal through our messages */
        for (size_t k = 0; k < nl && nl < sizeof name; k++)
            binary |= c[ZIP_CENTRAL_LEN + k] < 0x20 || c[ZIP_CENTRAL_LEN + k] == 0x7f;
        if (nl == 0 || nl >= sizeof name || binary)
            return sb_err(err, errlen, "%s: entry %u has an empty, overlong or binary name", label, i);
        memcpy(name, c + ZIP_CENTRAL_LEN, nl);
        name[nl] = 0;
        p += ZIP_CENTRAL_LEN + nl + xl + cl;
        if (flags & 1u) return sb_err(err, errlen, "%s: member %s: encrypted", label, name);
        if (method != 0 && method != 8)
            return sb_err(err, errlen, "%s: member %s: unsupported compression method %u", label,
                          name, method);
        if (csize == 0xffffffffu || usize == 0xffffffffu || lho == 0xffffffffu)
            return sb_err(err, errlen, "%s: member %s: ZIP64 sizes are not supported", label, name);
        if (lho > cd_off || cd_off - lho < ZIP_LOCAL_LEN || get32(buf + lho) != ZIP_LOCAL_SIG)
            return sb_err(err, errlen, "%s: member %s: bad local header offset %zu", label, name, lho);
        size_t lnl = get16(buf + lho + 26), lxl = get16(buf + lho + 28);
        size_t data = lho + ZIP_LOCAL_LEN + lnl + lxl;
        if (data > cd_off || csize > cd_off - data)
            return sb_err(err, errlen, "%s: member %s: data runs past the central directory (truncated?)",
                          label, name);
        if (lnl != nl || memcmp(buf + lho + ZIP_LOCAL_LEN, name, nl))
            return sb_err(err, errlen, "%s: member %s: local header names another member", label, name);
        unsigned char *bytes = member_data(buf + data, csize, usize, method, crc, label, name, err, errlen);
        if (!bytes) return -1;
        int is_npy = ends_with(name, ".npy");
        if (is_npy) name[nl - 4] = 0;
        if (npz_find(z, name)) {
            free(bytes);
            return sb_err(err, errlen, "%s: member %s appears twice", label, name);
        }
        NpzMember *m = push(z);
        m->name = sb_strdup(name);
        int rc = 0;
        if (is_npy) {
            rc = parse_npy(m, bytes, usize, label, err, errlen);
            free(bytes);
        } else {
            m->dtype = NPY_RAW;
            m->count = usize;
            m->data = bytes;
            bytes[usize] = 0;
        }
        if (rc) return -1;
    }
    return 0;
}

int npz_read_mem(Npz *z, const unsigned char *buf, size_t len, const char *label, char *err,
                 size_t errlen) {
    npz_init(z);
    if (read_zip(z, buf, len, label, err, errlen)) {
        npz_free(z);
        return -1;
    }
    return 0;
}

int npz_read(Npz *z, const char *path, char *err, size_t errlen) {
    npz_init(z);
    unsigned char *buf;
    size_t len;
    char e[512];
    if (read_file(path, &buf, &len, e, sizeof e)) return sb_err(err, errlen, "%s", e);
    int rc = npz_read_mem(z, buf, len, path, err, errlen);
    free(buf);
    return rc;
}

/* The member if it has shape[0..ndim), else NULL with a message. */
static const NpzMember *find_shaped(const Npz *z, const char *name, const size_t *shape, int ndim,
                                    const char *label, char *err, size_t errlen) {
    const NpzMember *m = npz_find(z, name);
    if (!m) {
        sb_err(err, errlen, "%s: missing member %s.npy", label, name);
        return NULL;
    }
    if (m->dtype == NPY_RAW) {
        sb_err(err, errlen, "%s: member %s is not an array", label, name);
        return NULL;
    }
    int same = m->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = m->shape[d] == shape[d];
    if (!same) {
        char a[256], b[256];
        sb_err(err, errlen, "%s: member %s.npy: shape %s does not match the expected %s", label, name,
               npy_shape_str(m->shape, m->ndim, a, sizeof a), npy_shape_str(shape, ndim, b, sizeof b));
        return NULL;
    }
    return m;
}

int npz_get_exact(const Npz *z, const char *name, NpyDtype dt, const size_t *shape, int ndim,
                  void *out, const char *label, char *err, size_t errlen) {
    const NpzMember *m = find_shaped(z, name, shape, ndim, label, err, errlen);
    if (!m) return -1;
    if (m->dtype != dt)
        return sb_err(err, errlen, "%s: member %s.npy: dtype %s, expected %s", label, name,
                      npy_descr(m->dtype), npy_descr(dt));
    if (m->count) memcpy(out, m->data, m->count * npy_itemsize(dt));
    return 0;
}

int npz_get_f64(const Npz *z, const char *name, const size_t *shape, int ndim, double *out,
                const char *label, char *err, size_t errlen) {
    const NpzMember *m = find_shaped(z, name, shape, ndim, label, err, errlen);
    if (!m) return -1;
    for (size_t i = 0; i < m->count; i++) {
        const unsigned char *p = (const unsigned char *)m->data + i * npy_itemsize(m->dtype);
        switch (m->dtype) {
        case NPY_F4: { float v; memcpy(&v, p, 4); out[i] = v; break; }
        case NPY_F2: { uint16_t v; memcpy(&v, p, 2); out[i] = npy_f16_to_f32(v); break; }
        case NPY_F8: memcpy(&out[i], p, 8); break;
        case NPY_I8: { int64_t v; memcpy(&v, p, 8); out[i] = (double)v; break; }
        case NPY_U8: { uint64_t v; memcpy(&v, p, 8); out[i] = (double)v; break; }
        case NPY_I4: { int32_t v; memcpy(&v, p, 4); out[i] = v; break; }
        case NPY_U1: out[i] = *p; break;
        case NPY_RAW: break;
        }
    }
    return 0;
}
