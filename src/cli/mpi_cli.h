/* mpi_cli.h — the nnfit program under mpirun: every rank runs the same command, rank 0 alone
 * prints and writes, errors are agreed so that every rank exits with the same status and the
 * user reads one message.
 *
 * Ranks other than 0 send stdout to /dev/null and keep stderr in a temporary file; at each
 * agreement point (cli_mpi_agree) what they wrote there is the message rank 0 prints when they
 * failed and it did not. */
#ifndef NNFIT_CLI_MPI_CLI_H
#define NNFIT_CLI_MPI_CLI_H

#include "cli.h"

/* At program start: MPI_Init when started by mpirun, then the check that every rank runs the
 * same binary with the same arguments.  0, or the exit status (2, message printed by rank 0). */
int cli_mpi_start(int *argc, char ***argv);
/* At program end: MPI_Finalize. */
void cli_mpi_end(void);

/* More than one rank. */
int cli_mpi_on(void);
int cli_mpi_rank(void);
int cli_mpi_size(void);

/* Collective: every rank passes its rc (0 ok, -1 done without error, else an exit status).
 * Returns the rc of the first rank that did not pass 0, in rank order, on every rank; when that
 * is another rank than 0, rank 0 prints its message ("PROG: error: rank K (node): ...").  One
 * process: rc. */
int cli_mpi_agree(int rc);

/* Refuses (exit 2, one message) a subcommand that runs in one process only. */
int cli_mpi_single(const char *command);

/* Worker threads a rank gets by default: the cores divided among this node's ranks. */
int cli_mpi_default_threads(void);

#endif
