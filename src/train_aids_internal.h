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

/* Grow and prune (train_grow.c): the mask of live units of the wide model trained in place of
 * the narrow one, and the pruning rounds. */
typedef struct nf_grow_rt nf_grow_rt;
nf_status nf_grow_rt_begin(nf_grow_rt **out, const nf_aids_config *a, const nf_model *narrow,
                           const nf_model *wide, int epochs);
void nf_grow_rt_free(nf_grow_rt *g);
const unsigned char *nf_grow_rt_alive(const nf_grow_rt *g);
const unsigned char *nf_grow_rt_alive_skip(const nf_grow_rt *g); /* 1 for pruned units */
/* 1 once every pruning round has run (the live widths are the narrow model's). */
int nf_grow_rt_pruned(const nf_grow_rt *g);
/* After the epoch: the pruning rounds due by now. */
nf_status nf_grow_rt_epoch_end(nf_grow_rt *g, nf_model *wide, nf_optim *opt, int epoch, const float *X,
                               int n, int *count);
/* Zeroes the gradients of pruned units (before clipping and the optimizer step). */
void nf_grow_rt_mask_grads(const nf_grow_rt *g, nf_model *wide);
/* Rounds not run yet (training stopped early), then the live units into narrow. */
nf_status nf_grow_rt_finish(nf_grow_rt *g, nf_model *wide, const float *X, int n, nf_model *narrow);
/* The aids runtime consults g for the mask (revival, gradients) and the pruning rounds. */
void nf_aids_attach_grow(nf_aids_rt *rt, nf_grow_rt *g);

#endif
