/* model_small.h — private: the fused gradients of small nets (model_small.c): one kernel for
 * one-hidden-layer, one-output nets, one for every other small MLP.  Not part of the public
 * API. */
#ifndef NNFIT_MODEL_SMALL_H
#define NNFIT_MODEL_SMALL_H

#include "nnfit/model.h"

#define NF_SMALL_MAX_IN 8
#define NF_SMALL_MAX_HIDDEN 32
#define NF_SMALL_BLOCK 256

/* Whether m has the shape nf_model_grad_small handles. */
int nf_model_small_ok(const nf_model *m);

/* Same contract as nf_model_grad on rows idx[0..batch) of X and Y (rows 0..batch when idx is
 * NULL), read in place (grads overwritten, loss mean divides by denom, 0 = batch);
 * leaves the model's activation workspace untouched.  Uses ~130 KB of stack (fine for the
 * 8 MB default of glibc threads; a caller with tiny thread stacks should know). */
nf_status nf_model_grad_small(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                              const nf_loss_spec *loss, size_t denom, double *loss_out);

/* Every MLP with all sizes (inputs, hidden widths, outputs) at most NF_MLP_MAX_WIDTH and
 * every layer's in·out at most NF_MLP_MAX_IN_OUT (a 64→64 layer runs faster in sgemm, even
 * at batch 64: bench/README.md): one fused kernel over row blocks of NF_MLP_BLOCK rows
 * (model_small.c).  Unlike the one-hidden-layer kernel it runs on every shard of a
 * data-parallel step (nf_model_set_threads), as the per-layer path does.  Same contract as
 * nf_model_grad_small (rows idx of X and Y, read in place); the model's Z/A/dA buffers are its
 * workspace (they hold transposed blocks afterwards).  ~32 KB of stack. */
#define NF_MLP_MAX_WIDTH 64
#define NF_MLP_BLOCK 64
#define NF_MLP_MAX_IN_OUT 1024
int nf_model_mlp_small_ok(const nf_model *m);
nf_status nf_model_grad_mlp_small(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                                  const nf_loss_spec *loss, size_t denom, double *loss_out);

/* The forward pass of that kernel on rows 0..n of X (blocks of at most the model's batch
 * capacity), the outputs row-major into out[n·n_out]: the same operations per element as the
 * training step, so a fused net is evaluated as it is trained.  Workspace as
 * nf_model_grad_mlp_small (reserved: batch capacity ≥ 1). */
void nf_model_forward_mlp_small(nf_model *m, const float *X, int n, float *out);

#endif
