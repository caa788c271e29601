#include "api/memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MEMO_STRIPES 64

typedef struct memo_slot {
    XXH128_hash_t hash; /* of scope + body; {0,0} = empty */
    char key[BRIEF_KEY_LEN];
    char tid[MEMO_TID_MAX];
} memo_slot_t;

struct memo {
    memo_slot_t *slots;
    size_t n;
    pthread_mutex_t stripes[MEMO_STRIPES];
};

memo_t *memo_create(size_t slots) {
    memo_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n = slots ? slots : 1;
    m->slots = calloc(m->n, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    for (int i = 0; i < MEMO_STRIPES; i++) pthread_mutex_init(&m->stripes[i], NULL);
    return m;
}

void memo_destroy(memo_t *m) {
    if (!m) return;
    for (int i = 0; i < MEMO_STRIPES; i++) pthread_mutex_destroy(&m->stripes[i]);
    free(m->slots);
    free(m);
}

static XXH128_hash_t hash_of(const char *body, size_t len, const char *scope) {
    XXH64_hash_t seed = XXH3_64bits(scope, strlen(scope));
    XXH128_hash_t h = XXH3_128bits_withSeed(body, len, seed);
    if (h.low64 == 0 && h.high64 == 0) h.low64 = 1; /* {0,0} marks an empty slot */
    return h;
}

int memo_get(memo_t *m, const char *body, size_t len, const char *scope, char key[BRIEF_KEY_LEN],
             char tid[MEMO_TID_MAX]) {
    XXH128_hash_t h = hash_of(body, len, scope);
    size_t i = (size_t)(h.low64 % m->n);
    pthread_mutex_t *mu = &m->stripes[i % MEMO_STRIPES];
    int found = 0;
    pthread_mutex_lock(mu);
    memo_slot_t *s = &m->slots[i];
    if (XXH128_isEqual(s->hash, h)) {
        memcpy(key, s->key, BRIEF_KEY_LEN);
        memcpy(tid, s->tid, MEMO_TID_MAX);
        found = 1;
    }
    pthread_mutex_unlock(mu);
    return found;
}

void memo_put(memo_t *m, const char *body, size_t len, const char *scope, const char *key, const char *tid) {
    if (tid && strlen(tid) >= MEMO_TID_MAX) return; /* too long to remember: always parsed */
    XXH128_hash_t h = hash_of(body, len, scope);
    size_t i = (size_t)(h.low64 % m->n);
    pthread_mutex_t *mu = &m->stripes[i % MEMO_STRIPES];
    pthread_mutex_lock(mu);
    memo_slot_t *s = &m->slots[i];
    s->hash = h;
    memcpy(s->key, key, BRIEF_KEY_LEN);
    strcpy(s->tid, tid ? tid : "");
    pthread_mutex_unlock(mu);
}

void memo_clear(memo_t *m) {
    for (int k = 0; k < MEMO_STRIPES; k++) pthread_mutex_lock(&m->stripes[k]);
    memset(m->slots, 0, m->n * sizeof *m->slots);
    for (int k = MEMO_STRIPES - 1; k >= 0; k--) pthread_mutex_unlock(&m->stripes[k]);
}
