// The masked softmax of attention rows, 16 lanes at a time (see include/softmax_rows.h). Why C: the
// Swift kernel runs 8 lanes (the package targets Haswell), and the softmax was 7% of an INT8
// inference step of all-MiniLM-L6-v2 at 64 x 128 (perf), nearly all of it in e^x.
#include "softmax_rows.h"

#include <float.h>

#include "vector_exp.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
FT_AVX512 static void masked_softmax_avx512(float *row, const float *keep, int n) {
    const __m512 zero = _mm512_setzero_ps();
    // The largest kept score (Swift's masked-vector max gives the same value: −FLT_MAX is below
    // every kept score, and the sign of a zero maximum changes no difference below).
    __m512 maxima = _mm512_set1_ps(-FLT_MAX);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const __mmask16 kept = _mm512_cmp_ps_mask(_mm512_loadu_ps(keep + j), zero, _CMP_NEQ_UQ);
        maxima = _mm512_mask_max_ps(maxima, kept, maxima, _mm512_loadu_ps(row + j));
    }
    const __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
    if (j < n) {
        const __mmask16 kept = _mm512_mask_cmp_ps_mask(tail, _mm512_maskz_loadu_ps(tail, keep + j), zero, _CMP_NEQ_UQ);
        maxima = _mm512_mask_max_ps(maxima, kept, maxima, _mm512_maskz_loadu_ps(tail, row + j));
    }
    const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(maxima));
    // e = e^(x − max) · keep, summed as Swift's 8-lane accumulator adds them: elements j ..< j+8,
    // then j+8 ..< j+16 (past n, zeros: e^(0 − max) is finite, times keep 0).
    __m256 sums = _mm256_setzero_ps();
    for (j = 0; j + 16 <= n; j += 16) {
        const __m512 e = _mm512_mul_ps(ft_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(row + j), vmax)), _mm512_loadu_ps(keep + j));
        _mm512_storeu_ps(row + j, e);
        sums = _mm256_add_ps(sums, _mm512_castps512_ps256(e));
        sums = _mm256_add_ps(sums, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    if (j < n) {
        const __m512 e = _mm512_mul_ps(
            ft_exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + j), vmax)), _mm512_maskz_loadu_ps(tail, keep + j));
        _mm512_mask_storeu_ps(row + j, tail, e);
        sums = _mm256_add_ps(sums, _mm512_castps512_ps256(e));
        if (n - j > 8) sums = _mm256_add_ps(sums, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sums);
    float total = -0.0f;  // SIMD8.sum(): from −0, lane by lane
    for (int k = 0; k < 8; k++) total += lanes[k];
    const __m512 inverse = _mm512_set1_ps(1.0f / total);
    for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inverse));
    if (j < n) _mm512_mask_storeu_ps(row + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + j), inverse));
}
#endif

int ft_masked_softmax_avx512(float *row, const float *keep, int n) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ft_cpu_has(0)) {
        masked_softmax_avx512(row, keep, n);
        return 1;
    }
#endif
    (void)row;
    (void)keep;
    (void)n;
    return 0;
}
