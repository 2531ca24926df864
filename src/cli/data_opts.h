/* data_opts.h — options that read a user's dataset (`--data FILE --inputs K` or `--x FILE
 * --y FILE`, `--val FILE` / `--val-split F`, `--allow-nonfinite`), shared by the subcommands
 * that train on files. */
#ifndef NNFIT_CLI_DATA_OPTS_H
#define NNFIT_CLI_DATA_OPTS_H

#include <getopt.h>

#include "cli.h"

typedef struct {
    const char *data, *x, *y, *val;
    int inputs;        /* 0: not given */
    double val_split;  /* 0: none */
    int allow_nonfinite;
} data_opts;

void data_opts_init(data_opts *o);
/* Appends the option table; returns the new count. */
int data_opts_table(struct option *table, int count);
/* 0 handled, 1 not a data option, 2 usage error (printed). */
int data_opts_handle(data_opts *o, int c, const char *arg);
void data_opts_help(FILE *f);
/* Whether the user asked for file data at all. */
int data_opts_given(const data_opts *o);
/* Checks the combination; returns 0 or EXIT_USAGE (message printed). */
int data_opts_check(const data_opts *o);
/* Reads training X/Y and, when asked, validation Xv/Yv (left empty otherwise; a --val-split
 * holds out rows drawn from split_seed).  Returns 0 or an exit status (message printed). */
int data_opts_load(const data_opts *o, uint64_t split_seed, nf_mat *X, nf_mat *Y, nf_mat *Xv,
                   nf_mat *Yv);

#endif
