/* test_nn.c: the neural-network layer: MLP forward against an independent double-precision
 * forward, backward against central finite differences of that reference, orthogonal init
 * against the orthogonality identities, Adam against hand-written closed forms, and
 * gradient clipping against a vector of known norm.
 *
 * Legend: B batch rows, L linear layers, D_l widths (D_0 inputs, D_L outputs). */
#include <cblas.h>
#include <criterion/criterion.h>

#include "nn/act.h"
#include "nn/adam.h"
#include "nn/blas.h"
#include "nn/mlp.h"
#include "rl/dist.h"
#include "testutil.h"
#include "util/rng.h"

/* ---- independent reference: plain loops in double, layout written out from the contract
 * (per layer W (D_{l+1}, D_l) row-major then b (D_{l+1})), not taken from Mlp's offsets. */

typedef struct {
    int L;
    int d[MLP_MAX_LAYERS + 1];
    MlpAct act;
} RefNet;

static size_t ref_count(const RefNet *n) {
    size_t c = 0;
    for (int l = 0; l < n->L; l++) c += (size_t)n->d[l + 1] * (size_t)(n->d[l] + 1);
    return c;
}

/* out (B, D_L) = net(x (B, D_0)) in double. */
static void ref_forward(const RefNet *n, const double *p, const double *x, int B, double *out) {
    double a[2][256], *cur = a[0], *nxt = a[1];
    for (int r = 0; r < B; r++) {
        for (int i = 0; i < n->d[0]; i++) cur[i] = x[(size_t)r * n->d[0] + i];
        const double *q = p;
        for (int l = 0; l < n->L; l++) {
            int ni = n->d[l], no = n->d[l + 1];
            const double *W = q, *b = q + (size_t)no * ni;
            for (int o = 0; o < no; o++) {
                double s = b[o];
                for (int i = 0; i < ni; i++) s += W[(size_t)o * ni + i] * cur[i];
                if (l < n->L - 1) s = n->act == MLP_TANH ? tanh(s) : (s > 0 ? s : 0);
                nxt[o] = s;
            }
            q += (size_t)no * (ni + 1);
            double *t = cur;
            cur = nxt;
            nxt = t;
        }
        for (int o = 0; o < n->d[n->L]; o++) out[(size_t)r * n->d[n->L] + o] = cur[o];
    }
}

/* sum(out * R), the scalar the gradient check differentiates. */
static double ref_loss(const RefNet *n, const double *p, const double *x, int B, const double *R) {
    double out[1024];
    ref_forward(n, p, x, B, out);
    double s = 0;
    for (size_t k = 0; k < (size_t)B * n->d[n->L]; k++) s += out[k] * R[k];
    return s;
}

static void fill_normal(float *v, size_t n, double scale, Rng *r) {
    for (size_t i = 0; i < n; i++) v[i] = (float)(scale * rng_normal(r));
}

static void to_double(double *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

/* ---- shapes */

Test(mlp, param_count_matches_hand_count) {
    /* [3,64,64,1]: 64*3+64 + 64*64+64 + 1*64+1 = 256 + 4160 + 65 = 4481.
     * [6,18,36,201]: 18*6+18 + 36*18+36 + 201*36+201 = 126 + 684 + 7437 = 8247. */
    Mlp m;
    int h1[] = {64, 64}, h2[] = {18, 36};
    cr_assert_eq(mlp_init(&m, 3, h1, 2, 1, MLP_TANH), 0);
    cr_expect_eq(mlp_param_count(&m), 4481);
    cr_expect_eq(m.w_off[1], 256);
    cr_expect_eq(m.b_off[2], 256 + 4160 + 64);
    cr_expect_eq(mlp_work_size(&m, 10), 10 * (64 + 64 + 1));
    cr_assert_eq(mlp_init(&m, 6, h2, 2, 201, MLP_RELU), 0);
    cr_expect_eq(mlp_param_count(&m), 8247);
    cr_expect_eq(mlp_init(&m, 3, NULL, 0, 2, MLP_TANH), 0, "a single linear layer is valid");
    cr_expect_eq(mlp_param_count(&m), 8);
}

Test(mlp, rejects_bad_shapes) {
    Mlp m;
    int many[MLP_MAX_LAYERS] = {4, 4, 4, 4, 4, 4, 4, 4};
    int zero[] = {4, 0};
    cr_expect_eq(mlp_init(&m, 3, many, MLP_MAX_LAYERS, 1, MLP_TANH), -1);
    cr_expect_eq(mlp_init(&m, 3, many, MLP_MAX_LAYERS - 1, 1, MLP_TANH), 0);
    cr_expect_eq(mlp_init(&m, 3, zero, 2, 1, MLP_TANH), -1);
    cr_expect_eq(mlp_init(&m, 0, many, 1, 1, MLP_TANH), -1);
    cr_expect_eq(mlp_init(&m, 3, many, 1, 0, MLP_TANH), -1);
}

/* ---- forward */

static void check_forward(MlpAct act) {
    enum { B = 5 };
    int hid[] = {7, 6, 5};
    RefNet rn = {.L = 4, .d = {4, 7, 6, 5, 3}, .act = act};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 4, hid, 3, 3, act), 0);
    size_t np = mlp_param_count(&m);
    cr_assert_eq(np, ref_count(&rn));
    Rng r;
    rng_seed(&r, 11, 0);
    float p[200], x[B * 4], work[B * 21];
    double pd[200], xd[B * 4], want[B * 3];
    fill_normal(p, np, 0.7, &r);
    fill_normal(x, B * 4, 1.0, &r);
    to_double(pd, p, np);
    to_double(xd, x, B * 4);
    cr_assert_eq(mlp_work_size(&m, B), B * 21);
    mlp_forward(&m, p, x, B, work);
    ref_forward(&rn, pd, xd, B, want);
    const float *out = mlp_output(&m, work, B);
    cr_expect_eq(out, work + B * (7 + 6 + 5));
    for (int k = 0; k < B * 3; k++)
        cr_expect(fabs(out[k] - want[k]) < 1e-5 * fmax(1.0, fabs(want[k])), "out[%d] %g want %g", k,
                  out[k], want[k]);
    /* One row at a time through the loop path gives the same rows. */
    for (int b = 0; b < B; b++) {
        float w1[21];
        mlp_forward1(&m, p, x + b * 4, w1);
        for (int o = 0; o < 3; o++)
            cr_expect(fabs(w1[18 + o] - out[b * 3 + o]) < 1e-6 * fmax(1.0, fabs(out[b * 3 + o])),
                      "row %d out %d: %g vs %g", b, o, w1[18 + o], out[b * 3 + o]);
    }
}

Test(mlp, forward_matches_double_reference_tanh) { check_forward(MLP_TANH); }
Test(mlp, forward_matches_double_reference_relu) { check_forward(MLP_RELU); }

Test(mlp, forward1_matches_batched_forward_on_the_benchmark_nets) {
    /* Widths above 8 exercise forward1's unrolled lanes and their remainder loop. */
    int sz[2][4] = {{3, 64, 64, 1}, {6, 18, 36, 201}};
    Rng r;
    rng_seed(&r, 5, 0);
    for (int c = 0; c < 2; c++) {
        enum { B = 3 };
        Mlp m;
        cr_assert_eq(mlp_init(&m, sz[c][0], sz[c] + 1, 2, sz[c][3], MLP_TANH), 0);
        size_t np = mlp_param_count(&m);
        float *p = malloc(np * sizeof *p), x[B * 6];
        float *work = malloc(mlp_work_size(&m, B) * sizeof(float));
        float *w1 = malloc(mlp_work_size(&m, 1) * sizeof(float));
        fill_normal(p, np, 0.2, &r);
        fill_normal(x, B * 6, 1.0, &r);
        int no = sz[c][3], ni = sz[c][0];
        mlp_forward(&m, p, x, B, work);
        const float *out = mlp_output(&m, work, B);
        for (int b = 0; b < B; b++) {
            mlp_forward1(&m, p, x + b * ni, w1);
            const float *o1 = mlp_output(&m, w1, 1);
            for (int o = 0; o < no; o++)
                cr_expect(fabs(o1[o] - out[b * no + o]) < 1e-5 * fmax(1.0, fabs(out[b * no + o])),
                          "net %d row %d out %d: %g vs %g", c, b, o, o1[o], out[b * no + o]);
        }
        free(p);
        free(work);
        free(w1);
    }
}

/* ---- backward */

/* Every dLoss/dparam and dLoss/dx of mlp_backward against central differences of the
 * double reference, loss = sum(out * R). */
static void check_gradients(MlpAct act) {
    enum { B = 5, NI = 4, NO = 3 };
    int hid[] = {7, 6, 5};
    RefNet rn = {.L = 4, .d = {NI, 7, 6, 5, NO}, .act = act};
    Mlp m;
    cr_assert_eq(mlp_init(&m, NI, hid, 3, NO, act), 0);
    size_t np = mlp_param_count(&m);
    Rng r;
    rng_seed(&r, 3, 0);
    float p[200], x[B * NI], R[B * NO], g[200], dx[B * NI], work[B * 21], scratch[B * 21];
    double pd[200], xd[B * NI], Rd[B * NO];
    fill_normal(p, np, 0.6, &r);
    fill_normal(x, B * NI, 1.0, &r);
    fill_normal(R, B * NO, 1.0, &r);
    to_double(pd, p, np);
    to_double(xd, x, B * NI);
    to_double(Rd, R, B * NO);
    memset(g, 0, sizeof g);
    mlp_forward(&m, p, x, B, work);
    /* dLoss/dout = R. */
    mlp_backward(&m, p, x, B, work, R, g, dx, scratch);

    const double h = 1e-6;
    double worst = 0;
    for (size_t k = 0; k < np; k++) {
        double keep = pd[k];
        pd[k] = keep + h;
        double lp = ref_loss(&rn, pd, xd, B, Rd);
        pd[k] = keep - h;
        double lm = ref_loss(&rn, pd, xd, B, Rd);
        pd[k] = keep;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(g[k] - fd) / fmax(fabs(fd), 1e-2);
        worst = fmax(worst, err);
        cr_expect(err < 1e-4, "param %zu: analytic %.8g fd %.8g", k, g[k], fd);
    }
    for (size_t k = 0; k < B * NI; k++) {
        double keep = xd[k];
        xd[k] = keep + h;
        double lp = ref_loss(&rn, pd, xd, B, Rd);
        xd[k] = keep - h;
        double lm = ref_loss(&rn, pd, xd, B, Rd);
        xd[k] = keep;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(dx[k] - fd) / fmax(fabs(fd), 1e-2);
        worst = fmax(worst, err);
        cr_expect(err < 1e-4, "dx %zu: analytic %.8g fd %.8g", k, dx[k], fd);
    }
    cr_log_info("gradient check (%s): worst relative error %.3g", act == MLP_TANH ? "tanh" : "relu",
                worst);
}

Test(mlp, backward_matches_finite_differences_tanh) { check_gradients(MLP_TANH); }
Test(mlp, backward_matches_finite_differences_relu) { check_gradients(MLP_RELU); }

Test(mlp, backward_accumulates_into_grads_and_overwrites_dx) {
    enum { B = 4 };
    int hid[] = {5, 5};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 3, hid, 2, 2, MLP_TANH), 0);
    size_t np = mlp_param_count(&m);
    Rng r;
    rng_seed(&r, 9, 0);
    float p[100], x[B * 3], R[B * 2], g1[100] = {0}, g2[100] = {0}, dx1[B * 3], dx2[B * 3];
    float work[B * 12], scratch[B * 12];
    fill_normal(p, np, 0.8, &r);
    fill_normal(x, B * 3, 1.0, &r);
    fill_normal(R, B * 2, 1.0, &r);
    mlp_forward(&m, p, x, B, work);
    mlp_backward(&m, p, x, B, work, R, g1, dx1, scratch);
    mlp_backward(&m, p, x, B, work, R, g2, dx2, scratch);
    mlp_backward(&m, p, x, B, work, R, g2, dx2, scratch);
    int nonzero = 0;
    for (size_t k = 0; k < np; k++) {
        cr_expect(fabs(g2[k] - 2 * g1[k]) <= 1e-6 * fmax(1.0, fabs(g1[k])), "grad %zu: %g vs 2*%g",
                  k, g2[k], g1[k]);
        nonzero += g1[k] != 0;
    }
    cr_expect(nonzero > (int)np / 2, "the gradient is not trivially zero");
    for (int k = 0; k < B * 3; k++) cr_expect_eq(dx1[k], dx2[k]);
    /* dx is optional. */
    mlp_backward(&m, p, x, B, work, R, g2, NULL, scratch);
    for (size_t k = 0; k < np; k++)
        cr_expect(fabs(g2[k] - 3 * g1[k]) <= 1e-6 * fmax(1.0, fabs(g1[k])));
}

/* The same check on shapes that reach every path of the batched kernels: widths of 8 and more
 * that are not multiples of 8 (the overlapping last column block), batches that are not a
 * multiple of 4 (the repeated last row), a weight gradient with more inputs than outputs and
 * one with more outputs than inputs, a narrow head, a narrow first layer (scalar dx), and the
 * cblas_sgemm path for a width over 64 and for a batch over 256. The forward pass is checked
 * against the double reference too, and forward1 against the batched rows. */
static void check_shape(int B, int L, const int *d, MlpAct act) {
    RefNet rn = {.L = L, .act = act};
    for (int l = 0; l <= L; l++) rn.d[l] = d[l];
    int NI = d[0], NO = d[L];
    Mlp m;
    cr_assert_eq(mlp_init(&m, NI, d + 1, L - 1, NO, act), 0);
    size_t np = mlp_param_count(&m), nw = mlp_work_size(&m, B);
    cr_assert_eq(np, ref_count(&rn));
    Rng r;
    rng_seed(&r, 17, (uint64_t)L);
    float *p = malloc(np * sizeof *p), *g = calloc(np, sizeof *g), *x = malloc((size_t)B * NI * sizeof *x);
    float *R = malloc((size_t)B * NO * sizeof *R), *dx = malloc((size_t)B * NI * sizeof *dx);
    float *work = malloc(nw * sizeof *work), *scratch = malloc(nw * sizeof *scratch);
    float *w1 = malloc(mlp_work_size(&m, 1) * sizeof *w1);
    double *pd = malloc(np * sizeof *pd), *xd = malloc((size_t)B * NI * sizeof *xd);
    double *Rd = malloc((size_t)B * NO * sizeof *Rd), *want = malloc((size_t)B * NO * sizeof *want);
    fill_normal(p, np, 0.3, &r);
    fill_normal(x, (size_t)B * NI, 1.0, &r);
    fill_normal(R, (size_t)B * NO, 1.0, &r);
    to_double(pd, p, np);
    to_double(xd, x, (size_t)B * NI);
    to_double(Rd, R, (size_t)B * NO);
    mlp_forward(&m, p, x, B, work);
    ref_forward(&rn, pd, xd, B, want);
    const float *out = mlp_output(&m, work, B);
    for (int k = 0; k < B * NO; k++)
        cr_expect(fabs(out[k] - want[k]) < 1e-5 * fmax(1.0, fabs(want[k])), "out[%d] %.8g want %.8g", k,
                  out[k], want[k]);
    for (int b = 0; b < B; b += 7) {
        mlp_forward1(&m, p, x + (size_t)b * NI, w1);
        const float *o1 = mlp_output(&m, w1, 1);
        for (int o = 0; o < NO; o++)
            cr_expect(fabs(o1[o] - out[b * NO + o]) < 1e-5 * fmax(1.0, fabs(out[b * NO + o])),
                      "forward1 row %d out %d: %.8g vs %.8g", b, o, o1[o], out[b * NO + o]);
    }
    mlp_backward(&m, p, x, B, work, R, g, dx, scratch);
    /* Relative errors with a floor of 1e-2, or 1e-3 of the largest entry when that is more: a
     * wide head sums hundreds of products into a gradient entry, and float32 rounding of such a
     * sum is relative to its terms, not to a small result (the cblas_sgemm path shows the same). */
    double gmax = 0;
    for (size_t k = 0; k < np; k++) gmax = fmax(gmax, fabs(g[k]));
    const double floor_rel = fmax(1e-2, 1e-3 * gmax);
    const double h = 1e-6;
    double worst = 0;
    for (size_t k = 0; k < np + (size_t)B * NI; k++) {
        double *v = k < np ? pd + k : xd + (k - np);
        double an = k < np ? g[k] : dx[k - np];
        double keep = *v;
        *v = keep + h;
        double lp = ref_loss(&rn, pd, xd, B, Rd);
        *v = keep - h;
        double lm = ref_loss(&rn, pd, xd, B, Rd);
        *v = keep;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(an - fd) / fmax(fabs(fd), floor_rel);
        worst = fmax(worst, err);
        cr_expect(err < 1e-4, "%s %zu: analytic %.8g fd %.8g", k < np ? "param" : "dx", k < np ? k : k - np,
                  an, fd);
    }
    cr_log_info("gradient check B %d widths %d..%d: worst relative error %.3g", B, d[0], d[L], worst);
    free(p), free(g), free(x), free(R), free(dx), free(work), free(scratch), free(w1);
    free(pd), free(xd), free(Rd), free(want);
}

Test(mlp, backward_matches_finite_differences_on_the_small_layer_kernels) {
    int d[] = {5, 18, 9, 36, 3};
    check_shape(13, 4, d, MLP_TANH);
    check_shape(4, 4, d, MLP_RELU);
    int e[] = {3, 8, 16, 1}; /* exact multiples of 8 and a one-unit head */
    check_shape(9, 3, e, MLP_TANH);
}

Test(mlp, backward_matches_finite_differences_on_the_blas_path) {
    int wide[] = {4, 70, 9, 2}; /* a width over 64 */
    check_shape(5, 3, wide, MLP_TANH);
    int d[] = {3, 12, 1}; /* a batch over 256 */
    check_shape(tu_asan() ? 257 : 300, 2, d, MLP_TANH);
}

Test(mlp, backward_matches_finite_differences_on_wide_heads) {
    /* The wide-head kernels: 201 outputs on 36 inputs (the tariff game's head; 201 = 25 blocks
     * of eight and an overlapping last one), a batch that is not a multiple of 4, and a head on
     * fewer than eight inputs (its dx through the plain small-layer kernel). */
    int d[] = {6, 12, 36, 201};
    check_shape(5, 3, d, MLP_TANH);
    int e[] = {3, 5, 90};
    check_shape(7, 2, e, MLP_RELU);
}

/* ---- spans: only part of a wide head's outputs needed (a masked categorical head)
 * The second method is the full computation: on its span every output must be the same bits,
 * and with dout zero outside the spans every gradient must be the same bits. */

static void check_span_bits(int B, int ni, int no, int with_dx) {
    int hid[] = {12, ni};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 6, hid, 2, no, MLP_TANH), 0);
    size_t np = mlp_param_count(&m), nw = mlp_work_size(&m, B);
    Rng r;
    rng_seed(&r, 23, (uint64_t)no);
    float *p = malloc(np * sizeof *p), *x = malloc((size_t)B * 6 * sizeof *x);
    float *w_full = calloc(nw, sizeof *w_full), *w_span = calloc(nw, sizeof *w_span), *s = calloc(nw, sizeof *s);
    float *R = calloc((size_t)B * no, sizeof *R), *g_full = calloc(np, sizeof *g_full);
    float *g_span = calloc(np, sizeof *g_span), *dx_full = calloc((size_t)B * 6, sizeof *dx_full);
    float *dx_span = calloc((size_t)B * 6, sizeof *dx_span);
    int *span = malloc((size_t)B * 2 * sizeof *span);
    fill_normal(p, np, 0.3, &r);
    fill_normal(x, (size_t)B * 6, 1.0, &r);
    for (int b = 0; b < B; b++) {
        /* Every kind of span: whole, empty, one output, the last output, the first block,
         * and 101 contiguous outputs at random places. */
        int lo, hi;
        switch (b % 7) {
        case 0: lo = 0, hi = no; break;
        case 1: lo = hi = (int)rng_below(&r, (uint64_t)no); break;
        case 2: lo = (int)rng_below(&r, (uint64_t)no), hi = lo + 1; break;
        case 3: lo = no - 1, hi = no; break;
        case 4: lo = 0, hi = 5; break;
        default: lo = (int)rng_below(&r, (uint64_t)(no - 100)), hi = lo + 101; break;
        }
        span[2 * b] = lo;
        span[2 * b + 1] = hi;
        for (int o = lo; o < hi; o++) R[(size_t)b * no + o] = (float)rng_normal(&r);
    }
    mlp_forward(&m, p, x, B, w_full);
    mlp_forward_span(&m, p, x, B, span, w_span);
    const float *of = mlp_output(&m, w_full, B), *os = mlp_output(&m, w_span, B);
    int differ = 0;
    for (int b = 0; b < B; b++)
        for (int o = span[2 * b]; o < span[2 * b + 1]; o++) differ += of[(size_t)b * no + o] != os[(size_t)b * no + o];
    cr_expect_eq(differ, 0, "%d outputs on the spans differ from the full forward", differ);
    /* The hidden layers are the same too, so backward can use either work buffer. */
    mlp_backward(&m, p, x, B, w_full, R, g_full, with_dx ? dx_full : NULL, s);
    mlp_backward_span(&m, p, x, B, w_span, R, span, g_span, with_dx ? dx_span : NULL, s);
    differ = 0;
    for (size_t k = 0; k < np; k++) differ += memcmp(&g_full[k], &g_span[k], sizeof(float)) != 0;
    for (size_t k = 0; k < (size_t)B * 6; k++) differ += memcmp(&dx_full[k], &dx_span[k], sizeof(float)) != 0;
    cr_expect_eq(differ, 0, "%d gradient entries differ from the full backward", differ);
    free(p), free(x), free(w_full), free(w_span), free(s), free(R), free(g_full), free(g_span);
    free(dx_full), free(dx_span), free(span);
}

Test(mlp, span_forward_and_backward_give_the_bits_of_the_full_passes) {
    check_span_bits(128, 36, 201, 1); /* the tariff game's minibatch */
    check_span_bits(13, 36, 201, 1);  /* rows not a multiple of 4 */
    check_span_bits(9, 5, 120, 1);    /* a head on fewer than 8 inputs */
    check_span_bits(48, 36, 201, 0);
}

Test(mlp, forward1_span_gives_the_bits_of_forward1) {
    int hid[] = {18, 36};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 6, hid, 2, 201, MLP_TANH), 0);
    size_t np = mlp_param_count(&m);
    Rng r;
    rng_seed(&r, 29, 0);
    float *p = malloc(np * sizeof *p), x[6], w1[18 + 36 + 201], w2[18 + 36 + 201];
    fill_normal(p, np, 0.3, &r);
    int differ = 0;
    for (int t = 0; t < 50; t++) {
        fill_normal(x, 6, 1.0, &r);
        int lo = (int)rng_below(&r, 201), hi = lo + 1 + (int)rng_below(&r, (uint64_t)(201 - lo));
        mlp_forward1(&m, p, x, w1);
        mlp_forward1_span(&m, p, x, lo, hi, w2);
        const float *a = mlp_output(&m, w1, 1), *b = mlp_output(&m, w2, 1);
        for (int o = lo; o < hi; o++) differ += memcmp(&a[o], &b[o], sizeof(float)) != 0;
    }
    cr_expect_eq(differ, 0, "%d head outputs differ", differ);
    free(p);
}

/* The masked softmax and its gradient on a span: against the full passes of dist.c, bit for bit,
 * on masks that are contiguous (the tariff game's) or not. */
Test(dist_span, categorical_on_a_span_gives_the_bits_of_the_full_pass) {
    enum { K = 201 };
    Rng r;
    rng_seed(&r, 31, 0);
    int differ = 0, rows = 0;
    for (int t = 0; t < 200; t++) {
        float z[K], lp1[K], p1[K], lp2[K], p2[K], d1[K] = {0}, d2[K] = {0};
        unsigned char mask[K] = {0};
        fill_normal(z, K, 2.0, &r);
        int lo = (int)rng_below(&r, K), hi = lo + 1 + (int)rng_below(&r, (uint64_t)(K - lo));
        for (int k = lo; k < hi; k++) mask[k] = t % 3 ? 1 : (rng_uniform(&r) < 0.5 || k == lo);
        int slo, shi, holes = 0;
        int exact = dist_cat_mask_span(mask, K, &slo, &shi);
        cr_expect_eq(slo, lo);
        cr_expect(shi <= hi && shi > lo && mask[shi - 1]);
        for (int k = slo; k < shi; k++) holes += !mask[k];
        cr_expect_eq(exact, holes == 0);
        double h1 = dist_cat_forward(z, mask, K, lp1, p1);
        double h2 = dist_cat_forward_span(z, mask, K, slo, shi, lp2, p2);
        differ += memcmp(&h1, &h2, sizeof h1) != 0;
        differ += memcmp(lp1, lp2, sizeof lp1) != 0;
        differ += memcmp(p1, p2, sizeof p1) != 0;
        if (exact) {
            /* No mask: the valid actions are the span itself. */
            h2 = dist_cat_forward_span(z, NULL, K, slo, shi, lp2, p2);
            differ += memcmp(&h1, &h2, sizeof h1) != 0;
            differ += memcmp(lp1, lp2, sizeof lp1) != 0;
            differ += memcmp(p1, p2, sizeof p1) != 0;
        }
        int a = slo + (int)rng_below(&r, (uint64_t)(shi - slo));
        dist_cat_backward_p(lp1, p1, K, a, h1, 0.3, -0.01, d1);
        dist_cat_backward_span(lp2, p2, K, slo, shi, a, h2, 0.3, -0.01, d2);
        differ += memcmp(d1, d2, sizeof d1) != 0;
        rows++;
    }
    cr_expect_eq(differ, 0, "%d of %d rows differ", differ, rows);
}

/* The batched softmax (rows interleaved) against one row at a time, bit for bit, with masks and
 * without (valid actions exactly the spans), on an odd number of rows. */
Test(dist_span, categorical_rows_give_the_bits_of_single_rows) {
    enum { K = 201, B = 7 };
    Rng r;
    rng_seed(&r, 37, 0);
    float z[B * K], lp1[B * K], p1[B * K], lp2[B * K], p2[B * K];
    unsigned char mask[B * K] = {0};
    int span[2 * B];
    double H[B];
    fill_normal(z, B * K, 2.0, &r);
    for (int b = 0; b < B; b++) {
        int lo = (int)rng_below(&r, 101);
        span[2 * b] = lo;
        span[2 * b + 1] = lo + 100;
        for (int k = lo; k < lo + 100; k++) mask[b * K + k] = 1;
    }
    int differ = 0;
    for (int with_mask = 0; with_mask < 2; with_mask++) {
        dist_cat_forward_rows(z, with_mask ? mask : NULL, span, B, K, lp1, p1, H);
        for (int b = 0; b < B; b++) {
            double h = dist_cat_forward(z + b * K, mask + b * K, K, lp2 + b * K, p2 + b * K);
            differ += memcmp(&h, &H[b], sizeof h) != 0;
        }
        differ += memcmp(lp1, lp2, sizeof lp1) != 0;
        differ += memcmp(p1, p2, sizeof p1) != 0;
    }
    cr_expect_eq(differ, 0);
}

/* ---- orthogonal init */

/* max |A A^T / gain^2 - I| over the short side of a (rows, cols) matrix. */
static double ortho_defect(const float *W, int rows, int cols, double gain) {
    int wide = rows <= cols;
    int k = wide ? rows : cols, n = wide ? cols : rows;
    double worst = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                double u = wide ? W[(size_t)a * cols + i] : W[(size_t)i * cols + a];
                double v = wide ? W[(size_t)b * cols + i] : W[(size_t)i * cols + b];
                s += u * v;
            }
            worst = fmax(worst, fabs(s / (gain * gain) - (a == b)));
        }
    return worst;
}

Test(mlp, orthogonal_init_is_orthogonal_with_gain_and_zero_bias) {
    int sz[3][4] = {{3, 64, 64, 1}, {6, 18, 36, 201}, {5, 5, 5, 5}};
    const double hg = sqrt(2.0), og = 0.01;
    for (int c = 0; c < 3; c++) {
        Mlp m;
        cr_assert_eq(mlp_init(&m, sz[c][0], sz[c] + 1, 2, sz[c][3], MLP_TANH), 0);
        size_t np = mlp_param_count(&m);
        float *p = malloc(np * sizeof *p);
        for (size_t k = 0; k < np; k++) p[k] = 7.0f; /* stale values must all be replaced */
        Rng r;
        rng_seed(&r, 1, 0);
        mlp_init_orthogonal(&m, p, (float)hg, (float)og, &r);
        for (int l = 0; l < 3; l++) {
            int no = sz[c][l + 1], ni = sz[c][l];
            double gain = l == 2 ? og : hg;
            double d = ortho_defect(p + m.w_off[l], no, ni, gain);
            cr_expect(d < 1e-5, "net %d layer %d (%d,%d): defect %g", c, l, no, ni, d);
            for (int o = 0; o < no; o++) cr_expect_eq(p[m.b_off[l] + o], 0.0f);
        }
        free(p);
    }
}

Test(mlp, orthogonal_init_depends_on_the_seed_only) {
    int hid[] = {8};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 4, hid, 1, 8, MLP_TANH), 0);
    size_t np = mlp_param_count(&m);
    float a[200], b[200], c[200];
    Rng ra, rb, rc;
    rng_seed(&ra, 1, 0);
    rng_seed(&rb, 1, 0);
    rng_seed(&rc, 2, 0);
    mlp_init_orthogonal(&m, a, 1.0f, 1.0f, &ra);
    mlp_init_orthogonal(&m, b, 1.0f, 1.0f, &rb);
    mlp_init_orthogonal(&m, c, 1.0f, 1.0f, &rc);
    cr_expect_eq(memcmp(a, b, np * sizeof(float)), 0);
    int differ = 0;
    for (size_t k = 0; k < m.b_off[0]; k++) differ += a[k] != c[k];
    cr_expect_eq(differ, (int)m.b_off[0], "every weight of layer 0 changes with the seed");
}

Test(mlp, orthogonal_init_is_not_biased_to_one_sign) {
    /* torch's sign correction makes Q unique but not biased: over many draws the mean of
     * each entry is 0 and the mean of its square is 1/n for an (n, n) matrix (rows of a
     * Haar-orthogonal matrix are uniform on the sphere). 400 draws of 4x4: the standard
     * error of a mean of squares is about sqrt(Var/N) ~ 0.01. */
    int hid[] = {4};
    Mlp m;
    cr_assert_eq(mlp_init(&m, 4, hid, 1, 1, MLP_TANH), 0);
    float p[40];
    Rng r;
    rng_seed(&r, 4, 0);
    double s[16] = {0}, s2[16] = {0};
    const int N = 400;
    for (int t = 0; t < N; t++) {
        mlp_init_orthogonal(&m, p, 1.0f, 1.0f, &r);
        for (int k = 0; k < 16; k++) {
            s[k] += p[k];
            s2[k] += (double)p[k] * p[k];
        }
    }
    for (int k = 0; k < 16; k++) {
        cr_expect(fabs(s[k] / N) < 0.1, "entry %d mean %g", k, s[k] / N);
        cr_expect(fabs(s2[k] / N - 0.25) < 0.06, "entry %d mean square %g", k, s2[k] / N);
    }
}

/* ---- activations */

Test(act, tanh_matches_libm_in_double) {
    /* libm's double tanh is the reference; the rational kernel is within a few float ulps
     * (measured worst 3.9e-7 relative, near |x| = 5.8, where tanh is within 2e-5 of 1). */
    enum { N = 1000 };
    float y[N];
    double worst = 0;
    for (long base = -12 * 20000; base < 12 * 20000; base += N) {
        for (int i = 0; i < N; i++) y[i] = (float)((base + i) * 5e-5);
        nn_tanh(y, N - 3); /* an odd length also runs the scalar tail */
        for (int i = 0; i < N - 3; i++) {
            double x = (float)((base + i) * 5e-5), t = tanh(x);
            double e = fabs(y[i] - t) / fmax(fabs(t), 1e-30);
            worst = fmax(worst, e);
            cr_assert(e < 5e-7, "tanh(%.9g) = %.9g, libm %.9g", x, y[i], t);
        }
    }
    cr_log_info("nn_tanh worst relative error %.3g", worst);
    float s[8] = {1e-30f, -1e-20f, 3e-5f, -0.0f, 0.0f, NAN, INFINITY, -INFINITY};
    nn_tanh(s, 8);
    cr_expect(s[0] == 1e-30f && s[1] == -1e-20f, "tanh x = x for tiny x");
    cr_expect(fabs(s[2] - tanh(3e-5f)) <= 1e-7 * 3e-5, "%.9g", s[2]);
    cr_expect(s[3] == 0.0f && signbit(s[3]) && s[4] == 0.0f && !signbit(s[4]));
    cr_expect(isnan(s[5]), "NaN stays NaN");
    cr_expect(s[6] == 1.0f && s[7] == -1.0f);
}

/* ---- Adam */

Test(adam, constant_gradient_moves_by_lr_times_sign) {
    /* With g constant, m_t = (1-b1^t) g and v_t = (1-b2^t) g^2, so the bias-corrected step
     * is lr g / (|g| + eps) every time: lr sign(g) up to eps, and 0 for g = 0. */
    float p[4] = {0}, g[4] = {0.5f, -2.0f, 1e-3f, 0.0f}, m[4] = {0}, v[4] = {0};
    Adam a;
    adam_init(&a, 0.01, 1e-5);
    cr_expect(a.beta1 == 0.9 && a.beta2 == 0.999 && a.t == 0);
    for (int t = 1; t <= 3; t++) {
        adam_step(&a, p, g, m, v, 4);
        cr_expect_eq(a.t, t);
        for (int k = 0; k < 4; k++) {
            double want = -t * 0.01 * g[k] / (fabs(g[k]) + 1e-5);
            cr_expect(fabs(p[k] - want) < 1e-6 * fmax(fabs(want), 1e-3), "t %d p[%d] %.9g want %.9g",
                      t, k, p[k], want);
        }
    }
}

Test(adam, blocks_of_eight_match_the_hand_calculation) {
    /* As constant_gradient_moves_by_lr_times_sign, over 19 parameters: two blocks of eight
     * and a remainder of three, each element to lr sign(g) per step. */
    enum { N = 19 };
    float p[N] = {0}, g[N], m[N] = {0}, v[N] = {0};
    for (int k = 0; k < N; k++) g[k] = (k % 3 == 0 ? -1.0f : 1.0f) * (0.25f + 0.5f * (float)k);
    Adam a;
    adam_init(&a, 0.01, 1e-5);
    for (int t = 1; t <= 2; t++) adam_step(&a, p, g, m, v, N);
    for (int k = 0; k < N; k++) {
        double want = -2 * 0.01 * g[k] / (fabs(g[k]) + 1e-5);
        cr_expect(fabs(p[k] - want) < 1e-6 * fabs(want), "p[%d] %.9g want %.9g", k, p[k], want);
    }
}

Test(adam, three_steps_match_hand_calculation) {
    /* g1 = 1, g2 = -2, g3 = 0.5 on one parameter from 0; lr 0.1, eps 1e-8, betas .9/.999.
     * t=1: m = 0.1,            v = 0.001,                bc1 = 0.1,   bc2 = 0.001
     *      step = 0.1/0.1 * 0.1 / (sqrt(0.001)/sqrt(0.001) + eps) = 0.1 / (1 + 1e-8)
     * t=2: m = 0.09 - 0.2 = -0.11,   v = 0.000999 + 0.004 = 0.004999
     *      bc1 = 0.19, bc2 = 0.001999
     * t=3: m = -0.099 + 0.05 = -0.049,  v = 0.004994001 + 0.00025 = 0.005244001
     *      bc1 = 0.271, bc2 = 0.002997001 */
    double m[3] = {0.1, -0.11, -0.049}, v[3] = {0.001, 0.004999, 0.005244001};
    double bc1[3] = {0.1, 0.19, 0.271}, bc2[3] = {0.001, 0.001999, 0.002997001};
    float gs[3] = {1.0f, -2.0f, 0.5f};
    float p = 0, fm = 0, fv = 0;
    double want = 0;
    Adam a;
    adam_init(&a, 0.1, 1e-8);
    for (int t = 0; t < 3; t++) {
        adam_step(&a, &p, &gs[t], &fm, &fv, 1);
        want -= 0.1 / bc1[t] * m[t] / (sqrt(v[t]) / sqrt(bc2[t]) + 1e-8);
        cr_expect(fabs(fm - m[t]) < 1e-6, "m after step %d: %.9g want %.9g", t + 1, fm, m[t]);
        cr_expect(fabs(fv - v[t]) < 1e-8, "v after step %d: %.9g want %.9g", t + 1, fv, v[t]);
        cr_expect(fabs(p - want) < 1e-6, "p after step %d: %.9g want %.9g", t + 1, p, want);
    }
}

/* ---- clipping */

Test(clip, known_norm_is_scaled_to_the_limit) {
    float g[2] = {3.0f, 4.0f};
    double total = nn_clip_grad_norm(g, 2, 0.5);
    cr_expect(fabs(total - 5.0) < 1e-12);
    double c = 0.5 / (5.0 + 1e-6);
    cr_expect(fabs(g[0] - 3.0 * c) < 1e-7, "%.9g", g[0]);
    cr_expect(fabs(g[1] - 4.0 * c) < 1e-7, "%.9g", g[1]);
}

Test(clip, below_the_limit_nothing_changes) {
    float g[2] = {3.0f, 4.0f};
    cr_expect(fabs(nn_clip_grad_norm(g, 2, 10.0) - 5.0) < 1e-12);
    cr_expect(g[0] == 3.0f && g[1] == 4.0f);
    /* At exactly the norm torch still scales by 5/(5+1e-6) < 1 (the 1e-6 guard). */
    nn_clip_grad_norm(g, 2, 5.0);
    cr_expect(g[0] < 3.0f && fabs(g[0] - 3.0 * 5.0 / (5.0 + 1e-6)) < 1e-6);
}

Test(clip, norm_over_many_elements_is_accumulated_in_double) {
    /* 10^6 entries of 0.1f: ||g|| = 0.1 * 1000 = 100 (0.1f = 0.1 + 1.5e-9 moves it by 1.5e-6).
     * A float running sum of 10^6 squares drifts by far more than 1e-4 relative. */
    size_t n = 1000000;
    float *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++) g[i] = 0.1f;
    double total = nn_clip_grad_norm(g, n, 1e9);
    cr_expect(fabs(total - 100.0) < 1e-4, "%.9g", total);
    cr_expect_eq(g[12345], 0.1f);
    free(g);
}

Test(blas, thread_count_is_set_and_floored_at_one) {
    nn_blas_threads(1);
    cr_expect_eq(openblas_get_num_threads(), 1);
    nn_blas_threads(0);
    cr_expect_eq(openblas_get_num_threads(), 1);
}
