/* simd.h — private: NF_CLONES compiles a hot loop for AVX-512 (the x86-64-v4 level: F, VL,
 * BW, DQ, CD), AVX2 and baseline x86-64 and picks one at load time (GCC target_clones / ifunc),
 * so a generic build still runs the passes around sgemm at the machine's vector width.  (On a
 * Xeon with AVX-512, a clone for AVX-512F alone, without VL's AVX-512 instructions on 256-bit
 * registers, ran the eight-float vector code no faster than the AVX2 clone, at times slower.)
 * No FMA contraction (-ffp-contract=off, although x86-64-v4 has FMA) and no reassociation
 * keep every variant bit-identical (the lane structure of reductions is written out in the
 * source).  Not under ASan or TSan (under TSan the resolver crashed at
 * load time here) and not with clang; those builds get the baseline loop. */
#ifndef NNFIT_SIMD_H
#define NNFIT_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NF_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
/* True in the clone the loader picks on an x86-64-v4 CPU, false in the others (picked only
 * where it is not): a clone branches on it to code written for sixteen-float vectors, which
 * GCC splits badly into narrower registers (the AVX2 clone ran such code 5× slower). */
#define NF_W16 __builtin_cpu_supports("x86-64-v4")
#else
#define NF_CLONES
#define NF_W16 0
#endif

#endif
