/* rewrite.c -- POST /refactor, /optimiza and /optimiza-con-librerias: an
 * existing copy in, an output object (SPEC section 3) with one rewritten
 * variant out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "api/internal.h"
#include "copy/phrasebank.h"
#include "copy/rewrite.h"
#include "copy/score.h"
#include "copy/text.h"
#include "core/util.h"

#define REWRITE_MAX_TEXT 10000

static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t word_count(const char *s) {
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int w = !(*s == ' ' || *s == '\n' || *s == '\t');
        n += w && !in;
        in = w;
    }
    return n;
}

/* The first call to action of the language's phrase bank that fits any
 * tone and names no price: what /optimiza appends when the text has none. */
static const char *default_cta(const pb_lang_t *L) {
    const pb_slot_t *slot = &L->slots[PB_SLOT_CTA];
    for (unsigned i = 0; i < slot->n[0]; i++)
        if (!(slot->items[0][i].flags & (PB_F_PRICE | PB_F_PRODUCT))) return slot->items[0][i].text;
    return NULL;
}

void h_rewrite(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    const char *route = strrchr(req->path, '/');
    int optimize = strcmp(route, "/refactor") != 0;
    engine_t *engine;
    const char *model;
    if (api_model_param(a, req, r, &engine, &model) < 0) return;
    if (api_rate_limit(a, req, r, route) < 0) return;
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return;
    brief_problems_t p;
    problems_init(&p);
    const char *text = NULL, *lang = "es", *cta = NULL;
    platform_t platform = PLATFORM_INSTAGRAM;
    if (!json_is_object(root)) {
        problems_add(&p, "", "dict_type", "the body must be a JSON object with a \"text\" member");
    } else {
        json_t *t = json_object_get(root, "text");
        if (!t || json_is_null(t)) problems_add(&p, "text", "missing", "text is required");
        else if (!json_is_string(t)) problems_add(&p, "text", "string_type", "text must be a string");
        else if (json_string_length(t) == 0) problems_add(&p, "text", "string_too_short", "text must not be empty");
        else if (utf8_len(json_string_value(t)) > REWRITE_MAX_TEXT)
            problems_add(&p, "text", "string_too_long", "text must be at most %d characters", REWRITE_MAX_TEXT);
        else text = json_string_value(t);
        json_t *l = json_object_get(root, "language");
        if (l && !json_is_null(l)) {
            int ok = 0;
            for (const char *const *k = brief_languages; json_is_string(l) && *k; k++)
                if (strcasecmp(*k, json_string_value(l)) == 0) ok = 1, lang = *k;
            if (!ok) problems_add(&p, "language", "enum", "language must be one of the languages of SPEC section 2");
        }
        json_t *pl = json_object_get(root, "target_platform");
        if (pl && !json_is_null(pl)) {
            int v = json_is_string(pl) ? platform_from_name(json_string_value(pl)) : -1;
            if (v < 0) problems_add(&p, "target_platform", "enum", "target_platform is not one of the platforms of SPEC section 2");
            else platform = (platform_t)v;
        }
        json_t *c = json_object_get(root, "call_to_action");
        if (c && !json_is_null(c)) {
            if (!json_is_string(c) || json_string_length(c) > 100)
                problems_add(&p, "call_to_action", "string_type", "call_to_action must be a string of at most 100 bytes");
            else cta = json_string_value(c);
        }
    }
    const pb_lang_t *L = p.total ? NULL : copy_data_lang(a->copy_data, lang);
    if (!p.total && !L) {
        char langs[128] = "";
        for (const char *const *k = a->copy_data->codes; *k; k++) {
            if (langs[0]) strncat(langs, ", ", sizeof langs - strlen(langs) - 1);
            strncat(langs, *k, sizeof langs - strlen(langs) - 1);
        }
        problems_add(&p, "language", "unsupported_language", "the rewriter cannot write language '%s'; it writes: %s",
                     lang, langs);
    }
    if (p.total) {
        json_decref(root);
        api_validation_error(r, &p, "body");
        return;
    }
    if (!cta) cta = default_cta(L);
    double t0 = now_mono();
    rewrite_stats_t st;
    char *out = copy_rewrite(text, optimize ? REWRITE_OPTIMIZE : REWRITE_REFACTOR, cta, &st);
    if (!out) {
        json_decref(root);
        api_error(r, 500, "internal_error", "out of memory", NULL);
        return;
    }
    /* headline: the first sentence, as written */
    size_t hl = strcspn(out, ".!?\n");
    if (out[hl] && out[hl] != '\n') hl++;
    /* at most 120 characters, cut on a character boundary (never inside a
     * UTF-8 sequence: the answer must stay valid JSON) */
    char headline[512];
    size_t hb = utf8_prefix_bytes(out, hl, 120);
    snprintf(headline, sizeof headline, "%.*s", (int)hb, out);
    json_t *tags = json_array();
    for (const char *s = out; (s = strchr(s, '#'));) {
        size_t n = 1;
        while (s[n] && s[n] != ' ' && s[n] != '\n' && s[n] != ',' && s[n] != '.') n++;
        if (n > 1) json_array_append_new(tags, json_stringn(s, n));
        s += n;
    }
    char vid[40], ts[ISO8601_LEN], tid[UUID_LEN];
    snprintf(vid, sizeof vid, "rw-%016llx", (unsigned long long)XXH3_64bits(out, strlen(out)));
    iso8601_now(ts);
    uuid4(tid);
    size_t words = word_count(out);
    /* Scores as the template engine computes them, for the platform asked. */
    text_stats_t ts_ = {0};
    text_stats_add(lang, out, strlen(out), &ts_);
    double readability = readability_score(lang, &ts_);
    const pb_platform_t *P = &a->copy_data->platforms[platform];
    engagement_in_t ein = {0};
    ein.text_chars = (long)utf8_len(out);
    memcpy(ein.text_ideal, P->text_ideal, sizeof ein.text_ideal);
    ein.has_cta = st.cta_added || (out[0] && strchr("!?", out[strlen(out) - 1]) != NULL);
    ein.hook_question = strchr(headline, '?') != NULL;
    ein.hook_strong = strchr(headline, '!') != NULL || strpbrk(headline, "0123456789") != NULL;
    ein.readability = readability;
    ein.hashtags = json_array_size(tags);
    memcpy(ein.hashtags_ideal, P->hashtags_ideal, sizeof ein.hashtags_ideal);
    ein.compliant = 1;
    double features[ENG__COUNT];
    double engagement = engagement_predict(&ein, features);
    json_t *tips = json_array();
    for (int i = 0; i < L->ntips[platform]; i++) json_array_append_new(tips, json_string(L->tips[platform][i]));
    json_t *metrics = json_array();
    for (int i = 0; i < ENG__COUNT; i++)
        json_array_append_new(metrics, json_pack("{s:s, s:f}", "name", engagement_feature_names[i], "value", features[i]));
    json_array_append_new(metrics, json_pack("{s:s, s:f}", "name", "readability", "value", readability));
    json_array_append_new(metrics, json_pack("{s:s, s:i}", "name", "repeated_words_removed", "value", st.repeated_words_removed));
    json_array_append_new(metrics, json_pack("{s:s, s:i}", "name", "punctuation_fixed", "value", st.punctuation_fixed));
    json_array_append_new(metrics, json_pack("{s:s, s:i}", "name", "sentences_split", "value", st.sentences_split));
    json_array_append_new(metrics, json_pack("{s:s, s:i}", "name", "whitespace_fixed", "value", st.whitespace_fixed));
    json_t *suggestions = json_array();
    if (!optimize && !st.cta_added)
        json_array_append_new(suggestions, json_string("use /optimiza to make the text end with a call to action"));
    json_t *variant = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:f, s:f, s:o, s:o, s:{s:b, s:[], s:[], s:[]}}", "variant_id", vid,
        "headline", headline, "primary_text", out, "call_to_action", st.cta_added ? cta : "", "hashtags", tags,
        "character_count", (json_int_t)utf8_len(out), "word_count", (json_int_t)words, "readability_score",
        round(readability * 100) / 100, "engagement_prediction", round(engagement * 1000) / 1000, "platform_tips",
        tips, "evaluation_metrics", metrics, "compliance", "passed", 1, "rules", "violations", "not_understood");
    json_t *o = json_pack("{s:[o], s:s, s:f, s:s, s:f, s:I, s:s, s:o, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:b}}", "variants",
                          variant, "best_variant_id", vid, "confidence_score", round(engagement * 1000) / 1000,
                          "model_used", "rewrite-v1", "generation_time", now_mono() - t0, "tokens_used",
                          (json_int_t)words, "tracking_id", tid, "optimization_suggestions", suggestions,
                          "created_at", ts, "extra_metadata", "engine", "rewrite", "cache", "none", "operation",
                          optimize ? "optimize" : "refactor", "language", lang, "platform", platform_name(platform),
                          "cta_added", st.cta_added);
    free(out);
    json_decref(root);
    api_send_json(r, 200, o);
}
