/* run.c — one training run from its description (run.h). */
#include "nnfit/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnfit/blas.h"
#include "nnfit/data.h"
#include "nnfit/optim.h"
#include "nnfit/rng.h"

uint64_t nf_run_stream(uint64_t seed, nf_stream which) { return nf_rng_derive(seed, (uint64_t)which); }

void nf_run_defaults(nf_run_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    nf_task_defaults(NF_TASK_ABS, &spec->task);
    spec->task.seed = 1;
    spec->act.kind = NF_ACT_RELU;
    spec->out_act.kind = NF_ACT_LINEAR;
    spec->init.kind = NF_INIT_GLOROT_UNIFORM;
    spec->init_opts.gain = 1.0f;
    spec->init_opts.base = NF_INIT_GLOROT_UNIFORM;
    nf_aids_defaults(&spec->aids);
    nf_train_defaults(&spec->train);
}

void nf_run_set_task(nf_run_spec *spec, nf_task_kind kind)
{
    const nf_task_config old = spec->task;
    nf_task_defaults(kind, &spec->task);
    if (spec->n_set) spec->task.n_samples = old.n_samples;
    spec->task.frame = old.frame;
    spec->task.k = old.k;
    spec->task.seed = old.seed;
    spec->task.taps = old.taps;
    spec->task.n_taps = old.n_taps;
    spec->task.fir_single = old.fir_single;
    spec->task.dft_complex = old.dft_complex;
    spec->task.dft_full = old.dft_full;
    spec->task.orthonormal = old.orthonormal;
}

static int hp_index(const char *name) { return nf_opt_hparam_find(name); }

/* Sets hyperparameter `name` as a default the user did not give (task defaults). */
static void soft_hp(nf_run_spec *spec, const char *name, double value)
{
    const int i = hp_index(name);
    if (i < 0 || (spec->hp_set & (1ull << i))) return;
    nf_opt_hparam_set(&spec->train.opt, i, value, value);
    spec->hp_set |= 1ull << i;
}

/* Linear tasks default to SGD with momentum 0.9 and lr 0.1, batch 64: on noise-free targets it
 * reaches the exact operator to ~1e-7 in 100 epochs. */
static void task_defaults(nf_run_spec *spec, int file_data)
{
    if (file_data || !nf_task_is_linear(spec->task.kind)) return;
    if (!spec->opt_set) {
        spec->train.opt.kind = NF_OPT_SGD;
        soft_hp(spec, "momentum", 0.9);
        soft_hp(spec, "lr", 0.1);
    }
    if (!spec->batch_set) spec->train.batch = 64;
}

/* The optimizer's defaults (Keras' when keras was given), then the given values it reads. */
static nf_status merge_hp(nf_run_spec *spec)
{
    nf_opt_config *oc = &spec->train.opt, def;
    nf_opt_defaults(oc->kind, &def);
    const int keras = hp_index("keras");
    if (keras >= 0 && (spec->hp_set & (1ull << keras)) && oc->keras && nf_opt_reads(oc->kind, keras)) {
        nf_status st = nf_opt_keras_defaults(&def);
        if (st) return st;
    }
    spec->hp_unread = 0;
    for (int i = 0; i < nf_opt_hparam_count(); i++) {
        if (!(spec->hp_set & (1ull << i))) continue;
        if (!nf_opt_reads(oc->kind, i)) {
            spec->hp_unread |= 1ull << i;
            continue;
        }
        double a, b;
        nf_opt_hparam_get(oc, i, &a, &b);
        nf_status st = nf_opt_hparam_set(&def, i, a, b);
        if (st) return st;
    }
    *oc = def;
    return nf_opt_validate(oc);
}

static nf_status check_sizes(const nf_run_spec *spec, int n_in, int n_out, int file_data)
{
    const int last = spec->n_sizes - 1;
    if (spec->sizes[0] == n_in && spec->sizes[last] == n_out) return NF_OK;
    char text[160];
    size_t pos = 0;
    for (int i = 0; i <= last && pos < sizeof text; i++)
        pos += (size_t)snprintf(text + pos, sizeof text - pos, i ? ",%d" : "%d", spec->sizes[i]);
    if (file_data)
        return nf_fail(NF_EINVAL, "--layers %s does not fit the data, which has %d input and %d target columns",
                       text, n_in, n_out);
    return nf_fail(NF_EINVAL, "--layers %s does not fit task %s, which maps %d input%s to %d output%s", text,
                   nf_task_name(spec->task.kind), n_in, n_in == 1 ? "" : "s", n_out, n_out == 1 ? "" : "s");
}

nf_status nf_run_resolve(nf_run_spec *spec, int n_in, int n_out)
{
    nf_status st;
    const int file_data = n_in > 0;
    if (!file_data && (st = nf_task_validate(&spec->task))) return st;
    if (!spec->resolved) task_defaults(spec, file_data);
    if ((st = merge_hp(spec))) return st;
    const nf_opt_kind ok = spec->train.opt.kind;
    if (ok == NF_OPT_LM && spec->train.loss.kind != NF_LOSS_MSE)
        return nf_fail(NF_EINVAL, "--opt lm minimises squared errors: it needs --loss mse, not %s",
                       nf_loss_name(spec->train.loss.kind));
    if (spec->act_param_set) {
        if (spec->act.kind != NF_ACT_LEAKY_RELU && spec->act.kind != NF_ACT_ELU && !nf_act_learnable(spec->act.kind))
            return nf_fail(NF_EINVAL, "--act-param applies only to leaky_relu (slope), elu (alpha), prelu "
                                      "(initial slope) and elu_learn (initial alpha)");
        if (spec->act.kind == NF_ACT_ELU && !(spec->act.param > 0.0f))
            return nf_fail(NF_EINVAL, "--act-param: elu alpha must be > 0");
    }
    /* architecture */
    if (!file_data) {
        int sizes[NF_MAX_LAYERS + 1], n_layers;
        nf_act_spec hidden;
        nf_task_default_layers(&spec->task, sizes, &n_layers, &hidden);
        if (!spec->act_set) {
            const float param = spec->act.param;
            spec->act = hidden;
            if (spec->act_param_set) spec->act.param = param;
        }
        nf_task_shape(&spec->task, &n_in, &n_out);
        if (!spec->n_sizes) {
            memcpy(spec->sizes, sizes, (size_t)(n_layers + 1) * sizeof(int));
            spec->n_sizes = n_layers + 1;
        }
    } else if (!spec->n_sizes) {
        return nf_fail(NF_EINVAL, "training on your data needs --layers (e.g. --layers %d,16,%d)", n_in, n_out);
    }
    if (n_in > 0 && (st = check_sizes(spec, n_in, n_out, file_data))) return st;
    if (spec->aids_on) {
        if (nf_opt_is_full_batch(ok))
            return nf_fail(NF_EINVAL, "training aids (--schedule, --dropout, --revive-every, ...) need a "
                                      "mini-batch optimizer, not --opt %s", nf_opt_name(ok));
        spec->aids.revive_init = spec->init;
        spec->aids.revive_opts = spec->init_opts;
        if ((st = nf_aids_validate(&spec->aids))) return st;
    }
    spec->resolved = 1;
    return NF_OK;
}

nf_status nf_run_task_data(const nf_run_spec *spec, nf_mat *X, nf_mat *Y, nf_mat *Xv, nf_mat *Yv)
{
    nf_mat none[2];
    if (!Xv || !Yv) Xv = &none[0], Yv = &none[1];
    *X = *Y = *Xv = *Yv = (nf_mat){0};
    if (spec->val_n > 0 && Xv == &none[0])
        return nf_fail(NF_EINVAL, "nf_run_task_data: val_n is %d but no matrices for the validation rows", spec->val_n);
    nf_status st = nf_task_generate(&spec->task, X, Y);
    if (!st && spec->val_n > 0) { /* the same task from another stream of the data seed */
        nf_task_config vt = spec->task;
        vt.n_samples = spec->val_n;
        vt.seed = nf_rng_derive(spec->task.seed, 1);
        st = nf_task_generate(&vt, Xv, Yv);
    }
    if (st) {
        nf_mat_free(X);
        nf_mat_free(Y);
        nf_mat_free(Xv);
        nf_mat_free(Yv);
    }
    return st;
}

/* Batches of >= 256·N rows are split over N workers with one BLAS thread each (1.4-1.6x faster
 * than N OpenBLAS threads on narrow layers, equal on large ones, bench/README.md); smaller
 * batches, and lm (its Jacobian is not sharded), give OpenBLAS N threads instead. */
void nf_run_thread_plan(const nf_run_spec *spec, int rows, int *split, int *blas)
{
    const int n = spec->threads;
    const nf_opt_kind ok = spec->train.opt.kind;
    const int full = nf_opt_is_full_batch(ok) || spec->train.batch <= 0 || spec->train.batch > rows;
    const int batch_rows = full ? rows : spec->train.batch;
    const int do_split = n > 1 && ok != NF_OPT_LM && batch_rows / 256 >= n;
    *split = do_split ? n : 0;
    *blas = n <= 0 ? 0 : do_split ? 1 : n;
}

static nf_status run_on(const nf_run_spec *spec, const nf_run_data *data, nf_model **model, nf_history *hist);

nf_status nf_run_create_model(const nf_run_spec *spec, const nf_mat *X, nf_model **model)
{
    *model = NULL;
    if (spec->n_sizes < 2)
        return nf_fail(NF_EINVAL, "nf_run: no architecture (n_sizes %d; nf_run_resolve fills the task's)", spec->n_sizes);
    nf_model *m = NULL;
    nf_status st = nf_model_create_mlp(&m, spec->n_sizes - 1, spec->sizes, &spec->act, &spec->out_act);
    if (st) return st;
    nf_rng rng;
    nf_rng_seed(&rng, nf_run_stream(spec->seed, NF_STREAM_INIT));
    st = nf_init_model_data(m, &spec->init, &spec->init_opts, X->data, X->rows, &rng);
    if (st) {
        nf_model_free(m);
        return st;
    }
    *model = m;
    return NF_OK;
}

nf_status nf_run(const nf_run_spec *spec, const nf_run_data *data, nf_model **model, nf_history *hist)
{
    if (!data || !data->X || !data->Y) return nf_fail(NF_EINVAL, "nf_run: no training data");
    nf_run_data d = *data;
    if (!d.dist || d.dist->size < 2) {
        d.dist = NULL;
        d.row0 = 0;
        d.n_total = data->X->rows;
    }
    nf_mat Xt = {0}, Yt = {0}, Xv = {0}, Yv = {0};
    nf_status st = NF_OK;
    if (spec->val_split > 0 && !data->val_X) {
        long train_row0 = 0;
        st = nf_data_holdout_part(data->X, data->Y, spec->val_split, nf_run_stream(spec->seed, NF_STREAM_SPLIT),
                                  d.row0, d.n_total, &Xt, &Yt, &Xv, &Yv, &train_row0);
        if (d.dist) st = d.dist->agree(d.dist->ctx, st);
        if (st) return st;
        const long n_val = (long)(spec->val_split * (double)d.n_total + 0.5);
        d.X = &Xt;
        d.Y = &Yt;
        d.val_X = &Xv;
        d.val_Y = &Yv;
        d.row0 = train_row0;
        d.n_total -= n_val < 1 ? 1 : n_val > d.n_total - 1 ? d.n_total - 1 : n_val;
    }
    st = run_on(spec, &d, model, hist);
    nf_mat_free(&Xt);
    nf_mat_free(&Yt);
    nf_mat_free(&Xv);
    nf_mat_free(&Yv);
    return st;
}

static nf_status run_on(const nf_run_spec *spec, const nf_run_data *data, nf_model **model, nf_history *hist)
{
    const nf_mat *X = data->X;
    const nf_dist *dist = data->dist;
    nf_status st = NF_OK;
    if (dist && !*model && spec->init.kind == NF_INIT_DATA_KINK)
        return nf_fail(NF_EUNSUPPORTED, "--init data_kink draws from all training rows in one process; it is not "
                                        "available in data-parallel training");
    if (!*model) {
        st = nf_run_create_model(spec, X, model);
        if (dist) st = dist->agree(dist->ctx, st);
        if (st) return st;
    }
    if (nf_model_n_in(*model) != X->cols || nf_model_n_out(*model) != data->Y->cols)
        return nf_fail(NF_EINVAL, "the model maps %d inputs to %d outputs but the data has %d input and %d target columns",
                       nf_model_n_in(*model), nf_model_n_out(*model), X->cols, data->Y->cols);
    /* the same parameters everywhere, whatever the hosts' libm did with the initialiser */
    if (dist && (st = dist->bcast(dist->ctx, nf_model_params(*model), nf_model_n_params(*model)))) return st;
    int split, blas;
    nf_run_thread_plan(spec, X->rows, &split, &blas);
    if (blas > 0) nf_blas_set_threads(blas);
    if (split && (st = nf_model_set_threads(*model, split))) return st;
    nf_train_config tc = spec->train;
    tc.seed = nf_run_stream(spec->seed, NF_STREAM_SHUFFLE);
    tc.val_X = data->val_X;
    tc.val_Y = data->val_Y;
    tc.aids = spec->aids_on ? &spec->aids : NULL;
    tc.dist = dist;
    tc.dist_row0 = (int)data->row0;
    tc.dist_rows = (int)data->n_total;
    return nf_train(*model, X, data->Y, &tc, hist);
}
