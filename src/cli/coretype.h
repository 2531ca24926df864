/* coretype.h — shared by nnfit and bench_train (not the library, which never re-executes).
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not know recent Xeons (Sapphire/Emerald Rapids
 * under KVM report family 6 model 143/207) and falls back to its Prescott (SSE3) kernels, which
 * run sgemm 4-6x slower.  The kernel set is chosen when the library loads, so when OpenBLAS
 * reports that generic core on a CPU with AVX-512 (or AVX2+FMA) (nf_blas_suggest_coretype),
 * the program re-executes itself once with OPENBLAS_CORETYPE set to the matching kernel set.
 * An OPENBLAS_CORETYPE already in the environment is respected; NNFIT_NO_CORETYPE=1 keeps
 * whatever OpenBLAS picked.
 *
 * OpenBLAS also starts its thread pool when it loads, and each pool thread spins (sched_yield)
 * for about 2^28 cycles before it sleeps: of the order of 0.1 s of CPU per process on a 2-core
 * machine, taken from the work on the other cores.  A program that never runs BLAS on several
 * threads (one_blas_thread: nnfit sweep, whose trials each run on one core) re-executes with
 * OPENBLAS_NUM_THREADS=1 instead, so that no pool is started, unless the environment already
 * sets the thread count.  Both changes take one re-execution; if exec fails the program
 * carries on as it is. */
#ifndef NNFIT_CLI_CORETYPE_H
#define NNFIT_CLI_CORETYPE_H

#include <stdlib.h>
#include <unistd.h>

#include "nnfit/blas.h"

static inline void cli_setup_openblas(char **argv, int one_blas_thread)
{
    int again = 0;
    if (!getenv("OPENBLAS_CORETYPE") && !getenv("NNFIT_NO_CORETYPE")) {
        const char *want = nf_blas_suggest_coretype();
        if (want && setenv("OPENBLAS_CORETYPE", want, 1) == 0) again = 1;
    }
    if (one_blas_thread && !getenv("OPENBLAS_NUM_THREADS") && !getenv("GOTO_NUM_THREADS") &&
        !getenv("OMP_NUM_THREADS") && nf_blas_threads() > 1 && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0)
        again = 1;
    if (again) execv("/proc/self/exe", argv);
}

#endif
