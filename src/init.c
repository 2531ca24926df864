/* init.c — weight initialisers. */
#include "nnfit/init.h"

#include <math.h>
#include <string.h>

static const char *const names[NF_INIT_COUNT] = {
    "glorot_uniform", "glorot_normal", "he_uniform",    "he_normal",
    "lecun_uniform",  "lecun_normal",  "torch_default", "zeros",
};

const char *nf_init_name(nf_init_kind kind)
{
    return (unsigned)kind < NF_INIT_COUNT ? names[kind] : "?";
}

const char *nf_init_names(void)
{
    return "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, "
           "torch_default, zeros";
}

nf_status nf_init_parse(const char *name, nf_init_kind *kind)
{
    for (int k = 0; k < NF_INIT_COUNT; k++)
        if (!strcmp(name, names[k])) {
            *kind = (nf_init_kind)k;
            return NF_OK;
        }
    if (!strcmp(name, "xavier_uniform")) { *kind = NF_INIT_GLOROT_UNIFORM; return NF_OK; }
    if (!strcmp(name, "xavier_normal")) { *kind = NF_INIT_GLOROT_NORMAL; return NF_OK; }
    if (!strcmp(name, "kaiming_uniform")) { *kind = NF_INIT_HE_UNIFORM; return NF_OK; }
    if (!strcmp(name, "kaiming_normal")) { *kind = NF_INIT_HE_NORMAL; return NF_OK; }
    return nf_fail(NF_EINVAL, "unknown initialiser '%s' (valid: %s)", name, nf_init_names());
}

/* Keras' TruncatedNormal: redraw outside ±2σ; σ is divided by 0.87962566103423978 (the
 * standard deviation of a unit normal truncated at ±2) so the variance stays nominal. */
static double truncated_normal(nf_rng *rng, double stddev)
{
    double s = stddev / 0.87962566103423978;
    double x;
    do x = nf_rng_normal(rng);
    while (fabs(x) > 2.0);
    return x * s;
}

void nf_init_layer(nf_init_kind kind, nf_bias_mode bias_mode, float bias_value, int in, int out,
                   float *W, float *b, nf_rng *rng)
{
    const size_t n = (size_t)in * (size_t)out;
    const double fin = in, fout = out;
    double limit = 0.0, stddev = 0.0;
    int normal = 0;
    switch (kind) {
    case NF_INIT_GLOROT_UNIFORM: limit = sqrt(6.0 / (fin + fout)); break;
    case NF_INIT_GLOROT_NORMAL: stddev = sqrt(2.0 / (fin + fout)); normal = 1; break;
    case NF_INIT_HE_UNIFORM: limit = sqrt(6.0 / fin); break;
    case NF_INIT_HE_NORMAL: stddev = sqrt(2.0 / fin); normal = 1; break;
    case NF_INIT_LECUN_UNIFORM: limit = sqrt(3.0 / fin); break;
    case NF_INIT_LECUN_NORMAL: stddev = sqrt(1.0 / fin); normal = 1; break;
    case NF_INIT_TORCH_DEFAULT: limit = 1.0 / sqrt(fin); break;
    default: break;
    }
    for (size_t i = 0; i < n; i++)
        W[i] = (float)(normal ? truncated_normal(rng, stddev) : nf_rng_range(rng, -limit, limit));
    for (int j = 0; j < out; j++) {
        if (bias_mode == NF_BIAS_CONST)
            b[j] = bias_value;
        else if (kind == NF_INIT_TORCH_DEFAULT)
            b[j] = (float)nf_rng_range(rng, -limit, limit);
        else
            b[j] = 0.0f;
    }
}

nf_status nf_init_model(nf_model *m, const nf_init_spec *spec, nf_rng *rng)
{
    if ((unsigned)spec->kind >= NF_INIT_COUNT) return nf_fail(NF_EINVAL, "bad initialiser %d", spec->kind);
    if (!isfinite(spec->bias_value)) return nf_fail(NF_EINVAL, "bias init value must be finite");
    for (int i = 0; i < m->n_layers; i++) {
        nf_dense *L = &m->layers[i];
        nf_init_layer(spec->kind, spec->bias_mode, spec->bias_value, L->in, L->out, L->W, L->b, rng);
    }
    return NF_OK;
}
