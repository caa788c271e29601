/* quant.h -- tensor element types: sizes, block layouts, conversions.
 *
 * GGUF tensors are stored in ggml's formats. A row of n elements of type T
 * is n / blck_size(T) blocks of type_size(T) bytes each; the block structs
 * below are byte-for-byte ggml's memory layouts (all fields little-endian,
 * no padding: every struct's sizeof is checked at compile time), so kernels
 * may cast tensor data to them directly.
 *
 * Dequantisation follows ggml's reference semantics exactly (same formula,
 * same order of float operations), so a model dequantised here gives the
 * same f32 weights llama.cpp's "exact dequant" path gives. Quantisation is
 * provided for tests and tools; for Q8_0/Q4_0 it follows ggml's reference
 * rounding, the K-quant quantisers are simpler (valid blocks, slightly
 * larger error than llama.cpp's search-based ones). */
#ifndef COPYD_LLM_QUANT_H
#define COPYD_LLM_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "llm/gguf.h"

/* Elements per block. */
#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t ggml_half; /* IEEE 754 binary16 bits */

/* y = d * (q - 8), q the 4-bit value; element j in the low nibble of qs[j],
 * element j+16 in the high nibble. */
typedef struct { ggml_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
/* y = d * q + m */
typedef struct { ggml_half d; ggml_half m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
/* 5-bit: low 4 bits as in q4_0, bit 4 of element j is bit j of qh (u32 LE);
 * y = d * (q - 16) */
typedef struct { ggml_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
/* y = d * q + m */
typedef struct { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
/* y = d * q */
typedef struct { ggml_half d; int8_t qs[QK8_0]; } block_q8_0;
/* s = d * sum(qs) (used for activations only) */
typedef struct { ggml_half d; ggml_half s; int8_t qs[QK8_1]; } block_q8_1;

/* K-quants: 256-element super-blocks of 16 or 8 sub-blocks. */
/* 16 sub-blocks of 16: scales[i] = scale (low 4 bits) | min (high 4 bits);
 * y = d * sc * q - dmin * m, q 2-bit. */
typedef struct {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    ggml_half d;
    ggml_half dmin;
} block_q2_K;
/* 16 sub-blocks of 16, 6-bit signed scales (offset 32) packed in 12 bytes;
 * q = 2 low bits from qs, minus 4 when the hmask bit is CLEAR; y = d*sc*q. */
typedef struct {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    ggml_half d;
} block_q3_K;
/* 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes;
 * y = d * sc * q - dmin * m, q 4-bit. */
typedef struct {
    ggml_half d;
    ggml_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;
/* as q4_K with a fifth bit per element in qh. */
typedef struct {
    ggml_half d;
    ggml_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
/* 16 sub-blocks of 16, int8 scales; q = 6 bits (4 in ql, 2 in qh) - 32;
 * y = d * sc * q. */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    ggml_half d;
} block_q6_K;
/* Activations for K-quant dot products: float scale, bsums[i] = sum of
 * qs[16i .. 16i+15]. */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1 layout");
_Static_assert(sizeof(block_q2_K) == 84, "block_q2_K layout");
_Static_assert(sizeof(block_q3_K) == 110, "block_q3_K layout");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K layout");

typedef struct ggml_type_traits {
    const char *name;      /* "f32", "q4_K", ... (ggml's names) */
    int blck_size;         /* elements per block */
    size_t type_size;      /* bytes per block */
    int can_dequantize;    /* dequantize_row() supports it */
} ggml_type_traits_t;

/* Traits of a ggml type number (including types copyd cannot compute with,
 * so files holding them still parse); NULL for unknown numbers. */
const ggml_type_traits_t *ggml_type_traits(ggml_type_t t);
/* Bytes of a row of n elements; 0 when the type is unknown, n is not a
 * multiple of the block size, or the size overflows. */
uint64_t ggml_row_bytes(ggml_type_t t, uint64_t n);
/* "q4_K", or "type 99" style text in a static buffer for unknown numbers
 * (not thread-safe for unknown numbers; fine for messages). */
const char *ggml_type_name(ggml_type_t t);

/* n elements of `src` (n / blck_size blocks) to floats. 0, or -1 when the
 * type is unsupported or n is not a multiple of its block size. */
int dequantize_row(ggml_type_t t, const void *src, float *dst, int64_t n);
/* The reverse, for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
 * Q6_K; -1 otherwise or for bad n. */
int quantize_row(ggml_type_t t, const float *src, void *dst, int64_t n);

/* Exact conversions: fp16 -> fp32 is exact for every value (subnormals,
 * infinities, NaN payload kept); fp32 -> fp16 / bf16 round to nearest,
 * ties to even, overflow to infinity, NaN stays NaN (quiet). */
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

#endif
