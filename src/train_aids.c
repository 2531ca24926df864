/* train_aids.c — schedules, early stopping, clipping, decoupled weight decay, repulsion,
 * dropout and unit revival for nf_train. */
#include "nnfit/train_aids.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_aids_internal.h"

static const char *const sched_names[NF_SCHED_COUNT] = {"none", "step", "exp", "cosine", "plateau"};

const char *nf_sched_name(nf_sched_kind kind)
{
    return (unsigned)kind < NF_SCHED_COUNT ? sched_names[kind] : "?";
}

nf_status nf_sched_parse(const char *name, nf_sched_kind *kind)
{
    for (int k = 0; k < NF_SCHED_COUNT; k++)
        if (!strcmp(name, sched_names[k])) {
            *kind = (nf_sched_kind)k;
            return NF_OK;
        }
    return nf_fail(NF_EINVAL, "unknown schedule '%s' (valid: none, step, exp, cosine, plateau)", name);
}

void nf_sched_defaults(nf_sched_config *s)
{
    memset(s, 0, sizeof *s);
    s->step_size = 30;
    s->gamma = 0.1;
    s->factor = 0.1;
    s->patience = 10;
    s->threshold = 1e-4;
    s->eps = 1e-8;
}

static double warm_factor(const nf_sched_config *s, int e)
{
    return s->warmup > 0 && e < s->warmup ? (double)(e + 1) / (double)(s->warmup + 1) : 1.0;
}

double nf_sched_lr(const nf_sched_config *s, double base, int e, int epochs)
{
    double lr = base;
    switch (s->kind) {
    case NF_SCHED_STEP: lr = base * pow(s->gamma, (double)(e / (s->step_size > 0 ? s->step_size : 1))); break;
    case NF_SCHED_EXP: lr = base * pow(s->gamma, (double)e); break;
    case NF_SCHED_COSINE: {
        int tm = s->t_max > 0 ? s->t_max : epochs;
        lr = s->eta_min + (base - s->eta_min) * (1.0 + cos(M_PI * (double)e / (double)tm)) / 2.0;
        break;
    }
    default: break;
    }
    return lr * warm_factor(s, e);
}

void nf_plateau_init(nf_plateau *p)
{
    p->best = INFINITY;
    p->scale = 1.0;
    p->num_bad = 0;
    p->cooldown_counter = 0;
}

int nf_plateau_step(nf_plateau *p, const nf_sched_config *s, double base, double metric)
{
    /* torch 1.13 ReduceLROnPlateau.step, mode 'min', threshold_mode 'rel' */
    if (metric < p->best * (1.0 - s->threshold)) {
        p->best = metric;
        p->num_bad = 0;
    } else {
        p->num_bad++;
    }
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->num_bad = 0;
    }
    if (p->num_bad > s->patience) {
        double old_lr = base * p->scale;
        double new_lr = fmax(old_lr * s->factor, s->min_lr);
        p->cooldown_counter = s->cooldown;
        p->num_bad = 0;
        if (old_lr - new_lr > s->eps) {
            p->scale = new_lr / base;
            return 1;
        }
    }
    return 0;
}

void nf_aids_defaults(nf_aids_config *a)
{
    memset(a, 0, sizeof *a);
    nf_sched_defaults(&a->sched);
    a->dup_cos = 0.999;
    a->prune_start = 0.3;
    a->prune_end = 0.6;
    a->prune_every = 5;
    a->revive_init.kind = NF_INIT_GLOROT_UNIFORM;
    a->revive_opts.gain = 1.0f;
    a->revive_opts.base = NF_INIT_GLOROT_UNIFORM;
}

nf_status nf_aids_validate(const nf_aids_config *a)
{
    const nf_sched_config *s = &a->sched;
    if ((unsigned)s->kind >= NF_SCHED_COUNT) return nf_fail(NF_EINVAL, "bad schedule %d", s->kind);
    if (s->warmup < 0) return nf_fail(NF_EINVAL, "warmup must be >= 0, got %d", s->warmup);
    if (s->kind == NF_SCHED_STEP && s->step_size < 1)
        return nf_fail(NF_EINVAL, "step schedule needs step_size >= 1, got %d", s->step_size);
    if ((s->kind == NF_SCHED_STEP || s->kind == NF_SCHED_EXP) && !(s->gamma > 0.0 && s->gamma <= 1.0))
        return nf_fail(NF_EINVAL, "schedule gamma must be in (0, 1], got %g", s->gamma);
    if (s->kind == NF_SCHED_COSINE && (s->t_max < 0 || !(s->eta_min >= 0.0)))
        return nf_fail(NF_EINVAL, "cosine schedule needs t_max >= 0 and eta_min >= 0");
    if (s->kind == NF_SCHED_PLATEAU &&
        (!(s->factor > 0.0 && s->factor < 1.0) || s->patience < 0 || s->cooldown < 0 ||
         !(s->threshold >= 0.0) || !(s->min_lr >= 0.0)))
        return nf_fail(NF_EINVAL, "plateau schedule needs 0 < factor < 1, patience, cooldown >= 0, "
                                  "threshold >= 0, min_lr >= 0");
    if (a->early_stop < 0) return nf_fail(NF_EINVAL, "early_stop patience must be >= 0");
    if (!(a->clip_norm >= 0.0)) return nf_fail(NF_EINVAL, "clip_norm must be >= 0, got %g", a->clip_norm);
    if (!(a->decoupled_wd >= 0.0)) return nf_fail(NF_EINVAL, "decoupled weight decay must be >= 0");
    if (!(a->repel >= 0.0) || !isfinite(a->repel)) return nf_fail(NF_EINVAL, "repel must be >= 0");
    if (!(a->dropout >= 0.0f && a->dropout < 1.0f))
        return nf_fail(NF_EINVAL, "dropout must be in [0, 1), got %g", (double)a->dropout);
    if (a->revive_every < 0) return nf_fail(NF_EINVAL, "revive_every must be >= 0");
    if (!(a->dup_cos >= 0.0 && a->dup_cos <= 1.0))
        return nf_fail(NF_EINVAL, "duplicate cosine threshold must be in [0, 1], got %g", a->dup_cos);
    if (!(a->revive_parallel >= 0.0 && a->revive_parallel <= 1.0))
        return nf_fail(NF_EINVAL, "parallel revival cosine must be in [0, 1], got %g", a->revive_parallel);
    if (!(a->revive_edge >= 0.0 && a->revive_edge < 0.5))
        return nf_fail(NF_EINVAL, "edge revival fraction must be in [0, 0.5), got %g", a->revive_edge);
    if (!(a->grow >= 0.0) || !isfinite(a->grow) || a->grow > 64.0)
        return nf_fail(NF_EINVAL, "grow factor must be in [0, 64], got %g", a->grow);
    if (!(a->prune_start >= 0.0 && a->prune_start <= a->prune_end && a->prune_end <= 1.0))
        return nf_fail(NF_EINVAL, "pruning needs 0 <= prune_start <= prune_end <= 1, got %g, %g",
                       a->prune_start, a->prune_end);
    if (a->prune_every < 0) return nf_fail(NF_EINVAL, "prune_every must be >= 0");
    if ((unsigned)a->revive_init.kind >= NF_INIT_COUNT || (unsigned)a->revive_opts.base >= NF_INIT_COUNT ||
        a->revive_opts.base == NF_INIT_DATA_KINK)
        return nf_fail(NF_EINVAL, "bad revival initialiser");
    return NF_OK;
}

/* ---- repulsion ---------------------------------------------------------------------------- */

double nf_repel_penalty(const nf_model *m, double lambda, float *grads)
{
    double total = 0.0;
    for (int l = 0; l < nf_model_n_layers(m) - 1; l++) {
        const nf_dense *L = nf_model_layer(m, l);
        const size_t in = (size_t)L->in;
        float *G = grads ? grads + nf_model_param_offset(m, L->W) : NULL;
        for (int j = 0; j < L->out; j++) {
            const float *wj = L->W + (size_t)j * in;
            double rj2 = 0.0;
            for (size_t c = 0; c < in; c++) rj2 += (double)wj[c] * wj[c];
            if (rj2 < 1e-24) continue;
            const double rj = sqrt(rj2);
            for (int k = j + 1; k < L->out; k++) {
                const float *wk = L->W + (size_t)k * in;
                double rk2 = 0.0, dot = 0.0;
                for (size_t c = 0; c < in; c++) {
                    rk2 += (double)wk[c] * wk[c];
                    dot += (double)wj[c] * wk[c];
                }
                if (rk2 < 1e-24) continue;
                const double rk = sqrt(rk2), cs = dot / (rj * rk);
                total += cs * cs;
                if (!G) continue;
                /* d cos/d w_j = (u_k − cos·u_j)/r_j, and symmetrically for w_k */
                const double s = 2.0 * lambda * cs;
                float *gj = G + (size_t)j * in, *gk = G + (size_t)k * in;
                for (size_t c = 0; c < in; c++) {
                    double uj = wj[c] / rj, uk = wk[c] / rk;
                    gj[c] += (float)(s * (uk - cs * uj) / rj);
                    gk[c] += (float)(s * (uj - cs * uk) / rk);
                }
            }
        }
    }
    return lambda * total;
}

double nf_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    const double norm = sqrt(s);
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        const float c = (float)coef;
        for (size_t i = 0; i < n; i++) g[i] *= c;
    }
    return norm;
}

/* ---- revival ------------------------------------------------------------------------------ */

static size_t max_layer_params(const nf_model *m)
{
    size_t mx = 0;
    for (int l = 0; l < nf_model_n_layers(m); l++) {
        const nf_dense *L = nf_model_layer(m, l);
        size_t p = (size_t)L->out * ((size_t)L->in + 1);
        if (p > mx) mx = p;
    }
    return mx;
}

size_t nf_revive_scratch_floats(const nf_model *m, int n)
{
    size_t widths = 0;
    for (int l = 0; l < nf_model_n_layers(m) - 1; l++) widths += (size_t)nf_model_layer(m, l)->out;
    return widths + (size_t)(n > 0 ? n : 0) + max_layer_params(m);
}

/* Cosine of normalised [w_j, b_j] and [w_k, b_k]. */
static double unit_cos(const nf_dense *L, int j, int k)
{
    const float *wj = L->W + (size_t)j * (size_t)L->in, *wk = L->W + (size_t)k * (size_t)L->in;
    double dot = (double)L->b[j] * L->b[k], nj = (double)L->b[j] * L->b[j], nk = (double)L->b[k] * L->b[k];
    for (int c = 0; c < L->in; c++) {
        dot += (double)wj[c] * wk[c];
        nj += (double)wj[c] * wj[c];
        nk += (double)wk[c] * wk[c];
    }
    if (nj <= 0.0 || nk <= 0.0) return 0.0;
    return dot / sqrt(nj * nk);
}

/* |cos| of the incoming weight vectors (bias excluded) of units j and k. */
static double weight_abs_cos(const nf_dense *L, int j, int k)
{
    const float *wj = L->W + (size_t)j * (size_t)L->in, *wk = L->W + (size_t)k * (size_t)L->in;
    double dot = 0.0, nj = 0.0, nk = 0.0;
    for (int c = 0; c < L->in; c++) {
        dot += (double)wj[c] * wk[c];
        nj += (double)wj[c] * wj[c];
        nk += (double)wk[c] * wk[c];
    }
    if (nj <= 0.0 || nk <= 0.0) return 0.0;
    return fabs(dot) / sqrt(nj * nk);
}

nf_status nf_revive_units(nf_model *m, nf_optim *opt, const float *X, int n, double dup_cos,
                          const nf_init_spec *spec, const nf_init_opts *opts, float *scratch,
                          nf_rng *rng, int *count)
{
    const nf_revive_rule rule = {dup_cos, 0.0, 0.0};
    return nf_revive_units_rule(m, opt, X, n, &rule, spec, opts, scratch, rng, count);
}

nf_status nf_revive_units_rule(nf_model *m, nf_optim *opt, const float *X, int n,
                               const nf_revive_rule *rule, const nf_init_spec *spec,
                               const nf_init_opts *opts, float *scratch, nf_rng *rng, int *count)
{
    return nf_revive_units_skip(m, opt, X, n, rule, spec, opts, NULL, scratch, rng, count);
}

nf_status nf_revive_units_skip(nf_model *m, nf_optim *opt, const float *X, int n,
                               const nf_revive_rule *rule, const nf_init_spec *spec,
                               const nf_init_opts *opts, const unsigned char *skip, float *scratch,
                               nf_rng *rng, int *count)
{
    const double dup_cos = rule->dup_cos;
    *count = 0;
    const int n_layers = nf_model_n_layers(m), cap = nf_model_batch_cap(m);
    if (n_layers < 2) return NF_OK;
    if (!cap) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const int training = nf_model_training(m);
    nf_model_set_training(m, 0);
    float *alive = scratch, *median = NULL, *fresh = NULL;
    size_t widths = 0;
    for (int l = 0; l < n_layers - 1; l++) widths += (size_t)nf_model_layer(m, l)->out;
    median = scratch + widths;
    fresh = median + n;
    memset(alive, 0, widths * sizeof(float));
    const size_t nin = (size_t)nf_model_n_in(m);
    for (int r = 0; r < n; r += cap) {
        int b = n - r < cap ? n - r : cap;
        nf_status st = nf_model_forward(m, X + (size_t)r * nin, b);
        if (st) {
            nf_model_set_training(m, training);
            return st;
        }
        float *al = alive;
        for (int l = 0; l < n_layers - 1; l++) {
            const int w = nf_model_layer(m, l)->out;
            const float *v = nf_model_layer_z(m, l); /* holds A when the activation runs in place */
            for (int k = 0; k < b; k++)
                for (int j = 0; j < w; j++)
                    if (v[(size_t)k * (size_t)w + (size_t)j] > 0.0f) al[j] += 1.0f; /* active count */
            al += w;
        }
    }
    nf_model_set_training(m, training);
    nf_init_opts dflt = {1.0f, NF_INIT_GLOROT_UNIFORM};
    if (!opts) opts = &dflt;
    const float gain = opts->gain != 0.0f ? opts->gain : 1.0f;
    float *al = alive;
    if (skip)
        for (size_t u = 0; u < widths; u++)
            if (skip[u]) alive[u] = 0.0f;
    const unsigned char *sk = skip;
    for (int l = 0; l < n_layers - 1; l++) {
        const nf_dense *L = nf_model_layer(m, l), *next = nf_model_layer(m, l + 1);
        int drawn = 0;
        for (int j = 0; j < L->out; j++) {
            if (sk && sk[j]) continue;
            int revive = al[j] == 0.0f;
            if (rule->edge > 0.0 && n > 0) {
                const double frac = (double)al[j] / n;
                revive |= frac <= rule->edge || frac >= 1.0 - rule->edge;
            }
            for (int k = 0; k < j && !revive; k++)
                if (al[k] > 0.0f && (unit_cos(L, j, k) > dup_cos ||
                                     (rule->parallel_cos > 0.0 && weight_abs_cos(L, j, k) > rule->parallel_cos)))
                    revive = 1;
            if (!revive) continue;
            float *wj = L->W + (size_t)j * (size_t)L->in;
            if (spec->kind == NF_INIT_DATA_KINK && l == 0) {
                nf_init_kink_unit(L->in, gain, nf_rng_range(rng, 0.0, 2.0 * M_PI), X, n, wj, &L->b[j],
                                  median, rng);
            } else {
                if (!drawn) {
                    nf_status st = nf_init_layer_spec(spec, opts, L->in, L->out, fresh,
                                                      fresh + (size_t)L->in * (size_t)L->out, rng);
                    if (st) return st;
                    drawn = 1;
                }
                memcpy(wj, fresh + (size_t)j * (size_t)L->in, (size_t)L->in * sizeof(float));
                L->b[j] = fresh[(size_t)L->in * (size_t)L->out + (size_t)j];
            }
            for (int r = 0; r < next->out; r++) next->W[(size_t)r * (size_t)next->in + (size_t)j] = 0.0f;
            if (opt) {
                nf_optim_reset_range(opt, nf_model_param_offset(m, wj), (size_t)L->in);
                nf_optim_reset_range(opt, nf_model_param_offset(m, &L->b[j]), 1);
                for (int r = 0; r < next->out; r++)
                    nf_optim_reset_range(opt, nf_model_param_offset(m, next->W) + (size_t)r * (size_t)next->in + (size_t)j, 1);
            }
            al[j] = 1.0f; /* a fresh unit counts as live for the later ones this round */
            (*count)++;
        }
        al += L->out;
        if (sk) sk += L->out;
    }
    return NF_OK;
}

/* ---- runtime for nf_train ----------------------------------------------------------------- */

struct nf_aids_rt {
    nf_aids_config a;
    nf_model *m;
    nf_optim *opt;
    int epochs, have_val;
    double base_lr, lr;
    nf_plateau plateau;
    float *best, *scratch;
    double best_val;
    int best_epoch;
    double repel_now;
    nf_rng rng;
    nf_grow_rt *grow; /* not owned: nf_train's */
};

void nf_aids_attach_grow(nf_aids_rt *rt, nf_grow_rt *g) { rt->grow = g; }

nf_status nf_aids_begin(nf_aids_rt **out, const nf_aids_config *a, nf_model *m, nf_optim *opt,
                        int n, int epochs, int have_val, uint64_t seed)
{
    *out = NULL;
    nf_status st = nf_aids_validate(a);
    if (st) return st;
    if (a->early_stop > 0 && !have_val)
        return nf_fail(NF_EINVAL, "early stopping needs a validation set");
    nf_aids_rt *rt = calloc(1, sizeof *rt);
    if (!rt) return nf_fail(NF_ENOMEM, "cannot allocate training aids");
    rt->a = *a;
    rt->m = m;
    rt->opt = opt;
    rt->epochs = epochs;
    rt->have_val = have_val;
    rt->base_lr = rt->lr = nf_optim_lr(opt);
    nf_plateau_init(&rt->plateau);
    rt->best_val = INFINITY;
    nf_rng_seed(&rt->rng, nf_rng_derive(seed, 77));
    if (a->early_stop > 0) st = nf_alloc_floats(&rt->best, nf_model_n_params(m));
    if (!st && a->revive_every > 0) st = nf_alloc_floats(&rt->scratch, nf_revive_scratch_floats(m, n));
    if (!st) st = nf_model_set_dropout(m, a->dropout, nf_rng_derive(seed, 78));
    if (st) {
        nf_aids_free(rt);
        return st;
    }
    *out = rt;
    return NF_OK;
}

void nf_aids_epoch_start(nf_aids_rt *rt, int epoch)
{
    const nf_sched_config *s = &rt->a.sched;
    const int e = epoch - 1;
    if (s->kind == NF_SCHED_PLATEAU) rt->lr = rt->base_lr * rt->plateau.scale * warm_factor(s, e);
    else rt->lr = nf_sched_lr(s, rt->base_lr, e, rt->epochs);
    nf_optim_set_lr(rt->opt, rt->lr);
    rt->repel_now = rt->a.repel;
    if (rt->a.repel_anneal && rt->epochs > 1)
        rt->repel_now = rt->a.repel * (double)(rt->epochs - epoch) / (double)(rt->epochs - 1);
    nf_model_set_training(rt->m, rt->a.dropout > 0.0f);
}

void nf_aids_after_grad(nf_aids_rt *rt)
{
    nf_model *m = rt->m;
    const size_t n_params = nf_model_n_params(m);
    if (rt->grow) nf_grow_rt_mask_grads(rt->grow, m);
    if (rt->repel_now > 0.0) nf_repel_penalty(m, rt->repel_now, nf_model_grads(m));
    if (rt->a.clip_norm > 0.0) nf_clip_grad_norm(nf_model_grads(m), n_params, rt->a.clip_norm);
    if (rt->a.decoupled_wd > 0.0) {
        const float f = (float)(1.0 - rt->lr * rt->a.decoupled_wd);
        float *params = nf_model_params(m);
        for (size_t i = 0; i < n_params; i++) params[i] *= f;
    }
}

int nf_aids_epoch_end(nf_aids_rt *rt, int epoch, double loss, double val_loss, const float *X,
                      int n, nf_history *hist, nf_status *st)
{
    *st = NF_OK;
    nf_model_set_training(rt->m, 0);
    const double metric = rt->have_val ? val_loss : loss;
    if (rt->a.sched.kind == NF_SCHED_PLATEAU) nf_plateau_step(&rt->plateau, &rt->a.sched, rt->base_lr, metric);
    hist->final_lr = rt->lr;
    int stop = 0;
    /* while units are still to be pruned, the best epoch could not be restored at this width */
    if (rt->a.early_stop > 0 && (!rt->grow || nf_grow_rt_pruned(rt->grow))) {
        if (val_loss < rt->best_val) {
            rt->best_val = val_loss;
            rt->best_epoch = epoch;
            memcpy(rt->best, nf_model_params(rt->m), nf_model_n_params(rt->m) * sizeof(float));
        } else if (epoch - rt->best_epoch >= rt->a.early_stop) {
            hist->stopped_epoch = epoch;
            stop = 1;
        }
    }
    if (!stop && rt->a.revive_every > 0 && epoch % rt->a.revive_every == 0 && epoch < rt->epochs) {
        int count = 0;
        const nf_revive_rule rule = {rt->a.dup_cos, rt->a.revive_parallel, rt->a.revive_edge};
        *st = nf_revive_units_skip(rt->m, rt->opt, X, n, &rule, &rt->a.revive_init, &rt->a.revive_opts,
                                   rt->grow ? nf_grow_rt_alive_skip(rt->grow) : NULL, rt->scratch, &rt->rng,
                                   &count);
        hist->revivals += count;
    }
    if (!stop && !*st && rt->grow) {
        int count = 0;
        *st = nf_grow_rt_epoch_end(rt->grow, rt->m, rt->opt, epoch, X, n, &count);
        hist->pruned += count;
    }
    return stop;
}

void nf_aids_finish(nf_aids_rt *rt, nf_history *hist)
{
    nf_model_set_training(rt->m, 0);
    if (rt->best && rt->best_epoch > 0) {
        memcpy(nf_model_params(rt->m), rt->best, nf_model_n_params(rt->m) * sizeof(float));
        hist->restored_epoch = rt->best_epoch;
    }
}

void nf_aids_free(nf_aids_rt *rt)
{
    if (!rt) return;
    nf_free(rt->best);
    nf_free(rt->scratch);
    free(rt);
}
