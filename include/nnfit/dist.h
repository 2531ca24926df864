/* dist.h — data-parallel training across processes: the few collective operations the
 * training loop needs, as function pointers, so the library core never calls MPI itself.
 *
 * Data parallelism has one shape (threads inside a process, processes across machines): a
 * batch is cut into row blocks in a fixed order and the blocks' gradients are summed in a
 * fixed order.  Across processes each one holds a contiguous block of the training rows, runs
 * the serial step on the rows of every batch it holds, and the gradients and losses are summed
 * by nf_dist.sum, which adds the processes' vectors in rank order (p0 + p1 + ... + p(N−1),
 * float by float) and leaves the same bits on every process.  Every process then takes the
 * same optimizer step on the same parameters, so the parameters stay bit-identical; nothing
 * but the sums (and one broadcast of the initial parameters) travels.  A run is therefore
 * deterministic for a given number of processes, and equal to the one-process run up to the
 * float summation order of the gradients.
 *
 * nf_mpi_dist (mpi.h) implements these over MPI_COMM_WORLD; any other transport can fill the
 * struct.  Every operation is collective: each process must call it, in the same order, with
 * the same sizes. */
#ifndef NNFIT_DIST_H
#define NNFIT_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "nnfit/model.h"
#include "nnfit/loss.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int rank, size; /* this process, of size processes (size >= 1) */
    void *ctx;
    /* f[0..n_f) and d[0..n_d) ← their sums over the processes, added in rank order; the same
     * bits on every process. */
    nf_status (*sum)(void *ctx, float *f, size_t n_f, double *d, size_t n_d);
    /* f[0..n) ← process 0's f. */
    nf_status (*bcast)(void *ctx, float *f, size_t n);
    /* Every process passes its status; all get the first failing process's (in rank order)
     * with its nf_last_error() text, prefixed with where it ran.  NF_OK when all succeeded. */
    nf_status (*agree)(void *ctx, nf_status st);
    /* *all_equal ← 1 when every process passed the same value. */
    nf_status (*same)(void *ctx, uint64_t value, int *all_equal);
} nf_dist;

/* Rows [row0, row0 + rows) that process `rank` of `size` holds of n rows: contiguous blocks in
 * rank order, the first n % size processes one row more (as the model's thread shards). */
void nf_dist_rows(long n, int rank, int size, long *row0, long *rows);

/* The loss over rows spread over the processes: this process's n rows of X [n, n_in] and Y,
 * of n_total rows in all; *loss_out gets the mean over the n_total rows, the same on every
 * process.  dist NULL: nf_model_eval. */
nf_status nf_dist_eval(const nf_dist *dist, nf_model *m, const float *X, const float *Y, int n,
                       long n_total, const nf_loss_spec *loss, double *loss_out);

/* 64-bit FNV-1a of n floats' bit patterns (parameters compared across processes). */
uint64_t nf_dist_hash(const float *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
