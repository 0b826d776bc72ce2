#ifndef FTTRAIN_INT8_GEMM_H
#define FTTRAIN_INT8_GEMM_H
// u8 × s8 → s32 matrix products for fttrain's dynamic INT8 inference (FTKernels' Int8Linear).
//
// C (M, N) = A (M, K) · Bᵀ, A unsigned bytes (activations, quantised per row at run time), B
// signed bytes (weights, (N, K) row-major before packing), C int32 — exact integer sums, no
// saturation on any path. B is packed once (`ft_int8_pack`) into blocks of 16 output columns by
// groups of 4 along K: packed[((nb · K4) + q) · 64 + j · 4 + t] = B[nb · 16 + j][q · 4 + t], zero
// past N or K, the layout `vpdpbusd` reads (four u8·s8 products summed into each int32 lane).
// A rows are read K4 · 4 bytes long (`lda` ≥ that): the bytes past K multiply packed zeros.
// The row quantisation and float32 epilogue around these products: int8_rows.h.

#include <stddef.h>
#include <stdint.h>

/// Bytes `ft_int8_pack` writes for an (n, k) matrix: ceil(n/16) · ceil(k/4) · 64.
size_t ft_int8_packed_size(int n, int k);

/// Packs B (n, k), row stride ldb, into `packed` (ft_int8_packed_size bytes).
void ft_int8_pack(const int8_t *b, int ldb, int n, int k, int8_t *packed);

/// 1 when this CPU runs the AVX-512 VNNI kernel (avx512f, avx512bw, avx512vnni), else 0.
int ft_int8_cpu_has_vnni(void);

/// The AVX-512 VNNI kernel (`vpdpbusd`); call only when `ft_int8_cpu_has_vnni()`.
void ft_int8_gemm_vnni(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k);

/// 1 when this CPU runs the AVX2 kernel, else 0.
int ft_int8_cpu_has_avx2(void);

/// The AVX2 kernel (for CPUs without AVX-512 VNNI): bytes widened to 16 bits and multiplied by
/// `vpmaddwd` into exact int32 pair sums; call only when `ft_int8_cpu_has_avx2()`.
void ft_int8_gemm_avx2(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k);

/// The portable kernel (plain C over the same layout; the compiler vectorises it for the
/// baseline instruction set, or AVX2 where the function's clone for it is chosen at load).
void ft_int8_gemm_portable(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k);

#endif
