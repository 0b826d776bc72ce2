// The AVX2 u8 × s8 → s32 kernel (see include/int8_gemm.h), for x86-64 CPUs without AVX-512
// VNNI: oneDNN's int8 path there multiplies with `vpmaddubsw`, whose int16 sums of two u8·s8
// products saturate (2 · 255 · 127 > 32767; fbgemm's does too, which is why PyTorch quantises
// activations to 7 bits on x86), so its sums are not exact. Here both
// operands are widened to 16 bits in registers and `vpmaddwd` sums pairs of 16-bit products into
// int32: exact. Same packed layout as the VNNI and portable kernels; the function carries its own
// target attribute, so the target builds without -mavx2 and the kernel is chosen by cpuid.
#include "int8_gemm.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FT_AVX2 __attribute__((target("avx2")))

int ft_int8_cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

/// Rows `i0 ..< i0 + rows` (rows ≤ 4) by one column block (16 columns: two ymm of 8 int32 lanes),
/// K groups `q0 ..< q1`. Each int32 lane of a packed ymm holds one column's 4 weight bytes
/// [b0 b1 b2 b3]; each 16-bit half is split into its low byte sign-extended ([b0, b2]: shift left
/// then arithmetic right by 8) and its high byte sign-extended ([b1, b3]: arithmetic right by 8),
/// and the broadcast activation bytes likewise into [a0, a2] (mask) and [a1, a3] (logical shift).
/// `vpmaddwd` multiplies 16-bit lanes and sums each pair into int32: a0·b0 + a2·b2 and
/// a1·b1 + a3·b3, each within ±2 · 255 · 128 — exact, where `vpmaddubsw`'s int16 pair sums would
/// saturate at 32767.
FT_AVX2 static inline void avx2_tile(
    const uint8_t *a, int lda, const int8_t *panel, int q0, int q1, int32_t *c, int ldc, int rows, int cols) {
    __m256i acc[4][2];
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    if (q0 > 0) {  // a later K block: continue the sums already in C
        for (int r = 0; r < rows; r++) {
            if (cols == 16) {
                acc[r][0] = _mm256_loadu_si256((const __m256i *)(c + (size_t)r * ldc));
                acc[r][1] = _mm256_loadu_si256((const __m256i *)(c + (size_t)r * ldc + 8));
            } else {
                int32_t t[16] = {0};
                memcpy(t, c + (size_t)r * ldc, (size_t)cols * 4);
                acc[r][0] = _mm256_loadu_si256((const __m256i *)t);
                acc[r][1] = _mm256_loadu_si256((const __m256i *)(t + 8));
            }
        }
    }
    const __m256i low = _mm256_set1_epi16(0x00FF);
    const int8_t *p = panel + (size_t)q0 * 64;
    a += 4 * (size_t)q0;
    const int kq = q1 - q0;
    if (rows == 4) {
        const uint8_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * (size_t)lda, *a3 = a + 3 * (size_t)lda;
        for (int q = 0; q < kq; q++, p += 64) {
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)p), b1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            const __m256i e0 = _mm256_srai_epi16(_mm256_slli_epi16(b0, 8), 8), o0 = _mm256_srai_epi16(b0, 8);
            const __m256i e1 = _mm256_srai_epi16(_mm256_slli_epi16(b1, 8), 8), o1 = _mm256_srai_epi16(b1, 8);
            int32_t w;
            __m256i x, xe, xo;
#define FT_AVX2_ROW(r, ar)                                                                                                  \
    memcpy(&w, ar + 4 * q, 4);                                                                                              \
    x = _mm256_set1_epi32(w);                                                                                               \
    xe = _mm256_and_si256(x, low);                                                                                          \
    xo = _mm256_srli_epi16(x, 8);                                                                                           \
    acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_add_epi32(_mm256_madd_epi16(xe, e0), _mm256_madd_epi16(xo, o0)));         \
    acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_add_epi32(_mm256_madd_epi16(xe, e1), _mm256_madd_epi16(xo, o1)));
            FT_AVX2_ROW(0, a0)
            FT_AVX2_ROW(1, a1)
            FT_AVX2_ROW(2, a2)
            FT_AVX2_ROW(3, a3)
#undef FT_AVX2_ROW
        }
    } else {
        for (int q = 0; q < kq; q++, p += 64) {
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)p), b1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            const __m256i e0 = _mm256_srai_epi16(_mm256_slli_epi16(b0, 8), 8), o0 = _mm256_srai_epi16(b0, 8);
            const __m256i e1 = _mm256_srai_epi16(_mm256_slli_epi16(b1, 8), 8), o1 = _mm256_srai_epi16(b1, 8);
            for (int r = 0; r < rows; r++) {
                int32_t w;
                memcpy(&w, a + (size_t)r * lda + 4 * q, 4);
                const __m256i x = _mm256_set1_epi32(w);
                const __m256i xe = _mm256_and_si256(x, low), xo = _mm256_srli_epi16(x, 8);
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_add_epi32(_mm256_madd_epi16(xe, e0), _mm256_madd_epi16(xo, o0)));
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_add_epi32(_mm256_madd_epi16(xe, e1), _mm256_madd_epi16(xo, o1)));
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        if (cols == 16) {
            _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc), acc[r][0]);
            _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc + 8), acc[r][1]);
        } else {  // the last block of a width not a multiple of 16: write only its columns
            int32_t t[16];
            _mm256_storeu_si256((__m256i *)t, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(t + 8), acc[r][1]);
            memcpy(c + (size_t)r * ldc, t, (size_t)cols * 4);
        }
    }
}

FT_AVX2 void ft_int8_gemm_avx2(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k) {
    const int blocks = (n + 15) / 16, k4 = (k + 3) / 4;
    // As the VNNI kernel: rows in chunks of 64, K in blocks of 256 bytes, so a chunk's A block and
    // the column blocks' panels stay in L1 while the 4-row tiles pass over them.
    const int chunk = 64, kblock = 64;
    for (int i0 = 0; i0 < m; i0 += chunk) {
        const int i1 = i0 + chunk < m ? i0 + chunk : m;
        for (int q0 = 0; q0 < k4; q0 += kblock) {
            const int q1 = q0 + kblock < k4 ? q0 + kblock : k4;
            for (int nb = 0; nb < blocks; nb++) {
                const int cols = n - nb * 16 < 16 ? n - nb * 16 : 16;
                const int8_t *panel = packed + (size_t)nb * k4 * 64;
                for (int i = i0; i < i1; i += 4) {
                    const int rows = i1 - i < 4 ? i1 - i : 4;
                    avx2_tile(a + (size_t)i * lda, lda, panel, q0, q1, c + (size_t)i * ldc + nb * 16, ldc, rows, cols);
                }
            }
        }
    }
}
#else
int ft_int8_cpu_has_avx2(void) { return 0; }

void ft_int8_gemm_avx2(const uint8_t *a, int lda, const int8_t *packed, int32_t *c, int ldc, int m, int n, int k) {
    ft_int8_gemm_portable(a, lda, packed, c, ldc, m, n, k);
}
#endif
