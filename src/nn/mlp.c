/* mlp.c: forward and backward of a multilayer perceptron on one flat parameter buffer.
 *
 * Legend: B batch rows, L linear layers, D_l width of layer l; layer l maps I = D_l inputs
 * to O = D_{l+1} outputs (named ni, no in code: cblas.h pulls in <complex.h>, whose macro
 * is I). W_l (O, I) row-major then b_l (O), layers one after another.
 * work (and scratch) hold one (B, D_{l+1}) block per layer, layer after layer: work keeps
 * the post-activation outputs, scratch the backward deltas dLoss/d(pre-activation).
 *
 * Batched passes on small layers, and on a wide last layer over few inputs (a policy head),
 * use the register-tiled kernels below, larger ones cblas_sgemm (see "Small layers" and "Wide
 * heads"); the single-row forward is plain vector loops because at these widths (tens of
 * units) a BLAS call costs more than the arithmetic. */
#include "nn/mlp.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/simd.h"
#include "util/common.h"

int mlp_init(Mlp *m, int n_in, const int *hidden, int n_hidden, int n_out, MlpAct act) {
    if (n_hidden < 0 || n_hidden + 1 > MLP_MAX_LAYERS) return -1;
    if (act != MLP_TANH && act != MLP_RELU) return -1;
    memset(m, 0, sizeof *m);
    m->n_layers = n_hidden + 1;
    m->act = act;
    m->sizes[0] = n_in;
    for (int l = 0; l < n_hidden; l++) m->sizes[l + 1] = hidden[l];
    m->sizes[m->n_layers] = n_out;
    for (int l = 0; l <= m->n_layers; l++)
        if (m->sizes[l] < 1) return -1;
    size_t off = 0;
    for (int l = 0; l < m->n_layers; l++) {
        size_t in = (size_t)m->sizes[l], out = (size_t)m->sizes[l + 1];
        m->w_off[l] = off;
        off += out * in;
        m->b_off[l] = off;
        off += out;
    }
    m->n_params = off;
    return 0;
}

size_t mlp_param_count(const Mlp *m) { return m->n_params; }

static int wide_head(const Mlp *m, int l, int B);

/* After the layers' blocks, a wide head (see "Wide heads") keeps (I + 1) (O + B) floats of
 * products and operands there. */
size_t mlp_work_size(const Mlp *m, int B) {
    size_t n = 0;
    for (int l = 0; l < m->n_layers; l++) n += (size_t)B * (size_t)m->sizes[l + 1];
    int L = m->n_layers - 1;
    if (wide_head(m, L, B)) n += (size_t)(m->sizes[L] + 1) * ((size_t)m->sizes[L + 1] + (size_t)B);
    return n;
}

/* Offset of layer l's (B, D_{l+1}) block in work/scratch. */
static size_t work_off(const Mlp *m, int l, int B) {
    size_t n = 0;
    for (int k = 0; k < l; k++) n += (size_t)B * (size_t)m->sizes[k + 1];
    return n;
}

const float *mlp_output(const Mlp *m, const float *work, int B) {
    return work + work_off(m, m->n_layers - 1, B);
}

/* Orthogonal (rows, cols) as torch.nn.init.orthogonal_: QR of a standard-normal matrix,
 * Q's columns signed so that diag(R) > 0, transposed when rows < cols so the wide
 * matrix gets orthonormal rows. Modified Gram-Schmidt with one re-orthogonalisation
 * pass ("twice is enough") in double; it yields diag(R) > 0 directly, i.e. the same Q
 * as Householder followed by torch's sign correction. */
static void orthogonal(float *W, int rows, int cols, float gain, Rng *rng) {
    /* Tall view A (n, k), n >= k, kept column by column: C[j*n + i] = A[i][j]. */
    int tall = rows >= cols;
    size_t n = (size_t)(tall ? rows : cols), k = (size_t)(tall ? cols : rows);
    double *C = sb_malloc(n * k * sizeof *C); /* (k, n): column j of A at C + j*n */
    double *G = sb_malloc((size_t)rows * (size_t)cols * sizeof *G); /* (rows, cols) */
    for (size_t e = 0; e < (size_t)rows * (size_t)cols; e++) G[e] = rng_normal(rng);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++)
            C[j * n + i] = tall ? G[i * (size_t)cols + j] : G[j * (size_t)cols + i];
    for (size_t j = 0; j < k; j++) {
        double *v = C + j * n;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t p = 0; p < j; p++) {
                const double *q = C + p * n;
                double r = 0;
                for (size_t i = 0; i < n; i++) r += q[i] * v[i];
                for (size_t i = 0; i < n; i++) v[i] -= r * q[i];
            }
        }
        double nrm = 0;
        for (size_t i = 0; i < n; i++) nrm += v[i] * v[i];
        nrm = sqrt(nrm);
        /* A Gaussian matrix is rank-deficient with probability zero. */
        SB_ASSERT(nrm > 0);
        for (size_t i = 0; i < n; i++) v[i] /= nrm;
    }
    /* W = gain * Q (tall) or gain * Q^T (wide); both read W[r][c] from column of Q. */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++) {
            float w = (float)C[j * n + i] * gain;
            if (tall) W[i * (size_t)cols + j] = w;
            else W[j * (size_t)cols + i] = w;
        }
    free(G);
    free(C);
}

void mlp_init_orthogonal(const Mlp *m, float *params, float hidden_gain, float out_gain, Rng *rng) {
    for (int l = 0; l < m->n_layers; l++) {
        int in = m->sizes[l], out = m->sizes[l + 1];
        float gain = l == m->n_layers - 1 ? out_gain : hidden_gain;
        orthogonal(params + m->w_off[l], out, in, gain, rng);
        memset(params + m->b_off[l], 0, (size_t)out * sizeof(float));
    }
}

/* ---- Small layers ---------------------------------------------------------------------
 *
 * A layer whose widths are both <= MLP_SMALL_DIM, on a batch of at most MLP_SMALL_ROWS rows,
 * skips cblas_sgemm: at these sizes (PPO's [64, 64] nets and smaller, minibatches of 64-256)
 * OpenBLAS spent more time packing operands and scaling C by beta than multiplying (its copy
 * and beta routines were a third of its profile). Wider layers or larger batches keep the
 * BLAS path, whose blocking pays off there.
 *
 * Every product below has one shape, C (M, N) = init + A (M, K) . Bm (K, N) with each C[m][n]
 * summed over k = 0, 1, ..., K-1 in that order (from init, or from zero). Vectors run along N,
 * eight columns at a time; when N is not a multiple of eight the last block overlaps the one
 * before it, and the overlapping columns are computed twice with the same operations, i.e.
 * to the same bits. Four rows share each load of Bm and give four independent add chains.
 * So an element's value depends only on its operands and K, never on the vector width or on
 * which rows were blocked together. */
#define MLP_SMALL_DIM 64
#define MLP_SMALL_ROWS 256

static int small_layer(int B, int ni, int no) {
    return B <= MLP_SMALL_ROWS && ni <= MLP_SMALL_DIM && no <= MLP_SMALL_DIM;
}

/* C (M, N) = init + A . Bm, plus optionally one extra row M (a row of A given apart, e.g. a row
 * of ones so that the same pass also sums the columns of Bm into extra_c). */
typedef struct {
    int M, N, K;
    const float *A; /* a(m, k) = A[m * sam + k * sak] */
    size_t sam, sak;
    const float *extra_a; /* a(M, k) = extra_a[k * extra_sa], written to extra_c (N); NULL: none */
    size_t extra_sa;
    float *extra_c;
    const float *Bm; /* (K, N), rows ldb apart */
    size_t ldb;
    const float *init; /* (N), or NULL for zero */
    float *C;          /* (M, N), rows ldc apart */
    size_t ldc;
} Gemm;

NN_INLINE void gemm_row(const Gemm *g, int m, const float **a, size_t *sa, float **c) {
    if (m >= g->M) {
        *a = g->extra_a;
        *sa = g->extra_sa;
        *c = g->extra_c;
    } else {
        *a = g->A + (size_t)m * g->sam;
        *sa = g->sak;
        *c = g->C + (size_t)m * g->ldc;
    }
}

/* Start of column block j of N (N >= 8): the last block ends at N. */
NN_INLINE int gemm_col(int j, int N) { return j * NN_W + NN_W <= N ? j * NN_W : N - NN_W; }

/* Rows a[0..3] (strides sa) times column block n of Bm into c[j] + n. With kidx, step k of the
 * sum reads k' = kidx[k] (row k' of Bm, element k' of each a[j]; the four strides must then be
 * equal): a sum over a subset of k, in increasing order when kidx is. */
NN_INLINE void tile_4x1(const float *const a[4], const size_t sa[4], const Gemm *g, const int *kidx, int n,
                        float *const c[4]) {
    NnV8 acc0 = {0};
    if (g->init) NN_LD(acc0, g->init + n);
    NnV8 acc1 = acc0, acc2 = acc0, acc3 = acc0;
    const float *bp = g->Bm + n, *p0 = a[0], *p1 = a[1], *p2 = a[2], *p3 = a[3];
    if (kidx) {
        for (int k = 0; k < g->K; k++) {
            size_t r = (size_t)kidx[k], off = r * sa[0];
            NnV8 bv;
            NN_LD(bv, bp + r * g->ldb);
            acc0 += p0[off] * bv;
            acc1 += p1[off] * bv;
            acc2 += p2[off] * bv;
            acc3 += p3[off] * bv;
        }
    } else {
        for (int k = 0; k < g->K; k++) {
            NnV8 bv;
            NN_LD(bv, bp);
            acc0 += *p0 * bv;
            acc1 += *p1 * bv;
            acc2 += *p2 * bv;
            acc3 += *p3 * bv;
            bp += g->ldb;
            p0 += sa[0];
            p1 += sa[1];
            p2 += sa[2];
            p3 += sa[3];
        }
    }
    NN_ST(c[3] + n, acc3);
    NN_ST(c[2] + n, acc2);
    NN_ST(c[1] + n, acc1);
    NN_ST(c[0] + n, acc0);
}

/* Rows a[0..3] (strides sa) times column blocks n0 and n1 of Bm. */
NN_INLINE void tile_4x2(const float *const a[4], const size_t sa[4], const Gemm *g, const int *kidx, int n0,
                        int n1, float *const c[4]) {
    NnV8 x0 = {0}, y0 = {0};
    if (g->init) {
        NN_LD(x0, g->init + n0);
        NN_LD(y0, g->init + n1);
    }
    NnV8 x1 = x0, x2 = x0, x3 = x0, y1 = y0, y2 = y0, y3 = y0;
    const float *bp = g->Bm, *p0 = a[0], *p1 = a[1], *p2 = a[2], *p3 = a[3];
#define TILE2_STEP(a0, a1, a2, a3)  \
    do {                            \
        NnV8 u, v;                  \
        NN_LD(u, bp + n0);          \
        NN_LD(v, bp + n1);          \
        x0 += (a0) * u;             \
        y0 += (a0) * v;             \
        x1 += (a1) * u;             \
        y1 += (a1) * v;             \
        x2 += (a2) * u;             \
        y2 += (a2) * v;             \
        x3 += (a3) * u;             \
        y3 += (a3) * v;             \
    } while (0)
    if (kidx) {
        const float *b0 = g->Bm;
        for (int k = 0; k < g->K; k++) {
            size_t r = (size_t)kidx[k], off = r * sa[0];
            bp = b0 + r * g->ldb;
            TILE2_STEP(p0[off], p1[off], p2[off], p3[off]);
        }
    } else if (sa[0] == sa[1] && sa[0] == sa[2] && sa[0] == sa[3]) {
        /* One running offset for the four rows (the common case: no row of ones). */
        size_t off = 0, s = sa[0];
        for (int k = 0; k < g->K; k++, bp += g->ldb, off += s) TILE2_STEP(p0[off], p1[off], p2[off], p3[off]);
    } else {
        for (int k = 0; k < g->K; k++, bp += g->ldb, p0 += sa[0], p1 += sa[1], p2 += sa[2], p3 += sa[3])
            TILE2_STEP(*p0, *p1, *p2, *p3);
    }
#undef TILE2_STEP
    NN_ST(c[3] + n1, y3);
    NN_ST(c[3] + n0, x3);
    NN_ST(c[2] + n1, y2);
    NN_ST(c[2] + n0, x2);
    NN_ST(c[1] + n1, y1);
    NN_ST(c[1] + n0, x1);
    NN_ST(c[0] + n1, y0);
    NN_ST(c[0] + n0, x0);
}

/* Rows a[0..3] (strides sa) times column blocks n0, n1 and n2 of Bm: twelve chains. */
NN_INLINE void tile_4x3(const float *const a[4], const size_t sa[4], const Gemm *g, const int *kidx, int n0,
                        int n1, int n2, float *const c[4]) {
    NnV8 x0 = {0}, y0 = {0}, z0 = {0};
    if (g->init) {
        NN_LD(x0, g->init + n0);
        NN_LD(y0, g->init + n1);
        NN_LD(z0, g->init + n2);
    }
    NnV8 x1 = x0, x2 = x0, x3 = x0, y1 = y0, y2 = y0, y3 = y0, z1 = z0, z2 = z0, z3 = z0;
    const float *bp = g->Bm, *p0 = a[0], *p1 = a[1], *p2 = a[2], *p3 = a[3];
#define TILE3_STEP(e0, e1, e2, e3)                 \
    do {                                           \
        NnV8 u, v, w;                              \
        NN_LD(u, bp + n0);                         \
        NN_LD(v, bp + n1);                         \
        NN_LD(w, bp + n2);                         \
        float a0 = (e0), a1 = (e1), a2 = (e2), a3 = (e3); \
        x0 += a0 * u;                              \
        y0 += a0 * v;                              \
        z0 += a0 * w;                              \
        x1 += a1 * u;                              \
        y1 += a1 * v;                              \
        z1 += a1 * w;                              \
        x2 += a2 * u;                              \
        y2 += a2 * v;                              \
        z2 += a2 * w;                              \
        x3 += a3 * u;                              \
        y3 += a3 * v;                              \
        z3 += a3 * w;                              \
    } while (0)
    if (kidx) {
        const float *b0 = g->Bm;
        for (int k = 0; k < g->K; k++) {
            size_t r = (size_t)kidx[k], off = r * sa[0];
            bp = b0 + r * g->ldb;
            TILE3_STEP(p0[off], p1[off], p2[off], p3[off]);
        }
    } else if (sa[0] == sa[1] && sa[0] == sa[2] && sa[0] == sa[3]) {
        size_t off = 0, s = sa[0];
        for (int k = 0; k < g->K; k++, bp += g->ldb, off += s) TILE3_STEP(p0[off], p1[off], p2[off], p3[off]);
    } else {
        for (int k = 0; k < g->K; k++, bp += g->ldb, p0 += sa[0], p1 += sa[1], p2 += sa[2], p3 += sa[3])
            TILE3_STEP(*p0, *p1, *p2, *p3);
    }
#undef TILE3_STEP
    NN_ST(c[3] + n2, z3);
    NN_ST(c[3] + n1, y3);
    NN_ST(c[3] + n0, x3);
    NN_ST(c[2] + n2, z2);
    NN_ST(c[2] + n1, y2);
    NN_ST(c[2] + n0, x2);
    NN_ST(c[1] + n2, z1);
    NN_ST(c[1] + n1, y1);
    NN_ST(c[1] + n0, x1);
    NN_ST(c[0] + n2, z0);
    NN_ST(c[0] + n1, y0);
    NN_ST(c[0] + n0, x0);
}

/* Rows a[0..3] times column blocks [j0, j1) of Bm (N = g->N): blocks in threes while that
 * leaves no single one (3, 3+2, 3+3, 2+2, ...). */
NN_INLINE void tile_blocks(const float *const a[4], const size_t sa[4], const Gemm *g, const int *kidx, int j0,
                           int j1, float *const c[4]) {
    const int N = g->N;
    int jb = j0;
    for (; j1 - jb >= 3 && j1 - jb != 4; jb += 3)
        tile_4x3(a, sa, g, kidx, gemm_col(jb, N), gemm_col(jb + 1, N), gemm_col(jb + 2, N), c);
    for (; j1 - jb >= 2; jb += 2) tile_4x2(a, sa, g, kidx, gemm_col(jb, N), gemm_col(jb + 1, N), c);
    if (jb < j1) tile_4x1(a, sa, g, kidx, gemm_col(jb, N), c);
}

NN_INLINE void gemm_small(const Gemm *g) {
    const int rows = g->M + (g->extra_a != NULL), N = g->N, K = g->K;
    const NnV8 zero = {0};
    if (N < NN_W) {
        /* Too narrow for a vector: scalar, in the same order. */
        for (int m = 0; m < rows; m++) {
            const float *a;
            size_t sa;
            float *c;
            gemm_row(g, m, &a, &sa, &c);
            for (int n = 0; n < N; n++) {
                float s = g->init ? g->init[n] : 0.0f;
                for (int k = 0; k < K; k++) s += a[(size_t)k * sa] * g->Bm[(size_t)k * g->ldb + (size_t)n];
                c[n] = s;
            }
        }
        return;
    }
    const int nblk = (N + NN_W - 1) / NN_W;
    if (rows >= 4) {
        /* Four rows per pass, two or three column blocks at a time (eight or twelve independent
         * add chains); a short last group of rows repeats its last row. */
        for (int m = 0; m < rows; m += 4) {
            const float *a[4];
            size_t sa[4];
            float *c[4];
            for (int j = 0; j < 4; j++) gemm_row(g, m + j < rows ? m + j : rows - 1, &a[j], &sa[j], &c[j]);
            tile_blocks(a, sa, g, NULL, 0, nblk, c);
        }
    } else {
        /* Few rows (a weight gradient with one or two outputs): one row per pass, up to six column
         * blocks at a time (six independent add chains: a K-long chain is latency-bound); a short
         * last group repeats its last block. */
        for (int m = 0; m < rows; m++) {
            const float *a;
            size_t sa;
            float *c;
            gemm_row(g, m, &a, &sa, &c);
            for (int jb = 0; jb < nblk; jb += 6) {
                int n[6];
                NnV8 acc[6];
#pragma GCC unroll 6
                for (int j = 0; j < 6; j++) {
                    n[j] = gemm_col(SB_MIN(jb + j, nblk - 1), N);
                    acc[j] = zero;
                    if (g->init) NN_LD(acc[j], g->init + n[j]);
                }
                const float *bp = g->Bm, *p = a;
                for (int k = 0; k < K; k++) {
                    float av = *p;
#pragma GCC unroll 6
                    for (int j = 0; j < 6; j++) {
                        NnV8 b;
                        NN_LD(b, bp + n[j]);
                        acc[j] += av * b;
                    }
                    bp += g->ldb;
                    p += sa;
                }
#pragma GCC unroll 6
                for (int j = 5; j >= 0; j--) NN_ST(c + n[j], acc[j]);
            }
        }
    }
}

/* T (cols, rows) = A (rows, cols)^T, or T += A^T with add: 8x8 blocks transposed in registers, the
 * edges one element at a time (a strided scalar copy cost as much as a wide head's forward
 * products). */
NN_INLINE void transpose_into(const float *A, int rows, int cols, float *T, int add) {
    const int r8 = rows / NN_W * NN_W, c8 = cols / NN_W * NN_W;
    for (int r = 0; r < r8; r += NN_W)
        for (int c = 0; c < c8; c += NN_W) {
            NnV8 a0, a1, a2, a3, a4, a5, a6, a7;
            const float *s = A + (size_t)r * cols + c;
            NN_LD(a0, s);
            NN_LD(a1, s + cols);
            NN_LD(a2, s + 2 * (size_t)cols);
            NN_LD(a3, s + 3 * (size_t)cols);
            NN_LD(a4, s + 4 * (size_t)cols);
            NN_LD(a5, s + 5 * (size_t)cols);
            NN_LD(a6, s + 6 * (size_t)cols);
            NN_LD(a7, s + 7 * (size_t)cols);
            /* pairs of rows interleaved, then pairs of pairs, then the 128-bit halves */
            NnV8 b0 = NN_SHUFFLE(a0, a1, 0, 8, 1, 9, 4, 12, 5, 13), b1 = NN_SHUFFLE(a0, a1, 2, 10, 3, 11, 6, 14, 7, 15);
            NnV8 b2 = NN_SHUFFLE(a2, a3, 0, 8, 1, 9, 4, 12, 5, 13), b3 = NN_SHUFFLE(a2, a3, 2, 10, 3, 11, 6, 14, 7, 15);
            NnV8 b4 = NN_SHUFFLE(a4, a5, 0, 8, 1, 9, 4, 12, 5, 13), b5 = NN_SHUFFLE(a4, a5, 2, 10, 3, 11, 6, 14, 7, 15);
            NnV8 b6 = NN_SHUFFLE(a6, a7, 0, 8, 1, 9, 4, 12, 5, 13), b7 = NN_SHUFFLE(a6, a7, 2, 10, 3, 11, 6, 14, 7, 15);
            NnV8 c0 = NN_SHUFFLE(b0, b2, 0, 1, 8, 9, 4, 5, 12, 13), c1 = NN_SHUFFLE(b0, b2, 2, 3, 10, 11, 6, 7, 14, 15);
            NnV8 c2 = NN_SHUFFLE(b1, b3, 0, 1, 8, 9, 4, 5, 12, 13), c3 = NN_SHUFFLE(b1, b3, 2, 3, 10, 11, 6, 7, 14, 15);
            NnV8 c4 = NN_SHUFFLE(b4, b6, 0, 1, 8, 9, 4, 5, 12, 13), c5 = NN_SHUFFLE(b4, b6, 2, 3, 10, 11, 6, 7, 14, 15);
            NnV8 c6 = NN_SHUFFLE(b5, b7, 0, 1, 8, 9, 4, 5, 12, 13), c7 = NN_SHUFFLE(b5, b7, 2, 3, 10, 11, 6, 7, 14, 15);
            NnV8 t0 = NN_SHUFFLE(c0, c4, 0, 1, 2, 3, 8, 9, 10, 11), t4 = NN_SHUFFLE(c0, c4, 4, 5, 6, 7, 12, 13, 14, 15);
            NnV8 t1 = NN_SHUFFLE(c1, c5, 0, 1, 2, 3, 8, 9, 10, 11), t5 = NN_SHUFFLE(c1, c5, 4, 5, 6, 7, 12, 13, 14, 15);
            NnV8 t2 = NN_SHUFFLE(c2, c6, 0, 1, 2, 3, 8, 9, 10, 11), t6 = NN_SHUFFLE(c2, c6, 4, 5, 6, 7, 12, 13, 14, 15);
            NnV8 t3 = NN_SHUFFLE(c3, c7, 0, 1, 2, 3, 8, 9, 10, 11), t7 = NN_SHUFFLE(c3, c7, 4, 5, 6, 7, 12, 13, 14, 15);
            float *d = T + (size_t)c * rows + r;
            NnV8 *t[8] = {&t0, &t1, &t2, &t3, &t4, &t5, &t6, &t7};
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                if (add) {
                    NnV8 v;
                    NN_LD(v, d + (size_t)j * rows);
                    *t[j] = v + *t[j];
                }
                NN_ST(d + (size_t)j * rows, *t[j]);
            }
        }
    for (int r = 0; r < rows; r++)
        for (int c = r < r8 ? c8 : 0; c < cols; c++) {
            float *d = T + (size_t)c * rows + r;
            *d = add ? *d + A[(size_t)r * cols + c] : A[(size_t)r * cols + c];
        }
}

/* T (cols, rows) = A (rows, cols)^T */
NN_INLINE void transpose(const float *A, int rows, int cols, float *T) { transpose_into(A, rows, cols, T, 0); }

/* w . x over n floats: eight lanes, then a fixed reduction tree, then the remainder in order. */
NN_INLINE float dot(const float *w, const float *x, int n) {
    int i = 0;
    float s = 0.0f; /* what the tree gives for no full block */
    if (n >= NN_W) {
        NnV8 acc = {0};
        for (; i + NN_W <= n; i += NN_W) {
            NnV8 a, b;
            NN_LD(a, w + i);
            NN_LD(b, x + i);
            acc += a * b;
        }
        s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
    for (; i < n; i++) s += w[i] * x[i];
    return s;
}

/* Y (B, O) = b + X (B, I) . W^T. Wide outputs: rows of Y are axpys over W^T (I, O), transposed
 * here (I*O copies against B*I*O multiply-adds); narrow outputs (a head of one or a few
 * units): a dot product per element. */
NN_INLINE void forward_small(int B, int ni, int no, const float *X, const float *W, const float *b, float *Y) {
    if (no < NN_W) {
        for (int r = 0; r < B; r++)
            for (int o = 0; o < no; o++)
                Y[(size_t)r * no + o] = b[o] + dot(W + (size_t)o * ni, X + (size_t)r * ni, ni);
        return;
    }
    float wt[MLP_SMALL_DIM * MLP_SMALL_DIM]; /* (I, O) */
    transpose(W, no, ni, wt);
    Gemm g = {.M = B, .N = no, .K = ni, .A = X, .sam = (size_t)ni, .sak = 1, .Bm = wt, .ldb = (size_t)no,
              .init = b, .C = Y, .ldc = (size_t)no};
    gemm_small(&g);
}

/* dW (O, I) += dY^T X and db (O) += column sums of dY, each over the B rows in order from
 * zero and then added; dX (B, I) = dY W if dX is not NULL. */
NN_INLINE void backward_small(int B, int ni, int no, const float *X, const float *W, const float *dY,
                              float *dW, float *db, float *dX) {
    static const float one = 1.0f;
    float t[(MLP_SMALL_DIM + 1) * MLP_SMALL_DIM]; /* dW^T (I, O) with db as row I, or dW (O, I) */
    if (no >= NN_W && no >= ni) {
        /* Vectors along O: row i of dW^T is sum_r X[r][i] dY[r], the bias the same with X = 1. */
        Gemm g = {.M = ni, .N = no, .K = B, .A = X, .sam = 1, .sak = (size_t)ni, .extra_a = &one,
                  .extra_sa = 0, .extra_c = t + (size_t)ni * no, .Bm = dY, .ldb = (size_t)no,
                  .C = t, .ldc = (size_t)no};
        gemm_small(&g);
        /* dW += (dW^T)^T in 8x8 register blocks (a strided scalar add cost a tenth of the pass) */
        transpose_into(t, ni, no, dW, 1);
        for (int o = 0; o < no; o++) db[o] += t[(size_t)ni * no + o];
    } else {
        /* Vectors along I: row o of dW is sum_r dY[r][o] X[r]; the bias apart. */
        Gemm g = {.M = no, .N = ni, .K = B, .A = dY, .sam = 1, .sak = (size_t)no, .Bm = X,
                  .ldb = (size_t)ni, .C = t, .ldc = (size_t)ni};
        gemm_small(&g);
        size_t nw = (size_t)no * ni;
        for (size_t e = 0; e < nw; e++) dW[e] += t[e];
        Gemm gb = {.M = 1, .N = no, .K = B, .A = &one, .sam = 0, .sak = 0, .Bm = dY, .ldb = (size_t)no,
                   .C = t, .ldc = (size_t)no};
        gemm_small(&gb);
        for (int o = 0; o < no; o++) db[o] += t[o];
    }
    if (dX) {
        Gemm g = {.M = B, .N = ni, .K = no, .A = dY, .sam = (size_t)no, .sak = 1, .Bm = W, .ldb = (size_t)ni,
                  .C = dX, .ldc = (size_t)ni};
        gemm_small(&g);
    }
}

/* ---- Wide heads -----------------------------------------------------------------------
 *
 * The last layer when its outputs are wider than MLP_SMALL_DIM but its inputs are not (the tariff
 * game's 201-level head on 36 units): the same tiles, operand order and summation order as a
 * small layer (every element summed over k = 0, 1, ... from its init), so the results are the
 * bits the small-layer path would give on that shape. What differs is the work skipped: each
 * row may come with a span [lo, hi) of outputs (a masked categorical's valid actions, 101
 * contiguous levels of 201); forward computes blocks of eight columns covering the union of the
 * spans of a group of four rows (rows taken in order of their spans, so the four overlap), and
 * backward, whose dout is zero outside the spans, skips the products with those zeros: dW sums,
 * for each group of four outputs, only over the rows whose span meets them (in increasing row
 * order), and dX sums each group of four rows over the union of their spans. Adding a product with a zero leaves a
 * partial sum unchanged (a sum that starts from +0 cannot become -0 this way), so skipping them
 * gives the bits of the full product. Outputs outside a row's span are left unspecified. The two
 * passes are functions of their own (not inlined into mlp_forward/mlp_backward) so that a profile
 * tells the head's products from the hidden layers'. */
#define MLP_HEAD_MAX 1024

static int wide_head(const Mlp *m, int l, int B) {
    int ni = m->sizes[l], no = m->sizes[l + 1];
    return l == m->n_layers - 1 && B <= MLP_SMALL_ROWS && ni <= MLP_SMALL_DIM && no > MLP_SMALL_DIM &&
           no <= MLP_HEAD_MAX;
}

/* span (B, 2) = [0, no) for every row, for a pass without spans. */
NN_INLINE const int *full_spans(int B, int no, int *span) {
    for (int r = 0; r < B; r++) {
        span[2 * r] = 0;
        span[2 * r + 1] = no;
    }
    return span;
}

/* order (B) = rows sorted by where their span starts (stable counting sort), so that four
 * consecutive rows have nearby spans: their union is what a group of four computes. */
NN_INLINE void rows_by_span(int B, int no, const int *span, int *order) {
    int count[MLP_HEAD_MAX + 2];
    memset(count, 0, (size_t)(no + 2) * sizeof count[0]);
    for (int r = 0; r < B; r++) count[SB_MIN(span[2 * r], no) + 1]++;
    for (int j = 0; j <= no; j++) count[j + 1] += count[j];
    for (int r = 0; r < B; r++) order[count[SB_MIN(span[2 * r], no)]++] = r;
}

/* Y (B, O) = b + X (B, I) . W^T on each row's span; wt holds I*O floats (W^T is built there). */
NN_DISPATCH static void head_forward(int B, int ni, int no, const float *X, const float *W, const float *b,
                                     const int *span, float *wt, float *Y) {
    int full[2 * MLP_SMALL_ROWS];
    if (!span) span = full_spans(B, no, full);
    transpose(W, no, ni, wt);
    int order[MLP_SMALL_ROWS];
    rows_by_span(B, no, span, order);
    const Gemm g = {.M = B, .N = no, .K = ni, .Bm = wt, .ldb = (size_t)no, .init = b};
    for (int m = 0; m < B; m += 4) {
        const float *a[4];
        size_t sa[4];
        float *c[4];
        int lo = no, hi = 0;
        for (int j = 0; j < 4; j++) {
            int r = order[SB_MIN(m + j, B - 1)];
            a[j] = X + (size_t)r * ni;
            sa[j] = 1;
            c[j] = Y + (size_t)r * no;
            lo = SB_MIN(lo, span[2 * r]);
            hi = SB_MAX(hi, span[2 * r + 1]);
        }
        if (lo >= hi) continue;
        /* Blocks of eight from the union's first column (not from a multiple of eight: one block
         * fewer for most groups), the last one ending inside the row. */
        const int base = SB_MIN(lo, no - NN_W), nb = (hi - base + NN_W - 1) / NN_W;
#define COL(j) SB_MIN(base + (j) * NN_W, no - NN_W)
        int j = 0;
        for (; nb - j >= 3 && nb - j != 4; j += 3) tile_4x3(a, sa, &g, NULL, COL(j), COL(j + 1), COL(j + 2), c);
        for (; nb - j >= 2; j += 2) tile_4x2(a, sa, &g, NULL, COL(j), COL(j + 1), c);
        if (j < nb) tile_4x1(a, sa, &g, NULL, COL(j), c);
#undef COL
    }
}

/* One group of four rows of dW over the rows in list: a function of its own because inlined into
 * head_backward GCC kept one of the twelve accumulators on the stack (a store and a reload on every
 * step of the sum). */
NN_DISPATCH static void head_dw_group(const float *const a[4], const size_t sa[4], const Gemm *g, const int *list,
                                      int nblk, float *const c[4]) {
    tile_blocks(a, sa, g, list, 0, nblk, c);
}

/* dW (O, I) += dY^T X, db (O) += column sums of dY, dX (B, I) = dY W if not NULL, where dY (B, O)
 * is zero outside each row's span; t holds (I + 1) (O + B) floats. Each sum runs over the rows in
 * increasing order from zero and is then added, as in backward_small. */
NN_DISPATCH static void head_backward(int B, int ni, int no, const float *X, const float *W, const float *dY,
                                      const int *span, float *t, float *dW, float *db, float *dX) {
    static const float one = 1.0f;
    int full[2 * MLP_SMALL_ROWS];
    if (!span) span = full_spans(B, no, full);
    if (ni >= NN_W) {
        /* dW (O, I) and db (O) with vectors along I + 1 (X with a column of ones appended, so the
         * bias sums come out of the same tiles), four outputs at a time, each sum over the rows
         * whose span meets those outputs, in increasing row order. The row sets are bit masks
         * updated group by group: a row enters at the group where its span starts and leaves
         * after the one where it ends. */
        const int nx = ni + 1;
        float *Xe = t + (size_t)no * nx; /* (B, I + 1) */
        for (int r = 0; r < B; r++) {
            memcpy(Xe + (size_t)r * nx, X + (size_t)r * ni, (size_t)ni * sizeof(float));
            Xe[(size_t)r * nx + ni] = 1.0f;
        }
        enum { WORDS = MLP_SMALL_ROWS / 64, GROUPS = MLP_HEAD_MAX / 4 + 1 };
        uint64_t enter[GROUPS][WORDS], leave[GROUPS][WORDS], cur[WORDS] = {0};
        const int ng = (no + 3) / 4;
        memset(enter, 0, (size_t)(ng + 1) * sizeof enter[0]);
        memset(leave, 0, (size_t)(ng + 1) * sizeof leave[0]);
        for (int r = 0; r < B; r++) {
            if (span[2 * r] >= span[2 * r + 1]) continue;
            enter[span[2 * r] / 4][r / 64] |= 1ull << (r % 64);
            leave[(span[2 * r + 1] - 1) / 4 + 1][r / 64] |= 1ull << (r % 64);
        }
        Gemm g = {.M = no, .N = nx, .Bm = Xe, .ldb = (size_t)nx};
        int list[MLP_SMALL_ROWS];
        for (int gi = 0; gi < ng; gi++) {
            int n = 0;
            for (int w = 0; w < WORDS; w++) {
                cur[w] = (cur[w] & ~leave[gi][w]) | enter[gi][w];
                for (uint64_t bits = cur[w]; bits; bits &= bits - 1) list[n++] = w * 64 + __builtin_ctzll(bits);
            }
            g.K = n;
            const float *a[4];
            size_t sa[4];
            float *c[4];
            for (int j = 0; j < 4; j++) {
                int oj = SB_MIN(4 * gi + j, no - 1);
                a[j] = dY + oj;
                sa[j] = (size_t)no;
                c[j] = t + (size_t)oj * nx;
            }
            head_dw_group(a, sa, &g, list, (nx + NN_W - 1) / NN_W, c);
        }
        for (int o = 0; o < no; o++) {
            float *wr = dW + (size_t)o * ni;
            const float *tr = t + (size_t)o * nx;
            int i = 0;
            for (; i + NN_W <= ni; i += NN_W) {
                NnV8 d, v;
                NN_LD(d, wr + i);
                NN_LD(v, tr + i);
                d += v;
                NN_ST(wr + i, d);
            }
            for (; i < ni; i++) wr[i] += tr[i];
            db[o] += tr[ni];
        }
    } else {
        Gemm g = {.M = no, .N = ni, .K = B, .A = dY, .sam = 1, .sak = (size_t)no, .Bm = X, .ldb = (size_t)ni,
                  .C = t, .ldc = (size_t)ni};
        gemm_small(&g);
        for (size_t e = 0; e < (size_t)no * ni; e++) dW[e] += t[e];
        /* db (O): column sums of dY over all rows (zeros outside the spans). */
        Gemm gb = {.M = 1, .N = no, .K = B, .A = &one, .sam = 0, .sak = 0, .Bm = dY, .ldb = (size_t)no,
                   .C = t, .ldc = (size_t)no};
        gemm_small(&gb);
        for (int o = 0; o < no; o++) db[o] += t[o];
    }
    if (!dX) return;
    if (ni < NN_W) {
        Gemm gx = {.M = B, .N = ni, .K = no, .A = dY, .sam = (size_t)no, .sak = 1, .Bm = W, .ldb = (size_t)ni,
                   .C = dX, .ldc = (size_t)ni};
        gemm_small(&gx);
        return;
    }
    int order[MLP_SMALL_ROWS];
    rows_by_span(B, no, span, order);
    for (int m = 0; m < B; m += 4) {
        const float *a[4];
        size_t sa[4];
        float *c[4];
        int lo = no, hi = 0;
        for (int j = 0; j < 4; j++) {
            int r = order[SB_MIN(m + j, B - 1)];
            lo = SB_MIN(lo, span[2 * r]);
            hi = SB_MAX(hi, span[2 * r + 1]);
        }
        lo = SB_MIN(lo, hi);
        for (int j = 0; j < 4; j++) {
            int r = order[SB_MIN(m + j, B - 1)];
            a[j] = dY + (size_t)r * no + lo;
            sa[j] = 1;
            c[j] = dX + (size_t)r * ni;
        }
        const Gemm gx = {.M = B, .N = ni, .K = hi - lo, .Bm = W + (size_t)lo * ni, .ldb = (size_t)ni};
        tile_blocks(a, sa, &gx, NULL, 0, (ni + NN_W - 1) / NN_W, c);
    }
}

/* ---- Activations ---------------------------------------------------------------------- */

NN_INLINE void activate(MlpAct act, float *y, size_t n) {
    if (act == MLP_TANH) {
        nn_tanh_block(y, n);
        return;
    }
    const NnV8 zero = {0};
    size_t i = 0;
    for (; i + NN_W <= n; i += NN_W) {
        NnV8 v;
        NN_LD(v, y + i);
        v = NN_SELECT(v < zero, zero, v); /* NaN passes, as torch */
        NN_ST(y + i, v);
    }
    for (; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i];
}

/* dX (n) = dL/d(post-activation) becomes dL/d(pre-activation), from the stored output y:
 * tanh' = 1 - y^2, relu' = [y > 0]. */
NN_INLINE void activate_backward(MlpAct act, const float *y, float *dX, size_t n) {
    size_t i = 0;
    const NnV8 zero = {0};
    if (act == MLP_TANH) {
        for (; i + NN_W <= n; i += NN_W) {
            NnV8 v, d;
            NN_LD(v, y + i);
            NN_LD(d, dX + i);
            d *= 1.0f - v * v;
            NN_ST(dX + i, d);
        }
        for (; i < n; i++) dX[i] *= 1.0f - y[i] * y[i];
    } else {
        for (; i + NN_W <= n; i += NN_W) {
            NnV8 v, d;
            NN_LD(v, y + i);
            NN_LD(d, dX + i);
            d = NN_SELECT(v > zero, d, zero);
            NN_ST(dX + i, d);
        }
        for (; i < n; i++) dX[i] = y[i] > 0.0f ? dX[i] : 0.0f;
    }
}

/* ---- Passes ---------------------------------------------------------------------------- */

NN_INLINE void forward(const Mlp *m, const float *params, const float *x, int B, const int *span, float *work) {
    const float *in = x; /* (B, I) */
    float *out = work;   /* (B, O) */
    for (int l = 0; l < m->n_layers; l++) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l]; /* (O, I) */
        const float *b = params + m->b_off[l]; /* (O) */
        if (wide_head(m, l, B)) {
            head_forward(B, ni, no, in, W, b, span, work + work_off(m, m->n_layers, B), out);
        } else if (small_layer(B, ni, no)) {
            forward_small(B, ni, no, in, W, b, out);
        } else {
            for (int r = 0; r < B; r++) memcpy(out + (size_t)r * no, b, (size_t)no * sizeof(float));
            /* Y (B,O) += X (B,I) . W^T (I,O) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, no, ni, 1.0f, in, ni, W, ni, 1.0f,
                        out, no);
        }
        if (l < m->n_layers - 1) activate(m->act, out, (size_t)B * (size_t)no);
        in = out;
        out += (size_t)B * (size_t)no;
    }
}

NN_DISPATCH void mlp_forward(const Mlp *m, const float *params, const float *x, int B, float *work) {
    forward(m, params, x, B, NULL, work);
}

NN_DISPATCH void mlp_forward_span(const Mlp *m, const float *params, const float *x, int B, const int *span,
                                  float *work) {
    forward(m, params, x, B, span, work);
}

NN_INLINE void backward(const Mlp *m, const float *params, const float *x, int B, const float *work,
                        const float *dout, const int *span, float *grads, float *dx, float *scratch) {
    /* The last layer is linear, so its pre-activation delta is dout itself. */
    const float *dY = dout; /* (B, O) of the current layer */
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l];
        float *dW = grads + m->w_off[l];
        float *db = grads + m->b_off[l];
        const float *X = l == 0 ? x : work + work_off(m, l - 1, B); /* (B, I) */
        /* dX (B, I): dx for the first layer (optional), else the post-activation gradient of
         * layer l-1. */
        float *dX = l == 0 ? dx : scratch + work_off(m, l - 1, B);
        if (wide_head(m, l, B)) {
            head_backward(B, ni, no, X, W, dY, span, scratch + work_off(m, m->n_layers, B), dW, db, dX);
        } else if (small_layer(B, ni, no)) {
            backward_small(B, ni, no, X, W, dY, dW, db, dX);
        } else {
            /* dW (O,I) += dY^T (O,B) . X (B,I) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, B, 1.0f, dY, no, X, ni, 1.0f,
                        dW, ni);
            /* db (O) += sum_rows dY */
            for (int r = 0; r < B; r++) {
                const float *row = dY + (size_t)r * no;
                for (int o = 0; o < no; o++) db[o] += row[o];
            }
            /* dX (B,I) = dY (B,O) . W (O,I) */
            if (dX)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, ni, no, 1.0f, dY, no, W, ni, 0.0f,
                            dX, ni);
        }
        if (l == 0) break;
        activate_backward(m->act, X, dX, (size_t)B * (size_t)ni);
        dY = dX;
    }
}

NN_DISPATCH void mlp_backward(const Mlp *m, const float *params, const float *x, int B, const float *work,
                              const float *dout, float *grads, float *dx, float *scratch) {
    backward(m, params, x, B, work, dout, NULL, grads, dx, scratch);
}

NN_DISPATCH void mlp_backward_span(const Mlp *m, const float *params, const float *x, int B, const float *work,
                                   const float *dout, const int *span, float *grads, float *dx, float *scratch) {
    backward(m, params, x, B, work, dout, span, grads, dx, scratch);
}

/* out[o0..o0+8) = b + W[o0..o0+8) . x for a layer with ni >= 8: eight dot products side by side
 * (the last partial block of x overlaps the one before it, its repeated lanes masked to zero),
 * then one transpose-and-add tree turns the eight accumulators into the eight sums. Each
 * output is summed as lanes l = i % 8 first, then ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)). */
NN_INLINE void dot8(const float *W, int ni, const float *x, const float *b, int o0, float *out) {
    const NnV8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
    const NnV8 zero = {0};
    NnV8 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) acc[j] = zero;
    int i = 0;
    for (; i + NN_W <= ni; i += NN_W) {
        NnV8 xv;
        NN_LD(xv, x + i);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            NnV8 w;
            NN_LD(w, W + (size_t)(o0 + j) * ni + i);
            acc[j] += w * xv;
        }
    }
    if (i < ni) {
        int t = ni - NN_W;                      /* last block, overlapping */
        NnV8i keep = lane >= (NN_W - (ni - i)); /* lanes not summed yet */
        NnV8 xv;
        NN_LD(xv, x + t);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            NnV8 w;
            NN_LD(w, W + (size_t)(o0 + j) * ni + t);
            acc[j] += NN_SELECT(keep, w * xv, zero);
        }
    }
#define NN_PAIR_SUM(a, b) \
    (NN_SHUFFLE(a, b, 0, 8, 2, 10, 4, 12, 6, 14) + NN_SHUFFLE(a, b, 1, 9, 3, 11, 5, 13, 7, 15))
#define NN_QUAD_SUM(a, b) \
    (NN_SHUFFLE(a, b, 0, 1, 8, 9, 4, 5, 12, 13) + NN_SHUFFLE(a, b, 2, 3, 10, 11, 6, 7, 14, 15))
#define NN_HALF_SUM(a, b) \
    (NN_SHUFFLE(a, b, 0, 1, 2, 3, 8, 9, 10, 11) + NN_SHUFFLE(a, b, 4, 5, 6, 7, 12, 13, 14, 15))
    NnV8 p01 = NN_PAIR_SUM(acc[0], acc[1]), p23 = NN_PAIR_SUM(acc[2], acc[3]);
    NnV8 p45 = NN_PAIR_SUM(acc[4], acc[5]), p67 = NN_PAIR_SUM(acc[6], acc[7]);
    NnV8 q03 = NN_QUAD_SUM(p01, p23), q47 = NN_QUAD_SUM(p45, p67);
    NnV8 r = NN_HALF_SUM(q03, q47);
#undef NN_PAIR_SUM
#undef NN_QUAD_SUM
#undef NN_HALF_SUM
    NnV8 bv;
    NN_LD(bv, b + o0);
    r = bv + r;
    NN_ST(out + o0, r);
}

/* out[o0..o0+8) = b + sum_i x[i] W[o0..o0+8)[i], i = 0, 1, ... in order, for a layer with few
 * inputs (ni < 8): the columns of W gathered eight rows at a time. */
NN_INLINE void axpy8(const float *W, int ni, const float *x, const float *b, int o0, float *out) {
    NnV8 acc;
    NN_LD(acc, b + o0);
    const float *w = W + (size_t)o0 * ni;
    for (int i = 0; i < ni; i++) {
        NnV8 col = {w[i], w[ni + i], w[2 * ni + i], w[3 * ni + i], w[4 * ni + i], w[5 * ni + i], w[6 * ni + i],
                    w[7 * ni + i]};
        acc += x[i] * col;
    }
    NN_ST(out + o0, acc);
}

/* work holds mlp_work_size(m, 1) floats, a batch of one: mlp_output(m, work, 1) is the row.
 * Eight outputs at a time where there are eight (the last group overlapping, recomputed to
 * the same bits): dot products against rows of W, or axpys over its gathered columns when the
 * input is narrow; a narrow output (a head) one dot product per unit. */
NN_INLINE void forward1(const Mlp *m, const float *params, const float *x, int lo, int hi, float *work) {
    const float *in = x;
    float *out = work;
    for (int l = 0; l < m->n_layers; l++) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l];
        const float *b = params + m->b_off[l];
        const int last = l == m->n_layers - 1;
        if (no >= NN_W) {
            for (int o = 0; o < no; o += NN_W) {
                int o0 = o + NN_W <= no ? o : no - NN_W;
                /* Outputs outside the span: groups of eight that do not meet it are skipped. */
                if (last && (o0 + NN_W <= lo || o0 >= hi)) continue;
                if (ni >= NN_W) dot8(W, ni, in, b, o0, out);
                else axpy8(W, ni, in, b, o0, out);
            }
        } else {
            for (int o = 0; o < no; o++) out[o] = b[o] + dot(W + (size_t)o * ni, in, ni);
        }
        if (l < m->n_layers - 1) activate(m->act, out, (size_t)no);
        in = out;
        out += no;
    }
}

NN_DISPATCH void mlp_forward1(const Mlp *m, const float *params, const float *x, float *work) {
    forward1(m, params, x, 0, m->sizes[m->n_layers], work);
}

NN_DISPATCH void mlp_forward1_span(const Mlp *m, const float *params, const float *x, int lo, int hi, float *work) {
    forward1(m, params, x, lo, hi, work);
}
