/* init.h — weight initialisers.
 *
 * Uniform and normal variants follow Keras' definitions (its "normal" variants are truncated
 * normals at two standard deviations, rescaled so the variance is the nominal one);
 * torch_default is nn.Linear.reset_parameters: W and b ~ U(-1/√fan_in, 1/√fan_in).
 *
 * orthogonal is torch.nn.init.orthogonal_: a Gaussian matrix of W's shape (transposed when wide)
 * is factored A = QR (LAPACKE_sgeqrf + LAPACKE_sorgqr), each column of Q multiplied by the sign
 * of diag(R), transposed back and scaled by gain: WᵀW = gain²·I for tall W, WWᵀ for wide.
 *
 * rai is the randomized asymmetric initialisation of Lu, Shin, Su & Karniadakis, "Dying ReLU
 * and Initialization: Theory and Numerical Examples" (arXiv:1903.06733, its RAI section): per
 * neuron j the row V_j = [W_j, b_j] (fan_in + 1 values) is drawn from the symmetric
 * Q = N(0, σ²), σ = 0.6007/√fan_in, and then one entry chosen uniformly among the fan_in + 1
 * is replaced by a draw from the asymmetric P = Beta(2, 1) (positive, mean 2/3).  A constant
 * --bias-init overrides the biases afterwards. */
#ifndef NNFIT_INIT_H
#define NNFIT_INIT_H

#include "nnfit/model.h"
#include "nnfit/rng.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_INIT_GLOROT_UNIFORM = 0, /* U(±√(6/(fan_in+fan_out))), Keras default */
    NF_INIT_GLOROT_NORMAL,      /* truncated N, σ = √(2/(fan_in+fan_out)) */
    NF_INIT_HE_UNIFORM,         /* U(±√(6/fan_in)) */
    NF_INIT_HE_NORMAL,          /* truncated N, σ = √(2/fan_in) */
    NF_INIT_LECUN_UNIFORM,      /* U(±√(3/fan_in)) */
    NF_INIT_LECUN_NORMAL,       /* truncated N, σ = √(1/fan_in) */
    NF_INIT_TORCH_DEFAULT,      /* U(±1/√fan_in) for W and b */
    NF_INIT_ZEROS,
    NF_INIT_ORTHOGONAL,         /* torch.nn.init.orthogonal_: QR of a Gaussian, sign-fixed, × gain */
    NF_INIT_RAI,                /* randomized asymmetric init (Lu, Shin, Su, Karniadakis 2019) */
    NF_INIT_DATA_KINK,          /* first layer: kinks through the data (nf_init_model_data) */
    NF_INIT_COUNT
} nf_init_kind;

typedef enum {
    NF_BIAS_DEFAULT = 0, /* zeros, except torch_default's own rule */
    NF_BIAS_CONST        /* every bias = bias_value */
} nf_bias_mode;

typedef struct {
    nf_init_kind kind;
    nf_bias_mode bias_mode;
    float bias_value;
} nf_init_spec;

/* Extra settings of the newer initialisers (a separate struct so nf_init_spec literals stay
 * valid); NULL means defaults: gain 1, base glorot_uniform. */
typedef struct {
    float gain;        /* orthogonal and data_kink weight scale; 0 means 1 */
    nf_init_kind base; /* data_kink: initialiser of the layers after the first */
} nf_init_opts;

const char *nf_init_name(nf_init_kind kind);
nf_status nf_init_parse(const char *name, nf_init_kind *kind);
const char *nf_init_names(void);

/* Initialises every layer of m in order (layer 0 W row-major, layer 0 b, layer 1 W, ...);
 * per-unit activation parameters (prelu, elu_learn) are set to their spec's value and draw
 * nothing from rng.  data_kink needs the training inputs: NF_EINVAL here, use
 * nf_init_model_data. */
nf_status nf_init_model(nf_model *m, const nf_init_spec *spec, nf_rng *rng);

/* As nf_init_model, with the training inputs X [n, n_in] for data-aware initialisers
 * (others ignore X).  data_kink: first-layer unit j gets the weight vector gain·u_j, with
 * u_j = (cos θ_j, sin θ_j), θ_j = φ + 2πj/out (φ uniform in [0, 2π)) for 2 inputs and a uniformly
 * random unit direction otherwise; its bias is −median_k(gain·u_j·x_k), so its kink passes
 * through the data and it is active on half the samples.  Later layers use opts->base (with
 * spec's bias rule).  Allocates n floats for the median. */
nf_status nf_init_model_data(nf_model *m, const nf_init_spec *spec, const nf_init_opts *opts,
                             const float *X, int n, nf_rng *rng);

/* Data-kink rule for one unit: w [in] = gain · random unit direction (angle θ for in == 2,
 * uniform direction otherwise), *b = −median(w·x) over X; scratch holds n floats. */
void nf_init_kink_unit(int in, float gain, double theta, const float *X, int n, float *w, float *b,
                       float *scratch, nf_rng *rng);

/* The spec's rule for one layer (orthogonal with opts->gain; data_kink falls back to
 * opts->base: the data rule is nf_init_kink_unit).  Fails if orthogonal's QR does. */
nf_status nf_init_layer_spec(const nf_init_spec *spec, const nf_init_opts *opts, int in, int out,
                             float *W, float *b, nf_rng *rng);

/* Initialises one [out, in] weight block and its bias as layer initialisation does
 * (orthogonal with gain 1, allocating for its QR; data_kink as glorot_uniform). */
void nf_init_layer(nf_init_kind kind, nf_bias_mode bias_mode, float bias_value, int in, int out,
                   float *W, float *b, nf_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
