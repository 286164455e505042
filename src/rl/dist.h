/* dist.h: the action distributions of SB3's policies, with their gradients.
 *
 * Legend: A action dims (Gaussian), K logits (categorical).
 * - Diagonal Gaussian with a state-independent log_std (SB3 DiagGaussianDistribution):
 *   log p(x) = sum_a -(x_a - mu_a)^2 / (2 sigma_a^2) - log sigma_a - log(2 pi)/2, sigma = exp(log_std);
 *   entropy = sum_a 1/2 + log(2 pi)/2 + log_std_a.
 * - Categorical on logits with an optional validity mask (sb3-contrib's MaskableCategorical):
 *   invalid actions get probability 0 and contribute nothing to the entropy.
 * The *_backward functions take dLoss/dlogp and dLoss/dentropy for one row and accumulate
 * dLoss/d(head outputs) (and dLoss/dlog_std for the Gaussian). */
#ifndef SB_DIST_H
#define SB_DIST_H

#include "util/rng.h"

#define DIST_GAUSS_MAX 16 /* A at most */

/* exp(log_std) and exp(2 log_std) for a batch of rows that share log_std (a minibatch, a rollout):
 * the *_p functions give the bits of the plain ones without two exponentials per row. */
typedef struct {
    int A;
    const float *log_std;       /* (A) */
    double sd[DIST_GAUSS_MAX];  /* exp(log_std) */
    double var[DIST_GAUSS_MAX]; /* exp(2 log_std) */
} DistGauss;

void dist_gauss_prepare(DistGauss *g, const float *log_std, int A);
double dist_gauss_logp_p(const DistGauss *g, const float *mean, const float *x);
void dist_gauss_sample_p(const DistGauss *g, const float *mean, Rng *rng, float *x);
void dist_gauss_backward_p(const DistGauss *g, const float *mean, const float *x, double g_logp, double g_ent,
                           float *d_mean, float *d_log_std);

double dist_gauss_logp(const float *mean, const float *log_std, const float *x, int A);
double dist_gauss_entropy(const float *log_std, int A);
void dist_gauss_sample(const float *mean, const float *log_std, int A, Rng *rng, float *x);
void dist_gauss_backward(const float *mean, const float *log_std, const float *x, int A, double g_logp,
                         double g_ent, float *d_mean, float *d_log_std);

/* lp (K) = log-softmax over the valid logits; invalid entries set to -INFINITY.
 * Returns the entropy over the valid actions. mask may be NULL (all valid). */
double dist_cat_logsoftmax(const float *logits, const unsigned char *mask, int K, float *lp);
/* The same, also writing the probabilities p (K) (0 for invalid actions). */
double dist_cat_forward(const float *logits, const unsigned char *mask, int K, float *lp, float *p);
/* The span [lo, hi) from the first to the last nonzero entry of mask (K); lo = hi = K if none.
 * Returns 1 if every entry inside it is nonzero (the mask is exactly the span), else 0. */
int dist_cat_mask_span(const unsigned char *mask, int K, int *lo, int *hi);
/* dist_cat_forward when mask (K) is zero outside [lo, hi): only the blocks of eight logits that
 * meet the span are read (the tariff game's masks are 101 contiguous levels of 201). The same
 * bits as dist_cat_forward; lp and p still receive all K entries. mask NULL: the valid actions
 * are exactly [lo, hi) (a contiguous mask, which need not be read at all). */
double dist_cat_forward_span(const float *logits, const unsigned char *mask, int K, int lo, int hi, float *lp,
                             float *p);
/* dist_cat_forward_span on B rows: logits, mask, lp, p (B, K), span (B, 2); H (B) receives the
 * entropies; mask NULL: every row's valid actions are exactly its span. The same bits row by
 * row, two rows' passes interleaved (faster than B calls). */
void dist_cat_forward_rows(const float *logits, const unsigned char *mask, const int *span, int B, int K, float *lp,
                           float *p, double *H);
/* p (K) = exp(lp) (0 where lp is -INFINITY). K <= 1024. */
void dist_cat_probs(const float *lp, int K, float *p);
int dist_cat_sample(const float *lp, int K, Rng *rng);
int dist_cat_sample_p(const float *p, int K, Rng *rng);
/* The same when p is zero outside [lo, hi) (the same draw and result). */
int dist_cat_sample_span(const float *p, int lo, int hi, Rng *rng);
int dist_cat_mode(const float *lp, int K);
/* d_logits (K) += dLoss/dlogits given the action a, lp, entropy H. */
void dist_cat_backward(const float *lp, int K, int a, double H, double g_logp, double g_ent,
                       float *d_logits);
/* The same with the probabilities p (K) of dist_cat_forward already at hand. */
void dist_cat_backward_p(const float *lp, const float *p, int K, int a, double H, double g_logp, double g_ent,
                         float *d_logits);
/* The same when lp is -INFINITY outside [lo, hi): entries of d_logits outside it are not touched
 * (the full pass would add zeros there). */
void dist_cat_backward_span(const float *lp, const float *p, int K, int lo, int hi, int a, double H, double g_logp,
                            double g_ent, float *d_logits);

#endif
