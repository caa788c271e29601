/* tokenizer.c -- SentencePiece and byte-level BPE tokenizers (see tokenizer.h).
 *
 * The algorithms follow llama.cpp's llama-vocab.cpp / unicode.cpp step by
 * step, because "the same ids as llama.cpp" is the contract: the same
 * symbol splitting (by UTF-8 lead byte), the same merge order and tie
 * breaks, the same fallbacks. Where llama.cpp would throw or read out of
 * bounds on hostile input we do something harmless instead; those places
 * are marked "llama.cpp:".
 *
 * Layout of a loaded tokenizer: every token text lives in one blob; an
 * open-addressing hash maps text -> id; for BPE a second hash maps a merge
 * (the concatenated text plus where the left part ends) -> rank, so a
 * candidate pair can be looked up without building a string. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "llm/tokenizer.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "llm/unicode.h"

enum { TOK_SPM = 1, TOK_BPE = 2 };

/* llama.cpp token types (GGUF tokenizer.ggml.token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* Token attributes (llama.cpp's llama_token_attr, the bits we use). */
enum {
    A_UNKNOWN = 1 << 0,
    A_UNUSED = 1 << 1,
    A_NORMAL = 1 << 2,
    A_CONTROL = 1 << 3,
    A_USER = 1 << 4,
    A_BYTE = 1 << 5,
    A_LSTRIP = 1 << 6,
    A_RSTRIP = 1 << 7,
};

#define MAX_RE 6

struct tokenizer {
    int type;
    char *pre_name;
    size_t n;          /* vocabulary size */
    char *blob;        /* all token texts */
    uint32_t *off, *len;
    float *score;
    uint8_t *attr;
    uint8_t *eog;
    int32_t *ht;       /* text -> id, -1 = empty slot */
    size_t ht_mask;

    /* BPE merges: text = left+right, split = strlen(left) */
    char *mblob;
    uint32_t *m_off, *m_len, *m_split;
    size_t n_merges;
    int32_t *mh;       /* -> merge index (= rank), -1 = empty */
    size_t mh_mask;

    int32_t *specials; /* control / user-defined / unknown ids, longest text first */
    size_t n_specials;

    int32_t bos, eos, unk, eot, eom;
    int add_bos, add_eos, add_space_prefix, ignore_merges;

    pcre2_code *re[MAX_RE];
    int n_re;

    int32_t byte_tok[256];   /* SPM: token for a raw byte, -1 if none */
    char byte_enc[256][2];   /* BPE: UTF-8 of the byte's code point */
    uint8_t byte_enc_len[256];
    size_t max_piece;
};

/* ------------------------------------------------------------------ */
/* small helpers */

static void seterr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...) {
    if (!err || !errsz) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

typedef struct {
    int32_t *v;
    size_t n, cap;
    int oom;
} ivec_t;

static void ivec_push(ivec_t *a, int32_t x) {
    if (a->oom) return;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        int32_t *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv) { a->oom = 1; return; }
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
}

static size_t pow2_at_least(size_t x) {
    size_t p = 16;
    while (p < x) p <<= 1;
    return p;
}

static uint64_t hash_text(const char *s, size_t n) { return XXH3_64bits(s, n); }

int32_t tokenizer_find(const tokenizer_t *t, const char *s, size_t n) {
    if (!t || (!s && n)) return -1;
    size_t i = (size_t)hash_text(s, n) & t->ht_mask;
    for (;;) {
        int32_t id = t->ht[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->blob + t->off[id], s, n) == 0) return id;
        i = (i + 1) & t->ht_mask;
    }
}

/* Rank of merging left = s[0..split) with right = s[split..n), or -1. */
static int32_t merge_rank(const tokenizer_t *t, const char *s, size_t n, size_t split) {
    if (!t->mh) return -1;
    size_t i = (size_t)XXH3_64bits_withSeed(s, n, split) & t->mh_mask;
    for (;;) {
        int32_t m = t->mh[i];
        if (m < 0) return -1;
        if (t->m_len[m] == n && t->m_split[m] == split && memcmp(t->mblob + t->m_off[m], s, n) == 0) return m;
        i = (i + 1) & t->mh_mask;
    }
}

/* ------------------------------------------------------------------ */
/* priority queue of candidate pairs: smallest key first, then leftmost */

typedef struct {
    double key;   /* SPM: -score, BPE: rank */
    int left, right;
    uint32_t size;
} bigram_t;

typedef struct {
    bigram_t *v;
    size_t n, cap;
    int oom;
} heap_t;

static int bg_before(const bigram_t *a, const bigram_t *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static void heap_push(heap_t *h, bigram_t b) {
    if (h->oom) return;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        bigram_t *nv = realloc(h->v, nc * sizeof *nv);
        if (!nv) { h->oom = 1; return; }
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bg_before(&b, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = b;
}

static bigram_t heap_pop(heap_t *h) {
    bigram_t top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bg_before(&h->v[c + 1], &h->v[c])) c++;
        if (!bg_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* Symbols of the word being merged: a doubly linked list over spans. */
typedef struct {
    int prev, next;
    uint32_t start, n;
} sym_t;

typedef struct {
    sym_t *v;
    size_t n, cap;
    int oom;
} symvec_t;

static int symvec_reserve(symvec_t *s, size_t n) {
    if (n <= s->cap) return 0;
    sym_t *nv = realloc(s->v, n * sizeof *nv);
    if (!nv) { s->oom = 1; return -1; }
    s->v = nv;
    s->cap = n;
    return 0;
}

/* Splits text[0..len) into one symbol per UTF-8 character (judged by lead
 * byte, clipped at the end, as llama.cpp does). */
static int split_symbols(symvec_t *sv, const char *text, size_t len) {
    sv->n = 0;
    if (symvec_reserve(sv, len + 1)) return -1;
    size_t off = 0;
    int idx = 0;
    while (off < len) {
        size_t cl = (size_t)uni_lead_len((unsigned char)text[off]);
        if (cl > len - off) cl = len - off;
        sym_t *s = &sv->v[sv->n++];
        s->start = (uint32_t)off;
        s->n = (uint32_t)cl;
        off += cl;
        s->prev = idx - 1;
        s->next = off == len ? -1 : idx + 1;
        idx++;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* SentencePiece */

static void spm_try_bigram(const tokenizer_t *t, const char *text, symvec_t *sv, heap_t *h, int l, int r) {
    if (l < 0 || r < 0) return;
    const sym_t *a = &sv->v[l], *b = &sv->v[r];
    int32_t id = tokenizer_find(t, text + a->start, a->n + b->n);
    if (id < 0) return;
    bigram_t bg = {-(double)t->score[id], l, r, a->n + b->n};
    heap_push(h, bg);
}

/* llama.cpp's llm_tokenizer_spm_session::tokenize on an already escaped
 * text. Its rev_merge/resegment step is not needed: a merged symbol is a
 * vocabulary token by construction, and an unmerged single character can
 * never equal the text of a two-symbol pair, so resegment always either
 * emits the symbol's token or falls back to bytes. */
static void spm_tokenize(const tokenizer_t *t, const char *text, size_t len, symvec_t *sv, heap_t *h,
                         ivec_t *out) {
    if (len == 0) return;
    if (split_symbols(sv, text, len)) { out->oom = 1; return; }
    h->n = 0;
    for (size_t i = 1; i < sv->n; i++) spm_try_bigram(t, text, sv, h, (int)i - 1, (int)i);
    while (h->n) {
        bigram_t bg = heap_pop(h);
        sym_t *l = &sv->v[bg.left], *r = &sv->v[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sv->v[r->next].prev = bg.left;
        spm_try_bigram(t, text, sv, h, l->prev, bg.left);
        spm_try_bigram(t, text, sv, h, bg.left, l->next);
    }
    if (h->oom) out->oom = 1;
    for (int i = 0; i != -1; i = sv->v[i].next) {
        const sym_t *s = &sv->v[i];
        int32_t id = tokenizer_find(t, text + s->start, s->n);
        if (id >= 0) {
            ivec_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < s->n; j++) {
            int32_t b = t->byte_tok[(unsigned char)text[s->start + j]];
            /* llama.cpp: throws when the vocabulary has no token for the
             * byte; we use <unk> if there is one, else drop the byte. */
            if (b < 0) b = t->unk;
            if (b >= 0) ivec_push(out, b);
        }
    }
}

/* ------------------------------------------------------------------ */
/* byte-level BPE */

/* Merges one pre-tokenized word (already byte-encoded) and appends its ids. */
static void bpe_word(const tokenizer_t *t, const char *w, size_t wl, symvec_t *sv, heap_t *h, ivec_t *out) {
    if (wl == 0) return;
    if (t->ignore_merges) {
        int32_t id = tokenizer_find(t, w, wl);
        if (id >= 0) {
            ivec_push(out, id);
            return;
        }
    }
    if (split_symbols(sv, w, wl)) { out->oom = 1; return; }
    h->n = 0;
    for (size_t i = 1; i < sv->n; i++) {
        const sym_t *a = &sv->v[i - 1], *b = &sv->v[i];
        int32_t rank = merge_rank(t, w + a->start, a->n + b->n, a->n);
        if (rank >= 0) heap_push(h, (bigram_t){(double)rank, (int)i - 1, (int)i, a->n + b->n});
    }
    while (h->n) {
        bigram_t bg = heap_pop(h);
        sym_t *l = &sv->v[bg.left], *r = &sv->v[bg.right];
        /* Stale entry: one side has been merged since (spans only grow, so
         * an unchanged total size means both are unchanged). */
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sv->v[r->next].prev = bg.left;
        if (l->prev >= 0) {
            const sym_t *p = &sv->v[l->prev];
            int32_t rank = merge_rank(t, w + p->start, p->n + l->n, p->n);
            if (rank >= 0) heap_push(h, (bigram_t){(double)rank, l->prev, bg.left, p->n + l->n});
        }
        if (l->next >= 0) {
            const sym_t *q = &sv->v[l->next];
            int32_t rank = merge_rank(t, w + l->start, l->n + q->n, l->n);
            if (rank >= 0) heap_push(h, (bigram_t){(double)rank, bg.left, l->next, l->n + q->n});
        }
    }
    if (h->oom) out->oom = 1;
    for (int i = 0; i != -1; i = sv->v[i].next) {
        const sym_t *s = &sv->v[i];
        int32_t id = tokenizer_find(t, w + s->start, s->n);
        if (id >= 0) {
            ivec_push(out, id);
            continue;
        }
        /* llama.cpp: look each byte of the symbol up as a one-byte token. */
        for (uint32_t j = 0; j < s->n; j++) {
            int32_t b = tokenizer_find(t, w + s->start + j, 1);
            if (b >= 0) ivec_push(out, b);
        }
    }
}

/* Scratch for the BPE path of one encode call, sized for the whole text. */
typedef struct {
    uint32_t *cpt;      /* decoded code points of the current fragment */
    size_t ncpt;
    uint32_t *c2b;      /* code point index -> byte offset in s (ncpt+1) */
    uint32_t *b2c;      /* byte offset in s -> code point index */
    char *s;            /* valid UTF-8 stand-in for the fragment, for PCRE2 */
    size_t *pieces, np; /* current split, as code point counts */
    size_t *next, nn;
    char *word;
    pcre2_match_data *md;
} bpe_scratch_t;

static void bpe_scratch_free(bpe_scratch_t *sc) {
    free(sc->cpt);
    free(sc->c2b);
    free(sc->b2c);
    free(sc->s);
    free(sc->pieces);
    free(sc->next);
    free(sc->word);
    if (sc->md) pcre2_match_data_free(sc->md);
}

/* Every fragment is at most `len` bytes: one code point per byte at most,
 * at most 4 bytes of s per input byte (a lone bad byte becomes U+FFFD, 3
 * bytes), at most 4 UTF-8 bytes per code point and 2 bytes per byte after
 * byte-level encoding. */
static int bpe_scratch_init(bpe_scratch_t *sc, size_t len) {
    memset(sc, 0, sizeof *sc);
    size_t n = len + 1;
    sc->cpt = malloc(n * sizeof *sc->cpt);
    sc->c2b = malloc(n * sizeof *sc->c2b);
    sc->b2c = malloc((4 * n) * sizeof *sc->b2c);
    sc->s = malloc(4 * n);
    sc->pieces = malloc(n * sizeof *sc->pieces);
    sc->next = malloc(n * sizeof *sc->next);
    sc->word = malloc(8 * n);
    sc->md = pcre2_match_data_create(4, NULL);
    if (!sc->cpt || !sc->c2b || !sc->b2c || !sc->s || !sc->pieces || !sc->next || !sc->word || !sc->md) {
        bpe_scratch_free(sc);
        return -1;
    }
    return 0;
}

static int bpe_match(const pcre2_code *re, const char *subj, size_t n, size_t pos, pcre2_match_data *md) {
    int rc = pcre2_match(re, (PCRE2_SPTR)subj, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) /* e.g. JIT stack exhausted */
        rc = pcre2_match(re, (PCRE2_SPTR)subj, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
    return rc;
}

/* Applies one splitting regex to every current piece (llama.cpp's
 * unicode_regex_split_stl): matches become pieces, and so do the gaps
 * between them. The regex sees one piece at a time, so lookaheads and '$'
 * stop at the piece's end. */
static void bpe_split(const pcre2_code *re, bpe_scratch_t *sc) {
    size_t cs = 0;
    sc->nn = 0;
    for (size_t p = 0; p < sc->np; p++) {
        size_t cl = sc->pieces[p];
        size_t bs = sc->c2b[cs], blen = sc->c2b[cs + cl] - bs;
        const char *subj = sc->s + bs;
        size_t pos = 0, last = 0;
        while (pos < blen) {
            if (bpe_match(re, subj, blen, pos, sc->md) < 0) break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
            size_t ms = ov[0], me = ov[1];
            if (ms > blen || me > blen || me < ms) break;
            if (me == ms) { /* empty match: step over one character */
                pos = ms + (size_t)uni_lead_len((unsigned char)subj[ms]);
                continue;
            }
            if (ms > last) sc->next[sc->nn++] = sc->b2c[bs + ms] - sc->b2c[bs + last];
            sc->next[sc->nn++] = sc->b2c[bs + me] - sc->b2c[bs + ms];
            last = pos = me;
        }
        if (last < blen) sc->next[sc->nn++] = sc->b2c[bs + blen] - sc->b2c[bs + last];
        cs += cl;
    }
    size_t *tmp = sc->pieces;
    sc->pieces = sc->next;
    sc->next = tmp;
    sc->np = sc->nn;
}

static void bpe_tokenize(const tokenizer_t *t, const char *text, size_t len, bpe_scratch_t *sc, symvec_t *sv,
                         heap_t *h, ivec_t *out) {
    /* 1. code points, as llama.cpp's unicode_cpts_from_utf8 reads them */
    size_t off = 0, slen = 0;
    sc->ncpt = 0;
    while (off < len) sc->cpt[sc->ncpt++] = uni_decode(text, len, &off);
    /* 2. the string the regexes see. llama.cpp runs its regexes on a copy
     * where non-ASCII white space is replaced by \v (0x0B); doing the same
     * keeps \s and the explicit character ranges identical. Surrogates,
     * which PCRE2 refuses, stand in as U+E000 (also not a letter, digit,
     * punctuation or space). */
    for (size_t i = 0; i < sc->ncpt; i++) {
        uint32_t c = sc->cpt[i];
        if (c > 0x7F && uni_is_space(c)) c = 0x0B;
        else if (c >= 0xD800 && c <= 0xDFFF) c = 0xE000;
        sc->c2b[i] = (uint32_t)slen;
        size_t k = uni_encode(c, sc->s + slen);
        for (size_t j = 0; j < k; j++) sc->b2c[slen + j] = (uint32_t)i;
        slen += k;
    }
    sc->c2b[sc->ncpt] = (uint32_t)slen;
    sc->b2c[slen] = (uint32_t)sc->ncpt;
    /* 3. successive splits */
    sc->np = 0;
    if (sc->ncpt) sc->pieces[sc->np++] = sc->ncpt;
    for (int r = 0; r < t->n_re; r++) bpe_split(t->re[r], sc);
    /* 4. each piece: original code points -> UTF-8 -> byte-level code points */
    size_t cs = 0;
    for (size_t p = 0; p < sc->np && !out->oom; p++) {
        size_t wl = 0;
        for (size_t i = cs; i < cs + sc->pieces[p]; i++) {
            char u[4];
            size_t k = uni_encode(sc->cpt[i], u);
            for (size_t j = 0; j < k; j++) {
                unsigned char b = (unsigned char)u[j];
                memcpy(sc->word + wl, t->byte_enc[b], t->byte_enc_len[b]);
                wl += t->byte_enc_len[b];
            }
        }
        bpe_word(t, sc->word, wl, sv, h, out);
        cs += sc->pieces[p];
    }
}

/* ------------------------------------------------------------------ */
/* special tokens: cut the input into text runs and special tokens */

typedef struct {
    int32_t id; /* >= 0: a special token; -1: text[off..off+len) */
    size_t off, len;
} frag_t;

typedef struct {
    frag_t *v;
    size_t n, cap;
} fragvec_t;

static int frag_push(fragvec_t *f, int32_t id, size_t off, size_t len) {
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        frag_t *nv = realloc(f->v, nc * sizeof *nv);
        if (!nv) return -1;
        f->v = nv;
        f->cap = nc;
    }
    f->v[f->n++] = (frag_t){id, off, len};
    return 0;
}

/* llama.cpp's tokenizer_st_partition. Returns -1 on out of memory. */
static int partition(const tokenizer_t *t, const char *text, size_t len, int parse_special, fragvec_t *out) {
    fragvec_t cur = {0}, nxt = {0};
    out->n = 0;
    if (len == 0) return 0;
    if (frag_push(&cur, -1, 0, len)) return -1;
    for (size_t k = 0; k < t->n_specials; k++) {
        int32_t sid = t->specials[k];
        uint8_t a = t->attr[sid];
        if (!parse_special && (a & (A_CONTROL | A_UNKNOWN))) continue;
        const char *st = t->blob + t->off[sid];
        size_t sl = t->len[sid];
        if (!memmem(text, len, st, sl)) continue; /* cheap common case */
        nxt.n = 0;
        for (size_t f = 0; f < cur.n; f++) {
            frag_t fr = cur.v[f];
            if (fr.id >= 0) {
                if (frag_push(&nxt, fr.id, 0, 0)) goto oom;
                continue;
            }
            size_t base = fr.off, blen = fr.len;
            while (blen > 0) {
                const char *m = memmem(text + base, blen, st, sl);
                if (!m) {
                    if (frag_push(&nxt, -1, base, blen)) goto oom;
                    break;
                }
                size_t mpos = (size_t)(m - text);
                size_t llen = mpos - base;
                if (a & A_LSTRIP)
                    while (llen > 0 && isspace((unsigned char)text[base + llen - 1])) llen--;
                if (llen > 0 && frag_push(&nxt, -1, base, llen)) goto oom;
                if (frag_push(&nxt, sid, 0, 0)) goto oom;
                size_t rbase = mpos + sl, rlen = base + blen - rbase;
                if (a & A_RSTRIP)
                    while (rlen > 0 && isspace((unsigned char)text[rbase])) rbase++, rlen--;
                base = rbase;
                blen = rlen;
            }
        }
        fragvec_t tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    free(nxt.v);
    *out = cur;
    return 0;
oom:
    free(cur.v);
    free(nxt.v);
    return -1;
}

int tokenizer_encode(const tokenizer_t *t, const char *text, size_t len, int add_special, int parse_special,
                     int32_t **ids, size_t *n) {
    ivec_t out = {0};
    fragvec_t frags = {0};
    symvec_t sv = {0};
    heap_t h = {0};
    bpe_scratch_t sc;
    char *esc = NULL;
    int have_sc = 0;
    *ids = NULL;
    *n = 0;
    /* offsets inside an encode call are 32-bit (3 bytes of scratch per
     * input byte at most) */
    if (!t || (!text && len) || len > TOKENIZER_MAX_TEXT) return -1;
    if (partition(t, text, len, parse_special, &frags)) goto fail;

    if (add_special && t->add_bos && t->bos >= 0) ivec_push(&out, t->bos);
    if (t->type == TOK_SPM) {
        int prev_special = 1; /* the start counts as "after a special token" */
        esc = malloc(3 * len + 4);
        if (!esc) goto fail;
        for (size_t f = 0; f < frags.n && !out.oom; f++) {
            const frag_t *fr = &frags.v[f];
            if (fr->id >= 0) {
                ivec_push(&out, fr->id);
                prev_special = 1;
                continue;
            }
            /* prefix a space after a special token, then ' ' -> U+2581 */
            size_t el = 0;
            const char *src = text + fr->off;
            if (t->add_space_prefix && prev_special) memcpy(esc + el, "\xE2\x96\x81", 3), el += 3;
            for (size_t i = 0; i < fr->len; i++) {
                if (src[i] == ' ') memcpy(esc + el, "\xE2\x96\x81", 3), el += 3;
                else esc[el++] = src[i];
            }
            spm_tokenize(t, esc, el, &sv, &h, &out);
            prev_special = 0;
        }
    } else {
        if (bpe_scratch_init(&sc, len)) goto fail;
        have_sc = 1;
        for (size_t f = 0; f < frags.n && !out.oom; f++) {
            const frag_t *fr = &frags.v[f];
            if (fr->id >= 0) ivec_push(&out, fr->id);
            else bpe_tokenize(t, text + fr->off, fr->len, &sc, &sv, &h, &out);
        }
    }
    if (add_special && t->add_eos && t->eos >= 0) ivec_push(&out, t->eos);
    if (out.oom || sv.oom || h.oom) goto fail;
    if (!out.v && !(out.v = malloc(sizeof(int32_t)))) goto fail;
    *ids = out.v;
    *n = out.n;
    free(frags.v);
    free(sv.v);
    free(h.v);
    free(esc);
    if (have_sc) bpe_scratch_free(&sc);
    return 0;
fail:
    free(out.v);
    free(frags.v);
    free(sv.v);
    free(h.v);
    free(esc);
    if (have_sc) bpe_scratch_free(&sc);
    return -1;
}

/* ------------------------------------------------------------------ */
/* pieces and streaming detokenisation */

typedef struct {
    char *out;
    size_t cap, n;
} emit_t;

static void emit(emit_t *e, const void *p, size_t k) {
    if (e->n < e->cap) {
        size_t c = e->cap - e->n < k ? e->cap - e->n : k;
        memcpy(e->out + e->n, p, c);
    }
    e->n += k;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t tokenizer_piece(const tokenizer_t *t, int32_t id, int render_special, char *out, size_t outsz) {
    if (!t || id < 0 || (size_t)id >= t->n) return 0;
    emit_t e = {out, out ? outsz : 0, 0};
    uint8_t a = t->attr[id];
    const char *s = t->blob + t->off[id];
    size_t n = t->len[id];
    if (!render_special && (a & (A_UNKNOWN | A_CONTROL))) return 0;
    if (a & (A_UNKNOWN | A_CONTROL | A_USER)) {
        emit(&e, s, n);
        return e.n;
    }
    if (t->type == TOK_SPM) {
        if (a & A_NORMAL) {
            for (size_t i = 0; i < n; i++) {
                if (i + 3 <= n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                    emit(&e, " ", 1);
                    i += 2;
                } else emit(&e, s + i, 1);
            }
        } else if (a & A_BYTE) {
            /* "<0xNN>"; llama.cpp parses the two characters after "<0x" */
            int hi = n >= 5 ? hexval(s[3]) : -1, lo = n >= 5 ? hexval(s[4]) : -1;
            unsigned char b;
            if (hi >= 0 && lo >= 0) b = (unsigned char)(hi * 16 + lo);
            else if (hi >= 0) b = (unsigned char)hi;
            else b = 0;
            emit(&e, &b, 1);
        }
        return e.n;
    }
    if (a & A_NORMAL) { /* llama.cpp's llama_decode_text */
        size_t off = 0;
        while (off < n) {
            size_t start = off;
            uint32_t c = uni_decode(s, n, &off);
            int b = uni_cpt_to_byte(c);
            if (b >= 0) {
                unsigned char ub = (unsigned char)b;
                emit(&e, &ub, 1);
            } else {
                char u[4], hx[4];
                size_t k = uni_encode(c, u);
                (void)start;
                emit(&e, "[UNK_BYTE_0x", 12);
                for (size_t j = 0; j < k; j++) {
                    snprintf(hx, sizeof hx, "%02x", (unsigned char)u[j]);
                    emit(&e, hx, 2);
                }
                emit(&e, s, n);
                emit(&e, "]", 1);
            }
        }
    }
    return e.n;
}

size_t tokenizer_max_piece(const tokenizer_t *t) { return t ? t->max_piece : 0; }

void detok_init(detok_t *d) {
    memset(d, 0, sizeof *d);
    d->first = 1;
}

size_t detok_push(const tokenizer_t *t, detok_t *d, int32_t id, char *out, size_t outsz) {
    char stackbuf[512];
    size_t plen = tokenizer_piece(t, id, 0, NULL, 0);
    size_t need = (size_t)d->npending + plen;
    char *buf = need <= sizeof stackbuf ? stackbuf : malloc(need);
    size_t w = 0;
    if (!buf) return 0;
    memcpy(buf, d->pending, (size_t)d->npending);
    tokenizer_piece(t, id, 0, buf + d->npending, plen);
    size_t start = 0;
    if (plen > 0 && d->first) {
        if (t->type == TOK_SPM && t->add_space_prefix && buf[d->npending] == ' ') {
            memmove(buf + d->npending, buf + d->npending + 1, plen - 1);
            need--;
        }
        d->first = 0;
    }
    d->npending = 0;
    while (start < need) {
        int r = uni_check((const unsigned char *)buf + start, need - start);
        if (r < 0) { /* incomplete: keep for the next token (at most 3 bytes) */
            d->npending = (int)(need - start);
            memcpy(d->pending, buf + start, need - start);
            break;
        }
        const char *src = r > 0 ? buf + start : "\xEF\xBF\xBD";
        size_t k = r > 0 ? (size_t)r : 3;
        if (w + k <= outsz) {
            memcpy(out + w, src, k);
            w += k;
        }
        start += r > 0 ? (size_t)r : 1;
    }
    if (buf != stackbuf) free(buf);
    return w;
}

size_t detok_flush(detok_t *d, char *out, size_t outsz) {
    size_t w = 0;
    if (d->npending > 0 && outsz >= 3) {
        memcpy(out, "\xEF\xBF\xBD", 3);
        w = 3;
    }
    d->npending = 0;
    return w;
}

/* ------------------------------------------------------------------ */
/* accessors */

int32_t tokenizer_bos(const tokenizer_t *t) { return t ? t->bos : -1; }
int32_t tokenizer_eos(const tokenizer_t *t) { return t ? t->eos : -1; }
int tokenizer_is_eog(const tokenizer_t *t, int32_t id) {
    return t && id >= 0 && (size_t)id < t->n && t->eog[id];
}
size_t tokenizer_n_vocab(const tokenizer_t *t) { return t ? t->n : 0; }
const char *tokenizer_model_name(const tokenizer_t *t) {
    return !t ? "" : t->type == TOK_SPM ? "llama" : "gpt2";
}
const char *tokenizer_pre_name(const tokenizer_t *t) { return t && t->pre_name ? t->pre_name : ""; }

void tokenizer_free(tokenizer_t *t) {
    if (!t) return;
    free(t->pre_name);
    free(t->blob);
    free(t->off);
    free(t->len);
    free(t->score);
    free(t->attr);
    free(t->eog);
    free(t->ht);
    free(t->mblob);
    free(t->m_off);
    free(t->m_len);
    free(t->m_split);
    free(t->mh);
    free(t->specials);
    for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
    free(t);
}

/* ------------------------------------------------------------------ */
/* pre-tokenizers: the regex lists of llama.cpp's llm_tokenizer_bpe */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
/* llama.cpp's "adapted" form: (?i:...) would also fold non-ASCII letters */
#define RE_LLAMA3                                                                                   \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|" \
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                  \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|" \
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

enum { PRE_DEFAULT, PRE_LLAMA3, PRE_DBRX, PRE_DSLLM, PRE_DSCODER, PRE_FALCON, PRE_STARCODER, PRE_GPT2, PRE_QWEN2 };

static const char *const pre_regexes[][MAX_RE] = {
    [PRE_DEFAULT] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"},
    [PRE_LLAMA3] = {RE_LLAMA3},
    [PRE_DBRX] = {RE_LLAMA3},
    /* deepseek-llm: the cased letters (L&) and the punctuation of its HF
     * pre-tokenizer, spelled as code points: several of them (U+1F7D,
     * U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A) are singletons that Unicode
     * normalisation silently replaces, which would corrupt the ranges. */
    [PRE_DSLLM] = {"[\r\n]",
                   "\\s?[A-Za-z"
                   "\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
                   "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}"
                   "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-"
                   "\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
                   "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-"
                   "\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
                   "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
                   "\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
                   "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}"
                   "\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
                   "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
                   "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
                   "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-"
                   "\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
                   "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}"
                   "-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-"
                   "\\x{1E943}"
                   "]+",
                   "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", RE_CJK, "\\p{N}+"},
    [PRE_DSCODER] = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}"},
    [PRE_FALCON] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"},
    [PRE_STARCODER] = {"\\p{N}", RE_GPT2},
    [PRE_GPT2] = {RE_GPT2},
    [PRE_QWEN2] = {RE_QWEN2},
};

static const struct {
    const char *name;
    int kind;
    int ignore_merges_add_bos; /* Llama 3 style: whole-word tokens win, BOS added */
} pre_names[] = {
    {"default", PRE_DEFAULT, 0},       {"llama3", PRE_LLAMA3, 1},      {"llama-v3", PRE_LLAMA3, 1},
    {"llama-bpe", PRE_LLAMA3, 1},      {"falcon3", PRE_LLAMA3, 1},     {"dbrx", PRE_DBRX, 0},
    {"smaug-bpe", PRE_DBRX, 0},        {"deepseek-llm", PRE_DSLLM, 0}, {"deepseek-coder", PRE_DSCODER, 0},
    {"falcon", PRE_FALCON, 0},         {"starcoder", PRE_STARCODER, 0}, {"refact", PRE_STARCODER, 0},
    {"command-r", PRE_STARCODER, 0},   {"smollm", PRE_STARCODER, 0},   {"codeshell", PRE_STARCODER, 0},
    {"exaone", PRE_STARCODER, 0},      {"minerva-7b", PRE_STARCODER, 0}, {"gpt-2", PRE_GPT2, 0},
    {"phi-2", PRE_GPT2, 0},            {"mpt", PRE_GPT2, 0},           {"olmo", PRE_GPT2, 0},
    {"jais", PRE_GPT2, 0},             {"qwen2", PRE_QWEN2, 0},        {"deepseek-r1-qwen", PRE_QWEN2, 0},
    {"stablelm2", PRE_QWEN2, 0},       {"megrez", PRE_QWEN2, 0},
};

/* Token texts llama.cpp treats as end-of-turn / end-of-generation (and
 * forces to control tokens). */
static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<EOT>", "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>" /* DeepSeek */, "<end_of_utterance>"};
static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                                        "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
                                        "<|end_of_text|>", "<end_of_utterance>"};

/* ------------------------------------------------------------------ */
/* building */

#define ABSENT (-2)

/* Everything a tokenizer is built from, borrowed from a GGUF file or from
 * HF-style files; tok_build() copies what it keeps. */
typedef struct {
    int type;
    const char *pre;  /* NULL: absent */
    size_t pre_len;
    size_t n;
    const gguf_str_t *tokens;
    const unsigned char *scores; /* n little-endian float32, or NULL */
    const unsigned char *types;  /* n little-endian int32, or NULL */
    const gguf_str_t *merges;
    size_t n_merges;
    int64_t bos, eos, unk, eot, eom; /* ABSENT when not given */
    int add_bos, add_eos, add_space_prefix; /* -1 when not given */
    const char *name; /* general.name, may be NULL */
    size_t name_len;
} tok_src_t;

static void src_init(tok_src_t *s) {
    memset(s, 0, sizeof *s);
    s->bos = s->eos = s->unk = s->eot = s->eom = ABSENT;
    s->add_bos = s->add_eos = s->add_space_prefix = -1;
}

static int ht_insert(tokenizer_t *t, int32_t id) {
    const char *s = t->blob + t->off[id];
    size_t n = t->len[id];
    size_t i = (size_t)hash_text(s, n) & t->ht_mask;
    for (;;) {
        int32_t o = t->ht[i];
        if (o < 0 || (t->len[o] == n && memcmp(t->blob + t->off[o], s, n) == 0)) {
            t->ht[i] = id; /* a later duplicate wins, as in llama.cpp */
            return 0;
        }
        i = (i + 1) & t->ht_mask;
    }
}

static int cmp_special(const void *pa, const void *pb, void *ctx) {
    const tokenizer_t *t = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (t->len[a] != t->len[b]) return t->len[a] > t->len[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int32_t find_cstr(const tokenizer_t *t, const char *s) { return tokenizer_find(t, s, strlen(s)); }

static int build_merges(tokenizer_t *t, const tok_src_t *src, char *err, size_t errsz) {
    size_t total = 0;
    for (size_t i = 0; i < src->n_merges; i++) total += src->merges[i].len;
    if (src->n_merges > INT32_MAX || total > UINT32_MAX) {
        seterr(err, errsz, "tokenizer.ggml.merges is too large");
        return -1;
    }
    t->mblob = malloc(total + 1);
    t->m_off = malloc((src->n_merges + 1) * sizeof *t->m_off);
    t->m_len = malloc((src->n_merges + 1) * sizeof *t->m_len);
    t->m_split = malloc((src->n_merges + 1) * sizeof *t->m_split);
    t->mh_mask = pow2_at_least(2 * src->n_merges + 1) - 1;
    t->mh = malloc((t->mh_mask + 1) * sizeof *t->mh);
    if (!t->mblob || !t->m_off || !t->m_len || !t->m_split || !t->mh) {
        seterr(err, errsz, "out of memory");
        return -1;
    }
    memset(t->mh, 0xFF, (t->mh_mask + 1) * sizeof *t->mh);
    size_t pos = 0;
    for (size_t i = 0; i < src->n_merges; i++) {
        const char *m = src->merges[i].p;
        size_t ml = src->merges[i].len;
        /* llama.cpp: word.find(' ', 1); a line without one yields an empty
         * pair that can never match, so it is skipped here. */
        const char *sp = ml > 1 ? memchr(m + 1, ' ', ml - 1) : NULL;
        int32_t mi = (int32_t)i;
        if (!sp) {
            t->m_off[i] = t->m_len[i] = t->m_split[i] = 0;
            continue;
        }
        size_t ll = (size_t)(sp - m), rl = ml - ll - 1;
        t->m_off[i] = (uint32_t)pos;
        t->m_len[i] = (uint32_t)(ll + rl);
        t->m_split[i] = (uint32_t)ll;
        memcpy(t->mblob + pos, m, ll);
        memcpy(t->mblob + pos + ll, sp + 1, rl);
        if (merge_rank(t, t->mblob + pos, ll + rl, ll) < 0) { /* the first rank of a pair wins */
            size_t h = (size_t)XXH3_64bits_withSeed(t->mblob + pos, ll + rl, ll) & t->mh_mask;
            while (t->mh[h] >= 0) h = (h + 1) & t->mh_mask;
            t->mh[h] = mi;
        }
        pos += ll + rl;
    }
    t->n_merges = src->n_merges;
    return 0;
}

static tokenizer_t *tok_build(const tok_src_t *src, char *err, size_t errsz) {
    tokenizer_t *t = calloc(1, sizeof *t);
    size_t n = src->n, total = 0;
    int kind = PRE_DEFAULT, llama3ish = 0;
    if (!t) {
        seterr(err, errsz, "out of memory");
        return NULL;
    }
    t->type = src->type;
    if (n == 0 || n > INT32_MAX) {
        seterr(err, errsz, "tokenizer.ggml.tokens has %zu entries", n);
        goto fail;
    }
    t->n = n;

    /* pre-tokenizer */
    if (t->type == TOK_BPE) {
        const char *pn = src->pre ? src->pre : "default";
        size_t pl = src->pre ? src->pre_len : strlen("default");
        size_t k;
        for (k = 0; k < sizeof pre_names / sizeof pre_names[0]; k++)
            if (strlen(pre_names[k].name) == pl && memcmp(pre_names[k].name, pn, pl) == 0) break;
        if (k == sizeof pre_names / sizeof pre_names[0]) {
            seterr(err, errsz, "unknown pre-tokenizer type '%.*s' (tokenizer.ggml.pre)", (int)(pl > 64 ? 64 : pl), pn);
            goto fail;
        }
        kind = pre_names[k].kind;
        llama3ish = pre_names[k].ignore_merges_add_bos;
    }
    t->pre_name = strndup(src->pre ? src->pre : (t->type == TOK_BPE ? "default" : ""), src->pre ? src->pre_len : 7);
    if (!t->pre_name) goto oom;

    /* texts; llama.cpp renames an empty token to "[EMPTY_<id>]" */
    for (size_t i = 0; i < n; i++) total += src->tokens[i].len ? src->tokens[i].len : 32;
    if (total > UINT32_MAX) {
        seterr(err, errsz, "tokenizer.ggml.tokens is too large");
        goto fail;
    }
    t->blob = malloc(total + 1);
    t->off = malloc(n * sizeof *t->off);
    t->len = malloc(n * sizeof *t->len);
    t->score = malloc(n * sizeof *t->score);
    t->attr = malloc(n);
    t->eog = calloc(n, 1);
    t->ht_mask = pow2_at_least(2 * n + 1) - 1;
    t->ht = malloc((t->ht_mask + 1) * sizeof *t->ht);
    if (!t->blob || !t->off || !t->len || !t->score || !t->attr || !t->eog || !t->ht) goto oom;
    memset(t->ht, 0xFF, (t->ht_mask + 1) * sizeof *t->ht);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        t->off[i] = (uint32_t)pos;
        if (src->tokens[i].len) {
            memcpy(t->blob + pos, src->tokens[i].p, src->tokens[i].len);
            pos += src->tokens[i].len;
        } else {
            pos += (size_t)snprintf(t->blob + pos, 32, "[EMPTY_%zu]", i);
        }
        t->len[i] = (uint32_t)(pos - t->off[i]);
        float sc = 0.0f;
        if (src->scores) memcpy(&sc, src->scores + 4 * i, 4);
        t->score[i] = sc;
        int32_t ty = TT_NORMAL;
        if (src->types) memcpy(&ty, src->types + 4 * i, 4);
        switch (ty) {
        case TT_NORMAL: t->attr[i] = A_NORMAL; break;
        case TT_UNKNOWN: t->attr[i] = A_UNKNOWN; break;
        case TT_CONTROL: t->attr[i] = A_CONTROL; break;
        case TT_USER: t->attr[i] = A_USER; break;
        case TT_UNUSED: t->attr[i] = A_UNUSED; break;
        case TT_BYTE: t->attr[i] = A_BYTE; break;
        default: t->attr[i] = 0; break; /* undefined: renders as nothing */
        }
        ht_insert(t, (int32_t)i);
    }

    /* special ids and flags: llama.cpp's defaults, then the file's keys */
    if (t->type == TOK_SPM) {
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = 1, t->add_bos = 1, t->add_eos = 0;
    } else {
        t->bos = 11, t->eos = 11, t->unk = -1;
        t->add_space_prefix = 0, t->add_bos = llama3ish, t->add_eos = 0;
        t->ignore_merges = llama3ish;
    }
    t->eot = t->eom = -1;
    if (src->bos >= 0 && (size_t)src->bos < n) t->bos = (int32_t)src->bos;
    if (src->eos >= 0 && (size_t)src->eos < n) t->eos = (int32_t)src->eos;
    if (src->unk >= 0 && (size_t)src->unk < n) t->unk = (int32_t)src->unk;
    if (src->eot >= 0 && (size_t)src->eot < n) t->eot = (int32_t)src->eot;
    if (src->eom >= 0 && (size_t)src->eom < n) t->eom = (int32_t)src->eom;
    if ((size_t)t->bos >= n) t->bos = -1;
    if ((size_t)t->eos >= n) t->eos = -1;
    if (t->unk >= 0 && (size_t)t->unk >= n) t->unk = -1;
    if (src->add_bos >= 0) t->add_bos = src->add_bos;
    if (src->add_eos >= 0) t->add_eos = src->add_eos;
    if (src->add_space_prefix >= 0) t->add_space_prefix = src->add_space_prefix;

    /* end of turn / generation by text, as llama.cpp does */
    if (t->eot < 0)
        for (size_t k = 0; k < sizeof eot_texts / sizeof eot_texts[0] && t->eot < 0; k++)
            t->eot = find_cstr(t, eot_texts[k]);
    if (t->eot >= 0 && !(t->attr[t->eot] & A_CONTROL)) t->attr[t->eot] = A_CONTROL;
    if (t->eom < 0) t->eom = find_cstr(t, "<|eom_id|>");
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        int32_t id = find_cstr(t, eog_texts[k]);
        if (id < 0) continue;
        t->eog[id] = 1;
        if (!(t->attr[id] & A_CONTROL)) t->attr[id] = A_CONTROL;
    }
    if (t->eos >= 0) t->eog[t->eos] = 1;
    if (t->eot >= 0) t->eog[t->eot] = 1;
    if (t->eom >= 0) t->eog[t->eom] = 1;

    /* special token cache, longest text first */
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        if (t->attr[i] & (A_CONTROL | A_USER | A_UNKNOWN)) ns++;
    t->specials = malloc((ns + 1) * sizeof *t->specials);
    if (!t->specials) goto oom;
    for (size_t i = 0; i < n; i++)
        if (t->attr[i] & (A_CONTROL | A_USER | A_UNKNOWN)) t->specials[t->n_specials++] = (int32_t)i;
    qsort_r(t->specials, t->n_specials, sizeof *t->specials, cmp_special, t);

    /* Phi-3: special tokens swallow the white space after them (llama.cpp
     * matches the model name) */
    if (src->name) {
        char lname[128];
        size_t ln = src->name_len < sizeof lname - 1 ? src->name_len : sizeof lname - 1;
        for (size_t i = 0; i < ln; i++) lname[i] = (char)tolower((unsigned char)src->name[i]);
        lname[ln] = 0;
        if (strstr(lname, "phi-3") || strstr(lname, "phi3")) {
            for (size_t k = 0; k < t->n_specials; k++) t->attr[t->specials[k]] |= A_RSTRIP;
            int32_t id = find_cstr(t, "</s>");
            if (id >= 0) t->attr[id] |= A_RSTRIP;
            const char *norstrip[] = {"<unk>", "<s>", "<|endoftext|>"};
            for (size_t k = 0; k < 3; k++)
                if ((id = find_cstr(t, norstrip[k])) >= 0) t->attr[id] &= (uint8_t)~A_RSTRIP;
        }
    }

    /* byte tables */
    for (int b = 0; b < 256; b++) {
        char hx[8];
        snprintf(hx, sizeof hx, "<0x%02X>", b);
        int32_t id = find_cstr(t, hx);
        if (id < 0) {
            char c = (char)b;
            id = tokenizer_find(t, &c, 1);
        }
        t->byte_tok[b] = id;
        t->byte_enc_len[b] = (uint8_t)uni_encode(uni_byte_to_cpt((uint8_t)b), t->byte_enc[b]);
    }

    if (t->type == TOK_BPE) {
        if (build_merges(t, src, err, errsz)) goto fail;
        for (int r = 0; r < MAX_RE && pre_regexes[kind][r]; r++) {
            int ec;
            PCRE2_SIZE eo;
            pcre2_code *re = pcre2_compile((PCRE2_SPTR)pre_regexes[kind][r], PCRE2_ZERO_TERMINATED,
                                           PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
            if (!re) {
                PCRE2_UCHAR msg[120];
                pcre2_get_error_message(ec, msg, sizeof msg);
                seterr(err, errsz, "pre-tokenizer regex %d: %s at offset %zu", r, (const char *)msg, (size_t)eo);
                goto fail;
            }
            pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if unavailable */
            t->re[t->n_re++] = re;
        }
    }

    for (size_t i = 0; i < n; i++) {
        size_t pl = tokenizer_piece(t, (int32_t)i, 1, NULL, 0);
        if (pl > t->max_piece) t->max_piece = pl;
    }
    return t;
oom:
    seterr(err, errsz, "out of memory");
fail:
    tokenizer_free(t);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* loaders */

tokenizer_t *tokenizer_load(const gguf_t *g, char *err, size_t errsz) {
    tok_src_t src;
    gguf_str_t model, s;
    const gguf_kv_t *kv;
    uint32_t u;
    int b;
    src_init(&src);
    if (!g) {
        seterr(err, errsz, "no model file");
        return NULL;
    }
    if (gguf_get_str(g, "tokenizer.ggml.model", &model)) {
        seterr(err, errsz, "tokenizer.ggml.model is missing (the file has no vocabulary)");
        return NULL;
    }
    if (model.len == 5 && memcmp(model.p, "llama", 5) == 0) src.type = TOK_SPM;
    else if (model.len == 4 && memcmp(model.p, "gpt2", 4) == 0) src.type = TOK_BPE;
    else {
        seterr(err, errsz, "tokenizer.ggml.model '%.*s' is not supported (only 'llama' and 'gpt2')",
               (int)(model.len > 64 ? 64 : model.len), model.p);
        return NULL;
    }
    if (!(kv = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING))) {
        seterr(err, errsz, "tokenizer.ggml.tokens is missing or not an array of strings");
        return NULL;
    }
    src.tokens = kv->arr_str;
    src.n = (size_t)kv->arr_n;
    if ((kv = gguf_find(g, "tokenizer.ggml.scores"))) {
        if (!(kv = gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32)) || kv->arr_n != src.n) {
            seterr(err, errsz, "tokenizer.ggml.scores is not %zu float32 values", src.n);
            return NULL;
        }
        src.scores = kv->arr_data;
    }
    if ((kv = gguf_find(g, "tokenizer.ggml.token_type"))) {
        if (!(kv = gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32)) || kv->arr_n != src.n) {
            seterr(err, errsz, "tokenizer.ggml.token_type is not %zu int32 values", src.n);
            return NULL;
        }
        src.types = kv->arr_data;
    }
    if (src.type == TOK_BPE) {
        if (!(kv = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING))) {
            seterr(err, errsz, "tokenizer.ggml.merges is missing or not an array of strings");
            return NULL;
        }
        src.merges = kv->arr_str;
        src.n_merges = (size_t)kv->arr_n;
    }
    if (gguf_get_str(g, "tokenizer.ggml.pre", &s) == 0) src.pre = s.p, src.pre_len = s.len;
    if (gguf_get_str(g, "general.name", &s) == 0) src.name = s.p, src.name_len = s.len;
    if (gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u) == 0) src.bos = u;
    if (gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u) == 0) src.eos = u;
    if (gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &u) == 0) src.unk = u;
    if (gguf_get_u32(g, "tokenizer.ggml.eot_token_id", &u) == 0) src.eot = u;
    if (gguf_get_u32(g, "tokenizer.ggml.eom_token_id", &u) == 0) src.eom = u;
    if (gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 0) src.add_bos = !!b;
    if (gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b) == 0) src.add_eos = !!b;
    if (gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b) == 0) src.add_space_prefix = !!b;
    return tok_build(&src, err, errsz);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errsz) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        seterr(err, errsz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, nc);
            if (!nb) {
                seterr(err, errsz, "out of memory");
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        seterr(err, errsz, "%s: read error", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

tokenizer_t *tokenizer_from_bpe_files(const char *encoder_json, const char *merges_txt, const char *pre,
                                      const char *const *specials, size_t n_specials, char *err,
                                      size_t errsz) {
    json_error_t jerr;
    json_t *enc = NULL;
    char *mtext = NULL;
    gguf_str_t *toks = NULL, *merges = NULL;
    int32_t *types = NULL;
    tokenizer_t *t = NULL;
    size_t mlen = 0, n, nm = 0;
    tok_src_t src;
    src_init(&src);

    if (!(enc = json_load_file(encoder_json, 0, &jerr)) || !json_is_object(enc)) {
        seterr(err, errsz, "%s: %s", encoder_json, enc ? "not a JSON object" : jerr.text);
        goto out;
    }
    n = json_object_size(enc);
    toks = calloc(n + n_specials + 1, sizeof *toks);
    types = malloc((n + n_specials + 1) * sizeof *types);
    if (!toks || !types) {
        seterr(err, errsz, "out of memory");
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(enc, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || (size_t)id >= n || toks[id].p) {
            seterr(err, errsz, "%s: token '%.40s' has a bad or duplicate id", encoder_json, key);
            goto out;
        }
        toks[id].p = key;
        toks[id].len = strlen(key);
        types[id] = TT_NORMAL;
    }
    for (size_t i = 0; i < n_specials; i++) {
        toks[n + i].p = specials[i];
        toks[n + i].len = strlen(specials[i]);
        types[n + i] = TT_CONTROL;
    }
    if (!(mtext = read_file(merges_txt, &mlen, err, errsz))) goto out;
    size_t lines = 1;
    for (size_t i = 0; i < mlen; i++) lines += mtext[i] == '\n';
    if (!(merges = malloc(lines * sizeof *merges))) {
        seterr(err, errsz, "out of memory");
        goto out;
    }
    for (size_t p = 0, line = 0; p < mlen; line++) {
        const char *nl = memchr(mtext + p, '\n', mlen - p);
        size_t e = nl ? (size_t)(nl - mtext) : mlen, l = e - p;
        if (l && mtext[p + l - 1] == '\r') l--;
        int skip = l == 0 || (line == 0 && l >= 8 && memcmp(mtext + p, "#version", 8) == 0);
        if (!skip) merges[nm++] = (gguf_str_t){mtext + p, l};
        p = e + 1;
    }
    src.type = TOK_BPE;
    src.pre = pre;
    src.pre_len = pre ? strlen(pre) : 0;
    src.n = n + n_specials;
    src.tokens = toks;
    src.types = (const unsigned char *)types;
    src.merges = merges;
    src.n_merges = nm;
    if (n_specials >= 1) src.bos = (int64_t)n;
    if (n_specials >= 2) src.eos = (int64_t)n + 1;
    t = tok_build(&src, err, errsz);
out:
    json_decref(enc);
    free(mtext);
    free(toks);
    free(types);
    free(merges);
    return t;
}
