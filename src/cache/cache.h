/* cache.h -- two-level cache of generated outputs.
 *
 * Level 1 is in memory: a sharded LRU (one mutex per shard, so threads
 * rarely contend) holding at most `capacity` entries, each valid for `ttl`
 * seconds. Level 2 is Redis (optional, hiredis): read-through on a memory
 * miss (a Redis hit is copied into memory) and write-back of every put with
 * the same TTL, so several copyd processes share their work.
 *
 * Redis is never allowed to fail a request: every Redis call has short
 * timeouts, an error marks Redis down and the cache goes on from memory;
 * while down, Redis is skipped and a reconnect is attempted with exponential
 * backoff (100 ms doubling up to 5 s) until it answers again.
 *
 * Keys are the 32-hex-char strings of brief_cache_key(). Values are opaque
 * bytes (the engine's output text). All functions are thread-safe. */
#ifndef COPYD_CACHE_CACHE_H
#define COPYD_CACHE_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cache cache_t;

typedef enum { CACHE_MISS = 0, CACHE_HIT_MEMORY = 1, CACHE_HIT_REDIS = 2 } cache_level_t;

/* redis_url: "redis://[:password@]host[:port][/db]" or NULL for memory only.
 * An unreachable Redis at start is not an error (it is retried later); a
 * malformed URL is: NULL is returned with a reason in `err`. */
cache_t *cache_create(size_t capacity, unsigned ttl_seconds, const char *redis_url,
                      char *err, size_t errsz);
void cache_destroy(cache_t *c);

/* On a hit, *val is a malloc'd copy (caller frees) and the level is returned. */
cache_level_t cache_get(cache_t *c, const char *key, char **val, size_t *len);
void cache_put(cache_t *c, const char *key, const char *val, size_t len);
/* Empties the memory level and deletes this cache's keys in Redis. */
void cache_clear(cache_t *c);

/* Runtime knobs (/v11/optimize). Shrinking evicts at once. */
void cache_set_capacity(cache_t *c, size_t capacity);
void cache_set_ttl(cache_t *c, unsigned ttl_seconds);

typedef struct cache_stats {
    /* memory level */
    size_t entries, capacity, bytes;
    uint64_t hits, misses, evictions, expirations;
    unsigned ttl_seconds;
    /* redis level */
    int redis_configured;   /* REDIS_URL was given */
    int redis_connected;    /* last operation succeeded */
    uint64_t redis_hits, redis_misses, redis_errors, redis_reconnects;
    char redis_last_error[128];
} cache_stats_t;

void cache_get_stats(cache_t *c, cache_stats_t *out);

#endif
