/* model_par.h — private: data-parallel shards of a model (model_par.c). */
#ifndef NNFIT_MODEL_PAR_H
#define NNFIT_MODEL_PAR_H

#include "nnfit/model.h"

/* Number of shards nf_model_grad uses for `batch` rows (1 = no sharding). */
int nf_pool_shards(const nf_model *m, int batch);

/* Sharded nf_model_grad over `shards` = nf_pool_shards(m, batch) > 1 row blocks. */
nf_status nf_pool_grad(nf_model *m, int shards, const float *X, const float *Y, int batch,
                       const nf_loss_spec *loss, size_t denom, double *loss_out);

void nf_pool_free(struct nf_pool *p);

#endif
