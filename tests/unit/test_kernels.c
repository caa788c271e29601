/* test_kernels.c -- every SIMD kernel against its scalar reference.
 *
 * Random rows (fixed seed) of several lengths, including lengths that are
 * not a multiple of the SIMD width, for each type and each instruction set
 * level this CPU supports. The integer (Q8_0/Q4_0) kernels compute exact
 * integer block sums, so they differ from the reference only by the order
 * of the f32 additions of block results: tolerance 1e-5 relative to the sum
 * of |terms|. The f32 kernels likewise (order of additions). The matrix
 * product is checked against per-row dots, the threaded path against one
 * thread, and the activation quantiser against quant.c's. No timing. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/kernels/kernels.h"
#include "llm/quant.h"
#include "llm/kernels/simd.h"
#include "test.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f;
}

static const char *isa_name(int isa) { return isa == 0 ? "scalar" : isa == 1 ? "avx2" : "avx512"; }

/* Sum of |w_i * x_i| over the dequantised row: the scale of rounding. */
static double abs_scale(const float *w, const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += fabs((double)w[i] * x[i]);
    return s;
}

static void test_dots(void) {
    const ggml_type_t types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                                 GGML_TYPE_Q4_0, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    const int lens[] = {32, 64, 96, 896, 4864};
    const int klens[] = {256, 512, 768, 1024, 4864}; /* K-quants: multiples of 256 */
    const int top = k_isa_supported();
    printf("instruction sets: up to %s\n", isa_name(top));
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        ggml_type_t ty = types[t];
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int kq = k_act_q8_K(ty);
            int n = (kq ? klens[li] : lens[li]) +
                    (ty == GGML_TYPE_F32 || ty == GGML_TYPE_F16 || ty == GGML_TYPE_BF16 ? 3 : 0);
            float *w = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float)), *wd = malloc(n * sizeof(float));
            unsigned char *wq = malloc((size_t)ggml_row_bytes(ty, n));
            block_q8_0 *xq = malloc((size_t)(n / 32 + 1) * sizeof(block_q8_0));
            block_q8_K *xk = malloc((size_t)(n / 256 + 1) * sizeof(block_q8_K));
            for (int i = 0; i < n; i++) {
                w[i] = frand();
                x[i] = frand() * 3.0f;
            }
            CHECK(quantize_row(ty, w, wq, n) == 0);
            CHECK(dequantize_row(ty, wq, wd, n) == 0);
            const void *act = x;
            if (k_act_q8_0(ty)) {
                quantize_row(GGML_TYPE_Q8_0, x, xq, n);
                act = xq;
            } else if (kq) {
                k_quantize_q8_K(xk, x, n);
                act = xk;
            }
            k_dot_fn ref = k_dot_kernel(ty, K_ISA_SCALAR);
            CHECK(ref != NULL);
            if (!ref) continue;
            float r = ref(wq, act, n);
            double scale = abs_scale(wd, x, n);
            /* the scalar reference is close to the exact f32 dot: integer
             * kernels by the activation rounding (|x| / 254 per element) */
            float exact = k_dot(wd, x, n);
            double tol_q = k_act_q8_0(ty) || kq ? scale * 0.01 : scale * 1e-5;
            if (!(fabs(r - exact) <= tol_q))
                fprintf(stderr, "FAIL %s n=%d ref %g exact %g\n", ggml_type_name(ty), n, r, exact);
            CHECK(fabs(r - exact) <= tol_q);
            for (int isa = K_ISA_AVX2; isa <= top; isa++) {
                k_dot_fn f = k_dot_kernel(ty, isa);
                CHECK(f != NULL);
                if (!f) continue;
                float v = f(wq, act, n);
                if (!(fabs(v - r) <= 1e-5 * scale + 1e-6))
                    fprintf(stderr, "FAIL %s %s n=%d: %.9g vs scalar %.9g\n", ggml_type_name(ty), isa_name(isa), n,
                            v, r);
                CHECK(fabs(v - r) <= 1e-5 * scale + 1e-6);
                /* K-quants: the same integers, the same float steps */
                if (kq) CHECK(memcmp(&v, &r, sizeof v) == 0);
            }
            free(w);
            free(x);
            free(wd);
            free(wq);
            free(xq);
            free(xk);
        }
    }
    CHECK(k_dot_kernel(GGML_TYPE_Q5_K, K_ISA_SCALAR) == NULL); /* dequantise + f32 */
    CHECK(k_dot_kernel(GGML_TYPE_F16, top + 1) == NULL);
}

/* The SIMD activation quantiser equals quant.c's except for rounding
 * ties (half to even vs away from zero): |q| differs by at most 1. */
static void test_quantize(void) {
    const int n = 4864;
    float *x = malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = frand() * 5.0f;
    x[5] = 0.0f;
    for (int i = 64; i < 96; i++) x[i] = 0.0f; /* an all-zero block */
    block_q8_0 *a = malloc((n / 32) * sizeof *a), *b = malloc((n / 32) * sizeof *b);
    quantize_row(GGML_TYPE_Q8_0, x, a, n);
    int saved = k_isa();
    k_set_isa(k_isa_supported());
    k_quantize_q8_0(b, x, n);
    k_set_isa(saved);
    int worst = 0, scale_same = 1;
    for (int i = 0; i < n / 32; i++) {
        if (a[i].d != b[i].d) scale_same = 0;
        for (int j = 0; j < 32; j++) {
            int d = abs(a[i].qs[j] - b[i].qs[j]);
            if (d > worst) worst = d;
        }
    }
    CHECK(scale_same);
    CHECK(worst <= 1);
    CHECK(b[2].d == 0 && b[2].qs[7] == 0);
    free(x);
    free(a);
    free(b);
}

/* The Q8_K activation quantiser: the largest |x| of a block becomes 127
 * in magnitude, every element is within half a step of x / d, and bsums
 * are the 16-element sums; an all-zero block stays zero. */
static void test_quantize_q8_K(void) {
    const int n = 768;
    float *x = malloc(n * sizeof(float)), *back = malloc(n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = frand() * 4.0f;
    x[300] = -9.0f; /* block 1's extreme is negative */
    for (int i = 512; i < 768; i++) x[i] = 0.0f;
    block_q8_K *q = malloc(3 * sizeof *q);
    k_quantize_q8_K(q, x, n);
    CHECK(dequantize_row(GGML_TYPE_Q8_K, q, back, n) == 0);
    int ok = 1;
    for (int b = 0; b < 2; b++) {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[256 * b + j]));
        if (!(fabsf(fabsf(q[b].d) - amax / 127.0f) <= 1e-6f * amax)) ok = 0;
        for (int j = 0; j < 256; j++)
            if (!(fabsf(back[256 * b + j] - x[256 * b + j]) <= 0.5001f * fabsf(q[b].d))) ok = 0;
        for (int k = 0; k < 16; k++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q[b].qs[16 * k + l];
            if (s != q[b].bsums[k]) ok = 0;
        }
    }
    CHECK(ok);
    CHECK(q[1].qs[300 - 256] == 127 || q[1].qs[300 - 256] == -127);
    CHECK(q[2].d == 0.0f && q[2].qs[5] == 0 && q[2].bsums[3] == 0);
    /* every ISA gives the reference's bytes: ties of the largest magnitude
     * (the first one sets the sign), halves that round to even (NaN
     * activations have no specified bytes) */
    x[10] = 9.0f; /* block 0: +9 first, -9 later */
    x[200] = -9.0f;
    x[260] = 2.5f * 9.0f / 127.0f; /* exactly -2.5 after scaling by block 1's -127/-9 */
    block_q8_K *r = malloc(3 * sizeof *r);
    k_quantize_q8_K_ref(r, x, n);
    int saved = k_isa();
    for (int isa = 0; isa <= k_isa_supported(); isa++) {
        k_set_isa(isa);
        memset(q, 0x55, 3 * sizeof *q);
        k_quantize_q8_K(q, x, n);
        int same = 1;
        for (int b = 0; b < 3; b++) {
            if (q[b].d != r[b].d || memcmp(q[b].bsums, r[b].bsums, sizeof r[b].bsums) != 0) same = 0;
            for (int j = 0; j < 256; j++)
                if (q[b].qs[j] != r[b].qs[j]) same = 0;
        }
        if (!same) fprintf(stderr, "FAIL quantize_q8_K isa %d differs from the reference\n", isa);
        CHECK(same);
    }
    k_set_isa(saved);
    CHECK(r[0].d < 0 && r[0].qs[10] == -127 && r[0].qs[200] == 127); /* +9 came first: scale -127 / 9 */
    free(r);
    free(x);
    free(back);
    free(q);
}

/* k_matmul: two matrices sharing 5 input vectors equal per-row dots, in
 * exact and fast mode, with 1 and 2 threads, at every ISA level. */
static void test_matmul(void) {
    const int rows0 = 37, rows1 = 50, cols = 256, nv = 5;
    const ggml_type_t types[] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0,
                                 GGML_TYPE_Q6_K, GGML_TYPE_Q4_K};
    float *x = malloc((size_t)nv * cols * sizeof(float));
    for (int i = 0; i < nv * cols; i++) x[i] = frand();
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        ggml_type_t ty = types[t];
        size_t rb = ggml_row_bytes(ty, cols);
        unsigned char *w0 = malloc(rb * rows0), *w1 = malloc(rb * rows1);
        float *row = malloc(cols * sizeof(float)), *f = malloc(cols * sizeof(float));
        for (int r = 0; r < rows0 + rows1; r++) {
            for (int i = 0; i < cols; i++) f[i] = frand();
            CHECK(quantize_row(ty, f, r < rows0 ? w0 + rb * r : w1 + rb * (r - rows0), cols) == 0);
        }
        float *want = malloc((size_t)nv * (rows0 + rows1) * sizeof(float));
        float *y0 = malloc((size_t)nv * rows0 * sizeof(float)), *y1 = malloc((size_t)nv * rows1 * sizeof(float));
        for (int j = 0; j < nv; j++)
            for (int r = 0; r < rows0 + rows1; r++) {
                const unsigned char *wr = r < rows0 ? w0 + rb * r : w1 + rb * (r - rows0);
                dequantize_row(ty, wr, row, cols);
                want[j * (rows0 + rows1) + r] = k_dot(row, x + j * cols, cols);
            }
        int saved_isa = k_isa(), saved_th = k_threads();
        for (int threads = 1; threads <= 2; threads++) {
            k_set_threads(threads);
            for (int isa = 0; isa <= k_isa_supported(); isa++) {
                k_set_isa(isa);
                for (int exact = 0; exact <= 1; exact++) {
                    k_mat_t mats[2] = {{w0, ty, rows0, y0, rows0}, {w1, ty, rows1, y1, rows1}};
                    CHECK(k_matmul(mats, 2, cols, x, cols, nv, exact) == 0);
                    float worst = 0;
                    int bitexact = 1;
                    for (int j = 0; j < nv; j++)
                        for (int r = 0; r < rows0 + rows1; r++) {
                            float got = r < rows0 ? y0[j * rows0 + r] : y1[j * rows1 + r - rows0];
                            float w = want[j * (rows0 + rows1) + r];
                            if (got != w) bitexact = 0;
                            if (fabsf(got - w) > worst) worst = fabsf(got - w);
                        }
                    /* exact: identical numbers; fast: activation rounding
                     * (Q8_0/Q4_0/Q4_K/Q6_K) or summation order */
                    float tol = exact ? 0.0f : k_act_q8_0(ty) || k_act_q8_K(ty) ? 0.1f : 1e-4f;
                    if (exact ? !bitexact : !(worst <= tol))
                        fprintf(stderr, "FAIL matmul %s isa %d threads %d exact %d: max diff %g\n",
                                ggml_type_name(ty), isa, threads, exact, worst);
                    CHECK(exact ? bitexact : worst <= tol);
                }
            }
        }
        k_set_isa(saved_isa);
        k_set_threads(saved_th);
        free(w0);
        free(w1);
        free(row);
        free(f);
        free(want);
        free(y0);
        free(y1);
    }
    k_mat_t bad = {x, GGML_TYPE_Q8_0, 1, x, 1};
    CHECK(k_matmul(&bad, 1, 31, x, 31, 1, 0) == -1); /* 31 is not a multiple of 32 */
    CHECK(k_matmul(&bad, 0, 32, x, 32, 1, 0) == -1);
    free(x);
}

/* Batched products give the numbers of one vector at a time, bit for bit
 * (the multi-vector AVX-512 kernels work on 4 rows x up to 4 vectors, 2 or 1
 * rows x up to 8; a result must not depend on that shape), and stay near
 * the exact per-row dots. The integer kernels step over four blocks at a
 * time: 96, 160 and 192 columns (3, 5 and 6 blocks) reach a last step of
 * 3, 1 and 2 blocks (read under a mask at the end of the matrix), 896 has
 * none; 23 rows the 2- and 1-row tails. */
static void test_matmul_batch(void) {
    const ggml_type_t types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q4_K,
                                 GGML_TYPE_Q6_K};
    const int colss[] = {96, 160, 192, 896, 200, 256, 768};
    const int rows = 23, nv = 9;
    int saved_isa = k_isa(), saved_th = k_threads();
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t ci = 0; ci < sizeof colss / sizeof colss[0]; ci++) {
            const ggml_type_t ty = types[t];
            const int cols = colss[ci];
            if (cols % 32 != 0 && ty != GGML_TYPE_F16 && ty != GGML_TYPE_BF16) continue;
            if (k_act_q8_K(ty) != (cols % 256 == 0)) continue; /* K-quants: 256-element blocks */
            size_t rb = ggml_row_bytes(ty, cols);
            unsigned char *w = malloc(rb * rows);
            float *f = malloc(cols * sizeof(float)), *row = malloc(cols * sizeof(float));
            float *x = malloc((size_t)nv * cols * sizeof(float));
            float *yb = malloc((size_t)nv * rows * sizeof(float)), *y1 = malloc((size_t)nv * rows * sizeof(float));
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < cols; i++) f[i] = frand();
                CHECK(quantize_row(ty, f, w + rb * r, cols) == 0);
            }
            for (int i = 0; i < nv * cols; i++) x[i] = frand() * 2.0f;
            for (int threads = 1; threads <= 2; threads++) {
                k_set_threads(threads);
                for (int isa = 0; isa <= k_isa_supported(); isa++) {
                    k_set_isa(isa);
                    k_mat_t mb = {w, ty, rows, yb, rows};
                    CHECK(k_matmul(&mb, 1, cols, x, cols, nv, 0) == 0);
                    for (int j = 0; j < nv; j++) {
                        k_mat_t m1 = {w, ty, rows, y1 + (size_t)j * rows, rows};
                        CHECK(k_matmul(&m1, 1, cols, x + (size_t)j * cols, cols, 1, 0) == 0);
                    }
                    int same = memcmp(yb, y1, (size_t)nv * rows * sizeof(float)) == 0;
                    float worst = 0;
                    for (int j = 0; j < nv; j++)
                        for (int r = 0; r < rows; r++) {
                            dequantize_row(ty, w + rb * r, row, cols);
                            float want = k_dot(row, x + (size_t)j * cols, cols);
                            float d = fabsf(yb[j * rows + r] - want);
                            if (d > worst) worst = d;
                        }
                    float tol = k_act_q8_0(ty) || k_act_q8_K(ty) ? 0.02f * sqrtf((float)cols) : 1e-4f * sqrtf((float)cols);
                    if (!same || !(worst <= tol))
                        fprintf(stderr, "FAIL batch %s cols %d isa %d threads %d: same %d, max diff %g\n",
                                ggml_type_name(ty), cols, isa, threads, same, worst);
                    CHECK(same);
                    CHECK(worst <= tol);
                }
            }
            free(w);
            free(f);
            free(row);
            free(x);
            free(yb);
            free(y1);
        }
    }
    k_set_isa(saved_isa);
    k_set_threads(saved_th);
}

/* The fast attention helpers and the two-step rope. */
static void test_helpers(void) {
    float a[67], b[67], y[67], y2[67];
    for (int i = 0; i < 67; i++) {
        a[i] = frand();
        b[i] = frand();
        y[i] = y2[i] = frand();
    }
    CHECK(fabsf(k_dot_fast(a, b, 67) - k_dot(a, b, 67)) < 1e-5f);
    k_axpy_fast(y, 0.5f, a, 67);
    for (int i = 0; i < 67; i++) y2[i] += 0.5f * a[i];
    CHECK(memcmp(y, y2, sizeof y) == 0 || fabsf(y[66] - y2[66]) < 1e-6f);
    float v1[64], v2[64], cs[64];
    for (int neox = 0; neox <= 1; neox++) {
        for (int i = 0; i < 64; i++) v1[i] = v2[i] = frand();
        k_rope(v1, 48, 17, 10000.0f, 1.0f, neox);
        k_rope_table(cs, 48, 17, 10000.0f, 1.0f);
        k_rope_apply(v2, cs, 48, neox);
        CHECK(memcmp(v1, v2, sizeof v1) == 0);
    }
}

/* The SIMD exp and SwiGLU against libm: within 2 ulp (4 near 0, where
 * SiLU's x / (1 + e^-x) loses to the division more than to exp). */
static void test_activations(void) {
#if defined(__x86_64__)
    if (k_isa_supported() < K_ISA_AVX2) return;
    enum { N = 4099 };
    static float x[N], y[N], g1[N], g2[N], u[N];
    for (int i = 0; i < N; i++) x[i] = -87.0f + 175.0f * (float)i / (float)(N - 1);
    k_exp_avx2(y, x, N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float ref = expf(x[i]);
        if (fabsf(y[i] - ref) > 2.5f * ref * FLT_EPSILON) {
            if (!bad++) fprintf(stderr, "exp(%g) = %.9g, libm %.9g\n", x[i], y[i], ref);
        }
    }
    CHECK(bad == 0);
    if (k_isa_supported() >= K_ISA_AVX512) {
        k_exp_avx512(y, x, N - 3); /* and a masked tail */
        bad = 0;
        for (int i = 0; i < N - 3; i++)
            if (fabsf(y[i] - expf(x[i])) > 2.5f * expf(x[i]) * FLT_EPSILON) {
                if (!bad++) fprintf(stderr, "exp16(%g) = %.9g, libm %.9g\n", x[i], y[i], expf(x[i]));
            }
        CHECK(bad == 0);
    }
    for (int i = 0; i < N; i++) {
        g1[i] = g2[i] = 20.0f * frand();
        u[i] = frand();
    }
    g1[0] = g2[0] = -100.0f; /* clamped: SiLU is -0 there to float precision */
    g1[1] = g2[1] = 100.0f;
    k_swiglu(g1, u, N);
    k_swiglu_avx2(g2, u, N);
    bad = 0;
    for (int i = 0; i < N; i++)
        if (fabsf(g2[i] - g1[i]) > 4.0f * fabsf(g1[i]) * FLT_EPSILON + 1e-30f) {
            if (!bad++) fprintf(stderr, "swiglu %d: %.9g vs %.9g\n", i, g2[i], g1[i]);
        }
    CHECK(bad == 0);
#endif
}

/* k_attn_fast against the reference loops (k_dot, k_softmax, plain sums)
 * for the head sizes with an AVX-512 path and one without (48), groups of
 * 1 to 8 heads (an odd one takes the lone-head path), positions that are
 * and are not multiples of the 4-position and 16-score steps, and rows
 * wider than a head (several key/value heads per cache row). */
static void test_attention(void) {
    const int hds[] = {32, 64, 96, 128, 48};
    const int nqs[] = {1, 2, 3, 7, 8};
    const int nposs[] = {1, 2, 3, 4, 5, 16, 17, 33, 200};
    enum { MAXP = 200, MAXHD = 128, MAXQ = 8, LDMUL = 3 };
    float *k = malloc((size_t)MAXP * MAXHD * LDMUL * sizeof(float));
    float *v = malloc((size_t)MAXP * MAXHD * LDMUL * sizeof(float));
    float q[MAXQ * MAXHD], out[MAXQ * MAXHD], want[MAXHD], att[MAXQ * MAXP], ref[MAXP];
    for (int i = 0; i < MAXP * MAXHD * LDMUL; i++) {
        k[i] = frand();
        v[i] = frand();
    }
    for (int i = 0; i < MAXQ * MAXHD; i++) q[i] = 2.0f * frand();
    int saved_isa = k_isa(), simd_seen = 0;
    for (int isa = 0; isa <= k_isa_supported(); isa++) {
        k_set_isa(isa);
        for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
            for (size_t b = 0; b < sizeof nqs / sizeof nqs[0]; b++)
                for (size_t c = 0; c < sizeof nposs / sizeof nposs[0]; c++) {
                    const int hd = hds[a], nq = nqs[b], np = nposs[c];
                    const size_t ld = (size_t)hd * LDMUL;
                    const float scale = 1.0f / sqrtf((float)hd);
                    const float *kh = k + hd, *vh = v + hd; /* the second head of each row */
                    simd_seen |= k_attn_simd(hd);
                    k_attn_fast(out, q, nq, kh, vh, ld, np, hd, scale, att);
                    float worst = 0;
                    for (int g = 0; g < nq; g++) {
                        for (int t = 0; t < np; t++) ref[t] = k_dot(q + g * hd, kh + t * ld, hd) * scale;
                        k_softmax(ref, np);
                        for (int e = 0; e < hd; e++) {
                            float sum = 0;
                            for (int t = 0; t < np; t++) sum += ref[t] * vh[t * ld + e];
                            want[e] = sum;
                        }
                        for (int e = 0; e < hd; e++) {
                            float d = fabsf(out[g * hd + e] - want[e]);
                            if (d > worst) worst = d;
                        }
                    }
                    /* outputs are weighted means of values in [-1, 1] */
                    if (!(worst <= 2e-5f))
                        fprintf(stderr, "FAIL attention isa %d hd %d heads %d positions %d: max diff %g\n", isa,
                                hd, nq, np, worst);
                    CHECK(worst <= 2e-5f);
                }
    }
    /* on a CPU with AVX-512 the SIMD path must have been tested */
    CHECK(simd_seen == (k_isa_supported() >= K_ISA_AVX512));
    k_set_isa(saved_isa);
    free(k);
    free(v);
}

int main(void) {
    test_activations();
    test_dots();
    test_quantize();
    test_quantize_q8_K();
    test_matmul();
    test_matmul_batch();
    test_attention();
    test_helpers();
    TEST_DONE();
}
