/* model_par.h — private: data-parallel shards of a model (model_par.c). */
#ifndef NNFIT_MODEL_PAR_H
#define NNFIT_MODEL_PAR_H

#include "nnfit/model.h"

/* nf_model_grad without the sharding (model.c); `denom` 0 means batch × n_out. */
nf_status nf_model_grad_serial(nf_model *m, const float *X, const float *Y, int batch,
                               const nf_loss_spec *loss, size_t denom, double *loss_out);

/* NF_EINVAL with a message unless the workspace is reserved for `batch` rows. */
nf_status nf_model_check_batch(const nf_model *m, int batch);

/* Floats of Wᵀ scratch (max in·out over layers 1.., rounded up to 16): dX = dZ·W runs as an
 * NT sgemm on a transposed copy of W (dense.c); model.c and each extra shard hold one. */
size_t nf_model_wt_floats(const nf_model *m);

/* Number of shards nf_model_grad uses for `batch` rows (1 = no sharding). */
int nf_pool_shards(const nf_model *m, int batch);

/* Sharded nf_model_grad over `shards` = nf_pool_shards(m, batch) > 1 row blocks. */
nf_status nf_pool_grad(nf_model *m, int shards, const float *X, const float *Y, int batch,
                       const nf_loss_spec *loss, size_t denom, double *loss_out);

void nf_pool_free(struct nf_pool *p);

#endif
