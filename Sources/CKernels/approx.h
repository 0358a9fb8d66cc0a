/* The exp and sigmoid approximations shared by the elementwise loops and the
 * kernels' SiLU epilogues, so a fused SiLU gives the bits of the unfused one.
 * Plain float code: each loop that calls them vectorizes it for its target.
 * Not part of the API. */
#ifndef ONYX_APPROX_H
#define ONYX_APPROX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef ONYX_INLINE
#define ONYX_INLINE static inline __attribute__((always_inline))
#endif

ONYX_INLINE float bits_to_float(int32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^x within about 1 ulp; NaN stays NaN, results below the smallest
 * denormal are 0, above FLT_MAX are +inf. */
ONYX_INLINE float exp_approx(float x) {
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 88.72283f ? 88.72283f : xc;
    /* Round to nearest (|v| < 2^22 here) without a libm call: adding and
     * removing 1.5 * 2^23 leaves v rounded to an integer. */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k = (int32_t)n;
    int32_t half = k >> 1;
    float y = p * bits_to_float((half + 127) << 23) * bits_to_float((k - half + 127) << 23);
    y = x > 88.72283f ? INFINITY : y;
    return x != x ? x : y;
}

ONYX_INLINE float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

/* x * sigmoid(x), as ONYX_UNARY_SILU computes it. */
ONYX_INLINE float silu_approx(float x) { return x * sigmoid_approx(x); }

#endif
