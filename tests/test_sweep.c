/* test_sweep.c — neuron diagnostics, sweep statistics, determinism and reproducibility. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "testutil.h"

/* ---- statistics ---- */

/* References: the Wilson formula evaluated independently in Python (double precision). */
START_TEST(wilson_numbers)
{
    static const struct { long k, n; double lo, hi; } ref[] = {
        {15, 20, 0.5312991224, 0.8881382986},  {0, 10, 0.0, 0.2775327999},
        {10, 10, 0.7224672001, 1.0},           {1, 200, 0.0008831687, 0.0277737044},
        {57, 200, 0.2269500300, 0.3511534603},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        double lo, hi;
        nf_wilson(ref[i].k, ref[i].n, 1.959963984540054, &lo, &hi);
        ck_assert_close(lo, ref[i].lo, 1e-9);
        ck_assert_close(hi, ref[i].hi, 1e-9);
    }
    double lo, hi;
    nf_wilson(0, 0, 1.96, &lo, &hi);
    ck_assert(lo == 0.0 && hi == 1.0);
}
END_TEST

/* nf_sweep_summarize over hand-made trials: the rate interval is the 95% Wilson interval
 * (sweep.h), computed here independently (z = Φ⁻¹(0.975), Python:
 *   from statistics import NormalDist; z = NormalDist().inv_cdf(0.975)
 *   p = k/n; d = 1 + z*z/n; c = (p + z*z/(2*n))/d; h = z/d*sqrt(p*(1-p)/n + z*z/(4*n*n))
 * gives c ∓ h = 0.531299122381, 0.888138298592 for 15/20 and 0.158219855251, 0.749541635472
 * for 3/7); quantiles as numpy's linear rule (pos = q·(n−1)) over the finished trials, a NaN
 * final loss sorting last; unfinished trials left out. */
START_TEST(summary_statistics_match_references)
{
    enum { R = 20 };
    nf_trial t[2 * R];
    memset(t, 0, sizeof t);
    for (int r = 0; r < R; r++) { /* setting 0: losses 0.01 .. 0.20, trial 17 NaN */
        nf_trial *x = &t[r];
        x->done = 1;
        x->final_loss = r == 17 ? NAN : 0.01 * (r + 1);
        x->success = r < 15;
        x->target_epoch = r < 15 ? r + 1 : 0;
        x->dead = r % 3;
        x->seconds = 0.5;
    }
    const double l1[7] = {0.5, 0.02, 0.3, 0.04, 0.9, 0.01, 0.7};
    const int e1[7] = {0, 5, 0, 2, 0, 9, 0};
    for (int r = 0; r < 7; r++) { /* setting 1: 7 of 20 finished, 3 successes */
        nf_trial *x = &t[R + r];
        x->done = 1;
        x->final_loss = l1[r];
        x->success = e1[r] > 0;
        x->target_epoch = e1[r];
    }
    nf_sweep_summary sm[2];
    ck_assert_int_eq(nf_sweep_summarize(t, 2, R, sm), NF_OK);
    ck_assert(sm[0].n == 20 && sm[0].successes == 15);
    ck_assert_close(sm[0].rate, 0.75, 1e-15);
    ck_assert_close(sm[0].rate_lo, 0.531299122381, 1e-11);
    ck_assert_close(sm[0].rate_hi, 0.888138298592, 1e-11);
    ck_assert_close(sm[0].p10, 0.029, 1e-12);
    ck_assert_close(sm[0].median, 0.105, 1e-12);
    ck_assert_close(sm[0].p90, 0.191, 1e-12);
    ck_assert_close(sm[0].median_epochs, 8.0, 0.0);
    ck_assert_close(sm[0].mean_dead, 19.0 / 20.0, 1e-15);
    ck_assert_close(sm[0].seconds, 10.0, 1e-12);
    ck_assert(sm[0].best == 0 && sm[0].worst == 17);
    ck_assert(sm[1].n == 7 && sm[1].successes == 3);
    ck_assert_close(sm[1].rate_lo, 0.158219855251, 1e-11);
    ck_assert_close(sm[1].rate_hi, 0.749541635472, 1e-11);
    ck_assert_close(sm[1].p10, 0.016, 1e-12);
    ck_assert_close(sm[1].median, 0.3, 1e-12);
    ck_assert_close(sm[1].p90, 0.78, 1e-12);
    ck_assert_close(sm[1].median_epochs, 5.0, 0.0);
    ck_assert(sm[1].best == R + 5 && sm[1].worst == R + 4);
}
END_TEST

/* Reference: numpy.quantile([5,1,3,2,4,10,7], [0.1, 0.5, 0.9]) = [1.6, 4, 8.2]. */
START_TEST(quantiles_match_numpy)
{
    const double s[] = {1, 2, 3, 4, 5, 7, 10};
    ck_assert_close(nf_quantile_sorted(s, 7, 0.1), 1.6, 1e-12);
    ck_assert_close(nf_quantile_sorted(s, 7, 0.5), 4.0, 1e-12);
    ck_assert_close(nf_quantile_sorted(s, 7, 0.9), 8.2, 1e-12);
    ck_assert(isnan(nf_quantile_sorted(s, 0, 0.5)));
}
END_TEST

/* ---- diagnostics on hand-built models ---- */

/* 2→5→1 relu net on a 21×21 grid over [-1,1]²:
 *   u0 z = x            (active where x > 0: 10 of 21 columns)
 *   u1 z = 2x + 0.01y   (same kink as u0 within 0.3°: duplicate of 0)
 *   u2 z = y - 5        (never > 0: dead)
 *   u3 z = y + 5        (always > 0: always-on)
 *   u4 z = x + 0.05y    (2.9° from u0: not a duplicate at 1°) */
static nf_model *hand_model(nf_mat *X)
{
    int sizes[] = {2, 5, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
    const float W1[] = {1, 0, 2, 0.01f, 0, 1, 0, 1, 1, 0.05f}, b1[] = {0, 0, -5, 5, 0};
    const float W2[] = {0.5f, -2, 3, 0, 1};
    memcpy(nf_model_layer(m, 0)->W, W1, sizeof W1);
    memcpy(nf_model_layer(m, 0)->b, b1, sizeof b1);
    memcpy(nf_model_layer(m, 1)->W, W2, sizeof W2);
    ck_assert_int_eq(nf_mat_alloc(X, 21 * 21, 2), NF_OK);
    for (int i = 0; i < 21; i++)
        for (int j = 0; j < 21; j++) {
            X->data[(i * 21 + j) * 2] = (float)(-1.0 + 0.1 * i);
            X->data[(i * 21 + j) * 2 + 1] = (float)(-1.0 + 0.1 * j);
        }
    return m;
}

/* The rules at their edges, on the same grid: a unit active on all samples but one corner is
 * not always-on; a unit with u0's w but another offset has a parallel kink, not a duplicate
 * one (duplicates compare [w, b], diag.h). */
START_TEST(diag_edges_and_bias)
{
    nf_mat X;
    nf_model *m = hand_model(&X);
    const float W1[] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1}, b1[] = {0, -0.5f, 2, 5, 5};
    memcpy(m->layers[0].W, W1, sizeof W1);
    memcpy(m->layers[0].b, b1, sizeof b1);
    nf_unit_diag *u = NULL;
    int n = 0;
    ck_assert_int_eq(nf_diag_units(m, X.data, X.rows, NULL, &u, &n), NF_OK);
    /* u1 z = x − 0.5: same direction as u0, kink moved by 0.5 */
    ck_assert_int_eq(u[1].duplicate_of, -1);
    ck_assert_int_eq(u[1].parallel_of, 0);
    ck_assert_close(u[1].kink_angle_deg, 0.0, 1e-6); /* the same w: parallel kinks, 0 degrees */
    /* u2 z = x + y + 2: 0 at (−1, −1) only, so active on 440 of 441 */
    ck_assert_close(u[2].active_frac, 440.0 / 441.0, 1e-12);
    ck_assert(!u[2].always_on && !u[2].dead);
    /* u3, u4 z = y + 5: always on, and u4 an exact duplicate of u3 */
    ck_assert(u[3].always_on && u[4].always_on);
    ck_assert_int_eq(u[4].duplicate_of, 3);
    nf_diag_counts c = nf_diag_count(u, n, -1);
    ck_assert_int_eq(c.always_on, 2);
    ck_assert_int_eq(c.duplicate, 1);
    free(u);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

/* z_min and z_max are the first extreme in row order, as a scalar scan finds them: with
 * z = −0 + 1·x the zeros of x give z = −0 (x = −0) and +0 (x = +0), which compare equal; the
 * one met first must win whichever of four lanes it falls in.  NaN rows are never extremes
 * and never active. */
START_TEST(diag_extremes_in_row_order)
{
    static const float rows[3][9] = {
        {1, -0.0f, 1, 1, +0.0f, 1, 1, 1, 2},           /* min: the −0 of row 1, not the +0 of row 4 */
        {-1, +0.0f, -1, -1, -0.0f, -1, -1, -1, -2},    /* max: the +0 of row 1 */
        {NAN, 2, -3, NAN, 5, 0.5f, NAN, -0.25f, NAN}, /* NaNs in lanes 0 and 3 and the tail */
    };
    static const double lo[3] = {-0.0, -2, -3}, hi[3] = {2, +0.0, 5};
    static const int active[3] = {7, 0, 3};
    int sizes[] = {1, 1, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    for (int k = 0; k < 3; k++) {
        nf_model *m = NULL;
        ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
        m->layers[0].W[0] = 1.0f;
        m->layers[0].b[0] = -0.0f;
        nf_unit_diag *u = NULL;
        int n = 0;
        ck_assert_int_eq(nf_diag_units(m, rows[k], 9, NULL, &u, &n), NF_OK);
        ck_assert_int_eq(n, 1);
        ck_assert_msg(u[0].z_min == lo[k] && signbit(u[0].z_min) == signbit(lo[k]), "case %d: z_min %g", k,
                      u[0].z_min);
        ck_assert_msg(u[0].z_max == hi[k] && signbit(u[0].z_max) == signbit(hi[k]), "case %d: z_max %g", k,
                      u[0].z_max);
        ck_assert_double_eq_tol(u[0].active_frac, active[k] / 9.0, 1e-15);
        free(u);
        nf_model_free(m);
    }
}
END_TEST

START_TEST(diag_hand_built)
{
    nf_mat X;
    nf_model *m = hand_model(&X);
    nf_unit_diag *u = NULL;
    int n = 0;
    ck_assert_int_eq(nf_diag_units(m, X.data, X.rows, NULL, &u, &n), NF_OK);
    ck_assert_int_eq(n, 5);
    /* u0: x > 0 on columns i = 11..20 → 10·21 of 441 samples */
    ck_assert_close(u[0].active_frac, 210.0 / 441.0, 1e-12);
    ck_assert(!u[0].dead && !u[0].always_on && u[0].duplicate_of == -1);
    ck_assert_int_eq(u[1].duplicate_of, 0);
    ck_assert_close(u[1].kink_angle_deg, atan(0.005) * 180 / M_PI, 1e-3);
    ck_assert(u[2].dead && u[2].active_frac == 0.0 && u[2].duplicate_of == -1);
    ck_assert_close(u[2].z_max, -4.0, 1e-6);
    ck_assert(u[3].always_on && u[3].active_frac == 1.0);
    ck_assert_int_eq(u[4].duplicate_of, -1);
    ck_assert_close(u[4].kink_angle_deg, (atan(0.05) - atan(0.005)) * 180 / M_PI, 1e-3); /* nearest: u1 */
    /* u3's parallel twin u2 is dead; its nearest live kink is u4's (w = (1, 0.05) vs (0, 1)) */
    ck_assert_close(u[3].kink_angle_deg, 90.0 - atan(0.05) * 180 / M_PI, 1e-5); /* 0.05f is a float */
    ck_assert_close(u[1].out_norm, 2.0, 1e-12);
    ck_assert_close(u[2].out_norm, 3.0, 1e-12);
    nf_diag_counts c = nf_diag_count(u, n, 0);
    ck_assert_int_eq(c.units, 5);
    ck_assert_int_eq(c.dead, 1);
    ck_assert_int_eq(c.always_on, 1);
    ck_assert_int_eq(c.duplicate, 1);
    /* parallel kinks (w only): u1 ∥ u0 (0.29°); u3 ∥ u2 (same w); u4 is 2.9° off */
    ck_assert_int_eq(u[1].parallel_of, 0);
    ck_assert_int_eq(u[3].parallel_of, -1); /* u2 is dead, so it does not count */
    ck_assert_int_eq(u[4].parallel_of, -1);
    ck_assert_int_eq(c.parallel, 1);
    free(u);
    /* a looser rule (5°) also merges u4 into u0 */
    nf_diag_options o = {5.0};
    ck_assert_int_eq(nf_diag_units(m, X.data, X.rows, &o, &u, &n), NF_OK);
    ck_assert_int_eq(u[4].duplicate_of, 0);
    ck_assert_int_eq(nf_diag_count(u, n, -1).duplicate, 2);
    free(u);
    double w0, w1, b;
    ck_assert(nf_diag_kink_line(m, 2, &w0, &w1, &b) && w0 == 0.0 && w1 == 1.0 && b == -5.0);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

/* The "valley": two units with anti-parallel kinks (w and −w) are parallel, not duplicates. */
START_TEST(diag_antiparallel_valley)
{
    int sizes[] = {2, 2, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
    const float W1[] = {1, 0.002f, -1, 0}, b1[] = {0.3f, 0.2f};
    memcpy(nf_model_layer(m, 0)->W, W1, sizeof W1);
    memcpy(nf_model_layer(m, 0)->b, b1, sizeof b1);
    const float X[] = {-1, -1, -0.5f, 0.5f, 0, 0, 0.5f, -0.5f, 1, 1};
    nf_unit_diag *u;
    int n;
    ck_assert_int_eq(nf_diag_units(m, X, 5, NULL, &u, &n), NF_OK);
    ck_assert_int_eq(u[1].parallel_of, 0);
    ck_assert_int_eq(u[1].duplicate_of, -1);
    ck_assert_close(u[1].kink_angle_deg, atan(0.002) * 180 / M_PI, 1e-3); /* w and -w: the same line */
    ck_assert_close(u[0].active_frac, 0.6, 1e-12); /* z = x + 0.002y + 0.3 > 0 for x >= 0 */
    ck_assert_close(u[1].active_frac, 0.6, 1e-12); /* z = 0.2 − x > 0 for x <= 0 */
    nf_diag_counts c = nf_diag_count(u, n, -1);
    ck_assert(c.parallel == 1 && c.duplicate == 0 && c.dead == 0 && c.always_on == 0);
    free(u);
    nf_model_free(m);
}
END_TEST

/* Every hidden layer of a deep net, on a row count that is not a multiple of the row block,
 * against z recomputed here row by row from the float forward pass: z_min, z_max and the
 * active fraction exactly. */
START_TEST(diag_deep_matches_direct)
{
    int sizes[] = {5, 7, 6, 3, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, 4, sizes, &relu, &lin), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 17);
    float *p = nf_model_params(m);
    for (size_t i = 0; i < nf_model_n_params(m); i++) p[i] = (float)nf_rng_normal(&rng);
    const int n = 203;
    float *X = malloc((size_t)n * 5 * sizeof *X);
    for (int i = 0; i < n * 5; i++) X[i] = (float)nf_rng_normal(&rng);
    ck_assert_int_eq(nf_model_reserve(m, 50), NF_OK); /* forward in chunks of 50 rows */
    nf_unit_diag *u = NULL;
    int nu = 0;
    ck_assert_int_eq(nf_diag_units(m, X, n, NULL, &u, &nu), NF_OK);
    ck_assert_int_eq(nu, 16);
    ck_assert_int_eq(nf_model_reserve(m, n), NF_OK);
    ck_assert_int_eq(nf_model_forward(m, X, n), NF_OK);
    int base = 0, checked_both = 0;
    for (int l = 0; l < 3; l++) {
        const nf_dense *L = nf_model_layer(m, l);
        const float *in = l ? nf_model_layer_a(m, l - 1) : X;
        for (int j = 0; j < L->out; j++) {
            double lo = INFINITY, hi = -INFINITY;
            long on = 0;
            for (int s = 0; s < n; s++) {
                double z = L->b[j];
                for (int k = 0; k < L->in; k++) z += (double)L->W[j * L->in + k] * (double)in[s * L->in + k];
                on += z > 0.0;
                if (z < lo) lo = z;
                if (z > hi) hi = z;
            }
            const nf_unit_diag *d = &u[base + j];
            ck_assert_int_eq(d->layer, l);
            ck_assert_msg(d->z_min == lo && d->z_max == hi, "layer %d unit %d: z in [%.17g, %.17g], direct [%.17g, %.17g]",
                          l, j, d->z_min, d->z_max, lo, hi);
            ck_assert(d->active_frac == (double)on / n);
            checked_both += on > 0 && on < n;
        }
        base += L->out;
    }
    ck_assert_int_gt(checked_both, 8); /* most units are neither dead nor always on */
    free(u);
    free(X);
    nf_model_free(m);
}
END_TEST

/* nf_diag_classify (the sweep's counts, which stop scanning a unit once it has been seen
 * active and inactive) gives the counts of nf_diag_units over all rows: for row counts on
 * both sides of a block of 64, units whose only active (or only inactive) row is the last one
 * or the first one, dead and always-on units, duplicates and parallel kinks, a NaN row, and
 * a deep net whose forward runs in chunks with a last-layer unit decided by its last row. */
static nf_diag_counts full_counts(nf_model *m, const float *X, int n)
{
    nf_unit_diag *u = NULL;
    int nu = 0;
    ck_assert_int_eq(nf_diag_units(m, X, n, NULL, &u, &nu), NF_OK);
    const nf_diag_counts c = nf_diag_count(u, nu, -1);
    free(u);
    return c;
}

START_TEST(diag_classify_is_the_full_count)
{
    static const int ns[] = {1, 2, 63, 64, 65, 130, 1000};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_rng rng;
    nf_rng_seed(&rng, 23);
    for (size_t q = 0; q < sizeof ns / sizeof ns[0]; q++) {
        const int n = ns[q], H = 12;
        int sizes[] = {3, H, 1};
        nf_model *m = NULL;
        ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
        float *X = malloc((size_t)n * 3 * sizeof *X);
        for (int i = 0; i < n; i++) {
            X[i * 3] = (float)i / (float)n; /* x0 rises with the row, x1 alternates in sign */
            X[i * 3 + 1] = (i % 2 ? -1.0f : 1.0f) * (0.1f + (float)fabs(nf_rng_normal(&rng)));
            X[i * 3 + 2] = (float)nf_rng_normal(&rng);
        }
        nf_dense *L = &m->layers[0];
        for (int i = 0; i < H * 3; i++) L->W[i] = (float)nf_rng_normal(&rng);
        for (int j = 0; j < H; j++) L->b[j] = (float)nf_rng_normal(&rng);
        const float edge = ((float)n - 1.5f) / (float)n;
        const float w0[][4] = {
            {1, 0, 0, -edge},  /* active on the last row only */
            {-1, 0, 0, edge},  /* inactive on the last row only */
            {-1, 0, 0, 0.5f / (float)n}, /* active on the first row only */
            {0, 0, 0, -100},  /* dead */
            {0, 0, 0, 100},   /* always on */
            {0, 1, 0, 0},     /* active on every other row */
            {0, 1, 0, 0},     /* its duplicate */
            {0, 2, 0, 0.1f},  /* a parallel kink */
        };
        for (int j = 0; j < 8; j++) {
            for (int k = 0; k < 3; k++) L->W[j * 3 + k] = w0[j][k];
            L->b[j] = w0[j][3];
        }
        for (int nan = 0; nan < 2; nan++) {
            if (nan) X[(n / 2) * 3 + 2] = NAN; /* z is NaN on that row for every unit (0·NaN too): inactive */
            nf_diag_counts c;
            ck_assert_int_eq(nf_diag_classify(m, X, n, NULL, &c), NF_OK);
            const nf_diag_counts f = full_counts(m, X, n);
            ck_assert_msg(c.units == f.units && c.dead == f.dead && c.always_on == f.always_on &&
                              c.duplicate == f.duplicate && c.parallel == f.parallel,
                          "n %d nan %d: classify %d/%d/%d/%d/%d, full %d/%d/%d/%d/%d", n, nan, c.units, c.dead,
                          c.always_on, c.duplicate, c.parallel, f.units, f.dead, f.always_on, f.duplicate, f.parallel);
            /* the edge units are what they are meant to be */
            nf_unit_diag *u = NULL;
            int nu = 0;
            ck_assert_int_eq(nf_diag_units(m, X, n, NULL, &u, &nu), NF_OK);
            if (nan) {
                ck_assert(!u[4].always_on);
            } else {
                if (n > 1) {
                    ck_assert(u[0].active_frac * n == 1.0 && u[2].active_frac * n == 1.0);
                    ck_assert(u[1].active_frac * n == n - 1.0);
                }
                ck_assert_msg(u[3].dead && u[4].always_on && u[6].duplicate_of == 5 && u[7].parallel_of == 5,
                              "n %d: dead %d, always on %d, duplicate of %d, parallel to %d", n, u[3].dead,
                              u[4].always_on, u[6].duplicate_of, u[7].parallel_of);
            }
            free(u);
        }
        free(X);
        nf_model_free(m);
    }
    /* deep: forward in chunks of 50 rows; the second layer's unit 0 is active on the last row
     * only, three first-layer units on a few rows of the first chunk (a unit decided in one
     * chunk stays decided in the next) */
    {
        const int n = 203;
        int sizes[] = {3, 4, 5, 1};
        nf_model *m = NULL;
        ck_assert_int_eq(nf_model_create_mlp(&m, 3, sizes, &relu, &lin), NF_OK);
        float *p = nf_model_params(m);
        for (size_t i = 0; i < nf_model_n_params(m); i++) p[i] = (float)nf_rng_normal(&rng);
        float *X = malloc((size_t)n * 3 * sizeof *X);
        for (int i = 0; i < n; i++) {
            X[i * 3] = (float)i / (float)n;
            X[i * 3 + 1] = (float)nf_rng_normal(&rng);
            X[i * 3 + 2] = (float)nf_rng_normal(&rng);
        }
        nf_dense *L0 = &m->layers[0], *L1 = &m->layers[1];
        L0->W[0] = 1; /* unit 0 of layer 0: relu(x0) = x0 */
        L0->W[1] = L0->W[2] = 0;
        L0->b[0] = 0;
        for (int j = 1; j < 4; j++) { /* units 1-3: active on the first 10 + j rows only, all in chunk 0 */
            L0->W[j * 3] = -1;
            L0->W[j * 3 + 1] = L0->W[j * 3 + 2] = 0;
            L0->b[j] = (9.5f + (float)j) / (float)n;
        }
        for (int k = 0; k < 4; k++) L1->W[k] = k ? 0.0f : 1.0f;
        L1->b[0] = -((float)n - 1.5f) / (float)n;
        ck_assert_int_eq(nf_model_reserve(m, 50), NF_OK);
        nf_diag_counts c;
        ck_assert_int_eq(nf_diag_classify(m, X, n, NULL, &c), NF_OK);
        ck_assert_int_eq(nf_model_reserve(m, 50), NF_OK);
        const nf_diag_counts f = full_counts(m, X, n);
        nf_unit_diag *u = NULL;
        int nu = 0;
        ck_assert_int_eq(nf_diag_units(m, X, n, NULL, &u, &nu), NF_OK);
        ck_assert(nu == 9 && u[4].layer == 1 && u[4].active_frac * n == 1.0); /* the last row only */
        for (int j = 1; j < 4; j++)
            ck_assert_msg(lround(u[j].active_frac * n) == 10 + j, "unit %d: %g of the rows", j, u[j].active_frac * n);
        free(u);
        ck_assert_int_eq(c.units, 9);
        ck_assert(c.dead == f.dead && c.always_on == f.always_on && c.duplicate == f.duplicate &&
                  c.parallel == f.parallel);
        free(X);
        nf_model_free(m);
    }
}
END_TEST

/* ---- the fused small-net gradient agrees with the sgemm path ---- */
START_TEST(small_kernel_matches_sgemm)
{
    const nf_act_kind acts[] = {NF_ACT_RELU, NF_ACT_LEAKY_RELU, NF_ACT_ELU, NF_ACT_SOFTPLUS, NF_ACT_TANH};
    const nf_loss_kind losses[] = {NF_LOSS_MSE, NF_LOSS_HUBER, NF_LOSS_MAE};
    const int n = 1000; /* not a multiple of the block or lane count */
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = n;
    tc.seed = 5;
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&tc, &X, &Y), NF_OK);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++) {
            int sizes[] = {2, 7, 1};
            nf_act_spec act = {acts[a], nf_act_default_param(acts[a])}, lin = {NF_ACT_LINEAR, 0};
            nf_model *m;
            ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &act, &lin), NF_OK);
            nf_init_spec is = {NF_INIT_HE_UNIFORM, NF_BIAS_CONST, 0.1f};
            nf_rng rng;
            nf_rng_seed(&rng, 9 + a);
            nf_init_model(m, &is, &rng);
            ck_assert_int_eq(nf_model_reserve(m, n), NF_OK);
            nf_loss_spec ls = {losses[l], 0.3f};
            double fused, ref;
            ck_assert_int_eq(nf_model_grad(m, X.data, Y.data, n, &ls, 0, &fused), NF_OK);
            float *g = malloc(nf_model_n_params(m) * sizeof(float));
            memcpy(g, nf_model_grads(m), nf_model_n_params(m) * sizeof(float));
            /* reference: the generic forward / loss / backward (sgemm) */
            ck_assert_int_eq(nf_model_forward(m, X.data, n), NF_OK);
            ref = nf_loss_grad(&ls, nf_model_output(m), Y.data, (size_t)n, (size_t)n, nf_model_dout(m));
            ck_assert_int_eq(nf_model_backward(m, X.data, n), NF_OK);
            ck_assert_msg(tu_rel(fused, ref, 1e-12) < 1e-6, "%s/%s loss %g vs %g", nf_act_name(acts[a]),
                          nf_loss_name(losses[l]), fused, ref);
            for (size_t i = 0; i < nf_model_n_params(m); i++)
                ck_assert_msg(fabs(g[i] - nf_model_grads(m)[i]) <= 1e-5 * (fabs(nf_model_grads(m)[i]) + 1e-3),
                              "%s/%s grad[%zu] fused %g sgemm %g", nf_act_name(acts[a]),
                              nf_loss_name(losses[l]), i, g[i], nf_model_grads(m)[i]);
            free(g);
            nf_model_free(m);
        }
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* ---- sweeps ---- */
typedef struct {
    nf_mat X, Y;
    nf_run_spec s[2];
} fixture;

static void make_fixture(fixture *f, int epochs)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = 512;
    tc.seed = 1;
    ck_assert_int_eq(nf_task_generate(&tc, &f->X, &f->Y), NF_OK);
    for (int i = 0; i < 2; i++) {
        nf_run_spec *s = &f->s[i];
        memset(s, 0, sizeof *s);
        s->n_sizes = 3;
        s->sizes[0] = 2, s->sizes[1] = 3, s->sizes[2] = 1;
        s->act.kind = NF_ACT_RELU;
        s->out_act.kind = NF_ACT_LINEAR;
        s->init.kind = NF_INIT_GLOROT_UNIFORM;
        nf_train_defaults(&s->train);
        s->train.epochs = epochs;
        s->train.batch = i ? 64 : 0; /* setting 1 shuffles mini-batches */
        nf_opt_defaults(i ? NF_OPT_SGD : NF_OPT_ADAM, &s->train.opt);
        s->train.opt.lr = i ? 0.05 : 0.02;
        if (i) s->train.opt.momentum = 0.9;
    }
}

static void free_fixture(fixture *f)
{
    nf_mat_free(&f->X);
    nf_mat_free(&f->Y);
}

static void config(nf_sweep_config *c, fixture *f, int restarts, int jobs)
{
    nf_sweep_defaults(c);
    c->X = &f->X;
    c->Y = &f->Y;
    c->settings = f->s;
    c->n_settings = 2;
    c->restarts = restarts;
    c->seed = 77;
    c->jobs = jobs;
    c->target = 5e-3;
    c->keep_curves = 1;
}

START_TEST(results_independent_of_jobs)
{
    fixture f;
    make_fixture(&f, 150);
    nf_sweep_config c;
    const int R = 8, T = 2 * R;
    nf_trial a[16], b[16];
    long da, db;
    config(&c, &f, R, 1);
    ck_assert_int_eq(nf_sweep_run(&c, a, &da), NF_OK);
    config(&c, &f, R, 2);
    ck_assert_int_eq(nf_sweep_run(&c, b, &db), NF_OK);
    ck_assert_int_eq(da, T);
    ck_assert_int_eq(db, T);
    int successes = 0;
    for (int i = 0; i < T; i++) {
        ck_assert(a[i].done && b[i].done);
        ck_assert_int_eq(a[i].setting, i / R);
        ck_assert_int_eq(a[i].restart, i % R);
        ck_assert(a[i].seed == nf_rng_derive(77, (uint64_t)(i % R)) && a[i].seed == b[i].seed);
        ck_assert(memcmp(&a[i].final_loss, &b[i].final_loss, sizeof(double)) == 0);
        ck_assert(memcmp(&a[i].best_loss, &b[i].best_loss, sizeof(double)) == 0);
        ck_assert_int_eq(a[i].target_epoch, b[i].target_epoch);
        ck_assert_int_eq(a[i].dead, b[i].dead);
        ck_assert_int_eq(a[i].duplicate, b[i].duplicate);
        ck_assert_int_eq(a[i].always_on, b[i].always_on);
        ck_assert(memcmp(a[i].curve, b[i].curve, 150 * sizeof(float)) == 0);
        ck_assert_int_eq(a[i].success, a[i].final_loss <= 5e-3);
        successes += a[i].success;
    }
    nf_sweep_summary s[2];
    ck_assert_int_eq(nf_sweep_summarize(a, 2, R, s), NF_OK);
    ck_assert_int_eq(s[0].n + s[1].n, T);
    ck_assert_int_eq(s[0].successes + s[1].successes, successes);
    ck_assert(a[s[0].best].final_loss <= a[s[0].worst].final_loss);
    nf_trials_free(a, T);
    nf_trials_free(b, T);
    free_fixture(&f);
}
END_TEST

/* A trial is what `nnfit train --seed S` does: init from derive(S,0), shuffle from derive(S,1). */
START_TEST(trial_equals_plain_training)
{
    fixture f;
    make_fixture(&f, 60);
    nf_sweep_config c;
    config(&c, &f, 3, 1);
    for (int s = 0; s < 2; s++) {
        nf_trial t;
        nf_model *tm = NULL;
        ck_assert_int_eq(nf_sweep_trial(&c, s, 2, &t, &tm), NF_OK);
        uint64_t S = nf_rng_derive(77, 2);
        ck_assert(t.seed == S);
        nf_model *m;
        ck_assert_int_eq(nf_model_create_mlp(&m, 2, f.s[s].sizes, &f.s[s].act, &f.s[s].out_act), NF_OK);
        nf_rng rng;
        nf_rng_seed(&rng, nf_rng_derive(S, 0));
        nf_init_model(m, &f.s[s].init, &rng);
        nf_train_config tc = f.s[s].train;
        tc.seed = nf_rng_derive(S, 1);
        nf_history h;
        ck_assert_int_eq(nf_train(m, &f.X, &f.Y, &tc, &h), NF_OK);
        ck_assert(memcmp(&h.final_loss, &t.final_loss, sizeof(double)) == 0);
        ck_assert(memcmp(nf_model_params(m), nf_model_params(tm), nf_model_n_params(m) * sizeof(float)) == 0);
        nf_history_free(&h);
        nf_model_free(m);
        nf_model_free(tm);
        free(t.curve);
    }
    free_fixture(&f);
}
END_TEST

/* Success is judged on the final whole-set loss (sweep.h), not on the best epoch loss: with
 * the target between the two, success follows the final loss. */
START_TEST(success_is_final_loss_under_target)
{
    fixture f;
    make_fixture(&f, 60);
    nf_sweep_config c;
    config(&c, &f, 3, 1);
    nf_trial t;
    ck_assert_int_eq(nf_sweep_trial(&c, 0, 1, &t, NULL), NF_OK);
    free(t.curve);
    ck_assert_msg(t.best_loss != t.final_loss && isfinite(t.best_loss) && isfinite(t.final_loss),
                  "best %.9g and final %.9g must differ", t.best_loss, t.final_loss);
    c.target = 0.5 * (t.best_loss + t.final_loss);
    const int want = t.final_loss <= c.target;
    ck_assert_int_eq(nf_sweep_trial(&c, 0, 1, &t, NULL), NF_OK);
    free(t.curve);
    ck_assert_int_eq(t.success, want);
    free_fixture(&f);
}
END_TEST

static void cancel_after_3(void *ctx, const nf_trial *t, long done, long total)
{
    (void)t, (void)total;
    if (done == 3) atomic_store((atomic_int *)ctx, 1);
}

START_TEST(cancel_keeps_finished_trials)
{
    fixture f;
    make_fixture(&f, 30);
    nf_sweep_config c;
    config(&c, &f, 5, 1);
    atomic_int flag;
    atomic_init(&flag, 0);
    c.cancel = &flag;
    c.on_trial = cancel_after_3;
    c.ctx = &flag;
    nf_trial t[10];
    long done;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_EINTERRUPTED);
    ck_assert_int_eq(done, 3);
    /* restart-major order: restart 0 of both settings, then restart 1 of setting 0 */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(t[i].done, i == 0 || i == 1 || i == 5);
    nf_trials_free(t, 10);
    free_fixture(&f);
}
END_TEST

/* Several problems: setting s trains on problems[problem_of[s]] and is judged against that
 * problem's target; the trial is nf_run of the setting on that problem's rows. */
START_TEST(problems_give_each_setting_its_data)
{
    fixture f;
    make_fixture(&f, 40);
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = 300;
    tc.seed = 9;
    nf_mat X2, Y2;
    ck_assert_int_eq(nf_task_generate(&tc, &X2, &Y2), NF_OK);
    const nf_sweep_problem pb[2] = {{&f.X, &f.Y, NULL, NULL, 1e-9}, {&X2, &Y2, NULL, NULL, 1.0}};
    const int problem_of[2] = {1, 0};
    nf_sweep_config c;
    config(&c, &f, 3, 2);
    c.problems = pb;
    c.n_problems = 2;
    c.problem_of = problem_of;
    nf_trial t[6];
    long done;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_OK);
    ck_assert_int_eq(done, 6);
    for (int i = 0; i < 6; i++) {
        const int s = t[i].setting;
        const nf_sweep_problem *p = &pb[problem_of[s]];
        nf_run_spec spec = f.s[s];
        spec.seed = t[i].seed;
        spec.train.target_loss = p->target;
        nf_run_data d = {.X = p->X, .Y = p->Y};
        nf_model *m = NULL;
        nf_history h;
        ck_assert_int_eq(nf_run(&spec, &d, &m, &h), NF_OK);
        ck_assert(memcmp(&h.final_loss, &t[i].final_loss, sizeof(double)) == 0);
        ck_assert_int_eq(t[i].success, h.final_loss <= p->target); /* 1e-9: never; 1.0: always */
        ck_assert_int_eq(t[i].success, problem_of[s] == 1);
        nf_history_free(&h);
        nf_model_free(m);
    }
    /* a problem index outside the list is refused before any work */
    const int bad[2] = {0, 2};
    c.problem_of = bad;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_EINVAL);
    nf_trials_free(t, 6);
    nf_mat_free(&X2);
    nf_mat_free(&Y2);
    free_fixture(&f);
}
END_TEST

static int stop_setting0_at_5(void *ctx, int setting, int restart, int epoch, double loss)
{
    (void)loss;
    atomic_fetch_add((atomic_int *)ctx, 1); /* the two worker threads call it concurrently */
    return setting == 0 && restart == 1 && epoch == 5;
}

/* The per-epoch callback sees every epoch of every trial and stops the one it returns nonzero
 * for: that trial finishes (done) after 5 epochs, exactly as a 5-epoch run; the others run on. */
START_TEST(epoch_callback_stops_one_trial)
{
    fixture f;
    make_fixture(&f, 30);
    nf_sweep_config c;
    config(&c, &f, 2, 2);
    atomic_int calls = 0;
    c.on_epoch = stop_setting0_at_5;
    c.epoch_ctx = &calls;
    nf_trial t[4];
    long done;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_OK);
    ck_assert_int_eq(done, 4);
    ck_assert_int_eq(atomic_load(&calls), 30 * 3 + 5);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(t[i].epochs_run, i == 1 ? 5 : 30);
    fixture f5;
    make_fixture(&f5, 5);
    nf_sweep_config c5;
    config(&c5, &f5, 2, 1);
    nf_trial u;
    ck_assert_int_eq(nf_sweep_trial(&c5, 0, 1, &u, NULL), NF_OK);
    ck_assert(memcmp(&u.final_loss, &t[1].final_loss, sizeof(double)) == 0);
    ck_assert_int_eq(t[1].done, 1);
    nf_trials_free(&u, 1);
    nf_trials_free(t, 4);
    free_fixture(&f);
    free_fixture(&f5);
}
END_TEST

/* ---- CLI: the printed rerun command reproduces the trial ---- */
/* A sweep's results CSV, opened, with its header line read into line (cap chars). */
static FILE *open_results(const char *csv, char *line, int cap)
{
    FILE *f = fopen(csv, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", csv);
    ck_assert_ptr_nonnull(fgets(line, cap, f));
    return f;
}

/* Final loss (11th field) of a results-CSV line and its rerun command (the first quoted field
 * that starts with "nnfit train"), copied into cmd with the test's nnfit path. */
static double csv_final_and_command(char *line, char *cmd, size_t cap)
{
    double final = 0;
    int field = 0;
    for (int inq = 0, i = 0; line[i]; i++) {
        if (line[i] == '"') inq = !inq;
        if (line[i] == ',' && !inq && ++field == 10) final = strtod(line + i + 1, NULL);
    }
    char *q = strstr(line, ",\"nnfit train");
    ck_assert_ptr_nonnull(q);
    q += 2;
    q[strcspn(q, "\"")] = '\0';
    snprintf(cmd, cap, "%s%s", tu_nnfit(), q + strlen("nnfit"));
    return final;
}

static void rerun_matches(const char *cmd, double final)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    char want[64];
    snprintf(want, sizeof want, "final_loss: %.6e\n", final);
    ck_assert_msg(strstr(out, want) != NULL, "rerun of '%s' printed\n%s\nexpected %s", cmd, out, want);
    free(out);
    free(err);
}

/* Runs `nnfit sweep ARGS --out CSV`, which must succeed; returns its stdout (the caller frees). */
static char *run_sweep(const char *args, const char *csv)
{
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep %s --out %s", tu_nnfit(), args, csv);
    ck_assert_msg(tu_run_cmd(cmd, &out, &err) == 0, "%s: %s", cmd, err);
    free(err);
    return out;
}

START_TEST(cli_rerun_command_reproduces)
{
    char cmd[4096];
    const char *csv = "test_sweep_out.csv";
    char *out = run_sweep("--task abs --n 1024 --opt adam,sgd --momentum 0.9 --lr 0.01 --batch 128 --epochs 40 "
                           "--restarts 3 --jobs 2 --seed 5 --quiet", csv);
    ck_assert_ptr_nonnull(strstr(out, "95% Wilson"));
    free(out);
    char line[4096];
    FILE *f = open_results(csv, line, sizeof line);
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        if (rows != 2 && rows != 5) continue; /* one adam and one sgd trial */
        const double final = csv_final_and_command(line, cmd, sizeof cmd);
        ck_assert_ptr_nonnull(strstr(cmd, "--seed "));
        rerun_matches(cmd, final);
    }
    fclose(f);
    ck_assert_int_eq(rows, 6);
    remove(csv);
}
END_TEST

/* Aid options with value lists are grid axes: labels, CSV columns, and rerun commands that
 * carry the aids and reproduce the trial (0 / none = off: left out of the command). */
START_TEST(cli_aid_axes)
{
    char cmd[4096];
    const char *csv = "test_sweep_aids.csv";
    char *out = run_sweep("--task abs --n 512 --batch 128 --epochs 24 --init data_kink --revive-every 0,5 "
                           "--revive-edge 0.02 --repel 0,0.01 --dropout 0.1 --clip-norm 0,1 --schedule none,cosine "
                           "--bias-init 0.1 --restarts 2 --jobs 2 --seed 9 --quiet", csv);
    ck_assert_ptr_nonnull(strstr(out, "bias-init=0.1 batch=128 epochs=24 revive-every=5 revive-edge=0.02 "
                                      "repel=0.01 dropout=0.1 clip-norm=1 schedule=cosine"));
    ck_assert_ptr_nonnull(strstr(out, "bias-init=0.1 batch=128 epochs=24 revive-every=0 revive-edge=0.02 repel=0 "
                                      "dropout=0.1 clip-norm=0 schedule=none"));
    ck_assert_ptr_nonnull(strstr(out, "\n 15 "));   /* 16 settings: 2 * 2 * 2 * 2 */
    ck_assert_ptr_null(strstr(out, "\n 16 "));
    free(out);
    char line[4096];
    FILE *f = open_results(csv, line, sizeof line);
    /* after the fixed columns: the label, then one column per option given, in --help order */
    ck_assert_ptr_nonnull(strstr(line, ",command,label,task,n,given_init,bias_init,batch,epochs,given_seed,revive_every,"
                                       "revive_edge,repel,dropout,clip_norm,schedule\n"));
    int rows = 0, checked = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        int setting = atoi(line);
        if (setting != 0 && setting != 15) continue; /* all aids off / all on */
        char row[4096];
        memcpy(row, line, sizeof row);
        ck_assert_ptr_nonnull(strstr(row, setting ? ",abs,512,data_kink,0.1,128,24,9,5,0.02,0.01,0.1,1,cosine\n"
                                                  : ",abs,512,data_kink,0.1,128,24,9,0,0.02,0,0.1,0,none\n"));
        double final = csv_final_and_command(line, cmd, sizeof cmd);
        if (setting == 15) {
            ck_assert_ptr_nonnull(strstr(cmd, " --revive-every 5 --revive-edge 0.02 --repel 0.01 --dropout 0.1 "
                                              "--clip-norm 1 --schedule cosine "));
            ck_assert_ptr_nonnull(strstr(cmd, " --bias-init 0.1 "));
        } else {
            ck_assert_ptr_null(strstr(cmd, "--revive-every"));
            ck_assert_ptr_null(strstr(cmd, "--repel"));
            ck_assert_ptr_null(strstr(cmd, "--clip-norm"));
            ck_assert_ptr_null(strstr(cmd, "--schedule"));
            ck_assert_ptr_nonnull(strstr(cmd, " --revive-edge 0.02 --dropout 0.1 --seed "));
            ck_assert_ptr_nonnull(strstr(cmd, " --bias-init 0.1 "));
        }
        rerun_matches(cmd, final);
        checked++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 32);
    ck_assert_int_eq(checked, 4);
    remove(csv);
}
END_TEST

/* One aid value of 0 switches the aid off, also over a preset that turns it on (the ablation
 * --preset robust --revive-every 0): accepted, labelled, left out of the rerun command, and the
 * trial is the preset's without revival (the rerun reproduces it). */
START_TEST(cli_single_aid_off)
{
    char cmd[4096];
    const char *csv = "test_sweep_aid_off.csv";
    char *out = run_sweep("--task abs --n 512 --batch 64 --epochs 40 --preset robust --revive-every 0 --clip-norm 0 "
                           "--restarts 2 --jobs 2 --seed 4 --quiet", csv);
    ck_assert_ptr_nonnull(strstr(out, "batch=64 epochs=40 revive-every=0 grow=2 clip-norm=0 schedule=cosine"));
    free(out);
    char line[4096];
    FILE *f = open_results(csv, line, sizeof line);
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        double final = csv_final_and_command(line, cmd, sizeof cmd);
        ck_assert_ptr_null(strstr(cmd, "--revive-every"));
        ck_assert_ptr_null(strstr(cmd, "--clip-norm"));
        ck_assert_ptr_nonnull(strstr(cmd, " --lr 0.01 --grow 2 --schedule cosine "));
        rerun_matches(cmd, final);
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 2);
    remove(csv);
}
END_TEST

/* Early stopping (with --val-n validation rows) and L2 weight decay as grid axes: labels, the
 * rerun command carries --val-n/--early-stop/--weight-decay and reproduces the trial, and
 * --early-stop without a validation set is refused. */
START_TEST(cli_early_stop_and_l2_axes)
{
    char cmd[4096], *err = NULL;
    const char *csv = "test_sweep_es.csv";
    char *out = run_sweep("--task abs --n 512 --batch 64 --epochs 80 --lr 0.01 --val-n 256 --early-stop 0,3 "
                           "--weight-decay 0,1e-3 --restarts 3 --jobs 2 --seed 2 --quiet", csv);
    ck_assert_ptr_nonnull(strstr(out, "adam(lr=0.01,weight_decay=0.001) relu glorot_uniform 2,3,1 batch=64 "
                                      "epochs=80 early-stop=3"));
    ck_assert_ptr_nonnull(strstr(out, "adam(lr=0.01) relu glorot_uniform 2,3,1 batch=64 epochs=80 early-stop=0"));
    free(out);
    char line[4096];
    FILE *f = open_results(csv, line, sizeof line);
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (atoi(line) != 3) continue; /* early-stop=3, weight-decay=1e-3 */
        double final = csv_final_and_command(line, cmd, sizeof cmd);
        ck_assert_ptr_nonnull(strstr(cmd, " --val-n 256 "));
        ck_assert_ptr_nonnull(strstr(cmd, " --weight-decay 1e-3 "));
        ck_assert_ptr_nonnull(strstr(cmd, " --early-stop 3 "));
        rerun_matches(cmd, final);
        checked++;
    }
    fclose(f);
    remove(csv);
    ck_assert_int_eq(checked, 3);
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --n 256 --epochs 2 --early-stop 0,3 --restarts 1 --quiet",
             tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--early-stop needs a validation set"));
    free(out);
    free(err);
}
END_TEST


/* Runs `cmd` (a sweep with --out csv), then every trial's rerun command, which must print the
 * trial's final loss exactly; returns the trials checked. */
static int sweep_reruns(const char *cmd, const char *csv)
{
    char *out = NULL, *err = NULL, line[8192], rerun[4096];
    ck_assert_msg(tu_run_cmd(cmd, &out, &err) == 0, "%s: %s", cmd, err);
    free(out);
    free(err);
    FILE *f = open_results(csv, line, sizeof line);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        double final = csv_final_and_command(line, rerun, sizeof rerun);
        rerun_matches(rerun, final);
        n++;
    }
    fclose(f);
    remove(csv);
    return n;
}

/* The sweep takes the user's data as nnfit train does (CSV and NPY, --val-split), and each
 * trial's printed rerun command reproduces its final loss exactly. */
START_TEST(cli_sweep_on_files)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s data --task abs --n 300 --data-seed 5 --out test_sweep_own.csv --quiet && "
                              "%s data --task abs --n 300 --data-seed 6 --out test_sweep_own.npy --quiet",
             tu_nnfit(), tu_nnfit());
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s sweep --data test_sweep_own.csv --inputs 2 --hidden 3,4 --opt adam,sgd "
                              "--momentum 0.9 --epochs 6 --batch 50 --target 0.01 --restarts 2 --jobs 2 --quiet "
                              "--out test_sweep_own_r.csv", tu_nnfit());
    ck_assert_int_eq(sweep_reruns(cmd, "test_sweep_own_r.csv"), 8);
    snprintf(cmd, sizeof cmd, "%s sweep --data test_sweep_own.npy --inputs 2 --layers 2,3,1 --val-split 0.25 "
                              "--early-stop 2 --epochs 8 --target 0.01 --restarts 3 --jobs 2 --quiet "
                              "--out test_sweep_own_v.csv", tu_nnfit());
    ck_assert_int_eq(sweep_reruns(cmd, "test_sweep_own_v.csv"), 3);
    remove("test_sweep_own.csv");
    remove("test_sweep_own.npy");
}
END_TEST

/* A grid that mixes optimizers: each hyperparameter goes only to the optimizers that read it
 * (lm gets no --lr, adam no --momentum), the labels say who got what, and the reruns match. */
START_TEST(cli_mixed_optimizers)
{
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --n 200 --batch 0 --epochs 4 --lr 0.01 --opt sgd,adam,lbfgs,lm "
                              "--momentum 0.9 --restarts 1 --quiet --out test_sweep_mixed.csv", tu_nnfit());
    ck_assert_msg(tu_run_cmd(cmd, &out, &err) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, " sgd(momentum=0.9) relu "));
    ck_assert_ptr_nonnull(strstr(out, " adam(lr=0.01) relu "));
    ck_assert_ptr_nonnull(strstr(out, " lm relu "));
    ck_assert_ptr_nonnull(strstr(out, "nnfit train --task abs --n 200 --opt lm --batch 0 --epochs 4 --seed"));
    free(out);
    free(err);
    ck_assert_int_eq(sweep_reruns(cmd, "test_sweep_mixed.csv"), 4);
    /* an explicit option that reaches no grid point is an error; a preset's is not */
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --opt adam --momentum 0.9 --restarts 1 --quiet", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--momentum applies to none of the sweep's optimizers (it is read by: sgd rmsprop)"));
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train --task abs --n 200 --epochs 2 --preset robust --opt lm --quiet", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "setting: lm\n"));
    free(out);
    free(err);
}
END_TEST

/* Options are matched in full: abbreviations and unknown names exit 2 with a suggestion, and
 * sweep's --help lists only what it takes. */
START_TEST(cli_full_option_names)
{
    static const struct { const char *args, *err; } bad[] = {
        {"train --epoch 5", "unknown option '--epoch'; did you mean --epochs?"},
        {"sweep --data-see 3", "unknown option '--data-see'; did you mean --data-seed?"},
        {"sweep --data 5 --inputs 1", "5"},
        {"data --tas abs --out x.csv", "did you mean --task?"},
        {"sweep --log x.csv", "--log does not apply to nnfit sweep"},
        {"sweep --threads 2", "use --jobs"},
        {"train --nesterov=1", "takes no value"},
        {"train --lr", "needs a value"},
        {"plot --ou x r.csv", "did you mean --out?"},
        {"inspect m.safetensors --tas abs", "did you mean --task?"},
        {"predict --mode m.safetensors", "did you mean --model?"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512], *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd, "%s %s --quiet", tu_nnfit(), bad[i].args);
        ck_assert_msg(tu_run_cmd(cmd, &out, &err) == 2, "%s", bad[i].args);
        ck_assert_msg(strstr(err, bad[i].err) && strchr(err, '\n') == err + strlen(err) - 1, "%s: '%s'",
                      bad[i].args, err);
        free(out);
        free(err);
    }
    char cmd[512], *out = NULL, *err = NULL;
    const char *bench = getenv("NNFIT_BENCH");
    ck_assert_ptr_nonnull(bench);
    snprintf(cmd, sizeof cmd, "%s --batc 64", bench);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_msg(strstr(err, "unknown option '--batc'; did you mean --batch?"), "%s", err);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --help", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "--data FILE"));
    ck_assert_ptr_nonnull(strstr(out, "--val-split F"));
    ck_assert_ptr_null(strstr(out, "--log "));
    ck_assert_ptr_null(strstr(out, "--threads "));
    ck_assert_ptr_null(strstr(out, "--stop-at-target"));
    ck_assert_ptr_null(strstr(out, "--save "));
    free(out);
    free(err);
}
END_TEST

/* SIGTERM stops a sweep as Ctrl-C does: exit 1, the finished trials written. */
START_TEST(cli_sigterm_keeps_finished)
{
    char cmd[1024], *out = NULL, *err = NULL;
    remove("test_sweep_term.csv");
    /* SIGTERM once a first trial has finished (the progress line on stderr shows it) */
    snprintf(cmd, sizeof cmd, "(%s sweep --task abs --n 256 --epochs 60 --restarts 100000 --jobs 2 --out "
                              "test_sweep_term.csv >/dev/null 2>test_sweep_term.err & p=$!; "
                              "for i in $(seq 600); do grep -q '/100000 ' test_sweep_term.err 2>/dev/null "
                              "&& break; sleep 0.1; done; kill -TERM $p; wait $p; echo rc=$?; cat test_sweep_term.err >&2)",
             tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_msg(strstr(out, "rc=1\n"), "%s / %s", out, err);
    ck_assert_msg(strstr(err, "interrupted:"), "%s", err);
    FILE *f = fopen("test_sweep_term.csv", "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    int rows = -1;
    while (fgets(line, sizeof line, f)) rows++;
    fclose(f);
    ck_assert_msg(rows > 0 && rows < 100000, "%d rows", rows);
    remove("test_sweep_term.csv");
    remove("test_sweep_term.err");
    free(out), free(err);
}
END_TEST

/* nnfit sweep runs each trial's BLAS on one thread, so it starts no OpenBLAS thread pool (whose
 * threads would spin on the other cores for ~0.1 s first): with --jobs 1 the process is one
 * thread once the first trial has finished.  A thread count set in the environment stays. */
static void sweep_threads_and_env(const char *env, long *tasks, char *blas_env, size_t cap)
{
    char cmd[2048], *out = NULL, *err = NULL;
    remove("test_sweep_pool.err");
    snprintf(cmd, sizeof cmd,
             "(env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS %s %s sweep --task abs "
             "--n 256 --epochs 60 --restarts 100000 --jobs 1 --out test_sweep_pool.csv >/dev/null "
             "2>test_sweep_pool.err & p=$!; "
             "for i in $(seq 600); do grep -q '/100000 ' test_sweep_pool.err 2>/dev/null && break; sleep 0.1; done; "
             "echo tasks=$(ls /proc/$p/task | wc -l); "
             "echo env=$(tr '\\0' '\\n' < /proc/$p/environ | grep '^OPENBLAS_NUM_THREADS=' | cut -d= -f2); "
             "kill -TERM $p; wait $p; true)",
             env, tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    const char *t = strstr(out, "tasks="), *e = strstr(out, "env=");
    ck_assert_msg(t && e, "%s / %s", out, err);
    *tasks = strtol(t + 6, NULL, 10);
    snprintf(blas_env, cap, "%.*s", (int)strcspn(e + 4, "\n"), e + 4);
    remove("test_sweep_pool.csv");
    remove("test_sweep_pool.err");
    free(out), free(err);
}

START_TEST(cli_sweep_starts_no_blas_pool)
{
    long tasks;
    char blas_env[64];
    sweep_threads_and_env("", &tasks, blas_env, sizeof blas_env);
    ck_assert_msg(tasks == 1, "nnfit sweep --jobs 1 runs %ld threads", tasks);
    /* OpenBLAS here would start a pool (several cores): then the variable is what kept it off */
    if (nf_blas_threads() > 1) ck_assert_str_eq(blas_env, "1");
    sweep_threads_and_env("OPENBLAS_NUM_THREADS=2", &tasks, blas_env, sizeof blas_env);
    ck_assert_str_eq(blas_env, "2");
}
END_TEST

static int same_final_loss(const char *a, const char *b)
{
    const char *x = strstr(a, "final_loss:"), *y = strstr(b, "final_loss:");
    if (!x || !y) return 0;
    size_t n = strcspn(x, "\n");
    return n == strcspn(y, "\n") && !strncmp(x, y, n);
}

/* --preset robust: the same trial as its options spelled out; explicit options override it
 * (in any order); the sweep's rerun command spells the preset out; unknown names exit 2. */
START_TEST(cli_preset_robust)
{
    char cmd[4096], *a = NULL, *b = NULL, *err = NULL;
    const char *common = "--task abs --n 512 --batch 128 --epochs 30 --seed 4 --threads 1";
    snprintf(cmd, sizeof cmd, "%s train --help", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    char *line = strstr(a, "--preset robust");
    ck_assert_ptr_nonnull(line);
    char expanded[512];
    line += strlen("--preset robust");
    line += strspn(line, " ");
    snprintf(expanded, sizeof expanded, "%.*s", (int)strcspn(line, "\n"), line);
    ck_assert_ptr_nonnull(strstr(expanded, "--grow 2"));
    ck_assert_ptr_nonnull(strstr(expanded, "--schedule cosine"));
    free(a), free(err);

    snprintf(cmd, sizeof cmd, "%s train %s --preset robust", tu_nnfit(), common);
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train %s %s", tu_nnfit(), common, expanded);
    ck_assert_int_eq(tu_run_cmd(cmd, &b, &err), 0);
    free(err);
    ck_assert_int_eq(same_final_loss(a, b), 1);
    ck_assert_ptr_nonnull(strstr(a, "grown_width: 6\npruned: 3\n"));
    free(a), free(b);

    /* --lr 0.002 before --preset still wins */
    snprintf(cmd, sizeof cmd, "%s train %s --lr 0.002 --preset=robust", tu_nnfit(), common);
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    ck_assert_ptr_nonnull(strstr(a, "lr: 0.002\n"));
    free(err);
    snprintf(cmd, sizeof cmd, "%s train %s %s --lr 0.002", tu_nnfit(), common, expanded);
    ck_assert_int_eq(tu_run_cmd(cmd, &b, &err), 0);
    free(err);
    ck_assert_int_eq(same_final_loss(a, b), 1);
    free(a), free(b);

    snprintf(cmd, sizeof cmd, "%s sweep --task abs --n 512 --batch 128 --epochs 20 --restarts 2 --jobs 1 --quiet "
                              "--preset robust --out test_sweep_preset.csv", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    ck_assert_ptr_nonnull(strstr(a, "grow=2"));
    free(a), free(err);
    FILE *f = fopen("test_sweep_preset.csv", "r");
    ck_assert_ptr_nonnull(f);
    char row[4096];
    ck_assert_ptr_nonnull(fgets(row, sizeof row, f));
    ck_assert_ptr_nonnull(fgets(row, sizeof row, f));
    fclose(f);
    remove("test_sweep_preset.csv");
    double final = csv_final_and_command(row, cmd, sizeof cmd);
    ck_assert_ptr_nonnull(strstr(cmd, "--grow 2"));
    ck_assert_ptr_nonnull(strstr(cmd, "--schedule cosine"));
    rerun_matches(cmd, final);

    snprintf(cmd, sizeof cmd, "%s train --task abs --preset nosuch", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    free(a), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --preset", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 2);
    free(a), free(err);
}
END_TEST

static int exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

START_TEST(cli_plot_files)
{
    char cmd[2048], *out = NULL, *err = NULL;
    const char *dir = "test_sweep_plots";
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && %s sweep --task abs --n 512 --batch 0 --lr 0.02 --epochs 40 --opt adam --act relu,elu "
             "--restarts 3 --jobs 2 --quiet --out test_sweep_plot.csv --plot %s",
             dir, tu_nnfit(), dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
    const char *files[] = {"final_loss.gp", "final_loss.dat", "s00_adam_relu_glorot_uniform_2-3-1_lr0.02_loss.gp",
                           "s01_adam_elu_glorot_uniform_2-3-1_lr0.02_surface.gp",
                           "s01_adam_elu_glorot_uniform_2-3-1_lr0.02_kinks_best.dat"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        ck_assert_msg(exists(path), "%s missing", path);
    }
    int gp = tu_run_cmd("command -v gnuplot", &out, &err) == 0;
    free(out), free(err);
    if (gp) {
        snprintf(path, sizeof path, "%s/final_loss.png", dir);
        ck_assert_msg(exists(path), "gnuplot is installed but %s was not rendered", path);
    }
    /* nnfit plot RESULTS.csv --out DIR */
    snprintf(cmd, sizeof cmd, "%s plot test_sweep_plot.csv --out %s/again", tu_nnfit(), dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
    snprintf(path, sizeof path, "%s/again/final_loss.dat", dir);
    ck_assert(exists(path));
    snprintf(cmd, sizeof cmd, "rm -rf %s test_sweep_plot.csv", dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
}
END_TEST

START_TEST(cli_bad_input)
{
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep --opt adam,nosuch --restarts 2", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --task fir --restarts 2", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--target"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --hidden 3,x", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "hidden"));
    free(out), free(err);
    /* outputs are checked before any trial runs: a missing folder, a non-regular target */
    double t0 = nf_seconds();
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --epochs 2000 --restarts 50 --out nodir/r.csv", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_msg(strstr(err, "--out nodir/r.csv") && strstr(err, "does not exist"), "%s", err);
    ck_assert_msg(nf_seconds() - t0 < 5.0, "the sweep ran before refusing its output");
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --restarts 1 --epochs 1 --json /dev/null", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_msg(strstr(err, "--json /dev/null"), "%s", err);
    free(out), free(err);
    struct stat sb;
    ck_assert(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
    snprintf(cmd, sizeof cmd, "%s train --task abs --epochs 1 --log /dev/null --quiet", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_msg(strstr(err, "--log /dev/null"), "%s", err);
    free(out), free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wilson_numbers);
    tcase_add_test(tc, summary_statistics_match_references);
    tcase_add_test(tc, quantiles_match_numpy);
    tcase_add_test(tc, diag_hand_built);
    tcase_add_test(tc, diag_edges_and_bias);
    tcase_add_test(tc, diag_extremes_in_row_order);
    tcase_add_test(tc, diag_antiparallel_valley);
    tcase_add_test(tc, diag_deep_matches_direct);
    tcase_add_test(tc, diag_classify_is_the_full_count);
    tcase_add_test(tc, small_kernel_matches_sgemm);
    tcase_add_test(tc, results_independent_of_jobs);
    tcase_add_test(tc, trial_equals_plain_training);
    tcase_add_test(tc, success_is_final_loss_under_target);
    tcase_add_test(tc, cancel_keeps_finished_trials);
    tcase_add_test(tc, problems_give_each_setting_its_data);
    tcase_add_test(tc, epoch_callback_stops_one_trial);
    tcase_add_test(tc, cli_rerun_command_reproduces);
    tcase_add_test(tc, cli_plot_files);
    tcase_add_test(tc, cli_bad_input);
    tcase_add_test(tc, cli_aid_axes);
    tcase_add_test(tc, cli_single_aid_off);
    tcase_add_test(tc, cli_early_stop_and_l2_axes);
    tcase_add_test(tc, cli_preset_robust);
    tcase_add_test(tc, cli_sweep_on_files);
    tcase_add_test(tc, cli_mixed_optimizers);
    tcase_add_test(tc, cli_full_option_names);
    tcase_add_test(tc, cli_sigterm_keeps_finished);
    tcase_add_test(tc, cli_sweep_starts_no_blas_pool);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
