#ifndef FTTRAIN_GELU_ROWS_H
#define FTTRAIN_GELU_ROWS_H
// GELU (erf form) in C for the INT8 feed-forward block (FTKernels' Int8FeedForward), where it runs
// between the dequantised intermediate product and the quantisation of the output product's
// input, one row at a time while the row is in L1. The same operations in the same order as
// FTKernels' `GELU.forward` (Swift, 8 lanes): erf by Abramowitz & Stegun 7.1.26 with fused
// multiply-adds, e^x by `VectorMath.exp`'s Cephes scheme; so the values are those of the float32
// path's GELU bit for bit, on every path (AVX-512, AVX2 + FMA, plain C with fmaf).

#include <stdint.h>

/// x[i] = GELU(x[i]) = x · ½ (1 + erf(x / √2)) for i in 0 ..< n, in place. `path` as for
/// ft_int8_quantize_rows: 0 the widest the CPU has, 1 plain C, 2 AVX2 at most.
void ft_gelu_inplace(float *x, int n, int path);

/// The intermediate product's epilogue fused with the next product's prologue, row by row:
///     v[o] = (sx[r] · sw[o]) · float(c[r][o] − zero[r] · sums[o]) + bias[o]   (ft_int8_dequantize_rows)
///     g = GELU(v)                                                              (ft_gelu_inplace)
///     q[r], out_scales[r], out_zeros[r] = g quantised                          (ft_int8_quantize_rows)
/// for `rows` rows of n int32 sums (row stride ldc) into q (row stride ldq ≥ n, the bytes past n 0).
/// `scratch` holds n floats (the row's GELU values, never written back to a float32 buffer).
/// The bytes are exactly those of the three passes run one after the other.
void ft_int8_dequantize_gelu_quantize_rows(
    const int32_t *c, int ldc, int rows, int n, const float *row_scales, const int32_t *zeros,
    const float *col_scales, const int32_t *col_sums, const float *bias, float *scratch,
    uint8_t *q, int ldq, float *out_scales, int32_t *out_zeros, int path);

#endif
