/* sweep.h — many training trials over a grid of settings × seeds, in parallel, with statistics.
 *
 * A setting is a run description (run.h); trial (setting s, restart r) is nf_run of that
 * description with the seed  S_r = nf_rng_derive(sweep seed, r)  — the same S_r for restart r
 * of every setting (common random numbers: settings are compared on the same seeds) — on the
 * shared data.  That is exactly what `nnfit train ... --seed S_r --threads 1` runs, so the
 * printed rerun command reproduces the trial's final loss bit for bit.
 * Trials are independent and stored by index, so results do not depend on the number of
 * worker threads.  The library never prints; progress goes through the on_trial callback. */
#ifndef NNFIT_SWEEP_H
#define NNFIT_SWEEP_H

#include <stdatomic.h>
#include <stdint.h>

#include "nnfit/diag.h"
#include "nnfit/init.h"
#include "nnfit/mat.h"
#include "nnfit/model.h"
#include "nnfit/stats.h"
#include "nnfit/train.h"
#include "nnfit/run.h"
#include "nnfit/train_aids.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nf_journal nf_journal;

/* One trial's result. */
typedef struct {
    int setting, restart;
    uint64_t seed;                  /* S_r: the --seed of the equivalent `nnfit train` */
    int done;                       /* 1 when the trial finished (0: cancelled / not run) */
    int success;                    /* finished, not diverged, final_loss <= target */
    nf_status status;               /* NF_OK or NF_EDIVERGED */
    double final_loss, best_loss;
    int target_epoch;               /* first epoch with epoch loss <= target, 0 if never */
    int epochs_run, diverged_epoch;
    int dead, always_on, duplicate; /* hidden-unit counts over the training data */
    int parallel;                   /* units whose kink is parallel to an earlier unit's (diag.h) */
    double seconds;                 /* wall time of the trial */
    /* Time to target (nf_history): first epoch whose epoch loss <= target is target_epoch */
    long target_evals;              /* loss-and-gradient evaluations until then, 0 if never */
    double target_seconds;          /* training seconds until then, +INFINITY if never */
    float *curve;                   /* [epochs_run] epoch losses when keep_curves, else NULL */
} nf_trial;

typedef enum { NF_TTT_EPOCHS, NF_TTT_EVALS, NF_TTT_SECONDS } nf_ttt_unit;

/* Time to target of trial t in unit (epochs, evaluations as nf_history.evals, seconds):
 * +INFINITY when the target was never reached (or the trial did not finish). */
double nf_trial_time_to_target(const nf_trial *t, nf_ttt_unit unit);

/* Called after each finished trial, serialised by a lock, in completion order. */
typedef void (*nf_trial_callback)(void *ctx, const nf_trial *trial, long done, long total);

/* Called after every epoch of a trial, from the thread running it (so concurrently for trials
 * on different threads), with the epoch's loss
 * (nf_train_config.on_epoch's); nonzero stops that trial after this epoch, and it finishes as
 * a trial of fewer epochs (epochs_run says how many; final loss and diagnostics are those of
 * the parameters at that point).  The sweep's cancel flag is checked first. */
typedef int (*nf_sweep_epoch_callback)(void *ctx, int setting, int restart, int epoch, double loss);

/* One problem of a sweep over several: its training rows, optional validation rows (NULL:
 * none) and success threshold. */
typedef struct {
    const nf_mat *X, *Y;
    const nf_mat *val_X, *val_Y;
    double target;                  /* > 0 */
} nf_sweep_problem;

typedef struct {
    const nf_mat *X, *Y;            /* training data shared by all trials (read only) */
    const nf_run_spec *settings;    /* the grid points: run descriptions (their seeds are ignored) */
    int n_settings;
    int restarts;                   /* trials per setting, >= 1 */
    uint64_t seed;
    int jobs;                       /* worker threads, >= 1 (each uses one BLAS thread) */
    double target;                  /* success threshold on the final loss, > 0 */
    int keep_curves;
    nf_diag_options diag;
    atomic_int *cancel;             /* may be NULL; nonzero stops the sweep (unfinished trials dropped) */
    nf_trial_callback on_trial;
    void *ctx;
    const nf_mat *val_X, *val_Y;    /* optional validation set every trial sees (early stopping); NULL: none */
    /* Resuming: with resume, entries of trials[] that have done = 1 on entry (as placed by
     * nf_journal_place) are kept and not run again; without, every entry is cleared first. */
    int resume;
    nf_journal *journal;            /* may be NULL; every newly finished trial is appended to it
                                       (fsync'd) before on_trial runs */
    /* Several problems in one sweep: with problems (n_problems >= 1), setting s trains on
     * problems[problem_of[s]] (its rows, validation rows and target) instead of X, Y, val_X,
     * val_Y and target.  NULL: every setting trains on X, Y. */
    const nf_sweep_problem *problems;
    const int *problem_of;          /* [n_settings] */
    int n_problems;
    nf_sweep_epoch_callback on_epoch; /* may be NULL */
    void *epoch_ctx;
} nf_sweep_config;

/* The data and target setting s trains on (problems[problem_of[s]], or X, Y, val and target). */
nf_sweep_problem nf_sweep_problem_of(const nf_sweep_config *cfg, int setting);

/* Seed of restart r. */
uint64_t nf_sweep_seed(uint64_t seed, int restart);

/* Fills cfg with defaults: 1 restart, seed 0, 1 job, target 1e-3, default diag options. */
void nf_sweep_defaults(nf_sweep_config *cfg);

/* Runs all n_settings × restarts trials into trials[setting * restarts + restart] (the caller
 * allocates that many), taking them restart by restart (every setting's restart 0, then
 * restart 1, ...).  *n_done gets the number finished.  Returns NF_EINTERRUPTED when
 * cancelled (finished trials are valid), another error when a trial could not run at all
 * (bad setting, out of memory); a diverged trial is a failed trial, not an error. */
nf_status nf_sweep_run(const nf_sweep_config *cfg, nf_trial *trials, long *n_done);

/* Runs one trial on the calling thread.  When model_out is not NULL it receives the trained
 * model (caller frees). */
nf_status nf_sweep_trial(const nf_sweep_config *cfg, int setting, int restart, nf_trial *t,
                         nf_model **model_out);

/* Frees the curves of n trials. */
void nf_trials_free(nf_trial *trials, long n);

/* Statistics of one setting over its finished trials. */
typedef struct {
    int setting;
    long n, successes;
    double rate, rate_lo, rate_hi;  /* success rate and its 95% Wilson interval */
    double median, p10, p90;        /* of the final loss */
    double median_epochs;           /* median target epoch over successes (NAN if none) */
    long reached;                   /* trials whose epoch loss reached the target at some epoch */
    /* time to target over all n finished trials, +INFINITY for those that never reached it
     * (so the median is +INFINITY when fewer than half did) */
    nf_quartiles ttt_epochs, ttt_evals, ttt_seconds;
    double mean_dead, mean_always_on, mean_duplicate, mean_parallel;
    double seconds;                 /* summed trial wall time */
    double trials_per_second;       /* n / seconds (per worker) */
    long best, worst;               /* trial indices with the lowest / highest final loss */
} nf_sweep_summary;

/* Summaries of every setting (out has n_settings entries), from trials laid out as by
 * nf_sweep_run. */
nf_status nf_sweep_summarize(const nf_trial *trials, int n_settings, int restarts,
                             nf_sweep_summary *out);

/* Wilson score interval for k successes in n trials at normal quantile z (1.959964 for 95%).
 * n = 0 gives [0, 1]. */
void nf_wilson(long k, long n, double z, double *lo, double *hi);

/* nf_quantile_sorted (and the other statistics) are declared in stats.h, included above. */

/* ---- journal: resumable sweeps ----
 *
 * A journal file holds a header naming what it belongs to (nf_journal_id: the grid's canonical
 * text and its 64-bit FNV-1a fingerprint, the program version, restarts and seed) and then one
 * record per finished trial, each a line with every nf_trial field (doubles exact, as C99 hex
 * floats; the curve as float bit patterns) and a CRC-32 of the line, written with one write()
 * and fdatasync'd before nf_journal_append returns.  The header is written to a temporary file
 * that is renamed into place, so a journal either has a whole header or does not exist.
 * After a kill -9 or a power cut the last record may be torn (cut short, or followed by
 * garbage): opening drops it and truncates the file back to the end of the last whole record.
 * A bad record followed by good ones is corruption, not a torn tail, and is refused.  A
 * journal is locked (flock) while open, so two runs cannot append to one file. */

typedef struct {
    const char *grid;    /* canonical text of every setting, in order (compared byte for byte;
                            a differing line is quoted in the refusal) */
    const char *version; /* the writing program's version; one line */
    int restarts;
    uint64_t seed;
} nf_journal_id;

/* Opens the journal at path, creating it (header only) when it does not exist.  An existing
 * journal whose id differs is refused (NF_EINVAL) with a message saying what differs: the
 * grid (and the first differing line), the version, restarts or seed.  A path that exists but
 * is not a regular file or not a journal is refused and left untouched.  *done gets a malloc'd
 * array of the *n_done trials already recorded, in file order; free it with
 * nf_trials_free(*done, *n_done) and free(*done) (nf_journal_place hands the curves over). */
nf_status nf_journal_open(nf_journal **out, const char *path, const nf_journal_id *id,
                          nf_trial **done, long *n_done);

/* Bytes of a torn last record that opening cut off (0: the file ended on a whole record). */
long nf_journal_torn_bytes(const nf_journal *j);

/* Appends one finished trial and makes it durable (fdatasync).  Thread-safe. */
nf_status nf_journal_append(nf_journal *j, const nf_trial *t);

/* Closes the journal (and its lock).  NULL is fine. */
nf_status nf_journal_close(nf_journal *j);

/* Moves the n_done journal trials into trials[setting * restarts + restart] (the layout of
 * nf_sweep_run; the caller zeroes the n_settings × restarts entries first), handing their
 * curves over (done[i].curve becomes NULL).  A trial recorded twice is placed once (the first
 * record; the later one's curve is freed).  A trial outside the grid is an error and places
 * nothing. */
nf_status nf_journal_place(nf_trial *done, long n_done, int n_settings, int restarts,
                           nf_trial *trials);

/* 64-bit FNV-1a of a NUL-terminated text (the grid fingerprint). */
uint64_t nf_fingerprint(const char *text);

#ifdef __cplusplus
}
#endif
#endif
