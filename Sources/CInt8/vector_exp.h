// e^x as FTKernels' `VectorMath.exp` computes it (Cephes' scheme: the same fused multiply-adds in
// the same order), one lane, 8 lanes (AVX2 + FMA) or 16 (AVX-512), for the C element-wise kernels
// that give the Swift ones' values bit for bit (gelu_rows.c, softmax_rows.c). Internal to CInt8.
#ifndef FTTRAIN_VECTOR_EXP_H
#define FTTRAIN_VECTOR_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Every fused multiply-add is written out (as `VectorMath.fma` is in Swift); no other contraction.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#define EXP_LOW -87.33654f
#define EXP_HIGH 88.72283f
#define EXP_MAGIC 12582912.0f
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI -0.693359375f
#define EXP_LN2_LO 2.12194440e-4f
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f

static inline float ft_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t ft_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/// VectorMath.exp, one lane.
static inline float ft_exp_portable(float x) {
    float c = x < EXP_LOW ? EXP_LOW : x;
    c = c > EXP_HIGH ? EXP_HIGH : c;
    const float shifted = fmaf(c, EXP_LOG2E, EXP_MAGIC);
    const float n = shifted - EXP_MAGIC;
    float r = fmaf(n, EXP_LN2_HI, c);
    r = fmaf(n, EXP_LN2_LO, r);
    const float z = r * r;
    float y = EXP_P0;
    y = fmaf(y, r, EXP_P1);
    y = fmaf(y, r, EXP_P2);
    y = fmaf(y, r, EXP_P3);
    y = fmaf(y, r, EXP_P4);
    y = fmaf(y, r, EXP_P5);
    y = fmaf(y, z, r) + 1.0f;
    const uint32_t n_bits = ft_float_to_bits(shifted) - 0x4B400000u;
    return y * ft_bits_to_float((n_bits + 127u) << 23);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FT_AVX512 __attribute__((target("avx512f,avx512bw")))
#define FT_AVX2_FMA __attribute__((target("avx2,fma")))

/// Whether the CPU has AVX-512 (F and BW): which 0; AVX2 and FMA: which 1.
static inline int ft_cpu_has(int which) {
    static int known[2] = {-1, -1};
    if (known[which] < 0) {
        __builtin_cpu_init();
        known[which] = which == 0 ? (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
                                  : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    }
    return known[which];
}

// max/min with the clamp bound first: a NaN lane stays NaN, as Swift's `replacing(with:where:)` keeps it.
FT_AVX512 static inline __m512 ft_exp_avx512(__m512 x) {
    __m512 c = _mm512_max_ps(_mm512_set1_ps(EXP_LOW), x);
    c = _mm512_min_ps(_mm512_set1_ps(EXP_HIGH), c);
    const __m512 shifted = _mm512_fmadd_ps(c, _mm512_set1_ps(EXP_LOG2E), _mm512_set1_ps(EXP_MAGIC));
    const __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(EXP_MAGIC));
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), c);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
    const __m512 z = _mm512_mul_ps(r, r);
    __m512 y = _mm512_set1_ps(EXP_P0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(EXP_P5));
    y = _mm512_add_ps(_mm512_fmadd_ps(y, z, r), _mm512_set1_ps(1.0f));
    const __m512i n_bits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n_bits, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(y, scale);
}

FT_AVX2_FMA static inline __m256 ft_exp_avx2(__m256 x) {
    __m256 c = _mm256_max_ps(_mm256_set1_ps(EXP_LOW), x);
    c = _mm256_min_ps(_mm256_set1_ps(EXP_HIGH), c);
    const __m256 shifted = _mm256_fmadd_ps(c, _mm256_set1_ps(EXP_LOG2E), _mm256_set1_ps(EXP_MAGIC));
    const __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(EXP_MAGIC));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(EXP_LN2_HI), c);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(EXP_LN2_LO), r);
    const __m256 z = _mm256_mul_ps(r, r);
    __m256 y = _mm256_set1_ps(EXP_P0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(EXP_P5));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, z, r), _mm256_set1_ps(1.0f));
    const __m256i n_bits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n_bits, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(y, scale);
}
#endif

#endif
