/* loss.h — regression losses, reduced as PyTorch's default ('mean' over batch × outputs). */
#ifndef NNFIT_LOSS_H
#define NNFIT_LOSS_H

#include <stddef.h>

#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_LOSS_MSE = 0, /* mean (p - t)^2 */
    NF_LOSS_MAE,     /* mean |p - t|; gradient sign(p - t), 0 at 0 (PyTorch) */
    NF_LOSS_HUBER,   /* PyTorch HuberLoss(delta): 0.5 r^2 if |r| < delta else delta(|r| - delta/2) */
    NF_LOSS_LOG_COSH,/* mean log(cosh(p - t)), computed without overflow */
    NF_LOSS_COUNT
} nf_loss_kind;

typedef struct {
    nf_loss_kind kind;
    float delta; /* huber only; default 1.0 */
} nf_loss_spec;

const char *nf_loss_name(nf_loss_kind kind);
/* Parses "mse", "mae", "huber", "log_cosh" (also "l2", "l1", "logcosh"). */
nf_status nf_loss_parse(const char *name, nf_loss_spec *spec);
const char *nf_loss_names(void);

/* Loss of n predictions against n targets, accumulated in double. */
double nf_loss_value(const nf_loss_spec *spec, const float *pred, const float *target, size_t n);

/* Same value, and grad[i] = dLoss/dpred[i] (includes the 1/n of the mean).  `denom` is the
 * count the mean divides by (normally n; a mini-batch that is part of a larger mean may pass
 * the larger count).  Returns the sum of per-element losses divided by denom. */
double nf_loss_grad(const nf_loss_spec *spec, const float *pred, const float *target, size_t n,
                    size_t denom, float *grad);

#ifdef __cplusplus
}
#endif
#endif
