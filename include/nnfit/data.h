/* data.h — datasets: CSV and NumPy .npy in and out, column splits, shuffles, hold-out splits,
 * and crash-safe file writes.
 *
 * Every file is untrusted.  Readers never crash on malformed input: they return NF_EFORMAT
 * (or NF_ENONFINITE, NF_ENOMEM, NF_EIO) and nf_last_error() names the file, the line (CSV) or
 * byte offset (.npy) and what was expected, e.g. "abs.csv:12: 2 columns, expected 3 (as on
 * line 2)".
 *
 * CSV dialect: one row per line; lines end at LF, CRLF or a lone CR; blank lines skipped; '#'
 * starts a comment that runs to the end of the line.  The separator is taken from the first non-comment line: ','
 * if it has one, else runs of spaces and/or tabs (so tab-separated files work; header names
 * then cannot contain spaces).  Spaces around comma-separated cells are ignored.  The first line is a header when every one of its cells is not a number (cells may
 * be "quoted"); a line that mixes numbers and words is an error.  Numbers are parsed with
 * strtod under a thread-local "C" locale (newlocale + uselocale, restored afterwards), so a
 * program that called setlocale(LC_ALL, "de_DE") still reads "0.5"; the library itself
 * never calls setlocale.  (Plain decimal cells take an exact fast path that gives strtod's
 * result.)  nf_data_read streams a CSV file: its peak memory is the matrix plus a read block of
 * about 1 MiB (the block grows only to hold a longer line); a pipe is read whole first.  Writers format with "%.9g" under the same C locale, which round-trips
 * every float32 exactly.
 *
 * .npy: format versions 1.0, 2.0 and 3.0; dtypes float32 and float64 ('<f4', '>f4', '<f8',
 * '>f8', '=' is the host order); shape (n,) reads as n×1, (n, m) as n×m; fortran_order True
 * is handled (transposed on load).  The data must be exactly rows × cols × itemsize bytes.
 * float64 values are rounded to float32; a finite double outside float range counts as
 * non-finite.  Writers emit version 1.0, '<f4', C order, 2-D.
 *
 * Outputs (nf_file_write_atomic, nf_data_write, the nf_out stream) go to a temporary file in
 * the target's folder (".NAME.tmpXXXXXX", NAME cut so the temporary name fits the file
 * system's name limit), are fsync'd, renamed over the target and the folder is fsync'd, so a
 * killed run leaves either the old file or the new one, never a partial one (at worst a hidden
 * temporary file).  A write error or a full disk leaves an existing target as it was and removes
 * the temporary file.  An existing target that is not a regular file (device, FIFO, socket,
 * directory) is refused, never replaced; a symbolic link to a regular file keeps the link and
 * replaces its destination.  A replaced file keeps its permission bits. */
#ifndef NNFIT_DATA_H
#define NNFIT_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnfit/mat.h"
#include "nnfit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest file the readers accept (bytes).  Bigger files are refused before reading. */
#define NF_DATA_MAX_BYTES ((size_t)1 << 34)

typedef struct {
    int allow_nonfinite; /* accept NaN/Inf cells instead of failing with NF_ENONFINITE */
    int header;          /* CSV: -1 detect (default), 0 no header, 1 first line is a header */
} nf_read_opts;

/* Defaults: refuse non-finite values, detect the header. */
void nf_read_opts_default(nf_read_opts *o);

typedef enum { NF_FMT_CSV = 0, NF_FMT_NPY } nf_data_format;
/* .npy (case-insensitive) is NPY, everything else CSV. */
nf_data_format nf_data_format_of(const char *path);

/* Parses CSV text buf[0..len) (need not be NUL-terminated) into a new owned matrix M
 * [rows, cols].  `name` is used in messages.  Fails on empty input or a header without rows. */
nf_status nf_csv_parse(const char *buf, size_t len, const char *name, const nf_read_opts *o,
                       nf_mat *M);
/* Parses .npy bytes into a new owned matrix M. */
nf_status nf_npy_parse(const unsigned char *buf, size_t len, const char *name,
                       const nf_read_opts *o, nf_mat *M);

/* Shape of the .npy file at path (its header; the file's size must match it). */
nf_status nf_npy_shape(const char *path, long *rows, long *cols);
/* Rows [row0, row0 + n) of the .npy file at path into a new owned matrix M [n, cols], reading
 * only the header and those rows' bytes (one range in C order, one per column in Fortran
 * order): how each process of a data-parallel run reads its part.  The whole-file checks of
 * nf_npy_parse apply; messages name rows counted in the whole file. */
nf_status nf_npy_read_rows(const char *path, const nf_read_opts *o, long row0, long n, nf_mat *M);

/* Reads a CSV or .npy file (by extension) into M.  o may be NULL for the defaults. */
nf_status nf_data_read(const char *path, const nf_read_opts *o, nf_mat *M);

/* Serialises M as CSV text (malloc'd, *len bytes, NUL-terminated).  header may be NULL or
 * hold M->cols names. */
nf_status nf_csv_format(const nf_mat *M, const char *const *header, char **text, size_t *len);
/* Serialises M as .npy bytes (malloc'd). */
nf_status nf_npy_format(const nf_mat *M, unsigned char **bytes, size_t *len);

/* Writes M to path as CSV or .npy (by extension), atomically.  header: as nf_csv_format
 * (ignored for .npy). */
nf_status nf_data_write(const char *path, const nf_mat *M, const char *const *header);

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *len excludes the NUL).
 * Refuses files larger than max_bytes. */
nf_status nf_file_read(const char *path, size_t max_bytes, unsigned char **buf, size_t *len);
/* Writes buf[0..len) to path via temporary file + fsync + rename.  On failure the target is
 * untouched and the temporary file removed. */
nf_status nf_file_write_atomic(const char *path, const void *buf, size_t len);

/* An output file written as a stream: nf_out_open, then write to `f` with stdio, then
 * nf_out_commit (or nf_out_abort).  The fields are the library's; read only `f`. */
typedef struct {
    FILE *f;      /* the temporary file */
    char *target; /* the file that gets replaced */
    char *tmp;    /* the temporary file's name */
} nf_out;

/* Checks, before any work is done, that path can be written atomically: an existing target is
 * a regular file (or a link to one), its folder exists and a temporary file can be created in
 * it (tried: created and removed), the name fits the file system.  The message names the path
 * and what is wrong ("out/m.csv: folder 'out' does not exist", "/dev/null: is a character
 * device; ...").  Nothing is left behind. */
nf_status nf_out_check(const char *path);
/* Creates the temporary file next to path (the same checks as nf_out_check) and opens o->f on
 * it.  On failure *o is empty and nothing was created. */
nf_status nf_out_open(nf_out *o, const char *path);
/* Flushes, fsyncs and closes o->f, renames it over the target and fsyncs the folder.  A write
 * error seen on the stream (full disk, file size limit, I/O error) or during these steps fails
 * with NF_EIO, removes the temporary file and leaves the target as it was.  *o is emptied either
 * way. */
nf_status nf_out_commit(nf_out *o);
/* Closes and removes the temporary file; the target is untouched.  A no-op on an empty *o
 * (after commit, or after a failed open), so it is safe on every cleanup path. */
void nf_out_abort(nf_out *o);

/* Splits the columns of M [rows, cols] into X = first k columns and Y = the rest, both new
 * owned matrices.  Needs 1 <= k < cols. */
nf_status nf_data_split_cols(const nf_mat *M, int k, nf_mat *X, nf_mat *Y);

/* Permutes the rows of X and Y (same permutation, Y may be NULL) with a Fisher–Yates shuffle
 * drawn from seed. */
nf_status nf_data_shuffle(nf_mat *X, nf_mat *Y, uint64_t seed);

/* Holds out round(frac · rows) rows (at least 1, at most rows − 1) chosen by a permutation
 * drawn from seed; both parts keep the original row order.  Fills four new owned matrices.
 * frac must be in (0, 1) and rows >= 2. */
nf_status nf_data_holdout(const nf_mat *X, const nf_mat *Y, double frac, uint64_t seed,
                          nf_mat *Xtrain, nf_mat *Ytrain, nf_mat *Xval, nf_mat *Yval);

/* The same hold-out of n_total rows when X/Y are only rows [row0, row0 + X->rows) of them (a
 * data-parallel process's part): the permutation is drawn over all n_total rows, and this part
 * keeps its rows of each side, in order.  *train_row0 gets where its training rows start among
 * the n_total − round(frac · n_total) training rows of all parts (the parts in order make up
 * exactly nf_data_holdout's training rows).  A part may end up with no rows on a side (a 0-row
 * matrix). */
nf_status nf_data_holdout_part(const nf_mat *X, const nf_mat *Y, double frac, uint64_t seed, long row0,
                               long n_total, nf_mat *Xtrain, nf_mat *Ytrain, nf_mat *Xval, nf_mat *Yval,
                               long *train_row0);

#ifdef __cplusplus
}
#endif
#endif
