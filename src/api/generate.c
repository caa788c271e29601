/* generate.c -- the generation pipeline and the routes that generate:
 * /v11/generate, /v11/batch-generate, legacy /generate, the rewrite routes
 * and the legacy job callback.
 *
 * Pipeline per brief: cache key -> cache (memory, then Redis) -> on a miss
 * the engines, all misses of one request in one engines_generate() call
 * (which batches them by BATCH_SIZE) -> cache write -> optimisation results
 * stored when the brief carries a tracking id. Outputs are spliced, never
 * re-parsed: the engine's text ends in "...extra_metadata{...}}" and the
 * per-request facts go in front of those two braces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/log.h"
#include "core/util.h"
#include "stats/metrics.h"

static const char *level_name(cache_level_t l) {
    return l == CACHE_HIT_MEMORY ? "memory" : l == CACHE_HIT_REDIS ? "redis" : "none";
}

/* raw "...}}" -> "...[,"fallback_from":"<engine>"],"cache":"<level>"},"tracking_id":"<id>"}" */
static int splice(const char *raw, size_t len, cache_level_t level, const char *tracking_id,
                  const char *fallback_from, gen_result_t *g) {
    if (len < 2 || raw[len - 1] != '}' || raw[len - 2] != '}') return -1;
    buf_t b = BUF_INIT;
    buf_append(&b, raw, len - 2);
    if (fallback_from) { /* the engine asked for failed and another one answered */
        buf_puts(&b, ",\"fallback_from\":");
        buf_json_str(&b, fallback_from);
    }
    buf_puts(&b, ",\"cache\":\"");
    buf_puts(&b, level_name(level));
    buf_puts(&b, "\"},\"tracking_id\":");
    buf_json_str(&b, tracking_id);
    buf_putc(&b, '}');
    g->output = buf_detach(&b, &g->output_len);
    return g->output ? 0 : -1;
}

static void set_error(gen_result_t *g, int status, const char *code, const char *message, const char *field) {
    g->status = status;
    snprintf(g->code, sizeof g->code, "%s", code);
    snprintf(g->message, sizeof g->message, "%s", message);
    snprintf(g->field, sizeof g->field, "%s", field ? field : "");
}

/* Keeps the variants' scores for GET /optimization-results/{tracking_id}. */
static void store_results(api_t *a, const char *tracking_id, const char *output, size_t len) {
    json_t *o = json_loadb(output, len, 0, NULL);
    if (!o) return;
    json_t *variants = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "variants"), i, v) {
        json_array_append_new(variants,
                              json_pack("{s:O?, s:O?, s:O?, s:O?}", "variant_id", json_object_get(v, "variant_id"),
                                        "engagement_prediction", json_object_get(v, "engagement_prediction"),
                                        "readability_score", json_object_get(v, "readability_score"),
                                        "compliance_passed",
                                        json_object_get(json_object_get(v, "compliance"), "passed")));
    }
    char ts[ISO8601_LEN];
    iso8601_now(ts);
    json_t *res = json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:o, s:O?}", "tracking_id", tracking_id, "stored_at", ts,
                            "best_variant_id", json_object_get(o, "best_variant_id"), "confidence_score",
                            json_object_get(o, "confidence_score"), "model_used", json_object_get(o, "model_used"),
                            "variants", variants, "optimization_suggestions",
                            json_object_get(o, "optimization_suggestions"));
    char *text = res ? json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text && store_optimization_put(a->store, tracking_id, text) < 0)
        log_warn("could not store optimisation results for tracking id %s", tracking_id);
    free(text);
    json_decref(res);
    json_decref(o);
}

/* One cache lookup, counted in the metrics per level. */
static cache_level_t lookup(api_t *a, const char *key, char **val, size_t *len) {
    cache_level_t lvl = cache_get(a->cache, key, val, len);
    metrics_cache("memory", lvl == CACHE_HIT_MEMORY);
    if (lvl != CACHE_HIT_MEMORY && a->cfg.redis_url[0]) metrics_cache("redis", lvl == CACHE_HIT_REDIS);
    return lvl;
}

/* The engine a request targets and the model name its cache keys use. */
static engine_t *target_of(api_t *a, engine_t *engine, const char *model, const char **model_name) {
    engine_t *target = engine ? engine : a->default_engine;
    *model_name = model ? model : (target->models && target->models[0] ? target->models[0] : "");
    return target;
}

void api_generate(api_t *a, const brief_t *const *briefs, size_t n, engine_t *engine, const char *model,
                  gen_result_t *out) {
    const char *model_name;
    engine_t *target = target_of(a, engine, model, &model_name);
    int caching = atomic_load(&a->caching);
    engine_item_t *items = calloc(n ? n : 1, sizeof *items);
    size_t *which = calloc(n ? n : 1, sizeof *which);
    char (*keys)[BRIEF_KEY_LEN] = calloc(n ? n : 1, BRIEF_KEY_LEN);
    char (*tids)[UUID_LEN] = calloc(n ? n : 1, UUID_LEN);
    if (!items || !which || !keys || !tids) {
        for (size_t i = 0; i < n; i++) set_error(&out[i], 500, "internal_error", "out of memory", NULL);
        goto done;
    }
    size_t misses = 0;
    for (size_t i = 0; i < n; i++) {
        double t0 = now_mono();
        gen_result_t *g = &out[i];
        memset(g, 0, sizeof *g);
        const brief_t *b = briefs[i];
        if (!b->tracking_id) uuid4(tids[i]); /* a new one only when the brief has none */
        brief_cache_key(b, target->name, model_name, keys[i]);
        memcpy(g->key, keys[i], BRIEF_KEY_LEN);
        char *val = NULL;
        size_t len = 0;
        cache_level_t lvl = caching ? lookup(a, keys[i], &val, &len) : CACHE_MISS;
        if (lvl != CACHE_MISS) {
            const char *tid = b->tracking_id ? b->tracking_id : tids[i];
            if (splice(val, len, lvl, tid, NULL, g) == 0) {
                g->status = 200;
                g->cache_hit = 1;
                g->seconds = now_mono() - t0;
                metrics_generation(target->name, level_name(lvl));
                free(val);
                continue;
            }
            free(val); /* unusable entry: generate afresh */
        }
        items[misses].brief = b;
        items[misses].model = model;
        which[misses++] = i;
    }
    if (misses) {
        double t0 = now_mono();
        engines_generate(a->engines, engine, items, misses, atomic_load(&a->batch_size));
        double per_item = (now_mono() - t0) / (double)misses;
        for (size_t k = 0; k < misses; k++) {
            engine_item_t *it = &items[k];
            size_t i = which[k];
            gen_result_t *g = &out[i];
            g->seconds = per_item;
            switch (it->status) {
            case ENGINE_OK:
                if (splice(it->output, it->output_len, CACHE_MISS,
                           it->brief->tracking_id ? it->brief->tracking_id : tids[i],
                           it->engine_used && strcmp(it->engine_used, target->name) != 0 ? target->name : NULL,
                           g) < 0) {
                    log_error("engine %s broke the output contract", it->engine_used ? it->engine_used : "?");
                    set_error(g, 500, "internal_error", "the engine produced an unusable output", NULL);
                    break;
                }
                g->status = 200;
                metrics_generation(it->engine_used ? it->engine_used : target->name, "engine");
                if (caching && it->engine_used && strcmp(it->engine_used, target->name) == 0)
                    cache_put(a->cache, keys[i], it->output, it->output_len);
                if (it->brief->tracking_id) store_results(a, it->brief->tracking_id, it->output, it->output_len);
                break;
            case ENGINE_ERR_LANGUAGE:
                set_error(g, 422, "unsupported_language", it->err_message, it->err_field[0] ? it->err_field : "language");
                break;
            case ENGINE_ERR_INVALID:
                set_error(g, 422, "validation_error", it->err_message, it->err_field);
                break;
            case ENGINE_ERR_UNAVAILABLE:
                set_error(g, 503, "engine_unavailable", it->err_message[0] ? it->err_message : "no engine is available",
                          NULL);
                break;
            case ENGINE_ERR_INTERNAL:
            default:
                set_error(g, 500, "internal_error", it->err_message[0] ? it->err_message : "engine failure", NULL);
                break;
            }
            free(it->output);
        }
    }
done:
    free(items);
    free(which);
    free(keys);
    free(tids);
}

void gen_result_free(gen_result_t *g) {
    free(g->output);
    g->output = NULL;
}

/* Parses and validates one brief from `root`; answers 422 itself. */
static int read_brief(http_request_t *req, http_response_t *r, json_t *root, brief_t *b) {
    brief_problems_t p;
    problems_init(&p);
    if (brief_from_json(root, &req->arena, b, &p) < 0) {
        api_validation_error(r, &p, "body");
        return -1;
    }
    return 0;
}

/* A body seen before whose output is still cached is answered without
 * being parsed (see memo.h). Returns 1 with `g` filled, or 0. */
static int from_memo(api_t *a, http_request_t *req, const char *scope, engine_t *target, gen_result_t *g) {
    if (!req->body || !atomic_load(&a->caching)) return 0;
    double t0 = now_mono();
    char key[BRIEF_KEY_LEN], tid[MEMO_TID_MAX];
    if (!memo_get(a->memo, req->body, req->body_len, scope, key, tid)) return 0;
    char *val = NULL;
    size_t len = 0;
    cache_level_t lvl = lookup(a, key, &val, &len);
    if (lvl == CACHE_MISS) return 0;
    char fresh[UUID_LEN];
    if (!tid[0]) uuid4(fresh);
    memset(g, 0, sizeof *g);
    int ok = splice(val, len, lvl, tid[0] ? tid : fresh, NULL, g) == 0;
    free(val);
    if (!ok) return 0;
    g->status = 200;
    g->cache_hit = 1;
    g->seconds = now_mono() - t0;
    memcpy(g->key, key, BRIEF_KEY_LEN);
    metrics_generation(target->name, level_name(lvl));
    return 1;
}

/* Generates the one brief of a request body: from the memo and cache when
 * the same bytes were seen, otherwise parsed, validated and generated.
 * Returns -1 when an error answer was written to `r`. */
static int generate_body(api_t *a, http_request_t *req, http_response_t *r, engine_t *engine, const char *model,
                         gen_result_t *g) {
    if (api_check_content_type(req, r) < 0) return -1;
    const char *model_name;
    engine_t *target = target_of(a, engine, model, &model_name);
    char scope[160];
    snprintf(scope, sizeof scope, "%s\n%s", target->name, model_name);
    if (from_memo(a, req, scope, target, g)) return 0;
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return -1;
    brief_t b;
    if (read_brief(req, r, root, &b) < 0) {
        json_decref(root);
        return -1;
    }
    const brief_t *bp = &b;
    api_generate(a, &bp, 1, engine, model, g);
    if (g->status == 200 && req->body) memo_put(a->memo, req->body, req->body_len, scope, g->key, b.tracking_id);
    json_decref(root);
    return 0;
}

static void answer_internal(http_request_t *req, http_response_t *r, const gen_result_t *g) {
    if (g->status == 500) {
        /* A 500 carries the request id so the log line can be found. */
        r->status = 500;
        buf_reset(&r->body);
        buf_puts(&r->body, "{\"detail\":");
        buf_json_str(&r->body, g->message);
        buf_puts(&r->body, ",\"error\":");
        api_error_object(&r->body, "internal_error", g->message, NULL);
        buf_puts(&r->body, ",\"request_id\":");
        buf_json_str(&r->body, req->request_id);
        buf_putc(&r->body, '}');
        snprintf(r->log_note, sizeof r->log_note, "error=\"%.100s\"", g->message);
        return;
    }
    api_gen_error(r, g);
}

void h_v11_generate(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    buf_t before = BUF_INIT;
    api_system_stats(&before);
    double t0 = now_mono();
    gen_result_t g;
    if (generate_body(a, req, r, NULL, NULL, &g) < 0) {
        buf_free(&before);
        return;
    }
    if (g.status != 200) {
        answer_internal(req, r, &g);
        buf_free(&before);
        return;
    }
    char ts[ISO8601_LEN];
    iso8601_now(ts);
    r->status = 200;
    buf_puts(&r->body, "{\"version\":\"v11\",\"result\":");
    buf_append(&r->body, g.output, g.output_len);
    buf_puts(&r->body, ",\"processing_time_seconds\":");
    buf_fixed6(&r->body, now_mono() - t0);
    buf_puts(&r->body, g.cache_hit ? ",\"cache_hit\":true,\"timestamp\":\"" : ",\"cache_hit\":false,\"timestamp\":\"");
    buf_puts(&r->body, ts);
    buf_puts(&r->body, "\",\"system_stats_before\":");
    buf_append(&r->body, before.p, before.len);
    buf_puts(&r->body, ",\"system_stats_after\":");
    api_system_stats(&r->body);
    buf_putc(&r->body, '}');
    buf_free(&before);
    gen_result_free(&g);
}

void h_v11_batch(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    json_t *root = api_read_batch(a, req, r, "Batch size exceeds maximum of %d");
    if (!root) return;
    size_t n = json_array_size(root);
    buf_t before = BUF_INIT;
    api_system_stats(&before);
    double t0 = now_mono();
    brief_t *briefs = arena_alloc(&req->arena, (n ? n : 1) * sizeof *briefs);
    const brief_t **valid = arena_alloc(&req->arena, (n ? n : 1) * sizeof *valid);
    brief_problems_t *probs = arena_alloc(&req->arena, (n ? n : 1) * sizeof *probs);
    int *ok = arena_alloc(&req->arena, (n ? n : 1) * sizeof *ok);
    gen_result_t *res = calloc(n ? n : 1, sizeof *res);
    if (!briefs || !valid || !probs || !ok || !res) {
        free(res);
        json_decref(root);
        buf_free(&before);
        api_error(r, 500, "internal_error", "out of memory", NULL);
        return;
    }
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        ok[i] = brief_from_json(json_array_get(root, i), &req->arena, &briefs[i], &probs[i]) == 0;
        if (ok[i]) valid[nv++] = &briefs[i];
    }
    api_generate(a, valid, nv, NULL, NULL, res);
    json_decref(root);

    size_t succeeded = 0, k = 0;
    double total = now_mono() - t0;
    r->status = 200;
    buf_puts(&r->body, "{\"version\":\"v11\",\"results\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(&r->body, ',');
        buf_printf(&r->body, "{\"index\":%zu,", i);
        if (!ok[i]) {
            const brief_problem_t *p = &probs[i].items[0];
            buf_puts(&r->body, "\"success\":false,\"error\":");
            api_error_object(&r->body, "validation_error", probs[i].n ? p->msg : "invalid brief",
                             probs[i].n ? p->field : NULL);
            buf_puts(&r->body, ",\"processing_time_seconds\":0}");
            continue;
        }
        gen_result_t *g = &res[k++];
        if (g->status == 200) {
            succeeded++;
            buf_puts(&r->body, "\"success\":true,\"result\":");
            buf_append(&r->body, g->output, g->output_len);
            buf_printf(&r->body, ",\"cache_hit\":%s", g->cache_hit ? "true" : "false");
        } else {
            buf_puts(&r->body, "\"success\":false,\"error\":");
            api_error_object(&r->body, g->code, g->message, g->field);
        }
        buf_printf(&r->body, ",\"processing_time_seconds\":%.6f}", g->seconds);
        gen_result_free(g);
    }
    char ts[ISO8601_LEN];
    iso8601_now(ts);
    buf_printf(&r->body,
               "],\"total_processing_time_seconds\":%.6f,\"successful_generations\":%zu,"
               "\"failed_generations\":%zu,\"success_rate\":%.2f,\"average_time_per_request\":%.6f,"
               "\"timestamp\":\"%s\",\"system_stats_before\":",
               total, succeeded, n - succeeded, n ? 100.0 * (double)succeeded / (double)n : 0.0,
               n ? total / (double)n : 0.0, ts);
    buf_append(&r->body, before.p, before.len);
    buf_puts(&r->body, ",\"system_stats_after\":");
    api_system_stats(&r->body);
    buf_putc(&r->body, '}');
    buf_free(&before);
    free(res);
}

void h_generate(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    engine_t *engine;
    const char *model;
    if (api_model_param(a, req, r, &engine, &model) < 0) return;
    if (api_rate_limit(a, req, r, "/generate") < 0) return;
    gen_result_t g;
    if (generate_body(a, req, r, engine, model, &g) < 0) return;
    if (g.status != 200) {
        answer_internal(req, r, &g);
        return;
    }
    r->status = 200;
    buf_append(&r->body, g.output, g.output_len);
    gen_result_free(&g);
}

/* Legacy job: payload {"brief": {...}, "model": "name"|null}. */
int api_run_job(void *ud, const char *payload, char **result, char **error) {
    api_t *a = ud;
    *result = *error = NULL;
    json_t *root = json_loads(payload, 0, NULL);
    arena_t arena = ARENA_INIT;
    brief_t b;
    brief_problems_t p;
    problems_init(&p);
    int rc = -1;
    if (!root) {
        *error = strdup("stored job payload is not valid JSON");
        goto out;
    }
    if (brief_from_json(json_object_get(root, "brief"), &arena, &b, &p) < 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s: %s", p.n ? p.items[0].field : "", p.n ? p.items[0].msg : "invalid brief");
        *error = strdup(msg);
        goto out;
    }
    engine_t *engine = NULL;
    const char *model = NULL;
    const char *name = json_string_value(json_object_get(root, "model"));
    if (name) engine = engines_find(a->engines, name, &model);
    const brief_t *bp = &b;
    gen_result_t g;
    api_generate(a, &bp, 1, engine, model, &g);
    if (g.status == 200) {
        *result = g.output;
        g.output = NULL;
        rc = 0;
    } else {
        *error = strdup(g.message);
    }
out:
    json_decref(root);
    arena_free(&arena);
    return rc;
}

char *api_generate_text(api_t *a, const char *json, size_t len, int *status) {
    http_response_t r = {0};
    char msg[256];
    json_t *root;
    char *out = NULL;
    if (brief_json_parse(json, len, &root, msg, sizeof msg) < 0) {
        char full[300];
        snprintf(full, sizeof full, "invalid JSON: %s", msg);
        api_error(&r, 400, "invalid_json", full, NULL);
    } else {
        arena_t arena = ARENA_INIT;
        brief_t b;
        brief_problems_t p;
        problems_init(&p);
        if (brief_from_json(root, &arena, &b, &p) < 0) {
            api_validation_error(&r, &p, "body");
        } else {
            const brief_t *bp = &b;
            gen_result_t g;
            api_generate(a, &bp, 1, NULL, NULL, &g);
            if (g.status == 200) {
                r.status = 200;
                out = g.output;
            } else {
                api_gen_error(&r, &g);
            }
        }
        arena_free(&arena);
        json_decref(root);
    }
    *status = r.status;
    if (out) {
        buf_free(&r.body);
        return out;
    }
    return buf_detach(&r.body, NULL);
}
