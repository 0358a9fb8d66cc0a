/* Onyx's C kernels other than sgemm: small loops that need AVX2/AVX-512 code
 * generation without compiler flags (target_clones picks the version at load
 * time). */
#ifndef ONYX_KERNELS_H
#define ONYX_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "onyx_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The geometry of one depthwise 2-D convolution plane. */
typedef struct {
    ptrdiff_t in_h, in_w, out_h, out_w;
    ptrdiff_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    /** ONYX_ACTIVATION_NONE, _RELU, _CLIP (NaN stays NaN for RELU) or _SILU. */
    int activation;
    float clip_min, clip_max;
} onyx_depthwise2d;

/**
 * Planes [first, first + count) of a depthwise convolution (plane = batch *
 * channels + channel; each plane is in_h x in_w at input + plane * in_h *
 * in_w, and out_h x out_w likewise at output): output[oy][ox] = bias[channel]
 * (0 when bias is NULL) + sum over (ky, kx) in order of weights[channel][ky][kx]
 * * input[iy][ix], taps in the padding skipped (or multiplying a zero), then
 * the activation. All strides/dilations >= 1. `scratch` holds
 * onyx_depthwise2d_scratch_count floats, or is NULL. Each plane's result does
 * not depend on first and count.
 */
void onyx_depthwise2d_f32(const onyx_depthwise2d *geometry, ptrdiff_t first, ptrdiff_t count, ptrdiff_t channels,
                          const float *input, const float *weights, const float *bias, float *output,
                          float *scratch);

/**
 * The scratch floats onyx_depthwise2d_f32 needs for its phase-plane method
 * (one long vector loop per plane, fast for any plane width), or 0 when that
 * method would need more than 2^20 floats; pass NULL scratch then, and the
 * kernel adds tap by tap into whole output rows instead.
 */
size_t onyx_depthwise2d_scratch_count(const onyx_depthwise2d *geometry);

/**
 * The same convolution as onyx_depthwise2d_f32 with a phase scratch, bit for
 * bit, computed 16 channels at a time with the channels in vector lanes:
 * items [first, first + count), item = batch * ceil(channels / 16) + channel
 * / 16, each over output rows [row_begin, row_end) (clamped to the plane).
 * Each block's input rows are transposed once each into a ring of rows in the
 * scratch and its output transposed back a row at a time. `scratch` holds
 * onyx_depthwise2d_blocked_scratch_count floats.
 */
void onyx_depthwise2d_blocked_f32(const onyx_depthwise2d *geometry, ptrdiff_t first, ptrdiff_t count,
                                  ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t channels, const float *input,
                                  const float *weights, const float *bias, float *output, float *scratch);

/** The scratch floats onyx_depthwise2d_blocked_f32 needs, or 0 when the geometry is outside its range. */
size_t onyx_depthwise2d_blocked_scratch_count(const onyx_depthwise2d *geometry);

/**
 * One output plane of 2-D max pooling with the geometry of a depthwise
 * convolution (activation ignored): the maximum over the window's taps
 * inside the input; a NaN in the window gives NaN. `scratch` holds
 * onyx_maxpool2d_scratch_count floats, or is NULL (then tap by tap).
 */
void onyx_maxpool2d_f32(const onyx_depthwise2d *geometry, const float *input, float *output, float *scratch);

/** Scratch floats onyx_maxpool2d_f32 uses when given them (unit strides with
 * as many output columns as input ones: the plane's row maxima; stride 2
 * with half as many: the output rows' column maxima and their even and odd
 * columns; other stride-2 columns: one row of maxima split into even and
 * odd columns), 0 when it needs none. */
size_t onyx_maxpool2d_scratch_count(const onyx_depthwise2d *geometry);

/** The sum of n floats in a fixed order (float lanes, double blocks). */
double onyx_sum_f32(size_t n, const float *x);

/** The maximum of n floats (-inf for n = 0); a NaN gives NaN. */
float onyx_max_f32(size_t n, const float *x);

typedef enum {
    ONYX_BINARY_ADD = 0,
    ONYX_BINARY_SUB = 1,
    ONYX_BINARY_MUL = 2,
    ONYX_BINARY_DIV = 3,
} onyx_binary_op;

/**
 * out[i] = a[i * a_step] op b[i * b_step] for i < n, where each step is 1
 * (contiguous) or 0 (one value broadcast). IEEE float semantics.
 */
void onyx_binary_f32(int op, size_t n, const float *a, int a_step, const float *b, int b_step, float *out);

typedef enum {
    ONYX_UNARY_RELU = 0,
    ONYX_UNARY_EXP = 1,
    ONYX_UNARY_SIGMOID = 2,
    ONYX_UNARY_TANH = 3,
    ONYX_UNARY_ERF = 4,
    /** x * sigmoid(x) */
    ONYX_UNARY_SILU = 5,
    /** 0.5 x (1 + erf(x / sqrt 2)) */
    ONYX_UNARY_GELU = 6,
    /** 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
    ONYX_UNARY_GELU_TANH = 7,
    /** x < 0 ? alpha x : x */
    ONYX_UNARY_LEAKY_RELU = 8,
    /** min(max(x, alpha), beta); NaN stays NaN */
    ONYX_UNARY_CLIP = 9,
    /** max(0, min(1, alpha x + beta)) */
    ONYX_UNARY_HARD_SIGMOID = 10,
    /** x max(0, min(1, x / 6 + 1 / 2)) */
    ONYX_UNARY_HARD_SWISH = 11,
    ONYX_UNARY_NEG = 12,
    ONYX_UNARY_ABS = 13,
    ONYX_UNARY_SQRT = 14,
    ONYX_UNARY_RECIPROCAL = 15,
} onyx_unary_op;

/**
 * out[i] = f(in[i]) for i < n (in == out allowed). exp, sigmoid, tanh, erf
 * and the functions built on them use vectorizable approximations accurate to
 * a few ulp (NaN stays NaN, infinities give the limits); the rest are exact.
 * alpha and beta are the parameters of LEAKY_RELU, CLIP and HARD_SIGMOID.
 */
void onyx_unary_f32(int op, size_t n, const float *in, float *out, float alpha, float beta);

/** out[i] = src[i * stride] for i < n (any stride, negative too). */
void onyx_gather_strided_f32(size_t n, const float *src, ptrdiff_t stride, float *out);

/** dst[i * columns + j] = src[i + j * src_stride] for i < rows, j < columns (4-byte elements, bits kept). */
void onyx_transpose_u32(size_t rows, size_t columns, const uint32_t *src, ptrdiff_t src_stride, uint32_t *dst);

/**
 * Softmax (or, with log_softmax, LogSoftmax) of each of `rows` contiguous rows
 * of n floats: exp(x - max) / sum, the sum accumulated in float lanes then
 * double. A NaN in a row makes the row NaN. in and out may be the same array.
 */
void onyx_softmax_rows_f32(size_t rows, size_t n, const float *in, float *out, int log_softmax);

/**
 * One LSTM step's cell for `batch` rows, with the default activations
 * (Sigmoid, Tanh, Tanh) and no clip: gates holds per row [i o f c] (4 *
 * hidden, the input and recurrent products and biases already summed);
 * peepholes holds [P_i P_o P_f] (zeros when the model has none). Updates c
 * and h (batch x hidden) and, when y is not NULL, copies h to y.
 *   i = sigmoid(i + P_i c), f = sigmoid(f + P_f c), c' = f c + i tanh(g),
 *   o = sigmoid(o + P_o c'), h = o tanh(c')
 */
void onyx_lstm_cell_f32(size_t batch, size_t hidden, float *gates, float *c, float *h, const float *peepholes,
                        float *y);

/** A spin-wait hint to the CPU (PAUSE on x86-64, YIELD on arm64). */
static inline void onyx_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/** A stride-1, undilated 3x3 convolution plane for the Winograd F(2x2, 3x3)
 * transforms: output (y, x) reads input (y + ky - pad_top, x + kx - pad_left). */
typedef struct {
    ptrdiff_t in_h, in_w, out_h, out_w, pad_top, pad_left;
} onyx_winograd_geometry;

/** Transforms weights w (filters x channels x 3 x 3) into u: 16 matrices
 * u[e] (filters x channels, row-major), e = 4 * row + column of G g G^T. */
void onyx_winograd2_weights_f32(size_t filters, size_t channels, const float *w, float *u);

/** Scratch floats onyx_winograd2_input_f32 needs (one padded input plane). */
size_t onyx_winograd2_scratch_count(const onyx_winograd_geometry *geometry);

/** Input transform of channels [c0, c1) of one image (channels planes at
 * input), tile rows [ty0, ty1) (of ceil(out_h / 2), each ceil(out_w / 2)
 * tiles): v[e] (channels x tiles, row-major, tiles = the range's tiles in
 * row-major order) gets B^T d B per tile. */
void onyx_winograd2_input_f32(const onyx_winograd_geometry *geometry, size_t ty0, size_t ty1, size_t c0, size_t c1,
                              size_t channels, const float *input, float *v, float *scratch);

/** Output transform of filters [k0, k1) over tile rows [ty0, ty1): from
 * m[e] (filters x the range's tiles), each tile's 2x2 outputs A^T M A +
 * bias[k] (bias may be NULL), then the activation (ONYX_ACTIVATION_*), into
 * the filters' output planes. */
void onyx_winograd2_output_f32(const onyx_winograd_geometry *geometry, size_t ty0, size_t ty1, size_t k0, size_t k1,
                               size_t filters, const float *m, const float *bias, int activation, float clip_min,
                               float clip_max, float *output);

#ifdef __cplusplus
}
#endif

#endif
