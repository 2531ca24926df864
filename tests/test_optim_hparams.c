/* test_optim_hparams.c — the optimizer hyperparameter table: its rows, which optimizers read
 * which row (against nf_opt_uses), defaults inside the ranges, set/get/parse with their range
 * errors, validation messages from the table, labels, and the state buffers each descriptor
 * allocates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int hp(const char *name)
{
    const int i = nf_opt_hparam_find(name);
    ck_assert_msg(i >= 0, "no hyperparameter %s", name);
    return i;
}

/* Whether w is a whole word of the space-separated list. */
static int has_word(const char *list, const char *w)
{
    const size_t len = strlen(w);
    for (const char *p = list; (p = strstr(p, w)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

START_TEST(table_rows)
{
    const int n = nf_opt_hparam_count();
    ck_assert_int_ge(n, 40);
    ck_assert_ptr_null(nf_opt_hparam_at(-1));
    ck_assert_ptr_null(nf_opt_hparam_at(n));
    for (int i = 0; i < n; i++) {
        const nf_opt_hparam *h = nf_opt_hparam_at(i);
        ck_assert(h && h->name[0] && h->option[0] && h->help && h->help[0]);
        ck_assert_int_eq(nf_opt_hparam_find(h->name), i);
        ck_assert_int_eq(nf_opt_hparam_find(h->option), i);
        ck_assert_msg(h->lo <= h->hi, "%s: range [%g, %g]", h->name, h->lo, h->hi);
        ck_assert(h->offset + (h->type == NF_HP_REAL || h->type == NF_HP_PAIR ? sizeof(double) : sizeof(int)) <=
                  sizeof(nf_opt_config));
        ck_assert(h->offset != offsetof(nf_opt_config, kind));
        ck_assert(!strchr(h->option, '_') && !strchr(h->name, '-'));
        if (h->type == NF_HP_FLAG) ck_assert(h->lo == 0 && h->hi == 1 && (h->flag_value == 0 || h->flag_value == 1));
        if (h->type == NF_HP_CHOICE) ck_assert(h->choices && strchr(h->choices, '|'));
        if (h->type == NF_HP_PAIR) ck_assert(h->parts && strchr(h->parts, ',') && h->offset2 != h->offset);
        for (int j = 0; j < i; j++) ck_assert(nf_opt_hparam_at(j)->offset != h->offset);
    }
    ck_assert_int_eq(nf_opt_hparam_find("nosuch"), -1);
    ck_assert_int_eq(nf_opt_hparam_find(NULL), -1);
    ck_assert_int_eq(nf_opt_hparam_find("weight-decay"), nf_opt_hparam_find("weight_decay"));
    ck_assert_int_eq(nf_opt_hparam_find("no-relative-step"), nf_opt_hparam_find("relative_step"));
    ck_assert_int_eq(nf_opt_hparam_at(hp("relative_step"))->flag_value, 0);
    ck_assert_int_eq(nf_opt_hparam_at(hp("nesterov"))->flag_value, 1);
    ck_assert_uint_eq(nf_opt_hparam_at(hp("betas"))->offset2, offsetof(nf_opt_config, beta2));
    ck_assert_int_eq(nf_opt_hparam_find("lr"), 0); /* labels list lr first */
}
END_TEST

/* nf_opt_reads agrees with nf_opt_uses word for word, for every kind and row. */
START_TEST(reads_match_uses)
{
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        const nf_opt_kind kind = (nf_opt_kind)k;
        const char *uses = nf_opt_uses(kind);
        int n_read = 0, n_words = 0;
        for (int i = 0; i < nf_opt_hparam_count(); i++) {
            const char *name = nf_opt_hparam_at(i)->name;
            const int r = nf_opt_reads(kind, i);
            ck_assert_msg(r == has_word(uses, name), "%s / %s: reads %d, uses '%s'", nf_opt_name(kind),
                          name, r, uses);
            ck_assert_int_eq(r, nf_opt_uses_param(kind, name));
            n_read += r;
        }
        char copy[512];
        snprintf(copy, sizeof copy, "%s", uses);
        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            ck_assert_msg(nf_opt_hparam_find(w) >= 0, "%s uses unknown '%s'", nf_opt_name(kind), w);
            n_words++;
        }
        ck_assert_int_eq(n_read, n_words);
        ck_assert_int_eq(nf_opt_reads(kind, hp("keras")), nf_opt_has_keras(kind));
        ck_assert_int_eq(nf_opt_reads(kind, hp("lr")), kind != NF_OPT_LM);
        ck_assert_int_eq(nf_opt_reads(kind, -1), 0);
        ck_assert_int_eq(nf_opt_reads(kind, nf_opt_hparam_count()), 0);
    }
    ck_assert_int_eq(nf_opt_reads(NF_OPT_COUNT, 0), 0);
    ck_assert_str_eq(nf_opt_uses(NF_OPT_RMSPROP), "lr alpha eps weight_decay momentum centered keras");
    ck_assert_str_eq(nf_opt_uses(NF_OPT_LM), "mu mu_dec mu_inc mu_max min_grad");
    ck_assert(nf_opt_reads(NF_OPT_ADAFACTOR, hp("no-relative-step")));
    ck_assert(!nf_opt_reads(NF_OPT_ADAFACTOR, hp("eps")));
}
END_TEST

/* Defaults (PyTorch's and Keras') are inside the table's ranges, round-trip through get/set,
 * validate, and leave the fields a kind does not read at 0. */
START_TEST(defaults_in_range)
{
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        for (int keras = 0; keras <= nf_opt_has_keras((nf_opt_kind)k); keras++) {
            nf_opt_config c, back;
            nf_opt_defaults((nf_opt_kind)k, &c);
            if (keras) ck_assert(nf_opt_keras_defaults(&c) == NF_OK);
            ck_assert_msg(nf_opt_validate(&c) == NF_OK, "%s: %s", nf_opt_name((nf_opt_kind)k), nf_last_error());
            memset(&back, 0, sizeof back);
            back.kind = c.kind;
            for (int i = 0; i < nf_opt_hparam_count(); i++) {
                double a, b;
                nf_opt_hparam_get(&c, i, &a, &b);
                if (!nf_opt_reads(c.kind, i)) {
                    ck_assert_msg(a == 0.0 && b == 0.0, "%s: unread %s = %g", nf_opt_name(c.kind),
                                  nf_opt_hparam_at(i)->name, a);
                    continue;
                }
                ck_assert_msg(nf_opt_hparam_set(&back, i, a, b) == NF_OK, "%s default: %s",
                              nf_opt_name(c.kind), nf_last_error());
            }
            ck_assert_msg(!memcmp(&back, &c, sizeof c), "%s: set(get()) differs", nf_opt_name(c.kind));
        }
    }
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    double a = -1, b = -1;
    nf_opt_hparam_get(&c, hp("lr"), &a, &b);
    ck_assert(a == 0.01 && b == 0.0);
    nf_opt_hparam_get(&c, hp("momentum"), &a, NULL); /* b may be NULL */
    ck_assert(a == 0.0);
    nf_opt_hparam_get(&c, -1, &a, &b);
    ck_assert(a == 0.0 && b == 0.0);
}
END_TEST

static void expect_error(nf_status st, const char *msg)
{
    ck_assert_int_eq(st, NF_EINVAL);
    ck_assert_msg(!strcmp(nf_last_error(), msg), "got '%s', want '%s'", nf_last_error(), msg);
}

START_TEST(set_and_parse)
{
    nf_opt_config c, before;
    nf_opt_defaults(NF_OPT_ADAM, &c);
    ck_assert(nf_opt_hparam_set(&c, hp("lr"), 0.5, 0) == NF_OK && c.lr == 0.5);
    ck_assert(nf_opt_hparam_set(&c, hp("lr"), 1e-30, 0) == NF_OK && c.lr == 1e-30); /* inclusive */
    ck_assert(nf_opt_hparam_set(&c, hp("lr"), 1e6, 0) == NF_OK);
    ck_assert(nf_opt_hparam_set(&c, hp("betas"), 0.8, 0.95) == NF_OK && c.beta1 == 0.8 && c.beta2 == 0.95);
    ck_assert(nf_opt_hparam_set(&c, hp("weight-decay"), 0.25, 0) == NF_OK && c.weight_decay == 0.25);
    before = c;
    expect_error(nf_opt_hparam_set(&c, hp("lr"), 0.0, 0), "--lr: 0 is outside [1e-30, 1e+06]");
    expect_error(nf_opt_hparam_set(&c, hp("lr"), NAN, 0), "--lr: nan is outside [1e-30, 1e+06]");
    expect_error(nf_opt_hparam_set(&c, hp("betas"), 0.9, 1.0), "--betas: 1 is outside [0, 0.999999999]");
    expect_error(nf_opt_hparam_set(&c, hp("betas"), -0.1, 0.5), "--betas: -0.1 is outside [0, 0.999999999]");
    expect_error(nf_opt_hparam_set(&c, hp("max_iter"), 2.5, 0), "--max-iter: 2.5 is not an integer");
    expect_error(nf_opt_hparam_set(&c, hp("max_iter"), 0, 0), "--max-iter: 0 is outside [1, 1000000000]");
    expect_error(nf_opt_hparam_set(&c, hp("nesterov"), 2, 0), "--nesterov: 2 is not 0 or 1");
    expect_error(nf_opt_hparam_set(&c, hp("line_search"), 2, 0),
                 "--line-search: 2 is not the index of one of none|strong_wolfe");
    expect_error(nf_opt_hparam_set(&c, -1, 1, 0), "no optimizer hyperparameter -1");
    ck_assert(!memcmp(&c, &before, sizeof c)); /* failures change nothing */
    ck_assert(nf_opt_hparam_set(&c, hp("history_size"), 7, 0) == NF_OK && c.history_size == 7);
    ck_assert(nf_opt_hparam_set(&c, hp("line_search"), 1, 0) == NF_OK && c.line_search == 1);
    ck_assert(nf_opt_hparam_set(&c, hp("relative_step"), 0, 0) == NF_OK && c.relative_step == 0);

    /* text forms, as the command line gives them */
    ck_assert(nf_opt_hparam_parse(&c, hp("lr"), "0.25") == NF_OK && c.lr == 0.25);
    ck_assert(nf_opt_hparam_parse(&c, hp("betas"), "0.5,0.75") == NF_OK && c.beta1 == 0.5 && c.beta2 == 0.75);
    ck_assert(nf_opt_hparam_parse(&c, hp("max-iter"), "12") == NF_OK && c.max_iter == 12);
    ck_assert(nf_opt_hparam_parse(&c, hp("line-search"), "none") == NF_OK && c.line_search == 0);
    ck_assert(nf_opt_hparam_parse(&c, hp("line-search"), "strong_wolfe") == NF_OK && c.line_search == 1);
    c.relative_step = 1;
    ck_assert(nf_opt_hparam_parse(&c, hp("no-relative-step"), NULL) == NF_OK && c.relative_step == 0);
    ck_assert(nf_opt_hparam_parse(&c, hp("amsgrad"), NULL) == NF_OK && c.amsgrad == 1);
    before = c;
    expect_error(nf_opt_hparam_parse(&c, hp("lr"), "abc"), "--lr: 'abc' is not a finite number");
    expect_error(nf_opt_hparam_parse(&c, hp("lr"), "inf"), "--lr: 'inf' is not a finite number");
    expect_error(nf_opt_hparam_parse(&c, hp("lr"), "2e6"), "--lr: 2e+06 is outside [1e-30, 1e+06]");
    expect_error(nf_opt_hparam_parse(&c, hp("betas"), "0.9"),
                 "--betas: expected two numbers like 0.9,0.999, got '0.9'");
    expect_error(nf_opt_hparam_parse(&c, hp("betas"), "0.9,x"), "--betas: 'x' is not a finite number");
    expect_error(nf_opt_hparam_parse(&c, hp("max-iter"), "1e3"), "--max-iter: '1e3' is not an integer");
    expect_error(nf_opt_hparam_parse(&c, hp("line-search"), "armijo"),
                 "--line-search: 'armijo' is not one of none|strong_wolfe");
    ck_assert(!memcmp(&c, &before, sizeof c));
}
END_TEST

/* Validation checks each hyperparameter the kind reads against the table (naming the option)
 * and only those; the rules tying values together come from the descriptor. */
START_TEST(validate_from_table)
{
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.lr = 0.0;
    expect_error(nf_opt_validate(&c), "sgd: lr = 0 is outside [1e-30, 1e+06] (--lr)");
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.beta2 = 1.0;
    expect_error(nf_opt_validate(&c), "adam: beta2 = 1 is outside [0, 0.999999999] (--betas)");
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.amsgrad = 2;
    expect_error(nf_opt_validate(&c), "adam: amsgrad = 2 is outside [0, 1] (--amsgrad)");
    nf_opt_defaults(NF_OPT_LBFGS, &c);
    c.line_search = 2;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL && strstr(nf_last_error(), "--line-search"));
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.keras = 2;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL && strstr(nf_last_error(), "--keras"));
    /* fields a kind does not read are not its business */
    nf_opt_defaults(NF_OPT_LM, &c);
    c.lr = -1.0;
    c.beta1 = 7.0;
    ck_assert_msg(nf_opt_validate(&c) == NF_OK, "%s", nf_last_error());
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.eps = -1.0;
    c.amsgrad = 5;
    ck_assert(nf_opt_validate(&c) == NF_OK);
    /* the descriptors' own rules */
    nf_opt_defaults(NF_OPT_RMSPROP, &c);
    c.alpha = 1.0; /* in the table's range (asgd's power shares the row), not rmsprop's */
    expect_error(nf_opt_validate(&c), "rmsprop: alpha must be in [0, 1), got 1");
    nf_opt_defaults(NF_OPT_ASGD, &c);
    c.alpha = 1.0;
    ck_assert(nf_opt_validate(&c) == NF_OK);
    nf_opt_defaults(NF_OPT_LM, &c);
    c.mu_max = c.mu;
    expect_error(nf_opt_validate(&c), "lm: mu_max must be > mu, got 0.001");
    nf_opt_defaults(NF_OPT_RPROP, &c);
    c.step_size_min = 2.0, c.step_size_max = 1.0;
    ck_assert(nf_opt_validate(&c) == NF_EINVAL && strstr(nf_last_error(), "step_sizes"));
    c.kind = NF_OPT_COUNT;
    expect_error(nf_opt_validate(&c), "unknown optimizer 16");
}
END_TEST

static void expect_label(const nf_opt_config *c, const char *want)
{
    char buf[256];
    nf_opt_label(c, buf, sizeof buf);
    ck_assert_msg(!strcmp(buf, want), "label '%s', want '%s'", buf, want);
}

START_TEST(labels)
{
    nf_opt_config c;
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        nf_opt_defaults((nf_opt_kind)k, &c);
        expect_label(&c, nf_opt_name((nf_opt_kind)k));
        if (nf_opt_has_keras((nf_opt_kind)k)) {
            char want[64];
            snprintf(want, sizeof want, "%s(keras)", nf_opt_name((nf_opt_kind)k));
            ck_assert(nf_opt_keras_defaults(&c) == NF_OK);
            expect_label(&c, want);
        }
    }
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.momentum = 0.9;
    expect_label(&c, "sgd(momentum=0.9)");
    c.nesterov = 1;
    c.lr = 0.1 + 0.2; /* printed so that it reads back exactly */
    expect_label(&c, "sgd(lr=0.30000000000000004,momentum=0.9,nesterov)");
    nf_opt_defaults(NF_OPT_SGD, &c);
    c.beta1 = 0.5; /* not read by sgd */
    c.lr = 1e-5;
    expect_label(&c, "sgd(lr=1e-05)");
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.lr = 0.003;
    c.amsgrad = 1;
    expect_label(&c, "adam(lr=0.003,amsgrad)");
    nf_opt_defaults(NF_OPT_ADAM, &c);
    c.beta1 = 0.8;
    expect_label(&c, "adam(betas=(0.8,0.999))");
    c.beta1 = 0.9, c.beta2 = 0.99; /* only the second differs */
    expect_label(&c, "adam(betas=(0.9,0.99))");
    nf_opt_defaults(NF_OPT_RMSPROP, &c);
    nf_opt_keras_defaults(&c);
    c.momentum = 0.5;
    expect_label(&c, "rmsprop(momentum=0.5,keras)");
    c.lr = 0.01; /* PyTorch's default, not Keras' */
    expect_label(&c, "rmsprop(lr=0.01,momentum=0.5,keras)");
    nf_opt_defaults(NF_OPT_ADAMW, &c);
    nf_opt_keras_defaults(&c);
    c.weight_decay = 0.01; /* PyTorch's adamw default, not Keras' 0.004 */
    expect_label(&c, "adamw(weight_decay=0.01,keras)");
    nf_opt_defaults(NF_OPT_ADAFACTOR, &c);
    c.relative_step = 0;
    expect_label(&c, "adafactor(relative_step=0)");
    nf_opt_defaults(NF_OPT_LBFGS, &c);
    c.line_search = 1;
    c.history_size = 7;
    expect_label(&c, "lbfgs(history_size=7,line_search=strong_wolfe)");
    nf_opt_defaults(NF_OPT_LM, &c);
    c.mu = 0.01;
    c.lr = 0.5; /* lm reads no lr */
    expect_label(&c, "lm(mu=0.01)");
    /* short buffers are cut, always terminated */
    char small[6];
    memset(small, 'x', sizeof small);
    nf_opt_label(&c, small, sizeof small);
    ck_assert_str_eq(small, "lm(mu");
    nf_opt_label(&c, small, 0);
    ck_assert_int_eq(small[0], 'l');
}
END_TEST

/* Each descriptor's buffers, allocated only when the configuration needs them, and their start
 * values after create, reset and reset_range. */
START_TEST(state_buffers)
{
    static const struct {
        nf_opt_kind kind;
        const char *set; /* hyperparameter given, or NULL */
        double value;
        int buffers;
    } cases[] = {
        {NF_OPT_SGD, NULL, 0, 0},        {NF_OPT_SGD, "momentum", 0.9, 1},
        {NF_OPT_ADAM, NULL, 0, 2},       {NF_OPT_ADAM, "amsgrad", 1, 3},
        {NF_OPT_ADAMW, "amsgrad", 1, 3}, {NF_OPT_RMSPROP, NULL, 0, 1},
        {NF_OPT_RMSPROP, "centered", 1, 2}, {NF_OPT_RMSPROP, "momentum", 0.5, 2},
        {NF_OPT_ADAGRAD, NULL, 0, 1},    {NF_OPT_ADADELTA, NULL, 0, 2},
        {NF_OPT_ADAMAX, NULL, 0, 2},     {NF_OPT_NADAM, NULL, 0, 2},
        {NF_OPT_RADAM, NULL, 0, 2},      {NF_OPT_ASGD, NULL, 0, 1},
        {NF_OPT_RPROP, NULL, 0, 2},      {NF_OPT_LION, NULL, 0, 1},
        {NF_OPT_FTRL, NULL, 0, 2},       {NF_OPT_LM, NULL, 0, 0},
    };
    const size_t n = 10;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nf_opt_config c;
        nf_opt_defaults(cases[i].kind, &c);
        if (cases[i].set) ck_assert(nf_opt_hparam_set(&c, hp(cases[i].set), cases[i].value, 0) == NF_OK);
        nf_optim *o;
        ck_assert(nf_optim_create(&o, &c, n) == NF_OK);
        ck_assert_msg(nf_optim_state_bytes(o) == (size_t)cases[i].buffers * n * sizeof(float),
                      "%s %s: %zu bytes", nf_opt_name(cases[i].kind), cases[i].set ? cases[i].set : "",
                      nf_optim_state_bytes(o));
        nf_optim_free(o);
    }
    /* rprop's step sizes start at lr: a first step moves each parameter by lr; after reset and
     * reset_range the same again (from the lr of the time) */
    nf_opt_config c;
    nf_opt_defaults(NF_OPT_RPROP, &c);
    nf_optim *o;
    ck_assert(nf_optim_create(&o, &c, 2) == NF_OK);
    float p[2] = {0, 0};
    const float g[2] = {1, -1};
    nf_optim_step(o, p, g);
    ck_assert(p[0] == -0.01f && p[1] == 0.01f);
    nf_optim_set_lr(o, 0.5);
    nf_optim_reset_range(o, 1, 5); /* clipped to the buffer */
    nf_optim_step(o, p, g);
    ck_assert_float_eq_tol(p[0], -0.022f, 1e-8f);
    ck_assert_float_eq(p[1], 0.01f + 0.5f);
    nf_optim_reset(o);
    ck_assert_int_eq(nf_optim_steps(o), 0);
    p[0] = p[1] = 0;
    nf_optim_step(o, p, g);
    ck_assert(p[0] == -0.5f && p[1] == 0.5f);
    nf_optim_free(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_optim_hparams");
    TCase *tc = tcase_create("hparams");
    tcase_add_test(tc, table_rows);
    tcase_add_test(tc, reads_match_uses);
    tcase_add_test(tc, defaults_in_range);
    tcase_add_test(tc, set_and_parse);
    tcase_add_test(tc, validate_from_table);
    tcase_add_test(tc, labels);
    tcase_add_test(tc, state_buffers);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
