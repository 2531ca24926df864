/* data_internal.h — helpers shared by data.c, data_csv.c, data_npy.c and model_io.c. */
#ifndef NNFIT_DATA_INTERNAL_H
#define NNFIT_DATA_INTERNAL_H

#include <locale.h>

#include "nnfit/data.h"

/* Switches this thread to the "C" locale for number parsing/formatting; pop restores the
 * previous one.  When newlocale fails the thread keeps its locale (a no-op scope). */
typedef struct {
    locale_t c, old;
} nf_c_locale;

static inline void nf_c_locale_push(nf_c_locale *s)
{
    s->old = (locale_t)0;
    s->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (s->c) s->old = uselocale(s->c);
}

static inline void nf_c_locale_pop(nf_c_locale *s)
{
    if (s->c) {
        uselocale(s->old);
        freelocale(s->c);
    }
    s->c = (locale_t)0;
}

/* Start of every reader: `*o` falls back to the defaults (stored in *def) and M is emptied, so
 * a failure leaves nothing to free. */
static inline const nf_read_opts *nf_read_begin(const nf_read_opts *o, nf_read_opts *def, nf_mat *M)
{
    M->rows = M->cols = 0;
    M->data = NULL;
    M->owned = 0;
    if (o) return o;
    nf_read_opts_default(def);
    return def;
}

/* Reads a CSV file into M in two streaming passes (data_csv.c). */
nf_status nf_csv_read_file(const char *path, const nf_read_opts *o, nf_mat *M);

#endif
