/* inspect.c — `nnfit inspect`: architecture, metadata and weight statistics of a model. */
#include <math.h>
#include <string.h>

#include "cli.h"

static void stats(const char *what, int layer, const float *a, size_t n)
{
    double mn = INFINITY, mx = -INFINITY, sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
        sq += v * v;
    }
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    printf("  layers.%d.%-6s n=%-8zu min=% .6e max=% .6e mean=% .6e std=%.6e rms=%.6e\n", layer, what,
           n, mn, mx, mean, var > 0 ? sqrt(var) : 0.0, sqrt(sq / (double)n));
}

int cmd_inspect(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: nnfit inspect MODEL.safetensors\n\n"
               "Prints the architecture, the metadata and per-layer weight statistics.\n");
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("nnfit %s\n", NNFIT_VERSION);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage_error("expected one argument: MODEL.safetensors");
    nf_model *m;
    nf_model_info info;
    nf_status st = nf_model_load(argv[1], NULL, &m, &info);
    if (st) return cli_status_error(st);
    char shape[256];
    nf_model_shape_str(m, shape, sizeof shape);
    printf("file: %s\nbytes: %zu\nheader_bytes: %zu\nlayers: %s\nparameters: %zu\n", argv[1],
           info.file_bytes, info.header_bytes, shape, m->n_params);
    printf("activations:");
    for (int i = 0; i < m->n_layers; i++) {
        const nf_act_spec *a = &m->layers[i].act;
        printf("%s%s", i ? "," : " ", nf_act_name(a->kind));
        if (a->kind == NF_ACT_LEAKY_RELU || a->kind == NF_ACT_ELU) printf("(%g)", (double)a->param);
    }
    printf("%s\n", info.acts_from_file ? "" : "  (not recorded in the file: assumed relu hidden, linear output)");
    printf("metadata:%s\n", info.n_meta ? "" : " (none)");
    for (int i = 0; i < info.n_meta; i++) printf("  %s: %s\n", info.meta[i].key, info.meta[i].value);
    printf("weights:\n");
    for (int i = 0; i < m->n_layers; i++) {
        const nf_dense *L = &m->layers[i];
        printf("  layers.%d: [%d, %d] %s\n", i, L->out, L->in, nf_act_name(L->act.kind));
        stats("weight", i, L->W, (size_t)L->out * (size_t)L->in);
        stats("bias", i, L->b, (size_t)L->out);
    }
    nf_model_info_free(&info);
    nf_model_free(m);
    return 0;
}
