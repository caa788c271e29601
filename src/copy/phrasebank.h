/* phrasebank.h -- the template engine's data, loaded once into compact C
 * structures so that generation never parses JSON.
 *
 * Layout under the data folder:
 *   platforms.json          limits, ideal ranges and tips (per language) of
 *                           each platform
 *   <lang>/phrases.json     tone groups, persuasion frameworks, phrase slots,
 *                           list words, stopwords, suggestion messages
 *   <lang>/restrictions.json  how restrictions in that language are read
 * A language is spoken when its folder loads; adding one is adding a folder
 * and its tips in platforms.json, no code. Any broken file makes the load
 * fail with "<file>: <what is wrong>".
 *
 * Optional "lower_mid_sentence" (default true) says whether a brief's text may
 * have its first letter lower-cased mid-sentence; German sets it false since
 * its nouns keep their capital.
 *
 * Optional "register" ({"formal_groups": [...], "informal": [words],
 * "formal": [words]}) marks each phrase that addresses the reader informally
 * or formally (a whole word of the list: "te", "tu" / "usted", "conozca"),
 * so one variant never mixes tú and usted; the formal groups (or
 * brand_voice.formality_level) choose the register of a brief.
 *
 * Optional <lang>/use_cases.json ({"comment": "...", "slots": {"cta": {
 * "app_download": [...], ...}}}) adds phrase lists per use_case to slots of
 * phrases.json (PB_USE_LIST).
 *
 * Optional "structures" ({"video_beats": [hook, problem, demo, cta]}) gives
 * the labels, in the language, that start each line of a video script.
 *
 * Phrases are templates with placeholders {product}, {product_lc},
 * {audience_lc} and {keywords}; at load each gets flags (price words, '!',
 * emoji, question, product mention) and a folded copy so generation can
 * filter by the brief's rules without re-reading the text. Everything is
 * read-only after load, so any number of threads may share one copy_data_t. */
#ifndef COPYD_COPY_PHRASEBANK_H
#define COPYD_COPY_PHRASEBANK_H

#include <stddef.h>

#include "api/brief.h"
#include "copy/rules.h"
#include "core/arena.h"

#define PB_GROUPS_MAX 8
#define PB_FW_MAX 8
#define PB_FW_PARTS 12
#define PB_TIPS_MAX 6
#define PB_BULLETS_MAX 4
#define COPY_LANGS_MAX 24

/* The beats of a video script, in order (pb_lang_t.beat_label). */
enum { PB_BEAT_HOOK = 0, PB_BEAT_PROBLEM, PB_BEAT_DEMO, PB_BEAT_CTA, PB_BEATS };

enum { PB_NEED_AUDIENCE = 1, PB_NEED_KEYWORDS = 2 };
enum { PB_F_PRICE = 1, PB_F_EXCLAIM = 2, PB_F_EMOJI = 4, PB_F_QUESTION = 8, PB_F_PRODUCT = 16,
       PB_F_INFORMAL = 32, PB_F_FORMAL = 64 /* addresses the reader as tú / usted ... */ };

typedef struct pb_phrase {
    const char *text;     /* template as written */
    const char *folded;   /* text_fold() of it, for banned-word filtering */
    unsigned len;         /* bytes of text */
    unsigned char needs;  /* PB_NEED_* */
    unsigned char flags;  /* PB_F_* */
    unsigned id;          /* 0..pb_lang_t.nphrases: index of the phrase in its language */
} pb_phrase_t;

/* One distinct word of a language's folded phrases (a run of word bytes as
 * text_has_word() reads them: ASCII letters and digits, bytes >= 0x80) and
 * the phrases that hold it: ids postings[first .. first + n), ascending. The
 * words are sorted by bytes (a shorter word before its extensions), so the
 * words that start with a given prefix are one run: a banned word finds the
 * few phrases it may rule out with one binary search instead of a test of
 * every phrase. */
typedef struct pb_word {
    const char *w;        /* not NUL-terminated: w[0..len) */
    unsigned len, first, n;
} pb_word_t;

/* A slot holds phrases per list: index 0 is "any" (every tone), 1..ngroups
 * the tone groups (families of tones that share vocabulary: "bold", "warm"),
 * and PB_TONE_LIST(t) the phrases written for one tone alone ("humorous",
 * "empathetic"). A brief's tone draws from its own list first, then its
 * group's, then "any": the twenty tones each sound like themselves where the
 * data gives them words, and share their family's where it does not. */
#define PB_TONE_LIST(t) (PB_GROUPS_MAX + 1 + (int)(t))
/* PB_USE_LIST(u): phrases for one use_case (data/<lang>/use_cases.json, e.g.
 * the calls to action of "app_download" or "webinar_registration"), walked
 * before the tone's own when the brief names its use case. */
#define PB_USE_LIST(u) (PB_GROUPS_MAX + 1 + TONE__COUNT + (int)(u))
#define PB_LISTS (PB_GROUPS_MAX + 1 + TONE__COUNT + USE__COUNT)
typedef struct pb_slot {
    const char *name;
    pb_phrase_t *items[PB_LISTS];
    unsigned n[PB_LISTS];
} pb_slot_t;

/* Slots every language must have, at these indices of pb_lang_t.slots. */
enum {
    PB_SLOT_HEADLINE = 0, PB_SLOT_HEADLINE_SHORT, PB_SLOT_CTA, PB_SLOT_KP_INTRO, PB_SLOT_FEATURE_INTRO,
    PB_SLOT_AUDIENCE, PB_SLOT_KEYWORDS, PB_SLOT_EXTRA, PB_SLOT_EMOJI, PB_SLOT_HASHTAG, PB_SLOT__FIXED
};

/* Framework parts: >= 0 is a slot index; these name the blocks built from
 * the brief itself. */
enum { PB_PART_KEYPOINTS = -1, PB_PART_AUDIENCE = -2, PB_PART_FEATURES = -3, PB_PART_BRAND = -4, PB_PART_KEYWORDS = -5 };

typedef struct pb_framework {
    const char *name;     /* "AIDA", "PAS", ... */
    int parts[PB_FW_PARTS];
    int nparts;
} pb_framework_t;

/* Suggestion messages; {platform}, {list} and {item} are filled in. */
enum {
    PB_MSG_DROPPED = 0, PB_MSG_NO_KEY_POINTS, PB_MSG_NO_AUDIENCE, PB_MSG_NO_CTA, PB_MSG_NOT_UNDERSTOOD,
    PB_MSG_VIOLATION, PB_MSG_MIN_LENGTH, PB_MSG_BEST, PB_MSG__COUNT
};

typedef struct pb_lang {
    char code[8];
    int tone_group[TONE__COUNT];   /* 1..ngroups */
    int ngroups;
    pb_framework_t fw[PB_FW_MAX];  /* in file order: the first are the safest */
    int nfw;
    pb_slot_t *slots;
    int nslots;
    const char *and_word, *and_before_i; /* "y" / "e" ("e" before an i- sound), NULL if none */
    int keep_case;                 /* "lower_mid_sentence": false -- brief text keeps its
                                      capitals mid-sentence (German nouns) */
    unsigned formal_groups;        /* bit g set: tone group g (1..) writes formally */
    int has_register;              /* the file has "register": phrases carry PB_F_(IN)FORMAL */
    const char *bullets[PB_BULLETS_MAX], *bullets_emoji[PB_BULLETS_MAX];
    const char *beat_label[PB_BEATS];  /* "structures.video_beats": labels of a video
                                          script's lines, punctuation included ("Gancho:");
                                          NULL when the file has none */
    int nbullets, nbullets_emoji;
    const char **stopwords;        /* folded */
    size_t nstopwords;
    const char *msg[PB_MSG__COUNT];
    const char *tips[PLATFORM__COUNT][PB_TIPS_MAX];
    int ntips[PLATFORM__COUNT];
    rules_lang_t *rules;
    unsigned nphrases;             /* phrases of every slot and group (pb_phrase_t.id) */
    const pb_phrase_t **by_id;     /* [nphrases] */
    const pb_word_t *words;        /* [nwords], sorted (see pb_word_t) */
    size_t nwords;
    const unsigned *postings;
} pb_lang_t;

/* The range [*lo, *hi) of L->words that start with pre[0..k). */
void pb_words_with_prefix(const pb_lang_t *L, const char *pre, size_t k, size_t *lo, size_t *hi);

typedef struct pb_platform {
    int headline_max, text_max, total_max; /* code points, 0 = none */
    int hashtags_max;
    int hashtags_ideal[2], text_ideal[2];
    int multiline, emoji;
} pb_platform_t;

typedef struct copy_data {
    arena_t arena;                 /* every string and table */
    pb_platform_t platforms[PLATFORM__COUNT];
    pb_lang_t *langs[COPY_LANGS_MAX];
    size_t nlangs;
    const char *codes[COPY_LANGS_MAX + 1];       /* NULL-terminated, brief_languages order */
    const rules_lang_t *rules[COPY_LANGS_MAX];   /* langs[i]->rules */
} copy_data_t;

/* Loads everything under `dir`. NULL with the reason in `err`. */
copy_data_t *copy_data_load(const char *dir, char *err, size_t errsz);
void copy_data_free(copy_data_t *d);
/* The language `code`, or NULL when it has no folder. */
const pb_lang_t *copy_data_lang(const copy_data_t *d, const char *code);

#endif
