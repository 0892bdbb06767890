/* OpenBLAS's cblas.h plus the few LAPACK routines owlprune uses. Debian's libopenblas-dev
   ships no lapacke.h, but libopenblas exports the Fortran symbols, so they are declared here
   with Fortran calling conventions (every argument by pointer, column-major storage). */
#ifndef OWLPRUNE_CBLAS_SHIM_H
#define OWLPRUNE_CBLAS_SHIM_H
#include <cblas.h>
/* mallopt, for Tensor's retainFreedBuffers (glibc; the activation buffers BLAS fills). */
#include <malloc.h>

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
#endif
