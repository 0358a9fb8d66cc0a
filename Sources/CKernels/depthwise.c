/* Depthwise 2-D convolution of one float32 plane, compiled for AVX-512, AVX2
 * and baseline x86-64 (chosen at load time by target_clones) or plainly
 * elsewhere.
 *
 * Two methods, same arithmetic per output (bias, then every tap in (ky, kx)
 * order with a fused multiply-add where the target has one):
 * - "phases" (with scratch): the padded input is split into stride_h x
 *   stride_w phase planes that share one row pitch, so that every tap reads
 *   one contiguous run at a fixed offset. All output rows then form one long
 *   vector loop whose taps accumulate in registers, whatever the plane width
 *   (a 7x7 plane is as fast per element as a 112x112 one). Pitch columns past
 *   out_w are computed and dropped. Taps in the padding multiply a zero.
 * - "rows" (no scratch): each tap adds into whole output rows, skipping the
 *   taps that fall in the padding; used when the scratch would be too large. */
#include "onyx_kernels.h"
#include "window.h"

#include "clones.h"
#include "activate.h"

/* Phase-plane layout of one plane: pitch (row length), rows per phase, the
 * number of floats read past the last phase by the dropped pitch columns. */
typedef struct {
    /* phase_stride: rows * pitch plus a gap of `lanes` floats that takes the
     * spill of a phase's last row; buffer: all phases plus the slack read by
     * dropped columns; acc: the accumulator rows. */
    ptrdiff_t pitch, rows, phases, tail, phase_stride, buffer, acc;
} phase_layout;

/* The accumulation loop runs over whole blocks of `lanes` (the widest
 * vector), reading and writing up to lanes - 1 floats of slack past its end. */
enum { lanes = 16 };

static inline ptrdiff_t round_up(ptrdiff_t n) { return (n + lanes - 1) / lanes * lanes; }

/* The phase method's largest kernel (taps). */
enum { max_taps = 1024 };

static phase_layout layout_of(const onyx_depthwise2d *p) {
    phase_layout l;
    ptrdiff_t reach_y = (p->kernel_h - 1) * p->dilation_h / p->stride_h;
    ptrdiff_t reach_x = (p->kernel_w - 1) * p->dilation_w / p->stride_w;
    l.pitch = p->out_w + reach_x;
    l.rows = p->out_h + reach_y;
    l.phases = p->stride_h * p->stride_w;
    l.tail = reach_x;
    l.phase_stride = l.rows * l.pitch + lanes;
    l.buffer = l.phases * l.phase_stride + l.tail + lanes;
    l.acc = p->out_h * l.pitch + lanes;
    return l;
}

size_t onyx_depthwise2d_scratch_count(const onyx_depthwise2d *p) {
    const ptrdiff_t limit = (ptrdiff_t)1 << 20;
    if (p->out_h <= 0 || p->out_w <= 0 || p->kernel_h <= 0 || p->kernel_w <= 0) return 0;
    if (p->stride_h > 64 || p->stride_w > 64 || p->kernel_h > 64 || p->kernel_w > 64) return 0;
    if (p->dilation_h > limit || p->dilation_w > limit || p->out_h > limit || p->out_w > limit) return 0;
    if (p->kernel_h * p->kernel_w > max_taps) return 0;
    phase_layout l = layout_of(p);
    if (l.pitch > limit || l.rows > limit || l.phases > 4096) return 0;
    if (l.pitch * l.rows > limit) return 0;
    ptrdiff_t total = l.buffer + l.acc;
    return total > limit ? 0 : (size_t)total;
}

/* Fills the inside of the phase planes: phase (py, px), row i, column j holds
 * padded input (i * stride_h + py, j * stride_w + px). Only rows that meet
 * the input are written; the rest stay zero from the start of the plane loop.
 * (Dealing whole vectors of columns to the phases, zeroing the padding cells
 * after, measured slower on 7x7 to 56x56 planes: the mixed-width stores stall
 * the loads that follow.) */
static inline __attribute__((always_inline)) void fill_phases(const onyx_depthwise2d *p, phase_layout l,
                                                              const float *restrict input, float *restrict buffer) {
    ptrdiff_t sw = p->stride_w;
    if (sw == 1) {
        ptrdiff_t lo = p->pad_left > 0 ? p->pad_left : 0;
        ptrdiff_t hi = p->in_w + p->pad_left;
        if (hi > l.pitch) hi = l.pitch;
        if (lo >= hi) return;
        for (ptrdiff_t py = 0; py < p->stride_h; py++) {
            float *restrict phase = buffer + py * l.phase_stride;
            for (ptrdiff_t i = 0; i < l.rows; i++) {
                ptrdiff_t iy = i * p->stride_h + py - p->pad_top;
                if (iy < 0 || iy >= p->in_h) continue;
                const float *src = input + iy * p->in_w - p->pad_left;
                float *restrict row = phase + i * l.pitch;
                for (ptrdiff_t j = lo; j < hi; j++) row[j] = src[j];
            }
        }
        return;
    }
    for (ptrdiff_t px = 0; px < sw; px++) {
        /* Columns [lo, hi) of this phase lie inside the input. */
        ptrdiff_t shift = px - p->pad_left;
        ptrdiff_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
        ptrdiff_t hi = p->in_w - shift <= 0 ? 0 : (p->in_w - shift + sw - 1) / sw;
        if (hi > l.pitch) hi = l.pitch;
        if (lo > hi) lo = hi;
        for (ptrdiff_t py = 0; py < p->stride_h; py++) {
            float *restrict phase = buffer + (py * sw + px) * l.phase_stride;
            for (ptrdiff_t i = 0; i < l.rows; i++) {
                ptrdiff_t iy = i * p->stride_h + py - p->pad_top;
                if (iy < 0 || iy >= p->in_h) continue;
                float *restrict row = phase + i * l.pitch;
                const float *src = input + iy * p->in_w + shift;
                if (sw == 2) {
                    for (ptrdiff_t j = lo; j < hi; j++) row[j] = src[2 * j];
                } else {
                    for (ptrdiff_t j = lo; j < hi; j++) row[j] = src[j * sw];
                }
            }
        }
    }
}

/* acc[i] = bias + sum over t of w[t] * buffer[offset[t] + i]; with a constant
 * `taps` the tap loop unrolls and the i loop vectorizes, keeping the sum in
 * registers. */
static inline __attribute__((always_inline)) void accumulate(ptrdiff_t n, const float *restrict buffer,
                                                             const ptrdiff_t *offset, const float *w, int taps,
                                                             float bias, float *restrict acc) {
    /* Four vectors at a time (independent chains hide the FMA latency), then one. */
    ptrdiff_t block = 0;
    for (; block + 4 * lanes <= n; block += 4 * lanes) {
        for (ptrdiff_t i = block; i < block + 4 * lanes; i++) {
            float a = bias;
            for (int t = 0; t < taps; t++) a += w[t] * buffer[offset[t] + i];
            acc[i] = a;
        }
    }
    for (; block < n; block += lanes) {
        for (ptrdiff_t i = block; i < block + lanes; i++) {
            float a = bias;
            for (int t = 0; t < taps; t++) a += w[t] * buffer[offset[t] + i];
            acc[i] = a;
        }
    }
}

/* Output rows from the pitch-wide accumulator rows, activated. A row is copied
 * in whole vectors when the spill past its end stays inside the plane: the
 * next row, written after it, overwrites the spill. */
static inline __attribute__((always_inline)) void compact(const onyx_depthwise2d *p, phase_layout l,
                                                          const float *restrict acc, float *restrict output,
                                                          int activation) {
    float low = p->clip_min, high = p->clip_max;
    ptrdiff_t wide = round_up(p->out_w), plane = p->out_h * p->out_w;
    for (ptrdiff_t oy = 0; oy < p->out_h; oy++) {
        const float *restrict a = acc + oy * l.pitch;
        float *restrict row = output + oy * p->out_w;
        ptrdiff_t n = oy * p->out_w + wide <= plane && oy + 1 < p->out_h ? wide : p->out_w;
        for (ptrdiff_t x = 0; x < n; x++) row[x] = activate(activation, a[x], low, high);
    }
}

/* Each tap's offset in the phase planes. */
static inline __attribute__((always_inline)) void tap_offsets(const onyx_depthwise2d *p, phase_layout l,
                                                              ptrdiff_t *offset) {
    for (ptrdiff_t t = 0; t < p->kernel_h * p->kernel_w; t++) {
        ptrdiff_t dy = t / p->kernel_w * p->dilation_h, dx = t % p->kernel_w * p->dilation_w;
        ptrdiff_t phase = (dy % p->stride_h) * p->stride_w + dx % p->stride_w;
        offset[t] = phase * l.phase_stride + (dy / p->stride_h) * l.pitch + dx / p->stride_w;
    }
}

static inline __attribute__((always_inline)) void by_phases(const onyx_depthwise2d *p, phase_layout l,
                                                            const ptrdiff_t *offset, const float *restrict input,
                                                            const float *restrict weights, float bias,
                                                            float *restrict output, float *restrict scratch) {
    float *restrict buffer = scratch;
    float *restrict acc = scratch + l.buffer;
    fill_phases(p, l, input, buffer);

    ptrdiff_t taps = p->kernel_h * p->kernel_w;
    /* Whole blocks of lanes: up to lanes - 1 extra outputs, dropped. */
    ptrdiff_t blocks = round_up(p->out_h * l.pitch);
    if (taps == 9) {
        accumulate(blocks, buffer, offset, weights, 9, bias, acc);
    } else if (taps == 25) {
        accumulate(blocks, buffer, offset, weights, 25, bias, acc);
    } else {
        /* Tap by tap over the whole plane: the same per-output order. */
        for (ptrdiff_t i = 0; i < blocks; i++) acc[i] = bias;
        for (ptrdiff_t t = 0; t < taps; t++) {
            const float *restrict src = buffer + offset[t];
            float wt = weights[t];
            for (ptrdiff_t i = 0; i < blocks; i++) acc[i] += wt * src[i];
        }
    }
    if (p->activation == ONYX_ACTIVATION_RELU) {
        compact(p, l, acc, output, ONYX_ACTIVATION_RELU);
    } else if (p->activation == ONYX_ACTIVATION_CLIP) {
        compact(p, l, acc, output, ONYX_ACTIVATION_CLIP);
    } else if (p->activation == ONYX_ACTIVATION_SILU) {
        compact(p, l, acc, output, ONYX_ACTIVATION_SILU);
    } else {
        compact(p, l, acc, output, ONYX_ACTIVATION_NONE);
    }
}

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

static inline __attribute__((always_inline)) void by_rows(const onyx_depthwise2d *p, const float *restrict input,
                                                          const float *restrict weights, float bias,
                                                          float *restrict output) {
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
        for (ptrdiff_t ox = 0; ox < p->out_w; ox++) row[ox] = activate(p->activation, row[ox], p->clip_min, p->clip_max);
    }
}

ONYX_CLONES
void onyx_depthwise2d_f32(const onyx_depthwise2d *p, ptrdiff_t first, ptrdiff_t count, ptrdiff_t channels,
                          const float *restrict input, const float *restrict weights, const float *restrict bias,
                          float *restrict output, float *restrict scratch) {
    ptrdiff_t in_plane = p->in_h * p->in_w, out_plane = p->out_h * p->out_w, taps = p->kernel_h * p->kernel_w;
    phase_layout l = layout_of(p);
    ptrdiff_t offset[max_taps];
    if (scratch) {
        /* Zero the padding cells and the slack once; each plane rewrites only the inside. */
        size_t total = onyx_depthwise2d_scratch_count(p);
        for (size_t i = 0; i < total; i++) scratch[i] = 0;
        tap_offsets(p, l, offset);
    }
    for (ptrdiff_t plane = first; plane < first + count; plane++) {
        ptrdiff_t channel = plane % channels;
        const float *in = input + plane * in_plane;
        const float *w = weights + channel * taps;
        float b = bias ? bias[channel] : 0.0f;
        float *out = output + plane * out_plane;
        if (scratch) {
            by_phases(p, l, offset, in, w, b, out, scratch);
        } else {
            by_rows(p, in, w, b, out);
        }
    }
}
