/* adam.h: Adam with PyTorch's semantics, and global-norm gradient clipping.
 *
 * The step is torch.optim.Adam's (no weight decay, no amsgrad):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * SB3 builds its optimiser with eps = 1e-5. params, grads, m and v share one layout. */
#ifndef SB_ADAM_H
#define SB_ADAM_H

#include <stddef.h>

typedef struct {
    double lr, beta1, beta2, eps;
    long t; /* steps taken */
} Adam;

void adam_init(Adam *a, double lr, double eps); /* betas 0.9, 0.999 */
void adam_step(Adam *a, float *params, const float *grads, float *m, float *v, size_t n);

/* torch.nn.utils.clip_grad_norm_: total = ||g||_2 over all n; if max_norm/(total+1e-6) < 1
 * scale g by it. Returns total (before clipping). */
double nn_clip_grad_norm(float *grads, size_t n, double max_norm);

#endif
