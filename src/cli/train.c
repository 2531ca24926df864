/* train.c — `nnfit train`: train a model on a built-in task and report how well it fits. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_opts.h"
#include "train_opts.h"

enum { OPT_HELP = 'h', OPT_QUIET = 'q', OPT_VERSION = 2000, OPT_LIST_OPTIMIZERS, OPT_SAVE,
       OPT_INIT_MODEL };

static void help(void)
{
    printf("usage: nnfit train [options]\n\n"
           "Trains an MLP with mini-batch gradient descent and prints a summary on stdout.\n\n");
    train_opts_help(stdout);
    data_opts_help(stdout);
    printf("models (safetensors):\n"
           "  --save FILE         write the trained model (layers.{i}.weight/bias, F32)\n"
           "  --init-model FILE   start from these weights; --layers may be omitted\n");
    printf("  --quiet             no progress on stderr\n  --help, --version\n");
}

typedef struct {
    cli_progress bar;
    FILE *log;
    const nf_history *hist; /* for the validation loss of the epoch */
} epoch_ctx;

static int on_epoch(void *ctx, int epoch, double loss, double seconds)
{
    epoch_ctx *e = ctx;
    char extra[96];
    const double *vl = e->hist ? e->hist->val_loss : NULL;
    if (vl) snprintf(extra, sizeof extra, "loss %.4g val %.4g", loss, vl[epoch - 1]);
    else snprintf(extra, sizeof extra, "loss %.4g", loss);
    cli_progress_update(&e->bar, epoch, extra);
    if (e->log && vl) fprintf(e->log, "%d,%.9g,%.6f,%.9g\n", epoch, loss, seconds, vl[epoch - 1]);
    else if (e->log) fprintf(e->log, "%d,%.9g,%.6f\n", epoch, loss, seconds);
    return 0;
}

static void shape_of(const int *sizes, int n, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < len; i++) k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", sizes[i]);
}

/* Training settings recorded in the saved model's metadata. */
static nf_status save_model(const char *path, const nf_model *m, const train_opts *o,
                            const data_opts *d, const nf_history *h, uint64_t seed_given)
{
    char lr[32], batch[32], epochs[32], seed[32], loss[32], vloss[32];
    snprintf(lr, sizeof lr, "%.9g", o->train.opt.lr);
    snprintf(batch, sizeof batch, "%d", o->train.batch);
    snprintf(epochs, sizeof epochs, "%d", h->epochs_run);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)seed_given);
    snprintf(loss, sizeof loss, "%.9g", h->final_loss);
    snprintf(vloss, sizeof vloss, "%.9g", h->final_val_loss);
    nf_meta_kv kv[12];
    int n = 0;
    kv[n++] = (nf_meta_kv){"loss", nf_loss_name(o->train.loss.kind)};
    kv[n++] = (nf_meta_kv){"optimizer", nf_opt_name(o->train.opt.kind)};
    kv[n++] = (nf_meta_kv){"lr", lr};
    kv[n++] = (nf_meta_kv){"batch", batch};
    kv[n++] = (nf_meta_kv){"epochs", epochs};
    kv[n++] = (nf_meta_kv){"seed", seed};
    kv[n++] = (nf_meta_kv){"init", nf_init_name(o->init.kind)};
    kv[n++] = (nf_meta_kv){"final_loss", loss};
    if (h->val_loss) kv[n++] = (nf_meta_kv){"final_val_loss", vloss};
    if (d->data) kv[n++] = (nf_meta_kv){"data", d->data};
    else if (d->x) kv[n++] = (nf_meta_kv){"data", d->x};
    else kv[n++] = (nf_meta_kv){"task", nf_task_name(o->task.kind)};
    return nf_model_save(path, m, kv, n);
}

/* Linear tasks: distance of the trained first layer to the exact operator and to the
 * least-squares weights on the same data. */
static int report_linear(const train_opts *o, const nf_model *m, const nf_mat *X, const nf_mat *Y)
{
    if (!nf_task_is_linear(o->task.kind) || m->n_layers != 1) return 0;
    nf_mat W, Wls;
    nf_status st = nf_task_exact(&o->task, &W);
    if (st) return cli_status_error(st);
    const nf_dense *L = &m->layers[0];
    size_t nw = (size_t)L->in * (size_t)L->out;
    double mx, rms, bmx = 0.0;
    nf_diff_stats(L->W, W.data, nw, &mx, &rms);
    for (int j = 0; j < L->out; j++) bmx = fabs((double)L->b[j]) > bmx ? fabs((double)L->b[j]) : bmx;
    printf("weights_vs_exact_max_abs: %.3e\nweights_vs_exact_rms: %.3e\nbias_max_abs: %.3e\n", mx,
           rms, bmx);
    float *bls = malloc((size_t)L->out * sizeof(float));
    if (bls && !nf_lstsq(X, Y, &Wls, bls)) {
        nf_diff_stats(L->W, Wls.data, nw, &mx, &rms);
        printf("weights_vs_lstsq_max_abs: %.3e\nweights_vs_lstsq_rms: %.3e\n", mx, rms);
        nf_diff_stats(Wls.data, W.data, nw, &mx, &rms);
        printf("lstsq_vs_exact_max_abs: %.3e\n", mx);
        nf_mat_free(&Wls);
    } else {
        printf("weights_vs_lstsq: unavailable (%s)\n", nf_last_error());
    }
    free(bls);
    nf_mat_free(&W);
    return 0;
}

/* Linear tasks default to SGD with momentum 0.9 and lr 0.1: on noise-free targets it
 * converges to the exact operator (weights within ~1e-5 in 100 epochs), while Adam at a fixed lr
 * keeps hovering ~1e-3 away. */
static void task_defaults(train_opts *o)
{
    if (!nf_task_is_linear(o->task.kind)) return;
    if (!(o->given & TO_GIVEN_OPT)) {
        o->train.opt.kind = NF_OPT_SGD;
        if (!(o->hp_given & train_opts_hp_bit("momentum"))) train_opts_set_hp(o, "momentum", "0.9");
        if (!(o->given & TO_GIVEN_LR)) train_opts_set_hp(o, "lr", "0.1");
    }
    if (!(o->given & TO_GIVEN_BATCH)) o->train.batch = 64;
}

/* Architecture for file data or with --init-model: sizes from --layers and/or the file. */
static int load_init_model(const train_opts *o, const char *path, nf_model **m)
{
    nf_load_opts lo;
    nf_load_opts_default(&lo);
    if (o->have_act) {
        lo.hidden = o->act;
        lo.output = o->out_act;
        lo.force_acts = 1;
    }
    nf_status st = nf_model_load(path, &lo, m, NULL);
    if (st) return cli_status_error(st);
    if (o->n_sizes) {
        int same = o->n_sizes == (*m)->n_layers + 1;
        for (int i = 0; same && i < o->n_sizes; i++) same = o->sizes[i] == (*m)->sizes[i];
        if (!same) {
            char a[256], b[256];
            shape_of(o->sizes, o->n_sizes, a, sizeof a);
            shape_of((*m)->sizes, (*m)->n_layers + 1, b, sizeof b);
            nf_model_free(*m);
            *m = NULL;
            return cli_usage_error("--layers %s does not match --init-model %s, which has layers %s",
                                   a, path, b);
        }
    }
    return 0;
}

static int train_main(int argc, char **argv);

/* --preset NAME expands into its options before parsing (explicit options override it). */
int cmd_train(int argc, char **argv)
{
    int n = argc;
    char **v = NULL;
    int rc = train_opts_expand_preset(argc, argv, &n, &v);
    if (rc) return rc;
    rc = train_main(n, v ? v : argv);
    free(v);
    return rc;
}

static int train_main(int argc, char **argv)
{
    struct option table[200];
    int count = train_opts_table(table, 0);
    count = data_opts_table(table, count);
    table[count++] = (struct option){"list-optimizers", no_argument, 0, OPT_LIST_OPTIMIZERS};
    table[count++] = (struct option){"save", required_argument, 0, OPT_SAVE};
    table[count++] = (struct option){"init-model", required_argument, 0, OPT_INIT_MODEL};
    table[count++] = (struct option){"quiet", no_argument, 0, OPT_QUIET};
    table[count++] = (struct option){"help", no_argument, 0, OPT_HELP};
    table[count++] = (struct option){"version", no_argument, 0, OPT_VERSION};
    table[count] = (struct option){0, 0, 0, 0};
    train_opts o;
    train_opts_init(&o);
    data_opts d;
    data_opts_init(&d);
    const char *save_path = NULL, *init_path = NULL;
    int c, rc = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", table, NULL)) != -1) {
        if (c == OPT_HELP) { help(); train_opts_free(&o); return 0; }
        if (c == OPT_VERSION) { printf("nnfit %s\n", NNFIT_VERSION); train_opts_free(&o); return 0; }
        if (c == OPT_QUIET) { cli_quiet = 1; continue; }
        if (c == OPT_LIST_OPTIMIZERS) { train_opts_list_optimizers(stdout); train_opts_free(&o); return 0; }
        if (c == OPT_SAVE) { save_path = optarg; continue; }
        if (c == OPT_INIT_MODEL) { init_path = optarg; continue; }
        if (c == '?') { rc = cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]); break; }
        if (c == ':') { rc = cli_usage_error("option '%s' needs a value", argv[optind - 1]); break; }
        int h = data_opts_handle(&d, c, optarg);
        if (h == 1) h = train_opts_handle(&o, c, optarg);
        if (h) { rc = EXIT_USAGE; break; }
    }
    const int file_data = data_opts_given(&d);
    if (!rc && optind < argc) rc = cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!rc) rc = data_opts_check(&d);
    if (!rc && file_data && o.have_task)
        rc = cli_usage_error("give either --task or --data/--x/--y, not both");
    if (!rc && file_data && !o.n_sizes && !init_path)
        rc = cli_usage_error("training on your data needs --layers (e.g. --layers %d,16,1) or --init-model FILE",
                             d.inputs ? d.inputs : 1);
    if (!rc && !file_data) task_defaults(&o);
    if (!rc && o.val_n && file_data) rc = cli_usage_error("--val-n is for built-in tasks; with files use --val or --val-split");
    if (!rc && o.aids.early_stop && !o.val_n && !d.val && !(d.val_split > 0))
        rc = cli_usage_error("--early-stop needs a validation set: --val FILE, --val-split F or (tasks) --val-n N");
    if (!rc) rc = train_opts_finish(&o);
    if (!rc && save_path) {
        /* fail before training, not after, when the model cannot be saved there */
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", save_path);
        char *slash = strrchr(folder, '/');
        if (!slash) strcpy(folder, ".");
        else if (slash == folder) folder[1] = '\0';
        else *slash = '\0';
        if (access(folder, W_OK) != 0)
            rc = cli_usage_error("--save %s: folder '%s' is not writable: %s", save_path, folder, strerror(errno));
    }
    if (rc) { train_opts_free(&o); return rc; }
    const uint64_t seed_given = o.train.seed;

    /* architecture */
    int sizes[NF_MAX_LAYERS + 1], n_layers;
    nf_act_spec hidden;
    nf_task_default_layers(&o.task, sizes, &n_layers, &hidden);
    if (o.have_act) hidden = o.act;
    else if (o.given & TO_GIVEN_ACT_PARAM) hidden.param = o.act.param;
    int n_in = sizes[0], n_out = sizes[n_layers];
    if (o.n_sizes && !file_data) {
        if (o.sizes[0] != n_in || o.sizes[o.n_sizes - 1] != n_out) {
            rc = cli_usage_error("--layers %d,...,%d does not fit task %s, which maps %d inputs to %d outputs",
                                 o.sizes[0], o.sizes[o.n_sizes - 1], nf_task_name(o.task.kind), n_in, n_out);
            train_opts_free(&o);
            return rc;
        }
    }
    if (o.n_sizes) {
        memcpy(sizes, o.sizes, (size_t)o.n_sizes * sizeof(int));
        n_layers = o.n_sizes - 1;
    }

    nf_mat X = {0}, Y = {0}, Xv = {0}, Yv = {0};
    nf_model *m = NULL;
    FILE *log = NULL;
    nf_status st = NF_OK;
    if (init_path && (rc = load_init_model(&o, init_path, &m))) goto done;
    if (file_data) {
        if ((rc = data_opts_load(&d, nf_rng_derive(o.train.seed, 2), &X, &Y, &Xv, &Yv))) goto done;
        const char *src = d.data ? d.data : d.x;
        int mi = m ? nf_model_n_in(m) : sizes[0], mo = m ? nf_model_n_out(m) : sizes[n_layers];
        if (X.cols != mi || Y.cols != mo) {
            char a[256];
            if (m) shape_of(m->sizes, m->n_layers + 1, a, sizeof a);
            else shape_of(sizes, n_layers + 1, a, sizeof a);
            rc = cli_usage_error("%s has %d input and %d target columns but the model (%s %s) maps %d "
                                 "inputs to %d outputs", src, X.cols, Y.cols,
                                 m ? "--init-model" : "--layers", a, mi, mo);
            goto done;
        }
    } else {
        st = nf_task_generate(&o.task, &X, &Y);
        if (!st && o.val_n) { /* validation rows: same task, another stream of the data seed */
            nf_task_config vt = o.task;
            vt.n_samples = o.val_n;
            vt.seed = nf_rng_derive(o.task.seed, 1);
            st = nf_task_generate(&vt, &Xv, &Yv);
        }
        if (!st && m && (nf_model_n_in(m) != X.cols || nf_model_n_out(m) != Y.cols)) {
            char a[256];
            shape_of(m->sizes, m->n_layers + 1, a, sizeof a);
            rc = cli_usage_error("--init-model %s has layers %s but task %s maps %d inputs to %d outputs",
                                 init_path, a, nf_task_name(o.task.kind), X.cols, Y.cols);
            goto done;
        }
    }
    if (!st && !m) {
        st = nf_model_create_mlp(&m, n_layers, sizes, &hidden, &o.out_act);
        if (!st) {
            nf_rng rng;
            nf_rng_seed(&rng, nf_rng_derive(o.train.seed, 0));
            st = nf_init_model_data(m, &o.init, &o.init_opts, X.data, X.rows, &rng);
        }
    }
    if (st) { rc = cli_status_error(st); goto done; }
    if (o.log_path && !(log = fopen(o.log_path, "w"))) {
        rc = cli_usage_error("--log %s: cannot open for writing: %s", o.log_path, strerror(errno));
        goto done;
    }
    if (log) fprintf(log, Xv.rows ? "epoch,loss,seconds,val_loss\n" : "epoch,loss,seconds\n");

    nf_history h;
    memset(&h, 0, sizeof h);
    epoch_ctx ectx = {.log = log, .hist = &h};
    cli_progress_start(&ectx.bar, "train", o.train.epochs);
    o.train.on_epoch = on_epoch;
    o.train.ctx = &ectx;
    o.train.seed = nf_rng_derive(o.train.seed, 1);
    if (Xv.rows) {
        o.train.val_X = &Xv;
        o.train.val_Y = &Yv;
    }
    int split_threads = 0;
    if (o.threads) {
        /* N threads: batches of >= 256·N rows are split over them (nf_model_set_threads, one
         * BLAS thread each: 1.4-1.6x faster than 2 OpenBLAS threads on bench_train's narrow
         * workloads, equal on the large ones); smaller batches and lm (its Jacobian is not sharded) give OpenBLAS N
         * threads instead */
        const int full = nf_opt_is_full_batch(o.train.opt.kind) || o.train.batch <= 0 ||
                         o.train.batch > X.rows;
        const int rows = full ? X.rows : o.train.batch;
        const int split = o.threads > 1 && o.train.opt.kind != NF_OPT_LM &&
                          rows / 256 >= o.threads;
        nf_blas_set_threads(split ? 1 : o.threads);
        if (split && (st = nf_model_set_threads(m, o.threads))) {
            rc = cli_status_error(st);
            goto done;
        }
        split_threads = split;
    }
    st = nf_train(m, &X, &Y, &o.train, &h);
    cli_progress_end(&ectx.bar);
    if (st && st != NF_EDIVERGED) { rc = cli_status_error(st); goto done; }

    char shape[256];
    nf_model_shape_str(m, shape, sizeof shape);
    if (file_data) printf("data: %s\nrows: %d\n", d.data ? d.data : d.x, X.rows);
    else printf("task: %s\n", nf_task_name(o.task.kind));
    printf("layers: %s\nact: %s\noptimizer: %s\nlr: %g\nbatch: %d\nepochs: %d\n",
           shape, nf_act_name(m->layers[0].act.kind), nf_opt_name(o.train.opt.kind),
           o.train.opt.lr, nf_opt_is_full_batch(o.train.opt.kind) ? X.rows : o.train.batch, h.epochs_run);
    if (o.threads)
        printf("threads: %d (%s)\n", o.threads, split_threads ? "batch rows split" : "BLAS");
    char hp[1024];
    nf_opt_describe(&o.train.opt, hp, sizeof hp);
    printf("optimizer_params: %s\n", hp);
    if (nf_opt_is_full_batch(o.train.opt.kind))
        printf("converged: %s\n", h.converged == 1 ? "stationary point" : h.converged == 2 ? "mu > mu_max" : "no");
    printf("final_loss: %.6e\nbest_epoch_loss: %.6e\n", h.final_loss, h.best_loss);
    if (h.val_loss) printf("val_rows: %d\nfinal_val_loss: %.6e\n", Xv.rows, h.final_val_loss);
    if (o.train.target_loss > 0) printf("target_epoch: %d\n", h.target_epoch);
    if (o.train.aids) {
        printf("final_lr: %.6g\n", h.final_lr);
        if (o.aids.revive_every) printf("revivals: %d\n", h.revivals);
        if (h.grown_width) printf("grown_width: %d\npruned: %d\n", h.grown_width, h.pruned);
        if (o.aids.early_stop)
            printf("stopped_epoch: %d\nrestored_epoch: %d\n", h.stopped_epoch, h.restored_epoch);
    }
    double samples = (double)h.epochs_run * (double)X.rows;
    printf("seconds: %.3f\nsamples_per_second: %.4g\n", h.seconds_total,
           h.seconds_total > 0 ? samples / h.seconds_total : 0.0);
    if (st == NF_EDIVERGED) {
        printf("diverged_epoch: %d\n", h.diverged_epoch);
        rc = cli_status_error(st);
    } else {
        if (!file_data) rc = report_linear(&o, m, &X, &Y);
        if (!rc && save_path) {
            st = save_model(save_path, m, &o, &d, &h, seed_given);
            if (st) rc = cli_status_error(st);
            else printf("saved: %s\n", save_path);
        }
    }
    nf_history_free(&h);
done:
    if (log && fclose(log) && !rc) rc = cli_usage_error("--log %s: write failed", o.log_path);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_mat_free(&Xv);
    nf_mat_free(&Yv);
    train_opts_free(&o);
    return rc;
}
