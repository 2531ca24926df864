/* simd.h — private: NF_CLONES compiles a hot loop for AVX-512, AVX2 and baseline x86-64 and
 * picks one at load time (GCC target_clones / ifunc), so a generic build still runs the
 * passes around sgemm at the machine's vector width.  The C11 default of no FMA contraction
 * and no reassociation keeps every variant bit-identical (the lane structure of reductions
 * is written out in the source).  Not under ASan or TSan (under TSan the resolver crashed at
 * load time here) and not with clang; those builds get the baseline loop. */
#ifndef NNFIT_SIMD_H
#define NNFIT_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NF_CLONES
#endif

#endif
