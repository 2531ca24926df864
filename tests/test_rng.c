/* test_rng.c — the generator's streams against an independent reference, so that "the same seed
 * gives the same stream on every machine" (rng.h) also holds across versions of nnfit.
 *
 * Reference values: splitmix64 and xoshiro256** transcribed from Vigna's public-domain C
 * (prng.di.unimi.it) into Python integers, with nf_rng_uniform/below/normal/derive as rng.h
 * documents them (53 top bits; rejection below UINT64_MAX - UINT64_MAX % n; Box–Muller with
 * u1 = 1 − uniform; splitmix64 of seed ^ index·0xd1b54a32d192ed03, second output).  The four
 * splitmix64 outputs of seed 0 are the generator's published test vector. */
#include <stdint.h>

#include "testutil.h"

START_TEST(seeding_is_splitmix64)
{
    nf_rng r;
    nf_rng_seed(&r, 0);
    const uint64_t want[4] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL, 0x06c45d188009454fULL,
                              0xf88bb8a8724c81ecULL};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(r.s[i] == want[i], "s[%d] = %#llx, want %#llx", i, (unsigned long long)r.s[i],
                      (unsigned long long)want[i]);
}
END_TEST

START_TEST(u64_stream_is_xoshiro256starstar)
{
    const uint64_t seed0[6] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
                               0x6aa594f1262d2d2cULL, 0xbba5ad4a1f842e59ULL, 0xffef8375d9ebcacaULL};
    const uint64_t seed12345[4] = {0xbe6a36374160d49bULL, 0x214aaa0637a688c6ULL,
                                   0xf69d16de9954d388ULL, 0x0c60048c4e96e033ULL};
    nf_rng r;
    nf_rng_seed(&r, 0);
    for (int i = 0; i < 6; i++) {
        uint64_t v = nf_rng_u64(&r);
        ck_assert_msg(v == seed0[i], "seed 0 draw %d = %#llx, want %#llx", i, (unsigned long long)v,
                      (unsigned long long)seed0[i]);
    }
    nf_rng_seed(&r, 12345);
    for (int i = 0; i < 4; i++) ck_assert(nf_rng_u64(&r) == seed12345[i]);
    /* the struct is plain data: a copy continues the same stream */
    nf_rng a, b;
    nf_rng_seed(&a, 99);
    nf_rng_u64(&a);
    b = a;
    for (int i = 0; i < 5; i++) ck_assert(nf_rng_u64(&a) == nf_rng_u64(&b));
}
END_TEST

START_TEST(uniform_and_range)
{
    const double want[4] = {0.7005764821796896, 0.2787512294737843, 0.8396274618764198,
                            0.9810977250149351};
    nf_rng r;
    nf_rng_seed(&r, 7);
    for (int i = 0; i < 4; i++) ck_assert(nf_rng_uniform(&r) == want[i]); /* exact: 53 bits */
    nf_rng_seed(&r, 7);
    ck_assert(nf_rng_range(&r, -2.0, 3.0) == -2.0 + 5.0 * want[0]);
    /* the whole of [0, 1): mean 1/2, both halves, never 1 */
    nf_rng_seed(&r, 1);
    double sum = 0.0, lo = 1.0, hi = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = nf_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    ck_assert_close(sum / n, 0.5, 0.005); /* sd of the mean 0.00065 */
    ck_assert(lo < 1e-4 && hi > 1.0 - 1e-4);
}
END_TEST

START_TEST(below_matches_reference_and_covers)
{
    const int want[12] = {4, 4, 8, 4, 4, 1, 6, 6, 8, 9, 3, 6};
    nf_rng r;
    nf_rng_seed(&r, 7);
    for (int i = 0; i < 12; i++) ck_assert_int_eq((int)nf_rng_below(&r, 10), want[i]);
    /* n = 2^63 + 1 rejects about half the draws (r >= 2^63 + 1): the slow path of the test */
    const uint64_t big[10] = {4118682332196087775ULL, 1609190652402573441ULL, 4524261822856303789ULL,
                              8186203469158895160ULL, 1572621373277208150ULL, 5657094326528388495ULL,
                              4226375597405381511ULL, 1170811111865358819ULL, 6249991440498483004ULL,
                              1382952951901082134ULL}; /* raw draws 7, 8, 9, 13 and 16 are rejected */
    nf_rng_seed(&r, 11);
    for (int i = 0; i < 10; i++) ck_assert(nf_rng_below(&r, (1ULL << 63) + 1) == big[i]);
    /* Fisher–Yates from n − 1 down, j = below(i + 1) */
    const int perm_want[10] = {6, 7, 3, 4, 5, 2, 0, 9, 1, 8};
    int perm[10];
    for (int i = 0; i < 10; i++) perm[i] = i;
    nf_rng_seed(&r, 3);
    nf_rng_permute(&r, perm, 10);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(perm[i], perm_want[i]);
    /* every value of [0, n) equally often, n itself never */
    for (uint64_t n = 1; n <= 5; n++) {
        long count[5] = {0};
        const long draws = 50000;
        nf_rng_seed(&r, 100 + n);
        for (long i = 0; i < draws; i++) {
            uint64_t v = nf_rng_below(&r, n);
            ck_assert(v < n);
            count[v]++;
        }
        for (uint64_t v = 0; v < n; v++)
            ck_assert_msg(fabs((double)count[v] / (double)draws - 1.0 / (double)n) < 0.01,
                          "below(%d): value %d drawn %ld of %ld times", (int)n, (int)v, count[v], draws);
    }
}
END_TEST

START_TEST(normal_matches_box_muller)
{
    const double want[4] = {-0.9721068514561665, -0.6858470975334099, -0.8486563367249466,
                            -0.14742695869240144};
    nf_rng r;
    nf_rng_seed(&r, 3);
    for (int i = 0; i < 4; i++) ck_assert_close(nf_rng_normal(&r), want[i], 1e-14);
    nf_rng_seed(&r, 4);
    double s = 0.0, s2 = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = nf_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    ck_assert_close(s / n, 0.0, 0.01);
    ck_assert_close(s2 / n, 1.0, 0.01);
}
END_TEST

START_TEST(derive_matches_reference)
{
    ck_assert(nf_rng_derive(1, 0) == 0xbeeb8da1658eec67ULL);
    ck_assert(nf_rng_derive(1, 1) == 0x8596845e7ea88ca1ULL);
    ck_assert(nf_rng_derive(2, 0) == 0xbfc846100bfc1e42ULL);
    ck_assert(nf_rng_derive(0xdeadbeefULL, 41) == 0x2d74c40af4fa4721ULL);
    /* neighbouring (seed, index) pairs give unrelated streams */
    ck_assert(nf_rng_derive(5, 1) != nf_rng_derive(6, 0));
    ck_assert(nf_rng_derive(5, 1) != nf_rng_derive(4, 2));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("streams");
    tcase_add_test(tc, seeding_is_splitmix64);
    tcase_add_test(tc, u64_stream_is_xoshiro256starstar);
    tcase_add_test(tc, uniform_and_range);
    tcase_add_test(tc, below_matches_reference_and_covers);
    tcase_add_test(tc, normal_matches_box_muller);
    tcase_add_test(tc, derive_matches_reference);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
