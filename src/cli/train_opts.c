/* train_opts.c — parsing `nnfit train` options. */
#include "train_opts.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_TASK = 1000, OPT_N, OPT_FRAME, OPT_TAPS, OPT_FIR_SINGLE, OPT_DFT_COMPLEX, OPT_DFT_FULL,
    OPT_ORTHONORMAL, OPT_DATA_SEED, OPT_LAYERS, OPT_ACT, OPT_ACT_PARAM, OPT_OUT_ACT, OPT_LOSS,
    OPT_DELTA, OPT_OPT, OPT_LR, OPT_MOMENTUM, OPT_DAMPENING, OPT_NESTEROV, OPT_BETAS, OPT_EPS,
    OPT_WEIGHT_DECAY, OPT_AMSGRAD, OPT_INIT, OPT_BIAS_INIT, OPT_BATCH, OPT_EPOCHS, OPT_SEED,
    OPT_NO_SHUFFLE, OPT_THREADS, OPT_LOG, OPT_TARGET, OPT_STOP_AT_TARGET,
};

static const struct option train_options[] = {
    {"task", required_argument, 0, OPT_TASK},
    {"n", required_argument, 0, OPT_N},
    {"frame", required_argument, 0, OPT_FRAME},
    {"taps", required_argument, 0, OPT_TAPS},
    {"fir-single", no_argument, 0, OPT_FIR_SINGLE},
    {"dft-complex", no_argument, 0, OPT_DFT_COMPLEX},
    {"dft-full", no_argument, 0, OPT_DFT_FULL},
    {"orthonormal", no_argument, 0, OPT_ORTHONORMAL},
    {"data-seed", required_argument, 0, OPT_DATA_SEED},
    {"layers", required_argument, 0, OPT_LAYERS},
    {"act", required_argument, 0, OPT_ACT},
    {"act-param", required_argument, 0, OPT_ACT_PARAM},
    {"out-act", required_argument, 0, OPT_OUT_ACT},
    {"loss", required_argument, 0, OPT_LOSS},
    {"delta", required_argument, 0, OPT_DELTA},
    {"opt", required_argument, 0, OPT_OPT},
    {"lr", required_argument, 0, OPT_LR},
    {"momentum", required_argument, 0, OPT_MOMENTUM},
    {"dampening", required_argument, 0, OPT_DAMPENING},
    {"nesterov", no_argument, 0, OPT_NESTEROV},
    {"betas", required_argument, 0, OPT_BETAS},
    {"eps", required_argument, 0, OPT_EPS},
    {"weight-decay", required_argument, 0, OPT_WEIGHT_DECAY},
    {"amsgrad", no_argument, 0, OPT_AMSGRAD},
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
};

#define N_TRAIN_OPTIONS (int)(sizeof train_options / sizeof train_options[0])

/* bits of o->given for options whose validity depends on the optimizer */
enum { G_MOMENTUM = 1, G_DAMPENING = 2, G_NESTEROV = 4, G_BETAS = 8, G_EPS = 16, G_AMSGRAD = 32,
       G_LR = 64, G_EPOCHS = 128, G_BATCH = 256, G_ACT_PARAM = 512, G_DELTA = 1024,
       G_OPT = 2048 };

int train_opts_table(struct option *table, int count)
{
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) table[count++] = train_options[i];
    return count;
}

void train_opts_init(train_opts *o)
{
    memset(o, 0, sizeof *o);
    nf_task_defaults(NF_TASK_ABS, &o->task);
    o->data_seed = 1;
    o->act.kind = NF_ACT_RELU;
    o->out_act.kind = NF_ACT_LINEAR;
    o->init.kind = NF_INIT_GLOROT_UNIFORM;
    nf_train_defaults(&o->train);
}

void train_opts_free(train_opts *o)
{
    nf_free(o->taps_owned);
    o->taps_owned = NULL;
}

void train_opts_help(FILE *f)
{
    fprintf(f,
            "data:\n"
            "  --task NAME         built-in task: %s (default abs)\n"
            "  --n N               samples to generate (default 4096)\n"
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
            "  --lr X              learning rate (default: adam 1e-3, sgd 0.01)\n"
            "  --momentum X --dampening X --nesterov       sgd\n"
            "  --betas B1,B2 --eps X --amsgrad             adam\n"
            "  --weight-decay X    L2 penalty added to the gradient (PyTorch style)\n"
            "  --batch N           rows per step, 0 = full batch (default 32)\n"
            "  --epochs N          (default 100)\n"
            "  --seed S            seed of initialisation and shuffling (default 0)\n"
            "  --no-shuffle        keep row order\n"
            "  --target LOSS       report the first epoch whose loss <= LOSS\n"
            "  --stop-at-target    stop there\n"
            "  --threads N         BLAS threads (default: OpenBLAS's)\n"
            "  --log FILE.csv      epoch, loss, seconds per epoch\n",
            nf_task_names(), nf_act_names(), nf_init_names(), nf_loss_names(), nf_opt_names());
}

int train_opts_handle(train_opts *o, int c, const char *arg)
{
    double d, d2;
    int i;
    nf_status st;
    switch (c) {
    case OPT_TASK: {
        nf_task_kind k;
        if ((st = nf_task_parse(arg, &k))) return cli_status_error(st), 2;
        int frame = o->task.frame, n = o->task.n_samples;
        nf_task_defaults(k, &o->task);
        o->task.frame = frame;
        o->task.n_samples = n;
        o->have_task = 1;
        return 0;
    }
    case OPT_N: return cli_int("n", arg, 1, 1 << 26, &o->task.n_samples) ? 2 : 0;
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
    case OPT_LR:
        if (cli_double("lr", arg, 1e-30, 1e6, &o->train.opt.lr)) return 2;
        o->given |= G_LR;
        return 0;
    case OPT_MOMENTUM:
        if (cli_double("momentum", arg, 0, 1e3, &o->train.opt.momentum)) return 2;
        o->given |= G_MOMENTUM;
        return 0;
    case OPT_DAMPENING:
        if (cli_double("dampening", arg, -1e3, 1e3, &o->train.opt.dampening)) return 2;
        o->given |= G_DAMPENING;
        return 0;
    case OPT_NESTEROV: o->train.opt.nesterov = 1; o->given |= G_NESTEROV; return 0;
    case OPT_BETAS:
        if (cli_pair("betas", arg, 0.0, 0.999999999, &d, &d2)) return 2;
        o->train.opt.beta1 = d;
        o->train.opt.beta2 = d2;
        o->given |= G_BETAS;
        return 0;
    case OPT_EPS:
        if (cli_double("eps", arg, 0.0, 1e3, &o->train.opt.eps)) return 2;
        o->given |= G_EPS;
        return 0;
    case OPT_WEIGHT_DECAY: return cli_double("weight-decay", arg, 0.0, 1e6, &o->train.opt.weight_decay) ? 2 : 0;
    case OPT_AMSGRAD: o->train.opt.amsgrad = 1; o->given |= G_AMSGRAD; return 0;
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
    default: (void)i; return 1;
    }
}

int train_opts_finish(train_opts *o)
{
    nf_opt_config *oc = &o->train.opt;
    /* optimizer defaults under the options the user gave */
    nf_opt_config def;
    nf_opt_defaults(oc->kind, &def);
    if (!(o->given & G_LR)) oc->lr = def.lr;
    if (!(o->given & G_BETAS)) { oc->beta1 = def.beta1; oc->beta2 = def.beta2; }
    if (!(o->given & G_EPS)) oc->eps = def.eps;
    const char *uses = nf_opt_uses(oc->kind);
    static const struct { unsigned bit; const char *opt, *name; } deps[] = {
        {G_MOMENTUM, "momentum", "momentum"}, {G_DAMPENING, "dampening", "dampening"},
        {G_NESTEROV, "nesterov", "nesterov"}, {G_BETAS, "betas", "betas"},
        {G_EPS, "eps", "eps"},                {G_AMSGRAD, "amsgrad", "amsgrad"}};
    for (size_t i = 0; i < sizeof deps / sizeof deps[0]; i++)
        if ((o->given & deps[i].bit) && !strstr(uses, deps[i].name))
            return cli_usage_error("--%s does not apply to --opt %s (it uses: %s)", deps[i].opt,
                                   nf_opt_name(oc->kind), uses);
    if (nf_opt_validate(oc)) return cli_usage_error("%s", nf_last_error());
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
    return 0;
}
