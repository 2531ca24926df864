/* init.c — weight initialisers. */
#include "nnfit/init.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[NF_INIT_COUNT] = {
    "glorot_uniform", "glorot_normal", "he_uniform",    "he_normal",
    "lecun_uniform",  "lecun_normal",  "torch_default", "zeros",
    "orthogonal",     "rai",           "data_kink",
};

const char *nf_init_name(nf_init_kind kind)
{
    return (unsigned)kind < NF_INIT_COUNT ? names[kind] : "?";
}

const char *nf_init_names(void)
{
    return "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, "
           "torch_default, zeros, orthogonal, rai, data_kink";
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

/* torch.nn.init.orthogonal_ for W [out, in]: QR of the tall Gaussian matrix (rows = max,
 * cols = min of the shape; the transpose when W is wide), Q's columns times sign(diag R). */
static nf_status orthogonal(int in, int out, float gain, float *W, nf_rng *rng)
{
    const int wide = out < in;
    const int rows = wide ? in : out, cols = wide ? out : in;
    const size_t n = (size_t)rows * (size_t)cols;
    float *A = malloc(n * sizeof(float)), *tau = malloc((size_t)cols * sizeof(float));
    float *sgn = malloc((size_t)cols * sizeof(float));
    if (!A || !tau || !sgn) {
        free(A);
        free(tau);
        free(sgn);
        return nf_fail(NF_ENOMEM, "orthogonal init: cannot allocate %d×%d", rows, cols);
    }
    /* torch draws the flattened [out, in] tensor and transposes it when wide */
    for (int r = 0; r < out; r++)
        for (int c = 0; c < in; c++) {
            float v = (float)nf_rng_normal(rng);
            if (wide) A[(size_t)c * (size_t)cols + (size_t)r] = v;
            else A[(size_t)r * (size_t)cols + (size_t)c] = v;
        }
    lapack_int info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, rows, cols, A, cols, tau);
    for (int k = 0; k < cols && !info; k++) {
        float d = A[(size_t)k * (size_t)cols + (size_t)k];
        sgn[k] = d < 0.0f ? -1.0f : d > 0.0f ? 1.0f : 0.0f; /* torch: d.sign() */
    }
    if (!info) info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, rows, cols, cols, A, cols, tau);
    if (!info)
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float q = A[(size_t)r * (size_t)cols + (size_t)c] * sgn[c] * gain;
                if (wide) W[(size_t)c * (size_t)in + (size_t)r] = q;
                else W[(size_t)r * (size_t)in + (size_t)c] = q;
            }
    free(A);
    free(tau);
    free(sgn);
    if (info) return nf_fail(NF_EINVAL, "orthogonal init: LAPACK QR failed (info %d)", (int)info);
    return NF_OK;
}

/* Lu et al. 2019 (arXiv:1903.06733, RAI): row [W_j, b_j] from N(0, σ²), σ = 0.6007/√fan_in,
 * then one uniformly chosen entry replaced by a Beta(2, 1) draw (√U: its CDF is x²). */
static void rai(int in, int out, float *W, float *b, nf_rng *rng)
{
    const double sigma = 0.6007 / sqrt((double)in);
    for (int j = 0; j < out; j++) {
        for (int c = 0; c < in; c++) W[(size_t)j * (size_t)in + (size_t)c] = (float)(sigma * nf_rng_normal(rng));
        b[j] = (float)(sigma * nf_rng_normal(rng));
        int k = (int)nf_rng_below(rng, (uint64_t)in + 1);
        float beta = (float)sqrt(nf_rng_uniform(rng));
        if (k == in) b[j] = beta;
        else W[(size_t)j * (size_t)in + (size_t)k] = beta;
    }
}

static void plain_layer(nf_init_kind kind, nf_bias_mode bias_mode, float bias_value, int in,
                        int out, float *W, float *b, nf_rng *rng)
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

static const nf_init_opts default_opts = {1.0f, NF_INIT_GLOROT_UNIFORM};

nf_status nf_init_layer_spec(const nf_init_spec *spec, const nf_init_opts *opts, int in, int out,
                             float *W, float *b, nf_rng *rng)
{
    if (!opts) opts = &default_opts;
    nf_init_kind kind = spec->kind == NF_INIT_DATA_KINK ? opts->base : spec->kind;
    float gain = opts->gain != 0.0f ? opts->gain : 1.0f;
    if (kind == NF_INIT_ORTHOGONAL) {
        nf_status st = orthogonal(in, out, gain, W, rng);
        if (st) return st;
        for (int j = 0; j < out; j++) b[j] = spec->bias_mode == NF_BIAS_CONST ? spec->bias_value : 0.0f;
        return NF_OK;
    }
    if (kind == NF_INIT_RAI) {
        rai(in, out, W, b, rng);
        if (spec->bias_mode == NF_BIAS_CONST)
            for (int j = 0; j < out; j++) b[j] = spec->bias_value;
        return NF_OK;
    }
    if (kind == NF_INIT_DATA_KINK) kind = NF_INIT_GLOROT_UNIFORM;
    plain_layer(kind, spec->bias_mode, spec->bias_value, in, out, W, b, rng);
    return NF_OK;
}

void nf_init_layer(nf_init_kind kind, nf_bias_mode bias_mode, float bias_value, int in, int out,
                   float *W, float *b, nf_rng *rng)
{
    nf_init_spec s = {kind, bias_mode, bias_value};
    if (nf_init_layer_spec(&s, NULL, in, out, W, b, rng)) /* orthogonal out of memory: Gaussian rows */
        plain_layer(NF_INIT_LECUN_NORMAL, bias_mode, bias_value, in, out, W, b, rng);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void nf_init_kink_unit(int in, float gain, double theta, const float *X, int n, float *w, float *b,
                       float *scratch, nf_rng *rng)
{
    if (in == 2) {
        w[0] = (float)cos(theta);
        w[1] = (float)sin(theta);
    } else {
        double norm2;
        do {
            norm2 = 0.0;
            for (int c = 0; c < in; c++) {
                double v = nf_rng_normal(rng);
                w[c] = (float)v;
                norm2 += v * v;
            }
        } while (norm2 < 1e-12);
        double inv = 1.0 / sqrt(norm2);
        for (int c = 0; c < in; c++) w[c] = (float)(w[c] * inv);
    }
    for (int c = 0; c < in; c++) w[c] *= gain;
    for (int k = 0; k < n; k++) {
        double z = 0.0;
        for (int c = 0; c < in; c++) z += (double)w[c] * (double)X[(size_t)k * (size_t)in + (size_t)c];
        scratch[k] = (float)z;
    }
    qsort(scratch, (size_t)n, sizeof(float), cmp_float);
    double med = n % 2 ? scratch[n / 2] : 0.5 * ((double)scratch[n / 2 - 1] + (double)scratch[n / 2]);
    *b = (float)-med;
}

static nf_status check_spec(const nf_init_spec *spec, const nf_init_opts *opts)
{
    if ((unsigned)spec->kind >= NF_INIT_COUNT) return nf_fail(NF_EINVAL, "bad initialiser %d", spec->kind);
    if ((unsigned)opts->base >= NF_INIT_COUNT || opts->base == NF_INIT_DATA_KINK)
        return nf_fail(NF_EINVAL, "data_kink needs a base initialiser other than data_kink");
    if (!isfinite(spec->bias_value)) return nf_fail(NF_EINVAL, "bias init value must be finite");
    if (!isfinite(opts->gain)) return nf_fail(NF_EINVAL, "init gain must be finite");
    return NF_OK;
}

/* Per-unit activation parameters (prelu, elu_learn) start at their spec's value. */
static void reset_act_params(nf_model *m)
{
    for (int i = 0; i < nf_model_n_layers(m); i++) {
        const nf_dense *L = nf_model_layer(m, i);
        for (int j = 0; L->act_p && j < L->out; j++) L->act_p[j] = L->act.param;
    }
}

nf_status nf_init_model(nf_model *m, const nf_init_spec *spec, nf_rng *rng)
{
    nf_status st = check_spec(spec, &default_opts);
    if (st) return st;
    if (spec->kind == NF_INIT_DATA_KINK)
        return nf_fail(NF_EINVAL, "data_kink needs the training inputs (nf_init_model_data)");
    for (int i = 0; i < nf_model_n_layers(m) && !st; i++) {
        const nf_dense *L = nf_model_layer(m, i);
        st = nf_init_layer_spec(spec, NULL, L->in, L->out, L->W, L->b, rng);
    }
    reset_act_params(m);
    return st;
}

nf_status nf_init_model_data(nf_model *m, const nf_init_spec *spec, const nf_init_opts *opts,
                             const float *X, int n, nf_rng *rng)
{
    if (!opts) opts = &default_opts;
    nf_status st = check_spec(spec, opts);
    if (st) return st;
    if (spec->kind != NF_INIT_DATA_KINK) {
        for (int i = 0; i < nf_model_n_layers(m) && !st; i++) {
            const nf_dense *L = nf_model_layer(m, i);
            st = nf_init_layer_spec(spec, opts, L->in, L->out, L->W, L->b, rng);
        }
        reset_act_params(m);
        return st;
    }
    if (!X || n < 1) return nf_fail(NF_EINVAL, "data_kink needs at least one training row");
    float *scratch = malloc((size_t)n * sizeof(float));
    if (!scratch) return nf_fail(NF_ENOMEM, "data_kink: cannot allocate %d floats", n);
    const nf_dense *L = nf_model_layer(m, 0);
    const float gain = opts->gain != 0.0f ? opts->gain : 1.0f;
    const double phi = nf_rng_range(rng, 0.0, 2.0 * M_PI);
    for (int j = 0; j < L->out; j++)
        nf_init_kink_unit(L->in, gain, phi + 2.0 * M_PI * j / L->out, X, n,
                          L->W + (size_t)j * (size_t)L->in, &L->b[j], scratch, rng);
    free(scratch);
    for (int i = 1; i < nf_model_n_layers(m) && !st; i++) {
        L = nf_model_layer(m, i);
        st = nf_init_layer_spec(spec, opts, L->in, L->out, L->W, L->b, rng);
    }
    reset_act_params(m);
    return st;
}
