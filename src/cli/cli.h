/* cli.h — helpers shared by the nnfit subcommands: errors, number parsing, progress. */
#ifndef NNFIT_CLI_H
#define NNFIT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "nnfit/nnfit.h"

#define EXIT_RUN_FAILED 1
#define EXIT_USAGE 2

/* The running subcommand's name for messages ("nnfit train"). */
extern const char *cli_prog;
extern int cli_quiet;

/* Prints "PROG: error: MSG" to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Prints "PROG: error: <nf_last_error() or nf_strerror(st)>" and returns the exit status that
 * status maps to (2 for bad input, 1 for a failed run). */
int cli_status_error(nf_status st);

/* Strict number parsing: the whole string, decimal only, in range.  Integers are digits after
 * an optional '-' (no spaces, '+', 0x or octal forms: "010" is ten); an integer beyond the range
 * is reported as such, never wrapped.  Doubles are [+-]digits[.digits][e[+-]digits]; a value
 * beyond the double range (1e400) or one that rounds to zero (1e-400) is named as such.  On
 * failure print one line naming the option and return nonzero. */
int cli_double(const char *opt, const char *text, double lo, double hi, double *out);
int cli_int(const char *opt, const char *text, long lo, long hi, int *out);
int cli_u64(const char *opt, const char *text, uint64_t *out);
/* "a,b" pair of doubles. */
int cli_pair(const char *opt, const char *text, double lo, double hi, double *a, double *b);

/* The name among names[0..n) closest to `name` (a prefix of it, or within a small edit
 * distance), NULL if none is close. */
const char *cli_closest(const char *name, const char *const *names, int n);

/* For programs that parse with getopt_long: refuses, before parsing, any --option that is not
 * spelled in full as in `table` (getopt would take a prefix), with "did you mean --x?".
 * 0 or EXIT_USAGE (message printed). */
struct option;
int cli_check_full_names(int argc, char **argv, const struct option *table);

/* Checks an output path before any work (nf_out_check): 0, or prints "PROG: error: --OPT
 * <what is wrong>" and returns EXIT_USAGE.  opt may be NULL for a positional output. */
int cli_out_check(const char *opt, const char *path);

/* Progress reporting on stderr: a bar when stderr is a terminal, else a line every 2 s. */
typedef struct {
    const char *label;
    long total;
    double t0, last;
    int tty;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, long total);
void cli_progress_update(cli_progress *p, long done, const char *extra);
void cli_progress_end(cli_progress *p);

/* Subcommands. */
int cmd_train(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
