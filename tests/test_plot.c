/* test_plot.c — `nnfit plot` and the pictures of `nnfit sweep --plot`: hostile results files
 * (exit 2, one line naming file, line and column, nothing written), options, atomic plot files,
 * and what the pictures show (dead units named, coinciding kinks marked, axes from the data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/nnfit-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

static const char *path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const char *text, size_t n)
{
    FILE *f = fopen(path(name), "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_int_eq((int)fwrite(text, 1, n, f), (int)n);
    fclose(f);
}

static int exists(const char *name)
{
    struct stat sb;
    return lstat(path(name), &sb) == 0;
}

static char *slurp(const char *name)
{
    unsigned char *text = NULL;
    size_t n = 0;
    nf_status st = nf_file_read(path(name), 1 << 24, &text, &n);
    ck_assert_msg(st == NF_OK, "%s", nf_last_error());
    char *copy = strdup((const char *)text);
    free(text);
    return copy;
}

static int run(const char *args, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd %s && timeout 300 %s %s", dir, tu_nnfit(), args);
    return tu_run_cmd(cmd, out, err);
}

static int have_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

#define HEADER "setting,opt,act,init,layers,lr,restart,seed,done,success,final_loss,best_loss,target_epoch," \
               "epochs_run,diverged_epoch,dead,always_on,duplicate,parallel,seconds,target,command\n"

/* A results file as `nnfit sweep --out` writes it: n_settings × restarts rows with final losses
 * loss(s, r). */
static char *results(int n_settings, int restarts, double (*loss)(int, int))
{
    size_t cap = 4096 + (size_t)n_settings * (size_t)restarts * 256, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n, HEADER);
    static const char *const opts[] = {"adam", "sgd", "rmsprop"};
    for (int s = 0; s < n_settings; s++)
        for (int r = 0; r < restarts; r++) {
            double l = loss(s, r);
            n += (size_t)snprintf(t + n, cap - n,
                                  "%d,%s,relu,glorot_uniform,\"2,%d,1\",0.01,%d,%d,1,%d,%.9e,%.9e,0,100,0,%d,0,0,0,0.01,0.002,"
                                  "\"nnfit train --task abs --seed %d --threads 1\"\n",
                                  s, opts[s % 3], 3 + s / 3, r, 1000 + r, l <= 0.002, l, l, r % 3, 1000 + r);
        }
    return t;
}

static double abs_like(int s, int r) { return r % 3 ? 0.04 + 0.001 * s : 0.00105 + 1e-5 * r; }
static double spectrum_like(int s, int r) { return 12.0 + 0.1 * r + 0.05 * s; }

/* exit 2, one stderr line with `want`, nothing on stdout, no output folder */
static void expect_bad_file(const char *text, size_t n, const char *want)
{
    put("r.csv", text, n);
    char *out, *err;
    int rc = run("plot r.csv --out pics", &out, &err);
    ck_assert_msg(rc == 2, "exit %d for a file with '%s': %s", rc, want, err);
    ck_assert_msg(strstr(err, want), "stderr '%s' lacks '%s'", err, want);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "stderr is not one line: '%s'", err);
    ck_assert_str_eq(out, "");
    ck_assert_msg(!exists("pics"), "the output folder was created for a bad file");
    free(out);
    free(err);
}

/* A good file with field k of its first data row (line 2) replaced by the raw text v. */
static char *with_field(int k, const char *v)
{
    char *good = results(1, 3, abs_like);
    char *line = strchr(good, '\n') + 1, *end = strchr(line, '\n');
    char *out = malloc(strlen(good) + strlen(v) + 1);
    size_t o = (size_t)(line - good);
    memcpy(out, good, o);
    int f = 0, quoted = 0;
    for (char *p = line; p <= end; p++) {
        int boundary = p == end || (*p == ',' && !quoted);
        if (!boundary && *p == '"') quoted = !quoted;
        if (f == k && boundary) o += (size_t)sprintf(out + o, "%s", v);
        if (boundary) {
            if (p < end) out[o++] = ',';
            f++;
        } else if (f != k) {
            out[o++] = *p;
        }
    }
    strcpy(out + o, end);
    free(good);
    return out;
}

START_TEST(results_reader_hostile)
{
    struct {
        int field;
        const char *value, *want;
    } cases[] = {
        {6, "-5", "r.csv:2: column 'restart': '-5' is not a whole number"},
        {6, "99999999999", "r.csv:2: column 'restart': '99999999999' is larger than 16777215"},
        {6, "3000000000", "column 'restart': '3000000000' is larger than 16777215"},
        {0, "2147483648", "r.csv:2: column 'setting': '2147483648' is larger than 100000000"},
        {0, "0x1", "column 'setting': '0x1' is not a whole number"},
        {0, " 1", "column 'setting': ' 1' is not a whole number"},
        {7, "18446744073709551616", "column 'seed': '18446744073709551616' is larger than 2^64 - 1"},
        {9, "2", "column 'success': '2' is larger than 1"},
        {10, "abc", "column 'final_loss': 'abc' is not a number"},
        {15, "4294967296", "column 'dead': '4294967296' is larger than 16777216"},
        {20, "0", "column 'target': '0' is not a positive loss"},
        {20, "0.5", "r.csv:3: column 'target': 0.002, but 0.5 on line 2"},
        {1, "adam`touch pwned`", "column 'opt': 'adam`touch pwned`' is not a name"},
        {1, "adam'", "column 'opt': 'adam'' is not a name"},
        {1, "adam\"", "r.csv:2: stray quote in field 2"},
        {3, "a b", "column 'init': 'a b' is not a name"},
        {4, "\"2,3\"1\"", "r.csv:2: text after the closing quote of field 5"},
        {21, "\"nnfit train", "r.csv:2: unterminated quoted field"},
        {4, "2\"3", "r.csv:2: stray quote in field 5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = with_field(cases[i].field, cases[i].value);
        expect_bad_file(t, strlen(t), cases[i].want);
        free(t);
    }
    ck_assert(!exists("pwned"));
    char *good = results(2, 3, abs_like);
    char t[8192];
    /* a row with a field missing, a duplicate trial, a setting described two ways, a NUL byte */
    snprintf(t, sizeof t, "%s0,adam,relu,glorot_uniform,\"2,3,1\",0.01,7,1,1,0,0.04,0.04,0,100,0,0,0,0,0,0.01,0.002\n", good);
    expect_bad_file(t, strlen(t), "r.csv:8: 21 fields, expected 22 (as in the header)");
    snprintf(t, sizeof t, "%s1,sgd,relu,glorot_uniform,\"2,3,1\",0.01,5,9,1,0,0.04,0.04,0,100,0,0,0,0,0,0.01,0.002,\"x\",1\n", good);
    expect_bad_file(t, strlen(t), "r.csv:8: 23 fields, expected 22 (as in the header)");
    snprintf(t, sizeof t, "%s1,sgd,relu,glorot_uniform,\"2,3,1\",0.01,2,9,1,0,0.04,0.04,0,100,0,0,0,0,0,0.01,0.002,\"x\"\n", good);
    expect_bad_file(t, strlen(t), "r.csv:8: setting 1 restart 2 appears twice (also on line 7)");
    snprintf(t, sizeof t, "%s1,sgd,elu,glorot_uniform,\"2,3,1\",0.01,5,9,1,0,0.04,0.04,0,100,0,0,0,0,0,0.01,0.002,\"x\"\n", good);
    expect_bad_file(t, strlen(t), "r.csv:8: setting 1 is 'sgd elu glorot_uniform 2,3,1 lr=0.01' here but 'sgd relu");
    size_t n = strlen(good);
    memcpy(t, good, n);
    t[n - 10] = '\0';
    expect_bad_file(t, n, "r.csv:7: NUL byte");
    expect_bad_file("setting,opt\n0,adam\n", 19, "r.csv:1: not a results file of `nnfit sweep --out` (no column 'act' in the header)");
    expect_bad_file(HEADER, strlen(HEADER), "r.csv: no trials (only the header)");
    expect_bad_file("", 0, "r.csv: empty file");
    free(good);
    /* a good file with extra columns (the aid axes) and CRLF line ends is read */
    char *ok = results(2, 3, abs_like), crlf[8192];
    size_t k = 0;
    for (const char *p = ok; *p; p++) {
        if (*p == '\n') crlf[k++] = '\r';
        crlf[k++] = *p;
    }
    crlf[k] = '\0';
    put("r.csv", crlf, k);
    char *err;
    ck_assert_int_eq(run("plot r.csv --out pics --quiet", NULL, &err), 0);
    ck_assert_str_eq(err, "");
    free(err);
    char *box = slurp("pics/final_loss_box.dat");
    ck_assert_ptr_nonnull(strstr(box, "\n0 1.050000e-03 "));
    free(box);
    free(ok);
}
END_TEST

START_TEST(plot_options)
{
    char *out, *err;
    ck_assert_int_eq(run("plot --bogus", &out, &err), 2);
    ck_assert_msg(strstr(err, "nnfit plot: error: unknown option '--bogus' (see --help)"), "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run("plot", NULL, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "expected DIR, or RESULTS.csv --out DIR"));
    free(err);
    ck_assert_int_eq(run("plot r.csv --out", NULL, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    free(err);
    ck_assert_int_eq(run("plot --help", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "RESULTS.csv --out DIR"));
    free(out);
    /* output folder checked before the file is read */
    char *t = results(1, 2, abs_like);
    put("r.csv", t, strlen(t));
    free(t);
    ck_assert_int_eq(run("plot r.csv --out nodir/pics", NULL, &err), 2);
    ck_assert_msg(strstr(err, "--out nodir/pics: folder 'nodir' does not exist"), "%s", err);
    free(err);
    put("file", "x", 1);
    ck_assert_int_eq(run("plot r.csv --out file", NULL, &err), 2);
    ck_assert_msg(strstr(err, "--out file: exists and is not a folder"), "%s", err);
    free(err);
}
END_TEST

static ino_t inode_of(const char *name)
{
    struct stat sb;
    ck_assert_int_eq(stat(path(name), &sb), 0);
    return sb.st_ino;
}

/* Plot files are replaced (temporary + rename), a FIFO among them is refused and kept, and the
 * folder is named once, without a doubled slash. */
START_TEST(plot_outputs_atomic)
{
    char *t = results(3, 4, abs_like), *err;
    put("r.csv", t, strlen(t));
    free(t);
    ck_assert_int_eq(run("plot r.csv --out pics/", NULL, &err), 0);
    if (have_gnuplot()) ck_assert_msg(strstr(err, "pictures written to pics/ (*.png, *.svg)"), "%s", err);
    else ck_assert_msg(strstr(err, "data and scripts are in pics/ ("), "%s", err);
    ck_assert_ptr_null(strstr(err, "//"));
    free(err);
    ino_t dat = inode_of("pics/final_loss.dat"), gp = inode_of("pics/final_loss.gp");
    ino_t png = have_gnuplot() ? inode_of("pics/final_loss.png") : 0;
    ck_assert_int_eq(run("plot r.csv --out pics --quiet", NULL, NULL), 0);
    ck_assert(inode_of("pics/final_loss.dat") != dat);
    ck_assert(inode_of("pics/final_loss.gp") != gp);
    if (have_gnuplot()) {
        ck_assert(inode_of("pics/final_loss.png") != png);
        /* re-rendering the folder replaces the pictures too */
        png = inode_of("pics/final_loss.png");
        ck_assert_int_eq(run("plot pics --quiet", NULL, NULL), 0);
        ck_assert(inode_of("pics/final_loss.png") != png);
    }
    char *ls;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls -A %s/pics | grep -c '^\\.' || true", dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &ls, NULL), 0);
    ck_assert_int_eq(atoi(ls), 0); /* no temporary file left */
    free(ls);
    ck_assert_int_eq(unlink(path("pics/final_loss_box.dat")), 0);
    ck_assert_int_eq(mkfifo(path("pics/final_loss_box.dat"), 0644), 0);
    ck_assert_int_eq(run("plot r.csv --out pics", NULL, &err), 2);
    ck_assert_msg(strstr(err, "pics/final_loss_box.dat: is a FIFO (named pipe)"), "%s", err);
    free(err);
    struct stat sb;
    ck_assert_int_eq(lstat(path("pics/final_loss_box.dat"), &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    if (have_gnuplot()) {
        ck_assert_int_eq(unlink(path("pics/final_loss_box.dat")), 0);
        ck_assert_int_eq(unlink(path("pics/final_loss.svg")), 0);
        ck_assert_int_eq(mkfifo(path("pics/final_loss.svg"), 0644), 0);
        ck_assert_int_eq(run("plot r.csv --out pics", NULL, &err), 2);
        ck_assert_msg(strstr(err, "pics/final_loss.svg: is a FIFO"), "%s", err);
        free(err);
        ck_assert_int_eq(lstat(path("pics/final_loss.svg"), &sb), 0);
        ck_assert(S_ISFIFO(sb.st_mode));
    }
}
END_TEST

/* "set Xrange [a:b]" of a script */
static void range_of(const char *script, char axis, double *a, double *b)
{
    char key[16];
    snprintf(key, sizeof key, "set %crange [", axis);
    const char *p = strstr(script, key);
    ck_assert_msg(p != NULL, "no '%s' in the script", key);
    ck_assert_int_eq(sscanf(p + strlen(key), "%lf:%lf", a, b), 2);
}

/* The final-loss picture: one row per setting (the height grows with them, every setting named),
 * the loss axis from the data, log or linear by the data's range. */
START_TEST(final_loss_picture)
{
    char *t = results(12, 6, abs_like);
    put("r.csv", t, strlen(t));
    free(t);
    ck_assert_int_eq(run("plot r.csv --out a --quiet", NULL, NULL), 0);
    char *gp = slurp("a/final_loss.gp");
    ck_assert_ptr_nonnull(strstr(gp, "set terminal pngcairo size 1000,462 "));
    ck_assert_ptr_nonnull(strstr(gp, "set logscale x\n"));
    double a, b;
    range_of(gp, 'x', &a, &b);
    ck_assert_msg(a > 0.00105 / 1.5 && a < 0.00105 && b > 0.051 && b < 0.051 * 1.5, "x range [%g:%g]", a, b);
    ck_assert_ptr_nonnull(strstr(gp, "set yrange [11.6:-0.6]"));
    ck_assert_ptr_nonnull(strstr(gp, "\"rmsprop 2,6,1\" 11"));
    ck_assert_ptr_nonnull(strstr(gp, "\"33%% ok (2/6)\" 11"));
    ck_assert_ptr_nonnull(strstr(gp, "set arrow 1 from first 0.002, graph 0")); /* the target, inside */
    free(gp);
    /* losses 12..14: a linear axis around them; the far target is named, not drawn */
    t = results(2, 5, spectrum_like);
    put("r.csv", t, strlen(t));
    free(t);
    ck_assert_int_eq(run("plot r.csv --out b --quiet", NULL, NULL), 0);
    gp = slurp("b/final_loss.gp");
    ck_assert_ptr_nonnull(strstr(gp, "unset logscale x\n"));
    ck_assert_ptr_null(strstr(gp, "\nset logscale x"));
    range_of(gp, 'x', &a, &b);
    ck_assert_msg(a > 11.9 && a < 12.0 && b > 12.45 && b < 12.6, "x range [%g:%g]", a, b);
    ck_assert_ptr_null(strstr(gp, "set arrow 1"));
    ck_assert_ptr_nonnull(strstr(gp, "the target 0.002 is below the axis"));
    free(gp);
}
END_TEST

static size_t index_of(const char *s, const char *needle)
{
    const char *p = strstr(s, needle);
    return p ? (size_t)(p - s) : strlen(s);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The surfaces of a sweep: every dead unit is drawn and named (its kink lies on the edge of the
 * data or beyond it), coinciding kinks are marked; the loss curves' axis comes from the data. */
START_TEST(sweep_pictures)
{
    char *out;
    ck_assert_int_eq(run("sweep --task abs --restarts 20 --jobs 2 --quiet --plot p", &out, NULL), 0);
    free(out);
    const char *stem = "p/s00_adam_relu_glorot_uniform_2-3-1_lr0.001";
    char name[256];
    snprintf(name, sizeof name, "%s_surface.gp", stem);
    char *gp = slurp(name);
    /* the PNG half of the script: one panel per picked trial, "MSE ...: N dead" in its title */
    size_t cut = index_of(gp, "set terminal svg");
    ck_assert(cut < strlen(gp));
    gp[cut] = '\0';
    int panels = 0, dead_total = 0;
    for (const char *p = gp; (p = strstr(p, "\\nMSE ")); panels++) {
        const char *colon = strchr(p, ':');
        int dead = atoi(colon + 2);
        const char *next = strstr(p + 1, "\\nMSE ");
        size_t len = next ? (size_t)(next - p) : strlen(p);
        char *panel = strndup(p, len);
        int named = count(panel, " dead\" at ");
        ck_assert_msg(named == dead, "panel %d: %d dead units, %d named", panels, dead, named);
        dead_total += dead;
        free(panel);
        p += 6;
    }
    ck_assert_int_eq(panels, 3);
    ck_assert_msg(dead_total > 0, "this sweep's worst trial has dead units");
    ck_assert_msg(strstr(gp, "set label \"×2\""), "the typical failure has two units on one kink");
    ck_assert_ptr_nonnull(strstr(gp, "set xrange [-1.3:1.3]"));
    free(gp);
    /* loss curves: the y range brackets the drawn losses with a small margin */
    double lo = INFINITY, hi = 0;
    for (int w = 0; w < 2; w++) {
        snprintf(name, sizeof name, "%s_%s.dat", stem, w ? "fail" : "ok");
        char *d = slurp(name);
        for (char *line = strtok(d, "\n"); line; line = strtok(NULL, "\n")) {
            int e;
            double l;
            if (line[0] != '#' && sscanf(line, "%d %lf", &e, &l) == 2) lo = fmin(lo, l), hi = fmax(hi, l);
        }
        free(d);
    }
    snprintf(name, sizeof name, "%s_loss.gp", stem);
    gp = slurp(name);
    double a, b;
    range_of(gp, 'y', &a, &b);
    ck_assert_msg(a < lo && a > lo / 1.5 && b > hi && b < hi * 1.5, "y range [%g:%g] for losses in [%g, %g]", a, b, lo, hi);
    ck_assert_ptr_nonnull(strstr(gp, "set logscale y\n"));
    free(gp);
}
END_TEST

/* Spectrum losses of 12..30 over a few epochs: a linear axis (a whole-decade log axis made them
 * look flat). */
START_TEST(spectrum_loss_linear)
{
    ck_assert_int_eq(run("sweep --task spectrum --epochs 3 --restarts 2 --target 1 --jobs 2 --quiet --plot p", NULL, NULL), 0);
    char *gp = slurp("p/s00_adam_relu_glorot_uniform_64-256-33_lr0.001_loss.gp");
    ck_assert_ptr_nonnull(strstr(gp, "unset logscale y\n"));
    ck_assert_ptr_nonnull(strstr(gp, "reach loss ≤ 1 (below the axis)"));
    double a, b;
    range_of(gp, 'y', &a, &b);
    ck_assert_msg(a > 5 && b < 60, "y range [%g:%g]", a, b);
    free(gp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_plot");
    TCase *tc = tcase_create("plot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, results_reader_hostile);
    tcase_add_test(tc, plot_options);
    tcase_add_test(tc, plot_outputs_atomic);
    tcase_add_test(tc, final_loss_picture);
    tcase_add_test(tc, sweep_pictures);
    tcase_add_test(tc, spectrum_loss_linear);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
