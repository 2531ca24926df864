/* options.h — the one table of command-line options, and the parser every subcommand uses.
 *
 * Each row says: the option's full name, its value type, where the value lands (a field of
 * cli_args, most of them in the run description), its accepted range, which subcommands take
 * it, which optimizers/activations/losses it applies to, whether a sweep may make it a grid
 * axis (a comma-separated list; ';' for size lists and pairs), and its help.  Every program's
 * parsing, --help and validation come from it.  Options are spelled in full: an abbreviation or
 * an unknown name is refused with a suggestion. */
#ifndef NNFIT_CLI_OPTIONS_H
#define NNFIT_CLI_OPTIONS_H

#include "cli.h"
#include "nnfit/run.h"

/* Subcommands, as bits of a row's `cmds`. */
enum { CMD_TRAIN = 1, CMD_SWEEP = 2, CMD_INSPECT = 4, CMD_PREDICT = 8, CMD_DATA = 16, CMD_PLOT = 32 };

/* Everything the options of any subcommand set. */
typedef struct {
    nf_run_spec run;
    /* the user's data files */
    const char *data, *x, *y, *val;
    int inputs, allow_nonfinite;
    const char *taps;
    float *taps_owned;
    /* train */
    const char *save, *log, *init_model;
    int diag, list_optimizers;
    /* sweep */
    const char *hidden, *out, *json, *plot, *report, *journal, *tune;
    int restarts, jobs, budget, tune_restarts, select, ttt_unit;
    double halving;
    double target;
    /* other subcommands */
    const char *model;       /* predict */
    double angle;            /* inspect: duplicate/parallel threshold in degrees */
} cli_args;

typedef enum { OT_FLAG, OT_INT, OT_U64, OT_REAL, OT_FLOAT, OT_TEXT, OT_NAME, OT_HP } opt_type;

/* What an option applies to, for grid points that mix optimizers or activations. */
typedef enum { AP_ALL = 0, AP_HP, AP_ACT_PARAM, AP_HUBER, AP_MINIBATCH } opt_applies;

/* Run-description flags a row sets when given. */
typedef enum { MK_NONE = 0, MK_OPT, MK_BATCH, MK_ACT, MK_ACT_PARAM, MK_AID } opt_mark;

typedef struct opt_row {
    const char *name, *arg, *help;
    int section;
    unsigned cmds;
    opt_type type;
    size_t off;              /* field of cli_args */
    double lo, hi;
    /* OT_NAME and rows with side effects: parses text into *a; 0 or EXIT_USAGE (printed) */
    int (*parse)(cli_args *a, const struct opt_row *r, const char *text);
    char axis;               /* sweep list separator (',' or ';'), 0: not an axis */
    unsigned char zero_off;  /* "0" (or "none") means off: the option is left out */
    unsigned char applies;   /* opt_applies */
    unsigned char mark;      /* opt_mark */
    int hp;                  /* OT_HP: index of nf_opt_hparam_at */
    const char *refused;     /* why a subcommand outside cmds refuses it (NULL: generic) */
} opt_row;

/* One option as given on the command line (or by a preset). */
typedef struct {
    const opt_row *row;
    const char *value;       /* NULL for flags */
    int preset;              /* 1: from --preset (explicit options override it) */
} opt_given;

typedef struct {
    opt_given *v;
    int n;
    int help, version;
    const char *arg;         /* the one positional argument (subcommands that take one) */
} opt_list;

/* cli_args with the run description's defaults and the subcommands' own. */
void cli_args_init(cli_args *a);
void cli_args_free(cli_args *a);

/* Parses argv for subcommand `cmd`: full option names only ("--name VALUE" or "--name=VALUE";
 * -h and -q for --help and --quiet), every value kept as text; --preset NAME adds the preset's
 * options (marked preset).  Returns 0 or EXIT_USAGE (message printed: unknown options get
 * "did you mean --x?", options of another subcommand say why they do not apply). */
int opt_parse(unsigned cmd, int argc, char **argv, opt_list *out);
void opt_list_free(opt_list *l);

/* The row named `name`, NULL if none. */
const opt_row *opt_find(const char *name);

/* The last value given for row `name` (explicit over preset), NULL if not given. */
const opt_given *opt_get(const opt_list *l, const char *name);

/* Applies one value of row r to a.  0 or EXIT_USAGE (message printed). */
int opt_apply(cli_args *a, const opt_row *r, const char *text);

/* Applies every option of l in order (preset values first, explicit ones over them); options
 * that apply only to some optimizers, activations or losses after the rest, and a preset's
 * only where they apply. */
int opt_apply_all(cli_args *a, const opt_list *l);

/* Whether `nnfit sweep --tune` may tune row r: a numeric option of the model, training,
 * hyperparameter or aid sections that may be a grid axis (not --epochs, not pairs or flags). */
int opt_is_tunable(const opt_row *r);
/* The accepted range of a numeric row's values, and whether they are integers. */
void opt_range_of(const opt_row *r, double *lo, double *hi, int *integer);

/* Whether a value is the "off" value of a zero_off row. */
int opt_is_off(const opt_row *r, const char *text);

/* Whether row r applies to a run with this optimizer, activation and loss. */
int opt_applies_to(const opt_row *r, const nf_run_spec *spec);

/* Prints the help of every row subcommand `cmd` takes. */
void opt_help(FILE *f, unsigned cmd);

/* Text a preset expands to ("--init data_kink --revive-every 10 ..."), NULL if unknown. */
const char *opt_preset_text(const char *name);

/* Resolves a's run description for data of n_in inputs and n_out outputs (0: the task) and
 * refuses optimizer hyperparameters given explicitly that the optimizer does not read.
 * 0 or EXIT_USAGE (message printed). */
int cli_resolve(cli_args *a, const opt_list *l, int n_in, int n_out);

/* Reads --taps (when given) into a->run.task.  0 or an exit status. */
int cli_load_taps(cli_args *a);

/* --list-optimizers: one line per optimizer with its hyperparameters' defaults. */
void opt_list_optimizers(FILE *f);

/* Appends " --name value" (shell-quoted when needed) to buf. */
void cli_append_option(char *buf, size_t cap, const char *name, const char *value);

#endif
