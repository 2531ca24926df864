/* test_sweep_fair.c — `nnfit sweep` comparing settings fairly, end to end: time to target per
 * trial and its quartiles, paired tests against the best (recomputed here: McNemar from the
 * binomial, Wilcoxon by enumerating every sign pattern, Holm by hand), several problems and
 * their performance profiles, tuning budgets (disjoint seeds, the chosen configuration is the
 * best by the rule, the evaluation is the plain sweep of the chosen values), successive halving
 * (the cuts replayed from `nnfit train --log` curves), the journal (kill -9 at random points,
 * rerun, the same results; refusals), the report, and bad input. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers ---- */


static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = '\0';
    fclose(f);
    return b;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static cJSON *load_json(const char *path)
{
    char *t = slurp_file(path);
    ck_assert_msg(t != NULL, "no %s", path);
    cJSON *j = cJSON_Parse(t);
    ck_assert_msg(j != NULL, "%s is not JSON", path);
    free(t);
    return j;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(x != NULL, "no key %s", key);
    if (cJSON_IsString(x) && !strcmp(x->valuestring, "inf")) return INFINITY;
    if (cJSON_IsNull(x)) return NAN;
    if (cJSON_IsBool(x)) return cJSON_IsTrue(x);
    ck_assert_msg(cJSON_IsNumber(x), "key %s is not a number", key);
    return x->valuedouble;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(x != NULL, "no key %s", key);
    return x;
}

static uint64_t jseed(const cJSON *o)
{
    return strtoull(jget(o, "seed")->valuestring, NULL, 10);
}

/* A CSV file: header names and rows of fields (quotes removed). */
typedef struct {
    int n_rows, n_cols;
    char **head;
    char ***row;
} csv;

static char **split_csv_line(const char *line, int *n)
{
    char **f = NULL;
    int k = 0;
    const char *p = line;
    for (;;) {
        char buf[8192];
        size_t j = 0;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                if (*p == '"') p++;
                if (j + 1 < sizeof buf) buf[j++] = *p;
            }
            if (*p == '"') p++;
        } else {
            while (*p && *p != ',' && *p != '\n')
                if (j + 1 < sizeof buf) buf[j++] = *p++;
                else p++;
        }
        buf[j] = '\0';
        f = realloc(f, (size_t)(k + 1) * sizeof *f);
        f[k++] = strdup(buf);
        if (*p != ',') break;
        p++;
    }
    *n = k;
    return f;
}

static csv read_csv(const char *path)
{
    csv c = {0};
    char *t = slurp_file(path);
    ck_assert_msg(t != NULL, "no %s", path);
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int n;
        char **f = split_csv_line(line, &n);
        if (!c.head) {
            c.head = f;
            c.n_cols = n;
            continue;
        }
        ck_assert_int_eq(n, c.n_cols);
        c.row = realloc(c.row, (size_t)(c.n_rows + 1) * sizeof *c.row);
        c.row[c.n_rows++] = f;
    }
    free(t);
    return c;
}

static int col(const csv *c, const char *name)
{
    for (int i = 0; i < c->n_cols; i++)
        if (!strcmp(c->head[i], name)) return i;
    ck_abort_msg("no column %s", name);
    return -1;
}

static void free_csv(csv *c)
{
    for (int r = 0; r < c->n_rows; r++) {
        for (int i = 0; i < c->n_cols; i++) free(c->row[r][i]);
        free(c->row[r]);
    }
    for (int i = 0; i < c->n_cols; i++) free(c->head[i]);
    free(c->head);
    free(c->row);
    memset(c, 0, sizeof *c);
}

/* The two results files are equal apart from the timing columns. */
static void assert_same_results(const char *a, const char *b)
{
    csv x = read_csv(a), y = read_csv(b);
    ck_assert_int_eq(x.n_cols, y.n_cols);
    ck_assert_int_eq(x.n_rows, y.n_rows);
    const int s1 = col(&x, "seconds"), s2 = col(&x, "ttt_seconds");
    for (int i = 0; i < x.n_cols; i++) ck_assert_str_eq(x.head[i], y.head[i]);
    for (int r = 0; r < x.n_rows; r++)
        for (int i = 0; i < x.n_cols; i++)
            if (i != s1 && i != s2)
                ck_assert_msg(!strcmp(x.row[r][i], y.row[r][i]), "%s vs %s: row %d column %s: '%s' vs '%s'", a, b, r,
                              x.head[i], x.row[r][i], y.row[r][i]);
    free_csv(&x);
    free_csv(&y);
}


/* Quantile as numpy's default with +inf taking part (stats.h). */
static double quantile(double *v, int n, double q)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    const double h = (n - 1) * q;
    const int lo = (int)floor(h), hi = (int)ceil(h);
    if (v[lo] == v[hi]) return v[lo];
    if (isinf(v[hi])) return h == lo ? v[lo] : INFINITY;
    return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

/* ---- time to target ---- */

START_TEST(time_to_target_per_trial_and_quartiles)
{
    ck_assert_int_eq(tu_run_nnfit("sweep --task abs --n 512 --batch 64 --epochs 40 --opt adam --lr 0.01,0.03 --restarts 12 "
                         "--jobs 2 --quiet --out fair_ttt.csv --json fair_ttt.json", NULL, NULL), 0);
    csv c = read_csv("fair_ttt.csv");
    const int te = col(&c, "target_epoch"), e = col(&c, "ttt_epochs"), v = col(&c, "ttt_evals"),
              ts = col(&c, "ttt_seconds"), sec = col(&c, "seconds"), set = col(&c, "setting");
    double tt[2][12];
    int n[2] = {0, 0}, reached = 0, never = 0;
    for (int r = 0; r < c.n_rows; r++) {
        const int epoch = atoi(c.row[r][te]);
        const int s = atoi(c.row[r][set]);
        if (epoch > 0) {
            reached++;
            ck_assert_int_eq(atoi(c.row[r][e]), epoch);
            ck_assert_int_eq(atol(c.row[r][v]), 8L * epoch); /* 512 rows / 64: 8 steps per epoch */
            const double secs = strtod(c.row[r][ts], NULL);
            ck_assert(secs > 0 && secs <= strtod(c.row[r][sec], NULL));
            tt[s][n[s]++] = epoch;
        } else {
            never++;
            ck_assert_str_eq(c.row[r][e], "inf");
            ck_assert_str_eq(c.row[r][v], "inf");
            ck_assert_str_eq(c.row[r][ts], "inf");
            tt[s][n[s]++] = INFINITY;
        }
    }
    ck_assert_msg(reached > 0 && never > 0, "reached %d, never %d: the case needs both", reached, never);
    cJSON *j = load_json("fair_ttt.json");
    const cJSON *st;
    int k = 0;
    cJSON_ArrayForEach(st, jget(j, "settings"))
    {
        const cJSON *q = jget(jget(st, "time_to_target"), "epochs");
        ck_assert_int_eq(n[k], 12);
        const double want[3] = {quantile(tt[k], 12, 0.25), quantile(tt[k], 12, 0.5), quantile(tt[k], 12, 0.75)};
        ck_assert(jnum(q, "q1") == want[0] || (isinf(want[0]) && isinf(jnum(q, "q1"))));
        ck_assert(jnum(q, "median") == want[1] || (isinf(want[1]) && isinf(jnum(q, "median"))));
        ck_assert(jnum(q, "q3") == want[2] || (isinf(want[2]) && isinf(jnum(q, "q3"))));
        k++;
    }
    ck_assert_int_eq(k, 2);
    cJSON_Delete(j);
    free_csv(&c);
    remove("fair_ttt.csv");
    remove("fair_ttt.json");
}
END_TEST

/* ---- paired comparisons ---- */

static double binom_cdf_half(long k, long n)
{
    double s = 0;
    for (long i = 0; i <= k; i++) {
        double lc = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1);
        s += exp(lc - (double)n * log(2.0));
    }
    return s;
}

/* Wilcoxon signed-rank p by enumerating all 2^n sign patterns of the mid-ranks of the nonzero
 * differences (+inf vs finite is the largest |d|; equal values are zero differences). */
static double wilcoxon_enum(const double *x, const double *y, int n)
{
    double d[64], a[64], rank[64];
    int m = 0;
    for (int i = 0; i < n; i++) {
        double di;
        if (x[i] == y[i]) continue;
        if (isinf(x[i]) || isinf(y[i])) di = isinf(x[i]) ? INFINITY : -INFINITY;
        else di = x[i] - y[i];
        d[m] = di;
        a[m] = fabs(di);
        m++;
    }
    ck_assert(m <= 20);
    for (int i = 0; i < m; i++) {
        int less = 0, eq = 0;
        for (int j = 0; j < m; j++) less += a[j] < a[i], eq += a[j] == a[i];
        rank[i] = less + (eq + 1) / 2.0;
    }
    double tplus = 0, total = 0;
    for (int i = 0; i < m; i++) {
        total += rank[i];
        if (d[i] > 0) tplus += rank[i];
    }
    const double t = fmin(tplus, total - tplus);
    long below = 0, all = 1L << m;
    for (long mask = 0; mask < all; mask++) {
        double s = 0;
        for (int i = 0; i < m; i++)
            if (mask >> i & 1) s += rank[i];
        below += s <= t + 1e-9;
    }
    return m ? fmin(1.0, 2.0 * (double)below / (double)all) : 1.0;
}

static void holm(const double *p, int m, double *adj)
{
    int idx[64];
    for (int i = 0; i < m; i++) idx[i] = i;
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0 && p[idx[j - 1]] > p[idx[j]]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double run_max = 0;
    for (int k = 0; k < m; k++) {
        double v = fmin(1.0, (m - k) * p[idx[k]]);
        run_max = fmax(run_max, v);
        adj[idx[k]] = run_max;
    }
}

START_TEST(paired_tests_against_the_best)
{
    enum { R = 12, S = 4 };
    char *out = NULL;
    ck_assert_int_eq(tu_run_nnfit("sweep --task abs --n 512 --batch 64 --epochs 40 --opt adam,sgd --lr 0.003,0.03 "
                         "--restarts 12 --jobs 2 --quiet --json fair_cmp.json", &out, NULL), 0);
    cJSON *j = load_json("fair_cmp.json");
    double succ[S][R], loss[S][R], ttt[S][R];
    const cJSON *t;
    cJSON_ArrayForEach(t, jget(j, "trials"))
    {
        const int s = (int)jnum(t, "setting"), r = (int)jnum(t, "restart");
        succ[s][r] = jnum(t, "success");
        loss[s][r] = jnum(t, "final_loss");
        ttt[s][r] = jnum(t, "ttt_epochs");
    }
    /* the best by success, then median time to target, then median final loss */
    double rate[S], mt[S], ml[S];
    for (int s = 0; s < S; s++) {
        double a[R], b[R];
        rate[s] = 0;
        for (int r = 0; r < R; r++) rate[s] += succ[s][r] / R, a[r] = ttt[s][r], b[r] = loss[s][r];
        mt[s] = quantile(a, R, 0.5);
        ml[s] = quantile(b, R, 0.5);
    }
    int best = 0;
    for (int s = 1; s < S; s++)
        if (rate[s] > rate[best] || (rate[s] == rate[best] && (mt[s] < mt[best] || (mt[s] == mt[best] && ml[s] < ml[best]))))
            best = s;
    double p[3][S], adj[3][S];
    int others[S], m = 0;
    for (int s = 0; s < S; s++) {
        if (s == best) continue;
        long b = 0, c = 0;
        for (int r = 0; r < R; r++) b += succ[s][r] > 0 && succ[best][r] == 0, c += succ[s][r] == 0 && succ[best][r] > 0;
        p[0][m] = b + c ? fmin(1.0, 2 * binom_cdf_half(b < c ? b : c, b + c)) : 1.0;
        p[1][m] = wilcoxon_enum(loss[s], loss[best], R);
        p[2][m] = wilcoxon_enum(ttt[s], ttt[best], R);
        others[m++] = s;
    }
    for (int f = 0; f < 3; f++) holm(p[f], m, adj[f]);
    int n_sig = 0, n_not = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, jget(j, "settings"))
    {
        const int s = (int)jnum(st, "setting");
        const cJSON *cmp = jget(st, "comparison");
        ck_assert_int_eq((int)jnum(cmp, "against"), best);
        if (s == best) {
            ck_assert(!cJSON_IsTrue(jget(cmp, "tested")));
            continue;
        }
        int i = 0;
        while (others[i] != s) i++;
        const char *key[3] = {"success_mcnemar", "final_loss_wilcoxon", "time_to_target_wilcoxon"};
        for (int f = 0; f < 3; f++) {
            const cJSON *x = jget(cmp, key[f]);
            ck_assert_msg(fabs(jnum(x, "p") - p[f][i]) <= 1e-9 * fmax(1, p[f][i]), "setting %d %s: p %g, want %g", s,
                          key[f], jnum(x, "p"), p[f][i]);
            ck_assert(fabs(jnum(x, "p_holm") - adj[f][i]) <= 1e-9);
            const int sig = (int)jnum(x, "significant");
            ck_assert_int_eq(sig, adj[f][i] <= 0.05);
            n_sig += sig, n_not += !sig;
        }
    }
    ck_assert_msg(n_sig > 0 && n_not > 0, "significant %d, not %d: the case needs both", n_sig, n_not);
    /* the printed table marks exactly the significant cells with '*' */
    int stars = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (*line == '#') continue;
        const char *end = strchr(line, '\n');
        for (const char *q = line; *q && (!end || q < end); q++) stars += *q == '*';
    }
    ck_assert_int_eq(stars, n_sig);
    cJSON_Delete(j);
    free(out);
    remove("fair_cmp.json");
}
END_TEST

/* ---- several problems ---- */

START_TEST(several_problems_and_profiles)
{
    ck_assert_int_eq(system("cd . && NNFIT=$NNFIT_BIN; $NNFIT data --task abs --n 400 --data-seed 5 --out fair_a.csv "
                            "--quiet && $NNFIT data --task fir --fir-single --n 400 --out fair_b.csv --quiet"), 0);
    char *out = NULL, *err = NULL;
    int rc = tu_run_nnfit("sweep --data fair_a.csv,fair_b.csv --inputs 2,31 --target 2e-3,1e-4 --layers '2,3,1;31,1' "
                 "--opt adam,sgd --lr 0.02 --batch 32 --epochs 30 --restarts 4 --jobs 2 --quiet --out fair_p.csv "
                 "--json fair_p.json", &out, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    /* 2 problems x 2 optimizers: the architecture that does not fit a problem is left out there */
    cJSON *j = load_json("fair_p.json");
    ck_assert_int_eq(cJSON_GetArraySize(jget(j, "settings")), 4);
    const cJSON *st;
    double med[2][2];
    cJSON_ArrayForEach(st, jget(j, "settings"))
    {
        const int pr = (int)jnum(st, "problem");
        ck_assert_str_eq(jget(st, "layers")->valuestring, pr ? "31,1" : "2,3,1");
        ck_assert(jnum(st, "target") == (pr ? 1e-4 : 2e-3));
        const int o = !strcmp(jget(st, "opt")->valuestring, "sgd");
        med[pr][o] = jnum(jget(jget(st, "time_to_target"), "epochs"), "median");
    }
    /* profile: ratios to the best solver per problem, rho(tau) the share within tau */
    const cJSON *pf = jget(j, "performance_profile");
    const cJSON *tau = jget(pf, "tau"), *sol;
    int si = 0;
    cJSON_ArrayForEach(sol, jget(pf, "solvers"))
    {
        const int o = !strcmp(jget(sol, "name")->valuestring, "sgd");
        ck_assert_str_eq(jget(sol, "name")->valuestring, o ? "sgd" : "adam");
        int k = 0;
        const cJSON *tv;
        cJSON_ArrayForEach(tv, tau)
        {
            double want = 0;
            for (int pr = 0; pr < 2; pr++) {
                const double b = fmin(med[pr][0], med[pr][1]);
                if (isfinite(med[pr][o]) && med[pr][o] / b <= tv->valuedouble) want += 0.5;
            }
            ck_assert(fabs(cJSON_GetArrayItem(jget(sol, "rho"), k)->valuedouble - want) < 1e-12);
            k++;
        }
        si++;
    }
    ck_assert_int_eq(si, 2);
    /* the expected time to a success: every trial's epochs to the target (or all its epochs when
     * it never got there) summed, over the number that reached the target */
    double tot[2][2] = {{0}}, hits[2][2] = {{0}};
    const cJSON *st2, *tr;
    int prob_of[4], opt_of[4];
    cJSON_ArrayForEach(st2, jget(j, "settings"))
    {
        const int s = (int)jnum(st2, "setting");
        prob_of[s] = (int)jnum(st2, "problem");
        opt_of[s] = !strcmp(jget(st2, "opt")->valuestring, "sgd");
    }
    cJSON_ArrayForEach(tr, jget(j, "trials"))
    {
        const int s = (int)jnum(tr, "setting");
        const double t = jnum(tr, "ttt_epochs");
        tot[prob_of[s]][opt_of[s]] += isinf(t) ? jnum(tr, "epochs_run") : t;
        hits[prob_of[s]][opt_of[s]] += !isinf(t);
    }
    const cJSON *pe = jget(j, "performance_profile_ert");
    cJSON_ArrayForEach(sol, jget(pe, "solvers"))
    {
        const int o = !strcmp(jget(sol, "name")->valuestring, "sgd");
        for (int pr = 0; pr < 2; pr++) {
            const double want = hits[pr][o] > 0 ? tot[pr][o] / hits[pr][o] : INFINITY;
            const cJSON *x = cJSON_GetArrayItem(jget(sol, "time"), pr);
            const double got = cJSON_IsString(x) ? INFINITY : x->valuedouble;
            ck_assert_msg(got == want || fabs(got - want) < 1e-9 * want, "ert %d/%d: %g, want %g", pr, o, got, want);
        }
    }
    ck_assert_ptr_nonnull(strstr(out, "# performance profile"));
    ck_assert_ptr_nonnull(strstr(out, "expected time to a success"));
    ck_assert_ptr_nonnull(strstr(out, "# problem 1: fair_b.csv (target 0.0001)"));
    /* every trial's rerun command reproduces it on its own problem's file */
    csv c = read_csv("fair_p.csv");
    const int cc = col(&c, "command"), fl = col(&c, "final_loss");
    for (int r = 0; r < c.n_rows; r += 3) {
        char cmd[4096], *o2 = NULL, want[64];
        snprintf(cmd, sizeof cmd, "%s%s", tu_nnfit(), c.row[r][cc] + strlen("nnfit"));
        ck_assert_int_eq(tu_run_cmd(cmd, &o2, NULL), 0);
        snprintf(want, sizeof want, "final_loss: %.6e\n", strtod(c.row[r][fl], NULL));
        ck_assert_msg(strstr(o2, want) != NULL, "%s printed %s, expected %s", cmd, o2, want);
        free(o2);
    }
    free_csv(&c);
    cJSON_Delete(j);
    free(out);
    free(err);
    tu_expect_usage_error("sweep --data fair_a.csv,fair_b.csv --inputs 2,31 --target 1e-3 --layers 2,3,1 --restarts 1",
                       "no grid point fits problem fair_b.csv");
    tu_expect_usage_error("sweep --data fair_a.csv,fair_b.csv --inputs 2,31,4 --target 1e-3 --hidden 3 --restarts 1",
                       "--inputs has 3 values for 2 --data files");
    tu_expect_usage_error("sweep --task abs,fir --target 1e-3,1e-3,1 --restarts 1", "--target has 3 values for 2 problems");
    remove("fair_a.csv");
    remove("fair_b.csv");
    remove("fair_p.csv");
    remove("fair_p.json");
}
END_TEST

/* ---- tuning ---- */

static int better_cfg(const char *rule, double ra, double ta, double la, double rb, double tb, double lb)
{
    if (!strcmp(rule, "success")) return ra != rb ? ra > rb : la < lb;
    if (!strcmp(rule, "median-loss")) return la < lb;
    if (!strcmp(rule, "time-to-target")) return ta != tb ? ta < tb : la < lb;
    if (ra != rb) return ra > rb;
    if (ta != tb) return ta < tb;
    return la < lb;
}

START_TEST(tuning_seeds_are_disjoint_and_the_choice_is_the_best)
{
    static const char *rules[] = {"", "success", "median-loss", "time-to-target"};
    for (int ru = 0; ru < 4; ru++) {
        char args[2048], *err = NULL;
        snprintf(args, sizeof args,
                 "sweep --task abs --n 512 --batch 64 --epochs 30 --opt adam,sgd --tune lr=1e-3:0.3:log "
                 "--tune momentum=0:0.95 --budget 6 --tune-restarts 3 --restarts 8 --seed 4 --jobs 2 --quiet "
                 "--json fair_tune.json --out fair_tune.csv %s%s", *rules[ru] ? "--select " : "", rules[ru]);
        ck_assert_msg(tu_run_nnfit(args, NULL, &err) == 0, "%s: %s", args, err);
        free(err);
        cJSON *j = load_json("fair_tune.json");
        const cJSON *tu = jget(j, "tuning");
        ck_assert_int_eq((int)jnum(tu, "tuning_restart0"), 1 << 24);
        /* tuning seeds derive(seed, 2^24 + j), evaluation seeds derive(seed, r), never equal */
        uint64_t tseeds[3];
        for (int k = 0; k < 3; k++) {
            tseeds[k] = strtoull(cJSON_GetArrayItem(jget(tu, "tuning_seeds"), k)->valuestring, NULL, 10);
            ck_assert(tseeds[k] == nf_sweep_seed(4, (1 << 24) + k));
        }
        const cJSON *t;
        int n_eval = 0;
        cJSON_ArrayForEach(t, jget(j, "trials"))
        {
            const uint64_t s = jseed(t);
            ck_assert(s == nf_sweep_seed(4, (int)jnum(t, "restart")));
            for (int k = 0; k < 3; k++) ck_assert(s != tseeds[k]);
            n_eval++;
        }
        ck_assert_int_eq(n_eval, 16);
        const cJSON *gp;
        int g = 0;
        cJSON_ArrayForEach(gp, jget(tu, "grid_points"))
        {
            int chosen = -1, c = 0;
            double br = 0, bt = 0, bl = 0;
            const cJSON *cf;
            cJSON_ArrayForEach(cf, jget(gp, "configs"))
            {
                double succ[3], ttt[3], loss[3];
                int n = 0;
                cJSON_ArrayForEach(t, jget(cf, "trials"))
                {
                    const uint64_t s = jseed(t);
                    ck_assert(s == tseeds[n]); /* the tuning seeds, in order */
                    succ[n] = jnum(t, "success");
                    ttt[n] = jnum(t, "ttt_epochs");
                    loss[n] = jnum(t, "final_loss");
                    n++;
                }
                ck_assert_int_eq(n, 3);
                const double r = (succ[0] + succ[1] + succ[2]) / 3, tm = quantile(ttt, 3, 0.5), lm = quantile(loss, 3, 0.5);
                ck_assert(fabs(jnum(cf, "success_rate") - r) < 1e-12);
                ck_assert(fabs(jnum(cf, "median_final_loss") - lm) <= 1e-12 * lm);
                /* momentum is tuned only for the optimizer that reads it */
                const cJSON *vals = jget(cf, "values");
                ck_assert_int_eq(cJSON_GetObjectItem(vals, "momentum") != NULL, g == 1);
                if (chosen < 0 || better_cfg(rules[ru], r, tm, lm, br, bt, bl)) chosen = c, br = r, bt = tm, bl = lm;
                c++;
            }
            ck_assert_int_eq(c, 6);
            ck_assert_msg((int)jnum(gp, "chosen_config") == chosen, "rule '%s', grid point %d: chose %d, best is %d",
                          rules[ru], g, (int)jnum(gp, "chosen_config"), chosen);
            /* the evaluation setting carries the chosen values */
            const cJSON *cv = jget(cJSON_GetArrayItem(jget(gp, "configs"), chosen), "values");
            const cJSON *opts = jget(cJSON_GetArrayItem(jget(j, "settings"), g), "options");
            ck_assert_str_eq(jget(opts, "lr")->valuestring, jget(cv, "lr")->valuestring);
            if (g == 1) ck_assert_str_eq(jget(opts, "momentum")->valuestring, jget(cv, "momentum")->valuestring);
            g++;
        }
        ck_assert_int_eq(g, 2);
        if (ru == 0) {
            /* the evaluation is exactly the plain sweep of the chosen values */
            const cJSON *o0 = jget(cJSON_GetArrayItem(jget(j, "settings"), 0), "options");
            const cJSON *o1 = jget(cJSON_GetArrayItem(jget(j, "settings"), 1), "options");
            char plain[1024];
            snprintf(plain, sizeof plain,
                     "sweep --task abs --n 512 --batch 64 --epochs 30 --opt sgd --lr %s --momentum %s --restarts 8 "
                     "--seed 4 --jobs 1 --quiet --out fair_plain.csv",
                     jget(o1, "lr")->valuestring, jget(o1, "momentum")->valuestring);
            ck_assert_int_eq(tu_run_nnfit(plain, NULL, NULL), 0);
            csv a = read_csv("fair_tune.csv"), b = read_csv("fair_plain.csv");
            const int fa = col(&a, "final_loss"), fb = col(&b, "final_loss"), sa = col(&a, "seed"), sb = col(&b, "seed");
            ck_assert_int_eq(b.n_rows, 8);
            for (int r = 0; r < 8; r++) {
                ck_assert_str_eq(a.row[8 + r][fa], b.row[r][fb]);
                ck_assert_str_eq(a.row[8 + r][sa], b.row[r][sb]);
            }
            free_csv(&a);
            free_csv(&b);
            (void)o0;
            remove("fair_plain.csv");
        }
        cJSON_Delete(j);
    }
    remove("fair_tune.json");
    remove("fair_tune.csv");
}
END_TEST

/* Epoch losses of `nnfit train ... --log` (column 2). */
static void epoch_losses(const char *cmd, double *loss, int epochs)
{
    char full[4096];
    snprintf(full, sizeof full, "%s --log fair_log.csv --quiet > /dev/null", cmd);
    ck_assert_int_eq(system(full), 0);
    csv c = read_csv("fair_log.csv");
    ck_assert_int_eq(c.n_rows, epochs);
    for (int e = 0; e < epochs; e++) loss[e] = strtod(c.row[e][1], NULL);
    free_csv(&c);
    remove("fair_log.csv");
}

START_TEST(halving_cuts_at_the_milestones)
{
    enum { N = 9, R = 2, E = 54 };
    const char *base = "sweep --task abs --n 512 --batch 64 --epochs 54 --opt adam --tune lr=1e-3:0.3:log --budget 9 "
                       "--halving 3 --tune-restarts 2 --restarts 3 --seed 2 --quiet";
    char args[2048], *out = NULL;
    snprintf(args, sizeof args, "%s --jobs 2 --json fair_h2.json", base);
    ck_assert_int_eq(tu_run_nnfit(args, &out, NULL), 0);
    snprintf(args, sizeof args, "%s --jobs 1 --json fair_h1.json", base);
    ck_assert_int_eq(tu_run_nnfit(args, NULL, NULL), 0);
    cJSON *j = load_json("fair_h2.json"), *j1 = load_json("fair_h1.json");
    const cJSON *gp = cJSON_GetArrayItem(jget(jget(j, "tuning"), "grid_points"), 0);
    const cJSON *gp1 = cJSON_GetArrayItem(jget(jget(j1, "tuning"), "grid_points"), 0);
    const cJSON *ms = jget(gp, "milestones");
    /* one rung fewer than would leave one configuration: 9 -> 3 at epoch 18, 3 train to 54 */
    ck_assert_int_eq(cJSON_GetArraySize(ms), 2);
    const int m[2] = {cJSON_GetArrayItem(ms, 0)->valueint, cJSON_GetArrayItem(ms, 1)->valueint};
    ck_assert(m[0] == 18 && m[1] == 54);
    /* the saved compute: 9 x 18 + 3 x 36 epochs per seed instead of 9 x 54 */
    ck_assert_int_eq((long)jnum(gp, "epochs_run"), R * nf_halving_epochs(N, m, 2, 3.0));
    ck_assert_int_eq((long)jnum(gp, "epochs_run"), R * (9 * 18 + 3 * 36));
    ck_assert_int_eq((long)jnum(gp, "epochs_without_halving"), R * N * E);
    ck_assert_ptr_nonnull(strstr(out, "successive halving (eta 3) ran 540 of the 972 epochs"));
    /* replay the cuts from each trial's curve (nnfit train --log): median over the seeds of the
     * epoch loss (as float) at each milestone, keep the best third */
    double curve[N][R][E];
    int alive[N], cut_at[N];
    const cJSON *seeds = jget(jget(j, "tuning"), "tuning_seeds");
    for (int c = 0; c < N; c++) {
        const char *lr = jget(jget(cJSON_GetArrayItem(jget(gp, "configs"), c), "values"), "lr")->valuestring;
        for (int r = 0; r < R; r++) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "%s train --task abs --n 512 --batch 64 --epochs 54 --opt adam --lr %s --seed %s "
                     "--threads 1", tu_nnfit(), lr, cJSON_GetArrayItem(seeds, r)->valuestring);
            epoch_losses(cmd, curve[c][r], E);
        }
        alive[c] = 1;
        cut_at[c] = -1;
    }
    for (int k = 0; k < 1; k++) {
        double med[N] = {0};
        int n_alive = 0;
        for (int c = 0; c < N; c++) {
            if (!alive[c]) continue;
            double v[R];
            for (int r = 0; r < R; r++) v[r] = (float)curve[c][r][m[k] - 1];
            med[c] = quantile(v, R, 0.5);
            n_alive++;
        }
        const int keep = n_alive / 3 > 1 ? n_alive / 3 : 1;
        for (int c = 0; c < N; c++) {
            if (!alive[c]) continue;
            int better = 0;
            for (int d = 0; d < N; d++)
                if (alive[d] && d != c && (med[d] < med[c] || (med[d] == med[c] && d < c))) better++;
            if (better >= keep) cut_at[c] = m[k];
        }
        for (int c = 0; c < N; c++)
            if (cut_at[c] == m[k]) alive[c] = 0;
    }
    for (int c = 0; c < N; c++) {
        const cJSON *cf = cJSON_GetArrayItem(jget(gp, "configs"), c), *cf1 = cJSON_GetArrayItem(jget(gp1, "configs"), c);
        const double got = jnum(cf, "cut_at_epoch");
        ck_assert_msg(cut_at[c] < 0 ? isnan(got) : got == cut_at[c], "config %d: cut at %g, replay says %d", c, got,
                      cut_at[c]);
        ck_assert(jnum(cf1, "cut_at_epoch") == got || (isnan(got) && isnan(jnum(cf1, "cut_at_epoch")))); /* any --jobs */
        const cJSON *t;
        int r = 0;
        cJSON_ArrayForEach(t, jget(cf, "trials"))
        {
            /* a cut trial stops at its milestone; the survivor trains on (never restarted): its
             * last epoch loss is the full run's */
            ck_assert_int_eq((int)jnum(t, "epochs_run"), cut_at[c] < 0 ? E : cut_at[c]);
            r++;
        }
        ck_assert_int_eq(r, R);
        ck_assert(jnum(cf1, "median_final_loss") == jnum(cf, "median_final_loss"));
    }
    /* the rule picks among the three that trained to the end */
    int chosen = -1;
    double br = 0, bt = 0, bl = 0;
    for (int c = 0; c < N; c++) {
        const cJSON *cf = cJSON_GetArrayItem(jget(gp, "configs"), c);
        ck_assert_int_eq((int)jnum(cf, "eligible"), cut_at[c] < 0);
        if (cut_at[c] >= 0) continue;
        const double rr = jnum(cf, "success_rate"), tm = jnum(cf, "median_ttt"), lm = jnum(cf, "median_final_loss");
        if (chosen < 0 || better_cfg("", rr, tm, lm, br, bt, bl)) chosen = c, br = rr, bt = tm, bl = lm;
    }
    ck_assert_int_eq((int)jnum(gp, "chosen_config"), chosen);
    cJSON_Delete(j);
    cJSON_Delete(j1);
    free(out);
    remove("fair_h1.json");
    remove("fair_h2.json");
}
END_TEST

/* ---- the journal ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs `nnfit ARGS` in the background and kills it with SIGKILL after `delay` seconds (or
 * lets it finish first).  Returns 1 when it was killed. */
static int run_and_kill(const char *args, double delay)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>&1", tu_nnfit(), args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    usleep((useconds_t)(delay * 1e6));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

/* An uninterrupted run against a run killed with SIGKILL at random points, each time rerun
 * with the same command: the results are the same, timing aside. */
static void resume_case(const char *args, const char *tag, int trials)
{
    char a[4096], ref[64], got[64], jn[64];
    snprintf(ref, sizeof ref, "fair_%s_ref.csv", tag);
    snprintf(got, sizeof got, "fair_%s_got.csv", tag);
    snprintf(jn, sizeof jn, "fair_%s.journal", tag);
    remove(jn);
    remove(got);
    snprintf(a, sizeof a, "%s --out %s", args, ref);
    const double t0 = now_seconds();
    ck_assert_int_eq(tu_run_nnfit(a, NULL, NULL), 0);
    const double T = now_seconds() - t0;
    srand((unsigned)time(NULL));
    snprintf(a, sizeof a, "%s --journal %s --out %s", args, jn, got);
    int kills = 0, grew = 0;
    long last = 0;
    for (int round = 0; round < 5; round++) { /* each run gets a random share of the whole time */
        const double delay = T * (0.05 + 0.1 * rand() / (double)RAND_MAX);
        const int killed = run_and_kill(a, delay);
        kills += killed;
        if (killed) ck_assert(!file_exists(got)); /* a killed sweep writes no results */
        struct stat sb;
        if (stat(jn, &sb) == 0) {
            grew += sb.st_size > last;
            last = sb.st_size;
        }
    }
    ck_assert_msg(kills >= 3, "only %d of 5 runs were killed (the sweep takes %.2f s)", kills, T);
    ck_assert_msg(grew >= 1, "the journal never grew in the killed runs (%d)", grew);
    ck_assert_int_eq(tu_run_nnfit(a, NULL, NULL), 0);
    assert_same_results(ref, got);
    /* every trial was recorded once: a rerun ran only the trials the journal lacked */
    char *jt = slurp_file(jn);
    int records = 0;
    for (const char *p = jt; (p = strstr(p, "\nt ")); p++) records++;
    ck_assert_int_eq(records, trials);
    free(jt);
    /* run once more: nothing left to run, the same results */
    remove(got);
    ck_assert_int_eq(tu_run_nnfit(a, NULL, NULL), 0);
    assert_same_results(ref, got);
    remove(ref);
    remove(got);
    remove(jn);
    /* a SIGKILL that lands while the journal is being replaced leaves its temporary file */
    char rm[128];
    snprintf(rm, sizeof rm, "rm -f .%s.tmp*", jn);
    ck_assert_int_eq(system(rm), 0);
}

START_TEST(journal_resumes_a_killed_sweep)
{
    resume_case("sweep --task abs --n 2048 --batch 16 --epochs 150 --restarts 24 --opt adam,sgd --lr 0.01 --jobs 2 "
                "--quiet", "plain", 2 * 24);
}
END_TEST

START_TEST(journal_resumes_a_killed_tuned_sweep)
{
    resume_case("sweep --task abs --n 2048 --batch 16 --epochs 135 --restarts 12 --opt adam,sgd --tune lr=1e-3:0.1:log "
                "--budget 9 --halving 3 --tune-restarts 2 --jobs 2 --quiet", "tuned", 2 * 9 * 2 + 2 * 12);
}
END_TEST

/* CRC-32 (the zlib polynomial), as the journal's header carries it. */
static unsigned crc32_of(const char *p, size_t n)
{
    unsigned c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

START_TEST(journal_of_another_sweep_is_refused)
{
    const char *base = "sweep --task abs --n 256 --epochs 5 --restarts 3 --quiet --journal fair_j.journal";
    char a[2048];
    remove("fair_j.journal");
    ck_assert_int_eq(tu_run_nnfit(base, NULL, NULL), 0);
    char *before = slurp_file("fair_j.journal");
    snprintf(a, sizeof a, "sweep --task abs --n 256 --epochs 6 --restarts 3 --quiet --journal fair_j.journal "
                          "--out fair_j.csv");
    tu_expect_usage_error(a, "belongs to another sweep: grid line 2 is 'setting 0 problem 0: --task abs --n 256 --epochs 5' "
                          "there, 'setting 0 problem 0: --task abs --n 256 --epochs 6' here");
    snprintf(a, sizeof a, "sweep --task abs --n 256 --epochs 5 --restarts 4 --quiet --journal fair_j.journal "
                          "--out fair_j.csv");
    tu_expect_usage_error(a, "restarts 3 seed 0 there, restarts 4 seed 0 here");
    snprintf(a, sizeof a, "%s --tune lr=1e-3:1:log --budget 2 --out fair_j.csv", base);
    tu_expect_usage_error(a, "belongs to another sweep: grid line");
    ck_assert(!file_exists("fair_j.csv"));
    char *after = slurp_file("fair_j.journal");
    ck_assert_str_eq(before, after); /* untouched */
    /* written by another version of the program (the header's checksum made to match) */
    char *v = strstr(after, "version nnfit ");
    ck_assert_ptr_nonnull(v);
    v[strlen("version nnfit ")] = '9';
    char *hc = strstr(after, "header-crc ");
    ck_assert_ptr_nonnull(hc);
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", crc32_of(after, (size_t)(hc - after)));
    memcpy(hc + strlen("header-crc "), crc, 8);
    FILE *f = fopen("fair_j.journal", "wb");
    fputs(after, f);
    fclose(f);
    snprintf(a, sizeof a, "%s --out fair_j.csv", base);
    tu_expect_usage_error(a, "belongs to another sweep: version nnfit 9.1.0 there, nnfit " NNFIT_VERSION " here");
    ck_assert(!file_exists("fair_j.csv"));
    free(before);
    free(after);
    remove("fair_j.journal");
}
END_TEST

/* ---- the report ---- */

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

START_TEST(report_has_every_table_and_picture)
{
    ck_assert_int_eq(system("rm -rf fair_report"), 0);
    char *err = NULL;
    int rc = tu_run_nnfit("sweep --task abs,fir --target 2e-3,1e-4 --n 256 --epochs 12 --opt adam,sgd --tune lr=1e-3:0.1:log "
                 "--budget 2 --tune-restarts 1 --restarts 4 --jobs 2 --quiet --report fair_report", NULL, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    free(err);
    char *html = slurp_file("fair_report/index.html");
    ck_assert_ptr_nonnull(html);
    int tables = 0;
    for (const char *p = html; (p = strstr(p, "<table")); p++) tables++;
    ck_assert_int_eq(tables, 5); /* one summary per problem, tuning, two profiles */
    ck_assert_ptr_nonnull(strstr(html, "Chosen configuration of every grid point"));
    ck_assert_ptr_nonnull(strstr(html, "Performance profiles across problems"));
    ck_assert_ptr_nonnull(strstr(html, "p success (McNemar, Holm)"));
    ck_assert_ptr_nonnull(strstr(html, "nnfit sweep --task abs,fir"));
    /* no broken link: every in-page link names an id of the page, every other one a file of
     * the report */
    int links = 0;
    for (const char *p = html; (p = strstr(p, "href=\"")); p++) {
        char target[256], want[300];
        ck_assert_int_eq(sscanf(p + strlen("href=\""), "%255[^\"]", target), 1);
        if (target[0] == '#')
            snprintf(want, sizeof want, "id=\"%s\"", target + 1);
        else {
            ck_assert_msg(!strstr(target, "://"), "the report links outside itself: %s", target);
            snprintf(want, sizeof want, "fair_report/%s", target);
        }
        ck_assert_msg(target[0] == '#' ? strstr(html, want) != NULL : file_exists(want), "broken link %s", target);
        links++;
    }
    ck_assert_int_ge(links, 4); /* the contents: two problems, tuning, profiles */
    if (have("gnuplot")) {
        static const char *pics[] = {"profile.svg", "profile_ert.svg", "final_loss.svg"};
        for (int i = 0; i < 3; i++) {
            char q[64];
            snprintf(q, sizeof q, "src=\"%s\"", pics[i]);
            ck_assert_msg(strstr(html, q) != NULL, "no %s in the report", pics[i]);
        }
        int imgs = 0;
        for (const char *p = html; (p = strstr(p, "<img src=\"")); p++) {
            char name[256], path[300];
            sscanf(p + strlen("<img src=\""), "%255[^\"]", name);
            snprintf(path, sizeof path, "fair_report/%s", name);
            ck_assert_msg(file_exists(path), "%s is missing", path);
            imgs++;
        }
        ck_assert_int_ge(imgs, 3 + 4 + 2); /* profiles, finals, 4 curve pictures, 2 abs surfaces */
        ck_assert_ptr_nonnull(strstr(html, "_surface.svg"));
    }
    if (have("chromium")) { /* the page renders and every picture loads */
        char cmd[1024], *dom = NULL;
        char cwd[512];
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
        snprintf(cmd, sizeof cmd,
                 "d=$(mktemp -d); timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
                 "--disable-background-networking --user-data-dir=$d --dump-dom 'file://%s/fair_report/index.html'; "
                 "rm -rf $d", cwd);
        ck_assert_int_eq(tu_run_cmd(cmd, &dom, NULL), 0);
        int t2 = 0;
        for (const char *p = dom; (p = strstr(p, "<table")); p++) t2++;
        ck_assert_int_eq(t2, 5);
        free(dom);
    }
    free(html);
    ck_assert_int_eq(system("rm -rf fair_report"), 0);
    /* a report folder that is a file: refused before any work, nothing written */
    FILE *f = fopen("fair_report_file", "w");
    fputs("x", f);
    fclose(f);
    tu_expect_usage_error("sweep --task abs --restarts 2 --report fair_report_file --out fair_r.csv", "is a file");
    ck_assert(!file_exists("fair_r.csv"));
    char *kept = slurp_file("fair_report_file");
    ck_assert_str_eq(kept, "x"); /* left as it was */
    free(kept);
    remove("fair_report_file");
}
END_TEST

/* ---- bad input ---- */

START_TEST(bad_input_exits_2_and_writes_nothing)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        {"--tune lr=1:0:log", "--tune lr=1:0:log"},
        {"--tune lr=0:1:log", "--tune lr=0:1:log"},
        {"--tune lr=abc", "--tune lr=abc"},
        {"--tune lr", "expected NAME=LO:HI"},
        {"--tune lr=1e-3:1:cube", "--tune lr=1e-3:1:cube"},
        {"--tune bogus=0:1", "there is no option --bogus"},
        {"--tune betas=0.8:0.99", "not a numeric run option that can be tuned"},
        {"--tune epochs=10:20", "not a numeric run option that can be tuned"},
        {"--tune momentum=0:2000 --opt sgd", "leaves the values --momentum accepts, [0, 1000]"},
        {"--tune lr=1e-3:1 --tune lr=1e-2:1", "tuned twice"},
        {"--tune lr=1e-3:1 --lr 0.01", "--lr is given and tuned"},
        {"--tune momentum=0:0.9 --opt adam", "--tune momentum: applies to none of the sweep's optimizers (it is read by: sgd rmsprop)"},
        {"--tune lr=1e-3:1 --budget 0", "--budget: 0 is outside [1, 255]"},
        {"--tune lr=1e-3:1 --tune-restarts 0", "--tune-restarts: 0 is outside"},
        {"--tune lr=1e-3:1 --halving 1", "--halving: 1 is not a reduction factor"},
        {"--tune lr=1e-3:1 --select best", "--select: 'best' is not one of"},
        {"--tune lr=1e-3:1 --budget 8 --halving 3", "--halving 3 needs --budget 9 or more"},
        {"--budget 4", "go with --tune NAME=LO:HI"},
        {"--ttt-unit hours", "--ttt-unit: 'hours' is not one of"},
        {"--task abs,abs", "--task: 'abs' is given twice"},
        {"--journal ''", "--journal: empty file name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char a[1024];
        snprintf(a, sizeof a, "sweep --task abs --n 128 --epochs 2 --restarts 1 --quiet %s --out fair_bad.csv "
                              "--json fair_bad.json --journal fair_bad.journal", cases[i].args);
        if (strstr(cases[i].args, "--journal")) /* the empty name case gives its own */
            snprintf(a, sizeof a, "sweep --task abs --n 128 --epochs 2 --restarts 1 --quiet %s --out fair_bad.csv",
                     cases[i].args);
        tu_expect_usage_error(a, cases[i].msg);
        ck_assert_msg(!file_exists("fair_bad.csv") && !file_exists("fair_bad.json") && !file_exists("fair_bad.journal"),
                      "'%s' wrote a file", a);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_sweep_fair");
    TCase *tc = tcase_create("fair");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, time_to_target_per_trial_and_quartiles);
    tcase_add_test(tc, paired_tests_against_the_best);
    tcase_add_test(tc, several_problems_and_profiles);
    tcase_add_test(tc, tuning_seeds_are_disjoint_and_the_choice_is_the_best);
    tcase_add_test(tc, halving_cuts_at_the_milestones);
    tcase_add_test(tc, journal_resumes_a_killed_sweep);
    tcase_add_test(tc, journal_resumes_a_killed_tuned_sweep);
    tcase_add_test(tc, journal_of_another_sweep_is_refused);
    tcase_add_test(tc, report_has_every_table_and_picture);
    tcase_add_test(tc, bad_input_exits_2_and_writes_nothing);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
