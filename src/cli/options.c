/* options.c — the option table and its parser (options.h). */
#include "options.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/optim.h"

/* Table rows name only the fields they need; the rest are zero (no axis, applies to all, ...). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum { SEC_TASK, SEC_FILES, SEC_MODEL, SEC_TRAIN, SEC_HP, SEC_AIDS, SEC_OUT, SEC_SWEEP, SEC_COUNT };
static const char *const section_title[SEC_COUNT] = {
    "built-in task (the default data)", "your data (CSV or .npy; instead of --task)", "model",
    "training", "optimizer hyperparameters (PyTorch names; each goes only to the optimizers that read it)",
    "initialisation and training aids (README: Making small nets converge)", "output",
    "sweep"};

#define A(field) offsetof(cli_args, field)
#define R(field) offsetof(cli_args, run.field)
#define TS (CMD_TRAIN | CMD_SWEEP)
#define TSD (CMD_TRAIN | CMD_SWEEP | CMD_DATA)

/* ---- parsers of named values ---- */
static int named_error(const opt_row *r, const char *text)
{
    return cli_usage_error("--%s: %s", r->name, nf_last_error()), (void)text, EXIT_USAGE;
}

static int parse_task(cli_args *a, const opt_row *r, const char *text)
{
    nf_task_kind k;
    if (nf_task_parse(text, &k)) return named_error(r, text);
    nf_run_set_task(&a->run, k);
    return 0;
}

static int parse_n(cli_args *a, const opt_row *r, const char *text)
{
    if (cli_int(r->name, text, (long)r->lo, (long)r->hi, &a->run.task.n_samples)) return EXIT_USAGE;
    a->run.n_set = 1;
    return 0;
}

static int parse_act(cli_args *a, const opt_row *r, const char *text)
{
    nf_act_spec s;
    if (nf_act_parse(text, &s)) return named_error(r, text);
    nf_act_spec *dst = (nf_act_spec *)((char *)a + r->off);
    const float param = dst->param;
    *dst = s;
    if (r->mark == MK_ACT && a->run.act_param_set) dst->param = param;
    return 0;
}

static int parse_loss(cli_args *a, const opt_row *r, const char *text)
{
    const float delta = a->run.train.loss.delta;
    if (nf_loss_parse(text, &a->run.train.loss)) return named_error(r, text);
    a->run.train.loss.delta = delta;
    return 0;
}

static int parse_opt(cli_args *a, const opt_row *r, const char *text)
{
    nf_opt_kind k;
    if (nf_opt_parse(text, &k)) return named_error(r, text);
    a->run.train.opt.kind = k;
    return 0;
}

static int parse_init(cli_args *a, const opt_row *r, const char *text)
{
    if (nf_init_parse(text, &a->run.init.kind)) return named_error(r, text);
    return 0;
}

static int parse_init_base(cli_args *a, const opt_row *r, const char *text)
{
    if (nf_init_parse(text, &a->run.init_opts.base) || a->run.init_opts.base == NF_INIT_DATA_KINK)
        return cli_usage_error("--%s: '%s' is not an initialiser other than data_kink (%s)", r->name, text,
                               nf_init_names());
    return 0;
}

static int parse_bias_init(cli_args *a, const opt_row *r, const char *text)
{
    double d;
    if (cli_double(r->name, text, r->lo, r->hi, &d)) return EXIT_USAGE;
    a->run.init.bias_mode = NF_BIAS_CONST;
    a->run.init.bias_value = (float)d;
    return 0;
}

static int parse_layers(cli_args *a, const opt_row *r, const char *text)
{
    if (nf_parse_sizes(text, a->run.sizes, NF_MAX_LAYERS + 1, &a->run.n_sizes))
        return named_error(r, text);
    return 0;
}

static int parse_schedule(cli_args *a, const opt_row *r, const char *text)
{
    if (nf_sched_parse(text, &a->run.aids.sched.kind)) return named_error(r, text);
    return 0;
}

static int parse_val_split(cli_args *a, const opt_row *r, const char *text)
{
    double d;
    if (cli_double(r->name, text, -1e300, 1e300, &d)) return EXIT_USAGE;
    if (!(d > 0.0 && d < 1.0))
        return cli_usage_error("--%s: %s is not a fraction strictly between 0 and 1", r->name, text);
    a->run.val_split = d;
    return 0;
}

static int parse_hidden(cli_args *a, const opt_row *r, const char *text)
{
    int w;
    if (cli_int(r->name, text, 1, 1 << 24, &w)) return EXIT_USAGE;
    a->hidden = text;
    return 0;
}

static int parse_ttt_unit(cli_args *a, const opt_row *r, const char *text)
{
    static const char *const names[] = {"epochs", "evals", "seconds"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(text, names[i])) {
            a->ttt_unit = i;
            return 0;
        }
    return cli_usage_error("--%s: '%s' is not one of epochs, evals, seconds", r->name, text);
}

static int parse_select(cli_args *a, const opt_row *r, const char *text)
{
    static const char *const names[] = {"success", "median-loss", "time-to-target"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(text, names[i])) {
            a->select = i + 1;
            return 0;
        }
    return cli_usage_error("--%s: '%s' is not one of success, median-loss, time-to-target", r->name, text);
}

static int parse_halving(cli_args *a, const opt_row *r, const char *text)
{
    double d;
    if (cli_double(r->name, text, -1e300, 1e300, &d)) return EXIT_USAGE;
    if (!(d > 1.0 && d <= 1000.0)) return cli_usage_error("--%s: %s is not a reduction factor in (1, 1000]", r->name, text);
    a->halving = d;
    return 0;
}

static const char *const why_sweep_log = "a sweep writes per-trial results with --out/--json; rerun one trial with its printed command to log it";
static const char *const why_sweep_threads = "sweep workers run one thread each; use --jobs";
static const char *const why_sweep_stop = "sweep trials run every epoch so they compare; time to target is reported";
static const char *const why_sweep_save = "rerun one trial with its printed command and --save";

/* The table.  Rows of one section stay together; the sweep's grid axes are enumerated in row
 * order, the last axis fastest. */
static const opt_row base_rows[] = {
    /* built-in task */
    {"task", "NAME", "built-in task (default abs); sweep: a list is several problems", SEC_TASK, TSD | CMD_INSPECT,
     OT_NAME, 0, 0, 0, parse_task, ','},
    {"n", "N", "rows to generate (default 4096; teacher 8192)", SEC_TASK, TSD | CMD_INSPECT, OT_NAME, 0, 1, 1 << 26,
     parse_n},
    {"k", "K", "teacher: inputs and teacher units, x ~ N(0, I_K), y = sum relu(x_i) (default 10)", SEC_TASK, TSD,
     OT_INT, R(task.k), 1, 4096},
    {"frame", "N", "fir/dft/spectrum frame length (default 64)", SEC_TASK, TSD, OT_INT, R(task.frame), 1, 65536},
    {"taps", "FILE", "fir taps, one per line (default: the built-in 31-tap low-pass)", SEC_TASK, TSD, OT_TEXT, A(taps)},
    {"fir-single", NULL, "fir as T inputs -> 1 output (weights = taps)", SEC_TASK, TSD, OT_FLAG, R(task.fir_single), 1},
    {"dft-complex", NULL, "dft of complex input (2N -> 2N)", SEC_TASK, TSD, OT_FLAG, R(task.dft_complex), 1},
    {"dft-full", NULL, "dft of real input to all N bins (N -> 2N)", SEC_TASK, TSD, OT_FLAG, R(task.dft_full), 1},
    {"orthonormal", NULL, "dft/spectrum scaled by 1/sqrt(N)", SEC_TASK, TSD, OT_FLAG, R(task.orthonormal), 1},
    {"data-seed", "S", "seed of the generated data (default 1)", SEC_TASK, TSD | CMD_INSPECT, OT_U64, R(task.seed)},
    {"val-n", "N", "validation rows generated from the task (another stream of the data seed)", SEC_TASK, TS,
     OT_INT, R(val_n), 1, 1 << 26},
    /* files */
    {"data", "FILE", "rows of inputs then targets (train, sweep: with --inputs K); sweep: a list is several problems",
     SEC_FILES, TS | CMD_INSPECT | CMD_PREDICT, OT_TEXT, A(data), 0, 0, NULL, ','},
    {"inputs", "K", "the first K columns of --data are inputs, the rest targets (sweep: one K, or one per file)",
     SEC_FILES, TS | CMD_INSPECT | CMD_PREDICT, OT_INT, A(inputs), 1, 1 << 24, NULL, ','},
    {"x", "FILE", "inputs, with --y FILE targets (the same rows)", SEC_FILES, TS, OT_TEXT, A(x)},
    {"y", "FILE", "targets, with --x FILE", SEC_FILES, TS, OT_TEXT, A(y)},
    {"val", "FILE", "validation set (same layout as --data)", SEC_FILES, TS, OT_TEXT, A(val)},
    {"val-split", "F", "hold out a fraction F of the rows (drawn from the run's seed)", SEC_FILES, TS, OT_NAME,
     0, 0, 0, parse_val_split},
    {"allow-nonfinite", NULL, "accept NaN/Inf cells (refused by default)", SEC_FILES, TS | CMD_PREDICT | CMD_INSPECT, OT_FLAG,
     A(allow_nonfinite), 1},
    /* model */
    {"layers", "2,3,1", "sizes including inputs and outputs (default: the task's); sweep: L1;L2", SEC_MODEL, TS,
     OT_NAME, 0, 0, 0, parse_layers, ';'},
    {"hidden", "W", "sweep: one hidden layer of width W (a list: W1,W2,...)", SEC_MODEL, CMD_SWEEP, OT_NAME, 0, 0, 0,
     parse_hidden, ','},
    {"model", "FILE", "safetensors model (nnfit's or PyTorch's layers.{i}.weight/bias)", SEC_MODEL, CMD_PREDICT,
     OT_TEXT, A(model)},
    {"act", "NAME", "hidden activation (default: the task's, relu; predict: when the file does not record it)",
     SEC_MODEL, TS | CMD_PREDICT, OT_NAME, R(act), 0, 0, parse_act,
     ',', 0, AP_ALL, MK_ACT},
    {"act-param", "X", "leaky_relu slope (0.01), elu alpha (1.0); prelu, elu_learn: initial value (0.25, 1.0)", SEC_MODEL, TS, OT_FLOAT, R(act.param), -1e6, 1e6,
     NULL, ',', 0, AP_ACT_PARAM, MK_ACT_PARAM},
    {"out-act", "NAME", "output activation (default linear)", SEC_MODEL, TS | CMD_PREDICT, OT_NAME, R(out_act), 0, 0,
     parse_act},
    {"init", "NAME", "weight initialiser (default glorot_uniform)", SEC_MODEL, TS, OT_NAME, 0, 0, 0, parse_init, ','},
    {"bias-init", "X", "constant bias (default: zeros; torch_default's own rule)", SEC_MODEL, TS, OT_NAME, 0, -1e6,
     1e6, parse_bias_init, ','},
    {"init-gain", "X", "orthogonal/data_kink weight scale (default 1)", SEC_MODEL, TS, OT_FLOAT, R(init_opts.gain),
     1e-6, 1e6, NULL, ','},
    {"init-base", "NAME", "data_kink: initialiser of the later layers (glorot_uniform)", SEC_MODEL, TS, OT_NAME, 0,
     0, 0, parse_init_base},
    {"init-model", "FILE", "start from these weights (safetensors); --layers may be omitted", SEC_MODEL, CMD_TRAIN,
     OT_TEXT, A(init_model), 0, 0, NULL, 0, 0, 0, 0, 0, "every trial starts from its own initialisation"},
    /* training */
    {"loss", "NAME", "loss (default mse)", SEC_TRAIN, TS, OT_NAME, 0, 0, 0, parse_loss, ','},
    {"delta", "X", "huber threshold (default 1)", SEC_TRAIN, TS, OT_FLOAT, R(train.loss.delta), 1e-30, 1e30, NULL,
     ',', 0, AP_HUBER},
    {"opt", "NAME", "optimizer (default adam)", SEC_TRAIN, TS, OT_NAME, 0, 0, 0, parse_opt, ',', 0, AP_ALL, MK_OPT},
    {"list-optimizers", NULL, "every optimizer with its hyperparameters and defaults", SEC_TRAIN, TS, OT_FLAG,
     A(list_optimizers), 1},
    {"batch", "N", "rows per step, 0 = full batch (default 32)", SEC_TRAIN, TS, OT_INT, R(train.batch), 0, 1 << 26,
     NULL, ',', 0, AP_ALL, MK_BATCH},
    {"epochs", "N", "passes over the data (default 100)", SEC_TRAIN, TS, OT_INT, R(train.epochs), 1, 1 << 30, NULL,
     ','},
    {"seed", "S", "seed of initialisation, shuffling and split (default 0); sweep: restart r uses derive(S, r)",
     SEC_TRAIN, TS, OT_U64, R(seed)},
    {"no-shuffle", NULL, "keep the row order", SEC_TRAIN, TS, OT_FLAG, R(train.shuffle), 0},
    {"target", "LOSS", "train: report the first epoch whose loss <= LOSS; sweep: success is final loss <= LOSS "
     "(abs default 2e-3; one per problem, or one for all)", SEC_TRAIN, TS, OT_REAL, R(train.target_loss), 1e-300,
     1e300},
    {"stop-at-target", NULL, "stop at the target epoch", SEC_TRAIN, CMD_TRAIN, OT_FLAG, R(train.stop_at_target), 1,
     0, NULL, 0, 0, 0, 0, 0, NULL},
    {"threads", "N", "threads (default: OpenBLAS's own); batches of >= 256*N rows are split over them, smaller ones "
     "(and lm) use N BLAS threads", SEC_TRAIN, CMD_TRAIN, OT_INT, R(threads), 1, 256},
    /* training aids: each may be a sweep axis; 0 (none for --schedule) leaves it out */
    {"revive-every", "K", "every K epochs re-initialise dead/duplicate hidden units", SEC_AIDS, TS, OT_INT,
     R(aids.revive_every), 1, 1 << 30, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"dup-cos", "X", "duplicate if cos of normalised [w,b] > X (default 0.999)", SEC_AIDS, TS, OT_REAL,
     R(aids.dup_cos), 0, 1, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"revive-parallel", "X", "also revive units whose w is parallel (|cos| > X) to another's", SEC_AIDS, TS, OT_REAL,
     R(aids.revive_parallel), 0, 1, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"revive-edge", "F", "also revive units active on <= F or >= 1-F of the samples", SEC_AIDS, TS, OT_REAL,
     R(aids.revive_edge), 0, 0.49, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"grow", "X", "train X times as many hidden units, prune back to --layers by least squares over the units "
     "and their mirror images", SEC_AIDS, TS, OT_REAL, R(aids.grow), 1, 64, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"prune-start", "F", "grow: pruning starts after this fraction of the epochs (0.3)", SEC_AIDS, TS, OT_REAL,
     R(aids.prune_start), 0, 1, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"prune-end", "F", "grow: the model's widths are reached after this fraction (0.6)", SEC_AIDS, TS, OT_REAL,
     R(aids.prune_end), 0, 1, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"prune-every", "N", "grow: epochs between pruning rounds (5)", SEC_AIDS, TS, OT_INT, R(aids.prune_every), 1,
     1 << 30, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"prune-units-only", NULL, "grow: candidates are the units only, not also their mirror images", SEC_AIDS, TS,
     OT_FLAG, R(aids.prune_units_only), 1, 0, NULL, 0, 0, AP_MINIBATCH, MK_AID},
    {"polish", NULL, "refit the output layer by least squares after training (mse, linear output)", SEC_AIDS, TS,
     OT_FLAG, R(aids.polish), 1, 0, NULL, 0, 0, AP_MINIBATCH, MK_AID},
    {"repel", "X", "penalty X * sum cos^2 between hidden units' weight vectors", SEC_AIDS, TS, OT_REAL, R(aids.repel),
     0, 1e6, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"repel-anneal", NULL, "--repel falls linearly to 0 by the last epoch", SEC_AIDS, TS, OT_FLAG,
     R(aids.repel_anneal), 1, 0, NULL, 0, 0, AP_MINIBATCH, MK_AID},
    {"dropout", "P", "inverted dropout on hidden layers (training only)", SEC_AIDS, TS, OT_FLOAT, R(aids.dropout), 0,
     0.99, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"decoupled-weight-decay", "X", "p -= lr*X*p before each step (AdamW style)", SEC_AIDS, TS, OT_REAL,
     R(aids.decoupled_wd), 0, 1e6, NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"clip-norm", "X", "clip the global gradient norm to X", SEC_AIDS, TS, OT_REAL, R(aids.clip_norm), 1e-30, 1e30,
     NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"schedule", "NAME", "none|step|exp|cosine|plateau (epoch-wise, as PyTorch)", SEC_AIDS, TS, OT_NAME, 0, 0, 0,
     parse_schedule, ',', 1, AP_MINIBATCH, MK_AID},
    {"warmup", "N", "linear warm-up over the first N epochs", SEC_AIDS, TS, OT_INT, R(aids.sched.warmup), 0, 1 << 30,
     NULL, ',', 1, AP_MINIBATCH, MK_AID},
    {"step-size", "N", "step schedule: epochs per decay (30)", SEC_AIDS, TS, OT_INT, R(aids.sched.step_size), 1,
     1 << 30, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"gamma", "X", "step/exp schedule factor (0.1)", SEC_AIDS, TS, OT_REAL, R(aids.sched.gamma), 1e-30, 1, NULL, ',',
     0, AP_MINIBATCH, MK_AID},
    {"t-max", "N", "cosine schedule period (default --epochs)", SEC_AIDS, TS, OT_INT, R(aids.sched.t_max), 1, 1 << 30,
     NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"eta-min", "X", "cosine schedule floor (0)", SEC_AIDS, TS, OT_REAL, R(aids.sched.eta_min), 0, 1e6, NULL, ',', 0,
     AP_MINIBATCH, MK_AID},
    {"plateau-patience", "N", "plateau schedule (torch default 10)", SEC_AIDS, TS, OT_INT, R(aids.sched.patience), 0,
     1 << 30, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"plateau-factor", "X", "plateau schedule (0.1)", SEC_AIDS, TS, OT_REAL, R(aids.sched.factor), 1e-9, 1.0 - 1e-9,
     NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"plateau-threshold", "X", "plateau schedule, relative (1e-4)", SEC_AIDS, TS, OT_REAL, R(aids.sched.threshold), 0,
     1, NULL, ',', 0, AP_MINIBATCH, MK_AID},
    {"plateau-cooldown", "N", "plateau schedule (0)", SEC_AIDS, TS, OT_INT, R(aids.sched.cooldown), 0, 1 << 30, NULL,
     ',', 0, AP_MINIBATCH, MK_AID},
    {"min-lr", "X", "plateau schedule floor (0)", SEC_AIDS, TS, OT_REAL, R(aids.sched.min_lr), 0, 1e6, NULL, ',', 0,
     AP_MINIBATCH, MK_AID},
    {"early-stop", "N", "stop after N epochs without a better validation loss, restore the best weights (needs "
     "--val, --val-split or --val-n)", SEC_AIDS, TS, OT_INT, R(aids.early_stop), 1, 1 << 30, NULL, ',', 1, AP_ALL,
     MK_AID},
    /* output */
    {"save", "FILE", "write the trained model (safetensors)", SEC_OUT, CMD_TRAIN, OT_TEXT, A(save), 0, 0, NULL, 0, 0,
     0, 0, 0, NULL},
    {"log", "FILE.csv", "per epoch: epoch, loss, seconds since the start (, val_loss)", SEC_OUT, CMD_TRAIN, OT_TEXT,
     A(log), 0, 0, NULL, 0, 0, 0, 0, 0, NULL},
    {"diag", NULL, "train: the hidden units' table at the end; sweep: of each setting's best and worst trial", SEC_OUT,
     TS, OT_FLAG, A(diag), 1},
    /* sweep */
    {"restarts", "N", "trials per grid point (default 20)", SEC_SWEEP, CMD_SWEEP, OT_INT, A(restarts), 1, 1 << 24},
    {"jobs", "J", "worker threads, one BLAS thread each (default: cores)", SEC_SWEEP, CMD_SWEEP, OT_INT, A(jobs), 1,
     1024},
    {"out", "FILE", "output file, written atomically (sweep: one CSV row per trial; data: .npy by extension, "
     "else CSV; predict: CSV on stdout without it)", SEC_OUT, CMD_SWEEP | CMD_DATA | CMD_PREDICT, OT_TEXT, A(out)},
    {"angle", "DEG", "kink lines closer than DEG degrees are parallel (kink_deg column; duplicate: also [w,b] within DEG) (default 1)", SEC_OUT, CMD_INSPECT,
     OT_REAL, A(angle), 0, 90},
    {"json", "FILE", "settings, summaries and trials as JSON", SEC_SWEEP, CMD_SWEEP, OT_TEXT, A(json)},
    {"plot", "DIR", "pictures (CSV + gnuplot scripts, PNG/SVG when gnuplot is installed)", SEC_SWEEP, CMD_SWEEP,
     OT_TEXT, A(plot)},
    {"report", "DIR", "DIR/index.html: tables, significance marks, chosen hyperparameters, pictures (SVG)",
     SEC_SWEEP, CMD_SWEEP, OT_TEXT, A(report)},
    {"journal", "FILE", "record every finished trial (fsync'd); the same command again after a kill runs only "
     "the missing trials", SEC_SWEEP, CMD_SWEEP, OT_TEXT, A(journal)},
    {"ttt-unit", "UNIT", "time to target compared in epochs|evals|seconds (default epochs)", SEC_SWEEP, CMD_SWEEP,
     OT_NAME, 0, 0, 0, parse_ttt_unit},
    {"tune", "NAME=LO:HI[:log]", "tune a numeric option over a range (repeatable) with --budget configurations "
     "per grid point", SEC_SWEEP, CMD_SWEEP, OT_TEXT, A(tune)},
    {"budget", "N", "tuning configurations per grid point, scrambled Sobol points (default 16)", SEC_SWEEP,
     CMD_SWEEP, OT_INT, A(budget), 1, 255},
    {"tune-restarts", "R", "tuning seeds per configuration (default 3)", SEC_SWEEP, CMD_SWEEP, OT_INT,
     A(tune_restarts), 1, 1 << 20},
    {"select", "RULE", "success|median-loss|time-to-target (default: success, then median time to target)",
     SEC_SWEEP, CMD_SWEEP, OT_NAME, 0, 0, 0, parse_select},
    {"halving", "ETA", "successive halving of the tuning configurations: keep 1/ETA at each milestone epoch",
     SEC_SWEEP, CMD_SWEEP, OT_NAME, 0, 0, 0, parse_halving},
};
#define N_BASE (int)(sizeof base_rows / sizeof base_rows[0])

/* Hyperparameter rows come from the optimizers' own table (nf_opt_hparam_at). */
#define MAX_ROWS (N_BASE + 64)
static opt_row rows[MAX_ROWS];
static int n_rows;

static void build_rows(void)
{
    if (n_rows) return;
    const int before_train_hp = 0;
    (void)before_train_hp;
    for (int i = 0; i < N_BASE; i++) {
        rows[n_rows++] = base_rows[i];
        if (!strcmp(base_rows[i].name, "threads")) /* hyperparameters after the training rows */
            for (int h = 0; h < nf_opt_hparam_count() && n_rows < MAX_ROWS; h++) {
                const nf_opt_hparam *p = nf_opt_hparam_at(h);
                const int flag = p->type == NF_HP_FLAG;
                rows[n_rows++] = (opt_row){p->option, flag ? NULL : p->type == NF_HP_PAIR ? "A,B" : "X", p->help,
                                           SEC_HP, TS, OT_HP, 0, p->lo, p->hi, NULL,
                                           flag ? 0 : p->type == NF_HP_PAIR ? ';' : ',', 0, AP_HP, MK_NONE, h, NULL};
            }
    }
}

/* Rows refused by sweep with a reason. */
static const char *refusal(const opt_row *r, unsigned cmd)
{
    if (cmd != CMD_SWEEP) return NULL;
    if (!strcmp(r->name, "log")) return why_sweep_log;
    if (!strcmp(r->name, "threads")) return why_sweep_threads;
    if (!strcmp(r->name, "stop-at-target")) return why_sweep_stop;
    if (!strcmp(r->name, "save") || !strcmp(r->name, "init-model")) return r->refused ? r->refused : why_sweep_save;
    return NULL;
}

int opt_is_tunable(const opt_row *r)
{
    if (!r->axis || !(r->cmds & CMD_SWEEP) || !strcmp(r->name, "epochs")) return 0;
    if (r->section != SEC_MODEL && r->section != SEC_TRAIN && r->section != SEC_HP && r->section != SEC_AIDS) return 0;
    if (r->type == OT_HP) {
        const nf_opt_hparam *p = nf_opt_hparam_at(r->hp);
        return p->type == NF_HP_REAL || p->type == NF_HP_INT;
    }
    return r->type == OT_INT || r->type == OT_REAL || r->type == OT_FLOAT;
}

void opt_range_of(const opt_row *r, double *lo, double *hi, int *integer)
{
    if (r->type == OT_HP) {
        const nf_opt_hparam *p = nf_opt_hparam_at(r->hp);
        *lo = p->lo, *hi = p->hi, *integer = p->type == NF_HP_INT;
        return;
    }
    *lo = r->lo, *hi = r->hi, *integer = r->type == OT_INT;
}

const opt_row *opt_find(const char *name)
{
    build_rows();
    for (int i = 0; i < n_rows; i++)
        if (!strcmp(rows[i].name, name)) return &rows[i];
    return NULL;
}

void cli_args_init(cli_args *a)
{
    memset(a, 0, sizeof *a);
    nf_run_defaults(&a->run);
    a->restarts = 20;
    a->budget = 16;
    a->tune_restarts = 3;
    a->jobs = 0;
}

void cli_args_free(cli_args *a)
{
    nf_free(a->taps_owned);
    a->taps_owned = NULL;
}

/* ---- presets ---- */
typedef struct {
    const char *name;
    const char *const *args; /* option names (no dashes), each followed by its value (NULL: flag) */
} preset_def;

/* robust: train twice as wide and prune back to --layers by least squares over the units and
 * their mirror images, revive dead units every 10 epochs, cosine-annealed learning rate from
 * 0.01 (bench/convergence/README.md: abs 2-3-1, teacher-student k-k-1, spectrum 64-97-33, an
 * own-data spectrum and small problems the method was not tuned on). */
static const char *const preset_robust[] = {"grow", "2", "revive-every", "10", "schedule", "cosine", "lr", "0.01",
                                            NULL};
static const preset_def presets[] = {{"robust", preset_robust}};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

static const preset_def *find_preset(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, name)) return &presets[i];
    return NULL;
}

const char *opt_preset_text(const char *name)
{
    static char text[N_PRESETS][256];
    const preset_def *p = find_preset(name);
    if (!p) return NULL;
    char *t = text[p - presets];
    t[0] = '\0';
    for (int i = 0; p->args[i]; i += 2) {
        size_t pos = strlen(t);
        snprintf(t + pos, 256 - pos, "%s--%s %s", i ? " " : "", p->args[i], p->args[i + 1]);
    }
    return t;
}

/* ---- parsing ---- */
static const char *closest(unsigned cmd, const char *name)
{
    static const char *const extra[] = {"help", "version", "quiet", "preset"};
    const char *cands[MAX_ROWS + 4];
    int n = 0;
    for (int i = 0; i < n_rows; i++)
        if (rows[i].cmds & cmd) cands[n++] = rows[i].name;
    for (int i = 0; i < 4; i++) cands[n++] = extra[i];
    return cli_closest(name, cands, n);
}

static int add_given(opt_list *l, const opt_row *r, const char *value, int preset)
{
    opt_given *v = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v) return cli_usage_error("out of memory");
    l->v = v;
    l->v[l->n++] = (opt_given){r, value, preset};
    return 0;
}

static const char *cmd_name(unsigned cmd)
{
    return cmd == CMD_TRAIN ? "train" : cmd == CMD_SWEEP ? "sweep" : cmd == CMD_INSPECT ? "inspect"
         : cmd == CMD_PREDICT ? "predict" : cmd == CMD_DATA ? "data" : "plot";
}

static int unknown_option(unsigned cmd, const char *name)
{
    const opt_row *r = opt_find(name);
    if (r) {
        const char *why = refusal(r, cmd);
        return cli_usage_error("--%s does not apply to nnfit %s%s%s", name, cmd_name(cmd), why ? ": " : "",
                               why ? why : "");
    }
    const char *s = closest(cmd, name);
    if (s) return cli_usage_error("unknown option '--%s'; did you mean --%s?", name, s);
    return cli_usage_error("unknown option '--%s' (see --help)", name);
}

void opt_list_free(opt_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int opt_parse(unsigned cmd, int argc, char **argv, opt_list *out)
{
    build_rows();
    memset(out, 0, sizeof *out);
    const char *preset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h")) { out->help = 1; continue; }
        if (!strcmp(arg, "-q")) { cli_quiet = 1; continue; }
        if (strncmp(arg, "--", 2) || !arg[2]) {
            if (cmd == CMD_INSPECT && !out->arg && strcmp(arg, "--")) { /* inspect MODEL */
                out->arg = arg;
                continue;
            }
            opt_list_free(out);
            return cli_usage_error("unexpected argument '%s' (options start with --; see --help)", arg);
        }
        char name[64];
        const char *eq = strchr(arg + 2, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        if (!strcmp(name, "help") || !strcmp(name, "version") || !strcmp(name, "quiet")) {
            if (eq) { opt_list_free(out); return cli_usage_error("option '--%s' takes no value", name); }
            if (name[0] == 'h') out->help = 1;
            else if (name[0] == 'v') out->version = 1;
            else cli_quiet = 1;
            continue;
        }
        const opt_row *r = opt_find(name);
        const int is_preset = !strcmp(name, "preset") && (cmd & TS);
        if (!is_preset && (!r || !(r->cmds & cmd))) {
            opt_list_free(out);
            return unknown_option(cmd, name);
        }
        const int flag = !is_preset && r->arg == NULL;
        const char *value = NULL;
        if (flag && eq) { opt_list_free(out); return cli_usage_error("option '--%s' takes no value", name); }
        if (!flag) {
            if (eq) value = eq + 1;
            else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-' && argv[i + 1][2]))
                value = argv[++i];
            else { opt_list_free(out); return cli_usage_error("option '--%s' needs a value", name); }
        }
        if (is_preset) {
            if (!find_preset(value)) {
                opt_list_free(out);
                return cli_usage_error("--preset: unknown preset '%s' (known: robust)", value);
            }
            preset = value;
            continue;
        }
        if (add_given(out, r, value, 0)) { opt_list_free(out); return EXIT_USAGE; }
    }
    if (preset) { /* the preset's options go first, and only where no explicit option is given */
        const preset_def *p = find_preset(preset);
        opt_list explicit_opts = *out;
        memset(out, 0, sizeof *out);
        out->help = explicit_opts.help;
        out->version = explicit_opts.version;
        for (int i = 0; p->args[i]; i += 2) {
            const opt_row *r = opt_find(p->args[i]);
            if (!r || opt_get(&explicit_opts, r->name)) continue;
            if (add_given(out, r, p->args[i + 1], 1)) { opt_list_free(&explicit_opts); return EXIT_USAGE; }
        }
        for (int i = 0; i < explicit_opts.n; i++)
            if (add_given(out, explicit_opts.v[i].row, explicit_opts.v[i].value, 0)) {
                opt_list_free(&explicit_opts);
                return EXIT_USAGE;
            }
        opt_list_free(&explicit_opts);
    }
    return 0;
}

const opt_given *opt_get(const opt_list *l, const char *name)
{
    const opt_given *g = NULL;
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].row->name, name)) g = &l->v[i];
    return g;
}

/* ---- applying values ---- */
int opt_is_off(const opt_row *r, const char *text)
{
    if (!r->zero_off || !text) return 0;
    if (!strcmp(text, "none")) return 1;
    char *end;
    double d = strtod(text, &end);
    return end != text && *end == '\0' && d == 0.0;
}

static int apply_hp(cli_args *a, const opt_row *r, const char *text)
{
    const nf_opt_hparam *p = nf_opt_hparam_at(r->hp);
    double va = 0, vb = 0;
    int iv;
    switch (p->type) {
    case NF_HP_REAL:
        if (cli_double(r->name, text, p->lo, p->hi, &va)) return EXIT_USAGE;
        vb = va;
        break;
    case NF_HP_INT:
        if (cli_int(r->name, text, (long)p->lo, (long)p->hi, &iv)) return EXIT_USAGE;
        va = vb = iv;
        break;
    case NF_HP_FLAG: va = vb = p->flag_value; break;
    case NF_HP_PAIR:
        if (cli_pair(r->name, text, p->lo, p->hi, &va, &vb)) return EXIT_USAGE;
        break;
    case NF_HP_CHOICE: {
        int k = 0, found = -1;
        for (const char *c = p->choices; c && *c; k++) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(text) == len && !strncmp(text, c, len)) found = k;
            c = bar ? bar + 1 : c + len;
        }
        if (found < 0) return cli_usage_error("--%s: '%s' is not one of %s", r->name, text, p->choices);
        va = vb = found;
        break;
    }
    }
    if (nf_opt_hparam_set(&a->run.train.opt, r->hp, va, vb)) return cli_usage_error("%s", nf_last_error());
    a->run.hp_set |= 1ull << r->hp;
    return 0;
}

int opt_apply(cli_args *a, const opt_row *r, const char *text)
{
    void *field = (char *)a + r->off;
    double d;
    int rc = 0;
    if (opt_is_off(r, text)) return 0;
    switch (r->type) {
    case OT_FLAG: *(int *)field = (int)r->lo; break;
    case OT_INT: rc = cli_int(r->name, text, (long)r->lo, (long)r->hi, (int *)field) ? EXIT_USAGE : 0; break;
    case OT_U64: rc = cli_u64(r->name, text, (uint64_t *)field) ? EXIT_USAGE : 0; break;
    case OT_REAL: rc = cli_double(r->name, text, r->lo, r->hi, (double *)field) ? EXIT_USAGE : 0; break;
    case OT_FLOAT:
        rc = cli_double(r->name, text, r->lo, r->hi, &d) ? EXIT_USAGE : 0;
        if (!rc) *(float *)field = (float)d;
        break;
    case OT_TEXT: *(const char **)field = text; break;
    case OT_NAME: rc = r->parse(a, r, text); break;
    case OT_HP: rc = apply_hp(a, r, text); break;
    }
    if (rc) return rc;
    switch ((opt_mark)r->mark) {
    case MK_OPT: a->run.opt_set = 1; break;
    case MK_BATCH: a->run.batch_set = 1; break;
    case MK_ACT: a->run.act_set = 1; break;
    case MK_ACT_PARAM: a->run.act_param_set = 1; break;
    case MK_AID: a->run.aids_on = 1; break;
    case MK_NONE: break;
    }
    return 0;
}

int opt_apply_all(cli_args *a, const opt_list *l)
{
    /* options that apply only to some optimizers/activations/losses go last, once those are
     * known; a preset's go only where they apply, explicit ones are checked by cli_resolve */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < l->n; i++) {
            const opt_row *r = l->v[i].row;
            if ((r->applies != AP_ALL) != pass) continue;
            if (pass && l->v[i].preset && !opt_applies_to(r, &a->run)) continue;
            int rc = opt_apply(a, r, l->v[i].value);
            if (rc) return rc;
        }
    return 0;
}

int opt_applies_to(const opt_row *r, const nf_run_spec *spec)
{
    switch ((opt_applies)r->applies) {
    case AP_HP: return nf_opt_reads(spec->train.opt.kind, r->hp);
    case AP_ACT_PARAM:
        return spec->act.kind == NF_ACT_LEAKY_RELU || spec->act.kind == NF_ACT_ELU || nf_act_learnable(spec->act.kind);
    case AP_HUBER: return spec->train.loss.kind == NF_LOSS_HUBER;
    case AP_MINIBATCH: return !nf_opt_is_full_batch(spec->train.opt.kind);
    case AP_ALL: break;
    }
    return 1;
}

int cli_load_taps(cli_args *a)
{
    if (!a->taps || a->taps_owned) return 0;
    nf_status st = nf_task_read_taps(a->taps, &a->taps_owned, &a->run.task.n_taps);
    if (st) return cli_status_error(st);
    a->run.task.taps = a->taps_owned;
    return 0;
}

int cli_resolve(cli_args *a, const opt_list *l, int n_in, int n_out)
{
    int rc = cli_load_taps(a);
    if (rc) return rc;
    const int hp_before = (int)(a->run.hp_set != 0);
    (void)hp_before;
    if (nf_run_resolve(&a->run, n_in, n_out)) return cli_usage_error("%s", nf_last_error());
    for (int i = 0; i < l->n; i++) {
        const opt_row *r = l->v[i].row;
        if (l->v[i].preset) continue;
        if (r->type == OT_HP && (a->run.hp_unread & (1ull << r->hp)) && !strcmp(r->name, "keras"))
            return cli_usage_error("--keras: optimizer %s has no Keras variant", nf_opt_name(a->run.train.opt.kind));
        if (r->type == OT_HP && (a->run.hp_unread & (1ull << r->hp)))
            return cli_usage_error("--%s does not apply to --opt %s (it reads: %s)", r->name,
                                   nf_opt_name(a->run.train.opt.kind), nf_opt_uses(a->run.train.opt.kind));
        if (r->applies == AP_HUBER && !opt_applies_to(r, &a->run))
            return cli_usage_error("--%s applies only to --loss huber", r->name);
    }
    return 0;
}

/* ---- help ---- */
void opt_help(FILE *f, unsigned cmd)
{
    build_rows();
    for (int s = 0; s < SEC_COUNT; s++) {
        int shown = 0;
        for (int i = 0; i < n_rows; i++) {
            const opt_row *r = &rows[i];
            if (r->section != s || !(r->cmds & cmd)) continue;
            if (!shown++) fprintf(f, "%s:\n", section_title[s]);
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
            const char *help = r->help;
            if (!strcmp(r->name, "task")) help = NULL;
            if (help) fprintf(f, "  %-26s %s%s\n", left, help, cmd == CMD_SWEEP && r->axis ? " [axis]" : "");
            if (!strcmp(r->name, "task")) fprintf(f, "  %-26s %s (default abs)\n", left, nf_task_names());
            if (!strcmp(r->name, "act")) fprintf(f, "  %-26s   %s\n", "", nf_act_names());
            if (!strcmp(r->name, "init")) fprintf(f, "  %-26s   %s\n", "", nf_init_names());
            if (!strcmp(r->name, "loss")) fprintf(f, "  %-26s   %s\n", "", nf_loss_names());
            if (!strcmp(r->name, "opt")) fprintf(f, "  %-26s   %s\n", "", nf_opt_names());
        }
        if (s == SEC_AIDS && (cmd & TS))
            fprintf(f, "  %-26s %s\n  %-26s (options you give yourself override the preset's)\n", "--preset robust",
                    opt_preset_text("robust"), "");
    }
    if (cmd == CMD_SWEEP)
        fprintf(f, "\nOptions marked [axis] take a comma-separated list (';' for --layers and pairs): the sweep\n"
                   "runs every combination.  0 (none for --schedule) switches an aid off.\n");
}

/* ---- rerun commands ---- */
void cli_append_option(char *buf, size_t cap, const char *name, const char *value)
{
    size_t pos = strlen(buf);
    if (pos + 1 >= cap) return;
    snprintf(buf + pos, cap - pos, " --%s", name);
    if (!value) return;
    int plain = *value != '\0';
    for (const char *p = value; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_.,/:=+", *p))) plain = 0;
    pos = strlen(buf);
    if (plain) {
        snprintf(buf + pos, cap - pos, " %s", value);
        return;
    }
    snprintf(buf + pos, cap - pos, " '");
    for (const char *p = value; *p; p++) {
        pos = strlen(buf);
        if (*p == '\'') snprintf(buf + pos, cap - pos, "'\\''");
        else snprintf(buf + pos, cap - pos, "%c", *p);
    }
    pos = strlen(buf);
    snprintf(buf + pos, cap - pos, "'");
}

void opt_list_optimizers(FILE *f)
{
    char buf[1024];
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        nf_opt_config c;
        nf_opt_defaults((nf_opt_kind)k, &c);
        nf_opt_describe(&c, buf, sizeof buf);
        fprintf(f, "%-10s %s\n", nf_opt_name((nf_opt_kind)k), buf);
        if (nf_opt_has_keras((nf_opt_kind)k)) {
            nf_opt_keras_defaults(&c);
            nf_opt_describe(&c, buf, sizeof buf);
            fprintf(f, "%-10s %s\n", "  --keras", buf);
        }
    }
}
