/* test_optim_torch_steps.c — SGD and Adam steps against values PyTorch 1.13 computed.
 *
 * Reference: torch.optim.SGD / Adam on a 3-element parameter (1, -2, 0.5) with the gradient
 * sequence below, printed with %.9g by /usr/bin/python3 (the script is in the comment of
 * run_case).  Four steps exercise first-step momentum init, dampening, Nesterov, weight decay,
 * bias correction and AMSGrad. */
#include "testutil.h"

static const float grads[4][3] = {
    {0.5f, -1.0f, 0.25f}, {0.3f, 0.2f, -0.4f}, {-0.1f, 0.7f, 0.05f}, {0.2f, -0.3f, 0.6f}};

/* for g in grads: p.grad = torch.tensor(g); opt.step(); print(p) */
static void run_case(const nf_opt_config *cfg, const float expect[4][3], double tol)
{
    nf_optim *o;
    ck_assert_int_eq(nf_optim_create(&o, cfg, 3), NF_OK);
    float p[3] = {1.0f, -2.0f, 0.5f};
    for (int s = 0; s < 4; s++) {
        nf_optim_step(o, p, grads[s]);
        for (int i = 0; i < 3; i++)
            ck_assert_msg(fabs(p[i] - expect[s][i]) <= tol, "%s step %d param %d: %.9g vs torch %.9g",
                          nf_opt_name(cfg->kind), s + 1, i, p[i], expect[s][i]);
    }
    ck_assert_int_eq(nf_optim_steps(o), 4);
    nf_optim_free(o);
}

START_TEST(sgd_plain)
{
    static const float e[4][3] = {{0.949999988f, -1.89999998f, 0.474999994f},
                                  {0.919999957f, -1.91999996f, 0.514999986f},
                                  {0.929999948f, -1.99000001f, 0.50999999f},
                                  {0.909999967f, -1.96000004f, 0.449999988f}};
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.lr = 0.1;
    run_case(&c, e, 1e-7);
}
END_TEST

START_TEST(sgd_momentum_dampening_wd)
{
    static const float e[4][3] = {{0.949000001f, -1.898f, 0.4745f},
                                  {0.875245869f, -1.82249177f, 0.487122953f},
                                  {0.817079484f, -1.81589413f, 0.493545204f},
                                  {0.745994329f, -1.781322f, 0.444881022f}};
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.dampening = 0.1;
    c.weight_decay = 0.01;
    run_case(&c, e, 1e-6);
}
END_TEST

START_TEST(sgd_nesterov)
{
    static const float e[4][3] = {{0.94599998f, -1.89199996f, 0.47299999f},
                                  {0.891285956f, -1.85457194f, 0.495142996f},
                                  {0.864277184f, -1.87050641f, 0.489793122f},
                                  {0.816456795f, -1.81883764f, 0.431085646f}};
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.lr = 0.05;
    c.momentum = 0.8;
    c.nesterov = 1;
    c.weight_decay = 0.1;
    run_case(&c, e, 1e-6);
}
END_TEST

START_TEST(adam_default)
{
    static const float e[4][3] = {{0.99000001f, -1.99000001f, 0.49000001f},
                                  {0.980425119f, -1.98488975f, 0.492761135f},
                                  {0.974211097f, -1.98525155f, 0.494209796f},
                                  {0.967526317f, -1.98416829f, 0.490384489f}};
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = 0.01;
    run_case(&c, e, 1e-6);
}
END_TEST

START_TEST(adam_amsgrad_wd)
{
    static const float e[4][3] = {{0.980000019f, -1.98000002f, 0.480000079f},
                                  {0.960862041f, -1.96901202f, 0.48524192f},
                                  {0.948326051f, -1.96876431f, 0.48675707f},
                                  {0.934230864f, -1.9644053f, 0.47681576f}};
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = 0.02;
    c.beta1 = 0.8;
    c.beta2 = 0.95;
    c.eps = 1e-6;
    c.weight_decay = 0.05;
    c.amsgrad = 1;
    run_case(&c, e, 1e-6);
}
END_TEST

START_TEST(adam_first_step_is_lr_times_sign)
{
    /* With m and v bias-corrected, Adam's first step is lr·g/(|g| + eps) ≈ lr·sign(g). */
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = 0.1;
    nf_optim *o;
    ck_assert_int_eq(nf_optim_create(&o, &c, 2), NF_OK);
    float p[2] = {0.0f, 0.0f}, g[2] = {1e-3f, -50.0f};
    nf_optim_step(o, p, g);
    ck_assert_close(p[0], -0.1 * 1e-3 / (1e-3 + 1e-8), 1e-7);
    ck_assert_close(p[1], 0.1, 1e-7);
    nf_optim_free(o);
}
END_TEST

START_TEST(rejects_bad_hyperparameters)
{
    nf_opt_config c;
    nf_optim *o = NULL;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = -1.0;
    ck_assert_int_eq(nf_optim_create(&o, &c, 4), NF_EINVAL);
    ck_assert_ptr_null(o);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "lr"));
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.beta1 = 1.0;
    ck_assert_int_eq(nf_optim_create(&o, &c, 4), NF_EINVAL);
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.nesterov = 1; /* needs momentum */
    ck_assert_int_eq(nf_optim_create(&o, &c, 4), NF_EINVAL);
    nf_opt_kind k;
    ck_assert_int_eq(nf_opt_parse("adamm", &k), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "adam"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim_torch_steps");
    TCase *tc = tcase_create("steps");
    tcase_add_test(tc, sgd_plain);
    tcase_add_test(tc, sgd_momentum_dampening_wd);
    tcase_add_test(tc, sgd_nesterov);
    tcase_add_test(tc, adam_default);
    tcase_add_test(tc, adam_amsgrad_wd);
    tcase_add_test(tc, adam_first_step_is_lr_times_sign);
    tcase_add_test(tc, rejects_bad_hyperparameters);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
