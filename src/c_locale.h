/* c_locale.h — a scope in which this thread parses and formats numbers in the "C" locale
 * (shared by the data readers and writers, model_io and the taps reader). */
#ifndef NNFIT_C_LOCALE_H
#define NNFIT_C_LOCALE_H

#include <locale.h>

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

#endif
