/* cli.c — shared helpers for the nnfit program. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cli_prog = "nnfit";
int cli_quiet = 0;

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int cli_status_error(nf_status st)
{
    const char *detail = nf_last_error();
    fprintf(stderr, "%s: error: %s\n", cli_prog, detail && *detail ? detail : nf_strerror(st));
    return st == NF_EDIVERGED || st == NF_ENUMERIC || st == NF_EINTERRUPTED ? EXIT_RUN_FAILED
                                                                            : EXIT_USAGE;
}

/* Shortest "%g" text of v that reads back as v, so a bound like 1 - 1e-9 is not shown as 1. */
static void fmt_exact(char *buf, size_t cap, double v)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Length of the decimal number at s ([+-] digits [. digits] [e [+-] digits], at least one
 * mantissa digit), 0 when s does not start with one. */
static size_t decimal_len(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (isdigit((unsigned char)s[i])) i++, digits++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) i++, digits++;
    }
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-') j++;
        if (isdigit((unsigned char)s[j])) {
            while (isdigit((unsigned char)s[j])) j++;
            i = j;
        }
    }
    return i;
}

int cli_double(const char *opt, const char *text, double lo, double hi, double *out)
{
    size_t n = decimal_len(text);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (n == 0 || text[n] != '\0') {
        if (end != text && *end == '\0' && !isfinite(v))
            cli_usage_error("--%s: '%s' is not a finite number", opt, text);
        else
            cli_usage_error("--%s: '%s' is not a decimal number", opt, text);
        return 1;
    }
    if (errno == ERANGE && isinf(v)) {
        cli_usage_error("--%s: '%s' is outside the range of a double (magnitude up to 1.8e308)", opt, text);
        return 1;
    }
    int nonzero = 0; /* a mantissa digit other than 0 */
    for (const char *q = text; *q && *q != 'e' && *q != 'E'; q++) nonzero |= *q >= '1' && *q <= '9';
    if (v == 0.0 && nonzero) {
        cli_usage_error("--%s: '%s' is too close to zero for a double (it rounds to 0)", opt, text);
        return 1;
    }
    if (v < lo || v > hi) {
        char a[32], b[32];
        fmt_exact(a, sizeof a, lo);
        fmt_exact(b, sizeof b, hi);
        cli_usage_error("--%s: %s is outside [%s, %s]", opt, text, a, b);
        return 1;
    }
    *out = v;
    return 0;
}

/* Decimal digits only, after an optional '-' when negative values are allowed: no spaces, no
 * '+', no 0x/octal forms.  0 ok (*neg, *mag), 1 not such an integer, 2 magnitude above 2^64-1. */
static int parse_decimal(const char *text, int allow_minus, int *neg, uint64_t *mag)
{
    const char *p = text;
    *neg = 0;
    if (allow_minus && *p == '-') {
        *neg = 1;
        p++;
    }
    if (!*p) return 1;
    uint64_t v = 0;
    int big = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) big = 1;
        else v = v * 10 + d;
    }
    *mag = v;
    return big ? 2 : 0;
}

int cli_int(const char *opt, const char *text, long lo, long hi, int *out)
{
    int neg;
    uint64_t mag;
    int e = parse_decimal(text, lo < 0, &neg, &mag);
    if (e == 1) {
        if (lo >= 0 && *text == '-' && !parse_decimal(text + 1, 0, &neg, &mag))
            cli_usage_error("--%s: %s is outside [%ld, %ld]", opt, text, lo, hi);
        else
            cli_usage_error("--%s: '%s' is not a decimal integer", opt, text);
        return 1;
    }
    /* long is at least 32 bits; compare magnitudes so nothing wraps */
    int ok = e == 0 && (neg ? (lo < 0 && mag <= (uint64_t)(-(lo + 1)) + 1) : (hi >= 0 && mag <= (uint64_t)hi));
    long v = !ok || mag == 0 ? 0 : neg ? -(long)(mag - 1) - 1 : (long)mag;
    if (!ok || v < lo || v > hi) {
        cli_usage_error("--%s: %s is outside [%ld, %ld]", opt, text, lo, hi);
        return 1;
    }
    *out = (int)v;
    return 0;
}

int cli_u64(const char *opt, const char *text, uint64_t *out)
{
    int neg;
    uint64_t mag;
    int e = parse_decimal(text, 0, &neg, &mag);
    if (e == 1) {
        if (*text == '-') cli_usage_error("--%s: '%s' must be a non-negative integer", opt, text);
        else cli_usage_error("--%s: '%s' is not a decimal integer", opt, text);
        return 1;
    }
    if (e == 2) {
        cli_usage_error("--%s: %s is larger than 18446744073709551615 (2^64 - 1)", opt, text);
        return 1;
    }
    *out = mag;
    return 0;
}

int cli_out_check(const char *opt, const char *path)
{
    if (!nf_out_check(path)) return 0;
    if (opt) return cli_usage_error("--%s %s", opt, nf_last_error());
    return cli_usage_error("%s", nf_last_error());
}

int cli_pair(const char *opt, const char *text, double lo, double hi, double *a, double *b)
{
    const char *comma = strchr(text, ',');
    if (!comma) {
        cli_usage_error("--%s: expected two numbers like 0.9,0.999, got '%s'", opt, text);
        return 1;
    }
    char first[64];
    size_t len = (size_t)(comma - text);
    if (len >= sizeof first) len = sizeof first - 1;
    memcpy(first, text, len);
    first[len] = '\0';
    return cli_double(opt, first, lo, hi, a) || cli_double(opt, comma + 1, lo, hi, b);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d[64];
    if (la >= 63 || lb >= 63) return 99;
    for (size_t j = 0; j <= lb; j++) d[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = d[0];
        d[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = d[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (d[j] + 1 < best) best = d[j] + 1;
            if (d[j - 1] + 1 < best) best = d[j - 1] + 1;
            d[j] = best;
            prev = cur;
        }
    }
    return d[lb];
}

const char *cli_closest(const char *name, const char *const *names, int n)
{
    const char *best = NULL;
    size_t bd = 99;
    for (int i = 0; i < n; i++) {
        size_t d = strncmp(names[i], name, strlen(name)) == 0 ? 1 : edit_distance(name, names[i]);
        if (d < bd) bd = d, best = names[i];
    }
    return bd <= (strlen(name) > 6 ? 3u : 2u) ? best : NULL;
}

int cli_check_full_names(int argc, char **argv, const struct option *table)
{
    const char *names[256];
    int n = 0;
    for (; table[n].name && n < 256; n++) names[n] = table[n].name;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (strncmp(a, "--", 2) || !a[2]) continue;
        size_t len = strcspn(a + 2, "=");
        int found = -1;
        for (int k = 0; k < n; k++)
            if (strlen(names[k]) == len && !strncmp(names[k], a + 2, len)) found = k;
        if (found >= 0) {
            if (table[found].has_arg == required_argument && !a[2 + len]) i++; /* skip its value */
            continue;
        }
        char given[64];
        snprintf(given, sizeof given, "%.*s", (int)(len < 63 ? len : 63), a + 2);
        const char *s = cli_closest(given, names, n);
        if (s) return cli_usage_error("unknown option '--%s'; did you mean --%s?", given, s);
        return cli_usage_error("unknown option '--%s' (see --help)", given);
    }
    return 0;
}

void cli_progress_start(cli_progress *p, const char *label, long total)
{
    p->label = label;
    p->total = total;
    p->t0 = p->last = nf_seconds();
    p->tty = isatty(STDERR_FILENO);
}

void cli_progress_update(cli_progress *p, long done, const char *extra)
{
    if (cli_quiet) return;
    double now = nf_seconds();
    double interval = p->tty ? 0.1 : 2.0;
    if (now - p->last < interval && done < p->total) return;
    p->last = now;
    double el = now - p->t0;
    double eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0.0;
    if (p->tty) {
        int width = 30, fill = p->total ? (int)((double)width * (double)done / (double)p->total) : 0;
        fprintf(stderr, "\r%s [", p->label);
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %ld/%ld %.0fs ETA %.0fs %s\033[K", done, p->total, el, eta, extra ? extra : "");
    } else {
        fprintf(stderr, "%s: %ld/%ld %.1fs ETA %.0fs %s\n", p->label, done, p->total, el, eta,
                extra ? extra : "");
    }
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (!cli_quiet && p->tty) fputc('\n', stderr);
}
