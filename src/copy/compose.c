#include "copy/compose.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "copy/rules.h"
#include "copy/score.h"
#include "copy/text.h"
#include "core/arena.h"
#include "core/util.h"

#define MAX_VARIANTS 20
#define MAX_TAGS 32
#define MAX_PARTS (PB_FW_PARTS + 16)
#define SIM_MAX 0.45 /* retry a variant whose word bigrams overlap an earlier one more (the checker fails at 0.6) */
#define ATTEMPTS 8
#define NO_LIMIT 100000000L
#define EMAIL_SUBJECT_MAX 50 /* code points: what inboxes show of a subject line */
#define PREHEADER_MAX 90     /* the short text an inbox shows after the subject */
#define STANDFIRST_MAX 200   /* the lines under a blog title */

/* ---- hashing and randomness ------------------------------------------ */

static void h_str(XXH3_state_t *st, const char *s) {
    uint32_t n = s ? (uint32_t)strlen(s) : 0xFFFFFFFFu; /* NULL differs from "" */
    XXH3_64bits_update(st, &n, sizeof n);
    if (s) XXH3_64bits_update(st, s, n);
}

static void h_list(XXH3_state_t *st, const str_list_t *l) {
    uint32_t n = (uint32_t)l->n;
    XXH3_64bits_update(st, &n, sizeof n);
    for (size_t i = 0; i < l->n; i++) h_str(st, l->items[i]);
}

static void h_int(XXH3_state_t *st, long v) { XXH3_64bits_update(st, &v, sizeof v); }

uint64_t compose_brief_hash(const brief_t *b) {
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    h_str(&st, b->product_description);
    h_int(&st, b->platform);
    h_int(&st, b->tone);
    h_str(&st, b->language);
    h_int(&st, lround(b->creativity * 1000));
    h_int(&st, b->content_type);
    h_int(&st, b->use_case);
    h_str(&st, b->target_audience);
    h_list(&st, &b->key_points);
    h_list(&st, &b->features_to_highlight);
    h_str(&st, b->call_to_action);
    h_list(&st, &b->keywords);
    h_str(&st, b->instructions);
    h_list(&st, &b->restrictions);
    h_list(&st, &b->compliance_requirements);
    h_int(&st, b->max_length);
    h_int(&st, b->min_length);
    h_int(&st, b->max_variants);
    h_str(&st, b->brand_voice.tone);
    h_str(&st, b->brand_voice.voice_style);
    h_list(&st, &b->brand_voice.do_use);
    h_list(&st, &b->brand_voice.dont_use);
    h_list(&st, &b->brand_voice.preferred_phrases);
    h_int(&st, b->brand_voice.has_formality ? lround(b->brand_voice.formality_level * 1000) : -1);
    return XXH3_64bits_digest(&st);
}

static uint64_t mix(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- per-brief context ------------------------------------------------ */

/* A slot's usable phrases for one brief, found on first use. */
typedef struct cands {
    const pb_phrase_t **p;
    size_t n;
    int done;
} cands_t;

/* JSON text rendered once per brief; s == NULL until then. */
typedef struct shared_json {
    const char *s;
    size_t len;
} shared_json_t;

typedef struct ctx {
    const copy_data_t *d;
    const pb_lang_t *L;
    const brief_t *b;
    const pb_platform_t *P;
    ruleset_t rs;
    arena_t A;
    buf_t scratch;
    int group;                 /* the tone's group (pb_slot_t.items index) */
    int tone_list;             /* PB_TONE_LIST(tone): phrases of the tone alone */
    int use_list;              /* PB_USE_LIST(use_case) when the brief gives one, else -1 */
    int nvar;                  /* variants asked for: the pool every per-variant choice walks */
    double c;
    uint64_t seed;
    const char *product_up, *product_lc, *audience_lc, *keywords;
    int hashtags_ok, emoji_ok;
    const char *tags[MAX_TAGS];
    size_t ntags, ntags_brief;
    cands_t *cand;             /* [L->nslots] */
    struct walk_cache *wc;     /* [L->nslots]: the walks of a slot, the same for every variant */
    uint64_t *banned;          /* bit per phrase id of L: ruled out by a banned word (NULL: none) */
    uint64_t *liked;           /* bit per phrase id: holds a brand_voice.do_use word (NULL: none) */
    const char **do_use;       /* brand_voice.do_use, folded */
    unsigned char reg_block;   /* PB_F_FORMAL or PB_F_INFORMAL: the register not written */
    shared_json_t rules_json, tips_json; /* output every variant repeats (put_shared) */
} ctx_t;

typedef struct part {
    const char *s;
    int prio;
    int active;
    int is_kp;
} part_t;

typedef struct variant {
    const char *headline, *text, *cta, *framework;
    const char *tags[MAX_TAGS];
    size_t ntags;
    unsigned kp_mask;          /* key points present in the text */
    long words, chars, text_chars;
    int hook_q, hook_s, short_of_min;
    double read, eng, feats[ENG__COUNT];
    rule_violation_t viol[8];
    size_t nviol;
    uint64_t fp;
} variant_t;

static char *keep(ctx_t *x, const char *s, size_t n) {
    char *p = arena_strndup(&x->A, s, n);
    return p ? p : (char *)"";
}

/* Trims trailing punctuation that would double up in templates. */
static char *trimmed(ctx_t *x, const char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ',' || s[n - 1] == ';' || s[n - 1] == ':' || s[n - 1] == ' ')) n--;
    return keep(x, s, n);
}

/* Lower-cases the first letter mid-sentence only when that cannot hurt a
 * name: two words or more, the first capitalised and otherwise lower-case,
 * the second lower-case ("Zapatos deportivos" -> "zapatos deportivos";
 * "Acme Cloud" and "iPhone" stay). */
static char *mid_sentence(ctx_t *x, const char *s) {
    char *p = keep(x, s, strlen(s));
    if (x->L->keep_case) return p;
    const char *sp = strchr(p, ' ');
    if (!sp || !text_starts_upper(p) || text_starts_upper(sp + 1) || (!isalpha((unsigned char)sp[1]) && (unsigned char)sp[1] < 0x80))
        return p;
    size_t first = (size_t)(sp - p);
    uint32_t cp;
    size_t i = utf8_decode(p, first, &cp);
    for (; i < first; i++)
        if (isupper((unsigned char)p[i]) || isdigit((unsigned char)p[i]) ||
            ((unsigned char)p[i] == 0xC3 && i + 1 < first && (unsigned char)p[i + 1] >= 0x80 && (unsigned char)p[i + 1] <= 0x9E))
            return p;
    text_lower_first(p);
    return p;
}

static int is_stopword(const ctx_t *x, const char *w, size_t n) {
    char f[64];
    if (n >= sizeof f) return 0;
    text_fold(w, n, f);
    for (size_t i = 0; i < x->L->nstopwords; i++)
        if (strcmp(f, x->L->stopwords[i]) == 0) return 1;
    return 0;
}

/* "a, b y c" with the language's "and" ("e" before an i- sound in Spanish). */
static void join_list(ctx_t *x, const char *const *items, size_t n, buf_t *o) {
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i + 1 < n) buf_puts(o, ", ");
        else if (i > 0) {
            const char *andw = x->L->and_word;
            if (x->L->and_before_i) {
                char f[8];
                size_t k = strlen(items[i]) < 6 ? strlen(items[i]) : 6;
                f[text_fold(items[i], k, f)] = '\0';
                if ((f[0] == 'i' || (f[0] == 'h' && f[1] == 'i')) &&
                    !(f[0] == 'h' && f[1] == 'i' && strchr("aeou", f[2]) && f[2]) && !(f[0] == 'i' && f[1] && strchr("aeou", f[1])))
                    andw = x->L->and_before_i;
            }
            buf_putc(o, ' ');
            buf_puts(o, andw);
            buf_putc(o, ' ');
        }
        buf_puts(o, items[i]);
    }
}

/* isalnum() or a byte of a multi-byte letter, without the locale lookup. */
static int word_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* 1 when folded text `f` has a word that is `w` (folded, one word of 5+
 * letters) with another final vowel or ending of up to two letters:
 * "garantizada" for a banned "garantizado", "garantita" for "garantito".
 * Generation is stricter than the check, so an inflected form of a banned
 * word is never written by the engine itself. */
static int has_inflected(const char *f, const char *w) {
    size_t wl = strlen(w);
    if (wl < 5 || strchr(w, ' ')) return 0;
    size_t stem = wl - 1; /* drop the final letter ("garantizad") */
    for (const char *p = f; *p; p++) {
        if (p > f && word_byte((unsigned char)p[-1])) continue;
        if (strncmp(p, w, stem) != 0) continue;
        size_t e = stem;
        while (word_byte((unsigned char)p[e])) e++;
        if (e <= stem + 2) return 1;
    }
    return 0;
}

static int phrase_ok(const ctx_t *x, const pb_phrase_t *ph) {
    if ((ph->needs & PB_NEED_AUDIENCE) && !x->audience_lc) return 0;
    if ((ph->needs & PB_NEED_KEYWORDS) && !x->keywords) return 0;
    if ((ph->flags & PB_F_PRICE) && x->rs.no_price) return 0;
    if ((ph->flags & PB_F_EXCLAIM) && x->rs.no_exclamation) return 0;
    if ((ph->flags & PB_F_EMOJI) && !x->emoji_ok) return 0;
    if (x->banned && ((x->banned[ph->id >> 6] >> (ph->id & 63)) & 1u)) return 0;
    return 1;
}

/* 1 when banned word `w` (folded) rules out phrase `ph`. */
static int phrase_has_banned(const pb_phrase_t *ph, const char *w) {
    return text_has_word(ph->folded, strlen(ph->folded), w, 1, 0) || has_inflected(ph->folded, w);
}

/* Sets in `bits` the phrases of the language that hold word `w` (folded) or
 * an inflection of it. Either kind of match (text_has_word, has_inflected)
 * starts at a word of the phrase that begins with the word bytes `w` begins
 * with (less the last letter of a one-word `w`, for inflections), so only
 * the phrases of those words in the language's word list are tested. */
static void mark_word(const pb_lang_t *L, const char *w, uint64_t *bits) {
    size_t k = 0;
    while (w[k] && word_byte((unsigned char)w[k])) k++;
    if (k > 1 && !w[k]) k--; /* one word: its inflections differ in the last letter */
    if (k == 0) { /* starts with a non-word byte: no word to look up, test them all */
        for (int s = 0; s < L->nslots; s++)
            for (int g = 0; g < PB_LISTS; g++)
                for (unsigned i = 0; i < L->slots[s].n[g]; i++) {
                    const pb_phrase_t *ph = &L->slots[s].items[g][i];
                    if (phrase_has_banned(ph, w)) bits[ph->id >> 6] |= 1ull << (ph->id & 63);
                }
        return;
    }
    size_t lo, hi;
    pb_words_with_prefix(L, w, k, &lo, &hi);
    for (size_t j = lo; j < hi; j++)
        for (unsigned q = 0; q < L->words[j].n; q++) {
            unsigned id = L->postings[L->words[j].first + q];
            if ((bits[id >> 6] >> (id & 63)) & 1u) continue;
            if (phrase_has_banned(L->by_id[id], w)) bits[id >> 6] |= 1ull << (id & 63);
        }
}

static uint64_t *phrase_bits(ctx_t *x) {
    return arena_alloc(&x->A, ((size_t)x->L->nphrases / 64 + 1) * sizeof(uint64_t));
}

/* extra_metadata.brand_voice_do_use: which brand_voice.do_use words the
 * variants hold (any variant, inflections counted as banned words are) and
 * which the phrase bank had no place for: reported, never forced into a
 * sentence where they would not fit. */
static void put_do_use(ctx_t *x, const variant_t *vs, int nvar, buf_t *out) {
    size_t total = 1;
    for (int i = 0; i < nvar; i++) {
        const char *parts[3] = {vs[i].headline, vs[i].text, vs[i].cta};
        for (int k = 0; k < 3; k++) total += (parts[k] ? strlen(parts[k]) : 0) + 1;
    }
    char *f = arena_alloc(&x->A, total); /* every variant, folded, a line each part */
    size_t flen = 0;
    for (int i = 0; f && i < nvar; i++) {
        const char *parts[3] = {vs[i].headline, vs[i].text, vs[i].cta};
        for (int k = 0; k < 3; k++) {
            if (parts[k]) flen += text_fold(parts[k], strlen(parts[k]), f + flen);
            f[flen++] = '\n';
        }
    }
    if (f) f[flen] = '\0';
    const str_list_t *du = &x->b->brand_voice.do_use;
    for (int used = 1; used >= 0; used--) {
        buf_puts(out, used ? ",\"brand_voice_do_use\":{\"used\":[" : "],\"missing\":[");
        int first = 1;
        for (size_t i = 0; i < du->n; i++) {
            const char *w = x->do_use[i];
            int has = f && *w && (text_has_word(f, flen, w, 1, 0) || has_inflected(f, w));
            if (has != used) continue;
            if (!first) buf_putc(out, ',');
            first = 0;
            buf_json_str(out, du->items[i]);
        }
    }
    buf_puts(out, "]}");
}

/* Marks in x->banned the phrases a banned word rules out. -1: no memory. */
static int mark_banned(ctx_t *x) {
    if (!(x->banned = phrase_bits(x))) return -1;
    for (size_t r = 0; r < x->rs.n; r++)
        if (x->rs.rules[r].kind == RULE_BANNED_WORD) mark_word(x->L, x->rs.rules[r].folded, x->banned);
    return 0;
}

/* Marks in x->liked the phrases that hold a word of brand_voice.do_use, and
 * keeps the folded words for the report. -1: no memory. */
static int mark_liked(ctx_t *x) {
    const str_list_t *du = &x->b->brand_voice.do_use;
    if (!(x->liked = phrase_bits(x))) return -1;
    x->do_use = arena_alloc(&x->A, du->n * sizeof *x->do_use);
    if (!x->do_use) return -1;
    for (size_t i = 0; i < du->n; i++) {
        size_t n = strlen(du->items[i]);
        char *f = arena_alloc(&x->A, n + 1);
        if (!f) return -1;
        f[text_fold(du->items[i], n, f)] = '\0';
        x->do_use[i] = f;
        if (*f) mark_word(x->L, f, x->liked);
    }
    return 0;
}

/* The lists a brief draws from, in order: its use case's (when given), its
 * tone's own, its tone group's, "any". */
static int brief_lists(const ctx_t *x, int out[4]) {
    int n = 0;
    if (x->use_list >= 0) out[n++] = x->use_list;
    out[n++] = x->tone_list;
    out[n++] = x->group;
    out[n++] = 0;
    return n;
}

/* The usable phrases of a slot for the brief, in brief_lists() order.
 * Filtered once per brief; *out stays valid until the brief is done. */
static size_t candidates(ctx_t *x, int slot, const pb_phrase_t *const **out) {
    cands_t *c = &x->cand[slot];
    if (!c->done) {
        const pb_slot_t *s = &x->L->slots[slot];
        c->done = 1;
        int lists[4], nl = brief_lists(x, lists);
        size_t total = 1;
        for (int i = 0; i < nl; i++) total += s->n[lists[i]];
        c->p = arena_alloc(&x->A, total * sizeof *c->p);
        /* phrases in the other register (tú / usted) only when nothing else is left */
        for (int reg = 1; c->p && reg >= 0 && !c->n; reg--)
            for (int pass = 0; pass < nl; pass++) {
                int g = lists[pass];
                for (unsigned i = 0; i < s->n[g]; i++)
                    if ((!reg || !(s->items[g][i].flags & x->reg_block)) && phrase_ok(x, &s->items[g][i]))
                        c->p[c->n++] = &s->items[g][i];
            }
    }
    *out = c->p;
    return c->n;
}

/* How much of a candidate list creativity opens up: 35% at 0, all at 1. */
static size_t pool_size(const ctx_t *x, size_t n) {
    size_t k = (size_t)ceil((double)n * (0.35 + 0.65 * x->c));
    return k < 1 ? 1 : k > n ? n : k;
}

/* The pool a per-variant choice walks: what creativity opens up, but never
 * fewer than the variants asked for (when the list has that many), so the
 * variants of one brief can all differ. */
static size_t walk_pool(const ctx_t *x, size_t n) {
    size_t k = pool_size(x, n), v = (size_t)x->nvar;
    if (k < v) k = v < n ? v : n;
    return k;
}

static size_t gcd_sz(size_t a, size_t b) {
    while (b) { size_t t = a % b; a = b; b = t; }
    return a;
}

/* Index of choice k (k = 0, 1, ...) in a list of n: a walk from a seeded
 * start with a seeded stride coprime to n, so k = 0..n-1 are all different
 * (the variants of one brief never repeat a phrase while the list lasts),
 * and different briefs walk in different orders. walk_init() draws the
 * start and stride once for the many steps of one walk. */
typedef struct walker {
    size_t n, start, stride;
} walker_t;

static walker_t walk_init(uint64_t h, size_t n) {
    walker_t w = {n, 0, 0};
    if (n <= 1) return w;
    w.start = (size_t)(mix(&h) % n);
    w.stride = 1 + (size_t)(mix(&h) % (n - 1));
    while (gcd_sz(w.stride, n) != 1) w.stride = w.stride + 1 < n ? w.stride + 1 : 1;
    return w;
}

static size_t walk_at(const walker_t *w, unsigned k) {
    return w->n <= 1 ? 0 : (w->start + (size_t)(k % w->n) * w->stride) % w->n;
}

/* The three walks of a slot for one attempt (the shared pool, the use
 * case's list, the tone's list): their seeds depend on the brief, the slot
 * and the attempt only, so every variant of the brief walks the same ones
 * and they are drawn once. */
typedef struct walk_cache {
    int attempt1;              /* attempt + 1; 0: not drawn yet */
    walker_t w[3];             /* WALK_POOL, WALK_USE, WALK_TONE */
} walk_cache_t;
enum { WALK_POOL = 0, WALK_USE, WALK_TONE };

static size_t walk(uint64_t h, size_t n, unsigned k) {
    walker_t w = walk_init(h, n);
    return walk_at(&w, k);
}

/* Per-brief, per-purpose seed ("salt" names the slot or use). */
static uint64_t salted(const ctx_t *x, uint64_t salt, int attempt) {
    uint64_t h = x->seed ^ (salt * 0xD6E8FEB86659FD93ull) ^ ((uint64_t)attempt * 0xA0761D6478BD642Full);
    return mix(&h);
}

/* Phrase i of a slot for the brief's tone: its own first, then its group's,
 * then "any" (i < slot_count()). */
static const pb_phrase_t *slot_item(const ctx_t *x, const pb_slot_t *s, size_t i) {
    if (i < s->n[x->tone_list]) return &s->items[x->tone_list][i];
    i -= s->n[x->tone_list];
    return i < s->n[x->group] ? &s->items[x->group][i] : &s->items[0][i - s->n[x->group]];
}

static size_t slot_count(const ctx_t *x, const pb_slot_t *s) {
    return (size_t)s->n[x->tone_list] + s->n[x->group] + s->n[0];
}

/* brand_voice.do_use: the phrases of the slot that hold one of its words
 * and that the brief's register and rules allow, in list order (the tone's
 * own first); variant vi takes the vi-th (a retry, or one that does not
 * fit, the one a lap of the variants further on), so each is written once
 * per brief and the variants still differ. NULL when none is left. */
static const pb_phrase_t *pick_liked(ctx_t *x, const pb_slot_t *s, int vi, int attempt,
                                     int (*reject)(ctx_t *, const pb_phrase_t *, void *), void *arg) {
    size_t want = (size_t)vi + (size_t)attempt * (size_t)x->nvar, seen = 0, n = slot_count(x, s);
    for (size_t i = 0; i < n; i++) {
        const pb_phrase_t *ph = slot_item(x, s, i);
        if (!((x->liked[ph->id >> 6] >> (ph->id & 63)) & 1u)) continue;
        if ((ph->flags & x->reg_block) || !phrase_ok(x, ph)) continue;
        size_t at = seen++;
        if (at < want || (at - want) % (size_t)x->nvar) continue;
        if (reject && reject(x, ph, arg)) continue;
        return ph;
    }
    return NULL;
}

#define PICK_TRIES 48

/* Variant `vi`'s phrase of a slot: different for each variant of a brief.
 * The slot's lists are walked as they are (not filtered first: a bank may
 * hold thousands of phrases, and a brief uses a handful), a phrase the brief
 * rules out is skipped for the next of the walk; phrases in the other
 * register (tu / usted) only when the walk finds nothing else, and the
 * filtered list when a restriction rules out nearly everything. `reject`,
 * when set, is a further test (a headline that does not fit). */
static const pb_phrase_t *pick_if(ctx_t *x, int slot, int vi, int attempt,
                                  int (*reject)(ctx_t *, const pb_phrase_t *, void *), void *arg) {
    const pb_slot_t *s = &x->L->slots[slot];
    size_t n = slot_count(x, s);
    if (!n) return NULL;
    if (x->liked) {
        const pb_phrase_t *ph = pick_liked(x, s, vi, attempt, reject, arg);
        if (ph) return ph;
    }
    /* the use case's phrases (when the brief names one), then the tone's
     * own: each walked alone, one lap per variant, so every variant speaks
     * to the use case and in the tone while the lists last (the brief asked
     * for them; creativity widens the rest of the walk) */
    walk_cache_t *wc = &x->wc[slot];
    size_t pool = walk_pool(x, n);
    uint64_t h = salted(x, 1000u + (unsigned)slot, attempt);
    if (wc->attempt1 != attempt + 1) {
        wc->attempt1 = attempt + 1;
        wc->w[WALK_POOL] = walk_init(h, pool);
        wc->w[WALK_USE] = walk_init(salted(x, 4000u + (unsigned)slot, attempt), x->use_list >= 0 ? s->n[x->use_list] : 0);
        wc->w[WALK_TONE] = walk_init(salted(x, 3000u + (unsigned)slot, attempt), s->n[x->tone_list]);
    }
    const int own[2] = {x->use_list, x->tone_list};
    for (int o = 0; o < 2; o++) {
        size_t nt = own[o] >= 0 ? s->n[own[o]] : 0;
        if (!nt) continue;
        /* variant vi takes the vi-th phrase of the walk that the brief's
         * register and rules allow (so phrases of the other register never
         * cost a variant its own), or when that one does not fit, the one a
         * lap of the variants further on: the variants never meet, and the
         * costly fit test runs on a few phrases only */
        const walker_t wt = wc->w[o ? WALK_TONE : WALK_USE];
        size_t seen = 0, nv = (size_t)x->nvar;
        for (size_t k = 0; k < nt; k++) {
            const pb_phrase_t *ph = &s->items[own[o]][walk_at(&wt, (unsigned)k)];
            if ((ph->flags & x->reg_block) || !phrase_ok(x, ph)) continue;
            size_t at = seen++;
            if (at < (size_t)vi || (at - (size_t)vi) % nv) continue;
            if (reject && reject(x, ph, arg)) continue;
            return ph;
        }
    }
    const walker_t w0 = wc->w[WALK_POOL];
    /* the strict pass skips the other register; the second pass tries only
     * the phrases it skipped so (the others would fail the same tests again) */
    size_t skipped[PICK_TRIES];
    unsigned nskipped = 0;
    for (unsigned j = 0; j < PICK_TRIES; j++) {
        /* try j: the same walk, one lap of the variants further on */
        size_t i;
        if (j && j * (unsigned)x->nvar >= pool) {
            walker_t wj = walk_init(h ^ j, pool);
            i = walk_at(&wj, (unsigned)vi);
        } else i = walk_at(&w0, (unsigned)vi + j * (unsigned)x->nvar);
        const pb_phrase_t *ph = slot_item(x, s, i);
        if (ph->flags & x->reg_block) { skipped[nskipped++] = i; continue; }
        if (!phrase_ok(x, ph) || (reject && reject(x, ph, arg))) continue;
        return ph;
    }
    for (unsigned j = 0; j < nskipped; j++) {
        const pb_phrase_t *ph = slot_item(x, s, skipped[j]);
        if (!phrase_ok(x, ph) || (reject && reject(x, ph, arg))) continue;
        return ph;
    }
    const pb_phrase_t *const *c;
    size_t m = candidates(x, slot, &c);
    walker_t wf = walk_init(h, m);
    for (size_t k = 0; k < m; k++) {
        const pb_phrase_t *ph = c[walk_at(&wf, (unsigned)vi + (unsigned)k)];
        if (!reject || !reject(x, ph, arg)) return ph;
    }
    return NULL;
}

static const pb_phrase_t *pick(ctx_t *x, int slot, int vi, int attempt) {
    return pick_if(x, slot, vi, attempt, NULL, NULL);
}

/* Expands a template into x->scratch (appending): placeholders filled,
 * sentence starts capitalised, no doubled full stop after a value. */
static int inverted_mark(const char *p) { /* ¿ or ¡: keeps a sentence start */
    return (unsigned char)p[0] == 0xC2 && ((unsigned char)p[1] == 0xBF || (unsigned char)p[1] == 0xA1);
}

static void fill(ctx_t *x, const char *t, buf_t *o) {
    int at_start = 1;
    const char *p = t;
    while (*p) {
        if (*p == '{') {
            const char *val = NULL;
            size_t skip = 0;
            if (!strncmp(p, "{product}", 9)) val = x->product_up, skip = 9;
            else if (!strncmp(p, "{product_lc}", 12)) val = x->product_lc, skip = 12;
            else if (!strncmp(p, "{audience_lc}", 13)) val = x->audience_lc, skip = 13;
            else if (!strncmp(p, "{keywords}", 10)) val = x->keywords, skip = 10;
            if (val) {
                size_t at = o->len, vl = strlen(val);
                buf_append(o, val, vl);
                if (at_start && o->p) text_upper_first(o->p + at);
                at_start = 0;
                p += skip;
                if (*p == '.' && text_ends_sentence(val, vl)) p++;
                continue;
            }
        }
        if (inverted_mark(p)) {
            buf_append(o, p, 2);
            p += 2;
            continue;
        }
        /* a run of plain bytes (the first may be a '{' that is no placeholder),
         * appended at once */
        const char *q = p;
        do {
            unsigned char c = (unsigned char)*q++;
            if (c == '.' || c == '!' || c == '?') at_start = 1;
            else if (c != ' ' && c != '\n') at_start = 0;
        } while (*q && *q != '{' && !inverted_mark(q));
        buf_append(o, p, (size_t)(q - p));
        p = q;
    }
}

static const char *render_phrase(ctx_t *x, const pb_phrase_t *ph) {
    buf_reset(&x->scratch);
    fill(x, ph->text, &x->scratch);
    return keep(x, x->scratch.p ? x->scratch.p : "", x->scratch.len);
}

/* ---- hashtags ---------------------------------------------------------- */

/* "#CamelCase" of the content words of s (at most `maxw`), or NULL. */
static const char *make_tag(ctx_t *x, const char *s, int maxw) {
    buf_t *o = &x->scratch;
    buf_reset(o);
    buf_putc(o, '#');
    int words = 0, content = 0;
    size_t i = 0, n = strlen(s);
    while (i < n && words < maxw) {
        while (i < n && !((unsigned char)s[i] >= 0x80 || isalnum((unsigned char)s[i]))) i++;
        size_t st = i;
        while (i < n && ((unsigned char)s[i] >= 0x80 || isalnum((unsigned char)s[i]))) i++;
        if (i == st) break;
        uint32_t cp;
        utf8_decode(s + st, i - st, &cp);
        if (cp >= 0x2000) continue; /* symbols, emoji */
        if (is_stopword(x, s + st, i - st)) continue;
        size_t at = o->len;
        buf_append(o, s + st, i - st);
        text_upper_first(o->p + at);
        words++;
        content++;
    }
    if (!content || o->len > 40 || o->len < 3) return NULL;
    return keep(x, o->p, o->len);
}

static void add_tag(ctx_t *x, const char *source, const char *tag) {
    if (!tag || x->ntags >= MAX_TAGS) return;
    if (source && !rules_text_allowed(&x->rs, source, strlen(source))) return;
    if (!rules_text_allowed(&x->rs, tag, strlen(tag))) return;
    char a[64], b[64];
    text_fold(tag, strlen(tag), a);
    for (size_t i = 0; i < x->ntags; i++) {
        text_fold(x->tags[i], strlen(x->tags[i]), b);
        if (strcmp(a, b) == 0) return;
    }
    x->tags[x->ntags++] = tag;
}

static void build_tags(ctx_t *x) {
    const brief_t *b = x->b;
    for (size_t i = 0; i < b->keywords.n; i++) add_tag(x, b->keywords.items[i], make_tag(x, b->keywords.items[i], 3));
    add_tag(x, b->product_description, make_tag(x, b->product_description, 2));
    add_tag(x, b->product_description, make_tag(x, b->product_description, 1));
    for (size_t i = 0; i < b->key_points.n; i++) add_tag(x, b->key_points.items[i], make_tag(x, b->key_points.items[i], 2));
    for (size_t i = 0; i < b->features_to_highlight.n; i++)
        add_tag(x, b->features_to_highlight.items[i], make_tag(x, b->features_to_highlight.items[i], 2));
    x->ntags_brief = x->ntags;
    const pb_phrase_t *const *c;
    size_t n = candidates(x, PB_SLOT_HASHTAG, &c);
    for (size_t i = 0; i < n; i++) add_tag(x, NULL, c[i]->text);
}

/* ---- one variant -------------------------------------------------------- */

/* How the parts of the primary text are laid out (the brief's content_type
 * chooses): as the platform writes paragraphs; as one short run of
 * sentences (an e-mail preheader, a standfirst); as a lead paragraph and the
 * key points as a list (a press release); as labelled lines (the beats of a
 * video script). */
enum { LAYOUT_POST = 0, LAYOUT_RUN, LAYOUT_LEAD_LIST, LAYOUT_BEATS };

typedef struct vstate {
    part_t parts[MAX_PARTS];
    int nparts;
    int layout;                /* LAYOUT_* */
    const char *kp_intro, *bullet;
    const char *kp_label;      /* LAYOUT_BEATS: the label of the key points' line */
    unsigned kp_mask;
} vstate_t;

static int kp_inline_list(const ctx_t *x, unsigned mask) {
    for (size_t i = 0; i < x->b->key_points.n; i++) {
        const char *k = x->b->key_points.items[i];
        if (!(mask & (1u << i))) continue;
        if (text_starts_upper(k) || text_ends_sentence(k, strlen(k))) return 0;
    }
    return 1;
}

static void render_kp(ctx_t *x, const vstate_t *vs, int lines, buf_t *o) {
    const brief_t *b = x->b;
    const char *items[16];
    size_t n = 0;
    for (size_t i = 0; i < b->key_points.n && i < 16; i++)
        if (vs->kp_mask & (1u << i)) items[n++] = b->key_points.items[i];
    if (!n) return;
    if (vs->layout == LAYOUT_BEATS && vs->kp_label) { /* "Demo: a, b and c." on one line */
        buf_puts(o, vs->kp_label);
        buf_putc(o, ' ');
        join_list(x, items, n, o);
        if (!text_ends_sentence(items[n - 1], strlen(items[n - 1]))) buf_putc(o, '.');
    } else if (lines) {
        if (vs->kp_intro) buf_puts(o, vs->kp_intro);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 || vs->kp_intro) buf_putc(o, '\n');
            buf_puts(o, vs->bullet);
            buf_putc(o, ' ');
            buf_puts(o, items[i]);
        }
    } else if (vs->kp_intro && kp_inline_list(x, vs->kp_mask)) {
        buf_puts(o, vs->kp_intro);
        buf_putc(o, ' ');
        join_list(x, items, n, o);
        buf_putc(o, '.');
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i) buf_putc(o, ' ');
            buf_puts(o, items[i]);
            if (!text_ends_sentence(items[i], strlen(items[i]))) buf_putc(o, '.');
        }
    }
}

static void render_text(ctx_t *x, const vstate_t *vs, buf_t *o) {
    buf_reset(o);
    if (vs->layout == LAYOUT_LEAD_LIST) { /* one lead paragraph, then the key points as a list */
        for (int i = 0; i < vs->nparts; i++) {
            const part_t *p = &vs->parts[i];
            if (!p->active || p->is_kp) continue;
            if (o->len) buf_putc(o, ' ');
            buf_puts(o, p->s);
        }
        if (vs->kp_mask) {
            if (o->len) buf_puts(o, "\n\n");
            render_kp(x, vs, 1, o);
        }
        return;
    }
    const char *sep = vs->layout == LAYOUT_BEATS ? "\n" : vs->layout == LAYOUT_RUN ? " " : x->P->multiline ? "\n\n" : " ";
    for (int i = 0; i < vs->nparts; i++) {
        const part_t *p = &vs->parts[i];
        if (!p->active) continue;
        if (p->is_kp && !vs->kp_mask) continue;
        if (o->len) buf_puts(o, sep);
        if (p->is_kp) render_kp(x, vs, x->P->multiline, o);
        else buf_puts(o, p->s);
    }
}

/* The slot named `name` in L, or -1. */
static int slot_named(const pb_lang_t *L, const char *name) {
    for (int i = 0; i < L->nslots; i++)
        if (L->slots[i].name && strcmp(L->slots[i].name, name) == 0) return i;
    return -1;
}

/* "<label> <text>" kept in the arena. */
static const char *labelled(ctx_t *x, const char *label, const char *s) {
    buf_reset(&x->scratch);
    buf_puts(&x->scratch, label);
    buf_putc(&x->scratch, ' ');
    buf_puts(&x->scratch, s);
    return keep(x, x->scratch.p ? x->scratch.p : "", x->scratch.len);
}

/* A video script: the beats of the language's "structures.video_beats", one
 * line each: hook (an attention phrase), problem, demonstration (the key
 * points, or a solution phrase without them) and the call to action. The
 * parts replace the framework's; fitting drops the problem first, the key
 * points and the call to action last. */
static void script_parts(ctx_t *x, vstate_t *vs, const variant_t *v, int vi, int attempt) {
    const pb_lang_t *L = x->L;
    static const char *const slot_of[3] = {"attention", "problem", "solution"};
    static const int prio_of[3] = {6, 4, 5};
    vs->nparts = 0;
    vs->layout = LAYOUT_BEATS;
    vs->kp_label = L->beat_label[PB_BEAT_DEMO];
    for (int beat = PB_BEAT_HOOK; beat <= PB_BEAT_CTA; beat++) {
        part_t *p = &vs->parts[vs->nparts];
        memset(p, 0, sizeof *p);
        p->active = 1;
        if (beat == PB_BEAT_DEMO && x->b->key_points.n) {
            p->is_kp = 1;
            p->prio = 10;
        } else if (beat == PB_BEAT_CTA) {
            if (!v->cta[0]) continue;
            p->s = labelled(x, L->beat_label[beat], v->cta);
            p->prio = 8;
        } else {
            int slot = slot_named(L, slot_of[beat == PB_BEAT_DEMO ? 2 : beat]);
            const pb_phrase_t *ph = slot >= 0 ? pick(x, slot, vi, attempt) : NULL;
            if (!ph) continue;
            p->s = labelled(x, L->beat_label[beat], render_phrase(x, ph));
            p->prio = prio_of[beat == PB_BEAT_DEMO ? 2 : beat];
        }
        vs->nparts++;
    }
}

static long cps_of(const char *s) { return s ? (long)utf8_count(s, strlen(s)) : 0; }
static long words_of(const char *s) { return s ? (long)text_count_words(s, strlen(s)) : 0; }

/* Cuts text to at most `max_cps` code points and `max_words` words at a word
 * boundary, ending in "…". The last resort of fitting. */
static void hard_cut(buf_t *o, long max_cps, long max_words) {
    if (!o->p) return;
    size_t cut = o->len;
    if (cps_of(o->p) > max_cps) cut = utf8_prefix_bytes(o->p, o->len, max_cps > 1 ? (size_t)max_cps - 1 : 0);
    long w = 0;
    int in = 0;
    for (size_t i = 0; i < cut; i++) {
        int sp = o->p[i] == ' ' || o->p[i] == '\n';
        if (!sp && !in && ++w > max_words) { cut = i; break; }
        in = !sp;
    }
    if (cut < o->len) {
        size_t sp = cut;
        while (sp > 0 && o->p[sp] != ' ' && o->p[sp] != '\n') sp--;
        if (sp > 0) cut = sp;
        for (;;) { /* trailing separators, and the no-break space French puts before ':' */
            if (cut > 0 && strchr(" \n,;:-", o->p[cut - 1])) cut--;
            else if (cut > 1 && (unsigned char)o->p[cut - 2] == 0xC2 && (unsigned char)o->p[cut - 1] == 0xA0) cut -= 2;
            else break;
        }
        o->len = cut;
        o->p[cut] = '\0';
        if (!text_ends_sentence(o->p, o->len)) buf_puts(o, "\xE2\x80\xA6");
    }
}

typedef struct head_fit {
    long max;
    int product_ok;   /* the product is short enough to stand in a headline */
    const char *text; /* the rendered headline that passed */
} head_fit_t;

static const char *render_phrase(ctx_t *x, const pb_phrase_t *ph);

static int head_reject(ctx_t *x, const pb_phrase_t *ph, void *arg) {
    head_fit_t *f = arg;
    if (!f->product_ok && (ph->flags & PB_F_PRODUCT)) return 1;
    const char *h = render_phrase(x, ph);
    if (f->max && cps_of(h) > f->max) return 1;
    f->text = h;
    return 0;
}

/* Headline that fits `max` code points (0: no limit): a slot phrase when one
 * fits, a short one otherwise, the product cut at a word as a last resort.
 * A long product makes a poor headline and the same one in every variant,
 * so headlines naming it are then left for the last. */
static const char *choose_headline(ctx_t *x, int vi, int attempt, long max) {
    const int slots[2] = {PB_SLOT_HEADLINE, PB_SLOT_HEADLINE_SHORT};
    for (int po = cps_of(x->product_up) <= 60; po <= 1; po++)
        for (int s = 0; s < 2; s++) {
            head_fit_t f = {max, po, NULL};
            if (pick_if(x, slots[s], vi, attempt, head_reject, &f) && f.text) return f.text;
        }
    buf_reset(&x->scratch);
    buf_puts(&x->scratch, x->product_up);
    hard_cut(&x->scratch, max, NO_LIMIT);
    return keep(x, x->scratch.p, x->scratch.len);
}

static void compose_variant(ctx_t *x, int vi, int attempt, variant_t *v, buf_t *text) {
    const brief_t *b = x->b;
    const pb_lang_t *L = x->L;
    uint64_t rng = x->seed ^ (0xA24BAED4963EE407ull * (uint64_t)(vi + 1)) ^ (0x9FB21C651E98DF25ull * (uint64_t)attempt);
    memset(v, 0, sizeof *v);
    vstate_t vs;
    memset(&vs, 0, sizeof vs);

    /* every variant its own framework (while there are enough); a retry
     * keeps it and changes the phrases, then moves on to another one */
    const pb_framework_t *fw = &L->fw[walk(salted(x, 2, 0), (size_t)L->nfw, (unsigned)(vi + (attempt / 3) * x->nvar))];
    v->framework = fw->name;

    for (int i = 0; i < fw->nparts && vs.nparts < MAX_PARTS; i++) {
        int part = fw->parts[i];
        part_t *p = &vs.parts[vs.nparts];
        p->active = 1;
        if (part >= 0) {
            const pb_phrase_t *ph = pick(x, part, vi, attempt);
            if (!ph) continue;
            p->s = render_phrase(x, ph);
            p->prio = (ph->flags & PB_F_PRODUCT) ? 7 : vs.nparts == 0 ? 6 : 4;
        } else if (part == PB_PART_KEYPOINTS) {
            if (!b->key_points.n) continue;
            p->is_kp = 1;
            p->prio = 10;
        } else if (part == PB_PART_AUDIENCE) {
            const pb_phrase_t *ph = x->audience_lc ? pick(x, PB_SLOT_AUDIENCE, vi, attempt) : NULL;
            if (!ph) continue;
            p->s = render_phrase(x, ph);
            p->prio = 3;
        } else if (part == PB_PART_FEATURES) {
            if (!b->features_to_highlight.n) continue;
            const pb_phrase_t *ph = pick(x, PB_SLOT_FEATURE_INTRO, vi, attempt);
            buf_reset(&x->scratch);
            if (ph) { fill(x, ph->text, &x->scratch); buf_putc(&x->scratch, ' '); }
            join_list(x, b->features_to_highlight.items, b->features_to_highlight.n, &x->scratch);
            if (!text_ends_sentence(x->scratch.p, x->scratch.len)) buf_putc(&x->scratch, '.');
            p->s = keep(x, x->scratch.p, x->scratch.len);
            p->prio = 3;
        } else if (part == PB_PART_BRAND) {
            if (!b->brand_voice.preferred_phrases.n) continue;
            buf_reset(&x->scratch);
            for (size_t k = 0; k < b->brand_voice.preferred_phrases.n; k++) {
                const char *s = b->brand_voice.preferred_phrases.items[k];
                if (k) buf_putc(&x->scratch, ' ');
                size_t at = x->scratch.len;
                buf_puts(&x->scratch, s);
                if (x->scratch.p) text_upper_first(x->scratch.p + at); /* written as a sentence of its own */
                if (!text_ends_sentence(s, strlen(s))) buf_putc(&x->scratch, '.');
            }
            p->s = keep(x, x->scratch.p, x->scratch.len);
            p->prio = 3;
        } else if (part == PB_PART_KEYWORDS) {
            if (!x->keywords || x->hashtags_ok) continue; /* keywords go to hashtags where there are some */
            const pb_phrase_t *ph = pick(x, PB_SLOT_KEYWORDS, vi, attempt);
            if (!ph) continue;
            p->s = render_phrase(x, ph);
            p->prio = 2;
        } else continue;
        vs.nparts++;
    }
    /* an emoji closes the opening on platforms that use them */
    if (x->emoji_ok && vs.nparts && !vs.parts[0].is_kp && mix(&rng) % 10 < (uint64_t)(3 + 6 * x->c)) {
        const pb_phrase_t *e = pick(x, PB_SLOT_EMOJI, vi, attempt);
        if (e) {
            buf_reset(&x->scratch);
            buf_printf(&x->scratch, "%s %s", vs.parts[0].s, e->text);
            vs.parts[0].s = keep(x, x->scratch.p, x->scratch.len);
        }
    }
    const pb_phrase_t *intro = pick(x, PB_SLOT_KP_INTRO, vi, attempt);
    vs.kp_intro = intro ? render_phrase(x, intro) : NULL;
    if (x->emoji_ok && L->nbullets_emoji && mix(&rng) % 3 == 0) vs.bullet = L->bullets_emoji[mix(&rng) % (uint64_t)L->nbullets_emoji];
    else vs.bullet = L->bullets[mix(&rng) % (uint64_t)L->nbullets];
    for (size_t i = 0; i < b->key_points.n && i < 16; i++) vs.kp_mask |= 1u << i;

    /* headline, call to action, hashtags */
    long head_max = x->P->headline_max;
    if (!head_max) head_max = x->P->total_max ? x->P->total_max / 3 : 100;
    const content_type_t ct = b->content_type;
    if ((ct == CONTENT_EMAIL_SUBJECT || ct == CONTENT_EMAIL_BODY) && head_max > EMAIL_SUBJECT_MAX) head_max = EMAIL_SUBJECT_MAX;
    v->headline = choose_headline(x, vi, attempt, head_max);
    if (ct == CONTENT_EMAIL_SUBJECT || ct == CONTENT_BLOG_TITLE) v->cta = ""; /* a subject line, a title: no button */
    else if (b->call_to_action) v->cta = b->call_to_action;
    else {
        const pb_phrase_t *c = pick(x, PB_SLOT_CTA, vi, attempt);
        v->cta = c ? render_phrase(x, c) : "";
    }
    if (x->hashtags_ok && x->ntags && ct != CONTENT_EMAIL_SUBJECT && ct != CONTENT_BLOG_TITLE) {
        int lo = x->P->hashtags_ideal[0], hi = x->P->hashtags_ideal[1];
        size_t k = (size_t)lo + (size_t)(mix(&rng) % (uint64_t)(hi - lo + 1));
        if (k > x->ntags) k = x->ntags;
        size_t core = x->ntags_brief < (k + 1) / 2 ? x->ntags_brief : (k + 1) / 2;
        for (size_t i = 0; i < core; i++) v->tags[v->ntags++] = x->tags[i];
        size_t rest = x->ntags - core, off = rest ? (size_t)(mix(&rng) % rest) : 0;
        for (size_t i = 0; v->ntags < k && i < rest; i++) v->tags[v->ntags++] = x->tags[core + (off + i) % rest];
    }

    /* budgets for the primary text */
    long text_max = x->P->text_max ? x->P->text_max : NO_LIMIT;
    if (b->max_length > 0 && b->max_length < text_max) text_max = b->max_length;
    long total_max = x->P->total_max ? x->P->total_max : NO_LIMIT;
    if (x->rs.max_chars && x->rs.max_chars < total_max) total_max = x->rs.max_chars;
    long text_budget, word_budget;
    for (;;) {
        long over = cps_of(v->headline) + cps_of(v->cta) + (v->headline[0] ? 2 : 0) + (v->cta[0] ? 2 : 0);
        for (size_t i = 0; i < v->ntags; i++) over += cps_of(v->tags[i]) + 1;
        if (v->ntags) over += 1; /* "\n\n" before the line, minus the last space */
        text_budget = total_max == NO_LIMIT ? text_max : total_max - over;
        if (text_budget > text_max) text_budget = text_max;
        if (text_budget >= 60 || !v->ntags) break;
        v->ntags--; /* hashtags give way to the message */
    }
    if (text_budget < 1) text_budget = 1;
    word_budget = x->rs.max_words ? x->rs.max_words - words_of(v->headline) - words_of(v->cta) : NO_LIMIT;
    if (word_budget < 1) word_budget = 1;

    /* the shape the content type asks for */
    if (ct == CONTENT_EMAIL_SUBJECT || ct == CONTENT_BLOG_TITLE) {
        /* a preheader (one sentence) or a standfirst (two): no key points */
        int left = ct == CONTENT_EMAIL_SUBJECT ? 1 : 2;
        vs.layout = LAYOUT_RUN;
        for (int i = 0; i < vs.nparts; i++) {
            if (vs.parts[i].is_kp || left == 0) vs.parts[i].active = 0;
            else left--;
        }
        vs.kp_mask = 0;
        long cap = ct == CONTENT_EMAIL_SUBJECT ? PREHEADER_MAX : STANDFIRST_MAX;
        if (text_budget > cap) text_budget = cap;
    } else if (ct == CONTENT_PRESS_RELEASE) {
        vs.layout = LAYOUT_LEAD_LIST;
    } else if (ct == CONTENT_VIDEO_SCRIPT && L->beat_label[0]) {
        script_parts(x, &vs, v, vi, attempt);
    }

    /* fit: drop the least important part first, key points one by one last */
    int shortened = 0;
    for (;;) {
        render_text(x, &vs, text);
        if (cps_of(text->p) <= text_budget && (word_budget == NO_LIMIT || words_of(text->p) <= word_budget)) break;
        int low = -1, lowkp = 0;
        for (int i = 0; i < vs.nparts; i++)
            if (vs.parts[i].active && !vs.parts[i].is_kp && (low < 0 || vs.parts[i].prio < vs.parts[low].prio)) low = i;
        int active_other = 0;
        for (int i = 0; i < vs.nparts; i++) if (vs.parts[i].active && !vs.parts[i].is_kp) active_other++;
        if (low >= 0 && active_other > 1) { vs.parts[low].active = 0; continue; }
        if (low >= 0 && !shortened) {
            /* one sentence left: the plainest product mention is the shortest */
            shortened = 1;
            buf_reset(&x->scratch);
            buf_puts(&x->scratch, x->product_up);
            if (!text_ends_sentence(x->product_up, strlen(x->product_up))) buf_putc(&x->scratch, '.');
            if (x->scratch.len < strlen(vs.parts[low].s)) vs.parts[low].s = keep(x, x->scratch.p, x->scratch.len);
            continue;
        }
        for (int i = 15; i >= 0; i--) if (vs.kp_mask & (1u << i)) { lowkp = 1; vs.kp_mask &= ~(1u << i); break; }
        if (lowkp) continue;
        hard_cut(text, text_budget, word_budget); /* never empty: cut the last sentence at a word */
        break;
    }
    /* min_length: add supporting sentences until it is reached */
    if (b->min_length > 0 && cps_of(text->p) < b->min_length) {
        const pb_phrase_t *const *c;
        size_t n = candidates(x, PB_SLOT_EXTRA, &c), start = n ? (size_t)(mix(&rng) % n) : 0;
        for (size_t k = 0; k < n && cps_of(text->p) < b->min_length; k++) {
            const char *s = render_phrase(x, c[(start + k) % n]);
            long add = cps_of(s) + (x->P->multiline ? 2 : 1);
            if (cps_of(text->p) + add > text_budget ||
                (word_budget != NO_LIMIT && words_of(text->p) + words_of(s) > word_budget)) break;
            buf_puts(text, x->P->multiline ? "\n\n" : " ");
            buf_puts(text, s);
        }
        v->short_of_min = cps_of(text->p) < b->min_length;
    }
    v->text = keep(x, text->p ? text->p : "", text->len);
    /* key points present: as placed, or anywhere verbatim (a cut may keep one) */
    for (size_t i = 0; i < b->key_points.n && i < 16; i++)
        if (strstr(v->text, b->key_points.items[i]) || strstr(v->headline, b->key_points.items[i])) v->kp_mask |= 1u << i;
}

/* ---- similarity between variants --------------------------------------- */

#define GRAMS_MAX 512

/* Word bigrams of the copy (headline, text, call to action), folded and
 * hashed, sorted and unique: what a reader (and the quality check) sees as
 * "the same sentence again". Words are runs of letters and digits, with
 * inner apostrophes and hyphens. */
typedef struct grams {
    uint64_t h[GRAMS_MAX];
    size_t n;
} grams_t;

/* Sorts a[0..n) (quicksort, insertion sort below 16): inline, unlike
 * qsort's callback, as this runs for every try of every variant. */
static void sort_u64(uint64_t *a, size_t n) {
    while (n > 16) {
        uint64_t p = a[n / 2];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i >= j) break;
            uint64_t t = a[i]; a[i] = a[j]; a[j] = t;
            i++, j--;
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) { sort_u64(a, j + 1); a += j + 1; n -= j + 1; }
        else { sort_u64(a + j + 1, n - j - 1); n = j + 1; }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t k = i;
        while (k > 0 && a[k - 1] > v) { a[k] = a[k - 1]; k--; }
        a[k] = v;
    }
}


static void grams_of(const variant_t *v, buf_t *tmp, grams_t *g) {
    buf_reset(tmp);
    const char *parts[3] = {v->headline, v->text, v->cta};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]), at = tmp->len;
        buf_append(tmp, parts[i], n);
        buf_putc(tmp, '\n');
        if (tmp->p) tmp->len = at + text_fold(tmp->p + at, n + 1, tmp->p + at);
    }
    g->n = 0;
    const char *s = tmp->p ? tmp->p : "";
    size_t len = tmp->len, i = 0;
    uint64_t prev = 0;
    int have_prev = 0;
    while (i < len && g->n < GRAMS_MAX) {
        while (i < len && !word_byte((unsigned char)s[i])) i++;
        size_t st = i;
        while (i < len && (word_byte((unsigned char)s[i]) ||
                           ((s[i] == '\'' || s[i] == '-') && i + 1 < len && i > st && word_byte((unsigned char)s[i + 1]))))
            i++;
        if (i == st) break;
        uint64_t w = XXH3_64bits(s + st, i - st);
        if (have_prev) g->h[g->n++] = prev * 0x9E3779B97F4A7C15ull ^ w;
        prev = w;
        have_prev = 1;
    }
    sort_u64(g->h, g->n);
    size_t u = 0;
    for (size_t k = 0; k < g->n; k++)
        if (!u || g->h[u - 1] != g->h[k]) g->h[u++] = g->h[k];
    g->n = u;
}

static double grams_jaccard(const grams_t *a, const grams_t *b) {
    if (!a->n && !b->n) return 1.0;
    size_t i = 0, j = 0, common = 0;
    while (i < a->n && j < b->n) {
        if (a->h[i] == b->h[j]) common++, i++, j++;
        else if (a->h[i] < b->h[j]) i++;
        else j++;
    }
    return (double)common / (double)(a->n + b->n - common);
}

/* ---- scoring and output ------------------------------------------------ */

/* The post as published: headline, text, call to action, hashtag line. A
 * video script already speaks its call to action as its last beat
 * ("CTA: ..."), so there it is not counted twice. */
static void post_text(const ctx_t *x, const variant_t *v, buf_t *o) {
    buf_reset(o);
    const char *parts[3] = {v->headline, v->text, v->cta};
    int cta_spoken = x->b->content_type == CONTENT_VIDEO_SCRIPT && x->L->beat_label[PB_BEAT_CTA] && v->cta[0] &&
                     strstr(v->text, v->cta) != NULL;
    for (int i = 0; i < 3; i++) {
        if (!parts[i][0] || (i == 2 && cta_spoken)) continue;
        if (o->len) buf_puts(o, "\n\n");
        buf_puts(o, parts[i]);
    }
    for (size_t i = 0; i < v->ntags; i++) {
        buf_puts(o, i == 0 ? (o->len ? "\n\n" : "") : " ");
        buf_puts(o, v->tags[i]);
    }
}

static void score_variant(ctx_t *x, variant_t *v, buf_t *tmp) {
    post_text(x, v, tmp);
    v->chars = cps_of(tmp->p ? tmp->p : "");
    v->fp = XXH3_64bits(tmp->p ? tmp->p : "", tmp->len);
    v->text_chars = cps_of(v->text);
    v->words = words_of(v->headline) + words_of(v->text) + words_of(v->cta);
    text_stats_t st = {0};
    text_stats_add(x->L->code, v->headline, strlen(v->headline), &st);
    text_stats_add(x->L->code, v->text, strlen(v->text), &st);
    text_stats_add(x->L->code, v->cta, strlen(v->cta), &st);
    v->read = readability_score(x->L->code, &st);
    const char *nl = strpbrk(v->text, ".?!\n");
    size_t first = nl ? (size_t)(nl - v->text) + 1 : strlen(v->text);
    v->hook_q = strchr(v->headline, '?') || memchr(v->text, '?', first);
    v->hook_s = strchr(v->headline, '!') || memchr(v->text, '!', first) || strpbrk(v->headline, "0123456789");
    rules_subject_t subj = {v->headline, v->text, v->cta, v->tags, v->ntags, v->words, v->chars};
    size_t nv = rules_check(&x->rs, &subj, v->viol, 8);
    v->nviol = nv < 8 ? nv : 8;
    engagement_in_t in;
    memset(&in, 0, sizeof in);
    in.text_chars = v->text_chars;
    in.text_ideal[0] = x->P->text_ideal[0];
    in.text_ideal[1] = x->P->text_ideal[1];
    if (x->b->max_length > 0 && in.text_ideal[1] > x->b->max_length) in.text_ideal[1] = x->b->max_length;
    if (in.text_ideal[0] > in.text_ideal[1]) in.text_ideal[0] = in.text_ideal[1] / 2;
    in.has_cta = v->cta[0] != 0;
    in.hook_question = v->hook_q;
    in.hook_strong = v->hook_s;
    in.key_points_total = x->b->key_points.n;
    for (size_t i = 0; i < x->b->key_points.n && i < 16; i++) in.key_points_present += (v->kp_mask >> i) & 1u;
    in.readability = v->read;
    in.hashtags = v->ntags;
    if (x->hashtags_ok) { in.hashtags_ideal[0] = x->P->hashtags_ideal[0]; in.hashtags_ideal[1] = x->P->hashtags_ideal[1]; }
    in.compliant = nv == 0;
    v->eng = engagement_predict(&in, v->feats);
}

static double round_to(double v, double unit) { return round(v / unit) * unit; }

static void put_long(buf_t *o, long v) {
    char t[24], *e = t + sizeof t, *p = e;
    unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
    do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--p = '-';
    buf_append(o, p, (size_t)(e - p));
}

static void put_message(buf_t *o, const char *tmpl, const char *platform, const char *list, const char *item) {
    buf_t m = BUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (!strncmp(p, "{platform}", 10)) { buf_puts(&m, platform); p += 10; }
        else if (!strncmp(p, "{list}", 6)) { buf_puts(&m, list); p += 6; }
        else if (!strncmp(p, "{item}", 6)) { buf_puts(&m, item); p += 6; }
        else buf_putc(&m, *p++);
    }
    buf_json_strn(o, m.p ? m.p : "", m.len);
    buf_free(&m);
}

/* The rules of the brief as JSON (the inside of "rules": [...]). */
static void put_rules(ctx_t *x, buf_t *o) {
    for (size_t i = 0; i < x->rs.n; i++) {
        const rule_t *r = &x->rs.rules[i];
        if (i) buf_putc(o, ',');
        buf_puts(o, "{\"restriction\":");
        if (r->from_dont_use) {
            buf_t t = BUF_INIT;
            buf_printf(&t, "brand_voice.dont_use: %s", r->restriction);
            buf_json_strn(o, t.p ? t.p : "", t.len);
            buf_free(&t);
        } else buf_json_str(o, r->restriction);
        buf_puts(o, ",\"rule\":");
        buf_json_str(o, rule_kind_name(r->kind));
        buf_puts(o, ",\"value\":");
        buf_json_str(o, r->value[0] ? r->value : "true");
        buf_putc(o, '}');
    }
}

/* The platform's tips as JSON (the inside of "platform_tips": [...]). */
static void put_tips(ctx_t *x, buf_t *o) {
    int p = x->b->platform;
    for (int i = 0; i < x->L->ntips[p]; i++) {
        if (i) buf_putc(o, ',');
        buf_json_str(o, x->L->tips[p][i]);
    }
}

/* A piece of output every variant repeats: rendered by fn once per brief,
 * then copied. */
static void put_shared(ctx_t *x, shared_json_t *c, void (*fn)(ctx_t *, buf_t *), buf_t *o) {
    if (!c->s) {
        buf_reset(&x->scratch);
        fn(x, &x->scratch);
        char *p = x->scratch.oom ? NULL : arena_strndup(&x->A, x->scratch.p ? x->scratch.p : "", x->scratch.len);
        if (!p) { fn(x, o); return; } /* out of memory: straight to the output, which reports it */
        c->s = p;
        c->len = x->scratch.len;
    }
    buf_append(o, c->s, c->len);
}

static void put_compliance(ctx_t *x, const variant_t *v, buf_t *o) {
    buf_puts(o, v->nviol ? "{\"passed\":false,\"rules\":[" : "{\"passed\":true,\"rules\":[");
    put_shared(x, &x->rules_json, put_rules, o);
    buf_puts(o, "],\"violations\":[");
    for (size_t i = 0; i < v->nviol; i++) {
        if (i) buf_putc(o, ',');
        buf_puts(o, "{\"rule\":");
        buf_json_str(o, rule_kind_name(v->viol[i].kind));
        buf_puts(o, ",\"detail\":");
        buf_json_str(o, v->viol[i].detail);
        buf_putc(o, '}');
    }
    buf_puts(o, "],\"not_understood\":[");
    for (size_t i = 0; i < x->rs.n_not_understood; i++) {
        if (i) buf_putc(o, ',');
        buf_json_str(o, x->rs.not_understood[i]);
    }
    buf_puts(o, "]}");
}

static void put_variant(ctx_t *x, const variant_t *v, int n, const char *id12, buf_t *o) {
    buf_puts(o, "{\"variant_id\":\"tpl-");
    buf_puts(o, id12);
    buf_putc(o, '-');
    put_long(o, n);
    buf_puts(o, "\",\"headline\":");
    buf_json_str(o, v->headline);
    buf_puts(o, ",\"primary_text\":");
    buf_json_str(o, v->text);
    buf_puts(o, ",\"call_to_action\":");
    buf_json_str(o, v->cta);
    buf_puts(o, ",\"hashtags\":[");
    for (size_t i = 0; i < v->ntags; i++) {
        if (i) buf_putc(o, ',');
        buf_json_str(o, v->tags[i]);
    }
    buf_puts(o, "],\"character_count\":");
    put_long(o, v->chars);
    buf_puts(o, ",\"word_count\":");
    put_long(o, v->words);
    buf_puts(o, ",\"readability_score\":");
    buf_json_num(o, round_to(v->read, 0.01));
    buf_puts(o, ",\"engagement_prediction\":");
    buf_json_num(o, round_to(v->eng, 0.001));
    buf_puts(o, ",\"platform_tips\":[");
    put_shared(x, &x->tips_json, put_tips, o);
    buf_puts(o, "],\"evaluation_metrics\":");
    engagement_metrics_json(o, v->feats, v->read);
    buf_puts(o, ",\"compliance\":");
    put_compliance(x, v, o);
    buf_puts(o, ",\"framework\":");
    buf_json_str(o, v->framework);
    buf_putc(o, '}');
}

int compose_output(const copy_data_t *d, const pb_lang_t *lang, const brief_t *b, const char *model,
                   buf_t *out, unsigned *tokens) {
    double t0 = now_mono();
    ctx_t *x = calloc(1, sizeof *x);
    variant_t *vs = calloc(MAX_VARIANTS, sizeof *vs);
    if (!x || !vs) { free(x); free(vs); return -1; }
    x->d = d;
    x->L = lang;
    x->b = b;
    x->P = &d->platforms[b->platform];
    x->group = lang->tone_group[b->tone];
    x->tone_list = PB_TONE_LIST(b->tone);
    x->use_list = b->use_case_given ? PB_USE_LIST(b->use_case) : -1;
    x->c = b->creativity < 0 ? 0 : b->creativity > 1 ? 1 : b->creativity;
    x->seed = compose_brief_hash(b);
    if (lang->has_register) {
        int formal = b->brand_voice.has_formality ? b->brand_voice.formality_level >= 0.5
                                                  : (int)((lang->formal_groups >> x->group) & 1u);
        x->reg_block = formal ? PB_F_INFORMAL : PB_F_FORMAL;
    }
    x->cand = arena_alloc(&x->A, (size_t)lang->nslots * sizeof *x->cand);
    x->wc = arena_alloc(&x->A, (size_t)lang->nslots * sizeof *x->wc);
    if (!x->cand || !x->wc) { arena_free(&x->A); free(x); free(vs); return -1; }
    rules_build(&x->rs, d->rules, d->nlangs, lang->rules, b);
    if ((x->rs.n_banned && mark_banned(x) < 0) || (b->brand_voice.do_use.n && mark_liked(x) < 0)) {
        arena_free(&x->A); free(x); free(vs); return -1;
    }
    x->emoji_ok = x->P->emoji && !x->rs.no_emoji;
    x->hashtags_ok = x->P->hashtags_max > 0 && !x->rs.no_hashtags;
    x->product_up = trimmed(x, b->product_description);
    x->product_lc = mid_sentence(x, x->product_up);
    char *up = keep(x, x->product_up, strlen(x->product_up));
    text_upper_first(up);
    x->product_up = up;
    if (b->target_audience && *b->target_audience) x->audience_lc = mid_sentence(x, trimmed(x, b->target_audience));
    if (b->keywords.n) {
        buf_reset(&x->scratch);
        join_list(x, b->keywords.items, b->keywords.n, &x->scratch);
        x->keywords = keep(x, x->scratch.p, x->scratch.len);
    }
    if (x->hashtags_ok) build_tags(x);

    int nvar = b->max_variants < 1 ? 1 : b->max_variants > MAX_VARIANTS ? MAX_VARIANTS : b->max_variants;
    x->nvar = nvar;
    buf_t text = BUF_INIT, tmp = BUF_INIT;
    grams_t *grams = malloc((size_t)(nvar + 1) * sizeof *grams);
    if (!grams) { buf_free(&x->scratch); arena_free(&x->A); free(x); free(vs); return -1; }
    /* each variant is retried (other phrases, then another framework) while
     * it reads too much like an earlier one; the least similar try is kept */
    for (int i = 0; i < nvar; i++) {
        variant_t best_try;
        double best_sim = 2.0;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            compose_variant(x, i, attempt, &vs[i], &text);
            grams_of(&vs[i], &tmp, &grams[nvar]);
            double sim = 0;
            for (int j = 0; j < i; j++) {
                double s = grams_jaccard(&grams[j], &grams[nvar]);
                if (s > sim) sim = s;
            }
            if (sim < best_sim) {
                best_sim = sim;
                best_try = vs[i];
                grams[i] = grams[nvar];
            }
            if (sim < SIM_MAX) break;
        }
        vs[i] = best_try;
        score_variant(x, &vs[i], &tmp);
    }
    free(grams);
    int best = 0;
    for (int i = 1; i < nvar; i++)
        if (vs[i].eng > vs[best].eng + 1e-12 || (fabs(vs[i].eng - vs[best].eng) <= 1e-12 && vs[i].read > vs[best].read)) best = i;
    double second = 0;
    for (int i = 0; i < nvar; i++) if (i != best && vs[i].eng > second) second = vs[i].eng;
    double margin = nvar > 1 ? vs[best].eng - second : 0;
    double confidence = vs[best].eng * (0.8 + 0.2 * (margin / 0.05 > 1 ? 1 : margin / 0.05));

    char id12[13];
    snprintf(id12, sizeof id12, "%012llx", (unsigned long long)(x->seed >> 16));
    unsigned words = 0;
    buf_puts(out, "{\"variants\":[");
    for (int i = 0; i < nvar; i++) {
        if (i) buf_putc(out, ',');
        put_variant(x, &vs[i], i + 1, id12, out);
        words += (unsigned)vs[i].words;
    }
    buf_printf(out, "],\"best_variant_id\":\"tpl-%s-%d\",\"confidence_score\":", id12, best + 1);
    buf_json_num(out, round_to(confidence, 0.001));
    buf_puts(out, ",\"model_used\":");
    buf_json_str(out, model ? model : "template-v1");

    /* dropped key points: missing from any variant */
    const char *dropped[16];
    size_t ndropped = 0;
    for (size_t k = 0; k < b->key_points.n && k < 16; k++)
        for (int i = 0; i < nvar; i++)
            if (!(vs[i].kp_mask & (1u << k))) { dropped[ndropped++] = b->key_points.items[k]; break; }

    buf_puts(out, ",\"generation_time\":");
    buf_json_num(out, round_to(now_mono() - t0, 1e-6));
    buf_printf(out, ",\"tokens_used\":%u,\"optimization_suggestions\":[", words);
    const char *pname = platform_name(b->platform);
    size_t nsug = 0;
#define SUGGEST(m, list, item) do { if (nsug++) buf_putc(out, ','); put_message(out, lang->msg[m], pname, list, item); } while (0)
    if (ndropped) {
        buf_reset(&tmp);
        join_list(x, dropped, ndropped, &tmp);
        char *list = keep(x, tmp.p, tmp.len);
        SUGGEST(PB_MSG_DROPPED, list, "");
    }
    for (size_t i = 0; i < x->rs.n_not_understood; i++) SUGGEST(PB_MSG_NOT_UNDERSTOOD, "", x->rs.not_understood[i]);
    for (size_t r = 0; r < x->rs.n; r++) {
        int hit = 0;
        for (int i = 0; i < nvar && !hit; i++)
            for (size_t k = 0; k < vs[i].nviol && !hit; k++)
                hit = vs[i].viol[k].kind == x->rs.rules[r].kind &&
                      (x->rs.rules[r].kind != RULE_BANNED_WORD || strstr(vs[i].viol[k].detail, x->rs.rules[r].value));
        if (hit) SUGGEST(PB_MSG_VIOLATION, "", x->rs.rules[r].restriction);
    }
    int short_min = 0;
    for (int i = 0; i < nvar; i++) short_min |= vs[i].short_of_min;
    if (short_min) SUGGEST(PB_MSG_MIN_LENGTH, "", "");
    if (!b->key_points.n) SUGGEST(PB_MSG_NO_KEY_POINTS, "", "");
    if (!x->audience_lc) SUGGEST(PB_MSG_NO_AUDIENCE, "", "");
    if (!b->call_to_action) SUGGEST(PB_MSG_NO_CTA, "", "");
    if (nvar > 1) {
        char id[40];
        snprintf(id, sizeof id, "tpl-%s-%d", id12, best + 1);
        SUGGEST(PB_MSG_BEST, "", id);
    }
#undef SUGGEST
    char now[ISO8601_LEN];
    iso8601_now(now);
    buf_printf(out, "],\"created_at\":\"%s\",\"extra_metadata\":{\"engine\":\"template\",\"language\":", now);
    buf_json_str(out, lang->code);
    buf_puts(out, ",\"platform\":");
    buf_json_str(out, pname);
    buf_puts(out, ",\"content_type\":");
    buf_json_str(out, content_type_name(b->content_type));
    buf_puts(out, ",\"use_case\":");
    buf_json_str(out, use_case_name(b->use_case));
    buf_puts(out, ",\"dropped_key_points\":[");
    for (size_t i = 0; i < ndropped; i++) {
        if (i) buf_putc(out, ',');
        buf_json_str(out, dropped[i]);
    }
    buf_putc(out, ']');
    if (x->do_use) put_do_use(x, vs, nvar, out);
    buf_puts(out, "}}");
    if (tokens) *tokens = words;

    buf_free(&text);
    buf_free(&tmp);
    buf_free(&x->scratch);
    arena_free(&x->A);
    free(x);
    free(vs);
    return out->oom ? -1 : 0;
}
