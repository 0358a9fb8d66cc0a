/* The 6x16 AVX2+FMA microkernel; compiled for AVX2 by attribute only, called
 * only after __builtin_cpu_supports says the CPU has AVX2 and FMA. */
#include "sgemm_internal.h"
#include "onyx_gemm.h"
#include "approx.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ONYX_AVX2 __attribute__((target("avx2,fma")))

/* k steps the narrow kernel fetches A ahead. */
#ifndef ONYX_A_PREFETCH
#define ONYX_A_PREFETCH 32
#endif

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
        if (e->residual) {
            const float *z = onyx_residual_at(c, e);
            r0 = _mm256_add_ps(r0, _mm256_loadu_ps(z));
            r1 = _mm256_add_ps(r1, _mm256_loadu_ps(z + 8));
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
    if (e->last && e->activation == ONYX_ACTIVATION_SILU) {
        for (int j = 0; j < 16; j++) c[j] = silu_approx(c[j]);
    }
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

/* One finished element, as finish_row computes each lane. */
static inline __attribute__((always_inline)) ONYX_AVX2 float finish_one(float *c, float sum, int row,
                                                                        const onyx_tile_epilogue *e) {
    float r;
    if (e->first) {
        r = e->alpha * sum;
        if (e->beta != 0) r = __builtin_fmaf(e->beta, *c, r);
    } else {
        r = __builtin_fmaf(e->alpha, sum, *c);
    }
    if (e->last) {
        if (e->row_bias) r = r + e->row_bias[row];
        if (e->col_bias) r = r + e->col_bias[0];
        if (e->residual) r = r + *onyx_residual_at(c, e);
        /* As max_ps(lo, r) / min_ps(hi, r): a NaN r passes through. */
        if (e->activation == ONYX_ACTIVATION_RELU) {
            r = 0.0f > r ? 0.0f : r;
        } else if (e->activation == ONYX_ACTIVATION_CLIP) {
            r = e->clip_min > r ? e->clip_min : r;
            r = e->clip_max < r ? e->clip_max : r;
        } else if (e->activation == ONYX_ACTIVATION_SILU) {
            r = silu_approx(r);
        }
    }
    return r;
}

/* Up to P consecutive A panels times C columns of B: P * C chains of fused
 * multiply-adds in flight (8 for one or two columns, enough to cover their
 * latency). A panel's 6 values of one k step are read as 8 with a plain load
 * (the 2 beyond belong to the next step; lanes 6 and 7 are never used), and
 * with a masked load at the last step, which could reach past the buffer;
 * masked loads at every step held the kernel to about one a cycle. Each
 * element gets the 6x16 kernel's fused multiply-adds in the same order. */
#define ONYX_NARROW_STEP(P, C, LOAD)                                                                           \
    do {                                                                                                       \
        __m256 bv[C];                                                                                          \
        for (int j = 0; j < C; j++) bv[j] = _mm256_broadcast_ss(b + (ptrdiff_t)q * b_stride + j * b_column); \
        for (int i = 0; i < P; i++) {                                                                          \
            if (i < panels) {                                                                                  \
                __m256 av = LOAD(a + (size_t)i * MR * kc + q * MR);                                            \
                for (int j = 0; j < C; j++) s[i][j] = _mm256_fmadd_ps(av, bv[j], s[i][j]);                     \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)
#define ONYX_MASKED_LOAD(p) _mm256_maskload_ps((p), six)
#define ONYX_NARROW_BLOCK(P, C)                                                                                \
    do {                                                                                                       \
        __m256 s[P][C];                                                                                        \
        for (int i = 0; i < P; i++)                                                                            \
            for (int j = 0; j < C; j++) s[i][j] = _mm256_setzero_ps();                                         \
        size_t q = 0;                                                                                          \
        for (; q + 1 < kc; q++) {                                                                              \
            /* The panels stream through once (a matrix times a few vectors): fetch ahead. */                  \
            if (q % 8 == 0) {                                                                                  \
                for (int i = 0; i < P && i < panels; i++) {                                                    \
                    const float *ahead = a + (size_t)i * MR * kc + (q + ONYX_A_PREFETCH) * MR;                 \
                    for (int line = 0; line < 3; line++) _mm_prefetch((const char *)(ahead + 16 * line), _MM_HINT_T0); \
                }                                                                                              \
            }                                                                                                  \
            ONYX_NARROW_STEP(P, C, _mm256_loadu_ps);                                                           \
        }                                                                                                      \
        if (q < kc) ONYX_NARROW_STEP(P, C, ONYX_MASKED_LOAD);                                                  \
        for (int i = 0; i < P; i++)                                                                            \
            for (int j = 0; j < C; j++) _mm256_storeu_ps(sums + 8 * (i * 4 + j), s[i][j]);                     \
    } while (0)

size_t onyx_narrow_rows(size_t columns) { return (columns <= 1 ? 8 : columns == 2 ? 4 : 2) * MR; }

ONYX_AVX2 void onyx_kernel_narrow_avx2(size_t kc, const float *a, size_t rows, const float *b, ptrdiff_t b_stride,
                                       ptrdiff_t b_column, size_t columns, float *c, ptrdiff_t ldc,
                                       const onyx_tile_epilogue *e) {
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    int panels = (int)((rows + MR - 1) / MR);
    /* Sums of panel i, column j at sums[8 * (4 * i + j)]. */
    float sums[8 * 4 * 8];
    switch (columns) {
    case 1: ONYX_NARROW_BLOCK(8, 1); break;
    case 2: ONYX_NARROW_BLOCK(4, 2); break;
    case 3: ONYX_NARROW_BLOCK(2, 3); break;
    default: ONYX_NARROW_BLOCK(2, 4); break;
    }
    for (size_t j = 0; j < columns; j++) {
        onyx_tile_epilogue column = *e;
        column.col_bias = e->col_bias ? e->col_bias + j : NULL;
        for (size_t row = 0; row < rows; row++) {
            float *target = c + (ptrdiff_t)row * ldc + (ptrdiff_t)j;
            *target = finish_one(target, sums[8 * (4 * (row / MR) + j) + row % MR], (int)row, &column);
        }
    }
}

#endif
