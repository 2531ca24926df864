/* optim_lbfgs.c — L-BFGS as torch.optim.LBFGS (PyTorch 1.13, torch/optim/lbfgs.py), including
 * its strong-Wolfe line search (a port of minFunc/torch7 lswolfe.lua), on the flat parameter
 * vector.  PyTorch keeps the two-loop scalars (ys, ρ, α, β, H_diag, gᵀd, t) as float32
 * tensors and forms dot products with float32 BLAS; we do the same (cblas_sdot, scalars
 * rounded to float) because L-BFGS amplifies rounding differences from one iteration to the
 * next.  The line search's own bookkeeping is in double. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"
#include "optim_internal.h"

/* float32 dot, as torch's Tensor.dot */
static double dot(const float *a, const float *b, size_t n)
{
    return (double)cblas_sdot((int)n, a, 1, b, 1);
}

/* float32 product/quotient of float32 scalars, as 0-dim tensor arithmetic */
static double f32(double x) { return (double)(float)x; }

/* max |a[i]|; NaN if any element is NaN (so a NaN gradient never passes a tolerance test) */
static double max_abs(const float *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs((double)a[i]);
        if (!(v <= m)) m = v;
    }
    return m;
}

nf_status nf_lbfgs_alloc(nf_optim *o)
{
    const size_t n = o->n, h = (size_t)o->cfg.history_size;
    nf_lbfgs_state *L = calloc(1, sizeof *L);
    if (!L) return nf_fail(NF_ENOMEM, "cannot allocate L-BFGS state");
    o->lb = L;
    L->history_size = o->cfg.history_size;
    if (h > ((size_t)1 << 40) / (n ? n : 1))
        return nf_fail(NF_ENOMEM, "L-BFGS history %zu × %zu parameters is too large", h, n);
    nf_status st = nf_alloc_floats(&L->dirs, h * n);
    if (!st) st = nf_alloc_floats(&L->stps, h * n);
    float **vecs[] = {&L->d, &L->prev_g, &L->g, &L->x0, &L->g_new, &L->g_prev, &L->g_lo, &L->g_hi};
    for (size_t i = 0; !st && i < sizeof vecs / sizeof vecs[0]; i++) st = nf_alloc_floats(vecs[i], n);
    if (!st) {
        L->ro = calloc(h, sizeof(double));
        L->al = calloc(h, sizeof(double));
        if (!L->ro || !L->al) st = nf_fail(NF_ENOMEM, "cannot allocate L-BFGS history");
    }
    return st;
}

void nf_lbfgs_free(nf_optim *o)
{
    nf_lbfgs_state *L = o->lb;
    if (!L) return;
    float *bufs[] = {L->dirs, L->stps, L->d, L->prev_g, L->g, L->x0, L->g_new, L->g_prev, L->g_lo, L->g_hi};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nf_free(bufs[i]);
    free(L->ro);
    free(L->al);
    free(L);
    o->lb = NULL;
}

void nf_lbfgs_reset(nf_optim *o)
{
    nf_lbfgs_state *L = o->lb;
    L->n_old = L->head = 0;
    L->t = 0.0;
    L->H_diag = 1.0;
    L->prev_loss = 0.0;
    L->func_evals = L->n_iter = 0;
    L->converged = 0;
}

/* History slot i (0 = oldest) in the ring. */
static float *hist_y(nf_lbfgs_state *L, size_t n, int i)
{
    return L->dirs + (size_t)((L->head + i) % L->history_size) * n;
}
static float *hist_s(nf_lbfgs_state *L, size_t n, int i)
{
    return L->stps + (size_t)((L->head + i) % L->history_size) * n;
}
static double *hist_ro(nf_lbfgs_state *L, int i) { return &L->ro[(L->head + i) % L->history_size]; }

/* _cubic_interpolate of lbfgs.py: minimiser of the cubic through (x1,f1,g1), (x2,f2,g2),
 * clamped to [lo, hi] (the two points when no bounds). */
static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                int have_bounds, double lo, double hi)
{
    if (!have_bounds) {
        lo = x1 <= x2 ? x1 : x2;
        hi = x1 <= x2 ? x2 : x1;
    }
    double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    double d2sq = d1 * d1 - g1 * g2;
    if (d2sq >= 0.0) {
        double d2 = sqrt(d2sq), min_pos;
        if (x1 <= x2)
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2));
        else
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
        return fmin(fmax(min_pos, lo), hi);
    }
    return (lo + hi) / 2.0;
}

typedef struct {
    nf_optim *o;
    const float *x;
    const float *d;
    float *xt; /* evaluation point */
    nf_closure fn;
    void *ctx;
} ls_ctx;

/* f and gradient at x + t·d into g. */
static nf_status eval_at(ls_ctx *c, double t, float *g, double *f)
{
    const float ft = (float)t;
    for (size_t i = 0; i < c->o->n; i++) c->xt[i] = c->x[i] + ft * c->d[i];
    return c->fn(c->ctx, c->xt, g, f);
}

/* _strong_wolfe of lbfgs.py (c1 1e-4, c2 0.9, max_ls 25).  On entry g is the gradient at x
 * (f, gtd its loss and slope); on return *f_out, g (overwritten) and *t_out are those of the
 * accepted point and *evals the number of evaluations. */
static nf_status strong_wolfe(ls_ctx *c, double t, double f, float *g, double gtd,
                              double tol_change, double *f_out, double *t_out, int *evals)
{
    nf_lbfgs_state *L = c->o->lb;
    const size_t n = c->o->n;
    const double c1 = 1e-4, c2 = 0.9;
    const int max_ls = 25;
    const double d_norm = max_abs(c->d, n);
    float *g_new = L->g_new, *g_prev = L->g_prev, *bg[2] = {L->g_lo, L->g_hi};
    double f_new;
    nf_status st = eval_at(c, t, g_new, &f_new);
    if (st) return st;
    int ls_evals = 1;
    double gtd_new = dot(g_new, c->d, n);
    double t_prev = 0.0, f_prev = f, gtd_prev = gtd;
    memcpy(g_prev, g, n * sizeof(float));
    int done = 0, ls_iter = 0, nb = 0;
    double br[2] = {0, 0}, bf[2] = {0, 0}, bgtd[2] = {0, 0};
    while (ls_iter < max_ls) {
        if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
            br[0] = t_prev; br[1] = t; bf[0] = f_prev; bf[1] = f_new;
            memcpy(bg[0], g_prev, n * sizeof(float));
            memcpy(bg[1], g_new, n * sizeof(float));
            bgtd[0] = gtd_prev; bgtd[1] = gtd_new;
            nb = 2;
            break;
        }
        if (fabs(gtd_new) <= -c2 * gtd) {
            br[0] = t; bf[0] = f_new;
            memcpy(bg[0], g_new, n * sizeof(float));
            nb = 1;
            done = 1;
            break;
        }
        if (gtd_new >= 0.0) {
            br[0] = t_prev; br[1] = t; bf[0] = f_prev; bf[1] = f_new;
            memcpy(bg[0], g_prev, n * sizeof(float));
            memcpy(bg[1], g_new, n * sizeof(float));
            bgtd[0] = gtd_prev; bgtd[1] = gtd_new;
            nb = 2;
            break;
        }
        double min_step = t + 0.01 * (t - t_prev), max_step = t * 10.0, tmp = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, 1, min_step, max_step);
        t_prev = tmp;
        f_prev = f_new;
        memcpy(g_prev, g_new, n * sizeof(float));
        gtd_prev = gtd_new;
        if ((st = eval_at(c, t, g_new, &f_new))) return st;
        ls_evals++;
        gtd_new = dot(g_new, c->d, n);
        ls_iter++;
    }
    if (ls_iter == max_ls) {
        br[0] = 0.0; br[1] = t; bf[0] = f; bf[1] = f_new;
        memcpy(bg[0], g, n * sizeof(float));
        memcpy(bg[1], g_new, n * sizeof(float));
        nb = 2;
    }
    int insuf = 0;
    int lo = 0, hi = 1;
    if (nb == 2 && !(bf[0] <= bf[1])) { lo = 1; hi = 0; }
    while (!done && ls_iter < max_ls) {
        if (fabs(br[1] - br[0]) * d_norm < tol_change) break;
        t = cubic_interpolate(br[0], bf[0], bgtd[0], br[1], bf[1], bgtd[1], 0, 0, 0);
        double bmax = fmax(br[0], br[1]), bmin = fmin(br[0], br[1]);
        double eps = 0.1 * (bmax - bmin);
        if (fmin(bmax - t, t - bmin) < eps) {
            if (insuf || t >= bmax || t <= bmin) {
                t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
                insuf = 0;
            } else {
                insuf = 1;
            }
        } else {
            insuf = 0;
        }
        if ((st = eval_at(c, t, g_new, &f_new))) return st;
        ls_evals++;
        gtd_new = dot(g_new, c->d, n);
        ls_iter++;
        if (f_new > f + c1 * t * gtd || f_new >= bf[lo]) {
            br[hi] = t; bf[hi] = f_new; bgtd[hi] = gtd_new;
            memcpy(bg[hi], g_new, n * sizeof(float));
            if (bf[0] <= bf[1]) { lo = 0; hi = 1; } else { lo = 1; hi = 0; }
        } else {
            if (fabs(gtd_new) <= -c2 * gtd) {
                done = 1;
            } else if (gtd_new * (br[hi] - br[lo]) >= 0.0) {
                br[hi] = br[lo]; bf[hi] = bf[lo]; bgtd[hi] = bgtd[lo];
                memcpy(bg[hi], bg[lo], n * sizeof(float));
            }
            br[lo] = t; bf[lo] = f_new; bgtd[lo] = gtd_new;
            memcpy(bg[lo], g_new, n * sizeof(float));
        }
    }
    *t_out = br[lo];
    *f_out = bf[lo];
    memcpy(g, bg[lo], n * sizeof(float));
    *evals = ls_evals;
    return NF_OK;
}

nf_status nf_lbfgs_step(nf_optim *o, float *p, nf_closure fn, void *ctx, double *loss_out)
{
    nf_lbfgs_state *L = o->lb;
    const nf_opt_config *c = &o->cfg;
    const size_t n = o->n;
    const int max_eval = nf_lbfgs_max_eval(c);
    const double tol_grad = c->tolerance_grad, tol_change = c->tolerance_change, lr = c->lr;
    float *g = L->g, *d = L->d;
    double loss;
    nf_status st = fn(ctx, p, g, &loss);
    if (st) return st;
    if (loss_out) *loss_out = loss;
    o->step++;
    L->func_evals++;
    int current_evals = 1;
    L->converged = 0;
    if (!isfinite(loss)) return NF_OK; /* the caller sees the loss */
    if (max_abs(g, n) <= tol_grad) {
        L->converged = 1;
        return NF_OK;
    }
    int n_iter = 0;
    while (n_iter < c->max_iter) {
        n_iter++;
        L->n_iter++;
        if (L->n_iter == 1) {
            for (size_t i = 0; i < n; i++) d[i] = -g[i];
            L->n_old = L->head = 0;
            L->H_diag = 1.0;
        } else {
            /* y = g − prev_g and s = t·d go straight into the next history slot */
            int slot = L->n_old == L->history_size ? L->head : (L->head + L->n_old) % L->history_size;
            float *y = L->dirs + (size_t)slot * n, *s = L->stps + (size_t)slot * n;
            const float ft = (float)L->t;
            /* y and s are written into the slot; it only joins the history when ys > 1e-10 */
            float *ys_buf_y = L->g_new, *ys_buf_s = L->g_prev;
            for (size_t i = 0; i < n; i++) {
                ys_buf_y[i] = g[i] - L->prev_g[i];
                ys_buf_s[i] = d[i] * ft;
            }
            double ys = dot(ys_buf_y, ys_buf_s, n);
            if (ys > 1e-10) {
                double yy = dot(ys_buf_y, ys_buf_y, n);
                memcpy(y, ys_buf_y, n * sizeof(float));
                memcpy(s, ys_buf_s, n * sizeof(float));
                L->ro[slot] = f32(1.0 / ys);
                if (L->n_old == L->history_size)
                    L->head = (L->head + 1) % L->history_size;
                else
                    L->n_old++;
                L->H_diag = f32(ys / yy);
            }
            /* two-loop recursion, d = −H·g */
            for (size_t i = 0; i < n; i++) d[i] = -g[i];
            for (int i = L->n_old - 1; i >= 0; i--) {
                L->al[i] = f32(dot(hist_s(L, n, i), d, n) * *hist_ro(L, i));
                const float a = (float)L->al[i], *yi = hist_y(L, n, i);
                for (size_t k = 0; k < n; k++) d[k] -= a * yi[k];
            }
            const float hd = (float)L->H_diag;
            for (size_t k = 0; k < n; k++) d[k] *= hd;
            for (int i = 0; i < L->n_old; i++) {
                double be = f32(dot(hist_y(L, n, i), d, n) * *hist_ro(L, i));
                const float a = (float)(L->al[i] - be), *si = hist_s(L, n, i);
                for (size_t k = 0; k < n; k++) d[k] += a * si[k];
            }
        }
        memcpy(L->prev_g, g, n * sizeof(float));
        L->prev_loss = loss;
        if (L->n_iter == 1) {
            double sum = 0.0;
            for (size_t i = 0; i < n; i++) sum += fabs((double)g[i]);
            sum = f32(sum);
            L->t = f32(fmin(1.0, f32(1.0 / sum)) * lr);
        } else {
            L->t = lr;
        }
        double gtd = dot(g, d, n);
        if (gtd > -tol_change) break;
        int ls_evals = 0, opt_cond = 0;
        if (c->line_search) {
            memcpy(L->x0, p, n * sizeof(float));
            ls_ctx lc = {o, L->x0, d, p, fn, ctx};
            double t_new;
            st = strong_wolfe(&lc, L->t, loss, g, gtd, tol_change, &loss, &t_new, &ls_evals);
            if (st) return st;
            L->t = t_new;
            const float ft = (float)t_new;
            for (size_t i = 0; i < n; i++) p[i] = L->x0[i] + ft * d[i];
            opt_cond = max_abs(g, n) <= tol_grad;
        } else {
            const float ft = (float)L->t;
            for (size_t i = 0; i < n; i++) p[i] += ft * d[i];
            if (n_iter != c->max_iter) {
                if ((st = fn(ctx, p, g, &loss))) return st;
                opt_cond = max_abs(g, n) <= tol_grad;
                ls_evals = 1;
            }
        }
        current_evals += ls_evals;
        L->func_evals += ls_evals;
        if (!isfinite(loss)) break;
        if (n_iter == c->max_iter) break;
        if (current_evals >= max_eval) break;
        if (opt_cond) {
            L->converged = 1;
            break;
        }
        if (max_abs(d, n) * fabs(L->t) <= tol_change) break;
        if (fabs(loss - L->prev_loss) < tol_change) break;
    }
    return NF_OK;
}
