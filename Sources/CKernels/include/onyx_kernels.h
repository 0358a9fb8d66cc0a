/* Onyx's C kernels other than sgemm: small loops that need AVX2/AVX-512 code
 * generation without compiler flags (target_clones picks the version at load
 * time). */
#ifndef ONYX_KERNELS_H
#define ONYX_KERNELS_H

#include <stddef.h>
#include "onyx_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The geometry of one depthwise 2-D convolution plane. */
typedef struct {
    ptrdiff_t in_h, in_w, out_h, out_w;
    ptrdiff_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    /** ONYX_ACTIVATION_NONE, _RELU or _CLIP (NaN stays NaN for RELU). */
    int activation;
    float clip_min, clip_max;
} onyx_depthwise2d;

/**
 * One output plane of a depthwise convolution: output[oy][ox] = bias +
 * sum over (ky, kx) in order of weights[ky][kx] * input[iy][ix], taps in the
 * padding skipped, then the activation. All strides/dilations >= 1.
 */
void onyx_depthwise2d_f32(const onyx_depthwise2d *geometry, const float *input, const float *weights, float bias,
                          float *output);

#ifdef __cplusplus
}
#endif

#endif
