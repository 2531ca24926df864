/* data_csv.c — CSV reading and writing (dialect described in data.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "nnfit/data.h"

#define CELL_MAX 400    /* longest cell text we parse as a number */
#define COLS_MAX (1 << 24)

typedef struct {
    const char *name;
    const nf_read_opts *o;
    char sep;           /* ',' or ' ' (runs of blanks and tabs); 0 until the first line */
    int cols;           /* 0 until known */
    int cols_line;      /* line that fixed the column count */
    float *vals;
    size_t n, cap;
    size_t rows;
} csv_state;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Copies cell text into out for a message, replacing control bytes and trimming length. */
static void quote_cell(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 32 || c == 127) ? '?' : (char)c;
    }
    if (n > 0 && k + 4 >= cap && k < n) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k] = '\0';
}

/* 0 number (finite or not, in *v), 1 not a number. */
static int parse_cell(const char *s, size_t n, double *v)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    if (n == 0 || n > CELL_MAX) return 1;
    char buf[CELL_MAX + 1];
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* strtod skips leading blanks and accepts hex; keep to decimal forms and nan/inf */
    if (is_blank(buf[0])) return 1;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 'x' || buf[i] == 'X' || buf[i] == '(') return 1;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + n) return 1;
    *v = d;
    return 0;
}

typedef struct {
    const char *s;
    size_t n;
} cell;

/* Splits [s, s+n) into cells; returns the count (capped by max; *more set when there were
 * more).  Empty cells (",,") are returned with n = 0. */
static size_t split_cells(const char *s, size_t n, char sep, cell *cells, size_t max, int *more)
{
    size_t count = 0, i = 0;
    *more = 0;
    if (sep == ' ') {
        while (i < n) {
            while (i < n && is_blank(s[i])) i++;
            if (i >= n) break;
            size_t b = i;
            while (i < n && !is_blank(s[i])) i++;
            if (count < max) cells[count] = (cell){s + b, i - b};
            else *more = 1;
            count++;
        }
        return count;
    }
    for (;;) {
        size_t b = i;
        while (i < n && s[i] != sep) i++;
        size_t e = i;
        while (b < e && is_blank(s[b])) b++;
        while (e > b && is_blank(s[e - 1])) e--;
        if (count < max) cells[count] = (cell){s + b, e - b};
        else *more = 1;
        count++;
        if (i >= n) break;
        i++; /* past the separator */
    }
    return count;
}

static nf_status push(csv_state *st, float v)
{
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 1024;
        if (nc > SIZE_MAX / sizeof(float) / 2)
            return nf_fail(NF_ENOMEM, "%s: too many values", st->name);
        float *p = realloc(st->vals, nc * sizeof(float));
        if (!p) return nf_fail(NF_ENOMEM, "%s: out of memory after %zu values", st->name, st->n);
        st->vals = p;
        st->cap = nc;
    }
    st->vals[st->n++] = v;
    return NF_OK;
}

/* Handles one non-empty, comment-free line. */
static nf_status do_line(csv_state *st, const char *s, size_t n, long line, int first,
                         cell *cells, int *header_line)
{
    if (!st->sep) st->sep = memchr(s, ',', n) ? ',' : ' ';
    int more;
    size_t count = split_cells(s, n, st->sep, cells, COLS_MAX, &more);
    if (count > COLS_MAX)
        return nf_fail(NF_EFORMAT, "%s:%ld: %zu columns, more than the limit of %d", st->name,
                       line, count, COLS_MAX);
    char q[64];
    if (first) {
        size_t numeric = 0;
        double v;
        for (size_t c = 0; c < count; c++) numeric += !parse_cell(cells[c].s, cells[c].n, &v);
        int header = st->o->header;
        if (header < 0) header = numeric == 0;
        if (header) {
            *header_line = (int)line;
            st->cols = (int)count;
            st->cols_line = (int)line;
            return NF_OK;
        }
    }
    if (st->cols && (size_t)st->cols != count)
        return nf_fail(NF_EFORMAT, "%s:%ld: %zu column%s, expected %d (as on line %d)", st->name,
                       line, count, count == 1 ? "" : "s", st->cols, st->cols_line);
    if (!st->cols) {
        st->cols = (int)count;
        st->cols_line = (int)line;
    }
    for (size_t c = 0; c < count; c++) {
        double v;
        if (cells[c].n == 0)
            return nf_fail(NF_EFORMAT, "%s:%ld: column %zu is empty, expected a number", st->name,
                           line, c + 1);
        if (parse_cell(cells[c].s, cells[c].n, &v)) {
            quote_cell(cells[c].s, cells[c].n, q, sizeof q);
            return nf_fail(NF_EFORMAT, "%s:%ld: column %zu: '%s' is not a number", st->name, line,
                           c + 1, q);
        }
        float f = (float)v;
        if (!isfinite(f) && !st->o->allow_nonfinite) {
            quote_cell(cells[c].s, cells[c].n, q, sizeof q);
            return nf_fail(NF_ENONFINITE, "%s:%ld: column %zu: %s '%s' (NaN/Inf are refused unless "
                           "non-finite values are allowed, --allow-nonfinite)", st->name, line,
                           c + 1, isfinite(v) ? "value outside float32 range" : "non-finite value", q);
        }
        nf_status e = push(st, f);
        if (e) return e;
    }
    st->rows++;
    if (st->rows > (size_t)2147483647)
        return nf_fail(NF_EFORMAT, "%s:%ld: more than 2^31-1 rows", st->name, line);
    return NF_OK;
}

nf_status nf_csv_parse(const char *buf, size_t len, const char *name, const nf_read_opts *o,
                       nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    if (len == 0) return nf_fail(NF_EFORMAT, "%s: empty file, expected rows of numbers", name);
    csv_state st = {.name = name, .o = o};
    /* cells of one line; sized lazily to the widest line seen */
    size_t cells_cap = 64;
    cell *cells = NULL;
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    nf_status e = NF_OK;
    size_t pos = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3; /* UTF-8 byte order mark */
    long line = 0;
    int first = 1, header_line = 0;
    while (pos < len && !e) {
        line++;
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        const char *hash = memchr(s, '#', n);
        if (hash) n = (size_t)(hash - s);
        while (n > 0 && is_blank(s[n - 1])) n--;
        size_t b = 0;
        while (b < n && is_blank(s[b])) b++;
        if (b == n) continue;
        /* upper bound of cells on this line: separators + 1 */
        size_t need = 1;
        for (size_t i = b; i < n; i++) need += s[i] == ',' || is_blank(s[i]);
        if (need > COLS_MAX + 1) need = COLS_MAX + 1;
        if (!cells || need > cells_cap) {
            if (need > cells_cap) cells_cap = need;
            free(cells);
            cells = malloc(cells_cap * sizeof *cells);
            if (!cells) {
                e = nf_fail(NF_ENOMEM, "%s:%ld: cannot allocate %zu cells", name, line, cells_cap);
                break;
            }
        }
        e = do_line(&st, s + b, n - b, line, first, cells, &header_line);
        first = 0;
    }
    nf_c_locale_pop(&loc);
    free(cells);
    if (!e && st.rows == 0) {
        if (header_line)
            e = nf_fail(NF_EFORMAT, "%s:%d: header line but no data rows after it", name, header_line);
        else
            e = nf_fail(NF_EFORMAT, "%s: no data rows (only blank or comment lines), expected rows "
                        "of numbers", name);
    }
    if (!e) e = nf_mat_alloc(M, (int)st.rows, st.cols);
    if (!e) memcpy(M->data, st.vals, st.n * sizeof(float));
    free(st.vals);
    return e;
}

nf_status nf_csv_format(const nf_mat *M, const char *const *header, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    /* "%.9g" is at most 15 chars plus a separator */
    size_t cells = nf_mat_size(M);
    size_t cap = 64 + (size_t)M->rows * 2;
    if (cells > (SIZE_MAX - cap) / 17) return nf_fail(NF_ENOMEM, "CSV text would be too large");
    cap += cells * 17;
    if (header)
        for (int c = 0; c < M->cols; c++) cap += strlen(header[c]) + 1;
    char *out = malloc(cap);
    if (!out) return nf_fail(NF_ENOMEM, "cannot allocate %zu bytes of CSV text", cap);
    size_t k = 0;
    if (header) {
        for (int c = 0; c < M->cols; c++) {
            size_t hl = strlen(header[c]);
            if (c) out[k++] = ',';
            memcpy(out + k, header[c], hl);
            k += hl;
        }
        out[k++] = '\n';
    }
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    for (size_t r = 0; r < (size_t)M->rows; r++) {
        for (size_t c = 0; c < (size_t)M->cols; c++) {
            if (c) out[k++] = ',';
            int w = snprintf(out + k, cap - k, "%.9g", (double)M->data[r * (size_t)M->cols + c]);
            if (w > 0) k += (size_t)w;
        }
        out[k++] = '\n';
    }
    nf_c_locale_pop(&loc);
    out[k] = '\0';
    *text = out;
    *len = k;
    return NF_OK;
}
