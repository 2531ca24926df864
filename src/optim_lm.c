/* optim_lm.c — Levenberg–Marquardt as MATLAB's trainlm (mu 1e-3, mu_dec 0.1, mu_inc 10,
 * mu_max 1e10, min_grad 1e-7), with the Jacobian assembled in row blocks by a batched
 * per-sample backward pass (sgemm for dX, one outer-product pass per layer for the J rows). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"
#include "fpenv.h"
#include "nnfit/dist.h"
#include "nnfit/optim.h"

struct nf_lm {
    nf_opt_config cfg;
    size_t P;
    int K;          /* outputs */
    int blk;        /* data rows per block */
    double mu, grad_norm;
    long evals;     /* Jacobian assemblies + trial-point losses */
    float *JJ;      /* [P, P] upper triangle of JᵀJ */
    float *A;       /* [P, P] JᵀJ + μI, factored in place */
    float *Je;      /* [P] */
    float *delta;   /* [P] */
    float *backup;  /* [P] */
    float *Jb;      /* [blk·K, P] */
    float *e;       /* [blk·K] residuals of the block, sample-major */
    float *D[2];    /* [blk, max width] */
    const nf_dist *dist; /* data-parallel (nf_lm_set_dist), else NULL */
    long n_total;   /* rows over all processes with dist */
};

nf_status nf_lm_create(nf_lm **out, const nf_opt_config *cfg, nf_model *m, int n,
                       size_t block_bytes)
{
    *out = NULL;
    if (cfg->kind != NF_OPT_LM) return nf_fail(NF_EINVAL, "nf_lm_create needs --opt lm");
    nf_status st = nf_opt_validate(cfg);
    if (st) return st;
    if (n < 1) return nf_fail(NF_EINVAL, "lm: no training rows");
    const size_t P = nf_model_n_params(m);
    const int K = nf_model_n_out(m);
    const double jj_bytes = 2.0 * (double)P * (double)P * sizeof(float);
    /* 16384 parameters: 2 GiB of JᵀJ and its factor, and ~P³/3 flops per solve */
    if (P > NF_LM_MAX_PARAMS || jj_bytes > (double)SIZE_MAX / 2)
        return nf_fail(NF_ENOMEM, "lm: %zu parameters would need %.1f GiB for JᵀJ (limit %d "
                                  "parameters); use lbfgs or a first-order optimizer", P,
                       jj_bytes / 1073741824.0, NF_LM_MAX_PARAMS);
    if (!block_bytes) block_bytes = (size_t)8 << 20;
    size_t per_row = (size_t)K * P * sizeof(float);
    size_t blk = block_bytes / per_row;
    if (blk < 1) blk = 1;
    if (blk > (size_t)n) blk = (size_t)n;
    nf_lm *lm = calloc(1, sizeof *lm);
    if (!lm) return nf_fail(NF_ENOMEM, "cannot allocate lm");
    lm->cfg = *cfg;
    lm->P = P;
    lm->K = K;
    lm->blk = (int)blk;
    lm->mu = cfg->mu;
    int maxw = 0;
    for (int i = 0; i <= nf_model_n_layers(m); i++)
        maxw = nf_model_size(m, i) > maxw ? nf_model_size(m, i) : maxw;
    st = nf_alloc_floats(&lm->JJ, P * P);
    if (!st) st = nf_alloc_floats(&lm->A, P * P);
    if (st) {
        nf_lm_free(lm);
        return nf_fail(NF_ENOMEM, "lm: JᵀJ for %zu parameters needs %.1f MiB, which could not be "
                                  "allocated", P, jj_bytes / 1048576.0);
    }
    if (!st) st = nf_alloc_floats(&lm->Je, P);
    if (!st) st = nf_alloc_floats(&lm->delta, P);
    if (!st) st = nf_alloc_floats(&lm->backup, P);
    if (!st) st = nf_alloc_floats(&lm->Jb, blk * (size_t)K * P);
    if (!st) st = nf_alloc_floats(&lm->e, blk * (size_t)K);
    if (!st) st = nf_alloc_floats(&lm->D[0], blk * (size_t)maxw);
    if (!st) st = nf_alloc_floats(&lm->D[1], blk * (size_t)maxw);
    if (!st) st = nf_model_reserve(m, (int)blk);
    if (st) {
        nf_lm_free(lm);
        return st;
    }
    *out = lm;
    return NF_OK;
}

void nf_lm_free(nf_lm *lm)
{
    if (!lm) return;
    float *bufs[] = {lm->JJ, lm->A, lm->Je, lm->delta, lm->backup, lm->Jb, lm->e, lm->D[0], lm->D[1]};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nf_free(bufs[i]);
    free(lm);
}

double nf_lm_mu(const nf_lm *lm) { return lm->mu; }
void nf_lm_reset(nf_lm *lm) { lm->mu = lm->cfg.mu; }
double nf_lm_grad_norm(const nf_lm *lm) { return lm->grad_norm; }
int nf_lm_block_rows(const nf_lm *lm) { return lm->blk; }
long nf_lm_evals(const nf_lm *lm) { return lm->evals; }

nf_status nf_lm_set_dist(nf_lm *lm, const nf_dist *dist, long n_total)
{
    if (dist && (dist->size < 1 || n_total < 1))
        return nf_fail(NF_EINVAL, "lm: data-parallel over %d processes needs rows, got %ld", dist->size, n_total);
    lm->dist = dist && dist->size > 1 ? dist : NULL;
    lm->n_total = n_total;
    return NF_OK;
}

/* Jacobian rows of b samples (after nf_model_forward on X): row s·K + k of Jb is
 * ∂out[s,k]/∂params.  For each output k the unit gradient goes down the layers batched over
 * the b samples: dZ = dA ⊙ act'(Z) (one pass), dA_prev = dZ·W (sgemm); layer i's J entries
 * are dZ[s,o]·in[s,j] (weights) and dZ[s,o] (biases), and dA[s,o]·∂a/∂p_o for per-unit
 * activation parameters. */
static void jacobian_block(nf_lm *lm, nf_model *m, const float *X, int b)
{
    const size_t P = lm->P;
    const int K = lm->K, L = nf_model_n_layers(m);
    for (int k = 0; k < K; k++) {
        float *D = lm->D[0], *Dn = lm->D[1];
        memset(D, 0, (size_t)b * (size_t)K * sizeof(float));
        for (int s = 0; s < b; s++) D[(size_t)s * (size_t)K + (size_t)k] = 1.0f;
        for (int i = L - 1; i >= 0; i--) {
            const nf_dense *ly = nf_model_layer(m, i);
            const int in = ly->in, outw = ly->out;
            const float *Z = nf_act_needs_z(ly->act.kind) ? nf_model_layer_z(m, i) : NULL;
            /* per-unit activation parameters: J entries dD[s,o]·∂a/∂p_o, written first */
            float *Jp = ly->act_p ? lm->Jb + (size_t)k * P + nf_model_param_offset(m, ly->act_p) : NULL;
            nf_dense_act_backward(ly, Z, nf_model_layer_a(m, i), D, b, Jp, (size_t)K * P);
            const float *inp = i ? nf_model_layer_a(m, i - 1) : X;
            const size_t offW = nf_model_param_offset(m, ly->W), offb = nf_model_param_offset(m, ly->b);
            for (int s = 0; s < b; s++) {
                float *row = lm->Jb + ((size_t)s * (size_t)K + (size_t)k) * P;
                const float *ds = D + (size_t)s * (size_t)outw, *xs = inp + (size_t)s * (size_t)in;
                for (int o = 0; o < outw; o++) {
                    float *w = row + offW + (size_t)o * (size_t)in;
                    const float dso = ds[o];
                    for (int j = 0; j < in; j++) w[j] = dso * xs[j];
                    row[offb + (size_t)o] = dso;
                }
            }
            if (i) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, in, outw, 1.0f, D, outw,
                            ly->W, in, 0.0f, Dn, in);
                float *t = D;
                D = Dn;
                Dn = t;
            }
        }
    }
}

/* JᵀJ, Jᵀe and the loss over all rows. */
static nf_status accumulate(nf_lm *lm, nf_model *m, const float *X, const float *Y, int n,
                            double *loss)
{
    const size_t P = lm->P, K = (size_t)lm->K, nin = (size_t)nf_model_n_in(m);
    memset(lm->JJ, 0, P * P * sizeof(float));
    memset(lm->Je, 0, P * sizeof(float));
    double sse = 0.0;
    for (int r = 0; r < n; r += lm->blk) {
        int b = n - r < lm->blk ? n - r : lm->blk;
        const float *xb = X + (size_t)r * nin, *yb = Y + (size_t)r * K;
        nf_status st = nf_model_forward(m, xb, b);
        if (st) return st;
        const float *out = nf_model_output(m);
        const size_t rows = (size_t)b * K;
        for (size_t i = 0; i < rows; i++) {
            lm->e[i] = out[i] - yb[i];
            sse += (double)lm->e[i] * (double)lm->e[i];
        }
        jacobian_block(lm, m, xb, b);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)P, (int)rows, 1.0f, lm->Jb, (int)P,
                    1.0f, lm->JJ, (int)P);
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)rows, (int)P, 1.0f, lm->Jb, (int)P, lm->e, 1,
                    1.0f, lm->Je, 1);
    }
    double n_all = (double)n;
    if (lm->dist) { /* JᵀJ (all of it: P² floats, upper triangle used), Jᵀe and the SSE of all rows */
        nf_status st = lm->dist->sum(lm->dist->ctx, lm->JJ, P * P, &sse, 1);
        if (!st) st = lm->dist->sum(lm->dist->ctx, lm->Je, P, NULL, 0);
        if (st) return st;
        n_all = (double)lm->n_total;
    }
    *loss = sse / (n_all * (double)K);
    return NF_OK;
}

static nf_status nf_lm_step_impl(nf_lm *lm, nf_model *m, const float *X, const float *Y, int n,
                     double *loss_before, double *loss_after, nf_lm_result *result)
{
    const size_t P = lm->P;
    const nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    double loss;
    const long n_all = lm->dist ? lm->n_total : n;
    nf_status st = accumulate(lm, m, X, Y, n, &loss);
    lm->evals++;
    /* the accept test compares like with like: both losses from nf_model_eval */
    if (!st) st = nf_dist_eval(lm->dist, m, X, Y, n, n_all, &mse, &loss);
    if (st) return st;
    *loss_before = *loss_after = loss;
    double g2 = 0.0;
    for (size_t i = 0; i < P; i++) g2 += (double)lm->Je[i] * (double)lm->Je[i];
    lm->grad_norm = 2.0 * sqrt(g2) / ((double)n_all * (double)lm->K);
    if (!isfinite(loss) || !isfinite(lm->grad_norm))
        return nf_fail(NF_EDIVERGED, "lm: loss or gradient is not finite");
    if (lm->grad_norm < lm->cfg.min_grad) {
        *result = NF_LM_MIN_GRAD;
        return NF_OK;
    }
    float *params = nf_model_params(m);
    memcpy(lm->backup, params, P * sizeof(float));
    while (lm->mu <= lm->cfg.mu_max) {
        memcpy(lm->A, lm->JJ, P * P * sizeof(float));
        const float fmu = (float)lm->mu;
        for (size_t i = 0; i < P; i++) {
            lm->A[i * P + i] += fmu;
            lm->delta[i] = -lm->Je[i];
        }
        lapack_int info = LAPACKE_sposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)P, 1, lm->A,
                                        (lapack_int)P, lm->delta, 1);
        if (info < 0) return nf_fail(NF_EINVAL, "lm: LAPACKE_sposv argument %d invalid", (int)-info);
        if (info == 0) {
            for (size_t i = 0; i < P; i++) params[i] = lm->backup[i] + lm->delta[i];
            double trial;
            lm->evals++;
            if ((st = nf_dist_eval(lm->dist, m, X, Y, n, n_all, &mse, &trial))) return st;
            if (trial < loss) {
                lm->mu = fmax(lm->mu * lm->cfg.mu_dec, 1e-20);
                *loss_after = trial;
                *result = NF_LM_ACCEPTED;
                return NF_OK;
            }
            memcpy(params, lm->backup, P * sizeof(float));
        }
        lm->mu *= lm->cfg.mu_inc;
    }
    *result = NF_LM_MU_MAX;
    return NF_OK;
}

/* Public entry points: run with subnormals flushed (fpenv.h). */
nf_status nf_lm_step(nf_lm *lm, nf_model *m, const float *X, const float *Y, int n,
                     double *loss_before, double *loss_after, nf_lm_result *result)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_lm_step_impl(lm, m, X, Y, n, loss_before, loss_after, result);
    nf_fp_leave(fp);
    return st;
}
