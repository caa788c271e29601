/* attn.c -- attention of one group of query heads over one sequence's
 * keys and values, fast path (k_attn_fast in kernels.h).
 *
 * In grouped-query attention several query heads (7 in Qwen2-0.5B) share
 * one key/value head. Done head by head, every key and value row is read
 * once per query head, each position costs two function calls (a dot
 * product, an axpy whose output goes to memory and back) and a libm
 * expf: a quarter of a 4-sequence decoding step at a context of ~200.
 * Here the AVX-512 version takes the group at once:
 *   scores   four positions at a time: their key rows stay in L1 while
 *            every head of the group passes over them, and the four dot
 *            products are reduced together (one shuffle tree instead of
 *            four horizontal sums);
 *   softmax  the SIMD exp of act.c, 16 scores at a time; the division by
 *            the sum is applied once to the output instead of to every
 *            weight;
 *   values   two heads at a time share each value row load, with the
 *            output vectors held in registers for the whole sum.
 * Head sizes 32, 64, 96 and 128 take that path; other sizes, and CPUs
 * without AVX-512, the head-by-head one. Either way a head's result
 * depends only on its own inputs, never on how many heads or sequences
 * share the call, so batched and one-at-a-time decoding agree bit for bit. */
#include "llm/kernels/simd.h"

#include <math.h>
#include <string.h>

/* Head by head with the fast dot and axpy (any head size, any ISA). */
static void attn_generic(float *out, const float *q, int n_q, const float *k, const float *v, size_t ld, int n_pos,
                         int hd, float scale, float *att) {
    for (int g = 0; g < n_q; g++) {
        const float *qg = q + (size_t)g * hd;
        float *og = out + (size_t)g * hd;
        for (int t = 0; t < n_pos; t++) att[t] = k_dot_fast(qg, k + (size_t)t * ld, hd) * scale;
        k_softmax(att, n_pos);
        memset(og, 0, (size_t)hd * sizeof(float));
        for (int t = 0; t < n_pos; t++) k_axpy_fast(og, att[t], v + (size_t)t * ld, hd);
    }
}

#if K_X86
#include <immintrin.h>

#define AI __attribute__((always_inline)) static inline

/* exp(x), 16 lanes: the polynomial of act.c's SwiGLU (simd.h). */
K_DEFINE_EXP(exp16, 512, K_AVX512)

K_AVX512 void k_exp_avx512(float *y, const float *x, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* The four sums of s0..s3's lanes, in that order. */
AI K_AVX512 __m128 reduce4(__m512 s0, __m512 s1, __m512 s2, __m512 s3) {
    const __m512 a = _mm512_add_ps(_mm512_unpacklo_ps(s0, s1), _mm512_unpackhi_ps(s0, s1));
    const __m512 b = _mm512_add_ps(_mm512_unpacklo_ps(s2, s3), _mm512_unpackhi_ps(s2, s3));
    /* a: per 128-bit lane (s0, s1, s0, s1) partial sums; b: (s2, s3, s2, s3) */
    const __m512 c = _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    /* c: per 128-bit lane (s0, s1, s2, s3); add the four lanes */
    const __m256 d = _mm256_add_ps(_mm512_castps512_ps256(c),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
}

/* Softmax weights of one head, unnormalised: e[t] = exp(s[t] - max), in
 * place; returns 1 / sum e. */
AI K_AVX512 float softmax_row(float *s, int n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int t = 0;
    for (; t + 16 <= n; t += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + t));
    const __mmask16 tail = (__mmask16)((1u << (n - t)) - 1);
    if (t < n) mx = _mm512_mask_max_ps(mx, tail, mx, _mm512_maskz_loadu_ps(tail, s + t));
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (t = 0; t + 16 <= n; t += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + t), m));
        _mm512_storeu_ps(s + t, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (t < n) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + t), m));
        _mm512_mask_storeu_ps(s + t, tail, e);
        sum = _mm512_mask_add_ps(sum, tail, sum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(sum);
}

/* One group, head size NC x 16. */
AI K_AVX512 void attn_nc(float *out, const float *q, int n_q, const float *k, const float *v, size_t ld, int n_pos,
                         float scale, float *att, const int NC) {
    const int hd = NC * 16;
    const __m128 sc = _mm_set1_ps(scale);
    /* scores, four positions at a time (their key rows stay in L1 for the
     * whole group) */
    int t = 0;
    for (; t + 4 <= n_pos; t += 4) {
        const float *k0 = k + (size_t)t * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
        /* the cache was last read a whole decoding step ago (all the
         * weights streamed through since): fetch keys 16 positions ahead,
         * and this step's value rows into L2 for the second half */
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < NC; c++) { /* one 64-byte line per 16 floats */
                _mm_prefetch((const char *)(k0 + (size_t)(16 + r) * ld + 16 * c), _MM_HINT_T0);
                _mm_prefetch((const char *)(v + (size_t)(t + r) * ld + 16 * c), _MM_HINT_T1);
            }
        for (int g = 0; g < n_q; g++) {
            const float *qg = q + (size_t)g * hd;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int c = 0; c < NC; c++) {
                const __m512 qc = _mm512_loadu_ps(qg + 16 * c);
                s0 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k0 + 16 * c), s0);
                s1 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k1 + 16 * c), s1);
                s2 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k2 + 16 * c), s2);
                s3 = _mm512_fmadd_ps(qc, _mm512_loadu_ps(k3 + 16 * c), s3);
            }
            _mm_storeu_ps(att + (size_t)g * n_pos + t, _mm_mul_ps(reduce4(s0, s1, s2, s3), sc));
        }
    }
    for (; t < n_pos; t++) {
        const float *kt = k + (size_t)t * ld;
        for (int g = 0; g < n_q; g++) {
            const float *qg = q + (size_t)g * hd;
            __m512 s = _mm512_setzero_ps();
            for (int c = 0; c < NC; c++) s = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * c), _mm512_loadu_ps(kt + 16 * c), s);
            att[(size_t)g * n_pos + t] = _mm512_reduce_add_ps(s) * scale;
        }
    }
    float inv[K_ATTN_MAX_Q];
    for (int g = 0; g < n_q; g++) inv[g] = softmax_row(att + (size_t)g * n_pos, n_pos);
    /* values: two heads at a time share each row load */
    int g = 0;
    for (; g + 2 <= n_q; g += 2) {
        const float *a0 = att + (size_t)g * n_pos, *a1 = a0 + n_pos;
        __m512 o0[NC], o1[NC];
        for (int c = 0; c < NC; c++) o0[c] = o1[c] = _mm512_setzero_ps();
        for (int u = 0; u < n_pos; u++) {
            const float *vt = v + (size_t)u * ld;
            const __m512 w0 = _mm512_set1_ps(a0[u]), w1 = _mm512_set1_ps(a1[u]);
            for (int c = 0; c < NC; c++) {
                const __m512 vc = _mm512_loadu_ps(vt + 16 * c);
                o0[c] = _mm512_fmadd_ps(w0, vc, o0[c]);
                o1[c] = _mm512_fmadd_ps(w1, vc, o1[c]);
            }
        }
        const __m512 i0 = _mm512_set1_ps(inv[g]), i1 = _mm512_set1_ps(inv[g + 1]);
        for (int c = 0; c < NC; c++) {
            _mm512_storeu_ps(out + (size_t)g * hd + 16 * c, _mm512_mul_ps(o0[c], i0));
            _mm512_storeu_ps(out + (size_t)(g + 1) * hd + 16 * c, _mm512_mul_ps(o1[c], i1));
        }
    }
    if (g < n_q) {
        /* a last head alone: even and odd positions in two sets of sums,
         * so the FMA chains are as many as for a pair */
        const float *a0 = att + (size_t)g * n_pos;
        __m512 o0[NC], o1[NC];
        for (int c = 0; c < NC; c++) o0[c] = o1[c] = _mm512_setzero_ps();
        int u = 0;
        for (; u + 2 <= n_pos; u += 2) {
            const float *v0 = v + (size_t)u * ld, *v1 = v0 + ld;
            const __m512 w0 = _mm512_set1_ps(a0[u]), w1 = _mm512_set1_ps(a0[u + 1]);
            for (int c = 0; c < NC; c++) {
                o0[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v0 + 16 * c), o0[c]);
                o1[c] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(v1 + 16 * c), o1[c]);
            }
        }
        if (u < n_pos) {
            const float *v0 = v + (size_t)u * ld;
            const __m512 w0 = _mm512_set1_ps(a0[u]);
            for (int c = 0; c < NC; c++) o0[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v0 + 16 * c), o0[c]);
        }
        const __m512 i0 = _mm512_set1_ps(inv[g]);
        for (int c = 0; c < NC; c++)
            _mm512_storeu_ps(out + (size_t)g * hd + 16 * c, _mm512_mul_ps(_mm512_add_ps(o0[c], o1[c]), i0));
    }
}

K_AVX512 static void attn_avx512(float *out, const float *q, int n_q, const float *k, const float *v, size_t ld,
                                 int n_pos, int hd, float scale, float *att) {
    switch (hd) {
    case 32: attn_nc(out, q, n_q, k, v, ld, n_pos, scale, att, 2); break;
    case 64: attn_nc(out, q, n_q, k, v, ld, n_pos, scale, att, 4); break;
    case 96: attn_nc(out, q, n_q, k, v, ld, n_pos, scale, att, 6); break;
    default: attn_nc(out, q, n_q, k, v, ld, n_pos, scale, att, 8); break; /* 128 */
    }
}
#endif

int k_attn_simd(int hd) {
#if K_X86
    if (k_isa() >= K_ISA_AVX512 && (hd == 32 || hd == 64 || hd == 96 || hd == 128)) return 1;
#endif
    (void)hd;
    return 0;
}

void k_attn_fast(float *out, const float *q, int n_q, const float *k, const float *v, size_t ld, int n_pos, int hd,
                 float scale, float *att) {
    if (n_q < 1 || n_pos < 1 || hd < 1) return;
#if K_X86
    if (n_q <= K_ATTN_MAX_Q && k_attn_simd(hd)) {
        attn_avx512(out, q, n_q, k, v, ld, n_pos, hd, scale, att);
        return;
    }
#endif
    attn_generic(out, q, n_q, k, v, ld, n_pos, hd, scale, att);
}
