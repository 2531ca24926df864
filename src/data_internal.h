/* data_internal.h — helpers shared by data.c, data_csv.c, data_npy.c and model_io.c. */
#ifndef NNFIT_DATA_INTERNAL_H
#define NNFIT_DATA_INTERNAL_H

#include <stdio.h>

#include "c_locale.h"
#include "nnfit/data.h"

/* Start of every reader: `*o` falls back to the defaults (stored in *def) and M is emptied, so
 * a failure leaves nothing to free. */
static inline const nf_read_opts *nf_read_begin(const nf_read_opts *o, nf_read_opts *def, nf_mat *M)
{
    M->rows = M->cols = 0;
    M->data = NULL;
    M->owned = 0;
    if (o) return o;
    nf_read_opts_default(def);
    return def;
}

/* Write M to an open stream as nf_csv_format / nf_npy_format would (errors: the stream's). */
nf_status nf_csv_write(FILE *f, const nf_mat *M, const char *const *header);
nf_status nf_npy_write(FILE *f, const nf_mat *M);

/* Reads a CSV file into M in two streaming passes (data_csv.c). */
nf_status nf_csv_read_file(const char *path, const nf_read_opts *o, nf_mat *M);

#endif
