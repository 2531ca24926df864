/* train.h — the training loop: epochs of shuffled mini-batches, history, divergence check.
 *
 * Each epoch visits every row once in batches of `batch` rows (the last batch may be
 * smaller); with shuffle the order is a fresh permutation per epoch drawn from the seed: one
 * nf_rng seeded with `seed` shuffles the previous epoch's order (the identity before epoch 1)
 * by Fisher–Yates, i from n−1 down to 1 swapping with j = nf_rng_below(i + 1).
 * The loss recorded for an epoch is the mean of the batch losses weighted by batch size, each
 * measured before its update (as Keras reports it); for full-batch training that is the loss
 * of the parameters at the start of the epoch.  The final loss is evaluated over the whole
 * training set after the last update, in double. */
#ifndef NNFIT_TRAIN_H
#define NNFIT_TRAIN_H

#include <stdint.h>

#include "nnfit/dist.h"
#include "nnfit/loss.h"
#include "nnfit/mat.h"
#include "nnfit/model.h"
#include "nnfit/optim.h"
#include "nnfit/status.h"
#include "nnfit/train_aids.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after every epoch; return nonzero to stop training early (not an error). */
typedef int (*nf_epoch_callback)(void *ctx, int epoch, double loss, double seconds);

typedef struct {
    int epochs;            /* >= 1 */
    int batch;             /* rows per step; 0 = full batch */
    int shuffle;           /* reshuffle rows every epoch (ignored for full batch) */
    nf_loss_spec loss;
    nf_opt_config opt;
    uint64_t seed;         /* shuffling stream */
    double target_loss;    /* > 0: record the first epoch whose loss is <= target */
    int stop_at_target;    /* stop once target_loss is reached */
    nf_epoch_callback on_epoch;
    void *ctx;
    /* Optional validation set (both NULL: none).  Its loss is evaluated after every epoch,
     * before on_epoch runs, into hist->val_loss[epoch - 1]. */
    const nf_mat *val_X, *val_Y;
    /* Optional training aids (train_aids.h); NULL: none.  Mini-batch optimizers only. */
    const nf_aids_config *aids;
    /* Data-parallel over processes (dist.h); NULL (or size 1): X and Y are all the rows.  With
     * dist, X/Y are rows [dist_row0, dist_row0 + X->rows) of the dist_rows training rows the
     * processes hold together in rank order (X->rows may be 0), and val_X/val_Y (given on every
     * process or on none) are this process's part of the validation rows.  Every process runs
     * the same epochs and batches: the shuffle is one permutation of all dist_rows rows, drawn
     * alike everywhere, and each process computes the gradient of the rows of each batch that
     * it holds (the loss divided by the whole batch's element count); the sums (dist->sum) give
     * every process the gradient and loss of the whole batch.  Epoch, validation and final
     * losses are over all rows, on_epoch's stop request counts when any process makes it, and
     * after every epoch the processes' parameters are checked to be bit-identical.  Dropout and
     * unit revival (they need every row in one place) are refused. */
    const nf_dist *dist;
    int dist_row0, dist_rows;
} nf_train_config;

typedef struct {
    int rows, val_rows;    /* training and validation rows */
    int epochs_run;
    double *loss;          /* [epochs_run] epoch losses (malloc'd; nf_history_free) */
    double *seconds;       /* [epochs_run] wall time since the start of training */
    double final_loss;     /* whole-set loss after training (of the restored parameters on divergence) */
    double best_loss;      /* lowest epoch loss */
    int best_epoch;        /* 1-based */
    int target_epoch;      /* first epoch with loss <= target_loss, 0 if never */
    /* Time to target, counted at the end of target_epoch (the whole epoch is charged): */
    long target_evals;     /* evals at that point, 0 if never */
    double target_seconds; /* seconds[target_epoch - 1]; +INFINITY if never */
    long evals;            /* loss-and-gradient evaluations: mini-batch optimizers one per step
                              (on one batch); lbfgs one per closure call, lm one per Jacobian
                              assembly plus one per trial-point loss (each on the whole set) */
    int diverged_epoch;    /* epoch where NaN/Inf appeared, 0 if none */
    long steps;            /* optimizer steps taken (lbfgs: closure evaluations) */
    int converged;         /* lbfgs/lm: 1 stopped at a stationary point (gradient below
                              tolerance_grad / min_grad), 2 lm stopped because mu > mu_max */
    double seconds_total;
    double *val_loss;      /* [epochs_run] validation losses when cfg->val_X is set, else NULL */
    double final_val_loss; /* validation loss of the final parameters (NaN without a val set) */
    /* training aids */
    int revivals;          /* hidden units revived (dead or duplicate), summed over checks */
    int pruned;            /* grow and prune: spare units pruned */
    int grown_width;       /* grow and prune: width of the first hidden layer while training, 0 off */
    int stopped_epoch;     /* epoch where early stopping stopped training, 0 if it did not */
    int restored_epoch;    /* early stopping: epoch whose parameters were restored, 0 none */
    double final_lr;       /* learning rate of the last epoch (with aids; else 0) */
} nf_history;

/* Fills cfg with defaults: 100 epochs, batch 32, shuffle, MSE, Adam(lr 1e-3), seed 0. */
void nf_train_defaults(nf_train_config *cfg);

/* Trains m on X [n, n_in] → Y [n, n_out].  Reserves m's workspace for the batch size.
 * lbfgs and lm are full batch whatever cfg->batch says: an epoch is one optimizer step
 * (torch.optim.LBFGS.step with its max_iter iterations; one trainlm epoch), its loss the loss
 * at the start of the step, and training stops early when the method reports a stationary
 * point (hist->converged).  lm requires the MSE loss.
 * On NaN/Inf returns NF_EDIVERGED with the parameters from the start of the diverging epoch
 * restored and hist->diverged_epoch set.  hist may be NULL. */
nf_status nf_train(nf_model *m, const nf_mat *X, const nf_mat *Y, const nf_train_config *cfg,
                   nf_history *hist);

void nf_history_free(nf_history *h);

/* Monotonic wall clock in seconds. */
double nf_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
