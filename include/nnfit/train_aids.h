/* train_aids.h — optional training aids for nf_train: learning-rate schedules with warm-up,
 * early stopping with best-weights restore, gradient clipping, decoupled weight decay, a
 * repulsion penalty between hidden units, dropout, and dead/duplicate unit revival.
 *
 * nf_train_config.aids points to an nf_aids_config (NULL: none of them).  The aids apply to
 * the mini-batch optimizers; nf_train refuses them with lbfgs and lm.  Everything is allocated
 * when training starts; the per-batch step stays allocation-free (only revival of an
 * orthogonal-initialised layer calls LAPACK, which allocates, once per revival check).
 *
 * Order inside one step: forward/backward (with dropout) → + repulsion gradient → clip by
 * global norm → decoupled weight decay p −= lr·wd·p → optimizer step.  Once per epoch, before
 * its first step, the schedule sets the learning rate; after the epoch (and its validation
 * loss) plateau/early-stop bookkeeping and, every revive_every epochs, revival run. */
#ifndef NNFIT_TRAIN_AIDS_H
#define NNFIT_TRAIN_AIDS_H

#include <stddef.h>

#include "nnfit/init.h"
#include "nnfit/model.h"
#include "nnfit/optim.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_SCHED_NONE = 0,
    NF_SCHED_STEP,    /* torch StepLR: lr0 · gamma^⌊e/step_size⌋ */
    NF_SCHED_EXP,     /* torch ExponentialLR: lr0 · gamma^e */
    NF_SCHED_COSINE,  /* torch CosineAnnealingLR: η_min + (lr0 − η_min)(1 + cos(πe/T_max))/2 */
    NF_SCHED_PLATEAU, /* torch ReduceLROnPlateau (mode min) on the val loss, else the train loss */
    NF_SCHED_COUNT
} nf_sched_kind;

typedef struct {
    nf_sched_kind kind;
    int warmup;          /* N > 0: factor (e+1)/(N+1) for e < N, as torch LinearLR(start_factor
                            1/(N+1), total_iters N) chained with the schedule */
    int step_size;       /* step (default 30 in the CLI; required > 0) */
    double gamma;        /* step, exp */
    int t_max;           /* cosine (0: the number of epochs) */
    double eta_min;      /* cosine */
    /* plateau, torch defaults: factor 0.1, patience 10, threshold 1e-4 (rel), cooldown 0,
     * min_lr 0, eps 1e-8 */
    double factor, threshold, min_lr, eps;
    int patience, cooldown;
} nf_sched_config;

/* e is the 0-based epoch (number of scheduler steps taken); base the initial lr. */
const char *nf_sched_name(nf_sched_kind kind);
nf_status nf_sched_parse(const char *name, nf_sched_kind *kind);
void nf_sched_defaults(nf_sched_config *s);

/* Closed-form lr of the non-plateau schedules at epoch e, warm-up included. */
double nf_sched_lr(const nf_sched_config *s, double base, int e, int epochs);

/* ReduceLROnPlateau state. */
typedef struct {
    double best, scale; /* scale: product of the reductions so far */
    int num_bad, cooldown_counter;
} nf_plateau;
void nf_plateau_init(nf_plateau *p);
/* One torch ReduceLROnPlateau.step(metric) on an lr of base·scale (before warm-up); returns
 * 1 when it reduced. */
int nf_plateau_step(nf_plateau *p, const nf_sched_config *s, double base, double metric);

typedef struct {
    nf_sched_config sched;
    int early_stop;        /* patience in epochs on the validation loss; 0 off (needs val set) */
    double clip_norm;      /* > 0: torch.nn.utils.clip_grad_norm_(max_norm) on all parameters */
    double decoupled_wd;   /* > 0: p −= lr·wd·p before each optimizer step (AdamW style) */
    double repel;          /* λ of the repulsion penalty, 0 off */
    int repel_anneal;      /* λ decreases linearly to 0 at the last epoch */
    float dropout;         /* hidden-layer dropout probability, 0 off */
    int revive_every;      /* K > 0: revive dead/duplicate hidden units after every K-th epoch */
    double dup_cos;        /* duplicate threshold on the cosine of normalised [w, b] (0: 0.999) */
    double revive_parallel; /* > 0: also revive a unit whose w (bias excluded) has |cos| above
                               this with an earlier live unit's (parallel kinks), 0 off */
    double revive_edge;    /* > 0: also revive a unit active on a fraction <= edge or >= 1 - edge
                               of the samples (a kink at the rim of the data), 0 off */
    nf_init_spec revive_init; /* incoming weights of revived units (data_kink: the data rule) */
    nf_init_opts revive_opts;
    /* Grow and prune (train_grow.c): with grow > 1 nf_train trains a copy of the model whose
     * hidden layers have ⌈grow·width⌉ units (the model's own units plus spares drawn with
     * revive_init, outgoing weights zero), prunes it back to the model's widths in rounds
     * between epochs prune_start·epochs and prune_end·epochs (one round every prune_every
     * epochs, at most one per spare unit; the least useful units first, nf_prune_layer) and
     * finally copies the surviving units into the model.  Pruned units stay exactly zero
     * (gradients masked, optimizer state reset), are never revived, and early stopping only
     * watches epochs after the last round. */
    double grow;           /* width factor, <= 1 off */
    double prune_start, prune_end; /* fractions of the epochs, 0 <= start <= end <= 1 */
    int prune_every;       /* epochs between pruning rounds (0: 5) */
    int prune_units_only;  /* 1: prune among the units only, not their mirror images (ablation) */
    int polish;            /* after training, refit the output layer by least squares
                              (nf_polish_output; needs a linear output layer and the MSE loss) */
} nf_aids_config;

void nf_aids_defaults(nf_aids_config *a);
nf_status nf_aids_validate(const nf_aids_config *a);

/* Repulsion penalty λ·Σ_{layers}Σ_{i<j} cos²θ_ij over the incoming weight vectors W[i,:]
 * (bias excluded) of every hidden layer (not the output layer); units with ‖w‖ < 1e-12 are
 * skipped.  Returns the penalty and, when grads is not NULL, adds its exact gradient. */
double nf_repel_penalty(const nf_model *m, double lambda, float *grads);

/* Global L2 norm of g and torch's clip_grad_norm_: g *= max_norm/(norm + 1e-6) when that is
 * below 1.  Returns the norm before clipping. */
double nf_clip_grad_norm(float *g, size_t n, double max_norm);

/* Dead / duplicate detection and revival on the training inputs X [n, n_in]. A hidden unit is
 * dead when its pre-activation is ≤ 0 on every row (for in-place activations the sign of the
 * output is used, which is the same); unit j is a duplicate when the cosine of its normalised
 * [w_j, b_j] with an earlier live unit's exceeds dup_cos.  Revived units get fresh incoming
 * weights and bias from the init rule, zero outgoing weights, and (opt not NULL) fresh optimizer
 * state for every one of those parameters.  Uses m's reserved workspace for the forward passes
 * and `scratch` (nf_revive_scratch_floats(m, n) floats).  Returns the number revived in *count. */
size_t nf_revive_scratch_floats(const nf_model *m, int n);

/* Which units nf_revive_units_rule revives, besides dead ones. */
typedef struct {
    double dup_cos;      /* cos of normalised [w, b] with an earlier live unit above this */
    double parallel_cos; /* > 0: |cos| of w (no bias) with an earlier live unit above this */
    double edge;         /* > 0: active fraction <= edge or >= 1 - edge */
} nf_revive_rule;

/* As nf_revive_units with the extra rules; units are tested in order, and an earlier unit
 * revived this round counts as live (with its fresh weights) for the later ones. */
nf_status nf_revive_units_rule(nf_model *m, nf_optim *opt, const float *X, int n,
                               const nf_revive_rule *rule, const nf_init_spec *spec,
                               const nf_init_opts *opts, float *scratch, nf_rng *rng, int *count);
nf_status nf_revive_units(nf_model *m, nf_optim *opt, const float *X, int n, double dup_cos,
                          const nf_init_spec *spec, const nf_init_opts *opts, float *scratch,
                          nf_rng *rng, int *count);
/* As nf_revive_units_rule, never touching the units with skip[u] set (skip indexes the units
 * of all hidden layers in order; NULL: none skipped).  Skipped units do not count as live. */
nf_status nf_revive_units_skip(nf_model *m, nf_optim *opt, const float *X, int n,
                               const nf_revive_rule *rule, const nf_init_spec *spec,
                               const nf_init_opts *opts, const unsigned char *skip, float *scratch,
                               nf_rng *rng, int *count);

/* ---- grow and prune (train_grow.c) -------------------------------------------------------- */

/* ⌈factor·width⌉ for factor > 1, else width. */
int nf_grow_width(int width, double factor);

/* A new model *out with m's layers, activations, inputs and outputs and hidden widths
 * nf_grow_width(width, factor).  Unit j < width of every layer keeps m's weights and bias; a
 * spare unit gets its incoming weights and bias from spec (data_kink on the first layer: a
 * random direction with its kink through the data X [n, n_in]) and zero outgoing weights, so
 * the grown model computes exactly m's function. */
nf_status nf_grow_model(const nf_model *m, double factor, const nf_init_spec *spec,
                        const nf_init_opts *opts, const float *X, int n, nf_rng *rng, nf_model **out);

/* Least-squares pruning of hidden layer `layer` down to `keep` live units (alive[j] != 0).
 * Candidates are the live units' features act(z_j) over the rows X [n, n_in] and, with
 * mirrors, their mirror images act(−z_j) (for relu: the same kink, the other side; relu(z) −
 * relu(−z) = z, so a unit that sits on the wrong side of its kink and is compensated by a
 * linear part elsewhere has its other side on offer).  The next layer's current
 * pre-activations are fitted by ridge least squares over all candidates and a constant; then
 * the candidate whose removal raises that fit's squared error least (β_f² / (G⁻¹)_ff summed over
 * the next layer's outputs: Optimal Brain Surgeon on a linear layer, Hassibi & Stork 1993)
 * leaves, the fit and G⁻¹ are updated exactly, and so on until `keep` remain.  The kept ones
 * become the layer's units (a unit whose mirror is kept gets −w, −b; a mirror kept next to its
 * unit moves into a unit that kept nothing), the next layer gets the fit's weights and bias,
 * every other unit becomes exactly zero with alive[j] = 0, and (opt not NULL) changed units get
 * fresh optimizer state.  Dead units and duplicates of kept units go first.  po NULL: mirrors
 * and exchanges.  *count: live units removed. */
typedef struct {
    int mirrors;  /* the mirror images are candidates too */
    int exchange; /* after the greedy removal, best-improvement exchanges (a kept candidate out,
                     a removed one in) while they raise the fit: greedy removal has ties, and an
                     early arbitrary choice can leave a set without what the best small set needs */
} nf_prune_opts;
nf_status nf_prune_layer(nf_model *m, int layer, const float *X, int n, unsigned char *alive, int keep,
                         const nf_prune_opts *po, nf_optim *opt, int *count);

/* Copies the live units of w (alive over all hidden units, in order) into m, whose hidden
 * widths must equal the live counts: the same function when the dead units are zero. */
nf_status nf_shrink_model(const nf_model *w, const unsigned char *alive, nf_model *m);

/* Refits the output layer (linear activation) by least squares on the last hidden layer's
 * activations over X [n, n_in] → Y [n, n_out] (normal equations in double, ridge 1e-8 of the
 * mean diagonal): the lowest MSE for the hidden layers as they are. */
nf_status nf_polish_output(nf_model *m, const float *X, const float *Y, int n);

#ifdef __cplusplus
}
#endif
#endif
