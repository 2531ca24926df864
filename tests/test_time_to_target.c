/* test_time_to_target.c — epochs, evaluations and seconds until the training loss first reaches
 * the target (nf_history, nf_trial), and their quartiles per setting (nf_sweep_summary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void abs_data(nf_mat *X, nf_mat *Y, int n)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = n;
    tc.seed = 1;
    ck_assert_int_eq(nf_task_generate(&tc, X, Y), NF_OK);
}

static nf_model *abs_net(int hidden, uint64_t seed)
{
    const int sizes[] = {2, hidden, 1};
    return tu_mlp(2, sizes, NF_ACT_TANH, NF_INIT_GLOROT_UNIFORM, seed);
}

/* Trains a fresh net (same init every call) and returns its history. */
static nf_status train(nf_opt_kind kind, int epochs, int batch, double target, const nf_mat *X,
                       const nf_mat *Y, nf_history *h)
{
    nf_model *m = abs_net(8, 5);
    nf_train_config c;
    nf_train_defaults(&c);
    nf_opt_defaults(kind, &c.opt);
    if (kind == NF_OPT_ADAM) c.opt.lr = 0.02;
    c.epochs = epochs;
    c.batch = batch;
    c.seed = 3;
    c.target_loss = target;
    nf_status st = nf_train(m, X, Y, &c, h);
    nf_model_free(m);
    return st;
}

/* Mini-batch: one evaluation per batch step; 512 rows in batches of 64 = 8 per epoch. */
START_TEST(minibatch_counts_steps)
{
    nf_mat X, Y;
    abs_data(&X, &Y, 512);
    nf_history h;
    ck_assert_int_eq(train(NF_OPT_ADAM, 200, 64, 5e-2, &X, &Y, &h), NF_OK);
    ck_assert_int_gt(h.target_epoch, 1);
    ck_assert_int_lt(h.target_epoch, h.epochs_run);
    ck_assert(h.loss[h.target_epoch - 1] <= 5e-2 && h.loss[h.target_epoch - 2] > 5e-2);
    ck_assert_int_eq(h.target_evals, 8L * h.target_epoch);
    ck_assert(h.target_seconds == h.seconds[h.target_epoch - 1]);
    ck_assert(h.target_seconds > 0 && h.target_seconds <= h.seconds_total);
    ck_assert_int_eq(h.evals, h.steps);
    ck_assert_int_eq(h.evals, 8L * h.epochs_run);
    nf_history_free(&h);
    /* never reached */
    ck_assert_int_eq(train(NF_OPT_ADAM, 5, 64, 1e-30, &X, &Y, &h), NF_OK);
    ck_assert(h.target_epoch == 0 && h.target_evals == 0 && isinf(h.target_seconds));
    nf_history_free(&h);
    /* no target at all */
    ck_assert_int_eq(train(NF_OPT_ADAM, 3, 64, 0.0, &X, &Y, &h), NF_OK);
    ck_assert(h.target_epoch == 0 && isinf(h.target_seconds));
    nf_history_free(&h);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* Full batch: the count at the target epoch equals the total of a run stopped there (training
 * is deterministic), and L-BFGS makes several closure calls per epoch. */
static void full_batch_case(nf_opt_kind kind, double target)
{
    nf_mat X, Y;
    abs_data(&X, &Y, 256);
    nf_history h, g;
    ck_assert_int_eq(train(kind, 60, 0, target, &X, &Y, &h), NF_OK);
    ck_assert_msg(h.target_epoch > 1, "%s: target epoch %d", nf_opt_name(kind), h.target_epoch);
    ck_assert_int_eq(train(kind, h.target_epoch, 0, target, &X, &Y, &g), NF_OK);
    ck_assert_int_eq(g.epochs_run, h.target_epoch);
    ck_assert_int_eq(g.target_epoch, h.target_epoch);
    ck_assert_int_eq(g.evals, h.target_evals);
    ck_assert_int_eq(g.target_evals, h.target_evals);
    ck_assert_int_gt(h.target_evals, h.target_epoch); /* more than one evaluation per epoch */
    ck_assert_int_ge(h.evals, h.target_evals);
    nf_history_free(&h);
    nf_history_free(&g);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}

START_TEST(lbfgs_counts_closure_calls)
{
    full_batch_case(NF_OPT_LBFGS, 5e-3);
}
END_TEST

START_TEST(lm_counts_evaluations)
{
    full_batch_case(NF_OPT_LM, 1e-3);
}
END_TEST

/* LM's count from its μ: a step accepted after k trial points multiplied μ by
 * mu_inc^(k−1) · mu_dec and made 1 (Jacobian) + k evaluations.  (Checked while μ is large
 * enough that no Cholesky factorisation fails: a failed one raises μ without an evaluation.) */
START_TEST(lm_evals_follow_mu)
{
    nf_mat X, Y;
    abs_data(&X, &Y, 128);
    nf_model *m = abs_net(6, 9);
    nf_opt_config oc;
    nf_opt_defaults(NF_OPT_LM, &oc);
    oc.mu = 1.0;
    oc.mu_dec = 0.5;
    oc.mu_inc = 4.0;
    nf_lm *lm;
    ck_assert_int_eq(nf_lm_create(&lm, &oc, m, X.rows, 0), NF_OK);
    long prev = nf_lm_evals(lm);
    ck_assert_int_eq(prev, 0);
    int multi = 0, checked = 0;
    for (int step = 0; step < 60; step++) {
        const double mu0 = nf_lm_mu(lm);
        double before, after;
        nf_lm_result res;
        ck_assert_int_eq(nf_lm_step(lm, m, X.data, Y.data, X.rows, &before, &after, &res), NF_OK);
        if (res != NF_LM_ACCEPTED) break;
        const long k = lround(1.0 + log(nf_lm_mu(lm) / (mu0 * oc.mu_dec)) / log(oc.mu_inc));
        const long now = nf_lm_evals(lm);
        ck_assert_int_ge(now - prev, 2);
        if (mu0 >= 1e-2) {
            ck_assert_msg(now - prev == 1 + k, "step %d: mu %g -> %g, %ld evals", step, mu0, nf_lm_mu(lm), now - prev);
            checked++;
            multi += k > 1;
        }
        prev = now;
    }
    ck_assert_int_ge(checked, 10);
    ck_assert_int_gt(multi, 0); /* some step needed more than one trial point */
    nf_lm_free(lm);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

static double ref_quantile(const double *s, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return s[n - 1];
    double f = pos - i;
    if (f == 0 || s[i] == s[i + 1]) return s[i];
    return isinf(s[i + 1]) ? s[i + 1] : s[i] + f * (s[i + 1] - s[i]);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Trials carry their time to target; the summary's quartiles are those of the trials' values
 * with never = ∞. */
START_TEST(sweep_summary_quartiles)
{
    nf_mat X, Y;
    abs_data(&X, &Y, 512);
    nf_run_spec s[2];
    for (int i = 0; i < 2; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].n_sizes = 3;
        s[i].sizes[0] = 2, s[i].sizes[1] = 3, s[i].sizes[2] = 1;
        s[i].act.kind = NF_ACT_RELU;
        s[i].out_act.kind = NF_ACT_LINEAR;
        s[i].init.kind = NF_INIT_GLOROT_UNIFORM;
        nf_train_defaults(&s[i].train);
        s[i].train.epochs = 120;
        s[i].train.batch = i ? 64 : 0;
        nf_opt_defaults(i ? NF_OPT_SGD : NF_OPT_ADAM, &s[i].train.opt);
        s[i].train.opt.lr = i ? 0.05 : 0.02;
        if (i) s[i].train.opt.momentum = 0.9;
    }
    nf_sweep_config c;
    nf_sweep_defaults(&c);
    c.X = &X;
    c.Y = &Y;
    c.settings = s;
    c.n_settings = 2;
    c.restarts = 12;
    c.seed = 77;
    c.jobs = 2;
    c.target = 5e-3;
    nf_trial t[24];
    long done;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_OK);
    nf_sweep_summary sum[2];
    ck_assert_int_eq(nf_sweep_summarize(t, 2, 12, sum), NF_OK);
    int some_never = 0, some_reached = 0;
    for (int k = 0; k < 2; k++) {
        double v[3][12];
        long reached = 0;
        for (int r = 0; r < 12; r++) {
            const nf_trial *x = &t[k * 12 + r];
            if (x->target_epoch) {
                reached++;
                ck_assert(x->target_seconds > 0 && x->target_seconds <= x->seconds);
                ck_assert_int_ge(x->target_evals, x->target_epoch);
                if (s[k].train.batch == 64) ck_assert_int_eq(x->target_evals, 8L * x->target_epoch);
            } else {
                ck_assert(isinf(x->target_seconds) && x->target_evals == 0);
            }
            v[0][r] = x->target_epoch ? (double)x->target_epoch : INFINITY;
            v[1][r] = x->target_epoch ? (double)x->target_evals : INFINITY;
            v[2][r] = x->target_epoch ? x->target_seconds : INFINITY;
            ck_assert(nf_trial_time_to_target(x, NF_TTT_EPOCHS) == v[0][r]);
            ck_assert(nf_trial_time_to_target(x, NF_TTT_EVALS) == v[1][r]);
            ck_assert(nf_trial_time_to_target(x, NF_TTT_SECONDS) == v[2][r]);
        }
        ck_assert_int_eq(sum[k].reached, reached);
        some_never += reached < 12;
        some_reached += reached > 0;
        const nf_quartiles *q[3] = {&sum[k].ttt_epochs, &sum[k].ttt_evals, &sum[k].ttt_seconds};
        for (int u = 0; u < 3; u++) {
            qsort(v[u], 12, sizeof(double), cmp_d);
            ck_assert(q[u]->q1 == ref_quantile(v[u], 12, 0.25));
            ck_assert(q[u]->median == ref_quantile(v[u], 12, 0.5));
            ck_assert(q[u]->q3 == ref_quantile(v[u], 12, 0.75));
        }
    }
    ck_assert_int_gt(some_never, 0);   /* the case with ∞ is exercised */
    ck_assert_int_gt(some_reached, 0);
    nf_trial unrun;
    memset(&unrun, 0, sizeof unrun);
    ck_assert(isinf(nf_trial_time_to_target(&unrun, NF_TTT_SECONDS)));
    nf_trials_free(t, 24);
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("time_to_target");
    TCase *tc = tcase_create("time_to_target");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, minibatch_counts_steps);
    tcase_add_test(tc, lbfgs_counts_closure_calls);
    tcase_add_test(tc, lm_counts_evaluations);
    tcase_add_test(tc, lm_evals_follow_mu);
    tcase_add_test(tc, sweep_summary_quartiles);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
