/* model_small.c — fused forward + loss + backward for tiny one-hidden-layer nets.
 *
 * A 2→3→1 net on 4096 rows is ~40 flops per row; run through sgemm it spends almost all of
 * its time in call overhead and packing of [4096, 2]·[2, 3] blocks.  Sweeps train thousands
 * of such nets, so nf_model_grad routes models with one hidden layer (n_in <= NF_SMALL_MAX_IN,
 * hidden <= NF_SMALL_MAX_HIDDEN, one output) here: rows are processed in blocks of
 * NF_SMALL_BLOCK, transposed so that every loop runs over rows and vectorises, and every
 * gradient sum is kept in 16 interleaved partial sums (row i goes to lane i mod 16) that are
 * added pairwise at the end.  The order of every floating-point operation is fixed by this
 * source, so the result does not depend on vector width, thread count or BLAS — the same
 * seed gives the same numbers in `nnfit train` and in a sweep worker. */
#include <string.h>

#include "model_small.h"

#include "simd.h"

enum { LANES = 16 };

/* Eight floats as one value (GCC/clang vector extension): the compiler keeps these in
 * registers at whatever width the clone has (two SSE registers on baseline). */
typedef float v8 __attribute__((vector_size(32)));

/* Unaligned, aliasing loads and stores of eight floats (as the intrinsics headers define
 * theirs); macros, so that no function passes a vector by value. */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define ld8(p) (*(const v8u *)(const void *)(p))
#define st8(p, v) (*(v8u *)(void *)(p) = (v))
#define splat8(x) ((v8){(x), (x), (x), (x), (x), (x), (x), (x)})
typedef int v8i __attribute__((vector_size(32)));
/* Sixteen floats: one AVX-512 register, two AVX2 ones; lane l of a v16 is row l of a group
 * of sixteen, so element-wise arithmetic on v16 is the same as on its two v8 halves. */
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64)));
#define ld16(p) (*(const v16u *)(const void *)(p))
#define st16(p, v) (*(v16u *)(void *)(p) = (v))
#define splat16(x) ((v16){(x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x)})
#define LO8(v) SHUF(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HI8(v) SHUF(v, v, 8, 9, 10, 11, 12, 13, 14, 15)
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
#define ld4(p) (*(const v4u *)(const void *)(p))
#define SHUF __builtin_shufflevector
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
typedef double v8d __attribute__((vector_size(64)));
#define ld4d(p) (*(const v4du *)(const void *)(p))
/* lanes o .. o + 3 of a v8, widened to double */
#define CVT4D(v, o) __builtin_convertvector(SHUF(v, v, (o), (o) + 1, (o) + 2, (o) + 3), v4d)

static int w16_mode = -1; /* nf_model_set_vec16: −1 the clone's choice (NF_W16), 0 eight, 1 sixteen */

int nf_model_set_vec16(int mode)
{
    int prev = w16_mode;
    w16_mode = mode < 0 ? -1 : mode > 0;
    return prev;
}

/* Sixteen-float code where the running clone is the x86-64-v4 one (NF_W16), unless forced. */
static inline __attribute__((always_inline)) int use_w16(void)
{
    return w16_mode < 0 ? (int)(NF_W16 != 0) : w16_mode;
}

/* f(..., w16) with w16 a constant in each of the two calls, so that each width's code is
 * compiled without branches on it */
#define WIDTH_CALL(f, w16, ...)                  \
    do {                                         \
        if (w16)                                 \
            f(__VA_ARGS__, 1);                   \
        else                                     \
            f(__VA_ARGS__, 0);                   \
    } while (0)

/* Activations with per-unit parameters (prelu, elu_learn) take the general path. */
int nf_model_small_ok(const nf_model *m)
{
    return m->n_layers == 2 && m->sizes[0] <= NF_SMALL_MAX_IN && m->sizes[1] <= NF_SMALL_MAX_HIDDEN &&
           m->sizes[2] == 1 && !nf_act_learnable(m->layers[0].act.kind) &&
           !nf_act_learnable(m->layers[1].act.kind);
}

/* The 16 lanes lo[0..7], hi[0..7] added pairwise: l + 8, then l + 4, l + 2, l + 1. */
/* (vectors by pointer: a vector argument would change the ABI without AVX, -Wpsabi) */
#define tree16(lo, hi) tree16p(&(lo), &(hi))
static inline __attribute__((always_inline)) float tree16p(const v8 *lo, const v8 *hi)
{
    const v8 s = *lo + *hi;
    const float q0 = s[0] + s[4], q1 = s[1] + s[5], q2 = s[2] + s[6], q3 = s[3] + s[7];
    return (q0 + q2) + (q1 + q3);
}

/* The 16 partial sums acc[0..15] added pairwise (l + 8, l + 4, l + 2, l + 1). */
static inline __attribute__((always_inline)) float lanes_total(const float *acc)
{
    const v8 lo = ld8(acc), hi = ld8(acc + 8);
    return tree16(lo, hi);
}

/* acc[l] += Σ_{i ≡ l mod 16} a[i]·b[i] (b NULL: a[i]); n is a multiple of LANES or the block tail. */
static inline __attribute__((always_inline)) void lanes_dot(float *restrict acc, const float *restrict a, const float *restrict b, int n)
{
    int i = 0;
    if (b) {
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[i + l] * b[i + l];
        for (; i < n; i++) acc[i - (n / LANES) * LANES] += a[i] * b[i];
    } else {
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += a[i + l];
        for (; i < n; i++) acc[i - (n / LANES) * LANES] += a[i];
    }
}

/* t[i] = x[2i], t[n + i] = x[2i + 1] for i < n: rows of (x, y) pairs de-interleaved eight
 * rows at a time with in-lane shuffles. */
static inline __attribute__((always_inline)) void pairs_transpose(const float *restrict x, int n, float *restrict t)
{
    const int n8 = n / 8 * 8;
    for (int i = 0; i < n8; i += 8) {
        const float *xi = x + 2 * i; /* v = rows i, i+1 | i+4, i+5; u = i+2, i+3 | i+6, i+7 */
        const v8 v = SHUF(ld4(xi), ld4(xi + 8), 0, 1, 2, 3, 4, 5, 6, 7);
        const v8 u = SHUF(ld4(xi + 4), ld4(xi + 12), 0, 1, 2, 3, 4, 5, 6, 7);
        st8(t + i, SHUF(v, u, 0, 2, 8, 10, 4, 6, 12, 14));
        st8(t + n + i, SHUF(v, u, 1, 3, 9, 11, 5, 7, 13, 15));
    }
    for (int i = n8; i < n; i++) {
        t[i] = x[2 * i];
        t[n + i] = x[2 * i + 1];
    }
}

/* Row idx[r] of X (row r when idx is NULL), rows of K floats. */
static inline __attribute__((always_inline)) const float *mlp_row(const float *X, const int *idx, int r, int K)
{
    return X + (size_t)(idx ? idx[r] : r) * (size_t)K;
}

/* t[k·n + i] = x_i[k] for i < n, k < K, where x_i = mlp_row(X, idx, r0 + i, K): 8×8 tiles
 * transposed in registers, the edges one element at a time, contiguous (x, y) pairs with
 * pairs_transpose.  Reading the rows of a shuffled batch where they lie saves the copy into a
 * batch buffer. */
static inline __attribute__((always_inline)) void mlp_transpose(const float *restrict X, const int *idx, int r0,
                                                                int K, int n, float *restrict t)
{
    const int n8 = n / 8 * 8, K8 = K / 8 * 8;
    if (K == 2 && !idx) {
        pairs_transpose(X + (size_t)r0 * 2, n, t);
        return;
    }
    for (int i = 0; i < n8; i += 8) {
        const float *x0 = mlp_row(X, idx, r0 + i, K), *x1 = mlp_row(X, idx, r0 + i + 1, K),
                    *x2 = mlp_row(X, idx, r0 + i + 2, K), *x3 = mlp_row(X, idx, r0 + i + 3, K),
                    *x4 = mlp_row(X, idx, r0 + i + 4, K), *x5 = mlp_row(X, idx, r0 + i + 5, K),
                    *x6 = mlp_row(X, idx, r0 + i + 6, K), *x7 = mlp_row(X, idx, r0 + i + 7, K);
        for (int k = 0; k < K8; k += 8) {
            const v8 r0_ = ld8(x0 + k), r1 = ld8(x1 + k), r2 = ld8(x2 + k), r3 = ld8(x3 + k), r4 = ld8(x4 + k),
                     r5 = ld8(x5 + k), r6 = ld8(x6 + k), r7 = ld8(x7 + k);
            const v8 t0 = SHUF(r0_, r1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = SHUF(r0_, r1, 2, 10, 3, 11, 6, 14, 7, 15);
            const v8 t2 = SHUF(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = SHUF(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
            const v8 t4 = SHUF(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = SHUF(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
            const v8 t6 = SHUF(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = SHUF(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
            const v8 u0 = SHUF(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = SHUF(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
            const v8 u2 = SHUF(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = SHUF(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
            const v8 u4 = SHUF(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = SHUF(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
            const v8 u6 = SHUF(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = SHUF(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
            float *o = t + (size_t)k * (size_t)n + i;
            st8(o, SHUF(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11));
            st8(o + n, SHUF(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11));
            st8(o + 2 * n, SHUF(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11));
            st8(o + 3 * n, SHUF(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11));
            st8(o + 4 * n, SHUF(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15));
            st8(o + 5 * n, SHUF(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15));
            st8(o + 6 * n, SHUF(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15));
            st8(o + 7 * n, SHUF(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15));
        }
        for (int k = K8; k < K; k++) {
            float *o = t + (size_t)k * (size_t)n + i;
            o[0] = x0[k];
            o[1] = x1[k];
            o[2] = x2[k];
            o[3] = x3[k];
            o[4] = x4[k];
            o[5] = x5[k];
            o[6] = x6[k];
            o[7] = x7[k];
        }
    }
    for (int i = n8; i < n; i++) {
        const float *xi = mlp_row(X, idx, r0 + i, K);
        for (int k = 0; k < K; k++) t[(size_t)k * (size_t)n + (size_t)i] = xi[k];
    }
}

/* ReLU hidden layer, linear output: the forward pass of a block, with the operations of the
 * general passes below:
 *   z_j = ((0 + W1[j,0]·x0) + W1[j,1]·x1 + …) + b1[j],  a_j = z_j > 0 ? z_j : 0 (into A),
 *   pz = ((0 + W2[0]·a_0) + W2[1]·a_1 + …) + b2,
 * first every a_j (one unit at a time, its weights in registers: short independent chains),
 * then pz, sixteen rows at a time.  z_j is not kept, and a_j and the mask z_j > 0 are the
 * same for z_j = +0 and −0, so z_j's chain starts at W1[j,0]·x0 instead of 0 + W1[j,0]·x0
 * (the two differ only in the sign of a zero); pz is kept and keeps its 0 +.  Sixteen rows
 * are two eight-float vectors, or one sixteen-float vector when w16: the same operations. */
static inline __attribute__((always_inline)) void relu_net_forward(const float *restrict W1, const float *restrict b1,
                                                                   const float *restrict W2, float b2, int nin, int h,
                                                                   const float *restrict Xt, int nb, float *restrict A,
                                                                   float *restrict pz, const int w16)
{
    const v8 zero = splat8(0.0f);
    const v16 zero16 = splat16(0.0f);
    const int n16 = nb / 16 * 16;
    for (int j = 0; j < h; j++) { /* a_j of sixteen rows at a time, the unit's weights in registers */
        const float *wj = W1 + j * nin;
        float *aj = A + j * nb;
        if (w16) {
            const v16 bj = splat16(b1[j]), w0 = splat16(wj[0]);
            for (int i = 0; i < n16; i += 16) {
                v16 z = w0 * ld16(Xt + i);
                for (int k = 1; k < nin; k++) z += splat16(wj[k]) * ld16(Xt + k * nb + i);
                z += bj;
                st16(aj + i, (v16)((v16i)z & (v16i)(z > zero16)));
            }
            continue;
        }
        const v8 bj = splat8(b1[j]), w0 = splat8(wj[0]);
        for (int i = 0; i < n16; i += 16) {
            v8 z = w0 * ld8(Xt + i), u = w0 * ld8(Xt + i + 8);
            for (int k = 1; k < nin; k++) {
                const v8 w = splat8(wj[k]);
                z += w * ld8(Xt + k * nb + i);
                u += w * ld8(Xt + k * nb + i + 8);
            }
            z += bj;
            u += bj;
            st8(aj + i, (v8)((v8i)z & (v8i)(z > zero)));
            st8(aj + i + 8, (v8)((v8i)u & (v8i)(u > zero)));
        }
    }
    for (int i = 0; i < n16; i += 16) { /* pz of sixteen rows at a time */
        if (w16) {
            v16 p = zero16;
            for (int j = 0; j < h; j++) p += splat16(W2[j]) * ld16(A + j * nb + i);
            st16(pz + i, p + splat16(b2));
            continue;
        }
        v8 p = zero, q = zero;
        for (int j = 0; j < h; j++) {
            const v8 w2 = splat8(W2[j]);
            p += w2 * ld8(A + j * nb + i);
            q += w2 * ld8(A + j * nb + i + 8);
        }
        st8(pz + i, p + splat8(b2));
        st8(pz + i + 8, q + splat8(b2));
    }
    for (int i = n16; i < nb; i++) {
        float p = 0.0f;
        for (int j = 0; j < h; j++) {
            float z = W1[j * nin] * Xt[i];
            for (int k = 1; k < nin; k++) z += W1[j * nin + k] * Xt[k * nb + i];
            z += b1[j];
            const float a = z > 0.0f ? z : 0.0f;
            A[j * nb + i] = a;
            p += W2[j] * a;
        }
        pz[i] = p + b2;
    }
}

/* Its backward pass, one hidden unit at a time so that the unit's 16-lane sums stay in
 * registers over the block (row i into lane i mod 16, as lanes_dot), with a_j from A (a_j > 0
 * exactly where z_j > 0):
 *   gW2[j] += dp·a_j,  d = dp·W2[j] masked by a_j > 0,  gb1[j] += d,  gW1[j,k] += d·x_k,
 * sixteen rows at a time as two eight-float vectors or, when w16, one sixteen-float vector. */
static inline __attribute__((always_inline)) void relu_net_backward(const float *restrict W2, int nin, int h,
                                                                    const float *restrict Xt, const float *restrict A,
                                                                    const float *restrict dp,
                                                                    int nb, float (*restrict gW1)[LANES],
                                                                    float (*restrict gb1)[LANES],
                                                                    float (*restrict gW2)[LANES], const int w16)
{
    const v8 zero = splat8(0.0f);
    const v16 zero16 = splat16(0.0f);
    const int full = nb / LANES * LANES;
    for (int j = 0; j < h; j++) {
        const float *aj = A + j * nb;
        if (w16) {
            const v16 w2 = splat16(W2[j]);
            v16 g1[NF_SMALL_MAX_IN];
            for (int k = 0; k < nin; k++) g1[k] = ld16(gW1[j * nin + k]);
            v16 g2 = ld16(gW2[j]), gb = ld16(gb1[j]);
            for (int i = 0; i < full; i += LANES) {
                const v16 a = ld16(aj + i), p = ld16(dp + i);
                g2 += p * a;
                const v16 d = (v16)((v16i)(p * w2) & (v16i)(a > zero16));
                gb += d;
                for (int k = 0; k < nin; k++) g1[k] += d * ld16(Xt + k * nb + i);
            }
            st16(gW2[j], g2);
            st16(gb1[j], gb);
            for (int k = 0; k < nin; k++) st16(gW1[j * nin + k], g1[k]);
        } else {
            const v8 w2 = splat8(W2[j]);
            v8 g1l[NF_SMALL_MAX_IN], g1h[NF_SMALL_MAX_IN];
            for (int k = 0; k < nin; k++) {
                g1l[k] = ld8(gW1[j * nin + k]);
                g1h[k] = ld8(gW1[j * nin + k] + 8);
            }
            v8 g2l = ld8(gW2[j]), g2h = ld8(gW2[j] + 8), gbl = ld8(gb1[j]), gbh = ld8(gb1[j] + 8);
            for (int i = 0; i < full; i += LANES) {
                const v8 al = ld8(aj + i), ah = ld8(aj + i + 8);
                const v8i ml = (v8i)(al > zero), mh = (v8i)(ah > zero);
                const v8 pl = ld8(dp + i), ph = ld8(dp + i + 8);
                g2l += pl * al;
                g2h += ph * ah;
                const v8 dl = (v8)((v8i)(pl * w2) & ml), dh = (v8)((v8i)(ph * w2) & mh);
                gbl += dl;
                gbh += dh;
                for (int k = 0; k < nin; k++) {
                    g1l[k] += dl * ld8(Xt + k * nb + i);
                    g1h[k] += dh * ld8(Xt + k * nb + i + 8);
                }
            }
            st8(gW2[j], g2l);
            st8(gW2[j] + 8, g2h);
            st8(gb1[j], gbl);
            st8(gb1[j] + 8, gbh);
            for (int k = 0; k < nin; k++) {
                st8(gW1[j * nin + k], g1l[k]);
                st8(gW1[j * nin + k] + 8, g1h[k]);
            }
        }
        for (int i = full; i < nb; i++) { /* the block's tail: lanes 0 .. nb − full − 1 */
            const int l = i - full;
            const float a = aj[i], d = a > 0.0f ? dp[i] * W2[j] : 0.0f;
            gW2[j][l] += dp[i] * a;
            gb1[j][l] += d;
            for (int k = 0; k < nin; k++) gW1[j * nin + k][l] += d * Xt[k * nb + i];
        }
    }
}

/* Compiled for AVX-512, AVX2 and baseline; the C11 default of no FMA contraction keeps the
 * three variants bit-identical. */
NF_CLONES
nf_status nf_model_grad_small(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                              const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    enum { B = NF_SMALL_BLOCK, H = NF_SMALL_MAX_HIDDEN, K = NF_SMALL_MAX_IN };
    const int nin = m->sizes[0], h = m->sizes[1];
    const nf_dense *L1 = &m->layers[0], *L2 = &m->layers[1];
    const int z1 = nf_act_needs_z(L1->act.kind), z2 = nf_act_needs_z(L2->act.kind);
    const int relu_lin = L1->act.kind == NF_ACT_RELU && L2->act.kind == NF_ACT_LINEAR;
    const int w16 = use_w16();
    float Xt[K * B], Z[H * B], A[H * B], D[H * B], pz[B], pa[B], dp[B], Yg[B];
    float gW1[H * K][LANES], gb1[H][LANES], gW2[H][LANES], gb2[LANES];
    memset(gW1, 0, (size_t)(h * nin) * sizeof gW1[0]);
    memset(gb1, 0, (size_t)h * sizeof gb1[0]);
    memset(gW2, 0, (size_t)h * sizeof gW2[0]);
    memset(gb2, 0, sizeof gb2);
    if (!denom) denom = (size_t)batch;
    double total = 0.0;
    for (int r = 0; r < batch; r += B) {
        const int nb = batch - r < B ? batch - r : B;
        const float *y = Y + r;
        if (idx) { /* rows idx[r..r + nb) of X and Y, gathered straight into the block (for
                    * the 2-input rows here, mlp_transpose's 8-row tiles were 8 % slower) */
            for (int i = 0; i < nb; i++) {
                const float *xi = X + (size_t)idx[r + i] * (size_t)nin;
                for (int k = 0; k < nin; k++) Xt[k * nb + i] = xi[k];
                Yg[i] = Y[idx[r + i]];
            }
            y = Yg;
        } else {
            mlp_transpose(X, NULL, r, nin, nb, Xt);
        }
        float *a1 = z1 ? A : Z, *out = z2 ? pa : pz;
        if (relu_lin) {
            if (nin == 2) /* the inner loops unrolled for the commonest shape */
                WIDTH_CALL(relu_net_forward, w16, L1->W, L1->b, L2->W, L2->b[0], 2, h, Xt, nb, A, pz);
            else
                WIDTH_CALL(relu_net_forward, w16, L1->W, L1->b, L2->W, L2->b[0], nin, h, Xt, nb, A, pz);
        } else {
            /* hidden layer: Z[j] = Σ_k W1[j,k]·Xt[k] + b1[j] (rows of length nb) */
            for (int j = 0; j < h; j++) {
                float *zj = Z + j * nb;
                for (int i = 0; i < nb; i++) zj[i] = 0.0f;
                for (int k = 0; k < nin; k++) {
                    const float w = L1->W[j * nin + k], *xk = Xt + k * nb;
                    for (int i = 0; i < nb; i++) zj[i] += w * xk[i];
                }
                const float bj = L1->b[j];
                for (int i = 0; i < nb; i++) zj[i] += bj;
            }
            nf_act_forward(&L1->act, Z, a1, (size_t)h * (size_t)nb);
            /* output: pz = Σ_j W2[j]·A[j] + b2 */
            for (int i = 0; i < nb; i++) pz[i] = 0.0f;
            for (int j = 0; j < h; j++) {
                const float w = L2->W[j], *aj = a1 + j * nb;
                for (int i = 0; i < nb; i++) pz[i] += w * aj[i];
            }
            for (int i = 0; i < nb; i++) pz[i] += L2->b[0];
            nf_act_forward(&L2->act, pz, out, (size_t)nb);
        }
        if (loss->kind == NF_LOSS_MSE) {
            /* as nf_loss_grad, with the squared residuals summed in 16 double lanes (row i into
             * lane i mod 16, lanes added pairwise) */
            const float s2 = 2.0f * (float)(1.0 / (double)denom);
            const float *t = y;
            const v8 s2v = splat8(s2);
            v4d l0 = {0}, l1 = {0}, l2 = {0}, l3 = {0}; /* lanes 0–3, 4–7, 8–11, 12–15 */
            int i = 0;
            if (w16) { /* the same sums as eight-double vectors: lanes 0–7 and 8–15 */
                const v16 s2w = splat16(s2);
                v8d lo = {0}, hi = {0};
                for (; i + LANES <= nb; i += LANES) {
                    const v16 rr = ld16(out + i) - ld16(t + i);
                    st16(dp + i, s2w * rr);
                    const v8d d0 = __builtin_convertvector(LO8(rr), v8d), d1 = __builtin_convertvector(HI8(rr), v8d);
                    lo += d0 * d0;
                    hi += d1 * d1;
                }
                l0 = SHUF(lo, lo, 0, 1, 2, 3);
                l1 = SHUF(lo, lo, 4, 5, 6, 7);
                l2 = SHUF(hi, hi, 0, 1, 2, 3);
                l3 = SHUF(hi, hi, 4, 5, 6, 7);
            }
            for (; i + LANES <= nb; i += LANES) {
                const v8 ra = ld8(out + i) - ld8(t + i), rb = ld8(out + i + 8) - ld8(t + i + 8);
                st8(dp + i, s2v * ra);
                st8(dp + i + 8, s2v * rb);
                const v4d d0 = CVT4D(ra, 0), d1 = CVT4D(ra, 4), d2 = CVT4D(rb, 0), d3 = CVT4D(rb, 4);
                l0 += d0 * d0;
                l1 += d1 * d1;
                l2 += d2 * d2;
                l3 += d3 * d3;
            }
            if (i < nb) { /* the block's tail into lanes 0 .. nb − i − 1; + 0 leaves a lane's
                           * sum (never −0) as it is */
                double tl[LANES] = {0};
                for (int l = 0; i + l < nb; l++) {
                    float res = out[i + l] - t[i + l];
                    dp[i + l] = s2 * res;
                    tl[l] = (double)res * (double)res;
                }
                l0 += ld4d(tl);
                l1 += ld4d(tl + 4);
                l2 += ld4d(tl + 8);
                l3 += ld4d(tl + 12);
            }
            const v4d c = (l0 + l2) + (l1 + l3); /* lanes l + 8, then l + 4 */
            total += ((c[0] + c[2]) + (c[1] + c[3])) / (double)denom;
        } else {
            total += nf_loss_grad(loss, out, y, (size_t)nb, denom, dp);
        }
        /* backward */
        if (relu_lin) { /* the linear output's backward is the identity */
            lanes_dot(gb2, dp, NULL, nb);
            if (nin == 2)
                WIDTH_CALL(relu_net_backward, w16, L2->W, 2, h, Xt, A, dp, nb, gW1, gb1, gW2);
            else
                WIDTH_CALL(relu_net_backward, w16, L2->W, nin, h, Xt, A, dp, nb, gW1, gb1, gW2);
            continue;
        }
        nf_act_backward(&L2->act, pz, out, dp, (size_t)nb);
        lanes_dot(gb2, dp, NULL, nb);
        for (int j = 0; j < h; j++) {
            const float *aj = a1 + j * nb;
            float *dj = D + j * nb;
            lanes_dot(gW2[j], dp, aj, nb);
            const float w = L2->W[j];
            for (int i = 0; i < nb; i++) dj[i] = dp[i] * w;
        }
        nf_act_backward(&L1->act, Z, a1, D, (size_t)h * (size_t)nb);
        for (int j = 0; j < h; j++) {
            const float *dj = D + j * nb;
            lanes_dot(gb1[j], dj, NULL, nb);
            for (int k = 0; k < nin; k++) lanes_dot(gW1[j * nin + k], dj, Xt + k * nb, nb);
        }
    }
    for (int j = 0; j < h; j++) {
        for (int k = 0; k < nin; k++) L1->dW[j * nin + k] = lanes_total(gW1[j * nin + k]);
        L1->db[j] = lanes_total(gb1[j]);
        L2->dW[j] = lanes_total(gW2[j]);
    }
    L2->db[0] = lanes_total(gb2);
    if (loss_out) *loss_out = total;
    return NF_OK;
}

/* ---- any depth, widths up to NF_MLP_MAX_WIDTH ------------------------------------------
 *
 * The same idea for every small MLP: rows in blocks of NF_MLP_BLOCK, each block transposed
 * to [units][rows] (in the model's own Z/A/dA buffers, which are big enough for any block of
 * at most batch rows), so that every loop runs over rows.  Per element the order of every
 * operation is fixed by the source:
 *   z[o][i] = ((W[o,0]·x[0][i] + W[o,1]·x[1][i]) + …) + b[o]      (forward, k in order)
 *   d[k][i] = (W[0,k]·dz[0][i] + W[1,k]·dz[1][i]) + …             (dX, o in order)
 *   dW[o,k] = Σ_blocks tree16(lanes), row i of a block into lane i mod 16, lanes added
 *             pairwise (8, 4, 2, 1), blocks added in order onto 0
 * Register chunks of rows (MLP_CHUNK) only decide which elements are computed together, not
 * the order of operations of any one of them, so the AVX-512, AVX2 and baseline clones give
 * the same bits, and the chunk tail loops compute the same expressions one row at a time. */

enum { MLP_CHUNK = 32, MLP_LANES = 16 };


static int fused_max = NF_MLP_MAX_WIDTH;

int nf_model_set_fused_max(int max_width)
{
    int prev = fused_max;
    fused_max = max_width < 0 ? 0 : (max_width > NF_MLP_MAX_WIDTH ? NF_MLP_MAX_WIDTH : max_width);
    return prev;
}

int nf_model_mlp_small_ok(const nf_model *m)
{
    for (int i = 0; i <= m->n_layers; i++)
        if (m->sizes[i] > fused_max) return 0;
    for (int i = 0; i < m->n_layers; i++)
        if (m->sizes[i] * m->sizes[i + 1] > NF_MLP_MAX_IN_OUT) return 0;
    return m->n_layers >= 1;
}

/* The epilogue of mlp_lin on one output value v at element e of the output block: ReLU
 * (v > 0 ? v : 0, the forward of nf_act_forward) when relu, the ReLU backward
 * (mask[e] > 0 ? v : 0, as nf_act_backward, mask the layer's activations) when mask, else v. */
#define EPI8(v, e)                                                                                 \
    (relu ? (v8)((v8i)(v) & (v8i)((v) > zero8))                                                \
          : mask ? (v8)((v8i)(v) & (v8i)(ld8(mask + (e)) > zero8)) : (v))
#define EPI16(v, e)                                                                                \
    (relu ? (v16)((v16i)(v) & (v16i)((v) > zero16))                                            \
          : mask ? (v16)((v16i)(v) & (v16i)(ld16(mask + (e)) > zero16)) : (v))
#define EPI1(v, e) (relu ? ((v) > 0.0f ? (v) : 0.0f) : mask ? (mask[(e)] > 0.0f ? (v) : 0.0f) : (v))

/* out[r][i] = (Σ_c w[r·rs + c·cs]·in[c][i]) (+ b[r]) for r < R, c < C, i < n, then the
 * epilogue (EPI8); rows of length n.  Chunks of 32 rows as four eight-float vectors, or two
 * sixteen-float ones when w16 (a constant at each call: WIDTH_CALL), the same operations. */
static inline __attribute__((always_inline)) void mlp_lin(const float *restrict w, int rs, int cs,
                                                          const float *restrict b,
                                                          const float *restrict in, int C,
                                                          float *restrict out, int R, int n, int relu,
                                                          const float *restrict mask, const int w16)
{
    const v8 zero8 = splat8(0.0f);
    const v16 zero16 = splat16(0.0f);
    int r = 0;
    /* two outputs at a time share the loads of the inputs (same operations per element) */
    for (; r + 2 <= R && n >= MLP_CHUNK; r += 2) {
        const float *wr = w + (size_t)r * (size_t)rs, *wq = wr + rs;
        float *o = out + (size_t)r * (size_t)n, *p = o + n;
        const size_t eo = (size_t)r * (size_t)n, ep = eo + (size_t)n;
        int i = 0;
        for (; w16 && i + MLP_CHUNK <= n; i += MLP_CHUNK) {
            const v16 w0 = splat16(wr[0]), u0 = splat16(wq[0]);
            const v16 x0 = ld16(in + i), x1 = ld16(in + i + 16);
            v16 a0 = w0 * x0, a1 = w0 * x1, e0 = u0 * x0, e1 = u0 * x1;
            for (int c = 1; c < C; c++) {
                const v16 wc = splat16(wr[(size_t)c * (size_t)cs]), uc = splat16(wq[(size_t)c * (size_t)cs]);
                const float *ic = in + (size_t)c * (size_t)n + i;
                const v16 y0 = ld16(ic), y1 = ld16(ic + 16);
                a0 += wc * y0;
                a1 += wc * y1;
                e0 += uc * y0;
                e1 += uc * y1;
            }
            if (b) {
                const v16 br = splat16(b[r]), bq = splat16(b[r + 1]);
                a0 += br;
                a1 += br;
                e0 += bq;
                e1 += bq;
            }
            st16(o + i, EPI16(a0, eo + i));
            st16(o + i + 16, EPI16(a1, eo + i + 16));
            st16(p + i, EPI16(e0, ep + i));
            st16(p + i + 16, EPI16(e1, ep + i + 16));
        }
        for (; i + MLP_CHUNK <= n; i += MLP_CHUNK) {
            const v8 w0 = splat8(wr[0]), u0 = splat8(wq[0]);
            const v8 x0 = ld8(in + i), x1 = ld8(in + i + 8), x2 = ld8(in + i + 16), x3 = ld8(in + i + 24);
            v8 a0 = w0 * x0, a1 = w0 * x1, a2 = w0 * x2, a3 = w0 * x3;
            v8 e0 = u0 * x0, e1 = u0 * x1, e2 = u0 * x2, e3 = u0 * x3;
            for (int c = 1; c < C; c++) {
                const v8 wc = splat8(wr[(size_t)c * (size_t)cs]), uc = splat8(wq[(size_t)c * (size_t)cs]);
                const float *ic = in + (size_t)c * (size_t)n + i;
                const v8 y0 = ld8(ic), y1 = ld8(ic + 8), y2 = ld8(ic + 16), y3 = ld8(ic + 24);
                a0 += wc * y0;
                a1 += wc * y1;
                a2 += wc * y2;
                a3 += wc * y3;
                e0 += uc * y0;
                e1 += uc * y1;
                e2 += uc * y2;
                e3 += uc * y3;
            }
            if (b) {
                const v8 br = splat8(b[r]), bq = splat8(b[r + 1]);
                a0 += br;
                a1 += br;
                a2 += br;
                a3 += br;
                e0 += bq;
                e1 += bq;
                e2 += bq;
                e3 += bq;
            }
            st8(o + i, EPI8(a0, eo + i));
            st8(o + i + 8, EPI8(a1, eo + i + 8));
            st8(o + i + 16, EPI8(a2, eo + i + 16));
            st8(o + i + 24, EPI8(a3, eo + i + 24));
            st8(p + i, EPI8(e0, ep + i));
            st8(p + i + 8, EPI8(e1, ep + i + 8));
            st8(p + i + 16, EPI8(e2, ep + i + 16));
            st8(p + i + 24, EPI8(e3, ep + i + 24));
        }
        for (; i < n; i++) {
            float a = wr[0] * in[i], e = wq[0] * in[i];
            for (int c = 1; c < C; c++) {
                a += wr[(size_t)c * (size_t)cs] * in[(size_t)c * (size_t)n + i];
                e += wq[(size_t)c * (size_t)cs] * in[(size_t)c * (size_t)n + i];
            }
            if (b) {
                a += b[r];
                e += b[r + 1];
            }
            o[i] = EPI1(a, eo + (size_t)i);
            p[i] = EPI1(e, ep + (size_t)i);
        }
    }
    for (; r < R; r++) {
        const float *wr = w + (size_t)r * (size_t)rs;
        float *o = out + (size_t)r * (size_t)n;
        const size_t eo = (size_t)r * (size_t)n;
        int i = 0;
        for (; w16 && i + MLP_CHUNK <= n; i += MLP_CHUNK) {
            const v16 w0 = splat16(wr[0]);
            v16 a0 = w0 * ld16(in + i), a1 = w0 * ld16(in + i + 16);
            for (int c = 1; c < C; c++) {
                const v16 wc = splat16(wr[(size_t)c * (size_t)cs]);
                const float *ic = in + (size_t)c * (size_t)n + i;
                a0 += wc * ld16(ic);
                a1 += wc * ld16(ic + 16);
            }
            if (b) {
                const v16 br = splat16(b[r]);
                a0 += br;
                a1 += br;
            }
            st16(o + i, EPI16(a0, eo + i));
            st16(o + i + 16, EPI16(a1, eo + i + 16));
        }
        for (; i + MLP_CHUNK <= n; i += MLP_CHUNK) {
            const v8 w0 = splat8(wr[0]);
            v8 a0 = w0 * ld8(in + i), a1 = w0 * ld8(in + i + 8), a2 = w0 * ld8(in + i + 16),
               a3 = w0 * ld8(in + i + 24);
            for (int c = 1; c < C; c++) {
                const v8 wc = splat8(wr[(size_t)c * (size_t)cs]);
                const float *ic = in + (size_t)c * (size_t)n + i;
                a0 += wc * ld8(ic);
                a1 += wc * ld8(ic + 8);
                a2 += wc * ld8(ic + 16);
                a3 += wc * ld8(ic + 24);
            }
            if (b) {
                const v8 br = splat8(b[r]);
                a0 += br;
                a1 += br;
                a2 += br;
                a3 += br;
            }
            st8(o + i, EPI8(a0, eo + i));
            st8(o + i + 8, EPI8(a1, eo + i + 8));
            st8(o + i + 16, EPI8(a2, eo + i + 16));
            st8(o + i + 24, EPI8(a3, eo + i + 24));
        }
        for (; i < n; i++) {
            float a = wr[0] * in[i];
            for (int c = 1; c < C; c++) a += wr[(size_t)c * (size_t)cs] * in[(size_t)c * (size_t)n + i];
            if (b) a += b[r];
            o[i] = EPI1(a, eo + (size_t)i);
        }
    }
}

/* Rows i0.. of a and b (n − i0 < 16 of them) into lanes 0.. of two vectors, zeros after. */
static inline __attribute__((always_inline)) void tail16(const float *a, int m, v8 *restrict lo, v8 *restrict hi)
{
    float t[MLP_LANES] = {0};
    memcpy(t, a, (size_t)m * sizeof(float));
    *lo = ld8(t);
    *hi = ld8(t + 8);
}

/* Rows a[0 .. m) (m < 16) into lanes 0.. of a vector, zeros after. */
static inline __attribute__((always_inline)) void tail16v(const float *a, int m, v16 *restrict v)
{
    float t[MLP_LANES] = {0};
    memcpy(t, a, (size_t)m * sizeof(float));
    *v = ld16(t);
}

/* The trees below add the lanes of several 8-lane vectors at once, each vector's lanes in the
 * order of tree8 (l + 4, then l + 2, then l + 1), with shuffles that stay within 128-bit
 * halves except the first (which pairs the halves): pairing a with b, then c with d, …
 *   P(a, b) = [a0+a4, a1+a5, a2+a6, a3+a7 | b0+b4, …]                     (halves swapped)
 *   Q(P, R) = [P0+P2, P1+P3, R0+R2, R1+R3 | P4+P6, P5+P7, R4+R6, R5+R7]   (in-lane shufps)
 *   T(Q, S) = [Q0+Q1, Q2+Q3, S0+S1, S2+S3 | Q4+Q5, Q6+Q7, S4+S5, S6+S7]
 * so every lane of T is ((x0+x4)+(x2+x6))+((x1+x5)+(x3+x7)) of one input vector x. */
#define TREE_P(a, b) (SHUF(a, b, 0, 1, 2, 3, 8, 9, 10, 11) + SHUF(a, b, 4, 5, 6, 7, 12, 13, 14, 15))
#define TREE_Q(p, r) (SHUF(p, r, 0, 1, 8, 9, 4, 5, 12, 13) + SHUF(p, r, 2, 3, 10, 11, 6, 7, 14, 15))
#define TREE_T(q, s) (SHUF(q, s, 0, 2, 8, 10, 4, 6, 12, 14) + SHUF(q, s, 1, 3, 9, 11, 5, 7, 13, 15))

/* tree8 of four vectors: lanes 0, 1, 4, 5 of out are tree8(s0), tree8(s1), tree8(s2),
 * tree8(s3). */
#define tree8x4(s0, s1, s2, s3, out)                                                             \
    do {                                                                                      \
        const v8 q_ = TREE_Q(TREE_P(s0, s2), TREE_P(s1, s3));                                  \
        (out) = TREE_T(q_, q_);                                                                \
    } while (0)

/* g[0..3] += tree8 of q[0..3] */
static inline __attribute__((always_inline)) void add_tree8x4(float *restrict g, const v8 *q)
{
    v8 t;
    tree8x4(q[0], q[1], q[2], q[3], t);
    g[0] += t[0];
    g[1] += t[1];
    g[2] += t[4];
    g[3] += t[5];
}

/* The 8-lane partial sums (lanes l and l + 8 added) of d·in[c] for four columns c of in
 * (rows of length n): full rows in order, then the block's tail of m rows (dl, dh).  The four
 * columns are written out: as arrays indexed in loops GCC keeps the sums in memory, and the
 * 20→20→1 step took twice as long. */
static inline __attribute__((always_inline)) void mlp_grad4(const float *restrict dr, const float *restrict i0,
                                                            int n, int full, int m, const v8 *dl,
                                                            const v8 *dh, v8 *restrict q)
{
    const float *i1 = i0 + n, *i2 = i1 + n, *i3 = i2 + n;
    v8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0 = {0}, c1 = {0}, e0 = {0}, e1 = {0};
    for (int i = 0; i < full; i += MLP_LANES) {
        const v8 x0 = ld8(dr + i), x1 = ld8(dr + i + 8);
        a0 += x0 * ld8(i0 + i);
        a1 += x1 * ld8(i0 + i + 8);
        b0 += x0 * ld8(i1 + i);
        b1 += x1 * ld8(i1 + i + 8);
        c0 += x0 * ld8(i2 + i);
        c1 += x1 * ld8(i2 + i + 8);
        e0 += x0 * ld8(i3 + i);
        e1 += x1 * ld8(i3 + i + 8);
    }
    if (m) {
        v8 l, h;
        tail16(i0 + full, m, &l, &h);
        a0 += *dl * l;
        a1 += *dh * h;
        tail16(i1 + full, m, &l, &h);
        b0 += *dl * l;
        b1 += *dh * h;
        tail16(i2 + full, m, &l, &h);
        c0 += *dl * l;
        c1 += *dh * h;
        tail16(i3 + full, m, &l, &h);
        e0 += *dl * l;
        e1 += *dh * h;
    }
    q[0] = a0 + a1;
    q[1] = b0 + b1;
    q[2] = c0 + c1;
    q[3] = e0 + e1;
}

/* mlp_grad4 with sixteen-float vectors. */
static inline __attribute__((always_inline)) void mlp_grad4_16(const float *restrict dr, const float *restrict i0,
                                                            int n, int full, int m, const v16 *dt,
                                                            v8 *restrict q)
{
    const float *i1 = i0 + n, *i2 = i1 + n, *i3 = i2 + n;
    v16 a = {0}, b = {0}, c = {0}, e = {0};
    for (int i = 0; i < full; i += MLP_LANES) {
        const v16 x = ld16(dr + i);
        a += x * ld16(i0 + i);
        b += x * ld16(i1 + i);
        c += x * ld16(i2 + i);
        e += x * ld16(i3 + i);
    }
    if (m) {
        v16 t;
        tail16v(i0 + full, m, &t);
        a += *dt * t;
        tail16v(i1 + full, m, &t);
        b += *dt * t;
        tail16v(i2 + full, m, &t);
        c += *dt * t;
        tail16v(i3 + full, m, &t);
        e += *dt * t;
    }
    q[0] = LO8(a) + HI8(a);
    q[1] = LO8(b) + HI8(b);
    q[2] = LO8(c) + HI8(c);
    q[3] = LO8(e) + HI8(e);
}

/* tree8 of eight vectors: lane j of out is tree8(q[j]). */
#define tree8x8(q, out)                                                                           \
    do {                                                                                      \
        const v8 q0_ = TREE_Q(TREE_P(q[0], q[4]), TREE_P(q[1], q[5]));                         \
        const v8 q1_ = TREE_Q(TREE_P(q[2], q[6]), TREE_P(q[3], q[7]));                         \
        (out) = TREE_T(q0_, q1_);                                                              \
    } while (0)

/* dW[r·C + c] += tree16 over rows of d[r][·]·in[c][·] (row i into lane i mod 16), and
 * db[r] += tree16 of d[r][·]; with sixteen-float vectors when w16 (a constant: WIDTH_CALL). */
static inline __attribute__((always_inline)) void mlp_grad(const float *restrict d, const float *restrict in,
                                                           int C, int R, int n, float *restrict dW,
                                                           float *restrict db, const int w16)
{
    const int full = n / MLP_LANES * MLP_LANES, m = n - full;
    for (int r = 0; r < R; r++) {
        const float *dr = d + (size_t)r * (size_t)n;
        float *g = dW + (size_t)r * (size_t)C;
        v8 dl = {0}, dh = {0};
        v16 dt = splat16(0.0f);
        if (w16) {
            if (m) tail16v(dr + full, m, &dt);
            v16 s = dt;
            for (int i = 0; i < full; i += MLP_LANES) s += ld16(dr + i);
            const v8 s0 = LO8(s), s1 = HI8(s);
            db[r] += tree16(s0, s1);
        } else {
            if (m) tail16(dr + full, m, &dl, &dh);
            v8 s0 = dl, s1 = dh;
            for (int i = 0; i < full; i += MLP_LANES) {
                s0 += ld8(dr + i);
                s1 += ld8(dr + i + 8);
            }
            db[r] += tree16(s0, s1);
        }
        int c = 0;
        for (; c + 8 <= C; c += 8) { /* eight columns: one tree of eight vectors, one vector add */
            v8 q[8];
            if (w16) {
                mlp_grad4_16(dr, in + (size_t)c * (size_t)n, n, full, m, &dt, q);
                mlp_grad4_16(dr, in + (size_t)(c + 4) * (size_t)n, n, full, m, &dt, q + 4);
            } else {
                mlp_grad4(dr, in + (size_t)c * (size_t)n, n, full, m, &dl, &dh, q);
                mlp_grad4(dr, in + (size_t)(c + 4) * (size_t)n, n, full, m, &dl, &dh, q + 4);
            }
            v8 t;
            tree8x8(q, t);
            st8(g + c, ld8(g + c) + t);
        }
        for (; c + 4 <= C; c += 4) {
            v8 q[4];
            if (w16)
                mlp_grad4_16(dr, in + (size_t)c * (size_t)n, n, full, m, &dt, q);
            else
                mlp_grad4(dr, in + (size_t)c * (size_t)n, n, full, m, &dl, &dh, q);
            add_tree8x4(g + c, q);
        }
        for (; c < C; c++) {
            const float *i0 = in + (size_t)c * (size_t)n;
            v8 a0 = {0}, a1 = {0};
            if (w16) {
                v16 a = {0};
                for (int i = 0; i < full; i += MLP_LANES) a += ld16(dr + i) * ld16(i0 + i);
                if (m) {
                    v16 t;
                    tail16v(i0 + full, m, &t);
                    a += dt * t;
                }
                a0 = LO8(a);
                a1 = HI8(a);
            } else {
                for (int i = 0; i < full; i += MLP_LANES) {
                    a0 += ld8(dr + i) * ld8(i0 + i);
                    a1 += ld8(dr + i + 8) * ld8(i0 + i + 8);
                }
                if (m) {
                    v8 l0, h0;
                    tail16(i0 + full, m, &l0, &h0);
                    a0 += dl * l0;
                    a1 += dh * h0;
                }
            }
            g[c] += tree16(a0, a1);
        }
    }
}

static void mlp_act_forward(const nf_dense *L, float *Z, float *A, int n)
{
    if (L->act_p && nf_act_learnable(L->act.kind)) {
        for (int o = 0; o < L->out; o++)
            nf_act_unit_forward(L->act.kind, Z + (size_t)o * (size_t)n, NULL, L->act_p + o, n, 1,
                                A + (size_t)o * (size_t)n);
    } else {
        nf_act_forward(&L->act, Z, A, (size_t)L->out * (size_t)n);
    }
}

static void mlp_act_backward(const nf_dense *L, const float *Z, const float *A, float *D, int n, int acc)
{
    if (L->act_p && nf_act_learnable(L->act.kind)) {
        for (int o = 0; o < L->out; o++) {
            const size_t off = (size_t)o * (size_t)n;
            nf_act_unit_backward(L->act.kind, Z + off, A + off, L->act_p + o, D + off, n, 1,
                                 L->act_dp ? L->act_dp + o : NULL, acc);
        }
    } else {
        nf_act_backward(&L->act, Z, A, D, (size_t)L->out * (size_t)n);
    }
}

/* The forward pass of a block of n rows, Xt transposed: every layer's A[l] (and Z[l] where
 * the activation is not ReLU) as [units][n]; ReLU runs in mlp_lin's epilogue, on z before it
 * is stored into A, which is all its backward reads.  Returns the output block. */
static inline __attribute__((always_inline)) const float *mlp_forward(nf_model *m, const float *Xt, int n, int w16)
{
    const float *in = Xt;
    for (int l = 0; l < m->n_layers; l++) {
        const nf_dense *L = &m->layers[l];
        const int relu = L->act.kind == NF_ACT_RELU;
        WIDTH_CALL(mlp_lin, w16, L->W, L->in, 1, L->b, in, L->in, relu ? m->A[l] : m->Z[l], L->out, n, relu, NULL);
        if (!relu) mlp_act_forward(L, m->Z[l], m->A[l], n);
        in = m->A[l];
    }
    return in;
}

NF_CLONES
nf_status nf_model_grad_mlp_small(nf_model *m, const float *X, const float *Y, const int *idx, int batch,
                                  const nf_loss_spec *loss, size_t denom, double *loss_out)
{
    enum { B = NF_MLP_BLOCK, W = NF_MLP_MAX_WIDTH };
    const int nl = m->n_layers, nin = m->sizes[0], nout = m->sizes[nl], w16 = use_w16();
    float Xt[W * B], Yt[W * B];
    for (int i = 0; i < nl; i++) {
        nf_dense *L = &m->layers[i];
        memset(L->dW, 0, (size_t)L->in * (size_t)L->out * sizeof(float));
        memset(L->db, 0, (size_t)L->out * sizeof(float));
    }
    if (!denom) denom = (size_t)batch * (size_t)nout;
    double total = 0.0;
    for (int r = 0; r < batch; r += B) {
        const int n = batch - r < B ? batch - r : B;
        mlp_transpose(X, idx, r, nin, n, Xt);
        if (nout == 1 && !idx)
            memcpy(Yt, Y + r, (size_t)n * sizeof(float));
        else if (nout == 1)
            for (int i = 0; i < n; i++) Yt[i] = Y[idx[r + i]];
        else
            mlp_transpose(Y, idx, r, nout, n, Yt);
        /* ReLU's backward runs as the mask on the d of the layer below (mlp_lin's epilogue) */
        mlp_forward(m, Xt, n, w16);
        int cur = 0, masked = 0; /* masked: D already holds the ReLU backward of layer l */
        float *D = m->dbuf[0];
        total += nf_loss_grad(loss, m->A[nl - 1], Yt, (size_t)nout * (size_t)n, denom, D);
        for (int l = nl - 1; l >= 0; l--) {
            const nf_dense *L = &m->layers[l];
            if (!masked) mlp_act_backward(L, m->Z[l], m->A[l], D, n, r > 0);
            const float *inp = l ? m->A[l - 1] : Xt;
            WIDTH_CALL(mlp_grad, w16, D, inp, L->in, L->out, n, L->dW, L->db);
            if (l) {
                float *Dn = m->dbuf[cur ^ 1];
                masked = m->layers[l - 1].act.kind == NF_ACT_RELU;
                WIDTH_CALL(mlp_lin, w16, L->W, 1, L->in, NULL, D, L->out, Dn, L->in, n, 0, masked ? m->A[l - 1] : NULL);
                cur ^= 1;
                D = Dn;
            }
        }
    }
    if (loss_out) *loss_out = total;
    return NF_OK;
}

NF_CLONES
void nf_model_forward_mlp_small(nf_model *m, const float *X, int n, float *out)
{
    enum { W = NF_MLP_MAX_WIDTH };
    const int nl = m->n_layers, nin = m->sizes[0], nout = m->sizes[nl], w16 = use_w16();
    const int B = m->batch_cap < NF_MLP_BLOCK ? m->batch_cap : NF_MLP_BLOCK; /* rows the workspace holds */
    float Xt[W * NF_MLP_BLOCK];
    for (int r = 0; r < n; r += B) {
        const int b = n - r < B ? n - r : B;
        mlp_transpose(X, NULL, r, nin, b, Xt);
        const float *in = mlp_forward(m, Xt, b, w16);
        float *o = out + (size_t)r * (size_t)nout;
        if (nout == 1)
            memcpy(o, in, (size_t)b * sizeof(float));
        else
            for (int i = 0; i < b; i++)
                for (int k = 0; k < nout; k++) o[(size_t)i * (size_t)nout + (size_t)k] = in[(size_t)k * (size_t)b + (size_t)i];
    }
}
