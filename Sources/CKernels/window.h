/* Shared by the depthwise and pooling kernels; not part of the API. */
#ifndef ONYX_WINDOW_H
#define ONYX_WINDOW_H

#include "onyx_kernels.h"

/* For tap column kx: the input offset `shift` of output column 0, and the
 * output columns [lo, hi) whose input column ox * stride_w + shift lies
 * inside the input row. */
static inline __attribute__((always_inline)) void onyx_tap_columns(const onyx_depthwise2d *p, ptrdiff_t kx,
                                                                   ptrdiff_t *shift, ptrdiff_t *lo, ptrdiff_t *hi) {
    ptrdiff_t s = kx * p->dilation_w - p->pad_left;
    ptrdiff_t low = s >= 0 ? 0 : (-s + p->stride_w - 1) / p->stride_w;
    ptrdiff_t high = p->in_w - s <= 0 ? 0 : (p->in_w - s + p->stride_w - 1) / p->stride_w;
    *shift = s;
    *lo = low;
    *hi = high > p->out_w ? p->out_w : high;
}

#endif
