/* data_opts.c — reading a user's dataset for training. */
#include "data_opts.h"

#include <string.h>

enum { OPT_DATA = 3000, OPT_INPUTS, OPT_X, OPT_Y, OPT_VAL, OPT_VAL_SPLIT, OPT_ALLOW_NONFINITE };

static const struct option data_options[] = {
    {"data", required_argument, 0, OPT_DATA},
    {"inputs", required_argument, 0, OPT_INPUTS},
    {"x", required_argument, 0, OPT_X},
    {"y", required_argument, 0, OPT_Y},
    {"val", required_argument, 0, OPT_VAL},
    {"val-split", required_argument, 0, OPT_VAL_SPLIT},
    {"allow-nonfinite", no_argument, 0, OPT_ALLOW_NONFINITE},
};

void data_opts_init(data_opts *o) { memset(o, 0, sizeof *o); }

int data_opts_table(struct option *table, int count)
{
    for (size_t i = 0; i < sizeof data_options / sizeof data_options[0]; i++)
        table[count++] = data_options[i];
    return count;
}

int data_opts_handle(data_opts *o, int c, const char *arg)
{
    switch (c) {
    case OPT_DATA: o->data = arg; return 0;
    case OPT_INPUTS: return cli_int("inputs", arg, 1, 1 << 24, &o->inputs) ? 2 : 0;
    case OPT_X: o->x = arg; return 0;
    case OPT_Y: o->y = arg; return 0;
    case OPT_VAL: o->val = arg; return 0;
    case OPT_VAL_SPLIT: return cli_double("val-split", arg, 1e-9, 1.0 - 1e-9, &o->val_split) ? 2 : 0;
    case OPT_ALLOW_NONFINITE: o->allow_nonfinite = 1; return 0;
    default: return 1;
    }
}

void data_opts_help(FILE *f)
{
    fprintf(f, "your data (CSV or .npy; instead of --task):\n"
               "  --data FILE         rows of inputs then targets; needs --inputs K\n"
               "  --inputs K          the first K columns are inputs, the rest targets\n"
               "  --x FILE --y FILE   inputs and targets in two files with the same rows\n"
               "  --val FILE          validation set (same layout as the training data)\n"
               "  --val-split F       hold out a fraction F of the rows (drawn from --seed)\n"
               "  --allow-nonfinite   accept NaN/Inf cells (refused by default)\n");
}

int data_opts_given(const data_opts *o)
{
    return o->data || o->x || o->y || o->val || o->val_split > 0 || o->inputs;
}

int data_opts_check(const data_opts *o)
{
    if (!data_opts_given(o)) return 0;
    if (o->data && (o->x || o->y)) return cli_usage_error("give either --data FILE or --x FILE --y FILE, not both");
    if (!o->data && !(o->x && o->y)) {
        if (o->x || o->y) return cli_usage_error("--x and --y go together (inputs and targets)");
        return cli_usage_error("--inputs/--val/--val-split need --data FILE (or --x FILE --y FILE)");
    }
    if (o->data && !o->inputs)
        return cli_usage_error("--data %s needs --inputs K (the first K columns are inputs)", o->data);
    if (!o->data && o->inputs) return cli_usage_error("--inputs applies to --data, not --x/--y");
    if (o->val && o->val_split > 0) return cli_usage_error("give either --val FILE or --val-split F, not both");
    return 0;
}

/* Reads one file; prints the error. */
static int read_file(const data_opts *o, const char *path, nf_mat *M)
{
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    ro.allow_nonfinite = o->allow_nonfinite;
    nf_status st = nf_data_read(path, &ro, M);
    return st ? cli_status_error(st) : 0;
}

/* X/Y from --data (split by --inputs) or --x/--y. */
static int read_xy(const data_opts *o, const char *data, const char *xp, const char *yp, nf_mat *X,
                   nf_mat *Y)
{
    int rc;
    if (data) {
        nf_mat M;
        if ((rc = read_file(o, data, &M))) return rc;
        nf_status st = nf_data_split_cols(&M, o->inputs, X, Y);
        nf_mat_free(&M);
        if (st) return cli_usage_error("%s: %s", data, nf_last_error());
        return 0;
    }
    if ((rc = read_file(o, xp, X))) return rc;
    if ((rc = read_file(o, yp, Y))) {
        nf_mat_free(X);
        return rc;
    }
    if (X->rows != Y->rows) {
        rc = cli_usage_error("--x %s has %d rows but --y %s has %d; they must match", xp, X->rows, yp, Y->rows);
        nf_mat_free(X);
        nf_mat_free(Y);
    }
    return rc;
}

int data_opts_load(const data_opts *o, uint64_t split_seed, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv)
{
    *X = *Y = *Xv = *Yv = (nf_mat){0, 0, NULL, 0};
    int rc = read_xy(o, o->data, o->x, o->y, X, Y);
    if (rc) return rc;
    if (o->val) {
        if (o->data) rc = read_xy(o, o->val, NULL, NULL, Xv, Yv);
        else rc = cli_usage_error("--val needs --data (with --x/--y use --val-split)");
        if (!rc && (Xv->cols != X->cols || Yv->cols != Y->cols)) {
            rc = cli_usage_error("--val %s has %d columns, expected %d like --data %s", o->val,
                                 Xv->cols + Yv->cols, X->cols + Y->cols, o->data);
        }
    } else if (o->val_split > 0) {
        nf_mat Xt, Yt;
        nf_status st = nf_data_holdout(X, Y, o->val_split, split_seed, &Xt, &Yt, Xv, Yv);
        if (st) rc = cli_usage_error("--val-split %g: %s", o->val_split, nf_last_error());
        else {
            nf_mat_free(X);
            nf_mat_free(Y);
            *X = Xt;
            *Y = Yt;
        }
    }
    if (rc) {
        nf_mat_free(X);
        nf_mat_free(Y);
        nf_mat_free(Xv);
        nf_mat_free(Yv);
    }
    return rc;
}
