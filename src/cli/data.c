/* data.c — `nnfit data`: export a built-in task's dataset as CSV or .npy. */
#include <stdlib.h>
#include <string.h>

#include "options.h"

static void help(void)
{
    printf("usage: nnfit data --task NAME --out FILE.csv|FILE.npy [task options]\n\n"
           "Writes a built-in task's dataset: each row holds the inputs x0.. then the targets y0..\n"
           "(CSV gets a header line; .npy is float32 [rows, inputs + targets]).  Train on it with\n"
           "  nnfit train --data FILE --inputs K   (K = number of inputs, printed on stdout)\n\n");
    opt_help(stdout, CMD_DATA);
    printf("  --quiet                    do not print the summary (task, rows, inputs, targets, out)\n  --help, --version\n");
}

int cmd_data(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    opt_list l;
    int rc = opt_parse(CMD_DATA, argc, argv, &l);
    if (!rc && l.help) rc = (help(), -1);
    if (!rc && l.version) rc = (printf("nnfit %s\n", NNFIT_VERSION), -1);
    if (!rc) rc = opt_apply_all(&a, &l);
    if (!rc && !a.out) rc = cli_usage_error("--out FILE.csv or FILE.npy is required");
    if (!rc) rc = cli_load_taps(&a);
    if (!rc && nf_task_validate(&a.run.task)) rc = cli_status_error(NF_EINVAL);
    if (!rc) rc = cli_out_check("out", a.out);
    opt_list_free(&l);
    if (rc) {
        cli_args_free(&a);
        return rc < 0 ? 0 : rc;
    }
    const char *out = a.out;
    const nf_task_config *task = &a.run.task;

    nf_mat X = {0}, Y = {0}, M = {0};
    char **names = NULL;
    nf_status st = nf_task_generate(task, &X, &Y);
    if (!st) st = nf_mat_alloc(&M, X.rows, X.cols + Y.cols);
    if (!st) {
        size_t w = (size_t)M.cols;
        for (size_t r = 0; r < (size_t)X.rows; r++) {
            memcpy(M.data + r * w, X.data + r * (size_t)X.cols, (size_t)X.cols * sizeof(float));
            memcpy(M.data + r * w + (size_t)X.cols, Y.data + r * (size_t)Y.cols, (size_t)Y.cols * sizeof(float));
        }
        names = calloc(w, sizeof *names);
        for (int i = 0; names && i < M.cols; i++) {
            names[i] = malloc(16);
            if (names[i]) snprintf(names[i], 16, "%c%d", i < X.cols ? 'x' : 'y', i < X.cols ? i : i - X.cols);
            else st = nf_fail(NF_ENOMEM, "out of memory");
        }
        if (!names) st = nf_fail(NF_ENOMEM, "out of memory");
    }
    if (!st) st = nf_data_write(out, &M, (const char *const *)names);
    if (st) rc = cli_status_error(st);
    else if (!cli_quiet) printf("task: %s\nrows: %d\ninputs: %d\ntargets: %d\nout: %s\n", nf_task_name(task->kind),
                M.rows, X.cols, Y.cols, out);
    for (int i = 0; names && i < M.cols; i++) free(names[i]);
    free(names);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_mat_free(&M);
    cli_args_free(&a);
    return rc;
}
