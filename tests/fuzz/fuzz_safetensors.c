/* fuzz_safetensors.c — libFuzzer target for the safetensors reader.  A model that loads must
 * save and load again to the same architecture and parameters, and run a forward pass. */
#include <stdlib.h>
#include <string.h>

#include "nnfit/model_io.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    nf_model *m = NULL, *r = NULL;
    nf_model_info info;
    if (nf_model_from_safetensors(data, size, "fuzz.safetensors", NULL, &m, &info)) return 0;
    unsigned char *b;
    size_t n;
    if (nf_model_to_safetensors(m, NULL, 0, &b, &n)) __builtin_trap();
    if (nf_model_from_safetensors(b, n, "again.safetensors", NULL, &r, NULL)) __builtin_trap();
    if (r->n_layers != m->n_layers || r->n_params != m->n_params ||
        memcmp(r->sizes, m->sizes, sizeof(int) * (size_t)(m->n_layers + 1)) ||
        memcmp(r->params, m->params, m->n_params * sizeof(float)))
        __builtin_trap();
    if ((size_t)m->sizes[0] * (size_t)m->n_params < (1u << 20) && !nf_model_reserve(m, 2)) {
        float *x = calloc((size_t)m->sizes[0] * 2, sizeof(float));
        if (x && nf_model_forward(m, x, 2)) __builtin_trap();
        free(x);
    }
    free(b);
    nf_model_info_free(&info);
    nf_model_free(m);
    nf_model_free(r);
    return 0;
}
