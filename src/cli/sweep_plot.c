/* sweep_plot.c — pictures of a sweep (CSV/dat data + gnuplot scripts, rendered when gnuplot
 * is installed), the neuron table, and `nnfit plot`. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sweep_cli.h"

void cli_print_units(FILE *f, const nf_unit_diag *u, int n, double angle_deg)
{
    fprintf(f, "%5s %5s %8s %11s %11s %-9s %9s %9s\n", "layer", "unit", "active%", "z_min", "z_max",
            "state", "angle_deg", "|w_out|");
    for (int i = 0; i < n; i++) {
        char state[24];
        if (u[i].dead) snprintf(state, sizeof state, "dead");
        else if (u[i].duplicate_of >= 0) snprintf(state, sizeof state, "dup(%d)", u[i].duplicate_of);
        else if (u[i].parallel_of >= 0) snprintf(state, sizeof state, "par(%d)", u[i].parallel_of);
        else if (u[i].always_on) snprintf(state, sizeof state, "always-on");
        else snprintf(state, sizeof state, "ok");
        fprintf(f, "%5d %5d %8.2f %11.4g %11.4g %-9s %9.3g %9.4g\n", u[i].layer, u[i].unit,
                100.0 * u[i].active_frac, u[i].z_min, u[i].z_max, state, u[i].dup_angle_deg, u[i].out_norm);
    }
    int layers = n ? u[n - 1].layer + 1 : 0;
    for (int l = 0; l < layers; l++) {
        nf_diag_counts c = nf_diag_count(u, n, l);
        fprintf(f, "layer %d: %d units, %d dead, %d always-on, %d duplicate, %d parallel (angle < %g deg)\n", l,
                c.units, c.dead, c.always_on, c.duplicate, c.parallel, angle_deg);
    }
}

static int have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) cli_usage_error("--plot: cannot write %s: %s", path, strerror(errno));
    return f;
}

static const char *preamble =
    "# rendered by nnfit; run `gnuplot %s` in this directory to redraw\n"
    "set encoding utf8\n"
    "set style line 11 lc rgb '#606060' lt 1 lw 1\n"
    "set border 3 back ls 11\nset tics nomirror out scale 0.75\n"
    "set style line 12 lc rgb '#d0d0d0' lt 0 lw 1\nset grid back ls 12\n";

/* Writes `stem.gp` with the plot body twice, for pngcairo and svg. */
static int write_script(const char *dir, const char *stem, const char *size, const char *body)
{
    char path[1024], name[256];
    snprintf(name, sizeof name, "%s.gp", stem);
    FILE *f = open_in(dir, name, path, sizeof path);
    if (!f) return EXIT_USAGE;
    fprintf(f, preamble, name);
    fprintf(f, "set terminal pngcairo size %s enhanced font 'Sans,11' linewidth 1.2\nset output '%s.png'\n%s\n",
            size, stem, body);
    fprintf(f, "set terminal svg size %s enhanced font 'Sans,11' linewidth 1.2 background rgb 'white'\n"
               "set output '%s.svg'\nreplot\nset output\n", size, stem);
    return fclose(f) ? cli_usage_error("--plot: write failed: %s", path) : 0;
}

static void append(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t pos = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    if (pos < cap) vsnprintf(buf + pos, cap - pos, fmt, ap);
    va_end(ap);
}

static int curves_plot(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                       const nf_sweep_summary *sum, const cli_setting_name *nm, int s)
{
    char path[1024], name[256];
    int counts[2] = {0, 0};
    double lo = INFINITY; /* smallest loss drawn: the y range starts below it */
    for (int w = 0; w < 2; w++) {
        snprintf(name, sizeof name, "%s_%s.dat", nm[s].file, w ? "fail" : "ok");
        FILE *f = open_in(dir, name, path, sizeof path);
        if (!f) return EXIT_USAGE;
        fprintf(f, "# epoch loss; one block per %s trial (restart, seed in the block header)\n",
                w ? "failed" : "succeeded");
        for (int r = 0; r < cfg->restarts; r++) {
            const nf_trial *t = &trials[(long)s * cfg->restarts + r];
            if (!t->done || !t->curve || (t->success != 0) == (w != 0)) continue;
            int step = t->epochs_run > 600 ? t->epochs_run / 600 : 1;
            fprintf(f, "# restart %d seed %llu final %.6e\n", t->restart, (unsigned long long)t->seed, t->final_loss);
            for (int e = 0; e < t->epochs_run; e++)
                if (e % step == 0 || e == t->epochs_run - 1)
                    if (isfinite(t->curve[e]) && t->curve[e] > 0) {
                        fprintf(f, "%d %.6e\n", e + 1, (double)t->curve[e]);
                        if (t->curve[e] < lo) lo = t->curve[e];
                    }
            fputc('\n', f);
            counts[w]++;
        }
        if (fclose(f)) return cli_usage_error("--plot: write failed: %s", path);
    }
    char body[4096] = "";
    append(body, sizeof body,
           "set logscale y\nset format y '10^{%%L}'\nset xlabel 'epoch'\nset ylabel 'training loss (MSE)'\n"
           "set title \"%s: %d of %ld trials reach loss ≤ %g\" noenhanced\n"
           "set key top right box opaque\nset arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb '#404040'\n"
           "", nm[s].label, counts[0], sum[s].n, cfg->target, cfg->target, cfg->target);
    /* gnuplot's log autoscale stops at the decade below the data, so curves that end just
     * above it (the hexagon at 1.03e-3 on a 1e-3 axis) ran along the frame */
    if (isfinite(lo)) append(body, sizeof body, "set yrange [%.3g:*]\n", lo / 2.0);
    append(body, sizeof body, "plot ");
    int first = 1;
    if (counts[1]) {
        append(body, sizeof body, "'%s_fail.dat' using 1:2 with lines lc rgb '#A0D62728' lw 1 title 'failed (%d)'",
               nm[s].file, counts[1]);
        first = 0;
    }
    if (counts[0])
        append(body, sizeof body, "%s'%s_ok.dat' using 1:2 with lines lc rgb '#A01F77B4' lw 1 title 'succeeded (%d)'",
               first ? "" : ", ", nm[s].file, counts[0]);
    char stem[160];
    snprintf(stem, sizeof stem, "%s_loss", nm[s].file);
    return write_script(dir, stem, "900,560", body);
}

static int final_plot(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                      const nf_sweep_summary *sum, const cli_setting_name *nm)
{
    char path[1024];
    FILE *f = open_in(dir, "final_loss.dat", path, sizeof path);
    if (!f) return EXIT_USAGE;
    fprintf(f, "# setting jitter final_loss success; one block (index) per setting\n");
    nf_rng rng;
    nf_rng_seed(&rng, 12345);
    for (int s = 0; s < cfg->n_settings; s++) {
        int any = 0;
        for (int r = 0; r < cfg->restarts; r++) {
            const nf_trial *t = &trials[(long)s * cfg->restarts + r];
            if (!t->done || !isfinite(t->final_loss) || t->final_loss <= 0) continue;
            fprintf(f, "%d %.4f %.6e %d\n", s, nf_rng_range(&rng, -0.18, 0.18), t->final_loss, t->success);
            any = 1;
        }
        if (!any) fprintf(f, "%d 0 NaN 0\n", s);
        fprintf(f, "\n\n");
    }
    if (fclose(f)) return cli_usage_error("--plot: write failed: %s", path);
    size_t cap = 8192 + (size_t)cfg->n_settings * 256;
    char *body = calloc(cap, 1);
    if (!body) return cli_usage_error("out of memory");
    /* labels are "opt act init layers lr=X": tic labels show the words that vary between
     * settings (one per line), the title the ones all settings share */
    enum { WORDS = 8 };
    char words[WORDS][64], first[WORDS][64];
    int n_words = 0, varies[WORDS] = {0};
    for (int s = 0; s < cfg->n_settings; s++) {
        int n = sscanf(nm[s].label, "%63s %63s %63s %63s %63s %63s %63s %63s", words[0], words[1], words[2],
                       words[3], words[4], words[5], words[6], words[7]);
        if (s == 0) {
            n_words = n;
            memcpy(first, words, sizeof words);
        }
        for (int w = 0; w < n_words; w++) varies[w] |= w >= n || strcmp(words[w], first[w]) != 0;
    }
    char common[256] = "";
    for (int w = 0; w < n_words; w++)
        if (!varies[w]) append(common, sizeof common, "%s%s", *common ? " " : "", first[w]);
    append(body, cap,
           "set logscale y\nset format y '10^{%%L}'\nset ylabel 'final training loss (MSE)'\n"
           "set title \"final loss of every trial%s%s (box: quartiles; dashed: target %g)\" noenhanced\n"
           "set xrange [-0.7:%d.7]\nset style fill empty\nset style boxplot nooutliers\nset key outside top center horizontal\n"
           "set bmargin 7\nset lmargin 12\nset xtics norotate noenhanced font ',10' (",
           *common ? ": " : "", common, cfg->target, cfg->n_settings - 1);
    for (int s = 0; s < cfg->n_settings; s++) {
        int n = sscanf(nm[s].label, "%63s %63s %63s %63s %63s %63s %63s %63s", words[0], words[1], words[2],
                       words[3], words[4], words[5], words[6], words[7]);
        char lab[256] = "";
        for (int w = 0; w < n && w < n_words; w++)
            if (varies[w]) append(lab, sizeof lab, "%s\\n", words[w]);
        append(body, cap, "%s\"%s%.0f%%%% ok\" %d", s ? ", " : "", lab, 100 * sum[s].rate, s);
    }
    append(body, cap, ")\nset arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb '#404040'\n", cfg->target,
           cfg->target);
    append(body, cap,
           "plot for [s=0:%d] 'final_loss.dat' index s using (s):3:(0.6) with boxplot lc rgb '#404040' notitle, \\\n"
           "  'final_loss.dat' using ($4==0 ? $1+$2 : NaN):3 with points pt 7 ps 0.7 lc rgb '#90D62728' title 'failed', \\\n"
           "  'final_loss.dat' using ($4==1 ? $1+$2 : NaN):3 with points pt 7 ps 0.7 lc rgb '#901F77B4' title 'succeeded'\n",
           cfg->n_settings - 1);
    char size[32];
    snprintf(size, sizeof size, "%d,600", 300 + 110 * cfg->n_settings > 4000 ? 4000 : 300 + 110 * cfg->n_settings < 800 ? 800 : 300 + 110 * cfg->n_settings);
    int rc = write_script(dir, "final_loss", size, body);
    free(body);
    return rc;
}

/* Clips the line w0 x + w1 y + b = 0 to [-1, 1]^2; returns 1 with the two end points. */
static int clip_line(double w0, double w1, double b, double *x0, double *y0, double *x1, double *y1)
{
    double px[4], py[4];
    int k = 0;
    const double e = 1e-12;
    if (fabs(w1) > e)
        for (int sx = -1; sx <= 1; sx += 2) {
            double y = -(b + w0 * sx) / w1;
            if (y >= -1 && y <= 1 && k < 4) px[k] = sx, py[k++] = y;
        }
    if (fabs(w0) > e)
        for (int sy = -1; sy <= 1; sy += 2) {
            double x = -(b + w1 * sy) / w0;
            if (x > -1 && x < 1 && k < 4) px[k] = x, py[k++] = sy;
        }
    if (k < 2) return 0;
    *x0 = px[0], *y0 = py[0], *x1 = px[1], *y1 = py[1];
    return 1;
}

static const char *pick_name[CLI_PICKS] = {"best", "typical_failure", "worst"};
static const char *pick_title[CLI_PICKS] = {"best trial", "typical failed trial", "worst trial"};

static int surface_plot(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                        const cli_setting_name *nm, int s, const cli_pick *picks)
{
    enum { G = 161 };
    char path[1024], name[256];
    int use[CLI_PICKS], n_use = 0;
    for (int k = 0; k < CLI_PICKS; k++)
        if (picks[k].model) use[n_use++] = k;
    float *grid = malloc(sizeof(float) * G * G * 2), *pred[CLI_PICKS] = {0};
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
        FILE *f = open_in(dir, name, path, sizeof path);
        if (!f) rc = EXIT_USAGE;
        else {
            fprintf(f, "# x y target");
            for (int k = 0; k < n_use; k++) fprintf(f, " %s", pick_name[use[k]]);
            fputc('\n', f);
            for (int i = 0; i < G; i++) {
                for (int j = 0; j < G; j++) {
                    double x = grid[(i * G + j) * 2], y = grid[(i * G + j) * 2 + 1];
                    fprintf(f, "%.4f %.4f %.5f", x, y, sqrt(x * x + y * y));
                    for (int k = 0; k < n_use; k++) fprintf(f, " %.5f", (double)pred[k][i * G + j]);
                    fputc('\n', f);
                }
                fputc('\n', f);
            }
            if (fclose(f)) rc = cli_usage_error("--plot: write failed: %s", path);
        }
    }
    int nk[CLI_PICKS] = {0};
    for (int k = 0; !rc && k < n_use; k++) {
        nf_model *m = picks[use[k]].model;
        snprintf(name, sizeof name, "%s_kinks_%s.dat", nm[s].file, pick_name[use[k]]);
        FILE *f = open_in(dir, name, path, sizeof path);
        if (!f) { rc = EXIT_USAGE; break; }
        nf_unit_diag *u = NULL;
        int nu = 0;
        nf_diag_units(m, cfg->X->data, cfg->X->rows, &cfg->diag, &u, &nu);
        fprintf(f, "# kink line w0 x + w1 y + b = 0 of each hidden unit inside the square; x y state(0 ok,1 dead,2 always-on,3 dup,4 parallel)\n");
        for (int j = 0; j < nf_model_size(m, 1); j++) {
            double w0, w1, b, x0, y0, x1, y1;
            if (!nf_diag_kink_line(m, j, &w0, &w1, &b) || !clip_line(w0, w1, b, &x0, &y0, &x1, &y1)) continue;
            int state = !u ? 0 : u[j].dead ? 1 : u[j].always_on ? 2 : u[j].duplicate_of >= 0 ? 3 : u[j].parallel_of >= 0 ? 4 : 0;
            fprintf(f, "%.5f %.5f %d\n%.5f %.5f %d\n\n", x0, y0, state, x1, y1, state);
            nk[k]++;
        }
        free(u);
        if (fclose(f)) rc = cli_usage_error("--plot: write failed: %s", path);
    }
    if (!rc) {
        char body[6144] = "";
        append(body, sizeof body,
               "set multiplot layout 1,%d title \"%s\\nlines: kink of each hidden unit (white live, red dead, green duplicate, cyan parallel)\" noenhanced\n"
               "set size ratio -1\nset xrange [-1:1]\nset yrange [-1:1]\n"
               "set cbrange [0:1.45]\nset xtics -1,0.5,1\nset ytics -1,0.5,1\nset grid noxtics noytics\n"
               "set palette defined (0 '#0d0887', 0.25 '#6a00a8', 0.5 '#b12a90', 0.75 '#e16462', 1 '#fca636', 1.2 '#f0f921')\n"
               "set xlabel 'x'\nset ylabel 'y'\nunset key\n"
               "set title \"target √(x²+y²)\\n \"\nplot '%s_surface.dat' using 1:2:3 with image\n",
               n_use + 1, nm[s].label, nm[s].file);
        for (int k = 0; k < n_use; k++) {
            const nf_trial *t = &trials[picks[use[k]].trial];
            append(body, sizeof body,
                   "set title \"%s (seed %llu)\\nMSE %.3e: %d dead, %d dup, %d parallel, %d always-on\" noenhanced\n"
                   "plot '%s_surface.dat' using 1:2:%d with image", pick_title[use[k]],
                   (unsigned long long)t->seed, t->final_loss, t->dead, t->duplicate, t->parallel, t->always_on, nm[s].file,
                   4 + k);
            if (nk[k])
                append(body, sizeof body,
                       ", '%s_kinks_%s.dat' using 1:2:($3==1 ? 0xFF5555 : $3==3 ? 0x55FF55 : $3==4 ? 0x66CCFF : 0xFFFFFF) with lines lw 2.5 lc rgb variable",
                       nm[s].file, pick_name[use[k]]);
            append(body, sizeof body, "\n");
        }
        append(body, sizeof body, "unset multiplot\n");
        char stem[160], size[32];
        snprintf(stem, sizeof stem, "%s_surface", nm[s].file);
        snprintf(size, sizeof size, "%d,580", 500 * (n_use + 1));
        rc = write_script(dir, stem, size, body);
    }
    free(grid);
    for (int k = 0; k < CLI_PICKS; k++) free(pred[k]);
    return rc;
}

int cli_render_dir(const char *dir)
{
    if (!have_gnuplot()) {
        fprintf(stderr, "%s: gnuplot is not installed: data and scripts are in %s/ (apt-get install -y gnuplot-nox, "
                        "then `nnfit plot %s`)\n", cli_prog, dir, dir);
        return 0;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && for f in *.gp; do gnuplot \"$f\" || exit 1; done", dir);
    int st = system(cmd);
    if (st != 0) {
        fprintf(stderr, "%s: gnuplot failed on a script in %s (see messages above)\n", cli_prog, dir);
        return EXIT_RUN_FAILED;
    }
    if (!cli_quiet) fprintf(stderr, "%s: pictures written to %s/ (*.png, *.svg)\n", cli_prog, dir);
    return 0;
}

int cli_sweep_plots(const char *dir, const nf_sweep_config *cfg, const nf_trial *trials,
                    const nf_sweep_summary *sum, const cli_setting_name *names,
                    cli_pick (*picks)[CLI_PICKS])
{
    if (mkdir(dir, 0777) && errno != EEXIST) return cli_usage_error("--plot %s: cannot create: %s", dir, strerror(errno));
    int rc = final_plot(dir, cfg, trials, sum, names);
    for (int s = 0; !rc && s < cfg->n_settings; s++) {
        if (sum[s].n == 0) continue;
        rc = curves_plot(dir, cfg, trials, sum, names, s);
        const nf_model *m0 = picks[s][0].model;
        if (!rc && m0 && nf_model_size(m0, 0) == 2 && nf_model_n_layers(m0) == 2) rc = surface_plot(dir, cfg, trials, names, s, picks[s]);
    }
    if (!rc) rc = cli_render_dir(dir);
    return rc;
}

/* Splits one CSV line in place (double quotes group, no escaped quotes); returns the count. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            fields[n++] = ++p;
            while (*p && *p != '"') p++;
            if (*p) *p++ = '\0';
        } else {
            fields[n++] = p;
            while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
        }
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

/* `nnfit plot results.csv --out DIR`: the final-loss strip/box plot of a saved sweep. */
static int plot_csv(const char *path, const char *dir)
{
    FILE *f = fopen(path, "r");
    if (!f) return cli_usage_error("%s: cannot open: %s", path, strerror(errno));
    char line[8192];
    char *fl[32];
    static const char head[] = "setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss";
    if (!fgets(line, sizeof line, f) || strncmp(line, head, sizeof head - 1)) {
        fclose(f);
        return cli_usage_error("%s:1: not a results file of `nnfit sweep --out` (header differs)", path);
    }
    long cap = 0, n = 0;
    int n_settings = 0, restarts = 0;
    double target = 0;
    nf_trial *t = NULL;
    cli_setting_name *names = NULL;
    int rc = 0;
    for (long lineno = 2; !rc && fgets(line, sizeof line, f); lineno++) {
        int nf = split_csv(line, fl, 32);
        if (nf < 22) { rc = cli_usage_error("%s:%ld: %d fields, expected 22", path, lineno, nf); break; }
        char *end;
        long s = strtol(fl[0], &end, 10);
        if (*end || s < 0 || s > 100000) { rc = cli_usage_error("%s:%ld: bad setting index '%s'", path, lineno, fl[0]); break; }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            nf_trial *nt = realloc(t, (size_t)cap * sizeof *t);
            if (!nt) { rc = cli_usage_error("out of memory"); break; }
            t = nt;
        }
        memset(&t[n], 0, sizeof t[n]);
        t[n].setting = (int)s;
        t[n].restart = atoi(fl[6]);
        t[n].seed = strtoull(fl[7], NULL, 10);
        t[n].done = 1;
        t[n].success = atoi(fl[9]);
        t[n].final_loss = strtod(fl[10], NULL);
        t[n].dead = atoi(fl[15]);
        t[n].always_on = atoi(fl[16]);
        t[n].duplicate = atoi(fl[17]);
        t[n].parallel = atoi(fl[18]);
        target = strtod(fl[20], NULL);
        if (s >= n_settings) {
            cli_setting_name *nn = realloc(names, (size_t)(s + 1) * sizeof *names);
            if (!nn) { rc = cli_usage_error("out of memory"); break; }
            names = nn;
            for (long k = n_settings; k <= s; k++) snprintf(names[k].label, sizeof names[k].label, "setting %ld", k);
            n_settings = (int)s + 1;
        }
        snprintf(names[s].label, sizeof names[s].label, "%s %s %s %s lr=%g", fl[1], fl[2], fl[3], fl[4], strtod(fl[5], NULL));
        if (t[n].restart + 1 > restarts) restarts = t[n].restart + 1;
        n++;
    }
    fclose(f);
    if (!rc && n == 0) rc = cli_usage_error("%s: no trials", path);
    nf_trial *grid = NULL;
    nf_sweep_summary *sum = NULL;
    if (!rc) {
        grid = calloc((size_t)n_settings * (size_t)restarts, sizeof *grid);
        sum = calloc((size_t)n_settings, sizeof *sum);
        if (!grid || !sum) rc = cli_usage_error("out of memory");
    }
    for (long i = 0; !rc && i < n; i++) grid[(long)t[i].setting * restarts + t[i].restart] = t[i];
    if (!rc) nf_sweep_summarize(grid, n_settings, restarts, sum);
    if (!rc && mkdir(dir, 0777) && errno != EEXIST) rc = cli_usage_error("--out %s: cannot create: %s", dir, strerror(errno));
    if (!rc) {
        nf_sweep_config cfg;
        nf_sweep_defaults(&cfg);
        cfg.n_settings = n_settings;
        cfg.restarts = restarts;
        cfg.target = target;
        rc = final_plot(dir, &cfg, grid, sum, names);
        if (!rc) rc = cli_render_dir(dir);
    }
    free(t);
    free(grid);
    free(sum);
    free(names);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: nnfit plot DIR\n       nnfit plot RESULTS.csv --out DIR\n\n"
               "DIR: renders the gnuplot scripts that `nnfit sweep --plot DIR` wrote (after installing\n"
               "gnuplot, or after editing a script) to PNG and SVG.\n"
               "RESULTS.csv (from `nnfit sweep --out`): draws the final loss of every trial per setting.\n");
        return 0;
    }
    if (argc == 4 && !strcmp(argv[2], "--out")) return plot_csv(argv[1], argv[3]);
    if (argc != 2) return cli_usage_error("expected DIR, or RESULTS.csv --out DIR (see --help)");
    struct stat sb;
    if (stat(argv[1], &sb)) return cli_usage_error("%s: %s", argv[1], strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return cli_usage_error("%s: a results file needs --out DIR (see --help)", argv[1]);
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/final_loss.gp", argv[1]);
    if (stat(probe, &sb)) return cli_usage_error("%s: no final_loss.gp: not written by `nnfit sweep --plot`", argv[1]);
    return cli_render_dir(argv[1]);
}
