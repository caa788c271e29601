/* cache.c -- the two-level cache facade, see cache.h.
 *
 * The memory level (memcache.c) answers first; on a miss the Redis level
 * (rediscache.c) is asked and a hit there is copied into memory for no
 * longer than Redis itself will keep it. Puts go to memory at once and to
 * Redis through its background writer, so neither path waits on Redis. */
#include "cache/cache.h"

#include "cache/memcache.h"
#include "cache/rediscache.h"
#include "core/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys are 32 hex chars from brief_cache_key(); anything empty or absurdly
 * long is refused rather than stored. */
#define MAX_KEY_LEN 256

struct cache {
    memcache_t *mem;
    rediscache_t *redis; /* NULL: memory only */
    atomic_uint ttl;     /* seconds; 0 = entries never expire */
};

static int key_ok(const char *key) {
    if (!key || !*key) return 0;
    return strnlen(key, MAX_KEY_LEN + 1) <= MAX_KEY_LEN;
}

/* now_mono() deadline for an entry stored now, 0 for "never". */
static double deadline(unsigned ttl, double now) { return ttl ? now + (double)ttl : 0; }

cache_t *cache_create(size_t capacity, unsigned ttl_seconds, const char *redis_url, char *err,
                      size_t errsz) {
    cache_t *c = calloc(1, sizeof(*c));
    if (!c) {
        if (err && errsz) snprintf(err, errsz, "out of memory");
        return NULL;
    }
    atomic_init(&c->ttl, ttl_seconds);
    c->mem = memcache_create(capacity);
    if (!c->mem) {
        if (err && errsz) snprintf(err, errsz, "out of memory");
        free(c);
        return NULL;
    }
    /* An empty REDIS_URL means the same as an unset one. */
    if (redis_url && *redis_url) {
        c->redis = rediscache_create(redis_url, err, errsz);
        if (!c->redis) {
            memcache_destroy(c->mem);
            free(c);
            return NULL;
        }
    }
    return c;
}

void cache_destroy(cache_t *c) {
    if (!c) return;
    rediscache_destroy(c->redis);
    memcache_destroy(c->mem);
    free(c);
}

cache_level_t cache_get(cache_t *c, const char *key, char **val, size_t *len) {
    if (!c || !val || !key_ok(key)) return CACHE_MISS;
    *val = NULL;
    double now = now_mono();
    if (memcache_get(c->mem, key, now, val, len)) return CACHE_HIT_MEMORY;
    if (!c->redis) return CACHE_MISS;

    size_t n = 0;
    long long ttl_ms = -1;
    if (rediscache_get(c->redis, key, val, &n, &ttl_ms) != 1) return CACHE_MISS;
    if (len) *len = n;
    /* Keep the memory copy no longer than Redis keeps the shared one (nor
     * longer than our own TTL); -2 means it expired in between: still a
     * valid answer now, but not worth keeping. */
    unsigned ttl = atomic_load(&c->ttl);
    double until = deadline(ttl, now);
    if (ttl_ms >= 0) {
        double r_until = now + (double)ttl_ms / 1000.0;
        if (until == 0 || r_until < until) until = r_until;
    }
    if (ttl_ms != -2 && (until == 0 || until > now)) memcache_put(c->mem, key, *val, n, until);
    return CACHE_HIT_REDIS;
}

void cache_put(cache_t *c, const char *key, const char *val, size_t len) {
    if (!c || !key_ok(key) || (!val && len)) return;
    unsigned ttl = atomic_load(&c->ttl);
    memcache_put(c->mem, key, val, len, deadline(ttl, now_mono()));
    if (c->redis) rediscache_put(c->redis, key, val, len, ttl);
}

void cache_clear(cache_t *c) {
    if (!c) return;
    memcache_clear(c->mem);
    if (c->redis) rediscache_clear(c->redis);
}

void cache_set_capacity(cache_t *c, size_t capacity) {
    if (c) memcache_set_capacity(c->mem, capacity);
}

void cache_set_ttl(cache_t *c, unsigned ttl_seconds) {
    if (c) atomic_store(&c->ttl, ttl_seconds);
}

void cache_get_stats(cache_t *c, cache_stats_t *out) {
    if (!out) return;
    memset(out, 0, sizeof(*out));
    if (!c) return;
    memcache_stats_t m;
    memcache_stats(c->mem, &m);
    out->entries = m.entries;
    out->capacity = m.capacity;
    out->bytes = m.bytes;
    out->hits = m.hits;
    out->misses = m.misses;
    out->evictions = m.evictions;
    out->expirations = m.expirations;
    out->ttl_seconds = atomic_load(&c->ttl);
    if (c->redis) {
        rediscache_stats_t r;
        rediscache_stats(c->redis, &r);
        out->redis_configured = 1;
        out->redis_connected = r.connected;
        out->redis_hits = r.hits;
        out->redis_misses = r.misses;
        out->redis_errors = r.errors;
        out->redis_reconnects = r.reconnects;
        snprintf(out->redis_last_error, sizeof(out->redis_last_error), "%s", r.last_error);
    }
}
