/* inspect.c — `nnfit inspect`: architecture, metadata and weight statistics of a model, and
 * with --task/--data the per-unit neuron diagnostics (nf_diag_units) over that data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "sweep_cli.h"

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

static void help(void)
{
    printf("usage: nnfit inspect MODEL.safetensors [--task NAME [--n N] [--data-seed S] | --data FILE [--inputs K]]\n\n"
           "Prints the architecture, the metadata and per-layer weight statistics.  With data it also\n"
           "prints every hidden unit's diagnostics over that data: the fraction of samples where its\n"
           "pre-activation z > 0, the range of z, its state (dead: z <= 0 everywhere; always-on: z > 0\n"
           "everywhere; dup(j): same kink and side as unit j; par(j): kink parallel to unit j's) and\n"
           "its outgoing weight norm, then per-layer counts.\n\n");
    opt_help(stdout, CMD_INSPECT);
    printf("  --help, --version\n");
}

/* Inputs for the diagnostics: X [rows, n_in] (owned) from --task or --data. */
static int load_inputs(const nf_model *m, const char *model_path, int have_task, nf_task_kind task,
                       int n_rows, uint64_t data_seed, const char *data_path, int inputs,
                       const nf_read_opts *ro, nf_mat *X, char *what, size_t cap)
{
    const int n_in = nf_model_n_in(m);
    char shape[256];
    nf_model_shape_str(m, shape, sizeof shape);
    nf_status st;
    if (have_task) {
        nf_task_config cfg;
        nf_task_defaults(task, &cfg);
        cfg.n_samples = n_rows;
        cfg.k = n_in; /* teacher: as wide as the model's input */
        cfg.seed = data_seed;
        int ti, to;
        nf_task_shape(&cfg, &ti, &to);
        if (ti != n_in)
            return cli_usage_error("--task %s has %d inputs but model %s (%s) takes %d", nf_task_name(task), ti,
                                   model_path, shape, n_in);
        nf_mat Y = {0};
        if ((st = nf_task_generate(&cfg, X, &Y))) return cli_status_error(st);
        nf_mat_free(&Y);
        snprintf(what, cap, "task %s, %d rows, data seed %llu", nf_task_name(task), n_rows,
                 (unsigned long long)data_seed);
        return 0;
    }
    if (inputs && inputs != n_in)
        return cli_usage_error("--inputs %d but model %s (%s) takes %d inputs", inputs, model_path, shape, n_in);
    nf_mat D = {0};
    if ((st = nf_data_read(data_path, ro, &D))) return cli_status_error(st);
    if (D.cols < n_in) {
        int rc = cli_usage_error("--data %s has %d columns but model %s (%s) takes %d inputs", data_path, D.cols,
                                 model_path, shape, n_in);
        nf_mat_free(&D);
        return rc;
    }
    if ((st = nf_mat_alloc(X, D.rows, n_in))) {
        nf_mat_free(&D);
        return cli_status_error(st);
    }
    for (int r = 0; r < D.rows; r++)
        memcpy(X->data + (size_t)r * (size_t)n_in, D.data + (size_t)r * (size_t)D.cols, (size_t)n_in * sizeof(float));
    snprintf(what, cap, "%s, %d rows, first %d of %d columns", data_path, D.rows, n_in, D.cols);
    nf_mat_free(&D);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    a.angle = -1;
    opt_list l;
    int rc = opt_parse(CMD_INSPECT, argc, argv, &l);
    if (!rc && l.help) rc = (help(), -1);
    if (!rc && l.version) rc = (printf("nnfit %s\n", NNFIT_VERSION), -1);
    if (!rc) rc = opt_apply_all(&a, &l);
    const int have_task = opt_get(&l, "task") != NULL;
    const char *model_path = l.arg;
    opt_list_free(&l);
    if (!rc && !model_path) rc = cli_usage_error("expected one argument: MODEL.safetensors");
    if (rc) return rc < 0 ? 0 : rc;
    const char *data_path = a.data;
    const int n_rows = a.run.task.n_samples, inputs = a.inputs;
    const nf_task_kind task = a.run.task.kind;
    const uint64_t data_seed = a.run.task.seed;
    nf_diag_options dopt;
    nf_diag_defaults(&dopt);
    if (a.angle >= 0) dopt.dup_angle_deg = a.angle;
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    ro.allow_nonfinite = a.allow_nonfinite;
    if (have_task && data_path) return cli_usage_error("--task and --data exclude each other");
    if (inputs && !data_path) return cli_usage_error("--inputs needs --data FILE");
    nf_model *m;
    nf_model_info info;
    nf_status st = nf_model_load(model_path, NULL, &m, &info);
    if (st) return cli_status_error(st);
    nf_mat X = {0};
    char what[1200] = "";
    if (have_task || data_path) { /* bad data fails before anything is printed */
        rc = load_inputs(m, model_path, have_task, task, n_rows, data_seed, data_path, inputs, &ro, &X, what,
                             sizeof what);
        if (rc) {
            nf_model_info_free(&info);
            nf_model_free(m);
            return rc;
        }
    }
    char shape[256];
    nf_model_shape_str(m, shape, sizeof shape);
    printf("file: %s\nbytes: %zu\nheader_bytes: %zu\nlayers: %s\nparameters: %zu\n", model_path,
           info.file_bytes, info.header_bytes, shape, nf_model_n_params(m));
    printf("activations:");
    for (int i = 0; i < nf_model_n_layers(m); i++) {
        const nf_act_spec *act = &nf_model_layer(m, i)->act;
        printf("%s%s", i ? "," : " ", nf_act_name(act->kind));
        if (act->kind == NF_ACT_LEAKY_RELU || act->kind == NF_ACT_ELU) printf("(%g)", (double)act->param);
    }
    printf("%s\n", info.acts_from_file ? ""
                                       : "  (not recorded in the file: assumed relu hidden, linear output; "
                                         "prelu/elu_learn where the file has their act tensors)");
    printf("metadata:%s\n", info.n_meta ? "" : " (none)");
    for (int i = 0; i < info.n_meta; i++) printf("  %s: %s\n", info.meta[i].key, info.meta[i].value);
    printf("weights:\n");
    for (int i = 0; i < nf_model_n_layers(m); i++) {
        const nf_dense *L = nf_model_layer(m, i);
        printf("  layers.%d: [%d, %d] %s\n", i, L->out, L->in, nf_act_name(L->act.kind));
        stats("weight", i, L->W, (size_t)L->out * (size_t)L->in);
        stats("bias", i, L->b, (size_t)L->out);
        if (L->act_p) {
            char tname[32];
            snprintf(tname, sizeof tname, "act.%s", nf_act_param_name(L->act.kind));
            stats(tname, i, L->act_p, (size_t)L->out);
        }
    }
    nf_model_info_free(&info);
    if (have_task || data_path) {
        nf_unit_diag *u = NULL;
        int nu = 0;
        if ((st = nf_diag_units(m, X.data, X.rows, &dopt, &u, &nu))) rc = cli_status_error(st);
        else {
            printf("units (on %s):\n", what);
            if (nu) cli_print_units(stdout, u, nu, dopt.dup_angle_deg);
            else printf("(no hidden layer: a linear model has no units to diagnose)\n");
        }
        free(u);
        nf_mat_free(&X);
    }
    nf_model_free(m);
    return rc;
}
