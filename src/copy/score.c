#include "copy/score.h"

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

static int is_letter(uint32_t cp) { return cp < 0x80 ? isalpha((int)cp) != 0 : (cp >= 0xC0 && cp <= 0x24F); }

int syllables_es(const char *w, size_t len) {
    uint32_t cps[64];
    size_t n = 0, i = 0;
    int letters = 0;
    while (i < len && n < 64) {
        uint32_t cp;
        i += utf8_decode(w + i, len - i, &cp);
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
        if (isalpha((unsigned char)w[i])) s[n++] = (char)tolower((unsigned char)w[i]);
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

void text_stats_add(const char *lang, const char *s, size_t n, text_stats_t *st) {
    int es = lang && strcmp(lang, "es") == 0;
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
        int syl = es ? syllables_es(tok, tl) : syllables_en(tok, tl);
        if (syl == 0) {
            int digit = 0;
            for (size_t k = 0; k < tl; k++) if (isdigit((unsigned char)tok[k])) digit = 1;
            if (!digit) continue; /* bullets, dashes, emoji */
            syl = 1;
        }
        st->words++;
        st->syllables += syl;
        words_in_sentence++;
        if (text_ends_sentence(tok, tl)) { st->sentences++; words_in_sentence = 0; }
    }
    if (words_in_sentence) st->sentences++;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

double readability_score(const char *lang, const text_stats_t *st) {
    if (st->words == 0) return 0;
    double sentences = st->sentences ? (double)st->sentences : 1.0;
    double wps = (double)st->words / sentences;
    double spw = (double)st->syllables / (double)st->words;
    double r;
    if (lang && strcmp(lang, "es") == 0) r = 206.84 - 0.60 * (spw * 100.0) - 1.02 * wps;
    else r = 206.835 - 1.015 * wps - 84.6 * spw;
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
