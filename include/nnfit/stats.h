/* stats.h — statistics for comparing settings fairly: paired tests on common seeds, multiple-
 * comparison correction, quantiles with infinite values, performance profiles, quasirandom
 * search points and successive halving.
 *
 * Conventions shared by every function here:
 * - A time to a target that was never reached is +INFINITY and takes part as a value: it is
 *   larger than every finite time, equal to another +INFINITY (a tie), and quantiles of a
 *   sample that contains it interpolate to +INFINITY.  NaN is refused (NF_EINVAL) by the tests;
 *   map a diverged run's NaN loss to +INFINITY first.
 * - p-values are two-sided.
 *
 * Taken from GSL (libgsl): the Sobol and Halton sequences (gsl_qrng_sobol, gsl_qrng_halton),
 * the binomial CDF (gsl_cdf_binomial_P, McNemar's exact p) and the normal tail
 * (gsl_cdf_ugaussian_Q, Wilcoxon's large-sample p).  Written here: the exact signed-rank null
 * distribution with mid-ranks (dynamic programming over doubled rank sums), the tie and
 * infinity handling, Holm's procedure, quantiles, performance profiles, the random shift of the
 * quasirandom points (from nf_rng), range mapping and successive halving.  Arguments are
 * checked before GSL sees them, so GSL's error handler (whose default aborts) can only be
 * reached when GSL cannot allocate a generator; a program that must never abort calls
 * gsl_set_error_handler_off() once at start. */
#ifndef NNFIT_STATS_H
#define NNFIT_STATS_H

#include <stdint.h>

#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- quantiles ---- */

/* Quantile q in [0, 1] of n sorted values, linear interpolation between order statistics
 * (NumPy's default).  NAN when n = 0.  Infinite values are handled: between a finite value and
 * +INFINITY the quantile is +INFINITY (unless it falls exactly on the finite one), between two
 * equal infinities it is that infinity. */
double nf_quantile_sorted(const double *sorted, long n, double q);

/* Sorts v[0..n) ascending in place, NaN last. */
void nf_sort_doubles(double *v, long n);

typedef struct {
    double q1, median, q3; /* 25 %, 50 %, 75 % quantiles as nf_quantile_sorted; NAN when n = 0 */
} nf_quartiles;

/* Quartiles of v[0..n) (not modified; NaN values are ignored). */
nf_status nf_quartiles_of(const double *v, long n, nf_quartiles *out);

/* ---- paired tests ---- */

/* Exact McNemar test on the discordant pairs: b pairs where the first setting succeeded and the
 * second failed, c the other way round.  Under the null b ~ Binomial(b + c, 1/2), and
 * p = min(1, 2 · P(X <= min(b, c))).  b = c = 0 gives p = 1. */
double nf_mcnemar_exact_p(long b, long c);

typedef struct {
    long n;      /* pairs */
    long b, c;   /* discordant pairs: first only / second only succeeded */
    double p;    /* two-sided exact p */
} nf_mcnemar_result;

/* McNemar's exact test of paired success flags (nonzero = success) x[i], y[i], i < n. */
nf_status nf_mcnemar(const int *x, const int *y, long n, nf_mcnemar_result *out);

/* What to do with zero differences (including +INFINITY vs +INFINITY) in the signed-rank test.
 * NF_ZERO_WILCOX: drop them, rank the rest (Wilcoxon 1945; R's wilcox.test and SciPy's default).
 * NF_ZERO_PRATT: rank them with the others, then drop their ranks from both sums and from the
 * null distribution (Pratt 1959). */
typedef enum { NF_ZERO_WILCOX, NF_ZERO_PRATT } nf_zero_method;

/* Largest number of ranked differences for which the exact null distribution is computed
 * (below and at it the p-value is exact; above it, normal approximation). */
#define NF_WILCOXON_EXACT_MAX 400

typedef struct {
    long n;           /* differences whose ranks count (nonzero ones) */
    long n_zero;      /* zero differences */
    double t_plus;    /* sum of the mid-ranks of the positive differences (x > y) */
    double t_minus;   /* the same for the negative ones */
    double z;         /* (t_plus − mean) / sd with continuity correction 0.5 towards the mean
                         (0 when n = 0); the normal approximation's statistic */
    double p;         /* two-sided p: exact when exact, else 2·Q(|z|) */
    int exact;        /* 1: exact conditional distribution given the ties */
} nf_wilcoxon_result;

/* Wilcoxon signed-rank test of the paired samples x[i], y[i] (i < n) on the differences
 * d = x − y.  |d| is ranked with mid-ranks for ties.  Infinite values: +INFINITY vs a finite
 * value is a difference of +INFINITY (the largest |d|; several tie with each other), equal
 * infinities are a zero difference.  NaN in x or y is refused.
 * When n (after the zero rule) is at most NF_WILCOXON_EXACT_MAX the p-value comes from the exact
 * null distribution of the sum of positive ranks given the observed (mid-)ranks: every rank
 * carries a + or − sign with probability 1/2, counted by dynamic programming over doubled rank
 * sums (mid-ranks are multiples of 1/2), p = min(1, 2·P(T+ <= min(t, S − t))) with S the sum of
 * the ranks.  Above, the normal approximation with mean S/2 and variance Σ r²/4 (which is the
 * usual tie-corrected variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 for mid-ranks). */
nf_status nf_wilcoxon(const double *x, const double *y, long n, nf_zero_method zeros,
                      nf_wilcoxon_result *out);

/* Holm's step-down correction of m p-values: with p sorted ascending p_(1) <= ... <= p_(m), the
 * adjusted value is max_{j<=i} min(1, (m − j + 1)·p_(j)); hypothesis i is rejected at level alpha
 * when its adjusted p <= alpha.  adjusted[m] (may be NULL) and reject[m] (may be NULL) follow
 * the input order.  Ties in p keep their input order.  NaN p is refused. */
nf_status nf_holm(const double *p, int m, double alpha, double *adjusted, int *reject);

/* ---- performance profiles (Dolan & Moré 2002) ---- */

/* time is [n_problems, n_solvers] row-major: problem p's cost for solver s, > 0, +INFINITY for
 * a failure.  ratio (same shape) gets time / min over solvers of that problem; a problem that
 * every solver failed gives +INFINITY for all of them. */
nf_status nf_perf_ratios(const double *time, int n_problems, int n_solvers, double *ratio);

/* ρ_s(τ) = (problems with ratio <= τ) / n_problems for every solver s and every τ in tau[n_tau]:
 * rho is [n_solvers, n_tau].  Failures never count, whatever τ. */
nf_status nf_perf_profile(const double *time, int n_problems, int n_solvers, const double *tau,
                          int n_tau, double *rho);

/* ---- quasirandom search points ---- */

typedef enum { NF_QRNG_SOBOL, NF_QRNG_HALTON } nf_qrng_kind;

#define NF_QRNG_SOBOL_MAX_DIM 40    /* gsl_qrng_sobol's limit */
#define NF_QRNG_HALTON_MAX_DIM 1229 /* gsl_qrng_halton's limit */
#define NF_QRNG_MAX_POINTS (1L << 29)

/* The first n points of GSL's Sobol or Halton sequence in [0, 1)^dim into x [n, dim] row-major
 * (GSL's sequences start at index 1: Sobol's first point is (1/2, ..., 1/2), Halton's is
 * (1/2, 1/3, 1/5, ...)).  With scramble, each coordinate j is shifted by u_j modulo 1
 * (Cranley–Patterson rotation), u drawn from nf_rng seeded with seed (u_j = the j-th
 * nf_rng_uniform): the points stay a low-discrepancy set, and different seeds give independent
 * randomisations.  Without scramble, seed is ignored. */
nf_status nf_qrng_points(nf_qrng_kind kind, int dim, long n, int scramble, uint64_t seed,
                         double *x);

/* Name "sobol" / "halton"; NULL for a bad kind. */
const char *nf_qrng_name(nf_qrng_kind kind);

/* A search range LO:HI, linear or logarithmic. */
typedef struct {
    double lo, hi;
    int log_scale; /* 1: points are spread evenly in log(value); needs 0 < lo */
} nf_range;

/* Parses "LO:HI" or "LO:HI:log" (also ":lin").  Needs finite LO < HI (LO > 0 for log). */
nf_status nf_range_parse(const char *text, nf_range *out);

/* u in [0, 1] to lo + u(hi − lo), or exp(log lo + u(log hi − log lo)) for a log range; the
 * result is clamped to [lo, hi] against rounding. */
double nf_range_map(const nf_range *r, double u);

/* ---- successive halving ---- */

/* Milestone epochs for successive halving up to max_epochs with reduction factor eta (> 1):
 * m_k = round(max_epochs / eta^(K−k)), k = 0..K, the largest K with max_epochs / eta^K >=
 * min_epochs (>= 1); repeated values are dropped, the last is max_epochs.  Writes at most cap
 * values to epochs and returns how many there are (the count can exceed cap: call with cap 0 to
 * size), or −1 for bad arguments. */
int nf_halving_milestones(int max_epochs, int min_epochs, double eta, int *epochs, int cap);

/* One rung: of the n configurations with alive[i] != 0, keeps the max(1, floor(n_alive / eta))
 * with the lowest loss[i] (NaN counts as +INFINITY; ties go to the lower index) and clears
 * alive[] for the rest.  *n_kept (may be NULL) gets the survivors.  loss of dead
 * configurations is not read. */
nf_status nf_halving_cut(const double *loss, int *alive, int n, double eta, int *n_kept);

/* Epochs run by n configurations under the milestones (each configuration trained up to the
 * milestone where it is cut, survivors to the last, training continued, not restarted, between
 * milestones), against n · epochs[n_milestones − 1] without halving. */
long nf_halving_epochs(int n, const int *epochs, int n_milestones, double eta);

#ifdef __cplusplus
}
#endif
#endif
