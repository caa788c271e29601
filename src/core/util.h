/* util.h -- small process-wide helpers: clocks, ISO 8601 time, UUIDs,
 * randomness and constant-time comparison. All are thread-safe. */
#ifndef COPYD_CORE_UTIL_H
#define COPYD_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic seconds (for durations) and wall-clock seconds since the epoch. */
double now_mono(void);
double now_wall(void);

/* "2026-11-26T05:34:58.123456Z" (UTC, microseconds). `out` needs 32 bytes. */
#define ISO8601_LEN 32
void iso8601_from(double epoch_seconds, char out[ISO8601_LEN]);
void iso8601_now(char out[ISO8601_LEN]);
/* Parses the ISO 8601 forms clients send ("2026-11-26", "...T05:34:58",
 * optional fraction, "Z" or "+hh:mm"). Returns 0 and sets *epoch on success. */
int iso8601_parse(const char *s, double *epoch);

/* Random version-4 UUID, lower-case, 36 chars + NUL. */
#define UUID_LEN 37
void uuid4(char out[UUID_LEN]);

/* Uniformly random 64 bits: a per-thread generator seeded from the OS
 * (getrandom). Not for secrets. */
uint64_t rand_u64(void);

/* Compares two NUL-terminated secrets in time that depends only on the
 * length of `expected`, never on where they differ. 1 when equal. */
int ct_streq(const char *given, const char *expected);

/* Strict integer parsing for flags, env vars and query strings: the whole
 * string must be a base-10 integer within [min, max]. 0 on success. */
int parse_long(const char *s, long min, long max, long *out);
int parse_double(const char *s, double min, double max, double *out);

/* Command-line flags: when argv[*i] is `flag` ("--model FILE" or
 * "--model=FILE") returns its value and advances *i past it; NULL when
 * argv[*i] is another flag, or when the value is missing (then *missing = 1). */
const char *arg_value(int argc, char **argv, int *i, const char *flag, int *missing);

#endif
