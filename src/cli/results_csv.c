/* results_csv.c — reads `nnfit sweep --out` results files (see results_csv.h). */
#include "results_csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FIELDS = 256, MAX_SETTING = 100000000, MAX_RESTART = (1 << 24) - 1, MAX_UNITS = 1 << 24 };

/* Columns the reader needs; any other column (best_loss, command, the training-aid axes ...) is
 * an extra: a non-empty extra value joins the setting's label as "name=value". */
enum { C_SETTING, C_OPT, C_ACT, C_INIT, C_LAYERS, C_LR, C_RESTART, C_SEED, C_DONE, C_SUCCESS,
       C_FINAL, C_DEAD, C_ALWAYS_ON, C_DUPLICATE, C_PARALLEL, C_TARGET, C_COUNT };
static const char *const col_name[C_COUNT] = {"setting", "opt", "act", "init", "layers", "lr", "restart",
                                              "seed", "done", "success", "final_loss", "dead", "always_on",
                                              "duplicate", "parallel", "target"};
/* Columns that describe one trial, not the setting: never part of a label. */
static const char *const trial_cols[] = {"best_loss", "target_epoch", "epochs_run", "diverged_epoch",
                                         "seconds", "command"};

typedef struct {
    nf_trial t;
    long line;
    char label[sizeof ((cli_setting_name *)0)->label];
} row;

typedef struct {
    const char *name;
    long line;
    char *scratch; /* the current line, unquoted in place */
    size_t cap;
    char *field[MAX_FIELDS];
    int n_fields;
} reader;

/* Splits buf[0..n) (one line without its end) into r->field; quoted fields may hold commas and
 * doubled quotes ("a ""b"""). */
static nf_status split_line(reader *r, const char *buf, size_t n)
{
    if (n + 1 > r->cap) {
        size_t cap = n + 1 > 2 * r->cap ? n + 1 : 2 * r->cap;
        char *s = realloc(r->scratch, cap);
        if (!s) return nf_fail(NF_ENOMEM, "%s:%ld: out of memory", r->name, r->line);
        r->scratch = s;
        r->cap = cap;
    }
    char *out = r->scratch;
    size_t i = 0;
    r->n_fields = 0;
    for (;;) {
        if (r->n_fields == MAX_FIELDS)
            return nf_fail(NF_EFORMAT, "%s:%ld: more than %d fields", r->name, r->line, MAX_FIELDS);
        r->field[r->n_fields++] = out;
        if (i < n && buf[i] == '"') {
            for (i++;; i++) {
                if (i >= n) return nf_fail(NF_EFORMAT, "%s:%ld: unterminated quoted field", r->name, r->line);
                if (buf[i] == '"') {
                    if (i + 1 < n && buf[i + 1] == '"') *out++ = buf[i++];
                    else break;
                } else {
                    *out++ = buf[i];
                }
            }
            i++;
            if (i < n && buf[i] != ',')
                return nf_fail(NF_EFORMAT, "%s:%ld: text after the closing quote of field %d", r->name,
                               r->line, r->n_fields);
        } else {
            while (i < n && buf[i] != ',') {
                if (buf[i] == '"')
                    return nf_fail(NF_EFORMAT, "%s:%ld: stray quote in field %d", r->name, r->line, r->n_fields);
                *out++ = buf[i++];
            }
        }
        *out++ = '\0';
        if (i >= n) break;
        i++; /* the comma */
    }
    return NF_OK;
}

/* Field text for a message: printable, cut after 40 bytes. */
static const char *shown(const char *s)
{
    static _Thread_local char buf[64];
    size_t k = 0;
    for (; *s && k < 40; s++) buf[k++] = (unsigned char)*s < 32 || (unsigned char)*s >= 127 ? '?' : *s;
    if (*s) memcpy(buf + k, "...", 3), k += 3;
    buf[k] = '\0';
    return buf;
}

static nf_status bad(const reader *r, int col, const char *text, const char *want)
{
    return nf_fail(NF_EFORMAT, "%s:%ld: column '%s': '%s' %s", r->name, r->line, col_name[col], shown(text), want);
}

/* Decimal integer in [0, hi]. */
static nf_status get_int(const reader *r, int col, const char *s, long hi, long *out)
{
    long v = 0;
    if (!*s) return bad(r, col, s, "is empty, expected a whole number");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return bad(r, col, s, "is not a whole number");
        if (v > hi / 10 || v * 10 > hi - (*p - '0')) {
            char want[64];
            snprintf(want, sizeof want, "is larger than %ld", hi);
            return bad(r, col, s, want);
        }
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return NF_OK;
}

static nf_status get_u64(const reader *r, int col, const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s) return bad(r, col, s, "is empty, expected a whole number");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return bad(r, col, s, "is not a whole number");
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return bad(r, col, s, "is larger than 2^64 - 1");
        v = v * 10 + d;
    }
    *out = v;
    return NF_OK;
}

/* A number as the sweep writes it (decimal, or nan/inf for a diverged trial). */
static nf_status get_double(const reader *r, int col, const char *s, int finite, double *out)
{
    int ok = *s && strlen(s) < 64;
    for (const char *p = s; ok && *p; p++) ok = !strchr("xX( \t", *p);
    char *end = NULL;
    double v = ok ? strtod(s, &end) : 0.0;
    if (!ok || *end) return bad(r, col, s, "is not a number");
    if (finite && !isfinite(v)) return bad(r, col, s, "is not a finite number");
    *out = v;
    return NF_OK;
}

/* Names and values as option values spell them: nothing that could end a word or a gnuplot
 * string. */
static int plain_word(const char *s)
{
    if (!*s || strlen(s) > 63) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("_.,+-=:", *s)))
            return 0;
    return 1;
}

/* A setting's label as `nnfit sweep` writes it: words of plain_word's characters and "()"
 * separated by single spaces ("sgd(momentum=0.9) relu glorot_uniform 2,3,1 batch=64"). */
static int plain_label(const char *s, size_t cap)
{
    if (!*s || strlen(s) >= cap || *s == ' ') return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_.,+-=:()", *p) || (*p == ' ' && p[1] && p[1] != ' ')))
            return 0;
    return 1;
}

static nf_status get_word(const reader *r, int col, const char *s)
{
    return plain_word(s) ? NF_OK : bad(r, col, s, "is not a name (1 to 63 of A-Z a-z 0-9 _ . , + - = :)");
}

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->t.setting != y->t.setting) return x->t.setting < y->t.setting ? -1 : 1;
    if (x->t.restart != y->t.restart) return x->t.restart < y->t.restart ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

void cli_results_free(cli_results *r)
{
    free(r->trials);
    free(r->first);
    free(r->names);
    free(r->index);
    memset(r, 0, sizeof *r);
}

/* Next line of buf from *pos: [*b, *e) without its "\n" / "\r\n"; 0 at the end. */
static int next_line(const char *buf, size_t len, size_t *pos, size_t *b, size_t *e)
{
    if (*pos >= len) return 0;
    *b = *pos;
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    *e = nl ? (size_t)(nl - buf) : len;
    *pos = nl ? *e + 1 : len;
    if (*e > *b && buf[*e - 1] == '\r') (*e)--;
    return 1;
}

/* Where the columns are: the ones the reader needs, the extras that join a label, the label. */
typedef struct {
    int col[C_COUNT], n_cols;
    int extra[MAX_FIELDS], n_extra, label_col;
    char extra_name[MAX_FIELDS][32];
} header;

/* Reads the header line (already split into r->field). */
static nf_status parse_header(const reader *r, header *h)
{
    h->n_cols = r->n_fields;
    h->n_extra = 0;
    h->label_col = -1;
    for (int c = 0; c < C_COUNT; c++) h->col[c] = -1;
    for (int f = 0; f < r->n_fields; f++) /* with a label column the label says it all */
        if (!strcmp(r->field[f], "label")) h->label_col = f;
    for (int f = 0; f < r->n_fields; f++) {
        int known = 0;
        for (int c = 0; c < C_COUNT; c++)
            if (!strcmp(r->field[f], col_name[c])) {
                if (h->col[c] >= 0) return nf_fail(NF_EFORMAT, "%s:1: column '%s' appears twice", r->name, col_name[c]);
                h->col[c] = f;
                known = 1;
            }
        for (size_t k = 0; k < sizeof trial_cols / sizeof trial_cols[0]; k++) known |= !strcmp(r->field[f], trial_cols[k]);
        if (!known && h->label_col < 0 && plain_word(r->field[f]) && strlen(r->field[f]) < sizeof h->extra_name[0]) {
            snprintf(h->extra_name[h->n_extra], sizeof h->extra_name[0], "%s", r->field[f]);
            h->extra[h->n_extra++] = f;
        }
    }
    for (int c = 0; c < C_COUNT; c++)
        if (h->col[c] < 0)
            return nf_fail(NF_EFORMAT, "%s:1: not a results file of `nnfit sweep --out` (no column '%s' in "
                           "the header)", r->name, col_name[c]);
    return NF_OK;
}

/* The setting's label of one row: the label column, or the fixed columns and the extras. */
static nf_status row_label(const reader *r, const header *h, double lr, row *w)
{
    char *const *f = r->field;
    int at;
    if (h->label_col >= 0) {
        if (!plain_label(f[h->label_col], sizeof w->label))
            return nf_fail(NF_EFORMAT, "%s:%ld: column 'label': '%s' is not a setting label (words of A-Z a-z 0-9 "
                           "_ . , + - = : ( ) separated by single spaces, shorter than %zu bytes)", r->name, r->line,
                           shown(f[h->label_col]), sizeof w->label);
        at = snprintf(w->label, sizeof w->label, "%s", f[h->label_col]);
    } else {
        at = snprintf(w->label, sizeof w->label, "%s %s %s %s lr=%g", f[h->col[C_OPT]], f[h->col[C_ACT]],
                      f[h->col[C_INIT]], f[h->col[C_LAYERS]], lr);
    }
    for (int k = 0; k < h->n_extra && at > 0 && (size_t)at < sizeof w->label; k++) {
        const char *x = f[h->extra[k]];
        if (!*x) continue;
        if (!plain_word(x))
            return nf_fail(NF_EFORMAT, "%s:%ld: column '%s': '%s' is not a name (1 to 63 of A-Z a-z 0-9 _ . , + - = :)",
                           r->name, r->line, h->extra_name[k], shown(x));
        at += snprintf(w->label + at, sizeof w->label - (size_t)at, " %s=%s", h->extra_name[k], x);
    }
    if ((size_t)at >= sizeof w->label)
        return nf_fail(NF_EFORMAT, "%s:%ld: the setting's description is longer than %zu bytes", r->name, r->line,
                       sizeof w->label - 1);
    return NF_OK;
}

/* One trial row (already split); *target / *target_line: the sweep's one target so far. */
static nf_status parse_row(const reader *r, const header *h, row *w, double *target, long *target_line)
{
    char *const *f = r->field;
    const int *col = h->col;
    long v;
    double tg, lr;
    nf_status st;
    memset(w, 0, sizeof *w);
    w->line = r->line;
    if ((st = get_int(r, C_SETTING, f[col[C_SETTING]], MAX_SETTING, &v))) return st;
    w->t.setting = (int)v;
    if ((st = get_int(r, C_RESTART, f[col[C_RESTART]], MAX_RESTART, &v))) return st;
    w->t.restart = (int)v;
    if ((st = get_u64(r, C_SEED, f[col[C_SEED]], &w->t.seed))) return st;
    if ((st = get_int(r, C_DONE, f[col[C_DONE]], 1, &v))) return st;
    w->t.done = (int)v;
    if ((st = get_int(r, C_SUCCESS, f[col[C_SUCCESS]], 1, &v))) return st;
    w->t.success = (int)v;
    if ((st = get_double(r, C_FINAL, f[col[C_FINAL]], 0, &w->t.final_loss))) return st;
    int *counts[4] = {&w->t.dead, &w->t.always_on, &w->t.duplicate, &w->t.parallel};
    for (int k = 0; k < 4; k++) {
        if ((st = get_int(r, C_DEAD + k, f[col[C_DEAD + k]], MAX_UNITS, &v))) return st;
        *counts[k] = (int)v;
    }
    if ((st = get_double(r, C_TARGET, f[col[C_TARGET]], 1, &tg))) return st;
    if (!(tg > 0)) return bad(r, C_TARGET, f[col[C_TARGET]], "is not a positive loss");
    if (*target_line && tg != *target)
        return nf_fail(NF_EFORMAT, "%s:%ld: column 'target': %g, but %g on line %ld (one sweep has one target)",
                       r->name, r->line, tg, *target, *target_line);
    *target = tg;
    *target_line = r->line;
    for (int c = C_OPT; c <= C_LAYERS; c++)
        if ((st = get_word(r, c, f[col[c]]))) return st;
    if ((st = get_double(r, C_LR, f[col[C_LR]], 1, &lr))) return st;
    return row_label(r, h, lr, w);
}

/* Sorted rows → settings: every (setting, restart) once, one label per setting. */
static nf_status group_rows(const char *name, row *rows, size_t n, double target, cli_results *res)
{
    nf_status st = NF_OK;
    qsort(rows, n, sizeof *rows, cmp_row);
    int n_settings = 0;
    for (size_t i = 0; i < n && !st; i++) {
        if (i == 0 || rows[i].t.setting != rows[i - 1].t.setting) {
            if (++n_settings > CLI_RESULTS_MAX_SETTINGS)
                st = nf_fail(NF_EFORMAT, "%s: more than %d settings, more than one picture shows", name,
                             CLI_RESULTS_MAX_SETTINGS);
            continue;
        }
        const row *p = &rows[i - 1], *q = &rows[i];
        const row *lo = p->line < q->line ? p : q, *hi = p->line < q->line ? q : p;
        if (p->t.restart == q->t.restart)
            st = nf_fail(NF_EFORMAT, "%s:%ld: setting %d restart %d appears twice (also on line %ld)", name,
                         hi->line, q->t.setting, q->t.restart, lo->line);
        else if (strcmp(p->label, q->label))
            st = nf_fail(NF_EFORMAT, "%s:%ld: setting %d is '%s' here but '%s' on line %ld", name, hi->line,
                         q->t.setting, hi->label, lo->label, lo->line);
    }
    if (!st) {
        res->trials = malloc(n * sizeof *res->trials);
        res->first = malloc(((size_t)n_settings + 1) * sizeof *res->first);
        res->names = calloc((size_t)n_settings, sizeof *res->names);
        res->index = malloc((size_t)n_settings * sizeof *res->index);
        if (!res->trials || !res->first || !res->names || !res->index)
            st = nf_fail(NF_ENOMEM, "%s: out of memory for %zu trials", name, n);
    }
    if (st) {
        cli_results_free(res);
        return st;
    }
    int k = -1;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || rows[i].t.setting != rows[i - 1].t.setting) {
            k++;
            res->first[k] = (long)i;
            res->index[k] = rows[i].t.setting;
            memcpy(res->names[k].label, rows[i].label, sizeof res->names[k].label);
            snprintf(res->names[k].file, sizeof res->names[k].file, "s%02d", rows[i].t.setting);
        }
        res->trials[i] = rows[i].t;
    }
    res->first[n_settings] = (long)n;
    res->n = (long)n;
    res->n_settings = n_settings;
    res->target = target;
    return NF_OK;
}

nf_status cli_results_parse(const char *buf, size_t len, const char *name, cli_results *res)
{
    memset(res, 0, sizeof *res);
    reader r = {.name = name};
    nf_status st = NF_OK;
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        size_t at = (size_t)(nul - buf);
        long line = 1;
        for (size_t i = 0; i < at; i++) line += buf[i] == '\n';
        return nf_fail(NF_EFORMAT, "%s:%ld: NUL byte (byte %zu): not a text file", name, line, at);
    }
    size_t pos = 0, b, e;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3;
    r.line = 1;
    if (!next_line(buf, len, &pos, &b, &e)) return nf_fail(NF_EFORMAT, "%s: empty file, expected a results file of `nnfit sweep --out`", name);
    header h;
    if ((st = split_line(&r, buf + b, e - b)) || (st = parse_header(&r, &h))) {
        free(r.scratch);
        return st;
    }
    row *rows = NULL;
    size_t n = 0, cap = 0;
    double target = 0.0;
    long target_line = 0;
    while (!st && next_line(buf, len, &pos, &b, &e)) {
        r.line++;
        if (e == b) continue; /* a blank line (the last newline) */
        if ((st = split_line(&r, buf + b, e - b))) break;
        if (r.n_fields != h.n_cols) {
            st = nf_fail(NF_EFORMAT, "%s:%ld: %d fields, expected %d (as in the header)", name, r.line, r.n_fields, h.n_cols);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            row *nr = realloc(rows, nc * sizeof *rows);
            if (!nr) {
                st = nf_fail(NF_ENOMEM, "%s:%ld: out of memory", name, r.line);
                break;
            }
            rows = nr;
            cap = nc;
        }
        if (!(st = parse_row(&r, &h, &rows[n], &target, &target_line))) n++;
    }
    free(r.scratch);
    if (!st && n == 0) st = nf_fail(NF_EFORMAT, "%s: no trials (only the header)", name);
    if (!st) st = group_rows(name, rows, n, target, res);
    free(rows);
    return st;
}
