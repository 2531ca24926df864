/* fuzz_results.c — libFuzzer target for the reader of `nnfit sweep --out` results files (the
 * input of `nnfit plot`).  A successful parse must give a consistent layout: settings in index
 * order, their trials contiguous and ordered by restart, names made of plain words only. */
#include <stdlib.h>
#include <string.h>

#include "results_csv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cli_results r;
    if (cli_results_parse((const char *)data, size, "fuzz.csv", &r)) {
        if (r.trials || r.first || r.names || r.index || r.n) __builtin_trap(); /* empty on failure */
        return 0;
    }
    if (r.n < 1 || r.n_settings < 1 || r.n_settings > CLI_RESULTS_MAX_SETTINGS || !(r.target > 0)) __builtin_trap();
    if (r.first[0] != 0 || r.first[r.n_settings] != r.n) __builtin_trap();
    for (int k = 0; k < r.n_settings; k++) {
        if (r.first[k + 1] <= r.first[k]) __builtin_trap();
        if (k && r.index[k] <= r.index[k - 1]) __builtin_trap();
        for (long i = r.first[k]; i < r.first[k + 1]; i++) {
            if (r.trials[i].setting != r.index[k]) __builtin_trap();
            if (i > r.first[k] && r.trials[i].restart <= r.trials[i - 1].restart) __builtin_trap();
            if (r.trials[i].restart < 0 || r.trials[i].dead < 0) __builtin_trap();
        }
        for (const char *p = r.names[k].label; *p; p++)
            if (*p == '"' || *p == '\'' || *p == '`' || *p == '\\' || (unsigned char)*p < 32) __builtin_trap();
    }
    cli_results_free(&r);
    return 0;
}
