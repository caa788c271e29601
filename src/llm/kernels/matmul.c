/* matmul.c -- run-time kernel choice and the threaded matrix products.
 *
 * k_matmul() computes up to a few products W_m x_j that share their input
 * vectors (Q, K and V; gate and up) in ONE parallel section, so a decoding
 * step costs few thread hand-offs. Threads take chunks of rows from a
 * shared counter (a noisy machine makes equal static shares finish at
 * different times). Within a chunk the weight rows stay in L1 while every
 * input vector passes over them: the weights are read from memory once per
 * call whatever the number of vectors -- prefill and batched decoding both
 * rely on that. */
#include "llm/kernels/simd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "llm/quant.h"

/* ---- instruction set -------------------------------------------------- */

static atomic_int g_isa = -1;

int k_isa_supported(void) {
#if K_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    /* F16C has no __builtin_cpu_supports name in older compilers; every
     * CPU with AVX2 and FMA (Haswell, Zen and later) has it. */
    if (!avx2) return K_ISA_SCALAR;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return K_ISA_AVX512;
    return K_ISA_AVX2;
#else
    return K_ISA_SCALAR;
#endif
}

int k_set_isa(int isa) {
    int sup = k_isa_supported();
    if (isa < K_ISA_SCALAR) isa = K_ISA_SCALAR;
    if (isa > sup) isa = sup;
    atomic_store(&g_isa, isa);
    return isa;
}

int k_isa(void) {
    int v = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (v >= 0) return v;
    v = k_isa_supported();
    const char *e = getenv("COPYD_LLM_ISA");
    if (e && strcmp(e, "scalar") == 0) v = K_ISA_SCALAR;
    else if (e && strcmp(e, "avx2") == 0 && v > K_ISA_AVX2) v = K_ISA_AVX2;
    atomic_store(&g_isa, v);
    return v;
}

int k_act_q8_0(ggml_type_t type) { return type == GGML_TYPE_Q8_0 || type == GGML_TYPE_Q4_0; }

k_dot_fn k_dot_kernel(ggml_type_t type, int isa) {
    if (isa > k_isa_supported()) return NULL;
    switch (type) {
    case GGML_TYPE_F32:
#if K_X86
        if (isa >= K_ISA_AVX2) return k_dot_f32_avx2;
#endif
        return k_dot_f32_ref;
    case GGML_TYPE_F16:
#if K_X86
        if (isa >= K_ISA_AVX2) return k_dot_f16_avx2;
#endif
        return k_dot_f16_ref;
    case GGML_TYPE_BF16:
#if K_X86
        if (isa >= K_ISA_AVX2) return k_dot_bf16_avx2;
#endif
        return k_dot_bf16_ref;
    case GGML_TYPE_Q8_0:
#if K_X86
        if (isa >= K_ISA_AVX512) return k_dot_q8_0_avx512;
        if (isa >= K_ISA_AVX2) return k_dot_q8_0_avx2;
#endif
        return k_dot_q8_0_ref;
    case GGML_TYPE_Q4_0:
#if K_X86
        if (isa >= K_ISA_AVX512) return k_dot_q4_0_avx512;
        if (isa >= K_ISA_AVX2) return k_dot_q4_0_avx2;
#endif
        return k_dot_q4_0_ref;
    case GGML_TYPE_Q4_K:
#if K_X86
        if (isa >= K_ISA_AVX2) return k_dot_q4_K_avx2;
#endif
        return k_dot_q4_K_ref;
    case GGML_TYPE_Q6_K:
#if K_X86
        if (isa >= K_ISA_AVX2) return k_dot_q6_K_avx2;
#endif
        return k_dot_q6_K_ref;
    default:
        return NULL;
    }
}

/* ---- matrix products -------------------------------------------------- */

#define K_MAX_MATS 4
#define K_TILE_ROWS 16 /* rows of a chunk, at least: ~15 KiB of Q8_0 at 896 columns */
#define K_TILE_VECS 8  /* input vectors that pass over a chunk together */

typedef struct mm_ctx {
    const k_mat_t *mats;
    int n_mat, cols, ldx, n, exact;
    const float *x;
    const unsigned char *xq; /* n rows of Q8_0 activations, xq_stride bytes apart */
    size_t xq_stride;
    const unsigned char *xk; /* n rows of Q8_K activations, xk_stride bytes apart */
    size_t xk_stride;
    k_dot_fn dot[K_MAX_MATS]; /* NULL: dequantise the row, then f32 dots */
    int multi[K_MAX_MATS];    /* 1: k_qmm_avx512 on xp; 2: k_fmm_avx512; 3: k_kmm_avx512 on xk; 4: k_qmm_avx2 on xq */
    const unsigned char *xp;  /* n packed vectors (k_xpack), xp_stride apart */
    size_t xp_stride;
    uint64_t rb[K_MAX_MATS];  /* bytes per weight row */
    int first[K_MAX_MATS + 1];/* flattened row index where mat m starts */
    float *rowbufs;           /* one dequantised row per thread */
    int max_threads;
    int tile;           /* rows a thread takes at a time, at least (a multiple of K_TILE_ROWS) */
    int guided;         /* 1: chunks of 1/(2 max_threads) of the rows left, down to tile */
    atomic_int next;
    atomic_int failed;
} mm_ctx_t;

static void mm_rows(mm_ctx_t *c, int m, int r0, int r1, float *buf) {
    const k_mat_t *M = &c->mats[m];
    const unsigned char *wb = M->w;
    const int cols = c->cols, n = c->n;
#if K_X86
    if (c->multi[m] == 1) {
        k_qmm_avx512(M->type, M->w, c->rb[m], r0, r1, cols, c->xp, c->xp_stride, n, M->y, M->ldy);
        return;
    }
    if (c->multi[m] == 2) {
        k_fmm_avx512(M->type, M->w, c->rb[m], r0, r1, cols, c->x, c->ldx, n, M->y, M->ldy);
        return;
    }
    if (c->multi[m] == 3) {
        k_kmm_avx512(M->type, M->w, c->rb[m], r0, r1, cols, c->xk, c->xk_stride, n, M->y, M->ldy);
        return;
    }
    if (c->multi[m] == 4) {
        k_qmm_avx2(M->type, M->w, c->rb[m], r0, r1, cols, c->xq, c->xq_stride, n, M->y, M->ldy);
        return;
    }
#endif
    if (c->exact || !c->dot[m]) {
        for (int r = r0; r < r1; r++) {
            const float *row;
            if (M->type == GGML_TYPE_F32) {
                row = (const float *)M->w + (size_t)r * cols;
            } else {
                if (dequantize_row(M->type, wb + (size_t)r * c->rb[m], buf, cols) != 0) {
                    atomic_store(&c->failed, 1);
                    return;
                }
                row = buf;
            }
            for (int j = 0; j < n; j++)
                M->y[(size_t)j * M->ldy + r] = c->exact ? k_dot(row, c->x + (size_t)j * c->ldx, cols)
                                                        : k_dot_fast(row, c->x + (size_t)j * c->ldx, cols);
        }
        return;
    }
    const k_dot_fn dot = c->dot[m];
    const int q8 = k_act_q8_0(M->type), qk = k_act_q8_K(M->type);
    for (int j0 = 0; j0 < n; j0 += K_TILE_VECS) {
        const int j1 = j0 + K_TILE_VECS < n ? j0 + K_TILE_VECS : n;
        for (int r = r0; r < r1; r++) {
            const void *row = wb + (size_t)r * c->rb[m];
            for (int j = j0; j < j1; j++) {
                const void *xj = q8   ? (const void *)(c->xq + (size_t)j * c->xq_stride)
                                 : qk ? (const void *)(c->xk + (size_t)j * c->xk_stride)
                                      : (const void *)(c->x + (size_t)j * c->ldx);
                M->y[(size_t)j * M->ldy + r] = dot(row, xj, cols);
            }
        }
    }
}

static void mm_task(void *arg, int ith, int nth) {
    (void)nth;
    mm_ctx_t *c = arg;
    float *buf = c->rowbufs ? c->rowbufs + (size_t)ith * c->cols : NULL;
    const int total = c->first[c->n_mat];
    for (;;) {
        int g0, g1;
        if (c->guided) {
            g0 = atomic_load_explicit(&c->next, memory_order_relaxed);
            do {
                if (g0 >= total) return;
                int size = (total - g0) / (2 * c->max_threads);
                size = size <= c->tile ? c->tile : (size + K_TILE_ROWS - 1) / K_TILE_ROWS * K_TILE_ROWS;
                g1 = g0 + size < total ? g0 + size : total;
            } while (!atomic_compare_exchange_weak_explicit(&c->next, &g0, g1, memory_order_relaxed,
                                                            memory_order_relaxed));
        } else {
            g0 = atomic_fetch_add_explicit(&c->next, c->tile, memory_order_relaxed);
            if (g0 >= total) break;
            g1 = g0 + c->tile < total ? g0 + c->tile : total;
        }
        /* a chunk may straddle two matrices */
        for (int m = 0; m < c->n_mat && g0 < g1; m++) {
            if (g0 >= c->first[m + 1]) continue;
            int e = g1 < c->first[m + 1] ? g1 : c->first[m + 1];
            mm_rows(c, m, g0 - c->first[m], e - c->first[m], buf);
            g0 = e;
        }
    }
}

int k_matmul(const k_mat_t *mats, int n_mat, int cols, const float *x, int ldx, int n, int exact) {
    if (!mats || n_mat < 1 || n_mat > K_MAX_MATS || cols < 1 || n < 1 || !x) return -1;
    mm_ctx_t c;
    memset(&c, 0, sizeof c);
    c.mats = mats;
    c.n_mat = n_mat;
    c.cols = cols;
    c.x = x;
    c.ldx = ldx;
    c.n = n;
    c.exact = exact;
    const int isa = k_isa();
    int need_q8 = 0, need_qk = 0, need_pack = 0, need_rowbuf = 0;
    for (int m = 0; m < n_mat; m++) {
        if (!mats[m].w || !mats[m].y || mats[m].rows < 0) return -1;
        c.rb[m] = ggml_row_bytes(mats[m].type, (uint64_t)cols);
        if (c.rb[m] == 0) return -1;
        if (mats[m].type != GGML_TYPE_F32) {
            const ggml_type_traits_t *tr = ggml_type_traits(mats[m].type);
            if (!tr || !tr->can_dequantize) return -1;
        }
        c.first[m + 1] = c.first[m] + mats[m].rows;
        if (!exact) {
            c.dot[m] = k_dot_kernel(mats[m].type, isa);
            /* AVX-512: the multi-vector kernels, for one vector too, so a
             * sequence decoded alone or in a batch gets the same numbers */
            if (isa >= K_ISA_AVX512 && k_act_q8_0(mats[m].type) && cols % QK8_0 == 0) {
                c.multi[m] = 1;
                need_pack = 1;
            } else if (isa >= K_ISA_AVX512 && (mats[m].type == GGML_TYPE_F16 || mats[m].type == GGML_TYPE_BF16)) {
                c.multi[m] = 2;
            } else if (isa >= K_ISA_AVX512 && k_act_q8_K(mats[m].type) && cols % QK_K == 0) {
                c.multi[m] = 3;
                need_qk = 1;
            } else if (isa == K_ISA_AVX2 && k_act_q8_0(mats[m].type) && cols % QK8_0 == 0) {
                c.multi[m] = 4; /* AVX2 only: one row, up to 4 vectors at a time */
                need_q8 = 1;
            } else if (c.dot[m] && k_act_q8_0(mats[m].type)) {
                need_q8 = 1;
            } else if (c.dot[m] && k_act_q8_K(mats[m].type)) {
                need_qk = 1;
            }
        }
        if ((exact || (!c.dot[m] && !c.multi[m])) && mats[m].type != GGML_TYPE_F32) need_rowbuf = 1;
    }
    int nth = k_threads();
    c.max_threads = nth > 0 ? nth : 1;
    unsigned char *xq = NULL;
    if (need_q8) {
        c.xq_stride = (size_t)(cols / QK8_0) * sizeof(block_q8_0);
        xq = malloc(c.xq_stride * (size_t)n);
        if (!xq) return -1;
        for (int j = 0; j < n; j++) k_quantize_q8_0(xq + (size_t)j * c.xq_stride, x + (size_t)j * ldx, cols);
        c.xq = xq;
    }
    unsigned char *xk = NULL;
    if (need_qk) {
        c.xk_stride = (size_t)(cols / QK_K) * sizeof(block_q8_K);
        xk = malloc(c.xk_stride * (size_t)n);
        if (!xk) {
            free(xq);
            return -1;
        }
        for (int j = 0; j < n; j++) k_quantize_q8_K(xk + (size_t)j * c.xk_stride, x + (size_t)j * ldx, cols);
        c.xk = xk;
    }
    unsigned char *xp = NULL;
#if K_X86
    if (need_pack) {
        c.xp_stride = (k_xpack_bytes(cols) + 63) & ~(size_t)63;
        xp = aligned_alloc(64, c.xp_stride * (size_t)n);
        if (!xp) {
            free(xq);
            free(xk);
            return -1;
        }
        for (int j = 0; j < n; j++) k_xpack_avx512(xp + (size_t)j * c.xp_stride, x + (size_t)j * ldx, cols);
        c.xp = xp;
    }
#else
    (void)need_pack;
#endif
    /* one dequantised row per thread, only for the paths that need it */
    c.rowbufs = need_rowbuf ? malloc((size_t)nth * (size_t)cols * sizeof(float)) : NULL;
    if (need_rowbuf && !c.rowbufs) {
        free(xq);
        free(xk);
        free(xp);
        return -1;
    }
    /* One shared counter hands out the chunks. When all vectors pass over
     * a chunk at once (decoding), chunks are "guided": each is 1/(2 nth)
     * of the rows still left, down to 16. The weights stream from memory,
     * and a kernel's prefetches only run ahead within the rows it was
     * given, so every chunk starts cold: 32 equal chunks per thread left
     * ~40% of the gate/up rows unprefetched and made 4-sequence decoding
     * 20% slower. Big first chunks keep that to a few cold starts, and
     * the small last ones still even out threads slowed by a noisy
     * machine (and fixed chunks of 16 rows cost ~9500 contended atomic
     * adds on a 151936-row output matrix). With more vectors (prefill)
     * the rows of a chunk must stay in L1 while later passes of vectors
     * go over them: 16 rows at a time. */
    c.tile = K_TILE_ROWS;
    c.guided = n <= K_TILE_VECS;
    atomic_init(&c.next, 0);
    atomic_init(&c.failed, 0);
    k_parallel(mm_task, &c, nth);
    free(c.rowbufs);
    free(xq);
    free(xk);
    free(xp);
    return atomic_load(&c.failed) ? -1 : 0;
}
