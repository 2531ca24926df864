/* run.h — the description of one training run, and running it.
 *
 * Everything that decides what a training run computes lives in one nf_run_spec: the data
 * source (a built-in task, or matrices the caller passes), the architecture, initialisation,
 * loss, optimizer and its hyperparameters, batch, epochs, training aids and schedule,
 * validation, the seed and the thread count.  `nnfit train` fills one and calls nf_run; a sweep
 * trial is a spec with a derived seed; bench_train's workloads are specs too.  So whatever is
 * true of `nnfit train` is true of every sweep trial by construction.
 *
 * Life of a spec:  nf_run_defaults → set fields (marking what was given, see the *_set fields)
 * → nf_run_resolve (task defaults, optimizer defaults under the given hyperparameters, checks;
 * messages name the option) → nf_run (as often as wanted, e.g. with other seeds).
 *
 * Seed streams (nf_run_stream): one seed S decides a run's randomness; the initialisation draws
 * from derive(S, 0), shuffling from derive(S, 1), a --val-split hold-out from derive(S, 2), and
 * the training aids from derive(derive(S, 1), 77) (revival) and (.., 78) (dropout).  Restart r
 * of a sweep uses S = derive(base, r): never anything that depends on a worker or a rank. */
#ifndef NNFIT_RUN_H
#define NNFIT_RUN_H

#include <stdint.h>

#include "nnfit/act.h"
#include "nnfit/init.h"
#include "nnfit/mat.h"
#include "nnfit/model.h"
#include "nnfit/status.h"
#include "nnfit/task.h"
#include "nnfit/train.h"
#include "nnfit/train_aids.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { NF_STREAM_INIT = 0, NF_STREAM_SHUFFLE = 1, NF_STREAM_SPLIT = 2 } nf_stream;

/* Seed of stream `which` of run seed `seed`. */
uint64_t nf_run_stream(uint64_t seed, nf_stream which);

typedef struct {
    /* data: the built-in task, used when nf_run gets no matrices */
    nf_task_config task;
    int n_set;                 /* task.n_samples given (else each task's own default) */
    int val_n;                 /* task: validation rows, from stream 1 of the task's data seed */
    double val_split;          /* (0, 1): nf_run holds out this fraction of the training rows as the
                                  validation set, drawn from the split stream (nf_data_holdout) */
    /* model */
    int n_sizes;               /* 0: the task's default architecture */
    int sizes[NF_MAX_LAYERS + 1];
    nf_act_spec act, out_act;
    int act_set;               /* 0: the task's default hidden activation */
    int act_param_set;         /* act.param given (applies to leaky_relu and elu) */
    nf_init_spec init;
    nf_init_opts init_opts;
    /* training: epochs, batch, shuffle, loss, optimizer, target, stop_at_target.  Its seed,
     * validation set and aids pointer are set by nf_run; on_epoch/ctx are passed through. */
    nf_train_config train;
    int opt_set, batch_set;    /* given (else the task may choose) */
    /* Optimizer hyperparameters given (bit i: nf_opt_hparam_at(i)); their values are in
     * train.opt.  nf_run_resolve starts from the optimizer's defaults (Keras' with keras)
     * and copies the given ones the optimizer reads; the others are left out and listed in
     * hp_unread. */
    unsigned long long hp_set, hp_unread;
    nf_aids_config aids;
    int aids_on;               /* any aid given: train.aids points at aids during nf_run */
    uint64_t seed;
    int threads;               /* 0: OpenBLAS's default; N: see nf_run */
    int resolved;
} nf_run_spec;

/* Defaults: task abs (4096 rows, data seed 1), its 2→3→1 ReLU net, Glorot-uniform weights and
 * zero biases, MSE, Adam(lr 1e-3), batch 32, 100 epochs, shuffling, seed 0, no aids. */
void nf_run_defaults(nf_run_spec *spec);

/* Switches the task to `kind` with its defaults, keeping frame, k, seed and the task variants,
 * and n_samples when n_set (else the new task's default: 4096 rows, teacher 8192). */
void nf_run_set_task(nf_run_spec *spec, nf_task_kind kind);

/* Resolves the spec for data of n_in inputs and n_out outputs (both 0: the task's shape).
 * Fills the task's defaults for what was not given (architecture, hidden activation; linear
 * tasks train with SGD, momentum 0.9, lr 0.1 and batch 64), merges the optimizer's defaults
 * under the given hyperparameters, and checks everything.  File data (n_in > 0) needs n_sizes.
 * NF_EINVAL names the option and what was wrong.  Idempotent. */
nf_status nf_run_resolve(nf_run_spec *spec, int n_in, int n_out);

/* Data for nf_run: training rows and optional validation rows (NULL: none), borrowed.
 * Data-parallel over processes (dist.h; dist NULL or of size 1: one process): X/Y are rows
 * [row0, row0 + X->rows) of the n_total rows the processes hold together in rank order (a
 * --val-split is drawn over all n_total rows), val_X/val_Y this process's part of the
 * validation rows.  nf_run then initialises on every process from the seed and makes process
 * 0's parameters everyone's, and nf_train sums the gradients (train.h).  Data-aware
 * initialisers (data_kink) and the aids that need all rows in one place are refused. */
typedef struct {
    const nf_mat *X, *Y;
    const nf_mat *val_X, *val_Y;
    const nf_dist *dist;
    long row0, n_total;
} nf_run_data;

/* Generates the task's training rows and (val_n > 0) its validation rows; Xv and Yv may be NULL
 * when val_n is 0. */
nf_status nf_run_task_data(const nf_run_spec *spec, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv);

/* The threads a run on `rows`-row batches uses: *split = N when batches are cut into row
 * blocks over N workers (one BLAS thread each; batches of >= 256·N rows, not lm), else 0 and
 * *blas = N BLAS threads.  threads 0: *blas = 0 (OpenBLAS's own). */
void nf_run_thread_plan(const nf_run_spec *spec, int rows, int *split, int *blas);

/* Creates spec's architecture and initialises it from stream 0 of spec->seed (data-aware
 * initialisers see X, the training inputs).  *model is NULL on failure. */
nf_status nf_run_create_model(const nf_run_spec *spec, const nf_mat *X, nf_model **model);

/* Runs the spec as it is (nf_run_resolve first fills what was not given).  *model NULL: a new model of spec's architecture, initialised from
 * stream 0 (data-aware initialisers see data->X); not NULL: that model (e.g. loaded from a
 * file) is trained from its current parameters.  Either way *model holds the trained model
 * afterwards (also on NF_EDIVERGED; caller frees).  hist as nf_train's (may be NULL).  With
 * val_split (and no val_X given) the hold-out happens here, before initialisation, so a
 * data-aware initialiser sees only the training part. */
nf_status nf_run(const nf_run_spec *spec, const nf_run_data *data, nf_model **model, nf_history *hist);

#ifdef __cplusplus
}
#endif
#endif
