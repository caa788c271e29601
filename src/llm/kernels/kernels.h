/* kernels.h -- the numeric building blocks of the forward pass.
 *
 * Small scalar loops, each doing one thing, in f32. They are written for
 * clarity and exactness, not speed: a faster (SIMD, threaded) version can
 * replace one kernel at a time and be checked against these.
 *
 * Weight matrices are ggml tensors: `rows` rows of `cols` elements, each row
 * ggml_row_bytes(type, cols) bytes, row r starting at r * that. Quantised
 * rows are dequantised exactly (quant.h) into a caller-provided scratch
 * buffer of `cols` floats, so every dot product is a plain f32 sum taken in
 * element order (the order llama2.c's run.c uses). */
#ifndef COPYD_LLM_KERNELS_H
#define COPYD_LLM_KERNELS_H

#include <stdint.h>

#include "llm/gguf.h"

/* Sum of a[i] * b[i], accumulated in f32 in index order. */
float k_dot(const float *a, const float *b, int n);

/* y[r] = dot(W row r, x) for r < rows. `rowbuf` holds `cols` floats
 * (unused for F32). 0, or -1 when the type cannot be dequantised or cols is
 * not a multiple of its block size. */
int k_matvec(float *y, const void *w, ggml_type_t type, int rows, int cols,
             const float *x, float *rowbuf);

/* dst = row `row` of W as floats (embedding lookup). 0 or -1 as above. */
int k_get_row(float *dst, const void *w, ggml_type_t type, int cols, int64_t row);

/* o = x / sqrt(mean(x^2) + eps) * w. o may alias x. */
void k_rmsnorm(float *o, const float *x, const float *w, int n, float eps);

/* In place: x = exp(x - max) / sum. n >= 1. */
void k_softmax(float *x, int n);

/* Rotary position embedding of one head vector `v` (head_dim floats) at
 * position `pos`: its first n_rot elements (even) rotate, pair j by angle
 * pos * scale * base^(-2j / n_rot); the rest pass through.
 * neox = 0: pair j is (2j, 2j+1)     (llama, llama2.c);
 * neox = 1: pair j is (j, j + n_rot/2) (qwen2, GPT-NeoX). */
void k_rope(float *v, int n_rot, int pos, float base, float scale, int neox);

/* k_rope in two steps, for many heads at one position: k_rope_table()
 * writes the n_rot/2 (cos, sin) pairs of `pos` into cs (n_rot floats);
 * k_rope_apply() rotates one head with them. Same numbers as k_rope. */
void k_rope_table(float *cs, int n_rot, int pos, float base, float scale);
void k_rope_apply(float *v, const float *cs, int n_rot, int neox);

/* SwiGLU: g[i] = silu(g[i]) * u[i], silu(x) = x / (1 + exp(-x)). */
void k_swiglu(float *g, const float *u, int n);

/* y[i] += x[i] */
void k_add(float *y, const float *x, int n);

/* ---- fast path ---------------------------------------------------------
 *
 * The kernels above are the reference. The ones below are what a forward
 * pass uses in fast mode: SIMD versions chosen at run time from the CPU's
 * features (AVX2+FMA+F16C, AVX-512 with VNNI), a persistent thread pool,
 * and matrix products over several input vectors at once that read each
 * weight row once for all of them. Every SIMD kernel has a scalar
 * counterpart it is tested against (tests/unit/test_kernels.c). */

/* Instruction set levels. k_isa() is the level in use: the best the CPU
 * has, lowered by the environment variable COPYD_LLM_ISA ("scalar", "avx2")
 * or by k_set_isa() (tests); k_set_isa() returns the level in effect, which
 * is never above what the CPU supports. */
enum { K_ISA_SCALAR = 0, K_ISA_AVX2 = 1, K_ISA_AVX512 = 2 };
int k_isa(void);
int k_isa_supported(void);
int k_set_isa(int isa);

/* Thread pool (threads.c). A section fn(ctx, ith, nth) runs on nth threads
 * at once, ith = 0..nth-1, the caller being thread 0; k_parallel() returns
 * when all are done. nth <= max_threads and <= k_threads(); when the pool
 * is busy with another caller's section, nth = 1 (runs inline). */
typedef void (*k_task_fn)(void *ctx, int ith, int nth);
void k_parallel(k_task_fn fn, void *ctx, int max_threads);
int k_threads(void);
/* n <= 0: COPYD_THREADS or the CPU count. Returns the count in effect. */
int k_set_threads(int n);

/* Activations quantised for integer dot products: ggml's Q8_0 blocks (an
 * fp16 scale d = max|x| / 127 and 32 int8), n a multiple of 32. */
void k_quantize_q8_0(void *dst, const float *x, int n);

/* Activations for the K-quant kernels: ggml's Q8_K blocks (f32 scale,
 * 256 int8, 16 sums of 16), n a multiple of 256; as ggml's reference
 * quantiser (rounding to nearest even), AVX2 when available (the same
 * numbers). */
void k_quantize_q8_K(void *dst, const float *x, int n);
int k_act_q8_K(ggml_type_t type); /* Q4_K, Q6_K */

/* Dot product of one weight row (n elements of `type`) with an activation
 * row: Q8_0 blocks (k_quantize_q8_0) when k_act_q8_0(type), Q8_K blocks
 * (k_quantize_q8_K) when k_act_q8_K(type), else floats.
 * `isa` picks the implementation; NULL when the type has no kernel at that
 * level (see k_isa_supported). The scalar ones are the definition:
 *   F32/F16/BF16: sum of w[i] * x[i] in f32 (any order);
 *   Q8_0 / Q4_0: per block, the integer sum of w.q * x.q, times
 *                fp16(w.d) * fp16(x.d), summed in f32 (ggml's formula);
 *   Q4_K / Q6_K: per super-block, exact integer sums (sub-block scales
 *                times integer dots; Q4_K's minimums through x.bsums),
 *                times the float scales; the AVX2 results are
 *                bit-identical (k_matmul's AVX-512 kernels, kqmm.c, keep
 *                the integers exact but add the float terms lane-wise).
 * Other K-quants have no kernel: k_matmul dequantises their rows. */
typedef float (*k_dot_fn)(const void *w, const void *x, int n);
k_dot_fn k_dot_kernel(ggml_type_t type, int isa);
int k_act_q8_0(ggml_type_t type);

/* A matrix in a product: rows x cols of `type` at w; output row j of the
 * product (for input vector j) is y + j * ldy, rows floats. */
typedef struct k_mat {
    const void *w;
    ggml_type_t type;
    int rows;
    float *y;
    int ldy;
} k_mat_t;

/* For each of n_mat matrices sharing the input: y_j = W x_j for the n
 * vectors x_j = x + j * ldx (cols floats each), threaded over rows, each
 * weight row read once for all n vectors. exact = 1: the reference numbers
 * (dequantised rows, k_dot), as k_matvec gives; exact = 0: the fast kernels
 * (Q8_0/Q4_0 with Q8_0 activations, Q4_K/Q6_K with Q8_K activations, SIMD
 * f32 sums for F32/F16/BF16; other types dequantise each row once and take
 * SIMD f32 dots). With AVX-512, Q8_0/Q4_0/F16/BF16 (qmm.c) and Q4_K/Q6_K
 * (kqmm.c) go through the multi-vector kernels for any n, so batched
 * results equal one-vector ones; with AVX2 only, Q8_0/Q4_0 do
 * (qmm_avx2.c).
 * 0, or -1 (unsupported type, cols not a multiple of the block size, out
 * of memory). */
int k_matmul(const k_mat_t *mats, int n_mat, int cols, const float *x, int ldx, int n, int exact);

/* Attention of one group of n_q (1..K_ATTN_MAX_Q) query heads sharing a
 * key/value head (grouped-query attention), fast path: query g is the hd
 * floats at q + g * hd; position t's key and value rows are k + t * ld and
 * v + t * ld, t < n_pos. Writes out + g * hd = sum over t of
 * softmax_t(scale * q_g . k_t) v_t. att: scratch of n_q * n_pos floats.
 * With AVX-512 and hd 32/64/96/128 (k_attn_simd) every key and value row
 * is loaded once for the whole group and the softmax takes the SIMD exp
 * (attn.c); otherwise head by head with k_dot_fast, k_softmax and
 * k_axpy_fast. A head's numbers depend only on its own inputs. */
#define K_ATTN_MAX_Q 8
void k_attn_fast(float *out, const float *q, int n_q, const float *k, const float *v, size_t ld, int n_pos, int hd,
                 float scale, float *att);
int k_attn_simd(int hd);

/* Fast f32 helpers for attention (SIMD when available). */
float k_dot_fast(const float *a, const float *b, int n);
void k_axpy_fast(float *y, float a, const float *x, int n); /* y += a * x */
/* The largest of x[0..n-1], NaNs ignored; -INFINITY when there is none
 * (greedy sampling scans 151936 logits per token). */
float k_max_fast(const float *x, int n);
/* k_swiglu() with a SIMD exp (act.c: within 2 ulp of expf) when available. */
void k_swiglu_fast(float *g, const float *u, int n);

#endif
