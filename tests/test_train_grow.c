/* test_train_grow.c — grow and prune: a grown model computes the narrow model's function,
 * least-squares pruning against brute-force least squares, duplicates and dead units go first,
 * mirror candidates recover a unit that sits on the wrong side of its kink, compaction, the
 * output refit against nf_lstsq, and the whole cycle inside nf_train. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "../src/train_aids_internal.h"

static void gaussian_rows(nf_mat *X, int n, int in, uint64_t seed)
{
    ck_assert_int_eq(nf_mat_alloc(X, n, in), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    for (size_t i = 0; i < nf_mat_size(X); i++) X->data[i] = (float)nf_rng_normal(&rng);
}

/* max |f(X) − g(X)| over the rows */
static double max_output_diff(nf_model *f, nf_model *g, const nf_mat *X)
{
    const int nout = nf_model_n_out(f);
    float *a = malloc((size_t)X->rows * nout * sizeof(float)), *b = malloc((size_t)X->rows * nout * sizeof(float));
    ck_assert_int_eq(nf_model_predict(f, X->data, X->rows, a), NF_OK);
    ck_assert_int_eq(nf_model_predict(g, X->data, X->rows, b), NF_OK);
    double mx = 0.0;
    for (size_t i = 0; i < (size_t)X->rows * nout; i++) mx = fmax(mx, fabs((double)a[i] - b[i]));
    free(a);
    free(b);
    return mx;
}

START_TEST(grown_model_computes_the_same_function)
{
    nf_mat X;
    gaussian_rows(&X, 500, 3, 1);
    const int s1[] = {3, 4, 2}, s2[] = {3, 4, 5, 2};
    const int *sizes[] = {s1, s2};
    const int nl[] = {2, 3};
    for (int c = 0; c < 2; c++)
        for (int kink = 0; kink < 3; kink++) {
            /* kink 2: prelu, whose per-unit slopes must come along */
            nf_model *m = tu_mlp(nl[c], sizes[c], kink == 2 ? NF_ACT_PRELU : NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 7);
            for (int j = 0; j < 4; j++) m->layers[0].b[j] = 0.1f * (float)(j - 1);
            if (kink == 2)
                for (int j = 0; j < 4; j++) m->layers[0].act_p[j] = 0.1f + 0.2f * (float)j;
            nf_init_spec spec = {kink == 1 ? NF_INIT_DATA_KINK : NF_INIT_HE_UNIFORM, NF_BIAS_CONST, 0.2f};
            nf_rng rng;
            nf_rng_seed(&rng, 5);
            nf_model *w;
            ck_assert_int_eq(nf_grow_model(m, 1.6, &spec, NULL, X.data, X.rows, &rng, &w), NF_OK);
            ck_assert_int_eq(w->n_layers, m->n_layers);
            for (int l = 0; l <= m->n_layers; l++)
                ck_assert_int_eq(w->sizes[l], l == 0 || l == m->n_layers ? m->sizes[l] : nf_grow_width(m->sizes[l], 1.6));
            ck_assert_int_eq(w->sizes[1], 7); /* ⌈1.6·4⌉ */
            ck_assert_int_eq(nf_model_reserve(m, 128), NF_OK);
            ck_assert_int_eq(nf_model_reserve(w, 128), NF_OK);
            ck_assert_msg(max_output_diff(m, w, &X) < 1e-5, "grown %d-layer model computes another function", nl[c]);
            /* spare units: non-zero incoming weights (they can learn), zero outgoing weights into
             * the original units of the next layer (spare units of the next layer may read them) */
            const nf_dense *L0 = &w->layers[0], *L1 = &w->layers[1];
            for (int j = 4; j < L0->out; j++) {
                double nrm = 0.0;
                for (int i = 0; i < 3; i++) nrm += (double)L0->W[j * 3 + i] * L0->W[j * 3 + i];
                ck_assert(nrm > 1e-6);
                for (int o = 0; o < m->layers[1].out; o++) ck_assert(L1->W[o * L1->in + j] == 0.0f);
                if (kink != 1) ck_assert(L0->b[j] == 0.2f);
            }
            for (int j = 0; j < 4; j++) ck_assert(L0->W[j * 3] == m->layers[0].W[j * 3] && L0->b[j] == m->layers[0].b[j]);
            /* shrinking back to the original units gives m's parameters, slopes included */
            unsigned char alive[64];
            memset(alive, 0, sizeof alive);
            for (int l = 0, base = 0; l + 1 < m->n_layers; l++) {
                for (int j = 0; j < m->sizes[l + 1]; j++) alive[base + j] = 1;
                base += w->sizes[l + 1];
            }
            nf_model *back;
            ck_assert_int_eq(nf_model_clone(&back, m), NF_OK);
            memset(back->params, 0, back->n_params * sizeof(float));
            ck_assert_int_eq(nf_shrink_model(w, alive, back), NF_OK);
            ck_assert(!memcmp(back->params, m->params, m->n_params * sizeof(float)));
            nf_model_free(back);
            nf_model_free(w);
            nf_model_free(m);
        }
    ck_assert_int_eq(nf_grow_width(3, 2.0), 6);
    ck_assert_int_eq(nf_grow_width(97, 1.5), 146);
    ck_assert_int_eq(nf_grow_width(5, 1.0), 5);
    nf_mat_free(&X);
}
END_TEST

/* Squared error of the least-squares fit of T [n, t] by the columns of A [n, k] and a constant. */
static double lstsq_residual(const float *A, int n, int k, const double *T, int t)
{
    nf_mat Am, Tm, W;
    ck_assert_int_eq(nf_mat_alloc(&Am, n, k), NF_OK);
    ck_assert_int_eq(nf_mat_alloc(&Tm, n, t), NF_OK);
    memcpy(Am.data, A, (size_t)n * k * sizeof(float));
    for (size_t i = 0; i < (size_t)n * t; i++) Tm.data[i] = (float)T[i];
    float *b = malloc((size_t)t * sizeof(float));
    ck_assert_int_eq(nf_lstsq(&Am, &Tm, &W, b), NF_OK);
    double e = 0.0;
    for (int r = 0; r < n; r++)
        for (int o = 0; o < t; o++) {
            double p = b[o];
            for (int c = 0; c < k; c++) p += (double)W.data[o * k + c] * Am.data[r * k + c];
            e += (p - T[r * t + o]) * (p - T[r * t + o]);
        }
    nf_mat_free(&Am);
    nf_mat_free(&Tm);
    nf_mat_free(&W);
    free(b);
    return e;
}

/* Hidden activations A [n, h] and the output pre-activations T [n, t] of a 1-hidden-layer net. */
static void hidden_and_output(nf_model *m, const nf_mat *X, float *A, double *T)
{
    const nf_dense *L = &m->layers[0], *O = &m->layers[1];
    for (int r = 0; r < X->rows; r++) {
        for (int j = 0; j < L->out; j++) {
            double z = L->b[j];
            for (int i = 0; i < L->in; i++) z += (double)L->W[j * L->in + i] * X->data[r * L->in + i];
            A[r * L->out + j] = z > 0 ? (float)z : 0.0f;
        }
        for (int o = 0; o < O->out; o++) {
            double z = O->b[o];
            for (int j = 0; j < O->in; j++) z += (double)O->W[o * O->in + j] * A[r * L->out + j];
            T[r * O->out + o] = z;
        }
    }
}

START_TEST(prune_removes_the_unit_least_squares_can_best_spare)
{
    nf_mat X;
    gaussian_rows(&X, 400, 3, 2);
    const int sizes[] = {3, 6, 2};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 11);
    for (int j = 0; j < 6; j++) m->layers[0].b[j] = 0.2f * (float)(j - 2);
    ck_assert_int_eq(nf_model_reserve(m, 64), NF_OK);
    float *A = malloc((size_t)400 * 6 * sizeof(float)), *Am = malloc((size_t)400 * 5 * sizeof(float));
    double *T = malloc((size_t)400 * 2 * sizeof(double));
    hidden_and_output(m, &X, A, T);
    /* brute force: drop each unit, refit the output layer to T by least squares */
    double best = INFINITY;
    int best_j = -1;
    for (int j = 0; j < 6; j++) {
        for (int r = 0; r < 400; r++)
            for (int c = 0, k = 0; c < 6; c++)
                if (c != j) Am[r * 5 + k++] = A[r * 6 + c];
        double e = lstsq_residual(Am, 400, 5, T, 2);
        if (e < best) {
            best = e;
            best_j = j;
        }
    }
    unsigned char alive[6] = {1, 1, 1, 1, 1, 1};
    int count = 0;
    ck_assert_int_eq(nf_prune_layer(m, 0, X.data, X.rows, alive, 5, &(nf_prune_opts){0, 0}, NULL, &count), NF_OK);
    ck_assert_int_eq(count, 1);
    for (int j = 0; j < 6; j++) ck_assert_int_eq(alive[j], j != best_j);
    for (int i = 0; i < 3; i++) ck_assert(m->layers[0].W[best_j * 3 + i] == 0.0f);
    ck_assert(m->layers[0].b[best_j] == 0.0f && m->layers[1].W[best_j] == 0.0f && m->layers[1].W[6 + best_j] == 0.0f);
    /* the new output layer is that least-squares fit: its error on T is the brute-force one */
    float *A2 = malloc((size_t)400 * 6 * sizeof(float));
    double *T2 = malloc((size_t)400 * 2 * sizeof(double));
    hidden_and_output(m, &X, A2, T2);
    double e = 0.0;
    for (int i = 0; i < 800; i++) e += (T2[i] - T[i]) * (T2[i] - T[i]);
    ck_assert_msg(fabs(e - best) <= 1e-4 * best + 1e-6, "pruned fit error %g, least squares %g", e, best);
    free(A);
    free(Am);
    free(A2);
    free(T);
    free(T2);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

START_TEST(prune_takes_dead_units_and_duplicates_first)
{
    nf_mat X;
    gaussian_rows(&X, 600, 2, 3);
    const int sizes[] = {2, 5, 1};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 4);
    nf_dense *L0 = &m->layers[0], *L1 = &m->layers[1];
    const float w[5][3] = {{1, 0, 0.1f}, {0, 1, -0.2f}, {-0.6f, 0.8f, 0.3f}, {2, 0, 0.2f}, {0.01f, 0, -50}};
    for (int j = 0; j < 5; j++) {
        L0->W[2 * j] = w[j][0];
        L0->W[2 * j + 1] = w[j][1];
        L0->b[j] = w[j][2];
        L1->W[j] = 0.3f + 0.2f * (float)j; /* unit 3 = 2·unit 0 (a duplicate), unit 4 dead */
    }
    nf_model *ref;
    ck_assert_int_eq(nf_model_clone(&ref, m), NF_OK);
    ck_assert_int_eq(nf_model_reserve(m, 100), NF_OK);
    ck_assert_int_eq(nf_model_reserve(ref, 100), NF_OK);
    for (int mirrors = 0; mirrors < 2; mirrors++) {
        memcpy(m->params, ref->params, m->n_params * sizeof(float));
        unsigned char alive[5] = {1, 1, 1, 1, 1};
        int count;
        ck_assert_int_eq(nf_prune_layer(m, 0, X.data, X.rows, alive, 3, &(nf_prune_opts){mirrors, 1}, NULL, &count), NF_OK);
        ck_assert_int_eq(count, 2);
        ck_assert(!alive[4] && alive[1] && alive[2] && (alive[0] != alive[3]));
        /* the function is kept: the twin took the duplicate's weight */
        ck_assert_msg(max_output_diff(m, ref, &X) < 1e-4, "mirrors %d: max diff %g", mirrors, max_output_diff(m, ref, &X));
    }
    nf_model_free(ref);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

/* relu(x0) + relu(x1) written with both units on the wrong side of their kinks and an
 * antiparallel pair carrying the linear part: relu(−x0) + relu(−x1) + relu(x0+x1) − relu(−x0−x1).
 * Two units suffice; only the mirror candidates find them. */
START_TEST(prune_mirrors_recover_units_on_the_wrong_side)
{
    nf_mat X;
    gaussian_rows(&X, 2000, 2, 4);
    const int sizes[] = {2, 4, 1}, narrow_sizes[] = {2, 2, 1};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 1);
    const float w[4][4] = {{-1, 0, 0, 1}, {0, -1, 0, 1}, {1, 1, 0, 1}, {-1, -1, 0, -1}};
    for (int j = 0; j < 4; j++) {
        m->layers[0].W[2 * j] = w[j][0];
        m->layers[0].W[2 * j + 1] = w[j][1];
        m->layers[0].b[j] = w[j][2];
        m->layers[1].W[j] = w[j][3];
    }
    m->layers[1].b[0] = 0.0f;
    nf_model *ref, *narrow = tu_mlp(2, narrow_sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 1);
    ck_assert_int_eq(nf_model_clone(&ref, m), NF_OK);
    ck_assert_int_eq(nf_model_reserve(m, 256), NF_OK);
    ck_assert_int_eq(nf_model_reserve(ref, 256), NF_OK);
    ck_assert_int_eq(nf_model_reserve(narrow, 256), NF_OK);
    double err[2];
    for (int mirrors = 0; mirrors < 2; mirrors++) {
        memcpy(m->params, ref->params, m->n_params * sizeof(float));
        unsigned char alive[4] = {1, 1, 1, 1};
        int count;
        ck_assert_int_eq(nf_prune_layer(m, 0, X.data, X.rows, alive, 2, &(nf_prune_opts){mirrors, 0}, NULL, &count), NF_OK);
        ck_assert_int_eq(count, 2);
        ck_assert_int_eq(nf_shrink_model(m, alive, narrow), NF_OK);
        ck_assert_msg(max_output_diff(narrow, m, &X) < 1e-6, "shrunk model differs from the pruned one");
        err[mirrors] = max_output_diff(narrow, ref, &X);
        if (mirrors) { /* the two units are relu(x0) and relu(x1) with output weight 1 */
            for (int j = 0; j < 2; j++) {
                const float *wj = narrow->layers[0].W + 2 * j;
                ck_assert(fabs(fabs(wj[0]) + fabs(wj[1]) - 1.0) < 1e-5 && wj[0] >= 0 && wj[1] >= 0);
                ck_assert_close(narrow->layers[1].W[j], 1.0, 1e-4);
            }
        }
    }
    ck_assert_msg(err[1] < 1e-4, "with mirrors the pruned net misses by %g", err[1]);
    ck_assert_msg(err[0] > 0.3, "without mirrors the pruned net is within %g (expected a large miss)", err[0]);
    unsigned char bad[4] = {1, 1, 1, 0};
    ck_assert_int_eq(nf_shrink_model(m, bad, narrow), NF_ESHAPE);
    nf_model_free(ref);
    nf_model_free(narrow);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

/* The hat relu(x+1) − 2 relu(x) + relu(x−1) on U[-2, 2] as four units: relu(x+1), both sides of
 * the kink at 0 (relu(−x) and relu(x), output weights −1) and relu(1−x), bias −1.  Three units
 * suffice, but greedy removal drops a kink at ±1 (both sides of 0 carry the linear part); the
 * exchanges bring the third kink back. */
START_TEST(prune_exchanges_repair_the_greedy_choice)
{
    nf_mat X;
    ck_assert_int_eq(nf_mat_alloc(&X, 2000, 1), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 6);
    for (int r = 0; r < 2000; r++) X.data[r] = (float)nf_rng_range(&rng, -2.0, 2.0);
    const int sizes[] = {1, 4, 1}, narrow_sizes[] = {1, 3, 1};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 1);
    const float w[4][3] = {{1, 1, 1}, {-1, 0, -1}, {1, 0, -1}, {-1, 1, 1}};
    for (int j = 0; j < 4; j++) {
        m->layers[0].W[j] = w[j][0];
        m->layers[0].b[j] = w[j][1];
        m->layers[1].W[j] = w[j][2];
    }
    m->layers[1].b[0] = -1.0f;
    nf_model *ref, *narrow = tu_mlp(2, narrow_sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 1);
    ck_assert_int_eq(nf_model_clone(&ref, m), NF_OK);
    ck_assert_int_eq(nf_model_reserve(m, 256), NF_OK);
    ck_assert_int_eq(nf_model_reserve(ref, 256), NF_OK);
    ck_assert_int_eq(nf_model_reserve(narrow, 256), NF_OK);
    double err[2];
    for (int exchange = 0; exchange < 2; exchange++) {
        memcpy(m->params, ref->params, m->n_params * sizeof(float));
        unsigned char alive[4] = {1, 1, 1, 1};
        int count;
        ck_assert_int_eq(nf_prune_layer(m, 0, X.data, X.rows, alive, 3, &(nf_prune_opts){1, exchange}, NULL, &count),
                         NF_OK);
        ck_assert_int_eq(nf_shrink_model(m, alive, narrow), NF_OK);
        err[exchange] = max_output_diff(narrow, ref, &X);
    }
    ck_assert_msg(err[1] < 1e-4, "with exchanges the pruned hat misses by %g", err[1]);
    ck_assert_msg(err[0] > 0.1, "greedy alone is within %g (expected a miss)", err[0]);
    /* the three kinks t = −1, 0, 1, each once, all facing the same way (relu(±(x − t)): both
     * ways are exact, the linear parts cancel) */
    int seen[3] = {0, 0, 0};
    for (int j = 0; j < 3; j++) {
        const float wj = narrow->layers[0].W[j], t = -narrow->layers[0].b[j] / wj;
        ck_assert((wj > 0.0f) == (narrow->layers[0].W[0] > 0.0f));
        seen[(int)lround(t) + 1]++;
    }
    ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    nf_model_free(ref);
    nf_model_free(narrow);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

START_TEST(polish_is_the_least_squares_output_layer)
{
    nf_mat X, Y;
    nf_task_config tc;
    nf_task_defaults(NF_TASK_TEACHER, &tc);
    tc.k = 3;
    tc.n_samples = 700;
    ck_assert_int_eq(nf_task_generate(&tc, &X, &Y), NF_OK);
    const int sizes[] = {3, 5, 1};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 9);
    ck_assert_int_eq(nf_model_reserve(m, 64), NF_OK);
    nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    double before, after;
    ck_assert_int_eq(nf_model_eval(m, X.data, Y.data, X.rows, &mse, &before), NF_OK);
    ck_assert_int_eq(nf_polish_output(m, X.data, Y.data, X.rows), NF_OK);
    ck_assert_int_eq(nf_model_eval(m, X.data, Y.data, X.rows, &mse, &after), NF_OK);
    ck_assert(after < before);
    /* against LAPACK's least squares on the hidden activations */
    float *A = malloc((size_t)700 * 5 * sizeof(float));
    double *T = malloc((size_t)700 * sizeof(double));
    hidden_and_output(m, &X, A, T);
    nf_mat Am = {700, 5, A, 0}, W;
    float b;
    ck_assert_int_eq(nf_lstsq(&Am, &Y, &W, &b), NF_OK);
    for (int j = 0; j < 5; j++) ck_assert_close(m->layers[1].W[j], W.data[j], 1e-4 * (1 + fabs(W.data[j])));
    ck_assert_close(m->layers[1].b[0], b, 1e-4 * (1 + fabs(b)));
    nf_mat_free(&W);
    free(A);
    free(T);
    /* a non-linear output layer is refused */
    m->layers[1].act.kind = NF_ACT_RELU;
    ck_assert_int_eq(nf_polish_output(m, X.data, Y.data, X.rows), NF_EINVAL);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* The whole cycle inside nf_train on the 6-unit teacher: the model keeps its shape, every
 * spare unit is pruned, the final loss is the narrow model's, the run is deterministic, and
 * the pruned units stay exactly zero while the others train. */
START_TEST(train_grows_and_prunes_back)
{
    nf_mat X, Y;
    nf_task_config tc;
    nf_task_defaults(NF_TASK_TEACHER, &tc);
    tc.k = 6;
    tc.n_samples = 2048;
    ck_assert_int_eq(nf_task_generate(&tc, &X, &Y), NF_OK);
    const int sizes[] = {6, 6, 1};
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    cfg.epochs = 150;
    cfg.batch = 64;
    cfg.opt.lr = 0.01;
    nf_aids_config a;
    nf_aids_defaults(&a);
    a.grow = 2.0;
    a.sched.kind = NF_SCHED_COSINE;
    a.revive_init.kind = NF_INIT_GLOROT_UNIFORM;
    cfg.aids = &a;
    nf_model *m[2];
    nf_history h[2];
    for (int run = 0; run < 2; run++) {
        m[run] = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 3);
        ck_assert_int_eq(nf_train(m[run], &X, &Y, &cfg, &h[run]), NF_OK);
        ck_assert(m[run]->sizes[1] == 6 && m[run]->n_params == 6 * 6 + 6 + 6 + 1);
        ck_assert_int_eq(h[run].grown_width, 12);
        ck_assert_int_ge(h[run].pruned, 6);
        double loss;
        nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
        ck_assert_int_eq(nf_model_eval(m[run], X.data, Y.data, X.rows, &mse, &loss), NF_OK);
        ck_assert(loss == h[run].final_loss);
    }
    ck_assert(!memcmp(m[0]->params, m[1]->params, m[0]->n_params * sizeof(float)));
    ck_assert_msg(h[0].final_loss < 1e-3, "grown and pruned teacher fit ends at %g", h[0].final_loss);
    for (int run = 0; run < 2; run++) {
        nf_history_free(&h[run]);
        nf_model_free(m[run]);
    }

    /* the runtime: pruned units get no gradient and keep their zeros (sigmoid: a zeroed unit
     * still outputs 1/2, so only the mask keeps its outgoing weight at zero) */
    nf_model *narrow = tu_mlp(2, sizes, NF_ACT_SIGMOID, NF_INIT_GLOROT_UNIFORM, 3), *w;
    nf_rng rng;
    nf_rng_seed(&rng, 1);
    ck_assert_int_eq(nf_grow_model(narrow, 2.0, &a.revive_init, NULL, X.data, X.rows, &rng, &w), NF_OK);
    for (int j = 0; j < 12; j++) w->layers[1].W[j] = 0.1f; /* spare units take part */
    ck_assert_int_eq(nf_model_reserve(w, 64), NF_OK);
    nf_grow_rt *g;
    a.prune_start = 0.0;
    a.prune_end = 0.0;
    ck_assert_int_eq(nf_grow_rt_begin(&g, &a, narrow, w, 10), NF_OK);
    int count;
    ck_assert_int_eq(nf_grow_rt_epoch_end(g, w, NULL, 1, X.data, X.rows, &count), NF_OK);
    ck_assert_int_eq(count, 6);
    ck_assert(nf_grow_rt_pruned(g));
    const unsigned char *alive = nf_grow_rt_alive(g);
    nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    ck_assert_int_eq(nf_model_grad(w, X.data, Y.data, 64, &mse, 0, NULL), NF_OK);
    nf_grow_rt_mask_grads(g, w);
    for (int j = 0; j < 12; j++) {
        double gsum = fabs(w->layers[0].db[j]) + fabs(w->layers[1].dW[j]);
        for (int i = 0; i < 6; i++) gsum += fabs(w->layers[0].dW[j * 6 + i]);
        if (!alive[j]) ck_assert_msg(gsum == 0.0, "pruned unit %d has gradient %g", j, gsum);
        if (!alive[j]) ck_assert(w->layers[0].b[j] == 0.0f && w->layers[1].W[j] == 0.0f);
    }
    ck_assert_int_eq(nf_grow_rt_finish(g, w, X.data, X.rows, narrow), NF_OK);
    nf_grow_rt_free(g);
    nf_model_free(w);
    nf_model_free(narrow);

    /* refused: polish with another loss */
    nf_model *p = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 3);
    a.polish = 1;
    cfg.loss.kind = NF_LOSS_MAE;
    ck_assert_int_eq(nf_train(p, &X, &Y, &cfg, NULL), NF_EINVAL);
    nf_model_free(p);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_grow");
    TCase *tc = tcase_create("grow_prune");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, grown_model_computes_the_same_function);
    tcase_add_test(tc, prune_removes_the_unit_least_squares_can_best_spare);
    tcase_add_test(tc, prune_takes_dead_units_and_duplicates_first);
    tcase_add_test(tc, prune_mirrors_recover_units_on_the_wrong_side);
    tcase_add_test(tc, prune_exchanges_repair_the_greedy_choice);
    tcase_add_test(tc, polish_is_the_least_squares_output_layer);
    tcase_add_test(tc, train_grows_and_prunes_back);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
