/* Shared between the sgemm driver and its microkernels; not part of the API. */
#ifndef ONYX_SGEMM_INTERNAL_H
#define ONYX_SGEMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define MR 6
#define NR 16

/*
 * What a microkernel does with its MR x NR tile of sums `acc` over one k block:
 *   first block:  r = alpha * acc            (beta == 0: C is not read)
 *                 r = beta * C + r           (beta != 0)
 *   later blocks: r = alpha * acc + C
 *   last block:   r += row_bias[i] / col_bias[j]; r += the residual
 *                 element (when `residual`); then the activation.
 */
typedef struct {
    float alpha, beta;
    int first, last;
    /* MR values (row_bias) or NR values (col_bias) for this tile, or NULL. */
    const float *row_bias;
    const float *col_bias;
    int activation;
    float clip_min, clip_max;
    /* Whether a residual is added; its element for C element *c lies
     * residual_delta bytes from c (the residual has C's row stride). */
    int residual;
    ptrdiff_t residual_delta;
} onyx_tile_epilogue;

/* The residual element (or run of elements) for the C element at c. */
static inline __attribute__((always_inline)) const float *onyx_residual_at(const float *c, const onyx_tile_epilogue *e) {
    return (const float *)((uintptr_t)c + (uintptr_t)e->residual_delta);
}

/* Multiplies the packed MR x kc panel `a` by the packed kc x NR panel `b`
 * and finishes the MR x NR tile at c (row stride ldc). */
typedef void (*onyx_microkernel)(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                 const onyx_tile_epilogue *e);

/* Applies the epilogue to MR x NR sums (row-major) and stores them at c. */
void onyx_tile_finish(const float *acc, float *c, ptrdiff_t ldc, const onyx_tile_epilogue *e);

void onyx_kernel_6x16_portable(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                               const onyx_tile_epilogue *e);
#if defined(__x86_64__)
void onyx_kernel_6x16_avx2(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                           const onyx_tile_epilogue *e);
#endif
#if defined(__x86_64__)
/* Up to onyx_narrow_rows(columns) rows (consecutive A panels) times
 * `columns` (1-4) columns of B, B(q, j) at b[q * b_stride + j * b_column]
 * (b_column 1 within a packed panel): bitwise the 6x16 kernel's columns,
 * without computing unused ones. Writes `rows` x `columns` elements of c;
 * the epilogue's row_bias covers `rows` rows and col_bias (if set) starts at
 * column 0 of these. */
size_t onyx_narrow_rows(size_t columns);
void onyx_kernel_narrow_avx2(size_t kc, const float *a, size_t rows, const float *b, ptrdiff_t b_stride,
                             ptrdiff_t b_column, size_t columns, float *c, ptrdiff_t ldc, const onyx_tile_epilogue *e);
#endif
#if defined(__x86_64__)
/* A 12x32 block from two A panels (rows 0-5, 6-11) and two B panels
 * (columns 0-15, 16-31), B rows `bs` floats apart (NR when packed); the
 * epilogue's biases cover 12 rows / 32 columns. */
void onyx_kernel_12x32_avx512(size_t kc, const float *a_top, const float *a_bottom, const float *b_left,
                              const float *b_right, ptrdiff_t bs, float *c, ptrdiff_t ldc,
                              const onyx_tile_epilogue *e);
#endif
#if defined(__x86_64__)
/* A 12 x `columns` (1-16) block from two A panels and one B panel, bitwise as
 * the 6x16 kernel; only `columns` columns of c (and of col_bias) are read or written. */
void onyx_kernel_12x16_avx512(size_t kc, const float *a_top, const float *a_bottom, const float *b, ptrdiff_t bs,
                              float *c, ptrdiff_t ldc, size_t columns, const onyx_tile_epilogue *e);
#endif
#if defined(__x86_64__)
/* Up to 4 rows (`rows`) of A's 6-row panel times 64 columns of B (four
 * 16-column panels `panel_step` floats apart, rows `bs` apart), every
 * element the 6x16 kernel's chain of FMAs and epilogue. */
void onyx_kernel_4x64_avx512(size_t kc, const float *a, const float *b, ptrdiff_t panel_step, ptrdiff_t bs,
                             float *c, ptrdiff_t ldc, size_t rows, const onyx_tile_epilogue *e);
/* `rows` (1-6) x `columns` (1-32) from one A panel and one or two B panels
 * (b_right is read only when columns > 16), bitwise as the 6x16 kernel; only
 * those rows and columns of c (and of the biases) are read or written. */
void onyx_kernel_6x32_avx512(size_t kc, const float *a, const float *b_left, const float *b_right, ptrdiff_t bs,
                             float *c, ptrdiff_t ldc, size_t rows, size_t columns, const onyx_tile_epilogue *e);
#endif
typedef void (*onyx_wide_microkernel)(size_t kc, const float *a_top, const float *a_bottom, const float *b_left,
                                      const float *b_right, ptrdiff_t bs, float *c, ptrdiff_t ldc,
                                      const onyx_tile_epilogue *e);
#if defined(__aarch64__)
void onyx_kernel_6x16_neon(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                           const onyx_tile_epilogue *e);
#endif

#endif
