/* results_csv.h — the reader of `nnfit sweep --out` results files, for `nnfit plot`.
 *
 * The file is untrusted: every field is checked (indices and counts are bounded decimal
 * integers, losses are numbers, names use the characters option values use), so a hostile
 * file gives one error naming the file, the line and the column, never an overflow; and
 * nothing from it reaches a gnuplot script except checked names and numbers.  Columns are
 * found by their header names, so columns added later are ignored. */
#ifndef NNFIT_CLI_RESULTS_CSV_H
#define NNFIT_CLI_RESULTS_CSV_H

#include "sweep_cli.h"

/* Most settings one results file may hold (each is one box of the final-loss picture). */
#define CLI_RESULTS_MAX_SETTINGS 1000

typedef struct {
    nf_trial *trials;        /* [n], ordered by setting, then restart; curve is NULL */
    long n;
    int n_settings;          /* settings present (with at least one row), in index order */
    long *first;             /* [n_settings + 1]: setting k's trials are trials[first[k] .. first[k+1]) */
    cli_setting_name *names; /* [n_settings]: "opt act init layers lr=X" (from the file) */
    int *index;              /* [n_settings]: the setting's index in the file (column 'setting') */
    double target;           /* the success threshold (column 'target', the same on every row) */
} cli_results;

/* Parses a results file's text buf[0..len); `name` is used in messages ("r.csv:12: column
 * 'restart': ...").  On failure *r is empty.  Free with cli_results_free. */
nf_status cli_results_parse(const char *buf, size_t len, const char *name, cli_results *r);
void cli_results_free(cli_results *r);

#endif
