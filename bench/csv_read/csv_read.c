/* csv_read.c — reads one CSV or .npy file with nf_data_read and prints its shape, the seconds
 * the read took and a checksum of the values (so the read cannot be skipped).  Used by
 * bench/csv_read/run.sh; peak memory comes from /usr/bin/time -v around it. */
#include <stdio.h>

#include "nnfit/nnfit.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: csv_read FILE.csv\n");
        return 2;
    }
    double t0 = nf_seconds();
    nf_mat M;
    nf_status st = nf_data_read(argv[1], NULL, &M);
    double t1 = nf_seconds();
    if (st) {
        fprintf(stderr, "csv_read: %s\n", nf_last_error());
        return 2;
    }
    double sum = 0.0;
    for (size_t i = 0; i < nf_mat_size(&M); i++) sum += M.data[i];
    printf("rows %d cols %d seconds %.3f sum %.6e\n", M.rows, M.cols, t1 - t0, sum);
    nf_mat_free(&M);
    return 0;
}
