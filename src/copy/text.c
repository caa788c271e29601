#include "copy/text.h"

#include <ctype.h>
#include <string.h>

/* isalnum() for the "C" locale without the per-call locale lookup: these run
 * over every byte of every variant. */
static inline int ascii_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

size_t utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) { *cp = 0; return 0; }
    unsigned char c = u[0];
    size_t need;
    uint32_t v;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { need = 2; v = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; v = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; v = c & 0x07; }
    else { *cp = 0xFFFD; return 1; }
    if (n < need) { *cp = 0xFFFD; return 1; }
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = (v << 6) | (u[i] & 0x3F);
    }
    *cp = v;
    return need;
}

size_t utf8_count(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) k++;
    return k;
}

size_t utf8_prefix_bytes(const char *s, size_t n, size_t max_cps) {
    size_t k = 0, i = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (k == max_cps) return i;
            k++;
        }
        i++;
    }
    return n;
}

/* Base letters of U+00C0..U+00FF; ' ' for the two signs in that block. */
static const char latin1_base[65] =
    "aaaaaaaceeeeiiiidnooooo ouuuuyts"
    "aaaaaaaceeeeiiiidnooooo ouuuuyty";

size_t text_fold(const char *s, size_t n, char *out) {
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) { /* ASCII lower case, without the locale lookup of tolower() */
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode(s + i, n - i, &cp);
        if (cp >= 0xC0 && cp <= 0xFF) out[o++] = latin1_base[cp - 0xC0];
        else if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
                 (cp >= 0xFE00 && cp <= 0xFE0F) || cp >= 0x1F000 || cp == 0xFFFD)
            out[o++] = ' ';
        else { memmove(out + o, s + i, k); o += k; } /* out may be s: folding in place */
        i += k;
    }
    out[o] = '\0';
    return o;
}

size_t text_normalize(const char *s, size_t n, char *out) {
    size_t len = text_fold(s, n, out), o = 0;
    int space = 1; /* drop leading spaces */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        int keep = c >= 0x80 || ascii_alnum(c) || c == '-' || c == '%' || c == '$';
        if (!keep) {
            if (!space) out[o++] = ' ';
            space = 1;
        } else {
            out[o++] = (char)c;
            space = 0;
        }
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
    return o;
}

static int word_byte(unsigned char c, int hyphen_word) {
    return c >= 0x80 || ascii_alnum(c) || (hyphen_word && c == '-');
}

/* Tries to match `needle` at hay[i]; returns the end offset or 0. */
static size_t match_at(const char *hay, size_t hlen, size_t i, const char *needle, int hyphen_word) {
    const char *p = needle;
    while (*p) {
        if (*p == ' ') {
            size_t j = i;
            while (j < hlen && !word_byte((unsigned char)hay[j], hyphen_word)) j++;
            if (j == i) return 0;
            i = j;
            p++;
            continue;
        }
        if (i >= hlen || hay[i] != *p) return 0;
        i++;
        p++;
    }
    return i;
}

int text_has_word(const char *hay, size_t hlen, const char *needle, int plural, int hyphen_word) {
    if (!needle[0]) return 0;
    /* memchr() finds the candidate starts: this runs for every banned word
     * over every part of every variant */
    for (const char *p = hay, *end = hay + hlen; p < end && (p = memchr(p, needle[0], (size_t)(end - p))); p++) {
        size_t i = (size_t)(p - hay);
        if (i > 0 && word_byte((unsigned char)hay[i - 1], hyphen_word)) continue;
        size_t e = match_at(hay, hlen, i, needle, hyphen_word);
        if (!e) continue;
        if (e == hlen || !word_byte((unsigned char)hay[e], hyphen_word)) return 1;
        if (plural) {
            if (hay[e] == 's' && (e + 1 == hlen || !word_byte((unsigned char)hay[e + 1], hyphen_word))) return 1;
            if (hay[e] == 'e' && e + 1 < hlen && hay[e + 1] == 's' &&
                (e + 2 == hlen || !word_byte((unsigned char)hay[e + 2], hyphen_word)))
                return 1;
        }
    }
    return 0;
}

int text_has_emoji(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        if (cp >= 0x1F000 || (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2300 && cp <= 0x23FF) ||
            (cp >= 0x2B00 && cp <= 0x2BFF) || cp == 0xFE0F || cp == 0x200D)
            return 1;
    }
    return 0;
}

size_t text_count_words(const char *s, size_t n) {
    size_t words = 0;
    int in = 0, has = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : ' ';
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            if (in && has) words++;
            in = has = 0;
        } else {
            in = 1;
            /* any letter: ASCII alnum or a multi-byte letter that is not a symbol */
            if (ascii_alnum(c)) has = 1;
            else if (c >= 0xC3 && c <= 0xDF) has = 1; /* Latin-1 .. Cyrillic lead bytes */
        }
    }
    return words;
}

void text_upper_first(char *s) {
    unsigned char *u = (unsigned char *)s;
    if (!u[0]) return;
    if (u[0] < 0x80) { u[0] = (unsigned char)toupper(u[0]); return; }
    if (u[0] == 0xC3 && u[1] >= 0xA0 && u[1] <= 0xBE && u[1] != 0xB7) u[1] -= 0x20;
}

void text_lower_first(char *s) {
    unsigned char *u = (unsigned char *)s;
    if (!u[0]) return;
    if (u[0] < 0x80) { u[0] = (unsigned char)tolower(u[0]); return; }
    if (u[0] == 0xC3 && u[1] >= 0x80 && u[1] <= 0x9E && u[1] != 0x97) u[1] += 0x20;
}

int text_starts_upper(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) return isupper(u[0]) != 0;
    return u[0] == 0xC3 && u[1] >= 0x80 && u[1] <= 0x9E && u[1] != 0x97;
}

int text_ends_sentence(const char *s, size_t n) {
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n')) n--;
    if (n == 0) return 0;
    char c = s[n - 1];
    if (c == '.' || c == '!' || c == '?') return 1;
    return n >= 3 && memcmp(s + n - 3, "\xE2\x80\xA6", 3) == 0;
}
