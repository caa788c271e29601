/* test_tokenizer.c -- SPM and byte-level BPE tokenizers against llama.cpp.
 *
 * Reference data (env COPYD_TEST_MODELS, default /work/shared/models; see
 * its README.txt): llama.cpp's test-tokenizer-0 vectors for every vocab
 * GGUF that is present, the stories260K / Llama 2 / Qwen2 tokenize lines
 * recorded with llama.cpp, llama2.c's test.c prompts, and the Llama 3 BPE
 * files. Each group skips with a message when its files are absent. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/tokenizer.h"
#include "test.h"

static const char *models;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (!b) return NULL;
    b[n] = 0;
    if (len) *len = (size_t)n;
    return b;
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static tokenizer_t *load_gguf_tok(const char *path) {
    char err[256] = "";
    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    if (!g) {
        fprintf(stderr, "gguf_open %s: %s\n", path, err);
        return NULL;
    }
    tokenizer_t *t = tokenizer_load(g, err, sizeof err);
    gguf_close(g); /* the tokenizer must not depend on the file any more */
    if (!t) fprintf(stderr, "tokenizer_load %s: %s\n", path, err);
    return t;
}

/* Independent strict UTF-8 validator (not the library's). */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (i + k >= n) return 0; /* truncated */
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static size_t parse_ids(const char *s, int32_t *ids, size_t max) {
    size_t n = 0;
    char *end;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == ',' || *s == '[') s++;
        long v = strtol(s, &end, 10);
        if (end == s || n == max) break;
        ids[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Decodes ids one by one through the streaming detokenizer; checks that
 * every chunk is valid UTF-8 on its own. Returns the malloc'd text. */
static char *detok_all(const tokenizer_t *t, const int32_t *ids, size_t n, size_t *outlen, int *chunks_ok) {
    size_t cap = tokenizer_max_piece(t) + 16, tot = 0;
    char *chunk = malloc(cap), *all = malloc(n * cap + 8);
    detok_t d;
    detok_init(&d);
    *chunks_ok = 1;
    for (size_t i = 0; i < n; i++) {
        size_t k = detok_push(t, &d, ids[i], chunk, cap);
        if (!valid_utf8((unsigned char *)chunk, k)) *chunks_ok = 0;
        memcpy(all + tot, chunk, k);
        tot += k;
    }
    size_t k = detok_flush(&d, chunk, cap);
    if (!valid_utf8((unsigned char *)chunk, k)) *chunks_ok = 0;
    memcpy(all + tot, chunk, k);
    tot += k;
    all[tot] = 0;
    *outlen = tot;
    free(chunk);
    return all;
}

/* test-tokenizer-0: .inp strings separated by "\n__ggml_vocab_test__\n",
 * .out lines of ids; add_special=0, parse_special=0. Also the round trip. */
static void check_vocab_vectors(const tokenizer_t *t, const char *name, const char *inp_path, const char *out_path,
                                int check_roundtrip) {
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t ilen;
    char *inp = slurp(inp_path, &ilen), *out = slurp(out_path, NULL);
    CHECK(inp != NULL && out != NULL);
    if (!inp || !out) {
        free(inp);
        free(out);
        return;
    }
    int total = 0, pass = 0, shown = 0, rt_total = 0, rt_pass = 0, chunks_bad = 0;
    char *p = inp, *o = out;
    int32_t want[4096];
    for (;;) {
        char *e = memmem(p, ilen - (size_t)(p - inp), sep, sizeof sep - 1);
        if (!e) break;
        size_t tl = (size_t)(e - p);
        char *nl = strchr(o, '\n');
        if (nl) *nl = 0;
        size_t nw = parse_ids(o, want, 4096);
        o = nl ? nl + 1 : o + strlen(o);
        int32_t *ids;
        size_t n;
        total++;
        if (tokenizer_encode(t, p, tl, 0, 0, &ids, &n) != 0) {
            ids = NULL;
            n = 0;
        }
        if (same_ids(ids, n, want, nw)) pass++;
        else if (shown++ < 3) {
            fprintf(stderr, "  %s mismatch on \"%.*s\"\n", name, (int)tl, p);
            print_ids("expected", want, nw);
            print_ids("got     ", ids, n);
        }
        if (check_roundtrip && ids) {
            size_t dl;
            int ok;
            char *back = detok_all(t, ids, n, &dl, &ok);
            rt_total++;
            if (dl == tl && memcmp(back, p, tl) == 0) rt_pass++;
            else fprintf(stderr, "  %s round trip: \"%.*s\" -> \"%s\"\n", name, (int)tl, p, back);
            if (!ok) chunks_bad++;
            free(back);
        }
        free(ids);
        p = e + sizeof sep - 1;
    }
    printf("vocab %-16s %d/%d cases match llama.cpp", name, pass, total);
    if (check_roundtrip) printf(", round trip %d/%d", rt_pass, rt_total);
    printf("\n");
    CHECK(total == 46);
    CHECK(pass == total);
    if (check_roundtrip) CHECK(rt_pass == rt_total);
    CHECK(chunks_bad == 0);
    free(inp);
    free(out);
}

static void test_llamacpp_vocabs(void) {
    static const char *names[] = {"llama-spm", "phi-3", "gpt-2", "starcoder", "refact", "deepseek-coder",
                                  "deepseek-llm", "falcon", "mpt", "qwen2", "llama-bpe"};
    int any = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char g[1024], in[1100], out[1100];
        snprintf(g, sizeof g, "%s/llama.cpp-vocab/ggml-vocab-%s.gguf", models, names[i]);
        snprintf(in, sizeof in, "%s.inp", g);
        snprintf(out, sizeof out, "%s.out", g);
        if (!file_exists(g) || !file_exists(in) || !file_exists(out)) {
            printf("SKIP vocab %s: %s (or .inp/.out) not present%s\n", names[i], g,
                   strcmp(names[i], "llama-bpe") == 0 ? " (covered below from llama3.2-bpe/)" : "");
            continue;
        }
        any = 1;
        tokenizer_t *t = load_gguf_tok(g);
        CHECK(t != NULL);
        if (!t) continue;
        check_vocab_vectors(t, names[i], in, out, 1);
        tokenizer_free(t);
    }
    if (!any) printf("SKIP llama.cpp vocab vectors: none under %s/llama.cpp-vocab\n", models);
}

/* Lines `tokenize "<C-escaped text>" => ids` recorded with llama_tokenize
 * (add_special=true, parse_special=false). */
static void check_tokenize_lines(const tokenizer_t *t, const char *ref_path, int expect_cases) {
    char *ref = slurp(ref_path, NULL);
    CHECK(ref != NULL);
    if (!ref) return;
    int total = 0, pass = 0;
    for (char *line = ref; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (strncmp(line, "tokenize \"", 10) == 0) {
            char *arrow = strstr(line, "\" => ");
            char text[4096];
            size_t tl = 0;
            for (char *s = line + 10; arrow && s < arrow && tl < sizeof text; s++) {
                if (*s == '\\' && s + 1 < arrow) {
                    s++;
                    switch (*s) {
                    case 'n': text[tl++] = '\n'; break;
                    case 't': text[tl++] = '\t'; break;
                    case 'r': text[tl++] = '\r'; break;
                    case 'x': {
                        unsigned v = 0;
                        sscanf(s + 1, "%2x", &v);
                        text[tl++] = (char)v;
                        s += 2;
                        break;
                    }
                    default: text[tl++] = *s; break;
                    }
                } else text[tl++] = *s;
            }
            int32_t want[512], *ids;
            size_t nw = arrow ? parse_ids(arrow + 5, want, 512) : 0, n;
            total++;
            CHECK(tokenizer_encode(t, text, tl, 1, 0, &ids, &n) == 0);
            if (same_ids(ids, n, want, nw)) pass++;
            else {
                fprintf(stderr, "  %s: mismatch on \"%.*s\"\n", ref_path, (int)tl, text);
                print_ids("expected", want, nw);
                print_ids("got     ", ids, n);
            }
            free(ids);
        }
        line = nl ? nl + 1 : NULL;
    }
    printf("%s: %d/%d tokenize lines match\n", strrchr(ref_path, '/') + 1, pass, total);
    CHECK(total == expect_cases);
    CHECK(pass == total);
    free(ref);
}

static void test_stories260k(void) {
    char g[1024], ref[1100];
    snprintf(g, sizeof g, "%s/gguf/stories260K.gguf", models);
    snprintf(ref, sizeof ref, "%s.reference_llama.cpp.txt", g);
    if (!file_exists(g) || !file_exists(ref)) {
        printf("SKIP stories260K: %s not present\n", g);
        return;
    }
    tokenizer_t *t = load_gguf_tok(g);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(tokenizer_n_vocab(t) == 512);
    CHECK(tokenizer_bos(t) == 1);
    CHECK(tokenizer_eos(t) == 2);
    CHECK(tokenizer_is_eog(t, 2));
    CHECK(!tokenizer_is_eog(t, 1));
    CHECK_STR(tokenizer_model_name(t), "llama");
    check_tokenize_lines(t, ref, 8);

    /* pieces: U+2581 -> ' ', byte tokens -> the byte, control tokens only
     * when rendered */
    char buf[64];
    size_t n = tokenizer_piece(t, 13, 0, buf, sizeof buf); /* <0x0A> */
    CHECK(n == 1 && buf[0] == '\n');
    CHECK(tokenizer_piece(t, 1, 0, buf, sizeof buf) == 0);
    n = tokenizer_piece(t, 1, 1, buf, sizeof buf);
    CHECK(n == 3 && memcmp(buf, "<s>", 3) == 0);
    int32_t sp = tokenizer_find(t, "\xE2\x96\x81", 3);
    CHECK(sp >= 0);
    n = tokenizer_piece(t, sp, 0, buf, sizeof buf);
    CHECK(n == 1 && buf[0] == ' ');
    CHECK(tokenizer_find(t, "no such token", 13) == -1);

    /* streaming: the emoji of "café naïve — 😀" arrives as 4 byte tokens;
     * nothing may come out until the last one */
    int32_t *ids;
    const char *txt = "caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x94 \xF0\x9F\x98\x80";
    CHECK(tokenizer_encode(t, txt, strlen(txt), 1, 0, &ids, &n) == 0);
    CHECK(n >= 4 && ids[0] == 1);
    if (n >= 4) {
        detok_t d;
        char out[256];
        detok_init(&d);
        size_t tot = 0;
        char all[256];
        for (size_t i = 0; i < n; i++) {
            size_t k = detok_push(t, &d, ids[i], out, sizeof out);
            CHECK(valid_utf8((unsigned char *)out, k));
            if (i >= n - 3 && i < n - 1) CHECK(k == 0); /* 2nd..3rd byte of the emoji held back */
            memcpy(all + tot, out, k);
            tot += k;
        }
        CHECK(detok_flush(&d, out, sizeof out) == 0);
        CHECK(tot == strlen(txt) && memcmp(all, txt, tot) == 0);
    }
    free(ids);

    /* a lone byte token that never completes: U+FFFD, not a partial byte */
    {
        detok_t d;
        char out[64];
        detok_init(&d);
        size_t k = detok_push(t, &d, 3 + 0xE2, out, sizeof out); /* <0xE2> */
        CHECK(k == 0);
        k = detok_push(t, &d, 3 + 'A', out, sizeof out); /* <0x41> breaks the sequence */
        CHECK(k == 4 && memcmp(out, "\xEF\xBF\xBD" "A", 4) == 0);
        detok_push(t, &d, 3 + 0xF0, out, sizeof out);
        k = detok_flush(&d, out, sizeof out);
        CHECK(k == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0);
    }
    tokenizer_free(t);
}

static void test_llama2c_prompts(void) {
    char g[1024], ref[1024];
    snprintf(g, sizeof g, "%s/gguf/llama-2-tiny-random.gguf", models);
    snprintf(ref, sizeof ref, "%s/llama2c/tokenizer.bin.expected_encodings_from_llama2c_test.c.txt", models);
    if (!file_exists(g) || !file_exists(ref)) {
        printf("SKIP llama2.c prompts: %s or %s not present\n", g, ref);
        return;
    }
    tokenizer_t *t = load_gguf_tok(g);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(tokenizer_n_vocab(t) == 32000);
    char *txt = slurp(ref, NULL);
    int total = 0, pass = 0;
    for (char *line = txt; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line == '{') {
            json_error_t je;
            json_t *o = json_loads(line, 0, &je);
            json_t *pj = json_object_get(o, "prompt"), *ij = json_object_get(o, "ids");
            CHECK(json_is_string(pj) && json_is_array(ij));
            if (json_is_string(pj) && json_is_array(ij)) {
                int32_t want[512], *ids;
                size_t nw = json_array_size(ij), n;
                for (size_t i = 0; i < nw && i < 512; i++) want[i] = (int32_t)json_integer_value(json_array_get(ij, i));
                total++;
                CHECK(tokenizer_encode(t, json_string_value(pj), json_string_length(pj), 1, 0, &ids, &n) == 0);
                if (same_ids(ids, n, want, nw)) pass++;
                else {
                    fprintf(stderr, "  llama2.c prompt mismatch: \"%s\"\n", json_string_value(pj));
                    print_ids("expected", want, nw);
                    print_ids("got     ", ids, n);
                }
                free(ids);
            }
            json_decref(o);
        }
        line = nl ? nl + 1 : NULL;
    }
    printf("llama2.c test.c prompts: %d/%d match\n", pass, total);
    CHECK(total == 5 && pass == total);
    free(txt);
    tokenizer_free(t);
}

static void test_qwen2_synthetic(void) {
    char g[1024], ref[1100];
    snprintf(g, sizeof g, "%s/gguf/synthetic/tiny-random-qwen2-synthetic-f32.gguf", models);
    snprintf(ref, sizeof ref, "%s.reference_llama.cpp_native.txt", g);
    if (!file_exists(g) || !file_exists(ref)) {
        printf("SKIP qwen2 synthetic: %s not present\n", g);
        return;
    }
    tokenizer_t *t = load_gguf_tok(g);
    CHECK(t != NULL);
    if (!t) return;
    CHECK_STR(tokenizer_model_name(t), "gpt2");
    CHECK_STR(tokenizer_pre_name(t), "qwen2");
    check_tokenize_lines(t, ref, 6);
    /* with parse_special the control token text becomes the control token */
    int32_t im = tokenizer_find(t, "<|im_start|>", 12), *ids;
    size_t n;
    CHECK(im >= 0);
    CHECK(tokenizer_encode(t, "<|im_start|>user", 16, 0, 1, &ids, &n) == 0);
    CHECK(n >= 2 && ids[0] == im);
    free(ids);
    CHECK(tokenizer_encode(t, "<|im_start|>user", 16, 0, 0, &ids, &n) == 0);
    CHECK(n >= 2 && ids[0] != im);
    free(ids);
    int32_t end = tokenizer_find(t, "<|im_end|>", 10);
    if (end >= 0) CHECK(tokenizer_is_eog(t, end));
    tokenizer_free(t);
}

static void test_llama3_files(void) {
    char enc[1024], merges[1024], in[1024], out[1024];
    snprintf(enc, sizeof enc, "%s/llama3.2-bpe/encoder.json", models);
    snprintf(merges, sizeof merges, "%s/llama3.2-bpe/vocab.bpe", models);
    snprintf(in, sizeof in, "%s/llama.cpp-vocab/ggml-vocab-llama-bpe.gguf.inp", models);
    snprintf(out, sizeof out, "%s/llama.cpp-vocab/ggml-vocab-llama-bpe.gguf.out", models);
    if (!file_exists(enc) || !file_exists(merges) || !file_exists(in) || !file_exists(out)) {
        printf("SKIP llama3.2 BPE: %s / %s not present\n", enc, merges);
        return;
    }
    const char *specials[] = {"<|begin_of_text|>", "<|end_of_text|>"};
    char err[256] = "";
    tokenizer_t *t = tokenizer_from_bpe_files(enc, merges, "llama-bpe", specials, 2, err, sizeof err);
    if (!t) fprintf(stderr, "tokenizer_from_bpe_files: %s\n", err);
    CHECK(t != NULL);
    if (!t) return;
    CHECK(tokenizer_n_vocab(t) == 128002);
    CHECK(tokenizer_bos(t) == 128000);
    CHECK(tokenizer_eos(t) == 128001);
    CHECK(tokenizer_is_eog(t, 128001));
    check_vocab_vectors(t, "llama3.2 files", in, out, 1);
    int32_t *ids;
    size_t n;
    CHECK(tokenizer_encode(t, "hello world", 11, 0, 0, &ids, &n) == 0);
    CHECK(n == 2 && ids[0] == 15339 && ids[1] == 1917);
    free(ids);
    /* digits go in groups of three (\p{N}{1,3}): "0" 15, "00" 410, "000" 931
     * (ollama's bytepairencoding_test.go) */
    for (int z = 1; z <= 8; z++) {
        char zeros[16];
        int32_t want[8];
        size_t nw = 0;
        memset(zeros, '0', (size_t)z);
        for (int k = 0; k < z / 3; k++) want[nw++] = 931;
        if (z % 3) want[nw++] = z % 3 == 1 ? 15 : 410;
        CHECK(tokenizer_encode(t, zeros, (size_t)z, 0, 0, &ids, &n) == 0);
        CHECK(same_ids(ids, n, want, nw));
        free(ids);
    }
    /* add_special adds BOS for llama-bpe; parse_special finds its text */
    CHECK(tokenizer_encode(t, "<|begin_of_text|>hello world", 28, 1, 1, &ids, &n) == 0);
    CHECK(n == 4 && ids[0] == 128000 && ids[1] == 128000 && ids[2] == 15339);
    free(ids);
    tokenizer_free(t);
}

/* Hostile input: arbitrary bytes must tokenize, and everything decodes to
 * valid UTF-8 chunks. Runs on whichever vocabularies are present. */
static void test_hostile_input(void) {
    const char *paths[] = {"gguf/stories260K.gguf", "llama.cpp-vocab/ggml-vocab-deepseek-llm.gguf",
                           "llama.cpp-vocab/ggml-vocab-gpt-2.gguf", "gguf/synthetic/tiny-random-qwen2-synthetic-f32.gguf"};
    unsigned char junk[3000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    memcpy(junk + 100, "\xED\xA0\x80\xC0\xAF\xF4\x90\x80\x80\xE2\x80\x85\xC2\x85 \x00\x00", 18);
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        char g[1024];
        snprintf(g, sizeof g, "%s/%s", models, paths[k]);
        if (!file_exists(g)) continue;
        tokenizer_t *t = load_gguf_tok(g);
        CHECK(t != NULL);
        if (!t) continue;
        for (int ps = 0; ps < 2; ps++) {
            int32_t *ids;
            size_t n;
            CHECK(tokenizer_encode(t, (char *)junk, sizeof junk, 1, ps, &ids, &n) == 0);
            CHECK(n > 0);
            int ok = 1;
            size_t dl;
            for (size_t i = 0; i < n; i++) ok &= ids[i] >= 0 && (size_t)ids[i] < tokenizer_n_vocab(t);
            CHECK(ok);
            char *back = detok_all(t, ids, n, &dl, &ok);
            CHECK(ok);
            free(back);
            free(ids);
        }
        int32_t *ids;
        size_t n;
        CHECK(tokenizer_encode(t, "", 0, 0, 0, &ids, &n) == 0 && n == 0 && ids != NULL);
        free(ids);
        CHECK(tokenizer_piece(t, -1, 1, NULL, 0) == 0);
        CHECK(tokenizer_piece(t, (int32_t)tokenizer_n_vocab(t), 1, NULL, 0) == 0);
        tokenizer_free(t);
    }
}

/* A GGUF with an unsupported tokenizer model is refused with a message. */
static void test_bad_vocab(void) {
    unsigned char b[256];
    size_t p = 0;
#define PUT(v, k) (memcpy(b + p, &(v), k), p += k)
    uint32_t magic = 0x46554747, ver = 3, ty = GGUF_TYPE_STRING;
    uint64_t nt = 0, nkv = 1, kl = strlen("tokenizer.ggml.model"), vl = 4;
    PUT(magic, 4);
    PUT(ver, 4);
    PUT(nt, 8);
    PUT(nkv, 8);
    PUT(kl, 8);
    memcpy(b + p, "tokenizer.ggml.model", kl), p += kl;
    PUT(ty, 4);
    PUT(vl, 8);
    memcpy(b + p, "bert", 4), p += 4;
#undef PUT
    char err[256] = "";
    gguf_t *g = gguf_parse(b, p, err, sizeof err);
    CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "gguf_parse: %s\n", err);
        return;
    }
    tokenizer_t *t = tokenizer_load(g, err, sizeof err);
    CHECK(t == NULL);
    CHECK(strstr(err, "bert") != NULL);
    gguf_close(g);
}

int main(void) {
    models = getenv("COPYD_TEST_MODELS");
    if (!models || !*models) models = "/work/shared/models";
    test_bad_vocab();
    test_llamacpp_vocabs();
    test_stories260k();
    test_llama2c_prompts();
    test_qwen2_synthetic();
    test_llama3_files();
    test_hostile_input();
    TEST_DONE();
}
