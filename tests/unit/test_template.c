/* test_template.c -- the template engine end to end: every es/en brief of the
 * shared sample set plus hand-made edge cases, checked against the output
 * contract (engine.h, SPEC section 3) and the platform limits of the SPEC
 * (written here, not read from data/, so the data cannot grade itself). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/brief.h"
#include "copy/phrasebank.h"
#include "copy/text.h"
#include "engine/engine.h"
#include "test.h"

#define FAILF(...) do { test_failed++; fprintf(stderr, "FAIL " __VA_ARGS__); fputc('\n', stderr); } while (0)

static engine_t *eng;

typedef struct limits { const char *platform; long headline, text, total, tags; } limits_t;
static const limits_t spec_limits[] = {
    {"twitter", 0, 280, 280, 30},  {"google_ads", 30, 90, 0, 0}, {"email", 50, 0, 0, 0},
    {"instagram", 0, 2200, 2200, 30}, {"linkedin", 0, 3000, 3000, 30}, {"tiktok", 0, 2200, 2200, 30},
    {"youtube", 100, 5000, 0, 30}, {"website", 0, 0, 0, 0}, {"blog", 0, 0, 0, 0}, {"facebook", 0, 63206, 63206, 30},
};

static long cps(const char *s) { return s ? (long)utf8_count(s, strlen(s)) : 0; }

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Case-insensitive whole-word search (ASCII words are enough for the lists below). */
static int has_word_ci(const char *text, const char *word) {
    size_t n = strlen(text);
    char *f = malloc(n + 1), w[64];
    text_fold(text, n, f);
    text_fold(word, strlen(word), w);
    int r = text_has_word(f, strlen(f), w, 1, 1);
    free(f);
    return r;
}

static int has_emoji_cp(const char *s) {
    size_t i = 0, n = strlen(s);
    while (i < n) {
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        if (cp >= 0x1F000 || (cp >= 0x2600 && cp <= 0x27BF)) return 1;
    }
    return 0;
}

static int count_str(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + strlen(needle), needle)) n++;
    return n;
}

static char *run_brief(const json_t *jb, arena_t *a, brief_t *b, engine_item_t *it) {
    brief_problems_t pr;
    memset(it, 0, sizeof *it);
    if (brief_from_json(jb, a, b, &pr) < 0) {
        FAILF("brief rejected: %s %s", pr.items[0].field, pr.items[0].msg);
        return NULL;
    }
    it->brief = b;
    eng->generate(eng, it, 1);
    return it->status == ENGINE_OK ? it->output : NULL;
}

static int restriction_has(const brief_t *b, const char *s) {
    for (size_t i = 0; i < b->restrictions.n; i++)
        if (strcasecmp(b->restrictions.items[i], s) == 0) return 1;
    return 0;
}

/* Checks one output; returns the parsed root (caller frees) or NULL. */
static json_t *check_output(const char *tag, const brief_t *b, const engine_item_t *it) {
    const char *out = it->output;
    if (!out) { FAILF("%s: status %d %s", tag, it->status, it->err_message); return NULL; }
    size_t len = strlen(out);
    CHECK(len == it->output_len);
    CHECK(len > 2 && strcmp(out + len - 2, "}}") == 0);
    json_error_t je;
    json_t *root = json_loads(out, 0, &je);
    if (!root) { FAILF("%s: invalid JSON: %s", tag, je.text); return NULL; }

    /* top-level keys, in order, extra_metadata last */
    static const char *const keys[] = {"variants", "best_variant_id", "confidence_score", "model_used", "generation_time",
                                       "tokens_used", "optimization_suggestions", "created_at", "extra_metadata"};
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (k >= 9 || strcmp(key, keys[k]) != 0) { FAILF("%s: key #%zu is '%s'", tag, k, key); break; }
        k++;
    }
    CHECK(k == 9);
    CHECK(json_object_get(root, "tracking_id") == NULL);
    json_t *vars = json_object_get(root, "variants");
    CHECK(json_is_array(vars) && json_array_size(vars) == (size_t)b->max_variants);
    CHECK(json_is_string(json_object_get(root, "best_variant_id")));
    double conf = json_number_value(json_object_get(root, "confidence_score"));
    CHECK(json_is_number(json_object_get(root, "confidence_score")) && conf >= 0 && conf <= 1);
    CHECK_STR(jstr(root, "model_used"), "template-v1");
    CHECK(json_is_number(json_object_get(root, "generation_time")));
    CHECK(json_integer_value(json_object_get(root, "tokens_used")) == (json_int_t)it->tokens && it->tokens > 0);
    CHECK(json_is_array(json_object_get(root, "optimization_suggestions")));
    CHECK(jstr(root, "created_at") && strlen(jstr(root, "created_at")) >= 20);
    json_t *meta = json_object_get(root, "extra_metadata");
    CHECK_STR(jstr(meta, "engine"), "template");
    CHECK_STR(jstr(meta, "language"), b->language);
    CHECK_STR(jstr(meta, "platform"), platform_name(b->platform));
    CHECK(jstr(meta, "content_type") && jstr(meta, "use_case"));
    json_t *dropped = json_object_get(meta, "dropped_key_points");
    CHECK(json_is_array(dropped));

    const limits_t *lim = NULL;
    for (size_t i = 0; i < sizeof spec_limits / sizeof spec_limits[0]; i++)
        if (strcmp(spec_limits[i].platform, platform_name(b->platform)) == 0) lim = &spec_limits[i];
    CHECK(lim != NULL);

    int best_found = 0;
    size_t vi;
    json_t *v;
    json_array_foreach(vars, vi, v) {
        const char *id = jstr(v, "variant_id"), *h = jstr(v, "headline"), *t = jstr(v, "primary_text"),
                   *cta = jstr(v, "call_to_action"), *fw = jstr(v, "framework");
        if (!id || !h || !t || !cta || !fw) { FAILF("%s: variant %zu misses a string field", tag, vi); continue; }
        char want[64];
        CHECK(strncmp(id, "tpl-", 4) == 0 && strlen(id) >= 18 && id[16] == '-');
        snprintf(want, sizeof want, "-%zu", vi + 1);
        CHECK(strcmp(id + 16, want) == 0);
        if (strcmp(id, jstr(root, "best_variant_id")) == 0) best_found = 1;
        int no_cta = b->content_type == CONTENT_EMAIL_SUBJECT || b->content_type == CONTENT_BLOG_TITLE;
        if (!*h || !*t || (!*cta && !no_cta)) FAILF("%s: variant %zu has an empty field: [%s] [%s] [%s]", tag, vi, h, t, cta);
        if (no_cta && *cta) FAILF("%s: variant %zu: a %s has a call to action", tag, vi, content_type_name(b->content_type));
        json_t *tags = json_object_get(v, "hashtags");
        CHECK(json_is_array(tags));
        CHECK(json_is_integer(json_object_get(v, "character_count")) && json_is_integer(json_object_get(v, "word_count")));
        double rd = json_number_value(json_object_get(v, "readability_score"));
        double en = json_number_value(json_object_get(v, "engagement_prediction"));
        CHECK(rd >= 0 && rd <= 100 && en >= 0 && en <= 1);
        CHECK(json_is_array(json_object_get(v, "platform_tips")) && json_array_size(json_object_get(v, "platform_tips")) > 0);
        json_t *metrics = json_object_get(v, "evaluation_metrics");
        CHECK(json_is_array(metrics) && json_array_size(metrics) >= 6);
        size_t mi;
        json_t *m;
        json_array_foreach(metrics, mi, m) CHECK(jstr(m, "name") && json_is_number(json_object_get(m, "value")));
        json_t *comp = json_object_get(v, "compliance");
        CHECK(json_is_boolean(json_object_get(comp, "passed")) && json_is_array(json_object_get(comp, "rules")) &&
              json_is_array(json_object_get(comp, "violations")) && json_is_array(json_object_get(comp, "not_understood")));

        /* character_count is the post as published */
        char *post = NULL;
        size_t plen = 0;
        FILE *ps = open_memstream(&post, &plen);
        fprintf(ps, "%s\n\n%s", h, t);
        /* empty parts are left out; a video script speaks its CTA as its last line */
        int spoken = b->content_type == CONTENT_VIDEO_SCRIPT && *cta && strstr(jstr(v, "primary_text"), cta);
        if (*cta && !spoken) fprintf(ps, "\n\n%s", cta);
        size_t ti;
        json_t *tg;
        json_array_foreach(tags, ti, tg) {
            const char *s = json_string_value(tg);
            CHECK(s && s[0] == '#' && s[1] && !strchr(s, ' '));
            fprintf(ps, "%s%s", ti ? " " : "\n\n", s ? s : "");
        }
        fclose(ps);
        long chars = cps(post);
        if (json_integer_value(json_object_get(v, "character_count")) != chars)
            FAILF("%s: character_count %lld, post has %ld: %s", tag, (long long)json_integer_value(json_object_get(v, "character_count")), chars, post);

        /* platform limits of the SPEC */
        if (lim->headline && cps(h) > lim->headline) FAILF("%s: headline %ld > %ld: %s", tag, cps(h), lim->headline, h);
        if (lim->text && cps(t) > lim->text) FAILF("%s: primary_text %ld > %ld", tag, cps(t), lim->text);
        if (lim->total && chars > lim->total) FAILF("%s: post %ld > %ld", tag, chars, lim->total);
        if ((long)json_array_size(tags) > lim->tags) FAILF("%s: %zu hashtags > %ld", tag, json_array_size(tags), lim->tags);
        if (b->max_length && cps(t) > b->max_length) FAILF("%s: primary_text %ld > max_length %d", tag, cps(t), b->max_length);
        if (b->call_to_action) CHECK_STR(cta, b->call_to_action);

        /* key points verbatim unless reported dropped */
        for (size_t i = 0; i < b->key_points.n; i++) {
            const char *kp = b->key_points.items[i];
            int was_dropped = 0;
            size_t di;
            json_t *d;
            json_array_foreach(dropped, di, d) if (strcmp(json_string_value(d), kp) == 0) was_dropped = 1;
            if (!was_dropped && !strstr(t, kp) && !strstr(h, kp)) FAILF("%s: variant %zu lacks key point '%s'", tag, vi, kp);
        }

        /* restrictions obeyed */
        if (restriction_has(b, "no mencionar precio") || restriction_has(b, "no price mentions") ||
            restriction_has(b, "não mencionar preço") || restriction_has(b, "ne pas mentionner le prix") ||
            restriction_has(b, "non menzionare il prezzo") || restriction_has(b, "keine Preise erwähnen")) {
            static const char *const pw[] = {"precio", "gratis", "descuento", "oferta", "barato", "price", "free",
                                             "discount", "cheap", "cost", "pricing", "preço", "grátis", "desconto",
                                             "prix", "gratuit", "remise", "prezzo", "sconto", "Preis", "kostenlos",
                                             "Rabatt", NULL};
            for (int i = 0; pw[i]; i++) if (has_word_ci(post, pw[i])) FAILF("%s: price word '%s' in %s", tag, pw[i], post);
            CHECK(!strchr(post, '$') && !strstr(post, "\xE2\x82\xAC") && !strchr(post, '%'));
        }
        if (restriction_has(b, "sin emojis") || restriction_has(b, "no emojis") || restriction_has(b, "sem emojis") ||
            restriction_has(b, "sans emojis") || restriction_has(b, "senza emoji") || restriction_has(b, "keine Emojis"))
            CHECK(!has_emoji_cp(post));
        if (restriction_has(b, "no hashtags") || restriction_has(b, "sin hashtags") || restriction_has(b, "sem hashtags") ||
            restriction_has(b, "sans hashtags") || restriction_has(b, "senza hashtag") || restriction_has(b, "ohne Hashtags")) {
            CHECK(json_array_size(tags) == 0);
            CHECK(!strchr(post, '#'));
        }
        if (restriction_has(b, "avoid the word healthy") && !has_word_ci(b->product_description, "healthy"))
            CHECK(!has_word_ci(post, "healthy"));
        if (b->platform == PLATFORM_EMAIL || b->platform == PLATFORM_GOOGLE_ADS || b->platform == PLATFORM_WEBSITE ||
            b->platform == PLATFORM_BLOG)
            CHECK(json_array_size(tags) == 0);

        /* typography: no doubled spaces or stops, Spanish opening marks */
        if (strstr(post, "  ") || strstr(post, "..") || strstr(post, " .") || strstr(post, " ,") || strstr(post, ",,"))
            FAILF("%s: doubled space/punctuation in: %s", tag, post);
        for (const char *p = strstr(post, ". "); p; p = strstr(p + 1, ". "))
            if (p[2] >= 'a' && p[2] <= 'z') FAILF("%s: sentence starts lower-case: %.30s", tag, p);
        if (strcmp(b->language, "es") == 0) {
            CHECK(count_str(post, "?") == count_str(post, "\xC2\xBF"));
            CHECK(count_str(post, "!") == count_str(post, "\xC2\xA1"));
        }
        /* French: a no-break space before : ; ! ? and typographic apostrophes */
        if (strcmp(b->language, "fr") == 0) {
            for (const char *p = post; *p; p++)
                if (strchr(":;!?", *p) && !(p - post >= 2 && (unsigned char)p[-2] == 0xC2 && (unsigned char)p[-1] == 0xA0) &&
                    !(p - post >= 3 && (unsigned char)p[-3] == 0xE2 && (unsigned char)p[-2] == 0x80 && (unsigned char)p[-1] == 0xAF))
                    FAILF("%s: '%c' without a no-break space before it: %.40s", tag, *p, p > post + 20 ? p - 20 : post);
            if (strchr(post, '\'')) FAILF("%s: straight apostrophe in French copy: %s", tag, post);
        }
        free(post);
    }
    CHECK(best_found);
    /* pairwise different */
    for (size_t i = 0; i < json_array_size(vars); i++)
        for (size_t j = i + 1; j < json_array_size(vars); j++) {
            json_t *a = json_array_get(vars, i), *c = json_array_get(vars, j);
            if (strcmp(jstr(a, "headline"), jstr(c, "headline")) == 0 && strcmp(jstr(a, "primary_text"), jstr(c, "primary_text")) == 0 &&
                strcmp(jstr(a, "call_to_action"), jstr(c, "call_to_action")) == 0)
                FAILF("%s: variants %zu and %zu are the same", tag, i, j);
        }
    return root;
}

/* Generates twice; checks the output and that the variants repeat exactly. */
static json_t *gen_checked(const char *tag, const json_t *jb, brief_t *b, arena_t *a) {
    engine_item_t it1, it2;
    run_brief(jb, a, b, &it1);
    json_t *root = check_output(tag, b, &it1);
    brief_t b2;
    run_brief(jb, a, &b2, &it2);
    if (root && it2.output) {
        json_t *r2 = json_loads(it2.output, 0, NULL);
        char *s1 = json_dumps(json_object_get(root, "variants"), JSON_COMPACT);
        char *s2 = json_dumps(json_object_get(r2, "variants"), JSON_COMPACT);
        if (!s1 || !s2 || strcmp(s1, s2) != 0) FAILF("%s: not deterministic", tag);
        else test_passed++;
        CHECK_STR(jstr(root, "best_variant_id"), jstr(r2, "best_variant_id"));
        free(s1);
        free(s2);
        json_decref(r2);
    }
    free(it1.output);
    free(it2.output);
    return root;
}

static json_t *brief_json(const char *text) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) FAILF("bad test brief: %s", je.text);
    return j;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    if (p) p[n] = '\0';
    fclose(f);
    return p;
}

/* The word index of every language (phrasebank.h, pb_word_t) against a
 * plain reading of the phrases: sorted, complete, and each word's phrases
 * exactly those that hold it. The engine rules phrases out by banned word
 * through this index only, so a word missing here would let one through. */
static int token_byte(unsigned char c) { return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

static int holds_token(const char *f, const char *w, size_t k) {
    for (size_t i = 0; f[i];) {
        if (!token_byte((unsigned char)f[i])) { i++; continue; }
        size_t st = i;
        while (f[i] && token_byte((unsigned char)f[i])) i++;
        if (i - st == k && memcmp(f + st, w, k) == 0) return 1;
    }
    return 0;
}

static void check_word_index(const char *data) {
    char err[512];
    copy_data_t *d = copy_data_load(data, err, sizeof err);
    if (!d) { FAILF("copy_data_load: %s", err); return; }
    for (size_t li = 0; li < d->nlangs; li++) {
        const pb_lang_t *L = d->langs[li];
        CHECK(L->nphrases > 0 && L->nwords > 0);
        unsigned seen = 0, bad = 0;
        for (int s = 0; s < L->nslots; s++)
            for (int g = 0; g < PB_LISTS; g++)
                for (unsigned i = 0; i < L->slots[s].n[g]; i++) {
                    const pb_phrase_t *ph = &L->slots[s].items[g][i];
                    seen++;
                    if (ph->id >= L->nphrases || L->by_id[ph->id] != ph) bad++;
                    /* every word of the phrase is listed, with the phrase */
                    const char *f = ph->folded;
                    for (size_t k = 0; f[k];) {
                        if (!token_byte((unsigned char)f[k])) { k++; continue; }
                        size_t st = k;
                        while (f[k] && token_byte((unsigned char)f[k])) k++;
                        size_t lo, hi, found = 0;
                        pb_words_with_prefix(L, f + st, k - st, &lo, &hi);
                        for (size_t w = lo; w < hi; w++) {
                            if (L->words[w].len != k - st) continue;
                            for (unsigned q = 0; q < L->words[w].n; q++) found |= L->postings[L->words[w].first + q] == ph->id;
                        }
                        if (!found) { bad++; FAILF("%s: '%.*s' of \"%s\" is not in the word index", L->code, (int)(k - st), f + st, ph->text); }
                    }
                }
        CHECK(seen == L->nphrases);
        CHECK(bad == 0);
        /* sorted and unique; each word's phrases ascending and holding it */
        for (size_t w = 0; w < L->nwords; w++) {
            const pb_word_t *x = &L->words[w];
            if (w) {
                const pb_word_t *p = &L->words[w - 1];
                size_t m = p->len < x->len ? p->len : x->len;
                int c = memcmp(p->w, x->w, m);
                if (c > 0 || (c == 0 && p->len >= x->len)) { FAILF("%s: words %zu and %zu out of order", L->code, w - 1, w); break; }
            }
            for (unsigned q = 0; q < x->n; q++) {
                unsigned id = L->postings[x->first + q];
                if ((q && id <= L->postings[x->first + q - 1]) || id >= L->nphrases || !holds_token(L->by_id[id]->folded, x->w, x->len)) {
                    FAILF("%s: bad phrase list for '%.*s'", L->code, (int)x->len, x->w);
                    break;
                }
            }
        }
        /* a prefix finds exactly the words that start with it */
        const char *prefixes[] = {"ca", "pro", "e", "zzzq", "calidad", "gara"};
        for (size_t pi = 0; pi < sizeof prefixes / sizeof prefixes[0]; pi++) {
            size_t k = strlen(prefixes[pi]), lo, hi, want = 0;
            pb_words_with_prefix(L, prefixes[pi], k, &lo, &hi);
            for (size_t w = 0; w < L->nwords; w++) want += L->words[w].len >= k && memcmp(L->words[w].w, prefixes[pi], k) == 0;
            CHECK(hi - lo == want && lo <= hi && hi <= L->nwords);
        }
    }
    copy_data_free(d);
}

/* Bans the most used words of each language's phrases (brand_voice.dont_use)
 * and checks that no variant writes one: the engine rules the phrases out
 * through the word index, so every word it lists must hold. */
static void check_banned_vocabulary(const char *data) {
    char err[512];
    copy_data_t *d = copy_data_load(data, err, sizeof err);
    if (!d) { FAILF("copy_data_load: %s", err); return; }
    for (size_t li = 0; li < d->nlangs; li++) {
        const pb_lang_t *L = d->langs[li];
        char words[6][48];
        int nw = 0;
        unsigned used[6] = {0};
        for (size_t w = 0; w < L->nwords; w++) { /* the six in most phrases, plain ASCII, 5+ letters */
            const pb_word_t *x = &L->words[w];
            int plain = x->len >= 5 && x->len < 48;
            for (unsigned k = 0; plain && k < x->len; k++) plain = x->w[k] >= 'a' && x->w[k] <= 'z';
            if (!plain || !strncmp(x->w, "product", 7) || !strncmp(x->w, "audience", 8) || !strncmp(x->w, "keywords", 8)) continue;
            int at = nw < 6 ? nw++ : -1;
            if (at < 0) { /* replace the least used when this one is used more */
                int m = 0;
                for (int k = 1; k < 6; k++) if (used[k] < used[m]) m = k;
                if (x->n <= used[m]) continue;
                at = m;
            }
            used[at] = x->n;
            snprintf(words[at], sizeof words[at], "%.*s", (int)x->len, x->w);
        }
        CHECK(nw == 6);
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"product_description\":\"Zentrix X9\",\"target_platform\":\"Facebook\",\"tone\":\"friendly\","
                 "\"language\":\"%s\",\"key_points\":[\"Zentrix one\",\"Zentrix two\"],\"max_variants\":5,"
                 "\"brand_voice\":{\"dont_use\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}}",
                 L->code, words[0], words[1], words[2], words[3], words[4], words[5]);
        json_t *jb = brief_json(text);
        arena_t a = ARENA_INIT;
        brief_t b;
        char tag[48];
        snprintf(tag, sizeof tag, "banned vocabulary %s", L->code);
        json_t *root = jb ? gen_checked(tag, jb, &b, &a) : NULL;
        CHECK(root != NULL);
        json_t *vars = json_object_get(root, "variants");
        CHECK(json_array_size(vars) == 5);
        for (size_t v = 0; v < json_array_size(vars); v++) {
            json_t *var = json_array_get(vars, v);
            const char *keys[3] = {"headline", "primary_text", "call_to_action"};
            for (int k = 0; k < 3; k++) {
                const char *t = jstr(var, keys[k]);
                if (!t) continue;
                size_t n = strlen(t);
                char *f = malloc(n + 1);
                if (!f) continue;
                size_t fl = text_fold(t, n, f);
                for (int w = 0; w < nw; w++)
                    if (text_has_word(f, fl, words[w], 1, 0)) FAILF("%s variant %zu: banned '%s' in %s: %s", tag, v, words[w], keys[k], t);
                free(f);
            }
            CHECK(json_is_true(json_object_get(json_object_get(var, "compliance"), "passed")));
        }
        json_decref(root);
        json_decref(jb);
        arena_free(&a);
    }
    copy_data_free(d);
}

/* The shape each content_type asks for, in every language: the limits of the
 * issue "Copy that obeys the brief" and the beat labels read from the
 * language's phrases.json (the labels themselves are data; that every line
 * starts with one is what is tested). */

/* 1 when `text` is one of the phrases of list `li` of slot `slot` in `L`. */
static int in_list(const pb_lang_t *L, const char *slot, int li, const char *text) {
    for (int s = 0; s < L->nslots; s++) {
        if (strcmp(L->slots[s].name, slot) != 0) continue;
        for (unsigned i = 0; i < L->slots[s].n[li]; i++)
            if (strcmp(L->slots[s].items[li][i].text, text) == 0) return 1;
    }
    return 0;
}

static unsigned list_size(const pb_lang_t *L, const char *slot, int li) {
    for (int s = 0; s < L->nslots; s++)
        if (strcmp(L->slots[s].name, slot) == 0) return L->slots[s].n[li];
    return 0;
}

/* Runs brief `body` through the engine (output checked) and counts the
 * variants whose call to action is a phrase of list `li` of the cta slot. */
static unsigned ctas_from(const pb_lang_t *L, int li, const char *body, const char *tag) {
    json_t *jb = json_loads(body, 0, NULL);
    arena_t a = ARENA_INIT;
    brief_t b;
    engine_item_t it;
    run_brief(jb, &a, &b, &it);
    json_t *root = check_output(tag, &b, &it);
    unsigned own = 0;
    size_t vi;
    json_t *v;
    json_array_foreach(json_object_get(root, "variants"), vi, v) own += in_list(L, "cta", li, jstr(v, "call_to_action"));
    json_decref(root);
    json_decref(jb);
    free(it.output);
    arena_free(&a);
    return own;
}

/* What a brief asks for decides which phrases speak: its tone's own list,
 * its use case's calls to action, the words of brand_voice.do_use. */
static void test_voice(const char *data) {
    char err[256];
    copy_data_t *d = copy_data_load(data, err, sizeof err);
    CHECK(d != NULL);
    if (!d) return;
    static const char *const langs[] = {"es", "en", "pt", "fr", "it", "de"};
    static const char *const tones[] = {"humorous", "empathetic", "storytelling", "urgent", "formal"};
    for (size_t l = 0; l < 6; l++) {
        const pb_lang_t *L = copy_data_lang(d, langs[l]);
        if (!L) { FAILF("%s: not loaded", langs[l]); continue; }
        for (size_t t = 0; t < sizeof tones / sizeof tones[0]; t++) {
            int tone = tone_from_name(tones[t]);
            unsigned n = list_size(L, "cta", PB_TONE_LIST(tone));
            if (n == 0) { FAILF("%s: tone %s has no calls to action of its own", langs[l], tones[t]); continue; }
            char body[512], tag[64];
            snprintf(body, sizeof body,
                     "{\"product_description\":\"X1\",\"target_platform\":\"facebook\",\"tone\":\"%s\","
                     "\"language\":\"%s\",\"key_points\":[\"K1\"]}", tones[t], langs[l]);
            snprintf(tag, sizeof tag, "voice %s %s", langs[l], tones[t]);
            /* the tone's own list is walked first: variant i takes its i-th
             * usable phrase while the list lasts */
            unsigned own = ctas_from(L, PB_TONE_LIST(tone), body, tag), want = n < 5 ? n : 5;
            if (own < (want + 1) / 2) FAILF("%s: %u of the CTAs come from the tone's own %u", tag, own, n);
            else test_passed++;
        }
        /* a use case's calls to action (data/<lang>/use_cases.json) */
        int u = use_case_from_name("app_download");
        unsigned nu = list_size(L, "cta", PB_USE_LIST(u));
        if (!nu) FAILF("%s: no calls to action for the use case app_download", langs[l]);
        else {
            char body[512], tag[64];
            snprintf(body, sizeof body,
                     "{\"product_description\":\"X1\",\"target_platform\":\"instagram\",\"tone\":\"friendly\","
                     "\"language\":\"%s\",\"use_case\":\"app_download\"}", langs[l]);
            snprintf(tag, sizeof tag, "use case %s", langs[l]);
            unsigned own = ctas_from(L, PB_USE_LIST(u), body, tag);
            if (own < 2) FAILF("%s: %u of the CTAs come from the use case's %u", tag, own, nu);
            else test_passed++;
        }
    }
    /* brand_voice.do_use: a word the phrase bank has is written (and
     * reported used); one it has not is reported missing, never forced in */
    {
        const char *body = "{\"product_description\":\"Zapatillas ligeras\",\"target_platform\":\"instagram\","
                           "\"tone\":\"friendly\",\"language\":\"es\",\"brand_voice\":{\"do_use\":[\"detalle\",\"xilofonazo\"]}}";
        json_t *jb = json_loads(body, 0, NULL);
        arena_t a = ARENA_INIT;
        brief_t b;
        engine_item_t it;
        run_brief(jb, &a, &b, &it);
        json_t *root = check_output("do_use", &b, &it);
        json_t *du = json_object_get(json_object_get(root, "extra_metadata"), "brand_voice_do_use");
        CHECK(json_array_size(json_object_get(du, "used")) == 1);
        CHECK_STR(json_string_value(json_array_get(json_object_get(du, "used"), 0)), "detalle");
        CHECK_STR(json_string_value(json_array_get(json_object_get(du, "missing"), 0)), "xilofonazo");
        unsigned with = 0;
        size_t vi;
        json_t *v;
        json_array_foreach(json_object_get(root, "variants"), vi, v) {
            char all[4096];
            snprintf(all, sizeof all, "%s %s %s", jstr(v, "headline"), jstr(v, "primary_text"), jstr(v, "call_to_action"));
            with += has_word_ci(all, "detalle") || has_word_ci(all, "detalles");
        }
        CHECK(with >= 3); /* preferred in every slot that has such phrases */
        json_decref(root);
        json_decref(jb);
        free(it.output);
        arena_free(&a);
    }
    copy_data_free(d);
}

static void test_content_types(const char *data) {
    static const char *const langs[] = {"es", "en", "pt", "fr", "it", "de"};
    static const char *const kp[2] = {"K1 alpha", "K2 beta"};
    static const struct { const char *ct, *platform; } cases[] = {
        {"email_subject", "email"}, {"email_body", "email"}, {"ad_copy", "google_ads"}, {"video_script", "tiktok"},
        {"video_script", "youtube"}, {"blog_title", "blog"}, {"press_release", "website"},
        {"landing_page", "website"}, {"product_description", "website"}, {NULL, "tiktok"}, {NULL, "email"},
    };
    char err[256];
    copy_data_t *d = copy_data_load(data, err, sizeof err);
    if (!d) { FAILF("copy_data_load: %s", err); return; }
    for (size_t li = 0; li < sizeof langs / sizeof langs[0]; li++) {
        const pb_lang_t *L = copy_data_lang(d, langs[li]);
        CHECK(L != NULL);
        if (!L) continue;
        for (int k = 0; k < PB_BEATS; k++) CHECK(L->beat_label[k] && *L->beat_label[k]);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            json_t *jb = json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:i}", "product_description", "Zeta 3000 running shoes",
                                   "target_platform", cases[ci].platform, "language", langs[li], "tone", "friendly",
                                   "key_points", kp[0], kp[1], "max_variants", 3);
            if (cases[ci].ct) json_object_set_new(jb, "content_type", json_string(cases[ci].ct));
            arena_t a = ARENA_INIT;
            brief_t b;
            char tag[80];
            snprintf(tag, sizeof tag, "%s/%s/%s", langs[li], cases[ci].ct ? cases[ci].ct : "default", cases[ci].platform);
            json_t *root = gen_checked(tag, jb, &b, &a);
            size_t vi;
            json_t *v;
            json_array_foreach(json_object_get(root, "variants"), vi, v) {
                const char *h = jstr(v, "headline"), *t = jstr(v, "primary_text"), *cta = jstr(v, "call_to_action");
                if (!h || !t || !cta) continue;
                int has_kp = strstr(t, kp[0]) && strstr(t, kp[1]);
                switch (b.content_type) {
                case CONTENT_EMAIL_SUBJECT:
                    if (!*h || cps(h) > 50 || cps(t) > 90 || strchr(t, '\n') || *cta)
                        FAILF("%s: not a subject + preheader: [%s] [%s] [%s]", tag, h, t, cta);
                    else test_passed++;
                    break;
                case CONTENT_EMAIL_BODY:
                    if (!*h || cps(h) > 50 || !*cta || !has_kp) FAILF("%s: not a subject + body + CTA: [%s] [%s]", tag, h, t);
                    else test_passed++;
                    break;
                case CONTENT_AD_COPY:
                    if (!*h || cps(h) > 30 || cps(t) > 90 || !*t) FAILF("%s: not 30 + 90: [%s] [%s]", tag, h, t);
                    else test_passed++;
                    break;
                case CONTENT_VIDEO_SCRIPT: {
                    /* beats in order, one per line, each starting with its label */
                    const char *line = t;
                    int k = 0, ok = 1, lines = 0;
                    while (line && *line) {
                        const char *nl = strchr(line, '\n');
                        int found = 0;
                        for (; k < PB_BEATS && !found; k++)
                            found = strncmp(line, L->beat_label[k], strlen(L->beat_label[k])) == 0;
                        if (!found) ok = 0;
                        lines++;
                        line = nl ? nl + 1 : NULL;
                    }
                    if (!ok || lines < 3 || strncmp(t, L->beat_label[PB_BEAT_HOOK], strlen(L->beat_label[PB_BEAT_HOOK])) != 0 ||
                        !has_kp || !strstr(t, L->beat_label[PB_BEAT_DEMO]) || !strstr(t, L->beat_label[PB_BEAT_CTA]) ||
                        strstr(t, "\n\n") || cps(t) > 2200)
                        FAILF("%s: not a script of labelled beats: [%s]", tag, t);
                    else test_passed++;
                    break;
                }
                case CONTENT_BLOG_TITLE:
                    if (!*h || cps(h) > 70 || !*t || cps(t) > 200 || strchr(t, '\n') || *cta)
                        FAILF("%s: not a title + standfirst: [%s] [%s]", tag, h, t);
                    else test_passed++;
                    break;
                case CONTENT_PRESS_RELEASE: {
                    /* one lead paragraph, then the key points, one per line */
                    const char *br = strstr(t, "\n\n");
                    if (!*h || !br || br == t || memchr(t, '\n', (size_t)(br - t)) || strstr(br + 2, "\n\n") || !has_kp ||
                        strstr(t, kp[0]) < br || count_str(br + 2, "\n") < 1)
                        FAILF("%s: not a lead + key points: [%s]", tag, t);
                    else test_passed++;
                    break;
                }
                case CONTENT_LANDING_PAGE: case CONTENT_PRODUCT_DESCRIPTION:
                    if (!*h || count_str(t, "\n\n") < 1 || !has_kp) FAILF("%s: not headline + paragraphs: [%s] [%s]", tag, h, t);
                    else test_passed++;
                    break;
                default:
                    FAILF("%s: unexpected content_type %s", tag, content_type_name(b.content_type));
                }
            }
            if (!cases[ci].ct) /* the platform's default */
                CHECK(b.content_type == (strcmp(cases[ci].platform, "email") == 0 ? CONTENT_EMAIL_BODY : CONTENT_VIDEO_SCRIPT));
            json_decref(root);
            json_decref(jb);
            arena_free(&a);
        }
    }
    copy_data_free(d);
}

int main(void) {
    const char *src = getenv("COPYD_SOURCE_DIR");
    if (!src) src = ".";
    char data[1024], shared[1024], path[1200], err[512];
    snprintf(data, sizeof data, "%s/data", src);
    if (getenv("COPYD_SHARED")) snprintf(shared, sizeof shared, "%s", getenv("COPYD_SHARED"));
    else snprintf(shared, sizeof shared, "%s/../shared", src);

    eng = template_engine_create(data, err, sizeof err);
    if (!eng) { FAILF("template_engine_create: %s", err); TEST_DONE(); }
    CHECK_STR(eng->name, "template");
    CHECK_STR(eng->models[0], "template-v1");
    CHECK(eng->models[1] == NULL);
    char langs[64];
    engine_language_list(eng, langs, sizeof langs);
    CHECK_STR(langs, "es, en, fr, pt, it, de");
    CHECK(engine_speaks(eng, "es") && engine_speaks(eng, "en") && engine_speaks(eng, "fr") && engine_speaks(eng, "pt") &&
          engine_speaks(eng, "it") && engine_speaks(eng, "de") && !engine_speaks(eng, "nl"));
    char why[64];
    CHECK(eng->ready(eng, why, sizeof why) == 1);

    /* every brief of the shared sample set (es, en, pt, fr, it, de) */
    snprintf(path, sizeof path, "%s/briefs/sample.json", shared);
    json_error_t je;
    json_t *all = json_load_file(path, 0, &je);
    if (!all) FAILF("%s: %s", path, je.text);
    size_t i, ran = 0;
    json_t *jb;
    json_array_foreach(all, i, jb) {
        arena_t a = ARENA_INIT;
        brief_t b;
        char tag[32];
        snprintf(tag, sizeof tag, "sample[%zu]", i);
        json_t *root = gen_checked(tag, jb, &b, &a);
        if (root) {
            ran++;
            size_t vi;
            json_t *v;
            json_array_foreach(json_object_get(root, "variants"), vi, v)
                CHECK(json_is_true(json_object_get(json_object_get(v, "compliance"), "passed")));
        }
        json_decref(root);
        arena_free(&a);
    }
    CHECK(ran >= 13);
    json_decref(all);

    /* each language end to end: restrictions in that language are understood
     * and obeyed, the copy is in that language (its own call to action and
     * tips), and the checks of check_output() hold */
    {
        static const struct {
            const char *lang, *product, *kp, *r_price, *r_emoji, *r_word, *banned;
        } L6[] = {
            {"es", "Zapatillas de running ligeras", "Suela de carbono", "no mencionar precio", "sin emojis",
             "evitar la palabra revolucionario", "revolucionario"},
            {"en", "Lightweight running shoes", "Carbon plate sole", "no price mentions", "no emojis",
             "avoid the word revolutionary", "revolutionary"},
            {"pt", "Tênis de corrida leve", "Sola de carbono", "não mencionar preço", "sem emojis",
             "evitar a palavra revolucionário", "revolucionário"},
            {"fr", "Chaussures de course légères", "Semelle en carbone", "ne pas mentionner le prix", "sans emojis",
             "ne pas utiliser le mot révolutionnaire", "révolutionnaire"},
            {"it", "Scarpe da corsa leggere", "Suola in carbonio", "non menzionare il prezzo", "senza emoji",
             "evitare la parola rivoluzionario", "rivoluzionario"},
            {"de", "Leichte Laufschuhe", "Carbonsohle", "keine Preise erwähnen", "keine Emojis",
             "das Wort revolutionär vermeiden", "revolutionär"},
        };
        static const char *const platforms[] = {"instagram", "twitter", "google_ads", "email", "linkedin", "tiktok"};
        char first_tip[6][6][256]; /* [language][platform]: the answer is in the language asked, not another one */
        for (size_t li = 0; li < sizeof L6 / sizeof L6[0]; li++) {
            for (size_t pi = 0; pi < sizeof platforms / sizeof platforms[0]; pi++) {
                char body[2048], tag[48];
                snprintf(body, sizeof body,
                         "{\"product_description\":\"%s\",\"target_platform\":\"%s\",\"tone\":\"%s\",\"language\":\"%s\","
                         "\"key_points\":[\"%s\"],\"restrictions\":[\"%s\",\"%s\",\"%s\"],\"creativity_level\":%.2f}",
                         L6[li].product, platforms[pi], pi % 2 ? "playful" : "professional", L6[li].lang, L6[li].kp,
                         L6[li].r_price, L6[li].r_emoji, L6[li].r_word, 0.2 + 0.15 * (double)pi);
                snprintf(tag, sizeof tag, "%s-%s", L6[li].lang, platforms[pi]);
                arena_t a = ARENA_INIT;
                brief_t b;
                json_t *j = brief_json(body);
                json_t *root = gen_checked(tag, j, &b, &a);
                snprintf(first_tip[li][pi], sizeof first_tip[li][pi], "%s",
                         json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(root, "variants"), 0),
                                                                          "platform_tips"), 0)) ?: "");
                for (size_t lj = 0; lj < li; lj++)
                    if (strcmp(first_tip[lj][pi], first_tip[li][pi]) == 0) FAILF("%s: same tip as %s", tag, L6[lj].lang);
                size_t vi;
                json_t *v;
                json_array_foreach(json_object_get(root, "variants"), vi, v) {
                    json_t *comp = json_object_get(v, "compliance");
                    if (!json_is_true(json_object_get(comp, "passed"))) FAILF("%s: variant %zu not compliant", tag, vi);
                    CHECK(json_array_size(json_object_get(comp, "rules")) == 3);
                    CHECK(json_array_size(json_object_get(comp, "not_understood")) == 0);
                    const char *t = jstr(v, "primary_text"), *h = jstr(v, "headline"), *c = jstr(v, "call_to_action");
                    if (has_word_ci(t, L6[li].banned) || has_word_ci(h, L6[li].banned) || has_word_ci(c, L6[li].banned))
                        FAILF("%s: banned word in variant %zu", tag, vi);
                    CHECK(!has_emoji_cp(t) && !has_emoji_cp(h));
                }
                json_decref(root);
                json_decref(j);
                arena_free(&a);
            }
        }
    }

    /* a language the engine does not write */
    {
        arena_t a = ARENA_INIT;
        brief_t b;
        engine_item_t it;
        json_t *j = brief_json("{\"product_description\":\"Schoenen\",\"target_platform\":\"instagram\",\"tone\":\"casual\",\"language\":\"nl\"}");
        CHECK(run_brief(j, &a, &b, &it) == NULL);
        CHECK(it.status == ENGINE_ERR_LANGUAGE);
        CHECK_STR(it.err_field, "language");
        CHECK_STR(it.err_message, "engine 'template' cannot write language 'nl'; it writes: es, en, fr, pt, it, de");
        CHECK(it.output == NULL);
        json_decref(j);
        arena_free(&a);
    }

    /* twitter with long key points: some must go, and the output says which */
    {
        arena_t a = ARENA_INIT;
        brief_t b;
        json_t *j = brief_json("{\"product_description\":\"Auriculares inalámbricos con cancelación activa de ruido\","
            "\"target_platform\":\"x\",\"tone\":\"witty\",\"language\":\"es\",\"target_audience\":\"Profesionales que viajan\","
            "\"keywords\":[\"audio\",\"viajes\"],\"key_points\":[\"Hasta 40 horas de batería con una sola carga completa\","
            "\"Cancelación de ruido adaptativa que se ajusta a tu entorno en tiempo real\","
            "\"Micrófonos duales para llamadas nítidas incluso en la calle más ruidosa\","
            "\"Estuche de carga compacto y resistente que cabe en cualquier bolsillo\"]}");
        json_t *root = gen_checked("twitter-long", j, &b, &a);
        json_t *dropped = json_object_get(json_object_get(root, "extra_metadata"), "dropped_key_points");
        CHECK(json_array_size(dropped) > 0);
        int mentioned = 0;
        size_t si;
        json_t *s;
        json_array_foreach(json_object_get(root, "optimization_suggestions"), si, s)
            if (json_array_size(dropped) && strstr(json_string_value(s), json_string_value(json_array_get(dropped, 0)))) mentioned = 1;
        CHECK(mentioned);
        json_decref(root);
        json_decref(j);
        arena_free(&a);
    }

    /* google ads, many variants, high creativity: limits hold and all 20 differ */
    {
        arena_t a = ARENA_INIT;
        brief_t b;
        json_t *j = brief_json("{\"product_description\":\"Software de contabilidad en la nube para autónomos\","
            "\"target_platform\":\"Google Ads\",\"tone\":\"professional\",\"language\":\"es\",\"creativity_level\":\"innovative\","
            "\"key_points\":[\"Facturas en un clic\"],\"variant_settings\":{\"max_variants\":20}}");
        json_t *root = gen_checked("gads-20", j, &b, &a);
        CHECK(json_array_size(json_object_get(root, "variants")) == 20);
        /* frameworks spread across variants */
        const char *first = jstr(json_array_get(json_object_get(root, "variants"), 0), "framework");
        int other = 0;
        size_t vi;
        json_t *v;
        json_array_foreach(json_object_get(root, "variants"), vi, v) other |= first && strcmp(jstr(v, "framework"), first) != 0;
        CHECK(other);
        json_decref(root);
        json_decref(j);
        arena_free(&a);
    }

    /* the brief's own text breaks a rule: reported, not hidden; unknown restriction listed */
    {
        arena_t a = ARENA_INIT;
        brief_t b;
        json_t *j = brief_json("{\"product_description\":\"Healthy snacks for busy people\",\"target_platform\":\"linkedin\","
            "\"tone\":\"formal\",\"language\":\"en\",\"restrictions\":[\"avoid the word healthy\",\"Keep it classy\","
            "\"no exclamation marks\",\"no emojis\"],\"brand_voice\":{\"dont_use\":[\"synergy\"],\"preferred_phrases\":[\"Good food, good days\"]},"
            "\"call_to_action\":\"Order your box\",\"features_to_highlight\":[\"Nut-free options\",\"Recyclable packaging\"],"
            "\"min_length\":600}");
        engine_item_t it;
        run_brief(j, &a, &b, &it);
        json_t *root = check_output("own-violation", &b, &it);
        json_t *v0 = json_array_get(json_object_get(root, "variants"), 0);
        json_t *comp = json_object_get(v0, "compliance");
        CHECK(json_is_false(json_object_get(comp, "passed")));
        CHECK_STR(jstr(json_array_get(json_object_get(comp, "violations"), 0), "rule"), "banned_word");
        CHECK_STR(json_string_value(json_array_get(json_object_get(comp, "not_understood"), 0)), "Keep it classy");
        CHECK(json_array_size(json_object_get(comp, "rules")) == 4); /* 3 restrictions + dont_use */
        size_t vi;
        json_t *v;
        json_array_foreach(json_object_get(root, "variants"), vi, v) {
            const char *t = jstr(v, "primary_text");
            CHECK(!strchr(t, '!') && !strchr(jstr(v, "headline"), '!'));
            CHECK(!has_word_ci(t, "synergy"));
            CHECK(strstr(t, "Good food, good days") != NULL);
            CHECK(strstr(t, "Nut-free options") != NULL);
            CHECK(cps(t) >= 600 || json_array_size(json_object_get(root, "optimization_suggestions")) > 0);
        }
        json_decref(root);
        free(it.output);
        json_decref(j);
        arena_free(&a);
    }

    /* max words and max_length */
    {
        arena_t a = ARENA_INIT;
        brief_t b;
        json_t *j = brief_json("{\"product_description\":\"Handmade ceramic mugs\",\"target_platform\":\"facebook\",\"tone\":\"friendly\","
            "\"language\":\"en\",\"key_points\":[\"Dishwasher safe\"],\"restrictions\":[\"max 25 words\"],\"max_length\":120}");
        json_t *root = gen_checked("max-words", j, &b, &a);
        size_t vi;
        json_t *v;
        json_array_foreach(json_object_get(root, "variants"), vi, v) {
            CHECK(json_integer_value(json_object_get(v, "word_count")) <= 25);
            CHECK(cps(jstr(v, "primary_text")) <= 120);
        }
        json_decref(root);
        json_decref(j);
        arena_free(&a);
    }

    /* variants of one brief differ in headline and framework; Spanish keeps
     * one register (usted when formal, tú otherwise); compliance items are
     * listed and the words they forbid are not written */
    {
        static const char *const formal_words[] = {"usted", "le", "conozca", "solicite", "contacte", NULL};
        static const char *const informal_words[] = {"te", "ti", "tu", "tus", "descubre", "conoce", "empieza", NULL};
        static const char *const tones[] = {"formal", "professional", "friendly", "casual", "humorous", "urgent"};
        for (int t = 0; t < 6; t++) {
            char js[768];
            snprintf(js, sizeof js,
                     "{\"product_description\": \"Servicio de asesoría fiscal para autónomos\", \"target_platform\": \"%s\","
                     " \"tone\": \"%s\", \"language\": \"es\", \"key_points\": [\"Atención personalizada\"],"
                     " \"target_audience\": \"Autónomos\", \"compliance_requirements\": [\"No prometer resultados garantizados\"]}",
                     t % 2 ? "linkedin" : "google_ads", tones[t]);
            json_t *j = json_loads(js, 0, NULL);
            arena_t a = ARENA_INIT;
            brief_t b;
            json_t *root = gen_checked(tones[t], j, &b, &a);
            json_t *vars = json_object_get(root, "variants");
            int formal = t < 2;
            for (size_t x = 0; x < json_array_size(vars); x++) {
                json_t *v = json_array_get(vars, x);
                char text[4096];
                snprintf(text, sizeof text, "%s\n%s\n%s", jstr(v, "headline"), jstr(v, "primary_text"), jstr(v, "call_to_action"));
                const char *const *other = formal ? informal_words : formal_words;
                for (int k = 0; other[k]; k++)
                    if (has_word_ci(text, other[k])) FAILF("%s variant %zu: '%s' in %s copy: %s", tones[t], x, other[k], formal ? "formal" : "informal", text);
                if (has_word_ci(text, "garantizado") || has_word_ci(text, "garantizados") || has_word_ci(text, "garantía"))
                    FAILF("%s variant %zu: a guarantee despite the compliance requirement: %s", tones[t], x, text);
                int listed = 0;
                json_t *rules = json_object_get(json_object_get(v, "compliance"), "rules");
                for (size_t r = 0; r < json_array_size(rules); r++) {
                    json_t *ru = json_array_get(rules, r);
                    if (!strcmp(jstr(ru, "restriction"), "No prometer resultados garantizados") && !strcmp(jstr(ru, "rule"), "compliance_requirement")) listed = 1;
                }
                CHECK(listed);
                for (size_t y = 0; y < x; y++) {
                    json_t *w = json_array_get(vars, y);
                    if (!strcmp(jstr(v, "headline"), jstr(w, "headline"))) FAILF("%s: variants %zu and %zu share the headline '%s'", tones[t], y, x, jstr(v, "headline"));
                    if (!strcmp(jstr(v, "framework"), jstr(w, "framework"))) FAILF("%s: variants %zu and %zu share the framework %s", tones[t], y, x, jstr(v, "framework"));
                }
            }
            CHECK(json_array_size(vars) == 5);
            json_decref(root);
            json_decref(j);
            arena_free(&a);
        }
    }
    check_word_index(data);
    check_banned_vocabulary(data);
    test_content_types(data);
    test_voice(data);
    eng->destroy(eng);

    /* broken data: the error names the file */
    {
        char dir[] = "/tmp/copyd-tpl-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char p[1200], q[1200];
        snprintf(p, sizeof p, "%s/es", dir);
        mkdir(p, 0700);
        snprintf(q, sizeof q, "%s/data/es/restrictions.json", src);
        char *r = read_all(q);
        snprintf(p, sizeof p, "%s/es/restrictions.json", dir);
        CHECK(r && write_file(p, r) == 0);
        free(r);
        snprintf(p, sizeof p, "%s/es/phrases.json", dir);
        CHECK(write_file(p, "{\"tone_groups\": [1, 2") == 0);
        engine_t *bad = template_engine_create(dir, err, sizeof err);
        CHECK(bad == NULL);
        CHECK(strstr(err, "es/phrases.json") != NULL);
        CHECK(write_file(p, "{\"tone_groups\": {\"all\": [\"casual\"]}}") == 0);
        CHECK(template_engine_create(dir, err, sizeof err) == NULL);
        CHECK(strstr(err, "es/phrases.json") && strstr(err, "tone"));
        unlink(p);
        snprintf(p, sizeof p, "%s/es/restrictions.json", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/es", dir);
        rmdir(p);
        CHECK(template_engine_create(dir, err, sizeof err) == NULL);
        CHECK(strstr(err, "no language folder") != NULL);
        rmdir(dir);
    }
    TEST_DONE();
}
