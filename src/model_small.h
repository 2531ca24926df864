/* model_small.h — private: fused gradient for tiny one-hidden-layer, one-output nets
 * (see model_small.c).  Not part of the public API. */
#ifndef NNFIT_MODEL_SMALL_H
#define NNFIT_MODEL_SMALL_H

#include "nnfit/model.h"

#define NF_SMALL_MAX_IN 8
#define NF_SMALL_MAX_HIDDEN 32
#define NF_SMALL_BLOCK 256

/* Whether m has the shape nf_model_grad_small handles. */
int nf_model_small_ok(const nf_model *m);

/* Same contract as nf_model_grad (grads overwritten, loss mean divides by denom, 0 = batch);
 * leaves the model's activation workspace untouched.  Uses ~130 KB of stack (fine for the
 * 8 MB default of glibc threads; a caller with tiny thread stacks should know). */
nf_status nf_model_grad_small(nf_model *m, const float *X, const float *Y, int batch,
                              const nf_loss_spec *loss, size_t denom, double *loss_out);

#endif
