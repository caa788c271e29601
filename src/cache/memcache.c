/* memcache.c -- sharded LRU, see memcache.h.
 *
 * Layout of one entry: a single allocation holding the links, the key
 * (NUL-terminated) and the value (NUL-terminated), so an insert is one
 * malloc and a removal one free. Allocation and freeing happen outside the
 * shard lock where possible; under the lock we only relink pointers and,
 * on a hit, copy the value out. */
#include "cache/memcache.h"

#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAX_SHARDS 16
#define MIN_PER_SHARD 64   /* fewer entries per shard than this: use fewer shards */
#define INITIAL_BUCKETS 16

typedef struct entry {
    struct entry *hnext;       /* next in the bucket chain */
    struct entry *prev, *next; /* recency list, prev is more recent */
    uint64_t hash;
    double expires_at;         /* now_mono() deadline, 0 = never */
    size_t klen, vlen;
    char *val;                 /* points into data[], after the key */
    char data[];               /* key \0 value \0 */
} entry_t;

typedef struct shard {
    _Alignas(64) pthread_mutex_t lock; /* one cache line per shard: no false sharing */
    entry_t **buckets;
    size_t nbuckets; /* power of two */
    entry_t *mru, *lru;
    size_t count, capacity, bytes;
    uint64_t hits, misses, evictions, expirations;
} shard_t;

struct memcache {
    shard_t *shards;
    unsigned nshards; /* power of two */
};

static size_t entry_bytes(const entry_t *e) { return sizeof(*e) + e->klen + e->vlen + 2; }

static uint64_t key_hash(const char *key, size_t klen) { return XXH3_64bits(key, klen); }

/* The low bits pick the bucket, the high bits the shard, so the two choices
 * are independent. */
static unsigned shard_index(unsigned nshards, uint64_t h) {
    return (unsigned)(h >> 48) & (nshards - 1);
}

static unsigned shards_for(size_t capacity) {
    unsigned n = 1;
    while (n < MAX_SHARDS && capacity / (n * 2) >= MIN_PER_SHARD) n *= 2;
    return n;
}

static size_t shard_capacity(size_t total, unsigned nshards, unsigned i) {
    size_t c = total / nshards + (i < total % nshards ? 1 : 0);
    return c ? c : 1;
}

/* ---- shard internals; all called with the shard lock held ---- */

static void list_unlink(shard_t *s, entry_t *e) {
    if (e->prev) e->prev->next = e->next; else s->mru = e->next;
    if (e->next) e->next->prev = e->prev; else s->lru = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(shard_t *s, entry_t *e) {
    e->prev = NULL;
    e->next = s->mru;
    if (s->mru) s->mru->prev = e; else s->lru = e;
    s->mru = e;
}

static entry_t **bucket_find(shard_t *s, uint64_t h, const char *key, size_t klen) {
    entry_t **pp = &s->buckets[h & (s->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        entry_t *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0) return pp;
    }
    return pp;
}

/* Removes the entry from its bucket and the recency list; the caller frees. */
static void shard_remove(shard_t *s, entry_t *e) {
    entry_t **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp && *pp != e) pp = &(*pp)->hnext;
    if (*pp) *pp = e->hnext;
    e->hnext = NULL;
    list_unlink(s, e);
    s->count--;
    s->bytes -= entry_bytes(e);
}

/* Doubling keeps chains short; if the allocation fails we simply keep the
 * longer chains, which is slower but still correct. */
static void shard_maybe_grow(shard_t *s) {
    if (s->count <= s->nbuckets) return;
    size_t n = s->nbuckets * 2;
    entry_t **nb = calloc(n, sizeof(*nb));
    if (!nb) return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry_t *e = s->buckets[i];
        while (e) {
            entry_t *next = e->hnext;
            size_t b = e->hash & (n - 1);
            e->hnext = nb[b];
            nb[b] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

/* Evicts from the LRU end until the shard fits; evicted entries are chained
 * through hnext onto *dead so the caller frees them after unlocking.
 * With `classify`, an entry already past its deadline is counted as an
 * expiration rather than an eviction, so "evictions" keeps meaning "the
 * cache is too small". */
static void shard_trim(shard_t *s, int classify, entry_t **dead) {
    double now = 0;
    if (classify && s->count > s->capacity) now = now_mono();
    while (s->count > s->capacity && s->lru) {
        entry_t *e = s->lru;
        shard_remove(s, e);
        if (classify && e->expires_at > 0 && now >= e->expires_at) s->expirations++;
        else s->evictions++;
        e->hnext = *dead;
        *dead = e;
    }
}

static void free_chain(entry_t *e) {
    while (e) {
        entry_t *next = e->hnext;
        free(e);
        e = next;
    }
}

/* ---- public ---- */

memcache_t *memcache_create(size_t capacity) {
    if (capacity == 0) capacity = 1;
    memcache_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->nshards = shards_for(capacity);
    m->shards = aligned_alloc(_Alignof(shard_t), sizeof(shard_t) * m->nshards);
    if (!m->shards) { free(m); return NULL; }
    memset(m->shards, 0, sizeof(shard_t) * m->nshards);
    for (unsigned i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        s->buckets = calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
        if (!s->buckets) {
            for (unsigned j = 0; j < i; j++) {
                pthread_mutex_destroy(&m->shards[j].lock);
                free(m->shards[j].buckets);
            }
            free(m->shards);
            free(m);
            return NULL;
        }
        s->nbuckets = INITIAL_BUCKETS;
        s->capacity = shard_capacity(capacity, m->nshards, i);
        pthread_mutex_init(&s->lock, NULL);
    }
    return m;
}

void memcache_destroy(memcache_t *m) {
    if (!m) return;
    for (unsigned i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        entry_t *e = s->mru;
        while (e) {
            entry_t *next = e->next;
            free(e);
            e = next;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(m->shards);
    free(m);
}

int memcache_get(memcache_t *m, const char *key, double now, char **val, size_t *len) {
    if (!m || !key || !val) return 0;
    size_t klen = strlen(key);
    uint64_t h = key_hash(key, klen);
    shard_t *s = &m->shards[shard_index(m->nshards, h)];
    entry_t *dead = NULL;
    int hit = 0;

    pthread_mutex_lock(&s->lock);
    entry_t *e = *bucket_find(s, h, key, klen);
    if (e && e->expires_at > 0 && now >= e->expires_at) {
        shard_remove(s, e);
        s->expirations++;
        dead = e;
        e = NULL;
    }
    if (e) {
        char *copy = malloc(e->vlen + 1);
        if (copy) {
            memcpy(copy, e->val, e->vlen);
            copy[e->vlen] = '\0';
            *val = copy;
            if (len) *len = e->vlen;
            if (s->mru != e) { list_unlink(s, e); list_push_front(s, e); }
            hit = 1;
        }
    }
    if (hit) s->hits++; else s->misses++;
    pthread_mutex_unlock(&s->lock);

    free(dead);
    return hit;
}

void memcache_put(memcache_t *m, const char *key, const char *val, size_t len, double expires_at) {
    if (!m || !key || (!val && len)) return;
    size_t klen = strlen(key);
    uint64_t h = key_hash(key, klen);
    shard_t *s = &m->shards[shard_index(m->nshards, h)];

    /* Build the entry before taking the lock. */
    entry_t *n = malloc(sizeof(*n) + klen + len + 2);
    if (!n) return; /* out of memory: the cache is an optimisation, skip it */
    n->hnext = n->prev = n->next = NULL;
    n->hash = h;
    n->expires_at = expires_at;
    n->klen = klen;
    n->vlen = len;
    memcpy(n->data, key, klen + 1);
    n->val = n->data + klen + 1;
    if (len) memcpy(n->val, val, len);
    n->val[len] = '\0';

    entry_t *dead = NULL;
    pthread_mutex_lock(&s->lock);
    entry_t *old = *bucket_find(s, h, key, klen);
    if (old) {
        shard_remove(s, old);
        dead = old;
    }
    entry_t **bucket = &s->buckets[h & (s->nbuckets - 1)];
    n->hnext = *bucket;
    *bucket = n;
    list_push_front(s, n);
    s->count++;
    s->bytes += entry_bytes(n);
    shard_trim(s, 1, &dead);
    shard_maybe_grow(s);
    pthread_mutex_unlock(&s->lock);

    free_chain(dead);
}

int memcache_del(memcache_t *m, const char *key) {
    if (!m || !key) return 0;
    size_t klen = strlen(key);
    uint64_t h = key_hash(key, klen);
    shard_t *s = &m->shards[shard_index(m->nshards, h)];
    pthread_mutex_lock(&s->lock);
    entry_t *e = *bucket_find(s, h, key, klen);
    if (e) shard_remove(s, e);
    pthread_mutex_unlock(&s->lock);
    free(e);
    return e != NULL;
}

void memcache_clear(memcache_t *m) {
    if (!m) return;
    for (unsigned i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        pthread_mutex_lock(&s->lock);
        entry_t *list = s->mru;
        s->mru = s->lru = NULL;
        memset(s->buckets, 0, s->nbuckets * sizeof(*s->buckets));
        s->count = 0;
        s->bytes = 0;
        pthread_mutex_unlock(&s->lock);
        while (list) {
            entry_t *next = list->next;
            free(list);
            list = next;
        }
    }
}

void memcache_set_capacity(memcache_t *m, size_t capacity) {
    if (!m) return;
    if (capacity == 0) capacity = 1;
    for (unsigned i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        entry_t *dead = NULL;
        pthread_mutex_lock(&s->lock);
        s->capacity = shard_capacity(capacity, m->nshards, i);
        /* Everything trimmed here counts as an eviction: the caller asked
         * for less room, whatever the entries' deadlines. */
        shard_trim(s, 0, &dead);
        pthread_mutex_unlock(&s->lock);
        free_chain(dead);
    }
}

void memcache_stats(memcache_t *m, memcache_stats_t *out) {
    memset(out, 0, sizeof(*out));
    if (!m) return;
    for (unsigned i = 0; i < m->nshards; i++) {
        shard_t *s = &m->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->count;
        out->capacity += s->capacity;
        out->bytes += s->bytes;
        out->hits += s->hits;
        out->misses += s->misses;
        out->evictions += s->evictions;
        out->expirations += s->expirations;
        pthread_mutex_unlock(&s->lock);
    }
}

unsigned memcache_shard_of(const memcache_t *m, const char *key) {
    return shard_index(m->nshards, key_hash(key, strlen(key)));
}

unsigned memcache_shard_count(const memcache_t *m) { return m->nshards; }
