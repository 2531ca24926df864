/* init.h — weight initialisers.
 *
 * Uniform and normal variants follow Keras' definitions (its "normal" variants are truncated
 * normals at two standard deviations, rescaled so the variance is the nominal one);
 * torch_default is nn.Linear.reset_parameters: W and b ~ U(-1/√fan_in, 1/√fan_in). */
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

const char *nf_init_name(nf_init_kind kind);
nf_status nf_init_parse(const char *name, nf_init_kind *kind);
const char *nf_init_names(void);

/* Initialises every layer of m in order (layer 0 W row-major, layer 0 b, layer 1 W, ...). */
nf_status nf_init_model(nf_model *m, const nf_init_spec *spec, nf_rng *rng);

/* Initialises one [out, in] weight block and its bias as layer initialisation does. */
void nf_init_layer(nf_init_kind kind, nf_bias_mode bias_mode, float bias_value, int in, int out,
                   float *W, float *b, nf_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
