/* rng.h — xoshiro256** seeded through splitmix64.
 *
 * Pure integer arithmetic, so the same seed gives the same stream on every machine and
 * compiler.  Floats are made from the top bits; normals use the Box–Muller transform in
 * double precision.  One nf_rng per thread; the struct is plain data and may be copied. */
#ifndef NNFIT_RNG_H
#define NNFIT_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t s[4];
} nf_rng;

/* Seeds the generator; any 64-bit seed (0 included) is fine. */
void nf_rng_seed(nf_rng *rng, uint64_t seed);

/* Next 64 random bits. */
uint64_t nf_rng_u64(nf_rng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
double nf_rng_uniform(nf_rng *rng);

/* Uniform double in [lo, hi). */
double nf_rng_range(nf_rng *rng, double lo, double hi);

/* Standard normal N(0, 1). */
double nf_rng_normal(nf_rng *rng);

/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t nf_rng_below(nf_rng *rng, uint64_t n);

/* Fisher–Yates on perm[0..n): for i = n−1 down to 1, swap perm[i] with perm[nf_rng_below(i + 1)]
 * (the same draws as that loop written out). */
void nf_rng_permute(nf_rng *rng, int *perm, int n);

/* A seed for sub-stream `index` of `seed` (splitmix64 of both); used for per-trial seeds. */
uint64_t nf_rng_derive(uint64_t seed, uint64_t index);

#ifdef __cplusplus
}
#endif
#endif
