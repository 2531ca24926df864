/* status.h — error codes and the last-error detail text.
 *
 * Every fallible nnfit function returns an nf_status.  NF_OK is zero.  On failure the
 * library also records one line of detail (what was wrong and where, e.g. "abs.csv:12: 3
 * columns, expected 2") that nf_last_error() returns; the detail is per thread. */
#ifndef NNFIT_STATUS_H
#define NNFIT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_OK = 0,
    NF_EINVAL,       /* an argument is out of range or inconsistent */
    NF_ENOMEM,       /* an allocation failed or would be too large */
    NF_EIO,          /* a file could not be opened, read or written */
    NF_EFORMAT,      /* a file's contents are malformed */
    NF_ESHAPE,       /* shapes do not match */
    NF_ENONFINITE,   /* NaN or Inf found in input data */
    NF_EDIVERGED,    /* training produced NaN/Inf; the last finite parameters were kept */
    NF_ENUMERIC,     /* a numerical routine failed (singular system, LAPACK error) */
    NF_EUNSUPPORTED, /* valid request that this build or combination does not support */
    NF_EINTERRUPTED, /* stopped on request (signal / callback) */
    NF_STATUS_COUNT
} nf_status;

/* A fixed sentence for a status code ("invalid argument", ...). Never NULL. */
const char *nf_strerror(nf_status status);

/* Detail of the last failure on this thread ("" when none). Valid until the next nnfit call. */
const char *nf_last_error(void);

/* Records detail text (printf format) for the current thread and returns status unchanged,
 * so a failing path reads `return nf_fail(NF_EINVAL, "lr must be > 0, got %g", lr);`. */
nf_status nf_fail(nf_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clears the detail text of this thread. */
void nf_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
