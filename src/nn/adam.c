/* adam.c: torch.optim.Adam's update and torch.nn.utils.clip_grad_norm_ on flat buffers.
 *
 * Legend: n parameters; params, grads, m (first moment) and v (second moment) are (n).
 * The per-element arithmetic is float in PyTorch's operation order (its CPU kernels
 * compute float32 tensors in float, with the Python-scalar factors cast to float), while
 * the bias corrections are Python floats, i.e. double. */
#include "nn/adam.h"

#include <math.h>

#include "nn/simd.h"

void adam_init(Adam *a, double lr, double eps) {
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = eps;
    a->t = 0;
}

NN_DISPATCH void adam_step(Adam *a, float *params, const float *grads, float *m, float *v, size_t n) {
    a->t++;
    double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    /* As _single_tensor_adam: step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps,
     * p += -step_size * m / denom. */
    float neg_step = (float)(-a->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float eps = (float)a->eps;
    float w1 = (float)(1.0 - a->beta1); /* exp_avg.lerp_(g, 1 - b1): weight < 0.5 branch */
    float b2 = (float)a->beta2, c2 = (float)(1.0 - a->beta2);
    /* Eight elements at a time with the remainder loop's float operations in its order, so
     * blocking does not change a bit; the lane loop for sqrtf vectorises under -fno-math-errno. */
    size_t i = 0;
    for (; i + NN_W <= n; i += NN_W) {
        NnV8 gv, mv, vv, pv, sq;
        NN_LD(gv, grads + i);
        NN_LD(mv, m + i);
        NN_LD(vv, v + i);
        NN_LD(pv, params + i);
        mv = mv + w1 * (gv - mv);
        vv = vv * b2 + c2 * gv * gv;
        for (int k = 0; k < NN_W; k++) sq[k] = sqrtf(vv[k]);
        NnV8 denom = sq / bc2_sqrt + eps;
        pv = pv + neg_step * mv / denom;
        NN_ST(m + i, mv);
        NN_ST(v + i, vv);
        NN_ST(params + i, pv);
    }
    for (; i < n; i++) {
        float g = grads[i];
        m[i] = m[i] + w1 * (g - m[i]);
        v[i] = v[i] * b2 + c2 * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        params[i] = params[i] + neg_step * m[i] / denom;
    }
}

/* The sum of squares runs in eight double lanes (element i into lane i % 8), reduced by a fixed
 * tree: one serial chain of n double additions was the slowest part of a minibatch's
 * optimiser step. Its value differs from the serial sum in the last bits of a double only. */
NN_DISPATCH double nn_clip_grad_norm(float *grads, size_t n, double max_norm) {
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) acc[k] += (double)grads[i + k] * (double)grads[i + k];
    for (size_t k = 0; i < n; i++, k++) acc[k] += (double)grads[i] * (double)grads[i];
    double ss = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    double total = sqrt(ss);
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        i = 0;
        for (; i + 8 <= n; i += 8)
            for (size_t k = i; k < i + 8; k++) grads[k] *= c;
        for (; i < n; i++) grads[i] *= c;
    }
    return total;
}
