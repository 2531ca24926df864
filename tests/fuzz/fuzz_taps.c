/* fuzz_taps.c — libFuzzer target for the FIR taps reader (nf_task_parse_taps).  Taps it
 * accepts are finite, at most 65536, and read back the same from their "%.9g" text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/nnfit.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    float *taps;
    int n;
    if (nf_task_parse_taps((const char *)data, size, "fuzz.txt", &taps, &n)) {
        if (taps || n) __builtin_trap();
        if (strchr(nf_last_error(), '\n')) __builtin_trap(); /* messages are one line */
        return 0;
    }
    if (n < 1 || n > 65536) __builtin_trap();
    size_t cap = (size_t)n * 20 + 1, len = 0;
    char *text = malloc(cap);
    if (!text) __builtin_trap();
    for (int i = 0; i < n; i++) {
        if (!isfinite(taps[i])) __builtin_trap();
        len += (size_t)snprintf(text + len, cap - len, "%.9g\n", (double)taps[i]);
    }
    float *again;
    int m;
    if (nf_task_parse_taps(text, len, "again.txt", &again, &m) || m != n ||
        memcmp(again, taps, (size_t)n * sizeof(float)))
        __builtin_trap();
    nf_free(again);
    nf_free(taps);
    free(text);
    return 0;
}
