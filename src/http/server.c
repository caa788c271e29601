#include "http/server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "stats/metrics.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn fn;
    void *ud;
    size_t max_body;
    int port;
    atomic_uint inflight;
    atomic_ulong next_id;
    unsigned id_prefix; /* random per process: ids stay unique across restarts */
};

/* State of one request, from its first header to its completion. */
typedef struct req_ctx {
    http_request_t req;
    buf_t body;
    double t0;
    int answered;     /* a response was queued early (413) */
    int too_large;    /* the body passed max_body: the rest is dropped */
    size_t discarded; /* bytes dropped since */
} req_ctx_t;

static const char *local_lookup(const char *const *pairs, const char *name, int nocase) {
    for (; pairs && pairs[0] && pairs[1]; pairs += 2)
        if (nocase ? strcasecmp(pairs[0], name) == 0 : strcmp(pairs[0], name) == 0) return pairs[1];
    return NULL;
}

const char *http_header(const http_request_t *r, const char *name) {
    if (!r->conn) return local_lookup(r->local_headers, name, 1);
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const http_request_t *r, const char *name) {
    if (!r->conn) return local_lookup(r->local_query, name, 0);
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Sends `resp`, logs the request and records its metrics. */
static enum MHD_Result send_response(req_ctx_t *ctx, http_response_t *resp) {
    struct MHD_Connection *conn = ctx->req.conn;
    if (resp->status == 0) resp->status = 500;
    size_t len = 0;
    char *body = buf_detach(&resp->body, &len);
    if (!body) { /* out of memory while building the answer */
        resp->status = 500;
        body = strdup("{\"detail\":\"out of memory\",\"error\":{\"code\":\"internal_error\",\"message\":\"out of memory\",\"field\":null}}");
        len = body ? strlen(body) : 0;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!r) { free(body); return MHD_NO; }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "X-Request-Id", ctx->req.request_id);
    if (resp->close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (resp->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);

    double dt = now_mono() - ctx->t0;
    const char *route = resp->route ? resp->route : "unmatched";
    metrics_http(route, ctx->req.method, resp->status, dt);
    log_msg(resp->status >= 500 ? LOG_ERROR : LOG_INFO,
            "request id=%s method=%s path=%s route=%s status=%d duration_ms=%.3f%s%s",
            ctx->req.request_id, ctx->req.method, ctx->req.path, route, resp->status, dt * 1e3,
            resp->log_note[0] ? " " : "", resp->log_note);
    return ret;
}

static void error_413(http_response_t *resp, size_t max_body) {
    char msg[128];
    snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes", max_body);
    resp->status = 413;
    buf_puts(&resp->body, "{\"detail\":");
    buf_json_str(&resp->body, msg);
    buf_puts(&resp->body, ",\"error\":{\"code\":\"payload_too_large\",\"message\":");
    buf_json_str(&resp->body, msg);
    buf_puts(&resp->body, ",\"field\":null}}");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    http_server_t *s = cls;
    req_ctx_t *ctx = *con_cls;

    if (!ctx) { /* headers are in: set up the request, check the announced size */
        ctx = calloc(1, sizeof *ctx);
        if (!ctx) return MHD_NO;
        *con_cls = ctx;
        atomic_fetch_add(&s->inflight, 1);
        ctx->t0 = now_mono();
        ctx->req.method = method;
        ctx->req.path = url;
        ctx->req.conn = conn;
        unsigned long n = atomic_fetch_add(&s->next_id, 1);
        snprintf(ctx->req.request_id, sizeof ctx->req.request_id, "%08x%08lx", s->id_prefix,
                 n & 0xFFFFFFFFUL);
        /* Only plain chunked bodies are read: a stack of codings ("gzip,
         * chunked") is refused, as RFC 9112 asks, instead of being read as
         * something it is not. */
        const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (te && strcasecmp(te, "chunked") != 0) {
            http_response_t resp = {0};
            resp.route = "unmatched";
            resp.status = 501;
            resp.close = 1;
            buf_puts(&resp.body, "{\"detail\":\"unsupported Transfer-Encoding: only chunked is accepted\","
                                 "\"error\":{\"code\":\"unsupported_transfer_encoding\",\"message\":"
                                 "\"unsupported Transfer-Encoding: only chunked is accepted\",\"field\":null}}");
            ctx->answered = 1;
            return send_response(ctx, &resp);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (*end == '\0' && v > s->max_body) {
                http_response_t resp = {0};
                resp.route = "unmatched";
                error_413(&resp, s->max_body);
                ctx->answered = 1;
                return send_response(ctx, &resp);
            }
        }
        return MHD_YES;
    }

    if (ctx->answered) { /* discard what still arrives after an early answer */
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        size_t got = *upload_data_size;
        *upload_data_size = 0;
        if (ctx->too_large || ctx->body.len + got > s->max_body) {
            /* A chunked body past the limit: its memory is freed and the rest
             * is read and dropped, so the client is still there to read the
             * 413 (answering mid-upload would reset the connection under
             * it). A client that keeps streaming past 4x the limit is
             * answered at once and cut off. */
            if (!ctx->too_large) buf_free(&ctx->body);
            ctx->too_large = 1;
            ctx->discarded += got;
            if (ctx->discarded > 4 * s->max_body) {
                http_response_t resp = {0};
                resp.route = "unmatched";
                error_413(&resp, s->max_body);
                ctx->answered = 1;
                return send_response(ctx, &resp);
            }
            return MHD_YES;
        }
        buf_append(&ctx->body, upload_data, got);
        return MHD_YES;
    }

    if (ctx->too_large) {
        http_response_t resp = {0};
        resp.route = "unmatched";
        error_413(&resp, s->max_body);
        ctx->answered = 1;
        return send_response(ctx, &resp);
    }

    /* The whole request is here: hand it to the api. */
    if (ctx->body.len > 0) {
        ctx->req.body = ctx->body.p;
        ctx->req.body_len = ctx->body.len;
    }
    http_response_t resp = {0};
    s->fn(s->ud, &ctx->req, &resp);
    ctx->answered = 1;
    enum MHD_Result ret = send_response(ctx, &resp);
    buf_free(&resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    http_server_t *s = cls;
    req_ctx_t *ctx = *con_cls;
    if (!ctx) return;
    buf_free(&ctx->body);
    arena_free(&ctx->req.arena);
    free(ctx);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    log_debug("http: %s", msg);
}

http_server_t *http_server_start(const http_options_t *opt, http_handler_fn fn, void *ud,
                                 char *err, size_t errsz) {
    http_server_t *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errsz, "out of memory"); return NULL; }
    s->fn = fn;
    s->ud = ud;
    s->max_body = opt->max_body;
    s->id_prefix = (unsigned)rand_u64();
    atomic_init(&s->inflight, 0);
    atomic_init(&s->next_id, 1);

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", opt->port);
    int rc = getaddrinfo(opt->host && *opt->host ? opt->host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errsz, "cannot resolve host '%s': %s", opt->host, gai_strerror(rc));
        free(s);
        return NULL;
    }
    /* TURBO: read and write before asking epoll (sockets are non-blocking),
     * which saves a system call per request on busy keep-alive connections. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opt->port, NULL, NULL, &on_request, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opt->threads > 0 ? opt->threads : 1),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->conn_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_error, NULL,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errsz, "cannot listen on %s:%d (address in use, or not allowed)",
                 opt->host ? opt->host : "*", opt->port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opt->port;
    return s;
}

int http_server_port(const http_server_t *s) { return s->port; }

void http_server_quiesce(http_server_t *s) {
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

unsigned http_server_inflight(const http_server_t *s) {
    return atomic_load(&((http_server_t *)s)->inflight);
}

void http_server_stop(http_server_t *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
