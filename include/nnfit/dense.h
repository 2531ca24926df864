/* dense.h — one fully connected layer on row-major mini-batches.
 *
 * A layer does not own memory: W and b point into its model's flat parameter buffer, dW and
 * db into the flat gradient buffer, in PyTorch's nn.Linear layout (W is [out, in]).  An
 * activation with a learnable parameter per unit (nf_act_learnable: prelu, elu_learn) has
 * those parameters at act_p ([out], after b in the model's buffer) and their gradient at act_dp;
 * a layer with act_p NULL gives every unit act.param instead. */
#ifndef NNFIT_DENSE_H
#define NNFIT_DENSE_H

#include "nnfit/act.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int in, out;
    nf_act_spec act;
    float *W, *b;   /* [out, in], [out] */
    float *dW, *db; /* same shapes, in the gradient buffer */
    float *act_p, *act_dp; /* [out] learnable activation parameters and gradient, or NULL */
} nf_dense;

/* Forward pass.  X is [batch, in]; writes Z = X·Wᵀ + b and A = act(Z), both [batch, out].
 * A may equal Z when !nf_act_needs_z(act).  One cblas_sgemm plus one fused pass. */
nf_status nf_dense_forward(const nf_dense *layer, const float *X, int batch, float *Z, float *A);

/* Backward pass.  dA is [batch, out] and is overwritten with dZ = dA ⊙ act'(Z).
 * dW ([out, in]) = dZᵀ·X and db ([out]) = column sums of dZ are written (accumulate = 0) or
 * added (accumulate = 1).  dX ([batch, in]) = dZ·W is written unless dX is NULL.
 * Z may be NULL when !nf_act_needs_z(act). */
nf_status nf_dense_backward(const nf_dense *layer, const float *X, const float *Z, const float *A,
                            float *dA, int batch, int accumulate, float *dX);

/* dA ([rows, out]) *= act'(Z) in place for the layer's activation with its own parameters.
 * With per-unit parameters (act_p set) and dP not NULL, row r first gets its own parameter
 * gradient: dP[r·ldp + j] = dA[r, j]·∂a/∂p_j (the rows of a Jacobian, as Levenberg–Marquardt
 * needs them).  Z may be NULL when !nf_act_needs_z(act). */
void nf_dense_act_backward(const nf_dense *layer, const float *Z, const float *A, float *dA, int rows,
                           float *dP, size_t ldp);

/* Small-shape path: a layer with in·out <= this limit runs its products as plain loops over
 * the rows instead of cblas_sgemm (whose call overhead dominates at such sizes).  Default 16,
 * at most 16; 0 sends every layer through sgemm.  Process-wide setting for tests and
 * benchmarks: set it before training, it is not synchronised.  Returns the previous limit. */
int nf_dense_set_small_max(int max_in_out);
int nf_dense_small_max(void);

#ifdef __cplusplus
}
#endif
#endif
