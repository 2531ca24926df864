/* test_run.c — the run description (run.h) against what it documents: nf_run is the library
 * calls it names, with the seed streams it names; task defaults apply only to what was not
 * given; the thread plan; validation rows of a task from their own stream. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* nf_run with --val-split equals, to the bit: the hold-out from derive(S, 2), a model
 * initialised from derive(S, 0), nf_train shuffling from derive(S, 1) with that validation
 * set.  Against the same calls with any two streams swapped, the result differs. */
static void by_hand(const nf_run_spec *spec, const nf_mat *X, const nf_mat *Y, uint64_t init_s,
                    uint64_t shuffle_s, uint64_t split_s, nf_model **m, nf_history *h)
{
    nf_mat Xt, Yt, Xv, Yv;
    ck_assert_int_eq(nf_data_holdout(X, Y, spec->val_split, split_s, &Xt, &Yt, &Xv, &Yv), NF_OK);
    ck_assert_int_eq(nf_model_create_mlp(m, spec->n_sizes - 1, spec->sizes, &spec->act, &spec->out_act), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, init_s);
    ck_assert_int_eq(nf_init_model_data(*m, &spec->init, &spec->init_opts, Xt.data, Xt.rows, &rng), NF_OK);
    nf_train_config tc = spec->train;
    tc.seed = shuffle_s;
    tc.val_X = &Xv;
    tc.val_Y = &Yv;
    ck_assert_int_eq(nf_train(*m, &Xt, &Yt, &tc, h), NF_OK);
    nf_mat_free(&Xt);
    nf_mat_free(&Yt);
    nf_mat_free(&Xv);
    nf_mat_free(&Yv);
}

START_TEST(run_is_train_with_documented_streams)
{
    nf_run_spec spec;
    nf_run_defaults(&spec);
    spec.task.n_samples = 300;
    spec.train.epochs = 4;
    spec.val_split = 0.2;
    spec.seed = 12345;
    spec.init.kind = NF_INIT_DATA_KINK; /* data-aware: sees only the training part */
    ck_assert_int_eq(nf_run_resolve(&spec, 0, 0), NF_OK);
    nf_mat X, Y;
    ck_assert_int_eq(nf_run_task_data(&spec, &X, &Y, NULL, NULL), NF_OK);
    nf_run_data d = {.X = &X, .Y = &Y};
    nf_model *m = NULL;
    nf_history h;
    ck_assert_int_eq(nf_run(&spec, &d, &m, &h), NF_OK);
    ck_assert(nf_run_stream(spec.seed, NF_STREAM_SPLIT) == nf_rng_derive(spec.seed, 2));
    const uint64_t s0 = nf_rng_derive(spec.seed, 0), s1 = nf_rng_derive(spec.seed, 1),
                   s2 = nf_rng_derive(spec.seed, 2);
    const uint64_t orders[4][3] = {{s0, s1, s2}, {s0, s2, s1}, {s1, s0, s2}, {s0, s0, s2}};
    for (int k = 0; k < 4; k++) {
        nf_model *r = NULL;
        nf_history hr;
        by_hand(&spec, &X, &Y, orders[k][0], orders[k][1], orders[k][2], &r, &hr);
        const int same = memcmp(nf_model_params(m), nf_model_params(r), nf_model_n_params(m) * sizeof(float)) == 0 &&
                         h.val_loss[3] == hr.val_loss[3] && h.final_loss == hr.final_loss;
        ck_assert_msg(same == (k == 0), "streams (init, shuffle, split) = order %d: nf_run %s it", k,
                      same ? "equals" : "differs from");
        nf_history_free(&hr);
        nf_model_free(r);
    }
    nf_history_free(&h);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* Linear tasks train with SGD (momentum 0.9, lr 0.1) and batch 64 unless the optimizer or the
 * batch was given; what was given is kept. */
START_TEST(task_defaults_only_fill_what_was_not_given)
{
    nf_run_spec spec;
    nf_run_defaults(&spec);
    nf_run_set_task(&spec, NF_TASK_FIR);
    ck_assert_int_eq(nf_run_resolve(&spec, 0, 0), NF_OK);
    ck_assert_int_eq(spec.train.opt.kind, NF_OPT_SGD);
    ck_assert_close(spec.train.opt.momentum, 0.9, 0.0);
    ck_assert_close(spec.train.opt.lr, 0.1, 0.0);
    ck_assert_int_eq(spec.train.batch, 64);

    nf_run_defaults(&spec);
    nf_run_set_task(&spec, NF_TASK_FIR);
    spec.train.opt.kind = NF_OPT_ADAM;
    spec.opt_set = 1;
    spec.train.batch = 16;
    spec.batch_set = 1;
    ck_assert_int_eq(nf_run_resolve(&spec, 0, 0), NF_OK);
    ck_assert_int_eq(spec.train.opt.kind, NF_OPT_ADAM);
    ck_assert_close(spec.train.opt.lr, 1e-3, 0.0); /* adam's default, not the task's 0.1 */
    ck_assert_int_eq(spec.train.batch, 16);

    nf_run_defaults(&spec); /* abs is not linear: adam, batch 32 */
    ck_assert_int_eq(nf_run_resolve(&spec, 0, 0), NF_OK);
    ck_assert_int_eq(spec.train.opt.kind, NF_OPT_ADAM);
    ck_assert_int_eq(spec.train.batch, 32);
}
END_TEST

/* Batches of at least 256·N rows are split over N workers with one BLAS thread each; smaller
 * ones, and lm, get N BLAS threads; threads 0 leaves OpenBLAS alone. */
START_TEST(thread_plan_as_documented)
{
    nf_run_spec spec;
    nf_run_defaults(&spec);
    int split, blas;
    spec.threads = 2;
    const struct { int batch, rows, split, blas; } cases[] = {
        {511, 4096, 0, 2}, {512, 4096, 2, 1}, {0, 511, 0, 2}, {0, 512, 2, 1}, {8192, 600, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spec.train.batch = cases[i].batch;
        nf_run_thread_plan(&spec, cases[i].rows, &split, &blas);
        ck_assert_msg(split == cases[i].split && blas == cases[i].blas,
                      "batch %d of %d rows, 2 threads: split %d blas %d, want %d %d", cases[i].batch,
                      cases[i].rows, split, blas, cases[i].split, cases[i].blas);
    }
    spec.threads = 3;
    spec.train.batch = 767;
    nf_run_thread_plan(&spec, 4096, &split, &blas);
    ck_assert(split == 0 && blas == 3);
    spec.train.batch = 768;
    nf_run_thread_plan(&spec, 4096, &split, &blas);
    ck_assert(split == 3 && blas == 1);
    nf_opt_defaults(NF_OPT_LM, &spec.train.opt);
    nf_run_thread_plan(&spec, 100000, &split, &blas);
    ck_assert(split == 0 && blas == 3);
    nf_run_defaults(&spec);
    spec.train.batch = 4096;
    nf_run_thread_plan(&spec, 4096, &split, &blas);
    ck_assert(split == 0 && blas == 0);
}
END_TEST

/* A task's validation rows (val_n) are the task generated from stream 1 of the data seed: other
 * rows than the training ones. */
START_TEST(task_validation_rows_from_their_stream)
{
    nf_run_spec spec;
    nf_run_defaults(&spec);
    spec.task.n_samples = 200;
    spec.task.seed = 9;
    spec.val_n = 50;
    nf_mat X, Y, Xv, Yv, Xr, Yr;
    ck_assert_int_eq(nf_run_task_data(&spec, &X, &Y, &Xv, &Yv), NF_OK);
    ck_assert(Xv.rows == 50 && Yv.rows == 50);
    nf_task_config tc = spec.task;
    tc.n_samples = 50;
    tc.seed = nf_rng_derive(9, 1);
    ck_assert_int_eq(nf_task_generate(&tc, &Xr, &Yr), NF_OK);
    ck_assert_int_eq(memcmp(Xv.data, Xr.data, nf_mat_size(&Xr) * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(Yv.data, Yr.data, nf_mat_size(&Yr) * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(Xv.data, X.data, nf_mat_size(&Xv) * sizeof(float)), 0);
    nf_mat *all[] = {&X, &Y, &Xv, &Yv, &Xr, &Yr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) nf_mat_free(all[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_add_test(tc, run_is_train_with_documented_streams);
    tcase_add_test(tc, task_defaults_only_fill_what_was_not_given);
    tcase_add_test(tc, thread_plan_as_documented);
    tcase_add_test(tc, task_validation_rows_from_their_stream);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
