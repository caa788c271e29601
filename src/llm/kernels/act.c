/* act.c -- activation functions, SIMD: SwiGLU's SiLU needs one exp() per
 * element of the feed-forward width (4,864 per layer and sequence in a
 * 0.5B model), which libm's scalar expf makes a few per cent of a batched
 * decoding step.
 *
 * exp(x) here is K_DEFINE_EXP's (simd.h): within 2 ulp of expf over
 * [-87, 88], arguments clamped there, which is where SiLU is 0 or x to
 * float precision anyway. The exact path (COPYD_LLM_EXACT=1) keeps
 * k_swiglu() and libm. */
#include "llm/kernels/simd.h"

#include <math.h>

#if K_X86
#include <immintrin.h>

K_DEFINE_EXP(exp8, 256, K_AVX2)

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
