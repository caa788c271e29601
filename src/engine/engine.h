/* engine.h -- the one interface every generation engine implements.
 *
 * An engine turns a batch of normalised briefs into output objects (SPEC
 * section 3). It is handed the whole batch at once so that engines which can
 * share work (the LLM engine decodes many sequences per pass) can do so; the
 * template engine simply loops. Each item succeeds or fails on its own.
 *
 * Output contract: on success an item's `output` is the serialized JSON
 * object of SPEC section 3 WITHOUT `tracking_id`, and with `extra_metadata`
 * as its LAST member, a non-empty object. The text therefore ends in "}}".
 * The api layer splices per-request facts (tracking_id, which cache level
 * answered) in front of those two braces, so a cached output is never
 * re-parsed on a hit.
 *
 * Thread safety: generate() may be called from many threads at once. */
#ifndef COPYD_ENGINE_ENGINE_H
#define COPYD_ENGINE_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>

#include "api/brief.h"

typedef enum {
    ENGINE_OK = 0,
    ENGINE_ERR_LANGUAGE,    /* cannot write brief->language -> 422 */
    ENGINE_ERR_INVALID,     /* brief cannot be served as asked -> 422 */
    ENGINE_ERR_UNAVAILABLE, /* engine not ready / overloaded -> try next, else 503 */
    ENGINE_ERR_INTERNAL     /* bug or resource failure -> try next, else 500 */
} engine_status_t;

typedef struct engine_item {
    const brief_t *brief;   /* in: borrowed */
    const char *model;      /* in: model name requested, NULL = engine default */
    /* out, on ENGINE_OK: malloc'd output text (caller frees) */
    char *output;
    size_t output_len;
    unsigned tokens;        /* out: tokens (or words) generated */
    /* out, otherwise: */
    engine_status_t status;
    char err_field[64];     /* JSON path of the offending field, "" if none */
    char err_message[256];
    const char *engine_used; /* out: set by the registry (engines.h) */
} engine_item_t;

/* Continuous batching. An engine that decodes many sequences per step can
 * admit new requests between two steps of the ones it is running, and hand
 * each request back the moment its own items are done, instead of running
 * fixed batches that start and end together. The batcher (batcher.h) is the
 * usual feed: its queue of waiting requests.
 *   take()  the next waiting request when its items fit in `room` (or, with
 *           `idle` set, the engine running nothing, whatever its size):
 *           returns its item count and sets *items and *tag; 0 when none
 *           waits or none fits. Never blocks.
 *   done()  request `tag` is finished: each of its items has its status and
 *           output. After done() the engine never touches those items again.
 * The items stay valid until done(). */
typedef struct engine_feed engine_feed_t;
struct engine_feed {
    size_t (*take)(engine_feed_t *f, size_t room, int idle, engine_item_t **items, void **tag);
    void (*done)(engine_feed_t *f, void *tag);
    void *ctx;
};

typedef struct engine engine_t;
struct engine {
    const char *name;                 /* "template", "llm", "remote" */
    const char *const *models;        /* NULL-terminated model names it serves */
    const char *const *languages;     /* NULL-terminated language codes */
    /* 1 when it can serve now; otherwise 0 and a reason in `why`. */
    int (*ready)(engine_t *e, char *why, size_t whysz);
    void (*generate)(engine_t *e, engine_item_t *items, size_t n);
    void (*destroy)(engine_t *e);
    void *impl;
    /* 1 when concurrent requests should be joined into one generate() call
     * (see batcher.h); the registry then runs it through a batcher. */
    int joins_batches;
    /* Optional (NULL otherwise): runs requests from `feed` until it has none
     * waiting and none running, admitting them while it decodes, at most
     * `*batch_size` items at a time (read at every admission, so a run-time
     * change applies at once). Engines with it join batches continuously. */
    void (*run_feed)(engine_t *e, engine_feed_t *feed, const atomic_int *batch_size);
};

/* 1 when `e` lists `lang`. */
int engine_speaks(const engine_t *e, const char *lang);
/* "es, en" style list of the engine's languages into `out`. */
void engine_language_list(const engine_t *e, char *out, size_t outsz);

/* The template engine: grammar-driven copy from the data files under
 * `data_path` (one folder per language). Returns NULL with a reason in `err`
 * when the data cannot be loaded. */
engine_t *template_engine_create(const char *data_path, char *err, size_t errsz);

#endif
