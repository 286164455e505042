/* npz.h: NumPy .npz archives (a zip of .npy members), written and read with zlib alone.
 *
 * The writer produces what numpy.savez_compressed produces: one ZIP entry per member,
 * deflate (method 8, raw zlib stream), CRC-32 checked, each array member a .npy v1.0 file
 * named "NAME.npy" whose header is a Python dict padded to a multiple of 64 bytes. Members
 * that are not arrays (meta.json) are stored as raw bytes under their own name; np.load
 * returns those as bytes.
 *
 * The reader trusts nothing: every size and offset is bounds-checked against the buffer,
 * inflation is capped at the declared size, the CRC-32 is verified and the .npy header is
 * parsed strictly. Any defect is a -1 with "LABEL: what is wrong" (LABEL is the file name),
 * never a crash; the fuzzer in tests/fuzz/ holds it to that. ZIP64, encryption, multi-disk
 * archives and big-endian or Fortran-ordered arrays are rejected with a message.
 *
 * An Npz is an in-memory list of members; names of array members are kept WITHOUT the
 * ".npy" suffix (as np.load's keys), raw members with their full name. */
#ifndef SB_NPZ_H
#define SB_NPZ_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8
#define NPZ_MAX_NAME 256
/* Largest member the reader inflates; policies and checkpoints are far below it. */
#define NPZ_MAX_MEMBER ((size_t)1 << 30)

typedef enum {
    NPY_F4 = 0, /* '<f4' float */
    NPY_F2,     /* '<f2' IEEE half, stored as uint16_t */
    NPY_F8,     /* '<f8' double */
    NPY_I8,     /* '<i8' int64_t */
    NPY_U8,     /* '<u8' uint64_t */
    NPY_U1,     /* '|u1' uint8_t */
    NPY_I4,     /* '<i4' int32_t */
    NPY_RAW     /* not an array: bytes of a non-.npy member */
} NpyDtype;

typedef struct {
    char *name;                  /* key: "leader.pi.0.weight" or "meta.json" */
    NpyDtype dtype;
    int ndim;                    /* 0 for a scalar array and for raw members */
    size_t shape[NPY_MAX_DIMS];
    size_t count;                /* elements (raw: bytes) */
    void *data;                  /* count * npy_itemsize(dtype) bytes, host order (little-endian) */
} NpzMember;

typedef struct {
    NpzMember *m; /* (n) in file order */
    size_t n, cap;
} Npz;

void npz_init(Npz *z);
void npz_free(Npz *z);

size_t npy_itemsize(NpyDtype dt);
/* "<f4", "<f2", ...; "raw" for NPY_RAW. */
const char *npy_descr(NpyDtype dt);
/* "(3, 4)" into buf, for messages. */
const char *npy_shape_str(const size_t *shape, int ndim, char *buf, size_t cap);

/* Add a copy of an array member (data: count * itemsize bytes, row-major). Returns -1 with
 * err for a bad name (empty, too long, duplicate, ending in ".npy") or too many dims. */
int npz_add(Npz *z, const char *name, NpyDtype dt, const size_t *shape, int ndim, const void *data,
            char *err, size_t errlen);
/* Add a copy of a raw member (stored under exactly `name`). */
int npz_add_raw(Npz *z, const char *name, const void *data, size_t len, char *err, size_t errlen);
/* Shorthand for a 1-D or 2-D float member. */
int npz_add_f32(Npz *z, const char *name, const float *data, size_t rows, size_t cols, char *err,
                size_t errlen); /* cols == 0: 1-D of rows */

/* Serialise to a malloc'd buffer (caller frees). Returns 0, or -1 (archive over 4 GiB). */
int npz_write_mem(const Npz *z, unsigned char **buf, size_t *len, char *err, size_t errlen);
/* Write atomically (temporary, fsync, rename). */
int npz_write(const Npz *z, const char *path, char *err, size_t errlen);

/* Parse an archive held in memory; `label` prefixes every message. On failure z is left
 * empty (npz_free is still safe). */
int npz_read_mem(Npz *z, const unsigned char *buf, size_t len, const char *label, char *err,
                 size_t errlen);
int npz_read(Npz *z, const char *path, char *err, size_t errlen);

const NpzMember *npz_find(const Npz *z, const char *name);

/* Fetch member `name` as doubles, converting from any float/int dtype, after checking that
 * its shape is exactly shape[0..ndim). out holds the product of shape. Messages read
 * "LABEL: member NAME: ...". */
int npz_get_f64(const Npz *z, const char *name, const size_t *shape, int ndim, double *out,
                const char *label, char *err, size_t errlen);

/* Copy member `name` bitwise into out, requiring exactly dtype `dt` and shape[0..ndim) (for
 * restoring checkpoints: weights, optimiser moments, RNG states). */
int npz_get_exact(const Npz *z, const char *name, NpyDtype dt, const size_t *shape, int ndim,
                  void *out, const char *label, char *err, size_t errlen);

/* IEEE 754 binary16 <-> binary32: round to nearest even, subnormals, inf and NaN kept. */
uint16_t npy_f32_to_f16(float f);
float npy_f16_to_f32(uint16_t h);

#endif
