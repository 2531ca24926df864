/* sweep_journal.c — an append-only, fsync'd record of finished trials, for resuming a sweep.
 *
 * File layout (text, so `less` shows it):
 *   nnfit-journal 1
 *   version <program version>
 *   restarts <R> seed <S>
 *   grid <bytes> <FNV-1a 64 of the grid text, 16 hex digits>
 *   <the grid text, exactly <bytes> bytes>
 *   header-crc <CRC-32 of everything above, 8 hex digits>
 *   t s=.. r=.. seed=.. ... curve=N[:xxxxxxxx,...] crc=<CRC-32 of the line up to " crc=">
 *   t ...
 * Doubles are C99 hex floats (%a: exact, and inf/nan survive); curve values are the float's
 * bit pattern in hex. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnfit/data.h"
#include "nnfit/sweep.h"

#define MAGIC "nnfit-journal 1\n"

struct nf_journal {
    int fd;
    int failed;          /* a write failed: the file was cut back, further appends refused */
    off_t size;          /* bytes of whole records */
    long torn_bytes;     /* dropped at open */
    pthread_mutex_t lock;
    char *path;
};

uint64_t nf_fingerprint(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint32_t crc32_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

/* ---- text buffer ---- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} buf;

static void bprintf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void bprintf(buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

static void bappend(buf *b, const char *data, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* ---- records ---- */

static void format_record(buf *b, const nf_trial *t)
{
    const int n_curve = t->curve ? t->epochs_run : 0;
    bprintf(b,
            "t s=%d r=%d seed=%016" PRIx64 " done=%d ok=%d st=%d final=%a best=%a te=%d ep=%d div=%d"
            " dead=%d on=%d dup=%d par=%d sec=%a tev=%ld tsec=%a curve=%d",
            t->setting, t->restart, t->seed, t->done, t->success, (int)t->status, t->final_loss,
            t->best_loss, t->target_epoch, t->epochs_run, t->diverged_epoch, t->dead, t->always_on,
            t->duplicate, t->parallel, t->seconds, t->target_evals, t->target_seconds, n_curve);
    for (int e = 0; e < n_curve; e++) {
        uint32_t bits;
        memcpy(&bits, &t->curve[e], sizeof bits);
        bprintf(b, "%c%08" PRIx32, e ? ',' : ':', bits);
    }
    if (b->oom) return;
    const size_t body = b->len;
    uint32_t crc = crc32_bytes(b->s, body);
    bprintf(b, " crc=%08" PRIx32 "\n", crc);
}

/* Cursor over one record line. */
typedef struct {
    const char *p;
    int bad;
} cursor;

static void expect(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->bad || strncmp(c->p, lit, n)) c->bad = 1;
    else c->p += n;
}

static long take_long(cursor *c, const char *key)
{
    expect(c, key);
    if (c->bad) return 0;
    char *end;
    errno = 0;
    long v = strtol(c->p, &end, 10);
    if (end == c->p || errno) c->bad = 1;
    c->p = end;
    return v;
}

static int take_int(cursor *c, const char *key)
{
    long v = take_long(c, key);
    if (v < -2147483647L - 1 || v > 2147483647L) c->bad = 1;
    return (int)v;
}

static double take_double(cursor *c, const char *key)
{
    expect(c, key);
    if (c->bad) return 0;
    char *end;
    double v = strtod(c->p, &end);
    if (end == c->p) c->bad = 1;
    c->p = end;
    return v;
}

static uint64_t take_hex(cursor *c, const char *key, int digits)
{
    expect(c, key);
    if (c->bad) return 0;
    uint64_t v = 0;
    for (int i = 0; i < digits; i++) {
        const char ch = c->p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) {
            c->bad = 1;
            return 0;
        }
        v = v << 4 | (uint64_t)d;
    }
    c->p += digits;
    return v;
}

/* 1: line (len bytes, ending in '\n') is a whole record with a good CRC. */
static int record_intact(const char *line, size_t len)
{
    static const char tail[] = " crc=";
    const size_t tl = sizeof tail - 1;
    if (len < 2 + tl + 9 || line[len - 1] != '\n' || line[0] != 't' || line[1] != ' ') return 0;
    const size_t body = len - 1 - 8 - tl;
    if (memcmp(line + body, tail, tl)) return 0;
    cursor c = {line + body + tl, 0};
    uint32_t crc = (uint32_t)take_hex(&c, "", 8);
    return !c.bad && crc == crc32_bytes(line, body);
}

static nf_status parse_record(const char *line, nf_trial *t)
{
    memset(t, 0, sizeof *t);
    cursor c = {line, 0};
    t->setting = take_int(&c, "t s=");
    t->restart = take_int(&c, " r=");
    t->seed = take_hex(&c, " seed=", 16);
    t->done = take_int(&c, " done=");
    t->success = take_int(&c, " ok=");
    const int st = take_int(&c, " st=");
    t->final_loss = take_double(&c, " final=");
    t->best_loss = take_double(&c, " best=");
    t->target_epoch = take_int(&c, " te=");
    t->epochs_run = take_int(&c, " ep=");
    t->diverged_epoch = take_int(&c, " div=");
    t->dead = take_int(&c, " dead=");
    t->always_on = take_int(&c, " on=");
    t->duplicate = take_int(&c, " dup=");
    t->parallel = take_int(&c, " par=");
    t->seconds = take_double(&c, " sec=");
    t->target_evals = take_long(&c, " tev=");
    t->target_seconds = take_double(&c, " tsec=");
    const int n_curve = take_int(&c, " curve=");
    if (c.bad || st < 0 || st >= NF_STATUS_COUNT || n_curve < 0 || (n_curve && n_curve != t->epochs_run))
        return NF_EFORMAT;
    t->status = (nf_status)st;
    if (n_curve) {
        t->curve = malloc((size_t)n_curve * sizeof(float));
        if (!t->curve) return NF_ENOMEM;
        for (int e = 0; e < n_curve && !c.bad; e++) {
            uint32_t bits = (uint32_t)take_hex(&c, e ? "," : ":", 8);
            memcpy(&t->curve[e], &bits, sizeof bits);
        }
    }
    expect(&c, " crc=");
    if (c.bad) {
        free(t->curve);
        t->curve = NULL;
        return NF_EFORMAT;
    }
    return NF_OK;
}

/* ---- header ---- */

static void format_header(buf *b, const nf_journal_id *id)
{
    bprintf(b, MAGIC "version %s\nrestarts %d seed %" PRIu64 "\ngrid %zu %016" PRIx64 "\n", id->version,
            id->restarts, id->seed, strlen(id->grid), nf_fingerprint(id->grid));
    bappend(b, id->grid, strlen(id->grid));
    bappend(b, "\n", 1);
    if (b->oom) return;
    uint32_t crc = crc32_bytes(b->s, b->len);
    bprintf(b, "header-crc %08" PRIx32 "\n", crc);
}

/* Copies line `line_no` (1-based) of text into out (at most cap − 1 bytes, "..." when cut). */
static void quote_line(const char *text, long line_no, char *out, size_t cap)
{
    const char *p = text;
    for (long k = 1; k < line_no && p; k++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) {
        snprintf(out, cap, "(none)");
        return;
    }
    size_t n = strcspn(p, "\n");
    const size_t max = 60;
    if (n > max) snprintf(out, cap, "'%.*s...'", (int)max, p);
    else snprintf(out, cap, "'%.*s'", (int)n, p);
}

static long first_differing_line(const char *a, const char *b)
{
    long line = 1;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n') line++;
    return line;
}

/* Reads and checks the header from f; *end gets its size.  Identity differences are refused
 * with one line naming each. */
static nf_status read_header(FILE *f, const char *path, const nf_journal_id *id, off_t *end)
{
    buf h = {0};
    char *line = NULL;
    size_t cap = 0;
    nf_status st = NF_OK;
    char version[256] = "";
    int restarts = 0;
    uint64_t seed = 0, hash = 0;
    size_t grid_len = 0;
    char *grid = NULL;
    ssize_t n = getline(&line, &cap, f);
    if (n <= 0 || strncmp(line, "nnfit-journal ", 14)) {
        st = nf_fail(NF_EINVAL, "%s exists and is not an nnfit journal; refusing to use it", path);
        goto out;
    }
    if (strcmp(line, MAGIC)) {
        st = nf_fail(NF_EINVAL, "journal %s has format '%.*s', this program writes '%.*s'", path,
                     (int)strcspn(line, "\n"), line, (int)strcspn(MAGIC, "\n"), MAGIC);
        goto out;
    }
    bappend(&h, line, (size_t)n);
    n = getline(&line, &cap, f);
    if (n <= 9 || strncmp(line, "version ", 8) || (size_t)n - 9 >= sizeof version) goto bad;
    memcpy(version, line + 8, (size_t)n - 9);
    version[n - 9] = '\0';
    bappend(&h, line, (size_t)n);
    n = getline(&line, &cap, f);
    if (n <= 0 || sscanf(line, "restarts %d seed %" SCNu64, &restarts, &seed) != 2) goto bad;
    bappend(&h, line, (size_t)n);
    n = getline(&line, &cap, f);
    if (n <= 0 || sscanf(line, "grid %zu %" SCNx64, &grid_len, &hash) != 2 || grid_len > ((size_t)1 << 30)) goto bad;
    bappend(&h, line, (size_t)n);
    grid = malloc(grid_len + 2);
    if (!grid) {
        st = nf_fail(NF_ENOMEM, "journal %s: cannot allocate its %zu-byte grid", path, grid_len);
        goto out;
    }
    if (fread(grid, 1, grid_len + 1, f) != grid_len + 1 || grid[grid_len] != '\n') goto bad;
    bappend(&h, grid, grid_len + 1);
    grid[grid_len] = '\0';
    n = getline(&line, &cap, f);
    unsigned crc = 0;
    if (n <= 0 || sscanf(line, "header-crc %8x", &crc) != 1 || h.oom || crc != crc32_bytes(h.s, h.len) ||
        strlen(grid) != grid_len || nf_fingerprint(grid) != hash)
        goto bad;
    *end = (off_t)(h.len + (size_t)n);

    char why[480] = "";
    size_t w = 0;
    if (strcmp(version, id->version))
        w += (size_t)snprintf(why + w, sizeof why - w, "%sversion %s there, %s here", w ? "; " : "", version,
                              id->version);
    if (w < sizeof why && (restarts != id->restarts || seed != id->seed))
        w += (size_t)snprintf(why + w, sizeof why - w, "%srestarts %d seed %" PRIu64 " there, restarts %d seed %" PRIu64
                              " here", w ? "; " : "", restarts, seed, id->restarts, id->seed);
    if (w < sizeof why && (hash != nf_fingerprint(id->grid) || strcmp(grid, id->grid))) {
        long ln = first_differing_line(grid, id->grid);
        char a[80], b[80];
        quote_line(grid, ln, a, sizeof a);
        quote_line(id->grid, ln, b, sizeof b);
        snprintf(why + w, sizeof why - w, "%sgrid line %ld is %s there, %s here", w ? "; " : "", ln, a, b);
    }
    if (why[0]) st = nf_fail(NF_EINVAL, "journal %s belongs to another sweep: %s", path, why);
    goto out;
bad:
    st = nf_fail(NF_EFORMAT, "journal %s: its header is damaged", path);
out:
    free(line);
    free(grid);
    free(h.s);
    return st;
}

static nf_status check_id(const nf_journal_id *id)
{
    if (!id || !id->grid || !id->version) return nf_fail(NF_EINVAL, "journal: no grid or version given");
    if (!id->version[0] || strchr(id->version, '\n') || strlen(id->version) > 200)
        return nf_fail(NF_EINVAL, "journal: the version must be one line of 1 to 200 characters");
    if (id->restarts < 1) return nf_fail(NF_EINVAL, "journal: restarts must be >= 1, got %d", id->restarts);
    return NF_OK;
}

static nf_status create_file(const char *path, const nf_journal_id *id)
{
    buf h = {0};
    format_header(&h, id);
    if (h.oom) {
        free(h.s);
        return nf_fail(NF_ENOMEM, "journal %s: cannot allocate its header", path);
    }
    nf_status st = nf_file_write_atomic(path, h.s, h.len);
    free(h.s);
    return st;
}

/* Reads the records after the header.  Stops at the first record that is not whole; when no
 * whole record follows it, that is a torn tail (*good_end is where it starts), else corruption. */
static nf_status read_records(FILE *f, const char *path, off_t start, nf_trial **done, long *n_done,
                              off_t *good_end)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t pos = start;
    long count = 0, alloc = 0, line_no = 0;
    nf_trial *t = NULL;
    nf_status st = NF_OK;
    *good_end = start;
    int torn = 0;
    long bad_line = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        line_no++;
        if (!record_intact(line, (size_t)n)) {
            if (!torn) {
                *good_end = pos;
                bad_line = line_no;
            }
            torn = 1;
        } else if (torn) {
            st = nf_fail(NF_EFORMAT, "journal %s: record %ld (byte %lld) is damaged but whole records "
                         "follow it; the file is corrupt, not cut short", path, bad_line,
                         (long long)*good_end);
            break;
        } else {
            if (count == alloc) {
                long na = alloc ? 2 * alloc : 64;
                nf_trial *nt = realloc(t, (size_t)na * sizeof *t);
                if (!nt) {
                    st = nf_fail(NF_ENOMEM, "journal %s: cannot allocate %ld records", path, na);
                    break;
                }
                t = nt;
                alloc = na;
            }
            st = parse_record(line, &t[count]);
            if (st) {
                st = st == NF_ENOMEM ? nf_fail(st, "journal %s: cannot allocate a loss curve", path)
                                     : nf_fail(st, "journal %s: record %ld has a good checksum but "
                                                   "cannot be read", path, line_no);
                break;
            }
            count++;
        }
        pos += n;
    }
    if (!st && ferror(f)) st = nf_fail(NF_EIO, "journal %s: read error", path);
    if (!torn) *good_end = pos;
    free(line);
    if (st) {
        nf_trials_free(t, count);
        free(t);
        return st;
    }
    *done = t;
    *n_done = count;
    return NF_OK;
}

nf_status nf_journal_open(nf_journal **out, const char *path, const nf_journal_id *id,
                          nf_trial **done, long *n_done)
{
    *out = NULL;
    *done = NULL;
    *n_done = 0;
    nf_status st = check_id(id);
    if (st) return st;
    if (!path || !*path) return nf_fail(NF_EINVAL, "journal: empty file name");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT) return nf_fail(NF_EIO, "journal %s: %s", path, strerror(errno));
        if ((st = create_file(path, id))) return st;
    } else if (!S_ISREG(sb.st_mode)) {
        return nf_fail(NF_EINVAL, "journal %s is not a regular file", path);
    }
    nf_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return nf_fail(NF_ENOMEM, "journal %s: cannot allocate", path);
    }
    j->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (j->fd < 0) {
        st = nf_fail(NF_EIO, "journal %s: cannot open it: %s", path, strerror(errno));
        free(j->path);
        free(j);
        return st;
    }
    pthread_mutex_init(&j->lock, NULL);
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        st = errno == EWOULDBLOCK ? nf_fail(NF_EINVAL, "journal %s is in use by another run", path)
                                  : nf_fail(NF_EIO, "journal %s: cannot lock it: %s", path, strerror(errno));
        nf_journal_close(j);
        return st;
    }
    int rfd = dup(j->fd);
    FILE *f = rfd >= 0 ? fdopen(rfd, "r") : NULL;
    if (!f) {
        st = nf_fail(NF_EIO, "journal %s: cannot read it: %s", path, strerror(errno));
        if (rfd >= 0) close(rfd);
        nf_journal_close(j);
        return st;
    }
    off_t header_end = 0, good_end = 0;
    st = read_header(f, path, id, &header_end);
    if (!st) st = read_records(f, path, header_end, done, n_done, &good_end);
    fclose(f);
    if (!st) {
        struct stat now;
        if (fstat(j->fd, &now) != 0) st = nf_fail(NF_EIO, "journal %s: %s", path, strerror(errno));
        else if (now.st_size > good_end) {
            /* a torn last record: cut it off, durably, before anything is appended */
            j->torn_bytes = (long)(now.st_size - good_end);
            if (ftruncate(j->fd, good_end) != 0 || fsync(j->fd) != 0)
                st = nf_fail(NF_EIO, "journal %s: cannot cut off its torn last record: %s", path, strerror(errno));
        }
        j->size = good_end;
    }
    if (st) {
        nf_trials_free(*done, *n_done);
        free(*done);
        *done = NULL;
        *n_done = 0;
        nf_journal_close(j);
        return st;
    }
    *out = j;
    return NF_OK;
}

long nf_journal_torn_bytes(const nf_journal *j) { return j ? j->torn_bytes : 0; }

nf_status nf_journal_append(nf_journal *j, const nf_trial *t)
{
    if (!j || !t) return nf_fail(NF_EINVAL, "journal: nothing to append");
    buf b = {0};
    format_record(&b, t);
    if (b.oom) {
        free(b.s);
        return nf_fail(NF_ENOMEM, "journal %s: cannot allocate a record", j->path);
    }
    pthread_mutex_lock(&j->lock);
    nf_status st = NF_OK;
    if (j->failed) {
        st = nf_fail(NF_EIO, "journal %s: an earlier write failed", j->path);
    } else {
        const char *p = b.s;
        size_t left = b.len;
        int err = 0;
        while (left > 0) {
            ssize_t w = write(j->fd, p, left);
            if (w < 0) {
                if (errno == EINTR) continue;
                err = errno;
                break;
            }
            p += w;
            left -= (size_t)w;
        }
        if (!err && fdatasync(j->fd) != 0) err = errno;
        if (err) {
            /* cut a partial record off so the file stays a sequence of whole records */
            j->failed = 1;
            if (ftruncate(j->fd, j->size) == 0) (void)fsync(j->fd);
            st = nf_fail(NF_EIO, "journal %s: write failed: %s", j->path, strerror(err));
        } else {
            j->size += (off_t)b.len;
        }
    }
    pthread_mutex_unlock(&j->lock);
    free(b.s);
    return st;
}

nf_status nf_journal_close(nf_journal *j)
{
    if (!j) return NF_OK;
    nf_status st = NF_OK;
    if (j->fd >= 0 && close(j->fd) != 0) st = nf_fail(NF_EIO, "journal %s: close failed: %s", j->path, strerror(errno));
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
    return st;
}

nf_status nf_journal_place(nf_trial *done, long n_done, int n_settings, int restarts, nf_trial *trials)
{
    if (n_settings < 1 || restarts < 1 || (n_done > 0 && (!done || !trials)))
        return nf_fail(NF_EINVAL, "journal: nothing to place the trials in");
    for (long i = 0; i < n_done; i++) {
        const nf_trial *t = &done[i];
        if (t->setting < 0 || t->setting >= n_settings || t->restart < 0 || t->restart >= restarts)
            return nf_fail(NF_EINVAL, "journal: trial (setting %d, restart %d) is outside the %d × %d grid",
                           t->setting, t->restart, n_settings, restarts);
    }
    for (long i = 0; i < n_done; i++) {
        nf_trial *dst = &trials[(long)done[i].setting * restarts + done[i].restart];
        if (dst->done) { /* recorded twice: keep the first */
            nf_trials_free(&done[i], 1);
            continue;
        }
        *dst = done[i];
        dst->done = 1;
        done[i].curve = NULL;
    }
    return NF_OK;
}
