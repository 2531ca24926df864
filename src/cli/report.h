/* report.h — a sweep's report as DIR/index.html: one self-contained HTML page (inline CSS, no
 * JavaScript, nothing fetched from the network) with tables, significance marks, notes and
 * pictures, viewable offline in any browser.
 *
 * The caller describes the report as plain data (every string is UTF-8 text and is escaped
 * here; only inline SVG is copied as markup) and writes its SVG files into DIR before calling
 * cli_report_write, which checks that every named picture is there.  index.html is written
 * atomically (temporary file, fsync, rename): a killed run leaves the previous page or none. */
#ifndef NNFIT_CLI_REPORT_H
#define NNFIT_CLI_REPORT_H

/* Cell marks (bits). */
enum {
    CLI_MARK_SIGNIFICANT = 1, /* differs significantly from the reference: bold with a '*' */
    CLI_MARK_BEST = 2         /* the reference itself (e.g. the best setting): highlighted */
};

typedef struct {
    const char *caption;        /* above the table; may be NULL */
    int n_cols, n_rows;         /* n_cols >= 1, n_rows >= 0 */
    const char *const *header;  /* [n_cols] column names */
    const char *const *cells;   /* [n_rows * n_cols] row-major; a NULL cell is empty */
    const unsigned char *marks; /* [n_rows * n_cols] CLI_MARK_* bits, or NULL */
    const char *legend;         /* says what the marks mean, under the table; NULL: a default
                                   sentence when any cell is marked */
} cli_report_table;

typedef struct {
    const char *caption;        /* under the picture; may be NULL */
    const char *file;           /* an SVG (or PNG) file in the report folder, relative to it
                                   ("profile.svg", "curves/adam.svg"), shown with <img>; or NULL */
    const char *svg;            /* inline SVG markup (an XML prolog or doctype before <svg> is
                                   dropped), used when file is NULL */
    const char *alt;            /* text for readers that show no pictures; NULL: the caption */
} cli_report_picture;

typedef struct {
    const char *heading;
    const char *const *notes;   /* [n_notes] paragraphs before the tables */
    int n_notes;
    const cli_report_table *tables;
    int n_tables;
    const cli_report_picture *pictures;
    int n_pictures;
} cli_report_section;

typedef struct {
    const char *title;
    const char *command;        /* the command line that made the report, shown verbatim; may be NULL */
    const char *const *notes;   /* [n_notes] paragraphs under the title */
    int n_notes;
    const cli_report_section *sections;
    int n_sections;
} cli_report;

/* Checks, writing nothing, that dir can hold a report: an existing writable folder, or a name
 * whose parent folder exists (it will be created).  0, or EXIT_USAGE after a one-line message
 * ("--report DIR: is a file, not a folder").  Call it before a long sweep. */
int cli_report_check(const char *dir);

/* Creates dir if needed (one level, as cli_report_check allows).  0 or EXIT_USAGE. */
int cli_report_make_dir(const char *dir);

/* Writes dir/index.html for r (creating dir if needed).  Every picture file must exist in dir.
 * 0, or EXIT_USAGE after a one-line message (folder unusable, picture missing, bad
 * description, write failure); on failure index.html is left as it was. */
int cli_report_write(const char *dir, const cli_report *r);

#endif
