/* engines.h -- the set of engines the server runs, their circuit breakers
 * and the fallback order.
 *
 * engines_generate() is the single door from the api to generation: it
 * splits the items into engine calls of at most `batch_size`, sends each to
 * the first engine of the order that is ready, speaks the item's language
 * and whose breaker allows it, and moves items that failed for engine
 * reasons (unavailable, internal) to the next engine. Input problems
 * (language, invalid brief) are answered at once: another engine would not
 * make the brief valid. When items are still failing after every
 * candidate, the whole round is retried (ENGINES_ATTEMPTS rounds at most)
 * after an exponential backoff with jitter that stays within the briefs'
 * `timeout`. Each call is reported to the metrics. */
#ifndef COPYD_ENGINE_ENGINES_H
#define COPYD_ENGINE_ENGINES_H

#include <jansson.h>
#include <stddef.h>

#include "engine/engine.h"

#define ENGINES_MAX 8
#define ENGINES_ATTEMPTS 3          /* rounds over the candidates */
#define ENGINES_BACKOFF 0.025       /* seconds before the 2nd round, doubling */
#define ENGINES_DEFAULT_TIMEOUT 30.0 /* seconds, when briefs give no timeout */

typedef struct engines engines_t;

engines_t *engines_create(void);
/* Takes ownership of `e`. Engines are tried in the order set by
 * engines_set_order(), or in the order added. */
int engines_add(engines_t *set, engine_t *e);
/* "template" or "llm,template": names not added are reported in `err`. */
int engines_set_order(engines_t *set, const char *csv, char *err, size_t errsz);
void engines_destroy(engines_t *set);

size_t engines_count(const engines_t *set);
engine_t *engines_at(const engines_t *set, size_t i);
/* Engine by its name or by one of its models (sets *model when by model). */
engine_t *engines_find(const engines_t *set, const char *name, const char **model);

/* Runs `items` (see above). `first` is tried before the order (NULL: the
 * order alone). */
void engines_generate(engines_t *set, engine_t *first, engine_item_t *items, size_t n,
                      int batch_size);

/* {"<engine>": {"ready", "reason", "models", "languages", "breaker"}} */
json_t *engines_status_json(engines_t *set);
/* 1 when at least one engine is ready. */
int engines_any_ready(engines_t *set);

#endif
