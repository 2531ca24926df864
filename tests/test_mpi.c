/* test_mpi.c — nnfit under mpirun (3 ranks over Open MPI's TCP transport): sweep results equal
 * to the one-process run byte for byte apart from timing; data-parallel training equal to one
 * process within 1e-5 and deterministic; a killed rank ends the run with mpirun's message and
 * no half-written output; a sweep stopped part-way (a rank that dies, SIGTERM on rank 0)
 * resumes from rank 0's journal with only the missing trials and the uninterrupted results;
 * bad input (ranks started differently, a data file one rank cannot read, another sweep's
 * journal) exits 2 on every rank with one message and writes nothing.  Skipped when the
 * library was built without MPI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char g_dir[256];

/* mpirun over TCP, 3 ranks on 2 cores.  Under AddressSanitizer (the CI's second pass) Open MPI
 * keeps allocations until exit in components it unloads, which LeakSanitizer cannot name: the
 * components stay loaded and tests/lsan_mpi.supp suppresses stacks through Open MPI's
 * libraries, so leaks of nnfit's own code are still reported. */
static const char *mpi(int np)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k],
             "OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1 "
             "LSAN_OPTIONS=suppressions=%s/tests/lsan_mpi.supp:print_suppressions=0:fast_unwind_on_malloc=0 "
             "mpirun --oversubscribe --allow-run-as-root --mca btl tcp,self -np %d",
             getenv("NNFIT_SOURCE_ROOT"), np);
    return buf[k];
}

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/nnfit-test-mpi-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
}

static int run(const char *fmt_cmd, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", g_dir, fmt_cmd);
    return tu_run_cmd(cmd, out, err);
}

static int exit_code(int status) { return status; } /* tu_run_cmd returns the exit status */

static double field(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    ck_assert_msg(p != NULL, "no '%s' in output:\n%s", key, text ? text : "(null)");
    return strtod(p + strlen(key), NULL);
}

static int exists(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Lines of text holding `what`. */
static int count_lines(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* ---- sweep ---- */

#define SWEEP_ARGS "sweep --n 1024 --opt adam,lbfgs --epochs 25 --restarts 5 --seed 7 --jobs 1 --quiet"

/* --plot (gnuplot takes a while) only where plot is 1: the curves travel with the trials */
static void sweep_into(const char *sub, const char *launcher, int plot)
{
    char cmd[2048], pl[128] = "";
    if (plot) snprintf(pl, sizeof pl, "--plot %s/plot", sub);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && %s %s " SWEEP_ARGS " --out %s/out.csv --json %s/out.json %s > %s/out.txt",
             sub, launcher, tu_nnfit(), sub, sub, pl, sub);
    char *err = NULL;
    int st = run(cmd, NULL, &err);
    ck_assert_msg(exit_code(st) == 0, "%s failed (%d): %s", cmd, st, err);
    free(err);
}

static void assert_same(const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/mpi_compare.py %s %s", getenv("NNFIT_SOURCE_ROOT"), a, b);
    char *out = NULL;
    int st = run(cmd, &out, NULL);
    ck_assert_msg(exit_code(st) == 0, "%s: %s", cmd, out);
    free(out);
}

START_TEST(sweep_equals_one_process)
{
    sweep_into("one", "", 1);
    sweep_into("np3", mpi(3), 1);
    assert_same("one", "np3");
    sweep_into("np2", mpi(2), 0);
    assert_same("one", "np2");
    sweep_into("np1", mpi(1), 0);
    assert_same("one", "np1");
    /* the comparison itself sees a difference: another seed is not the same sweep */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p other && %s " SWEEP_ARGS " --seed 8 --out other/out.csv --json other/out.json "
             "> other/out.txt && /usr/bin/python3 %s/tests/mpi_compare.py one other", tu_nnfit(),
             getenv("NNFIT_SOURCE_ROOT"));
    ck_assert_int_eq(exit_code(run(cmd, NULL, NULL)), 1);
}
END_TEST

/* Shell: sends signal %s to rank %d (two printf arguments) of the processes whose command line
 * holds PATTERN and whose working directory is the shell's: only this run's ranks, not those
 * of a run of the suite from another build at the same time. */
#define SIGNAL_RANK(pattern)                                                                    \
    "here=$(pwd -P); for p in $(pgrep -f '" pattern "'); do "                                  \
    "  [ \"$(readlink /proc/$p/cwd)\" = \"$here\" ] || continue; "                              \
    "  r=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p'); " \
    "  [ \"$r\" = %d ] && kill -%s $p; done; "

START_TEST(sweep_killed_rank)
{
    /* trials of ~0.17 s for about 35 s on two cores, so the run cannot end before rank 2 is
     * killed after 3 s, even on a machine several times faster */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "rm -f k.csv k.json .k.csv.tmp* .k.json.tmp*; "
             "(%s %s sweep --epochs 3000 --restarts 400 --jobs 1 --quiet --out k.csv --json k.json "
             "> k.txt 2> k.err & m=$!; sleep 3; "
             SIGNAL_RANK("out k.csv --json k.json") "wait $m; echo \"rc=$?\")",
             mpi(3), tu_nnfit(), 2, "KILL");
    char *out = NULL;
    run(cmd, &out, NULL);
    char *err = NULL;
    run("cat k.err", &err, NULL);
    ck_assert_msg(out && !strstr(out, "rc=0"), "the run did not fail: %s", out);
    ck_assert_msg(strstr(err, "rank 2") && strstr(err, "signal 9"), "no message naming the killed rank:\n%s", err);
    /* what is there is whole: the CSV rows (and the JSON trials, the same finished ones) are
     * this run's.  mpirun sends SIGKILL about 1 s after its SIGTERM; on a loaded machine that
     * can land while rank 0 still finishes its running trial or writes: then there is no output,
     * or the CSV alone (it is written first) and the JSON's temporary file, never a part */
    const int csv = exists("k.csv"), json = exists("k.json");
    ck_assert_msg(csv || !json, "the JSON without the CSV, which is written first");
    if (csv) {
        char *n = NULL;
        char check[1024];
        snprintf(check, sizeof check,
                 "/usr/bin/python3 -c \"import csv,json,os; r=list(csv.DictReader(open('k.csv'))); "
                 "assert 0<len(r)<400 and all(x['done']=='1' for x in r); "
                 "j=json.load(open('k.json'))['trials'] if os.path.exists('k.json') else r; "
                 "assert len(j)==len(r); print(len(r))\"");
        ck_assert_msg(exit_code(run(check, &n, NULL)) == 0, "partial output not whole: %s", n);
        ck_assert(strstr(err, "interrupted") != NULL);
        free(n);
    }
    char *ls = NULL;
    run("ls -a", &ls, NULL);
    /* (this run's own only: the suites share the folder, and one of them kills sweeps) */
    if (csv && json)
        ck_assert_msg(!strstr(ls, ".k.csv.tmp") && !strstr(ls, ".k.json.tmp"), "temporary files left: %s", ls);
    else
        ck_assert_int_eq(exit_code(run("rm -f .k.csv.tmp* .k.json.tmp*", NULL, NULL)), 0);
    free(ls);
    free(out);
    free(err);
}
END_TEST

/* ---- the journal under mpirun ---- */

/* 60 trials of about 0.125 s each (release build, idle core): mpirun takes a moment to stop
 * the others after a rank died, and a signal takes a moment to land on a loaded machine; the
 * journal must not be complete by then (with 20 trials it was, under load) */
#define JOURNAL_GRID "sweep --n 1024 --opt adam,sgd --epochs 10000 --restarts 30 --seed 5"
#define JOURNAL_TRIALS (2 * 30)

/* Whole records ("t ..." lines) in the journal. */
static int journal_records(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c, prev = '\n', in_t = 0;
    while ((c = fgetc(f)) != EOF) {
        if (prev == '\n') in_t = c == 't';
        if (c == '\n' && in_t) n++;
        prev = c;
    }
    fclose(f);
    return n;
}

/* "journal j.jnl: N trials already done" in err, or 0 when it says nothing of the kind. */
static long already_done(const char *err)
{
    const char *p = err ? strstr(err, "journal j.jnl: ") : NULL;
    return p ? strtol(p + strlen("journal j.jnl: "), NULL, 10) : 0;
}

/* Starts `mpirun -np 3 nnfit JOURNAL_GRID --journal j.jnl` in res/, waits until the journal holds
 * `records` trials, then sends rank `rank` signal `sig`: rank 2 and KILL is a rank that dies,
 * rank 0 and TERM a stop (as a batch system's).  Returns the exit status line ("rc=N") and
 * keeps stderr in res/NAME. */
static char *kill_part_way(int records, int rank, const char *sig, const char *name)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd res && (%s %s " JOURNAL_GRID " --jobs 1 --out out.csv --json out.json --journal j.jnl > out.txt 2> %s & "
             "m=$!; i=0; while [ $i -lt 1200 ] && [ $(cat j.jnl 2>/dev/null | grep -c '^t ') -lt %d ]; do "
             "  sleep 0.05; i=$((i+1)); done; "
             SIGNAL_RANK("journal j.jnl") "wait $m; echo \"rc=$?\")",
             mpi(3), tu_nnfit(), name, records, rank, sig);
    run(cmd, &out, NULL);
    return out;
}

START_TEST(sweep_journal_resume)
{
    /* the uninterrupted one-process run */
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "mkdir -p one res && %s " JOURNAL_GRID " --jobs 2 --out one/out.csv --json one/out.json "
             "> one/out.txt", tu_nnfit());
    ck_assert_int_eq(exit_code(run(cmd, NULL, NULL)), 0);

    /* a rank dies part-way: the journal keeps what rank 0 had stored */
    out = kill_part_way(3, 2, "KILL", "e1.txt");
    run("cat res/e1.txt", &err, NULL);
    ck_assert_msg(out && strstr(out, "rc=") && !strstr(out, "rc=0"), "the run did not fail: %s", out);
    ck_assert_msg(strstr(err, "rank 2") != NULL, "no message naming the dead rank:\n%s", err);
    const int n1 = journal_records("res/j.jnl");
    ck_assert_msg(n1 >= 3 && n1 < JOURNAL_TRIALS, "%d of %d trials in the journal after the kill", n1, JOURNAL_TRIALS);
    ck_assert_int_eq(exit_code(run("cp res/j.jnl res/j1", NULL, NULL)), 0);
    free(out);
    free(err);

    /* the rerun is stopped part-way by SIGTERM on rank 0: it started from the journal's trials */
    out = kill_part_way(n1 + 2, 0, "TERM", "e2.txt");
    run("cat res/e2.txt", &err, NULL);
    ck_assert_msg(out && strstr(out, "rc=") && !strstr(out, "rc=0"), "the run did not stop: %s", out);
    const long d2 = already_done(err);
    ck_assert_msg(d2 == n1 || (d2 == n1 - 1 && strstr(err, "torn")), "resumed with %ld trials, the journal had %d:\n%s",
                  d2, n1, err);
    const int n2 = journal_records("res/j.jnl");
    ck_assert_msg(n2 >= n1 + 2 && n2 < JOURNAL_TRIALS, "%d trials in the journal after the SIGTERM (had %d)", n2, n1);
    free(out);
    free(err);

    /* the last run does only the missing trials (rank 0 fails the sweep if a trial it had comes
     * back) and gives the uninterrupted run's results */
    snprintf(cmd, sizeof cmd, "cd res && %s %s " JOURNAL_GRID " --jobs 1 --out out.csv --json out.json --journal j.jnl > out.txt",
             mpi(3), tu_nnfit());
    int st = run(cmd, NULL, &err);
    ck_assert_msg(exit_code(st) == 0, "the rerun failed (%d): %s", st, err);
    const long d3 = already_done(err);
    ck_assert_msg(d3 == n2 || (d3 == n2 - 1 && strstr(err, "torn")), "resumed with %ld trials, the journal had %d:\n%s",
                  d3, n2, err);
    free(err);
    ck_assert_int_eq(journal_records("res/j.jnl"), JOURNAL_TRIALS); /* each trial recorded once */
    /* the first run's records are still the journal's start, byte for byte */
    ck_assert_int_eq(exit_code(run("cmp -n $(stat -c %s res/j1) res/j1 res/j.jnl", NULL, NULL)), 0);
    assert_same("one", "res");

    /* a journal of another sweep: refused on rank 0, every rank exits 2, one message, the
     * journal as it was and nothing written */
    ck_assert_int_eq(exit_code(run("cp res/j.jnl res/j3", NULL, NULL)), 0);
    snprintf(cmd, sizeof cmd, "cd res && %s %s sweep --n 1024 --opt adam,sgd --epochs 2000 --restarts 11 --seed 5 "
             "--jobs 1 --out other.csv --journal j.jnl", mpi(3), tu_nnfit());
    st = run(cmd, NULL, &err);
    ck_assert_msg(exit_code(st) == 2, "another sweep's journal: exit %d: %s", st, err);
    ck_assert_int_eq(count_lines(err, "error:"), 1);
    ck_assert_msg(strstr(err, "j.jnl") != NULL, "%s", err);
    ck_assert(!exists("res/other.csv"));
    ck_assert_int_eq(exit_code(run("cmp res/j3 res/j.jnl", NULL, NULL)), 0);
    free(err);
}
END_TEST

/* ---- data-parallel train ---- */

static void make_data(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s data --task abs --n 1500 --out d.npy >/dev/null && %s data --task abs --n 1500 "
             "--out d.csv >/dev/null", tu_nnfit(), tu_nnfit());
    ck_assert_int_eq(exit_code(run(cmd, NULL, NULL)), 0);
}

/* final_loss of `nnfit train ARGS` launched by launcher; *out keeps stdout. */
static double train_loss(const char *launcher, const char *args, char **out_keep)
{
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s %s train %s", launcher, tu_nnfit(), args);
    int st = run(cmd, &out, &err);
    ck_assert_msg(exit_code(st) == 0, "%s failed: %s", cmd, err);
    const double v = field(out, "final_loss: ");
    if (out_keep) *out_keep = out;
    else free(out);
    free(err);
    return v;
}

START_TEST(train_matches_one_process)
{
    make_data();
    /* Adam: 25 epochs of 6 shuffled batches of 200 rows = 150 steps, a --val-split hold-out
     * and early stopping (each rank takes its rows of every batch of the one permutation) */
    const char *adam = "--data d.npy --inputs 2 --layers 2,16,1 --epochs 25 --batch 200 --lr 0.01 --seed 4 "
                       "--val-split 0.2 --early-stop 5";
    char *o1 = NULL, *o3 = NULL;
    const double a1 = train_loss("", adam, &o1), a3 = train_loss(mpi(3), adam, &o3);
    ck_assert_msg(tu_rel(a3, a1, 1e-30) <= 1e-5, "adam: 3 ranks %.9g vs one process %.9g", a3, a1);
    ck_assert_msg(tu_rel(field(o3, "final_val_loss: "), field(o1, "final_val_loss: "), 1e-30) <= 1e-5,
                  "validation loss differs");
    ck_assert(strstr(o3, "processes: 3") != NULL);
    ck_assert(a1 < 0.02); /* it trained */
    free(o1);
    free(o3);
    /* the same from the CSV copy of the data (parsed whole by every rank, then cut) */
    const char *adam_csv = "--data d.csv --inputs 2 --layers 2,16,1 --epochs 25 --batch 200 --lr 0.01 --seed 4 "
                           "--val-split 0.2 --early-stop 5";
    ck_assert(tu_rel(train_loss(mpi(3), adam_csv, NULL), a1, 1e-30) <= 1e-5);
    /* L-BFGS: full-batch closures summed over the ranks.  Its iterations amplify last-bit
     * differences of the gradient sum (one process with --threads 1 and 3 differ by 40% here),
     * so 3 ranks are checked against one process cut into the same 3 row blocks by threads:
     * the same sums in the same order, so the same bits. */
    const char *lbfgs = "--data d.npy --inputs 2 --layers 2,64,1 --act tanh --epochs 5 --opt lbfgs --seed 5";
    char args[512];
    snprintf(args, sizeof args, "%s --threads 3", lbfgs);
    const double l1 = train_loss("", args, NULL);
    snprintf(args, sizeof args, "%s --threads 1", lbfgs);
    const double l3 = train_loss(mpi(3), args, NULL);
    ck_assert_msg(l3 == l1, "lbfgs: 3 ranks %.9g vs 3 row blocks in one process %.9g", l3, l1);
    /* LM: JᵀJ, Jᵀe and the losses summed over the ranks; 100 epochs */
    const char *lm = "--data d.npy --inputs 2 --layers 2,3,1 --act tanh --epochs 100 --opt lm --seed 5";
    const double m1 = train_loss("", lm, NULL), m3 = train_loss(mpi(3), lm, NULL);
    ck_assert_msg(tu_rel(m3, m1, 1e-30) <= 1e-5, "lm: 3 ranks %.9g vs one process %.9g", m3, m1);
    ck_assert(m1 < 0.01);
}
END_TEST

START_TEST(train_deterministic)
{
    make_data();
    const char *args = "--data d.npy --inputs 2 --layers 2,16,1 --epochs 10 --batch 128 --lr 0.01 --seed 9 --save %s";
    char a[512], b[512];
    snprintf(a, sizeof a, args, "m1.safetensors");
    snprintf(b, sizeof b, args, "m2.safetensors");
    const double l1 = train_loss(mpi(3), a, NULL);
    const double l2 = train_loss(mpi(3), b, NULL);
    ck_assert(l1 == l2);
    ck_assert_int_eq(exit_code(run("cmp m1.safetensors m2.safetensors", NULL, NULL)), 0);
    /* the saved model is the one that reached the printed loss: one plain epoch at lr 1e-30 over
     * all rows in one process gives it back */
    const double again = train_loss("", "--data d.npy --inputs 2 --init-model m1.safetensors --epochs 1 --lr 1e-30 "
                                        "--opt sgd --batch 3000 --threads 1", NULL);
    ck_assert_msg(tu_rel(again, l1, 1e-30) <= 1e-5, "saved model's loss %.9g, printed %.9g", again, l1);
    /* only rank 0 wrote it, and atomically: no temporary file */
    char *ls = NULL;
    run("ls -a", &ls, NULL);
    ck_assert_msg(!strstr(ls, ".m1.safetensors.tmp") && !strstr(ls, ".m2.safetensors.tmp"),
                  "temporary files left: %s", ls);
    free(ls);
}
END_TEST

/* ---- bad input ---- */

START_TEST(ranks_started_differently)
{
    char cmd[2048], *err = NULL;
    snprintf(cmd, sizeof cmd, "%s %s sweep --restarts 2 --epochs 5 --out m.csv : -np 2 %s sweep "
             "--restarts 3 --epochs 5 --out m.csv", mpi(1), tu_nnfit(), tu_nnfit());
    int st = run(cmd, NULL, &err);
    ck_assert_int_eq(exit_code(st), 2);
    ck_assert_int_eq(count_lines(err, "error:"), 1);
    ck_assert_msg(strstr(err, "rank 1") && strstr(err, "other arguments"), "%s", err);
    ck_assert(!exists("m.csv"));
    free(err);
}
END_TEST

START_TEST(data_file_one_rank_cannot_read)
{
    make_data();
    /* the same command on every rank, but rank 0 runs where d.npy is and ranks 1-2 where it is
     * not, as on hosts that do not share the folder */
    char cmd[2048], *err = NULL;
    snprintf(cmd, sizeof cmd, "mkdir -p a b && cp d.npy a/ && %s --wdir %s/a %s train --data d.npy "
             "--inputs 2 --layers 2,3,1 --epochs 2 --save m.safetensors : -np 2 --wdir %s/b %s train --data d.npy "
             "--inputs 2 --layers 2,3,1 --epochs 2 --save m.safetensors", mpi(1), g_dir, tu_nnfit(), g_dir, tu_nnfit());
    int st = run(cmd, NULL, &err);
    ck_assert_int_eq(exit_code(st), 2);
    ck_assert_int_eq(count_lines(err, "error:"), 1);
    ck_assert_msg(strstr(err, "rank 1") && strstr(err, "d.npy") && strstr(err, "No such file"), "%s", err);
    ck_assert(!exists("a/m.safetensors") && !exists("b/m.safetensors"));
    free(err);
    /* a bad option: every rank fails alike, one message */
    snprintf(cmd, sizeof cmd, "%s %s train --epochs 0", mpi(3), tu_nnfit());
    st = run(cmd, NULL, &err);
    ck_assert_int_eq(exit_code(st), 2);
    ck_assert_int_eq(count_lines(err, "error:"), 1);
    free(err);
    /* a command that runs in one process only */
    snprintf(cmd, sizeof cmd, "%s %s data --task abs --out x.csv", mpi(2), tu_nnfit());
    st = run(cmd, NULL, &err);
    ck_assert_int_eq(exit_code(st), 2);
    ck_assert_int_eq(count_lines(err, "error:"), 1);
    ck_assert(!exists("x.csv"));
    free(err);
}
END_TEST

int main(void)
{
    if (!nf_mpi_available()) {
        printf("built without MPI: skipped\n");
        return 77; /* meson's "skipped" */
    }
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("mpirun");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sweep_equals_one_process);
    tcase_add_test(tc, train_matches_one_process);
    tcase_add_test(tc, train_deterministic);
    tcase_add_test(tc, ranks_started_differently);
    tcase_add_test(tc, data_file_one_rank_cannot_read);
    tcase_add_test(tc, sweep_killed_rank);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("journal"); /* CK_RUN_CASE=journal runs it alone */
    tcase_add_checked_fixture(tj, setup, teardown);
    tcase_set_timeout(tj, 300);
    tcase_add_test(tj, sweep_journal_resume);
    suite_add_tcase(s, tj);
    return tu_run(s);
}
