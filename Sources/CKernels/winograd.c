/* Winograd F(2x2, 3x3) transforms for stride-1, undilated 3x3 convolutions:
 * each 2x2 output tile takes 16 multiplies per (filter, channel) instead of
 * 36. The products themselves are 16 GEMMs (one per transformed position e)
 * done by the packed sgemm; these loops are the weight, input and output
 * transforms around them, compiled for AVX-512, AVX2 and baseline x86-64
 * (target_clones) or plainly elsewhere.
 *
 *   U_e = (G g G^T)_e            per filter k and channel c (at plan time)
 *   V_e = (B^T d B)_e            per tile t and channel c, d its 4x4 input patch
 *   M_e = U_e V_e                (K x C) (C x T) GEMMs
 *   Y   = A^T M A + bias         per tile and filter: its 2x2 outputs
 *
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2;
 * 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1]. Every value is computed by
 * the same operations whatever range of channels or filters a call covers. */
#include "onyx_kernels.h"

#include "clones.h"
#include "activate.h"

void onyx_winograd2_weights_f32(size_t filters, size_t channels, const float *restrict w, float *restrict u) {
    size_t stride = filters * channels;
    for (size_t k = 0; k < filters; k++) {
        for (size_t c = 0; c < channels; c++) {
            const float *g = w + (k * channels + c) * 9;
            /* t = G g (4 x 3), then t G^T (4 x 4). */
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[0][j] = g0;
                t[1][j] = 0.5f * (g0 + g1 + g2);
                t[2][j] = 0.5f * (g0 - g1 + g2);
                t[3][j] = g2;
            }
            for (int i = 0; i < 4; i++) {
                float a = t[i][0], b = t[i][1], d = t[i][2];
                float *row = u + (size_t)(4 * i) * stride + k * channels + c;
                row[0] = a;
                row[stride] = 0.5f * (a + b + d);
                row[2 * stride] = 0.5f * (a - b + d);
                row[3 * stride] = d;
            }
        }
    }
}

size_t onyx_winograd2_scratch_count(const onyx_winograd_geometry *g) {
    size_t th = (size_t)(g->out_h + 1) / 2, tw = (size_t)(g->out_w + 1) / 2;
    return (2 * th + 2) * (2 * tw + 2);
}

ONYX_CLONES
void onyx_winograd2_input_f32(const onyx_winograd_geometry *g, size_t ty0, size_t ty1, size_t c0, size_t c1,
                              size_t channels, const float *restrict input, float *restrict v,
                              float *restrict scratch) {
    ptrdiff_t th = (g->out_h + 1) / 2, tw = (g->out_w + 1) / 2;
    if ((ptrdiff_t)ty1 > th) ty1 = (size_t)th;
    if (ty0 >= ty1) return;
    /* Padded rows [2 ty0, 2 ty1 + 2) of the plane, scratch row 0 = padded row 2 ty0. */
    ptrdiff_t first = 2 * (ptrdiff_t)ty0, hp = 2 * (ptrdiff_t)(ty1 - ty0) + 2, wp = 2 * tw + 2;
    size_t tiles = (ty1 - ty0) * (size_t)tw, stride = channels * tiles;
    for (ptrdiff_t i = 0; i < hp * wp; i++) scratch[i] = 0;
    /* Padded columns [lo, hi) hold input columns. */
    ptrdiff_t lo = g->pad_left > 0 ? g->pad_left : 0;
    ptrdiff_t hi = g->in_w + g->pad_left < wp ? g->in_w + g->pad_left : wp;
    for (size_t c = c0; c < c1; c++) {
        const float *plane = input + c * (size_t)(g->in_h * g->in_w);
        for (ptrdiff_t r = 0; r < hp; r++) {
            ptrdiff_t iy = first + r - g->pad_top;
            if (iy < 0 || iy >= g->in_h || lo >= hi) continue;
            const float *src = plane + iy * g->in_w - g->pad_left;
            float *row = scratch + r * wp;
            for (ptrdiff_t x = lo; x < hi; x++) row[x] = src[x];
        }
        float *out = v + c * tiles;
        for (ptrdiff_t ty = 0; ty < (ptrdiff_t)(ty1 - ty0); ty++) {
            const float *r0 = scratch + 2 * ty * wp, *r1 = r0 + wp, *r2 = r1 + wp, *r3 = r2 + wp;
            float *o = out + ty * tw;
            for (ptrdiff_t tx = 0; tx < tw; tx++) {
                ptrdiff_t x = 2 * tx;
                /* B^T d: combine rows, per column. */
                float a0 = r0[x] - r2[x], a1 = r0[x + 1] - r2[x + 1], a2 = r0[x + 2] - r2[x + 2], a3 = r0[x + 3] - r2[x + 3];
                float b0 = r1[x] + r2[x], b1 = r1[x + 1] + r2[x + 1], b2 = r1[x + 2] + r2[x + 2], b3 = r1[x + 3] + r2[x + 3];
                float c0_ = r2[x] - r1[x], c1_ = r2[x + 1] - r1[x + 1], c2_ = r2[x + 2] - r1[x + 2],
                      c3_ = r2[x + 3] - r1[x + 3];
                float d0 = r1[x] - r3[x], d1 = r1[x + 1] - r3[x + 1], d2 = r1[x + 2] - r3[x + 2], d3 = r1[x + 3] - r3[x + 3];
                /* (B^T d) B: combine columns. */
                o[tx] = a0 - a2;
                o[stride + tx] = a1 + a2;
                o[2 * stride + tx] = a2 - a1;
                o[3 * stride + tx] = a1 - a3;
                o[4 * stride + tx] = b0 - b2;
                o[5 * stride + tx] = b1 + b2;
                o[6 * stride + tx] = b2 - b1;
                o[7 * stride + tx] = b1 - b3;
                o[8 * stride + tx] = c0_ - c2_;
                o[9 * stride + tx] = c1_ + c2_;
                o[10 * stride + tx] = c2_ - c1_;
                o[11 * stride + tx] = c1_ - c3_;
                o[12 * stride + tx] = d0 - d2;
                o[13 * stride + tx] = d1 + d2;
                o[14 * stride + tx] = d2 - d1;
                o[15 * stride + tx] = d1 - d3;
            }
        }
    }
}

typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
/* Unaligned, aliasing loads of 8 floats (a macro: a function returning a
 * vector would change the ABI in the baseline clone). */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define load8(p) (*(const v8u *)(p))

/* Y = A^T M A + bias, then the activation, for tile rows [ty0, ty1) and
 * filters [k0, k1). Eight tiles of a row at a time go through vectors (their
 * 2x2 outputs interleaved into the two output rows), the rest one by one; the
 * activation runs over each finished pair of rows. Every output gets the same
 * operations in the same order either way. */
ONYX_CLONES
void onyx_winograd2_output_f32(const onyx_winograd_geometry *g, size_t ty0, size_t ty1, size_t k0, size_t k1,
                               size_t filters, const float *restrict m, const float *restrict bias, int activation,
                               float clip_min, float clip_max, float *restrict output) {
    ptrdiff_t th = (g->out_h + 1) / 2, tw = (g->out_w + 1) / 2;
    if ((ptrdiff_t)ty1 > th) ty1 = (size_t)th;
    if (ty0 >= ty1) return;
    size_t tiles = (ty1 - ty0) * (size_t)tw, stride = filters * tiles;
    ptrdiff_t full = g->out_w / 2;
    for (size_t k = k0; k < k1; k++) {
        float b = bias ? bias[k] : 0.0f;
        v8 bv = {b, b, b, b, b, b, b, b};
        float *plane = output + k * (size_t)(g->out_h * g->out_w);
        const float *s = m + k * tiles;
        for (ptrdiff_t ty = (ptrdiff_t)ty0; ty < (ptrdiff_t)ty1; ty++) {
            const float *q = s + (ty - (ptrdiff_t)ty0) * tw;
            float *y0 = plane + 2 * ty * g->out_w;
            float *y1 = 2 * ty + 1 < g->out_h ? y0 + g->out_w : NULL;
            ptrdiff_t tx = 0;
            for (; tx + 8 <= full; tx += 8) {
                v8 m0 = load8(q + tx), m1 = load8(q + stride + tx), m2 = load8(q + 2 * stride + tx);
                v8 m3 = load8(q + 3 * stride + tx), m4 = load8(q + 4 * stride + tx), m5 = load8(q + 5 * stride + tx);
                v8 m6 = load8(q + 6 * stride + tx), m7 = load8(q + 7 * stride + tx), m8 = load8(q + 8 * stride + tx);
                v8 m9 = load8(q + 9 * stride + tx), ma = load8(q + 10 * stride + tx), mb = load8(q + 11 * stride + tx);
                v8 mc = load8(q + 12 * stride + tx), md = load8(q + 13 * stride + tx), me = load8(q + 14 * stride + tx);
                v8 mf = load8(q + 15 * stride + tx);
                v8 p0 = m0 + m4 + m8, p1 = m1 + m5 + m9, p2 = m2 + m6 + ma, p3 = m3 + m7 + mb;
                v8 v00 = p0 + p1 + p2 + bv, v01 = p1 - p2 - p3 + bv;
                v16 top = __builtin_shufflevector(v00, v01, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
                __builtin_memcpy(y0 + 2 * tx, &top, sizeof top);
                if (y1) {
                    v8 q0 = m4 - m8 - mc, q1 = m5 - m9 - md, q2 = m6 - ma - me, q3 = m7 - mb - mf;
                    v8 v10 = q0 + q1 + q2 + bv, v11 = q1 - q2 - q3 + bv;
                    v16 bottom = __builtin_shufflevector(v10, v11, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
                    __builtin_memcpy(y1 + 2 * tx, &bottom, sizeof bottom);
                }
            }
            for (; tx < tw; tx++) {
                /* A^T M: rows; then (A^T M) A: columns. */
                float m0 = q[tx], m1 = q[stride + tx], m2 = q[2 * stride + tx], m3 = q[3 * stride + tx];
                float m4 = q[4 * stride + tx], m5 = q[5 * stride + tx], m6 = q[6 * stride + tx], m7 = q[7 * stride + tx];
                float m8 = q[8 * stride + tx], m9 = q[9 * stride + tx], ma = q[10 * stride + tx], mb = q[11 * stride + tx];
                float mc = q[12 * stride + tx], md = q[13 * stride + tx], me = q[14 * stride + tx], mf = q[15 * stride + tx];
                float p0 = m0 + m4 + m8, p1 = m1 + m5 + m9, p2 = m2 + m6 + ma, p3 = m3 + m7 + mb;
                float q0 = m4 - m8 - mc, q1 = m5 - m9 - md, q2 = m6 - ma - me, q3 = m7 - mb - mf;
                ptrdiff_t x = 2 * tx;
                y0[x] = p0 + p1 + p2 + b;
                if (tx < full) y0[x + 1] = p1 - p2 - p3 + b;
                if (y1) {
                    y1[x] = q0 + q1 + q2 + b;
                    if (tx < full) y1[x + 1] = q1 - q2 - q3 + b;
                }
            }
            activate_span(y0, y1 ? 2 * g->out_w : g->out_w, activation, clip_min, clip_max);
        }
    }
}
