/* The ReLU / Clip / SiLU epilogue of the direct conv kernels (depthwise, Winograd);
 * not part of the API. */
#ifndef ONYX_ACTIVATE_H
#define ONYX_ACTIVATE_H

#include "onyx_kernels.h"
#include "approx.h"

/* v after ONYX_ACTIVATION_RELU (NaN stays NaN), _CLIP to [low, high] or _SILU. */
static inline __attribute__((always_inline)) float activate(int activation, float v, float low, float high) {
    if (activation == ONYX_ACTIVATION_RELU) return v < 0.0f ? 0.0f : v;
    if (activation == ONYX_ACTIVATION_SILU) return silu_approx(v);
    if (activation == ONYX_ACTIVATION_CLIP) {
        float r = v < low ? low : v;
        return r > high ? high : r;
    }
    return v;
}

/* The activation over n values in place, branching once per call so that
 * each loop vectorizes with its activation fixed. */
static inline __attribute__((always_inline)) void activate_span(float *restrict values, ptrdiff_t n, int activation,
                                                                 float low, float high) {
    if (activation == ONYX_ACTIVATION_RELU) {
#pragma clang loop interleave_count(4)
        for (ptrdiff_t i = 0; i < n; i++) values[i] = activate(ONYX_ACTIVATION_RELU, values[i], low, high);
    } else if (activation == ONYX_ACTIVATION_CLIP) {
#pragma clang loop interleave_count(4)
        for (ptrdiff_t i = 0; i < n; i++) values[i] = activate(ONYX_ACTIVATION_CLIP, values[i], low, high);
    } else if (activation == ONYX_ACTIVATION_SILU) {
#pragma clang loop interleave_count(4)
        for (ptrdiff_t i = 0; i < n; i++) values[i] = activate(ONYX_ACTIVATION_SILU, values[i], low, high);
    }
}

#endif
