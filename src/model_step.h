/* model_step.h — private: the serial training step of a model and its workspace layout
 * (model_step.c).  The layer below model.c (lifetime, public entry points) and model_par.c
 * (data-parallel shards), which both call it; it calls neither. */
#ifndef NNFIT_MODEL_STEP_H
#define NNFIT_MODEL_STEP_H

#include "nnfit/model.h"

/* NF_EINVAL with a message unless the workspace is reserved for `batch` rows. */
nf_status nf_model_check_batch(const nf_model *m, int batch);

/* Whether the next forward pass drops units (training mode, p > 0, buffers allocated). */
int nf_model_dropping(const nf_model *m);

/* Forward and backward as nf_model_forward / nf_model_backward, without the FTZ switch. */
nf_status nf_model_forward_serial(nf_model *m, const float *X, int batch);
nf_status nf_model_backward_serial(nf_model *m, const float *X, int batch);

/* nf_model_grad on the calling thread, also each shard's step (model_par.c) on a view;
 * `denom` 0 means batch × n_out. */
nf_status nf_model_grad_serial(nf_model *m, const float *X, const float *Y, int batch,
                               const nf_loss_spec *loss, size_t denom, double *loss_out);

#endif
