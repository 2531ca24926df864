/* diag.c — least-squares reference and comparisons. */
#include "nnfit/diag.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

nf_status nf_lstsq(const nf_mat *X, const nf_mat *Y, nf_mat *W, float *b)
{
    W->data = NULL;
    W->owned = 0;
    const int n = X->rows, in = X->cols, out = Y->cols, cols = in + (b ? 1 : 0);
    if (Y->rows != n) return nf_fail(NF_ESHAPE, "lstsq: X has %d rows, Y has %d", n, Y->rows);
    if (n < cols)
        return nf_fail(NF_EINVAL, "lstsq: %d samples cannot determine %d unknowns per output", n, cols);
    double *A = malloc((size_t)n * (size_t)cols * sizeof(double));
    double *B = malloc((size_t)n * (size_t)out * sizeof(double));
    if (!A || !B) {
        free(A);
        free(B);
        return nf_fail(NF_ENOMEM, "lstsq: cannot allocate %d × %d system", n, cols);
    }
    for (int r = 0; r < n; r++) {
        for (int c = 0; c < in; c++)
            A[(size_t)r * (size_t)cols + (size_t)c] = X->data[(size_t)r * (size_t)in + (size_t)c];
        if (b) A[(size_t)r * (size_t)cols + (size_t)in] = 1.0;
        for (int c = 0; c < out; c++)
            B[(size_t)r * (size_t)out + (size_t)c] = Y->data[(size_t)r * (size_t)out + (size_t)c];
    }
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', n, cols, out, A, cols, B, out);
    nf_status st = NF_OK;
    if (info > 0)
        st = nf_fail(NF_ENUMERIC, "lstsq: X is rank deficient (dgels info %d)", (int)info);
    else if (info < 0)
        st = nf_fail(NF_ENUMERIC, "lstsq: dgels argument %d invalid", (int)-info);
    if (!st) st = nf_mat_alloc(W, out, in);
    if (!st) {
        /* the solution is the first `cols` rows of B: [cols, out] */
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++)
                W->data[(size_t)o * (size_t)in + (size_t)c] = (float)B[(size_t)c * (size_t)out + (size_t)o];
            if (b) b[o] = (float)B[(size_t)in * (size_t)out + (size_t)o];
        }
    }
    free(A);
    free(B);
    return st;
}

void nf_diff_stats(const float *a, const float *b, size_t n, double *max_abs, double *rms)
{
    double mx = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > mx || isnan(d)) mx = d;
        ss += d * d;
    }
    *max_abs = mx;
    *rms = n ? sqrt(ss / (double)n) : 0.0;
}
