/* test_act_loss.c — activations and losses: values against closed forms, derivatives against
 * central finite differences. */
#include "testutil.h"

static float act1(nf_act_spec s, float z)
{
    float a;
    nf_act_forward(&s, &z, &a, 1);
    return a;
}

/* act'(z) as the library computes it (backward of d = 1). */
static float dact1(nf_act_spec s, float z)
{
    float a = act1(s, z), d = 1.0f;
    nf_act_backward(&s, nf_act_needs_z(s.kind) ? &z : NULL, &a, &d, 1);
    return d;
}

static nf_act_spec spec(nf_act_kind k)
{
    nf_act_spec s = {k, nf_act_default_param(k)};
    return s;
}

START_TEST(values_match_closed_forms)
{
    ck_assert_close(act1(spec(NF_ACT_LINEAR), -1.5f), -1.5, 0);
    ck_assert_close(act1(spec(NF_ACT_RELU), -1.0f), 0.0, 0);
    ck_assert_close(act1(spec(NF_ACT_RELU), 2.0f), 2.0, 0);
    ck_assert_close(act1(spec(NF_ACT_LEAKY_RELU), -2.0f), -0.02, 1e-8);
    ck_assert_close(act1(spec(NF_ACT_ELU), -1.0f), exp(-1.0) - 1.0, 1e-7);
    ck_assert_close(act1(spec(NF_ACT_SELU), 1.0f), 1.0507009873554805, 1e-6);
    ck_assert_close(act1(spec(NF_ACT_SELU), -1.0f), 1.0507009873554805 * 1.6732632423543772 * (exp(-1.0) - 1.0), 1e-6);
    /* torch.nn.functional.gelu(1.0, approximate='tanh') = 0.8411919906, exact 0.8413447461 */
    ck_assert_close(act1(spec(NF_ACT_GELU), 1.0f), 0.8411919906, 1e-6);
    ck_assert_close(act1(spec(NF_ACT_GELU_ERF), 1.0f), 0.8413447461, 1e-6);
    ck_assert_close(act1(spec(NF_ACT_SOFTPLUS), 0.0f), log(2.0), 1e-7);
    ck_assert_close(act1(spec(NF_ACT_SOFTPLUS), 30.0f), 30.0, 0); /* linear above 20 */
    ck_assert_close(act1(spec(NF_ACT_TANH), 0.5f), tanh(0.5), 1e-7);
    ck_assert_close(act1(spec(NF_ACT_SIGMOID), 0.0f), 0.5, 0);
    ck_assert_close(act1(spec(NF_ACT_SWISH), 1.0f), 1.0 / (1.0 + exp(-1.0)), 1e-7);
    ck_assert_close(act1(spec(NF_ACT_ABS), -3.0f), 3.0, 0);
    ck_assert_close(act1(spec(NF_ACT_PRELU), -2.0f), -0.5, 0); /* torch.nn.PReLU's 0.25 */
    ck_assert_close(act1(spec(NF_ACT_PRELU), 2.0f), 2.0, 0);
    ck_assert_close(act1(spec(NF_ACT_ELU_LEARN), -1.0f), exp(-1.0) - 1.0, 1e-7);
}
END_TEST

START_TEST(kink_derivatives_follow_pytorch)
{
    ck_assert_close(dact1(spec(NF_ACT_RELU), 0.0f), 0.0, 0);
    ck_assert_close(dact1(spec(NF_ACT_ABS), 0.0f), 0.0, 0);
    ck_assert_close(dact1(spec(NF_ACT_LEAKY_RELU), 0.0f), 0.01, 1e-9);
    ck_assert_close(dact1(spec(NF_ACT_ABS), -2.0f), -1.0, 0);
    ck_assert_close(dact1(spec(NF_ACT_PRELU), 0.0f), 0.25, 0);
    ck_assert_close(dact1(spec(NF_ACT_ELU_LEARN), 0.0f), 1.0, 1e-7);
}
END_TEST

START_TEST(derivatives_match_finite_differences)
{
    const float zs[] = {-3.1f, -1.3f, -0.45f, -0.07f, 0.11f, 0.6f, 1.7f, 4.2f};
    const float h = 1e-2f;
    for (int k = 0; k < NF_ACT_COUNT; k++) {
        nf_act_spec s = spec((nf_act_kind)k);
        if (k == NF_ACT_LEAKY_RELU) s.param = 0.2f;
        if (k == NF_ACT_ELU || k == NF_ACT_ELU_LEARN) s.param = 0.7f;
        if (k == NF_ACT_PRELU) s.param = -0.3f;
        for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
            float z = zs[i];
            double fd = ((double)act1(s, z + h) - (double)act1(s, z - h)) / (2.0 * h);
            double an = dact1(s, z);
            ck_assert_msg(fabs(fd - an) <= 2e-3 * (1.0 + fabs(an)), "%s'(%g): analytic %.7g, fd %.7g",
                          nf_act_name(s.kind), z, an, fd);
        }
    }
}
END_TEST

/* Per-unit parameters: values against the flat kernels with that unit's parameter,
 * derivatives in z and in p against central differences of L = Σ g·a, and dp accumulation. */
START_TEST(unit_params_match_finite_differences)
{
    enum { R = 5, C = 4 };
    const nf_act_kind kinds[2] = {NF_ACT_PRELU, NF_ACT_ELU_LEARN};
    /* negative, zero and positive parameters: training may take them anywhere */
    const float ps[2][C] = {{0.25f, -0.4f, 0.0f, 1.3f}, {1.0f, 0.3f, -0.5f, 0.0f}};
    const float b[C] = {0.1f, -0.2f, 0.05f, 0.0f};
    nf_rng rng;
    nf_rng_seed(&rng, 8);
    for (int t = 0; t < 2; t++) {
        const nf_act_kind k = kinds[t];
        const float *p = ps[t];
        ck_assert(nf_act_learnable(k) && nf_act_needs_z(k));
        float Z0[R * C], Z[R * C], A[R * C], g[R * C], d[R * C], dp[C];
        for (int i = 0; i < R * C; i++) {
            Z0[i] = (float)nf_rng_range(&rng, -2.5, 2.5);
            g[i] = (float)nf_rng_range(&rng, -1.0, 1.0);
        }
        memcpy(Z, Z0, sizeof Z);
        nf_act_unit_forward(k, Z, b, p, R, C, A);
        for (int i = 0; i < R * C; i++) {
            nf_act_spec s = {k, p[i % C]};
            ck_assert(Z[i] == Z0[i] + b[i % C]);
            ck_assert(A[i] == act1(s, Z[i]));
        }
        memcpy(d, g, sizeof d);
        for (int j = 0; j < C; j++) dp[j] = 0.5f;
        nf_act_unit_backward(k, Z, A, p, d, R, C, dp, 1);
        const double h = 1e-3;
        for (int j = 0; j < C; j++) {
            /* ∂L/∂p_j by central differences over the column */
            double up = 0, dn = 0;
            for (int r = 0; r < R; r++) {
                nf_act_spec su = {k, (float)(p[j] + h)}, sd = {k, (float)(p[j] - h)};
                up += (double)g[r * C + j] * act1(su, Z[r * C + j]);
                dn += (double)g[r * C + j] * act1(sd, Z[r * C + j]);
            }
            const double fd = (up - dn) / (2 * h);
            ck_assert_msg(fabs(dp[j] - 0.5 - fd) <= 1e-3 * (1 + fabs(fd)), "%s dp[%d]: %.7g vs fd %.7g",
                          nf_act_name(k), j, dp[j] - 0.5, fd);
            for (int r = 0; r < R; r++) {
                const int i = r * C + j;
                nf_act_spec s = {k, p[j]};
                const double fz = ((double)act1(s, (float)(Z[i] + h)) - act1(s, (float)(Z[i] - h))) / (2 * h);
                ck_assert_msg(fabs(d[i] - g[i] * fz) <= 2e-3 * (1 + fabs(fz)), "%s z[%d]: %.7g vs fd %.7g",
                              nf_act_name(k), i, d[i], g[i] * fz);
            }
        }
        /* accumulate = 0 overwrites; NULL dp only scales dA */
        float d2[R * C], dp2[C], d3[R * C];
        memcpy(d2, g, sizeof d2);
        memcpy(d3, g, sizeof d3);
        for (int j = 0; j < C; j++) dp2[j] = 1e9f;
        nf_act_unit_backward(k, Z, A, p, d2, R, C, dp2, 0);
        nf_act_unit_backward(k, Z, A, p, d3, R, C, NULL, 0);
        for (int j = 0; j < C; j++) ck_assert_close(dp2[j], dp[j] - 0.5f, 1e-6);
        ck_assert(!memcmp(d2, d, sizeof d) && !memcmp(d3, d, sizeof d));
        ck_assert_str_eq(nf_act_param_name(k), t ? "alpha" : "weight");
    }
    ck_assert(!nf_act_learnable(NF_ACT_ELU) && !nf_act_param_name(NF_ACT_LEAKY_RELU));
}
END_TEST

START_TEST(fused_bias_forward_matches_plain)
{
    nf_act_spec s = spec(NF_ACT_GELU);
    float Z[6] = {0.1f, -0.2f, 0.3f, 1.0f, -1.0f, 2.0f}, A[6];
    const float b[3] = {0.5f, -0.5f, 0.25f};
    float ref[6];
    for (int i = 0; i < 6; i++) ref[i] = act1(s, Z[i] + b[i % 3]);
    nf_act_bias_forward(&s, Z, b, 2, 3, A);
    for (int i = 0; i < 6; i++) ck_assert_close(A[i], ref[i], 0);
}
END_TEST

START_TEST(act_names_round_trip)
{
    for (int k = 0; k < NF_ACT_COUNT; k++) {
        nf_act_spec s;
        ck_assert_int_eq(nf_act_parse(nf_act_name((nf_act_kind)k), &s), NF_OK);
        ck_assert_int_eq(s.kind, k);
    }
    nf_act_spec s;
    ck_assert_int_eq(nf_act_parse("silu", &s), NF_OK);
    ck_assert_int_eq(s.kind, NF_ACT_SWISH);
    ck_assert_int_eq(nf_act_parse("relu6", &s), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "leaky_relu"));
}
END_TEST

START_TEST(loss_values)
{
    const float p[2] = {1.0f, 2.0f}, t[2] = {0.0f, 0.0f};
    nf_loss_spec s = {NF_LOSS_MSE, 1.0f};
    ck_assert_close(nf_loss_value(&s, p, t, 2), 2.5, 1e-12);
    s.kind = NF_LOSS_MAE;
    ck_assert_close(nf_loss_value(&s, p, t, 2), 1.5, 1e-12);
    s.kind = NF_LOSS_HUBER; /* 0.5·1² and 1·(2 − 0.5) */
    ck_assert_close(nf_loss_value(&s, p, t, 2), 1.0, 1e-12);
    s.delta = 3.0f; /* both quadratic: (0.5 + 2)/2 */
    ck_assert_close(nf_loss_value(&s, p, t, 2), 1.25, 1e-12);
    s.kind = NF_LOSS_LOG_COSH;
    ck_assert_close(nf_loss_value(&s, p, t, 2), (log(cosh(1.0)) + log(cosh(2.0))) / 2, 1e-12);
    const float big = 1e4f, zero = 0.0f; /* no overflow in cosh */
    ck_assert_close(nf_loss_value(&s, &big, &zero, 1), 1e4 - log(2.0), 1e-6);
}
END_TEST

START_TEST(loss_gradients_match_finite_differences)
{
    const float t[5] = {0.3f, -1.0f, 2.0f, 0.0f, 0.5f};
    const float p0[5] = {1.1f, -0.2f, 0.4f, -2.5f, 0.45f};
    for (int k = 0; k < NF_LOSS_COUNT; k++) {
        nf_loss_spec s = {(nf_loss_kind)k, 0.7f};
        float p[5], g[5];
        memcpy(p, p0, sizeof p);
        double v = nf_loss_grad(&s, p, t, 5, 5, g);
        /* the gradient pass squares float residuals, nf_loss_value double ones */
        ck_assert_close(v, nf_loss_value(&s, p, t, 5), 1e-6 * fabs(v));
        for (int i = 0; i < 5; i++) {
            const float h = 1e-3f;
            p[i] = p0[i] + h;
            double up = nf_loss_value(&s, p, t, 5);
            p[i] = p0[i] - h;
            double dn = nf_loss_value(&s, p, t, 5);
            p[i] = p0[i];
            double fd = (up - dn) / (2.0 * h);
            ck_assert_msg(fabs(fd - g[i]) <= 1e-4, "%s grad[%d]: %.7g vs fd %.7g", nf_loss_name(s.kind), i,
                          g[i], fd);
        }
    }
}
END_TEST

START_TEST(loss_grad_denominator)
{
    /* A mini-batch that is part of a larger mean scales its gradient by 1/denom. */
    const float p[2] = {1.0f, 3.0f}, t[2] = {0.0f, 0.0f};
    float g[2];
    nf_loss_spec s = {NF_LOSS_MSE, 1.0f};
    double v = nf_loss_grad(&s, p, t, 2, 8, g);
    ck_assert_close(v, 10.0 / 8.0, 1e-12);
    ck_assert_close(g[0], 2.0 / 8.0, 1e-7);
    ck_assert_close(g[1], 6.0 / 8.0, 1e-7);
}
END_TEST

/* ---- vmath.h: the branch-free exp/expm1/log1p behind ELU, SELU, softplus, sigmoid, swish and
 * tanh, against libm in double precision over a dense grid (error in units of the float ulp
 * of the correctly rounded result). ---- */
#include <math.h>
#include <stdlib.h>

#include "../src/vmath.h"

static double ulp_err(float got, double ref)
{
    float rf = (float)ref;
    double u = (double)nextafterf(fabsf(rf), INFINITY) - (double)fabsf(rf);
    return fabs((double)got - ref) / u;
}

START_TEST(vmath_matches_libm)
{
    double e_exp = 0, e_expm1 = 0, e_log1p = 0;
    long n = 0;
    for (float x = -87.0f; x <= 88.0f; x += 7.31e-4f, n++) {
        e_exp = fmax(e_exp, ulp_err(nf_vexpf(x), exp((double)x)));
        e_expm1 = fmax(e_expm1, ulp_err(nf_vexpm1f(x), expm1((double)x)));
    }
    for (float x = -1e-5f; x <= 1e-5f; x += 1.7e-9f, n++) /* expm1's cancellation region */
        e_expm1 = fmax(e_expm1, ulp_err(nf_vexpm1f(x), expm1((double)x)));
    for (float x = -0.9999f; x <= 1e6f; x = x < 1.0f ? x + 1.1e-5f : x * 1.0001f, n++)
        e_log1p = fmax(e_log1p, ulp_err(nf_vlog1pf(x), log1p((double)x)));
    ck_assert_int_gt(n, 400000);
    /* measured: 0.98, 1.44, 0.78 */
    ck_assert_msg(e_exp <= 1.5, "exp error %.3f ulp", e_exp);
    ck_assert_msg(e_expm1 <= 2.0, "expm1 error %.3f ulp", e_expm1);
    ck_assert_msg(e_log1p <= 1.5, "log1p error %.3f ulp", e_log1p);
    ck_assert_float_eq(nf_vexpm1f(0.0f), 0.0f);
    ck_assert_float_eq(nf_vlog1pf(0.0f), 0.0f);
    ck_assert(isfinite(nf_vexpf(1000.0f)) && nf_vexpf(-1000.0f) > 0.0f); /* clamped, see vmath.h */
}
END_TEST

/* The same through nf_act_forward/backward (the vectorised loops that training runs). */
START_TEST(exp_activations_match_libm)
{
    const size_t n = 300000;
    float *z = malloc(n * sizeof *z), *a = malloc(n * sizeof *a), *d = malloc(n * sizeof *d);
    ck_assert(z && a && d);
    for (size_t i = 0; i < n; i++) z[i] = -30.0f + 60.0f * (float)i / (float)n;
    double worst[4] = {0};
    const nf_act_kind kinds[4] = {NF_ACT_ELU, NF_ACT_SOFTPLUS, NF_ACT_SIGMOID, NF_ACT_TANH};
    for (int k = 0; k < 4; k++) {
        nf_act_spec s = spec(kinds[k]);
        nf_act_forward(&s, z, a, n);
        for (size_t i = 0; i < n; i++) {
            double x = z[i], ref = kinds[k] == NF_ACT_ELU ? (x > 0 ? x : expm1(x))
                               : kinds[k] == NF_ACT_SOFTPLUS ? log1p(exp(x))
                               : kinds[k] == NF_ACT_SIGMOID  ? 1.0 / (1.0 + exp(-x))
                                                             : tanh(x);
            worst[k] = fmax(worst[k], ulp_err(a[i], ref));
        }
    }
    /* measured: 1.44, 1.45, 2.10, 1.82 */
    ck_assert_msg(worst[0] <= 2.0, "elu %.3f ulp", worst[0]);
    ck_assert_msg(worst[1] <= 2.0, "softplus %.3f ulp", worst[1]);
    ck_assert_msg(worst[2] <= 3.0, "sigmoid %.3f ulp", worst[2]);
    ck_assert_msg(worst[3] <= 2.5, "tanh %.3f ulp", worst[3]);
    /* softplus' derivative is the sigmoid */
    nf_act_spec sp = spec(NF_ACT_SOFTPLUS);
    nf_act_forward(&sp, z, a, n);
    for (size_t i = 0; i < n; i++) d[i] = 1.0f;
    nf_act_backward(&sp, z, a, d, n);
    double wd = 0;
    for (size_t i = 0; i < n; i++) wd = fmax(wd, ulp_err(d[i], 1.0 / (1.0 + exp(-(double)z[i]))));
    ck_assert_msg(wd <= 3.0, "softplus' %.3f ulp", wd);
    free(z);
    free(a);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("act_loss");
    TCase *tc = tcase_create("act");
    tcase_add_test(tc, values_match_closed_forms);
    tcase_add_test(tc, kink_derivatives_follow_pytorch);
    tcase_add_test(tc, derivatives_match_finite_differences);
    tcase_add_test(tc, unit_params_match_finite_differences);
    tcase_add_test(tc, fused_bias_forward_matches_plain);
    tcase_add_test(tc, act_names_round_trip);
    tcase_add_test(tc, vmath_matches_libm);
    tcase_add_test(tc, exp_activations_match_libm);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("loss");
    tcase_add_test(tl, loss_values);
    tcase_add_test(tl, loss_gradients_match_finite_differences);
    tcase_add_test(tl, loss_grad_denominator);
    suite_add_tcase(s, tl);
    return tu_run(s);
}
