/* dense.c — forward and backward of one dense layer through cblas_sgemm.
 *
 * Small-shape path: a layer with in·out <= nf_dense_small_max() (default 16: abs's 2→3 and
 * 3→1) runs its three products as plain loops over the rows instead.  For such shapes an
 * sgemm call costs more in call, packing and threading overhead than the arithmetic (a
 * 4096×3×2 product is 25k multiply-adds): abs 2→3→1 at batch 4096 takes 0.03 ms per step
 * with the loops and 0.11–0.19 ms through sgemm (bench/README.md).  tests/test_fastpath.c
 * checks the loops against the sgemm path.
 *
 * Backward computes dX = dZ·W as an NT sgemm on a transposed copy of W when the caller
 * gives scratch for it (the model does): OpenBLAS runs narrow shapes such as 4096×256×33 up
 * to 2x faster that way than as the NN call. */
#include "nnfit/dense.h"

#include <cblas.h>
#include <string.h>

#include "dense_internal.h"
#include "simd.h"

static int small_max = 16;

int nf_dense_small_max(void) { return small_max; }

int nf_dense_set_small_max(int max_in_out)
{
    int prev = small_max;
    small_max = max_in_out < 0 ? 0 : (max_in_out > 16 ? 16 : max_in_out);
    return prev;
}

int nf_dense_is_small(const nf_dense *layer)
{
    return (long)layer->in * (long)layer->out <= (long)small_max;
}

/* Whether the activation takes the layer's own per-unit parameters. */
static int unit_params(const nf_dense *layer)
{
    return layer->act_p && nf_act_learnable(layer->act.kind);
}

#if defined(__GNUC__)
#define NF_INLINE static inline __attribute__((always_inline))
#else
#define NF_INLINE static inline
#endif

/* Z[r, j] = Σ_i X[r, i]·W[j, i] (+ b[j]) (+ Z[r, j] when acc) for tiny in·out; relu applied
 * when `relu` (others are applied by the caller). */
NF_INLINE void small_forward_k(const nf_dense *L, const float *restrict X, int batch,
                               float *restrict Z, int add_bias, int relu, int acc, const int in,
                               const int out)
{
    float w[16], bias[16];
    for (int k = 0; k < in * out; k++) w[k] = L->W[k];
    for (int j = 0; j < out; j++) bias[j] = add_bias ? L->b[j] : 0.0f;
    for (int r = 0; r < batch; r++) {
        const float *x = X + (size_t)r * (size_t)in;
        float *z = Z + (size_t)r * (size_t)out;
        for (int j = 0; j < out; j++) {
            float s = 0.0f;
            for (int i = 0; i < in; i++) s += x[i] * w[j * in + i];
            s += bias[j];
            if (acc) s += z[j];
            z[j] = relu && s < 0.0f ? 0.0f : s;
        }
    }
}

/* One row pass: dZ = dA ⊙ act'(·) and db when do_dz (relu/linear only, others have been
 * applied by the caller), else dZ = alpha·dA; dW (+)= dZᵀX, dX = dZ·W. */
NF_INLINE void small_backward_k(const nf_dense *L, const float *restrict X, const float *restrict A,
                                float *restrict dA, int batch, int accumulate, float *restrict dX,
                                int do_dz, int relu, float alpha, const int in, const int out)
{
    float w[16], acc[16], dbacc[16];
    for (int k = 0; k < in * out; k++) {
        w[k] = L->W[k];
        acc[k] = 0.0f;
    }
    for (int j = 0; j < out; j++) dbacc[j] = 0.0f;
    for (int r = 0; r < batch; r++) {
        const float *x = X + (size_t)r * (size_t)in;
        float *d = dA + (size_t)r * (size_t)out;
        float dz[16];
        for (int j = 0; j < out; j++) {
            float v = d[j];
            if (do_dz) {
                if (relu) v = A[(size_t)r * (size_t)out + (size_t)j] > 0.0f ? v : 0.0f;
                d[j] = v;
                dbacc[j] += v;
            } else {
                v *= alpha;
            }
            dz[j] = v;
        }
        for (int j = 0; j < out; j++)
            for (int i = 0; i < in; i++) acc[j * in + i] += dz[j] * x[i];
        if (dX) {
            float *dx = dX + (size_t)r * (size_t)in;
            for (int i = 0; i < in; i++) {
                float s = 0.0f;
                for (int j = 0; j < out; j++) s += dz[j] * w[j * in + i];
                dx[i] = s;
            }
        }
    }
    for (int k = 0; k < in * out; k++) L->dW[k] = accumulate ? L->dW[k] + acc[k] : acc[k];
    if (do_dz)
        for (int j = 0; j < out; j++) L->db[j] = accumulate ? L->db[j] + dbacc[j] : dbacc[j];
}

/* Constant-size instances for in, out <= 4 (so the compiler unrolls the inner loops and keeps
 * W in registers), a runtime-size instance for the rest. */
#define SMALL_SHAPES(X) \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(2, 1) X(2, 2) X(2, 3) X(2, 4) \
    X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(4, 1) X(4, 2) X(4, 3) X(4, 4)

static void small_forward(const nf_dense *L, const float *X, int batch, float *Z, int add_bias,
                          int relu, int acc)
{
    switch (L->in * 16 + L->out) {
#define FWD_CASE(I, O)                                                                          \
    case (I)*16 + (O):                                                                          \
        if (relu) small_forward_k(L, X, batch, Z, add_bias, 1, 0, I, O);                        \
        else if (acc) small_forward_k(L, X, batch, Z, add_bias, 0, 1, I, O);                    \
        else small_forward_k(L, X, batch, Z, add_bias, 0, 0, I, O);                             \
        return;
        SMALL_SHAPES(FWD_CASE)
#undef FWD_CASE
    default: small_forward_k(L, X, batch, Z, add_bias, relu, acc, L->in, L->out); return;
    }
}

static void small_backward(const nf_dense *L, const float *X, const float *A, float *dA, int batch,
                           int accumulate, float *dX, int do_dz, int relu, float alpha)
{
    switch (L->in * 16 + L->out) {
#define BWD_CASE(I, O)                                                                          \
    case (I)*16 + (O):                                                                          \
        if (do_dz && relu) small_backward_k(L, X, A, dA, batch, accumulate, dX, 1, 1, 1.0f, I, O); \
        else if (do_dz) small_backward_k(L, X, A, dA, batch, accumulate, dX, 1, 0, 1.0f, I, O); \
        else small_backward_k(L, X, A, dA, batch, accumulate, dX, 0, 0, alpha, I, O);           \
        return;
        SMALL_SHAPES(BWD_CASE)
#undef BWD_CASE
    default:
        small_backward_k(L, X, A, dA, batch, accumulate, dX, do_dz, relu, alpha, L->in, L->out);
        return;
    }
}

/* β for an sgemm that overwrites C: small C is zeroed here and accumulated into (β = 1), which
 * gives the same bits as β = 0 (OpenBLAS applies β to C first, β = 0 storing +0, and its
 * kernels then add α·A·B to C); its β pass is slower than memset on the small matrices of a
 * mini-batch (9 % of a 64→97→33 step at batch 64).  Large C keeps β = 0, which OpenBLAS
 * splits over its threads. */
int nf_dense_zeroes_first(int rows, int cols) { return (size_t)rows * (size_t)cols <= (size_t)1 << 15; }

static float zero_out(float *C, int rows, int cols)
{
    if (!nf_dense_zeroes_first(rows, cols)) return 0.0f;
    memset(C, 0, (size_t)rows * (size_t)cols * sizeof(float));
    return 1.0f;
}

void nf_dense_gemm_forward(const nf_dense *L, const float *X, int batch, float *Z, int accumulate)
{
    if (nf_dense_is_small(L)) {
        small_forward(L, X, batch, Z, 0, 0, accumulate);
        return;
    }
    /* Z[batch, out] = X[batch, in] · W[out, in]ᵀ (+ Z) */
    const float beta = accumulate ? 1.0f : zero_out(Z, batch, L->out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, L->out, L->in, 1.0f, X, L->in, L->W,
                L->in, beta, Z, L->out);
}

nf_status nf_dense_forward(const nf_dense *layer, const float *X, int batch, float *Z, float *A)
{
    const int in = layer->in, out = layer->out;
    if (batch <= 0 || in <= 0 || out <= 0)
        return nf_fail(NF_EINVAL, "dense forward: batch %d, in %d, out %d must be positive", batch,
                       in, out);
    const int per_unit = unit_params(layer);
    if (nf_dense_is_small(layer)) {
        const nf_act_kind k = layer->act.kind;
        if (A == Z && (k == NF_ACT_RELU || k == NF_ACT_LINEAR)) {
            small_forward(layer, X, batch, Z, 1, k == NF_ACT_RELU, 0);
        } else {
            small_forward(layer, X, batch, Z, 1, 0, 0);
            if (per_unit) nf_act_unit_forward(k, Z, NULL, layer->act_p, batch, out, A);
            else nf_act_forward(&layer->act, Z, A, (size_t)batch * (size_t)out);
        }
        return NF_OK;
    }
    nf_dense_gemm_forward(layer, X, batch, Z, 0);
    if (per_unit) nf_act_unit_forward(layer->act.kind, Z, layer->b, layer->act_p, batch, out, A);
    else nf_act_bias_forward(&layer->act, Z, layer->b, batch, out, A);
    return NF_OK;
}

/* dZ = dA ⊙ act'(Z) in place and db (+)= column sums of dZ, in one pass for relu and linear. */
NF_CLONES static void dz_db(const nf_dense *layer, const float *Z, const float *A, float *dA, int batch,
                  int accumulate)
{
    const int out = layer->out;
    float *restrict db = layer->db;
    if (!accumulate) memset(db, 0, (size_t)out * sizeof(float));
    switch (layer->act.kind) {
    case NF_ACT_LINEAR:
        break;
    case NF_ACT_RELU: /* relu'(z) = [a > 0], so dZ and db come from A in one pass */
        for (int r = 0; r < batch; r++) {
            const float *restrict a = A + (size_t)r * (size_t)out;
            float *restrict d = dA + (size_t)r * (size_t)out;
            for (int j = 0; j < out; j++) {
                float v = a[j] > 0.0f ? d[j] : 0.0f;
                d[j] = v;
                db[j] += v;
            }
        }
        return;
    default:
        if (unit_params(layer))
            nf_act_unit_backward(layer->act.kind, Z, A, layer->act_p, dA, batch, out, layer->act_dp,
                                 accumulate);
        else
            nf_act_backward(&layer->act, Z, A, dA, (size_t)batch * (size_t)out);
        break;
    }
    for (int r = 0; r < batch; r++) {
        const float *restrict d = dA + (size_t)r * (size_t)out;
        for (int j = 0; j < out; j++) db[j] += d[j];
    }
}

void nf_dense_transpose_w(const nf_dense *layer, float *restrict wt)
{
    const int in = layer->in, out = layer->out;
    const float *restrict W = layer->W;
    enum { TB = 32 }; /* blocks keep both sides in cache */
    for (int j0 = 0; j0 < out; j0 += TB)
        for (int i0 = 0; i0 < in; i0 += TB) {
            int j1 = j0 + TB < out ? j0 + TB : out, i1 = i0 + TB < in ? i0 + TB : in;
            for (int j = j0; j < j1; j++)
                for (int i = i0; i < i1; i++)
                    wt[(size_t)i * (size_t)out + (size_t)j] = W[(size_t)j * (size_t)in + (size_t)i];
        }
}

void nf_dense_backward_ex(const nf_dense *layer, const float *X, const float *Z, const float *A,
                          float *dA, int batch, int accumulate, float *dX, int dz_ready,
                          float alpha, float *wt)
{
    const int in = layer->in, out = layer->out;
    if (nf_dense_is_small(layer)) {
        const nf_act_kind k = layer->act.kind;
        int relu = k == NF_ACT_RELU;
        if (!dz_ready && unit_params(layer))
            nf_act_unit_backward(k, Z, A, layer->act_p, dA, batch, out, layer->act_dp, accumulate);
        else if (!dz_ready && k != NF_ACT_RELU && k != NF_ACT_LINEAR)
            nf_act_backward(&layer->act, Z, A, dA, (size_t)batch * (size_t)out);
        small_backward(layer, X, A, dA, batch, accumulate, dX, !dz_ready, relu, alpha);
        return;
    }
    if (!dz_ready) {
        dz_db(layer, Z, A, dA, batch, accumulate);
        alpha = 1.0f;
    }
    /* dW[out, in] = alpha · dA[batch, out]ᵀ · X[batch, in] */
    const float beta = accumulate ? 1.0f : zero_out(layer->dW, out, in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, batch, alpha, dA, out, X, in, beta,
                layer->dW, in);
    /* dX[batch, in] = alpha · dA[batch, out] · W[out, in] */
    if (dX && wt) {
        nf_dense_transpose_w(layer, wt);
        const float bx = zero_out(dX, batch, in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in, out, alpha, dA, out, wt,
                    out, bx, dX, in);
    } else if (dX) {
        const float bx = zero_out(dX, batch, in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in, out, alpha, dA, out,
                    layer->W, in, bx, dX, in);
    }
}

nf_status nf_dense_backward(const nf_dense *layer, const float *X, const float *Z, const float *A,
                            float *dA, int batch, int accumulate, float *dX)
{
    const int in = layer->in, out = layer->out;
    if (batch <= 0 || in <= 0 || out <= 0)
        return nf_fail(NF_EINVAL, "dense backward: batch %d, in %d, out %d must be positive", batch,
                       in, out);
    nf_dense_backward_ex(layer, X, Z, A, dA, batch, accumulate, dX, 0, 1.0f, NULL);
    return NF_OK;
}

void nf_dense_act_backward(const nf_dense *layer, const float *Z, const float *A, float *dA, int rows,
                           float *dP, size_t ldp)
{
    const int out = layer->out;
    if (!unit_params(layer)) {
        nf_act_backward(&layer->act, Z, A, dA, (size_t)rows * (size_t)out);
        return;
    }
    for (int r = 0; r < rows; r++) {
        const size_t o = (size_t)r * (size_t)out;
        nf_act_unit_backward(layer->act.kind, Z + o, A + o, layer->act_p, dA + o, 1, out,
                             dP ? dP + (size_t)r * ldp : NULL, 0);
    }
}
