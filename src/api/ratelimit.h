/* ratelimit.h -- per-key, per-route request budgets for the legacy routes.
 *
 * A token bucket per (API key, route): `per_minute` tokens, refilled
 * continuously, so a client may burst up to its budget and then goes on at
 * the steady rate. Only authenticated keys reach the limiter, so the number
 * of buckets is bounded by keys x routes. */
#ifndef COPYD_API_RATELIMIT_H
#define COPYD_API_RATELIMIT_H

typedef struct ratelimit ratelimit_t;

ratelimit_t *ratelimit_create(int per_minute);
void ratelimit_destroy(ratelimit_t *rl);
void ratelimit_set(ratelimit_t *rl, int per_minute);
int ratelimit_get(ratelimit_t *rl);
/* 0 when the request may go on (a token is taken); otherwise the seconds
 * (>= 1) after which a token will be there, for Retry-After. */
int ratelimit_take(ratelimit_t *rl, const char *key, const char *route);

#endif
