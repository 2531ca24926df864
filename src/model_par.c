/* model_par.c — data-parallel training steps (nf_model_set_threads).
 *
 * A batch is cut into contiguous row blocks ("shards"), one per thread: the caller's and
 * n−1 persistent workers the model owns.  Every shard runs the whole serial step (forward,
 * loss, backward: all its cblas_sgemm calls, on its rows of the model's own row-major
 * workspace) through a *view*: a shallow copy of the model whose Z/A/dA pointers start at
 * the shard's first row, whose dW/db point into the shard's own gradient buffer and whose Wᵀ
 * scratch is its own.  Then the caller adds the shards' gradients (and losses) into the
 * model's.  Row blocks are independent in forward and backward; only the sums over rows (dW,
 * db, the loss) are split, so the result equals the serial one up to float summation order.
 *
 * Why: OpenBLAS splits one sgemm over its threads, and for narrow shapes (4096×64×64) the
 * split and its synchronisation cost more than the second core gives (bench/README.md);
 * splitting the step instead costs one wake-up and one join per step.  Workers call sgemm
 * concurrently, so OpenBLAS should run 1 thread (nf_blas_set_threads(1)).  Everything is
 * allocated by nf_model_set_threads; a step allocates nothing. */
#include "model_par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "model_step.h"
#include "nnfit/mat.h"
#include "simd.h"

#define NF_SHARD_MIN_ROWS 256 /* smaller shards are not worth a wake-up */

typedef void (*shard_fn)(void *ctx, nf_model *view, int row0, int rows, int shard);

struct nf_pool {
    int n;               /* shards at most (threads incl. the caller) */
    pthread_t *th;       /* [n - 1] */
    pthread_mutex_t mu;  /* only for sleeping: go / done */
    pthread_cond_t go, done;
    atomic_ulong gen;    /* job generation (release by the caller publishes the job) */
    atomic_int pending;  /* workers that have not finished the current job */
    atomic_int quit;
    int started;
    /* the current job */
    shard_fn fn;
    void *ctx;
    int shards, batch;
    nf_fpstate fp;       /* caller's FTZ/DAZ mode, applied in the workers */
    nf_model *views;     /* [n] */
    float *grads;        /* [(n - 1) · n_params]: shard k >= 1 writes block k − 1 */
    float *wt;           /* [(n - 1) · wt_size] */
    size_t wt_size;
};

static void shard_rows(int batch, int shards, int k, int *row0, int *rows)
{
    const int base = batch / shards, extra = batch % shards;
    *row0 = k * base + (k < extra ? k : extra);
    *rows = base + (k < extra);
}

/* View of shard k covering rows [row0, row0 + rows) of m's workspace. */
static void make_view(const nf_model *m, struct nf_pool *p, int k, int row0)
{
    nf_model *v = &p->views[k];
    *v = *m;
    v->pool = NULL;
    v->drop_train = 0;
    v->batch_cap = m->batch_cap - row0;
    if (k > 0) {
        float *g = p->grads + (size_t)(k - 1) * m->n_params;
        v->grads = g;
        for (int i = 0; i < m->n_layers; i++) {
            const nf_dense *L = &m->layers[i];
            v->layers[i].dW = g + (L->dW - m->grads);
            v->layers[i].db = g + (L->db - m->grads);
            if (L->act_dp) v->layers[i].act_dp = g + (L->act_dp - m->grads);
        }
        v->wt = m->wt ? p->wt + (size_t)(k - 1) * p->wt_size : NULL;
    }
    const size_t r = (size_t)row0;
    for (int i = 0; i < m->n_layers; i++) {
        v->Z[i] = m->Z[i] + r * (size_t)m->sizes[i + 1];
        v->A[i] = m->A[i] + r * (size_t)m->sizes[i + 1];
    }
    v->dbuf[0] = m->dbuf[0] + r * (size_t)m->d_width;
    v->dbuf[1] = m->dbuf[1] + r * (size_t)m->d_width;
}

static void run_shard(struct nf_pool *p, int k)
{
    int row0, rows;
    shard_rows(p->batch, p->shards, k, &row0, &rows);
    p->fn(p->ctx, &p->views[k], row0, rows, k);
}

/* Both sides spin briefly before sleeping: a step's worker shard ends within microseconds of
 * the caller's, and the next job follows after the optimizer update, so most hand-overs
 * never touch the futex (a sleeping hand-over costs 4-12 µs on the test VM, 1-2 % of a fir
 * step).  1000 pauses took 23-26 µs there; then the thread blocks and costs nothing. */
#define NF_SPIN 1000
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NF_PAUSE() _mm_pause()
#else
#define NF_PAUSE() ((void)0)
#endif

static void *worker(void *arg)
{
    struct nf_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    const int k = ++p->started; /* shard index 1..n-1 */
    pthread_mutex_unlock(&p->mu);
    unsigned long seen = 0; /* a job posted before this thread got here still runs */
    for (;;) {
        for (int i = 0; i < NF_SPIN && atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
                        !atomic_load_explicit(&p->quit, memory_order_relaxed);
             i++)
            NF_PAUSE();
        if (atomic_load_explicit(&p->gen, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) break;
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (k < p->shards) {
            const nf_fpstate mine = nf_fp_current();
            nf_fp_leave(p->fp); /* take the caller's mode */
            run_shard(p, k);
            nf_fp_leave(mine);
        }
        /* every worker answers every job, idle or not, so the next job is never posted
         * while one of them still reads this one */
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Runs fn on every shard of `batch` rows (the caller takes shard 0) and waits for all. */
static void pool_run(nf_model *m, int batch, int shards, shard_fn fn, void *ctx)
{
    struct nf_pool *p = m->pool;
    for (int k = 0; k < shards; k++) {
        int row0, rows;
        shard_rows(batch, shards, k, &row0, &rows);
        make_view(m, p, k, row0);
    }
    p->fn = fn;
    p->ctx = ctx;
    p->batch = batch;
    p->shards = shards;
    p->fp = nf_fp_current();
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_mutex_lock(&p->mu); /* wakes workers that went to sleep */
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_shard(p, 0);
    for (int i = 0; i < NF_SPIN && atomic_load_explicit(&p->pending, memory_order_acquire); i++)
        NF_PAUSE();
    if (atomic_load_explicit(&p->pending, memory_order_acquire)) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending)) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

int nf_pool_shards(const nf_model *m, int batch)
{
    if (!m->pool) return 1;
    int s = batch / NF_SHARD_MIN_ROWS;
    return s < 1 ? 1 : (s > m->pool->n ? m->pool->n : s);
}

typedef struct {
    const float *X, *Y;
    const nf_loss_spec *loss;
    size_t denom;
    double loss_part[NF_MAX_THREADS];
    nf_status st[NF_MAX_THREADS];
} grad_job;

static void grad_shard(void *ctx, nf_model *view, int row0, int rows, int k)
{
    grad_job *j = ctx;
    const size_t r = (size_t)row0;
    j->st[k] = nf_model_grad_serial(view, j->X + r * (size_t)view->sizes[0],
                                    j->Y + r * (size_t)view->sizes[view->n_layers], rows, j->loss,
                                    j->denom, &j->loss_part[k]);
}

NF_CLONES static void add_into(float *restrict out, const float *restrict g, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] += g[i];
}

nf_status nf_pool_grad(nf_model *m, int shards, const float *X, const float *Y, int batch,
                       const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    grad_job j = {X, Y, loss, denom ? denom : (size_t)batch * (size_t)m->sizes[m->n_layers], {0}, {0}};
    pool_run(m, batch, shards, grad_shard, &j);
    double total = 0.0;
    for (int k = 0; k < shards; k++) {
        if (j.st[k]) return j.st[k];
        total += j.loss_part[k];
    }
    for (int k = 1; k < shards; k++)
        add_into(m->grads, m->pool->grads + (size_t)(k - 1) * m->n_params, m->n_params);
    if (loss_out) *loss_out = total;
    return NF_OK;
}

void nf_pool_free(struct nf_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < p->n - 1; k++) pthread_join(p->th[k], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    nf_free(p->grads);
    nf_free(p->wt);
    free(p->views);
    free(p->th);
    free(p);
}

nf_status nf_model_set_threads(nf_model *m, int n)
{
    if (n < 1 || n > NF_MAX_THREADS)
        return nf_fail(NF_EINVAL, "model threads must be 1..%d, got %d", NF_MAX_THREADS, n);
    if (m->pool && m->pool->n == n) return NF_OK;
    nf_pool_free(m->pool);
    m->pool = NULL;
    if (n == 1) return NF_OK;
    struct nf_pool *p = calloc(1, sizeof *p);
    if (!p) return nf_fail(NF_ENOMEM, "model threads: out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = 1; /* no worker to join yet: nf_pool_free cleans up a partial pool */
    nf_workspace_layout ws;
    nf_status st = nf_model_workspace(m, m->batch_cap > 0 ? m->batch_cap : 1, n, &ws);
    p->wt_size = ws.wt_floats;
    p->th = calloc((size_t)n - 1, sizeof *p->th);
    p->views = calloc((size_t)n, sizeof *p->views);
    if (!p->th || !p->views) st = NF_ENOMEM;
    if (!st) st = nf_alloc_floats(&p->grads, ws.shard_grads_floats);
    if (!st && ws.shard_wt_floats) st = nf_alloc_floats(&p->wt, ws.shard_wt_floats);
    if (st) {
        nf_pool_free(p);
        return nf_fail(NF_ENOMEM, "model threads: %d gradient buffers of %zu floats could not be "
                                  "allocated", n - 1, m->n_params);
    }
    p->n = n;
    for (int k = 0; k < n - 1; k++) {
        if (pthread_create(&p->th[k], NULL, worker, p)) {
            p->n = k + 1; /* join the ones that started */
            nf_pool_free(p);
            return nf_fail(NF_ENOMEM, "model threads: could not start thread %d of %d", k + 2, n);
        }
    }
    m->pool = p;
    return NF_OK;
}

int nf_model_threads(const nf_model *m) { return m->pool ? m->pool->n : 1; }

typedef struct {
    nf_shard_fn fn;
    void *ctx;
} user_job;

static void user_shard(void *ctx, nf_model *view, int row0, int rows, int k)
{
    (void)k;
    user_job *u = ctx;
    u->fn(u->ctx, view, row0, rows);
}

nf_status nf_model_run_shards(nf_model *m, int batch, nf_shard_fn fn, void *ctx)
{
    nf_status st = nf_model_check_batch(m, batch);
    if (st) return st;
    const int shards = nf_pool_shards(m, batch);
    user_job u = {fn, ctx};
    if (shards == 1) {
        fn(ctx, m, 0, batch);
        return NF_OK;
    }
    pool_run(m, batch, shards, user_shard, &u);
    return NF_OK;
}
