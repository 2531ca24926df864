/* data.c — file reading, format dispatch, row/column splits, shuffles and hold-out splits. */
#include "nnfit/data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "nnfit/rng.h"

void nf_read_opts_default(nf_read_opts *o)
{
    o->allow_nonfinite = 0;
    o->header = -1;
}

nf_data_format nf_data_format_of(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && !strcasecmp(path + n - 4, ".npy") ? NF_FMT_NPY : NF_FMT_CSV;
}

nf_status nf_file_read(const char *path, size_t max_bytes, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return nf_fail(NF_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return nf_fail(NF_EIO, "%s: is a directory, expected a file", path);
    }
    size_t cap = 65536, n = 0;
    if (S_ISREG(sb.st_mode) && sb.st_size >= 0) {
        if ((unsigned long long)sb.st_size > max_bytes) {
            fclose(f);
            return nf_fail(NF_EFORMAT, "%s: %lld bytes, larger than the %zu-byte limit", path,
                           (long long)sb.st_size, max_bytes);
        }
        cap = (size_t)sb.st_size + 1;
    }
    unsigned char *b = malloc(cap);
    if (!b) {
        fclose(f);
        return nf_fail(NF_ENOMEM, "%s: cannot allocate %zu bytes to read it", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) { /* grows only for non-regular files or files that grew */
            if (cap > max_bytes) {
                free(b);
                fclose(f);
                return nf_fail(NF_EFORMAT, "%s: larger than the %zu-byte limit", path, max_bytes);
            }
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                return nf_fail(NF_ENOMEM, "%s: cannot allocate %zu bytes to read it", path, cap * 2);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return nf_fail(NF_EIO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return NF_OK;
}

nf_status nf_data_read(const char *path, const nf_read_opts *o, nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    if (nf_data_format_of(path) == NF_FMT_CSV) return nf_csv_read_file(path, o, M);
    unsigned char *buf;
    size_t len;
    nf_status st = nf_file_read(path, NF_DATA_MAX_BYTES, &buf, &len);
    if (st) return st;
    st = nf_npy_parse(buf, len, path, o, M);
    free(buf);
    return st;
}

nf_status nf_data_write(const char *path, const nf_mat *M, const char *const *header)
{
    nf_out o;
    nf_status st = nf_out_open(&o, path);
    if (st) return st;
    if (nf_data_format_of(path) == NF_FMT_NPY) nf_npy_write(o.f, M);
    else nf_csv_write(o.f, M, header);
    return nf_out_commit(&o); /* a write error on the stream fails here, naming the file */
}

nf_status nf_data_split_cols(const nf_mat *M, int k, nf_mat *X, nf_mat *Y)
{
    if (k < 1 || k >= M->cols)
        return nf_fail(NF_ESHAPE, "%d input columns requested but the data has %d columns; need "
                                  "1 <= inputs < %d so at least one target column remains",
                       k, M->cols, M->cols);
    nf_status st = nf_mat_alloc(X, M->rows, k);
    if (st) return st;
    st = nf_mat_alloc(Y, M->rows, M->cols - k);
    if (st) {
        nf_mat_free(X);
        return st;
    }
    const size_t c = (size_t)M->cols, kx = (size_t)k, ky = c - kx;
    for (size_t r = 0; r < (size_t)M->rows; r++) {
        memcpy(X->data + r * kx, M->data + r * c, kx * sizeof(float));
        memcpy(Y->data + r * ky, M->data + r * c + kx, ky * sizeof(float));
    }
    return NF_OK;
}

static void swap_rows(nf_mat *A, int i, int j)
{
    if (!A || A->cols == 0) return;
    float *a = A->data + (size_t)i * (size_t)A->cols, *b = A->data + (size_t)j * (size_t)A->cols;
    for (int c = 0; c < A->cols; c++) {
        float t = a[c];
        a[c] = b[c];
        b[c] = t;
    }
}

nf_status nf_data_shuffle(nf_mat *X, nf_mat *Y, uint64_t seed)
{
    if (Y && Y->rows != X->rows)
        return nf_fail(NF_ESHAPE, "shuffle: X has %d rows, Y %d", X->rows, Y->rows);
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    for (int i = X->rows - 1; i > 0; i--) {
        int j = (int)nf_rng_below(&rng, (uint64_t)i + 1);
        swap_rows(X, i, j);
        swap_rows(Y, i, j);
    }
    return NF_OK;
}

static void take_rows(const nf_mat *src, const unsigned char *mark, unsigned char want, nf_mat *dst)
{
    size_t w = (size_t)src->cols, k = 0;
    for (size_t r = 0; r < (size_t)src->rows; r++)
        if (mark[r] == want) memcpy(dst->data + (k++) * w, src->data + r * w, w * sizeof(float));
}

nf_status nf_data_holdout(const nf_mat *X, const nf_mat *Y, double frac, uint64_t seed,
                          nf_mat *Xtrain, nf_mat *Ytrain, nf_mat *Xval, nf_mat *Yval)
{
    long train_row0;
    return nf_data_holdout_part(X, Y, frac, seed, 0, X->rows, Xtrain, Ytrain, Xval, Yval, &train_row0);
}

nf_status nf_data_holdout_part(const nf_mat *X, const nf_mat *Y, double frac, uint64_t seed, long row0,
                               long n_total, nf_mat *Xtrain, nf_mat *Ytrain, nf_mat *Xval, nf_mat *Yval,
                               long *train_row0)
{
    const int n = X->rows;
    *Xtrain = *Ytrain = *Xval = *Yval = (nf_mat){0, 0, NULL, 0};
    if (!(frac > 0.0 && frac < 1.0))
        return nf_fail(NF_EINVAL, "validation fraction must be in (0, 1), got %g", frac);
    if (Y->rows != n) return nf_fail(NF_ESHAPE, "X has %d rows, Y %d", n, Y->rows);
    if (n_total < 2) return nf_fail(NF_EINVAL, "cannot hold out rows from %ld row(s); need at least 2", n_total);
    if (n_total > 2147483647L || row0 < 0 || row0 > n_total - n)
        return nf_fail(NF_EINVAL, "rows [%ld, %ld) are not inside the %ld rows in all", row0, row0 + n, n_total);
    long nval = (long)(frac * (double)n_total + 0.5);
    if (nval < 1) nval = 1;
    if (nval > n_total - 1) nval = n_total - 1;
    int *perm = malloc((size_t)n_total * sizeof(int));
    unsigned char *mark = calloc((size_t)n_total, 1);
    if (!perm || !mark) {
        free(perm);
        free(mark);
        return nf_fail(NF_ENOMEM, "cannot allocate the split of %ld rows", n_total);
    }
    for (int i = 0; i < (int)n_total; i++) perm[i] = i;
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    nf_rng_permute(&rng, perm, (int)n_total);
    for (long i = 0; i < nval; i++) mark[perm[i]] = 1;
    free(perm);
    long before = 0, here = 0; /* validation rows before this part, and in it */
    for (long i = 0; i < row0; i++) before += mark[i];
    for (long i = 0; i < n; i++) here += mark[row0 + i];
    *train_row0 = row0 - before;
    const nf_mat Xp = {n, X->cols, X->data, 0}, Yp = {n, Y->cols, Y->data, 0};
    nf_status st = nf_mat_alloc(Xtrain, n - (int)here, X->cols);
    if (!st) st = nf_mat_alloc(Ytrain, n - (int)here, Y->cols);
    if (!st) st = nf_mat_alloc(Xval, (int)here, X->cols);
    if (!st) st = nf_mat_alloc(Yval, (int)here, Y->cols);
    if (st) {
        nf_mat_free(Xtrain);
        nf_mat_free(Ytrain);
        nf_mat_free(Xval);
        nf_mat_free(Yval);
        free(mark);
        return st;
    }
    take_rows(&Xp, mark + row0, 0, Xtrain);
    take_rows(&Yp, mark + row0, 0, Ytrain);
    take_rows(&Xp, mark + row0, 1, Xval);
    take_rows(&Yp, mark + row0, 1, Yval);
    free(mark);
    return NF_OK;
}
