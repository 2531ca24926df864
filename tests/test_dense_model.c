/* test_dense_model.c — the sgemm dense layer against a plain-loop reference, and model
 * gradients against central finite differences. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void fill(float *a, size_t n, nf_rng *r, double scale)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * nf_rng_range(r, -1.0, 1.0));
}

/* Plain loops in double: Z = X·Wᵀ + b, A = act(Z); dZ = dA·act'(Z); dW = dZᵀX; db = Σ dZ;
 * dX = dZ·W. */
static void ref_dense(const nf_dense *L, const float *X, int B, const float *dA, double *Z,
                      double *dW, double *db, double *dX, float *A_out, float *dZ_out)
{
    const int in = L->in, out = L->out;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < out; o++) {
            double s = L->b[o];
            for (int i = 0; i < in; i++) s += (double)X[r * in + i] * L->W[o * in + i];
            Z[r * out + o] = s;
            float zf = (float)s, af;
            nf_act_forward(&L->act, &zf, &af, 1);
            A_out[r * out + o] = af;
            float d = dA[r * out + o];
            nf_act_backward(&L->act, &zf, &af, &d, 1);
            dZ_out[r * out + o] = d;
        }
    for (int o = 0; o < out; o++) {
        db[o] = 0;
        for (int i = 0; i < in; i++) dW[o * in + i] = 0;
    }
    for (int r = 0; r < B; r++)
        for (int o = 0; o < out; o++) {
            double d = dZ_out[r * out + o];
            db[o] += d;
            for (int i = 0; i < in; i++) dW[o * in + i] += d * X[r * in + i];
        }
    for (int r = 0; r < B; r++)
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += (double)dZ_out[r * out + o] * L->W[o * in + i];
            dX[r * in + i] = s;
        }
}

static void check_dense_shape(int in, int out, int B, nf_act_kind kind)
{
    nf_rng rng;
    nf_rng_seed(&rng, (uint64_t)(in * 1000 + out * 10 + B));
    nf_dense L = {.in = in, .out = out, .act = {kind, nf_act_default_param(kind)}};
    size_t nw = (size_t)in * out;
    float *W = malloc(nw * 4), *b = malloc((size_t)out * 4), *dW = malloc(nw * 4), *db = malloc((size_t)out * 4);
    float *X = malloc((size_t)B * in * 4), *Z = malloc((size_t)B * out * 4), *A = malloc((size_t)B * out * 4);
    float *dA = malloc((size_t)B * out * 4), *dX = malloc((size_t)B * in * 4);
    float *Aref = malloc((size_t)B * out * 4), *dZref = malloc((size_t)B * out * 4);
    double *Zr = malloc((size_t)B * out * 8), *dWr = malloc(nw * 8), *dbr = malloc((size_t)out * 8);
    double *dXr = malloc((size_t)B * in * 8);
    L.W = W; L.b = b; L.dW = dW; L.db = db;
    fill(W, nw, &rng, 1.0);
    fill(b, (size_t)out, &rng, 0.5);
    fill(X, (size_t)B * in, &rng, 1.0);
    fill(dA, (size_t)B * out, &rng, 1.0);
    ref_dense(&L, X, B, dA, Zr, dWr, dbr, dXr, Aref, dZref);
    ck_assert_int_eq(nf_dense_forward(&L, X, B, Z, A), NF_OK);
    /* float sums of `in` terms: tolerance grows with the reduction length */
    double tz = 1e-5 * (1 + in), tw = 1e-5 * (1 + B), tx = 1e-5 * (1 + out);
    for (int i = 0; i < B * out; i++) {
        ck_assert_msg(fabs(Z[i] - Zr[i]) <= tz, "Z[%d] %g vs %g (%d->%d, B %d)", i, Z[i], Zr[i], in, out, B);
        ck_assert_msg(fabs(A[i] - Aref[i]) <= tz * 2, "A[%d] %g vs %g", i, A[i], Aref[i]);
    }
    ck_assert_int_eq(nf_dense_backward(&L, X, nf_act_needs_z(kind) ? Z : NULL, A, dA, B, 0, dX), NF_OK);
    for (int i = 0; i < B * out; i++) ck_assert_msg(fabs(dA[i] - dZref[i]) <= 1e-4, "dZ[%d]", i);
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(fabs(dW[i] - dWr[i]) <= tw, "dW[%zu] %g vs %g (%d->%d, B %d)", i, dW[i], dWr[i], in, out, B);
    for (int o = 0; o < out; o++) ck_assert_msg(fabs(db[o] - dbr[o]) <= tw, "db[%d] %g vs %g", o, db[o], dbr[o]);
    for (int i = 0; i < B * in; i++) ck_assert_msg(fabs(dX[i] - dXr[i]) <= tx, "dX[%d] %g vs %g", i, dX[i], dXr[i]);
    /* accumulate = 1 adds to what is there */
    memcpy(dA, dZref, (size_t)B * out * 4);
    for (int i = 0; i < B * out; i++) dA[i] = dZref[i];
    free(W); free(b); free(dW); free(db); free(X); free(Z); free(A); free(dA); free(dX);
    free(Aref); free(dZref); free(Zr); free(dWr); free(dbr); free(dXr);
}

START_TEST(dense_matches_plain_loops_on_odd_shapes)
{
    static const int shapes[][3] = {{1, 1, 1}, {1, 1, 4097}, {2, 3, 1}, {2, 3, 4097}, {7, 5, 1},
                                    {7, 5, 4097}, {5, 7, 33}, {64, 3, 17}};
    const nf_act_kind kinds[] = {NF_ACT_LINEAR, NF_ACT_RELU, NF_ACT_TANH, NF_ACT_LEAKY_RELU, NF_ACT_GELU};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            check_dense_shape(shapes[s][0], shapes[s][1], shapes[s][2], kinds[k]);
}
END_TEST

START_TEST(dense_backward_accumulates)
{
    nf_rng rng;
    nf_rng_seed(&rng, 5);
    float W[6], b[2], dW[6], db[2], X[9], Z[6], dA[6], dA2[6];
    nf_dense L = {.in = 3, .out = 2, .act = {NF_ACT_LINEAR, 0}, .W = W, .b = b, .dW = dW, .db = db};
    fill(W, 6, &rng, 1); fill(b, 2, &rng, 1); fill(X, 9, &rng, 1); fill(dA, 6, &rng, 1);
    memcpy(dA2, dA, sizeof dA);
    nf_dense_forward(&L, X, 3, Z, Z);
    nf_dense_backward(&L, X, NULL, Z, dA, 3, 0, NULL);
    float once[6], donce[2];
    memcpy(once, dW, sizeof dW);
    memcpy(donce, db, sizeof db);
    nf_dense_backward(&L, X, NULL, Z, dA2, 3, 1, NULL);
    for (int i = 0; i < 6; i++) ck_assert_close(dW[i], 2 * once[i], 1e-6);
    for (int i = 0; i < 2; i++) ck_assert_close(db[i], 2 * donce[i], 1e-6);
}
END_TEST

/* Whole-model gradient against central differences of the loss, every parameter. */
static void check_model_grad(const int *sizes, int n_layers, nf_act_kind hidden, nf_loss_kind lk)
{
    nf_act_spec h = {hidden, nf_act_default_param(hidden)}, o = {NF_ACT_LINEAR, 0};
    nf_model *m;
    ck_assert_int_eq(nf_model_create_mlp(&m, n_layers, sizes, &h, &o), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 42);
    nf_init_spec is = {NF_INIT_TORCH_DEFAULT, NF_BIAS_DEFAULT, 0};
    ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
    /* per-unit activation parameters, spread out so that a unit mix-up shows */
    size_t n_act = 0;
    for (int l = 0; l < n_layers; l++) {
        const nf_dense *L = nf_model_layer(m, l);
        ck_assert_int_eq(L->act_p != NULL, nf_act_learnable(L->act.kind));
        for (int j = 0; L->act_p && j < L->out; j++) {
            ck_assert(L->act_p[j] == L->act.param); /* the initialiser set them */
            L->act_p[j] = (float)(L->act.param * (0.4 + 0.45 * j)) - (hidden == NF_ACT_PRELU ? 0.2f : 0.0f);
            n_act++;
        }
    }
    const int B = 6, nin = sizes[0], nout = sizes[n_layers];
    float X[6 * 16], Y[6 * 16];
    fill(X, (size_t)B * nin, &rng, 1.5);
    fill(Y, (size_t)B * nout, &rng, 1.0);
    ck_assert_int_eq(nf_model_reserve(m, B), NF_OK);
    nf_loss_spec ls = {lk, 0.5f};
    double loss;
    ck_assert_int_eq(nf_model_grad(m, X, Y, B, &ls, 0, &loss), NF_OK);
    float *p = nf_model_params(m);
    const size_t np = nf_model_n_params(m);
    float *g = malloc(np * 4);
    memcpy(g, nf_model_grads(m), np * 4);
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        float p0 = p[i];
        double fd = 0, err = INFINITY;
        /* A step that straddles a ReLU kink gives a wrong difference; a smaller step then
         * straddles it with far lower probability. */
        for (float hstep = 1e-2f; hstep >= 1e-4f && err >= 2e-2; hstep *= 0.1f) {
            double up, dn;
            p[i] = p0 + hstep;
            nf_model_eval(m, X, Y, B, &ls, &up);
            p[i] = p0 - hstep;
            nf_model_eval(m, X, Y, B, &ls, &dn);
            p[i] = p0;
            fd = (up - dn) / (2.0 * (double)hstep);
            err = fabs(fd - g[i]) / (1e-2 + fabs(fd));
        }
        if (err > worst) worst = err;
        ck_assert_msg(err < 2e-2, "%s/%s param %zu: analytic %.6g fd %.6g", nf_act_name(hidden),
                      nf_loss_name(lk), i, g[i], fd);
    }
    /* the activation parameters took part: some have a gradient */
    size_t moved = 0;
    for (int k = 0; k < nf_model_n_tensors(m); k++) {
        const nf_tensor_info t = nf_model_tensor(m, k);
        for (int j = 0; t.kind == NF_TENSOR_ACT && j < t.rows; j++) moved += g[t.offset + (size_t)j] != 0.0f;
    }
    if (n_act) ck_assert_msg(moved > n_act / 3, "%s: %zu of %zu activation parameters have a gradient",
                             nf_act_name(hidden), moved, n_act);
    free(g);
    nf_model_free(m);
}

START_TEST(model_gradient_matches_finite_differences)
{
    const int sizes[] = {3, 5, 4, 2};
    /* smooth activations: the check is tight; relu-family: kinks are measure zero */
    for (int k = 0; k < NF_ACT_COUNT; k++) check_model_grad(sizes, 3, (nf_act_kind)k, NF_LOSS_MSE);
    for (int l = 0; l < NF_LOSS_COUNT; l++) check_model_grad(sizes, 3, NF_ACT_TANH, (nf_loss_kind)l);
    const int one[] = {4, 3};
    check_model_grad(one, 1, NF_ACT_TANH, NF_LOSS_MSE);
    /* shapes of the fused small-net kernel and of the small-shape loops: learnable
     * activations take the general path there */
    const int tiny[] = {2, 3, 1}, small[] = {2, 4, 3, 1};
    for (int k = NF_ACT_PRELU; k <= NF_ACT_ELU_LEARN; k++) {
        check_model_grad(tiny, 2, (nf_act_kind)k, NF_LOSS_MSE);
        check_model_grad(small, 3, (nf_act_kind)k, NF_LOSS_HUBER);
    }
}
END_TEST

START_TEST(eval_and_predict_chunk_over_batches)
{
    const int sizes[] = {2, 4, 1};
    nf_act_spec h = {NF_ACT_TANH, 0}, o = {NF_ACT_LINEAR, 0};
    nf_model *m;
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &h, &o), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 1);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
    nf_init_model(m, &is, &rng);
    float X[2 * 10], Y[10], P1[10], P2[10];
    fill(X, 20, &rng, 1);
    fill(Y, 10, &rng, 1);
    nf_loss_spec ls = {NF_LOSS_MSE, 1};
    double l1, l2;
    ck_assert_int_eq(nf_model_reserve(m, 10), NF_OK);
    nf_model_predict(m, X, 10, P1);
    nf_model_eval(m, X, Y, 10, &ls, &l1);
    ck_assert_int_eq(nf_model_reserve(m, 3), NF_OK); /* 3 + 3 + 3 + 1 */
    nf_model_predict(m, X, 10, P2);
    nf_model_eval(m, X, Y, 10, &ls, &l2);
    for (int i = 0; i < 10; i++) ck_assert_close(P1[i], P2[i], 1e-6);
    ck_assert_close(l1, l2, 1e-9);
    double manual = 0;
    for (int i = 0; i < 10; i++) manual += ((double)P1[i] - Y[i]) * ((double)P1[i] - Y[i]);
    ck_assert_close(l1, manual / 10, 1e-9);
    ck_assert_int_eq(nf_model_forward(m, X, 4), NF_EINVAL); /* beyond reserved batch */
    nf_model_free(m);
}
END_TEST

START_TEST(model_rejects_bad_shapes)
{
    nf_model *m = NULL;
    nf_act_spec r = {NF_ACT_RELU, 0};
    const int zero[] = {2, 0, 1};
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, zero, &r, &r), NF_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(nf_model_create_mlp(&m, 0, zero, &r, &r), NF_EINVAL);
    int sizes[8], n;
    ck_assert_int_eq(nf_parse_sizes("2,3,1", sizes, 8, &n), NF_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(sizes[1], 3);
    ck_assert_int_eq(nf_parse_sizes("2,,1", sizes, 8, &n), NF_EINVAL);
    ck_assert_int_eq(nf_parse_sizes("2,-3,1", sizes, 8, &n), NF_EINVAL);
    ck_assert_int_eq(nf_parse_sizes("5", sizes, 8, &n), NF_EINVAL);
    ck_assert_int_eq(nf_parse_sizes("2,3,", sizes, 8, &n), NF_EINVAL);
    /* more than the machine holds: refused up front with a message, not killed by the OOM killer */
    const int huge[] = {4096, 1 << 24, 4096};
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, huge, &r, &r), NF_ENOMEM);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "memory"));
    float *p;
    ck_assert_int_eq(nf_alloc_floats(&p, SIZE_MAX / 8), NF_ENOMEM);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(init_statistics)
{
    /* Uniform limits and normal standard deviations over a 400×300 layer. */
    const int in = 300, out = 400;
    float *W = malloc((size_t)in * out * 4), b[400];
    nf_rng rng;
    nf_rng_seed(&rng, 3);
    struct { nf_init_kind k; double var; double limit; } cases[] = {
        {NF_INIT_GLOROT_UNIFORM, 2.0 / (in + out), sqrt(6.0 / (in + out))},
        {NF_INIT_GLOROT_NORMAL, 2.0 / (in + out), 2 * sqrt(2.0 / (in + out)) / 0.87962566103423978},
        {NF_INIT_HE_UNIFORM, 2.0 / in, sqrt(6.0 / in)},
        {NF_INIT_HE_NORMAL, 2.0 / in, 2 * sqrt(2.0 / in) / 0.87962566103423978},
        {NF_INIT_LECUN_UNIFORM, 1.0 / in, sqrt(3.0 / in)},
        {NF_INIT_LECUN_NORMAL, 1.0 / in, 2 * sqrt(1.0 / in) / 0.87962566103423978},
        {NF_INIT_TORCH_DEFAULT, 1.0 / (3.0 * in), 1.0 / sqrt(in)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nf_init_layer(cases[c].k, NF_BIAS_DEFAULT, 0, in, out, W, b, &rng);
        double s = 0, ss = 0, mx = 0;
        for (int i = 0; i < in * out; i++) {
            s += W[i];
            ss += (double)W[i] * W[i];
            if (fabs(W[i]) > mx) mx = fabs(W[i]);
        }
        double mean = s / (in * out), var = ss / (in * out) - mean * mean;
        ck_assert_msg(fabs(var / cases[c].var - 1) < 0.02, "%s variance %g expected %g",
                      nf_init_name(cases[c].k), var, cases[c].var);
        ck_assert_msg(mx <= cases[c].limit * (1 + 1e-6), "%s max %g > %g", nf_init_name(cases[c].k), mx, cases[c].limit);
        ck_assert_msg(mx > cases[c].limit * 0.95, "%s max %g far below limit %g", nf_init_name(cases[c].k), mx, cases[c].limit);
        double bmax = 0;
        for (int j = 0; j < out; j++) bmax = fabs(b[j]) > bmax ? fabs(b[j]) : bmax;
        if (cases[c].k == NF_INIT_TORCH_DEFAULT) ck_assert(bmax > 0.5 / sqrt(in) && bmax <= 1 / sqrt(in));
        else ck_assert_close(bmax, 0, 0);
    }
    nf_init_layer(NF_INIT_HE_UNIFORM, NF_BIAS_CONST, 0.1f, in, out, W, b, &rng);
    for (int j = 0; j < out; j++) ck_assert_close(b[j], 0.1f, 0);
    free(W);
}
END_TEST

START_TEST(train_detects_divergence_and_keeps_finite_params)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_FIR, &tc);
    tc.n_samples = 256;
    tc.frame = 16;
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&tc, &X, &Y), NF_OK);
    const int sizes[] = {16, 16};
    nf_model *m = tu_mlp(1, sizes, NF_ACT_LINEAR, NF_INIT_GLOROT_UNIFORM, 0);
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    nf_opt_defaults(NF_OPT_SGD, &cfg.opt);
    cfg.opt.lr = 1e4; /* far above 2/λmax: blows up within a few epochs */
    cfg.epochs = 200;
    nf_history h;
    ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_EDIVERGED);
    ck_assert_int_gt(h.diverged_epoch, 0);
    ck_assert_int_lt(h.diverged_epoch, 200);
    ck_assert_int_eq(h.epochs_run, h.diverged_epoch - 1);
    ck_assert_uint_eq(nf_find_nonfinite(nf_model_params(m), nf_model_n_params(m)), nf_model_n_params(m));
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "epoch"));
    nf_history_free(&h);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

START_TEST(train_is_deterministic)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = 512;
    nf_mat X, Y;
    nf_task_generate(&tc, &X, &Y);
    double final[2];
    float p0[2];
    for (int run = 0; run < 2; run++) {
        const int sizes[] = {2, 8, 1};
        nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_HE_UNIFORM, 7);
        nf_train_config cfg;
        nf_train_defaults(&cfg);
        cfg.epochs = 5;
        cfg.seed = 99;
        nf_history h;
        ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_OK);
        ck_assert_int_eq(h.steps, 5 * 16);
        final[run] = h.final_loss;
        p0[run] = nf_model_params(m)[0];
        nf_history_free(&h);
        nf_model_free(m);
    }
    ck_assert(final[0] == final[1]);
    ck_assert(p0[0] == p0[1]);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* The loop nf_train documents (train.h), written out: one nf_rng seeded with `seed`; before
 * every epoch the row order is shuffled afresh (Fisher–Yates of the previous order, i from n−1
 * down, j = nf_rng_below(i + 1)) when shuffle is on; batches of `batch` rows in that order, each
 * loss measured before its update; a non-finite batch loss ends training in that epoch with the
 * epoch's start parameters.  Records the epoch losses, the diverging epoch and the batch in it
 * (0 if none).  `fresh` 0 shuffles only before the first epoch (the bug this guards against). */
typedef struct {
    double loss[64];
    int epochs_run, diverged_epoch, diverged_batch;
} ref_run;

static void ref_train(nf_model *m, const nf_mat *X, const nf_mat *Y, const nf_train_config *c,
                      int fresh, ref_run *out)
{
    const int n = X->rows, nin = X->cols, nout = Y->cols;
    memset(out, 0, sizeof *out);
    ck_assert_int_le(c->epochs, 64);
    ck_assert_int_eq(nf_model_reserve(m, c->batch), NF_OK);
    nf_optim *opt;
    ck_assert_int_eq(nf_optim_create(&opt, &c->opt, m->n_params), NF_OK);
    int *perm = malloc((size_t)n * sizeof *perm);
    float *xb = malloc((size_t)c->batch * (size_t)nin * sizeof *xb);
    float *yb = malloc((size_t)c->batch * (size_t)nout * sizeof *yb);
    float *start = malloc(m->n_params * sizeof *start);
    for (int i = 0; i < n; i++) perm[i] = i;
    nf_rng rng;
    nf_rng_seed(&rng, c->seed);
    for (int e = 1; e <= c->epochs; e++) {
        memcpy(start, m->params, m->n_params * sizeof *start);
        if (c->shuffle && (fresh || e == 1))
            for (int i = n - 1; i > 0; i--) {
                int j = (int)nf_rng_below(&rng, (uint64_t)i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        double sum = 0.0;
        for (int r = 0, k = 0; r < n; r += c->batch, k++) {
            const int b = n - r < c->batch ? n - r : c->batch;
            for (int q = 0; q < b; q++) {
                memcpy(xb + q * nin, X->data + (size_t)perm[r + q] * nin, (size_t)nin * sizeof *xb);
                memcpy(yb + q * nout, Y->data + (size_t)perm[r + q] * nout, (size_t)nout * sizeof *yb);
            }
            double l;
            ck_assert_int_eq(nf_model_grad(m, xb, yb, b, &c->loss, 0, &l), NF_OK);
            if (!isfinite(l)) {
                out->diverged_epoch = e;
                out->diverged_batch = k;
                memcpy(m->params, start, m->n_params * sizeof *start);
                goto done;
            }
            sum += l * b;
            nf_optim_step(opt, m->params, m->grads);
        }
        out->loss[e - 1] = sum / n;
        out->epochs_run = e;
    }
done:
    free(perm);
    free(xb);
    free(yb);
    free(start);
    nf_optim_free(opt);
}

/* y = 2x0 − x1 + noise on n rows, noise large enough that plain SGD with batch 1 ends somewhere
 * that depends on the order of the rows. */
static void order_data(int n, nf_mat *X, nf_mat *Y)
{
    ck_assert_int_eq(nf_mat_alloc(X, n, 2), NF_OK);
    ck_assert_int_eq(nf_mat_alloc(Y, n, 1), NF_OK);
    nf_rng r;
    nf_rng_seed(&r, 5);
    for (int i = 0; i < n; i++) {
        X->data[2 * i] = (float)nf_rng_normal(&r);
        X->data[2 * i + 1] = (float)nf_rng_normal(&r);
        Y->data[i] = 2.0f * X->data[2 * i] - X->data[2 * i + 1] + (float)nf_rng_normal(&r);
    }
}

static double max_param_diff(const nf_model *a, const nf_model *b)
{
    double d = 0.0;
    for (size_t i = 0; i < a->n_params; i++) d = fmax(d, fabs((double)a->params[i] - b->params[i]));
    return d;
}

/* With shuffle, every epoch visits the rows in a fresh permutation from the seed's stream, and
 * the epoch loss is the batch losses weighted by batch size (13 rows in batches of 4: the last
 * has one row).  nf_train equals the written-out loop to the bit. */
START_TEST(train_reshuffles_every_epoch)
{
    nf_mat X, Y;
    order_data(13, &X, &Y);
    const int sizes[] = {2, 1};
    nf_model *m = tu_mlp(1, sizes, NF_ACT_LINEAR, NF_INIT_GLOROT_UNIFORM, 3), *ref, *once;
    ck_assert_int_eq(nf_model_clone(&ref, m), NF_OK);
    ck_assert_int_eq(nf_model_clone(&once, m), NF_OK);
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    nf_opt_defaults(NF_OPT_SGD, &cfg.opt);
    cfg.opt.lr = 0.05;
    cfg.batch = 4;
    cfg.epochs = 6;
    cfg.seed = 11;
    nf_history h;
    ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_OK);
    ref_run rr, ro;
    ref_train(ref, &X, &Y, &cfg, 1, &rr);
    ref_train(once, &X, &Y, &cfg, 0, &ro);
    ck_assert_int_eq(h.epochs_run, 6);
    for (int e = 0; e < 6; e++)
        ck_assert_msg(h.loss[e] == rr.loss[e], "epoch %d loss %.17g, the documented loop gives %.17g",
                      e + 1, h.loss[e], rr.loss[e]);
    ck_assert_msg(max_param_diff(m, ref) == 0.0, "parameters differ from the documented loop by %.3g",
                  max_param_diff(m, ref));
    /* the data is order-sensitive: one shuffle for all epochs ends elsewhere */
    ck_assert_msg(max_param_diff(once, ref) > 1e-4, "order does not matter here (%.3g): the test "
                  "cannot see a missing reshuffle", max_param_diff(once, ref));
    nf_history_free(&h);
    nf_model_free(m);
    nf_model_free(ref);
    nf_model_free(once);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* A loss that overflows in the middle of an epoch ends training in that epoch: NF_EDIVERGED,
 * diverged_epoch that epoch, the epochs before it recorded, and the parameters it started
 * from restored (train.h). */
START_TEST(train_divergence_stops_in_its_epoch)
{
    nf_mat X, Y;
    order_data(16, &X, &Y);
    const int sizes[] = {2, 1};
    nf_model *m = tu_mlp(1, sizes, NF_ACT_LINEAR, NF_INIT_GLOROT_UNIFORM, 3), *ref;
    ck_assert_int_eq(nf_model_clone(&ref, m), NF_OK);
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    nf_opt_defaults(NF_OPT_SGD, &cfg.opt);
    cfg.opt.lr = 30.0; /* every step multiplies the error by ~ lr·|x|²: overflow after ~20 steps */
    cfg.batch = 4;
    cfg.epochs = 40;
    cfg.seed = 2;
    ref_run rr;
    ref_train(ref, &X, &Y, &cfg, 1, &rr);
    ck_assert_msg(rr.diverged_epoch > 1 && rr.diverged_batch > 0,
                  "the setup must overflow after the first batch of a later epoch (epoch %d, batch %d)",
                  rr.diverged_epoch, rr.diverged_batch);
    ck_assert_uint_eq(nf_find_nonfinite(ref->params, ref->n_params), ref->n_params);
    nf_history h;
    ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_EDIVERGED);
    ck_assert_int_eq(h.diverged_epoch, rr.diverged_epoch);
    ck_assert_int_eq(h.epochs_run, rr.diverged_epoch - 1);
    int best = 0;
    for (int e = 0; e < h.epochs_run; e++) {
        ck_assert(h.loss[e] == rr.loss[e]);
        if (rr.loss[e] < rr.loss[best]) best = e;
    }
    ck_assert_msg(best + 1 < h.epochs_run, "the loss should grow towards the divergence");
    ck_assert_int_eq(h.best_epoch, best + 1); /* the lowest epoch loss, not the last */
    ck_assert(h.best_loss == rr.loss[best]);
    ck_assert_msg(max_param_diff(m, ref) == 0.0, "restored parameters differ from epoch %d's start "
                  "by %.3g", rr.diverged_epoch, max_param_diff(m, ref));
    ck_assert(isfinite(h.final_loss));
    nf_history_free(&h);
    nf_model_free(m);
    nf_model_free(ref);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dense_model");
    TCase *tc = tcase_create("dense");
    tcase_add_test(tc, dense_matches_plain_loops_on_odd_shapes);
    tcase_add_test(tc, dense_backward_accumulates);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("model");
    tcase_add_test(tm, model_gradient_matches_finite_differences);
    tcase_add_test(tm, eval_and_predict_chunk_over_batches);
    tcase_add_test(tm, model_rejects_bad_shapes);
    tcase_add_test(tm, init_statistics);
    tcase_add_test(tm, train_detects_divergence_and_keeps_finite_params);
    tcase_add_test(tm, train_is_deterministic);
    tcase_add_test(tm, train_reshuffles_every_epoch);
    tcase_add_test(tm, train_divergence_stops_in_its_epoch);
    suite_add_tcase(s, tm);
    return tu_run(s);
}
