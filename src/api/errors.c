/* errors.c -- every error answer of the API (SPEC section 4). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

void api_error_object(buf_t *out, const char *code, const char *message, const char *field) {
    buf_puts(out, "{\"code\":");
    buf_json_str(out, code);
    buf_puts(out, ",\"message\":");
    buf_json_str(out, message);
    buf_puts(out, ",\"field\":");
    buf_json_str(out, field && *field ? field : NULL);
    buf_putc(out, '}');
}

void api_error(http_response_t *r, int status, const char *code, const char *message, const char *field) {
    r->status = status;
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"detail\":");
    buf_json_str(&r->body, message);
    buf_puts(&r->body, ",\"error\":");
    api_error_object(&r->body, code, message, field);
    buf_putc(&r->body, '}');
}

/* "key_points[3].x" -> "key_points", 3, "x" as JSON array members. */
static void append_loc(buf_t *out, const char *where, const char *path) {
    buf_putc(out, '[');
    buf_json_str(out, where);
    const char *p = path;
    while (*p) {
        if (*p == '.') { p++; continue; }
        if (*p == '[') {
            char *end;
            long idx = strtol(p + 1, &end, 10);
            buf_printf(out, ",%ld", idx);
            p = *end == ']' ? end + 1 : end;
            continue;
        }
        const char *start = p;
        while (*p && *p != '.' && *p != '[') p++;
        buf_putc(out, ',');
        buf_json_strn(out, start, (size_t)(p - start));
    }
    buf_putc(out, ']');
}

void api_validation_error(http_response_t *r, const brief_problems_t *p, const char *where) {
    r->status = 422;
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"detail\":[");
    for (size_t i = 0; i < p->n; i++) {
        if (i) buf_putc(&r->body, ',');
        buf_puts(&r->body, "{\"loc\":");
        append_loc(&r->body, where, p->items[i].field);
        buf_puts(&r->body, ",\"msg\":");
        buf_json_str(&r->body, p->items[i].msg);
        buf_puts(&r->body, ",\"type\":");
        buf_json_str(&r->body, p->items[i].type);
        buf_putc(&r->body, '}');
    }
    buf_puts(&r->body, "],\"error\":");
    const brief_problem_t *first = p->n ? &p->items[0] : NULL;
    const char *code = first && strcmp(first->type, "unsupported_language") == 0 ? "unsupported_language"
                                                                                 : "validation_error";
    api_error_object(&r->body, code, first ? first->msg : "invalid request", first ? first->field : NULL);
    if (p->total > p->n) buf_printf(&r->body, ",\"problems_not_shown\":%zu", p->total - p->n);
    buf_putc(&r->body, '}');
}

void api_validation_one(http_response_t *r, const char *where, const char *field, const char *type,
                        const char *msg) {
    brief_problems_t p;
    problems_init(&p);
    problems_add(&p, field, type, "%s", msg);
    api_validation_error(r, &p, where);
}

void api_send_json(http_response_t *r, int status, json_t *v) {
    r->status = status;
    buf_reset(&r->body);
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!s) {
        api_error(r, 500, "internal_error", "could not serialise the answer", NULL);
        return;
    }
    buf_puts(&r->body, s);
    free(s);
}

void api_gen_error(http_response_t *r, const gen_result_t *g) {
    if (g->status == 422) {
        brief_problems_t p;
        problems_init(&p);
        problems_add(&p, g->field, strcmp(g->code, "unsupported_language") == 0 ? "unsupported_language" : "value_error",
                     "%s", g->message);
        api_validation_error(r, &p, "body");
        return;
    }
    api_error(r, g->status, g->code, g->message, g->field);
    if (g->status == 503) r->retry_after = 5;
}
