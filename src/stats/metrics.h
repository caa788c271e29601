/* metrics.h -- the process's counters and latency distributions.
 *
 * One registry per process (plainly process state, like Redis's `server`
 * struct): the HTTP layer, the api, the engines and the cache report into
 * it; /copywriting/metrics renders it in the Prometheus text format and
 * /v11/performance-stats as JSON with p50/p95/p99.
 *
 * Recording is lock-light (atomics for counters, a short mutex per series
 * for histograms) so it can sit on every request. Label values are small
 * fixed sets (routes from the route table, engine names), never raw paths,
 * so the series count stays bounded. */
#ifndef COPYD_STATS_METRICS_H
#define COPYD_STATS_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

void metrics_init(void);

/* One finished HTTP request. `route` is the route pattern
 * ("/copywriting/v11/generate", "/copywriting/task-status/{task_id}", or
 * "unmatched"). */
void metrics_http(const char *route, const char *method, int status, double seconds);

/* One engine call over a batch of `batch_size` items, `errors` of which
 * failed; `tokens` generated in all. */
void metrics_engine(const char *engine, size_t batch_size, size_t errors, unsigned long tokens,
                    double seconds);

/* Cache lookups: level is "memory" or "redis". */
void metrics_cache(const char *level, int hit);

/* Circuit-breaker state per engine: 0 closed, 1 open, 2 half-open. */
void metrics_breaker(const char *engine, int state);

/* Generations answered, by engine and by who answered ("engine", "memory",
 * "redis"). */
void metrics_generation(const char *engine, const char *source);

/* Prometheus text exposition (version 0.0.4), with process memory and CPU
 * read from /proc/self. */
void metrics_render_prometheus(buf_t *out);

/* {"engine_stats": {...}, "api_stats": {...}} as SPEC section 1 names them.
 * New reference (caller decrefs). */
json_t *metrics_performance_json(void);

/* Totals for health and logs. */
typedef struct metrics_totals {
    unsigned long long requests, errors; /* errors = 5xx */
    double mean_seconds;
    double cache_hit_ratio;              /* memory + redis hits / lookups */
} metrics_totals_t;
void metrics_totals(metrics_totals_t *out);

/* Lets tests start from zero. */
void metrics_reset(void);

#endif
