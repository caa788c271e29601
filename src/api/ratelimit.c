#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/util.h"

typedef struct bucket {
    struct bucket *next;
    char *id;          /* key + '\n' + route; the key is hashed, not kept */
    double tokens;
    double updated;    /* monotonic seconds */
} bucket_t;

#define RL_SLOTS 64

struct ratelimit {
    pthread_mutex_t mu;
    int per_minute;
    bucket_t *slots[RL_SLOTS];
};

ratelimit_t *ratelimit_create(int per_minute) {
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->per_minute = per_minute > 0 ? per_minute : 1;
    return rl;
}

void ratelimit_destroy(ratelimit_t *rl) {
    if (!rl) return;
    for (int i = 0; i < RL_SLOTS; i++)
        for (bucket_t *b = rl->slots[i], *n; b; b = n) { n = b->next; free(b->id); free(b); }
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

void ratelimit_set(ratelimit_t *rl, int per_minute) {
    pthread_mutex_lock(&rl->mu);
    rl->per_minute = per_minute > 0 ? per_minute : 1;
    pthread_mutex_unlock(&rl->mu);
}

int ratelimit_get(ratelimit_t *rl) {
    pthread_mutex_lock(&rl->mu);
    int v = rl->per_minute;
    pthread_mutex_unlock(&rl->mu);
    return v;
}

int ratelimit_take(ratelimit_t *rl, const char *key, const char *route) {
    /* Buckets are named by a hash of the key so the secret is not kept in
     * one more place in memory. */
    char id[64];
    unsigned long long kh = (unsigned long long)XXH3_64bits(key, strlen(key));
    size_t rlen = strlen(route);
    unsigned long long idh = kh ^ (unsigned long long)XXH3_64bits(route, rlen);
    snprintf(id, sizeof id, "%016llx:%.40s", kh, route);
    unsigned slot = (unsigned)(idh % RL_SLOTS);

    pthread_mutex_lock(&rl->mu);
    double now = now_mono(), cap = rl->per_minute, rate = cap / 60.0;
    bucket_t *b = rl->slots[slot];
    while (b && strcmp(b->id, id) != 0) b = b->next;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || !(b->id = strdup(id))) { /* no memory: let the request through */
            free(b);
            pthread_mutex_unlock(&rl->mu);
            return 0;
        }
        b->tokens = cap;
        b->updated = now;
        b->next = rl->slots[slot];
        rl->slots[slot] = b;
    }
    b->tokens = fmin(cap, b->tokens + (now - b->updated) * rate);
    b->updated = now;
    int wait = 0;
    if (b->tokens >= 1.0) b->tokens -= 1.0;
    else wait = (int)ceil((1.0 - b->tokens) / rate);
    pthread_mutex_unlock(&rl->mu);
    return wait > 0 ? wait : 0;
}
