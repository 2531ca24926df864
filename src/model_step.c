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

nf_status nf_model_grad_serial(nf_model *m, const float *X, const float *Y, int batch,
                               const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    /* tiny 1-hidden-layer nets: one fused kernel instead of sgemm (model_small.c); it has no
     * dropout, so a net training with dropout takes the general path */
    if (nf_model_small_ok(m) && !drop_active(m, 0)) {
        nf_status cst = nf_model_check_batch(m, batch);
        if (cst) return cst;
        return nf_model_grad_small(m, X, Y, batch, loss, denom, loss_out);
    }
    const int last = m->n_layers - 1;
    const size_t n = (size_t)batch * (size_t)m->sizes[m->n_layers];
    if (!denom) denom = n;
    if (loss->kind == NF_LOSS_MSE && m->layers[last].act.kind == NF_ACT_LINEAR) {
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
