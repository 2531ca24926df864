/* optim_internal.h — the optimizer object, shared by optim.c and optim_lbfgs.c (not public). */
#ifndef NNFIT_OPTIM_INTERNAL_H
#define NNFIT_OPTIM_INTERNAL_H

#include "nnfit/optim.h"

#define NF_OPT_MAX_STATE 4

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
    size_t n;
    long step;
    int n_state;
    float *state[NF_OPT_MAX_STATE];
    /* scalars of stateful schedules */
    float asgd_eta, asgd_mu, nadam_mu_product;
    /* adafactor: tensor shapes, and row/col statistics (or full v for vectors) */
    int n_tensors;
    size_t *t_rows, *t_cols;
    float *af_stats; /* per tensor: rows + cols floats if factored, else rows*cols */
    size_t af_stats_len;
    nf_lbfgs_state *lb;
};

nf_status nf_lbfgs_alloc(nf_optim *o);
void nf_lbfgs_free(nf_optim *o);
void nf_lbfgs_reset(nf_optim *o);
nf_status nf_lbfgs_step(nf_optim *o, float *params, nf_closure fn, void *ctx, double *loss);

#endif
