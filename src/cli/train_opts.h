/* train_opts.h — the options of `nnfit train`, parsed into one struct so other subcommands
 * (sweep) can reuse them as fixed settings. */
#ifndef NNFIT_CLI_TRAIN_OPTS_H
#define NNFIT_CLI_TRAIN_OPTS_H

#include <getopt.h>

#include "cli.h"

typedef struct {
    nf_task_config task;
    int have_task;
    uint64_t data_seed;
    const char *taps_path;
    float *taps_owned;
    int sizes[NF_MAX_LAYERS + 1];
    int n_sizes; /* 0: task default */
    nf_act_spec act, out_act;
    int have_act;
    nf_init_spec init;
    nf_init_opts init_opts;   /* --init-gain, --init-base */
    nf_aids_config aids;      /* training aids; train.aids points here when any is given */
    int have_aids;
    int val_n;                /* --val-n: task validation rows (0 none) */
    nf_train_config train;
    int threads; /* 0: OpenBLAS default */
    const char *log_path;
    /* which options were given, to reject ones that do not apply */
    unsigned given;
    unsigned long long hp_given; /* optimizer hyperparameter options given (bit per option) */
} train_opts;

/* Bits of train_opts.given that callers look at. */
enum { TO_GIVEN_LR = 64, TO_GIVEN_EPOCHS = 128, TO_GIVEN_BATCH = 256, TO_GIVEN_ACT_PARAM = 512,
       TO_GIVEN_OPT = 2048 };

/* Options shared by train and sweep; `extra` long options come first in the returned table. */
void train_opts_init(train_opts *o);
/* Handles one getopt_long result `c` with argument `arg`.  Returns 0 if handled, 1 if not a
 * train option, 2 on a usage error (message printed). */
int train_opts_handle(train_opts *o, int c, const char *arg);
/* Validates and fills defaults that depend on the task.  Returns 0 or EXIT_USAGE. */
int train_opts_finish(train_opts *o);
void train_opts_free(train_opts *o);
/* Appends the train option table to `table` (which has room); returns the new count. */
int train_opts_table(struct option *table, int count);
/* Help text for the shared options. */
void train_opts_help(FILE *f);
/* Entries train_opts_table appends (for sizing the caller's table). */
int train_opts_table_size(void);
/* Sets an optimizer hyperparameter as if `--opt value` had been given (for task-dependent
 * defaults); returns 0 or 2. */
int train_opts_set_hp(train_opts *o, const char *opt, const char *value);
/* Bit of train_opts.hp_given for option `opt` (without dashes), 0 if unknown. */
unsigned long long train_opts_hp_bit(const char *opt);
/* `--preset NAME` (or --preset=NAME) anywhere in argv: *out_argv gets a new array (free() it;
 * the strings are argv's or static) with argv[0], then the preset's options that argv does not
 * give itself (so explicit options override the preset whatever their order), then argv's other
 * arguments.  No --preset: *out_argv = NULL.  Returns 0 or EXIT_USAGE (unknown preset). */
int train_opts_expand_preset(int argc, char **argv, int *out_argc, char ***out_argv);
/* The options of preset `name` as one string ("--init data_kink ..."), NULL if unknown. */
const char *train_opts_preset_text(const char *name);

/* `--list-optimizers`: one line per optimizer with its hyperparameters' defaults. */
void train_opts_list_optimizers(FILE *f);

#endif
