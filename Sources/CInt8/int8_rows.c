// Row quantisation and the float32 epilogue of dynamic INT8 products (see include/int8_rows.h).
// Why C: the Swift versions spent most of an INT8 inference step here (perf: 60% in generic
// SIMD8 conversions and rounding that were not specialised to single instructions), more than
// in the integer products themselves. Here each is one pass of AVX-512 (or AVX2) instructions over
// a row that stays in L1 (min/max, then scale), with a plain C path of the same operations.
#include "int8_rows.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The two paths must agree bit for bit: no contraction of a · b + c into one rounding.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

/// The row's scale and zero point from its range (shared by both paths).
static inline void row_range(float lo, float hi, float *scale, float *zero) {
    const float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    float z = rintf(-lo / s);
    z = z < 0.0f ? 0.0f : (z > 255.0f ? 255.0f : z);
    *scale = s;
    *zero = z;
}

static void quantize_rows_portable(
    const float *x, int ldx, int rows, int k, uint8_t *q, int ldq, float *scales, int32_t *zeros) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        uint8_t *qr = q + (size_t)r * ldq;
        float lo = 0.0f, hi = 0.0f;
        for (int i = 0; i < k; i++) {
            lo = xr[i] < lo ? xr[i] : lo;
            hi = xr[i] > hi ? xr[i] : hi;
        }
        float scale, zero;
        row_range(lo, hi, &scale, &zero);
        scales[r] = scale;
        zeros[r] = (int32_t)zero;
        const float inverse = 1.0f / scale;
        for (int i = 0; i < k; i++) {
            float s = rintf(xr[i] * inverse) + zero;
            s = s < 0.0f ? 0.0f : (s > 255.0f ? 255.0f : s);
            qr[i] = (uint8_t)(int32_t)s;
        }
        for (int i = k; i < ldq; i++) qr[i] = 0;
    }
}

static void dequantize_rows_portable(
    const int32_t *c, int ldc, float *y, int ldy, int rows, int n, const float *row_scales,
    const int32_t *zeros, const float *col_scales, const int32_t *col_sums, const float *bias) {
    for (int r = 0; r < rows; r++) {
        const int32_t *cr = c + (size_t)r * ldc;
        float *yr = y + (size_t)r * ldy;
        const float sx = row_scales[r];
        const uint32_t zero = (uint32_t)zeros[r];
        for (int o = 0; o < n; o++) {
            // Wrapping int32 arithmetic, as the exact sum is (it fits; the parts may not).
            const int32_t acc = (int32_t)((uint32_t)cr[o] - zero * (uint32_t)col_sums[o]);
            const float factor = sx * col_scales[o];
            float v = factor * (float)acc;
            if (bias) v = v + bias[o];
            yr[o] = v;
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FT_AVX512 __attribute__((target("avx512f,avx512bw")))

static int cpu_has_avx512(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    }
    return known;
}

FT_AVX512 static void quantize_rows_avx512(
    const float *x, int ldx, int rows, int k, uint8_t *q, int ldq, float *scales, int32_t *zeros) {
    const __m512 v0 = _mm512_setzero_ps(), v255 = _mm512_set1_ps(255.0f);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        uint8_t *qr = q + (size_t)r * ldq;
        __m512 vlo = v0, vhi = v0;
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            const __m512 v = _mm512_loadu_ps(xr + i);
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
        }
        const __mmask16 tail = (__mmask16)((1u << (k - i)) - 1);
        if (i < k) {  // the lanes past k load as 0, inside every range
            const __m512 v = _mm512_maskz_loadu_ps(tail, xr + i);
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
        }
        float scale, zero;
        row_range(_mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi), &scale, &zero);
        scales[r] = scale;
        zeros[r] = (int32_t)zero;
        const __m512 vinv = _mm512_set1_ps(1.0f / scale), vz = _mm512_set1_ps(zero);
        for (i = 0; i + 16 <= k; i += 16) {
            __m512 s = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(xr + i), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            s = _mm512_max_ps(v0, _mm512_min_ps(v255, _mm512_add_ps(s, vz)));
            _mm_storeu_si128((__m128i *)(qr + i), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(s)));
        }
        if (i < k) {
            __m512 s = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(tail, xr + i), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            s = _mm512_max_ps(v0, _mm512_min_ps(v255, _mm512_add_ps(s, vz)));
            _mm512_mask_cvtepi32_storeu_epi8(qr + i, tail, _mm512_cvttps_epi32(s));
        }
        for (i = k; i < ldq; i++) qr[i] = 0;
    }
}

FT_AVX512 static void dequantize_rows_avx512(
    const int32_t *c, int ldc, float *y, int ldy, int rows, int n, const float *row_scales,
    const int32_t *zeros, const float *col_scales, const int32_t *col_sums, const float *bias) {
    for (int r = 0; r < rows; r++) {
        const int32_t *cr = c + (size_t)r * ldc;
        float *yr = y + (size_t)r * ldy;
        const __m512 vsx = _mm512_set1_ps(row_scales[r]);
        const __m512i vzero = _mm512_set1_epi32(zeros[r]);
        for (int o = 0; o < n; o += 16) {
            const __mmask16 m = n - o >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - o)) - 1);
            const __m512i sums = _mm512_maskz_loadu_epi32(m, col_sums + o);
            const __m512i acc = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, cr + o), _mm512_mullo_epi32(vzero, sums));
            const __m512 factor = _mm512_mul_ps(vsx, _mm512_maskz_loadu_ps(m, col_scales + o));
            __m512 v = _mm512_mul_ps(factor, _mm512_cvtepi32_ps(acc));
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + o));
            _mm512_mask_storeu_ps(yr + o, m, v);
        }
    }
}
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FT_AVX2 __attribute__((target("avx2")))

static int cpu_has_avx2(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2");
    }
    return known;
}

/// The AVX2 paths (CPUs without AVX-512): 8 lanes at a time, the last k % 8 elements by the
/// portable path's scalar operations (the same roundings: `vroundps` to nearest even is `rintf`).
FT_AVX2 static void quantize_rows_avx2(
    const float *x, int ldx, int rows, int k, uint8_t *q, int ldq, float *scales, int32_t *zeros) {
    const __m256 v0 = _mm256_setzero_ps(), v255 = _mm256_set1_ps(255.0f);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        uint8_t *qr = q + (size_t)r * ldq;
        __m256 vlo = v0, vhi = v0;
        int i = 0;
        for (; i + 8 <= k; i += 8) {
            const __m256 v = _mm256_loadu_ps(xr + i);
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        float l8[8], h8[8];
        _mm256_storeu_ps(l8, vlo);
        _mm256_storeu_ps(h8, vhi);
        float lo = 0.0f, hi = 0.0f;
        for (int j = 0; j < 8; j++) {
            lo = l8[j] < lo ? l8[j] : lo;
            hi = h8[j] > hi ? h8[j] : hi;
        }
        for (int j = i; j < k; j++) {
            lo = xr[j] < lo ? xr[j] : lo;
            hi = xr[j] > hi ? xr[j] : hi;
        }
        float scale, zero;
        row_range(lo, hi, &scale, &zero);
        scales[r] = scale;
        zeros[r] = (int32_t)zero;
        const float inverse = 1.0f / scale;
        const __m256 vinv = _mm256_set1_ps(inverse), vz = _mm256_set1_ps(zero);
        for (i = 0; i + 8 <= k; i += 8) {
            __m256 s = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            s = _mm256_max_ps(v0, _mm256_min_ps(v255, _mm256_add_ps(s, vz)));
            const __m256i w = _mm256_cvttps_epi32(s);  // 0 … 255 in each int32 lane
            const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            _mm_storel_epi64((__m128i *)(qr + i), _mm_packus_epi16(w16, w16));
        }
        for (; i < k; i++) {
            float s = rintf(xr[i] * inverse) + zero;
            s = s < 0.0f ? 0.0f : (s > 255.0f ? 255.0f : s);
            qr[i] = (uint8_t)(int32_t)s;
        }
        for (i = k; i < ldq; i++) qr[i] = 0;
    }
}

FT_AVX2 static void dequantize_rows_avx2(
    const int32_t *c, int ldc, float *y, int ldy, int rows, int n, const float *row_scales,
    const int32_t *zeros, const float *col_scales, const int32_t *col_sums, const float *bias) {
    for (int r = 0; r < rows; r++) {
        const int32_t *cr = c + (size_t)r * ldc;
        float *yr = y + (size_t)r * ldy;
        const float sx = row_scales[r];
        const __m256 vsx = _mm256_set1_ps(sx);
        const __m256i vzero = _mm256_set1_epi32(zeros[r]);
        int o = 0;
        for (; o + 8 <= n; o += 8) {
            const __m256i sums = _mm256_loadu_si256((const __m256i *)(col_sums + o));
            const __m256i acc = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(cr + o)), _mm256_mullo_epi32(vzero, sums));
            const __m256 factor = _mm256_mul_ps(vsx, _mm256_loadu_ps(col_scales + o));
            __m256 v = _mm256_mul_ps(factor, _mm256_cvtepi32_ps(acc));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + o));
            _mm256_storeu_ps(yr + o, v);
        }
        const uint32_t zero = (uint32_t)zeros[r];
        for (; o < n; o++) {
            const int32_t acc = (int32_t)((uint32_t)cr[o] - zero * (uint32_t)col_sums[o]);
            const float factor = sx * col_scales[o];
            float v = factor * (float)acc;
            if (bias) v = v + bias[o];
            yr[o] = v;
        }
    }
}
#endif

void ft_int8_quantize_rows(
    const float *x, int ldx, int rows, int k, uint8_t *q, int ldq, float *scales, int32_t *zeros, int path) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (path == 0 && cpu_has_avx512()) {
        quantize_rows_avx512(x, ldx, rows, k, q, ldq, scales, zeros);
        return;
    }
    if (path != 1 && cpu_has_avx2()) {
        quantize_rows_avx2(x, ldx, rows, k, q, ldq, scales, zeros);
        return;
    }
#endif
    quantize_rows_portable(x, ldx, rows, k, q, ldq, scales, zeros);
}

void ft_int8_dequantize_rows(
    const int32_t *c, int ldc, float *y, int ldy, int rows, int n, const float *row_scales,
    const int32_t *zeros, const float *col_scales, const int32_t *col_sums, const float *bias, int path) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (path == 0 && cpu_has_avx512()) {
        dequantize_rows_avx512(c, ldc, y, ldy, rows, n, row_scales, zeros, col_scales, col_sums, bias);
        return;
    }
    if (path != 1 && cpu_has_avx2()) {
        dequantize_rows_avx2(c, ldc, y, ldy, rows, n, row_scales, zeros, col_scales, col_sums, bias);
        return;
    }
#endif
    dequantize_rows_portable(c, ldc, y, ldy, rows, n, row_scales, zeros, col_scales, col_sums, bias);
}
