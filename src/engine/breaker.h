/* breaker.h -- a circuit breaker per engine (closed -> open -> half-open).
 *
 * Closed: calls go through; `threshold` failures in a row open it.
 * Open: calls are refused for `cooldown` seconds (the engine is given time
 * to recover instead of being hammered), then it turns half-open.
 * Half-open: one trial call at a time goes through; success closes the
 * breaker, failure opens it again for another cooldown. */
#ifndef COPYD_ENGINE_BREAKER_H
#define COPYD_ENGINE_BREAKER_H

#include <pthread.h>

typedef enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 } breaker_state_t;

typedef struct breaker {
    pthread_mutex_t mu;
    breaker_state_t state;
    int failures;          /* consecutive */
    int threshold;
    double cooldown;       /* seconds */
    double opened_at;      /* monotonic */
    int trial_running;     /* half-open: a trial call is out */
    unsigned long opens;   /* times it opened, for stats */
} breaker_t;

void breaker_init(breaker_t *b, int threshold, double cooldown_seconds);
void breaker_destroy(breaker_t *b);
/* 1 when a call may go through now (and, half-open, claims the trial). */
int breaker_allow(breaker_t *b);
void breaker_success(breaker_t *b);
void breaker_failure(breaker_t *b);
breaker_state_t breaker_state(breaker_t *b);
const char *breaker_state_name(breaker_state_t s);

#endif
