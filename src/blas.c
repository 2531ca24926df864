/* blas.c — thread control for OpenBLAS; plain CBLAS builds get no-ops. */
#include "nnfit/blas.h"

#include <cblas.h>
#include <string.h>

#ifdef NF_HAVE_OPENBLAS
void nf_blas_set_threads(int n)
{
    if (n >= 1) openblas_set_num_threads(n);
}
int nf_blas_threads(void) { return openblas_get_num_threads(); }
const char *nf_blas_info(void)
{
    static _Thread_local char buf[256];
    char *cfg = openblas_get_config();
    char *core = openblas_get_corename();
    int len = 0;
    for (const char *p = cfg; p && *p && len < 180; p++) buf[len++] = *p;
    const char *sep = " core ";
    for (const char *p = sep; *p; p++) buf[len++] = *p;
    for (const char *p = core; p && *p && len < 250; p++) buf[len++] = *p;
    buf[len] = '\0';
    return buf;
}
#else
void nf_blas_set_threads(int n) { (void)n; }
int nf_blas_threads(void) { return 1; }
const char *nf_blas_info(void) { return "CBLAS (not OpenBLAS)"; }
#endif

const char *nf_blas_suggest_coretype(void)
{
#if defined(NF_HAVE_OPENBLAS) && defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott") != 0) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

#include "fpenv.h"

static _Atomic int flush_off; /* 0 = flush (the default) */

void nf_set_flush_denormals(int on) { flush_off = !on; }
int nf_flush_denormals(void) { return NF_HAVE_FTZ && !flush_off; }
