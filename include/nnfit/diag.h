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

#ifdef __cplusplus
}
#endif
#endif
