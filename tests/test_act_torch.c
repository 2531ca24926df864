/* test_act_torch.c — prelu and elu_learn against PyTorch (tests/gen_act_fixtures.py).
 *
 * A 3→6→4→2 net with a learnable parameter per hidden unit, whose parameters are loaded in
 * nnfit's buffer order (the fixture lists them in PyTorch's state_dict order, which is the
 * same): its forward outputs, MSE loss and every gradient, then 5 Adam steps (loss before
 * each, parameters after), against torch 1.13's float32 values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_V 512

typedef struct {
    char act[32];
    int sizes[4], rows, steps;
    double lr, loss;
    float x[MAX_V], y[MAX_V], init[MAX_V], out[MAX_V], grad[MAX_V], losses[16], final[MAX_V];
    int n_init, n_out, n_grad, n_final, n_x, n_y, n_losses;
} fixture;

static int read_floats(const char *s, float *v, int max)
{
    int n = 0;
    char *end;
    for (;;) {
        float f = strtof(s, &end);
        if (end == s) break;
        ck_assert_int_lt(n, max);
        v[n++] = f;
        s = end;
    }
    return n;
}

static void load(const char *name, fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    FILE *f = fopen(tu_data(name), "r");
    ck_assert_msg(f != NULL, "cannot open %s", tu_data(name));
    static char line[65536];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        const char *k = line, *v = sp + 1;
        if (!strcmp(k, "act")) sscanf(v, "%31s", fx->act);
        else if (!strcmp(k, "sizes"))
            ck_assert_int_eq(sscanf(v, "%d %d %d %d", &fx->sizes[0], &fx->sizes[1], &fx->sizes[2], &fx->sizes[3]), 4);
        else if (!strcmp(k, "rows")) fx->rows = atoi(v);
        else if (!strcmp(k, "steps")) fx->steps = atoi(v);
        else if (!strcmp(k, "adam_lr")) fx->lr = atof(v);
        else if (!strcmp(k, "loss")) fx->loss = atof(v);
        else if (!strcmp(k, "x")) fx->n_x = read_floats(v, fx->x, MAX_V);
        else if (!strcmp(k, "y")) fx->n_y = read_floats(v, fx->y, MAX_V);
        else if (!strcmp(k, "init")) fx->n_init = read_floats(v, fx->init, MAX_V);
        else if (!strcmp(k, "out")) fx->n_out = read_floats(v, fx->out, MAX_V);
        else if (!strcmp(k, "grad")) fx->n_grad = read_floats(v, fx->grad, MAX_V);
        else if (!strcmp(k, "losses")) fx->n_losses = read_floats(v, fx->losses, 16);
        else if (!strcmp(k, "final")) fx->n_final = read_floats(v, fx->final, MAX_V);
    }
    fclose(f);
    ck_assert_int_eq(fx->n_x, fx->rows * fx->sizes[0]);
    ck_assert_int_eq(fx->n_y, fx->rows * fx->sizes[3]);
    ck_assert_int_eq(fx->n_out, fx->n_y);
    ck_assert_int_eq(fx->n_losses, fx->steps);
}

static void check_vec(const char *what, const char *act, const float *got, const float *want, int n,
                      double tol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(tu_rel(got[i], want[i], 1e-3) <= tol, "%s %s[%d]: nnfit %.9g, torch %.9g", act,
                      what, i, (double)got[i], (double)want[i]);
}

static void check_fixture(const char *file, nf_act_kind expect)
{
    fixture fx;
    load(file, &fx);
    nf_act_spec hid, out = {NF_ACT_LINEAR, 0.0f};
    ck_assert_int_eq(nf_act_parse(fx.act, &hid), NF_OK);
    ck_assert_int_eq(hid.kind, expect);
    nf_model *m;
    ck_assert_int_eq(nf_model_create_mlp(&m, 3, fx.sizes, &hid, &out), NF_OK);
    /* weights, biases and one parameter per hidden unit */
    const size_t np = nf_model_n_params(m);
    ck_assert_int_eq((int)np, fx.n_init);
    ck_assert_int_eq((int)np, fx.n_grad);
    ck_assert_int_eq((int)np, fx.n_final);
    ck_assert_int_eq(nf_model_n_tensors(m), 8);
    memcpy(nf_model_params(m), fx.init, np * sizeof(float));
    ck_assert(nf_model_layer(m, 0)->act_p[0] == fx.init[3 * 6 + 6]); /* after W0 and b0 */
    ck_assert_int_eq(nf_model_reserve(m, fx.rows), NF_OK);
    /* forward and backward */
    float pred[MAX_V];
    ck_assert_int_eq(nf_model_predict(m, fx.x, fx.rows, pred), NF_OK);
    check_vec("output", fx.act, pred, fx.out, fx.n_out, 1e-5);
    const nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    double loss;
    ck_assert_int_eq(nf_model_grad(m, fx.x, fx.y, fx.rows, &mse, 0, &loss), NF_OK);
    ck_assert_msg(tu_rel(loss, fx.loss, 1e-9) <= 1e-6, "%s loss %.9g vs torch %.9g", fx.act, loss, fx.loss);
    check_vec("gradient", fx.act, nf_model_grads(m), fx.grad, fx.n_grad, 1e-4);
    /* Adam from the same start: the slopes/alphas are trained with the rest */
    nf_opt_config oc;
    nf_opt_defaults(NF_OPT_ADAM, &oc);
    oc.lr = fx.lr;
    nf_optim *opt;
    ck_assert_int_eq(nf_optim_create(&opt, &oc, np), NF_OK);
    for (int s = 0; s < fx.steps; s++) {
        ck_assert_int_eq(nf_model_grad(m, fx.x, fx.y, fx.rows, &mse, 0, &loss), NF_OK);
        ck_assert_msg(tu_rel(loss, fx.losses[s], 1e-9) <= 1e-5, "%s Adam step %d: loss %.9g vs torch %.9g",
                      fx.act, s + 1, loss, (double)fx.losses[s]);
        nf_optim_step(opt, nf_model_params(m), nf_model_grads(m));
    }
    check_vec("parameter after Adam", fx.act, nf_model_params(m), fx.final, fx.n_final, 1e-4);
    const nf_dense *L0 = nf_model_layer(m, 0);
    ck_assert(L0->act_p[0] != fx.init[3 * 6 + 6]); /* it moved */
    nf_optim_free(opt);
    nf_model_free(m);
}

START_TEST(prelu_matches_torch) { check_fixture("act/prelu.txt", NF_ACT_PRELU); }
END_TEST

START_TEST(elu_learn_matches_torch) { check_fixture("act/elu_learn.txt", NF_ACT_ELU_LEARN); }
END_TEST

int main(void)
{
    Suite *s = suite_create("act_torch");
    TCase *tc = tcase_create("fixtures");
    tcase_add_test(tc, prelu_matches_torch);
    tcase_add_test(tc, elu_learn_matches_torch);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
