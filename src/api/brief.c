/* brief.c -- strict parsing, validation and normalisation of a brief.
 *
 * Three stages, each cheap and linear in the size of the body:
 *
 * 1. brief_json_parse(): a pre-scan bounds the nesting depth before jansson
 *    (which recurses per level) ever sees the bytes, then jansson parses
 *    strictly (duplicate keys rejected, UTF-8 checked, numbers range-checked).
 * 2. brief_from_json(): every field of SPEC section 2 is looked up by name in
 *    a fixed order (so problems come out in a stable order, whatever the
 *    order of the body) and checked; every problem is recorded, not just the
 *    first. Strings are trimmed and copied into the caller's arena.
 * 3. brief_canonical_json() / brief_cache_key(): one serialiser writes the
 *    normalised brief in a fixed order to a "sink" that either counts bytes,
 *    writes them into arena memory, or streams them into XXH3. The key
 *    therefore needs no allocation at all.
 *
 * Choices where SPEC section 2 is silent (documented here and in the README):
 * - Lengths are counted in Unicode code points, after trimming. Trimming
 *   removes the white space Python's str.strip() removes (ASCII white space,
 *   U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
 *   U+3000).
 * - List items (key_points, keywords, brand_voice.do_use, ...) are at most
 *   BRIEF_ITEM_MAX_CHARS (500) characters each; item limits count the items
 *   kept after empty ones are dropped. brand_voice.tone / voice_style are at
 *   most 500 characters too.
 * - An optional string that is empty after trimming counts as absent; null
 *   counts as absent for every optional field. null for a required field is
 *   reported as "missing".
 * - Integers (max_length, min_length, max_variants) accept a real only when
 *   it is integral (12.0); booleans and numeric strings are never numbers.
 *   timeout accepts any number 5..300 and is rounded up to whole seconds.
 * - language also accepts a region tag ("en-US", "pt_BR"): the primary
 *   subtag must be one of the 19 languages.
 * - Enum names: case-insensitive, and ' ', '-', '_', '/' are ignored
 *   altogether, so "Google Ads", "google-ads", "GoogleAds" are google_ads;
 *   "x", "X/Twitter", "twitter-x" are twitter.
 * - The canonical JSON uses the brief's own field names and omits absent
 *   fields, so brief_from_json() of the canonical text gives back the same
 *   brief and the same key (stored jobs rely on that; the fuzzer checks it). */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no malloc per key */
#include "api/brief.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define BRIEF_ITEM_MAX_CHARS 500
#define BRIEF_ID_MAX_CHARS 200   /* tracking_id, user_id, campaign_id */
#define BRIEF_VOICE_LIST_MAX 20  /* brand_voice.do_use, dont_use, preferred_phrases */
#define CANONICAL_VERSION 1      /* bump when the canonical form changes: old keys die */

/* ---------------------------------------------------------------------- */
/* Enum name tables (order = the enums of brief.h)                          */

static const char *const platform_names[] = {
    "facebook", "instagram", "twitter", "linkedin", "tiktok",
    "youtube", "google_ads", "email", "website", "blog",
};
static const char *const tone_names[] = {
    "assertive", "casual", "formal", "humorous", "informative",
    "inspirational", "professional", "witty", "urgent", "emotional",
    "friendly", "authoritative", "conversational", "persuasive", "storytelling",
    "educational", "motivational", "empathetic", "confident", "playful",
};
static const char *const content_type_names[] = {
    "ad_copy", "social_post", "email_subject", "email_body", "blog_title",
    "blog_content", "product_description", "landing_page", "video_script", "press_release",
};
static const char *const use_case_names[] = {
    "product_launch", "brand_awareness", "lead_generation", "sales_conversion",
    "customer_retention", "engagement", "event_promotion", "seasonal_campaign",
    "promotional_offer", "educational_content", "thought_leadership",
    "community_building", "customer_testimonial", "behind_the_scenes",
    "user_generated_content", "influencer_collaboration", "crisis_communication",
    "recruitment", "partnership_announcement", "company_news", "app_download",
    "newsletter_signup", "webinar_registration", "re_engagement", "feature_announcement",
};
/* creativity_level names and the numbers they stand for. */
static const char *const creativity_names[] = {"conservative", "balanced", "creative", "innovative"};
static const double creativity_values[] = {0.2, 0.6, 0.8, 0.95};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(COUNT_OF(platform_names) == PLATFORM__COUNT, "platform_names out of step with platform_t");
_Static_assert(COUNT_OF(tone_names) == TONE__COUNT, "tone_names out of step with tone_t");
_Static_assert(COUNT_OF(content_type_names) == CONTENT__COUNT, "content_type_names out of step");
_Static_assert(COUNT_OF(use_case_names) == USE__COUNT, "use_case_names out of step with use_case_t");
_Static_assert(COUNT_OF(creativity_names) == COUNT_OF(creativity_values), "creativity tables");

const char *const brief_languages[] = {
    "es", "en", "fr", "pt", "it", "de", "nl", "ru", "zh", "ja",
    "ko", "ar", "hi", "tr", "pl", "sv", "da", "no", "fi", NULL,
};
#define LANGUAGE_COUNT 19

const char *platform_name(platform_t p) {
    return (unsigned)p < PLATFORM__COUNT ? platform_names[p] : "unknown";
}
const char *tone_name(tone_t t) { return (unsigned)t < TONE__COUNT ? tone_names[t] : "unknown"; }
const char *content_type_name(content_type_t c) {
    return (unsigned)c < CONTENT__COUNT ? content_type_names[c] : "unknown";
}
const char *use_case_name(use_case_t u) {
    return (unsigned)u < USE__COUNT ? use_case_names[u] : "unknown";
}

static int is_sep(unsigned char c) { return c == ' ' || c == '-' || c == '_' || c == '/' || c == '\t'; }
static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Lower-cases `s` and drops every separator into `out`. Returns the length,
 * or -1 when it does not fit (no name is that long, so: unknown). */
static int squash(const char *s, char *out, size_t outsz) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_sep(*p)) continue;
        if (n + 1 >= outsz) return -1;
        out[n++] = (char)ascii_lower(*p);
    }
    out[n] = '\0';
    return (int)n;
}

/* `name` (a table entry, separators '_') equals the squashed input? */
static int squashed_eq(const char *name, const char *sq) {
    for (;; name++) {
        if (*name == '_') continue;
        if (*name != *sq) return 0;
        if (!*name) return 1;
        sq++;
    }
}

static int lookup(const char *const *names, size_t count, const char *s) {
    char sq[64];
    if (!s || squash(s, sq, sizeof sq) <= 0) return -1;
    for (size_t i = 0; i < count; i++)
        if (squashed_eq(names[i], sq)) return (int)i;
    return -1;
}

int platform_from_name(const char *s) {
    static const char *const twitter_aliases[] = {"x", "x_twitter", "twitter_x", "x_com"};
    int r = lookup(platform_names, PLATFORM__COUNT, s);
    if (r < 0 && lookup(twitter_aliases, COUNT_OF(twitter_aliases), s) >= 0) r = PLATFORM_TWITTER;
    return r;
}
int tone_from_name(const char *s) { return lookup(tone_names, TONE__COUNT, s); }
int content_type_from_name(const char *s) { return lookup(content_type_names, CONTENT__COUNT, s); }
int use_case_from_name(const char *s) { return lookup(use_case_names, USE__COUNT, s); }

/* ---------------------------------------------------------------------- */
/* Strict JSON parsing                                                      */

/* Copies `s` into `out` as one line of printable ASCII (error messages may
 * quote raw bytes of a hostile body; they must stay safe to log and embed). */
static void one_line(char *out, size_t outsz, const char *s) {
    if (!outsz) return;
    size_t i = 0;
    for (; s[i] && i + 1 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[i] = '\0';
}

/* Line and column (1-based, bytes) of offset `at` in `body`. */
static void position_of(const char *body, size_t at, long *line, long *col) {
    long l = 1;
    size_t last_nl = (size_t)-1;
    for (size_t i = 0; i < at; i++)
        if (body[i] == '\n') l++, last_nl = i;
    *line = l;
    *col = (long)(at - (last_nl + 1)) + 1;
}

/* Returns the offset of the first '[' or '{' (outside strings) that opens
 * level max_depth + 1, or (size_t)-1 when the body never gets that deep.
 * It mirrors jansson's tokenizer for as long as jansson would accept the
 * input, so jansson never recurses deeper than this scan allows. */
static size_t depth_exceeded_at(const char *body, size_t len, int max_depth) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_str) {
            if (c == '\\') i++;            /* skip the escaped byte */
            else if (c == '"') in_str = 0;
            continue;
        }
        switch (c) {
        case '"': in_str = 1; break;
        case '[': case '{':
            if (++depth > max_depth) return i;
            break;
        case ']': case '}':
            if (depth > 0) depth--;
            break;
        default: break;
        }
    }
    return (size_t)-1;
}

int brief_json_parse(const char *body, size_t len, json_t **out, char *msg, size_t msgsz) {
    *out = NULL;
    if (msg && msgsz) msg[0] = '\0';
    if (!body) len = 0;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) i++;
    if (i == len) {
        if (msg) snprintf(msg, msgsz, "request body is empty");
        return -1;
    }
    size_t deep = depth_exceeded_at(body, len, BRIEF_MAX_DEPTH);
    if (deep != (size_t)-1) {
        long line, col;
        position_of(body, deep, &line, &col);
        if (msg)
            snprintf(msg, msgsz, "invalid JSON: nesting deeper than %d levels (line %ld column %ld)",
                     BRIEF_MAX_DEPTH, line, col);
        return -1;
    }
    json_error_t err;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j) {
        if (msg) {
            char text[JSON_ERROR_TEXT_LENGTH];
            one_line(text, sizeof text, err.text);
            if (err.line >= 1)
                snprintf(msg, msgsz, "invalid JSON: %s (line %d column %d)", text, err.line,
                         err.column < 1 ? 1 : err.column);
            else
                snprintf(msg, msgsz, "invalid JSON: %s (byte %d)", text, err.position);
        }
        return -1;
    }
    *out = j;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Validation helpers                                                       */

typedef struct vctx {
    arena_t *arena;
    brief_problems_t *pr;
    int oom;
} vctx_t;

void problems_vadd(brief_problems_t *pr, const char *field, const char *type, const char *fmt, va_list ap) {
    pr->total++;
    if (pr->n >= BRIEF_MAX_PROBLEMS) return;
    brief_problem_t *p = &pr->items[pr->n++];
    snprintf(p->field, sizeof p->field, "%s", field);
    snprintf(p->type, sizeof p->type, "%s", type);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
}

void problems_add(brief_problems_t *pr, const char *field, const char *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    problems_vadd(pr, field, type, fmt, ap);
    va_end(ap);
}

static void problem(vctx_t *v, const char *field, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(vctx_t *v, const char *field, const char *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    problems_vadd(v->pr, field, type, fmt, ap);
    va_end(ap);
}

/* "prefix.name" or "name". */
static void fpath(char out[128], const char *prefix, const char *name) {
    if (prefix && *prefix) snprintf(out, 128, "%.60s.%.60s", prefix, name);
    else snprintf(out, 128, "%.100s", name);
}

/* Bytes of a white space code point starting at s (n bytes left), 0 if none. */
static size_t ws_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && n >= 2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;
    if (n < 3) return 0;
    if (c == 0xe1 && s[1] == 0x9a && s[2] == 0x80) return 3;                 /* U+1680 */
    if (c == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) ||      /* U+2000..200A */
                                      s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) return 3;
    if (c == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) return 3;                 /* U+205F */
    if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x80) return 3;                 /* U+3000 */
    return 0;
}

static void trim(const char **sp, size_t *np) {
    const unsigned char *s = (const unsigned char *)*sp;
    size_t n = *np, k;
    while (n && (k = ws_len(s, n)) > 0) s += k, n -= k;
    for (;;) {
        if (!n) break;
        if (ws_len(s + n - 1, 1) == 1) { n--; continue; }
        if (n >= 2 && ws_len(s + n - 2, 2) == 2) { n -= 2; continue; }
        if (n >= 3 && ws_len(s + n - 3, 3) == 3) { n -= 3; continue; }
        break;
    }
    *sp = (const char *)s;
    *np = n;
}

/* Code points in s[0..n), counting stops once past `limit`. */
static size_t utf8_chars(const char *s, size_t n, size_t limit) {
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > limit) break;
    return chars;
}

/* A short, printable quote of a user value for messages. */
static void quote_value(char out[48], const char *s) {
    size_t i = 0, max = 40;
    for (; s[i] && i < max; i++) out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s[i]) {
        /* cut before the code point that s[i] belongs to, so none is split */
        while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80) i--;
        memcpy(out + i, "...", 4);
    } else {
        out[i] = '\0';
    }
}

static void enum_problem(vctx_t *v, const char *field, const char *got, const char *const *names,
                         size_t count) {
    char msg[256], q[48];
    quote_value(q, got);
    int w = snprintf(msg, sizeof msg, "%s '%s' is not supported; expected one of: ", field, q);
    size_t pos = w < 0 ? 0 : (size_t)w >= sizeof msg ? sizeof msg - 1 : (size_t)w;
    for (size_t i = 0; i < count; i++) {
        size_t need = strlen(names[i]) + (i ? 2 : 0);
        if (pos + need + 5 >= sizeof msg) { /* keep room for ", ..." */
            if (pos + 5 < sizeof msg) memcpy(msg + pos, ", ...", 6);
            pos = sizeof msg;
            break;
        }
        if (i) memcpy(msg + pos, ", ", 2), pos += 2;
        memcpy(msg + pos, names[i], strlen(names[i]));
        pos += strlen(names[i]);
        msg[pos] = '\0';
    }
    problem(v, field, "enum", "%s", msg);
}

static int absent(const json_t *j) { return !j || json_is_null(j); }

/* Reads a string. Returns 1 when a non-empty value was stored in *out, 0
 * when absent or empty after trimming (*out = NULL), -1 after a problem. */
static int get_str(vctx_t *v, const json_t *j, const char *field, size_t min, size_t max,
                   const char **out) {
    *out = NULL;
    if (absent(j)) return 0;
    if (!json_is_string(j)) {
        problem(v, field, "string_type", "%s must be a string", field);
        return -1;
    }
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (memchr(s, '\0', n)) {
        problem(v, field, "value_error", "%s must not contain NUL characters", field);
        return -1;
    }
    trim(&s, &n);
    size_t chars = utf8_chars(s, n, max);
    if (chars < min) {
        problem(v, field, "string_too_short", "%s must have at least %zu character%s", field, min,
                min == 1 ? "" : "s");
        return -1;
    }
    if (chars > max) {
        problem(v, field, "string_too_long", "%s must be at most %zu characters", field, max);
        return -1;
    }
    if (!n) return 0;
    char *c = arena_strndup(v->arena, s, n);
    if (!c) { v->oom = 1; return -1; }
    *out = c;
    return 1;
}

static void get_list(vctx_t *v, const json_t *j, const char *field, size_t max_items, str_list_t *out) {
    out->items = NULL;
    out->n = 0;
    if (absent(j)) return;
    if (!json_is_array(j)) {
        problem(v, field, "list_type", "%s must be a list", field);
        return;
    }
    size_t n = json_array_size(j), cap = n < max_items ? n : max_items, kept = 0;
    if (cap) {
        out->items = arena_alloc(v->arena, cap * sizeof *out->items);
        if (!out->items) { v->oom = 1; return; }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(j, i);
        char f[128];
        snprintf(f, sizeof f, "%.100s[%zu]", field, i);
        if (!json_is_string(it)) {
            problem(v, f, "string_type", "%s must be a string", f);
            continue;
        }
        const char *s;
        if (get_str(v, it, f, 0, BRIEF_ITEM_MAX_CHARS, &s) == 1) {
            if (kept < cap) out->items[kept] = s;
            kept++;
        }
    }
    out->n = kept < cap ? kept : cap;
    if (kept > max_items)
        problem(v, field, "too_long", "%s must have at most %zu items (got %zu)", field, max_items, kept);
}

/* Numbers: 1 when present and valid (*out set), 0 when absent, -1 problem. */
static int get_num(vctx_t *v, const json_t *j, const char *field, double lo, double hi, double *out) {
    if (absent(j)) return 0;
    if (!json_is_number(j)) { /* booleans are not numbers in jansson: good */
        problem(v, field, "float_type", "%s must be a number", field);
        return -1;
    }
    double d = json_number_value(j);
    if (d < lo) {
        problem(v, field, "greater_than_equal", "%s must be at least %g", field, lo);
        return -1;
    }
    if (d > hi) {
        problem(v, field, "less_than_equal", "%s must be at most %g", field, hi);
        return -1;
    }
    *out = d;
    return 1;
}

static int get_int(vctx_t *v, const json_t *j, const char *field, long lo, long hi, long *out) {
    if (absent(j)) return 0;
    double d;
    if (json_is_integer(j)) {
        json_int_t x = json_integer_value(j);
        d = x < lo ? (double)lo - 1 : x > hi ? (double)hi + 1 : (double)x;
    } else if (json_is_real(j)) {
        d = json_real_value(j);
        if (d != floor(d)) {
            problem(v, field, "int_type", "%s must be a whole number", field);
            return -1;
        }
    } else {
        problem(v, field, "int_type", "%s must be an integer", field);
        return -1;
    }
    if (d < (double)lo) {
        problem(v, field, "greater_than_equal", "%s must be at least %ld", field, lo);
        return -1;
    }
    if (d > (double)hi) {
        problem(v, field, "less_than_equal", "%s must be at most %ld", field, hi);
        return -1;
    }
    *out = (long)d;
    return 1;
}

static const json_t *get_obj(vctx_t *v, const json_t *j, const char *field) {
    if (absent(j)) return NULL;
    if (!json_is_object(j)) {
        problem(v, field, "dict_type", "%s must be an object", field);
        return NULL;
    }
    return j;
}

/* Enum member: 1 valid (*out set), 0 absent, -1 problem. */
static int get_enum(vctx_t *v, const json_t *j, const char *field, int (*from)(const char *),
                    const char *const *names, size_t count, int *out) {
    if (absent(j)) return 0;
    if (!json_is_string(j)) {
        problem(v, field, "string_type", "%s must be a string", field);
        return -1;
    }
    const char *s = json_string_value(j);
    int r = memchr(s, '\0', json_string_length(j)) ? -1 : from(s);
    if (r < 0) {
        enum_problem(v, field, s, names, count);
        return -1;
    }
    *out = r;
    return 1;
}

static int creativity_from_name(const char *s) {
    return lookup(creativity_names, COUNT_OF(creativity_names), s);
}

static void get_language(vctx_t *v, const json_t *j, char out[4]) {
    memcpy(out, "es", 3);
    if (absent(j)) return;
    if (!json_is_string(j)) {
        problem(v, "language", "string_type", "language must be a string");
        return;
    }
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    trim(&s, &n);
    /* "en", or "en-US" / "pt_BR" / "zh-Hans": the primary subtag decides */
    char code[3] = {0};
    int ok = n == 2 || (n >= 4 && n <= 11 && (s[2] == '-' || s[2] == '_'));
    for (size_t i = 3; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '-' || s[i] == '_';
    if (ok) {
        code[0] = (char)ascii_lower((unsigned char)s[0]);
        code[1] = (char)ascii_lower((unsigned char)s[1]);
        ok = 0;
        for (size_t i = 0; i < LANGUAGE_COUNT; i++)
            if (memcmp(brief_languages[i], code, 3) == 0) { ok = 1; break; }
    }
    if (!ok) {
        enum_problem(v, "language", json_string_value(j), brief_languages, LANGUAGE_COUNT);
        return;
    }
    memcpy(out, code, 3);
}

static content_type_t default_content_type(platform_t p) {
    switch (p) {
    case PLATFORM_EMAIL: return CONTENT_EMAIL_BODY;
    case PLATFORM_GOOGLE_ADS: return CONTENT_AD_COPY;
    case PLATFORM_BLOG: return CONTENT_BLOG_CONTENT;
    case PLATFORM_WEBSITE: return CONTENT_LANDING_PAGE;
    case PLATFORM_YOUTUBE: case PLATFORM_TIKTOK: return CONTENT_VIDEO_SCRIPT;
    default: return CONTENT_SOCIAL_POST;
    }
}

#define MEMBER(o, name) json_object_get((o), (name))

static void get_brand_voice(vctx_t *v, const json_t *root, brand_voice_t *bv) {
    const json_t *o = get_obj(v, MEMBER(root, "brand_voice"), "brand_voice");
    if (!o) return;
    char f[128];
    fpath(f, "brand_voice", "tone");
    get_str(v, MEMBER(o, "tone"), f, 0, BRIEF_ITEM_MAX_CHARS, &bv->tone);
    fpath(f, "brand_voice", "voice_style");
    get_str(v, MEMBER(o, "voice_style"), f, 0, BRIEF_ITEM_MAX_CHARS, &bv->voice_style);
    fpath(f, "brand_voice", "do_use");
    get_list(v, MEMBER(o, "do_use"), f, BRIEF_VOICE_LIST_MAX, &bv->do_use);
    fpath(f, "brand_voice", "dont_use");
    get_list(v, MEMBER(o, "dont_use"), f, BRIEF_VOICE_LIST_MAX, &bv->dont_use);
    fpath(f, "brand_voice", "preferred_phrases");
    get_list(v, MEMBER(o, "preferred_phrases"), f, BRIEF_VOICE_LIST_MAX, &bv->preferred_phrases);
    fpath(f, "brand_voice", "formality_level");
    bv->has_formality = get_num(v, MEMBER(o, "formality_level"), f, 0, 1, &bv->formality_level) == 1;
}

int brief_from_json(const json_t *root, arena_t *arena, brief_t *out, brief_problems_t *problems) {
    vctx_t v = {arena, problems, 0};
    problems->n = problems->total = 0;
    memset(out, 0, sizeof *out);
    memcpy(out->language, "es", 3);
    out->creativity = 0.6;
    out->max_variants = 5;
    out->use_case = USE_BRAND_AWARENESS;

    if (!json_is_object(root)) {
        problem(&v, "", "dict_type", "the brief must be a JSON object");
        return -1;
    }

    /* Required fields. */
    const json_t *j = MEMBER(root, "product_description");
    if (absent(j)) problem(&v, "product_description", "missing", "product_description is required");
    else get_str(&v, j, "product_description", 1, 2000, &out->product_description);

    int e, platform_ok = 0;
    j = MEMBER(root, "target_platform");
    if (absent(j)) problem(&v, "target_platform", "missing", "target_platform is required");
    else if (get_enum(&v, j, "target_platform", platform_from_name, platform_names, PLATFORM__COUNT, &e) == 1)
        out->platform = (platform_t)e, platform_ok = 1;

    j = MEMBER(root, "tone");
    if (absent(j)) problem(&v, "tone", "missing", "tone is required");
    else if (get_enum(&v, j, "tone", tone_from_name, tone_names, TONE__COUNT, &e) == 1)
        out->tone = (tone_t)e;

    get_language(&v, MEMBER(root, "language"), out->language);

    /* creativity_level: a number 0..1 or a name; creativity_score wins. */
    j = MEMBER(root, "creativity_level");
    if (!absent(j)) {
        if (json_is_number(j)) {
            get_num(&v, j, "creativity_level", 0, 1, &out->creativity);
        } else if (json_is_string(j)) {
            int c = memchr(json_string_value(j), '\0', json_string_length(j))
                        ? -1 : creativity_from_name(json_string_value(j));
            if (c >= 0) out->creativity = creativity_values[c];
            else {
                char q[48];
                quote_value(q, json_string_value(j));
                problem(&v, "creativity_level", "enum",
                        "creativity_level '%s' is not supported; expected a number from 0 to 1 or one of: "
                        "conservative, balanced, creative, innovative", q);
            }
        } else {
            problem(&v, "creativity_level", "float_type",
                    "creativity_level must be a number from 0 to 1 or one of: conservative, balanced, "
                    "creative, innovative");
        }
    }
    get_num(&v, MEMBER(root, "creativity_score"), "creativity_score", 0, 1, &out->creativity);

    if (get_enum(&v, MEMBER(root, "content_type"), "content_type", content_type_from_name,
                 content_type_names, CONTENT__COUNT, &e) == 1)
        out->content_type = (content_type_t)e, out->content_type_given = 1;
    else if (platform_ok)
        out->content_type = default_content_type(out->platform);
    if (get_enum(&v, MEMBER(root, "use_case"), "use_case", use_case_from_name, use_case_names,
                 USE__COUNT, &e) == 1)
        out->use_case = (use_case_t)e, out->use_case_given = 1;

    get_str(&v, MEMBER(root, "target_audience"), "target_audience", 0, 800, &out->target_audience);
    get_list(&v, MEMBER(root, "key_points"), "key_points", 15, &out->key_points);
    get_list(&v, MEMBER(root, "features_to_highlight"), "features_to_highlight", 10,
             &out->features_to_highlight);
    get_str(&v, MEMBER(root, "call_to_action"), "call_to_action", 0, 100, &out->call_to_action);
    get_list(&v, MEMBER(root, "keywords"), "keywords", 20, &out->keywords);
    get_str(&v, MEMBER(root, "instructions"), "instructions", 0, 1000, &out->instructions);
    get_list(&v, MEMBER(root, "restrictions"), "restrictions", 15, &out->restrictions);
    get_list(&v, MEMBER(root, "compliance_requirements"), "compliance_requirements", 10,
             &out->compliance_requirements);

    long x;
    if (get_int(&v, MEMBER(root, "max_length"), "max_length", 10, 10000, &x) == 1) out->max_length = (int)x;
    if (get_int(&v, MEMBER(root, "min_length"), "min_length", 10, 5000, &x) == 1) out->min_length = (int)x;
    if (out->max_length && out->min_length > out->max_length)
        problem(&v, "min_length", "value_error", "min_length (%d) must not be greater than max_length (%d)",
                out->min_length, out->max_length);

    const json_t *vs = get_obj(&v, MEMBER(root, "variant_settings"), "variant_settings");
    if (vs && get_int(&v, MEMBER(vs, "max_variants"), "variant_settings.max_variants", 1, 20, &x) == 1)
        out->max_variants = (int)x;

    get_brand_voice(&v, root, &out->brand_voice);

    const json_t *wi = get_obj(&v, MEMBER(root, "website_info"), "website_info");
    if (wi) {
        char *text = json_dumps(wi, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text || !(out->website_info = arena_strdup(arena, text))) v.oom = 1;
        free(text);
    }

    get_str(&v, MEMBER(root, "tracking_id"), "tracking_id", 0, BRIEF_ID_MAX_CHARS, &out->tracking_id);
    get_str(&v, MEMBER(root, "user_id"), "user_id", 0, BRIEF_ID_MAX_CHARS, &out->user_id);
    get_str(&v, MEMBER(root, "campaign_id"), "campaign_id", 0, BRIEF_ID_MAX_CHARS, &out->campaign_id);
    double t;
    if (get_num(&v, MEMBER(root, "timeout"), "timeout", 5, 300, &t) == 1) out->timeout = (int)ceil(t);

    /* The old service's fields: type-checked, then ignored. */
    static const char *const legacy_objects[] = {
        "translation_settings", "audience_profile", "project_context", "platform_settings",
        "seo_optimization", "engagement_optimization", "conversion_optimization",
    };
    for (size_t i = 0; i < COUNT_OF(legacy_objects); i++)
        get_obj(&v, MEMBER(root, legacy_objects[i]), legacy_objects[i]);
    j = MEMBER(root, "session_id");
    if (!absent(j) && !json_is_string(j)) problem(&v, "session_id", "string_type", "session_id must be a string");
    j = MEMBER(root, "priority");
    if (!absent(j) && !json_is_string(j) && !json_is_integer(j))
        problem(&v, "priority", "int_type", "priority must be a string or an integer");

    if (v.oom) problem(&v, "", "value_error", "out of memory while reading the brief");
    return problems->total ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Canonical form and cache key                                             */

enum { SINK_COUNT, SINK_WRITE, SINK_HASH };

typedef struct sink {
    int mode;
    int first;             /* next member is the first of its object: no comma */
    size_t len;            /* bytes emitted so far */
    char *dst;             /* SINK_WRITE */
    XXH3_state_t *st;      /* SINK_HASH, set up on the first flush only */
    XXH3_state_t *st_mem;
    size_t blen;           /* SINK_HASH: bytes waiting in buf */
    unsigned char buf[4096];
} sink_t;

static void sink_flush(sink_t *s) {
    if (!s->st) {
        s->st = s->st_mem;
        XXH3_INITSTATE(s->st);
        XXH3_128bits_reset(s->st);
    }
    XXH3_128bits_update(s->st, s->buf, s->blen);
    s->blen = 0;
}

static void put(sink_t *s, const void *p, size_t n) {
    switch (s->mode) {
    case SINK_WRITE: memcpy(s->dst + s->len, p, n); break;
    case SINK_HASH:
        if (s->blen + n > sizeof s->buf) {
            sink_flush(s);
            if (n > sizeof s->buf) { XXH3_128bits_update(s->st, p, n); break; }
        }
        memcpy(s->buf + s->blen, p, n);
        s->blen += n;
        break;
    default: break;
    }
    s->len += n;
}

static void puts_(sink_t *s, const char *str) { put(s, str, strlen(str)); }

static void put_jstr(sink_t *s, const char *str) {
    static const char hex[] = "0123456789abcdef";
    put(s, "\"", 1);
    const char *run = str;
    for (const char *p = str; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(s, run, (size_t)(p - run));
        run = p + 1;
        switch (c) {
        case '"': put(s, "\\\"", 2); break;
        case '\\': put(s, "\\\\", 2); break;
        case '\n': put(s, "\\n", 2); break;
        case '\r': put(s, "\\r", 2); break;
        case '\t': put(s, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(s, e, 6);
        }
        }
    }
    put(s, run, strlen(run));
    put(s, "\"", 1);
}

static void put_open(sink_t *s) { put(s, "{", 1); s->first = 1; }
static void put_close(sink_t *s) { put(s, "}", 1); s->first = 0; }

/* "name": with the comma it needs */
static void put_key(sink_t *s, const char *name) {
    if (s->first) put(s, "\"", 1);
    else put(s, ",\"", 2);
    s->first = 0;
    puts_(s, name);
    put(s, "\":", 2);
}

static void put_int(sink_t *s, long v) {
    char b[24];
    int n = snprintf(b, sizeof b, "%ld", v);
    put(s, b, (size_t)n);
}

/* Rounded to 1e-6 so float noise does not split keys. */
static void put_fixed6(sink_t *s, double v) {
    char b[48];
    if (!isfinite(v)) v = 0;
    v = round(v * 1e6) / 1e6;
    if (v == 0) v = 0; /* no "-0.000000" */
    int n = snprintf(b, sizeof b, "%.6f", v);
    put(s, b, (size_t)n);
}

static void put_opt_str(sink_t *s, const char *name, const char *v) {
    if (!v) return;
    put_key(s, name);
    put_jstr(s, v);
}

static void put_list(sink_t *s, const char *name, const str_list_t *l) {
    if (!l->n) return;
    put_key(s, name);
    put(s, "[", 1);
    for (size_t i = 0; i < l->n; i++) {
        if (i) put(s, ",", 1);
        put_jstr(s, l->items[i]);
    }
    put(s, "]", 1);
}

static void serialise(sink_t *s, const brief_t *b) {
    put_open(s);
    put_key(s, "canonical");
    put_int(s, CANONICAL_VERSION);
    put_opt_str(s, "product_description", b->product_description);
    put_key(s, "target_platform");
    put_jstr(s, platform_name(b->platform));
    put_key(s, "tone");
    put_jstr(s, tone_name(b->tone));
    put_key(s, "language");
    put_jstr(s, b->language);
    put_key(s, "creativity_level");
    put_fixed6(s, b->creativity);
    put_key(s, "content_type");
    put_jstr(s, content_type_name(b->content_type));
    put_key(s, "use_case");
    put_jstr(s, use_case_name(b->use_case));
    put_opt_str(s, "target_audience", b->target_audience);
    put_list(s, "key_points", &b->key_points);
    put_list(s, "features_to_highlight", &b->features_to_highlight);
    put_opt_str(s, "call_to_action", b->call_to_action);
    put_list(s, "keywords", &b->keywords);
    put_opt_str(s, "instructions", b->instructions);
    put_list(s, "restrictions", &b->restrictions);
    put_list(s, "compliance_requirements", &b->compliance_requirements);
    if (b->max_length) put_key(s, "max_length"), put_int(s, b->max_length);
    if (b->min_length) put_key(s, "min_length"), put_int(s, b->min_length);
    put_key(s, "variant_settings");
    put_open(s);
    put_key(s, "max_variants");
    put_int(s, b->max_variants);
    put_close(s);
    const brand_voice_t *bv = &b->brand_voice;
    if (bv->tone || bv->voice_style || bv->do_use.n || bv->dont_use.n || bv->preferred_phrases.n ||
        bv->has_formality) {
        put_key(s, "brand_voice");
        put_open(s);
        put_opt_str(s, "tone", bv->tone);
        put_opt_str(s, "voice_style", bv->voice_style);
        put_list(s, "do_use", &bv->do_use);
        put_list(s, "dont_use", &bv->dont_use);
        put_list(s, "preferred_phrases", &bv->preferred_phrases);
        if (bv->has_formality) put_key(s, "formality_level"), put_fixed6(s, bv->formality_level);
        put_close(s);
    }
    if (b->website_info) put_key(s, "website_info"), puts_(s, b->website_info);
    put_close(s);
}

const char *brief_canonical_json(const brief_t *b, arena_t *arena) {
    sink_t sk, *s = &sk; /* counting pass, then writing pass: exact size, one allocation */
    memset(s, 0, offsetof(sink_t, buf));
    s->mode = SINK_COUNT;
    serialise(s, b);
    char *text = arena_alloc(arena, s->len + 1);
    if (!text) return NULL;
    s->mode = SINK_WRITE;
    s->first = 0;
    s->dst = text;
    s->len = 0;
    serialise(s, b);
    text[s->len] = '\0';
    return text;
}

void brief_cache_key(const brief_t *b, const char *engine, const char *model, char out[BRIEF_KEY_LEN]) {
    static const char hex[] = "0123456789abcdef";
    XXH3_state_t st;
    sink_t s;
    s.mode = SINK_HASH;
    s.first = 0;
    s.len = s.blen = 0;
    s.dst = NULL;
    s.st = NULL;
    s.st_mem = &st;
    serialise(&s, b);
    put(&s, "\n", 1);
    puts_(&s, engine ? engine : "");
    put(&s, "\n", 1);
    puts_(&s, model ? model : "");
    XXH128_hash_t h;
    if (s.st) { /* long brief: streamed */
        sink_flush(&s);
        h = XXH3_128bits_digest(s.st);
    } else {    /* the usual case: one shot over the buffer, same hash */
        h = XXH3_128bits(s.buf, s.blen);
    }
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(h.high64 >> (60 - 4 * i)) & 15];
        out[16 + i] = hex[(h.low64 >> (60 - 4 * i)) & 15];
    }
    out[32] = '\0';
}
