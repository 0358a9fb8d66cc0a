/* The 6x16 AVX2+FMA microkernel; compiled for AVX2 by attribute only, called
 * only after __builtin_cpu_supports says the CPU has AVX2 and FMA. */
#include "sgemm_internal.h"
#include "onyx_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ONYX_AVX2 __attribute__((target("avx2,fma")))

/* One row of the tile: two vectors of 8 sums, finished as in sgemm_internal.h. */
static inline __attribute__((always_inline)) ONYX_AVX2 void finish_row(float *c, __m256 s0, __m256 s1, int row,
                                                                       const onyx_tile_epilogue *e) {
    __m256 alpha = _mm256_set1_ps(e->alpha);
    __m256 r0, r1;
    if (e->first) {
        r0 = _mm256_mul_ps(alpha, s0);
        r1 = _mm256_mul_ps(alpha, s1);
        if (e->beta != 0) {
            __m256 beta = _mm256_set1_ps(e->beta);
            r0 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c), r0);
            r1 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c + 8), r1);
        }
    } else {
        r0 = _mm256_fmadd_ps(alpha, s0, _mm256_loadu_ps(c));
        r1 = _mm256_fmadd_ps(alpha, s1, _mm256_loadu_ps(c + 8));
    }
    if (e->last) {
        if (e->row_bias) {
            __m256 bias = _mm256_set1_ps(e->row_bias[row]);
            r0 = _mm256_add_ps(r0, bias);
            r1 = _mm256_add_ps(r1, bias);
        }
        if (e->col_bias) {
            r0 = _mm256_add_ps(r0, _mm256_loadu_ps(e->col_bias));
            r1 = _mm256_add_ps(r1, _mm256_loadu_ps(e->col_bias + 8));
        }
        /* max_ps / min_ps return their second operand when either is NaN. */
        if (e->activation == ONYX_ACTIVATION_RELU) {
            __m256 zero = _mm256_setzero_ps();
            r0 = _mm256_max_ps(zero, r0);
            r1 = _mm256_max_ps(zero, r1);
        } else if (e->activation == ONYX_ACTIVATION_CLIP) {
            __m256 lo = _mm256_set1_ps(e->clip_min);
            __m256 hi = _mm256_set1_ps(e->clip_max);
            r0 = _mm256_min_ps(hi, _mm256_max_ps(lo, r0));
            r1 = _mm256_min_ps(hi, _mm256_max_ps(lo, r1));
        }
    }
    _mm256_storeu_ps(c, r0);
    _mm256_storeu_ps(c + 8, r1);
}

#define ONYX_STEP(u)                                                                                                  \
    do {                                                                                                              \
        __m256 b0 = _mm256_loadu_ps(b + 16 * (u));                                                                    \
        __m256 b1 = _mm256_loadu_ps(b + 16 * (u) + 8);                                                                \
        __m256 av = _mm256_broadcast_ss(a + 6 * (u) + 0);                                                             \
        c00 = _mm256_fmadd_ps(av, b0, c00);                                                                           \
        c01 = _mm256_fmadd_ps(av, b1, c01);                                                                           \
        av = _mm256_broadcast_ss(a + 6 * (u) + 1);                                                                    \
        c10 = _mm256_fmadd_ps(av, b0, c10);                                                                           \
        c11 = _mm256_fmadd_ps(av, b1, c11);                                                                           \
        av = _mm256_broadcast_ss(a + 6 * (u) + 2);                                                                    \
        c20 = _mm256_fmadd_ps(av, b0, c20);                                                                           \
        c21 = _mm256_fmadd_ps(av, b1, c21);                                                                           \
        av = _mm256_broadcast_ss(a + 6 * (u) + 3);                                                                    \
        c30 = _mm256_fmadd_ps(av, b0, c30);                                                                           \
        c31 = _mm256_fmadd_ps(av, b1, c31);                                                                           \
        av = _mm256_broadcast_ss(a + 6 * (u) + 4);                                                                    \
        c40 = _mm256_fmadd_ps(av, b0, c40);                                                                           \
        c41 = _mm256_fmadd_ps(av, b1, c41);                                                                           \
        av = _mm256_broadcast_ss(a + 6 * (u) + 5);                                                                    \
        c50 = _mm256_fmadd_ps(av, b0, c50);                                                                           \
        c51 = _mm256_fmadd_ps(av, b1, c51);                                                                           \
    } while (0)

ONYX_AVX2 void onyx_kernel_6x16_avx2(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                     const onyx_tile_epilogue *e) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int i = 0; i < MR; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        ONYX_STEP(0);
        ONYX_STEP(1);
        ONYX_STEP(2);
        ONYX_STEP(3);
        a += 4 * MR;
        b += 4 * NR;
    }
    for (; p < kc; p++) {
        ONYX_STEP(0);
        a += MR;
        b += NR;
    }
    finish_row(c + 0 * ldc, c00, c01, 0, e);
    finish_row(c + 1 * ldc, c10, c11, 1, e);
    finish_row(c + 2 * ldc, c20, c21, 2, e);
    finish_row(c + 3 * ldc, c30, c31, 3, e);
    finish_row(c + 4 * ldc, c40, c41, 4, e);
    finish_row(c + 5 * ldc, c50, c51, 5, e);
}

#endif
