/* admin.c -- the operational routes: health, performance statistics,
 * Prometheus metrics, cache control, system information, run-time
 * optimisation knobs and the model list. */
#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/util.h"
#include "stats/metrics.h"
#include "stats/sysstats.h"

static json_t *stats_json(void) {
    sysstats_t s;
    sysstats_get(&s);
    return sysstats_json(&s);
}

static json_t *timestamp_json(void) {
    char ts[ISO8601_LEN];
    iso8601_now(ts);
    return json_string(ts);
}

static json_t *cache_stats_json(api_t *a) {
    cache_stats_t s;
    cache_get_stats(a->cache, &s);
    double lookups = (double)(s.hits + s.misses);
    return json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}, s:{s:b, s:b, s:I, s:I, s:I, s:I, s:s?}}",
                     "memory", "entries", (json_int_t)s.entries, "capacity", (json_int_t)s.capacity, "bytes",
                     (json_int_t)s.bytes, "hits", (json_int_t)s.hits, "misses", (json_int_t)s.misses, "evictions",
                     (json_int_t)s.evictions, "expirations", (json_int_t)s.expirations, "ttl_seconds",
                     (json_int_t)s.ttl_seconds, "hit_ratio", lookups > 0 ? (double)s.hits / lookups : 0.0, "redis",
                     "configured", s.redis_configured, "connected", s.redis_connected, "hits",
                     (json_int_t)s.redis_hits, "misses", (json_int_t)s.redis_misses, "errors",
                     (json_int_t)s.redis_errors, "reconnects", (json_int_t)s.redis_reconnects, "last_error",
                     s.redis_last_error[0] ? s.redis_last_error : NULL);
}

void h_health(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    (void)param;
    double t0 = now_mono();
    cache_stats_t cs;
    cache_get_stats(a->cache, &cs);
    json_t *engines = engines_status_json(a->engines);
    int any_ready = engines_any_ready(a->engines);
    int all_ready = 1;
    const char *key;
    json_t *v;
    json_object_foreach(engines, key, v) {
        if (!json_is_true(json_object_get(v, "ready")) ||
            strcmp(json_string_value(json_object_get(json_object_get(v, "circuit_breaker"), "state")), "closed") != 0)
            all_ready = 0;
    }
    const char *status = !any_ready ? "unhealthy"
                         : (cs.redis_configured && !cs.redis_connected) || !all_ready ? "degraded"
                                                                                       : "healthy";
    json_t *engine_status = json_pack(
        "{s:o, s:s, s:{s:b, s:b, s:s?}, s:o, s:{s:I}}", "engines", engines, "default_engine",
        a->default_engine->name, "redis", "configured", cs.redis_configured, "connected", cs.redis_connected,
        "last_error", cs.redis_last_error[0] ? cs.redis_last_error : NULL, "cache", cache_stats_json(a), "jobs",
        "queued", (json_int_t)jobs_queued(a->jobs));
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:f, s:o, s:f}", "status", status, "version", "v11",
                          "engine_status", engine_status, "system_stats", stats_json(), "response_time_ms",
                          (now_mono() - t0) * 1e3, "timestamp", timestamp_json(), "uptime_seconds",
                          now_wall() - a->started_at);
    api_send_json(r, strcmp(status, "unhealthy") == 0 ? 503 : 200, o);
}

void h_performance(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)a;
    (void)req;
    (void)param;
    json_t *o = metrics_performance_json();
    json_object_set_new(o, "system_stats", stats_json());
    json_object_set_new(o, "timestamp", timestamp_json());
    api_send_json(r, 200, o);
}

void h_metrics(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)a;
    (void)req;
    (void)param;
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_render_prometheus(&r->body);
}

static json_t *cache_efficiency(api_t *a) {
    cache_stats_t s;
    cache_get_stats(a->cache, &s);
    double lookups = (double)(s.hits + s.misses);
    double hit = lookups > 0 ? 100.0 * (double)s.hits / lookups : 0.0;
    double puts = (double)(s.entries + s.evictions + s.expirations);
    return json_pack("{s:f, s:f, s:f, s:f}", "hit_ratio_percent", hit, "miss_ratio_percent",
                     lookups > 0 ? 100.0 - hit : 0.0, "eviction_rate",
                     puts > 0 ? (double)s.evictions / puts : 0.0, "memory_usage_mb",
                     (double)s.bytes / (1024.0 * 1024.0));
}

void h_cache_clear(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    (void)param;
    json_t *before = cache_stats_json(a);
    cache_clear(a->cache);
    memo_clear(a->memo);
    json_t *o = json_pack("{s:s, s:o, s:o}", "status", "cache_cleared", "cache_stats_before", before,
                          "cache_stats_after", cache_stats_json(a));
    api_send_json(r, 200, o);
}

void h_cache_stats(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    (void)param;
    json_t *o = json_pack("{s:o, s:o, s:o}", "cache_stats", cache_stats_json(a), "cache_efficiency",
                          cache_efficiency(a), "timestamp", timestamp_json());
    api_send_json(r, 200, o);
}

/* The old service's performance flags and what each means here. */
typedef struct knob {
    const char *name;
    const char *kind;       /* "int" or "bool" */
    long min, max;
    const char *not_applicable; /* reason, or NULL when it is a live knob */
} knob_t;

static const knob_t knobs[] = {
    {"batch_size", "int", 1, 256, NULL},
    {"cache_size", "int", 1, 100000000, NULL},
    {"cache_ttl", "int", 1, 31536000, NULL},
    {"max_batch_size", "int", 1, 10000, NULL},
    {"rate_limit", "int", 1, 1000000, NULL},
    {"intelligent_caching", "bool", 0, 1, NULL},
    {"max_workers", "int", 1, 256, "the HTTP thread pool is sized at start: set MAX_WORKERS and restart"},
    {"gpu_memory_fraction", "num", 0, 1, "not applicable: no GPU engine is loaded in this build"},
    {"gpu_memory_management", "bool", 0, 1, "not applicable: no GPU engine is loaded in this build"},
    {"auto_scaling", "bool", 0, 1, "not applicable: copyd is one process; scale by running more behind a balancer"},
    {"load_balancing", "bool", 0, 1, "not applicable: copyd is one process; scale by running more behind a balancer"},
    {"memory_optimization", "bool", 0, 1, "not applicable: memory is bounded by cache_size and per-request arenas"},
    {"adaptive_batching", "bool", 0, 1, "always on: engine calls take what is queued, up to batch_size"},
    {"predictive_caching", "bool", 0, 1, "not applicable: nothing is generated before it is asked for"},
    {"circuit_breaker", "bool", 0, 1, "always on: every engine has a circuit breaker (see /v11/health)"},
    {"retry_mechanism", "bool", 0, 1, "always on: failed items go to the next engine of the fallback order"},
};
#define N_KNOBS (sizeof knobs / sizeof knobs[0])

static json_t *engine_config(api_t *a) {
    cache_stats_t cs;
    cache_get_stats(a->cache, &cs);
    json_t *o = json_pack("{s:i, s:i, s:i, s:I, s:I, s:i, s:i, s:b, s:s, s:s, s:b, s:I, s:i, s:s}", "max_workers",
                          a->cfg.max_workers, "batch_size", atomic_load(&a->batch_size), "max_batch_size",
                          atomic_load(&a->max_batch_size), "cache_size", (json_int_t)cs.capacity, "cache_ttl",
                          (json_int_t)cs.ttl_seconds, "rate_limit", ratelimit_get(a->rl), "job_workers",
                          a->cfg.job_workers, "intelligent_caching", atomic_load(&a->caching), "default_engine",
                          a->default_engine->name, "fallback", a->cfg.fallback, "redis_configured",
                          cs.redis_configured, "max_body_bytes", (json_int_t)a->cfg.max_body, "conn_timeout",
                          a->cfg.conn_timeout, "data_dir", a->cfg.data_dir);
    json_t *na = json_object();
    for (size_t i = 0; i < N_KNOBS; i++)
        if (knobs[i].not_applicable) json_object_set_new(na, knobs[i].name, json_string(knobs[i].not_applicable));
    json_object_set_new(o, "not_applicable", na);
    return o;
}

void h_system_info(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    (void)param;
    char hiredis_v[32];
    snprintf(hiredis_v, sizeof hiredis_v, "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
    json_t *o = json_pack("{s:s, s:o, s:o, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}, s:o}", "version", "v11",
                          "system_stats", stats_json(), "engine_config", engine_config(a), "build", "copyd_version",
                          COPYD_VERSION, "api_version", "v11", "compiler", __VERSION__, "built", __DATE__ " " __TIME__,
                          "libraries", "libmicrohttpd", MHD_get_version(), "jansson", JANSSON_VERSION, "sqlite",
                          sqlite3_libversion(), "hiredis", hiredis_v, "timestamp", timestamp_json());
    api_send_json(r, 200, o);
}

void h_optimize(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return;
    if (!json_is_object(root)) {
        json_decref(root);
        api_validation_one(r, "body", "", "dict_type", "the body must be a JSON object of parameters");
        return;
    }
    json_t *applied = json_object(), *rejected = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        const knob_t *k = NULL;
        for (size_t i = 0; i < N_KNOBS; i++)
            if (strcmp(knobs[i].name, name) == 0) k = &knobs[i];
        if (!k) {
            json_object_set_new(rejected, name, json_string("unknown parameter"));
            continue;
        }
        if (k->not_applicable) {
            json_object_set_new(rejected, name, json_string(k->not_applicable));
            continue;
        }
        if (strcmp(k->kind, "bool") == 0) {
            if (!json_is_boolean(v)) {
                json_object_set_new(rejected, name, json_string("must be true or false"));
                continue;
            }
            atomic_store(&a->caching, json_is_true(v)); /* intelligent_caching is the only live bool */
            json_object_set(applied, name, v);
            continue;
        }
        double d = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1e300;
        if (!json_is_number(v) || d != (double)(long)d || d < (double)k->min || d > (double)k->max) {
            char why[96];
            snprintf(why, sizeof why, "must be an integer in %ld..%ld", k->min, k->max);
            json_object_set_new(rejected, name, json_string(why));
            continue;
        }
        long n = (long)d;
        if (strcmp(name, "batch_size") == 0) atomic_store(&a->batch_size, (int)n);
        else if (strcmp(name, "max_batch_size") == 0) atomic_store(&a->max_batch_size, (int)n);
        else if (strcmp(name, "cache_size") == 0) cache_set_capacity(a->cache, (size_t)n);
        else if (strcmp(name, "cache_ttl") == 0) cache_set_ttl(a->cache, (unsigned)n);
        else if (strcmp(name, "rate_limit") == 0) ratelimit_set(a->rl, (int)n);
        json_object_set_new(applied, name, json_integer(n));
    }
    json_decref(root);
    json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o}", "status", json_object_size(applied) ? "applied" : "unchanged",
                          "applied_parameters", applied, "rejected_parameters", rejected, "engine_config",
                          engine_config(a), "timestamp", timestamp_json());
    api_send_json(r, 200, o);
}

void h_models(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    (void)param;
    json_t *list = json_pack("[s, s]", "gpt2", "distilgpt2");
    json_t *details = json_array();
    for (size_t i = 0; i < engines_count(a->engines); i++) {
        engine_t *e = engines_at(a->engines, i);
        json_array_append_new(list, json_string(e->name));
        for (const char *const *m = e->models; m && *m; m++) {
            json_array_append_new(list, json_string(*m));
            char why[8];
            json_array_append_new(details, json_pack("{s:s, s:s, s:b}", "name", *m, "engine", e->name, "ready",
                                                     e->ready(e, why, sizeof why)));
        }
    }
    json_t *o = json_pack("{s:o, s:s, s:o, s:s}", "available_models", list, "default_model", "gpt2", "models", details,
                          "note", "gpt2 and distilgpt2 are the old service's names; they select the default engine");
    api_send_json(r, 200, o);
}
