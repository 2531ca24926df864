/* optim_config.c — nf_opt_config as a value: the hyperparameter table (where each value lives,
 * its type, range and help), reading and writing values by row (get, set, parse), and what the
 * descriptors in optim.c make of a configuration: names, defaults, Keras defaults, which
 * hyperparameters a kind uses, validation, descriptions and labels. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) return nf_fail(NF_EINVAL, __VA_ARGS__);                                       \
    } while (0)

/* ---- the hyperparameter table ---- */

#define F(field) offsetof(nf_opt_config, field)
#define REAL(nm, opt, field, lo, hi, help) {nm, opt, NF_HP_REAL, F(field), 0, lo, hi, NULL, 0, help, NULL}
#define INT(nm, opt, field, lo, hi, help) {nm, opt, NF_HP_INT, F(field), 0, lo, hi, NULL, 0, help, NULL}
#define FLAG(nm, opt, field, gives, help) {nm, opt, NF_HP_FLAG, F(field), 0, 0, 1, NULL, gives, help, NULL}
#define PAIR(nm, opt, f1, f2, lo, hi, help) \
    {nm, opt, NF_HP_PAIR, F(f1), F(f2), lo, hi, NULL, 0, help, #f1 "," #f2}
static const nf_opt_hparam hparams[HP_COUNT] = {
    [HP_LR] = REAL("lr", "lr", lr, 1e-30, 1e6, "learning rate"),
    [HP_MOMENTUM] = REAL("momentum", "momentum", momentum, 0, 1e3, "sgd, rmsprop"),
    [HP_DAMPENING] = REAL("dampening", "dampening", dampening, -1e3, 1e3, "sgd"),
    [HP_NESTEROV] = FLAG("nesterov", "nesterov", nesterov, 1, "sgd"),
    [HP_BETAS] = PAIR("betas", "betas", beta1, beta2, 0.0, 0.999999999, "B1,B2: adam family, lion"),
    [HP_EPS] = REAL("eps", "eps", eps, 0.0, 1e3, "denominator term"),
    [HP_WEIGHT_DECAY] = REAL("weight_decay", "weight-decay", weight_decay, 0.0, 1e6,
                             "L2 added to the gradient (adamw, lion, --keras: decoupled)"),
    [HP_AMSGRAD] = FLAG("amsgrad", "amsgrad", amsgrad, 1, "adam, adamw"),
    [HP_ALPHA] = REAL("alpha", "alpha", alpha, -1e3, 1e3, "rmsprop smoothing, asgd power"),
    [HP_CENTERED] = FLAG("centered", "centered", centered, 1, "rmsprop"),
    [HP_RHO] = REAL("rho", "rho", rho, 0.0, 1.0, "adadelta"),
    [HP_LR_DECAY] = REAL("lr_decay", "lr-decay", lr_decay, 0.0, 1e6, "adagrad"),
    [HP_INITIAL_ACCUMULATOR_VALUE] = REAL("initial_accumulator_value", "initial-accumulator-value",
                                          initial_accumulator_value, 0.0, 1e6, "adagrad, ftrl"),
    [HP_MOMENTUM_DECAY] = REAL("momentum_decay", "momentum-decay", momentum_decay, 0.0, 1e3, "nadam"),
    [HP_LAMBD] = REAL("lambd", "lambd", lambd, 0.0, 1e3, "asgd decay term"),
    [HP_T0] = REAL("t0", "t0", t0, 0.0, 1e30, "asgd: step where averaging starts"),
    [HP_ETAS] = PAIR("etas", "etas", eta_minus, eta_plus, 0.0, 1e3, "MINUS,PLUS: rprop"),
    [HP_STEP_SIZES] = PAIR("step_sizes", "step-sizes", step_size_min, step_size_max, 0.0, 1e30,
                           "MIN,MAX: rprop"),
    [HP_BETA2_DECAY] = REAL("beta2_decay", "beta2-decay", beta2_decay, -1e3, 0.0, "adafactor"),
    [HP_EPS1] = REAL("eps1", "eps1", eps1, 0.0, 1e3, "adafactor epsilon_1"),
    [HP_EPS2] = REAL("eps2", "eps2", eps2, 0.0, 1e3, "adafactor epsilon_2"),
    [HP_CLIP_THRESHOLD] = REAL("clip_threshold", "clip-threshold", clip_threshold, 1e-30, 1e30,
                               "adafactor"),
    [HP_RELATIVE_STEP] = FLAG("relative_step", "no-relative-step", relative_step, 0,
                              "adafactor: lr without the 1/sqrt(t) cap"),
    [HP_LR_POWER] = REAL("lr_power", "lr-power", lr_power, -1e3, 0.0, "ftrl learning_rate_power"),
    [HP_L1] = REAL("l1", "l1", l1, 0.0, 1e6, "ftrl"),
    [HP_L2] = REAL("l2", "l2", l2, 0.0, 1e6, "ftrl"),
    [HP_L2_SHRINKAGE] = REAL("l2_shrinkage", "l2-shrinkage", l2_shrinkage, 0.0, 1e6, "ftrl"),
    [HP_BETA] = REAL("beta", "beta", beta, 0.0, 1e6, "ftrl"),
    [HP_HISTORY_SIZE] = INT("history_size", "history-size", history_size, 1, 1e6, "lbfgs"),
    [HP_MAX_ITER] = INT("max_iter", "max-iter", max_iter, 1, 1e9, "lbfgs iterations per step"),
    [HP_MAX_EVAL] = INT("max_eval", "max-eval", max_eval, 0, 1e9, "lbfgs (default max-iter*5/4)"),
    [HP_TOLERANCE_GRAD] = REAL("tolerance_grad", "tolerance-grad", tolerance_grad, 0.0, 1e30, "lbfgs"),
    [HP_TOLERANCE_CHANGE] = REAL("tolerance_change", "tolerance-change", tolerance_change, 0.0,
                                 1e30, "lbfgs"),
    [HP_LINE_SEARCH] = {"line_search", "line-search", NF_HP_CHOICE, F(line_search), 0, 0, 1,
                        "none|strong_wolfe", 0, "strong_wolfe|none: lbfgs", NULL},
    [HP_MU] = REAL("mu", "mu", mu, 1e-30, 1e30, "lm initial damping"),
    [HP_MU_DEC] = REAL("mu_dec", "mu-dec", mu_dec, 1e-30, 1.0, "lm"),
    [HP_MU_INC] = REAL("mu_inc", "mu-inc", mu_inc, 1.0, 1e30, "lm"),
    [HP_MU_MAX] = REAL("mu_max", "mu-max", mu_max, 1e-30, 1e300, "lm"),
    [HP_MIN_GRAD] = REAL("min_grad", "min-grad", min_grad, 0.0, 1e30, "lm"),
    [HP_KERAS] = FLAG("keras", "keras", keras, 1, "Keras formulas and defaults"),
};
#undef REAL
#undef INT
#undef FLAG
#undef PAIR
#undef F

int nf_opt_hparam_count(void) { return HP_COUNT; }

const nf_opt_hparam *nf_opt_hparam_at(int i)
{
    return i >= 0 && i < HP_COUNT ? &hparams[i] : NULL;
}

int nf_opt_hparam_find(const char *s)
{
    for (int i = 0; s && i < HP_COUNT; i++)
        if (!strcmp(s, hparams[i].option) || !strcmp(s, hparams[i].name)) return i;
    return -1;
}

static int is_int_type(nf_hp_type t) { return t == NF_HP_INT || t == NF_HP_FLAG || t == NF_HP_CHOICE; }

/* The field at byte offset off of c (the table's offsets come from offsetof). */
static double *real_field(nf_opt_config *c, size_t off) { return (double *)(void *)((char *)c + off); }
static int *int_field(nf_opt_config *c, size_t off) { return (int *)(void *)((char *)c + off); }
static double real_value(const nf_opt_config *c, size_t off)
{
    return *(const double *)(const void *)((const char *)c + off);
}
static int int_value(const nf_opt_config *c, size_t off)
{
    return *(const int *)(const void *)((const char *)c + off);
}

void nf_opt_hparam_get(const nf_opt_config *cfg, int hp, double *a, double *b)
{
    double va = 0.0, vb = 0.0;
    if (hp >= 0 && hp < HP_COUNT) {
        const nf_opt_hparam *h = &hparams[hp];
        if (is_int_type(h->type)) {
            va = (double)int_value(cfg, h->offset);
        } else {
            va = real_value(cfg, h->offset);
            if (h->type == NF_HP_PAIR) vb = real_value(cfg, h->offset2);
        }
    }
    if (a) *a = va;
    if (b) *b = vb;
}

/* Stores without checks (defaults, Keras defaults). */
static void hparam_store(nf_opt_config *c, int hp, double a, double b)
{
    const nf_opt_hparam *h = &hparams[hp];
    if (is_int_type(h->type)) {
        *int_field(c, h->offset) = (int)a;
    } else {
        *real_field(c, h->offset) = a;
        if (h->type == NF_HP_PAIR) *real_field(c, h->offset2) = b;
    }
}

/* Name of the k-th choice into buf ("strong_wolfe"); 0 if there is none. */
static int choice_name(const nf_opt_hparam *h, int k, char *buf, size_t len)
{
    const char *s = h->choices;
    for (int i = 0; s && i < k; i++) {
        s = strchr(s, '|');
        if (s) s++;
    }
    if (!s || k < 0) return 0;
    size_t n = strcspn(s, "|");
    snprintf(buf, len, "%.*s", (int)n, s);
    return 1;
}

/* v as %g, or with as many more digits as it takes to read back as v. */
static void shortest(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%g", v);
    if (strtod(buf, NULL) == v) return;
    for (int prec = 7; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* A number for a message: exactly (0.999999999, not %g's 1). */
typedef struct {
    char s[32];
} num_text;
static num_text num(double v)
{
    num_text t;
    shortest(v, t.s, sizeof t.s);
    return t;
}

/* One value against the row's range and type; the message names the option. */
static nf_status value_ok(const nf_opt_hparam *h, double v)
{
    if (h->type == NF_HP_FLAG && v != 0.0 && v != 1.0)
        return nf_fail(NF_EINVAL, "--%s: %s is not 0 or 1", h->option, num(v).s);
    if (h->type == NF_HP_CHOICE && !(v >= h->lo && v <= h->hi && v == floor(v)))
        return nf_fail(NF_EINVAL, "--%s: %s is not the index of one of %s", h->option, num(v).s, h->choices);
    if (!(v >= h->lo && v <= h->hi)) {
        if (h->type == NF_HP_INT)
            return nf_fail(NF_EINVAL, "--%s: %s is outside [%.0f, %.0f]", h->option, num(v).s, h->lo, h->hi);
        return nf_fail(NF_EINVAL, "--%s: %s is outside [%s, %s]", h->option, num(v).s, num(h->lo).s,
                       num(h->hi).s);
    }
    if (h->type == NF_HP_INT && v != floor(v))
        return nf_fail(NF_EINVAL, "--%s: %s is not an integer", h->option, num(v).s);
    return NF_OK;
}

nf_status nf_opt_hparam_set(nf_opt_config *cfg, int hp, double a, double b)
{
    if (hp < 0 || hp >= HP_COUNT) return nf_fail(NF_EINVAL, "no optimizer hyperparameter %d", hp);
    const nf_opt_hparam *h = &hparams[hp];
    nf_status st = value_ok(h, a);
    if (!st && h->type == NF_HP_PAIR) st = value_ok(h, b);
    if (st) return st;
    hparam_store(cfg, hp, a, b);
    return NF_OK;
}

static nf_status parse_real(const nf_opt_hparam *h, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno == ERANGE || !isfinite(v))
        return nf_fail(NF_EINVAL, "--%s: '%s' is not a finite number", h->option, text);
    *out = v;
    return NF_OK;
}

nf_status nf_opt_hparam_parse(nf_opt_config *cfg, int hp, const char *text)
{
    if (hp < 0 || hp >= HP_COUNT) return nf_fail(NF_EINVAL, "no optimizer hyperparameter %d", hp);
    const nf_opt_hparam *h = &hparams[hp];
    if (h->type == NF_HP_FLAG) return nf_opt_hparam_set(cfg, hp, (double)h->flag_value, 0.0);
    if (!text) text = "";
    double a = 0.0, b = 0.0;
    nf_status st = NF_OK;
    switch (h->type) {
    case NF_HP_REAL: st = parse_real(h, text, &a); break;
    case NF_HP_INT: {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (end == text || *end || errno == ERANGE)
            return nf_fail(NF_EINVAL, "--%s: '%s' is not an integer", h->option, text);
        a = (double)v;
        break;
    }
    case NF_HP_PAIR: {
        const char *comma = strchr(text, ',');
        if (!comma)
            return nf_fail(NF_EINVAL, "--%s: expected two numbers like 0.9,0.999, got '%s'", h->option, text);
        char first[64];
        size_t len = (size_t)(comma - text);
        if (len >= sizeof first) len = sizeof first - 1;
        memcpy(first, text, len);
        first[len] = '\0';
        st = parse_real(h, first, &a);
        if (!st) st = parse_real(h, comma + 1, &b);
        break;
    }
    case NF_HP_CHOICE: {
        char name[64];
        int k = 0;
        while (choice_name(h, k, name, sizeof name) && strcmp(name, text)) k++;
        if (!choice_name(h, k, name, sizeof name))
            return nf_fail(NF_EINVAL, "--%s: '%s' is not one of %s", h->option, text, h->choices);
        a = (double)k;
        break;
    }
    default: break;
    }
    return st ? st : nf_opt_hparam_set(cfg, hp, a, b);
}

/* ---- configurations ---- */

/* Text built once from the descriptors: the name list, the Keras kinds, each kind's uses. */
static char names_text[256], keras_text[128], uses_text[NF_OPT_COUNT][256];
static pthread_once_t texts_once = PTHREAD_ONCE_INIT;

static void append(char *buf, size_t cap, const char *sep, const char *s)
{
    size_t pos = strlen(buf);
    snprintf(buf + pos, cap - pos, "%s%s", pos ? sep : "", s);
}

/* The hyperparameters d reads in nf_opt_uses order (its reads, then keras if it has a Keras
 * variant) into hps [HP_COUNT]; returns how many. */
static int uses_list(const nf_opt_desc *d, int *hps)
{
    int n = 0;
    for (const nf_hp_value *r = d->reads; r->hp >= 0; r++) hps[n++] = r->hp;
    if (d->keras) hps[n++] = HP_KERAS;
    return n;
}

static void build_texts(void)
{
    int hps[HP_COUNT];
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        const nf_opt_desc *d = nf_opt_desc_of((nf_opt_kind)k);
        append(names_text, sizeof names_text, ", ", d->name);
        if (d->keras) append(keras_text, sizeof keras_text, ", ", d->name);
        const int n = uses_list(d, hps);
        for (int i = 0; i < n; i++) append(uses_text[k], sizeof uses_text[k], " ", hparams[hps[i]].name);
    }
}

const char *nf_opt_names(void)
{
    pthread_once(&texts_once, build_texts);
    return names_text;
}

static int word_in(const char *list, const char *w)
{
    size_t len = strlen(w);
    for (const char *p = list; p && (p = strstr(p, w)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

nf_status nf_opt_parse(const char *name, nf_opt_kind *kind)
{
    for (int k = 0; k < NF_OPT_COUNT; k++) {
        const nf_opt_desc *d = nf_opt_desc_of((nf_opt_kind)k);
        if (!strcmp(name, d->name) || (d->aliases && *name && word_in(d->aliases, name))) {
            *kind = (nf_opt_kind)k;
            return NF_OK;
        }
    }
    return nf_fail(NF_EINVAL, "unknown optimizer '%s' (valid: %s)", name, nf_opt_names());
}

int nf_opt_is_full_batch(nf_opt_kind kind)
{
    const nf_opt_desc *d = nf_opt_desc_of(kind);
    return d && d->drive != NF_DRIVE_GRADIENT;
}

int nf_opt_has_keras(nf_opt_kind kind)
{
    const nf_opt_desc *d = nf_opt_desc_of(kind);
    return d && d->keras;
}

int nf_opt_reads(nf_opt_kind kind, int hp)
{
    const nf_opt_desc *d = nf_opt_desc_of(kind);
    if (!d || hp < 0 || hp >= HP_COUNT) return 0;
    if (hp == HP_KERAS) return d->keras != NULL;
    for (const nf_hp_value *r = d->reads; r->hp >= 0; r++)
        if (r->hp == hp) return 1;
    return 0;
}

void nf_opt_defaults(nf_opt_kind kind, nf_opt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    const nf_opt_desc *d = nf_opt_desc_of(kind);
    if (!d) return;
    for (const nf_hp_value *r = d->reads; r->hp >= 0; r++) hparam_store(cfg, r->hp, r->a, r->b);
}

nf_status nf_opt_keras_defaults(nf_opt_config *c)
{
    if (!nf_opt_has_keras(c->kind)) {
        pthread_once(&texts_once, build_texts);
        return nf_fail(NF_EINVAL, "optimizer %s has no Keras variant (keras applies to %s)",
                       nf_opt_name(c->kind), keras_text);
    }
    c->keras = 1;
    for (const nf_hp_value *r = nf_opt_desc_of(c->kind)->keras; r->hp >= 0; r++)
        hparam_store(c, r->hp, r->a, r->b);
    return NF_OK;
}

const char *nf_opt_uses(nf_opt_kind kind)
{
    if ((unsigned)kind >= NF_OPT_COUNT) return "";
    pthread_once(&texts_once, build_texts);
    return uses_text[kind];
}

int nf_opt_uses_param(nf_opt_kind kind, const char *name)
{
    for (int hp = 0; hp < HP_COUNT; hp++)
        if (!strcmp(hparams[hp].name, name)) return nf_opt_reads(kind, hp);
    return 0;
}

/* "name=value" of hp as nf_opt_describe writes it (%g; max_eval 0 as max_iter*5/4). */
static void describe_one(const nf_opt_config *c, int hp, char *buf, size_t len)
{
    const nf_opt_hparam *h = &hparams[hp];
    double a, b;
    nf_opt_hparam_get(c, hp, &a, &b);
    char choice[64];
    switch (h->type) {
    case NF_HP_PAIR: snprintf(buf, len, "%s=%g,%g", h->name, a, b); break;
    case NF_HP_CHOICE:
        if (!choice_name(h, (int)a, choice, sizeof choice)) snprintf(choice, sizeof choice, "%d", (int)a);
        snprintf(buf, len, "%s=%s", h->name, choice);
        break;
    case NF_HP_INT:
    case NF_HP_FLAG:
        snprintf(buf, len, "%s=%d", h->name, hp == HP_MAX_EVAL ? nf_lbfgs_max_eval(c) : (int)a);
        break;
    default: snprintf(buf, len, "%s=%g", h->name, a); break;
    }
}

/* Appends text to buf [len] at *pos (truncating at the end of buf). */
static void put(char *buf, size_t len, size_t *pos, const char *text)
{
    if (*pos >= len) return;
    int w = snprintf(buf + *pos, len - *pos, "%s", text);
    *pos = w < 0 ? len : *pos + (size_t)w;
}

void nf_opt_describe(const nf_opt_config *c, char *buf, size_t len)
{
    if (!len) return;
    buf[0] = '\0';
    const nf_opt_desc *d = nf_opt_desc_of(c->kind);
    if (!d) return;
    int hps[HP_COUNT];
    const int n = uses_list(d, hps);
    size_t pos = 0;
    char item[128];
    for (int i = 0; i < n; i++) {
        describe_one(c, hps[i], item, sizeof item);
        if (i) put(buf, len, &pos, " ");
        put(buf, len, &pos, item);
    }
}

void nf_opt_label(const nf_opt_config *c, char *buf, size_t len)
{
    if (!len) return;
    buf[0] = '\0';
    size_t pos = 0;
    put(buf, len, &pos, nf_opt_name(c->kind));
    if ((unsigned)c->kind >= NF_OPT_COUNT) return;
    nf_opt_config def;
    nf_opt_defaults(c->kind, &def);
    if (c->keras && nf_opt_has_keras(c->kind)) {
        nf_opt_keras_defaults(&def);
        def.keras = 0; /* the variant itself is named */
    }
    int shown = 0;
    char item[160], x[32], y[32];
    for (int hp = 0; hp < HP_COUNT; hp++) {
        if (!nf_opt_reads(c->kind, hp)) continue;
        const nf_opt_hparam *h = &hparams[hp];
        double a, b, da, db;
        nf_opt_hparam_get(c, hp, &a, &b);
        nf_opt_hparam_get(&def, hp, &da, &db);
        if (a == da && b == db) continue;
        switch (h->type) {
        case NF_HP_FLAG:
            snprintf(item, sizeof item, a == 1.0 ? "%s" : "%s=%.0f", h->name, a);
            break;
        case NF_HP_CHOICE:
            if (!choice_name(h, (int)a, x, sizeof x)) snprintf(x, sizeof x, "%d", (int)a);
            snprintf(item, sizeof item, "%s=%s", h->name, x);
            break;
        case NF_HP_PAIR:
            shortest(a, x, sizeof x);
            shortest(b, y, sizeof y);
            snprintf(item, sizeof item, "%s=(%s,%s)", h->name, x, y);
            break;
        case NF_HP_INT: snprintf(item, sizeof item, "%s=%d", h->name, (int)a); break;
        default:
            shortest(a, x, sizeof x);
            snprintf(item, sizeof item, "%s=%s", h->name, x);
            break;
        }
        put(buf, len, &pos, shown++ ? "," : "(");
        put(buf, len, &pos, item);
    }
    if (shown) put(buf, len, &pos, ")");
}

/* hp's value(s) in c against the table's range; the message names the kind and the option. */
static nf_status in_range(const nf_opt_config *c, int hp)
{
    const nf_opt_hparam *h = &hparams[hp];
    double v[2];
    nf_opt_hparam_get(c, hp, &v[0], &v[1]);
    for (int i = 0; i < (h->type == NF_HP_PAIR ? 2 : 1); i++) {
        if (v[i] >= h->lo && v[i] <= h->hi) continue;
        char name[64];
        if (h->type == NF_HP_PAIR) {
            const char *comma = strchr(h->parts, ',');
            if (i == 0) snprintf(name, sizeof name, "%.*s", (int)(comma - h->parts), h->parts);
            else snprintf(name, sizeof name, "%s", comma + 1);
        } else {
            snprintf(name, sizeof name, "%s", h->name);
        }
        return nf_fail(NF_EINVAL, "%s: %s = %s is outside [%s, %s] (--%s)", nf_opt_name(c->kind),
                       name, num(v[i]).s, num(h->lo).s, num(h->hi).s, h->option);
    }
    return NF_OK;
}

nf_status nf_opt_validate(const nf_opt_config *c)
{
    const nf_opt_desc *d = nf_opt_desc_of(c->kind);
    CHECK(d, "unknown optimizer %d", (int)c->kind);
    CHECK(!c->keras || d->keras, "%s has no Keras variant", d->name);
    int hps[HP_COUNT];
    const int n = uses_list(d, hps);
    for (int i = 0; i < n; i++) {
        nf_status st = in_range(c, hps[i]);
        if (st) return st;
    }
    return d->check ? d->check(c) : NF_OK;
}
