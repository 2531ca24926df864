/* bench_train.c — training throughput of fixed workloads, against the sgemm bound.
 *
 * Every step is a full training step over the whole batch: forward, loss (MSE), backward and
 * one optimizer update (nf_model_grad + nf_optim_step).  For each workload the program reports
 * the median steps/s of repeated timed blocks after a warm-up, and, in the same process and at
 * the same thread count, the time of the bare cblas_sgemm calls one step makes (the library's
 * list of them, nf_model_step_gemms): efficiency = sgemm time / step time.  The step time is split into
 * forward GEMM, backward GEMM, the optimizer update (each timed on its own) and the rest
 * (bias/activation/loss/column-sum passes and call overhead).
 *
 * Threads: with --threads N every measurement runs at N BLAS threads; by default (auto) the
 * timed blocks alternate between 1 and all cores and the faster median is reported. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nnfit/blas.h"
#include "nnfit/nnfit.h"

#include "../src/cli/cli.h"
#include "../src/cli/coretype.h"

#define MAX_BLOCKS 64
#define MAX_CFG 2

typedef enum { DATA_TASK, DATA_DFT_SGEMM, DATA_RANDOM } data_kind;

typedef struct {
    const char *name;
    const char *what;
    int n_layers;
    int sizes[5];
    data_kind data;
    nf_task_kind task;
    int frame;
    int dft_full;
} workload;

static const workload workloads[] = {
    {"abs", "abs 2→3→1 relu", 2, {2, 3, 1}, DATA_TASK, NF_TASK_ABS, 0, 0},
    {"fir", "fir 64→64 linear", 1, {64, 64}, DATA_TASK, NF_TASK_FIR, 64, 0},
    {"dft64", "dft 64→66 linear", 1, {64, 66}, DATA_TASK, NF_TASK_DFT, 64, 0},
    {"spectrum", "spectrum 64→256→33 relu", 2, {64, 256, 33}, DATA_TASK, NF_TASK_SPECTRUM, 64, 0},
    {"dft1024", "dft 1024→2048 linear", 1, {1024, 2048}, DATA_DFT_SGEMM, NF_TASK_DFT, 1024, 1},
    {"mlp", "mlp 256→512→512→256 relu", 3, {256, 512, 512, 256}, DATA_RANDOM, NF_TASK_COUNT, 0, 0},
    {"teacher10", "teacher 10→10→1 relu", 2, {10, 10, 1}, DATA_TASK, NF_TASK_TEACHER, 0, 0},
    {"teacher20", "teacher 20→20→1 relu", 2, {20, 20, 1}, DATA_TASK, NF_TASK_TEACHER, 0, 0},
    {"mlp97", "mlp 64→97→33 relu", 2, {64, 97, 33}, DATA_RANDOM, NF_TASK_COUNT, 0, 0},
};
#define N_WORKLOADS ((int)(sizeof workloads / sizeof workloads[0]))

typedef struct {
    int batch;
    int threads; /* 0 = auto */
    double seconds;
    nf_opt_kind opt;
    int json;
    int only; /* workload index or -1 */
    int steps; /* > 0: run exactly this many steps per workload, no timing */
    int serve; /* block server for bench/compare */
    uint64_t seed;
} options;

/* How N > 1 threads are used: split each batch's rows over N threads that each run the step
 * with one BLAS thread (nf_model_set_threads, the default), or one step with N OpenBLAS
 * threads inside each sgemm (--split blas). */
static int split_rows = 1;


typedef struct {
    const workload *w;
    int n_cfg;
    int threads[MAX_CFG];
    double rate[MAX_CFG]; /* median steps/s per thread count */
    int blocks[MAX_CFG], steps_per_block[MAX_CFG];
    int best;            /* index into threads[] */
    double steps_per_s, samples_per_s, gflops, flop_per_step;
    double step_s;       /* 1 / steps_per_s */
    double bound_step_s; /* step time measured in the bound rounds */
    int bound_rounds;
    double fwd_gemm_s, bwd_gemm_s, opt_s, other_s, efficiency;
    double peak_rss_mib, base_rss_mib, accounted_mib;
    double params_mib, grads_mib, opt_mib, act_mib, data_mib;
    size_t n_params;
    double final_loss;
} result;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_train [options]\n"
            "Training throughput of fixed MLP workloads (forward, MSE loss, backward, optimizer\n"
            "update over the whole batch every step), with the bare-sgemm bound of each step.\n\n"
            "  --batch N       rows per step (default 4096)\n"
            "  --task NAME     run one workload: abs, fir, dft64, spectrum, dft1024, mlp,\n"
            "                  teacher10, teacher20, mlp97\n"
            "  --opt NAME      optimizer: %s (default adam)\n"
            "  --threads N     threads (default: auto = time 1 and all cores, keep the faster)\n"
            "  --split HOW     how N > 1 threads work: 'rows' (default) splits each batch over N\n"
            "                  threads, each running the step with one BLAS thread\n"
            "                  (nf_model_set_threads); 'blas' runs OpenBLAS with N threads\n"
            "  --seconds S     timed seconds per workload (default 3; at least 3 blocks per\n"
            "                  thread count are timed whatever S is)\n"
            "  --seed N        data and init seed (default 1)\n"
            "  --json          JSON on stdout instead of the tables\n"
            "  --steps N       no timing: run exactly N training steps per workload at the\n"
            "                  given threads (default 1) and print the loss; for profilers and\n"
            "                  allocation counts (valgrind, heaptrack)\n"
            "  --sgemm-only    no small-shape loops and no fused small-MLP kernel: every layer\n"
            "                  through cblas_sgemm (the 2->h->1 kernel still runs)\n"
            "  --ieee-denormals  keep subnormal floats (default: flushed to zero, FTZ/DAZ,\n"
            "                  see nf_set_flush_denormals; the PyTorch peer does the same)\n"
            "  --serve         (with --task) set up the workload, print 'ready', then answer\n"
            "                  'threads N' with 'ok' and 'run K' with the seconds K steps took,\n"
            "                  until 'quit' or end of input; bench/compare drives this\n"
            "  --help, --version\n",
            nf_opt_names());
}

static int parse_int(const char *s, const char *opt, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_train: %s: '%s' is not an integer in %ld..%ld\n", opt, s, lo, hi);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"batch", required_argument, 0, 'b'},  {"task", required_argument, 0, 't'},
        {"opt", required_argument, 0, 'o'},    {"threads", required_argument, 0, 'j'},
        {"seconds", required_argument, 0, 's'}, {"seed", required_argument, 0, 'S'},
        {"json", no_argument, 0, 'J'},         {"steps", required_argument, 0, 'n'},
        {"serve", no_argument, 0, 'R'},        {"sgemm-only", no_argument, 0, 'G'},
        {"ieee-denormals", no_argument, 0, 'D'}, {"split", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
    o->batch = 4096;
    o->threads = 0;
    o->seconds = 3.0;
    o->opt = NF_OPT_ADAM;
    o->json = 0;
    o->only = -1;
    o->seed = 1;
    o->steps = 0;
    o->serve = 0;
    opterr = 0;
    cli_prog = "bench_train";
    if (cli_check_full_names(argc, argv, longopts)) return 2;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (!parse_int(optarg, "--batch", 1, 1 << 20, &o->batch)) return 2;
            break;
        case 't': {
            int found = -1;
            for (int i = 0; i < N_WORKLOADS; i++)
                if (!strcmp(optarg, workloads[i].name)) found = i;
            if (found < 0) {
                fprintf(stderr,
                        "bench_train: --task: unknown workload '%s' (valid: abs, fir, dft64, "
                        "spectrum, dft1024, mlp, teacher10, teacher20, mlp97)\n",
                        optarg);
                return 2;
            }
            o->only = found;
            break;
        }
        case 'o':
            if (nf_opt_parse(optarg, &o->opt)) {
                fprintf(stderr, "bench_train: --opt: %s\n", nf_last_error());
                return 2;
            }
            break;
        case 'j':
            if (!parse_int(optarg, "--threads", 1, 1024, &o->threads)) return 2;
            break;
        case 's': {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v > 0.0 && v <= 3600.0)) {
                fprintf(stderr, "bench_train: --seconds: '%s' is not a number in (0, 3600]\n",
                        optarg);
                return 2;
            }
            o->seconds = v;
            break;
        }
        case 'S': {
            int v;
            if (!parse_int(optarg, "--seed", 0, 2147483647L, &v)) return 2;
            o->seed = (uint64_t)v;
            break;
        }
        case 'J': o->json = 1; break;
        case 'R': o->serve = 1; break;
        case 'G':
            nf_dense_set_small_max(0);
            nf_model_set_fused_max(0);
            break;
        case 'D': nf_set_flush_denormals(0); break;
        case 'P':
            if (!strcmp(optarg, "rows")) split_rows = 1;
            else if (!strcmp(optarg, "blas")) split_rows = 0;
            else {
                fprintf(stderr, "bench_train: --split: '%s' is not 'rows' or 'blas'\n", optarg);
                return 2;
            }
            break;
        case 'n':
            if (!parse_int(optarg, "--steps", 1, 1000000000L, &o->steps)) return 2;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("bench_train (nnfit) %s\n", NNFIT_VERSION); return 0;
        default:
            if (optopt)
                fprintf(stderr, "bench_train: option '-%c' is unknown or needs a value (see --help)\n",
                        optopt);
            else
                fprintf(stderr, "bench_train: option '%s' is unknown or needs a value (see --help)\n",
                        argv[optind - 1]);
            return 2;
        }
    }
    if (o->serve && o->only < 0) {
        fprintf(stderr, "bench_train: --serve needs --task NAME\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "bench_train: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* ---- memory ---------------------------------------------------------------------------- */

static double status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1.0;
    char line[256];
    double v = -1.0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            v = strtod(line + klen + 1, NULL);
            break;
        }
    fclose(f);
    return v;
}

/* Resets the peak RSS (VmHWM) to the current RSS; Linux >= 4.0.  Returns 0 when unsupported. */
static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return 0;
    int ok = fputs("5", f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok;
}

/* ---- timing ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    nf_model *m;
    float *params, *grads; /* the model's flat buffers [n_params] */
    size_t n_params;
    nf_optim *opt;
    nf_lm *lm; /* Levenberg–Marquardt keeps its own state */
    const float *start; /* lbfgs/lm: every timed step starts from these parameters */
    long evals;         /* lbfgs closure calls so far */
    const float *X, *Y;
    int batch;
    nf_loss_spec loss;
    double loss_value;
    nf_status st;
} trainer;

/* k threads the way split_rows says; a failure (the workers' buffers are allocated here, never
 * in a timed block) lands in t->st, which stops every later step. */
static void apply_threads(trainer *t, int k)
{
    if (t->st) return;
    nf_blas_set_threads(split_rows ? 1 : k);
    t->st = nf_model_set_threads(t->m, split_rows ? k : 1);
}

/* Loss and gradient over the batch for L-BFGS (which may probe other parameter vectors). */
static nf_status batch_closure(void *ctx, const float *params, float *grads, double *loss)
{
    trainer *t = ctx;
    t->evals++;
    if (params != t->params) memcpy(t->params, params, t->n_params * sizeof(float));
    nf_status st = nf_model_grad(t->m, t->X, t->Y, t->batch, &t->loss, 0, loss);
    if (!st && grads != t->grads) memcpy(grads, t->grads, t->n_params * sizeof(float));
    return st;
}

/* One optimizer step each: gradient + update for first-order methods; for lbfgs one
 * torch-style step (up to max_iter iterations with their closure calls); for lm one trainlm
 * step (Jacobian, JᵀJ, solves until a lower loss or μ > μ_max).  A converged lbfgs/lm step
 * returns almost at once, so those restart from the initial parameters and fresh state every
 * step (a memcpy): the time is that of a first step, not of a no-op at a minimum. */
static void train_steps(trainer *t, int steps)
{
    for (int s = 0; s < steps && !t->st; s++) {
        if (t->start) {
            memcpy(t->params, t->start, t->n_params * sizeof(float));
            if (t->lm) nf_lm_reset(t->lm);
            else nf_optim_reset(t->opt);
        }
        if (t->lm) {
            double before;
            nf_lm_result res;
            t->st = nf_lm_step(t->lm, t->m, t->X, t->Y, t->batch, &before, &t->loss_value, &res);
        } else if (nf_opt_is_full_batch(nf_optim_config(t->opt)->kind)) {
            t->st = nf_optim_step_closure(t->opt, t->params, batch_closure, t, &t->loss_value);
        } else {
            t->st = nf_model_grad(t->m, t->X, t->Y, t->batch, &t->loss, 0, &t->loss_value);
            if (!t->st) nf_optim_step(t->opt, t->params, t->grads);
        }
    }
}

/* The bare sgemm calls of one step as the library lists them (nf_model_step_gemms: the same
 * shapes, transposes, scalars and buffers, in the step's order), the forward ones or the
 * backward ones; with model threads each shard makes its rows' calls on its own thread, as in
 * a step.  The products the step computes with loops (small shapes, the fused small net) are
 * timed as the sgemm calls they replace.  The Wᵀ copies that the dX products read are filled
 * during the steps; the transpose itself counts as a pass, not sgemm. */
#define MAX_GEMMS (3 * 3)

static void bare_gemms(const trainer *t, nf_model *view, int row0, int rows, int backward)
{
    nf_gemm_call calls[MAX_GEMMS];
    int n = 0;
    const float *X = t->X + (size_t)row0 * (size_t)nf_model_n_in(view);
    /* the shards' dZ is scaled by the whole batch (alpha = 2/n), as in nf_model_grad */
    const size_t denom = (size_t)t->batch * (size_t)nf_model_n_out(view);
    if (nf_model_step_gemms(view, X, rows, &t->loss, denom, calls, MAX_GEMMS, &n) || n > MAX_GEMMS)
        return;
    for (int k = 0; k < n; k++) {
        const nf_gemm_call *c = &calls[k];
        if ((c->role != NF_GEMM_FORWARD) != backward) continue;
        cblas_sgemm(CblasRowMajor, c->trans_a ? CblasTrans : CblasNoTrans,
                    c->trans_b ? CblasTrans : CblasNoTrans, c->m, c->n, c->k, c->alpha, c->A, c->lda,
                    c->B, c->ldb, c->beta, c->C, c->ldc);
    }
}

static void fwd_shard(void *ctx, nf_model *view, int row0, int rows)
{
    bare_gemms(ctx, view, row0, rows, 0);
}

static void bwd_shard(void *ctx, nf_model *view, int row0, int rows)
{
    bare_gemms(ctx, view, row0, rows, 1);
}

typedef enum { PHASE_STEP, PHASE_FWD_GEMM, PHASE_BWD_GEMM, PHASE_OPT } phase;

static void run_phase(trainer *t, phase p, int reps)
{
    switch (p) {
    case PHASE_STEP: train_steps(t, reps); break;
    case PHASE_FWD_GEMM:
        for (int r = 0; r < reps; r++) nf_model_run_shards(t->m, t->batch, fwd_shard, t);
        break;
    case PHASE_BWD_GEMM:
        for (int r = 0; r < reps; r++) nf_model_run_shards(t->m, t->batch, bwd_shard, t);
        break;
    case PHASE_OPT:
        for (int r = 0; r < reps; r++) nf_optim_step(t->opt, t->params, t->grads);
        break;
    }
}

/* Block server: bench/compare alternates blocks of this process and of the PyTorch peer at
 * fine grain, so load changes on a shared machine hit both sides alike. */
static nf_status serve(trainer *t)
{
    train_steps(t, 2); /* warm-up */
    if (t->st) return t->st;
    printf("ready\n");
    fflush(stdout);
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int k;
        if (sscanf(line, "threads %d", &k) == 1 && k >= 1) {
            apply_threads(t, k);
            train_steps(t, 1);
            printf("ok\n");
        } else if (sscanf(line, "run %d", &k) == 1 && k >= 1) {
            double t0 = nf_seconds();
            train_steps(t, k);
            printf("%.9f\n", nf_seconds() - t0);
        } else if (!strncmp(line, "quit", 4)) {
            break;
        } else {
            printf("error: expected 'threads N', 'run K' or 'quit'\n");
        }
        fflush(stdout);
        if (t->st) return t->st;
    }
    return t->st;
}

/* ---- one workload ---------------------------------------------------------------------- */

/* A workload is a run description: the task (or random data) of `batch` rows, its sizes, ReLU
 * hidden layers, PyTorch's default initialisation, the chosen optimizer with its defaults. */
static nf_status workload_spec(const workload *w, const options *o, nf_run_spec *spec)
{
    nf_run_defaults(spec);
    if (w->data == DATA_TASK) {
        nf_run_set_task(spec, w->task);
        if (w->frame) spec->task.frame = w->frame;
        spec->task.dft_full = w->dft_full;
        if (w->task == NF_TASK_TEACHER) spec->task.k = w->sizes[0];
    }
    spec->task.n_samples = o->batch;
    spec->task.seed = o->seed;
    spec->n_sizes = w->n_layers + 1;
    memcpy(spec->sizes, w->sizes, (size_t)spec->n_sizes * sizeof(int));
    spec->act_set = 1;
    spec->init.kind = NF_INIT_TORCH_DEFAULT;
    spec->train.opt.kind = o->opt;
    spec->opt_set = 1;
    spec->train.batch = o->batch;
    spec->batch_set = 1;
    spec->seed = o->seed;
    return nf_run_resolve(spec, w->data == DATA_TASK ? 0 : w->sizes[0], w->data == DATA_TASK ? 0 : w->sizes[w->n_layers]);
}

static nf_status make_data(const workload *w, const nf_run_spec *spec, int batch, uint64_t seed, nf_mat *X,
                           nf_mat *Y)
{
    nf_status st;
    if (w->data == DATA_TASK) {
        nf_mat Xv, Yv;
        return nf_run_task_data(spec, X, Y, &Xv, &Yv);
    }
    int n_in = w->sizes[0], n_out = w->sizes[w->n_layers];
    st = nf_mat_alloc(X, batch, n_in);
    if (!st) st = nf_mat_alloc(Y, batch, n_out);
    if (st) return st;
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    for (size_t i = 0; i < nf_mat_size(X); i++) X->data[i] = (float)nf_rng_normal(&rng);
    if (w->data == DATA_RANDOM) {
        for (size_t i = 0; i < nf_mat_size(Y); i++) Y->data[i] = (float)nf_rng_normal(&rng);
        return NF_OK;
    }
    /* Large DFT: the same targets nf_task_generate would give, through one sgemm in float
     * instead of a double-precision loop (which takes seconds at this size). */
    nf_task_config tc;
    nf_task_defaults(NF_TASK_DFT, &tc);
    tc.frame = w->frame;
    tc.dft_full = w->dft_full;
    nf_mat W;
    st = nf_task_exact(&tc, &W);
    if (st) return st;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n_out, n_in, 1.0f, X->data, n_in,
                W.data, n_in, 0.0f, Y->data, n_out);
    nf_mat_free(&W);
    return NF_OK;
}

static nf_status run_workload(const workload *w, const options *o, result *r)
{
    memset(r, 0, sizeof *r);
    r->w = w;
    int have_peak = reset_peak_rss();
    r->base_rss_mib = status_kib("VmRSS") / 1024.0;

    nf_mat X = {0, 0, NULL, 0}, Y = {0, 0, NULL, 0};
    nf_model *m = NULL;
    nf_optim *opt = NULL;
    nf_lm *lm = NULL;
    float *start = NULL;
    nf_run_spec spec;
    nf_status st = workload_spec(w, o, &spec);
    if (!st) st = make_data(w, &spec, o->batch, o->seed, &X, &Y);
    if (!st) st = nf_run_create_model(&spec, &X, &m);
    if (!st) st = nf_model_reserve(m, o->batch);
    if (st) goto done;
    const nf_opt_config oc = spec.train.opt;
    const size_t n_params = nf_model_n_params(m);
    st = nf_optim_create(&opt, &oc, n_params);
    if (!st && o->opt == NF_OPT_LM) st = nf_lm_create(&lm, &oc, m, o->batch, 0);
    if (st) goto done;

    if (nf_opt_is_full_batch(o->opt)) {
        st = nf_alloc_floats(&start, n_params);
        if (st) goto done;
        memcpy(start, nf_model_params(m), n_params * sizeof(float));
    }
    trainer t = {m,      nf_model_params(m), nf_model_grads(m), n_params, opt, lm, start, 0,
                 X.data, Y.data, o->batch, {NF_LOSS_MSE, 1.0f}, 0.0, NF_OK};
    if (o->serve) {
        st = serve(&t);
        goto done;
    }
    if (o->steps > 0) {
        apply_threads(&t, o->threads > 0 ? o->threads : 1);
        train_steps(&t, o->steps);
        st = t.st;
        r->final_loss = t.loss_value;
        r->n_params = n_params;
        goto done;
    }
    double sum_io = 0.0;
    for (int i = 0; i < w->n_layers; i++) sum_io += (double)w->sizes[i] * w->sizes[i + 1];
    r->flop_per_step = 6.0 * o->batch * sum_io;
    r->n_params = n_params;

    /* Thread counts to try. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (o->threads > 0) {
        r->n_cfg = 1;
        r->threads[0] = o->threads;
    } else {
        r->n_cfg = ncpu > 1 ? 2 : 1;
        r->threads[0] = 1;
        r->threads[1] = ncpu > 1 ? (int)ncpu : 1;
    }
    /* Warm-up per thread count: at least 2 steps and 0.15 s; estimates the step time. */
    double est[MAX_CFG];
    for (int c = 0; c < r->n_cfg; c++) {
        apply_threads(&t, r->threads[c]);
        double t0 = nf_seconds();
        int n = 0;
        do {
            train_steps(&t, 1);
            n++;
        } while (!t.st && (n < 2 || nf_seconds() - t0 < 0.15));
        double t1 = nf_seconds();
        train_steps(&t, 1);
        est[c] = nf_seconds() - t1;
        if (t.st) break;
    }
    if (t.st) {
        st = t.st;
        goto done;
    }
    /* Timed blocks alternate between thread counts so drifting load hits both alike. */
    double per_cfg = o->seconds / r->n_cfg;
    int blocks = 7;
    double slow = est[0] > est[r->n_cfg - 1] ? est[0] : est[r->n_cfg - 1];
    while (blocks > 3 && blocks * slow > per_cfg) blocks--;
    double v[MAX_CFG][MAX_BLOCKS];
    for (int c = 0; c < r->n_cfg; c++) {
        double per_block = per_cfg / blocks;
        int spb = est[c] > 0.0 ? (int)(per_block / est[c]) : 1;
        r->steps_per_block[c] = spb < 1 ? 1 : spb;
        r->blocks[c] = blocks;
    }
    for (int b = 0; b < blocks && !t.st; b++)
        for (int c = 0; c < r->n_cfg && !t.st; c++) {
            apply_threads(&t, r->threads[c]);
            /* untimed: a new worker thread's first sgemm sets up its OpenBLAS buffer */
            if (r->n_cfg > 1) train_steps(&t, 1);
            double t0 = nf_seconds();
            train_steps(&t, r->steps_per_block[c]);
            v[c][b] = r->steps_per_block[c] / (nf_seconds() - t0);
        }
    if (t.st) {
        st = t.st;
        goto done;
    }
    r->best = 0;
    for (int c = 0; c < r->n_cfg; c++) {
        r->rate[c] = median(v[c], blocks);
        if (r->rate[c] > r->rate[r->best]) r->best = c;
    }
    r->steps_per_s = r->rate[r->best];
    r->step_s = 1.0 / r->steps_per_s;
    r->samples_per_s = r->steps_per_s * o->batch;
    r->gflops = r->flop_per_step * r->steps_per_s * 1e-9;
    r->final_loss = t.loss_value;

    /* The bound at the chosen thread count: rounds of [steps, bare forward GEMMs, bare
     * backward GEMMs, optimizer updates], so load changes hit all four alike; the medians of
     * the rounds give efficiency and the split.  A full-batch second-order step (lbfgs, lm)
     * is not one forward + backward, so it has no such bound. */
    apply_threads(&t, r->threads[r->best]);
    if (t.st) {
        st = t.st;
        goto done;
    }
    if (nf_opt_is_full_batch(o->opt)) {
        r->bound_step_s = 0.0;
    } else {
        double budget = o->seconds * 0.5;
        int rounds = 7;
        while (rounds > 3 && rounds * 2.2 * r->step_s > budget) rounds--;
        int reps = (int)(budget / (rounds * 2.2 * r->step_s));
        if (reps < 1) reps = 1;
        /* the update alone is short: repeat it more for a measurable block */
        int opt_reps = reps * 16;
        double ph[4][MAX_BLOCKS];
        const phase order[4] = {PHASE_STEP, PHASE_FWD_GEMM, PHASE_BWD_GEMM, PHASE_OPT};
        for (int q = 0; q < 4; q++) run_phase(&t, order[q], 1); /* warm each phase */
        for (int b = 0; b < rounds && !t.st; b++)
            for (int q = 0; q < 4; q++) {
                int k = order[q] == PHASE_OPT ? opt_reps : reps;
                double t0 = nf_seconds();
                run_phase(&t, order[q], k);
                ph[q][b] = (nf_seconds() - t0) / k;
            }
        if (t.st) {
            st = t.st;
            goto done;
        }
        r->bound_step_s = median(ph[0], rounds);
        r->fwd_gemm_s = median(ph[1], rounds);
        r->bwd_gemm_s = median(ph[2], rounds);
        r->opt_s = median(ph[3], rounds);
        r->bound_rounds = rounds;
    }
    if (r->bound_step_s > 0.0) {
        r->other_s = r->bound_step_s - r->fwd_gemm_s - r->bwd_gemm_s - r->opt_s;
        r->efficiency = (r->fwd_gemm_s + r->bwd_gemm_s) / r->bound_step_s;
    }

    /* Memory: what the run needs by design, next to the measured peak. */
    const double mib = 1.0 / 1048576.0;
    r->params_mib = (double)nf_model_n_params(m) * sizeof(float) * mib;
    /* model threads (the run's largest count) add a gradient buffer and a Wᵀ scratch each */
    int shards = 1;
    for (int c = 0; c < r->n_cfg && split_rows; c++)
        if (r->threads[c] > shards) shards = r->threads[c];
    nf_workspace_layout ws;
    st = nf_model_workspace(m, o->batch, shards, &ws);
    if (st) goto done;
    r->grads_mib = (double)(nf_model_n_params(m) + ws.shard_grads_floats) * sizeof(float) * mib;
    r->opt_mib = (double)nf_optim_state_bytes(opt) * mib;
    r->act_mib = (double)(ws.work_floats + ws.drop_floats + ws.shard_wt_floats) * sizeof(float) * mib;
    r->data_mib = (double)(nf_mat_size(&X) + nf_mat_size(&Y)) * sizeof(float) * mib;
    r->accounted_mib = r->params_mib + r->grads_mib + r->opt_mib + r->act_mib + r->data_mib;
    r->peak_rss_mib = (have_peak ? status_kib("VmHWM") : -1024.0) / 1024.0;

done:
    nf_free(start);
    nf_lm_free(lm);
    nf_optim_free(opt);
    nf_model_free(m);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    return st;
}

/* ---- output ---------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ') p++;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, len, "%s", p);
            }
            break;
        }
    fclose(f);
}

/* Prints s left-aligned in `width` columns counting UTF-8 characters, not bytes (the
 * workload names contain arrows). */
static void put_name(const char *s, int width)
{
    int cols = 0;
    for (const char *p = s; *p; p++) cols += ((unsigned char)*p & 0xC0) != 0x80;
    fputs(s, stdout);
    for (; cols < width; cols++) putchar(' ');
}

static void print_tables(const options *o, const result *res, int n)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("nnfit %s bench_train  batch %d  optimizer %s  loss mse  threads %s, %s\n", NNFIT_VERSION,
           o->batch, nf_opt_name(o->opt), o->threads ? "fixed" : "auto (1 vs all cores)",
           split_rows ? "N > 1 threads split the batch rows (nf_model_set_threads), 1 BLAS thread each"
                      : "N > 1 threads inside OpenBLAS (--split blas)");
    printf("CPU %s, %ld cores; BLAS %s; subnormals %s\n\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
           nf_blas_info(), nf_flush_denormals() ? "flushed (FTZ/DAZ)" : "IEEE");
    printf("%-26s %3s %10s %12s %8s %9s %9s\n", "workload", "thr", "steps/s", "samples/s",
           "GFLOP/s", "1thr st/s", "Nthr st/s");
    for (int i = 0; i < n; i++) {
        const result *r = &res[i];
        char alt[2][32];
        for (int c = 0; c < 2; c++) snprintf(alt[c], sizeof alt[c], "-");
        for (int c = 0; c < r->n_cfg; c++)
            snprintf(alt[r->threads[c] == 1 ? 0 : 1], sizeof alt[0], "%.1f", r->rate[c]);
        put_name(r->w->what, 26);
        printf(" %3d %10.1f %12.4g %8.1f %9s %9s\n", r->threads[r->best],
               r->steps_per_s, r->samples_per_s, r->gflops, alt[0], alt[1]);
    }
    printf("\nstep time split at the chosen thread count, from alternating rounds of whole steps,\n"
           "bare forward sgemm calls, bare backward sgemm calls and optimizer updates (medians);\n"
           "eff = sgemm / step; pass = step - sgemm - update (bias, activation, loss, column\n"
           "sums, call overhead).  Layers with in*out <= %d use loops instead of sgemm and nets\n"
           "like 2->h->1 (h <= 32) one fused kernel (src/model_small.c), so for them eff > 100%%\n"
           "means faster than the bare sgemm calls would be.\n",
           nf_dense_small_max());
    printf("%-26s %9s %9s %6s %6s %6s %6s %6s\n", "workload", "step ms", "sgemm ms", "eff%",
           "fwd%", "bwd%", "pass%", "upd%");
    for (int i = 0; i < n; i++) {
        const result *r = &res[i];
        double s = r->bound_step_s;
        put_name(r->w->what, 26);
        if (s <= 0.0) {
            printf(" %9.3f   (no sgemm bound: a %s step is not one forward + backward)\n",
                   r->step_s * 1e3, nf_opt_name(o->opt));
            continue;
        }
        printf(" %9.3f %9.3f %6.1f %6.1f %6.1f %6.1f %6.1f\n", s * 1e3,
               (r->fwd_gemm_s + r->bwd_gemm_s) * 1e3, 100 * r->efficiency,
               100 * r->fwd_gemm_s / s, 100 * r->bwd_gemm_s / s, 100 * r->other_s / s,
               100 * r->opt_s / s);
    }
    printf("\nmemory (MiB): peak RSS during the workload vs what it needs by design\n");
    printf("%-26s %9s %9s %8s %8s %8s %8s %8s %8s\n", "workload", "peak RSS", "needed", "params",
           "grads", "opt", "activ", "data", "base");
    for (int i = 0; i < n; i++) {
        const result *r = &res[i];
        put_name(r->w->what, 26);
        printf(" %9.1f %9.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.1f\n",
               r->peak_rss_mib, r->accounted_mib, r->params_mib, r->grads_mib, r->opt_mib,
               r->act_mib, r->data_mib, r->base_rss_mib);
    }
}

static int print_json(const options *o, const result *res, int n)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "program", "bench_train");
    cJSON_AddStringToObject(root, "version", NNFIT_VERSION);
    cJSON_AddStringToObject(root, "cpu", cpu);
    cJSON_AddNumberToObject(root, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddStringToObject(root, "blas", nf_blas_info());
    cJSON_AddBoolToObject(root, "flush_denormals", nf_flush_denormals());
    cJSON_AddNumberToObject(root, "batch", o->batch);
    cJSON_AddStringToObject(root, "optimizer", nf_opt_name(o->opt));
    cJSON_AddStringToObject(root, "threads", o->threads ? "fixed" : "auto");
    cJSON_AddStringToObject(root, "split", split_rows ? "rows" : "blas");
    cJSON *arr = cJSON_AddArrayToObject(root, "workloads");
    for (int i = 0; i < n; i++) {
        const result *r = &res[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", r->w->name);
        cJSON_AddStringToObject(j, "what", r->w->what);
        cJSON_AddNumberToObject(j, "threads", r->threads[r->best]);
        cJSON_AddNumberToObject(j, "steps_per_s", r->steps_per_s);
        cJSON_AddNumberToObject(j, "samples_per_s", r->samples_per_s);
        cJSON_AddNumberToObject(j, "gflops", r->gflops);
        cJSON *by = cJSON_AddObjectToObject(j, "steps_per_s_by_threads");
        for (int c = 0; c < r->n_cfg; c++) {
            char key[16];
            snprintf(key, sizeof key, "%d", r->threads[c]);
            cJSON_AddNumberToObject(by, key, r->rate[c]);
        }
        cJSON_AddNumberToObject(j, "blocks", r->blocks[r->best]);
        cJSON_AddNumberToObject(j, "steps_per_block", r->steps_per_block[r->best]);
        cJSON_AddNumberToObject(j, "step_ms", r->step_s * 1e3);
        cJSON_AddNumberToObject(j, "bound_step_ms", r->bound_step_s * 1e3);
        cJSON_AddNumberToObject(j, "bound_rounds", r->bound_rounds);
        cJSON_AddNumberToObject(j, "sgemm_ms", (r->fwd_gemm_s + r->bwd_gemm_s) * 1e3);
        cJSON_AddNumberToObject(j, "efficiency", r->efficiency);
        cJSON_AddNumberToObject(j, "fwd_gemm_ms", r->fwd_gemm_s * 1e3);
        cJSON_AddNumberToObject(j, "bwd_gemm_ms", r->bwd_gemm_s * 1e3);
        cJSON_AddNumberToObject(j, "passes_ms", r->other_s * 1e3);
        cJSON_AddNumberToObject(j, "update_ms", r->opt_s * 1e3);
        cJSON_AddNumberToObject(j, "n_params", (double)r->n_params);
        cJSON_AddNumberToObject(j, "peak_rss_mib", r->peak_rss_mib);
        cJSON_AddNumberToObject(j, "needed_mib", r->accounted_mib);
        cJSON_AddNumberToObject(j, "params_mib", r->params_mib);
        cJSON_AddNumberToObject(j, "grads_mib", r->grads_mib);
        cJSON_AddNumberToObject(j, "optimizer_mib", r->opt_mib);
        cJSON_AddNumberToObject(j, "activations_mib", r->act_mib);
        cJSON_AddNumberToObject(j, "data_mib", r->data_mib);
        cJSON_AddNumberToObject(j, "final_loss", r->final_loss);
        cJSON_AddItemToArray(arr, j);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return 1;
    puts(text);
    cJSON_free(text);
    return 0;
}

int main(int argc, char **argv)
{
    cli_setup_openblas(argv, 0); /* ../src/cli/coretype.h */
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (nf_opt_is_full_batch(o.opt) && o.only < 0) {
        /* One lbfgs/lm step costs tens of first-order steps (lm's JᵀJ on fir 64→64 at batch
         * 4096 is a 4160² system from 262144 Jacobian rows, ~30 s a step), so the default
         * table would take hours: run the net these methods are for, others on request. */
        o.only = 0;
        fprintf(stderr, "bench_train: --opt %s runs the abs workload only; choose others with "
                        "--task (expect seconds to minutes per step on the large ones)\n",
                nf_opt_name(o.opt));
    }
    result res[N_WORKLOADS];
    int n = 0;
    for (int i = 0; i < N_WORKLOADS; i++) {
        if (o.only >= 0 && i != o.only) continue;
        if (!o.json && !o.serve) fprintf(stderr, "bench_train: %s ...\n", workloads[i].what);
        nf_status st = run_workload(&workloads[i], &o, &res[n]);
        if (st) {
            fprintf(stderr, "bench_train: %s: %s: %s\n", workloads[i].name, nf_strerror(st),
                    nf_last_error());
            return 1;
        }
        if (o.steps > 0)
            printf("%s: %d steps, loss %.9g\n", workloads[i].name, o.steps, res[n].final_loss);
        n++;
    }
    if (o.steps > 0 || o.serve) return 0;
    if (o.json) return print_json(&o, res, n);
    print_tables(&o, res, n);
    return 0;
}
