/* qmm_avx2.c -- Q8_0 / Q4_0 rows times several Q8_0 activation vectors
 * with AVX2 (CPUs without AVX-512: Zen 2/3, most Intel desktops).
 *
 * The single-vector dot products (q8_0.c, q4_0.c) unpack a weight block
 * and convert its scale once per vector; here one row's block is made
 * ready once -- its signed values (Q4_0: nibble - 8), their absolute
 * values (vpmaddubsw wants an unsigned operand, so the weights' signs move
 * onto the activations) and its scale -- for up to four vectors. Per row,
 * vector and block: a sign, vpmaddubsw, vpmaddwd, a convert, a multiply of
 * the two scales and an FMA. Even and odd blocks go to two sums (the FMA latency), added at
 * the end; a (row, vector) result is the same for any number of vectors,
 * so batched and one-at-a-time decoding agree bit for bit. */
#include "llm/kernels/simd.h"

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>

#define AI __attribute__((always_inline)) static inline

K_DEFINE_HSUM8

/* Block i of one row times NV vectors, into the sums acc[j] (the caller
 * picks the even or odd set). */
AI K_AVX2 void block_nv(const unsigned char *w, int i, const unsigned char *xq, size_t xs, __m256 *acc, const int NV,
                        const int Q4) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i wq;
    __m256 dw;
    if (Q4) {
        const block_q4_0 *a = (const block_q4_0 *)w + i;
        const __m128i t = _mm_loadu_si128((const __m128i *)a->qs);
        wq = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
        wq = _mm256_sub_epi8(wq, _mm256_set1_epi8(8));
        dw = _mm256_set1_ps(_cvtsh_ss(a->d));
    } else {
        const block_q8_0 *a = (const block_q8_0 *)w + i;
        wq = _mm256_loadu_si256((const __m256i *)a->qs);
        dw = _mm256_set1_ps(_cvtsh_ss(a->d));
    }
    const __m256i aw = _mm256_sign_epi8(wq, wq);
    for (int j = 0; j < NV; j++) {
        const block_q8_0 *b = (const block_q8_0 *)(xq + (size_t)j * xs) + i;
        const __m256i xv = _mm256_loadu_si256((const __m256i *)b->qs);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wq)), ones);
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(b->d)));
        acc[j] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[j]);
    }
}

AI K_AVX2 void row_nv(const unsigned char *w, int nb, const unsigned char *xq, size_t xs, float *y, int ldy,
                      const int Q4, const int NV) {
    __m256 even[4], odd[4];
    for (int j = 0; j < NV; j++) even[j] = odd[j] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        block_nv(w, i, xq, xs, even, NV, Q4);
        block_nv(w, i + 1, xq, xs, odd, NV, Q4);
    }
    if (i < nb) block_nv(w, i, xq, xs, even, NV, Q4);
    for (int j = 0; j < NV; j++) y[(size_t)j * ldy] = k_hsum8(_mm256_add_ps(even[j], odd[j]));
}

#define ROWS_NV(NAME, Q4)                                                                                   \
    K_AVX2 static void NAME(const unsigned char *w, int nb, const unsigned char *xq, size_t xs, float *y,  \
                            int ldy, int nv) {                                                              \
        K_NV_SWITCH4(nv, row_nv, w, nb, xq, xs, y, ldy, Q4)                                                 \
    }
ROWS_NV(q8_row_avx2, 0)
ROWS_NV(q4_row_avx2, 1)

K_AVX2 void k_qmm_avx2(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xq,
                       size_t xs, int n, float *y, int ldy) {
    const unsigned char *wb = w, *xb = xq;
    const int nb = cols / QK8_0, q4 = type == GGML_TYPE_Q4_0;
    for (int j0 = 0; j0 < n; j0 += 4) {
        const int nv = n - j0 < 4 ? n - j0 : 4;
        for (int r = r0; r < r1; r++)
            (q4 ? q4_row_avx2 : q8_row_avx2)(wb + (size_t)r * rb, nb, xb + (size_t)j0 * xs, xs,
                                             y + (size_t)j0 * ldy + r, ldy, nv);
    }
}
#endif
