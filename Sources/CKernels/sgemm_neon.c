/* The 6x16 NEON microkernel for AArch64 (where NEON is always present). */
#include "sgemm_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void onyx_kernel_6x16_neon(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                           const onyx_tile_epilogue *e) {
    float32x4_t acc[MR][4];
    for (int i = 0; i < MR; i++) {
        for (int q = 0; q < 4; q++) acc[i][q] = vdupq_n_f32(0.0f);
    }
    for (size_t p = 0; p < kc; p++) {
        float32x4_t b0 = vld1q_f32(b);
        float32x4_t b1 = vld1q_f32(b + 4);
        float32x4_t b2 = vld1q_f32(b + 8);
        float32x4_t b3 = vld1q_f32(b + 12);
        for (int i = 0; i < MR; i++) {
            float32x4_t av = vdupq_n_f32(a[i]);
            acc[i][0] = vfmaq_f32(acc[i][0], b0, av);
            acc[i][1] = vfmaq_f32(acc[i][1], b1, av);
            acc[i][2] = vfmaq_f32(acc[i][2], b2, av);
            acc[i][3] = vfmaq_f32(acc[i][3], b3, av);
        }
        a += MR;
        b += NR;
    }
    float sums[MR * NR];
    for (int i = 0; i < MR; i++) {
        for (int q = 0; q < 4; q++) vst1q_f32(sums + i * NR + q * 4, acc[i][q]);
    }
    onyx_tile_finish(sums, c, ldc, e);
}

#endif
