/* server.h -- the HTTP layer: libmicrohttpd with an epoll thread pool.
 *
 * This module owns sockets, body accumulation and the limits that protect
 * the process (body size, header size, idle and slow connections). It knows
 * nothing about routes: each complete request is handed to one handler
 * callback (the api), which fills an http_response_t. The layer then sends
 * it, writes one log line (request id, method, route, status, duration) and
 * records the request in the metrics.
 *
 * Limits:
 *  - a Content-Length above max_body is answered 413 before any body byte is
 *    read; a chunked body that grows past it is answered 413 at that point;
 *  - request line + headers are bounded by MHD's per-connection memory pool
 *    (HTTP_CONN_MEMORY): larger ones are refused by MHD itself (431);
 *  - a connection idle for conn_timeout seconds is closed, so slow clients
 *    cost a socket and a few KiB each and never a worker thread. */
#ifndef COPYD_HTTP_SERVER_H
#define COPYD_HTTP_SERVER_H

#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"

/* Per-connection memory: request line, headers and read buffer. 32 KiB
 * takes headers far larger than browsers and clients send; MHD clears the
 * pool on every request, so a larger pool costs time on every request. */
#define HTTP_CONN_MEMORY (32 * 1024)

typedef struct http_request {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* URL path, percent-decoded, no query */
    const char *body;         /* NUL-terminated; NULL when there is none */
    size_t body_len;
    char request_id[17];      /* 16 hex chars, also sent as X-Request-Id */
    arena_t arena;            /* per-request memory, freed after the answer */
    void *conn;               /* the MHD connection (private to server.c) */
    /* Without a connection (fuzzers, unit tests), headers and query
     * arguments come from these NULL-terminated name, value, name, value...
     * arrays instead. */
    const char *const *local_headers;
    const char *const *local_query;
} http_request_t;

/* Header and query-string lookups (case-insensitive header names). NULL
 * when absent. The strings live as long as the request. */
const char *http_header(const http_request_t *r, const char *name);
const char *http_query(const http_request_t *r, const char *name);

typedef struct http_response {
    int status;               /* 0 = 500 */
    const char *content_type; /* static string; default application/json */
    buf_t body;
    int retry_after;          /* > 0 adds Retry-After: N */
    int close;                /* close the connection after the answer */
    const char *route;        /* route pattern for logs and metrics */
    char log_note[128];       /* extra text for the log line (never secrets) */
} http_response_t;

typedef void (*http_handler_fn)(void *ud, http_request_t *req, http_response_t *resp);

typedef struct http_options {
    const char *host;         /* "0.0.0.0", "127.0.0.1", "::" ... */
    int port;                 /* 0 = any free port (see http_server_port) */
    int threads;
    int conn_timeout;         /* seconds */
    int max_connections;
    size_t max_body;          /* bytes */
} http_options_t;

typedef struct http_server http_server_t;

/* Binds and starts serving. NULL with a reason in `err` on failure. */
http_server_t *http_server_start(const http_options_t *opt, http_handler_fn fn, void *ud,
                                 char *err, size_t errsz);
int http_server_port(const http_server_t *s);
/* Stops accepting new connections; requests already read go on. */
void http_server_quiesce(http_server_t *s);
/* Requests being handled right now. */
unsigned http_server_inflight(const http_server_t *s);
/* Closes every connection and frees the server. */
void http_server_stop(http_server_t *s);

#endif
