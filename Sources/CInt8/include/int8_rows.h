#ifndef FTTRAIN_INT8_ROWS_H
#define FTTRAIN_INT8_ROWS_H
// The float32 ends of a dynamically quantised product (FTKernels' Int8Linear): each activation
// row quantised to unsigned bytes with its own scale and zero point, and the int32 sums scaled
// back to float32. An AVX-512 path, an AVX2 path and a portable one, each giving bit-identical
// results (the same float operations in the same order, no fused multiply-adds), so a model's
// outputs do not depend on the kernel that ran.

#include <stdint.h>

/// Quantises `rows` rows of x (row stride ldx, k floats each) into q (row stride ldq ≥ k; the
/// bytes k ..< ldq set to 0):
///     lo = min(0, min x), hi = max(0, max x), scale = hi > lo ? (hi − lo) / 255 : 1,
///     zero = clamp(rint(−lo / scale), 0, 255), q = clamp(rint(x · (1 / scale)) + zero, 0, 255)
/// (rint: nearest, ties to even), writing scales[r] and zeros[r]. `path`: 0 the widest the CPU has
/// (AVX-512, else AVX2, else plain C); 1 plain C (FTTRAIN_INT8_KERNEL=portable); 2 AVX2 at most
/// (FTTRAIN_INT8_KERNEL=avx2: what a CPU without AVX-512 runs).
void ft_int8_quantize_rows(
    const float *x, int ldx, int rows, int k, uint8_t *q, int ldq, float *scales, int32_t *zeros, int path);

/// y[r][o] = (sx[r] · sw[o]) · float(c[r][o] − zero[r] · sums[o]) (+ bias[o] when bias is not
/// NULL), for `rows` rows of n outputs. y may be c's own memory (ldy == ldc): each element is read
/// before it is written. `path` as for ft_int8_quantize_rows.
void ft_int8_dequantize_rows(
    const int32_t *c, int ldc, float *y, int ldy, int rows, int n, const float *row_scales,
    const int32_t *zeros, const float *col_scales, const int32_t *col_sums, const float *bias, int path);

// The element-wise C kernels that run beside these: GELU (with the fused feed-forward epilogue)
// and the attention softmax. Included here so that a module built before those headers existed
// (an incremental build's clang module cache) is made again with them.
#include "gelu_rows.h"
#include "softmax_rows.h"

#endif
