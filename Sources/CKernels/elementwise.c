/* float32 elementwise loops for Onyx: binary arithmetic over contiguous or
 * scalar operands, and unary functions with vectorizable approximations of
 * exp, sigmoid, tanh and erf. Compiled for AVX-512, AVX2 and baseline x86-64
 * (target_clones picks one at load time) or plainly elsewhere. Every element
 * is computed by the same operations whatever the vector width, so splitting
 * an array across threads does not change any result. */
#include "onyx_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "clones.h"
#define ONYX_INLINE static inline __attribute__((always_inline))
#include "approx.h"
#include "transpose8.h"

/* ---- Binary ---- */

#define ONYX_BINARY_LOOPS(expr)                                                                                       \
    do {                                                                                                              \
        if (a_step && b_step) {                                                                                       \
            for (size_t i = 0; i < n; i++) {                                                                          \
                float x = a[i], y = b[i];                                                                             \
                out[i] = (expr);                                                                                      \
            }                                                                                                         \
        } else if (a_step) {                                                                                          \
            float y = b[0];                                                                                           \
            for (size_t i = 0; i < n; i++) {                                                                          \
                float x = a[i];                                                                                       \
                out[i] = (expr);                                                                                      \
            }                                                                                                         \
        } else if (b_step) {                                                                                          \
            float x = a[0];                                                                                           \
            for (size_t i = 0; i < n; i++) {                                                                          \
                float y = b[i];                                                                                       \
                out[i] = (expr);                                                                                      \
            }                                                                                                         \
        } else {                                                                                                      \
            float x = a[0], y = b[0];                                                                                 \
            float v = (expr);                                                                                         \
            for (size_t i = 0; i < n; i++) out[i] = v;                                                                \
        }                                                                                                             \
    } while (0)

#define ONYX_BINARY_SWITCH                                                                                            \
    switch (op) {                                                                                                     \
    case ONYX_BINARY_ADD: ONYX_BINARY_LOOPS(x + y); break;                                                            \
    case ONYX_BINARY_SUB: ONYX_BINARY_LOOPS(x - y); break;                                                            \
    case ONYX_BINARY_MUL: ONYX_BINARY_LOOPS(x * y); break;                                                            \
    case ONYX_BINARY_DIV: ONYX_BINARY_LOOPS(x / y); break;                                                            \
    default: break;                                                                                                   \
    }

/* The output written over the first operand (b lies elsewhere). Without the
 * restrict pointers the vectorizer guards each loop with an overlap check,
 * which an operand that is the output fails, falling back to scalar code. */
ONYX_INLINE void binary_over_a(int op, size_t n, float *restrict out, const float *restrict b, int b_step) {
    const float *a = out;
    const int a_step = 1;
    ONYX_BINARY_SWITCH
}

/* The output written over the second operand. */
ONYX_INLINE void binary_over_b(int op, size_t n, const float *restrict a, int a_step, float *restrict out) {
    const float *b = out;
    const int b_step = 1;
    ONYX_BINARY_SWITCH
}

/* Whether the n floats at out share no byte with the operand at p (n floats, or one when step is 0). */
ONYX_INLINE int apart(const float *out, size_t n, const float *p, int step) {
    uintptr_t o = (uintptr_t)out, q = (uintptr_t)p;
    size_t span = (step ? n : 1) * sizeof(float);
    return q + span <= o || o + n * sizeof(float) <= q;
}

ONYX_CLONES
void onyx_binary_f32(int op, size_t n, const float *a, int a_step, const float *b, int b_step, float *out) {
    if (out == a && a_step && apart(out, n, b, b_step)) {
        binary_over_a(op, n, out, b, b_step);
    } else if (out == b && b_step && apart(out, n, a, a_step)) {
        binary_over_b(op, n, a, a_step, out);
    } else {
        ONYX_BINARY_SWITCH
    }
}

/* ---- Unary ---- */

/* tanh within a few ulp: an odd Taylor polynomial below 0.4, 1 - 2 / (e^2x + 1)
 * up to 9, and +-1 beyond (where tanh rounds to 1). */
ONYX_INLINE float tanh_approx(float x) {
    float ax = fabsf(x);
    float x2 = x * x;
    float p = 6404582.0f / 10854718875.0f;
    p = p * x2 - 929569.0f / 638512875.0f;
    p = p * x2 + 21844.0f / 6081075.0f;
    p = p * x2 - 1382.0f / 155925.0f;
    p = p * x2 + 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    float small = copysignf(ax + ax * x2 * p, x);
    float e = exp_approx(2.0f * (ax > 9.0f ? 9.0f : ax));
    float large = ax > 9.0f ? 1.0f : 1.0f - 2.0f / (e + 1.0f);
    large = copysignf(large, x);
    float y = ax < 0.4f ? small : large;
    return x != x ? x : y;
}

/* erf within a few ulp: an odd Taylor polynomial below 0.8, and 1 - erfc
 * above, with erfc(x) = t exp(-x^2 + P(t)), t = 1 / (1 + x / 2), a Chebyshev
 * fit of relative error below 1.2e-7 (Numerical Recipes' erfcc). */
ONYX_INLINE float erf_approx(float x) {
    float ax = fabsf(x);
    float x2 = x * x;
    float p = 1.0f / 76204800.0f;
    p = p * x2 - 1.0f / 6894720.0f;
    p = p * x2 + 1.0f / 685440.0f;
    p = p * x2 - 1.0f / 75600.0f;
    p = p * x2 + 1.0f / 9360.0f;
    p = p * x2 - 1.0f / 1320.0f;
    p = p * x2 + 1.0f / 216.0f;
    p = p * x2 - 1.0f / 42.0f;
    p = p * x2 + 1.0f / 10.0f;
    p = p * x2 - 1.0f / 3.0f;
    p = p * x2 + 1.0f;
    float small = 1.1283791670955126f * x * p;
    float z = ax > 4.0f ? 4.0f : ax;
    float t = 1.0f / (1.0f + 0.5f * z);
    float q = 0.17087277f;
    q = q * t - 0.82215223f;
    q = q * t + 1.48851587f;
    q = q * t - 1.13520398f;
    q = q * t + 0.27886807f;
    q = q * t - 0.18628806f;
    q = q * t + 0.09678418f;
    q = q * t + 0.37409196f;
    q = q * t + 1.00002368f;
    q = q * t - 1.26551223f;
    float large = 1.0f - t * exp_approx(q - z * z);
    large = ax > 4.0f ? 1.0f : large;
    large = copysignf(large, x);
    float y = ax < 0.8f ? small : large;
    return x != x ? x : y;
}

/* Every unary case, each a LOOP(expression of x). */
#define ONYX_UNARY_CASES(LOOP)                                                                                        \
    case ONYX_UNARY_RELU: LOOP(x < 0.0f ? 0.0f : x); break;                                                           \
    case ONYX_UNARY_EXP: LOOP(exp_approx(x)); break;                                                                  \
    case ONYX_UNARY_SIGMOID: LOOP(sigmoid_approx(x)); break;                                                          \
    case ONYX_UNARY_TANH: LOOP(tanh_approx(x)); break;                                                                \
    case ONYX_UNARY_ERF: LOOP(erf_approx(x)); break;                                                                  \
    case ONYX_UNARY_SILU: LOOP(x * sigmoid_approx(x)); break;                                                          \
    case ONYX_UNARY_GELU: LOOP(0.5f * x * (1.0f + erf_approx(x * 0.70710678118654752f))); break;                      \
    case ONYX_UNARY_GELU_TANH:                                                                                        \
        LOOP(0.5f * x * (1.0f + tanh_approx(0.7978845608028654f * (x + 0.044715f * x * x * x))));                     \
        break;                                                                                                        \
    case ONYX_UNARY_LEAKY_RELU: LOOP(x < 0.0f ? alpha * x : x); break;                                                \
    case ONYX_UNARY_CLIP: LOOP(x != x ? x : (x < alpha ? alpha : (x > beta ? beta : x))); break;                      \
    case ONYX_UNARY_HARD_SIGMOID: LOOP(x != x ? x : fmaxf(0.0f, fminf(1.0f, alpha * x + beta))); break;               \
    case ONYX_UNARY_HARD_SWISH: LOOP(x != x ? x : x * fmaxf(0.0f, fminf(1.0f, x * (1.0f / 6.0f) + 0.5f))); break;     \
    case ONYX_UNARY_NEG: LOOP(-x); break;                                                                             \
    case ONYX_UNARY_ABS: LOOP(fabsf(x)); break;                                                                       \
    case ONYX_UNARY_SQRT: LOOP(__builtin_elementwise_sqrt(x)); break;                                                 \
    case ONYX_UNARY_RECIPROCAL: LOOP(1.0f / x); break;                                                                \
    default: break;

/* Four vectors in flight: the transcendental expressions are long dependency
 * chains, and one vector per iteration leaves most of the FP pipes idle. */
#define ONYX_INTERLEAVE_4 _Pragma("clang loop interleave_count(4)")
#define ONYX_COPY_LOOP(expr)                                                                                          \
    ONYX_INTERLEAVE_4                                                                                                 \
    for (size_t i = 0; i < n; i++) {                                                                                  \
        float x = in[i];                                                                                              \
        out[i] = (expr);                                                                                              \
    }
#define ONYX_IN_PLACE_LOOP(expr)                                                                                      \
    ONYX_INTERLEAVE_4                                                                                                 \
    for (size_t i = 0; i < n; i++) {                                                                                  \
        float x = data[i];                                                                                            \
        data[i] = (expr);                                                                                             \
    }

/* Disjoint arrays: restrict lets the loops vectorize without overlap checks. */
ONYX_INLINE void unary_copy(int op, size_t n, const float *restrict in, float *restrict out, float alpha, float beta) {
    switch (op) { ONYX_UNARY_CASES(ONYX_COPY_LOOP) }
}

/* One array updated in place (each element read, then written, by one iteration). */
ONYX_INLINE void unary_in_place(int op, size_t n, float *restrict data, float alpha, float beta) {
    switch (op) { ONYX_UNARY_CASES(ONYX_IN_PLACE_LOOP) }
}

ONYX_CLONES
void onyx_unary_f32(int op, size_t n, const float *in, float *out, float alpha, float beta) {
    if (in == out) {
        unary_in_place(op, n, out, alpha, beta);
    } else if (in + n <= out || out + n <= in) {
        unary_copy(op, n, in, out, alpha, beta);
    } else {
        /* Partial overlap: element by element, in order. */
        for (size_t i = 0; i < n; i++) {
            float v = in[i];
            unary_in_place(op, 1, &v, alpha, beta);
            out[i] = v;
        }
    }
}

/* ---- Softmax ---- */

ONYX_CLONES
void onyx_softmax_rows_f32(size_t rows, size_t n, const float *in, float *out, int log_softmax) {
    for (size_t row = 0; row < rows; row++) {
        /* No restrict: y may be x (a row is read whole before it is written). */
        const float *x = in + row * n;
        float *y = out + row * n;
        float m = -INFINITY;
        for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
        float lanes[16];
        for (int l = 0; l < 16; l++) lanes[l] = 0.0f;
        size_t i = 0;
        /* Whole blocks of 16 are loaded before they are stored, so they stay
         * vector code when y is x (a loop of loads and stores that may alias
         * falls back to scalar code at run time). */
        for (; i + 16 <= n; i += 16) {
            float e[16];
            for (int l = 0; l < 16; l++) e[l] = exp_approx(x[i + l] - m);
            if (!log_softmax) {
                for (int l = 0; l < 16; l++) y[i + l] = e[l];
            }
            for (int l = 0; l < 16; l++) lanes[l] += e[l];
        }
        double sum = 0;
        for (int l = 0; l < 16; l++) sum += lanes[l];
        for (; i < n; i++) {
            float e = exp_approx(x[i] - m);
            if (!log_softmax) y[i] = e;
            sum += e;
        }
        if (log_softmax) {
            float shift = m + (float)log(sum);
            size_t k = 0;
            for (; k + 16 <= n; k += 16) {
                float v[16];
                for (int l = 0; l < 16; l++) v[l] = x[k + l] - shift;
                for (int l = 0; l < 16; l++) y[k + l] = v[l];
            }
            for (; k < n; k++) y[k] = x[k] - shift;
        } else {
            float scale = (float)(1.0 / sum);
            for (size_t k = 0; k < n; k++) y[k] *= scale;
        }
    }
}

/* ---- LSTM cell ---- */

ONYX_CLONES
void onyx_lstm_cell_f32(size_t batch, size_t hidden, float *restrict gates, float *restrict c, float *restrict h,
                        const float *restrict peepholes, float *restrict y) {
    const float *pi = peepholes, *po = peepholes + hidden, *pf = peepholes + 2 * hidden;
    for (size_t b = 0; b < batch; b++) {
        float *gi = gates + b * 4 * hidden, *go = gi + hidden, *gf = go + hidden, *gc = gf + hidden;
        float *cb = c + b * hidden, *hb = h + b * hidden;
        for (size_t k = 0; k < hidden; k++) {
            float cell = cb[k];
            float i = sigmoid_approx(gi[k] + pi[k] * cell);
            float f = sigmoid_approx(gf[k] + pf[k] * cell);
            float g = tanh_approx(gc[k]);
            cell = f * cell + i * g;
            float o = sigmoid_approx(go[k] + po[k] * cell);
            cb[k] = cell;
            hb[k] = o * tanh_approx(cell);
        }
        if (y) {
            for (size_t k = 0; k < hidden; k++) y[b * hidden + k] = hb[k];
        }
    }
}

/* ---- Strided gather ---- */

ONYX_CLONES
void onyx_gather_strided_f32(size_t n, const float *src, ptrdiff_t stride, float *out) {
    /* A constant stride 2 (the common strided conv) lets the compiler turn
     * the loads into vector shuffles. */
    if (stride == 2) {
        for (size_t i = 0; i < n; i++) out[i] = src[2 * i];
    } else {
        for (size_t i = 0; i < n; i++) out[i] = src[(ptrdiff_t)i * stride];
    }
}

/* ---- 2-D transpose of 4-byte elements ---- */

ONYX_CLONES
void onyx_transpose_u32(size_t rows, size_t columns, const uint32_t *src, ptrdiff_t src_stride, uint32_t *dst) {
    /* Moved as float vectors by shuffles only: every bit pattern survives. */
    const float *s = (const float *)(const void *)src;
    float *d = (float *)(void *)dst;
    size_t i0 = 0;
    for (; i0 + 8 <= rows; i0 += 8) {
        size_t j0 = 0;
        for (; j0 + 8 <= columns; j0 += 8) {
            onyx_v8 r[8];
            for (int j = 0; j < 8; j++) r[j] = *(const onyx_v8u *)(s + (ptrdiff_t)(j0 + j) * src_stride + i0);
            onyx_transpose8(r);
            for (int i = 0; i < 8; i++) *(onyx_v8u *)(d + (i0 + i) * columns + j0) = r[i];
        }
        for (; j0 < columns; j0++) {
            for (size_t i = i0; i < i0 + 8; i++) dst[i * columns + j0] = src[(ptrdiff_t)j0 * src_stride + (ptrdiff_t)i];
        }
    }
    for (; i0 < rows; i0++) {
        for (size_t j = 0; j < columns; j++) dst[i0 * columns + j] = src[(ptrdiff_t)j * src_stride + (ptrdiff_t)i0];
    }
}
