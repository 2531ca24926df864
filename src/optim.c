/* optim.c — the optimizers: one descriptor per optimizer (the hyperparameters it reads with
 * their defaults, its Keras variant, its state buffers and how they start, the binding of its
 * kernel, the rules tying its values together), and the optimizer object built from them.
 * The hyperparameter table and what is computed from a configuration alone (defaults,
 * validation, labels) are in optim_config.c; the update kernels in optim_kernels.c; L-BFGS in
 * optim_lbfgs.c, Levenberg–Marquardt in optim_lm.c. */
#include "fpenv.h"

#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"
#include "optim_internal.h"

/* Bindings: each hands its kernel the state and the values it reads (t = steps + 1). */
static void sgd_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_sgd_update(o->n, p, g, o->state[0], c->lr, c->momentum, c->dampening, c->weight_decay,
                  c->nesterov, o->step + 1, c->keras);
}

static void adam_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adam_update(o->n, p, g, o->state[0], o->state[1], o->state[2], c->lr, c->beta1, c->beta2,
                   c->eps, c->weight_decay, o->step + 1, c->keras, c->keras, c->amsgrad);
}

static void adamw_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adam_update(o->n, p, g, o->state[0], o->state[1], o->state[2], c->lr, c->beta1, c->beta2,
                   c->eps, c->weight_decay, o->step + 1, 1, c->keras, c->amsgrad);
}

static void rmsprop_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_rmsprop_update(o->n, p, g, o->state[0], o->state[1], o->state[2], c->lr, c->alpha, c->eps,
                      c->weight_decay, c->momentum, c->centered, c->keras);
}

static void adagrad_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adagrad_update(o->n, p, g, o->state[0], c->lr, c->lr_decay, c->weight_decay, c->eps,
                      o->step + 1, c->keras);
}

static void adadelta_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adadelta_update(o->n, p, g, o->state[0], o->state[1], c->lr, c->rho, c->eps, c->weight_decay);
}

static void adamax_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adamax_update(o->n, p, g, o->state[0], o->state[1], c->lr, c->beta1, c->beta2, c->eps,
                     c->weight_decay, o->step + 1, c->keras);
}

static void nadam_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_nadam_update(o->n, p, g, o->state[0], o->state[1], &o->scalar[0], c->lr, c->beta1,
                    c->beta2, c->eps, c->weight_decay, c->momentum_decay, o->step + 1);
}

static void radam_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_radam_update(o->n, p, g, o->state[0], o->state[1], c->lr, c->beta1, c->beta2, c->eps,
                    c->weight_decay, o->step + 1);
}

static void asgd_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_asgd_update(o->n, p, g, o->state[0], &o->scalar[0], &o->scalar[1], c->lr, c->lambd,
                   c->alpha, c->t0, c->weight_decay, o->step + 1);
}

static void rprop_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_rprop_update(o->n, p, g, o->state[0], o->state[1], c->eta_minus, c->eta_plus,
                    c->step_size_min, c->step_size_max);
}

static void lion_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_lion_update(o->n, p, g, o->state[0], c->lr, c->beta1, c->beta2, c->weight_decay);
}

static void adafactor_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_adafactor_update(o->n_tensors, o->t_rows, o->t_cols, p, g, o->af_stats, c->lr,
                        c->beta2_decay, c->eps1, c->eps2, c->clip_threshold, c->relative_step,
                        o->step + 1);
}

static void ftrl_step(nf_optim *o, float *p, const float *g)
{
    const nf_opt_config *c = &o->cfg;
    nf_ftrl_update(o->n, p, g, o->state[0], o->state[1], c->lr, c->lr_power, c->l1, c->l2,
                   c->l2_shrinkage, c->beta);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) return nf_fail(NF_EINVAL, __VA_ARGS__);                                       \
    } while (0)

static nf_status sgd_check(const nf_opt_config *c)
{
    CHECK(!c->nesterov || (c->momentum > 0.0 && c->dampening == 0.0),
          "sgd: nesterov needs momentum > 0 and dampening 0 (as PyTorch)");
    CHECK(!c->keras || c->dampening == 0.0, "sgd: Keras SGD has no dampening");
    return NF_OK;
}

static nf_status rmsprop_check(const nf_opt_config *c)
{
    CHECK(c->alpha >= 0.0 && c->alpha < 1.0, "rmsprop: alpha must be in [0, 1), got %g", c->alpha);
    return NF_OK;
}

static nf_status rprop_check(const nf_opt_config *c)
{
    CHECK(0.0 < c->eta_minus && c->eta_minus < 1.0 && 1.0 < c->eta_plus,
          "rprop: etas must satisfy 0 < eta_minus < 1 < eta_plus, got %g,%g", c->eta_minus, c->eta_plus);
    CHECK(c->step_size_min <= c->step_size_max,
          "rprop: step_sizes must satisfy 0 <= min <= max, got %g,%g", c->step_size_min, c->step_size_max);
    return NF_OK;
}

static nf_status lm_check(const nf_opt_config *c)
{
    CHECK(c->mu_dec < 1.0, "lm: mu_dec must be in (0, 1), got %g", c->mu_dec);
    CHECK(c->mu_inc > 1.0, "lm: mu_inc must be > 1, got %g", c->mu_inc);
    CHECK(c->mu_max > c->mu, "lm: mu_max must be > mu, got %g", c->mu_max);
    return NF_OK;
}

#define END {-1, 0.0, 0.0}
#define READS(...) ((const nf_hp_value[]){__VA_ARGS__, END})
#define V(hp, a) {HP_##hp, a, 0.0}
#define V2(hp, a, b) {HP_##hp, a, b}
/* state buffers and scalars: start at 0, at a constant, at a hyperparameter's value; or exist
 * only when a hyperparameter is nonzero */
#define ZERO(nm) {nm, -1, 0.0f, -1}
#define CONST(nm, v) {nm, -1, v, -1}
#define FROM(nm, hp) {nm, HP_##hp, 0.0f, -1}
#define ZERO_IF(nm, hp) {nm, -1, 0.0f, HP_##hp}

static const nf_opt_desc descs[NF_OPT_COUNT] = {
    [NF_OPT_SGD] = {
        .name = "sgd",
        .reads = READS(V(LR, 0.01), V(MOMENTUM, 0), V(DAMPENING, 0), V(WEIGHT_DECAY, 0), V(NESTEROV, 0)),
        .keras = READS(V(LR, 0.01)),
        .state = {ZERO_IF("momentum_buffer", MOMENTUM)},
        .step = sgd_step, .check = sgd_check},
    [NF_OPT_ADAM] = {
        .name = "adam",
        .reads = READS(V(LR, 1e-3), V2(BETAS, 0.9, 0.999), V(EPS, 1e-8), V(WEIGHT_DECAY, 0), V(AMSGRAD, 0)),
        .keras = READS(V(LR, 1e-3), V(EPS, 1e-7)),
        .state = {ZERO("exp_avg"), ZERO("exp_avg_sq"), ZERO_IF("max_exp_avg_sq", AMSGRAD)},
        .step = adam_step},
    [NF_OPT_RMSPROP] = {
        .name = "rmsprop",
        .reads = READS(V(LR, 0.01), V(ALPHA, 0.99), V(EPS, 1e-8), V(WEIGHT_DECAY, 0), V(MOMENTUM, 0),
                       V(CENTERED, 0)),
        .keras = READS(V(LR, 1e-3), V(ALPHA, 0.9), V(EPS, 1e-7)),
        .state = {ZERO("square_avg"), ZERO_IF("grad_avg", CENTERED), ZERO_IF("momentum_buffer", MOMENTUM)},
        .step = rmsprop_step, .check = rmsprop_check},
    [NF_OPT_ADAGRAD] = {
        .name = "adagrad",
        .reads = READS(V(LR, 0.01), V(LR_DECAY, 0), V(WEIGHT_DECAY, 0), V(INITIAL_ACCUMULATOR_VALUE, 0),
                       V(EPS, 1e-10)),
        .keras = READS(V(LR, 1e-3), V(INITIAL_ACCUMULATOR_VALUE, 0.1), V(EPS, 1e-7)),
        .state = {FROM("sum", INITIAL_ACCUMULATOR_VALUE)},
        .step = adagrad_step},
    [NF_OPT_ADADELTA] = {
        .name = "adadelta",
        .reads = READS(V(LR, 1.0), V(RHO, 0.9), V(EPS, 1e-6), V(WEIGHT_DECAY, 0)),
        .state = {ZERO("square_avg"), ZERO("acc_delta")},
        .step = adadelta_step},
    [NF_OPT_ADAMW] = {
        .name = "adamw",
        .reads = READS(V(LR, 1e-3), V2(BETAS, 0.9, 0.999), V(EPS, 1e-8), V(WEIGHT_DECAY, 1e-2), V(AMSGRAD, 0)),
        .keras = READS(V(LR, 1e-3), V(EPS, 1e-7), V(WEIGHT_DECAY, 0.004)),
        .state = {ZERO("exp_avg"), ZERO("exp_avg_sq"), ZERO_IF("max_exp_avg_sq", AMSGRAD)},
        .step = adamw_step},
    [NF_OPT_ADAMAX] = {
        .name = "adamax",
        .reads = READS(V(LR, 2e-3), V2(BETAS, 0.9, 0.999), V(EPS, 1e-8), V(WEIGHT_DECAY, 0)),
        .keras = READS(V(LR, 1e-3), V(EPS, 1e-7)),
        .state = {ZERO("exp_avg"), ZERO("exp_inf")},
        .step = adamax_step},
    [NF_OPT_NADAM] = {
        .name = "nadam",
        .reads = READS(V(LR, 2e-3), V2(BETAS, 0.9, 0.999), V(EPS, 1e-8), V(WEIGHT_DECAY, 0),
                       V(MOMENTUM_DECAY, 4e-3)),
        .state = {ZERO("exp_avg"), ZERO("exp_avg_sq")},
        .scalars = {CONST("mu_product", 1.0f)},
        .step = nadam_step},
    [NF_OPT_RADAM] = {
        .name = "radam",
        .reads = READS(V(LR, 1e-3), V2(BETAS, 0.9, 0.999), V(EPS, 1e-8), V(WEIGHT_DECAY, 0)),
        .state = {ZERO("exp_avg"), ZERO("exp_avg_sq")},
        .step = radam_step},
    [NF_OPT_ASGD] = {
        .name = "asgd",
        .reads = READS(V(LR, 0.01), V(LAMBD, 1e-4), V(ALPHA, 0.75), V(T0, 1e6), V(WEIGHT_DECAY, 0)),
        .state = {ZERO("ax")},
        .scalars = {FROM("eta", LR), CONST("mu", 1.0f)},
        .step = asgd_step},
    [NF_OPT_RPROP] = {
        .name = "rprop",
        .reads = READS(V(LR, 0.01), V2(ETAS, 0.5, 1.2), V2(STEP_SIZES, 1e-6, 50.0)),
        .state = {ZERO("prev"), FROM("step_size", LR)},
        .step = rprop_step, .check = rprop_check},
    [NF_OPT_LION] = {
        .name = "lion",
        .reads = READS(V(LR, 1e-4), V2(BETAS, 0.9, 0.99), V(WEIGHT_DECAY, 0)),
        .state = {ZERO("exp_avg")},
        .step = lion_step},
    [NF_OPT_ADAFACTOR] = {
        .name = "adafactor",
        .reads = READS(V(LR, 1e-3), V(BETA2_DECAY, -0.8), V(EPS1, 1e-30), V(EPS2, 1e-3),
                       V(CLIP_THRESHOLD, 1.0), V(RELATIVE_STEP, 1)),
        .factored = 1,
        .step = adafactor_step},
    [NF_OPT_FTRL] = {
        .name = "ftrl",
        .reads = READS(V(LR, 1e-3), V(LR_POWER, -0.5), V(INITIAL_ACCUMULATOR_VALUE, 0.1), V(L1, 0),
                       V(L2, 0), V(L2_SHRINKAGE, 0), V(BETA, 0)),
        .state = {FROM("accumulator", INITIAL_ACCUMULATOR_VALUE), ZERO("linear")},
        .step = ftrl_step},
    [NF_OPT_LBFGS] = {
        .name = "lbfgs", .aliases = "l-bfgs l_bfgs",
        .reads = READS(V(LR, 1.0), V(MAX_ITER, 20), V(MAX_EVAL, 0), V(TOLERANCE_GRAD, 1e-7),
                       V(TOLERANCE_CHANGE, 1e-9), V(HISTORY_SIZE, 100), V(LINE_SEARCH, 0)),
        .drive = NF_DRIVE_CLOSURE},
    [NF_OPT_LM] = {
        .name = "lm", .aliases = "levenberg-marquardt trainlm",
        .reads = READS(V(MU, 1e-3), V(MU_DEC, 0.1), V(MU_INC, 10.0), V(MU_MAX, 1e10), V(MIN_GRAD, 1e-7)),
        .drive = NF_DRIVE_MODEL, .check = lm_check},
};
#undef END
#undef READS
#undef V
#undef V2
#undef ZERO
#undef CONST
#undef FROM
#undef ZERO_IF

const nf_opt_desc *nf_opt_desc_of(nf_opt_kind kind)
{
    return (unsigned)kind < NF_OPT_COUNT ? &descs[kind] : NULL;
}

const char *nf_opt_name(nf_opt_kind kind)
{
    return (unsigned)kind < NF_OPT_COUNT ? descs[kind].name : "?";
}

/* ---- the optimizer object ---- */

static float start_value(const nf_optim *o, const nf_state_def *s)
{
    if (s->from_hp < 0) return s->value;
    double a;
    nf_opt_hparam_get(&o->cfg, s->from_hp, &a, NULL);
    return (float)a;
}

static int state_needed(const nf_opt_config *c, const nf_state_def *s)
{
    if (s->when_hp < 0) return 1;
    double a;
    nf_opt_hparam_get(c, s->when_hp, &a, NULL);
    return a != 0.0;
}

static void init_state(nf_optim *o)
{
    const nf_opt_desc *d = o->desc;
    o->step = 0;
    for (int i = 0; i < NF_OPT_MAX_STATE; i++)
        if (o->state[i]) {
            const float v = start_value(o, &d->state[i]);
            for (size_t k = 0; k < o->n; k++) o->state[i][k] = v;
        }
    for (int i = 0; i < NF_OPT_MAX_SCALARS; i++)
        o->scalar[i] = d->scalars[i].name ? start_value(o, &d->scalars[i]) : 0.0f;
    if (o->af_stats) memset(o->af_stats, 0, o->af_stats_len * sizeof(float));
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
    o->desc = nf_opt_desc_of(cfg->kind);
    o->n = n;
    for (int i = 0; i < NF_OPT_MAX_STATE && !st; i++)
        if (o->desc->state[i].name && state_needed(cfg, &o->desc->state[i]))
            st = nf_alloc_floats(&o->state[i], n);
    if (!st && o->desc->factored) {
        size_t rows = n, cols = 1;
        st = nf_optim_set_tensors(o, 1, &rows, &cols);
    }
    if (!st && o->desc->drive == NF_DRIVE_CLOSURE) st = nf_lbfgs_alloc(o);
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
    if (!o->desc->factored) return NF_OK;
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
    for (int i = 0; i < NF_OPT_MAX_STATE; i++)
        if (o->state[i]) {
            const float v = start_value(o, &o->desc->state[i]);
            for (size_t k = start; k < start + count; k++) o->state[i][k] = v;
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
    size_t b = o->af_stats_len * sizeof(float);
    for (int i = 0; i < NF_OPT_MAX_STATE; i++)
        if (o->state[i]) b += o->n * sizeof(float);
    if (o->lb) b += ((size_t)2 * (size_t)o->lb->history_size + 8) * o->n * sizeof(float);
    return b;
}

static void nf_optim_step_impl(nf_optim *o, float *params, const float *grads)
{
    if (!o->desc->step) return; /* lbfgs, lm: closure / model driven */
    o->desc->step(o, params, grads);
    o->step++;
}

static nf_status nf_optim_step_closure_impl(nf_optim *o, float *params, nf_closure fn, void *ctx, double *loss)
{
    switch (o->desc->drive) {
    case NF_DRIVE_CLOSURE: return nf_lbfgs_step(o, params, fn, ctx, loss);
    case NF_DRIVE_MODEL:
        return nf_fail(NF_EINVAL, "%s needs the model's Jacobian: train it with nf_train", o->desc->name);
    default:
        return nf_fail(NF_EINVAL, "nf_optim_step_closure for %s: use nf_optim_step with a gradient "
                                  "buffer", o->desc->name);
    }
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
