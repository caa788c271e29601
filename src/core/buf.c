#include "core/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b) { b->p = NULL; b->len = b->cap = 0; b->oom = 0; }

void buf_free(buf_t *b) { free(b->p); buf_init(b); }

void buf_reset(buf_t *b) { b->len = 0; if (b->p) b->p[0] = '\0'; }

static int buf_reserve(buf_t *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void buf_append(buf_t *b, const void *data, size_t len) {
    if (buf_reserve(b, len) < 0) return;
    if (len) memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_putc(buf_t *b, char c) { buf_append(b, &c, 1); }

void buf_vprintf(buf_t *b, const char *fmt, va_list ap) {
    /* Format straight into the free space; only when it does not fit is
     * the buffer grown and the text formatted a second time. */
    if (b->oom) return;
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, cp);
    va_end(cp);
    if (n < 0) return;
    if ((size_t)n < room) {
        b->len += (size_t)n;
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0) return;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_json_strn(buf_t *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (!s) { buf_puts(b, "null"); return; }
    buf_putc(b, '"');
    size_t run = 0; /* copy unescaped runs in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { run++; continue; }
        buf_append(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 6);
        }
        }
    }
    buf_append(b, s + len - run, run);
    buf_putc(b, '"');
}

void buf_json_str(buf_t *b, const char *s) { buf_json_strn(b, s, s ? strlen(s) : 0); }

/* Digits of u (< 10^19) into the end of tmp; returns the first. */
static char *digits_of(unsigned long long u, char *end) {
    char *p = end;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    return p;
}

void buf_json_num(buf_t *b, double v) {
    if (!isfinite(v)) v = 0;
    char tmp[48], *end = tmp + sizeof tmp;
    if (v == (double)(long long)v && fabs(v) < 1e15) {
        char *p = digits_of((unsigned long long)(v < 0 ? -v : v), end);
        if (v < 0) *--p = '-';
        buf_append(b, p, (size_t)(end - p));
        return;
    }
    /* "%.6g" without printf (every score of every variant goes through
     * here): in [1e-4, 1e6) %.6g is fixed notation with 6 significant
     * digits and no trailing zeros; the value is scaled to those digits,
     * rounded, and written. Elsewhere, and where rounding carries into a
     * seventh digit, printf does it. */
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e6) {
        int intd = 1; /* digits before the point (1 for 0.x) */
        while (intd < 6 && a >= p10[intd]) intd++;
        int dec = 6 - intd; /* decimals for 6 significant digits */
        if (a < 1) { int z = 0; while (a * p10[z + 1] < 1) z++; dec = 6 + z; } /* leading zeros after the point */
        unsigned long long s = (unsigned long long)nearbyint(a * p10[dec]); /* half to even, as printf */
        unsigned long long ip = s / (unsigned long long)p10[dec], fp = s % (unsigned long long)p10[dec];
        if ((a >= 1 && ip < (unsigned long long)p10[intd]) || (a < 1 && ip == 0)) {
            char *p = end;
            int nd = dec;
            while (nd > 0 && fp % 10 == 0) { fp /= 10; nd--; } /* no trailing zeros */
            if (nd > 0) {
                for (int i = 0; i < nd; i++) { *--p = (char)('0' + fp % 10); fp /= 10; }
                *--p = '.';
            }
            p = digits_of(ip, p);
            if (v < 0) *--p = '-';
            buf_append(b, p, (size_t)(end - p));
            return;
        }
    }
    buf_printf(b, "%.6g", v);
}

void buf_fixed6(buf_t *b, double v) {
    if (!(v >= 0) || v > 1e12) v = 0;
    unsigned long long micro = (unsigned long long)(v * 1e6 + 0.5);
    char tmp[32], *p = tmp + sizeof tmp;
    for (int i = 0; i < 6; i++) {
        *--p = (char)('0' + micro % 10);
        micro /= 10;
    }
    *--p = '.';
    do {
        *--p = (char)('0' + micro % 10);
        micro /= 10;
    } while (micro);
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

char *buf_detach(buf_t *b, size_t *len) {
    if (b->oom) { buf_free(b); return NULL; }
    if (!b->p) buf_reserve(b, 0), b->p ? b->p[0] = '\0' : 0;
    char *p = b->p;
    if (len) *len = b->len;
    buf_init(b);
    return p;
}
