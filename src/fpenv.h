/* fpenv.h — denormal flushing around the library's compute calls (internal).
 *
 * A weight or optimizer moment that decays geometrically towards zero (Adam on a DFT weight
 * whose exact value is 0, m = β1ᵗ·m on a dead unit) ends up subnormal; every multiply that
 * touches it then takes a microcode assist, and sgemm over a weight matrix holding a few dozen
 * of them runs up to 10x slower (dft 64→66 with Adam: 1.0 ms steps become 10 ms for several
 * hundred steps).  While nf_flush_denormals() is on (the default), the entry points that
 * compute (model forward/backward/grad, optimizer steps, LM) set FTZ|DAZ in the calling
 * thread's MXCSR and restore the caller's value on return: results below FLT_MIN become 0, so
 * parameters and optimizer state never hold subnormals and OpenBLAS's worker threads (which
 * keep their own MXCSR) are never handed any.  Only x86 with SSE; elsewhere a no-op. */
#ifndef NNFIT_FPENV_H
#define NNFIT_FPENV_H

#include "nnfit/blas.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define NF_FTZ_DAZ 0x8040u /* MXCSR bits 15 (flush to zero) and 6 (denormals are zero) */
typedef unsigned nf_fpstate;
static inline nf_fpstate nf_fp_enter(void)
{
    const unsigned old = _mm_getcsr();
    if (nf_flush_denormals() && (old & NF_FTZ_DAZ) != NF_FTZ_DAZ) _mm_setcsr(old | NF_FTZ_DAZ);
    return old;
}
static inline void nf_fp_leave(nf_fpstate old)
{
    if (_mm_getcsr() != old) _mm_setcsr(old);
}
static inline nf_fpstate nf_fp_current(void) { return _mm_getcsr(); }
#define NF_HAVE_FTZ 1
#else
typedef int nf_fpstate;
static inline nf_fpstate nf_fp_enter(void) { return 0; }
static inline void nf_fp_leave(nf_fpstate old) { (void)old; }
static inline nf_fpstate nf_fp_current(void) { return 0; }
#define NF_HAVE_FTZ 0
#endif

#endif
