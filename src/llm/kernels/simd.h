/* simd.h -- private to kernels/: the per-instruction-set implementations
 * behind k_dot_kernel(), k_quantize_q8_0() and friends. Each SIMD function
 * is compiled with a function-level target attribute, so the library still
 * runs on any x86-64; it is only called after cpuid said the CPU has it. */
#ifndef COPYD_LLM_KERNELS_SIMD_H
#define COPYD_LLM_KERNELS_SIMD_H

#include "llm/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define K_X86 1
#define K_AVX2 __attribute__((target("avx2,fma,f16c")))
#define K_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#else
#define K_X86 0
#endif

/* A kernel instantiated for each vector count NV (so its accumulators
 * stay in registers) is dispatched on the run-time count nv with
 * K_NV_SWITCH4 (1..4, larger counts take 4) or K_NV_SWITCH8 (1..8):
 * F(args..., NV) is called with NV a constant. */
#define K_NV_SWITCH4(nv, F, ...)                                                                    \
    switch (nv) {                                                                                  \
    case 1: F(__VA_ARGS__, 1); break;                                                              \
    case 2: F(__VA_ARGS__, 2); break;                                                              \
    case 3: F(__VA_ARGS__, 3); break;                                                              \
    default: F(__VA_ARGS__, 4); break;                                                             \
    }
#define K_NV_SWITCH8(nv, F, ...)                                                                    \
    switch (nv) {                                                                                  \
    case 1: F(__VA_ARGS__, 1); break;                                                              \
    case 2: F(__VA_ARGS__, 2); break;                                                              \
    case 3: F(__VA_ARGS__, 3); break;                                                              \
    case 4: F(__VA_ARGS__, 4); break;                                                              \
    case 5: F(__VA_ARGS__, 5); break;                                                              \
    case 6: F(__VA_ARGS__, 6); break;                                                              \
    case 7: F(__VA_ARGS__, 7); break;                                                              \
    default: F(__VA_ARGS__, 8); break;                                                             \
    }

/* Sum of the 8 lanes (AVX2). Needs <immintrin.h>. */
#define K_DEFINE_HSUM8                                                                              \
    K_AVX2 __attribute__((always_inline)) static inline float k_hsum8(__m256 v) {                   \
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));              \
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));                                                     \
        s = _mm_add_ss(s, _mm_movehdup_ps(s));                                                      \
        return _mm_cvtss_f32(s);                                                                    \
    }

/* K_DEFINE_EXP(NAME, W, ATTR) defines `static inline __mW NAME(__mW x)`,
 * exp() of each lane, for W = 256 (ATTR K_AVX2) or 512 (K_AVX512), so the
 * SwiGLU (act.c) and the softmax (attn.c) share one polynomial:
 * x = n ln2 + r with n = round(x / ln2) (the conversion rounds to nearest
 * even) and |r| <= ln2 / 2 (ln2 split in a high and a low part so r stays
 * exact), e^r from Cephes' degree-7 expf polynomial, and 2^n put straight
 * into the exponent bits. Within 2 ulp of expf over [-87, 88]
 * (tests/unit/test_kernels.c checks it against libm); arguments are
 * clamped there. Needs <immintrin.h>. */
#define K_DEFINE_EXP(NAME, W, ATTR)                                                                 \
    ATTR __attribute__((always_inline)) static inline __m##W NAME(__m##W x) {                       \
        x = _mm##W##_min_ps(_mm##W##_max_ps(x, _mm##W##_set1_ps(-87.0f)), _mm##W##_set1_ps(88.0f)); \
        const __m##W##i ni = _mm##W##_cvtps_epi32(_mm##W##_mul_ps(x, _mm##W##_set1_ps(1.44269504088896341f))); \
        const __m##W n = _mm##W##_cvtepi32_ps(ni);                                                  \
        __m##W r = _mm##W##_fnmadd_ps(n, _mm##W##_set1_ps(0.693359375f), x);                        \
        r = _mm##W##_fnmadd_ps(n, _mm##W##_set1_ps(-2.12194440e-4f), r);                            \
        __m##W p = _mm##W##_set1_ps(1.9875691500e-4f);                                              \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(1.3981999507e-3f));                            \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(8.3334519073e-3f));                            \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(4.1665795894e-2f));                            \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(1.6666665459e-1f));                            \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(5.0000001201e-1f));                            \
        p = _mm##W##_fmadd_ps(_mm##W##_mul_ps(p, r), r, _mm##W##_add_ps(r, _mm##W##_set1_ps(1.0f)));  \
        const __m##W##i e = _mm##W##_slli_epi32(_mm##W##_add_epi32(ni, _mm##W##_set1_epi32(127)), 23); \
        return _mm##W##_mul_ps(p, _mm##W##_castsi##W##_ps(e));                                      \
    }

float k_dot_q8_0_ref(const void *w, const void *x, int n);
float k_dot_q4_0_ref(const void *w, const void *x, int n);
float k_dot_f32_ref(const void *w, const void *x, int n);
float k_dot_f16_ref(const void *w, const void *x, int n);
float k_dot_bf16_ref(const void *w, const void *x, int n);
float k_dot_q4_K_ref(const void *w, const void *x, int n);
float k_dot_q6_K_ref(const void *w, const void *x, int n);
void k_quantize_q8_K_ref(void *dst, const float *x, int n);
#if K_X86
float k_dot_q4_K_avx2(const void *w, const void *x, int n);
float k_dot_q6_K_avx2(const void *w, const void *x, int n);
void k_quantize_q8_K_avx2(void *dst, const float *x, int n);
void k_quantize_q8_0_avx2(void *dst, const float *x, int n);
float k_dot_q8_0_avx2(const void *w, const void *x, int n);
float k_dot_q8_0_avx512(const void *w, const void *x, int n);
float k_dot_q4_0_avx2(const void *w, const void *x, int n);
float k_dot_q4_0_avx512(const void *w, const void *x, int n);
float k_dot_f32_avx2(const void *w, const void *x, int n);
float k_dot_f16_avx2(const void *w, const void *x, int n);
float k_dot_bf16_avx2(const void *w, const void *x, int n);
void k_axpy_avx2(float *y, float a, const float *x, int n);
void k_exp_avx2(float *y, const float *x, int n);        /* act.c */
void k_exp_avx512(float *y, const float *x, int n);      /* attn.c, the same polynomial */
void k_swiglu_avx2(float *g, const float *u, int n);

/* qmm.c: products over several vectors at once (AVX-512 VNNI).
 * k_xpack_avx512() quantises one activation vector of `cols` floats (a
 * multiple of 32) to Q8_0 as k_quantize_q8_0 does and lays it out for
 * k_qmm_avx512 in k_xpack_bytes(cols) bytes at a 64-byte aligned address.
 * k_qmm_avx512(): y[j * ldy + r] = row r of W (Q8_0 or Q4_0, rb bytes per
 * row) . vector j, for r0 <= r < r1 and j < n, vectors xs bytes apart (xs
 * a multiple of 64).
 * k_fmm_avx512(): the same for F16 or BF16 rows and f32 vectors ldx apart.
 * A (row, vector) result never depends on r0, r1 or n. */
void k_xpack_avx512(void *dst, const float *x, int cols);
void k_qmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xp,
                  size_t xs, int n, float *y, int ldy);
void k_fmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const float *x, int ldx, int n,
                  float *y, int ldy);

/* kqmm.c: the same for Q4_K / Q6_K rows and Q8_K activation blocks
 * (k_quantize_q8_K), vectors xs bytes apart; cols a multiple of 256. */
void k_kmm_avx512(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xk,
                  size_t xs, int n, float *y, int ldy);
/* qmm_avx2.c: the same for Q8_0 / Q4_0 rows with AVX2, on Q8_0
 * activation blocks (k_quantize_q8_0), vectors xs bytes apart. */
void k_qmm_avx2(ggml_type_t type, const void *w, size_t rb, int r0, int r1, int cols, const void *xq, size_t xs,
                int n, float *y, int ldy);
/* How far ahead (bytes) the multi-vector kernels prefetch a matrix of
 * rb-byte rows (qmm.c). */
size_t k_pf_distance(size_t rb);
#endif
size_t k_xpack_bytes(int cols);

#endif
