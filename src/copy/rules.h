/* rules.h -- restrictions: understanding them and checking copy against them.
 *
 * A brief's restrictions are free text in any language ("no mencionar
 * precio", "avoid the word healthy", "max 50 words"). The patterns that
 * understand them live in data/<lang>/restrictions.json and are loaded once
 * into a rules_lang_t per language. rules_build() turns a brief's
 * restrictions (trying the brief's own language first, then every other
 * loaded language) and brand_voice.dont_use into a ruleset_t; what it cannot
 * understand is kept in `not_understood`, never dropped.
 *
 * The same ruleset drives generation (phrases that would break a rule are not
 * picked) and the final check of every variant, so the two cannot disagree.
 * Matching is case- and accent-insensitive and by whole word (text.h). */
#ifndef COPYD_COPY_RULES_H
#define COPYD_COPY_RULES_H

#include <stddef.h>

#include "api/brief.h"

typedef enum {
    RULE_NO_PRICE = 0,
    RULE_NO_EMOJI,
    RULE_NO_HASHTAGS,
    RULE_NO_EXCLAMATION,
    RULE_BANNED_WORD,
    RULE_MAX_WORDS,
    RULE_MAX_CHARS,
    RULE_COMPLIANCE, /* a compliance_requirements item, listed as understood; what it
                        forbids is enforced by the banned_word rules it maps to */
    RULE__COUNT
} rule_kind_t;

/* "no_price", "no_emoji", "no_hashtags", "no_exclamation", "banned_word",
 * "max_words", "max_chars", "compliance_requirement". */
const char *rule_kind_name(rule_kind_t k);

/* Restriction patterns and price vocabulary of one language. */
typedef struct rules_lang rules_lang_t;

/* Loads data/<lang>/restrictions.json. NULL with "<path>: <problem>" in err. */
rules_lang_t *rules_lang_load(const char *path, char *err, size_t errsz);
void rules_lang_free(rules_lang_t *l);

#define RULE_VALUE_MAX 96
typedef struct rule {
    rule_kind_t kind;
    const char *restriction;     /* the brief's text, borrowed; for dont_use the word */
    int from_dont_use;           /* 1 when it came from brand_voice.dont_use */
    char value[RULE_VALUE_MAX];  /* banned word as written, or the number; "" for flags */
    char folded[RULE_VALUE_MAX]; /* banned word in folded form */
    long n;                      /* max_words / max_chars */
} rule_t;

#define RULES_MAX 48
typedef struct ruleset {
    rule_t rules[RULES_MAX];
    size_t n;
    const char *not_understood[RULES_MAX]; /* borrowed from the brief */
    size_t n_not_understood;
    int no_price, no_emoji, no_hashtags, no_exclamation;
    long max_words, max_chars;   /* 0 = no such rule (the smallest wins) */
    size_t n_banned;             /* rules of kind RULE_BANNED_WORD */
    const rules_lang_t *lang;    /* price vocabulary of the copy's language */
} ruleset_t;

/* Understands one restriction. Returns 1 and fills `out` (restriction set to
 * `text`), or 0 when no pattern of any language matches. */
int rules_parse_one(const rules_lang_t *const *langs, size_t nlangs, const char *text, rule_t *out);

/* Builds the ruleset of brief `b`. langs[0..n) are all loaded languages;
 * `copy_lang` is the language the copy is written in (price words). Rules
 * beyond RULES_MAX are reported as not understood rather than lost.
 * Each compliance_requirements item gives a RULE_COMPLIANCE rule, plus one
 * RULE_BANNED_WORD rule (restriction = the item) for every word of the
 * families that the "compliance" table of restrictions.json maps it to
 * ("No prometer resultados garantizados" -> garantizado, garantía, ...). */
void rules_build(ruleset_t *rs, const rules_lang_t *const *langs, size_t nlangs,
                 const rules_lang_t *copy_lang, const brief_t *b);

/* Price mention in s[0..n): currency symbols, a currency code next to a
 * number, a percentage, or a price word of `l`. */
int rules_has_price(const rules_lang_t *l, const char *s, size_t n);

/* 1 when s[0..n) may appear in copy under `rs` (no price when no_price, no
 * emoji, no '!' or inverted '!', no banned word). Used to filter phrases. */
int rules_text_allowed(const ruleset_t *rs, const char *s, size_t n);

/* One variant as checked. */
typedef struct rules_subject {
    const char *headline, *primary_text, *call_to_action;
    const char *const *hashtags;
    size_t n_hashtags;
    long words;  /* word_count of the variant */
    long chars;  /* character_count of the variant */
} rules_subject_t;

typedef struct rule_violation {
    rule_kind_t kind;
    char detail[200];
} rule_violation_t;

/* Checks a variant against every rule; writes at most `max` violations and
 * returns how many were found (may exceed `max`). */
size_t rules_check(const ruleset_t *rs, const rules_subject_t *v, rule_violation_t *out, size_t max);

#endif
