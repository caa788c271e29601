/* fuzz_route.c -- libFuzzer target for request routing and every handler.
 *
 * The input is read as a small request description:
 *   byte 0        method (GET, POST, PUT, DELETE, PATCH, HEAD)
 *   byte 1        flags: bit0 send a valid key, bit1 send a wrong key,
 *                 bit2 Content-Type text/plain, bit3 no Content-Type
 *   line 1        path (prefixed with /copywriting when bit4 is set)
 *   line 2        query string "a=b&c=d" (decoded pairs, no escaping)
 *   rest          body
 * and handed to api_handle() on a real api_t (template engine, SQLite store
 * in a temporary directory), exactly as the HTTP layer would. Any answer
 * is fine except a crash, a sanitizer report or a 500. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/log.h"
#include "stats/metrics.h"
#include "stats/sysstats.h"

static api_t *api;

static void init(void) {
    static char dir[] = "/tmp/copyd-fuzz-route-XXXXXX";
    if (!mkdtemp(dir)) abort();
    log_set_level(LOG_ERROR);
    metrics_init();
    sysstats_start(dir);
    config_t cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    const char *src = getenv("COPYD_SOURCE_DIR");
    if (src) snprintf(cfg.template_data, sizeof cfg.template_data, "%s/data", src);
    cfg.rate_limit = 1000000;
    cfg.job_workers = 1;
    char err[256];
    config_set_keys(&cfg, "fuzz-key", err, sizeof err);
    api = api_create(&cfg, err, sizeof err);
    config_free(&cfg);
    if (!api) {
        fprintf(stderr, "fuzz_route: %s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
    if (!api) init();
    if (size < 2) return 0;
    const char *method = methods[data[0] % 6];
    uint8_t flags = data[1];
    char *copy = malloc(size - 1);
    memcpy(copy, data + 2, size - 2);
    copy[size - 2] = '\0';
    size_t len = size - 2;

    char *path_end = memchr(copy, '\n', len);
    char *path = copy, *query = "", *body = "";
    size_t body_len = 0;
    if (path_end) {
        *path_end = '\0';
        query = path_end + 1;
        char *q_end = memchr(query, '\n', len - (size_t)(query - copy));
        if (q_end) {
            *q_end = '\0';
            body = q_end + 1;
            body_len = len - (size_t)(body - copy);
        }
    }
    char full_path[512];
    snprintf(full_path, sizeof full_path, "%s%.400s", (flags & 16) ? "/copywriting" : "", path);

    /* query "a=b&c=d" -> pairs (up to 8) */
    const char *qpairs[17] = {0};
    char qbuf[256];
    snprintf(qbuf, sizeof qbuf, "%s", query);
    size_t nq = 0;
    for (char *save = NULL, *tok = strtok_r(qbuf, "&", &save); tok && nq < 16; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        qpairs[nq++] = tok;
        qpairs[nq++] = eq + 1;
    }
    const char *hpairs[7] = {0};
    size_t nh = 0;
    if (flags & 1) hpairs[nh++] = "X-API-Key", hpairs[nh++] = "fuzz-key";
    else if (flags & 2) hpairs[nh++] = "X-API-Key", hpairs[nh++] = "fuzz-kez";
    if (flags & 4) hpairs[nh++] = "Content-Type", hpairs[nh++] = "text/plain";
    else if (!(flags & 8)) hpairs[nh++] = "Content-Type", hpairs[nh++] = "application/json";

    http_request_t req = {0};
    req.method = method;
    req.path = full_path;
    req.body = body_len ? body : NULL;
    req.body_len = body_len;
    snprintf(req.request_id, sizeof req.request_id, "fuzz");
    req.local_headers = hpairs;
    req.local_query = qpairs;
    http_response_t resp = {0};
    api_handle(api, &req, &resp);
    if (resp.status < 200 || resp.status > 599 || resp.status == 500) {
        fprintf(stderr, "fuzz_route: status %d for %s %s: %.300s\n", resp.status, method, full_path,
                resp.body.p ? resp.body.p : "");
        abort();
    }
    buf_free(&resp.body);
    arena_free(&req.arena);
    free(copy);
    return 0;
}
