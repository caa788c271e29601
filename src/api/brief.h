/* brief.h -- the product brief (SPEC section 2): strict parsing,
 * validation and normalisation.
 *
 * Flow: request body bytes -> brief_json_parse() (strict JSON: UTF-8,
 * duplicate keys, depth, number range) -> brief_from_json() (types, ranges,
 * enums; every problem found is collected, not just the first) -> a
 * normalised brief_t whose strings live in the caller's arena.
 *
 * Normalisation: enum values are matched case-insensitively with free
 * separators ("Google Ads", "google-ads", "GOOGLE_ADS" are all
 * PLATFORM_GOOGLE_ADS; "x" is twitter); strings are trimmed; empty
 * key_points are dropped; creativity names map to numbers. Unknown fields are
 * ignored; the old service's extra fields are type-checked but not used.
 *
 * brief_cache_key() hashes the canonical form (fixed field order, enums as
 * ids, trimmed text) so two briefs that mean the same thing share a key. */
#ifndef COPYD_API_BRIEF_H
#define COPYD_API_BRIEF_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

#include "core/arena.h"

typedef enum {
    PLATFORM_FACEBOOK = 0, PLATFORM_INSTAGRAM, PLATFORM_TWITTER, PLATFORM_LINKEDIN,
    PLATFORM_TIKTOK, PLATFORM_YOUTUBE, PLATFORM_GOOGLE_ADS, PLATFORM_EMAIL,
    PLATFORM_WEBSITE, PLATFORM_BLOG, PLATFORM__COUNT
} platform_t;

typedef enum {
    TONE_ASSERTIVE = 0, TONE_CASUAL, TONE_FORMAL, TONE_HUMOROUS, TONE_INFORMATIVE,
    TONE_INSPIRATIONAL, TONE_PROFESSIONAL, TONE_WITTY, TONE_URGENT, TONE_EMOTIONAL,
    TONE_FRIENDLY, TONE_AUTHORITATIVE, TONE_CONVERSATIONAL, TONE_PERSUASIVE,
    TONE_STORYTELLING, TONE_EDUCATIONAL, TONE_MOTIVATIONAL, TONE_EMPATHETIC,
    TONE_CONFIDENT, TONE_PLAYFUL, TONE__COUNT
} tone_t;

typedef enum {
    CONTENT_AD_COPY = 0, CONTENT_SOCIAL_POST, CONTENT_EMAIL_SUBJECT, CONTENT_EMAIL_BODY,
    CONTENT_BLOG_TITLE, CONTENT_BLOG_CONTENT, CONTENT_PRODUCT_DESCRIPTION,
    CONTENT_LANDING_PAGE, CONTENT_VIDEO_SCRIPT, CONTENT_PRESS_RELEASE, CONTENT__COUNT
} content_type_t;

/* The 25 use cases of the old service, in its order. */
typedef enum {
    USE_PRODUCT_LAUNCH = 0, USE_BRAND_AWARENESS, USE_LEAD_GENERATION, USE_SALES_CONVERSION,
    USE_CUSTOMER_RETENTION, USE_ENGAGEMENT, USE_EVENT_PROMOTION, USE_SEASONAL_CAMPAIGN,
    USE_PROMOTIONAL_OFFER, USE_EDUCATIONAL_CONTENT, USE_THOUGHT_LEADERSHIP,
    USE_COMMUNITY_BUILDING, USE_CUSTOMER_TESTIMONIAL, USE_BEHIND_THE_SCENES,
    USE_USER_GENERATED_CONTENT, USE_INFLUENCER_COLLABORATION, USE_CRISIS_COMMUNICATION,
    USE_RECRUITMENT, USE_PARTNERSHIP_ANNOUNCEMENT, USE_COMPANY_NEWS, USE_APP_DOWNLOAD,
    USE_NEWSLETTER_SIGNUP, USE_WEBINAR_REGISTRATION, USE_RE_ENGAGEMENT, USE_FEATURE_ANNOUNCEMENT,
    USE__COUNT
} use_case_t;

/* Canonical lower-case names ("google_ads", "storytelling", ...). */
const char *platform_name(platform_t p);
const char *tone_name(tone_t t);
const char *content_type_name(content_type_t c);
const char *use_case_name(use_case_t u);
/* Name -> enum, case-insensitive, ' ' '-' '_' equivalent. -1 if unknown. */
int platform_from_name(const char *s);
int tone_from_name(const char *s);
int content_type_from_name(const char *s);
int use_case_from_name(const char *s);

/* The 19 languages a brief may ask for (SPEC section 2), NULL-terminated. */
extern const char *const brief_languages[];

typedef struct str_list {
    const char **items; /* arena strings, trimmed, none empty */
    size_t n;
} str_list_t;

typedef struct brand_voice {
    const char *tone, *voice_style; /* NULL when absent */
    str_list_t do_use, dont_use, preferred_phrases;
    double formality_level;         /* 0..1, valid when has_formality */
    int has_formality;
} brand_voice_t;

typedef struct brief {
    const char *product_description; /* 1..2000 chars after trimming */
    platform_t platform;
    tone_t tone;
    char language[4];                /* "es", "en", ... from brief_languages */
    double creativity;               /* resolved 0..1 (creativity_score wins) */
    content_type_t content_type;     /* given, or the platform's default */
    use_case_t use_case;             /* given, or USE_BRAND_AWARENESS */
    int content_type_given, use_case_given;
    const char *target_audience;     /* NULL when absent */
    str_list_t key_points;           /* <= 15 */
    str_list_t features_to_highlight;/* <= 10 */
    const char *call_to_action;      /* NULL when absent, <= 100 chars */
    str_list_t keywords;             /* <= 20 */
    const char *instructions;        /* <= 1000 chars */
    str_list_t restrictions;         /* <= 15 */
    str_list_t compliance_requirements; /* <= 10 */
    int max_length, min_length;      /* 0 when absent */
    int max_variants;                /* 1..20, default 5 */
    brand_voice_t brand_voice;
    const char *website_info;        /* compact JSON text of the object, or NULL */
    /* Request metadata: not part of the cache key. */
    const char *tracking_id;         /* NULL when absent (the api makes a UUID) */
    const char *user_id, *campaign_id;
    int timeout;                     /* seconds 5..300, 0 when absent */
} brief_t;

/* One validation problem. `field` is a JSON path ("key_points[3]",
 * "brand_voice.formality_level"; "" for the body itself). `type` is the
 * FastAPI-style kind: "missing", "string_type", "string_too_long",
 * "string_too_short", "float_type", "int_type", "list_type", "dict_type",
 * "too_long" (lists), "greater_than_equal", "less_than_equal", "enum",
 * "value_error". `msg` is an English sentence naming the limit. */
typedef struct brief_problem {
    char field[128];
    char type[32];
    char msg[256];
} brief_problem_t;

#define BRIEF_MAX_PROBLEMS 32
typedef struct brief_problems {
    brief_problem_t items[BRIEF_MAX_PROBLEMS];
    size_t n;      /* problems stored */
    size_t total;  /* problems found (may exceed n) */
} brief_problems_t;

/* Empties a problem list. Only the counts are reset: the 13 KiB of items
 * are written as problems are found, so clearing is free on the hot path. */
static inline void problems_init(brief_problems_t *p) { p->n = p->total = 0; }

/* Adds one problem (counted in `total` even when the list is full). */
void problems_add(brief_problems_t *p, const char *field, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void problems_vadd(brief_problems_t *p, const char *field, const char *type, const char *fmt, va_list ap);

/* Strict JSON parsing of an untrusted body (any JSON value). Rejects invalid
 * UTF-8, "\u0000", duplicate object keys, NaN/Infinity, integers and reals
 * that do not fit, nesting deeper than 64, trailing garbage. On failure
 * returns -1 and writes a one-line reason (with position) to `msg`. */
#define BRIEF_MAX_DEPTH 64
int brief_json_parse(const char *body, size_t len, json_t **out, char *msg, size_t msgsz);

/* Validates `root` (must be an object) and fills `out`; strings are copied
 * into `arena`. Returns 0 when valid, -1 with `problems` filled otherwise.
 * Batch callers validate each item alone and report the item index
 * themselves. */
int brief_from_json(const json_t *root, arena_t *arena, brief_t *out, brief_problems_t *problems);

/* 128-bit hash (xxh3) of the canonical brief + engine + model, as 32
 * lower-case hex chars + NUL. Ignores tracking_id, user_id, campaign_id,
 * timeout and the unused legacy fields. */
#define BRIEF_KEY_LEN 33
void brief_cache_key(const brief_t *b, const char *engine, const char *model, char out[BRIEF_KEY_LEN]);

/* Canonical JSON text of the brief (same ignored fields as the key), written
 * into `arena`. Used for the key, for stored jobs and for debugging. */
const char *brief_canonical_json(const brief_t *b, arena_t *arena);

#endif
