/* sweep.c — `nnfit sweep`: many restarts over a grid of run descriptions, with success rates,
 * time to target, paired comparisons, rerun commands, CSV/JSON, pictures and a report.  Every
 * `nnfit train` option that shapes a run is taken, and any option with a number or name value
 * may be a comma-separated grid axis; a grid point is built by the same option table and the
 * same run description as `nnfit train`, so its printed rerun command is the trial.
 *
 * Several problems: --task A,B or --data F1,F2 (with --inputs K or K1,K2 and --target T or
 * T1,T2) make the problem the slowest axis; every other axis is crossed with every problem,
 * except that a --layers value that does not fit a problem's data is left out there.
 * Tuning budgets (--tune, sweep_tune.c) pick each grid point's configuration on tuning seeds,
 * then the settings reported here run on the evaluation seeds.
 * --journal FILE keeps every finished trial; the same command again runs only the others. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_opts.h"
#include "mpi_cli.h"
#include "report.h"
#include "sweep_internal.h"

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
           "derived from --seed, and prints success rates, time to target and paired comparisons with the\n"
           "best setting.  Every option of `nnfit train` that shapes a run is taken, with the same meaning:\n"
           "a trial is `nnfit train` with its printed rerun command.\n\n");
    opt_help(stdout, CMD_SWEEP);
    printf("  --quiet                    no progress on stderr\n  --help, --version\n\n"
           "Tuning: with --tune NAME=LO:HI[:log] (repeatable), each grid point runs --budget configurations\n"
           "(scrambled Sobol points over the ranges; an option is tuned only where it applies) on\n"
           "--tune-restarts seeds, picks the best by --select, and reports that configuration on --restarts\n"
           "fresh seeds: tuning seeds are derive(SEED, 2^24 + j), evaluation seeds derive(SEED, r).  Under\n"
           "mpirun write --tune=NAME=LO:HI (Open MPI's mpirun reads a separate --tune as its own option); every\n"
           "rank runs the tuning trials itself, and the evaluation trials are shared out.\n");
}

/* Options that steer the sweep itself rather than a run. */
static int is_control(const opt_row *r)
{
    static const char *const names[] = {"restarts", "jobs", "out", "json", "plot", "diag", "target",
                                        "list-optimizers", "report", "journal", "ttt-unit", "tune", "budget",
                                        "tune-restarts", "select", "halving"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(r->name, names[i])) return 1;
    return 0;
}

/* ---- the grid ---- */

static int add_value(sweep_axis *x, const char *s, size_t len, int dedup)
{
    for (int i = 0; dedup && i < x->n; i++)
        if (x->v[i] && strlen(x->v[i]) == len && !strncmp(x->v[i], s, len)) return 0; /* one grid point */
    char **v = realloc(x->v, (size_t)(x->n + 1) * sizeof *v);
    if (!v) return cli_usage_error("out of memory");
    x->v = v;
    x->v[x->n] = NULL;
    if (s && !(x->v[x->n] = strndup(s, len))) return cli_usage_error("out of memory");
    x->n++;
    return 0;
}

static int tuned_index(const sweep_tuning *tu, const opt_row *r)
{
    const sweep_range *rg;
    int n = tu ? sweep_tune_ranges(tu, &rg) : 0;
    for (int i = 0; i < n; i++)
        if (rg[i].row == r) return i;
    return -1;
}

/* Every run option given, in table order, its value split into a list where it is an axis;
 * tuned options are axes whose values are the configurations'. */
static int collect_axes(const opt_list *l, sweep_grid *g, const sweep_tuning *tu)
{
    const sweep_range *rg;
    const int n_tuned = tu ? sweep_tune_ranges(tu, &rg) : 0;
    g->ax = calloc((size_t)l->n + (size_t)n_tuned + 1, sizeof *g->ax);
    if (!g->ax) return cli_usage_error("out of memory");
    g->problem_axis = g->inputs_axis = -1;
    for (const opt_row *r = opt_find("task"); r && r->name; r++) {
        const opt_given *o = opt_get(l, r->name);
        const int ti = tuned_index(tu, r);
        if (ti >= 0) {
            if (o) return cli_usage_error("--%s is given and tuned (--tune %s=...): give one of them", r->name, r->name);
            sweep_axis *x = &g->ax[g->n_ax++];
            x->row = r;
            x->tuned = ti + 1;
            for (int c = 0; c < sweep_tune_budget(tu); c++) {
                const char *v = sweep_tune_value(tu, ti, c);
                if (add_value(x, v, strlen(v), 0)) return EXIT_USAGE;
            }
            continue;
        }
        if (!o || is_control(r)) continue;
        sweep_axis *x = &g->ax[g->n_ax++];
        x->row = r;
        x->preset = o->preset;
        if (!strcmp(r->name, "task") || !strcmp(r->name, "data")) g->problem_axis = g->n_ax - 1;
        if (!strcmp(r->name, "inputs")) g->inputs_axis = g->n_ax - 1;
        if (!o->value) { if (add_value(x, NULL, 0, 1)) return EXIT_USAGE; continue; }
        const char *p = o->value;
        for (;;) {
            const char *e = r->axis ? strchr(p, r->axis) : NULL;
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!len) return cli_usage_error("--%s: empty item in '%s'", r->name, o->value);
            /* --inputs goes with --data one to one, so its values may repeat */
            if (add_value(x, p, len, g->inputs_axis != g->n_ax - 1)) return EXIT_USAGE;
            if (!e) break;
            p = e + 1;
        }
        if (x->n > 255) return cli_usage_error("--%s: more than 255 values", r->name);
    }
    return 0;
}

void sweep_grid_free(sweep_grid *g)
{
    if (g->owner) {
        for (int k = 0; k < g->n_ax; k++) {
            for (int i = 0; i < g->ax[k].n; i++) free(g->ax[k].v[i]);
            free(g->ax[k].v);
        }
        free(g->ax);
        for (int p = 0; g->problems && p < g->n_problems; p++) {
            nf_mat_free(&g->problems[p].X);
            nf_mat_free(&g->problems[p].Y);
            nf_mat_free(&g->problems[p].Xv);
            nf_mat_free(&g->problems[p].Yv);
        }
        free(g->problems);
    }
    free(g->specs);
    free(g->names);
    free(g->choice);
    free(g->used);
    free(g->problem);
    memset(g, 0, sizeof *g);
}

static int grid_alloc(sweep_grid *g, int n)
{
    const size_t cells = (size_t)(n ? n : 1) * (size_t)(g->n_ax ? g->n_ax : 1);
    g->specs = calloc((size_t)(n ? n : 1), sizeof *g->specs);
    g->names = calloc((size_t)(n ? n : 1), sizeof *g->names);
    g->choice = calloc(cells, 1);
    g->used = calloc(cells, 1);
    g->problem = calloc((size_t)(n ? n : 1), sizeof *g->problem);
    if (!g->specs || !g->names || !g->choice || !g->used || !g->problem)
        return cli_usage_error("out of memory for %d settings", n);
    return 0;
}

int sweep_grid_derive(sweep_grid *out, const sweep_grid *g, int n)
{
    memset(out, 0, sizeof *out);
    out->ax = g->ax;
    out->n_ax = g->n_ax;
    out->problems = g->problems;
    out->n_problems = g->n_problems;
    out->problem_axis = g->problem_axis;
    out->inputs_axis = g->inputs_axis;
    out->files = g->files;
    out->base = g->base;
    return grid_alloc(out, n);
}

const char *sweep_value(const sweep_grid *g, int s, int k)
{
    return g->ax[k].v[g->choice[(size_t)s * (size_t)g->n_ax + (size_t)k]];
}

int sweep_has(const sweep_grid *g, int s, int k) { return g->used[(size_t)s * (size_t)g->n_ax + (size_t)k]; }

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
 * optimizer's or the run's default; with several problems, the problem first ("abs: ..."). */
static void make_name(sweep_grid *g, int s)
{
    const nf_run_spec *r = &g->specs[s];
    cli_setting_name *nm = &g->names[s];
    char opt[256], shape[96] = "", prob[80] = "";
    nf_opt_label(&r->train.opt, opt, sizeof opt);
    for (int i = 0, pos = 0; i < r->n_sizes && pos < (int)sizeof shape; i++)
        pos += snprintf(shape + pos, sizeof shape - (size_t)pos, i ? ",%d" : "%d", r->sizes[i]);
    if (g->n_problems > 1) {
        const char *pn = g->problems[g->problem[s]].name, *slash = strrchr(pn, '/');
        snprintf(prob, sizeof prob, "%.60s: ", slash ? slash + 1 : pn);
    }
    size_t pos = (size_t)snprintf(nm->label, sizeof nm->label, "%s%s %s %s %s", prob, opt, nf_act_name(r->act.kind),
                                  nf_init_name(r->init.kind), shape);
    for (int k = 0; k < g->n_ax && pos < sizeof nm->label; k++) {
        const opt_row *row = g->ax[k].row;
        const char *v = sweep_value(g, s, k);
        if (label_skips(row) || (!sweep_has(g, s, k) && !opt_is_off(row, v))) continue;
        if (g->ax[k].tuned && !sweep_has(g, s, k)) continue;
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

int sweep_build(sweep_grid *g, int s, const unsigned char *choice_in, int config)
{
    cli_args a = *g->base;
    unsigned char *ch = &g->choice[(size_t)s * (size_t)g->n_ax], *used = &g->used[(size_t)s * (size_t)g->n_ax];
    for (int k = 0; k < g->n_ax; k++) {
        ch[k] = g->ax[k].tuned ? (unsigned char)(config >= 0 ? config : 0) : choice_in[k];
        used[k] = 0;
    }
    for (int k = 0; k < g->n_ax; k++) { /* table order: --opt, --act, --loss before what depends on them */
        const opt_row *r = g->ax[k].row;
        const char *v = g->ax[k].v[ch[k]];
        if (g->ax[k].tuned && config < 0) continue;
        if (!opt_applies_to(r, &a.run)) continue;
        if (opt_is_off(r, v)) { /* the aid switched off here: it reached this grid point */
            g->ax[k].applied++;
            continue;
        }
        int rc = opt_apply(&a, r, v);
        if (rc) return rc;
        used[k] = 1;
        g->ax[k].applied++;
    }
    const int p = g->problem_axis >= 0 ? ch[g->problem_axis] : 0;
    g->problem[s] = p;
    const sweep_problem *pb = &g->problems[p];
    const int n_in = pb->X.cols, n_out = pb->Y.cols;
    if (a.hidden) {
        if (a.run.n_sizes) return cli_usage_error("give --hidden or --layers, not both");
        a.run.sizes[0] = n_in;
        a.run.sizes[1] = atoi(a.hidden);
        a.run.sizes[2] = n_out;
        a.run.n_sizes = 3;
    }
    if (g->n_problems > 1 && a.run.n_sizes >= 2 &&
        (a.run.sizes[0] != n_in || a.run.sizes[a.run.n_sizes - 1] != n_out))
        return SWEEP_SKIP;
    if (nf_run_resolve(&a.run, g->files ? n_in : 0, g->files ? n_out : 0))
        return cli_usage_error("%s", nf_last_error());
    g->specs[s] = a.run;
    make_name(g, s);
    return 0;
}

static void command_options(const sweep_grid *g, int s, char *buf, size_t cap)
{
    snprintf(buf, cap, "nnfit train");
    const nf_run_spec *r = &g->specs[s];
    for (int k = 0; k < g->n_ax; k++) {
        const opt_row *row = g->ax[k].row;
        if (!sweep_has(g, s, k) || !strcmp(row->name, "seed")) continue;
        if (!strcmp(row->name, "hidden")) {
            char sizes[64];
            snprintf(sizes, sizeof sizes, "%d,%d,%d", r->sizes[0], r->sizes[1], r->sizes[2]);
            cli_append_option(buf, cap, "layers", sizes);
            continue;
        }
        cli_append_option(buf, cap, row->name, sweep_value(g, s, k));
    }
}

void sweep_setting_command(const sweep_grid *g, int s, char *buf, size_t cap) { command_options(g, s, buf, cap); }

void sweep_rerun_command(const sweep_grid *g, int s, uint64_t seed, char *buf, size_t cap)
{
    command_options(g, s, buf, cap);
    char sd[32];
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
    cli_append_option(buf, cap, "seed", sd);
    cli_append_option(buf, cap, "threads", "1");
}

void sweep_hp_readers(const opt_row *r, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int o = 0; o < NF_OPT_COUNT && pos < cap; o++)
        if (nf_opt_reads((nf_opt_kind)o, r->hp))
            pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", pos ? " " : "", nf_opt_name((nf_opt_kind)o));
}

/* An explicit option that reaches no grid point (e.g. --momentum with only adam) is an error. */
static int check_unused(const sweep_grid *g)
{
    for (int k = 0; k < g->n_ax; k++) {
        const sweep_axis *x = &g->ax[k];
        if (x->applied || x->preset || x->tuned) continue;
        const opt_row *r = x->row;
        if (r->type == OT_HP) {
            char readers[512];
            sweep_hp_readers(r, readers, sizeof readers);
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

static int build_grid(sweep_grid *g, const opt_list *l, const sweep_tuning *tu)
{
    int rc = collect_axes(l, g, tu);
    if (rc) return rc;
    long n = 1;
    for (int k = 0; k < g->n_ax; k++) {
        if (g->ax[k].tuned || k == g->inputs_axis) continue;
        n *= g->ax[k].n;
        if (n > 100000) return cli_usage_error("grid too large (more than 100000 settings)");
    }
    if ((rc = grid_alloc(g, (int)n))) return rc;
    unsigned char *ch = calloc((size_t)(g->n_ax ? g->n_ax : 1), 1);
    int *per_problem = calloc((size_t)g->n_problems, sizeof *per_problem);
    if (!ch || !per_problem) rc = cli_usage_error("out of memory");
    for (long i = 0; !rc && i < n; i++) {
        long rest = i; /* mixed radix over the ordinary axes, the last fastest */
        for (int k = g->n_ax - 1; k >= 0; k--) {
            if (g->ax[k].tuned || k == g->inputs_axis) continue;
            ch[k] = (unsigned char)(rest % g->ax[k].n);
            rest /= g->ax[k].n;
        }
        if (g->inputs_axis >= 0) /* one --inputs value for every file, or one per file */
            ch[g->inputs_axis] = g->ax[g->inputs_axis].n == 1 || g->problem_axis < 0 ? 0 : ch[g->problem_axis];
        rc = sweep_build(g, g->n, ch, -1);
        if (rc == SWEEP_SKIP) {
            rc = 0;
            continue;
        }
        if (rc) {
            char where[1024] = "";
            for (int k = 0; k < g->n_ax; k++) {
                const char *v = g->ax[k].v[ch[k]];
                if (!g->ax[k].tuned && g->ax[k].n > 1 && v && (g->ax[k].row->applies == AP_ALL || sweep_has(g, g->n, k)))
                    cli_append_option(where, sizeof where, g->ax[k].row->name, v);
            }
            if (*where) fprintf(stderr, "%s: (in the grid point%s)\n", cli_prog, where);
            break;
        }
        per_problem[g->problem[g->n]]++;
        g->n++;
    }
    for (int p = 0; !rc && p < g->n_problems; p++)
        if (!per_problem[p])
            rc = cli_usage_error("no grid point fits problem %s (its data maps %d -> %d): give --layers for it or use "
                                 "--hidden", g->problems[p].name, g->problems[p].X.cols, g->problems[p].Y.cols);
    free(ch);
    free(per_problem);
    if (rc) return rc;
    return check_unused(g);
}

/* ---- problems ---- */

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t mat_fingerprint(uint64_t h, const nf_mat *m)
{
    int shape[2] = {m->rows, m->cols};
    h = fnv_bytes(h, shape, sizeof shape);
    if (m->data) h = fnv_bytes(h, m->data, (size_t)m->rows * (size_t)m->cols * sizeof(float));
    return h;
}

/* Splits a comma list into at most cap items (each NUL-terminated in buf); -1 if more. */
static int split_list(const char *text, char *buf, size_t cap_buf, const char **items, int cap)
{
    snprintf(buf, cap_buf, "%s", text);
    int n = 0;
    for (char *p = buf;;) {
        if (n == cap) return -1;
        items[n++] = p;
        char *e = strchr(p, ',');
        if (!e) break;
        *e = '\0';
        p = e + 1;
    }
    return n;
}

/* The problems: every --task value or every --data file (one problem when neither is a list),
 * each with its rows and its target. */
static int load_problems(sweep_grid *g, const opt_list *l, cli_args *a)
{
    const opt_given *task = opt_get(l, "task"), *data = opt_get(l, "data"), *inputs = opt_get(l, "inputs");
    const opt_given *target = opt_get(l, "target");
    char tb[4096], db[4096], ib[1024], gb[1024];
    const char *tasks[256], *files[256], *ins[256], *targets[256];
    int nt = task ? split_list(task->value, tb, sizeof tb, tasks, 256) : 0;
    int nd = data ? split_list(data->value, db, sizeof db, files, 256) : 0;
    int ni = inputs ? split_list(inputs->value, ib, sizeof ib, ins, 256) : 0;
    int ng = target ? split_list(target->value, gb, sizeof gb, targets, 256) : 0;
    if (nt < 0 || nd < 0 || ni < 0 || ng < 0) return cli_usage_error("more than 256 problems");
    const int n = nd ? nd : nt ? nt : 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(nd ? files[i] : tasks[i], nd ? files[j] : tasks[j]))
                return cli_usage_error("--%s: '%s' is given twice", nd ? "data" : "task", nd ? files[i] : tasks[i]);
    if (ni > 1 && ni != nd)
        return cli_usage_error("--inputs has %d values for %d --data files: give one K, or one per file", ni, nd);
    if (ng > 1 && ng != n)
        return cli_usage_error("--target has %d values for %d problems: give one, or one per problem", ng, n);
    g->problems = calloc((size_t)n, sizeof *g->problems);
    if (!g->problems) return cli_usage_error("out of memory");
    g->n_problems = n;
    g->owner = 1;
    for (int p = 0; p < n; p++) {
        sweep_problem *pb = &g->problems[p];
        cli_args c = *a;
        int rc = 0;
        if (nd) {
            c.data = files[p];
            if (ni && (rc = opt_apply(&c, opt_find("inputs"), ins[ni > 1 ? p : 0]))) return rc;
            pb->is_file = 1;
            pb->inputs = c.inputs;
            snprintf(pb->name, sizeof pb->name, "%s", files[p]);
        } else {
            if (nt && (rc = opt_apply(&c, opt_find("task"), tasks[p]))) return rc;
            snprintf(pb->name, sizeof pb->name, "%s", data_opts_given(&c) ? data_opts_source(&c) : nf_task_name(c.run.task.kind));
            pb->is_file = data_opts_given(&c);
        }
        if (ng && cli_double("target", targets[ng > 1 ? p : 0], 1e-300, 1e300, &pb->target)) return EXIT_USAGE;
        if ((rc = data_opts_load_any(&c, &pb->X, &pb->Y, &pb->Xv, &pb->Yv))) return rc;
        if (!ng && !pb->is_file && c.run.task.kind == NF_TASK_ABS) pb->target = ABS_DEFAULT_TARGET;
        else if (!ng)
            return cli_usage_error("--target LOSS is required for %s (only task abs has a default)",
                                   pb->is_file ? "your data" : nf_task_name(c.run.task.kind));
        uint64_t h = mat_fingerprint(mat_fingerprint(0xcbf29ce484222325ULL, &pb->X), &pb->Y);
        pb->fingerprint = mat_fingerprint(mat_fingerprint(h, &pb->Xv), &pb->Yv);
    }
    if (nd > 1 && a->val) return cli_usage_error("--val goes with one --data file; use --val-split with several");
    a->run.train.target_loss = g->problems[0].target;
    return 0;
}

/* ---- time to target ---- */

double sweep_ttt(const nf_trial *t, nf_ttt_unit unit) { return nf_trial_time_to_target(t, unit); }

const char *sweep_ttt_name(nf_ttt_unit unit)
{
    return unit == NF_TTT_EVALS ? "evals" : unit == NF_TTT_SECONDS ? "seconds" : "epochs";
}

static const nf_quartiles *ttt_q(const nf_sweep_summary *x, nf_ttt_unit unit)
{
    return unit == NF_TTT_EVALS ? &x->ttt_evals : unit == NF_TTT_SECONDS ? &x->ttt_seconds : &x->ttt_epochs;
}

int sweep_better(double rate_a, double ttt_a, double loss_a, double rate_b, double ttt_b, double loss_b)
{
    if (isnan(loss_a)) loss_a = INFINITY;
    if (isnan(loss_b)) loss_b = INFINITY;
    if (rate_a != rate_b) return rate_a > rate_b ? -1 : 1;
    if (ttt_a != ttt_b) return ttt_a < ttt_b ? -1 : 1;
    if (loss_a != loss_b) return loss_a < loss_b ? -1 : 1;
    return 0;
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

static void csv_ttt(FILE *f, double v, int seconds)
{
    if (isinf(v)) fputs(",inf", f);
    else if (seconds) fprintf(f, ",%.6f", v);
    else fprintf(f, ",%.0f", v);
}

/* One row per finished trial; the first 25 columns are fixed, then the setting's label and one
 * column per option given (empty where it does not apply or is off). */
static int write_csv(const char *path, const sweep_grid *g, const nf_trial *t, long total)
{
    nf_out out;
    if (nf_out_open(&out, path)) return cli_usage_error("--out %s", nf_last_error());
    FILE *f = out.f;
    fprintf(f, "setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss,best_loss,"
               "target_epoch,epochs_run,diverged_epoch,dead,always_on,duplicate,parallel,seconds,target,"
               "ttt_epochs,ttt_evals,ttt_seconds,command,label");
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
        fprintf(f, ",%.9g,%d,%llu,%d,%d,%.9e,%.9e,%d,%d,%d,%d,%d,%d,%d,%.6f,%g", r->train.opt.lr, t[i].restart,
                (unsigned long long)t[i].seed, t[i].done, t[i].success, t[i].final_loss, t[i].best_loss,
                t[i].target_epoch, t[i].epochs_run, t[i].diverged_epoch, t[i].dead, t[i].always_on,
                t[i].duplicate, t[i].parallel, t[i].seconds, g->problems[g->problem[s]].target);
        csv_ttt(f, sweep_ttt(&t[i], NF_TTT_EPOCHS), 0);
        csv_ttt(f, sweep_ttt(&t[i], NF_TTT_EVALS), 0);
        csv_ttt(f, sweep_ttt(&t[i], NF_TTT_SECONDS), 1);
        fputc(',', f);
        sweep_rerun_command(g, s, t[i].seed, cmd, sizeof cmd);
        csv_quoted(f, cmd);
        fputc(',', f);
        csv_quoted(f, g->names[s].label);
        for (int k = 0; k < g->n_ax; k++) { /* empty where the option does not apply */
            const char *v = sweep_value(g, s, k);
            fputc(',', f);
            if (!sweep_has(g, s, k) && (g->ax[k].tuned || !opt_is_off(g->ax[k].row, v))) continue;
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

/* A time to target: a number, "inf" when never reached, null when undefined. */
static cJSON *ttt_json(double v)
{
    if (isinf(v) && v > 0) return cJSON_CreateString("inf");
    return num_or_null(v);
}

static cJSON *quartiles_json(const nf_quartiles *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "q1", ttt_json(q->q1));
    cJSON_AddItemToObject(o, "median", ttt_json(q->median));
    cJSON_AddItemToObject(o, "q3", ttt_json(q->q3));
    return o;
}

static cJSON *json_compare(const sweep_cmp *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "against", c->best);
    cJSON_AddNumberToObject(o, "pairs", (double)c->pairs);
    if (!c->tested) {
        cJSON_AddBoolToObject(o, "tested", 0);
        return o;
    }
    cJSON_AddBoolToObject(o, "tested", 1);
    cJSON *m = cJSON_AddObjectToObject(o, "success_mcnemar");
    cJSON_AddNumberToObject(m, "this_only", (double)c->mcnemar.b);
    cJSON_AddNumberToObject(m, "best_only", (double)c->mcnemar.c);
    cJSON_AddNumberToObject(m, "p", c->mcnemar.p);
    cJSON_AddNumberToObject(m, "p_holm", c->p_success);
    cJSON_AddBoolToObject(m, "significant", c->sig_success);
    const nf_wilcoxon_result *w[2] = {&c->loss, &c->ttt};
    const double ph[2] = {c->p_loss, c->p_ttt};
    const int sg[2] = {c->sig_loss, c->sig_ttt};
    const char *key[2] = {"final_loss_wilcoxon", "time_to_target_wilcoxon"};
    for (int i = 0; i < 2; i++) {
        cJSON *x = cJSON_AddObjectToObject(o, key[i]);
        cJSON_AddNumberToObject(x, "n", (double)w[i]->n);
        cJSON_AddNumberToObject(x, "zeros", (double)w[i]->n_zero);
        cJSON_AddNumberToObject(x, "t_plus", w[i]->t_plus);
        cJSON_AddNumberToObject(x, "t_minus", w[i]->t_minus);
        cJSON_AddBoolToObject(x, "exact", w[i]->exact);
        cJSON_AddNumberToObject(x, "p", w[i]->p);
        cJSON_AddNumberToObject(x, "p_holm", ph[i]);
        cJSON_AddBoolToObject(x, "significant", sg[i]);
    }
    return o;
}

static cJSON *json_setting(const sweep_grid *g, int s, const nf_sweep_summary *x, const nf_trial *t,
                           const sweep_cmp *cmp)
{
    const nf_run_spec *r = &g->specs[s];
    cJSON *o = cJSON_CreateObject();
    char shape[128], cmd[4096], col[64];
    shape_text(r, shape, sizeof shape);
    cJSON_AddNumberToObject(o, "setting", s);
    cJSON_AddStringToObject(o, "label", g->names[s].label);
    cJSON_AddNumberToObject(o, "problem", g->problem[s]);
    cJSON_AddNumberToObject(o, "target", g->problems[g->problem[s]].target);
    cJSON_AddStringToObject(o, "opt", nf_opt_name(r->train.opt.kind));
    cJSON_AddStringToObject(o, "act", nf_act_name(r->act.kind));
    cJSON_AddStringToObject(o, "init", nf_init_name(r->init.kind));
    cJSON_AddStringToObject(o, "layers", shape);
    cJSON_AddNumberToObject(o, "lr", r->train.opt.lr);
    cJSON *opts = cJSON_AddObjectToObject(o, "options");
    for (int k = 0; k < g->n_ax; k++) {
        if (!sweep_has(g, s, k)) continue;
        snake(g->ax[k].row->name, col, sizeof col);
        const char *v = sweep_value(g, s, k);
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
    cJSON_AddNumberToObject(o, "reached_target", (double)x->reached);
    cJSON *tt = cJSON_AddObjectToObject(o, "time_to_target");
    cJSON_AddItemToObject(tt, "epochs", quartiles_json(&x->ttt_epochs));
    cJSON_AddItemToObject(tt, "evals", quartiles_json(&x->ttt_evals));
    cJSON_AddItemToObject(tt, "seconds", quartiles_json(&x->ttt_seconds));
    if (cmp) cJSON_AddItemToObject(o, "comparison", json_compare(&cmp[s]));
    if (x->best >= 0) {
        sweep_rerun_command(g, s, t[x->best].seed, cmd, sizeof cmd);
        cJSON_AddStringToObject(o, "best_command", cmd);
        sweep_rerun_command(g, s, t[x->worst].seed, cmd, sizeof cmd);
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
    cJSON_AddItemToObject(o, "ttt_epochs", ttt_json(sweep_ttt(t, NF_TTT_EPOCHS)));
    cJSON_AddItemToObject(o, "ttt_evals", ttt_json(sweep_ttt(t, NF_TTT_EVALS)));
    cJSON_AddItemToObject(o, "ttt_seconds", ttt_json(sweep_ttt(t, NF_TTT_SECONDS)));
    return o;
}

cJSON *sweep_trial_json(const nf_trial *t) { return json_trial(t); }

typedef struct {
    const cli_args *a;
    const sweep_grid *g;           /* the settings reported (evaluation grid when tuned) */
    const sweep_grid *points;      /* tuned: the grid points */
    const sweep_tuning *tuning;
    nf_sweep_config *cfg;
    nf_trial *trials;
    nf_sweep_summary *sum;
    sweep_cmp *cmp;
    sweep_profile profile[2];      /* median time to target, expected time to a success */
    nf_ttt_unit unit;
    int interrupted;
    const char *command;
} results;

static int write_json(const char *path, const results *R)
{
    const sweep_grid *g = R->g;
    const long total = (long)g->n * R->cfg->restarts;
    cJSON *root = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)R->cfg->seed);
    cJSON_AddNumberToObject(root, "seed", (double)R->cfg->seed);
    cJSON_AddStringToObject(root, "seed_text", seed);
    cJSON_AddNumberToObject(root, "restarts", R->cfg->restarts);
    cJSON_AddNumberToObject(root, "target", g->problems[0].target);
    cJSON_AddStringToObject(root, "ttt_unit", sweep_ttt_name(R->unit));
    cJSON_AddBoolToObject(root, "interrupted", R->interrupted);
    cJSON *probs = cJSON_AddArrayToObject(root, "problems");
    for (int p = 0; p < g->n_problems; p++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", g->problems[p].name);
        cJSON_AddNumberToObject(o, "target", g->problems[p].target);
        cJSON_AddNumberToObject(o, "rows", g->problems[p].X.rows);
        cJSON_AddNumberToObject(o, "inputs", g->problems[p].X.cols);
        cJSON_AddNumberToObject(o, "outputs", g->problems[p].Y.cols);
        cJSON_AddItemToArray(probs, o);
    }
    cJSON *settings = cJSON_AddArrayToObject(root, "settings");
    for (int s = 0; s < g->n; s++) cJSON_AddItemToArray(settings, json_setting(g, s, &R->sum[s], R->trials, R->cmp));
    for (int pi = 0; pi < 2; pi++) {
        const sweep_profile *p = &R->profile[pi];
        if (!p->n_solvers) continue;
        cJSON *o = cJSON_AddObjectToObject(root, pi ? "performance_profile_ert" : "performance_profile");
        cJSON_AddStringToObject(o, "cost", pi ? "expected time to a success" : "median time to target");
        cJSON_AddStringToObject(o, "unit", sweep_ttt_name(R->unit));
        cJSON *tau = cJSON_AddArrayToObject(o, "tau");
        for (int k = 0; k < p->n_tau; k++) cJSON_AddItemToArray(tau, cJSON_CreateNumber(p->tau[k]));
        cJSON *sol = cJSON_AddArrayToObject(o, "solvers");
        for (int s = 0; s < p->n_solvers; s++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", p->names[s]);
            cJSON *tm = cJSON_AddArrayToObject(x, "time");
            for (int q = 0; q < p->n_problems; q++)
                cJSON_AddItemToArray(tm, ttt_json(p->time[(size_t)q * (size_t)p->n_solvers + (size_t)s]));
            cJSON *rho = cJSON_AddArrayToObject(x, "rho");
            for (int k = 0; k < p->n_tau; k++)
                cJSON_AddItemToArray(rho, cJSON_CreateNumber(p->rho[(size_t)s * (size_t)p->n_tau + (size_t)k]));
            cJSON_AddItemToArray(sol, x);
        }
    }
    if (R->tuning) cJSON_AddItemToObject(root, "tuning", sweep_tune_json(R->tuning, R->points));
    cJSON *trials = cJSON_AddArrayToObject(root, "trials");
    for (long i = 0; i < total; i++)
        if (R->trials[i].done) cJSON_AddItemToArray(trials, json_trial(&R->trials[i]));
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

static const results *g_sort;
/* Problem first, then the best first: success, median time to target, median final loss. */
static int cmp_rank(const void *a, const void *b)
{
    const int i = *(const int *)a, j = *(const int *)b;
    const sweep_grid *g = g_sort->g;
    if (g->problem[i] != g->problem[j]) return g->problem[i] - g->problem[j];
    const nf_sweep_summary *x = &g_sort->sum[i], *y = &g_sort->sum[j];
    int c = sweep_better(x->rate, ttt_q(x, g_sort->unit)->median, x->median, y->rate, ttt_q(y, g_sort->unit)->median,
                         y->median);
    return c ? c : i - j;
}

static void fmt_ttt(char *buf, size_t cap, double v, nf_ttt_unit unit)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else if (isinf(v)) snprintf(buf, cap, "inf");
    else if (unit == NF_TTT_SECONDS) snprintf(buf, cap, "%.3g", v);
    else snprintf(buf, cap, "%.0f", v);
}

/* "0.0123*" (Holm-adjusted p, '*' when significant at 5 %), "best" or "-". */
static void fmt_p(char *buf, size_t cap, const sweep_cmp *c, int which)
{
    if (c->best == -1) { snprintf(buf, cap, "-"); return; }
    if (!c->tested) { snprintf(buf, cap, c->pairs < 0 ? "best" : "-"); return; }
    const double p = which == 0 ? c->p_success : which == 1 ? c->p_loss : c->p_ttt;
    const int sig = which == 0 ? c->sig_success : which == 1 ? c->sig_loss : c->sig_ttt;
    snprintf(buf, cap, p < 1e-4 ? "%.1e%s" : "%.4f%s", p, sig ? "*" : "");
}

static void print_summary(const results *R)
{
    const sweep_grid *g = R->g;
    int *order = malloc((size_t)g->n * sizeof(int));
    if (!order) return;
    for (int s = 0; s < g->n; s++) order[s] = s;
    g_sort = R;
    qsort(order, (size_t)g->n, sizeof(int), cmp_rank);
    const char *u = sweep_ttt_name(R->unit);
    printf("# target: final loss <= %g; %d restarts per setting; seed %llu\n", g->problems[0].target,
           R->cfg->restarts, (unsigned long long)R->cfg->seed);
    printf("# time to target (ttt): %s until the epoch loss first reaches the target, inf when never; "
           "q1/median/q3 over all trials\n", u);
    printf("# vs best: Holm-adjusted p of the paired tests against the problem's best setting on common seeds "
           "(McNemar on success, Wilcoxon signed-rank on final loss and on ttt); * = significant at 5%%\n");
    int w = 44;
    for (int s = 0; s < g->n; s++) w = (int)strlen(g->names[s].label) > w ? (int)strlen(g->names[s].label) : w;
    for (int k = 0; k < g->n; k++) {
        const int s = order[k];
        if (!k || g->problem[s] != g->problem[order[k - 1]]) {
            if (g->n_problems > 1)
                printf("\n# problem %d: %s (target %g)\n", g->problem[s], g->problems[g->problem[s]].name,
                       g->problems[g->problem[s]].target);
            printf("%3s  %-*s %5s %7s %15s %10s %10s %10s %7s %5s %5s %5s %5s %7s %7s %7s %9s %9s %9s %8s\n", "#", w,
                   "setting", "n", "success", "95% Wilson", "median", "p10", "p90", "ep_med", "dead", "alw", "dup",
                   "par", "ttt_q1", "ttt_med", "ttt_q3", "p_succ", "p_loss", "p_ttt", "trials/s");
        }
        const nf_sweep_summary *x = &R->sum[s];
        char iv[32], ep[16], q[3][24], p[3][24];
        snprintf(iv, sizeof iv, "[%4.1f,%5.1f]%%", 100 * x->rate_lo, 100 * x->rate_hi);
        if (isnan(x->median_epochs)) snprintf(ep, sizeof ep, "-");
        else snprintf(ep, sizeof ep, "%.0f", x->median_epochs);
        const nf_quartiles *tq = ttt_q(x, R->unit);
        fmt_ttt(q[0], sizeof q[0], tq->q1, R->unit);
        fmt_ttt(q[1], sizeof q[1], tq->median, R->unit);
        fmt_ttt(q[2], sizeof q[2], tq->q3, R->unit);
        for (int i = 0; i < 3; i++) fmt_p(p[i], sizeof p[i], &R->cmp[s], i);
        printf("%3d  %-*s %5ld %6.1f%% %15s %10.3e %10.3e %10.3e %7s %5.2f %5.2f %5.2f %5.2f %7s %7s %7s %9s %9s %9s "
               "%8.1f\n",
               s, w, g->names[s].label, x->n, 100 * x->rate, iv, x->median, x->p10, x->p90, ep, x->mean_dead,
               x->mean_always_on, x->mean_duplicate, x->mean_parallel, q[0], q[1], q[2], p[0], p[1], p[2],
               x->trials_per_second);
    }
    if (R->tuning) {
        printf("\n");
        sweep_tune_print(R->tuning, R->points, stdout);
    }
    for (int pi = 0; pi < 2; pi++)
        if (R->profile[pi].n_solvers) {
            printf("\n");
            sweep_profile_print(&R->profile[pi], g, R->unit, stdout);
        }
    printf("\n# rerun one trial alone (reproduces its final loss exactly):\n");
    char cmd[2048];
    for (int k = 0; k < g->n; k++) {
        const nf_sweep_summary *x = &R->sum[order[k]];
        if (x->best < 0) continue;
        sweep_rerun_command(g, order[k], R->trials[x->best].seed, cmd, sizeof cmd);
        printf("%3d best  (%.6e): %s\n", order[k], R->trials[x->best].final_loss, cmd);
        sweep_rerun_command(g, order[k], R->trials[x->worst].seed, cmd, sizeof cmd);
        printf("%3d worst (%.6e): %s\n", order[k], R->trials[x->worst].final_loss, cmd);
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


/* The best, a typical failed and the worst trial of every setting, retrained for --diag and the
 * pictures (--plot, --report). */
static int pictures(const results *R, int want_diag, const char *const *dirs, int n_dirs)
{
    const sweep_grid *g = R->g;
    nf_sweep_config *cfg = R->cfg;
    const nf_trial *trials = R->trials;
    const nf_sweep_summary *sum = R->sum;
    const int restarts = cfg->restarts;
    int rc = 0;
    cli_pick (*picks)[CLI_PICKS] = calloc((size_t)g->n, sizeof *picks);
    double *fl = malloc((size_t)restarts * sizeof(double));
    cfg->keep_curves = 0;
    cfg->on_trial = NULL;
    cfg->journal = NULL;
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
        const nf_mat *X = nf_sweep_problem_of(cfg, s).X;
        for (int k = 0; k < CLI_PICKS; k++) {
            if (which[k] < 0 || (k == 2 && (which[2] == which[0] || which[2] == mid))) continue;
            nf_trial tr;
            picks[s][k].trial = which[k];
            if (nf_sweep_trial(cfg, s, trials[which[k]].restart, &tr, &picks[s][k].model)) picks[s][k].model = NULL;
            if (!want_diag || !picks[s][k].model) continue;
            nf_unit_diag *u = NULL;
            int nu = 0;
            if (nf_diag_units(picks[s][k].model, X->data, X->rows, &cfg->diag, &u, &nu)) continue;
            printf("\n# setting %d (%s), %s trial (seed %llu), final loss %.6e:\n", s, g->names[s].label,
                   k == 0 ? "best" : k == 1 ? "typical failed" : "worst", (unsigned long long)tr.seed, tr.final_loss);
            if (nu) cli_print_units(stdout, u, nu, cfg->diag.dup_angle_deg);
            else printf("(no hidden layer: a linear model has no units to diagnose)\n");
            free(u);
        }
    }
    if (!picks || !fl) rc = cli_usage_error("out of memory");
    for (int d = 0; d < n_dirs && picks && !rc; d++) {
        if (!dirs[d]) continue;
        for (int pi = 0; pi < 2 && !rc; pi++) { /* before cli_sweep_plots, which renders every script */
            if (!R->profile[pi].n_solvers) continue;
            if (mkdir(dirs[d], 0777) && errno != EEXIST)
                rc = cli_usage_error("%s: cannot create: %s", dirs[d], strerror(errno));
            if (!rc) rc = sweep_profile_plot(&R->profile[pi], R->unit, dirs[d]);
        }
        if (!rc) rc = cli_sweep_plots(dirs[d], cfg, trials, sum, g->names, picks);
    }
    for (int s = 0; picks && s < g->n; s++)
        for (int k = 0; k < CLI_PICKS; k++) nf_model_free(picks[s][k].model);
    free(picks);
    free(fl);
    return rc;
}

/* Runs the trials with Ctrl-C and SIGTERM stopping the sweep (finished trials are kept). */
typedef struct {
    struct sigaction int_, term;
} saved_signals;

/* Ctrl-C and SIGTERM set g_cancel (the running trials finish, no new ones start) until
 * restore_signals puts the previous handlers back. */
static void cancel_on_signals(saved_signals *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    atomic_store(&g_cancel, 0);
    sigaction(SIGINT, &sa, &old->int_);
    sigaction(SIGTERM, &sa, &old->term);
}

static void restore_signals(const saved_signals *old)
{
    sigaction(SIGINT, &old->int_, NULL);
    sigaction(SIGTERM, &old->term, NULL);
}

static nf_status run_trials(nf_sweep_config *cfg, nf_trial *trials, long *n_done)
{
    saved_signals old;
    cancel_on_signals(&old);
    nf_status st = nf_mpi_sweep_run(cfg, trials, n_done); /* nf_sweep_run in one process */
    restore_signals(&old);
    return st;
}

/* The tuning phase, stopped by Ctrl-C and SIGTERM in the same way. */
static int tune_trials(sweep_tuning *tu, nf_sweep_config *cfg, nf_journal *journal, const sweep_grid *g,
                       sweep_grid *ev)
{
    saved_signals old;
    cancel_on_signals(&old);
    int rc = sweep_tune_run(tu, cfg, journal, g->n, g, ev);
    restore_signals(&old);
    return rc;
}

static int write_results(results *R)
{
    const cli_args *a = R->a;
    const sweep_grid *g = R->g;
    const long total = (long)g->n * R->cfg->restarts;
    int rc = 0;
    if (nf_sweep_summarize(R->trials, g->n, R->cfg->restarts, R->sum)) return cli_status_error(NF_ENOMEM);
    if ((rc = sweep_compare(g, R->trials, R->cfg->restarts, R->sum, R->unit, R->cmp))) return rc;
    for (int pi = 0; pi < 2; pi++)
        if ((rc = sweep_profile_make(g, R->trials, R->cfg->restarts, R->sum, R->unit, (sweep_profile_cost)pi,
                                     &R->profile[pi])))
            return rc;
    print_summary(R);
    if (a->out) rc = write_csv(a->out, g, R->trials, total);
    if (!rc && a->json) rc = write_json(a->json, R);
    const char *dirs[2] = {a->plot, a->report};
    if (!rc && (a->diag || a->plot || a->report) && !R->interrupted) rc = pictures(R, a->diag, dirs, 2);
    if (!rc && a->report && !R->interrupted) {
        sweep_report_in in = {a->report, R->command, g, R->cfg, R->trials, R->sum, R->cmp, R->profile,
                              R->tuning, R->points, R->unit, R->interrupted};
        rc = sweep_report_write(&in);
    }
    if (a->report && R->interrupted)
        fprintf(stderr, "%s: interrupted: no report written (the finished trials are in --out/--json)\n", cli_prog);
    return rc;
}

/* ---- the journal ---- */

/* What the journal belongs to: the problems (with fingerprints of their rows), the tuning and
 * every setting's canonical command, one per line. */
static char *journal_grid_text(const sweep_grid *g, const sweep_tuning *tu)
{
    size_t cap = 4096, len = 0;
    char *s = malloc(cap), line[8192];
    if (!s) return NULL;
    s[0] = '\0';
    for (int i = -g->n_problems; s && i < g->n + 1; i++) {
        if (i < 0) {
            const sweep_problem *p = &g->problems[i + g->n_problems];
            snprintf(line, sizeof line, "problem %d %s target %.17g rows %d data %016llx\n", i + g->n_problems, p->name,
                     p->target, p->X.rows, (unsigned long long)p->fingerprint);
        } else if (i < g->n) {
            char cmd[4096];
            sweep_setting_command(g, i, cmd, sizeof cmd);
            snprintf(line, sizeof line, "setting %d problem %d:%s\n", i, g->problem[i], cmd + strlen("nnfit train"));
        } else {
            line[0] = '\0';
            if (tu) sweep_tune_describe(tu, line, sizeof line);
        }
        const size_t n = strlen(line);
        if (len + n + 1 > cap) {
            while (len + n + 1 > cap) cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        memcpy(s + len, line, n + 1);
        len += n;
    }
    return s;
}

/* ---- the command ---- */

static int prepare(int argc, char **argv, cli_args *a, opt_list *l, sweep_grid *g, sweep_tuning **tu)
{
    int rc = opt_parse(CMD_SWEEP, argc, argv, l);
    if (rc) return rc;
    if (l->help) return help(), -1;
    if (l->version) return printf("nnfit %s\n", NNFIT_VERSION), -1;
    /* the sweep's own options and every option given without a list apply to the base; the
     * problem options take their first value there (the checks of the data options) */
    for (int i = 0; i < l->n; i++) {
        const opt_row *r = l->v[i].row;
        if (!strcmp(r->name, "target")) continue;
        if (!strcmp(r->name, "task") || !strcmp(r->name, "data") || !strcmp(r->name, "inputs")) {
            char first[4096];
            snprintf(first, sizeof first, "%s", l->v[i].value);
            first[strcspn(first, ",")] = '\0';
            if (!*first) return cli_usage_error("--%s: empty item in '%s'", r->name, l->v[i].value);
            if (strcmp(r->name, "data") && (rc = opt_apply(a, r, first))) return rc;
            if (!strcmp(r->name, "data")) a->data = l->v[i].value; /* only its presence is checked */
            continue;
        }
        if (!r->axis && (rc = opt_apply(a, r, l->v[i].value))) return rc;
    }
    if (a->list_optimizers) return opt_list_optimizers(stdout), -1;
    if ((rc = data_opts_check(a, l)) || (rc = cli_load_taps(a))) return rc;
    if ((rc = sweep_tune_parse(l, a, tu))) return rc;
    if (!*tu && (opt_get(l, "budget") || opt_get(l, "tune-restarts") || opt_get(l, "select") || opt_get(l, "halving")))
        return cli_usage_error("--budget, --tune-restarts, --select and --halving go with --tune NAME=LO:HI");
    /* outputs are checked before any work */
    if ((a->out && (rc = cli_out_check("out", a->out))) || (a->json && (rc = cli_out_check("json", a->json))) ||
        (a->plot && (rc = cli_plot_dir_check("plot", a->plot))))
        return rc;
    if (a->plot && (rc = cli_plot_dir_check("plot", a->plot))) return rc;
    if (a->report && (rc = cli_report_check(a->report))) return rc;
    if (a->journal && !*a->journal) return cli_usage_error("--journal: empty file name");
    g->files = data_opts_given(a);
    g->base = a;
    if ((rc = load_problems(g, l, a))) return rc;
    if ((rc = build_grid(g, l, *tu))) return rc;
    if (*tu && (rc = sweep_tune_build(*tu, g))) return rc;
    return 0;
}

/* The command line as typed (shell-quoted where needed), for the report. */
static void command_line(int argc, char **argv, char *buf, size_t cap)
{
    snprintf(buf, cap, "nnfit sweep");
    for (int i = 1; i < argc; i++) {
        size_t pos = strlen(buf);
        int plain = *argv[i] != '\0';
        for (const char *p = argv[i]; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("-_.,/:=+", *p))) plain = 0;
        snprintf(buf + pos, cap - pos, plain ? " %s" : " '%s'", argv[i]);
    }
}

/* Opens the journal (after every other check) and moves its trials into place. */
static int open_journal(const cli_args *a, const sweep_grid *points, sweep_tuning *tu, nf_journal **j,
                        nf_trial *trials)
{
    char *grid = journal_grid_text(points, tu);
    if (!grid) return cli_usage_error("out of memory");
    nf_journal_id id = {grid, "nnfit " NNFIT_VERSION, a->restarts, a->run.seed};
    nf_trial *done = NULL;
    long nd = 0;
    nf_status st = nf_journal_open(j, a->journal, &id, &done, &nd);
    free(grid);
    if (st) return cli_status_error(st);
    if (nf_journal_torn_bytes(*j) && !cli_quiet)
        fprintf(stderr, "%s: journal %s: dropped a torn last record (%ld bytes)\n", cli_prog, a->journal,
                nf_journal_torn_bytes(*j));
    int rc = 0;
    long ne = 0; /* evaluation records first, tuning records after */
    for (long i = 0; i < nd; i++)
        if (done[i].restart < SWEEP_TUNE_RESTART0) {
            nf_trial t = done[i];
            done[i] = done[ne];
            done[ne++] = t;
        }
    if (nf_journal_place(done, ne, points->n, a->restarts, trials)) rc = cli_status_error(NF_EINVAL);
    if (!rc && nd > ne) {
        if (tu) rc = sweep_tune_place(tu, done + ne, nd - ne, points->n);
        else rc = cli_usage_error("journal %s: holds tuning trials but this sweep is not tuned", a->journal);
    }
    if (!rc && nd && !cli_quiet) fprintf(stderr, "%s: journal %s: %ld trials already done\n", cli_prog, a->journal, nd);
    nf_trials_free(done, nd);
    free(done);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a);
    opt_list l;
    sweep_grid g, ev;
    memset(&g, 0, sizeof g);
    memset(&ev, 0, sizeof ev);
    sweep_tuning *tu = NULL;
    nf_journal *journal = NULL;
    nf_trial *trials = NULL;
    nf_sweep_summary *sum = NULL;
    sweep_cmp *cmp = NULL;
    nf_sweep_problem *problems = NULL;
    results R;
    memset(&R, 0, sizeof R);
    long total = 0;
    char command[8192];
    command_line(argc, argv, command, sizeof command);
    int rc = cli_mpi_agree(prepare(argc, argv, &a, &l, &g, &tu));
    if (rc) goto done;
    problems = calloc((size_t)g.n_problems, sizeof *problems);
    total = (long)g.n * a.restarts;
    trials = calloc((size_t)total, sizeof *trials);
    sum = calloc((size_t)g.n, sizeof *sum);
    cmp = calloc((size_t)g.n, sizeof *cmp);
    if (!trials || !sum || !cmp || !problems) { rc = cli_usage_error("out of memory for %ld trials", total); goto done; }
    for (int p = 0; p < g.n_problems; p++) {
        const sweep_problem *pb = &g.problems[p];
        problems[p] = (nf_sweep_problem){&pb->X, &pb->Y, pb->Xv.rows ? &pb->Xv : NULL, pb->Xv.rows ? &pb->Yv : NULL,
                                         pb->target};
    }
    /* under mpirun rank 0 keeps the journal (it appends every rank's trials and hands out only
     * the trials it lacks); a journal it refuses stops every rank */
    if (a.journal && cli_mpi_rank() == 0) rc = open_journal(&a, &g, tu, &journal, trials);
    if ((rc = cli_mpi_agree(rc))) goto done;
    nf_sweep_config cfg;
    nf_sweep_defaults(&cfg);
    cfg.X = problems[0].X;
    cfg.Y = problems[0].Y;
    cfg.val_X = problems[0].val_X;
    cfg.val_Y = problems[0].val_Y;
    cfg.target = problems[0].target;
    cfg.problems = problems;
    cfg.n_problems = g.n_problems;
    cfg.problem_of = g.problem;
    cfg.settings = g.specs;
    cfg.n_settings = g.n;
    cfg.restarts = a.restarts;
    cfg.seed = a.run.seed;
    cfg.jobs = a.jobs ? a.jobs : cli_mpi_default_threads(); /* the cores, shared by a node's ranks */
    cfg.keep_curves = a.plot != NULL || a.report != NULL;
    cfg.cancel = &g_cancel;
    cfg.journal = journal;
    cfg.resume = journal != NULL;

    const sweep_grid *shown = &g;
    if (tu) { /* tuning first; the evaluation grid then holds each grid point's choice */
        rc = tune_trials(tu, &cfg, journal, &g, &ev);
        if (rc == EXIT_RUN_FAILED)
            fprintf(stderr, "%s: interrupted while tuning: nothing written%s\n", cli_prog,
                    journal ? " (the journal keeps the finished trials: run the same command again)" : "");
        if (rc) goto done;
        shown = &ev;
        cfg.settings = ev.specs;
        cfg.problem_of = ev.problem;
    }
    prog_ctx pc = {0};
    cli_progress_start(&pc.bar, "sweep", total);
    cfg.on_trial = on_trial;
    cfg.ctx = &pc;
    long n_done = 0;
    nf_status st = run_trials(&cfg, trials, &n_done);
    cli_progress_end(&pc.bar);
    const int interrupted = st == NF_EINTERRUPTED;
    if (cli_mpi_rank() > 0) { /* rank 0 has the trials and says what happened */
        rc = st ? (interrupted ? EXIT_RUN_FAILED : cli_status_error(st)) : 0;
        goto done;
    }
    if (st && !interrupted) { rc = cli_status_error(st); goto done; }
    if (interrupted && cli_mpi_on())
        fprintf(stderr, "%s: interrupted (Ctrl-C or SIGTERM; mpirun also ends a job so when a rank exits or dies): "
                        "%ld of %ld trials finished; writing those\n", cli_prog, n_done, total);
    else if (interrupted)
        fprintf(stderr, "%s: interrupted: %ld of %ld trials finished; writing those\n", cli_prog, n_done, total);
    if (journal) { /* every record is durable; the pictures' retraining is not journaled */
        nf_status jst = nf_journal_close(journal);
        journal = NULL;
        if (jst) { rc = cli_status_error(jst); goto done; }
    }
    R = (results){&a, shown, tu ? &g : NULL, tu, &cfg, trials, sum, cmp, {{0}, {0}}, (nf_ttt_unit)a.ttt_unit,
                  interrupted, command};
    rc = write_results(&R);
    if (!rc && interrupted) rc = EXIT_RUN_FAILED;
done:
    nf_mpi_sweep_end(); /* after an interruption: now stop the ranks that still run */
    if (journal) nf_journal_close(journal);
    sweep_profile_free(&R.profile[0]);
    sweep_profile_free(&R.profile[1]);
    nf_trials_free(trials, trials ? total : 0);
    free(trials);
    free(sum);
    free(cmp);
    free(problems);
    sweep_tune_free(tu);
    sweep_grid_free(&ev);
    sweep_grid_free(&g);
    opt_list_free(&l);
    cli_args_free(&a);
    return rc < 0 ? 0 : rc;
}
