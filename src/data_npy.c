/* data_npy.c — NumPy .npy reading and writing (see data.h for what is accepted). */
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

static int host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

typedef struct {
    const char *p, *end; /* header text */
    const char *base;    /* start of the file, for offsets */
} hdr;

static void skip_ws(hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}

static size_t off(const hdr *h) { return (size_t)(h->p - h->base); }

/* Reads a quoted string into out (at most cap-1 chars). 0 ok. */
static int read_str(hdr *h, char *out, size_t cap)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return 1;
    char q = *h->p++;
    size_t k = 0;
    while (h->p < h->end && *h->p != q) {
        if (k + 1 >= cap) return 1;
        out[k++] = *h->p++;
    }
    if (h->p >= h->end) return 1;
    h->p++;
    out[k] = '\0';
    return 0;
}

static int accept(hdr *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

static int accept_word(hdr *h, const char *w)
{
    skip_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) >= n && !memcmp(h->p, w, n)) {
        h->p += n;
        return 1;
    }
    return 0;
}

typedef struct {
    int have_descr, have_order, have_shape;
    char descr[32];
    int fortran;
    int ndim;
    uint64_t shape[2];
} npy_header;

static nf_status parse_dict(hdr *h, const char *name, npy_header *out)
{
    if (!accept(h, '{'))
        return nf_fail(NF_EFORMAT, "%s: byte %zu: expected '{' starting the header dict", name, off(h));
    for (;;) {
        if (accept(h, '}')) break;
        char key[32];
        size_t at = off(h);
        if (read_str(h, key, sizeof key))
            return nf_fail(NF_EFORMAT, "%s: byte %zu: expected a quoted key or '}' in the header", name, at);
        if (!accept(h, ':'))
            return nf_fail(NF_EFORMAT, "%s: byte %zu: expected ':' after key '%s'", name, off(h), key);
        if (!strcmp(key, "descr")) {
            at = off(h);
            if (read_str(h, out->descr, sizeof out->descr))
                return nf_fail(NF_EFORMAT, "%s: byte %zu: 'descr' must be a dtype string like '<f4' "
                               "(structured dtypes are not supported)", name, at);
            out->have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (accept_word(h, "True")) out->fortran = 1;
            else if (accept_word(h, "False")) out->fortran = 0;
            else return nf_fail(NF_EFORMAT, "%s: byte %zu: 'fortran_order' must be True or False", name, off(h));
            out->have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!accept(h, '('))
                return nf_fail(NF_EFORMAT, "%s: byte %zu: 'shape' must be a tuple", name, off(h));
            out->ndim = 0;
            for (;;) {
                if (accept(h, ')')) break;
                skip_ws(h);
                at = off(h);
                if (h->p >= h->end || *h->p < '0' || *h->p > '9')
                    return nf_fail(NF_EFORMAT, "%s: byte %zu: expected a dimension in 'shape'", name, at);
                uint64_t v = 0;
                while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
                    unsigned d = (unsigned)(*h->p++ - '0');
                    if (v > (UINT64_MAX - d) / 10)
                        return nf_fail(NF_EFORMAT, "%s: byte %zu: dimension in 'shape' overflows", name, at);
                    v = v * 10 + d;
                }
                if (accept(h, 'L')) { /* Python 2 long suffix */ }
                if (out->ndim >= 2)
                    return nf_fail(NF_EUNSUPPORTED, "%s: byte %zu: array has more than 2 dimensions, "
                                   "expected 1-D or 2-D", name, at);
                out->shape[out->ndim++] = v;
                if (accept(h, ',')) continue;
                if (accept(h, ')')) break;
                return nf_fail(NF_EFORMAT, "%s: byte %zu: expected ',' or ')' in 'shape'", name, off(h));
            }
            out->have_shape = 1;
        } else {
            return nf_fail(NF_EFORMAT, "%s: byte %zu: unexpected header key '%s' (expected descr, "
                           "fortran_order, shape)", name, at, key);
        }
        if (accept(h, ',')) continue;
        if (accept(h, '}')) break;
        return nf_fail(NF_EFORMAT, "%s: byte %zu: expected ',' or '}' in the header dict", name, off(h));
    }
    skip_ws(h); /* numpy evaluates the header as a Python literal: only padding may follow */
    if (h->p < h->end) {
        const char *e = h->end; /* quoted without the padding after it */
        while (e > h->p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
        char q[96];
        size_t k = 0;
        for (const char *c = h->p; c < e && c - h->p < 20 && k + 5 < sizeof q; c++) {
            unsigned char u = (unsigned char)*c;
            if (u < 32 || u >= 127) k += (size_t)snprintf(q + k, sizeof q - k, "\\x%02x", u);
            else q[k++] = (char)u;
        }
        q[k] = '\0';
        return nf_fail(NF_EFORMAT, "%s: byte %zu: '%s' after the header dict's '}', expected only spaces "
                       "and a newline", name, off(h), q);
    }
    if (!out->have_descr || !out->have_order || !out->have_shape)
        return nf_fail(NF_EFORMAT, "%s: header lacks '%s'", name,
                       !out->have_descr ? "descr" : !out->have_order ? "fortran_order" : "shape");
    return NF_OK;
}

/* What the header says: element type, shape and where the data starts. */
typedef struct {
    int little, fortran;
    size_t item;        /* 4 or 8 */
    uint64_t rows, cols;
    size_t data0;       /* offset of the first data byte */
} npy_info;

/* Parses the magic, version, header length and header dict of buf[0..len) (len may stop at the
 * end of the header: the data is not looked at). */
static nf_status npy_read_header(const unsigned char *buf, size_t len, const char *name, npy_info *out)
{
    if (len == 0) return nf_fail(NF_EFORMAT, "%s: empty file, expected a .npy array", name);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        return nf_fail(NF_EFORMAT, "%s: byte 0: not a .npy file (expected the magic \\x93NUMPY and "
                       "a version)", name);
    unsigned major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return nf_fail(NF_EFORMAT, "%s: byte %zu: truncated header length", name, len);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return nf_fail(NF_EUNSUPPORTED, "%s: byte 6: .npy format version %u.%u, expected 1.x, 2.x or 3.x",
                       name, major, buf[7]);
    }
    if (hlen > len - hstart)
        return nf_fail(NF_EFORMAT, "%s: byte %zu: header of %zu bytes runs past the end of the "
                       "%zu-byte file (truncated)", name, hstart, hlen, len);
    hdr h = {(const char *)buf + hstart, (const char *)buf + hstart + hlen, (const char *)buf};
    npy_header nh = {0};
    nf_status st = parse_dict(&h, name, &nh);
    if (st) return st;
    const char *d = nh.descr;
    if ((d[0] == '<' || d[0] == '>' || d[0] == '=') && d[1] == 'f' && (d[2] == '4' || d[2] == '8') &&
        d[3] == '\0') {
        out->little = d[0] == '<' || (d[0] == '=' && host_little());
        out->item = d[2] == '4' ? 4 : 8;
    } else {
        return nf_fail(NF_EUNSUPPORTED, "%s: dtype '%.20s' is not supported, expected float32 or "
                       "float64 ('<f4', '>f4', '<f8', '>f8')", name, d);
    }
    if (nh.ndim == 0)
        return nf_fail(NF_EUNSUPPORTED, "%s: array is a 0-d scalar, expected 1-D or 2-D", name);
    out->rows = nh.shape[0];
    out->cols = nh.ndim == 2 ? nh.shape[1] : 1;
    out->fortran = nh.fortran;
    out->data0 = hstart + hlen;
    if (out->rows > 2147483647u || out->cols > 2147483647u ||
        (out->cols && out->rows > SIZE_MAX / out->cols / out->item))
        return nf_fail(NF_EFORMAT, "%s: shape (%llu, %llu) is too large (size overflows): it would need "
                       "%.4g data bytes, and nnfit reads at most 2^31-1 rows and columns", name,
                       (unsigned long long)out->rows, (unsigned long long)out->cols,
                       (double)out->rows * (double)out->cols * (double)out->item);
    return NF_OK;
}

nf_status nf_npy_parse(const unsigned char *buf, size_t len, const char *name,
                       const nf_read_opts *o, nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    npy_info ni;
    nf_status st = npy_read_header(buf, len, name, &ni);
    if (st) return st;
    const int little = ni.little;
    const size_t item = ni.item;
    const uint64_t rows = ni.rows, cols = ni.cols;
    size_t count = (size_t)rows * (size_t)cols, need = count * item, data0 = ni.data0;
    size_t have = len - data0;
    if (have < need)
        return nf_fail(NF_EFORMAT, "%s: byte %zu: shape (%llu, %llu) needs %zu data bytes but the "
                       "file has %zu (truncated or header lies)", name, data0,
                       (unsigned long long)rows, (unsigned long long)cols, need, have);
    if (have > need)
        return nf_fail(NF_EFORMAT, "%s: byte %zu: %zu bytes after the data of shape (%llu, %llu), "
                       "expected none", name, data0 + need, have - need,
                       (unsigned long long)rows, (unsigned long long)cols);
    if (count == 0)
        return nf_fail(NF_EFORMAT, "%s: array is empty (shape (%llu, %llu)), expected at least one "
                       "value", name, (unsigned long long)rows, (unsigned long long)cols);
    st = nf_mat_alloc(M, (int)rows, (int)cols);
    if (st) return st;
    const unsigned char *p = buf + data0;
    for (size_t i = 0; i < count; i++, p += item) {
        unsigned char b[8];
        for (size_t k = 0; k < item; k++) b[k] = little == host_little() ? p[k] : p[item - 1 - k];
        float f;
        double dv = 0.0;
        if (item == 4) {
            memcpy(&f, b, 4);
        } else {
            memcpy(&dv, b, 8);
            f = (float)dv;
        }
        if (!isfinite(f) && !o->allow_nonfinite) {
            size_t r = ni.fortran ? i % (size_t)rows : i / (size_t)cols;
            size_t c = ni.fortran ? i / (size_t)rows : i % (size_t)cols;
            nf_status e = nf_fail(NF_ENONFINITE, "%s: byte %zu (row %zu, column %zu): %s (NaN/Inf "
                                  "are refused unless non-finite values are allowed, --allow-nonfinite)",
                                  name, (size_t)(p - buf), r + 1, c + 1,
                                  item == 8 && isfinite(dv) ? "value outside float32 range" : "non-finite value");
            nf_mat_free(M);
            return e;
        }
        if (ni.fortran) M->data[(i % (size_t)rows) * (size_t)cols + i / (size_t)rows] = f;
        else M->data[i] = f;
    }
    return NF_OK;
}

nf_status nf_npy_format(const nf_mat *M, unsigned char **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    char dict[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                      M->rows, M->cols);
    size_t hl = (size_t)dl + 1; /* + '\n' */
    size_t total_hdr = (10 + hl + 63) / 64 * 64;
    size_t count = nf_mat_size(M);
    if (count > (SIZE_MAX - total_hdr) / 4) return nf_fail(NF_ENOMEM, ".npy would be too large");
    size_t n = total_hdr + count * 4;
    unsigned char *b = malloc(n);
    if (!b) return nf_fail(NF_ENOMEM, "cannot allocate %zu bytes for .npy", n);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    size_t h = total_hdr - 10;
    b[8] = (unsigned char)(h & 0xff);
    b[9] = (unsigned char)(h >> 8);
    memset(b + 10, ' ', h);
    memcpy(b + 10, dict, (size_t)dl);
    b[total_hdr - 1] = '\n';
    unsigned char *p = b + total_hdr;
    int swap = !host_little();
    for (size_t i = 0; i < count; i++, p += 4) {
        unsigned char t[4];
        memcpy(t, &M->data[i], 4);
        for (int k = 0; k < 4; k++) p[k] = swap ? t[3 - k] : t[k];
    }
    *bytes = b;
    *len = n;
    return NF_OK;
}

nf_status nf_npy_write(FILE *f, const nf_mat *M)
{
    char dict[128];
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                      M->rows, M->cols);
    size_t total_hdr = (10 + (size_t)dl + 1 + 63) / 64 * 64, h = total_hdr - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
    fwrite(pre, 1, sizeof pre, f);
    fwrite(dict, 1, (size_t)dl, f);
    for (size_t i = (size_t)dl; i + 1 < h; i++) fputc(' ', f);
    fputc('\n', f);
    size_t count = nf_mat_size(M);
    if (host_little()) {
        fwrite(M->data, sizeof(float), count, f);
    } else {
        for (size_t i = 0; i < count; i++) {
            unsigned char t[4], b[4];
            memcpy(t, &M->data[i], 4);
            for (int k = 0; k < 4; k++) b[k] = t[3 - k];
            fwrite(b, 1, 4, f);
        }
    }
    return ferror(f) ? nf_fail(NF_EIO, "write error") : NF_OK;
}

/* Reads len bytes at offset `at` of fd (short reads retried). */
static nf_status pread_all(int fd, void *buf, size_t len, off_t at, const char *name)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return nf_fail(NF_EIO, "%s: cannot read %zu bytes at byte %lld: %s", name, len, (long long)at,
                           r < 0 ? strerror(errno) : "file ended (changed while being read?)");
        p += r;
        len -= (size_t)r;
        at += r;
    }
    return NF_OK;
}

/* Opens path and parses its header; checks the file is exactly header + data long. */
static nf_status npy_open(const char *path, int *fd_out, npy_info *ni)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return nf_fail(NF_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    nf_status st = NF_OK;
    if (fstat(fd, &sb) != 0) st = nf_fail(NF_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = nf_fail(NF_EIO, "%s: not a regular file", path);
    unsigned char pre[12] = {0}, *head = NULL;
    const size_t size = st ? 0 : (size_t)sb.st_size;
    if (!st) st = pread_all(fd, pre, size < 12 ? size : 12, 0, path);
    if (!st && size < 12) st = npy_read_header(pre, size, path, ni); /* says what a short file lacks */
    if (!st && size >= 12) {
        size_t hlen = pre[6] == 1 ? ((size_t)pre[8] | (size_t)pre[9] << 8) + 10
                                  : ((size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                                     (size_t)pre[11] << 24) + 12;
        if (hlen > size) hlen = size; /* npy_read_header names the truncation */
        if (!(head = malloc(hlen))) st = nf_fail(NF_ENOMEM, "%s: cannot allocate the header", path);
        if (!st) st = pread_all(fd, head, hlen, 0, path);
        if (!st) st = npy_read_header(head, hlen, path, ni);
    }
    free(head);
    if (!st) {
        const size_t need = (size_t)ni->rows * (size_t)ni->cols * ni->item, have = size - ni->data0;
        if (have != need)
            st = nf_fail(NF_EFORMAT, "%s: byte %zu: shape (%llu, %llu) needs %zu data bytes but the file has %zu",
                         path, ni->data0, (unsigned long long)ni->rows, (unsigned long long)ni->cols, need, have);
        else if (need == 0)
            st = nf_fail(NF_EFORMAT, "%s: array is empty (shape (%llu, %llu)), expected at least one value", path,
                         (unsigned long long)ni->rows, (unsigned long long)ni->cols);
    }
    if (st) {
        close(fd);
        return st;
    }
    *fd_out = fd;
    return NF_OK;
}

nf_status nf_npy_shape(const char *path, long *rows, long *cols)
{
    int fd;
    npy_info ni;
    nf_status st = npy_open(path, &fd, &ni);
    if (st) return st;
    close(fd);
    *rows = (long)ni.rows;
    *cols = (long)ni.cols;
    return NF_OK;
}

nf_status nf_npy_read_rows(const char *path, const nf_read_opts *o, long row0, long n, nf_mat *M)
{
    nf_read_opts def;
    o = nf_read_begin(o, &def, M);
    int fd;
    npy_info ni;
    nf_status st = npy_open(path, &fd, &ni);
    if (st) return st;
    const long rows = (long)ni.rows, cols = (long)ni.cols;
    if (row0 < 0 || n < 1 || row0 > rows - n) {
        close(fd);
        return nf_fail(NF_EINVAL, "%s: rows %ld..%ld asked for, but the file has %ld rows", path, row0 + 1, row0 + n,
                       rows);
    }
    const size_t item = ni.item, count = (size_t)n * (size_t)cols;
    unsigned char *raw = malloc(count * item);
    if (!raw) st = nf_fail(NF_ENOMEM, "%s: cannot allocate %zu bytes for rows %ld..%ld", path, count * item,
                           row0 + 1, row0 + n);
    if (!st) st = nf_mat_alloc(M, (int)n, (int)cols);
    /* C order: one contiguous range; Fortran order: the rows' stretch of every column */
    if (!st && !ni.fortran)
        st = pread_all(fd, raw, count * item, (off_t)(ni.data0 + (size_t)row0 * (size_t)cols * item), path);
    for (long c = 0; !st && ni.fortran && c < cols; c++)
        st = pread_all(fd, raw + (size_t)c * (size_t)n * item, (size_t)n * item,
                       (off_t)(ni.data0 + ((size_t)c * (size_t)rows + (size_t)row0) * item), path);
    close(fd);
    const unsigned char *p = raw;
    for (size_t i = 0; !st && i < count; i++, p += item) {
        unsigned char b[8];
        for (size_t k = 0; k < item; k++) b[k] = ni.little == host_little() ? p[k] : p[item - 1 - k];
        float f;
        double dv = 0.0;
        if (item == 4) {
            memcpy(&f, b, 4);
        } else {
            memcpy(&dv, b, 8);
            f = (float)dv;
        }
        const size_t r = ni.fortran ? i % (size_t)n : i / (size_t)cols, c = ni.fortran ? i / (size_t)n : i % (size_t)cols;
        if (!isfinite(f) && !o->allow_nonfinite)
            st = nf_fail(NF_ENONFINITE, "%s: row %ld, column %zu: %s (NaN/Inf are refused unless non-finite values "
                         "are allowed, --allow-nonfinite)", path, row0 + (long)r + 1, c + 1,
                         item == 8 && isfinite(dv) ? "value outside float32 range" : "non-finite value");
        else M->data[r * (size_t)cols + c] = f;
    }
    free(raw);
    if (st) nf_mat_free(M);
    return st;
}
