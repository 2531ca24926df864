/* mpi_sweep.c — the sweep's work queue over MPI ranks (nf_mpi_sweep_run, mpi.h).
 *
 * Each rank: `jobs` worker threads take trial numbers (in queue order q, restart-major, as
 * nf_sweep_run takes them) from a local queue and put finished trials into an outbox; the main
 * thread, the only one that calls MPI, fills the queue and empties the outbox.  Rank 0 fills its
 * queue from the one global counter and answers the other ranks: REQ(k) asks for k trials, and
 * every RESULT or ERROR asks for one more; each is answered by one ASSIGN carrying a trial
 * number or -1 (no more: the counter only grows, so none will follow).  Rank 0 alone stores
 * results.  The main threads poll (MPI_Iprobe, then a wait of at most 1 ms on the outbox)
 * instead of blocking in MPI, where Open MPI would spin a core away from the workers. */
#include "nnfit/mpi.h"

#ifdef NF_HAVE_MPI

#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"
#include "nnfit/blas.h"
#include "nnfit/train.h"

enum { TAG_REQ = 7101, TAG_RESULT, TAG_ERROR, TAG_BYE, TAG_ASSIGN, TAG_STOP };

typedef struct {
    nf_sweep_config cfg;   /* the caller's, with cancel = &stop and no callback */
    atomic_int stop;       /* drop running trials, take no more */
    pthread_mutex_t lock;
    pthread_cond_t work, main;
    long *queue;           /* ring of queue-order trial numbers, at most jobs + 1 */
    int q_head, q_len, q_cap;
    int no_more;           /* nothing more will be queued */
    int running;
    nf_trial *out;         /* finished trials, for the main thread */
    int out_len, out_cap;
    nf_status error;       /* first failure of a trial on this rank */
    char error_text[NF_MPI_MSG_CAP - 128];
    long ran;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    const nf_sweep_config *cfg = &p->cfg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->q_len && !p->no_more && !atomic_load(&p->stop)) pthread_cond_wait(&p->work, &p->lock);
        if (atomic_load(&p->stop) || !p->q_len) break;
        const long q = p->queue[p->q_head];
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        nf_trial t;
        nf_status st = nf_sweep_trial(cfg, (int)(q % cfg->n_settings), (int)(q / cfg->n_settings), &t, NULL);
        pthread_mutex_lock(&p->lock);
        p->running--;
        if (st == NF_EINTERRUPTED) {
            /* dropped */
        } else if (st) {
            if (!p->error) {
                p->error = st;
                snprintf(p->error_text, sizeof p->error_text, "%s", nf_last_error());
            }
            atomic_store(&p->stop, 1);
        } else {
            if (p->out_len == p->out_cap) {
                nf_trial *o = realloc(p->out, 2 * (size_t)p->out_cap * sizeof *o);
                if (o) {
                    p->out = o;
                    p->out_cap *= 2;
                }
            }
            if (p->out_len < p->out_cap) {
                p->out[p->out_len++] = t;
                p->ran++;
            } else {
                nf_trials_free(&t, 1);
                if (!p->error) {
                    p->error = NF_ENOMEM;
                    snprintf(p->error_text, sizeof p->error_text, "sweep: cannot keep a finished trial");
                }
                atomic_store(&p->stop, 1);
            }
        }
        pthread_cond_signal(&p->main);
    }
    pthread_mutex_unlock(&p->lock);
    pthread_cond_broadcast(&p->work);
    return NULL;
}

/* Under p->lock. */
static void push(pool *p, long q)
{
    p->queue[(p->q_head + p->q_len) % p->q_cap] = q;
    p->q_len++;
    pthread_cond_signal(&p->work);
}

static void stop_local(pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* Moves the finished trials into *into (grown as needed; the caller then owns them) and returns
 * how many; waits up to wait_ms for one when there is none. */
static int take_out(pool *p, nf_trial **into, int *cap, int wait_ms)
{
    pthread_mutex_lock(&p->lock);
    if (!p->out_len && wait_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)wait_ms * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->main, &p->lock, &ts);
    }
    int n = p->out_len;
    if (n > *cap) {
        nf_trial *b = realloc(*into, (size_t)n * sizeof *b);
        if (b) {
            *into = b;
            *cap = n;
        } else {
            n = *cap; /* the rest next time */
        }
    }
    memcpy(*into, p->out, (size_t)n * sizeof **into);
    memmove(p->out, p->out + n, (size_t)(p->out_len - n) * sizeof *p->out);
    p->out_len -= n;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* No trial running, none that will still start, and no finished one waiting in the outbox (a
 * trial that ends after the caller's last take_out is still taken and stored or sent). */
static int local_idle(pool *p)
{
    pthread_mutex_lock(&p->lock);
    const int stop = atomic_load(&p->stop);
    const int idle = p->running == 0 && p->out_len == 0 && (stop || (p->q_len == 0 && p->no_more));
    pthread_mutex_unlock(&p->lock);
    return idle;
}

/* A trial on the wire: its bytes (every rank runs the same binary, which the programs check at
 * start) with the curve pointer cleared, then the curve's floats. */
static nf_status send_trial(const nf_trial *t)
{
    const size_t nc = t->curve ? (size_t)t->epochs_run : 0, len = sizeof *t + nc * sizeof(float);
    unsigned char *b = malloc(len);
    if (!b) return nf_fail(NF_ENOMEM, "cannot allocate a %zu-byte result", len);
    nf_trial copy = *t;
    copy.curve = NULL;
    memcpy(b, &copy, sizeof copy);
    if (nc) memcpy(b + sizeof copy, t->curve, nc * sizeof(float));
    int e = MPI_Send(b, (int)len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    free(b);
    return e == MPI_SUCCESS ? NF_OK : nf_mpi_fail(e, "MPI_Send (a trial's result)");
}

static nf_status recv_trial(const MPI_Status *ms, const nf_sweep_config *cfg, nf_trial *t)
{
    int len = 0;
    MPI_Get_count(ms, MPI_BYTE, &len);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    if (!b) return nf_fail(NF_ENOMEM, "cannot allocate a %d-byte result", len);
    int e = MPI_Recv(b, len, MPI_BYTE, ms->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (e != MPI_SUCCESS) {
        free(b);
        return nf_mpi_fail(e, "MPI_Recv (a trial's result)");
    }
    nf_status st = NF_OK;
    if (len < 0 || (size_t)len < sizeof *t) {
        st = nf_fail(NF_EIO, "rank %d sent a %d-byte result, expected at least %zu", ms->MPI_SOURCE, len, sizeof *t);
    } else {
        memcpy(t, b, sizeof *t);
        const size_t nc = ((size_t)len - sizeof *t) / sizeof(float);
        t->curve = NULL;
        if (!t->done || t->setting < 0 || t->setting >= cfg->n_settings || t->restart < 0 ||
            t->restart >= cfg->restarts || (nc && nc != (size_t)t->epochs_run))
            st = nf_fail(NF_EIO, "rank %d sent a malformed result", ms->MPI_SOURCE);
        else if (nc && !(t->curve = malloc(nc * sizeof(float))))
            st = nf_fail(NF_ENOMEM, "cannot allocate a loss curve");
        else if (nc)
            memcpy(t->curve, b + sizeof *t, nc * sizeof(float));
    }
    free(b);
    return st;
}

static nf_status send_long(long v, int to, int tag)
{
    int e = MPI_Send(&v, 1, MPI_LONG, to, tag, MPI_COMM_WORLD);
    return e == MPI_SUCCESS ? NF_OK : nf_mpi_fail(e, "MPI_Send");
}

/* Rank 0's answers go out without waiting (MPI_Isend from a fixed set of slots): a send to a
 * rank that has died can hang in TCP's connect, and rank 0 must stay free to write what it has
 * before mpirun's SIGKILL arrives.  Slots are reused once MPI_Test says they are done. */
#define N_SLOTS 4096
static long g_slot_val[N_SLOTS];
static MPI_Request g_slot_req[N_SLOTS];
static int g_slot_init;

static nf_status post_long(long v, int to, int tag)
{
    if (!g_slot_init) {
        for (int i = 0; i < N_SLOTS; i++) g_slot_req[i] = MPI_REQUEST_NULL;
        g_slot_init = 1;
    }
    for (int i = 0; i < N_SLOTS; i++) {
        int done = 1;
        if (g_slot_req[i] != MPI_REQUEST_NULL && MPI_Test(&g_slot_req[i], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            done = 0;
        if (!done) continue;
        g_slot_val[i] = v;
        int e = MPI_Isend(&g_slot_val[i], 1, MPI_LONG, to, tag, MPI_COMM_WORLD, &g_slot_req[i]);
        return e == MPI_SUCCESS ? NF_OK : nf_mpi_fail(e, "MPI_Isend");
    }
    return send_long(v, to, tag); /* every slot in flight: wait this once */
}

/* After a normal end every answer has gone out; after a stop the ones to dead ranks never will
 * and are left to MPI_Finalize. */
static void slots_finish(int wait)
{
    if (!g_slot_init) return;
    if (wait) MPI_Waitall(N_SLOTS, g_slot_req, MPI_STATUSES_IGNORE);
}

/* ---- rank 0 ---- */

typedef struct {
    const nf_sweep_config *cfg;
    nf_trial *trials;
    long total, next, done;
    int stopping;          /* hand out nothing more */
    nf_status error;
    char error_text[NF_MPI_MSG_CAP];
} coordinator;

/* The next trial in queue order that has not finished (a resumed sweep has some), or -1. */
static long next_trial(coordinator *c)
{
    const int ns = c->cfg->n_settings, restarts = c->cfg->restarts;
    while (!c->stopping && c->next < c->total) {
        const long q = c->next++;
        if (!c->trials[(q % ns) * restarts + q / ns].done) return q;
    }
    return -1;
}

static void fail_once(coordinator *c, nf_status st, const char *text)
{
    c->stopping = 1;
    if (c->error) return;
    c->error = st;
    snprintf(c->error_text, sizeof c->error_text, "%s", text);
}

/* A finished trial, from this rank or another: into the journal (durable before it counts),
 * then into trials[] and the progress callback. */
static void store(coordinator *c, nf_trial *t)
{
    const long i = (long)t->setting * c->cfg->restarts + t->restart;
    if (c->trials[i].done) { /* each trial is handed out once, and never one the journal holds */
        char why[160];
        snprintf(why, sizeof why, "sweep: trial (setting %d, restart %d) finished twice", t->setting, t->restart);
        fail_once(c, NF_EIO, why);
        nf_trials_free(t, 1);
        return;
    }
    if (c->cfg->journal && nf_journal_append(c->cfg->journal, t)) {
        fail_once(c, NF_EIO, nf_last_error());
        nf_trials_free(t, 1);
        return;
    }
    c->trials[i] = *t;
    c->done++;
    if (c->cfg->on_trial) c->cfg->on_trial(c->cfg->ctx, &c->trials[i], c->done, c->total);
}

/* Ranks that have not said BYE yet: what nf_mpi_sweep_end still has to stop. */
static unsigned char *g_running;
static int g_pending_end;

/* Answers one message from another rank. */
static nf_status serve(coordinator *c, const MPI_Status *ms, int *alive)
{
    const int from = ms->MPI_SOURCE;
    nf_status st = NF_OK;
    int e = MPI_SUCCESS;
    if (ms->MPI_TAG == TAG_REQ) {
        long k = 0;
        e = MPI_Recv(&k, 1, MPI_LONG, from, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (long j = 0; e == MPI_SUCCESS && j < k && !st; j++) st = post_long(next_trial(c), from, TAG_ASSIGN);
    } else if (ms->MPI_TAG == TAG_RESULT) {
        nf_trial t;
        st = recv_trial(ms, c->cfg, &t);
        if (!st) store(c, &t);
        if (!st) st = post_long(next_trial(c), from, TAG_ASSIGN);
    } else if (ms->MPI_TAG == TAG_ERROR) {
        char msg[NF_MPI_MSG_CAP];
        long code = 0;
        e = MPI_Recv(msg, NF_MPI_MSG_CAP, MPI_CHAR, from, TAG_ERROR, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        msg[NF_MPI_MSG_CAP - 1] = '\0';
        memcpy(&code, msg, sizeof code);
        fail_once(c, code > 0 && code < NF_STATUS_COUNT ? (nf_status)code : NF_EIO, msg + sizeof code);
        if (e == MPI_SUCCESS) st = post_long(-1, from, TAG_ASSIGN);
    } else if (ms->MPI_TAG == TAG_BYE) {
        long ran = 0;
        e = MPI_Recv(&ran, 1, MPI_LONG, from, TAG_BYE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (g_running && g_running[from]) {
            g_running[from] = 0;
            (*alive)--;
        }
    } else {
        st = nf_fail(NF_EIO, "sweep: rank %d sent an unexpected message (tag %d): is every rank the same nnfit?",
                     from, ms->MPI_TAG);
    }
    if (!st && e != MPI_SUCCESS) st = nf_mpi_fail(e, "MPI_Recv");
    return st;
}

static nf_status run_rank0(pool *p, coordinator *c, nf_trial **batch, int *batch_cap, int jobs)
{
    const int N = nf_mpi_size();
    int alive = N - 1, stop_sent = 0;
    double deadline = 0.0;
    for (;;) {
        const int nb = take_out(p, batch, batch_cap, 1);
        for (int k = 0; k < nb; k++) store(c, &(*batch)[k]);
        pthread_mutex_lock(&p->lock);
        if (p->error) fail_once(c, p->error, p->error_text);
        while (!c->stopping && p->q_len + p->running < jobs) {
            const long q = next_trial(c);
            if (q < 0) break;
            push(p, q);
        }
        if (c->stopping || c->next >= c->total) {
            p->no_more = 1;
            pthread_cond_broadcast(&p->work);
        }
        pthread_mutex_unlock(&p->lock);
        for (;;) {
            int flag = 0;
            MPI_Status ms;
            int e = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ms);
            if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Iprobe");
            if (!flag) break;
            nf_status st = serve(c, &ms, &alive);
            if (st) return st;
        }
        if (!c->stopping && c->cfg->cancel && atomic_load(c->cfg->cancel)) {
            /* Interrupted: no more MPI until the caller has written what is finished.  mpirun
             * sends every rank SIGTERM when a rank dies and SIGKILL about 1 s later, and a
             * send to the dead rank makes Open MPI's TCP transport reconnect, fail and wait
             * for that SIGKILL inside the call.  nf_mpi_sweep_end stops the others. */
            c->stopping = 1;
            g_pending_end = 1;
            stop_local(p);
            return NF_OK;
        }
        if (c->stopping && !stop_sent) { /* a trial failed: stop everyone and wait for them */
            const long why = c->error ? (long)c->error : (long)NF_EINTERRUPTED;
            for (int r = 1; r < N; r++) post_long(why, r, TAG_STOP);
            stop_sent = 1;
            stop_local(p);
            deadline = nf_seconds() + 10.0;
        }
        const int idle = local_idle(p);
        if (idle && alive == 0) break;
        if (idle && stop_sent && nf_seconds() > deadline) break;
    }
    slots_finish(!stop_sent);
    return NF_OK;
}

/* ---- the other ranks ---- */

static nf_status run_other(pool *p, const nf_sweep_config *caller, nf_trial **batch, int *batch_cap, int jobs,
                           nf_status *stopped_by)
{
    long outstanding = jobs; /* ASSIGN answers still to come */
    int error_sent = 0, stopped = 0;
    nf_status st = send_long(jobs, 0, TAG_REQ);
    while (!st) {
        const int nb = take_out(p, batch, batch_cap, 1);
        for (int k = 0; k < nb; k++) {
            if (!stopped && !st) {
                st = send_trial(&(*batch)[k]);
                outstanding++;
            }
            nf_trials_free(&(*batch)[k], 1);
        }
        if (st) break;
        pthread_mutex_lock(&p->lock);
        const long err = (long)p->error;
        char msg[NF_MPI_MSG_CAP];
        memcpy(msg, &err, sizeof err); /* the status, then the text */
        snprintf(msg + sizeof err, sizeof msg - sizeof err, "rank %d (%s): %s", nf_mpi_rank(), nf_mpi_host(),
                 p->error_text);
        pthread_mutex_unlock(&p->lock);
        if (err && !error_sent && !stopped) {
            int e = MPI_Send(msg, NF_MPI_MSG_CAP, MPI_CHAR, 0, TAG_ERROR, MPI_COMM_WORLD);
            if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Send (an error)");
            error_sent = 1;
            outstanding++;
        }
        for (;;) {
            int flag = 0;
            MPI_Status ms;
            int e = MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ms);
            if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Iprobe");
            if (!flag) break;
            long v = 0;
            e = MPI_Recv(&v, 1, MPI_LONG, 0, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (e != MPI_SUCCESS) return nf_mpi_fail(e, "MPI_Recv");
            if (ms.MPI_TAG == TAG_ASSIGN) {
                outstanding--;
                pthread_mutex_lock(&p->lock);
                if (v >= 0 && !atomic_load(&p->stop)) push(p, v);
                if (v < 0) {
                    p->no_more = 1;
                    pthread_cond_broadcast(&p->work);
                }
                pthread_mutex_unlock(&p->lock);
            } else if (ms.MPI_TAG == TAG_STOP) {
                stopped = 1;
                *stopped_by = v > 0 && v < NF_STATUS_COUNT ? (nf_status)v : NF_EINTERRUPTED;
                stop_local(p);
            }
        }
        if (!stopped && caller->cancel && atomic_load(caller->cancel)) { /* this rank's own SIGTERM */
            stopped = 1;
            *stopped_by = NF_EINTERRUPTED;
            stop_local(p);
        }
        /* once stopped nothing more is sent or awaited: rank 0 may already be writing */
        if (local_idle(p) && (stopped || (p->no_more && outstanding == 0))) break;
        if (error_sent && local_idle(p) && outstanding == 0) break;
    }
    if (!st) st = send_long(p->ran, 0, TAG_BYE);
    return st;
}

nf_status nf_mpi_sweep_run(const nf_sweep_config *cfg, nf_trial *trials, long *n_done)
{
    if (!nf_mpi_active()) return nf_sweep_run(cfg, trials, n_done);
    *n_done = 0;
    if (!cfg->X || !cfg->Y || !cfg->settings || cfg->n_settings < 1)
        return nf_fail(NF_EINVAL, "sweep: no data or no settings");
    if (cfg->restarts < 1) return nf_fail(NF_EINVAL, "sweep: restarts must be >= 1, got %d", cfg->restarts);
    if (cfg->jobs < 1 || cfg->jobs > 1024) return nf_fail(NF_EINVAL, "sweep: jobs must be 1..1024, got %d", cfg->jobs);
    if (!(cfg->target > 0.0)) return nf_fail(NF_EINVAL, "sweep: target must be > 0, got %g", cfg->target);
    const int rank = nf_mpi_rank(), jobs = cfg->jobs;
    pool p;
    memset(&p, 0, sizeof p);
    p.cfg = *cfg;
    p.cfg.cancel = &p.stop;
    p.cfg.on_trial = NULL;
    p.cfg.journal = NULL; /* rank 0's main thread appends, for every rank's trials */
    p.q_cap = jobs + 1;
    p.out_cap = jobs + 1;
    p.queue = calloc((size_t)p.q_cap, sizeof *p.queue);
    p.out = calloc((size_t)p.out_cap, sizeof *p.out);
    int batch_cap = p.out_cap;
    nf_trial *batch = calloc((size_t)batch_cap, sizeof *batch);
    pthread_t *tid = calloc((size_t)jobs, sizeof *tid);
    if (!p.queue || !p.out || !batch || !tid) {
        free(p.queue);
        free(p.out);
        free(batch);
        free(tid);
        return nf_fail(NF_ENOMEM, "sweep: cannot allocate the work queue");
    }
    const long total = (long)cfg->n_settings * cfg->restarts;
    long resumed = 0;
    if (rank == 0) {
        for (long i = 0; i < total; i++) {
            if (!cfg->resume) memset(&trials[i], 0, sizeof trials[i]);
            else resumed += trials[i].done != 0;
        }
        free(g_running);
        g_running = calloc((size_t)nf_mpi_size(), 1);
        if (!g_running) return nf_fail(NF_ENOMEM, "sweep: cannot allocate %d flags", nf_mpi_size());
        memset(g_running + 1, 1, (size_t)nf_mpi_size() - 1);
        g_pending_end = 0;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.main, NULL);
    const int blas_before = nf_blas_threads();
    nf_blas_set_threads(1); /* parallel across trials, never inside one */
    int started = 0;
    for (int j = 0; j < jobs; j++) {
        if (pthread_create(&tid[started], NULL, worker, &p)) break;
        started++;
    }
    nf_status st = NF_OK, stopped_by = NF_OK;
    coordinator c = {cfg, trials, total, 0, resumed, 0, NF_OK, ""};
    if (!started) st = nf_fail(NF_ENOMEM, "sweep: could not start a worker thread");
    else if (rank == 0) st = run_rank0(&p, &c, &batch, &batch_cap, started);
    else st = run_other(&p, cfg, &batch, &batch_cap, started, &stopped_by);
    stop_local(&p);
    for (int j = 0; j < started; j++) pthread_join(tid[j], NULL);
    const int left = take_out(&p, &batch, &batch_cap, 0); /* finished after the end: dropped */
    nf_trials_free(batch, left);
    nf_blas_set_threads(blas_before);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.main);
    free(p.queue);
    free(p.out);
    free(batch);
    free(tid);
    if (st) return st;
    if (rank != 0) {
        *n_done = p.ran;
        if (p.error) return nf_fail(p.error, "%s", p.error_text);
        if (stopped_by) return nf_fail(stopped_by, "sweep: stopped by rank 0");
        return NF_OK;
    }
    *n_done = c.done;
    if (c.error) return nf_fail(c.error, "%s", c.error_text);
    if (c.done < total) return nf_fail(NF_EINTERRUPTED, "sweep: cancelled after %ld of %ld trials", c.done, total);
    return NF_OK;
}

void nf_mpi_sweep_end(void)
{
    if (!nf_mpi_active() || nf_mpi_rank() != 0 || !g_running) return;
    const int N = nf_mpi_size();
    if (g_pending_end) {
        int alive = 0;
        for (int r = 1; r < N; r++)
            if (g_running[r]) {
                post_long(NF_EINTERRUPTED, r, TAG_STOP);
                alive++;
            }
        /* drain what they still send (a result in flight would block its sender), up to 1 s */
        const double until = nf_seconds() + 1.0;
        while (alive > 0 && nf_seconds() < until) {
            int flag = 0;
            MPI_Status ms;
            if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &ms) != MPI_SUCCESS) break;
            if (!flag) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
                continue;
            }
            int len = 0;
            MPI_Get_count(&ms, MPI_BYTE, &len);
            unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
            if (!b) break;
            MPI_Recv(b, len, MPI_BYTE, ms.MPI_SOURCE, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            free(b);
            if (ms.MPI_TAG == TAG_BYE && g_running[ms.MPI_SOURCE]) {
                g_running[ms.MPI_SOURCE] = 0;
                alive--;
            }
        }
    }
    free(g_running);
    g_running = NULL;
    g_pending_end = 0;
}

#else
void nf_mpi_sweep_end(void) {}
typedef int nf_mpi_sweep_unused; /* ISO C wants a declaration in every translation unit */
#endif /* NF_HAVE_MPI */
