/* mlp.h: multilayer perceptrons on one contiguous parameter buffer.
 *
 * Matrix products: a layer whose two widths are both <= 64, on a batch of at most 256 rows,
 * goes through plain-C register-tiled kernels (mlp.c), because at those sizes OpenBLAS spends
 * most of its time packing and scaling rather than multiplying; so does a last layer with at
 * most 64 inputs and up to 1024 outputs (a wide policy head). Other layers, or larger batches,
 * go through cblas_sgemm. The kernels are compiled for AVX-512F, AVX2 and baseline
 * x86-64 and picked at load time; all three give the same bits (src/nn/simd.h), so results
 * depend on seed, config and thread count only.
 *
 * Legend: B batch rows, I inputs, O outputs, L linear layers, D_l width of layer l
 * (D_0 = I, D_L = O). Layer l (0-based) maps D_l -> D_{l+1}: y = act(x W_l^T + b_l), with
 * W_l stored row-major (D_{l+1}, D_l) as PyTorch stores nn.Linear, then b_l (D_{l+1}).
 * Hidden layers use the activation; the last layer is linear (a policy or value head).
 *
 * An Mlp is only a shape. Parameters, gradients and Adam's moments live in caller
 * buffers of mlp_param_count() floats with the same layout, so one agent can pack its
 * policy net, value net and log_std into a single buffer and the optimiser is one loop.
 * Backward accumulates into grads (zeroing is the caller's, as in llm.c). */
#ifndef SB_MLP_H
#define SB_MLP_H

#include <stddef.h>

#include "util/rng.h"

#define MLP_MAX_LAYERS 8

typedef enum { MLP_TANH = 0, MLP_RELU = 1 } MlpAct;

typedef struct {
    int n_layers;                  /* L: linear layers, hidden + output */
    int sizes[MLP_MAX_LAYERS + 1]; /* D_0 .. D_L */
    MlpAct act;                    /* of the hidden layers */
    size_t w_off[MLP_MAX_LAYERS];  /* offsets of W_l and b_l in the parameter buffer */
    size_t b_off[MLP_MAX_LAYERS];
    size_t n_params;
} Mlp;

/* Shape: n_in inputs, hidden widths hidden[0..n_hidden), n_out outputs. Returns 0, or -1
 * if there are too many layers or a width < 1. */
int mlp_init(Mlp *m, int n_in, const int *hidden, int n_hidden, int n_out, MlpAct act);
size_t mlp_param_count(const Mlp *m);

/* Orthogonal weights (as torch.nn.init.orthogonal_) scaled by hidden_gain on hidden layers
 * and out_gain on the last; biases zero. */
void mlp_init_orthogonal(const Mlp *m, float *params, float hidden_gain, float out_gain, Rng *rng);

/* Floats of activation workspace for a batch of B rows (the post-activation output of
 * every layer). */
size_t mlp_work_size(const Mlp *m, int B);

/* out (B, O) = mlp(x (B, I)); work (mlp_work_size) keeps what backward needs. `out` may
 * point into work's last layer: mlp_output() returns that pointer. */
void mlp_forward(const Mlp *m, const float *params, const float *x, int B, float *work);
const float *mlp_output(const Mlp *m, const float *work, int B);

/* Given dout (B, O) = dLoss/dout, accumulate dLoss/dparams into grads; dx (B, I) receives
 * dLoss/dx if not NULL. scratch holds mlp_work_size floats (overwritten); dout is read only. */
void mlp_backward(const Mlp *m, const float *params, const float *x, int B, const float *work,
                  const float *dout, float *grads, float *dx, float *scratch);

/* The same when only some outputs of the last layer are needed: row r's outputs
 * [span[2r], span[2r+1]) (span (B, 2)) get the bits mlp_forward gives them, the others are left
 * unspecified. For a masked categorical head, whose logits outside the valid actions are never
 * read; a wide head (outputs > 64 on inputs <= 64) then skips most of the other products. */
void mlp_forward_span(const Mlp *m, const float *params, const float *x, int B, const int *span, float *work);
/* mlp_backward when dout is zero outside each row's span: the same bits, skipping those zeros. */
void mlp_backward_span(const Mlp *m, const float *params, const float *x, int B, const float *work,
                       const float *dout, const int *span, float *grads, float *dx, float *scratch);

/* Single-row forward without BLAS call overhead, for acting in an environment loop. */
void mlp_forward1(const Mlp *m, const float *params, const float *x, float *work);
/* The same where only outputs [lo, hi) are needed (a masked head): the outputs in that span
 * get the same bits as mlp_forward1's, the others are left unspecified. */
void mlp_forward1_span(const Mlp *m, const float *params, const float *x, int lo, int hi, float *work);

#endif
