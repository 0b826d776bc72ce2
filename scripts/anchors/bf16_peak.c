// Peak arithmetic rate of one core: `vdpbf16ps` (bf16 pairs → float32) against `vfmadd231ps`
// (float32 FMA), both on zmm registers, in a register-blocked loop with no memory operands —
// the ceiling any bf16 or float32 matrix-product kernel can reach on this CPU (issue 21: is a
// bf16 product worth twice a float32 one here?).
//
// FLOP per instruction: vfmadd231ps zmm = 16 lanes × (mul + add) = 32; vdpbf16ps zmm = 16 lanes ×
// 2 pairs × (mul + add) = 64. So `vdpbf16ps` doubles the float32 rate only if the core issues it
// as often as FMAs (two per cycle on CPUs with two 512-bit FMA units). Also measured: both
// interleaved in one loop (do they share the FMA ports?), and the ymm forms.
//
// ACC independent accumulators per loop (24 of the 32 zmm) hide the latency (4–6 cycles) of two
// issue ports; the two multiplicands are loop-invariant registers (hidden from the optimiser by
// an empty asm), and the loops keep every accumulator in a register with gcc 12 and clang 17
// (checked with objdump: 24 arithmetic instructions, a decrement and a branch, no loads or stores). Times are the thread's CPU
// time (CLOCK_THREAD_CPUTIME_ID) so neighbours on a shared machine do not count, and the kinds are
// run interleaved, ROUNDS rounds, printing each round and the best of each kind.
//
// Measured 2026-12-07 on this 2-core Xeon (family 6 model 207: avx512_bf16, avx512_fp16,
// avx512_vnni; AMX not exposed), one core, best of 4 interleaved rounds, load average 21 (thread
// CPU time; the rounds agreed within 3%), GFLOP/s: vfmadd231ps zmm 171.9, vdpbf16ps zmm 85.4
// (0.50x), both interleaved 102.5, vfmadd231ps ymm 93.8, vdpbf16ps ymm 47.0, vfmadd231ph zmm 369.9.
// So `vdpbf16ps` issues once per ~4 FMA slots: per instruction it does twice the FMA's work at a
// quarter of its rate, and mixing it with FMAs gains nothing (102.5 < 171.9). No bf16 kernel can
// beat float32 on this CPU: the ceiling is half of float32's, before rounding inputs to bf16.
// (The avx512_fp16 FMA runs at 2.2x float32's FLOP rate, but it accumulates in float16.)
//
// Build (no global -mavx512 flags needed: each kernel carries its target attribute):
//     cc -O2 scripts/anchors/bf16_peak.c -o /tmp/bf16_peak
// Run one core, quiet machine: taskset -c 0 /tmp/bf16_peak [ROUNDS]
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACC 24
#define ITERS 2000000L

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static volatile float sink;

#define FT_512 __attribute__((target("avx512f,avx512bf16"), noinline))
#define FT_256 __attribute__((target("avx512f,avx512vl,avx512bf16,fma"), noinline))

// Each kernel: ITERS iterations of ACC independent instructions; returns FLOP done.

FT_512 static double fma_zmm(void) {
    __m512 acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ps((float)i * 1e-9f);
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < ACC; i++) acc[i] = _mm512_fmadd_ps(x, y, acc[i]);
    }
    __m512 s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, acc[i]);
    sink = _mm512_reduce_add_ps(s);
    return (double)ITERS * ACC * 32;
}

FT_512 static double dpbf16_zmm(void) {
    __m512 acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ps((float)i * 1e-9f);
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3400);  // 1.0, ~1.2e-7
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < ACC; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
    }
    __m512 s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, acc[i]);
    sink = _mm512_reduce_add_ps(s);
    return (double)ITERS * ACC * 64;
}

/// Half the accumulators by FMA, half by vdpbf16ps, in one loop: if the two shared nothing the
/// rate would be the sum of what each reaches alone on its half.
FT_512 static double mixed_zmm(void) {
    __m512 acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ps((float)i * 1e-9f);
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    __m512bh bx = (__m512bh)_mm512_set1_epi16(0x3f80), by = (__m512bh)_mm512_set1_epi16(0x3400);
    __asm__ volatile("" : "+v"(x), "+v"(y), "+v"(bx), "+v"(by));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < ACC; i += 2) {
            acc[i] = _mm512_fmadd_ps(x, y, acc[i]);
            acc[i + 1] = _mm512_dpbf16_ps(acc[i + 1], bx, by);
        }
    }
    __m512 s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, acc[i]);
    sink = _mm512_reduce_add_ps(s);
    return (double)ITERS * (ACC / 2) * (32 + 64);
}

FT_256 static double fma_ymm(void) {
    __m256 acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm256_set1_ps((float)i * 1e-9f);
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < ACC; i++) acc[i] = _mm256_fmadd_ps(x, y, acc[i]);
    }
    __m256 s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0];
    return (double)ITERS * ACC * 16;
}

FT_256 static double dpbf16_ymm(void) {
    __m256 acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm256_set1_ps((float)i * 1e-9f);
    __m256bh x = (__m256bh)_mm256_set1_epi16(0x3f80), y = (__m256bh)_mm256_set1_epi16(0x3400);
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < ACC; i++) acc[i] = _mm256_dpbf16_ps(acc[i], x, y);
    }
    __m256 s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0];
    return (double)ITERS * ACC * 32;
}

/// `vfmadd231ph` (float16 FMA, AVX512-FP16: 32 lanes × 2 = 64 FLOP), where the CPU has it: the
/// other 16-bit format, for comparison (its narrow range needs loss scaling in training).
__attribute__((target("avx512f,avx512fp16"), noinline)) static double fma_ph_zmm(void) {
    __m512h acc[ACC];
    for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ph((_Float16)(i * 1e-3f));
    __m512h x = _mm512_set1_ph((_Float16)0.999f), y = _mm512_set1_ph((_Float16)1e-4f);
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < ACC; i++) acc[i] = _mm512_fmadd_ph(x, y, acc[i]);
    }
    __m512h s = acc[0];
    for (int i = 1; i < ACC; i++) s = _mm512_add_ph(s, acc[i]);
    sink = (float)_mm512_reduce_add_ph(s);
    return (double)ITERS * ACC * 64;
}

int main(int argc, char **argv) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) {
        fprintf(stderr, "bf16_peak: this CPU has no avx512_bf16\n");
        return 1;
    }
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    struct {
        const char *name;
        double (*run)(void);
        double best;
    } kinds[] = {
        {"vfmadd231ps zmm", fma_zmm, 0}, {"vdpbf16ps zmm", dpbf16_zmm, 0}, {"fma+dpbf16 zmm", mixed_zmm, 0},
        {"vfmadd231ps ymm", fma_ymm, 0}, {"vdpbf16ps ymm", dpbf16_ymm, 0}, {"vfmadd231ph zmm", fma_ph_zmm, 0},
    };
    const int n = sizeof kinds / sizeof kinds[0] - (__builtin_cpu_supports("avx512fp16") ? 0 : 1);
    for (int r = 0; r < rounds; r++) {
        printf("round %d:", r + 1);
        for (int i = 0; i < n; i++) {
            const double t = now(), flop = kinds[i].run(), s = now() - t, rate = flop / s / 1e9;
            if (rate > kinds[i].best) kinds[i].best = rate;
            printf("  %s %.1f", kinds[i].name, rate);
        }
        printf("  GFLOP/s\n");
    }
    printf("best of %d rounds (GFLOP/s, one core):\n", rounds);
    for (int i = 0; i < n; i++) printf("  %-18s %7.1f\n", kinds[i].name, kinds[i].best);
    printf("vdpbf16ps / vfmadd231ps (zmm): %.2f\n", kinds[1].best / kinds[0].best);
    return 0;
}
