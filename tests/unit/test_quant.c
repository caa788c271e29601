/* test_quant.c -- tensor types: float conversions, dequantisation, quantisers.
 *
 * Three kinds of evidence:
 * 1. Hand-built blocks: each test packs known scales and quants into raw
 *    bytes following the format's description (which bits of which byte hold
 *    element i), computes the expected floats with the plain formula
 *    (d * q, d * sc * q - dmin * m ...), and compares exactly (the scales are
 *    powers of two, so every product is exact). The packers here are written
 *    from the element's point of view, independently of quant.c's loops.
 * 2. Round trips quantize -> dequantize within stated error bounds.
 * 3. Real files: the tiny Qwen2 model quantised by llama.cpp (q8_0, q6_k,
 *    q4_k_m, q4_0, f16) dequantised here must be close to the f32 original,
 *    tensor by tensor; Q8_0/Q4_0/F16 tensors must even be bit-identical to
 *    our own quantisation of the f32 tensor (llama.cpp uses the reference
 *    quantisers for these). Skipped (with a SKIP line) without the models. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/quant.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)(rnd() % 2000001) / 1000000.0f - 1.0f; } /* [-1, 1] */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void setbit(uint8_t *p, int bit, int v) { if (v) p[bit / 8] |= (uint8_t)(1u << (bit % 8)); }

/* Exact binary16 value by definition, in double. */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static double rel_rms(const float *ref, const float *got, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- float conversions ------------------------------------------------- */

static void test_fp16(void) {
    int bad_val = 0, bad_rt = 0, bad_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = fp16_to_fp32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) {
            if (m == 0) { if (!(isinf(f) && (signbit(f) != 0) == (h >> 15))) bad_val++; }
            else if (!isnan(f)) bad_nan++;
            uint16_t back = fp32_to_fp16(f);
            if (m == 0 && back != h) bad_rt++;
            /* NaN stays NaN with its sign; a quiet NaN keeps its payload */
            if (m != 0 && (((back >> 10) & 31) != 31 || !(back & 1023) || (back >> 15) != (h >> 15))) bad_nan++;
            if (m != 0 && (m & 0x200) && back != h) bad_nan++;
            continue;
        }
        if ((double)f != half_value((uint16_t)h) || (signbit(f) != 0) != (int)(h >> 15)) bad_val++;
        if (fp32_to_fp16(f) != h) bad_rt++;
    }
    CHECK(bad_val == 0);
    CHECK(bad_rt == 0);
    CHECK(bad_nan == 0);

    /* Round to nearest, ties to even, at every midpoint between positive
     * finite neighbours (subnormals included), and just either side. */
    int bad_tie = 0, bad_near = 0;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        double a = half_value((uint16_t)h), b = half_value((uint16_t)(h + 1));
        float mid = (float)((a + b) / 2); /* exact: needs 12 significant bits */
        uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (fp32_to_fp16(mid) != want || fp32_to_fp16(-mid) != (0x8000 | want)) bad_tie++;
        if (fp32_to_fp16(nextafterf(mid, 0)) != h || fp32_to_fp16(nextafterf(mid, INFINITY)) != h + 1) bad_near++;
    }
    CHECK(bad_tie == 0);
    CHECK(bad_near == 0);
    CHECK(fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(fp32_to_fp16(65519.99f) == 0x7bff);
    CHECK(fp32_to_fp16(65520.0f) == 0x7c00);  /* tie with 65536: to even = inf */
    CHECK(fp32_to_fp16(1e10f) == 0x7c00);
    CHECK(fp32_to_fp16(-INFINITY) == 0xfc00);
    CHECK(fp32_to_fp16(ldexpf(1, -25)) == 0x0000); /* tie between 0 and the smallest subnormal */
    CHECK(fp32_to_fp16(nextafterf(ldexpf(1, -25), 1)) == 0x0001);
    CHECK(fp32_to_fp16(-0.0f) == 0x8000);
    CHECK(fp32_to_fp16(1e-45f) == 0x0000); /* f32 subnormal */
    CHECK(isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
}

static void test_bf16(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bf16_to_fp32((uint16_t)h);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        if (bits != h << 16) bad++;
        if (!isnan(f) && fp32_to_bf16(f) != h) bad++;
        if (isnan(f) && !isnan(bf16_to_fp32(fp32_to_bf16(f)))) bad++;
    }
    CHECK(bad == 0);
    int bad_tie = 0;
    for (uint32_t h = 0; h < 0x7f7f; h++) {
        uint32_t a = h << 16, b = (h + 1) << 16;
        float fa, fb;
        memcpy(&fa, &a, 4);
        memcpy(&fb, &b, 4);
        float mid = (float)(((double)fa + fb) / 2);
        uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (fp32_to_bf16(mid) != want) bad_tie++;
        if (fp32_to_bf16(nextafterf(mid, 0)) != h || fp32_to_bf16(nextafterf(mid, INFINITY)) != h + 1) bad_tie++;
    }
    CHECK(bad_tie == 0);
    CHECK(fp32_to_bf16(3.4e38f) == 0x7f80); /* rounds up past the largest finite */
    CHECK(fp32_to_bf16(1.0f) == 0x3f80);
}

/* ---- traits ------------------------------------------------------------ */

static void test_traits(void) {
    CHECK(ggml_type_traits(GGML_TYPE_Q4_K)->blck_size == 256);
    CHECK(ggml_type_traits(GGML_TYPE_Q4_K)->type_size == 144);
    CHECK(ggml_type_traits(GGML_TYPE_Q8_0)->type_size == 34);
    CHECK_STR(ggml_type_traits(GGML_TYPE_Q6_K)->name, "q6_K");
    CHECK(ggml_type_traits((ggml_type_t)4) == NULL); /* removed q4_2 */
    CHECK(ggml_type_traits((ggml_type_t)99) == NULL);
    CHECK(ggml_type_traits((ggml_type_t)-1) == NULL);
    CHECK(ggml_type_traits((ggml_type_t)23) && !ggml_type_traits((ggml_type_t)23)->can_dequantize);
    CHECK(ggml_row_bytes(GGML_TYPE_F32, 7) == 28);
    CHECK(ggml_row_bytes(GGML_TYPE_Q4_0, 64) == 36);
    CHECK(ggml_row_bytes(GGML_TYPE_Q4_0, 65) == 0);
    CHECK(ggml_row_bytes(GGML_TYPE_Q6_K, 512) == 420);
    CHECK(ggml_row_bytes(GGML_TYPE_F32, UINT64_MAX / 2) == 0); /* overflow */
    CHECK_STR(ggml_type_name((ggml_type_t)99), "type 99");
    float out[32];
    uint8_t blk[64] = {0};
    CHECK(dequantize_row(GGML_TYPE_Q8_0, blk, out, 31) == -1);
    CHECK(dequantize_row((ggml_type_t)23, blk, out, 256) == -1);
    CHECK(quantize_row(GGML_TYPE_Q2_K, out, blk, 256) == -1);
}

/* ---- hand-built blocks ------------------------------------------------- */

/* Quants for element i: a hash, so no layout regularity (a period of 32
 * or 64 elements) can hide a misplaced bit. */
static unsigned pat(unsigned i, unsigned salt, unsigned mod) {
    uint32_t h = (i + 1) * 2654435761u ^ salt * 0x9e3779b9u;
    h ^= h >> 15;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h % mod;
}

/* Scales: powers of two as fp16 bits. */
#define H_0_5 0x3800
#define H_0_25 0x3400
#define H_0_125 0x3000
#define H_2 0x4000
#define H_M1 0xbc00 /* -1.0 */

static int exact(ggml_type_t t, const uint8_t *blk, const float *want, int n) {
    float got[512];
    if (dequantize_row(t, blk, got, n) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "  %s element %d: got %g want %g\n", ggml_type_name(t), i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static void test_legacy_blocks(void) {
    int q[64];
    float want[64];
    uint8_t b[2][40];

    /* q4_0, two blocks: y = d * (q - 8); element j<16 low nibble of byte
     * 2+j, element j>=16 high nibble of byte 2+j-16. */
    memset(b, 0, sizeof b);
    for (int k = 0; k < 2; k++) {
        uint16_t d = k ? H_M1 : H_0_5;
        put16(b[k], d);
        for (int i = 0; i < 32; i++) {
            q[i] = (int)pat(i, k + 1, 16);
            b[k][2 + i % 16] |= (uint8_t)(q[i] << (i < 16 ? 0 : 4));
            want[32 * k + i] = (float)(half_value(d) * (q[i] - 8));
        }
    }
    uint8_t row[80];
    memcpy(row, b[0], 18);
    memcpy(row + 18, b[1], 18);
    CHECK(exact(GGML_TYPE_Q4_0, row, want, 64));

    /* q4_1: y = d * q + m */
    memset(b, 0, sizeof b);
    put16(b[0], H_0_25);
    put16(b[0] + 2, H_M1);
    for (int i = 0; i < 32; i++) {
        q[i] = (int)pat(i, 3, 16);
        b[0][4 + i % 16] |= (uint8_t)(q[i] << (i < 16 ? 0 : 4));
        want[i] = (float)(0.25 * q[i] - 1.0);
    }
    CHECK(exact(GGML_TYPE_Q4_1, b[0], want, 32));

    /* q5_0: 5-bit q; low 4 bits as q4_0, bit 4 of element i is bit i of the
     * little-endian u32 at byte 2; y = d * (q - 16). */
    memset(b, 0, sizeof b);
    put16(b[0], H_0_125);
    for (int i = 0; i < 32; i++) {
        q[i] = (int)pat(i, 4, 32);
        b[0][6 + i % 16] |= (uint8_t)((q[i] & 15) << (i < 16 ? 0 : 4));
        setbit(b[0] + 2, i, q[i] >> 4);
        want[i] = (float)(0.125 * (q[i] - 16));
    }
    CHECK(exact(GGML_TYPE_Q5_0, b[0], want, 32));

    /* q5_1: y = d * q + m */
    memset(b, 0, sizeof b);
    put16(b[0], H_0_5);
    put16(b[0] + 2, H_2);
    for (int i = 0; i < 32; i++) {
        q[i] = (int)pat(i, 5, 32);
        b[0][8 + i % 16] |= (uint8_t)((q[i] & 15) << (i < 16 ? 0 : 4));
        setbit(b[0] + 4, i, q[i] >> 4);
        want[i] = (float)(0.5 * q[i] + 2.0);
    }
    CHECK(exact(GGML_TYPE_Q5_1, b[0], want, 32));

    /* q8_0: y = d * q, q int8 */
    memset(b, 0, sizeof b);
    put16(b[0], H_0_25);
    for (int i = 0; i < 32; i++) {
        q[i] = (int)pat(i, 6, 256) - 128;
        b[0][2 + i] = (uint8_t)(int8_t)q[i];
        want[i] = (float)(0.25 * q[i]);
    }
    CHECK(exact(GGML_TYPE_Q8_0, b[0], want, 32));
}

static void test_kquant_blocks(void) {
    float want[256];
    int q[256];
    uint8_t b[300];

    /* q2_K (84 bytes): scales[16] @0, qs[64] @16, d @80, dmin @82.
     * Element e: half h = e/128, group j = (e%128)/32, l = e%32: bits 2j..2j+1
     * of qs[32h + l]. Sub-block e/16: scale byte low nibble = sc, high = m.
     * y = d*sc*q - dmin*m. */
    memset(b, 0, sizeof b);
    int sc[16], mn[16];
    for (int s = 0; s < 16; s++) {
        sc[s] = (int)pat(s, 13, 16);
        mn[s] = (int)pat(s, 14, 16);
        b[s] = (uint8_t)(sc[s] | mn[s] << 4);
    }
    put16(b + 80, H_0_5);
    put16(b + 82, H_0_25);
    for (int e = 0; e < 256; e++) {
        q[e] = (int)pat(e, 7, 4);
        int h = e / 128, j = (e % 128) / 32, l = e % 32;
        b[16 + 32 * h + l] |= (uint8_t)(q[e] << (2 * j));
        want[e] = (float)(0.5 * sc[e / 16] * q[e] - 0.25 * mn[e / 16]);
    }
    CHECK(exact(GGML_TYPE_Q2_K, b, want, 256));

    /* q3_K (110 bytes): hmask[32] @0, qs[64] @32, scales[12] @96, d @108.
     * Element e: h, j, l as q2_K; low 2 bits at qs[32h + l] bits 2j; high
     * bit = bit (4h + j) of hmask[l]; q = low - (high ? 0 : 4).
     * Scale s (6 bits, stored s+32): low 4 bits in byte s (low nibble) for
     * s < 8, byte s-8 (high nibble) for s >= 8; high 2 bits in byte 8 + s%4
     * at bits 2*(s/4). y = d * scale * q. */
    memset(b, 0, sizeof b);
    int s3[16];
    for (int s = 0; s < 16; s++) {
        s3[s] = (int)pat(s, 15, 64) - 32;
        unsigned u = (unsigned)(s3[s] + 32);
        b[96 + (s < 8 ? s : s - 8)] |= (uint8_t)((u & 15) << (s < 8 ? 0 : 4));
        b[96 + 8 + s % 4] |= (uint8_t)((u >> 4) << (2 * (s / 4)));
    }
    put16(b + 108, H_0_25);
    for (int e = 0; e < 256; e++) {
        int lo = (int)pat(e, 8, 4), hi = (int)pat(e, 9, 2);
        int h = e / 128, j = (e % 128) / 32, l = e % 32;
        b[32 + 32 * h + l] |= (uint8_t)(lo << (2 * j));
        if (hi) b[l] |= (uint8_t)(1u << (4 * h + j));
        want[e] = (float)(0.25 * s3[e / 16] * (lo - (hi ? 0 : 4)));
    }
    CHECK(exact(GGML_TYPE_Q3_K, b, want, 256));

    /* q4_K (144 bytes): d @0, dmin @2, scales[12] @4, qs[128] @16.
     * Element e: chunk c = e/64, l = e%64: nibble (low if l < 32) of
     * qs[32c + l%32]. Sub-block e/32 has 6-bit scale and min: for s < 4 in
     * the low 6 bits of bytes s and s+4; for s >= 4 low 4 bits in byte s+4
     * (scale low nibble, min high nibble), top 2 bits in bits 6-7 of bytes
     * s-4 (scale) and s (min). y = d*sc*q - dmin*m. */
    uint8_t sc6[8], mn6[8], packed[12];
    for (int s = 0; s < 8; s++) { sc6[s] = (uint8_t)pat(s, 16, 64); mn6[s] = (uint8_t)pat(s, 17, 64); }
    memset(packed, 0, sizeof packed);
    for (int s = 0; s < 8; s++) {
        if (s < 4) {
            packed[s] |= sc6[s];
            packed[s + 4] |= mn6[s];
        } else {
            packed[s + 4] |= (uint8_t)((sc6[s] & 15) | (mn6[s] & 15) << 4);
            packed[s - 4] |= (uint8_t)((sc6[s] >> 4) << 6);
            packed[s] |= (uint8_t)((mn6[s] >> 4) << 6);
        }
    }
    memset(b, 0, sizeof b);
    put16(b, H_0_125);
    put16(b + 2, H_0_5);
    memcpy(b + 4, packed, 12);
    for (int e = 0; e < 256; e++) {
        q[e] = (int)pat(e, 10, 16);
        int c = e / 64, l = e % 64;
        b[16 + 32 * c + l % 32] |= (uint8_t)(q[e] << (l < 32 ? 0 : 4));
        want[e] = (float)(0.125 * sc6[e / 32] * q[e] - 0.5 * mn6[e / 32]);
    }
    CHECK(exact(GGML_TYPE_Q4_K, b, want, 256));

    /* q5_K (176 bytes): d @0, dmin @2, scales[12] @4, qh[32] @16,
     * qs[128] @48. As q4_K plus bit 4 of element e in qh[l%32] at bit
     * 2c + (l >= 32). */
    memset(b, 0, sizeof b);
    put16(b, H_0_25);
    put16(b + 2, H_0_125);
    memcpy(b + 4, packed, 12);
    for (int e = 0; e < 256; e++) {
        q[e] = (int)pat(e, 11, 32);
        int c = e / 64, l = e % 64;
        b[48 + 32 * c + l % 32] |= (uint8_t)((q[e] & 15) << (l < 32 ? 0 : 4));
        if (q[e] & 16) b[16 + l % 32] |= (uint8_t)(1u << (2 * c + (l >= 32)));
        want[e] = (float)(0.25 * sc6[e / 32] * q[e] - 0.125 * mn6[e / 32]);
    }
    CHECK(exact(GGML_TYPE_Q5_K, b, want, 256));

    /* q6_K (210 bytes): ql[128] @0, qh[64] @128, scales[16] (int8) @192,
     * d @208. Element e: h = e/128, k = (e%128)/32, l = e%32: low 4 bits in
     * ql[64h + 32(k&1) + l] (low nibble for k < 2, high for k >= 2), high 2
     * bits in qh[32h + l] at bits 2k. q = 6-bit value - 32;
     * y = d * scales[e/16] * q. */
    memset(b, 0, sizeof b);
    int s6[16];
    for (int s = 0; s < 16; s++) { s6[s] = (int)pat(s, 18, 256) - 128; b[192 + s] = (uint8_t)(int8_t)s6[s]; }
    put16(b + 208, H_0_125);
    for (int e = 0; e < 256; e++) {
        q[e] = (int)pat(e, 12, 64);
        int h = e / 128, k = (e % 128) / 32, l = e % 32;
        b[64 * h + 32 * (k & 1) + l] |= (uint8_t)((q[e] & 15) << (k < 2 ? 0 : 4));
        b[128 + 32 * h + l] |= (uint8_t)((q[e] >> 4) << (2 * k));
        want[e] = (float)(0.125 * s6[e / 16] * (q[e] - 32));
    }
    CHECK(exact(GGML_TYPE_Q6_K, b, want, 256));

    /* f16 / bf16 / f32 rows */
    uint8_t raw[8];
    put16(raw, 0x3c00);  /* 1 */
    put16(raw + 2, 0xc000); /* -2 */
    put16(raw + 4, 0x0001); /* smallest subnormal */
    put16(raw + 6, 0x7bff); /* 65504 */
    float w16[4] = {1.0f, -2.0f, ldexpf(1, -24), 65504.0f};
    CHECK(exact(GGML_TYPE_F16, raw, w16, 4));
    put16(raw, 0x3f80);
    put16(raw + 2, 0xc040);
    put16(raw + 4, 0x4049);
    put16(raw + 6, 0x0001);
    float wb[4] = {1.0f, -3.0f, 3.140625f, 9.18354962e-41f};
    CHECK(exact(GGML_TYPE_BF16, raw, wb, 4));
}

/* ---- round trips ------------------------------------------------------- */

static void test_round_trips(void) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t buf[N * 4];
    for (int i = 0; i < N; i++) x[i] = frand();
    /* Bounds are relative RMS errors for uniform data in [-1, 1]: the
     * quantisation step over sqrt(12) relative to RMS(x) = 0.577, plus slack
     * for the fp16 scales: q8_0 step 1/127 -> 0.39%; q4_0 step 1/8 -> 6.3%. */
    struct { ggml_type_t t; double bound; } cases[] = {
        {GGML_TYPE_F16, 0.0005}, {GGML_TYPE_BF16, 0.004}, {GGML_TYPE_Q8_0, 0.005},
        {GGML_TYPE_Q4_0, 0.08},  {GGML_TYPE_Q4_1, 0.07},  {GGML_TYPE_Q5_0, 0.04},
        {GGML_TYPE_Q5_1, 0.035}, {GGML_TYPE_Q4_K, 0.08},  {GGML_TYPE_Q6_K, 0.02},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(y, 0, sizeof y);
        CHECK(quantize_row(cases[c].t, x, buf, N) == 0);
        CHECK(dequantize_row(cases[c].t, buf, y, N) == 0);
        double e = rel_rms(x, y, N);
        if (e > cases[c].bound)
            fprintf(stderr, "  round trip %s: rel rms %.5f > %.5f\n", ggml_type_name(cases[c].t), e, cases[c].bound);
        CHECK(e <= cases[c].bound);
        CHECK(e > 0 || cases[c].t == GGML_TYPE_F32);
    }
    /* Per-element bound for q8_0: half a step plus the fp16 scale error. */
    quantize_row(GGML_TYPE_Q8_0, x, buf, N);
    dequantize_row(GGML_TYPE_Q8_0, buf, y, N);
    int over = 0;
    for (int b = 0; b < N / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[32 * b + i]));
        for (int i = 0; i < 32; i++)
            if (fabsf(y[32 * b + i] - x[32 * b + i]) > amax / 127 * 0.5f + amax * 0x1p-10f) over++;
    }
    CHECK(over == 0);
    /* Values already on the grid come back exactly. */
    for (int i = 0; i < 32; i++) x[i] = 0.0625f * (i * 8 - 127);
    x[5] = 0.0625f * 127;
    quantize_row(GGML_TYPE_Q8_0, x, buf, 32);
    dequantize_row(GGML_TYPE_Q8_0, buf, y, 32);
    CHECK(memcmp(x, y, 32 * sizeof(float)) == 0);
    /* All zeros stay zeros (no division by a zero scale). */
    memset(x, 0, sizeof x);
    ggml_type_t zt[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                        GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof zt / sizeof zt[0]; i++) {
        y[0] = 1;
        quantize_row(zt[i], x, buf, 256);
        dequantize_row(zt[i], buf, y, 256);
        int nz = 0;
        for (int k = 0; k < 256; k++) nz += y[k] != 0;
        CHECK(nz == 0);
    }
}

/* ---- real files -------------------------------------------------------- */

static void test_real_files(const char *models) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/gguf/synthetic/tiny-random-qwen2-synthetic-f32.gguf", models);
    gguf_t *ref = gguf_open(path, 0, err, sizeof err);
    if (!ref) {
        printf("SKIP real-file dequantisation: %s\n", err);
        return;
    }
    /* Per-type bounds on the relative RMS error against the f32 original.
     * llama.cpp's own quantisers on these Gaussian weights give about
     * (worst tensor, measured) f16 0.02%, q8_0 0.54%, q6_K 1.8%, q4_K 7.2%,
     * q4_0 8.7%. That is what the step sizes predict for Gaussian weights:
     * q8_0 step amax/127 with amax ~ 2.3 sigma over 32 values, over sqrt(12),
     * is ~0.53%. A wrong bit layout gives errors above 50%. */
    struct { const char *file; } files[] = {{"f16"}, {"q8_0"}, {"q6_k"}, {"q4_k_m"}, {"q4_0"}};
    double bound[GGML_TYPE__COUNT] = {0};
    bound[GGML_TYPE_F32] = 0;
    bound[GGML_TYPE_F16] = 0.0005;
    bound[GGML_TYPE_Q8_0] = 0.007;
    bound[GGML_TYPE_Q6_K] = 0.025;
    bound[GGML_TYPE_Q4_K] = 0.10;
    bound[GGML_TYPE_Q4_0] = 0.10;
    int seen[GGML_TYPE__COUNT] = {0};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        snprintf(path, sizeof path, "%s/gguf/synthetic/tiny-random-qwen2-synthetic-%s.gguf", models, files[f].file);
        gguf_t *g = gguf_open(path, 0, err, sizeof err);
        CHECK(g != NULL);
        if (!g) { fprintf(stderr, "  %s\n", err); continue; }
        CHECK(g->n_tensors == ref->n_tensors);
        for (uint64_t i = 0; i < ref->n_tensors; i++) {
            const gguf_tensor_t *r = &ref->tensors[i], *t = gguf_tensor(g, r->name);
            CHECK(t != NULL);
            if (!t) continue;
            uint64_t n = r->ne[0] * r->ne[1] * r->ne[2] * r->ne[3];
            CHECK(t->ne[0] == r->ne[0] && t->ne[1] == r->ne[1] && t->ne[2] == r->ne[2]);
            float *y = malloc(n * sizeof *y);
            uint8_t *mine = malloc(t->nbytes);
            CHECK(dequantize_row(t->type, t->data, y, (int64_t)n) == 0);
            double e = rel_rms(r->data, y, (int64_t)n);
            seen[t->type]++;
            if (e > bound[t->type] || !(e == e))
                fprintf(stderr, "  %s %s (%s): rel rms %.5f > %.5f\n", files[f].file, t->name,
                        ggml_type_name(t->type), e, bound[t->type]);
            CHECK(e <= bound[t->type]);
            /* llama.cpp quantises F16, Q8_0 and Q4_0 with the reference
             * (deterministic) algorithms, which ours reproduce bit for bit. */
            if (t->type == GGML_TYPE_F16 || t->type == GGML_TYPE_Q8_0 || t->type == GGML_TYPE_Q4_0) {
                CHECK(quantize_row(t->type, r->data, mine, (int64_t)n) == 0);
                if (memcmp(mine, t->data, t->nbytes) != 0)
                    fprintf(stderr, "  %s %s: our %s quantisation differs from llama.cpp's\n", files[f].file,
                            t->name, ggml_type_name(t->type));
                CHECK(memcmp(mine, t->data, t->nbytes) == 0);
            }
            free(mine);
            free(y);
        }
        gguf_close(g);
    }
    /* The files really exercised every type we claim to prove. */
    CHECK(seen[GGML_TYPE_F16] > 0 && seen[GGML_TYPE_Q8_0] > 0 && seen[GGML_TYPE_Q6_K] > 0);
    CHECK(seen[GGML_TYPE_Q4_K] > 0 && seen[GGML_TYPE_Q4_0] > 0);
    gguf_close(ref);
}

int main(void) {
    test_fp16();
    test_bf16();
    test_traits();
    test_legacy_blocks();
    test_kquant_blocks();
    test_round_trips();
    const char *models = getenv("COPYD_TEST_MODELS");
    if (!models) models = "/work/shared/models";
    test_real_files(models);
    TEST_DONE();
}
