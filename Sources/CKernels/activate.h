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

#endif
