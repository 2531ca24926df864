/* act.c — activations.  Each kind has its own loop so the compiler can vectorise it. */
#include "nnfit/act.h"

#include "simd.h"

#include <math.h>
#include <string.h>

#include "vmath.h"

static const char *const names[NF_ACT_COUNT] = {
    "linear", "relu", "leaky_relu", "elu", "selu", "gelu",
    "gelu_erf", "softplus", "tanh", "sigmoid", "swish", "abs", "prelu", "elu_learn",
};

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f
#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

const char *nf_act_name(nf_act_kind kind)
{
    return (unsigned)kind < NF_ACT_COUNT ? names[kind] : "?";
}

const char *nf_act_names(void)
{
    return "linear, relu, leaky_relu, elu, selu, gelu, gelu_erf, softplus, tanh, sigmoid, swish, "
           "abs, prelu, elu_learn";
}

float nf_act_default_param(nf_act_kind kind)
{
    if (kind == NF_ACT_LEAKY_RELU) return 0.01f;
    if (kind == NF_ACT_ELU || kind == NF_ACT_ELU_LEARN) return 1.0f;
    if (kind == NF_ACT_PRELU) return 0.25f; /* torch.nn.PReLU's init */
    return 0.0f;
}

int nf_act_learnable(nf_act_kind kind) { return kind == NF_ACT_PRELU || kind == NF_ACT_ELU_LEARN; }

const char *nf_act_param_name(nf_act_kind kind)
{
    return kind == NF_ACT_PRELU ? "weight" : kind == NF_ACT_ELU_LEARN ? "alpha" : NULL;
}

nf_status nf_act_parse(const char *name, nf_act_spec *spec)
{
    static const struct {
        const char *alias;
        nf_act_kind kind;
    } aliases[] = {{"silu", NF_ACT_SWISH},
                   {"identity", NF_ACT_LINEAR},
                   {"none", NF_ACT_LINEAR},
                   {"gelu_tanh", NF_ACT_GELU}};
    for (int k = 0; k < NF_ACT_COUNT; k++)
        if (!strcmp(name, names[k])) {
            spec->kind = (nf_act_kind)k;
            spec->param = nf_act_default_param(spec->kind);
            return NF_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i].alias)) {
            spec->kind = aliases[i].kind;
            spec->param = nf_act_default_param(spec->kind);
            return NF_OK;
        }
    return nf_fail(NF_EINVAL, "unknown activation '%s' (valid: %s)", name, nf_act_names());
}

int nf_act_needs_z(nf_act_kind kind)
{
    switch (kind) {
    case NF_ACT_LINEAR:
    case NF_ACT_RELU:
    case NF_ACT_ELU:
    case NF_ACT_SELU:
    case NF_ACT_TANH:
    case NF_ACT_SIGMOID:
        return 0;
    default:
        return 1;
    }
}

/* exp-based kinds use the branch-free vmath.h functions so their loops vectorise. */
static inline float sigmoidf(float x) { return nf_vsigmoidf(x); }

static inline float gelu_tanhf(float x)
{
    return 0.5f * x * (1.0f + nf_vtanhf(GELU_K * (x + GELU_C * x * x * x)));
}

static inline float gelu_erff(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

/* The exp-based loops are arithmetic-bound: compiled for AVX-512, AVX2 and baseline (simd.h). */
#define NF_ACT_CLONES NF_CLONES

NF_ACT_CLONES void nf_act_forward(const nf_act_spec *spec, const float *z, float *a, size_t n)
{
    const float p = spec->param;
    switch (spec->kind) {
    case NF_ACT_LINEAR:
        if (a != z) memmove(a, z, n * sizeof(float));
        break;
    case NF_ACT_RELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0.0f ? z[i] : 0.0f;
        break;
    case NF_ACT_LEAKY_RELU:
    case NF_ACT_PRELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0.0f ? z[i] : p * z[i];
        break;
    case NF_ACT_ELU:
    case NF_ACT_ELU_LEARN:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0.0f ? z[i] : p * nf_vexpm1f(z[i] < 0.0f ? z[i] : 0.0f);
        break;
    case NF_ACT_SELU:
        for (size_t i = 0; i < n; i++)
            a[i] = SELU_SCALE * (z[i] > 0.0f ? z[i] : SELU_ALPHA * nf_vexpm1f(z[i] < 0.0f ? z[i] : 0.0f));
        break;
    case NF_ACT_GELU:
        for (size_t i = 0; i < n; i++) a[i] = gelu_tanhf(z[i]);
        break;
    case NF_ACT_GELU_ERF:
        for (size_t i = 0; i < n; i++) a[i] = gelu_erff(z[i]);
        break;
    case NF_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) a[i] = nf_vsoftplusf(z[i]);
        break;
    case NF_ACT_TANH:
        for (size_t i = 0; i < n; i++) a[i] = nf_vtanhf(z[i]);
        break;
    case NF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) a[i] = sigmoidf(z[i]);
        break;
    case NF_ACT_SWISH:
        for (size_t i = 0; i < n; i++) a[i] = z[i] * sigmoidf(z[i]);
        break;
    case NF_ACT_ABS:
        for (size_t i = 0; i < n; i++) a[i] = fabsf(z[i]);
        break;
    default:
        break;
    }
}

NF_CLONES void nf_act_bias_forward(const nf_act_spec *spec, float *Z, const float *b, int rows, int cols,
                         float *A)
{
    const size_t c = (size_t)cols, n = (size_t)rows * c;
    /* The common kinds get one fused pass; the rest add the bias, then run the activation
     * over the whole block in one call. */
    if (b && spec->kind == NF_ACT_LINEAR) {
        for (int r = 0; r < rows; r++) {
            float *z = Z + (size_t)r * c, *a = A + (size_t)r * c;
            if (a == z) {
                for (size_t j = 0; j < c; j++) z[j] += b[j];
            } else {
                for (size_t j = 0; j < c; j++) a[j] = z[j] = z[j] + b[j];
            }
        }
        return;
    }
    if (b && spec->kind == NF_ACT_RELU && A == Z) {
        for (int r = 0; r < rows; r++) {
            float *restrict z = Z + (size_t)r * c;
            for (size_t j = 0; j < c; j++) {
                float v = z[j] + b[j];
                z[j] = v > 0.0f ? v : 0.0f;
            }
        }
        return;
    }
    if (b)
        for (int r = 0; r < rows; r++) {
            float *restrict z = Z + (size_t)r * c;
            for (size_t j = 0; j < c; j++) z[j] += b[j];
        }
    nf_act_forward(spec, Z, A, n);
}

NF_ACT_CLONES void nf_act_backward(const nf_act_spec *spec, const float *z, const float *a, float *d, size_t n)
{
    const float p = spec->param;
    switch (spec->kind) {
    case NF_ACT_LINEAR:
        break;
    case NF_ACT_RELU:
        for (size_t i = 0; i < n; i++) d[i] = a[i] > 0.0f ? d[i] : 0.0f;
        break;
    case NF_ACT_LEAKY_RELU:
    case NF_ACT_PRELU:
        for (size_t i = 0; i < n; i++) d[i] *= z[i] > 0.0f ? 1.0f : p;
        break;
    case NF_ACT_ELU: /* for z <= 0: d/dz alpha(e^z - 1) = a + alpha */
        for (size_t i = 0; i < n; i++) d[i] *= a[i] > 0.0f ? 1.0f : a[i] + p;
        break;
    case NF_ACT_ELU_LEARN: /* alpha may reach 0 or below: the branch is taken on z */
        for (size_t i = 0; i < n; i++) d[i] *= z[i] > 0.0f ? 1.0f : a[i] + p;
        break;
    case NF_ACT_SELU:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] > 0.0f ? SELU_SCALE : a[i] + SELU_SCALE * SELU_ALPHA;
        break;
    case NF_ACT_GELU:
        for (size_t i = 0; i < n; i++) {
            float x = z[i], x2 = x * x;
            float t = nf_vtanhf(GELU_K * (x + GELU_C * x2 * x));
            float dt = (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x2);
            d[i] *= 0.5f * (1.0f + t) + 0.5f * x * dt;
        }
        break;
    case NF_ACT_GELU_ERF:
        for (size_t i = 0; i < n; i++) {
            float x = z[i];
            float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
            float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
            d[i] *= cdf + x * pdf;
        }
        break;
    case NF_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) d[i] *= sigmoidf(z[i]);
        break;
    case NF_ACT_TANH:
        for (size_t i = 0; i < n; i++) d[i] *= 1.0f - a[i] * a[i];
        break;
    case NF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) d[i] *= a[i] * (1.0f - a[i]);
        break;
    case NF_ACT_SWISH:
        for (size_t i = 0; i < n; i++) {
            float s = sigmoidf(z[i]);
            d[i] *= s * (1.0f + z[i] * (1.0f - s));
        }
        break;
    case NF_ACT_ABS:
        for (size_t i = 0; i < n; i++)
            d[i] *= z[i] > 0.0f ? 1.0f : (z[i] < 0.0f ? -1.0f : 0.0f);
        break;
    default:
        break;
    }
}

/* ---- one learnable parameter per unit ---- */

NF_ACT_CLONES void nf_act_unit_forward(nf_act_kind kind, float *Z, const float *b, const float *p,
                                       int rows, int cols, float *A)
{
    const size_t c = (size_t)cols;
    for (int r = 0; r < rows; r++) {
        float *restrict z = Z + (size_t)r * c, *restrict a = A + (size_t)r * c;
        if (b)
            for (size_t j = 0; j < c; j++) z[j] += b[j];
        if (kind == NF_ACT_PRELU)
            for (size_t j = 0; j < c; j++) a[j] = z[j] > 0.0f ? z[j] : p[j] * z[j];
        else
            for (size_t j = 0; j < c; j++)
                a[j] = z[j] > 0.0f ? z[j] : p[j] * nf_vexpm1f(z[j] < 0.0f ? z[j] : 0.0f);
    }
}

/* dp is summed in float row by row, as the dense layer sums db. */
NF_ACT_CLONES void nf_act_unit_backward(nf_act_kind kind, const float *Z, const float *A, const float *p,
                                        float *dA, int rows, int cols, float *dp, int accumulate)
{
    const size_t c = (size_t)cols;
    if (dp && !accumulate) memset(dp, 0, c * sizeof(float));
    for (int r = 0; r < rows; r++) {
        const float *restrict z = Z + (size_t)r * c, *restrict a = A + (size_t)r * c;
        float *restrict d = dA + (size_t)r * c;
        if (kind == NF_ACT_PRELU) { /* ∂a/∂p = min(z, 0) */
            if (dp)
                for (size_t j = 0; j < c; j++) dp[j] += z[j] > 0.0f ? 0.0f : d[j] * z[j];
            for (size_t j = 0; j < c; j++) d[j] *= z[j] > 0.0f ? 1.0f : p[j];
        } else { /* ∂a/∂p = e^z − 1 for z <= 0; ∂a/∂z = p·e^z = a + p there */
            if (dp)
                for (size_t j = 0; j < c; j++)
                    dp[j] += z[j] > 0.0f ? 0.0f : d[j] * nf_vexpm1f(z[j] < 0.0f ? z[j] : 0.0f);
            for (size_t j = 0; j < c; j++) d[j] *= z[j] > 0.0f ? 1.0f : a[j] + p[j];
        }
    }
}
