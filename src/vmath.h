/* vmath.h — branch-free single-precision exp, expm1 and log1p that GCC vectorises.
 *
 * libm's expm1f/log1pf/tanhf are scalar calls; in the activation loops (ELU, SELU, softplus,
 * sigmoid, swish, tanh, GELU) they dominated a tiny net's training step (ELU/softplus trials
 * ran 10–30× slower than ReLU).  These
 * versions use only +, −, ×, ÷, comparisons/selects and integer bit operations, so every loop
 * that calls them vectorises, and — with FMA contraction off (C11) — every lane computes
 * exactly what the scalar code computes: results do not depend on vector width.
 *
 * Accuracy (tests/test_act_loss.c checks it against libm over a dense grid): exp and expm1
 * within 2 ulp, log1p within 2 ulp.  Inputs are clamped to [-87.3, 88]: exp returns
 * ≈ 1.5e-38 below (never subnormal, never 0) and ≈ 1.65e38 above (never inf); NaN in gives an
 * unspecified finite value or NaN. */
#ifndef NNFIT_VMATH_H
#define NNFIT_VMATH_H

#include <stdint.h>

#define NF_VEXP_LO (-87.3f)
#define NF_VEXP_HI 88.0f

static inline float nf_bits_f(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } c = {.u = u};
    return c.f;
}

static inline uint32_t nf_f_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } c = {.f = f};
    return c.u;
}

/* x = n·ln2 + r, |r| <= ln2/2 (Cody–Waite); returns expm1(r) by its Taylor polynomial
 * (degree 7; truncation error < 0.3 ulp) and sets *scale = 2^n. */
static inline float nf_vexp_reduce(float x, float *scale)
{
    x = x < NF_VEXP_LO ? NF_VEXP_LO : x;
    x = x > NF_VEXP_HI ? NF_VEXP_HI : x;
    const float shift = 12582912.0f; /* 1.5·2^23: adding it rounds to an integer */
    float n = (x * 1.44269504088896341f + shift) - shift;
    float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    int32_t ni = (int32_t)n;
    *scale = nf_bits_f((uint32_t)(ni + 127) << 23);
    float p = 1.98412698e-4f; /* 1/5040 */
    p = p * r + 1.38888889e-3f;
    p = p * r + 8.33333333e-3f;
    p = p * r + 4.16666667e-2f;
    p = p * r + 1.66666667e-1f;
    p = p * r + 0.5f;
    return r + (r * r) * p;
}

static inline float nf_vexpf(float x)
{
    float s, p = nf_vexp_reduce(x, &s);
    return s + s * p;
}

/* expm1(x) = 2^n·expm1(r) + (2^n − 1): no cancellation for small x (n = 0). */
static inline float nf_vexpm1f(float x)
{
    float s, p = nf_vexp_reduce(x, &s);
    return s * p + (s - 1.0f);
}

/* log1p(x) for x > -1 (musl's log1pf, branch-free): u = 1 + x = 2^k·m with m in [√½, √2),
 * log(m) by the atanh series in s = f/(2+f), plus the rounding error of u as c/u. */
static inline float nf_vlog1pf(float x)
{
    float u = 1.0f + x;
    uint32_t iu = nf_f_bits(u) + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(iu >> 23) - 0x7f;
    float f = nf_bits_f((iu & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float c = k >= 2 ? 1.0f - (u - x) : x - (u - 1.0f);
    c = k < 25 ? c / u : 0.0f;
    float s = f / (2.0f + f), z = s * s, w = z * z;
    float t1 = w * (0.40000972152f + w * 0.24279078841f);
    float t2 = z * (0.66666662693f + w * 0.28498786688f);
    float hfsq = 0.5f * f * f, fk = (float)k;
    return s * (hfsq + t2 + t1) + (fk * 9.0580006145e-06f + c) - hfsq + f + fk * 6.9313812256e-01f;
}

/* log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|). */
static inline float nf_vsoftplusf(float x)
{
    float ax = x < 0.0f ? -x : x;
    return (x > 0.0f ? x : 0.0f) + nf_vlog1pf(nf_vexpf(-ax));
}

static inline float nf_vsigmoidf(float x) { return 1.0f / (1.0f + nf_vexpf(-x)); }

/* tanh(x) = sign(x)·e/(e + 2) with e = expm1(2|x|): relative accuracy near 0 from expm1. */
static inline float nf_vtanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float e = nf_vexpm1f(2.0f * ax);
    float t = e / (e + 2.0f);
    return x < 0.0f ? -t : t;
}

#endif
