/* predict.c — `nnfit predict`: run a saved model over a CSV/.npy file. */
#include <stdlib.h>
#include <string.h>

#include "options.h"


static void help(void)
{
    printf("usage: nnfit predict --model M.safetensors --data X.csv|X.npy [--out Y.csv|Y.npy]\n\n"
           "Writes one row of model outputs per data row (CSV on stdout when --out is missing).\n"
           "The data has either exactly the model's inputs per row, or inputs followed by targets\n"
           "(as `nnfit data` writes it); with targets the MSE is printed on stderr.\n\n");
    opt_help(stdout, CMD_PREDICT);
    printf("  --quiet                    no MSE line on stderr\n  --help, --version\n");
}

int cmd_predict(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    opt_list l;
    int rc = opt_parse(CMD_PREDICT, argc, argv, &l);
    if (!rc && l.help) rc = (help(), -1);
    if (!rc && l.version) rc = (printf("nnfit %s\n", NNFIT_VERSION), -1);
    if (!rc) rc = opt_apply_all(&a, &l);
    opt_list_free(&l);
    if (!rc && (!a.model || !a.data)) rc = cli_usage_error("--model FILE and --data FILE are required");
    if (!rc && a.out) rc = cli_out_check("out", a.out);
    if (rc) return rc < 0 ? 0 : rc;
    const char *model_path = a.model, *data_path = a.data, *out = a.out;
    const int inputs = a.inputs;
    nf_load_opts lo;
    nf_load_opts_default(&lo);
    if (a.run.act_set) lo.hidden = a.run.act;
    lo.output = a.run.out_act;
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    ro.allow_nonfinite = a.allow_nonfinite;

    nf_model *m = NULL;
    nf_mat D = {0}, X = {0}, P = {0};
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
