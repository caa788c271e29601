/* api.c -- application state, the route table and the checks every route
 * shares (key, content type, JSON body, model name, rate limit). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/log.h"
#include "core/util.h"
#include "engine/llm.h"
#include "stats/sysstats.h"

#define PREFIX "/copywriting"

typedef enum { KEY_NO = 0, KEY_YES = 1 } key_rule_t;

typedef struct route {
    const char *method;
    const char *pattern;   /* "/v11/health"; a trailing "{x}" takes one segment */
    route_fn fn;
    key_rule_t key;
} route_t;

static const route_t routes[] = {
    {"GET", "/v11/health", h_health, KEY_NO},
    {"GET", "/v11/performance-stats", h_performance, KEY_NO},
    {"POST", "/v11/generate", h_v11_generate, KEY_YES},
    {"POST", "/v11/batch-generate", h_v11_batch, KEY_YES},
    {"POST", "/v11/cache/clear", h_cache_clear, KEY_YES},
    {"GET", "/v11/cache/stats", h_cache_stats, KEY_YES},
    {"GET", "/v11/system-info", h_system_info, KEY_YES},
    {"POST", "/v11/optimize", h_optimize, KEY_YES},
    {"GET", "/metrics", h_metrics, KEY_NO},
    {"POST", "/generate", h_generate, KEY_YES},
    {"POST", "/batch-generate", h_batch_generate, KEY_YES},
    {"GET", "/task-status/{task_id}", h_task_status, KEY_NO},
    {"POST", "/batch-status", h_batch_status, KEY_YES},
    {"GET", "/models", h_models, KEY_NO},
    {"POST", "/feedback", h_feedback_post, KEY_YES},
    {"GET", "/feedback", h_feedback_get, KEY_YES},
    {"GET", "/variant-history/{variant_id}", h_variant_history, KEY_YES},
    {"GET", "/optimization-results/{tracking_id}", h_optimization_results, KEY_YES},
    {"POST", "/refactor", h_rewrite, KEY_YES},
    {"POST", "/optimiza", h_rewrite, KEY_YES},
    {"POST", "/optimiza-con-librerias", h_rewrite, KEY_YES},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/* Route labels for logs and metrics: the full pattern, a bounded set. */
static const char *route_labels[N_ROUTES];
static char route_label_buf[N_ROUTES][96];

/* Matches `path` (after the prefix) against a pattern; sets *param to the
 * path parameter (pointing into `path`) when the pattern has one. */
static int match(const char *pattern, const char *path, const char **param, size_t *plen) {
    const char *brace = strchr(pattern, '{');
    if (!brace) return strcmp(pattern, path) == 0;
    size_t fixed = (size_t)(brace - pattern);
    if (strncmp(pattern, path, fixed) != 0) return 0;
    const char *rest = path + fixed;
    if (!*rest || strchr(rest, '/')) return 0;
    *param = rest;
    *plen = strlen(rest);
    return 1;
}

void api_handle(void *ud, http_request_t *req, http_response_t *r) {
    api_t *a = ud;
    r->route = "unmatched";
    const char *path = req->path;
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0) {
        api_error(r, 404, "not_found", "Not Found", NULL);
        return;
    }
    path += strlen(PREFIX);
    int path_known = 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        const char *param = NULL;
        size_t plen = 0;
        if (!match(routes[i].pattern, path, &param, &plen)) continue;
        path_known = 1;
        if (strcmp(routes[i].method, req->method) != 0) continue;
        r->route = route_labels[i];
        if (routes[i].key == KEY_YES && api_require_key(a, req, r) < 0) return;
        routes[i].fn(a, req, r, param);
        return;
    }
    if (path_known) api_error(r, 405, "method_not_allowed", "Method Not Allowed", NULL);
    else api_error(r, 404, "not_found", "Not Found", NULL);
}

int api_require_key(api_t *a, http_request_t *req, http_response_t *r) {
    const char *given = http_header(req, "X-API-Key");
    int ok = 0;
    if (given)
        for (size_t i = 0; i < a->cfg.n_api_keys; i++) ok |= ct_streq(given, a->cfg.api_keys[i]);
    if (ok) return 0;
    api_error(r, 401, "unauthorized", "Invalid or missing API Key", NULL);
    return -1;
}

/* "application/json; charset=utf-8" -> accepted. A missing Content-Type is
 * accepted as JSON (old clients omit it); anything else is 415. */
static int json_content_type(const char *ct) {
    if (!ct) return 1;
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ') n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) return 1;
    /* application/something+json (e.g. problem+json) is JSON too. */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int api_check_content_type(http_request_t *req, http_response_t *r) {
    const char *ct = http_header(req, "Content-Type");
    if (json_content_type(ct)) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "Content-Type must be application/json (got '%.80s')", ct);
    api_error(r, 415, "unsupported_media_type", msg, NULL);
    return -1;
}

int api_read_json(http_request_t *req, http_response_t *r, json_t **root) {
    if (api_check_content_type(req, r) < 0) return -1;
    char msg[256];
    if (brief_json_parse(req->body ? req->body : "", req->body_len, root, msg, sizeof msg) < 0) {
        char full[300];
        snprintf(full, sizeof full, "invalid JSON body: %s", msg);
        api_error(r, 400, "invalid_json", full, NULL);
        return -1;
    }
    return 0;
}

json_t *api_read_batch(api_t *a, http_request_t *req, http_response_t *r, const char *too_large_fmt) {
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return NULL;
    if (!json_is_array(root)) {
        json_decref(root);
        api_validation_one(r, "body", "", "list_type", "the body must be a JSON array of briefs");
        return NULL;
    }
    int max = atomic_load(&a->max_batch_size);
    if (json_array_size(root) > (size_t)max) {
        json_decref(root);
        char msg[96];
        snprintf(msg, sizeof msg, too_large_fmt, max);
        api_error(r, 400, "batch_too_large", msg, NULL);
        return NULL;
    }
    return root;
}

int api_model_param(api_t *a, http_request_t *req, http_response_t *r, engine_t **engine,
                    const char **model) {
    const char *name = http_query(req, "model_name");
    *engine = NULL;
    *model = NULL;
    if (!name || strcmp(name, "gpt2") == 0 || strcmp(name, "distilgpt2") == 0) return 0;
    engine_t *e = engines_find(a->engines, name, model);
    if (e) {
        *engine = e;
        return 0;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Modelo '%.120s' no soportado.", name);
    api_error(r, 400, "unsupported_model", msg, "model_name");
    return -1;
}

int api_rate_limit(api_t *a, http_request_t *req, http_response_t *r, const char *route) {
    const char *key = http_header(req, "X-API-Key");
    int wait = ratelimit_take(a->rl, key ? key : "", route);
    if (wait == 0) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "Rate limit exceeded: %d requests per minute on this route; retry in %d s",
             ratelimit_get(a->rl), wait);
    api_error(r, 429, "rate_limited", msg, NULL);
    r->retry_after = wait;
    return -1;
}

void api_system_stats(buf_t *out) {
    /* The sample changes once a second; each thread formats it once per
     * sample and appends the cached text afterwards. */
    static _Thread_local double cached_at = -1;
    static _Thread_local char text[200];
    static _Thread_local size_t len;
    sysstats_t s;
    sysstats_get(&s);
    if (s.sampled_at != cached_at) {
        int n = snprintf(text, sizeof text,
                         "{\"cpu_percent\":%.2f,\"memory_percent\":%.2f,\"memory_available_gb\":%.2f,"
                         "\"disk_percent\":%.2f,\"disk_free_gb\":%.2f}",
                         s.cpu_percent, s.memory_percent, s.memory_available_gb, s.disk_percent, s.disk_free_gb);
        len = n > 0 && (size_t)n < sizeof text ? (size_t)n : 0;
        cached_at = s.sampled_at;
    }
    buf_append(out, text, len);
}

api_t *api_create(const config_t *cfg, char *err, size_t errsz) {
    for (size_t i = 0; i < N_ROUTES; i++) {
        snprintf(route_label_buf[i], sizeof route_label_buf[i], PREFIX "%s", routes[i].pattern);
        route_labels[i] = route_label_buf[i];
    }
    api_t *a = calloc(1, sizeof *a);
    if (!a) { snprintf(err, errsz, "out of memory"); return NULL; }
    a->cfg = *cfg;
    for (size_t i = 0; i < cfg->n_api_keys; i++) a->cfg.api_keys[i] = strdup(cfg->api_keys[i]);
    atomic_init(&a->batch_size, cfg->batch_size);
    atomic_init(&a->max_batch_size, cfg->max_batch_size);
    atomic_init(&a->caching, 1);
    a->started_at = now_wall();

    a->engines = engines_create();
    char why[256];
    engine_t *tpl = template_engine_create(cfg->template_data, why, sizeof why);
    if (!tpl) {
        snprintf(err, errsz, "template engine: %s", why);
        goto fail;
    }
    engines_add(a->engines, tpl);
    if (cfg->model[0] || strcmp(cfg->engine, "llm") == 0 || strstr(cfg->fallback, "llm")) {
        llm_engine_options_t o = {.model_path = cfg->model, .languages = cfg->llm_languages,
                                  .max_tokens = cfg->llm_max_tokens, .chat_template = cfg->chat_template,
                                  .template_data = cfg->template_data};
        engine_t *llm = llm_engine_create(&o);
        if (!llm || engines_add(a->engines, llm) < 0) {
            snprintf(err, errsz, "could not create the llm engine");
            goto fail;
        }
        if (!llm->ready(llm, why, sizeof why)) log_warn("llm engine not ready: %s", why);
    }
    a->default_engine = engines_find(a->engines, cfg->engine, NULL);
    if (!a->default_engine) {
        snprintf(err, errsz, "engine '%s' is not available (engines: template, llm)", cfg->engine);
        goto fail;
    }
    char order[200];
    snprintf(order, sizeof order, "%s,%s", cfg->engine, cfg->fallback);
    if (engines_set_order(a->engines, order, err, errsz) < 0) goto fail;

    a->cache = cache_create((size_t)cfg->cache_size, (unsigned)cfg->cache_ttl,
                            cfg->redis_url[0] ? cfg->redis_url : NULL, why, sizeof why);
    if (!a->cache) {
        snprintf(err, errsz, "cache: %s", why);
        goto fail;
    }
    a->store = store_open(cfg->data_dir, why, sizeof why);
    if (!a->store) {
        snprintf(err, errsz, "store: %s", why);
        goto fail;
    }
    a->copy_data = copy_data_load(cfg->template_data, why, sizeof why);
    if (!a->copy_data) {
        snprintf(err, errsz, "rewrite data: %s", why);
        goto fail;
    }
    a->memo = memo_create(cfg->cache_size < 1024 ? 1024 : cfg->cache_size > 65536 ? 65536 : (size_t)cfg->cache_size);
    a->rl = ratelimit_create(cfg->rate_limit);
    a->jobs = jobs_start(a->store, cfg->job_workers, api_run_job, a);
    if (!a->jobs) {
        snprintf(err, errsz, "could not start the job workers");
        goto fail;
    }
    return a;
fail:
    api_destroy(a);
    return NULL;
}

void api_destroy(api_t *a) {
    if (!a) return;
    if (a->jobs) jobs_stop(a->jobs);
    if (a->store) store_close(a->store);
    if (a->cache) cache_destroy(a->cache);
    if (a->engines) engines_destroy(a->engines);
    if (a->rl) ratelimit_destroy(a->rl);
    memo_destroy(a->memo);
    if (a->copy_data) copy_data_free(a->copy_data);
    config_free(&a->cfg);
    free(a);
}
