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

/* Whether the step of m reads its batch's rows where they lie (the fused small-net kernels,
 * model_small.c), and that step on rows idx[0..batch) of X [*, n_in] and Y [*, n_out]:
 * the same numbers as nf_model_grad_serial on those rows copied into a batch, without the
 * copy.  NF_EINVAL where not _ok. */
int nf_model_grad_rows_ok(const nf_model *m);
nf_status nf_model_grad_rows_serial(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                                    const nf_loss_spec *loss, size_t denom, double *loss_out);

/* For the training loop (train.c): whether a step on `batch` rows runs serially on rows read
 * in place, and that step with subnormals flushed, as nf_model_grad. */
int nf_model_reads_rows(const nf_model *m, int batch);
nf_status nf_model_grad_rows(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                             const nf_loss_spec *loss, size_t denom, double *loss_out);

#endif
