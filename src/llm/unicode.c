/* unicode.c -- see unicode.h. */
#include "llm/unicode.h"

int uni_lead_len(unsigned char c) {
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

uint32_t uni_decode(const char *str, size_t n, size_t *off) {
    const unsigned char *s = (const unsigned char *)str + *off;
    size_t left = n - *off;
    unsigned char c = s[0];
    uint32_t cpt;
    /* Same tests, in the same order, as llama.cpp's unicode_cpt_from_utf8:
     * only the lead byte's high bits and the continuation bytes' top two
     * bits are checked. */
    if (!(c & 0x80)) {
        *off += 1;
        return c;
    }
    if (!(c & 0x40)) goto bad;
    if (!(c & 0x20)) {
        if (left < 2 || !is_cont(s[1])) goto bad;
        *off += 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (!(c & 0x10)) {
        if (left < 3 || !is_cont(s[1]) || !is_cont(s[2])) goto bad;
        *off += 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (!(c & 0x08)) {
        if (left < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3])) goto bad;
        *off += 4;
        cpt = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return cpt > 0x10FFFF ? UNI_REPLACEMENT : cpt;
    }
bad:
    *off += 1;
    return UNI_REPLACEMENT;
}

size_t uni_encode(uint32_t cpt, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cpt <= 0x7F) {
        o[0] = (unsigned char)cpt;
        return 1;
    }
    if (cpt <= 0x7FF) {
        o[0] = 0xC0 | (cpt >> 6);
        o[1] = 0x80 | (cpt & 0x3F);
        return 2;
    }
    if (cpt > 0x10FFFF) cpt = UNI_REPLACEMENT;
    if (cpt <= 0xFFFF) {
        o[0] = 0xE0 | (cpt >> 12);
        o[1] = 0x80 | ((cpt >> 6) & 0x3F);
        o[2] = 0x80 | (cpt & 0x3F);
        return 3;
    }
    o[0] = 0xF0 | (cpt >> 18);
    o[1] = 0x80 | ((cpt >> 12) & 0x3F);
    o[2] = 0x80 | ((cpt >> 6) & 0x3F);
    o[3] = 0x80 | (cpt & 0x3F);
    return 4;
}

int uni_check(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;             /* continuation or overlong 2-byte lead */
    if (c < 0xE0) len = 2;
    else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;       /* overlong */
        if (c == 0xED) hi = 0x9F;       /* surrogates */
    } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0) lo = 0x90;       /* overlong */
        if (c == 0xF4) hi = 0x8F;       /* above U+10FFFF */
    } else return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -1;
        unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
        if (s[i] < lo_i || s[i] > hi_i) return 0;
    }
    return len;
}

int uni_is_space(uint32_t c) {
    if (c >= 0x09 && c <= 0x0D) return 1;
    if (c < 0x80) return c == 0x20;
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

static int byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t uni_byte_to_cpt(uint8_t b) {
    if (byte_is_printable(b)) return b;
    /* The unprintable bytes take U+0100.. in increasing byte order. */
    uint32_t k = 0;
    for (unsigned x = 0; x < b; x++)
        if (!byte_is_printable(x)) k++;
    return 0x100 + k;
}

int uni_cpt_to_byte(uint32_t cpt) {
    if (cpt < 0x100) return byte_is_printable(cpt) ? (int)cpt : -1;
    if (cpt >= 0x100 + 68) return -1;
    uint32_t k = cpt - 0x100;
    for (unsigned x = 0; x < 256; x++)
        if (!byte_is_printable(x) && k-- == 0) return (int)x;
    return -1;
}
