/* inspect.c — `nnfit inspect`: architecture, metadata and weight statistics of a model, and
 * with --task/--data the per-unit neuron diagnostics (nf_diag_units) over that data. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
           "its outgoing weight norm, then per-layer counts.\n\n"
           "  --task NAME       built-in task's inputs (%s)\n"
           "  --n N             rows of the built-in task (default 4096, teacher 8192; teacher's k\n"
           "                    is the model's input count)\n"
           "  --data-seed S     seed of the built-in task's data (default 1, as nnfit train)\n"
           "  --data FILE       CSV or .npy: the first K columns are the inputs\n"
           "  --inputs K        input columns of FILE (default: the model's input count)\n"
           "  --angle DEG       duplicate/parallel threshold in degrees (default 1)\n"
           "  --allow-nonfinite accept NaN/Inf cells in FILE\n",
           nf_task_names());
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
        if (n_rows > 0) cfg.n_samples = n_rows;
        n_rows = cfg.n_samples;
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
    enum { OPT_TASK = 256, OPT_N, OPT_DATA_SEED, OPT_DATA, OPT_INPUTS, OPT_ANGLE, OPT_NONFINITE, OPT_HELP,
           OPT_VERSION };
    static const struct option table[] = {
        {"task", required_argument, 0, OPT_TASK},   {"n", required_argument, 0, OPT_N},
        {"data-seed", required_argument, 0, OPT_DATA_SEED},
        {"data", required_argument, 0, OPT_DATA},   {"inputs", required_argument, 0, OPT_INPUTS},
        {"angle", required_argument, 0, OPT_ANGLE}, {"allow-nonfinite", no_argument, 0, OPT_NONFINITE},
        {"help", no_argument, 0, OPT_HELP},         {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0}};
    const char *data_path = NULL, *model_path = NULL;
    int have_task = 0, n_rows = 0, inputs = 0, c;
    nf_task_kind task = NF_TASK_ABS;
    uint64_t data_seed = 1;
    nf_diag_options dopt;
    nf_diag_defaults(&dopt);
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
        switch (c) {
        case 'h':
        case OPT_HELP: help(); return 0;
        case OPT_VERSION: printf("nnfit %s\n", NNFIT_VERSION); return 0;
        case OPT_TASK:
            if (nf_task_parse(optarg, &task)) return cli_usage_error("--task: %s", nf_last_error());
            have_task = 1;
            break;
        case OPT_N: if (cli_int("n", optarg, 1, 1 << 24, &n_rows)) return EXIT_USAGE; break;
        case OPT_DATA_SEED: if (cli_u64("data-seed", optarg, &data_seed)) return EXIT_USAGE; break;
        case OPT_DATA: data_path = optarg; break;
        case OPT_INPUTS: if (cli_int("inputs", optarg, 1, 1 << 24, &inputs)) return EXIT_USAGE; break;
        case OPT_ANGLE:
            if (cli_double("angle", optarg, 0.0, 90.0, &dopt.dup_angle_deg)) return EXIT_USAGE;
            break;
        case OPT_NONFINITE: ro.allow_nonfinite = 1; break;
        case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("expected one argument: MODEL.safetensors");
    model_path = argv[optind];
    if (have_task && data_path) return cli_usage_error("--task and --data exclude each other");
    if (inputs && !data_path) return cli_usage_error("--inputs needs --data FILE");
    nf_model *m;
    nf_model_info info;
    nf_status st = nf_model_load(model_path, NULL, &m, &info);
    if (st) return cli_status_error(st);
    nf_mat X = {0};
    char what[1200] = "";
    if (have_task || data_path) { /* bad data fails before anything is printed */
        int rc = load_inputs(m, model_path, have_task, task, n_rows, data_seed, data_path, inputs, &ro, &X, what,
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
    int rc = 0;
    if (have_task || data_path) {
        nf_unit_diag *u = NULL;
        int nu = 0;
        if ((st = nf_diag_units(m, X.data, X.rows, &dopt, &u, &nu))) rc = cli_status_error(st);
        else {
            printf("units (on %s):\n", what);
            cli_print_units(stdout, u, nu, dopt.dup_angle_deg);
        }
        free(u);
        nf_mat_free(&X);
    }
    nf_model_free(m);
    return rc;
}
