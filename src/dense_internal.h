/* dense_internal.h — pieces of the dense layer that the model fuses with its neighbours.
 * Not installed; used by dense.c and model.c only. */
#ifndef NNFIT_DENSE_INTERNAL_H
#define NNFIT_DENSE_INTERNAL_H

#include "nnfit/dense.h"

/* Whether layer takes the small-shape path (hand loops instead of cblas_sgemm). */
int nf_dense_is_small(const nf_dense *layer);

/* Z[batch, out] = X·Wᵀ, or Z += X·Wᵀ with accumulate (sgemm beta = 1: the model pre-fills Z
 * with b − Y for the MSE output layer); no bias, no activation. */
void nf_dense_gemm_forward(const nf_dense *layer, const float *X, int batch, float *Z, int accumulate);

/* Backward as nf_dense_backward; with dz_ready, alpha·dA is dZ and db is already written
 * (the model's fused loss pass did that), so only dW = alpha·dAᵀX and dX = alpha·dA·W are
 * computed: the MSE output layer passes the error e = Z + b − Y and alpha = 2/n, so nothing
 * has to write 2/n·e back.  Without dz_ready alpha must be 1.  wt, when
 * not NULL, is scratch for in·out floats: dX is then computed as dZ·(Wᵀ)ᵀ, an NT sgemm on a
 * transposed copy of W, which OpenBLAS runs up to 2x faster than the NN call when out is
 * small or not a multiple of its kernel width (bench/README.md). */
void nf_dense_backward_ex(const nf_dense *layer, const float *X, const float *Z, const float *A,
                          float *dA, int batch, int accumulate, float *dX, int dz_ready,
                          float alpha, float *wt);

/* Whether an sgemm that overwrites a rows×cols C zeroes C itself and runs with beta = 1
 * (small C, dense.c) rather than beta = 0: the same bits, one fast pass instead of OpenBLAS's. */
int nf_dense_zeroes_first(int rows, int cols);

/* wt[in, out] = W[out, in]ᵀ. */
void nf_dense_transpose_w(const nf_dense *layer, float *wt);

#endif
