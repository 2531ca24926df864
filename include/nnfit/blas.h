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

/* OpenBLAS core type this process should ask for, or NULL when the detected one is fine.
 * Debian's OpenBLAS 0.3.21 does not recognise newer x86 CPUs (e.g. Sapphire Rapids) and falls
 * back to its SSE3 "Prescott" kernels, 4-6x slower; when that happened and the CPU has
 * AVX-512 (or AVX2+FMA) this returns "SkylakeX" (or "Haswell").  OpenBLAS reads
 * OPENBLAS_CORETYPE only at load time, so a program acts on this by setting the variable and
 * re-executing itself (see nnfit's main.c); the library never does. */
const char *nf_blas_suggest_coretype(void);

/* Subnormal floats.  By default (on) the library's compute calls — nf_model_forward/backward/
 * grad/eval/predict, nf_optim_step(_closure), nf_lm_step — run with the x86 FTZ and DAZ modes
 * set in the calling thread (restored on return): a result below FLT_MIN (1.18e-38) becomes 0
 * and a subnormal input counts as 0.  Without it a weight or optimizer moment that decays
 * geometrically towards 0 turns subnormal and slows every sgemm over it by up to 10x (Adam on
 * the DFT task).  Values differ from IEEE arithmetic only below FLT_MIN.  Off gives exact IEEE
 * behaviour (PyTorch's default; torch.set_flush_denormal(True) is its equivalent of on).
 * Process-wide; a no-op returning 0 on CPUs without these modes. */
void nf_set_flush_denormals(int on);
int nf_flush_denormals(void);

#ifdef __cplusplus
}
#endif
#endif
