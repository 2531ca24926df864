/* data_opts.c — reading a user's dataset for training. */
#include "data_opts.h"

#include <string.h>

int data_opts_given(const cli_args *a)
{
    return a->data || a->x || a->y || a->val || a->run.val_split > 0 || a->inputs;
}

const char *data_opts_source(const cli_args *a) { return a->data ? a->data : a->x; }

int data_opts_check(const cli_args *a, const opt_list *l)
{
    const int files = data_opts_given(a);
    const int early = opt_get(l, "early-stop") && !opt_is_off(opt_find("early-stop"), opt_get(l, "early-stop")->value);
    if (!files) {
        if (early && !a->run.val_n)
            return cli_usage_error("--early-stop needs a validation set: --val-n N for a built-in task (or --val FILE, "
                                   "--val-split F with --data)");
        return 0;
    }
    if (opt_get(l, "task")) return cli_usage_error("give either --task or --data/--x/--y, not both");
    if (a->run.val_n) return cli_usage_error("--val-n is for built-in tasks; with files use --val FILE or --val-split F");
    if (a->data && (a->x || a->y)) return cli_usage_error("give either --data FILE or --x FILE --y FILE, not both");
    if (!a->data && !(a->x && a->y)) {
        if (a->x || a->y) return cli_usage_error("--x and --y go together (inputs and targets)");
        return cli_usage_error("--inputs, --val and --val-split need --data FILE (or --x FILE --y FILE); "
                               "a built-in task takes --val-n N for validation rows");
    }
    if (a->data && !a->inputs)
        return cli_usage_error("--data %s needs --inputs K (the first K columns are inputs)", a->data);
    if (!a->data && a->inputs) return cli_usage_error("--inputs applies to --data, not --x/--y");
    if (a->val && a->run.val_split > 0) return cli_usage_error("give either --val FILE or --val-split F, not both");
    if (a->val && !a->data) return cli_usage_error("--val needs --data (with --x/--y use --val-split)");
    if (early && !a->val && !(a->run.val_split > 0))
        return cli_usage_error("--early-stop needs a validation set: --val FILE or --val-split F");
    return 0;
}

/* Reads one file; prints the error. */
static int read_file(const cli_args *o, const char *path, nf_mat *M)
{
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    ro.allow_nonfinite = o->allow_nonfinite;
    nf_status st = nf_data_read(path, &ro, M);
    return st ? cli_status_error(st) : 0;
}

/* X/Y from --data (split by --inputs) or --x/--y. */
static int read_xy(const cli_args *o, const char *data, const char *xp, const char *yp, nf_mat *X,
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

/* --val must have --data's columns. */
static int check_val_cols(const cli_args *o, const nf_mat *X, const nf_mat *Y, const nf_mat *Xv, const nf_mat *Yv)
{
    if (Xv->cols == X->cols && Yv->cols == Y->cols) return 0;
    return cli_usage_error("--val %s has %d columns, expected %d like --data %s", o->val, Xv->cols + Yv->cols,
                           X->cols + Y->cols, o->data);
}

static void free_xy(nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv)
{
    nf_mat_free(X);
    nf_mat_free(Y);
    nf_mat_free(Xv);
    nf_mat_free(Yv);
}

int data_opts_load(const cli_args *o, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv)
{
    *X = *Y = *Xv = *Yv = (nf_mat){0, 0, NULL, 0};
    int rc = read_xy(o, o->data, o->x, o->y, X, Y);
    if (rc) return rc;
    if (o->val) {
        rc = read_xy(o, o->val, NULL, NULL, Xv, Yv);
        if (!rc) rc = check_val_cols(o, X, Y, Xv, Yv);
    }
    if (rc) free_xy(X, Y, Xv, Yv);
    return rc;
}

int data_opts_load_any(const cli_args *a, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv)
{
    if (data_opts_given(a)) return data_opts_load(a, X, Y, Xv, Yv);
    nf_status st = nf_run_task_data(&a->run, X, Y, Xv, Yv);
    return st ? cli_status_error(st) : 0;
}

/* Rows [r0, r0 + n) of M as a new matrix. */
static int slice_rows(const nf_mat *M, long r0, long n, nf_mat *out)
{
    nf_status st = nf_mat_alloc(out, (int)n, M->cols);
    if (st) return cli_status_error(st);
    if (n) memcpy(out->data, M->data + (size_t)r0 * (size_t)M->cols, (size_t)n * (size_t)M->cols * sizeof(float));
    return 0;
}

/* This rank's rows of one file: .npy by offset, CSV parsed whole and cut. */
static int read_part(const cli_args *o, const char *path, int rank, int size, nf_mat *M, long *row0, long *total)
{
    nf_read_opts ro;
    nf_read_opts_default(&ro);
    ro.allow_nonfinite = o->allow_nonfinite;
    long rows, n, cols;
    nf_status st;
    if (nf_data_format_of(path) == NF_FMT_NPY) {
        if ((st = nf_npy_shape(path, &rows, &cols))) return cli_status_error(st);
        if (rows < size)
            return cli_usage_error("%s has %ld rows, fewer than the %d ranks: every rank needs at least one", path,
                                   rows, size);
        nf_dist_rows(rows, rank, size, row0, &n);
        *total = rows;
        st = nf_npy_read_rows(path, &ro, *row0, n, M);
        return st ? cli_status_error(st) : 0;
    }
    nf_mat all;
    int rc = read_file(o, path, &all);
    if (rc) return rc;
    if (all.rows < size) {
        nf_mat_free(&all);
        return cli_usage_error("%s has %d rows, fewer than the %d ranks: every rank needs at least one", path,
                               all.rows, size);
    }
    nf_dist_rows(all.rows, rank, size, row0, &n);
    *total = all.rows;
    rc = slice_rows(&all, *row0, n, M);
    nf_mat_free(&all);
    return rc;
}

/* X/Y of this rank from --data (split by --inputs) or --x/--y. */
static int read_xy_part(const cli_args *o, const char *data, const char *xp, const char *yp, int rank, int size,
                        nf_mat *X, nf_mat *Y, long *row0, long *total)
{
    int rc;
    if (data) {
        nf_mat M;
        if ((rc = read_part(o, data, rank, size, &M, row0, total))) return rc;
        nf_status st = nf_data_split_cols(&M, o->inputs, X, Y);
        nf_mat_free(&M);
        if (st) return cli_usage_error("%s: %s", data, nf_last_error());
        return 0;
    }
    long yr0, ytotal;
    if ((rc = read_part(o, xp, rank, size, X, row0, total))) return rc;
    if ((rc = read_part(o, yp, rank, size, Y, &yr0, &ytotal))) {
        nf_mat_free(X);
        return rc;
    }
    if (ytotal != *total) {
        rc = cli_usage_error("--x %s has %ld rows but --y %s has %ld; they must match", xp, *total, yp, ytotal);
        nf_mat_free(X);
        nf_mat_free(Y);
    }
    return rc;
}

int data_opts_load_part(const cli_args *a, int rank, int size, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv,
                        long *row0, long *n_total)
{
    *X = *Y = *Xv = *Yv = (nf_mat){0, 0, NULL, 0};
    int rc;
    long vr0, vtotal, n;
    if (!data_opts_given(a)) { /* the task, generated whole on every rank (it is cheap) and cut */
        nf_mat Xa, Ya, Xva, Yva;
        nf_status st = nf_run_task_data(&a->run, &Xa, &Ya, &Xva, &Yva);
        if (st) return cli_status_error(st);
        rc = Xa.rows < size ? cli_usage_error("task %s has %d rows, fewer than the %d ranks (--n)",
                                              nf_task_name(a->run.task.kind), Xa.rows, size) : 0;
        if (!rc && Xva.rows && Xva.rows < size)
            rc = cli_usage_error("--val-n %d is fewer rows than the %d ranks", Xva.rows, size);
        if (!rc) {
            nf_dist_rows(Xa.rows, rank, size, row0, &n);
            *n_total = Xa.rows;
            rc = slice_rows(&Xa, *row0, n, X);
            if (!rc) rc = slice_rows(&Ya, *row0, n, Y);
        }
        if (!rc && Xva.rows) {
            nf_dist_rows(Xva.rows, rank, size, &vr0, &n);
            rc = slice_rows(&Xva, vr0, n, Xv);
            if (!rc) rc = slice_rows(&Yva, vr0, n, Yv);
        }
        nf_mat_free(&Xa);
        nf_mat_free(&Ya);
        nf_mat_free(&Xva);
        nf_mat_free(&Yva);
    } else {
        rc = read_xy_part(a, a->data, a->x, a->y, rank, size, X, Y, row0, n_total);
        if (!rc && a->val) {
            rc = read_xy_part(a, a->val, NULL, NULL, rank, size, Xv, Yv, &vr0, &vtotal);
            if (!rc) rc = check_val_cols(a, X, Y, Xv, Yv);
        }
    }
    if (rc) free_xy(X, Y, Xv, Yv);
    return rc;
}
