/* testutil.h — helpers shared by the Check suites. */
#ifndef NNFIT_TESTUTIL_H
#define NNFIT_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <string.h>

#include "nnfit/nnfit.h"

/* Runs one suite and returns the process exit status (0 when all passed). */
int tu_run(Suite *s);

/* Path under tests/data (static buffer, valid until next call). */
const char *tu_data(const char *name);
/* Path of the built nnfit program. */
const char *tu_nnfit(void);
/* Runs a shell command, capturing stdout and stderr into malloc'd strings (may be NULL);
 * returns the exit status (or -1). */
int tu_run_cmd(const char *cmd, char **out, char **err);
/* tu_run_cmd of "nnfit ARGS". */
int tu_run_nnfit(const char *args, char **out, char **err);
/* nnfit ARGS exits 2 with exactly one line on stderr containing needle and nothing on stdout. */
void tu_expect_usage_error(const char *args, const char *needle);

/* An MLP of sizes[0..n_layers] with `hidden` activations and a linear output, initialised by
 * `init` (zero biases) from an rng seeded with `seed`.  Fails the test on error. */
nf_model *tu_mlp(int n_layers, const int *sizes, nf_act_kind hidden, nf_init_kind init,
                 uint64_t seed);

/* Relative error |a-b| / max(|b|, floor). */
static inline double tu_rel(double a, double b, double floor)
{
    double d = fabs(b) > floor ? fabs(b) : floor;
    return fabs(a - b) / d;
}

#define ck_assert_close(a, b, tol)                                                                 \
    do {                                                                                           \
        double a_ = (a), b_ = (b), t_ = (tol);                                                     \
        ck_assert_msg(fabs(a_ - b_) <= t_, "%s = %.9g, %s = %.9g differ by %.3g > %.3g", #a, a_,  \
                      #b, b_, fabs(a_ - b_), t_);                                                  \
    } while (0)

#endif
