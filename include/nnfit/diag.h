/* diag.h — references and diagnostics for trained models: least-squares optimum, weight
 * distances. */
#ifndef NNFIT_DIAG_H
#define NNFIT_DIAG_H

#include "nnfit/mat.h"
#include "nnfit/model.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Least-squares linear fit Y ≈ X·Wᵀ + b over all rows (X [n, in], Y [n, out]), solved in
 * double precision with LAPACKE_dgels (QR).  W gets [out, in] (owned); b [out] is written
 * unless NULL, in which case the fit has no bias.  Needs n >= in (+1 with bias). */
nf_status nf_lstsq(const nf_mat *X, const nf_mat *Y, nf_mat *W, float *b);

/* Max and RMS of |A − B| over n values (doubles accumulate). */
void nf_diff_stats(const float *a, const float *b, size_t n, double *max_abs, double *rms);

/* ---- neuron health (diag_units.c) ----------------------------------------------------
 * A hidden unit is *active* on a sample when its pre-activation z = w·x + b is > 0 (the
 * linear side of relu / leaky_relu / elu, the upper half of softplus / tanh / sigmoid).
 *   dead       active on no sample: a relu unit outputs 0 and gets no gradient;
 *   always_on  active on every sample: the unit acts as a linear map on this data;
 *   duplicate  its normalised incoming [w, b] lies within dup_angle_deg of an earlier live
 *              unit's in the same layer (the two kinks coincide and face the same way, so
 *              the pair acts as one unit).  The later unit of the pair is flagged, so the
 *              count is the number of redundant units.  Dead units are never duplicates.
 *   parallel   its kink is parallel to an earlier live unit's: the incoming weight vectors w
 *              alone (without b) lie within dup_angle_deg of each other or of each other's
 *              negative.  When every live unit of a layer is parallel to one other, the layer
 *              sees one direction of the input only (the "valley" that fits |x| but not
 *              √(x²+y²)).  A duplicate is also parallel.
 * The default rule and threshold: angle < 1 degree (cos > 0.99985). */

typedef struct {
    double dup_angle_deg; /* default 1.0 */
} nf_diag_options;

void nf_diag_defaults(nf_diag_options *opts);

typedef struct {
    int layer, unit;        /* dense layer index (0-based) and unit within it */
    double active_frac;     /* fraction of samples with z > 0 */
    double z_min, z_max;    /* range of z over the data */
    int dead, always_on;
    int duplicate_of;       /* unit index of the earlier twin, -1 if none */
    double kink_angle_deg;  /* angle between this unit's kink and the nearest other live unit's
                               kink in the layer: the angle between w and ±w', 0-90 degrees
                               (90 when dead or alone).  Below the threshold: parallel. */
    int parallel_of;        /* unit index of an earlier live unit with a parallel kink, -1 if none */
    double out_norm;        /* L2 norm of the unit's outgoing weights (next layer's column) */
} nf_unit_diag;

typedef struct {
    int units, dead, always_on, duplicate, parallel;
} nf_diag_counts;

/* Diagnoses every hidden unit (all layers but the last) of m over X [n, n_in].  *out gets
 * a malloc'd array (free()) of *n_units entries in layer/unit order.  Uses m's workspace
 * (reserves it if needed). */
nf_status nf_diag_units(nf_model *m, const float *X, int n, const nf_diag_options *opts,
                        nf_unit_diag **out, int *n_units);

/* nf_diag_count(units, n_units, -1) of nf_diag_units(m, X, n, opts, …), without the
 * units: a unit is scanned only until some row has z > 0 and some row not, which is all
 * its counts need (dead: no row with z > 0; always on: every row), so a net whose units
 * all see both signs early costs a few blocks of rows instead of n.  The same counts. */
nf_status nf_diag_classify(nf_model *m, const float *X, int n, const nf_diag_options *opts,
                           nf_diag_counts *counts);

/* Counts over the units of one layer (layer < 0: all hidden layers). */
nf_diag_counts nf_diag_count(const nf_unit_diag *units, int n_units, int layer);

/* Kink geometry of a 2-input hidden unit: the line w0·x + w1·y + b = 0.  Returns 0 when
 * |w| is zero (no kink). */
int nf_diag_kink_line(const nf_model *m, int unit, double *w0, double *w1, double *b);

#ifdef __cplusplus
}
#endif
#endif
