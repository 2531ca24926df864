/* sweep.c — `nnfit sweep`: many restarts over a grid of optimizer × activation × init ×
 * architecture × lr, with success rates, rerun commands, CSV/JSON and pictures. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep_cli.h"
#include "train_opts.h"

enum {
    S_OPT = 3000, S_ACT, S_INIT, S_HIDDEN, S_LAYERS, S_LR, S_RESTARTS, S_JOBS, S_TARGET, S_SEED,
    S_OUT, S_JSON, S_PLOT, S_DIAG, S_QUIET, S_HELP, S_VERSION,
};

/* abs with 3 ReLUs: the hexagon solution has MSE ~1.07e-3 on 4096 U[-1,1]^2 samples, the
 * stuck minima 1.2e-2 and above; 2e-3 sits in the empty gap between them (README, Sweeps). */
#define ABS_DEFAULT_TARGET 2e-3

static atomic_int g_cancel;
static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&g_cancel, 1);
}

static void help(void)
{
    printf("usage: nnfit sweep [options]\n\n"
           "Trains every combination of the grid options, --restarts times each with seeds derived\n"
           "from --seed, and prints success rates.  Any `nnfit train` option is a fixed setting.\n\n"
           "grid (comma-separated lists):\n"
           "  --opt A,B           optimizers: %s (default adam)\n"
           "  --act A,B           hidden activations (default: the task's)\n"
           "  --init A,B          initialisers (default glorot_uniform)\n"
           "  --hidden 3,4,6      one hidden layer of each width\n"
           "  --layers 'L1;L2'    full size lists, ';'-separated or repeated (e.g. 2,3,1;2,4,4,1)\n"
           "  --lr X,Y            learning rates (default: each optimizer's)\n"
           "  training aids, each a grid axis too (0, or none for --schedule, = off):\n"
           "  --revive-every 0,20 --dup-cos X,Y --repel 0,0.01 --dropout 0,0.1 --clip-norm 0,1\n"
           "  --decoupled-weight-decay 0,1e-4 --schedule none,cosine --warmup 0,10\n"
           "  --bias-init 0,0.1 --init-gain 1,2 --weight-decay 0,1e-4 (L2; a list is an axis)\n"
           "  --early-stop 0,20 (patience; needs --val-n N validation rows, generated as in train)\n"
           "  (and --preset robust: see nnfit train --help)\n"
           "sweep:\n"
           "  --restarts N        trials per grid point (default 20)\n"
           "  --seed S            base seed; restart r uses nf_rng_derive(S, r) (default 0)\n"
           "  --jobs J            worker threads, one BLAS thread each (default: cores)\n"
           "  --target LOSS       success: final loss <= LOSS (abs default %g; required otherwise)\n"
           "  --out FILE.csv      one row per trial\n"
           "  --json FILE         settings, summaries and trials as JSON\n"
           "  --plot DIR          pictures (CSV + gnuplot scripts, PNG/SVG if gnuplot is installed)\n"
           "  --diag              neuron table of each setting's best and worst trial\n"
           "  --quiet             no progress on stderr\n"
           "  --help, --version\n\n"
           "fixed settings (as for nnfit train):\n",
           nf_opt_names(), ABS_DEFAULT_TARGET);
    train_opts_help(stdout);
}

/* ---- small string lists ---- */
typedef struct {
    char **v;
    int n;
} strlist;

static int strlist_add(strlist *l, const char *s, size_t len)
{
    char **v = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v) return 1;
    l->v = v;
    l->v[l->n] = malloc(len + 1);
    if (!l->v[l->n]) return 1;
    memcpy(l->v[l->n], s, len);
    l->v[l->n][len] = '\0';
    l->n++;
    return 0;
}

static int strlist_split(strlist *l, const char *text, char sep, const char *opt)
{
    const char *p = text;
    for (;;) {
        const char *e = strchr(p, sep);
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) return cli_usage_error("--%s: empty item in '%s'", opt, text);
        int seen = 0; /* a value given twice is one grid point */
        for (int i = 0; i < l->n; i++) seen |= strlen(l->v[i]) == len && !strncmp(l->v[i], p, len);
        if (!seen && strlist_add(l, p, len)) return cli_usage_error("out of memory");
        if (!e) return 0;
        p = e + 1;
    }
}

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---- fixed train options ---- */
typedef struct {
    int val;
    const char *name, *arg;
} fixed_opt;

static int find_val(const struct option *table, const char *name)
{
    for (int i = 0; table[i].name; i++)
        if (!strcmp(table[i].name, name)) return table[i].val;
    return -1;
}

/* Whether optimizer option `name` (kebab-case) is a hyperparameter of some optimizer. */
static int in_uses(const char *uses, const char *name)
{
    char snake[64];
    size_t n = strlen(name);
    if (n >= sizeof snake) return 0;
    for (size_t i = 0; i <= n; i++) snake[i] = name[i] == '-' ? '_' : name[i];
    size_t len = strlen(snake);
    for (const char *p = uses; (p = strstr(p, snake)); p += len)
        if ((p == uses || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

static int is_opt_hyper(const char *name)
{
    if (!strcmp(name, "lr")) return 0;
    for (int k = 0; k < NF_OPT_COUNT; k++)
        if (in_uses(nf_opt_uses((nf_opt_kind)k), name)) return 1;
    return 0;
}

/* Whether a fixed option applies to a grid point (optimizer hyperparameters and --act-param
 * only go to the optimizers / activations that have them). */
static int applies(const fixed_opt *f, nf_opt_kind opt, nf_act_kind act)
{
    if (is_opt_hyper(f->name)) return in_uses(nf_opt_uses(opt), f->name);
    if (!strcmp(f->name, "act-param")) return act == NF_ACT_LEAKY_RELU || act == NF_ACT_ELU;
    return 1;
}

static void shell_append(char *buf, size_t cap, const char *s)
{
    size_t pos = strlen(buf);
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_.,/:=+", *p))) plain = 0;
    if (plain) {
        snprintf(buf + pos, cap - pos, " %s", s);
        return;
    }
    snprintf(buf + pos, cap - pos, " '");
    for (const char *p = s; *p; p++) {
        pos = strlen(buf);
        if (*p == '\'') snprintf(buf + pos, cap - pos, "'\\''");
        else snprintf(buf + pos, cap - pos, "%c", *p);
    }
    pos = strlen(buf);
    snprintf(buf + pos, cap - pos, "'");
}

/* Training-aid options that may be grid axes (a comma-separated value list); "0" (or
 * "none" for --schedule) means the aid is off: the option is left out of that grid point. */
static const char *const aid_axes[] = {"revive-every", "dup-cos", "revive-parallel", "revive-edge", "repel", "dropout", "clip-norm",
                                       "decoupled-weight-decay", "schedule", "warmup", "bias-init",
                                       "init-gain", "early-stop", "weight-decay", "grow", "prune-start",
                                       "prune-end", "prune-every"};
enum { N_AID_AXES = (int)(sizeof aid_axes / sizeof aid_axes[0]) };

static int aid_axis_index(const char *name)
{
    for (int k = 0; k < N_AID_AXES; k++)
        if (!strcmp(aid_axes[k], name)) return k;
    return -1;
}

/* Whether value v of aid axis k switches the aid off. */
static int aid_off(int k, const char *v)
{
    if (!v) return 1;
    if (!strcmp(aid_axes[k], "schedule")) return !strcmp(v, "none");
    if (!strcmp(aid_axes[k], "bias-init") || !strcmp(aid_axes[k], "init-gain") ||
        !strcmp(aid_axes[k], "dup-cos") || !strcmp(aid_axes[k], "prune-start") || !strcmp(aid_axes[k], "prune-end"))
        return 0;
    char *end;
    double d = strtod(v, &end);
    return *end == '\0' && end != v && d == 0.0;
}

typedef struct {
    const char *opt, *act, *init, *layers, *lr; /* lr NULL: optimizer default */
    const char *aid[N_AID_AXES];                /* NULL: axis not given */
} grid_point;

typedef struct {
    const struct option *table;
    fixed_opt *fixed;
    int n_fixed;
    grid_point *points;
    nf_sweep_setting *settings;
    cli_setting_name *names;
    int n;
} grid;

/* Builds one setting through the same parser `nnfit train` uses, so the rerun command means
 * the same thing.  Returns 0 or EXIT_USAGE. */
static int build_setting(const grid *g, const grid_point *p, train_opts *o)
{
    train_opts_init(o);
    nf_opt_kind ok;
    nf_act_spec as;
    if (nf_opt_parse(p->opt, &ok)) return cli_usage_error("--opt: %s", nf_last_error());
    if (nf_act_parse(p->act, &as)) return cli_usage_error("--act: %s", nf_last_error());
    for (int i = 0; i < g->n_fixed; i++)
        if (applies(&g->fixed[i], ok, as.kind) && train_opts_handle(o, g->fixed[i].val, g->fixed[i].arg))
            return EXIT_USAGE;
    const char *names[] = {"opt", "act", "init", "layers", "lr"};
    const char *vals[] = {p->opt, p->act, p->init, p->layers, p->lr};
    for (int i = 0; i < 5; i++)
        if (vals[i] && train_opts_handle(o, find_val(g->table, names[i]) , vals[i])) return EXIT_USAGE;
    for (int k = 0; k < N_AID_AXES; k++)
        if (!aid_off(k, p->aid[k]) && train_opts_handle(o, find_val(g->table, aid_axes[k]), p->aid[k]))
            return EXIT_USAGE;
    if (train_opts_finish(o)) return EXIT_USAGE;
    return 0;
}

static void rerun_command(const grid *g, int s, uint64_t seed, char *buf, size_t cap)
{
    const grid_point *p = &g->points[s];
    const nf_sweep_setting *st = &g->settings[s];
    snprintf(buf, cap, "nnfit train");
    int have_batch = 0, have_epochs = 0;
    for (int i = 0; i < g->n_fixed; i++) {
        if (!applies(&g->fixed[i], st->train.opt.kind, st->act.kind)) continue;
        size_t pos = strlen(buf);
        snprintf(buf + pos, cap - pos, " --%s", g->fixed[i].name);
        if (g->fixed[i].arg) shell_append(buf, cap, g->fixed[i].arg);
        have_batch |= !strcmp(g->fixed[i].name, "batch");
        have_epochs |= !strcmp(g->fixed[i].name, "epochs");
    }
    size_t pos = strlen(buf);
    snprintf(buf + pos, cap - pos, " --opt %s", p->opt);
    if (p->lr) { pos = strlen(buf); snprintf(buf + pos, cap - pos, " --lr %s", p->lr); }
    pos = strlen(buf);
    snprintf(buf + pos, cap - pos, " --act %s --init %s --layers %s", p->act, p->init, p->layers);
    for (int k = 0; k < N_AID_AXES; k++) {
        if (aid_off(k, p->aid[k])) continue;
        pos = strlen(buf);
        snprintf(buf + pos, cap - pos, " --%s", aid_axes[k]);
        shell_append(buf, cap, p->aid[k]);
    }
    pos = strlen(buf);
    if (!have_batch) snprintf(buf + pos, cap - pos, " --batch %d", st->train.batch);
    pos = strlen(buf);
    if (!have_epochs) snprintf(buf + pos, cap - pos, " --epochs %d", st->train.epochs);
    pos = strlen(buf);
    snprintf(buf + pos, cap - pos, " --seed %llu --threads 1", (unsigned long long)seed);
}

/* ---- output ---- */
static void csv_quoted(FILE *f, const char *s) { fprintf(f, "\"%s\"", s); }

static int write_csv(const char *path, const grid *g, const nf_trial *t, long total, double target)
{
    FILE *f = fopen(path, "w");
    if (!f) return cli_usage_error("--out %s: cannot open for writing: %s", path, strerror(errno));
    fprintf(f, "setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss,best_loss,"
               "target_epoch,epochs_run,diverged_epoch,dead,always_on,duplicate,parallel,seconds,target,command");
    for (int k = 0; k < N_AID_AXES; k++) { /* aid axes: empty when not given, 0/none when off */
        fputc(',', f);
        for (const char *q = aid_axes[k]; *q; q++) fputc(*q == '-' ? '_' : *q, f);
    }
    fputc('\n', f);
    char cmd[2048];
    for (long i = 0; i < total; i++) {
        if (!t[i].done) continue;
        const grid_point *p = &g->points[t[i].setting];
        const nf_sweep_setting *s = &g->settings[t[i].setting];
        fprintf(f, "%d,%s,%s,%s,", t[i].setting, p->opt, p->act, p->init);
        csv_quoted(f, p->layers);
        fprintf(f, ",%.9g,%d,%llu,%d,%d,%.9e,%.9e,%d,%d,%d,%d,%d,%d,%d,%.6f,", s->train.opt.lr, t[i].restart,
                (unsigned long long)t[i].seed, t[i].done, t[i].success, t[i].final_loss, t[i].best_loss,
                t[i].target_epoch, t[i].epochs_run, t[i].diverged_epoch, t[i].dead, t[i].always_on,
                t[i].duplicate, t[i].parallel, t[i].seconds);
        fprintf(f, "%g,", target);
        rerun_command(g, t[i].setting, t[i].seed, cmd, sizeof cmd);
        csv_quoted(f, cmd);
        for (int k = 0; k < N_AID_AXES; k++) fprintf(f, ",%s", p->aid[k] ? p->aid[k] : "");
        fputc('\n', f);
    }
    if (fclose(f)) return cli_usage_error("--out %s: write failed", path);
    return 0;
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static int write_json(const char *path, const grid *g, const nf_sweep_config *cfg, const nf_trial *t,
                      long total, const nf_sweep_summary *sum)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "seed", (double)cfg->seed);
    cJSON_AddNumberToObject(root, "restarts", cfg->restarts);
    cJSON_AddNumberToObject(root, "target", cfg->target);
    cJSON *settings = cJSON_AddArrayToObject(root, "settings");
    char cmd[2048];
    for (int s = 0; s < g->n; s++) {
        const nf_sweep_summary *x = &sum[s];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "setting", s);
        cJSON_AddStringToObject(o, "opt", g->points[s].opt);
        cJSON_AddStringToObject(o, "act", g->points[s].act);
        cJSON_AddStringToObject(o, "init", g->points[s].init);
        cJSON_AddStringToObject(o, "layers", g->points[s].layers);
        cJSON_AddNumberToObject(o, "lr", g->settings[s].train.opt.lr);
        for (int k = 0; k < N_AID_AXES; k++) {
            if (!g->points[s].aid[k]) continue;
            char key[40];
            size_t j = 0;
            for (const char *q = aid_axes[k]; *q && j + 1 < sizeof key; q++) key[j++] = *q == '-' ? '_' : *q;
            key[j] = '\0';
            cJSON_AddStringToObject(o, key, g->points[s].aid[k]);
        }
        cJSON_AddNumberToObject(o, "trials", (double)x->n);
        cJSON_AddNumberToObject(o, "successes", (double)x->successes);
        cJSON_AddItemToObject(o, "success_rate", num_or_null(x->rate));
        cJSON_AddItemToObject(o, "wilson95_lo", num_or_null(x->rate_lo));
        cJSON_AddItemToObject(o, "wilson95_hi", num_or_null(x->rate_hi));
        cJSON_AddItemToObject(o, "median_final_loss", num_or_null(x->median));
        cJSON_AddItemToObject(o, "p10_final_loss", num_or_null(x->p10));
        cJSON_AddItemToObject(o, "p90_final_loss", num_or_null(x->p90));
        cJSON_AddItemToObject(o, "median_epochs_to_target", num_or_null(x->median_epochs));
        cJSON_AddNumberToObject(o, "mean_dead", x->mean_dead);
        cJSON_AddNumberToObject(o, "mean_always_on", x->mean_always_on);
        cJSON_AddNumberToObject(o, "mean_duplicate", x->mean_duplicate);
        cJSON_AddNumberToObject(o, "mean_parallel", x->mean_parallel);
        cJSON_AddNumberToObject(o, "trials_per_second", x->trials_per_second);
        if (x->best >= 0) {
            rerun_command(g, s, t[x->best].seed, cmd, sizeof cmd);
            cJSON_AddStringToObject(o, "best_command", cmd);
            rerun_command(g, s, t[x->worst].seed, cmd, sizeof cmd);
            cJSON_AddStringToObject(o, "worst_command", cmd);
        }
        cJSON_AddItemToArray(settings, o);
    }
    cJSON *trials = cJSON_AddArrayToObject(root, "trials");
    for (long i = 0; i < total; i++) {
        if (!t[i].done) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "setting", t[i].setting);
        cJSON_AddNumberToObject(o, "restart", t[i].restart);
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)t[i].seed);
        cJSON_AddStringToObject(o, "seed", seed); /* string: 64-bit does not fit a double */
        cJSON_AddBoolToObject(o, "success", t[i].success);
        cJSON_AddItemToObject(o, "final_loss", num_or_null(t[i].final_loss));
        cJSON_AddItemToObject(o, "best_loss", num_or_null(t[i].best_loss));
        cJSON_AddNumberToObject(o, "target_epoch", t[i].target_epoch);
        cJSON_AddNumberToObject(o, "epochs_run", t[i].epochs_run);
        cJSON_AddNumberToObject(o, "diverged_epoch", t[i].diverged_epoch);
        cJSON_AddNumberToObject(o, "dead", t[i].dead);
        cJSON_AddNumberToObject(o, "always_on", t[i].always_on);
        cJSON_AddNumberToObject(o, "duplicate", t[i].duplicate);
        cJSON_AddNumberToObject(o, "parallel", t[i].parallel);
        cJSON_AddNumberToObject(o, "seconds", t[i].seconds);
        cJSON_AddItemToArray(trials, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return cli_usage_error("--json: out of memory");
    FILE *f = fopen(path, "w");
    if (!f) {
        free(text);
        return cli_usage_error("--json %s: cannot open for writing: %s", path, strerror(errno));
    }
    fputs(text, f);
    fputc('\n', f);
    free(text);
    if (fclose(f)) return cli_usage_error("--json %s: write failed", path);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const nf_sweep_summary *g_sort_sum;
static int cmp_rate(const void *a, const void *b)
{
    const nf_sweep_summary *x = &g_sort_sum[*(const int *)a], *y = &g_sort_sum[*(const int *)b];
    if (x->rate != y->rate) return x->rate < y->rate ? 1 : -1;
    if (x->median != y->median) return x->median > y->median ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

static void print_summary(const grid *g, const nf_sweep_config *cfg, const nf_trial *t,
                          const nf_sweep_summary *sum)
{
    int *order = malloc((size_t)g->n * sizeof(int));
    if (!order) return;
    for (int s = 0; s < g->n; s++) order[s] = s;
    g_sort_sum = sum;
    qsort(order, (size_t)g->n, sizeof(int), cmp_rate);
    printf("# target: final loss <= %g; %d restarts per setting; seed %llu\n", cfg->target,
           cfg->restarts, (unsigned long long)cfg->seed);
    int w = 44;
    for (int s = 0; s < g->n; s++) w = (int)strlen(g->names[s].label) > w ? (int)strlen(g->names[s].label) : w;
    printf("%3s  %-*s %5s %7s %15s %10s %10s %10s %7s %5s %5s %5s %5s %8s\n", "#", w, "setting", "n", "success",
           "95% Wilson", "median", "p10", "p90", "ep_med", "dead", "alw", "dup", "par", "trials/s");
    for (int k = 0; k < g->n; k++) {
        const nf_sweep_summary *x = &sum[order[k]];
        char iv[32], ep[16];
        snprintf(iv, sizeof iv, "[%4.1f,%5.1f]%%", 100 * x->rate_lo, 100 * x->rate_hi);
        if (isnan(x->median_epochs)) snprintf(ep, sizeof ep, "-");
        else snprintf(ep, sizeof ep, "%.0f", x->median_epochs);
        printf("%3d  %-*s %5ld %6.1f%% %15s %10.3e %10.3e %10.3e %7s %5.2f %5.2f %5.2f %5.2f %8.1f\n",
               order[k], w, g->names[order[k]].label, x->n, 100 * x->rate, iv, x->median, x->p10, x->p90, ep,
               x->mean_dead, x->mean_always_on, x->mean_duplicate, x->mean_parallel, x->trials_per_second);
    }
    printf("\n# rerun one trial alone (reproduces its final loss exactly):\n");
    char cmd[2048];
    for (int k = 0; k < g->n; k++) {
        const nf_sweep_summary *x = &sum[order[k]];
        if (x->best < 0) continue;
        rerun_command(g, order[k], t[x->best].seed, cmd, sizeof cmd);
        printf("%3d best  (%.6e): %s\n", order[k], t[x->best].final_loss, cmd);
        rerun_command(g, order[k], t[x->worst].seed, cmd, sizeof cmd);
        printf("%3d worst (%.6e): %s\n", order[k], t[x->worst].final_loss, cmd);
    }
    free(order);
}

typedef struct {
    cli_progress bar;
    long ok;
} prog_ctx;

static void on_trial(void *ctx, const nf_trial *t, long done, long total)
{
    prog_ctx *p = ctx;
    (void)total;
    p->ok += t->success;
    char extra[64];
    snprintf(extra, sizeof extra, "%ld ok", p->ok);
    cli_progress_update(&p->bar, done, extra);
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static int sweep_main(int argc, char **argv);

/* --preset NAME expands into its options before parsing (explicit options override it). */
int cmd_sweep(int argc, char **argv)
{
    int n = argc;
    char **v = NULL;
    int rc = train_opts_expand_preset(argc, argv, &n, &v);
    if (rc) return rc;
    rc = sweep_main(n, v ? v : argv);
    free(v);
    return rc;
}

static int sweep_main(int argc, char **argv)
{
    static const struct option own[] = {
        {"opt", required_argument, 0, S_OPT},       {"act", required_argument, 0, S_ACT},
        {"init", required_argument, 0, S_INIT},     {"hidden", required_argument, 0, S_HIDDEN},
        {"layers", required_argument, 0, S_LAYERS}, {"lr", required_argument, 0, S_LR},
        {"restarts", required_argument, 0, S_RESTARTS}, {"jobs", required_argument, 0, S_JOBS},
        {"target", required_argument, 0, S_TARGET}, {"seed", required_argument, 0, S_SEED},
        {"out", required_argument, 0, S_OUT},       {"json", required_argument, 0, S_JSON},
        {"plot", required_argument, 0, S_PLOT},     {"diag", no_argument, 0, S_DIAG},
        {"quiet", no_argument, 0, S_QUIET},         {"help", no_argument, 0, S_HELP},
        {"version", no_argument, 0, S_VERSION},
    };
    const int n_own = (int)(sizeof own / sizeof own[0]);
    struct option table[160];
    for (int i = 0; i < n_own; i++) table[i] = own[i];
    int count = train_opts_table(table, n_own);
    table[count] = (struct option){0, 0, 0, 0};

    strlist opts = {0}, acts = {0}, inits = {0}, layers = {0}, lrs = {0}, hidden = {0};
    strlist aidl[N_AID_AXES];
    memset(aidl, 0, sizeof aidl);
    fixed_opt *fixed = calloc((size_t)argc + 1, sizeof *fixed);
    int n_fixed = 0, restarts = 20, jobs = default_jobs(), want_diag = 0, rc = 0;
    uint64_t seed = 0;
    double target = 0.0;
    const char *out_path = NULL, *json_path = NULL, *plot_dir = NULL;
    if (!fixed) return cli_usage_error("out of memory");
    int c, idx;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":hq", table, &idx)) != -1) {
        switch (c) {
        case S_OPT: rc = strlist_split(&opts, optarg, ',', "opt"); break;
        case S_ACT: rc = strlist_split(&acts, optarg, ',', "act"); break;
        case S_INIT: rc = strlist_split(&inits, optarg, ',', "init"); break;
        case S_HIDDEN: rc = strlist_split(&hidden, optarg, ',', "hidden"); break;
        case S_LAYERS: rc = strlist_split(&layers, optarg, ';', "layers"); break;
        case S_LR: rc = strlist_split(&lrs, optarg, ',', "lr"); break;
        case S_RESTARTS: rc = cli_int("restarts", optarg, 1, 1 << 24, &restarts) ? EXIT_USAGE : 0; break;
        case S_JOBS: rc = cli_int("jobs", optarg, 1, 1024, &jobs) ? EXIT_USAGE : 0; break;
        case S_TARGET: rc = cli_double("target", optarg, 1e-300, 1e300, &target) ? EXIT_USAGE : 0; break;
        case S_SEED: rc = cli_u64("seed", optarg, &seed) ? EXIT_USAGE : 0; break;
        case S_OUT: out_path = optarg; break;
        case S_JSON: json_path = optarg; break;
        case S_PLOT: plot_dir = optarg; break;
        case S_DIAG: want_diag = 1; break;
        case 'q': case S_QUIET: cli_quiet = 1; break;
        case 'h': case S_HELP: help(); rc = -1; break;
        case S_VERSION: printf("nnfit %s\n", NNFIT_VERSION); rc = -1; break;
        case '?': rc = cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]); break;
        case ':': rc = cli_usage_error("option '%s' needs a value", argv[optind - 1]); break;
        default: {
            const char *name = NULL;
            for (int i = n_own; i < count; i++)
                if (table[i].val == c) name = table[i].name;
            if (!name) { rc = cli_usage_error("unknown option"); break; }
            if (!strcmp(name, "log") || !strcmp(name, "stop-at-target") || !strcmp(name, "threads")) {
                rc = cli_usage_error("--%s does not apply to sweep (each worker uses one BLAS thread; "
                                     "use --out/--plot for per-trial data)", name);
                break;
            }
            /* L2 weight decay is an optimizer option: one value stays a fixed setting (given
             * only to optimizers that have it), a list becomes a grid axis */
            if (aid_axis_index(name) >= 0 && (strcmp(name, "weight-decay") || strchr(optarg, ','))) {
                rc = strlist_split(&aidl[aid_axis_index(name)], optarg, ',', name);
                break;
            }
            fixed[n_fixed++] = (fixed_opt){c, name, optarg};
        }
        }
    }
    if (!rc && optind < argc) rc = cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!rc && hidden.n && layers.n) rc = cli_usage_error("give --hidden or --layers, not both");
    if (!rc) { /* early stopping needs the validation rows every trial shares */
        const strlist *es = &aidl[aid_axis_index("early-stop")];
        int val_n = 0;
        for (int i = 0; i < n_fixed; i++) val_n |= !strcmp(fixed[i].name, "val-n");
        for (int i = 0; !rc && i < es->n; i++)
            if (!aid_off(aid_axis_index("early-stop"), es->v[i]) && !val_n)
                rc = cli_usage_error("--early-stop needs a validation set: add --val-n N (rows generated "
                                     "from the task as nnfit train --val-n does)");
    }

    /* the task decides the default architecture, activation and target */
    train_opts base;
    int base_init = 0;
    if (!rc) {
        train_opts_init(&base);
        base_init = 1;
        for (int i = 0; !rc && i < n_fixed; i++)
            if (!is_opt_hyper(fixed[i].name) && strcmp(fixed[i].name, "act-param") &&
                train_opts_handle(&base, fixed[i].val, fixed[i].arg))
                rc = EXIT_USAGE;
        if (!rc && train_opts_finish(&base)) rc = EXIT_USAGE;
    }
    int dsizes[NF_MAX_LAYERS + 1], dn = 0;
    nf_act_spec dact = {NF_ACT_RELU, 0};
    if (!rc) {
        nf_task_default_layers(&base.task, dsizes, &dn, &dact);
        dn += 1;
        if (!opts.n) rc = strlist_split(&opts, "adam", ',', "opt");
        if (!rc && !acts.n) rc = strlist_split(&acts, nf_act_name(dact.kind), ',', "act");
        if (!rc && !inits.n) rc = strlist_split(&inits, "glorot_uniform", ',', "init");
        char buf[512];
        for (int i = 0; !rc && i < hidden.n; i++) {
            int w;
            if (cli_int("hidden", hidden.v[i], 1, 1 << 24, &w)) { rc = EXIT_USAGE; break; }
            snprintf(buf, sizeof buf, "%d,%d,%d", dsizes[0], w, dsizes[dn - 1]);
            rc = strlist_add(&layers, buf, strlen(buf));
        }
        if (!rc && !layers.n) {
            size_t pos = 0;
            for (int i = 0; i < dn; i++) pos += (size_t)snprintf(buf + pos, sizeof buf - pos, i ? ",%d" : "%d", dsizes[i]);
            rc = strlist_add(&layers, buf, strlen(buf));
        }
        if (!rc && target == 0.0) {
            if (base.task.kind == NF_TASK_ABS) target = ABS_DEFAULT_TARGET;
            else rc = cli_usage_error("--target LOSS is required for task %s (only abs has a default)",
                                      nf_task_name(base.task.kind));
        }
    }
    if (rc) goto done_early;

    grid g = {.table = table + n_own, .fixed = fixed, .n_fixed = n_fixed};
    int n_lr = lrs.n ? lrs.n : 1;
    long n_aid = 1;
    for (int k = 0; k < N_AID_AXES; k++) n_aid *= aidl[k].n ? aidl[k].n : 1;
    long n_points = (long)opts.n * acts.n * inits.n * layers.n * n_lr * n_aid;
    if (n_points * restarts > 100000000L) { rc = cli_usage_error("grid too large (%ld settings)", n_points); goto done_early; }
    g.points = calloc((size_t)n_points, sizeof *g.points);
    g.settings = calloc((size_t)n_points, sizeof *g.settings);
    g.names = calloc((size_t)n_points, sizeof *g.names);
    if (!g.points || !g.settings || !g.names) { rc = cli_usage_error("out of memory"); goto done_grid; }
    for (int a = 0; a < opts.n; a++)
        for (int b = 0; b < acts.n; b++)
            for (int i = 0; i < inits.n; i++)
                for (int l = 0; l < layers.n; l++)
                    for (int r = 0; r < n_lr; r++)
                    for (long ai = 0; ai < n_aid; ai++) {
                        grid_point *p = &g.points[g.n];
                        *p = (grid_point){opts.v[a], acts.v[b], inits.v[i], layers.v[l], lrs.n ? lrs.v[r] : NULL, {0}};
                        for (long k = N_AID_AXES - 1, rest = ai; k >= 0; k--) { /* last axis fastest */
                            if (!aidl[k].n) continue;
                            p->aid[k] = aidl[k].v[rest % aidl[k].n];
                            rest /= aidl[k].n;
                        }
                        train_opts o;
                        int brc = build_setting(&g, p, &o);
                        if (brc) {
                            train_opts_free(&o);
                            rc = brc;
                            fprintf(stderr, "%s: (in grid point --opt %s --act %s --init %s --layers %s)\n",
                                    cli_prog, p->opt, p->act, p->init, p->layers);
                            goto done_grid;
                        }
                        nf_sweep_setting *s = &g.settings[g.n];
                        s->n_sizes = o.n_sizes;
                        memcpy(s->sizes, o.sizes, sizeof s->sizes);
                        s->act = o.act;
                        s->out_act = o.out_act;
                        s->init = o.init;
                        s->train = o.train;
                        s->init_opts = o.init_opts;
                        s->aids = o.aids;
                        s->train.aids = o.train.aids ? &s->aids : NULL; /* o.aids dies with o */
                        train_opts_free(&o);
                        if (s->sizes[0] != dsizes[0] || s->sizes[s->n_sizes - 1] != dsizes[dn - 1]) {
                            rc = cli_usage_error("--layers %s does not fit task %s (%d inputs, %d outputs)",
                                                 p->layers, nf_task_name(base.task.kind), dsizes[0], dsizes[dn - 1]);
                            goto done_grid;
                        }
                        cli_setting_name *nm = &g.names[g.n];
                        snprintf(nm->label, sizeof nm->label, "%s %s %s %s lr=%g", p->opt, p->act, p->init,
                                 p->layers, s->train.opt.lr);
                        for (int k = 0; k < N_AID_AXES; k++) { /* aids: all values of real axes */
                            if (!p->aid[k] || (aidl[k].n == 1 && aid_off(k, p->aid[k]))) continue;
                            size_t lp = strlen(nm->label);
                            snprintf(nm->label + lp, sizeof nm->label - lp, " %s=%s", aid_axes[k], p->aid[k]);
                        }
                        snprintf(nm->file, sizeof nm->file, "s%02d_%s_%s_%s_", g.n, p->opt, p->act, p->init);
                        size_t pos = strlen(nm->file);
                        for (const char *q = p->layers; *q && pos + 1 < sizeof nm->file; q++)
                            nm->file[pos++] = *q == ',' ? '-' : *q;
                        nm->file[pos] = '\0';
                        snprintf(nm->file + pos, sizeof nm->file - pos, "_lr%g", s->train.opt.lr);
                        g.n++;
                    }

    {
        nf_mat X = {0}, Y = {0}, Xv = {0}, Yv = {0};
        nf_status st = nf_task_generate(&base.task, &X, &Y);
        if (!st && base.val_n) { /* the same validation rows as `nnfit train --val-n` */
            nf_task_config vt = base.task;
            vt.n_samples = base.val_n;
            vt.seed = nf_rng_derive(base.task.seed, 1);
            st = nf_task_generate(&vt, &Xv, &Yv);
        }
        if (st) {
            rc = cli_status_error(st);
            nf_mat_free(&X);
            nf_mat_free(&Y);
            goto done_grid;
        }
        nf_sweep_config cfg;
        nf_sweep_defaults(&cfg);
        cfg.X = &X;
        cfg.Y = &Y;
        if (base.val_n) {
            cfg.val_X = &Xv;
            cfg.val_Y = &Yv;
        }
        cfg.settings = g.settings;
        cfg.n_settings = g.n;
        cfg.restarts = restarts;
        cfg.seed = seed;
        cfg.jobs = jobs;
        cfg.target = target;
        cfg.keep_curves = plot_dir != NULL;
        atomic_store(&g_cancel, 0);
        cfg.cancel = &g_cancel;
        prog_ctx pc = {0};
        long total = (long)g.n * restarts;
        cli_progress_start(&pc.bar, "sweep", total);
        cfg.on_trial = on_trial;
        cfg.ctx = &pc;
        nf_trial *trials = calloc((size_t)total, sizeof *trials);
        nf_sweep_summary *sum = calloc((size_t)g.n, sizeof *sum);
        if (!trials || !sum) { rc = cli_usage_error("out of memory for %ld trials", total); goto done_run; }
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old);
        long n_done = 0;
        st = nf_sweep_run(&cfg, trials, &n_done);
        sigaction(SIGINT, &old, NULL);
        cli_progress_end(&pc.bar);
        int interrupted = st == NF_EINTERRUPTED;
        if (st && !interrupted) { rc = cli_status_error(st); goto done_run; }
        if (interrupted)
            fprintf(stderr, "%s: interrupted: %ld of %ld trials finished; writing those\n", cli_prog, n_done, total);
        nf_sweep_summarize(trials, g.n, restarts, sum);
        print_summary(&g, &cfg, trials, sum);
        if (out_path && !rc) rc = write_csv(out_path, &g, trials, total, cfg.target);
        if (json_path && !rc) rc = write_json(json_path, &g, &cfg, trials, total, sum);
        if ((want_diag || plot_dir) && !interrupted) {
            cli_pick (*picks)[CLI_PICKS] = calloc((size_t)g.n, sizeof *picks);
            double *fl = malloc((size_t)restarts * sizeof(double));
            cfg.keep_curves = 0;
            cfg.on_trial = NULL;
            for (int s = 0; picks && fl && s < g.n; s++) {
                if (sum[s].best < 0) continue;
                /* typical failure: the failed trial with the median final loss among failures */
                long mid = -1;
                int nfail = 0;
                for (int r = 0; r < restarts; r++) {
                    const nf_trial *t = &trials[(long)s * restarts + r];
                    if (t->done && !t->success) fl[nfail++] = t->final_loss;
                }
                if (nfail) {
                    qsort(fl, (size_t)nfail, sizeof(double), cmp_double);
                    double med = fl[(nfail - 1) / 2];
                    for (int r = 0; r < restarts && mid < 0; r++) {
                        const nf_trial *t = &trials[(long)s * restarts + r];
                        if (t->done && !t->success && t->final_loss == med) mid = (long)s * restarts + r;
                    }
                }
                const long which[CLI_PICKS] = {sum[s].best, mid, sum[s].worst};
                for (int k = 0; k < CLI_PICKS; k++) {
                    if (which[k] < 0 || (k == 2 && which[2] == which[0]) || (k == 2 && which[2] == mid)) continue;
                    nf_trial tr;
                    picks[s][k].trial = which[k];
                    if (nf_sweep_trial(&cfg, s, trials[which[k]].restart, &tr, &picks[s][k].model))
                        picks[s][k].model = NULL;
                    if (!want_diag || !picks[s][k].model) continue;
                    nf_unit_diag *u = NULL;
                    int nu = 0;
                    if (nf_diag_units(picks[s][k].model, X.data, X.rows, &cfg.diag, &u, &nu)) continue;
                    printf("\n# setting %d (%s), %s trial (seed %llu), final loss %.6e:\n", s, g.names[s].label,
                           k == 0 ? "best" : k == 1 ? "typical failed" : "worst", (unsigned long long)tr.seed,
                           tr.final_loss);
                    cli_print_units(stdout, u, nu, cfg.diag.dup_angle_deg);
                    free(u);
                }
            }
            if (plot_dir && picks && !rc) rc = cli_sweep_plots(plot_dir, &cfg, trials, sum, g.names, picks);
            for (int s = 0; picks && s < g.n; s++)
                for (int k = 0; k < CLI_PICKS; k++) nf_model_free(picks[s][k].model);
            free(picks);
            free(fl);
        }
        if (!rc && interrupted) rc = EXIT_RUN_FAILED;
    done_run:
        nf_trials_free(trials, trials ? total : 0);
        free(trials);
        free(sum);
        nf_mat_free(&X);
        nf_mat_free(&Y);
        nf_mat_free(&Xv);
        nf_mat_free(&Yv);
    }
done_grid:
    free(g.points);
    free(g.settings);
    free(g.names);
done_early:
    if (base_init) train_opts_free(&base);
    strlist_free(&opts);
    strlist_free(&acts);
    strlist_free(&inits);
    strlist_free(&layers);
    strlist_free(&lrs);
    strlist_free(&hidden);
    for (int k = 0; k < N_AID_AXES; k++) strlist_free(&aidl[k]);
    free(fixed);
    return rc < 0 ? 0 : rc;
}
