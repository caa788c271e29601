/* legacy.c -- the old service's job queue, feedback and history routes
 * (SPEC sections 1 and 7), answered exactly as its clients expect. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/util.h"

void h_batch_generate(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    engine_t *engine;
    const char *model;
    if (api_model_param(a, req, r, &engine, &model) < 0) return;
    json_t *root = api_read_batch(a, req, r, "El batch máximo permitido es %d.");
    if (!root) return;
    size_t n = json_array_size(root);
    /* The old service validated the whole list before queueing anything. */
    brief_problems_t all;
    problems_init(&all);
    for (size_t i = 0; i < n; i++) {
        brief_t b;
        brief_problems_t p;
        problems_init(&p);
        if (brief_from_json(json_array_get(root, i), &req->arena, &b, &p) == 0) continue;
        for (size_t k = 0; k < p.n; k++) {
            char field[160];
            snprintf(field, sizeof field, "[%zu]%s%s", i, p.items[k].field[0] && p.items[k].field[0] != '[' ? "." : "",
                     p.items[k].field);
            problems_add(&all, field, p.items[k].type, "%s", p.items[k].msg);
        }
    }
    if (all.total) {
        json_decref(root);
        api_validation_error(r, &all, "body");
        return;
    }
    const char **ids = arena_alloc(&req->arena, (n ? n : 1) * sizeof *ids);
    const char **payloads = arena_alloc(&req->arena, (n ? n : 1) * sizeof *payloads);
    char **owned = calloc(n ? n : 1, sizeof *owned);
    for (size_t i = 0; i < n; i++) {
        char *id = arena_alloc(&req->arena, UUID_LEN);
        uuid4(id);
        ids[i] = id;
        json_t *p = json_pack("{s:O, s:s?}", "brief", json_array_get(root, i), "model", engine ? (model ? model : engine->name) : NULL);
        owned[i] = json_dumps(p, JSON_COMPACT);
        payloads[i] = owned[i];
        json_decref(p);
    }
    json_decref(root);
    int rc = jobs_submit(a->jobs, ids, payloads, n);
    for (size_t i = 0; i < n; i++) free(owned[i]);
    free(owned);
    if (rc < 0) {
        api_error(r, 503, "store_unavailable", "could not queue the jobs durably; nothing was queued", NULL);
        r->retry_after = 5;
        return;
    }
    const char *wait = http_query(req, "wait");
    r->status = 200;
    if (wait && (strcmp(wait, "true") == 0 || strcmp(wait, "1") == 0)) {
        jobs_wait(a->jobs, ids, n);
        buf_puts(&r->body, "{\"results\":[");
        for (size_t i = 0; i < n; i++) {
            job_status_t st;
            char *payload = NULL, *result = NULL, *error = NULL;
            if (i) buf_putc(&r->body, ',');
            if (store_job_get(a->store, ids[i], &st, &payload, &result, &error) == 1 && st == JOB_SUCCESS && result) {
                buf_puts(&r->body, result);
            } else {
                buf_puts(&r->body, "{\"task_id\":");
                buf_json_str(&r->body, ids[i]);
                buf_puts(&r->body, ",\"status\":\"FAILURE\",\"error\":");
                buf_json_str(&r->body, error ? error : "the job failed");
                buf_putc(&r->body, '}');
            }
            free(payload);
            free(result);
            free(error);
        }
        buf_puts(&r->body, "]}");
        return;
    }
    buf_puts(&r->body, "{\"task_ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(&r->body, ',');
        buf_json_str(&r->body, ids[i]);
    }
    buf_puts(&r->body, "]}");
}

/* {"task_id"?, "status", "result", "error"}; `full` always writes all four. */
static void task_json(api_t *a, buf_t *out, const char *id, int full) {
    job_status_t st = JOB_PENDING;
    char *payload = NULL, *result = NULL, *error = NULL;
    int found = store_job_get(a->store, id, &st, &payload, &result, &error);
    buf_putc(out, '{');
    if (full) {
        buf_puts(out, "\"task_id\":");
        buf_json_str(out, id);
        buf_putc(out, ',');
    }
    buf_puts(out, "\"status\":");
    buf_json_str(out, found == 1 ? job_status_name(st) : "PENDING");
    if (found == 1 && st == JOB_SUCCESS && result) {
        buf_puts(out, ",\"result\":");
        buf_puts(out, result);
    } else if (full) {
        buf_puts(out, ",\"result\":null");
    }
    if (found == 1 && st == JOB_FAILURE) {
        buf_puts(out, ",\"error\":");
        buf_json_str(out, error ? error : "the job failed");
    } else if (full) {
        buf_puts(out, ",\"error\":null");
    }
    buf_putc(out, '}');
    free(payload);
    free(result);
    free(error);
}

void h_task_status(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    r->status = 200;
    task_json(a, &r->body, param, 0);
}

void h_batch_status(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return;
    brief_problems_t p;
    problems_init(&p);
    if (!json_is_array(root)) problems_add(&p, "", "list_type", "the body must be a JSON array of task ids");
    else if (json_array_size(root) > 1000) problems_add(&p, "", "too_long", "at most 1000 task ids per request");
    size_t i;
    json_t *v;
    if (!p.total)
        json_array_foreach(root, i, v) {
            char field[32];
            snprintf(field, sizeof field, "[%zu]", i);
            if (!json_is_string(v)) problems_add(&p, field, "string_type", "a task id must be a string");
        }
    if (p.total) {
        json_decref(root);
        api_validation_error(r, &p, "body");
        return;
    }
    r->status = 200;
    buf_puts(&r->body, "{\"tasks\":[");
    json_array_foreach(root, i, v) {
        if (i) buf_putc(&r->body, ',');
        task_json(a, &r->body, json_string_value(v), 1);
    }
    buf_puts(&r->body, "]}");
    json_decref(root);
}

/* ---- feedback ------------------------------------------------------- */

static const char *const feedback_types[] = {"human", "model", "auto", "ai_analysis", NULL};

static int feedback_type_ok(const char *t) {
    for (const char *const *k = feedback_types; *k; k++)
        if (strcmp(*k, t) == 0) return 1;
    return 0;
}

static const char *opt_string(json_t *o, const char *name, const char *path, size_t max, brief_problems_t *p) {
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        problems_add(p, path, "string_type", "%s must be a string", path);
        return NULL;
    }
    if (json_string_length(v) > max) problems_add(p, path, "string_too_long", "%s must be at most %zu bytes", path, max);
    return json_string_value(v);
}

void h_feedback_post(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    json_t *root;
    if (api_read_json(req, r, &root) < 0) return;
    brief_problems_t p;
    problems_init(&p);
    feedback_in_t f = {0};
    char *section = NULL, *history = NULL;
    if (!json_is_object(root)) {
        problems_add(&p, "", "dict_type", "the body must be a JSON object");
    } else {
        json_t *vid = json_object_get(root, "variant_id");
        if (!vid) problems_add(&p, "variant_id", "missing", "variant_id is required");
        else f.variant_id = opt_string(root, "variant_id", "variant_id", 200, &p);
        if (vid && f.variant_id && !*f.variant_id) problems_add(&p, "variant_id", "string_too_short", "variant_id must not be empty");
        json_t *fb = json_object_get(root, "feedback");
        if (!fb) problems_add(&p, "feedback", "missing", "feedback is required");
        else if (!json_is_object(fb)) problems_add(&p, "feedback", "dict_type", "feedback must be an object");
        else {
            json_t *type = json_object_get(fb, "type"), *score = json_object_get(fb, "score");
            if (!type) problems_add(&p, "feedback.type", "missing", "feedback.type is required");
            else if (!json_is_string(type) || !feedback_type_ok(json_string_value(type)))
                problems_add(&p, "feedback.type", "enum", "feedback.type must be one of human, model, auto, ai_analysis");
            else f.type = json_string_value(type);
            if (!score) problems_add(&p, "feedback.score", "missing", "feedback.score is required");
            else if (!json_is_number(score)) problems_add(&p, "feedback.score", "float_type", "feedback.score must be a number");
            else {
                f.score = json_number_value(score);
                if (f.score < 0 || f.score > 1) problems_add(&p, "feedback.score", "less_than_equal", "feedback.score must be between 0 and 1");
            }
            f.comments = opt_string(fb, "comments", "feedback.comments", 5000, &p);
            f.user_id = opt_string(fb, "user_id", "feedback.user_id", 200, &p);
            f.timestamp = opt_string(fb, "timestamp", "feedback.timestamp", 64, &p);
            double epoch;
            if (f.timestamp && iso8601_parse(f.timestamp, &epoch) < 0)
                problems_add(&p, "feedback.timestamp", "datetime_parsing", "feedback.timestamp must be an ISO 8601 date-time");
            json_t *pt = json_object_get(fb, "processing_time_ms");
            if (pt && !json_is_null(pt)) {
                if (!json_is_number(pt) || json_number_value(pt) < 0)
                    problems_add(&p, "feedback.processing_time_ms", "float_type", "feedback.processing_time_ms must be a number >= 0");
                else f.processing_time_ms = json_number_value(pt), f.has_processing_time = 1;
            }
        }
        json_t *sf = json_object_get(root, "section_feedback"), *vh = json_object_get(root, "variant_history");
        if (sf && !json_is_null(sf)) {
            if (!json_is_object(sf)) problems_add(&p, "section_feedback", "dict_type", "section_feedback must be an object");
            else section = json_dumps(sf, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
        if (vh && !json_is_null(vh)) {
            if (!json_is_object(vh) && !json_is_array(vh))
                problems_add(&p, "variant_history", "dict_type", "variant_history must be an object or an array");
            else history = json_dumps(vh, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
    }
    if (p.total) {
        api_validation_error(r, &p, "body");
    } else {
        f.section_feedback = section;
        f.variant_history = history;
        int64_t id = 0;
        if (store_feedback_add(a->store, &f, &id) < 0) {
            api_error(r, 503, "store_unavailable", "could not store the feedback; it was not accepted", NULL);
            r->retry_after = 5;
        } else {
            r->status = 202;
            buf_puts(&r->body, "{\"status\":\"accepted\",\"variant_id\":");
            buf_json_str(&r->body, f.variant_id);
            buf_printf(&r->body, ",\"feedback_id\":%lld}", (long long)id);
        }
    }
    free(section);
    free(history);
    json_decref(root);
}

void h_feedback_get(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)param;
    feedback_query_t q = {0};
    brief_problems_t p;
    problems_init(&p);
    q.limit = 20;
    q.variant_id = http_query(req, "variant_id");
    q.user_id = http_query(req, "user_id");
    q.type = http_query(req, "type");
    if (q.type && !feedback_type_ok(q.type)) problems_add(&p, "type", "enum", "type must be one of human, model, auto, ai_analysis");
    const char *s;
    long n;
    if ((s = http_query(req, "skip"))) {
        if (parse_long(s, 0, 1000000000, &n) < 0) problems_add(&p, "skip", "greater_than_equal", "skip must be an integer >= 0");
        else q.skip = (int)n;
    }
    if ((s = http_query(req, "limit"))) {
        if (parse_long(s, 1, 100, &n) < 0) problems_add(&p, "limit", "less_than_equal", "limit must be an integer between 1 and 100");
        else q.limit = (int)n;
    }
    if ((s = http_query(req, "score__gte"))) {
        if (parse_double(s, 0, 1, &q.score_gte) < 0) problems_add(&p, "score__gte", "float_parsing", "score__gte must be a number between 0 and 1");
        else q.has_score_gte = 1;
    }
    if ((s = http_query(req, "score__lte"))) {
        if (parse_double(s, 0, 1, &q.score_lte) < 0) problems_add(&p, "score__lte", "float_parsing", "score__lte must be a number between 0 and 1");
        else q.has_score_lte = 1;
    }
    if ((s = http_query(req, "timestamp__gte"))) {
        if (iso8601_parse(s, &q.ts_gte) < 0) problems_add(&p, "timestamp__gte", "datetime_parsing", "timestamp__gte must be an ISO 8601 date-time");
        else q.has_ts_gte = 1;
    }
    if ((s = http_query(req, "timestamp__lte"))) {
        if (iso8601_parse(s, &q.ts_lte) < 0) problems_add(&p, "timestamp__lte", "datetime_parsing", "timestamp__lte must be an ISO 8601 date-time");
        else q.has_ts_lte = 1;
    }
    if (p.total) {
        api_validation_error(r, &p, "query");
        return;
    }
    char *list = store_feedback_list(a->store, &q);
    if (!list) {
        api_error(r, 503, "store_unavailable", "could not read the feedback store", NULL);
        r->retry_after = 5;
        return;
    }
    r->status = 200;
    buf_puts(&r->body, list);
    free(list);
}

void h_variant_history(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    int found = 0;
    char *h = store_variant_history(a->store, param, &found);
    if (found == 1 && h) {
        r->status = 200;
        buf_puts(&r->body, h);
    } else if (found < 0) {
        api_error(r, 503, "store_unavailable", "could not read the store", NULL);
        r->retry_after = 5;
    } else {
        api_error(r, 404, "not_found", "No se encontró historial para ese variant_id", "variant_id");
    }
    free(h);
}

void h_optimization_results(api_t *a, http_request_t *req, http_response_t *r, const char *param) {
    (void)req;
    int found = 0;
    char *o = store_optimization_get(a->store, param, &found);
    if (found == 1 && o) {
        r->status = 200;
        buf_puts(&r->body, o);
    } else if (found < 0) {
        api_error(r, 503, "store_unavailable", "could not read the store", NULL);
        r->retry_after = 5;
    } else {
        api_error(r, 404, "not_found", "No se encontraron resultados para ese tracking_id", "tracking_id");
    }
    free(o);
}
