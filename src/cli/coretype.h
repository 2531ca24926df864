/* coretype.h — shared by nnfit and bench_train (not the library, which never re-executes).
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not know recent Xeons (Sapphire/Emerald Rapids
 * under KVM report family 6 model 143/207) and falls back to its Prescott (SSE3) kernels, which
 * run sgemm 4-6x slower.  The kernel set is chosen when the library loads, so when OpenBLAS
 * reports that generic core on a CPU with AVX-512 (or AVX2+FMA) (nf_blas_suggest_coretype),
 * the program re-executes itself once with OPENBLAS_CORETYPE set to the matching kernel set.
 * An OPENBLAS_CORETYPE already in the environment is respected; NNFIT_NO_CORETYPE=1 keeps
 * whatever OpenBLAS picked.  If exec fails the program carries on with the kernels it has. */
#ifndef NNFIT_CLI_CORETYPE_H
#define NNFIT_CLI_CORETYPE_H

#include <stdlib.h>
#include <unistd.h>

#include "nnfit/blas.h"

static inline void cli_pick_openblas_core(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("NNFIT_NO_CORETYPE")) return;
    const char *want = nf_blas_suggest_coretype();
    if (!want || setenv("OPENBLAS_CORETYPE", want, 1) != 0) return;
    execv("/proc/self/exe", argv);
}

#endif
