/* stats.c — paired tests, Holm, quantiles, performance profiles, quasirandom points, halving.
 * What comes from GSL and what is written here: see stats.h. */
#include "nnfit/stats.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_qrng.h>

#include "nnfit/rng.h"

/* ---- quantiles ---- */

double nf_quantile_sorted(const double *sorted, long n, double q)
{
    if (n <= 0 || isnan(q)) return NAN;
    if (q <= 0.0) return sorted[0];
    double pos = q * (double)(n - 1);
    long i = (long)floor(pos);
    if (i >= n - 1) return sorted[n - 1];
    const double f = pos - (double)i, lo = sorted[i], hi = sorted[i + 1];
    /* lo + f·(hi − lo) is NaN for two equal infinities (∞ − ∞) and for f = 0 next to one */
    if (f == 0.0 || lo == hi) return lo;
    if (isinf(lo) || isinf(hi)) {
        if (isinf(lo) && isinf(hi)) return f < 0.5 ? lo : hi; /* −∞ .. +∞: the nearer one */
        return isinf(hi) ? hi : lo;
    }
    return lo + f * (hi - lo);
}

static int cmp_double_nan_last(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : 1;
    if (isnan(y)) return -1;
    return (x > y) - (x < y);
}

void nf_sort_doubles(double *v, long n)
{
    if (v && n > 1) qsort(v, (size_t)n, sizeof *v, cmp_double_nan_last);
}

nf_status nf_quartiles_of(const double *v, long n, nf_quartiles *out)
{
    out->q1 = out->median = out->q3 = NAN;
    if (n < 0 || (n > 0 && !v)) return nf_fail(NF_EINVAL, "quartiles: no values");
    if (n == 0) return NF_OK;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return nf_fail(NF_ENOMEM, "quartiles: cannot allocate %ld values", n);
    long m = 0;
    for (long i = 0; i < n; i++)
        if (!isnan(v[i])) s[m++] = v[i];
    nf_sort_doubles(s, m);
    out->q1 = nf_quantile_sorted(s, m, 0.25);
    out->median = nf_quantile_sorted(s, m, 0.5);
    out->q3 = nf_quantile_sorted(s, m, 0.75);
    free(s);
    return NF_OK;
}

/* ---- McNemar ---- */

double nf_mcnemar_exact_p(long b, long c)
{
    if (b < 0 || c < 0 || b > INT_MAX - c) return NAN;
    const long n = b + c, k = b < c ? b : c;
    if (n == 0) return 1.0;
    const double p = 2.0 * gsl_cdf_binomial_P((unsigned)k, 0.5, (unsigned)n);
    return p < 1.0 ? p : 1.0;
}

nf_status nf_mcnemar(const int *x, const int *y, long n, nf_mcnemar_result *out)
{
    memset(out, 0, sizeof *out);
    if (n < 0 || (n > 0 && (!x || !y))) return nf_fail(NF_EINVAL, "mcnemar: no pairs");
    if (n > INT_MAX) return nf_fail(NF_EINVAL, "mcnemar: %ld pairs is more than supported", n);
    out->n = n;
    for (long i = 0; i < n; i++) {
        const int a = x[i] != 0, b = y[i] != 0;
        out->b += a && !b;
        out->c += !a && b;
    }
    out->p = nf_mcnemar_exact_p(out->b, out->c);
    return NF_OK;
}

/* ---- Wilcoxon signed-rank ---- */

typedef struct {
    double mag; /* |x − y| (+INFINITY when exactly one side is infinite) */
    int sign;   /* +1, −1, 0 */
} signed_diff;

static int cmp_mag(const void *a, const void *b)
{
    const double x = ((const signed_diff *)a)->mag, y = ((const signed_diff *)b)->mag;
    return (x > y) - (x < y);
}

/* Two-sided exact p of the observed doubled positive-rank sum t2 given doubled ranks r2[n]
 * summing to s2: P(T+ = s) by a walk over the ranks, each added with probability 1/2.  Only
 * sums up to the lower tail's end are needed (ranks are positive, so larger sums never come
 * back down), and by symmetry p = 2·P(T+ <= min(t2, s2 − t2)). */
static nf_status exact_signrank_p(const long *r2, long n, long s2, long t2, double *p)
{
    const long lower = t2 < s2 - t2 ? t2 : s2 - t2;
    double *prob = calloc((size_t)lower + 1, sizeof *prob);
    if (!prob) return nf_fail(NF_ENOMEM, "wilcoxon: cannot allocate %ld sums", lower + 1);
    prob[0] = 1.0;
    long hi = 0; /* largest reachable sum so far, capped at lower */
    for (long k = 0; k < n; k++) {
        const long r = r2[k];
        const long top = hi + r < lower ? hi + r : lower;
        for (long s = top; s > hi && s >= r; s--) prob[s] = 0.5 * prob[s - r]; /* new sums */
        for (long s = hi < top ? hi : top; s >= r; s--) prob[s] = 0.5 * (prob[s] + prob[s - r]);
        for (long s = (r - 1 < hi ? r - 1 : hi); s >= 0; s--) prob[s] *= 0.5;
        hi = top;
    }
    double tail = 0.0;
    for (long s = 0; s <= hi; s++) tail += prob[s];
    free(prob);
    *p = 2.0 * tail < 1.0 ? 2.0 * tail : 1.0;
    return NF_OK;
}

nf_status nf_wilcoxon(const double *x, const double *y, long n, nf_zero_method zeros,
                      nf_wilcoxon_result *out)
{
    memset(out, 0, sizeof *out);
    out->p = 1.0;
    out->exact = 1;
    if (n < 0 || (n > 0 && (!x || !y))) return nf_fail(NF_EINVAL, "wilcoxon: no pairs");
    if (zeros != NF_ZERO_WILCOX && zeros != NF_ZERO_PRATT)
        return nf_fail(NF_EINVAL, "wilcoxon: bad zero method %d", (int)zeros);
    if (n > LONG_MAX / 4 / (n > 0 ? n : 1))
        return nf_fail(NF_EINVAL, "wilcoxon: %ld pairs is more than supported", n);
    signed_diff *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    long *r2 = malloc((size_t)(n > 0 ? n : 1) * sizeof *r2);
    if (!d || !r2) {
        free(d);
        free(r2);
        return nf_fail(NF_ENOMEM, "wilcoxon: cannot allocate %ld pairs", n);
    }
    long m = 0;
    for (long i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i])) {
            free(d);
            free(r2);
            return nf_fail(NF_EINVAL, "wilcoxon: pair %ld is NaN (map a failure to +INFINITY)", i);
        }
        if (x[i] == y[i]) { /* also +∞ vs +∞ */
            out->n_zero++;
            if (zeros == NF_ZERO_WILCOX) continue;
            d[m++] = (signed_diff){0.0, 0};
            continue;
        }
        const double diff = x[i] - y[i]; /* ±∞ when one side is infinite, never NaN here */
        d[m++] = (signed_diff){fabs(diff), diff > 0 ? 1 : -1};
    }
    qsort(d, (size_t)m, sizeof *d, cmp_mag);
    /* mid-ranks: a tie group at positions i+1..j has rank (i+1+j)/2, doubled i+1+j */
    long nr = 0, s2 = 0, t2 = 0;
    double sum_r2 = 0.0;
    for (long i = 0; i < m;) {
        long j = i + 1;
        while (j < m && d[j].mag == d[i].mag) j++;
        const long doubled = i + 1 + j;
        for (long k = i; k < j; k++) {
            if (d[k].sign == 0) continue;
            r2[nr++] = doubled;
            s2 += doubled;
            sum_r2 += 0.25 * (double)doubled * (double)doubled;
            if (d[k].sign > 0) t2 += doubled;
        }
        i = j;
    }
    free(d);
    out->n = nr;
    out->t_plus = 0.5 * (double)t2;
    out->t_minus = 0.5 * (double)(s2 - t2);
    nf_status st = NF_OK;
    if (nr > 0) {
        const double mean = 0.25 * (double)s2, sd = sqrt(sum_r2 / 4.0);
        double dev = fabs(out->t_plus - mean) - 0.5;
        if (dev < 0.0) dev = 0.0;
        out->z = (out->t_plus >= mean ? dev : -dev) / sd;
        const long exact_work = 4L * NF_WILCOXON_EXACT_MAX * (NF_WILCOXON_EXACT_MAX + 1);
        out->exact = nr <= NF_WILCOXON_EXACT_MAX && s2 <= exact_work;
        if (out->exact) {
            st = exact_signrank_p(r2, nr, s2, t2, &out->p);
        } else {
            const double p = 2.0 * gsl_cdf_ugaussian_Q(fabs(out->z));
            out->p = p < 1.0 ? p : 1.0;
        }
    }
    free(r2);
    return st;
}

/* ---- Holm ---- */

typedef struct {
    double p;
    int index;
} p_index;

static int cmp_p_index(const void *a, const void *b)
{
    const p_index *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

nf_status nf_holm(const double *p, int m, double alpha, double *adjusted, int *reject)
{
    if (m < 0 || (m > 0 && !p)) return nf_fail(NF_EINVAL, "holm: no p-values");
    if (!(alpha >= 0.0 && alpha <= 1.0)) return nf_fail(NF_EINVAL, "holm: alpha must be in [0, 1], got %g", alpha);
    for (int i = 0; i < m; i++)
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) return nf_fail(NF_EINVAL, "holm: p[%d] = %g is not in [0, 1]", i, p[i]);
    if (m == 0) return NF_OK;
    p_index *s = malloc((size_t)m * sizeof *s);
    if (!s) return nf_fail(NF_ENOMEM, "holm: cannot allocate %d values", m);
    for (int i = 0; i < m; i++) s[i] = (p_index){p[i], i};
    qsort(s, (size_t)m, sizeof *s, cmp_p_index);
    double running = 0.0;
    for (int k = 0; k < m; k++) {
        double a = (double)(m - k) * s[k].p;
        if (a > 1.0) a = 1.0;
        if (a > running) running = a;
        if (adjusted) adjusted[s[k].index] = running;
        if (reject) reject[s[k].index] = running <= alpha;
    }
    free(s);
    return NF_OK;
}

/* ---- performance profiles ---- */

nf_status nf_perf_ratios(const double *time, int n_problems, int n_solvers, double *ratio)
{
    if (n_problems < 1 || n_solvers < 1 || !time || !ratio)
        return nf_fail(NF_EINVAL, "performance profile: needs at least one problem and one solver");
    for (int p = 0; p < n_problems; p++) {
        const double *t = time + (size_t)p * (size_t)n_solvers;
        double best = INFINITY;
        for (int s = 0; s < n_solvers; s++) {
            if (!(t[s] > 0.0))
                return nf_fail(NF_EINVAL, "performance profile: problem %d, solver %d has cost %g "
                                          "(must be > 0, +inf for a failure)", p, s, t[s]);
            if (t[s] < best) best = t[s];
        }
        for (int s = 0; s < n_solvers; s++)
            ratio[(size_t)p * (size_t)n_solvers + (size_t)s] = isinf(best) ? INFINITY : t[s] / best;
    }
    return NF_OK;
}

nf_status nf_perf_profile(const double *time, int n_problems, int n_solvers, const double *tau,
                          int n_tau, double *rho)
{
    if (n_tau < 0 || (n_tau > 0 && (!tau || !rho)))
        return nf_fail(NF_EINVAL, "performance profile: no tau values");
    if (n_problems < 1 || n_solvers < 1 || (size_t)n_problems > SIZE_MAX / sizeof(double) / (size_t)n_solvers)
        return nf_fail(NF_EINVAL, "performance profile: needs at least one problem and one solver");
    for (int k = 0; k < n_tau; k++)
        if (isnan(tau[k])) return nf_fail(NF_EINVAL, "performance profile: tau[%d] is NaN", k);
    double *ratio = malloc((size_t)n_problems * (size_t)n_solvers * sizeof *ratio);
    if (!ratio) return nf_fail(NF_ENOMEM, "performance profile: cannot allocate ratios");
    nf_status st = nf_perf_ratios(time, n_problems, n_solvers, ratio);
    for (int s = 0; !st && s < n_solvers; s++)
        for (int k = 0; k < n_tau; k++) {
            int count = 0;
            for (int p = 0; p < n_problems; p++) {
                const double r = ratio[(size_t)p * (size_t)n_solvers + (size_t)s];
                count += isfinite(r) && r <= tau[k];
            }
            rho[(size_t)s * (size_t)n_tau + (size_t)k] = (double)count / (double)n_problems;
        }
    free(ratio);
    return st;
}

/* ---- quasirandom points ---- */

const char *nf_qrng_name(nf_qrng_kind kind)
{
    switch (kind) {
    case NF_QRNG_SOBOL: return "sobol";
    case NF_QRNG_HALTON: return "halton";
    }
    return NULL;
}

nf_status nf_qrng_points(nf_qrng_kind kind, int dim, long n, int scramble, uint64_t seed, double *x)
{
    const gsl_qrng_type *type;
    int max_dim;
    switch (kind) {
    case NF_QRNG_SOBOL:
        type = gsl_qrng_sobol;
        max_dim = NF_QRNG_SOBOL_MAX_DIM;
        break;
    case NF_QRNG_HALTON:
        type = gsl_qrng_halton;
        max_dim = NF_QRNG_HALTON_MAX_DIM;
        break;
    default: return nf_fail(NF_EINVAL, "quasirandom: unknown sequence %d", (int)kind);
    }
    /* GSL gives garbage (Sobol) or an error-handler call beyond these, so check first */
    if (dim < 1 || dim > max_dim)
        return nf_fail(NF_EINVAL, "quasirandom: the %s sequence has 1 to %d dimensions, not %d",
                       nf_qrng_name(kind), max_dim, dim);
    if (n < 0 || n > NF_QRNG_MAX_POINTS)
        return nf_fail(NF_EINVAL, "quasirandom: %ld points (at most %ld)", n, NF_QRNG_MAX_POINTS);
    if (n == 0) return NF_OK;
    if (!x) return nf_fail(NF_EINVAL, "quasirandom: no output buffer");
    double *shift = NULL;
    if (scramble) {
        shift = malloc((size_t)dim * sizeof *shift);
        if (!shift) return nf_fail(NF_ENOMEM, "quasirandom: cannot allocate");
        nf_rng rng;
        nf_rng_seed(&rng, seed);
        for (int j = 0; j < dim; j++) shift[j] = nf_rng_uniform(&rng);
    }
    gsl_qrng *q = gsl_qrng_alloc(type, (unsigned)dim);
    if (!q) {
        free(shift);
        return nf_fail(NF_ENOMEM, "quasirandom: cannot allocate the %s generator", nf_qrng_name(kind));
    }
    nf_status st = NF_OK;
    for (long i = 0; i < n; i++) {
        double *row = x + (size_t)i * (size_t)dim;
        if (gsl_qrng_get(q, row) != 0) {
            st = nf_fail(NF_ENUMERIC, "quasirandom: the %s generator failed at point %ld", nf_qrng_name(kind), i);
            break;
        }
        for (int j = 0; shift && j < dim; j++) {
            double v = row[j] + shift[j]; /* < 2; v − 1 is exact for v in [1, 2) */
            row[j] = v >= 1.0 ? v - 1.0 : v;
        }
    }
    gsl_qrng_free(q);
    free(shift);
    return st;
}

static int parse_finite(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return end != buf && *end == '\0' && errno != ERANGE && isfinite(*out);
}

nf_status nf_range_parse(const char *text, nf_range *out)
{
    memset(out, 0, sizeof *out);
    if (!text) return nf_fail(NF_EINVAL, "range: missing (expected LO:HI or LO:HI:log)");
    const char *c1 = strchr(text, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1) return nf_fail(NF_EINVAL, "range '%s': expected LO:HI or LO:HI:log", text);
    const char *hi_end = c2 ? c2 : text + strlen(text);
    if (!parse_finite(text, (size_t)(c1 - text), &out->lo))
        return nf_fail(NF_EINVAL, "range '%s': LO is not a finite number", text);
    if (!parse_finite(c1 + 1, (size_t)(hi_end - c1 - 1), &out->hi))
        return nf_fail(NF_EINVAL, "range '%s': HI is not a finite number", text);
    if (c2) {
        if (!strcmp(c2 + 1, "log")) out->log_scale = 1;
        else if (strcmp(c2 + 1, "lin"))
            return nf_fail(NF_EINVAL, "range '%s': the scale after the second ':' must be log or lin", text);
    }
    if (!(out->lo < out->hi)) return nf_fail(NF_EINVAL, "range '%s': needs LO < HI", text);
    if (out->log_scale && !(out->lo > 0.0))
        return nf_fail(NF_EINVAL, "range '%s': a log range needs LO > 0", text);
    return NF_OK;
}

double nf_range_map(const nf_range *r, double u)
{
    if (!(u > 0.0)) return r->lo; /* the ends exactly (exp(log lo) need not be lo) */
    if (u >= 1.0) return r->hi;
    double v = r->log_scale ? exp(log(r->lo) + u * (log(r->hi) - log(r->lo))) : r->lo + u * (r->hi - r->lo);
    if (v < r->lo) v = r->lo;
    if (v > r->hi) v = r->hi;
    return v;
}

/* ---- successive halving ---- */

int nf_halving_milestones(int max_epochs, int min_epochs, double eta, int *epochs, int cap)
{
    if (max_epochs < 1 || min_epochs < 1 || min_epochs > max_epochs || !(eta > 1.0) || isinf(eta) ||
        cap < 0 || (cap > 0 && !epochs))
        return -1;
    int K = 0;
    /* 1e-9 relative slack: 81 / 3^4 must count as reaching min_epochs 1 */
    while (K < 62 && (double)max_epochs / pow(eta, K + 1) >= (double)min_epochs * (1.0 - 1e-9)) K++;
    int count = 0, prev = 0;
    for (int k = 0; k <= K; k++) {
        int m = k == K ? max_epochs : (int)lround((double)max_epochs / pow(eta, K - k));
        if (m < 1) m = 1;
        if (m <= prev) continue;
        if (count < cap) epochs[count] = m;
        count++;
        prev = m;
    }
    return count;
}

typedef struct {
    double loss;
    int index;
} loss_index;

static int cmp_loss_index(const void *a, const void *b)
{
    const loss_index *x = a, *y = b;
    if (x->loss != y->loss) return x->loss < y->loss ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

nf_status nf_halving_cut(const double *loss, int *alive, int n, double eta, int *n_kept)
{
    if (n_kept) *n_kept = 0;
    if (n < 0 || (n > 0 && (!loss || !alive))) return nf_fail(NF_EINVAL, "halving: no configurations");
    if (!(eta > 1.0) || isinf(eta)) return nf_fail(NF_EINVAL, "halving: eta must be > 1, got %g", eta);
    loss_index *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    if (!s) return nf_fail(NF_ENOMEM, "halving: cannot allocate");
    int n_alive = 0;
    for (int i = 0; i < n; i++)
        if (alive[i]) s[n_alive++] = (loss_index){isnan(loss[i]) ? INFINITY : loss[i], i};
    qsort(s, (size_t)n_alive, sizeof *s, cmp_loss_index);
    int keep = (int)floor((double)n_alive / eta);
    if (keep < 1) keep = 1;
    if (keep > n_alive) keep = n_alive;
    for (int k = keep; k < n_alive; k++) alive[s[k].index] = 0;
    free(s);
    if (n_kept) *n_kept = keep;
    return NF_OK;
}

long nf_halving_epochs(int n, const int *epochs, int n_milestones, double eta)
{
    long total = 0, alive = n;
    int prev = 0;
    for (int k = 0; k < n_milestones; k++) {
        total += alive * (long)(epochs[k] - prev);
        prev = epochs[k];
        if (k + 1 < n_milestones) {
            long keep = (long)floor((double)alive / eta);
            alive = keep < 1 && alive > 0 ? 1 : keep;
        }
    }
    return total;
}
