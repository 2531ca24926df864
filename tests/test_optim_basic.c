/* test_optim_basic.c — optimizer name table, defaults, validation, state handling, and the
 * first steps of a few optimizers worked out by hand. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "../src/optim_internal.h" /* nf_adam_update */

START_TEST(names_round_trip)
{
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        nf_opt_kind back;
        ck_assert(nf_opt_parse(nf_opt_name((nf_opt_kind)k), &back) == NF_OK);
        ck_assert_int_eq(back, k);
        ck_assert(strstr(nf_opt_names(), nf_opt_name((nf_opt_kind)k)) != NULL);
        nf_opt_config c;
        nf_opt_defaults((nf_opt_kind)k, &c);
        ck_assert_msg(nf_opt_validate(&c) == NF_OK, "%s defaults: %s", nf_opt_name((nf_opt_kind)k),
                      nf_last_error());
        if (nf_opt_has_keras((nf_opt_kind)k)) {
            ck_assert(nf_opt_keras_defaults(&c) == NF_OK && c.keras == 1);
            ck_assert(nf_opt_validate(&c) == NF_OK);
        } else {
            ck_assert(nf_opt_keras_defaults(&c) == NF_EINVAL);
        }
    }
    nf_opt_kind k;
    ck_assert(nf_opt_parse("l-bfgs", &k) == NF_OK && k == NF_OPT_LBFGS);
    ck_assert(nf_opt_parse("trainlm", &k) == NF_OK && k == NF_OPT_LM);
    ck_assert(nf_opt_parse("Adam", &k) == NF_EINVAL);
    ck_assert(strstr(nf_last_error(), "valid:") != NULL);
}
END_TEST

START_TEST(uses_whole_words)
{
    ck_assert(nf_opt_uses_param(NF_OPT_ADAM, "betas"));
    ck_assert(!nf_opt_uses_param(NF_OPT_ADAM, "beta"));    /* ftrl's, not adam's */
    ck_assert(nf_opt_uses_param(NF_OPT_FTRL, "beta"));
    ck_assert(!nf_opt_uses_param(NF_OPT_FTRL, "betas"));
    ck_assert(nf_opt_uses_param(NF_OPT_ADAGRAD, "lr"));
    ck_assert(nf_opt_uses_param(NF_OPT_ADAGRAD, "lr_decay"));
    ck_assert(!nf_opt_uses_param(NF_OPT_ADAFACTOR, "eps"));
    ck_assert(nf_opt_uses_param(NF_OPT_ADAFACTOR, "eps1"));
    ck_assert(!nf_opt_uses_param(NF_OPT_LM, "lr"));
    char buf[256];
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_RPROP, &c);
    nf_opt_describe(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, "lr=0.01 etas=0.5,1.2 step_sizes=1e-06,50");
}
END_TEST

START_TEST(validation)
{
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.nesterov = 1;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL); /* nesterov needs momentum */
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.beta2 = 1.0;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL);
    ck_assert(strstr(nf_last_error(), "beta2") != NULL);
    nf_opt_defaults(NF_OPT_RPROP, &c);
    c.eta_minus = 1.5;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL);
    nf_opt_defaults(NF_OPT_LBFGS, &c);
    c.history_size = 0;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL);
    nf_opt_defaults(NF_OPT_LM, &c);
    c.mu_inc = 0.5;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL);
    nf_opt_defaults(NF_OPT_ADADELTA, &c);
    c.keras = 1;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL);
    nf_optim *o = (nf_optim *)1;
    ck_assert(nf_optim_create(&o, &c, 4) == NF_EINVAL && o == NULL);
}
END_TEST

/* Hand-worked first steps.  Adam step 1: m = 0.1g, v = 0.001g², update lr·sign(g) (up to eps).
 * Rprop: first step moves by lr against the sign, then grows ×1.2 while the sign holds.
 * Adagrad with initial accumulator a: p −= lr·g/(√(a + g²) + eps). */
START_TEST(hand_steps)
{
    float p[2] = {1.0f, -2.0f};
    const float g[2] = {0.5f, -4.0f};
    nf_opt_config c;
    nf_optim *o;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = 0.1;
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], 0.9, 1e-6);
    ck_assert_close(p[1], -1.9, 1e-6);
    ck_assert_int_eq(nf_optim_steps(o), 1);
    ck_assert_uint_eq(nf_optim_state_bytes(o), 2 * 2 * sizeof(float));
    nf_optim_free(o);

    p[0] = 1.0f, p[1] = -2.0f;
    nf_opt_defaults(NF_OPT_RPROP, &c);
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    nf_optim_step(o, p, g);
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], 1.0 - 0.01 - 0.012, 1e-7);
    ck_assert_close(p[1], -2.0 + 0.01 + 0.012, 1e-7);
    /* reset restores the initial step size */
    nf_optim_reset(o);
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], 1.0 - 0.01 - 0.012 - 0.01, 1e-7);
    nf_optim_free(o);

    p[0] = 1.0f, p[1] = -2.0f;
    nf_opt_defaults(NF_OPT_ADAGRAD, &c);
    c.lr = 0.5;
    c.initial_accumulator_value = 0.75;
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], 1.0 - 0.5 * 0.5 / 1.0, 1e-6);
    ck_assert_close(p[1], -2.0 + 0.5 * 4.0 / sqrt(16.75), 1e-6);
    nf_optim_free(o);

    /* lion moves every coordinate by exactly lr */
    p[0] = 1.0f, p[1] = -2.0f;
    nf_opt_defaults(NF_OPT_LION, &c);
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], 1.0 - 1e-4, 1e-7);
    ck_assert_close(p[1], -2.0 + 1e-4, 1e-7);
    nf_optim_free(o);
}
END_TEST

/* Adam's bias corrections 1 − β1ᵗ and 1 − β2ᵗ: one step of the kernel, from the same state,
 * is bit for bit the step PyTorch's formula gives with pow, at step counts on both sides of
 * where the correction becomes exactly 1 (and far beyond), for β from 0 to 1 − 10⁻⁶, in the
 * torch and the Keras form. */
START_TEST(adam_bias_correction_exact)
{
    static const double betas[] = {0.0, 0.5, 0.9, 0.99, 0.999, 0.999999};
    static const long steps[] = {1, 2, 3, 10, 40, 87, 100, 300, 439, 440, 441, 1000, 4399, 4400, 4401,
                                 10000, 43999, 44000, 44001, 100000, 1000000, 44000000, 100000000};
    enum { N = 5 };
    const float g[N] = {0.5f, -4.0f, 1e-3f, 3.0f, -0.25f};
    for (size_t i1 = 0; i1 < sizeof betas / sizeof betas[0]; i1++)
        for (size_t i2 = 0; i2 < sizeof betas / sizeof betas[0]; i2++)
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
                for (int keras = 0; keras <= 1; keras++) {
                    const double b1 = betas[i1], b2 = betas[i2], lr = 0.01, eps = 1e-8, t = (double)steps[k];
                    float p[N], m[N], v[N], rp[N];
                    for (int i = 0; i < N; i++) {
                        p[i] = rp[i] = 1.0f - 0.3f * (float)i;
                        m[i] = 0.1f * (float)(i - 2);
                        v[i] = 0.02f * (float)(i + 1);
                    }
                    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
                    const float step = keras ? (float)(lr * sqrt(bc2) / bc1) : (float)(lr / bc1);
                    const float bc2_sqrt = keras ? 1.0f : (float)sqrt(bc2);
                    const float fb1 = (float)b1, fb2 = (float)b2, omb1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
                    for (int i = 0; i < N; i++) {
                        const float mi = m[i] * fb1 + g[i] * omb1, vi = v[i] * fb2 + g[i] * g[i] * omb2;
                        const float denom = keras ? sqrtf(vi) + (float)eps : sqrtf(vi) / bc2_sqrt + (float)eps;
                        rp[i] += -step * mi / denom;
                    }
                    nf_adam_update(N, p, g, m, v, NULL, lr, b1, b2, eps, 0.0, steps[k], keras, keras, 0);
                    ck_assert_msg(memcmp(p, rp, sizeof p) == 0, "beta1 %g beta2 %g t %ld keras %d: %.9g, want %.9g",
                                  b1, b2, steps[k], keras, p[0], rp[0]);
                }
}
END_TEST

/* Keras 3 decays weights decoupled, before the update (p −= lr·wd·p, then the plain update):
 * with --keras, sgd, rmsprop, adagrad and adamax with weight decay move p exactly as the same
 * optimizer without decay moves the decayed p. */
START_TEST(keras_weight_decay_is_decoupled)
{
    const nf_opt_kind kinds[] = {NF_OPT_SGD, NF_OPT_RMSPROP, NF_OPT_ADAGRAD, NF_OPT_ADAMAX};
    const float g[3] = {0.5f, -4.0f, 0.0f};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        nf_opt_config c;
        nf_opt_defaults(kinds[k], &c);
        ck_assert(nf_opt_keras_defaults(&c) == NF_OK);
        c.lr = 0.1;
        nf_optim *with, *without;
        c.weight_decay = 0.5;
        ck_assert(nf_optim_create(&with, &c, 3) == NF_OK);
        c.weight_decay = 0.0;
        ck_assert(nf_optim_create(&without, &c, 3) == NF_OK);
        float p[3] = {1.0f, -2.0f, 3.0f}, q[3];
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < 3; i++) q[i] = p[i] - p[i] * 0.05f;
            nf_optim_step(with, p, g);
            nf_optim_step(without, q, g);
            for (int i = 0; i < 3; i++)
                ck_assert_msg(fabsf(p[i] - q[i]) <= 1e-6f, "%s --keras step %d p[%d]: %.9g, want %.9g",
                              nf_opt_name(kinds[k]), t + 1, i, (double)p[i], (double)q[i]);
        }
        ck_assert(p[2] < 3.0f * 0.95f * 0.95f + 1e-6f); /* g = 0: decay alone moved it */
        nf_optim_free(with);
        nf_optim_free(without);
    }
}
END_TEST

/* Rprop's step sizes are clamped to step_sizes = (min, max) (torch.optim.Rprop): a coordinate
 * whose gradient keeps flipping sign halves its step down to min and then moves by exactly min
 * for as long as it flips; one whose sign holds grows ×eta_plus up to max and stays there.
 * Sign pattern +,−,−,+,+,−,... : each flip halves the step and skips the move (PyTorch zeroes
 * that gradient), the step after it moves with the halved size. */
START_TEST(rprop_step_bounds_reached_and_held)
{
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_RPROP, &c);
    c.lr = 0.01;
    c.step_size_min = 1e-3;
    c.step_size_max = 0.05;
    nf_optim *o;
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    float p[2] = {0.0f, 0.0f};
    double flip_step = 0.01, hold_step = 0.01;
    int flip_at_min = 0, hold_at_max = 0;
    for (int t = 1; t <= 40; t++) {
        const float sign = ((t / 2) % 2) ? -1.0f : 1.0f; /* +, -, -, +, +, -, -, ... */
        const float g[2] = {sign, 1.0f};
        const float before[2] = {p[0], p[1]};
        nf_optim_step(o, p, g);
        const double moved0 = (double)before[0] - p[0], moved1 = (double)before[1] - p[1];
        if (t > 1 && t % 2 == 0) { /* a flip: the step shrinks, nothing moves */
            flip_step = fmax(flip_step * 0.5, 1e-3);
            ck_assert_msg(moved0 == 0.0, "step %d: moved %.9g on a sign flip", t, moved0);
        } else {
            ck_assert_msg(fabs(moved0 - sign * flip_step) < 1e-6, "step %d: moved %.9g, want %.9g",
                          t, moved0, sign * flip_step);
            flip_at_min += flip_step == 1e-3;
        }
        ck_assert_msg(fabs(moved1 - hold_step) < 1e-6, "step %d: moved %.9g, want %.9g", t, moved1,
                      hold_step);
        hold_at_max += hold_step == 0.05;
        hold_step = fmin(hold_step * 1.2, 0.05);
    }
    /* both bounds were reached early (min at step 8, max at step 10) and held since; 1e-6 is
     * float rounding of p (up to 2), far below the gaps between successive step sizes */
    ck_assert_int_ge(flip_at_min, 15);
    ck_assert_int_ge(hold_at_max, 30);
    nf_optim_free(o);
}
END_TEST

static nf_status quad(void *ctx, const float *x, float *g, double *loss)
{
    (void)ctx;
    /* f = Σ (i+1)(x_i − 1)², minimum at 1 */
    double f = 0.0;
    for (int i = 0; i < 5; i++) {
        double d = (double)x[i] - 1.0;
        f += (i + 1) * d * d;
        g[i] = (float)(2.0 * (i + 1) * d);
    }
    *loss = f;
    return NF_OK;
}

static nf_status square(void *ctx, const float *x, float *g, double *loss)
{
    (void)ctx;
    *loss = (double)x[0] * x[0];
    g[0] = 2.0f * x[0];
    return NF_OK;
}

/* L-BFGS on a convex quadratic from 0: torch.optim.LBFGS(tolerance_grad=1e-5) needs 10
 * evaluations in its first step and then stalls at x = 1 ± 5e-6 (gᵀd above −tolerance_change),
 * with and without the line search (checked with PyTorch 1.13); with tolerance_grad 1e-4 the
 * stationary point is reported.  Closures are refused for first-order kinds; tensor shapes
 * must cover the buffer. */
START_TEST(lbfgs_quadratic_and_closure_rules)
{
    nf_opt_config c;
    nf_optim *o;
    double loss;
    for (int ls = 0; ls < 2; ls++) {
        nf_opt_defaults(NF_OPT_LBFGS, &c);
        c.line_search = ls;
        c.tolerance_grad = 1e-5;
        ck_assert(nf_optim_create(&o, &c, 5) == NF_OK);
        float x[5] = {0, 0, 0, 0, 0};
        ck_assert(nf_optim_step_closure(o, x, quad, NULL, &loss) == NF_OK);
        ck_assert_close(loss, 15.0, 0.0);
        ck_assert_int_eq(nf_optim_func_evals(o), 10);
        for (int i = 0; i < 5; i++) ck_assert_close(x[i], 1.0, 1e-5);
        ck_assert(nf_optim_step_closure(o, x, quad, NULL, &loss) == NF_OK);
        ck_assert(loss < 1e-9);
        ck_assert_int_eq(nf_optim_func_evals(o), 11);
        nf_optim_free(o);
        c.tolerance_grad = 1e-4;
        ck_assert(nf_optim_create(&o, &c, 5) == NF_OK);
        for (int i = 0; i < 5; i++) x[i] = 0.0f;
        ck_assert(nf_optim_step_closure(o, x, quad, NULL, &loss) == NF_OK);
        ck_assert(nf_optim_converged(o));
        for (int i = 0; i < 5; i++) ck_assert_close(x[i], 1.0, 1e-4);
        nf_optim_free(o);
    }
    /* tolerance_change 1e-2 ends the first step after 5 iterations (torch.optim.LBFGS,
     * PyTorch 1.13: func_evals 6, n_iter 5, this x) */
    const double x_tc[5] = {1.0120112895965576, 0.9933440685272217, 1.0304710865020752,
                            0.9812345504760742, 1.0004932880401611};
    for (int ls = 0; ls < 2; ls++) {
        nf_opt_defaults(NF_OPT_LBFGS, &c);
        c.line_search = ls;
        c.tolerance_change = 1e-2;
        ck_assert(nf_optim_create(&o, &c, 5) == NF_OK);
        float x[5] = {0, 0, 0, 0, 0};
        ck_assert(nf_optim_step_closure(o, x, quad, NULL, &loss) == NF_OK);
        ck_assert_int_eq(nf_optim_func_evals(o), 6);
        for (int i = 0; i < 5; i++) ck_assert_close(x[i], x_tc[i], 1e-5);
        nf_optim_free(o);
    }
    /* f = x² from 1 with lr 2: the first step lands on −1, where the loss is unchanged, so the
     * loss-change test ends the step after 2 evaluations (PyTorch 1.13: func_evals 2, n_iter 1,
     * x = −1); without it the iterates would swing between ±1 until max_eval */
    nf_opt_defaults(NF_OPT_LBFGS, &c);
    c.lr = 2.0;
    ck_assert(nf_optim_create(&o, &c, 1) == NF_OK);
    float x1 = 1.0f;
    ck_assert(nf_optim_step_closure(o, &x1, square, NULL, &loss) == NF_OK);
    ck_assert_int_eq(nf_optim_func_evals(o), 2);
    ck_assert(x1 == -1.0f);
    nf_optim_free(o);
    float x[5] = {0, 0, 0, 0, 0};
    nf_opt_defaults(NF_OPT_SGD, &c);
    ck_assert(nf_optim_create(&o, &c, 5) == NF_OK);
    ck_assert(nf_optim_step_closure(o, x, quad, NULL, &loss) == NF_EINVAL);
    size_t rows[2] = {2, 1}, cols[2] = {2, 2};
    ck_assert(nf_optim_set_tensors(o, 2, rows, cols) == NF_ESHAPE);
    nf_optim_free(o);
}
END_TEST

/* x [rows, nin] and y [rows, nout] of standard normals from seed (r: the generator after). */
static void random_xy(nf_mat *x, nf_mat *y, int rows, int nin, int nout, uint64_t seed, nf_rng *r)
{
    nf_rng_seed(r, seed);
    ck_assert(nf_mat_alloc(x, rows, nin) == NF_OK && nf_mat_alloc(y, rows, nout) == NF_OK);
    for (int i = 0; i < rows * nin; i++) x->data[i] = (float)nf_rng_normal(r);
    for (int i = 0; i < rows * nout; i++) y->data[i] = (float)nf_rng_normal(r);
}

/* nf_train hands Adafactor the layer shapes (W [out, in] factored, b a vector): full-batch
 * training equals a hand loop that declares the same shapes, and differs from one that
 * treats the buffer as a single vector. */
START_TEST(train_passes_tensor_shapes)
{
    nf_rng r;
    nf_mat x, y;
    random_xy(&x, &y, 40, 3, 2, 3, &r);
    int sizes[3] = {3, 6, 2};
    nf_act_spec h = {NF_ACT_TANH, 0.0f}, o = {NF_ACT_LINEAR, 0.0f};
    nf_model *m[3];
    ck_assert(nf_model_create_mlp(&m[0], 2, sizes, &h, &o) == NF_OK);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
    ck_assert(nf_init_model(m[0], &is, &r) == NF_OK);
    ck_assert(nf_model_clone(&m[1], m[0]) == NF_OK && nf_model_clone(&m[2], m[0]) == NF_OK);
    nf_train_config c;
    nf_train_defaults(&c);
    nf_opt_defaults(NF_OPT_ADAFACTOR, &c.opt);
    c.opt.lr = 0.05;
    c.batch = 0;
    c.epochs = 5;
    ck_assert(nf_train(m[0], &x, &y, &c, NULL) == NF_OK);
    const size_t rows[4] = {6, 6, 2, 2}, cols[4] = {3, 1, 6, 1};
    for (int k = 1; k < 3; k++) {
        nf_optim *opt;
        ck_assert(nf_optim_create(&opt, &c.opt, nf_model_n_params(m[k])) == NF_OK);
        if (k == 1) ck_assert(nf_optim_set_tensors(opt, 4, rows, cols) == NF_OK);
        ck_assert(nf_model_reserve(m[k], 40) == NF_OK);
        for (int e = 0; e < 5; e++) {
            ck_assert(nf_model_grad(m[k], x.data, y.data, 40, &c.loss, 0, NULL) == NF_OK);
            nf_optim_step(opt, nf_model_params(m[k]), nf_model_grads(m[k]));
        }
        nf_optim_free(opt);
    }
    double same = 0.0, other = 0.0;
    for (size_t i = 0; i < nf_model_n_params(m[0]); i++) {
        same = fmax(same, fabs((double)nf_model_params(m[0])[i] - nf_model_params(m[1])[i]));
        other = fmax(other, fabs((double)nf_model_params(m[0])[i] - nf_model_params(m[2])[i]));
    }
    ck_assert_msg(same == 0.0, "nf_train vs shaped loop: %.3g", same);
    ck_assert_msg(other > 1e-4, "one-vector adafactor should differ, got %.3g", other);
    for (int k = 0; k < 3; k++) nf_model_free(m[k]);
    nf_mat_free(&x);
    nf_mat_free(&y);
}
END_TEST

/* nf_set_flush_denormals: by default a step whose result is subnormal gives 0 (FTZ) and a
 * subnormal weight counts as 0 (DAZ); off gives IEEE values; the caller's MXCSR survives. */
START_TEST(subnormals_flushed)
{
    ck_assert_int_eq(nf_flush_denormals(), 1);
    nf_opt_config c;
    nf_optim *o;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.lr = 1.0;
    ck_assert(nf_optim_create(&o, &c, 1) == NF_OK);
    const float g[1] = {1.5e-38f};
    float p[1] = {2e-38f}; /* 2e-38 - 1.5e-38 = 5e-39 < FLT_MIN */
    nf_optim_step(o, p, g);
    ck_assert(p[0] == 0.0f);
    nf_set_flush_denormals(0);
    p[0] = 2e-38f;
    nf_optim_step(o, p, g);
    ck_assert_float_eq_tol(p[0], 5e-39f, 1e-44f);
    ck_assert(p[0] > 0.0f);
    nf_set_flush_denormals(1);
    nf_optim_free(o);

    /* forward (fused small-MLP path, small-shape loops and sgemm): z = w·x + b with w subnormal */
    const int prev_small = nf_dense_small_max(), prev_fused = nf_model_set_fused_max(0);
    nf_model_set_fused_max(prev_fused);
    for (int path = 0; path < 3; path++) {
        const int sizes[2] = {1, 1};
        nf_model *m = tu_mlp(1, sizes, NF_ACT_RELU, NF_INIT_ZEROS, 1);
        ck_assert(m && nf_model_reserve(m, 1) == NF_OK);
        nf_model_set_fused_max(path == 0 ? prev_fused : 0);
        nf_dense_set_small_max(path == 1 ? 16 : 0);
        const float x[1] = {1e30f};
        float out[1];
        nf_model_params(m)[0] = 1e-39f;
        nf_model_params(m)[1] = 0.0f;
        ck_assert(nf_model_predict(m, x, 1, out) == NF_OK);
        ck_assert_msg(out[0] == 0.0f, "flushed: %g", (double)out[0]);
        nf_set_flush_denormals(0);
        ck_assert(nf_model_predict(m, x, 1, out) == NF_OK);
        ck_assert_float_eq_tol(out[0], 1e-9f, 1e-12f);
        nf_set_flush_denormals(1);
        nf_model_free(m);
    }
    nf_dense_set_small_max(prev_small);
    nf_model_set_fused_max(prev_fused);
    /* nf_train holds the mode over its batch loops (shuffled and not, fused and per-layer
     * steps) and hands the caller's back */
    for (int k = 0; k < 4; k++) {
        nf_rng r;
        nf_mat x, y;
        random_xy(&x, &y, 30, 2, 1, 11, &r);
        const int sizes[3] = {2, 4, 1};
        nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 5);
        nf_train_config tc;
        nf_train_defaults(&tc);
        tc.epochs = 3;
        tc.batch = 8;
        tc.shuffle = k & 1;
        if (k & 2) nf_model_set_fused_max(0);
        ck_assert(nf_train(m, &x, &y, &tc, NULL) == NF_OK);
        nf_model_set_fused_max(prev_fused);
        volatile float t2 = 2e-38f;
        volatile float q = t2 * 0.25f;
        ck_assert_msg(q > 0.0f, "case %d: the caller's mode was not restored", k);
        nf_model_free(m);
        nf_mat_free(&x);
        nf_mat_free(&y);
    }
#if defined(__x86_64__)
    /* the calling thread's mode is restored: plain C arithmetic here still sees subnormals */
    volatile float tiny = 2e-38f;
    volatile float half = tiny * 0.25f;
    ck_assert(half > 0.0f);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_optim_basic");
    TCase *tc = tcase_create("basic");
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, uses_whole_words);
    tcase_add_test(tc, validation);
    tcase_add_test(tc, hand_steps);
    tcase_add_test(tc, adam_bias_correction_exact);
    tcase_add_test(tc, rprop_step_bounds_reached_and_held);
    tcase_add_test(tc, keras_weight_decay_is_decoupled);
    tcase_add_test(tc, lbfgs_quadratic_and_closure_rules);
    tcase_add_test(tc, train_passes_tensor_shapes);
    tcase_add_test(tc, subnormals_flushed);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
