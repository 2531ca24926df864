/* rng.c — xoshiro256** (Blackman & Vigna 2018) with splitmix64 seeding. */
#include "nnfit/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void nf_rng_seed(nf_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

static inline uint64_t next(nf_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t nf_rng_u64(nf_rng *rng) { return next(rng); }

double nf_rng_uniform(nf_rng *rng) { return (double)(nf_rng_u64(rng) >> 11) * 0x1.0p-53; }

double nf_rng_range(nf_rng *rng, double lo, double hi) { return lo + (hi - lo) * nf_rng_uniform(rng); }

double nf_rng_normal(nf_rng *rng)
{
    /* Box–Muller; u1 in (0, 1] so log never sees zero.  One value per call keeps the stream
     * position independent of how many normals a caller has drawn before. */
    double u1 = 1.0 - nf_rng_uniform(rng);
    double u2 = nf_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

/* Draws r until r < limit = 2^64 − 1 − (2^64 − 1) mod n, then r mod n.  Since limit is at
 * least 2^64 − n, any r <= 2^64 − 1 − n is accepted without computing limit (a 64-bit
 * division), which changes nothing in the stream. */
static inline uint64_t below(nf_rng *rng, uint64_t n)
{
    uint64_t r = next(rng);
    if (r > UINT64_MAX - n) {
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        while (r >= limit) r = next(rng);
    }
    return r % n;
}

uint64_t nf_rng_below(nf_rng *rng, uint64_t n) { return below(rng, n); }

void nf_rng_permute(nf_rng *rng, int *perm, int n)
{
    for (int i = n - 1; i > 0; i--) {
        const int j = (int)below(rng, (uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

uint64_t nf_rng_derive(uint64_t seed, uint64_t index)
{
    uint64_t x = seed ^ (index * 0xd1b54a32d192ed03ULL);
    splitmix64(&x);
    return splitmix64(&x);
}
