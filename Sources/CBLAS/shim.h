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

/* The x86-64 features OpenBLAS's kernel sets need (docs/platform.md "BLAS kernels: the same bits
   on every machine"): owlprune refuses to pin a kernel set the CPU cannot run, which would
   otherwise die of SIGILL in the first product. Bit 0 AVX, bit 1 AVX2, bit 2 FMA, bit 3 AVX-512F.
   0 on other architectures. __builtin_cpu_supports needs literal names, hence one function. */
static inline unsigned owlprune_cpu_features(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx") ? 1u : 0u) | (__builtin_cpu_supports("avx2") ? 2u : 0u)
         | (__builtin_cpu_supports("fma") ? 4u : 0u) | (__builtin_cpu_supports("avx512f") ? 8u : 0u);
#else
    return 0u;
#endif
}
#endif
