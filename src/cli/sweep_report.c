/* sweep_report.c — `nnfit sweep --report DIR`: DIR/index.html (report.h) with the summary of
 * every problem (success, final loss, time to target, the paired tests against the best with
 * their significance marks), the chosen hyperparameters and the tuning cost, the performance
 * profiles, and the pictures the sweep drew into DIR as SVG (final losses, loss curves, surfaces
 * of 2-input nets, profiles).  The pictures need gnuplot; without it the page has the tables. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "sweep_internal.h"

typedef struct {
    char **s;
    size_t n, cap;
    int oom;
} strs;

static char *keep(strs *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static char *keep(strs *k, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 256;
        char **ns = realloc(k->s, cap * sizeof *ns);
        if (!ns) {
            k->oom = 1;
            return NULL;
        }
        k->s = ns;
        k->cap = cap;
    }
    char *d = strdup(buf);
    if (!d) k->oom = 1;
    else k->s[k->n++] = d;
    return d;
}

static void keep_free(strs *k)
{
    for (size_t i = 0; i < k->n; i++) free(k->s[i]);
    free(k->s);
}

static int exists(const char *dir, const char *name)
{
    char path[4600];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static const nf_quartiles *ttt_q(const nf_sweep_summary *x, nf_ttt_unit unit)
{
    return unit == NF_TTT_EVALS ? &x->ttt_evals : unit == NF_TTT_SECONDS ? &x->ttt_seconds : &x->ttt_epochs;
}

static char *ttt_cell(strs *k, double v, nf_ttt_unit u)
{
    if (isnan(v)) return keep(k, "-");
    if (isinf(v)) return keep(k, "∞");
    return u == NF_TTT_SECONDS ? keep(k, "%.3g", v) : keep(k, "%.0f", v);
}

static char *p_cell(strs *k, const sweep_cmp *c, int which, unsigned char *mark)
{
    *mark = 0;
    if (c->pairs < 0) return keep(k, "best");
    if (!c->tested) return keep(k, "-");
    const double p = which == 0 ? c->p_success : which == 1 ? c->p_loss : c->p_ttt;
    const int sig = which == 0 ? c->sig_success : which == 1 ? c->sig_loss : c->sig_ttt;
    if (sig) *mark = CLI_MARK_SIGNIFICANT;
    return keep(k, p < 1e-4 ? "%.1e" : "%.4f", p);
}

static const sweep_report_in *g_in;
static int cmp_rank(const void *a, const void *b)
{
    const int i = *(const int *)a, j = *(const int *)b;
    const nf_sweep_summary *x = &g_in->sum[i], *y = &g_in->sum[j];
    int c = sweep_better(x->rate, ttt_q(x, g_in->unit)->median, x->median, y->rate, ttt_q(y, g_in->unit)->median,
                         y->median);
    return c ? c : i - j;
}

enum { NCOL = 14 };
static const char *const summary_head[NCOL] = {
    "#", "setting", "trials", "success", "95% Wilson", "median final loss", "p10", "p90", "ttt q1", "ttt median",
    "ttt q3", "p success (McNemar, Holm)", "p final loss (Wilcoxon, Holm)", "p ttt (Wilcoxon, Holm)"};

int sweep_report_write(const sweep_report_in *in)
{
    const sweep_grid *g = in->g;
    strs k = {0};
    const int P = g->n_problems;
    const int has_tuning = in->tuning != NULL, has_profile = in->profile && in->profile->n_solvers;
    const int n_sections = P + 1 + has_tuning + has_profile;
    cli_report_section *sec = calloc((size_t)n_sections, sizeof *sec);
    cli_report_table *tables = calloc((size_t)P + 3, sizeof *tables);
    const char **cells = calloc((size_t)g->n * NCOL, sizeof *cells);
    unsigned char *marks = calloc((size_t)g->n * NCOL, 1);
    cli_report_picture *pics = calloc((size_t)g->n * 2 + 5, sizeof *pics);
    int *order = malloc((size_t)g->n * sizeof *order);
    const char *notes[8];
    const char *sec_notes[4];
    char **th = NULL, **tc = NULL;
    int tcols = 0, rc = 0;
    const char **prof_head[2] = {NULL, NULL}, **prof_cells[2] = {NULL, NULL};
    if (!sec || !tables || !cells || !marks || !pics || !order) {
        rc = cli_usage_error("--report: out of memory");
        goto out;
    }
    int n_notes = 0;
    notes[n_notes++] = keep(&k, "%d settings × %d restarts. Restart r of every setting trains from the same seed "
                                "derive(%llu, r), so settings are compared on common seeds.",
                            g->n, in->cfg->restarts, (unsigned long long)in->cfg->seed);
    notes[n_notes++] = keep(&k, "Success: final training loss at or below the problem's target. Time to target "
                                "(ttt): %s until the epoch loss first reaches the target, ∞ when it never does; "
                                "quartiles over all trials.", sweep_ttt_name(in->unit));
    notes[n_notes++] = "Within each problem the best setting (success rate, then median time to target, then median "
                       "final loss) is compared with every other on the restarts both finished: McNemar's exact test "
                       "on success, Wilcoxon's signed-rank test on final loss and on time to target (zero differences "
                       "dropped; exact below 400 pairs). Each family is Holm-corrected; marked cells differ at 5 %.";
    if (has_tuning)
        notes[n_notes++] = "Tuned: every grid point ran its tuning configurations on tuning seeds, and the chosen "
                           "configuration was then run on the evaluation seeds reported here; the two seed sets are "
                           "disjoint, so the rates carry no selection bias.";
    int s_i = 0, t_i = 0, p_i = 0;
    int row0 = 0;
    for (int pr = 0; pr < P; pr++) {
        int n = 0;
        for (int s = 0; s < g->n; s++)
            if (g->problem[s] == pr) order[n++] = s;
        g_in = in;
        qsort(order, (size_t)n, sizeof *order, cmp_rank);
        for (int i = 0; i < n; i++) {
            const int s = order[i];
            const nf_sweep_summary *x = &in->sum[s];
            const sweep_cmp *c = &in->cmp[s];
            const char **row = &cells[(size_t)(row0 + i) * NCOL];
            unsigned char *mk = &marks[(size_t)(row0 + i) * NCOL];
            const nf_quartiles *q = ttt_q(x, in->unit);
            row[0] = keep(&k, "%d", s);
            row[1] = keep(&k, "%s", g->names[s].label);
            row[2] = keep(&k, "%ld", x->n);
            row[3] = keep(&k, "%.1f%%", 100 * x->rate);
            row[4] = keep(&k, "[%.1f, %.1f]%%", 100 * x->rate_lo, 100 * x->rate_hi);
            row[5] = keep(&k, "%.3e", x->median);
            row[6] = keep(&k, "%.3e", x->p10);
            row[7] = keep(&k, "%.3e", x->p90);
            row[8] = ttt_cell(&k, q->q1, in->unit);
            row[9] = ttt_cell(&k, q->median, in->unit);
            row[10] = ttt_cell(&k, q->q3, in->unit);
            for (int w = 0; w < 3; w++) row[11 + w] = p_cell(&k, c, w, &mk[11 + w]);
            if (c->pairs < 0)
                for (int j = 0; j < NCOL; j++) mk[j] = CLI_MARK_BEST;
        }
        tables[t_i] = (cli_report_table){keep(&k, "Settings, best first (target %g)", g->problems[pr].target), NCOL, n,
                                         summary_head, &cells[(size_t)row0 * NCOL], &marks[(size_t)row0 * NCOL],
                                         "Highlighted: the problem's best setting. Bold with *: differs from it at "
                                         "5 % after Holm's correction."};
        /* pictures of this problem's settings */
        int np0 = p_i;
        for (int i = 0; i < n; i++) {
            const int s = order[i];
            char *f = keep(&k, "%s_loss.svg", g->names[s].file);
            if (f && exists(in->dir, f))
                pics[p_i++] = (cli_report_picture){keep(&k, "Loss curves: %s", g->names[s].label), f, NULL, NULL};
            f = keep(&k, "%s_surface.svg", g->names[s].file);
            if (f && exists(in->dir, f))
                pics[p_i++] = (cli_report_picture){keep(&k, "Surfaces (best, typical failure, worst): %s",
                                                        g->names[s].label), f, NULL, NULL};
        }
        sec[s_i++] = (cli_report_section){P > 1 ? keep(&k, "Problem %d: %s", pr, g->problems[pr].name) : "Summary",
                                          NULL, 0, &tables[t_i], 1, &pics[np0], p_i - np0};
        t_i++;
        row0 += n;
    }
    if (exists(in->dir, "final_loss.svg")) {
        pics[p_i] = (cli_report_picture){"Final loss of every trial, one row per setting", "final_loss.svg", NULL, NULL};
        sec[s_i++] = (cli_report_section){"Final-loss distributions", NULL, 0, NULL, 0, &pics[p_i], 1};
        p_i++;
    }
    if (has_tuning) {
        if ((rc = sweep_tune_rows(in->tuning, in->points, &tcols, &th, &tc))) goto out;
        tables[t_i] = (cli_report_table){"Chosen configuration of every grid point, and what tuning cost", tcols,
                                         in->points->n, (const char *const *)th, (const char *const *)tc, NULL, NULL};
        sec_notes[0] = "Tuning success, time to target and loss are over the chosen configuration's tuning seeds; "
                       "trials, epochs and seconds are the whole tuning of the grid point.";
        sec[s_i++] = (cli_report_section){"Tuning", sec_notes, 1, &tables[t_i], 1, NULL, 0};
        t_i++;
    }
    if (has_profile) {
        static const double show[] = {1, 1.5, 2, 4, 8, 16, 64};
        enum { NS = 7 };
        const int t0 = t_i, pic0 = p_i;
        for (int pi = 0; pi < 2; pi++) {
            const sweep_profile *p = &in->profile[pi];
            if (!p->n_solvers) continue;
            const char *what = pi ? "expected time to a success" : "median time to target";
            const int cols = 1 + NS + p->n_problems;
            prof_head[pi] = calloc((size_t)cols, sizeof *prof_head[pi]);
            prof_cells[pi] = calloc((size_t)cols * (size_t)p->n_solvers, sizeof *prof_cells[pi]);
            if (!prof_head[pi] || !prof_cells[pi]) {
                rc = cli_usage_error("--report: out of memory");
                goto out;
            }
            prof_head[pi][0] = "solver";
            for (int j = 0; j < NS; j++) prof_head[pi][1 + j] = keep(&k, "ρ(%g)", show[j]);
            for (int q = 0; q < p->n_problems; q++)
                prof_head[pi][1 + NS + q] = keep(&k, "%s: %s", pi ? "expected time" : "median ttt", g->problems[q].name);
            for (int s = 0; s < p->n_solvers; s++) {
                const char **row = &prof_cells[pi][(size_t)s * (size_t)cols];
                row[0] = p->names[s];
                for (int j = 0; j < NS; j++) {
                    double r = 0;
                    for (int t = 0; t < p->n_tau && p->tau[t] <= show[j]; t++)
                        r = p->rho[(size_t)s * (size_t)p->n_tau + (size_t)t];
                    row[1 + j] = keep(&k, "%.2f", r);
                }
                for (int q = 0; q < p->n_problems; q++)
                    row[1 + NS + q] = ttt_cell(&k, p->time[(size_t)q * (size_t)p->n_solvers + (size_t)s], in->unit);
            }
            tables[t_i++] = (cli_report_table){keep(&k, "ρ(τ) of the %s (%s): share of the %d problems on which the "
                                                        "solver's is within τ times the best solver's",
                                                    what, sweep_ttt_name(in->unit), p->n_problems),
                                               cols, p->n_solvers, prof_head[pi], prof_cells[pi], NULL, NULL};
            const char *file = pi ? "profile_ert.svg" : "profile.svg";
            if (exists(in->dir, file))
                pics[p_i++] = (cli_report_picture){keep(&k, "Performance profiles of the %s (Dolan and Moré 2002)", what),
                                                   file, NULL, NULL};
        }
        sec_notes[1] = "A solver is a setting without its problem. ρ(1) is the share of problems where it was the "
                       "fastest; a problem it never solved counts against it at every τ. The median time to target "
                       "is infinite when fewer than half of the restarts reach the target; the expected time to a "
                       "success (every trial's time, to the target or its whole run, summed over the successes) is "
                       "what restarting until a success costs.";
        sec[s_i++] = (cli_report_section){"Performance profiles across problems", &sec_notes[1], 1, &tables[t0],
                                          t_i - t0, p_i > pic0 ? &pics[pic0] : NULL, p_i - pic0};
    }
    if (k.oom) {
        rc = cli_usage_error("--report: out of memory");
        goto out;
    }
    cli_report rep = {"nnfit sweep", in->command, notes, n_notes, sec, s_i};
    rc = cli_report_write(in->dir, &rep);
    if (!rc && !cli_quiet) fprintf(stderr, "%s: report written to %s/index.html\n", cli_prog, in->dir);
out:
    for (int i = 0; th && i < tcols; i++) free(th[i]);
    for (int i = 0; tc && in->points && i < tcols * in->points->n; i++) free(tc[i]);
    free(th);
    free(tc);
    free(prof_head[0]);
    free(prof_head[1]);
    free(prof_cells[0]);
    free(prof_cells[1]);
    free(sec);
    free(tables);
    free(cells);
    free(marks);
    free(pics);
    free(order);
    keep_free(&k);
    return rc;
}
