/* The 12x32 AVX-512 microkernel; compiled for AVX-512 by attribute only, called
 * only after __builtin_cpu_supports says the CPU has AVX-512F.
 *
 * It reads the same packed layout as the 6x16 kernels: two 6-row panels of A
 * and two 16-column panels of B, so a 12x32 block is four 6x16 tiles done at
 * once with 24 accumulators. Every sum is the same chain of fused
 * multiply-adds over k as in the 6x16 AVX2 kernel, and the epilogue does the
 * same operations, so the result is bitwise the one the 6x16 kernel gives.
 * A 12x16 kernel (masked to fewer columns) takes the column panels left over
 * after the 32-column blocks, and a 6x32 one (masked rows and columns) the
 * row panels left over, the same way. Each reads B rows `bs` floats apart:
 * NR in a packed panel, or the row stride of a row-major B read in place
 * (the masked kernels then load only the columns inside B). */
#include "sgemm_internal.h"
#include "onyx_gemm.h"
#include "approx.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ONYX_AVX512 __attribute__((target("avx512f")))

/* One row of 32: two vectors of 16 sums, finished as in sgemm_internal.h. */
static inline __attribute__((always_inline)) ONYX_AVX512 void finish_row32(float *c, __m512 s0, __m512 s1, int row,
                                                                           const onyx_tile_epilogue *e) {
    __m512 alpha = _mm512_set1_ps(e->alpha);
    __m512 r0, r1;
    if (e->first) {
        r0 = _mm512_mul_ps(alpha, s0);
        r1 = _mm512_mul_ps(alpha, s1);
        if (e->beta != 0) {
            __m512 beta = _mm512_set1_ps(e->beta);
            r0 = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c), r0);
            r1 = _mm512_fmadd_ps(beta, _mm512_loadu_ps(c + 16), r1);
        }
    } else {
        r0 = _mm512_fmadd_ps(alpha, s0, _mm512_loadu_ps(c));
        r1 = _mm512_fmadd_ps(alpha, s1, _mm512_loadu_ps(c + 16));
    }
    if (e->last) {
        if (e->row_bias) {
            __m512 bias = _mm512_set1_ps(e->row_bias[row]);
            r0 = _mm512_add_ps(r0, bias);
            r1 = _mm512_add_ps(r1, bias);
        }
        if (e->col_bias) {
            r0 = _mm512_add_ps(r0, _mm512_loadu_ps(e->col_bias));
            r1 = _mm512_add_ps(r1, _mm512_loadu_ps(e->col_bias + 16));
        }
        if (e->residual) {
            const float *z = onyx_residual_at(c, e);
            r0 = _mm512_add_ps(r0, _mm512_loadu_ps(z));
            r1 = _mm512_add_ps(r1, _mm512_loadu_ps(z + 16));
        }
        /* max_ps / min_ps return their second operand when either is NaN. */
        if (e->activation == ONYX_ACTIVATION_RELU) {
            __m512 zero = _mm512_setzero_ps();
            r0 = _mm512_max_ps(zero, r0);
            r1 = _mm512_max_ps(zero, r1);
        } else if (e->activation == ONYX_ACTIVATION_CLIP) {
            __m512 lo = _mm512_set1_ps(e->clip_min);
            __m512 hi = _mm512_set1_ps(e->clip_max);
            r0 = _mm512_min_ps(hi, _mm512_max_ps(lo, r0));
            r1 = _mm512_min_ps(hi, _mm512_max_ps(lo, r1));
        }
    }
    _mm512_storeu_ps(c, r0);
    _mm512_storeu_ps(c + 16, r1);
    if (e->last && e->activation == ONYX_ACTIVATION_SILU) {
        for (int j = 0; j < 32; j++) c[j] = silu_approx(c[j]);
    }
}

#define ONYX_ROW(acc0, acc1, panel, i, u)                                                                             \
    do {                                                                                                              \
        __m512 av = _mm512_set1_ps((panel)[6 * (u) + (i)]);                                                           \
        acc0 = _mm512_fmadd_ps(av, b0, acc0);                                                                         \
        acc1 = _mm512_fmadd_ps(av, b1, acc1);                                                                         \
    } while (0)

#define ONYX_STEP12(u)                                                                                                \
    do {                                                                                                              \
        __m512 b0 = _mm512_loadu_ps(bl + bs * (u));                                                                   \
        __m512 b1 = _mm512_loadu_ps(br + bs * (u));                                                                   \
        ONYX_ROW(c00, c01, at, 0, u);                                                                                 \
        ONYX_ROW(c10, c11, at, 1, u);                                                                                 \
        ONYX_ROW(c20, c21, at, 2, u);                                                                                 \
        ONYX_ROW(c30, c31, at, 3, u);                                                                                 \
        ONYX_ROW(c40, c41, at, 4, u);                                                                                 \
        ONYX_ROW(c50, c51, at, 5, u);                                                                                 \
        ONYX_ROW(c60, c61, ab, 0, u);                                                                                 \
        ONYX_ROW(c70, c71, ab, 1, u);                                                                                 \
        ONYX_ROW(c80, c81, ab, 2, u);                                                                                 \
        ONYX_ROW(c90, c91, ab, 3, u);                                                                                 \
        ONYX_ROW(ca0, ca1, ab, 4, u);                                                                                 \
        ONYX_ROW(cb0, cb1, ab, 5, u);                                                                                 \
    } while (0)

#ifndef ONYX_A12_PREFETCH
#define ONYX_A12_PREFETCH 384
#endif

ONYX_AVX512 void onyx_kernel_12x32_avx512(size_t kc, const float *a_top, const float *a_bottom, const float *b_left,
                                         const float *b_right, ptrdiff_t bs, float *c, ptrdiff_t ldc,
                                         const onyx_tile_epilogue *e) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    __m512 c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps();
    __m512 c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps();
    __m512 ca0 = _mm512_setzero_ps(), ca1 = _mm512_setzero_ps();
    __m512 cb0 = _mm512_setzero_ps(), cb1 = _mm512_setzero_ps();
    const float *at = a_top, *ab = a_bottom, *bl = b_left, *br = b_right;
    for (int i = 0; i < 2 * MR; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    size_t p = 0;
    for (; p + 2 <= kc; p += 2) {
        /* Constant weights stream from memory once per run: fetch ahead. */
        _mm_prefetch((const char *)(at + ONYX_A12_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(ab + ONYX_A12_PREFETCH), _MM_HINT_T0);
        ONYX_STEP12(0);
        ONYX_STEP12(1);
        at += 2 * MR;
        ab += 2 * MR;
        bl += 2 * bs;
        br += 2 * bs;
    }
    for (; p < kc; p++) {
        ONYX_STEP12(0);
        at += MR;
        ab += MR;
        bl += bs;
        br += bs;
    }
    finish_row32(c + 0 * ldc, c00, c01, 0, e);
    finish_row32(c + 1 * ldc, c10, c11, 1, e);
    finish_row32(c + 2 * ldc, c20, c21, 2, e);
    finish_row32(c + 3 * ldc, c30, c31, 3, e);
    finish_row32(c + 4 * ldc, c40, c41, 4, e);
    finish_row32(c + 5 * ldc, c50, c51, 5, e);
    finish_row32(c + 6 * ldc, c60, c61, 6, e);
    finish_row32(c + 7 * ldc, c70, c71, 7, e);
    finish_row32(c + 8 * ldc, c80, c81, 8, e);
    finish_row32(c + 9 * ldc, c90, c91, 9, e);
    finish_row32(c + 10 * ldc, ca0, ca1, 10, e);
    finish_row32(c + 11 * ldc, cb0, cb1, 11, e);
}

/* One row of up to 16 (mask), finished as in sgemm_internal.h. */
static inline __attribute__((always_inline)) ONYX_AVX512 void finish_row16(float *c, __m512 s, int row, __mmask16 mask,
                                                                           const onyx_tile_epilogue *e) {
    __m512 alpha = _mm512_set1_ps(e->alpha);
    __m512 r;
    if (e->first) {
        r = _mm512_mul_ps(alpha, s);
        if (e->beta != 0) r = _mm512_fmadd_ps(_mm512_set1_ps(e->beta), _mm512_maskz_loadu_ps(mask, c), r);
    } else {
        r = _mm512_fmadd_ps(alpha, s, _mm512_maskz_loadu_ps(mask, c));
    }
    if (e->last) {
        if (e->row_bias) r = _mm512_add_ps(r, _mm512_set1_ps(e->row_bias[row]));
        if (e->col_bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask, e->col_bias));
        if (e->residual) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask, onyx_residual_at(c, e)));
        if (e->activation == ONYX_ACTIVATION_RELU) {
            r = _mm512_max_ps(_mm512_setzero_ps(), r);
        } else if (e->activation == ONYX_ACTIVATION_CLIP) {
            r = _mm512_min_ps(_mm512_set1_ps(e->clip_max), _mm512_max_ps(_mm512_set1_ps(e->clip_min), r));
        } else if (e->activation == ONYX_ACTIVATION_SILU) {
            float t[16] __attribute__((aligned(64)));
            _mm512_store_ps(t, r);
            for (int j = 0; j < 16; j++) t[j] = silu_approx(t[j]);
            r = _mm512_load_ps(t);
        }
    }
    _mm512_mask_storeu_ps(c, mask, r);
}

#define ONYX_ROW16(acc, panel, i, u)                                                                                  \
    acc = _mm512_fmadd_ps(_mm512_set1_ps((panel)[6 * (u) + (i)]), b0, acc)

#define ONYX_STEP12x16(u)                                                                                             \
    do {                                                                                                              \
        __m512 b0 = _mm512_maskz_loadu_ps(mask, bp + bs * (u));                                                       \
        ONYX_ROW16(c0, at, 0, u);                                                                                     \
        ONYX_ROW16(c1, at, 1, u);                                                                                     \
        ONYX_ROW16(c2, at, 2, u);                                                                                     \
        ONYX_ROW16(c3, at, 3, u);                                                                                     \
        ONYX_ROW16(c4, at, 4, u);                                                                                     \
        ONYX_ROW16(c5, at, 5, u);                                                                                     \
        ONYX_ROW16(c6, ab, 0, u);                                                                                     \
        ONYX_ROW16(c7, ab, 1, u);                                                                                     \
        ONYX_ROW16(c8, ab, 2, u);                                                                                     \
        ONYX_ROW16(c9, ab, 3, u);                                                                                     \
        ONYX_ROW16(ca, ab, 4, u);                                                                                     \
        ONYX_ROW16(cb, ab, 5, u);                                                                                     \
    } while (0)

ONYX_AVX512 void onyx_kernel_12x16_avx512(size_t kc, const float *a_top, const float *a_bottom, const float *b,
                                         ptrdiff_t bs, float *c, ptrdiff_t ldc, size_t columns,
                                         const onyx_tile_epilogue *e) {
    __mmask16 mask = (__mmask16)(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, ca = c0, cb = c0;
    const float *at = a_top, *ab = a_bottom, *bp = b;
    size_t p = 0;
    for (; p + 2 <= kc; p += 2) {
        ONYX_STEP12x16(0);
        ONYX_STEP12x16(1);
        at += 2 * MR;
        ab += 2 * MR;
        bp += 2 * bs;
    }
    for (; p < kc; p++) {
        ONYX_STEP12x16(0);
        at += MR;
        ab += MR;
        bp += bs;
    }
    finish_row16(c + 0 * ldc, c0, 0, mask, e);
    finish_row16(c + 1 * ldc, c1, 1, mask, e);
    finish_row16(c + 2 * ldc, c2, 2, mask, e);
    finish_row16(c + 3 * ldc, c3, 3, mask, e);
    finish_row16(c + 4 * ldc, c4, 4, mask, e);
    finish_row16(c + 5 * ldc, c5, 5, mask, e);
    finish_row16(c + 6 * ldc, c6, 6, mask, e);
    finish_row16(c + 7 * ldc, c7, 7, mask, e);
    finish_row16(c + 8 * ldc, c8, 8, mask, e);
    finish_row16(c + 9 * ldc, c9, 9, mask, e);
    finish_row16(c + 10 * ldc, ca, 10, mask, e);
    finish_row16(c + 11 * ldc, cb, 11, mask, e);
}

#define ONYX_ROW6(acc0, acc1, i, u)                                                                                   \
    do {                                                                                                              \
        __m512 av = _mm512_set1_ps(ap[6 * (u) + (i)]);                                                                \
        acc0 = _mm512_fmadd_ps(av, b0, acc0);                                                                         \
        acc1 = _mm512_fmadd_ps(av, b1, acc1);                                                                         \
    } while (0)

#ifndef ONYX_B_PREFETCH
#define ONYX_B_PREFETCH 32
#endif

#define ONYX_STEP6x32(u)                                                                                              \
    do {                                                                                                              \
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bl + bs * (u));                                                         \
        __m512 b1 = _mm512_maskz_loadu_ps(m1, br + bs * (u));                                                         \
        ONYX_ROW6(c00, c01, 0, u);                                                                                    \
        ONYX_ROW6(c10, c11, 1, u);                                                                                    \
        ONYX_ROW6(c20, c21, 2, u);                                                                                    \
        ONYX_ROW6(c30, c31, 3, u);                                                                                    \
        ONYX_ROW6(c40, c41, 4, u);                                                                                    \
        ONYX_ROW6(c50, c51, 5, u);                                                                                    \
    } while (0)

/* One row of up to 32 (two masks), finished as in sgemm_internal.h. */
static inline __attribute__((always_inline)) ONYX_AVX512 void finish_row32_masked(float *c, __m512 s0, __m512 s1,
                                                                                  int row, __mmask16 m0, __mmask16 m1,
                                                                                  const onyx_tile_epilogue *e) {
    onyx_tile_epilogue left = *e, right = *e;
    if (e->col_bias) right.col_bias = e->col_bias + 16;
    finish_row16(c, s0, row, m0, &left);
    if (m1) finish_row16(c + 16, s1, row, m1, &right);
}

ONYX_AVX512 void onyx_kernel_6x32_avx512(size_t kc, const float *a, const float *b_left, const float *b_right,
                                        ptrdiff_t bs, float *c, ptrdiff_t ldc, size_t rows, size_t columns,
                                        const onyx_tile_epilogue *e) {
    __mmask16 m0 = (__mmask16)(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
    __mmask16 m1 = (__mmask16)(columns >= 32 ? 0xFFFF : columns > 16 ? (1u << (columns - 16)) - 1 : 0);
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    /* With 16 columns or fewer the right panel is not read: the left one stands in. */
    const float *ap = a, *bl = b_left, *br = columns > 16 ? b_right : b_left;
    for (size_t p = 0; p < kc; p++) {
        /* B streams through once when few rows share it (GEMV-like): fetch
         * ahead, or the FMA chains stalled on misses cap the loads in flight. */
        _mm_prefetch((const char *)(bl + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        _mm_prefetch((const char *)(br + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        ONYX_STEP6x32(0);
        ap += MR;
        bl += bs;
        br += bs;
    }
    __m512 left[6] = {c00, c10, c20, c30, c40, c50}, right[6] = {c01, c11, c21, c31, c41, c51};
    for (size_t i = 0; i < rows; i++) finish_row32_masked(c + (ptrdiff_t)i * ldc, left[i], right[i], (int)i, m0, m1, e);
}

/* Row i of a 4x64 block: A's element times the four B vectors. */
#define ONYX_ROW64(s0, s1, s2, s3, i)                                                                                 \
    do {                                                                                                              \
        __m512 av = _mm512_set1_ps(ap[i]);                                                                            \
        s0 = _mm512_fmadd_ps(av, v0, s0);                                                                             \
        s1 = _mm512_fmadd_ps(av, v1, s1);                                                                             \
        s2 = _mm512_fmadd_ps(av, v2, s2);                                                                             \
        s3 = _mm512_fmadd_ps(av, v3, s3);                                                                             \
    } while (0)

ONYX_AVX512 void onyx_kernel_4x64_avx512(size_t kc, const float *a, const float *b, ptrdiff_t panel_step,
                                        ptrdiff_t bs, float *c, ptrdiff_t ldc, size_t rows,
                                        const onyx_tile_epilogue *e) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    __m512 c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    const float *b0 = b, *b1 = b + panel_step, *b2 = b + 2 * panel_step, *b3 = b + 3 * panel_step;
    const float *ap = a;
    for (size_t p = 0; p < kc; p++) {
        _mm_prefetch((const char *)(b0 + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        _mm_prefetch((const char *)(b1 + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        _mm_prefetch((const char *)(b2 + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        _mm_prefetch((const char *)(b3 + ONYX_B_PREFETCH * bs), _MM_HINT_T0);
        __m512 v0 = _mm512_loadu_ps(b0), v1 = _mm512_loadu_ps(b1), v2 = _mm512_loadu_ps(b2), v3 = _mm512_loadu_ps(b3);
        ONYX_ROW64(c00, c01, c02, c03, 0);
        ONYX_ROW64(c10, c11, c12, c13, 1);
        ONYX_ROW64(c20, c21, c22, c23, 2);
        ONYX_ROW64(c30, c31, c32, c33, 3);
        ap += MR;
        b0 += bs;
        b1 += bs;
        b2 += bs;
        b3 += bs;
    }
    __m512 sums[4][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
    onyx_tile_epilogue right = *e;
    if (e->col_bias) right.col_bias = e->col_bias + 32;
    for (size_t i = 0; i < rows && i < 4; i++) {
        finish_row32(c + (ptrdiff_t)i * ldc, sums[i][0], sums[i][1], (int)i, e);
        finish_row32(c + (ptrdiff_t)i * ldc + 32, sums[i][2], sums[i][3], (int)i, &right);
    }
}

#endif
