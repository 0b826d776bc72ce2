#ifndef FTTRAIN_SOFTMAX_ROWS_H
#define FTTRAIN_SOFTMAX_ROWS_H
// The masked softmax of one attention row in AVX-512 (FTKernels' `SelfAttention.maskedSoftmax`
// calls it where the CPU has AVX-512, and keeps its Swift path elsewhere).

/// row[j] ← keep[j] · e^(row[j] − max) / Σ, max and Σ over the kept keys (keep[j] = 1; 0 masks),
/// giving `SelfAttention.maskedSoftmax`'s floats bit for bit: the same e^x (VectorMath.exp), the
/// sum taken in its order (8 partial sums, element j into sum j mod 8, then the 8 in turn). At least
/// one key must be kept. Returns 0 without touching the row when the CPU lacks AVX-512.
int ft_masked_softmax_avx512(float *row, const float *keep, int n);

#endif
