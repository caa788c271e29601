/* test_brief.c -- brief parsing, validation, normalisation and cache keys.
 *
 * Every rule has a passing and a failing case. The sample briefs are read
 * from the shared folder: $COPYD_SHARED, else $COPYD_SOURCE_DIR/../shared,
 * else /work/shared. */
#include <stdlib.h>

#include "api/brief.h"
#include "test.h"

static arena_t arena = ARENA_INIT;
static brief_problems_t pr;
static char parse_msg[512];

/* Parses `text` strictly; NULL (and parse_msg set) on a JSON error. */
static json_t *parse(const char *text) {
    json_t *j = NULL;
    if (brief_json_parse(text, strlen(text), &j, parse_msg, sizeof parse_msg) != 0) return NULL;
    return j;
}

/* Parses and validates; returns brief_from_json's answer, -2 on bad JSON. */
static int load(const char *text, brief_t *b) {
    json_t *j = parse(text);
    if (!j) {
        fprintf(stderr, "unexpected JSON error: %s\n", parse_msg);
        return -2;
    }
    int rc = brief_from_json(j, &arena, b, &pr);
    json_decref(j);
    return rc;
}

/* A brief with the given description (a JSON literal) and platform, and
 * `extra` members spliced in (", ..." form). */
static int load_brief(const char *desc, const char *platform, const char *extra, brief_t *b) {
    size_t n = strlen(desc) + strlen(platform) + strlen(extra) + 128;
    char *text = malloc(n);
    snprintf(text, n, "{\"product_description\":%s,\"target_platform\":\"%s\",\"tone\":\"casual\"%s}",
             desc, platform, extra);
    int rc = load(text, b);
    free(text);
    return rc;
}

/* A minimal valid brief with `extra` members spliced in. */
static int load_with(const char *extra, brief_t *b) { return load_brief("\"Zapatos\"", "instagram", extra, b); }

/* 1 when a problem with this field and type was reported. */
static int has(const char *field, const char *type) {
    for (size_t i = 0; i < pr.n; i++)
        if (strcmp(pr.items[i].field, field) == 0 && strcmp(pr.items[i].type, type) == 0) return 1;
    fprintf(stderr, "  missing problem %s/%s; got:", field, type);
    for (size_t i = 0; i < pr.n; i++) fprintf(stderr, " [%s/%s: %s]", pr.items[i].field, pr.items[i].type, pr.items[i].msg);
    fprintf(stderr, "\n");
    return 0;
}

/* Message of the problem at `field` ("" when none). */
static const char *msg_of(const char *field) {
    for (size_t i = 0; i < pr.n; i++)
        if (strcmp(pr.items[i].field, field) == 0) return pr.items[i].msg;
    return "";
}

/* `n` copies of `unit` (UTF-8 allowed) as a JSON string literal, malloc'd. */
static char *repeat_str(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(n * u + 3);
    s[0] = '"';
    for (size_t i = 0; i < n; i++) memcpy(s + 1 + i * u, unit, u);
    s[1 + n * u] = '"';
    s[2 + n * u] = '\0';
    return s;
}

/* Loads the minimal brief with "field": <string of n chars>. */
static int load_len(const char *field, size_t n, brief_t *b) {
    char *lit = repeat_str("é", n); /* 2 bytes, 1 character: lengths are characters */
    char *extra = malloc(strlen(lit) + 64);
    sprintf(extra, ",\"%s\":%s", field, lit);
    int rc = load_with(extra, b);
    free(lit);
    free(extra);
    return rc;
}

/* A JSON list of n distinct strings, malloc'd. */
static char *list_of(size_t n) {
    char *s = malloc(n * 16 + 3), *p = s;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) p += sprintf(p, "%s\"item %zu\"", i ? "," : "", i);
    *p++ = ']';
    *p = '\0';
    return s;
}

static void test_names(void) {
    for (int i = 0; i < PLATFORM__COUNT; i++) CHECK(platform_from_name(platform_name((platform_t)i)) == i);
    for (int i = 0; i < TONE__COUNT; i++) CHECK(tone_from_name(tone_name((tone_t)i)) == i);
    for (int i = 0; i < CONTENT__COUNT; i++)
        CHECK(content_type_from_name(content_type_name((content_type_t)i)) == i);
    for (int i = 0; i < USE__COUNT; i++) CHECK(use_case_from_name(use_case_name((use_case_t)i)) == i);
    CHECK_STR(platform_name(PLATFORM_GOOGLE_ADS), "google_ads");
    CHECK_STR(tone_name(TONE_PLAYFUL), "playful");
    CHECK_STR(content_type_name(CONTENT_PRESS_RELEASE), "press_release");
    CHECK_STR(use_case_name(USE_FEATURE_ANNOUNCEMENT), "feature_announcement");
    CHECK_STR(use_case_name(USE_RE_ENGAGEMENT), "re_engagement");
    CHECK(platform_from_name("Google Ads") == PLATFORM_GOOGLE_ADS);
    CHECK(platform_from_name("google-ads") == PLATFORM_GOOGLE_ADS);
    CHECK(platform_from_name("GOOGLE_ADS") == PLATFORM_GOOGLE_ADS);
    CHECK(platform_from_name("Instagram") == PLATFORM_INSTAGRAM);
    CHECK(platform_from_name("x") == PLATFORM_TWITTER);
    CHECK(platform_from_name("X") == PLATFORM_TWITTER);
    CHECK(platform_from_name("X/Twitter") == PLATFORM_TWITTER);
    CHECK(platform_from_name("x_twitter") == PLATFORM_TWITTER);
    CHECK(platform_from_name("Twitter") == PLATFORM_TWITTER);
    CHECK(platform_from_name("myspace") == -1);
    CHECK(platform_from_name("") == -1);
    CHECK(platform_from_name("google ads extra") == -1);
    CHECK(tone_from_name("Story Telling") == TONE_STORYTELLING);
    CHECK(tone_from_name("sarcastic") == -1);
    CHECK(content_type_from_name("Email Subject") == CONTENT_EMAIL_SUBJECT);
    CHECK(content_type_from_name("email") == -1);
    CHECK(use_case_from_name("Re-Engagement") == USE_RE_ENGAGEMENT);
    CHECK(use_case_from_name("lead gen") == -1);
    size_t n = 0;
    while (brief_languages[n]) n++;
    CHECK(n == 19);
    CHECK_STR(brief_languages[0], "es");
    CHECK_STR(brief_languages[18], "fi");
}

static void test_minimal_and_defaults(void) {
    brief_t b;
    CHECK(load_with("", &b) == 0);
    CHECK(pr.n == 0 && pr.total == 0);
    CHECK_STR(b.product_description, "Zapatos");
    CHECK(b.platform == PLATFORM_INSTAGRAM);
    CHECK(b.tone == TONE_CASUAL);
    CHECK_STR(b.language, "es");
    CHECK(b.creativity == 0.6);
    CHECK(b.content_type == CONTENT_SOCIAL_POST && !b.content_type_given);
    CHECK(b.use_case == USE_BRAND_AWARENESS && !b.use_case_given);
    CHECK(b.max_variants == 5);
    CHECK(b.max_length == 0 && b.min_length == 0 && b.timeout == 0);
    CHECK(b.key_points.n == 0 && b.target_audience == NULL && b.tracking_id == NULL);
    CHECK(b.website_info == NULL && !b.brand_voice.has_formality);

    /* all three required fields missing: all three reported */
    CHECK(load("{}", &b) == -1);
    CHECK(pr.total == 3 && pr.n == 3);
    CHECK(has("product_description", "missing"));
    CHECK(has("target_platform", "missing"));
    CHECK(has("tone", "missing"));
    /* null for a required field is "missing" too */
    CHECK(load("{\"product_description\":null,\"target_platform\":\"blog\",\"tone\":\"witty\"}", &b) == -1);
    CHECK(pr.total == 1 && has("product_description", "missing"));
}

static void test_product_description(void) {
    brief_t b;
    CHECK(load("{\"product_description\":\"  \\t Zapatos rojos \\n\\u00a0\",\"target_platform\":\"blog\","
               "\"tone\":\"witty\"}", &b) == 0);
    CHECK_STR(b.product_description, "Zapatos rojos");
    CHECK(load("{\"product_description\":\" \\u3000 \",\"target_platform\":\"blog\",\"tone\":\"witty\"}", &b) == -1);
    CHECK(has("product_description", "string_too_short"));
    CHECK(load("{\"product_description\":\"\",\"target_platform\":\"blog\",\"tone\":\"witty\"}", &b) == -1);
    CHECK(has("product_description", "string_too_short"));
    CHECK(load("{\"product_description\":42,\"target_platform\":\"blog\",\"tone\":\"witty\"}", &b) == -1);
    CHECK(has("product_description", "string_type"));
    /* 2000 characters of 2 bytes each: fine; 2001: too long */
    char *lit = repeat_str("é", 2000);
    CHECK(load_brief(lit, "blog", "", &b) == 0);
    CHECK(b.product_description && strlen(b.product_description) == 4000);
    free(lit);
    lit = repeat_str("é", 2001);
    CHECK(load_brief(lit, "blog", "", &b) == -1);
    free(lit);
    CHECK(has("product_description", "string_too_long"));
    CHECK_STR(msg_of("product_description"), "product_description must be at most 2000 characters");
}

static void test_enums(void) {
    brief_t b;
    const char *forms[] = {"Google Ads", "google-ads", "GOOGLE_ADS", "google ads"};
    for (size_t i = 0; i < 4; i++) {
        CHECK(load_brief("\"a\"", forms[i], "", &b) == 0 && b.platform == PLATFORM_GOOGLE_ADS);
        CHECK(b.content_type == CONTENT_AD_COPY);
    }
    CHECK(load("{\"product_description\":\"a\",\"target_platform\":\"X\",\"tone\":\" Professional \"}", &b) == 0);
    CHECK(b.platform == PLATFORM_TWITTER && b.tone == TONE_PROFESSIONAL);
    CHECK(load("{\"product_description\":\"a\",\"target_platform\":\"X/Twitter\",\"tone\":\"WITTY\"}", &b) == 0);
    CHECK(b.platform == PLATFORM_TWITTER && b.tone == TONE_WITTY);
    CHECK(load("{\"product_description\":\"a\",\"target_platform\":\"myspace\",\"tone\":\"sarcastic\"}", &b) == -1);
    CHECK(has("target_platform", "enum") && has("tone", "enum"));
    CHECK(strstr(msg_of("target_platform"), "'myspace'") != NULL);
    CHECK(strstr(msg_of("target_platform"), "google_ads") != NULL);
    CHECK(strlen(msg_of("tone")) < 256 && strstr(msg_of("tone"), "assertive") != NULL);
    CHECK(load("{\"product_description\":\"a\",\"target_platform\":[\"blog\"],\"tone\":7}", &b) == -1);
    CHECK(has("target_platform", "string_type") && has("tone", "string_type"));

    /* content_type / use_case: given, defaults, unknown */
    CHECK(load_with(",\"content_type\":\"Email Subject\",\"use_case\":\"Re-Engagement\"", &b) == 0);
    CHECK(b.content_type == CONTENT_EMAIL_SUBJECT && b.content_type_given);
    CHECK(b.use_case == USE_RE_ENGAGEMENT && b.use_case_given);
    CHECK(load_with(",\"content_type\":\"tweet\",\"use_case\":\"world domination\"", &b) == -1);
    CHECK(has("content_type", "enum") && has("use_case", "enum"));
    CHECK(load_with(",\"content_type\":null,\"use_case\":null", &b) == 0);
    CHECK(!b.content_type_given && !b.use_case_given);
    static const struct { const char *platform; content_type_t ct; } defaults[] = {
        {"email", CONTENT_EMAIL_BODY}, {"google_ads", CONTENT_AD_COPY}, {"blog", CONTENT_BLOG_CONTENT},
        {"website", CONTENT_LANDING_PAGE}, {"youtube", CONTENT_VIDEO_SCRIPT}, {"tiktok", CONTENT_VIDEO_SCRIPT},
        {"facebook", CONTENT_SOCIAL_POST}, {"linkedin", CONTENT_SOCIAL_POST}, {"twitter", CONTENT_SOCIAL_POST},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"product_description\":\"a\",\"target_platform\":\"%s\",\"tone\":\"formal\"}",
                 defaults[i].platform);
        CHECK(load(text, &b) == 0 && b.content_type == defaults[i].ct);
        CHECK(b.use_case == USE_BRAND_AWARENESS);
    }
}

static void test_language(void) {
    brief_t b;
    CHECK(load_with(",\"language\":\"EN\"", &b) == 0);
    CHECK_STR(b.language, "en");
    CHECK(load_with(",\"language\":\" fi \"", &b) == 0);
    CHECK_STR(b.language, "fi");
    CHECK(load_with(",\"language\":\"pt-BR\"", &b) == 0);
    CHECK_STR(b.language, "pt");
    CHECK(load_with(",\"language\":null", &b) == 0);
    CHECK_STR(b.language, "es");
    CHECK(load_with(",\"language\":\"xx\"", &b) == -1);
    CHECK(has("language", "enum"));
    CHECK(strstr(msg_of("language"), "fi") != NULL);
    CHECK(load_with(",\"language\":\"zh_Hans\"", &b) == 0);
    CHECK_STR(b.language, "zh");
    CHECK(load_with(",\"language\":\"en-\"", &b) == -1 && has("language", "enum"));
    CHECK(load_with(",\"language\":\"en-U S\"", &b) == -1 && has("language", "enum"));
    CHECK(load_with(",\"language\":\"english\"", &b) == -1);
    CHECK(has("language", "enum"));
    CHECK(load_with(",\"language\":\"\"", &b) == -1);
    CHECK(has("language", "enum"));
    CHECK(load_with(",\"language\":5", &b) == -1);
    CHECK(has("language", "string_type"));
}

static void test_creativity(void) {
    brief_t b;
    CHECK(load_with(",\"creativity_level\":0.3", &b) == 0 && b.creativity == 0.3);
    CHECK(load_with(",\"creativity_level\":1", &b) == 0 && b.creativity == 1.0);
    CHECK(load_with(",\"creativity_level\":\"Creative\"", &b) == 0 && b.creativity == 0.8);
    CHECK(load_with(",\"creativity_level\":\"conservative\"", &b) == 0 && b.creativity == 0.2);
    CHECK(load_with(",\"creativity_level\":\"INNOVATIVE\"", &b) == 0 && b.creativity == 0.95);
    CHECK(load_with(",\"creativity_level\":\"balanced\"", &b) == 0 && b.creativity == 0.6);
    CHECK(load_with(",\"creativity_level\":\"creative\",\"creativity_score\":0.42", &b) == 0 && b.creativity == 0.42);
    CHECK(load_with(",\"creativity_level\":\"wild\"", &b) == -1 && has("creativity_level", "enum"));
    CHECK(load_with(",\"creativity_level\":1.5", &b) == -1 && has("creativity_level", "less_than_equal"));
    CHECK(load_with(",\"creativity_level\":-0.1", &b) == -1 && has("creativity_level", "greater_than_equal"));
    CHECK(load_with(",\"creativity_level\":true", &b) == -1 && has("creativity_level", "float_type"));
    CHECK(load_with(",\"creativity_score\":2", &b) == -1 && has("creativity_score", "less_than_equal"));
    CHECK(load_with(",\"creativity_score\":\"0.5\"", &b) == -1 && has("creativity_score", "float_type"));
}

static void test_lists(void) {
    brief_t b;
    CHECK(load_with(",\"key_points\":[\"  Comodidad \",\"\",\"   \",\"Estilo\"]", &b) == 0);
    CHECK(b.key_points.n == 2);
    CHECK_STR(b.key_points.items[0], "Comodidad");
    CHECK_STR(b.key_points.items[1], "Estilo");
    CHECK(load_with(",\"key_points\":[\"a\",\"b\",3,\"d\"]", &b) == -1);
    CHECK(has("key_points[2]", "string_type"));
    CHECK_STR(msg_of("key_points[2]"), "key_points[2] must be a string");
    CHECK(load_with(",\"key_points\":[null]", &b) == -1 && has("key_points[0]", "string_type"));
    CHECK(load_with(",\"key_points\":\"Comodidad\"", &b) == -1 && has("key_points", "list_type"));
    CHECK(load_with(",\"key_points\":null", &b) == 0 && b.key_points.n == 0);

    /* each list's limit: at the limit fine, one over fails */
    static const struct { const char *name; size_t max; } lists[] = {
        {"key_points", 15}, {"features_to_highlight", 10}, {"keywords", 20},
        {"restrictions", 15}, {"compliance_requirements", 10},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        char extra[2048], *l = list_of(lists[i].max);
        snprintf(extra, sizeof extra, ",\"%s\":%s", lists[i].name, l);
        free(l);
        CHECK(load_with(extra, &b) == 0);
        l = list_of(lists[i].max + 1);
        snprintf(extra, sizeof extra, ",\"%s\":%s", lists[i].name, l);
        free(l);
        CHECK(load_with(extra, &b) == -1 && has(lists[i].name, "too_long"));
        char want[128];
        snprintf(want, sizeof want, "%s must have at most %zu items", lists[i].name, lists[i].max);
        CHECK(strncmp(msg_of(lists[i].name), want, strlen(want)) == 0);
    }
    /* empty items do not count towards the limit */
    CHECK(load_with(",\"key_points\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
                    "\"13\",\"14\",\"15\",\"\",\" \"]", &b) == 0);
    CHECK(b.key_points.n == 15);

    /* items: at most 500 characters */
    char *item = repeat_str("ü", 500), extra[4096];
    snprintf(extra, sizeof extra, ",\"keywords\":[\"a\",%s]", item);
    free(item);
    CHECK(load_with(extra, &b) == 0 && b.keywords.n == 2);
    item = repeat_str("ü", 501);
    snprintf(extra, sizeof extra, ",\"keywords\":[\"a\",%s]", item);
    free(item);
    CHECK(load_with(extra, &b) == -1 && has("keywords[1]", "string_too_long"));
}

static void test_strings(void) {
    static const struct { const char *name; size_t max; } strs[] = {
        {"target_audience", 800}, {"call_to_action", 100}, {"instructions", 1000},
        {"tracking_id", 200}, {"user_id", 200}, {"campaign_id", 200},
    };
    brief_t b;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        CHECK(load_len(strs[i].name, strs[i].max, &b) == 0);
        CHECK(load_len(strs[i].name, strs[i].max + 1, &b) == -1 && has(strs[i].name, "string_too_long"));
        char extra[128];
        snprintf(extra, sizeof extra, ",\"%s\":{}", strs[i].name);
        CHECK(load_with(extra, &b) == -1 && has(strs[i].name, "string_type"));
    }
    CHECK(load_with(",\"call_to_action\":\" Compra ya \",\"tracking_id\":\"t-1\",\"user_id\":\"u\","
                    "\"campaign_id\":\"c\",\"target_audience\":\"  \"", &b) == 0);
    CHECK_STR(b.call_to_action, "Compra ya");
    CHECK_STR(b.tracking_id, "t-1");
    CHECK_STR(b.user_id, "u");
    CHECK_STR(b.campaign_id, "c");
    CHECK(b.target_audience == NULL); /* empty after trimming = absent */
}

static void test_integers(void) {
    brief_t b;
    CHECK(load_with(",\"max_length\":10,\"min_length\":10", &b) == 0 && b.max_length == 10 && b.min_length == 10);
    CHECK(load_with(",\"max_length\":10000,\"min_length\":5000", &b) == 0 && b.max_length == 10000);
    CHECK(load_with(",\"max_length\":12.0", &b) == 0 && b.max_length == 12);
    CHECK(load_with(",\"max_length\":1e3", &b) == 0 && b.max_length == 1000);
    CHECK(load_with(",\"max_length\":9", &b) == -1 && has("max_length", "greater_than_equal"));
    CHECK_STR(msg_of("max_length"), "max_length must be at least 10");
    CHECK(load_with(",\"max_length\":10001", &b) == -1 && has("max_length", "less_than_equal"));
    CHECK_STR(msg_of("max_length"), "max_length must be at most 10000");
    CHECK(load_with(",\"max_length\":-9223372036854775808", &b) == -1 && has("max_length", "greater_than_equal"));
    CHECK(load_with(",\"max_length\":12.5", &b) == -1 && has("max_length", "int_type"));
    CHECK(load_with(",\"max_length\":true", &b) == -1 && has("max_length", "int_type"));
    CHECK(load_with(",\"max_length\":\"400\"", &b) == -1 && has("max_length", "int_type"));
    CHECK(load_with(",\"min_length\":5001", &b) == -1 && has("min_length", "less_than_equal"));
    CHECK(load_with(",\"min_length\":9", &b) == -1 && has("min_length", "greater_than_equal"));
    CHECK(load_with(",\"min_length\":500,\"max_length\":400", &b) == -1 && has("min_length", "value_error"));
    CHECK(pr.total == 1);
    CHECK(load_with(",\"min_length\":400,\"max_length\":400", &b) == 0);
    CHECK(load_with(",\"min_length\":400", &b) == 0 && b.min_length == 400 && b.max_length == 0);

    CHECK(load_with(",\"timeout\":5", &b) == 0 && b.timeout == 5);
    CHECK(load_with(",\"timeout\":300", &b) == 0 && b.timeout == 300);
    CHECK(load_with(",\"timeout\":7.5", &b) == 0 && b.timeout == 8);
    CHECK(load_with(",\"timeout\":4", &b) == -1 && has("timeout", "greater_than_equal"));
    CHECK(load_with(",\"timeout\":301", &b) == -1 && has("timeout", "less_than_equal"));
    CHECK(load_with(",\"timeout\":\"30\"", &b) == -1 && has("timeout", "float_type"));
}

static void test_objects(void) {
    brief_t b;
    CHECK(load_with(",\"variant_settings\":{\"max_variants\":3,\"diversity\":\"high\"}", &b) == 0 && b.max_variants == 3);
    CHECK(load_with(",\"variant_settings\":{}", &b) == 0 && b.max_variants == 5);
    CHECK(load_with(",\"variant_settings\":{\"max_variants\":20}", &b) == 0 && b.max_variants == 20);
    CHECK(load_with(",\"variant_settings\":{\"max_variants\":0}", &b) == -1 &&
          has("variant_settings.max_variants", "greater_than_equal"));
    CHECK(load_with(",\"variant_settings\":{\"max_variants\":21}", &b) == -1 &&
          has("variant_settings.max_variants", "less_than_equal"));
    CHECK(load_with(",\"variant_settings\":[]", &b) == -1 && has("variant_settings", "dict_type"));

    CHECK(load_with(",\"brand_voice\":{\"tone\":\" cercano \",\"voice_style\":\"directo\",\"do_use\":[\"tú\"],"
                    "\"dont_use\":[\"barato\",\"\"],\"preferred_phrases\":[\"Hecho para ti\"],"
                    "\"formality_level\":0.25,\"persona\":\"x\"}", &b) == 0);
    CHECK_STR(b.brand_voice.tone, "cercano");
    CHECK_STR(b.brand_voice.voice_style, "directo");
    CHECK(b.brand_voice.do_use.n == 1 && b.brand_voice.dont_use.n == 1 && b.brand_voice.preferred_phrases.n == 1);
    CHECK_STR(b.brand_voice.dont_use.items[0], "barato");
    CHECK(b.brand_voice.has_formality && b.brand_voice.formality_level == 0.25);
    CHECK(load_with(",\"brand_voice\":{\"formality_level\":1.2}", &b) == -1 &&
          has("brand_voice.formality_level", "less_than_equal"));
    CHECK(load_with(",\"brand_voice\":{\"formality_level\":\"high\"}", &b) == -1 &&
          has("brand_voice.formality_level", "float_type"));
    char extra[2048], *l = list_of(21);
    snprintf(extra, sizeof extra, ",\"brand_voice\":{\"do_use\":%s,\"dont_use\":[1],\"tone\":5}", l);
    free(l);
    CHECK(load_with(extra, &b) == -1);
    CHECK(has("brand_voice.do_use", "too_long"));
    CHECK(has("brand_voice.dont_use[0]", "string_type"));
    CHECK(has("brand_voice.tone", "string_type"));
    CHECK(load_with(",\"brand_voice\":\"friendly\"", &b) == -1 && has("brand_voice", "dict_type"));

    CHECK(load_with(",\"website_info\":{\"url\":\"https://x.es\",\"about\":{\"b\":1,\"a\":[true,null]}}", &b) == 0);
    CHECK_STR(b.website_info, "{\"about\":{\"a\":[true,null],\"b\":1},\"url\":\"https://x.es\"}");
    CHECK(load_with(",\"website_info\":\"https://x.es\"", &b) == -1 && has("website_info", "dict_type"));
}

static void test_legacy_and_unknown(void) {
    brief_t b;
    CHECK(load_with(",\"translation_settings\":{},\"audience_profile\":{\"age\":30},\"project_context\":{},"
                    "\"platform_settings\":{},\"seo_optimization\":{},\"engagement_optimization\":{},"
                    "\"conversion_optimization\":{},\"session_id\":\"s\",\"priority\":\"high\","
                    "\"future_field\":[1,{\"x\":2}],\"another\":null", &b) == 0);
    CHECK(load_with(",\"priority\":3", &b) == 0);
    const char *objs[] = {"translation_settings", "audience_profile", "project_context", "platform_settings",
                          "seo_optimization", "engagement_optimization", "conversion_optimization"};
    for (size_t i = 0; i < 7; i++) {
        char extra[128];
        snprintf(extra, sizeof extra, ",\"%s\":\"yes\"", objs[i]);
        CHECK(load_with(extra, &b) == -1 && has(objs[i], "dict_type"));
    }
    CHECK(load_with(",\"session_id\":5", &b) == -1 && has("session_id", "string_type"));
    CHECK(load_with(",\"priority\":1.5", &b) == -1 && has("priority", "int_type"));
    CHECK(load_with(",\"priority\":true", &b) == -1 && has("priority", "int_type"));
}

static void test_root_and_collection(void) {
    brief_t b;
    const char *roots[] = {"[]", "\"brief\"", "42", "null", "true"};
    for (size_t i = 0; i < 5; i++) {
        CHECK(load(roots[i], &b) == -1);
        CHECK(pr.n == 1 && pr.total == 1 && has("", "dict_type"));
    }
    /* every problem is reported, in the fixed field order */
    CHECK(load("{\"tone\":\"bad\",\"max_length\":5,\"key_points\":7,\"language\":\"zz\",\"timeout\":1}", &b) == -1);
    CHECK(pr.total == 7 && pr.n == 7);
    CHECK_STR(pr.items[0].field, "product_description");
    CHECK_STR(pr.items[1].field, "target_platform");
    CHECK_STR(pr.items[2].field, "tone");
    CHECK_STR(pr.items[3].field, "language");
    CHECK_STR(pr.items[4].field, "key_points");
    CHECK_STR(pr.items[5].field, "max_length");
    CHECK_STR(pr.items[6].field, "timeout");
    /* more problems than fit: n capped, total counts all */
    char extra[512] = ",\"key_points\":[", *p = extra + strlen(extra);
    for (int i = 0; i < 40; i++) p += sprintf(p, "%s%d", i ? "," : "", i);
    strcpy(p, "]");
    CHECK(load_with(extra, &b) == -1);
    CHECK(pr.n == BRIEF_MAX_PROBLEMS && pr.total == 40); /* 40 wrong items, none kept */
    CHECK(has("key_points[31]", "string_type"));
    CHECK_STR(pr.items[BRIEF_MAX_PROBLEMS - 1].field, "key_points[31]"); /* later ones counted, not stored */
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

static json_t *load_samples(void) {
    char path[4096];
    const char *shared = getenv("COPYD_SHARED"), *src = getenv("COPYD_SOURCE_DIR");
    if (shared) snprintf(path, sizeof path, "%s/briefs/sample.json", shared);
    else if (src) snprintf(path, sizeof path, "%s/../shared/briefs/sample.json", src);
    else snprintf(path, sizeof path, "/work/shared/briefs/sample.json");
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "cannot read %s (set COPYD_SHARED)\n", path);
        return NULL;
    }
    json_t *j = NULL;
    brief_json_parse(text, len, &j, parse_msg, sizeof parse_msg);
    free(text);
    return j;
}

static void test_samples_and_keys(void) {
    json_t *all = load_samples();
    CHECK(all != NULL && json_is_array(all) && json_array_size(all) == 13);
    if (!all) return;
    brief_t b;
    char keys[13][BRIEF_KEY_LEN];
    size_t i;
    json_t *item;
    json_array_foreach(all, i, item) {
        CHECK(brief_from_json(item, &arena, &b, &pr) == 0);
        if (pr.n) fprintf(stderr, "sample %zu: %s: %s\n", i, pr.items[0].field, pr.items[0].msg);
        brief_cache_key(&b, "template", "default", keys[i]);
        CHECK(strlen(keys[i]) == 32 && strspn(keys[i], "0123456789abcdef") == 32);
        for (size_t k = 0; k < i; k++) CHECK(strcmp(keys[k], keys[i]) != 0);
    }
    /* spot checks on sample 0 (Instagram, creative 0.8, es) */
    CHECK(brief_from_json(json_array_get(all, 0), &arena, &b, &pr) == 0);
    CHECK(b.platform == PLATFORM_INSTAGRAM && b.tone == TONE_INSPIRATIONAL && b.creativity == 0.8);
    CHECK(b.key_points.n == 3 && b.restrictions.n == 1);
    CHECK_STR(b.restrictions.items[0], "no mencionar precio");
    CHECK_STR(b.target_audience, "Jóvenes activos");
    CHECK(brief_from_json(json_array_get(all, 8), &arena, &b, &pr) == 0);
    CHECK(b.max_length == 400 && b.content_type == CONTENT_LANDING_PAGE && strcmp(b.language, "en") == 0);
    json_decref(all);
}

static void key_of(const char *text, const char *engine, const char *model, char out[BRIEF_KEY_LEN]) {
    brief_t b;
    out[0] = '\0';
    if (load(text, &b) != 0) { fprintf(stderr, "not valid: %s\n", text); return; }
    brief_cache_key(&b, engine, model, out);
}

static void test_key_rules(void) {
    char k0[BRIEF_KEY_LEN], k[BRIEF_KEY_LEN];
    const char *base = "{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
                       "\"tone\":\"inspirational\",\"key_points\":[\"Comodidad\",\"Estilo\"],\"language\":\"es\","
                       "\"creativity_level\":0.8}";
    key_of(base, "template", "default", k0);
    CHECK(strlen(k0) == 32);
    /* same meaning, different spelling: same key */
    key_of("{\"creativity_level\":\"creative\",\"key_points\":[\" Comodidad\",\"\",\"Estilo  \"],"
           "\"tone\":\"Inspirational\",\"target_platform\":\"INSTAGRAM\","
           "\"product_description\":\"  Zapatos deportivos\\n\"}", "template", "default", k);
    CHECK_STR(k, k0);
    /* request metadata and legacy fields do not count */
    key_of("{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
           "\"tone\":\"inspirational\",\"key_points\":[\"Comodidad\",\"Estilo\"],\"creativity_level\":0.8000000001,"
           "\"tracking_id\":\"abc\",\"user_id\":\"u1\",\"campaign_id\":\"c\",\"timeout\":30,\"session_id\":\"s\","
           "\"seo_optimization\":{\"x\":1},\"whatever\":true}", "template", "default", k);
    CHECK_STR(k, k0);
    /* meaning changes: key changes */
    key_of("{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
           "\"tone\":\"inspirational\",\"key_points\":[\"Comodidad\",\"Ligereza\"],\"creativity_level\":0.8}",
           "template", "default", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0);
    key_of("{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
           "\"tone\":\"inspirational\",\"key_points\":[\"Estilo\",\"Comodidad\"],\"creativity_level\":0.8}",
           "template", "default", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0); /* lists keep their order */
    key_of("{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"facebook\","
           "\"tone\":\"inspirational\",\"key_points\":[\"Comodidad\",\"Estilo\"],\"creativity_level\":0.8}",
           "template", "default", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0);
    key_of("{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
           "\"tone\":\"inspirational\",\"key_points\":[\"Comodidad\",\"Estilo\"],\"creativity_level\":0.8,"
           "\"language\":\"en\"}", "template", "default", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0);
    key_of(base, "llm", "default", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0);
    key_of(base, "template", "other", k);
    CHECK(strlen(k) == 32 && strcmp(k, k0) != 0);
    /* engine/model boundary is unambiguous */
    char a[BRIEF_KEY_LEN], c[BRIEF_KEY_LEN];
    key_of(base, "ab", "c", a);
    key_of(base, "a", "bc", c);
    CHECK(strcmp(a, c) != 0);

    /* canonical JSON: valid, fixed, and a fixed point of from_json */
    brief_t b, b2;
    CHECK(load(base, &b) == 0);
    const char *canon = brief_canonical_json(&b, &arena);
    CHECK(canon != NULL);
    if (!canon) return;
    CHECK(strstr(canon, "\"target_platform\":\"instagram\"") != NULL);
    CHECK(strstr(canon, "\"creativity_level\":0.800000") != NULL);
    CHECK(strstr(canon, "tracking_id") == NULL);
    CHECK(load(canon, &b2) == 0);
    char kb[BRIEF_KEY_LEN];
    brief_cache_key(&b2, "template", "default", kb);
    CHECK_STR(kb, k0);
    CHECK_STR(brief_canonical_json(&b2, &arena), canon);

    /* a long brief (streamed through the hash state) is still stable */
    char *big = malloc(40000), *p = big;
    p += sprintf(p, "{\"product_description\":\"d\",\"target_platform\":\"blog\",\"tone\":\"formal\","
                    "\"key_points\":[");
    for (int i = 0; i < 15; i++) { /* 490 characters each, with escapes the canonical form must redo */
        p += sprintf(p, "%s\"%02d\\\"\\n\\t\\u0001", i ? "," : "", i);
        memset(p, 'k', 484), p += 484;
        *p++ = '"';
    }
    strcpy(p, "]}");
    brief_t lb;
    CHECK(load(big, &lb) == 0);
    char l1[BRIEF_KEY_LEN], l2[BRIEF_KEY_LEN];
    brief_cache_key(&lb, "e", "m", l1);
    const char *lc = brief_canonical_json(&lb, &arena);
    CHECK(lc && strlen(lc) > 4096);
    brief_t lb2;
    CHECK(lc && load(lc, &lb2) == 0);
    brief_cache_key(&lb2, "e", "m", l2);
    CHECK_STR(l1, l2);
    free(big);
}

/* Expects a JSON error whose message contains `want`. */
static void expect_bad_json(const char *body, size_t len, const char *want) {
    json_t *j = NULL;
    char msg[256];
    memset(msg, 'Z', sizeof msg);
    int rc = brief_json_parse(body, len, &j, msg, sizeof msg);
    CHECK(rc == -1 && j == NULL);
    CHECK(strchr(msg, '\n') == NULL && strlen(msg) < sizeof msg);
    if (!strstr(msg, want)) fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, want);
    CHECK(strstr(msg, want) != NULL);
    if (j) json_decref(j);
}

static void test_hostile(void) {
    expect_bad_json("", 0, "request body is empty");
    expect_bad_json(" \r\n\t ", 5, "request body is empty");
    expect_bad_json(NULL, 0, "request body is empty");
    expect_bad_json("{\"product_description\":\"\xff\xfe\"}", 27, "line 1 column");
    expect_bad_json("{\"a\":\"\xc3\"}", 10, "invalid JSON");
    expect_bad_json("{\"a\":\"x\\u0000y\"}", 16, "line 1");
    expect_bad_json("{\"a\":1,\"a\":2}", 13, "duplicate");
    expect_bad_json("{\"a\":NaN}", 9, "invalid JSON");
    expect_bad_json("{\"a\":Infinity}", 14, "invalid JSON");
    expect_bad_json("{\"a\":1e999}", 11, "invalid JSON");
    expect_bad_json("{\"a\":99999999999999999999999}", 29, "too big");
    expect_bad_json("{\"a\":1} x", 9, "line 1 column");
    expect_bad_json("{\"a\":1}\n}", 9, "line 2");
    expect_bad_json("{\"a\":", 5, "invalid JSON");
    expect_bad_json("{\"a\":1}\0{}", 10, "invalid JSON");

    /* depth: 64 is fine, 65 is not, 100000 is rejected by the pre-scan */
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    json_t *j = NULL;
    CHECK(brief_json_parse(deep, 128, &j, parse_msg, sizeof parse_msg) == 0 && json_is_array(j));
    json_decref(j);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    expect_bad_json(deep, 130, "deeper than 64");
    size_t n = 100000;
    char *huge = malloc(2 * n);
    memset(huge, '[', n);
    memset(huge + n, ']', n);
    expect_bad_json(huge, 2 * n, "deeper than 64");
    expect_bad_json(huge, n, "line 1 column 65");
    for (size_t i = 0; i < n; i++) huge[i] = (i & 1) ? '{' : '[';
    expect_bad_json(huge, n, "deeper than 64");
    /* brackets inside strings (also after escaped quotes) are not nesting */
    char *s = huge, *p = s;
    p += sprintf(p, "[\"\\\"");
    memset(p, '[', 5000), p += 5000;
    strcpy(p, "\"]");
    j = NULL;
    CHECK(brief_json_parse(s, strlen(s), &j, parse_msg, sizeof parse_msg) == 0);
    CHECK(json_is_array(j) && json_string_length(json_array_get(j, 0)) == 5001);
    json_decref(j);
    free(huge);

    /* small message buffer: truncated, terminated */
    char tiny[8];
    CHECK(brief_json_parse("{", 1, &j, tiny, sizeof tiny) == -1 && strlen(tiny) == 7);

    /* a 1 MB string parses and is then refused by validation */
    size_t big = 1 << 20;
    char *body = malloc(big + 128);
    p = body + sprintf(body, "{\"target_platform\":\"blog\",\"tone\":\"formal\",\"product_description\":\"");
    memset(p, 'a', big), p += big;
    strcpy(p, "\"}");
    j = NULL;
    CHECK(brief_json_parse(body, strlen(body), &j, parse_msg, sizeof parse_msg) == 0);
    brief_t b;
    CHECK(j && brief_from_json(j, &arena, &b, &pr) == -1 && has("product_description", "string_too_long"));
    CHECK(pr.total == 1);
    json_decref(j);
    free(body);

    /* hostile strings in enum messages are quoted safely and briefly */
    CHECK(load("{\"product_description\":\"a\",\"tone\":\"formal\",\"target_platform\":"
               "\"\\u001b[31mñññññññññññññññññññññññññññññññññññññññññññññññ\"}", &b) == -1);
    const char *m = msg_of("target_platform");
    CHECK(strchr(m, 0x1b) == NULL && strstr(m, "...'") != NULL && strlen(m) < 256);
}

int main(void) {
    test_names();
    test_minimal_and_defaults();
    test_product_description();
    test_enums();
    test_language();
    test_creativity();
    test_lists();
    test_strings();
    test_integers();
    test_objects();
    test_legacy_and_unknown();
    test_root_and_collection();
    test_samples_and_keys();
    test_key_rules();
    test_hostile();
    arena_free(&arena);
    TEST_DONE();
}
