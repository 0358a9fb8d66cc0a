/*
 * Single-precision GEMM for Onyx:  C = act(alpha * op(A) * op(B) + beta * C + bias + R)
 *
 * Matrices are addressed by element strides, so any row-major matrix, its
 * transpose or a strided view is an operand: A(i, p) = a[i * a_row_stride +
 * p * a_col_stride] for i < m, p < k; B(p, j) = b[p * b_row_stride + j *
 * b_col_stride] for p < k, j < n; C(i, j) = c[i * ldc + j].
 *
 * Operands are copied into packed panels (A in ONYX_SGEMM_MR-row panels, B in
 * ONYX_SGEMM_NR-column panels), blocked for the caches, and multiplied by a
 * 6x16 microkernel: AVX2+FMA on x86-64 CPUs that have it (chosen at run
 * time), NEON on AArch64, portable C elsewhere. On CPUs with AVX-512F, whole
 * 12x32 blocks (two panels of each) go to a 12x32 AVX-512 kernel that
 * computes every element with the same operations.
 *
 * Every element of C is computed by the same sequence of operations whatever
 * part of C a call covers, so splitting C over threads (onyx_sgemm_range) gives
 * bitwise the same result as one call. The reduction over k is split into
 * blocks whose sizes depend only on k.
 *
 * With beta == 0, C is not read. The epilogue runs once per element after the
 * whole sum: bias, then the residual R (when given), then activation.
 */
#ifndef ONYX_GEMM_H
#define ONYX_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_SGEMM_MR 6
#define ONYX_SGEMM_NR 16

typedef enum {
    ONYX_BIAS_NONE = 0,
    /** bias[i] is added to row i. */
    ONYX_BIAS_ROW = 1,
    /** bias[j] is added to column j. */
    ONYX_BIAS_COLUMN = 2,
} onyx_bias_kind;

typedef enum {
    ONYX_ACTIVATION_NONE = 0,
    /** max(x, 0); NaN stays NaN. */
    ONYX_ACTIVATION_RELU = 1,
    /** min(max(x, clip_min), clip_max); NaN stays NaN. */
    ONYX_ACTIVATION_CLIP = 2,
    /** x * sigmoid(x), the same bits as onyx_unary_f32's ONYX_UNARY_SILU. */
    ONYX_ACTIVATION_SILU = 3,
} onyx_activation;

typedef enum {
    /** The fastest kernel this CPU supports. */
    ONYX_KERNEL_AUTO = 0,
    /** The portable C kernel (for tests). */
    ONYX_KERNEL_PORTABLE = 1,
    /** The 6x16 kernels only, without the 12x32 AVX-512 blocks (for tests:
     * both give bitwise the same result). */
    ONYX_KERNEL_NO_WIDE = 2,
} onyx_kernel_choice;

typedef struct {
    size_t m, n, k;
    float alpha, beta;
    const float *a;
    ptrdiff_t a_row_stride, a_col_stride;
    /** A packed by onyx_sgemm_pack_a for this m and k, or NULL; when set, `a` is not read. */
    const float *packed_a;
    const float *b;
    ptrdiff_t b_row_stride, b_col_stride;
    /** B packed by onyx_sgemm_pack_b for this k and n, or NULL; when set, `b` is not read. */
    const float *packed_b;
    float *c;
    ptrdiff_t ldc;
    /** m values for ONYX_BIAS_ROW, n values for ONYX_BIAS_COLUMN. */
    const float *bias;
    int bias_kind;
    int activation;
    float clip_min, clip_max;
    int kernel;
    /** NULL, or R: m x n values with C's row stride (R(i, j) = residual[i * ldc + j]),
     * added after the bias and before the activation; R must not overlap C. */
    const float *residual;
} onyx_sgemm_problem;

/** Computes all of C. Returns 0, or -2 when no packing buffer could be allocated. */
int onyx_sgemm(const onyx_sgemm_problem *problem);

/**
 * Computes rows [m0, m1) and columns [n0, n1) of C. m0 must be a multiple of
 * ONYX_SGEMM_MR and n0 of ONYX_SGEMM_NR (otherwise nothing is done and -1 is
 * returned); -2 means no packing buffer could be allocated, 0 success. Calls
 * on disjoint ranges may run concurrently.
 */
int onyx_sgemm_range(const onyx_sgemm_problem *problem, size_t m0, size_t m1, size_t n0, size_t n1);

/**
 * 1 when onyx_sgemm reads this problem's B where it lies instead of packing
 * it (a row-major B, no packed_b, and the AVX-512 kernels); packing B up
 * front for a split over threads would then only add work.
 */
int onyx_sgemm_reads_b_in_place(const onyx_sgemm_problem *problem);

/** Floats needed to hold A (m x k) packed. */
size_t onyx_sgemm_packed_a_count(size_t m, size_t k);
/** Packs A(i, p) = a[i * row_stride + p * col_stride] into `packed`. */
void onyx_sgemm_pack_a(size_t m, size_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t col_stride, float *packed);

/** Floats needed to hold B (k x n) packed. */
size_t onyx_sgemm_packed_b_count(size_t k, size_t n);
/** Packs B(p, j) = b[p * row_stride + j * col_stride] into `packed`. */
void onyx_sgemm_pack_b(size_t k, size_t n, const float *b, ptrdiff_t row_stride, ptrdiff_t col_stride, float *packed);

/**
 * Packs rows [p0, p1) and columns [j0, j1) of B (k x n) into their place in the
 * layout onyx_sgemm_pack_b writes; `b` points at B(p0, 0), so B(p, j) =
 * b[(p - p0) * row_stride + j * col_stride]. j0 must be a multiple of
 * ONYX_SGEMM_NR and j1 either n or a multiple of it (otherwise nothing is
 * done and -1 is returned). Columns past n in the last panel are zeroed.
 * Calls on disjoint parts may run concurrently.
 */
int onyx_sgemm_pack_b_part(size_t k, size_t n, const float *b, ptrdiff_t row_stride, ptrdiff_t col_stride,
                           size_t p0, size_t p1, size_t j0, size_t j1, float *packed);

/** The name of the kernel ONYX_KERNEL_AUTO selects ("avx512+avx2-fma", "avx2-fma", "neon", "portable"). */
const char *onyx_sgemm_kernel_name(void);

#ifdef __cplusplus
}
#endif

#endif
