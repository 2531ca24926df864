/* optim_internal.h — optimizer descriptors, the optimizer object and the stateless update
 * kernels; shared by optim.c, optim_kernels.c and optim_lbfgs.c (not public). */
#ifndef NNFIT_OPTIM_INTERNAL_H
#define NNFIT_OPTIM_INTERNAL_H

#include "nnfit/optim.h"

#define NF_OPT_MAX_STATE 4   /* per-parameter state buffers of one optimizer */
#define NF_OPT_MAX_SCALARS 2 /* scalar state (asgd's eta and mu, nadam's mu product) */

/* Rows of the hyperparameter table (optim_config.c), in table order. */
enum {
    HP_LR, HP_MOMENTUM, HP_DAMPENING, HP_NESTEROV, HP_BETAS, HP_EPS, HP_WEIGHT_DECAY, HP_AMSGRAD,
    HP_ALPHA, HP_CENTERED, HP_RHO, HP_LR_DECAY, HP_INITIAL_ACCUMULATOR_VALUE, HP_MOMENTUM_DECAY,
    HP_LAMBD, HP_T0, HP_ETAS, HP_STEP_SIZES, HP_BETA2_DECAY, HP_EPS1, HP_EPS2, HP_CLIP_THRESHOLD,
    HP_RELATIVE_STEP, HP_LR_POWER, HP_L1, HP_L2, HP_L2_SHRINKAGE, HP_BETA, HP_HISTORY_SIZE,
    HP_MAX_ITER, HP_MAX_EVAL, HP_TOLERANCE_GRAD, HP_TOLERANCE_CHANGE, HP_LINE_SEARCH, HP_MU,
    HP_MU_DEC, HP_MU_INC, HP_MU_MAX, HP_MIN_GRAD, HP_KERAS,
    HP_COUNT
};

/* A hyperparameter (row of the nf_opt_hparam table) with a value: a default. */
typedef struct {
    int hp; /* -1 ends a list */
    double a, b;
} nf_hp_value;

/* A state buffer of n floats, or a scalar.  It starts at hp's value when from_hp >= 0
 * (adagrad's sum at initial_accumulator_value, rprop's step sizes at lr), else at `value`;
 * a buffer exists only when when_hp < 0 or hp when_hp is nonzero (sgd's momentum buffer).
 * name NULL: no more entries. */
typedef struct {
    const char *name;
    int from_hp;
    float value;
    int when_hp;
} nf_state_def;

typedef struct nf_optim nf_optim;

/* How a kind takes a step: from a gradient (nf_optim_step), through a closure (L-BFGS), or
 * from the model itself (LM, nf_lm_step). */
typedef enum { NF_DRIVE_GRADIENT, NF_DRIVE_CLOSURE, NF_DRIVE_MODEL } nf_opt_drive;

/* One optimizer.  Adding one means a value of nf_opt_kind, one descriptor in optim.c's table
 * with the binding of its kernel, and the kernel below; a new hyperparameter also needs its
 * field in nf_opt_config and its row of the hyperparameter table (HP_ below, optim_config.c). */
typedef struct {
    const char *name;
    const char *aliases;        /* other names nf_opt_parse accepts, space-separated, or NULL */
    const nf_hp_value *reads;   /* hyperparameters read, PyTorch's argument order, with their
                                   defaults ("keras" is implied by a Keras variant) */
    const nf_hp_value *keras;   /* Keras' defaults where they differ; NULL: no Keras variant */
    nf_state_def state[NF_OPT_MAX_STATE];
    nf_state_def scalars[NF_OPT_MAX_SCALARS];
    int factored;               /* needs the tensor shapes (nf_optim_set_tensors): adafactor */
    nf_opt_drive drive;
    /* calls the kernel with the state and cfg's values; NULL unless NF_DRIVE_GRADIENT */
    void (*step)(nf_optim *o, float *params, const float *grads);
    /* the rules that tie values together (ranges are checked from the table); NULL: none */
    nf_status (*check)(const nf_opt_config *cfg);
} nf_opt_desc;

const nf_opt_desc *nf_opt_desc_of(nf_opt_kind kind);

typedef struct {
    int history_size, n_old, first_done;
    float *dirs, *stps;  /* [history_size, n] ring, oldest at index head */
    int head;
    double *ro, *al;     /* [history_size] */
    float *d, *prev_g, *g, *x0, *g_new, *g_prev, *g_lo, *g_hi; /* [n] each */
    double t, H_diag, prev_loss;
    long func_evals, n_iter;
    int converged;
} nf_lbfgs_state;

struct nf_optim {
    nf_opt_config cfg;
    const nf_opt_desc *desc;
    size_t n;
    long step;                        /* steps taken; the kernels get t = step + 1 */
    float *state[NF_OPT_MAX_STATE];   /* [n] each, NULL where the descriptor's condition is off */
    float scalar[NF_OPT_MAX_SCALARS];
    /* adafactor: tensor shapes, and row/col statistics (or full v for vectors) */
    int n_tensors;
    size_t *t_rows, *t_cols;
    float *af_stats; /* per tensor: rows + cols floats if factored, else rows*cols */
    size_t af_stats_len;
    nf_lbfgs_state *lb;
};

/* L-BFGS's evaluations per step: max_eval, 0 meaning max_iter * 5 / 4 (as torch). */
static inline int nf_lbfgs_max_eval(const nf_opt_config *c)
{
    return c->max_eval ? c->max_eval : c->max_iter * 5 / 4;
}

nf_status nf_lbfgs_alloc(nf_optim *o);
void nf_lbfgs_free(nf_optim *o);
void nf_lbfgs_reset(nf_optim *o);
nf_status nf_lbfgs_step(nf_optim *o, float *params, nf_closure fn, void *ctx, double *loss);

/* ---- stateless update kernels (optim_kernels.c) ----
 * Each is one step t (1-based) over n floats: p [n] parameters (updated), g [n] gradient, then
 * the state arrays the caller owns ([n] each; NULL where a flag says it is unused), then the
 * hyperparameters as plain values.  No allocation, no hidden state. */

/* torch.optim.SGD; keras: keras.optimizers.SGD.  buf: momentum buffer (unused if momentum 0). */
void nf_sgd_update(size_t n, float *p, const float *g, float *buf, double lr, double momentum,
                   double dampening, double weight_decay, int nesterov, long t, int keras);
/* torch.optim.Adam (decoupled 0) / AdamW (decoupled 1); keras: Keras 3's Adam ("epsilon hat").
 * m, v: first and second moments; vmax: max of v (amsgrad only). */
void nf_adam_update(size_t n, float *p, const float *g, float *m, float *v, float *vmax,
                    double lr, double beta1, double beta2, double eps, double weight_decay,
                    long t, int decoupled, int keras, int amsgrad);
/* torch.optim.RMSprop; keras: Keras 3's.  s: square average; ga: gradient average (centered);
 * b: momentum buffer (momentum > 0). */
void nf_rmsprop_update(size_t n, float *p, const float *g, float *s, float *ga, float *b,
                       double lr, double alpha, double eps, double weight_decay, double momentum,
                       int centered, int keras);
/* torch.optim.Adagrad; keras: Keras 3's.  sum: accumulated g². */
void nf_adagrad_update(size_t n, float *p, const float *g, float *sum, double lr,
                       double lr_decay, double weight_decay, double eps, long t, int keras);
/* torch.optim.Adadelta.  s: square average; acc: accumulated squared updates. */
void nf_adadelta_update(size_t n, float *p, const float *g, float *s, float *acc, double lr,
                        double rho, double eps, double weight_decay);
/* torch.optim.Adamax; keras: Keras 3's.  m: first moment; u: exponentially weighted inf norm. */
void nf_adamax_update(size_t n, float *p, const float *g, float *m, float *u, double lr,
                      double beta1, double beta2, double eps, double weight_decay, long t,
                      int keras);
/* torch.optim.NAdam.  m, v: moments; *mu_product: Π μ (float32 scalar, starts at 1). */
void nf_nadam_update(size_t n, float *p, const float *g, float *m, float *v, float *mu_product,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     double momentum_decay, long t);
/* torch.optim.RAdam.  m, v: moments. */
void nf_radam_update(size_t n, float *p, const float *g, float *m, float *v, double lr,
                     double beta1, double beta2, double eps, double weight_decay, long t);
/* torch.optim.ASGD.  ax: averaged parameters; *eta, *mu: float32 scalars (start lr and 1). */
void nf_asgd_update(size_t n, float *p, const float *g, float *ax, float *eta, float *mu,
                    double lr, double lambd, double alpha, double t0, double weight_decay, long t);
/* torch.optim.Rprop.  prev: previous gradient; step: per-parameter step sizes (start lr). */
void nf_rprop_update(size_t n, float *p, const float *g, float *prev, float *step,
                     double eta_minus, double eta_plus, double step_size_min,
                     double step_size_max);
/* Lion (Chen et al. 2023).  m: momentum. */
void nf_lion_update(size_t n, float *p, const float *g, float *m, double lr, double beta1,
                    double beta2, double weight_decay);
/* keras.optimizers.Adafactor over n_tensors tensors of rows[k] × cols[k] floats, in order;
 * stats: per tensor rows + cols floats when cols > 1 (factored), else rows·cols. */
void nf_adafactor_update(int n_tensors, const size_t *rows, const size_t *cols, float *p,
                         const float *g, float *stats, double lr, double beta2_decay,
                         double eps1, double eps2, double clip_threshold, int relative_step,
                         long t);
/* keras.optimizers.Ftrl.  acc: accumulator (starts at initial_accumulator_value); z: linear. */
void nf_ftrl_update(size_t n, float *p, const float *g, float *acc, float *z, double lr,
                    double lr_power, double l1, double l2, double l2_shrinkage, double beta);

#endif
