/* task.h — built-in regression tasks, generated in memory from a seed, with exact operators.
 *
 * abs       (x, y) ~ U[-1, 1]², target √(x² + y²).  Default net 2→3→1 ReLU.
 * fir       frames x[0..N) of white noise N(0, 1) → y[n] = Σ_k h[k]·x[n−k], each frame filtered
 *           on its own with zero initial state (x[m] = 0 for m < 0).  The exact layer is the
 *           lower-triangular Toeplitz matrix W[n][m] = h[n−m] (0 ≤ n−m < T), bias 0.
 *           Single-output form (fir_single): the input is a window ordered newest first,
 *           (x[t], x[t−1], …, x[t−T+1]) → y[t]; the exact weights are the taps h[0..T).
 * dft       N real samples N(0, 1) → (Re X_0..Re X_{K−1}, Im X_0..Im X_{K−1}) with
 *           X_k = Σ_n x_n e^{−2πikn/N}, K = N/2+1 (or N with dft_full).  With dft_complex the
 *           input is (Re x_0..Re x_{N−1}, Im x_0..Im x_{N−1}) and K = N.  orthonormal scales
 *           by 1/√N.
 * spectrum  N real samples → |X_0| .. |X_{N/2}| (N/2+1 outputs).  Needs a hidden layer;
 *           default 64→256→33 ReLU.
 * teacher   x ~ N(0, I_k) → y = Σ_i relu(x_i): a two-layer ReLU "teacher" with k orthonormal
 *           units, biases 0 and output weights 1 (Safran & Shamir 2018).  8192 rows by default;
 *           default net k→k→1 ReLU, the teacher's own width, where an exact fit exists. */
#ifndef NNFIT_TASK_H
#define NNFIT_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "nnfit/act.h"
#include "nnfit/mat.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NF_TASK_ABS = 0,
    NF_TASK_FIR,
    NF_TASK_DFT,
    NF_TASK_SPECTRUM,
    NF_TASK_TEACHER,
    NF_TASK_COUNT
} nf_task_kind;

typedef struct {
    nf_task_kind kind;
    int n_samples;     /* rows to generate (default 4096) */
    int frame;         /* N for fir/dft/spectrum (default 64) */
    const float *taps; /* fir taps; NULL means the built-in 31-tap low-pass */
    int n_taps;
    int fir_single;    /* fir: T inputs → 1 output */
    int dft_complex;   /* dft: complex input */
    int dft_full;      /* dft: all N bins for real input */
    int orthonormal;   /* dft/spectrum: scale by 1/√N */
    int k;             /* teacher: inputs and teacher units (default 10) */
    uint64_t seed;
} nf_task_config;

const char *nf_task_name(nf_task_kind kind);
nf_status nf_task_parse(const char *name, nf_task_kind *kind);
const char *nf_task_names(void);

/* Defaults for kind (n_samples 4096, 8192 for teacher; frame 64, built-in taps; k 10). */
void nf_task_defaults(nf_task_kind kind, nf_task_config *cfg);

/* Checks sizes (frame 1..65536, k 1..4096, taps non-empty and finite, ...). */
nf_status nf_task_validate(const nf_task_config *cfg);

/* Input and output widths of the task. */
void nf_task_shape(const nf_task_config *cfg, int *n_in, int *n_out);

/* Whether the exact operator is linear (fir, dft). */
int nf_task_is_linear(nf_task_kind kind);

/* Default architecture: sizes (including input and output) and the hidden activation. */
void nf_task_default_layers(const nf_task_config *cfg, int *sizes, int *n_layers,
                            nf_act_spec *hidden);

/* Generates X [n_samples, n_in] and Y [n_samples, n_out] (owned; free with nf_mat_free). */
nf_status nf_task_generate(const nf_task_config *cfg, nf_mat *X, nf_mat *Y);

/* Exact weights [n_out, n_in] of a linear task (bias is zero).  NF_EUNSUPPORTED otherwise. */
nf_status nf_task_exact(const nf_task_config *cfg, nf_mat *W);

/* The built-in 31-tap low-pass (data/fir/lowpass31.txt). */
const float *nf_task_default_taps(int *n_taps);

/* Reads taps from a text file: decimal numbers separated by newlines, spaces, tabs or commas;
 * '#' starts a comment that runs to the end of the line; lines end at LF, CRLF or a lone CR.
 * Every byte counts: a NUL or any other stray byte is an error, never the end of the file, and
 * lines may be of any length.  At most 65536 taps, each finite and within float32 range.
 * *taps is allocated with nf_alloc; errors are one line naming the file, the line and the
 * offending text (control bytes shown as \xNN). */
nf_status nf_task_read_taps(const char *path, float **taps, int *n_taps);
/* The same on text buf[0..len) (need not be NUL-terminated); `name` is used in messages. */
nf_status nf_task_parse_taps(const char *buf, size_t len, const char *name, float **taps, int *n_taps);

#ifdef __cplusplus
}
#endif
#endif
