/* Depthwise 2-D convolution with 16 channels in the lanes of a vector
 * ("blocked" method), compiled like depthwise.c (target_clones).
 *
 * For each block of 16 channels the kernel walks the output a row at a time:
 * the padded input rows the row's taps reach are transposed from the planes
 * into a ring of rows laid out [column][16 channels] (zeros in the padding
 * and in lanes past the last channel; each input row is transposed once, and
 * the ring stays in L1), every output of the row is one vector per position
 * (bias, then each tap in (ky, kx) order with a fused multiply-add), and the
 * row is transposed back into the output planes. Stride and plane width cost
 * nothing extra here, which is where the plane-at-a-time methods of
 * depthwise.c lose: stride-2 and 7x7 to 14x14 planes. Same arithmetic per
 * output as the phase method (taps in the padding multiply a zero), so the
 * two agree bit for bit. */
#include "onyx_kernels.h"

#include <string.h>

#include "activate.h"
#include "clones.h"
#include "transpose8.h"

enum { lanes = 16, half = 8 };

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

#ifndef ONYX_DW_PREFETCH_ROWS
#define ONYX_DW_PREFETCH_ROWS 2
#endif

typedef struct {
    /* wp: padded row length read by the taps; ring: input rows kept, the
     * span of one output row's taps; in_floats / out_floats: the ring and
     * one output row, each with slack for a whole 8-position transpose past
     * the end. */
    ptrdiff_t wp, ring, in_floats, out_floats, taps;
} blocked_layout;

static int blocked_layout_of(const onyx_depthwise2d *p, blocked_layout *l) {
    const ptrdiff_t limit = (ptrdiff_t)1 << 20;
    if (p->out_h <= 0 || p->out_w <= 0 || p->kernel_h <= 0 || p->kernel_w <= 0) return 0;
    if (p->stride_h <= 0 || p->stride_w <= 0 || p->dilation_h <= 0 || p->dilation_w <= 0) return 0;
    if (p->stride_h > 64 || p->stride_w > 64 || p->kernel_h > 64 || p->kernel_w > 64) return 0;
    if (p->dilation_h > 4096 || p->dilation_w > 4096 || p->out_h > limit || p->out_w > limit) return 0;
    if (p->pad_top < 0 || p->pad_left < 0 || p->in_w > limit || p->in_h > limit) return 0;
    l->wp = (p->out_w - 1) * p->stride_w + (p->kernel_w - 1) * p->dilation_w + 1;
    l->taps = p->kernel_h * p->kernel_w;
    l->ring = (p->kernel_h - 1) * p->dilation_h + 1;
    l->in_floats = l->ring * l->wp * lanes + half * lanes;
    l->out_floats = p->out_w * lanes + half * lanes;
    if (l->in_floats + l->out_floats > 4 * limit) return 0;
    return 1;
}

size_t onyx_depthwise2d_blocked_scratch_count(const onyx_depthwise2d *p) {
    blocked_layout l;
    if (!blocked_layout_of(p, &l)) return 0;
    /* Input ring, output row, then the weights and bias as vectors. */
    return (size_t)(l.in_floats + l.out_floats + (l.taps + 1) * lanes);
}

/* Padded input row r of the block's `valid` channel planes (plane c at in +
 * c * in_plane) into row[column][16]. */
static inline __attribute__((always_inline)) void fill_row(const onyx_depthwise2d *p, const blocked_layout *l,
                                                           const float *in, ptrdiff_t valid, ptrdiff_t r,
                                                           float *restrict row) {
    const ptrdiff_t in_plane = p->in_h * p->in_w, row_floats = l->wp * lanes;
    const ptrdiff_t left = p->pad_left < l->wp ? p->pad_left : l->wp;
    /* Input columns [0, xcount) land in padded columns [pad_left, pad_left + xcount). */
    ptrdiff_t xcount = l->wp - p->pad_left;
    if (xcount > p->in_w) xcount = p->in_w;
    if (xcount < 0) xcount = 0;
    const onyx_v8 zero = {0};
    ptrdiff_t iy = r - p->pad_top;
    if (iy < 0 || iy >= p->in_h || xcount == 0) {
        memset(row, 0, (size_t)row_floats * sizeof(float));
        return;
    }
    memset(row, 0, (size_t)(left * lanes) * sizeof(float));
    ptrdiff_t right = p->pad_left + xcount;
    memset(row + right * lanes, 0, (size_t)((l->wp - right) * lanes) * sizeof(float));
    const float *src = in + iy * p->in_w;
    float *restrict out = row + p->pad_left * lanes;
    for (ptrdiff_t x0 = 0; x0 < xcount; x0 += half) {
        ptrdiff_t n = xcount - x0 < half ? xcount - x0 : half;
        /* A whole 8-column read stays inside the plane unless this is its end. */
        int whole = iy * p->in_w + x0 + half <= in_plane;
        for (int h = 0; h < lanes / half; h++) {
            if (whole) {
                onyx_v8 v[8];
                for (int c = 0; c < half; c++) {
                    ptrdiff_t channel = h * half + c;
                    v[c] = channel < valid ? *(const onyx_v8u *)(src + channel * in_plane + x0) : zero;
                    /* The rows after this one are filled next: fetch ahead. */
                    __builtin_prefetch(src + channel * in_plane + x0 + ONYX_DW_PREFETCH_ROWS * p->in_w);
                }
                onyx_transpose8(v);
                for (ptrdiff_t j = 0; j < n; j++) *(onyx_v8u *)(out + (x0 + j) * lanes + h * half) = v[j];
            } else {
                for (ptrdiff_t j = 0; j < n; j++) {
                    for (int c = 0; c < half; c++) {
                        ptrdiff_t channel = h * half + c;
                        out[(x0 + j) * lanes + channel] = channel < valid ? src[channel * in_plane + x0 + j] : 0.0f;
                    }
                }
            }
        }
    }
}

/* Output row oy from row[column][16] into the block's `valid` output planes
 * (plane c at out + c * out_plane); rows from row_end on belong to another
 * call (maybe on another thread). */
static inline __attribute__((always_inline)) void drain_row(const onyx_depthwise2d *p, const float *restrict row,
                                                            ptrdiff_t valid, ptrdiff_t oy, ptrdiff_t row_end,
                                                            float *restrict out) {
    const ptrdiff_t out_plane = p->out_h * p->out_w, end = row_end * p->out_w;
    ptrdiff_t start = oy * p->out_w;
    for (ptrdiff_t x0 = 0; x0 < p->out_w; x0 += half) {
        ptrdiff_t n = p->out_w - x0 < half ? p->out_w - x0 : half;
        /* The spill of a whole 8-float store lands in later rows of this
         * call's rows, which are written after it. */
        int whole = start + x0 + half <= end;
        for (int h = 0; h < lanes / half; h++) {
            if (whole) {
                onyx_v8 v[8];
                for (int j = 0; j < half; j++) v[j] = *(const onyx_v8u *)(row + (x0 + j) * lanes + h * half);
                onyx_transpose8(v);
                for (int c = 0; c < half; c++) {
                    ptrdiff_t channel = h * half + c;
                    if (channel < valid) *(onyx_v8u *)(out + channel * out_plane + start + x0) = v[c];
                }
            } else {
                for (int c = 0; c < half; c++) {
                    ptrdiff_t channel = h * half + c;
                    if (channel >= valid) continue;
                    for (ptrdiff_t j = 0; j < n; j++) out[channel * out_plane + start + x0 + j] = row[(x0 + j) * lanes + channel];
                }
            }
        }
    }
}

/* One output row into out[column][16] from the ring rows its taps reach
 * (lines[ky], ky < kh). Inlined with constant kernel sizes, strides and
 * dilations for the common geometries, so the tap loops unroll and the
 * weights stay in registers. */
static inline __attribute__((always_inline)) void compute_row(ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t sw, ptrdiff_t dw,
                                                              ptrdiff_t out_w, const float *const *lines,
                                                              const v16u *restrict w, const float *bias_lanes,
                                                              float *restrict out) {
    const v16 bias = *(const v16u *)bias_lanes;
    const ptrdiff_t sx = sw * lanes;
    ptrdiff_t ox = 0;
    for (;; ox += 4) {
        /* A last partial block is redone as the four outputs ending the row
         * (those it shares with the block before come out the same). */
        if (ox + 4 > out_w) {
            if (ox == out_w || out_w < 4) break;
            ox = out_w - 4;
        }
        v16 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        for (ptrdiff_t ky = 0; ky < kh; ky++) {
            const float *line = lines[ky] + ox * sx;
            for (ptrdiff_t kx = 0; kx < kw; kx++) {
                const float *x = line + kx * dw * lanes;
                v16 wv = w[ky * kw + kx];
                a0 += *(const v16u *)x * wv;
                a1 += *(const v16u *)(x + sx) * wv;
                a2 += *(const v16u *)(x + 2 * sx) * wv;
                a3 += *(const v16u *)(x + 3 * sx) * wv;
            }
        }
        *(v16u *)(out + ox * lanes) = a0;
        *(v16u *)(out + (ox + 1) * lanes) = a1;
        *(v16u *)(out + (ox + 2) * lanes) = a2;
        *(v16u *)(out + (ox + 3) * lanes) = a3;
        if (ox + 4 == out_w) {
            ox = out_w;
            break;
        }
    }
    for (; ox < out_w; ox++) {
        v16 a0 = bias;
        for (ptrdiff_t ky = 0; ky < kh; ky++) {
            const float *line = lines[ky] + ox * sx;
            for (ptrdiff_t kx = 0; kx < kw; kx++) a0 += *(const v16u *)(line + kx * dw * lanes) * w[ky * kw + kx];
        }
        *(v16u *)(out + ox * lanes) = a0;
    }
}

static inline __attribute__((always_inline)) void compute_row_any(const onyx_depthwise2d *p,
                                                                  const float *const *lines, const v16u *restrict w,
                                                                  const float *bias_lanes, float *restrict out) {
    ptrdiff_t k = p->kernel_h, s = p->stride_w;
    int square = p->kernel_w == k && p->dilation_w == 1;
    if (square && k == 3 && s == 1) {
        compute_row(3, 3, 1, 1, p->out_w, lines, w, bias_lanes, out);
    } else if (square && k == 3 && s == 2) {
        compute_row(3, 3, 2, 1, p->out_w, lines, w, bias_lanes, out);
    } else if (square && k == 5 && s == 1) {
        compute_row(5, 5, 1, 1, p->out_w, lines, w, bias_lanes, out);
    } else if (square && k == 5 && s == 2) {
        compute_row(5, 5, 2, 1, p->out_w, lines, w, bias_lanes, out);
    } else {
        compute_row(p->kernel_h, p->kernel_w, p->stride_w, p->dilation_w, p->out_w, lines, w, bias_lanes, out);
    }
}

ONYX_CLONES
void onyx_depthwise2d_blocked_f32(const onyx_depthwise2d *p, ptrdiff_t first, ptrdiff_t count, ptrdiff_t row_begin,
                                  ptrdiff_t row_end, ptrdiff_t channels, const float *restrict input,
                                  const float *restrict weights, const float *restrict bias, float *restrict output,
                                  float *restrict scratch) {
    blocked_layout l;
    if (!blocked_layout_of(p, &l) || channels <= 0) return;
    if (row_begin < 0) row_begin = 0;
    if (row_end > p->out_h) row_end = p->out_h;
    const ptrdiff_t in_plane = p->in_h * p->in_w, out_plane = p->out_h * p->out_w;
    const ptrdiff_t blocks = (channels + lanes - 1) / lanes;
    const ptrdiff_t row_floats = l.wp * lanes;
    float *restrict ring = scratch;
    float *restrict row_out = scratch + l.in_floats;
    v16u *w = (v16u *)(void *)(scratch + l.in_floats + l.out_floats);
    for (ptrdiff_t item = first; item < first + count; item++) {
        ptrdiff_t n = item / blocks, c0 = item % blocks * lanes;
        ptrdiff_t valid = channels - c0 < lanes ? channels - c0 : lanes;
        float *wf = (float *)(void *)w;
        for (ptrdiff_t t = 0; t < l.taps; t++) {
            for (ptrdiff_t c = 0; c < lanes; c++) wf[t * lanes + c] = c < valid ? weights[(c0 + c) * l.taps + t] : 0.0f;
        }
        float *bf = wf + l.taps * lanes;
        for (ptrdiff_t c = 0; c < lanes; c++) bf[c] = c < valid && bias ? bias[c0 + c] : 0.0f;
        const float *in = input + (n * channels + c0) * in_plane;
        float *out = output + (n * channels + c0) * out_plane;
        const float *lines[64];
        ptrdiff_t filled = 0; /* padded rows [0, filled) are in the ring or past */
        for (ptrdiff_t oy = row_begin; oy < row_end; oy++) {
            ptrdiff_t top = oy * p->stride_h, bottom = top + (l.ring - 1);
            if (filled < top) filled = top;
            for (; filled <= bottom; filled++) fill_row(p, &l, in, valid, filled, ring + filled % l.ring * row_floats);
            for (ptrdiff_t ky = 0; ky < p->kernel_h; ky++) {
                lines[ky] = ring + (top + ky * p->dilation_h) % l.ring * row_floats;
            }
            compute_row_any(p, lines, w, bf, row_out);
            activate_span(row_out, p->out_w * lanes, p->activation, p->clip_min, p->clip_max);
            drain_row(p, row_out, valid, oy, row_end, out);
        }
    }
}
