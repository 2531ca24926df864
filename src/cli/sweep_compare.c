/* sweep_compare.c — paired comparisons of a sweep's settings on common seeds, and Dolan–Moré
 * performance profiles across problems.
 *
 * Restart r of every setting trains from the same seed, so the trials of two settings pair up
 * by restart.  Within each problem the best setting (success rate, then median time to target,
 * then median final loss) is compared with every other: McNemar's exact test on the success
 * flags, Wilcoxon's signed-rank test (zero differences dropped) on the final losses (NaN counts
 * as +inf) and on the times to target (+inf when never reached).  Each of the three families
 * (one test per other setting of the problem) is Holm-corrected at 5 %. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

#define ALPHA 0.05

static const nf_quartiles *ttt_q(const nf_sweep_summary *x, nf_ttt_unit unit)
{
    return unit == NF_TTT_EVALS ? &x->ttt_evals : unit == NF_TTT_SECONDS ? &x->ttt_seconds : &x->ttt_epochs;
}

static double loss_of(const nf_trial *t) { return isnan(t->final_loss) ? INFINITY : t->final_loss; }

int sweep_compare(const sweep_grid *g, const nf_trial *trials, int restarts, const nf_sweep_summary *sum,
                  nf_ttt_unit unit, sweep_cmp *cmp)
{
    int *xs = malloc((size_t)restarts * sizeof *xs), *ys = malloc((size_t)restarts * sizeof *ys);
    double *xl = malloc((size_t)restarts * sizeof *xl), *yl = malloc((size_t)restarts * sizeof *yl);
    double *xt = malloc((size_t)restarts * sizeof *xt), *yt = malloc((size_t)restarts * sizeof *yt);
    int *members = malloc((size_t)g->n * sizeof *members), *tested = malloc((size_t)g->n * sizeof *tested);
    double *p = malloc(3 * (size_t)g->n * sizeof *p), *adj = malloc((size_t)g->n * sizeof *adj);
    int *rej = malloc((size_t)g->n * sizeof *rej);
    int rc = 0;
    if (!xs || !ys || !xl || !yl || !xt || !yt || !members || !tested || !p || !adj || !rej) rc = cli_usage_error("out of memory");
    for (int s = 0; s < g->n; s++) {
        memset(&cmp[s], 0, sizeof cmp[s]);
        cmp[s].best = -1;
    }
    for (int pr = 0; !rc && pr < g->n_problems; pr++) {
        int n = 0, best = -1;
        for (int s = 0; s < g->n; s++) {
            if (g->problem[s] != pr || sum[s].n == 0) continue;
            members[n++] = s;
            if (best < 0 || sweep_better(sum[s].rate, ttt_q(&sum[s], unit)->median, sum[s].median, sum[best].rate,
                                         ttt_q(&sum[best], unit)->median, sum[best].median) < 0)
                best = s;
        }
        if (best < 0) continue;
        int m = 0; /* tested settings of this problem */
        for (int i = 0; i < n; i++) {
            const int s = members[i];
            sweep_cmp *c = &cmp[s];
            c->best = best;
            if (s == best) {
                c->pairs = -1; /* the reference */
                continue;
            }
            long k = 0;
            for (int r = 0; r < restarts; r++) {
                const nf_trial *a = &trials[(long)s * restarts + r], *b = &trials[(long)best * restarts + r];
                if (!a->done || !b->done) continue;
                xs[k] = a->success, ys[k] = b->success;
                xl[k] = loss_of(a), yl[k] = loss_of(b);
                xt[k] = sweep_ttt(a, unit), yt[k] = sweep_ttt(b, unit);
                k++;
            }
            c->pairs = k;
            if (!k) continue;
            if (nf_mcnemar(xs, ys, k, &c->mcnemar) || nf_wilcoxon(xl, yl, k, NF_ZERO_WILCOX, &c->loss) ||
                nf_wilcoxon(xt, yt, k, NF_ZERO_WILCOX, &c->ttt)) {
                rc = cli_status_error(NF_EINVAL);
                break;
            }
            c->tested = 1;
            p[m] = c->mcnemar.p;
            p[g->n + m] = c->loss.p;
            p[2 * (size_t)g->n + m] = c->ttt.p;
            tested[m++] = s;
        }
        for (int fam = 0; !rc && fam < 3 && m; fam++) {
            if (nf_holm(p + (size_t)fam * (size_t)g->n, m, ALPHA, adj, rej)) {
                rc = cli_status_error(NF_EINVAL);
                break;
            }
            for (int i = 0; i < m; i++) {
                sweep_cmp *c = &cmp[tested[i]];
                if (fam == 0) c->p_success = adj[i], c->sig_success = rej[i];
                if (fam == 1) c->p_loss = adj[i], c->sig_loss = rej[i];
                if (fam == 2) c->p_ttt = adj[i], c->sig_ttt = rej[i];
            }
        }
    }
    free(xs);
    free(ys);
    free(xl);
    free(yl);
    free(xt);
    free(yt);
    free(members);
    free(tested);
    free(p);
    free(adj);
    free(rej);
    return rc;
}

/* ---- performance profiles ---- */

void sweep_profile_free(sweep_profile *p)
{
    free(p->solver);
    free(p->names);
    free(p->time);
    free(p->tau);
    free(p->rho);
    memset(p, 0, sizeof *p);
}

/* Whether axis k is left out of the solver's identity: the problem itself, what goes with it
 * (--inputs, the tuned values) and, when `arch_too`, the architecture. */
static int not_solver(const sweep_grid *g, int k, int arch_too)
{
    if (k == g->problem_axis || k == g->inputs_axis || g->ax[k].tuned) return 1;
    return arch_too && !strcmp(g->ax[k].row->name, "layers");
}

static int same_solver(const sweep_grid *g, int a, int b, int arch_too)
{
    for (int k = 0; k < g->n_ax; k++)
        if (!not_solver(g, k, arch_too) && g->choice[(size_t)a * (size_t)g->n_ax + (size_t)k] !=
                                               g->choice[(size_t)b * (size_t)g->n_ax + (size_t)k])
            return 0;
    return 1;
}

/* Assigns solvers; returns 0 when two settings of one problem would share a solver. */
static int assign(const sweep_grid *g, int arch_too, int *solver, int *n_solvers)
{
    int n = 0;
    for (int s = 0; s < g->n; s++) {
        solver[s] = -1;
        for (int t = 0; t < s && solver[s] < 0; t++)
            if (same_solver(g, s, t, arch_too)) {
                if (g->problem[s] == g->problem[t]) return 0;
                solver[s] = solver[t];
            }
        if (solver[s] < 0) solver[s] = n++;
    }
    *n_solvers = n;
    return 1;
}

/* Expected time to a success of setting s: every finished trial's time to target, or its whole
 * run (epochs run, seconds) when it never reached it, summed over the number that reached it. */
static double ert(const nf_trial *trials, int restarts, int s, nf_ttt_unit unit)
{
    double total = 0;
    long reached = 0;
    for (int r = 0; r < restarts; r++) {
        const nf_trial *t = &trials[(long)s * restarts + r];
        if (!t->done) continue;
        const double x = sweep_ttt(t, unit);
        if (isfinite(x)) {
            total += x;
            reached++;
        } else {
            total += unit == NF_TTT_SECONDS ? t->seconds : (double)t->epochs_run;
        }
    }
    return reached ? total / (double)reached : INFINITY;
}

int sweep_profile_make(const sweep_grid *g, const nf_trial *trials, int restarts, const nf_sweep_summary *sum,
                       nf_ttt_unit unit, sweep_profile_cost cost, sweep_profile *p)
{
    memset(p, 0, sizeof *p);
    p->cost = cost;
    if (g->n_problems < 2 || (cost == PROFILE_ERT && unit == NF_TTT_EVALS)) return 0;
    p->solver = malloc((size_t)g->n * sizeof *p->solver);
    if (!p->solver) return cli_usage_error("out of memory");
    int ns = 0;
    /* the architecture is part of the problem when it is what fits each problem's data (one
     * architecture per problem); otherwise it tells solvers apart */
    const int arch_in_problem = assign(g, 1, p->solver, &ns);
    if (!arch_in_problem) assign(g, 0, p->solver, &ns);
    p->n_solvers = ns;
    p->n_problems = g->n_problems;
    p->names = calloc((size_t)ns, sizeof *p->names);
    p->time = malloc((size_t)ns * (size_t)g->n_problems * sizeof *p->time);
    if (!p->names || !p->time) return cli_usage_error("out of memory");
    for (size_t i = 0; i < (size_t)ns * (size_t)g->n_problems; i++) p->time[i] = INFINITY;
    for (int s = 0; s < g->n; s++) {
        const int v = p->solver[s];
        double t = cost == PROFILE_ERT ? ert(trials, restarts, s, unit) : ttt_q(&sum[s], unit)->median;
        if (sum[s].n == 0 || isnan(t)) t = INFINITY;
        if (t <= 0) t = 1e-300; /* ratios need a positive cost */
        p->time[(size_t)g->problem[s] * (size_t)ns + (size_t)v] = t;
        if (p->names[v][0]) continue;
        size_t pos = 0;
        for (int k = 0; k < g->n_ax && pos < sizeof p->names[v]; k++) {
            if (not_solver(g, k, arch_in_problem) || g->ax[k].n < 2) continue;
            const char *val = sweep_value(g, s, k);
            pos += (size_t)snprintf(p->names[v] + pos, sizeof p->names[v] - pos, "%s%s%s%s", pos ? " " : "",
                                    strcmp(g->ax[k].row->name, "opt") ? g->ax[k].row->name : "",
                                    strcmp(g->ax[k].row->name, "opt") ? "=" : "", val ? val : "on");
        }
        if (!pos) snprintf(p->names[v], sizeof p->names[v], "setting %d", v);
    }
    /* τ: 1 and every finite ratio, plus a point past the largest, so the steps are exact */
    double *ratio = malloc((size_t)ns * (size_t)g->n_problems * sizeof *ratio);
    if (!ratio) return cli_usage_error("out of memory");
    if (nf_perf_ratios(p->time, g->n_problems, ns, ratio)) {
        free(ratio);
        return cli_status_error(NF_EINVAL);
    }
    const size_t nr = (size_t)ns * (size_t)g->n_problems;
    p->tau = malloc((nr + 2) * sizeof *p->tau);
    if (!p->tau) {
        free(ratio);
        return cli_usage_error("out of memory");
    }
    int nt = 0;
    p->tau[nt++] = 1.0;
    double top = 1.0;
    for (size_t i = 0; i < nr; i++)
        if (isfinite(ratio[i]) && ratio[i] > 1.0) {
            p->tau[nt++] = ratio[i];
            top = fmax(top, ratio[i]);
        }
    free(ratio);
    nf_sort_doubles(p->tau, nt);
    int u = 0;
    for (int i = 0; i < nt; i++)
        if (!u || p->tau[i] != p->tau[u - 1]) p->tau[u++] = p->tau[i];
    p->tau[u++] = top * 2.0;
    p->n_tau = u;
    p->rho = malloc((size_t)ns * (size_t)u * sizeof *p->rho);
    if (!p->rho) return cli_usage_error("out of memory");
    if (nf_perf_profile(p->time, g->n_problems, ns, p->tau, u, p->rho)) return cli_status_error(NF_EINVAL);
    return 0;
}

/* ρ_s(τ) at τ: the profile is a right-continuous step function through p->tau. */
static double rho_at(const sweep_profile *p, int s, double tau)
{
    double r = 0;
    for (int k = 0; k < p->n_tau && p->tau[k] <= tau; k++) r = p->rho[(size_t)s * (size_t)p->n_tau + (size_t)k];
    return r;
}

void sweep_profile_print(const sweep_profile *p, const sweep_grid *g, nf_ttt_unit unit, FILE *f)
{
    static const double show[] = {1, 1.5, 2, 4, 8, 16, 64};
    fprintf(f, "# performance profile (Dolan-More) over %d problems: rho(tau) = share of problems whose %s (%s) "
               "is within tau times the best solver's; a problem never reached counts nowhere\n",
            p->n_problems, p->cost == PROFILE_ERT ? "expected time to a success (all trials' time over the successes)"
                                                  : "median time to target", sweep_ttt_name(unit));
    int w = 20;
    for (int s = 0; s < p->n_solvers; s++) w = (int)strlen(p->names[s]) > w ? (int)strlen(p->names[s]) : w;
    fprintf(f, "%-*s", w, "solver");
    for (size_t k = 0; k < sizeof show / sizeof show[0]; k++) fprintf(f, " %7s%-3g", "tau=", show[k]);
    for (int q = 0; q < p->n_problems; q++) {
        const char *nm = g->problems[q].name, *sl = strrchr(nm, '/');
        fprintf(f, " %12.12s", sl ? sl + 1 : nm);
    }
    fputc('\n', f);
    for (int s = 0; s < p->n_solvers; s++) {
        fprintf(f, "%-*s", w, p->names[s]);
        for (size_t k = 0; k < sizeof show / sizeof show[0]; k++) fprintf(f, " %10.3f", rho_at(p, s, show[k]));
        for (int q = 0; q < p->n_problems; q++) {
            const double t = p->time[(size_t)q * (size_t)p->n_solvers + (size_t)s];
            if (isinf(t)) fprintf(f, " %12s", "inf");
            else fprintf(f, " %12.4g", t);
        }
        fputc('\n', f);
    }
    fprintf(f, "# (the last columns: each solver's %s per problem)\n",
            p->cost == PROFILE_ERT ? "expected time to a success" : "median time to target");
}

int sweep_profile_plot(const sweep_profile *p, nf_ttt_unit unit, const char *dir)
{
    char path[4200];
    const char *stem = p->cost == PROFILE_ERT ? "profile_ert" : "profile";
    snprintf(path, sizeof path, "%s/%s.dat", dir, stem);
    nf_out o;
    if (nf_out_open(&o, path)) return cli_usage_error("%s", nf_last_error());
    fprintf(o.f, "# tau rho; one block (index) per solver, steps through every ratio\n");
    for (int s = 0; s < p->n_solvers; s++) {
        fprintf(o.f, "# %s\n", p->names[s]);
        for (int k = 0; k < p->n_tau; k++)
            fprintf(o.f, "%.9g %.6f\n", p->tau[k], p->rho[(size_t)s * (size_t)p->n_tau + (size_t)k]);
        fprintf(o.f, "\n\n");
    }
    if (nf_out_commit(&o)) return cli_usage_error("%s", nf_last_error());
    snprintf(path, sizeof path, "%s/%s.gp", dir, stem);
    if (nf_out_open(&o, path)) return cli_usage_error("%s", nf_last_error());
    fprintf(o.f, "# rendered by nnfit; run `gnuplot %s.gp` in this directory to redraw\n"
                 "if (!exists('out_prefix')) out_prefix = ''\n", stem);
    static const char *const term[2] = {"pngcairo size 900,560 enhanced font 'Sans,11' linewidth 1.2",
                                        "svg size 900,560 enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'"};
    static const char *const ext[2] = {"png", "svg"};
    const double top = p->tau[p->n_tau - 1];
    for (int k = 0; k < 2; k++) {
        fprintf(o.f, "reset\nset terminal %s\nset output out_prefix.'%s.%s'\n", term[k], stem, ext[k]);
        fprintf(o.f, "set encoding utf8\nset border 3 back lc rgb '#606060'\nset tics nomirror out scale 0.75\n"
                     "set grid back lc rgb '#d0d0d0' lt 0\nset logscale x 2\nset xrange [1:%.6g]\nset yrange [0:1.05]\n"
                     "set xlabel 'τ (times the best %s, %s)'\nset ylabel 'ρ(τ): share of problems'\n"
                     "set title 'Performance profiles over %d problems' noenhanced\n"
                     "set key bottom right box opaque noenhanced\n",
                top, p->cost == PROFILE_ERT ? "expected time to a success" : "median time to target",
                sweep_ttt_name(unit), p->n_problems);
        fprintf(o.f, "plot ");
        for (int s = 0; s < p->n_solvers; s++) {
            char title[200];
            size_t j = 0;
            for (const char *c = p->names[s]; *c && j + 2 < sizeof title; c++) {
                if (*c == '\'') title[j++] = '\'';
                title[j++] = *c;
            }
            title[j] = '\0';
            /* eight colours, then the same colours dashed: sixteen solvers stay apart */
            fprintf(o.f, "%s'%s.dat' index %d using 1:2 with steps lw 2 lc %d dt %d title '%s'", s ? ", \\\n     " : "",
                    stem, s, s % 8 + 1, s / 8 % 5 + 1, title);
        }
        fprintf(o.f, "\nset output\n");
    }
    if (nf_out_commit(&o)) return cli_usage_error("%s", nf_last_error());
    return 0;
}
