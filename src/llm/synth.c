/* synth.c -- writing synthetic GGUF models (see synth.h).
 *
 * Read top to bottom: the random generator, the vocabulary builder, the
 * tensor list and its sizes, the GGUF header, the streaming writer, and
 * the command line. */
#include "llm/synth.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "llm/quant.h"

/* Bounds that keep every size far from overflow and inside what the model
 * loader accepts (model.c: LLM_MAX_LAYERS, LLM_MAX_DIM). */
#define SYN_MAX_LAYERS 4096
#define SYN_MAX_DIM (1 << 20)
#define SYN_MAX_VOCAB (1 << 22)
#define SYN_MAX_CTX (1 << 24)
#define SYN_ALIGN 32
#define SYN_N_SPECIAL 3

static void seterr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...) {
    if (!err || errsz == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

void llm_synth_params_default(llm_synth_params_t *p) {
    memset(p, 0, sizeof *p);
    snprintf(p->arch, sizeof p->arch, "qwen2");
    p->n_layer = 2;
    p->n_embd = 256;
    p->n_head = 4;
    p->n_head_kv = 2;
    p->n_ff = 512;
    p->n_vocab = 1000;
    p->n_ctx = 256;
    p->type = GGML_TYPE_Q8_0;
    p->seed = 42;
}

/* ---- random numbers ------------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: fast, and the same stream on
 * every platform, so a seed names one file. */
typedef struct rng {
    uint64_t s[4];
    int have_spare;
    float spare;
} rng_t;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->have_spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Standard normal by Box-Muller, two values per draw (24-bit uniforms are
 * plenty for weights that get quantised anyway). */
static float rng_gauss(rng_t *r) {
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    uint64_t x = rng_next(r);
    float u1 = (float)((x >> 40) + 1) * 0x1p-24f; /* (0, 1]: log is finite */
    float u2 = (float)(x & 0xFFFFFF) * 0x1p-24f;
    float rad = sqrtf(-2.0f * logf(u1)), a = 6.28318530718f * u2;
    r->spare = rad * sinf(a);
    r->have_spare = 1;
    return rad * cosf(a);
}

/* ---- vocabulary ------------------------------------------------------------- */

/* Common English words: the merges spell them out letter by letter, so
 * ordinary text tokenises into a realistic mix of whole words and pieces.
 * A tool's fixed input, not product data. */
static const char *const synth_words[] = {
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as",
    "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but",
    "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each",
    "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then",
    "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look",
    "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first",
    "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get",
    "come", "made", "may", "part", "new", "sound", "take", "only", "little", "work", "know", "place",
    "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good",
    "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line",
    "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also",
    "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must",
    "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land",
    "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change", "off",
    "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer",
    "found", "study", "still", "learn", "should", "world", "high", "every", "near", "add", "food",
    "between", "own", "below", "country", "plant", "last", "school", "father", "keep", "tree", "never",
    "start", "city", "earth", "eye", "light", "thought", "head", "under", "story", "saw", "left", "few",
    "while", "along", "might", "close", "something", "seem", "next", "hard", "open", "example", "begin",
    "life", "always", "those", "both", "paper", "together", "got", "group", "often", "run", "important",
    "until", "children", "side", "feet", "car", "mile", "night", "walk", "white", "sea", "began", "grow",
    "took", "river", "four", "carry", "state", "once", "book", "hear", "stop", "without", "second",
    "later", "miss", "idea", "enough", "eat", "face", "watch", "far", "really", "almost", "let", "above",
    "girl", "sometimes", "mountain", "cut", "young", "talk", "soon", "list", "song", "being", "leave",
    "family", "product", "brand", "quality", "design", "comfort", "style", "price", "offer", "today",
};
#define N_WORDS (sizeof synth_words / sizeof synth_words[0])

typedef struct vocab {
    buf_t text;            /* token texts, back to back */
    uint32_t *off, *len;   /* per token */
    int32_t *type;         /* llama.cpp token types: 1 normal, 3 control */
    size_t n, cap;
    buf_t merges;          /* "left right" texts, back to back */
    uint32_t *moff, *mlen;
    size_t nm, mcap;
    int32_t *ht;           /* open addressing over token texts, -1 empty */
    size_t ht_mask;
    int oom;
} vocab_t;

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static void vocab_free(vocab_t *v) {
    buf_free(&v->text);
    buf_free(&v->merges);
    free(v->off);
    free(v->len);
    free(v->type);
    free(v->moff);
    free(v->mlen);
    free(v->ht);
    memset(v, 0, sizeof *v);
}

static int vocab_init(vocab_t *v, size_t n_tokens) {
    memset(v, 0, sizeof *v);
    v->cap = n_tokens;
    v->mcap = n_tokens;
    size_t hs = 1;
    while (hs < 2 * n_tokens) hs <<= 1;
    v->ht_mask = hs - 1;
    v->off = malloc(n_tokens * sizeof *v->off);
    v->len = malloc(n_tokens * sizeof *v->len);
    v->type = malloc(n_tokens * sizeof *v->type);
    v->moff = malloc(n_tokens * sizeof *v->moff);
    v->mlen = malloc(n_tokens * sizeof *v->mlen);
    v->ht = malloc(hs * sizeof *v->ht);
    if (!v->off || !v->len || !v->type || !v->moff || !v->mlen || !v->ht) {
        vocab_free(v);
        return -1;
    }
    memset(v->ht, 0xFF, hs * sizeof *v->ht);
    return 0;
}

static const char *tok_text(const vocab_t *v, int32_t id) { return v->text.p + v->off[id]; }

/* The id of text s[0..n), or -1; *slot receives the free slot otherwise. */
static int32_t vocab_find(const vocab_t *v, const char *s, size_t n, size_t *slot) {
    size_t i = (size_t)fnv1a(s, n) & v->ht_mask;
    for (;;) {
        int32_t id = v->ht[i];
        if (id < 0) {
            if (slot) *slot = i;
            return -1;
        }
        if (v->len[id] == n && memcmp(tok_text(v, id), s, n) == 0) return id;
        i = (i + 1) & v->ht_mask;
    }
}

/* Appends a new token; -1 when the text exists or the table is full. */
static int32_t vocab_add(vocab_t *v, const char *s, size_t n, int32_t type) {
    size_t slot;
    if (v->n >= v->cap || vocab_find(v, s, n, &slot) >= 0) return -1;
    size_t at = v->text.len;
    buf_append(&v->text, s, n);
    if (v->text.oom) {
        v->oom = 1;
        return -1;
    }
    int32_t id = (int32_t)v->n++;
    v->off[id] = (uint32_t)at;
    v->len[id] = (uint32_t)n;
    v->type[id] = type;
    v->ht[slot] = id;
    return id;
}

/* The token a + b, learned by the merge "a b". Returns the new id, or -1
 * when that text is already a token (no merge is added then) or the
 * vocabulary is full. */
static int32_t vocab_merge(vocab_t *v, int32_t a, int32_t b) {
    char tmp[512];
    size_t la = v->len[a], lb = v->len[b];
    if (la + lb > sizeof tmp || v->nm >= v->mcap) return -1;
    memcpy(tmp, tok_text(v, a), la);
    memcpy(tmp + la, tok_text(v, b), lb);
    int32_t id = vocab_add(v, tmp, la + lb, 1);
    if (id < 0) return -1;
    size_t at = v->merges.len;
    /* the texts are re-read after vocab_add: it may have moved the blob */
    buf_append(&v->merges, tok_text(v, a), la);
    buf_putc(&v->merges, ' ');
    buf_append(&v->merges, tok_text(v, b), lb);
    if (v->merges.oom) {
        v->oom = 1;
        return -1;
    }
    v->moff[v->nm] = (uint32_t)at;
    v->mlen[v->nm] = (uint32_t)(la + lb + 1);
    v->nm++;
    return id;
}

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest
 * map to U+0100 upwards in byte order. `order` receives the bytes in the
 * order GPT-2 lists them (printable ranges first), which is the order of
 * ids 0..255 in GPT-2 and Qwen2 vocabularies. */
static void byte_table(uint32_t cp[256], uint8_t order[256]) {
    int k = 0, extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        if (printable) {
            cp[b] = (uint32_t)b;
            order[k++] = (uint8_t)b;
        }
    }
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        if (!printable) {
            cp[b] = 256u + (uint32_t)extra++;
            order[k++] = (uint8_t)b;
        }
    }
}

static size_t utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6)); /* every code point here is < 0x800 */
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Spells `word` (ASCII) with merges, starting from token `start` (the
 * byte token of ' ' for the "Ġword" forms, -1 otherwise). Returns the id of
 * the whole word's token, or -1 when the vocabulary filled up first. */
static int32_t learn_word(vocab_t *v, const int32_t byte_id[256], int32_t start, const char *word, int cap,
                          size_t limit) {
    int32_t cur = start;
    for (size_t i = 0; word[i]; i++) {
        unsigned char c = (unsigned char)word[i];
        if (i == 0 && cap) c = (unsigned char)toupper(c);
        int32_t b = byte_id[c];
        if (cur < 0) {
            cur = b;
            continue;
        }
        /* the piece may exist already (a shared prefix): follow it */
        char tmp[512];
        size_t la = v->len[cur], lb = v->len[b];
        if (la + lb > sizeof tmp) return -1;
        memcpy(tmp, tok_text(v, cur), la);
        memcpy(tmp + la, tok_text(v, b), lb);
        int32_t id = vocab_find(v, tmp, la + lb, NULL);
        if (id < 0) {
            if (v->n >= limit) return -1;
            id = vocab_merge(v, cur, b);
            if (id < 0) return -1;
        }
        cur = id;
    }
    return cur;
}

/* Builds exactly n_vocab tokens (n_vocab >= 256 + SYN_N_SPECIAL). */
static int build_vocab(vocab_t *v, size_t n_vocab, char *err, size_t errsz) {
    if (vocab_init(v, n_vocab) < 0) goto oom;
    const size_t limit = n_vocab - SYN_N_SPECIAL; /* learned tokens end here */
    uint32_t cp[256];
    uint8_t order[256];
    int32_t byte_id[256];
    byte_table(cp, order);
    for (int k = 0; k < 256; k++) {
        char s[4];
        size_t n = utf8_put(cp[order[k]], s);
        byte_id[order[k]] = vocab_add(v, s, n, 1);
        if (byte_id[order[k]] < 0) goto oom;
    }

    /* Whole words: " word", "word", " Word", "Word". */
    int32_t *whole = malloc(n_vocab * sizeof *whole); /* tokens that end a word or pair */
    int32_t bare[N_WORDS];                            /* "word" tokens */
    size_t n_whole = 0, n_bare = 0;
    if (!whole) goto oom;
    for (int form = 0; form < 4 && v->n < limit; form++) {
        for (size_t w = 0; w < N_WORDS && v->n < limit; w++) {
            int32_t start = (form == 0 || form == 2) ? byte_id[' '] : -1;
            int32_t id = learn_word(v, byte_id, start, synth_words[w], form >= 2, limit);
            if (id < 0) break;
            if (n_whole < n_vocab) whole[n_whole++] = id;
            if (form == 1 && v->len[id] > 1) bare[n_bare++] = id;
        }
    }
    /* Word pairs, then longer chains (the list of left parts grows as it is
     * walked), until the size is reached: realistic lengths, every merge's
     * parts already tokens. */
    for (size_t i = 0; i < n_whole && v->n < limit && n_bare > 0; i++) {
        for (size_t j = 0; j < n_bare && v->n < limit; j++) {
            int32_t id = vocab_merge(v, whole[i], bare[j]);
            if (id >= 0 && n_whole < n_vocab) whole[n_whole++] = id;
            if (v->oom) break;
        }
        if (v->oom) break;
    }
    free(whole);
    if (v->oom) goto oom;
    if (v->n != limit) {
        seterr(err, errsz, "could not build %zu tokens from the word list (got %zu)", n_vocab, v->n);
        return -1;
    }
    static const char *const specials[SYN_N_SPECIAL] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int k = 0; k < SYN_N_SPECIAL; k++)
        if (vocab_add(v, specials[k], strlen(specials[k]), 3) < 0) goto oom;
    return 0;
oom:
    seterr(err, errsz, "out of memory building the vocabulary");
    return -1;
}

/* ---- tensors ------------------------------------------------------------------ */

typedef enum { INIT_NORM, INIT_BIAS, INIT_MATRIX } init_kind_t;

typedef struct syn_tensor {
    char name[64];
    uint64_t ne0, ne1;   /* ne1 = 0: a vector */
    ggml_type_t type;
    init_kind_t init;
    float std;           /* of the Gaussian part */
    uint64_t offset;     /* from the start of the data section */
    uint64_t nbytes;
} syn_tensor_t;

static int is_qwen2(const llm_synth_params_t *p) { return strcmp(p->arch, "qwen2") == 0; }

/* The tensors in file order; returns their count (array of at most
 * 3 + 12 * n_layer entries). */
static size_t tensor_list(const llm_synth_params_t *p, syn_tensor_t *t) {
    size_t n = 0;
    const uint64_t E = (uint64_t)p->n_embd, F = (uint64_t)p->n_ff, V = (uint64_t)p->n_vocab;
    const uint64_t KV = (uint64_t)p->n_embd / (uint64_t)p->n_head * (uint64_t)p->n_head_kv;
    const float s_in = 1.0f / sqrtf((float)E), s_out = 3.0f / sqrtf((float)E);
#define ADD(nm, a, b, ty, ini, sd)                                                                  \
    do {                                                                                            \
        syn_tensor_t *x = &t[n++];                                                                  \
        memset(x, 0, sizeof *x);                                                                    \
        snprintf(x->name, sizeof x->name, "%s", nm);                                                \
        x->ne0 = (a), x->ne1 = (b), x->type = (ty), x->init = (ini), x->std = (sd);                \
    } while (0)
    ADD("token_embd.weight", E, V, p->type, INIT_MATRIX, s_out);
    char nm[64];
    for (int l = 0; l < p->n_layer; l++) {
#define L(suffix) (snprintf(nm, sizeof nm, "blk.%d.%s", l, suffix), nm)
        ADD(L("attn_norm.weight"), E, 0, GGML_TYPE_F32, INIT_NORM, 0.1f);
        ADD(L("attn_q.weight"), E, E, p->type, INIT_MATRIX, s_in);
        ADD(L("attn_k.weight"), E, KV, p->type, INIT_MATRIX, s_in);
        ADD(L("attn_v.weight"), E, KV, p->type, INIT_MATRIX, s_in);
        if (is_qwen2(p)) {
            ADD(L("attn_q.bias"), E, 0, GGML_TYPE_F32, INIT_BIAS, 0.2f);
            ADD(L("attn_k.bias"), KV, 0, GGML_TYPE_F32, INIT_BIAS, 0.2f);
            ADD(L("attn_v.bias"), KV, 0, GGML_TYPE_F32, INIT_BIAS, 0.2f);
        }
        ADD(L("attn_output.weight"), E, E, p->type, INIT_MATRIX, 4.0f * s_in);
        ADD(L("ffn_norm.weight"), E, 0, GGML_TYPE_F32, INIT_NORM, 0.1f);
        ADD(L("ffn_gate.weight"), E, F, p->type, INIT_MATRIX, s_in);
        ADD(L("ffn_up.weight"), E, F, p->type, INIT_MATRIX, s_in);
        ADD(L("ffn_down.weight"), F, E, p->type, INIT_MATRIX, 4.0f / sqrtf((float)F));
#undef L
    }
    ADD("output_norm.weight", E, 0, GGML_TYPE_F32, INIT_NORM, 0.1f);
    if (!is_qwen2(p)) ADD("output.weight", E, V, p->type, INIT_MATRIX, s_out);
#undef ADD
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        off = (off + SYN_ALIGN - 1) / SYN_ALIGN * SYN_ALIGN;
        t[i].offset = off;
        t[i].nbytes = ggml_row_bytes(t[i].type, t[i].ne0) * (t[i].ne1 ? t[i].ne1 : 1);
        off += t[i].nbytes;
    }
    return n;
}

static size_t max_tensors(const llm_synth_params_t *p) { return 3 + 12 * (size_t)p->n_layer; }

static int type_supported(ggml_type_t t) {
    switch (t) {
    case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16: case GGML_TYPE_Q8_0: case GGML_TYPE_Q4_0:
    case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_K: case GGML_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

/* llama.cpp's general.file_type (enum llama_ftype) for a uniform type. */
static uint32_t file_type(ggml_type_t t) {
    switch (t) {
    case GGML_TYPE_F32: return 0;
    case GGML_TYPE_F16: return 1;
    case GGML_TYPE_Q4_0: return 2;
    case GGML_TYPE_Q4_1: return 3;
    case GGML_TYPE_Q8_0: return 7;
    case GGML_TYPE_Q5_0: return 8;
    case GGML_TYPE_Q5_1: return 9;
    case GGML_TYPE_Q4_K: return 14; /* Q4_K_S: all Q4_K */
    case GGML_TYPE_Q6_K: return 18;
    case GGML_TYPE_BF16: return 32;
    default: return 0;
    }
}

int llm_synth_check(const llm_synth_params_t *p, char *err, size_t errsz) {
    if (strcmp(p->arch, "qwen2") != 0 && strcmp(p->arch, "llama") != 0) {
        seterr(err, errsz, "--arch '%s' is not supported (qwen2 or llama)", p->arch);
        return -1;
    }
#define RANGE(v, flag, lo, hi)                                                              \
    if ((v) < (lo) || (v) > (hi)) {                                                         \
        seterr(err, errsz, "%s %d is out of range [%d, %d]", flag, (int)(v), (int)(lo), (int)(hi)); \
        return -1;                                                                          \
    }
    RANGE(p->n_layer, "--layers", 1, SYN_MAX_LAYERS);
    RANGE(p->n_embd, "--embd", 1, SYN_MAX_DIM);
    RANGE(p->n_head, "--heads", 1, SYN_MAX_DIM);
    RANGE(p->n_head_kv, "--kv-heads", 1, SYN_MAX_DIM);
    RANGE(p->n_ff, "--ff", 1, SYN_MAX_DIM);
    RANGE(p->n_vocab, "--vocab", 256 + SYN_N_SPECIAL, SYN_MAX_VOCAB);
    RANGE(p->n_ctx, "--ctx", 1, SYN_MAX_CTX);
#undef RANGE
    if (p->n_embd % p->n_head != 0) {
        seterr(err, errsz, "--embd %d is not a multiple of --heads %d", p->n_embd, p->n_head);
        return -1;
    }
    if (p->n_head % p->n_head_kv != 0) {
        seterr(err, errsz, "--heads %d is not a multiple of --kv-heads %d", p->n_head, p->n_head_kv);
        return -1;
    }
    if ((p->n_embd / p->n_head) % 2 != 0) {
        seterr(err, errsz, "the head size --embd / --heads = %d must be even (rotary pairs)", p->n_embd / p->n_head);
        return -1;
    }
    if (!type_supported(p->type)) {
        seterr(err, errsz, "--type %s cannot be written (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k)",
               ggml_type_name(p->type));
        return -1;
    }
    const ggml_type_traits_t *tr = ggml_type_traits(p->type);
    if (p->n_embd % tr->blck_size != 0) {
        seterr(err, errsz, "--embd %d is not a multiple of %d, the block size of %s", p->n_embd, tr->blck_size,
               tr->name);
        return -1;
    }
    if (p->n_ff % tr->blck_size != 0) {
        seterr(err, errsz, "--ff %d is not a multiple of %d, the block size of %s", p->n_ff, tr->blck_size,
               tr->name);
        return -1;
    }
    return 0;
}

/* ---- GGUF header ------------------------------------------------------------------ */

static void put_u32(buf_t *b, uint32_t x) {
    unsigned char s[4] = {(unsigned char)x, (unsigned char)(x >> 8), (unsigned char)(x >> 16),
                          (unsigned char)(x >> 24)};
    buf_append(b, s, 4);
}

static void put_u64(buf_t *b, uint64_t x) {
    put_u32(b, (uint32_t)x);
    put_u32(b, (uint32_t)(x >> 32));
}

static void put_str(buf_t *b, const char *s, size_t n) {
    put_u64(b, n);
    buf_append(b, s, n);
}

static void kv_key(buf_t *b, const char *arch, const char *key, gguf_vtype_t type) {
    char full[128];
    if (arch) snprintf(full, sizeof full, "%s.%s", arch, key);
    else snprintf(full, sizeof full, "%s", key);
    put_str(b, full, strlen(full));
    put_u32(b, (uint32_t)type);
}

static void kv_u32(buf_t *b, const char *arch, const char *key, uint32_t v) {
    kv_key(b, arch, key, GGUF_TYPE_UINT32);
    put_u32(b, v);
}

static void kv_f32(buf_t *b, const char *arch, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    kv_key(b, arch, key, GGUF_TYPE_FLOAT32);
    put_u32(b, u);
}

static void kv_bool(buf_t *b, const char *key, int v) {
    kv_key(b, NULL, key, GGUF_TYPE_BOOL);
    buf_putc(b, v ? 1 : 0);
}

static void kv_str(buf_t *b, const char *arch, const char *key, const char *v) {
    kv_key(b, arch, key, GGUF_TYPE_STRING);
    put_str(b, v, strlen(v));
}

static const char chatml_template[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/* Header, metadata and tensor descriptions, padded to the data section.
 * The key/value count is written as 0 and patched once the pairs are
 * counted. On allocation failure b->oom is set. */
static void build_header(buf_t *b, const llm_synth_params_t *p, const vocab_t *v, const syn_tensor_t *t,
                         size_t nt) {
    const char *a = p->arch;
    uint64_t n_kv = 0;
    buf_append(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, nt);
    size_t kv_count_at = b->len;
    put_u64(b, 0); /* patched below */

    char name[96];
    snprintf(name, sizeof name, "copyd-synthetic-%s-%dL-%d-%s", a, p->n_layer, p->n_embd,
             ggml_type_name(p->type));
    kv_str(b, NULL, "general.architecture", a), n_kv++;
    kv_str(b, NULL, "general.name", name), n_kv++;
    kv_u32(b, NULL, "general.file_type", file_type(p->type)), n_kv++;
    kv_u32(b, NULL, "general.quantization_version", 2), n_kv++;
    kv_u32(b, a, "block_count", (uint32_t)p->n_layer), n_kv++;
    kv_u32(b, a, "context_length", (uint32_t)p->n_ctx), n_kv++;
    kv_u32(b, a, "embedding_length", (uint32_t)p->n_embd), n_kv++;
    kv_u32(b, a, "feed_forward_length", (uint32_t)p->n_ff), n_kv++;
    kv_u32(b, a, "attention.head_count", (uint32_t)p->n_head), n_kv++;
    kv_u32(b, a, "attention.head_count_kv", (uint32_t)p->n_head_kv), n_kv++;
    kv_f32(b, a, "attention.layer_norm_rms_epsilon", is_qwen2(p) ? 1e-6f : 1e-5f), n_kv++;
    kv_f32(b, a, "rope.freq_base", is_qwen2(p) ? 1000000.0f : 10000.0f), n_kv++;

    kv_str(b, NULL, "tokenizer.ggml.model", "gpt2"), n_kv++;
    kv_str(b, NULL, "tokenizer.ggml.pre", is_qwen2(p) ? "qwen2" : "llama-bpe"), n_kv++;
    kv_key(b, NULL, "tokenizer.ggml.tokens", GGUF_TYPE_ARRAY), n_kv++;
    put_u32(b, GGUF_TYPE_STRING);
    put_u64(b, v->n);
    for (size_t i = 0; i < v->n; i++) put_str(b, tok_text(v, (int32_t)i), v->len[i]);
    kv_key(b, NULL, "tokenizer.ggml.token_type", GGUF_TYPE_ARRAY), n_kv++;
    put_u32(b, GGUF_TYPE_INT32);
    put_u64(b, v->n);
    for (size_t i = 0; i < v->n; i++) put_u32(b, (uint32_t)v->type[i]);
    kv_key(b, NULL, "tokenizer.ggml.merges", GGUF_TYPE_ARRAY), n_kv++;
    put_u32(b, GGUF_TYPE_STRING);
    put_u64(b, v->nm);
    for (size_t i = 0; i < v->nm; i++) put_str(b, v->merges.p + v->moff[i], v->mlen[i]);
    const uint32_t n = (uint32_t)v->n;
    kv_u32(b, NULL, "tokenizer.ggml.bos_token_id", n - 3), n_kv++;  /* <|endoftext|> */
    kv_u32(b, NULL, "tokenizer.ggml.eos_token_id", n - 1), n_kv++;  /* <|im_end|> */
    kv_u32(b, NULL, "tokenizer.ggml.padding_token_id", n - 3), n_kv++;
    /* qwen2 adds no BOS (as Qwen2.5); the llama form behaves like Llama 3 */
    kv_bool(b, "tokenizer.ggml.add_bos_token", !is_qwen2(p)), n_kv++;
    kv_str(b, NULL, "tokenizer.chat_template", chatml_template), n_kv++;

    for (size_t i = 0; i < nt; i++) {
        put_str(b, t[i].name, strlen(t[i].name));
        put_u32(b, t[i].ne1 ? 2 : 1);
        put_u64(b, t[i].ne0);
        if (t[i].ne1) put_u64(b, t[i].ne1);
        put_u32(b, (uint32_t)t[i].type);
        put_u64(b, t[i].offset);
    }
    while (b->len % SYN_ALIGN) buf_putc(b, 0);
    if (!b->oom)
        for (int k = 0; k < 8; k++) b->p[kv_count_at + (size_t)k] = (char)(n_kv >> (8 * k));
}

/* ---- writing --------------------------------------------------------------------- */

uint64_t llm_synth_file_size(const llm_synth_params_t *p) {
    if (llm_synth_check(p, NULL, 0) != 0) return 0;
    uint64_t size = 0;
    vocab_t v;
    buf_t h = BUF_INIT;
    syn_tensor_t *t = malloc(max_tensors(p) * sizeof *t);
    /* the header holds the vocabulary: build it to know its size */
    if (t && build_vocab(&v, (size_t)p->n_vocab, NULL, 0) == 0) {
        size_t nt = tensor_list(p, t);
        build_header(&h, p, &v, t, nt);
        if (!h.oom) size = h.len + t[nt - 1].offset + t[nt - 1].nbytes;
    }
    if (t) vocab_free(&v);
    buf_free(&h);
    free(t);
    return size;
}

typedef struct progress {
    int on;
    uint64_t total, done;
    int last_pct;
    const char *path;
} progress_t;

static void progress_update(progress_t *pr) {
    if (!pr->on) return;
    int pct = pr->total ? (int)(pr->done * 100 / pr->total) : 100;
    if (pct == pr->last_pct) return;
    pr->last_pct = pct;
    fprintf(stderr, "\rcopyd model synth: writing %s: %3d%% (%llu of %llu MB)", pr->path, pct,
            (unsigned long long)(pr->done >> 20), (unsigned long long)(pr->total >> 20));
    if (pct == 100) fputc('\n', stderr);
    fflush(stderr);
}

static int write_all(FILE *f, const void *p, size_t n, progress_t *pr) {
    if (n && fwrite(p, 1, n, f) != n) return -1;
    pr->done += n;
    progress_update(pr);
    return 0;
}

/* Generates and writes one tensor, a row at a time. */
static int write_tensor(FILE *f, const syn_tensor_t *t, uint64_t seed, uint64_t stream, float *row, void *qrow,
                        progress_t *pr) {
    rng_t r;
    rng_seed(&r, seed, stream);
    const uint64_t rows = t->ne1 ? t->ne1 : 1;
    const size_t rb = (size_t)ggml_row_bytes(t->type, t->ne0);
    for (uint64_t i = 0; i < rows; i++) {
        for (uint64_t j = 0; j < t->ne0; j++) {
            float g = rng_gauss(&r) * t->std;
            row[j] = t->init == INIT_NORM ? 1.0f + g : g;
        }
        if (quantize_row(t->type, row, qrow, (int64_t)t->ne0) != 0) return -1;
        if (write_all(f, qrow, rb, pr) < 0) return -1;
    }
    return 0;
}

int llm_synth_write(const llm_synth_params_t *p, const char *path, char *err, size_t errsz) {
    if (llm_synth_check(p, err, errsz) != 0) return -1;
    int rc = -1;
    vocab_t v;
    memset(&v, 0, sizeof v);
    buf_t h = BUF_INIT;
    FILE *f = NULL;
    float *row = NULL;
    void *qrow = NULL;
    char *tmp = NULL;
    syn_tensor_t *t = malloc(max_tensors(p) * sizeof *t);
    if (!t) goto oom;
    size_t nt = tensor_list(p, t);
    if (build_vocab(&v, (size_t)p->n_vocab, err, errsz) < 0) goto out;
    build_header(&h, p, &v, t, nt);
    if (h.oom) goto oom;
    vocab_free(&v); /* everything needed is in the header now */

    size_t maxrow = (size_t)(p->n_embd > p->n_ff ? p->n_embd : p->n_ff);
    row = malloc(maxrow * sizeof *row);
    qrow = malloc(maxrow * sizeof(float)); /* no type is wider than f32 */
    size_t plen = strlen(path);
    tmp = malloc(plen + 5);
    if (!row || !qrow || !tmp) goto oom;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    f = fopen(tmp, "wb");
    if (!f) {
        seterr(err, errsz, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    progress_t pr = {p->progress && isatty(STDERR_FILENO), 0, 0, -1, path};
    pr.total = h.len + t[nt - 1].offset + t[nt - 1].nbytes;
    if (write_all(f, h.p, h.len, &pr) < 0) goto io;
    static const char zeros[SYN_ALIGN] = {0};
    uint64_t at = 0; /* position in the data section */
    for (size_t i = 0; i < nt; i++) {
        if (write_all(f, zeros, (size_t)(t[i].offset - at), &pr) < 0) goto io;
        if (write_tensor(f, &t[i], p->seed, (uint64_t)i + 1, row, qrow, &pr) < 0) goto io;
        at = t[i].offset + t[i].nbytes;
    }
    if (fflush(f) != 0 || ferror(f)) goto io;
    if (fclose(f) != 0) {
        f = NULL;
        goto io;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        seterr(err, errsz, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
    goto out;
io:
    seterr(err, errsz, "%s: write error: %s", tmp, errno ? strerror(errno) : "unknown");
    goto out;
oom:
    seterr(err, errsz, "out of memory");
out:
    if (f) fclose(f);
    if (rc != 0 && tmp) unlink(tmp);
    free(tmp);
    free(row);
    free(qrow);
    buf_free(&h);
    vocab_free(&v);
    free(t);
    return rc;
}

/* ---- command line ------------------------------------------------------------------ */

static void synth_help(FILE *out) {
    fprintf(out,
            "Usage: copyd model synth --out FILE [OPTIONS]\n\n"
            "Writes a GGUF model of the given shape with random weights (for benchmarks and tests).\n"
            "The Qwen2-0.5B shape:\n"
            "  copyd model synth --arch qwen2 --layers 24 --embd 896 --heads 14 --kv-heads 2 --ff 4864 \\\n"
            "      --vocab 151936 --ctx 4096 --type q8_0 --out qwen2-0.5b-synth-q8_0.gguf\n\n"
            "  --arch qwen2|llama    architecture (default qwen2; qwen2 ties the output to token_embd)\n"
            "  --layers L            transformer blocks (default 2)\n"
            "  --embd E              embedding width (default 256)\n"
            "  --heads H             attention heads; E must be a multiple (default 4)\n"
            "  --kv-heads K          key/value heads; H must be a multiple (default: H)\n"
            "  --ff F                feed-forward width (default 512)\n"
            "  --vocab V             tokens, 259 or more, 3 specials included (default 1000)\n"
            "  --ctx C               context_length (default 256)\n"
            "  --type T              matrices: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q6_k\n"
            "                        (default q8_0); E and F must be multiples of its block size\n"
            "  --seed S              random seed (default 42): same seed, same file\n"
            "  --out FILE            where to write (replaced atomically)\n"
            "  --help                this text\n");
}

static int parse_type(const char *s, ggml_type_t *out) {
    static const struct { const char *name; ggml_type_t t; } types[] = {
        {"f32", GGML_TYPE_F32},   {"f16", GGML_TYPE_F16},   {"bf16", GGML_TYPE_BF16}, {"q8_0", GGML_TYPE_Q8_0},
        {"q4_0", GGML_TYPE_Q4_0}, {"q4_1", GGML_TYPE_Q4_1}, {"q5_0", GGML_TYPE_Q5_0}, {"q5_1", GGML_TYPE_Q5_1},
        {"q4_k", GGML_TYPE_Q4_K}, {"q6_k", GGML_TYPE_Q6_K},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(s, types[i].name) == 0) {
            *out = types[i].t;
            return 0;
        }
    return -1;
}

int llm_cmd_synth(int argc, char **argv) {
    llm_synth_params_t p;
    llm_synth_params_default(&p);
    p.progress = 1;
    p.n_head_kv = -1; /* follows --heads unless given */
    const char *out = NULL;
    for (int i = 3; i < argc; i++) {
        int missing = 0;
        const char *v;
        long l;
        int *target = NULL;
        long lo = 1, hi = 1L << 30;
        const char *flag = argv[i]; /* before arg_value() moves i */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            synth_help(stdout);
            return 0;
        } else if ((v = arg_value(argc, argv, &i, "--arch", &missing))) {
            if (strcmp(v, "qwen2") != 0 && strcmp(v, "llama") != 0) goto bad_value;
            snprintf(p.arch, sizeof p.arch, "%s", v);
        } else if ((v = arg_value(argc, argv, &i, "--type", &missing))) {
            if (parse_type(v, &p.type) < 0) goto bad_value;
        } else if ((v = arg_value(argc, argv, &i, "--out", &missing))) {
            out = v;
        } else if ((v = arg_value(argc, argv, &i, "--seed", &missing))) {
            if (parse_long(v, 0, 0x7fffffffffffffffL, &l) < 0) goto bad_value;
            p.seed = (uint64_t)l;
        } else if ((v = arg_value(argc, argv, &i, "--layers", &missing))) {
            target = &p.n_layer;
        } else if ((v = arg_value(argc, argv, &i, "--embd", &missing))) {
            target = &p.n_embd;
        } else if ((v = arg_value(argc, argv, &i, "--heads", &missing))) {
            target = &p.n_head;
        } else if ((v = arg_value(argc, argv, &i, "--kv-heads", &missing))) {
            target = &p.n_head_kv;
        } else if ((v = arg_value(argc, argv, &i, "--ff", &missing))) {
            target = &p.n_ff;
        } else if ((v = arg_value(argc, argv, &i, "--vocab", &missing))) {
            target = &p.n_vocab;
        } else if ((v = arg_value(argc, argv, &i, "--ctx", &missing))) {
            target = &p.n_ctx;
        } else {
            if (missing) fprintf(stderr, "copyd model synth: %s needs a value\n", argv[i]);
            else fprintf(stderr, "copyd model synth: unknown option '%s' (see copyd model synth --help)\n", argv[i]);
            return 2;
        }
        if (target) {
            if (parse_long(v, lo, hi, &l) < 0) goto bad_value;
            *target = (int)l;
        }
        continue;
    bad_value:
        fprintf(stderr, "copyd model synth: bad value '%s' for %.*s\n", v, (int)strcspn(flag, "="), flag);
        return 2;
    }
    if (!out) {
        fprintf(stderr, "copyd model synth: --out FILE is required (see copyd model synth --help)\n");
        return 2;
    }
    if (p.n_head_kv < 0) p.n_head_kv = p.n_head;
    char err[512];
    if (llm_synth_check(&p, err, sizeof err) != 0) {
        fprintf(stderr, "copyd model synth: %s\n", err);
        return 2;
    }
    double t0 = now_mono();
    if (llm_synth_write(&p, out, err, sizeof err) != 0) {
        fprintf(stderr, "copyd model synth: %s\n", err);
        return 1;
    }
    fprintf(stderr, "copyd model synth: wrote %s (%s, %d layers, embedding %d, vocab %d, %s) in %.1f s\n", out,
            p.arch, p.n_layer, p.n_embd, p.n_vocab, ggml_type_name(p.type), now_mono() - t0);
    return 0;
}
