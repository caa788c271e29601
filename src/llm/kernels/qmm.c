/* qmm.c -- AVX-512 matrix products over several activation vectors at once
 * (prefill, batched decoding), for Q8_0, Q4_0, F16 and BF16 weights.
 *
 * A micro-kernel takes NR weight rows and NV activation vectors (NR x NV
 * <= 16 independent accumulators): each weight block is loaded and
 * unpacked once, then multiplied with every vector. Integer types step
 * over four blocks at a time (see "four blocks per step" below), F16 and
 * BF16 over 16 elements. On the first pass over a range of rows (later passes, for
 * more vectors, find them in cache) the kernels prefetch the weights a few
 * KiB ahead: the hardware prefetcher alone left batched decoding waiting
 * on DRAM.
 *
 * The integer types need one VNNI instruction (vpdpbusd: unsigned bytes
 * times signed bytes, four products summed into each int32 lane, added to
 * the accumulator operand) per block half and vector. The activations are
 * packed once per product (k_xpack) in the shape the kernel wants: signed
 * bytes, the block scales already widened to floats and broadcast to the
 * lanes of their block, and the "offset" terms:
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
 * Rows under 8 KiB: whole rows ahead (the next micro-kernels' rows, at
 * least 8 rows and about 32 KiB away); longer rows: 8 KiB further along
 * each row being read. On a 2-core Zen 4 VM 6, 12 and 24 KiB measured the
 * same; on a 2-core Xeon VM (about 18 GB/s) 32 KiB made decoding 12% (Q8_0)
 * to 16% (Q4_0) faster than 6 KiB, alone and in batches (bench/llm.sh).
 * The 8 KiB limit was 2 KiB: then the Q4_0 down projection of the 0.5B
 * shape (2736-byte rows) prefetched only three rows ahead, and took 15%
 * longer in 4-sequence decoding on a Zen 5 VM. */
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

size_t k_pf_distance(size_t rb) {
    if (rb >= 8192) return pf_bytes(1);
    size_t rows = (pf_bytes(0) + rb - 1) / rb;
    return (rows < 8 ? 8 : rows) * rb;
}

/* ---- Q8_0 / Q4_0: four blocks per step ---------------------------------
 *
 * A step takes a "quad" of four consecutive 32-element blocks. Its 128
 * weights go into two registers, A and B, of four 128-bit lanes each:
 * lane k of A holds elements 0..15 of block k, lane k of B elements
 * 16..31. Two vpdpbusd (A with the activations laid out the same way,
 * then B) add into one accumulator, so each of its 16 int32 lanes sums 8
 * products of a single block: lanes 4k..4k+3 belong to block k. The f32
 * work (convert, scale, add) then runs once per four blocks instead of
 * once per two: per weight row and vector a quad costs 2 vpdpbusd, a
 * multiply, a convert and an FMA, which is what makes batched decoding of
 * Q4_0 (unpacking is cheap, the arithmetic is what counts) pay.
 *
 * The Q4_0 layout fits this shape as it is: a block's 16 bytes hold
 * elements 0..15 in their low nibbles and 16..31 in their high ones, so
 * A = bytes & 15 and B = bytes >> 4 once the four blocks' bytes sit in
 * the four lanes. Every Q4_0 block (18 bytes) starts at an even offset, so
 * one word permutation (vpermt2w) gathers the bytes of four blocks from
 * the two registers that cover them, and another their four fp16 scales.
 * A Q8_0 quad (4 x 34 bytes) is loaded as blocks 0+1 and 2+3, 32 bytes
 * each, and sorted into A and B by two 128-bit lane shuffles; its scales
 * are read as four integers. (Three vpermt2w over four 64-byte loads did
 * the same 15% slower on Zen 5.) A short last quad takes the permutation
 * path for both types, its loads masked. */

/* One packed activation quad: 320 bytes (5 x 64). */
#define XQ_BYTES 320
#define XQ_A 0    /* int8: lane k = block k, elements 0..15 */
#define XQ_B 64   /* int8: lane k = block k, elements 16..31 */
#define XQ_D 128  /* f32: lanes 4k..4k+3 = scale of block k */
#define XQ_I8 192 /* int32 per lane: -128 x (sum of the 8 activations the lane multiplies) */
#define XQ_I4 256 /* the same times -8 / 128: Q4_0's offset of 8 */

size_t k_xpack_bytes(int cols) { return (size_t)((cols / QK8_0 + 3) / 4) * XQ_BYTES; }

K_AVX512 void k_xpack_avx512(void *dst, const float *x, int cols) {
    const int nb = cols / QK8_0, nq = (nb + 3) / 4;
    unsigned char *base = dst;
    const __m512i ones = _mm512_set1_epi8(1);
    for (int q = 0; q < nq; q++) {
        unsigned char *r = base + (size_t)q * XQ_BYTES;
        const int n = nb - 4 * q < 4 ? nb - 4 * q : 4; /* blocks in this quad */
        block_q8_0 b[4];
        memset(b, 0, sizeof b); /* missing blocks: zero activations, zero scale */
        k_quantize_q8_0(b, x + (size_t)q * 4 * QK8_0, n * QK8_0);
        float *d = (float *)(r + XQ_D);
        for (int k = 0; k < 4; k++) {
            memcpy(r + XQ_A + 16 * k, b[k].qs, 16);
            memcpy(r + XQ_B + 16 * k, b[k].qs + 16, 16);
            const float dk = k < n ? _cvtsh_ss(b[k].d) : 0.0f;
            for (int i = 0; i < 4; i++) d[4 * k + i] = dk;
        }
        __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(r + XQ_A));
        s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(r + XQ_B)); /* sum x per lane */
        _mm512_storeu_si512(r + XQ_I8, _mm512_mullo_epi32(s, _mm512_set1_epi32(-128)));
        _mm512_storeu_si512(r + XQ_I4, _mm512_mullo_epi32(s, _mm512_set1_epi32(-8)));
    }
}

/* Word indices for vpermt2w over the two 64-byte registers [lo, hi] that
 * cover a quad (index 32 + i is word i of hi). Q4_0 quad at byte 0, blocks
 * 18 bytes apart: block k's bytes are words 1 + 9k .. 8 + 9k, its scale
 * word 9k. Q8_0 (34 bytes apart): block k's first 16 bytes are words
 * 1 + 17k .. 8 + 17k of [bytes 0..63, 64..127], its last 16 words
 * 9 + 17k .. 16 + 17k, which is 5 + 17k .. 12 + 17k of [bytes 8..71,
 * 72..135]; scale words 17k. Scale indices fill the low 16 words (block k
 * in words 4k..4k+3), the high 16 are unused. */
static const uint16_t IDX_Q4[32] __attribute__((aligned(64))) = {
    1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34, 35};
static const uint16_t IDX_D4[32] __attribute__((aligned(64))) = {0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27};
static const uint16_t IDX_A8[32] __attribute__((aligned(64))) = {
    1, 2, 3, 4, 5, 6, 7, 8, 18, 19, 20, 21, 22, 23, 24, 25, 35, 36, 37, 38, 39, 40, 41, 42, 52, 53, 54, 55, 56, 57, 58, 59};
static const uint16_t IDX_B8[32] __attribute__((aligned(64))) = {
    5, 6, 7, 8, 9, 10, 11, 12, 22, 23, 24, 25, 26, 27, 28, 29, 39, 40, 41, 42, 43, 44, 45, 46, 56, 57, 58, 59, 60, 61, 62, 63};
static const uint16_t IDX_D8[32] __attribute__((aligned(64))) = {0, 0, 0, 0, 17, 17, 17, 17, 34, 34, 34, 34, 51, 51, 51, 51};

/* 64 bytes at p + off, those at or past `len` (from p) read as zero and not
 * touched: a short last quad must not read past the end of the matrix. */
AI K_AVX512 __m512i load_upto(const unsigned char *p, int off, int len) {
    if (len >= off + 64) return _mm512_loadu_si512(p + off);
    if (len <= off) return _mm512_setzero_si512();
    return _mm512_maskz_loadu_epi8((__mmask64)(~0ULL >> (64 - (len - off))), p + off);
}

/* A quad of weight rows starting at p, `len` bytes of it present (a full
 * quad: 72 for Q4_0, 136 for Q8_0): the A and B registers, ready for
 * vpdpbusd's unsigned operand, and the scales per lane. FULL lets the
 * compiler drop the masking. */
AI K_AVX512 void w_quad(const unsigned char *p, int len, const int full, const int q4, __m512i *wa, __m512i *wb,
                        __m512 *dw) {
    if (q4) {
        const __m512i lo = full ? _mm512_loadu_si512(p) : load_upto(p, 0, len);
        const __m512i hi = full ? _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)(p + 64)))
                                : _mm512_setzero_si512(); /* a short quad ends before byte 64 */
        const __m512i v = _mm512_permutex2var_epi16(lo, _mm512_load_si512(IDX_Q4), hi);
        const __m512i m = _mm512_set1_epi8(0x0F);
        *wa = _mm512_and_si512(v, m);
        *wb = _mm512_and_si512(_mm512_srli_epi16(v, 4), m);
        *dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_load_si512(IDX_D4), lo)));
    } else if (full) {
        /* blocks 0+1 and 2+3 side by side, 32 bytes each, then the 16-byte
         * halves sorted into A and B by two lane shuffles */
        const __m512i z01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + 2))),
                                               _mm256_loadu_si256((const __m256i *)(p + 36)), 1);
        const __m512i z23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + 70))),
                                               _mm256_loadu_si256((const __m256i *)(p + 104)), 1);
        const __m512i sign = _mm512_set1_epi8((char)0x80); /* w + 128: unsigned */
        *wa = _mm512_xor_si512(_mm512_shuffle_i64x2(z01, z23, _MM_SHUFFLE(2, 0, 2, 0)), sign);
        *wb = _mm512_xor_si512(_mm512_shuffle_i64x2(z01, z23, _MM_SHUFFLE(3, 1, 3, 1)), sign);
        uint16_t d[4];
        for (int k = 0; k < 4; k++) memcpy(&d[k], p + 34 * k, 2);
        uint64_t d4;
        memcpy(&d4, d, 8);
        const __m128 f = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)d4));
        *dw = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                    _mm512_castps128_ps512(f));
    } else {
        const __m512i r0 = load_upto(p, 0, len), r1 = load_upto(p, 64, len);
        const __m512i r2 = load_upto(p, 8, len), r3 = load_upto(p, 72, len);
        const __m512i sign = _mm512_set1_epi8((char)0x80); /* w + 128: unsigned */
        *wa = _mm512_xor_si512(_mm512_permutex2var_epi16(r0, _mm512_load_si512(IDX_A8), r1), sign);
        *wb = _mm512_xor_si512(_mm512_permutex2var_epi16(r2, _mm512_load_si512(IDX_B8), r3), sign);
        *dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(r0, _mm512_load_si512(IDX_D8), r1)));
    }
}

/* One quad Q of NR rows (rb bytes apart) times NV packed vectors (xs bytes
 * apart). A macro, not a function, so the accumulators stay in registers.
 * Missing blocks of a short quad have zero weights, activations, offsets
 * and scales, so they add exact zeros. Prefetches past the end of the
 * matrix do not fault. */
#define Q_QUAD(Q, LEN, FULL)                                                                                \
    do {                                                                                                    \
        const size_t qb_ = (size_t)(Q) * qbytes;                                                            \
        __m512i wa[4], wb[4];                                                                               \
        __m512 dw[4];                                                                                       \
        if (pf)                                                                                             \
            for (int r = 0; r < NR; r++) {                                                                  \
                const char *a_ = (const char *)(w + (size_t)r * rb + qb_ + pf);                             \
                _mm_prefetch(a_, _MM_HINT_T0);                                                              \
                _mm_prefetch(a_ + 64, _MM_HINT_T0);                                                         \
                if (!Q4) _mm_prefetch(a_ + 128, _MM_HINT_T0);                                               \
            }                                                                                               \
        for (int r = 0; r < NR; r++) w_quad(w + (size_t)r * rb + qb_, (LEN), (FULL), Q4, &wa[r], &wb[r], &dw[r]); \
        for (int j = 0; j < NV; j++) {                                                                      \
            const unsigned char *xq_ = xp + (size_t)j * xs + (size_t)(Q) * XQ_BYTES;                        \
            const __m512i xa = _mm512_load_si512(xq_ + XQ_A), xb = _mm512_load_si512(xq_ + XQ_B);           \
            const __m512 dx = _mm512_load_ps(xq_ + XQ_D);                                                   \
            const __m512i init = _mm512_load_si512(xq_ + (Q4 ? XQ_I4 : XQ_I8));                             \
            for (int r = 0; r < NR; r++) {                                                                  \
                const __m512i s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(init, wa[r], xa), wb[r], xb);     \
                acc[r][j] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], dx), _mm512_cvtepi32_ps(s), acc[r][j]);    \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

AI K_AVX512 void mk_q(const unsigned char *w, size_t rb, const unsigned char *xp, size_t xs, int nb,
                      float *y, int ldy, size_t pf, const int NR, const int NV, const int Q4) {
    const int qbytes = Q4 ? 4 * (int)sizeof(block_q4_0) : 4 * (int)sizeof(block_q8_0);
    const int bbytes = Q4 ? (int)sizeof(block_q4_0) : (int)sizeof(block_q8_0);
    __m512 acc[4][8];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
    for (int q = 0; q < nb / 4; q++) Q_QUAD(q, qbytes, 1);
    if (nb & 3) Q_QUAD(nb / 4, (nb & 3) * bbytes, 0);
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) y[(size_t)j * ldy + r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* F16 or BF16 rows (BF = 1) times f32 vectors (ldx floats apart), 16
 * elements at a time; the last partial group is loaded under a mask. A
 * BF16 value is the top half of an f32, so widening it is a shift; the
 * products stay in f32 (no rounding of the activations to BF16, unlike
 * vdpbf16ps): decoding reads weights from memory, and is not limited by
 * the arithmetic. */
AI K_AVX512 __m512 w16(const void *p, int bf) {
    const __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (bf) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

AI K_AVX512 __m512 w16_mask(const void *p, __mmask16 m, int bf) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if (bf) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

AI K_AVX512 void mk_f16(const unsigned char *w, size_t rb, const float *x, int ldx, int cols, float *y,
                        int ldy, size_t pf, const int NR, const int NV, const int BF) {
    __m512 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m512 wv[4];
        if (pf && (k & 31) == 0)
            for (int r = 0; r < NR; r++)
                _mm_prefetch((const char *)(w + (size_t)r * rb + (size_t)k * 2 + pf), _MM_HINT_T0);
        for (int r = 0; r < NR; r++) wv[r] = w16((const uint16_t *)(w + (size_t)r * rb) + k, BF);
        for (int j = 0; j < NV; j++) {
            const __m512 xv = _mm512_loadu_ps(x + (size_t)j * ldx + k);
            for (int r = 0; r < NR; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    if (k < cols) {
        const __mmask16 m = (__mmask16)((1u << (cols - k)) - 1);
        __m512 wv[4];
        for (int r = 0; r < NR; r++) wv[r] = w16_mask((const uint16_t *)(w + (size_t)r * rb) + k, m, BF);
        for (int j = 0; j < NV; j++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)j * ldx + k);
            for (int r = 0; r < NR; r++) acc[r][j] = _mm512_fmadd_ps(wv[r], xv, acc[r][j]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NV; j++) y[(size_t)j * ldy + r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* Shapes. One vector (decoding a single sequence): one row at a time.
 * Rows then stream from memory one after the other, which the hardware
 * prefetcher follows better than four interleaved rows: on a 2-core Zen 5
 * VM single-sequence decoding got 9% (Q8_0), 17% (Q4_0) and 21% (F16,
 * BF16) faster than with the 4-row shape, whose four sums were meant to
 * hide the FMA latency (memory is slower than that latency anyway).
 * Q8_0/Q4_0 with 2 to 4 vectors (batched decoding): 4 rows x those
 * vectors, each vector's loads shared by 4 rows; 5 to 8 vectors
 * (prefill): 2 rows x 8 (the weight unpacking, shared by the vectors, is
 * the costly part). F16/BF16 with 2 or more: 4 rows x up to 4 vectors (the
 * x loads are shared by the rows). Each shape is a separate instance so
 * the compiler keeps the accumulators in registers; a (row, vector)
 * result is the same in every shape. */
#define Q_ARGS const unsigned char *w, size_t rb, const unsigned char *xp, size_t xs, int nb, float *y, int ldy, size_t pf
#define Q_CALL(NR, Q4, NV) mk_q(w, rb, xp, xs, nb, y, ldy, pf, NR, NV, Q4)
#define Q_SHAPES(NAME, Q4)                                                                           \
    K_AVX512 static void NAME##_4xv(Q_ARGS, int nv) { K_NV_SWITCH4(nv, Q_CALL, 4, Q4) }           \
    K_AVX512 static void NAME##_2xv(Q_ARGS, int nv) { K_NV_SWITCH8(nv, Q_CALL, 2, Q4) }           \
    K_AVX512 static void NAME##_1xv(Q_ARGS, int nv) { K_NV_SWITCH8(nv, Q_CALL, 1, Q4) }

Q_SHAPES(q8, 0)
Q_SHAPES(q4, 1)

K_AVX512 void k_qmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xp,
                           size_t xs, int n, float *y, int ldy) {
    const unsigned char *wb = w;
    const unsigned char *xb = xp;
    const int nb = cols / QK8_0, q4 = type == GGML_TYPE_Q4_0;
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int nv = n - j0 < 8 ? n - j0 : 8;
        const size_t pf = j0 == 0 ? k_pf_distance(rb) : 0; /* later passes find the rows in cache */
        const unsigned char *xj = xb + (size_t)j0 * xs;
        float *yj = y + (size_t)j0 * ldy;
        int r = r0;
        if (nv >= 2 && nv <= 4)
            for (; r + 4 <= r1; r += 4)
                (q4 ? q4_4xv : q8_4xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
        if (nv >= 2)
            for (; r + 2 <= r1; r += 2)
                (q4 ? q4_2xv : q8_2xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
        for (; r < r1; r++) (q4 ? q4_1xv : q8_1xv)(wb + (size_t)r * rb, rb, xj, xs, nb, yj + r, ldy, pf, nv);
    }
}

#define F_ARGS const unsigned char *w, size_t rb, const float *x, int ldx, int cols, float *y, int ldy, size_t pf
#define F_CALL(NR, BF, NV) mk_f16(w, rb, x, ldx, cols, y, ldy, pf, NR, NV, BF)
#define F_SHAPE(NAME, NR, BF) \
    K_AVX512 static void NAME##_##NR##xv(F_ARGS, int nv) { K_NV_SWITCH4(nv, F_CALL, NR, BF) }
F_SHAPE(f16, 4, 0)
F_SHAPE(f16, 2, 0)
F_SHAPE(f16, 1, 0)
F_SHAPE(bf16, 4, 1)
F_SHAPE(bf16, 2, 1)
F_SHAPE(bf16, 1, 1)

K_AVX512 void k_fmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const float *x,
                           int ldx, int n, float *y, int ldy) {
    const unsigned char *wb = w;
    const int bf = type == GGML_TYPE_BF16;
    for (int j0 = 0; j0 < n; j0 += 4) {
        const int nv = n - j0 < 4 ? n - j0 : 4;
        const size_t pf = j0 == 0 ? k_pf_distance(rb) : 0;
        const float *xj = x + (size_t)j0 * ldx;
        float *yj = y + (size_t)j0 * ldy;
        int r = r0;
        if (nv >= 2) {
            for (; r + 4 <= r1; r += 4)
                (bf ? bf16_4xv : f16_4xv)(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
            for (; r + 2 <= r1; r += 2)
                (bf ? bf16_2xv : f16_2xv)(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
        }
        for (; r < r1; r++) (bf ? bf16_1xv : f16_1xv)(wb + (size_t)r * rb, rb, xj, ldx, cols, yj + r, ldy, pf, nv);
    }
}

#else
size_t k_xpack_bytes(int cols) { return (size_t)((cols / QK8_0 + 3) / 4) * 320; }
#endif
