/* test_stats.c — statistics (stats.h) against values computed independently here: exact
 * enumeration of sign patterns, binomial sums in integers, hand-worked examples, textbook
 * tables and the published first points of the quasirandom sequences. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- quantiles ---- */

START_TEST(quantiles_with_infinities)
{
    const double a[] = {1, 2, INFINITY, INFINITY};
    ck_assert(isinf(nf_quantile_sorted(a, 4, 0.5)));          /* between 2 and ∞ */
    ck_assert(nf_quantile_sorted(a, 4, 1.0 / 3.0) == 2.0);    /* exactly on 2 */
    ck_assert(isinf(nf_quantile_sorted(a, 4, 0.9)));          /* between ∞ and ∞: not NaN */
    ck_assert(nf_quantile_sorted(a, 4, 0.0) == 1.0);
    ck_assert_close(nf_quantile_sorted(a, 4, 0.2), 1.6, 1e-12);
    const double b[] = {INFINITY, INFINITY};
    ck_assert(isinf(nf_quantile_sorted(b, 2, 0.5)) && nf_quantile_sorted(b, 2, 0.5) > 0);
    const double v[] = {4, 1, INFINITY, 3, 2, NAN};
    nf_quartiles q;
    ck_assert_int_eq(nf_quartiles_of(v, 6, &q), NF_OK); /* NaN ignored: 1 2 3 4 ∞ */
    ck_assert(q.q1 == 2.0 && q.median == 3.0 && q.q3 == 4.0);
    const double w[] = {INFINITY, 5, INFINITY};
    ck_assert_int_eq(nf_quartiles_of(w, 3, &q), NF_OK); /* 5 ∞ ∞: more than half never */
    ck_assert(isinf(q.median) && isinf(q.q1) && isinf(q.q3));
    ck_assert_int_eq(nf_quartiles_of(w, 0, &q), NF_OK);
    ck_assert(isnan(q.median));
    double s[] = {3, NAN, -INFINITY, 1};
    nf_sort_doubles(s, 4);
    ck_assert(isinf(s[0]) && s[0] < 0 && s[1] == 1 && s[2] == 3 && isnan(s[3]));
}
END_TEST

/* ---- McNemar ---- */

/* 2 · Σ_{k<=min(b,c)} C(b+c, k) / 2^(b+c), in exact integers (n <= 62). */
static double mcnemar_reference(int b, int c)
{
    const int n = b + c, lo = b < c ? b : c;
    if (n == 0) return 1.0;
    uint64_t row[64] = {1};
    for (int i = 1; i <= n; i++)
        for (int k = i; k > 0; k--) row[k] += row[k - 1];
    uint64_t tail = 0;
    for (int k = 0; k <= lo; k++) tail += row[k];
    double p = 2.0 * ldexp((double)tail, -n);
    return p < 1.0 ? p : 1.0;
}

START_TEST(mcnemar_matches_binomial_sums)
{
    /* by hand: b = 0, c = 5: 2/32; b = 1, c = 9: 2·(1 + 10)/1024 */
    ck_assert_close(nf_mcnemar_exact_p(0, 5), 0.0625, 1e-15);
    ck_assert_close(nf_mcnemar_exact_p(1, 9), 22.0 / 1024.0, 1e-15);
    ck_assert_close(nf_mcnemar_exact_p(9, 1), 22.0 / 1024.0, 1e-15);
    ck_assert(nf_mcnemar_exact_p(0, 0) == 1.0);
    ck_assert(nf_mcnemar_exact_p(7, 7) == 1.0);
    ck_assert(isnan(nf_mcnemar_exact_p(-1, 3)));
    for (int b = 0; b <= 30; b++)
        for (int c = 0; c <= 30; c++) {
            const double ref = mcnemar_reference(b, c), got = nf_mcnemar_exact_p(b, c);
            ck_assert_msg(fabs(got - ref) <= 1e-12 * ref + 1e-300, "b=%d c=%d: %.17g vs %.17g", b, c, got, ref);
        }
    /* from flags: pairs (1,0) ×3, (0,1) ×1, (1,1) ×4, (0,0) ×2 */
    const int x[] = {1, 1, 1, 0, 1, 1, 1, 1, 0, 0}, y[] = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0};
    nf_mcnemar_result r;
    ck_assert_int_eq(nf_mcnemar(x, y, 10, &r), NF_OK);
    ck_assert(r.n == 10 && r.b == 3 && r.c == 1);
    ck_assert_close(r.p, 2.0 * 5.0 / 16.0, 1e-15); /* 2·(C(4,0) + C(4,1))/16 */
}
END_TEST

/* ---- Wilcoxon ---- */

/* Mid-rank of |d[i]| among the included differences (O(n²): independent of any sort). */
static double midrank(const double *mag, const int *incl, int n, int i)
{
    int less = 0, equal = 0;
    for (int j = 0; j < n; j++) {
        if (!incl[j]) continue;
        if (mag[j] < mag[i]) less++;
        else if (mag[j] == mag[i]) equal++;
    }
    return less + (equal + 1) / 2.0;
}

/* p by enumerating all 2^n sign patterns of the nonzero ranks:
 * P(|T − S/2| >= |t − S/2|).  pratt: zeros are ranked, then dropped. */
static double wilcoxon_enumerated(const double *x, const double *y, int n, int pratt, double *t_plus)
{
    double mag[32], rank[32];
    int sign[32], incl[32], m = 0;
    for (int i = 0; i < n; i++) {
        sign[i] = x[i] == y[i] ? 0 : x[i] > y[i] ? 1 : -1;
        mag[i] = sign[i] == 0 ? 0.0 : fabs(x[i] - y[i]);
        incl[i] = sign[i] != 0 || pratt;
    }
    double r[32];
    double t = 0, S = 0;
    for (int i = 0; i < n; i++) {
        if (!incl[i]) continue;
        rank[i] = midrank(mag, incl, n, i);
        if (sign[i] == 0) continue;
        r[m++] = rank[i];
        S += rank[i];
        if (sign[i] > 0) t += rank[i];
    }
    *t_plus = t;
    long hits = 0;
    for (long pat = 0; pat < (1L << m); pat++) {
        double T = 0;
        for (int k = 0; k < m; k++)
            if (pat >> k & 1) T += r[k];
        hits += fabs(T - S / 2) >= fabs(t - S / 2) - 1e-9;
    }
    return (double)hits / (double)(1L << m);
}

START_TEST(wilcoxon_by_hand)
{
    nf_wilcoxon_result r;
    const double x[] = {1, 2, 3, 4, 5}, z[] = {0, 0, 0, 0, 0};
    ck_assert_int_eq(nf_wilcoxon(x, z, 5, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.exact && r.n == 5 && r.t_plus == 15 && r.t_minus == 0);
    ck_assert_close(r.p, 2.0 / 32.0, 1e-15); /* only all-plus and all-minus are as extreme */
    const double x2[] = {-1, 2, 3, 4, 5};
    ck_assert_int_eq(nf_wilcoxon(x2, z, 5, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.t_plus == 14 && r.t_minus == 1);
    ck_assert_close(r.p, 4.0 / 32.0, 1e-15); /* T− ∈ {0, 1} or T+ ∈ {0, 1} */
    /* never reached = ∞:  ∞ vs ∞ is a zero difference, ∞ vs a finite time the largest |d|,
     * the two such differences tie at mid-rank 3.5:  |d| = {∞, 2, 1, ∞} → ranks 3.5 2 1 3.5 */
    const double a[] = {INFINITY, INFINITY, 3, 5, INFINITY}, b[] = {INFINITY, 2, 1, 4, 7};
    ck_assert_int_eq(nf_wilcoxon(a, b, 5, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.n == 4 && r.n_zero == 1 && r.t_plus == 10 && r.t_minus == 0);
    ck_assert_close(r.p, 2.0 / 16.0, 1e-15);
    /* Pratt: the zero takes rank 1, the others move up to 2, 3, 4.5, 4.5 */
    ck_assert_int_eq(nf_wilcoxon(a, b, 5, NF_ZERO_PRATT, &r), NF_OK);
    ck_assert(r.n == 4 && r.n_zero == 1 && r.t_plus == 14 && r.t_minus == 0);
    ck_assert_close(r.p, 2.0 / 16.0, 1e-15);
    /* reversed: the same p, sums swapped */
    ck_assert_int_eq(nf_wilcoxon(b, a, 5, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.t_plus == 0 && r.t_minus == 10 && r.z < 0);
    /* all zero, none */
    ck_assert_int_eq(nf_wilcoxon(a, a, 5, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.n == 0 && r.n_zero == 5 && r.p == 1.0);
    ck_assert_int_eq(nf_wilcoxon(NULL, NULL, 0, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.p == 1.0);
    const double bad[] = {1, NAN};
    ck_assert_int_eq(nf_wilcoxon(bad, x, 2, NF_ZERO_WILCOX, &r), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "NaN"));
}
END_TEST

START_TEST(wilcoxon_exact_matches_enumeration)
{
    nf_rng rng;
    nf_rng_seed(&rng, 2024);
    int cases = 0, small_p = 0;
    for (int trial = 0; trial < 400; trial++) {
        const int n = 1 + (int)nf_rng_below(&rng, 16);
        double x[20], y[20];
        for (int i = 0; i < n; i++) {
            /* small integers: many ties and zeros; some never-reached times */
            x[i] = (double)nf_rng_below(&rng, 7);
            y[i] = (double)nf_rng_below(&rng, 7) - (trial % 3 == 0 ? 1.5 : 0.0);
            if (nf_rng_below(&rng, 6) == 0) x[i] = INFINITY;
            if (nf_rng_below(&rng, 6) == 0) y[i] = INFINITY;
        }
        for (int pratt = 0; pratt < 2; pratt++) {
            nf_wilcoxon_result r;
            ck_assert_int_eq(nf_wilcoxon(x, y, n, pratt ? NF_ZERO_PRATT : NF_ZERO_WILCOX, &r), NF_OK);
            double t_plus;
            const double ref = wilcoxon_enumerated(x, y, n, pratt, &t_plus);
            ck_assert(r.exact);
            ck_assert_msg(r.t_plus == t_plus, "trial %d: T+ %g vs %g", trial, r.t_plus, t_plus);
            ck_assert_msg(fabs(r.p - ref) <= 1e-12, "trial %d n=%d pratt=%d: p %.17g vs %.17g", trial, n,
                          pratt, r.p, ref);
            cases++;
            small_p += ref < 0.1;
        }
    }
    ck_assert_int_eq(cases, 800);
    ck_assert_int_gt(small_p, 20); /* the cases reach the tails, not only p = 1 */
}
END_TEST

/* Above NF_WILCOXON_EXACT_MAX: the textbook normal approximation, written out here with the
 * classical tie correction Σ(t³ − t)/48 and continuity correction 0.5. */
START_TEST(wilcoxon_normal_approximation)
{
    enum { N = 600 };
    static double x[N], y[N];
    for (int pass = 0; pass < 2; pass++) {
        double tplus = 0, ties = 0;
        for (int i = 1; i <= N; i++) {
            /* pass 0: |d| = i, distinct; pass 1: |d| = i mod 40 + 1, tie groups of 15 */
            const int mag = pass ? i % 40 + 1 : i;
            const int neg = pass ? (i % 7 < 3) : (i % 2 == 0 || i % 11 == 0);
            x[i - 1] = neg ? -mag : mag;
            y[i - 1] = 0;
        }
        /* reference rank sums */
        for (int i = 0; i < N; i++) {
            const double mi = fabs(x[i]);
            int less = 0, eq = 0;
            for (int j = 0; j < N; j++) less += fabs(x[j]) < mi, eq += fabs(x[j]) == mi;
            if (x[i] > 0) tplus += less + (eq + 1) / 2.0;
        }
        if (pass) ties = 40.0 * (15.0 * 15.0 * 15.0 - 15.0);
        const double n = N, mean = n * (n + 1) / 4;
        const double var = n * (n + 1) * (2 * n + 1) / 24 - ties / 48;
        double dev = fabs(tplus - mean) - 0.5;
        const double z = (tplus > mean ? dev : -dev) / sqrt(var);
        const double p = erfc(fabs(z) / sqrt(2.0));
        nf_wilcoxon_result r;
        ck_assert_int_eq(nf_wilcoxon(x, y, N, NF_ZERO_WILCOX, &r), NF_OK);
        ck_assert(!r.exact);
        ck_assert(r.t_plus == tplus);
        ck_assert_close(r.z, z, 1e-12 * fabs(z));
        ck_assert_msg(fabs(r.p - p) <= 1e-12 * p, "pass %d: p %.17g vs %.17g", pass, r.p, p);
        ck_assert(p > 1e-6 && p < 0.5); /* not a degenerate case */
    }
}
END_TEST

/* At n = NF_WILCOXON_EXACT_MAX the exact table holds 2^-400-sized masses; its p must agree
 * with the normal approximation to its accuracy there (~1e-4 at p ≈ 0.1). */
START_TEST(wilcoxon_exact_at_the_limit)
{
    enum { N = NF_WILCOXON_EXACT_MAX };
    static double x[N], y[N];
    for (int i = 1; i <= N; i++) {
        x[i - 1] = (i % 2 == 0 || i % 11 == 0) ? -i : i;
        y[i - 1] = 0;
    }
    nf_wilcoxon_result r;
    ck_assert_int_eq(nf_wilcoxon(x, y, N, NF_ZERO_WILCOX, &r), NF_OK);
    ck_assert(r.exact);
    const double approx = erfc(fabs(r.z) / sqrt(2.0));
    ck_assert_msg(r.p > 0.05 && r.p < 0.2, "p = %g", r.p);
    ck_assert_msg(fabs(r.p - approx) < 0.02 * approx, "exact %.6g vs normal %.6g", r.p, approx);
}
END_TEST

/* ---- Holm ---- */

/* The example in Wikipedia's "Holm–Bonferroni method": p = 0.01, 0.04, 0.03, 0.005 at
 * α = 0.05 rejects H1 and H4; adjusted p = 0.03, 0.06, 0.06, 0.02. */
START_TEST(holm_textbook)
{
    const double p[] = {0.01, 0.04, 0.03, 0.005};
    double adj[4];
    int rej[4];
    ck_assert_int_eq(nf_holm(p, 4, 0.05, adj, rej), NF_OK);
    const double want[] = {0.03, 0.06, 0.06, 0.02};
    const int want_rej[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        ck_assert_close(adj[i], want[i], 1e-15);
        ck_assert_int_eq(rej[i], want_rej[i]);
    }
    /* step-down stops at the first acceptance, though 0.04 alone would pass at level 0.05 */
    ck_assert(!rej[1] && p[1] <= 0.05);
    const double q[] = {0.5, 0.6, 0.001};
    ck_assert_int_eq(nf_holm(q, 3, 0.05, adj, rej), NF_OK);
    ck_assert(adj[0] == 1.0 && adj[1] == 1.0 && rej[2] && !rej[0]);
    ck_assert_close(adj[2], 0.003, 1e-17);
    const double bad[] = {0.1, NAN};
    ck_assert_int_eq(nf_holm(bad, 2, 0.05, adj, rej), NF_EINVAL);
    ck_assert_int_eq(nf_holm(p, 0, 0.05, NULL, NULL), NF_OK);
}
END_TEST

/* ---- performance profiles ---- */

START_TEST(performance_profile_by_hand)
{
    /* solver:      0    1    2 */
    const double t[] = {1, 2, INFINITY,          /* ratios 1 2 ∞ */
                        4, 2, 8,                 /* ratios 2 1 4 */
                        INFINITY, INFINITY, INFINITY}; /* all failed: ∞ ∞ ∞ */
    double ratio[9];
    ck_assert_int_eq(nf_perf_ratios(t, 3, 3, ratio), NF_OK);
    const double want[] = {1, 2, INFINITY, 2, 1, 4, INFINITY, INFINITY, INFINITY};
    for (int i = 0; i < 9; i++) ck_assert(ratio[i] == want[i]);
    const double tau[] = {1, 1.5, 2, 4, 1e300, INFINITY};
    double rho[18];
    ck_assert_int_eq(nf_perf_profile(t, 3, 3, tau, 6, rho), NF_OK);
    const double third = 1.0 / 3.0;
    const double rw[] = {third, third, 2 * third, 2 * third, 2 * third, 2 * third,
                         third, third, 2 * third, 2 * third, 2 * third, 2 * third,
                         0,     0,     0,         third,     third,     third};
    for (int i = 0; i < 18; i++) ck_assert_msg(rho[i] == rw[i], "rho[%d] = %g, want %g", i, rho[i], rw[i]);
    const double bad[] = {1, 0, 2, NAN};
    ck_assert_int_eq(nf_perf_ratios(bad, 2, 2, ratio), NF_EINVAL);
    ck_assert_int_eq(nf_perf_ratios(bad + 2, 1, 2, ratio), NF_EINVAL);
}
END_TEST

/* ---- quasirandom points ---- */

/* First points of the 2-D Sobol sequence (index 1 on; dimensions 1-2 are the same in every
 * direction-number table): GSL's documented example output and Joe & Kuo's sobol.cc. */
START_TEST(sobol_first_points)
{
    static const double want[10][2] = {{0.5, 0.5},       {0.75, 0.25},     {0.25, 0.75},   {0.375, 0.375},
                                       {0.875, 0.875},   {0.625, 0.125},   {0.125, 0.625}, {0.1875, 0.3125},
                                       {0.6875, 0.8125}, {0.9375, 0.0625}};
    double x[20];
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 2, 10, 0, 0, x), NF_OK);
    for (int i = 0; i < 10; i++) ck_assert(x[2 * i] == want[i][0] && x[2 * i + 1] == want[i][1]);
    /* scrambled: frac(x + u) with u the first nf_rng_uniform draws of the seed */
    double s[20];
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 2, 10, 1, 99, s), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 99);
    const double u0 = nf_rng_uniform(&rng), u1 = nf_rng_uniform(&rng);
    for (int i = 0; i < 10; i++) {
        double a = fmod(want[i][0] + u0, 1.0), b = fmod(want[i][1] + u1, 1.0);
        ck_assert(s[2 * i] == a && s[2 * i + 1] == b);
        ck_assert(s[2 * i] >= 0 && s[2 * i] < 1 && s[2 * i + 1] >= 0 && s[2 * i + 1] < 1);
    }
    double s2[20];
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 2, 10, 1, 100, s2), NF_OK);
    ck_assert(memcmp(s, s2, sizeof s) != 0);
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 2, 10, 1, 99, s2), NF_OK);
    ck_assert(memcmp(s, s2, sizeof s) == 0);
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, NF_QRNG_SOBOL_MAX_DIM + 1, 1, 0, 0, x), NF_EINVAL);
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 0, 1, 0, 0, x), NF_EINVAL);
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_SOBOL, 2, -1, 0, 0, x), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "points"));
}
END_TEST

/* Halton: coordinate j of point i (from 1) is the radical inverse of i in the j-th prime. */
static double radical_inverse(unsigned i, unsigned base)
{
    double f = 1.0, r = 0.0;
    while (i) {
        f /= base;
        r += f * (i % base);
        i /= base;
    }
    return r;
}

START_TEST(halton_first_points)
{
    const unsigned primes[] = {2, 3, 5, 7};
    double x[4 * 30];
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_HALTON, 4, 30, 0, 0, x), NF_OK);
    for (unsigned i = 1; i <= 30; i++)
        for (int j = 0; j < 4; j++) ck_assert_close(x[4 * (i - 1) + j], radical_inverse(i, primes[j]), 1e-15);
    ck_assert_int_eq(nf_qrng_points(NF_QRNG_HALTON, NF_QRNG_HALTON_MAX_DIM + 1, 1, 0, 0, x), NF_EINVAL);
    ck_assert_str_eq(nf_qrng_name(NF_QRNG_HALTON), "halton");
}
END_TEST

START_TEST(ranges)
{
    nf_range r;
    ck_assert_int_eq(nf_range_parse("1e-4:1:log", &r), NF_OK);
    ck_assert(r.lo == 1e-4 && r.hi == 1 && r.log_scale);
    ck_assert(nf_range_map(&r, 0) == 1e-4 && nf_range_map(&r, 1) == 1);
    ck_assert_close(nf_range_map(&r, 0.5), 1e-2, 1e-15);
    ck_assert_close(nf_range_map(&r, 0.25), 1e-3, 1e-16);
    ck_assert_int_eq(nf_range_parse("0:0.99", &r), NF_OK);
    ck_assert(!r.log_scale && nf_range_map(&r, 0.5) == 0.495);
    ck_assert_int_eq(nf_range_parse("-2:3:lin", &r), NF_OK);
    ck_assert(nf_range_map(&r, 0.2) == -1.0);
    const char *bad[] = {"1:0", "0:1:log", "a:2", "1", "1:2:foo", "1:inf", ":2", "1:", "1:2:", "nan:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(nf_range_parse(bad[i], &r) == NF_EINVAL, "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(nf_last_error(), bad[i]));
    }
}
END_TEST

/* ---- successive halving ---- */

START_TEST(halving_schedule_and_cuts)
{
    int m[16];
    ck_assert_int_eq(nf_halving_milestones(81, 1, 3, m, 16), 5);
    const int w81[] = {1, 3, 9, 27, 81};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(m[i], w81[i]);
    /* 100/81 = 1.23, 100/27 = 3.7, 100/9 = 11.1, 100/3 = 33.3 */
    ck_assert_int_eq(nf_halving_milestones(100, 1, 3, m, 16), 5);
    const int w100[] = {1, 4, 11, 33, 100};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(m[i], w100[i]);
    ck_assert_int_eq(nf_halving_milestones(100, 10, 3, m, 16), 3); /* 11 33 100 */
    ck_assert(m[0] == 11 && m[1] == 33 && m[2] == 100);
    ck_assert_int_eq(nf_halving_milestones(5, 5, 3, m, 16), 1);
    ck_assert_int_eq(m[0], 5);
    ck_assert_int_eq(nf_halving_milestones(100, 1, 3, NULL, 0), 5);
    ck_assert_int_eq(nf_halving_milestones(100, 1, 1.0, m, 16), -1);
    ck_assert_int_eq(nf_halving_milestones(10, 20, 3, m, 16), -1);

    /* 9 alive, η = 3: the 3 lowest survive, NaN and ∞ lose */
    const double loss[] = {0.5, NAN, 0.1, 0.3, 0.15, 0.9, 0.2, INFINITY, 0.05};
    int alive[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, kept;
    ck_assert_int_eq(nf_halving_cut(loss, alive, 9, 3, &kept), NF_OK);
    const int w1[] = {0, 0, 1, 0, 1, 0, 0, 0, 1};
    ck_assert_int_eq(kept, 3);
    for (int i = 0; i < 9; i++) ck_assert_int_eq(alive[i], w1[i]);
    /* next rung: 3 alive → 1; dead ones are not read (NaN there would otherwise win nothing) */
    const double loss2[] = {NAN, NAN, 0.2, NAN, 0.2, NAN, NAN, NAN, 0.3};
    ck_assert_int_eq(nf_halving_cut(loss2, alive, 9, 3, &kept), NF_OK);
    ck_assert_int_eq(kept, 1);
    ck_assert(alive[2] && !alive[4] && !alive[8]); /* tie at 0.2: the lower index */
    /* never below one survivor */
    int two[2] = {1, 1};
    const double l2[] = {INFINITY, INFINITY};
    ck_assert_int_eq(nf_halving_cut(l2, two, 2, 3, &kept), NF_OK);
    ck_assert(kept == 1 && two[0] && !two[1]);
    ck_assert_int_eq(nf_halving_cut(l2, two, 2, 0.5, &kept), NF_EINVAL);
    /* 9 configurations over 1, 3, 9 epochs: 9·1 + 3·2 + 1·6 = 21 epochs instead of 81 */
    const int ms[] = {1, 3, 9};
    ck_assert_int_eq(nf_halving_epochs(9, ms, 3, 3), 21);
    ck_assert_int_eq(nf_halving_epochs(9, ms + 2, 1, 3), 81);
}
END_TEST

/* libgsl needs CBLAS symbols and its pkg-config file names libgslcblas for them; the build
 * links OpenBLAS instead, and cblas_sgemm must come from it. */
START_TEST(sgemm_not_from_gslcblas)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    ck_assert_ptr_nonnull(sym);
    ck_assert(dladdr(sym, &info) != 0);
    ck_assert_msg(!strstr(info.dli_fname, "gslcblas"), "cblas_sgemm comes from %s", info.dli_fname);
#ifdef NF_HAVE_OPENBLAS
    ck_assert_msg(strstr(info.dli_fname, "openblas") != NULL, "cblas_sgemm comes from %s", info.dli_fname);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, quantiles_with_infinities);
    tcase_add_test(tc, mcnemar_matches_binomial_sums);
    tcase_add_test(tc, wilcoxon_by_hand);
    tcase_add_test(tc, wilcoxon_exact_matches_enumeration);
    tcase_add_test(tc, wilcoxon_normal_approximation);
    tcase_add_test(tc, wilcoxon_exact_at_the_limit);
    tcase_add_test(tc, holm_textbook);
    tcase_add_test(tc, performance_profile_by_hand);
    tcase_add_test(tc, sobol_first_points);
    tcase_add_test(tc, halton_first_points);
    tcase_add_test(tc, ranges);
    tcase_add_test(tc, halving_schedule_and_cuts);
    tcase_add_test(tc, sgemm_not_from_gslcblas);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
