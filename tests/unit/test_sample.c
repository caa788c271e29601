/* test_sample.c -- samplers on hand-made logits, the mask, stop strings,
 * and llama2.c's recorded top-p output for stories260K reproduced exactly. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/kernels/kernels.h"
#include "llm/sample.h"
#include "test.h"

#if defined(__has_include)
#if __has_include("llm/tokenizer.h") && !defined(COPYD_TEST_NO_TOKENIZER)
#include "llm/tokenizer.h"
#define HAVE_TOKENIZER 1
#endif
#endif

static llm_sample_params_t plain(float temp) {
    llm_sample_params_t p;
    llm_sample_params_default(&p);
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.seed = 42;
    return p;
}

/* Draws `n` tokens from fixed logits, counting each id. */
static void histogram(llm_sampler_t *s, const float *logits, int nv, int n, int *count, const llm_mask_t *mask) {
    float *work = malloc((size_t)nv * sizeof(float));
    memset(count, 0, (size_t)nv * sizeof(int));
    for (int i = 0; i < n; i++) {
        memcpy(work, logits, (size_t)nv * sizeof(float));
        int id = llm_sampler_sample(s, work, NULL, 0, mask);
        if (id >= 0 && id < nv) count[id]++;
    }
    free(work);
}

static void test_rng(void) {
    llm_rng_t a, b;
    llm_rng_seed(&a, 7);
    llm_rng_seed(&b, 7);
    int same = 1, in_range = 1;
    double sum = 0.0;
    for (int i = 0; i < 10000; i++) {
        float x = llm_rng_f32(&a), y = llm_rng_f32(&b);
        if (x != y) same = 0;
        if (!(x >= 0.0f && x < 1.0f)) in_range = 0;
        sum += x;
    }
    CHECK(same && in_range);
    CHECK(fabs(sum / 10000 - 0.5) < 0.02);
    llm_rng_seed(&b, 8);
    llm_rng_seed(&a, 7);
    CHECK(llm_rng_u32(&a) != llm_rng_u32(&b));
    /* seed 0 is usable (the state is never 0) */
    llm_rng_seed(&a, 0);
    llm_rng_seed_raw(&b, 0);
    CHECK(a.state != 0 && b.state != 0 && llm_rng_u32(&a) != 0);
    /* raw seeding keeps the seed as the state, as llama2.c does */
    llm_rng_seed_raw(&a, 133742);
    CHECK(a.state == 133742);
}

static void test_greedy_and_mask(void) {
    float l[6] = {0.5f, 2.0f, -1.0f, 2.0f, NAN, -INFINITY};
    CHECK(llm_argmax(l, 6) == 1); /* tie 1 vs 3: lower id */
    float none[2] = {-INFINITY, NAN};
    CHECK(llm_argmax(none, 2) == -1);

    llm_sample_params_t p = plain(0.0f);
    llm_sampler_t *s = llm_sampler_new(6, &p);
    CHECK(s != NULL);
    llm_mask_t m;
    CHECK(llm_mask_init(&m, 6) == 0);
    float w[6];
    memcpy(w, l, sizeof w);
    CHECK(llm_sampler_sample(s, w, NULL, 0, &m) == 1);
    llm_mask_ban(&m, 1);
    llm_mask_ban(&m, 99); /* ignored */
    CHECK(llm_mask_banned(&m, 1) && !llm_mask_banned(&m, 3) && !llm_mask_banned(&m, 99));
    memcpy(w, l, sizeof w);
    CHECK(llm_sampler_sample(s, w, NULL, 0, &m) == 3);
    CHECK(w[1] == -INFINITY);
    llm_mask_ban(&m, 3);
    memcpy(w, l, sizeof w);
    CHECK(llm_sampler_sample(s, w, NULL, 0, &m) == 0);
    llm_mask_ban(&m, 0);
    llm_mask_ban(&m, 2);
    memcpy(w, l, sizeof w);
    CHECK(llm_sampler_sample(s, w, NULL, 0, &m) == -1); /* nothing left */
    llm_mask_allow(&m, 2);
    memcpy(w, l, sizeof w);
    CHECK(llm_sampler_sample(s, w, NULL, 0, &m) == 2);
    llm_mask_clear(&m);
    CHECK(!llm_mask_banned(&m, 0));
    llm_sampler_free(s);

    /* a mask over a large vocabulary, honoured while sampling */
    enum { NV = 1000 };
    float *big = malloc(NV * sizeof(float));
    for (int i = 0; i < NV; i++) big[i] = (float)(i % 7) * 0.3f;
    llm_mask_t bm;
    CHECK(llm_mask_init(&bm, NV) == 0);
    for (int i = 0; i < NV; i += 3) llm_mask_ban(&bm, i);
    p = plain(1.5f);
    s = llm_sampler_new(NV, &p);
    int *count = calloc(NV, sizeof(int));
    histogram(s, big, NV, 5000, count, &bm);
    int banned_drawn = 0, total = 0;
    for (int i = 0; i < NV; i++) {
        total += count[i];
        if (i % 3 == 0) banned_drawn += count[i];
    }
    CHECK(total == 5000 && banned_drawn == 0);
    free(count);
    free(big);
    llm_sampler_free(s);
    llm_mask_free(&bm);
    llm_mask_free(&m);
}

static void test_filters(void) {
    /* probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1 */
    const float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    int count[4];
    enum { N = 20000 };

    llm_sample_params_t p = plain(1.0f);
    llm_sampler_t *s = llm_sampler_new(4, &p);
    histogram(s, l, 4, N, count, NULL);
    printf("temperature 1: %d %d %d %d\n", count[0], count[1], count[2], count[3]);
    CHECK(fabs(count[0] / (double)N - 0.5) < 0.02 && fabs(count[1] / (double)N - 0.3) < 0.02);
    CHECK(fabs(count[2] / (double)N - 0.15) < 0.02 && fabs(count[3] / (double)N - 0.05) < 0.01);
    llm_sampler_free(s);

    /* a high temperature flattens: token 3 becomes far more frequent */
    p = plain(4.0f);
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, N, count, NULL);
    CHECK(count[3] / (double)N > 0.15);
    llm_sampler_free(s);

    p = plain(1.0f);
    p.top_k = 2;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, N, count, NULL);
    CHECK(count[2] == 0 && count[3] == 0);
    CHECK(fabs(count[0] / (double)N - 0.625) < 0.02); /* 0.5 / 0.8 */
    llm_sampler_free(s);

    p = plain(1.0f);
    p.top_k = 1;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 1000, count, NULL);
    CHECK(count[0] == 1000);
    llm_sampler_free(s);

    /* top-p 0.85: the smallest set reaching 0.85 is {0, 1, 2} */
    p = plain(1.0f);
    p.top_p = 0.85f;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, N, count, NULL);
    CHECK(count[3] == 0 && count[2] > 0);
    CHECK(fabs(count[0] / (double)N - 0.5 / 0.95) < 0.02);
    llm_sampler_free(s);
    /* top-p 0.5: token 0 alone reaches it */
    p.top_p = 0.5f;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 1000, count, NULL);
    CHECK(count[0] == 1000);
    llm_sampler_free(s);

    /* min-p 0.25: keep p >= 0.125, i.e. {0, 1, 2} */
    p = plain(1.0f);
    p.min_p = 0.25f;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, N, count, NULL);
    CHECK(count[3] == 0 && count[2] > 0);
    llm_sampler_free(s);
    p.min_p = 0.7f; /* keep p >= 0.35: {0} */
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 1000, count, NULL);
    CHECK(count[0] == 1000);
    llm_sampler_free(s);
}

static void test_penalty(void) {
    llm_sample_params_t p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    llm_sampler_t *s = llm_sampler_new(4, &p);
    float w[4];
    const int32_t hist[3] = {0, 0, 3};
    memcpy(w, (float[4]){2.0f, 1.5f, -1.0f, -0.5f}, sizeof w);
    /* only the last 2 (0 and 3) count; 0 once though it appears twice */
    CHECK(llm_sampler_sample(s, w, hist, 3, NULL) == 1);
    CHECK(w[0] == 1.0f && w[1] == 1.5f && w[2] == -1.0f && w[3] == -1.0f);
    /* window of 1: only token 3 */
    llm_sampler_free(s);
    p.repeat_last_n = 1;
    s = llm_sampler_new(4, &p);
    memcpy(w, (float[4]){2.0f, 1.5f, -1.0f, -0.5f}, sizeof w);
    CHECK(llm_sampler_sample(s, w, hist, 3, NULL) == 0);
    CHECK(w[0] == 2.0f && w[3] == -1.0f);
    /* repeated calls: the "seen" bookkeeping is cleared between calls */
    memcpy(w, (float[4]){2.0f, 1.5f, -1.0f, -0.5f}, sizeof w);
    CHECK(llm_sampler_sample(s, w, hist, 3, NULL) == 0);
    CHECK(w[3] == -1.0f);
    llm_sampler_free(s);
    /* out-of-range ids in the history are ignored */
    p.repeat_last_n = -1;
    s = llm_sampler_new(4, &p);
    const int32_t odd[3] = {-5, 77, 1};
    memcpy(w, (float[4]){2.0f, 1.5f, -1.0f, -0.5f}, sizeof w);
    CHECK(llm_sampler_sample(s, w, odd, 3, NULL) == 0);
    CHECK(w[1] == 0.75f);
    llm_sampler_free(s);
}

static void test_determinism(void) {
    enum { NV = 50 };
    float l[NV], w[NV];
    for (int i = 0; i < NV; i++) l[i] = sinf((float)i) * 2.0f;
    llm_sample_params_t p = plain(1.0f);
    p.top_k = 20;
    p.top_p = 0.9f;
    p.seed = 1234;
    llm_sampler_t *a = llm_sampler_new(NV, &p), *b = llm_sampler_new(NV, &p);
    p.seed = 1235;
    llm_sampler_t *c = llm_sampler_new(NV, &p);
    int seq_a[200], same = 1, differs = 0;
    for (int i = 0; i < 200; i++) {
        memcpy(w, l, sizeof w);
        seq_a[i] = llm_sampler_sample(a, w, NULL, 0, NULL);
        memcpy(w, l, sizeof w);
        if (llm_sampler_sample(b, w, NULL, 0, NULL) != seq_a[i]) same = 0;
        memcpy(w, l, sizeof w);
        if (llm_sampler_sample(c, w, NULL, 0, NULL) != seq_a[i]) differs = 1;
    }
    CHECK(same);
    CHECK(differs);
    llm_sampler_reseed(a, 1234);
    same = 1;
    for (int i = 0; i < 200; i++) {
        memcpy(w, l, sizeof w);
        if (llm_sampler_sample(a, w, NULL, 0, NULL) != seq_a[i]) same = 0;
    }
    CHECK(same);
    llm_sampler_free(a);
    llm_sampler_free(b);
    llm_sampler_free(c);
    CHECK(llm_sampler_new(0, &p) == NULL);
}

static void test_llama2c_handmade(void) {
    const float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    int count[4];
    llm_sample_params_t p = plain(0.0f);
    p.llama2c = 1;
    p.seed = 133742;
    llm_sampler_t *s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 100, count, NULL);
    CHECK(count[0] == 100);
    llm_sampler_free(s);
    /* run.c's top-p: keep tokens until the cumulative probability exceeds
     * p (strictly): with 0.75, {0, 1} (0.8 > 0.75) */
    p.temperature = 1.0f;
    p.top_p = 0.75f;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 20000, count, NULL);
    CHECK(count[2] == 0 && count[3] == 0);
    CHECK(fabs(count[0] / 20000.0 - 0.625) < 0.02);
    llm_sampler_free(s);
    /* top_p 1: plain multinomial */
    p.top_p = 1.0f;
    s = llm_sampler_new(4, &p);
    histogram(s, l, 4, 20000, count, NULL);
    CHECK(count[3] > 0 && fabs(count[3] / 20000.0 - 0.05) < 0.01);
    llm_sampler_free(s);
}

static void test_stop(void) {
    const char *stops[] = {"</s>", "", NULL, "\n\nUser:", "<|im_end|>"};
    const int ns = 5;
    const char *t = "Hello there.\n\nUser: hi</s>";
    size_t at = 0;
    CHECK(llm_stop_find(t, strlen(t), stops, ns, &at) == 3);
    CHECK(at == 12);
    CHECK(llm_stop_find("nothing", 7, stops, ns, &at) == -1);
    CHECK(llm_stop_ends_with(t, strlen(t), stops, ns));
    CHECK(!llm_stop_ends_with("a</s> b", 7, stops, ns));
    /* longer wins at the same offset */
    const char *two[] = {"ab", "abc"};
    CHECK(llm_stop_find("xxabcx", 6, two, 2, &at) == 1 && at == 2);
    /* partial: tails that may grow into a stop string */
    CHECK(llm_stop_partial("Hello <|im_", 11, stops, ns) == 5);
    CHECK(llm_stop_partial("Hello <", 7, stops, ns) == 1);
    CHECK(llm_stop_partial("Hello\n\nUse", 10, stops, ns) == 5);
    CHECK(llm_stop_partial("Hello", 5, stops, ns) == 0);
    CHECK(llm_stop_partial("x</s>", 5, stops, ns) == 0); /* complete: find() deals with it */
    CHECK(llm_stop_partial("", 0, stops, ns) == 0);
}

/* llama2.c: ./run stories260K.bin -z tok512.bin -t 1.0 -p 0.9 -s 133742
 * (256 steps from BOS) printed this text; the same weights are in
 * stories260K.gguf. */
static void test_llama2c_reproduction(void) {
    const char *env = getenv("COPYD_TEST_MODELS");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", env && env[0] ? env : "/work/shared/models");
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("SKIP llama2.c top-p reproduction: model folder %s is absent\n", dir);
        return;
    }
#ifndef HAVE_TOKENIZER
    printf("SKIP llama2.c top-p reproduction: no tokenizer module yet\n");
#else
    char path[2048], err[256];
    snprintf(path, sizeof path, "%s/gguf/stories260K.gguf", dir);
    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    CHECK(g != NULL);
    if (!g) return;
    llm_model_t *m = llm_model_load(g, err, sizeof err);
    tokenizer_t *tok = tokenizer_load(g, err, sizeof err);
    CHECK(m && tok);
    snprintf(path, sizeof path, "%s/llama2c/stories260K.expected_stdout_t1.0_p0.9_s133742.txt", dir);
    FILE *f = fopen(path, "rb");
    char want[4096] = "";
    size_t wn = f ? fread(want, 1, sizeof want - 1, f) : 0;
    if (f) fclose(f);
    want[wn] = '\0';
    CHECK(wn > 100);
    if (m && tok && wn > 100) {
        const int V = llm_model_config(m)->n_vocab;
        llm_sample_params_t p = plain(1.0f);
        p.top_p = 0.9f;
        p.seed = 133742;
        p.llama2c = 1;
        llm_sampler_t *s = llm_sampler_new(V, &p);
        llm_state_t *state = llm_state_new(m, 256);
        float *logits = malloc((size_t)V * sizeof(float));
        char text[8192], piece[512];
        size_t tn = 0;
        detok_t d;
        detok_init(&d);
        int32_t token = 1; /* BOS */
        /* run.c's loop: 256 positions, stop when BOS comes out */
        for (int pos = 0; pos < 256; pos++) {
            if (llm_eval(m, state, &token, 1, logits, NULL) != 0) break;
            int next = llm_sampler_sample(s, logits, NULL, 0, NULL);
            if (next == 1 || next < 0) break;
            size_t k = detok_push(tok, &d, next, piece, sizeof piece);
            if (tn + k < sizeof text) memcpy(text + tn, piece, k), tn += k;
            token = next;
        }
        size_t k = detok_flush(&d, piece, sizeof piece);
        if (tn + k < sizeof text) memcpy(text + tn, piece, k), tn += k;
        text[tn++] = '\n'; /* run.c's final printf("\n") */
        text[tn] = '\0';
        if (strcmp(text, want) != 0) fprintf(stderr, "got:\n%s\nwant:\n%s\n", text, want);
        CHECK_STR(text, want);
        free(logits);
        llm_state_free(state);
        llm_sampler_free(s);
    }
    tokenizer_free(tok);
    llm_model_free(m);
    gguf_close(g);
#endif
}

/* The SIMD argmax against the plain definition, at every ISA level, on
 * lengths around the SIMD widths and a vocabulary's, with NaN, -inf, +inf
 * and ties placed in vectors and in the scalar tail. */
static int argmax_ref(const float *x, int n) {
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(x[i]) || x[i] == -INFINITY) continue;
        if (best < 0 || x[i] > x[best]) best = i;
    }
    return best;
}

static void test_argmax_simd(void) {
    enum { N = 151936 };
    float *x = malloc(N * sizeof(float));
    const int lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, N};
    llm_rng_t rng;
    llm_rng_seed(&rng, 42);
    int saved = k_isa();
    for (int isa = 0; isa <= k_isa_supported(); isa++) {
        k_set_isa(isa);
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int n = lens[li];
            for (int trial = 0; trial < 8; trial++) {
                for (int i = 0; i < n; i++) x[i] = (float)(llm_rng_u32(&rng) % 2001) / 100.0f - 10.0f;
                const int at = (int)(llm_rng_u32(&rng) % (uint32_t)n);
                switch (trial) {
                case 1: x[at] = NAN; break;
                case 2: x[at] = 50.0f; x[n - 1] = 50.0f; break; /* tie: the first one */
                case 3: for (int i = 0; i < n; i++) x[i] = NAN; break;
                case 4: for (int i = 0; i < n; i++) x[i] = i % 2 ? -INFINITY : NAN; break;
                case 5: x[at] = INFINITY; break;
                case 6: x[n - 1] = 99.0f; break; /* in the tail */
                case 7: x[0] = NAN; x[n / 2] = 75.0f; break;
                default: break;
                }
                int got = llm_argmax(x, n), want = argmax_ref(x, n);
                if (got != want) fprintf(stderr, "argmax isa %d n %d trial %d: %d, want %d\n", isa, n, trial, got, want);
                CHECK(got == want);
            }
        }
    }
    k_set_isa(saved);
    free(x);
}

int main(void) {
    test_rng();
    test_greedy_and_mask();
    test_argmax_simd();
    test_filters();
    test_penalty();
    test_determinism();
    test_llama2c_handmade();
    test_stop();
    test_llama2c_reproduction();
    TEST_DONE();
}
