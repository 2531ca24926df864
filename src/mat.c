/* mat.c — aligned allocation and row-major matrices. */
#include "nnfit/mat.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

static _Atomic size_t alloc_calls;
static _Atomic size_t live_bytes; /* bytes handed out by nf_alloc and not yet freed */

/* Every nnfit buffer is zero-filled, so its pages are touched at once: a request beyond the
 * machine's memory would not fail in malloc (overcommit) but get the process killed.  Blocks
 * carry their size in a 64-byte header so the library can refuse, with a message, a total
 * that exceeds 80% of physical memory. */
static size_t physical_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return SIZE_MAX;
    if ((unsigned long)pages > SIZE_MAX / (unsigned long)page) return SIZE_MAX;
    return (size_t)pages * (size_t)page;
}

/* Leave a fifth of the machine to everything else. */
static size_t budget_bytes(void)
{
    size_t phys = physical_bytes();
    return phys == SIZE_MAX ? phys : phys / 5 * 4;
}

void *nf_alloc(size_t bytes)
{
    size_t rounded = (bytes + NF_ALIGN - 1) / NF_ALIGN * NF_ALIGN;
    if (rounded < bytes || rounded > SIZE_MAX - NF_ALIGN) return NULL;
    if (rounded + live_bytes > budget_bytes()) return NULL;
    unsigned char *base = aligned_alloc(NF_ALIGN, rounded + NF_ALIGN);
    if (!base) return NULL;
    memcpy(base, &rounded, sizeof rounded);
    unsigned char *p = base + NF_ALIGN;
    memset(p, 0, rounded);
    live_bytes += rounded;
    alloc_calls++;
    return p;
}

void nf_free(void *p)
{
    if (!p) return;
    unsigned char *base = (unsigned char *)p - NF_ALIGN;
    size_t rounded;
    memcpy(&rounded, base, sizeof rounded);
    live_bytes -= rounded;
    free(base);
}

size_t nf_alloc_count(void) { return alloc_calls; }

nf_status nf_alloc_floats(float **out, size_t count)
{
    *out = NULL;
    if (count > SIZE_MAX / sizeof(float))
        return nf_fail(NF_ENOMEM, "cannot allocate %zu floats: size overflows", count);
    float *p = nf_alloc(count * sizeof(float));
    if (!p)
        return nf_fail(NF_ENOMEM,
                       "cannot allocate %.1f MiB: with the %.1f MiB nnfit already holds that is more "
                       "than 80%% of this machine's %.1f GiB of memory (or malloc failed)",
                       (double)count * sizeof(float) / 1048576.0, (double)live_bytes / 1048576.0,
                       (double)physical_bytes() / 1073741824.0);
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
