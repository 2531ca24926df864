/* fuzz_npy.c — libFuzzer target for the .npy reader.  A successful finite parse must write
 * and re-read to the same values. */
#include <stdlib.h>
#include <string.h>

#include "nnfit/data.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    nf_read_opts o;
    nf_read_opts_default(&o);
    o.allow_nonfinite = size > 0 && (data[size - 1] & 1); /* last byte is part of the file too */
    nf_mat M;
    if (nf_npy_parse(data, size, "fuzz.npy", &o, &M)) return 0;
    unsigned char *b;
    size_t n;
    nf_mat R;
    o.allow_nonfinite = 1;
    if (nf_npy_format(&M, &b, &n)) __builtin_trap();
    if (nf_npy_parse(b, n, "again.npy", &o, &R)) __builtin_trap();
    if (R.rows != M.rows || R.cols != M.cols ||
        memcmp(R.data, M.data, nf_mat_size(&M) * sizeof(float)))
        __builtin_trap();
    nf_mat_free(&R);
    free(b);
    nf_mat_free(&M);
    return 0;
}
