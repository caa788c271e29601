/* fuzz_tokenizer.c -- arbitrary bytes through encode and streaming decode.
 *
 * Two real vocabularies are loaded once: stories260K.gguf (SentencePiece)
 * and the synthetic Qwen2 GGUF (byte-level BPE, qwen2 pre-tokenizer), from
 * $COPYD_TEST_MODELS or COPYD_FUZZ_MODELS (default /work/shared/models).
 * The first input byte picks the vocabulary (bit 0), parse_special (bit 1)
 * and add_special (bit 2); the rest is the text. Beyond "no crash, no UB,
 * no leak" it checks what callers rely on:
 * - every id is inside the vocabulary;
 * - each detok_push / detok_flush chunk is valid UTF-8 on its own;
 * - for valid UTF-8 input without special tokens (parse_special off) the
 *   BPE vocabulary decodes back to exactly the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/tokenizer.h"

#ifndef COPYD_FUZZ_MODELS
#define COPYD_FUZZ_MODELS "/work/shared/models"
#endif

#define EXPECT(c) do { if (!(c)) __builtin_trap(); } while (0)

static tokenizer_t *toks[2];
static int loaded;

static tokenizer_t *load(const char *dir, const char *rel) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    if (!g) {
        fprintf(stderr, "fuzz_tokenizer: %s: %s (vocabulary skipped)\n", path, err);
        return NULL;
    }
    tokenizer_t *t = tokenizer_load(g, err, sizeof err);
    if (!t) fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err);
    gguf_close(g);
    return t;
}

static int utf8_ok(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (i + k >= n) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!loaded) {
        const char *dir = getenv("COPYD_TEST_MODELS");
        if (!dir || !*dir) dir = COPYD_FUZZ_MODELS;
        toks[0] = load(dir, "gguf/stories260K.gguf");
        toks[1] = load(dir, "gguf/synthetic/tiny-random-qwen2-synthetic-f32.gguf");
        loaded = 1;
    }
    if (size < 1) return 0;
    int which = data[0] & 1, parse_special = (data[0] >> 1) & 1, add_special = (data[0] >> 2) & 1;
    const tokenizer_t *t = toks[which] ? toks[which] : toks[!which];
    if (!t) return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    int32_t *ids;
    size_t n;
    EXPECT(tokenizer_encode(t, text, len, add_special, parse_special, &ids, &n) == 0);
    EXPECT(ids != NULL);
    size_t cap = tokenizer_max_piece(t) + 16, tot = 0;
    char *chunk = malloc(cap), *all = malloc(n * cap + 8);
    EXPECT(chunk && all);
    detok_t d;
    detok_init(&d);
    d.first = 0;
    for (size_t i = 0; i < n; i++) {
        EXPECT(ids[i] >= 0 && (size_t)ids[i] < tokenizer_n_vocab(t));
        size_t pl = tokenizer_piece(t, ids[i], 1, NULL, 0);
        EXPECT(pl <= tokenizer_max_piece(t));
        size_t k = detok_push(t, &d, ids[i], chunk, cap);
        EXPECT(k <= cap && utf8_ok((unsigned char *)chunk, k));
        memcpy(all + tot, chunk, k);
        tot += k;
    }
    size_t k = detok_flush(&d, chunk, cap);
    EXPECT(utf8_ok((unsigned char *)chunk, k));
    memcpy(all + tot, chunk, k);
    tot += k;
    /* Byte-level BPE loses nothing: valid UTF-8 comes back unchanged. */
    if (strcmp(tokenizer_model_name(t), "gpt2") == 0 && !parse_special && !add_special &&
        utf8_ok((const unsigned char *)text, len) && !memchr(text, '<', len))
        EXPECT(tot == len && memcmp(all, text, len) == 0);
    free(all);
    free(chunk);
    free(ids);
    return 0;
}
