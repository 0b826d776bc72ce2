#ifndef FTTRAIN_CMPI_SHIM_H
#define FTTRAIN_CMPI_SHIM_H
#include <mpi.h>
// Open MPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ... as macros over global
// structs, which Swift cannot import; these inline wrappers expose them as functions.
static inline MPI_Comm ft_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm ft_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype ft_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype ft_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype ft_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype ft_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op ft_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op ft_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op ft_mpi_min(void) { return MPI_MIN; }
static inline MPI_Status *ft_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *ft_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
// MPI_IN_PLACE is `((void *) 1)`: a sentinel pointer, never dereferenced.
static inline void *ft_mpi_in_place(void) { return MPI_IN_PLACE; }
// Errors come back as return codes instead of aborting the job (the default, MPI_ERRORS_ARE_FATAL).
static inline MPI_Errhandler ft_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int ft_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int ft_mpi_success(void) { return MPI_SUCCESS; }
static inline int ft_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int ft_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int ft_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline double ft_mpi_wtime(void) { return MPI_Wtime(); }
// Largest tag the implementation accepts (attribute MPI_TAG_UB on MPI_COMM_WORLD; at least 32767).
static inline int ft_mpi_tag_upper_bound(void) {
    int *value = 0; int flag = 0;
    if (MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &value, &flag) != MPI_SUCCESS || !flag || !value) return 32767;
    return *value;
}
#endif
