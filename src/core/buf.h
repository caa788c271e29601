/* buf.h -- growable byte buffer used to build responses and JSON text.
 *
 * A buf_t owns its memory. Appends never fail loudly: on allocation failure
 * the buffer sets `oom` and ignores further appends, so a caller can build a
 * whole answer and check once at the end (the curl / Redis sds habit of one
 * check instead of one per call). The content is always NUL-terminated. */
#ifndef COPYD_CORE_BUF_H
#define COPYD_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *p;      /* NUL-terminated content, NULL until the first append */
    size_t len;   /* bytes used, not counting the NUL */
    size_t cap;   /* bytes allocated */
    int oom;      /* set once an allocation failed */
} buf_t;

#define BUF_INIT {NULL, 0, 0, 0}

void buf_init(buf_t *b);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);                 /* len = 0, keeps memory */
void buf_append(buf_t *b, const void *data, size_t len);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Appends `s` as a JSON string literal, quotes included; NULL gives `null`. */
void buf_json_str(buf_t *b, const char *s);
void buf_json_strn(buf_t *b, const char *s, size_t len);
/* Appends a JSON number; non-finite values become 0 (JSON has no NaN). */
void buf_json_num(buf_t *b, double v);
/* Appends v >= 0 with exactly 6 decimals ("0.000123"), without printf:
 * durations on every answer. Negative or non-finite values give 0.000000. */
void buf_fixed6(buf_t *b, double v);
/* Hands the memory to the caller (who frees it) and resets the buffer.
 * Returns NULL if the buffer ran out of memory. */
char *buf_detach(buf_t *b, size_t *len);

#endif
