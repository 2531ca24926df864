/* model.h — a multilayer perceptron with flat parameter and gradient buffers.
 *
 * Parameters are stored in PyTorch's state_dict order: layer 0 weight [out, in], layer 0
 * bias [out], layer 0's activation parameters [out] when it learns one per unit (prelu,
 * elu_learn: act.h), layer 1 weight, ...  Gradients use the same order in a second buffer, so
 * an optimizer is a loop over n_params floats.  All workspace is sized by nf_model_reserve();
 * nothing else allocates. */
#ifndef NNFIT_MODEL_H
#define NNFIT_MODEL_H

#include <stddef.h>

#include "nnfit/act.h"
#include "nnfit/dense.h"
#include "nnfit/loss.h"
#include "nnfit/rng.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NF_MAX_LAYERS 64
#define NF_MAX_THREADS 64

struct nf_pool; /* worker threads of nf_model_set_threads (private) */

typedef struct {
    int n_layers;          /* dense layers */
    int sizes[NF_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[n_layers] outputs */
    nf_dense layers[NF_MAX_LAYERS];
    size_t n_params;
    float *params, *grads; /* [n_params] each */
    /* workspace for `batch_cap` rows */
    int batch_cap;
    float *Z[NF_MAX_LAYERS], *A[NF_MAX_LAYERS]; /* [batch_cap, sizes[i+1]]; A[i] == Z[i] when in place */
    float *dbuf[2];        /* ping-pong [batch_cap, d_width] for dA/dX */
    int d_width;           /* widest layer output */
    float *work;           /* the one workspace allocation */
    float *wt;             /* [max in·out of layers 1..] scratch for Wᵀ (dX = dZ·W as NT sgemm) */
    /* inverted dropout on hidden-layer outputs (nf_model_set_dropout); applied only while
     * drop_train is set, so evaluation and prediction never drop */
    float drop_p;
    int drop_train, drop_frozen;
    float *drop_mask[NF_MAX_LAYERS], *drop_A[NF_MAX_LAYERS]; /* [batch_cap, sizes[i+1]] */
    float *drop_work;
    nf_rng drop_rng;
    struct nf_pool *pool;  /* nf_model_set_threads; NULL: the caller's thread only */
} nf_model;

/* Creates a model with n_layers dense layers of sizes[0] → … → sizes[n_layers]; acts[i] is
 * layer i's activation.  Weights and biases are zero until an initialiser runs; per-unit
 * activation parameters start at acts[i].param. */
nf_status nf_model_create(nf_model **out, int n_layers, const int *sizes, const nf_act_spec *acts);

/* Convenience: hidden layers use `hidden`, the last layer `output`. */
nf_status nf_model_create_mlp(nf_model **out, int n_layers, const int *sizes,
                              const nf_act_spec *hidden, const nf_act_spec *output);

void nf_model_free(nf_model *m);

/* Sizes the workspace for batches of up to `batch` rows (frees any previous workspace). */
nf_status nf_model_reserve(nf_model *m, int batch);

/* Where a model's buffers beyond its parameters go, in floats; every block is rounded up to
 * 16 floats so each buffer starts 64-byte aligned.  nf_model_workspace is the one place that
 * computes it: nf_model_reserve, nf_model_set_dropout and nf_model_set_threads allocate by it,
 * and benchmarks count memory by it. */
typedef struct {
    int batch;  /* rows of the workspace */
    int shards; /* row blocks of a step (threads of nf_model_set_threads); 1 = serial */
    /* the workspace (nf_model_reserve): one allocation of work_floats, offsets into it */
    size_t z[NF_MAX_LAYERS]; /* layer i's Z, [batch, sizes[i+1]] */
    size_t a[NF_MAX_LAYERS]; /* layer i's A; == z[i] when the activation runs in place */
    size_t d[2];             /* the dA/dX ping-pong buffers, [batch, d_width] each */
    int d_width;             /* widest layer output: the row stride of the d buffers */
    size_t wt, wt_floats;    /* Wᵀ scratch (max in·out over layers 1..); 0 floats for one layer */
    size_t work_floats;
    /* dropout buffers (nf_model_set_dropout with p > 0, two or more layers; else 0 floats):
     * one allocation of drop_floats, a mask and a masked output per hidden layer */
    size_t drop_mask[NF_MAX_LAYERS], drop_a[NF_MAX_LAYERS]; /* [batch, sizes[i+1]] each */
    size_t drop_floats;
    /* shards 1..shards−1 of a data-parallel step each own a gradient buffer [n_params] and a
     * Wᵀ scratch [wt_floats]: one allocation of each */
    size_t shard_grads_floats; /* (shards − 1)·n_params */
    size_t shard_wt_floats;    /* (shards − 1)·wt_floats */
} nf_workspace_layout;

/* Layout for `batch` rows cut into `shards` row blocks (batch, shards >= 1).  NF_EINVAL for
 * a bad count, NF_ENOMEM when the workspace could not be addressed. */
nf_status nf_model_workspace(const nf_model *m, int batch, int shards, nf_workspace_layout *out);

/* ---- accessors: code outside the model's own files reads a model only through these ---- */

int nf_model_n_in(const nf_model *m);     /* sizes[0] */
int nf_model_n_out(const nf_model *m);    /* sizes[n_layers] */
int nf_model_n_layers(const nf_model *m); /* dense layers */
/* Size i of the chain sizes[0] (inputs) … sizes[n_layers] (outputs); 0 outside 0..n_layers. */
int nf_model_size(const nf_model *m, int i);
/* Dense layer i (0..n_layers−1).  Its W and b point into the parameter buffer, dW and db into
 * the gradient buffer: writing through them changes the model's parameters (initialisers,
 * loaders, revival do), the layer's shape and activation are read-only. */
const nf_dense *nf_model_layer(const nf_model *m, int i);
size_t nf_model_n_params(const nf_model *m);
/* The flat buffers [n_params], in the order of the header comment. */
float *nf_model_params(nf_model *m);
float *nf_model_grads(nf_model *m);
/* Index into the flat buffers of p, a pointer into the parameter buffer (a layer's W or b). */
size_t nf_model_param_offset(const nf_model *m, const float *p);

/* The parameter tensors in buffer order: per layer its weight, its bias, then its per-unit
 * activation parameters if the activation has them. */
typedef enum { NF_TENSOR_WEIGHT, NF_TENSOR_BIAS, NF_TENSOR_ACT } nf_tensor_kind;
typedef struct {
    int layer;
    nf_tensor_kind kind;
    int rows, cols; /* weight [out, in]; bias and activation parameters [out, 1] */
    size_t offset;  /* first float in the parameter and gradient buffers */
} nf_tensor_info;
int nf_model_n_tensors(const nf_model *m);
/* Tensor k, 0 <= k < nf_model_n_tensors(m). */
nf_tensor_info nf_model_tensor(const nf_model *m, int k);
/* Rows the workspace holds (nf_model_reserve), 0 before the first reserve. */
int nf_model_batch_cap(const nf_model *m);
/* Layer i's pre-activation Z and output A, [batch, sizes[i+1]], as the last forward pass over
 * `batch` rows left them.  When the activation runs in place (!nf_act_needs_z) both return the
 * same buffer, which then holds A.  NULL before nf_model_reserve. */
const float *nf_model_layer_z(const nf_model *m, int i);
const float *nf_model_layer_a(const nf_model *m, int i);
/* Whether training mode (dropout active) is on (nf_model_set_training). */
int nf_model_training(const nf_model *m);
/* Dropout mask of hidden layer i ([batch_cap, sizes[i+1]], 0 or 1/(1−p)) that the last
 * training-mode forward drew; NULL without dropout buffers. */
const float *nf_model_dropout_mask(const nf_model *m, int i);

/* Fused small-net kernel: nf_model_grad runs an MLP whose sizes (inputs, every width,
 * outputs) are all at most this limit as one fused forward + loss + backward over blocks of
 * rows, without sgemm (nets with dropout active excepted).  Default and maximum 64; 0 sends
 * such nets through the per-layer path (nf_dense_set_small_max still applies there); the
 * one-hidden-layer kernel for n_in <= 8, hidden <= 32, one output is not affected.
 * Process-wide setting for tests and benchmarks, not synchronised.  Returns the previous one. */
int nf_model_set_fused_max(int max_width);
/* The fused kernels' vector width: −1 (default) sixteen-float vectors where the CPU has
 * AVX-512 (x86-64-v4), eight elsewhere; 0 always eight, 1 always sixteen (correct on any
 * CPU, slow without AVX-512).  The results are the same bits at either width; the setting
 * exists so that tests run both code paths on every machine.  Process-wide, not
 * synchronised.  Returns the previous setting. */
int nf_model_set_vec16(int mode);

/* Forward of X [batch, n_in]; the output [batch, n_out] is nf_model_output(m). */
nf_status nf_model_forward(nf_model *m, const float *X, int batch);
const float *nf_model_output(const nf_model *m);
/* Buffer [batch_cap, n_out] the caller fills with dLoss/dOutput before nf_model_backward. */
float *nf_model_dout(nf_model *m);

/* Backward after nf_model_forward on the same X: reads nf_model_dout() (and clobbers it),
 * overwrites grads with dLoss/dparams. */
nf_status nf_model_backward(nf_model *m, const float *X, int batch);

/* Forward, loss and backward over one batch (afterwards nf_model_output() is workspace, not
 * the predictions: use nf_model_forward or nf_model_predict for those).  The loss mean divides by `denom` elements
 * (0 means batch × n_out).  grads are overwritten; *loss gets the loss (may be NULL). */
nf_status nf_model_grad(nf_model *m, const float *X, const float *Y, int batch,
                        const nf_loss_spec *loss, size_t denom, double *loss_out);

/* Loss over n rows, evaluated in chunks of batch_cap, accumulated in double.  A net that
 * nf_model_grad trains with the fused small-MLP kernel (every size ≤ 64, every layer's
 * in·out ≤ 1024, no dropout active) is evaluated with that kernel's forward pass, the order of
 * operations it is trained with; nf_model_forward keeps the per-layer path (its row-major
 * activations feed nf_model_backward), whose outputs can differ from it in the last bits.
 * Afterwards the activation workspace holds no predictions. */
nf_status nf_model_eval(nf_model *m, const float *X, const float *Y, int n,
                        const nf_loss_spec *loss, double *loss_out);

/* Predictions for n rows of X into out [n, n_out], in chunks of batch_cap, with the forward
 * pass nf_model_eval uses. */
nf_status nf_model_predict(nf_model *m, const float *X, int n, float *out);

/* ---- the matrix products of one training step ----
 *
 * nf_model_step_gemms lists, in the order nf_model_grad makes them, the products of one step
 * over `batch` rows: per layer the forward Z = X·Wᵀ, then from the top down dW = dZᵀ·X and
 * (above layer 0) dX = dZ·W, the latter as an NT product on a transposed copy of W.  Each entry
 * holds the exact cblas_sgemm arguments (row-major) with the operand buffers named and
 * resolved.  It follows the step's shapes: MSE with a linear output runs the output layer's
 * forward with beta = 1 onto Z pre-filled with b − Y and takes alpha = 2/denom in its
 * backward products, whose dZ operand is then that Z; a product that overwrites a C of at
 * most 32768 floats is listed with beta = 1, since the step zeroes such a C itself (the same
 * result as beta = 0, faster than OpenBLAS's beta pass); layers of the small-shape path
 * (nf_dense_set_small_max) and nets of the fused small-net kernel compute their products with
 * loops: their entries have sgemm = 0 and describe the call the product would be.  Benchmarks
 * time these calls as the step's bare-sgemm bound. */
typedef enum {
    NF_BUF_X,      /* the batch's inputs, [batch, n_in] */
    NF_BUF_Z,      /* layer's Z */
    NF_BUF_A,      /* layer's A (the Z buffer when the activation runs in place) */
    NF_BUF_DROP_A, /* layer's dropout-masked output */
    NF_BUF_D0,     /* the dA/dX ping-pong buffers */
    NF_BUF_D1,
    NF_BUF_W,      /* layer's weights, [out, in] */
    NF_BUF_WT,     /* the Wᵀ scratch, holding layer's Wᵀ [in, out] when the product runs */
    NF_BUF_DW      /* layer's weight gradient */
} nf_buf_kind;

typedef struct {
    nf_buf_kind kind;
    int layer; /* whose Z, A, W, ... (-1 for X, D0, D1) */
} nf_buf_ref;

typedef enum { NF_GEMM_FORWARD, NF_GEMM_GRAD_W, NF_GEMM_GRAD_X } nf_gemm_role;

typedef struct {
    nf_gemm_role role;
    int layer;
    int sgemm;            /* 1: the step calls cblas_sgemm so; 0: it computes this with loops */
    int trans_a, trans_b; /* 1: CblasTrans */
    int m, n, k;
    float alpha, beta;
    nf_buf_ref a, b, c;
    int lda, ldb, ldc;
    const float *A, *B; /* the operands for this model and X (A[m·k] or its transpose, ...) */
    float *C;
} nf_gemm_call;

/* The products nf_model_grad(m, X, ·, batch, loss, denom, ·) makes (denom 0: batch × n_out),
 * for the model as it stands (dropout mode included).  Writes the first `cap` entries and the
 * total into *count.  On a model with threads each shard makes this list for its rows: call it
 * on the shard's view (nf_model_run_shards).  NF_EINVAL unless the workspace holds batch rows. */
nf_status nf_model_step_gemms(const nf_model *m, const float *X, int batch, const nf_loss_spec *loss,
                              size_t denom, nf_gemm_call *calls, int cap, int *count);

/* Inverted dropout with drop probability p (0 <= p < 1) on every hidden layer's output: while
 * training mode is on (nf_model_set_training), each forward draws a mask of 0 and 1/(1−p) per
 * element from the stream `seed`, the next layer reads A ⊙ mask and backward multiplies the
 * gradient by the same mask.  Allocates the mask buffers (now, or at nf_model_reserve). */
nf_status nf_model_set_dropout(nf_model *m, float p, uint64_t seed);
/* Training mode on/off (dropout active); evaluation helpers never turn it on. */
void nf_model_set_training(nf_model *m, int on);
/* While frozen, forward reuses the last mask instead of drawing (for gradient checks). */
void nf_model_freeze_dropout(nf_model *m, int frozen);

/* Data-parallel steps: with n > 1, nf_model_grad cuts each batch into up to n contiguous row
 * blocks of at least 256 rows and computes them at the same time on the calling thread and
 * n−1 worker threads the model owns (started here, stopped by nf_model_free or n = 1), each
 * with the full serial step (its own cblas_sgemm calls) on its rows and its own gradient
 * buffer; the caller then sums gradients and loss.  Equal to the serial result up to float
 * summation order, and deterministic for a given n.  Workers call sgemm concurrently, so run
 * OpenBLAS single-threaded (nf_blas_set_threads(1)).  Not used for tiny nets on the fused
 * small path or while dropout is active; forward, eval and predict stay serial.  Allocates
 * (n−1) gradient buffers and Wᵀ scratch here; steps allocate nothing.  n in 1..NF_MAX_THREADS. */
nf_status nf_model_set_threads(nf_model *m, int n);
int nf_model_threads(const nf_model *m);

/* Calls fn(ctx, view, row0, rows) for every row block of a batch exactly as nf_model_grad
 * shards it (in parallel on the model's threads; once with view = m when there is one block).
 * A view is a shallow copy of m whose workspace pointers (Z, A, dbuf) start at row0 and whose
 * gradient and Wᵀ scratch buffers are the shard's own.  For benchmarks that time the bare
 * sgemm calls of a parallel step (bench_train). */
typedef void (*nf_shard_fn)(void *ctx, nf_model *view, int row0, int rows);
nf_status nf_model_run_shards(nf_model *m, int batch, nf_shard_fn fn, void *ctx);

/* Copies architecture and parameters into a new model (workspace and threads not copied). */
nf_status nf_model_clone(nf_model **out, const nf_model *src);

/* "2,3,1" style description into buf. */
void nf_model_shape_str(const nf_model *m, char *buf, size_t len);

/* Parses "2,3,1" into sizes (at most max entries, each 1..1<<24); *count gets the number. */
nf_status nf_parse_sizes(const char *text, int *sizes, int max, int *count);

#ifdef __cplusplus
}
#endif
#endif
