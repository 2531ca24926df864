/* report.c — DIR/index.html from a cli_report: HTML5 with inline CSS, no scripts. */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* ---- growing text ---- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        char *ns = realloc(t->s, cap);
        if (!ns) {
            t->oom = 1;
            return;
        }
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void putf(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void putf(text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    put(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Text as HTML character data or a quoted attribute value. */
static void esc(text *t, const char *s)
{
    if (!s) return;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&': puts_(t, "&amp;"); break;
        case '<': puts_(t, "&lt;"); break;
        case '>': puts_(t, "&gt;"); break;
        case '"': puts_(t, "&quot;"); break;
        case '\'': puts_(t, "&#39;"); break;
        default: put(t, p, 1);
        }
    }
}

/* A relative path as a URL: unreserved bytes and '/' kept, the rest %XX. */
static void url(text *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~' || c == '/') {
            put(t, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(t, e, 3);
        }
    }
}

/* Right-align numbers: "0.25", "-3e-4", "12.5%", "inf", "∞", "—". */
static int numeric(const char *s)
{
    if (!s || !*s) return 0;
    if (!strcmp(s, "inf") || !strcmp(s, "∞") || !strcmp(s, "—") || !strcmp(s, "nan")) return 1;
    char *end;
    (void)strtod(s, &end);
    if (end == s) return 0;
    return *end == '\0' || !strcmp(end, "%");
}

static const char *style =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0 auto;"
    "max-width:72rem;padding:1rem 1.5rem;color:#1a1a1a;background:#fff;line-height:1.45}\n"
    "h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}\n"
    "pre.command{background:#f4f4f4;padding:.5rem .75rem;overflow-x:auto;white-space:pre-wrap}\n"
    "nav ol{padding-left:1.5rem}\n"
    "table{border-collapse:collapse;margin:1rem 0 .25rem;font-size:.9rem}\n"
    "caption{text-align:left;font-weight:600;padding-bottom:.3rem}\n"
    "th,td{border:1px solid #d0d0d0;padding:.25rem .5rem;vertical-align:top}\n"
    "th{background:#eef1f5;text-align:left}tbody tr:nth-child(even){background:#fafafa}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.sig{font-weight:700;background:#fff3d6}td.best{font-weight:700;background:#e3f3e3}\n"
    "sup.mark{color:#b35900}p.legend{font-size:.85rem;color:#555;margin-top:0}\n"
    "figure{margin:1.25rem 0}figure img,figure svg{max-width:100%;height:auto;border:1px solid #eee}\n"
    "figcaption{font-size:.9rem;color:#444}footer{margin-top:3rem;font-size:.8rem;color:#777}\n"
    "@media print{h2{break-after:avoid}figure,table{break-inside:avoid}}\n";

static int bad(const char *what) { return cli_usage_error("--report: %s", what); }

static int render_table(text *t, const cli_report_table *tb, int s, int k)
{
    if (tb->n_cols < 1 || tb->n_rows < 0 || !tb->header || (tb->n_rows > 0 && !tb->cells))
        return bad("a table needs at least one column, its header and its cells");
    putf(t, "<table id=\"s%d-t%d\">\n", s + 1, k + 1);
    if (tb->caption) {
        puts_(t, "<caption>");
        esc(t, tb->caption);
        puts_(t, "</caption>\n");
    }
    puts_(t, "<thead><tr>");
    for (int c = 0; c < tb->n_cols; c++) {
        puts_(t, "<th scope=\"col\">");
        esc(t, tb->header[c]);
        puts_(t, "</th>");
    }
    puts_(t, "</tr></thead>\n<tbody>\n");
    int marked = 0;
    for (int r = 0; r < tb->n_rows; r++) {
        puts_(t, "<tr>");
        for (int c = 0; c < tb->n_cols; c++) {
            const size_t i = (size_t)r * (size_t)tb->n_cols + (size_t)c;
            const char *cell = tb->cells[i];
            const unsigned m = tb->marks ? tb->marks[i] : 0u;
            marked |= m != 0;
            const char *cls[3];
            int nc = 0;
            if (numeric(cell)) cls[nc++] = "num";
            if (m & CLI_MARK_SIGNIFICANT) cls[nc++] = "sig";
            if (m & CLI_MARK_BEST) cls[nc++] = "best";
            puts_(t, "<td");
            for (int j = 0; j < nc; j++) putf(t, "%s%s", j ? " " : " class=\"", cls[j]);
            puts_(t, nc ? "\">" : ">");
            esc(t, cell);
            if (m & CLI_MARK_SIGNIFICANT) puts_(t, "<sup class=\"mark\">*</sup>");
            puts_(t, "</td>");
        }
        puts_(t, "</tr>\n");
    }
    puts_(t, "</tbody>\n</table>\n");
    if (tb->legend || marked) {
        puts_(t, "<p class=\"legend\">");
        esc(t, tb->legend ? tb->legend
                          : "* differs significantly from the best setting at 5 % (paired tests on common "
                            "seeds, Holm-corrected); highlighted: the best setting.");
        puts_(t, "</p>\n");
    }
    return 0;
}

/* A picture file name must stay inside the folder. */
static int safe_name(const char *f)
{
    if (!*f || f[0] == '/' || strstr(f, "//")) return 0;
    for (const char *p = f; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') || n == 0) return 0;
        p += n;
        if (*p == '/') p++;
    }
    return !strpbrk(f, "\\\n\r\"<>");
}

static int render_picture(text *t, const char *dir, const cli_report_picture *pc, int s, int k)
{
    putf(t, "<figure id=\"s%d-f%d\">\n", s + 1, k + 1);
    if (pc->file) {
        if (!safe_name(pc->file))
            return cli_usage_error("--report %s: picture name '%s' must be a relative path inside the folder",
                                   dir, pc->file);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, pc->file);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            return cli_usage_error("--report %s: picture %s is not in the folder", dir, pc->file);
        puts_(t, "<img src=\"");
        url(t, pc->file);
        puts_(t, "\" alt=\"");
        esc(t, pc->alt ? pc->alt : pc->caption ? pc->caption : pc->file);
        puts_(t, "\">\n");
    } else if (pc->svg) {
        const char *start = strstr(pc->svg, "<svg");
        const char *end = start ? strstr(start, "</svg>") : NULL;
        if (!start || !end) return bad("an inline picture must contain <svg ...>...</svg>");
        put(t, start, (size_t)(end + 6 - start));
        puts_(t, "\n");
    } else {
        return bad("a picture needs a file name or SVG text");
    }
    if (pc->caption) {
        puts_(t, "<figcaption>");
        esc(t, pc->caption);
        puts_(t, "</figcaption>\n");
    }
    puts_(t, "</figure>\n");
    return 0;
}

static int render(text *t, const char *dir, const cli_report *r)
{
    const char *title = r->title ? r->title : "nnfit report";
    puts_(t, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    putf(t, "<meta name=\"generator\" content=\"nnfit %s\">\n<title>", NNFIT_VERSION);
    esc(t, title);
    puts_(t, "</title>\n<style>\n");
    puts_(t, style);
    puts_(t, "</style>\n</head>\n<body>\n<header>\n<h1>");
    esc(t, title);
    puts_(t, "</h1>\n");
    if (r->command) {
        puts_(t, "<pre class=\"command\"><code>");
        esc(t, r->command);
        puts_(t, "</code></pre>\n");
    }
    for (int i = 0; i < r->n_notes; i++) {
        puts_(t, "<p>");
        esc(t, r->notes[i]);
        puts_(t, "</p>\n");
    }
    if (r->n_sections > 1) {
        puts_(t, "<nav><ol>\n");
        for (int s = 0; s < r->n_sections; s++) {
            putf(t, "<li><a href=\"#s%d\">", s + 1);
            esc(t, r->sections[s].heading ? r->sections[s].heading : "Section");
            puts_(t, "</a></li>\n");
        }
        puts_(t, "</ol></nav>\n");
    }
    puts_(t, "</header>\n<main>\n");
    for (int s = 0; s < r->n_sections; s++) {
        const cli_report_section *sec = &r->sections[s];
        if ((sec->n_notes > 0 && !sec->notes) || (sec->n_tables > 0 && !sec->tables) ||
            (sec->n_pictures > 0 && !sec->pictures) || sec->n_notes < 0 || sec->n_tables < 0 || sec->n_pictures < 0)
            return bad("a section's counts do not match its arrays");
        putf(t, "<section id=\"s%d\">\n<h2>", s + 1);
        esc(t, sec->heading ? sec->heading : "Section");
        puts_(t, "</h2>\n");
        for (int i = 0; i < sec->n_notes; i++) {
            puts_(t, "<p>");
            esc(t, sec->notes[i]);
            puts_(t, "</p>\n");
        }
        for (int k = 0; k < sec->n_tables; k++) {
            int st = render_table(t, &sec->tables[k], s, k);
            if (st) return st;
        }
        for (int k = 0; k < sec->n_pictures; k++) {
            int st = render_picture(t, dir, &sec->pictures[k], s, k);
            if (st) return st;
        }
        puts_(t, "</section>\n");
    }
    putf(t, "</main>\n<footer>Written by nnfit %s.</footer>\n</body>\n</html>\n", NNFIT_VERSION);
    return 0;
}

int cli_report_check(const char *dir)
{
    if (!dir || !*dir) return bad("needs a folder name");
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return cli_usage_error("--report %s: is a %s, not a folder", dir, S_ISREG(sb.st_mode) ? "file" : "special file");
        if (access(dir, W_OK | X_OK) != 0)
            return cli_usage_error("--report %s: cannot write into it: %s", dir, strerror(errno));
        return 0;
    }
    if (errno != ENOENT) return cli_usage_error("--report %s: %s", dir, strerror(errno));
    /* to be created: its parent must be a writable folder */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cli_usage_error("--report %s: cannot create it: %s is not a folder", dir, parent);
    if (access(parent, W_OK | X_OK) != 0)
        return cli_usage_error("--report %s: cannot create it in %s: %s", dir, parent, strerror(errno));
    return 0;
}

int cli_report_make_dir(const char *dir)
{
    int st = cli_report_check(dir);
    if (st) return st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cli_usage_error("--report %s: cannot create it: %s", dir, strerror(errno));
    return cli_report_check(dir);
}

int cli_report_write(const char *dir, const cli_report *r)
{
    if (!r || (r->n_sections > 0 && !r->sections) || r->n_sections < 0 || r->n_notes < 0 ||
        (r->n_notes > 0 && !r->notes))
        return bad("no report description");
    int st = cli_report_make_dir(dir);
    if (st) return st;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/index.html", dir) >= sizeof path)
        return cli_usage_error("--report %s: the folder name is too long", dir);
    struct stat sb;
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_usage_error("--report %s: index.html there is not a regular file; not replacing it", dir);
    text t = {0};
    st = render(&t, dir, r);
    if (!st && t.oom) st = cli_usage_error("--report %s: out of memory", dir);
    if (!st && nf_file_write_atomic(path, t.s, t.len)) st = cli_status_error(NF_EIO);
    free(t.s);
    return st ? EXIT_USAGE : 0;
}
