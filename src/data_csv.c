/* data_csv.c — CSV reading and writing (dialect described in data.h).
 *
 * Reading takes two passes over the text.  The first counts the lines that hold data (a
 * character other than blanks before any '#'); the matrix is then allocated once, at its final
 * size, when the first data row fixes the column count, and the second pass parses every cell
 * straight into it.  A file is read in blocks of CHUNK bytes (a block grows only to hold a line
 * longer than it), so the peak memory is the matrix plus one block: no copy of the file, no
 * doubling growth of the value array.  Only a file that cannot be read twice (a pipe) is first
 * read into memory whole.
 *
 * Numbers: a cell of the form [+-]digits[.digits][e[+-]digits] with at most 19 significant
 * digits and a decimal exponent within ±22 is converted as m · 10^e or m / 10^e in one rounded
 * double operation (both operands exact: Clinger's fast path), which is the correctly rounded
 * double, the one strtod returns; every other cell goes to strtod. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"
#include "nnfit/data.h"

#define CELL_MAX 400    /* longest cell text we parse as a number */
#define COLS_MAX (1 << 24)
#define CHUNK ((size_t)1 << 20)

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

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

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The fast path described at the top, on [p, end): returns the end of the number it read (with
 * *v), or NULL to leave the text to strtod (no plain decimal number at p, more than 19 digits,
 * an exponent beyond ±22, a mantissa above 2^53).  Text may follow the number; the caller
 * decides whether it is a separator. */
static inline const char *fast_num(const char *p, const char *end, double *v)
{
    int neg = 0, nd = 0, e10 = 0;
    if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
    uint64_t m = 0;
    for (; p < end && (unsigned)(*p - '0') < 10; p++, nd++) m = m * 10 + (uint64_t)(*p - '0');
    if (p < end && *p == '.') {
        const char *f = ++p;
        for (; p < end && (unsigned)(*p - '0') < 10; p++) m = m * 10 + (uint64_t)(*p - '0');
        e10 = -(int)(p - f);
        nd += (int)(p - f);
    }
    if (nd == 0 || nd > 19) return NULL; /* 19 digits cannot overflow 64 bits */
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, ex = 0;
        if (p < end && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        const char *d = p;
        for (; p < end && (unsigned)(*p - '0') < 10 && p - d < 6; p++) ex = ex * 10 + (*p - '0');
        if (p == d || (p < end && (unsigned)(*p - '0') < 10)) return NULL;
        e10 += eneg ? -ex : ex;
    }
    double x;
    if (m == 0) {
        x = 0.0;
    } else {
        if (m > ((uint64_t)1 << 53) || e10 < -22 || e10 > 22) return NULL;
        x = (double)m;
        x = e10 < 0 ? x / pow10_exact[-e10] : x * pow10_exact[e10];
    }
    *v = neg ? -x : x;
    return p;
}

/* 0 number (finite or not, in *v; *range set when a finite literal overflows a double),
 * 1 not a number. */
static int parse_cell(const char *s, size_t n, double *v, int *range)
{
    *range = 0;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    if (n == 0 || n > CELL_MAX) return 1;
    if (fast_num(s, s + n, v) == s + n) return 0;
    char buf[CELL_MAX + 1];
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* strtod skips leading blanks and accepts hex; keep to decimal forms and nan/inf */
    if (is_blank(buf[0]) || buf[0] == '\n' || buf[0] == '\r') return 1;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 'x' || buf[i] == 'X' || buf[i] == '(') return 1;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf + n) return 1;
    *range = errno == ERANGE && isinf(d);
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

/* ---- lines ----
 * A line ends at "\n", "\r\n" or a lone "\r" (old Mac files), so CR-only files with blank
 * separator lines split into the same rows as their LF form. */

/* Finds the end of the line starting at s in [s, s+n): *len its length, *term the bytes of its
 * terminator (0 at the end of the text).  Returns 0 when the line is not complete yet: no
 * terminator before n, or a '\r' as the last byte (a '\n' may follow) while more text is to
 * come (!eof). */
static int next_line(const char *s, size_t n, int eof, size_t *len, size_t *term)
{
    size_t from = 0, win = 128;
    for (;;) {
        size_t w = n - from < win ? n - from : win;
        const char *lf = memchr(s + from, '\n', w);
        size_t lim = lf ? (size_t)(lf - s) - from : w;
        const char *cr = memchr(s + from, '\r', lim);
        if (cr) {
            size_t at = (size_t)(cr - s);
            if (at + 1 == n && !eof) return 0;
            *len = at;
            *term = at + 1 < n && s[at + 1] == '\n' ? 2 : 1;
            return 1;
        }
        if (lf) {
            *len = (size_t)(lf - s);
            *term = 1;
            return 1;
        }
        from += w;
        if (from >= n) break;
        if (win < ((size_t)1 << 16)) win *= 2;
    }
    if (!eof) return 0;
    *len = n;
    *term = 0;
    return 1;
}

/* Bounds of the data on a line: comment cut, blanks trimmed.  Returns 0 for a line without
 * data (blank or comment only). */
static int line_data(const char *s, size_t n, size_t *b, size_t *e)
{
    size_t i = 0;
    while (i < n && is_blank(s[i])) i++;
    if (i == n || s[i] == '#') return 0;
    const char *hash = memchr(s + i, '#', n - i);
    if (hash) n = (size_t)(hash - s);
    while (n > i && is_blank(s[n - 1])) n--;
    *b = i;
    *e = n;
    return 1;
}

typedef struct {
    const char *name;
    const nf_read_opts *o;
    int pass;           /* 1 count data lines, 2 parse */
    long line;          /* lines seen */
    size_t data_lines;  /* pass 1: lines with data; pass 2: lines with data seen so far */
    size_t total_lines; /* pass 2: data_lines of pass 1 */
    int bom_checked;
    char sep;           /* ',' or ' ' (runs of blanks and tabs); 0 until the first line */
    int cols;           /* 0 until known */
    int cols_line;      /* line that fixed the column count */
    int header_line;
    size_t rows;
    nf_mat *M;
    cell *cells;        /* first-line and error-path splitting */
    size_t cells_cap;
} csv_state;

static nf_status ensure_cells(csv_state *st, size_t need)
{
    if (need <= st->cells_cap) return NF_OK;
    cell *c = realloc(st->cells, need * sizeof *c);
    if (!c) return nf_fail(NF_ENOMEM, "%s:%ld: cannot allocate %zu cells", st->name, st->line, need);
    st->cells = c;
    st->cells_cap = need;
    return NF_OK;
}

/* Splits a whole line into st->cells; returns the count (cells past COLS_MAX are counted, not
 * stored). */
static nf_status split_line(csv_state *st, const char *s, size_t n, size_t *count)
{
    size_t need = 1;
    for (size_t i = 0; i < n && need <= COLS_MAX; i++) need += s[i] == ',' || is_blank(s[i]);
    if (need > COLS_MAX) need = COLS_MAX;
    nf_status e = ensure_cells(st, need);
    if (e) return e;
    int more;
    *count = split_cells(s, n, st->sep, st->cells, st->cells_cap, &more);
    if (*count > COLS_MAX)
        return nf_fail(NF_EFORMAT, "%s:%ld: %zu columns, more than the limit of %d", st->name,
                       st->line, *count, COLS_MAX);
    return NF_OK;
}

static nf_status columns_error(csv_state *st, size_t count)
{
    return nf_fail(NF_EFORMAT, "%s:%ld: %zu column%s, expected %d (as on line %d)", st->name, st->line,
                   count, count == 1 ? "" : "s", st->cols, st->cols_line);
}

static nf_status cell_error(csv_state *st, const char *s, size_t n, size_t c)
{
    char q[64];
    double v;
    int range;
    if (n == 0)
        return nf_fail(NF_EFORMAT, "%s:%ld: column %zu is empty, expected a number", st->name, st->line, c + 1);
    quote_cell(s, n, q, sizeof q);
    if (parse_cell(s, n, &v, &range))
        return nf_fail(NF_EFORMAT, "%s:%ld: column %zu: '%s' is not a number", st->name, st->line, c + 1, q);
    return nf_fail(NF_ENONFINITE, "%s:%ld: column %zu: %s '%s' (NaN/Inf are refused unless non-finite "
                   "values are allowed, --allow-nonfinite)", st->name, st->line, c + 1,
                   range || isfinite(v) ? "value outside float32 range" : "non-finite value", q);
}

/* One cell into *out; nonzero (with the message left to cell_error) when it is not accepted. */
static inline int take_cell(const csv_state *st, const char *s, size_t n, float *out)
{
    double v;
    int range;
    if (n == 0 || parse_cell(s, n, &v, &range)) return 1;
    float f = (float)v;
    if (!isfinite(f) && !st->o->allow_nonfinite) return 1;
    *out = f;
    return 0;
}

/* A cell was refused: a row with the wrong column count is reported as that first. */
static nf_status bad_cell(csv_state *st, const char *line, size_t n, const char *s, size_t len, size_t c)
{
    size_t count;
    nf_status x = split_line(st, line, n, &count);
    if (x) return x;
    if (count != (size_t)st->cols) return columns_error(st, count);
    return cell_error(st, s, len, c);
}

/* Parses the data of one line into row r of the matrix. */
static nf_status parse_row(csv_state *st, const char *s, size_t n, float *row)
{
    const size_t cols = (size_t)st->cols;
    size_t c = 0, i = 0;
    if (st->sep == ' ') {
        for (;;) {
            while (i < n && is_blank(s[i])) i++;
            if (i >= n) break;
            size_t b = i;
            while (i < n && !is_blank(s[i])) i++;
            if (c >= cols) {
                c++;
                break;
            }
            if (take_cell(st, s + b, i - b, &row[c])) return bad_cell(st, s, n, s + b, i - b, c);
            c++;
        }
    } else {
        for (;;) {
            size_t b = i;
            const char *comma = memchr(s + i, ',', n - i);
            i = comma ? (size_t)(comma - s) : n;
            size_t e = i;
            while (b < e && is_blank(s[b])) b++;
            while (e > b && is_blank(s[e - 1])) e--;
            if (c >= cols) {
                c++;
                break;
            }
            if (take_cell(st, s + b, e - b, &row[c])) return bad_cell(st, s, n, s + b, e - b, c);
            c++;
            if (i >= n) break;
            i++;
        }
    }
    if (c != cols) {
        size_t count;
        nf_status x = split_line(st, s, n, &count);
        return x ? x : columns_error(st, count);
    }
    return NF_OK;
}

/* The common case of parse_row: every cell a plain decimal number (fast_num), separated as the
 * dialect says.  Returns 0 when the row was read, 1 to leave the line to parse_row (which also
 * produces every message), so the two agree on every row this one accepts. */
static int fast_row(const csv_state *st, const char *p, const char *end, float *row)
{
    const int cols = st->cols;
    const int comma = st->sep == ',';
    for (int c = 0; c < cols; c++) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        double v;
        const char *q = fast_num(p, end, &v);
        if (!q) return 1;
        row[c] = (float)v; /* finite: at most 2^53 · 1e22 */
        p = q;
        if (comma) {
            while (p < end && (*p == ' ' || *p == '\t')) p++;
            if (c + 1 < cols) {
                if (p == end || *p != ',') return 1;
                p++;
            }
        } else if (c + 1 < cols) {
            if (p == end || (*p != ' ' && *p != '\t')) return 1;
        } else {
            while (p < end && (*p == ' ' || *p == '\t')) p++;
        }
    }
    return !(p == end || *p == '#');
}

/* The first line with data: decides the separator and whether it is a header. */
static nf_status first_line(csv_state *st, const char *s, size_t n, int *was_header)
{
    st->sep = memchr(s, ',', n) ? ',' : ' ';
    size_t count;
    nf_status e = split_line(st, s, n, &count);
    if (e) return e;
    size_t numeric = 0;
    double v;
    int range;
    for (size_t c = 0; c < count; c++) numeric += !parse_cell(st->cells[c].s, st->cells[c].n, &v, &range);
    int header = st->o->header;
    if (header < 0) header = numeric == 0;
    st->cols = (int)count;
    st->cols_line = (int)st->line;
    *was_header = header;
    if (header) st->header_line = (int)st->line;
    return NF_OK;
}

/* Pass 2: one line with data. */
static nf_status data_line(csv_state *st, const char *s, size_t n)
{
    st->data_lines++;
    if (st->data_lines == 1) {
        int header;
        nf_status e = first_line(st, s, n, &header);
        if (e || header) return e;
    }
    if (!st->M->data) { /* first data row: the matrix gets its final size */
        size_t rows = st->total_lines - (st->data_lines - 1);
        if (rows > 2147483647u)
            return nf_fail(NF_EFORMAT, "%s: %zu data rows, more than 2^31-1", st->name, rows);
        nf_status e = nf_mat_alloc(st->M, (int)rows, st->cols);
        if (e) return nf_fail(e, "%s: %zu rows × %d columns do not fit in memory", st->name, rows, st->cols);
    }
    if (st->rows >= (size_t)st->M->rows)
        return nf_fail(NF_EIO, "%s:%ld: the file changed while it was read", st->name, st->line);
    nf_status e = parse_row(st, s, n, st->M->data + st->rows * (size_t)st->cols);
    if (e) return e;
    st->rows++;
    return NF_OK;
}

/* Pass 2, the common case: a data row (not the first data line) read by fast_row straight
 * into the matrix. */
static inline int fast_line(csv_state *st, const char *s, size_t len)
{
    if (st->data_lines == 0 || !st->M->data || st->rows >= (size_t)st->M->rows) return 1;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == len || s[i] == '#') return 1; /* no data, or a comment: the general path */
    if (fast_row(st, s + i, s + len, st->M->data + st->rows * (size_t)st->cols)) return 1;
    st->data_lines++;
    st->rows++;
    return 0;
}

/* Handles the complete lines in buf[0..n); *used gets the bytes consumed (the rest is an
 * unfinished line when !eof). */
static nf_status scan(csv_state *st, const char *buf, size_t n, int eof, size_t *used)
{
    size_t pos = 0;
    nf_status e = NF_OK;
    if (!st->bom_checked) {
        if (n < 3 && !eof) {
            *used = 0;
            return NF_OK;
        }
        st->bom_checked = 1;
        if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3; /* UTF-8 byte order mark */
    }
    size_t len, term, b, end;
    while (pos < n && !e && next_line(buf + pos, n - pos, eof, &len, &term)) {
        const char *s = buf + pos;
        st->line++;
        pos += len + term;
        if (st->pass == 2 && !fast_line(st, s, len)) continue;
        if (!line_data(s, len, &b, &end)) continue;
        if (st->pass == 1) st->data_lines++;
        else e = data_line(st, s + b, end - b);
    }
    *used = pos;
    return e;
}

static nf_status finish(csv_state *st)
{
    free(st->cells);
    st->cells = NULL;
    if (st->rows == 0) {
        nf_mat_free(st->M);
        if (st->header_line)
            return nf_fail(NF_EFORMAT, "%s:%d: header line but no data rows after it", st->name, st->header_line);
        return nf_fail(NF_EFORMAT, "%s: no data rows (only blank or comment lines), expected rows of "
                       "numbers", st->name);
    }
    st->M->rows = (int)st->rows; /* fewer only when the file shrank between the passes */
    return NF_OK;
}

static void state_init(csv_state *st, const char *name, const nf_read_opts *o, nf_mat *M)
{
    memset(st, 0, sizeof *st);
    st->name = name;
    st->o = o;
    st->M = M;
}

nf_status nf_csv_parse(const char *buf, size_t len, const char *name, const nf_read_opts *o,
                       nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    if (len == 0) return nf_fail(NF_EFORMAT, "%s: empty file, expected rows of numbers", name);
    csv_state st;
    state_init(&st, name, o, M);
    size_t used;
    st.pass = 1;
    nf_status e = scan(&st, buf, len, 1, &used);
    if (e) return e;
    st.total_lines = st.data_lines;
    st.data_lines = 0;
    st.line = 0;
    st.bom_checked = 0;
    st.pass = 2;
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    e = scan(&st, buf, len, 1, &used);
    nf_c_locale_pop(&loc);
    if (e) {
        free(st.cells);
        nf_mat_free(M);
        return e;
    }
    return finish(&st);
}

/* One pass over an open file in blocks. */
static nf_status scan_fd(csv_state *st, int fd, char **buf, size_t *cap, size_t *bytes)
{
    size_t have = 0;
    *bytes = 0;
    for (;;) {
        if (have == *cap) { /* a line longer than the block */
            if (*cap > NF_DATA_MAX_BYTES)
                return nf_fail(NF_EFORMAT, "%s:%ld: line longer than %zu bytes", st->name, st->line + 1, *cap);
            char *nb = realloc(*buf, *cap * 2);
            if (!nb) return nf_fail(NF_ENOMEM, "%s:%ld: cannot allocate %zu bytes for one line", st->name,
                                    st->line + 1, *cap * 2);
            *buf = nb;
            *cap *= 2;
        }
        ssize_t got = read(fd, *buf + have, *cap - have);
        if (got < 0) {
            if (errno == EINTR) continue;
            return nf_fail(NF_EIO, "%s: read error: %s", st->name, strerror(errno));
        }
        have += (size_t)got;
        *bytes += (size_t)got;
        const int eof = got == 0;
        size_t used;
        nf_status e = scan(st, *buf, have, eof, &used);
        if (e) return e;
        if (eof) return NF_OK;
        memmove(*buf, *buf + used, have - used);
        have -= used;
    }
}

nf_status nf_csv_read_file(const char *path, const nf_read_opts *o, nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return nf_fail(NF_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        /* a pipe or device cannot be read twice: whole into memory (nf_file_read names a
         * directory as such) */
        close(fd);
        unsigned char *text;
        size_t len;
        nf_status e = nf_file_read(path, NF_DATA_MAX_BYTES, &text, &len);
        if (e) return e;
        e = nf_csv_parse((const char *)text, len, path, o, M);
        free(text);
        return e;
    }
    if ((unsigned long long)sb.st_size > NF_DATA_MAX_BYTES) {
        close(fd);
        return nf_fail(NF_EFORMAT, "%s: %lld bytes, larger than the %zu-byte limit", path,
                       (long long)sb.st_size, NF_DATA_MAX_BYTES);
    }
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    size_t cap = CHUNK, bytes = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return nf_fail(NF_ENOMEM, "%s: cannot allocate a %zu-byte read buffer", path, cap);
    }
    csv_state st;
    state_init(&st, path, o, M);
    st.pass = 1;
    nf_status e = scan_fd(&st, fd, &buf, &cap, &bytes);
    if (!e && bytes == 0) e = nf_fail(NF_EFORMAT, "%s: empty file, expected rows of numbers", path);
    if (!e && lseek(fd, 0, SEEK_SET) != 0) e = nf_fail(NF_EIO, "%s: cannot rewind: %s", path, strerror(errno));
    if (!e) {
        st.total_lines = st.data_lines;
        st.data_lines = 0;
        st.line = 0;
        st.bom_checked = 0;
        st.pass = 2;
        nf_c_locale loc;
        nf_c_locale_push(&loc);
        e = scan_fd(&st, fd, &buf, &cap, &bytes);
        nf_c_locale_pop(&loc);
    }
    free(buf);
    close(fd);
    if (e) {
        free(st.cells);
        nf_mat_free(M);
        return e;
    }
    return finish(&st);
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

nf_status nf_csv_write(FILE *f, const nf_mat *M, const char *const *header)
{
    if (header)
        for (int c = 0; c < M->cols; c++) {
            if (c) fputc(',', f);
            fputs(header[c], f);
        }
    if (header) fputc('\n', f);
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    char line[4096];
    for (size_t r = 0; r < (size_t)M->rows; r++) {
        size_t k = 0;
        for (size_t c = 0; c < (size_t)M->cols; c++) {
            if (k > sizeof line - 32) { /* "%.9g" is at most 15 bytes */
                fwrite(line, 1, k, f);
                k = 0;
            }
            if (c) line[k++] = ',';
            int w = snprintf(line + k, sizeof line - k, "%.9g", (double)M->data[r * (size_t)M->cols + c]);
            if (w > 0) k += (size_t)w;
        }
        line[k++] = '\n';
        fwrite(line, 1, k, f);
    }
    nf_c_locale_pop(&loc);
    return ferror(f) ? nf_fail(NF_EIO, "write error") : NF_OK;
}
