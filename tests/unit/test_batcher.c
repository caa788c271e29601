/* test_batcher.c -- concurrent requests to a batching engine are joined
 * into one engine call, keep their items and order, and respect the batch
 * size. The engine here records the batches it is given; its first call
 * holds until the other requests are queued, so the joining is
 * deterministic, not a matter of timing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/batcher.h"
#include "stats/metrics.h"
#include "test.h"

#define THREADS 8

static batcher_t *B;
static size_t sizes[64];
static int calls;
static atomic_int batch_size;
static atomic_int serving; /* set when the engine has started its first batch */
static int hold_first = 1;  /* the first call waits for the others to queue */

static void rec_generate(engine_t *e, engine_item_t *items, size_t n) {
    (void)e;
    atomic_store(&serving, 1);
    if (calls == 0 && hold_first) /* hold the first batch until the other requests wait behind it */
        for (int i = 0; i < 5000 && batcher_queued(B) < 11; i++) usleep(1000); /* 7 requests, 11 items */
    if (calls < 64) sizes[calls] = n;
    calls++;
    for (size_t i = 0; i < n; i++) {
        char buf[160];
        snprintf(buf, sizeof buf, "{\"for\":\"%s\"}", items[i].model);
        items[i].output = strdup(buf);
        items[i].output_len = strlen(buf);
        items[i].status = ENGINE_OK;
    }
}

static void *client(void *arg) {
    long k = (long)arg;
    char name[2][48];
    engine_item_t items[2] = {0};
    size_t n = k == 0 ? 1 : 1 + (size_t)(k % 2); /* some requests carry two items */
    for (size_t i = 0; i < n; i++) {
        snprintf(name[i], sizeof name[i], "r%ld.%zu", k, i);
        items[i].model = name[i];
    }
    batcher_run(B, items, n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        char want[160];
        snprintf(want, sizeof want, "{\"for\":\"%s\"}", name[i]);
        ok &= items[i].status == ENGINE_OK && items[i].output && strcmp(items[i].output, want) == 0;
        free(items[i].output);
    }
    return (void *)(long)ok;
}

int main(void) {
    metrics_init();
    engine_t e = {0};
    e.name = "recorder";
    e.generate = rec_generate;
    atomic_init(&batch_size, 16);
    B = batcher_create(&e, &batch_size);
    CHECK(B != NULL);

    /* the first request runs alone; the seven others queue behind it */
    pthread_t t[THREADS];
    pthread_create(&t[0], NULL, client, (void *)0L);
    while (!atomic_load(&serving)) usleep(100); /* the first is being served */
    for (long k = 1; k < THREADS; k++) pthread_create(&t[k], NULL, client, (void *)k);
    int all_ok = 1;
    for (int k = 0; k < THREADS; k++) {
        void *r;
        pthread_join(t[k], &r);
        all_ok &= r != NULL;
    }
    CHECK(all_ok); /* every item got its own answer back */
    CHECK(calls == 2);
    CHECK(sizes[0] == 1);
    CHECK(sizes[1] == 11); /* 7 requests, 4 of them with two items */
    unsigned long batches, items;
    batcher_counts(B, &batches, &items);
    CHECK(batches == 2 && items == 12);

    /* a batch size of 4 splits queued requests, never a request */
    calls = 0;
    hold_first = 0;
    atomic_store(&batch_size, 4);
    for (long k = 0; k < THREADS; k++) pthread_create(&t[k], NULL, client, (void *)k);
    for (int k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    int within = 1;
    size_t total = 0;
    for (int i = 0; i < calls && i < 64; i++) {
        within &= sizes[i] >= 1 && sizes[i] <= 4;
        total += sizes[i];
    }
    CHECK(within);
    CHECK(total == 12);
    batcher_destroy(B);
    TEST_DONE();
}
