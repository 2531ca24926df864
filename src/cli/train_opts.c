/* train_opts.c — parsing `nnfit train` options. */
#include "train_opts.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_TASK = 1000, OPT_N, OPT_FRAME, OPT_TAPS, OPT_FIR_SINGLE, OPT_DFT_COMPLEX, OPT_DFT_FULL,
    OPT_ORTHONORMAL, OPT_DATA_SEED, OPT_LAYERS, OPT_ACT, OPT_ACT_PARAM, OPT_OUT_ACT, OPT_LOSS,
    OPT_DELTA, OPT_OPT, OPT_INIT, OPT_BIAS_INIT, OPT_BATCH, OPT_EPOCHS, OPT_SEED,
    OPT_NO_SHUFFLE, OPT_THREADS, OPT_LOG, OPT_TARGET, OPT_STOP_AT_TARGET, OPT_K,
    OPT_AID_BASE = 1100, OPT_INIT_GAIN, OPT_INIT_BASE, OPT_REVIVE_EVERY, OPT_DUP_COS, OPT_REPEL,
    OPT_REPEL_ANNEAL, OPT_DROPOUT, OPT_DECOUPLED_WD, OPT_CLIP_NORM, OPT_SCHEDULE, OPT_WARMUP,
    OPT_STEP_SIZE, OPT_GAMMA, OPT_T_MAX, OPT_ETA_MIN, OPT_PLATEAU_PATIENCE, OPT_PLATEAU_FACTOR,
    OPT_PLATEAU_THRESHOLD, OPT_PLATEAU_COOLDOWN, OPT_MIN_LR, OPT_EARLY_STOP, OPT_VAL_N,
    OPT_REVIVE_PARALLEL, OPT_REVIVE_EDGE, OPT_GROW, OPT_PRUNE_START, OPT_PRUNE_END, OPT_PRUNE_EVERY,
    OPT_POLISH, OPT_PRUNE_UNITS_ONLY,
    OPT_HP = 1200, /* OPT_HP + i: hyperparameter option i of hp_options */
};

/* Optimizer hyperparameter options: each sets nf_opt_config field(s) and is allowed only when
 * the chosen optimizer reads `param` (nf_opt_uses).  Values are stored as given and merged
 * over the optimizer's defaults in train_opts_finish, so the order of --opt and the
 * hyperparameters on the command line does not matter. */
typedef enum { HP_DOUBLE, HP_INT, HP_FLAG, HP_FLAG_OFF, HP_PAIR, HP_LINE_SEARCH } hp_type;
typedef struct {
    const char *opt, *param;
    hp_type type;
    size_t off, off2;
    double lo, hi;
    const char *help;
} hp_option;

#define F(field) offsetof(nf_opt_config, field)
static const hp_option hp_options[] = {
    {"lr", "lr", HP_DOUBLE, F(lr), 0, 1e-30, 1e6, "learning rate"},
    {"momentum", "momentum", HP_DOUBLE, F(momentum), 0, 0, 1e3, "sgd, rmsprop"},
    {"dampening", "dampening", HP_DOUBLE, F(dampening), 0, -1e3, 1e3, "sgd"},
    {"nesterov", "nesterov", HP_FLAG, F(nesterov), 0, 0, 0, "sgd"},
    {"betas", "betas", HP_PAIR, F(beta1), F(beta2), 0.0, 0.999999999, "B1,B2: adam family, lion"},
    {"eps", "eps", HP_DOUBLE, F(eps), 0, 0.0, 1e3, "denominator term"},
    {"weight-decay", "weight_decay", HP_DOUBLE, F(weight_decay), 0, 0.0, 1e6,
     "L2 added to the gradient (adamw, lion, --keras: decoupled)"},
    {"amsgrad", "amsgrad", HP_FLAG, F(amsgrad), 0, 0, 0, "adam, adamw"},
    {"alpha", "alpha", HP_DOUBLE, F(alpha), 0, -1e3, 1e3, "rmsprop smoothing, asgd power"},
    {"centered", "centered", HP_FLAG, F(centered), 0, 0, 0, "rmsprop"},
    {"rho", "rho", HP_DOUBLE, F(rho), 0, 0.0, 1.0, "adadelta"},
    {"lr-decay", "lr_decay", HP_DOUBLE, F(lr_decay), 0, 0.0, 1e6, "adagrad"},
    {"initial-accumulator-value", "initial_accumulator_value", HP_DOUBLE,
     F(initial_accumulator_value), 0, 0.0, 1e6, "adagrad, ftrl"},
    {"momentum-decay", "momentum_decay", HP_DOUBLE, F(momentum_decay), 0, 0.0, 1e3, "nadam"},
    {"lambd", "lambd", HP_DOUBLE, F(lambd), 0, 0.0, 1e3, "asgd decay term"},
    {"t0", "t0", HP_DOUBLE, F(t0), 0, 0.0, 1e30, "asgd: step where averaging starts"},
    {"etas", "etas", HP_PAIR, F(eta_minus), F(eta_plus), 0.0, 1e3, "MINUS,PLUS: rprop"},
    {"step-sizes", "step_sizes", HP_PAIR, F(step_size_min), F(step_size_max), 0.0, 1e30,
     "MIN,MAX: rprop"},
    {"beta2-decay", "beta2_decay", HP_DOUBLE, F(beta2_decay), 0, -1e3, 0.0, "adafactor"},
    {"eps1", "eps1", HP_DOUBLE, F(eps1), 0, 0.0, 1e3, "adafactor epsilon_1"},
    {"eps2", "eps2", HP_DOUBLE, F(eps2), 0, 0.0, 1e3, "adafactor epsilon_2"},
    {"clip-threshold", "clip_threshold", HP_DOUBLE, F(clip_threshold), 0, 1e-30, 1e30, "adafactor"},
    {"no-relative-step", "relative_step", HP_FLAG_OFF, F(relative_step), 0, 0, 0,
     "adafactor: lr without the 1/sqrt(t) cap"},
    {"lr-power", "lr_power", HP_DOUBLE, F(lr_power), 0, -1e3, 0.0, "ftrl learning_rate_power"},
    {"l1", "l1", HP_DOUBLE, F(l1), 0, 0.0, 1e6, "ftrl"},
    {"l2", "l2", HP_DOUBLE, F(l2), 0, 0.0, 1e6, "ftrl"},
    {"l2-shrinkage", "l2_shrinkage", HP_DOUBLE, F(l2_shrinkage), 0, 0.0, 1e6, "ftrl"},
    {"beta", "beta", HP_DOUBLE, F(beta), 0, 0.0, 1e6, "ftrl"},
    {"history-size", "history_size", HP_INT, F(history_size), 0, 1, 1e6, "lbfgs"},
    {"max-iter", "max_iter", HP_INT, F(max_iter), 0, 1, 1e9, "lbfgs iterations per step"},
    {"max-eval", "max_eval", HP_INT, F(max_eval), 0, 1, 1e9, "lbfgs (default max-iter*5/4)"},
    {"tolerance-grad", "tolerance_grad", HP_DOUBLE, F(tolerance_grad), 0, 0.0, 1e30, "lbfgs"},
    {"tolerance-change", "tolerance_change", HP_DOUBLE, F(tolerance_change), 0, 0.0, 1e30, "lbfgs"},
    {"line-search", "line_search", HP_LINE_SEARCH, F(line_search), 0, 0, 0,
     "strong_wolfe|none: lbfgs"},
    {"mu", "mu", HP_DOUBLE, F(mu), 0, 1e-30, 1e30, "lm initial damping"},
    {"mu-dec", "mu_dec", HP_DOUBLE, F(mu_dec), 0, 1e-30, 1.0, "lm"},
    {"mu-inc", "mu_inc", HP_DOUBLE, F(mu_inc), 0, 1.0, 1e30, "lm"},
    {"mu-max", "mu_max", HP_DOUBLE, F(mu_max), 0, 1e-30, 1e300, "lm"},
    {"min-grad", "min_grad", HP_DOUBLE, F(min_grad), 0, 0.0, 1e30, "lm"},
    {"keras", "keras", HP_FLAG, F(keras), 0, 0, 0, "Keras formulas and defaults"},
};
#undef F
#define N_HP (int)(sizeof hp_options / sizeof hp_options[0])
_Static_assert(sizeof hp_options / sizeof hp_options[0] <= 64, "hp_given has 64 bits");
#define HP_LR 0
#define HP_KERAS (N_HP - 1)

static const struct option train_options[] = {
    {"task", required_argument, 0, OPT_TASK},
    {"n", required_argument, 0, OPT_N},
    {"frame", required_argument, 0, OPT_FRAME},
    {"taps", required_argument, 0, OPT_TAPS},
    {"fir-single", no_argument, 0, OPT_FIR_SINGLE},
    {"dft-complex", no_argument, 0, OPT_DFT_COMPLEX},
    {"dft-full", no_argument, 0, OPT_DFT_FULL},
    {"orthonormal", no_argument, 0, OPT_ORTHONORMAL},
    {"k", required_argument, 0, OPT_K},
    {"data-seed", required_argument, 0, OPT_DATA_SEED},
    {"layers", required_argument, 0, OPT_LAYERS},
    {"act", required_argument, 0, OPT_ACT},
    {"act-param", required_argument, 0, OPT_ACT_PARAM},
    {"out-act", required_argument, 0, OPT_OUT_ACT},
    {"loss", required_argument, 0, OPT_LOSS},
    {"delta", required_argument, 0, OPT_DELTA},
    {"opt", required_argument, 0, OPT_OPT},
    {"init", required_argument, 0, OPT_INIT},
    {"bias-init", required_argument, 0, OPT_BIAS_INIT},
    {"batch", required_argument, 0, OPT_BATCH},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"seed", required_argument, 0, OPT_SEED},
    {"no-shuffle", no_argument, 0, OPT_NO_SHUFFLE},
    {"threads", required_argument, 0, OPT_THREADS},
    {"log", required_argument, 0, OPT_LOG},
    {"target", required_argument, 0, OPT_TARGET},
    {"stop-at-target", no_argument, 0, OPT_STOP_AT_TARGET},
    /* training aids (train_aids.h) */
    {"init-gain", required_argument, 0, OPT_INIT_GAIN},
    {"init-base", required_argument, 0, OPT_INIT_BASE},
    {"revive-every", required_argument, 0, OPT_REVIVE_EVERY},
    {"dup-cos", required_argument, 0, OPT_DUP_COS},
    {"revive-parallel", required_argument, 0, OPT_REVIVE_PARALLEL},
    {"revive-edge", required_argument, 0, OPT_REVIVE_EDGE},
    {"grow", required_argument, 0, OPT_GROW},
    {"prune-start", required_argument, 0, OPT_PRUNE_START},
    {"prune-end", required_argument, 0, OPT_PRUNE_END},
    {"prune-every", required_argument, 0, OPT_PRUNE_EVERY},
    {"polish", no_argument, 0, OPT_POLISH},
    {"prune-units-only", no_argument, 0, OPT_PRUNE_UNITS_ONLY},
    {"repel", required_argument, 0, OPT_REPEL},
    {"repel-anneal", no_argument, 0, OPT_REPEL_ANNEAL},
    {"dropout", required_argument, 0, OPT_DROPOUT},
    {"decoupled-weight-decay", required_argument, 0, OPT_DECOUPLED_WD},
    {"clip-norm", required_argument, 0, OPT_CLIP_NORM},
    {"schedule", required_argument, 0, OPT_SCHEDULE},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {"step-size", required_argument, 0, OPT_STEP_SIZE},
    {"gamma", required_argument, 0, OPT_GAMMA},
    {"t-max", required_argument, 0, OPT_T_MAX},
    {"eta-min", required_argument, 0, OPT_ETA_MIN},
    {"plateau-patience", required_argument, 0, OPT_PLATEAU_PATIENCE},
    {"plateau-factor", required_argument, 0, OPT_PLATEAU_FACTOR},
    {"plateau-threshold", required_argument, 0, OPT_PLATEAU_THRESHOLD},
    {"plateau-cooldown", required_argument, 0, OPT_PLATEAU_COOLDOWN},
    {"min-lr", required_argument, 0, OPT_MIN_LR},
    {"early-stop", required_argument, 0, OPT_EARLY_STOP},
    {"val-n", required_argument, 0, OPT_VAL_N},
};

#define N_TRAIN_OPTIONS (int)(sizeof train_options / sizeof train_options[0])

/* bits of o->given for options whose validity depends on the optimizer */
enum { G_LR = 64, G_EPOCHS = 128, G_BATCH = 256, G_ACT_PARAM = 512, G_DELTA = 1024,
       G_OPT = 2048, G_N = 4096 };

int train_opts_table(struct option *table, int count)
{
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) table[count++] = train_options[i];
    for (int i = 0; i < N_HP; i++) {
        int flag = hp_options[i].type == HP_FLAG || hp_options[i].type == HP_FLAG_OFF;
        table[count++] = (struct option){hp_options[i].opt, flag ? no_argument : required_argument,
                                         0, OPT_HP + i};
    }
    return count;
}

int train_opts_table_size(void) { return N_TRAIN_OPTIONS + N_HP; }

/* ---- presets (README: Making three ReLUs converge) ---- */
typedef struct {
    const char *name;
    const char *const *args; /* options ("--init"), each followed by its value */
} preset_def;

/* robust: train twice as wide and prune back to --layers by least squares over the units and
 * their mirror images, revive dead units every 10 epochs, cosine-annealed learning rate from
 * 0.01 (bench/convergence/README.md: abs 2-3-1, teacher-student k-k-1, spectrum 64-97-33, an
 * own-data spectrum and small problems the method was not tuned on). */
static const char *const preset_robust[] = {"--grow", "2", "--revive-every", "10", "--schedule", "cosine",
                                            "--lr", "0.01", NULL};

static const preset_def presets[] = {{"robust", preset_robust}};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

static const preset_def *find_preset(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, name)) return &presets[i];
    return NULL;
}

const char *train_opts_preset_text(const char *name)
{
    static char text[N_PRESETS][256];
    const preset_def *p = find_preset(name);
    if (!p) return NULL;
    char *t = text[p - presets];
    t[0] = '\0';
    for (int i = 0; p->args[i]; i += 2) {
        size_t pos = strlen(t);
        snprintf(t + pos, 256 - pos, "%s%s %s", i ? " " : "", p->args[i], p->args[i + 1]);
    }
    return t;
}

/* Whether argv gives option `opt` ("--name", as --name or --name=...). */
static int argv_gives(int argc, char **argv, const char *opt)
{
    size_t len = strlen(opt);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strncmp(argv[i], opt, len) && (argv[i][len] == '\0' || argv[i][len] == '=')) return 1;
    }
    return 0;
}

int train_opts_expand_preset(int argc, char **argv, int *out_argc, char ***out_argv)
{
    *out_argv = NULL;
    *out_argc = argc;
    const preset_def *p = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        const char *name = NULL;
        if (!strcmp(argv[i], "--preset")) {
            if (i + 1 >= argc) return cli_usage_error("option '--preset' needs a value");
            name = argv[++i];
        } else if (!strncmp(argv[i], "--preset=", 9)) {
            name = argv[i] + 9;
        } else {
            continue;
        }
        if (!(p = find_preset(name))) return cli_usage_error("--preset: unknown preset '%s' (known: robust)", name);
    }
    if (!p) return 0;
    int n_args = 0;
    while (p->args[n_args]) n_args++;
    char **v = malloc((size_t)(argc + n_args + 1) * sizeof *v);
    if (!v) return cli_usage_error("out of memory");
    int n = 0;
    v[n++] = argv[0];
    for (int i = 0; i < n_args; i += 2)
        if (!argv_gives(argc, argv, p->args[i])) {
            v[n++] = (char *)p->args[i];
            v[n++] = (char *)p->args[i + 1];
        }
    int rest = 0;
    for (int i = 1; i < argc; i++) {
        if (!rest && !strcmp(argv[i], "--")) rest = 1;
        if (!rest && !strcmp(argv[i], "--preset")) { i++; continue; }
        if (!rest && !strncmp(argv[i], "--preset=", 9)) continue;
        v[n++] = argv[i];
    }
    v[n] = NULL;
    *out_argc = n;
    *out_argv = v;
    return 0;
}

static void *field(nf_opt_config *c, size_t off) { return (char *)c + off; }

void train_opts_list_optimizers(FILE *f)
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

/* Parses a hyperparameter option into o->train.opt (merged over defaults later). */
static int handle_hp(train_opts *o, int i, const char *arg)
{
    const hp_option *h = &hp_options[i];
    nf_opt_config *c = &o->train.opt;
    double d, d2;
    switch (h->type) {
    case HP_DOUBLE:
        if (cli_double(h->opt, arg, h->lo, h->hi, &d)) return 2;
        *(double *)field(c, h->off) = d;
        break;
    case HP_INT: {
        int v;
        if (cli_int(h->opt, arg, (long)h->lo, (long)h->hi, &v)) return 2;
        *(int *)field(c, h->off) = v;
        break;
    }
    case HP_FLAG: *(int *)field(c, h->off) = 1; break;
    case HP_FLAG_OFF: *(int *)field(c, h->off) = 0; break;
    case HP_PAIR:
        if (cli_pair(h->opt, arg, h->lo, h->hi, &d, &d2)) return 2;
        *(double *)field(c, h->off) = d;
        *(double *)field(c, h->off2) = d2;
        break;
    case HP_LINE_SEARCH:
        if (!strcmp(arg, "strong_wolfe")) c->line_search = 1;
        else if (!strcmp(arg, "none")) c->line_search = 0;
        else return cli_usage_error("--line-search: '%s' is not strong_wolfe or none", arg), 2;
        break;
    }
    o->hp_given |= 1ull << i;
    if (i == HP_LR) o->given |= TO_GIVEN_LR;
    return 0;
}

unsigned long long train_opts_hp_bit(const char *opt)
{
    for (int i = 0; i < N_HP; i++)
        if (!strcmp(hp_options[i].opt, opt)) return 1ull << i;
    return 0;
}

int train_opts_set_hp(train_opts *o, const char *opt, const char *value)
{
    for (int i = 0; i < N_HP; i++)
        if (!strcmp(hp_options[i].opt, opt)) return handle_hp(o, i, value);
    return cli_usage_error("internal: no optimizer option --%s", opt), 2;
}

/* Defaults of the chosen optimizer (Keras' with --keras), overridden by the options given. */
static int merge_hp(train_opts *o)
{
    nf_opt_config *oc = &o->train.opt, def;
    if (o->given & TO_GIVEN_LR) o->hp_given |= 1ull << HP_LR; /* set by task defaults */
    nf_opt_defaults(oc->kind, &def);
    if (o->hp_given & (1ull << HP_KERAS) && nf_opt_keras_defaults(&def))
        return cli_usage_error("--keras: %s", nf_last_error());
    const char *uses = nf_opt_uses(oc->kind);
    for (int i = 0; i < N_HP; i++) {
        if (!(o->hp_given & (1ull << i))) continue;
        const hp_option *h = &hp_options[i];
        if (!nf_opt_uses_param(oc->kind, h->param))
            return cli_usage_error("--%s does not apply to --opt %s (it uses: %s)", h->opt,
                                   nf_opt_name(oc->kind), uses);
        size_t sz = h->type == HP_DOUBLE || h->type == HP_PAIR ? sizeof(double) : sizeof(int);
        memcpy(field(&def, h->off), field(oc, h->off), sz);
        if (h->type == HP_PAIR) memcpy(field(&def, h->off2), field(oc, h->off2), sz);
    }
    *oc = def;
    return 0;
}

void train_opts_init(train_opts *o)
{
    memset(o, 0, sizeof *o);
    nf_task_defaults(NF_TASK_ABS, &o->task);
    o->data_seed = 1;
    o->act.kind = NF_ACT_RELU;
    o->out_act.kind = NF_ACT_LINEAR;
    o->init.kind = NF_INIT_GLOROT_UNIFORM;
    o->init_opts.gain = 1.0f;
    o->init_opts.base = NF_INIT_GLOROT_UNIFORM;
    nf_aids_defaults(&o->aids);
    nf_train_defaults(&o->train);
}

void train_opts_free(train_opts *o)
{
    nf_free(o->taps_owned);
    o->taps_owned = NULL;
}

static const char *hp_help(void)
{
    static char buf[4096];
    size_t pos = 0;
    for (int i = 0; i < N_HP && pos < sizeof buf; i++) {
        const hp_option *h = &hp_options[i];
        char left[64];
        int flag = h->type == HP_FLAG || h->type == HP_FLAG_OFF;
        snprintf(left, sizeof left, "--%s%s", h->opt, flag ? "" : h->type == HP_PAIR ? " A,B" : " X");
        int w = snprintf(buf + pos, sizeof buf - pos, "    %-30s %s\n", left, h->help);
        if (w < 0) break;
        pos += (size_t)w;
    }
    return buf;
}

void train_opts_help(FILE *f)
{
    fprintf(f,
            "data:\n"
            "  --task NAME         built-in task: %s (default abs)\n"
            "  --n N               samples to generate (default 4096; teacher 8192)\n"
            "  --k K               teacher: x ~ N(0, I_K), y = sum relu(x_i) (default 10)\n"
            "  --frame N           fir/dft/spectrum frame length (default 64)\n"
            "  --taps FILE         fir taps, one per line (default: 31-tap low-pass)\n"
            "  --fir-single        fir as T inputs -> 1 output (weights = taps)\n"
            "  --dft-complex       dft of complex input (2N -> 2N)\n"
            "  --dft-full          dft of real input to all N bins (N -> 2N)\n"
            "  --orthonormal       dft/spectrum scaled by 1/sqrt(N)\n"
            "  --data-seed S       seed of the generated data (default 1)\n"
            "model:\n"
            "  --layers 2,3,1      sizes including input and output (default from the task)\n"
            "  --act NAME          hidden activation: %s (default relu)\n"
            "  --act-param X       leaky_relu slope (0.01) or elu alpha (1.0)\n"
            "  --out-act NAME      output activation (default linear)\n"
            "  --init NAME         %s (default glorot_uniform)\n"
            "  --bias-init X       constant bias (default: zeros; torch_default's own rule)\n"
            "training:\n"
            "  --loss NAME         %s (default mse); --delta X for huber\n"
            "  --opt NAME          %s (default adam)\n"
            "  --list-optimizers   every optimizer with its hyperparameters and defaults\n"
            "  optimizer hyperparameters (PyTorch names; each only where the optimizer uses it):\n"
            "%s"
            "  --batch N           rows per step, 0 = full batch (default 32)\n"
            "  --epochs N          (default 100)\n"
            "  --seed S            seed of initialisation and shuffling (default 0)\n"
            "  --no-shuffle        keep row order\n"
            "  --target LOSS       report the first epoch whose loss <= LOSS\n"
            "  --stop-at-target    stop there\n"
            "  --threads N         threads (default: OpenBLAS's own); batches of at least\n"
            "                      256·N rows are split over them, smaller ones (and lm)\n"
            "                      use N BLAS threads\n"
            "  --log FILE.csv      epoch, loss, seconds per epoch\n"
            "initialisation and training aids (README: Making three ReLUs converge):\n"
            "  --preset robust     %s\n"
            "                      (options you give yourself override the preset's)\n"
            "  --init-gain X       orthogonal/data_kink weight scale (default 1)\n"
            "  --init-base NAME    data_kink: initialiser of the later layers (glorot_uniform)\n"
            "  --revive-every K    every K epochs re-initialise dead/duplicate hidden units\n"
            "  --dup-cos X         duplicate if cos of normalised [w,b] > X (default 0.999)\n"
            "  --revive-parallel X also revive units whose w is parallel (|cos| > X) to another's\n"
            "  --revive-edge F     also revive units active on <= F or >= 1-F of the samples\n"
            "  --grow X            train X times as many hidden units, prune back to --layers\n"
            "                      (least-squares pruning of the least useful units)\n"
            "  --prune-start F --prune-end F  pruning between these fractions of the epochs\n"
            "                      (default 0.3, 0.6)\n"
            "  --prune-every N     epochs between pruning rounds (default 5)\n"
            "  --prune-units-only  candidates are the units only, not also their mirror images\n"
            "  --polish            refit the output layer by least squares after training (mse)\n"
            "  --repel X           penalty X * sum cos^2 between hidden units' weight vectors\n"
            "  --repel-anneal      --repel falls linearly to 0 by the last epoch\n"
            "  --dropout P         inverted dropout on hidden layers (training only)\n"
            "  --decoupled-weight-decay X  p -= lr*X*p before each step (AdamW style)\n"
            "  --clip-norm X       clip the global gradient norm to X\n"
            "  --schedule NAME     none|step|exp|cosine|plateau (epoch-wise, as PyTorch)\n"
            "  --warmup N          linear warm-up over the first N epochs\n"
            "  --step-size N --gamma X        step (30, 0.1) and exp (gamma) schedules\n"
            "  --t-max N --eta-min X          cosine (default t-max: --epochs, eta-min 0)\n"
            "  --plateau-patience N --plateau-factor X --plateau-threshold X --plateau-cooldown N\n"
            "  --min-lr X          plateau (torch defaults 10, 0.1, 1e-4 rel, 0, 0)\n"
            "  --early-stop N      stop after N epochs without a better validation loss and\n"
            "                      restore the best weights (needs --val/--val-split/--val-n)\n"
            "  --val-n N           built-in task: N validation rows (data seed stream 1)\n",
            nf_task_names(), nf_act_names(), nf_init_names(), nf_loss_names(), nf_opt_names(),
            hp_help(), train_opts_preset_text("robust"));
}

int train_opts_handle(train_opts *o, int c, const char *arg)
{
    double d;
    int i;
    nf_status st;
    switch (c) {
    case OPT_TASK: {
        nf_task_kind k;
        if ((st = nf_task_parse(arg, &k))) return cli_status_error(st), 2;
        int frame = o->task.frame, n = o->task.n_samples, tk = o->task.k;
        nf_task_defaults(k, &o->task);
        o->task.frame = frame;
        o->task.k = tk;
        if (o->given & G_N) o->task.n_samples = n; /* else the task's own default */
        o->have_task = 1;
        return 0;
    }
    case OPT_N:
        o->given |= G_N;
        return cli_int("n", arg, 1, 1 << 26, &o->task.n_samples) ? 2 : 0;
    case OPT_K: return cli_int("k", arg, 1, 4096, &o->task.k) ? 2 : 0;
    case OPT_FRAME: return cli_int("frame", arg, 1, 65536, &o->task.frame) ? 2 : 0;
    case OPT_TAPS: o->taps_path = arg; return 0;
    case OPT_FIR_SINGLE: o->task.fir_single = 1; return 0;
    case OPT_DFT_COMPLEX: o->task.dft_complex = 1; return 0;
    case OPT_DFT_FULL: o->task.dft_full = 1; return 0;
    case OPT_ORTHONORMAL: o->task.orthonormal = 1; return 0;
    case OPT_DATA_SEED: return cli_u64("data-seed", arg, &o->data_seed) ? 2 : 0;
    case OPT_LAYERS:
        if ((st = nf_parse_sizes(arg, o->sizes, NF_MAX_LAYERS + 1, &o->n_sizes)))
            return cli_usage_error("--layers: %s", nf_last_error()), 2;
        return 0;
    case OPT_ACT:
        if ((st = nf_act_parse(arg, &o->act))) return cli_usage_error("--act: %s", nf_last_error()), 2;
        o->have_act = 1;
        return 0;
    case OPT_ACT_PARAM:
        if (cli_double("act-param", arg, -1e6, 1e6, &d)) return 2;
        o->given |= G_ACT_PARAM;
        o->act.param = (float)d;
        return 0;
    case OPT_OUT_ACT:
        if ((st = nf_act_parse(arg, &o->out_act)))
            return cli_usage_error("--out-act: %s", nf_last_error()), 2;
        return 0;
    case OPT_LOSS:
        if ((st = nf_loss_parse(arg, &o->train.loss))) return cli_usage_error("--loss: %s", nf_last_error()), 2;
        return 0;
    case OPT_DELTA:
        if (cli_double("delta", arg, 1e-30, 1e30, &d)) return 2;
        o->train.loss.delta = (float)d;
        o->given |= G_DELTA;
        return 0;
    case OPT_OPT: {
        nf_opt_kind k;
        if ((st = nf_opt_parse(arg, &k))) return cli_usage_error("--opt: %s", nf_last_error()), 2;
        o->train.opt.kind = k;
        o->given |= G_OPT;
        return 0;
    }
    case OPT_INIT:
        if ((st = nf_init_parse(arg, &o->init.kind))) return cli_usage_error("--init: %s", nf_last_error()), 2;
        return 0;
    case OPT_BIAS_INIT:
        if (cli_double("bias-init", arg, -1e6, 1e6, &d)) return 2;
        o->init.bias_mode = NF_BIAS_CONST;
        o->init.bias_value = (float)d;
        return 0;
    case OPT_BATCH:
        if (cli_int("batch", arg, 0, 1 << 26, &o->train.batch)) return 2;
        o->given |= G_BATCH;
        return 0;
    case OPT_EPOCHS:
        if (cli_int("epochs", arg, 1, 1 << 30, &o->train.epochs)) return 2;
        o->given |= G_EPOCHS;
        return 0;
    case OPT_SEED: return cli_u64("seed", arg, &o->train.seed) ? 2 : 0;
    case OPT_NO_SHUFFLE: o->train.shuffle = 0; return 0;
    case OPT_THREADS: return cli_int("threads", arg, 1, 256, &o->threads) ? 2 : 0;
    case OPT_LOG: o->log_path = arg; return 0;
    case OPT_TARGET:
        if (cli_double("target", arg, 0.0, 1e30, &d)) return 2;
        o->train.target_loss = d;
        return 0;
    case OPT_STOP_AT_TARGET: o->train.stop_at_target = 1; return 0;
    case OPT_INIT_GAIN:
        if (cli_double("init-gain", arg, 1e-6, 1e6, &d)) return 2;
        o->init_opts.gain = (float)d;
        return 0;
    case OPT_INIT_BASE:
        if (nf_init_parse(arg, &o->init_opts.base) || o->init_opts.base == NF_INIT_DATA_KINK)
            return cli_usage_error("--init-base: '%s' is not an initialiser other than data_kink", arg), 2;
        return 0;
    case OPT_VAL_N: return cli_int("val-n", arg, 1, 1 << 26, &o->val_n) ? 2 : 0;
    default:
        if (c > OPT_AID_BASE && c < OPT_HP) {
            o->have_aids = 1;
            nf_aids_config *a = &o->aids;
            nf_sched_config *s = &a->sched;
            switch (c) {
            case OPT_REVIVE_EVERY: return cli_int("revive-every", arg, 1, 1 << 30, &a->revive_every) ? 2 : 0;
            case OPT_DUP_COS: return cli_double("dup-cos", arg, 0.0, 1.0, &a->dup_cos) ? 2 : 0;
            case OPT_REVIVE_PARALLEL:
                return cli_double("revive-parallel", arg, 0.0, 1.0, &a->revive_parallel) ? 2 : 0;
            case OPT_REVIVE_EDGE: return cli_double("revive-edge", arg, 0.0, 0.49, &a->revive_edge) ? 2 : 0;
            case OPT_GROW: return cli_double("grow", arg, 1.0, 64.0, &a->grow) ? 2 : 0;
            case OPT_PRUNE_START: return cli_double("prune-start", arg, 0.0, 1.0, &a->prune_start) ? 2 : 0;
            case OPT_PRUNE_END: return cli_double("prune-end", arg, 0.0, 1.0, &a->prune_end) ? 2 : 0;
            case OPT_PRUNE_EVERY: return cli_int("prune-every", arg, 1, 1 << 30, &a->prune_every) ? 2 : 0;
            case OPT_POLISH: a->polish = 1; return 0;
            case OPT_PRUNE_UNITS_ONLY: a->prune_units_only = 1; return 0;
            case OPT_REPEL: return cli_double("repel", arg, 0.0, 1e6, &a->repel) ? 2 : 0;
            case OPT_REPEL_ANNEAL: a->repel_anneal = 1; return 0;
            case OPT_DROPOUT:
                if (cli_double("dropout", arg, 0.0, 0.99, &d)) return 2;
                a->dropout = (float)d;
                return 0;
            case OPT_DECOUPLED_WD: return cli_double("decoupled-weight-decay", arg, 0.0, 1e6, &a->decoupled_wd) ? 2 : 0;
            case OPT_CLIP_NORM: return cli_double("clip-norm", arg, 1e-30, 1e30, &a->clip_norm) ? 2 : 0;
            case OPT_SCHEDULE:
                if (nf_sched_parse(arg, &s->kind)) return cli_usage_error("--schedule: %s", nf_last_error()), 2;
                return 0;
            case OPT_WARMUP: return cli_int("warmup", arg, 0, 1 << 30, &s->warmup) ? 2 : 0;
            case OPT_STEP_SIZE: return cli_int("step-size", arg, 1, 1 << 30, &s->step_size) ? 2 : 0;
            case OPT_GAMMA: return cli_double("gamma", arg, 1e-30, 1.0, &s->gamma) ? 2 : 0;
            case OPT_T_MAX: return cli_int("t-max", arg, 1, 1 << 30, &s->t_max) ? 2 : 0;
            case OPT_ETA_MIN: return cli_double("eta-min", arg, 0.0, 1e6, &s->eta_min) ? 2 : 0;
            case OPT_PLATEAU_PATIENCE: return cli_int("plateau-patience", arg, 0, 1 << 30, &s->patience) ? 2 : 0;
            case OPT_PLATEAU_FACTOR: return cli_double("plateau-factor", arg, 1e-9, 1.0 - 1e-9, &s->factor) ? 2 : 0;
            case OPT_PLATEAU_THRESHOLD: return cli_double("plateau-threshold", arg, 0.0, 1.0, &s->threshold) ? 2 : 0;
            case OPT_PLATEAU_COOLDOWN: return cli_int("plateau-cooldown", arg, 0, 1 << 30, &s->cooldown) ? 2 : 0;
            case OPT_MIN_LR: return cli_double("min-lr", arg, 0.0, 1e6, &s->min_lr) ? 2 : 0;
            case OPT_EARLY_STOP: return cli_int("early-stop", arg, 1, 1 << 30, &a->early_stop) ? 2 : 0;
            default: break;
            }
        }
        (void)i;
        if (c >= OPT_HP && c < OPT_HP + N_HP) return handle_hp(o, c - OPT_HP, arg);
        return 1;
    }
}

int train_opts_finish(train_opts *o)
{
    nf_opt_config *oc = &o->train.opt;
    int rc = merge_hp(o);
    if (rc) return rc;
    if (nf_opt_validate(oc)) return cli_usage_error("%s", nf_last_error());
    if (oc->kind == NF_OPT_LM && o->train.loss.kind != NF_LOSS_MSE)
        return cli_usage_error("--opt lm minimises squared errors: it needs --loss mse, not %s",
                               nf_loss_name(o->train.loss.kind));
    if ((o->given & G_DELTA) && o->train.loss.kind != NF_LOSS_HUBER)
        return cli_usage_error("--delta applies only to --loss huber");
    if (o->given & G_ACT_PARAM) {
        if (o->act.kind != NF_ACT_LEAKY_RELU && o->act.kind != NF_ACT_ELU)
            return cli_usage_error("--act-param applies only to leaky_relu (slope) and elu (alpha)");
        if (o->act.kind == NF_ACT_ELU && !(o->act.param > 0.0f))
            return cli_usage_error("--act-param: elu alpha must be > 0");
    }
    if (o->taps_path) {
        nf_status st = nf_task_read_taps(o->taps_path, &o->taps_owned, &o->task.n_taps);
        if (st) return cli_status_error(st);
        o->task.taps = o->taps_owned;
    }
    o->task.seed = o->data_seed;
    if (nf_task_validate(&o->task)) return cli_status_error(NF_EINVAL);
    if (o->have_aids) {
        if (nf_opt_is_full_batch(oc->kind))
            return cli_usage_error("training aids (--schedule, --dropout, --revive-every, ...) need a "
                                   "mini-batch optimizer, not --opt %s", nf_opt_name(oc->kind));
        o->aids.revive_init = o->init;
        o->aids.revive_opts = o->init_opts;
        if (nf_aids_validate(&o->aids)) return cli_usage_error("%s", nf_last_error());
        o->train.aids = &o->aids;
    }
    return 0;
}
