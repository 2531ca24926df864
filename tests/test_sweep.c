/* test_sweep.c — neuron diagnostics, sweep statistics, determinism and reproducibility. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- statistics ---- */

/* References: the Wilson formula evaluated independently in Python (double precision). */
START_TEST(wilson_numbers)
{
    static const struct { long k, n; double lo, hi; } ref[] = {
        {15, 20, 0.5312991224, 0.8881382986},  {0, 10, 0.0, 0.2775327999},
        {10, 10, 0.7224672001, 1.0},           {1, 200, 0.0008831687, 0.0277737044},
        {57, 200, 0.2269500300, 0.3511534603},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        double lo, hi;
        nf_wilson(ref[i].k, ref[i].n, 1.959963984540054, &lo, &hi);
        ck_assert_close(lo, ref[i].lo, 1e-9);
        ck_assert_close(hi, ref[i].hi, 1e-9);
    }
    double lo, hi;
    nf_wilson(0, 0, 1.96, &lo, &hi);
    ck_assert(lo == 0.0 && hi == 1.0);
}
END_TEST

/* Reference: numpy.quantile([5,1,3,2,4,10,7], [0.1, 0.5, 0.9]) = [1.6, 4, 8.2]. */
START_TEST(quantiles_match_numpy)
{
    const double s[] = {1, 2, 3, 4, 5, 7, 10};
    ck_assert_close(nf_quantile_sorted(s, 7, 0.1), 1.6, 1e-12);
    ck_assert_close(nf_quantile_sorted(s, 7, 0.5), 4.0, 1e-12);
    ck_assert_close(nf_quantile_sorted(s, 7, 0.9), 8.2, 1e-12);
    ck_assert(isnan(nf_quantile_sorted(s, 0, 0.5)));
}
END_TEST

/* ---- diagnostics on hand-built models ---- */

/* 2→5→1 relu net on a 21×21 grid over [-1,1]²:
 *   u0 z = x            (active where x > 0: 10 of 21 columns)
 *   u1 z = 2x + 0.01y   (same kink as u0 within 0.3°: duplicate of 0)
 *   u2 z = y - 5        (never > 0: dead)
 *   u3 z = y + 5        (always > 0: always-on)
 *   u4 z = x + 0.05y    (2.9° from u0: not a duplicate at 1°) */
static nf_model *hand_model(nf_mat *X)
{
    int sizes[] = {2, 5, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
    const float W1[] = {1, 0, 2, 0.01f, 0, 1, 0, 1, 1, 0.05f}, b1[] = {0, 0, -5, 5, 0};
    const float W2[] = {0.5f, -2, 3, 0, 1};
    memcpy(m->layers[0].W, W1, sizeof W1);
    memcpy(m->layers[0].b, b1, sizeof b1);
    memcpy(m->layers[1].W, W2, sizeof W2);
    ck_assert_int_eq(nf_mat_alloc(X, 21 * 21, 2), NF_OK);
    for (int i = 0; i < 21; i++)
        for (int j = 0; j < 21; j++) {
            X->data[(i * 21 + j) * 2] = (float)(-1.0 + 0.1 * i);
            X->data[(i * 21 + j) * 2 + 1] = (float)(-1.0 + 0.1 * j);
        }
    return m;
}

START_TEST(diag_hand_built)
{
    nf_mat X;
    nf_model *m = hand_model(&X);
    nf_unit_diag *u = NULL;
    int n = 0;
    ck_assert_int_eq(nf_diag_units(m, X.data, X.rows, NULL, &u, &n), NF_OK);
    ck_assert_int_eq(n, 5);
    /* u0: x > 0 on columns i = 11..20 → 10·21 of 441 samples */
    ck_assert_close(u[0].active_frac, 210.0 / 441.0, 1e-12);
    ck_assert(!u[0].dead && !u[0].always_on && u[0].duplicate_of == -1);
    ck_assert_int_eq(u[1].duplicate_of, 0);
    ck_assert_close(u[1].dup_angle_deg, atan(0.005) * 180 / M_PI, 1e-3);
    ck_assert(u[2].dead && u[2].active_frac == 0.0 && u[2].duplicate_of == -1);
    ck_assert_close(u[2].z_max, -4.0, 1e-6);
    ck_assert(u[3].always_on && u[3].active_frac == 1.0);
    ck_assert_int_eq(u[4].duplicate_of, -1);
    ck_assert_close(u[4].dup_angle_deg, (atan(0.05) - atan(0.005)) * 180 / M_PI, 1e-3); /* nearest: u1 */
    ck_assert_close(u[1].out_norm, 2.0, 1e-12);
    ck_assert_close(u[2].out_norm, 3.0, 1e-12);
    nf_diag_counts c = nf_diag_count(u, n, 0);
    ck_assert_int_eq(c.units, 5);
    ck_assert_int_eq(c.dead, 1);
    ck_assert_int_eq(c.always_on, 1);
    ck_assert_int_eq(c.duplicate, 1);
    /* parallel kinks (w only): u1 ∥ u0 (0.29°); u3 ∥ u2 (same w); u4 is 2.9° off */
    ck_assert_int_eq(u[1].parallel_of, 0);
    ck_assert_int_eq(u[3].parallel_of, -1); /* u2 is dead, so it does not count */
    ck_assert_int_eq(u[4].parallel_of, -1);
    ck_assert_int_eq(c.parallel, 1);
    free(u);
    /* a looser rule (5°) also merges u4 into u0 */
    nf_diag_options o = {5.0};
    ck_assert_int_eq(nf_diag_units(m, X.data, X.rows, &o, &u, &n), NF_OK);
    ck_assert_int_eq(u[4].duplicate_of, 0);
    ck_assert_int_eq(nf_diag_count(u, n, -1).duplicate, 2);
    free(u);
    double w0, w1, b;
    ck_assert(nf_diag_kink_line(m, 2, &w0, &w1, &b) && w0 == 0.0 && w1 == 1.0 && b == -5.0);
    nf_model_free(m);
    nf_mat_free(&X);
}
END_TEST

/* The "valley": two units with anti-parallel kinks (w and −w) are parallel, not duplicates. */
START_TEST(diag_antiparallel_valley)
{
    int sizes[] = {2, 2, 1};
    nf_act_spec relu = {NF_ACT_RELU, 0}, lin = {NF_ACT_LINEAR, 0};
    nf_model *m = NULL;
    ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &relu, &lin), NF_OK);
    const float W1[] = {1, 0.002f, -1, 0}, b1[] = {0.3f, 0.2f};
    memcpy(m->layers[0].W, W1, sizeof W1);
    memcpy(m->layers[0].b, b1, sizeof b1);
    const float X[] = {-1, -1, -0.5f, 0.5f, 0, 0, 0.5f, -0.5f, 1, 1};
    nf_unit_diag *u;
    int n;
    ck_assert_int_eq(nf_diag_units(m, X, 5, NULL, &u, &n), NF_OK);
    ck_assert_int_eq(u[1].parallel_of, 0);
    ck_assert_int_eq(u[1].duplicate_of, -1);
    ck_assert(u[1].dup_angle_deg > 150.0);
    ck_assert_close(u[0].active_frac, 0.6, 1e-12); /* z = x + 0.002y + 0.3 > 0 for x >= 0 */
    ck_assert_close(u[1].active_frac, 0.6, 1e-12); /* z = 0.2 − x > 0 for x <= 0 */
    nf_diag_counts c = nf_diag_count(u, n, -1);
    ck_assert(c.parallel == 1 && c.duplicate == 0 && c.dead == 0 && c.always_on == 0);
    free(u);
    nf_model_free(m);
}
END_TEST

/* ---- the fused small-net gradient agrees with the sgemm path ---- */
START_TEST(small_kernel_matches_sgemm)
{
    const nf_act_kind acts[] = {NF_ACT_RELU, NF_ACT_LEAKY_RELU, NF_ACT_ELU, NF_ACT_SOFTPLUS, NF_ACT_TANH};
    const nf_loss_kind losses[] = {NF_LOSS_MSE, NF_LOSS_HUBER, NF_LOSS_MAE};
    const int n = 1000; /* not a multiple of the block or lane count */
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = n;
    tc.seed = 5;
    nf_mat X, Y;
    ck_assert_int_eq(nf_task_generate(&tc, &X, &Y), NF_OK);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++) {
            int sizes[] = {2, 7, 1};
            nf_act_spec act = {acts[a], nf_act_default_param(acts[a])}, lin = {NF_ACT_LINEAR, 0};
            nf_model *m;
            ck_assert_int_eq(nf_model_create_mlp(&m, 2, sizes, &act, &lin), NF_OK);
            nf_init_spec is = {NF_INIT_HE_UNIFORM, NF_BIAS_CONST, 0.1f};
            nf_rng rng;
            nf_rng_seed(&rng, 9 + a);
            nf_init_model(m, &is, &rng);
            ck_assert_int_eq(nf_model_reserve(m, n), NF_OK);
            nf_loss_spec ls = {losses[l], 0.3f};
            double fused, ref;
            ck_assert_int_eq(nf_model_grad(m, X.data, Y.data, n, &ls, 0, &fused), NF_OK);
            float *g = malloc(m->n_params * sizeof(float));
            memcpy(g, m->grads, m->n_params * sizeof(float));
            /* reference: the generic forward / loss / backward (sgemm) */
            ck_assert_int_eq(nf_model_forward(m, X.data, n), NF_OK);
            ref = nf_loss_grad(&ls, nf_model_output(m), Y.data, (size_t)n, (size_t)n, nf_model_dout(m));
            ck_assert_int_eq(nf_model_backward(m, X.data, n), NF_OK);
            ck_assert_msg(tu_rel(fused, ref, 1e-12) < 1e-6, "%s/%s loss %g vs %g", nf_act_name(acts[a]),
                          nf_loss_name(losses[l]), fused, ref);
            for (size_t i = 0; i < m->n_params; i++)
                ck_assert_msg(fabs(g[i] - m->grads[i]) <= 1e-5 * (fabs(m->grads[i]) + 1e-3),
                              "%s/%s grad[%zu] fused %g sgemm %g", nf_act_name(acts[a]),
                              nf_loss_name(losses[l]), i, g[i], m->grads[i]);
            free(g);
            nf_model_free(m);
        }
    nf_mat_free(&X);
    nf_mat_free(&Y);
}
END_TEST

/* ---- sweeps ---- */
typedef struct {
    nf_mat X, Y;
    nf_sweep_setting s[2];
} fixture;

static void make_fixture(fixture *f, int epochs)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = 512;
    tc.seed = 1;
    ck_assert_int_eq(nf_task_generate(&tc, &f->X, &f->Y), NF_OK);
    for (int i = 0; i < 2; i++) {
        nf_sweep_setting *s = &f->s[i];
        memset(s, 0, sizeof *s);
        s->n_sizes = 3;
        s->sizes[0] = 2, s->sizes[1] = 3, s->sizes[2] = 1;
        s->act.kind = NF_ACT_RELU;
        s->out_act.kind = NF_ACT_LINEAR;
        s->init.kind = NF_INIT_GLOROT_UNIFORM;
        nf_train_defaults(&s->train);
        s->train.epochs = epochs;
        s->train.batch = i ? 64 : 0; /* setting 1 shuffles mini-batches */
        nf_opt_defaults(i ? NF_OPT_SGD : NF_OPT_ADAM, &s->train.opt);
        s->train.opt.lr = i ? 0.05 : 0.02;
        if (i) s->train.opt.momentum = 0.9;
    }
}

static void free_fixture(fixture *f)
{
    nf_mat_free(&f->X);
    nf_mat_free(&f->Y);
}

static void config(nf_sweep_config *c, fixture *f, int restarts, int jobs)
{
    nf_sweep_defaults(c);
    c->X = &f->X;
    c->Y = &f->Y;
    c->settings = f->s;
    c->n_settings = 2;
    c->restarts = restarts;
    c->seed = 77;
    c->jobs = jobs;
    c->target = 5e-3;
    c->keep_curves = 1;
}

START_TEST(results_independent_of_jobs)
{
    fixture f;
    make_fixture(&f, 150);
    nf_sweep_config c;
    const int R = 8, T = 2 * R;
    nf_trial a[16], b[16];
    long da, db;
    config(&c, &f, R, 1);
    ck_assert_int_eq(nf_sweep_run(&c, a, &da), NF_OK);
    config(&c, &f, R, 2);
    ck_assert_int_eq(nf_sweep_run(&c, b, &db), NF_OK);
    ck_assert_int_eq(da, T);
    ck_assert_int_eq(db, T);
    int successes = 0;
    for (int i = 0; i < T; i++) {
        ck_assert(a[i].done && b[i].done);
        ck_assert_int_eq(a[i].setting, i / R);
        ck_assert_int_eq(a[i].restart, i % R);
        ck_assert(a[i].seed == nf_rng_derive(77, (uint64_t)(i % R)) && a[i].seed == b[i].seed);
        ck_assert(memcmp(&a[i].final_loss, &b[i].final_loss, sizeof(double)) == 0);
        ck_assert(memcmp(&a[i].best_loss, &b[i].best_loss, sizeof(double)) == 0);
        ck_assert_int_eq(a[i].target_epoch, b[i].target_epoch);
        ck_assert_int_eq(a[i].dead, b[i].dead);
        ck_assert_int_eq(a[i].duplicate, b[i].duplicate);
        ck_assert_int_eq(a[i].always_on, b[i].always_on);
        ck_assert(memcmp(a[i].curve, b[i].curve, 150 * sizeof(float)) == 0);
        ck_assert_int_eq(a[i].success, a[i].final_loss <= 5e-3);
        successes += a[i].success;
    }
    nf_sweep_summary s[2];
    ck_assert_int_eq(nf_sweep_summarize(a, 2, R, s), NF_OK);
    ck_assert_int_eq(s[0].n + s[1].n, T);
    ck_assert_int_eq(s[0].successes + s[1].successes, successes);
    ck_assert(a[s[0].best].final_loss <= a[s[0].worst].final_loss);
    nf_trials_free(a, T);
    nf_trials_free(b, T);
    free_fixture(&f);
}
END_TEST

/* A trial is what `nnfit train --seed S` does: init from derive(S,0), shuffle from derive(S,1). */
START_TEST(trial_equals_plain_training)
{
    fixture f;
    make_fixture(&f, 60);
    nf_sweep_config c;
    config(&c, &f, 3, 1);
    for (int s = 0; s < 2; s++) {
        nf_trial t;
        nf_model *tm = NULL;
        ck_assert_int_eq(nf_sweep_trial(&c, s, 2, &t, &tm), NF_OK);
        uint64_t S = nf_rng_derive(77, 2);
        ck_assert(t.seed == S);
        nf_model *m;
        ck_assert_int_eq(nf_model_create_mlp(&m, 2, f.s[s].sizes, &f.s[s].act, &f.s[s].out_act), NF_OK);
        nf_rng rng;
        nf_rng_seed(&rng, nf_rng_derive(S, 0));
        nf_init_model(m, &f.s[s].init, &rng);
        nf_train_config tc = f.s[s].train;
        tc.seed = nf_rng_derive(S, 1);
        nf_history h;
        ck_assert_int_eq(nf_train(m, &f.X, &f.Y, &tc, &h), NF_OK);
        ck_assert(memcmp(&h.final_loss, &t.final_loss, sizeof(double)) == 0);
        ck_assert(memcmp(m->params, tm->params, m->n_params * sizeof(float)) == 0);
        nf_history_free(&h);
        nf_model_free(m);
        nf_model_free(tm);
        free(t.curve);
    }
    free_fixture(&f);
}
END_TEST

static void cancel_after_3(void *ctx, const nf_trial *t, long done, long total)
{
    (void)t, (void)total;
    if (done == 3) atomic_store((atomic_int *)ctx, 1);
}

START_TEST(cancel_keeps_finished_trials)
{
    fixture f;
    make_fixture(&f, 30);
    nf_sweep_config c;
    config(&c, &f, 5, 1);
    atomic_int flag;
    atomic_init(&flag, 0);
    c.cancel = &flag;
    c.on_trial = cancel_after_3;
    c.ctx = &flag;
    nf_trial t[10];
    long done;
    ck_assert_int_eq(nf_sweep_run(&c, t, &done), NF_EINTERRUPTED);
    ck_assert_int_eq(done, 3);
    /* restart-major order: restart 0 of both settings, then restart 1 of setting 0 */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(t[i].done, i == 0 || i == 1 || i == 5);
    nf_trials_free(t, 10);
    free_fixture(&f);
}
END_TEST

/* ---- CLI: the printed rerun command reproduces the trial ---- */
START_TEST(cli_rerun_command_reproduces)
{
    char cmd[4096], *out = NULL, *err = NULL;
    const char *csv = "test_sweep_out.csv";
    snprintf(cmd, sizeof cmd,
             "%s sweep --task abs --n 1024 --opt adam,sgd --momentum 0.9 --lr 0.01 --batch 128 --epochs 40 "
             "--restarts 3 --jobs 2 --seed 5 --quiet --out %s", tu_nnfit(), csv);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "95% Wilson"));
    free(out);
    free(err);
    FILE *f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int rows = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        rows++;
        if (rows != 2 && rows != 5) continue; /* one adam and one sgd trial */
        /* fields: ... final_loss is the 11th; the command is the last, quoted */
        char *p = line;
        int field = 0;
        double final = 0;
        for (int inq = 0; *p; p++) {
            if (*p == '"') inq = !inq;
            if (*p == ',' && !inq && ++field == 10) final = strtod(p + 1, NULL);
        }
        char *q = strstr(line, ",\"nnfit train");
        ck_assert_ptr_nonnull(q);
        q += 2;
        q[strcspn(q, "\"")] = '\0';
        ck_assert_ptr_nonnull(strstr(q, "--seed "));
        snprintf(cmd, sizeof cmd, "%s%s", tu_nnfit(), q + strlen("nnfit"));
        ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
        char want[64];
        snprintf(want, sizeof want, "final_loss: %.6e\n", final);
        ck_assert_msg(strstr(out, want) != NULL, "rerun of '%s' printed\n%s\nexpected %s", q, out, want);
        free(out);
        free(err);
    }
    fclose(f);
    ck_assert_int_eq(rows, 6);
    remove(csv);
}
END_TEST

/* Final loss (11th field) of a results-CSV line and its rerun command (the first quoted field
 * that starts with "nnfit train"), copied into cmd with the test's nnfit path. */
static double csv_final_and_command(char *line, char *cmd, size_t cap)
{
    double final = 0;
    int field = 0;
    for (int inq = 0, i = 0; line[i]; i++) {
        if (line[i] == '"') inq = !inq;
        if (line[i] == ',' && !inq && ++field == 10) final = strtod(line + i + 1, NULL);
    }
    char *q = strstr(line, ",\"nnfit train");
    ck_assert_ptr_nonnull(q);
    q += 2;
    q[strcspn(q, "\"")] = '\0';
    snprintf(cmd, cap, "%s%s", tu_nnfit(), q + strlen("nnfit"));
    return final;
}

static void rerun_matches(const char *cmd, double final)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    char want[64];
    snprintf(want, sizeof want, "final_loss: %.6e\n", final);
    ck_assert_msg(strstr(out, want) != NULL, "rerun of '%s' printed\n%s\nexpected %s", cmd, out, want);
    free(out);
    free(err);
}

/* Aid options with value lists are grid axes: labels, CSV columns, and rerun commands that
 * carry the aids and reproduce the trial (0 / none = off: left out of the command). */
START_TEST(cli_aid_axes)
{
    char cmd[4096], *out = NULL, *err = NULL;
    const char *csv = "test_sweep_aids.csv";
    snprintf(cmd, sizeof cmd,
             "%s sweep --task abs --n 512 --batch 128 --epochs 24 --init data_kink --revive-every 0,5 "
             "--revive-edge 0.02 --repel 0,0.01 --dropout 0.1 --clip-norm 0,1 --schedule none,cosine "
             "--bias-init 0.1 --restarts 2 --jobs 2 --seed 9 --quiet --out %s", tu_nnfit(), csv);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "revive-every=5 revive-edge=0.02 repel=0.01 dropout=0.1 clip-norm=1 "
                                      "schedule=cosine bias-init=0.1"));
    ck_assert_ptr_nonnull(strstr(out, "revive-every=0 revive-edge=0.02 repel=0 dropout=0.1 clip-norm=0 "
                                      "schedule=none bias-init=0.1"));
    ck_assert_ptr_nonnull(strstr(out, "\n 15 "));   /* 16 settings: 2 * 2 * 2 * 2 */
    ck_assert_ptr_null(strstr(out, "\n 16 "));
    free(out);
    free(err);
    FILE *f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(strstr(line, ",command,revive_every,dup_cos,revive_parallel,revive_edge,repel,dropout,"
                                       "clip_norm,decoupled_weight_decay,schedule,warmup,bias_init,init_gain,early_stop,"
                                       "weight_decay,grow,prune_start,prune_end,prune_every\n"));
    int rows = 0, checked = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        int setting = atoi(line);
        if (setting != 0 && setting != 15) continue; /* all aids off / all on */
        char row[4096];
        memcpy(row, line, sizeof row);
        ck_assert_ptr_nonnull(strstr(row, setting ? ",5,,,0.02,0.01,0.1,1,,cosine,,0.1,,,,,,,\n"
                                                  : ",0,,,0.02,0,0.1,0,,none,,0.1,,,,,,,\n"));
        double final = csv_final_and_command(line, cmd, sizeof cmd);
        if (setting == 15) {
            ck_assert_ptr_nonnull(strstr(cmd, " --revive-every 5 --revive-edge 0.02 --repel 0.01 --dropout 0.1 "
                                              "--clip-norm 1 --schedule cosine --bias-init 0.1 "));
        } else {
            ck_assert_ptr_null(strstr(cmd, "--revive-every"));
            ck_assert_ptr_null(strstr(cmd, "--repel"));
            ck_assert_ptr_null(strstr(cmd, "--clip-norm"));
            ck_assert_ptr_null(strstr(cmd, "--schedule"));
            ck_assert_ptr_nonnull(strstr(cmd, " --dropout 0.1 --bias-init 0.1 "));
        }
        rerun_matches(cmd, final);
        checked++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 32);
    ck_assert_int_eq(checked, 4);
    remove(csv);
}
END_TEST

/* Early stopping (with --val-n validation rows) and L2 weight decay as grid axes: labels, the
 * rerun command carries --val-n/--early-stop/--weight-decay and reproduces the trial, and
 * --early-stop without a validation set is refused. */
START_TEST(cli_early_stop_and_l2_axes)
{
    char cmd[4096], *out = NULL, *err = NULL;
    const char *csv = "test_sweep_es.csv";
    snprintf(cmd, sizeof cmd,
             "%s sweep --task abs --n 512 --batch 64 --epochs 80 --lr 0.01 --val-n 256 --early-stop 0,3 "
             "--weight-decay 0,1e-3 --restarts 3 --jobs 2 --seed 2 --quiet --out %s", tu_nnfit(), csv);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    ck_assert_ptr_nonnull(strstr(out, "early-stop=3 weight-decay=1e-3"));
    ck_assert_ptr_nonnull(strstr(out, "early-stop=0 weight-decay=0"));
    free(out);
    free(err);
    FILE *f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (atoi(line) != 3) continue; /* early-stop=3, weight-decay=1e-3 */
        double final = csv_final_and_command(line, cmd, sizeof cmd);
        ck_assert_ptr_nonnull(strstr(cmd, " --val-n 256 "));
        ck_assert_ptr_nonnull(strstr(cmd, " --early-stop 3 --weight-decay 1e-3 "));
        rerun_matches(cmd, final);
        checked++;
    }
    fclose(f);
    remove(csv);
    ck_assert_int_eq(checked, 3);
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --n 256 --epochs 2 --early-stop 0,3 --restarts 1 --quiet",
             tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--early-stop needs a validation set"));
    free(out);
    free(err);
}
END_TEST

static int same_final_loss(const char *a, const char *b)
{
    const char *x = strstr(a, "final_loss:"), *y = strstr(b, "final_loss:");
    if (!x || !y) return 0;
    size_t n = strcspn(x, "\n");
    return n == strcspn(y, "\n") && !strncmp(x, y, n);
}

/* --preset robust: the same trial as its options spelled out; explicit options override it
 * (in any order); the sweep's rerun command spells the preset out; unknown names exit 2. */
START_TEST(cli_preset_robust)
{
    char cmd[4096], *a = NULL, *b = NULL, *err = NULL;
    const char *common = "--task abs --n 512 --batch 128 --epochs 30 --seed 4 --threads 1";
    snprintf(cmd, sizeof cmd, "%s train --help", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    char *line = strstr(a, "--preset robust");
    ck_assert_ptr_nonnull(line);
    char expanded[512];
    line += strlen("--preset robust");
    line += strspn(line, " ");
    snprintf(expanded, sizeof expanded, "%.*s", (int)strcspn(line, "\n"), line);
    ck_assert_ptr_nonnull(strstr(expanded, "--grow 2"));
    ck_assert_ptr_nonnull(strstr(expanded, "--schedule cosine"));
    free(a), free(err);

    snprintf(cmd, sizeof cmd, "%s train %s --preset robust", tu_nnfit(), common);
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    free(err);
    snprintf(cmd, sizeof cmd, "%s train %s %s", tu_nnfit(), common, expanded);
    ck_assert_int_eq(tu_run_cmd(cmd, &b, &err), 0);
    free(err);
    ck_assert_int_eq(same_final_loss(a, b), 1);
    ck_assert_ptr_nonnull(strstr(a, "grown_width: 6\npruned: 3\n"));
    free(a), free(b);

    /* --lr 0.002 before --preset still wins */
    snprintf(cmd, sizeof cmd, "%s train %s --lr 0.002 --preset=robust", tu_nnfit(), common);
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    ck_assert_ptr_nonnull(strstr(a, "lr: 0.002\n"));
    free(err);
    snprintf(cmd, sizeof cmd, "%s train %s %s --lr 0.002", tu_nnfit(), common, expanded);
    ck_assert_int_eq(tu_run_cmd(cmd, &b, &err), 0);
    free(err);
    ck_assert_int_eq(same_final_loss(a, b), 1);
    free(a), free(b);

    snprintf(cmd, sizeof cmd, "%s sweep --task abs --n 512 --batch 128 --epochs 20 --restarts 2 --jobs 1 --quiet "
                              "--preset robust --out test_sweep_preset.csv", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 0);
    ck_assert_ptr_nonnull(strstr(a, "grow=2"));
    free(a), free(err);
    FILE *f = fopen("test_sweep_preset.csv", "r");
    ck_assert_ptr_nonnull(f);
    char row[4096];
    ck_assert_ptr_nonnull(fgets(row, sizeof row, f));
    ck_assert_ptr_nonnull(fgets(row, sizeof row, f));
    fclose(f);
    remove("test_sweep_preset.csv");
    double final = csv_final_and_command(row, cmd, sizeof cmd);
    ck_assert_ptr_nonnull(strstr(cmd, "--grow 2"));
    ck_assert_ptr_nonnull(strstr(cmd, "--schedule cosine"));
    rerun_matches(cmd, final);

    snprintf(cmd, sizeof cmd, "%s train --task abs --preset nosuch", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    free(a), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --task abs --preset", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &a, &err), 2);
    free(a), free(err);
}
END_TEST

static int exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

START_TEST(cli_plot_files)
{
    char cmd[2048], *out = NULL, *err = NULL;
    const char *dir = "test_sweep_plots";
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && %s sweep --task abs --n 512 --batch 0 --lr 0.02 --epochs 40 --opt adam --act relu,elu "
             "--restarts 3 --jobs 2 --quiet --out test_sweep_plot.csv --plot %s",
             dir, tu_nnfit(), dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
    const char *files[] = {"final_loss.gp", "final_loss.dat", "s00_adam_relu_glorot_uniform_2-3-1_lr0.02_loss.gp",
                           "s01_adam_elu_glorot_uniform_2-3-1_lr0.02_surface.gp",
                           "s01_adam_elu_glorot_uniform_2-3-1_lr0.02_kinks_best.dat"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        ck_assert_msg(exists(path), "%s missing", path);
    }
    int gp = tu_run_cmd("command -v gnuplot", &out, &err) == 0;
    free(out), free(err);
    if (gp) {
        snprintf(path, sizeof path, "%s/final_loss.png", dir);
        ck_assert_msg(exists(path), "gnuplot is installed but %s was not rendered", path);
    }
    /* nnfit plot RESULTS.csv --out DIR */
    snprintf(cmd, sizeof cmd, "%s plot test_sweep_plot.csv --out %s/again", tu_nnfit(), dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
    snprintf(path, sizeof path, "%s/again/final_loss.dat", dir);
    ck_assert(exists(path));
    snprintf(cmd, sizeof cmd, "rm -rf %s test_sweep_plot.csv", dir);
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 0);
    free(out), free(err);
}
END_TEST

START_TEST(cli_bad_input)
{
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep --opt adam,nosuch --restarts 2", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --task fir --restarts 2", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--target"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s sweep --hidden 3,x", tu_nnfit());
    ck_assert_int_eq(tu_run_cmd(cmd, &out, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "hidden"));
    free(out), free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("test_sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wilson_numbers);
    tcase_add_test(tc, quantiles_match_numpy);
    tcase_add_test(tc, diag_hand_built);
    tcase_add_test(tc, diag_antiparallel_valley);
    tcase_add_test(tc, small_kernel_matches_sgemm);
    tcase_add_test(tc, results_independent_of_jobs);
    tcase_add_test(tc, trial_equals_plain_training);
    tcase_add_test(tc, cancel_keeps_finished_trials);
    tcase_add_test(tc, cli_rerun_command_reproduces);
    tcase_add_test(tc, cli_plot_files);
    tcase_add_test(tc, cli_bad_input);
    tcase_add_test(tc, cli_aid_axes);
    tcase_add_test(tc, cli_early_stop_and_l2_axes);
    tcase_add_test(tc, cli_preset_robust);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
