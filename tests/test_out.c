/* test_out.c — atomic outputs (nf_out_check / nf_out_open / nf_out_commit / nf_out_abort and
 * nf_file_write_atomic): a new inode per write, non-regular targets refused and untouched,
 * folders that are missing or read-only, long names, and write errors that keep the old file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define ck_err_has(s) ck_assert_msg(strstr(nf_last_error(), s), "error '%s' lacks '%s'", nf_last_error(), s)

static char dir[128];

static void setup(void)
{
    strcpy(dir, "/tmp/nnfit-out-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", dir, dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

static const char *path(const char *name)
{
    static char buf[4][640];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put_text(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void expect_text(const char *p, const char *want)
{
    unsigned char *b;
    size_t n;
    ck_assert_int_eq(nf_file_read(p, 1 << 20, &b, &n), NF_OK);
    ck_assert_str_eq((char *)b, want);
    free(b);
}

/* Entries of the folder (hidden ones too). */
static int entries(const char *d)
{
    char cmd[256], *out;
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", d);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, NULL), 0);
    int n = atoi(out);
    free(out);
    return n;
}

static ino_t inode(const char *p)
{
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    return sb.st_ino;
}

START_TEST(new_inode_every_write)
{
    const char *p = path("out.txt");
    put_text(p, "old\n");
    ino_t before = inode(p);
    ck_assert_int_eq(nf_file_write_atomic(p, "new\n", 4), NF_OK);
    expect_text(p, "new\n");
    ino_t mid = inode(p);
    ck_assert(mid != before); /* an in-place write would keep the inode */
    nf_out o;
    ck_assert_int_eq(nf_out_open(&o, p), NF_OK);
    for (int i = 0; i < 3; i++) fprintf(o.f, "line %d\n", i);
    expect_text(p, "new\n"); /* nothing visible before the commit */
    ck_assert_int_eq(nf_out_commit(&o), NF_OK);
    ck_assert_ptr_null(o.f);
    expect_text(p, "line 0\nline 1\nline 2\n");
    ck_assert(inode(p) != mid);
    ck_assert_int_eq(entries(dir), 1); /* no temporary file left */
    nf_out_abort(&o);                  /* harmless after a commit */
    expect_text(p, "line 0\nline 1\nline 2\n");
}
END_TEST

START_TEST(abort_keeps_old_file)
{
    const char *p = path("keep.txt");
    put_text(p, "old\n");
    nf_out o;
    ck_assert_int_eq(nf_out_open(&o, p), NF_OK);
    fputs("half a fi", o.f);
    fflush(o.f);
    ck_assert_int_eq(entries(dir), 2);
    nf_out_abort(&o);
    expect_text(p, "old\n");
    ck_assert_int_eq(entries(dir), 1);
    /* a new file's permissions follow the umask; a replaced file keeps its own */
    ck_assert_int_eq(chmod(p, 0640), 0);
    ck_assert_int_eq(nf_file_write_atomic(p, "x\n", 2), NF_OK);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0640);
    mode_t mask = umask(022);
    ck_assert_int_eq(nf_file_write_atomic(path("fresh.txt"), "x\n", 2), NF_OK);
    umask(mask);
    ck_assert_int_eq(stat(path("fresh.txt"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0644);
}
END_TEST

/* A non-regular target is refused by every entry point and left as it was. */
static void expect_refused(const char *p, const char *what)
{
    struct stat before, after;
    ck_assert_int_eq(lstat(p, &before), 0);
    ck_assert_int_eq(nf_out_check(p), NF_EIO);
    ck_err_has(p);
    ck_err_has(what);
    ck_assert_ptr_null(strchr(nf_last_error(), '\n'));
    nf_out o;
    ck_assert_int_eq(nf_out_open(&o, p), NF_EIO);
    ck_err_has(what);
    ck_assert_ptr_null(o.f);
    ck_assert_int_eq(nf_file_write_atomic(p, "x\n", 2), NF_EIO);
    ck_err_has(what);
    nf_mat M;
    ck_assert_int_eq(nf_mat_alloc(&M, 1, 1), NF_OK);
    ck_assert_int_eq(nf_data_write(p, &M, NULL), NF_EIO);
    nf_mat_free(&M);
    ck_assert_int_eq(lstat(p, &after), 0);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(before.st_mode, after.st_mode);
    ck_assert_int_eq(before.st_rdev, after.st_rdev);
}

START_TEST(non_regular_targets_refused)
{
    const int before = entries(dir);
    ck_assert_int_eq(mkfifo(path("fifo"), 0644), 0);
    expect_refused(path("fifo"), "is a FIFO (named pipe)");
    ck_assert_int_eq(mkdir(path("sub"), 0755), 0);
    expect_refused(path("sub"), "is a directory");
    /* a character device: the node of /dev/null, made here when allowed (root), else the
     * system's own (only the refusal is exercised, which writes nothing) */
    if (mknod(path("null"), S_IFCHR | 0666, makedev(1, 3)) == 0) expect_refused(path("null"), "is a character device");
    else fprintf(stderr, "non_regular_targets_refused: mknod not permitted, device case not run\n");
    ck_assert_int_eq(nf_out_check("/dev/null"), NF_EIO);
    ck_err_has("/dev/null: is a character device");
    /* a socket */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path("sock"));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    expect_refused(path("sock"), "is a socket");
    close(fd);
    /* a symbolic link to a FIFO is refused; a link to a regular file is followed */
    ck_assert_int_eq(symlink("fifo", path("to_fifo")), 0);
    expect_refused(path("to_fifo"), "is a FIFO");
    put_text(path("real.txt"), "old\n");
    ck_assert_int_eq(symlink("real.txt", path("to_real")), 0);
    ck_assert_int_eq(nf_file_write_atomic(path("to_real"), "new\n", 4), NF_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(path("to_real"), &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    expect_text(path("real.txt"), "new\n");
    ck_assert_int_eq(symlink("nowhere.txt", path("dangling")), 0);
    ck_assert_int_eq(nf_out_check(path("dangling")), NF_EIO);
    ck_err_has("is a symbolic link to a missing file");
    /* FIFO, sub, (null), sock, to_fifo, real.txt, to_real, dangling and nothing else */
    ck_assert_int_le(entries(dir), before + 8);
    ck_assert_int_ge(entries(dir), before + 7);
    ck_assert_int_eq(nf_out_check(path("sub/")), NF_EINVAL);
    ck_err_has("ends in '/', expected a file name");
    ck_assert_int_eq(nf_out_check(""), NF_EINVAL);
}
END_TEST

START_TEST(missing_and_unusable_folders)
{
    ck_assert_int_eq(nf_out_check(path("nodir/m.csv")), NF_EIO);
    ck_err_has("/nodir/m.csv: folder '");
    ck_err_has("/nodir' does not exist");
    put_text(path("file"), "x\n");
    ck_assert_int_eq(nf_out_check(path("file/m.csv")), NF_EIO);
    ck_err_has("/file' is not a folder");
    nf_out o;
    ck_assert_int_eq(nf_out_open(&o, path("nodir/m.csv")), NF_EIO);
    ck_assert_ptr_null(o.f);
    /* a bare name is relative to the working folder */
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(nf_out_check("bare.txt"), NF_OK);
    ck_assert_int_eq(nf_file_write_atomic("bare.txt", "b\n", 2), NF_OK);
    ck_assert_int_eq(chdir(cwd), 0);
    expect_text(path("bare.txt"), "b\n");
}
END_TEST

/* Runs fn in a child process without root's right to write anywhere (uid/gid 65534 when
 * started as root); returns its exit status, or -1 when privileges could not be dropped. */
static int run_unprivileged(int (*fn)(void))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(100);
        _exit(fn());
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status) == 100 ? -1 : WEXITSTATUS(status);
}

static int check_read_only(void)
{
    const char *p = path("ro/out.csv");
    if (nf_out_check(p) != NF_EIO) return 1;
    if (!strstr(nf_last_error(), "/ro' is not writable")) return 2;
    if (!strstr(nf_last_error(), "Permission denied")) return 3;
    if (nf_file_write_atomic(p, "x\n", 2) != NF_EIO) return 4;
    if (nf_file_write_atomic(path("ro/old.csv"), "x\n", 2) != NF_EIO) return 5;
    return 0;
}

START_TEST(read_only_folder)
{
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(mkdir(path("ro"), 0755), 0);
    put_text(path("ro/old.csv"), "old\n");
    ck_assert_int_eq(chmod(path("ro"), 0555), 0);
    int rc = run_unprivileged(check_read_only);
    if (rc < 0) {
        fprintf(stderr, "read_only_folder: cannot drop root privileges, not run\n");
        return;
    }
    ck_assert_msg(rc == 0, "read-only folder check %d failed", rc);
    expect_text(path("ro/old.csv"), "old\n");
    ck_assert_int_eq(entries(path("ro")), 1);
}
END_TEST

START_TEST(long_names)
{
    char name[300];
    for (int len = 250; len <= 256; len++) {
        memset(name, 'n', (size_t)len);
        memcpy(name + len - 4, ".csv", 5);
        const char *p = path(name);
        if (len <= 255) {
            ck_assert_msg(nf_out_check(p) == NF_OK, "%d-byte name: %s", len, nf_last_error());
            ck_assert_int_eq(nf_file_write_atomic(p, "a\n", 2), NF_OK);
            ck_assert_int_eq(nf_file_write_atomic(p, "b\n", 2), NF_OK); /* over an existing one */
            expect_text(p, "b\n");
            nf_out o;
            ck_assert_int_eq(nf_out_open(&o, p), NF_OK);
            fputs("c\n", o.f);
            ck_assert_int_eq(nf_out_commit(&o), NF_OK);
            expect_text(p, "c\n");
            ck_assert_int_eq(unlink(p), 0);
        } else {
            ck_assert_int_eq(nf_out_check(p), NF_EINVAL);
            ck_err_has("the file name is 256 bytes, longer than the 255-byte limit");
            ck_assert_int_eq(nf_file_write_atomic(p, "a\n", 2), NF_EINVAL);
        }
    }
    ck_assert_int_eq(entries(dir), 0);
}
END_TEST

/* Child: writes under a 4 KiB file size limit (SIGXFSZ ignored, so writes fail with EFBIG). */
static int write_past_limit(void)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl)) return 90;
    static char big[20000];
    memset(big, 'z', sizeof big);
    if (nf_file_write_atomic(path("old.txt"), big, sizeof big) != NF_EIO) return 1;
    if (!strstr(nf_last_error(), "old.txt: write failed: File too large")) {
        fprintf(stderr, "%s\n", nf_last_error());
        return 2;
    }
    nf_out o;
    if (nf_out_open(&o, path("old.txt"))) return 3;
    for (int i = 0; i < 2000; i++) fprintf(o.f, "row %d of a long table\n", i);
    if (nf_out_commit(&o) != NF_EIO) return 4;
    if (!strstr(nf_last_error(), "write failed: File too large")) {
        fprintf(stderr, "%s\n", nf_last_error());
        return 5;
    }
    if (o.f) return 6;
    /* a small write still fits */
    if (nf_file_write_atomic(path("small.txt"), "ok\n", 3)) return 7;
    return 0;
}

START_TEST(write_error_keeps_old_file)
{
    put_text(path("old.txt"), "old\n");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) _exit(write_past_limit());
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0, "size-limit child failed at step %d", WEXITSTATUS(status));
    expect_text(path("old.txt"), "old\n");
    expect_text(path("small.txt"), "ok\n");
    ck_assert_int_eq(entries(dir), 2); /* temporary files removed */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_out");
    TCase *tc = tcase_create("atomic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_inode_every_write);
    tcase_add_test(tc, abort_keeps_old_file);
    tcase_add_test(tc, non_regular_targets_refused);
    tcase_add_test(tc, missing_and_unusable_folders);
    tcase_add_test(tc, read_only_folder);
    tcase_add_test(tc, long_names);
    tcase_add_test(tc, write_error_keeps_old_file);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
