/* dist.c — helpers of data-parallel training across processes (dist.h). */
#include "nnfit/dist.h"

#include <string.h>

void nf_dist_rows(long n, int rank, int size, long *row0, long *rows)
{
    const long base = n / size, extra = n % size;
    *row0 = rank * base + (rank < extra ? rank : extra);
    *rows = base + (rank < extra);
}

nf_status nf_dist_eval(const nf_dist *dist, nf_model *m, const float *X, const float *Y, int n,
                       long n_total, const nf_loss_spec *loss, double *loss_out)
{
    if (!dist) return nf_model_eval(m, X, Y, n, loss, loss_out);
    double part = 0.0;
    nf_status st = n > 0 ? nf_model_eval(m, X, Y, n, loss, &part) : NF_OK;
    st = dist->agree(dist->ctx, st);
    if (st) return st;
    /* the local mean times its element count is the local sum to within one rounding */
    const double nout = (double)nf_model_n_out(m);
    double s = part * (double)n * nout;
    if ((st = dist->sum(dist->ctx, NULL, 0, &s, 1))) return st;
    *loss_out = n_total > 0 ? s / ((double)n_total * nout) : 0.0;
    return NF_OK;
}

uint64_t nf_dist_hash(const float *v, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof(float); i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
