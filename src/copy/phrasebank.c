#include "copy/phrasebank.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "copy/text.h"

static const char *const fixed_slots[PB_SLOT__FIXED] = {
    "headline", "headline_short", "cta", "kp_intro", "feature_intro",
    "audience", "keywords", "extra", "emoji", "hashtag",
};

static const char *const msg_keys[PB_MSG__COUNT] = {
    "dropped_key_points", "no_key_points", "no_audience", "no_cta", "not_understood",
    "violation", "min_length", "best",
};

static const char *const placeholders[] = {"{product}", "{product_lc}", "{audience_lc}", "{keywords}", NULL};

/* Context for error messages while loading one file. */
typedef struct loader {
    copy_data_t *d;
    const char *path;
    char *err;
    size_t errsz;
    const char **reg[2];   /* "register" words (normalised): informal, formal; the
                              one-word ones sorted first ([0, nreg1)), then the rest */
    int nreg[2], nreg1[2];
} loader_t;

static int str_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* A word byte as text_has_word() reads folded text (no hyphen words). */
static int word_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* 1 when folded phrase `f` has a word of register list r. Each word of the
 * phrase is looked up in the sorted one-word list (a phrase bank has tens
 * of thousands of phrases and a register list dozens of words); words with
 * spaces are searched the slow way. */
static int has_register_word(const loader_t *L, int r, const char *f) {
    char w[64];
    for (const char *p = f; *p;) {
        if (!word_byte((unsigned char)*p)) { p++; continue; }
        const char *e = p;
        while (*e && word_byte((unsigned char)*e)) e++;
        size_t n = (size_t)(e - p);
        if (n < sizeof w) {
            memcpy(w, p, n);
            w[n] = '\0';
            const char *key = w;
            if (bsearch(&key, L->reg[r], (size_t)L->nreg1[r], sizeof *L->reg[r], str_cmp)) return 1;
        }
        p = e;
    }
    for (int m = L->nreg1[r]; m < L->nreg[r]; m++)
        if (text_has_word(f, strlen(f), L->reg[r][m], 0, 0)) return 1;
    return 0;
}

/* Orders a register list for has_register_word(): one-word entries sorted, first. */
static void register_sort(loader_t *L, int r) {
    int k = 0;
    for (int m = 0; m < L->nreg[r]; m++) {
        const char *w = L->reg[r][m];
        int one = *w != '\0';
        for (const char *q = w; *q && one; q++) one = word_byte((unsigned char)*q);
        if (one) {
            L->reg[r][m] = L->reg[r][k];
            L->reg[r][k++] = w;
        }
    }
    L->nreg1[r] = k;
    qsort(L->reg[r], (size_t)k, sizeof *L->reg[r], str_cmp);
}

static char *dup_str(loader_t *L, const char *s) {
    char *p = arena_strdup(&L->d->arena, s);
    if (!p) snprintf(L->err, L->errsz, "%s: out of memory", L->path);
    return p;
}

/* Placeholders used by `t`; -1 (with the error set) for an unknown one. */
static int scan_placeholders(loader_t *L, const char *where, const char *t, unsigned char *needs, int *product) {
    *needs = 0;
    *product = 0;
    for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
        int k = 0;
        for (; placeholders[k]; k++)
            if (strncmp(p, placeholders[k], strlen(placeholders[k])) == 0) break;
        if (!placeholders[k]) {
            snprintf(L->err, L->errsz, "%s: '%s': unknown placeholder at \"%.20s\" (known: {product}, {product_lc}, "
                     "{audience_lc}, {keywords})", L->path, where, p);
            return -1;
        }
        if (k <= 1) *product = 1;
        if (k == 2) *needs |= PB_NEED_AUDIENCE;
        if (k == 3) *needs |= PB_NEED_KEYWORDS;
    }
    return 0;
}

/* Alternatives: "[a|b|c]" in a phrase is one of a, b or c, so one line of
 * the file writes every combination of its groups ("[Hay|Existen] cosas que
 * [merecen|piden] cuidado." is four phrases). Groups do not nest; an empty
 * alternative ("[| de verdad]") leaves the group out, and the double space
 * that may leave is collapsed. Expanded at load: generation sees plain
 * phrases. */
#define PB_EXPAND_MAX 4096 /* phrases one line may expand to */

/* Phrases `t` expands to (>= 1), or 0 with the error set. */
static size_t count_expansions(loader_t *L, const char *where, const char *t) {
    size_t total = 1, alts = 0;
    int open = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '[') {
            if (open) { snprintf(L->err, L->errsz, "%s: '%s': '[' inside '[...]' (groups do not nest)", L->path, where); return 0; }
            open = 1, alts = 1;
        } else if (*p == '|' && open) alts++;
        else if (*p == ']') {
            if (!open) { snprintf(L->err, L->errsz, "%s: '%s': ']' without '['", L->path, where); return 0; }
            open = 0;
            total *= alts;
            if (total > PB_EXPAND_MAX) {
                snprintf(L->err, L->errsz, "%s: '%s': more than %d combinations", L->path, where, PB_EXPAND_MAX);
                return 0;
            }
        }
    }
    if (open) { snprintf(L->err, L->errsz, "%s: '%s': '[' without ']'", L->path, where); return 0; }
    return total;
}

/* Writes combination `k` of `t` into o (size osz), mixed radix over the
 * groups, the first group varying fastest. Returns the length, or -1 when
 * it does not fit. */
static long expand_one(const char *t, size_t k, char *o, size_t osz) {
    size_t n = 0;
    const char *p = t;
    while (*p) {
        if (*p != '[') {
            if (*p == ' ' && (n == 0 || o[n - 1] == ' ')) { p++; continue; } /* collapse */
            if (n + 1 >= osz) return -1;
            o[n++] = *p++;
            continue;
        }
        size_t alts = 1;
        const char *e = p + 1;
        for (; *e != ']'; e++) if (*e == '|') alts++;
        size_t want = k % alts;
        k /= alts;
        const char *a = p + 1;
        for (size_t i = 0; i < want; i++) a = strchr(a, '|') + 1;
        for (; *a != '|' && *a != ']'; a++) {
            if (*a == ' ' && (n == 0 || o[n - 1] == ' ')) continue;
            if (n + 1 >= osz) return -1;
            o[n++] = *a;
        }
        p = e + 1;
    }
    while (n > 0 && o[n - 1] == ' ') n--;
    /* an empty alternative before punctuation leaves " ." or " ," behind */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (o[i] == ' ' && i + 1 < n && (o[i + 1] == '.' || o[i + 1] == ',')) continue;
        o[w++] = o[i];
    }
    o[w] = '\0';
    return (long)w;
}

static int load_phrases(loader_t *L, pb_lang_t *lang, const char *where, const json_t *arr, pb_phrase_t **out, unsigned *n) {
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(L->err, L->errsz, "%s: '%s' must be a non-empty array of strings", L->path, where);
        return -1;
    }
    size_t lines = json_array_size(arr), cnt = 0;
    for (size_t i = 0; i < lines; i++) {
        const json_t *s = json_array_get(arr, i);
        char w[128];
        snprintf(w, sizeof w, "%.100s[%zu]", where, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 1000) {
            snprintf(L->err, L->errsz, "%s: '%s' must be a string of 1..1000 bytes", L->path, w);
            return -1;
        }
        size_t e = count_expansions(L, w, json_string_value(s));
        if (!e) return -1;
        cnt += e;
    }
    pb_phrase_t *items = arena_alloc(&L->d->arena, cnt * sizeof *items);
    if (!items) { snprintf(L->err, L->errsz, "%s: out of memory", L->path); return -1; }
    size_t at = 0;
    for (size_t i = 0; i < lines; i++) {
        const char *src = json_string_value(json_array_get(arr, i));
        size_t e = count_expansions(L, where, src);
        for (size_t k = 0; k < e; k++) {
            char w[128], t[401];
            snprintf(w, sizeof w, "%.100s[%zu]", where, i);
            long tl = expand_one(src, k, t, sizeof t);
            if (tl <= 0) {
                snprintf(L->err, L->errsz, "%s: '%s' expands to an empty phrase or one over 400 bytes", L->path, w);
                return -1;
            }
            size_t len = (size_t)tl;
            pb_phrase_t *ph = &items[at++];
            int product;
            if (scan_placeholders(L, w, t, &ph->needs, &product) < 0) return -1;
            if (!(ph->text = dup_str(L, t))) return -1;
            char *f = arena_alloc(&L->d->arena, len + 1);
            if (!f) { snprintf(L->err, L->errsz, "%s: out of memory", L->path); return -1; }
            text_fold(t, len, f);
            ph->folded = f;
            ph->len = (unsigned)len;
            ph->flags = (product ? PB_F_PRODUCT : 0) | (strchr(t, '?') ? PB_F_QUESTION : 0) |
                        (strchr(t, '!') || strstr(t, "\xC2\xA1") ? PB_F_EXCLAIM : 0) |
                        (text_has_emoji(t, len) ? PB_F_EMOJI : 0) |
                        (lang->rules && rules_has_price(lang->rules, t, len) ? PB_F_PRICE : 0);
            for (int r = 0; r < 2; r++)
                if (L->nreg[r] && has_register_word(L, r, f)) ph->flags |= r ? PB_F_FORMAL : PB_F_INFORMAL;
        }
    }
    *out = items;
    *n = (unsigned)cnt;
    return 0;
}

static int group_index(const char *const names[], int ngroups, const char *key) {
    if (strcmp(key, "any") == 0) return 0;
    for (int g = 0; g < ngroups; g++)
        if (strcmp(names[g], key) == 0) return g + 1;
    return -1;
}

/* The list of a slot's key: "any", a tone group, or one tone's own list. */
static int list_index(const char *const names[], int ngroups, const char *key) {
    int g = group_index(names, ngroups, key);
    if (g >= 0) return g;
    int t = tone_from_name(key);
    return t >= 0 ? PB_TONE_LIST(t) : -1;
}

static int load_slot(loader_t *L, pb_lang_t *lang, const char *const gnames[], const char *name, const json_t *obj, pb_slot_t *slot) {
    if (!json_is_object(obj)) {
        snprintf(L->err, L->errsz, "%s: 'slots.%s' must be an object of tone group -> phrases", L->path, name);
        return -1;
    }
    if (!(slot->name = dup_str(L, name))) return -1;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        int g = list_index(gnames, lang->ngroups, key);
        char w[128];
        snprintf(w, sizeof w, "slots.%.50s.%.50s", name, key);
        if (g < 0) {
            snprintf(L->err, L->errsz, "%s: '%s': '%s' is not a tone group nor a tone (use \"any\", one of tone_groups or a tone name)", L->path, w, key);
            return -1;
        }
        if (load_phrases(L, lang, w, val, &slot->items[g], &slot->n[g]) < 0) return -1;
    }
    /* every tone group must find something in every slot */
    for (int g = 1; g <= lang->ngroups; g++)
        if (!slot->n[0] && !slot->n[g]) {
            snprintf(L->err, L->errsz, "%s: 'slots.%s' has no phrase for tone group '%s' and no \"any\"", L->path, name, gnames[g - 1]);
            return -1;
        }
    return 0;
}

static int load_str_array(loader_t *L, const char *where, const json_t *arr, const char **out, int max, int *n, int fold) {
    if (!json_is_array(arr) || json_array_size(arr) == 0 || (max > 0 && json_array_size(arr) > (size_t)max)) {
        snprintf(L->err, L->errsz, "%s: '%s' must be an array of 1..%d strings", L->path, where, max > 0 ? max : 9999);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || !*s) { snprintf(L->err, L->errsz, "%s: '%s[%zu]' must be a non-empty string", L->path, where, i); return -1; }
        char *p = dup_str(L, s);
        if (!p) return -1;
        if (fold) text_normalize(s, strlen(s), p);
        out[i] = p;
    }
    *n = (int)json_array_size(arr);
    return 0;
}

/* ---- word index (pb_word_t) ---------------------------------------------- */

static int words_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

typedef struct tok {
    const char *w;
    unsigned len, id;
} tok_t;

/* Writes the words of folded `f` to out[] (when set), tagged `id`; returns their count. */
static size_t each_word(const char *f, tok_t *out, unsigned id) {
    size_t n = 0;
    for (size_t i = 0; f[i];) {
        if (!word_byte((unsigned char)f[i])) { i++; continue; }
        size_t st = i;
        while (f[i] && word_byte((unsigned char)f[i])) i++;
        if (out) out[n] = (tok_t){f + st, (unsigned)(i - st), id};
        n++;
    }
    return n;
}

/* A distinct word of build_index(): phrases holding it, the last phrase
 * counted, and its place in first-seen order (which the tokens refer to). */
typedef struct dword {
    const char *w;
    unsigned len, n, last, seen;
} dword_t;

static int dword_cmp(const void *pa, const void *pb) {
    const dword_t *a = pa, *b = pb;
    return words_cmp(a->w, a->len, b->w, b->len);
}

/* Numbers every phrase of `lang` (pb_phrase_t.id) and builds its sorted
 * word list with the phrases of each word. */
static int build_index(loader_t *L, pb_lang_t *lang) {
    unsigned id = 0;
    size_t ntok = 0;
    for (int s = 0; s < lang->nslots; s++)
        for (int g = 0; g < PB_LISTS; g++)
            for (unsigned i = 0; i < lang->slots[s].n[g]; i++) {
                pb_phrase_t *ph = &lang->slots[s].items[g][i];
                ph->id = id++;
                ntok += each_word(ph->folded, NULL, 0);
            }
    lang->nphrases = id;
    tok_t *t = malloc((ntok + 1) * sizeof *t);
    pb_word_t *words = arena_alloc(&L->d->arena, (ntok + 1) * sizeof *words);
    unsigned *post = arena_alloc(&L->d->arena, (ntok + 1) * sizeof *post);
    lang->by_id = arena_alloc(&L->d->arena, ((size_t)id + 1) * sizeof *lang->by_id);
    if (!t || !words || !post || !lang->by_id) {
        free(t);
        snprintf(L->err, L->errsz, "%s: out of memory", L->path);
        return -1;
    }
    size_t k = 0;
    for (int s = 0; s < lang->nslots; s++)
        for (int g = 0; g < PB_LISTS; g++)
            for (unsigned i = 0; i < lang->slots[s].n[g]; i++) {
                const pb_phrase_t *ph = &lang->slots[s].items[g][i];
                lang->by_id[ph->id] = ph;
                k += each_word(ph->folded, t + k, ph->id);
            }
    /* distinct words through a hash table (a bank holds tens of thousands
     * of word occurrences but a few thousand words): only those are sorted,
     * and the postings are filled in phrase order, so each word's phrases
     * come out ascending without sorting them */
    size_t cap = 64;
    while (cap < 2 * ntok + 2) cap <<= 1;
    unsigned *tab = malloc(cap * sizeof *tab), *wid = malloc((ntok + 1) * sizeof *wid), *rank = NULL;
    dword_t *dw = malloc((ntok + 1) * sizeof *dw);
    size_t nd = 0;
    if (!tab || !wid || !dw) goto oom;
    memset(tab, 0xff, cap * sizeof *tab);
    for (size_t i = 0; i < ntok; i++) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned c = 0; c < t[i].len; c++) h = (h ^ (unsigned char)t[i].w[c]) * 1099511628211ull;
        size_t at = (size_t)h & (cap - 1);
        while (tab[at] != UINT_MAX &&
               !(dw[tab[at]].len == t[i].len && memcmp(dw[tab[at]].w, t[i].w, t[i].len) == 0))
            at = (at + 1) & (cap - 1);
        if (tab[at] == UINT_MAX) {
            tab[at] = (unsigned)nd;
            dw[nd] = (dword_t){t[i].w, t[i].len, 0, UINT_MAX, (unsigned)nd};
            nd++;
        }
        dword_t *d = &dw[tab[at]];
        wid[i] = tab[at];
        if (d->last != t[i].id) d->n++, d->last = t[i].id; /* the word twice in one phrase counts once */
    }
    rank = malloc((nd + 1) * sizeof *rank); /* first-seen index -> place in sorted order */
    if (!rank) goto oom;
    qsort(dw, nd, sizeof *dw, dword_cmp);
    size_t np = 0;
    for (size_t r = 0; r < nd; r++) {
        rank[dw[r].seen] = (unsigned)r;
        words[r] = (pb_word_t){dw[r].w, dw[r].len, (unsigned)np, 0};
        np += dw[r].n;
    }
    for (size_t i = 0; i < ntok; i++) {
        pb_word_t *w = &words[rank[wid[i]]];
        if (w->n && post[w->first + w->n - 1] == t[i].id) continue;
        post[w->first + w->n++] = t[i].id;
    }
    size_t nw = nd;
    free(tab), free(wid), free(dw), free(rank);
    free(t);
    lang->words = words;
    lang->nwords = nw;
    lang->postings = post;
    return 0;
oom:
    free(t), free(tab), free(wid), free(dw), free(rank);
    snprintf(L->err, L->errsz, "%s: out of memory", L->path);
    return -1;
}

void pb_words_with_prefix(const pb_lang_t *L, const char *pre, size_t k, size_t *lo, size_t *hi) {
    size_t a = 0, b = L->nwords;
    while (a < b) { /* first word >= pre */
        size_t m = a + (b - a) / 2;
        if (words_cmp(L->words[m].w, L->words[m].len, pre, k) < 0) a = m + 1;
        else b = m;
    }
    *lo = a;
    while (a < L->nwords && L->words[a].len >= k && memcmp(L->words[a].w, pre, k) == 0) a++;
    *hi = a;
}

/* <lang>/use_cases.json, when there is one: lists per use case added to
 * slots the language already has. */
static int load_use_cases(loader_t *L, pb_lang_t *lang, const char *dir, const char *code) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/use_cases.json", dir, code);
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    const char *saved = L->path;
    L->path = path;
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        snprintf(L->err, L->errsz, "%s: line %d: %s", path, je.line, je.text);
        goto out;
    }
    const json_t *slots = json_object_get(root, "slots");
    if (!json_is_object(slots)) {
        snprintf(L->err, L->errsz, "%s: 'slots' must be an object of slot -> use case -> phrases", path);
        goto out;
    }
    const char *name, *key;
    const json_t *obj, *val;
    json_object_foreach((json_t *)slots, name, obj) {
        pb_slot_t *slot = NULL;
        for (int s = 0; s < lang->nslots; s++)
            if (strcmp(lang->slots[s].name, name) == 0) slot = &lang->slots[s];
        if (!slot || !json_is_object(obj)) {
            snprintf(L->err, L->errsz, "%s: 'slots.%.60s' must be an object and a slot of phrases.json", path, name);
            goto out;
        }
        json_object_foreach((json_t *)obj, key, val) {
            int u = use_case_from_name(key);
            char w[128];
            snprintf(w, sizeof w, "slots.%.50s.%.50s", name, key);
            if (u < 0) {
                snprintf(L->err, L->errsz, "%s: '%s': '%s' is not a use case of SPEC section 2", path, w, key);
                goto out;
            }
            if (load_phrases(L, lang, w, val, &slot->items[PB_USE_LIST(u)], &slot->n[PB_USE_LIST(u)]) < 0) goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    L->path = saved;
    return rc;
}

static int load_lang(copy_data_t *d, const char *dir, const char *code, char *err, size_t errsz) {
    char path[1024], rpath[1024];
    snprintf(path, sizeof path, "%s/%s/phrases.json", dir, code);
    snprintf(rpath, sizeof rpath, "%s/%s/restrictions.json", dir, code);
    loader_t L = {d, path, err, errsz, {NULL, NULL}, {0, 0}, {0, 0}};
    pb_lang_t *lang = arena_alloc(&d->arena, sizeof *lang);
    if (!lang) { snprintf(err, errsz, "%s: out of memory", path); return -1; }
    snprintf(lang->code, sizeof lang->code, "%s", code);
    if (!(lang->rules = rules_lang_load(rpath, err, errsz))) return -1;
    d->langs[d->nlangs] = lang; /* owned from here: freed by copy_data_free */
    d->rules[d->nlangs] = lang->rules;
    d->nlangs++;

    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) { snprintf(err, errsz, "%s: line %d: %s", path, je.line, je.text); return -1; }
    int rc = -1;
    const char *gnames[PB_GROUPS_MAX];
    const char *key;
    const json_t *val;
    if (!json_is_object(root)) { snprintf(err, errsz, "%s: top level must be an object", path); goto out; }

    /* tone groups: every tone in exactly one group */
    const json_t *tg = json_object_get(root, "tone_groups");
    if (!json_is_object(tg) || json_object_size(tg) == 0 || json_object_size(tg) > PB_GROUPS_MAX) {
        snprintf(err, errsz, "%s: 'tone_groups' must be an object of 1..%d groups", path, PB_GROUPS_MAX);
        goto out;
    }
    json_object_foreach((json_t *)tg, key, val) {
        int g = ++lang->ngroups;
        if (strcmp(key, "any") == 0) { snprintf(err, errsz, "%s: 'tone_groups': \"any\" is reserved", path); goto out; }
        if (tone_from_name(key) >= 0) { /* a slot key must say one thing: the group or the tone */
            snprintf(err, errsz, "%s: 'tone_groups.%s': a group may not have a tone's name (slot keys name tones too); "
                     "rename the group", path, key);
            goto out;
        }
        if (!(gnames[g - 1] = dup_str(&L, key))) goto out;
        if (!json_is_array(val)) { snprintf(err, errsz, "%s: 'tone_groups.%s' must be an array of tone names", path, key); goto out; }
        for (size_t i = 0; i < json_array_size(val); i++) {
            const char *t = json_string_value(json_array_get(val, i));
            int tone = t ? tone_from_name(t) : -1;
            if (tone < 0) { snprintf(err, errsz, "%s: 'tone_groups.%s[%zu]' is not a tone", path, key, i); goto out; }
            if (lang->tone_group[tone]) { snprintf(err, errsz, "%s: tone '%s' is in two groups", path, t); goto out; }
            lang->tone_group[tone] = g;
        }
    }
    for (int t = 0; t < TONE__COUNT; t++)
        if (!lang->tone_group[t]) { snprintf(err, errsz, "%s: tone '%s' is in no tone group", path, tone_name((tone_t)t)); goto out; }

    /* register: read before the phrases, which it marks */
    const json_t *reg = json_object_get(root, "register");
    if (reg) {
        const json_t *fg = json_object_get(reg, "formal_groups");
        if (!json_is_object(reg) || !json_is_array(fg)) {
            snprintf(err, errsz, "%s: 'register' must be an object with formal_groups, informal and formal arrays", path);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(fg); i++) {
            const char *gname = json_string_value(json_array_get(fg, i));
            int g = gname ? group_index(gnames, lang->ngroups, gname) : -1;
            if (g <= 0) { snprintf(err, errsz, "%s: 'register.formal_groups[%zu]' is not a tone group", path, i); goto out; }
            lang->formal_groups |= 1u << g;
        }
        const char *names[2] = {"informal", "formal"};
        for (int r = 0; r < 2; r++) {
            const json_t *a = json_object_get(reg, names[r]);
            char w[32];
            snprintf(w, sizeof w, "register.%s", names[r]);
            L.reg[r] = arena_alloc(&d->arena, (json_array_size(a) + 1) * sizeof *L.reg[r]);
            if (!L.reg[r] || load_str_array(&L, w, a, L.reg[r], 0, &L.nreg[r], 1) < 0) goto out;
            register_sort(&L, r);
        }
        lang->has_register = 1;
    }

    /* slots: the fixed ones first, then the framework ones in file order */
    const json_t *slots = json_object_get(root, "slots");
    if (!json_is_object(slots)) { snprintf(err, errsz, "%s: 'slots' must be an object", path); goto out; }
    lang->slots = arena_alloc(&d->arena, (json_object_size(slots) + PB_SLOT__FIXED) * sizeof *lang->slots);
    if (!lang->slots) { snprintf(err, errsz, "%s: out of memory", path); goto out; }
    for (int s = 0; s < PB_SLOT__FIXED; s++) {
        const json_t *o = json_object_get(slots, fixed_slots[s]);
        if (!o) { snprintf(err, errsz, "%s: 'slots.%s' is missing", path, fixed_slots[s]); goto out; }
        if (load_slot(&L, lang, gnames, fixed_slots[s], o, &lang->slots[s]) < 0) goto out;
    }
    lang->nslots = PB_SLOT__FIXED;
    json_object_foreach((json_t *)slots, key, val) {
        int fixed = 0;
        for (int s = 0; s < PB_SLOT__FIXED; s++) if (strcmp(key, fixed_slots[s]) == 0) fixed = 1;
        if (fixed) continue;
        if (load_slot(&L, lang, gnames, key, val, &lang->slots[lang->nslots]) < 0) goto out;
        lang->nslots++;
    }
    if (load_use_cases(&L, lang, dir, code) < 0) goto out;
    if (build_index(&L, lang) < 0) goto out;

    /* frameworks */
    const json_t *fws = json_object_get(root, "frameworks");
    if (!json_is_object(fws) || json_object_size(fws) < 2 || json_object_size(fws) > PB_FW_MAX) {
        snprintf(err, errsz, "%s: 'frameworks' must be an object of 2..%d frameworks", path, PB_FW_MAX);
        goto out;
    }
    json_object_foreach((json_t *)fws, key, val) {
        pb_framework_t *fw = &lang->fw[lang->nfw++];
        if (!(fw->name = dup_str(&L, key))) goto out;
        if (!json_is_array(val) || json_array_size(val) == 0 || json_array_size(val) > PB_FW_PARTS) {
            snprintf(err, errsz, "%s: 'frameworks.%s' must be an array of 1..%d parts", path, key, PB_FW_PARTS);
            goto out;
        }
        int has_kp = 0;
        for (size_t i = 0; i < json_array_size(val); i++) {
            const char *p = json_string_value(json_array_get(val, i));
            int part = -100;
            if (!p) p = "";
            if (strcmp(p, "@keypoints") == 0) part = PB_PART_KEYPOINTS, has_kp = 1;
            else if (strcmp(p, "@audience") == 0) part = PB_PART_AUDIENCE;
            else if (strcmp(p, "@features") == 0) part = PB_PART_FEATURES;
            else if (strcmp(p, "@brand") == 0) part = PB_PART_BRAND;
            else if (strcmp(p, "@keywords") == 0) part = PB_PART_KEYWORDS;
            else
                for (int s = PB_SLOT__FIXED; s < lang->nslots; s++)
                    if (strcmp(lang->slots[s].name, p) == 0) part = s;
            if (part == -100) {
                snprintf(err, errsz, "%s: 'frameworks.%s[%zu]': \"%s\" is neither a slot nor one of @keypoints, "
                         "@audience, @features, @brand, @keywords", path, key, i, p);
                goto out;
            }
            fw->parts[fw->nparts++] = part;
        }
        if (!has_kp) { snprintf(err, errsz, "%s: 'frameworks.%s' has no @keypoints part", path, key); goto out; }
    }

    const json_t *lms = json_object_get(root, "lower_mid_sentence");
    if (lms && !json_is_boolean(lms)) { snprintf(err, errsz, "%s: 'lower_mid_sentence' must be true or false", path); goto out; }
    lang->keep_case = lms && json_is_false(lms);

    /* list words and bullets */
    const json_t *list = json_object_get(root, "list");
    const char *andw = json_string_value(json_object_get(list, "and"));
    if (!andw || !*andw) { snprintf(err, errsz, "%s: 'list.and' must be a non-empty string", path); goto out; }
    if (!(lang->and_word = dup_str(&L, andw))) goto out;
    const char *andi = json_string_value(json_object_get(list, "and_before_i"));
    if (andi && !(lang->and_before_i = dup_str(&L, andi))) goto out;
    if (load_str_array(&L, "list.bullets", json_object_get(list, "bullets"), lang->bullets, PB_BULLETS_MAX, &lang->nbullets, 0) < 0) goto out;
    if (load_str_array(&L, "list.bullets_emoji", json_object_get(list, "bullets_emoji"), lang->bullets_emoji, PB_BULLETS_MAX,
                       &lang->nbullets_emoji, 0) < 0) goto out;
    for (int i = 0; i < lang->nbullets; i++)
        if (text_has_emoji(lang->bullets[i], strlen(lang->bullets[i]))) {
            snprintf(err, errsz, "%s: 'list.bullets[%d]' is an emoji; put it in bullets_emoji", path, i);
            goto out;
        }

    const json_t *st = json_object_get(root, "structures");
    if (st && !json_is_object(st)) { snprintf(err, errsz, "%s: 'structures' must be an object", path); goto out; }
    const json_t *beats = json_object_get(st, "video_beats");
    if (beats) {
        int nb = 0;
        if (load_str_array(&L, "structures.video_beats", beats, lang->beat_label, PB_BEATS, &nb, 0) < 0) goto out;
        if (nb != PB_BEATS) {
            snprintf(err, errsz, "%s: 'structures.video_beats' must have %d labels (hook, problem, demo, cta)", path, PB_BEATS);
            goto out;
        }
    }

    const json_t *sw = json_object_get(root, "stopwords");
    if (!json_is_array(sw)) { snprintf(err, errsz, "%s: 'stopwords' must be an array of strings", path); goto out; }
    lang->stopwords = arena_alloc(&d->arena, (json_array_size(sw) + 1) * sizeof *lang->stopwords);
    int nsw = 0;
    if (!lang->stopwords || (json_array_size(sw) && load_str_array(&L, "stopwords", sw, lang->stopwords, 0, &nsw, 1) < 0)) goto out;
    lang->nstopwords = (size_t)nsw;

    const json_t *msgs = json_object_get(root, "messages");
    for (int m = 0; m < PB_MSG__COUNT; m++) {
        const char *s = json_string_value(json_object_get(msgs, msg_keys[m]));
        if (!s || !*s) { snprintf(err, errsz, "%s: 'messages.%s' must be a non-empty string", path, msg_keys[m]); goto out; }
        if (!(lang->msg[m] = dup_str(&L, s))) goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int load_platforms(copy_data_t *d, const char *dir, char *err, size_t errsz) {
    char path[1024];
    snprintf(path, sizeof path, "%s/platforms.json", dir);
    loader_t L = {d, path, err, errsz, {NULL, NULL}, {0, 0}, {0, 0}};
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) { snprintf(err, errsz, "%s: line %d: %s", path, je.line, je.text); return -1; }
    int rc = -1;
    for (int p = 0; p < PLATFORM__COUNT; p++) {
        const char *name = platform_name((platform_t)p);
        const json_t *o = json_object_get(root, name);
        if (!json_is_object(o)) { snprintf(err, errsz, "%s: platform '%s' is missing", path, name); goto out; }
        pb_platform_t *pl = &d->platforms[p];
        struct { const char *k; int *dst; } ints[] = {
            {"headline_max", &pl->headline_max}, {"text_max", &pl->text_max}, {"total_max", &pl->total_max},
            {"hashtags_max", &pl->hashtags_max},
        };
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            const json_t *v = json_object_get(o, ints[i].k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000) {
                snprintf(err, errsz, "%s: '%s.%s' must be an integer 0..1000000", path, name, ints[i].k);
                goto out;
            }
            *ints[i].dst = (int)json_integer_value(v);
        }
        struct { const char *k; int *dst; } pairs[] = {{"hashtags_ideal", pl->hashtags_ideal}, {"text_ideal", pl->text_ideal}};
        for (size_t i = 0; i < 2; i++) {
            const json_t *v = json_object_get(o, pairs[i].k);
            const json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
            if (json_array_size(v) != 2 || !json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 ||
                json_integer_value(a) > json_integer_value(b) || json_integer_value(b) > 1000000) {
                snprintf(err, errsz, "%s: '%s.%s' must be [min, max] with 0 <= min <= max", path, name, pairs[i].k);
                goto out;
            }
            pairs[i].dst[0] = (int)json_integer_value(a);
            pairs[i].dst[1] = (int)json_integer_value(b);
        }
        if (pl->hashtags_ideal[1] > pl->hashtags_max) {
            snprintf(err, errsz, "%s: '%s.hashtags_ideal' is above hashtags_max", path, name);
            goto out;
        }
        const json_t *ml = json_object_get(o, "multiline"), *em = json_object_get(o, "emoji");
        if (!json_is_boolean(ml) || !json_is_boolean(em)) {
            snprintf(err, errsz, "%s: '%s.multiline' and '%s.emoji' must be true or false", path, name, name);
            goto out;
        }
        pl->multiline = json_is_true(ml);
        pl->emoji = json_is_true(em);
        const json_t *tips = json_object_get(o, "tips");
        for (size_t li = 0; li < d->nlangs; li++) {
            pb_lang_t *lang = d->langs[li];
            char w[96];
            snprintf(w, sizeof w, "%.40s.tips.%.8s", name, lang->code);
            const json_t *t = json_object_get(tips, lang->code);
            if (!t) {
                snprintf(err, errsz, "%s: '%s' is missing (every language folder needs tips for every platform)", path, w);
                goto out;
            }
            if (load_str_array(&L, w, t, lang->tips[p], PB_TIPS_MAX, &lang->ntips[p], 0) < 0) goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int lang_rank(const char *code) {
    for (int i = 0; brief_languages[i]; i++)
        if (strcmp(brief_languages[i], code) == 0) return i;
    return -1;
}

static int by_rank(const void *a, const void *b) {
    return lang_rank(*(const char *const *)a) - lang_rank(*(const char *const *)b);
}

copy_data_t *copy_data_load(const char *dir, char *err, size_t errsz) {
    copy_data_t *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errsz, "out of memory"); return NULL; }
    DIR *dh = opendir(dir);
    if (!dh) { snprintf(err, errsz, "%s: cannot open the data folder", dir); free(d); return NULL; }
    /* a language is a folder named by a code of brief_languages that has phrases.json */
    char codes[COPY_LANGS_MAX][8];
    const char *order[COPY_LANGS_MAX];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < COPY_LANGS_MAX) {
        if (strlen(de->d_name) >= 8 || lang_rank(de->d_name) < 0) continue;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s/phrases.json", dir, de->d_name);
        if (stat(p, &st) != 0) continue;
        memcpy(codes[n], de->d_name, strlen(de->d_name) + 1); /* < 8 bytes, checked above */
        order[n] = codes[n];
        n++;
    }
    closedir(dh);
    if (n == 0) {
        snprintf(err, errsz, "%s: no language folder (<code>/phrases.json) found", dir);
        free(d);
        return NULL;
    }
    qsort(order, n, sizeof order[0], by_rank);
    for (size_t i = 0; i < n; i++)
        if (load_lang(d, dir, order[i], err, errsz) < 0) { copy_data_free(d); return NULL; }
    if (load_platforms(d, dir, err, errsz) < 0) { copy_data_free(d); return NULL; }
    for (size_t i = 0; i < d->nlangs; i++) d->codes[i] = d->langs[i]->code;
    d->codes[d->nlangs] = NULL;
    return d;
}

void copy_data_free(copy_data_t *d) {
    if (!d) return;
    for (size_t i = 0; i < d->nlangs; i++) rules_lang_free(d->langs[i]->rules);
    arena_free(&d->arena);
    free(d);
}

const pb_lang_t *copy_data_lang(const copy_data_t *d, const char *code) {
    for (size_t i = 0; i < d->nlangs; i++)
        if (strcmp(d->langs[i]->code, code) == 0) return d->langs[i];
    return NULL;
}
