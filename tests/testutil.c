/* testutil.c — shared test helpers. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *tu_data(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("NNFIT_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}

const char *tu_nnfit(void)
{
    const char *p = getenv("NNFIT_BIN");
    return p ? p : "nnfit";
}

static char *slurp(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
        }
    }
    if (buf) buf[len] = '\0';
    return buf;
}

int tu_run_cmd(const char *cmd, char **out, char **err)
{
    char errfile[] = "/tmp/nnfit-test-stderr-XXXXXX";
    int fd = mkstemp(errfile);
    if (fd < 0) return -1;
    char full[8192];
    snprintf(full, sizeof full, "%s 2>%s", cmd, errfile);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    char *o = slurp(p);
    int status = pclose(p);
    FILE *e = fopen(errfile, "r");
    char *es = e ? slurp(e) : NULL;
    if (e) fclose(e);
    remove(errfile);
    if (out) *out = o; else free(o);
    if (err) *err = es; else free(es);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nf_model *tu_mlp(int n_layers, const int *sizes, nf_act_kind hidden, nf_init_kind init,
                 uint64_t seed)
{
    nf_act_spec h = {hidden, nf_act_default_param(hidden)}, lin = {NF_ACT_LINEAR, 0.0f};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, n_layers, sizes, &h, &lin), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    nf_init_spec is = {init, NF_BIAS_DEFAULT, 0.0f};
    ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
    return m;
}

int tu_run_nnfit(const char *args, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s", tu_nnfit(), args);
    return tu_run_cmd(cmd, out, err);
}

void tu_expect_usage_error(const char *args, const char *needle)
{
    char *out, *err;
    int rc = tu_run_nnfit(args, &out, &err);
    ck_assert_msg(rc == 2, "'%s' exited %d (stderr: %s)", args, rc, err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s': stderr '%s' lacks '%s'", args, err, needle);
    ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "'%s': stderr is not one line: %s", args, err);
    ck_assert_msg(*out == '\0', "'%s' printed to stdout: %s", args, out);
    free(out);
    free(err);
}
