/* model.c — MLP over flat buffers: forward, backward, evaluation. */
#include "nnfit/model.h"
#include "fpenv.h"

#include "model_par.h"
#include "simd.h"
#include "model_small.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/mat.h"

#include "dense_internal.h"

nf_status nf_model_create(nf_model **out, int n_layers, const int *sizes, const nf_act_spec *acts)
{
    *out = NULL;
    if (n_layers < 1 || n_layers > NF_MAX_LAYERS)
        return nf_fail(NF_EINVAL, "a model needs 1 to %d layers, got %d", NF_MAX_LAYERS, n_layers);
    size_t n_params = 0;
    for (int i = 0; i <= n_layers; i++)
        if (sizes[i] < 1 || sizes[i] > (1 << 24))
            return nf_fail(NF_EINVAL, "layer size %d at position %d must be in 1..%d", sizes[i], i,
                           1 << 24);
    for (int i = 0; i < n_layers; i++) {
        if (acts[i].kind >= NF_ACT_COUNT) return nf_fail(NF_EINVAL, "layer %d: bad activation", i);
        n_params += (size_t)sizes[i + 1] * ((size_t)sizes[i] + 1);
    }
    nf_model *m = calloc(1, sizeof *m);
    if (!m) return nf_fail(NF_ENOMEM, "cannot allocate model");
    m->n_layers = n_layers;
    memcpy(m->sizes, sizes, (size_t)(n_layers + 1) * sizeof(int));
    m->n_params = n_params;
    nf_status st = nf_alloc_floats(&m->params, n_params);
    if (!st) st = nf_alloc_floats(&m->grads, n_params);
    if (st) {
        nf_model_free(m);
        return st;
    }
    size_t off = 0;
    for (int i = 0; i < n_layers; i++) {
        nf_dense *L = &m->layers[i];
        L->in = sizes[i];
        L->out = sizes[i + 1];
        L->act = acts[i];
        L->W = m->params + off;
        L->dW = m->grads + off;
        off += (size_t)L->out * (size_t)L->in;
        L->b = m->params + off;
        L->db = m->grads + off;
        off += (size_t)L->out;
    }
    *out = m;
    return NF_OK;
}

nf_status nf_model_create_mlp(nf_model **out, int n_layers, const int *sizes,
                              const nf_act_spec *hidden, const nf_act_spec *output)
{
    nf_act_spec acts[NF_MAX_LAYERS];
    if (n_layers < 1 || n_layers > NF_MAX_LAYERS)
        return nf_fail(NF_EINVAL, "a model needs 1 to %d layers, got %d", NF_MAX_LAYERS, n_layers);
    for (int i = 0; i < n_layers; i++) acts[i] = i == n_layers - 1 ? *output : *hidden;
    return nf_model_create(out, n_layers, sizes, acts);
}

void nf_model_free(nf_model *m)
{
    if (!m) return;
    nf_free(m->params);
    nf_free(m->grads);
    nf_free(m->work);
    nf_free(m->drop_work);
    nf_pool_free(m->pool);
    free(m);
}

/* Dropout buffers for the reserved batch: mask and masked output per hidden layer. */
static nf_status drop_alloc(nf_model *m)
{
    nf_free(m->drop_work);
    m->drop_work = NULL;
    if (!(m->drop_p > 0.0f) || !m->work || m->n_layers < 2) return NF_OK;
    size_t total = 0, block[NF_MAX_LAYERS];
    for (int i = 0; i < m->n_layers - 1; i++) {
        block[i] = ((size_t)m->batch_cap * (size_t)m->sizes[i + 1] + 15) / 16 * 16;
        total += 2 * block[i];
    }
    nf_status st = nf_alloc_floats(&m->drop_work, total);
    if (st) return nf_fail(NF_ENOMEM, "dropout buffers for batch %d could not be allocated", m->batch_cap);
    float *p = m->drop_work;
    for (int i = 0; i < m->n_layers - 1; i++) {
        m->drop_mask[i] = p;
        m->drop_A[i] = p + block[i];
        p += 2 * block[i];
        for (size_t k = 0; k < block[i]; k++) m->drop_mask[i][k] = 1.0f;
    }
    return NF_OK;
}

nf_status nf_model_set_dropout(nf_model *m, float p, uint64_t seed)
{
    if (!(p >= 0.0f && p < 1.0f)) return nf_fail(NF_EINVAL, "dropout must be in [0, 1), got %g", (double)p);
    m->drop_p = p;
    nf_rng_seed(&m->drop_rng, seed);
    return drop_alloc(m);
}

void nf_model_set_training(nf_model *m, int on) { m->drop_train = on; }
void nf_model_freeze_dropout(nf_model *m, int frozen) { m->drop_frozen = frozen; }

static int drop_active(const nf_model *m, int layer)
{
    return m->drop_train && m->drop_p > 0.0f && m->drop_work && layer < m->n_layers - 1;
}

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

size_t nf_model_wt_floats(const nf_model *m)
{
    size_t wt = 0;
    for (int i = 1; i < m->n_layers; i++) {
        size_t w = (size_t)m->sizes[i] * (size_t)m->sizes[i + 1];
        if (w > wt) wt = w;
    }
    return (wt + 15) / 16 * 16;
}

nf_status nf_model_reserve(nf_model *m, int batch)
{
    if (batch < 1) return nf_fail(NF_EINVAL, "batch size must be >= 1, got %d", batch);
    if (m->work && batch == m->batch_cap) return NF_OK;
    nf_free(m->work);
    m->work = NULL;
    m->wt = NULL;
    m->batch_cap = 0;
    /* Each block is rounded up to 16 floats so every buffer stays 64-byte aligned. */
    size_t max_width = 0, total = 0;
    size_t block[NF_MAX_LAYERS];
    for (int i = 0; i < m->n_layers; i++) {
        size_t w = (size_t)m->sizes[i + 1];
        if (w > max_width) max_width = w;
        block[i] = ((size_t)batch * w + 15) / 16 * 16;
        int in_place = !nf_act_needs_z(m->layers[i].act.kind);
        total += block[i] * (in_place ? 1 : 2);
    }
    size_t dblock = ((size_t)batch * max_width + 15) / 16 * 16;
    total += 2 * dblock;
    const size_t wt_size = nf_model_wt_floats(m);
    total += wt_size;
    if ((double)total * sizeof(float) > (double)SIZE_MAX / 2)
        return nf_fail(NF_ENOMEM, "workspace for batch %d does not fit in memory", batch);
    nf_status st = nf_alloc_floats(&m->work, total);
    if (st)
        return nf_fail(NF_ENOMEM, "workspace for batch %d needs %.1f MiB and could not be allocated",
                       batch, (double)total * sizeof(float) / 1048576.0);
    nf_free(m->drop_work);
    m->drop_work = NULL;
    float *p = m->work;
    for (int i = 0; i < m->n_layers; i++) {
        m->Z[i] = p;
        p += block[i];
        if (nf_act_needs_z(m->layers[i].act.kind)) {
            m->A[i] = p;
            p += block[i];
        } else {
            m->A[i] = m->Z[i];
        }
    }
    m->dbuf[0] = p;
    m->dbuf[1] = p + dblock;
    m->wt = wt_size ? p + 2 * dblock : NULL;
    m->batch_cap = batch;
    return drop_alloc(m);
}

nf_status nf_model_check_batch(const nf_model *m, int batch)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    if (batch < 1 || batch > m->batch_cap)
        return nf_fail(NF_EINVAL, "batch %d outside 1..%d reserved", batch, m->batch_cap);
    return NF_OK;
}

static nf_status nf_model_forward_impl(nf_model *m, const float *X, int batch)
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

const float *nf_model_output(const nf_model *m) { return m->A[m->n_layers - 1]; }

/* Backward starts from dbuf[0] at the last layer and alternates buffers going down. */
float *nf_model_dout(nf_model *m) { return m->dbuf[0]; }

/* Backward through layers top..0.  Layer `top` reads its dA from dbuf[0], or, when top_dz is
 * given, takes dZ = top_alpha·top_dz (db already written by the fused MSE passes). */
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

static nf_status nf_model_backward_impl(nf_model *m, const float *X, int batch)
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

/* nf_model_grad on the calling thread (also each shard's step in model_par.c). */
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
    const size_t n = (size_t)batch * (size_t)nf_model_n_out(m);
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
    nf_status st = nf_model_forward_impl(m, X, batch);
    if (st) return st;
    double v = nf_loss_grad(loss, nf_model_output(m), Y, n, denom, nf_model_dout(m));
    if (loss_out) *loss_out = v;
    return nf_model_backward_impl(m, X, batch);
}

static nf_status nf_model_eval_impl(nf_model *m, const float *X, const float *Y, int n,
                        const nf_loss_spec *loss, double *loss_out)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    double sum = 0.0;
    for (int r = 0; r < n; r += m->batch_cap) {
        int b = n - r < m->batch_cap ? n - r : m->batch_cap;
        nf_status st = nf_model_forward_impl(m, X + (size_t)r * nin, b);
        if (st) return st;
        size_t cnt = (size_t)b * nout;
        sum += nf_loss_value(loss, nf_model_output(m), Y + (size_t)r * nout, cnt) * (double)cnt;
    }
    *loss_out = n > 0 ? sum / ((double)n * (double)nout) : 0.0;
    return NF_OK;
}

static nf_status nf_model_predict_impl(nf_model *m, const float *X, int n, float *out)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    for (int r = 0; r < n; r += m->batch_cap) {
        int b = n - r < m->batch_cap ? n - r : m->batch_cap;
        nf_status st = nf_model_forward_impl(m, X + (size_t)r * nin, b);
        if (st) return st;
        memcpy(out + (size_t)r * nout, nf_model_output(m), (size_t)b * nout * sizeof(float));
    }
    return NF_OK;
}

nf_status nf_model_clone(nf_model **out, const nf_model *src)
{
    nf_act_spec acts[NF_MAX_LAYERS];
    for (int i = 0; i < src->n_layers; i++) acts[i] = src->layers[i].act;
    nf_status st = nf_model_create(out, src->n_layers, src->sizes, acts);
    if (st) return st;
    memcpy((*out)->params, src->params, src->n_params * sizeof(float));
    return NF_OK;
}

void nf_model_shape_str(const nf_model *m, char *buf, size_t len)
{
    size_t pos = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i <= m->n_layers && pos < len; i++) {
        int w = snprintf(buf + pos, len - pos, i ? ",%d" : "%d", m->sizes[i]);
        if (w < 0) break;
        pos += (size_t)w;
    }
}

nf_status nf_parse_sizes(const char *text, int *sizes, int max, int *count)
{
    int k = 0;
    const char *p = text;
    *count = 0;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > (1 << 24))
            return nf_fail(NF_EINVAL, "'%s': layer sizes must be positive integers like 2,3,1", text);
        if (k >= max) return nf_fail(NF_EINVAL, "'%s': at most %d sizes", text, max);
        sizes[k++] = (int)v;
        p = end;
        if (*p == ',') {
            p++;
            if (!*p) return nf_fail(NF_EINVAL, "'%s': trailing comma", text);
        } else if (*p) {
            return nf_fail(NF_EINVAL, "'%s': layer sizes must be positive integers like 2,3,1", text);
        }
    }
    if (k < 2) return nf_fail(NF_EINVAL, "'%s': need at least input and output size", text);
    *count = k;
    return NF_OK;
}

static nf_status nf_model_grad_impl(nf_model *m, const float *X, const float *Y, int batch,
                                    const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    const int shards = nf_pool_shards(m, batch);
    if (shards > 1 && !nf_model_small_ok(m) && !drop_active(m, 0)) {
        nf_status st = nf_model_check_batch(m, batch);
        if (st) return st;
        return nf_pool_grad(m, shards, X, Y, batch, loss, denom, loss_out);
    }
    return nf_model_grad_serial(m, X, Y, batch, loss, denom, loss_out);
}

/* Public entry points: run with subnormals flushed (fpenv.h); calls inside this file go to
 * the _impl functions, so the mode is switched once per public call. */
nf_status nf_model_forward(nf_model *m, const float *X, int batch)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_forward_impl(m, X, batch);
    nf_fp_leave(fp);
    return st;
}

nf_status nf_model_backward(nf_model *m, const float *X, int batch)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_backward_impl(m, X, batch);
    nf_fp_leave(fp);
    return st;
}

nf_status nf_model_grad(nf_model *m, const float *X, const float *Y, int batch,
                        const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_grad_impl(m, X, Y, batch, loss, denom, loss_out);
    nf_fp_leave(fp);
    return st;
}

nf_status nf_model_eval(nf_model *m, const float *X, const float *Y, int n,
                        const nf_loss_spec *loss, double *loss_out)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_eval_impl(m, X, Y, n, loss, loss_out);
    nf_fp_leave(fp);
    return st;
}

nf_status nf_model_predict(nf_model *m, const float *X, int n, float *out)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_predict_impl(m, X, n, out);
    nf_fp_leave(fp);
    return st;
}

/* ---- accessors ---- */

int nf_model_n_in(const nf_model *m) { return m->sizes[0]; }
int nf_model_n_out(const nf_model *m) { return m->sizes[m->n_layers]; }
int nf_model_n_layers(const nf_model *m) { return m->n_layers; }
int nf_model_size(const nf_model *m, int i) { return i >= 0 && i <= m->n_layers ? m->sizes[i] : 0; }
const nf_dense *nf_model_layer(const nf_model *m, int i) { return &m->layers[i]; }
size_t nf_model_n_params(const nf_model *m) { return m->n_params; }
float *nf_model_params(nf_model *m) { return m->params; }
float *nf_model_grads(nf_model *m) { return m->grads; }
size_t nf_model_param_offset(const nf_model *m, const float *p) { return (size_t)(p - m->params); }
int nf_model_batch_cap(const nf_model *m) { return m->work ? m->batch_cap : 0; }
const float *nf_model_layer_z(const nf_model *m, int i) { return m->work ? m->Z[i] : NULL; }
const float *nf_model_layer_a(const nf_model *m, int i) { return m->work ? m->A[i] : NULL; }
int nf_model_training(const nf_model *m) { return m->drop_train; }
const float *nf_model_dropout_mask(const nf_model *m, int i)
{
    return m->drop_work && i >= 0 && i < m->n_layers - 1 ? m->drop_mask[i] : NULL;
}
