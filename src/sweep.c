/* sweep.c — trials over a grid of settings × seeds on a pool of pthreads. */
#include "nnfit/sweep.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nnfit/blas.h"
#include "nnfit/init.h"
#include "nnfit/run.h"
#include "nnfit/rng.h"

uint64_t nf_sweep_seed(uint64_t seed, int restart) { return nf_rng_derive(seed, (uint64_t)restart); }

void nf_sweep_defaults(nf_sweep_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->restarts = 1;
    cfg->jobs = 1;
    cfg->target = 1e-3;
    nf_diag_defaults(&cfg->diag);
}

void nf_trials_free(nf_trial *trials, long n)
{
    for (long i = 0; trials && i < n; i++) {
        free(trials[i].curve);
        trials[i].curve = NULL;
    }
}

double nf_trial_time_to_target(const nf_trial *t, nf_ttt_unit unit)
{
    if (!t->done || t->target_epoch <= 0) return INFINITY;
    switch (unit) {
    case NF_TTT_EPOCHS: return (double)t->target_epoch;
    case NF_TTT_EVALS: return (double)t->target_evals;
    case NF_TTT_SECONDS: return t->target_seconds;
    }
    return NAN;
}

nf_sweep_problem nf_sweep_problem_of(const nf_sweep_config *cfg, int setting)
{
    if (cfg->problems && cfg->problem_of && setting >= 0 && setting < cfg->n_settings) {
        const int p = cfg->problem_of[setting];
        if (p >= 0 && p < cfg->n_problems) return cfg->problems[p];
    }
    return (nf_sweep_problem){cfg->X, cfg->Y, cfg->val_X, cfg->val_Y, cfg->target};
}

/* Per-epoch hook of one trial: cancellation, then the caller's on_epoch. */
typedef struct {
    const nf_sweep_config *cfg;
    int setting, restart;
} epoch_hook;

static int epoch_cb(void *ctx, int epoch, double loss, double seconds)
{
    const epoch_hook *h = ctx;
    (void)seconds;
    if (h->cfg->cancel && atomic_load(h->cfg->cancel)) return 1;
    return h->cfg->on_epoch ? h->cfg->on_epoch(h->cfg->epoch_ctx, h->setting, h->restart, epoch, loss) : 0;
}

nf_status nf_sweep_trial(const nf_sweep_config *cfg, int setting, int restart, nf_trial *t,
                         nf_model **model_out)
{
    memset(t, 0, sizeof *t);
    if (model_out) *model_out = NULL;
    if (setting < 0 || setting >= cfg->n_settings || restart < 0)
        return nf_fail(NF_EINVAL, "sweep: no trial (setting %d, restart %d)", setting, restart);
    t->setting = setting;
    t->restart = restart;
    t->seed = nf_sweep_seed(cfg->seed, restart);
    const double t0 = nf_seconds();

    /* the setting with this restart's seed: exactly `nnfit train ... --seed S_r --threads 1` */
    const nf_sweep_problem pb = nf_sweep_problem_of(cfg, setting);
    nf_run_spec spec = cfg->settings[setting];
    epoch_hook hook = {cfg, setting, restart};
    spec.seed = t->seed;
    spec.threads = 0; /* the sweep runs every worker with one BLAS thread */
    spec.train.target_loss = pb.target;
    spec.train.stop_at_target = 0;
    spec.train.on_epoch = cfg->cancel || cfg->on_epoch ? epoch_cb : NULL;
    spec.train.ctx = &hook;
    const nf_run_data data = {pb.X, pb.Y, pb.val_X, pb.val_Y, NULL, 0, 0};
    nf_model *m = NULL;
    nf_history h;
    memset(&h, 0, sizeof h);
    nf_status st = nf_run(&spec, &data, &m, &h);
    if (st && st != NF_EDIVERGED) {
        nf_history_free(&h);
        nf_model_free(m);
        return st;
    }
    if (cfg->cancel && atomic_load(cfg->cancel) && h.epochs_run < spec.train.epochs) {
        nf_history_free(&h);
        nf_model_free(m);
        return nf_fail(NF_EINTERRUPTED, "sweep: trial cancelled");
    }
    t->status = st;
    t->final_loss = h.final_loss;
    t->best_loss = h.best_loss;
    t->target_epoch = h.target_epoch;
    t->target_evals = h.target_evals;
    t->target_seconds = h.target_seconds;
    t->epochs_run = h.epochs_run;
    t->diverged_epoch = h.diverged_epoch;
    t->success = st == NF_OK && isfinite(h.final_loss) && h.final_loss <= pb.target;
    if (cfg->keep_curves && h.epochs_run > 0) {
        t->curve = malloc((size_t)h.epochs_run * sizeof(float));
        if (!t->curve) st = nf_fail(NF_ENOMEM, "sweep: cannot store the loss curve");
        for (int e = 0; t->curve && e < h.epochs_run; e++) t->curve[e] = (float)h.loss[e];
    }
    nf_history_free(&h);
    if (!st || st == NF_EDIVERGED) {
        nf_diag_counts c;
        nf_status dst = nf_diag_classify(m, pb.X->data, pb.X->rows, &cfg->diag, &c);
        if (dst) {
            st = dst;
        } else {
            t->dead = c.dead;
            t->always_on = c.always_on;
            t->duplicate = c.duplicate;
            t->parallel = c.parallel;
        }
    }
    t->seconds = nf_seconds() - t0;
    if (st && st != NF_EDIVERGED) {
        free(t->curve);
        t->curve = NULL;
        nf_model_free(m);
        return st;
    }
    t->done = 1;
    if (model_out) *model_out = m;
    else nf_model_free(m);
    return NF_OK;
}

typedef struct {
    const nf_sweep_config *cfg;
    nf_trial *trials;
    long total, next, done;
    nf_status error;
    char error_text[256];
    pthread_mutex_t lock;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    const nf_sweep_config *cfg = p->cfg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        long i = p->error || (cfg->cancel && atomic_load(cfg->cancel)) ? p->total : p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->total) break;
        /* queue order is restart-major, so a cancelled sweep has the same number of trials
         * in every setting and the ETA does not depend on which settings are slow */
        const int setting = (int)(i % cfg->n_settings), restart = (int)(i / cfg->n_settings);
        i = (long)setting * cfg->restarts + restart;
        if (p->trials[i].done) continue; /* resumed: only this worker reads entry i */
        nf_trial t;
        nf_status st = nf_sweep_trial(cfg, setting, restart, &t, NULL);
        if (!st && cfg->journal) {
            st = nf_journal_append(cfg->journal, &t);
            if (st) nf_trials_free(&t, 1);
        }
        pthread_mutex_lock(&p->lock);
        if (st == NF_EINTERRUPTED) {
            /* dropped */
        } else if (st) {
            if (!p->error) {
                p->error = st;
                strncpy(p->error_text, nf_last_error(), sizeof p->error_text - 1);
            }
        } else {
            p->trials[i] = t;
            p->done++;
            if (cfg->on_trial) cfg->on_trial(cfg->ctx, &p->trials[i], p->done, p->total);
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

nf_status nf_sweep_run(const nf_sweep_config *cfg, nf_trial *trials, long *n_done)
{
    *n_done = 0;
    if (!cfg->settings || cfg->n_settings < 1) return nf_fail(NF_EINVAL, "sweep: no settings");
    if (cfg->problems) {
        if (cfg->n_problems < 1 || !cfg->problem_of)
            return nf_fail(NF_EINVAL, "sweep: problems given without their count or the settings' problem");
        for (int s = 0; s < cfg->n_settings; s++)
            if (cfg->problem_of[s] < 0 || cfg->problem_of[s] >= cfg->n_problems)
                return nf_fail(NF_EINVAL, "sweep: setting %d has problem %d, not one of the %d", s, cfg->problem_of[s],
                               cfg->n_problems);
    }
    if (cfg->restarts < 1) return nf_fail(NF_EINVAL, "sweep: restarts must be >= 1, got %d", cfg->restarts);
    if (cfg->jobs < 1 || cfg->jobs > 1024) return nf_fail(NF_EINVAL, "sweep: jobs must be 1..1024, got %d", cfg->jobs);
    for (int s = 0; s < cfg->n_settings; s++) {
        const nf_sweep_problem pb = nf_sweep_problem_of(cfg, s);
        if (!pb.X || !pb.Y) return nf_fail(NF_EINVAL, "sweep: no data for setting %d", s);
        if (!(pb.target > 0.0)) return nf_fail(NF_EINVAL, "sweep: target must be > 0, got %g", pb.target);
        const nf_run_spec *x = &cfg->settings[s];
        if (x->n_sizes < 2 || x->sizes[0] != pb.X->cols || x->sizes[x->n_sizes - 1] != pb.Y->cols)
            return nf_fail(NF_ESHAPE, "sweep: setting %d maps %d -> %d but the data is %d -> %d", s,
                           x->sizes[0], x->sizes[x->n_sizes > 0 ? x->n_sizes - 1 : 0], pb.X->cols,
                           pb.Y->cols);
        nf_status st = nf_opt_validate(&x->train.opt);
        if (st) return st;
    }
    pool p;
    memset(&p, 0, sizeof p);
    p.cfg = cfg;
    p.trials = trials;
    p.total = (long)cfg->n_settings * cfg->restarts;
    for (long i = 0; i < p.total; i++) {
        if (!cfg->resume) memset(&trials[i], 0, sizeof trials[i]);
        else if (trials[i].done) p.done++;
    }
    pthread_mutex_init(&p.lock, NULL);
    int blas_before = nf_blas_threads();
    nf_blas_set_threads(1); /* parallel across trials, never inside one */
    pthread_t tid[1024];
    int started = 0;
    for (int j = 1; j < cfg->jobs; j++) {
        if (pthread_create(&tid[started], NULL, worker, &p)) break;
        started++;
    }
    worker(&p); /* the calling thread works too */
    for (int j = 0; j < started; j++) pthread_join(tid[j], NULL);
    pthread_mutex_destroy(&p.lock);
    nf_blas_set_threads(blas_before);
    *n_done = p.done;
    if (p.error) return nf_fail(p.error, "%s", p.error_text);
    if (p.done < p.total) return nf_fail(NF_EINTERRUPTED, "sweep: cancelled after %ld of %ld trials", p.done, p.total);
    return NF_OK;
}

void nf_wilson(long k, long n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double nn = (double)n, p = (double)k / nn, z2 = z * z;
    const double denom = 1.0 + z2 / nn;
    const double centre = (p + z2 / (2.0 * nn)) / denom;
    const double half = z / denom * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    *lo = centre - half < 0.0 ? 0.0 : centre - half;
    *hi = centre + half > 1.0 ? 1.0 : centre + half;
    if (k == 0) *lo = 0.0;
    if (k == n) *hi = 1.0;
}

nf_status nf_sweep_summarize(const nf_trial *trials, int n_settings, int restarts,
                             nf_sweep_summary *out)
{
    double *loss = malloc((size_t)restarts * sizeof(double));
    double *ep = malloc((size_t)restarts * sizeof(double));
    double *tt = malloc(3 * (size_t)restarts * sizeof(double));
    if (!loss || !ep || !tt) {
        free(loss);
        free(ep);
        free(tt);
        return nf_fail(NF_ENOMEM, "sweep: cannot allocate summary buffers");
    }
    for (int s = 0; s < n_settings; s++) {
        nf_sweep_summary *o = &out[s];
        memset(o, 0, sizeof *o);
        o->setting = s;
        o->best = o->worst = -1;
        long n = 0, ne = 0;
        for (int r = 0; r < restarts; r++) {
            long i = (long)s * restarts + r;
            const nf_trial *t = &trials[i];
            if (!t->done) continue;
            double fl = isnan(t->final_loss) ? INFINITY : t->final_loss;
            tt[n] = nf_trial_time_to_target(t, NF_TTT_EPOCHS);
            tt[restarts + n] = nf_trial_time_to_target(t, NF_TTT_EVALS);
            tt[2 * (long)restarts + n] = nf_trial_time_to_target(t, NF_TTT_SECONDS);
            o->reached += t->target_epoch > 0;
            loss[n++] = fl;
            if (t->success) {
                o->successes++;
                if (t->target_epoch > 0) ep[ne++] = t->target_epoch;
            }
            o->mean_dead += t->dead;
            o->mean_always_on += t->always_on;
            o->mean_duplicate += t->duplicate;
            o->mean_parallel += t->parallel;
            o->seconds += t->seconds;
            if (o->best < 0 || fl < (isnan(trials[o->best].final_loss) ? INFINITY : trials[o->best].final_loss)) o->best = i;
            if (o->worst < 0 || fl > (isnan(trials[o->worst].final_loss) ? INFINITY : trials[o->worst].final_loss)) o->worst = i;
        }
        o->n = n;
        if (n) {
            o->mean_dead /= (double)n;
            o->mean_always_on /= (double)n;
            o->mean_duplicate /= (double)n;
            o->mean_parallel /= (double)n;
        }
        o->rate = n ? (double)o->successes / (double)n : 0.0;
        nf_wilson(o->successes, n, 1.959963984540054, &o->rate_lo, &o->rate_hi);
        nf_sort_doubles(loss, n);
        nf_sort_doubles(ep, ne);
        o->median = nf_quantile_sorted(loss, n, 0.5);
        o->p10 = nf_quantile_sorted(loss, n, 0.1);
        o->p90 = nf_quantile_sorted(loss, n, 0.9);
        o->median_epochs = nf_quantile_sorted(ep, ne, 0.5);
        o->trials_per_second = o->seconds > 0 ? (double)n / o->seconds : 0.0;
        nf_status st = nf_quartiles_of(tt, n, &o->ttt_epochs);
        if (!st) st = nf_quartiles_of(tt + restarts, n, &o->ttt_evals);
        if (!st) st = nf_quartiles_of(tt + 2 * (long)restarts, n, &o->ttt_seconds);
        if (st) {
            free(loss);
            free(ep);
            free(tt);
            return st;
        }
    }
    free(loss);
    free(ep);
    free(tt);
    return NF_OK;
}
