/* test_fastpath.c — the throughput shortcuts against the plain paths they replace:
 *  - the small-shape dense path (loops) against the sgemm path (nf_dense_set_small_max(0));
 *  - nf_model_grad's fused bias+MSE+db pass against forward, nf_loss_grad, backward;
 *  - data-parallel steps (nf_model_set_threads) against the serial step;
 *  - the fused small-MLP kernel against the per-layer path (nf_model_set_fused_max(0)), and its
 *    recorded bits, which every build (AVX2 or AVX-512 clones, baseline under clang and the
 *    sanitizers) must reproduce with eight- and with sixteen-float vectors;
 *  - both fused kernels reading a shuffled batch's rows where they lie, against the same batch
 *    copied out;
 *  - evaluation and prediction of a fused net: the training step's forward, bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "../src/model_small.h" /* nf_model_small_ok */
#include "../src/model_step.h" /* nf_model_grad_rows: the training loop's in-place batch */

static void fill(float *a, size_t n, nf_rng *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)nf_rng_range(rng, -1.0, 1.0);
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = tu_rel(a[i], b[i], 1.0);
        if (d > worst) worst = d;
    }
    return worst;
}

typedef struct {
    int in, out;
} shape;

static const shape shapes[] = {{1, 1}, {2, 3}, {3, 1}, {4, 4}, {2, 8}, {16, 1}, {5, 3}, {1, 16}};
static const nf_act_kind acts[] = {NF_ACT_RELU, NF_ACT_LINEAR, NF_ACT_TANH, NF_ACT_GELU, NF_ACT_PRELU,
                                   NF_ACT_ELU_LEARN};
static const int batches[] = {1, 7, 4097};

/* One layer: forward and backward (with and without accumulate) on both paths. */
START_TEST(small_path_matches_sgemm)
{
    const shape sh = shapes[_i];
    nf_rng rng;
    nf_rng_seed(&rng, (uint64_t)_i + 1);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
            const int batch = batches[bi], in = sh.in, out = sh.out;
            const size_t nw = (size_t)in * (size_t)out, nz = (size_t)batch * (size_t)out;
            const size_t nx = (size_t)batch * (size_t)in;
            float *buf;
            /* W b X act_p | per path: Z A dA dX dW db act_dp */
            size_t per = 3 * nz + nx + nw + 2 * (size_t)out;
            ck_assert_int_eq(nf_alloc_floats(&buf, nw + (size_t)out + nx + (size_t)out + 2 * per), NF_OK);
            float *W = buf, *b = W + nw, *X = b + out, *act_p = X + nx;
            fill(W, nw + (size_t)out + nx, &rng);
            float *res[2][7];
            for (int p = 0; p < 2; p++) {
                float *q = act_p + out + (size_t)p * per;
                res[p][0] = q;              /* Z */
                res[p][1] = q + nz;         /* A */
                res[p][2] = q + 2 * nz;     /* dA → dZ */
                res[p][3] = q + 3 * nz;     /* dX */
                res[p][4] = res[p][3] + nx; /* dW */
                res[p][5] = res[p][4] + nw; /* db */
                res[p][6] = res[p][5] + out; /* act_dp */
            }
            fill(res[0][2], nz, &rng);
            memcpy(res[1][2], res[0][2], nz * sizeof(float));
            nf_act_spec spec = {acts[a], nf_act_default_param(acts[a])};
            int needs_z = nf_act_needs_z(spec.kind), learnable = nf_act_learnable(spec.kind);
            if (learnable) fill(act_p, (size_t)out, &rng);
            for (int p = 0; p < 2; p++) {
                int prev = nf_dense_set_small_max(p == 0 ? 16 : 0);
                nf_dense L = {.in = in, .out = out, .act = spec, .W = W, .b = b, .dW = res[p][4], .db = res[p][5],
                              .act_p = learnable ? act_p : NULL, .act_dp = learnable ? res[p][6] : NULL};
                float *A = needs_z ? res[p][1] : res[p][0];
                ck_assert_int_eq(nf_dense_forward(&L, X, batch, res[p][0], A), NF_OK);
                if (!needs_z) memcpy(res[p][1], res[p][0], nz * sizeof(float));
                /* dW/db accumulate onto a known start */
                for (size_t k = 0; k < nw; k++) res[p][4][k] = 0.5f;
                for (int k = 0; k < out; k++) res[p][5][k] = -0.25f;
                for (int k = 0; k < out; k++) res[p][6][k] = 0.125f;
                ck_assert_int_eq(nf_dense_backward(&L, X, needs_z ? res[p][0] : NULL, A, res[p][2],
                                                   batch, 1, res[p][3]),
                                 NF_OK);
                nf_dense_set_small_max(prev);
            }
            const char *what[7] = {"Z", "A", "dZ", "dX", "dW", "db", "act_dp"};
            for (int k = 0; k < (learnable ? 7 : 6); k++) {
                size_t n = k <= 2 ? nz : k == 3 ? nx : k == 4 ? nw : (size_t)out;
                if (k == 0 && !needs_z) n = nz; /* Z holds A there: compared as A */
                double d = max_rel_diff(res[0][k], res[1][k], n);
                /* sums of up to 4097 products in float, different order */
                double tol = k >= 4 ? 2e-4 : 1e-5;
                if (k == 6) tol = 1e-3; /* Σ dZ·z over rows whose z differ by rounding */
                ck_assert_msg(d <= tol, "%d→%d %s batch %d: %s differs by %.3g (tol %.1g)", in,
                              out, nf_act_name(spec.kind), batch, what[k], d, tol);
            }
            /* and it is the small path that ran: nonzero work happened */
            double mag = 0.0;
            for (size_t k = 0; k < nw; k++) mag += fabs(res[0][4][k] - 0.5);
            if (batch == 4097) ck_assert_msg(mag > 0.0, "%s %d->%d: dW did not move", nf_act_name(spec.kind), in, out);
            nf_free(buf);
        }
}
END_TEST

/* Whole model: the fused MSE path against forward + nf_loss_grad + backward, with the small
 * path on and off. */
START_TEST(fused_mse_matches_plain)
{
    static const struct {
        int n_layers, sizes[4];
        nf_act_kind out;
    } nets[] = {{2, {2, 3, 1}, NF_ACT_LINEAR}, {1, {64, 66}, NF_ACT_LINEAR},
                {2, {8, 16, 5}, NF_ACT_LINEAR}, {3, {7, 9, 4, 3}, NF_ACT_LINEAR},
                {2, {6, 5, 4}, NF_ACT_TANH}, {3, {3, 20, 6, 1}, NF_ACT_LINEAR},
                {2, {9, 40, 1}, NF_ACT_LINEAR}};
    for (int small = 0; small < 2; small++)
        for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
            int prev = nf_dense_set_small_max(small ? 16 : 0);
            nf_act_spec hid = {NF_ACT_RELU, 0.0f}, out = {nets[k].out, 0.0f};
            nf_model *m;
            ck_assert_int_eq(nf_model_create_mlp(&m, nets[k].n_layers, nets[k].sizes, &hid, &out),
                             NF_OK);
            nf_rng rng;
            nf_rng_seed(&rng, 11 + k);
            nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
            ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
            const int batch = 1031;
            ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
            size_t nx = (size_t)batch * (size_t)nf_model_n_in(m);
            size_t ny = (size_t)batch * (size_t)nf_model_n_out(m);
            float *X, *Y, *g_plain, *out_plain;
            ck_assert_int_eq(nf_alloc_floats(&X, nx), NF_OK);
            ck_assert_int_eq(nf_alloc_floats(&Y, ny), NF_OK);
            ck_assert_int_eq(nf_alloc_floats(&g_plain, nf_model_n_params(m)), NF_OK);
            ck_assert_int_eq(nf_alloc_floats(&out_plain, ny), NF_OK);
            fill(X, nx, &rng);
            fill(Y, ny, &rng);
            nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
            /* plain */
            ck_assert_int_eq(nf_model_forward(m, X, batch), NF_OK);
            memcpy(out_plain, nf_model_output(m), ny * sizeof(float));
            double l_plain = nf_loss_grad(&mse, nf_model_output(m), Y, ny, 2 * ny, nf_model_dout(m));
            ck_assert_int_eq(nf_model_backward(m, X, batch), NF_OK);
            memcpy(g_plain, nf_model_grads(m), nf_model_n_params(m) * sizeof(float));
            /* fused (denominator 2·n to check it is honoured) */
            memset(nf_model_grads(m), 0xff, nf_model_n_params(m) * sizeof(float)); /* NaN: all must be rewritten */
            double l_fused = -1.0;
            ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &mse, 2 * ny, &l_fused), NF_OK);
            ck_assert(tu_rel(l_fused, l_plain, 1e-12) < 1e-6);
            double dg = max_rel_diff(nf_model_grads(m), g_plain, nf_model_n_params(m));
            ck_assert_msg(dg < 1e-5, "net %zu small %d: grads differ by %.3g", k, small, dg);
            /* (the output buffer after nf_model_grad is workspace without the bias: not compared) */
            /* the loss value against a double reference */
            double ref = 0.0;
            for (size_t i = 0; i < ny; i++) {
                double e = (double)out_plain[i] - (double)Y[i];
                ref += e * e;
            }
            ref /= (double)(2 * ny);
            ck_assert(tu_rel(l_fused, ref, 1e-12) < 1e-5);
            nf_free(X);
            nf_free(Y);
            nf_free(g_plain);
            nf_free(out_plain);
            nf_model_free(m);
            nf_dense_set_small_max(prev);
        }
}
END_TEST

/* The model's backward (dX as an NT sgemm on a transposed copy of W) against a chain of
 * public nf_dense_forward / nf_dense_backward calls (dX as the NN sgemm). */
START_TEST(model_nt_dx_matches_dense_chain)
{
    const int sizes[4] = {7, 33, 20, 5}, batch = 301;
    nf_act_spec hid = {NF_ACT_TANH, 0.0f}, out = {NF_ACT_SIGMOID, 0.0f};
    nf_model *m;
    ck_assert_int_eq(nf_model_create_mlp(&m, 3, sizes, &hid, &out), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 99);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.05f};
    ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
    ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
    float *X, *Y, *grads, *buf;
    ck_assert_int_eq(nf_alloc_floats(&X, (size_t)batch * 7), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Y, (size_t)batch * 5), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&grads, nf_model_n_params(m)), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&buf, (size_t)batch * (33 + 20 + 5) * 2 + (size_t)batch * 66),
                     NF_OK);
    fill(X, (size_t)batch * 7, &rng);
    fill(Y, (size_t)batch * 5, &rng);
    nf_loss_spec loss = {NF_LOSS_HUBER, 0.5f};
    ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &loss, 0, NULL), NF_OK);
    /* the chain, with its own buffers; layers share W/b with the model, grads go elsewhere */
    float *Zs[3], *As[3], *d0 = buf + (size_t)batch * (33 + 20 + 5) * 2, *d1 = d0 + (size_t)batch * 33;
    float *p = buf;
    nf_dense L[3];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        L[i] = *nf_model_layer(m, i);
        L[i].dW = grads + off;
        off += (size_t)sizes[i] * (size_t)sizes[i + 1];
        L[i].db = grads + off;
        off += (size_t)sizes[i + 1];
        Zs[i] = p;
        p += (size_t)batch * (size_t)sizes[i + 1];
        As[i] = p;
        p += (size_t)batch * (size_t)sizes[i + 1];
        ck_assert_int_eq(nf_dense_forward(&L[i], i ? As[i - 1] : X, batch, Zs[i], As[i]), NF_OK);
    }
    nf_loss_grad(&loss, As[2], Y, (size_t)batch * 5, (size_t)batch * 5, d0);
    float *cur = d0, *nxt = d1;
    for (int i = 2; i >= 0; i--) {
        ck_assert_int_eq(nf_dense_backward(&L[i], i ? As[i - 1] : X, Zs[i], As[i], cur, batch, 0,
                                           i ? nxt : NULL),
                         NF_OK);
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    double d = max_rel_diff(nf_model_grads(m), grads, nf_model_n_params(m));
    ck_assert_msg(d < 1e-5, "model grads differ from the dense chain by %.3g", d);
    nf_free(X);
    nf_free(Y);
    nf_free(grads);
    nf_free(buf);
    nf_model_free(m);
}
END_TEST

/* Sharded steps (2, 3 and 4 threads; shards of >= 256 rows) give the serial gradients and
 * loss up to summation order, for the fused MSE path and generic losses, and leave the model
 * usable after going back to 1 thread; nf_model_run_shards covers every row exactly once. */
typedef struct {
    int calls;
    int rows_at[1031]; /* rows_at[row0] = rows of the block starting there */
} cover;

static void count_rows(void *ctx, nf_model *view, int row0, int rows)
{
    (void)view;
    cover *c = ctx;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    c->rows_at[row0] = rows; /* blocks start at distinct rows */
}

START_TEST(sharded_grad_matches_serial)
{
    static const struct {
        int n_layers, sizes[4];
        nf_act_kind hid, out;
        nf_loss_kind loss;
    } nets[] = {{1, {64, 66}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE},
                {2, {64, 40, 33}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE},
                {3, {7, 33, 20, 5}, NF_ACT_TANH, NF_ACT_SIGMOID, NF_LOSS_HUBER},
                {2, {9, 40, 1}, NF_ACT_GELU, NF_ACT_LINEAR, NF_LOSS_MAE},
                {3, {6, 24, 12, 3}, NF_ACT_PRELU, NF_ACT_LINEAR, NF_LOSS_MSE},
                {2, {2, 3, 1}, NF_ACT_ELU_LEARN, NF_ACT_LINEAR, NF_LOSS_MSE}};
    const int batch = 1031;
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        nf_act_spec hid = {nets[k].hid, nf_act_default_param(nets[k].hid)};
        nf_act_spec out = {nets[k].out, nf_act_default_param(nets[k].out)};
        nf_model *m;
        ck_assert_int_eq(nf_model_create_mlp(&m, nets[k].n_layers, nets[k].sizes, &hid, &out), NF_OK);
        nf_rng rng;
        nf_rng_seed(&rng, 5 + k);
        nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
        ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
        ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
        size_t nx = (size_t)batch * (size_t)nf_model_n_in(m);
        size_t ny = (size_t)batch * (size_t)nf_model_n_out(m);
        float *X, *Y, *g1, *g300;
        ck_assert_int_eq(nf_alloc_floats(&X, nx), NF_OK);
        ck_assert_int_eq(nf_alloc_floats(&Y, ny), NF_OK);
        ck_assert_int_eq(nf_alloc_floats(&g1, nf_model_n_params(m)), NF_OK);
        ck_assert_int_eq(nf_alloc_floats(&g300, nf_model_n_params(m)), NF_OK);
        fill(X, nx, &rng);
        fill(Y, ny, &rng);
        nf_loss_spec ls = {nets[k].loss, 1.0f};
        double l1, lt, l300;
        ck_assert_int_eq(nf_model_grad(m, X, Y, 300, &ls, 0, &l300), NF_OK);
        memcpy(g300, nf_model_grads(m), nf_model_n_params(m) * sizeof(float));
        ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, &l1), NF_OK);
        memcpy(g1, nf_model_grads(m), nf_model_n_params(m) * sizeof(float));
        for (int t = 2; t <= 4; t++) {
            ck_assert_int_eq(nf_model_set_threads(m, t), NF_OK);
            ck_assert_int_eq(nf_model_threads(m), t);
            for (int rep = 0; rep < 3; rep++) { /* the workers are reused */
                memset(nf_model_grads(m), 0xff, nf_model_n_params(m) * sizeof(float)); /* NaN: must be rewritten */
                ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, &lt), NF_OK);
                double d = max_rel_diff(nf_model_grads(m), g1, nf_model_n_params(m));
                ck_assert_msg(d < 1e-5, "net %zu, %d threads: grads differ by %.3g", k, t, d);
                ck_assert_msg(tu_rel(lt, l1, 1e-12) < 1e-6, "net %zu, %d threads: loss %.9g vs %.9g",
                              k, t, lt, l1);
            }
            /* the blocks tile rows 0..batch-1: walking from row 0 by each block's length
             * visits every block once and ends exactly at batch */
            static cover c;
            memset(&c, 0, sizeof c);
            ck_assert_int_eq(nf_model_run_shards(m, batch, count_rows, &c), NF_OK);
            const int shards = t < batch / 256 ? t : batch / 256; /* 1031 rows: at most 4 */
            ck_assert_int_eq(c.calls, shards);
            int row = 0, blocks = 0;
            while (row < batch && c.rows_at[row] >= 256) {
                row += c.rows_at[row];
                blocks++;
            }
            ck_assert_int_eq(row, batch);
            ck_assert_int_eq(blocks, shards);
        }
        /* a batch too small to split (300 rows < 2·256) runs serially: the serial bits */
        double ls1;
        ck_assert_int_eq(nf_model_grad(m, X, Y, 300, &ls, 0, &ls1), NF_OK);
        ck_assert(ls1 == l300);
        ck_assert(memcmp(nf_model_grads(m), g300, nf_model_n_params(m) * sizeof(float)) == 0);
        ck_assert_int_eq(nf_model_set_threads(m, 1), NF_OK);
        ck_assert_int_eq(nf_model_threads(m), 1);
        ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, &lt), NF_OK);
        ck_assert(lt == l1);
        ck_assert_int_eq(nf_model_set_threads(m, 0), NF_EINVAL);
        ck_assert_int_eq(nf_model_set_threads(m, NF_MAX_THREADS + 1), NF_EINVAL);
        ck_assert_int_eq(nf_model_set_threads(m, 3), NF_OK); /* freed with its threads */
        nf_free(X);
        nf_free(Y);
        nf_free(g1);
        nf_free(g300);
        nf_model_free(m);
    }
}
END_TEST


/* ---- the fused small-MLP kernel ---- */

typedef struct {
    int n_layers, sizes[5];
    nf_act_kind hid, out;
    nf_loss_kind loss;
} mlp_case;

static const mlp_case mlp_cases[] = {
    {2, {10, 10, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE},
    {2, {20, 20, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MAE},
    {3, {5, 7, 3, 2}, NF_ACT_TANH, NF_ACT_SIGMOID, NF_LOSS_HUBER},
    {4, {13, 31, 17, 9, 5}, NF_ACT_GELU, NF_ACT_LINEAR, NF_LOSS_LOG_COSH},
    {1, {9, 3}, NF_ACT_RELU, NF_ACT_SWISH, NF_LOSS_MSE},
    {3, {6, 24, 12, 3}, NF_ACT_PRELU, NF_ACT_LINEAR, NF_LOSS_MSE},
    {2, {3, 16, 4}, NF_ACT_ELU_LEARN, NF_ACT_TANH, NF_LOSS_MSE},
    {2, {64, 16, 64}, NF_ACT_SOFTPLUS, NF_ACT_LINEAR, NF_LOSS_HUBER},
    {3, {2, 8, 8, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE},
};
static const int mlp_batches[] = {1, 7, 16, 63, 64, 65, 200};

static nf_model *mlp_make(const mlp_case *c, uint64_t seed, int batch)
{
    nf_act_spec hid = {c->hid, nf_act_default_param(c->hid)}, out = {c->out, nf_act_default_param(c->out)};
    nf_model *m;
    ck_assert_int_eq(nf_model_create_mlp(&m, c->n_layers, c->sizes, &hid, &out), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
    ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
    /* per-unit parameters away from their common initial value */
    for (int l = 0; l < c->n_layers; l++) {
        const nf_dense *L = nf_model_layer(m, l);
        if (L->act_p)
            for (int o = 0; o < L->out; o++) L->act_p[o] = (float)nf_rng_range(&rng, 0.1, 0.9);
    }
    ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
    return m;
}

/* Gradients and loss of the fused kernel against the per-layer (sgemm and loops) path, for
 * every activation and loss, several depths and batches of one, partial and several blocks. */
START_TEST(fused_mlp_matches_per_layer)
{
    const mlp_case *c = &mlp_cases[_i];
    const int maxb = 200, L = c->n_layers;
    nf_model *m = mlp_make(c, 70 + (uint64_t)_i, maxb);
    const size_t np = nf_model_n_params(m);
    const size_t nx = (size_t)maxb * (size_t)c->sizes[0], ny = (size_t)maxb * (size_t)c->sizes[L];
    float *X, *Y, *g_ref;
    ck_assert_int_eq(nf_alloc_floats(&X, nx), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Y, ny), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&g_ref, np), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 90 + (uint64_t)_i);
    fill(X, nx, &rng);
    fill(Y, ny, &rng);
    nf_loss_spec ls = {c->loss, 0.3f};
    for (size_t bi = 0; bi < sizeof mlp_batches / sizeof mlp_batches[0]; bi++) {
        const int batch = mlp_batches[bi];
        double l_ref, l_fused;
        const int prev = nf_model_set_fused_max(0);
        ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, &l_ref), NF_OK);
        memcpy(g_ref, nf_model_grads(m), np * sizeof(float));
        nf_model_set_fused_max(prev);
        memset(nf_model_grads(m), 0xff, np * sizeof(float)); /* NaN: all must be rewritten */
        ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, &l_fused), NF_OK);
        double dg = max_rel_diff(nf_model_grads(m), g_ref, np);
        ck_assert_msg(dg < 2e-5, "case %d batch %d: grads differ by %.3g", _i, batch, dg);
        ck_assert_msg(tu_rel(l_fused, l_ref, 1e-12) < 1e-6, "case %d batch %d: loss %.9g vs %.9g", _i,
                      batch, l_fused, l_ref);
        /* the sums are over the whole batch: a gradient that moved is not the initial one */
        double mag = 0.0;
        for (size_t k = 0; k < np; k++) mag += fabs((double)g_ref[k]);
        ck_assert_msg(mag > 0.0, "case %d batch %d: zero gradient", _i, batch);
    }
    nf_free(X);
    nf_free(Y);
    nf_free(g_ref);
    nf_model_free(m);
}
END_TEST

/* The training loop's shuffled batch read in place (nf_model_grad_rows) gives the bits of
 * the same rows copied into a batch, for every fused-MLP case and the one-hidden-layer
 * kernel's shapes, with repeated rows and batches of one, partial and several blocks. */
static const mlp_case rows_cases[] = {
    {2, {2, 3, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE},
    {2, {5, 8, 1}, NF_ACT_TANH, NF_ACT_LINEAR, NF_LOSS_HUBER},
};

START_TEST(rows_in_place_match_copied)
{
    const int n_mlp = (int)(sizeof mlp_cases / sizeof mlp_cases[0]);
    const mlp_case *c = _i < n_mlp ? &mlp_cases[_i] : &rows_cases[_i - n_mlp];
    const int rows = 300, maxb = 600, L = c->n_layers, nin = c->sizes[0], nout = c->sizes[L];
    nf_model *m = mlp_make(c, 170 + (uint64_t)_i, maxb);
    const size_t np = nf_model_n_params(m);
    float *X, *Y, *Xg, *Yg, *g_ref;
    ck_assert_int_eq(nf_alloc_floats(&X, (size_t)rows * nin), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Y, (size_t)rows * nout), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Xg, (size_t)maxb * nin), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Yg, (size_t)maxb * nout), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&g_ref, np), NF_OK);
    int *idx = malloc((size_t)maxb * sizeof *idx);
    nf_rng rng;
    nf_rng_seed(&rng, 190 + (uint64_t)_i);
    fill(X, (size_t)rows * nin, &rng);
    fill(Y, (size_t)rows * nout, &rng);
    nf_loss_spec ls = {c->loss, 0.3f};
    const int sizes[] = {1, 7, 64, 65, 200, 600};
    for (size_t bi = 0; bi < sizeof sizes / sizeof sizes[0]; bi++) {
        const int b = sizes[bi];
        for (int i = 0; i < b; i++) idx[i] = (int)nf_rng_below(&rng, (uint64_t)rows);
        if (b > 1) idx[b - 1] = idx[0]; /* a row twice */
        for (int i = 0; i < b; i++) {
            memcpy(Xg + (size_t)i * nin, X + (size_t)idx[i] * nin, (size_t)nin * sizeof(float));
            memcpy(Yg + (size_t)i * nout, Y + (size_t)idx[i] * nout, (size_t)nout * sizeof(float));
        }
        ck_assert_msg(nf_model_reads_rows(m, b), "case %d: the fused step reads rows in place", _i);
        double l_ref, l_rows;
        ck_assert_int_eq(nf_model_grad(m, Xg, Yg, b, &ls, 0, &l_ref), NF_OK);
        memcpy(g_ref, nf_model_grads(m), np * sizeof(float));
        memset(nf_model_grads(m), 0xff, np * sizeof(float));
        ck_assert_int_eq(nf_model_grad_rows(m, X, Y, idx, b, &ls, 0, &l_rows), NF_OK);
        ck_assert_msg(memcmp(nf_model_grads(m), g_ref, np * sizeof(float)) == 0 && l_rows == l_ref,
                      "case %d batch %d: in place %.9g vs copied %.9g", _i, b, l_rows, l_ref);
    }
    /* a model whose step is not fused says so, and the in-place call refuses */
    const int prev = nf_model_set_fused_max(0);
    if (!nf_model_reads_rows(m, 7)) {
        double l;
        ck_assert_int_eq(nf_model_grad_rows(m, X, Y, idx, 7, &ls, 0, &l), NF_EINVAL);
    } else {
        ck_assert_msg(nf_model_small_ok(m), "case %d: only the one-hidden-layer kernel ignores the switch", _i);
    }
    nf_model_set_fused_max(prev);
    free(idx);
    nf_free(X);
    nf_free(Y);
    nf_free(Xg);
    nf_free(Yg);
    nf_free(g_ref);
    nf_model_free(m);
}
END_TEST

static uint64_t fnv_floats(uint64_t h, const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &a[i], sizeof u);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xffu;
            h *= 1099511628211ull;
        }
    }
    return h;
}

/* The fused kernels' bits for six nets (three through the MLP kernel, three through the
 * one-hidden-layer kernel; ReLU, linear and the vmath.h tanh: no libm), after 20 Adam-free
 * steps p −= 0.05·g, so that every step's gradient feeds the next: recorded once (the
 * one-hidden-layer nets' by the kernel before its ReLU path was written), reproduced
 * by every clone (AVX-512, AVX2, baseline), since the order of every operation is the
 * source's; and by 2 threads, since batches under two shards of 256 rows run serially. */
/* Row i of X through layer after layer in the order the fused passes document:
 * z_o = ((W[o,0]·x_0 + W[o,1]·x_1) + …) + b_o, then the activation of that one value. */
static void ref_forward(const nf_model *m, const float *x, float *y)
{
    float a[NF_MLP_MAX_WIDTH], z[NF_MLP_MAX_WIDTH];
    memcpy(a, x, (size_t)nf_model_n_in(m) * sizeof(float));
    for (int l = 0; l < nf_model_n_layers(m); l++) {
        const nf_dense *L = nf_model_layer(m, l);
        for (int o = 0; o < L->out; o++) {
            float v = L->W[o * L->in] * a[0];
            for (int k = 1; k < L->in; k++) v += L->W[o * L->in + k] * a[k];
            z[o] = v + L->b[o];
        }
        for (int o = 0; o < L->out; o++) {
            if (L->act.kind == NF_ACT_RELU)
                a[o] = z[o] > 0.0f ? z[o] : 0.0f;
            else if (L->act_p && nf_act_learnable(L->act.kind))
                nf_act_unit_forward(L->act.kind, z + o, NULL, L->act_p + o, 1, 1, a + o);
            else
                nf_act_forward(&L->act, z + o, a + o, 1);
        }
    }
    memcpy(y, a, (size_t)nf_model_n_out(m) * sizeof(float));
}

/* A fused net is evaluated and predicted with the training step's forward: the outputs are the
 * bits of the documented order (for batch capacities below, at and above a block, and row
 * counts that leave partial chunks), the loss is the chunked mean of those outputs, and the
 * per-layer sgemm path (nf_model_set_fused_max(0)) agrees to rounding. */
START_TEST(fused_eval_is_the_training_forward)
{
    const mlp_case *c = &mlp_cases[_i];
    static const int caps[] = {37, 64, 150};
    const int n = 301, L = c->n_layers, nin = c->sizes[0], nout = c->sizes[L];
    float *X, *Y, *P, *R, *Q;
    ck_assert_int_eq(nf_alloc_floats(&X, (size_t)n * nin), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Y, (size_t)n * nout), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&P, (size_t)n * nout), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&R, (size_t)n * nout), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Q, (size_t)n * nout), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 400 + (uint64_t)_i);
    fill(X, (size_t)n * nin, &rng);
    fill(Y, (size_t)n * nout, &rng);
    const nf_loss_spec ls = {c->loss, 0.3f};
    for (size_t ci = 0; ci < 2 * (sizeof caps / sizeof caps[0]); ci++) { /* every cap at both widths */
        const int cap = caps[ci / 2], width = 8 << (ci & 1), prev_w = nf_model_set_vec16(width == 16);
        nf_model *m = mlp_make(c, 500 + (uint64_t)_i, cap);
        ck_assert(nf_model_mlp_small_ok(m));
        for (int i = 0; i < n; i++) ref_forward(m, X + (size_t)i * nin, R + (size_t)i * nout);
        ck_assert_int_eq(nf_model_predict(m, X, n, P), NF_OK);
        for (int i = 0; i < n * nout; i++)
            ck_assert_msg(memcmp(P + i, R + i, sizeof(float)) == 0, "case %d cap %d width %d: output %d is %.9g, want %.9g",
                          _i, cap, width, i, P[i], R[i]);
        double want = 0.0, got;
        for (int r = 0; r < n; r += cap) {
            const size_t cnt = (size_t)(n - r < cap ? n - r : cap) * (size_t)nout;
            want += nf_loss_value(&ls, R + (size_t)r * nout, Y + (size_t)r * nout, cnt) * (double)cnt;
        }
        want /= (double)n * (double)nout;
        ck_assert_int_eq(nf_model_eval(m, X, Y, n, &ls, &got), NF_OK);
        ck_assert_msg(got == want, "case %d cap %d width %d: eval %.17g, want %.17g", _i, cap, width, got, want);
        const int prev = nf_model_set_fused_max(0);
        ck_assert_int_eq(nf_model_predict(m, X, n, Q), NF_OK);
        nf_model_set_fused_max(prev);
        ck_assert_msg(max_rel_diff(P, Q, (size_t)n * nout) < 1e-5, "case %d cap %d width %d: sgemm path differs by %.3g",
                      _i, cap, width, max_rel_diff(P, Q, (size_t)n * nout));
        nf_model_free(m);
        nf_model_set_vec16(prev_w);
    }
    nf_free(X);
    nf_free(Y);
    nf_free(P);
    nf_free(R);
    nf_free(Q);
}
END_TEST

START_TEST(fused_mlp_bits_are_recorded)
{
    static const struct {
        mlp_case c;
        int batch;
        uint64_t want;
    } rec[] = {
        {{2, {10, 10, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE}, 64, 0xdb90bbe7cc1d4891ull},
        {{2, {20, 20, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE}, 500, 0x52ab4a3fbe3f5241ull},
        {{3, {13, 31, 17, 5}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE}, 131, 0x4433ce502f3467b3ull},
        /* the one-hidden-layer kernel: its ReLU path with a block tail, and its general nin */
        {{2, {2, 3, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE}, 1000, 0x83b4ea08652e604full},
        {{2, {5, 9, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE}, 333, 0xd5a0f983105982d9ull},
        {{2, {3, 6, 1}, NF_ACT_TANH, NF_ACT_LINEAR, NF_LOSS_MSE}, 77, 0xa8035f12fc7fed76ull},
    };
    for (size_t k = 0; k < sizeof rec / sizeof rec[0]; k++) {
        for (int run = 0; run < 4; run++) { /* 1 and 2 threads, eight- and sixteen-float vectors */
            const int threads = 1 + (run & 1), prev_w = nf_model_set_vec16(run >> 1);
            nf_model *m = mlp_make(&rec[k].c, 3 + k, rec[k].batch);
            ck_assert_int_eq(nf_model_set_threads(m, threads), NF_OK);
            const int b = rec[k].batch, L = rec[k].c.n_layers;
            const size_t nx = (size_t)b * (size_t)rec[k].c.sizes[0], ny = (size_t)b * (size_t)rec[k].c.sizes[L];
            float *X, *Y;
            ck_assert_int_eq(nf_alloc_floats(&X, nx), NF_OK);
            ck_assert_int_eq(nf_alloc_floats(&Y, ny), NF_OK);
            nf_rng rng;
            nf_rng_seed(&rng, 123 + k);
            fill(X, nx, &rng);
            fill(Y, ny, &rng);
            nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
            uint64_t h = 1469598103934665603ull;
            const size_t np = nf_model_n_params(m);
            for (int step = 0; step < 20; step++) {
                double loss;
                ck_assert_int_eq(nf_model_grad(m, X, Y, b, &mse, 0, &loss), NF_OK);
                float *p = nf_model_params(m);
                const float *g = nf_model_grads(m);
                for (size_t i = 0; i < np; i++) p[i] -= 0.05f * g[i];
                h = fnv_floats(h, g, np);
                h = fnv_floats(h, &(float){(float)loss}, 1);
            }
            ck_assert_msg(h == rec[k].want, "net %zu, %d threads, width %d: hash 0x%016llx, recorded 0x%016llx",
                          k, threads, 8 << (run >> 1), (unsigned long long)h, (unsigned long long)rec[k].want);
            nf_free(X);
            nf_free(Y);
            nf_model_free(m);
            nf_model_set_vec16(prev_w);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_fastpath");
    TCase *tc = tcase_create("fastpath");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, small_path_matches_sgemm, 0, (int)(sizeof shapes / sizeof shapes[0]));
    tcase_add_test(tc, fused_mse_matches_plain);
    tcase_add_test(tc, model_nt_dx_matches_dense_chain);
    tcase_add_test(tc, sharded_grad_matches_serial);
    tcase_add_loop_test(tc, fused_mlp_matches_per_layer, 0, (int)(sizeof mlp_cases / sizeof mlp_cases[0]));
    tcase_add_test(tc, fused_mlp_bits_are_recorded);
    tcase_add_loop_test(tc, fused_eval_is_the_training_forward, 0, (int)(sizeof mlp_cases / sizeof mlp_cases[0]));
    tcase_add_loop_test(tc, rows_in_place_match_copied, 0,
                        (int)(sizeof mlp_cases / sizeof mlp_cases[0] + sizeof rows_cases / sizeof rows_cases[0]));
    suite_add_tcase(s, tc);
    return tu_run(s);
}
