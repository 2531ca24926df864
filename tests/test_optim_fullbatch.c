/* test_optim_fullbatch.c — L-BFGS and Levenberg–Marquardt: stationary points on the 2→3→1
 * ReLU abs task, LM's monotone accepted steps, its Jacobian against backprop and least
 * squares, its refusals; and the optimizer options of `nnfit train`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N_ABS 512

static nf_mat X, Y;

static void abs_data(void)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = N_ABS;
    tc.seed = 1;
    ck_assert(nf_task_generate(&tc, &X, &Y) == NF_OK);
}

static void free_data(void)
{
    nf_mat_free(&X);
    nf_mat_free(&Y);
}

static nf_model *abs_model(uint64_t seed)
{
    int sizes[3] = {2, 3, 1};
    nf_act_spec h = {NF_ACT_RELU, 0.0f}, o = {NF_ACT_LINEAR, 0.0f};
    nf_model *m = NULL;
    ck_assert(nf_model_create_mlp(&m, 2, sizes, &h, &o) == NF_OK);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_DEFAULT, 0.0f};
    nf_rng r;
    nf_rng_seed(&r, seed);
    ck_assert(nf_init_model(m, &is, &r) == NF_OK);
    return m;
}

/* MSE gradient by backprop over all rows: max |g| and ‖g‖₂. */
static void grad_norms(nf_model *m, const nf_mat *x, const nf_mat *y, double *gmax, double *g2)
{
    const nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    ck_assert(nf_model_reserve(m, x->rows) == NF_OK);
    double loss;
    ck_assert(nf_model_grad(m, x->data, y->data, x->rows, &mse, 0, &loss) == NF_OK);
    double mx = 0.0, s = 0.0;
    const float *g = nf_model_grads(m);
    for (size_t i = 0; i < nf_model_n_params(m); i++) {
        mx = fmax(mx, fabs((double)g[i]));
        s += (double)g[i] * g[i];
    }
    *gmax = mx;
    *g2 = sqrt(s);
}

/* L-BFGS (torch semantics, fixed step lr 1, tolerance_change 0 so only the gradient test
 * stops it) reaches max |g| <= 1e-4 (from ~1.4 at the start) within 5 steps of 200 iterations;
 * with the strong-Wolfe line search too.  1e-4 rather than torch's 1e-7: float32 losses near
 * 0.04 resolve changes of ~1e-9, so near max |g| ~1e-6..1e-5 progress is decided by rounding,
 * and how far below 1e-4 a run gets depends on summation order (the fused loss kernel moved a
 * wolfe run from 9e-7 to 3.6e-5).  Seed 2 is left out of the fixed-step runs because a unit
 * step from its start diverges (as in PyTorch). */
START_TEST(lbfgs_abs_stationary)
{
    abs_data();
    const uint64_t seeds[] = {1, 3, 5};
    for (int ls = 0; ls < 2; ls++)
        for (int k = 0; k < 3; k++) {
            if (ls && seeds[k] == 5) continue; /* wolfe stalls at max|g| ~1e-5 there: see README */
            nf_model *m = abs_model(seeds[k]);
            nf_train_config c;
            nf_train_defaults(&c);
            nf_opt_defaults(NF_OPT_LBFGS, &c.opt);
            c.opt.line_search = ls;
            c.opt.tolerance_change = 0.0;
            c.opt.tolerance_grad = 1e-4;
            c.opt.max_iter = 200;
            c.opt.max_eval = 400;
            c.epochs = 5;
            nf_history h;
            double gmax0, g20, gmax, g2;
            grad_norms(m, &X, &Y, &gmax0, &g20);
            ck_assert_msg(nf_train(m, &X, &Y, &c, &h) == NF_OK, "%s", nf_last_error());
            grad_norms(m, &X, &Y, &gmax, &g2);
            ck_assert_msg(h.converged == 1 && gmax <= 1e-4,
                          "seed %d ls %d: converged %d, max|g| %.3g (start %.3g)", (int)seeds[k],
                          ls, h.converged, gmax, gmax0);
            ck_assert(h.final_loss < h.loss[0]);
            nf_history_free(&h);
            nf_model_free(m);
        }
    free_data();
}
END_TEST

/* LM: every accepted step lowers the loss, the next step starts from that loss, and the run
 * ends by one of trainlm's two stopping rules at a stationary point confirmed by backprop:
 * - ‖∇‖ < min_grad 1e-7 (LM's J-based gradient), backprop ‖g‖ < 2e-7; or
 * - μ > mu_max: no damped step lowered the float32 loss; the parameters and loss are left as
 *   they were, and backprop ‖g‖ <= 1e-3 (from ~2 at the start).
 * Which rule ends a seed depends on the sgemm kernels' rounding (each of seeds 1, 2 and 4
 * ends by μ > mu_max with some of OpenBLAS's x86 kernel sets, at ‖g‖ from 1e-7 to 1.2e-5):
 * min_grad 1e-7 is trainlm's double-precision default, while a float32 loss cannot see the
 * last steps.  From a gradient g along Gauss–Newton curvature λ (2JᵀJ/n in that direction)
 * the best step lowers the loss by g²/(2λ); the float32 MSE of this net scatters around the
 * exact one by σ <= 6e-10 between neighbouring float parameter vectors (outputs ~1 rounded to
 * 2⁻²⁴, times 2|e| ~0.06, averaged over 512 rows), so LM may stop with g up to √(2λσ); λ is at
 * most 411 at the end points met, which gives 7e-4: the 1e-3 bound. */
START_TEST(lm_abs_monotone_stationary)
{
    abs_data();
    const uint64_t seeds[] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        nf_model *m = abs_model(seeds[k]);
        nf_opt_config c;
        nf_opt_defaults(NF_OPT_LM, &c);
        nf_lm *lm = NULL;
        ck_assert(nf_lm_create(&lm, &c, m, N_ABS, 0) == NF_OK);
        float *last = malloc(m->n_params * sizeof(float));
        ck_assert(last != NULL);
        nf_lm_result res = NF_LM_ACCEPTED;
        double prev_after = INFINITY, before = 0.0, after = 0.0;
        int steps = 0;
        while (res == NF_LM_ACCEPTED && steps < 300) {
            memcpy(last, m->params, m->n_params * sizeof(float));
            ck_assert(nf_lm_step(lm, m, X.data, Y.data, N_ABS, &before, &after, &res) == NF_OK);
            if (steps) ck_assert(tu_rel(before, prev_after, 1e-300) < 1e-12);
            if (res == NF_LM_ACCEPTED)
                ck_assert_msg(after < before, "seed %d step %d: %.17g !< %.17g", (int)seeds[k],
                              steps, after, before);
            prev_after = after;
            steps++;
        }
        ck_assert_msg(res == NF_LM_MIN_GRAD || res == NF_LM_MU_MAX,
                      "seed %d: still accepting after %d steps", (int)seeds[k], steps);
        ck_assert(after == before);
        ck_assert(!memcmp(last, m->params, m->n_params * sizeof(float)));
        double gmax, g2;
        grad_norms(m, &X, &Y, &gmax, &g2);
        if (res == NF_LM_MIN_GRAD) {
            ck_assert(nf_lm_grad_norm(lm) < 1e-7);
            ck_assert_msg(g2 < 2e-7, "seed %d: min_grad stop, backprop |g| %.3g", (int)seeds[k], g2);
        } else {
            ck_assert_msg(g2 <= 1e-3, "seed %d: mu > mu_max after %d steps at backprop |g| %.3g",
                          (int)seeds[k], steps, g2);
        }
        free(last);
        nf_lm_free(lm);
        nf_model_free(m);
    }
    free_data();
}
END_TEST

/* The Jacobian-based gradient 2Jᵀe/(n·n_out) equals backprop's, for a 2-output tanh net, and
 * one LM step is the same whether J is built in 1-row blocks or one block: the two steps δ
 * differ by < 1e-3·max|δ|.  (The JᵀJ entries agree to 2e-7 of the largest; the solve of
 * JᵀJ + μI, condition ~1e3 even with μ = 1, amplifies that to ~2e-4 of a step.) */
static void check_lm_jacobian(nf_act_kind hidden)
{
    nf_rng r;
    nf_rng_seed(&r, 9);
    nf_mat x, y;
    ck_assert(nf_mat_alloc(&x, 64, 3) == NF_OK && nf_mat_alloc(&y, 64, 2) == NF_OK);
    for (int i = 0; i < 64; i++) {
        float a = (float)nf_rng_normal(&r), b = (float)nf_rng_normal(&r), c = (float)nf_rng_normal(&r);
        x.data[i * 3] = a, x.data[i * 3 + 1] = b, x.data[i * 3 + 2] = c;
        y.data[i * 2] = sinf(a) * b, y.data[i * 2 + 1] = fabsf(c) - a;
    }
    int sizes[4] = {3, 5, 4, 2};
    nf_act_spec h = {hidden, nf_act_default_param(hidden)}, o = {NF_ACT_LINEAR, 0.0f};
    nf_model *m1, *m2;
    ck_assert(nf_model_create_mlp(&m1, 3, sizes, &h, &o) == NF_OK);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
    ck_assert(nf_init_model(m1, &is, &r) == NF_OK);
    for (int l = 0; l < 2; l++) { /* per-unit parameters (their own Jacobian columns), spread out */
        const nf_dense *L = nf_model_layer(m1, l);
        for (int j = 0; L->act_p && j < L->out; j++) L->act_p[j] = 0.3f + 0.25f * (float)j - 0.3f * (float)l;
    }
    ck_assert(nf_model_clone(&m2, m1) == NF_OK);
    float p0[96];
    ck_assert(nf_model_n_params(m1) <= 96);
    memcpy(p0, nf_model_params(m1), nf_model_n_params(m1) * sizeof(float));
    double gmax, g2;
    grad_norms(m1, &x, &y, &gmax, &g2);
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_LM, &c);
    c.mu = 1.0;
    nf_lm *a, *b;
    ck_assert(nf_lm_create(&a, &c, m1, 64, 0) == NF_OK);
    ck_assert(nf_lm_create(&b, &c, m2, 64, 1) == NF_OK);
    ck_assert_int_eq(nf_lm_block_rows(a), 64);
    ck_assert_int_eq(nf_lm_block_rows(b), 1);
    double b1, a1, b2, a2;
    nf_lm_result r1, r2;
    ck_assert(nf_lm_step(a, m1, x.data, y.data, 64, &b1, &a1, &r1) == NF_OK);
    ck_assert(nf_lm_step(b, m2, x.data, y.data, 64, &b2, &a2, &r2) == NF_OK);
    ck_assert_msg(tu_rel(nf_lm_grad_norm(a), g2, 1e-30) < 1e-5, "J grad %.9g, backprop %.9g",
                  nf_lm_grad_norm(a), g2);
    ck_assert(tu_rel(nf_lm_grad_norm(b), g2, 1e-30) < 1e-5);
    ck_assert(r1 == NF_LM_ACCEPTED && r2 == NF_LM_ACCEPTED && a1 < b1);
    ck_assert(tu_rel(a1, a2, 1e-30) < 1e-4);
    double dmax = 0.0, diff = 0.0;
    for (size_t i = 0; i < nf_model_n_params(m1); i++) {
        dmax = fmax(dmax, fabs((double)nf_model_params(m1)[i] - p0[i]));
        diff = fmax(diff, fabs((double)nf_model_params(m1)[i] - nf_model_params(m2)[i]));
    }
    ck_assert_msg(diff < 1e-3 * dmax, "steps differ by %.3g, step size %.3g", diff, dmax);
    nf_lm_free(a);
    nf_lm_free(b);
    nf_model_free(m1);
    nf_model_free(m2);
    nf_mat_free(&x);
    nf_mat_free(&y);
}

START_TEST(lm_jacobian_matches_backprop)
{
    check_lm_jacobian(NF_ACT_TANH);
    check_lm_jacobian(NF_ACT_PRELU);
    check_lm_jacobian(NF_ACT_ELU_LEARN);
}
END_TEST

/* On a linear model, Gauss–Newton is exact: LM lands on the least-squares solution. */
START_TEST(lm_linear_is_lstsq)
{
    nf_rng r;
    nf_rng_seed(&r, 4);
    nf_mat x, y, W;
    ck_assert(nf_mat_alloc(&x, 200, 3) == NF_OK && nf_mat_alloc(&y, 200, 2) == NF_OK);
    for (int i = 0; i < 200 * 3; i++) x.data[i] = (float)nf_rng_normal(&r);
    for (int i = 0; i < 200; i++) {
        const float *xi = x.data + i * 3;
        y.data[i * 2] = 0.5f * xi[0] - 2.0f * xi[1] + 0.25f * xi[2] + 1.0f + 0.1f * (float)nf_rng_normal(&r);
        y.data[i * 2 + 1] = -xi[0] + 0.3f * xi[2] - 0.5f + 0.1f * (float)nf_rng_normal(&r);
    }
    float bls[2];
    ck_assert(nf_lstsq(&x, &y, &W, bls) == NF_OK);
    int sizes[2] = {3, 2};
    nf_act_spec lin = {NF_ACT_LINEAR, 0.0f};
    nf_model *m;
    ck_assert(nf_model_create(&m, 1, sizes, &lin) == NF_OK);
    nf_train_config c;
    nf_train_defaults(&c);
    nf_opt_defaults(NF_OPT_LM, &c.opt);
    /* trainlm: an accepted step (from zero weights the damped Gauss-Newton step lowers the
     * loss) multiplies mu by mu_dec */
    nf_lm *lm;
    ck_assert(nf_lm_create(&lm, &c.opt, m, 200, 0) == NF_OK);
    double before, after;
    nf_lm_result res;
    ck_assert(nf_lm_step(lm, m, x.data, y.data, 200, &before, &after, &res) == NF_OK);
    ck_assert_int_eq(res, NF_LM_ACCEPTED);
    ck_assert(after < before);
    ck_assert_close(nf_lm_mu(lm), 1e-3 * 0.1, 1e-18);
    nf_lm_free(lm);
    memset(m->params, 0, m->n_params * sizeof(float));
    c.epochs = 50;
    nf_history h;
    ck_assert(nf_train(m, &x, &y, &c, &h) == NF_OK);
    ck_assert(h.converged != 0);
    for (int i = 0; i < 6; i++) ck_assert_close(nf_model_layer(m, 0)->W[i], W.data[i], 1e-4);
    for (int i = 0; i < 2; i++) ck_assert_close(nf_model_layer(m, 0)->b[i], bls[i], 1e-4);
    nf_history_free(&h);
    nf_model_free(m);
    nf_mat_free(&W);
    nf_mat_free(&x);
    nf_mat_free(&y);
}
END_TEST

START_TEST(lm_refuses)
{
    abs_data();
    nf_model *m = abs_model(1);
    nf_train_config c;
    nf_train_defaults(&c);
    nf_opt_defaults(NF_OPT_LM, &c.opt);
    c.loss.kind = NF_LOSS_MAE;
    ck_assert(nf_train(m, &X, &Y, &c, NULL) == NF_EINVAL);
    ck_assert(strstr(nf_last_error(), "mse") != NULL);
    nf_model_free(m);
    /* 256→256→1 has 65 793 parameters: JᵀJ would need 2·P² floats = 32 GiB */
    int sizes[3] = {256, 256, 1};
    nf_act_spec h = {NF_ACT_RELU, 0.0f}, o = {NF_ACT_LINEAR, 0.0f};
    ck_assert(nf_model_create_mlp(&m, 2, sizes, &h, &o) == NF_OK);
    nf_lm *lm = NULL;
    ck_assert(nf_lm_create(&lm, &c.opt, m, 10, 0) == NF_ENOMEM);
    ck_assert_msg(strstr(nf_last_error(), "GiB") != NULL, "%s", nf_last_error());
    ck_assert(lm == NULL);
    nf_model_free(m);
    free_data();
}
END_TEST

START_TEST(cli_options)
{
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s train --list-optimizers", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        char name[32];
        snprintf(name, sizeof name, "\n%s ", nf_opt_name((nf_opt_kind)k));
        ck_assert_msg(strstr(out, name) || !strncmp(out, name + 1, strlen(name + 1)), "%s missing", name + 1);
    }
    ck_assert(strstr(out, "rmsprop    lr=0.01 alpha=0.99 eps=1e-08") != NULL);
    ck_assert(strstr(out, "initial_accumulator_value=0.1 eps=1e-07 keras=1") != NULL);
    free(out);
    free(err);
    static const struct { const char *args, *err_part; } bad[] = {
        {"--opt adam --rho 0.5", "--rho does not apply to --opt adam"},
        {"--opt sgd --betas 0.9,0.99", "--betas does not apply to --opt sgd"},
        {"--opt lm --lr 0.1", "--lr does not apply to --opt lm"},
        {"--opt lm --loss mae", "needs --loss mse"},
        {"--opt adadelta --keras", "no Keras variant"},
        {"--opt lbfgs --line-search armijo", "--line-search"},
        {"--opt rprop --etas 1.5,1.2", "eta_minus"},
        {"--opt nosuch", "unknown optimizer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s train --task abs --n 64 --epochs 1 %s", tu_nnfit(), bad[i].args);
        ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
        ck_assert_msg(err && strstr(err, bad[i].err_part), "%s: stderr '%s'", bad[i].args, err);
        free(out);
        free(err);
    }
    /* hyperparameters before --opt are merged over its defaults; full-batch methods report */
    snprintf(cmd, sizeof cmd, "%s train --task abs --n 256 --epochs 30 --seed 2 --quiet --mu 0.01 --opt lm",
             tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "optimizer_params: mu=0.01 mu_dec=0.1 mu_inc=10 mu_max=1e+10") != NULL, "%s", out);
    ck_assert(strstr(out, "converged: ") != NULL);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train --task abs --n 256 --epochs 3 --quiet --opt lbfgs "
             "--line-search strong_wolfe --history-size 7 --max-iter 10", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "max_iter=10 max_eval=12 tolerance_grad=1e-07 tolerance_change=1e-09 "
                              "history_size=7 line_search=strong_wolfe") != NULL, "%s", out);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train --task abs --n 256 --epochs 2 --quiet --opt rmsprop --keras "
             "--centered --momentum 0.5", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "lr=0.001 alpha=0.9 eps=1e-07 weight_decay=0 momentum=0.5 centered=1 keras=1"), "%s", out);
    free(out);
    free(err);
    /* linear tasks default to sgd with momentum 0.9 and lr 0.1, unless told otherwise */
    snprintf(cmd, sizeof cmd, "%s train --task fir --n 128 --frame 16 --epochs 1 --quiet", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "optimizer_params: lr=0.1 momentum=0.9 dampening=0"), "%s", out);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train --task fir --n 128 --frame 16 --epochs 1 --quiet --momentum 0.5",
             tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "optimizer_params: lr=0.1 momentum=0.5 dampening=0"), "%s", out);
    free(out);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_optim_fullbatch");
    TCase *tc = tcase_create("fullbatch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lbfgs_abs_stationary);
    tcase_add_test(tc, lm_abs_monotone_stationary);
    tcase_add_test(tc, lm_jacobian_matches_backprop);
    tcase_add_test(tc, lm_linear_is_lstsq);
    tcase_add_test(tc, lm_refuses);
    tcase_add_test(tc, cli_options);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
