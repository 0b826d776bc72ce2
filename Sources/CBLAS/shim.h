#ifndef FTTRAIN_CBLAS_SHIM_H
#define FTTRAIN_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface plus its thread controls (openblas_set_num_threads).
#include <cblas.h>
#endif
