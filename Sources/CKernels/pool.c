/* float32 pooling loops for Onyx: 2-D max pooling of one plane and whole-plane
 * sums and maxima, compiled for AVX-512, AVX2 and baseline x86-64
 * (target_clones) or plainly elsewhere. */
#include "onyx_kernels.h"
#include "window.h"

#include <math.h>
#include <string.h>

#include "clones.h"

/* r = max(r, v) where a NaN on either side gives NaN. */
static inline __attribute__((always_inline)) float max_nan(float r, float v) {
    float m = v > r ? v : r;
    return (v != v || r != r) ? v + r : m;
}

/* row[x] = the maximum of input[iy][x] over output row oy's kernel rows iy
 * inside the input (in_w values); returns 0, leaving row untouched, when no
 * kernel row is inside. */
static inline __attribute__((always_inline)) int kernel_row_maxima(const onyx_depthwise2d *p,
                                                                   const float *restrict input, ptrdiff_t oy,
                                                                   float *restrict row) {
    const ptrdiff_t w = p->in_w;
    int any = 0;
    for (ptrdiff_t ky = 0; ky < p->kernel_h; ky++) {
        ptrdiff_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) continue;
        const float *in_row = input + iy * w;
        if (!any) {
            memcpy(row, in_row, (size_t)w * sizeof(float));
            any = 1;
        } else {
            for (ptrdiff_t x = 0; x < w; x++) row[x] = max_nan(row[x], in_row[x]);
        }
    }
    return any;
}

/* Stride-2 columns, rows first: per output row, the maximum over its
 * kernel rows (contiguous), split into even and odd columns, so every tap
 * column is a contiguous run of one of them. `buf` holds 2 * in_w + 2 floats.
 * Same maxima as the tap-by-tap loop (a NaN anywhere in the window gives
 * NaN); only which of +0 / -0 wins a tie may differ. */
static inline __attribute__((always_inline)) void maxpool_stride2(const onyx_depthwise2d *p,
                                                                  const float *restrict input,
                                                                  float *restrict output, float *restrict buf) {
    const ptrdiff_t w = p->in_w, halves = (w + 1) / 2;
    float *restrict column = buf, *restrict even = buf + w, *restrict odd = even + halves;
    for (ptrdiff_t oy = 0; oy < p->out_h; oy++) {
        float *restrict row = output + oy * p->out_w;
        int any = kernel_row_maxima(p, input, oy, column);
        for (ptrdiff_t ox = 0; ox < p->out_w; ox++) row[ox] = -INFINITY;
        if (!any) continue;
        for (ptrdiff_t i = 0; i < w / 2; i++) {
            even[i] = column[2 * i];
            odd[i] = column[2 * i + 1];
        }
        if (w % 2) even[w / 2] = column[w - 1];
        for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
            ptrdiff_t shift, lo, hi;
            onyx_tap_columns(p, kx, &shift, &lo, &hi);
            /* Input column 2 x + shift: even[x + shift / 2] or odd[x + (shift - 1) / 2]. */
            const float *in = shift % 2 == 0 ? even + shift / 2 : odd + (shift - 1) / 2;
            for (ptrdiff_t x = lo; x < hi; x++) row[x] = max_nan(row[x], in[x]);
        }
    }
}

/* dst[i] = max(dst[i], src[i + offset]) for every i < n whose src index
 * lies in [0, n): one tap as a single run over a whole plane. */
static inline __attribute__((always_inline)) void flat_max(float *restrict dst, const float *restrict src,
                                                           ptrdiff_t offset, ptrdiff_t n) {
    ptrdiff_t first = offset < 0 ? -offset : 0, last = offset > 0 ? n - offset : n;
    for (ptrdiff_t i = first; i < last; i++) dst[i] = max_nan(dst[i], src[i + offset]);
}

/* Redoes output columns [0, inner_lo) and [inner_hi, width) of `rows` rows
 * exactly, one column at a time down the rows: dst[y][x] = max over the taps
 * kx that reach column x (onyx_tap_columns) of src[y][step * x + shift_kx],
 * -inf when none does. The flat passes below let a tap reach into the next
 * or previous row at these columns. */
static inline __attribute__((always_inline)) void redo_edge_columns(const onyx_depthwise2d *p, const float *restrict src,
                                                                    ptrdiff_t src_stride, float *restrict dst,
                                                                    ptrdiff_t dst_stride, ptrdiff_t rows, ptrdiff_t width,
                                                                    ptrdiff_t step, ptrdiff_t inner_lo,
                                                                    ptrdiff_t inner_hi) {
    if (inner_hi < inner_lo) inner_hi = inner_lo;
    for (ptrdiff_t x = 0; x < width; x++) {
        if (x == inner_lo) x = inner_hi;
        if (x >= width) break;
        ptrdiff_t shifts[16];
        ptrdiff_t taps = 0;
        int many = 0;
        for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
            ptrdiff_t shift, lo, hi;
            onyx_tap_columns(p, kx, &shift, &lo, &hi);
            if (x < lo || x >= hi) continue;
            if (taps == 16) {
                many = 1;
                break;
            }
            shifts[taps++] = shift;
        }
        if (many) {
            /* More than 16 taps reach this column: the whole window, tap by tap. */
            for (ptrdiff_t y = 0; y < rows; y++) dst[y * dst_stride + x] = -INFINITY;
            for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
                ptrdiff_t shift, lo, hi;
                onyx_tap_columns(p, kx, &shift, &lo, &hi);
                if (x < lo || x >= hi) continue;
                for (ptrdiff_t y = 0; y < rows; y++) {
                    dst[y * dst_stride + x] = max_nan(dst[y * dst_stride + x], src[y * src_stride + step * x + shift]);
                }
            }
            continue;
        }
        for (ptrdiff_t y = 0; y < rows; y++) {
            const float *in = src + y * src_stride + step * x;
            float r = -INFINITY;
            for (ptrdiff_t t = 0; t < taps; t++) r = max_nan(r, in[shifts[t]]);
            dst[y * dst_stride + x] = r;
        }
    }
}

/* Unit strides and as many output columns as input ones (a "same" window):
 * the maxima along each input row first, then down the columns; both passes
 * run flat over the whole plane, so short rows (7, 14) vectorize like long
 * ones; the edge columns are then redone (redo_edge_columns). `rows` holds
 * in_h * in_w floats. Same maxima as the tap-by-tap loop (a NaN anywhere in
 * the window gives NaN); only which of +0 / -0 wins a tie may differ. */
static inline __attribute__((always_inline)) void maxpool_stride1(const onyx_depthwise2d *p,
                                                                  const float *restrict input,
                                                                  float *restrict output, float *restrict rows) {
    const ptrdiff_t w = p->in_w, h = p->in_h, n = w * h;
    /* Columns that every tap covers: [inner_lo, inner_hi). */
    ptrdiff_t inner_lo = 0, inner_hi = w;
    for (ptrdiff_t i = 0; i < n; i++) rows[i] = -INFINITY;
    for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
        ptrdiff_t shift, lo, hi;
        onyx_tap_columns(p, kx, &shift, &lo, &hi);
        if (lo > inner_lo) inner_lo = lo;
        if (hi < inner_hi) inner_hi = hi;
        flat_max(rows, input, shift, n);
    }
    redo_edge_columns(p, input, w, rows, w, h, w, 1, inner_lo, inner_hi);
    const ptrdiff_t out_n = p->out_h * w;
    for (ptrdiff_t i = 0; i < out_n; i++) output[i] = -INFINITY;
    for (ptrdiff_t ky = 0; ky < p->kernel_h; ky++) {
        ptrdiff_t offset = ky * p->dilation_h - p->pad_top;
        ptrdiff_t first = offset < 0 ? -offset : 0;
        ptrdiff_t last = h - offset < p->out_h ? h - offset : p->out_h;
        if (first >= last) continue;
        const ptrdiff_t step = offset * w;
        for (ptrdiff_t i = first * w; i < last * w; i++) output[i] = max_nan(output[i], rows[i + step]);
    }
}

/* Stride 2 both ways and half as many output columns as input ones (an
 * even width): the maxima down each output row's kernel rows first (out_h
 * rows of in_w), then those rows split flat into even and odd columns, so
 * every tap column is one contiguous run over the whole plane; the edge
 * columns are then redone (redo_edge_columns). `buf` holds 2 * out_h * in_w
 * floats. Same maxima as the tap-by-tap loop; only which of +0 / -0 wins a
 * tie may differ. */
static inline __attribute__((always_inline)) void maxpool_stride2_flat(const onyx_depthwise2d *p,
                                                                       const float *restrict input,
                                                                       float *restrict output, float *restrict buf) {
    const ptrdiff_t w = p->in_w, ow = p->out_w, oh = p->out_h, n = oh * ow;
    float *restrict rows = buf, *restrict even = buf + oh * w, *restrict odd = even + n;
    for (ptrdiff_t oy = 0; oy < oh; oy++) {
        float *restrict row = rows + oy * w;
        if (!kernel_row_maxima(p, input, oy, row)) {
            for (ptrdiff_t x = 0; x < w; x++) row[x] = -INFINITY;
        }
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        even[i] = rows[2 * i];
        odd[i] = rows[2 * i + 1];
    }
    for (ptrdiff_t i = 0; i < n; i++) output[i] = -INFINITY;
    ptrdiff_t inner_lo = 0, inner_hi = ow;
    for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
        ptrdiff_t shift, lo, hi;
        onyx_tap_columns(p, kx, &shift, &lo, &hi);
        if (lo > inner_lo) inner_lo = lo;
        if (hi < inner_hi) inner_hi = hi;
        /* Input column 2 x + shift: even[x + shift / 2] or odd[x + (shift - 1) / 2]. */
        const int is_odd = shift % 2 != 0;
        const float *src = is_odd ? odd : even;
        const ptrdiff_t offset = is_odd ? (shift - 1) / 2 : shift / 2;
        flat_max(output, src, offset, n);
    }
    redo_edge_columns(p, rows, w, output, ow, oh, ow, 2, inner_lo, inner_hi);
}

/* Whether maxpool_stride1 applies. */
static int stride1_same(const onyx_depthwise2d *p) {
    return p->stride_w == 1 && p->stride_h == 1 && p->out_w == p->in_w && p->in_w > 0 && p->in_h > 0;
}

/* Whether maxpool_stride2_flat applies. */
static int stride2_half(const onyx_depthwise2d *p) {
    return p->stride_w == 2 && p->stride_h == 2 && p->in_w == 2 * p->out_w && p->out_w > 0 && p->out_h > 0;
}

size_t onyx_maxpool2d_scratch_count(const onyx_depthwise2d *p) {
    if (stride1_same(p)) return (size_t)p->in_w * (size_t)p->in_h;
    if (stride2_half(p)) return 2 * (size_t)p->out_h * (size_t)p->in_w;
    return p->stride_w == 2 && p->in_w > 0 ? (size_t)p->in_w * 2 + 2 : 0;
}

ONYX_CLONES
void onyx_maxpool2d_f32(const onyx_depthwise2d *p, const float *restrict input, float *restrict output,
                        float *restrict scratch) {
    if (scratch && stride1_same(p)) {
        maxpool_stride1(p, input, output, scratch);
        return;
    }
    if (scratch && stride2_half(p)) {
        maxpool_stride2_flat(p, input, output, scratch);
        return;
    }
    if (scratch && p->stride_w == 2 && p->in_w > 0) {
        maxpool_stride2(p, input, output, scratch);
        return;
    }
    for (ptrdiff_t oy = 0; oy < p->out_h; oy++) {
        float *restrict row = output + oy * p->out_w;
        for (ptrdiff_t ox = 0; ox < p->out_w; ox++) row[ox] = -INFINITY;
        for (ptrdiff_t ky = 0; ky < p->kernel_h; ky++) {
            ptrdiff_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) continue;
            const float *in_row = input + iy * p->in_w;
            for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
                ptrdiff_t shift, lo, hi;
                onyx_tap_columns(p, kx, &shift, &lo, &hi);
                const float *in = in_row + shift;
                if (p->stride_w == 1) {
                    for (ptrdiff_t x = lo; x < hi; x++) row[x] = max_nan(row[x], in[x]);
                } else if (p->stride_w == 2) {
                    for (ptrdiff_t x = lo; x < hi; x++) row[x] = max_nan(row[x], in[2 * x]);
                } else {
                    for (ptrdiff_t x = lo; x < hi; x++) row[x] = max_nan(row[x], in[x * p->stride_w]);
                }
            }
        }
    }
}

ONYX_CLONES
double onyx_sum_f32(size_t n, const float *restrict x) {
    /* Eight float lanes summed in double blocks of 1024: the same order for
     * any caller, and double-accurate enough for a mean over a plane. */
    double total = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = n - i > 1024 ? i + 1024 : n;
        float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t j = i;
        for (; j + 8 <= end; j += 8) {
            for (int l = 0; l < 8; l++) lanes[l] += x[j + l];
        }
        double block = 0;
        for (int l = 0; l < 8; l++) block += lanes[l];
        for (; j < end; j++) block += x[j];
        total += block;
        i = end;
    }
    return total;
}

ONYX_CLONES
float onyx_max_f32(size_t n, const float *restrict x) {
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = -INFINITY;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        for (int l = 0; l < 16; l++) lanes[l] = max_nan(lanes[l], x[j + l]);
    }
    float r = -INFINITY;
    for (int l = 0; l < 16; l++) r = max_nan(r, lanes[l]);
    for (; j < n; j++) r = max_nan(r, x[j]);
    return r;
}
