/* sweep_plot.c — pictures of a sweep (CSV/dat data + gnuplot scripts, rendered when gnuplot
 * is installed), the neuron table, and `nnfit plot`. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results_csv.h"

void cli_print_units(FILE *f, const nf_unit_diag *u, int n, double angle_deg)
{
    fprintf(f, "%5s %5s %8s %11s %11s %-9s %9s %9s\n", "layer", "unit", "active%", "z_min", "z_max",
            "state", "kink_deg", "|w_out|");
    for (int i = 0; i < n; i++) {
        char state[24];
        if (u[i].dead) snprintf(state, sizeof state, "dead");
        else if (u[i].duplicate_of >= 0) snprintf(state, sizeof state, "dup(%d)", u[i].duplicate_of);
        else if (u[i].parallel_of >= 0) snprintf(state, sizeof state, "par(%d)", u[i].parallel_of);
        else if (u[i].always_on) snprintf(state, sizeof state, "always-on");
        else snprintf(state, sizeof state, "ok");
        fprintf(f, "%5d %5d %8.2f %11.4g %11.4g %-9s %9.3g %9.4g\n", u[i].layer, u[i].unit,
                100.0 * u[i].active_frac, u[i].z_min, u[i].z_max, state, u[i].kink_angle_deg, u[i].out_norm);
    }
    int layers = n ? u[n - 1].layer + 1 : 0;
    for (int l = 0; l < layers; l++) {
        nf_diag_counts c = nf_diag_count(u, n, l);
        fprintf(f, "layer %d: %d units, %d dead, %d always-on, %d duplicate, %d parallel (angle < %g deg)\n", l,
                c.units, c.dead, c.always_on, c.duplicate, c.parallel, angle_deg);
    }
}

/* ---- text that grows ---- */

typedef struct {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && (size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)w + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

/* ---- files: every data file and script goes through nf_out (temporary file + rename) ---- */

/* dir without trailing slashes ("out/" and "out" name the same folder in messages and paths). */
static void dir_trim(const char *dir, char *out, size_t cap)
{
    snprintf(out, cap, "%s", dir);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') out[--n] = '\0';
}

static int out_open(nf_out *o, const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cli_usage_error("%s/%s: path too long", dir, name);
    if (nf_out_open(o, path)) return cli_usage_error("%s", nf_last_error());
    return 0;
}

static int out_close(nf_out *o)
{
    return nf_out_commit(o) ? cli_usage_error("%s", nf_last_error()) : 0;
}

static int have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static const char *preamble =
    "set encoding utf8\n"
    "set style line 11 lc rgb '#606060' lt 1 lw 1\n"
    "set border 3 back ls 11\nset tics nomirror out scale 0.75\n"
    "set style line 12 lc rgb '#d0d0d0' lt 0 lw 1\nset grid back ls 12\n";

/* Writes `stem.gp`: the body once for PNG and once for SVG (a multiplot cannot be replotted).
 * `nnfit plot` sets out_prefix to render into temporary names that are renamed into place; run
 * by hand, the script writes stem.png and stem.svg directly. */
static int write_script(const char *dir, const char *stem, int width, int height, const char *body)
{
    char name[256];
    snprintf(name, sizeof name, "%s.gp", stem);
    nf_out o;
    if (out_open(&o, dir, name)) return EXIT_USAGE;
    fprintf(o.f, "# rendered by nnfit; run `gnuplot %s` in this directory to redraw\n"
                 "if (!exists('out_prefix')) out_prefix = ''\n", name);
    static const char *const term[2] = {"pngcairo size %d,%d enhanced font 'Sans,11' linewidth 1.2",
                                        "svg size %d,%d enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'"};
    static const char *const ext[2] = {"png", "svg"};
    for (int k = 0; k < 2; k++) {
        fprintf(o.f, "reset\nset terminal ");
        fprintf(o.f, term[k], width, height);
        fprintf(o.f, "\nset output out_prefix.'%s.%s'\n%s%s\nset output\n", stem, ext[k], preamble, body);
    }
    return out_close(&o);
}

/* ---- axes chosen from the data ---- */

/* A loss axis over data in [lo, hi]: logarithmic when the data spans more than a factor of 20
 * (and is positive), linear otherwise, with a margin of a few percent of the span; decade tics
 * only when at least three decades are shown, else 1-2-5 tics that label every step. */
static void loss_axis(sbuf *b, char ax, double lo, double hi)
{
    if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi)) {
        sb_add(b, "set logscale %c\n", ax);
        return;
    }
    if (lo > 0 && hi / lo > 20.0) {
        double span = log10(hi / lo), pad = fmax(0.04 * span, 0.03);
        double a = lo / pow(10.0, pad), z = hi * pow(10.0, pad);
        sb_add(b, "set logscale %c\nset %crange [%.6g:%.6g]\n", ax, ax, a, z);
        if (log10(z / a) >= 3.0) {
            sb_add(b, "set format %c '10^{%%L}'\nset m%ctics 10\n", ax, ax);
        } else {
            sb_add(b, "set %ctics (", ax);
            int first = 1;
            for (int e = (int)floor(log10(a)) - 1; e <= (int)ceil(log10(z)); e++)
                for (int m = 1; m <= 5; m += (m == 1 ? 1 : 3)) {
                    double v = m * pow(10.0, e);
                    if (v < a || v > z) continue;
                    sb_add(b, "%s\"%g\" %.6g", first ? "" : ", ", v, v);
                    first = 0;
                }
            sb_add(b, ")\nset m%ctics default\n", ax);
        }
    } else {
        double span = hi - lo;
        if (span <= 0) span = hi != 0 ? fabs(hi) * 0.1 : 1.0;
        sb_add(b, "unset logscale %c\nset %crange [%.6g:%.6g]\nset format %c '%%g'\n", ax, ax, lo - 0.06 * span,
               hi + 0.06 * span, ax);
    }
}

/* Whether the target line is drawn: when it lies within half the data's span (a quarter of it,
 * at least 0.3 decades, on a log axis; the scale is the one loss_axis picks for the data alone), the axis is widened to hold it;
 * farther away it would squeeze the data into a sliver, and the title names it instead. */
static int target_fits(double target, double *lo, double *hi)
{
    int fits;
    if (*lo > 0 && *hi / *lo > 20.0) {
        double span = log10(*hi / *lo), ext = fmax(0.25 * span, 0.3);
        fits = target > 0 && log10(target) >= log10(*lo) - ext && log10(target) <= log10(*hi) + ext;
        fits = fits && fmax(*hi, target) / fmin(*lo, target) > 20.0;
    } else {
        double span = *hi - *lo > 0 ? *hi - *lo : fabs(*hi) * 0.1;
        fits = target >= *lo - 0.5 * span && target <= *hi + 0.5 * span;
    }
    if (fits) {
        *lo = fmin(*lo, target);
        *hi = fmax(*hi, target);
    }
    return fits;
}

/* ---- loss curves of one setting ---- */

static int curves_plot(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                       const nf_sweep_summary *sum, const cli_setting_name *nm, int s)
{
    char name[256];
    int counts[2] = {0, 0}, points[2] = {0, 0}, max_epoch = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (int w = 0; w < 2; w++) {
        snprintf(name, sizeof name, "%s_%s.dat", nm[s].file, w ? "fail" : "ok");
        nf_out o;
        if (out_open(&o, dir, name)) return EXIT_USAGE;
        fprintf(o.f, "# epoch loss; one block per %s trial (restart, seed in the block header)\n",
                w ? "failed" : "succeeded");
        for (int r = 0; r < cfg->restarts; r++) {
            const nf_trial *t = &trials[(long)s * cfg->restarts + r];
            if (!t->done || !t->curve || (t->success != 0) == (w != 0)) continue;
            int step = t->epochs_run > 600 ? t->epochs_run / 600 : 1;
            fprintf(o.f, "# restart %d seed %llu final %.6e\n", t->restart, (unsigned long long)t->seed, t->final_loss);
            for (int e = 0; e < t->epochs_run; e++)
                if (e % step == 0 || e == t->epochs_run - 1)
                    if (isfinite(t->curve[e]) && t->curve[e] > 0) {
                        fprintf(o.f, "%d %.6e\n", e + 1, (double)t->curve[e]);
                        points[w]++;
                        lo = fmin(lo, t->curve[e]);
                        hi = fmax(hi, t->curve[e]);
                    }
            if (t->epochs_run > max_epoch) max_epoch = t->epochs_run;
            fputc('\n', o.f);
            counts[w]++;
        }
        if (out_close(&o)) return EXIT_USAGE;
    }
    sbuf b = {0};
    const double target = nf_sweep_problem_of(cfg, s).target;
    int show_target = isfinite(lo) && target_fits(target, &lo, &hi);
    sb_add(&b, "set xlabel 'epoch'\nset ylabel 'training loss (MSE)'\nset xrange [1:%d]\n%s", max_epoch > 1 ? max_epoch : 2,
           max_epoch <= 12 ? "set xtics 1\n" : "");
    loss_axis(&b, 'y', lo, hi);
    sb_add(&b, "set title \"%s: %d of %ld trials reach loss ≤ %g%s\" noenhanced\n", nm[s].label, counts[0],
           sum[s].n, target, show_target || !isfinite(lo) ? "" : target < lo ? " (below the axis)" : " (above the axis)");
    sb_add(&b, "set key top right box opaque noenhanced\n");
    if (show_target)
        sb_add(&b, "set arrow 1 from graph 0, first %.9g to graph 1, first %.9g nohead dt 2 lc rgb '#404040'\n", target, target);
    sb_add(&b, "plot ");
    const char *sep = "";
    if (points[1]) {
        sb_add(&b, "'%s_fail.dat' using 1:2 with lines lc rgb '#A0D62728' lw 1 title 'failed (%d)'", nm[s].file, counts[1]);
        sep = ", ";
    }
    if (points[0]) {
        sb_add(&b, "%s'%s_ok.dat' using 1:2 with lines lc rgb '#A01F77B4' lw 1 title 'succeeded (%d)'", sep, nm[s].file,
               counts[0]);
        sep = ", ";
    }
    if (show_target) sb_add(&b, "%sNaN with lines dt 2 lc rgb '#404040' title 'target %g'", sep, target);
    if (!points[0] && !points[1]) /* every loss NaN, Inf or 0: nothing to draw on a log axis */
        sb_add(&b, "set yrange [0:1]\nset label 1 'no finite positive loss to draw' at graph 0.5, graph 0.5 center\nplot NaN notitle");
    sb_add(&b, "\n");
    char stem[160];
    snprintf(stem, sizeof stem, "%s_loss", nm[s].file);
    int rc = b.failed ? cli_usage_error("out of memory") : write_script(dir, stem, 900, 560, b.s);
    free(b.s);
    return rc;
}

/* ---- final loss of every trial, one row per setting ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Trials of setting s are trials[first[s] .. first[s+1]) (a sweep's grid has first[s] =
 * s · restarts; a results file is read into that layout too). */
static int final_plot(const char *dir, int n_settings, const nf_trial *trials, const long *first,
                      const nf_sweep_summary *sum, const cli_setting_name *nm, double target)
{
    nf_out o;
    if (out_open(&o, dir, "final_loss.dat")) return EXIT_USAGE;
    fprintf(o.f, "# setting jitter final_loss success; one block (index) per setting\n");
    nf_rng rng;
    nf_rng_seed(&rng, 12345);
    double lo = INFINITY, hi = -INFINITY;
    long most = 1, drawn[2] = {0, 0}; /* points of failed, succeeded trials */
    for (int s = 0; s < n_settings; s++) most = first[s + 1] - first[s] > most ? first[s + 1] - first[s] : most;
    double *v = malloc((size_t)most * sizeof *v);
    double (*box)[5] = calloc((size_t)n_settings, sizeof *box); /* min q1 median q3 max */
    int *n_fin = calloc((size_t)n_settings, sizeof *n_fin);
    if (!v || !box || !n_fin) {
        nf_out_abort(&o);
        free(v);
        free(box);
        free(n_fin);
        return cli_usage_error("out of memory");
    }
    for (int s = 0; s < n_settings; s++) {
        int k = 0;
        for (long i = first[s]; i < first[s + 1]; i++) {
            const nf_trial *t = &trials[i];
            if (!t->done || !isfinite(t->final_loss) || t->final_loss <= 0) continue;
            fprintf(o.f, "%d %.4f %.6e %d\n", s, nf_rng_range(&rng, -0.22, 0.22), t->final_loss, t->success);
            drawn[t->success != 0]++;
            v[k++] = t->final_loss;
        }
        if (!k) fprintf(o.f, "%d 0 NaN 0\n", s);
        fprintf(o.f, "\n\n");
        n_fin[s] = k;
        if (k) {
            qsort(v, (size_t)k, sizeof *v, cmp_double);
            box[s][0] = v[0];
            box[s][1] = nf_quantile_sorted(v, k, 0.25);
            box[s][2] = nf_quantile_sorted(v, k, 0.5);
            box[s][3] = nf_quantile_sorted(v, k, 0.75);
            box[s][4] = v[k - 1];
            lo = fmin(lo, v[0]);
            hi = fmax(hi, v[k - 1]);
        }
    }
    free(v);
    int rc = out_close(&o);
    if (!rc && !out_open(&o, dir, "final_loss_box.dat")) {
        fprintf(o.f, "# setting min q1 median q3 max (of the finite final losses)\n");
        for (int s = 0; s < n_settings; s++)
            if (n_fin[s]) fprintf(o.f, "%d %.6e %.6e %.6e %.6e %.6e\n", s, box[s][0], box[s][1], box[s][2], box[s][3], box[s][4]);
        rc = out_close(&o);
    } else if (!rc) {
        rc = EXIT_USAGE;
    }
    free(box);
    if (rc) {
        free(n_fin);
        return rc;
    }
    /* labels are "opt act init layers lr=X [aid=V ...]": each row shows the words that vary
     * between settings, the title the ones all settings share */
    enum { WORDS = 24 };
    char words[WORDS][64], firstw[WORDS][64];
    int n_words = 0, varies[WORDS] = {0};
    for (int s = 0; s < n_settings; s++) {
        int n = 0;
        const char *p = nm[s].label;
        while (*p && n < WORDS) {
            while (*p == ' ') p++;
            size_t len = strcspn(p, " ");
            if (!len) break;
            snprintf(words[n++], sizeof words[0], "%.*s", (int)(len < 63 ? len : 63), p);
            p += len;
        }
        if (s == 0) {
            n_words = n;
            memcpy(firstw, words, sizeof words);
        }
        for (int w = 0; w < n_words; w++) varies[w] |= w >= n || strcmp(words[w], firstw[w]) != 0;
    }
    char common[512] = "";
    for (int w = 0; w < n_words; w++)
        if (!varies[w]) {
            size_t at = strlen(common);
            snprintf(common + at, sizeof common - at, "%s%s", at ? " " : "", firstw[w]);
        }
    sbuf b = {0};
    int show_target = isfinite(lo) && target_fits(target, &lo, &hi);
    sb_add(&b, "set title \"final loss of every trial (a dot each)%s%s\\nbox: quartiles, bar: median, whiskers: lowest "
               "to highest\" noenhanced\n", *common ? ": " : "", common);
    if (show_target || !isfinite(lo)) sb_add(&b, "set xlabel 'final training loss (MSE)'\n");
    else sb_add(&b, "set xlabel 'final training loss (MSE); the target %g is %s the axis'\n", target, target < lo ? "below" : "above");
    loss_axis(&b, 'x', lo, hi);
    /* settings top to bottom, named on the left; their success rates on the right */
    sb_add(&b, "set yrange [%d.6:-0.6]\nset y2range [%d.6:-0.6]\nset grid xtics mxtics noytics\n"
               "set key outside top center horizontal noenhanced\nset border 11 back ls 11\n"
               "set y2tics nomirror noenhanced font ',10' (", n_settings - 1, n_settings - 1);
    for (int s = 0; s < n_settings; s++) {
        char more[48] = "";
        if (n_fin[s] < sum[s].n) snprintf(more, sizeof more, ", %ld not finite", sum[s].n - n_fin[s]);
        sb_add(&b, "%s\"%.0f%%%% ok (%ld/%ld)%s\" %d", s ? ", " : "", 100 * sum[s].rate, sum[s].successes, sum[s].n, more, s);
    }
    sb_add(&b, ")\nset ytics nomirror noenhanced font ',10' (");
    for (int s = 0; s < n_settings; s++) {
        char lab[512] = "";
        int n = 0;
        const char *p = nm[s].label;
        while (*p && n < WORDS) {
            while (*p == ' ') p++;
            size_t len = strcspn(p, " ");
            if (!len) break;
            if (n < n_words && varies[n]) {
                size_t at = strlen(lab);
                snprintf(lab + at, sizeof lab - at, "%s%.*s", at ? " " : "", (int)len, p);
            }
            n++;
            p += len;
        }
        sb_add(&b, "%s\"%s\" %d", s ? ", " : "", *lab ? lab : "all trials", s);
    }
    sb_add(&b, ")\n");
    if (show_target)
        sb_add(&b, "set arrow 1 from first %.9g, graph 0 to first %.9g, graph 1 nohead dt 2 lc rgb '#404040'\n", target, target);
    if (!isfinite(lo)) { /* no trial has a finite positive loss: say so instead of an empty axis */
        sb_add(&b, "set xrange [0:1]\nunset xtics\nset label 1 'no trial has a finite positive final loss' at graph 0.5, graph 0.5 "
                   "center\nplot NaN notitle\n");
    } else {
        sb_add(&b, "set style fill solid 1.0 noborder\nplot "
                   "'final_loss_box.dat' using (($3+$5)/2):1:3:5:($1-0.32):($1+0.32) with boxxyerror fc rgb '#E8E8E8' notitle, \\\n"
                   "  '' using 2:1:($3-$2):(0) with vectors nohead lc rgb '#404040' notitle, \\\n"
                   "  '' using 5:1:($6-$5):(0) with vectors nohead lc rgb '#404040' notitle, \\\n"
                   "  '' using 3:($1-0.32):($5-$3):(0) with vectors nohead lc rgb '#404040' notitle, \\\n"
                   "  '' using 3:($1+0.32):($5-$3):(0) with vectors nohead lc rgb '#404040' notitle, \\\n"
                   "  '' using 4:($1-0.32):(0):(0.64) with vectors nohead lw 2 lc rgb '#202020' notitle");
        if (drawn[0])
            sb_add(&b, ", \\\n  'final_loss.dat' using ($4==0 ? $3 : NaN):($1+$2) with points pt 7 ps 0.6 lc rgb '#90D62728' "
                       "title 'failed'");
        if (drawn[1])
            sb_add(&b, ", \\\n  'final_loss.dat' using ($4==1 ? $3 : NaN):($1+$2) with points pt 7 ps 0.6 lc rgb '#901F77B4' "
                       "title 'succeeded'");
        if (show_target) sb_add(&b, ", \\\n  NaN with lines dt 2 lc rgb '#404040' title 'target %g'", target);
    }
    sb_add(&b, "\n");
    free(n_fin);
    int height = 150 + 26 * n_settings;
    rc = b.failed ? cli_usage_error("out of memory") : write_script(dir, "final_loss", 1000, height < 320 ? 320 : height, b.s);
    free(b.s);
    return rc;
}

/* ---- the fitted surface and the kinks of a 2-input net ---- */

/* Clips the line w0 x + w1 y + b = 0 to [-h, h]^2; returns 1 with the two end points. */
static int clip_line(double w0, double w1, double b, double h, double *x0, double *y0, double *x1, double *y1)
{
    double px[4], py[4];
    int k = 0;
    const double e = 1e-12;
    if (fabs(w1) > e)
        for (int sx = -1; sx <= 1; sx += 2) {
            double y = -(b + w0 * sx * h) / w1;
            if (y >= -h && y <= h && k < 4) px[k] = sx * h, py[k++] = y;
        }
    if (fabs(w0) > e)
        for (int sy = -1; sy <= 1; sy += 2) {
            double x = -(b + w1 * sy * h) / w0;
            if (x > -h && x < h && k < 4) px[k] = x, py[k++] = sy * h;
        }
    if (k < 2) return 0;
    *x0 = px[0], *y0 = py[0], *x1 = px[1], *y1 = py[1];
    return 1;
}

/* The pictures show a margin around the data square [-1, 1]^2: a dead or always-on unit has
 * its kink on the edge of the data or beyond it, and is drawn there. */
#define VIEW 1.3

static const char *pick_name[CLI_PICKS] = {"best", "typical_failure", "worst"};
static const char *pick_title[CLI_PICKS] = {"best trial", "typical failed trial", "worst trial"};

enum { K_LIVE, K_DEAD, K_ALWAYS, K_DUP, K_PAR, K_STATES };
static const char *const state_word[K_STATES] = {"live", "dead", "always-on", "duplicate", "parallel"};
static const char *const state_rgb[K_STATES] = {"#FFFFFF", "#FF4040", "#FFB000", "#40FF40", "#60C8FF"};

typedef struct {
    int unit, state, inside; /* inside: 1 a segment in the view, 0 the kink misses it, -1 no kink */
    double x0, y0, x1, y1;   /* the segment; when outside, the view corner nearest to the kink */
    int same_as;           /* index of an earlier drawn unit with the same segment, -1 if none */
    int copies;            /* on the first of a group: how many units share the segment */
} kink;

/* Kinks of the first hidden layer of a 2-input net, each unit inside the square as a segment
 * or, when its kink misses the square (dead and always-on units), as a marker at the corner
 * nearest to its line; segments that coincide are grouped. */
static int model_kinks(nf_model *m, const nf_sweep_config *cfg, int s, kink **out)
{
    const nf_mat *X = nf_sweep_problem_of(cfg, s).X;
    const int nh = nf_model_size(m, 1);
    kink *k = calloc((size_t)nh, sizeof *k);
    if (!k) return -1;
    nf_unit_diag *u = NULL;
    int nu = 0;
    if (nf_diag_units(m, X->data, X->rows, &cfg->diag, &u, &nu)) u = NULL;
    for (int j = 0; j < nh; j++) {
        kink *q = &k[j];
        q->unit = j;
        q->same_as = -1;
        q->copies = 1;
        q->state = !u || j >= nu ? K_LIVE : u[j].dead ? K_DEAD : u[j].always_on ? K_ALWAYS
                 : u[j].duplicate_of >= 0 ? K_DUP : u[j].parallel_of >= 0 ? K_PAR : K_LIVE;
        double w0, w1, b;
        if (!nf_diag_kink_line(m, j, &w0, &w1, &b)) {
            q->inside = -1; /* no kink at all (zero input weights) */
            continue;
        }
        /* live units are drawn on the data, dead and always-on ones out to the view's edge */
        const double h = q->state == K_DEAD || q->state == K_ALWAYS ? VIEW : 1.0;
        q->inside = clip_line(w0, w1, b, h, &q->x0, &q->y0, &q->x1, &q->y1);
        if (!q->inside) { /* a line missing a convex square is nearest to one of its corners */
            double best = INFINITY;
            for (int cx = -1; cx <= 1; cx += 2)
                for (int cy = -1; cy <= 1; cy += 2) {
                    double d = fabs(w0 * cx * h + w1 * cy * h + b);
                    if (d < best) best = d, q->x0 = cx * h, q->y0 = cy * h;
                }
        }
    }
    free(u);
    const double tol = 0.01;
    for (int j = 0; j < nh; j++)
        for (int i = 0; i < j && k[j].inside == 1 && k[j].same_as < 0; i++) {
            if (k[i].inside != 1 || k[i].same_as >= 0) continue;
            int same = (fabs(k[i].x0 - k[j].x0) < tol && fabs(k[i].y0 - k[j].y0) < tol && fabs(k[i].x1 - k[j].x1) < tol &&
                        fabs(k[i].y1 - k[j].y1) < tol) ||
                       (fabs(k[i].x0 - k[j].x1) < tol && fabs(k[i].y0 - k[j].y1) < tol && fabs(k[i].x1 - k[j].x0) < tol &&
                        fabs(k[i].y1 - k[j].y0) < tol);
            if (same) {
                k[j].same_as = i;
                k[i].copies++;
            }
        }
    *out = k;
    return nh;
}

static int surface_plot(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                        const cli_setting_name *nm, int s, const cli_pick *picks)
{
    enum { G = 161 };
    char name[256];
    int use[CLI_PICKS], n_use = 0;
    for (int k = 0; k < CLI_PICKS; k++)
        if (picks[k].model) use[n_use++] = k;
    float *grid = malloc(sizeof(float) * G * G * 2), *pred[CLI_PICKS] = {0};
    kink *kinks[CLI_PICKS] = {0};
    int nk[CLI_PICKS] = {0};
    int rc = grid ? 0 : cli_usage_error("out of memory");
    for (int k = 0; !rc && k < n_use; k++)
        if (!(pred[k] = malloc(sizeof(float) * G * G))) rc = cli_usage_error("out of memory");
    for (int i = 0; !rc && i < G; i++)
        for (int j = 0; j < G; j++) {
            grid[(i * G + j) * 2] = (float)(-1.0 + 2.0 * i / (G - 1));
            grid[(i * G + j) * 2 + 1] = (float)(-1.0 + 2.0 * j / (G - 1));
        }
    for (int k = 0; !rc && k < n_use; k++) {
        nf_model *m = picks[use[k]].model;
        if (nf_model_reserve(m, G * G) || nf_model_predict(m, grid, G * G, pred[k])) rc = cli_status_error(NF_ENOMEM);
    }
    if (!rc) {
        snprintf(name, sizeof name, "%s_surface.dat", nm[s].file);
        nf_out o;
        if (out_open(&o, dir, name)) rc = EXIT_USAGE;
        else {
            fprintf(o.f, "# x y target");
            for (int k = 0; k < n_use; k++) fprintf(o.f, " %s", pick_name[use[k]]);
            fputc('\n', o.f);
            for (int i = 0; i < G; i++) {
                for (int j = 0; j < G; j++) {
                    double x = grid[(i * G + j) * 2], y = grid[(i * G + j) * 2 + 1];
                    fprintf(o.f, "%.4f %.4f %.5f", x, y, sqrt(x * x + y * y));
                    for (int k = 0; k < n_use; k++) fprintf(o.f, " %.5f", (double)pred[k][i * G + j]);
                    fputc('\n', o.f);
                }
                fputc('\n', o.f);
            }
            rc = out_close(&o);
        }
    }
    for (int k = 0; !rc && k < n_use; k++) {
        nk[k] = model_kinks(picks[use[k]].model, cfg, s, &kinks[k]);
        if (nk[k] < 0) {
            rc = cli_usage_error("out of memory");
            break;
        }
        snprintf(name, sizeof name, "%s_kinks_%s.dat", nm[s].file, pick_name[use[k]]);
        nf_out o;
        if (out_open(&o, dir, name)) {
            rc = EXIT_USAGE;
            break;
        }
        fprintf(o.f, "# kink line w0 x + w1 y + b = 0 of each hidden unit inside the square, one block per unit: "
                     "x y state (0 live, 1 dead, 2 always-on, 3 duplicate, 4 parallel) unit dashed\n");
        for (int j = 0; j < nk[k]; j++) {
            const kink *q = &kinks[k][j];
            if (q->inside != 1) continue;
            fprintf(o.f, "%.5f %.5f %d %d %d\n%.5f %.5f %d %d %d\n\n", q->x0, q->y0, q->state, q->unit, q->same_as >= 0,
                    q->x1, q->y1, q->state, q->unit, q->same_as >= 0);
        }
        rc = out_close(&o);
    }
    if (!rc) {
        sbuf b = {0};
        sb_add(&b, "set multiplot layout 1,%d title \"%s\\nlines: the kink (z = 0) of each hidden unit, white live, red dead, "
                   "orange always-on, green duplicate, blue parallel; the frame is the data; ✕: a kink farther out, at the "
                   "corner nearest to it; ×N: N units share one kink\" noenhanced\n"
                   "set size ratio -1\nset xrange [-%g:%g]\nset yrange [-%g:%g]\n"
                   "set object 1 rect from -1,-1 to 1,1 front fillstyle empty border lc rgb '#404040' lw 1\n"
                   "set style textbox opaque fillcolor rgb '#FFFFFF' noborder margins 2,1\n"
                   "set cbrange [0:1.45]\nset xtics -1,0.5,1\nset ytics -1,0.5,1\nset grid noxtics noytics\n"
                   "set palette defined (0 '#0d0887', 0.25 '#6a00a8', 0.5 '#b12a90', 0.75 '#e16462', 1 '#fca636', 1.2 '#f0f921')\n"
                   "set xlabel 'x'\nset ylabel 'y'\nunset key\n"
                   "set title \"target √(x²+y²)\\n \\n \"\nplot '%s_surface.dat' using 1:2:3 with image\n",
                   n_use + 1, nm[s].label, VIEW, VIEW, VIEW, VIEW, nm[s].file);
        for (int k = 0; k < n_use; k++) {
            const nf_trial *t = &trials[picks[use[k]].trial];
            char outside[512] = "";
            int n_in[K_STATES][2] = {{0}};
            for (int j = 0; j < nk[k]; j++) {
                const kink *q = &kinks[k][j];
                if (q->inside == 1) {
                    n_in[q->state][q->same_as >= 0]++;
                    continue;
                }
                size_t at = strlen(outside);
                snprintf(outside + at, sizeof outside - at, "%sunit %d %s", at ? ", " : "", q->unit,
                         q->inside < 0 ? "(no kink)" : state_word[q->state]);
            }
            sb_add(&b, "unset label\nunset key\n");
            sb_add(&b, "set title \"%s (seed %llu)\\nMSE %.3e: %d dead, %d dup, %d parallel, %d always-on\\n%s%s\" noenhanced\n",
                   pick_title[use[k]], (unsigned long long)t->seed, t->final_loss, t->dead, t->duplicate, t->parallel,
                   t->always_on, *outside ? "beyond the view: " : " ", outside);
            /* dead and always-on units are named beside their kink, or at the view corner nearest
             * to a kink beyond the view (stacked when several share a corner) */
            int at_corner[4] = {0}, n_lab = 0;
            double lab_x[64], lab_y[64];
            for (int j = 0; j < nk[k]; j++) {
                const kink *q = &kinks[k][j];
                if (q->inside == 1 && q->state != K_DEAD && q->state != K_ALWAYS) continue;
                if (q->inside < 0) continue;
                if (q->inside == 1) {
                    /* the label sits on the part of the segment in the margin when there is one */
                    double fx = fabs(q->x0) > 1 || fabs(q->y0) > 1 ? q->x0 : q->x1, fy = fx == q->x0 ? q->y0 : q->y1;
                    double mx = 0.5 * (q->x0 + q->x1), my = 0.5 * (q->y0 + q->y1);
                    double x = 0.75 * fx + 0.25 * mx, y = 0.75 * fy + 0.25 * my;
                    for (int moved = 1; moved;) { /* away from labels already placed */
                        moved = 0;
                        for (int l = 0; l < n_lab; l++)
                            if (fabs(lab_x[l] - x) < 0.7 && fabs(lab_y[l] - y) < 0.14) {
                                y += y > 0 ? -0.15 : 0.15;
                                moved = 1;
                            }
                    }
                    if (n_lab < 64) lab_x[n_lab] = x, lab_y[n_lab++] = y;
                    sb_add(&b, "set label \"u%d %s\" at %.3f,%.3f %s front boxed noenhanced textcolor rgb '%s' font ',10' offset %s,0\n",
                           q->unit, state_word[q->state], x, y, x > 0 ? "right" : "left",
                           q->state == K_DEAD ? "#C00000" : "#A06000", x > 0 ? "-0.6" : "0.6");
                    continue;
                }
                int c = (q->x0 > 0) * 2 + (q->y0 > 0);
                double x = q->x0 * 0.97, y = q->y0 * (0.93 - 0.1 * at_corner[c]++);
                sb_add(&b, "set label \"✕ u%d %s\" at %.3f,%.3f %s front boxed noenhanced textcolor rgb '%s' font ',10'\n", q->unit,
                       state_word[q->state], x, y, q->x0 > 0 ? "right" : "left", q->state == K_DEAD ? "#C00000" : "#A06000");
            }
            for (int j = 0; j < nk[k]; j++) {
                const kink *q = &kinks[k][j];
                if (q->inside != 1 || q->copies < 2) continue;
                double mx = 0.5 * (q->x0 + q->x1), my = 0.5 * (q->y0 + q->y1);
                sb_add(&b, "set label \"×%d\" at %.3f,%.3f offset 0.8,0.8 front boxed noenhanced textcolor rgb '#000000' font ',10'\n", q->copies, mx, my);
            }
            sb_add(&b, "plot '%s_surface.dat' using 1:2:%d with image", nm[s].file, 4 + k);
            snprintf(name, sizeof name, "%s_kinks_%s.dat", nm[s].file, pick_name[use[k]]);
            for (int st = 0; st < K_STATES; st++) /* a kink that repeats an earlier one is dashed */
                for (int dash = 0; dash < 2; dash++)
                    if (n_in[st][dash])
                        sb_add(&b, ", '%s' using 1:($3==%d && $5==%d ? $2 : NaN) with lines lw 2.5%s lc rgb '%s'", name, st,
                               dash, dash ? " dt (6,5)" : "", state_rgb[st]);
            sb_add(&b, "\n");
        }
        sb_add(&b, "unset multiplot\n");
        char stem[160];
        snprintf(stem, sizeof stem, "%s_surface", nm[s].file);
        rc = b.failed ? cli_usage_error("out of memory") : write_script(dir, stem, 500 * (n_use + 1), 620, b.s);
        free(b.s);
    }
    free(grid);
    for (int k = 0; k < CLI_PICKS; k++) {
        free(pred[k]);
        free(kinks[k]);
    }
    return rc;
}

/* ---- rendering ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs gnuplot on dir/name with out_prefix set; 0 when it succeeded. */
static int run_gnuplot(const char *dir, const char *name, const char *prefix)
{
    char expr[128];
    snprintf(expr, sizeof expr, "out_prefix='%s'", prefix);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        execlp("gnuplot", "gnuplot", "-e", expr, name, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cli_render_dir(const char *dir_in)
{
    char dir[4096];
    dir_trim(dir_in, dir, sizeof dir);
    if (!have_gnuplot()) {
        fprintf(stderr, "%s: gnuplot is not installed: data and scripts are in %s/ (apt-get install -y gnuplot-nox, "
                        "then `nnfit plot %s`)\n", cli_prog, dir, dir);
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) return cli_usage_error("%s: cannot read the folder: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || e->d_name[0] == '.' || strcmp(e->d_name + len - 3, ".gp")) continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!nn) rc = cli_usage_error("out of memory");
            else names = nn;
        }
        if (!rc && !(names[n++] = strdup(e->d_name))) rc = cli_usage_error("out of memory");
    }
    closedir(d);
    if (!rc && n) qsort(names, n, sizeof *names, cmp_str);
    /* each picture is drawn into a hidden temporary name and renamed into place, so a failed or
     * interrupted run never leaves half a picture, and a non-regular file is never replaced */
    char prefix[64];
    snprintf(prefix, sizeof prefix, ".render-%ld-", (long)getpid());
    for (size_t i = 0; !rc && i < n; i++) {
        char stem[512], tmp[2][4600], final[2][4600];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(names[i]) - 3), names[i]);
        static const char *const ext[2] = {"png", "svg"};
        for (int k = 0; k < 2; k++) {
            snprintf(tmp[k], sizeof tmp[k], "%s/%s%s.%s", dir, prefix, stem, ext[k]);
            snprintf(final[k], sizeof final[k], "%s/%s.%s", dir, stem, ext[k]);
            if (nf_out_check(final[k])) rc = cli_usage_error("%s", nf_last_error());
        }
        if (rc) break;
        if (run_gnuplot(dir, names[i], prefix)) {
            fprintf(stderr, "%s: gnuplot failed on %s/%s (see messages above)\n", cli_prog, dir, names[i]);
            rc = EXIT_RUN_FAILED;
        }
        for (int k = 0; k < 2; k++) {
            struct stat sb;
            if (!rc && stat(tmp[k], &sb) == 0 && rename(tmp[k], final[k]) != 0)
                rc = cli_usage_error("%s: cannot move the picture into place: %s", final[k], strerror(errno));
            unlink(tmp[k]);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!rc && !cli_quiet) fprintf(stderr, "%s: pictures written to %s/ (*.png, *.svg)\n", cli_prog, dir);
    return rc;
}

int cli_plot_dir_check(const char *opt, const char *dir_in)
{
    char dir[4096], probe[4200];
    dir_trim(dir_in, dir, sizeof dir);
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return cli_usage_error("--%s %s: exists and is not a folder", opt, dir);
        snprintf(probe, sizeof probe, "%s/final_loss.gp", dir); /* a file every plot folder gets */
        if (nf_out_check(probe)) return cli_usage_error("--%s %s", opt, nf_last_error());
        return 0;
    }
    if (nf_out_check(dir)) return cli_usage_error("--%s %s", opt, nf_last_error()); /* can it be created? */
    return 0;
}

static int make_dir(const char *opt, const char *dir)
{
    if (mkdir(dir, 0777) && errno != EEXIST) return cli_usage_error("--%s %s: cannot create: %s", opt, dir, strerror(errno));
    return 0;
}

int cli_sweep_plots(const char *dir_in, const nf_sweep_config *cfg, const nf_trial *trials,
                    const nf_sweep_summary *sum, const cli_setting_name *names,
                    cli_pick (*picks)[CLI_PICKS])
{
    char dir[4096];
    dir_trim(dir_in, dir, sizeof dir);
    if (make_dir("plot", dir)) return EXIT_USAGE;
    long *first = malloc(((size_t)cfg->n_settings + 1) * sizeof *first);
    if (!first) return cli_usage_error("out of memory");
    for (int s = 0; s <= cfg->n_settings; s++) first[s] = (long)s * cfg->restarts;
    int rc = final_plot(dir, cfg->n_settings, trials, first, sum, names, cfg->target);
    free(first);
    for (int s = 0; !rc && s < cfg->n_settings; s++) {
        if (sum[s].n == 0) continue;
        rc = curves_plot(dir, cfg, trials, sum, names, s);
        const nf_model *m0 = picks[s][0].model;
        if (!rc && m0 && nf_model_size(m0, 0) == 2 && nf_model_n_layers(m0) == 2) rc = surface_plot(dir, cfg, trials, names, s, picks[s]);
    }
    if (!rc) rc = cli_render_dir(dir);
    return rc;
}

/* ---- nnfit plot ---- */

/* `nnfit plot RESULTS.csv --out DIR`: the final-loss picture of a saved sweep. */
static int plot_results(const char *path, const char *dir_in)
{
    char dir[4096];
    dir_trim(dir_in, dir, sizeof dir);
    if (cli_plot_dir_check("out", dir)) return EXIT_USAGE;
    unsigned char *text;
    size_t len;
    if (nf_file_read(path, (size_t)1 << 30, &text, &len)) return cli_status_error(NF_EIO);
    cli_results res;
    nf_status st = cli_results_parse((const char *)text, len, path, &res);
    free(text);
    if (st) return cli_status_error(st);
    nf_sweep_summary *sum = calloc((size_t)res.n_settings, sizeof *sum);
    int rc = sum ? 0 : cli_usage_error("out of memory");
    for (int k = 0; !rc && k < res.n_settings; k++) {
        long count = res.first[k + 1] - res.first[k];
        if (nf_sweep_summarize(res.trials + res.first[k], 1, (int)count, &sum[k])) rc = cli_status_error(NF_ENOMEM);
    }
    if (!rc) rc = make_dir("out", dir);
    if (!rc) rc = final_plot(dir, res.n_settings, res.trials, res.first, sum, res.names, res.target);
    if (!rc) rc = cli_render_dir(dir);
    free(sum);
    cli_results_free(&res);
    return rc;
}

static void plot_help(void)
{
    printf("usage: nnfit plot DIR\n       nnfit plot RESULTS.csv --out DIR\n\n"
           "DIR: renders the gnuplot scripts that `nnfit sweep --plot DIR` wrote (after installing\n"
           "gnuplot, or after editing a script) to PNG and SVG.\n"
           "RESULTS.csv (from `nnfit sweep --out`): draws the final loss of every trial per setting\n"
           "into DIR (created if needed).\n\n"
           "  --out DIR           folder for the pictures of a results file\n"
           "  --quiet             no message when the pictures are written\n"
           "  --help, --version\n");
}

int cmd_plot(int argc, char **argv)
{
    enum { P_OUT = 4300, P_HELP, P_VERSION, P_QUIET };
    static const struct option table[] = {{"out", required_argument, 0, P_OUT},
                                          {"quiet", no_argument, 0, P_QUIET},
                                          {"help", no_argument, 0, P_HELP},
                                          {"version", no_argument, 0, P_VERSION},
                                          {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    opterr = 0;
    optind = 1;
    if (cli_check_full_names(argc, argv, table)) return EXIT_USAGE;
    while ((c = getopt_long(argc, argv, ":hq", table, NULL)) != -1) {
        switch (c) {
        case 'h':
        case P_HELP: plot_help(); return 0;
        case P_VERSION: printf("nnfit %s\n", NNFIT_VERSION); return 0;
        case 'q':
        case P_QUIET: cli_quiet = 1; break;
        case P_OUT: out = optarg; break;
        case ':': return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("expected DIR, or RESULTS.csv --out DIR (see --help)");
    const char *arg = argv[optind];
    struct stat sb;
    if (stat(arg, &sb)) return cli_usage_error("%s: %s", arg, strerror(errno));
    if (out) {
        if (S_ISDIR(sb.st_mode)) return cli_usage_error("%s is a folder: --out goes with a results file (see --help)", arg);
        return plot_results(arg, out);
    }
    if (!S_ISDIR(sb.st_mode)) return cli_usage_error("%s: a results file needs --out DIR (see --help)", arg);
    char dir[4096], probe[4200];
    dir_trim(arg, dir, sizeof dir);
    snprintf(probe, sizeof probe, "%s/final_loss.gp", dir);
    if (stat(probe, &sb)) return cli_usage_error("%s: no final_loss.gp: not written by `nnfit sweep --plot`", dir);
    return cli_render_dir(dir);
}
