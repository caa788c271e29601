#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

static log_level_t min_level = LOG_INFO; /* process state: set once at start */

void log_set_level(log_level_t level) { min_level = level; }

int log_parse_level(const char *name, log_level_t *out) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) { *out = (log_level_t)i; return 0; }
    return -1;
}

void log_msg(log_level_t level, const char *fmt, ...) {
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < min_level) return;
    char line[2048], ts[ISO8601_LEN];
    iso8601_now(ts);
    int n = snprintf(line, sizeof line, "%s %s ", ts, tags[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line: stdio locks the stream, so lines never interleave. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) { line[len] = '\n'; line[len + 1] = '\0'; }
    fputs(line, stderr);
}
