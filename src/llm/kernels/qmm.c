/* qmm.c -- AVX-512 matrix products over several activation vectors at once
 * (prefill, batched decoding), for Q8_0, Q4_0 and F16 weights.
 *
 * A micro-kernel takes NR weight rows and NV activation vectors (NR x NV
 * <= 16 independent accumulators): each weight block is loaded and
 * unpacked once, then multiplied with every vector. Two 32-element blocks
 * fill one 512-bit register, the first in the low half, the second in the
 * high half. On the first pass over a range of rows (later passes, for
 * more vectors, find them in cache) the kernels prefetch the weights a few
 * KiB ahead: the hardware prefetcher alone left batched decoding waiting
 * on DRAM.
 *
 * The integer types need one VNNI instruction (vpdpbusd: unsigned bytes
 * times signed bytes, four products summed into each int32 lane, added to
 * the accumulator operand) per block pair and vector. The activations are
 * packed once per product (k_xpack) in the shape the kernel wants: signed
 * bytes, the block scales already widened to floats and broadcast to the
 * 16 lanes of the pair, and the "offset" terms:
 *   Q8_0: weights w are signed; (w + 128) is unsigned, and
 *         sum (w + 128) x = sum w x + 128 sum x, so the accumulator starts
 *         at -128 * sum x (per lane) and vpdpbusd leaves sum w x exactly;
 *   Q4_0: nibbles q are unsigned 0..15 and the value is q - 8, so the
 *         accumulator starts at -8 * sum x.
 * Block results are then scaled and summed in f32 exactly as for one
 * vector: the result for a (row, vector) pair does not depend on how many
 * other rows or vectors share the micro-kernel, so batched and
 * single-sequence decoding give bit-identical numbers. */
#include "llm/kernels/simd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>

#define AI __attribute__((always_inline)) static inline

/* How far ahead of its reads a micro-kernel prefetches weights, in bytes.
 * Short rows: whole rows ahead (the next micro-kernels' rows, at least 8
 * rows and about 32 KiB away); long rows: 8 KiB further along each row
 * being read. On a 2-core Zen 4 VM 6, 12 and 24 KiB measured the same; on
 * a 2-core Xeon VM (about 18 GB/s) 32 KiB made decoding 12% (Q8_0) to 16%
 * (Q4_0) faster than 6 KiB, alone and in batches (bench/llm.sh). */
#ifndef K_PF_BYTES
#define K_PF_BYTES 32768
#endif
#ifndef K_PF_LONG
#define K_PF_LONG 8192
#endif
/* COPYD_LLM_PREFETCH=BYTES overrides K_PF_BYTES at run time (long rows get a
 * quarter of it), for tuning on a new machine without a rebuild. Read once;
 * threads racing on the first read all store the same value. */
static size_t pf_bytes(int long_rows) {
    static _Atomic size_t cached; /* 0: not read yet */
    size_t bytes = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!bytes) {
        const char *e = getenv("COPYD_LLM_PREFETCH");
        long v = e ? strtol(e, NULL, 10) : 0;
        bytes = v >= 256 && v <= (1L << 24) ? (size_t)v : K_PF_BYTES;
        atomic_store_explicit(&cached, bytes, memory_order_relaxed);
    }
    if (!long_rows) return bytes;
    return bytes == K_PF_BYTES ? K_PF_LONG : bytes / 4;
}

static size_t pf_distance(size_t rb) {
    if (rb >= 2048) return pf_bytes(1);
    size_t rows = (pf_bytes(0) + rb - 1) / rb;
    return (rows < 8 ? 8 : rows) * rb;
}

/* Offsets inside one packed vector of np pairs. */
#define XP_QS(np) 0
#define XP_DX(np) ((size_t)(np) * 64)
#define XP_I8(np) ((size_t)(np) * 128)
#define XP_I4(np) ((size_t)(np) * 192)

size_t k_xpack_bytes(int cols) { return (size_t)((cols / QK8_0 + 1) / 2) * 256; }

K_AVX512 void k_xpack_avx512(void *dst, const float *x, int cols) {
    const int nb = cols / QK8_0, np = (nb + 1) / 2;
    unsigned char *base = dst;
    int8_t *qs = (int8_t *)(base + XP_QS(np));
    float *dx = (float *)(base + XP_DX(np));
    int32_t *i8 = (int32_t *)(base + XP_I8(np));
    int32_t *i4 = (int32_t *)(base + XP_I4(np));
    const __m512i ones = _mm512_set1_epi8(1);
    for (int p = 0; p < np; p++) {
        block_q8_0 b[2];
        memset(b, 0, sizeof b);
        const int nbp = 2 * p + 1 < nb ? 2 : 1;
        k_quantize_q8_0(b, x + (size_t)p * 2 * QK8_0, nbp * QK8_0);
        memcpy(qs + (size_t)p * 64, b[0].qs, 32);
        memcpy(qs + (size_t)p * 64 + 32, b[1].qs, 32);
        const float d0 = fp16_to_fp32(b[0].d), d1 = fp16_to_fp32(b[1].d);
        for (int k = 0; k < 8; k++) {
            dx[p * 16 + k] = d0;
            dx[p * 16 + 8 + k] = d1;
        }
        __m512i v = _mm512_loadu_si512(qs + (size_t)p * 64);
        __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, v); /* sum x per lane */
        _mm512_storeu_si512(i8 + p * 16, _mm512_mullo_epi32(s, _mm512_set1_epi32(-128)));
        _mm512_storeu_si512(i4 + p * 16, _mm512_mullo_epi32(s, _mm512_set1_epi32(-8)));
    }
}

/* One pair of weight blocks, ready for vpdpbusd (unsigned operand), and its
 * two scales in the two halves. `two` = 0: only the first block exists. */
AI K_AVX512 __m512 pair_scales(ggml_half d0, ggml_half d1) {
    __m256i h = _mm256_set_m128i(_mm_set1_epi16((short)d1), _mm_set1_epi16((short)d0));
    return _mm512_cvtph_ps(h);
}

AI K_AVX512 __m512i w_q8(const block_q8_0 *a, int two) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)a[0].qs);
    __m256i hi = two ? _mm256_loadu_si256((const __m256i *)a[1].qs) : _mm256_setzero_si256();
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
}

AI K_AVX512 __m512i w_q4(const block_q4_0 *a, int two) {
    __m128i t0 = _mm_loadu_si128((const __m128i *)a[0].qs);
    __m128i t1 = two ? _mm_loadu_si128((const __m128i *)a[1].qs) : _mm_setzero_si128();
    __m256i t = _mm256_set_m128i(t1, t0);
    const __m256i m = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(t, m), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), m);
    /* [lo(t0) hi(t0) lo(t1) hi(t1)]: each block's elements in order */
    const __m512i idx = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    return _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo), idx, _mm512_castsi256_si512(hi));
}

/* NR rows (rb bytes apart) x NV packed vectors (xs bytes apart); writes
 * y[j * ldy + r]. Q4 selects the weight type. The body of a block pair is
 * a macro, not a function, so the accumulators stay in registers; TWO = 0
 * for a last, lone block (the second half then stays zero, reading
 * nothing). Prefetches past the matrix end do not fault. */
#define Q_PAIR(P, TWO)                                                                                      \
    do {                                                                                                    \
        const int p_ = (P);                                                                                 \
        __m512i wv[4];                                                                                      \
        __m512 dw[4];                                                                                       \
        const size_t pb = (size_t)p_ * (Q4 ? 2 * sizeof(block_q4_0) : 2 * sizeof(block_q8_0));             \
        if (pf)                                                                                             \
            for (int r = 0; r < NR; r++) _mm_prefetch((const char *)(w + (size_t)r * rb + pb + pf), _MM_HINT_T0); \
        for (int r = 0; r < NR; r++) {                                                                      \
            if (Q4) {                                                                                       \
                const block_q4_0 *a = (const block_q4_0 *)(w + (size_t)r * rb) + 2 * p_;                    \
                wv[r] = w_q4(a, TWO);                                                                       \
                dw[r] = pair_scales(a[0].d, TWO ? a[1].d : 0);                                              \
            } else {                                                                                        \
                const block_q8_0 *a = (const block_q8_0 *)(w + (size_t)r * rb) + 2 * p_;                    \
                wv[r] = w_q8(a, TWO);                                                                       \
                dw[r] = pair_scales(a[0].d, TWO ? a[1].d : 0);                                              \
            }                                                                                               \
        }                                                                                                   \
        for (int j = 0; j < NV; j++) {                                                                      \
            const unsigned char *xj = xp + (size_t)j * xs;                                                  \
            const __m512i xq = _mm512_loadu_si512(xj + XP_QS(np) + (size_t)p_ * 64);                        \
            const __m512 dx = _mm512_loadu_ps((const float *)(xj + XP_DX(np)) + p_ * 16);                   \
            const __m512i init = _mm512_loadu_si512((const int32_t *)(xj + (Q4 ? XP_I4(np) : XP_I8(np))) + p_ * 16); \
            for (int r = 0; r < NR; r++) {                                                                  \
                __m512i s = _mm512_dpbusd_epi32(init, wv[r], xq);                                           \
                acc[r][j] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], dx), _mm512_cvtepi32_ps(s), acc[r][j]);    \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

AI K_AVX512 void mk_q(const unsigned char *w, size_t rb, const unsigned char *xp, size_t xs, int nb,
                      float *y, int ldy, size_t pf, const int NR, const int NV, const int Q4) {
    const int np = (nb + 1) / 2;
    __m512 acc[4][8];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
    for (int p = 0; p < nb / 2; p++) Q_PAIR(p, 1);
    if (nb & 1) Q_PAIR(nb / 2, 0);
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) y[(size_t)j * ldy + r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* F16 rows times f32 vectors (ldx floats apart), 16 elements at a time;
 * the last partial group is loaded under a mask. */
AI K_AVX512 void mk_f16(const unsigned char *w, size_t rb, const float *x, int ldx, int cols, float *y,
                        int ldy, size_t pf, const int NR, const int NV) {
    __m512 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m512 wv[4];
        if (pf && (k & 31) == 0)
            for (int r = 0; r < NR; r++)
                _mm_prefetch((const char *)(w + (size_t)r * rb + (size_t)k * 2 + pf), _MM_HINT_T0);
        for (int r = 0; r < NR; r++)
            wv[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)(w + (size_t)r * rb) + k)));
        for (int j = 0; j < NV; j++) {
            const __m512 xv = _mm512_loadu_ps(x + (size_t)j * ldx + k);
            for (int r = 0; r < NR; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    if (k < cols) {
        const __mmask16 m = (__mmask16)((1u << (cols - k)) - 1);
        __m512 wv[4];
        for (int r = 0; r < NR; r++)
            wv[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)(w + (size_t)r * rb) + k));
        for (int j = 0; j < NV; j++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)j * ldx + k);
            for (int r = 0; r < NR; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) y[(size_t)j * ldy + r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* Shapes. Q8_0/Q4_0: up to 4 vectors (decoding), 4 rows x those vectors
 * (four independent sums hide the FMA latency for one vector; for more,
 * each vector's loads are shared by 4 rows); 5 to 8 vectors (prefill), 2
 * rows x 8 (the weight unpacking, shared by the vectors, is the costly
 * part). F16: 4 rows x up to 4 vectors (its x loads are shared by the rows). Each shape is a
 * separate instance so the compiler keeps the accumulators in registers. */
#define Q_ARGS const unsigned char *w, size_t rb, const unsigned char *xp, size_t xs, int nb, float *y, int ldy, size_t pf
#define Q_CALL(NR, NV, Q4) mk_q(w, rb, xp, xs, nb, y, ldy, pf, NR, NV, Q4)
#define Q_SHAPES(NAME, Q4)                                                                           \
    K_AVX512 static void NAME##_4xv(Q_ARGS, int nv) {                                              \
        switch (nv) {                                                                              \
        case 1: Q_CALL(4, 1, Q4); break;                                                           \
        case 2: Q_CALL(4, 2, Q4); break;                                                           \
        case 3: Q_CALL(4, 3, Q4); break;                                                           \
        default: Q_CALL(4, 4, Q4); break;                                                          \
        }                                                                                          \
    }                                                                                              \
    K_AVX512 static void NAME##_2xv(Q_ARGS, int nv) {                                              \
        switch (nv) {                                                                              \
        case 1: Q_CALL(2, 1, Q4); break;                                                           \
        case 2: Q_CALL(2, 2, Q4); break;                                                           \
        case 3: Q_CALL(2, 3, Q4); break;                                                           \
        case 4: Q_CALL(2, 4, Q4); break;                                                           \
        case 5: Q_CALL(2, 5, Q4); break;                                                           \
        case 6: Q_CALL(2, 6, Q4); break;                                                           \
        case 7: Q_CALL(2, 7, Q4); break;                                                           \
        default: Q_CALL(2, 8, Q4); break;                                                          \
        }                                                                                          \
    }                                                                                              \
    K_AVX512 static void NAME##_1xv(Q_ARGS, int nv) {                                              \
        switch (nv) {                                                                              \
        case 1: Q_CALL(1, 1, Q4); break;                                                           \
        case 2: Q_CALL(1, 2, Q4); break;                                                           \
        case 3: Q_CALL(1, 3, Q4); break;                                                           \
        case 4: Q_CALL(1, 4, Q4); break;                                                           \
        case 5: Q_CALL(1, 5, Q4); break;                                                           \
        case 6: Q_CALL(1, 6, Q4); break;                                                           \
        case 7: Q_CALL(1, 7, Q4); break;                                                           \
        default: Q_CALL(1, 8, Q4); break;                                                          \
        }                                                                                          \
    }

Q_SHAPES(q8, 0)
Q_SHAPES(q4, 1)

K_AVX512 void k_qmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xp,
                           size_t xs, int n, float *y, int ldy) {
    const unsigned char *wb = w;
    const unsigned char *xb = xp;
    const int nb = cols / QK8_0, q4 = type == GGML_TYPE_Q4_0;
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int nv = n - j0 < 8 ? n - j0 : 8;
        const size_t pf = j0 == 0 ? pf_distance(rb) : 0; /* later passes find the rows in cache */
        const unsigned char *xj = xb + (size_t)j0 * xs;
        float *yj = y + (size_t)j0 * ldy;
        int r = r0;
        if (nv <= 4)
            for (; r + 4 <= r1; r += 4)
                (q4 ? q4_4xv : q8_4xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
        for (; r + 2 <= r1; r += 2)
            (q4 ? q4_2xv : q8_2xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
        for (; r < r1; r++) (q4 ? q4_1xv : q8_1xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
    }
}

#define F_ARGS const unsigned char *w, size_t rb, const float *x, int ldx, int cols, float *y, int ldy, size_t pf
#define F_CALL(NR, NV) mk_f16(w, rb, x, ldx, cols, y, ldy, pf, NR, NV)
#define F_SHAPE(NR)                                                                                \
    K_AVX512 static void f16_##NR##xv(F_ARGS, int nv) {                                            \
        switch (nv) {                                                                              \
        case 1: F_CALL(NR, 1); break;                                                              \
        case 2: F_CALL(NR, 2); break;                                                              \
        case 3: F_CALL(NR, 3); break;                                                              \
        default: F_CALL(NR, 4); break;                                                             \
        }                                                                                          \
    }
F_SHAPE(4)
F_SHAPE(2)
F_SHAPE(1)

K_AVX512 void k_fmm_f16_avx512(const void *w, size_t rb, int r0, int r1, int cols, const float *x, int ldx, int n,
                               float *y, int ldy) {
    const unsigned char *wb = w;
    for (int j0 = 0; j0 < n; j0 += 4) {
        const int nv = n - j0 < 4 ? n - j0 : 4;
        const size_t pf = j0 == 0 ? pf_distance(rb) : 0;
        const float *xj = x + (size_t)j0 * ldx;
        float *yj = y + (size_t)j0 * ldy;
        int r = r0;
        for (; r + 4 <= r1; r += 4) f16_4xv(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
        for (; r + 2 <= r1; r += 2) f16_2xv(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
        for (; r < r1; r++) f16_1xv(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
    }
}

#else
size_t k_xpack_bytes(int cols) { return (size_t)((cols / QK8_0 + 1) / 2) * 256; }
#endif
