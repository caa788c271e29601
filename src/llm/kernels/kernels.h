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

/* SwiGLU: g[i] = silu(g[i]) * u[i], silu(x) = x / (1 + exp(-x)). */
void k_swiglu(float *g, const float *u, int n);

/* y[i] += x[i] */
void k_add(float *y, const float *x, int n);

#endif
