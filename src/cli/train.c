/* train.c — `nnfit train`: train a model on a built-in task and report how well it fits. */
#include <errno.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_opts.h"
#include "mpi_cli.h"
#include "sweep_cli.h"

static void help(void)
{
    printf("usage: nnfit train [options]\n\n"
           "Trains an MLP with mini-batch gradient descent and prints a summary on stdout.\n\n");
    opt_help(stdout, CMD_TRAIN);
    printf("  --quiet                    no progress on stderr\n  --help, --version\n");
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
static nf_status save_model(const cli_args *a, const nf_model *m, const nf_history *h)
{
    char lr[32], batch[32], epochs[32], seed[32], loss[32], vloss[32], opt[256], init[4200];
    snprintf(lr, sizeof lr, "%.9g", a->run.train.opt.lr);
    snprintf(batch, sizeof batch, "%d", a->run.train.batch);
    snprintf(epochs, sizeof epochs, "%d", h->epochs_run);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a->run.seed);
    snprintf(loss, sizeof loss, "%.9g", h->final_loss);
    snprintf(vloss, sizeof vloss, "%.9g", h->final_val_loss);
    nf_opt_label(&a->run.train.opt, opt, sizeof opt);
    if (a->init_model) snprintf(init, sizeof init, "from %s", a->init_model);
    else snprintf(init, sizeof init, "%s", nf_init_name(a->run.init.kind));
    nf_meta_kv kv[13];
    int n = 0;
    kv[n++] = (nf_meta_kv){"loss", nf_loss_name(a->run.train.loss.kind)};
    kv[n++] = (nf_meta_kv){"optimizer", nf_opt_name(a->run.train.opt.kind)};
    kv[n++] = (nf_meta_kv){"optimizer_setting", opt};
    if (nf_opt_reads(a->run.train.opt.kind, nf_opt_hparam_find("lr"))) kv[n++] = (nf_meta_kv){"lr", lr};
    kv[n++] = (nf_meta_kv){"batch", batch};
    kv[n++] = (nf_meta_kv){"epochs", epochs};
    kv[n++] = (nf_meta_kv){"seed", seed};
    kv[n++] = (nf_meta_kv){"init", init};
    kv[n++] = (nf_meta_kv){"final_loss", loss};
    if (h->val_loss) kv[n++] = (nf_meta_kv){"final_val_loss", vloss};
    if (data_opts_given(a)) kv[n++] = (nf_meta_kv){"data", data_opts_source(a)};
    else kv[n++] = (nf_meta_kv){"task", nf_task_name(a->run.task.kind)};
    return nf_model_save(a->save, m, kv, n);
}

/* Linear tasks: distance of the trained first layer to the exact operator and to the
 * least-squares weights on the same data. */
static int report_linear(const cli_args *a, const nf_model *m, const nf_mat *X, const nf_mat *Y)
{
    if (!nf_task_is_linear(a->run.task.kind) || nf_model_n_layers(m) != 1) return 0;
    nf_mat W, Wls;
    nf_status st = nf_task_exact(&a->run.task, &W);
    if (st) return cli_status_error(st);
    const nf_dense *L = nf_model_layer(m, 0);
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

/* --init-model: the architecture comes from the file (--layers, if given, must match it). */
static int load_init_model(cli_args *a, nf_model **m)
{
    nf_load_opts lo;
    nf_load_opts_default(&lo);
    if (a->run.act_set) {
        lo.hidden = a->run.act;
        lo.output = a->run.out_act;
        lo.force_acts = 1;
    }
    nf_status st = nf_model_load(a->init_model, &lo, m, NULL);
    if (st) return cli_status_error(st);
    const int n = nf_model_n_layers(*m) + 1;
    int sizes[NF_MAX_LAYERS + 1];
    for (int i = 0; i < n; i++) sizes[i] = nf_model_size(*m, i);
    if (a->run.n_sizes) {
        int same = a->run.n_sizes == n;
        for (int i = 0; same && i < n; i++) same = a->run.sizes[i] == sizes[i];
        if (!same) {
            char x[256], y[256];
            shape_of(a->run.sizes, a->run.n_sizes, x, sizeof x);
            shape_of(sizes, n, y, sizeof y);
            nf_model_free(*m);
            *m = NULL;
            return cli_usage_error("--layers %s does not match --init-model %s, which has layers %s", x,
                                   a->init_model, y);
        }
    }
    memcpy(a->run.sizes, sizes, (size_t)n * sizeof(int));
    a->run.n_sizes = n;
    return 0;
}

static void print_summary(const cli_args *a, const nf_model *m, const nf_history *h, nf_status st)
{
    const int rows = h->rows, val_rows = h->val_rows;
    const nf_run_spec *r = &a->run;
    char shape[256], label[512], hp[1024];
    nf_model_shape_str(m, shape, sizeof shape);
    if (data_opts_given(a)) printf("data: %s\nrows: %d\n", data_opts_source(a), rows);
    else printf("task: %s\n", nf_task_name(r->task.kind));
    const int full = nf_opt_is_full_batch(r->train.opt.kind);
    nf_opt_label(&r->train.opt, label, sizeof label);
    printf("layers: %s\nact: %s\noptimizer: %s\nsetting: %s\n", shape, nf_act_name(nf_model_layer(m, 0)->act.kind),
           nf_opt_name(r->train.opt.kind), label);
    if (nf_opt_reads(r->train.opt.kind, nf_opt_hparam_find("lr"))) printf("lr: %g\n", r->train.opt.lr);
    printf("batch: %d\nepochs: %d\n", full ? rows : r->train.batch, h->epochs_run);
    if (cli_mpi_on()) printf("processes: %d (data-parallel: each holds about %d rows)\n", cli_mpi_size(),
                             rows / cli_mpi_size());
    if (r->threads) {
        int split, blas;
        nf_run_thread_plan(r, cli_mpi_on() ? rows / cli_mpi_size() : rows, &split, &blas);
        printf("threads: %d (%s)\n", r->threads, split ? "batch rows split" : "BLAS");
    }
    nf_opt_describe(&r->train.opt, hp, sizeof hp);
    printf("optimizer_params: %s\n", hp);
    if (full)
        printf("converged: %s\n", h->converged == 1 ? "stationary point" : h->converged == 2 ? "mu > mu_max" : "no");
    printf("final_loss: %.6e\nbest_epoch_loss: %.6e\n", h->final_loss, h->best_loss);
    if (h->val_loss) printf("val_rows: %d\nfinal_val_loss: %.6e\n", val_rows, h->final_val_loss);
    if (r->train.target_loss > 0) {
        if (h->target_epoch) printf("target_epoch: %d\n", h->target_epoch);
        else printf("target_epoch: never (best epoch loss %.6e > %g)\n", h->best_loss, r->train.target_loss);
    }
    if (r->aids_on) {
        printf("final_lr: %.6g\n", h->final_lr);
        if (r->aids.revive_every) printf("revivals: %d\n", h->revivals);
        if (h->grown_width) printf("grown_width: %d\npruned: %d\n", h->grown_width, h->pruned);
        if (r->aids.early_stop) printf("stopped_epoch: %d\nrestored_epoch: %d\n", h->stopped_epoch, h->restored_epoch);
    }
    double samples = (double)h->epochs_run * (double)rows;
    printf("seconds: %.3f\nsamples_per_second: %.4g\n", h->seconds_total,
           h->seconds_total > 0 ? samples / h->seconds_total : 0.0);
    if (st == NF_EDIVERGED) printf("diverged_epoch: %d\n", h->diverged_epoch);
}

/* The hidden units' table (--diag), as `nnfit inspect` prints it. */
static void print_units(nf_model *m, const nf_mat *X)
{
    nf_diag_options o;
    nf_diag_defaults(&o);
    nf_unit_diag *u = NULL;
    int n = 0;
    if (nf_diag_units(m, X->data, X->rows, &o, &u, &n)) {
        fprintf(stderr, "%s: --diag: %s\n", cli_prog, nf_last_error());
        return;
    }
    printf("\n# hidden units over the training data:\n");
    if (n) cli_print_units(stdout, u, n, o.dup_angle_deg);
    else printf("(no hidden layer: a linear model has no units to diagnose)\n");
    free(u);
}

/* Parses and checks the options, reads or generates the data, builds the run.  0 or an exit
 * status; on success X/Y (and maybe Xv/Yv) and *m (with --init-model) are filled. */
static int prepare(int argc, char **argv, cli_args *a, opt_list *l, nf_mat *X, nf_mat *Y, nf_mat *Xv,
                   nf_mat *Yv, nf_model **m, long *row0, long *n_total)
{
    int rc = opt_parse(CMD_TRAIN, argc, argv, l);
    if (rc) return rc;
    if (l->help) return help(), -1;
    if (l->version) return printf("nnfit %s\n", NNFIT_VERSION), -1;
    if ((rc = opt_apply_all(a, l))) return rc;
    if (a->list_optimizers) return opt_list_optimizers(stdout), -1;
    const int files = data_opts_given(a);
    if ((rc = data_opts_check(a, l))) return rc;
    if (files && !a->run.n_sizes && !a->init_model)
        return cli_usage_error("training on your data needs --layers (e.g. --layers %d,16,1) or --init-model FILE",
                               a->inputs ? a->inputs : 1);
    /* fail before training, not after, when the model or the log cannot be written there (only rank 0 writes) */
    if (cli_mpi_rank() == 0 &&
        ((a->save && (rc = cli_out_check("save", a->save))) || (a->log && (rc = cli_out_check("log", a->log)))))
        return rc;
    if (cli_mpi_on() && a->diag)
        return cli_usage_error("--diag needs every training row in one process; under mpirun each rank holds a "
                               "part (train with --save, then run nnfit train --diag --init-model FILE --epochs 1 "
                               "without mpirun)");
    if (cli_mpi_on() && !a->run.threads) a->run.threads = cli_mpi_default_threads(); /* the node's cores, shared */
    if ((rc = cli_load_taps(a))) return rc;
    if (a->init_model && (rc = load_init_model(a, m))) return rc;
    if (cli_mpi_on()) rc = data_opts_load_part(a, cli_mpi_rank(), cli_mpi_size(), X, Y, Xv, Yv, row0, n_total);
    else rc = data_opts_load_any(a, X, Y, Xv, Yv);
    if (rc) return rc;
    if (*m && (nf_model_n_in(*m) != X->cols || nf_model_n_out(*m) != Y->cols)) {
        char shape[256];
        nf_model_shape_str(*m, shape, sizeof shape);
        return cli_usage_error("--init-model %s has layers %s but %s has %d input and %d target columns",
                               a->init_model, shape, files ? data_opts_source(a) : nf_task_name(a->run.task.kind),
                               X->cols, Y->cols);
    }
    if (files && !*m && (a->run.sizes[0] != X->cols || a->run.sizes[a->run.n_sizes - 1] != Y->cols)) {
        char shape[256];
        shape_of(a->run.sizes, a->run.n_sizes, shape, sizeof shape);
        return cli_usage_error("%s has %d input and %d target columns but the model (--layers %s) maps %d inputs "
                               "to %d outputs", data_opts_source(a), X->cols, Y->cols, shape, a->run.sizes[0],
                               a->run.sizes[a->run.n_sizes - 1]);
    }
    return cli_resolve(a, l, files ? X->cols : 0, files ? Y->cols : 0);
}

int cmd_train(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    opt_list l;
    nf_mat X = {0}, Y = {0}, Xv = {0}, Yv = {0};
    nf_model *m = NULL;
    nf_out log = {0};
    int log_open = 0;
    nf_history h;
    memset(&h, 0, sizeof h);
    long row0 = 0, n_total = 0;
    int rc = cli_mpi_agree(prepare(argc, argv, &a, &l, &X, &Y, &Xv, &Yv, &m, &row0, &n_total));
    if (rc) goto done;
    const int rank0 = cli_mpi_rank() == 0;
    if (rank0 && a.log) {
        if (nf_out_open(&log, a.log)) { rc = cli_usage_error("--log %s", nf_last_error()); goto done; }
        log_open = 1;
        const int have_val = Xv.rows || a.run.val_split > 0;
        fprintf(log.f, have_val ? "epoch,loss,seconds,val_loss\n" : "epoch,loss,seconds\n");
    }
    epoch_ctx ectx = {.log = log_open ? log.f : NULL, .hist = &h};
    cli_progress_start(&ectx.bar, "train", a.run.train.epochs);
    a.run.train.on_epoch = on_epoch;
    a.run.train.ctx = &ectx;
    /* data-parallel: every rank was given the validation rows' presence alike (a rank's share may be 0 rows) */
    const int val_file = a.val || (!data_opts_given(&a) && a.run.val_n > 0);
    const nf_mat *vx = Xv.rows || (cli_mpi_on() && val_file) ? &Xv : NULL, *vy = vx ? &Yv : NULL;
    const nf_run_data data = {&X, &Y, vx, vy, nf_mpi_dist(), row0, n_total};
    nf_status st = nf_run(&a.run, &data, &m, &h);
    cli_progress_end(&ectx.bar);
    if (!rank0) { /* rank 0 reports and writes */
        rc = st ? cli_status_error(st) : 0;
        goto done;
    }
    if (st && st != NF_EDIVERGED) { rc = cli_status_error(st); goto done; }
    print_summary(&a, m, &h, st);
    if (st == NF_EDIVERGED) { rc = cli_status_error(st); goto done; }
    if (!data_opts_given(&a) && !cli_mpi_on()) rc = report_linear(&a, m, &X, &Y);
    if (!data_opts_given(&a) && cli_mpi_on() && nf_task_is_linear(a.run.task.kind)) { /* on all rows */
        nf_mat Xa, Ya, Xva, Yva;
        if ((st = nf_run_task_data(&a.run, &Xa, &Ya, &Xva, &Yva))) rc = cli_status_error(st);
        else rc = report_linear(&a, m, &Xa, &Ya);
        nf_mat_free(&Xa);
        nf_mat_free(&Ya);
        nf_mat_free(&Xva);
        nf_mat_free(&Yva);
    }
    if (!rc && a.diag) print_units(m, &X);
    if (!rc && a.save) {
        if ((st = save_model(&a, m, &h))) rc = cli_status_error(st);
        else printf("saved: %s\n", a.save);
    }
done:
    nf_history_free(&h);
    if (log_open && rc) nf_out_abort(&log); /* a failed run leaves the old log as it was */
    else if (log_open && nf_out_commit(&log)) rc = cli_usage_error("--log %s", nf_last_error());
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_mat_free(&Xv);
    nf_mat_free(&Yv);
    opt_list_free(&l);
    cli_args_free(&a);
    return rc < 0 ? 0 : rc;
}
