/* train_grow.c — training wider than the model and pruning back to its width: growing a model
 * by spare hidden units, least-squares pruning (Optimal Brain Surgeon on the next layer),
 * compaction into the narrow model, and the least-squares refit of the output layer. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/init.h"
#include "nnfit/mat.h"
#include "nnfit/train_aids.h"

static int ceil_width(int h, double factor)
{
    double w = ceil((double)h * factor - 1e-9);
    if (w < h) w = h;
    if (w > (1 << 24)) w = 1 << 24;
    return (int)w;
}

int nf_grow_width(int width, double factor)
{
    return factor > 1.0 ? ceil_width(width, factor) : width;
}

nf_status nf_grow_model(const nf_model *m, double factor, const nf_init_spec *spec,
                        const nf_init_opts *opts, const float *X, int n, nf_rng *rng, nf_model **out)
{
    *out = NULL;
    if (!(factor >= 1.0) || !isfinite(factor)) return nf_fail(NF_EINVAL, "grow factor must be >= 1, got %g", factor);
    int sizes[NF_MAX_LAYERS + 1];
    nf_act_spec acts[NF_MAX_LAYERS];
    const int nl = nf_model_n_layers(m);
    sizes[0] = nf_model_size(m, 0);
    for (int l = 0; l < nl; l++) {
        sizes[l + 1] = l + 1 < nl ? nf_grow_width(nf_model_size(m, l + 1), factor) : nf_model_size(m, l + 1);
        acts[l] = nf_model_layer(m, l)->act;
    }
    nf_model *w = NULL;
    nf_status st = nf_model_create(&w, nl, sizes, acts);
    if (st) return st;
    nf_init_opts dflt = {1.0f, NF_INIT_GLOROT_UNIFORM};
    if (!opts) opts = &dflt;
    const float gain = opts->gain != 0.0f ? opts->gain : 1.0f;
    float *fresh = NULL, *median = NULL;
    size_t big = 0;
    for (int l = 0; l < nl; l++) {
        size_t p = (size_t)nf_model_layer(w, l)->out * ((size_t)nf_model_layer(w, l)->in + 1);
        if (p > big) big = p;
    }
    st = nf_alloc_floats(&fresh, big);
    if (!st && spec->kind == NF_INIT_DATA_KINK) st = nf_alloc_floats(&median, (size_t)(n > 0 ? n : 1));
    if (!st && spec->kind == NF_INIT_DATA_KINK && (!X || n < 1))
        st = nf_fail(NF_EINVAL, "data_kink needs the training inputs to grow a model");
    for (int l = 0; !st && l < nl; l++) {
        const nf_dense *S = nf_model_layer(m, l), *D = nf_model_layer(w, l);
        /* the spec's rule for the whole wide layer; rows of extra units are taken from it */
        st = nf_init_layer_spec(spec, opts, D->in, D->out, fresh, fresh + (size_t)D->in * (size_t)D->out, rng);
        if (st) break;
        for (int j = 0; j < D->out; j++) {
            float *row = D->W + (size_t)j * (size_t)D->in;
            if (j < S->out) {
                /* an original unit: its weights on the original inputs; zero on spare inputs,
                 * whose outgoing weights are zero anyway */
                memcpy(row, S->W + (size_t)j * (size_t)S->in, (size_t)S->in * sizeof(float));
                D->b[j] = S->b[j];
                if (S->act_p && D->act_p) D->act_p[j] = S->act_p[j];
            } else if (l == 0 && spec->kind == NF_INIT_DATA_KINK) {
                nf_init_kink_unit(D->in, gain, nf_rng_range(rng, 0.0, 2.0 * M_PI), X, n, row, &D->b[j],
                                  median, rng);
            } else {
                memcpy(row, fresh + (size_t)j * (size_t)D->in, (size_t)D->in * sizeof(float));
                D->b[j] = fresh[(size_t)D->in * (size_t)D->out + (size_t)j];
                /* a spare unit reads every input of the wide layer below, original or spare */
            }
        }
        (void)S;
    }
    nf_free(fresh);
    nf_free(median);
    if (st) {
        nf_model_free(w);
        return st;
    }
    *out = w;
    return NF_OK;
}

/* ---- least-squares systems over hidden features ------------------------------------------ */

/* Index of unit j of hidden layer l in a flat per-unit array over all hidden layers. */
static size_t unit_base(const nf_model *m, int l)
{
    size_t b = 0;
    for (int i = 0; i < l; i++) b += (size_t)nf_model_size(m, i + 1);
    return b;
}

enum { CHUNK_ROWS = 256 };

/* Normal equations of a least-squares fit over the n rows of X: the features are, for the units
 * idx[0..s) of hidden layer l, act(z) (and with mirrors also act(−z), interleaved: feature 2i
 * and 2i+1 for unit idx[i]), then a constant 1; d = s·(1 + mirrors) + 1 columns.
 * G [d, d] += FᵀF and R [d, t_cols] += FᵀT in double, where the target T is Y [n, t_cols] when
 * Y is not NULL, else the next layer's current pre-activation (t_cols = its width).  Products
 * of CHUNK_ROWS-row blocks through cblas_dsyrk/dgemm.  Uses m's
 * workspace (forward passes with dropout off). */
static nf_status feature_system(nf_model *m, int l, const int *idx, int s, int mirrors, const float *X,
                                const float *Y, int n, double *G, double *R)
{
    const nf_dense *L = nf_model_layer(m, l), *next = nf_model_layer(m, l + 1);
    const int q = s * (1 + (mirrors != 0)), d = q + 1, tc = Y ? nf_model_n_out(m) : next->out;
    const int cap_rows = nf_model_batch_cap(m);
    const size_t nin = (size_t)nf_model_n_in(m);
    memset(G, 0, (size_t)d * (size_t)d * sizeof(double));
    memset(R, 0, (size_t)d * (size_t)tc * sizeof(double));
    /* double blocks: the units and their mirrors are linearly dependent (relu(z) − relu(−z) = z),
     * and float rounding in G would exceed the ridge that keeps it positive definite */
    double *F = malloc((size_t)CHUNK_ROWS * (size_t)d * sizeof(double));
    double *T = malloc((size_t)CHUNK_ROWS * (size_t)tc * sizeof(double));
    float *Ws = NULL, *bs = NULL, *ps = NULL, *zp = NULL, *zm = NULL, *tb = NULL, *za = NULL;
    const size_t cap = (size_t)cap_rows;
    const int learnable = L->act_p != NULL; /* per-unit activation parameters (prelu, elu_learn) */
    nf_status st = F && T ? NF_OK : nf_fail(NF_ENOMEM, "prune: cannot allocate %d×%d", CHUNK_ROWS, d);
    if (!st) st = nf_alloc_floats(&Ws, (size_t)s * (size_t)L->in);
    if (!st) st = nf_alloc_floats(&bs, (size_t)s);
    if (!st && learnable) st = nf_alloc_floats(&ps, (size_t)s);
    if (!st && learnable) st = nf_alloc_floats(&za, cap * (size_t)s);
    if (!st) st = nf_alloc_floats(&zp, cap * (size_t)s);
    if (!st && mirrors) st = nf_alloc_floats(&zm, cap * (size_t)s);
    if (!st && !Y) st = nf_alloc_floats(&tb, cap * (size_t)tc);
    for (int i = 0; !st && i < s; i++) {
        memcpy(Ws + (size_t)i * (size_t)L->in, L->W + (size_t)idx[i] * (size_t)L->in, (size_t)L->in * sizeof(float));
        bs[i] = L->b[idx[i]];
        if (learnable) ps[i] = L->act_p[idx[i]];
    }
    const int training = nf_model_training(m);
    nf_model_set_training(m, 0);
    int rows = 0; /* rows of the current chunk in F, T */
    for (int r = 0; !st && r < n; r += cap_rows) {
        const int b = n - r < cap_rows ? n - r : cap_rows;
        const float *xb = X + (size_t)r * nin;
        st = nf_model_forward(m, xb, b);
        if (st) break;
        const float *in = l ? nf_model_layer_a(m, l - 1) : xb; /* the layer's input, intact after the forward */
        /* z of the live units [b, s]; their features act(z), act(−z); the target block */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, s, L->in, 1.0f, in, L->in, Ws, L->in, 0.0f, zp, s);
        for (int k = 0; k < b; k++)
            for (int i = 0; i < s; i++) {
                float *zk = zp + (size_t)k * (size_t)s;
                zk[i] += bs[i];
                if (mirrors) zm[(size_t)k * (size_t)s + (size_t)i] = -zk[i];
            }
        if (learnable) { /* each unit's own parameter, for the unit and its mirror */
            nf_act_unit_forward(L->act.kind, zp, NULL, ps, b, s, za);
            memcpy(zp, za, (size_t)b * (size_t)s * sizeof(float));
            if (mirrors) {
                nf_act_unit_forward(L->act.kind, zm, NULL, ps, b, s, za);
                memcpy(zm, za, (size_t)b * (size_t)s * sizeof(float));
            }
        } else {
            nf_act_forward(&L->act, zp, zp, (size_t)b * (size_t)s);
            if (mirrors) nf_act_forward(&L->act, zm, zm, (size_t)b * (size_t)s);
        }
        if (!Y)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, tc, L->out, 1.0f, nf_model_layer_a(m, l), L->out, next->W,
                        next->in, 0.0f, tb, tc);
        for (int k = 0; k < b; k++) {
            double *f = F + (size_t)rows * (size_t)d;
            const float *ap = zp + (size_t)k * (size_t)s, *am = mirrors ? zm + (size_t)k * (size_t)s : NULL;
            for (int i = 0; i < s; i++) {
                if (mirrors) {
                    f[2 * i] = ap[i];
                    f[2 * i + 1] = am[i];
                } else {
                    f[i] = ap[i];
                }
            }
            f[q] = 1.0;
            double *t = T + (size_t)rows * (size_t)tc;
            if (Y)
                for (int o = 0; o < tc; o++) t[o] = Y[(size_t)(r + k) * (size_t)tc + (size_t)o];
            else
                for (int o = 0; o < tc; o++) t[o] = (double)tb[(size_t)k * (size_t)tc + (size_t)o] + next->b[o];
            if (++rows == CHUNK_ROWS || (r + k + 1 == n)) {
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, d, rows, 1.0, F, d, 1.0, G, d);
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, tc, rows, 1.0, F, d, T, tc, 1.0, R, tc);
                rows = 0;
            }
        }
    }
    nf_model_set_training(m, training);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) G[(size_t)j * (size_t)d + (size_t)i] = G[(size_t)i * (size_t)d + (size_t)j];
    free(F);
    free(T);
    nf_free(Ws);
    nf_free(bs);
    nf_free(ps);
    nf_free(za);
    nf_free(zp);
    nf_free(zm);
    nf_free(tb);
    return st;
}

/* G += ridge·I, ridge = 1e-8 × the mean diagonal (+1e-30): zero columns (dead units), exact
 * duplicates and the linear dependencies between units and their mirrors stay solvable, and the
 * fit is the ridge solution, which spreads weight over dependent features instead of picking
 * one. */
static void add_ridge(double *G, int d)
{
    double tr = 0.0;
    for (int i = 0; i < d; i++) tr += G[(size_t)i * (size_t)d + (size_t)i];
    const double ridge = 1e-8 * tr / d + 1e-30;
    for (int i = 0; i < d; i++) G[(size_t)i * (size_t)d + (size_t)i] += ridge;
}

/* In-place inverse of the symmetric positive definite d×d matrix G (LAPACK Cholesky).  Returns
 * 0 on success. */
static int spd_inverse(double *G, int d)
{
    /* symmetric: row- and column-major are the same matrix, and column-major LAPACKE calls
     * work in place without a transposed copy */
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', d, G, d)) return 1;
    if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', d, G, d)) return 1;
    for (int j = 0; j < d; j++) /* the upper triangle (column-major) is G[j][i] for i <= j */
        for (int i = 0; i < j; i++) G[(size_t)i * (size_t)d + (size_t)j] = G[(size_t)j * (size_t)d + (size_t)i];
    return 0;
}

/* B [d, tc] = P·R for the d×d matrix P. */
static void mat_mul(const double *P, const double *R, int d, int tc, double *B)
{
    for (int i = 0; i < d; i++)
        for (int o = 0; o < tc; o++) {
            double t = 0.0;
            for (int c = 0; c < d; c++) t += P[(size_t)i * (size_t)d + (size_t)c] * R[(size_t)c * (size_t)tc + (size_t)o];
            B[(size_t)i * (size_t)tc + (size_t)o] = t;
        }
}

/* ---- pruning ------------------------------------------------------------------------------ */

/* Greedy removal has ties: among units and mirrors many subsets fit equally well until the last
 * removals, and an early arbitrary choice can leave a set that no longer contains what the
 * best small set needs (a kink kept on the side whose linear part nothing cancels, or both
 * sides of one kink instead of a third kink).  Afterwards single exchanges are tried: a kept
 * feature f out, a removed candidate g in, the best exchange first while it raises the
 * explained part of the fit, J = Σ_o R_oᵀ·Ĝ_SS⁻¹·R_o over the kept set S (Ĝ the ridged Gram;
 * P = Ĝ_SS⁻¹ and the weights B = P·R are kept exact).  With w = P·Ĝ_Sg, c = Ĝ_gg − Ĝ_gS·w and
 * ρ_o = R_go − Ĝ_gS·B_o, adding g gains Σ_o ρ_o²/c, and then removing f loses
 * Σ_o (B_fo − w_f·ρ_o/c)² / (P_ff + w_f²/c).  At most 4·|S| + 8 exchanges. */
static nf_status exchange_refine(const double *Gh, const double *R, double *P, double *B, unsigned char *in_set,
                                 int d, int q, int tc)
{
    double *w = malloc((size_t)d * sizeof(double)), *rho = malloc((size_t)tc * sizeof(double));
    double *best_w = malloc((size_t)d * sizeof(double)), *best_rho = malloc((size_t)tc * sizeof(double));
    if (!w || !rho || !best_w || !best_rho) {
        free(w), free(rho), free(best_w), free(best_rho);
        return nf_fail(NF_ENOMEM, "prune: cannot allocate");
    }
    int kept = 0;
    for (int i = 0; i < q; i++) kept += in_set[i] != 0;
    double J = 0.0;
    for (int i = 0; i < d; i++)
        if (in_set[i])
            for (int o = 0; o < tc; o++) J += R[(size_t)i * (size_t)tc + (size_t)o] * B[(size_t)i * (size_t)tc + (size_t)o];
    for (int iter = 0; iter < 4 * kept + 8; iter++) {
        double best = 1e-9 * fabs(J) + 1e-300, best_c = 0.0;
        int bf = -1, bg = -1;
        for (int g = 0; g < q; g++) {
            if (in_set[g]) continue;
            const double *gg = Gh + (size_t)g * (size_t)d;
            double c = gg[g];
            for (int i = 0; i < d; i++) {
                w[i] = 0.0;
                if (!in_set[i]) continue;
                const double *pi = P + (size_t)i * (size_t)d;
                double t = 0.0;
                for (int k = 0; k < d; k++)
                    if (in_set[k]) t += pi[k] * gg[k];
                w[i] = t;
                c -= gg[i] * t;
            }
            if (!(c > 1e-12 * gg[g])) continue;
            double add = 0.0;
            for (int o = 0; o < tc; o++) {
                double t = R[(size_t)g * (size_t)tc + (size_t)o];
                for (int i = 0; i < d; i++)
                    if (in_set[i]) t -= gg[i] * B[(size_t)i * (size_t)tc + (size_t)o];
                rho[o] = t;
                add += t * t;
            }
            add /= c;
            if (!(add > best)) continue; /* no removal can make up for a small gain */
            for (int f = 0; f < q; f++) {
                if (!in_set[f]) continue;
                const double den = P[(size_t)f * (size_t)d + (size_t)f] + w[f] * w[f] / c;
                double num = 0.0;
                for (int o = 0; o < tc; o++) {
                    const double e = B[(size_t)f * (size_t)tc + (size_t)o] - w[f] * rho[o] / c;
                    num += e * e;
                }
                const double gain = add - num / den;
                if (gain > best) {
                    best = gain;
                    bf = f;
                    bg = g;
                    best_c = c;
                    memcpy(best_w, w, (size_t)d * sizeof(double));
                    memcpy(best_rho, rho, (size_t)tc * sizeof(double));
                }
            }
        }
        if (bf < 0) break;
        /* add bg: border P and B */
        const double c = best_c;
        for (int i = 0; i < d; i++) {
            if (!in_set[i]) continue;
            double *pi = P + (size_t)i * (size_t)d;
            for (int k = 0; k < d; k++)
                if (in_set[k]) pi[k] += best_w[i] * best_w[k] / c;
            pi[bg] = P[(size_t)bg * (size_t)d + (size_t)i] = -best_w[i] / c;
        }
        P[(size_t)bg * (size_t)d + (size_t)bg] = 1.0 / c;
        for (int o = 0; o < tc; o++) {
            const double b = best_rho[o] / c;
            for (int i = 0; i < d; i++)
                if (in_set[i]) B[(size_t)i * (size_t)tc + (size_t)o] -= best_w[i] * b;
            B[(size_t)bg * (size_t)tc + (size_t)o] = b;
        }
        in_set[bg] = 1;
        /* remove bf: downdate */
        const double pff = P[(size_t)bf * (size_t)d + (size_t)bf];
        for (int i = 0; i < d; i++) w[i] = in_set[i] ? P[(size_t)i * (size_t)d + (size_t)bf] : 0.0;
        in_set[bf] = 0;
        for (int i = 0; i < d; i++) {
            if (!in_set[i]) continue;
            double *pi = P + (size_t)i * (size_t)d;
            for (int k = 0; k < d; k++)
                if (in_set[k]) pi[k] -= w[i] * w[k] / pff;
            for (int o = 0; o < tc; o++)
                B[(size_t)i * (size_t)tc + (size_t)o] -= w[i] / pff * B[(size_t)bf * (size_t)tc + (size_t)o];
        }
        for (int o = 0; o < tc; o++) B[(size_t)bf * (size_t)tc + (size_t)o] = 0.0;
        J += best;
    }
    free(w), free(rho), free(best_w), free(best_rho);
    return NF_OK;
}

nf_status nf_prune_layer(nf_model *m, int l, const float *X, int n, unsigned char *alive, int keep,
                         const nf_prune_opts *po, nf_optim *opt, int *count)
{
    const nf_prune_opts dflt = {1, 1};
    if (!po) po = &dflt;
    int mirrors = po->mirrors;
    *count = 0;
    if (l < 0 || l + 1 >= nf_model_n_layers(m)) return nf_fail(NF_EINVAL, "prune: layer %d is not a hidden layer", l);
    if (!nf_model_batch_cap(m)) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const nf_dense *L = nf_model_layer(m, l), *next = nf_model_layer(m, l + 1);
    int s = 0;
    for (int j = 0; j < L->out; j++) s += alive[j] != 0;
    if (keep < 1) keep = 1;
    if (s <= keep) return NF_OK;
    mirrors = mirrors != 0;
    const int q = s * (1 + mirrors), d = q + 1, tc = next->out;
    int *idx = malloc((size_t)s * sizeof(int));
    int *slot = malloc((size_t)L->out * sizeof(int));
    double *P = malloc((size_t)d * (size_t)d * sizeof(double));
    double *R = malloc((size_t)d * (size_t)tc * sizeof(double));
    double *B = malloc((size_t)d * (size_t)tc * sizeof(double));
    double *col = malloc((size_t)d * sizeof(double));
    double *Gh = malloc((size_t)d * (size_t)d * sizeof(double));
    unsigned char *in_set = malloc((size_t)d);
    nf_status st = idx && slot && P && R && B && col && in_set && Gh
                       ? NF_OK
                       : nf_fail(NF_ENOMEM, "prune: cannot allocate %d×%d", d, d);
    if (!st) {
        s = 0;
        for (int j = 0; j < L->out; j++)
            if (alive[j]) idx[s++] = j;
        st = feature_system(m, l, idx, s, mirrors, X, NULL, n, P, R);
    }
    if (!st) add_ridge(P, d);
    if (!st) memcpy(Gh, P, (size_t)d * (size_t)d * sizeof(double));
    if (!st && spd_inverse(P, d)) st = nf_fail(NF_ENUMERIC, "prune: Gram matrix of layer %d is not positive definite", l);
    if (!st) {
        /* B: the (ridge) least-squares weights of every feature for the next layer's current
         * pre-activations; features leave one at a time, cheapest first, B and P = (G+λI)⁻¹ over
         * the remaining ones updated exactly (Schur complement) */
        mat_mul(P, R, d, tc, B);
        memset(in_set, 1, (size_t)d);
        for (int left = q; left > keep; left--) {
            int best = -1;
            double best_cost = INFINITY;
            for (int f = 0; f < q; f++) {
                if (!in_set[f]) continue;
                double c = 0.0;
                for (int o = 0; o < tc; o++) c += B[(size_t)f * (size_t)tc + (size_t)o] * B[(size_t)f * (size_t)tc + (size_t)o];
                const double pff = P[(size_t)f * (size_t)d + (size_t)f];
                c = pff > 0.0 ? c / pff : INFINITY;
                if (c < best_cost) {
                    best_cost = c;
                    best = f;
                }
            }
            if (best < 0) break;
            const double pbb = P[(size_t)best * (size_t)d + (size_t)best];
            for (int i = 0; i < d; i++) col[i] = in_set[i] ? P[(size_t)i * (size_t)d + (size_t)best] : 0.0;
            in_set[best] = 0;
            double *bb = B + (size_t)best * (size_t)tc;
            for (int i = 0; i < d; i++) {
                if (!in_set[i]) continue;
                const double fi = col[i] / pbb;
                double *pi = P + (size_t)i * (size_t)d;
                for (int c = 0; c < d; c++)
                    if (in_set[c]) pi[c] -= fi * col[c];
                for (int o = 0; o < tc; o++) B[(size_t)i * (size_t)tc + (size_t)o] -= fi * bb[o];
            }
            for (int o = 0; o < tc; o++) bb[o] = 0.0;
        }
        if (po->exchange) st = exchange_refine(Gh, R, P, B, in_set, d, q, tc);
    }
    if (!st) {
        /* realise the kept features as units: a unit keeps its own feature, or is mirrored
         * (w, b → −w, −b) when only its mirror is kept; a mirror kept next to its unit goes to
         * a free unit of the layer.  slot[u]: the feature unit u carries (−1: none). */
        for (int u = 0; u < L->out; u++) slot[u] = -1;
        for (int i = 0; i < s; i++) {
            const int f0 = (1 + mirrors) * i;
            if (in_set[f0]) slot[idx[i]] = f0;
            else if (mirrors && in_set[f0 + 1]) slot[idx[i]] = f0 + 1;
        }
        int free_u = 0;
        for (int i = 0; mirrors && i < s; i++) {
            if (!(in_set[2 * i] && in_set[2 * i + 1])) continue;
            while (free_u < L->out && slot[free_u] >= 0) free_u++; /* a unit with no kept feature */
            if (free_u >= L->out) break; /* cannot happen: fewer features than units */
            slot[free_u] = 2 * i + 1;
            free_u++;
        }
        const size_t nin_next = (size_t)next->in;
        for (int u = 0; u < L->out; u++) {
            float *wu = L->W + (size_t)u * (size_t)L->in;
            const int f = slot[u];
            int changed = 0;
            if (f < 0) {
                if (alive[u]) (*count)++;
                memset(wu, 0, (size_t)L->in * sizeof(float));
                L->b[u] = 0.0f;
                alive[u] = 0;
                changed = 1;
            } else {
                const int src = idx[f / (1 + mirrors)];
                const int mirror = mirrors && (f & 1);
                if (mirror || src != u) {
                    const float *ws = L->W + (size_t)src * (size_t)L->in;
                    const float sg = mirror ? -1.0f : 1.0f;
                    if (src != u)
                        for (int c = 0; c < L->in; c++) wu[c] = sg * ws[c];
                    else
                        for (int c = 0; c < L->in; c++) wu[c] = -wu[c];
                    L->b[u] = sg * L->b[src];
                    if (L->act_p) L->act_p[u] = L->act_p[src];
                    changed = 1;
                }
                alive[u] = 1;
            }
            for (int o = 0; o < tc; o++)
                next->W[(size_t)o * nin_next + (size_t)u] = f < 0 ? 0.0f : (float)B[(size_t)f * (size_t)tc + (size_t)o];
            if (changed && opt) {
                nf_optim_reset_range(opt, nf_model_param_offset(m, wu), (size_t)L->in);
                nf_optim_reset_range(opt, nf_model_param_offset(m, L->b) + (size_t)u, 1);
                if (L->act_p) nf_optim_reset_range(opt, nf_model_param_offset(m, L->act_p) + (size_t)u, 1);
                for (int o = 0; o < tc; o++)
                    nf_optim_reset_range(opt, nf_model_param_offset(m, next->W) + (size_t)o * nin_next + (size_t)u, 1);
            }
        }
        for (int o = 0; o < tc; o++) next->b[o] = (float)B[(size_t)q * (size_t)tc + (size_t)o];
    }
    free(idx);
    free(slot);
    free(P);
    free(R);
    free(B);
    free(col);
    free(Gh);
    free(in_set);
    return st;
}

/* ---- compaction and the output refit ------------------------------------------------------ */

nf_status nf_shrink_model(const nf_model *w, const unsigned char *alive, nf_model *m)
{
    const int nl = nf_model_n_layers(w);
    if (nl != nf_model_n_layers(m) || nf_model_n_in(w) != nf_model_n_in(m) || nf_model_n_out(w) != nf_model_n_out(m))
        return nf_fail(NF_ESHAPE, "shrink: models differ in depth, inputs or outputs");
    for (int l = 0; l + 1 < nl; l++) {
        int k = 0;
        const unsigned char *al = alive + unit_base(w, l);
        for (int j = 0; j < nf_model_size(w, l + 1); j++) k += al[j] != 0;
        if (k != nf_model_size(m, l + 1))
            return nf_fail(NF_ESHAPE, "shrink: layer %d has %d live units but the model %d", l, k, nf_model_size(m, l + 1));
    }
    for (int l = 0; l < nl; l++) {
        const nf_dense *S = nf_model_layer(w, l), *D = nf_model_layer(m, l);
        const unsigned char *rows = l + 1 < nl ? alive + unit_base(w, l) : NULL;
        const unsigned char *cols = l > 0 ? alive + unit_base(w, l - 1) : NULL;
        int r = 0;
        for (int j = 0; j < S->out; j++) {
            if (rows && !rows[j]) continue;
            int c = 0;
            for (int i = 0; i < S->in; i++) {
                if (cols && !cols[i]) continue;
                D->W[(size_t)r * (size_t)D->in + (size_t)c] = S->W[(size_t)j * (size_t)S->in + (size_t)i];
                c++;
            }
            D->b[r] = S->b[j];
            if (S->act_p && D->act_p) D->act_p[r] = S->act_p[j];
            r++;
        }
    }
    return NF_OK;
}

nf_status nf_polish_output(nf_model *m, const float *X, const float *Y, int n)
{
    const int nl = nf_model_n_layers(m);
    if (nl < 2) return nf_fail(NF_EINVAL, "polish: the model has no hidden layer");
    const nf_dense *O = nf_model_layer(m, nl - 1);
    if (O->act.kind != NF_ACT_LINEAR) return nf_fail(NF_EINVAL, "polish: the output layer is not linear");
    if (!nf_model_batch_cap(m)) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const int l = nl - 2, k = O->in, d = k + 1, nout = O->out;
    int *idx = malloc((size_t)k * sizeof(int));
    double *G = malloc((size_t)d * (size_t)d * sizeof(double));
    double *R = malloc((size_t)d * (size_t)nout * sizeof(double));
    double *B = malloc((size_t)d * (size_t)nout * sizeof(double));
    nf_status st = idx && G && R && B ? NF_OK : nf_fail(NF_ENOMEM, "polish: cannot allocate %d×%d", d, d);
    for (int i = 0; !st && i < k; i++) idx[i] = i;
    if (!st) st = feature_system(m, l, idx, k, 0, X, Y, n, G, R);
    if (!st) add_ridge(G, d);
    if (!st && spd_inverse(G, d)) st = nf_fail(NF_ENUMERIC, "polish: Gram matrix is not positive definite");
    if (!st) {
        mat_mul(G, R, d, nout, B);
        for (int o = 0; o < nout; o++) {
            for (int i = 0; i < k; i++) O->W[(size_t)o * (size_t)k + (size_t)i] = (float)B[(size_t)i * (size_t)nout + (size_t)o];
            O->b[o] = (float)B[(size_t)k * (size_t)nout + (size_t)o];
        }
    }
    free(idx);
    free(G);
    free(R);
    free(B);
    return st;
}

/* ---- runtime inside nf_train -------------------------------------------------------------- */

#include "train_aids_internal.h"

struct nf_grow_rt {
    int n_hidden;
    int target[NF_MAX_LAYERS]; /* the narrow model's hidden widths */
    int wide[NF_MAX_LAYERS];   /* the trained model's */
    unsigned char *alive;      /* [Σ wide widths] */
    unsigned char *pruned;     /* !alive, for nf_revive_units_skip */
    size_t total;
    int e_start, e_end, rounds, done_rounds;
    int mirrors;
};

nf_status nf_grow_rt_begin(nf_grow_rt **out, const nf_aids_config *a, const nf_model *narrow,
                           const nf_model *wide, int epochs)
{
    *out = NULL;
    nf_grow_rt *g = calloc(1, sizeof *g);
    if (!g) return nf_fail(NF_ENOMEM, "cannot allocate the growth state");
    g->n_hidden = nf_model_n_layers(narrow) - 1;
    size_t total = 0;
    int extra = 0;
    for (int l = 0; l < g->n_hidden; l++) {
        g->target[l] = nf_model_size(narrow, l + 1);
        g->wide[l] = nf_model_size(wide, l + 1);
        total += (size_t)g->wide[l];
        if (g->wide[l] - g->target[l] > extra) extra = g->wide[l] - g->target[l];
    }
    g->total = total;
    g->alive = malloc(total ? total : 1);
    g->pruned = calloc(total ? total : 1, 1);
    if (!g->alive || !g->pruned) {
        nf_grow_rt_free(g);
        return nf_fail(NF_ENOMEM, "cannot allocate the growth state");
    }
    memset(g->alive, 1, total);
    g->mirrors = !a->prune_units_only;
    g->e_start = (int)lround(a->prune_start * epochs);
    g->e_end = (int)lround(a->prune_end * epochs);
    if (g->e_start < 1) g->e_start = 1;
    if (g->e_end > epochs) g->e_end = epochs;
    if (g->e_end < g->e_start) g->e_end = g->e_start;
    const int every = a->prune_every > 0 ? a->prune_every : 5;
    g->rounds = (g->e_end - g->e_start) / every + 1;
    if (g->rounds > extra) g->rounds = extra;
    if (g->rounds < 1) g->rounds = 1;
    *out = g;
    return NF_OK;
}

void nf_grow_rt_free(nf_grow_rt *g)
{
    if (!g) return;
    free(g->alive);
    free(g->pruned);
    free(g);
}

const unsigned char *nf_grow_rt_alive(const nf_grow_rt *g) { return g->alive; }
const unsigned char *nf_grow_rt_alive_skip(const nf_grow_rt *g) { return g->pruned; }

int nf_grow_rt_pruned(const nf_grow_rt *g) { return g->done_rounds >= g->rounds; }

/* Epoch of round r (1-based): evenly from e_start to e_end. */
static int round_epoch(const nf_grow_rt *g, int r)
{
    if (g->rounds == 1) return g->e_end;
    return g->e_start + (int)lround((double)(g->e_end - g->e_start) * (r - 1) / (g->rounds - 1));
}

static nf_status prune_to(nf_grow_rt *g, nf_model *w, nf_optim *opt, const float *X, int n, int r, int *count)
{
    *count = 0;
    size_t base = 0;
    for (int l = 0; l < g->n_hidden; l++) {
        const int extra = g->wide[l] - g->target[l];
        const int keep = g->wide[l] - (int)lround((double)extra * r / g->rounds);
        int c = 0;
        /* the exchanges cost more than the greedy pass: only for the final width */
        const nf_prune_opts po = {g->mirrors, r == g->rounds};
        nf_status st = nf_prune_layer(w, l, X, n, g->alive + base, keep, &po, opt, &c);
        if (st) return st;
        *count += c;
        base += (size_t)g->wide[l];
    }
    for (size_t u = 0; u < g->total; u++) g->pruned[u] = !g->alive[u];
    return NF_OK;
}

nf_status nf_grow_rt_epoch_end(nf_grow_rt *g, nf_model *w, nf_optim *opt, int epoch, const float *X, int n,
                               int *count)
{
    *count = 0;
    while (g->done_rounds < g->rounds && epoch >= round_epoch(g, g->done_rounds + 1)) {
        int c;
        nf_status st = prune_to(g, w, opt, X, n, g->done_rounds + 1, &c);
        if (st) return st;
        *count += c;
        g->done_rounds++;
    }
    return NF_OK;
}

void nf_grow_rt_mask_grads(const nf_grow_rt *g, nf_model *w)
{
    const unsigned char *al = g->alive;
    for (int l = 0; l < g->n_hidden; l++) {
        const nf_dense *L = nf_model_layer(w, l), *next = nf_model_layer(w, l + 1);
        for (int j = 0; j < L->out; j++) {
            if (al[j]) continue;
            memset(L->dW + (size_t)j * (size_t)L->in, 0, (size_t)L->in * sizeof(float));
            L->db[j] = 0.0f;
            if (L->act_dp) L->act_dp[j] = 0.0f;
            for (int o = 0; o < next->out; o++) next->dW[(size_t)o * (size_t)next->in + (size_t)j] = 0.0f;
        }
        al += L->out;
    }
}

nf_status nf_grow_rt_finish(nf_grow_rt *g, nf_model *w, const float *X, int n, nf_model *narrow)
{
    int c;
    nf_status st = prune_to(g, w, NULL, X, n, g->rounds, &c);
    if (!st) st = nf_shrink_model(w, g->alive, narrow);
    return st;
}
