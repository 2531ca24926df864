/* diag_units.c — per-unit health of hidden layers: dead, always-on, duplicate units. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/diag.h"

#include "simd.h"

enum { DIAG_ROWS = 64, DIAG_REG = 32 };

void nf_diag_defaults(nf_diag_options *opts) { opts->dup_angle_deg = 1.0; }

/* Angle in degrees between [w_a, b_a] and [w_b, b_b] of layer L (inputs `in`). */
static double unit_angle(const nf_dense *L, int a, int b)
{
    const int in = L->in;
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (int k = 0; k <= in; k++) {
        double x = k < in ? (double)L->W[a * in + k] : (double)L->b[a];
        double y = k < in ? (double)L->W[b * in + k] : (double)L->b[b];
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if (na == 0.0 || nb == 0.0) return 180.0;
    double c = dot / sqrt(na * nb);
    if (c > 1.0) c = 1.0;
    if (c < -1.0) c = -1.0;
    return acos(c) * (180.0 / 3.14159265358979323846);
}

/* Angle in degrees between the lines w_a·x = 0 and w_b·x = 0 (0..90). */
static double kink_angle(const nf_dense *L, int a, int b)
{
    const int in = L->in;
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (int k = 0; k < in; k++) {
        double x = L->W[a * in + k], y = L->W[b * in + k];
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if (na == 0.0 || nb == 0.0) return 90.0;
    double c = fabs(dot) / sqrt(na * nb);
    if (c > 1.0) c = 1.0;
    return acos(c) * (180.0 / 3.14159265358979323846);
}

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));

/* The scalar scan of a block: how many z[i] > 0, and *lo, *hi folded with
 * lo = z < lo ? z : lo and hi = z > hi ? z : hi in row order (NaN never taken). */
static long scan_rows(const double *z, int nb, double *lo_, double *hi_)
{
    long on = 0;
    double lo = *lo_, hi = *hi_;
    for (int i = 0; i < nb; i++) {
        on += z[i] > 0.0;
        lo = z[i] < lo ? z[i] : lo;
        hi = z[i] > hi ? z[i] : hi;
    }
    *lo_ = lo;
    *hi_ = hi;
    return on;
}

/* lanes of a where mask is set, else of b */
#define PICK(mask, a, b) ((v4d)(((v4l)(a) & (mask)) | ((v4l)(b) & ~(mask))))

/* scan_rows with the rows in four lanes: the same count; the same extremes, because the
 * fold keeps the first value that compares equal to the extreme and only +0 and −0 compare
 * equal with different bits, so a block whose new extreme is a zero is scanned again in
 * row order. */
static inline __attribute__((always_inline)) long scan_block(const double *z, int nb, double *lo, double *hi)
{
    const int n4 = nb / 4 * 4;
    const v4d zero = {0.0, 0.0, 0.0, 0.0};
    v4d l = {INFINITY, INFINITY, INFINITY, INFINITY}, h = -l;
    v4l on = {0, 0, 0, 0};
    for (int i = 0; i < n4; i += 4) {
        v4d v;
        memcpy(&v, z + i, sizeof v);
        l = PICK(v < l, v, l);
        h = PICK(v > h, v, h);
        on -= v > zero;
    }
    double bl = l[0], bh = h[0];
    for (int k = 1; k < 4; k++) {
        bl = l[k] < bl ? l[k] : bl;
        bh = h[k] > bh ? h[k] : bh;
    }
    const long count = on[0] + on[1] + on[2] + on[3] + scan_rows(z + n4, nb - n4, &bl, &bh);
    if ((bl < *lo && bl == 0.0) || (bh > *hi && bh == 0.0)) return scan_rows(z, nb, lo, hi);
    if (bl < *lo) *lo = bl;
    if (bh > *hi) *hi = bh;
    return count;
}

/* The scan of nf_diag_units, compiled for AVX-512, AVX2 and baseline (simd.h); no FMA
 * contraction, so the same bits.  classify: a unit whose scanned rows already hold an active
 * and an inactive one (0 < active < rows scanned) is scanned no further, and the scan ends
 * when every unit is such.  Dead (active = 0) and always on (active = n) keep their meaning:
 * a unit not stopped is scanned to the end, and a stopped one is neither; the ranges and
 * active fractions are then of the rows scanned, and only the counts are used
 * (nf_diag_classify). */
NF_CLONES
static nf_status diag_scan(nf_model *m, const float *X, int n, const nf_diag_options *opts, int classify,
                           nf_unit_diag **out, int *n_units)
{
    *out = NULL;
    *n_units = 0;
    if (n < 1) return nf_fail(NF_EINVAL, "diag: no samples");
    nf_diag_options def;
    if (!opts) {
        nf_diag_defaults(&def);
        opts = &def;
    }
    int total = 0;
    const int n_layers = nf_model_n_layers(m);
    for (int l = 0; l + 1 < n_layers; l++) total += nf_model_size(m, l + 1);
    if (total == 0) return NF_OK;
    nf_unit_diag *u = calloc((size_t)total, sizeof *u);
    long *active = calloc((size_t)total, sizeof *active);
    if (!u || !active) {
        free(u);
        free(active);
        return nf_fail(NF_ENOMEM, "diag: cannot allocate %d unit records", total);
    }
    int mixed = 0; /* classify: units seen both active and inactive */
    nf_status st = NF_OK;
    /* a one-hidden-layer net's units see X itself: no forward pass, all rows in one chunk;
     * deeper nets run the float forward pass in chunks of the model's batch capacity and
     * read each layer's input from it */
    const int deep = n_layers > 2;
    if (deep && !nf_model_batch_cap(m)) st = nf_model_reserve(m, n < 1024 ? n : 1024);
    const int cap = deep ? nf_model_batch_cap(m) : n;
    for (int i = 0; i < total; i++) {
        u[i].z_min = INFINITY;
        u[i].z_max = -INFINITY;
    }
    int wmax = 0, imax = 0; /* the largest hidden layer's weights and inputs */
    for (int l = 0; l + 1 < n_layers; l++) {
        const nf_dense *L = nf_model_layer(m, l);
        if (L->in * L->out > wmax) wmax = L->in * L->out;
        if (L->in > imax) imax = L->in;
    }
    /* double copies of one layer's W, and of a block of DIAG_ROWS inputs transposed */
    double *wd = st ? NULL : malloc(((size_t)wmax + (size_t)imax * DIAG_ROWS + DIAG_ROWS) * sizeof *wd);
    if (!st && !wd) st = nf_fail(NF_ENOMEM, "diag: cannot allocate %d weights", wmax);
    double *xt = wd ? wd + wmax : NULL, *z = xt ? xt + (size_t)imax * DIAG_ROWS : NULL;
    const size_t nin = (size_t)nf_model_n_in(m);
    for (int r = 0; !st && r < n && mixed < total; r += cap) {
        int b = n - r < cap ? n - r : cap;
        const float *xb = X + (size_t)r * nin;
        if (deep && (st = nf_model_forward(m, xb, b))) break;
        /* recompute z per layer from the layer input (A may overwrite Z in place), in double:
         * z[j] = b[j] + W[j,0]·x[0] + W[j,1]·x[1] + … in that order, DIAG_ROWS rows of one
         * unit at a time (the loops over rows vectorise; the order per element is the same) */
        int base = 0;
        for (int l = 0; l + 1 < n_layers; l++) {
            const nf_dense *L = nf_model_layer(m, l);
            const float *in = l ? nf_model_layer_a(m, l - 1) : xb;
            const int ni = L->in, no = L->out;
            for (int i = 0; i < ni * no; i++) wd[i] = (double)L->W[i];
            for (int s0 = 0; s0 < b && mixed < total; s0 += DIAG_ROWS) {
                const int nb = b - s0 < DIAG_ROWS ? b - s0 : DIAG_ROWS;
                for (int s = 0; s < nb; s++)
                    for (int k = 0; k < ni; k++)
                        xt[(size_t)k * DIAG_ROWS + (size_t)s] = (double)in[(size_t)(s0 + s) * (size_t)ni + (size_t)k];
                for (int j = 0; j < no; j++) {
                    /* n0 rows scanned before this block: a unit is skipped only once it
                     * is mixed, so every unit not skipped has seen all of them */
                    const long a0 = active[base + j], n0 = (long)r + s0;
                    if (classify && a0 > 0 && a0 < n0) continue;
                    const double bj = (double)L->b[j], *wj = wd + (size_t)j * (size_t)ni;
                    int s = 0;
                    for (; s + DIAG_REG <= nb; s += DIAG_REG) { /* DIAG_REG rows held in registers */
                        double acc[DIAG_REG];
                        for (int t = 0; t < DIAG_REG; t++) acc[t] = bj;
                        for (int k = 0; k < ni; k++) {
                            const double w = wj[k], *x = xt + (size_t)k * DIAG_ROWS + s;
                            for (int t = 0; t < DIAG_REG; t++) acc[t] += w * x[t];
                        }
                        memcpy(z + s, acc, sizeof acc);
                    }
                    for (; s < nb; s++) {
                        double a = bj;
                        for (int k = 0; k < ni; k++) a += wj[k] * xt[(size_t)k * DIAG_ROWS + (size_t)s];
                        z[s] = a;
                    }
                    nf_unit_diag *d = &u[base + j];
                    const long a = a0 + scan_block(z, nb, &d->z_min, &d->z_max);
                    active[base + j] = a;
                    mixed += classify && a > 0 && a < n0 + nb;
                }
            }
            base += L->out;
        }
    }
    free(wd);
    if (st) {
        free(u);
        free(active);
        return st;
    }
    int base = 0;
    for (int l = 0; l + 1 < n_layers; l++) {
        const nf_dense *L = nf_model_layer(m, l), *next = nf_model_layer(m, l + 1);
        for (int j = 0; j < L->out; j++) {
            nf_unit_diag *d = &u[base + j];
            d->layer = l;
            d->unit = j;
            d->active_frac = (double)active[base + j] / (double)n;
            d->dead = active[base + j] == 0;
            d->always_on = active[base + j] == n;
            d->duplicate_of = -1;
            d->parallel_of = -1;
            d->kink_angle_deg = 90.0;
            double s = 0.0;
            for (int o = 0; o < next->out; o++) {
                double w = next->W[o * next->in + j];
                s += w * w;
            }
            d->out_norm = sqrt(s);
        }
        for (int j = 0; j < L->out; j++) {
            nf_unit_diag *d = &u[base + j];
            if (d->dead) continue;
            for (int k = 0; k < L->out; k++) {
                if (k == j || u[base + k].dead) continue;
                const double kink = kink_angle(L, j, k);
                if (kink < d->kink_angle_deg) d->kink_angle_deg = kink;
                if (k < j && d->duplicate_of < 0 && unit_angle(L, j, k) < opts->dup_angle_deg) d->duplicate_of = k;
                if (k < j && d->parallel_of < 0 && kink < opts->dup_angle_deg) d->parallel_of = k;
            }
        }
        base += L->out;
    }
    free(active);
    *out = u;
    *n_units = total;
    return NF_OK;
}

nf_status nf_diag_units(nf_model *m, const float *X, int n, const nf_diag_options *opts,
                        nf_unit_diag **out, int *n_units)
{
    return diag_scan(m, X, n, opts, 0, out, n_units);
}

nf_status nf_diag_classify(nf_model *m, const float *X, int n, const nf_diag_options *opts,
                           nf_diag_counts *counts)
{
    nf_unit_diag *u = NULL;
    int nu = 0;
    memset(counts, 0, sizeof *counts);
    const nf_status st = diag_scan(m, X, n, opts, 1, &u, &nu);
    if (!st) *counts = nf_diag_count(u, nu, -1);
    free(u);
    return st;
}

nf_diag_counts nf_diag_count(const nf_unit_diag *units, int n_units, int layer)
{
    nf_diag_counts c = {0, 0, 0, 0, 0};
    for (int i = 0; i < n_units; i++) {
        if (layer >= 0 && units[i].layer != layer) continue;
        c.units++;
        c.dead += units[i].dead;
        c.always_on += units[i].always_on;
        c.duplicate += units[i].duplicate_of >= 0;
        c.parallel += units[i].parallel_of >= 0;
    }
    return c;
}

int nf_diag_kink_line(const nf_model *m, int unit, double *w0, double *w1, double *b)
{
    const nf_dense *L = nf_model_layer(m, 0);
    if (L->in != 2 || unit < 0 || unit >= L->out) return 0;
    *w0 = L->W[unit * 2];
    *w1 = L->W[unit * 2 + 1];
    *b = L->b[unit];
    return *w0 != 0.0 || *w1 != 0.0;
}
