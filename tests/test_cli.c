/* test_cli.c — `nnfit train` end to end: the fits the README promises, and bad input
 * (exit status 2, one line naming the problem, nothing on stdout). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>


static double field(const char *out, const char *key)
{
    const char *p = strstr(out, key);
    ck_assert_msg(p != NULL, "no '%s' in output:\n%s", key, out);
    return strtod(p + strlen(key), NULL);
}


START_TEST(fir_and_dft_reach_the_exact_operator)
{
    const char *tasks[] = {"--task fir", "--task fir --fir-single", "--task dft --frame 32",
                           "--task dft --frame 16 --dft-complex"};
    for (size_t i = 0; i < 4; i++) {
        char args[256], *out;
        snprintf(args, sizeof args, "train %s --quiet", tasks[i]);
        ck_assert_int_eq(tu_run_nnfit(args, &out, NULL), 0);
        double ex = field(out, "weights_vs_exact_max_abs:");
        double ls = field(out, "weights_vs_lstsq_max_abs:");
        ck_assert_msg(ex < 1e-3 && ls < 1e-3, "%s: vs exact %g, vs lstsq %g", tasks[i], ex, ls);
        free(out);
    }
}
END_TEST

START_TEST(abs_runs_and_is_deterministic)
{
    char *o1, *o2;
    const char *args = "train --task abs --epochs 20 --seed 3 --quiet";
    ck_assert_int_eq(tu_run_nnfit(args, &o1, NULL), 0);
    ck_assert_int_eq(tu_run_nnfit(args, &o2, NULL), 0);
    double l1 = field(o1, "final_loss:"), l2 = field(o2, "final_loss:");
    ck_assert(l1 == l2);
    ck_assert(l1 > 0 && l1 < 0.5);
    ck_assert_ptr_nonnull(strstr(o1, "layers: 2,3,1"));
    free(o1);
    free(o2);
}
END_TEST

/* --threads 2 with batches of >= 512 rows splits each batch over two threads (data parallel):
 * same training up to float summation order */
START_TEST(threads_split_batches_same_result)
{
    char *o1, *o2;
    const char *a1 = "train --task fir --batch 1024 --epochs 60 --threads 1 --quiet";
    const char *a2 = "train --task fir --batch 1024 --epochs 60 --threads 2 --quiet";
    ck_assert_int_eq(tu_run_nnfit(a1, &o1, NULL), 0);
    ck_assert_int_eq(tu_run_nnfit(a2, &o2, NULL), 0);
    double l1 = field(o1, "final_loss:"), l2 = field(o2, "final_loss:");
    double w1 = field(o1, "weights_vs_exact_max_abs:"), w2 = field(o2, "weights_vs_exact_max_abs:");
    ck_assert_msg(l1 < 1e-6 && fabs(l1 - l2) <= 1e-3 * l1, "losses %g vs %g", l1, l2);
    ck_assert_msg(w1 < 1e-3 && fabs(w1 - w2) <= 1e-6, "weights vs exact %g vs %g", w1, w2);
    ck_assert_ptr_nonnull(strstr(o1, "threads: 1 (BLAS)"));
    ck_assert_ptr_nonnull(strstr(o2, "threads: 2 (batch rows split)"));
    free(o1);
    free(o2);
}
END_TEST

START_TEST(log_file_has_every_epoch)
{
    const char *path = "/tmp/nnfit-test-log.csv";
    char args[256];
    snprintf(args, sizeof args, "train --task abs --epochs 7 --quiet --log %s", path);
    ck_assert_int_eq(tu_run_nnfit(args, NULL, NULL), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int lines = 0, last_epoch = 0;
    while (fgets(line, sizeof line, f)) {
        if (lines++ == 0) {
            ck_assert_str_eq(line, "epoch,loss,seconds\n");
            continue;
        }
        ck_assert_int_eq(sscanf(line, "%d,", &last_epoch), 1);
    }
    fclose(f);
    remove(path);
    ck_assert_int_eq(lines, 8);
    ck_assert_int_eq(last_epoch, 7);
}
END_TEST

START_TEST(divergence_exits_1)
{
    char *out, *err;
    int rc = tu_run_nnfit("train --task fir --opt sgd --lr 1000 --epochs 50 --quiet", &out, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(err, "NaN/Inf"));
    ck_assert_ptr_nonnull(strstr(out, "diverged_epoch:"));
    free(out);
    free(err);
}
END_TEST

START_TEST(bad_input_exits_2)
{
    tu_expect_usage_error("train --bogus", "unknown option '--bogus'");
    tu_expect_usage_error("train --act relu7", "unknown activation 'relu7' (valid: linear, relu");
    tu_expect_usage_error("train --opt adamx", "unknown optimizer 'adamx'");
    tu_expect_usage_error("train --task sine", "unknown task 'sine' (valid: abs");
    tu_expect_usage_error("train --init glorot", "unknown initialiser 'glorot'");
    tu_expect_usage_error("train --loss l3", "unknown loss 'l3'");
    tu_expect_usage_error("train --lr -0.1", "--lr");
    tu_expect_usage_error("train --lr abc", "'abc' is not a decimal number");
    tu_expect_usage_error("train --lr nan", "not a finite number");
    tu_expect_usage_error("train --epochs 0", "--epochs: 0 is outside");
    tu_expect_usage_error("train --epochs 1.5", "'1.5' is not a decimal integer");
    tu_expect_usage_error("train --epochs 12abc", "'12abc' is not a decimal integer");
    tu_expect_usage_error("train --lr 2e6", "--lr: 2e6 is outside");
    tu_expect_usage_error("train --dropout 0.995", "--dropout: 0.995 is outside");
    tu_expect_usage_error("train --seed -1", "--seed: '-1'");
    tu_expect_usage_error("train --data a.csv --inputs 1 --x b.csv --y c.csv", "not both");
    tu_expect_usage_error("train --batch -1", "--batch");
    tu_expect_usage_error("train --layers 2,0,1", "--layers");
    tu_expect_usage_error("train --layers 3,3,1", "does not fit task abs");
    tu_expect_usage_error("train --betas 0.9", "two numbers");
    tu_expect_usage_error("train --opt adam --momentum 0.9", "--momentum does not apply to --opt adam");
    tu_expect_usage_error("train --opt sgd --amsgrad", "--amsgrad does not apply");
    tu_expect_usage_error("train --opt sgd --nesterov", "nesterov needs momentum");
    tu_expect_usage_error("train --delta 2", "--delta applies only to --loss huber");
    tu_expect_usage_error("train --act relu --act-param 0.1", "--act-param applies only");
    tu_expect_usage_error("train --task fir --taps /nonexistent/taps.txt", "/nonexistent/taps.txt");
    tu_expect_usage_error("train --lr", "needs a value");
    tu_expect_usage_error("train extra", "unexpected argument 'extra'");
    tu_expect_usage_error("frobnicate", "unknown command 'frobnicate'");
}
END_TEST

/* Integers are decimal only and never wrap; doubles out of range are named as such. */
START_TEST(numbers_decimal_only)
{
    char *a, *b, *c;
    const char *common = "train --task abs --epochs 3 --quiet --seed";
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s 010", common);
    ck_assert_int_eq(tu_run_nnfit(cmd, &a, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s 10", common);
    ck_assert_int_eq(tu_run_nnfit(cmd, &b, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s 8", common);
    ck_assert_int_eq(tu_run_nnfit(cmd, &c, NULL), 0);
    double la = field(a, "final_loss:"), lb = field(b, "final_loss:"), lc = field(c, "final_loss:");
    ck_assert_msg(la == lb, "--seed 010 gave %.9g, --seed 10 %.9g (010 read as octal?)", la, lb);
    ck_assert_msg(la != lc, "--seed 010 gave the result of --seed 8");
    free(a);
    free(b);
    free(c);
    tu_expect_usage_error("train --seed 0x10", "--seed: '0x10' is not a decimal integer");
    tu_expect_usage_error("train --seed ' -1'", "--seed: ' -1' is not a decimal integer");
    tu_expect_usage_error("train --seed -1", "--seed: '-1' must be a non-negative integer");
    tu_expect_usage_error("train --seed 18446744073709551616", "--seed: 18446744073709551616 is larger than 18446744073709551615");
    tu_expect_usage_error("train --epochs ' 5'", "--epochs: ' 5' is not a decimal integer");
    tu_expect_usage_error("train --epochs +5", "--epochs: '+5' is not a decimal integer");
    tu_expect_usage_error("train --epochs 010x", "'010x' is not a decimal integer");
    tu_expect_usage_error("train --epochs 4294967297", "--epochs: 4294967297 is outside [1, ");
    tu_expect_usage_error("train --epochs -3", "--epochs: -3 is outside [1, ");
    tu_expect_usage_error("train --lr 1e400", "--lr: '1e400' is outside the range of a double");
    tu_expect_usage_error("train --lr 1e-400", "--lr: '1e-400' is too close to zero for a double");
    tu_expect_usage_error("train --lr 0x1p-3", "--lr: '0x1p-3' is not a decimal number");
    tu_expect_usage_error("train --lr inf", "--lr: 'inf' is not a finite number");
    /* a bound is printed so that it reads back as itself */
    tu_expect_usage_error("train --val-split 1 --data x.csv", "--val-split: 1 is not a fraction strictly between 0 and 1");
}
END_TEST

START_TEST(help_and_version)
{
    char *out;
    ck_assert_int_eq(tu_run_nnfit("train --help", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "--layers"));
    free(out);
    ck_assert_int_eq(tu_run_nnfit("--version", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, NNFIT_VERSION));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fir_and_dft_reach_the_exact_operator);
    tcase_add_test(tc, abs_runs_and_is_deterministic);
    tcase_add_test(tc, threads_split_batches_same_result);
    tcase_add_test(tc, log_file_has_every_epoch);
    tcase_add_test(tc, divergence_exits_1);
    tcase_add_test(tc, bad_input_exits_2);
    tcase_add_test(tc, numbers_decimal_only);
    tcase_add_test(tc, help_and_version);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
