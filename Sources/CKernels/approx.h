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

ONYX_INLINE int32_t float_to_bits(float f) {
    int32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* e^r - 1 - r for |r| <= ln(2)/2, a degree-5 minimax fit (Cephes expf)
 * evaluated as r + r^2 * p(r); the caller adds the 1 last. */
ONYX_INLINE float expm1_reduced(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * (r * r) + r;
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
    float p = expm1_reduced(r) + 1.0f;
    int32_t k = (int32_t)n;
    int32_t half = k >> 1;
    float y = p * bits_to_float((half + 127) << 23) * bits_to_float((k - half + 127) << 23);
    y = x > 88.72283f ? INFINITY : y;
    return x != x ? x : y;
}

/* 1 / (1 + e^-x) within a few ulp; NaN stays NaN. Cheaper than going
 * through exp_approx: e^-x is only needed where it is a normal float
 * (below 2^-126, 1 + e^-x rounds to 1; above 2^127 the result is a denormal
 * within one denormal step of the true one), so 2^n is built with one scale,
 * straight from the bits of the rounding sum. Below x = -88.72 it is 0. */
ONYX_INLINE float sigmoid_approx(float x) {
    float t = -x;
    float tc = t < -87.33654f ? -87.33654f : t;
    tc = tc > 88.37626f ? 88.37626f : tc;
    float sum = tc * 1.44269504088896341f + 12582912.0f;
    float n = sum - 12582912.0f;
    float r = tc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = expm1_reduced(r) + 1.0f;
    /* The low bits of sum hold n (|n| <= 127), so sum's bits shifted into the
     * exponent field give n << 23. */
    float e = p * bits_to_float((int32_t)((uint32_t)float_to_bits(sum) << 23) + (127 << 23));
    float s = 1.0f / (1.0f + e);
    return t > 88.72283f ? 0.0f : s;
}

/* x * sigmoid(x), as ONYX_UNARY_SILU computes it. */
ONYX_INLINE float silu_approx(float x) { return x * sigmoid_approx(x); }

#endif
