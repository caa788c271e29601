/* batcher.h -- joins concurrent requests to one engine into batches.
 *
 * An engine that gains from batching (the LLM engine decodes many
 * sequences per pass over the weights) is given a batcher: request threads
 * submit their items and wait; one dispatcher thread takes everything that
 * is queued, up to the batch size, and runs it as one engine call. Under
 * light load a batch is one request (no waiting for company); under heavy
 * load batches fill up to the batch size: the size adapts to the load.
 * A request's items always stay together in one call and keep their order.
 *
 * When the engine has run_feed (engine.h), the dispatcher does not cut
 * batches: it hands the engine its queue as a feed, the engine admits
 * waiting requests between decode steps while there is room, and each
 * request returns as soon as its own items are done (continuous batching). */
#ifndef COPYD_ENGINE_BATCHER_H
#define COPYD_ENGINE_BATCHER_H

#include <stdatomic.h>
#include <stddef.h>

#include "engine/engine.h"

typedef struct batcher batcher_t;

/* Starts the dispatcher thread. `batch_size` is read through the pointer at
 * every batch, so a run-time change (/v11/optimize) applies at once. */
batcher_t *batcher_create(engine_t *e, const atomic_int *batch_size);
/* Runs items[0..n) in the next batch that has room; blocks until done. */
void batcher_run(batcher_t *b, engine_item_t *items, size_t n);
/* Items waiting for a batch right now. */
size_t batcher_queued(batcher_t *b);
/* Batches run so far and items in them (for tests and stats). */
void batcher_counts(batcher_t *b, unsigned long *batches, unsigned long *items);
/* Finishes queued work, stops the thread, frees. */
void batcher_destroy(batcher_t *b);

#endif
