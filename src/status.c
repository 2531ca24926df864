/* status.c — error codes and per-thread detail text. */
#include "nnfit/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

static const char *const messages[NF_STATUS_COUNT] = {
    [NF_OK] = "success",
    [NF_EINVAL] = "invalid argument",
    [NF_ENOMEM] = "out of memory",
    [NF_EIO] = "input/output error",
    [NF_EFORMAT] = "malformed file",
    [NF_ESHAPE] = "shape mismatch",
    [NF_ENONFINITE] = "non-finite value in data",
    [NF_EDIVERGED] = "training diverged",
    [NF_ENUMERIC] = "numerical failure",
    [NF_EUNSUPPORTED] = "not supported",
    [NF_EINTERRUPTED] = "interrupted",
};

const char *nf_strerror(nf_status status)
{
    if ((int)status < 0 || status >= NF_STATUS_COUNT) return "unknown status";
    return messages[status];
}

const char *nf_last_error(void) { return last_error; }

void nf_clear_error(void) { last_error[0] = '\0'; }

nf_status nf_fail(nf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
