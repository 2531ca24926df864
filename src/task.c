/* task.c — built-in tasks: generators and exact operators. */
#include "nnfit/task.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_locale.h"
#include "nnfit/rng.h"
#include "task_taps.h"

static const char *const names[NF_TASK_COUNT] = {"abs", "fir", "dft", "spectrum", "teacher"};

const char *nf_task_name(nf_task_kind kind)
{
    return (unsigned)kind < NF_TASK_COUNT ? names[kind] : "?";
}

const char *nf_task_names(void) { return "abs, fir, dft, spectrum, teacher"; }

nf_status nf_task_parse(const char *name, nf_task_kind *kind)
{
    for (int k = 0; k < NF_TASK_COUNT; k++)
        if (!strcmp(name, names[k])) {
            *kind = (nf_task_kind)k;
            return NF_OK;
        }
    return nf_fail(NF_EINVAL, "unknown task '%s' (valid: %s)", name, nf_task_names());
}

const float *nf_task_default_taps(int *n_taps)
{
    *n_taps = 31;
    return nf_lowpass31;
}

void nf_task_defaults(nf_task_kind kind, nf_task_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->n_samples = kind == NF_TASK_TEACHER ? 8192 : 4096;
    cfg->frame = 64;
    cfg->k = 10;
    cfg->taps = nf_task_default_taps(&cfg->n_taps);
}

int nf_task_is_linear(nf_task_kind kind) { return kind == NF_TASK_FIR || kind == NF_TASK_DFT; }

static int dft_bins(const nf_task_config *c)
{
    return c->dft_complex || c->dft_full ? c->frame : c->frame / 2 + 1;
}

void nf_task_shape(const nf_task_config *c, int *n_in, int *n_out)
{
    switch (c->kind) {
    case NF_TASK_ABS: *n_in = 2; *n_out = 1; break;
    case NF_TASK_FIR:
        *n_in = c->fir_single ? c->n_taps : c->frame;
        *n_out = c->fir_single ? 1 : c->frame;
        break;
    case NF_TASK_DFT:
        *n_in = c->dft_complex ? 2 * c->frame : c->frame;
        *n_out = 2 * dft_bins(c);
        break;
    case NF_TASK_SPECTRUM: *n_in = c->frame; *n_out = c->frame / 2 + 1; break;
    case NF_TASK_TEACHER: *n_in = c->k; *n_out = 1; break;
    default: *n_in = *n_out = 0; break;
    }
}

void nf_task_default_layers(const nf_task_config *c, int *sizes, int *n_layers, nf_act_spec *hidden)
{
    int n_in, n_out;
    nf_task_shape(c, &n_in, &n_out);
    hidden->kind = NF_ACT_RELU;
    hidden->param = 0.0f;
    sizes[0] = n_in;
    if (c->kind == NF_TASK_ABS || c->kind == NF_TASK_TEACHER) {
        sizes[1] = c->kind == NF_TASK_ABS ? 3 : n_in;
        sizes[2] = 1;
        *n_layers = 2;
    } else if (c->kind == NF_TASK_SPECTRUM) {
        sizes[1] = 4 * n_in;
        sizes[2] = n_out;
        *n_layers = 2;
    } else {
        sizes[1] = n_out;
        *n_layers = 1;
    }
}

nf_status nf_task_validate(const nf_task_config *c)
{
    if ((unsigned)c->kind >= NF_TASK_COUNT) return nf_fail(NF_EINVAL, "unknown task %d", c->kind);
    if (c->n_samples < 1 || c->n_samples > (1 << 26))
        return nf_fail(NF_EINVAL, "sample count must be in 1..%d, got %d", 1 << 26, c->n_samples);
    if (c->kind == NF_TASK_TEACHER && (c->k < 1 || c->k > 4096))
        return nf_fail(NF_EINVAL, "teacher k must be in 1..4096, got %d", c->k);
    if (c->kind != NF_TASK_ABS && c->kind != NF_TASK_TEACHER && (c->frame < 1 || c->frame > 65536))
        return nf_fail(NF_EINVAL, "frame length must be in 1..65536, got %d", c->frame);
    if (c->kind == NF_TASK_FIR) {
        if (!c->taps || c->n_taps < 1 || c->n_taps > 65536)
            return nf_fail(NF_EINVAL, "fir needs 1..65536 taps, got %d", c->n_taps);
        if (nf_find_nonfinite(c->taps, (size_t)c->n_taps) < (size_t)c->n_taps)
            return nf_fail(NF_ENONFINITE, "fir taps contain NaN or Inf");
    }
    int n_in, n_out;
    nf_task_shape(c, &n_in, &n_out);
    if ((double)c->n_samples * (n_in + n_out) > 1e10)
        return nf_fail(NF_ENOMEM, "task data of %d × %d floats is too large", c->n_samples,
                       n_in + n_out);
    return NF_OK;
}

/* cos and sin of 2π·(k·n mod N)/N, exact argument reduction in integers. */
static void twiddle(long k, long n, long N, double *c, double *s)
{
    double a = 6.283185307179586476925 * (double)((k * n) % N) / (double)N;
    *c = cos(a);
    *s = sin(a);
}

/* Exact DFT operator rows into W [n_out, n_in] (double accumulation not needed: one term). */
static void dft_matrix(const nf_task_config *c, float *W)
{
    const long N = c->frame, K = dft_bins(c);
    const int n_in = c->dft_complex ? 2 * c->frame : c->frame;
    const double scale = c->orthonormal ? 1.0 / sqrt((double)N) : 1.0;
    for (long k = 0; k < K; k++) {
        float *re = W + (size_t)k * (size_t)n_in;
        float *im = W + (size_t)(k + K) * (size_t)n_in;
        for (long n = 0; n < N; n++) {
            double cs, sn;
            twiddle(k, n, N, &cs, &sn);
            /* X_k = Σ (a + ib)(cos − i sin) = Σ (a cos + b sin) + i(b cos − a sin) */
            re[n] = (float)(scale * cs);
            im[n] = (float)(-scale * sn);
            if (c->dft_complex) {
                re[N + n] = (float)(scale * sn);
                im[N + n] = (float)(scale * cs);
            }
        }
    }
}

nf_status nf_task_exact(const nf_task_config *c, nf_mat *W)
{
    nf_status st = nf_task_validate(c);
    if (st) return st;
    if (!nf_task_is_linear(c->kind))
        return nf_fail(NF_EUNSUPPORTED, "task '%s' has no exact linear operator", nf_task_name(c->kind));
    int n_in, n_out;
    nf_task_shape(c, &n_in, &n_out);
    st = nf_mat_alloc(W, n_out, n_in);
    if (st) return st;
    if (c->kind == NF_TASK_FIR) {
        if (c->fir_single) {
            memcpy(W->data, c->taps, (size_t)c->n_taps * sizeof(float));
        } else {
            for (int n = 0; n < n_out; n++)
                for (int m = 0; m <= n; m++)
                    if (n - m < c->n_taps) W->data[(size_t)n * (size_t)n_in + (size_t)m] = c->taps[n - m];
        }
    } else {
        dft_matrix(c, W->data);
    }
    return NF_OK;
}

/* Y[r] = W·X[r] in double, for the linear tasks and the spectrum. */
static void apply_rows(const float *W, int n_out, int n_in, const float *x, double *y)
{
    for (int o = 0; o < n_out; o++) {
        const float *w = W + (size_t)o * (size_t)n_in;
        double s = 0.0;
        for (int i = 0; i < n_in; i++) s += (double)w[i] * (double)x[i];
        y[o] = s;
    }
}

nf_status nf_task_generate(const nf_task_config *c, nf_mat *X, nf_mat *Y)
{
    X->data = Y->data = NULL;
    X->owned = Y->owned = 0;
    nf_status st = nf_task_validate(c);
    if (st) return st;
    int n_in, n_out;
    nf_task_shape(c, &n_in, &n_out);
    const int n = c->n_samples;
    st = nf_mat_alloc(X, n, n_in);
    if (!st) st = nf_mat_alloc(Y, n, n_out);
    if (st) {
        nf_mat_free(X);
        return st;
    }
    nf_rng rng;
    nf_rng_seed(&rng, c->seed);
    if (c->kind == NF_TASK_ABS) {
        for (int r = 0; r < n; r++) {
            double x = nf_rng_range(&rng, -1.0, 1.0), y = nf_rng_range(&rng, -1.0, 1.0);
            X->data[2 * r] = (float)x;
            X->data[2 * r + 1] = (float)y;
            /* target from the stored floats, so it is exact for the inputs the net sees */
            double fx = X->data[2 * r], fy = X->data[2 * r + 1];
            Y->data[r] = (float)sqrt(fx * fx + fy * fy);
        }
        return NF_OK;
    }
    for (size_t i = 0; i < nf_mat_size(X); i++) X->data[i] = (float)nf_rng_normal(&rng);
    if (c->kind == NF_TASK_TEACHER) {
        for (int r = 0; r < n; r++) {
            const float *x = X->data + (size_t)r * (size_t)n_in;
            double s = 0.0;
            for (int i = 0; i < n_in; i++) s += x[i] > 0.0f ? (double)x[i] : 0.0;
            Y->data[r] = (float)s;
        }
        return NF_OK;
    }
    /* Targets through the exact operator, accumulated in double. */
    nf_task_config lin = *c;
    int K = c->frame / 2 + 1;
    if (c->kind == NF_TASK_SPECTRUM) {
        lin.kind = NF_TASK_DFT;
        lin.dft_complex = lin.dft_full = 0;
    }
    nf_mat W;
    st = nf_task_exact(&lin, &W);
    if (st) {
        nf_mat_free(X);
        nf_mat_free(Y);
        return st;
    }
    double *y = malloc((size_t)W.rows * sizeof(double));
    if (!y) {
        nf_mat_free(&W);
        nf_mat_free(X);
        nf_mat_free(Y);
        return nf_fail(NF_ENOMEM, "cannot allocate task row");
    }
    for (int r = 0; r < n; r++) {
        apply_rows(W.data, W.rows, W.cols, X->data + (size_t)r * (size_t)n_in, y);
        float *out = Y->data + (size_t)r * (size_t)n_out;
        if (c->kind == NF_TASK_SPECTRUM)
            for (int k = 0; k < K; k++) out[k] = (float)sqrt(y[k] * y[k] + y[K + k] * y[K + k]);
        else
            for (int o = 0; o < n_out; o++) out[o] = (float)y[o];
    }
    free(y);
    nf_mat_free(&W);
    return NF_OK;
}

/* Token text for a message: control bytes as \xNN, cut after 40 bytes. */
static void quote_token(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        if (c < 32 || c >= 127) k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
        else out[k++] = (char)c;
    }
    out[k] = '\0';
}

static int taps_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One tap; 0 ok, else the status of the failure (message set). */
static nf_status parse_tap(const char *s, size_t n, const char *name, long line, float *out)
{
    char buf[400], q[200];
    int plain = n < sizeof buf; /* decimal forms only: no hex, no nan(...) payloads */
    for (size_t i = 0; plain && i < n; i++) plain = s[i] != 'x' && s[i] != 'X' && s[i] != '(' && s[i] != '\0';
    double v = 0.0;
    char *end = buf;
    if (plain) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        v = strtod(buf, &end);
    }
    quote_token(s, n, q, sizeof q);
    if (!plain || end != buf + n)
        return nf_fail(NF_EFORMAT, "%s:%ld: '%s' is not a number (taps are decimal numbers separated by "
                       "spaces, commas or newlines)", name, line, q);
    int literal_inf = errno != ERANGE;
    if (!isfinite(v) && literal_inf)
        return nf_fail(NF_ENONFINITE, "%s:%ld: tap '%s' is not a finite number", name, line, q);
    float f = (float)v;
    if (!isfinite(f))
        return nf_fail(NF_ENONFINITE, "%s:%ld: tap '%s' is outside float32 range (magnitude up to 3.4e38)",
                       name, line, q);
    *out = f;
    return NF_OK;
}

nf_status nf_task_parse_taps(const char *buf, size_t len, const char *name, float **taps, int *n_taps)
{
    *taps = NULL;
    *n_taps = 0;
    size_t cap = 64;
    int n = 0;
    float *t = malloc(cap * sizeof(float));
    if (!t) return nf_fail(NF_ENOMEM, "%s: cannot allocate taps", name);
    nf_status st = NF_OK;
    long line = 1;
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    for (size_t i = 0; i < len && !st;) {
        char c = buf[i];
        if (c == '\n' || c == '\r') { /* LF, CRLF or a lone CR */
            i += c == '\r' && i + 1 < len && buf[i + 1] == '\n' ? 2 : 1;
            line++;
            continue;
        }
        if (taps_sep(c)) {
            i++;
            continue;
        }
        if (c == '#') {
            while (i < len && buf[i] != '\n' && buf[i] != '\r') i++;
            continue;
        }
        size_t b = i;
        while (i < len && !taps_sep(buf[i]) && buf[i] != '#') i++;
        if (n == 65536) {
            st = nf_fail(NF_EFORMAT, "%s:%ld: more than 65536 taps", name, line);
            break;
        }
        if ((size_t)n == cap) {
            float *nt = realloc(t, 2 * cap * sizeof(float));
            if (!nt) {
                st = nf_fail(NF_ENOMEM, "%s: cannot allocate taps", name);
                break;
            }
            t = nt;
            cap *= 2;
        }
        st = parse_tap(buf + b, i - b, name, line, &t[n]);
        if (!st) n++;
    }
    nf_c_locale_pop(&loc);
    if (!st && n == 0) st = nf_fail(NF_EFORMAT, "%s: no taps found (one number per line expected)", name);
    if (!st) {
        st = nf_alloc_floats(taps, (size_t)n);
        if (!st) {
            memcpy(*taps, t, (size_t)n * sizeof(float));
            *n_taps = n;
        }
    }
    free(t);
    return st;
}

/* Largest taps file read (65536 taps with long comments fit easily). */
#define TAPS_MAX_BYTES ((size_t)64 << 20)

nf_status nf_task_read_taps(const char *path, float **taps, int *n_taps)
{
    *taps = NULL;
    *n_taps = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return nf_fail(NF_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    nf_status st = buf ? NF_OK : nf_fail(NF_ENOMEM, "%s: cannot allocate a read buffer", path);
    while (!st) {
        if (len == cap) {
            if (cap >= TAPS_MAX_BYTES) {
                st = nf_fail(NF_EFORMAT, "%s: larger than %zu bytes, too large for a taps file", path, TAPS_MAX_BYTES);
                break;
            }
            char *nb = realloc(buf, 2 * cap);
            if (!nb) {
                st = nf_fail(NF_ENOMEM, "%s: cannot allocate %zu bytes to read it", path, 2 * cap);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = nf_fail(NF_EIO, "%s: read error (is it a directory?)", path);
            break;
        }
    }
    fclose(f);
    if (!st) st = nf_task_parse_taps(buf, len, path, taps, n_taps);
    free(buf);
    return st;
}
