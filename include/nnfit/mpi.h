/* mpi.h — running under mpirun (Open MPI): the processes ("ranks"), data-parallel sums for
 * nf_train (dist.h), agreement on errors, and the sweep's work queue.
 *
 * Built with MPI when meson finds Open MPI (-Dmpi=auto, the default); then nf_mpi_available()
 * is 1.  Without it every function here behaves as for one process: nf_mpi_size() is 1, the
 * sweep runs nf_sweep_run.  Only the calling program's main thread calls these (MPI is
 * initialised MPI_THREAD_FUNNELED); the sweep's worker threads never touch MPI.
 *
 * MPI_COMM_WORLD gets MPI_ERRORS_RETURN, so a failed transfer comes back as NF_EIO with the
 * MPI error text instead of aborting the job.  A process that dies is another matter: mpirun
 * notices, says which rank died and on which node, and ends the job by sending SIGTERM to the
 * other ranks (SIGKILL about one second later, odls_base_sigkill_timeout).  nnfit's programs
 * treat that SIGTERM as an interruption (sweep: rank 0 writes the finished trials at once). */
#ifndef NNFIT_MPI_H
#define NNFIT_MPI_H

#include <stdint.h>

#include "nnfit/dist.h"
#include "nnfit/status.h"
#include "nnfit/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this library was built with MPI. */
int nf_mpi_available(void);

/* Processes the environment says mpirun started (OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_SIZE
 * of other launchers); 0 when not started by a launcher.  Works without MPI in the build. */
int nf_mpi_launched_size(void);

/* MPI_Init_thread (funneled) when started by a launcher and built with MPI; else nothing.
 * Safe to call once; afterwards nf_mpi_rank/size/host describe this process. */
nf_status nf_mpi_init(int *argc, char ***argv);
/* MPI_Finalize if nf_mpi_init initialised MPI. */
void nf_mpi_finalize(void);

int nf_mpi_rank(void);        /* 0 without MPI */
int nf_mpi_size(void);        /* 1 without MPI */
int nf_mpi_local_size(void);  /* ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE), >= 1 */
const char *nf_mpi_host(void); /* this rank's node name */

/* Collective: every rank passes rc (0 ok) and, when rc != 0, its message.  Afterwards every rank
 * has *rc_out = the rc of the first failing rank in rank order (0 when none), *from = that rank,
 * and msg (cap bytes) its message.  One process: copies. */
nf_status nf_mpi_agree_rc(int rc, const char *text, int *rc_out, int *from, char *msg, size_t cap);

/* Collective: *differs = the first rank whose value differs from rank 0's, or -1. */
nf_status nf_mpi_compare(uint64_t value, int *differs);

/* Collective broadcast of n bytes from rank 0. */
nf_status nf_mpi_bcast_bytes(void *buf, size_t n);

/* nf_dist over MPI_COMM_WORLD.  sum: the float vector is cut into one segment per rank; every
 * rank sends segment k to rank k (MPI_Alltoallv), rank k adds the N copies of its segment in
 * rank order, and MPI_Allgatherv puts the sums back together on every rank; the doubles ride
 * with segment 0.  Each rank sends and receives 2·(N−1)/N of the vector, as a ring allreduce,
 * but the order of the additions is fixed by construction (MPI_Allreduce's is the library's
 * choice of algorithm and may change with the message size or the number of ranks), so the
 * result is bit-identical on every rank and from run to run.  One process: NULL. */
const nf_dist *nf_mpi_dist(void);

/* nf_sweep_run over all ranks; every rank calls it with the same cfg (the same settings, data
 * and seed: check with nf_mpi_compare first).  Rank 0 hands out trial indices one at a time, in
 * nf_sweep_run's order (restart-major), to whichever rank has a free worker: each rank runs
 * cfg->jobs worker threads and asks for the next trial when one finishes, so ranks of
 * different speed and trials of different cost balance themselves.  A finished trial travels
 * to rank 0 as its bytes (plus its curve); only rank 0 fills trials[] and calls cfg->on_trial,
 * in arrival order, from the calling thread, after appending the trial to cfg->journal when
 * there is one (so after a rank dies the rerun with the journal does only the missing trials;
 * cfg->resume and trials[] placed from the journal skip the finished ones, as nf_sweep_run
 * does).  Only rank 0 may open the journal (it is locked); the other ranks ignore cfg->journal
 * and cfg->resume.  Results are those of nf_sweep_run: a trial
 * depends only on its setting and restart, never on the rank that ran it.
 *
 * cfg->cancel set on rank 0 (Ctrl-C, SIGTERM) stops the sweep: running trials are dropped,
 * finished ones kept, NF_EINTERRUPTED.  Rank 0 then returns at once without another MPI call
 * (after a rank has died, mpirun's SIGTERM precedes its SIGKILL by about a second, and a send to
 * the dead rank would hang in Open MPI until then): write what is finished, then call
 * nf_mpi_sweep_end, which stops the ranks that still run.  Set on another rank, it stops that rank the same way
 * (mpirun sends SIGTERM to all of them when it ends a job).  A trial that fails to run on any
 * rank stops the sweep with its message ("rank K (node): ...").  Other ranks return NF_OK (or
 * NF_EINTERRUPTED / the error) with trials[] untouched and *n_done = the trials they ran. */
nf_status nf_mpi_sweep_run(const nf_sweep_config *cfg, nf_trial *trials, long *n_done);
/* Rank 0, after the results of nf_mpi_sweep_run are written: sends STOP to the ranks still
 * running after an interruption and waits up to 1 s for them.  A no-op elsewhere. */
void nf_mpi_sweep_end(void);

#ifdef __cplusplus
}
#endif
#endif
