/* sweep_cli.h — shared between `nnfit sweep` and `nnfit plot`: setting labels, plots and the
 * neuron-diagnostics table (the `--diag` print helper that `nnfit inspect` can reuse). */
#ifndef NNFIT_CLI_SWEEP_CLI_H
#define NNFIT_CLI_SWEEP_CLI_H

#include "cli.h"

/* Per-unit table of nf_diag_units(): layer, unit, active %, z range, flags, |w_out|, and
 * the per-layer counts; angle_deg is the duplicate/parallel threshold that was used. */
void cli_print_units(FILE *f, const nf_unit_diag *units, int n_units, double angle_deg);

/* Grid point description used by plots. */
typedef struct {
    char label[320]; /* "sgd(momentum=0.9) relu glorot_uniform 2,3,1 batch=64" */
    char file[96];   /* file-name stem "s03_adam_relu_glorot_uniform_2-3-1_lr0.01" */
} cli_setting_name;

/* Trials drawn as surfaces: best, a typical failure (the failed trial with the median final
 * loss among failures), worst.  model NULL: no such trial / not drawn. */
enum { CLI_PICKS = 3 };
typedef struct {
    nf_model *model;
    long trial;
} cli_pick;

/* Writes the pictures of a finished sweep into dir (created if needed): CSV data, gnuplot
 * scripts, and PNG/SVG when gnuplot is installed.  picks[s] holds trained models of setting
 * s's picked trials (the surface plot needs picks[s][0], the best).  Returns 0 or an exit
 * status; messages go to stderr. */
int cli_sweep_plots(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                    const nf_sweep_summary *sum, const cli_setting_name *names,
                    cli_pick (*picks)[CLI_PICKS]);

/* Runs gnuplot on every *.gp script in dir (in dir), each picture drawn into a temporary name
 * and renamed into place; 0 or an exit status. */
int cli_render_dir(const char *dir);

/* Checks before any work that dir can take the pictures: an existing folder in which files can
 * be created, or a path whose folder exists and is writable (dir is created later).  0, or
 * prints "PROG: error: --OPT <what is wrong>" and returns EXIT_USAGE. */
int cli_plot_dir_check(const char *opt, const char *dir);

int cmd_sweep(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
