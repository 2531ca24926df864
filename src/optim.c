/* optim.c — first-order optimizers over flat buffers. */
#include "nnfit/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"

#define MAX_STATE 4

struct nf_optim {
    nf_opt_config cfg;
    size_t n;
    long step;
    int n_state;
    float *state[MAX_STATE];
};

static const char *const names[NF_OPT_COUNT] = {"sgd", "adam"};

const char *nf_opt_name(nf_opt_kind kind)
{
    return (unsigned)kind < NF_OPT_COUNT ? names[kind] : "?";
}

const char *nf_opt_names(void) { return "sgd, adam"; }

nf_status nf_opt_parse(const char *name, nf_opt_kind *kind)
{
    for (int k = 0; k < NF_OPT_COUNT; k++)
        if (!strcmp(name, names[k])) {
            *kind = (nf_opt_kind)k;
            return NF_OK;
        }
    return nf_fail(NF_EINVAL, "unknown optimizer '%s' (valid: %s)", name, nf_opt_names());
}

void nf_opt_defaults(nf_opt_kind kind, nf_opt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    switch (kind) {
    case NF_OPT_SGD: cfg->lr = 0.01; break;
    case NF_OPT_ADAM: cfg->lr = 1e-3; break;
    default: break;
    }
}

const char *nf_opt_uses(nf_opt_kind kind)
{
    switch (kind) {
    case NF_OPT_SGD: return "lr momentum dampening weight_decay nesterov";
    case NF_OPT_ADAM: return "lr betas eps weight_decay amsgrad";
    default: return "";
    }
}

nf_status nf_opt_validate(const nf_opt_config *c)
{
    if ((unsigned)c->kind >= NF_OPT_COUNT) return nf_fail(NF_EINVAL, "unknown optimizer %d", c->kind);
    if (!(c->lr > 0.0) || !isfinite(c->lr)) return nf_fail(NF_EINVAL, "lr must be > 0, got %g", c->lr);
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return nf_fail(NF_EINVAL, "weight decay must be >= 0, got %g", c->weight_decay);
    if (c->kind == NF_OPT_SGD) {
        if (!(c->momentum >= 0.0) || !isfinite(c->momentum))
            return nf_fail(NF_EINVAL, "momentum must be >= 0, got %g", c->momentum);
        if (!isfinite(c->dampening))
            return nf_fail(NF_EINVAL, "dampening must be finite, got %g", c->dampening);
        if (c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0))
            return nf_fail(NF_EINVAL, "nesterov needs momentum > 0 and dampening 0 (as PyTorch)");
    }
    if (c->kind == NF_OPT_ADAM) {
        if (!(c->beta1 >= 0.0 && c->beta1 < 1.0))
            return nf_fail(NF_EINVAL, "beta1 must be in [0, 1), got %g", c->beta1);
        if (!(c->beta2 >= 0.0 && c->beta2 < 1.0))
            return nf_fail(NF_EINVAL, "beta2 must be in [0, 1), got %g", c->beta2);
        if (!(c->eps >= 0.0) || !isfinite(c->eps))
            return nf_fail(NF_EINVAL, "eps must be >= 0, got %g", c->eps);
    }
    return NF_OK;
}

static int state_count(const nf_opt_config *c)
{
    switch (c->kind) {
    case NF_OPT_SGD: return c->momentum != 0.0 ? 1 : 0;
    case NF_OPT_ADAM: return c->amsgrad ? 3 : 2;
    default: return 0;
    }
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
    for (int i = 0; i < o->n_state; i++) {
        st = nf_alloc_floats(&o->state[i], n);
        if (st) {
            nf_optim_free(o);
            return st;
        }
    }
    *out = o;
    return NF_OK;
}

void nf_optim_free(nf_optim *o)
{
    if (!o) return;
    for (int i = 0; i < MAX_STATE; i++) nf_free(o->state[i]);
    free(o);
}

void nf_optim_reset(nf_optim *o)
{
    o->step = 0;
    for (int i = 0; i < o->n_state; i++) memset(o->state[i], 0, o->n * sizeof(float));
}

void nf_optim_set_lr(nf_optim *o, double lr) { o->cfg.lr = lr; }
double nf_optim_lr(const nf_optim *o) { return o->cfg.lr; }
long nf_optim_steps(const nf_optim *o) { return o->step; }
size_t nf_optim_state_bytes(const nf_optim *o) { return (size_t)o->n_state * o->n * sizeof(float); }

/* torch.optim.SGD (PyTorch 1.13, _single_tensor_sgd):
 *   g += wd·p;  b = g (first step) or μ·b + (1−dampening)·g;  g = nesterov ? g + μ·b : b;
 *   p −= lr·g */
static void sgd_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const float lr = (float)c->lr, wd = (float)c->weight_decay, mu = (float)c->momentum;
    const float damp = (float)(1.0 - c->dampening);
    const size_t n = o->n;
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

/* torch.optim.Adam (PyTorch 1.13, _single_tensor_adam):
 *   g += wd·p;  m = m + (1−β1)(g − m);  v = β2·v + (1−β2)·g²;  [v̂max = max(v̂max, v)]
 *   p −= lr/(1−β1^t) · m / (√v / √(1−β2^t) + eps) */
static void adam_step(nf_optim *o, float *restrict p, const float *restrict g)
{
    const nf_opt_config *c = &o->cfg;
    const double t = (double)o->step + 1.0;
    /* 1−β is formed in double and rounded once, as PyTorch passes it to its float kernels. */
    const float b2 = (float)c->beta2, wd = (float)c->weight_decay;
    const float omb1 = (float)(1.0 - c->beta1), omb2 = (float)(1.0 - c->beta2);
    const float eps = (float)c->eps;
    const float step_size = (float)(c->lr / (1.0 - pow(c->beta1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, t));
    float *restrict m = o->state[0], *restrict v = o->state[1];
    const size_t n = o->n;
    if (c->amsgrad) {
        float *restrict vmax = o->state[2];
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            m[i] += omb1 * (gi - m[i]);
            v[i] = b2 * v[i] + omb2 * gi * gi;
            vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
            p[i] -= step_size * m[i] / (sqrtf(vmax[i]) / bc2_sqrt + eps);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            m[i] += omb1 * (gi - m[i]);
            v[i] = b2 * v[i] + omb2 * gi * gi;
            p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
        }
    }
}

void nf_optim_step(nf_optim *o, float *params, const float *grads)
{
    switch (o->cfg.kind) {
    case NF_OPT_SGD: sgd_step(o, params, grads); break;
    case NF_OPT_ADAM: adam_step(o, params, grads); break;
    default: break;
    }
    o->step++;
}
