/* q8_0.c -- Q8_0 weights times Q8_0 activations, and the activation
 * quantiser. Per block: an exact integer dot of 32 int8 pairs, scaled by
 * the product of the two fp16 scales (ggml's vec_dot_q8_0_q8_0). */
#include "llm/kernels/simd.h"

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>
#endif

float k_dot_q8_0_ref(const void *w, const void *x, int n) {
    const block_q8_0 *a = w, *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        int s = 0;
        for (int j = 0; j < QK8_0; j++) s += a[i].qs[j] * b[i].qs[j];
        sum += (float)s * (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    return sum;
}

void k_quantize_q8_0(void *dst, const float *x, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) {
        k_quantize_q8_0_avx2(dst, x, n);
        return;
    }
#endif
    quantize_row(GGML_TYPE_Q8_0, x, dst, n);
}

#if K_X86
K_DEFINE_HSUM8

/* ggml's AVX2 quantiser: scale 127 / max|x|, round to nearest (even). */
K_AVX2 void k_quantize_q8_0_avx2(void *dst, const float *x, int n) {
    block_q8_0 *y = dst;
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < n / QK8_0; i++, x += QK8_0) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
        __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 m = _mm256_andnot_ps(signbit, v0);
        m = _mm256_max_ps(m, _mm256_andnot_ps(signbit, v1));
        m = _mm256_max_ps(m, _mm256_andnot_ps(signbit, v2));
        m = _mm256_max_ps(m, _mm256_andnot_ps(signbit, v3));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        y[i].d = (ggml_half)_cvtss_sh(d, 0);
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), _MM_FROUND_TO_NEAREST_INT));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), _MM_FROUND_TO_NEAREST_INT));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), _MM_FROUND_TO_NEAREST_INT));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), _MM_FROUND_TO_NEAREST_INT));
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        /* the packs work per 128-bit lane: put the dwords back in order */
        i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[i].qs, i0);
    }
}

K_AVX2 float k_dot_q8_0_avx2(const void *w, const void *x, int n) {
    const block_q8_0 *a = w, *b = x;
    const int nb = n / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i qa0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i qa1 = _mm256_loadu_si256((const __m256i *)a[i + 1].qs);
        __m256i qb1 = _mm256_loadu_si256((const __m256i *)b[i + 1].qs);
        /* maddubs multiplies unsigned by signed: move a's sign onto b */
        __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa0, qa0), _mm256_sign_epi8(qb0, qa0)), ones);
        __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa1, qa1), _mm256_sign_epi8(qb1, qa1)), ones);
        __m256 d0 = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        __m256 d1 = _mm256_set1_ps(_cvtsh_ss(a[i + 1].d) * _cvtsh_ss(b[i + 1].d));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa, qa), _mm256_sign_epi8(qb, qa)), ones);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return k_hsum8(_mm256_add_ps(acc0, acc1));
}

/* AVX-512 VNNI (256-bit forms): one vpdpbusd replaces maddubs + madd. */
K_AVX512 float k_dot_q8_0_avx512(const void *w, const void *x, int n) {
    const block_q8_0 *a = w, *b = x;
    const int nb = n / QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i qa0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i qa1 = _mm256_loadu_si256((const __m256i *)a[i + 1].qs);
        __m256i qb1 = _mm256_loadu_si256((const __m256i *)b[i + 1].qs);
        __m256i p0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(qa0), _mm256_sign_epi8(qb0, qa0));
        __m256i p1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(qa1), _mm256_sign_epi8(qb1, qa1));
        __m256 d0 = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        __m256 d1 = _mm256_set1_ps(_cvtsh_ss(a[i + 1].d) * _cvtsh_ss(b[i + 1].d));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(qa), _mm256_sign_epi8(qb, qa));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    return k_hsum8(_mm256_add_ps(acc0, acc1));
}
#endif
