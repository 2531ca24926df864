/* model.c — an MLP over flat buffers: creation, workspace, evaluation, the public entry points
 * (each switches subnormal flushing once, fpenv.h) and the accessors.  The step itself is in
 * model_step.c, the data-parallel shards in model_par.c. */
#include "nnfit/model.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "model_par.h"
#include "model_small.h"
#include "model_step.h"
#include "nnfit/mat.h"

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
        if (nf_act_learnable(acts[i].kind) && !isfinite(acts[i].param))
            return nf_fail(NF_EINVAL, "layer %d: %s needs a finite initial parameter", i,
                           nf_act_name(acts[i].kind));
        n_params += (size_t)sizes[i + 1] * ((size_t)sizes[i] + 1 + (size_t)nf_act_learnable(acts[i].kind));
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
        if (nf_act_learnable(L->act.kind)) { /* torch.nn.PReLU-style: starts at the spec's value */
            L->act_p = m->params + off;
            L->act_dp = m->grads + off;
            for (int j = 0; j < L->out; j++) L->act_p[j] = L->act.param;
            off += (size_t)L->out;
        }
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

/* Dropout buffers of layout ws (the reserved batch): a mask, all ones until the first
 * training-mode forward, and a masked output per hidden layer. */
static nf_status drop_alloc(nf_model *m, const nf_workspace_layout *ws)
{
    nf_free(m->drop_work);
    m->drop_work = NULL;
    if (!ws->drop_floats) return NF_OK;
    nf_status st = nf_alloc_floats(&m->drop_work, ws->drop_floats);
    if (st) return nf_fail(NF_ENOMEM, "dropout buffers for batch %d could not be allocated", m->batch_cap);
    for (int i = 0; i < m->n_layers - 1; i++) {
        m->drop_mask[i] = m->drop_work + ws->drop_mask[i];
        m->drop_A[i] = m->drop_work + ws->drop_a[i];
        for (size_t k = ws->drop_mask[i]; k < ws->drop_a[i]; k++) m->drop_work[k] = 1.0f;
    }
    return NF_OK;
}

nf_status nf_model_set_dropout(nf_model *m, float p, uint64_t seed)
{
    if (!(p >= 0.0f && p < 1.0f)) return nf_fail(NF_EINVAL, "dropout must be in [0, 1), got %g", (double)p);
    m->drop_p = p;
    nf_rng_seed(&m->drop_rng, seed);
    if (!m->work) {
        nf_free(m->drop_work); /* nf_model_reserve allocates them */
        m->drop_work = NULL;
        return NF_OK;
    }
    nf_workspace_layout ws;
    nf_status st = nf_model_workspace(m, m->batch_cap, 1, &ws);
    return st ? st : drop_alloc(m, &ws);
}

void nf_model_set_training(nf_model *m, int on) { m->drop_train = on; }
void nf_model_freeze_dropout(nf_model *m, int frozen) { m->drop_frozen = frozen; }

nf_status nf_model_reserve(nf_model *m, int batch)
{
    if (batch < 1) return nf_fail(NF_EINVAL, "batch size must be >= 1, got %d", batch);
    if (m->work && batch == m->batch_cap) return NF_OK;
    nf_free(m->work);
    m->work = NULL;
    m->wt = NULL;
    m->batch_cap = 0;
    nf_workspace_layout ws;
    nf_status st = nf_model_workspace(m, batch, 1, &ws);
    if (st) return st;
    st = nf_alloc_floats(&m->work, ws.work_floats);
    if (st)
        return nf_fail(NF_ENOMEM, "workspace for batch %d needs %.1f MiB and could not be allocated",
                       batch, (double)ws.work_floats * sizeof(float) / 1048576.0);
    nf_free(m->drop_work);
    m->drop_work = NULL;
    for (int i = 0; i < m->n_layers; i++) {
        m->Z[i] = m->work + ws.z[i];
        m->A[i] = m->work + ws.a[i];
    }
    m->dbuf[0] = m->work + ws.d[0];
    m->dbuf[1] = m->work + ws.d[1];
    m->d_width = ws.d_width;
    m->wt = ws.wt_floats ? m->work + ws.wt : NULL;
    m->batch_cap = batch;
    return drop_alloc(m, &ws);
}

const float *nf_model_output(const nf_model *m) { return m->A[m->n_layers - 1]; }

/* Backward starts from dbuf[0] at the last layer (model_step.c). */
float *nf_model_dout(nf_model *m) { return m->dbuf[0]; }

/* Evaluation and prediction of a net the fused step trains (model_small.h) run its forward
 * pass, so the losses reported are of the function trained, computed as in training. */
static int fused_forward(const nf_model *m) { return nf_model_mlp_small_ok(m) && !nf_model_dropping(m); }

static nf_status nf_model_eval_impl(nf_model *m, const float *X, const float *Y, int n,
                        const nf_loss_spec *loss, double *loss_out)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    double sum = 0.0;
    const int fused = fused_forward(m);
    /* a fused net's outputs of a chunk go to dbuf[0], row-major (the forward's workspace is
     * A and Z); else they are the model's output */
    const float *out = fused ? m->dbuf[0] : nf_model_output(m);
    for (int r = 0; r < n; r += m->batch_cap) {
        int b = n - r < m->batch_cap ? n - r : m->batch_cap;
        if (fused) {
            nf_model_forward_mlp_small(m, X + (size_t)r * nin, b, m->dbuf[0]);
        } else {
            nf_status st = nf_model_forward_serial(m, X + (size_t)r * nin, b);
            if (st) return st;
        }
        size_t cnt = (size_t)b * nout;
        sum += nf_loss_value(loss, out, Y + (size_t)r * nout, cnt) * (double)cnt;
    }
    *loss_out = n > 0 ? sum / ((double)n * (double)nout) : 0.0;
    return NF_OK;
}

static nf_status nf_model_predict_impl(nf_model *m, const float *X, int n, float *out)
{
    if (!m->work) return nf_fail(NF_EINVAL, "model workspace not reserved (call nf_model_reserve)");
    if (fused_forward(m)) {
        nf_model_forward_mlp_small(m, X, n, out);
        return NF_OK;
    }
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    for (int r = 0; r < n; r += m->batch_cap) {
        int b = n - r < m->batch_cap ? n - r : m->batch_cap;
        nf_status st = nf_model_forward_serial(m, X + (size_t)r * nin, b);
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
    if (shards > 1 && !nf_model_small_ok(m) && !nf_model_dropping(m)) {
        nf_status st = nf_model_check_batch(m, batch);
        if (st) return st;
        return nf_pool_grad(m, shards, X, Y, batch, loss, denom, loss_out);
    }
    return nf_model_grad_serial(m, X, Y, batch, loss, denom, loss_out);
}

int nf_model_reads_rows(const nf_model *m, int batch)
{
    return nf_pool_shards(m, batch) <= 1 && nf_model_grad_rows_ok(m);
}

nf_status nf_model_grad_rows(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                             const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    if (nf_pool_shards(m, batch) > 1) return nf_fail(NF_EINVAL, "rows read in place need a serial step");
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_grad_rows_serial(m, X, Y, idx, batch, loss, denom, loss_out);
    nf_fp_leave(fp);
    return st;
}

/* Public entry points: run with subnormals flushed (fpenv.h); calls inside the model's files
 * go to the _impl and _serial functions, so the mode is switched once per public call. */
nf_status nf_model_forward(nf_model *m, const float *X, int batch)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_forward_serial(m, X, batch);
    nf_fp_leave(fp);
    return st;
}

nf_status nf_model_backward(nf_model *m, const float *X, int batch)
{
    const nf_fpstate fp = nf_fp_enter();
    const nf_status st = nf_model_backward_serial(m, X, batch);
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
int nf_model_n_tensors(const nf_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++) n += m->layers[i].act_p ? 3 : 2;
    return n;
}

nf_tensor_info nf_model_tensor(const nf_model *m, int k)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nf_dense *L = &m->layers[i];
        const int here = L->act_p ? 3 : 2;
        if (k >= here) {
            k -= here;
            continue;
        }
        if (k == 0) return (nf_tensor_info){i, NF_TENSOR_WEIGHT, L->out, L->in, (size_t)(L->W - m->params)};
        const float *p = k == 1 ? L->b : L->act_p;
        return (nf_tensor_info){i, k == 1 ? NF_TENSOR_BIAS : NF_TENSOR_ACT, L->out, 1,
                                (size_t)(p - m->params)};
    }
    return (nf_tensor_info){-1, NF_TENSOR_WEIGHT, 0, 0, 0};
}

int nf_model_batch_cap(const nf_model *m) { return m->work ? m->batch_cap : 0; }
const float *nf_model_layer_z(const nf_model *m, int i) { return m->work ? m->Z[i] : NULL; }
const float *nf_model_layer_a(const nf_model *m, int i) { return m->work ? m->A[i] : NULL; }
int nf_model_training(const nf_model *m) { return m->drop_train; }
const float *nf_model_dropout_mask(const nf_model *m, int i)
{
    return m->drop_work && i >= 0 && i < m->n_layers - 1 ? m->drop_mask[i] : NULL;
}
