#include "engine/breaker.h"

#include "core/util.h"

void breaker_init(breaker_t *b, int threshold, double cooldown) {
    pthread_mutex_init(&b->mu, NULL);
    b->state = BREAKER_CLOSED;
    b->failures = 0;
    b->threshold = threshold > 0 ? threshold : 1;
    b->cooldown = cooldown;
    b->opened_at = 0;
    b->trial_running = 0;
    b->opens = 0;
}

void breaker_destroy(breaker_t *b) { pthread_mutex_destroy(&b->mu); }

/* Called with the lock held: an open breaker whose cooldown is over is
 * half-open. Computed on read, so no timer thread is needed. */
static void refresh(breaker_t *b) {
    if (b->state == BREAKER_OPEN && now_mono() - b->opened_at >= b->cooldown) {
        b->state = BREAKER_HALF_OPEN;
        b->trial_running = 0;
    }
}

int breaker_allow(breaker_t *b) {
    pthread_mutex_lock(&b->mu);
    refresh(b);
    int ok = 0;
    if (b->state == BREAKER_CLOSED) ok = 1;
    else if (b->state == BREAKER_HALF_OPEN && !b->trial_running) ok = b->trial_running = 1;
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void breaker_success(breaker_t *b) {
    pthread_mutex_lock(&b->mu);
    b->failures = 0;
    b->state = BREAKER_CLOSED;
    b->trial_running = 0;
    pthread_mutex_unlock(&b->mu);
}

void breaker_failure(breaker_t *b) {
    pthread_mutex_lock(&b->mu);
    b->failures++;
    if (b->state == BREAKER_HALF_OPEN || b->failures >= b->threshold) {
        if (b->state != BREAKER_OPEN) b->opens++;
        b->state = BREAKER_OPEN;
        b->opened_at = now_mono();
        b->trial_running = 0;
    }
    pthread_mutex_unlock(&b->mu);
}

breaker_state_t breaker_state(breaker_t *b) {
    pthread_mutex_lock(&b->mu);
    refresh(b);
    breaker_state_t s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *breaker_state_name(breaker_state_t s) {
    switch (s) {
    case BREAKER_CLOSED: return "closed";
    case BREAKER_OPEN: return "open";
    case BREAKER_HALF_OPEN: return "half_open";
    }
    return "unknown";
}
