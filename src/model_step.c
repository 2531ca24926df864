/* model_step.c — the serial training step (forward, loss, backward over one batch on the
 * calling thread) and the layout of the workspace it runs in.
 *
 * model.c (lifetime, public entry points) and model_par.c (data-parallel shards, each running
 * this step on a view of its rows) both call down into this file; it calls neither of them. */
#include "model_step.h"

#include <stdint.h>
#include <string.h>

#include "dense_internal.h"
#include "model_small.h"
#include "simd.h"

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

nf_status nf_model_workspace(const nf_model *m, int batch, int shards, nf_workspace_layout *out)
{
    if (batch < 1) return nf_fail(NF_EINVAL, "batch size must be >= 1, got %d", batch);
    if (shards < 1) return nf_fail(NF_EINVAL, "shards must be >= 1, got %d", shards);
    nf_workspace_layout *w = out;
    memset(w, 0, sizeof *w);
    w->batch = batch;
    w->shards = shards;
    const size_t rows = (size_t)batch;
    size_t off = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const size_t width = (size_t)m->sizes[i + 1];
        if (m->sizes[i + 1] > w->d_width) w->d_width = m->sizes[i + 1];
        const size_t block = round16(rows * width);
        w->z[i] = off;
        off += block;
        w->a[i] = w->z[i];
        if (nf_act_needs_z(m->layers[i].act.kind)) {
            w->a[i] = off;
            off += block;
        }
    }
    const size_t dblock = round16(rows * (size_t)w->d_width);
    w->d[0] = off;
    w->d[1] = off + dblock;
    off += 2 * dblock;
    size_t wt = 0; /* dX = dZ·W runs as an NT sgemm on a transposed copy of W (dense.c) */
    for (int i = 1; i < m->n_layers; i++) {
        const size_t in_out = (size_t)m->sizes[i] * (size_t)m->sizes[i + 1];
        if (in_out > wt) wt = in_out;
    }
    w->wt = off;
    w->wt_floats = round16(wt);
    off += w->wt_floats;
    w->work_floats = off;
    if ((double)off * sizeof(float) > (double)SIZE_MAX / 2)
        return nf_fail(NF_ENOMEM, "workspace for batch %d does not fit in memory", batch);
    if (m->drop_p > 0.0f && m->n_layers >= 2) {
        off = 0;
        for (int i = 0; i < m->n_layers - 1; i++) {
            const size_t block = round16(rows * (size_t)m->sizes[i + 1]);
            w->drop_mask[i] = off;
            w->drop_a[i] = off + block;
            off += 2 * block;
        }
        w->drop_floats = off;
    }
    w->shard_grads_floats = (size_t)(shards - 1) * m->n_params;
    w->shard_wt_floats = (size_t)(shards - 1) * w->wt_floats;
    return NF_OK;
}

nf_status nf_model_check_batch(const nf_model *m, int batch)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    if (batch < 1 || batch > m->batch_cap)
        return nf_fail(NF_EINVAL, "batch %d outside 1..%d reserved", batch, m->batch_cap);
    return NF_OK;
}

static int drop_active(const nf_model *m, int layer)
{
    return m->drop_train && m->drop_p > 0.0f && m->drop_work && layer < m->n_layers - 1;
}

int nf_model_dropping(const nf_model *m) { return drop_active(m, 0); }

/* Masks hidden layer i's output into drop_A[i] (drawing a new mask unless frozen). */
static const float *dropout_forward(nf_model *m, int i, int batch)
{
    const size_t n = (size_t)batch * (size_t)m->sizes[i + 1];
    float *mask = m->drop_mask[i], *out = m->drop_A[i];
    const float *a = m->A[i];
    if (!m->drop_frozen) {
        const double p = m->drop_p;
        const float keep = 1.0f / (1.0f - m->drop_p);
        for (size_t k = 0; k < n; k++) mask[k] = nf_rng_uniform(&m->drop_rng) < p ? 0.0f : keep;
    }
    for (size_t k = 0; k < n; k++) out[k] = a[k] * mask[k];
    return out;
}

nf_status nf_model_forward_serial(nf_model *m, const float *X, int batch)
{
    nf_status st = nf_model_check_batch(m, batch);
    if (st) return st;
    const float *in = X;
    for (int i = 0; i < m->n_layers; i++) {
        st = nf_dense_forward(&m->layers[i], in, batch, m->Z[i], m->A[i]);
        if (st) return st;
        in = drop_active(m, i) ? dropout_forward(m, i, batch) : m->A[i];
    }
    return NF_OK;
}

/* Backward through layers top..0, alternating between the two d buffers going down.  Layer
 * `top` reads its dA from dbuf[0], or, when top_dz is given, takes dZ = top_alpha·top_dz (db
 * already written by the fused MSE passes). */
static void backward_layers(nf_model *m, const float *X, int batch, float *top_dz, float top_alpha)
{
    int cur = 0;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        nf_dense *L = &m->layers[i];
        const int dropped = i && drop_active(m, i - 1);
        const float *in = i ? (dropped ? m->drop_A[i - 1] : m->A[i - 1]) : X;
        float *dX = i ? m->dbuf[cur ^ 1] : NULL;
        const int top = i == m->n_layers - 1 && top_dz;
        nf_dense_backward_ex(L, in, nf_act_needs_z(L->act.kind) ? m->Z[i] : NULL, m->A[i],
                             top ? top_dz : m->dbuf[cur], batch, 0, dX, top, top ? top_alpha : 1.0f,
                             m->wt);
        if (dropped) {
            const float *mask = m->drop_mask[i - 1];
            const size_t n = (size_t)batch * (size_t)L->in;
            for (size_t k = 0; k < n; k++) dX[k] *= mask[k];
        }
        cur ^= 1;
    }
}

nf_status nf_model_backward_serial(nf_model *m, const float *X, int batch)
{
    nf_status st = nf_model_check_batch(m, batch);
    if (st) return st;
    backward_layers(m, X, batch, NULL, 1.0f);
    return NF_OK;
}

/* MSE with a linear output layer, in two passes around the output sgemm instead of a
 * read-modify-write pass after it:
 *   1. mse_prefill: Z = b − Y (so the output sgemm runs with beta = 1 and leaves the error
 *      e = X·Wᵀ + b − Y in Z; beta = 0 would cost OpenBLAS a zeroing pass over Z anyway);
 *   2. mse_sum_db: a read-only pass over e giving Σe² and db = s2·Σ_rows e (s2 = 2/denom).
 * dZ = s2·e is never written: the backward sgemms of the layer take alpha = s2.  Float lanes
 * within a row (or over 8 rows when out = 1), double across rows.  After nf_model_grad the
 * output buffer therefore holds e: it is workspace, not predictions. */
NF_CLONES static void mse_prefill(const nf_dense *L, float *restrict Z, const float *restrict Y, int batch)
{
    const size_t out = (size_t)L->out;
    const float *restrict b = L->b;
    if (out == 1) {
        const float b0 = b[0];
        for (size_t r = 0; r < (size_t)batch; r++) Z[r] = b0 - Y[r];
        return;
    }
    for (size_t r = 0; r < (size_t)batch; r++) {
        float *restrict z = Z + r * out;
        const float *restrict y = Y + r * out;
        for (size_t j = 0; j < out; j++) z[j] = b[j] - y[j];
    }
}

NF_CLONES static double mse_sum_db(const nf_dense *L, const float *restrict E, int batch, float s2)
{
    const size_t out = (size_t)L->out;
    float *restrict db = L->db;
    double total = 0.0;
    if (out == 1) { /* one column: lanes run over rows */
        float g_lane[8] = {0}, r_lane[8] = {0};
        size_t n = (size_t)batch, r = 0;
        for (; r + 8 <= n; r += 8) {
            for (int l = 0; l < 8; l++) {
                const float e = E[r + (size_t)l];
                g_lane[l] += e;
                r_lane[l] += e * e;
            }
            if ((r & 1023) == 1016) { /* keep float partial sums short */
                for (int l = 0; l < 8; l++) {
                    total += (double)r_lane[l];
                    r_lane[l] = 0.0f;
                }
            }
        }
        for (; r < n; r++) {
            g_lane[0] += E[r];
            r_lane[0] += E[r] * E[r];
        }
        float gs = 0.0f;
        for (int l = 0; l < 8; l++) {
            gs += g_lane[l];
            total += (double)r_lane[l];
        }
        db[0] = s2 * gs;
        return total;
    }
    memset(db, 0, out * sizeof(float));
    for (int r = 0; r < batch; r++) {
        const float *restrict e = E + (size_t)r * out;
        float lane[8] = {0};
        size_t j = 0;
        for (; j + 8 <= out; j += 8)
            for (size_t l = 0; l < 8; l++) {
                db[j + l] += e[j + l];
                lane[l] += e[j + l] * e[j + l];
            }
        for (; j < out; j++) {
            db[j] += e[j];
            lane[0] += e[j] * e[j];
        }
        total += (double)(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                          ((lane[4] + lane[5]) + (lane[6] + lane[7])));
    }
    for (size_t j = 0; j < out; j++) db[j] *= s2;
    return total;
}

/* The step's three shapes (nf_model_grad_serial and nf_model_step_gemms decide alike):
 * tiny one-hidden-layer nets take one fused kernel instead of sgemm (model_small.c), except
 * while dropping units, which that kernel does not do; MSE on a linear output pre-fills the
 * output Z (mse_prefill); everything else runs forward, nf_loss_grad, backward. */
static int fused_small(const nf_model *m)
{
    return (nf_model_small_ok(m) || nf_model_mlp_small_ok(m)) && !drop_active(m, 0);
}

static int prefilled_mse(const nf_model *m, const nf_loss_spec *loss)
{
    return loss->kind == NF_LOSS_MSE && m->layers[m->n_layers - 1].act.kind == NF_ACT_LINEAR;
}

int nf_model_grad_rows_ok(const nf_model *m) { return fused_small(m); }

nf_status nf_model_grad_rows_serial(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                                    const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    if (!fused_small(m)) return nf_fail(NF_EINVAL, "this model's step does not read rows in place");
    nf_status cst = nf_model_check_batch(m, batch);
    if (cst) return cst;
    if (nf_model_small_ok(m)) return nf_model_grad_small(m, X, Y, idx, batch, loss, denom, loss_out);
    return nf_model_grad_mlp_small(m, X, Y, idx, batch, loss, denom, loss_out);
}

nf_status nf_model_grad_serial(nf_model *m, const float *X, const float *Y, int batch,
                               const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    if (fused_small(m)) return nf_model_grad_rows_serial(m, X, Y, NULL, batch, loss, denom, loss_out);
    const int last = m->n_layers - 1;
    const size_t n = (size_t)batch * (size_t)m->sizes[m->n_layers];
    if (!denom) denom = n;
    if (prefilled_mse(m, loss)) {
        nf_status st = nf_model_check_batch(m, batch);
        if (st) return st;
        const float *in = X;
        for (int i = 0; i < last; i++) {
            st = nf_dense_forward(&m->layers[i], in, batch, m->Z[i], m->A[i]);
            if (st) return st;
            in = drop_active(m, i) ? dropout_forward(m, i, batch) : m->A[i];
        }
        const float s2 = (float)(2.0 / (double)denom);
        mse_prefill(&m->layers[last], m->Z[last], Y, batch);
        nf_dense_gemm_forward(&m->layers[last], in, batch, m->Z[last], 1);
        double sum = mse_sum_db(&m->layers[last], m->Z[last], batch, s2);
        if (loss_out) *loss_out = sum / (double)denom;
        backward_layers(m, X, batch, m->Z[last], s2);
        return NF_OK;
    }
    nf_status st = nf_model_forward_serial(m, X, batch);
    if (st) return st;
    double v = nf_loss_grad(loss, m->A[last], Y, n, denom, m->dbuf[0]);
    if (loss_out) *loss_out = v;
    return nf_model_backward_serial(m, X, batch);
}

/* ---- the list of the step's products ---- */

static const float *buf_ptr(const nf_model *m, const float *X, nf_buf_ref r)
{
    switch (r.kind) {
    case NF_BUF_X: return X;
    case NF_BUF_Z: return m->Z[r.layer];
    case NF_BUF_A: return m->A[r.layer];
    case NF_BUF_DROP_A: return m->drop_A[r.layer];
    case NF_BUF_D0: return m->dbuf[0];
    case NF_BUF_D1: return m->dbuf[1];
    case NF_BUF_W: return m->layers[r.layer].W;
    case NF_BUF_WT: return m->wt;
    case NF_BUF_DW: return m->layers[r.layer].dW;
    }
    return NULL;
}

/* What layer i reads: X, the layer below's A, or its masked output while dropping. */
static nf_buf_ref layer_input(const nf_model *m, int i)
{
    if (!i) return (nf_buf_ref){NF_BUF_X, -1};
    return (nf_buf_ref){drop_active(m, i - 1) ? NF_BUF_DROP_A : NF_BUF_A, i - 1};
}

typedef struct {
    const nf_model *m;
    const float *X;
    nf_gemm_call *calls;
    int cap, n, looped;
} gemm_list;

/* Appends sgemm(RowMajor, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc). */
static void add_gemm(gemm_list *g, nf_gemm_role role, int layer, int ta, int tb, int M, int N, int K,
                     float alpha, nf_buf_ref a, int lda, nf_buf_ref b, int ldb, float beta,
                     nf_buf_ref c, int ldc)
{
    if (g->n < g->cap) {
        const nf_dense *L = &g->m->layers[layer];
        nf_gemm_call *e = &g->calls[g->n];
        *e = (nf_gemm_call){role,  layer, !g->looped && !nf_dense_is_small(L), ta, tb, M, N, K,
                            alpha, beta,  a,  b, c, lda, ldb, ldc, NULL, NULL, NULL};
        e->A = buf_ptr(g->m, g->X, a);
        e->B = buf_ptr(g->m, g->X, b);
        e->C = (float *)buf_ptr(g->m, g->X, c);
    }
    g->n++;
}

/* Mirrors nf_dense_gemm_forward, backward_layers and nf_dense_backward_ex. */
nf_status nf_model_step_gemms(const nf_model *m, const float *X, int batch, const nf_loss_spec *loss,
                              size_t denom, nf_gemm_call *calls, int cap, int *count)
{
    *count = 0;
    nf_status st = nf_model_check_batch(m, batch);
    if (st) return st;
    gemm_list g = {m, X, calls, cap, 0, fused_small(m)};
    const int last = m->n_layers - 1, mse = prefilled_mse(m, loss);
    if (!denom) denom = (size_t)batch * (size_t)m->sizes[m->n_layers];
    const float s2 = (float)(2.0 / (double)denom);
    for (int i = 0; i <= last; i++) {
        const nf_dense *L = &m->layers[i];
        const float beta = (mse && i == last) || nf_dense_zeroes_first(batch, L->out) ? 1.0f : 0.0f;
        add_gemm(&g, NF_GEMM_FORWARD, i, 0, 1, batch, L->out, L->in, 1.0f, layer_input(m, i), L->in,
                 (nf_buf_ref){NF_BUF_W, i}, L->in, beta, (nf_buf_ref){NF_BUF_Z, i}, L->out);
    }
    int cur = 0;
    for (int i = last; i >= 0; i--) {
        const nf_dense *L = &m->layers[i];
        const float alpha = mse && i == last ? s2 : 1.0f;
        const nf_buf_ref dz = mse && i == last ? (nf_buf_ref){NF_BUF_Z, i}
                                                : (nf_buf_ref){cur ? NF_BUF_D1 : NF_BUF_D0, -1};
        add_gemm(&g, NF_GEMM_GRAD_W, i, 1, 0, L->out, L->in, batch, alpha, dz, L->out,
                 layer_input(m, i), L->in, nf_dense_zeroes_first(L->out, L->in) ? 1.0f : 0.0f,
                 (nf_buf_ref){NF_BUF_DW, i}, L->in);
        const float bx = nf_dense_zeroes_first(batch, L->in) ? 1.0f : 0.0f;
        const nf_buf_ref dx = {cur ? NF_BUF_D0 : NF_BUF_D1, -1};
        if (i && m->wt)
            add_gemm(&g, NF_GEMM_GRAD_X, i, 0, 1, batch, L->in, L->out, alpha, dz, L->out,
                     (nf_buf_ref){NF_BUF_WT, i}, L->out, bx, dx, L->in);
        else if (i)
            add_gemm(&g, NF_GEMM_GRAD_X, i, 0, 0, batch, L->in, L->out, alpha, dz, L->out,
                     (nf_buf_ref){NF_BUF_W, i}, L->in, bx, dx, L->in);
        cur ^= 1;
    }
    *count = g.n;
    return NF_OK;
}
