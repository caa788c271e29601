/* test_api.c -- the api layer's answers when engines fail, driven through
 * api_handle() exactly as the HTTP layer calls it.
 *
 * The real template engine is loaded; an engine written for the test is
 * added beside it that fails every call (internal error or unavailable), so
 * the 500 and 503 answers, the request id in a 500, the fallback to the
 * template engine and the circuit breaker can all be observed. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/internal.h"
#include "core/log.h"
#include "stats/metrics.h"
#include "stats/sysstats.h"
#include "test.h"

static engine_status_t failure_mode = ENGINE_ERR_INTERNAL;
static int broken_calls;
static const char *const broken_models[] = {"broken-v1", NULL};
static const char *const broken_langs[] = {"es", "en", NULL};

static int broken_ready(engine_t *e, char *why, size_t n) { (void)e; (void)why; (void)n; return 1; }
static void broken_generate(engine_t *e, engine_item_t *items, size_t n) {
    (void)e;
    broken_calls++;
    for (size_t i = 0; i < n; i++) {
        items[i].status = failure_mode;
        strcpy(items[i].err_message, "the test engine failed on purpose");
    }
}
static void broken_destroy(engine_t *e) { free(e); }

static json_t *call(api_t *a, const char *method, const char *path, const char *const *query, const char *body,
                    int *status, int *retry_after, char *request_id) {
    static const char *const headers[] = {"X-API-Key", "test-key", "Content-Type", "application/json", NULL};
    http_request_t req = {0};
    req.method = method;
    req.path = path;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    snprintf(req.request_id, sizeof req.request_id, "feedc0de%08x", (unsigned)(rand() & 0xffff));
    if (request_id) strcpy(request_id, req.request_id);
    req.local_headers = headers;
    req.local_query = query;
    http_response_t r = {0};
    api_handle(a, &req, &r);
    *status = r.status;
    if (retry_after) *retry_after = r.retry_after;
    json_t *j = json_loadb(r.body.p ? r.body.p : "", r.body.len, 0, NULL);
    buf_free(&r.body);
    arena_free(&req.arena);
    return j;
}

int main(void) {
    log_set_level(LOG_ERROR);
    metrics_init();
    char dir[] = "/tmp/copyd-test-api-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sysstats_start(dir);
    config_t cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    const char *src = getenv("COPYD_SOURCE_DIR");
    if (src) snprintf(cfg.template_data, sizeof cfg.template_data, "%s/data", src);
    cfg.rate_limit = 1000;
    char err[256];
    config_set_keys(&cfg, "test-key", err, sizeof err);
    api_t *a = api_create(&cfg, err, sizeof err);
    config_free(&cfg);
    if (!a) {
        fprintf(stderr, "api_create: %s\n", err);
        return 1;
    }
    engine_t *broken = calloc(1, sizeof *broken);
    broken->name = "broken";
    broken->models = broken_models;
    broken->languages = broken_langs;
    broken->ready = broken_ready;
    broken->generate = broken_generate;
    broken->destroy = broken_destroy;
    CHECK(engines_add(a->engines, broken) == 0);

    const char *brief = "{\"product_description\":\"Zapatillas\",\"target_platform\":\"instagram\",\"tone\":\"casual\"}";
    const char *by_broken[] = {"model_name", "broken", NULL};
    int status, retry;
    char rid[32];

    /* With the template engine in the fallback order, a failing engine is
     * bypassed: the answer comes from the template engine. */
    json_t *j = call(a, "POST", "/copywriting/generate", by_broken, brief, &status, NULL, NULL);
    CHECK(status == 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "extra_metadata"), "engine")), "template");
    CHECK(broken_calls >= 1);
    json_decref(j);

    /* With no fallback: an internal failure is a 500 carrying the request id. */
    CHECK(engines_set_order(a->engines, "broken", err, sizeof err) == 0);
    j = call(a, "POST", "/copywriting/generate", by_broken, brief, &status, NULL, rid);
    CHECK(status == 500);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "internal_error");
    CHECK_STR(json_string_value(json_object_get(j, "request_id")), rid);
    json_decref(j);

    /* An unavailable engine with no fallback: 503 with Retry-After. */
    failure_mode = ENGINE_ERR_UNAVAILABLE;
    j = call(a, "POST", "/copywriting/v11/generate", NULL, brief, &status, &retry, NULL);
    CHECK(status == 503);
    CHECK(retry > 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "engine_unavailable");
    json_decref(j);

    /* Repeated failures open the breaker: health turns degraded and names it. */
    for (int i = 0; i < 5; i++) json_decref(call(a, "POST", "/copywriting/generate", by_broken, brief, &status, NULL, NULL));
    int before = broken_calls;
    json_decref(call(a, "POST", "/copywriting/generate", by_broken, brief, &status, NULL, NULL));
    CHECK(broken_calls == before); /* open: not called */
    CHECK(status == 503);
    j = call(a, "GET", "/copywriting/v11/health", NULL, NULL, &status, NULL, NULL);
    CHECK(status == 200);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "degraded");
    json_t *bs = json_object_get(json_object_get(json_object_get(json_object_get(j, "engine_status"), "engines"),
                                                 "broken"), "circuit_breaker");
    CHECK_STR(json_string_value(json_object_get(bs, "state")), "open");
    json_decref(j);

    /* The server keeps serving: the template engine still answers. */
    CHECK(engines_set_order(a->engines, "template,broken", err, sizeof err) == 0);
    j = call(a, "POST", "/copywriting/v11/generate", NULL, brief, &status, NULL, NULL);
    CHECK(status == 200 && json_is_true(json_object_get(j, "cache_hit")) == 0);
    json_decref(j);

    /* The models list names the added engine and its model. */
    j = call(a, "GET", "/copywriting/models", NULL, NULL, &status, NULL, NULL);
    const char *s = json_dumps(json_object_get(j, "available_models"), 0);
    CHECK(s && strstr(s, "\"broken-v1\"") && strstr(s, "\"gpt2\""));
    free((void *)s);
    json_decref(j);

    /* A rewrite whose first sentence is long and not ASCII: the headline is
     * cut on a character boundary and the answer stays valid JSON. */
    {
        buf_t body = BUF_INIT;
        buf_puts(&body, "{\"text\":\"x"); /* one ASCII byte first: a byte cut would land mid-character */
        for (int i = 0; i < 150; i++) buf_puts(&body, "\u00e9\u0597");
        buf_puts(&body, " fin. Segunda frase.\"}");
        j = call(a, "POST", "/copywriting/refactor", NULL, body.p, &status, NULL, NULL);
        CHECK(status == 200 && j != NULL);
        const char *hl = json_string_value(json_object_get(json_array_get(json_object_get(j, "variants"), 0), "headline"));
        CHECK(hl && strlen(hl) > 0 && strlen(hl) <= 240);
        json_decref(j);
        buf_free(&body);
    }

    api_destroy(a);
    sysstats_stop();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
