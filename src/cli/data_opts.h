/* data_opts.h — reading a user's dataset (`--data FILE --inputs K` or `--x FILE --y FILE`,
 * `--val FILE` / `--val-split F`, `--allow-nonfinite`) for the subcommands that train on files.
 * The options themselves are rows of the option table (options.h). */
#ifndef NNFIT_CLI_DATA_OPTS_H
#define NNFIT_CLI_DATA_OPTS_H

#include "options.h"

/* Whether the user asked for file data at all. */
int data_opts_given(const cli_args *a);
/* Checks the combination of data options (files, --task, --val-n, --early-stop's validation
 * set); returns 0 or EXIT_USAGE (message printed). */
int data_opts_check(const cli_args *a, const opt_list *l);
/* Reads training X/Y and, when asked, validation Xv/Yv (left empty otherwise; a --val-split
 * is done by nf_run, from the run's split stream).  0 or an exit status (message printed). */
int data_opts_load(const cli_args *a, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv);
/* Training and validation data of a run: the files, or the built-in task's rows. */
int data_opts_load_any(const cli_args *a, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv);
/* Data-parallel (rank of size ranks): this rank's rows [*row0, *row0 + X->rows) of the *n_total
 * training rows, an even split in rank order (nf_dist_rows), and its share of the validation
 * rows, split the same way.  .npy files are read by offset: the header and this rank's rows'
 * bytes, nothing else.  A CSV file is parsed whole by every rank, which keeps its rows: a CSV
 * row has no fixed offset (finding row k means reading every line before it, and which lines
 * are rows depends on comments, blank lines and the header), so for data that does not fit one
 * machine use .npy.  A built-in task is generated whole on every rank and cut the same way.
 * Every rank needs at least one row.  0 or an exit status (message printed). */
int data_opts_load_part(const cli_args *a, int rank, int size, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv,
                        long *row0, long *n_total);
/* Name of the data source for output ("abs" or the file). */
const char *data_opts_source(const cli_args *a);

#endif
