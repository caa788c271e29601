/* kqmm.c -- AVX-512 VNNI products of Q4_K and Q6_K rows with several Q8_K
 * activation vectors at once (prefill, batched decoding, and one vector).
 *
 * A K-quant super-block holds 256 weights with a scale per sub-block
 * (Q4_K: 8 of 32 weights, 6-bit scales and minimums; Q6_K: 16 of 16,
 * int8 scales). The single-vector kernels (kquants.c) decode those scales
 * again for every activation vector; here a row's super-block is
 * unpacked once -- its 256 weights into four registers of unsigned bytes,
 * its scales widened to int16 and spread over the lanes they apply to --
 * and then multiplied with each vector:
 *   vpmaddubsw  64 weights x 64 activations -> 32 sums of 2 (int16);
 *   vpdpwssd    those times their sub-block scales, pairs added into 16
 *               int32 lanes (one accumulator for the whole super-block);
 * then one convert and FMA with the super-block's float scale. The
 * Q4_K minimums and Q6_K's "- 32" come in through the activation block
 * sums (one vpmaddwd). Every integer is exact (lanes stay below 2^24, so
 * the conversion is exact too); only the order of the float additions
 * differs from the scalar reference. A (row, vector) result is the same
 * whatever the number of vectors, rows or threads.
 *
 * The activations stay Q8_K blocks in element order (k_quantize_q8_K):
 * Q6_K's bit layout puts 64 consecutive elements in each register as it
 * is; Q4_K's nibbles are spread with one variable shift per 32 bytes. */
#include "llm/kernels/simd.h"

#include <string.h>

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>

#define AI __attribute__((always_inline)) static inline

/* word indices for vpermw over the 16 int16 scales in the low 256 bits */
static const uint16_t IDX_S4[4][32] __attribute__((aligned(64))) = {
    /* Q4_K register k holds sub-blocks 2k (words 0..15) and 2k+1 (16..31) */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
/* the 8 Q4_K minimums (words 8..15) doubled, against the 16 block sums */
static const uint16_t IDX_M4[32] __attribute__((aligned(64))) = {8,  8,  9,  9,  10, 10, 11, 11,
                                                                  12, 12, 13, 13, 14, 14, 15, 15};
static const uint16_t IDX_S6[4][32] __attribute__((aligned(64))) = {
    /* Q6_K register k holds sub-blocks 4k..4k+3, 8 words each */
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13,
     14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};
/* per-word shifts: low 256 bits by A, high 256 bits by B */
static const uint16_t SH_0_4[32] __attribute__((aligned(64))) = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
static const uint16_t SH_4_2[32] __attribute__((aligned(64))) = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
                                                                  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
static const uint16_t SH_0_2[32] __attribute__((aligned(64))) = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

/* Q4_K's 12 scale bytes -> sc[0..7], m[0..7] (the layout of quant.h /
 * kquants.c's scale_min_k4, for all eight sub-blocks at once). */
AI void q4k_scales(const uint8_t *s, uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, s, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4); /* m[4..7] */
    const uint32_t m03 = u[1] & k1;                         /* m[0..3] */
    u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);        /* sc[4..7] */
    u[2] = m03;
    u[0] &= k1; /* sc[0..3] */
    memcpy(out, u, 16);
}

/* One row super-block, unpacked. */
typedef struct {
    __m512i q[4]; /* weights 64k .. 64k + 63, unsigned */
    __m512i s[4]; /* the int16 scale of each word of maddubs(q[k], x) */
    __m256i m;    /* Q4_K: minimums per block sum; Q6_K: scales per block sum */
    __m512 d, dm; /* super-block scale (and Q4_K's scale of the minimums) */
} ksb_t;

AI K_AVX512 void q4k_unpack(const block_q4_K *b, ksb_t *u) {
    uint8_t sm[16];
    q4k_scales(b->scales, sm);
    const __m512i w = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm)));
    for (int k = 0; k < 4; k++) u->s[k] = _mm512_permutexvar_epi16(_mm512_load_si512(IDX_S4[k]), w);
    u->m = _mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_load_si512(IDX_M4), w));
    /* bytes 32k..32k+31: low nibbles are sub-block 2k, high ones 2k+1 */
    const __m512i sh = _mm512_load_si512(SH_0_4), m4 = _mm512_set1_epi8(0x0F);
    for (int k = 0; k < 4; k++) {
        const __m512i t = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qs + 32 * k)));
        u->q[k] = _mm512_and_si512(_mm512_srlv_epi16(t, sh), m4);
    }
    const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)b->d | (uint32_t)b->dmin << 16)));
    u->d = _mm512_broadcastss_ps(dd);
    u->dm = _mm512_broadcastss_ps(_mm_movehdup_ps(dd));
}

/* Q6_K: per half h (128 weights), ql[64h..64h+63] hold the low 4 bits of
 * elements 0..63 (low nibbles) and 64..127 (high nibbles); qh[32h..] the
 * two high bits of element l, l+32, l+64, l+96 in bits 0-1, 2-3, 4-5,
 * 6-7. The 16-bit shifts move each byte's pair to bits 4-5 (what crosses
 * from the neighbouring byte is masked off). */
AI K_AVX512 void q6k_unpack(const block_q6_K *b, ksb_t *u) {
    const __m512i w = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales)));
    for (int k = 0; k < 4; k++) u->s[k] = _mm512_permutexvar_epi16(_mm512_load_si512(IDX_S6[k]), w);
    u->m = _mm512_castsi512_si256(w);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i sa = _mm512_load_si512(SH_4_2), sb = _mm512_load_si512(SH_0_2);
    for (int h = 0; h < 2; h++) {
        const __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
        u->q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, sa), m30));
        u->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                          _mm512_and_si512(_mm512_srlv_epi16(qh, sb), m30));
    }
    u->d = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)b->d)));
    u->dm = _mm512_setzero_ps();
}

/* acc += this super-block of one row times one Q8_K block. */
AI K_AVX512 __m512 ksb_mul(const ksb_t *u, const block_q8_K *x, __m512 acc, const int Q6) {
    __m512i s = _mm512_setzero_si512();
    for (int k = 0; k < 4; k++)
        s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(u->q[k], _mm512_loadu_si512(x->qs + 64 * k)), u->s[k]);
    /* 8 int32: minimum (or scale) times the sums of the blocks it covers */
    const __m256i bs = _mm256_madd_epi16(u->m, _mm256_loadu_si256((const __m256i *)x->bsums));
    const __m512 yd = _mm512_set1_ps(x->d);
    if (Q6) { /* sum sc (q - 32) x = sum sc q x - 32 sum sc (sum x) */
        s = _mm512_sub_epi32(s, _mm512_slli_epi32(_mm512_inserti64x4(_mm512_setzero_si512(), bs, 0), 5));
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(u->d, yd), acc);
    }
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(u->d, yd), acc);
    const __m512 mins = _mm512_cvtepi32_ps(_mm512_inserti64x4(_mm512_setzero_si512(), bs, 0));
    return _mm512_fnmadd_ps(mins, _mm512_mul_ps(u->dm, yd), acc);
}

/* One row (nsb super-blocks) times NV vectors (xs bytes apart). */
AI K_AVX512 void mk_k(const unsigned char *w, const unsigned char *xk, size_t xs, int nsb, float *y, int ldy,
                      size_t pf, const int Q6, const int NV) {
    const size_t bb = Q6 ? sizeof(block_q6_K) : sizeof(block_q4_K);
    __m512 acc[8];
    for (int j = 0; j < NV; j++) acc[j] = _mm512_setzero_ps();
    for (int i = 0; i < nsb; i++) {
        const unsigned char *b = w + (size_t)i * bb;
        if (pf)
            for (size_t o = 0; o < bb; o += 64) _mm_prefetch((const char *)(b + pf + o), _MM_HINT_T0);
        ksb_t u;
        if (Q6) q6k_unpack((const block_q6_K *)b, &u);
        else q4k_unpack((const block_q4_K *)b, &u);
        for (int j = 0; j < NV; j++) acc[j] = ksb_mul(&u, (const block_q8_K *)(xk + (size_t)j * xs) + i, acc[j], Q6);
    }
    for (int j = 0; j < NV; j++) y[(size_t)j * ldy] = _mm512_reduce_add_ps(acc[j]);
}

#define K_ARGS const unsigned char *w, const unsigned char *xk, size_t xs, int nsb, float *y, int ldy, size_t pf
#define K_SHAPES(NAME, Q6)                                                                                  \
    K_AVX512 static void NAME(K_ARGS, int nv) { K_NV_SWITCH8(nv, mk_k, w, xk, xs, nsb, y, ldy, pf, Q6) }
K_SHAPES(q4k_rows, 0)
K_SHAPES(q6k_rows, 1)

K_AVX512 void k_kmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xk,
                           size_t xs, int n, float *y, int ldy) {
    const unsigned char *wb = w, *xb = xk;
    const int nsb = cols / QK_K, q6 = type == GGML_TYPE_Q6_K;
    for (int j0 = 0; j0 < n; j0 += 8) {
        const int nv = n - j0 < 8 ? n - j0 : 8;
        const size_t pf = j0 == 0 ? k_pf_distance(rb) : 0; /* later passes find the rows in cache */
        for (int r = r0; r < r1; r++)
            (q6 ? q6k_rows : q4k_rows)(wb + (size_t)r * rb, xb + (size_t)j0 * xs, xs, nsb, y + (size_t)j0 * ldy + r,
                                       ldy, pf, nv);
    }
}
#endif
