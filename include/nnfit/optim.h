/* optim.h — optimizers as updates over a model's flat parameter and gradient buffers.
 *
 * First-order optimizers follow PyTorch 1.13's single-tensor formulas and defaults, so a run
 * here and a run in PyTorch from the same weights on the same batches take the same steps
 * (up to float rounding).  An optimizer knows nothing about layers: it sees n floats. */
#ifndef NNFIT_OPTIM_H
#define NNFIT_OPTIM_H

#include <stddef.h>

#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_OPT_SGD = 0,
    NF_OPT_ADAM,
    NF_OPT_COUNT
} nf_opt_kind;

/* Every hyperparameter of every optimizer; each kind reads only its own (see
 * nf_opt_uses()).  Names and defaults are PyTorch's. */
typedef struct {
    nf_opt_kind kind;
    double lr;
    double momentum, dampening, weight_decay; /* sgd (weight_decay also adam) */
    int nesterov;
    double beta1, beta2, eps; /* adam */
    int amsgrad;
} nf_opt_config;

const char *nf_opt_name(nf_opt_kind kind);
nf_status nf_opt_parse(const char *name, nf_opt_kind *kind);
const char *nf_opt_names(void);

/* Fills cfg with kind's PyTorch defaults (lr included: sgd has none in PyTorch, 0.01 here). */
void nf_opt_defaults(nf_opt_kind kind, nf_opt_config *cfg);

/* Hyperparameter names ("lr", "momentum", ...) kind reads, space-separated. */
const char *nf_opt_uses(nf_opt_kind kind);

/* Checks ranges (lr > 0, 0 <= beta < 1, ...); NF_EINVAL names the offending value. */
nf_status nf_opt_validate(const nf_opt_config *cfg);

typedef struct nf_optim nf_optim;

/* Creates optimizer state for n parameters (all state allocated here, zeroed). */
nf_status nf_optim_create(nf_optim **out, const nf_opt_config *cfg, size_t n);
void nf_optim_free(nf_optim *opt);
/* Zeroes the state as if freshly created. */
void nf_optim_reset(nf_optim *opt);

/* One update: params -= f(grads, state).  Never allocates. */
void nf_optim_step(nf_optim *opt, float *params, const float *grads);

/* Changes the learning rate for later steps (schedules). */
void nf_optim_set_lr(nf_optim *opt, double lr);
double nf_optim_lr(const nf_optim *opt);
/* Steps taken so far. */
long nf_optim_steps(const nf_optim *opt);
/* Bytes of optimizer state. */
size_t nf_optim_state_bytes(const nf_optim *opt);

#ifdef __cplusplus
}
#endif
#endif
