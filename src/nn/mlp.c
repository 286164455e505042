/* mlp.c: forward and backward of a multilayer perceptron on one flat parameter buffer.
 *
 * Legend: B batch rows, L linear layers, D_l width of layer l; layer l maps I = D_l inputs
 * to O = D_{l+1} outputs (named ni, no in code: cblas.h pulls in <complex.h>, whose macro
 * is I). W_l (O, I) row-major then b_l (O), layers one after another.
 * work (and scratch) hold one (B, D_{l+1}) block per layer, layer after layer: work keeps
 * the post-activation outputs, scratch the backward deltas dLoss/d(pre-activation).
 *
 * Batched passes go through cblas_sgemm; the single-row forward is plain loops because
 * at these widths (tens of units) the BLAS call overhead dominates the arithmetic. */
#include "nn/mlp.h"

#include "nn/fasttanh.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

size_t mlp_work_size(const Mlp *m, int B) {
    size_t n = 0;
    for (int l = 0; l < m->n_layers; l++) n += (size_t)B * (size_t)m->sizes[l + 1];
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

static void activate(MlpAct act, float *y, size_t n) {
    if (act == MLP_TANH) {
        nn_tanhf_array(y, n);
    } else {
        for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    }
}

void mlp_forward(const Mlp *m, const float *params, const float *x, int B, float *work) {
    const float *in = x; /* (B, I) */
    float *out = work;   /* (B, O) */
    for (int l = 0; l < m->n_layers; l++) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l]; /* (O, I) */
        const float *b = params + m->b_off[l]; /* (O) */
        for (int r = 0; r < B; r++) memcpy(out + (size_t)r * no, b, (size_t)no * sizeof(float));
        /* Y (B,O) += X (B,I) . W^T (I,O) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, no, ni, 1.0f, in, ni, W, ni, 1.0f,
                    out, no);
        if (l < m->n_layers - 1) activate(m->act, out, (size_t)B * (size_t)no);
        in = out;
        out += (size_t)B * (size_t)no;
    }
}

void mlp_backward(const Mlp *m, const float *params, const float *x, int B, const float *work,
                  const float *dout, float *grads, float *dx, float *scratch) {
    /* The last layer is linear, so its pre-activation delta is dout itself. */
    const float *dY = dout; /* (B, O) of the current layer */
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l];
        float *dW = grads + m->w_off[l];
        float *db = grads + m->b_off[l];
        const float *X = l == 0 ? x : work + work_off(m, l - 1, B); /* (B, I) */
        /* dW (O,I) += dY^T (O,B) . X (B,I) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, B, 1.0f, dY, no, X, ni, 1.0f,
                    dW, ni);
        /* db (O) += sum_rows dY */
        for (int r = 0; r < B; r++) {
            const float *row = dY + (size_t)r * no;
            for (int o = 0; o < no; o++) db[o] += row[o];
        }
        if (l == 0) {
            /* dx (B,I) = dY (B,O) . W (O,I) */
            if (dx)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, ni, no, 1.0f, dY, no, W, ni,
                            0.0f, dx, ni);
            break;
        }
        /* dX (B,I) = dY (B,O) . W (O,I), the post-activation gradient of layer l-1 */
        float *dX = scratch + work_off(m, l - 1, B);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, ni, no, 1.0f, dY, no, W, ni, 0.0f,
                    dX, ni);
        /* Through the activation, from its stored output y: tanh' = 1 - y^2, relu' = [y > 0]. */
        size_t n = (size_t)B * (size_t)ni;
        if (m->act == MLP_TANH) {
            for (size_t i = 0; i < n; i++) dX[i] *= 1.0f - X[i] * X[i];
        } else {
            for (size_t i = 0; i < n; i++) dX[i] = X[i] > 0.0f ? dX[i] : 0.0f;
        }
        dY = dX;
    }
}

/* w . x over n floats with eight independent partial sums: a float reduction may not be
 * reordered by the compiler without -ffast-math, but eight explicit lanes vectorise. */
static inline float dot(const float *w, const float *x, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += w[i + k] * x[i + k];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += w[i] * x[i];
    return s;
}

void mlp_forward1(const Mlp *m, const float *params, const float *x, float *work) {
    const float *in = x;
    float *out = work;
    for (int l = 0; l < m->n_layers; l++) {
        int ni = m->sizes[l], no = m->sizes[l + 1];
        const float *W = params + m->w_off[l];
        const float *b = params + m->b_off[l];
        for (int o = 0; o < no; o++) out[o] = b[o] + dot(W + (size_t)o * ni, in, ni);
        if (l < m->n_layers - 1) activate(m->act, out, (size_t)no);
        in = out;
        out += no;
    }
}
