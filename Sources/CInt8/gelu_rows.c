// GELU for the INT8 feed-forward block (see include/gelu_rows.h). Why C: in an INT8 inference
// step the float32 work around the integer products is most of the time left (perf, 64 x 128
// MiniLM: GELU 8%, the intermediate rows' quantisation ~4%, their scaling ~2%, each a pass over the
// widest activation); here the three run on one row in L1, 16 lanes at a time on AVX-512.
#include "gelu_rows.h"
#include "int8_rows.h"

#include "vector_exp.h"

// The constants of FTKernels' GELU (erf by Abramowitz & Stegun 7.1.26).
#define INV_SQRT2 0.70710678118654752f
#define ERF_P 0.3275911f
#define A5 1.061405429f
#define A4 -1.453152027f
#define A3 1.421413741f
#define A2 -0.284496736f
#define A1 0.254829592f

/// GELU.forward, one lane.
static inline float gelu_portable(float v) {
    const float x = v * INV_SQRT2;
    const float a = ft_bits_to_float(ft_float_to_bits(x) & 0x7FFFFFFFu);
    const float t = 1.0f / fmaf(ERF_P, a, 1.0f);
    float r = fmaf(A5, t, A4);
    r = fmaf(r, t, A3);
    r = fmaf(r, t, A2);
    r = fmaf(r, t, A1);
    const float g = ft_exp_portable(-(a * a));
    const float y = fmaf(-(g * t), r, 1.0f);
    const float e = ft_bits_to_float(ft_float_to_bits(y) | (ft_float_to_bits(x) & 0x80000000u));
    return 0.5f * v * (1.0f + e);
}

static void gelu_portable_row(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = gelu_portable(x[i]);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
FT_AVX512 static inline __m512 gelu_avx512(__m512 v) {
    const __m512 x = _mm512_mul_ps(v, _mm512_set1_ps(INV_SQRT2));
    const __m512i sign_mask = _mm512_set1_epi32((int)0x80000000u);
    const __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, _mm512_castps_si512(x)));
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(ERF_P), a, one));
    __m512 r = _mm512_fmadd_ps(_mm512_set1_ps(A5), t, _mm512_set1_ps(A4));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(A3));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(A2));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(A1));
    const __m512 g = ft_exp_avx512(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(a, a)), sign_mask)));
    const __m512 gt = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(_mm512_mul_ps(g, t)), sign_mask));
    const __m512 y = _mm512_fmadd_ps(gt, r, one);
    const __m512 e = _mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(y), _mm512_and_si512(_mm512_castps_si512(x), sign_mask)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(one, e));
}

FT_AVX512 static void gelu_avx512_row(float *x, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu_avx512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, tail, gelu_avx512(_mm512_maskz_loadu_ps(tail, x + i)));
    }
}

FT_AVX2_FMA static inline __m256 gelu_avx2(__m256 v) {
    const __m256 x = _mm256_mul_ps(v, _mm256_set1_ps(INV_SQRT2));
    const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 a = _mm256_andnot_ps(sign_mask, x);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(ERF_P), a, one));
    __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(A5), t, _mm256_set1_ps(A4));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(A3));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(A2));
    r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(A1));
    const __m256 g = ft_exp_avx2(_mm256_xor_ps(_mm256_mul_ps(a, a), sign_mask));
    const __m256 y = _mm256_fmadd_ps(_mm256_xor_ps(_mm256_mul_ps(g, t), sign_mask), r, one);
    const __m256 e = _mm256_or_ps(y, _mm256_and_ps(x, sign_mask));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(one, e));
}

FT_AVX2_FMA static void gelu_avx2_row(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu_avx2(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = gelu_portable(x[i]);  // the same operations, one lane
}
#endif

void ft_gelu_inplace(float *x, int n, int path) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (path == 0 && ft_cpu_has(0)) {
        gelu_avx512_row(x, n);
        return;
    }
    if (path != 1 && ft_cpu_has(1)) {
        gelu_avx2_row(x, n);
        return;
    }
#endif
    gelu_portable_row(x, n);
}

void ft_int8_dequantize_gelu_quantize_rows(
    const int32_t *c, int ldc, int rows, int n, const float *row_scales, const int32_t *zeros,
    const float *col_scales, const int32_t *col_sums, const float *bias, float *scratch,
    uint8_t *q, int ldq, float *out_scales, int32_t *out_zeros, int path) {
    for (int r = 0; r < rows; r++) {
        ft_int8_dequantize_rows(
            c + (long)r * ldc, ldc, scratch, n, 1, n, row_scales + r, zeros + r, col_scales, col_sums, bias, path);
        ft_gelu_inplace(scratch, n, path);
        ft_int8_quantize_rows(scratch, n, 1, n, q + (long)r * ldq, ldq, out_scales + r, out_zeros + r, path);
    }
}
