/* fuzz_csv.c — libFuzzer target for the CSV reader.  The first byte picks the options; a
 * successful parse must format and re-parse to the same values. */
#include <stdlib.h>
#include <string.h>

#include "nnfit/data.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    nf_read_opts o;
    nf_read_opts_default(&o);
    o.allow_nonfinite = data[0] & 1;
    o.header = (data[0] >> 1) % 3 - 1;
    nf_mat M;
    if (nf_csv_parse((const char *)data + 1, size - 1, "fuzz.csv", &o, &M)) return 0;
    if (M.rows < 1 || M.cols < 1) __builtin_trap();
    if (!o.allow_nonfinite) {
        char *text;
        size_t len;
        nf_mat R;
        o.header = 0;
        if (nf_csv_format(&M, NULL, &text, &len)) __builtin_trap();
        if (nf_csv_parse(text, len, "again.csv", &o, &R)) __builtin_trap();
        if (R.rows != M.rows || R.cols != M.cols ||
            memcmp(R.data, M.data, nf_mat_size(&M) * sizeof(float)))
            __builtin_trap();
        nf_mat_free(&R);
        free(text);
    }
    nf_mat_free(&M);
    return 0;
}
