/* sweep_tune.c — tuning budgets for `nnfit sweep`: --tune NAME=LO:HI[:log] (repeatable),
 * --budget N, --tune-restarts R, --select RULE, --halving ETA.
 *
 * Every grid point gets the same N configurations: the first N points of GSL's Sobol sequence
 * over the tuned options, shifted modulo 1 by a random vector drawn from derive(seed, 2^32)
 * (nf_qrng_points), mapped into the ranges (evenly in log(value) for :log) and written with
 * four significant digits (more when needed to stay in the range); integer options are
 * rounded.  An option is tuned at a grid point only where it applies (a hyperparameter its
 * optimizer reads, an aid of a mini-batch optimizer); a grid point where none applies runs one
 * configuration.  Each configuration runs on R tuning seeds, nf_sweep_seed(seed,
 * SWEEP_TUNE_RESTART0 + j); the evaluation restarts use nf_sweep_seed(seed, r) with
 * r < SWEEP_TUNE_RESTART0, and nf_rng_derive is one-to-one in its index, so no tuning seed is an
 * evaluation seed.
 *
 * Selection over a configuration's R tuning trials: success rate, then median time to target,
 * then median final loss (the default); --select success: rate, then median final loss;
 * median-loss: median final loss; time-to-target: median time to target, then median final
 * loss.  Remaining ties go to the lower configuration index.
 *
 * Successive halving (--halving ETA): milestones m_0 < ... < m_K = epochs with
 * m_k = round(epochs / ETA^(K-k)) and K = floor(log_ETA N) - 1 (nf_halving_milestones: one rung
 * fewer than would leave a single configuration, so about ETA configurations train to the end
 * and the selection rule, not the early loss alone, picks among them); at each m_k < epochs
 * the surviving configurations are ranked by the median over their R trials of the epoch loss
 * at m_k (float, as stored in the trials' curves; +inf after divergence) and the best
 * max(1, floor(n/ETA)) go on (nf_halving_cut).  A trial waits at a milestone, without holding a
 * worker, until its grid point's rung is decided, then continues where it was or stops there
 * (the per-epoch callback of nf_sweep_trial): training is never restarted, and the cut
 * configurations' trials end as trials of m_k epochs.  The decisions depend only on the losses,
 * so they are the same whatever the number of workers, and the same when a journal supplies
 * trials that ran before.  Selection is among the configurations that reached the last
 * milestone.  Without --halving the trials run straight through; nothing is added to a trial's
 * training loop either way beyond the callback the sweep already makes each epoch. */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep_internal.h"

#define SHIFT_INDEX ((uint64_t)1 << 32) /* derive(seed, 2^32): the Sobol points' random shift */
#define MAX_MILESTONES 32
#define THREAD_CAP 256                  /* threads alive at once, or one grid point's trials */

struct sweep_tuning {
    sweep_range ranges[NF_QRNG_SOBOL_MAX_DIM];
    int n_ranges;
    int budget, restarts;
    sweep_select select;
    double eta;                 /* 0: no halving */
    nf_ttt_unit unit;
    uint64_t seed;
    char **values;              /* [n_ranges * budget] */
    sweep_grid grid;            /* the tuning grid: setting g * budget + c */
    int G;
    int *n_cfg;                 /* [G]: configurations run (1 where nothing tuned applies) */
    nf_trial *trials;           /* [G * budget * restarts] */
    int (*ms)[MAX_MILESTONES];  /* [G] milestone epochs (halving) */
    int *n_ms;                  /* [G] */
    unsigned char *alive;       /* [G * budget] */
    int *cut_rung;              /* [G * budget]: rung where cut, -1 none */
    int *decided;               /* [G]: rungs decided */
    double *rate, *ttt, *loss;  /* [G * budget] over the tuning trials */
    int *chosen;                /* [G] */
    double *seconds;            /* [G] summed trial time */
    long *epochs_run, *epochs_full, *n_trials; /* [G] */
};

static const char *select_name(sweep_select s)
{
    return s == SELECT_SUCCESS ? "success, then median final loss"
         : s == SELECT_MEDIAN_LOSS ? "median final loss"
         : s == SELECT_TTT ? "median time to target, then median final loss"
         : "success, then median time to target, then median final loss";
}

void sweep_tune_free(sweep_tuning *t)
{
    if (!t) return;
    for (int i = 0; t->values && i < t->n_ranges * t->budget; i++) free(t->values[i]);
    free(t->values);
    sweep_grid_free(&t->grid);
    if (t->trials) nf_trials_free(t->trials, (long)t->G * t->budget * t->restarts);
    free(t->trials);
    free(t->n_cfg);
    free(t->ms);
    free(t->n_ms);
    free(t->alive);
    free(t->cut_rung);
    free(t->decided);
    free(t->rate);
    free(t->ttt);
    free(t->loss);
    free(t->chosen);
    free(t->seconds);
    free(t->epochs_run);
    free(t->epochs_full);
    free(t->n_trials);
    free(t);
}

int sweep_tune_ranges(const sweep_tuning *t, const sweep_range **ranges)
{
    *ranges = t->ranges;
    return t->n_ranges;
}

const char *sweep_tune_value(const sweep_tuning *t, int range, int config)
{
    return t->values[(size_t)range * (size_t)t->budget + (size_t)config];
}

int sweep_tune_budget(const sweep_tuning *t) { return t->budget; }

/* Text of value v of range r: an integer, or the shortest of 4..17 significant digits that
 * reads back inside the range. */
static char *value_text(const sweep_range *r, double v)
{
    char buf[64];
    if (r->integer) {
        long lo = (long)ceil(r->range.lo), hi = (long)floor(r->range.hi), x = lround(v);
        snprintf(buf, sizeof buf, "%ld", x < lo ? lo : x > hi ? hi : x);
        return strdup(buf);
    }
    for (int prec = 4; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        const double back = strtod(buf, NULL);
        if (back >= r->range.lo && back <= r->range.hi) break;
    }
    return strdup(buf);
}

static int parse_one(sweep_tuning *t, const char *text)
{
    const char *eq = strchr(text, '=');
    char name[64];
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof name)
        return cli_usage_error("--tune %s: expected NAME=LO:HI or NAME=LO:HI:log (e.g. --tune lr=1e-4:1:log)", text);
    memcpy(name, text, (size_t)(eq - text));
    name[eq - text] = '\0';
    const opt_row *r = opt_find(name);
    if (!r || !(r->cmds & CMD_SWEEP)) return cli_usage_error("--tune %s: there is no option --%s", text, name);
    if (!opt_is_tunable(r))
        return cli_usage_error("--tune %s: --%s is not a numeric run option that can be tuned", text, name);
    for (int i = 0; i < t->n_ranges; i++)
        if (t->ranges[i].row == r) return cli_usage_error("--tune %s: --%s is tuned twice", text, name);
    if (t->n_ranges == NF_QRNG_SOBOL_MAX_DIM)
        return cli_usage_error("--tune: at most %d options can be tuned together", NF_QRNG_SOBOL_MAX_DIM);
    sweep_range *x = &t->ranges[t->n_ranges];
    if (nf_range_parse(eq + 1, &x->range)) return cli_usage_error("--tune %s: %s", text, nf_last_error());
    double lo, hi;
    opt_range_of(r, &lo, &hi, &x->integer);
    if (x->range.lo < lo || x->range.hi > hi)
        return cli_usage_error("--tune %s: the range leaves the values --%s accepts, [%g, %g]", text, name, lo, hi);
    if (x->integer && floor(x->range.hi) < ceil(x->range.lo))
        return cli_usage_error("--tune %s: --%s takes integers and the range holds none", text, name);
    x->row = r;
    t->n_ranges++;
    return 0;
}

int sweep_tune_parse(const opt_list *l, const cli_args *a, sweep_tuning **out)
{
    *out = NULL;
    int given = 0;
    for (int i = 0; i < l->n; i++) given += !strcmp(l->v[i].row->name, "tune");
    if (!given) return 0;
    sweep_tuning *t = calloc(1, sizeof *t);
    if (!t) return cli_usage_error("out of memory");
    *out = t;
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].row->name, "tune")) continue;
        int rc = parse_one(t, l->v[i].value);
        if (rc) return rc;
    }
    t->budget = a->budget;
    t->restarts = a->tune_restarts;
    t->select = (sweep_select)a->select;
    t->eta = a->halving;
    t->unit = (nf_ttt_unit)a->ttt_unit;
    t->seed = a->run.seed;
    if (t->eta > 1.0 && t->budget < t->eta * t->eta)
        return cli_usage_error("--halving %g needs --budget %d or more (a first cut, and about %g configurations "
                               "left to train to the end)", t->eta, (int)ceil(t->eta * t->eta - 1e-9), t->eta);
    double *pts = malloc((size_t)t->budget * (size_t)t->n_ranges * sizeof *pts);
    t->values = calloc((size_t)t->budget * (size_t)t->n_ranges, sizeof *t->values);
    if (!pts || !t->values) {
        free(pts);
        return cli_usage_error("out of memory");
    }
    if (nf_qrng_points(NF_QRNG_SOBOL, t->n_ranges, t->budget, 1, nf_rng_derive(t->seed, SHIFT_INDEX), pts)) {
        free(pts);
        return cli_status_error(NF_EINVAL);
    }
    for (int c = 0; c < t->budget; c++)
        for (int i = 0; i < t->n_ranges; i++) {
            const double v = nf_range_map(&t->ranges[i].range, pts[(size_t)c * (size_t)t->n_ranges + (size_t)i]);
            if (!(t->values[(size_t)i * (size_t)t->budget + (size_t)c] = value_text(&t->ranges[i], v))) {
                free(pts);
                return cli_usage_error("out of memory");
            }
        }
    free(pts);
    return 0;
}

int sweep_tune_build(sweep_tuning *t, const sweep_grid *points)
{
    const int G = points->n, N = t->budget, R = t->restarts;
    t->G = G;
    int rc = sweep_grid_derive(&t->grid, points, G * N);
    if (rc) return rc;
    t->trials = calloc((size_t)G * (size_t)N * (size_t)R, sizeof *t->trials);
    t->n_cfg = calloc((size_t)G, sizeof *t->n_cfg);
    t->ms = calloc((size_t)G, sizeof *t->ms);
    t->n_ms = calloc((size_t)G, sizeof *t->n_ms);
    t->alive = calloc((size_t)G * (size_t)N, 1);
    t->cut_rung = malloc((size_t)G * (size_t)N * sizeof *t->cut_rung);
    t->decided = calloc((size_t)G, sizeof *t->decided);
    t->rate = calloc((size_t)G * (size_t)N, sizeof *t->rate);
    t->ttt = calloc((size_t)G * (size_t)N, sizeof *t->ttt);
    t->loss = calloc((size_t)G * (size_t)N, sizeof *t->loss);
    t->chosen = calloc((size_t)G, sizeof *t->chosen);
    t->seconds = calloc((size_t)G, sizeof *t->seconds);
    t->epochs_run = calloc((size_t)G, sizeof *t->epochs_run);
    t->epochs_full = calloc((size_t)G, sizeof *t->epochs_full);
    t->n_trials = calloc((size_t)G, sizeof *t->n_trials);
    if (!t->trials || !t->n_cfg || !t->ms || !t->n_ms || !t->alive || !t->cut_rung || !t->decided || !t->rate ||
        !t->ttt || !t->loss || !t->chosen || !t->seconds || !t->epochs_run || !t->epochs_full || !t->n_trials)
        return cli_usage_error("out of memory for the tuning trials");
    sweep_grid *tg = &t->grid;
    for (int g = 0; g < G; g++) {
        int any = 0;
        for (int c = 0; c < N; c++) {
            const int s = g * N + c;
            if ((rc = sweep_build(tg, s, &points->choice[(size_t)g * (size_t)points->n_ax], c))) return rc;
            for (int k = 0; k < tg->n_ax; k++) any |= tg->ax[k].tuned && sweep_has(tg, s, k);
            t->cut_rung[s] = -1;
        }
        t->n_cfg[g] = any ? N : 1;
        for (int c = 0; c < t->n_cfg[g]; c++) t->alive[g * N + c] = 1;
        const int epochs = points->specs[g].train.epochs;
        t->n_ms[g] = 0;
        if (t->eta > 1.0 && t->n_cfg[g] >= t->eta * t->eta) {
            const int K = (int)floor(log((double)t->n_cfg[g]) / log(t->eta) + 1e-9) - 1;
            const int min_epochs = (int)fmax(1.0, floor(epochs / pow(t->eta, K)));
            int n = nf_halving_milestones(epochs, min_epochs, t->eta, t->ms[g], MAX_MILESTONES);
            t->n_ms[g] = n > MAX_MILESTONES ? 0 : n < 0 ? 0 : n;
        }
        t->epochs_full[g] = (long)t->n_cfg[g] * R * epochs;
    }
    tg->n = G * N;
    for (int k = 0; k < tg->n_ax; k++) {
        const sweep_axis *x = &tg->ax[k];
        if (!x->tuned || x->applied) continue;
        const opt_row *r = x->row;
        if (r->type == OT_HP) {
            char readers[512];
            sweep_hp_readers(r, readers, sizeof readers);
            return cli_usage_error("--tune %s: applies to none of the sweep's optimizers (it is read by: %s)", r->name,
                                   readers);
        }
        return cli_usage_error("--tune %s: applies to none of the sweep's grid points", r->name);
    }
    return 0;
}

void sweep_tune_describe(const sweep_tuning *t, char *buf, size_t cap)
{
    size_t pos = (size_t)snprintf(buf, cap, "tune budget %d tune-restarts %d select %d ttt-unit %d halving %.17g "
                                            "restart0 %d shift %llu",
                                  t->budget, t->restarts, (int)t->select, (int)t->unit, t->eta, SWEEP_TUNE_RESTART0,
                                  (unsigned long long)SHIFT_INDEX);
    for (int i = 0; i < t->n_ranges && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, " %s=%.17g:%.17g:%s", t->ranges[i].row->name,
                                t->ranges[i].range.lo, t->ranges[i].range.hi, t->ranges[i].range.log_scale ? "log" : "lin");
    if (pos < cap) snprintf(buf + pos, cap - pos, "\n");
}

int sweep_tune_place(sweep_tuning *t, nf_trial *done, long n_done, int offset)
{
    const int N = t->budget, R = t->restarts;
    for (long i = 0; i < n_done; i++) {
        nf_trial *d = &done[i];
        const int ts = d->setting - offset, j = d->restart - SWEEP_TUNE_RESTART0;
        if (ts < 0 || ts >= t->G * N || j < 0 || j >= R)
            return cli_usage_error("journal: tuning trial (setting %d, restart %d) is outside this sweep's tuning",
                                   d->setting, d->restart);
        nf_trial *dst = &t->trials[(long)ts * R + j];
        if (dst->done) continue; /* recorded twice: the first one counts */
        *dst = *d;
        dst->setting = ts;
        d->curve = NULL;
    }
    return 0;
}

/* ---- the runner ---- */

enum { T_PENDING, T_RUNNING, T_WAITING, T_ENDED };

typedef struct {
    sweep_tuning *t;
    nf_sweep_config cfg;
    nf_journal *journal;
    int offset;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int slots;
    unsigned char *state;
    float *wait_loss;           /* the epoch loss where the trial waits, at rung wait_rung */
    int *wait_rung;
    double *waited;             /* [total * MAX_MILESTONES]: seconds waited at each rung */
    nf_status error;
    char error_text[256];
    long done, total, ok;
    cli_progress bar;
} runner;

typedef struct {
    runner *r;
    long i;
} job;

static int stopping(const runner *r) { return r->error || (r->cfg.cancel && atomic_load(r->cfg.cancel)); }

/* Waits on the condition for at most 0.2 s, so a Ctrl-C is seen even when nothing signals. */
static void wait_a_little(runner *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->cond, &r->lock, &ts);
}

/* Loss of a finished trial at epoch m: its curve there (or at its last epoch when it ended
 * earlier, converged), +inf when it diverged. */
static double ended_loss(const nf_trial *x, int m)
{
    if (!x->done) return NAN;
    if (x->status == NF_EDIVERGED || x->diverged_epoch) return INFINITY;
    if (x->curve && x->epochs_run > 0) {
        const double v = x->curve[(m < x->epochs_run ? m : x->epochs_run) - 1];
        return isnan(v) ? INFINITY : v;
    }
    return isnan(x->final_loss) ? INFINITY : x->final_loss;
}

/* Decides every rung of grid point g whose trials have all arrived (lock held). */
static void try_decide(runner *r, int g)
{
    sweep_tuning *t = r->t;
    const int N = t->budget, R = t->restarts;
    double *cl = malloc((size_t)N * sizeof *cl), *v = malloc((size_t)R * sizeof *v);
    int *alive = malloc((size_t)N * sizeof *alive);
    if (!cl || !v || !alive) {
        if (!r->error) {
            r->error = NF_ENOMEM;
            snprintf(r->error_text, sizeof r->error_text, "out of memory while tuning");
        }
        free(cl), free(v), free(alive);
        return;
    }
    while (t->decided[g] < t->n_ms[g] - 1) {
        const int k = t->decided[g], m = t->ms[g][k];
        int ready = 1;
        for (int c = 0; c < N && ready; c++) {
            alive[c] = t->alive[g * N + c];
            if (!alive[c]) continue;
            for (int j = 0; j < R && ready; j++) {
                const long i = ((long)g * N + c) * R + j;
                const nf_trial *x = &t->trials[i];
                if (r->state[i] == T_WAITING && r->wait_rung[i] == k) v[j] = isnan(r->wait_loss[i]) ? INFINITY : r->wait_loss[i];
                else if (r->state[i] == T_ENDED && x->done) v[j] = ended_loss(x, m);
                else ready = 0;
            }
            if (!ready) break;
            nf_sort_doubles(v, R);
            cl[c] = nf_quantile_sorted(v, R, 0.5);
        }
        if (!ready) break;
        nf_halving_cut(cl, alive, N, t->eta, NULL);
        for (int c = 0; c < N; c++)
            if (t->alive[g * N + c] && !alive[c]) {
                t->alive[g * N + c] = 0;
                t->cut_rung[g * N + c] = k;
            }
        t->decided[g]++;
        pthread_cond_broadcast(&r->cond);
    }
    free(cl);
    free(v);
    free(alive);
}

static void take_slot(runner *r)
{
    while (r->slots == 0 && !stopping(r)) wait_a_little(r);
    r->slots--;
}

static int on_epoch(void *ctx, int setting, int restart, int epoch, double loss)
{
    runner *r = ctx;
    sweep_tuning *t = r->t;
    const int N = t->budget, g = setting / N;
    int k = -1;
    for (int q = 0; q + 1 < t->n_ms[g]; q++)
        if (t->ms[g][q] == epoch) k = q;
    if (k < 0) return 0;
    const long i = (long)setting * t->restarts + (restart - SWEEP_TUNE_RESTART0);
    pthread_mutex_lock(&r->lock);
    r->state[i] = T_WAITING;
    r->wait_loss[i] = (float)loss; /* as the curve stores it, so a journal's trials decide alike */
    r->wait_rung[i] = k;
    r->slots++;
    try_decide(r, g);
    pthread_cond_broadcast(&r->cond);
    const double t0 = nf_seconds();
    while (t->decided[g] <= k && !stopping(r)) wait_a_little(r);
    const int go_on = !stopping(r) && t->alive[setting];
    take_slot(r); /* finishing a cut trial (its final loss, diagnostics) is work too */
    r->waited[i * MAX_MILESTONES + k] += nf_seconds() - t0;
    r->state[i] = T_RUNNING;
    pthread_mutex_unlock(&r->lock);
    return !go_on;
}

static void progress(runner *r)
{
    char extra[64];
    snprintf(extra, sizeof extra, "%ld ok", r->ok);
    cli_progress_update(&r->bar, r->done, extra);
}

static void *trial_thread(void *arg)
{
    const job *jb = arg;
    runner *r = jb->r;
    sweep_tuning *t = r->t;
    const long i = jb->i;
    const int R = t->restarts, setting = (int)(i / R), j = (int)(i % R), g = setting / t->budget;
    pthread_mutex_lock(&r->lock);
    take_slot(r);
    if (stopping(r)) {
        r->slots++;
        r->state[i] = T_ENDED;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    r->state[i] = T_RUNNING;
    pthread_mutex_unlock(&r->lock);
    nf_trial x;
    nf_status st = nf_sweep_trial(&r->cfg, setting, SWEEP_TUNE_RESTART0 + j, &x, NULL);
    if (!st) { /* the time spent waiting at milestones is not the trial's */
        for (int k = 0; k + 1 < t->n_ms[g]; k++) {
            const double w = r->waited[i * MAX_MILESTONES + k];
            x.seconds -= w;
            if (x.target_epoch > t->ms[g][k]) x.target_seconds -= w;
        }
    }
    if (!st && r->journal) {
        x.setting = r->offset + setting; /* the journal numbers tuning settings after the evaluation ones */
        st = nf_journal_append(r->journal, &x);
        x.setting = setting;
        if (st) nf_trials_free(&x, 1);
    }
    pthread_mutex_lock(&r->lock);
    r->slots++;
    if (st == NF_EINTERRUPTED) {
        /* dropped: not done */
    } else if (st) {
        if (!r->error) {
            r->error = st;
            snprintf(r->error_text, sizeof r->error_text, "%s", nf_last_error());
        }
    } else {
        t->trials[i] = x;
        r->done++;
        r->ok += x.success;
        progress(r);
    }
    r->state[i] = T_ENDED;
    try_decide(r, g);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* The chosen configuration of grid point g by the selection rule. */
static int better(const sweep_tuning *t, int a, int b)
{
    switch (t->select) {
    case SELECT_SUCCESS:
        if (t->rate[a] != t->rate[b]) return t->rate[a] > t->rate[b];
        return t->loss[a] < t->loss[b];
    case SELECT_MEDIAN_LOSS: return t->loss[a] < t->loss[b];
    case SELECT_TTT:
        if (t->ttt[a] != t->ttt[b]) return t->ttt[a] < t->ttt[b];
        return t->loss[a] < t->loss[b];
    case SELECT_DEFAULT: break;
    }
    return sweep_better(t->rate[a], t->ttt[a], t->loss[a], t->rate[b], t->ttt[b], t->loss[b]) < 0;
}

static int choose(sweep_tuning *t)
{
    const int N = t->budget, R = t->restarts;
    double *v = malloc(2 * (size_t)R * sizeof *v);
    if (!v) return cli_usage_error("out of memory");
    for (int g = 0; g < t->G; g++) {
        t->chosen[g] = -1;
        for (int c = 0; c < t->n_cfg[g]; c++) {
            const int s = g * N + c;
            long n = 0, ok = 0;
            for (int j = 0; j < R; j++) {
                const nf_trial *x = &t->trials[(long)s * R + j];
                if (!x->done) continue;
                ok += x->success;
                v[n] = isnan(x->final_loss) ? INFINITY : x->final_loss;
                v[R + n] = sweep_ttt(x, t->unit);
                n++;
                t->seconds[g] += x->seconds;
                t->epochs_run[g] += x->epochs_run;
                t->n_trials[g]++;
            }
            nf_sort_doubles(v, n);
            nf_sort_doubles(v + R, n);
            t->rate[s] = n ? (double)ok / (double)n : 0.0;
            t->loss[s] = n ? nf_quantile_sorted(v, n, 0.5) : INFINITY;
            t->ttt[s] = n ? nf_quantile_sorted(v + R, n, 0.5) : INFINITY;
            if (!t->alive[s]) continue; /* cut by halving */
            if (t->chosen[g] < 0 || better(t, s, g * N + t->chosen[g])) t->chosen[g] = c;
        }
        if (t->chosen[g] < 0) t->chosen[g] = 0;
    }
    free(v);
    return 0;
}

int sweep_tune_run(sweep_tuning *t, const nf_sweep_config *base_cfg, nf_journal *journal, int offset,
                   const sweep_grid *points, sweep_grid *eval)
{
    const int N = t->budget, R = t->restarts;
    const long total = (long)t->G * N * R;
    runner r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.cfg = *base_cfg;
    r.cfg.settings = t->grid.specs;
    r.cfg.n_settings = t->grid.n;
    r.cfg.problem_of = t->grid.problem;
    r.cfg.restarts = R;
    r.cfg.keep_curves = 1; /* halving reads the losses at the milestones */
    r.cfg.journal = NULL;
    r.cfg.on_trial = NULL;
    r.cfg.on_epoch = t->eta > 1.0 ? on_epoch : NULL;
    r.cfg.epoch_ctx = &r;
    r.journal = journal;
    r.offset = offset;
    r.slots = base_cfg->jobs;
    r.state = calloc((size_t)total, 1);
    r.wait_loss = calloc((size_t)total, sizeof *r.wait_loss);
    r.wait_rung = calloc((size_t)total, sizeof *r.wait_rung);
    r.waited = calloc((size_t)total * MAX_MILESTONES, sizeof *r.waited);
    pthread_t *tid = malloc(((size_t)(N * R > THREAD_CAP ? N * R : THREAD_CAP)) * sizeof *tid);
    job *jobs = malloc((size_t)total * sizeof *jobs);
    if (!r.state || !r.wait_loss || !r.wait_rung || !r.waited || !tid || !jobs) {
        free(r.state), free(r.wait_loss), free(r.wait_rung), free(r.waited), free(tid), free(jobs);
        return cli_usage_error("out of memory for the tuning trials");
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    for (long i = 0; i < total; i++) {
        const int s = (int)(i / R), g = s / N, c = s % N;
        if (t->trials[i].done || c >= t->n_cfg[g]) {
            r.state[i] = T_ENDED;
            r.done += t->trials[i].done;
            r.ok += t->trials[i].success;
        }
    }
    /* trials of configurations a replayed rung cuts never start */
    for (int g = 0; g < t->G; g++) try_decide(&r, g);
    cli_progress_start(&r.bar, "tune", total);
    const int blas_before = nf_blas_threads();
    nf_blas_set_threads(1);
    const long cap = N * R > THREAD_CAP ? N * R : THREAD_CAP;
    for (int g0 = 0; g0 < t->G && !stopping(&r);) {
        int g1 = g0; /* whole grid points per group: halving needs all of one point's trials */
        long n = 0;
        while (g1 < t->G && (g1 == g0 || n + (long)N * R <= cap)) n += (long)N * R, g1++;
        int started = 0;
        for (long i = (long)g0 * N * R; i < (long)g1 * N * R; i++) {
            if (r.state[i] != T_PENDING) continue;
            const int s = (int)(i / R);
            if (!t->alive[s] && t->cut_rung[s] >= 0 && t->decided[s / N] > t->cut_rung[s]) {
                r.state[i] = T_ENDED; /* cut before it ran (a journal replay): never runs */
                continue;
            }
            jobs[i] = (job){&r, i};
            if (pthread_create(&tid[started], NULL, trial_thread, &jobs[i])) {
                pthread_mutex_lock(&r.lock);
                if (!r.error) {
                    r.error = NF_ENOMEM;
                    snprintf(r.error_text, sizeof r.error_text, "sweep: cannot start a tuning thread");
                }
                pthread_mutex_unlock(&r.lock);
                break;
            }
            started++;
        }
        for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
        g0 = g1;
    }
    nf_blas_set_threads(blas_before);
    cli_progress_end(&r.bar);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
    const int cancelled = r.cfg.cancel && atomic_load(r.cfg.cancel);
    free(r.state);
    free(r.wait_loss);
    free(r.wait_rung);
    free(r.waited);
    free(tid);
    free(jobs);
    if (r.error) return cli_usage_error("%s", r.error_text);
    if (cancelled) return EXIT_RUN_FAILED;
    int rc = choose(t);
    if (!rc) rc = sweep_grid_derive(eval, points, t->G);
    for (int g = 0; !rc && g < t->G; g++) {
        rc = sweep_build(eval, g, &points->choice[(size_t)g * (size_t)points->n_ax], t->chosen[g]);
        if (rc == SWEEP_SKIP) rc = cli_usage_error("internal: grid point %d does not fit its problem", g);
    }
    if (!rc) eval->n = t->G;
    return rc;
}

/* ---- output ---- */

/* "lr=0.003162 momentum=0.9" of tuning setting s (the tuned values that apply). */
static void chosen_text(const sweep_tuning *t, int s, char *buf, size_t cap)
{
    const sweep_grid *tg = &t->grid;
    size_t pos = 0;
    buf[0] = '\0';
    for (int k = 0; k < tg->n_ax && pos < cap; k++)
        if (tg->ax[k].tuned && sweep_has(tg, s, k))
            pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s=%s", pos ? " " : "", tg->ax[k].row->name,
                                    sweep_value(tg, s, k));
    if (!pos) snprintf(buf, cap, "(nothing tuned applies)");
}

static void fmt_ttt(char *buf, size_t cap, double v, nf_ttt_unit u)
{
    if (isinf(v)) snprintf(buf, cap, "inf");
    else if (u == NF_TTT_SECONDS) snprintf(buf, cap, "%.3g", v);
    else snprintf(buf, cap, "%.0f", v);
}

void sweep_tune_print(const sweep_tuning *t, const sweep_grid *points, FILE *f)
{
    fprintf(f, "# tuning: %d configurations per grid point (scrambled Sobol points over", t->budget);
    for (int i = 0; i < t->n_ranges; i++)
        fprintf(f, "%s %s in [%g, %g]%s", i ? "," : "", t->ranges[i].row->name, t->ranges[i].range.lo,
                t->ranges[i].range.hi, t->ranges[i].range.log_scale ? " (log)" : "");
    fprintf(f, ") x %d tuning seeds; selected by %s (time to target in %s)\n", t->restarts, select_name(t->select),
            sweep_ttt_name(t->unit));
    fprintf(f, "# tuning seeds: derive(seed, 2^24 + j), j < %d; evaluation seeds: derive(seed, r) (never the same)\n",
            t->restarts);
    int w = 30;
    for (int g = 0; g < points->n; g++) w = (int)strlen(points->names[g].label) > w ? (int)strlen(points->names[g].label) : w;
    fprintf(f, "%3s  %-*s %-28s %8s %8s %10s %7s %17s %9s\n", "#", w, "grid point", "chosen", "t_succ", "t_ttt",
            "t_median", "trials", "epochs run/full", "seconds");
    long trials = 0, er = 0, ef = 0;
    double secs = 0;
    for (int g = 0; g < points->n; g++) {
        const int s = g * t->budget + t->chosen[g];
        char ch[256], tt[32], ep[48];
        chosen_text(t, s, ch, sizeof ch);
        fmt_ttt(tt, sizeof tt, t->ttt[s], t->unit);
        snprintf(ep, sizeof ep, "%ld/%ld", t->epochs_run[g], t->epochs_full[g]);
        fprintf(f, "%3d  %-*s %-28s %7.1f%% %8s %10.3e %7ld %17s %9.1f\n", g, w, points->names[g].label, ch,
                100 * t->rate[s], tt, t->loss[s], t->n_trials[g], ep, t->seconds[g]);
        trials += t->n_trials[g], er += t->epochs_run[g], ef += t->epochs_full[g], secs += t->seconds[g];
    }
    fprintf(f, "# tuning cost: %ld trials, %ld epochs, %.1f s of trial time", trials, er, secs);
    if (t->eta > 1.0)
        fprintf(f, "; successive halving (eta %g) ran %ld of the %ld epochs without it (%.1f%% saved)", t->eta, er, ef,
                ef ? 100.0 * (1.0 - (double)er / (double)ef) : 0.0);
    fprintf(f, "\n");
}

static cJSON *num(double v)
{
    if (isinf(v) && v > 0) return cJSON_CreateString("inf");
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

cJSON *sweep_tune_json(const sweep_tuning *t, const sweep_grid *points)
{
    const int N = t->budget, R = t->restarts;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "budget", N);
    cJSON_AddNumberToObject(o, "tune_restarts", R);
    cJSON_AddStringToObject(o, "select", select_name(t->select));
    cJSON_AddStringToObject(o, "ttt_unit", sweep_ttt_name(t->unit));
    if (t->eta > 1.0) cJSON_AddNumberToObject(o, "halving_eta", t->eta);
    else cJSON_AddNullToObject(o, "halving_eta");
    cJSON_AddNumberToObject(o, "tuning_restart0", SWEEP_TUNE_RESTART0);
    cJSON *seeds = cJSON_AddArrayToObject(o, "tuning_seeds");
    for (int j = 0; j < R; j++) {
        char sd[32];
        snprintf(sd, sizeof sd, "%llu", (unsigned long long)nf_sweep_seed(t->seed, SWEEP_TUNE_RESTART0 + j));
        cJSON_AddItemToArray(seeds, cJSON_CreateString(sd));
    }
    cJSON *ranges = cJSON_AddArrayToObject(o, "ranges");
    for (int i = 0; i < t->n_ranges; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "option", t->ranges[i].row->name);
        cJSON_AddNumberToObject(x, "lo", t->ranges[i].range.lo);
        cJSON_AddNumberToObject(x, "hi", t->ranges[i].range.hi);
        cJSON_AddBoolToObject(x, "log", t->ranges[i].range.log_scale);
        cJSON_AddBoolToObject(x, "integer", t->ranges[i].integer);
        cJSON_AddItemToArray(ranges, x);
    }
    cJSON *gps = cJSON_AddArrayToObject(o, "grid_points");
    const sweep_grid *tg = &t->grid;
    for (int g = 0; g < t->G; g++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "grid_point", g);
        cJSON_AddStringToObject(x, "label", points->names[g].label);
        cJSON_AddNumberToObject(x, "evaluation_setting", g);
        cJSON_AddNumberToObject(x, "chosen_config", t->chosen[g]);
        cJSON_AddNumberToObject(x, "configs_run", t->n_cfg[g]);
        cJSON_AddNumberToObject(x, "trials", (double)t->n_trials[g]);
        cJSON_AddNumberToObject(x, "seconds", t->seconds[g]);
        cJSON_AddNumberToObject(x, "epochs_run", (double)t->epochs_run[g]);
        cJSON_AddNumberToObject(x, "epochs_without_halving", (double)t->epochs_full[g]);
        cJSON *ms = cJSON_AddArrayToObject(x, "milestones");
        for (int k = 0; k < t->n_ms[g]; k++) cJSON_AddItemToArray(ms, cJSON_CreateNumber(t->ms[g][k]));
        cJSON *cfgs = cJSON_AddArrayToObject(x, "configs");
        for (int c = 0; c < t->n_cfg[g]; c++) {
            const int s = g * N + c;
            cJSON *y = cJSON_CreateObject();
            cJSON_AddNumberToObject(y, "config", c);
            cJSON *vals = cJSON_AddObjectToObject(y, "values");
            for (int k = 0; k < tg->n_ax; k++)
                if (tg->ax[k].tuned && sweep_has(tg, s, k))
                    cJSON_AddStringToObject(vals, tg->ax[k].row->name, sweep_value(tg, s, k));
            cJSON_AddBoolToObject(y, "eligible", t->alive[s]);
            if (t->cut_rung[s] >= 0) cJSON_AddNumberToObject(y, "cut_at_epoch", t->ms[g][t->cut_rung[s]]);
            else cJSON_AddNullToObject(y, "cut_at_epoch");
            cJSON_AddItemToObject(y, "success_rate", num(t->rate[s]));
            cJSON_AddItemToObject(y, "median_ttt", num(t->ttt[s]));
            cJSON_AddItemToObject(y, "median_final_loss", num(t->loss[s]));
            cJSON *tr = cJSON_AddArrayToObject(y, "trials");
            for (int j = 0; j < R; j++) {
                const nf_trial *z = &t->trials[(long)s * R + j];
                if (z->done) cJSON_AddItemToArray(tr, sweep_trial_json(z));
            }
            cJSON_AddItemToArray(cfgs, y);
        }
        cJSON_AddItemToArray(gps, x);
    }
    return o;
}

int sweep_tune_rows(const sweep_tuning *t, const sweep_grid *points, int *n_cols, char ***header, char ***cells)
{
    static const char *const head[] = {"grid point", "chosen", "tuning success", "tuning median ttt",
                                       "tuning median loss", "trials", "epochs run / without halving", "seconds"};
    enum { NC = 8 };
    *n_cols = NC;
    *header = calloc(NC, sizeof **header);
    *cells = calloc((size_t)points->n * NC, sizeof **cells);
    if (!*header || !*cells) return cli_usage_error("out of memory");
    for (int i = 0; i < NC; i++) (*header)[i] = strdup(head[i]);
    for (int g = 0; g < points->n; g++) {
        const int s = g * t->budget + t->chosen[g];
        char b[NC][320];
        snprintf(b[0], sizeof b[0], "%s", points->names[g].label);
        chosen_text(t, s, b[1], sizeof b[1]);
        snprintf(b[2], sizeof b[2], "%.1f%%", 100 * t->rate[s]);
        fmt_ttt(b[3], sizeof b[3], t->ttt[s], t->unit);
        snprintf(b[4], sizeof b[4], "%.3e", t->loss[s]);
        snprintf(b[5], sizeof b[5], "%ld", t->n_trials[g]);
        snprintf(b[6], sizeof b[6], "%ld / %ld", t->epochs_run[g], t->epochs_full[g]);
        snprintf(b[7], sizeof b[7], "%.1f", t->seconds[g]);
        for (int i = 0; i < NC; i++) (*cells)[(size_t)g * NC + (size_t)i] = strdup(b[i]);
    }
    return 0;
}
