/* dense.c — forward and backward of one dense layer, all products through cblas_sgemm. */
#include "nnfit/dense.h"

#include <cblas.h>
#include <string.h>

nf_status nf_dense_forward(const nf_dense *layer, const float *X, int batch, float *Z, float *A)
{
    const int in = layer->in, out = layer->out;
    if (batch <= 0 || in <= 0 || out <= 0)
        return nf_fail(NF_EINVAL, "dense forward: batch %d, in %d, out %d must be positive", batch,
                       in, out);
    /* Z[batch, out] = X[batch, in] · W[out, in]ᵀ */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, X, in, layer->W, in,
                0.0f, Z, out);
    nf_act_bias_forward(&layer->act, Z, layer->b, batch, out, A);
    return NF_OK;
}

nf_status nf_dense_backward(const nf_dense *layer, const float *X, const float *Z, const float *A,
                            float *dA, int batch, int accumulate, float *dX)
{
    const int in = layer->in, out = layer->out;
    if (batch <= 0 || in <= 0 || out <= 0)
        return nf_fail(NF_EINVAL, "dense backward: batch %d, in %d, out %d must be positive", batch,
                       in, out);
    /* dZ = dA ⊙ act'(Z) and db = Σ_rows dZ, fused in one pass over the rows. */
    float *db = layer->db;
    if (!accumulate) memset(db, 0, (size_t)out * sizeof(float));
    for (int r = 0; r < batch; r++) {
        size_t off = (size_t)r * (size_t)out;
        float *d = dA + off;
        nf_act_backward(&layer->act, Z ? Z + off : NULL, A + off, d, (size_t)out);
        for (int j = 0; j < out; j++) db[j] += d[j];
    }
    /* dW[out, in] = dZ[batch, out]ᵀ · X[batch, in] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, batch, 1.0f, dA, out, X, in,
                accumulate ? 1.0f : 0.0f, layer->dW, in);
    /* dX[batch, in] = dZ[batch, out] · W[out, in] */
    if (dX)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in, out, 1.0f, dA, out,
                    layer->W, in, 0.0f, dX, in);
    return NF_OK;
}
