/* test_journal.c — the sweep journal: exact round trip, torn tails cut at every byte, processes
 * killed with SIGKILL while appending or while sweeping, refusals (another grid, version,
 * restarts; not a journal; in use). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const char *GRID = "opt=adam lr=0.02 batch=0 act=relu sizes=2,3,1\n"
                          "opt=sgd lr=0.05 momentum=0.9 batch=64 act=relu sizes=2,3,1\n";

static nf_journal_id ident(void)
{
    nf_journal_id id = {GRID, "0.1.0", 8, 77};
    return id;
}

static char *tmp_path(const char *stem)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/nnfit-journal-%s-%ld", stem, (long)getpid());
    return buf;
}

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static char *slurp(const char *p, long *len)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    ck_assert_int_ge(*len, 0);
    rewind(f);
    char *b = malloc((size_t)*len + 1);
    ck_assert(fread(b, 1, (size_t)*len, f) == (size_t)*len);
    fclose(f);
    return b;
}

static void spit(const char *p, const char *b, long len)
{
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(fwrite(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
}

/* A trial with awkward values: infinities, NaN, −0, a curve with subnormals (or none). */
static nf_trial sample_trial(int setting, int restart, int with_curve)
{
    nf_trial t;
    memset(&t, 0, sizeof t);
    t.setting = setting;
    t.restart = restart;
    t.seed = nf_rng_derive(77, (uint64_t)restart) ^ 0x8000000000000001ULL;
    t.done = 1;
    t.success = restart % 2;
    t.status = restart % 3 == 2 ? NF_EDIVERGED : NF_OK;
    t.final_loss = restart % 3 == 2 ? NAN : 1.0 / (3.0 + restart);
    t.best_loss = restart % 4 == 1 ? -0.0 : 0.1 / (7.0 + setting);
    t.target_epoch = restart % 2 ? 10 + restart : 0;
    t.epochs_run = 7 + abs(restart) % 64;
    t.diverged_epoch = restart % 3 == 2 ? 5 : 0;
    t.dead = restart, t.always_on = setting, t.duplicate = 2, t.parallel = 1;
    t.seconds = 0.123456789 * (1 + restart);
    t.target_evals = t.target_epoch ? 1234567890123L + restart : 0;
    t.target_seconds = t.target_epoch ? 1e-3 * restart : INFINITY;
    if (with_curve) {
        t.curve = malloc((size_t)t.epochs_run * sizeof(float));
        for (int e = 0; e < t.epochs_run; e++) t.curve[e] = (float)(1.0 / (1 + e + restart));
        t.curve[0] = 1e-40f; /* subnormal */
        if (t.epochs_run > 3) t.curve[3] = INFINITY;
        if (t.epochs_run > 4) t.curve[4] = NAN;
    }
    return t;
}

static void assert_same_trial(const nf_trial *a, const nf_trial *b, int with_times)
{
    ck_assert_int_eq(a->setting, b->setting);
    ck_assert_int_eq(a->restart, b->restart);
    ck_assert(a->seed == b->seed);
    ck_assert_int_eq(a->done, b->done);
    ck_assert_int_eq(a->success, b->success);
    ck_assert_int_eq(a->status, b->status);
    ck_assert(memcmp(&a->final_loss, &b->final_loss, sizeof(double)) == 0);
    ck_assert(memcmp(&a->best_loss, &b->best_loss, sizeof(double)) == 0);
    ck_assert_int_eq(a->target_epoch, b->target_epoch);
    ck_assert_int_eq(a->epochs_run, b->epochs_run);
    ck_assert_int_eq(a->diverged_epoch, b->diverged_epoch);
    ck_assert(a->dead == b->dead && a->always_on == b->always_on && a->duplicate == b->duplicate &&
              a->parallel == b->parallel);
    ck_assert_int_eq(a->target_evals, b->target_evals);
    if (with_times) {
        ck_assert(memcmp(&a->seconds, &b->seconds, sizeof(double)) == 0);
        ck_assert(memcmp(&a->target_seconds, &b->target_seconds, sizeof(double)) == 0);
    } else {
        ck_assert(isinf(a->target_seconds) == isinf(b->target_seconds));
    }
    ck_assert((a->curve == NULL) == (b->curve == NULL));
    if (a->curve) ck_assert(memcmp(a->curve, b->curve, (size_t)a->epochs_run * sizeof(float)) == 0);
}

static void free_list(nf_trial *t, long n)
{
    nf_trials_free(t, n);
    free(t);
}

/* Writes n sample trials (setting k % 2, restart k / 2) to a fresh journal at p; returns the
 * byte offset where each record starts, plus the end, in offs[0..n]. */
static void write_journal(const char *p, int n, long *offs)
{
    unlink(p);
    nf_journal_id id = ident();
    nf_journal *j;
    nf_trial *done;
    long nd;
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
    ck_assert_int_eq(nd, 0);
    free(done);
    for (int k = 0; k < n; k++) {
        if (offs) offs[k] = file_size(p);
        nf_trial t = sample_trial(k % 2, k / 2, k != 1);
        ck_assert_int_eq(nf_journal_append(j, &t), NF_OK);
        free(t.curve);
    }
    if (offs) offs[n] = file_size(p);
    ck_assert_int_eq(nf_journal_close(j), NF_OK);
}

static void check_prefix(const nf_trial *done, long n)
{
    for (long k = 0; k < n; k++) {
        nf_trial t = sample_trial((int)(k % 2), (int)(k / 2), k != 1);
        assert_same_trial(&done[k], &t, 1);
        free(t.curve);
    }
}

START_TEST(round_trip_is_exact)
{
    const char *p = tmp_path("rt");
    write_journal(p, 6, NULL);
    nf_journal_id id = ident();
    nf_journal *j;
    nf_trial *done;
    long nd;
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
    ck_assert_int_eq(nd, 6);
    ck_assert_int_eq(nf_journal_torn_bytes(j), 0);
    check_prefix(done, 6);
    /* placed into the sweep layout, curves handed over */
    nf_trial grid[2 * 8];
    memset(grid, 0, sizeof grid);
    ck_assert_int_eq(nf_journal_place(done, nd, 2, 8, grid), NF_OK);
    ck_assert(done[0].curve == NULL && grid[0].curve != NULL);
    ck_assert(grid[1 * 8 + 2].done && grid[1 * 8 + 2].restart == 2 && !grid[1 * 8 + 3].done);
    nf_trials_free(grid, 16);
    free_list(done, nd);
    ck_assert_int_eq(nf_journal_close(j), NF_OK);
    unlink(p);
}
END_TEST

/* A record cut at every byte (a power cut mid-write), or followed by garbage: opening keeps the
 * whole records, cuts the file back to them, and appending then continues cleanly. */
START_TEST(torn_tail_at_every_byte)
{
    const char *p = tmp_path("torn"), *q = "/tmp/nnfit-journal-torn-copy";
    char qbuf[256];
    snprintf(qbuf, sizeof qbuf, "%s-%ld", q, (long)getpid());
    q = qbuf;
    long offs[6];
    write_journal(p, 5, offs);
    long len;
    char *whole = slurp(p, &len);
    ck_assert_int_eq(len, offs[5]);
    ck_assert_int_gt(offs[5] - offs[4], 100);
    nf_journal_id id = ident();
    for (long cut = offs[4]; cut < offs[5]; cut++) {
        spit(q, whole, cut);
        nf_journal *j;
        nf_trial *done;
        long nd;
        ck_assert_int_eq(nf_journal_open(&j, q, &id, &done, &nd), NF_OK);
        ck_assert_int_eq(nd, 4);
        ck_assert_int_eq(nf_journal_torn_bytes(j), cut - offs[4]);
        ck_assert_int_eq(file_size(q), offs[4]);
        check_prefix(done, 4);
        free_list(done, nd);
        if (cut == offs[4] + 37) { /* once: append the lost record again → the whole file */
            nf_trial t = sample_trial(0, 2, 1);
            ck_assert_int_eq(nf_journal_append(j, &t), NF_OK);
            free(t.curve);
            ck_assert_int_eq(nf_journal_close(j), NF_OK);
            long l2;
            char *again = slurp(q, &l2);
            ck_assert(l2 == len && memcmp(again, whole, (size_t)len) == 0);
            free(again);
        } else {
            ck_assert_int_eq(nf_journal_close(j), NF_OK);
        }
    }
    /* garbage after the last whole record: zeros (a block allocated but never written), a
     * partial record, random bytes with newlines */
    const char *tails[] = {"\0\0\0\0\0\0\0\0", "t s=1 r=9 seed=", "x\ny\n\377\376t s\n"};
    const long tail_len[] = {8, 15, 11};
    for (int k = 0; k < 3; k++) {
        char *b = malloc((size_t)(len + tail_len[k]));
        memcpy(b, whole, (size_t)len);
        memcpy(b + len, tails[k], (size_t)tail_len[k]);
        spit(q, b, len + tail_len[k]);
        free(b);
        nf_journal *j;
        nf_trial *done;
        long nd;
        ck_assert_int_eq(nf_journal_open(&j, q, &id, &done, &nd), NF_OK);
        ck_assert_int_eq(nd, 5);
        ck_assert_int_eq(nf_journal_torn_bytes(j), tail_len[k]);
        ck_assert_int_eq(file_size(q), len);
        free_list(done, nd);
        nf_journal_close(j);
    }
    free(whole);
    unlink(p);
    unlink(q);
}
END_TEST

/* A damaged record with whole records after it is corruption: refused, file untouched. */
START_TEST(corruption_in_the_middle_is_refused)
{
    const char *p = tmp_path("corrupt");
    long offs[6];
    write_journal(p, 5, offs);
    long len;
    char *b = slurp(p, &len);
    b[offs[2] + 20] ^= 1; /* a bit flip inside record 3 */
    spit(p, b, len);
    nf_journal_id id = ident();
    nf_journal *j;
    nf_trial *done;
    long nd;
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_EFORMAT);
    ck_assert_ptr_null(j);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "record 3"));
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "corrupt"));
    long l2;
    char *after = slurp(p, &l2);
    ck_assert(l2 == len && memcmp(after, b, (size_t)len) == 0);
    free(after);
    /* a flip that leaves the record well-formed (a digit of its seed) is caught by the CRC */
    b[offs[2] + 20] ^= 1;
    char *seed = strstr(b + offs[2], "seed=");
    ck_assert(seed && seed < b + offs[3] && seed[5] >= '0' && seed[5] <= '9');
    seed[5] ^= 1; /* 0↔1, 2↔3, ...: still a number */
    spit(p, b, len);
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_EFORMAT);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "record 3"));
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "not cut short"));
    /* a damaged header */
    b[5] = 'X';
    spit(p, b, len);
    ck_assert_int_ne(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
    free(b);
    unlink(p);
}
END_TEST

START_TEST(other_sweeps_are_refused)
{
    const char *p = tmp_path("ident");
    write_journal(p, 3, NULL);
    long len;
    char *before = slurp(p, &len);
    nf_journal *j;
    nf_trial *done;
    long nd;
    const struct {
        nf_journal_id id;
        const char *says[3];
    } cases[] = {
        {{"opt=adam lr=0.02 batch=0 act=relu sizes=2,3,1\nopt=sgd lr=0.1 momentum=0.9 batch=64 act=relu sizes=2,3,1\n",
          "0.1.0", 8, 77},
         {"another sweep", "grid line 2 is 'opt=sgd lr=0.05", "here"}},
        {{GRID, "0.2.0", 8, 77}, {"version 0.1.0 there, 0.2.0 here", NULL, NULL}},
        {{GRID, "0.1.0", 9, 77}, {"restarts 8 seed 77 there, restarts 9 seed 77 here", NULL, NULL}},
        {{GRID, "0.1.0", 8, 78}, {"restarts 8 seed 77 there, restarts 8 seed 78 here", NULL, NULL}},
        {{"x\n", "0.3.0", 8, 77}, {"version 0.1.0 there, 0.3.0 here", "grid line 1", NULL}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ck_assert_int_eq(nf_journal_open(&j, p, &cases[k].id, &done, &nd), NF_EINVAL);
        const char *msg = nf_last_error();
        ck_assert(!strchr(msg, '\n'));
        for (int s = 0; s < 3 && cases[k].says[s]; s++)
            ck_assert_msg(strstr(msg, cases[k].says[s]), "case %zu: '%s' lacks '%s'", k, msg, cases[k].says[s]);
        long l2;
        char *after = slurp(p, &l2);
        ck_assert(l2 == len && memcmp(after, before, (size_t)len) == 0);
        free(after);
    }
    /* the same id still opens, and a second opener is refused while it is open */
    nf_journal_id id = ident();
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
    free_list(done, nd);
    nf_journal *j2;
    ck_assert_int_eq(nf_journal_open(&j2, p, &id, &done, &nd), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "in use"));
    nf_journal_close(j);
    free(before);
    unlink(p);
    /* not a journal, not a file */
    spit(p, "a,b\n1,2\n", 8);
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "not an nnfit journal"));
    ck_assert_int_eq(file_size(p), 8);
    unlink(p);
    ck_assert_int_eq(nf_journal_open(&j, "/tmp", &id, &done, &nd), NF_EINVAL);
    ck_assert_ptr_nonnull(strstr(nf_last_error(), "not a regular file"));
    id.version = "two\nlines";
    ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_EINVAL);
    ck_assert_int_eq(file_size(p), -1);
}
END_TEST

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* A child appends records as fast as it can and is killed with SIGKILL at a random moment;
 * the journal then holds a prefix of its records, and appending the rest completes it. */
START_TEST(killed_appender_leaves_a_prefix)
{
    const char *p = tmp_path("kill");
    enum { N = 60 }; /* each append waits for its fdatasync (a few ms here) */
    nf_journal_id id = ident();
    id.restarts = N;
    nf_rng rng;
    nf_rng_seed(&rng, (uint64_t)now_ns());
    int partial = 0;
    /* how long one append takes on this disk, to aim the kills inside the child's loop */
    double append_ms;
    {
        unlink(p);
        nf_journal *j;
        nf_trial *done;
        long nd;
        ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
        free(done);
        const double t0 = nf_seconds();
        for (int k = 0; k < 10; k++) {
            nf_trial t = sample_trial(0, k, 1);
            ck_assert_int_eq(nf_journal_append(j, &t), NF_OK);
            free(t.curve);
        }
        append_ms = (nf_seconds() - t0) * 100.0;
        nf_journal_close(j);
    }
    for (int round = 0; round < 8; round++) {
        unlink(p);
        nf_journal *j;
        nf_trial *done;
        long nd;
        ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
        free(done);
        nf_journal_close(j);
        int go[2];
        ck_assert_int_eq(pipe(go), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            nf_journal *cj;
            nf_trial *cd;
            long cn;
            if (nf_journal_open(&cj, p, &id, &cd, &cn)) _exit(3);
            free(cd);
            char c = 1;
            if (write(go[1], &c, 1) != 1) _exit(4);
            for (int k = 0; k < N; k++) {
                nf_trial t = sample_trial(k % 2, k / 2, k != 1);
                if (nf_journal_append(cj, &t)) _exit(5);
                free(t.curve);
            }
            _exit(0);
        }
        char c;
        ck_assert_int_eq(read(go[0], &c, 1), 1);
        close(go[0]);
        close(go[1]);
        usleep((useconds_t)(nf_rng_uniform(&rng) * (double)N * 1000.0 * append_ms));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
        ck_assert(nd >= 0 && nd <= N);
        partial += nd > 0 && nd < N;
        check_prefix(done, nd);
        free_list(done, nd);
        for (long k = nd; k < N; k++) {
            nf_trial t = sample_trial((int)(k % 2), (int)(k / 2), k != 1);
            ck_assert_int_eq(nf_journal_append(j, &t), NF_OK);
            free(t.curve);
        }
        nf_journal_close(j);
        ck_assert_int_eq(nf_journal_open(&j, p, &id, &done, &nd), NF_OK);
        ck_assert_int_eq(nd, N);
        check_prefix(done, N);
        free_list(done, nd);
        nf_journal_close(j);
    }
    ck_assert_int_gt(partial, 0); /* at least one kill landed mid-way */
    unlink(p);
}
END_TEST

/* ---- a sweep killed with SIGKILL and resumed ---- */

typedef struct {
    nf_mat X, Y;
    nf_run_spec s[2];
} fixture;

static void make_fixture(fixture *f)
{
    nf_task_config tc;
    nf_task_defaults(NF_TASK_ABS, &tc);
    tc.n_samples = 256;
    tc.seed = 1;
    ck_assert_int_eq(nf_task_generate(&tc, &f->X, &f->Y), NF_OK);
    for (int i = 0; i < 2; i++) {
        nf_run_spec *s = &f->s[i];
        memset(s, 0, sizeof *s);
        s->n_sizes = 3;
        s->sizes[0] = 2, s->sizes[1] = 3, s->sizes[2] = 1;
        s->act.kind = NF_ACT_RELU;
        s->out_act.kind = NF_ACT_LINEAR;
        s->init.kind = NF_INIT_GLOROT_UNIFORM;
        nf_train_defaults(&s->train);
        s->train.epochs = 60;
        s->train.batch = i ? 64 : 0;
        nf_opt_defaults(i ? NF_OPT_SGD : NF_OPT_ADAM, &s->train.opt);
        s->train.opt.lr = i ? 0.05 : 0.02;
        if (i) s->train.opt.momentum = 0.9;
    }
}

static void sweep_config(nf_sweep_config *c, fixture *f, int restarts)
{
    nf_sweep_defaults(c);
    c->X = &f->X;
    c->Y = &f->Y;
    c->settings = f->s;
    c->n_settings = 2;
    c->restarts = restarts;
    c->seed = 77;
    c->jobs = 2;
    c->target = 5e-3;
    c->keep_curves = 1;
}

static void count_trial(void *ctx, const nf_trial *t, long done, long total)
{
    (void)t, (void)done, (void)total;
    (*(long *)ctx)++;
}

/* on_trial of round 0's child: one byte down the pipe after the first finished trial (the
 * journal record is written before on_trial runs), then wait to be killed. */
static void tell_first_trial(void *ctx, const nf_trial *t, long done, long total)
{
    (void)t, (void)total;
    if (done != 1) return;
    const char byte = 1;
    if (write(*(int *)ctx, &byte, 1) != 1) _exit(5);
    pause();
}

START_TEST(sweep_resumes_after_sigkill)
{
    enum { R = 12, T = 2 * R };
    fixture f;
    make_fixture(&f);
    nf_sweep_config c;
    sweep_config(&c, &f, R);
    nf_trial want[T];
    long nwant;
    const double t0 = nf_seconds();
    ck_assert_int_eq(nf_sweep_run(&c, want, &nwant), NF_OK);
    const double sweep_seconds = nf_seconds() - t0;
    ck_assert_int_eq(nwant, T);
    const char *p = tmp_path("sweep");
    nf_journal_id id = {GRID, "0.1.0", R, 77};
    nf_rng rng;
    nf_rng_seed(&rng, (uint64_t)now_ns());
    int partial = 0;
    for (int round = 0; round < 5; round++) {
        unlink(p);
        int ready[2];
        ck_assert_int_eq(pipe(ready), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            nf_journal *j;
            nf_trial *d, t[T];
            long nd, n;
            close(ready[0]);
            if (nf_journal_open(&j, p, &id, &d, &nd)) _exit(3);
            free(d);
            nf_sweep_config cc;
            sweep_config(&cc, &f, R);
            cc.journal = j;
            if (round == 0) { /* round 0 tells the parent when its first trial is in the journal */
                cc.on_trial = tell_first_trial;
                cc.ctx = &ready[1];
            }
            _exit(nf_sweep_run(&cc, t, &n) ? 4 : 0);
        }
        close(ready[1]);
        char byte;
        if (round == 0) { /* surely partial: killed right after the first trial, however loaded */
            ck_assert_int_eq(read(ready[0], &byte, 1), 1);
        } else { /* somewhere inside the sweep (or just after it) */
            usleep((useconds_t)(nf_rng_uniform(&rng) * 1.2e6 * sweep_seconds));
        }
        close(ready[0]);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        nf_journal *j = NULL;
        nf_trial *d, got[T];
        long nd = 0, n;
        if (file_size(p) >= 0) {
            ck_assert_int_eq(nf_journal_open(&j, p, &id, &d, &nd), NF_OK);
        } else { /* killed before the journal existed */
            ck_assert_int_eq(nf_journal_open(&j, p, &id, &d, &nd), NF_OK);
            ck_assert_int_eq(nd, 0);
        }
        partial += nd > 0 && nd < T;
        memset(got, 0, sizeof got);
        ck_assert_int_eq(nf_journal_place(d, nd, 2, R, got), NF_OK);
        free_list(d, nd);
        long ran = 0;
        nf_sweep_config cc;
        sweep_config(&cc, &f, R);
        cc.journal = j;
        cc.resume = 1;
        cc.on_trial = count_trial;
        cc.ctx = &ran;
        ck_assert_int_eq(nf_sweep_run(&cc, got, &n), NF_OK);
        ck_assert_int_eq(n, T);
        ck_assert_int_eq(ran, T - nd); /* only the missing trials ran */
        for (int i = 0; i < T; i++) assert_same_trial(&got[i], &want[i], 0);
        nf_journal_close(j);
        /* the journal now holds every trial, once */
        ck_assert_int_eq(nf_journal_open(&j, p, &id, &d, &nd), NF_OK);
        ck_assert_int_eq(nd, T);
        nf_trial again[T];
        memset(again, 0, sizeof again);
        ck_assert_int_eq(nf_journal_place(d, nd, 2, R, again), NF_OK);
        for (int i = 0; i < T; i++) assert_same_trial(&again[i], &got[i], 1);
        free_list(d, nd);
        nf_trials_free(again, T);
        nf_trials_free(got, T);
        nf_journal_close(j);
    }
    ck_assert_int_gt(partial, 0);
    /* a child killed while creating the journal leaves its temporary file */
    char rm[512];
    snprintf(rm, sizeof rm, "rm -f %s.tmp.*", p);
    ck_assert_int_eq(system(rm), 0);
    nf_trials_free(want, T);
    nf_mat_free(&f.X);
    nf_mat_free(&f.Y);
    unlink(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, round_trip_is_exact);
    tcase_add_test(tc, torn_tail_at_every_byte);
    tcase_add_test(tc, corruption_in_the_middle_is_refused);
    tcase_add_test(tc, other_sweeps_are_refused);
    tcase_add_test(tc, killed_appender_leaves_a_prefix);
    tcase_add_test(tc, sweep_resumes_after_sigkill);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
