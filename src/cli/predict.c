/* predict.c — `nnfit predict`: run a saved model over a CSV/.npy file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_HELP = 'h', OPT_MODEL = 4100, OPT_DATA, OPT_OUT, OPT_INPUTS, OPT_ACT, OPT_OUT_ACT,
       OPT_ALLOW_NONFINITE, OPT_VERSION };

static void help(void)
{
    printf("usage: nnfit predict --model M.safetensors --data X.csv|X.npy [--out Y.csv|Y.npy]\n\n"
           "Writes one row of model outputs per data row (CSV on stdout when --out is missing).\n"
           "The data has either exactly the model's inputs per row, or inputs followed by targets\n"
           "(as `nnfit data` writes it); with targets the MSE is printed on stderr.\n\n"
           "  --model FILE        safetensors model (nnfit's or PyTorch's layers.{i}.weight/bias)\n"
           "  --data FILE         rows to predict\n"
           "  --inputs K          use the first K columns as inputs (default: the model's)\n"
           "  --out FILE          output file, written atomically (.npy by extension, else CSV)\n"
           "  --act NAME --out-act NAME   activations when the file does not record them\n"
           "                      (default relu hidden, linear output)\n"
           "  --allow-nonfinite   accept NaN/Inf in the data\n"
           "  --help, --version\n");
}

int cmd_predict(int argc, char **argv)
{
    static const struct option table[] = {
        {"model", required_argument, 0, OPT_MODEL},   {"data", required_argument, 0, OPT_DATA},
        {"out", required_argument, 0, OPT_OUT},       {"inputs", required_argument, 0, OPT_INPUTS},
        {"act", required_argument, 0, OPT_ACT},       {"out-act", required_argument, 0, OPT_OUT_ACT},
        {"allow-nonfinite", no_argument, 0, OPT_ALLOW_NONFINITE},
        {"help", no_argument, 0, OPT_HELP},           {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0}};
    const char *model_path = NULL, *data_path = NULL, *out = NULL;
    int inputs = 0, c;
    nf_load_opts lo;
    nf_load_opts_default(&lo);
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
        switch (c) {
        case OPT_HELP: help(); return 0;
        case OPT_VERSION: printf("nnfit %s\n", NNFIT_VERSION); return 0;
        case OPT_MODEL: model_path = optarg; break;
        case OPT_DATA: data_path = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_INPUTS: if (cli_int("inputs", optarg, 1, 1 << 24, &inputs)) return EXIT_USAGE; break;
        case OPT_ACT:
            if (nf_act_parse(optarg, &lo.hidden)) return cli_usage_error("--act: %s", nf_last_error());
            break;
        case OPT_OUT_ACT:
            if (nf_act_parse(optarg, &lo.output)) return cli_usage_error("--out-act: %s", nf_last_error());
            break;
        case OPT_ALLOW_NONFINITE: ro.allow_nonfinite = 1; break;
        case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model_path || !data_path) return cli_usage_error("--model FILE and --data FILE are required");
    if (out && cli_out_check("out", out)) return EXIT_USAGE;

    nf_model *m = NULL;
    nf_mat D = {0}, X = {0}, P = {0};
    int rc = 0;
    nf_status st = nf_model_load(model_path, &lo, &m, NULL);
    if (st) return cli_status_error(st);
    if ((st = nf_data_read(data_path, &ro, &D))) { rc = cli_status_error(st); goto done; }
    const int n_in = nf_model_n_in(m), n_out = nf_model_n_out(m);
    char shape[256];
    nf_model_shape_str(m, shape, sizeof shape);
    if (inputs && inputs != n_in) {
        rc = cli_usage_error("--inputs %d but model %s (%s) takes %d inputs", inputs, model_path, shape, n_in);
        goto done;
    }
    const int has_targets = D.cols == n_in + n_out && !(inputs && D.cols == inputs);
    if (D.cols != n_in && !has_targets && !(inputs && D.cols > inputs)) {
        rc = cli_usage_error("%s has %d columns but model %s (%s) takes %d inputs (expected %d columns, "
                             "or %d with targets)", data_path, D.cols, model_path, shape, n_in, n_in,
                             n_in + n_out);
        goto done;
    }
    if ((st = nf_mat_alloc(&X, D.rows, n_in)) || (st = nf_mat_alloc(&P, D.rows, n_out))) {
        rc = cli_status_error(st);
        goto done;
    }
    for (size_t r = 0; r < (size_t)D.rows; r++)
        memcpy(X.data + r * (size_t)n_in, D.data + r * (size_t)D.cols, (size_t)n_in * sizeof(float));
    int batch = D.rows < 4096 ? D.rows : 4096;
    if ((st = nf_model_reserve(m, batch)) || (st = nf_model_predict(m, X.data, X.rows, P.data))) {
        rc = cli_status_error(st);
        goto done;
    }
    if (has_targets) {
        double se = 0.0;
        for (size_t r = 0; r < (size_t)D.rows; r++)
            for (size_t k = 0; k < (size_t)n_out; k++) {
                double e = (double)P.data[r * (size_t)n_out + k] - (double)D.data[r * (size_t)D.cols + (size_t)n_in + k];
                se += e * e;
            }
        if (!cli_quiet)
            fprintf(stderr, "%s: %d rows, mse vs the target columns %.6e\n", cli_prog, D.rows,
                    se / ((double)D.rows * n_out));
    }
    if (out) {
        if ((st = nf_data_write(out, &P, NULL))) rc = cli_status_error(st);
    } else {
        char *text;
        size_t len;
        if ((st = nf_csv_format(&P, NULL, &text, &len))) rc = cli_status_error(st);
        else {
            fwrite(text, 1, len, stdout);
            free(text);
            if (fflush(stdout)) rc = cli_usage_error("write to stdout failed");
        }
    }
done:
    nf_model_free(m);
    nf_mat_free(&D);
    nf_mat_free(&X);
    nf_mat_free(&P);
    return rc;
}
