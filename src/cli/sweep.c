/* sweep.c — `nnfit sweep`: many restarts over a grid of run descriptions, with success rates,
 * rerun commands, CSV/JSON and pictures.  Every `nnfit train` option that shapes a run is taken,
 * and any option with a number or name value may be a comma-separated grid axis; a grid point
 * is built by the same option table and the same run description as `nnfit train`, so its
 * printed rerun command is the trial. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_opts.h"
#include "sweep_cli.h"

/* abs with 3 ReLUs: the hexagon solution has MSE ~1.07e-3 on 4096 U[-1,1]^2 samples, the
 * stuck minima 1.2e-2 and above; 2e-3 sits in the empty gap between them (README, Sweeps). */
#define ABS_DEFAULT_TARGET 2e-3

static atomic_int g_cancel;
static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_cancel, 1);
}

static void help(void)
{
    printf("usage: nnfit sweep [options]\n\n"
           "Trains every combination of the options given as lists, --restarts times each with seeds\n"
           "derived from --seed, and prints success rates.  Every option of `nnfit train` that shapes a\n"
           "run is taken, with the same meaning: a trial is `nnfit train` with its printed rerun command.\n\n");
    opt_help(stdout, CMD_SWEEP);
    printf("  --quiet                    no progress on stderr\n  --help, --version\n");
}

/* Options that steer the sweep itself rather than a run. */
static int is_control(const opt_row *r)
{
    static const char *const names[] = {"restarts", "jobs", "out", "json", "plot", "diag", "target",
                                        "list-optimizers"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(r->name, names[i])) return 1;
    return 0;
}

/* ---- the grid ---- */
typedef struct {
    const opt_row *row;
    char **v;                 /* values (NULL for a flag) */
    int n, preset, applied;   /* applied: grid points it went to */
} axis;

typedef struct {
    axis *ax;
    int n_ax;
    int n;                    /* settings */
    nf_run_spec *specs;
    cli_setting_name *names;
    unsigned char *choice;    /* [n * n_ax]: value index of each axis */
    unsigned char *used;      /* [n * n_ax]: 1 where the value went to the run (applies, not off) */
    int n_in, n_out, files;
} grid;

static int add_value(axis *x, const char *s, size_t len)
{
    for (int i = 0; i < x->n; i++)
        if (x->v[i] && strlen(x->v[i]) == len && !strncmp(x->v[i], s, len)) return 0; /* one grid point */
    char **v = realloc(x->v, (size_t)(x->n + 1) * sizeof *v);
    if (!v) return cli_usage_error("out of memory");
    x->v = v;
    x->v[x->n] = NULL;
    if (s && !(x->v[x->n] = strndup(s, len))) return cli_usage_error("out of memory");
    x->n++;
    return 0;
}

/* Every run option given, in table order, its value split into a list where it is an axis. */
static int collect_axes(const opt_list *l, grid *g)
{
    g->ax = calloc((size_t)l->n + 1, sizeof *g->ax);
    if (!g->ax) return cli_usage_error("out of memory");
    for (const opt_row *r = opt_find("task"); r && r->name; r++) {
        const opt_given *o = opt_get(l, r->name);
        if (!o || is_control(r)) continue;
        axis *x = &g->ax[g->n_ax++];
        x->row = r;
        x->preset = o->preset;
        if (!o->value) { if (add_value(x, NULL, 0)) return EXIT_USAGE; continue; }
        const char *p = o->value;
        for (;;) {
            const char *e = r->axis ? strchr(p, r->axis) : NULL;
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!len) return cli_usage_error("--%s: empty item in '%s'", r->name, o->value);
            if (add_value(x, p, len)) return EXIT_USAGE;
            if (!e) break;
            p = e + 1;
        }
        if (x->n > 255) return cli_usage_error("--%s: more than 255 values", r->name);
    }
    return 0;
}

static void axes_free(grid *g)
{
    for (int k = 0; k < g->n_ax; k++) {
        for (int i = 0; i < g->ax[k].n; i++) free(g->ax[k].v[i]);
        free(g->ax[k].v);
    }
    free(g->ax);
    free(g->specs);
    free(g->names);
    free(g->choice);
    free(g->used);
}

/* Text of setting s's value of axis k (NULL: a flag). */
static const char *point_value(const grid *g, int s, int k)
{
    return g->ax[k].v[g->choice[(size_t)s * (size_t)g->n_ax + (size_t)k]];
}

static int point_has(const grid *g, int s, int k) { return g->used[(size_t)s * (size_t)g->n_ax + (size_t)k]; }

/* Builds grid point `index` (mixed radix over the axes, the last fastest) from `base`. */
static int build_point(grid *g, long index, const cli_args *base, int s)
{
    cli_args a = *base;
    unsigned char *ch = &g->choice[(size_t)s * (size_t)g->n_ax], *used = &g->used[(size_t)s * (size_t)g->n_ax];
    long rest = index;
    for (int k = g->n_ax - 1; k >= 0; k--) {
        ch[k] = (unsigned char)(rest % g->ax[k].n);
        rest /= g->ax[k].n;
    }
    for (int k = 0; k < g->n_ax; k++) { /* table order: --opt, --act, --loss before what depends on them */
        const opt_row *r = g->ax[k].row;
        const char *v = g->ax[k].v[ch[k]];
        if (!opt_applies_to(r, &a.run) || opt_is_off(r, v)) continue;
        int rc = opt_apply(&a, r, v);
        if (rc) return rc;
        used[k] = 1;
        g->ax[k].applied++;
    }
    if (a.hidden) {
        if (a.run.n_sizes) return cli_usage_error("give --hidden or --layers, not both");
        a.run.sizes[0] = g->n_in;
        a.run.sizes[1] = atoi(a.hidden);
        a.run.sizes[2] = g->n_out;
        a.run.n_sizes = 3;
    }
    if (nf_run_resolve(&a.run, g->files ? g->n_in : 0, g->files ? g->n_out : 0))
        return cli_usage_error("%s", nf_last_error());
    g->specs[s] = a.run;
    return 0;
}

/* The shell command that reruns one trial of setting s alone. */
static void rerun_command(const grid *g, int s, uint64_t seed, char *buf, size_t cap)
{
    snprintf(buf, cap, "nnfit train");
    const nf_run_spec *r = &g->specs[s];
    for (int k = 0; k < g->n_ax; k++) {
        const opt_row *row = g->ax[k].row;
        if (!point_has(g, s, k) || !strcmp(row->name, "seed")) continue;
        if (!strcmp(row->name, "hidden")) {
            char sizes[64];
            snprintf(sizes, sizeof sizes, "%d,%d,%d", r->sizes[0], r->sizes[1], r->sizes[2]);
            cli_append_option(buf, cap, "layers", sizes);
            continue;
        }
        cli_append_option(buf, cap, row->name, point_value(g, s, k));
    }
    char sd[32];
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
    cli_append_option(buf, cap, "seed", sd);
    cli_append_option(buf, cap, "threads", "1");
}

/* Options the label leaves out: the head names them (optimizer and its hyperparameters,
 * activation, initialiser, sizes) or they are the same for every setting (data, seed). */
static int label_skips(const opt_row *r)
{
    static const char *const names[] = {"opt", "act", "init", "layers", "hidden", "seed", "task", "n", "frame",
                                        "taps", "fir-single", "dft-complex", "dft-full", "orthonormal",
                                        "data-seed", "val-n", "data", "inputs", "x", "y", "val", "val-split",
                                        "allow-nonfinite"};
    if (r->type == OT_HP) return 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(r->name, names[i])) return 1;
    return 0;
}

/* "sgd(momentum=0.9) relu glorot_uniform 2,3,1 batch=64": every setting that is not the
 * optimizer's or the run's default. */
static void make_name(grid *g, int s)
{
    const nf_run_spec *r = &g->specs[s];
    cli_setting_name *nm = &g->names[s];
    char opt[256], shape[96] = "";
    nf_opt_label(&r->train.opt, opt, sizeof opt);
    for (int i = 0, pos = 0; i < r->n_sizes && pos < (int)sizeof shape; i++)
        pos += snprintf(shape + pos, sizeof shape - (size_t)pos, i ? ",%d" : "%d", r->sizes[i]);
    size_t pos = (size_t)snprintf(nm->label, sizeof nm->label, "%s %s %s %s", opt, nf_act_name(r->act.kind),
                                  nf_init_name(r->init.kind), shape);
    for (int k = 0; k < g->n_ax && pos < sizeof nm->label; k++) {
        const opt_row *row = g->ax[k].row;
        const char *v = point_value(g, s, k);
        if (label_skips(row) || (!point_has(g, s, k) && !opt_is_off(row, v))) continue;
        if (v) pos += (size_t)snprintf(nm->label + pos, sizeof nm->label - pos, " %s=%s", row->name, v);
        else pos += (size_t)snprintf(nm->label + pos, sizeof nm->label - pos, " %s", row->name);
    }
    snprintf(nm->file, sizeof nm->file, "s%02d_%s_%s_%s_", s, nf_opt_name(r->train.opt.kind), nf_act_name(r->act.kind),
             nf_init_name(r->init.kind));
    pos = strlen(nm->file);
    for (const char *q = shape; *q && pos + 1 < sizeof nm->file; q++) nm->file[pos++] = *q == ',' ? '-' : *q;
    nm->file[pos] = '\0';
    snprintf(nm->file + pos, sizeof nm->file - pos, "_lr%g", r->train.opt.lr);
}

/* An explicit option that reaches no grid point (e.g. --momentum with only adam) is an error. */
static int check_unused(const grid *g)
{
    for (int k = 0; k < g->n_ax; k++) {
        const axis *x = &g->ax[k];
        if (x->applied || x->preset) continue;
        const opt_row *r = x->row;
        if (r->type == OT_HP) {
            char readers[512] = "";
            size_t pos = 0;
            for (int o = 0; o < NF_OPT_COUNT && pos < sizeof readers; o++)
                if (nf_opt_reads((nf_opt_kind)o, r->hp))
                    pos += (size_t)snprintf(readers + pos, sizeof readers - pos, "%s%s", pos ? " " : "",
                                            nf_opt_name((nf_opt_kind)o));
            return cli_usage_error("--%s applies to none of the sweep's optimizers (it is read by: %s)", r->name,
                                   readers);
        }
        if (r->applies == AP_ACT_PARAM)
            return cli_usage_error("--%s applies only to leaky_relu and elu, and no grid point has them", r->name);
        if (r->applies == AP_HUBER) return cli_usage_error("--%s applies only to --loss huber", r->name);
        if (r->applies == AP_MINIBATCH)
            return cli_usage_error("--%s is a training aid for mini-batch optimizers, and the sweep has only lbfgs/lm",
                                   r->name);
    }
    return 0;
}

static int build_grid(grid *g, const opt_list *l, const cli_args *base)
{
    int rc = collect_axes(l, g);
    if (rc) return rc;
    long n = 1;
    for (int k = 0; k < g->n_ax; k++) {
        n *= g->ax[k].n;
        if (n > 100000) return cli_usage_error("grid too large (more than 100000 settings)");
    }
    g->specs = calloc((size_t)n, sizeof *g->specs);
    g->names = calloc((size_t)n, sizeof *g->names);
    g->choice = calloc((size_t)n * (size_t)(g->n_ax ? g->n_ax : 1), 1);
    g->used = calloc((size_t)n * (size_t)(g->n_ax ? g->n_ax : 1), 1);
    if (!g->specs || !g->names || !g->choice || !g->used) return cli_usage_error("out of memory for %ld settings", n);
    for (long i = 0; i < n; i++) {
        if ((rc = build_point(g, i, base, (int)i))) {
            char where[1024] = "";
            for (int k = 0; k < g->n_ax; k++)
                if (g->ax[k].n > 1 && point_value(g, (int)i, k) && (g->ax[k].row->applies == AP_ALL || point_has(g, (int)i, k)))
                    cli_append_option(where, sizeof where, g->ax[k].row->name, point_value(g, (int)i, k));
            if (*where) fprintf(stderr, "%s: (in the grid point%s)\n", cli_prog, where);
            return rc;
        }
        g->n = (int)i + 1;
        make_name(g, (int)i);
    }
    return check_unused(g);
}
/* ---- output ---- */
static void csv_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* Column name of an axis: the option in snake case. */
static void snake(const char *name, char *buf, size_t cap)
{
    size_t j = 0;
    for (const char *q = name; *q && j + 1 < cap; q++) buf[j++] = *q == '-' ? '_' : *q;
    buf[j] = '\0';
}

/* Text of setting s's shape ("2,3,1"). */
static void shape_text(const nf_run_spec *r, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n_sizes && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, i ? ",%d" : "%d", r->sizes[i]);
}

/* Whether an option's column name is already one of the fixed columns (which hold the resolved
 * value; the option's column then holds the text given, as given_NAME). */
static int fixed_column(const char *col)
{
    static const char *const fixed[] = {"opt", "act", "init", "layers", "lr", "seed", "target"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(col, fixed[i])) return 1;
    return 0;
}

/* One row per finished trial; the first 22 columns are fixed, then the setting's label and one
 * column per option given (empty where it does not apply or is off). */
static int write_csv(const char *path, const grid *g, const nf_trial *t, long total, double target)
{
    nf_out out;
    if (nf_out_open(&out, path)) return cli_usage_error("--out %s", nf_last_error());
    FILE *f = out.f;
    fprintf(f, "setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss,best_loss,"
               "target_epoch,epochs_run,diverged_epoch,dead,always_on,duplicate,parallel,seconds,target,command,label");
    for (int k = 0; k < g->n_ax; k++) {
        char col[64];
        snake(g->ax[k].row->name, col, sizeof col);
        fprintf(f, ",%s%s", fixed_column(col) ? "given_" : "", col);
    }
    fputc('\n', f);
    char cmd[4096], shape[128];
    for (long i = 0; i < total; i++) {
        if (!t[i].done) continue;
        const int s = t[i].setting;
        const nf_run_spec *r = &g->specs[s];
        shape_text(r, shape, sizeof shape);
        fprintf(f, "%d,%s,%s,%s,", s, nf_opt_name(r->train.opt.kind), nf_act_name(r->act.kind),
                nf_init_name(r->init.kind));
        csv_quoted(f, shape);
        fprintf(f, ",%.9g,%d,%llu,%d,%d,%.9e,%.9e,%d,%d,%d,%d,%d,%d,%d,%.6f,%g,", r->train.opt.lr, t[i].restart,
                (unsigned long long)t[i].seed, t[i].done, t[i].success, t[i].final_loss, t[i].best_loss,
                t[i].target_epoch, t[i].epochs_run, t[i].diverged_epoch, t[i].dead, t[i].always_on,
                t[i].duplicate, t[i].parallel, t[i].seconds, target);
        rerun_command(g, s, t[i].seed, cmd, sizeof cmd);
        csv_quoted(f, cmd);
        fputc(',', f);
        csv_quoted(f, g->names[s].label);
        for (int k = 0; k < g->n_ax; k++) { /* empty where the option does not apply */
            const char *v = point_value(g, s, k);
            fputc(',', f);
            if (!point_has(g, s, k) && !opt_is_off(g->ax[k].row, v)) continue;
            if (!v) fputc('1', f);
            else if (strpbrk(v, ",\"\n")) csv_quoted(f, v);
            else fputs(v, f);
        }
        fputc('\n', f);
    }
    if (nf_out_commit(&out)) return cli_usage_error("--out %s", nf_last_error());
    return 0;
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *json_setting(const grid *g, int s, const nf_sweep_summary *x, const nf_trial *t)
{
    const nf_run_spec *r = &g->specs[s];
    cJSON *o = cJSON_CreateObject();
    char shape[128], cmd[4096], col[64];
    shape_text(r, shape, sizeof shape);
    cJSON_AddNumberToObject(o, "setting", s);
    cJSON_AddStringToObject(o, "label", g->names[s].label);
    cJSON_AddStringToObject(o, "opt", nf_opt_name(r->train.opt.kind));
    cJSON_AddStringToObject(o, "act", nf_act_name(r->act.kind));
    cJSON_AddStringToObject(o, "init", nf_init_name(r->init.kind));
    cJSON_AddStringToObject(o, "layers", shape);
    cJSON_AddNumberToObject(o, "lr", r->train.opt.lr);
    cJSON *opts = cJSON_AddObjectToObject(o, "options");
    for (int k = 0; k < g->n_ax; k++) {
        if (!point_has(g, s, k)) continue;
        snake(g->ax[k].row->name, col, sizeof col);
        const char *v = point_value(g, s, k);
        if (v) cJSON_AddStringToObject(opts, col, v);
        else cJSON_AddTrueToObject(opts, col);
    }
    static const struct {
        const char *key;
        size_t off;
    } reals[] = {
        {"success_rate", offsetof(nf_sweep_summary, rate)},
        {"wilson95_lo", offsetof(nf_sweep_summary, rate_lo)},
        {"wilson95_hi", offsetof(nf_sweep_summary, rate_hi)},
        {"median_final_loss", offsetof(nf_sweep_summary, median)},
        {"p10_final_loss", offsetof(nf_sweep_summary, p10)},
        {"p90_final_loss", offsetof(nf_sweep_summary, p90)},
        {"median_epochs_to_target", offsetof(nf_sweep_summary, median_epochs)},
        {"mean_dead", offsetof(nf_sweep_summary, mean_dead)},
        {"mean_always_on", offsetof(nf_sweep_summary, mean_always_on)},
        {"mean_duplicate", offsetof(nf_sweep_summary, mean_duplicate)},
        {"mean_parallel", offsetof(nf_sweep_summary, mean_parallel)},
        {"trials_per_second", offsetof(nf_sweep_summary, trials_per_second)},
    };
    cJSON_AddNumberToObject(o, "trials", (double)x->n);
    cJSON_AddNumberToObject(o, "successes", (double)x->successes);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        cJSON_AddItemToObject(o, reals[i].key, num_or_null(*(const double *)((const char *)x + reals[i].off)));
    if (x->best >= 0) {
        rerun_command(g, s, t[x->best].seed, cmd, sizeof cmd);
        cJSON_AddStringToObject(o, "best_command", cmd);
        rerun_command(g, s, t[x->worst].seed, cmd, sizeof cmd);
        cJSON_AddStringToObject(o, "worst_command", cmd);
    }
    return o;
}

static cJSON *json_trial(const nf_trial *t)
{
    cJSON *o = cJSON_CreateObject();
    char seed[32];
    cJSON_AddNumberToObject(o, "setting", t->setting);
    cJSON_AddNumberToObject(o, "restart", t->restart);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
    cJSON_AddStringToObject(o, "seed", seed); /* string: 64-bit does not fit a double */
    cJSON_AddBoolToObject(o, "success", t->success);
    cJSON_AddItemToObject(o, "final_loss", num_or_null(t->final_loss));
    cJSON_AddItemToObject(o, "best_loss", num_or_null(t->best_loss));
    static const struct {
        const char *key;
        size_t off;
    } ints[] = {
        {"target_epoch", offsetof(nf_trial, target_epoch)}, {"epochs_run", offsetof(nf_trial, epochs_run)},
        {"diverged_epoch", offsetof(nf_trial, diverged_epoch)}, {"dead", offsetof(nf_trial, dead)},
        {"always_on", offsetof(nf_trial, always_on)}, {"duplicate", offsetof(nf_trial, duplicate)},
        {"parallel", offsetof(nf_trial, parallel)},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        cJSON_AddNumberToObject(o, ints[i].key, *(const int *)((const char *)t + ints[i].off));
    cJSON_AddNumberToObject(o, "seconds", t->seconds);
    return o;
}

static int write_json(const char *path, const grid *g, const nf_sweep_config *cfg, const nf_trial *t,
                      long total, const nf_sweep_summary *sum)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "seed", (double)cfg->seed);
    cJSON_AddNumberToObject(root, "restarts", cfg->restarts);
    cJSON_AddNumberToObject(root, "target", cfg->target);
    cJSON *settings = cJSON_AddArrayToObject(root, "settings");
    for (int s = 0; s < g->n; s++) cJSON_AddItemToArray(settings, json_setting(g, s, &sum[s], t));
    cJSON *trials = cJSON_AddArrayToObject(root, "trials");
    for (long i = 0; i < total; i++)
        if (t[i].done) cJSON_AddItemToArray(trials, json_trial(&t[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return cli_usage_error("--json: out of memory");
    nf_out out;
    if (nf_out_open(&out, path)) {
        free(text);
        return cli_usage_error("--json %s", nf_last_error());
    }
    fputs(text, out.f);
    fputc('\n', out.f);
    free(text);
    if (nf_out_commit(&out)) return cli_usage_error("--json %s", nf_last_error());
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

/* The best, a typical failed and the worst trial of every setting, retrained for --diag and the
 * surface pictures. */
static int pictures(const grid *g, nf_sweep_config *cfg, const nf_trial *trials, const nf_sweep_summary *sum,
                    int want_diag, const char *plot_dir)
{
    const int restarts = cfg->restarts;
    int rc = 0;
    cli_pick (*picks)[CLI_PICKS] = calloc((size_t)g->n, sizeof *picks);
    double *fl = malloc((size_t)restarts * sizeof(double));
    cfg->keep_curves = 0;
    cfg->on_trial = NULL;
    for (int s = 0; picks && fl && s < g->n; s++) {
        if (sum[s].best < 0) continue;
        long mid = -1; /* the failed trial with the median final loss among failures */
        int nfail = 0;
        for (int r = 0; r < restarts; r++) {
            const nf_trial *t = &trials[(long)s * restarts + r];
            if (t->done && !t->success) fl[nfail++] = t->final_loss;
        }
        if (nfail) {
            qsort(fl, (size_t)nfail, sizeof(double), cmp_double);
            const double med = fl[(nfail - 1) / 2];
            for (int r = 0; r < restarts && mid < 0; r++) {
                const nf_trial *t = &trials[(long)s * restarts + r];
                if (t->done && !t->success && t->final_loss == med) mid = (long)s * restarts + r;
            }
        }
        const long which[CLI_PICKS] = {sum[s].best, mid, sum[s].worst};
        for (int k = 0; k < CLI_PICKS; k++) {
            if (which[k] < 0 || (k == 2 && (which[2] == which[0] || which[2] == mid))) continue;
            nf_trial tr;
            picks[s][k].trial = which[k];
            if (nf_sweep_trial(cfg, s, trials[which[k]].restart, &tr, &picks[s][k].model)) picks[s][k].model = NULL;
            if (!want_diag || !picks[s][k].model) continue;
            nf_unit_diag *u = NULL;
            int nu = 0;
            if (nf_diag_units(picks[s][k].model, cfg->X->data, cfg->X->rows, &cfg->diag, &u, &nu)) continue;
            printf("\n# setting %d (%s), %s trial (seed %llu), final loss %.6e:\n", s, g->names[s].label,
                   k == 0 ? "best" : k == 1 ? "typical failed" : "worst", (unsigned long long)tr.seed, tr.final_loss);
            if (nu) cli_print_units(stdout, u, nu, cfg->diag.dup_angle_deg);
            else printf("(no hidden layer: a linear model has no units to diagnose)\n");
            free(u);
        }
    }
    if (!picks || !fl) rc = cli_usage_error("out of memory");
    if (plot_dir && picks && !rc) rc = cli_sweep_plots(plot_dir, cfg, trials, sum, g->names, picks);
    for (int s = 0; picks && s < g->n; s++)
        for (int k = 0; k < CLI_PICKS; k++) nf_model_free(picks[s][k].model);
    free(picks);
    free(fl);
    return rc;
}

/* Runs the trials with Ctrl-C and SIGTERM stopping the sweep (finished trials are kept). */
static nf_status run_trials(nf_sweep_config *cfg, nf_trial *trials, long *n_done)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    atomic_store(&g_cancel, 0);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    nf_status st = nf_sweep_run(cfg, trials, n_done);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return st;
}

static int write_results(const cli_args *a, const grid *g, nf_sweep_config *cfg, nf_trial *trials,
                         nf_sweep_summary *sum, int interrupted)
{
    const long total = (long)g->n * cfg->restarts;
    int rc = 0;
    nf_sweep_summarize(trials, g->n, cfg->restarts, sum);
    print_summary(g, cfg, trials, sum);
    if (a->out) rc = write_csv(a->out, g, trials, total, cfg->target);
    if (!rc && a->json) rc = write_json(a->json, g, cfg, trials, total, sum);
    if (!rc && (a->diag || a->plot) && !interrupted) rc = pictures(g, cfg, trials, sum, a->diag, a->plot);
    return rc;
}

/* The sweep's own options and every option given without a list apply to the base. */
static int prepare(int argc, char **argv, cli_args *a, opt_list *l, grid *g, nf_mat *X, nf_mat *Y, nf_mat *Xv,
                   nf_mat *Yv)
{
    int rc = opt_parse(CMD_SWEEP, argc, argv, l);
    if (rc) return rc;
    if (l->help) return help(), -1;
    if (l->version) return printf("nnfit %s\n", NNFIT_VERSION), -1;
    for (int i = 0; i < l->n; i++)
        if (!l->v[i].row->axis && (rc = opt_apply(a, l->v[i].row, l->v[i].value))) return rc;
    if (a->list_optimizers) return opt_list_optimizers(stdout), -1;
    if ((rc = data_opts_check(a, l)) || (rc = cli_load_taps(a))) return rc;
    /* outputs are checked before any work */
    if ((a->out && (rc = cli_out_check("out", a->out))) || (a->json && (rc = cli_out_check("json", a->json))) ||
        (a->plot && (rc = cli_plot_dir_check("plot", a->plot))))
        return rc;
    g->files = data_opts_given(a);
    if ((rc = data_opts_load_any(a, X, Y, Xv, Yv))) return rc;
    g->n_in = X->cols;
    g->n_out = Y->cols;
    if (!(a->run.train.target_loss > 0)) {
        if (g->files || a->run.task.kind != NF_TASK_ABS)
            return cli_usage_error("--target LOSS is required for %s (only task abs has a default)",
                                   g->files ? "your data" : nf_task_name(a->run.task.kind));
        a->run.train.target_loss = ABS_DEFAULT_TARGET;
    }
    return build_grid(g, l, a);
}

int cmd_sweep(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    opt_list l;
    grid g;
    memset(&g, 0, sizeof g);
    nf_mat X = {0}, Y = {0}, Xv = {0}, Yv = {0};
    nf_trial *trials = NULL;
    nf_sweep_summary *sum = NULL;
    long total = 0;
    int rc = prepare(argc, argv, &a, &l, &g, &X, &Y, &Xv, &Yv);
    if (rc) goto done;
    nf_sweep_config cfg;
    nf_sweep_defaults(&cfg);
    cfg.X = &X;
    cfg.Y = &Y;
    cfg.val_X = Xv.rows ? &Xv : NULL;
    cfg.val_Y = Xv.rows ? &Yv : NULL;
    cfg.settings = g.specs;
    cfg.n_settings = g.n;
    cfg.restarts = a.restarts;
    cfg.seed = a.run.seed;
    cfg.jobs = a.jobs ? a.jobs : default_jobs();
    cfg.target = a.run.train.target_loss;
    cfg.keep_curves = a.plot != NULL;
    cfg.cancel = &g_cancel;
    total = (long)g.n * a.restarts;
    trials = calloc((size_t)total, sizeof *trials);
    sum = calloc((size_t)g.n, sizeof *sum);
    if (!trials || !sum) { rc = cli_usage_error("out of memory for %ld trials", total); goto done; }
    prog_ctx pc = {0};
    cli_progress_start(&pc.bar, "sweep", total);
    cfg.on_trial = on_trial;
    cfg.ctx = &pc;
    long n_done = 0;
    nf_status st = run_trials(&cfg, trials, &n_done);
    cli_progress_end(&pc.bar);
    const int interrupted = st == NF_EINTERRUPTED;
    if (st && !interrupted) { rc = cli_status_error(st); goto done; }
    if (interrupted) fprintf(stderr, "%s: interrupted: %ld of %ld trials finished; writing those\n", cli_prog, n_done, total);
    rc = write_results(&a, &g, &cfg, trials, sum, interrupted);
    if (!rc && interrupted) rc = EXIT_RUN_FAILED;
done:
    nf_trials_free(trials, trials ? total : 0);
    free(trials);
    free(sum);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_mat_free(&Xv);
    nf_mat_free(&Yv);
    axes_free(&g);
    opt_list_free(&l);
    cli_args_free(&a);
    return rc < 0 ? 0 : rc;
}
