/* optim_kernels.c — the first-order update kernels: one step over flat buffers, state owned by
 * the caller, hyperparameters as explicit arguments (as KANN's kann_RMSprop and llm.c's
 * gpt2_update).  optim.c's descriptors call them.
 *
 * Every PyTorch update below is transcribed from torch/optim/<name>.py of PyTorch 1.13, the
 * `_single_tensor_<name>` function, in the same order of float operations where it matters
 * (state tensors are float32 there as here; Python scalars are doubles, so constants are formed
 * in double and rounded to float once).  Flags that select a formula are passed on as constants
 * to small inline loops, so each combination compiles to its own branch-free, vectorisable
 * loop. */
#include <math.h>
#include <stddef.h>

#include "optim_internal.h"
#include "simd.h"

/* Keras 3 applies weight decay decoupled, before the update: p −= lr·wd·p. */
static void keras_decay(size_t n, float *restrict p, double lr, double weight_decay)
{
    const float f = (float)(lr * weight_decay);
    if (f == 0.0f) return;
    for (size_t i = 0; i < n; i++) p[i] -= p[i] * f;
}

/* torch.optim.SGD (PyTorch 1.13, _single_tensor_sgd):
 *   g += wd·p;  b = g (first step) or μ·b + (1−dampening)·g;  g = nesterov ? g + μ·b : b;
 *   p −= lr·g
 * keras.optimizers.SGD (Keras 3): v = μ·v − lr·g;  p += nesterov ? μ·v − lr·g : v */
void nf_sgd_update(size_t n, float *restrict p, const float *restrict g, float *restrict buf,
                   double lr_, double momentum, double dampening, double weight_decay,
                   int nesterov, long t, int keras)
{
    const float lr = (float)lr_, wd = (float)weight_decay, mu = (float)momentum;
    const float damp = (float)(1.0 - dampening);
    if (keras) {
        keras_decay(n, p, lr_, weight_decay);
        if (mu == 0.0f) {
            for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
            return;
        }
        for (size_t i = 0; i < n; i++) {
            buf[i] = mu * buf[i] - lr * g[i];
            p[i] += nesterov ? mu * buf[i] - lr * g[i] : buf[i];
        }
        return;
    }
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
    const int first = t == 1;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        float bi = first ? d : mu * buf[i] + damp * d;
        buf[i] = bi;
        p[i] -= lr * (nesterov ? d + mu * bi : bi);
    }
}

static inline void adam_loop(size_t n, float *restrict p, const float *restrict g,
                             float *restrict m, float *restrict v, float *restrict vmax, float b1,
                             float omb1, float b2, float omb2, float wd, float eps, float step_size,
                             float bc2_sqrt, const int keras, const int amsgrad)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float vv = v[i];
        if (amsgrad) {
            vmax[i] = vmax[i] > vv ? vmax[i] : vv;
            vv = vmax[i];
        }
        float denom = keras ? sqrtf(vv) + eps : sqrtf(vv) / bc2_sqrt + eps;
        p[i] += -step_size * m[i] / denom;
    }
}

/* 1 − βᵗ (bias correction) for 0 ≤ β < 1.  Once (1 − β)·t ≥ 44, βᵗ ≤ e^−(1−β)t < 2⁻⁶³, and
 * 1 − x rounds to 1 for any x ≤ 2⁻⁵⁴, so pow (accurate to an ulp) would give exactly 1: the
 * same value without the call (Adam's β1 = 0.9 from step 440 on). */
static double one_minus_pow(double beta, double t)
{
    return (1.0 - beta) * t >= 44.0 ? 1.0 : 1.0 - pow(beta, t);
}

/* torch.optim.Adam / AdamW (PyTorch 1.13, _single_tensor_adam / _single_tensor_adamw):
 *   adam: g += wd·p;   adamw: p *= 1 − lr·wd
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  [v̂max = max(v̂max, v)]
 *   p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)
 * Keras 3 Adam ("epsilon hat", Kingma & Ba §2 end): p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + eps),
 * weight decay decoupled. */
NF_CLONES void nf_adam_update(size_t n, float *restrict p, const float *restrict g,
                              float *restrict m, float *restrict v, float *restrict vmax,
                              double lr, double beta1, double beta2, double eps_,
                              double weight_decay, long t_, int decoupled, int keras, int amsgrad)
{
    const double t = (double)t_;
    const float b1 = (float)beta1, b2 = (float)beta2, eps = (float)eps_;
    const float omb1 = (float)(1.0 - beta1), omb2 = (float)(1.0 - beta2);
    const float wd = decoupled ? 0.0f : (float)weight_decay;
    if (decoupled && weight_decay != 0.0) {
        const float f = (float)(1.0 - lr * weight_decay);
        for (size_t i = 0; i < n; i++) p[i] *= f;
    }
    const double bc1 = one_minus_pow(beta1, t), bc2 = one_minus_pow(beta2, t);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    if (keras) {
        step_size = (float)(lr * sqrt(bc2) / bc1);
        bc2_sqrt = 1.0f;
    }
    /* constant flags, so each call below compiles to its own branch-free loop */
    if (keras && amsgrad)
        adam_loop(n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 1, 1);
    else if (keras)
        adam_loop(n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 1, 0);
    else if (amsgrad)
        adam_loop(n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 0, 1);
    else
        adam_loop(n, p, g, m, v, vmax, b1, omb1, b2, omb2, wd, eps, step_size, bc2_sqrt, 0, 0);
}

/* torch.optim.RMSprop (PyTorch 1.13, _single_tensor_rmsprop):
 *   g += wd·p;  s = α·s + (1−α)·g²;  centered: ḡ = α·ḡ + (1−α)·g, avg = √(s − ḡ²) else √s;
 *   avg += eps;  momentum: b = μ·b + g/avg, p −= lr·b;  else p −= lr·g/avg
 * Keras 3 RMSprop: avg = √(s [− ḡ²] + eps) (eps inside the root); momentum b = μ·b + lr·g/avg,
 * p −= b; weight decay decoupled. */
static inline void rmsprop_loop(size_t n, float *restrict p, const float *restrict g,
                                float *restrict s, float *restrict ga, float *restrict b, float a,
                                float oma, float eps, float lr, float mu, float wd,
                                const int keras, const int centered, const int use_mu)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * a + gi * gi * oma;
        float d = s[i];
        if (centered) {
            ga[i] = ga[i] * a + gi * oma;
            d = s[i] - ga[i] * ga[i];
        }
        float avg = keras ? sqrtf(d + eps) : sqrtf(d) + eps;
        if (use_mu) {
            b[i] = keras ? b[i] * mu + lr * gi / avg : b[i] * mu + gi / avg;
            p[i] += keras ? -b[i] : -lr * b[i];
        } else {
            p[i] += -lr * gi / avg;
        }
    }
}

void nf_rmsprop_update(size_t n, float *restrict p, const float *restrict g, float *restrict s,
                       float *restrict ga, float *restrict b, double lr_, double alpha,
                       double eps_, double weight_decay, double momentum, int centered,
                       int keras)
{
    const float a = (float)alpha, oma = (float)(1.0 - alpha), eps = (float)eps_;
    const float lr = (float)lr_, mu = (float)momentum;
    const int cen = centered != 0, use_mu = mu > 0.0f;
    keras = keras != 0;
    const float wd = keras ? 0.0f : (float)weight_decay;
    if (keras) keras_decay(n, p, lr_, weight_decay);
    /* constant flags: one branch-free loop per combination */
#define RMS(K, C, M) rmsprop_loop(n, p, g, s, ga, b, a, oma, eps, lr, mu, wd, K, C, M)
    switch (keras * 4 + cen * 2 + use_mu) {
    case 0: RMS(0, 0, 0); break;
    case 1: RMS(0, 0, 1); break;
    case 2: RMS(0, 1, 0); break;
    case 3: RMS(0, 1, 1); break;
    case 4: RMS(1, 0, 0); break;
    case 5: RMS(1, 0, 1); break;
    case 6: RMS(1, 1, 0); break;
    default: RMS(1, 1, 1); break;
    }
#undef RMS
}

/* torch.optim.Adagrad (PyTorch 1.13, _single_tensor_adagrad):
 *   g += wd·p;  clr = lr / (1 + (t−1)·lr_decay);  s += g²;  p −= clr·g / (√s + eps)
 * Keras 3 Adagrad: s starts at initial_accumulator_value (0.1), p −= lr·g / √(s + eps). */
void nf_adagrad_update(size_t n, float *restrict p, const float *restrict g, float *restrict sum,
                       double lr, double lr_decay, double weight_decay, double eps_, long t,
                       int keras)
{
    const float wd = keras ? 0.0f : (float)weight_decay, eps = (float)eps_;
    if (keras) keras_decay(n, p, lr, weight_decay);
    const float clr = (float)(lr / (1.0 + (double)(t - 1) * lr_decay));
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        sum[i] += gi * gi;
        float std = keras ? sqrtf(sum[i] + eps) : sqrtf(sum[i]) + eps;
        p[i] += -clr * gi / std;
    }
}

/* torch.optim.Adadelta (PyTorch 1.13, _single_tensor_adadelta):
 *   g += wd·p;  s = ρ·s + (1−ρ)·g²;  δ = √(a + eps) / √(s + eps) · g;  a = ρ·a + (1−ρ)·δ²;
 *   p −= lr·δ */
void nf_adadelta_update(size_t n, float *restrict p, const float *restrict g, float *restrict s,
                        float *restrict acc, double lr_, double rho_, double eps_,
                        double weight_decay)
{
    const float rho = (float)rho_, omr = (float)(1.0 - rho_), eps = (float)eps_;
    const float lr = (float)lr_, wd = (float)weight_decay;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * rho + gi * gi * omr;
        float std = sqrtf(s[i] + eps);
        float delta = sqrtf(acc[i] + eps) / std * gi;
        acc[i] = acc[i] * rho + delta * delta * omr;
        p[i] += -lr * delta;
    }
}

/* torch.optim.Adamax (PyTorch 1.13, _single_tensor_adamax):
 *   g += wd·p;  m = β1·m + (1−β1)·g;  u = max(β2·u, |g| + eps);  p −= lr/(1−β1ᵗ) · m/u
 * Keras 3 Adamax (Kingma & Ba §7.1): u = max(β2·u, |g|);  p −= lr/(1−β1ᵗ) · m/(u + eps). */
void nf_adamax_update(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                      float *restrict u, double lr, double beta1, double beta2, double eps_,
                      double weight_decay, long t, int keras)
{
    const float b1 = (float)beta1, omb1 = (float)(1.0 - beta1), b2 = (float)beta2;
    const float eps = (float)eps_, wd = keras ? 0.0f : (float)weight_decay;
    if (keras) keras_decay(n, p, lr, weight_decay);
    const float clr = (float)(lr / one_minus_pow(beta1, (double)t));
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        float a = u[i] * b2, bb = keras ? fabsf(gi) : fabsf(gi) + eps;
        u[i] = a > bb ? a : bb;
        p[i] += -clr * m[i] / (keras ? u[i] + eps : u[i]);
    }
}

/* torch.optim.NAdam (PyTorch 1.13, _single_tensor_nadam):
 *   g += wd·p;  μt = β1(1 − ½·0.96^(t·ψ)), μt+1 likewise;  Πμ *= μt (a float32 scalar);
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  d = √(v/(1−β2ᵗ)) + eps;
 *   p −= lr(1−μt)/(1−Πμ) · g/d;  p −= lr·μt+1/(1−Πμ·μt+1) · m/d */
void nf_nadam_update(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, float *mu_product, double lr, double beta1, double beta2,
                     double eps_, double weight_decay, double momentum_decay, long t_)
{
    const double t = (double)t_;
    const double bc2 = one_minus_pow(beta2, t);
    const double mu = beta1 * (1.0 - 0.5 * pow(0.96, t * momentum_decay));
    const double mu_next = beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * momentum_decay));
    *mu_product = (float)(*mu_product * mu);
    const float prod_next = (float)((float)(*mu_product * mu) * mu_next);
    const float c1 = (float)(-lr * (1.0 - mu) / (1.0 - (double)*mu_product));
    const float c2 = (float)(-lr * mu_next / (1.0 - (double)prod_next));
    const float b1 = (float)beta1, omb1 = (float)(1.0 - beta1), b2 = (float)beta2;
    const float omb2 = (float)(1.0 - beta2), eps = (float)eps_, wd = (float)weight_decay;
    const float fbc2 = (float)bc2;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float d = sqrtf(v[i] / fbc2) + eps;
        p[i] += c1 * gi / d;
        p[i] += c2 * m[i] / d;
    }
}

/* torch.optim.RAdam (PyTorch 1.13, _single_tensor_radam):
 *   g += wd·p;  m, v as Adam;  ρ∞ = 2/(1−β2) − 1;  ρt = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
 *   ρt > 5: r = √((ρt−4)(ρt−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρt)),  p −= m/(1−β1ᵗ)·lr·√(1−β2ᵗ)/(√v + eps)·r
 *   else:   p −= m/(1−β1ᵗ)·lr */
void nf_radam_update(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, double lr_, double beta1, double beta2, double eps_,
                     double weight_decay, long t_)
{
    const double t = (double)t_;
    const double bc1 = one_minus_pow(beta1, t), bc2 = one_minus_pow(beta2, t);
    const double rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(beta2, t) / bc2;
    const int rect_on = rho_t > 5.0;
    const float rect = rect_on ? (float)sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                             ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                               : 0.0f;
    const float b1 = (float)beta1, omb1 = (float)(1.0 - beta1), b2 = (float)beta2;
    const float omb2 = (float)(1.0 - beta2), eps = (float)eps_, wd = (float)weight_decay;
    const float fbc1 = (float)bc1, sbc2 = (float)sqrt(bc2), lr = (float)lr_;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + gi * omb1;
        v[i] = v[i] * b2 + gi * gi * omb2;
        float u = m[i] / fbc1 * lr;
        if (rect_on) u = u * (sbc2 / (sqrtf(v[i]) + eps)) * rect;
        p[i] -= u;
    }
}

/* torch.optim.ASGD (PyTorch 1.13, _single_tensor_asgd):
 *   g += wd·p;  p *= 1 − λ·η;  p −= η·g;  ax = μ≠1 ? ax + μ(p − ax) : p;
 *   η = lr / (1 + λ·lr·t)^α;  μ = 1 / max(1, t − t0)   (η, μ float32 scalars, start lr and 1) */
void nf_asgd_update(size_t n, float *restrict p, const float *restrict g, float *restrict ax,
                    float *eta_, float *mu_, double lr, double lambd, double alpha, double t0,
                    double weight_decay, long t_)
{
    const double t = (double)t_;
    const float wd = (float)weight_decay;
    const float shrink = (float)(1.0 - lambd * (double)*eta_);
    const float eta = *eta_, mu = *mu_;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        p[i] *= shrink;
        p[i] += -eta * gi;
        ax[i] = mu != 1.0f ? ax[i] + (p[i] - ax[i]) * mu : p[i];
    }
    *eta_ = (float)(lr / pow(1.0 + lambd * lr * t, alpha));
    *mu_ = (float)(1.0 / fmax(1.0, t - t0));
}

/* torch.optim.Rprop (PyTorch 1.13, _single_tensor_rprop):
 *   s = sign(g·prev) → η+ (>0), η− (<0), 1 (=0);  step = clamp(step·s, min, max);
 *   g = 0 where s = η−;  p −= sign(g)·step;  prev = g */
void nf_rprop_update(size_t n, float *restrict p, const float *restrict g, float *restrict prev,
                     float *restrict step, double eta_minus, double eta_plus,
                     double step_size_min, double step_size_max)
{
    const float ep = (float)eta_plus, em = (float)eta_minus;
    const float smin = (float)step_size_min, smax = (float)step_size_max;
    for (size_t i = 0; i < n; i++) {
        float prod = g[i] * prev[i];
        float s = prod > 0.0f ? ep : prod < 0.0f ? em : 1.0f;
        float st = step[i] * s;
        st = st < smin ? smin : st > smax ? smax : st;
        step[i] = st;
        float gi = prod < 0.0f ? 0.0f : g[i];
        float sg = (float)((gi > 0.0f) - (gi < 0.0f));
        p[i] += -(sg * st);
        prev[i] = gi;
    }
}

/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2):
 *   c = β1·m + (1−β1)·g;  p −= lr·(sign(c) + wd·p);  m = β2·m + (1−β2)·g
 * The decay is applied first as p *= 1 − lr·wd (as lucidrains/lion-pytorch and Keras 3). */
void nf_lion_update(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                    double lr_, double beta1, double beta2, double weight_decay)
{
    const float b1 = (float)beta1, omb1 = (float)(1.0 - beta1);
    const float b2 = (float)beta2, omb2 = (float)(1.0 - beta2), lr = (float)lr_;
    const float decay = (float)(1.0 - lr_ * weight_decay);
    for (size_t i = 0; i < n; i++) {
        float u = m[i] * b1 + g[i] * omb1;
        float s = (float)((u > 0.0f) - (u < 0.0f));
        p[i] = p[i] * decay - lr * s;
        m[i] = m[i] * b2 + g[i] * omb2;
    }
}

static double rms(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return sqrt(s / (double)n);
}

/* Adafactor as keras.optimizers.Adafactor (Keras 3, keras/src/optimizers/adafactor.py;
 * Shazeer & Stern 2018), per tensor of shape [rows, cols]:
 *   ρt = relative_step ? min(lr, 1/√t) : lr;  αt = max(eps2, RMS(p))·ρt;  β2t = 1 − t^decay
 *   G = g² + eps1;  matrix: r = β2t·r + (1−β2t)·rowmean(G), c = β2t·c + (1−β2t)·colmean(G),
 *   v = r cᵀ / mean(r);  vector: v = β2t·v + (1−β2t)·G
 *   u = g/√v;  û = u / max(1, RMS(u)/clip_threshold);  p −= αt·û
 * RMS(u) is needed before the update, so u is computed twice rather than stored. */
void nf_adafactor_update(int n_tensors, const size_t *rows, const size_t *cols,
                         float *restrict p, const float *restrict g, float *restrict stats,
                         double lr, double beta2_decay, double eps1_, double eps2,
                         double clip_threshold, int relative_step, long t_)
{
    const double t = (double)t_;
    double rho_t = relative_step ? fmin(lr, 1.0 / sqrt(t)) : lr;
    const float b2t = (float)(1.0 - pow(t, beta2_decay)), omb2t = 1.0f - b2t;
    const float eps1 = (float)eps1_;
    size_t off = 0;
    for (int k = 0; k < n_tensors; k++) {
        const size_t R = rows[k], C = cols[k], cnt = R * C;
        float *pp = p + off;
        const float *gg = g + off;
        const float alpha_t = (float)(fmax(eps2, rms(pp, cnt)) * rho_t);
        double sum_u2 = 0.0;
        if (C > 1) {
            float *r = stats, *cc = stats + R;
            for (size_t i = 0; i < R; i++) {
                double s = 0.0;
                for (size_t j = 0; j < C; j++) s += (double)(gg[i * C + j] * gg[i * C + j] + eps1);
                r[i] = b2t * r[i] + omb2t * (float)(s / (double)C);
            }
            for (size_t j = 0; j < C; j++) {
                double s = 0.0;
                for (size_t i = 0; i < R; i++) s += (double)(gg[i * C + j] * gg[i * C + j] + eps1);
                cc[j] = b2t * cc[j] + omb2t * (float)(s / (double)R);
            }
            double rm = 0.0;
            for (size_t i = 0; i < R; i++) rm += r[i];
            const float rmean = (float)(rm / (double)R);
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    float u = gg[i * C + j] / sqrtf(r[i] / rmean * cc[j]);
                    sum_u2 += (double)u * u;
                }
            const float scale = (float)fmax(1.0, sqrt(sum_u2 / (double)cnt) / clip_threshold);
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    float u = gg[i * C + j] / sqrtf(r[i] / rmean * cc[j]);
                    pp[i * C + j] -= alpha_t * (u / scale);
                }
            stats += R + C;
        } else {
            float *v = stats;
            for (size_t i = 0; i < cnt; i++) {
                v[i] = b2t * v[i] + omb2t * (gg[i] * gg[i] + eps1);
                float u = gg[i] / sqrtf(v[i]);
                sum_u2 += (double)u * u;
            }
            const float scale = (float)fmax(1.0, sqrt(sum_u2 / (double)cnt) / clip_threshold);
            for (size_t i = 0; i < cnt; i++) pp[i] -= alpha_t * ((gg[i] / sqrtf(v[i])) / scale);
            stats += cnt;
        }
        off += cnt;
    }
}

/* FTRL-proximal as keras.optimizers.Ftrl (Keras 3, keras/src/optimizers/ftrl.py; McMahan et
 * al. 2013, Algorithm 1), with n = accumulator, z = linear, power = lr_power (≤ 0):
 *   l2' = l2 + β/(2·lr);  g' = g + 2·l2_shrinkage·p;  n' = n + g²;
 *   z += g' − (n'^(−power) − n^(−power))/lr · p;  q = n'^(−power)/lr + 2·l2';
 *   p = (clip(z, −l1, l1) − z) / q;  n = n' */
void nf_ftrl_update(size_t n, float *restrict p, const float *restrict g, float *restrict acc,
                    float *restrict z, double lr, double lr_power, double l1_, double l2_,
                    double l2_shrinkage, double beta)
{
    const double mp = -lr_power;
    const float l2 = (float)(l2_ + beta / (2.0 * lr)), shr = (float)(2.0 * l2_shrinkage);
    const float l1 = (float)l1_, flr = (float)lr;
    const int half = mp == 0.5;
    for (size_t i = 0; i < n; i++) {
        float gs = g[i] + shr * p[i];
        float na = acc[i] + g[i] * g[i];
        /* lr_power −0.5 (the default): sqrtf is the correctly rounded pow(x, 0.5) */
        float pn = half ? sqrtf(na) : (float)pow((double)na, mp);
        float po = half ? sqrtf(acc[i]) : (float)pow((double)acc[i], mp);
        z[i] += gs - (pn - po) / flr * p[i];
        float q = pn / flr + 2.0f * l2;
        float zc = z[i] < -l1 ? -l1 : z[i] > l1 ? l1 : z[i];
        p[i] = (zc - z[i]) / q;
        acc[i] = na;
    }
}
