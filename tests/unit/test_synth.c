/* test_synth.c -- synthetic GGUF models: every type and both architectures
 * load with the real reader, tokenizer and model loader and run; the
 * vocabulary has exactly the size asked and round-trips text; bad shapes
 * are refused with their reason and leave no file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/quant.h"
#include "llm/synth.h"
#include "llm/tokenizer.h"
#include "test.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return p;
}

/* Text -> ids -> pieces gives the text back, uses no special ids, and
 * " the" is one learned token (the merges work). */
static void check_round_trip(const tokenizer_t *tok, int n_vocab) {
    const char *text = "Hello the world, in 1234 settings! The people and their house; caf\xc3\xa9 \xe2\x9c\x93.";
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(tokenizer_encode(tok, text, strlen(text), 0, 0, &ids, &n) == 0);
    CHECK(n > 5 && n < strlen(text)); /* merges shortened it */
    char out[512];
    size_t len = 0;
    int in_range = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= n_vocab - 3) in_range = 0;
        char piece[128];
        size_t m = tokenizer_piece(tok, ids[i], 0, piece, sizeof piece);
        if (m <= sizeof piece && len + m < sizeof out) {
            memcpy(out + len, piece, m);
            len += m;
        }
    }
    out[len] = '\0';
    CHECK(in_range);
    CHECK_STR(out, text);
    free(ids);

    CHECK(tokenizer_encode(tok, " the", 4, 0, 0, &ids, &n) == 0);
    CHECK(n == 1 && ids[0] == tokenizer_find(tok, "\xc4\xa0the", 5));
    CHECK(n == 1 && ids[0] >= 256);
    free(ids);
    /* specials are the last three ids and parse as such */
    CHECK(tokenizer_find(tok, "<|endoftext|>", 13) == n_vocab - 3);
    CHECK(tokenizer_find(tok, "<|im_start|>", 12) == n_vocab - 2);
    CHECK(tokenizer_find(tok, "<|im_end|>", 10) == n_vocab - 1);
    CHECK(tokenizer_eos(tok) == n_vocab - 1);
    CHECK(tokenizer_encode(tok, "<|im_start|>user", 16, 0, 1, &ids, &n) == 0);
    CHECK(n >= 2 && ids[0] == n_vocab - 2);
    free(ids);
}

/* Writes, loads and runs one model. */
static void check_model(const char *arch, ggml_type_t type, int n_vocab) {
    llm_synth_params_t p;
    llm_synth_params_default(&p);
    snprintf(p.arch, sizeof p.arch, "%s", arch);
    p.n_layer = 2;
    p.n_embd = 256;
    p.n_head = 4;
    p.n_head_kv = 2;
    p.n_ff = 512;
    p.n_vocab = n_vocab;
    p.n_ctx = 64;
    p.type = type;
    char path[512], err[512] = "";
    char name[64];
    snprintf(name, sizeof name, "%s-%s.gguf", arch, ggml_type_name(type));
    path_of(path, sizeof path, name);
    int rc = llm_synth_write(&p, path, err, sizeof err);
    if (rc != 0) fprintf(stderr, "%s: %s\n", name, err);
    CHECK(rc == 0);
    CHECK(file_size(path) > 0 && (uint64_t)file_size(path) == llm_synth_file_size(&p));

    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "%s: %s\n", name, err);
        return;
    }
    CHECK(g->version == 3 && g->alignment == 32);
    const gguf_tensor_t *q = gguf_tensor(g, "blk.1.attn_q.weight");
    CHECK(q && q->type == type);
    const gguf_tensor_t *nrm = gguf_tensor(g, "blk.0.attn_norm.weight");
    CHECK(nrm && nrm->type == GGML_TYPE_F32);
    CHECK((gguf_tensor(g, "output.weight") == NULL) == (strcmp(arch, "qwen2") == 0));
    CHECK((gguf_tensor(g, "blk.0.attn_k.bias") != NULL) == (strcmp(arch, "qwen2") == 0));

    tokenizer_t *tok = tokenizer_load(g, err, sizeof err);
    CHECK(tok != NULL);
    if (!tok) fprintf(stderr, "%s: tokenizer: %s\n", name, err);
    llm_model_t *m = llm_model_load(g, err, sizeof err);
    CHECK(m != NULL);
    if (!m) fprintf(stderr, "%s: model: %s\n", name, err);
    if (tok && m) {
        CHECK(tokenizer_n_vocab(tok) == (size_t)n_vocab);
        CHECK_STR(tokenizer_pre_name(tok), strcmp(arch, "qwen2") == 0 ? "qwen2" : "llama-bpe");
        const llm_config_t *c = llm_model_config(m);
        CHECK_STR(c->arch, arch);
        CHECK(c->n_layer == 2 && c->n_embd == 256 && c->n_head == 4 && c->n_head_kv == 2 && c->n_ff == 512);
        CHECK(c->n_vocab == n_vocab && c->n_ctx_train == 64);
        CHECK(c->tied_output == (strcmp(arch, "qwen2") == 0));
        check_round_trip(tok, n_vocab);

        /* a few steps: finite logits with a real spread */
        llm_state_t *st = llm_state_new(m, 16);
        float *logits = malloc((size_t)n_vocab * sizeof *logits);
        CHECK(st && logits);
        if (st && logits) {
            int32_t toks[4] = {10, 256, 300 % n_vocab, 7};
            int finite = 1;
            float spread = 0;
            for (int k = 0; k < 4; k++) {
                CHECK(llm_eval(m, st, &toks[k], 1, logits, NULL) == 0);
                float lo = logits[0], hi = logits[0];
                for (int i = 0; i < n_vocab; i++) {
                    if (!isfinite(logits[i])) finite = 0;
                    lo = logits[i] < lo ? logits[i] : lo;
                    hi = logits[i] > hi ? logits[i] : hi;
                }
                spread = hi - lo;
                CHECK(spread > 2.0f && spread < 200.0f);
            }
            CHECK(finite);
        }
        free(logits);
        llm_state_free(st);
    }
    llm_model_free(m);
    tokenizer_free(tok);
    gguf_close(g);
    unlink(path);
}

static void check_bad(const char *what, void (*edit)(llm_synth_params_t *), const char *expect) {
    llm_synth_params_t p;
    llm_synth_params_default(&p);
    edit(&p);
    char path[512], err[512] = "";
    path_of(path, sizeof path, "bad.gguf");
    CHECK(llm_synth_check(&p, err, sizeof err) == -1);
    err[0] = '\0';
    CHECK(llm_synth_write(&p, path, err, sizeof err) == -1);
    if (!strstr(err, expect)) fprintf(stderr, "FAIL %s: error '%s' lacks '%s'\n", what, err, expect);
    CHECK(strstr(err, expect) != NULL);
    CHECK(file_size(path) < 0);
    CHECK(llm_synth_file_size(&p) == 0);
}

static void bad_heads(llm_synth_params_t *p) { p->n_head = 3; p->n_head_kv = 3; }
static void bad_kv(llm_synth_params_t *p) { p->n_head = 8; p->n_head_kv = 3; }
static void bad_kblock(llm_synth_params_t *p) { p->n_embd = 896; p->n_head = 14; p->n_head_kv = 2; p->type = GGML_TYPE_Q4_K; }
static void bad_ff(llm_synth_params_t *p) { p->n_ff = 100; }
static void bad_vocab(llm_synth_params_t *p) { p->n_vocab = 200; }
static void bad_arch(llm_synth_params_t *p) { snprintf(p->arch, sizeof p->arch, "gpt2"); }
static void bad_type(llm_synth_params_t *p) { p->type = GGML_TYPE_Q2_K; }
static void bad_odd_head(llm_synth_params_t *p) { p->n_embd = 96; p->n_head = 32; p->n_head_kv = 32; p->type = GGML_TYPE_F32; }

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/copyd-test-synth-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    static const ggml_type_t types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                                        GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                        GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    int k = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        check_model("qwen2", types[i], 300 + 70 * k++);
        check_model("llama", types[i], 300 + 70 * k++);
    }

    /* same seed, same bytes; another seed, other weights */
    {
        llm_synth_params_t p;
        llm_synth_params_default(&p);
        p.n_layer = 1;
        p.n_embd = 64;
        p.n_ff = 128;
        p.n_vocab = 400;
        char a[512], b[512], c[512], err[256];
        path_of(a, sizeof a, "a.gguf");
        path_of(b, sizeof b, "b.gguf");
        path_of(c, sizeof c, "c.gguf");
        CHECK(llm_synth_write(&p, a, err, sizeof err) == 0);
        CHECK(llm_synth_write(&p, b, err, sizeof err) == 0);
        p.seed = 43;
        CHECK(llm_synth_write(&p, c, err, sizeof err) == 0);
        size_t na = 0, nb = 0, nc = 0;
        unsigned char *da = slurp(a, &na), *db = slurp(b, &nb), *dc = slurp(c, &nc);
        CHECK(da && db && dc && na == nb && na == nc);
        if (da && db && dc && na == nb && na == nc) {
            CHECK(memcmp(da, db, na) == 0);
            CHECK(memcmp(da, dc, na) != 0);
        }
        free(da);
        free(db);
        free(dc);
        unlink(a);
        unlink(b);
        unlink(c);
    }

    /* a large vocabulary reaches its size through word pairs */
    {
        llm_synth_params_t p;
        llm_synth_params_default(&p);
        p.n_layer = 1;
        p.n_embd = 32;
        p.n_head = 2;
        p.n_head_kv = 1;
        p.n_ff = 64;
        p.n_vocab = 30000;
        p.type = GGML_TYPE_F16;
        char path[512], err[512] = "";
        path_of(path, sizeof path, "big-vocab.gguf");
        CHECK(llm_synth_write(&p, path, err, sizeof err) == 0);
        gguf_t *g = gguf_open(path, 0, err, sizeof err);
        tokenizer_t *tok = g ? tokenizer_load(g, err, sizeof err) : NULL;
        CHECK(tok != NULL);
        if (tok) {
            CHECK(tokenizer_n_vocab(tok) == 30000);
            const gguf_kv_t *mg = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING);
            CHECK(mg && mg->arr_n == 30000 - 256 - 3); /* every learned token comes from one merge */
            check_round_trip(tok, 30000);
        }
        tokenizer_free(tok);
        gguf_close(g);
        unlink(path);
    }

    check_bad("embd % heads", bad_heads, "--embd 256 is not a multiple of --heads 3");
    check_bad("heads % kv", bad_kv, "--heads 8 is not a multiple of --kv-heads 3");
    check_bad("q4_K block", bad_kblock, "--embd 896 is not a multiple of 256, the block size of q4_K");
    check_bad("ffn block", bad_ff, "--ff 100 is not a multiple of 32, the block size of q8_0");
    check_bad("vocab", bad_vocab, "--vocab 200 is out of range");
    check_bad("arch", bad_arch, "--arch 'gpt2' is not supported");
    check_bad("type", bad_type, "cannot be written");
    check_bad("odd head", bad_odd_head, "must be even");

    /* the command line: usage errors are status 2, a good run writes */
    {
        char out[512], outarg[600];
        path_of(out, sizeof out, "cli.gguf");
        snprintf(outarg, sizeof outarg, "--out=%s", out);
        char *bad1[] = {"copyd", "model", "synth", "--embd", "100", "--heads", "3", outarg, NULL};
        CHECK(llm_cmd_synth(8, bad1) == 2);
        char *bad2[] = {"copyd", "model", "synth", "--type", "q9_9", outarg, NULL};
        CHECK(llm_cmd_synth(6, bad2) == 2);
        char *bad3[] = {"copyd", "model", "synth", "--layers", "2", NULL};
        CHECK(llm_cmd_synth(5, bad3) == 2);
        CHECK(file_size(out) < 0);
        char *good[] = {"copyd", "model", "synth", "--arch", "llama", "--layers", "1", "--embd", "64",
                        "--heads", "4", "--kv-heads", "2", "--ff", "96", "--vocab", "500", "--ctx", "32",
                        "--type", "Q4_0", "--seed", "7", outarg, NULL};
        CHECK(llm_cmd_synth(24, good) == 0);
        char err[256];
        gguf_t *g = gguf_open(out, 0, err, sizeof err);
        llm_model_t *m = g ? llm_model_load(g, err, sizeof err) : NULL;
        CHECK(m != NULL);
        if (m) {
            const llm_config_t *c = llm_model_config(m);
            CHECK(c->n_embd == 64 && c->n_head == 4 && c->n_head_kv == 2 && c->n_ff == 96 && c->n_vocab == 500);
            CHECK(c->n_ctx_train == 32 && !c->tied_output);
        }
        llm_model_free(m);
        gguf_close(g);
        unlink(out);
    }

    rmdir(dir);
    TEST_DONE();
}
