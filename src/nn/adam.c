/* adam.c: torch.optim.Adam's update and torch.nn.utils.clip_grad_norm_ on flat buffers.
 *
 * Legend: n parameters; params, grads, m (first moment) and v (second moment) are (n).
 * The per-element arithmetic is float in PyTorch's operation order (its CPU kernels
 * compute float32 tensors in float, with the Python-scalar factors cast to float), while
 * the bias corrections are Python floats, i.e. double. */
#include "nn/adam.h"

#include <math.h>

void adam_init(Adam *a, double lr, double eps) {
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = eps;
    a->t = 0;
}

void adam_step(Adam *a, float *params, const float *grads, float *m, float *v, size_t n) {
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
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = m[i] + w1 * (g - m[i]);
        v[i] = v[i] * b2 + c2 * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        params[i] = params[i] + neg_step * m[i] / denom;
    }
}

double nn_clip_grad_norm(float *grads, size_t n, double max_norm) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)grads[i] * (double)grads[i];
    double total = sqrt(ss);
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        for (size_t i = 0; i < n; i++) grads[i] *= c;
    }
    return total;
}
