/* act.h — activation functions over flat arrays, with a name table for the CLI.
 *
 * Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope,
 * prelu'(0) = slope.
 *
 * Two kinds learn one parameter per unit (nf_act_learnable): prelu (torch.nn.PReLU with
 * num_parameters = width: a = z for z > 0, p·z otherwise) and elu_learn (ELU whose alpha is
 * learnt per unit: a = z for z > 0, p·(e^z − 1) otherwise).  In a model the parameters live in
 * the flat parameter buffer after the layer's bias (dense.h) and start at spec.param (0.25 and
 * 1.0 by default, PyTorch's PReLU init and ELU's alpha); nf_act_unit_forward/backward take
 * them per unit.  The flat-array functions below give such a kind spec.param for every unit. */
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
    NF_ACT_PRELU,      /* learnable slope per unit, initial value param (default 0.25) */
    NF_ACT_ELU_LEARN,  /* ELU with a learnable alpha per unit, initial value param (1.0) */
    NF_ACT_COUNT
} nf_act_kind;

typedef struct {
    nf_act_kind kind;
    float param; /* slope for leaky_relu, alpha for elu, the initial per-unit value for prelu
                  * and elu_learn; ignored otherwise */
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

/* Whether the kind has a learnable parameter per unit (prelu, elu_learn); these need Z. */
int nf_act_learnable(nf_act_kind kind);
/* Name of that parameter as PyTorch gives it ("weight" for prelu, as torch.nn.PReLU; "alpha"
 * for elu_learn); NULL for other kinds. */
const char *nf_act_param_name(nf_act_kind kind);

/* Fused bias + activation over a row-major [rows, cols] block:
 * Z[r,c] += b[c] (b may be NULL), then A = act(Z).  A may equal Z when !nf_act_needs_z. */
void nf_act_bias_forward(const nf_act_spec *spec, float *Z, const float *b, int rows, int cols,
                         float *A);

/* Plain activation of n values: a = act(z); a may equal z. */
void nf_act_forward(const nf_act_spec *spec, const float *z, float *a, size_t n);

/* d[i] *= act'(z[i]) for n values, using z and/or a = act(z) (z may be NULL when
 * !nf_act_needs_z). */
void nf_act_backward(const nf_act_spec *spec, const float *z, const float *a, float *d, size_t n);

/* A learnable kind over a row-major [rows, cols] block with parameter p[c] for column c:
 * Z[r,c] += b[c] (b may be NULL), then A[r,c] = act(Z[r,c]; p[c]).  A must not alias Z. */
void nf_act_unit_forward(nf_act_kind kind, float *Z, const float *b, const float *p, int rows,
                         int cols, float *A);

/* Backward of nf_act_unit_forward: dp[c] = Σ_r dA[r,c]·∂a/∂p(Z[r,c]; p[c]) is written
 * (accumulate = 0) or added (accumulate = 1) unless dp is NULL, then dA[r,c] *= ∂a/∂z.
 * PyTorch's choices at z = 0: ∂a/∂z = p and ∂a/∂p = 0 for prelu, ∂a/∂z = p for elu_learn. */
void nf_act_unit_backward(nf_act_kind kind, const float *Z, const float *A, const float *p, float *dA,
                          int rows, int cols, float *dp, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
