#define _GNU_SOURCE
/* test_model_layout.c — the model's workspace layout and the list of a step's sgemm calls.
 *
 *  - nf_model_workspace: the buffers nf_model_reserve hands out sit at the layout's offsets,
 *    aligned, disjoint and inside the allocation; dropout and shard sizes as documented;
 *  - nf_model_step_gemms against the sgemm calls nf_model_grad really makes: this binary
 *    defines cblas_sgemm (the executable's definition wins symbol resolution, so libnnfit's
 *    calls land here), records every call and forwards it to OpenBLAS's through
 *    dlsym(RTLD_NEXT).  Every listed entry with sgemm = 1 must be the next recorded call with
 *    equal arguments (shapes, transposes, alpha, beta, leading dimensions and pointers), and
 *    nothing else may be called; serial and sharded, for the MSE pre-fill, one-column output,
 *    small-shape, fused small-net, plain-loss, non-linear-output and dropout cases;
 *  - one list written out by hand from the documented sequence. */
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void fill(float *a, size_t n, nf_rng *rng)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)nf_rng_range(rng, -1.0, 1.0);
}

static nf_model *make(int n_layers, const int *sizes, nf_act_kind hid, nf_act_kind out, uint64_t seed)
{
    nf_act_spec h = {hid, nf_act_default_param(hid)}, o = {out, nf_act_default_param(out)};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, n_layers, sizes, &h, &o), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, seed);
    nf_init_spec is = {NF_INIT_GLOROT_UNIFORM, NF_BIAS_CONST, 0.1f};
    ck_assert_int_eq(nf_init_model(m, &is, &rng), NF_OK);
    return m;
}

/* ---- workspace layout ---------------------------------------------------------------------- */

typedef struct {
    size_t begin, end;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Blocks [begin, begin + floats) are 16-float aligned, pairwise disjoint and end by `total`. */
static void check_blocks(span *s, int n, size_t total, const char *what)
{
    qsort(s, (size_t)n, sizeof *s, cmp_span);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(s[i].begin % 16 == 0, "%s: block %d starts at %zu", what, i, s[i].begin);
        ck_assert_msg(s[i].end <= total, "%s: block %d ends at %zu > %zu", what, i, s[i].end, total);
        if (i) ck_assert_msg(s[i].begin >= s[i - 1].end, "%s: blocks %d and %d overlap", what, i - 1, i);
    }
}

START_TEST(workspace_layout_is_what_reserve_hands_out)
{
    static const struct {
        int n_layers, sizes[5];
        nf_act_kind hid, out;
    } nets[] = {{1, {64, 66}, NF_ACT_RELU, NF_ACT_LINEAR},
                {2, {2, 3, 1}, NF_ACT_RELU, NF_ACT_LINEAR},
                {3, {7, 33, 20, 5}, NF_ACT_GELU, NF_ACT_SIGMOID},
                {4, {5, 9, 17, 3, 2}, NF_ACT_TANH, NF_ACT_SOFTPLUS}};
    static const int batches[] = {1, 13, 300};
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++)
        for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
            const int L = nets[k].n_layers, batch = batches[bi];
            nf_model *m = make(L, nets[k].sizes, nets[k].hid, nets[k].out, 3 + k);
            ck_assert_int_eq(nf_model_set_dropout(m, 0.25f, 9), NF_OK);
            ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
            nf_workspace_layout ws;
            ck_assert_int_eq(nf_model_workspace(m, batch, 3, &ws), NF_OK);
            ck_assert_int_eq(ws.batch, batch);
            ck_assert_int_eq(ws.shards, 3);
            span s[2 * 4 + 3];
            int n = 0, widest = 0;
            const float *base = nf_model_layer_z(m, 0);
            ck_assert(ws.z[0] == 0);
            for (int i = 0; i < L; i++) {
                const int w = nf_model_size(m, i + 1);
                const size_t rows = (size_t)batch * (size_t)w;
                widest = w > widest ? w : widest;
                /* the reserved buffers are at the layout's offsets */
                ck_assert(nf_model_layer_z(m, i) == base + ws.z[i]);
                ck_assert(nf_model_layer_a(m, i) == base + ws.a[i]);
                const int in_place = !nf_act_needs_z(nf_model_layer(m, i)->act.kind);
                ck_assert_int_eq(ws.a[i] == ws.z[i], in_place);
                s[n++] = (span){ws.z[i], ws.z[i] + rows};
                if (!in_place) s[n++] = (span){ws.a[i], ws.a[i] + rows};
            }
            ck_assert_int_eq(ws.d_width, widest);
            for (int d = 0; d < 2; d++)
                s[n++] = (span){ws.d[d], ws.d[d] + (size_t)batch * (size_t)widest};
            /* Wᵀ scratch: the largest in·out above layer 0, none for one layer */
            size_t wt = 0;
            for (int i = 1; i < L; i++) {
                const size_t io = (size_t)nf_model_size(m, i) * (size_t)nf_model_size(m, i + 1);
                wt = io > wt ? io : wt;
            }
            ck_assert(ws.wt_floats >= wt && ws.wt_floats < wt + 16 && ws.wt_floats % 16 == 0);
            if (wt) s[n++] = (span){ws.wt, ws.wt + wt};
            check_blocks(s, n, ws.work_floats, "workspace");
            /* dropout: a mask and a masked output per hidden layer, the mask starting as ones */
            n = 0;
            for (int i = 0; i < L - 1; i++) {
                const size_t rows = (size_t)batch * (size_t)nf_model_size(m, i + 1);
                s[n++] = (span){ws.drop_mask[i], ws.drop_mask[i] + rows};
                s[n++] = (span){ws.drop_a[i], ws.drop_a[i] + rows};
                const float *mask = nf_model_dropout_mask(m, i);
                ck_assert(mask != NULL);
                for (size_t r = 0; r < rows; r++) ck_assert(mask[r] == 1.0f);
            }
            check_blocks(s, n, ws.drop_floats, "dropout");
            ck_assert_int_eq(ws.drop_floats == 0, L == 1);
            ck_assert(ws.shard_grads_floats == 2 * nf_model_n_params(m));
            ck_assert(ws.shard_wt_floats == 2 * ws.wt_floats);
            nf_model_free(m);
        }
    nf_model *m = make(1, (const int[]){4, 4}, NF_ACT_RELU, NF_ACT_LINEAR, 1);
    nf_workspace_layout ws;
    ck_assert_int_eq(nf_model_workspace(m, 0, 1, &ws), NF_EINVAL);
    ck_assert_int_eq(nf_model_workspace(m, 8, 0, &ws), NF_EINVAL);
    ck_assert_int_eq(nf_model_workspace(m, 8, 1, &ws), NF_OK);
    ck_assert(ws.drop_floats == 0 && ws.shard_grads_floats == 0 && ws.shard_wt_floats == 0);
    nf_model_free(m);
}
END_TEST

/* ---- the step's sgemm calls ------------------------------------------------------------------ */

#ifdef OPENBLAS_CONST /* the interposer needs OpenBLAS's cblas_sgemm prototype */
#define HAVE_INTERPOSER 1

#define MAX_CALLS 256
typedef struct {
    int trans_a, trans_b, m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} recorded;

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static int recording, n_rec;
static recorded rec[MAX_CALLS];

typedef void (*sgemm_fn)(OPENBLAS_CONST enum CBLAS_ORDER, OPENBLAS_CONST enum CBLAS_TRANSPOSE,
                         OPENBLAS_CONST enum CBLAS_TRANSPOSE, OPENBLAS_CONST blasint,
                         OPENBLAS_CONST blasint, OPENBLAS_CONST blasint, OPENBLAS_CONST float,
                         OPENBLAS_CONST float *, OPENBLAS_CONST blasint, OPENBLAS_CONST float *,
                         OPENBLAS_CONST blasint, OPENBLAS_CONST float, float *, OPENBLAS_CONST blasint);

static sgemm_fn real_sgemm; /* OpenBLAS's, found in main() */

void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE tb, OPENBLAS_CONST blasint M,
                 OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha,
                 OPENBLAS_CONST float *A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *B,
                 OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float *C,
                 OPENBLAS_CONST blasint ldc)
{
    ck_assert_msg(real_sgemm != NULL, "cblas_sgemm not found behind the test's definition");
    ck_assert_int_eq(order, CblasRowMajor);
    pthread_mutex_lock(&rec_mu);
    if (recording) {
        ck_assert_int_lt(n_rec, MAX_CALLS);
        rec[n_rec++] = (recorded){ta == CblasTrans, tb == CblasTrans, (int)M, (int)N, (int)K, (int)lda,
                                  (int)ldb, (int)ldc, alpha, beta, A, B, C};
    }
    pthread_mutex_unlock(&rec_mu);
    real_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static int same_call(const nf_gemm_call *e, const recorded *r)
{
    return e->trans_a == r->trans_a && e->trans_b == r->trans_b && e->m == r->m && e->n == r->n &&
           e->k == r->k && e->lda == r->lda && e->ldb == r->ldb && e->ldc == r->ldc &&
           e->alpha == r->alpha && e->beta == r->beta && e->A == r->A && e->B == r->B && e->C == r->C;
}

static const char *role_name(nf_gemm_role r)
{
    return r == NF_GEMM_FORWARD ? "forward" : r == NF_GEMM_GRAD_W ? "dW" : "dX";
}
#else
#define HAVE_INTERPOSER 0
#endif

typedef struct {
    int n_layers, sizes[5];
    nf_act_kind hid, out;
    nf_loss_kind loss;
    float dropout;
    int small_max;
    int sgemm_calls; /* calls nf_model_grad makes at batch 1031 (counted by hand) */
    const char *what;
    int fused_off; /* 1: nf_model_set_fused_max(0), the per-layer path for nets the fused kernel takes */
} step_case;

/* 2L forward/dW entries and L − 1 dX entries, whatever the path. */
static const step_case cases[] = {
    {2, {64, 40, 33}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 5, "MSE pre-fill", 0},
    {1, {64, 66}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 2, "one layer", 0},
    {2, {9, 40, 1}, NF_ACT_GELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 5, "one-column output", 1},
    {3, {3, 20, 6, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 5, "small output layer (loops)", 1},
    {3, {3, 20, 6, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 0, 8, "small path off", 1},
    {2, {2, 3, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 0, "fused small net", 0},
    {3, {3, 20, 6, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0, 16, 0, "fused MLP", 0},
    {2, {9, 40, 1}, NF_ACT_GELU, NF_ACT_LINEAR, NF_LOSS_HUBER, 0, 0, 0, "fused MLP, small path off", 0},
    {2, {2, 3, 1}, NF_ACT_RELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0.2f, 0, 5, "small net with dropout", 0},
    {3, {7, 33, 20, 5}, NF_ACT_TANH, NF_ACT_SIGMOID, NF_LOSS_MSE, 0, 16, 8, "non-linear output", 1},
    {3, {7, 33, 20, 5}, NF_ACT_TANH, NF_ACT_LINEAR, NF_LOSS_HUBER, 0, 16, 8, "plain loss", 1},
    {3, {6, 24, 12, 4}, NF_ACT_ELU, NF_ACT_LINEAR, NF_LOSS_MSE, 0.3f, 16, 8, "dropout", 0},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

typedef struct {
    const float *X;
    nf_loss_spec loss;
    size_t denom;
    int n[NF_MAX_THREADS], rows[NF_MAX_THREADS], shards;
    nf_gemm_call calls[NF_MAX_THREADS][16];
} shard_lists;

static void list_shard(void *ctx, nf_model *view, int row0, int rows)
{
    shard_lists *s = ctx;
    const int k = __atomic_fetch_add(&s->shards, 1, __ATOMIC_RELAXED);
    s->rows[k] = rows;
    ck_assert_int_eq(nf_model_step_gemms(view, s->X + (size_t)row0 * (size_t)nf_model_n_in(view), rows,
                                         &s->loss, s->denom, s->calls[k], 16, &s->n[k]),
                     NF_OK);
}

START_TEST(step_gemms_are_the_calls_the_step_makes)
{
    const step_case *c = &cases[_i];
    const int batch = 1031, L = c->n_layers;
    const int prev = nf_dense_set_small_max(c->small_max);
    const int prev_fused = nf_model_set_fused_max(c->fused_off ? 0 : 64);
    nf_model *m = make(L, c->sizes, c->hid, c->out, 17 + (uint64_t)_i);
    if (c->dropout > 0.0f) ck_assert_int_eq(nf_model_set_dropout(m, c->dropout, 5), NF_OK);
    ck_assert_int_eq(nf_model_reserve(m, batch), NF_OK);
    nf_model_set_training(m, c->dropout > 0.0f);
    const size_t nx = (size_t)batch * (size_t)c->sizes[0], ny = (size_t)batch * (size_t)c->sizes[L];
    float *X, *Y;
    ck_assert_int_eq(nf_alloc_floats(&X, nx), NF_OK);
    ck_assert_int_eq(nf_alloc_floats(&Y, ny), NF_OK);
    nf_rng rng;
    nf_rng_seed(&rng, 40 + (uint64_t)_i);
    fill(X, nx, &rng);
    fill(Y, ny, &rng);
    nf_loss_spec ls = {c->loss, 1.0f};
    nf_gemm_call calls[16];
    int n = -1;
    ck_assert_int_eq(nf_model_step_gemms(m, X, batch, &ls, 0, calls, 16, &n), NF_OK);
    /* the documented sequence: forward 0..L-1, then per layer from the top dW, dX (not layer 0) */
    ck_assert_int_eq(n, 3 * L - 1);
    int k = 0, listed = 0;
    for (int i = 0; i < L; i++, k++) {
        ck_assert_int_eq(calls[k].role, NF_GEMM_FORWARD);
        ck_assert_int_eq(calls[k].layer, i);
    }
    for (int i = L - 1; i >= 0; i--) {
        ck_assert_int_eq(calls[k].role, NF_GEMM_GRAD_W);
        ck_assert_int_eq(calls[k++].layer, i);
        if (!i) continue;
        ck_assert_int_eq(calls[k].role, NF_GEMM_GRAD_X);
        ck_assert_int_eq(calls[k++].layer, i);
    }
    for (k = 0; k < n; k++) listed += calls[k].sgemm;
    ck_assert_msg(listed == c->sgemm_calls, "%s: %d entries call sgemm, expected %d", c->what, listed,
                  c->sgemm_calls);
    ck_assert_int_eq(nf_model_step_gemms(m, X, batch + 1, &ls, 0, calls, 16, &n), NF_EINVAL);
    ck_assert_int_eq(nf_model_step_gemms(m, X, batch, &ls, 0, calls, 2, &n), NF_OK);
    ck_assert_int_eq(n, 3 * L - 1); /* the count even when it exceeds cap */
#if HAVE_INTERPOSER
    ck_assert_int_eq(nf_model_step_gemms(m, X, batch, &ls, 0, calls, 16, &n), NF_OK);
    n_rec = 0;
    recording = 1;
    ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, NULL), NF_OK);
    recording = 0;
    int r = 0;
    for (k = 0; k < n; k++) {
        if (!calls[k].sgemm) continue;
        ck_assert_msg(r < n_rec, "%s: listed %s of layer %d was not called", c->what,
                      role_name(calls[k].role), calls[k].layer);
        ck_assert_msg(same_call(&calls[k], &rec[r]),
                      "%s: call %d differs from the listed %s of layer %d (%d×%d×%d, alpha %g, beta "
                      "%g; called %d×%d×%d, alpha %g, beta %g; operands A B C %s %s %s)",
                      c->what, r, role_name(calls[k].role), calls[k].layer, calls[k].m, calls[k].n,
                      calls[k].k, (double)calls[k].alpha, (double)calls[k].beta, rec[r].m, rec[r].n,
                      rec[r].k, (double)rec[r].alpha, (double)rec[r].beta,
                      calls[k].A == rec[r].A ? "same" : "differ", calls[k].B == rec[r].B ? "same" : "differ",
                      calls[k].C == rec[r].C ? "same" : "differ");
        r++;
    }
    ck_assert_msg(r == n_rec, "%s: the step made %d sgemm calls, %d listed", c->what, n_rec, r);
    ck_assert_int_eq(n_rec, c->sgemm_calls);

    /* sharded: every shard makes its view's list (rows and pointers of its block); dropout
     * and the fused small net keep the step serial */
    ck_assert_int_eq(nf_model_set_threads(m, 3), NF_OK);
    static shard_lists sl;
    memset(&sl, 0, sizeof sl);
    sl.X = X;
    sl.loss = ls;
    sl.denom = (size_t)batch * (size_t)c->sizes[L];
    const int serial = c->dropout > 0.0f || listed == 0;
    if (!serial) ck_assert_int_eq(nf_model_run_shards(m, batch, list_shard, &sl), NF_OK);
    n_rec = 0;
    recording = 1;
    ck_assert_int_eq(nf_model_grad(m, X, Y, batch, &ls, 0, NULL), NF_OK);
    recording = 0;
    if (serial) {
        ck_assert_int_eq(n_rec, listed);
    } else {
        ck_assert_int_eq(sl.shards, 3);
        int expected = 0, used[MAX_CALLS] = {0};
        for (int s = 0; s < sl.shards; s++)
            for (k = 0; k < sl.n[s]; k++) {
                const nf_gemm_call *e = &sl.calls[s][k];
                if (!e->sgemm) continue;
                expected++;
                int found = 0;
                for (int q = 0; q < n_rec && !found; q++)
                    if (!used[q] && same_call(e, &rec[q])) found = used[q] = 1;
                ck_assert_msg(found, "%s: shard %d (%d rows): listed %s of layer %d was not called",
                              c->what, s, sl.rows[s], role_name(e->role), e->layer);
            }
        ck_assert_int_eq(n_rec, expected);
        ck_assert_int_eq(expected, 3 * listed);
    }
#endif
    nf_dense_set_small_max(prev);
    nf_model_set_fused_max(prev_fused);
    nf_free(X);
    nf_free(Y);
    nf_model_free(m);
}
END_TEST

/* 64→40→33 relu, MSE, batch 100: the list written out from model.h's description. */
START_TEST(step_gemms_documented_sequence)
{
    const int sizes[3] = {64, 40, 33}, B = 100;
    nf_model *m = make(2, sizes, NF_ACT_RELU, NF_ACT_LINEAR, 2);
    ck_assert_int_eq(nf_model_reserve(m, B), NF_OK);
    float X[1]; /* only its address is listed */
    const nf_loss_spec mse = {NF_LOSS_MSE, 1.0f};
    nf_gemm_call c[5];
    int n;
    ck_assert_int_eq(nf_model_step_gemms(m, X, B, &mse, 0, c, 5, &n), NF_OK);
    ck_assert_int_eq(n, 5);
    const float s2 = (float)(2.0 / (100.0 * 33.0));
    const struct {
        nf_gemm_role role;
        int layer, ta, tb, M, N, K;
        float alpha, beta;
        nf_buf_kind a, b, c;
        int lda, ldb, ldc;
    } want[5] = {
        /* Z0 = X·W0ᵀ onto zeros (every C here is small: zeroed, then beta = 1); Z1 += A0·W1ᵀ
         * onto b − Y */
        {NF_GEMM_FORWARD, 0, 0, 1, B, 40, 64, 1.0f, 1.0f, NF_BUF_X, NF_BUF_W, NF_BUF_Z, 64, 64, 40},
        {NF_GEMM_FORWARD, 1, 0, 1, B, 33, 40, 1.0f, 1.0f, NF_BUF_A, NF_BUF_W, NF_BUF_Z, 40, 40, 33},
        /* dW1 = s2·E1ᵀ·A0, dX = s2·E1·(W1ᵀ)ᵀ into D1; dW0 = D1ᵀ·X */
        {NF_GEMM_GRAD_W, 1, 1, 0, 33, 40, B, s2, 1.0f, NF_BUF_Z, NF_BUF_A, NF_BUF_DW, 33, 40, 40},
        {NF_GEMM_GRAD_X, 1, 0, 1, B, 40, 33, s2, 1.0f, NF_BUF_Z, NF_BUF_WT, NF_BUF_D1, 33, 33, 40},
        {NF_GEMM_GRAD_W, 0, 1, 0, 40, 64, B, 1.0f, 1.0f, NF_BUF_D1, NF_BUF_X, NF_BUF_DW, 40, 64, 64},
    };
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(c[k].role, want[k].role);
        ck_assert_int_eq(c[k].layer, want[k].layer);
        ck_assert_int_eq(c[k].sgemm, 1);
        ck_assert_int_eq(c[k].trans_a, want[k].ta);
        ck_assert_int_eq(c[k].trans_b, want[k].tb);
        ck_assert_int_eq(c[k].m, want[k].M);
        ck_assert_int_eq(c[k].n, want[k].N);
        ck_assert_int_eq(c[k].k, want[k].K);
        ck_assert(c[k].alpha == want[k].alpha && c[k].beta == want[k].beta);
        ck_assert_int_eq(c[k].a.kind, want[k].a);
        ck_assert_int_eq(c[k].b.kind, want[k].b);
        ck_assert_int_eq(c[k].c.kind, want[k].c);
        ck_assert_int_eq(c[k].lda, want[k].lda);
        ck_assert_int_eq(c[k].ldb, want[k].ldb);
        ck_assert_int_eq(c[k].ldc, want[k].ldc);
    }
    /* resolved buffers */
    ck_assert(c[0].A == X && c[4].B == X);
    ck_assert(c[0].B == nf_model_layer(m, 0)->W && c[1].B == nf_model_layer(m, 1)->W);
    ck_assert(c[0].C == nf_model_layer_z(m, 0) && c[1].C == nf_model_layer_z(m, 1));
    ck_assert(c[1].A == nf_model_layer_a(m, 0) && c[2].A == nf_model_layer_z(m, 1));
    ck_assert(c[2].C == nf_model_layer(m, 1)->dW && c[4].C == nf_model_layer(m, 0)->dW);
    ck_assert(c[3].C == c[4].A);
    /* Huber: the plain path (Z1 onto zeros, alpha 1, dZ in D0) */
    const nf_loss_spec hub = {NF_LOSS_HUBER, 1.0f};
    ck_assert_int_eq(nf_model_step_gemms(m, X, B, &hub, 0, c, 5, &n), NF_OK);
    ck_assert(c[1].beta == 1.0f && c[2].alpha == 1.0f && c[3].alpha == 1.0f);
    ck_assert_int_eq(c[2].a.kind, NF_BUF_D0);
    ck_assert(c[2].A == nf_model_dout(m));
    /* 1000 rows: Z0, Z1 (33 000 floats) and D1 are left to OpenBLAS's beta = 0, the weight
     * gradients (at most 2 560 floats) are still zeroed first */
    ck_assert_int_eq(nf_model_reserve(m, 1000), NF_OK);
    ck_assert_int_eq(nf_model_step_gemms(m, X, 1000, &hub, 0, c, 5, &n), NF_OK);
    ck_assert(c[0].beta == 0.0f && c[1].beta == 0.0f && c[2].beta == 1.0f && c[3].beta == 0.0f &&
              c[4].beta == 1.0f);
    nf_model_free(m);
}
END_TEST

int main(void)
{
#if HAVE_INTERPOSER
    *(void **)&real_sgemm = dlsym(RTLD_NEXT, "cblas_sgemm");
#endif
    Suite *s = suite_create("model_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, workspace_layout_is_what_reserve_hands_out);
    tcase_add_loop_test(tc, step_gemms_are_the_calls_the_step_makes, 0, N_CASES);
    tcase_add_test(tc, step_gemms_documented_sequence);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
