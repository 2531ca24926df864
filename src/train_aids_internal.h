/* train_aids_internal.h — hooks nf_train calls when cfg->aids is set (see train_aids.h). */
#ifndef NNFIT_TRAIN_AIDS_INTERNAL_H
#define NNFIT_TRAIN_AIDS_INTERNAL_H

#include "nnfit/train.h"
#include "nnfit/train_aids.h"

typedef struct nf_aids_rt nf_aids_rt;

/* Allocates everything the aids need for training m on n rows over `epochs`. */
nf_status nf_aids_begin(nf_aids_rt **out, const nf_aids_config *a, nf_model *m, nf_optim *opt,
                        int n, int epochs, int have_val, uint64_t seed);
/* Before the first batch of 1-based `epoch`: learning rate, dropout on. */
void nf_aids_epoch_start(nf_aids_rt *rt, int epoch);
/* After each batch's backward, before the optimizer step. */
void nf_aids_after_grad(nf_aids_rt *rt);
/* After the epoch's losses are known (val_loss NaN without a validation set): plateau,
 * early-stop bookkeeping, revival.  Returns 1 to stop training (early stop); errors in *st. */
int nf_aids_epoch_end(nf_aids_rt *rt, int epoch, double loss, double val_loss, const float *X,
                      int n, nf_history *hist, nf_status *st);
/* After training: dropout off, best weights restored (early stop). */
void nf_aids_finish(nf_aids_rt *rt, nf_history *hist);
void nf_aids_free(nf_aids_rt *rt);

#endif
