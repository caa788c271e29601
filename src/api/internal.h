/* internal.h -- what the api's route files share. Not for other modules. */
#ifndef COPYD_API_INTERNAL_H
#define COPYD_API_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>

#include "api/api.h"
#include "api/brief.h"
#include "api/memo.h"
#include "api/ratelimit.h"
#include "cache/cache.h"
#include "copy/phrasebank.h"
#include "core/buf.h"
#include "core/config.h"
#include "engine/engines.h"
#include "http/server.h"
#include "store/jobs.h"
#include "store/store.h"

struct api {
    config_t cfg;              /* a copy: keys are owned here */
    engines_t *engines;
    engine_t *default_engine;
    cache_t *cache;
    store_t *store;
    jobs_t *jobs;
    ratelimit_t *rl;
    copy_data_t *copy_data;
    memo_t *memo;              /* request body -> cache key, for repeated bodies */    /* phrase banks and platform data, for the rewrite routes */
    /* knobs /v11/optimize may change while serving */
    atomic_int batch_size;
    atomic_int max_batch_size;
    atomic_int caching;        /* intelligent_caching: 0 skips the cache */
    double started_at;         /* wall clock */
};

/* ---- answers (errors.c) ------------------------------------------- */
/* {"detail": msg, "error": {"code", "message", "field"}} with `status`. */
void api_error(http_response_t *r, int status, const char *code, const char *message, const char *field);
/* 422 in FastAPI's list form, from the brief's problems. `where` is "body"
 * or "query"; `prefix` is prepended to every field path ("" usually). */
void api_validation_error(http_response_t *r, const brief_problems_t *p, const char *where);
/* 422 with one problem. */
void api_validation_one(http_response_t *r, const char *where, const char *field, const char *type,
                        const char *msg);
/* {"code","message","field"} object text, for batch items. */
void api_error_object(buf_t *out, const char *code, const char *message, const char *field);

/* ---- request helpers (api.c) --------------------------------------- */
/* 0 when the request carries an accepted key; otherwise answers 401. */
int api_require_key(api_t *a, http_request_t *req, http_response_t *r);
/* 0 when the Content-Type is JSON (or missing); otherwise answers 415. */
int api_check_content_type(http_request_t *req, http_response_t *r);
/* Checks content type and parses the body as strict JSON. 0 and *root, or
 * answers 415/400 and returns -1. */
int api_read_json(http_request_t *req, http_response_t *r, json_t **root);
/* Reads a batch body: a JSON array of at most max_batch_size items. NULL
 * when an error was answered; `too_large_fmt` words the 400 (with %d). */
json_t *api_read_batch(api_t *a, http_request_t *req, http_response_t *r, const char *too_large_fmt);
/* Resolves ?model_name= (default gpt2). 0 and the engine (NULL = default
 * order) or answers 400 and returns -1. */
int api_model_param(api_t *a, http_request_t *req, http_response_t *r, engine_t **engine,
                    const char **model);
/* Applies the per-key budget of `route`; answers 429 and returns -1 when spent. */
int api_rate_limit(api_t *a, http_request_t *req, http_response_t *r, const char *route);
/* Appends the sample of system stats as a JSON object. */
void api_system_stats(buf_t *out);

/* ---- the generation pipeline (generate.c) -------------------------- */
typedef struct gen_result {
    int status;                 /* 200, or the HTTP status of the error */
    char *output;               /* malloc'd output object (tracking_id and cache spliced in) */
    size_t output_len;
    int cache_hit;
    double seconds;
    char key[BRIEF_KEY_LEN];    /* the brief's cache key */
    char code[32], message[256], field[64];
} gen_result_t;

/* Generates every brief (cache first, engines in batches for the misses). */
void api_generate(api_t *a, const brief_t *const *briefs, size_t n, engine_t *engine, const char *model,
                  gen_result_t *out);
void gen_result_free(gen_result_t *g);
/* Answers one gen_result as an error response. */
void api_gen_error(http_response_t *r, const gen_result_t *g);

/* ---- route handlers ----------------------------------------------- */
typedef void (*route_fn)(api_t *a, http_request_t *req, http_response_t *r, const char *param);

void h_health(api_t *, http_request_t *, http_response_t *, const char *);
void h_performance(api_t *, http_request_t *, http_response_t *, const char *);
void h_metrics(api_t *, http_request_t *, http_response_t *, const char *);
void h_cache_clear(api_t *, http_request_t *, http_response_t *, const char *);
void h_cache_stats(api_t *, http_request_t *, http_response_t *, const char *);
void h_system_info(api_t *, http_request_t *, http_response_t *, const char *);
void h_optimize(api_t *, http_request_t *, http_response_t *, const char *);
void h_models(api_t *, http_request_t *, http_response_t *, const char *);

void h_v11_generate(api_t *, http_request_t *, http_response_t *, const char *);
void h_v11_batch(api_t *, http_request_t *, http_response_t *, const char *);
void h_generate(api_t *, http_request_t *, http_response_t *, const char *);
void h_rewrite(api_t *, http_request_t *, http_response_t *, const char *);

void h_batch_generate(api_t *, http_request_t *, http_response_t *, const char *);
void h_task_status(api_t *, http_request_t *, http_response_t *, const char *);
void h_batch_status(api_t *, http_request_t *, http_response_t *, const char *);
void h_feedback_post(api_t *, http_request_t *, http_response_t *, const char *);
void h_feedback_get(api_t *, http_request_t *, http_response_t *, const char *);
void h_variant_history(api_t *, http_request_t *, http_response_t *, const char *);
void h_optimization_results(api_t *, http_request_t *, http_response_t *, const char *);

/* The job callback of the legacy queue. */
int api_run_job(void *api, const char *payload, char **result, char **error);

/* json_dumps into a response body (compact); decrefs `v`. */
void api_send_json(http_response_t *r, int status, json_t *v);

#endif
