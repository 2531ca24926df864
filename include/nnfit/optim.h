/* optim.h — optimizers as updates over a model's flat parameter and gradient buffers.
 *
 * First-order optimizers follow PyTorch 1.13's single-tensor formulas and defaults, so a run
 * here and a run in PyTorch from the same weights on the same batches take the same steps
 * (up to float rounding).  An optimizer knows nothing about layers: it sees n floats (only
 * Adafactor, whose second moment is factored per matrix, asks for the tensor shapes through
 * nf_optim_set_tensors).
 *
 * Lion, Adafactor and Ftrl are not in PyTorch 1.13: Lion follows Chen et al. 2023, Adafactor
 * and Ftrl follow Keras 3's implementations (sources cited in optim.c).
 *
 * `keras` switches the optimizers where Keras computes differently to Keras' formulas (and
 * nf_opt_keras_defaults gives Keras' default values):
 *   sgd      velocity v = μv − lr·g, p += v (nesterov p += μv − lr·g); no dampening
 *   rmsprop  p −= lr·g / √(v + eps)        (PyTorch: √v + eps)
 *   adagrad  p −= lr·g / √(acc + eps), accumulator starts at 0.1 (PyTorch: √acc + eps, 0)
 *   adam, adamw  "epsilon hat": p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + eps)
 *   adamax   u = max(β2·u, |g|), p −= lr/(1−β1ᵗ) · m / (u + eps)
 * and weight decay is decoupled (p −= lr·wd·p before the update) as in Keras 3.
 *
 * L-BFGS and Levenberg–Marquardt are full-batch methods that need more than one gradient per
 * step: L-BFGS calls a closure (nf_optim_step_closure), LM needs the model itself
 * (nf_lm_* below; nf_train drives both).  nf_optim_step is a no-op for them. */
#ifndef NNFIT_OPTIM_H
#define NNFIT_OPTIM_H

#include <stddef.h>

#include "nnfit/dist.h"
#include "nnfit/model.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_OPT_SGD = 0,
    NF_OPT_ADAM,
    NF_OPT_RMSPROP,
    NF_OPT_ADAGRAD,
    NF_OPT_ADADELTA,
    NF_OPT_ADAMW,
    NF_OPT_ADAMAX,
    NF_OPT_NADAM,
    NF_OPT_RADAM,
    NF_OPT_ASGD,
    NF_OPT_RPROP,
    NF_OPT_LION,
    NF_OPT_ADAFACTOR,
    NF_OPT_FTRL,
    NF_OPT_LBFGS,
    NF_OPT_LM,
    NF_OPT_COUNT
} nf_opt_kind;

/* The values of every optimizer's hyperparameters, in one flat struct.  Each kind reads only
 * its own fields (nf_opt_reads, nf_opt_uses); the others are ignored.  One struct rather than
 * one per optimizer because it is a plain value: a run description embeds it, a sweep copies it
 * and changes one field per grid point, a fixture file sets fields by name, and switching the
 * kind keeps whatever was given for the hyperparameters the kinds share (lr, betas, weight_decay
 * ...).  What belongs to an optimizer - which fields it reads, their defaults, its state and
 * its step - is its descriptor (optim.c), and each field's range is its row of the
 * hyperparameter table below; neither is in this struct.
 * Names and defaults are PyTorch's (Keras' for adafactor and ftrl). */
typedef struct {
    nf_opt_kind kind;
    double lr;
    double momentum, dampening, weight_decay; /* sgd, rmsprop (momentum); most (weight_decay) */
    int nesterov;
    double beta1, beta2, eps; /* adam family, lion */
    int amsgrad;
    double alpha;             /* rmsprop smoothing; asgd power */
    int centered;             /* rmsprop */
    double rho;               /* adadelta */
    double lr_decay, initial_accumulator_value; /* adagrad (initial_accumulator_value also ftrl) */
    double momentum_decay;    /* nadam */
    double lambd, t0;         /* asgd */
    double eta_minus, eta_plus, step_size_min, step_size_max; /* rprop */
    /* adafactor (Keras): beta_2_decay, epsilon_1, epsilon_2, clip_threshold, relative_step */
    double beta2_decay, eps1, eps2, clip_threshold;
    int relative_step;
    /* ftrl (Keras) */
    double lr_power, l1, l2, l2_shrinkage, beta;
    /* lbfgs */
    int history_size, max_iter, max_eval; /* max_eval 0: max_iter * 5 / 4 */
    double tolerance_grad, tolerance_change;
    int line_search;          /* 0 none (fixed step lr), 1 strong_wolfe */
    /* lm (MATLAB trainlm): mu, mu_dec, mu_inc, mu_max, min_grad */
    double mu, mu_dec, mu_inc, mu_max, min_grad;
    int keras;                /* Keras formulas where they differ (see above) */
} nf_opt_config;

const char *nf_opt_name(nf_opt_kind kind);
/* Name or alias ("l-bfgs", "trainlm", ...) to kind; NF_EINVAL lists the valid names. */
nf_status nf_opt_parse(const char *name, nf_opt_kind *kind);
/* "sgd, adam, ..., lm" */
const char *nf_opt_names(void);

/* Fills cfg with kind's PyTorch defaults (lr included: sgd has none in PyTorch, 0.01 here);
 * fields the kind does not read are 0. */
void nf_opt_defaults(nf_opt_kind kind, nf_opt_config *cfg);

/* Overwrites the fields whose Keras default differs (lr 1e-3, eps 1e-7, rmsprop alpha 0.9,
 * adagrad initial accumulator 0.1, …) and sets keras = 1.  NF_EINVAL for kinds without a
 * Keras variant (see nf_opt_has_keras). */
nf_status nf_opt_keras_defaults(nf_opt_config *cfg);
int nf_opt_has_keras(nf_opt_kind kind);

/* Hyperparameter names ("lr", "momentum", ...) kind reads, space-separated, in the order of
 * PyTorch's constructor arguments ("keras" last for kinds with a Keras variant). */
const char *nf_opt_uses(nf_opt_kind kind);
/* Whether `name` (e.g. "betas") is one of nf_opt_uses(kind) (whole-word match). */
int nf_opt_uses_param(nf_opt_kind kind, const char *name);

/* Writes "lr=0.01 momentum=0 ..." (the kind's parameters with their values in cfg, in
 * nf_opt_uses order; max_eval 0 as its effective max_iter*5/4). */
void nf_opt_describe(const nf_opt_config *cfg, char *buf, size_t len);

/* Checks the kind is known, each hyperparameter it reads is in its nf_opt_hparam range (and
 * finite), keras only where there is a Keras variant, and the rules that tie values together
 * (nesterov needs momentum > 0 and dampening 0, eta_minus < 1 < eta_plus, mu_max > mu, ...).
 * NF_EINVAL names the optimizer, the offending value and its option. */
nf_status nf_opt_validate(const nf_opt_config *cfg);

/* 1 for lbfgs and lm: full-batch methods driven through nf_optim_step_closure / nf_train. */
int nf_opt_is_full_batch(nf_opt_kind kind);

/* ---- the hyperparameter table ----
 * One row per hyperparameter of any optimizer (lr, momentum, betas, ..., keras), in a fixed
 * order: where it lives in nf_opt_config, its type, the range each value must be in and a
 * short help.  Which optimizers read a row is nf_opt_reads; their defaults come from
 * nf_opt_defaults / nf_opt_keras_defaults.  Command-line programs build their optimizer
 * options from this table. */
typedef enum { NF_HP_REAL, NF_HP_INT, NF_HP_FLAG, NF_HP_PAIR, NF_HP_CHOICE } nf_hp_type;
typedef struct {
    const char *name;       /* PyTorch spelling, snake_case: "lr", "betas", "weight_decay" */
    const char *option;     /* command-line spelling without dashes: "lr", "weight-decay",
                               "no-relative-step" */
    nf_hp_type type;
    size_t offset, offset2; /* fields of nf_opt_config (double for REAL/PAIR, int for
                               INT/FLAG/CHOICE); offset2: second of a pair */
    double lo, hi;          /* accepted range of each value, inclusive */
    const char *choices;    /* NF_HP_CHOICE: "none|strong_wolfe" (stored value = index) */
    int flag_value;         /* NF_HP_FLAG: the value giving the option stores (1; 0 for
                               no-relative-step) */
    const char *help;       /* short help: which optimizers and what it is */
    const char *parts;      /* NF_HP_PAIR: the two fields' names, "beta1,beta2" */
} nf_opt_hparam;

int nf_opt_hparam_count(void);
/* Row i (0 <= i < nf_opt_hparam_count()), NULL outside. */
const nf_opt_hparam *nf_opt_hparam_at(int i);
/* Index of the row whose option ("weight-decay") or name ("weight_decay") this is, -1 if none. */
int nf_opt_hparam_find(const char *option_or_name);
/* 1 if kind reads hyperparameter hp (lr included; "keras" only for kinds with a Keras variant). */
int nf_opt_reads(nf_opt_kind kind, int hp);
/* Stores a (and b, the second of a pair) in cfg's field(s) for hp.  Range-checked: NF_EINVAL,
 * message "--option: V is outside [lo, hi]" (or not an integer, not 0/1, not a choice index),
 * and cfg is left unchanged.  A flag stores a (0 or 1); a choice stores the index a. */
nf_status nf_opt_hparam_set(nf_opt_config *cfg, int hp, double a, double b);
/* The text form of the option's value: a number ("0.9"), a pair ("0.9,0.999"), a choice name
 * ("strong_wolfe"); for a flag, text is ignored and flag_value is stored.  Same checks and
 * messages as nf_opt_hparam_set, plus "--option: 'text' is not a finite number" and so on. */
nf_status nf_opt_hparam_parse(nf_opt_config *cfg, int hp, const char *text);
/* The stored value(s) of hp: *a, and *b for the second of a pair (0 otherwise; b may be NULL). */
void nf_opt_hparam_get(const nf_opt_config *cfg, int hp, double *a, double *b);

/* "sgd(momentum=0.9)", "adam", "adam(lr=0.003,amsgrad)", "rmsprop(keras)": the name, then every
 * hyperparameter the kind reads whose value differs from its default (Keras' defaults when
 * cfg->keras), lr included, in table order.  Numbers are printed in the shortest form that reads
 * back to the same double; a pair as betas=(0.9,0.99); a flag as its name when 1 and name=0
 * when 0 (relative_step=0); a choice by its name (line_search=strong_wolfe). */
void nf_opt_label(const nf_opt_config *cfg, char *buf, size_t len);

typedef struct nf_optim nf_optim;

/* Creates optimizer state for n parameters: the buffers the kind's descriptor lists (those
 * that are conditional only when the configuration needs them: sgd's momentum buffer when
 * momentum != 0, adam's max_exp_avg_sq with amsgrad, rmsprop's grad_avg when centered and its
 * momentum buffer when momentum != 0), each filled with its start value.  For lm only the small
 * state: the Jacobian buffers belong to the LM driver. */
nf_status nf_optim_create(nf_optim **out, const nf_opt_config *cfg, size_t n);
void nf_optim_free(nf_optim *opt);
/* Restarts the state as if freshly created (start values from the current lr). */
void nf_optim_reset(nf_optim *opt);
/* Resets the per-parameter state of parameters [start, start + count) to its fresh value
 * (0; adagrad/ftrl accumulators to initial_accumulator_value, rprop step sizes to lr).  The
 * step counter (bias correction) is shared and unchanged; adafactor's factored statistics and
 * L-BFGS history are not per-parameter and are left alone.  Never allocates. */
void nf_optim_reset_range(nf_optim *opt, size_t start, size_t count);

/* Tells the optimizer how the n floats split into tensors, in order: tensor i has rows[i] ×
 * cols[i] floats (cols 1 for a vector).  Only adafactor uses it (factored second moment and
 * per-tensor RMS, as Keras); without it the buffer is one vector.  Allocates. */
nf_status nf_optim_set_tensors(nf_optim *opt, int count, const size_t *rows, const size_t *cols);

/* One update: params -= f(grads, state).  Never allocates.  No-op for lbfgs and lm. */
void nf_optim_step(nf_optim *opt, float *params, const float *grads);

/* Loss and gradient at params: writes grads [n] and *loss.  Return nonzero status to abort. */
typedef nf_status (*nf_closure)(void *ctx, const float *params, float *grads, double *loss);

/* One closure-driven step of lbfgs (as torch.optim.LBFGS.step(closure)): up to max_iter
 * L-BFGS iterations; *loss gets the loss at the parameters on entry (what torch returns).
 * The closure may be called with a pointer other than `params` (line-search trial points).
 * Never allocates.  Other kinds: NF_EINVAL (first-order: nf_optim_step; lm: nf_lm_step). */
nf_status nf_optim_step_closure(nf_optim *opt, float *params, nf_closure fn, void *ctx,
                                double *loss);

/* L-BFGS progress: closure evaluations so far, and whether the last step stopped because
 * max |g| <= tolerance_grad (a stationary point). */
long nf_optim_func_evals(const nf_optim *opt);
int nf_optim_converged(const nf_optim *opt);

/* Changes the learning rate for later steps (schedules). */
void nf_optim_set_lr(nf_optim *opt, double lr);
double nf_optim_lr(const nf_optim *opt);
/* Steps taken so far. */
long nf_optim_steps(const nf_optim *opt);
/* Bytes of optimizer state. */
size_t nf_optim_state_bytes(const nf_optim *opt);
const nf_opt_config *nf_optim_config(const nf_optim *opt);

/* Levenberg–Marquardt as MATLAB's trainlm, for models trained with MSE (or SSE: the same
 * minimiser).  One step (one trainlm epoch):
 *   J = ∂outputs/∂params ([n·n_out, P], per-sample backprop, built in row blocks that are
 *   folded into JᵀJ with cblas_ssyrk and Jᵀe with sgemv, so J is never held whole), e = out − Y;
 *   stop if ‖∇‖ < min_grad (∇ = 2Jᵀe/(n·n_out), the MSE gradient) or μ > mu_max; else
 *   repeat: solve (JᵀJ + μI)δ = −Jᵀe (LAPACKE_sposv; a failed Cholesky counts as a failed step);
 *   if loss(p + δ) < loss(p): accept, μ *= mu_dec (floor 1e-20) else μ *= mu_inc; until accepted
 *   or μ > mu_max.
 * In float32 trainlm's min_grad 1e-7 is often finer than the loss can resolve: from a gradient g
 * along curvature λ the best step lowers the loss by g²/(2λ), which drops below the float32
 * loss's rounding before ‖∇‖ reaches 1e-7, and the run ends by μ > mu_max instead (on the
 * 2→3→1 abs net at ‖∇‖ ~1e-7..1e-5, depending on the BLAS kernels' rounding): a stationary
 * point as far as float32 can tell.
 * Memory: 2·P² floats (JᵀJ and its factor) plus one block of J (≤ block_bytes).  create
 * refuses, naming the size, above NF_LM_MAX_PARAMS parameters (2 GiB) or when the allocation
 * fails. */
#define NF_LM_MAX_PARAMS 16384
typedef struct nf_lm nf_lm;

/* Reserves m's workspace for the Jacobian block rows (<= n).  block_bytes 0: 8 MiB. */
nf_status nf_lm_create(nf_lm **out, const nf_opt_config *cfg, nf_model *m, int n,
                       size_t block_bytes);
void nf_lm_free(nf_lm *lm);

typedef enum {
    NF_LM_ACCEPTED = 0, /* a step lowered the loss */
    NF_LM_MIN_GRAD,     /* gradient norm < min_grad: stationary point, nothing done */
    NF_LM_MU_MAX        /* μ exceeded mu_max without a lower loss: parameters unchanged */
} nf_lm_result;

/* One trainlm epoch on X [n, n_in] → Y [n, n_out].  *loss_before gets the MSE at entry,
 * *loss_after the MSE after (equal when nothing was accepted), *result why it returned. */
nf_status nf_lm_step(nf_lm *lm, nf_model *m, const float *X, const float *Y, int n,
                     double *loss_before, double *loss_after, nf_lm_result *result);
double nf_lm_mu(const nf_lm *lm);
/* Back to the starting μ, as if freshly created. */
void nf_lm_reset(nf_lm *lm);
/* ‖∇ MSE‖ at the parameters the last step started from. */
double nf_lm_grad_norm(const nf_lm *lm);
/* Rows of data per Jacobian block. */
int nf_lm_block_rows(const nf_lm *lm);
/* Evaluations over the whole training set since creation: one per Jacobian assembly (with
 * the loss and gradient it gives) plus one per trial point whose loss was evaluated. */
long nf_lm_evals(const nf_lm *lm);
/* Data-parallel LM (dist.h): the X, Y and n that nf_lm_step gets are this process's rows of
 * n_total; JᵀJ, Jᵀe and every loss are summed over the processes, so each takes the same step.
 * dist NULL: one process. */
nf_status nf_lm_set_dist(nf_lm *lm, const nf_dist *dist, long n_total);

#ifdef __cplusplus
}
#endif
#endif
