/* mpi_sum.c — time of data-parallel training's gradient sum (nf_mpi_dist()->sum: MPI_Alltoallv,
 * the fixed-order adds, MPI_Allgatherv) for vectors of P floats plus the loss.
 *   mpirun -np N build/bench/mpi_sum [P ...]
 * Default sizes: 1 000 floats (latency), the MLP 256-512-512-256 (525 568) and dft 1024 -> 2048
 * (2 099 200).  Prints, per size, the median of 30 sums on rank 0 and the bytes each rank sent. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nnfit/mpi.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (nf_mpi_init(&argc, &argv)) {
        fprintf(stderr, "mpi_sum: MPI did not start\n");
        return 1;
    }
    const nf_dist *d = nf_mpi_dist();
    if (!d) {
        fprintf(stderr, "mpi_sum: run it under mpirun with -np 2 or more (and a build with MPI)\n");
        nf_mpi_finalize();
        return 2;
    }
    long sizes[16] = {1000, 525568, 2099200};
    int n_sizes = 3;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 16; i++) sizes[n_sizes++] = strtol(argv[i], NULL, 10);
    }
    const int N = nf_mpi_size(), reps = 30;
    int rc = 0;
    for (int s = 0; s < n_sizes && !rc; s++) {
        const long P = sizes[s];
        float *g = malloc((size_t)P * sizeof *g);
        if (!g) return 1;
        double t[30];
        for (int r = -3; r < reps && !rc; r++) { /* 3 warm-up sums */
            for (long i = 0; i < P; i++) g[i] = (float)((i % 97) + nf_mpi_rank()) * 1e-3f;
            double loss = 1.0;
            const double t0 = now();
            if (d->sum(d->ctx, g, (size_t)P, &loss, 1)) rc = 1;
            if (r >= 0) t[r] = now() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp);
        if (nf_mpi_rank() == 0 && !rc)
            printf("ranks %d  floats %8ld  sent per rank %9.0f bytes  median %.3f ms  (min %.3f, max %.3f)\n", N,
                   P, 2.0 * (N - 1) / N * 4.0 * (double)P, 1e3 * t[reps / 2], 1e3 * t[0], 1e3 * t[reps - 1]);
        free(g);
    }
    nf_mpi_finalize();
    return rc;
}
