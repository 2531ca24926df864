/* test_cli_io.c — `nnfit data/train/predict/inspect` with files: the done-when pipeline checked
 * by NumPy, PyTorch fixtures, and every bad-input case (exit 2, one line naming the file and
 * what was expected, no output file created or truncated). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/nnfit-cli-io-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

static const char *path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path(name), "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_int_eq((int)fwrite(data, 1, n, f), (int)n);
    fclose(f);
}
static void put_text(const char *name, const char *text) { put(name, text, strlen(text)); }

static int exists(const char *name)
{
    struct stat sb;
    return stat(path(name), &sb) == 0;
}

/* Runs `nnfit ARGS` inside the temp folder. */
static int run(const char *args, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", dir, tu_nnfit(), args);
    return tu_run_cmd(cmd, out, err);
}

/* The bad-input contract: exit 2, one stderr line containing `a` and `b`, no new output file,
 * and a pre-existing output ("OLD") left as it was. */
static void expect_bad(const char *args, const char *out_name, const char *a, const char *b)
{
    char *err = NULL;
    int rc = run(args, NULL, &err);
    ck_assert_msg(rc == 2, "nnfit %s: exit %d, stderr: %s", args, rc, err ? err : "");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, a), "stderr '%s' lacks '%s'", err, a);
    if (b) ck_assert_msg(strstr(err, b), "stderr '%s' lacks '%s'", err, b);
    char *nl = strchr(err, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "stderr is not one line: '%s'", err);
    ck_assert_msg(!exists(out_name), "%s was created", out_name);
    free(err);
    /* again with an existing output: it must keep its contents */
    put_text(out_name, "OLD\n");
    rc = run(args, NULL, NULL);
    ck_assert_int_eq(rc, 2);
    unsigned char *b2;
    size_t n;
    ck_assert_int_eq(nf_file_read(path(out_name), 100, &b2, &n), NF_OK);
    ck_assert_str_eq((char *)b2, "OLD\n");
    free(b2);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A %s | grep -c tmp || true", dir);
    char *ls;
    ck_assert_int_eq(tu_run_cmd(cmd, &ls, NULL), 0);
    ck_assert_int_eq(atoi(ls), 0); /* no temporary file left */
    free(ls);
    unlink(path(out_name));
}

#define TRAIN(data, inputs, layers) "train --data " data " --inputs " inputs " --layers " layers " --epochs 2 --quiet --save out.safetensors"

static void good_csv(void) { put_text("ok.csv", "a,b,y\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n-1,2,3\n"); }

START_TEST(bad_empty_file)
{
    put_text("empty.csv", "");
    expect_bad(TRAIN("empty.csv", "1", "1,1"), "out.safetensors", "empty.csv: empty file", "expected rows of numbers");
}
END_TEST
START_TEST(bad_header_only)
{
    put_text("hdr.csv", "x,y\r\n");
    expect_bad(TRAIN("hdr.csv", "1", "1,1"), "out.safetensors", "hdr.csv:1: header line but no data rows", NULL);
}
END_TEST
START_TEST(bad_ragged_rows)
{
    put_text("ragged.csv", "# x, y\n1,2\n3,4\n5,6,7\n");
    expect_bad(TRAIN("ragged.csv", "1", "1,1"), "out.safetensors", "ragged.csv:4: 3 columns, expected 2 (as on line 2)", NULL);
}
END_TEST
START_TEST(bad_non_numeric_cell)
{
    put_text("word.csv", "1,2\n3,four\n");
    expect_bad(TRAIN("word.csv", "1", "1,1"), "out.safetensors", "word.csv:2: column 2: 'four' is not a number", NULL);
}
END_TEST
START_TEST(bad_nonfinite)
{
    put_text("nan.csv", "1,2\nNaN,4\n");
    expect_bad(TRAIN("nan.csv", "1", "1,1"), "out.safetensors", "nan.csv:2: column 1: non-finite value 'NaN'",
               "--allow-nonfinite");
    put_text("inf.csv", "1 2\n3 -inf\n");
    expect_bad(TRAIN("inf.csv", "1", "1,1"), "out.safetensors", "inf.csv:2: column 2: non-finite value '-inf'", NULL);
}
END_TEST
START_TEST(allow_nonfinite_predict)
{
    /* accepted with the flag: the NaN row predicts NaN, the others are finite */
    put_text("nan.csv", "1,2\nnan,4\n");
    ck_assert_int_eq(run("train --data nan.csv --inputs 1 --layers 1,1 --epochs 1 --quiet --allow-nonfinite", NULL, NULL), 1);
    put_text("x.csv", "0.5\nnan\n");
    ck_assert_int_eq(run("predict --model m.safetensors --data x.csv", NULL, NULL), 2);
    ck_assert_int_eq(system("true"), 0);
    char *out;
    put_text("ok.csv", "1,2\n3,4\n");
    ck_assert_int_eq(run(TRAIN("ok.csv", "1", "1,1"), NULL, NULL), 0);
    ck_assert_int_eq(run("predict --model out.safetensors --data x.csv --allow-nonfinite", &out, NULL), 0);
    ck_assert_msg(strstr(out, "\nnan\n") || strstr(out, "\n-nan\n"), "got '%s'", out);
    free(out);
}
END_TEST
START_TEST(bad_columns_vs_model_train)
{
    good_csv();
    expect_bad(TRAIN("ok.csv", "2", "3,4,1"), "out.safetensors",
               "ok.csv has 2 input and 1 target columns but the model (--layers 3,4,1) maps 3 inputs to 1 outputs", NULL);
}
END_TEST
START_TEST(bad_columns_vs_model_predict)
{
    good_csv();
    ck_assert_int_eq(run(TRAIN("ok.csv", "2", "2,3,1"), NULL, NULL), 0);
    put_text("five.csv", "1,2,3,4,5\n");
    expect_bad("predict --model out.safetensors --data five.csv --out p.csv", "p.csv",
               "five.csv has 5 columns but model out.safetensors (2,3,1) takes 2 inputs", "expected 2 columns, or 3 with targets");
}
END_TEST
START_TEST(bad_inputs_ge_columns)
{
    good_csv();
    expect_bad(TRAIN("ok.csv", "3", "3,1"), "out.safetensors",
               "ok.csv: 3 input columns requested but the data has 3 columns", NULL);
}
END_TEST

/* .npy bytes: version-1 header + data */
static void put_npy(const char *name, const char *dict, const void *data, size_t n, size_t cut)
{
    size_t dl = strlen(dict), h = (10 + dl + 1 + 63) / 64 * 64 - 10;
    unsigned char *b = calloc(1, 10 + h + n);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(h & 255);
    b[9] = (unsigned char)(h >> 8);
    memset(b + 10, ' ', h);
    memcpy(b + 10, dict, dl);
    b[10 + h - 1] = '\n';
    memcpy(b + 10 + h, data, n);
    put(name, b, 10 + h + n - cut);
    free(b);
}
static const float F6[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};

START_TEST(bad_npy_truncated)
{
    put_npy("t.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", F6, 24, 5);
    expect_bad(TRAIN("t.npy", "1", "1,1"), "out.safetensors", "t.npy: byte 128: shape (3, 2) needs 24 data bytes but the file has 19", NULL);
    put_npy("h.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", F6, 24, 70);
    expect_bad(TRAIN("h.npy", "1", "1,1"), "out.safetensors", "h.npy: byte 10: header of 118 bytes runs past the end", NULL);
}
END_TEST
START_TEST(bad_npy_header_lies)
{
    put_npy("lie.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (300000, 2), }", F6, 24, 0);
    expect_bad(TRAIN("lie.npy", "1", "1,1"), "out.safetensors", "lie.npy: byte 128: shape (300000, 2) needs 2400000 data bytes but the file has 24", NULL);
}
END_TEST
START_TEST(bad_npy_size_overflow)
{
    put_npy("ovf.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647), }", F6, 24, 0);
    expect_bad(TRAIN("ovf.npy", "1", "1,1"), "out.safetensors", "ovf.npy: shape (2147483647, 2147483647) is too large (size overflows)", NULL);
}
END_TEST
START_TEST(bad_npy_dtype)
{
    put_npy("i8.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", F6, 24, 0);
    expect_bad(TRAIN("i8.npy", "1", "1,1"), "out.safetensors", "i8.npy: dtype '<i8' is not supported, expected float32 or float64", NULL);
}
END_TEST

/* safetensors from a JSON header and dlen data bytes */
static void put_st(const char *name, const char *json, size_t dlen, uint64_t claimed)
{
    size_t jl = strlen(json);
    unsigned char *b = calloc(1, 8 + jl + dlen);
    uint64_t hl = claimed ? claimed : jl;
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)(hl >> (8 * k));
    memcpy(b + 8, json, jl);
    put(name, b, 8 + jl + dlen);
    free(b);
}
#define T(name, shape, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"
#define PREDICT(model) "predict --model " model " --data x.csv --out p.csv"

static void x_csv(void) { put_text("x.csv", "0.5,0.25\n-1,2\n"); }

START_TEST(bad_st_header_length)
{
    x_csv();
    put_st("len.safetensors", "{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) "}", 12, 100000);
    expect_bad(PREDICT("len.safetensors"), "p.csv", "len.safetensors: byte 0: header length 100000 is larger than the 148 bytes that follow it", NULL);
}
END_TEST
START_TEST(bad_st_invalid_json)
{
    x_csv();
    put_st("json.safetensors", "{\"layers.0.weight\":{\"dtype\":\"F32\",,}", 12, 0);
    expect_bad(PREDICT("json.safetensors"), "p.csv", "json.safetensors: byte ", "invalid JSON in the safetensors header");
}
END_TEST
START_TEST(bad_st_offsets_outside)
{
    x_csv();
    put_st("out.safetensors", "{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) "}", 10, 0);
    expect_bad(PREDICT("out.safetensors"), "p.csv", "out.safetensors: tensor 'layers.0.bias': data_offsets [8, 12] outside the 10-byte data section", NULL);
}
END_TEST
START_TEST(bad_st_offsets_overlap)
{
    x_csv();
    put_st("ovl.safetensors", "{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 4, 8) "}", 12, 0);
    expect_bad(PREDICT("ovl.safetensors"), "p.csv", "ovl.safetensors: tensors 'layers.0.weight' [0, 8) and 'layers.0.bias' [4, 8) overlap", NULL);
}
END_TEST
START_TEST(bad_st_size_wraps)
{
    /* 2^62 floats are 2^64 bytes: the product wraps to 0 in 64 bits, the message must not say 0 */
    x_csv();
    put_st("wrap.safetensors", "{" T("layers.0.weight", "[2147483648,2147483648]", 0, 0) "," T("layers.0.bias", "[1]", 0, 4) "}", 4, 0);
    expect_bad(PREDICT("wrap.safetensors"), "p.csv",
               "wrap.safetensors: tensor 'layers.0.weight': 0 bytes in data_offsets but shape × dtype needs 1.845e+19 (more than 2^64)", NULL);
}
END_TEST
START_TEST(bad_st_missing_tensor)
{
    x_csv();
    put_st("miss.safetensors", "{" T("layers.0.weight", "[3,2]", 0, 24) "," T("layers.0.bias", "[3]", 24, 36) ","
                               T("layers.1.weight", "[1,3]", 36, 48) "}", 48, 0);
    expect_bad(PREDICT("miss.safetensors"), "p.csv", "miss.safetensors: missing tensor layers.1.bias", NULL);
}
END_TEST
START_TEST(bad_st_wrong_shape)
{
    x_csv();
    put_st("shape.safetensors", "{" T("layers.0.weight", "[3,2]", 0, 24) "," T("layers.0.bias", "[3]", 24, 36) ","
                                T("layers.1.weight", "[1,4]", 36, 52) "," T("layers.1.bias", "[1]", 52, 56) "}", 56, 0);
    expect_bad(PREDICT("shape.safetensors"), "p.csv", "shape.safetensors: tensor layers.1.weight has shape [1, 4], expected [1, 3]", NULL);
}
END_TEST
START_TEST(bad_st_wrong_dtype)
{
    x_csv();
    put_st("f16.safetensors", "{\"layers.0.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
                              T("layers.0.bias", "[1]", 4, 8) "}", 8, 0);
    expect_bad(PREDICT("f16.safetensors"), "p.csv", "f16.safetensors: tensor layers.0.weight has dtype F16, expected F32", NULL);
}
END_TEST
START_TEST(bad_st_unknown_activation)
{
    x_csv();
    put_st("act.safetensors", "{\"__metadata__\":{\"activations\":\"swoosh\"}," T("layers.0.weight", "[1,2]", 0, 8) ","
                              T("layers.0.bias", "[1]", 8, 12) "}", 12, 0);
    expect_bad(PREDICT("act.safetensors"), "p.csv", "act.safetensors: metadata 'activations' names unknown activation 'swoosh' for layer 0", "known: ");
}
END_TEST
START_TEST(bad_init_model_shape)
{
    good_csv();
    ck_assert_int_eq(run(TRAIN("ok.csv", "2", "2,3,1"), NULL, NULL), 0);
    ck_assert_int_eq(rename(path("out.safetensors"), path("m.safetensors")), 0);
    expect_bad("train --data ok.csv --inputs 2 --layers 2,4,1 --init-model m.safetensors --save out.safetensors --quiet",
               "out.safetensors", "--layers 2,4,1 does not match --init-model m.safetensors, which has layers 2,3,1", NULL);
}
END_TEST

START_TEST(bad_save_folder)
{
    good_csv();
    expect_bad("train --data ok.csv --inputs 2 --layers 2,1 --quiet --save nodir/m.safetensors", "m.safetensors",
               "--save nodir/m.safetensors: folder 'nodir' does not exist", NULL);
}
END_TEST

static ino_t inode_of(const char *name)
{
    struct stat sb;
    ck_assert_int_eq(stat(path(name), &sb), 0);
    return sb.st_ino;
}

/* exit 2, one stderr line holding `want`, and the existing `name` (FIFO, device, ...) kept */
static void expect_refused(const char *args, const char *name, const char *want)
{
    struct stat before, after;
    ck_assert_int_eq(lstat(path(name), &before), 0);
    char *out, *err;
    int rc = run(args, &out, &err);
    ck_assert_msg(rc == 2, "nnfit %s: exit %d, stderr: %s", args, rc, err);
    ck_assert_msg(strstr(err, want), "stderr '%s' lacks '%s'", err, want);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "stderr is not one line: '%s'", err);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(lstat(path(name), &after), 0);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(before.st_mode, after.st_mode);
    free(out);
    free(err);
}

/* Every output of data and predict: a new file each time (temporary + rename), a non-regular
 * target refused before any work, a 252-byte name accepted, --quiet silent. */
START_TEST(outputs_atomic_and_checked)
{
    char *out, *err;
    ck_assert_int_eq(run("data --task abs --n 50 --out a.csv", &out, NULL), 0);
    free(out);
    ino_t first = inode_of("a.csv");
    ck_assert_int_eq(run("data --task abs --n 50 --out a.csv --quiet", &out, &err), 0);
    ck_assert_str_eq(out, ""); /* --quiet prints nothing */
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
    ck_assert(inode_of("a.csv") != first);
    ck_assert_int_eq(run(TRAIN("a.csv", "2", "2,3,1"), NULL, NULL), 0);
    ck_assert_int_eq(run("predict --model out.safetensors --data a.csv --out p.npy", NULL, NULL), 0);
    first = inode_of("p.npy");
    ck_assert_int_eq(run("predict --model out.safetensors --data a.csv --out p.npy", NULL, NULL), 0);
    ck_assert(inode_of("p.npy") != first);
    /* the streamed .npy and CSV are the bytes nf_npy_format / nf_csv_format give */
    nf_mat P;
    ck_assert_int_eq(nf_data_read(path("p.npy"), NULL, &P), NF_OK);
    ck_assert_int_eq(P.rows, 50);
    unsigned char *want, *got;
    size_t wn, gn;
    ck_assert_int_eq(nf_npy_format(&P, &want, &wn), NF_OK);
    ck_assert_int_eq(nf_file_read(path("p.npy"), 1 << 20, &got, &gn), NF_OK);
    ck_assert_int_eq((int)gn, (int)wn);
    ck_assert_int_eq(memcmp(got, want, wn), 0);
    free(want);
    free(got);
    ck_assert_int_eq(run("predict --model out.safetensors --data a.csv --out p.csv", NULL, NULL), 0);
    char *text;
    ck_assert_int_eq(nf_csv_format(&P, NULL, &text, &wn), NF_OK);
    ck_assert_int_eq(nf_file_read(path("p.csv"), 1 << 20, &got, &gn), NF_OK);
    ck_assert_str_eq((char *)got, text);
    free(text);
    free(got);
    nf_mat_free(&P);

    ck_assert_int_eq(mkfifo(path("fifo.csv"), 0644), 0);
    expect_refused("data --task abs --n 50 --out fifo.csv", "fifo.csv", "--out fifo.csv: is a FIFO (named pipe)");
    expect_refused("predict --model out.safetensors --data a.csv --out fifo.csv", "fifo.csv", "--out fifo.csv: is a FIFO");
    /* checked before any work: the output is named, not the missing model */
    expect_refused("predict --model missing.safetensors --data a.csv --out fifo.csv", "fifo.csv", "--out fifo.csv: is a FIFO");
    ck_assert_int_eq(mkdir(path("sub"), 0755), 0);
    expect_refused("data --task abs --n 50 --out sub", "sub", "--out sub: is a directory");
    if (mknod(path("null"), S_IFCHR | 0666, makedev(1, 3)) == 0)
        expect_refused("data --task abs --n 50 --out null", "null", "--out null: is a character device");
    expect_bad("data --task abs --n 50 --out nodir/z.csv", "z.csv", "--out nodir/z.csv: folder 'nodir' does not exist", NULL);
    expect_bad("predict --model out.safetensors --data a.csv --out nodir/q.csv", "q.csv",
               "--out nodir/q.csv: folder 'nodir' does not exist", NULL);

    char name[300], args[1024];
    memset(name, 'd', 248);
    strcpy(name + 248, ".csv"); /* 252 bytes */
    snprintf(args, sizeof args, "data --task abs --n 20 --out %s --quiet", name);
    ck_assert_int_eq(run(args, NULL, &err), 0);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert(exists(name));
    ck_assert_int_eq(run(args, NULL, NULL), 0); /* and over an existing one */
    snprintf(args, sizeof args, "predict --model out.safetensors --data %s --out %s", name, name);
    ck_assert_int_eq(run(args, NULL, NULL), 0);
    /* a model saved under a 252-byte name (its temporary name used to exceed the 255-byte limit) */
    memcpy(name + 248, ".sft", 5);
    snprintf(args, sizeof args, "train --task abs --epochs 1 --quiet --save %s", name);
    ck_assert_int_eq(run(args, NULL, &err), 0);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert(exists(name));
}
END_TEST

/* A write that fails (file size limit, as a full disk would) exits 2 naming the file and keeps
 * the old contents. */
START_TEST(output_write_error_keeps_old)
{
    put_text("big.csv", "OLD\n");
    char cmd[1024], *err;
    snprintf(cmd, sizeof cmd, "cd %s && trap '' XFSZ && ulimit -f 8 && %s data --task abs --n 20000 --out big.csv",
             dir, tu_nnfit());
    int rc = tu_run_cmd(cmd, NULL, &err);
    ck_assert_msg(rc == 2, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "big.csv: write failed: File too large"), "stderr: %s", err);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
    free(err);
    unsigned char *b;
    size_t n;
    ck_assert_int_eq(nf_file_read(path("big.csv"), 100, &b, &n), NF_OK);
    ck_assert_str_eq((char *)b, "OLD\n");
    free(b);
    char *ls;
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &ls, NULL), 0);
    ck_assert_int_eq(atoi(ls), 1);
    free(ls);
}
END_TEST

static int have_numpy(void)
{
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static void numpy_check(const char *model, const char *data, const char *pred)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && /usr/bin/python3 %s/tests/st_numpy.py %s %s %s 1e-5", dir,
             getenv("NNFIT_SOURCE_ROOT"), model, data, pred);
    char *out = NULL, *err = NULL;
    int rc = tu_run_cmd(cmd, &out, &err);
    ck_assert_msg(rc == 0, "numpy check failed (%d): %s %s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/* The done-when pipeline; predictions checked by NumPy evaluating the saved weights. */
START_TEST(pipeline_abs_csv)
{
    if (!have_numpy()) {
        fprintf(stderr, "pipeline_abs_csv: /usr/bin/python3 with numpy missing, skipped\n");
        return;
    }
    char *out;
    ck_assert_int_eq(run("data --task abs --n 4096 --out abs.csv", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "inputs: 2"));
    free(out);
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,3,1 --save m.safetensors --epochs 5 --quiet", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "saved: m.safetensors"));
    free(out);
    ck_assert_int_eq(run("predict --model m.safetensors --data abs.csv --out p.csv", NULL, NULL), 0);
    numpy_check("m.safetensors", "abs.csv", "p.csv");
    /* stdout form gives the same text */
    ck_assert_int_eq(run("predict --model m.safetensors --data abs.csv", &out, NULL), 0);
    unsigned char *b;
    size_t n;
    ck_assert_int_eq(nf_file_read(path("p.csv"), 1 << 20, &b, &n), NF_OK);
    ck_assert_str_eq(out, (char *)b);
    free(b);
    free(out);
}
END_TEST

/* nnfit data --task teacher writes the library's rows; the file trains like any other. */
START_TEST(teacher_data_file)
{
    char *out;
    ck_assert_int_eq(run("data --task teacher --k 10 --data-seed 5 --out t.npy", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "rows: 8192\ninputs: 10\ntargets: 1\n"));
    free(out);
    nf_mat M, X, Y;
    ck_assert_int_eq(nf_data_read(path("t.npy"), NULL, &M), NF_OK);
    ck_assert(M.rows == 8192 && M.cols == 11);
    nf_task_config c;
    nf_task_defaults(NF_TASK_TEACHER, &c);
    c.k = 10;
    c.seed = 5;
    ck_assert_int_eq(nf_task_generate(&c, &X, &Y), NF_OK);
    for (int r = 0; r < 8192; r++) {
        ck_assert(!memcmp(M.data + r * 11, X.data + r * 10, 10 * sizeof(float)));
        ck_assert(M.data[r * 11 + 10] == Y.data[r]);
    }
    nf_mat_free(&M); nf_mat_free(&X); nf_mat_free(&Y);
    ck_assert_int_eq(run("train --data t.npy --inputs 10 --layers 10,10,1 --epochs 2 --quiet", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "final_loss: "));
    free(out);
}
END_TEST

/* The numbers `predict` and `inspect` print, against the library: predict's MSE over the
 * target columns is the final loss train reported for the same rows; inspect's min, max,
 * mean, std (population) and rms of each tensor are those of the saved weights. */
static double number_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    ck_assert_msg(p != NULL, "'%s' not in: %s", key, text);
    return strtod(p + strlen(key), NULL);
}

START_TEST(predict_and_inspect_numbers)
{
    char *out, *err;
    ck_assert_int_eq(run("data --task abs --n 600 --out a.csv", NULL, NULL), 0);
    ck_assert_int_eq(run("train --data a.csv --inputs 2 --layers 2,4,1 --epochs 3 --save m.safetensors", &out, NULL), 0);
    const double final = number_after(out, "final_loss: ");
    free(out);
    ck_assert_int_eq(run("predict --model m.safetensors --data a.csv --out p.csv", NULL, &err), 0);
    const double mse = number_after(err, "mse vs the target columns ");
    ck_assert_msg(fabs(mse - final) <= 1e-5 * final, "predict mse %.9g, train final loss %.9g", mse, final);
    free(err);
    nf_model *m;
    ck_assert_int_eq(nf_model_load(path("m.safetensors"), NULL, &m, NULL), NF_OK);
    ck_assert_int_eq(run("inspect m.safetensors", &out, NULL), 0);
    for (int l = 0; l < 2; l++)
        for (int bias = 0; bias < 2; bias++) {
            const nf_dense *L = &m->layers[l];
            const float *a = bias ? L->b : L->W;
            const size_t n = bias ? (size_t)L->out : (size_t)L->out * (size_t)L->in;
            double mn = INFINITY, mx = -INFINITY, sum = 0.0;
            for (size_t i = 0; i < n; i++) {
                mn = fmin(mn, a[i]);
                mx = fmax(mx, a[i]);
                sum += a[i];
            }
            const double mean = sum / (double)n;
            double ss = 0.0, sq = 0.0;
            for (size_t i = 0; i < n; i++) {
                ss += (a[i] - mean) * (a[i] - mean);
                sq += (double)a[i] * a[i];
            }
            char line[64];
            snprintf(line, sizeof line, "layers.%d.%s", l, bias ? "bias" : "weight");
            const char *at = strstr(out, line);
            ck_assert_msg(at != NULL, "inspect lacks %s: %s", line, out);
            const double want[5] = {mn, mx, mean, sqrt(ss / (double)n), sqrt(sq / (double)n)};
            const char *keys[5] = {"min=", "max=", "mean=", "std=", "rms="};
            for (int k = 0; k < 5; k++) {
                const double got = number_after(at, keys[k]);
                ck_assert_msg(fabs(got - want[k]) <= 1e-6 * fabs(want[k]) + 1e-12, "%s %s%.9g, want %.9g",
                              line, keys[k], got, want[k]);
            }
        }
    free(out);
    nf_model_free(m);
}
END_TEST

START_TEST(pipeline_npy_and_inspect)
{
    if (!have_numpy()) {
        fprintf(stderr, "pipeline_npy_and_inspect: /usr/bin/python3 with numpy missing, skipped\n");
        return;
    }
    ck_assert_int_eq(run("data --task fir --frame 8 --n 256 --out fir.npy", NULL, NULL), 0);
    char *out;
    ck_assert_int_eq(run("train --data fir.npy --inputs 8 --layers 8,8 --act tanh --epochs 3 --quiet --save f.safetensors", &out, NULL), 0);
    free(out);
    ck_assert_int_eq(run("predict --model f.safetensors --data fir.npy --out p.npy", NULL, NULL), 0);
    numpy_check("f.safetensors", "fir.npy", "p.npy");
    ck_assert_int_eq(run("inspect f.safetensors", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "layers: 8,8\n"));
    ck_assert_ptr_nonnull(strstr(out, "activations: linear\n"));
    ck_assert_ptr_nonnull(strstr(out, "layers.0.weight n=64"));
    ck_assert_ptr_nonnull(strstr(out, "optimizer: "));
    free(out);
}
END_TEST

/* --act prelu / elu_learn: the per-unit parameters are trained, saved as layers.{i}.act.*
 * and evaluated alike by NumPy from the file; they start at 0.25 and 1. */
START_TEST(pipeline_learnable_acts)
{
    if (!have_numpy()) {
        fprintf(stderr, "pipeline_learnable_acts: /usr/bin/python3 with numpy missing, skipped\n");
        return;
    }
    char *out;
    ck_assert_int_eq(run("data --task abs --n 512 --out abs.csv", NULL, NULL), 0);
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,5,3,1 --act prelu --epochs 20 --quiet --save pr.safetensors", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "act: prelu"));
    free(out);
    ck_assert_int_eq(run("predict --model pr.safetensors --data abs.csv --out pr.csv", NULL, NULL), 0);
    numpy_check("pr.safetensors", "abs.csv", "pr.csv");
    ck_assert_int_eq(run("inspect pr.safetensors", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "activations: prelu,prelu,linear\n"));
    ck_assert_ptr_nonnull(strstr(out, "layers.0.act.weight n=5 "));
    ck_assert_ptr_nonnull(strstr(out, "layers.1.act.weight n=3 "));
    ck_assert_ptr_null(strstr(out, "layers.1.act.weight n=3        min= 2.500000e-01 max= 2.500000e-01"));
    free(out);
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,4,1 --act elu_learn --epochs 5 --opt lbfgs --batch 0 --quiet --save el.safetensors", &out, NULL), 0);
    free(out);
    ck_assert_int_eq(run("predict --model el.safetensors --data abs.csv --out el.csv", NULL, NULL), 0);
    numpy_check("el.safetensors", "abs.csv", "el.csv");
    ck_assert_int_eq(run("inspect el.safetensors", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "layers.0.act.alpha n=4 "));
    free(out);
}
END_TEST

/* `nnfit inspect --task/--data`: the neuron table of a converged 3-ReLU abs net (the hexagon:
 * three live units ~120° apart, each active on ~half the square) and of a stuck one (all three
 * units dead).  Seeds from the README study (Adam, lr 0.01, 3000 full-batch epochs). */
START_TEST(inspect_units)
{
    char *out;
    const char *common = "train --task abs --batch 0 --epochs 3000 --opt adam --lr 0.01 --act relu "
                         "--init glorot_uniform --layers 2,3,1 --threads 1 --quiet";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --seed 8219856085974269612 --save good.safetensors", common);
    ck_assert_int_eq(run(cmd, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "final_loss: 1.028023e-03"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s --seed 12283248031007207505 --save stuck.safetensors", common);
    ck_assert_int_eq(run(cmd, &out, NULL), 0);
    free(out);

    ck_assert_int_eq(run("inspect good.safetensors --task abs", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "layers: 2,3,1\n")); /* the usual report comes first */
    ck_assert_ptr_nonnull(strstr(out, "units (on task abs, 4096 rows, data seed 1):"));
    ck_assert_ptr_nonnull(strstr(out, "layer 0: 3 units, 0 dead, 0 always-on, 0 duplicate, 0 parallel"));
    const char *t = strstr(out, "units (on");
    int rows = 0;
    for (int u = 0; u < 3; u++) { /* "    0     u  active%  z_min  z_max  state  kink_deg  |w_out|" */
        char line[64];
        snprintf(line, sizeof line, "\n    0     %d ", u);
        const char *l = strstr(t, line);
        ck_assert_ptr_nonnull(l);
        double active, zmin, zmax, angle, wout;
        char state[16];
        ck_assert_int_eq(sscanf(l + strlen(line), "%lf %lf %lf %15s %lf %lf", &active, &zmin, &zmax, state, &angle, &wout), 6);
        ck_assert_str_eq(state, "ok");
        ck_assert(active > 45.0 && active < 55.0);
        ck_assert(zmin < 0.0 && zmax > 0.0);
        ck_assert(angle > 55.0 && angle < 65.0); /* the hexagon's kink lines meet at 60 degrees */
        rows++;
    }
    ck_assert_int_eq(rows, 3);
    free(out);

    ck_assert_int_eq(run("inspect stuck.safetensors --task abs", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "layer 0: 3 units, 3 dead, 0 always-on, 0 duplicate, 0 parallel"));
    free(out);
    /* the hexagon's kink lines are 60° apart: a 61° threshold makes them parallel, 59° does not */
    ck_assert_int_eq(run("inspect good.safetensors --task abs --angle 59", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "0 parallel (angle < 59 deg)"));
    free(out);
    ck_assert_int_eq(run("inspect good.safetensors --task abs --angle 61", &out, NULL), 0);
    ck_assert_ptr_null(strstr(out, " 0 parallel (angle < 61 deg)"));
    ck_assert_ptr_nonnull(strstr(out, "parallel (angle < 61 deg)"));
    free(out);
    /* the same through a data file (first 2 of 3 columns) */
    ck_assert_int_eq(run("data --task abs --n 1000 --data-seed 1 --out abs.csv", NULL, NULL), 0);
    ck_assert_int_eq(run("inspect stuck.safetensors --data abs.csv --inputs 2", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "units (on "));
    ck_assert_ptr_nonnull(strstr(out, "1000 rows, first 2 of 3 columns"));
    ck_assert_ptr_nonnull(strstr(out, "layer 0: 3 units, 3 dead"));
    free(out);
    /* bad input: exit 2, one line naming the problem, nothing on stdout */
    char *err;
    ck_assert_int_eq(run("inspect stuck.safetensors --data abs.csv --inputs 3", &out, &err), 2);
    ck_assert_str_eq(out, "");
    ck_assert_ptr_nonnull(strstr(err, "--inputs 3 but model"));
    free(out);
    free(err);
    ck_assert_int_eq(run("inspect stuck.safetensors --task fir", &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--task fir has 64 inputs"));
    free(out);
    free(err);
    ck_assert_int_eq(run("inspect stuck.safetensors --task abs --data abs.csv", &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "exclude each other"));
    free(out);
    free(err);
}
END_TEST

START_TEST(torch_fixture_predict)
{
    char cmd[3000];
    char *out;
    char model[1024];
    snprintf(model, sizeof model, "%s", tu_data("torch_relu.safetensors")); /* tu_data reuses its buffer */
    snprintf(cmd, sizeof cmd, "predict --model %s --data %s", model, tu_data("torch_x.csv"));
    ck_assert_int_eq(run(cmd, &out, NULL), 0);
    nf_mat P, Y;
    ck_assert_int_eq(nf_csv_parse(out, strlen(out), "stdout", NULL, &P), NF_OK);
    ck_assert_int_eq(nf_data_read(tu_data("torch_relu_y.csv"), NULL, &Y), NF_OK);
    ck_assert_int_eq(P.rows, Y.rows);
    for (int i = 0; i < Y.rows; i++) ck_assert_close(P.data[i], Y.data[i], 1e-6);
    free(out);
    nf_mat_free(&P);
    nf_mat_free(&Y);
    /* continue training the PyTorch model: --layers taken from the file */
    put_text("abs.csv", "0.3,0.4,0.5\n-0.6,0.8,1\n0,1,1\n");
    snprintf(cmd, sizeof cmd, "train --data abs.csv --inputs 2 --init-model %s --epochs 2 --quiet --save t.safetensors",
             tu_data("torch_relu.safetensors"));
    ck_assert_int_eq(run(cmd, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "layers: 2,8,4,1\n"));
    free(out);
}
END_TEST

START_TEST(init_model_roundtrip)
{
    /* lr 1e-30 leaves the weights as loaded, so predictions must be bit-identical */
    good_csv();
    ck_assert_int_eq(run(TRAIN("ok.csv", "2", "2,5,1"), NULL, NULL), 0);
    ck_assert_int_eq(run("train --data ok.csv --inputs 2 --init-model out.safetensors --opt sgd --lr 1e-30 --epochs 1 --quiet --save again.safetensors", NULL, NULL), 0);
    char *a, *b;
    ck_assert_int_eq(run("predict --model out.safetensors --data ok.csv", &a, NULL), 0);
    ck_assert_int_eq(run("predict --model again.safetensors --data ok.csv", &b, NULL), 0);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(validation_loss_logged)
{
    ck_assert_int_eq(run("data --task abs --n 400 --out abs.csv", NULL, NULL), 0);
    char *out;
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,8,1 --epochs 4 --quiet --val-split 0.25 --log log.csv", &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "rows: 300\n"));
    ck_assert_ptr_nonnull(strstr(out, "val_rows: 100\n"));
    free(out);
    nf_mat L;
    ck_assert_int_eq(nf_data_read(path("log.csv"), NULL, &L), NF_OK);
    ck_assert_int_eq(L.rows, 4);
    ck_assert_int_eq(L.cols, 4);
    for (int r = 0; r < 4; r++) ck_assert(L.data[r * 4 + 3] > 0.0f);
    nf_mat_free(&L);
    /* same split from the same seed: same numbers */
    char *o2;
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,8,1 --epochs 4 --quiet --val-split 0.25", &out, NULL), 0);
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,8,1 --epochs 4 --quiet --val-split 0.25", &o2, NULL), 0);
    char *s1 = strstr(out, "final_loss"), *s2 = strstr(o2, "final_loss");
    ck_assert(s1 && s2 && strstr(s1, "seconds") && strstr(s2, "seconds"));
    *strstr(s1, "seconds") = '\0';
    *strstr(s2, "seconds") = '\0';
    ck_assert_str_eq(s1, s2); /* final_loss, best loss, val_rows, final_val_loss */
    free(out);
    free(o2);
    /* a separate validation file evaluated on the training file itself gives val == final loss */
    ck_assert_int_eq(run("train --data abs.csv --inputs 2 --layers 2,8,1 --epochs 2 --quiet --val abs.csv", &out, NULL), 0);
    double fl = atof(strstr(out, "final_loss: ") + 12), vl = atof(strstr(out, "final_val_loss: ") + 16);
    ck_assert_close(fl, vl, 1e-6 * fl);
    free(out);
    /* --x/--y */
    put_text("x.csv", "1\n2\n3\n");
    put_text("y.csv", "2\n4\n6\n");
    ck_assert_int_eq(run("train --x x.csv --y y.csv --layers 1,1 --epochs 1 --quiet", NULL, NULL), 0);
    put_text("y2.csv", "2\n4\n");
    char *err;
    ck_assert_int_eq(run("train --x x.csv --y y2.csv --layers 1,1 --epochs 1 --quiet", NULL, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--x x.csv has 3 rows but --y y2.csv has 2"));
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_cli_io");
    TCase *tc = tcase_create("bad_input");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bad_empty_file);
    tcase_add_test(tc, bad_header_only);
    tcase_add_test(tc, bad_ragged_rows);
    tcase_add_test(tc, bad_non_numeric_cell);
    tcase_add_test(tc, bad_nonfinite);
    tcase_add_test(tc, allow_nonfinite_predict);
    tcase_add_test(tc, bad_columns_vs_model_train);
    tcase_add_test(tc, bad_columns_vs_model_predict);
    tcase_add_test(tc, bad_inputs_ge_columns);
    tcase_add_test(tc, bad_npy_truncated);
    tcase_add_test(tc, bad_npy_header_lies);
    tcase_add_test(tc, bad_npy_size_overflow);
    tcase_add_test(tc, bad_npy_dtype);
    tcase_add_test(tc, bad_st_header_length);
    tcase_add_test(tc, bad_st_invalid_json);
    tcase_add_test(tc, bad_st_offsets_outside);
    tcase_add_test(tc, bad_st_offsets_overlap);
    tcase_add_test(tc, bad_st_size_wraps);
    tcase_add_test(tc, bad_st_missing_tensor);
    tcase_add_test(tc, bad_st_wrong_shape);
    tcase_add_test(tc, bad_st_wrong_dtype);
    tcase_add_test(tc, bad_st_unknown_activation);
    tcase_add_test(tc, bad_init_model_shape);
    tcase_add_test(tc, bad_save_folder);
    tcase_add_test(tc, outputs_atomic_and_checked);
    tcase_add_test(tc, output_write_error_keeps_old);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pipeline_abs_csv);
    tcase_add_test(tc, pipeline_npy_and_inspect);
    tcase_add_test(tc, teacher_data_file);
    tcase_add_test(tc, predict_and_inspect_numbers);
    tcase_add_test(tc, pipeline_learnable_acts);
    tcase_add_test(tc, inspect_units);
    tcase_add_test(tc, torch_fixture_predict);
    tcase_add_test(tc, init_model_roundtrip);
    tcase_add_test(tc, validation_loss_logged);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
