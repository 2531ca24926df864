/* test_data.c — CSV and .npy readers/writers, splits, atomic writes (library level). */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static nf_status csv(const char *text, const nf_read_opts *o, nf_mat *M)
{
    return nf_csv_parse(text, strlen(text), "t.csv", o, M);
}

#define ck_err_has(s) ck_assert_msg(strstr(nf_last_error(), s), "error '%s' lacks '%s'", nf_last_error(), s)

START_TEST(csv_header_comments_crlf)
{
    nf_mat M;
    ck_assert_int_eq(csv("\xEF\xBB\xBF# made by hand\r\nx,y , target\r\n\r\n0.5,-1,1.25e1 # row 1\r\n"
                         "  -2.5e-3 ,3,4\r\n", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 2);
    ck_assert_int_eq(M.cols, 3);
    const float want[] = {0.5f, -1.0f, 12.5f, -2.5e-3f, 3.0f, 4.0f};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(M.data[i], want[i]);
    nf_mat_free(&M);
}
END_TEST

START_TEST(csv_tab_and_whitespace)
{
    nf_mat M;
    ck_assert_int_eq(csv("1\t2\n3\t4\n", NULL, &M), NF_OK);
    ck_assert_int_eq(M.cols, 2);
    ck_assert_float_eq(M.data[3], 4.0f);
    nf_mat_free(&M);
    ck_assert_int_eq(csv("  1   2  \t 3\n4 5 6\n", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 2);
    ck_assert_int_eq(M.cols, 3);
    ck_assert_float_eq(M.data[5], 6.0f);
    nf_mat_free(&M);
    /* no trailing newline, single column */
    ck_assert_int_eq(csv("7\n8", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 2);
    ck_assert_float_eq(M.data[1], 8.0f);
    nf_mat_free(&M);
}
END_TEST

START_TEST(csv_header_forced)
{
    nf_read_opts o;
    nf_read_opts_default(&o);
    o.header = 1;
    nf_mat M;
    ck_assert_int_eq(csv("1,2\n3,4\n", &o, &M), NF_OK); /* numeric header skipped */
    ck_assert_int_eq(M.rows, 1);
    ck_assert_float_eq(M.data[0], 3.0f);
    nf_mat_free(&M);
    o.header = 0;
    ck_assert_int_eq(csv("a,b\n3,4\n", &o, &M), NF_EFORMAT);
    ck_err_has("t.csv:1: column 1: 'a' is not a number");
}
END_TEST

START_TEST(csv_locale_independent)
{
    /* a program using a comma-decimal locale must still read "0.5" */
    /* compile de_DE into a private folder when the system lacks it */
    char dir[] = "/tmp/nnfit-locale-XXXXXX", cmd[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
    int made = system(cmd) == 0;
    if (made) setenv("LOCPATH", dir, 1);
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"};
    int comma = 0;
    for (size_t i = 0; i < 3 && !comma; i++)
        if (setlocale(LC_ALL, names[i])) comma = !strcmp(localeconv()->decimal_point, ",");
    if (!comma) fprintf(stderr, "csv_locale_independent: no comma-decimal locale available; "
                                "checking under the C locale only\n");
    else ck_assert(strtod("0.5", NULL) == 0.0); /* plain strtod now stops at the "." */
    nf_mat M;
    ck_assert_int_eq(csv("0.5,1.25\n", NULL, &M), NF_OK);
    ck_assert_float_eq(M.data[0], 0.5f);
    ck_assert_float_eq(M.data[1], 1.25f);
    char *text;
    size_t len;
    ck_assert_int_eq(nf_csv_format(&M, NULL, &text, &len), NF_OK);
    ck_assert_str_eq(text, "0.5,1.25\n");
    free(text);
    nf_mat_free(&M);
    setlocale(LC_ALL, "C");
    unsetenv("LOCPATH");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(csv_roundtrip_exact)
{
    nf_mat M, R;
    ck_assert_int_eq(nf_mat_alloc(&M, 50, 3), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 5);
    for (size_t i = 0; i < nf_mat_size(&M); i++) M.data[i] = (float)(nf_rng_normal(&rng) * 1e3);
    M.data[0] = 1e-38f;
    M.data[1] = -3.4e38f;
    const char *hdr[] = {"a", "b", "c"};
    char *text;
    size_t len;
    ck_assert_int_eq(nf_csv_format(&M, hdr, &text, &len), NF_OK);
    ck_assert_int_eq(nf_csv_parse(text, len, "rt.csv", NULL, &R), NF_OK);
    ck_assert_int_eq(R.rows, 50);
    ck_assert_int_eq(memcmp(R.data, M.data, nf_mat_size(&M) * sizeof(float)), 0);
    free(text);
    nf_mat_free(&R);
    nf_mat_free(&M);
}
END_TEST

START_TEST(csv_bad_cases)
{
    nf_mat M;
    ck_assert_int_eq(csv("", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv: empty file");
    ck_assert_int_eq(csv("# only a comment\n\n", NULL, &M), NF_EFORMAT);
    ck_err_has("no data rows");
    ck_assert_int_eq(csv("x,y\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:1: header line but no data rows");
    ck_assert_int_eq(csv("x,y\n1,2\n3,4,5\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:3: 3 columns, expected 2 (as on line 1)");
    ck_assert_int_eq(csv("1,2\n3,abc\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:2: column 2: 'abc' is not a number");
    ck_assert_int_eq(csv("1,2\n3,\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:2: column 2 is empty");
    ck_assert_int_eq(csv("1,2\n0x10,1\n", NULL, &M), NF_EFORMAT); /* hex is not accepted */
    ck_assert_int_eq(csv("1,2\n3,nan\n", NULL, &M), NF_ENONFINITE);
    ck_err_has("t.csv:2: column 2: non-finite value 'nan'");
    ck_assert_int_eq(csv("1,2\n-inf,1\n", NULL, &M), NF_ENONFINITE);
    ck_assert_int_eq(csv("1,1e39\n", NULL, &M), NF_ENONFINITE);
    ck_err_has("outside float32 range");
    ck_assert_int_eq(csv("1,x2\n", NULL, &M), NF_EFORMAT); /* mixed first line is not a header */
    ck_assert_int_eq(csv("1,x2\n3,4\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:1: column 2: 'x2' is not a number");
    ck_assert_int_eq(csv("x,y,z\n1,2,3\n4,5\n6,7,8\n", NULL, &M), NF_EFORMAT); /* a short row */
    ck_err_has("t.csv:3: 2 columns, expected 3 (as on line 1)");
    ck_assert_int_eq(csv("1 2 3\n4 5\n", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:2: 2 columns, expected 3 (as on line 1)");
    nf_read_opts o;
    nf_read_opts_default(&o);
    o.allow_nonfinite = 1;
    ck_assert_int_eq(csv("1,nan\n-Infinity,2\n", &o, &M), NF_OK);
    ck_assert(isnan(M.data[1]) && isinf(M.data[2]) && M.data[2] < 0);
    nf_mat_free(&M);
}
END_TEST

/* Lines end at LF, CRLF or a lone CR (old Mac files); blank lines between rows are skipped in
 * every form, and line numbers count CR-only lines. */
START_TEST(csv_cr_line_ends)
{
    nf_mat M;
    ck_assert_int_eq(csv("x,y\r\r1,2\r\r\r3,4\r", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 2);
    ck_assert_int_eq(M.cols, 2);
    ck_assert_float_eq(M.data[2], 3.0f);
    ck_assert_float_eq(M.data[3], 4.0f);
    nf_mat_free(&M);
    ck_assert_int_eq(csv("1 2\r\n3 4\r5 6\n\r\n7 8", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 4);
    ck_assert_float_eq(M.data[7], 8.0f);
    nf_mat_free(&M);
    ck_assert_int_eq(csv("# c\r1,2\r\r3,4,5\r", NULL, &M), NF_EFORMAT);
    ck_err_has("t.csv:4: 3 columns, expected 2 (as on line 2)");
}
END_TEST

/* The fast decimal path gives the float strtod gives, and the forms strtod refuses stay
 * refused. */
START_TEST(csv_number_forms)
{
    nf_rng rng;
    nf_rng_seed(&rng, 11);
    char text[64];
    for (int i = 0; i < 40000; i++) {
        int form = (int)nf_rng_below(&rng, 6);
        double x = nf_rng_normal(&rng) * pow(10.0, (double)nf_rng_below(&rng, 60) - 30.0);
        int prec = 1 + (int)nf_rng_below(&rng, 20);
        if (form == 0) snprintf(text, sizeof text, "%.*g", prec, x);
        else if (form == 1) snprintf(text, sizeof text, "%.*e", prec, x);
        else if (form == 2) snprintf(text, sizeof text, "%.*f", prec % 12, x * 1e25);
        else if (form == 3) snprintf(text, sizeof text, "%.9g", (double)(float)x);
        else if (form == 4) snprintf(text, sizeof text, "%llu", (unsigned long long)nf_rng_u64(&rng) >> nf_rng_below(&rng, 64));
        else snprintf(text, sizeof text, "%s%.*f", nf_rng_below(&rng, 2) ? "+" : "-", prec % 8, fabs(x));
        nf_mat M;
        double want = strtod(text, NULL);
        nf_read_opts o;
        nf_read_opts_default(&o);
        o.allow_nonfinite = 1;
        o.header = 0;
        ck_assert_msg(csv(text, &o, &M) == NF_OK, "'%s': %s", text, nf_last_error());
        float wf = (float)want;
        ck_assert_msg(memcmp(&M.data[0], &wf, sizeof wf) == 0, "'%s' read as %.9g, strtod gives %.9g", text,
                      (double)M.data[0], (double)wf);
        nf_mat_free(&M);
    }
    static const char *const same[] = {".5", "5.", "-0", "+0.0", "1.e3", "00012", "1E+2", "-1e-0",
                                       "9007199254740993", "123456789012345678901234", "0.000000000000000000000000001",
                                       "4.9406564584124654e-324", "1e-46", "3.4028235e38", "3.4028236e38"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        nf_mat M;
        nf_read_opts o;
        nf_read_opts_default(&o);
        o.allow_nonfinite = 1;
        o.header = 0;
        ck_assert_int_eq(csv(same[i], &o, &M), NF_OK);
        float wf = (float)strtod(same[i], NULL);
        ck_assert_msg(memcmp(&M.data[0], &wf, 4) == 0, "'%s'", same[i]);
        nf_mat_free(&M);
    }
    static const char *const bad[] = {"1e", "1e+", ".", "-", "+-1", "1..2", "1e5.5", "0x10", "1,5e3;"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nf_mat M;
        char t[32];
        snprintf(t, sizeof t, "1 %s\n", bad[i]);
        ck_assert_msg(csv(t, NULL, &M) == NF_EFORMAT, "'%s' accepted", bad[i]);
    }
    /* a finite literal beyond the double range is out of float32 range, not "non-finite" */
    nf_mat M;
    ck_assert_int_eq(csv("1,1e400\n", NULL, &M), NF_ENONFINITE);
    ck_err_has("t.csv:1: column 2: value outside float32 range '1e400'");
    ck_assert_int_eq(csv("1,-1e39\n", NULL, &M), NF_ENONFINITE);
    ck_err_has("value outside float32 range '-1e39'");
    ck_assert_int_eq(csv("1,inf\n", NULL, &M), NF_ENONFINITE);
    ck_err_has("non-finite value 'inf'");
}
END_TEST

static void write_file(const char *p, const char *text, size_t n)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq((int)fwrite(text, 1, n, f), (int)n);
    fclose(f);
}

/* A file read in blocks gives what the same text parsed in memory gives: lines and CR/LF pairs
 * cut by block boundaries, a line longer than a block, LF and CR forms. */
START_TEST(csv_file_blocks)
{
    char dir[] = "/tmp/nnfit-csvblk-XXXXXX", p[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/big.csv", dir);
    for (int variant = 0; variant < 3; variant++) {
        const char *eol = variant == 0 ? "\n" : variant == 1 ? "\r\n" : "\r";
        size_t cap = 8u << 20, n = 0;
        char *text = malloc(cap);
        n += (size_t)snprintf(text + n, cap - n, "a,b,c%s%s", eol, eol);
        nf_rng rng;
        nf_rng_seed(&rng, 3 + (uint64_t)variant);
        long rows = 0;
        while (n < (5u << 19)) { /* 2.5 MB: more than two read blocks */
            for (int c = 0; c < 3; c++)
                n += (size_t)snprintf(text + n, cap - n, "%s%.9g", c ? "," : "", nf_rng_normal(&rng));
            n += (size_t)snprintf(text + n, cap - n, "%s", eol);
            if (nf_rng_below(&rng, 50) == 0) n += (size_t)snprintf(text + n, cap - n, "# note%s", eol);
            rows++;
        }
        write_file(p, text, n);
        nf_mat A, B;
        ck_assert_msg(nf_data_read(p, NULL, &A) == NF_OK, "%s", nf_last_error());
        ck_assert_int_eq(nf_csv_parse(text, n, "mem", NULL, &B), NF_OK);
        ck_assert_int_eq(A.rows, rows);
        ck_assert_int_eq(B.rows, rows);
        ck_assert_int_eq(A.cols, 3);
        ck_assert_int_eq(memcmp(A.data, B.data, nf_mat_size(&A) * sizeof(float)), 0);
        nf_mat_free(&A);
        nf_mat_free(&B);
        free(text);
    }
    /* one line of 300000 cells (about 2 MB, longer than a block) */
    size_t cap = 4u << 20, n = 0;
    char *text = malloc(cap);
    for (int r = 0; r < 2; r++) {
        for (int c = 0; c < 300000; c++) n += (size_t)snprintf(text + n, cap - n, "%s%d.5", c ? "," : "", c % 97);
        text[n++] = '\n';
    }
    write_file(p, text, n);
    nf_mat A;
    ck_assert_msg(nf_data_read(p, NULL, &A) == NF_OK, "%s", nf_last_error());
    ck_assert_int_eq(A.rows, 2);
    ck_assert_int_eq(A.cols, 300000);
    ck_assert_float_eq(A.data[300000 + 299999], (float)(299999 % 97) + 0.5f);
    nf_mat_free(&A);
    free(text);
    /* errors from the file reader name the line */
    write_file(p, "1,2\r\r3,4\r5,x\r", 13);
    ck_assert_int_eq(nf_data_read(p, NULL, &A), NF_EFORMAT);
    ck_err_has("big.csv:4: column 2: 'x' is not a number");
    write_file(p, "", 0);
    ck_assert_int_eq(nf_data_read(p, NULL, &A), NF_EFORMAT);
    ck_err_has("big.csv: empty file");
    snprintf(p, sizeof p, "rm -rf %s", dir);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

/* A pipe cannot be read twice: it is read whole, then parsed. */
START_TEST(csv_from_pipe)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 20000; i++) {
            char line[64];
            int k = snprintf(line, sizeof line, "%d,%d.25\n", i, i);
            if (write(fds[1], line, (size_t)k) != k) _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    char p[64];
    snprintf(p, sizeof p, "/dev/fd/%d", fds[0]);
    nf_mat M;
    ck_assert_msg(nf_data_read(p, NULL, &M) == NF_OK, "%s", nf_last_error());
    close(fds[0]);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(M.rows, 20000);
    ck_assert_float_eq(M.data[2 * 19999 + 1], 19999.25f);
    nf_mat_free(&M);
}
END_TEST

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Peak memory of reading a CSV file is the matrix plus about one read block: no copy of the
 * file and no doubling growth of the values (was: file + 2-3 times the floats). */
START_TEST(csv_read_peak_memory)
{
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "csv_read_peak_memory: not meaningful under AddressSanitizer, skipped\n");
    return;
#endif
    char dir[] = "/tmp/nnfit-csvmem-XXXXXX", p[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/m.csv", dir);
    const long rows = 300000;
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    nf_rng rng;
    nf_rng_seed(&rng, 1);
    for (long r = 0; r < rows; r++)
        fprintf(f, "%.9g,%.9g,%.9g,%.9g\n", nf_rng_normal(&rng), nf_rng_normal(&rng), nf_rng_normal(&rng),
                nf_rng_normal(&rng));
    fclose(f);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    pid_t pid = fork(); /* a fresh process: its peak RSS is this read's */
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        long before = max_rss_kib();
        nf_mat M;
        if (nf_data_read(p, NULL, &M) || M.rows != rows) _exit(90);
        long grew = max_rss_kib() - before;
        long floats_kib = rows * 4 * 4 / 1024;
        fprintf(stderr, "csv_read_peak_memory: %lld-byte file, %ld KiB of floats, peak grew %ld KiB\n",
                (long long)sb.st_size, floats_kib, grew);
        nf_mat_free(&M);
        _exit(grew <= floats_kib + 4096 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    ck_assert_int_eq(system(p), 0);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0, "peak memory above the floats + 4 MiB (status %d)", WEXITSTATUS(status));
}
END_TEST

/* .npy bytes: version-1 header with the given dict, then `data`. */
static unsigned char *npy(const char *dict, const void *data, size_t n, size_t *len)
{
    size_t dl = strlen(dict), h = (10 + dl + 1 + 63) / 64 * 64 - 10;
    unsigned char *b = calloc(1, 10 + h + n + 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(h & 255);
    b[9] = (unsigned char)(h >> 8);
    memset(b + 10, ' ', h);
    memcpy(b + 10, dict, dl);
    b[10 + h - 1] = '\n';
    if (n) memcpy(b + 10 + h, data, n);
    *len = 10 + h + n;
    return b;
}

START_TEST(npy_variants)
{
    nf_mat M;
    size_t len;
    const float f[6] = {1, 2, 3, 4, 5, 6};
    unsigned char *b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f, 24, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "a.npy", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 3);
    ck_assert_int_eq(M.cols, 2);
    ck_assert_float_eq(M.data[5], 6.0f);
    nf_mat_free(&M);
    free(b);
    /* Fortran order: column-major data of the 3×2 matrix above */
    const float fc[6] = {1, 3, 5, 2, 4, 6};
    b = npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", fc, 24, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "f.npy", NULL, &M), NF_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(M.data[i], f[i]);
    nf_mat_free(&M);
    free(b);
    /* big-endian float64, 1-D */
    unsigned char be[16];
    double dv[2] = {0.25, -3.5};
    for (int k = 0; k < 2; k++) {
        unsigned char t[8];
        memcpy(t, &dv[k], 8);
        for (int j = 0; j < 8; j++) be[k * 8 + j] = t[7 - j];
    }
    b = npy("{\"descr\": \">f8\", \"fortran_order\": False, \"shape\": (2,)}", be, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "be.npy", NULL, &M), NF_OK);
    ck_assert_int_eq(M.rows, 2);
    ck_assert_int_eq(M.cols, 1);
    ck_assert_float_eq(M.data[0], 0.25f);
    ck_assert_float_eq(M.data[1], -3.5f);
    nf_mat_free(&M);
    free(b);
    /* version 2.0: a 4-byte little-endian header length (here 65536 + 118, past 16 bits) */
    const char *d2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const size_t hl2 = 65536 + 118, n2 = 12 + hl2 + 24;
    unsigned char *v2 = malloc(n2);
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    for (int k = 0; k < 4; k++) v2[8 + k] = (unsigned char)(hl2 >> (8 * k));
    memset(v2 + 12, ' ', hl2);
    memcpy(v2 + 12, d2, strlen(d2));
    v2[12 + hl2 - 1] = '\n';
    memcpy(v2 + 12 + hl2, f, 24);
    ck_assert_int_eq(nf_npy_parse(v2, n2, "v2.npy", NULL, &M), NF_OK);
    ck_assert(M.rows == 2 && M.cols == 3);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(M.data[i], f[i]);
    nf_mat_free(&M);
    free(v2);
}
END_TEST

START_TEST(npy_roundtrip_and_fixture)
{
    nf_mat M, R;
    ck_assert_int_eq(nf_mat_alloc(&M, 7, 3), NF_OK);
    for (int i = 0; i < 21; i++) M.data[i] = (float)i / 7.0f - 1.0f;
    unsigned char *b;
    size_t len;
    ck_assert_int_eq(nf_npy_format(&M, &b, &len), NF_OK);
    ck_assert_int_eq((int)((len - 21 * 4) % 64), 0);
    ck_assert_int_eq(nf_npy_parse(b, len, "rt.npy", NULL, &R), NF_OK);
    ck_assert_int_eq(memcmp(R.data, M.data, 21 * sizeof(float)), 0);
    nf_mat_free(&R);
    free(b);
    /* written by NumPy itself (tests/fuzz/make_corpus.py): float64 Fortran-order 3×2 of i/7 */
    unsigned char *f;
    size_t flen;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/npy/fortran", getenv("NNFIT_SOURCE_ROOT"));
    ck_assert_int_eq(nf_file_read(path, 1 << 20, &f, &flen), NF_OK);
    ck_assert_int_eq(nf_npy_parse(f, flen, "fortran", NULL, &R), NF_OK);
    ck_assert_int_eq(R.rows, 3);
    ck_assert_int_eq(R.cols, 2);
    for (int i = 0; i < 6; i++) ck_assert_float_eq_tol(R.data[i], (float)i / 7.0f, 1e-7f);
    nf_mat_free(&R);
    free(f);
    nf_mat_free(&M);
}
END_TEST

START_TEST(npy_bad_cases)
{
    nf_mat M;
    size_t len;
    const float f[4] = {1, 2, 3, 4};
    ck_assert_int_eq(nf_npy_parse((const unsigned char *)"", 0, "e.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("e.npy: empty file");
    ck_assert_int_eq(nf_npy_parse((const unsigned char *)"a,b\n1,2\n", 8, "c.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("not a .npy file");
    unsigned char *b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len - 3, "t.npy", NULL, &M), NF_EFORMAT); /* truncated data */
    ck_err_has("needs 16 data bytes but the file has 13");
    ck_assert_int_eq(nf_npy_parse(b, 40, "t.npy", NULL, &M), NF_EFORMAT); /* truncated header */
    ck_err_has("runs past the end");
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 2), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "big.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("shape (1000, 2) needs 8000 data bytes but the file has 16");
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "ovf.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("size overflows): it would need 7.379e+19 data bytes");
    free(b);
    /* numpy evaluates the header as a literal: text after the dict is refused, padding is not */
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), } junk", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "tail.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("tail.npy: byte 70: 'junk' after");
    ck_err_has("after the header dict's '}', expected only spaces and a newline");
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\0", f, 16, &len);
    b[10 + 61] = '\0';
    ck_assert_int_eq(nf_npy_parse(b, len, "nul.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("nul.npy: byte 71: '\\x00' after");
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}}", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "two.npy", NULL, &M), NF_EFORMAT);
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }  \n ", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "pad.npy", NULL, &M), NF_OK);
    nf_mat_free(&M);
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 4), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "ovf.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("overflows");
    free(b);
    b = npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "i.npy", NULL, &M), NF_EUNSUPPORTED);
    ck_err_has("dtype '<i8' is not supported");
    free(b);
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "3d.npy", NULL, &M), NF_EUNSUPPORTED);
    ck_err_has("more than 2 dimensions");
    free(b);
    float nanv[2] = {1.0f, NAN};
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", nanv, 8, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "n.npy", NULL, &M), NF_ENONFINITE);
    ck_err_has("n.npy: byte 132 (row 1, column 2): non-finite value");
    free(b);
    /* more data than the shape says: the header lies (data.h: exactly rows × cols × itemsize) */
    b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f, 16, &len);
    ck_assert_int_eq(nf_npy_parse(b, len, "long.npy", NULL, &M), NF_EFORMAT);
    ck_err_has("long.npy: byte 140: 4 bytes after the data of shape (3, 1), expected none");
    free(b);
}
END_TEST

START_TEST(split_holdout_shuffle)
{
    nf_mat M, X, Y;
    ck_assert_int_eq(nf_mat_alloc(&M, 10, 3), NF_OK);
    for (int i = 0; i < 30; i++) M.data[i] = (float)i;
    ck_assert_int_eq(nf_data_split_cols(&M, 3, &X, &Y), NF_ESHAPE);
    ck_err_has("3 input columns requested but the data has 3 columns");
    ck_assert_int_eq(nf_data_split_cols(&M, 2, &X, &Y), NF_OK);
    ck_assert_int_eq(X.cols, 2);
    ck_assert_int_eq(Y.cols, 1);
    ck_assert_float_eq(Y.data[4], 14.0f);
    nf_mat Xt, Yt, Xv, Yv, Xt2, Yt2, Xv2, Yv2;
    ck_assert_int_eq(nf_data_holdout(&X, &Y, 0.3, 42, &Xt, &Yt, &Xv, &Yv), NF_OK);
    ck_assert_int_eq(Xv.rows, 3);
    ck_assert_int_eq(Xt.rows, 7);
    ck_assert_int_eq(nf_data_holdout(&X, &Y, 0.3, 42, &Xt2, &Yt2, &Xv2, &Yv2), NF_OK);
    ck_assert_int_eq(memcmp(Xv.data, Xv2.data, 6 * sizeof(float)), 0); /* deterministic */
    nf_mat_free(&Xt2);
    nf_mat_free(&Yt2);
    nf_mat_free(&Xv2);
    nf_mat_free(&Yv2);
    /* rows stay paired and each row lands in exactly one part */
    float seen = 0;
    for (int r = 0; r < 3; r++) {
        ck_assert_float_eq(Yv.data[r], Xv.data[2 * r] + 2.0f);
        seen += Yv.data[r];
    }
    for (int r = 0; r < 7; r++) {
        ck_assert_float_eq(Yt.data[r], Xt.data[2 * r] + 2.0f);
        seen += Yt.data[r];
    }
    ck_assert_float_eq(seen, 155.0f); /* 2 + 5 + ... + 29 */
    ck_assert_int_eq(nf_data_holdout(&X, &Y, 1.0, 42, &Xt2, &Yt2, &Xv2, &Yv2), NF_EINVAL);
    /* round(frac · rows) rows held out, at least 1 and at most rows − 1 */
    const struct { double frac; int nval; } counts[] = {{0.25, 3}, {0.24, 2}, {0.66, 7}, {0.04, 1}, {0.97, 9}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        nf_mat a, b, c, d;
        ck_assert_int_eq(nf_data_holdout(&X, &Y, counts[i].frac, 7, &a, &b, &c, &d), NF_OK);
        ck_assert_msg(c.rows == counts[i].nval && a.rows == 10 - counts[i].nval,
                      "frac %g of 10 rows: %d held out, want %d", counts[i].frac, c.rows, counts[i].nval);
        nf_mat_free(&a);
        nf_mat_free(&b);
        nf_mat_free(&c);
        nf_mat_free(&d);
    }
    ck_assert_int_eq(nf_data_shuffle(&X, &Y, 9), NF_OK);
    float sum = 0;
    for (int r = 0; r < 10; r++) {
        ck_assert_float_eq(Y.data[r], X.data[2 * r] + 2.0f);
        sum += Y.data[r];
    }
    ck_assert_float_eq(sum, 155.0f);
    nf_mat *all[] = {&M, &X, &Y, &Xt, &Yt, &Xv, &Yv, &Xt2, &Yt2, &Xv2, &Yv2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) nf_mat_free(all[i]);
}
END_TEST

START_TEST(atomic_write)
{
    char dir[] = "/tmp/nnfit-atomic-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], cmd[512];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("old\n", f);
    fclose(f);
    nf_mat M;
    ck_assert_int_eq(nf_mat_alloc(&M, 2, 2), NF_OK);
    M.data[3] = 1.5f;
    ck_assert_int_eq(nf_data_write(path, &M, NULL), NF_OK);
    unsigned char *b;
    size_t len;
    ck_assert_int_eq(nf_file_read(path, 1000, &b, &len), NF_OK);
    ck_assert_str_eq((char *)b, "0,0\n0,1.5\n");
    free(b);
    /* no temporary files left behind */
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    char *out;
    ck_assert_int_eq(tu_run_cmd(cmd, &out, NULL), 0);
    ck_assert_int_eq(atoi(out), 1);
    free(out);
    /* the new content arrives as a new file renamed over the old one, never written into it: a
     * reader holding the old file (here a hard link to it) keeps its complete old content */
    struct stat before, after;
    char keep[300];
    snprintf(keep, sizeof keep, "%s/held-by-a-reader", dir);
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_eq(link(path, keep), 0);
    M.data[0] = -2.0f;
    ck_assert_int_eq(nf_data_write(path, &M, NULL), NF_OK);
    ck_assert_int_eq(stat(path, &after), 0);
    ck_assert_msg(after.st_ino != before.st_ino, "inode %lu reused: the file was rewritten in place",
                  (unsigned long)after.st_ino);
    ck_assert_int_eq(nf_file_read(keep, 1000, &b, &len), NF_OK);
    ck_assert_str_eq((char *)b, "0,0\n0,1.5\n");
    free(b);
    ck_assert_int_eq(nf_file_read(path, 1000, &b, &len), NF_OK);
    ck_assert_str_eq((char *)b, "-2,0\n0,1.5\n");
    free(b);
    ck_assert_int_eq((int)(after.st_mode & 0777), (int)(before.st_mode & 0777));
    /* a folder that does not exist: error, nothing created */
    snprintf(path, sizeof path, "%s/missing/out.csv", dir);
    ck_assert_int_eq(nf_data_write(path, &M, NULL), NF_EIO);
    ck_err_has("/missing/out.csv: folder '");
    ck_err_has("/missing' does not exist");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    nf_mat_free(&M);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_data");
    TCase *tc = tcase_create("csv");
    tcase_add_test(tc, csv_header_comments_crlf);
    tcase_add_test(tc, csv_tab_and_whitespace);
    tcase_add_test(tc, csv_header_forced);
    tcase_add_test(tc, csv_locale_independent);
    tcase_add_test(tc, csv_roundtrip_exact);
    tcase_add_test(tc, csv_bad_cases);
    tcase_add_test(tc, csv_cr_line_ends);
    tcase_add_test(tc, csv_number_forms);
    tcase_add_test(tc, csv_file_blocks);
    tcase_add_test(tc, csv_from_pipe);
    tcase_add_test(tc, csv_read_peak_memory);
    suite_add_tcase(s, tc);
    tc = tcase_create("npy");
    tcase_add_test(tc, npy_variants);
    tcase_add_test(tc, npy_roundtrip_and_fixture);
    tcase_add_test(tc, npy_bad_cases);
    suite_add_tcase(s, tc);
    tc = tcase_create("ops");
    tcase_add_test(tc, split_holdout_shuffle);
    tcase_add_test(tc, atomic_write);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
