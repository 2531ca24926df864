/* test_model_io.c — safetensors save/load, PyTorch fixtures, malformed files (library level). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ck_err_has(s) ck_assert_msg(strstr(nf_last_error(), s), "error '%s' lacks '%s'", nf_last_error(), s)

static nf_model *make_model(void)
{
    int sizes[] = {3, 4, 2};
    nf_act_spec acts[2] = {{NF_ACT_LEAKY_RELU, 0.2f}, {NF_ACT_TANH, 0.0f}};
    nf_model *m;
    ck_assert_int_eq(nf_model_create(&m, 2, sizes, acts), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 3);
    for (size_t i = 0; i < nf_model_n_params(m); i++) nf_model_params(m)[i] = (float)nf_rng_normal(&rng);
    return m;
}

START_TEST(roundtrip)
{
    nf_model *m = make_model(), *r;
    nf_meta_kv kv[] = {{"optimizer", "adam"}, {"lr", "0.001"}};
    unsigned char *b;
    size_t n;
    ck_assert_int_eq(nf_model_to_safetensors(m, kv, 2, &b, &n), NF_OK);
    uint64_t hl = 0;
    for (int k = 0; k < 8; k++) hl |= (uint64_t)b[k] << (8 * k);
    ck_assert_int_eq((int)(hl % 8), 0);
    ck_assert_int_eq((int)(n - 8 - hl), (int)(nf_model_n_params(m) * 4)); /* data section = parameters */
    nf_model_info info;
    ck_assert_int_eq(nf_model_from_safetensors(b, n, "m.safetensors", NULL, &r, &info), NF_OK);
    ck_assert_int_eq(nf_model_n_layers(r), 2);
    ck_assert_int_eq(nf_model_size(r, 0), 3);
    ck_assert_int_eq(nf_model_size(r, 2), 2);
    ck_assert_int_eq(memcmp(nf_model_params(r), nf_model_params(m), nf_model_n_params(m) * sizeof(float)), 0);
    ck_assert_int_eq(nf_model_layer(r, 0)->act.kind, NF_ACT_LEAKY_RELU);
    ck_assert_float_eq(nf_model_layer(r, 0)->act.param, 0.2f);
    ck_assert_int_eq(nf_model_layer(r, 1)->act.kind, NF_ACT_TANH);
    ck_assert(info.acts_from_file);
    ck_assert_str_eq(nf_model_info_get(&info, "layers"), "3,4,2");
    ck_assert_str_eq(nf_model_info_get(&info, "activations"), "leaky_relu,tanh");
    ck_assert_str_eq(nf_model_info_get(&info, "optimizer"), "adam");
    /* the same forward pass */
    float x[6] = {0.1f, -0.2f, 0.3f, 1.0f, 2.0f, -3.0f}, y1[4], y2[4];
    ck_assert_int_eq(nf_model_reserve(m, 2), NF_OK);
    ck_assert_int_eq(nf_model_reserve(r, 2), NF_OK);
    ck_assert_int_eq(nf_model_predict(m, x, 2, y1), NF_OK);
    ck_assert_int_eq(nf_model_predict(r, x, 2, y2), NF_OK);
    ck_assert_int_eq(memcmp(y1, y2, sizeof y1), 0);
    nf_model_info_free(&info);
    nf_model_free(r);
    nf_model_free(m);
    free(b);
}
END_TEST

static void read_csv(const char *name, nf_mat *M)
{
    ck_assert_msg(nf_data_read(tu_data(name), NULL, M) == NF_OK, "%s", nf_last_error());
}

/* PyTorch nn.Sequential fixtures (tests/gen_torch_model.py). */
static void check_torch(const char *model, const char *yname, int acts_from_file, nf_act_kind first)
{
    nf_model *m;
    nf_model_info info;
    ck_assert_msg(nf_model_load(tu_data(model), NULL, &m, &info) == NF_OK, "%s", nf_last_error());
    ck_assert_int_eq(info.acts_from_file, acts_from_file);
    ck_assert_int_eq(nf_model_layer(m, 0)->act.kind, first);
    ck_assert_int_eq(nf_model_layer(m, nf_model_n_layers(m) - 1)->act.kind, NF_ACT_LINEAR);
    nf_mat X, Y;
    read_csv("torch_x.csv", &X);
    read_csv(yname, &Y);
    ck_assert_int_eq(X.cols, nf_model_n_in(m));
    float *P = malloc((size_t)Y.rows * (size_t)Y.cols * sizeof(float));
    ck_assert_int_eq(nf_model_reserve(m, X.rows), NF_OK);
    ck_assert_int_eq(nf_model_predict(m, X.data, X.rows, P), NF_OK);
    for (size_t i = 0; i < nf_mat_size(&Y); i++) ck_assert_close(P[i], Y.data[i], 1e-6);
    free(P);
    nf_mat_free(&X);
    nf_mat_free(&Y);
    nf_model_info_free(&info);
    nf_model_free(m);
}

/* Per-unit activation parameters: saved as layers.{i}.act.weight (prelu) / .act.alpha
 * (elu_learn) in buffer order, read back bit for bit. */
START_TEST(roundtrip_act_params)
{
    int sizes[] = {3, 5, 4, 2};
    nf_act_spec acts[3] = {{NF_ACT_PRELU, 0.25f}, {NF_ACT_ELU_LEARN, 1.0f}, {NF_ACT_LINEAR, 0.0f}};
    nf_model *m, *r;
    ck_assert_int_eq(nf_model_create(&m, 3, sizes, acts), NF_OK);
    ck_assert_int_eq((int)nf_model_n_params(m), 3 * 5 + 5 + 5 + 5 * 4 + 4 + 4 + 4 * 2 + 2);
    nf_rng rng;
    nf_rng_seed(&rng, 5);
    for (size_t i = 0; i < nf_model_n_params(m); i++) nf_model_params(m)[i] = (float)nf_rng_normal(&rng);
    unsigned char *b;
    size_t n;
    ck_assert_int_eq(nf_model_to_safetensors(m, NULL, 0, &b, &n), NF_OK);
    uint64_t hl = 0;
    for (int k = 0; k < 8; k++) hl |= (uint64_t)b[k] << (8 * k);
    ck_assert_int_eq((int)(n - 8 - hl), (int)(nf_model_n_params(m) * 4));
    ck_assert_int_eq(memcmp(b + 8 + hl, nf_model_params(m), nf_model_n_params(m) * 4), 0); /* LE hosts */
    char *hdr = strndup((const char *)b + 8, (size_t)hl);
    ck_assert_ptr_nonnull(strstr(hdr, "\"layers.0.act.weight\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[80,100]}"));
    ck_assert_ptr_nonnull(strstr(hdr, "\"layers.1.act.alpha\":{\"dtype\":\"F32\",\"shape\":[4]"));
    ck_assert_ptr_null(strstr(hdr, "layers.2.act"));
    ck_assert_ptr_nonnull(strstr(hdr, "\"activations\":\"prelu,elu_learn,linear\""));
    free(hdr);
    ck_assert_int_eq(nf_model_from_safetensors(b, n, "m.safetensors", NULL, &r, NULL), NF_OK);
    ck_assert_int_eq(nf_model_layer(r, 0)->act.kind, NF_ACT_PRELU);
    ck_assert_int_eq(nf_model_layer(r, 1)->act.kind, NF_ACT_ELU_LEARN);
    ck_assert_int_eq(memcmp(nf_model_params(r), nf_model_params(m), nf_model_n_params(m) * sizeof(float)), 0);
    /* the file names the activations: forcing others that have no such parameters is refused */
    nf_load_opts o;
    nf_load_opts_default(&o);
    o.force_acts = 1;
    nf_model *f = NULL;
    ck_assert_int_eq(nf_model_from_safetensors(b, n, "m.safetensors", &o, &f, NULL), NF_EFORMAT);
    ck_err_has("tensor layers.0.act.weight, but layer 0's activation relu has no parameters");
    ck_assert_ptr_null(f);
    nf_model_free(r);
    nf_model_free(m);
    free(b);
}
END_TEST

START_TEST(torch_prelu_no_metadata)
{
    /* PReLU(6) and PReLU() (one slope for all 4 units): read from the act tensors' names */
    nf_model *m;
    ck_assert_msg(nf_model_load(tu_data("torch_prelu.safetensors"), NULL, &m, NULL) == NF_OK, "%s",
                  nf_last_error());
    ck_assert_int_eq(nf_model_layer(m, 1)->act.kind, NF_ACT_PRELU);
    const float *p1 = nf_model_layer(m, 1)->act_p;
    for (int j = 1; j < 4; j++) ck_assert(p1[j] == p1[0]);
    ck_assert(p1[0] != 0.25f); /* trained */
    nf_model_free(m);
    check_torch("torch_prelu.safetensors", "torch_prelu_y.csv", 0, NF_ACT_PRELU);
}
END_TEST

START_TEST(torch_relu_no_metadata) { check_torch("torch_relu.safetensors", "torch_relu_y.csv", 0, NF_ACT_RELU); }
END_TEST
START_TEST(torch_tanh_with_metadata) { check_torch("torch_tanh.safetensors", "torch_tanh_y.csv", 1, NF_ACT_TANH); }
END_TEST

/* A safetensors file from a JSON header and `dlen` data bytes of 0.25f. */
static nf_status load_st(const char *json, size_t dlen, nf_model **m)
{
    size_t jl = strlen(json), n = 8 + jl + dlen;
    unsigned char *b = malloc(n);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)jl >> (8 * k));
    memcpy(b + 8, json, jl);
    const float q = 0.25f;
    for (size_t i = 0; i + 4 <= dlen; i += 4) memcpy(b + 8 + jl + i, &q, 4);
    nf_status st = nf_model_from_safetensors(b, n, "bad.safetensors", NULL, m, NULL);
    free(b);
    return st;
}

#define T(name, shape, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"
#define GOOD "{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) "}"

START_TEST(bad_files)
{
    nf_model *m = NULL;
    ck_assert_int_eq(load_st(GOOD, 12, &m), NF_OK);
    ck_assert_float_eq(nf_model_params(m)[2], 0.25f);
    ck_assert_int_eq(nf_model_layer(m, 0)->act.kind, NF_ACT_LINEAR); /* single layer: the output rule */
    nf_model_free(m);

    ck_assert_int_eq(nf_model_from_safetensors((const unsigned char *)"abc", 3, "s.st", NULL, &m, NULL), NF_EFORMAT);
    ck_err_has("3 bytes, expected at least the 8-byte header length");
    unsigned char big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    ck_assert_int_eq(nf_model_from_safetensors(big, 16, "h.st", NULL, &m, NULL), NF_EFORMAT);
    ck_err_has("h.st: byte 0: header length 65535 is larger than the 8 bytes");
    ck_assert_int_eq(load_st("{\"layers.0.weight\": {", 12, &m), NF_EFORMAT);
    ck_err_has("invalid JSON in the safetensors header");
    ck_assert_int_eq(load_st("[1,2]", 12, &m), NF_EFORMAT);
    ck_err_has("not a JSON object");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) "}", 8, &m), NF_EFORMAT);
    ck_err_has("'layers.0.bias': data_offsets [8, 12] outside the 8-byte data section");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 4, 8) "}", 12, &m), NF_EFORMAT);
    ck_err_has("overlap");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "}", 12, &m), NF_EFORMAT);
    ck_err_has("missing tensor layers.0.bias");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) ","
                             T("layers.2.weight", "[1,1]", 12, 16) "," T("layers.2.bias", "[1]", 16, 20) "}", 20, &m), NF_EFORMAT);
    ck_err_has("missing tensor layers.1.weight");
    ck_assert_int_eq(load_st("{}", 0, &m), NF_EFORMAT);
    ck_err_has("missing tensor layers.0.weight");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) ","
                             T("layers.1.weight", "[1,3]", 12, 24) "," T("layers.1.bias", "[1]", 24, 28) "}", 28, &m), NF_ESHAPE);
    ck_err_has("layers.1.weight has shape [1, 3], expected [1, 1]");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) "}", 12, &m), NF_ESHAPE);
    ck_err_has("layers.0.weight has shape [2], expected [out, in]");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[2]", 8, 16) "}", 16, &m), NF_ESHAPE);
    ck_err_has("layers.0.bias has shape [2], expected [1]");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 12) "," T("layers.0.bias", "[1]", 12, 16) "}", 16, &m), NF_EFORMAT);
    ck_err_has("12 bytes in data_offsets but shape × dtype needs 8");
    ck_assert_int_eq(load_st("{\"layers.0.weight\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]},"
                             T("layers.0.bias", "[1]", 16, 20) "}", 20, &m), NF_EFORMAT);
    ck_err_has("layers.0.weight has dtype F64, expected F32");
    ck_assert_int_eq(load_st("{\"__metadata__\":{\"activations\":\"wiggle\"}," T("layers.0.weight", "[1,2]", 0, 8) ","
                             T("layers.0.bias", "[1]", 8, 12) "}", 12, &m), NF_EFORMAT);
    ck_err_has("metadata 'activations' names unknown activation 'wiggle' for layer 0");
    ck_assert_int_eq(load_st("{\"__metadata__\":{\"layers\":\"2,5\"}," T("layers.0.weight", "[1,2]", 0, 8) ","
                             T("layers.0.bias", "[1]", 8, 12) "}", 12, &m), NF_ESHAPE);
    ck_err_has("metadata layers '2,5' does not match the tensors (2,1)");
    ck_assert_int_eq(load_st("{\"__metadata__\":{\"lr\":0.1}," T("layers.0.weight", "[1,2]", 0, 8) ","
                             T("layers.0.bias", "[1]", 8, 12) "}", 12, &m), NF_EFORMAT);
    ck_err_has("value of 'lr' is not a string");
    ck_assert_int_eq(load_st("{" T("layers.0.weight", "[1,2]", 0, 8) "," T("layers.0.bias", "[1]", 8, 12) ","
                             T("layers.0.bias", "[1]", 8, 12) "}", 12, &m), NF_EFORMAT);
    ck_assert_ptr_null(m);
    /* NaN/Inf weights or biases are refused, naming the tensor and element */
    int sizes[3] = {2, 3, 1};
    nf_act_spec acts[2] = {{NF_ACT_RELU, 0}, {NF_ACT_LINEAR, 0}};
    for (int which = 0; which < 2; which++) {
        nf_model *src;
        ck_assert_int_eq(nf_model_create(&src, 2, sizes, acts), NF_OK);
        if (which == 0) src->layers[1].W[2] = NAN;
        else src->layers[0].b[1] = INFINITY;
        unsigned char *bytes;
        size_t len;
        ck_assert_int_eq(nf_model_to_safetensors(src, NULL, 0, &bytes, &len), NF_OK);
        ck_assert_int_eq(nf_model_from_safetensors(bytes, len, "nan.safetensors", NULL, &m, NULL), NF_ENONFINITE);
        ck_assert_ptr_null(m);
        ck_err_has(which == 0 ? "nan.safetensors: tensor layers.1.weight has NaN/Inf at element 2"
                              : "nan.safetensors: tensor layers.0.bias has NaN/Inf at element 1");
        free(bytes);
        nf_model_free(src);
    }
}
END_TEST

/* Activation parameter tensors that do not fit. */
START_TEST(bad_act_params)
{
#define L0W T("layers.0.weight", "[2,2]", 0, 16) "," T("layers.0.bias", "[2]", 16, 24)
#define L1 T("layers.1.weight", "[1,2]", 32, 40) "," T("layers.1.bias", "[1]", 40, 44)
    nf_model *m = NULL;
    /* inferred from the name when the file records no activations */
    ck_assert_int_eq(load_st("{" L0W "," T("layers.0.act.alpha", "[2]", 24, 32) "," L1 "}", 44, &m), NF_OK);
    ck_assert_int_eq(nf_model_layer(m, 0)->act.kind, NF_ACT_ELU_LEARN);
    ck_assert(nf_model_layer(m, 0)->act_p[1] == 0.25f);
    nf_model_free(m);
    m = NULL;
    ck_assert_int_eq(load_st("{" L0W "," T("layers.0.act.weight", "[3]", 44, 56) "," L1 "}", 56, &m), NF_ESHAPE);
    ck_err_has("tensor layers.0.act.weight has shape [3], expected shape [2] (or [1]");
    ck_assert_int_eq(load_st("{" L0W "," T("layers.0.act.weight", "[1,2]", 24, 32) "," L1 "}", 44, &m), NF_ESHAPE);
    ck_err_has("tensor layers.0.act.weight has rank 2, expected shape [2]");
    ck_assert_int_eq(load_st("{\"__metadata__\":{\"activations\":\"prelu,linear\"}," L0W "," L1 "}", 44, &m),
                     NF_EFORMAT);
    ck_err_has("missing tensor layers.0.act.weight (layer 0's activation prelu has a parameter per unit)");
    ck_assert_int_eq(load_st("{\"__metadata__\":{\"activations\":\"prelu,linear\"}," L0W ","
                             T("layers.0.act.alpha", "[2]", 24, 32) "," L1 "}", 44, &m), NF_EFORMAT);
    ck_err_has("tensor layers.0.act.alpha, but layer 0's activation prelu keeps its parameters in layers.0.act.weight");
    ck_assert_int_eq(load_st("{" L0W "," T("layers.0.act.weight", "[2]", 24, 32) ","
                             T("layers.0.act.alpha", "[2]", 44, 52) "," L1 "}", 52, &m), NF_EFORMAT);
    ck_err_has("layer 0 has two activation parameter tensors");
    ck_assert_int_eq(load_st("{" L0W "," T("layers.1.act.weight", "[1]", 24, 28) "}", 28, &m), NF_EFORMAT);
    ck_err_has("tensor layers.1.act.weight belongs to no layer");
    ck_assert_int_eq(load_st("{" L0W "," T("layers.0.act.weight", "[2]", 24, 32) "," L1 "}", 44, &m), NF_OK);
    nf_model_free(m);
    m = NULL;
    /* NaN slope */
    const char *json = "{" L0W "," T("layers.0.act.weight", "[2]", 24, 32) "," L1 "}";
    size_t jl = strlen(json), n = 8 + jl + 44;
    unsigned char *b = calloc(1, n);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)jl >> (8 * k));
    memcpy(b + 8, json, jl);
    const float nan = NAN;
    memcpy(b + 8 + jl + 28, &nan, 4);
    ck_assert_int_eq(nf_model_from_safetensors(b, n, "nan.st", NULL, &m, NULL), NF_ENONFINITE);
    ck_err_has("tensor layers.0.act.weight has NaN/Inf at element 1");
    ck_assert_ptr_null(m);
    free(b);
#undef L0W
#undef L1
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_model_io");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, torch_relu_no_metadata);
    tcase_add_test(tc, torch_tanh_with_metadata);
    tcase_add_test(tc, roundtrip_act_params);
    tcase_add_test(tc, torch_prelu_no_metadata);
    tcase_add_test(tc, bad_act_params);
    tcase_add_test(tc, bad_files);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
