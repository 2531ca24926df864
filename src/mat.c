/* mat.c — aligned allocation and row-major matrices. */
#include "nnfit/mat.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic size_t alloc_calls;

void *nf_alloc(size_t bytes)
{
    size_t rounded = (bytes + NF_ALIGN - 1) / NF_ALIGN * NF_ALIGN;
    if (rounded < bytes) return NULL;
    if (rounded == 0) rounded = NF_ALIGN;
    void *p = aligned_alloc(NF_ALIGN, rounded);
    if (!p) return NULL;
    memset(p, 0, rounded);
    alloc_calls++;
    return p;
}

void nf_free(void *p) { free(p); }

size_t nf_alloc_count(void) { return alloc_calls; }

nf_status nf_alloc_floats(float **out, size_t count)
{
    *out = NULL;
    if (count > SIZE_MAX / sizeof(float))
        return nf_fail(NF_ENOMEM, "cannot allocate %zu floats: size overflows", count);
    float *p = nf_alloc(count * sizeof(float));
    if (!p)
        return nf_fail(NF_ENOMEM, "cannot allocate %zu floats (%.1f MiB)", count,
                       (double)count * sizeof(float) / 1048576.0);
    *out = p;
    return NF_OK;
}

nf_status nf_mat_alloc(nf_mat *m, int rows, int cols)
{
    m->rows = m->cols = 0;
    m->data = NULL;
    m->owned = 0;
    if (rows < 0 || cols < 0) return nf_fail(NF_EINVAL, "matrix shape %d x %d is negative", rows, cols);
    nf_status st = nf_alloc_floats(&m->data, (size_t)rows * (size_t)cols);
    if (st) return st;
    m->rows = rows;
    m->cols = cols;
    m->owned = 1;
    return NF_OK;
}

void nf_mat_free(nf_mat *m)
{
    if (m->owned) nf_free(m->data);
    m->rows = m->cols = 0;
    m->data = NULL;
    m->owned = 0;
}

nf_mat nf_mat_rows(const nf_mat *m, int row0, int n)
{
    nf_mat v = {n, m->cols, m->data + (size_t)row0 * (size_t)m->cols, 0};
    return v;
}

nf_status nf_mat_clone(nf_mat *dst, const nf_mat *src)
{
    nf_status st = nf_mat_alloc(dst, src->rows, src->cols);
    if (st) return st;
    if (nf_mat_size(src)) memcpy(dst->data, src->data, nf_mat_size(src) * sizeof(float));
    return NF_OK;
}

size_t nf_find_nonfinite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return i;
    return n;
}
