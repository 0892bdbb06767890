/* MPICH writes its reduction ops, MPI_IN_PLACE and the status sentinels as casts of
   integer literals, which Swift cannot import; these inline functions hand them over. */
#ifndef OWLPRUNE_CMPI_SHIM_H
#define OWLPRUNE_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_max(void) { return MPI_MAX; }
static inline MPI_Op cmpi_min(void) { return MPI_MIN; }
static inline MPI_Op cmpi_band(void) { return MPI_BAND; }
static inline MPI_Op cmpi_lor(void) { return MPI_LOR; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
#endif
