/* data.c — `nnfit data`: export a built-in task's dataset as CSV or .npy. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "train_opts.h"

enum { OPT_HELP = 'h', OPT_QUIET = 'q', OPT_OUT = 4000, OPT_VERSION };

/* task options of train_opts that apply here */
static const char *const task_option_names[] = {"task", "n", "frame", "taps", "fir-single",
                                                "dft-complex", "dft-full", "orthonormal", "data-seed", "k"};

static void help(void)
{
    printf("usage: nnfit data --task NAME --out FILE.csv|FILE.npy [task options]\n\n"
           "Writes a built-in task's dataset: each row holds the inputs x0.. then the targets y0..\n"
           "(CSV gets a header line; .npy is float32 [rows, inputs + targets]).  Train on it with\n"
           "  nnfit train --data FILE --inputs K   (K = number of inputs, printed on stdout)\n\n"
           "  --task NAME         %s (default abs)\n"
           "  --n N               rows (default 4096; teacher 8192)\n"
           "  --k K               teacher: x ~ N(0, I_K), y = sum relu(x_i) (default 10)\n"
           "  --frame N           fir/dft/spectrum frame length (default 64)\n"
           "  --taps FILE         fir taps (default: 31-tap low-pass)\n"
           "  --fir-single --dft-complex --dft-full --orthonormal   task variants as in train\n"
           "  --data-seed S       seed of the generated data (default 1)\n"
           "  --out FILE          output (.npy by extension, else CSV); written atomically\n"
           "  --quiet, --help, --version\n",
           nf_task_names());
}

int cmd_data(int argc, char **argv)
{
    struct option all[160], table[32];
    int n_all = train_opts_table(all, 0), count = 0;
    for (int i = 0; i < n_all; i++)
        for (size_t k = 0; k < sizeof task_option_names / sizeof task_option_names[0]; k++)
            if (!strcmp(all[i].name, task_option_names[k])) table[count++] = all[i];
    table[count++] = (struct option){"out", required_argument, 0, OPT_OUT};
    table[count++] = (struct option){"quiet", no_argument, 0, OPT_QUIET};
    table[count++] = (struct option){"help", no_argument, 0, OPT_HELP};
    table[count++] = (struct option){"version", no_argument, 0, OPT_VERSION};
    table[count] = (struct option){0, 0, 0, 0};
    train_opts o;
    train_opts_init(&o);
    const char *out = NULL;
    int c, rc = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hq", table, NULL)) != -1) {
        if (c == OPT_HELP) { help(); train_opts_free(&o); return 0; }
        if (c == OPT_VERSION) { printf("nnfit %s\n", NNFIT_VERSION); train_opts_free(&o); return 0; }
        if (c == OPT_QUIET) { cli_quiet = 1; continue; }
        if (c == OPT_OUT) { out = optarg; continue; }
        if (c == '?') { rc = cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]); break; }
        if (c == ':') { rc = cli_usage_error("option '%s' needs a value", argv[optind - 1]); break; }
        if (train_opts_handle(&o, c, optarg)) { rc = EXIT_USAGE; break; }
    }
    if (!rc && optind < argc) rc = cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!rc && !out) rc = cli_usage_error("--out FILE.csv or FILE.npy is required");
    if (!rc) rc = train_opts_finish(&o);
    if (rc) { train_opts_free(&o); return rc; }

    nf_mat X = {0}, Y = {0}, M = {0};
    char **names = NULL;
    nf_status st = nf_task_generate(&o.task, &X, &Y);
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
    else printf("task: %s\nrows: %d\ninputs: %d\ntargets: %d\nout: %s\n", nf_task_name(o.task.kind),
                M.rows, X.cols, Y.cols, out);
    for (int i = 0; names && i < M.cols; i++) free(names[i]);
    free(names);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_mat_free(&M);
    train_opts_free(&o);
    return rc;
}
