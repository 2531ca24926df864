/* data_out.c — crash-safe output files: a temporary file in the target's folder, fsync, rename,
 * fsync of the folder; non-regular targets refused (see data.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnfit/data.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* What a non-regular file is, for messages. */
static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* The file the output replaces: path itself, or the destination of a symbolic link (so the
 * link survives and its destination gets the new contents).  *target is malloc'd; *exists
 * and *mode describe it.  Fails for an existing non-regular file and a dangling link. */
static nf_status resolve_target(const char *path, char **target, int *exists, mode_t *mode)
{
    *target = NULL;
    *exists = 0;
    *mode = 0;
    size_t n = strlen(path);
    if (n == 0) return nf_fail(NF_EINVAL, "empty output file name");
    if (n >= PATH_MAX)
        return nf_fail(NF_EINVAL, "%.64s...: output path is %zu bytes, longer than the %d-byte limit",
                       path, n, PATH_MAX - 1);
    if (path[n - 1] == '/')
        return nf_fail(NF_EINVAL, "%s: ends in '/', expected a file name", path);
    struct stat ls, sb;
    if (lstat(path, &ls) != 0) {
        /* a missing folder, a file used as a folder or a name too long: said by temp_name */
        if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
            return nf_fail(NF_EIO, "%s: cannot check the output path: %s", path, strerror(errno));
        *target = strdup(path);
        return *target ? NF_OK : nf_fail(NF_ENOMEM, "%s: out of memory", path);
    }
    const int link = S_ISLNK(ls.st_mode);
    if (link && stat(path, &sb) != 0)
        return nf_fail(NF_EIO, "%s: is a symbolic link to a missing file (%s); give the destination "
                       "itself", path, strerror(errno));
    if (link) ls = sb;
    if (!S_ISREG(ls.st_mode))
        return nf_fail(NF_EIO, "%s: is %s; outputs are written to a temporary file that is renamed "
                       "over the target, so only a regular file is replaced", path, kind_of(ls.st_mode));
    char *t = link ? realpath(path, NULL) : strdup(path);
    if (!t)
        return link ? nf_fail(NF_EIO, "%s: cannot resolve the symbolic link: %s", path, strerror(errno))
                    : nf_fail(NF_ENOMEM, "%s: out of memory", path);
    *target = t;
    *exists = 1;
    *mode = ls.st_mode;
    return NF_OK;
}

/* The folder of target (malloc'd) and a pointer to its last component inside target. */
static nf_status split_dir(const char *target, char **dir, const char **base)
{
    const char *slash = strrchr(target, '/');
    size_t n = slash ? (size_t)(slash - target) : 1;
    if (slash && n == 0) n = 1; /* "/name" */
    *dir = malloc(n + 1);
    if (!*dir) return nf_fail(NF_ENOMEM, "%s: out of memory", target);
    if (slash) memcpy(*dir, target, n);
    else (*dir)[0] = '.';
    (*dir)[n] = '\0';
    *base = slash ? slash + 1 : target;
    return NF_OK;
}

/* Checks the folder and the name, and builds the temporary name: the folder, then '.' + the
 * target's name cut so the whole stays within the file system's name limit + ".tmp" + the
 * mkstemp suffix ("dir/.out.csv.tmpAbC123").  *tmp is malloc'd. */
static nf_status temp_name(const char *path, const char *target, char **tmp)
{
    *tmp = NULL;
    char *dir = NULL;
    const char *base = target;
    nf_status st = split_dir(target, &dir, &base);
    if (st) return st;
    struct stat ds;
    if (stat(dir, &ds) != 0) {
        st = nf_fail(NF_EIO, "%s: folder '%s' %s", path, dir,
                     errno == ENOENT ? "does not exist" : strerror(errno));
        free(dir);
        return st;
    }
    if (!S_ISDIR(ds.st_mode)) {
        st = nf_fail(NF_EIO, "%s: '%s' is not a folder", path, dir);
        free(dir);
        return st;
    }
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0) name_max = 255;
    size_t blen = strlen(base);
    if (blen > (size_t)name_max) {
        st = nf_fail(NF_EINVAL, "%s: the file name is %zu bytes, longer than the %ld-byte limit of "
                     "its folder's file system", path, blen, name_max);
        free(dir);
        return st;
    }
    static const char tail[] = ".tmpXXXXXX";
    size_t keep = blen, room = (size_t)name_max - 1 - (sizeof tail - 1);
    if (name_max < 16) room = 0;
    if (keep > room) keep = room;
    size_t dlen = strlen(dir), cap = dlen + 2 + keep + sizeof tail;
    char *t = malloc(cap);
    if (!t) {
        free(dir);
        return nf_fail(NF_ENOMEM, "%s: out of memory", path);
    }
    int head = base == target ? 0 : (int)(base - target); /* keep the folder as written */
    memcpy(t, target, (size_t)head);
    t[head] = '.';
    memcpy(t + head + 1, base, keep);
    memcpy(t + head + 1 + keep, tail, sizeof tail);
    free(dir);
    if (strlen(t) >= PATH_MAX) {
        free(t);
        return nf_fail(NF_EINVAL, "%.64s...: output path too long for its temporary file", path);
    }
    *tmp = t;
    return NF_OK;
}

static nf_status make_temp(const char *path, char *tmp, int *fd)
{
    *fd = mkstemp(tmp);
    if (*fd >= 0) return NF_OK;
    int e = errno;
    char *slash = strrchr(tmp, '/');
    if (slash) *slash = '\0';
    nf_status st = nf_fail(NF_EIO, "%s: folder '%s' is not writable (cannot create a temporary file "
                           "in it): %s", path, slash ? (slash == tmp ? "/" : tmp) : ".", strerror(e));
    if (slash) *slash = '/';
    return st;
}

nf_status nf_out_check(const char *path)
{
    char *target, *tmp = NULL;
    int exists, fd;
    mode_t mode;
    nf_status st = resolve_target(path, &target, &exists, &mode);
    if (!st) st = temp_name(path, target, &tmp);
    if (!st) st = make_temp(path, tmp, &fd);
    if (!st) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    free(target);
    return st;
}

nf_status nf_out_open(nf_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    int exists, fd;
    mode_t mode;
    nf_status st = resolve_target(path, &o->target, &exists, &mode);
    if (!st) st = temp_name(path, o->target, &o->tmp);
    if (!st) st = make_temp(path, o->tmp, &fd);
    if (st) {
        free(o->target);
        free(o->tmp);
        memset(o, 0, sizeof *o);
        return st;
    }
    /* mkstemp makes 0600: a replaced file keeps its permissions, a new one gets 0666 & ~umask */
    if (exists) {
        (void)fchmod(fd, mode & 07777);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(fd, 0666 & ~mask);
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        st = nf_fail(NF_EIO, "%s: cannot open the temporary file: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        free(o->target);
        free(o->tmp);
        memset(o, 0, sizeof *o);
        return st;
    }
    return NF_OK;
}

static void fsync_dir_of(const char *target)
{
    char *dir;
    const char *base;
    if (split_dir(target, &dir, &base)) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Why writes to the stream failed: stdio keeps only the error flag, so the cause is found
 * again by appending one byte to the temporary file (a full disk says ENOSPC, a file size
 * limit EFBIG). */
static int stream_error(FILE *f)
{
    int fd = fileno(f);
    if (fd < 0 || lseek(fd, 0, SEEK_END) < 0) return EIO;
    ssize_t w = write(fd, "\n", 1);
    return w < 0 ? errno : EIO;
}

static nf_status commit(nf_out *o, int err)
{
    if (!err && fflush(o->f) != 0) err = errno ? errno : EIO;
    if (!err && ferror(o->f)) err = stream_error(o->f);
    if (!err && fsync(fileno(o->f)) != 0) err = errno;
    if (fclose(o->f) != 0 && !err) err = errno ? errno : EIO;
    o->f = NULL;
    nf_status st = NF_OK;
    if (!err) { /* the target may have changed since nf_out_open */
        struct stat sb;
        if (lstat(o->target, &sb) == 0 && !S_ISREG(sb.st_mode))
            st = nf_fail(NF_EIO, "%s: became %s while it was written; not replaced", o->target,
                         kind_of(sb.st_mode));
        else if (rename(o->tmp, o->target) != 0)
            err = errno;
    }
    if (err)
        st = nf_fail(NF_EIO, "%s: write failed: %s (an existing file is left as it was)", o->target,
                     strerror(err));
    if (st) unlink(o->tmp);
    else fsync_dir_of(o->target);
    free(o->target);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return st;
}

nf_status nf_out_commit(nf_out *o)
{
    if (!o->f) return nf_fail(NF_EINVAL, "nf_out_commit: no output open");
    return commit(o, 0);
}

void nf_out_abort(nf_out *o)
{
    if (o->f) {
        fclose(o->f);
        unlink(o->tmp);
    }
    free(o->target);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

nf_status nf_file_write_atomic(const char *path, const void *buf, size_t len)
{
    nf_out o;
    nf_status st = nf_out_open(&o, path);
    if (st) return st;
    int err = 0;
    if (len && fwrite(buf, 1, len, o.f) != len) err = errno ? errno : EIO;
    return commit(&o, err);
}
