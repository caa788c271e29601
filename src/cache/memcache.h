/* memcache.h -- the memory level of the cache (internal to src/cache).
 *
 * A sharded LRU: a key is hashed once; the hash picks a shard and a bucket
 * in that shard. Each shard is a chained hash table plus a doubly linked
 * recency list, guarded by its own mutex, so concurrent lookups of
 * different keys rarely wait on each other and there is no global lock.
 *
 * Capacity is counted in entries and split evenly over the shards. Small
 * caches get fewer shards (one shard below 128 entries) so that eviction
 * order is exact LRU where it can be observed; large caches get up to 16.
 * Every shard holds at least one entry, so the effective capacity is never
 * below the number of shards; memcache_stats() reports the effective value.
 *
 * Expiry is lazy: an entry past its deadline is removed (and counted as an
 * expiration and a miss) by the lookup that finds it, or evicted by LRU
 * like any other entry.
 *
 * All functions are thread-safe. Values handed out are malloc'd copies
 * owned by the caller; values handed in are copied. */
#ifndef COPYD_CACHE_MEMCACHE_H
#define COPYD_CACHE_MEMCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct memcache memcache_t;

typedef struct memcache_stats {
    size_t entries, capacity;
    size_t bytes; /* keys, values and per-entry bookkeeping held */
    uint64_t hits, misses, evictions, expirations;
} memcache_stats_t;

/* capacity 0 is taken as 1. NULL only when out of memory. */
memcache_t *memcache_create(size_t capacity);
void memcache_destroy(memcache_t *m);

/* 1 on a hit: *val is a malloc'd copy with a NUL after its *len bytes
 * (convenient for text, not counted in *len). 0 on a miss or an expired
 * entry. `now` is now_mono(); passing it in keeps tests and callers that
 * already read the clock cheap. */
int memcache_get(memcache_t *m, const char *key, double now, char **val, size_t *len);

/* Inserts or replaces. expires_at is a now_mono() deadline, or 0 for never.
 * May evict the least recently used entry of the key's shard. */
void memcache_put(memcache_t *m, const char *key, const char *val, size_t len, double expires_at);

/* 1 if the key was present (expired or not) and is now gone. */
int memcache_del(memcache_t *m, const char *key);

void memcache_clear(memcache_t *m);

/* Shrinking evicts least recently used entries at once. */
void memcache_set_capacity(memcache_t *m, size_t capacity);

void memcache_stats(memcache_t *m, memcache_stats_t *out);

/* Which shard a key lands in and how many shards there are (for tests). */
unsigned memcache_shard_of(const memcache_t *m, const char *key);
unsigned memcache_shard_count(const memcache_t *m);

#endif
