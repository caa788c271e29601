/* score.h -- readability and engagement scores of a piece of copy.
 *
 * Readability (0..100, higher is easier), one formula per language, each
 * clamped to 0..100. ASL = words per sentence, ASW = syllables per word:
 *   es: Fernández-Huerta, 206.84 - 0.60*P - 1.02*F, P = syllables per 100
 *       words, F = words per sentence. (Fernández-Huerta's adaptation of
 *       Flesch; the often-copied "sentences per 100 words" reading of F
 *       rewards long sentences and is a known transcription error.)
 *   en: Flesch Reading Ease, 206.835 - 1.015*ASL - 84.6*ASW.
 *   pt: Flesch adapted to Portuguese (Martins et al., 1996),
 *       248.835 - 1.015*ASL - 84.6*ASW.
 *   fr: Kandel & Moles (1958), 207 - 1.015*ASL - 73.6*ASW.
 *   de: Amstad (1978), 180 - ASL - 58.5*ASW.
 *   it: Gulpease (1988), letter based, 89 + (300*sentences - 10*letters)/words.
 *   any other language: Flesch with the English counter.
 *
 * Syllable counters are written-form heuristics good for readability
 * averages, not for hyphenation; each is tested on known words.
 *
 * Engagement prediction (0..1) is a weighted sum of features, each 0..1,
 * reported one by one as the variant's evaluation_metrics:
 *   length_fit          0.20  primary text length inside the platform's ideal
 *                              range (data/platforms.json text_ideal)
 *   cta_present         0.15  a call to action is there
 *   hook                0.15  headline or opening asks a question (1.0), or
 *                              exclaims / gives a number (0.8); else 0.5
 *   key_point_coverage  0.20  share of the brief's key points present
 *   readability_band    0.10  readability inside 50..80, falling off outside
 *   hashtag_fit         0.10  hashtag count inside the platform's ideal range
 *   compliance          0.10  no restriction violated */
#ifndef COPYD_COPY_SCORE_H
#define COPYD_COPY_SCORE_H

#include <stddef.h>

#include "core/buf.h"

/* Syllables of one word (UTF-8). Spanish: vowel nuclei with diphthongs
 * (weak+weak, weak+strong) merged and hiatus (strong+strong, accented i/u)
 * split; a final "y" after a vowel is part of the nucleus. English: vowel
 * groups, minus a silent final "e" (but "-le" after a consonant keeps its
 * syllable) and a silent "-ed". At least 1 for any word with a letter. */
int syllables_es(const char *word, size_t len);
int syllables_en(const char *word, size_t len);
/* Portuguese and Italian: vowel nuclei as in Spanish (strong a e o and
 * accented vowels; weak i u), plus: a weak vowel between a strong vowel and
 * another vowel opens the next syllable ("saia" sai-a, "aiuto" a-iu-to);
 * Portuguese nasal ã/õ take the following vowel ("pão", "mãe"); Italian
 * accented ì ù are strong but do not break ("più"). "qu"/"gu" count as one
 * consonant before e/i. */
int syllables_pt(const char *word, size_t len);
int syllables_it(const char *word, size_t len);
/* French: vowel groups (a e i o u y and accented ones), where é è ê ë ï ü
 * stand alone ("réalité" 4, "réunion" 3); a final mute "e"/"es" is dropped
 * when another vowel remains ("école" 2, "dépenses" 2). */
int syllables_fr(const char *word, size_t len);
/* German: vowel groups where only the digraphs ai ay au ei ey eu äu ie aa ee
 * oo join ("Freude" 2, "Theater" 3, "Familie" 3); "qu" is a consonant. */
int syllables_de(const char *word, size_t len);
/* The counter of `lang` (English for languages without one). */
int syllables_for(const char *lang, const char *word, size_t len);

typedef struct text_stats {
    long words, sentences, syllables;
    long letters;   /* letters of the words (Gulpease) */
} text_stats_t;

/* Adds the words, sentences and syllables of s[0..n) to `st`. A sentence
 * ends at . ! ? … or a line break; text without an end counts as one. */
void text_stats_add(const char *lang, const char *s, size_t n, text_stats_t *st);

/* Readability of `st` in `lang` (formulas above). */
double readability_score(const char *lang, const text_stats_t *st);

enum {
    ENG_LENGTH_FIT = 0,
    ENG_CTA_PRESENT,
    ENG_HOOK,
    ENG_KEY_POINT_COVERAGE,
    ENG_READABILITY_BAND,
    ENG_HASHTAG_FIT,
    ENG_COMPLIANCE,
    ENG__COUNT
};
extern const char *const engagement_feature_names[ENG__COUNT];

typedef struct engagement_in {
    long text_chars;          /* primary text, code points */
    int text_ideal[2];        /* platform's ideal range */
    int has_cta;
    int hook_question, hook_strong;
    size_t key_points_total, key_points_present;
    double readability;
    size_t hashtags;
    int hashtags_ideal[2];    /* [0,0]: the platform takes none */
    int compliant;
} engagement_in_t;

/* Appends the evaluation_metrics array of a variant: one {"name","value"}
 * per engagement feature (rounded to 0.001), then the readability (0.01). */
void engagement_metrics_json(buf_t *o, const double features[ENG__COUNT], double readability);

/* Fills features[ENG__COUNT] and returns the weighted sum in 0..1. */
double engagement_predict(const engagement_in_t *in, double features[ENG__COUNT]);

#endif
