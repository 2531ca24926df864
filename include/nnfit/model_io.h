/* model_io.h — models in the safetensors format.
 *
 * File layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON, then the tensor data.  nnfit writes, for each dense layer i
 * (counting from 0), "layers.{i}.weight" F32 [out, in] and "layers.{i}.bias" F32 [out], and
 * for an activation with a parameter per unit its parameters F32 [out] as
 * "layers.{i}.act.weight" (prelu) or "layers.{i}.act.alpha" (elu_learn), back to back in that
 * order (the data section is the model's parameter buffer), and a "__metadata__" object of
 * strings:
 *   "format": "nnfit", "nnfit_version", "layers": "2,3,1", "activations": "relu,linear",
 *   "activation_params": "0,0" (leaky_relu slope / elu alpha per layer; the initial value for
 *   prelu and elu_learn, whose trained values are the act tensors), plus whatever key/value
 *   pairs the caller adds (training settings).
 * The header is padded with spaces to a multiple of 8 bytes, as Python's safetensors does.
 *
 * The names are PyTorch's for a module whose `layers` is a ModuleList of nn.Linear that each
 * carry their activation module as `act` (class Layer(nn.Linear) with self.act = nn.PReLU(out):
 * state_dict "layers.0.weight", "layers.0.bias", "layers.0.act.weight"; torch.nn.PReLU names
 * its slopes `weight`; a learnable-alpha ELU module names its parameter `alpha`).
 * tests/gen_torch_model.py and tests/gen_act_fixtures.py build such modules.
 *
 * Reading accepts any safetensors file whose tensors named layers.{i}.weight / .bias form a
 * chain (e.g. a PyTorch nn.Sequential of Linear layers saved under those names); tensors with
 * other names are ignored.  Validated: header length within the file (and <= 100 MB), JSON
 * syntax, every entry's dtype/shape/data_offsets, offsets inside the data section and not
 * overlapping, sizes matching shape × dtype, no missing layers.{i}.weight/bias, dtype F32,
 * weight [out, in] with in equal to the previous layer's out, bias [out], metadata "layers"
 * agreeing with the tensors, and metadata activations being known names (nf_act_parse).
 * layers.{i}.act.* must be F32 [out], or [1] (torch.nn.PReLU() with one shared slope: every
 * unit gets it), finite, and present exactly for the layers whose activation has per-unit
 * parameters.
 *
 * Activations when the file has no "activations" metadata (e.g. written from PyTorch): the
 * caller's defaults in nf_load_opts, which nf_load_opts_default sets to relu for hidden layers
 * and linear for the output layer, except that a layer with a layers.{i}.act.weight tensor is
 * prelu and one with layers.{i}.act.alpha is elu_learn (unless force_acts). */
#ifndef NNFIT_MODEL_IO_H
#define NNFIT_MODEL_IO_H

#include <stddef.h>

#include "nnfit/model.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest header we parse (Python's safetensors uses the same limit). */
#define NF_SAFETENSORS_MAX_HEADER ((size_t)100000000)

typedef struct {
    const char *key, *value;
} nf_meta_kv;

typedef struct {
    nf_act_spec hidden, output; /* used when the file does not name its activations */
    int force_acts;             /* 1: use hidden/output even if the file names activations */
} nf_load_opts;

/* relu hidden, linear output, no forcing. */
void nf_load_opts_default(nf_load_opts *o);

/* What a loaded file said besides the tensors. */
typedef struct {
    int acts_from_file;     /* activations came from the metadata */
    int n_meta;
    nf_meta_kv *meta;       /* all __metadata__ entries, in file order (owned) */
    size_t header_bytes;    /* JSON header length N */
    size_t file_bytes;
} nf_model_info;

void nf_model_info_free(nf_model_info *info);

/* Serialises m (and extra metadata pairs, which may be NULL/0) into a malloc'd buffer. */
nf_status nf_model_to_safetensors(const nf_model *m, const nf_meta_kv *extra, int n_extra,
                                  unsigned char **bytes, size_t *len);
/* Writes m to path atomically (temporary file, fsync, rename). */
nf_status nf_model_save(const char *path, const nf_model *m, const nf_meta_kv *extra, int n_extra);

/* Builds a model from safetensors bytes.  name is used in messages; o may be NULL (defaults);
 * info may be NULL. */
nf_status nf_model_from_safetensors(const unsigned char *buf, size_t len, const char *name,
                                    const nf_load_opts *o, nf_model **out, nf_model_info *info);
/* Reads a .safetensors file. */
nf_status nf_model_load(const char *path, const nf_load_opts *o, nf_model **out,
                        nf_model_info *info);

/* Value of a metadata key in info, or NULL. */
const char *nf_model_info_get(const nf_model_info *info, const char *key);

#ifdef __cplusplus
}
#endif
#endif
