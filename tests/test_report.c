/* test_report.c — the HTML report writer (src/cli/report.c).
 *
 *   test_report            the page's content, escaping, refusals (a folder that is a file,
 *                          a missing picture, a FIFO as index.html), atomic replacement
 *   test_report chromium   renders the page in headless Chromium (Debian's `chromium`) and
 *                          checks the DOM: every table and row, every picture (and that each
 *                          SVG file parses), every link resolves, nothing is fetched online.
 *                          Without chromium it is skipped (exit 77), except when CI is set
 *                          (CI=true), where it fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "cli.h"
#include "testutil.h"

static const char *SVG_FILE =
    "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"no\"?>\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"200\" viewBox=\"0 0 320 200\">\n"
    "<rect width=\"320\" height=\"200\" fill=\"white\"/>\n"
    "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"10,190 80,120 150,80 220,50 310,20\"/>\n"
    "<text x=\"160\" y=\"195\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n</svg>\n";

static const char *SVG_INLINE =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
    "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"120\" viewBox=\"0 0 200 120\">"
    "<path d=\"M10 110 L60 60 L110 40 L190 30\" stroke=\"#d62728\" fill=\"none\" stroke-width=\"2\"/>"
    "<circle cx=\"60\" cy=\"60\" r=\"4\" fill=\"#d62728\"/></svg>\n";

static char dir_buf[256];

static const char *fresh_dir(const char *stem)
{
    snprintf(dir_buf, sizeof dir_buf, "/tmp/nnfit-report-%s-%ld", stem, (long)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_buf);
    ck_assert_int_eq(system(cmd), 0);
    return dir_buf;
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(s, f);
    fclose(f);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = fread(b, 1, (size_t)(n > 0 ? n : 0), f);
    b[got] = '\0';
    fclose(f);
    return b;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The report used by the tests: 2 sections, 3 tables (one marked), a picture file, an inline
 * SVG, notes with characters that must be escaped. */
static const char *h1[] = {"setting", "success", "95% CI", "median loss", "time to target (epochs)"};
static const char *c1[] = {"adam lr=3.2e-3",  "87.5%", "[0.79, 0.93]", "4.1e-4", "212",
                           "sgd lr=0.04 m=0.9", "61%",  "[0.51, 0.70]", "1.9e-3", "480",
                           "rmsprop <lr=1e-3>", "12%", "[0.07, 0.20]", "0.031", "∞"};
static const unsigned char m1[] = {CLI_MARK_BEST, CLI_MARK_BEST, 0, CLI_MARK_BEST, CLI_MARK_BEST,
                                   0, CLI_MARK_SIGNIFICANT, 0, CLI_MARK_SIGNIFICANT, 0,
                                   0, CLI_MARK_SIGNIFICANT, 0, CLI_MARK_SIGNIFICANT, CLI_MARK_SIGNIFICANT};
static const char *h2[] = {"optimizer", "lr", "momentum"};
static const char *c2[] = {"adam", "3.2e-3", NULL, "sgd", "0.04", "0.9"};
static const char *h3[] = {"p (McNemar, Holm)"};
static const char *c3[] = {"0.0012", "0.31"};

static cli_report sample(const char *picture_file)
{
    static cli_report_table t1[2], t2[1];
    static cli_report_picture p1[2];
    static cli_report_section sec[2];
    static const char *notes[] = {"Each optimizer tuned on 16 Sobol points & evaluated on 200 fresh seeds.",
                                  "Rates carry no selection bias: <tuning> and evaluation seeds are disjoint."};
    static const char *snotes[] = {"Target loss 1e-3 on the training set."};
    t1[0] = (cli_report_table){"Success and time to target", 5, 3, h1, c1, m1, NULL};
    t1[1] = (cli_report_table){"Chosen hyperparameters", 3, 2, h2, c2, NULL, NULL};
    t2[0] = (cli_report_table){NULL, 1, 2, h3, c3, NULL, "Holm-adjusted p-values against the best."};
    p1[0] = (cli_report_picture){"Loss curves", picture_file, NULL, "loss against epoch"};
    p1[1] = (cli_report_picture){"Performance profile", NULL, SVG_INLINE, NULL};
    sec[0] = (cli_report_section){"Summary", snotes, 1, t1, 2, p1, 2};
    sec[1] = (cli_report_section){"Paired tests \"vs\" best", NULL, 0, t2, 1, NULL, 0};
    return (cli_report){"Optimizers on abs 2→3→1", "nnfit sweep --task abs --opt adam,sgd --budget 16 --report out",
                        notes, 2, sec, 2};
}

/* Runs f with stderr captured; returns f's status, *err the text. */
static int with_stderr(int (*f)(const char *, const cli_report *), const char *dir, const cli_report *r,
                       char **err)
{
    char path[] = "/tmp/nnfit-report-stderr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int st = f(dir, r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    *err = read_all(path);
    unlink(path);
    return st;
}

static int check_only(const char *dir, const cli_report *r)
{
    (void)r;
    return cli_report_check(dir);
}

static void make_report(const char *dir)
{
    ck_assert_int_eq(cli_report_make_dir(dir), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/loss curves.svg", dir);
    write_file(path, SVG_FILE);
    cli_report r = sample("loss curves.svg");
    ck_assert_int_eq(cli_report_write(dir, &r), 0);
}

START_TEST(page_has_every_part)
{
    const char *dir = fresh_dir("page");
    make_report(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = read_all(path);
    ck_assert_ptr_nonnull(html);
    ck_assert_int_eq(count(html, "<table"), 3);
    ck_assert_int_eq(count(html, "<tr>"), (1 + 3) + (1 + 2) + (1 + 2));
    ck_assert_int_eq(count(html, "<th scope=\"col\">"), 5 + 3 + 1);
    ck_assert_int_eq(count(html, "<img src=\"loss%20curves.svg\""), 1);
    ck_assert_int_eq(count(html, "<svg"), 1);        /* the inline one, without its prolog */
    ck_assert_int_eq(count(html, "<?xml"), 0);
    ck_assert_int_eq(count(html, "<!DOCTYPE svg"), 0);
    ck_assert_int_eq(count(html, "<figure"), 2);
    ck_assert_int_eq(count(html, "<sup class=\"mark\">*</sup>"), 5);
    ck_assert_int_eq(count(html, "class=\"num sig\""), 5);   /* 61%, 1.9e-3, 12%, 0.031, ∞ */
    ck_assert_int_eq(count(html, "class=\"best\""), 1);      /* the setting name */
    ck_assert_int_eq(count(html, "class=\"num best\""), 3);
    ck_assert_ptr_nonnull(strstr(html, "rmsprop &lt;lr=1e-3&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;tuning&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "16 Sobol points &amp; evaluated"));
    ck_assert_ptr_nonnull(strstr(html, "Paired tests &quot;vs&quot; best"));
    ck_assert_ptr_nonnull(strstr(html, "<p class=\"legend\">* differs significantly"));
    ck_assert_ptr_nonnull(strstr(html, "<p class=\"legend\">Holm-adjusted"));
    ck_assert_ptr_nonnull(strstr(html, "<a href=\"#s2\">"));
    ck_assert_ptr_nonnull(strstr(html, "<section id=\"s2\">"));
    ck_assert_int_eq(count(html, "<script"), 0);
    ck_assert_int_eq(count(html, "http"), 1); /* only the inline SVG's namespace name */
    free(html);
    /* only index.html and the picture: no temporary file left behind */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    char *out;
    ck_assert_int_eq(tu_run_cmd(cmd, &out, NULL), 0);
    ck_assert_int_eq(atoi(out), 2);
    free(out);
    fresh_dir("page");
}
END_TEST

START_TEST(refusals_write_nothing)
{
    char *err;
    cli_report r = sample("curve.svg");
    /* the folder is a file */
    const char *dir = fresh_dir("file");
    write_file(dir, "not a folder\n");
    ck_assert_int_eq(with_stderr(cli_report_write, dir, &r, &err), EXIT_USAGE);
    ck_assert_int_eq(count(err, "\n"), 1);
    ck_assert_ptr_nonnull(strstr(err, dir));
    ck_assert_ptr_nonnull(strstr(err, "is a file, not a folder"));
    free(err);
    ck_assert_int_eq(with_stderr(check_only, dir, &r, &err), EXIT_USAGE);
    ck_assert_int_eq(count(err, "\n"), 1);
    free(err);
    char *still = read_all(dir);
    ck_assert_str_eq(still, "not a folder\n");
    free(still);
    unlink(dir);
    /* its parent does not exist */
    char deep[512];
    snprintf(deep, sizeof deep, "%s/a/b", fresh_dir("deep"));
    ck_assert_int_eq(with_stderr(check_only, deep, &r, &err), EXIT_USAGE);
    ck_assert_int_eq(count(err, "\n"), 1);
    free(err);
    struct stat sb;
    ck_assert_int_ne(stat(dir_buf, &sb), 0);
    /* a missing picture: refused, the old index.html kept */
    dir = fresh_dir("missing");
    make_report(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *before = read_all(path);
    r = sample("curve.svg"); /* sample() reuses static storage: describe again after make_report */
    ck_assert_int_eq(with_stderr(cli_report_write, dir, &r, &err), EXIT_USAGE);
    ck_assert_int_eq(count(err, "\n"), 1);
    ck_assert_ptr_nonnull(strstr(err, "curve.svg"));
    free(err);
    char *after = read_all(path);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    /* a picture name that leaves the folder */
    cli_report out = sample("../escape.svg");
    ck_assert_int_eq(with_stderr(cli_report_write, dir, &out, &err), EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "relative path inside"));
    free(err);
    /* index.html that is a FIFO is not replaced */
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    cli_report ok = sample("loss curves.svg");
    ck_assert_int_eq(with_stderr(cli_report_write, dir, &ok, &err), EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    free(err);
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    unlink(path);
    fresh_dir("missing");
    fresh_dir("deep");
}
END_TEST

/* ---- headless Chromium ---- */

static int have_chromium(void) { return system("command -v chromium >/dev/null 2>&1") == 0; }

/* chromium --dump-dom of file:// url into a malloc'd string. */
static char *dump_dom(const char *file)
{
    char ud[] = "/tmp/nnfit-chromium-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(ud));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
             "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s "
             "--dump-dom 'file://%s'; rm -rf %s", ud, file, ud);
    char *out = NULL, *err = NULL;
    int st = tu_run_cmd(cmd, &out, &err);
    ck_assert_msg(st == 0 && out && *out, "chromium failed (%d): %s", st, err ? err : "");
    free(err);
    return out;
}

/* Every value of attribute attr="..." in html, decoded (%XX, &amp;), through f. */
static void for_each_attr(const char *html, const char *attr, void (*f)(const char *value, void *ctx), void *ctx)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", attr);
    for (const char *p = html; (p = strstr(p, key)); ) {
        p += strlen(key);
        const char *q = strchr(p, '"');
        ck_assert_ptr_nonnull(q);
        char v[1024];
        size_t n = 0;
        for (const char *s = p; s < q && n < sizeof v - 1; s++) {
            if (*s == '%' && s + 2 < q) {
                char hx[3] = {s[1], s[2], 0};
                v[n++] = (char)strtol(hx, NULL, 16);
                s += 2;
            } else if (!strncmp(s, "&amp;", 5)) {
                v[n++] = '&';
                s += 4;
            } else {
                v[n++] = *s;
            }
        }
        v[n] = '\0';
        f(v, ctx);
        p = q;
    }
}

typedef struct {
    const char *dir, *dom;
    int links, pictures;
} link_ctx;

static void check_link(const char *v, void *vctx)
{
    link_ctx *c = vctx;
    c->links++;
    ck_assert_msg(strncmp(v, "http:", 5) && strncmp(v, "https:", 6) && strncmp(v, "//", 2),
                  "the page fetches %s", v);
    if (v[0] == '#') {
        char id[256];
        snprintf(id, sizeof id, "id=\"%s\"", v + 1);
        ck_assert_msg(strstr(c->dom, id) != NULL, "link %s has no target", v);
        return;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", c->dir, v);
    struct stat sb;
    ck_assert_msg(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0, "link %s is broken", v);
}

static void check_picture(const char *v, void *vctx)
{
    link_ctx *c = vctx;
    check_link(v, vctx);
    c->pictures++;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", c->dir, v);
    char *svg = dump_dom(path);
    /* Chromium shows an XML error page ("This page contains the following errors") for a
     * picture it cannot parse */
    ck_assert_msg(strstr(svg, "<svg") && !strstr(svg, "parsererror") && !strstr(svg, "following errors"),
                  "picture %s does not parse: %.300s", v, svg);
    free(svg);
}

START_TEST(chromium_renders_everything)
{
    const char *dir = fresh_dir("chromium");
    make_report(dir);
    char index[512];
    snprintf(index, sizeof index, "%s/index.html", dir);
    char *dom = dump_dom(index);
    /* every table, with all its rows and cells, and every picture made it into the DOM */
    ck_assert_int_eq(count(dom, "<table"), 3);
    ck_assert_int_eq(count(dom, "<tr>"), 4 + 3 + 3);
    ck_assert_int_eq(count(dom, "<td"), 15 + 6 + 2);
    ck_assert_int_eq(count(dom, "<figure"), 2);
    ck_assert_int_eq(count(dom, "<img"), 1);
    ck_assert_int_eq(count(dom, "<svg"), 1);
    ck_assert_int_eq(count(dom, "<circle"), 1); /* the inline SVG parsed as SVG, not text */
    ck_assert_int_eq(count(dom, "<script"), 0);
    ck_assert_ptr_nonnull(strstr(dom, "rmsprop &lt;lr=1e-3&gt;"));
    ck_assert_ptr_nonnull(strstr(dom, "<title>Optimizers on abs 2→3→1</title>"));
    link_ctx c = {dir, dom, 0, 0};
    for_each_attr(dom, "href", check_link, &c);
    for_each_attr(dom, "src", check_picture, &c);
    ck_assert_int_eq(c.pictures, 1);
    ck_assert_int_eq(c.links, 2 + 1); /* two contents links, one picture */
    free(dom);
    /* and it draws: a screenshot of the page is a real PNG of some size */
    char cmd[2048], ud[] = "/tmp/nnfit-chromium-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(ud));
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
             "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s --hide-scrollbars "
             "--window-size=1200,1600 --screenshot=%s/shot.png 'file://%s' >/dev/null 2>&1; rm -rf %s",
             dir, ud, dir, index, ud);
    ck_assert_int_eq(system(cmd), 0);
    char shot[512];
    snprintf(shot, sizeof shot, "%s/shot.png", dir);
    struct stat sb;
    ck_assert_int_eq(stat(shot, &sb), 0);
    ck_assert_int_gt(sb.st_size, 20000);
    char *png = read_all(shot);
    ck_assert(!memcmp(png, "\x89PNG", 4));
    free(png);
    if (!getenv("NNFIT_KEEP_REPORT")) fresh_dir("chromium"); /* keep it to look at the screenshot */
}
END_TEST

int main(int argc, char **argv)
{
    cli_prog = "nnfit sweep";
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 300);
    if (argc > 1 && !strcmp(argv[1], "chromium")) {
        if (!have_chromium()) {
            const char *ci = getenv("CI");
            if (ci && *ci) {
                fprintf(stderr, "chromium is not installed, and CI (CI=%s) requires this test: apt-get install -y chromium\n", ci);
                return EXIT_FAILURE;
            }
            fprintf(stderr, "chromium is not installed: skipped\n");
            return 77;
        }
        tcase_add_test(tc, chromium_renders_everything);
    } else {
        tcase_add_test(tc, page_has_every_part);
        tcase_add_test(tc, refusals_write_nothing);
    }
    suite_add_tcase(s, tc);
    return tu_run(s);
}
