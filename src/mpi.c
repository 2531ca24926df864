/* mpi.c — MPI_COMM_WORLD for nnfit: ranks, fixed-order sums for data-parallel training and
 * agreement on errors (mpi.h).  The sweep's work queue is in mpi_sweep.c.  Without
 * NF_HAVE_MPI every function behaves as for one process. */
#include "nnfit/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nf_mpi_launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            long n = strtol(v, NULL, 10);
            if (n > 0 && n < 1 << 24) return (int)n;
        }
    }
    return 0;
}

#ifndef NF_HAVE_MPI

int nf_mpi_available(void) { return 0; }
nf_status nf_mpi_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return NF_OK;
}
void nf_mpi_finalize(void) {}
int nf_mpi_rank(void) { return 0; }
int nf_mpi_size(void) { return 1; }
int nf_mpi_local_size(void) { return 1; }
const char *nf_mpi_host(void) { return "localhost"; }

nf_status nf_mpi_agree_rc(int rc, const char *text, int *rc_out, int *from, char *msg, size_t cap)
{
    *rc_out = rc;
    *from = 0;
    if (cap) snprintf(msg, cap, "%s", text ? text : "");
    return NF_OK;
}

nf_status nf_mpi_compare(uint64_t value, int *differs)
{
    (void)value;
    *differs = -1;
    return NF_OK;
}

nf_status nf_mpi_bcast_bytes(void *buf, size_t n)
{
    (void)buf, (void)n;
    return NF_OK;
}

const nf_dist *nf_mpi_dist(void) { return NULL; }

nf_status nf_mpi_sweep_run(const nf_sweep_config *cfg, nf_trial *trials, long *n_done)
{
    return nf_sweep_run(cfg, trials, n_done);
}

#else /* NF_HAVE_MPI */

#include <limits.h>
#include <mpi.h>

#include "mpi_internal.h"

static int g_inited, g_rank, g_size = 1, g_local = 1;
static char g_host[MPI_MAX_PROCESSOR_NAME + 1] = "localhost";

int nf_mpi_available(void) { return 1; }
int nf_mpi_rank(void) { return g_rank; }
int nf_mpi_size(void) { return g_size; }
int nf_mpi_local_size(void) { return g_local; }
const char *nf_mpi_host(void) { return g_host; }
int nf_mpi_active(void) { return g_inited && g_size > 1; }

nf_status nf_mpi_fail(int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
    text[len] = '\0';
    return nf_fail(NF_EIO, "rank %d (%s): %s failed: %s", g_rank, g_host, what, len ? text : "unknown MPI error");
}

nf_status nf_mpi_init(int *argc, char ***argv)
{
    if (g_inited || nf_mpi_launched_size() == 0) return NF_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return nf_fail(NF_EIO, "MPI_Init_thread failed (started by mpirun?)");
    g_inited = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    int len = 0;
    if (MPI_Get_processor_name(g_host, &len) != MPI_SUCCESS) len = snprintf(g_host, sizeof g_host, "localhost");
    g_host[len < (int)sizeof g_host ? len : (int)sizeof g_host - 1] = '\0';
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    g_local = local ? atoi(local) : 1;
    if (g_local < 1) g_local = 1;
    if (provided < MPI_THREAD_FUNNELED)
        return nf_fail(NF_EUNSUPPORTED, "this MPI does not allow threads in an MPI process (thread level %d)", provided);
    return NF_OK;
}

void nf_mpi_finalize(void)
{
    if (!g_inited) return;
    g_inited = 0;
    MPI_Finalize();
}

/* ---- agreement ---- */

nf_status nf_mpi_agree_rc(int rc, const char *text, int *rc_out, int *from, char *msg, size_t cap)
{
    *rc_out = rc;
    *from = 0;
    if (g_size < 2 || !g_inited) {
        if (cap) snprintf(msg, cap, "%s", text ? text : "");
        return NF_OK;
    }
    int *all = malloc((size_t)g_size * sizeof(int));
    if (!all) return nf_fail(NF_ENOMEM, "cannot allocate %d status words", g_size);
    int e = MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) {
        free(all);
        return nf_mpi_fail(e, "MPI_Allgather (agreeing on errors)");
    }
    int k = 0;
    while (k < g_size && !all[k]) k++;
    *rc_out = k < g_size ? all[k] : 0;
    *from = k < g_size ? k : 0;
    free(all);
    if (k == g_size) {
        if (cap) msg[0] = '\0';
        return NF_OK;
    }
    char buf[NF_MPI_MSG_CAP];
    if (g_rank == k) {
        if (k) snprintf(buf, sizeof buf, "rank %d (%s): %s", k, g_host, text ? text : "");
        else snprintf(buf, sizeof buf, "%s", text ? text : "");
    }
    e = MPI_Bcast(buf, NF_MPI_MSG_CAP, MPI_CHAR, k, MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Bcast (an error message)");
    buf[NF_MPI_MSG_CAP - 1] = '\0';
    if (cap) snprintf(msg, cap, "%s", buf);
    return NF_OK;
}

nf_status nf_mpi_compare(uint64_t value, int *differs)
{
    *differs = -1;
    if (g_size < 2 || !g_inited) return NF_OK;
    unsigned long long v = value, *all = malloc((size_t)g_size * sizeof *all);
    if (!all) return nf_fail(NF_ENOMEM, "cannot allocate %d words", g_size);
    int e = MPI_Allgather(&v, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) {
        free(all);
        return nf_mpi_fail(e, "MPI_Allgather (comparing ranks)");
    }
    for (int k = 1; k < g_size && *differs < 0; k++)
        if (all[k] != all[0]) *differs = k;
    free(all);
    return NF_OK;
}

nf_status nf_mpi_bcast_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (g_inited && g_size > 1 && n > 0) {
        const int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int e = MPI_Bcast(p, chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Bcast");
        p += chunk;
        n -= (size_t)chunk;
    }
    return NF_OK;
}

/* ---- nf_dist: fixed-order sums ---- */

typedef struct {
    unsigned char *buf, *recv;
    size_t buf_cap, recv_cap;
    int *scount, *sdispl, *rcount, *rdispl;
} sum_ws;

static sum_ws g_ws; /* grown on the first sums, kept for the process */

static int grow(unsigned char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    unsigned char *q = realloc(*p, need);
    if (!q) return 1;
    *p = q;
    *cap = need;
    return 0;
}

/* Segment k of the float vector is nf_dist_rows(n_f, k, N); segment 0 also carries the doubles,
 * in front.  Rank k receives every rank's copy of segment k, adds them in rank order and
 * everyone gathers the sums. */
static nf_status dist_sum(void *ctx, float *f, size_t n_f, double *d, size_t n_d)
{
    (void)ctx;
    const int N = g_size, me = g_rank;
    if (N < 2 || (n_f == 0 && n_d == 0)) return NF_OK;
    sum_ws *w = &g_ws;
    if (!w->scount) {
        w->scount = calloc((size_t)N * 4, sizeof(int));
        if (!w->scount) return nf_fail(NF_ENOMEM, "data-parallel sum: cannot allocate counts");
        w->sdispl = w->scount + N;
        w->rcount = w->scount + 2 * N;
        w->rdispl = w->scount + 3 * N;
    }
    const size_t dbytes = n_d * sizeof(double), total = dbytes + n_f * sizeof(float);
    long f0, fl;
    nf_dist_rows((long)n_f, me, N, &f0, &fl);
    const size_t mine = (size_t)fl * sizeof(float) + (me == 0 ? dbytes : 0);
    if (total > (size_t)INT_MAX || mine * (size_t)N > (size_t)INT_MAX)
        return nf_fail(NF_EUNSUPPORTED, "data-parallel sum of %zu bytes: more than MPI's int counts address", total);
    if (grow(&w->buf, &w->buf_cap, total) || grow(&w->recv, &w->recv_cap, mine * (size_t)N + 1))
        return nf_fail(NF_ENOMEM, "data-parallel sum: cannot allocate %zu bytes", total + mine * (size_t)N);
    if (dbytes) memcpy(w->buf, d, dbytes);
    if (n_f) memcpy(w->buf + dbytes, f, n_f * sizeof(float));
    for (int k = 0; k < N; k++) {
        long k0, kl;
        nf_dist_rows((long)n_f, k, N, &k0, &kl);
        w->scount[k] = (int)((size_t)kl * sizeof(float) + (k == 0 ? dbytes : 0));
        w->sdispl[k] = (int)(k == 0 ? 0 : dbytes + (size_t)k0 * sizeof(float));
        w->rcount[k] = (int)mine;
        w->rdispl[k] = (int)(mine * (size_t)k);
    }
    int e = MPI_Alltoallv(w->buf, w->scount, w->sdispl, MPI_BYTE, w->recv, w->rcount, w->rdispl, MPI_BYTE,
                          MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Alltoallv (data-parallel sum)");
    unsigned char *out = w->buf + w->sdispl[me];
    if (me == 0 && n_d) { /* p0 + p1 + ... + p(N-1), each double */
        for (size_t i = 0; i < n_d; i++) {
            double acc, v;
            memcpy(&acc, w->recv + i * sizeof(double), sizeof acc);
            for (int k = 1; k < N; k++) {
                memcpy(&v, w->recv + mine * (size_t)k + i * sizeof(double), sizeof v);
                acc += v;
            }
            memcpy(out + i * sizeof(double), &acc, sizeof acc);
        }
    }
    const size_t skip = me == 0 ? dbytes : 0; /* byte offsets stay multiples of 4 */
    if (fl > 0) {
        float *acc = (float *)(void *)(out + skip);
        memcpy(acc, w->recv + skip, (size_t)fl * sizeof(float));
        for (int k = 1; k < N; k++) {
            const float *v = (const float *)(const void *)(w->recv + mine * (size_t)k + skip);
            for (long i = 0; i < fl; i++) acc[i] += v[i];
        }
    }
    e = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, w->buf, w->scount, w->sdispl, MPI_BYTE, MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Allgatherv (data-parallel sum)");
    if (dbytes) memcpy(d, w->buf, dbytes);
    if (n_f) memcpy(f, w->buf + dbytes, n_f * sizeof(float));
    return NF_OK;
}

static nf_status dist_bcast(void *ctx, float *f, size_t n)
{
    (void)ctx;
    return nf_mpi_bcast_bytes(f, n * sizeof(float));
}

static nf_status dist_agree(void *ctx, nf_status st)
{
    (void)ctx;
    int rc, from;
    char msg[NF_MPI_MSG_CAP];
    nf_status e = nf_mpi_agree_rc((int)st, st ? nf_last_error() : "", &rc, &from, msg, sizeof msg);
    if (e) return e;
    if (!rc) return NF_OK;
    if (from == g_rank) return st; /* its own message stands */
    return nf_fail((nf_status)rc, "%s", msg);
}

static nf_status dist_same(void *ctx, uint64_t value, int *all_equal)
{
    (void)ctx;
    int differs;
    nf_status st = nf_mpi_compare(value, &differs);
    *all_equal = differs < 0;
    return st;
}

const nf_dist *nf_mpi_dist(void)
{
    static nf_dist d;
    if (!g_inited || g_size < 2) return NULL;
    d = (nf_dist){g_rank, g_size, NULL, dist_sum, dist_bcast, dist_agree, dist_same};
    return &d;
}

#endif /* NF_HAVE_MPI */
