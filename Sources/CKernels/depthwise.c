/* Depthwise 2-D convolution of one float32 plane, compiled for AVX-512, AVX2
 * and baseline x86-64 (chosen at load time by target_clones) or plainly
 * elsewhere. */
#include "onyx_kernels.h"
#include "window.h"

#if defined(__x86_64__) && defined(__linux__)
#define ONYX_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ONYX_CLONES
#endif

/* out[ox] += w * in[ox * stride] for ox in [lo, hi). */
static inline __attribute__((always_inline)) void tap_row(float *restrict out, const float *restrict in, float w,
                                                          ptrdiff_t stride, ptrdiff_t lo, ptrdiff_t hi) {
    if (stride == 1) {
        for (ptrdiff_t x = lo; x < hi; x++) out[x] += w * in[x];
    } else if (stride == 2) {
        for (ptrdiff_t x = lo; x < hi; x++) out[x] += w * in[2 * x];
    } else {
        for (ptrdiff_t x = lo; x < hi; x++) out[x] += w * in[x * stride];
    }
}

ONYX_CLONES
void onyx_depthwise2d_f32(const onyx_depthwise2d *p, const float *restrict input, const float *restrict weights,
                          float bias, float *restrict output) {
    for (ptrdiff_t oy = 0; oy < p->out_h; oy++) {
        float *restrict row = output + oy * p->out_w;
        for (ptrdiff_t ox = 0; ox < p->out_w; ox++) row[ox] = bias;
        for (ptrdiff_t ky = 0; ky < p->kernel_h; ky++) {
            ptrdiff_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) continue;
            const float *in_row = input + iy * p->in_w;
            for (ptrdiff_t kx = 0; kx < p->kernel_w; kx++) {
                ptrdiff_t shift, lo, hi;
                onyx_tap_columns(p, kx, &shift, &lo, &hi);
                if (lo >= hi) continue;
                tap_row(row, in_row + shift, weights[ky * p->kernel_w + kx], p->stride_w, lo, hi);
            }
        }
        if (p->activation == ONYX_ACTIVATION_RELU) {
            for (ptrdiff_t ox = 0; ox < p->out_w; ox++) row[ox] = row[ox] < 0.0f ? 0.0f : row[ox];
        } else if (p->activation == ONYX_ACTIVATION_CLIP) {
            float lo = p->clip_min, hi = p->clip_max;
            for (ptrdiff_t ox = 0; ox < p->out_w; ox++) {
                float v = row[ox] < lo ? lo : row[ox];
                row[ox] = v > hi ? hi : v;
            }
        }
    }
}
