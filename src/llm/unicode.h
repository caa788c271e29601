/* unicode.h -- the small amount of Unicode the tokenizers need.
 *
 * Two different notions of UTF-8 live here on purpose:
 *
 *   - uni_decode() is LENIENT in exactly the way llama.cpp's
 *     unicode_cpts_from_utf8() is: overlong forms and surrogates decode to
 *     whatever their bits say, and a byte that cannot start a well-formed
 *     sequence becomes U+FFFD and consumes one byte. Tokenizers must use it
 *     so that ids match llama.cpp on malformed input.
 *   - uni_check() is STRICT (RFC 3629): it is what the streaming
 *     detokenizer uses to decide which bytes are safe to hand to a client.
 *
 * Nothing here allocates. */
#ifndef COPYD_LLM_UNICODE_H
#define COPYD_LLM_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#define UNI_REPLACEMENT 0xFFFDu

/* Length of a UTF-8 sequence judged by its first byte only (llama.cpp's
 * unicode_len_utf8): 1 for ASCII and stray continuation bytes, 2/3/4 for
 * lead bytes (0xF8..0xFF count as 4). Never 0. */
int uni_lead_len(unsigned char c);

/* Decodes one code point from s[*off..n) leniently (see above) and advances
 * *off (always by at least 1). Requires *off < n. Values above U+10FFFF,
 * which llama.cpp cannot re-encode, come back as U+FFFD. */
uint32_t uni_decode(const char *s, size_t n, size_t *off);

/* Encodes cpt as UTF-8 into out (4 bytes room); returns the length.
 * Surrogates are encoded as their 3-byte form (llama.cpp does the same);
 * anything above U+10FFFF is written as U+FFFD. */
size_t uni_encode(uint32_t cpt, char *out);

/* Strict check of the sequence at s[0..n): returns its length (1..4) when it
 * is a complete well-formed character, 0 when it is malformed, -1 when it is
 * a correct but incomplete prefix (more bytes could complete it). n >= 1. */
int uni_check(const unsigned char *s, size_t n);

/* Unicode White_Space, as llama.cpp's unicode_cpt_flags().is_whitespace. */
int uni_is_space(uint32_t cpt);

/* GPT-2 byte-level mapping: every byte value has a printable code point
 * (bytes 0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF map to themselves, the other 68
 * to U+0100..U+0143 in order). uni_cpt_to_byte() is its inverse, -1 for a
 * code point that no byte maps to. */
uint32_t uni_byte_to_cpt(uint8_t b);
int uni_cpt_to_byte(uint32_t cpt);

#endif
