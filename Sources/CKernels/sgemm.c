/* The sgemm driver: k blocking, packing, cache blocking, kernel dispatch. */
#include "onyx_gemm.h"
#include "sgemm_internal.h"
#include "approx.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Cache blocking: a kc x NR panel of B (32 KB at kc = 512) stays in L1/L2
 * while the MC x kc block of A (288 KB) streams through it from L2; the
 * kc x nc block of B is reused from L3 across the MC blocks. Each k block is
 * one pass over C, read and written, so a deeper kc halves C's traffic.
 * Measured on the 2-core Zen 5 EPYC (48 KB L1d, 1 MB L2) with
 * onyx-kernel-bench: KC 128-512, MC 72-288 and NC 1536-4096 land within
 * +-3% of one another on one core; on two cores at 2048 squares, where both
 * share the memory bus, KC 512 ran 336-376 GFLOP/s against 300-334 for
 * KC 256 (6 of 7 alternations), and the ResNet-50 conv shapes were unchanged.
 */
#ifndef ONYX_KC
#define ONYX_KC 512
#endif
#ifndef ONYX_MC
#define ONYX_MC 144
#endif
#ifndef ONYX_SHALLOW_FLOATS
/* mc x kc blocks of A up to this size (16 KB) are walked row band first
 * when the kc x nc block of B is at most ONYX_SHALLOW_B_FLOATS (512 KB). */
#define ONYX_SHALLOW_FLOATS 4096
#endif
#ifndef ONYX_SHALLOW_B_FLOATS
#define ONYX_SHALLOW_B_FLOATS (128 * 1024)
#endif
#ifndef ONYX_SHALLOW_K
/* k blocks up to this depth are walked row band first whatever their size,
 * in column chunks whose part of B is at most ONYX_SHALLOW_B_FLOATS. */
#define ONYX_SHALLOW_K 128
#endif
#ifndef ONYX_NC
#define ONYX_NC 3072
#endif

_Static_assert(ONYX_MC % MR == 0, "MC must be a multiple of MR");
_Static_assert(ONYX_NC % NR == 0, "NC must be a multiple of NR");
_Static_assert(ONYX_SGEMM_MR == MR && ONYX_SGEMM_NR == NR, "tile size");

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

/* The size of every k block but the last; depends on k alone. */
static size_t k_block(size_t k) {
    if (k <= ONYX_KC) return k;
    size_t blocks = (k + ONYX_KC - 1) / ONYX_KC;
    return round_up((k + blocks - 1) / blocks, 8);
}

/* ---- Epilogue and portable kernel ---- */

void onyx_tile_finish(const float *acc, float *c, ptrdiff_t ldc, const onyx_tile_epilogue *e) {
    for (int i = 0; i < MR; i++) {
        float *row = c + i * ldc;
        const float *sums = acc + i * NR;
        float r[NR];
        if (e->first) {
            for (int j = 0; j < NR; j++) r[j] = e->alpha * sums[j];
            if (e->beta != 0) {
                for (int j = 0; j < NR; j++) r[j] = e->beta * row[j] + r[j];
            }
        } else {
            for (int j = 0; j < NR; j++) r[j] = e->alpha * sums[j] + row[j];
        }
        if (e->last) {
            if (e->row_bias) {
                float bias = e->row_bias[i];
                for (int j = 0; j < NR; j++) r[j] += bias;
            }
            if (e->col_bias) {
                for (int j = 0; j < NR; j++) r[j] += e->col_bias[j];
            }
            if (e->residual) {
                const float *z = onyx_residual_at(row, e);
                for (int j = 0; j < NR; j++) r[j] += z[j];
            }
            if (e->activation == ONYX_ACTIVATION_RELU) {
                for (int j = 0; j < NR; j++) r[j] = 0.0f > r[j] ? 0.0f : r[j];
            } else if (e->activation == ONYX_ACTIVATION_CLIP) {
                for (int j = 0; j < NR; j++) {
                    float v = e->clip_min > r[j] ? e->clip_min : r[j];
                    r[j] = e->clip_max < v ? e->clip_max : v;
                }
            } else if (e->activation == ONYX_ACTIVATION_SILU) {
                for (int j = 0; j < NR; j++) r[j] = silu_approx(r[j]);
            }
        }
        for (int j = 0; j < NR; j++) row[j] = r[j];
    }
}

void onyx_kernel_6x16_portable(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                               const onyx_tile_epilogue *e) {
    float acc[MR * NR];
    for (int x = 0; x < MR * NR; x++) acc[x] = 0.0f;
    for (size_t p = 0; p < kc; p++) {
        const float *ap = a + p * MR;
        const float *bp = b + p * NR;
        for (int i = 0; i < MR; i++) {
            float av = ap[i];
            for (int j = 0; j < NR; j++) acc[i * NR + j] += av * bp[j];
        }
    }
    onyx_tile_finish(acc, c, ldc, e);
}

static onyx_microkernel select_kernel(int choice) {
    if (choice == ONYX_KERNEL_PORTABLE) return onyx_kernel_6x16_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return onyx_kernel_6x16_avx2;
    return onyx_kernel_6x16_portable;
#elif defined(__aarch64__)
    return onyx_kernel_6x16_neon;
#else
    return onyx_kernel_6x16_portable;
#endif
}

/* The 12x32 kernel for whole 12x32 blocks, or NULL. It pairs only with the
 * AVX2 6x16 kernel, whose results it reproduces bit for bit. */
static onyx_wide_microkernel select_wide_kernel(int choice) {
#if defined(__x86_64__)
    if (choice != ONYX_KERNEL_AUTO) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return onyx_kernel_12x32_avx512;
    }
#else
    (void)choice;
#endif
    return NULL;
}

const char *onyx_sgemm_kernel_name(void) {
    onyx_microkernel kernel = select_kernel(ONYX_KERNEL_AUTO);
#if defined(__x86_64__)
    if (select_wide_kernel(ONYX_KERNEL_AUTO)) return "avx512+avx2-fma";
    if (kernel == onyx_kernel_6x16_avx2) return "avx2-fma";
#elif defined(__aarch64__)
    if (kernel == onyx_kernel_6x16_neon) return "neon";
#endif
    return "portable";
}

/* ---- Packing ---- */

/* Rows [i0, i0 + mc) and k range [p0, p0 + kc) of A into MR-row panels:
 * panel r holds dst[r * MR * kc + p * MR + i]; rows past mc are zero. */
static void pack_a_block(const float *a, ptrdiff_t rs, ptrdiff_t cs, size_t i0, size_t mc, size_t p0,
                         size_t kc, float *dst) {
    for (size_t ir = 0; ir < mc; ir += MR) {
        size_t rows = min_size(MR, mc - ir);
        const float *src = a + (ptrdiff_t)(i0 + ir) * rs + (ptrdiff_t)p0 * cs;
        if (rows == MR && cs == 1) {
            for (size_t i = 0; i < MR; i++) {
                const float *line = src + (ptrdiff_t)i * rs;
                for (size_t p = 0; p < kc; p++) dst[p * MR + i] = line[p];
            }
        } else if (rows == MR && rs == 1) {
            for (size_t p = 0; p < kc; p++) {
                const float *line = src + (ptrdiff_t)p * cs;
                for (size_t i = 0; i < MR; i++) dst[p * MR + i] = line[i];
            }
        } else {
            for (size_t p = 0; p < kc; p++) {
                for (size_t i = 0; i < MR; i++) {
                    dst[p * MR + i] = i < rows ? src[(ptrdiff_t)i * rs + (ptrdiff_t)p * cs] : 0.0f;
                }
            }
        }
        dst += MR * kc;
    }
}

/* Columns [j0, j0 + nc) and k range [p0, p0 + kc) of B into NR-column panels:
 * panel r holds dst[r * NR * kc + p * NR + j]; columns past nc are zero. */
static void pack_b_block(const float *b, ptrdiff_t rs, ptrdiff_t cs, size_t p0, size_t kc, size_t j0,
                         size_t nc, float *dst) {
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t columns = min_size(NR, nc - jr);
        const float *src = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(j0 + jr) * cs;
        if (columns == NR && cs == 1) {
            for (size_t p = 0; p < kc; p++) {
                const float *line = src + (ptrdiff_t)p * rs;
                for (size_t j = 0; j < NR; j++) dst[p * NR + j] = line[j];
            }
        } else if (columns == NR && rs == 1) {
            for (size_t j = 0; j < NR; j++) {
                const float *line = src + (ptrdiff_t)j * cs;
                for (size_t p = 0; p < kc; p++) dst[p * NR + j] = line[p];
            }
        } else {
            for (size_t p = 0; p < kc; p++) {
                for (size_t j = 0; j < NR; j++) {
                    dst[p * NR + j] = j < columns ? src[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs] : 0.0f;
                }
            }
        }
        dst += NR * kc;
    }
}

/* A pre-packed matrix is one packed block per k block, stored in order; the
 * block starting at k offset pc begins at pc * (m rounded up to MR). */
size_t onyx_sgemm_packed_a_count(size_t m, size_t k) { return round_up(m, MR) * k; }
size_t onyx_sgemm_packed_b_count(size_t k, size_t n) { return round_up(n, NR) * k; }

void onyx_sgemm_pack_a(size_t m, size_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t col_stride,
                       float *packed) {
    size_t kb = k_block(k);
    for (size_t pc = 0; pc < k; pc += kb) {
        size_t kc = min_size(kb, k - pc);
        pack_a_block(a, row_stride, col_stride, 0, m, pc, kc, packed + pc * round_up(m, MR));
    }
}

void onyx_sgemm_pack_b(size_t k, size_t n, const float *b, ptrdiff_t row_stride, ptrdiff_t col_stride,
                       float *packed) {
    size_t kb = k_block(k);
    for (size_t pc = 0; pc < k; pc += kb) {
        size_t kc = min_size(kb, k - pc);
        pack_b_block(b, row_stride, col_stride, pc, kc, 0, n, packed + pc * round_up(n, NR));
    }
}

int onyx_sgemm_pack_b_part(size_t k, size_t n, const float *b, ptrdiff_t row_stride, ptrdiff_t col_stride,
                           size_t p0, size_t p1, size_t j0, size_t j1, float *packed) {
    if (j0 % NR != 0 || (j1 != n && j1 % NR != 0) || j1 > n || p1 > k) return -1;
    if (p0 >= p1 || j0 >= j1) return 0;
    size_t kb = k_block(k);
    size_t n_padded = round_up(n, NR);
    for (size_t pc = p0 / kb * kb; pc < p1; pc += kb) {
        size_t kc = min_size(kb, k - pc);
        size_t low = pc > p0 ? pc : p0;
        size_t high = min_size(pc + kc, p1);
        float *block = packed + pc * n_padded;
        for (size_t p = low; p < high; p++) {
            const float *line = b + (ptrdiff_t)(p - p0) * row_stride;
            for (size_t jr = j0; jr < j1; jr += NR) {
                size_t columns = min_size(NR, j1 - jr);
                float *dst = block + jr * kc + (p - pc) * NR;
                const float *src = line + (ptrdiff_t)jr * col_stride;
                if (col_stride == 1) {
                    for (size_t j = 0; j < columns; j++) dst[j] = src[j];
                } else {
                    for (size_t j = 0; j < columns; j++) dst[j] = src[(ptrdiff_t)j * col_stride];
                }
                for (size_t j = columns; j < NR; j++) dst[j] = 0.0f;
            }
        }
    }
    return 0;
}

/* ---- Packing workspaces ----
 *
 * A small shared pool rather than one buffer per thread: Dispatch runs work
 * on whichever pool threads it has, and a buffer kept per thread would
 * multiply the memory by the number of threads that ever ran a GEMM. */

#define ONYX_WORKSPACE_POOL 8

typedef struct {
    float *data;
    size_t capacity;
} workspace;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static workspace pool[ONYX_WORKSPACE_POOL];
static int pool_count;

/* A 64-byte aligned buffer of at least `count` floats, or a zero workspace. */
static workspace workspace_acquire(size_t count) {
    workspace w = {NULL, 0};
    pthread_mutex_lock(&pool_lock);
    int best = -1;
    for (int i = 0; i < pool_count; i++) {
        if (pool[i].capacity >= count && (best < 0 || pool[i].capacity < pool[best].capacity)) best = i;
    }
    if (best < 0 && pool_count > 0) best = pool_count - 1; /* too small: replace it */
    if (best >= 0) {
        w = pool[best];
        pool[best] = pool[--pool_count];
    }
    pthread_mutex_unlock(&pool_lock);
    if (w.capacity < count) {
        free(w.data);
        size_t bytes = round_up(count * sizeof(float), 64);
        w.data = aligned_alloc(64, bytes);
        w.capacity = w.data ? bytes / sizeof(float) : 0;
    }
    return w;
}

static void workspace_release(workspace w) {
    if (!w.data) return;
    pthread_mutex_lock(&pool_lock);
    if (pool_count < ONYX_WORKSPACE_POOL) {
        pool[pool_count++] = w;
        w.data = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    free(w.data);
}

/* ---- Driver ---- */

static void run_tile(onyx_microkernel kernel, size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                     size_t rows, size_t columns, const onyx_tile_epilogue *base, const float *row_bias,
                     const float *col_bias) {
    onyx_tile_epilogue e = *base;
    if (rows == MR && columns == NR) {
        e.row_bias = row_bias;
        e.col_bias = col_bias;
        kernel(kc, a, b, c, ldc, &e);
        return;
    }
    float tile[MR * NR] __attribute__((aligned(64)));
    float row_part[MR];
    float column_part[NR];
    memset(tile, 0, sizeof tile);
    if (!(e.first && e.beta == 0)) {
        for (size_t i = 0; i < rows; i++) memcpy(tile + i * NR, c + (ptrdiff_t)i * ldc, columns * sizeof(float));
    }
    if (e.last && row_bias) {
        for (size_t i = 0; i < MR; i++) row_part[i] = i < rows ? row_bias[i] : 0.0f;
        e.row_bias = row_part;
    } else {
        e.row_bias = NULL;
    }
    if (e.last && col_bias) {
        for (size_t j = 0; j < NR; j++) column_part[j] = j < columns ? col_bias[j] : 0.0f;
        e.col_bias = column_part;
    } else {
        e.col_bias = NULL;
    }
    /* The residual's part, in the tile's layout. */
    float residual_part[MR * NR] __attribute__((aligned(64)));
    if (e.last && e.residual) {
        memset(residual_part, 0, sizeof residual_part);
        for (size_t i = 0; i < rows; i++) {
            memcpy(residual_part + i * NR, onyx_residual_at(c + (ptrdiff_t)i * ldc, &e), columns * sizeof(float));
        }
        e.residual_delta = (ptrdiff_t)((uintptr_t)residual_part - (uintptr_t)tile);
    }
    kernel(kc, a, b, tile, NR, &e);
    for (size_t i = 0; i < rows; i++) memcpy(c + (ptrdiff_t)i * ldc, tile + i * NR, columns * sizeof(float));
}

/* All tiles of an mc x nc block: whole 12x32 blocks by the wide kernel when
 * there is one, the rest (and everything otherwise) in 6x16 tiles. */
/* B's layout for run_block: column panel jr starts at bp + jr * panel_step
 * and its rows are b_stride floats apart. Packed: panel_step kc, b_stride NR;
 * read in place (row-major B, AVX-512 kernels only): 1 and B's row stride. */
typedef struct {
    size_t panel_step;
    ptrdiff_t b_stride;
} b_layout;

#if defined(__x86_64__)
/* Rows [ir, ir + 12) x columns [jr, jr + 32) of a block: the 12x32 kernel
 * when the rows are whole (ir + 12 <= wide_rows), else the masked 6x32 one
 * for each of the up to two 6-row panels left. */
static inline void wide_block(onyx_wide_microkernel wide, size_t kc, const float *ap, const float *bp, b_layout bl,
                              float *c, ptrdiff_t ldc, size_t mc, size_t wide_rows, size_t ir, size_t jr,
                              onyx_tile_epilogue *e, const float *row_bias, const float *col_bias) {
    e->col_bias = e->last && col_bias ? col_bias + jr : NULL;
    const float *left = bp + jr * bl.panel_step, *right = bp + (jr + NR) * bl.panel_step;
    if (ir + 2 * MR <= wide_rows) {
        e->row_bias = e->last && row_bias ? row_bias + ir : NULL;
        wide(kc, ap + ir * kc, ap + (ir + MR) * kc, left, right, bl.b_stride, c + (ptrdiff_t)ir * ldc + (ptrdiff_t)jr,
             ldc, e);
        return;
    }
    for (size_t i = ir; i < mc && i < ir + 2 * MR; i += MR) {
        e->row_bias = e->last && row_bias ? row_bias + i : NULL;
        onyx_kernel_6x32_avx512(kc, ap + i * kc, left, right, bl.b_stride, c + (ptrdiff_t)i * ldc + (ptrdiff_t)jr, ldc,
                                min_size(MR, mc - i), 2 * NR, e);
    }
}
#endif

static void run_block(onyx_microkernel kernel, onyx_wide_microkernel wide, size_t kc, const float *ap,
                      const float *bp, b_layout bl, float *c, ptrdiff_t ldc, size_t mc, size_t nc,
                      const onyx_tile_epilogue *base, const float *row_bias, const float *col_bias) {
    size_t wide_columns = 0;
#if defined(__x86_64__)
    /* The AVX-512 kernels exist on x86-64 only (`wide` is NULL elsewhere). */
    if (wide && kc > 0) {
        onyx_tile_epilogue e = *base;
        /* At most 4 rows (a batch of 4 times a weight matrix, as in a
         * recurrent step): 4x64 blocks, whose every FMA counts, where the
         * 6-row kernels would spend a third of theirs on padding rows. */
        size_t first = 0;
        if (mc <= 4) {
            e.row_bias = e.last && row_bias ? row_bias : NULL;
            for (; first + 4 * NR <= nc; first += 4 * NR) {
                e.col_bias = e.last && col_bias ? col_bias + first : NULL;
                onyx_kernel_4x64_avx512(kc, ap, bp + first * bl.panel_step, (ptrdiff_t)(NR * bl.panel_step),
                                        bl.b_stride, c + (ptrdiff_t)first, ldc, mc, &e);
            }
        }
        wide_columns = first + (nc - first) / (2 * NR) * (2 * NR);
        size_t wide_rows = mc / (2 * MR) * (2 * MR);
        /* A shallow block (A's rows for it fit in L1 whatever their number,
         * and B's block stays in L2 to be read again by each band), or any
         * block at most ONYX_SHALLOW_K deep, goes row band by row band, so C
         * (and a residual) is written a few rows at a time along their length
         * rather than down all mc rows at once: with little arithmetic per
         * output, the scattered row streams otherwise stall on cache misses.
         * A deep block's B goes in column chunks that stay in L2. Measured on
         * ResNet-50's 56x56 1x1 conv with its skip connection (k = 64, the
         * output and residual cold in cache): 650-790 us against 850-1000.
         * Same tiles, same bits, other order. */
        int shallow = ((mc * kc <= ONYX_SHALLOW_FLOATS && kc * nc <= ONYX_SHALLOW_B_FLOATS) || kc <= ONYX_SHALLOW_K) &&
                      mc > 2 * MR && nc > 2 * NR;
        if (shallow) {
            size_t chunk = ONYX_SHALLOW_B_FLOATS / kc / (2 * NR) * (2 * NR);
            if (chunk < 2 * NR) chunk = 2 * NR;
            for (size_t j0 = first; j0 < wide_columns; j0 += chunk) {
                size_t j1 = min_size(j0 + chunk, wide_columns);
                for (size_t ir = 0; ir < mc; ir += 2 * MR) {
                    for (size_t jr = j0; jr < j1; jr += 2 * NR) {
                        wide_block(wide, kc, ap, bp, bl, c, ldc, mc, wide_rows, ir, jr, &e, row_bias, col_bias);
                    }
                }
            }
        } else {
            for (size_t jr = first; jr < wide_columns; jr += 2 * NR) {
                for (size_t ir = 0; ir < mc; ir += 2 * MR) {
                    wide_block(wide, kc, ap, bp, bl, c, ldc, mc, wide_rows, ir, jr, &e, row_bias, col_bias);
                }
            }
        }
    }
#else
    (void)wide;
#endif
    for (size_t jr = wide_columns; jr < nc; jr += NR) {
        size_t columns = min_size(NR, nc - jr);
        size_t ir = 0;
#if defined(__x86_64__)
        if (kc > 0 && columns <= 4 && kernel == onyx_kernel_6x16_avx2) {
            /* A few columns left: together by the narrow kernel (same bits, no unused columns). */
            onyx_tile_epilogue e = *base;
            e.col_bias = e.last && col_bias ? col_bias + jr : NULL;
            size_t step = onyx_narrow_rows(columns);
            for (size_t i = 0; i < mc; i += step) {
                e.row_bias = e.last && row_bias ? row_bias + i : NULL;
                onyx_kernel_narrow_avx2(kc, ap + i * kc, min_size(step, mc - i), bp + jr * bl.panel_step, bl.b_stride, 1,
                                        columns, c + (ptrdiff_t)i * ldc + (ptrdiff_t)jr, ldc, &e);
            }
            continue;
        }
        if (wide && kc > 0) {
            onyx_tile_epilogue e = *base;
            e.col_bias = e.last && col_bias ? col_bias + jr : NULL;
            for (; ir + 2 * MR <= mc; ir += 2 * MR) {
                e.row_bias = e.last && row_bias ? row_bias + ir : NULL;
                onyx_kernel_12x16_avx512(kc, ap + ir * kc, ap + (ir + MR) * kc, bp + jr * bl.panel_step, bl.b_stride,
                                         c + (ptrdiff_t)ir * ldc + (ptrdiff_t)jr, ldc, columns, &e);
            }
            for (; ir < mc; ir += MR) {
                e.row_bias = e.last && row_bias ? row_bias + ir : NULL;
                onyx_kernel_6x32_avx512(kc, ap + ir * kc, bp + jr * bl.panel_step, NULL, bl.b_stride,
                                        c + (ptrdiff_t)ir * ldc + (ptrdiff_t)jr, ldc, min_size(MR, mc - ir), columns, &e);
            }
        }
#endif
        for (; ir < mc; ir += MR) {
            size_t rows = min_size(MR, mc - ir);
            run_tile(kernel, kc, ap ? ap + ir * kc : NULL, bp ? bp + jr * kc : NULL,
                     c + (ptrdiff_t)ir * ldc + (ptrdiff_t)jr, ldc, rows, columns, base,
                     row_bias ? row_bias + ir : NULL, col_bias ? col_bias + jr : NULL);
        }
    }
}

int onyx_sgemm_reads_b_in_place(const onyx_sgemm_problem *p) {
    return select_wide_kernel(p->kernel) && !p->packed_b && p->b_col_stride == 1 && p->k > 0 && p->n > 4 &&
           (p->m <= 512 || p->n <= 512);
}

int onyx_sgemm_range(const onyx_sgemm_problem *p, size_t m0, size_t m1, size_t n0, size_t n1) {
    if (m0 % MR != 0 || n0 % NR != 0) return -1;
    m1 = min_size(m1, p->m);
    n1 = min_size(n1, p->n);
    if (m0 >= m1 || n0 >= n1) return 0;
    const size_t k = p->k;
    const size_t kb = k_block(k);
    const size_t m_padded = round_up(p->m, MR);
    const size_t n_padded = round_up(p->n, NR);
    onyx_microkernel kernel = select_kernel(p->kernel);
    onyx_wide_microkernel wide = select_wide_kernel(p->kernel);

    /* At most 4 columns, B not packed: the narrow kernel reads B in place. */
    int direct = 0;
#if defined(__x86_64__)
    direct = kernel == onyx_kernel_6x16_avx2 && p->n <= 4 && !p->packed_b && k > 0;
#endif
    /* With the AVX-512 kernels (all masked at B's right edge), a row-major B
     * is read in place instead of packed: its rows serve as panel rows. That
     * saves the packing pass, which matters most when few row blocks share
     * each B panel; with many rows and columns (2048 squares) packing wins
     * (measured with onyx-kernel-bench). Same bits either way. */
    int in_place = !direct && onyx_sgemm_reads_b_in_place(p);
    size_t a_floats = p->packed_a ? 0 : round_up(ONYX_MC, MR) * kb;
    size_t b_floats = p->packed_b || direct || in_place ? 0 : round_up(min_size(ONYX_NC, n1 - n0), NR) * kb;
    float *buffer = NULL;
    workspace held = {NULL, 0};
    if (a_floats + b_floats > 0) {
        held = workspace_acquire(a_floats + b_floats);
        buffer = held.data;
        if (!buffer) return -2;
    }
    float *a_buffer = buffer;
    float *b_buffer = buffer ? buffer + a_floats : NULL;

    const float *row_bias = p->bias_kind == ONYX_BIAS_ROW ? p->bias : NULL;
    const float *col_bias = p->bias_kind == ONYX_BIAS_COLUMN ? p->bias : NULL;
    onyx_tile_epilogue e = {
        .alpha = p->alpha, .beta = p->beta, .activation = p->activation,
        .clip_min = p->clip_min, .clip_max = p->clip_max,
        .residual = p->residual != NULL,
        .residual_delta = p->residual ? (ptrdiff_t)((uintptr_t)p->residual - (uintptr_t)p->c) : 0,
    };

#if defined(__x86_64__)
    if (direct) {
        for (size_t ic = m0; ic < m1; ic += ONYX_MC) {
            size_t mc = min_size(ONYX_MC, m1 - ic);
            for (size_t pc = 0; pc < k; pc += kb) {
                size_t kc = min_size(kb, k - pc);
                e.first = pc == 0;
                e.last = pc + kc >= k;
                const float *ap;
                if (p->packed_a) {
                    ap = p->packed_a + pc * m_padded + ic * kc;
                } else {
                    pack_a_block(p->a, p->a_row_stride, p->a_col_stride, ic, mc, pc, kc, a_buffer);
                    ap = a_buffer;
                }
                e.col_bias = e.last && col_bias ? col_bias + n0 : NULL;
                const float *bj = p->b + (ptrdiff_t)pc * p->b_row_stride + (ptrdiff_t)n0 * p->b_col_stride;
                size_t step = onyx_narrow_rows(n1 - n0);
                for (size_t i = 0; i < mc; i += step) {
                    e.row_bias = e.last && row_bias ? row_bias + ic + i : NULL;
                    onyx_kernel_narrow_avx2(kc, ap + i * kc, min_size(step, mc - i), bj, p->b_row_stride, p->b_col_stride,
                                            n1 - n0, p->c + (ptrdiff_t)(ic + i) * p->ldc + (ptrdiff_t)n0, p->ldc, &e);
                }
            }
        }
        workspace_release(held);
        return 0;
    }
#endif
    for (size_t jc = n0; jc < n1; jc += ONYX_NC) {
        size_t nc = min_size(ONYX_NC, n1 - jc);
        size_t pc = 0;
        do {
            size_t kc = min_size(kb, k - pc);
            e.first = pc == 0;
            e.last = pc + kc >= k;
            const float *bp;
            b_layout bl = {kc, NR};
            if (in_place) {
                bp = p->b + (ptrdiff_t)pc * p->b_row_stride + (ptrdiff_t)jc;
                bl.panel_step = 1;
                bl.b_stride = p->b_row_stride;
            } else if (p->packed_b) {
                bp = p->packed_b + pc * n_padded + jc * kc;
            } else {
                if (kc > 0) pack_b_block(p->b, p->b_row_stride, p->b_col_stride, pc, kc, jc, nc, b_buffer);
                bp = b_buffer;
            }
            for (size_t ic = m0; ic < m1; ic += ONYX_MC) {
                size_t mc = min_size(ONYX_MC, m1 - ic);
                const float *ap;
                if (p->packed_a) {
                    ap = p->packed_a + pc * m_padded + ic * kc;
                } else {
                    if (kc > 0) pack_a_block(p->a, p->a_row_stride, p->a_col_stride, ic, mc, pc, kc, a_buffer);
                    ap = a_buffer;
                }
                run_block(kernel, wide, kc, ap, bp, bl, p->c + (ptrdiff_t)ic * p->ldc + (ptrdiff_t)jc, p->ldc, mc,
                          nc, &e, row_bias ? row_bias + ic : NULL, col_bias ? col_bias + jc : NULL);
            }
            pc += kc;
        } while (pc < k);
    }
    workspace_release(held);
    return 0;
}

int onyx_sgemm(const onyx_sgemm_problem *problem) {
    return onyx_sgemm_range(problem, 0, problem->m, 0, problem->n);
}
