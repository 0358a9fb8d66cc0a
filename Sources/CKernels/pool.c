/* float32 pooling loops for Onyx: 2-D max pooling of one plane and whole-plane
 * sums and maxima, compiled for AVX-512, AVX2 and baseline x86-64
 * (target_clones) or plainly elsewhere. */
#include "onyx_kernels.h"
#include "window.h"

#include <math.h>

#include "clones.h"

/* r = max(r, v) where a NaN on either side gives NaN. */
static inline __attribute__((always_inline)) float max_nan(float r, float v) {
    float m = v > r ? v : r;
    return (v != v || r != r) ? v + r : m;
}

ONYX_CLONES
void onyx_maxpool2d_f32(const onyx_depthwise2d *p, const float *restrict input, float *restrict output) {
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
