/* train.c — mini-batch training loop. */
#include "nnfit/train.h"

#include "fpenv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnfit/rng.h"
#include "model_step.h"
#include "train_aids_internal.h"

double nf_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nf_train_defaults(nf_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 100;
    cfg->batch = 32;
    cfg->shuffle = 1;
    cfg->loss.kind = NF_LOSS_MSE;
    cfg->loss.delta = 1.0f;
    nf_opt_defaults(NF_OPT_ADAM, &cfg->opt);
}

void nf_history_free(nf_history *h)
{
    if (!h) return;
    free(h->loss);
    free(h->seconds);
    free(h->val_loss);
    h->loss = h->seconds = h->val_loss = NULL;
}

/* Rows idx[0..count) of src into dst.  Narrow rows (a small net's inputs, one target) are
 * copied in place: a memcpy call per 4- to 40-byte row cost more than the fused step of a
 * 10→10→1 net's gradient (bench/README.md). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void gather_rows(const float *src, size_t width, const int *idx, int count, float *dst)
{
    enum { AHEAD = 16 }; /* rows are random: fetch a few ahead (the copy waits on the misses) */
    for (int r = 0; r < count && r < AHEAD; r++) __builtin_prefetch(src + (size_t)idx[r] * width);
    if (width == 1) {
        for (int r = 0; r < count; r++) {
            if (r + AHEAD < count) __builtin_prefetch(src + idx[r + AHEAD]);
            dst[r] = src[idx[r]];
        }
    } else if (width <= 64) {
        for (int r = 0; r < count; r++) {
            if (r + AHEAD < count) __builtin_prefetch(src + (size_t)idx[r + AHEAD] * width);
            const float *s = src + (size_t)idx[r] * width;
            float *d = dst + (size_t)r * width;
            for (size_t k = 0; k < width; k++) d[k] = s[k];
        }
    } else {
        for (int r = 0; r < count; r++)
            memcpy(dst + (size_t)r * width, src + (size_t)idx[r] * width, width * sizeof(float));
    }
}

/* Shapes of the flat buffer for optimizers that care (adafactor): W [out, in], b [out] and
 * per-unit activation parameters [out]. */
static nf_status set_tensor_shapes(nf_optim *opt, const nf_model *m)
{
    size_t rows[3 * NF_MAX_LAYERS], cols[3 * NF_MAX_LAYERS];
    const int n = nf_model_n_tensors(m);
    for (int k = 0; k < n; k++) {
        const nf_tensor_info t = nf_model_tensor(m, k);
        rows[k] = (size_t)t.rows;
        cols[k] = (size_t)t.cols;
    }
    return nf_optim_set_tensors(opt, n, rows, cols);
}

/* Full-batch loss and gradient in chunks of the reserved batch, for L-BFGS. */
/* Pieces shared by the mini-batch and the full-batch loops. */

static nf_status history_alloc(nf_history *hist, int epochs, int with_val)
{
    hist->loss = malloc((size_t)epochs * sizeof(double));
    hist->seconds = malloc((size_t)epochs * sizeof(double));
    if (with_val) hist->val_loss = malloc((size_t)epochs * sizeof(double));
    hist->best_loss = INFINITY;
    if (!hist->loss || !hist->seconds || (with_val && !hist->val_loss))
        return nf_fail(NF_ENOMEM, "cannot allocate history");
    return NF_OK;
}

/* NaN/Inf in `epoch`: put back the parameters from its start and say so. */
static nf_status diverged(nf_model *m, const float *backup, nf_history *hist, int epoch)
{
    memcpy(nf_model_params(m), backup, nf_model_n_params(m) * sizeof(float));
    hist->diverged_epoch = epoch;
    return nf_fail(NF_EDIVERGED, "loss became NaN/Inf in epoch %d; parameters from the start of "
                                 "that epoch kept", epoch);
}

/* The processes of a data-parallel run (NULL: one process). */
static const nf_dist *dist_of(const nf_train_config *cfg)
{
    return cfg->dist && cfg->dist->size > 1 ? cfg->dist : NULL;
}

/* Training and validation rows over all processes. */
typedef struct {
    long train_rows, val_rows;
} set_sizes;

/* Records a finished epoch (loss, time, best, validation loss, target) and runs the caller's
 * callback.  Returns 1 when training should stop (target reached with stop_at_target, or the
 * callback asked); *st gets a validation failure.  Data-parallel: the callback's request
 * counts when any process makes it, and the parameters must be the same on every process. */
static int record_epoch(nf_model *m, const nf_train_config *cfg, const set_sizes *sz, nf_history *hist,
                        int epoch, double eloss, double now, nf_status *st)
{
    const nf_dist *dist = dist_of(cfg);
    hist->loss[epoch - 1] = eloss;
    hist->seconds[epoch - 1] = now;
    hist->epochs_run = epoch;
    if (eloss < hist->best_loss) {
        hist->best_loss = eloss;
        hist->best_epoch = epoch;
    }
    if (cfg->val_X) {
        const nf_mat *VX = cfg->val_X, *VY = cfg->val_Y;
        *st = nf_dist_eval(dist, m, VX->data, VY->data, VX->rows, sz->val_rows, &cfg->loss,
                           &hist->val_loss[epoch - 1]);
        if (*st) return 1;
    }
    int reached = cfg->target_loss > 0.0 && eloss <= cfg->target_loss;
    if (reached && !hist->target_epoch) {
        hist->target_epoch = epoch;
        hist->target_evals = hist->evals;
        hist->target_seconds = now;
    }
    if (reached && cfg->stop_at_target) return 1;
    int stop = cfg->on_epoch && cfg->on_epoch(cfg->ctx, epoch, eloss, now);
    if (dist) {
        double any = stop;
        int same = 0;
        if ((*st = dist->sum(dist->ctx, NULL, 0, &any, 1))) return 1;
        if ((*st = dist->same(dist->ctx, nf_dist_hash(nf_model_params(m), nf_model_n_params(m)), &same))) return 1;
        if (!same) {
            *st = nf_fail(NF_ENUMERIC, "data-parallel training: the processes' parameters differ after epoch %d "
                                       "(hosts whose CPUs or libraries round differently?)", epoch);
            return 1;
        }
        stop = any > 0.0;
    }
    return stop;
}

/* Final whole-set losses after training (also after a divergence, of the restored
 * parameters), keeping the detail text of an earlier failure. */
static nf_status finish(nf_model *m, const nf_mat *X, const nf_mat *Y, const nf_train_config *cfg,
                        const set_sizes *sz, nf_history *hist, nf_status st)
{
    if (st && st != NF_EDIVERGED) return st;
    const nf_dist *dist = dist_of(cfg);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", nf_last_error());
    nf_status est = nf_dist_eval(dist, m, X->data, Y->data, X->rows, sz->train_rows, &cfg->loss, &hist->final_loss);
    if (!est && cfg->val_X)
        est = nf_dist_eval(dist, m, cfg->val_X->data, cfg->val_Y->data, cfg->val_X->rows, sz->val_rows, &cfg->loss,
                           &hist->final_val_loss);
    if (st) return nf_fail(st, "%s", detail);
    return est;
}

/* Data-parallel: sums this process's gradient and loss (the first n_d doubles of d) with the
 * others'.  d[n_d] carries whether this process's step failed: when any did, all stop, with
 * the first failing process's message. */
static nf_status dist_step_sum(const nf_dist *dist, float *grads, size_t n_params, double *d, size_t n_d,
                               nf_status local)
{
    d[n_d] = local ? 1.0 : 0.0;
    nf_status st = dist->sum(dist->ctx, grads, n_params, d, n_d + 1);
    if (st) return st;
    if (d[n_d] > 0.0) return dist->agree(dist->ctx, local);
    return NF_OK;
}

typedef struct {
    nf_model *m;
    const float *X, *Y;
    int n;           /* rows here */
    long n_total;    /* rows over all processes */
    const nf_loss_spec *loss;
    const nf_dist *dist;
} full_ctx;

static nf_status full_closure(void *vctx, const float *params, float *grads, double *loss)
{
    full_ctx *c = vctx;
    nf_model *m = c->m;
    float *mp = nf_model_params(m);
    const float *mg = nf_model_grads(m);
    const size_t n_params = nf_model_n_params(m);
    if (params != mp) memcpy(mp, params, n_params * sizeof(float));
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    const size_t denom = (size_t)c->n_total * nout;
    const int cap = nf_model_batch_cap(m);
    double total = 0.0;
    nf_status st = NF_OK;
    if (c->n == 0) memset(grads, 0, n_params * sizeof(float));
    for (int r = 0; r < c->n; r += cap) {
        int b = c->n - r < cap ? c->n - r : cap;
        double l;
        st = nf_model_grad(m, c->X + (size_t)r * nin, c->Y + (size_t)r * nout, b, c->loss, denom, &l);
        if (st) break;
        total += l;
        if (r == 0)
            memcpy(grads, mg, n_params * sizeof(float));
        else
            for (size_t i = 0; i < n_params; i++) grads[i] += mg[i];
    }
    if (c->dist) {
        double d[2] = {total, 0.0};
        st = dist_step_sum(c->dist, grads, n_params, d, 1, st);
        total = d[0];
    }
    if (st) return st;
    *loss = total;
    return NF_OK;
}

static nf_status train_full_batch(nf_model *m, const nf_mat *X, const nf_mat *Y,
                                  const nf_train_config *cfg, const set_sizes *sz, nf_history *hist)
{
    const nf_dist *dist = dist_of(cfg);
    const int n = X->rows;
    const int lm_kind = cfg->opt.kind == NF_OPT_LM;
    if (lm_kind && cfg->loss.kind != NF_LOSS_MSE)
        return nf_fail(NF_EINVAL, "lm minimises squared errors: it needs loss mse, not %s",
                       nf_loss_name(cfg->loss.kind));
    nf_optim *opt = NULL;
    nf_lm *lm = NULL;
    float *grads = NULL, *backup = NULL, *params = nf_model_params(m);
    const size_t n_params = nf_model_n_params(m);
    nf_status st;
    if (lm_kind) {
        st = nf_lm_create(&lm, &cfg->opt, m, n > 0 ? n : 1, 0);
        if (!st && dist) st = nf_lm_set_dist(lm, dist, sz->train_rows);
    } else {
        st = nf_model_reserve(m, n < 1 ? 1 : n < 8192 ? n : 8192);
        if (!st) st = nf_optim_create(&opt, &cfg->opt, n_params);
        if (!st) st = nf_alloc_floats(&grads, n_params);
    }
    if (!st) st = nf_alloc_floats(&backup, n_params);
    if (!st) st = history_alloc(hist, cfg->epochs, cfg->val_X != NULL);
    if (dist) st = dist->agree(dist->ctx, st);
    full_ctx fc = {m, X->data, Y->data, n, sz->train_rows, &cfg->loss, dist};
    const double t0 = nf_seconds();
    for (int epoch = 1; !st && epoch <= cfg->epochs; epoch++) {
        memcpy(backup, params, n_params * sizeof(float));
        double eloss, after = NAN;
        int stop = 0;
        if (lm_kind) {
            nf_lm_result res;
            st = nf_lm_step(lm, m, X->data, Y->data, n, &eloss, &after, &res);
            hist->steps++;
            if (res == NF_LM_MIN_GRAD) hist->converged = 1;
            if (res == NF_LM_MU_MAX) hist->converged = 2;
            hist->evals = nf_lm_evals(lm);
            stop = res != NF_LM_ACCEPTED;
        } else {
            long before = nf_optim_func_evals(opt);
            st = nf_optim_step_closure(opt, params, full_closure, &fc, &eloss);
            hist->steps += nf_optim_func_evals(opt) - before;
            hist->evals = hist->steps;
            if (!st && nf_find_nonfinite(params, n_params) < n_params) eloss = NAN;
            if (!st && isfinite(eloss) && nf_optim_converged(opt)) {
                hist->converged = 1;
                stop = 1;
            }
        }
        if (st && st != NF_EDIVERGED) break;
        if (st || !isfinite(eloss)) {
            st = diverged(m, backup, hist, epoch);
            break;
        }
        if (record_epoch(m, cfg, sz, hist, epoch, eloss, nf_seconds() - t0, &st) || stop) break;
    }
    hist->seconds_total = nf_seconds() - t0;
    st = finish(m, X, Y, cfg, sz, hist, st);
    nf_free(grads);
    nf_free(backup);
    nf_optim_free(opt);
    nf_lm_free(lm);
    return st;
}

nf_status nf_train(nf_model *m, const nf_mat *X, const nf_mat *Y, const nf_train_config *cfg,
                   nf_history *hist)
{
    nf_history local;
    if (!hist) hist = &local;
    memset(hist, 0, sizeof *hist);
    hist->target_seconds = INFINITY;
    const int n = X->rows;
    const size_t nin = (size_t)nf_model_n_in(m), nout = (size_t)nf_model_n_out(m);
    if (X->cols != (int)nin || Y->cols != (int)nout || Y->rows != n)
        return nf_fail(NF_ESHAPE, "data is %d×%d → %d×%d but the model maps %zu → %zu", X->rows,
                       X->cols, Y->rows, Y->cols, nin, nout);
    const nf_mat *VX = cfg->val_X, *VY = cfg->val_Y;
    const nf_dist *dist = dist_of(cfg);
    if (dist && (cfg->dist_row0 < 0 || cfg->dist_rows < 1 || cfg->dist_row0 + n > cfg->dist_rows))
        return nf_fail(NF_EINVAL, "data-parallel rows [%d, %d) are not inside the %d rows in all", cfg->dist_row0,
                       cfg->dist_row0 + n, cfg->dist_rows);
    if (!dist && n < 1) return nf_fail(NF_EINVAL, "no training rows");
    if ((VX == NULL) != (VY == NULL)) return nf_fail(NF_EINVAL, "validation set needs both X and Y");
    if (VX && (VX->cols != (int)nin || VY->cols != (int)nout || VY->rows != VX->rows || VX->rows < !dist))
        return nf_fail(NF_ESHAPE, "validation data is %d×%d → %d×%d but the model maps %zu → %zu",
                       VX->rows, VX->cols, VY->rows, VY->cols, nin, nout);
    if (dist && cfg->aids && (cfg->aids->dropout > 0.0f || cfg->aids->revive_every > 0))
        return nf_fail(NF_EUNSUPPORTED, "dropout and unit revival need every training row in one process; "
                                        "they are not available in data-parallel training");
    set_sizes sz = {n, VX ? VX->rows : 0};
    if (dist) {
        double v[2] = {(double)sz.train_rows, (double)sz.val_rows};
        nf_status st = dist->sum(dist->ctx, NULL, 0, v, 2);
        if (st) return st;
        sz.train_rows = cfg->dist_rows;
        sz.val_rows = (long)v[1];
        if ((long)v[0] != cfg->dist_rows)
            return nf_fail(NF_EINVAL, "data-parallel: the processes hold %ld training rows, not the %d expected",
                           (long)v[0], cfg->dist_rows);
        if (VX && sz.val_rows < 1) return nf_fail(NF_ESHAPE, "data-parallel: the validation set has no rows");
    }
    hist->rows = (int)sz.train_rows;
    hist->val_rows = (int)sz.val_rows;
    hist->final_val_loss = NAN;
    if (cfg->epochs < 1) return nf_fail(NF_EINVAL, "epochs must be >= 1, got %d", cfg->epochs);
    if (cfg->batch < 0) return nf_fail(NF_EINVAL, "batch must be >= 0, got %d", cfg->batch);
    if ((unsigned)cfg->loss.kind >= NF_LOSS_COUNT) return nf_fail(NF_EINVAL, "bad loss");
    if ((unsigned)cfg->opt.kind >= NF_OPT_COUNT) return nf_fail(NF_EINVAL, "bad optimizer");
    if (cfg->aids && nf_opt_is_full_batch(cfg->opt.kind))
        return nf_fail(NF_EINVAL, "training aids (schedules, dropout, revival, ...) need a mini-batch "
                                  "optimizer, not %s", nf_opt_name(cfg->opt.kind));
    if (cfg->aids && cfg->aids->polish &&
        (cfg->loss.kind != NF_LOSS_MSE || nf_model_n_layers(m) < 2 ||
         nf_model_layer(m, nf_model_n_layers(m) - 1)->act.kind != NF_ACT_LINEAR))
        return nf_fail(NF_EINVAL, "the least-squares output refit needs the mse loss, a hidden layer and a "
                                  "linear output layer");
    if (nf_opt_is_full_batch(cfg->opt.kind)) {
        nf_status fst = train_full_batch(m, X, Y, cfg, &sz, hist);
        if (hist == &local) nf_history_free(hist);
        return fst;
    }
    /* every process walks the same batches of the N rows in all; it holds rows [row0, row0 + n) */
    const int N = (int)sz.train_rows, row0 = dist ? cfg->dist_row0 : 0;
    const int batch = cfg->batch == 0 || cfg->batch > N ? N : cfg->batch;
    const int shuffle = cfg->shuffle && batch < N;
    const int part_cap = batch < n ? batch : n > 0 ? n : 1; /* rows of a batch held here, at most */

    /* grow and prune: train a wider copy in place of m, copy its survivors into m at the end */
    nf_model *const narrow = m;
    nf_model *wide = NULL;
    nf_grow_rt *grow = NULL;
    nf_status st = NF_OK;
    if (cfg->aids && cfg->aids->grow > 1.0 && nf_model_n_layers(m) > 1) {
        if ((st = nf_aids_validate(cfg->aids))) return st;
        nf_rng grng;
        nf_rng_seed(&grng, nf_rng_derive(cfg->seed, 79));
        st = nf_grow_model(m, cfg->aids->grow, &cfg->aids->revive_init, &cfg->aids->revive_opts, X->data, n,
                           &grng, &wide);
        if (!st && nf_model_threads(m) > 1) st = nf_model_set_threads(wide, nf_model_threads(m));
        if (!st) st = nf_grow_rt_begin(&grow, cfg->aids, m, wide, cfg->epochs);
        if (st) {
            nf_model_free(wide);
            return st;
        }
        hist->grown_width = nf_model_size(wide, 1);
        m = wide;
    }
    if (!st) st = nf_model_reserve(m, dist ? part_cap : batch);
    float *params = nf_model_params(m), *grads = nf_model_grads(m);
    const size_t n_params = nf_model_n_params(m);
    nf_optim *opt = NULL;
    if (!st) st = nf_optim_create(&opt, &cfg->opt, n_params);
    if (!st) st = set_tensor_shapes(opt, m);
    nf_aids_rt *aids = NULL;
    if (!st && cfg->aids) st = nf_aids_begin(&aids, cfg->aids, m, opt, n, cfg->epochs, VX != NULL, cfg->seed);
    if (!st && grow) nf_aids_attach_grow(aids, grow);

    int *perm = NULL, *part = NULL;
    float *Xb = NULL, *Yb = NULL, *backup = NULL;
    if (!st) st = history_alloc(hist, cfg->epochs, VX != NULL);
    if (!st) st = nf_alloc_floats(&backup, n_params);
    if (!st && shuffle) {
        perm = malloc((size_t)N * sizeof(int));
        if (dist) part = malloc((size_t)part_cap * sizeof(int));
        st = nf_alloc_floats(&Xb, (size_t)(dist ? part_cap : batch) * nin);
        if (!st) st = nf_alloc_floats(&Yb, (size_t)(dist ? part_cap : batch) * nout);
        if (!st && (!perm || (dist && !part))) st = nf_fail(NF_ENOMEM, "cannot allocate permutation");
        if (perm)
            for (int i = 0; i < N; i++) perm[i] = i;
    }
    if (dist) st = dist->agree(dist->ctx, st);

    nf_rng rng;
    nf_rng_seed(&rng, cfg->seed);
    const double t0 = nf_seconds();
    for (int epoch = 1; !st && epoch <= cfg->epochs; epoch++) {
        memcpy(backup, params, n_params * sizeof(float));
        if (shuffle) nf_rng_permute(&rng, perm, N);
        double sum = 0.0;
        int bad = 0;
        if (aids) nf_aids_epoch_start(aids, epoch);
        /* a small net's fused step reads the shuffled rows where they lie; the model's shape and
         * training mode change only between epochs, and a shorter last batch is never split
         * over threads when a full one is not */
        const int in_place = !dist && shuffle && nf_model_reads_rows(m, batch);
        /* the step's calls set FTZ|DAZ and restore the caller's mode (fpenv.h); held over the
         * batch loop, they find it set: two MXCSR writes fewer per call, each of which waits
         * for the SSE operations before it.  Only where nothing else in the loop computes (no
         * aids, no data-parallel sums); the loss sum's doubles are never subnormal. */
        const int hold_fp = !aids && !dist;
        const nf_fpstate fp = hold_fp ? nf_fp_enter() : 0;
        for (int r = 0; r < N && !st; r += batch) {
            int b = N - r < batch ? N - r : batch, c = b; /* c: rows of this batch held here */
            const float *xb = X->data + (size_t)r * nin, *yb = Y->data + (size_t)r * nout;
            if (!dist && shuffle && !in_place) {
                gather_rows(X->data, nin, perm + r, b, Xb);
                gather_rows(Y->data, nout, perm + r, b, Yb);
                xb = Xb;
                yb = Yb;
            } else if (dist && shuffle) { /* this process's rows of the batch, in batch order */
                c = 0;
                for (int i = 0; i < b; i++) {
                    const int p = perm[r + i] - row0;
                    if (p >= 0 && p < n) part[c++] = p;
                }
                gather_rows(X->data, nin, part, c, Xb);
                gather_rows(Y->data, nout, part, c, Yb);
                xb = Xb;
                yb = Yb;
            } else if (dist) { /* rows [r, r + b) ∩ [row0, row0 + n) */
                const int lo = r > row0 ? r : row0, hi = r + b < row0 + n ? r + b : row0 + n;
                c = hi > lo ? hi - lo : 0;
                xb = X->data + (size_t)(c ? lo - row0 : 0) * nin;
                yb = Y->data + (size_t)(c ? lo - row0 : 0) * nout;
            }
            double loss = 0.0;
            if (in_place) st = nf_model_grad_rows(m, X->data, Y->data, perm + r, b, &cfg->loss, 0, &loss);
            else if (c > 0) st = nf_model_grad(m, xb, yb, c, &cfg->loss, dist ? (size_t)b * nout : 0, &loss);
            else memset(grads, 0, n_params * sizeof(float));
            if (dist) {
                double d[2] = {loss, 0.0};
                st = dist_step_sum(dist, grads, n_params, d, 1, st);
                loss = d[0];
            }
            if (st) break;
            if (!isfinite(loss)) {
                bad = 1;
                break;
            }
            sum += loss * (double)b;
            if (aids) nf_aids_after_grad(aids);
            nf_optim_step(opt, params, grads);
            hist->steps++;
        }
        if (hold_fp) nf_fp_leave(fp);
        nf_model_set_training(m, 0);
        if (st) break;
        if (bad) {
            st = diverged(m, backup, hist, epoch);
            break;
        }
        double eloss = sum / (double)N;
        hist->evals = hist->steps;
        if (record_epoch(m, cfg, &sz, hist, epoch, eloss, nf_seconds() - t0, &st)) break;
        if (aids && nf_aids_epoch_end(aids, epoch, eloss, VX ? hist->val_loss[epoch - 1] : NAN, X->data,
                                      n, hist, &st))
            break;
    }
    if (aids) nf_aids_finish(aids, hist);
    if (wide && (!st || st == NF_EDIVERGED)) {
        nf_status gst = nf_grow_rt_finish(grow, wide, X->data, n, narrow);
        if (!gst) gst = nf_model_reserve(narrow, batch);
        if (gst) st = gst;
    }
    m = narrow;
    if (cfg->aids && cfg->aids->polish && (!st || st == NF_EDIVERGED)) {
        nf_status pst = nf_polish_output(m, X->data, Y->data, n);
        if (pst) st = pst;
    }
    hist->seconds_total = nf_seconds() - t0;
    st = finish(m, X, Y, cfg, &sz, hist, st);
    free(perm);
    free(part);
    nf_free(Xb);
    nf_free(Yb);
    nf_free(backup);
    nf_aids_free(aids);
    nf_optim_free(opt);
    nf_grow_rt_free(grow);
    nf_model_free(wide);
    if (hist == &local) nf_history_free(hist);
    return st;
}
