/* loss.c — losses and their gradients with respect to the predictions. */
#include "nnfit/loss.h"

#include <math.h>
#include <string.h>

static const char *const names[NF_LOSS_COUNT] = {"mse", "mae", "huber", "log_cosh"};

const char *nf_loss_name(nf_loss_kind kind)
{
    return (unsigned)kind < NF_LOSS_COUNT ? names[kind] : "?";
}

const char *nf_loss_names(void) { return "mse, mae, huber, log_cosh"; }

nf_status nf_loss_parse(const char *name, nf_loss_spec *spec)
{
    static const struct {
        const char *name;
        nf_loss_kind kind;
    } table[] = {{"mse", NF_LOSS_MSE},     {"l2", NF_LOSS_MSE},         {"mae", NF_LOSS_MAE},
                 {"l1", NF_LOSS_MAE},      {"huber", NF_LOSS_HUBER},    {"log_cosh", NF_LOSS_LOG_COSH},
                 {"logcosh", NF_LOSS_LOG_COSH}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(name, table[i].name)) {
            spec->kind = table[i].kind;
            spec->delta = 1.0f;
            return NF_OK;
        }
    return nf_fail(NF_EINVAL, "unknown loss '%s' (valid: %s)", name, nf_loss_names());
}

/* log(cosh(r)) = |r| + log1p(e^{-2|r|}) - log 2, finite for every finite r. */
static inline double log_cosh(double r)
{
    double a = fabs(r);
    return a + log1p(exp(-2.0 * a)) - 0.69314718055994530942;
}

static inline double elem_loss(const nf_loss_spec *s, double r)
{
    switch (s->kind) {
    case NF_LOSS_MSE: return r * r;
    case NF_LOSS_MAE: return fabs(r);
    case NF_LOSS_HUBER: {
        double a = fabs(r), d = s->delta;
        return a < d ? 0.5 * r * r : d * (a - 0.5 * d);
    }
    case NF_LOSS_LOG_COSH: return log_cosh(r);
    default: return 0.0;
    }
}

double nf_loss_value(const nf_loss_spec *spec, const float *pred, const float *target, size_t n)
{
    if (n == 0) return 0.0;
    double sum = 0.0;
    if (spec->kind == NF_LOSS_MSE) {
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        size_t i = 0;
        for (; i + 4 <= n; i += 4)
            for (size_t l = 0; l < 4; l++) {
                double r = (double)pred[i + l] - (double)target[i + l];
                acc[l] += r * r;
            }
        for (; i < n; i++) {
            double r = (double)pred[i] - (double)target[i];
            acc[0] += r * r;
        }
        sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    } else {
        for (size_t i = 0; i < n; i++) sum += elem_loss(spec, (double)pred[i] - (double)target[i]);
    }
    return sum / (double)n;
}

double nf_loss_grad(const nf_loss_spec *spec, const float *pred, const float *target, size_t n,
                    size_t denom, float *grad)
{
    if (n == 0 || denom == 0) return 0.0;
    const float scale = (float)(1.0 / (double)denom);
    double sum = 0.0;
    switch (spec->kind) {
    case NF_LOSS_MSE: {
        /* four double accumulators: same precision, no add-latency chain */
        const float s2 = 2.0f * scale;
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        size_t i = 0;
        for (; i + 4 <= n; i += 4)
            for (size_t l = 0; l < 4; l++) {
                float r = pred[i + l] - target[i + l];
                grad[i + l] = s2 * r;
                acc[l] += (double)r * (double)r;
            }
        for (; i < n; i++) {
            float r = pred[i] - target[i];
            grad[i] = s2 * r;
            acc[0] += (double)r * (double)r;
        }
        sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        break;
    }
    case NF_LOSS_MAE:
        for (size_t i = 0; i < n; i++) {
            double r = (double)pred[i] - (double)target[i];
            grad[i] = r > 0.0 ? scale : (r < 0.0 ? -scale : 0.0f);
            sum += fabs(r);
        }
        break;
    case NF_LOSS_HUBER: {
        const float d = spec->delta;
        for (size_t i = 0; i < n; i++) {
            double r = (double)pred[i] - (double)target[i];
            float g = fabs(r) < d ? (float)r : (r > 0.0 ? d : -d);
            grad[i] = scale * g;
            sum += elem_loss(spec, r);
        }
        break;
    }
    case NF_LOSS_LOG_COSH:
        for (size_t i = 0; i < n; i++) {
            double r = (double)pred[i] - (double)target[i];
            grad[i] = scale * tanhf((float)r);
            sum += log_cosh(r);
        }
        break;
    default:
        break;
    }
    return sum / (double)denom;
}
