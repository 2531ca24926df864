/* optim.c — first-order optimizers over flat buffers: names, defaults, validation, updates.
 *
 * Every PyTorch update below is transcribed from torch/optim/<name>.py of PyTorch 1.13, the
 * `_single_tensor_<name>` function, in the same order of float operations where it matters
 * (state tensors are float32 there as here; Python scalars are doubles). */
#include "nnfit/optim.h"
#include "fpenv.h"
#include "simd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"
#include "optim_internal.h"

static const char *const names[NF_OPT_COUNT] = {
    "sgd",  "adam",  "rmsprop", "adagrad", "adadelta",  "adamw", "adamax", "nadam",
    "radam", "asgd", "rprop",   "lion",    "adafactor", "ftrl",  "lbfgs",  "lm"};

const char *nf_opt_name(nf_opt_kind kind)
{
    return (unsigned)kind < NF_OPT_COUNT ? names[kind] : "?";
}

const char *nf_opt_names(void)
{
    return "sgd, adam, rmsprop, adagrad, adadelta, adamw, adamax, nadam, radam, asgd, rprop, "
           "lion, adafactor, ftrl, lbfgs, lm";
}

nf_status nf_opt_parse(const char *name, nf_opt_kind *kind)
{
    for (int k = 0; k < NF_OPT_COUNT; k++)
        if (!strcmp(name, names[k])) {
            *kind = (nf_opt_kind)k;
            return NF_OK;
        }
    if (!strcmp(name, "l-bfgs") || !strcmp(name, "l_bfgs")) {
        *kind = NF_OPT_LBFGS;
        return NF_OK;
    }
    if (!strcmp(name, "levenberg-marquardt") || !strcmp(name, "trainlm")) {
        *kind = NF_OPT_LM;
        return NF_OK;
    }
    return nf_fail(NF_EINVAL, "unknown optimizer '%s' (valid: %s)", name, nf_opt_names());
}

int nf_opt_is_full_batch(nf_opt_kind kind) { return kind == NF_OPT_LBFGS || kind == NF_OPT_LM; }

void nf_opt_defaults(nf_opt_kind kind, nf_opt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->lr = 1e-3;
    switch (kind) {
    case NF_OPT_SGD: cfg->lr = 0.01; break;
    case NF_OPT_ADAM: break;
    case NF_OPT_RMSPROP: cfg->lr = 0.01; cfg->alpha = 0.99; break;
    case NF_OPT_ADAGRAD: cfg->lr = 0.01; cfg->eps = 1e-10; break;
    case NF_OPT_ADADELTA: cfg->lr = 1.0; cfg->rho = 0.9; cfg->eps = 1e-6; break;
    case NF_OPT_ADAMW: cfg->weight_decay = 1e-2; break;
    case NF_OPT_ADAMAX: cfg->lr = 2e-3; break;
    case NF_OPT_NADAM: cfg->lr = 2e-3; cfg->momentum_decay = 4e-3; break;
    case NF_OPT_RADAM: break;
    case NF_OPT_ASGD: cfg->lr = 0.01; cfg->lambd = 1e-4; cfg->alpha = 0.75; cfg->t0 = 1e6; break;
    case NF_OPT_RPROP:
        cfg->lr = 0.01;
        cfg->eta_minus = 0.5;
        cfg->eta_plus = 1.2;
        cfg->step_size_min = 1e-6;
        cfg->step_size_max = 50.0;
        break;
    case NF_OPT_LION: cfg->lr = 1e-4; cfg->beta2 = 0.99; break;
    case NF_OPT_ADAFACTOR:
        cfg->beta2_decay = -0.8;
        cfg->eps1 = 1e-30;
        cfg->eps2 = 1e-3;
        cfg->clip_threshold = 1.0;
        cfg->relative_step = 1;
        break;
    case NF_OPT_FTRL: cfg->lr_power = -0.5; cfg->initial_accumulator_value = 0.1; break;
    case NF_OPT_LBFGS:
        cfg->lr = 1.0;
        cfg->max_iter = 20;
        cfg->max_eval = 0;
        cfg->tolerance_grad = 1e-7;
        cfg->tolerance_change = 1e-9;
        cfg->history_size = 100;
        break;
    case NF_OPT_LM:
        cfg->lr = 1.0; /* unused; keeps validation uniform */
        cfg->mu = 1e-3;
        cfg->mu_dec = 0.1;
        cfg->mu_inc = 10.0;
        cfg->mu_max = 1e10;
        cfg->min_grad = 1e-7;
        break;
    default: break;
    }
}

int nf_opt_has_keras(nf_opt_kind k)
{
    return k == NF_OPT_SGD || k == NF_OPT_RMSPROP || k == NF_OPT_ADAGRAD || k == NF_OPT_ADAM ||
           k == NF_OPT_ADAMW || k == NF_OPT_ADAMAX;
}

nf_status nf_opt_keras_defaults(nf_opt_config *c)
{
    if (!nf_opt_has_keras(c->kind))
        return nf_fail(NF_EINVAL, "optimizer %s has no Keras variant (keras applies to sgd, rmsprop, "
                                  "adagrad, adam, adamw, adamax)", nf_opt_name(c->kind));
    c->keras = 1;
    switch (c->kind) {
    case NF_OPT_SGD: c->lr = 0.01; break;
    case NF_OPT_RMSPROP: c->lr = 1e-3; c->alpha = 0.9; c->eps = 1e-7; break;
    case NF_OPT_ADAGRAD: c->lr = 1e-3; c->initial_accumulator_value = 0.1; c->eps = 1e-7; break;
    case NF_OPT_ADAM: c->lr = 1e-3; c->eps = 1e-7; break;
    case NF_OPT_ADAMW: c->lr = 1e-3; c->eps = 1e-7; c->weight_decay = 0.004; break;
    case NF_OPT_ADAMAX: c->lr = 1e-3; c->eps = 1e-7; break;
    default: break;
    }
    return NF_OK;
}

const char *nf_opt_uses(nf_opt_kind kind)
{
    switch (kind) {
    case NF_OPT_SGD: return "lr momentum dampening weight_decay nesterov keras";
    case NF_OPT_ADAM: return "lr betas eps weight_decay amsgrad keras";
    case NF_OPT_RMSPROP: return "lr alpha eps weight_decay momentum centered keras";
    case NF_OPT_ADAGRAD: return "lr lr_decay weight_decay initial_accumulator_value eps keras";
    case NF_OPT_ADADELTA: return "lr rho eps weight_decay";
    case NF_OPT_ADAMW: return "lr betas eps weight_decay amsgrad keras";
    case NF_OPT_ADAMAX: return "lr betas eps weight_decay keras";
    case NF_OPT_NADAM: return "lr betas eps weight_decay momentum_decay";
    case NF_OPT_RADAM: return "lr betas eps weight_decay";
    case NF_OPT_ASGD: return "lr lambd alpha t0 weight_decay";
    case NF_OPT_RPROP: return "lr etas step_sizes";
    case NF_OPT_LION: return "lr betas weight_decay";
    case NF_OPT_ADAFACTOR: return "lr beta2_decay eps1 eps2 clip_threshold relative_step";
    case NF_OPT_FTRL: return "lr lr_power initial_accumulator_value l1 l2 l2_shrinkage beta";
    case NF_OPT_LBFGS:
        return "lr max_iter max_eval tolerance_grad tolerance_change history_size line_search";
    case NF_OPT_LM: return "mu mu_dec mu_inc mu_max min_grad";
    default: return "";
    }
}

int nf_opt_uses_param(nf_opt_kind kind, const char *name)
{
    const char *uses = nf_opt_uses(kind);
    size_t len = strlen(name);
    for (const char *p = uses; (p = strstr(p, name)) != NULL; p += len)
        if ((p == uses || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

static void param_value(const nf_opt_config *c, const char *name, char *buf, size_t len)
{
#define NUM(s, v) if (!strcmp(name, s)) { snprintf(buf, len, "%g", (double)(v)); return; }
#define PAIR(s, a, b) if (!strcmp(name, s)) { snprintf(buf, len, "%g,%g", a, b); return; }
    NUM("lr", c->lr) NUM("momentum", c->momentum) NUM("dampening", c->dampening)
    NUM("weight_decay", c->weight_decay) NUM("nesterov", c->nesterov) NUM("eps", c->eps)
    PAIR("betas", c->beta1, c->beta2) NUM("amsgrad", c->amsgrad) NUM("alpha", c->alpha)
    NUM("centered", c->centered) NUM("rho", c->rho) NUM("lr_decay", c->lr_decay)
    NUM("initial_accumulator_value", c->initial_accumulator_value)
    NUM("momentum_decay", c->momentum_decay) NUM("lambd", c->lambd) NUM("t0", c->t0)
    PAIR("etas", c->eta_minus, c->eta_plus) PAIR("step_sizes", c->step_size_min, c->step_size_max)
    NUM("beta2_decay", c->beta2_decay) NUM("eps1", c->eps1) NUM("eps2", c->eps2)
    NUM("clip_threshold", c->clip_threshold) NUM("relative_step", c->relative_step)
    NUM("lr_power", c->lr_power) NUM("l1", c->l1) NUM("l2", c->l2)
    NUM("l2_shrinkage", c->l2_shrinkage) NUM("beta", c->beta) NUM("max_iter", c->max_iter)
    NUM("tolerance_grad", c->tolerance_grad) NUM("tolerance_change", c->tolerance_change)
    NUM("history_size", c->history_size) NUM("mu", c->mu) NUM("mu_dec", c->mu_dec)
    NUM("mu_inc", c->mu_inc) NUM("mu_max", c->mu_max) NUM("min_grad", c->min_grad)
    NUM("keras", c->keras)
    if (!strcmp(name, "max_eval")) {
        snprintf(buf, len, "%d", c->max_eval ? c->max_eval : c->max_iter * 5 / 4);
        return;
    }
    if (!strcmp(name, "line_search")) {
        snprintf(buf, len, "%s", c->line_search ? "strong_wolfe" : "none");
        return;
    }
#undef NUM
#undef PAIR
    snprintf(buf, len, "?");
}

void nf_opt_describe(const nf_opt_config *c, char *buf, size_t len)
{
    char uses[256], val[64];
    snprintf(uses, sizeof uses, "%s", nf_opt_uses(c->kind));
    size_t pos = 0;
    if (len) buf[0] = '\0';
    for (char *save = NULL, *tok = strtok_r(uses, " ", &save); tok && pos < len;
         tok = strtok_r(NULL, " ", &save)) {
        param_value(c, tok, val, sizeof val);
        int w = snprintf(buf + pos, len - pos, "%s%s=%s", pos ? " " : "", tok, val);
        if (w < 0) break;
        pos += (size_t)w;
    }
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) return nf_fail(NF_EINVAL, __VA_ARGS__);                                       \
    } while (0)

nf_status nf_opt_validate(const nf_opt_config *c)
{
    CHECK((unsigned)c->kind < NF_OPT_COUNT, "unknown optimizer %d", (int)c->kind);
    const char *nm = nf_opt_name(c->kind);
    CHECK(c->lr > 0.0 && isfinite(c->lr), "%s: lr must be > 0, got %g", nm, c->lr);
    CHECK(c->weight_decay >= 0.0 && isfinite(c->weight_decay),
          "%s: weight decay must be >= 0, got %g", nm, c->weight_decay);
    CHECK(c->eps >= 0.0 && isfinite(c->eps), "%s: eps must be >= 0, got %g", nm, c->eps);
    CHECK(!c->keras || nf_opt_has_keras(c->kind), "%s has no Keras variant", nm);
    int betas = nf_opt_uses_param(c->kind, "betas");
    if (betas) {
        CHECK(c->beta1 >= 0.0 && c->beta1 < 1.0, "%s: beta1 must be in [0, 1), got %g", nm, c->beta1);
        CHECK(c->beta2 >= 0.0 && c->beta2 < 1.0, "%s: beta2 must be in [0, 1), got %g", nm, c->beta2);
    }
    switch (c->kind) {
    case NF_OPT_SGD:
        CHECK(c->momentum >= 0.0 && isfinite(c->momentum), "momentum must be >= 0, got %g", c->momentum);
        CHECK(isfinite(c->dampening), "dampening must be finite, got %g", c->dampening);
        CHECK(!c->nesterov || (c->momentum > 0.0 && c->dampening == 0.0),
              "nesterov needs momentum > 0 and dampening 0 (as PyTorch)");
        CHECK(!c->keras || c->dampening == 0.0, "Keras SGD has no dampening");
        break;
    case NF_OPT_RMSPROP:
        CHECK(c->alpha >= 0.0 && c->alpha < 1.0, "rmsprop: alpha must be in [0, 1), got %g", c->alpha);
        CHECK(c->momentum >= 0.0 && isfinite(c->momentum), "momentum must be >= 0, got %g", c->momentum);
        break;
    case NF_OPT_ADAGRAD:
        CHECK(c->lr_decay >= 0.0 && isfinite(c->lr_decay), "adagrad: lr_decay must be >= 0, got %g", c->lr_decay);
        CHECK(c->initial_accumulator_value >= 0.0 && isfinite(c->initial_accumulator_value),
              "adagrad: initial_accumulator_value must be >= 0, got %g", c->initial_accumulator_value);
        break;
    case NF_OPT_ADADELTA:
        CHECK(c->rho >= 0.0 && c->rho <= 1.0, "adadelta: rho must be in [0, 1], got %g", c->rho);
        break;
    case NF_OPT_NADAM:
        CHECK(c->momentum_decay >= 0.0 && isfinite(c->momentum_decay),
              "nadam: momentum_decay must be >= 0, got %g", c->momentum_decay);
        break;
    case NF_OPT_ASGD:
        CHECK(c->lambd >= 0.0 && isfinite(c->lambd), "asgd: lambd must be >= 0, got %g", c->lambd);
        CHECK(isfinite(c->alpha) && isfinite(c->t0), "asgd: alpha and t0 must be finite");
        break;
    case NF_OPT_RPROP:
        CHECK(0.0 < c->eta_minus && c->eta_minus < 1.0 && 1.0 < c->eta_plus && isfinite(c->eta_plus),
              "rprop: etas must satisfy 0 < eta_minus < 1 < eta_plus, got %g,%g", c->eta_minus, c->eta_plus);
        CHECK(0.0 <= c->step_size_min && c->step_size_min <= c->step_size_max && isfinite(c->step_size_max),
              "rprop: step_sizes must satisfy 0 <= min <= max, got %g,%g", c->step_size_min, c->step_size_max);
        break;
    case NF_OPT_ADAFACTOR:
        CHECK(c->beta2_decay <= 0.0 && isfinite(c->beta2_decay), "adafactor: beta2_decay must be <= 0, got %g", c->beta2_decay);
        CHECK(c->eps1 >= 0.0 && c->eps2 >= 0.0, "adafactor: eps1 and eps2 must be >= 0");
        CHECK(c->clip_threshold > 0.0, "adafactor: clip_threshold must be > 0, got %g", c->clip_threshold);
        break;
    case NF_OPT_FTRL:
        CHECK(c->lr_power <= 0.0 && isfinite(c->lr_power), "ftrl: lr_power must be <= 0, got %g", c->lr_power);
        CHECK(c->initial_accumulator_value >= 0.0, "ftrl: initial_accumulator_value must be >= 0");
        CHECK(c->l1 >= 0.0 && c->l2 >= 0.0 && c->l2_shrinkage >= 0.0 && c->beta >= 0.0,
              "ftrl: l1, l2, l2_shrinkage and beta must be >= 0");
        break;
    case NF_OPT_LBFGS:
        CHECK(c->history_size >= 1, "lbfgs: history_size must be >= 1, got %d", c->history_size);
        CHECK(c->max_iter >= 1, "lbfgs: max_iter must be >= 1, got %d", c->max_iter);
        CHECK(c->max_eval >= 0, "lbfgs: max_eval must be >= 1 (0: max_iter*5/4), got %d", c->max_eval);
        CHECK(c->tolerance_grad >= 0.0 && c->tolerance_change >= 0.0, "lbfgs: tolerances must be >= 0");
        break;
    case NF_OPT_LM:
        CHECK(c->mu > 0.0 && isfinite(c->mu), "lm: mu must be > 0, got %g", c->mu);
        CHECK(c->mu_dec > 0.0 && c->mu_dec < 1.0, "lm: mu_dec must be in (0, 1), got %g", c->mu_dec);
        CHECK(c->mu_inc > 1.0 && isfinite(c->mu_inc), "lm: mu_inc must be > 1, got %g", c->mu_inc);
        CHECK(c->mu_max > c->mu, "lm: mu_max must be > mu, got %g", c->mu_max);
        CHECK(c->min_grad >= 0.0, "lm: min_grad must be >= 0, got %g", c->min_grad);
        break;
    default: break;
    }
    return NF_OK;
}

static int state_count(const nf_opt_config *c)
{
    switch (c->kind) {
    case NF_OPT_SGD: return c->momentum != 0.0 ? 1 : 0;
    case NF_OPT_ADAM:
    case NF_OPT_ADAMW: return c->amsgrad ? 3 : 2;
    case NF_OPT_RMSPROP: return 3; /* square_avg, grad_avg, momentum_buffer */
    case NF_OPT_ADAGRAD: return 1;
    case NF_OPT_ADADELTA: return 2;
    case NF_OPT_ADAMAX: return 2;
    case NF_OPT_NADAM: return 2;
    case NF_OPT_RADAM: return 2;
    case NF_OPT_ASGD: return 1; /* ax */
    case NF_OPT_RPROP: return 2;
    case NF_OPT_LION: return 1;
    case NF_OPT_FTRL: return 2;
    default: return 0;
    }
}

static void init_state(nf_optim *o)
{
    o->step = 0;
    for (int i = 0; i < o->n_state; i++) memset(o->state[i], 0, o->n * sizeof(float));
    if (o->af_stats) memset(o->af_stats, 0, o->af_stats_len * sizeof(float));
    const nf_opt_config *c = &o->cfg;
    float fill = 0.0f;
    int which = -1;
    if (c->kind == NF_OPT_ADAGRAD || c->kind == NF_OPT_FTRL) {
        fill = (float)c->initial_accumulator_value;
        which = 0;
    } else if (c->kind == NF_OPT_RPROP) {
        fill = (float)c->lr; /* step sizes start at lr */
        which = 1;
    }
    if (which >= 0)
        for (size_t i = 0; i < o->n; i++) o->state[which][i] = fill;
    o->asgd_eta = (float)c->lr;
    o->asgd_mu = 1.0f;
    o->nadam_mu_product = 1.0f;
    if (o->lb) nf_lbfgs_reset(o);
}

nf_status nf_optim_create(nf_optim **out, const nf_opt_config *cfg, size_t n)
{
    *out = NULL;
    nf_status st = nf_opt_validate(cfg);
    if (st) return st;
    nf_optim *o = calloc(1, sizeof *o);
    if (!o) return nf_fail(NF_ENOMEM, "cannot allocate optimizer");
    o->cfg = *cfg;
    o->n = n;
    o->n_state = state_count(cfg);
    for (int i = 0; i < o->n_state && !st; i++) st = nf_alloc_floats(&o->state[i], n);
    if (!st && cfg->kind == NF_OPT_ADAFACTOR) {
        size_t rows = n, cols = 1;
        st = nf_optim_set_tensors(o, 1, &rows, &cols);
    }
    if (!st && cfg->kind == NF_OPT_LBFGS) st = nf_lbfgs_alloc(o);
    if (st) {
        nf_optim_free(o);
        return st;
    }
    init_state(o);
    *out = o;
    return NF_OK;
}

nf_status nf_optim_set_tensors(nf_optim *o, int count, const size_t *rows, const size_t *cols)
{
    size_t total = 0, stats = 0;
    for (int i = 0; i < count; i++) {
        total += rows[i] * cols[i];
        stats += cols[i] > 1 ? rows[i] + cols[i] : rows[i] * cols[i];
    }
    if (count < 1 || total != o->n)
        return nf_fail(NF_ESHAPE, "tensor shapes cover %zu floats but the optimizer has %zu", total, o->n);
    if (o->cfg.kind != NF_OPT_ADAFACTOR) return NF_OK;
    size_t *r = malloc((size_t)count * sizeof *r), *c = malloc((size_t)count * sizeof *c);
    float *s = NULL;
    nf_status st = r && c ? nf_alloc_floats(&s, stats ? stats : 1) : nf_fail(NF_ENOMEM, "cannot allocate shapes");
    if (st) {
        free(r);
        free(c);
        return st;
    }
    memcpy(r, rows, (size_t)count * sizeof *r);
    memcpy(c, cols, (size_t)count * sizeof *c);
    free(o->t_rows);
    free(o->t_cols);
    nf_free(o->af_stats);
    o->t_rows = r;
    o->t_cols = c;
    o->n_tensors = count;
    o->af_stats = s;
    o->af_stats_len = stats;
    return NF_OK;
}

void nf_optim_free(nf_optim *o)
{
    if (!o) return;
    for (int i = 0; i < NF_OPT_MAX_STATE; i++) nf_free(o->state[i]);
    free(o->t_rows);
    free(o->t_cols);
    nf_free(o->af_stats);
    nf_lbfgs_free(o);
    free(o);
}

void nf_optim_reset(nf_optim *o) { init_state(o); }

void nf_optim_reset_range(nf_optim *o, size_t start, size_t count)
{
    if (start >= o->n) return;
    if (count > o->n - start) count = o->n - start;
    const nf_opt_config *c = &o->cfg;
    for (int i = 0; i < o->n_state; i++) {
        float fill = 0.0f;
        if (i == 0 && (c->kind == NF_OPT_ADAGRAD || c->kind == NF_OPT_FTRL))
            fill = (float)c->initial_accumulator_value;
        else if (i == 1 && c->kind == NF_OPT_RPROP)
            fill = (float)c->lr;
        for (size_t k = start; k < start + count; k++) o->state[i][k] = fill;
    }
}

void nf_optim_set_lr(nf_optim *o, double lr) { o->cfg.lr = lr; }
double nf_optim_lr(const nf_optim *o) { return o->cfg.lr; }
long nf_optim_steps(const nf_optim *o) { return o->step; }
const nf_opt_config *nf_optim_config(const nf_optim *o) { return &o->cfg; }
long nf_optim_func_evals(const nf_optim *o) { return o->lb ? o->lb->func_evals : o->step; }
int nf_optim_converged(const nf_optim *o) { return o->lb ? o->lb->converged : 0; }

size_t nf_optim_state_bytes(const nf_optim *o)
{
    size_t b = (size_t)o->n_state * o->n * sizeof(float) + o->af_stats_len * sizeof(float);
    if (o->lb) b += ((size_t)2 * (size_t)o->lb->history_size + 8) * o->n * sizeof(float);
    return b;
}

/* Keras 3 applies weight decay decoupled, before the update: p −= lr·wd·p. */
static void keras_decay(nf_optim *o, float *p)
{
    const float f = (float)(o->cfg.lr * o->cfg.weight_decay);
    if (f == 0.0f) return;
    for (size_t i = 0; i < o->n; i++) p[i] -= p[i] * f;
}

/* torch.optim.SGD (PyTorch 1.13, _single_tensor_sgd):
 *   g += wd·p;  b = g (first step) or μ·b + (1−dampening)·g;  g = nesterov ? g + μ·b : b;
 *   p −= lr·g
 * keras.optimizers.SGD (Keras 3): v = μ·v − lr·g;  p += nesterov ? μ·v − lr·g : v */
static void sgd_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float lr = (float)c->lr, wd = (float)c->weight_decay, mu = (float)c->momentum;
    const float damp = (float)(1.0 - c->dampening);
    const size_t n = o->n;
    if (c->keras) {
        keras_decay(o, p);
        if (mu == 0.0f) {
            for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
            return;
        }
        float *restrict v = o->state[0];
        for (size_t i = 0; i < n; i++) {
            v[i] = mu * v[i] - lr * g[i];
            p[i] += c->nesterov ? mu * v[i] - lr * g[i] : v[i];
        }
        return;
    }
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
    float *restrict b = o->state[0];
    const int first = o->step == 0, nest = c->nesterov;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        float bi = first ? d : mu * b[i] + damp * d;
        b[i] = bi;
        p[i] -= lr * (nest ? d + mu * bi : bi);
    }
}

static inline void adam_loop(size_t n, float *restrict p, const float *restrict g,
                             float *restrict m, float *restrict v, float *restrict vmax, float b1,
                             float omb1, float b2, float omb2, float wd, float eps, float step_size,
                             float bc2_sqrt, const int keras, const int amsgrad)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float vv = v[i];
        if (amsgrad) {
            vmax[i] = vmax[i] > vv ? vmax[i] : vv;
            vv = vmax[i];
        }
        float denom = keras ? sqrtf(vv) + eps : sqrtf(vv) / bc2_sqrt + eps;
        p[i] += -step_size * m[i] / denom;
    }
}

/* torch.optim.Adam / AdamW (PyTorch 1.13, _single_tensor_adam / _single_tensor_adamw):
 *   adam: g += wd·p;   adamw: p *= 1 − lr·wd
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  [v̂max = max(v̂max, v)]
 *   p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)
 * Keras 3 Adam ("epsilon hat", Kingma & Ba §2 end): p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + eps),
 * weight decay decoupled. */
NF_CLONES static void adam_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    const float omb1 = (float)(1.0 - c->beta1), omb2 = (float)(1.0 - c->beta2);
    const int decoupled = c->kind == NF_OPT_ADAMW || c->keras;
    const float wd = decoupled ? 0.0f : (float)c->weight_decay;
    if (decoupled && c->weight_decay != 0.0) {
        const float f = (float)(1.0 - c->lr * c->weight_decay);
        for (size_t i = 0; i < o->n; i++) p[i] *= f;
    }
    const double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    float step_size = (float)(c->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    if (c->keras) {
        step_size = (float)(c->lr * sqrt(bc2) / bc1);
        bc2_sqrt = 1.0f;
    }
    float *restrict m = o->state[0], *restrict v = o->state[1], *restrict vmax = o->state[2];
    /* constant flags, so each call below compiles to its own branch-free loop */
    if (c->keras && c->amsgrad)
        adam_loop(o->n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 1, 1);
    else if (c->keras)
        adam_loop(o->n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 1, 0);
    else if (c->amsgrad)
        adam_loop(o->n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 0, 1);
    else
        adam_loop(o->n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 0, 0);
}

/* torch.optim.RMSprop (PyTorch 1.13, _single_tensor_rmsprop):
 *   g += wd·p;  s = α·s + (1−α)·g²;  centered: ḡ = α·ḡ + (1−α)·g, avg = √(s − ḡ²) else √s;
 *   avg += eps;  momentum: b = μ·b + g/avg, p −= lr·b;  else p −= lr·g/avg
 * Keras 3 RMSprop: avg = √(s [− ḡ²] + eps) (eps inside the root); momentum b = μ·b + lr·g/avg,
 * p −= b; weight decay decoupled. */
static inline void rmsprop_loop(size_t n, float *restrict p, const float *restrict g,
                                float *restrict s, float *restrict ga, float *restrict b, float a,
                                float oma, float eps, float lr, float mu, float wd,
                                const int keras, const int centered, const int use_mu)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * a + gi * gi * oma;
        float d = s[i];
        if (centered) {
            ga[i] = ga[i] * a + gi * oma;
            d = s[i] - ga[i] * ga[i];
        }
        float avg = keras ? sqrtf(d + eps) : sqrtf(d) + eps;
        if (use_mu) {
            b[i] = keras ? b[i] * mu + lr * gi / avg : b[i] * mu + gi / avg;
            p[i] += keras ? -b[i] : -lr * b[i];
        } else {
            p[i] += -lr * gi / avg;
        }
    }
}

static void rmsprop_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float a = (float)c->alpha, oma = (float)(1.0 - c->alpha), eps = (float)c->eps;
    const float lr = (float)c->lr, mu = (float)c->momentum;
    const int keras = c->keras, cen = c->centered, use_mu = mu > 0.0f;
    const float wd = keras ? 0.0f : (float)c->weight_decay;
    if (keras) keras_decay(o, p);
    float *restrict s = o->state[0], *restrict ga = o->state[1], *restrict b = o->state[2];
    const size_t n = o->n;
    /* constant flags: one branch-free loop per combination */
#define RMS(K, C, M) rmsprop_loop(n, p, g, s, ga, b, a, oma, eps, lr, mu, wd, K, C, M)
    switch (keras * 4 + cen * 2 + use_mu) {
    case 0: RMS(0, 0, 0); break;
    case 1: RMS(0, 0, 1); break;
    case 2: RMS(0, 1, 0); break;
    case 3: RMS(0, 1, 1); break;
    case 4: RMS(1, 0, 0); break;
    case 5: RMS(1, 0, 1); break;
    case 6: RMS(1, 1, 0); break;
    default: RMS(1, 1, 1); break;
    }
#undef RMS
}

/* torch.optim.Adagrad (PyTorch 1.13, _single_tensor_adagrad):
 *   g += wd·p;  clr = lr / (1 + (t−1)·lr_decay);  s += g²;  p −= clr·g / (√s + eps)
 * Keras 3 Adagrad: s starts at initial_accumulator_value (0.1), p −= lr·g / √(s + eps). */
static void adagrad_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const int keras = c->keras;
    const float wd = keras ? 0.0f : (float)c->weight_decay, eps = (float)c->eps;
    if (keras) keras_decay(o, p);
    const float clr = (float)(c->lr / (1.0 + (double)o->step * c->lr_decay));
    float *restrict s = o->state[0];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] += gi * gi;
        float std = keras ? sqrtf(s[i] + eps) : sqrtf(s[i]) + eps;
        p[i] += -clr * gi / std;
    }
}

/* torch.optim.Adadelta (PyTorch 1.13, _single_tensor_adadelta):
 *   g += wd·p;  s = ρ·s + (1−ρ)·g²;  δ = √(a + eps) / √(s + eps) · g;  a = ρ·a + (1−ρ)·δ²;
 *   p −= lr·δ */
static void adadelta_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float rho = (float)c->rho, omr = (float)(1.0 - c->rho), eps = (float)c->eps;
    const float lr = (float)c->lr, wd = (float)c->weight_decay;
    float *restrict s = o->state[0], *restrict acc = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * rho + gi * gi * omr;
        float std = sqrtf(s[i] + eps);
        float delta = sqrtf(acc[i] + eps) / std * gi;
        acc[i] = acc[i] * rho + delta * delta * omr;
        p[i] += -lr * delta;
    }
}

/* torch.optim.Adamax (PyTorch 1.13, _single_tensor_adamax):
 *   g += wd·p;  m = β1·m + (1−β1)·g;  u = max(β2·u, |g| + eps);  p −= lr/(1−β1ᵗ) · m/u
 * Keras 3 Adamax (Kingma & Ba §7.1): u = max(β2·u, |g|);  p −= lr/(1−β1ᵗ) · m/(u + eps). */
static void adamax_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const int keras = c->keras;
    const float b1 = (float)c->beta1, omb1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2;
    const float eps = (float)c->eps, wd = keras ? 0.0f : (float)c->weight_decay;
    if (keras) keras_decay(o, p);
    const float clr = (float)(c->lr / (1.0 - pow(c->beta1, (double)o->step + 1.0)));
    float *restrict m = o->state[0], *restrict u = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        float a = u[i] * b2, bb = keras ? fabsf(gi) : fabsf(gi) + eps;
        u[i] = a > bb ? a : bb;
        p[i] += -clr * m[i] / (keras ? u[i] + eps : u[i]);
    }
}

/* torch.optim.NAdam (PyTorch 1.13, _single_tensor_nadam):
 *   g += wd·p;  μt = β1(1 − ½·0.96^(t·ψ)), μt+1 likewise;  Πμ *= μt (a float32 scalar);
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  d = √(v/(1−β2ᵗ)) + eps;
 *   p −= lr(1−μt)/(1−Πμ) · g/d;  p −= lr·μt+1/(1−Πμ·μt+1) · m/d */
static void nadam_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    const double bc2 = 1.0 - pow(c->beta2, t);
    const double mu = c->beta1 * (1.0 - 0.5 * pow(0.96, t * c->momentum_decay));
    const double mu_next = c->beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * c->momentum_decay));
    o->nadam_mu_product = (float)(o->nadam_mu_product * mu);
    const float prod_next = (float)((float)(o->nadam_mu_product * mu) * mu_next);
    const float c1 = (float)(-c->lr * (1.0 - mu) / (1.0 - (double)o->nadam_mu_product));
    const float c2 = (float)(-c->lr * mu_next / (1.0 - (double)prod_next));
    const float b1 = (float)c->beta1, omb1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2;
    const float omb2 = (float)(1.0 - c->beta2), eps = (float)c->eps, wd = (float)c->weight_decay;
    const float fbc2 = (float)bc2;
    float *restrict m = o->state[0], *restrict v = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float d = sqrtf(v[i] / fbc2) + eps;
        p[i] += c1 * gi / d;
        p[i] += c2 * m[i] / d;
    }
}

/* torch.optim.RAdam (PyTorch 1.13, _single_tensor_radam):
 *   g += wd·p;  m, v as Adam;  ρ∞ = 2/(1−β2) − 1;  ρt = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
 *   ρt > 5: r = √((ρt−4)(ρt−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρt)),  p −= m/(1−β1ᵗ)·lr·√(1−β2ᵗ)/(√v + eps)·r
 *   else:   p −= m/(1−β1ᵗ)·lr */
static void radam_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    const double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
    const double rho_inf = 2.0 / (1.0 - c->beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(c->beta2, t) / bc2;
    const int rect_on = rho_t > 5.0;
    const float rect = rect_on ? (float)sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                             ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                               : 0.0f;
    const float b1 = (float)c->beta1, omb1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2;
    const float omb2 = (float)(1.0 - c->beta2), eps = (float)c->eps, wd = (float)c->weight_decay;
    const float fbc1 = (float)bc1, sbc2 = (float)sqrt(bc2), lr = (float)c->lr;
    float *restrict m = o->state[0], *restrict v = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float u = m[i] / fbc1 * lr;
        if (rect_on) u = u * (sbc2 / (sqrtf(v[i]) + eps)) * rect;
        p[i] -= u;
    }
}

/* torch.optim.ASGD (PyTorch 1.13, _single_tensor_asgd):
 *   g += wd·p;  p *= 1 − λ·η;  p −= η·g;  ax = μ≠1 ? ax + μ(p − ax) : p;
 *   η = lr / (1 + λ·lr·t)^α;  μ = 1 / max(1, t − t0)   (η, μ float32 scalars, start lr and 1) */
static void asgd_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    const float wd = (float)c->weight_decay;
    const float shrink = (float)(1.0 - c->lambd * (double)o->asgd_eta);
    const float eta = o->asgd_eta, mu = o->asgd_mu;
    float *restrict ax = o->state[0];
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        p[i] *= shrink;
        p[i] += -eta * gi;
        ax[i] = mu != 1.0f ? ax[i] + (p[i] - ax[i]) * mu : p[i];
    }
    o->asgd_eta = (float)(c->lr / pow(1.0 + c->lambd * c->lr * t, c->alpha));
    o->asgd_mu = (float)(1.0 / fmax(1.0, t - c->t0));
}

/* torch.optim.Rprop (PyTorch 1.13, _single_tensor_rprop):
 *   s = sign(g·prev) → η+ (>0), η− (<0), 1 (=0);  step = clamp(step·s, min, max);
 *   g = 0 where s = η−;  p −= sign(g)·step;  prev = g */
static void rprop_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float ep = (float)c->eta_plus, em = (float)c->eta_minus;
    const float smin = (float)c->step_size_min, smax = (float)c->step_size_max;
    float *restrict prev = o->state[0], *restrict step = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float prod = g[i] * prev[i];
        float s = prod > 0.0f ? ep : prod < 0.0f ? em : 1.0f;
        float st = step[i] * s;
        st = st < smin ? smin : st > smax ? smax : st;
        step[i] = st;
        float gi = prod < 0.0f ? 0.0f : g[i];
        float sg = (float)((gi > 0.0f) - (gi < 0.0f));
        p[i] += -(sg * st);
        prev[i] = gi;
    }
}

/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2):
 *   c = β1·m + (1−β1)·g;  p −= lr·(sign(c) + wd·p);  m = β2·m + (1−β2)·g
 * The decay is applied first as p *= 1 − lr·wd (as lucidrains/lion-pytorch and Keras 3). */
static void lion_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float b1 = (float)c->beta1, omb1 = (float)(1.0 - c->beta1);
    const float b2 = (float)c->beta2, omb2 = (float)(1.0 - c->beta2), lr = (float)c->lr;
    const float decay = (float)(1.0 - c->lr * c->weight_decay);
    float *restrict m = o->state[0];
    for (size_t i = 0; i < o->n; i++) {
        float u = m[i] * b1 + g[i] * omb1;
        float s = (float)((u > 0.0f) - (u < 0.0f));
        p[i] = p[i] * decay - lr * s;
        m[i] = m[i] * b2 + g[i] * omb2;
    }
}

static double rms(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return sqrt(s / (double)n);
}

/* Adafactor as keras.optimizers.Adafactor (Keras 3, keras/src/optimizers/adafactor.py;
 * Shazeer & Stern 2018), per tensor of shape [rows, cols]:
 *   ρt = relative_step ? min(lr, 1/√t) : lr;  αt = max(eps2, RMS(p))·ρt;  β2t = 1 − t^decay
 *   G = g² + eps1;  matrix: r = β2t·r + (1−β2t)·rowmean(G), c = β2t·c + (1−β2t)·colmean(G),
 *   v = r cᵀ / mean(r);  vector: v = β2t·v + (1−β2t)·G
 *   u = g/√v;  û = u / max(1, RMS(u)/clip_threshold);  p −= αt·û
 * u is formed in the gradient's place-holder: this step writes u into p's update in two passes
 * (RMS(u) is needed before the update) without extra memory by recomputing it. */
static void adafactor_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    double rho_t = c->relative_step ? fmin(c->lr, 1.0 / sqrt(t)) : c->lr;
    const float b2t = (float)(1.0 - pow(t, c->beta2_decay)), omb2t = 1.0f - b2t;
    const float eps1 = (float)c->eps1;
    float *stats = o->af_stats;
    size_t off = 0;
    for (int k = 0; k < o->n_tensors; k++) {
        const size_t R = o->t_rows[k], C = o->t_cols[k], cnt = R * C;
        float *pp = p + off;
        const float *gg = g + off;
        const float alpha_t = (float)(fmax(c->eps2, rms(pp, cnt)) * rho_t);
        double sum_u2 = 0.0;
        if (C > 1) {
            float *r = stats, *cc = stats + R;
            for (size_t i = 0; i < R; i++) {
                double s = 0.0;
                for (size_t j = 0; j < C; j++) s += (double)(gg[i * C + j] * gg[i * C + j] + eps1);
                r[i] = b2t * r[i] + omb2t * (float)(s / (double)C);
            }
            for (size_t j = 0; j < C; j++) {
                double s = 0.0;
                for (size_t i = 0; i < R; i++) s += (double)(gg[i * C + j] * gg[i * C + j] + eps1);
                cc[j] = b2t * cc[j] + omb2t * (float)(s / (double)R);
            }
            double rm = 0.0;
            for (size_t i = 0; i < R; i++) rm += r[i];
            const float rmean = (float)(rm / (double)R);
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    float u = gg[i * C + j] / sqrtf(r[i] / rmean * cc[j]);
                    sum_u2 += (double)u * u;
                }
            const float scale = (float)fmax(1.0, sqrt(sum_u2 / (double)cnt) / c->clip_threshold);
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    float u = gg[i * C + j] / sqrtf(r[i] / rmean * cc[j]);
                    pp[i * C + j] -= alpha_t * (u / scale);
                }
            stats += R + C;
        } else {
            float *v = stats;
            for (size_t i = 0; i < cnt; i++) {
                v[i] = b2t * v[i] + omb2t * (gg[i] * gg[i] + eps1);
                float u = gg[i] / sqrtf(v[i]);
                sum_u2 += (double)u * u;
            }
            const float scale = (float)fmax(1.0, sqrt(sum_u2 / (double)cnt) / c->clip_threshold);
            for (size_t i = 0; i < cnt; i++) pp[i] -= alpha_t * ((gg[i] / sqrtf(v[i])) / scale);
            stats += cnt;
        }
        off += cnt;
    }
}

/* FTRL-proximal as keras.optimizers.Ftrl (Keras 3, keras/src/optimizers/ftrl.py; McMahan et
 * al. 2013, Algorithm 1), with n = accumulator, z = linear, power = lr_power (≤ 0):
 *   l2' = l2 + β/(2·lr);  g' = g + 2·l2_shrinkage·p;  n' = n + g²;
 *   z += g' − (n'^(−power) − n^(−power))/lr · p;  q = n'^(−power)/lr + 2·l2';
 *   p = (clip(z, −l1, l1) − z) / q;  n = n' */
static void ftrl_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double lr = c->lr, mp = -c->lr_power;
    const float l2 = (float)(c->l2 + c->beta / (2.0 * lr)), shr = (float)(2.0 * c->l2_shrinkage);
    const float l1 = (float)c->l1, flr = (float)lr;
    const int half = mp == 0.5;
    float *restrict acc = o->state[0], *restrict z = o->state[1];
    for (size_t i = 0; i < o->n; i++) {
        float gs = g[i] + shr * p[i];
        float na = acc[i] + g[i] * g[i];
        /* lr_power −0.5 (the default): sqrtf is the correctly rounded pow(x, 0.5) */
        float pn = half ? sqrtf(na) : (float)pow((double)na, mp);
        float po = half ? sqrtf(acc[i]) : (float)pow((double)acc[i], mp);
        z[i] += gs - (pn - po) / flr * p[i];
        float q = pn / flr + 2.0f * l2;
        float zc = z[i] < -l1 ? -l1 : z[i] > l1 ? l1 : z[i];
        p[i] = (zc - z[i]) / q;
        acc[i] = na;
    }
}

static void nf_optim_step_impl(nf_optim *o, float *params, const float *grads)
{
    switch (o->cfg.kind) {
    case NF_OPT_SGD: sgd_step(o, params, grads); break;
    case NF_OPT_ADAM:
    case NF_OPT_ADAMW: adam_step(o, params, grads); break;
    case NF_OPT_RMSPROP: rmsprop_step(o, params, grads); break;
    case NF_OPT_ADAGRAD: adagrad_step(o, params, grads); break;
    case NF_OPT_ADADELTA: adadelta_step(o, params, grads); break;
    case NF_OPT_ADAMAX: adamax_step(o, params, grads); break;
    case NF_OPT_NADAM: nadam_step(o, params, grads); break;
    case NF_OPT_RADAM: radam_step(o, params, grads); break;
    case NF_OPT_ASGD: asgd_step(o, params, grads); break;
    case NF_OPT_RPROP: rprop_step(o, params, grads); break;
    case NF_OPT_LION: lion_step(o, params, grads); break;
    case NF_OPT_ADAFACTOR: adafactor_step(o, params, grads); break;
    case NF_OPT_FTRL: ftrl_step(o, params, grads); break;
    default: return; /* lbfgs, lm: closure / model driven */
    }
    o->step++;
}

static nf_status nf_optim_step_closure_impl(nf_optim *o, float *params, nf_closure fn, void *ctx, double *loss)
{
    if (o->cfg.kind == NF_OPT_LM)
        return nf_fail(NF_EINVAL, "lm needs the model's Jacobian: train it with nf_train");
    if (o->cfg.kind == NF_OPT_LBFGS) return nf_lbfgs_step(o, params, fn, ctx, loss);
    return nf_fail(NF_EINVAL, "nf_optim_step_closure for %s: use nf_optim_step with a gradient "
                              "buffer", nf_opt_name(o->cfg.kind));
}

/* Public entry points: run with subnormals flushed (fpenv.h). */
void nf_optim_step(nf_optim *o, float *params, const float *grads)
{
    const nf_fpstate fp = nf_fp_enter();
    nf_optim_step_impl(o, params, grads);
    nf_fp_leave(fp);
}

nf_status nf_optim_step_closure(nf_optim *o, float *params, nf_closure fn, void *ctx, double *loss)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_optim_step_closure_impl(o, params, fn, ctx, loss);
    nf_fp_leave(fp);
    return st;
}
