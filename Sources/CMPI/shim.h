#ifndef FTTRAIN_CMPI_SHIM_H
#define FTTRAIN_CMPI_SHIM_H
#include <mpi.h>
// Open MPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ... as macros over global
// structs, which Swift cannot import; these inline wrappers expose them as functions.
static inline MPI_Comm ft_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ft_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype ft_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype ft_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op ft_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Status *ft_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
#endif
