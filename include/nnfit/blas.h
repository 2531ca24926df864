/* blas.h — BLAS thread control (OpenBLAS), so programs never include OpenBLAS headers. */
#ifndef NNFIT_BLAS_H
#define NNFIT_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of BLAS threads for the process (n >= 1).  No-op without OpenBLAS. */
void nf_blas_set_threads(int n);
/* Current BLAS thread count (1 when unknown). */
int nf_blas_threads(void);
/* BLAS implementation description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... SkylakeX". */
const char *nf_blas_info(void);

#ifdef __cplusplus
}
#endif
#endif
