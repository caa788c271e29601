/* q4_0.c -- Q4_0 weights times Q8_0 activations (ggml's
 * vec_dot_q4_0_q8_0): per block the integer sum of (q - 8) * x.q, scaled
 * by fp16(w.d) * fp16(x.d). Element j of a block is the low nibble of
 * qs[j], element j + 16 the high nibble. */
#include "llm/kernels/simd.h"

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>
#endif

float k_dot_q4_0_ref(const void *w, const void *x, int n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n / QK4_0; i++) {
        int s = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            s += ((a[i].qs[j] & 0x0F) - 8) * b[i].qs[j];
            s += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK4_0 / 2];
        }
        sum += (float)s * (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    return sum;
}

#if K_X86
K_DEFINE_HSUM8

/* 32 nibbles -> 32 signed bytes in element order, minus 8. */
K_AVX2 static inline __m256i unpack_q4(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    v = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
    return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
}

K_AVX2 float k_dot_q4_0_avx2(const void *w, const void *x, int n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const int nb = n / QK4_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i qa0 = unpack_q4(a[i].qs), qa1 = unpack_q4(a[i + 1].qs);
        __m256i qb0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i qb1 = _mm256_loadu_si256((const __m256i *)b[i + 1].qs);
        __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa0, qa0), _mm256_sign_epi8(qb0, qa0)), ones);
        __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa1, qa1), _mm256_sign_epi8(qb1, qa1)), ones);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i + 1].d) * _cvtsh_ss(b[i + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i qa = unpack_q4(a[i].qs);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa, qa), _mm256_sign_epi8(qb, qa)), ones);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return k_hsum8(_mm256_add_ps(acc0, acc1));
}

/* VNNI: the nibbles stay unsigned (0..15), so vpdpbusd takes them as they
 * are; the "- 8" comes back as 8 * sum(x.q), which one more vpdpbusd of
 * 8s against x.q gives. */
K_AVX512 static inline __m256i unpack_q4_u(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

K_AVX512 float k_dot_q4_0_avx512(const void *w, const void *x, int n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const int nb = n / QK4_0;
    const __m256i eights = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i qb0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i qb1 = _mm256_loadu_si256((const __m256i *)b[i + 1].qs);
        __m256i p0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_q4_u(a[i].qs), qb0);
        __m256i p1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_q4_u(a[i + 1].qs), qb1);
        p0 = _mm256_sub_epi32(p0, _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, qb0));
        p1 = _mm256_sub_epi32(p1, _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, qb1));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i + 1].d) * _cvtsh_ss(b[i + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_q4_u(a[i].qs), qb);
        p = _mm256_sub_epi32(p, _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, qb));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return k_hsum8(_mm256_add_ps(acc0, acc1));
}
#endif
