/* test_gguf.c -- the GGUF reader against real files and a corpus of
 * corruptions.
 *
 * A small GGUF writer here builds a valid file in memory (every value type,
 * a string array, two tensors); each corruption patches one field of it
 * (or builds a variant) and must give its own specific message. Every
 * truncation and every single-byte flip of the valid file is parsed from an
 * exact-size heap copy, so ASan sees any over-read. The real model files
 * under COPYD_TEST_MODELS are checked against facts from their README;
 * that part prints SKIP and passes when the folder is absent. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm/gguf.h"
#include "llm/quant.h"
#include "test.h"

/* ---- a tiny GGUF writer ------------------------------------------------ */

typedef struct { uint8_t *p; size_t n, cap; } wb_t;

static void wb_put(wb_t *w, const void *d, size_t n) {
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
    }
    memcpy(w->p + w->n, d, n);
    w->n += n;
}
static void w_u8(wb_t *w, uint8_t v) { wb_put(w, &v, 1); }
static void w_u32(wb_t *w, uint32_t v) { wb_put(w, &v, 4); }
static void w_u64(wb_t *w, uint64_t v) { wb_put(w, &v, 8); }
static void w_str(wb_t *w, const char *s) { w_u64(w, strlen(s)); wb_put(w, s, strlen(s)); }
static void w_pad(wb_t *w, size_t al) { while (w->n % al) w_u8(w, 0); }
static void kv(wb_t *w, const char *key, uint32_t type) { w_str(w, key); w_u32(w, type); }

static void header(wb_t *w, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    wb_put(w, "GGUF", 4);
    w_u32(w, version);
    w_u64(w, n_tensors);
    w_u64(w, n_kv);
}

/* Offsets of fields in the valid file, for patching. */
static struct {
    size_t arch_len, tokens_n, ints_type, ints_n, u8_type, bool_val, key_ab, t0_ndims, t0_ne0,
        t1_ne0, t1_type, t1_offset, t1_name, size;
} at;

typedef struct {
    uint32_t version;
    uint32_t alignment;   /* 0: no general.alignment key */
    int alignment_str;    /* write general.alignment as a string */
} opts_t;

/* The valid file: 9 (or 10) KVs, tensors "wa" (f32 4x2) and "wb" (q8_0 32),
 * the file ending exactly at wb's last byte. */
static void make_valid(wb_t *w, opts_t o) {
    size_t al = o.alignment ? o.alignment : 32;
    w->n = 0;
    header(w, o.version ? o.version : 3, 2, o.alignment || o.alignment_str ? 10 : 9);
    kv(w, "general.architecture", GGUF_TYPE_STRING);
    at.arch_len = w->n;
    w_str(w, "llama");
    kv(w, "test.u8", GGUF_TYPE_UINT8);
    at.u8_type = w->n - 4;
    w_u8(w, 200);
    kv(w, "test.i32", GGUF_TYPE_INT32);
    w_u32(w, (uint32_t)-5);
    kv(w, "test.u64", GGUF_TYPE_UINT64);
    w_u64(w, 1ull << 40);
    kv(w, "test.f32", GGUF_TYPE_FLOAT32);
    float f = 0.5f;
    wb_put(w, &f, 4);
    kv(w, "test.bool", GGUF_TYPE_BOOL);
    at.bool_val = w->n;
    w_u8(w, 1);
    kv(w, "test.tokens", GGUF_TYPE_ARRAY);
    w_u32(w, GGUF_TYPE_STRING);
    at.tokens_n = w->n;
    w_u64(w, 3);
    w_str(w, "a");
    w_str(w, "bc");
    w_str(w, "");
    kv(w, "test.aa", GGUF_TYPE_ARRAY);
    at.ints_type = w->n;
    w_u32(w, GGUF_TYPE_INT32);
    at.ints_n = w->n;
    w_u64(w, 3);
    for (int32_t i = 1; i <= 3; i++) w_u32(w, (uint32_t)i);
    at.key_ab = w->n + 8 + 6; /* the 'b' of "test.ab" */
    kv(w, "test.ab", GGUF_TYPE_INT16);
    uint16_t s = 0xffff;
    wb_put(w, &s, 2);
    if (o.alignment_str) {
        kv(w, "general.alignment", GGUF_TYPE_STRING);
        w_str(w, "64");
    } else if (o.alignment) {
        kv(w, "general.alignment", GGUF_TYPE_UINT32);
        w_u32(w, o.alignment);
    }
    /* tensor infos */
    w_str(w, "wa");
    at.t0_ndims = w->n;
    w_u32(w, 2);
    at.t0_ne0 = w->n;
    w_u64(w, 4);
    w_u64(w, 2);
    w_u32(w, GGML_TYPE_F32);
    w_u64(w, 0);
    at.t1_name = w->n + 8;
    w_str(w, "wb");
    w_u32(w, 1);
    at.t1_ne0 = w->n;
    w_u64(w, 32);
    at.t1_type = w->n;
    w_u32(w, GGML_TYPE_Q8_0);
    at.t1_offset = w->n;
    size_t off1 = (32 + al - 1) / al * al;
    w_u64(w, off1);
    /* data */
    w_pad(w, al);
    size_t data0 = w->n;
    for (int i = 0; i < 8; i++) { float v = (float)i; wb_put(w, &v, 4); }
    while (w->n < data0 + off1) w_u8(w, 0);
    w_u8(w, 0x00);
    w_u8(w, 0x38); /* d = 0.5 */
    for (int i = 0; i < 32; i++) w_u8(w, (uint8_t)(int8_t)(i - 16));
    at.size = w->n;
}

/* Parses an exact-size heap copy (so ASan catches over-reads). */
static gguf_t *parse_copy(const uint8_t *p, size_t n, char *err, size_t errsz) {
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    gguf_t *g = gguf_parse(c, n, err, errsz);
    if (g) {
        /* keep the bytes alive: make the gguf own them */
        g->owns_mem = 1;
    } else {
        free(c);
    }
    return g;
}

/* Expects a parse error containing `want`. */
static int expect_err(const uint8_t *p, size_t n, const char *want) {
    char err[512] = "";
    gguf_t *g = parse_copy(p, n, err, sizeof err);
    if (g) {
        gguf_close(g);
        fprintf(stderr, "  expected error '%s' but the file parsed\n", want);
        return 0;
    }
    if (!strstr(err, want)) {
        fprintf(stderr, "  expected error '%s', got '%s'\n", want, err);
        return 0;
    }
    return 1;
}

static void patch_u32(wb_t *w, size_t off, uint32_t v) { memcpy(w->p + off, &v, 4); }
static void patch_u64(wb_t *w, size_t off, uint64_t v) { memcpy(w->p + off, &v, 8); }

/* ---- synthetic files --------------------------------------------------- */

static void test_valid(void) {
    wb_t w = {0};
    char err[512];
    for (uint32_t version = 2; version <= 3; version++) {
        make_valid(&w, (opts_t){version, 0, 0});
        gguf_t *g = parse_copy(w.p, w.n, err, sizeof err);
        CHECK(g != NULL);
        if (!g) { fprintf(stderr, "  %s\n", err); continue; }
        CHECK(g->version == version);
        CHECK(g->n_kv == 9 && g->n_tensors == 2 && g->alignment == 32);
        gguf_str_t s;
        CHECK(gguf_get_str(g, "general.architecture", &s) == 0 && s.len == 5 && memcmp(s.p, "llama", 5) == 0);
        uint32_t u;
        int64_t i64;
        float f;
        int b;
        CHECK(gguf_get_u32(g, "test.u8", &u) == 0 && u == 200);     /* widened */
        CHECK(gguf_get_i64(g, "test.u8", &i64) == 0 && i64 == 200);
        CHECK(gguf_get_u32(g, "test.i32", &u) == -1);               /* negative */
        CHECK(gguf_get_i64(g, "test.i32", &i64) == 0 && i64 == -5);
        CHECK(gguf_get_u32(g, "test.u64", &u) == -1);               /* does not fit */
        CHECK(gguf_get_i64(g, "test.u64", &i64) == 0 && i64 == 1ll << 40);
        CHECK(gguf_get_i64(g, "test.ab", &i64) == 0 && i64 == -1);
        CHECK(gguf_get_f32(g, "test.f32", &f) == 0 && f == 0.5f);
        CHECK(gguf_get_f32(g, "test.u8", &f) == -1);
        CHECK(gguf_get_bool(g, "test.bool", &b) == 0 && b == 1);
        CHECK(gguf_get_str(g, "test.u8", &s) == -1);
        CHECK(gguf_get_u32(g, "missing", &u) == -1);
        CHECK(gguf_find(g, "test") == NULL);
        const gguf_kv_t *t = gguf_get_arr(g, "test.tokens", GGUF_TYPE_STRING);
        CHECK(t && t->arr_n == 3 && t->arr_str);
        if (t && t->arr_str) {
            CHECK(t->arr_str[0].len == 1 && t->arr_str[0].p[0] == 'a');
            CHECK(t->arr_str[1].len == 2 && memcmp(t->arr_str[1].p, "bc", 2) == 0);
            CHECK(t->arr_str[2].len == 0);
        }
        CHECK(gguf_get_arr(g, "test.tokens", GGUF_TYPE_INT32) == NULL);
        const gguf_kv_t *a = gguf_get_arr(g, "test.aa", GGUF_TYPE_INT32);
        CHECK(a && a->arr_n == 3);
        if (a) {
            int32_t v[3];
            memcpy(v, a->arr_data, sizeof v);
            CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3);
        }
        const gguf_tensor_t *ta = gguf_tensor(g, "wa"), *tb = gguf_tensor(g, "wb");
        CHECK(ta && tb && gguf_tensor(g, "wc") == NULL);
        if (ta && tb) {
            CHECK(ta->n_dims == 2 && ta->ne[0] == 4 && ta->ne[1] == 2 && ta->ne[2] == 1 && ta->ne[3] == 1);
            CHECK(ta->nbytes == 32 && tb->nbytes == 34 && tb->type == GGML_TYPE_Q8_0);
            float x[32];
            memcpy(x, ta->data, 32);
            CHECK(x[0] == 0 && x[7] == 7);
            CHECK((const uint8_t *)tb->data + 34 == g->mem + g->size);
            CHECK(dequantize_row(tb->type, tb->data, x, 32) == 0 && x[0] == -8 && x[31] == 7.5f);
        }
        CHECK(strcmp(gguf_vtype_name(GGUF_TYPE_FLOAT64), "float64") == 0);
        gguf_close(g);
    }

    /* general.alignment = 64 is honoured: wb at data offset 64. */
    make_valid(&w, (opts_t){3, 64, 0});
    gguf_t *g = parse_copy(w.p, w.n, err, sizeof err);
    CHECK(g != NULL);
    if (g) {
        const gguf_tensor_t *ta = gguf_tensor(g, "wa"), *tb = gguf_tensor(g, "wb");
        CHECK(g->alignment == 64);
        CHECK(ta && tb && tb->offset == 64);
        CHECK(ta && ((const uint8_t *)ta->data - g->mem) % 64 == 0);
        CHECK(tb && (const uint8_t *)tb->data + 34 == g->mem + g->size);
        gguf_close(g);
    }
    free(w.p);
}

static void test_corruptions(void) {
    wb_t w = {0};
    char want[256];
    opts_t v3 = {3, 0, 0};

    make_valid(&w, v3);
    w.p[0] = 'X';
    CHECK(expect_err(w.p, w.n, "bad magic"));
    CHECK(expect_err(w.p, 3, "too small"));
    CHECK(expect_err(w.p, 0, "too small"));

    make_valid(&w, v3);
    patch_u32(&w, 4, 1);
    CHECK(expect_err(w.p, w.n, "version 1 is not supported"));
    patch_u32(&w, 4, 4);
    CHECK(expect_err(w.p, w.n, "unsupported GGUF version 4"));
    patch_u32(&w, 4, 0x03000000);
    CHECK(expect_err(w.p, w.n, "big-endian"));

    /* counts far beyond what the file can hold, refused before allocating */
    make_valid(&w, v3);
    patch_u64(&w, 16, 1ull << 62);
    CHECK(expect_err(w.p, w.n, "key/value count 4611686018427387904 is impossible"));
    make_valid(&w, v3);
    patch_u64(&w, 8, 1ull << 62);
    CHECK(expect_err(w.p, w.n, "tensor count 4611686018427387904 is impossible"));
    /* plausible count, but the file ends first */
    make_valid(&w, v3);
    patch_u64(&w, 16, 12);
    CHECK(expect_err(w.p, w.n, "key"));

    make_valid(&w, v3);
    patch_u64(&w, at.arch_len, 1ull << 60);
    snprintf(want, sizeof want, "string at offset %zu: length 1152921504606846976 runs past the end of the file",
             at.arch_len);
    CHECK(expect_err(w.p, w.n, want));

    make_valid(&w, v3);
    patch_u64(&w, at.tokens_n, 1ull << 60);
    CHECK(expect_err(w.p, w.n, "array of 1152921504606846976 strings"));
    make_valid(&w, v3);
    patch_u64(&w, at.tokens_n, 4); /* one string more, and the file ends there */
    CHECK(expect_err(w.p, at.tokens_n + 8 + 9 + 10 + 8 + 8, "key 'test.tokens': element 3: string at offset"));
    make_valid(&w, v3);
    patch_u64(&w, at.ints_n, 1ull << 61);
    CHECK(expect_err(w.p, w.n, "array of 2305843009213693952 int32"));

    make_valid(&w, v3);
    patch_u32(&w, at.ints_type, GGUF_TYPE_ARRAY);
    CHECK(expect_err(w.p, w.n, "key 'test.aa': nested arrays are not supported"));
    patch_u32(&w, at.ints_type, 13);
    CHECK(expect_err(w.p, w.n, "key 'test.aa': unknown array element type 13"));
    make_valid(&w, v3);
    patch_u32(&w, at.u8_type, 13);
    CHECK(expect_err(w.p, w.n, "key 'test.u8': unknown value type 13"));

    make_valid(&w, v3);
    w.p[at.bool_val] = 2;
    CHECK(expect_err(w.p, w.n, "must be 0 or 1"));

    make_valid(&w, v3);
    w.p[at.key_ab] = 'a';
    CHECK(expect_err(w.p, w.n, "duplicate key 'test.aa'"));
    w.p[at.key_ab] = '\0';
    CHECK(expect_err(w.p, w.n, "contains a NUL byte"));

    make_valid(&w, v3);
    w.p[at.t1_name + 1] = 'a';
    CHECK(expect_err(w.p, w.n, "duplicate tensor name 'wa'"));

    make_valid(&w, (opts_t){3, 48, 0});
    CHECK(expect_err(w.p, w.n, "general.alignment 48 is not a power of two"));
    make_valid(&w, (opts_t){3, 0, 1});
    CHECK(expect_err(w.p, w.n, "general.alignment has type string"));

    make_valid(&w, v3);
    patch_u64(&w, at.t1_offset, 48);
    CHECK(expect_err(w.p, w.n, "tensor 'wb': data offset 48 is not a multiple of the alignment 32"));
    patch_u64(&w, at.t1_offset, 1 << 20);
    CHECK(expect_err(w.p, w.n, "tensor 'wb': data [offset"));
    CHECK(expect_err(w.p, w.n, "runs past the end of the file"));
    patch_u64(&w, at.t1_offset, UINT64_MAX - 31); /* aligned, and overflows any sum */
    CHECK(expect_err(w.p, w.n, "runs past the end of the file"));

    make_valid(&w, v3);
    patch_u32(&w, at.t1_type, 99);
    CHECK(expect_err(w.p, w.n, "tensor 'wb': unknown tensor type 99"));
    patch_u32(&w, at.t1_type, 4); /* a removed ggml type */
    CHECK(expect_err(w.p, w.n, "unknown tensor type 4"));

    make_valid(&w, v3);
    patch_u64(&w, at.t1_ne0, 20);
    CHECK(expect_err(w.p, w.n, "tensor 'wb': row length 20 is not a multiple of the q8_0 block size 32"));
    make_valid(&w, v3);
    patch_u32(&w, at.t0_ndims, 5);
    CHECK(expect_err(w.p, w.n, "tensor 'wa': 5 dimensions"));
    patch_u32(&w, at.t0_ndims, 0);
    CHECK(expect_err(w.p, w.n, "tensor 'wa': 0 dimensions"));
    make_valid(&w, v3);
    patch_u64(&w, at.t0_ne0, 0);
    CHECK(expect_err(w.p, w.n, "tensor 'wa': dimension 0 is 0"));
    patch_u64(&w, at.t0_ne0, 1ull << 62);
    CHECK(expect_err(w.p, w.n, "tensor 'wa': element count overflows"));
    patch_u64(&w, at.t0_ne0, 1ull << 40);
    CHECK(expect_err(w.p, w.n, "cannot fit"));

    /* Truncated at every byte: always an error, never a crash. */
    make_valid(&w, v3);
    int ok = 1;
    for (size_t n = 0; n < w.n; n++) {
        char err[512] = "";
        gguf_t *g = parse_copy(w.p, n, err, sizeof err);
        if (g || !err[0]) { ok = 0; fprintf(stderr, "  truncated to %zu bytes: %s\n", n, g ? "parsed" : "no message"); }
        gguf_close(g);
    }
    CHECK(ok);

    /* Every single byte flipped: parses or fails with a message. */
    ok = 1;
    for (size_t i = 0; i < w.n; i++) {
        for (int m = 0; m < 3; m++) {
            uint8_t save = w.p[i];
            w.p[i] ^= (uint8_t[]){0xff, 0x80, 0x01}[m];
            char err[512] = "";
            gguf_t *g = parse_copy(w.p, w.n, err, sizeof err);
            if (!g && !err[0]) ok = 0;
            gguf_close(g);
            w.p[i] = save;
        }
    }
    CHECK(ok);

    /* An empty but valid file: no KVs, no tensors. */
    w.n = 0;
    header(&w, 3, 0, 0);
    char err[256];
    gguf_t *g = parse_copy(w.p, w.n, err, sizeof err);
    CHECK(g && g->n_kv == 0 && g->n_tensors == 0 && gguf_find(g, "x") == NULL && gguf_tensor(g, "x") == NULL);
    gguf_close(g);
    free(w.p);
}

static void test_open_errors(void) {
    char err[512];
    CHECK(gguf_open("/nonexistent/model.gguf", 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot open '/nonexistent/model.gguf'") && strstr(err, "No such file or directory"));
    CHECK(gguf_open("/", 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a regular file") != NULL);

    /* A truncated file on disk: the message names the file and the fault. */
    wb_t w = {0};
    make_valid(&w, (opts_t){3, 0, 0});
    char path[] = "/tmp/test_gguf_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, w.p, w.n - 1) == (ssize_t)(w.n - 1));
    close(fd);
    CHECK(gguf_open(path, GGUF_PROGRESS, err, sizeof err) == NULL);
    CHECK(strstr(err, path) && strstr(err, "tensor 'wb'"));
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, w.p, w.n) == (ssize_t)w.n);
    close(fd);
    gguf_t *g = gguf_open(path, 0, err, sizeof err);
    CHECK(g && g->owns_mem && g->n_tensors == 2);
    gguf_close(g);
    unlink(path);
    free(w.p);
}

/* ---- real files -------------------------------------------------------- */

static int n_opened;

static void open_all(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) { open_all(p); continue; }
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".gguf") != 0) continue;
        char err[512];
        gguf_t *g = gguf_open(p, 0, err, sizeof err);
        if (!g) fprintf(stderr, "  %s\n", err);
        CHECK(g != NULL);
        if (!g) continue;
        n_opened++;
        /* walk everything: every tensor type known, every string table */
        for (uint64_t i = 0; i < g->n_tensors; i++)
            CHECK(ggml_type_traits(g->tensors[i].type) != NULL && g->tensors[i].data != NULL);
        for (uint64_t i = 0; i < g->n_kv; i++)
            if (g->kv[i].type == GGUF_TYPE_ARRAY && g->kv[i].arr_type == GGUF_TYPE_STRING && g->kv[i].arr_n)
                CHECK(g->kv[i].arr_str != NULL);
        gguf_close(g);
    }
    closedir(d);
}

static int str_is(gguf_str_t s, const char *c) { return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0; }

static gguf_t *open_model(const char *models, const char *rel) {
    char p[1024], err[512];
    snprintf(p, sizeof p, "%s/%s", models, rel);
    gguf_t *g = gguf_open(p, 0, err, sizeof err);
    if (!g) fprintf(stderr, "  %s\n", err);
    CHECK(g != NULL);
    return g;
}

static void test_real(const char *models) {
    gguf_t *g;
    uint32_t u;
    float f;
    gguf_str_t s;

    /* stories260K: v3, 19 KV, 48 tensors all F32, no general.alignment. */
    if ((g = open_model(models, "gguf/stories260K.gguf"))) {
        CHECK(g->version == 3 && g->n_kv == 19 && g->n_tensors == 48 && g->alignment == 32);
        CHECK(gguf_find(g, "general.alignment") == NULL);
        int all_f32 = 1;
        for (uint64_t i = 0; i < g->n_tensors; i++) all_f32 &= g->tensors[i].type == GGML_TYPE_F32;
        CHECK(all_f32);
        CHECK(gguf_get_str(g, "general.architecture", &s) == 0 && str_is(s, "llama"));
        CHECK(gguf_get_u32(g, "llama.embedding_length", &u) == 0 && u == 64);
        CHECK(gguf_get_u32(g, "llama.feed_forward_length", &u) == 0 && u == 172);
        CHECK(gguf_get_u32(g, "llama.block_count", &u) == 0 && u == 5);
        CHECK(gguf_get_u32(g, "llama.attention.head_count_kv", &u) == 0 && u == 4);
        CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f) == 0 && f == 1e-5f);
        CHECK(gguf_find(g, "llama.rope.freq_base") == NULL);
        CHECK(gguf_get_u32(g, "tokenizer.ggml.seperator_token_id", &u) == 0 && u == 0xFFFFFFFFu);
        CHECK(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u) == 0 && u == 1);
        const gguf_kv_t *tok = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
        CHECK(tok && tok->arr_n == 512);
        if (tok) {
            CHECK(str_is(tok->arr_str[1], "<s>") && str_is(tok->arr_str[2], "</s>"));
            CHECK(str_is(tok->arr_str[3], "<0x00>") && str_is(tok->arr_str[258], "<0xFF>"));
        }
        const gguf_kv_t *sc = gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32);
        CHECK(sc && sc->arr_n == 512);
        const gguf_tensor_t *emb = gguf_tensor(g, "token_embd.weight");
        CHECK(emb && emb->ne[0] == 64 && emb->ne[1] == 512 && emb->n_dims == 2);
        CHECK(gguf_tensor(g, "output.weight") && gguf_tensor(g, "blk.4.ffn_down.weight"));
        CHECK(gguf_tensor(g, "blk.5.ffn_down.weight") == NULL);
        /* Data offsets are right: the tensors are bit-identical to the
         * llama2.c checkpoint (7 int32 header, then tok_emb, rms_att). */
        char p[1024];
        snprintf(p, sizeof p, "%s/llama2c/stories260K.bin", models);
        FILE *fp = fopen(p, "rb");
        if (fp && emb) {
            static float bin[512 * 64 + 5 * 64];
            CHECK(fseek(fp, 28, SEEK_SET) == 0 && fread(bin, sizeof(float), 512 * 64 + 5 * 64, fp) == 512 * 64 + 5 * 64);
            CHECK(memcmp(bin, emb->data, 512 * 64 * 4) == 0);
            const gguf_tensor_t *n3 = gguf_tensor(g, "blk.3.attn_norm.weight");
            CHECK(n3 && memcmp(bin + 512 * 64 + 3 * 64, n3->data, 64 * 4) == 0);
        }
        if (fp) fclose(fp);

        /* model info */
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        CHECK(gguf_print_info(g, out) == 0);
        fclose(out);
        CHECK(strstr(text, "architecture: llama") != NULL);
        CHECK(strstr(text, "llama.embedding_length = 64") != NULL);
        CHECK(strstr(text, "tensors: 48") != NULL);
        CHECK(strstr(text, "f32      48") != NULL);
        CHECK(strstr(text, "model llama, 512 tokens") != NULL);
        CHECK(strstr(text, "chat template: none") != NULL);
        free(text);
        gguf_close(g);
    }

    /* llama-2-tiny-random: F16 matrices, F32 norms, separate output. */
    if ((g = open_model(models, "gguf/llama-2-tiny-random.gguf"))) {
        const gguf_tensor_t *q = gguf_tensor(g, "blk.0.attn_q.weight"), *n = gguf_tensor(g, "blk.0.attn_norm.weight");
        CHECK(q && q->type == GGML_TYPE_F16 && q->ne[0] == 8 && q->ne[1] == 8);
        CHECK(n && n->type == GGML_TYPE_F32);
        CHECK(gguf_tensor(g, "output.weight") != NULL);
        CHECK(gguf_find(g, "tokenizer.ggml.pre") == NULL);
        CHECK(gguf_get_u32(g, "llama.embedding_length", &u) == 0 && u == 8);
        const gguf_kv_t *tok = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
        CHECK(tok && tok->arr_n == 32000);
        gguf_close(g);
    }

    /* qwen2 synthetic: 276 tokens, tied output, biases, freq_base 1e6. */
    if ((g = open_model(models, "gguf/synthetic/tiny-random-qwen2-synthetic-q4_k_m.gguf"))) {
        CHECK(gguf_get_str(g, "general.architecture", &s) == 0 && str_is(s, "qwen2"));
        CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING)->arr_n == 276);
        CHECK(gguf_tensor(g, "output.weight") == NULL);
        CHECK(gguf_tensor(g, "blk.1.attn_q.bias") != NULL);
        CHECK(gguf_get_f32(g, "qwen2.rope.freq_base", &f) == 0 && f == 1e6f);
        CHECK(gguf_get_str(g, "tokenizer.ggml.pre", &s) == 0 && str_is(s, "qwen2"));
        const gguf_tensor_t *t = gguf_tensor(g, "blk.0.ffn_gate.weight");
        CHECK(t && t->type == GGML_TYPE_Q4_K && t->ne[0] == 256 && t->ne[1] == 512 && t->nbytes == 512 * 144);
        gguf_close(g);
    }

    /* vocabulary-only files */
    struct { const char *f; uint64_t n; } vocab[] = {
        {"ggml-vocab-llama-spm.gguf", 32000}, {"ggml-vocab-phi-3.gguf", 32064},
        {"ggml-vocab-gpt-2.gguf", 50257},     {"ggml-vocab-starcoder.gguf", 49152},
    };
    for (size_t i = 0; i < sizeof vocab / sizeof vocab[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "llama.cpp-vocab/%s", vocab[i].f);
        if (!(g = open_model(models, rel))) continue;
        const gguf_kv_t *tok = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
        CHECK(g->n_tensors == 0 && tok && tok->arr_n == vocab[i].n);
        gguf_close(g);
    }

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/gguf", models);
    open_all(dir);
    snprintf(dir, sizeof dir, "%s/llama.cpp-vocab", models);
    open_all(dir);
    CHECK(n_opened >= 17);
}

/* COPYD_GGUF_CORPUS_OUT=dir: write the fuzzer's seed files (valid v2/v3
 * files, custom alignment, and a few broken ones) and exit. */
static int write_corpus(const char *dir) {
    wb_t w = {0};
    struct { const char *name; opts_t o; int patch; size_t cut; } seeds[] = {
        {"valid_v3", {3, 0, 0}, 0, 0}, {"valid_v2", {2, 0, 0}, 0, 0}, {"align64", {3, 64, 0}, 0, 0},
        {"truncated_half", {3, 0, 0}, 0, 2}, {"huge_string", {3, 0, 0}, 1, 0},
        {"nested_array", {3, 0, 0}, 2, 0}, {"bad_tensor_type", {3, 0, 0}, 3, 0},
        {"duplicate_key", {3, 0, 0}, 4, 0},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        make_valid(&w, seeds[i].o);
        if (seeds[i].patch == 1) patch_u64(&w, at.arch_len, 1ull << 60);
        if (seeds[i].patch == 2) patch_u32(&w, at.ints_type, GGUF_TYPE_ARRAY);
        if (seeds[i].patch == 3) patch_u32(&w, at.t1_type, 99);
        if (seeds[i].patch == 4) w.p[at.key_ab] = 'a';
        size_t n = seeds[i].cut ? w.n / seeds[i].cut : w.n;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s.gguf", dir, seeds[i].name);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(w.p, 1, n, f) != n) { perror(p); return 1; }
        fclose(f);
    }
    free(w.p);
    return 0;
}

int main(void) {
    if (getenv("COPYD_GGUF_CORPUS_OUT")) return write_corpus(getenv("COPYD_GGUF_CORPUS_OUT"));
    test_valid();
    test_corruptions();
    test_open_errors();
    const char *models = getenv("COPYD_TEST_MODELS");
    if (!models) models = "/work/shared/models";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/gguf/stories260K.gguf", models);
    if (access(probe, R_OK) != 0) printf("SKIP real model files: %s is absent\n", probe);
    else test_real(models);
    TEST_DONE();
}
