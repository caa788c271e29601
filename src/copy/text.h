/* text.h -- the small UTF-8 text toolbox the copy modules share.
 *
 * Everything here works on NUL-terminated or (ptr, len) UTF-8 and never
 * allocates. "Folding" is the comparison form used by the restriction rules
 * and the phrase filters: ASCII lower-case, Latin-1 accented letters reduced
 * to their base letter ("Ñ" -> "n", "É" -> "e"), non-Latin letters kept as
 * they are, and symbols, emoji and non-ASCII punctuation turned into spaces.
 * A folded text is never longer than its source. */
#ifndef COPYD_COPY_TEXT_H
#define COPYD_COPY_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[0..n); returns bytes used (>= 1 when n > 0).
 * Invalid sequences decode as U+FFFD one byte at a time. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Number of code points in s[0..n). */
size_t utf8_count(const char *s, size_t n);
/* Byte offset of the code point boundary at or before `max_cps` code points. */
size_t utf8_prefix_bytes(const char *s, size_t n, size_t max_cps);

/* Folds s[0..n) into out (room for n + 1 bytes; out may be s); returns the folded length. */
size_t text_fold(const char *s, size_t n, char *out);
/* Folds, then turns every ASCII punctuation mark except '-' and digits'
 * neighbours into a space and collapses runs of spaces; trims both ends.
 * This is the normal form restrictions and their patterns are compared in. */
size_t text_normalize(const char *s, size_t n, char *out);

/* Whole-word search of `needle` (folded, words separated by single spaces)
 * in the folded `hay`. A space in the needle matches any run of non-word
 * bytes. When `plural` is set, the last word may carry an "s" or "es".
 * Word bytes are ASCII letters and digits and every byte >= 0x80 (folded
 * text only has letters there); '-' is a word byte when `hyphen_word` is
 * set, so "sugar-free" is not the word "free". Returns 1 when found. */
int text_has_word(const char *hay, size_t hlen, const char *needle, int plural, int hyphen_word);

/* 1 when the text has an emoji or pictograph (U+1F000.., U+2600..U+27BF,
 * U+2300..U+23FF, U+2B00..U+2BFF, U+FE0F, U+200D). */
int text_has_emoji(const char *s, size_t n);

/* Words: runs of non-space bytes that hold at least one letter or digit. */
size_t text_count_words(const char *s, size_t n);

/* Upper-/lower-cases the first letter of s in place (ASCII and Latin-1
 * letters; other scripts are left alone). */
void text_upper_first(char *s);
void text_lower_first(char *s);
/* 1 when the code point at s starts with an upper-case letter (ASCII or Latin-1). */
int text_starts_upper(const char *s);
/* 1 when the last non-space byte of s[0..n) ends a sentence: . ! ? or "…". */
int text_ends_sentence(const char *s, size_t n);

#endif
