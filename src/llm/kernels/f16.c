/* f16.c -- float weight rows (F32, F16, BF16) times f32 activations.
 * The weights are widened to f32 exactly (F16C for fp16, a 16-bit shift
 * for bf16) and the sums kept in four independent f32 accumulators, so
 * only the order of the additions differs from k_dot's. */
#include "llm/kernels/simd.h"

#include <math.h>

#include "llm/quant.h"

#if K_X86
#include <immintrin.h>
#endif

float k_dot_f32_ref(const void *w, const void *x, int n) { return k_dot(w, x, n); }

float k_dot_f16_ref(const void *w, const void *x, int n) {
    const uint16_t *a = w;
    const float *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += fp16_to_fp32(a[i]) * b[i];
    return sum;
}

float k_dot_bf16_ref(const void *w, const void *x, int n) {
    const uint16_t *a = w;
    const float *b = x;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += bf16_to_fp32(a[i]) * b[i];
    return sum;
}

#if K_X86
K_DEFINE_HSUM8

K_AVX2 static inline __m256 load_bf16(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

#define DOT_BODY(LOAD, TAIL)                                                                   \
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                                 \
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();                                 \
    int i = 0;                                                                                 \
    for (; i + 32 <= n; i += 32) {                                                             \
        s0 = _mm256_fmadd_ps(LOAD(a + i), _mm256_loadu_ps(b + i), s0);                         \
        s1 = _mm256_fmadd_ps(LOAD(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);                 \
        s2 = _mm256_fmadd_ps(LOAD(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);               \
        s3 = _mm256_fmadd_ps(LOAD(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);               \
    }                                                                                          \
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LOAD(a + i), _mm256_loadu_ps(b + i), s0); \
    float sum = k_hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));            \
    for (; i < n; i++) sum += TAIL(a[i]) * b[i];                                               \
    return sum;

#define LOAD_F32(p) _mm256_loadu_ps(p)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD_BF16(p) load_bf16(p)
#define TAIL_F32(v) (v)

K_AVX2 float k_dot_f32_avx2(const void *w, const void *x, int n) {
    const float *a = w, *b = x;
    DOT_BODY(LOAD_F32, TAIL_F32)
}

K_AVX2 float k_dot_f16_avx2(const void *w, const void *x, int n) {
    const uint16_t *a = w;
    const float *b = x;
    DOT_BODY(LOAD_F16, fp16_to_fp32)
}

K_AVX2 float k_dot_bf16_avx2(const void *w, const void *x, int n) {
    const uint16_t *a = w;
    const float *b = x;
    DOT_BODY(LOAD_BF16, bf16_to_fp32)
}

K_AVX2 void k_axpy_avx2(float *y, float a, const float *x, int n) {
    const __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

/* max_ps(v, acc) returns acc when v is NaN: NaNs drop out for free */
K_AVX2 static float max_avx2(const float *x, int n) {
    __m256 acc = _mm256_set1_ps(-INFINITY), acc2 = acc;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        acc = _mm256_max_ps(_mm256_loadu_ps(x + i), acc);
        acc2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), acc2);
    }
    for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(_mm256_loadu_ps(x + i), acc);
    acc = _mm256_max_ps(acc, acc2);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    float best = _mm_cvtss_f32(m);
    for (; i < n; i++)
        if (x[i] > best) best = x[i];
    return best;
}
#endif

float k_max_fast(const float *x, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) return max_avx2(x, n);
#endif
    float best = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > best) best = x[i];
    return best;
}

float k_dot_fast(const float *a, const float *b, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) return k_dot_f32_avx2(a, b, n);
#endif
    return k_dot(a, b, n);
}

void k_axpy_fast(float *y, float a, const float *x, int n) {
#if K_X86
    if (k_isa() >= K_ISA_AVX2) {
        k_axpy_avx2(y, a, x, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}
