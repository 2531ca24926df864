/* model_small.c — fused forward + loss + backward for tiny one-hidden-layer nets.
 *
 * A 2→3→1 net on 4096 rows is ~40 flops per row; run through sgemm it spends almost all of
 * its time in call overhead and packing of [4096, 2]·[2, 3] blocks.  Sweeps train thousands
 * of such nets, so nf_model_grad routes models with one hidden layer (n_in <= NF_SMALL_MAX_IN,
 * hidden <= NF_SMALL_MAX_HIDDEN, one output) here: rows are processed in blocks of
 * NF_SMALL_BLOCK, transposed so that every loop runs over rows and vectorises, and every
 * gradient sum is kept in 16 interleaved partial sums (row i goes to lane i mod 16) that are
 * added pairwise at the end.  The order of every floating-point operation is fixed by this
 * source, so the result does not depend on vector width, thread count or BLAS — the same
 * seed gives the same numbers in `nnfit train` and in a sweep worker. */
#include <string.h>

#include "model_small.h"

#include "simd.h"

enum { LANES = 16 };

/* Activations with per-unit parameters (prelu, elu_learn) take the general path. */
int nf_model_small_ok(const nf_model *m)
{
    return m->n_layers == 2 && m->sizes[0] <= NF_SMALL_MAX_IN && m->sizes[1] <= NF_SMALL_MAX_HIDDEN &&
           m->sizes[2] == 1 && !nf_act_learnable(m->layers[0].act.kind) &&
           !nf_act_learnable(m->layers[1].act.kind);
}

static float lanes_total(const float *acc)
{
    float t[LANES];
    memcpy(t, acc, sizeof t);
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) t[l] += t[l + w];
    return t[0];
}

/* acc[l] += Σ_{i ≡ l mod 16} a[i]·b[i] (b NULL: a[i]); n is a multiple of LANES or the block tail. */
static inline __attribute__((always_inline)) void lanes_dot(float *restrict acc, const float *restrict a, const float *restrict b, int n)
{
    int i = 0;
    if (b) {
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
        for (; i < n; i++) acc[i - (n / LANES) * LANES] += a[i] * b[i];
    } else {
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[i + l];
        for (; i < n; i++) acc[i - (n / LANES) * LANES] += a[i];
    }
}

/* Compiled for AVX-512, AVX2 and baseline; the C11 default of no FMA contraction keeps the
 * three variants bit-identical. */
NF_CLONES
nf_status nf_model_grad_small(nf_model *m, const float *X, const float *Y, int batch,
                              const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    enum { B = NF_SMALL_BLOCK, H = NF_SMALL_MAX_HIDDEN, K = NF_SMALL_MAX_IN };
    const int nin = m->sizes[0], h = m->sizes[1];
    const nf_dense *L1 = &m->layers[0], *L2 = &m->layers[1];
    const int z1 = nf_act_needs_z(L1->act.kind), z2 = nf_act_needs_z(L2->act.kind);
    float Xt[K * B], Z[H * B], A[H * B], D[H * B], pz[B], pa[B], dp[B];
    float gW1[H * K][LANES], gb1[H][LANES], gW2[H][LANES], gb2[LANES];
    memset(gW1, 0, (size_t)(h * nin) * sizeof gW1[0]);
    memset(gb1, 0, (size_t)h * sizeof gb1[0]);
    memset(gW2, 0, (size_t)h * sizeof gW2[0]);
    memset(gb2, 0, sizeof gb2);
    if (!denom) denom = (size_t)batch;
    double total = 0.0;
    for (int r = 0; r < batch; r += B) {
        const int nb = batch - r < B ? batch - r : B;
        const float *x = X + (size_t)r * (size_t)nin;
        if (nin == 2) { /* constant stride: vectorises as a de-interleave */
            for (int i = 0; i < nb; i++) {
                Xt[i] = x[2 * i];
                Xt[nb + i] = x[2 * i + 1];
            }
        } else {
            for (int k = 0; k < nin; k++)
                for (int i = 0; i < nb; i++) Xt[k * nb + i] = x[i * nin + k];
        }
        /* hidden layer: Z[j] = Σ_k W1[j,k]·Xt[k] + b1[j] (rows of length nb) */
        for (int j = 0; j < h; j++) {
            float *zj = Z + j * nb;
            for (int i = 0; i < nb; i++) zj[i] = 0.0f;
            for (int k = 0; k < nin; k++) {
                const float w = L1->W[j * nin + k], *xk = Xt + k * nb;
                for (int i = 0; i < nb; i++) zj[i] += w * xk[i];
            }
            const float bj = L1->b[j];
            for (int i = 0; i < nb; i++) zj[i] += bj;
        }
        float *a1 = z1 ? A : Z;
        nf_act_forward(&L1->act, Z, a1, (size_t)h * (size_t)nb);
        /* output: pz = Σ_j W2[j]·A[j] + b2 */
        for (int i = 0; i < nb; i++) pz[i] = 0.0f;
        for (int j = 0; j < h; j++) {
            const float w = L2->W[j], *aj = a1 + j * nb;
            for (int i = 0; i < nb; i++) pz[i] += w * aj[i];
        }
        for (int i = 0; i < nb; i++) pz[i] += L2->b[0];
        float *out = z2 ? pa : pz;
        nf_act_forward(&L2->act, pz, out, (size_t)nb);
        if (loss->kind == NF_LOSS_MSE) {
            /* as nf_loss_grad, with the squared residuals summed in 16 double lanes */
            const float s2 = 2.0f * (float)(1.0 / (double)denom);
            const float *t = Y + r;
            double lsum[LANES] = {0};
            int i = 0;
            for (; i + LANES <= nb; i += LANES)
                for (int l = 0; l < LANES; l++) {
                    float res = out[i + l] - t[i + l];
                    dp[i + l] = s2 * res;
                    lsum[l] += (double)res * (double)res;
                }
            for (; i < nb; i++) {
                float res = out[i] - t[i];
                dp[i] = s2 * res;
                lsum[i % LANES] += (double)res * (double)res;
            }
            for (int w = LANES / 2; w >= 1; w /= 2)
                for (int l = 0; l < w; l++) lsum[l] += lsum[l + w];
            total += lsum[0] / (double)denom;
        } else {
            total += nf_loss_grad(loss, out, Y + r, (size_t)nb, denom, dp);
        }
        nf_act_backward(&L2->act, pz, out, dp, (size_t)nb);
        /* backward */
        lanes_dot(gb2, dp, NULL, nb);
        for (int j = 0; j < h; j++) {
            const float *aj = a1 + j * nb;
            float *dj = D + j * nb;
            lanes_dot(gW2[j], dp, aj, nb);
            const float w = L2->W[j];
            for (int i = 0; i < nb; i++) dj[i] = dp[i] * w;
        }
        nf_act_backward(&L1->act, Z, a1, D, (size_t)h * (size_t)nb);
        for (int j = 0; j < h; j++) {
            const float *dj = D + j * nb;
            lanes_dot(gb1[j], dj, NULL, nb);
            for (int k = 0; k < nin; k++) lanes_dot(gW1[j * nin + k], dj, Xt + k * nb, nb);
        }
    }
    for (int j = 0; j < h; j++) {
        for (int k = 0; k < nin; k++) L1->dW[j * nin + k] = lanes_total(gW1[j * nin + k]);
        L1->db[j] = lanes_total(gb1[j]);
        L2->dW[j] = lanes_total(gW2[j]);
    }
    L2->db[0] = lanes_total(gb2);
    if (loss_out) *loss_out = total;
    return NF_OK;
}
