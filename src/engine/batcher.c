#include "engine/batcher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "stats/metrics.h"

/* One waiting request: its items and a flag the dispatcher sets. */
typedef struct ticket {
    struct ticket *next;
    engine_item_t *items;
    size_t n;
    int done;
    double t0;            /* when the engine took it (continuous mode) */
} ticket_t;

struct batcher {
    engine_t *engine;
    const atomic_int *batch_size;
    pthread_mutex_t mu;
    pthread_cond_t work;   /* dispatcher waits for tickets */
    pthread_cond_t done;   /* requests wait for their ticket */
    ticket_t *head, *tail;
    int stopping;
    pthread_t thread;
    unsigned long batches, items;
};

/* One engine call, as the metrics see it: the joined batch. */
static void report(engine_t *e, const engine_item_t *items, size_t n, double seconds) {
    size_t errors = 0;
    unsigned long tokens = 0;
    for (size_t i = 0; i < n; i++) {
        errors += items[i].status != ENGINE_OK;
        tokens += items[i].tokens;
    }
    metrics_engine(e->name, n, errors, tokens, seconds);
}

/* ---- continuous mode: the queue as an engine feed ----------------------- */

static size_t feed_take(engine_feed_t *f, size_t room, int idle, engine_item_t **items, void **tag) {
    batcher_t *b = f->ctx;
    size_t n = 0;
    pthread_mutex_lock(&b->mu);
    ticket_t *t = b->head;
    if (t && (idle || t->n <= room)) {
        b->head = t->next;
        if (!b->head) b->tail = NULL;
        t->next = NULL;
        t->t0 = now_mono();
        *items = t->items;
        *tag = t;
        n = t->n;
        b->batches++;
        b->items += n;
    }
    pthread_mutex_unlock(&b->mu);
    return n;
}

static void feed_done(engine_feed_t *f, void *tag) {
    batcher_t *b = f->ctx;
    ticket_t *t = tag;
    report(b->engine, t->items, t->n, now_mono() - t->t0);
    pthread_mutex_lock(&b->mu);
    t->done = 1;
    pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->mu);
}

static void *dispatch_feed(batcher_t *b) {
    engine_feed_t feed = {feed_take, feed_done, b};
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stopping) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head && b->stopping) break;
        pthread_mutex_unlock(&b->mu);
        /* returns once nothing waits and nothing runs; the lock is not held
         * meanwhile, so requests queue up and are taken between steps */
        b->engine->run_feed(b->engine, &feed, b->batch_size);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void *dispatch(void *arg) {
    batcher_t *b = arg;
    if (b->engine->run_feed) return dispatch_feed(b);
    engine_item_t *batch = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stopping) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head && b->stopping) break;
        /* Take whole tickets while they fit; the first always goes. */
        int bs = atomic_load(b->batch_size);
        size_t limit = bs > 0 ? (size_t)bs : 1, n = 0;
        ticket_t *taken = NULL, **last = &taken;
        while (b->head && (n == 0 || n + b->head->n <= limit)) {
            ticket_t *t = b->head;
            b->head = t->next;
            if (!b->head) b->tail = NULL;
            t->next = NULL;
            *last = t;
            last = &t->next;
            n += t->n;
        }
        pthread_mutex_unlock(&b->mu);
        if (n > cap) {
            engine_item_t *nb = realloc(batch, n * sizeof *nb);
            if (nb) batch = nb, cap = n;
        }
        if (cap >= n) {
            size_t k = 0;
            for (ticket_t *t = taken; t; t = t->next) memcpy(batch + k, t->items, t->n * sizeof *batch), k += t->n;
            double t0 = now_mono();
            b->engine->generate(b->engine, batch, n);
            report(b->engine, batch, n, now_mono() - t0);
            k = 0;
            for (ticket_t *t = taken; t; t = t->next) memcpy(t->items, batch + k, t->n * sizeof *batch), k += t->n;
        } else { /* no memory for a joint batch: run each request alone */
            for (ticket_t *t = taken; t; t = t->next) {
                double t0 = now_mono();
                b->engine->generate(b->engine, t->items, t->n);
                report(b->engine, t->items, t->n, now_mono() - t0);
            }
        }
        pthread_mutex_lock(&b->mu);
        b->batches++;
        b->items += n;
        for (ticket_t *t = taken; t; t = t->next) t->done = 1;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    free(batch);
    return NULL;
}

batcher_t *batcher_create(engine_t *e, const atomic_int *batch_size) {
    batcher_t *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->engine = e;
    b->batch_size = batch_size;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    if (pthread_create(&b->thread, NULL, dispatch, b) != 0) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->work);
        pthread_cond_destroy(&b->done);
        free(b);
        return NULL;
    }
    return b;
}

void batcher_run(batcher_t *b, engine_item_t *items, size_t n) {
    if (n == 0) return;
    ticket_t t = {NULL, items, n, 0, 0.0};
    pthread_mutex_lock(&b->mu);
    if (b->tail) b->tail->next = &t;
    else b->head = &t;
    b->tail = &t;
    pthread_cond_signal(&b->work);
    while (!t.done) pthread_cond_wait(&b->done, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

size_t batcher_queued(batcher_t *b) {
    size_t n = 0;
    pthread_mutex_lock(&b->mu);
    for (ticket_t *t = b->head; t; t = t->next) n += t->n;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void batcher_counts(batcher_t *b, unsigned long *batches, unsigned long *items) {
    pthread_mutex_lock(&b->mu);
    *batches = b->batches;
    *items = b->items;
    pthread_mutex_unlock(&b->mu);
}

void batcher_destroy(batcher_t *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
