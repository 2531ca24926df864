/* mpi_internal.h — private: shared by mpi.c and mpi_sweep.c (built with NF_HAVE_MPI only). */
#ifndef NNFIT_MPI_INTERNAL_H
#define NNFIT_MPI_INTERNAL_H

#include "nnfit/mpi.h"

#define NF_MPI_MSG_CAP 1024 /* bytes of an error message sent between ranks */

/* MPI initialised with more than one rank. */
int nf_mpi_active(void);
/* NF_EIO naming this rank, what failed and MPI's text for rc. */
nf_status nf_mpi_fail(int rc, const char *what);

#endif
