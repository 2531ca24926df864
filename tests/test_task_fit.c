/* test_task_fit.c — built-in tasks against their definitions, and fits against the truth:
 * FIR taps, the DFT matrix, the least-squares solution, and the abs net. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

START_TEST(taps_file_matches_builtin)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/fir/lowpass31.txt", getenv("NNFIT_SOURCE_ROOT"));
    float *taps;
    int n, nb;
    ck_assert_int_eq(nf_task_read_taps(path, &taps, &n), NF_OK);
    const float *builtin = nf_task_default_taps(&nb);
    ck_assert_int_eq(n, nb);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        ck_assert(taps[i] == builtin[i]);
        sum += taps[i];
    }
    ck_assert_close(sum, 1.0, 1e-6); /* unity DC gain */
    for (int i = 0; i < n; i++) ck_assert_close(taps[i], taps[n - 1 - i], 1e-9); /* linear phase */
    nf_free(taps);
    snprintf(path, sizeof path, "%s/data/fir/bandpass51.txt", getenv("NNFIT_SOURCE_ROOT"));
    ck_assert_int_eq(nf_task_read_taps(path, &taps, &n), NF_OK);
    ck_assert_int_eq(n, 51);
    nf_free(taps);
}
END_TEST

START_TEST(taps_reader_rejects_bad_files)
{
    const char *path = "/tmp/nnfit-test-taps.txt";
    float *taps;
    int n;
    FILE *f = fopen(path, "w");
    fputs("# comment\n0.5\n0.25 abc\n", f);
    fclose(f);
    ck_assert_int_eq(nf_task_read_taps(path, &taps, &n), NF_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), ":3:"));
    f = fopen(path, "w");
    fputs("# only comments\n\n", f);
    fclose(f);
    ck_assert_int_eq(nf_task_read_taps(path, &taps, &n), NF_EFORMAT);
    f = fopen(path, "w");
    fputs("1\nnan\n", f);
    fclose(f);
    ck_assert_int_eq(nf_task_read_taps(path, &taps, &n), NF_ENONFINITE);
    remove(path);
    ck_assert_int_eq(nf_task_read_taps("/nonexistent/taps.txt", &taps, &n), NF_EIO);
}
END_TEST

#define ck_err_has(s) ck_assert_msg(strstr(nf_last_error(), s), "error '%s' lacks '%s'", nf_last_error(), s)

static nf_status taps_text(const char *text, size_t len, float **taps, int *n)
{
    const char *path = "/tmp/nnfit-test-taps2.txt";
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq((int)fwrite(text, 1, len, f), (int)len);
    fclose(f);
    nf_status st = nf_task_read_taps(path, taps, n);
    remove(path);
    /* the file reader and the text parser agree */
    float *t2 = NULL;
    int n2 = 0;
    char saved[512];
    snprintf(saved, sizeof saved, "%s", nf_last_error());
    ck_assert_int_eq(nf_task_parse_taps(text, len, "/tmp/nnfit-test-taps2.txt", &t2, &n2), st);
    ck_assert_str_eq(nf_last_error(), saved);
    if (!st) {
        ck_assert_int_eq(n2, *n);
        ck_assert_int_eq(memcmp(t2, *taps, (size_t)n2 * sizeof(float)), 0);
    }
    nf_free(t2);
    return st;
}

/* Every byte of a taps file counts: a NUL is an error (was: the rest of the line dropped), long
 * lines are not split (was: at 4096 bytes), messages are one line, CR-only files work. */
START_TEST(taps_reader_every_byte)
{
    float *taps;
    int n;
    static const char nul[] = "0.5 0.25\0 0.125\n0.0625\n";
    ck_assert_int_eq(taps_text(nul, sizeof nul - 1, &taps, &n), NF_EFORMAT);
    ck_err_has("taps2.txt:1: '0.25\\x00' is not a number");
    /* 6000 taps on one 60 kB line */
    size_t cap = 1 << 17, len = 0;
    char *line = malloc(cap);
    for (int i = 0; i < 6000; i++) len += (size_t)snprintf(line + len, cap - len, "%s%.7f", i ? " " : "", (i % 1000) * 1e-3 + 1e-4);
    line[len++] = '\n';
    ck_assert_int_eq(taps_text(line, len, &taps, &n), NF_OK);
    ck_assert_int_eq(n, 6000);
    for (int i = 0; i < 6000; i++) {
        char one[32];
        snprintf(one, sizeof one, "%.7f", (i % 1000) * 1e-3 + 1e-4);
        ck_assert_float_eq(taps[i], (float)strtod(one, NULL));
    }
    nf_free(taps);
    free(line);
    ck_assert_int_eq(taps_text("0.5\nabc\n", sizeof "0.5\nabc\n" - 1, &taps, &n), NF_EFORMAT);
    ck_err_has("taps2.txt:2: 'abc' is not a number");
    ck_assert_ptr_null(strchr(nf_last_error(), '\n'));
    ck_assert_int_eq(taps_text("1\r\n\x01\x7f\r\n", sizeof "1\r\n\x01\x7f\r\n" - 1, &taps, &n), NF_EFORMAT);
    ck_err_has(":2: '\\x01\\x7f' is not a number");
    ck_assert_int_eq(taps_text("0x10\n", sizeof "0x10\n" - 1, &taps, &n), NF_EFORMAT);
    ck_err_has(":1: '0x10' is not a number");
    ck_assert_int_eq(taps_text("1\n1e400\n", sizeof "1\n1e400\n" - 1, &taps, &n), NF_ENONFINITE);
    ck_err_has(":2: tap '1e400' is outside float32 range");
    ck_assert_int_eq(taps_text("-1e39", sizeof "-1e39" - 1, &taps, &n), NF_ENONFINITE);
    ck_err_has(":1: tap '-1e39' is outside float32 range");
    ck_assert_int_eq(taps_text("inf", sizeof "inf" - 1, &taps, &n), NF_ENONFINITE);
    ck_err_has(":1: tap 'inf' is not a finite number");
    /* CR-only line ends, comments, commas */
    ck_assert_int_eq(taps_text("0.5\r# note\r\r0.25,0.125#x\r", sizeof "0.5\r# note\r\r0.25,0.125#x\r" - 1, &taps, &n), NF_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_float_eq(taps[2], 0.125f);
    nf_free(taps);
    ck_assert_int_eq(taps_text("0.5\r\r0.25\rzz\r", sizeof "0.5\r\r0.25\rzz\r" - 1, &taps, &n), NF_EFORMAT);
    ck_err_has(":4: 'zz' is not a number");
}
END_TEST

START_TEST(fir_targets_are_the_convolution)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_FIR, &c);
    c.n_samples = 20;
    c.frame = 40;
    nf_mat X, Y, W;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    ck_assert_int_eq(nf_task_exact(&c, &W), NF_OK);
    for (int r = 0; r < 20; r++)
        for (int n = 0; n < 40; n++) {
            double y = 0;
            for (int k = 0; k < c.n_taps && k <= n; k++) y += (double)c.taps[k] * X.data[r * 40 + n - k];
            ck_assert_close(Y.data[r * 40 + n], y, 1e-5);
            for (int m = 0; m < 40; m++) {
                float expect = n - m >= 0 && n - m < c.n_taps ? c.taps[n - m] : 0.0f;
                ck_assert(W.data[n * 40 + m] == expect);
            }
        }
    nf_mat_free(&X); nf_mat_free(&Y); nf_mat_free(&W);
    c.fir_single = 1;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    ck_assert_int_eq(X.cols, 31);
    for (int r = 0; r < 20; r++) {
        double y = 0;
        for (int k = 0; k < 31; k++) y += (double)c.taps[k] * X.data[r * 31 + k];
        ck_assert_close(Y.data[r], y, 1e-5);
    }
    nf_mat_free(&X); nf_mat_free(&Y);
}
END_TEST

/* X_k = Σ x_n e^{−2πikn/N} in double complex arithmetic. */
static void naive_dft(const float *re, const float *im, int N, int k, double *Xr, double *Xi)
{
    *Xr = *Xi = 0;
    for (int n = 0; n < N; n++) {
        double a = -2.0 * M_PI * k * n / N;
        double xr = re[n], xi = im ? im[n] : 0.0;
        *Xr += xr * cos(a) - xi * sin(a);
        *Xi += xr * sin(a) + xi * cos(a);
    }
}

START_TEST(dft_targets_and_matrix)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_DFT, &c);
    c.n_samples = 8;
    c.frame = 16;
    for (int variant = 0; variant < 4; variant++) {
        c.dft_complex = variant == 1;
        c.dft_full = variant == 2;
        c.orthonormal = variant == 3;
        nf_mat X, Y, W;
        ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
        ck_assert_int_eq(nf_task_exact(&c, &W), NF_OK);
        int K = Y.cols / 2;
        ck_assert_int_eq(K, variant == 1 || variant == 2 ? 16 : 9);
        double s = variant == 3 ? 0.25 : 1.0;
        for (int r = 0; r < 8; r++) {
            const float *x = X.data + r * X.cols;
            for (int k = 0; k < K; k++) {
                double xr, xi;
                naive_dft(x, c.dft_complex ? x + 16 : NULL, 16, k, &xr, &xi);
                ck_assert_close(Y.data[r * Y.cols + k], s * xr, 1e-4);
                ck_assert_close(Y.data[r * Y.cols + K + k], s * xi, 1e-4);
                /* the matrix applied to x gives the same */
                double wr = 0, wi = 0;
                for (int i = 0; i < X.cols; i++) {
                    wr += (double)W.data[k * X.cols + i] * x[i];
                    wi += (double)W.data[(K + k) * X.cols + i] * x[i];
                }
                ck_assert_close(wr, s * xr, 1e-4);
                ck_assert_close(wi, s * xi, 1e-4);
            }
        }
        nf_mat_free(&X); nf_mat_free(&Y); nf_mat_free(&W);
    }
}
END_TEST

START_TEST(spectrum_is_dft_magnitude)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_SPECTRUM, &c);
    c.n_samples = 5;
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    ck_assert_int_eq(Y.cols, 33);
    for (int r = 0; r < 5; r++)
        for (int k = 0; k < 33; k++) {
            double xr, xi;
            naive_dft(X.data + r * 64, NULL, 64, k, &xr, &xi);
            ck_assert_close(Y.data[r * 33 + k], hypot(xr, xi), 1e-4);
        }
    nf_mat_free(&X); nf_mat_free(&Y);
    nf_mat W;
    ck_assert_int_eq(nf_task_exact(&c, &W), NF_EUNSUPPORTED);
}
END_TEST

START_TEST(abs_targets)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_ABS, &c);
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    double lo = 1, hi = -1;
    for (int r = 0; r < X.rows; r++) {
        double x = X.data[2 * r], y = X.data[2 * r + 1];
        ck_assert_close(Y.data[r], sqrt(x * x + y * y), 1e-7);
        lo = fmin(lo, fmin(x, y));
        hi = fmax(hi, fmax(x, y));
    }
    ck_assert(lo >= -1 && lo < -0.99 && hi < 1 && hi > 0.99);
    nf_mat_free(&X); nf_mat_free(&Y);
}
END_TEST

START_TEST(teacher_targets_and_shapes)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_TEACHER, &c);
    ck_assert_int_eq(c.n_samples, 8192);
    ck_assert_int_eq(c.k, 10);
    c.k = 6;
    c.seed = 3;
    int n_in, n_out, sizes[NF_MAX_LAYERS + 1], nl;
    nf_task_shape(&c, &n_in, &n_out);
    ck_assert_int_eq(n_in, 6);
    ck_assert_int_eq(n_out, 1);
    nf_act_spec h;
    nf_task_default_layers(&c, sizes, &nl, &h);
    ck_assert_int_eq(nl, 2);
    ck_assert(sizes[0] == 6 && sizes[1] == 6 && sizes[2] == 1 && h.kind == NF_ACT_RELU);
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    ck_assert(X.rows == 8192 && X.cols == 6 && Y.rows == 8192 && Y.cols == 1);
    double mean = 0, sq = 0, ymean = 0;
    for (int r = 0; r < X.rows; r++) {
        double s = 0;
        for (int i = 0; i < 6; i++) {
            double x = X.data[r * 6 + i];
            s += x > 0 ? x : 0;
            mean += x;
            sq += x * x;
        }
        ck_assert_close(Y.data[r], s, 1e-6 * (1 + s));
        ymean += Y.data[r];
    }
    const double cells = 8192.0 * 6;
    /* x ~ N(0, 1): mean 0 (sd of the estimate 0.0045), E x^2 = 1 (sd 0.0064) */
    ck_assert(fabs(mean / cells) < 0.02 && fabs(sq / cells - 1.0) < 0.03);
    /* E y = k E relu(x) = 6 / sqrt(2 pi) = 2.394 (sd of the estimate 0.016) */
    ck_assert_close(ymean / 8192.0, 6.0 / sqrt(2.0 * M_PI), 0.06);
    /* other seed, other rows; same seed, same rows */
    nf_mat X2, Y2;
    c.seed = 4;
    ck_assert_int_eq(nf_task_generate(&c, &X2, &Y2), NF_OK);
    ck_assert(X2.data[0] != X.data[0] || X2.data[1] != X.data[1]);
    nf_mat_free(&X2); nf_mat_free(&Y2);
    c.seed = 3;
    ck_assert_int_eq(nf_task_generate(&c, &X2, &Y2), NF_OK);
    ck_assert(!memcmp(X2.data, X.data, nf_mat_size(&X) * sizeof(float)));
    nf_mat_free(&X2); nf_mat_free(&Y2);
    nf_mat_free(&X); nf_mat_free(&Y);
    nf_mat W;
    ck_assert_int_eq(nf_task_exact(&c, &W), NF_EUNSUPPORTED);
    c.k = 0;
    ck_assert_int_eq(nf_task_validate(&c), NF_EINVAL);
    nf_task_kind kind;
    ck_assert_int_eq(nf_task_parse("teacher", &kind), NF_OK);
    ck_assert_int_eq(kind, NF_TASK_TEACHER);
}
END_TEST

/* nf_diff_stats: max and RMS of |a − b|; a NaN anywhere makes max_abs NaN, so a broken fit
 * never looks perfect. */
START_TEST(diff_stats_values_and_nan)
{
    const float a[4] = {1.0f, 2.0f, -3.0f, 0.5f}, b[4] = {1.0f, 2.5f, -1.0f, 0.5f};
    double mx, rms;
    nf_diff_stats(a, b, 4, &mx, &rms);
    ck_assert_close(mx, 2.0, 0.0);
    ck_assert_close(rms, sqrt((0.25 + 4.0) / 4.0), 1e-15);
    const float c[4] = {1.0f, NAN, -3.0f, 0.5f};
    nf_diff_stats(c, b, 4, &mx, &rms);
    ck_assert(isnan(mx) && isnan(rms));
    nf_diff_stats(b, c, 4, &mx, &rms); /* NaN before a larger finite difference */
    ck_assert(isnan(mx));
}
END_TEST

START_TEST(lstsq_recovers_exact_operators)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_FIR, &c);
    c.n_samples = 200;
    c.frame = 32;
    nf_mat X, Y, W, Wls;
    nf_task_generate(&c, &X, &Y);
    nf_task_exact(&c, &W);
    float b[32];
    ck_assert_int_eq(nf_lstsq(&X, &Y, &Wls, b), NF_OK);
    double mx, rms;
    nf_diff_stats(Wls.data, W.data, nf_mat_size(&W), &mx, &rms);
    ck_assert_msg(mx < 1e-5, "lstsq vs exact FIR: %g", mx);
    for (int j = 0; j < 32; j++) ck_assert_close(b[j], 0, 1e-5);
    nf_mat_free(&Wls);
    /* underdetermined: refused */
    nf_mat few = nf_mat_rows(&X, 0, 10), fy = nf_mat_rows(&Y, 0, 10);
    ck_assert_int_eq(nf_lstsq(&few, &fy, &Wls, b), NF_EINVAL);
    nf_mat_free(&X); nf_mat_free(&Y); nf_mat_free(&W);
}
END_TEST

/* Trains a one-layer linear model on task c with SGD + momentum; returns max |W − exact| and
 * max |W − lstsq|. */
static void fit_linear(const nf_task_config *c, int epochs, double lr, double *vs_exact, double *vs_ls)
{
    nf_mat X, Y, W, Wls;
    ck_assert_int_eq(nf_task_generate(c, &X, &Y), NF_OK);
    ck_assert_int_eq(nf_task_exact(c, &W), NF_OK);
    const int sizes[2] = {X.cols, Y.cols};
    nf_model *m = tu_mlp(1, sizes, NF_ACT_LINEAR, NF_INIT_GLOROT_UNIFORM, 11);
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    nf_opt_defaults(NF_OPT_SGD, &cfg.opt);
    cfg.opt.lr = lr;
    cfg.opt.momentum = 0.9;
    cfg.batch = 64;
    cfg.epochs = epochs;
    nf_history h;
    ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_OK);
    double rms;
    float *b = malloc((size_t)Y.cols * 4);
    ck_assert_int_eq(nf_lstsq(&X, &Y, &Wls, b), NF_OK);
    nf_diff_stats(nf_model_layer(m, 0)->W, W.data, nf_mat_size(&W), vs_exact, &rms);
    nf_diff_stats(nf_model_layer(m, 0)->W, Wls.data, nf_mat_size(&W), vs_ls, &rms);
    free(b);
    nf_history_free(&h);
    nf_model_free(m);
    nf_mat_free(&X); nf_mat_free(&Y); nf_mat_free(&W); nf_mat_free(&Wls);
}

START_TEST(fir_fit_recovers_taps)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_FIR, &c);
    c.n_samples = 2048;
    c.frame = 48;
    double ex, ls;
    fit_linear(&c, 60, 0.1, &ex, &ls);
    ck_assert_msg(ex < 1e-3, "FIR Toeplitz weights off by %g", ex);
    ck_assert_msg(ls < 1e-3, "FIR weights vs least squares off by %g", ls);
    c.fir_single = 1; /* 31 inputs → 1 output: weights are the taps themselves */
    fit_linear(&c, 60, 0.1, &ex, &ls);
    ck_assert_msg(ex < 1e-3, "FIR single-output weights off the taps by %g", ex);
    ck_assert_msg(ls < 1e-3, "FIR single-output vs least squares off by %g", ls);
}
END_TEST

START_TEST(dft_fit_recovers_matrix)
{
    nf_task_config c;
    nf_task_defaults(NF_TASK_DFT, &c);
    c.n_samples = 2048;
    c.frame = 32;
    double ex, ls;
    fit_linear(&c, 60, 0.1, &ex, &ls);
    ck_assert_msg(ex < 1e-3, "DFT weights off by %g", ex);
    ck_assert_msg(ls < 1e-3, "DFT weights vs least squares off by %g", ls);
}
END_TEST

START_TEST(abs_wide_relu_net_fits)
{
    /* 2→16→1 ReLU: enough units to beat the 3-unit hexagon optimum (≈1.05e-3 on this data). */
    nf_task_config c;
    nf_task_defaults(NF_TASK_ABS, &c);
    nf_mat X, Y;
    nf_task_generate(&c, &X, &Y);
    const int sizes[] = {2, 16, 1};
    nf_model *m = tu_mlp(2, sizes, NF_ACT_RELU, NF_INIT_GLOROT_UNIFORM, 0);
    nf_train_config cfg;
    nf_train_defaults(&cfg);
    cfg.opt.lr = 3e-3;
    cfg.batch = 64;
    cfg.epochs = 300;
    nf_history h;
    ck_assert_int_eq(nf_train(m, &X, &Y, &cfg, &h), NF_OK);
    ck_assert_msg(h.final_loss < 1e-3, "2-16-1 abs MSE %g", h.final_loss);
    ck_assert(h.loss[0] > 10 * h.final_loss);
    nf_history_free(&h);
    nf_model_free(m);
    nf_mat_free(&X); nf_mat_free(&Y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task_fit");
    TCase *tt = tcase_create("tasks");
    tcase_add_test(tt, taps_file_matches_builtin);
    tcase_add_test(tt, taps_reader_rejects_bad_files);
    tcase_add_test(tt, taps_reader_every_byte);
    tcase_add_test(tt, fir_targets_are_the_convolution);
    tcase_add_test(tt, dft_targets_and_matrix);
    tcase_add_test(tt, spectrum_is_dft_magnitude);
    tcase_add_test(tt, abs_targets);
    tcase_add_test(tt, teacher_targets_and_shapes);
    tcase_add_test(tt, lstsq_recovers_exact_operators);
    tcase_add_test(tt, diff_stats_values_and_nan);
    suite_add_tcase(s, tt);
    TCase *tf = tcase_create("fits");
    tcase_set_timeout(tf, 300);
    tcase_add_test(tf, fir_fit_recovers_taps);
    tcase_add_test(tf, dft_fit_recovers_matrix);
    tcase_add_test(tf, abs_wide_relu_net_fits);
    suite_add_tcase(s, tf);
    return tu_run(s);
}
