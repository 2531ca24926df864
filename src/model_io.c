/* model_io.c — safetensors save/load for MLPs (format and checks in model_io.h). */
#include "nnfit/model_io.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "nnfit/data.h"

void nf_load_opts_default(nf_load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hidden.kind = NF_ACT_RELU;
    o->hidden.param = nf_act_default_param(NF_ACT_RELU);
    o->output.kind = NF_ACT_LINEAR;
}

void nf_model_info_free(nf_model_info *info)
{
    if (!info) return;
    for (int i = 0; i < info->n_meta; i++) {
        free((char *)info->meta[i].key);
        free((char *)info->meta[i].value);
    }
    free(info->meta);
    memset(info, 0, sizeof *info);
}

const char *nf_model_info_get(const nf_model_info *info, const char *key)
{
    for (int i = 0; info && i < info->n_meta; i++)
        if (!strcmp(info->meta[i].key, key)) return info->meta[i].value;
    return NULL;
}

static int host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void put_f32_le(unsigned char *dst, const float *src, size_t n)
{
    int swap = !host_little();
    for (size_t i = 0; i < n; i++, dst += 4) {
        unsigned char t[4];
        memcpy(t, &src[i], 4);
        for (int k = 0; k < 4; k++) dst[k] = swap ? t[3 - k] : t[k];
    }
}

static void get_f32_le(float *dst, const unsigned char *src, size_t n)
{
    int swap = !host_little();
    for (size_t i = 0; i < n; i++, src += 4) {
        unsigned char t[4];
        for (int k = 0; k < 4; k++) t[k] = swap ? src[3 - k] : src[k];
        memcpy(&dst[i], t, 4);
    }
}

/* ---- writing ---- */

/* layers.{i}.weight, layers.{i}.bias, layers.{i}.act.{weight|alpha}: the names a PyTorch
 * module gets whose layers[i] is an nn.Linear carrying its activation module as `act`
 * (torch.nn.PReLU's parameter is `weight`). */
static float *tensor_data(const nf_model *m, const nf_tensor_info *t)
{
    const nf_dense *L = nf_model_layer(m, t->layer);
    return t->kind == NF_TENSOR_WEIGHT ? L->W : t->kind == NF_TENSOR_BIAS ? L->b : L->act_p;
}

static void tensor_name(const nf_model *m, const nf_tensor_info *t, char *buf, size_t len)
{
    if (t->kind == NF_TENSOR_ACT)
        snprintf(buf, len, "layers.%d.act.%s", t->layer,
                 nf_act_param_name(nf_model_layer(m, t->layer)->act.kind));
    else
        snprintf(buf, len, "layers.%d.%s", t->layer, t->kind == NF_TENSOR_WEIGHT ? "weight" : "bias");
}

static nf_status add_tensor(cJSON *root, const char *name, int rank, const int *shape, size_t begin,
                            size_t end)
{
    cJSON *t = cJSON_AddObjectToObject(root, name);
    if (!t || !cJSON_AddStringToObject(t, "dtype", "F32")) return NF_ENOMEM;
    cJSON *sh = cJSON_AddArrayToObject(t, "shape");
    if (!sh) return NF_ENOMEM;
    for (int i = 0; i < rank; i++) {
        cJSON *v = cJSON_CreateNumber((double)shape[i]);
        if (!v || !cJSON_AddItemToArray(sh, v)) return NF_ENOMEM;
    }
    cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
    cJSON *a = cJSON_CreateNumber((double)begin), *b = cJSON_CreateNumber((double)end);
    if (!off || !a || !b) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        return NF_ENOMEM;
    }
    cJSON_AddItemToArray(off, a);
    cJSON_AddItemToArray(off, b);
    return NF_OK;
}

nf_status nf_model_to_safetensors(const nf_model *m, const nf_meta_kv *extra, int n_extra,
                                  unsigned char **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = root ? cJSON_AddObjectToObject(root, "__metadata__") : NULL;
    if (!meta) {
        cJSON_Delete(root);
        return nf_fail(NF_ENOMEM, "cannot build the safetensors header");
    }
    char sizes[1024], acts[1024], params[1024];
    size_t ks = 0, ka = 0, kp = 0;
    nf_c_locale loc;
    nf_c_locale_push(&loc);
    const int n_layers = nf_model_n_layers(m);
    for (int i = 0; i <= n_layers; i++)
        ks += (size_t)snprintf(sizes + ks, sizeof sizes - ks, "%s%d", i ? "," : "", nf_model_size(m, i));
    for (int i = 0; i < n_layers; i++) {
        ka += (size_t)snprintf(acts + ka, sizeof acts - ka, "%s%s", i ? "," : "",
                               nf_act_name(nf_model_layer(m, i)->act.kind));
        kp += (size_t)snprintf(params + kp, sizeof params - kp, "%s%.9g", i ? "," : "",
                               (double)nf_model_layer(m, i)->act.param);
        if (ka >= sizeof acts || kp >= sizeof params) break;
    }
    nf_c_locale_pop(&loc);
    int ok = cJSON_AddStringToObject(meta, "format", "nnfit") &&
             cJSON_AddStringToObject(meta, "nnfit_version", "0.1.0") &&
             cJSON_AddStringToObject(meta, "layers", sizes) &&
             cJSON_AddStringToObject(meta, "activations", acts) &&
             cJSON_AddStringToObject(meta, "activation_params", params);
    for (int i = 0; ok && i < n_extra; i++) {
        if (cJSON_GetObjectItemCaseSensitive(meta, extra[i].key)) continue;
        ok = cJSON_AddStringToObject(meta, extra[i].key, extra[i].value) != NULL;
    }
    /* the data section is the parameter buffer: tensors back to back in buffer order */
    const int n_tensors = nf_model_n_tensors(m);
    for (int k = 0; ok && k < n_tensors; k++) {
        const nf_tensor_info t = nf_model_tensor(m, k);
        char name[64];
        tensor_name(m, &t, name, sizeof name);
        const int shape[2] = {t.rows, t.cols};
        const size_t begin = t.offset * 4, end = begin + (size_t)t.rows * (size_t)t.cols * 4;
        ok = !add_tensor(root, name, t.kind == NF_TENSOR_WEIGHT ? 2 : 1, shape, begin, end);
    }
    const size_t offset = nf_model_n_params(m) * 4;
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json) return nf_fail(NF_ENOMEM, "cannot build the safetensors header");
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    size_t total = 8 + hl + offset;
    unsigned char *b = malloc(total);
    if (!b) {
        cJSON_free(json);
        return nf_fail(NF_ENOMEM, "cannot allocate %zu bytes for the model file", total);
    }
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', hl - jl);
    cJSON_free(json);
    for (int k = 0; k < n_tensors; k++) {
        const nf_tensor_info t = nf_model_tensor(m, k);
        put_f32_le(b + 8 + hl + t.offset * 4, tensor_data(m, &t), (size_t)t.rows * (size_t)t.cols);
    }
    *bytes = b;
    *len = total;
    return NF_OK;
}

nf_status nf_model_save(const char *path, const nf_model *m, const nf_meta_kv *extra, int n_extra)
{
    unsigned char *b;
    size_t n;
    nf_status st = nf_model_to_safetensors(m, extra, n_extra, &b, &n);
    if (st) return st;
    st = nf_file_write_atomic(path, b, n);
    free(b);
    return st;
}

/* ---- reading ---- */

typedef struct {
    const cJSON *node;
    int rank;
    uint64_t shape[8];
    uint64_t begin, end;
} tensor_ref;

typedef struct {
    uint64_t begin, end;
    const char *name;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Non-negative integer JSON number below 2^53. */
static int as_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return 1;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= 9007199254740992.0) || d != floor(d)) return 1;
    *out = (uint64_t)d;
    return 0;
}

static size_t dtype_size(const char *dt)
{
    static const struct { const char *n; size_t s; } t[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1},
        {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(dt, t[i].n)) return t[i].s;
    return 0;
}

static nf_status check_entry(const char *file, const cJSON *e, uint64_t data_len, tensor_ref *t)
{
    const char *nm = e->string;
    if (!cJSON_IsObject(e))
        return nf_fail(NF_EFORMAT, "%s: header entry '%s' is not an object with dtype, shape, "
                       "data_offsets", file, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of))
        return nf_fail(NF_EFORMAT, "%s: tensor '%s' needs a string 'dtype', an array 'shape' and an "
                       "array 'data_offsets'", file, nm);
    size_t isz = dtype_size(dt->valuestring);
    if (!isz) return nf_fail(NF_EFORMAT, "%s: tensor '%s' has unknown dtype '%.16s'", file, nm, dt->valuestring);
    int rank = cJSON_GetArraySize(sh);
    if (rank > 8) return nf_fail(NF_EFORMAT, "%s: tensor '%s' has rank %d, more than 8", file, nm, rank);
    t->node = e;
    t->rank = rank;
    uint64_t count = 1;
    int i = 0;
    for (const cJSON *v = sh->child; v; v = v->next, i++) {
        if (as_u64(v, &t->shape[i]))
            return nf_fail(NF_EFORMAT, "%s: tensor '%s': shape entries must be non-negative integers",
                           file, nm);
        if (t->shape[i] && count > UINT64_MAX / t->shape[i])
            return nf_fail(NF_EFORMAT, "%s: tensor '%s': shape overflows", file, nm);
        count *= t->shape[i];
    }
    if (cJSON_GetArraySize(of) != 2 || as_u64(of->child, &t->begin) || as_u64(of->child->next, &t->end))
        return nf_fail(NF_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end] integers",
                       file, nm);
    if (t->begin > t->end || t->end > data_len)
        return nf_fail(NF_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] outside the %llu-byte "
                       "data section", file, nm, (unsigned long long)t->begin,
                       (unsigned long long)t->end, (unsigned long long)data_len);
    if (count > UINT64_MAX / isz) /* the product would wrap: say the size, not its remainder */
        return nf_fail(NF_EFORMAT, "%s: tensor '%s': %llu bytes in data_offsets but shape × dtype "
                       "needs %.4g (more than 2^64)", file, nm, (unsigned long long)(t->end - t->begin),
                       (double)count * (double)isz);
    if (count * isz != t->end - t->begin)
        return nf_fail(NF_EFORMAT, "%s: tensor '%s': %llu bytes in data_offsets but shape × dtype "
                       "needs %llu", file, nm, (unsigned long long)(t->end - t->begin),
                       (unsigned long long)(count * isz));
    return NF_OK;
}

enum { T_WEIGHT, T_BIAS, T_ACT_WEIGHT, T_ACT_ALPHA }; /* what a layers.{i}.* tensor is */

/* "layers.{i}.weight" → 0 with *i and *what (T_*); 1 if the name is something else. */
static int layer_name(const char *s, int *idx, int *what)
{
    if (strncmp(s, "layers.", 7)) return 1;
    s += 7;
    if (*s < '0' || *s > '9') return 1;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > 1000000) return 1;
    }
    if (!strcmp(s, ".weight")) *what = T_WEIGHT;
    else if (!strcmp(s, ".bias")) *what = T_BIAS;
    else if (!strcmp(s, ".act.weight")) *what = T_ACT_WEIGHT;
    else if (!strcmp(s, ".act.alpha")) *what = T_ACT_ALPHA;
    else return 1;
    *idx = (int)v;
    return 0;
}

/* The per-unit activation parameters of layer i from its tensor P (name `pname`): F32 [out],
 * or [1] as torch.nn.PReLU() with one shared slope, given to every unit. */
static nf_status read_act_params(const char *file, const tensor_ref *P, const char *pname, int i,
                                 const unsigned char *data, const nf_dense *L)
{
    const char *dt = cJSON_GetObjectItemCaseSensitive(P->node, "dtype")->valuestring;
    if (strcmp(dt, "F32"))
        return nf_fail(NF_EFORMAT, "%s: tensor layers.%d.act.%s has dtype %.16s, expected F32", file, i,
                       pname, dt);
    if (P->rank != 1 || (P->shape[0] != (uint64_t)L->out && P->shape[0] != 1))
        return nf_fail(NF_ESHAPE, "%s: tensor layers.%d.act.%s has %s%llu%s, expected shape [%d] (or [1]: "
                       "one value for every unit)", file, i, pname, P->rank == 1 ? "shape [" : "rank ",
                       (unsigned long long)(P->rank == 1 ? P->shape[0] : (uint64_t)P->rank),
                       P->rank == 1 ? "]" : "", L->out);
    get_f32_le(L->act_p, data + P->begin, (size_t)P->shape[0]);
    for (int j = 1; P->shape[0] == 1 && j < L->out; j++) L->act_p[j] = L->act_p[0];
    size_t bad = nf_find_nonfinite(L->act_p, (size_t)L->out);
    if (bad < (size_t)L->out)
        return nf_fail(NF_ENONFINITE, "%s: tensor layers.%d.act.%s has NaN/Inf at element %zu", file, i,
                       pname, P->shape[0] == 1 ? (size_t)0 : bad);
    return NF_OK;
}

static nf_status read_meta(const char *file, const cJSON *md, nf_model_info *info)
{
    if (!cJSON_IsObject(md))
        return nf_fail(NF_EFORMAT, "%s: '__metadata__' must be an object of strings", file);
    int n = cJSON_GetArraySize(md);
    info->meta = calloc((size_t)n + 1, sizeof *info->meta);
    if (!info->meta) return nf_fail(NF_ENOMEM, "%s: out of memory", file);
    for (const cJSON *v = md->child; v; v = v->next) {
        if (!cJSON_IsString(v))
            return nf_fail(NF_EFORMAT, "%s: __metadata__ value of '%s' is not a string", file, v->string);
        char *k = strdup(v->string), *val = strdup(v->valuestring);
        if (!k || !val) {
            free(k);
            free(val);
            return nf_fail(NF_ENOMEM, "%s: out of memory", file);
        }
        info->meta[info->n_meta].key = k;
        info->meta[info->n_meta].value = val;
        info->n_meta++;
    }
    return NF_OK;
}

/* Parses the metadata "activations" (and "activation_params") into acts[n_layers]. */
static nf_status meta_acts(const char *file, const char *text, const char *params, int n_layers,
                           nf_act_spec *acts)
{
    int i = 0;
    const char *p = text;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char name[48];
        if (i >= n_layers) {
            return nf_fail(NF_EFORMAT, "%s: metadata 'activations' lists more than the %d layers",
                           file, n_layers);
        }
        if (n >= sizeof name) n = sizeof name - 1;
        memcpy(name, p, n);
        name[n] = '\0';
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)name[k] < 32 || (unsigned char)name[k] > 126) name[k] = '?';
        if (nf_act_parse(name, &acts[i]))
            return nf_fail(NF_EFORMAT, "%s: metadata 'activations' names unknown activation '%s' "
                           "for layer %d (known: %s)", file, name, i, nf_act_names());
        i++;
        if (!c) break;
        p = c + 1;
    }
    if (i != n_layers)
        return nf_fail(NF_EFORMAT, "%s: metadata 'activations' lists %d activations for %d layers",
                       file, i, n_layers);
    if (params) {
        nf_c_locale loc;
        nf_c_locale_push(&loc);
        const char *q = params;
        nf_status st = NF_OK;
        for (int k = 0; k < n_layers && !st; k++) {
            char *end;
            double v = strtod(q, &end);
            if (end == q || !isfinite(v) || (*end != ',' && *end != '\0') ||
                (*end == '\0' && k != n_layers - 1) || (*end == ',' && k == n_layers - 1))
                st = nf_fail(NF_EFORMAT, "%s: metadata 'activation_params' must be %d numbers "
                             "separated by commas", file, n_layers);
            else {
                acts[k].param = (float)v;
                q = end + 1;
            }
        }
        nf_c_locale_pop(&loc);
        if (st) return st;
    }
    return NF_OK;
}

nf_status nf_model_from_safetensors(const unsigned char *buf, size_t len, const char *name,
                                    const nf_load_opts *o, nf_model **out, nf_model_info *info)
{
    *out = NULL;
    nf_model_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    nf_load_opts def;
    if (!o) {
        nf_load_opts_default(&def);
        o = &def;
    }
    info->file_bytes = len;
    if (len < 8)
        return nf_fail(NF_EFORMAT, "%s: %zu bytes, expected at least the 8-byte header length of a "
                       "safetensors file", name, len);
    uint64_t hl = 0;
    for (int k = 0; k < 8; k++) hl |= (uint64_t)buf[k] << (8 * k);
    if (hl > len - 8)
        return nf_fail(NF_EFORMAT, "%s: byte 0: header length %llu is larger than the %zu bytes that "
                       "follow it (truncated or not a safetensors file)", name,
                       (unsigned long long)hl, len - 8);
    if (hl > NF_SAFETENSORS_MAX_HEADER)
        return nf_fail(NF_EFORMAT, "%s: byte 0: header length %llu exceeds the %zu-byte limit", name,
                       (unsigned long long)hl, NF_SAFETENSORS_MAX_HEADER);
    info->header_bytes = (size_t)hl;
    const char *json = (const char *)buf + 8;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hl, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + hl ? (size_t)(end - json) : 0;
        return nf_fail(NF_EFORMAT, "%s: byte %zu: invalid JSON in the safetensors header (expected "
                       "a JSON object)", name, 8 + at);
    }
    /* only spaces may follow the JSON object (padding) */
    for (const char *p = end; p && p < json + hl; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            cJSON_Delete(root);
            return nf_fail(NF_EFORMAT, "%s: byte %zu: unexpected text after the JSON header",
                           name, (size_t)(8 + (p - json)));
        }
    nf_status st = NF_OK;
    const uint64_t data_len = (uint64_t)(len - 8 - (size_t)hl);
    const unsigned char *data = buf + 8 + hl;
    int n_entries = 0;
    span *spans = NULL;
    tensor_ref W[NF_MAX_LAYERS], B[NF_MAX_LAYERS], P[NF_MAX_LAYERS];
    int haveW[NF_MAX_LAYERS] = {0}, haveB[NF_MAX_LAYERS] = {0}, haveP[NF_MAX_LAYERS] = {0};
    int Pwhat[NF_MAX_LAYERS];
    int max_idx = -1;
    nf_model *m = NULL;
    if (!cJSON_IsObject(root)) {
        st = nf_fail(NF_EFORMAT, "%s: byte 8: the safetensors header is not a JSON object", name);
        goto done;
    }
    n_entries = cJSON_GetArraySize(root);
    spans = calloc((size_t)n_entries + 1, sizeof *spans);
    if (!spans) {
        st = nf_fail(NF_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    int n_spans = 0, have_meta = 0;
    for (const cJSON *e = root->child; e && !st; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (have_meta++) st = nf_fail(NF_EFORMAT, "%s: '__metadata__' appears twice", name);
            else st = read_meta(name, e, info);
            continue;
        }
        tensor_ref t;
        st = check_entry(name, e, data_len, &t);
        if (st) break;
        if (t.end > t.begin) spans[n_spans++] = (span){t.begin, t.end, e->string};
        int idx, what;
        if (layer_name(e->string, &idx, &what)) continue; /* not ours: ignored */
        if (idx >= NF_MAX_LAYERS) {
            st = nf_fail(NF_EUNSUPPORTED, "%s: tensor '%s': more than %d layers", name, e->string,
                         NF_MAX_LAYERS);
            break;
        }
        if (what >= T_ACT_WEIGHT) {
            if (haveP[idx]++) {
                st = nf_fail(NF_EFORMAT, "%s: layer %d has two activation parameter tensors "
                             "(layers.%d.act.weight and layers.%d.act.alpha)", name, idx, idx, idx);
                break;
            }
            P[idx] = t;
            Pwhat[idx] = what;
            continue;
        }
        int *have = what == T_BIAS ? haveB : haveW;
        if (have[idx]++) {
            st = nf_fail(NF_EFORMAT, "%s: tensor '%s' appears twice", name, e->string);
            break;
        }
        (what == T_BIAS ? B : W)[idx] = t;
        if (idx > max_idx) max_idx = idx;
    }
    if (st) goto done;
    qsort(spans, (size_t)n_spans, sizeof *spans, cmp_span);
    for (int i = 1; i < n_spans; i++)
        if (spans[i].begin < spans[i - 1].end) {
            st = nf_fail(NF_EFORMAT, "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap in "
                         "the data section", name, spans[i - 1].name,
                         (unsigned long long)spans[i - 1].begin, (unsigned long long)spans[i - 1].end,
                         spans[i].name, (unsigned long long)spans[i].begin,
                         (unsigned long long)spans[i].end);
            goto done;
        }
    if (max_idx < 0) {
        st = nf_fail(NF_EFORMAT, "%s: missing tensor layers.0.weight (expected layers.{i}.weight "
                     "[out, in] and layers.{i}.bias [out], F32)", name);
        goto done;
    }
    int sizes[NF_MAX_LAYERS + 1];
    int n_layers = max_idx + 1;
    for (int i = 0; i < n_layers; i++) {
        if (!haveW[i] || !haveB[i]) {
            st = nf_fail(NF_EFORMAT, "%s: missing tensor layers.%d.%s (the file has layers up to %d)",
                         name, i, haveW[i] ? "bias" : "weight", max_idx);
            goto done;
        }
        const char *dw = cJSON_GetObjectItemCaseSensitive(W[i].node, "dtype")->valuestring;
        const char *db = cJSON_GetObjectItemCaseSensitive(B[i].node, "dtype")->valuestring;
        if (strcmp(dw, "F32") || strcmp(db, "F32")) {
            st = nf_fail(NF_EFORMAT, "%s: tensor layers.%d.%s has dtype %.16s, expected F32", name, i,
                         strcmp(dw, "F32") ? "weight" : "bias", strcmp(dw, "F32") ? dw : db);
            goto done;
        }
        if (W[i].rank != 2 || W[i].shape[0] < 1 || W[i].shape[1] < 1 || W[i].shape[0] > (1 << 24) ||
            W[i].shape[1] > (1 << 24)) {
            char s[96] = "";
            size_t k = 0;
            for (int r = 0; r < W[i].rank && k < 80; r++)
                k += (size_t)snprintf(s + k, sizeof s - k, "%s%llu", r ? ", " : "",
                                      (unsigned long long)W[i].shape[r]);
            st = nf_fail(NF_ESHAPE, "%s: tensor layers.%d.weight has shape [%s], expected [out, in] "
                         "with sizes 1..16777216", name, i, s);
            goto done;
        }
        int outs = (int)W[i].shape[0], ins = (int)W[i].shape[1];
        if (i > 0 && ins != sizes[i]) {
            st = nf_fail(NF_ESHAPE, "%s: tensor layers.%d.weight has shape [%d, %d], expected [%d, %d] "
                         "(in = layer %d's out)", name, i, outs, ins, outs, sizes[i], i - 1);
            goto done;
        }
        if (B[i].rank != 1 || B[i].shape[0] != (uint64_t)outs) {
            if (B[i].rank != 1)
                st = nf_fail(NF_ESHAPE, "%s: tensor layers.%d.bias has rank %d, expected shape [%d]",
                             name, i, B[i].rank, outs);
            else
                st = nf_fail(NF_ESHAPE, "%s: tensor layers.%d.bias has shape [%llu], expected [%d]",
                             name, i, (unsigned long long)B[i].shape[0], outs);
            goto done;
        }
        if (i == 0) sizes[0] = ins;
        sizes[i + 1] = outs;
    }
    const char *mlayers = nf_model_info_get(info, "layers");
    if (mlayers) {
        int ms[NF_MAX_LAYERS + 1], mc;
        int same = !nf_parse_sizes(mlayers, ms, NF_MAX_LAYERS + 1, &mc) && mc == n_layers + 1;
        for (int i = 0; same && i < mc; i++) same = ms[i] == sizes[i];
        if (!same) {
            char s[256] = "";
            size_t k = 0;
            for (int i = 0; i <= n_layers && k < 240; i++)
                k += (size_t)snprintf(s + k, sizeof s - k, "%s%d", i ? "," : "", sizes[i]);
            st = nf_fail(NF_ESHAPE, "%s: metadata layers '%.64s' does not match the tensors (%s)",
                         name, mlayers, s);
            goto done;
        }
    }
    for (int i = n_layers; i < NF_MAX_LAYERS; i++)
        if (haveP[i]) {
            st = nf_fail(NF_EFORMAT, "%s: tensor layers.%d.act.%s belongs to no layer (the file has "
                         "layers up to %d)", name, i, Pwhat[i] == T_ACT_WEIGHT ? "weight" : "alpha",
                         max_idx);
            goto done;
        }
    nf_act_spec acts[NF_MAX_LAYERS];
    for (int i = 0; i < n_layers; i++) acts[i] = i == n_layers - 1 ? o->output : o->hidden;
    const char *macts = nf_model_info_get(info, "activations");
    if (macts) {
        nf_act_spec facts[NF_MAX_LAYERS];
        st = meta_acts(name, macts, nf_model_info_get(info, "activation_params"), n_layers, facts);
        if (st) goto done;
        if (!o->force_acts) memcpy(acts, facts, sizeof(nf_act_spec) * (size_t)n_layers);
        info->acts_from_file = !o->force_acts;
    } else if (!o->force_acts) {
        /* no names recorded: a layer with activation parameters says which activation it has */
        for (int i = 0; i < n_layers; i++)
            if (haveP[i]) {
                acts[i].kind = Pwhat[i] == T_ACT_WEIGHT ? NF_ACT_PRELU : NF_ACT_ELU_LEARN;
                acts[i].param = nf_act_default_param(acts[i].kind);
            }
    }
    for (int i = 0; i < n_layers; i++) {
        const char *want = nf_act_param_name(acts[i].kind);
        const char *got = !haveP[i] ? NULL : Pwhat[i] == T_ACT_WEIGHT ? "weight" : "alpha";
        if (want && !got)
            st = nf_fail(NF_EFORMAT, "%s: missing tensor layers.%d.act.%s (layer %d's activation %s "
                         "has a parameter per unit)", name, i, want, i, nf_act_name(acts[i].kind));
        else if (got && !want)
            st = nf_fail(NF_EFORMAT, "%s: tensor layers.%d.act.%s, but layer %d's activation %s has no "
                         "parameters", name, i, got, i, nf_act_name(acts[i].kind));
        else if (got && strcmp(want, got))
            st = nf_fail(NF_EFORMAT, "%s: tensor layers.%d.act.%s, but layer %d's activation %s keeps "
                         "its parameters in layers.%d.act.%s", name, i, got, i,
                         nf_act_name(acts[i].kind), i, want);
        if (st) goto done;
    }
    st = nf_model_create(&m, n_layers, sizes, acts);
    if (st) goto done;
    for (int i = 0; i < n_layers; i++) {
        get_f32_le(nf_model_layer(m, i)->W, data + W[i].begin, (size_t)sizes[i] * (size_t)sizes[i + 1]);
        get_f32_le(nf_model_layer(m, i)->b, data + B[i].begin, (size_t)sizes[i + 1]);
    }
    for (int i = 0; i < n_layers && !st; i++) {
        size_t nw = (size_t)sizes[i] * (size_t)sizes[i + 1];
        size_t bad = nf_find_nonfinite(nf_model_layer(m, i)->W, nw);
        if (bad < nw)
            st = nf_fail(NF_ENONFINITE, "%s: tensor layers.%d.weight has NaN/Inf at element %zu",
                         name, i, bad);
        else if ((bad = nf_find_nonfinite(nf_model_layer(m, i)->b, (size_t)sizes[i + 1])) < (size_t)sizes[i + 1])
            st = nf_fail(NF_ENONFINITE, "%s: tensor layers.%d.bias has NaN/Inf at element %zu",
                         name, i, bad);
        else if (haveP[i])
            st = read_act_params(name, &P[i], nf_act_param_name(acts[i].kind), i, data, nf_model_layer(m, i));
    }
    if (st) {
        nf_model_free(m);
        goto done;
    }
    *out = m;
done:
    free(spans);
    cJSON_Delete(root);
    if (st || info == &local) nf_model_info_free(info);
    return st;
}

nf_status nf_model_load(const char *path, const nf_load_opts *o, nf_model **out, nf_model_info *info)
{
    unsigned char *b;
    size_t n;
    *out = NULL;
    if (info) memset(info, 0, sizeof *info);
    nf_status st = nf_file_read(path, NF_DATA_MAX_BYTES, &b, &n);
    if (st) return st;
    st = nf_model_from_safetensors(b, n, path, o, out, info);
    free(b);
    return st;
}
