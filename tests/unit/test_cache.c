/* test_cache.c -- the memory level of the cache, through cache.h (and
 * memcache.h where the sharding itself is under test). No Redis here:
 * tests/unit/test_cache_redis.c covers the second level. */
#include "cache/cache.h"
#include "cache/memcache.h"
#include "test.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keys shaped like brief_cache_key() output: 32 hex chars. */
static void mkkey(char out[33], unsigned i) { snprintf(out, 33, "%032x", i * 2654435761u); }

static cache_t *mk(size_t cap, unsigned ttl) {
    char err[128] = "";
    cache_t *c = cache_create(cap, ttl, NULL, err, sizeof(err));
    if (!c) fprintf(stderr, "cache_create: %s\n", err);
    return c;
}

/* 1 if key is present with exactly `want` as value. */
static int has(cache_t *c, const char *key, const char *want) {
    char *v = NULL;
    size_t n = 0;
    cache_level_t lv = cache_get(c, key, &v, &n);
    int ok = lv == CACHE_HIT_MEMORY && v && n == strlen(want) && memcmp(v, want, n) == 0 && v[n] == '\0';
    free(v);
    return ok;
}

static int absent(cache_t *c, const char *key) {
    char *v = NULL;
    size_t n = 0;
    cache_level_t lv = cache_get(c, key, &v, &n);
    free(v);
    return lv == CACHE_MISS && v == NULL;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {}
}

static void test_hit_miss(void) {
    cache_t *c = mk(100, 60);
    CHECK(c != NULL);
    char k1[33], k2[33];
    mkkey(k1, 1);
    mkkey(k2, 2);

    CHECK(absent(c, k1));
    cache_put(c, k1, "hello world", 11);
    CHECK(has(c, k1, "hello world"));
    CHECK(absent(c, k2));

    /* Replacing keeps one entry and answers the new value. */
    cache_put(c, k1, "second", 6);
    CHECK(has(c, k1, "second"));

    /* Binary values with NUL bytes inside come back whole. */
    const char bin[5] = {'a', '\0', 'b', '\0', 'c'};
    cache_put(c, k2, bin, sizeof(bin));
    char *v = NULL;
    size_t n = 0;
    CHECK(cache_get(c, k2, &v, &n) == CACHE_HIT_MEMORY);
    CHECK(n == 5 && v && memcmp(v, bin, 5) == 0);
    free(v);

    /* An empty value is a valid value, not a miss. */
    char k3[33];
    mkkey(k3, 3);
    cache_put(c, k3, "", 0);
    v = NULL;
    n = 99;
    CHECK(cache_get(c, k3, &v, &n) == CACHE_HIT_MEMORY);
    CHECK(v != NULL && n == 0);
    free(v);

    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.entries == 3);
    CHECK(st.capacity == 100);
    CHECK(st.hits == 4);
    CHECK(st.misses == 2);
    CHECK(st.evictions == 0);
    CHECK(st.expirations == 0);
    CHECK(st.ttl_seconds == 60);
    CHECK(st.bytes >= 32 * 3 + 6 + 5);
    CHECK(st.redis_configured == 0);
    CHECK(st.redis_connected == 0);
    cache_destroy(c);
}

static void test_lru_order(void) {
    cache_t *c = mk(3, 60);
    char a[33], b[33], d[33], e[33];
    mkkey(a, 10);
    mkkey(b, 11);
    mkkey(d, 12);
    mkkey(e, 13);
    cache_put(c, a, "A", 1);
    cache_put(c, b, "B", 1);
    cache_put(c, d, "D", 1);
    /* Touch a: b is now the least recently used. */
    CHECK(has(c, a, "A"));
    cache_put(c, e, "E", 1);
    CHECK(absent(c, b));
    CHECK(has(c, a, "A"));
    CHECK(has(c, d, "D"));
    CHECK(has(c, e, "E"));

    /* Replacing an entry refreshes it too: d was touched before a and e
     * above, so after re-putting d, a is the oldest. */
    cache_put(c, d, "D2", 2);
    cache_put(c, b, "B", 1);
    CHECK(absent(c, a));
    CHECK(has(c, d, "D2"));

    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.entries == 3);
    CHECK(st.evictions == 2);
    cache_destroy(c);
}

static void test_ttl(void) {
    cache_t *c = mk(100, 1);
    char x[33], y[33], z[33];
    mkkey(x, 20);
    mkkey(y, 21);
    mkkey(z, 22);
    cache_put(c, x, "short-lived", 11);
    CHECK(has(c, x, "short-lived"));
    /* TTL 0: never expires; it applies to entries stored from now on. */
    cache_set_ttl(c, 0);
    cache_put(c, y, "forever", 7);
    cache_set_ttl(c, 60);
    cache_put(c, z, "a minute", 8);

    sleep_s(1.1);

    CHECK(absent(c, x));
    CHECK(has(c, y, "forever"));
    CHECK(has(c, z, "a minute"));
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.expirations == 1);
    CHECK(st.entries == 2);
    CHECK(st.ttl_seconds == 60);
    cache_destroy(c);
}

static void test_set_capacity(void) {
    cache_t *c = mk(100, 60);
    char k[33], want[16];
    for (unsigned i = 0; i < 50; i++) {
        mkkey(k, 100 + i);
        snprintf(want, sizeof(want), "v%u", i);
        cache_put(c, k, want, strlen(want));
    }
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.entries == 50);
    size_t bytes50 = st.bytes;

    cache_set_capacity(c, 10);
    cache_get_stats(c, &st);
    CHECK(st.entries == 10);
    CHECK(st.capacity == 10);
    CHECK(st.evictions == 40);
    CHECK(st.bytes < bytes50);
    /* The ten most recent survive. */
    int kept = 0, gone = 0;
    for (unsigned i = 0; i < 50; i++) {
        mkkey(k, 100 + i);
        snprintf(want, sizeof(want), "v%u", i);
        if (i >= 40) kept += has(c, k, want);
        else gone += absent(c, k);
    }
    CHECK(kept == 10);
    CHECK(gone == 40);

    /* Growing again gives room back. */
    cache_set_capacity(c, 100);
    for (unsigned i = 0; i < 30; i++) {
        mkkey(k, 500 + i);
        cache_put(c, k, "x", 1);
    }
    cache_get_stats(c, &st);
    CHECK(st.entries == 40);
    CHECK(st.capacity == 100);

    /* Capacity 0 is taken as 1 rather than a cache that refuses everything. */
    cache_set_capacity(c, 0);
    cache_get_stats(c, &st);
    CHECK(st.entries == 1);
    CHECK(st.capacity == 1);
    cache_destroy(c);
}

static void test_sharded(void) {
    /* A large cache is split over several shards; the total still holds. */
    memcache_t *m = memcache_create(10000);
    CHECK(m != NULL);
    CHECK(memcache_shard_count(m) == 16);
    char k[33];
    unsigned seen[16] = {0};
    for (unsigned i = 0; i < 20000; i++) {
        mkkey(k, i);
        seen[memcache_shard_of(m, k)]++;
        memcache_put(m, k, "v", 1, 0);
    }
    int used = 0;
    for (int i = 0; i < 16; i++) used += seen[i] > 0;
    CHECK(used == 16);
    memcache_stats_t st;
    memcache_stats(m, &st);
    CHECK(st.capacity == 10000);
    CHECK(st.entries == 10000); /* every shard got far more than its 625 */
    CHECK(st.evictions == 10000);
    memcache_destroy(m);

    /* Small caches use one shard so LRU order is exact. */
    m = memcache_create(100);
    CHECK(memcache_shard_count(m) == 1);
    memcache_destroy(m);
}

static void test_clear(void) {
    cache_t *c = mk(100, 60);
    char k[33];
    for (unsigned i = 0; i < 20; i++) {
        mkkey(k, 300 + i);
        cache_put(c, k, "value", 5);
    }
    mkkey(k, 305);
    CHECK(has(c, k, "value"));
    cache_clear(c);
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.entries == 0);
    CHECK(st.bytes == 0);
    CHECK(st.hits == 1); /* counters are history, clear keeps them */
    int gone = 0;
    for (unsigned i = 0; i < 20; i++) {
        mkkey(k, 300 + i);
        gone += absent(c, k);
    }
    CHECK(gone == 20);
    /* Usable after clear. */
    cache_put(c, k, "again", 5);
    CHECK(has(c, k, "again"));
    cache_destroy(c);
}

static void test_bad_input(void) {
    cache_t *c = mk(10, 60);
    char *v = NULL;
    size_t n = 0;
    CHECK(cache_get(c, NULL, &v, &n) == CACHE_MISS);
    CHECK(cache_get(c, "", &v, &n) == CACHE_MISS);
    CHECK(v == NULL);
    char longkey[400];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    cache_put(c, longkey, "x", 1);
    cache_put(c, "", "x", 1);
    cache_put(c, NULL, "x", 1);
    cache_put(c, "abc", NULL, 3); /* NULL value with a length: refused */
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.entries == 0);
    CHECK(cache_get(NULL, "abc", &v, &n) == CACHE_MISS);
    cache_put(NULL, "abc", "x", 1);
    cache_clear(NULL);
    cache_set_capacity(NULL, 3);
    cache_get_stats(NULL, &st);
    CHECK(st.entries == 0 && st.capacity == 0);
    cache_destroy(NULL);
    cache_destroy(c);

    c = mk(0, 60);
    CHECK(c != NULL);
    cache_get_stats(c, &st);
    CHECK(st.capacity == 1);
    cache_destroy(c);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define NKEYS 300
#define NOPS 20000

typedef struct worker {
    cache_t *c;
    unsigned id;
    uint64_t gets, bad;
} worker_t;

static void *worker_main(void *arg) {
    worker_t *w = arg;
    uint32_t x = 2463534242u + w->id * 7919u; /* xorshift: no shared RNG state */
    char k[33], val[64], prefix[48];
    for (unsigned i = 0; i < NOPS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        unsigned key = x % NKEYS, op = (x >> 16) % 100;
        mkkey(k, key);
        if (op < 60) {
            char *v = NULL;
            size_t n = 0;
            w->gets++;
            if (cache_get(w->c, k, &v, &n) == CACHE_HIT_MEMORY) {
                /* Whatever thread wrote it, the value must belong to this key. */
                int pl = snprintf(prefix, sizeof(prefix), "val-%s-", k);
                if (n < (size_t)pl || memcmp(v, prefix, (size_t)pl) != 0) w->bad++;
            }
            free(v);
        } else if (op < 97) {
            int n = snprintf(val, sizeof(val), "val-%s-%u", k, w->id);
            cache_put(w->c, k, val, (size_t)n);
        } else if (op < 98) {
            cache_set_capacity(w->c, 50 + (x >> 8) % 200);
        } else if (op < 99) {
            cache_stats_t st;
            cache_get_stats(w->c, &st);
            if (st.entries > st.capacity) w->bad++;
        } else if ((x >> 8) % 20 == 0) {
            cache_clear(w->c);
        }
    }
    return NULL;
}

static void test_concurrency(size_t capacity) {
    cache_t *c = mk(capacity, 60);
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){.c = c, .id = i};
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    uint64_t gets = 0, bad = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        gets += w[i].gets;
        bad += w[i].bad;
    }
    CHECK(bad == 0);
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.hits + st.misses == gets);
    CHECK(st.hits > 0);
    CHECK(st.entries <= st.capacity);
    cache_destroy(c);
}

int main(void) {
    test_hit_miss();
    test_lru_order();
    test_set_capacity();
    test_sharded();
    test_clear();
    test_bad_input();
    test_concurrency(64);    /* one shard: all threads on one lock */
    test_concurrency(4096);  /* sixteen shards */
    test_ttl();
    TEST_DONE();
}
