/* api.h -- the copywriting API: routes of SPEC section 1 under /copywriting.
 *
 * api_t is the server's application state: configuration, engines, cache,
 * store, job queue and rate limiter. api_handle() is the single handler
 * the HTTP layer calls for every request; it matches the route, checks the
 * key, content type and body, and answers JSON (or Prometheus text).
 *
 * The same generation pipeline (cache, then engines, then cache write and
 * result store) serves /v11/generate, /v11/batch-generate, /generate, the
 * legacy job queue and `copyd generate`. */
#ifndef COPYD_API_API_H
#define COPYD_API_API_H

#include <stddef.h>

#include "core/config.h"
#include "http/server.h"

typedef struct api api_t;

/* Loads engines, opens the store and the cache, starts the job workers.
 * NULL with a reason in `err` when something essential cannot start. */
api_t *api_create(const config_t *cfg, char *err, size_t errsz);
void api_handle(void *api, http_request_t *req, http_response_t *resp);
/* Finishes running jobs (queued ones stay in the store) and frees all. */
void api_destroy(api_t *api);

/* `copyd generate`: one brief (JSON text) -> output JSON (malloc'd) with
 * exit status 0, or an error JSON with the HTTP status it would get. */
char *api_generate_text(api_t *api, const char *json, size_t len, int *status);

#endif
