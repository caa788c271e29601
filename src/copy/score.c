#include "copy/score.h"

#include <math.h>

#include <ctype.h>
#include <string.h>

#include "copy/text.h"

const char *const engagement_feature_names[ENG__COUNT] = {
    "length_fit", "cta_present", "hook", "key_point_coverage", "readability_band", "hashtag_fit", "compliance",
};
static const double engagement_weights[ENG__COUNT] = {0.20, 0.15, 0.15, 0.20, 0.10, 0.10, 0.10};

/* Spanish vowel classes: 0 not a vowel, 1 strong (a e o, and any accented
 * vowel, which always carries its own nucleus), 2 weak (i u ü). */
static int es_vowel(uint32_t cp) {
    switch (cp) {
    case 'a': case 'e': case 'o': case 'A': case 'E': case 'O': return 1;
    case 0xE1: case 0xE9: case 0xF3: case 0xC1: case 0xC9: case 0xD3: return 1; /* á é ó */
    case 0xED: case 0xFA: case 0xCD: case 0xDA: return 3;                       /* í ú: strong, break diphthongs */
    case 'i': case 'u': case 'I': case 'U': case 0xFC: case 0xDC: return 2;      /* i u ü */
    default: return 0;
    }
}

/* utf8_decode() with ASCII inline: these run over every word of every
 * variant. n > 0. */
static inline size_t dec(const char *s, size_t n, uint32_t *cp) {
    if ((unsigned char)s[0] < 0x80) { *cp = (unsigned char)s[0]; return 1; }
    return utf8_decode(s, n, cp);
}

static inline int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }
static inline int ascii_alpha(int c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static int is_letter(uint32_t cp) { return cp < 0x80 ? ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') : (cp >= 0xC0 && cp <= 0x24F); }

int syllables_es(const char *w, size_t len) {
    uint32_t cps[64];
    size_t n = 0, i = 0;
    int letters = 0;
    while (i < len && n < 64) {
        uint32_t cp;
        i += dec(w + i, len - i, &cp);
        cps[n++] = cp;
        if (is_letter(cp)) letters++;
    }
    if (!letters) return 0;
    int count = 0, prev = 0; /* prev: class of the previous code point if a vowel */
    for (size_t k = 0; k < n; k++) {
        uint32_t cp = cps[k];
        int v = es_vowel(cp);
        /* "y" is a vowel at the end of a word ("hoy", "muy") or alone ("y") */
        if (!v && (cp == 'y' || cp == 'Y') && (k + 1 == n || !is_letter(cps[k + 1])))
            v = 2;
        if (!v) { prev = 0; continue; }
        if (!prev) count++;
        else if ((prev == 1 || prev == 3) && (v == 1 || v == 3)) count++; /* hiatus: strong + strong */
        else if (prev == 3 || v == 3) count++;                           /* accented weak breaks it */
        /* weak+weak, weak+strong, strong+weak: diphthong, same nucleus */
        prev = v;
    }
    return count ? count : 1;
}

static int en_vowel(int c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; }

int syllables_en(const char *w, size_t len) {
    char s[64];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof s - 1; i++)
        if (ascii_alpha((unsigned char)w[i])) s[n++] = (char)ascii_lower((unsigned char)w[i]);
    s[n] = '\0';
    if (!n) {
        for (size_t i = 0; i < len; i++) if (isdigit((unsigned char)w[i])) return 1;
        return 0;
    }
    int count = 0;
    for (size_t i = 0; i < n; i++)
        if (en_vowel(s[i]) && (i == 0 || !en_vowel(s[i - 1]))) count++;
    if (n >= 2 && s[n - 1] == 'e' && count > 1) {
        if (n >= 3 && s[n - 2] == 'l' && !en_vowel(s[n - 3])) { /* "table": -le keeps its syllable */ }
        else if (!en_vowel(s[n - 2])) count--;                    /* "make": silent e */
    }
    if (n >= 3 && s[n - 2] == 'e' && s[n - 1] == 'd' && s[n - 3] != 't' && s[n - 3] != 'd' &&
        !en_vowel(s[n - 3]) && count > 1)
        count--; /* "used", "designed" */
    return count ? count : 1;
}

/* Decodes a word into lower-case code points (ASCII and Latin-1 letters;
 * others kept). Returns the count; *letters gets the letters seen. */
static size_t word_cps(const char *w, size_t len, uint32_t *out, size_t max, int *letters) {
    size_t n = 0, i = 0;
    *letters = 0;
    while (i < len && n < max) {
        uint32_t cp;
        i += dec(w + i, len - i, &cp);
        if (cp < 0x80) cp = (uint32_t)ascii_lower((int)cp);
        else if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) cp += 0x20;
        if (is_letter(cp)) (*letters)++;
        out[n++] = cp;
    }
    return n;
}

/* Portuguese / Italian vowel classes: 1 strong, 2 weak, 3 accented weak
 * that breaks a diphthong, 4 nasal (takes the next vowel). */
static int pt_vowel(uint32_t cp) {
    switch (cp) {
    case 'a': case 'e': case 'o': case 0xE1: case 0xE9: case 0xF3: case 0xE2: case 0xEA: case 0xF4: case 0xE0: return 1;
    case 0xE3: case 0xF5: return 4;                 /* ã õ */
    case 0xED: case 0xFA: return 3;                 /* í ú */
    case 'i': case 'u': case 0xFC: return 2;
    default: return 0;
    }
}

static int it_vowel(uint32_t cp) {
    switch (cp) {
    case 'a': case 'e': case 'o': case 0xE0: case 0xE8: case 0xE9: case 0xF2: case 0xF3: return 1;
    case 0xEC: case 0xF9: case 0xED: case 0xFA: case 0xEE: return 1; /* ì ù: stressed, but "più" is one syllable */
    case 'i': case 'u': return 2;
    default: return 0;
    }
}

/* Romance nuclei shared by Portuguese and Italian (see score.h). */
static int syllables_romance(const char *w, size_t len, int (*vclass)(uint32_t)) {
    uint32_t c[64];
    int letters;
    size_t n = word_cps(w, len, c, 64, &letters);
    if (!letters) return 0;
    int count = 0, prev = 0;
    for (size_t k = 0; k < n; k++) {
        int v = vclass(c[k]);
        /* u of qu/gu before e/i is not a vowel */
        if (c[k] == 'u' && k > 0 && (c[k - 1] == 'q' || c[k - 1] == 'g') && k + 1 < n && vclass(c[k + 1]) &&
            (c[k + 1] == 'e' || c[k + 1] == 'i' || c[k + 1] == 0xE9 || c[k + 1] == 0xEA || c[k + 1] == 0xE8))
            v = 0;
        if (!v) { prev = 0; continue; }
        if (!prev) count++;
        else if (prev == 4) { /* nasal: ão, ãe, õe */ }
        else if ((prev == 1 || prev == 3 || prev == 4) && (v == 1 || v == 3 || v == 4)) count++; /* hiatus */
        else if (prev == 3 || v == 3) count++;
        else if (v == 2 && prev == 1 && k + 1 < n && vclass(c[k + 1])) count++; /* glide opens the next one */
        prev = v;
    }
    return count ? count : 1;
}

int syllables_pt(const char *w, size_t len) { return syllables_romance(w, len, pt_vowel); }
int syllables_it(const char *w, size_t len) { return syllables_romance(w, len, it_vowel); }

static int fr_vowel(uint32_t cp) {
    switch (cp) {
    case 'a': case 'e': case 'i': case 'o': case 'u': case 'y':
    case 0xE0: case 0xE2: case 0xE6: case 0xEE: case 0xF4: case 0xF9: case 0xFB: case 0xFF: case 0x153: return 1;
    case 0xE9: case 0xE8: case 0xEA: case 0xEB: case 0xEF: case 0xFC: return 2; /* é è ê ë ï ü: alone */
    default: return 0;
    }
}

int syllables_fr(const char *w, size_t len) {
    uint32_t c[64];
    int letters;
    size_t n = word_cps(w, len, c, 64, &letters);
    if (!letters) return 0;
    while (n > 0 && !is_letter(c[n - 1])) n--; /* trailing punctuation */
    /* final mute e / es */
    size_t end = n;
    if (end >= 3 && c[end - 1] == 's' && c[end - 2] == 'e') end -= 2;
    else if (end >= 2 && c[end - 1] == 'e') end -= 1;
    int before = 0;
    for (size_t k = 0; k < end; k++) before |= fr_vowel(c[k]) != 0;
    if (!before) end = n;
    int count = 0, prev = 0;
    for (size_t k = 0; k < end; k++) {
        int v = fr_vowel(c[k]);
        if (c[k] == 'u' && k > 0 && (c[k - 1] == 'q' || c[k - 1] == 'g') && k + 1 < end && fr_vowel(c[k + 1])) v = 0;
        if (!v) { prev = 0; continue; }
        if (!prev || v == 2 || prev == 2) count++;
        prev = v;
    }
    return count ? count : 1;
}

static int de_vowel(uint32_t cp) {
    return cp == 'a' || cp == 'e' || cp == 'i' || cp == 'o' || cp == 'u' || cp == 'y' || cp == 0xE4 || cp == 0xF6 || cp == 0xFC;
}

static int de_joins(uint32_t a, uint32_t b) {
    return (a == 'a' && (b == 'i' || b == 'y' || b == 'u' || b == 'a')) || (a == 'e' && (b == 'i' || b == 'y' || b == 'u' || b == 'e')) ||
           (a == 0xE4 && b == 'u') || (a == 'i' && b == 'e') || (a == 'o' && b == 'o');
}

int syllables_de(const char *w, size_t len) {
    uint32_t c[64];
    int letters;
    size_t n = word_cps(w, len, c, 64, &letters);
    if (!letters) return 0;
    int count = 0, glen = 0;
    for (size_t k = 0; k < n; k++) {
        int v = de_vowel(c[k]);
        if (c[k] == 'u' && k > 0 && c[k - 1] == 'q') v = 0;
        if (!v) { glen = 0; continue; }
        if (glen == 1 && de_joins(c[k - 1], c[k])) { glen = 2; continue; }
        count++;
        glen = 1;
    }
    return count ? count : 1;
}

typedef int (*syllable_fn)(const char *, size_t);

static syllable_fn counter_of(const char *lang) {
    if (lang && lang[0] && lang[1] && !lang[2]) {
        if (!strcmp(lang, "es")) return syllables_es;
        if (!strcmp(lang, "pt")) return syllables_pt;
        if (!strcmp(lang, "it")) return syllables_it;
        if (!strcmp(lang, "fr")) return syllables_fr;
        if (!strcmp(lang, "de")) return syllables_de;
    }
    return syllables_en;
}

int syllables_for(const char *lang, const char *w, size_t len) { return counter_of(lang)(w, len); }

static long letters_of(const char *s, size_t n) {
    long k = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        i += dec(s + i, n - i, &cp);
        if (is_letter(cp)) k++;
    }
    return k;
}

void text_stats_add(const char *lang, const char *s, size_t n, text_stats_t *st) {
    syllable_fn syllables = counter_of(lang); /* once, not per word */
    long words_in_sentence = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
            if (s[i] == '\n' && words_in_sentence) { st->sentences++; words_in_sentence = 0; }
            i++;
        }
        size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') i++;
        if (i == start) break;
        const char *tok = s + start;
        size_t tl = i - start;
        if (tok[0] == '#') continue; /* hashtags are not prose */
        int syl = syllables(tok, tl);
        if (syl == 0) {
            int digit = 0;
            for (size_t k = 0; k < tl; k++) if (isdigit((unsigned char)tok[k])) digit = 1;
            if (!digit) continue; /* bullets, dashes, emoji */
            syl = 1;
        }
        st->words++;
        st->syllables += syl;
        st->letters += letters_of(tok, tl);
        words_in_sentence++;
        if (text_ends_sentence(tok, tl)) { st->sentences++; words_in_sentence = 0; }
    }
    if (words_in_sentence) st->sentences++;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

double readability_score(const char *lang, const text_stats_t *st) {
    if (st->words == 0) return 0;
    double sentences = st->sentences ? (double)st->sentences : 1.0;
    double asl = (double)st->words / sentences;
    double asw = (double)st->syllables / (double)st->words;
    double r;
    if (!lang) lang = "";
    if (strcmp(lang, "es") == 0) r = 206.84 - 0.60 * (asw * 100.0) - 1.02 * asl;
    else if (strcmp(lang, "pt") == 0) r = 248.835 - 1.015 * asl - 84.6 * asw;
    else if (strcmp(lang, "fr") == 0) r = 207.0 - 1.015 * asl - 73.6 * asw;
    else if (strcmp(lang, "de") == 0) r = 180.0 - asl - 58.5 * asw;
    else if (strcmp(lang, "it") == 0) r = 89.0 + (300.0 * sentences - 10.0 * (double)st->letters) / (double)st->words;
    else r = 206.835 - 1.015 * asl - 84.6 * asw;
    return r < 0 ? 0 : r > 100 ? 100 : r;
}

static double range_fit(double v, double lo, double hi) {
    if (v >= lo && v <= hi) return 1.0;
    if (v < lo) return lo > 0 ? clamp01(v / lo) : 1.0;
    return clamp01(1.0 - (v - hi) / (hi > 0 ? hi : 1.0));
}

double engagement_predict(const engagement_in_t *in, double f[ENG__COUNT]) {
    f[ENG_LENGTH_FIT] = range_fit((double)in->text_chars, in->text_ideal[0], in->text_ideal[1]);
    f[ENG_CTA_PRESENT] = in->has_cta ? 1.0 : 0.0;
    f[ENG_HOOK] = in->hook_question ? 1.0 : in->hook_strong ? 0.8 : 0.5;
    f[ENG_KEY_POINT_COVERAGE] = in->key_points_total ? (double)in->key_points_present / (double)in->key_points_total : 1.0;
    f[ENG_READABILITY_BAND] = in->readability >= 50 && in->readability <= 80
                                  ? 1.0
                                  : clamp01(1.0 - (in->readability < 50 ? 50 - in->readability : in->readability - 80) / 50.0);
    if (in->hashtags_ideal[1] == 0) f[ENG_HASHTAG_FIT] = in->hashtags == 0 ? 1.0 : 0.0;
    else f[ENG_HASHTAG_FIT] = range_fit((double)in->hashtags, in->hashtags_ideal[0], in->hashtags_ideal[1]);
    f[ENG_COMPLIANCE] = in->compliant ? 1.0 : 0.0;
    double sum = 0;
    for (int i = 0; i < ENG__COUNT; i++) sum += engagement_weights[i] * f[i];
    return clamp01(sum);
}

void engagement_metrics_json(buf_t *o, const double features[ENG__COUNT], double readability) {
    buf_putc(o, '[');
    for (int i = 0; i < ENG__COUNT; i++) {
        buf_puts(o, i ? ",{\"name\":\"" : "{\"name\":\"");
        buf_puts(o, engagement_feature_names[i]);
        buf_puts(o, "\",\"value\":");
        buf_json_num(o, round(features[i] / 0.001) * 0.001);
        buf_putc(o, '}');
    }
    buf_puts(o, ",{\"name\":\"readability\",\"value\":");
    buf_json_num(o, round(readability / 0.01) * 0.01);
    buf_puts(o, "}]");
}
