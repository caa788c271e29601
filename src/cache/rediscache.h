/* rediscache.h -- the Redis level of the cache (internal to src/cache).
 *
 * Values live under "copyd:out:<key>" with the cache TTL (SET key val EX
 * ttl). Redis is a shared, optional second level, so it must never fail or
 * stall a request:
 *
 *  - every connection has 200 ms connect and command timeouts;
 *  - any error marks Redis down (counted, message remembered); while down,
 *    lookups and writes skip Redis at once;
 *  - a background thread reconnects with exponential backoff (100 ms,
 *    doubling, at most 5 s), and while up PINGs once a second when idle, so
 *    the "connected" state follows reality even without traffic;
 *  - writes are queued to that thread (bounded queue; when it is full the
 *    write is dropped and counted) so a put never waits for Redis.
 *
 * Lookups use a small pool of connections (callers wait at most 200 ms for
 * a free one, then skip Redis for that lookup).
 *
 * The process must not die of SIGPIPE when Redis goes away mid-write:
 * rediscache_create() sets SIGPIPE to "ignore" if it is still at its
 * default (a server does this anyway; libmicrohttpd needs it too). */
#ifndef COPYD_CACHE_REDISCACHE_H
#define COPYD_CACHE_REDISCACHE_H

#include <stddef.h>
#include <stdint.h>

#define REDISCACHE_KEY_PREFIX "copyd:out:"

/* A parsed "redis://[[user]:password@]host[:port][/db]". */
typedef struct redis_url {
    char host[256];     /* IPv6 literals are given as "[::1]" and kept without brackets */
    int port;           /* default 6379 */
    int db;             /* default 0 */
    char user[128];     /* empty: none (AUTH <password>) */
    char password[256]; /* empty: no AUTH; percent-escapes decoded */
} redis_url_t;

/* 0 on success; -1 with a reason in err (never echoing the password). */
int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errsz);

typedef struct rediscache rediscache_t;

/* Parses the URL and tries one connection (bounded by the timeouts). An
 * unreachable server is not an error: the cache starts "down" and the
 * background thread keeps trying. NULL with a reason in err on a malformed
 * URL or when out of memory / threads. */
rediscache_t *rediscache_create(const char *url, char *err, size_t errsz);

/* Stops the background thread after it has tried the writes still queued
 * (each bounded by the command timeout), closes every connection, frees. */
void rediscache_destroy(rediscache_t *r);

/* 1: hit, *val is malloc'd (NUL after *len bytes, caller frees) and, when
 * ttl_ms is not NULL, *ttl_ms is the key's remaining life in milliseconds
 * (-1: no expiry; -2: it expired in between), read in the same round trip
 * so a copy kept in memory never outlives the shared one.
 * 0: miss. -1: Redis is down, busy or failed (nothing to free). */
int rediscache_get(rediscache_t *r, const char *key, char **val, size_t *len, long long *ttl_ms);

/* Queues SET copyd:out:<key> val [EX ttl] (ttl 0: no expiry). Never blocks
 * on Redis; dropped (and counted) when down or the queue is full. */
void rediscache_put(rediscache_t *r, const char *key, const char *val, size_t len, unsigned ttl);

/* Drops queued writes and deletes every copyd:out:* key (SCAN + DEL, never
 * KEYS). 0 on success, -1 when Redis is down or failed. */
int rediscache_clear(rediscache_t *r);

typedef struct rediscache_stats {
    int connected;
    uint64_t hits, misses, errors, reconnects;
    uint64_t writes, writes_dropped;
    char last_error[128];
} rediscache_stats_t;

void rediscache_stats(rediscache_t *r, rediscache_stats_t *out);

#endif
