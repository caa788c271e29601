/* log.h -- one-line log records on stderr.
 *
 * Every line is "<ISO time> <level> <message>". Request lines are written by
 * the HTTP layer as key=value pairs so they can be grepped and parsed.
 * Secrets (API keys) are never passed to these functions. */
#ifndef COPYD_CORE_LOG_H
#define COPYD_CORE_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Minimum level written; set once at start from COPYD_LOG_LEVEL. */
void log_set_level(log_level_t level);
int log_parse_level(const char *name, log_level_t *out);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
