// u8 × s8 → s32 products: an AVX-512 VNNI kernel, an AVX2 kernel and a portable one over one packed layout
// (see include/int8_gemm.h). oneDNN's brgemm matmul is the default on VNNI CPUs (FTKernels'
// Int8OneDNN: weights reordered once, primitives cached per thread, its OpenMP team held to one
// thread per call): on MiniLM's four shapes in 128-row chunks, one core of a loaded Xeon, it ran
// 139–584 GOP/s against 127–442 for this kernel, and won 2 of 3 alternated whole INT8 steps (by
// up to 16%; the machine was too loaded for a finer verdict). These kernels remain the `vnni` and
// `portable` paths (FTTRAIN_INT8_KERNEL) and the fallback where oneDNN refuses a shape. oneDNN
// is not used without VNNI: its AVX2/AVX-512 int8 path multiplies through `vpmaddubsw`, whose
// int16 pair sums saturate (255 · 127 · 2 > 32767) — not the exact integer product the tests
// demand. The VNNI instruction sums four u8·s8 products into int32 without saturation, so this
// kernel is exact, and the portable one is exact by construction. The AVX2 kernel (CPUs without
// AVX-512 VNNI) widens both operands to 16 bits and multiplies with `vpmaddwd`, whose int32 pair
// sums cannot saturate; each function carries its own target attribute, so the file builds
// without global -mavx2/-mavx512 flags and runs on any x86-64 (dispatch by cpuid).
#include "int8_gemm.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

size_t ft_int8_packed_size(int n, int k) {
    return (size_t)((n + 15) / 16) * (size_t)((k + 3) / 4) * 64;
}

void ft_int8_pack(const int8_t *b, int ldb, int n, int k, int8_t *packed) {
    const int blocks = (n + 15) / 16, k4 = (k + 3) / 4;
    memset(packed, 0, ft_int8_packed_size(n, k));
    for (int nb = 0; nb < blocks; nb++) {
        for (int j = 0; j < 16 && nb * 16 + j < n; j++) {
            const int8_t *row = b + (size_t)(nb * 16 + j) * ldb;
            for (int q = 0; q < k4; q++) {
                int8_t *dst = packed + ((size_t)nb * k4 + q) * 64 + j * 4;
                for (int t = 0; t < 4 && q * 4 + t < k; t++) dst[t] = row[q * 4 + t];
            }
        }
    }
}

int ft_int8_cpu_has_vnni(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

// MARK: - Portable

void ft_int8_gemm_portable(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k) {
    const int blocks = (n + 15) / 16, k4 = (k + 3) / 4;
    for (int i = 0; i < m; i++) {
        const uint8_t *ai = a + (size_t)i * lda;
        for (int nb = 0; nb < blocks; nb++) {
            int32_t acc[16] = {0};
            const int8_t *p = packed + (size_t)nb * k4 * 64;
            for (int q = 0; q < k4; q++, p += 64) {
                const int32_t a0 = ai[4 * q], a1 = ai[4 * q + 1], a2 = ai[4 * q + 2], a3 = ai[4 * q + 3];
                for (int j = 0; j < 16; j++) {
                    acc[j] += a0 * p[4 * j] + a1 * p[4 * j + 1] + a2 * p[4 * j + 2] + a3 * p[4 * j + 3];
                }
            }
            const int cols = n - nb * 16 < 16 ? n - nb * 16 : 16;
            for (int j = 0; j < cols; j++) c[(size_t)i * ldc + nb * 16 + j] = acc[j];
        }
    }
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FT_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

/// Rows `i0 ..< i0 + rows` (rows ≤ 4) by column blocks `nb0 ..< nb0 + nv` (nv ≤ 4, 16 columns
/// each), over all of K: up to 16 zmm accumulators, one broadcast of 4 A bytes per row and k-group.
FT_VNNI static inline void vnni_tile(
    const uint8_t *a, int lda, const int8_t *packed, int k4, int q0, int q1, int32_t *c, int ldc,
    int rows, int nb0, int nv, int n) {
    __m512i acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_si512();
    if (q0 > 0) {  // a later K block: continue the sums already in C
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < nv; v++) {
                const int col = (nb0 + v) * 16, left = n - col;
                const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                acc[r][v] = _mm512_maskz_loadu_epi32(mask, c + (size_t)r * ldc + col);
            }
        }
    }
    const int8_t *p[4];
    for (int v = 0; v < 4; v++) p[v] = packed + ((size_t)(nb0 + (v < nv ? v : 0)) * k4 + q0) * 64;
    a += 4 * (size_t)q0;
    const int kq = q1 - q0;
    if (rows == 4 && nv == 4) {
        const uint8_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * (size_t)lda, *a3 = a + 3 * (size_t)lda;
        for (int q = 0; q < kq; q++) {
            const __m512i b0 = _mm512_loadu_si512(p[0] + (size_t)q * 64), b1 = _mm512_loadu_si512(p[1] + (size_t)q * 64);
            const __m512i b2 = _mm512_loadu_si512(p[2] + (size_t)q * 64), b3 = _mm512_loadu_si512(p[3] + (size_t)q * 64);
            int32_t w;
            __m512i x;
            memcpy(&w, a0 + 4 * q, 4); x = _mm512_set1_epi32(w);
            acc[0][0] = _mm512_dpbusd_epi32(acc[0][0], x, b0); acc[0][1] = _mm512_dpbusd_epi32(acc[0][1], x, b1);
            acc[0][2] = _mm512_dpbusd_epi32(acc[0][2], x, b2); acc[0][3] = _mm512_dpbusd_epi32(acc[0][3], x, b3);
            memcpy(&w, a1 + 4 * q, 4); x = _mm512_set1_epi32(w);
            acc[1][0] = _mm512_dpbusd_epi32(acc[1][0], x, b0); acc[1][1] = _mm512_dpbusd_epi32(acc[1][1], x, b1);
            acc[1][2] = _mm512_dpbusd_epi32(acc[1][2], x, b2); acc[1][3] = _mm512_dpbusd_epi32(acc[1][3], x, b3);
            memcpy(&w, a2 + 4 * q, 4); x = _mm512_set1_epi32(w);
            acc[2][0] = _mm512_dpbusd_epi32(acc[2][0], x, b0); acc[2][1] = _mm512_dpbusd_epi32(acc[2][1], x, b1);
            acc[2][2] = _mm512_dpbusd_epi32(acc[2][2], x, b2); acc[2][3] = _mm512_dpbusd_epi32(acc[2][3], x, b3);
            memcpy(&w, a3 + 4 * q, 4); x = _mm512_set1_epi32(w);
            acc[3][0] = _mm512_dpbusd_epi32(acc[3][0], x, b0); acc[3][1] = _mm512_dpbusd_epi32(acc[3][1], x, b1);
            acc[3][2] = _mm512_dpbusd_epi32(acc[3][2], x, b2); acc[3][3] = _mm512_dpbusd_epi32(acc[3][3], x, b3);
        }
    } else {
        for (int q = 0; q < kq; q++) {
            __m512i b[4];
            for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_si512(p[v] + (size_t)q * 64);
            for (int r = 0; r < rows; r++) {
                int32_t w;
                memcpy(&w, a + (size_t)r * lda + 4 * q, 4);
                const __m512i x = _mm512_set1_epi32(w);
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, b[v]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < nv; v++) {
            const int col = (nb0 + v) * 16, left = n - col;
            const __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_epi32(c + (size_t)r * ldc + col, mask, acc[r][v]);
        }
    }
}

FT_VNNI void ft_int8_gemm_vnni(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k) {
    const int blocks = (n + 15) / 16, k4 = (k + 3) / 4;
    // Rows in chunks, K in blocks of 256 bytes: a chunk's A block (64 × 256 B) and one column
    // block's B panel (64 columns × 256 B) stay in L1 while the tiles pass over them.
    const int chunk = 64, kblock = 64;  // kblock in groups of 4 bytes
    for (int i0 = 0; i0 < m; i0 += chunk) {
        const int i1 = i0 + chunk < m ? i0 + chunk : m;
        for (int q0 = 0; q0 < k4; q0 += kblock) {
            const int q1 = q0 + kblock < k4 ? q0 + kblock : k4;
            for (int nb = 0; nb < blocks; nb += 4) {
                const int nv = blocks - nb < 4 ? blocks - nb : 4;
                for (int i = i0; i < i1; i += 4) {
                    const int rows = i1 - i < 4 ? i1 - i : 4;
                    vnni_tile(a + (size_t)i * lda, lda, packed, k4, q0, q1, c + (size_t)i * ldc, ldc, rows, nb, nv, n);
                }
            }
        }
    }
}
#else
void ft_int8_gemm_vnni(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k) {
    ft_int8_gemm_portable(a, lda, packed, c, ldc, m, n, k);
}
#endif
