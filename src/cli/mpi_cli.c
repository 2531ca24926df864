/* mpi_cli.c — the nnfit program under mpirun (mpi_cli.h). */
#include "mpi_cli.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnfit/mpi.h"

static int g_on;          /* more than one rank */
static FILE *g_held;      /* ranks > 0: where stderr goes */

int cli_mpi_on(void) { return g_on; }
int cli_mpi_rank(void) { return g_on ? nf_mpi_rank() : 0; }
int cli_mpi_size(void) { return g_on ? nf_mpi_size() : 1; }

int cli_mpi_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const int local = g_on ? nf_mpi_local_size() : 1;
    n = n < 1 ? 1 : n / local;
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* What this rank wrote to stderr since the last call, without the "PROG: error: " in front. */
static void held_text(char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!g_held) return;
    fflush(stderr);
    rewind(g_held); /* fd 2 shares this file offset */
    size_t n = fread(buf, 1, cap - 1, g_held);
    buf[n] = '\0';
    if (ftruncate(fileno(g_held), 0) == 0) rewind(g_held);
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    char lead[96];
    snprintf(lead, sizeof lead, "%s: error: ", cli_prog);
    const char *at = strstr(buf, lead);
    if (at) memmove(buf, at + strlen(lead), strlen(at + strlen(lead)) + 1);
}

int cli_mpi_agree(int rc)
{
    if (!g_on) return rc;
    char text[1024];
    held_text(text, sizeof text);
    if (rc && !*text) snprintf(text, sizeof text, "failed (exit status %d) without a message", rc);
    int agreed = rc, from = 0;
    char msg[1100];
    nf_status st = nf_mpi_agree_rc(rc, text, &agreed, &from, msg, sizeof msg);
    if (st) {
        if (cli_mpi_rank() == 0) cli_status_error(st);
        return EXIT_USAGE;
    }
    if (agreed && from != 0 && cli_mpi_rank() == 0) fprintf(stderr, "%s: error: %s\n", cli_prog, msg);
    return agreed;
}

/* 64-bit FNV-1a, continued from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t exe_hash(void)
{
    uint64_t h = 1469598103934665603ull;
    int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0) return fnv(h, NNFIT_VERSION, strlen(NNFIT_VERSION));
    unsigned char buf[1 << 16];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) h = fnv(h, buf, (size_t)r);
    close(fd);
    return h;
}

int cli_mpi_start(int *argc, char ***argv)
{
    const int launched = nf_mpi_launched_size();
    if (launched < 2) { /* -np 1 or no mpirun: the program as without MPI */
        if (launched == 1 && nf_mpi_available() && nf_mpi_init(argc, argv)) return cli_status_error(NF_EIO);
        return 0;
    }
    if (!nf_mpi_available()) {
        const char *r = getenv("OMPI_COMM_WORLD_RANK");
        if (!r || !strcmp(r, "0"))
            fprintf(stderr, "nnfit: error: this nnfit was built without MPI, so each of the %d processes mpirun "
                            "started would run the whole command; rebuild with libopenmpi-dev installed "
                            "(meson setup -Dmpi=enabled)\n", launched);
        return EXIT_USAGE;
    }
    nf_status st = nf_mpi_init(argc, argv);
    if (st) return cli_status_error(st);
    g_on = nf_mpi_size() > 1;
    if (!g_on) return 0;
    const int rank = nf_mpi_rank();
    if (rank > 0) {
        fflush(stdout);
        fflush(stderr);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            close(null);
        }
        g_held = tmpfile();
        if (g_held) dup2(fileno(g_held), STDERR_FILENO);
        cli_quiet = 1;
    }
    uint64_t args = 1469598103934665603ull;
    for (int i = 1; i < *argc; i++) args = fnv(args, (*argv)[i], strlen((*argv)[i]) + 1);
    int bad_exe = -1, bad_args = -1;
    st = nf_mpi_compare(exe_hash(), &bad_exe);
    if (!st) st = nf_mpi_compare(args, &bad_args);
    if (st) {
        if (rank == 0) cli_status_error(st);
        return EXIT_USAGE;
    }
    char where[256];
    int k = bad_exe >= 0 ? bad_exe : bad_args;
    if (k < 0) return 0;
    /* the odd rank's node name, for the message */
    char host[128] = "";
    if (rank == k) snprintf(host, sizeof host, "%s", nf_mpi_host());
    int rc_out, from;
    char msg[128];
    nf_mpi_agree_rc(rank == k ? 1 : 0, host, &rc_out, &from, msg, sizeof msg);
    snprintf(where, sizeof where, "rank %d", k);
    if (rank == 0) {
        const char *h = strstr(msg, "): ");
        if (bad_exe >= 0)
            fprintf(stderr, "nnfit: error: %s (%s) runs another nnfit binary than rank 0: every rank needs the same "
                            "build (same version, same options)\n", where, h ? h + 3 : "?");
        else
            fprintf(stderr, "nnfit: error: %s (%s) was started with other arguments than rank 0: every rank must "
                            "run the same command\n", where, h ? h + 3 : "?");
    }
    return EXIT_USAGE;
}

void cli_mpi_end(void)
{
    if (g_held) {
        fflush(stderr);
        fclose(g_held);
        g_held = NULL;
    }
    nf_mpi_finalize();
}

int cli_mpi_single(const char *command)
{
    if (!g_on) return 0;
    if (cli_mpi_rank() == 0)
        fprintf(stderr, "nnfit %s: error: runs in one process; start it without mpirun (only train and sweep use "
                        "several ranks)\n", command);
    return EXIT_USAGE;
}
