/* sweep_internal.h — the pieces of `nnfit sweep` shared by its files: the grid of run
 * descriptions (sweep.c), tuning budgets (sweep_tune.c), paired comparisons and performance
 * profiles (sweep_compare.c) and the HTML report (sweep_report.c). */
#ifndef NNFIT_CLI_SWEEP_INTERNAL_H
#define NNFIT_CLI_SWEEP_INTERNAL_H

#include <stdint.h>

#include "options.h"
#include "sweep_cli.h"

/* One option of the grid: its values in the order given.  A tuned axis (--tune) has one value
 * per tuning configuration, value c being configuration c's. */
typedef struct {
    const opt_row *row;
    char **v;                 /* values (NULL for a flag) */
    int n, preset, applied;   /* applied: grid points it went to */
    int tuned;                /* index into the tuning ranges + 1, 0: an ordinary axis */
} sweep_axis;

/* One problem: a built-in task or a data file, with its rows and success threshold. */
typedef struct {
    char name[256];           /* the task's name or the file as given */
    int is_file, inputs;
    nf_mat X, Y, Xv, Yv;
    double target;
    uint64_t fingerprint;     /* FNV-1a of the rows' bytes (the journal's check) */
} sweep_problem;

/* Settings built from the axes.  The grid of `nnfit sweep` has one setting per combination of
 * the ordinary axes (problems slowest); a tuned sweep derives two more grids over the same axes
 * and problems: the tuning grid (grid point g's configuration c is setting g·budget + c) and the
 * evaluation grid (grid point g with its chosen configuration). */
typedef struct {
    sweep_axis *ax;           /* shared by derived grids (owned by the first) */
    int n_ax;
    int n;                    /* settings */
    nf_run_spec *specs;
    cli_setting_name *names;
    unsigned char *choice;    /* [n * n_ax]: value index of each axis */
    unsigned char *used;      /* [n * n_ax]: 1 where the value went to the run (applies, not off) */
    int *problem;             /* [n]: index into problems */
    sweep_problem *problems;  /* shared by derived grids (owned by the first) */
    int n_problems;
    int problem_axis;         /* the --task or --data axis, -1 when neither was given */
    int inputs_axis;          /* the --inputs axis (zipped with --data), -1 if none */
    int files;
    const cli_args *base;
    int owner;                /* 1: frees ax and problems */
} sweep_grid;

/* Text of setting s's value of axis k (NULL: a flag). */
const char *sweep_value(const sweep_grid *g, int s, int k);
/* Whether setting s's value of axis k went to its run. */
int sweep_has(const sweep_grid *g, int s, int k);

/* An empty grid over g's axes and problems with room for n settings. 0 or EXIT_USAGE. */
int sweep_grid_derive(sweep_grid *out, const sweep_grid *g, int n);
void sweep_grid_free(sweep_grid *g);
/* The optimizers that read hyperparameter row r, space-separated, into buf[cap]. */
void sweep_hp_readers(const opt_row *r, char *buf, size_t cap);

/* Builds setting s of g from the ordinary axes' choices `choice` ([n_ax], tuned entries
 * ignored) and tuning configuration `config` (-1: no tuned values).  0, SWEEP_SKIP when the
 * setting's --layers do not fit its problem's data (a sweep over several problems leaves such
 * points out), or EXIT_USAGE (printed). */
#define SWEEP_SKIP (-3)
int sweep_build(sweep_grid *g, int s, const unsigned char *choice, int config);

/* "nnfit train ... --seed S --threads 1": reruns one trial of setting s alone. */
void sweep_rerun_command(const sweep_grid *g, int s, uint64_t seed, char *buf, size_t cap);
/* The same without --seed and --threads (the setting's canonical text). */
void sweep_setting_command(const sweep_grid *g, int s, char *buf, size_t cap);

/* One trial as the sweep's JSON writes it. */
struct cJSON *sweep_trial_json(const nf_trial *t);

/* Time to target of a trial in the unit the sweep compares by. */
double sweep_ttt(const nf_trial *t, nf_ttt_unit unit);
const char *sweep_ttt_name(nf_ttt_unit unit);

/* "success then median time to target": rate (higher), median time to target (lower), median
 * final loss (lower); <0 when a is better than b, 0 when they tie. */
int sweep_better(double rate_a, double ttt_a, double loss_a, double rate_b, double ttt_b, double loss_b);

/* ---- tuning budgets (sweep_tune.c) ---- */

typedef enum { SELECT_DEFAULT, SELECT_SUCCESS, SELECT_MEDIAN_LOSS, SELECT_TTT } sweep_select;

/* Restart index of tuning seed j: tuning trials use nf_sweep_seed(seed, SWEEP_TUNE_RESTART0 + j),
 * evaluation restarts r < SWEEP_TUNE_RESTART0 (the largest --restarts) use nf_sweep_seed(seed, r);
 * nf_rng_derive is one-to-one in the index, so the two seed sets never meet. */
#define SWEEP_TUNE_RESTART0 (1 << 24)

typedef struct {
    const opt_row *row;
    nf_range range;
    int integer;
} sweep_range;

typedef struct sweep_tuning sweep_tuning;

/* Reads --tune (repeatable), --budget, --tune-restarts, --select, --halving and checks them
 * against the option table; *out NULL when the sweep is not tuned.  0 or EXIT_USAGE. */
int sweep_tune_parse(const opt_list *l, const cli_args *a, sweep_tuning **out);
void sweep_tune_free(sweep_tuning *t);
/* The tuned options and each configuration's value text ([n_ranges][budget]). */
int sweep_tune_ranges(const sweep_tuning *t, const sweep_range **ranges);
const char *sweep_tune_value(const sweep_tuning *t, int range, int config);
int sweep_tune_budget(const sweep_tuning *t);
/* Builds the tuning grid from the point grid (every configuration of every grid point) and
 * checks every tuned option reaches some grid point.  0 or EXIT_USAGE. */
int sweep_tune_build(sweep_tuning *t, const sweep_grid *points);
/* Lines that name the tuning in the journal's grid text. */
void sweep_tune_describe(const sweep_tuning *t, char *buf, size_t cap);
/* Journal records of tuning trials (restart >= SWEEP_TUNE_RESTART0), their setting numbered
 * points->n + tuning setting; moves them (and their curves) in.  0 or EXIT_USAGE. */
int sweep_tune_place(sweep_tuning *t, nf_trial *done, long n_done, int offset);
/* Runs the tuning trials not yet done (with --halving, cut at the milestones), appending each
 * to the journal with setting offset + tuning setting, then picks each grid point's
 * configuration and builds the evaluation grid into *eval.  Returns 0, EXIT_RUN_FAILED when
 * interrupted, or an exit status. */
int sweep_tune_run(sweep_tuning *t, const nf_sweep_config *base_cfg, nf_journal *journal, int offset,
                   const sweep_grid *points, sweep_grid *eval);
/* Prints the chosen values and the tuning cost per grid point. */
void sweep_tune_print(const sweep_tuning *t, const sweep_grid *points, FILE *f);
/* The tuning as a JSON object. */
struct cJSON *sweep_tune_json(const sweep_tuning *t, const sweep_grid *points);
/* For the report: per grid point its label, chosen values, trials and seconds. */
int sweep_tune_rows(const sweep_tuning *t, const sweep_grid *points, int *n_cols, char ***header,
                    char ***cells);

/* ---- paired comparisons and performance profiles (sweep_compare.c) ---- */

typedef struct {
    int best;                 /* the setting this one is compared with (itself for the best) */
    long pairs;
    nf_mcnemar_result mcnemar;
    nf_wilcoxon_result loss, ttt;
    double p_success, p_loss, p_ttt;  /* Holm-adjusted */
    int sig_success, sig_loss, sig_ttt;
    int tested;               /* 0 for the best setting and settings without pairs */
} sweep_cmp;

/* Every setting of each problem against that problem's best (by success, then median time
 * to target, then median final loss) on the restarts both finished: exact McNemar on
 * success, Wilcoxon signed-rank on final loss and on time to target, each family of tests
 * Holm-corrected at 5 %.  cmp has g->n entries. */
int sweep_compare(const sweep_grid *g, const nf_trial *trials, int restarts, const nf_sweep_summary *sum,
                  nf_ttt_unit unit, sweep_cmp *cmp);

/* Solvers of the performance profile: settings that differ only in the problem (and the
 * architecture when it is what fits the problem).  solver[s] is setting s's solver; names
 * [n_solvers]; *n_solvers 0 when the sweep has one problem. */
typedef enum {
    PROFILE_MEDIAN, /* the median time to target over the restarts (+inf when fewer than half reach it) */
    PROFILE_ERT     /* expected time to a success when restarting until one (COCO's expected running time):
                       the time of every trial (to the target, or its whole run when it never got
                       there) summed, over the number that reached the target */
} sweep_profile_cost;

typedef struct {
    sweep_profile_cost cost;
    int n_solvers, n_problems;
    int *solver;              /* [n settings] */
    char (*names)[160];       /* [n_solvers] */
    double *time;             /* [n_problems * n_solvers] cost (+INFINITY: not reached / absent) */
    int n_tau;
    double *tau, *rho;        /* [n_tau], [n_solvers * n_tau] */
} sweep_profile;

/* The profile of `cost`; n_solvers 0 with one problem, and for PROFILE_ERT in evals (a trial's
 * whole count of evaluations is not recorded). */
int sweep_profile_make(const sweep_grid *g, const nf_trial *trials, int restarts, const nf_sweep_summary *sum,
                       nf_ttt_unit unit, sweep_profile_cost cost, sweep_profile *p);
void sweep_profile_free(sweep_profile *p);
void sweep_profile_print(const sweep_profile *p, const sweep_grid *g, nf_ttt_unit unit, FILE *f);
/* profile.gp / profile_ert.gp (and .dat) in dir, rendered with the other pictures. */
int sweep_profile_plot(const sweep_profile *p, nf_ttt_unit unit, const char *dir);

/* ---- the report (sweep_report.c) ---- */

typedef struct {
    const char *dir, *command;
    const sweep_grid *g;
    const nf_sweep_config *cfg;
    const nf_trial *trials;
    const nf_sweep_summary *sum;
    const sweep_cmp *cmp;
    const sweep_profile *profile;  /* [2]: PROFILE_MEDIAN, PROFILE_ERT */
    const sweep_tuning *tuning;
    const sweep_grid *points;  /* tuned sweeps: the grid points */
    nf_ttt_unit unit;
    int interrupted;
} sweep_report_in;

int sweep_report_write(const sweep_report_in *in);

#endif
