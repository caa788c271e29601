/* kquants.c -- Q4_K and Q6_K weights times Q8_K activations (ggml's
 * vec_dot_q4_K_q8_K / vec_dot_q6_K_q8_K), and the Q8_K quantiser.
 *
 * Per 256-element super-block everything up to the last step is an exact
 * integer sum (sub-block scales times integer dots, and the minimum terms
 * through the activation block sums), so the SIMD versions compute the
 * same integers as the scalar ones and then the same two float
 * operations: their results are bit-identical to the references. */
#include "llm/kernels/simd.h"

#include <math.h>
#include <string.h>

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>
#endif

int k_act_q8_K(ggml_type_t type) { return type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q6_K; }

/* ggml's quantize_row_q8_K_ref: the scale maps the element of largest
 * magnitude to -127 (its sign kept in d), round to nearest even, clamp
 * to 127; bsums are the 16-element sums. */
void k_quantize_q8_K_ref(void *dst, const float *x, int n) {
    block_q8_K *y = dst;
    for (int i = 0; i < n / QK_K; i++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            long v = lrintf(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)s;
        }
        y[i].d = 1.0f / iscale;
    }
}

#if K_X86
/* The same numbers as k_quantize_q8_K_ref: the first element of largest
 * magnitude, the same scalar scale, products rounded to nearest even by
 * the conversion (lrintf's rounding), and packing that saturates at 127
 * as the clamp does. lrintf per element made quantising the activations
 * a tenth of a K-quant decoding step. */
K_AVX2 void k_quantize_q8_K_avx2(void *dst, const float *x, int n) {
    block_q8_K *y = dst;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 mx = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), absmask), mx);
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
        const float amax = _mm_cvtss_f32(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float max = 0.0f;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) == amax) {
                max = x[j];
                break;
            }
        const float iscale = -127.0f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        /* packs interleave 128-bit lanes; this restores element order */
        const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (int j = 0; j < QK_K; j += 32) {
            const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j)));
            const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 8)));
            const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 16)));
            const __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 24)));
            const __m256i q = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), _mm256_permutevar8x32_epi32(q, perm));
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y[i].qs + 16 * j)));
            __m128i s = _mm_add_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            s = _mm_add_epi16(s, _mm_unpackhi_epi64(s, s));
            s = _mm_add_epi16(s, _mm_shufflelo_epi16(s, _MM_SHUFFLE(1, 0, 3, 2)));
            s = _mm_add_epi16(s, _mm_shufflelo_epi16(s, _MM_SHUFFLE(2, 3, 0, 1)));
            y[i].bsums[j] = (int16_t)_mm_extract_epi16(s, 0);
        }
        y[i].d = 1.0f / iscale;
    }
}
#endif

void k_quantize_q8_K(void *dst, const float *x, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) {
        k_quantize_q8_K_avx2(dst, x, n);
        return;
    }
#endif
    k_quantize_q8_K_ref(dst, x, n);
}

/* Scale and min j (0..7) of a Q4_K block (quant.h's layout). */
static inline void scale_min_k4(int j, const uint8_t *q, int *d, int *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* sum over blocks of d * y.d * isum - dmin * y.d * msum, where isum =
 * sum_j sc_j * (q . x over sub-block j) and msum = sum_j m_j * (sum of x
 * over sub-block j). */
float k_dot_q4_K_ref(const void *w, const void *x, int n) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        int isum = 0, msum = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(j, a[i].scales, &sc, &m);
            const uint8_t *q = a[i].qs + 32 * (j / 2);
            const int8_t *y = b[i].qs + 32 * j;
            int s = 0;
            for (int l = 0; l < 32; l++) s += (j & 1 ? q[l] >> 4 : q[l] & 0xF) * y[l];
            isum += sc * s;
            msum += m * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        }
        sum += fp16_to_fp32(a[i].d) * b[i].d * (float)isum - fp16_to_fp32(a[i].dmin) * b[i].d * (float)msum;
    }
    return sum;
}

/* sum over blocks of d * y.d * isum, isum = sum over the 16 sub-blocks of
 * sc * ((q - 32) . x). */
float k_dot_q6_K_ref(const void *w, const void *x, int n) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        int isum = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            const int8_t *sc = a[i].scales + 8 * h, *y = b[i].qs + 128 * h;
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                isum += sc[is + 0] * q1 * y[l] + sc[is + 2] * q2 * y[l + 32] + sc[is + 4] * q3 * y[l + 64] +
                        sc[is + 6] * q4 * y[l + 96];
            }
        }
        sum += fp16_to_fp32(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

#if K_X86
K_AVX2 static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

K_AVX2 float k_dot_q4_K_avx2(const void *w, const void *x, int n) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    float sum = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        int sc[8], mn[8];
        for (int j = 0; j < 8; j++) scale_min_k4(j, a[i].scales, &sc[j], &mn[j]);
        int msum = 0;
        for (int j = 0; j < 8; j++) msum += mn[j] * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(b[i].qs + 64 * j));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(b[i].qs + 64 * j + 32));
            /* 15 * 127 * 2 fits int16: maddubs cannot saturate */
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16((short)sc[2 * j]));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16((short)sc[2 * j + 1]));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(p0, p1));
        }
        const int isum = hsum_i32(acc);
        sum += _cvtsh_ss(a[i].d) * b[i].d * (float)isum - _cvtsh_ss(a[i].dmin) * b[i].d * (float)msum;
    }
    return sum;
}

/* The 6-bit values are taken unsigned (0..63) and the "- 32" comes back
 * through the block sums: sum (q - 32) x = sum q x - 32 sum x. */
K_AVX2 float k_dot_q6_K_avx2(const void *w, const void *x, int n) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
    float sum = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        int corr = 0;
        for (int j = 0; j < 16; j++) corr += a[i].scales[j] * b[i].bsums[j];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            const int8_t *sc = a[i].scales + 8 * h, *y = b[i].qs + 128 * h;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m2));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(hb, 2), m2));
            for (int k = 0; k < 4; k++) {
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y + 32 * k));
                /* each 128-bit half is one 16-element sub-block */
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                /* 63 * 127 * 2 fits int16 */
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yv), s));
            }
        }
        const int isum = hsum_i32(acc) - 32 * corr;
        sum += _cvtsh_ss(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}
#endif
