/* mat.h — row-major float matrices and the library's aligned allocator.
 *
 * All nnfit buffers come from nf_alloc (64-byte aligned, zero-filled).  The allocator counts
 * its calls so tests can prove that a training step allocates nothing. */
#ifndef NNFIT_MAT_H
#define NNFIT_MAT_H

#include <stddef.h>

#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NF_ALIGN 64

/* A row-major matrix: element (r, c) is data[r * cols + c].  `owned` says whether
 * nf_mat_free releases data (views do not own). */
typedef struct {
    int rows, cols;
    float *data;
    int owned;
} nf_mat;

/* 64-byte aligned, zero-filled block of `bytes` bytes (bytes may be 0); NULL on failure. */
void *nf_alloc(size_t bytes);
/* Releases a block from nf_alloc; NULL is fine. */
void nf_free(void *p);
/* Number of successful nf_alloc calls so far in this process (all threads). */
size_t nf_alloc_count(void);

/* Allocates `count` floats, failing with NF_ENOMEM (and the size in the detail) on overflow
 * or exhaustion.  *out is NULL on failure. */
nf_status nf_alloc_floats(float **out, size_t count);

/* Allocates a zeroed rows × cols matrix.  rows, cols >= 0. */
nf_status nf_mat_alloc(nf_mat *m, int rows, int cols);
/* Frees an owned matrix and resets it to empty; views are only reset. */
void nf_mat_free(nf_mat *m);
/* A view of rows [row0, row0 + n) of m; does not own data. */
nf_mat nf_mat_rows(const nf_mat *m, int row0, int n);
/* Copies src into a new owned matrix. */
nf_status nf_mat_clone(nf_mat *dst, const nf_mat *src);
/* Number of elements as size_t. */
static inline size_t nf_mat_size(const nf_mat *m) { return (size_t)m->rows * (size_t)m->cols; }

/* Index of the first non-finite element of a[0..n), or n when all are finite. */
size_t nf_find_nonfinite(const float *a, size_t n);

#ifdef __cplusplus
}
#endif
#endif
