// The two LAPACK routines lpnd uses, as exported by libopenblas (Fortran calling convention).
#ifndef LPND_CLAPACK_SHIM_H
#define LPND_CLAPACK_SHIM_H
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void spotrs_(const char *uplo, const int *n, const int *nrhs, const float *a, const int *lda,
             float *b, const int *ldb, int *info);
#endif
