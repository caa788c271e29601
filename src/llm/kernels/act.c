/* act.c -- activation functions, SIMD: SwiGLU's SiLU needs one exp() per
 * element of the feed-forward width (4,864 per layer and sequence in a
 * 0.5B model), which libm's scalar expf makes a few per cent of a batched
 * decoding step.
 *
 * exp(x) here: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2
 * (ln2 split in a high and a low part so r stays exact), e^r from Cephes'
 * degree-7 expf polynomial, and 2^n put straight into the exponent bits.
 * Within 2 ulp of expf over [-87, 88] (tests/unit/test_kernels.c checks it
 * against libm); arguments are clamped there, which is where SiLU is 0 or x
 * to float precision anyway. The exact path (COPYD_LLM_EXACT=1) keeps
 * k_swiglu() and libm. */
#include "llm/kernels/simd.h"

#include <math.h>

#if K_X86
#include <immintrin.h>

K_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

K_AVX2 void k_exp_avx2(float *y, const float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = expf(x[i]);
}

K_AVX2 void k_swiglu_avx2(float *g, const float *u, int n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, e));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    if (i < n) k_swiglu(g + i, u + i, n - i);
}
#endif

void k_swiglu_fast(float *g, const float *u, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) {
        k_swiglu_avx2(g, u, n);
        return;
    }
#endif
    k_swiglu(g, u, n);
}
