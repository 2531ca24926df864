/* act.h — activation functions over flat arrays, with a name table for the CLI.
 *
 * Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope. */
#ifndef NNFIT_ACT_H
#define NNFIT_ACT_H

#include <stddef.h>

#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_ACT_LINEAR = 0,
    NF_ACT_RELU,
    NF_ACT_LEAKY_RELU, /* param: negative slope, default 0.01 (PyTorch) */
    NF_ACT_ELU,        /* param: alpha, default 1.0 */
    NF_ACT_SELU,       /* fixed constants of Klambauer et al. 2017 */
    NF_ACT_GELU,       /* tanh approximation (PyTorch approximate='tanh') */
    NF_ACT_GELU_ERF,   /* exact x·Φ(x) */
    NF_ACT_SOFTPLUS,   /* log(1 + e^x), beta 1, linear above 20 as PyTorch */
    NF_ACT_TANH,
    NF_ACT_SIGMOID,
    NF_ACT_SWISH,      /* x·sigmoid(x), a.k.a. SiLU */
    NF_ACT_ABS,
    NF_ACT_COUNT
} nf_act_kind;

typedef struct {
    nf_act_kind kind;
    float param; /* slope for leaky_relu, alpha for elu; ignored otherwise */
} nf_act_spec;

/* Canonical name ("relu", "leaky_relu", ...). */
const char *nf_act_name(nf_act_kind kind);
/* Parses a name (also accepts "silu" for swish, "identity"/"none" for linear, "gelu_tanh");
 * fills spec with the default parameter.  NF_EINVAL with the valid names in the detail. */
nf_status nf_act_parse(const char *name, nf_act_spec *spec);
/* Default parameter of a kind (0 when it has none). */
float nf_act_default_param(nf_act_kind kind);
/* Comma-separated list of all names, for help texts. */
const char *nf_act_names(void);

/* Whether the derivative needs the pre-activation Z; when 0 it is computed from A alone and
 * the forward pass may run in place (A == Z). */
int nf_act_needs_z(nf_act_kind kind);

/* Fused bias + activation over a row-major [rows, cols] block:
 * Z[r,c] += b[c] (b may be NULL), then A = act(Z).  A may equal Z when !nf_act_needs_z. */
void nf_act_bias_forward(const nf_act_spec *spec, float *Z, const float *b, int rows, int cols,
                         float *A);

/* Plain activation of n values: a = act(z); a may equal z. */
void nf_act_forward(const nf_act_spec *spec, const float *z, float *a, size_t n);

/* d[i] *= act'(z[i]) for n values, using z and/or a = act(z) (z may be NULL when
 * !nf_act_needs_z). */
void nf_act_backward(const nf_act_spec *spec, const float *z, const float *a, float *d, size_t n);

#ifdef __cplusplus
}
#endif
#endif
