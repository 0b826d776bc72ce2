#ifndef FTTRAIN_CBLAS_SHIM_H
#define FTTRAIN_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface plus its thread controls (openblas_set_num_threads).
#include <cblas.h>

// LAPACK's double-precision SVD, which libopenblas carries (no LAPACKE header is installed):
// A (m, n) column-major = U · diag(S) · Vᵀ. Used to re-factorise averaged LoRA products.
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *info);
#endif
