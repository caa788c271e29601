/* quant.c -- ggml tensor types: traits, exact float conversions,
 * dequantisation (ggml reference semantics) and simple quantisers.
 *
 * Host byte order is assumed little-endian (as GGUF files are): the block
 * structs are read in place. Dequantisers do the same float operations in
 * the same order as ggml's reference code, so results are bit-identical. */
#include "llm/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- type table -------------------------------------------------------- */

#define T(num, nm, blk, sz, deq) [num] = {nm, blk, sz, deq}
static const ggml_type_traits_t type_table[GGML_TYPE__COUNT] = {
    T(0, "f32", 1, 4, 1),
    T(1, "f16", 1, 2, 1),
    T(2, "q4_0", 32, 18, 1),
    T(3, "q4_1", 32, 20, 1),
    /* 4 and 5 (q4_2, q4_3) were removed from ggml long ago */
    T(6, "q5_0", 32, 22, 1),
    T(7, "q5_1", 32, 24, 1),
    T(8, "q8_0", 32, 34, 1),
    T(9, "q8_1", 32, 36, 1),
    T(10, "q2_K", 256, 84, 1),
    T(11, "q3_K", 256, 110, 1),
    T(12, "q4_K", 256, 144, 1),
    T(13, "q5_K", 256, 176, 1),
    T(14, "q6_K", 256, 210, 1),
    T(15, "q8_K", 256, 292, 1),
    /* Known so that files holding them parse; copyd cannot compute with
     * them. Sizes as in ggml (gguf-py GGML_QUANT_SIZES). */
    T(16, "iq2_xxs", 256, 66, 0),
    T(17, "iq2_xs", 256, 74, 0),
    T(18, "iq3_xxs", 256, 98, 0),
    T(19, "iq1_s", 256, 50, 0),
    T(20, "iq4_nl", 32, 18, 0),
    T(21, "iq3_s", 256, 110, 0),
    T(22, "iq2_s", 256, 82, 0),
    T(23, "iq4_xs", 256, 136, 0),
    T(24, "i8", 1, 1, 0),
    T(25, "i16", 1, 2, 0),
    T(26, "i32", 1, 4, 0),
    T(27, "i64", 1, 8, 0),
    T(28, "f64", 1, 8, 0),
    T(29, "iq1_m", 256, 56, 0),
    T(30, "bf16", 1, 2, 1),
    /* 31..33 were removed (q4_0_4_4 ...) */
    T(34, "tq1_0", 256, 54, 0),
    T(35, "tq2_0", 256, 66, 0),
    /* 36..38 removed (iq4_nl_4_4 ...) */
    T(39, "mxfp4", 32, 17, 0),
};
#undef T

const ggml_type_traits_t *ggml_type_traits(ggml_type_t t) {
    if ((unsigned)t >= GGML_TYPE__COUNT || !type_table[t].name) return NULL;
    return &type_table[t];
}

uint64_t ggml_row_bytes(ggml_type_t t, uint64_t n) {
    const ggml_type_traits_t *tr = ggml_type_traits(t);
    if (!tr || n % (uint64_t)tr->blck_size) return 0;
    uint64_t blocks = n / (uint64_t)tr->blck_size;
    if (blocks > UINT64_MAX / tr->type_size) return 0;
    return blocks * tr->type_size;
}

const char *ggml_type_name(ggml_type_t t) {
    static char buf[32];
    const ggml_type_traits_t *tr = ggml_type_traits(t);
    if (tr) return tr->name;
    snprintf(buf, sizeof buf, "type %d", (int)t);
    return buf;
}

/* ---- float conversions ------------------------------------------------- */

static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan: payload kept */
        return f32_from_bits(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0) return f32_from_bits(sign);
        /* subnormal: mant * 2^-24, normalise into an f32 normal */
        int e = -1;
        do { mant <<= 1; e++; } while (!(mant & 0x400));
        mant &= 0x3ff;
        return f32_from_bits(sign | ((uint32_t)(113 - 1 - e) << 23) | (mant << 13));
    }
    return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t fp32_to_fp16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
        return sign | 0x7e00 | (uint16_t)((x >> 13) & 0x3ff);
    if (x >= 0x477ff000u) /* >= 65520 rounds to infinity (ties to even) */
        return sign | 0x7c00;
    if (x < 0x38800000u) { /* below 2^-14: half subnormal (or zero) */
        uint32_t e = x >> 23;
        uint32_t m = (x & 0x7fffff) | (e ? 0x800000u : 0);
        if (!e) return sign; /* f32 subnormals are far below 2^-25 */
        /* value = m * 2^(e-150); in units of 2^-24: m * 2^(e-126) */
        uint32_t shift = 126 - e; /* >= 14 here */
        if (shift > 24) return sign;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return sign | (uint16_t)r; /* r == 0x400 is the smallest normal: correct */
    }
    uint32_t r = ((x >> 23) - 112) << 10 | ((x >> 13) & 0x3ff);
    uint32_t rem = x & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* carry into exponent is right */
    return sign | (uint16_t)r;
}

float bf16_to_fp32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

uint16_t fp32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

#define H2F(h) fp16_to_fp32(h)

/* ---- dequantisation ---------------------------------------------------- */

static void deq_q4_0(const block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i * QK4_0 + j] = ((x[i].qs[j] & 0x0f) - 8) * d;
            y[i * QK4_0 + j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void deq_q4_1(const block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[i * QK4_1 + j] = (x[i].qs[j] & 0x0f) * d + m;
            y[i * QK4_1 + j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void deq_q5_0(const block_q5_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const uint32_t qh = le32(x[i].qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const uint8_t h0 = ((qh >> j) << 4) & 0x10;
            const uint8_t h1 = (qh >> (j + 12)) & 0x10;
            y[i * QK5_0 + j] = (((x[i].qs[j] & 0x0f) | h0) - 16) * d;
            y[i * QK5_0 + j + QK5_0 / 2] = (((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

static void deq_q5_1(const block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        const uint32_t qh = le32(x[i].qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const uint8_t h0 = ((qh >> j) << 4) & 0x10;
            const uint8_t h1 = (qh >> (j + 12)) & 0x10;
            y[i * QK5_1 + j] = ((x[i].qs[j] & 0x0f) | h0) * d + m;
            y[i * QK5_1 + j + QK5_1 / 2] = ((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

static void deq_q8_0(const block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = x[i].qs[j] * d;
    }
}

static void deq_q8_1(const block_q8_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK8_1; j++) y[i * QK8_1 + j] = x[i].qs[j] * d;
    }
}

static void deq_q2_K(const block_q2_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                uint8_t sc = x[i].scales[is++];
                float dl = d * (sc & 0xf), ml = dmin * (sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * ((int8_t)((q[l] >> shift) & 3)) - ml;
                sc = x[i].scales[is++];
                dl = d * (sc & 0xf), ml = dmin * (sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3)) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

/* The 16 6-bit scales of a q3_K block: low 4 bits in the nibbles of bytes
 * 0..7 (low nibbles for scales 0..7, high for 8..15), high 2 bits in bytes
 * 8..11 (2 bits per scale, scale i at byte 8 + i%4, bits 2*(i/4)). */
static int q3k_scale(const uint8_t *s, int i) {
    int lo = i < 8 ? (s[i] & 0xf) : (s[i - 8] >> 4);
    int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    return (lo | hi << 4) - 32;
}

static void deq_q3_K(const block_q3_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d_all = H2F(x[i].d);
        const uint8_t *q = x[i].qs, *hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                float dl = d_all * q3k_scale(x[i].scales, is++);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * ((int8_t)((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                dl = d_all * q3k_scale(x[i].scales, is++);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m <<= 1;
            }
            q += 32;
        }
    }
}

/* Scale and min j (0..7) of a q4_K / q5_K block, 6 bits each in 12 bytes:
 * j < 4: low 6 bits of bytes j and j+4; j >= 4: low nibble / high nibble of
 * byte j+4 plus the top 2 bits of bytes j-4 / j. */
static void k4_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void deq_q4_K(const block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *q = x[i].qs;
        const float d = H2F(x[i].d), min = H2F(x[i].dmin);
        int is = 0;
        uint8_t sc, m;
        for (int j = 0; j < QK_K; j += 64) {
            k4_scale_min(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            k4_scale_min(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xf) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

static void deq_q5_K(const block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = H2F(x[i].d), min = H2F(x[i].dmin);
        int is = 0;
        uint8_t sc, m, u1 = 1, u2 = 2;
        for (int j = 0; j < QK_K; j += 64) {
            k4_scale_min(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            k4_scale_min(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}

static void deq_q6_K(const block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                const int8_t q1 = (int8_t)((ql[l + 0] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int8_t q2 = (int8_t)((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int8_t q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

static void deq_q8_K(const block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++)
        for (int j = 0; j < QK_K; j++) *y++ = x[i].d * x[i].qs[j];
}

int dequantize_row(ggml_type_t t, const void *src, float *dst, int64_t n) {
    const ggml_type_traits_t *tr = ggml_type_traits(t);
    if (!tr || !tr->can_dequantize || n < 0 || n % tr->blck_size) return -1;
    const int64_t nb = n / tr->blck_size;
    switch (t) {
    case GGML_TYPE_F32: memcpy(dst, src, (size_t)n * 4); return 0;
    case GGML_TYPE_F16: {
        const uint8_t *p = src;
        for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return 0;
    }
    case GGML_TYPE_BF16: {
        const uint8_t *p = src;
        for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return 0;
    }
    case GGML_TYPE_Q4_0: deq_q4_0(src, dst, nb); return 0;
    case GGML_TYPE_Q4_1: deq_q4_1(src, dst, nb); return 0;
    case GGML_TYPE_Q5_0: deq_q5_0(src, dst, nb); return 0;
    case GGML_TYPE_Q5_1: deq_q5_1(src, dst, nb); return 0;
    case GGML_TYPE_Q8_0: deq_q8_0(src, dst, nb); return 0;
    case GGML_TYPE_Q8_1: deq_q8_1(src, dst, nb); return 0;
    case GGML_TYPE_Q2_K: deq_q2_K(src, dst, nb); return 0;
    case GGML_TYPE_Q3_K: deq_q3_K(src, dst, nb); return 0;
    case GGML_TYPE_Q4_K: deq_q4_K(src, dst, nb); return 0;
    case GGML_TYPE_Q5_K: deq_q5_K(src, dst, nb); return 0;
    case GGML_TYPE_Q6_K: deq_q6_K(src, dst, nb); return 0;
    case GGML_TYPE_Q8_K: deq_q8_K(src, dst, nb); return 0;
    default: return -1;
    }
}

/* ---- quantisation ------------------------------------------------------ */

static int nearest_int(float f) { return (int)lrintf(f); }

static void q_q8_0(const float *x, block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* Type-0 4-bit: the value of largest magnitude maps to -8 exactly. */
static void q_q4_0(const float *x, block_q4_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK4_0) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK4_0; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int a = (int)(x[j] * id + 8.5f), b = (int)(x[j + QK4_0 / 2] * id + 8.5f);
            a = a < 0 ? 0 : a > 15 ? 15 : a;
            b = b < 0 ? 0 : b > 15 ? 15 : b;
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

static void q_q4_1(const float *x, block_q4_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK4_1) {
        float min = x[0], max = x[0];
        for (int j = 1; j < QK4_1; j++) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
        const float d = (max - min) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int a = (int)((x[j] - min) * id + 0.5f), b = (int)((x[j + QK4_1 / 2] - min) * id + 0.5f);
            a = a > 15 ? 15 : a;
            b = b > 15 ? 15 : b;
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

static void q_q5_0(const float *x, block_q5_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK5_0) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK5_0; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -16, id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            int a = (int)(x[j] * id + 16.5f), b = (int)(x[j + QK5_0 / 2] * id + 16.5f);
            a = a < 0 ? 0 : a > 31 ? 31 : a;
            b = b < 0 ? 0 : b > 31 ? 31 : b;
            y[i].qs[j] = (uint8_t)((a & 0xf) | (b & 0xf) << 4);
            qh |= (uint32_t)((a >> 4) & 1) << j;
            qh |= (uint32_t)((b >> 4) & 1) << (j + QK5_0 / 2);
        }
        for (int k = 0; k < 4; k++) y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

static void q_q5_1(const float *x, block_q5_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK5_1) {
        float min = x[0], max = x[0];
        for (int j = 1; j < QK5_1; j++) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
        const float d = (max - min) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            int a = (int)((x[j] - min) * id + 0.5f), b = (int)((x[j + QK5_1 / 2] - min) * id + 0.5f);
            a = a > 31 ? 31 : a;
            b = b > 31 ? 31 : b;
            y[i].qs[j] = (uint8_t)((a & 0xf) | (b & 0xf) << 4);
            qh |= (uint32_t)((a >> 4) & 1) << j;
            qh |= (uint32_t)((b >> 4) & 1) << (j + QK5_1 / 2);
        }
        for (int k = 0; k < 4; k++) y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

/* Q4_K, straightforward: per 32-element sub-block scale = (max-min)/15 and
 * min = -min(0, min x); the 8 scales and 8 mins are themselves quantised to
 * 6 bits against d and dmin. No search, unlike llama.cpp. */
static void q_q4_K(const float *x, block_q4_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float scales[8], mins[8], max_scale = 0, max_min = 0;
        for (int s = 0; s < 8; s++) {
            float mn = x[32 * s], mx = x[32 * s];
            for (int l = 1; l < 32; l++) { mn = fminf(mn, x[32 * s + l]); mx = fmaxf(mx, x[32 * s + l]); }
            if (mn > 0) mn = 0;
            scales[s] = (mx - mn) / 15;
            mins[s] = -mn;
            max_scale = fmaxf(max_scale, scales[s]);
            max_min = fmaxf(max_min, mins[s]);
        }
        const float d = max_scale / 63, dmin = max_min / 63;
        y[i].d = fp32_to_fp16(d);
        y[i].dmin = fp32_to_fp16(dmin);
        const float dq = fp16_to_fp32(y[i].d), dminq = fp16_to_fp32(y[i].dmin);
        uint8_t ls[8], lm[8];
        for (int s = 0; s < 8; s++) {
            int a = dq > 0 ? nearest_int(scales[s] / dq) : 0, b = dminq > 0 ? nearest_int(mins[s] / dminq) : 0;
            ls[s] = (uint8_t)(a < 0 ? 0 : a > 63 ? 63 : a);
            lm[s] = (uint8_t)(b < 0 ? 0 : b > 63 ? 63 : b);
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                y[i].scales[j] = ls[j];
                y[i].scales[j + 4] = lm[j];
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls[j] & 0xf) | (lm[j] & 0xf) << 4);
                y[i].scales[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm[j] >> 4) << 6);
            }
        }
        for (int s = 0; s < 8; s += 2) {
            uint8_t q[64];
            for (int h = 0; h < 2; h++) {
                const float d1 = dq * ls[s + h], m1 = dminq * lm[s + h];
                for (int l = 0; l < 32; l++) {
                    int v = d1 > 0 ? nearest_int((x[32 * (s + h) + l] + m1) / d1) : 0;
                    q[32 * h + l] = (uint8_t)(v < 0 ? 0 : v > 15 ? 15 : v);
                }
            }
            for (int l = 0; l < 32; l++) y[i].qs[16 * s + l] = (uint8_t)(q[l] | q[32 + l] << 4);
        }
    }
}

/* Q6_K, straightforward: per 16-element sub-block the value of largest
 * magnitude maps to -32; the 16 sub-block scales are int8 against d. */
static void q_q6_K(const float *x, block_q6_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float sub[16], amax_sub = 0;
        for (int s = 0; s < 16; s++) {
            float amax = 0, max = 0;
            for (int l = 0; l < 16; l++)
                if (amax < fabsf(x[16 * s + l])) { amax = fabsf(x[16 * s + l]); max = x[16 * s + l]; }
            sub[s] = max / -32;
            if (fabsf(sub[s]) > amax_sub) amax_sub = fabsf(sub[s]);
        }
        const float d = amax_sub / 127;
        y[i].d = fp32_to_fp16(d);
        const float dq = fp16_to_fp32(y[i].d);
        uint8_t L[QK_K];
        for (int s = 0; s < 16; s++) {
            int sc = dq > 0 ? nearest_int(sub[s] / dq) : 0;
            sc = sc < -128 ? -128 : sc > 127 ? 127 : sc;
            y[i].scales[s] = (int8_t)sc;
            const float ds = dq * sc;
            for (int l = 0; l < 16; l++) {
                int v = ds != 0 ? nearest_int(x[16 * s + l] / ds) : 0;
                v = v < -32 ? -32 : v > 31 ? 31 : v;
                L[16 * s + l] = (uint8_t)(v + 32);
            }
        }
        /* inverse of the layout deq_q6_K reads */
        for (int n = 0; n < QK_K; n += 128) {
            uint8_t *ql = y[i].ql + n / 2, *qh = y[i].qh + n / 4;
            for (int l = 0; l < 32; l++) {
                const uint8_t q1 = L[n + l], q2 = L[n + l + 32], q3 = L[n + l + 64], q4 = L[n + l + 96];
                ql[l] = (uint8_t)((q1 & 0xf) | (q3 & 0xf) << 4);
                ql[l + 32] = (uint8_t)((q2 & 0xf) | (q4 & 0xf) << 4);
                qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

int quantize_row(ggml_type_t t, const float *src, void *dst, int64_t n) {
    const ggml_type_traits_t *tr = ggml_type_traits(t);
    if (!tr || n < 0 || n % tr->blck_size) return -1;
    const int64_t nb = n / tr->blck_size;
    switch (t) {
    case GGML_TYPE_F32: memcpy(dst, src, (size_t)n * 4); return 0;
    case GGML_TYPE_F16:
    case GGML_TYPE_BF16: {
        uint8_t *p = dst;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = t == GGML_TYPE_F16 ? fp32_to_fp16(src[i]) : fp32_to_bf16(src[i]);
            p[2 * i] = (uint8_t)h;
            p[2 * i + 1] = (uint8_t)(h >> 8);
        }
        return 0;
    }
    case GGML_TYPE_Q8_0: q_q8_0(src, dst, nb); return 0;
    case GGML_TYPE_Q4_0: q_q4_0(src, dst, nb); return 0;
    case GGML_TYPE_Q4_1: q_q4_1(src, dst, nb); return 0;
    case GGML_TYPE_Q5_0: q_q5_0(src, dst, nb); return 0;
    case GGML_TYPE_Q5_1: q_q5_1(src, dst, nb); return 0;
    case GGML_TYPE_Q4_K: q_q4_K(src, dst, nb); return 0;
    case GGML_TYPE_Q6_K: q_q6_K(src, dst, nb); return 0;
    default: return -1;
    }
}
