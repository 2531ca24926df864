/* TEMPORARY shim of the hyperparameter table API until the descriptor table lands. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include "nnfit/optim.h"

#define F(field) offsetof(nf_opt_config, field)
static const nf_opt_hparam hps[] = {
    {"lr", "lr", NF_HP_REAL, F(lr), 0, 1e-30, 1e6, NULL, 1, "learning rate"},
    {"momentum", "momentum", NF_HP_REAL, F(momentum), 0, 0, 1e3, NULL, 1, "sgd, rmsprop"},
    {"dampening", "dampening", NF_HP_REAL, F(dampening), 0, -1e3, 1e3, NULL, 1, "sgd"},
    {"nesterov", "nesterov", NF_HP_FLAG, F(nesterov), 0, 0, 0, NULL, 1, "sgd"},
    {"betas", "betas", NF_HP_PAIR, F(beta1), F(beta2), 0.0, 0.999999999, NULL, 1, "B1,B2: adam family, lion"},
    {"eps", "eps", NF_HP_REAL, F(eps), 0, 0.0, 1e3, NULL, 1, "denominator term"},
    {"weight_decay", "weight-decay", NF_HP_REAL, F(weight_decay), 0, 0.0, 1e6, NULL, 1, "L2 added to the gradient (adamw, lion, --keras: decoupled)"},
    {"amsgrad", "amsgrad", NF_HP_FLAG, F(amsgrad), 0, 0, 0, NULL, 1, "adam, adamw"},
    {"alpha", "alpha", NF_HP_REAL, F(alpha), 0, -1e3, 1e3, NULL, 1, "rmsprop smoothing, asgd power"},
    {"centered", "centered", NF_HP_FLAG, F(centered), 0, 0, 0, NULL, 1, "rmsprop"},
    {"rho", "rho", NF_HP_REAL, F(rho), 0, 0.0, 1.0, NULL, 1, "adadelta"},
    {"lr_decay", "lr-decay", NF_HP_REAL, F(lr_decay), 0, 0.0, 1e6, NULL, 1, "adagrad"},
    {"initial_accumulator_value", "initial-accumulator-value", NF_HP_REAL, F(initial_accumulator_value), 0, 0.0, 1e6, NULL, 1, "adagrad, ftrl"},
    {"momentum_decay", "momentum-decay", NF_HP_REAL, F(momentum_decay), 0, 0.0, 1e3, NULL, 1, "nadam"},
    {"lambd", "lambd", NF_HP_REAL, F(lambd), 0, 0.0, 1e3, NULL, 1, "asgd decay term"},
    {"t0", "t0", NF_HP_REAL, F(t0), 0, 0.0, 1e30, NULL, 1, "asgd: step where averaging starts"},
    {"etas", "etas", NF_HP_PAIR, F(eta_minus), F(eta_plus), 0.0, 1e3, NULL, 1, "MINUS,PLUS: rprop"},
    {"step_sizes", "step-sizes", NF_HP_PAIR, F(step_size_min), F(step_size_max), 0.0, 1e30, NULL, 1, "MIN,MAX: rprop"},
    {"beta2_decay", "beta2-decay", NF_HP_REAL, F(beta2_decay), 0, -1e3, 0.0, NULL, 1, "adafactor"},
    {"eps1", "eps1", NF_HP_REAL, F(eps1), 0, 0.0, 1e3, NULL, 1, "adafactor epsilon_1"},
    {"eps2", "eps2", NF_HP_REAL, F(eps2), 0, 0.0, 1e3, NULL, 1, "adafactor epsilon_2"},
    {"clip_threshold", "clip-threshold", NF_HP_REAL, F(clip_threshold), 0, 1e-30, 1e30, NULL, 1, "adafactor"},
    {"relative_step", "no-relative-step", NF_HP_FLAG, F(relative_step), 0, 0, 0, NULL, 0, "adafactor: lr without the 1/sqrt(t) cap"},
    {"lr_power", "lr-power", NF_HP_REAL, F(lr_power), 0, -1e3, 0.0, NULL, 1, "ftrl learning_rate_power"},
    {"l1", "l1", NF_HP_REAL, F(l1), 0, 0.0, 1e6, NULL, 1, "ftrl"},
    {"l2", "l2", NF_HP_REAL, F(l2), 0, 0.0, 1e6, NULL, 1, "ftrl"},
    {"l2_shrinkage", "l2-shrinkage", NF_HP_REAL, F(l2_shrinkage), 0, 0.0, 1e6, NULL, 1, "ftrl"},
    {"beta", "beta", NF_HP_REAL, F(beta), 0, 0.0, 1e6, NULL, 1, "ftrl"},
    {"history_size", "history-size", NF_HP_INT, F(history_size), 0, 1, 1e6, NULL, 1, "lbfgs"},
    {"max_iter", "max-iter", NF_HP_INT, F(max_iter), 0, 1, 1e9, NULL, 1, "lbfgs iterations per step"},
    {"max_eval", "max-eval", NF_HP_INT, F(max_eval), 0, 1, 1e9, NULL, 1, "lbfgs (default max-iter*5/4)"},
    {"tolerance_grad", "tolerance-grad", NF_HP_REAL, F(tolerance_grad), 0, 0.0, 1e30, NULL, 1, "lbfgs"},
    {"tolerance_change", "tolerance-change", NF_HP_REAL, F(tolerance_change), 0, 0.0, 1e30, NULL, 1, "lbfgs"},
    {"line_search", "line-search", NF_HP_CHOICE, F(line_search), 0, 0, 1, "none|strong_wolfe", 1, "strong_wolfe|none: lbfgs"},
    {"mu", "mu", NF_HP_REAL, F(mu), 0, 1e-30, 1e30, NULL, 1, "lm initial damping"},
    {"mu_dec", "mu-dec", NF_HP_REAL, F(mu_dec), 0, 1e-30, 1.0, NULL, 1, "lm"},
    {"mu_inc", "mu-inc", NF_HP_REAL, F(mu_inc), 0, 1.0, 1e30, NULL, 1, "lm"},
    {"mu_max", "mu-max", NF_HP_REAL, F(mu_max), 0, 1e-30, 1e300, NULL, 1, "lm"},
    {"min_grad", "min-grad", NF_HP_REAL, F(min_grad), 0, 0.0, 1e30, NULL, 1, "lm"},
    {"keras", "keras", NF_HP_FLAG, F(keras), 0, 0, 0, NULL, 1, "Keras formulas and defaults"},
};
#define N (int)(sizeof hps / sizeof hps[0])
int nf_opt_hparam_count(void) { return N; }
const nf_opt_hparam *nf_opt_hparam_at(int i) { return &hps[i]; }
int nf_opt_hparam_find(const char *s) { for (int i = 0; i < N; i++) if (!strcmp(hps[i].name, s) || !strcmp(hps[i].option, s)) return i; return -1; }
int nf_opt_reads(nf_opt_kind k, int hp) { if (hp == N - 1) return nf_opt_has_keras(k); return nf_opt_uses_param(k, hps[hp].name); }
static int is_int(const nf_opt_hparam *p) { return p->type == NF_HP_INT || p->type == NF_HP_FLAG || p->type == NF_HP_CHOICE; }
nf_status nf_opt_hparam_set(nf_opt_config *c, int hp, double a, double b)
{
    const nf_opt_hparam *p = &hps[hp];
    if (is_int(p)) { *(int *)((char *)c + p->offset) = (int)a; return NF_OK; }
    *(double *)((char *)c + p->offset) = a;
    if (p->type == NF_HP_PAIR) *(double *)((char *)c + p->offset2) = b;
    return NF_OK;
}
void nf_opt_hparam_get(const nf_opt_config *c, int hp, double *a, double *b)
{
    const nf_opt_hparam *p = &hps[hp];
    if (is_int(p)) { *a = *b = *(const int *)((const char *)c + p->offset); return; }
    *a = *b = *(const double *)((const char *)c + p->offset);
    if (p->type == NF_HP_PAIR) *b = *(const double *)((const char *)c + p->offset2);
}
void nf_opt_label(const nf_opt_config *c, char *buf, size_t len)
{
    nf_opt_config d; nf_opt_defaults(c->kind, &d); if (c->keras) nf_opt_keras_defaults(&d);
    size_t pos = (size_t)snprintf(buf, len, "%s", nf_opt_name(c->kind)); int n = 0;
    for (int i = 0; i < N && pos < len; i++) {
        if (!nf_opt_reads(c->kind, i)) continue;
        double a, b, da, db; nf_opt_hparam_get(c, i, &a, &b); nf_opt_hparam_get(&d, i, &da, &db);
        if (i == N - 1) { if (!c->keras) continue; }
        else if (a == da && b == db) continue;
        pos += (size_t)snprintf(buf + pos, len - pos, "%s", n++ ? "," : "(");
        if (hps[i].type == NF_HP_FLAG) pos += (size_t)snprintf(buf + pos, len - pos, "%s", hps[i].name);
        else if (hps[i].type == NF_HP_PAIR) pos += (size_t)snprintf(buf + pos, len - pos, "%s=%g,%g", hps[i].name, a, b);
        else pos += (size_t)snprintf(buf + pos, len - pos, "%s=%g", hps[i].name, a);
    }
    if (n && pos < len) snprintf(buf + pos, len - pos, ")");
}
