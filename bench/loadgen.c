/* loadgen.c -- a closed-loop HTTP/1.1 load generator for copyd's benchmarks.
 *
 * N keep-alive connections to 127.0.0.1, one request in flight on each (no
 * pipelining): as soon as a response is complete the connection sends the
 * next request. One thread, one epoll set, so the client takes as little of
 * the CPU it shares with the server as it can.
 *
 * Two modes:
 *   miss  every request carries a different brief (product_description ends
 *         with a per-run nonce and a counter), so every one is a cache miss
 *         and runs the engine end to end;
 *   hit   every request carries the same brief, so all but the first are
 *         cache hits.
 * Each answer is read whole (Content-Length or chunked), its status checked
 * (200 expected) and its "cache_hit" member read, so the run can prove that
 * it measured what it says it measured.
 *
 * Latency is measured client-side per request, from the first byte written
 * to the last byte read, into a fixed histogram (1 us steps up to 1 s, 1 ms
 * steps up to 120 s): memory stays bounded whatever the run length.
 *
 * Everything is bounded: --duration (wall clock of the measured phase),
 * --requests (count), --timeout-ms (per request), and a hard stop at
 * warm-up + duration + timeout whatever happens.
 *
 * Output: human lines on stderr, and "key=value" lines on stdout (one per
 * figure) that bench/run.sh reads. Exit 0 when the run completed (even with
 * errors: the caller judges them), 2 on bad usage or when nothing could
 * connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define FINE_US 1000000u  /* 1 us buckets below 1 s */
#define COARSE_MS 120000u /* then 1 ms buckets up to 120 s */
#define MAX_RESPONSE (8u << 20)

typedef struct options {
    const char *host;
    int port;
    const char *path;
    const char *api_key;
    int connections;
    double duration;
    double warmup;
    long long requests; /* 0 = no count limit */
    int timeout_ms;
    int hit_mode;
    int quiet;
} options_t;

typedef struct growbuf {
    char *p;
    size_t len, cap;
} growbuf_t;

enum conn_state { C_IDLE, C_CONNECTING, C_SENDING, C_READING, C_BACKOFF };

typedef struct conn {
    int fd;
    enum conn_state state;
    growbuf_t out;      /* request bytes */
    size_t out_off;     /* bytes of `out` already written */
    growbuf_t in;       /* response bytes read so far */
    growbuf_t body;     /* decoded body of a chunked answer */
    double t_start;     /* when the first byte of the request was written */
    double backoff_til; /* C_BACKOFF: reconnect after this time */
    int counted;        /* request started inside the measured window */
} conn_t;

typedef struct stats {
    uint32_t *fine;   /* FINE_US buckets */
    uint32_t *coarse; /* COARSE_MS buckets */
    unsigned long long over;
    unsigned long long n;        /* measured responses (200 and not) */
    unsigned long long ok;       /* status 200 */
    unsigned long long errors;   /* non-200, malformed, reset, timeout */
    unsigned long long timeouts; /* part of errors */
    unsigned long long conn_errors;
    unsigned long long hits, misses, unknown;
    double sum_ms, max_ms;
    unsigned long long issued_total, done_total; /* all phases */
    int shown_errors;
} stats_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gb_reserve(growbuf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int gb_append(growbuf_t *b, const char *s, size_t n) {
    if (gb_reserve(b, n)) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: loadgen --port P [OPTIONS]\n\n"
            "Closed-loop HTTP/1.1 load against copyd's POST /copywriting/v11/generate on 127.0.0.1.\n\n"
            "  --port P            server port (required)\n"
            "  --host ADDR         a loopback IPv4 address (default 127.0.0.1; others refused)\n"
            "  --path PATH         default /copywriting/v11/generate\n"
            "  --api-key K         sent as X-API-Key\n"
            "  --connections N     keep-alive connections, one request in flight each (default 16, 1..%d)\n"
            "  --duration S        measured seconds (default 10, 0.1..600)\n"
            "  --warmup S          seconds run first and not counted (default 1, 0..60)\n"
            "  --requests N        stop after N measured requests (default: duration only)\n"
            "  --timeout-ms MS     per-request timeout, counted as an error (default 2000)\n"
            "  --mode miss|hit     miss: every brief distinct (default); hit: the same brief each time\n"
            "  --quiet             no human summary on stderr\n"
            "  --help              this text\n\n"
            "Prints key=value lines on stdout: requests, rps, mean_ms, p50_ms, p95_ms, p99_ms,\n"
            "max_ms, errors, timeouts, conn_errors, cache_hits, cache_misses, cache_unknown,\n"
            "hit_share.\n",
            MAX_CONNS);
}

static int parse_num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Returns 0, 1 after --help, -1 on bad usage (message printed). */
static int parse_args(int argc, char **argv, options_t *o) {
    *o = (options_t){.host = "127.0.0.1", .port = 0, .path = "/copywriting/v11/generate", .api_key = NULL,
                     .connections = 16, .duration = 10, .warmup = 1, .requests = 0, .timeout_ms = 2000};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "loadgen: %s needs a value (or is unknown); see --help\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double d;
        if (!strcmp(a, "--port")) {
            if (parse_num(v, 1, 65535, &d)) goto bad;
            o->port = (int)d;
        } else if (!strcmp(a, "--host")) {
            o->host = v;
        } else if (!strcmp(a, "--path")) {
            if (v[0] != '/' || strpbrk(v, " \r\n")) goto bad;
            o->path = v;
        } else if (!strcmp(a, "--api-key")) {
            if (strpbrk(v, "\r\n")) goto bad;
            o->api_key = v;
        } else if (!strcmp(a, "--connections")) {
            if (parse_num(v, 1, MAX_CONNS, &d)) goto bad;
            o->connections = (int)d;
        } else if (!strcmp(a, "--duration")) {
            if (parse_num(v, 0.1, 600, &o->duration)) goto bad;
        } else if (!strcmp(a, "--warmup")) {
            if (parse_num(v, 0, 60, &o->warmup)) goto bad;
        } else if (!strcmp(a, "--requests")) {
            if (parse_num(v, 1, 1e12, &d)) goto bad;
            o->requests = (long long)d;
        } else if (!strcmp(a, "--timeout-ms")) {
            if (parse_num(v, 1, 600000, &d)) goto bad;
            o->timeout_ms = (int)d;
        } else if (!strcmp(a, "--mode")) {
            if (!strcmp(v, "hit")) o->hit_mode = 1;
            else if (!strcmp(v, "miss")) o->hit_mode = 0;
            else goto bad;
        } else {
            fprintf(stderr, "loadgen: unknown option %s; see --help\n", a);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "loadgen: bad value '%s' for %s; see --help\n", v, a);
        return -1;
    }
    if (!o->port) {
        fprintf(stderr, "loadgen: --port is required; see --help\n");
        return -1;
    }
    return 0;
}

/* ---- requests ---------------------------------------------------------- */

static unsigned long long g_counter;
static unsigned long long g_nonce;

/* Fills c->out with the next request. In miss mode the description carries
 * a nonce (distinct per run, so a second run against the same server still
 * misses) and a counter (distinct per request). */
static int build_request(conn_t *c, const options_t *o) {
    char body[512];
    int blen;
    if (o->hit_mode)
        blen = snprintf(body, sizeof body,
                        "{\"product_description\":\"Zapatos deportivos\",\"target_platform\":\"instagram\","
                        "\"tone\":\"casual\",\"key_points\":[\"Comodidad\"],\"language\":\"es\"}");
    else
        blen = snprintf(body, sizeof body,
                        "{\"product_description\":\"Zapatos deportivos %llx-%llu\",\"target_platform\":"
                        "\"instagram\",\"tone\":\"casual\",\"key_points\":[\"Comodidad\"],\"language\":\"es\"}",
                        g_nonce, g_counter++);
    if (blen < 0 || (size_t)blen >= sizeof body) return -1;
    char head[1024];
    int hlen = snprintf(head, sizeof head,
                        "POST %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sContent-Type: application/json\r\n"
                        "Accept: application/json\r\nContent-Length: %d\r\n\r\n",
                        o->path, o->host, o->port, o->api_key ? "X-API-Key: " : "", o->api_key ? o->api_key : "",
                        o->api_key ? "\r\n" : "", blen);
    if (hlen < 0 || (size_t)hlen >= sizeof head) return -1;
    c->out.len = 0;
    c->out_off = 0;
    if (gb_append(&c->out, head, (size_t)hlen) || gb_append(&c->out, body, (size_t)blen)) return -1;
    return 0;
}

/* ---- response parsing -------------------------------------------------- */

/* Case-insensitive search for a header line "name:" inside [h, end); returns
 * the value (leading blanks skipped) or NULL. */
static const char *find_header(const char *h, const char *end, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *p = h;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Decodes a chunked body starting at `p` (n bytes available). Returns the
 * bytes consumed when complete (decoded body in `out`), 0 when more bytes
 * are needed, -1 when malformed. */
static long decode_chunked(const char *p, size_t n, growbuf_t *out) {
    size_t off = 0;
    out->len = 0;
    for (;;) {
        const char *eol = memmem(p + off, n - off, "\r\n", 2);
        if (!eol) return n - off > 64 ? -1 : 0;
        char *end;
        errno = 0;
        unsigned long sz = strtoul(p + off, &end, 16);
        if (end == p + off || errno || sz > MAX_RESPONSE) return -1;
        if (*end != '\r' && *end != ';' && *end != ' ') return -1;
        off = (size_t)(eol - p) + 2;
        if (sz == 0) {
            /* trailers, then an empty line */
            for (;;) {
                const char *tl = memmem(p + off, n - off, "\r\n", 2);
                if (!tl) return 0;
                size_t l = (size_t)(tl - (p + off));
                off += l + 2;
                if (l == 0) return (long)off;
            }
        }
        if (n - off < sz + 2) return 0;
        if (p[off + sz] != '\r' || p[off + sz + 1] != '\n') return -1;
        if (gb_append(out, p + off, sz)) return -1;
        off += sz + 2;
    }
}

/* Reads "cache_hit": true/false from a JSON body: 1, 0, or -1 when absent. */
static int read_cache_hit(const char *b, size_t n) {
    const char *k = memmem(b, n, "\"cache_hit\"", 11);
    if (!k) return -1;
    const char *p = k + 11, *e = b + n;
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (p >= e || *p != ':') return -1;
    p++;
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if ((size_t)(e - p) >= 4 && !memcmp(p, "true", 4)) return 1;
    if ((size_t)(e - p) >= 5 && !memcmp(p, "false", 5)) return 0;
    return -1;
}

typedef struct parsed {
    int status;
    int close_after; /* Connection: close */
    int cache_hit;   /* 1, 0, -1 */
    const char *body;
    size_t body_len;
} parsed_t;

/* Tries to parse one whole response from c->in. Returns 1 when complete,
 * 0 when more bytes are needed, -1 when malformed. `eof` says the peer
 * closed (which ends a body that has no length). */
static int parse_response(conn_t *c, int eof, parsed_t *r) {
    const char *p = c->in.p;
    size_t n = c->in.len;
    if (!p) return eof ? -1 : 0;
    const char *hend = memmem(p, n, "\r\n\r\n", 4);
    if (!hend) return (n > 65536 || eof) ? -1 : 0;
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') return -1;
    int status = atoi(p + 9);
    if (status < 100 || status > 599) return -1;
    const char *first_eol = memmem(p, n, "\r\n", 2);
    const char *hs = first_eol + 2, *he = hend + 2; /* header lines incl. last CRLF */
    size_t hlen = (size_t)(hend - p) + 4;
    size_t vlen;
    const char *v;
    r->status = status;
    r->close_after = 0;
    if ((v = find_header(hs, he, "Connection", &vlen)) && vlen == 5 && !strncasecmp(v, "close", 5))
        r->close_after = 1;
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        r->body = p + hlen;
        r->body_len = 0;
        if (n != hlen) return -1; /* no pipelining: nothing may follow */
        r->cache_hit = -1;
        return 1;
    }
    if ((v = find_header(hs, he, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
        !strncasecmp(v + vlen - 7, "chunked", 7)) {
        long used = decode_chunked(p + hlen, n - hlen, &c->body);
        if (used < 0) return -1;
        if (used == 0) return eof ? -1 : 0;
        if (hlen + (size_t)used != n) return -1;
        r->body = c->body.p ? c->body.p : "";
        r->body_len = c->body.len;
    } else if ((v = find_header(hs, he, "Content-Length", &vlen))) {
        char num[32];
        if (vlen == 0 || vlen >= sizeof num) return -1;
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        char *end;
        errno = 0;
        unsigned long long cl = strtoull(num, &end, 10);
        if (*end || errno || cl > MAX_RESPONSE) return -1;
        if (n < hlen + cl) return eof ? -1 : 0;
        if (n > hlen + cl) return -1; /* bytes nobody asked for */
        r->body = p + hlen;
        r->body_len = (size_t)cl;
    } else {
        /* No length: the body ends when the server closes. */
        if (!eof) return n > MAX_RESPONSE ? -1 : 0;
        r->body = p + hlen;
        r->body_len = n - hlen;
        r->close_after = 1;
    }
    r->cache_hit = read_cache_hit(r->body, r->body_len);
    return 1;
}

/* ---- histogram --------------------------------------------------------- */

static void record(stats_t *s, double ms) {
    double us = ms * 1000.0;
    if (us < 0) us = 0;
    if (us < FINE_US) s->fine[(uint32_t)us]++;
    else if (ms < COARSE_MS) s->coarse[(uint32_t)ms]++;
    else s->over++;
    s->sum_ms += ms;
    if (ms > s->max_ms) s->max_ms = ms;
}

/* The latency (ms) below which a share q of the recorded requests lie. */
static double percentile(const stats_t *s, double q) {
    unsigned long long total = 0;
    for (uint32_t i = 0; i < FINE_US; i++) total += s->fine[i];
    for (uint32_t i = 0; i < COARSE_MS; i++) total += s->coarse[i];
    total += s->over;
    if (!total) return 0;
    unsigned long long rank = (unsigned long long)(q * (double)total + 0.999999);
    if (rank < 1) rank = 1;
    unsigned long long cum = 0;
    for (uint32_t i = 0; i < FINE_US; i++) {
        cum += s->fine[i];
        if (cum >= rank) return (i + 0.5) / 1000.0;
    }
    for (uint32_t i = 1000; i < COARSE_MS; i++) {
        cum += s->coarse[i];
        if (cum >= rank) return i + 0.5;
    }
    return s->max_ms;
}

/* ---- connections ------------------------------------------------------- */

static struct sockaddr_in g_addr;
static int g_ep = -1;

static void conn_close(conn_t *c) {
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_IDLE;
    c->in.len = 0;
}

static int conn_open(conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    int rc = connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        c->fd = -1;
        return -1;
    }
    c->state = C_CONNECTING;
    return 0;
}

static void set_events(conn_t *c, uint32_t events) {
    struct epoll_event ev = {.events = events | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the request; 0 done, 1 would block, -1 error. */
static int conn_flush(conn_t *c) {
    while (c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        return -1;
    }
    return 0;
}

typedef struct run {
    options_t *o;
    stats_t *s;
    conn_t *conns;
    double t_measure; /* end of warm-up */
    double t_end;     /* end of the measured phase */
    double t_last;    /* last measured completion */
    unsigned long long measured_started;
    int stop_issuing;
} run_t;

static void show_error(stats_t *s, const char *what, const conn_t *c) {
    if (s->shown_errors >= 3) return;
    s->shown_errors++;
    char snippet[201] = "";
    if (c && c->in.p) {
        size_t k = c->in.len < 200 ? c->in.len : 200;
        for (size_t i = 0; i < k; i++) snippet[i] = (c->in.p[i] == '\r' || c->in.p[i] == '\n') ? ' ' : c->in.p[i];
        snippet[k] = '\0';
    }
    fprintf(stderr, "loadgen: error: %s%s%s\n", what, snippet[0] ? ": " : "", snippet);
}

/* Starts the next request on an open, idle connection, or leaves it idle
 * when the run stops issuing. */
static void fail_request(run_t *r, conn_t *c, const char *why, int timeout);

static void start_request(run_t *r, conn_t *c) {
    double t = now_s();
    if (r->stop_issuing || t >= r->t_end ||
        (r->o->requests && r->measured_started >= (unsigned long long)r->o->requests)) {
        r->stop_issuing = 1;
        c->state = C_IDLE;
        return;
    }
    if (build_request(c, r->o)) {
        show_error(r->s, "cannot build a request", NULL);
        r->stop_issuing = 1;
        return;
    }
    c->in.len = 0;
    c->t_start = t;
    c->counted = t >= r->t_measure;
    if (c->counted) r->measured_started++;
    r->s->issued_total++;
    c->state = C_SENDING;
    int f = conn_flush(c);
    if (f < 0) {
        fail_request(r, c, "send failed", 0);
        return;
    }
    if (f == 0) {
        c->state = C_READING;
        set_events(c, EPOLLIN);
    } else {
        set_events(c, EPOLLOUT | EPOLLIN);
    }
}

/* A request failed (reset, timeout, malformed answer): count it when it is
 * measured, close, and reconnect after a short pause so a dead server
 * cannot make this loop spin. */
static void fail_request(run_t *r, conn_t *c, const char *why, int timeout) {
    double t = now_s();
    /* A measured request that fails is an error even when it fails after
     * the window closed (a timeout usually does). */
    if (c->counted) {
        r->s->n++;
        r->s->errors++;
        if (timeout) r->s->timeouts++;
        record(r->s, (t - c->t_start) * 1000.0);
    }
    show_error(r->s, why, c);
    conn_close(c);
    c->state = C_BACKOFF;
    c->backoff_til = t + 0.01;
}

static void complete_request(run_t *r, conn_t *c, const parsed_t *p) {
    double t = now_s();
    r->s->done_total++;
    if (c->counted && t <= r->t_end) {
        stats_t *s = r->s;
        s->n++;
        record(s, (t - c->t_start) * 1000.0);
        r->t_last = t;
        if (p->status == 200) {
            s->ok++;
            if (p->cache_hit == 1) s->hits++;
            else if (p->cache_hit == 0) s->misses++;
            else s->unknown++;
        } else {
            s->errors++;
            char what[64];
            snprintf(what, sizeof what, "HTTP status %d", p->status);
            show_error(s, what, c);
        }
    }
    c->in.len = 0;
    if (p->close_after) {
        conn_close(c);
        if (conn_open(c) < 0) {
            r->s->conn_errors++;
            c->state = C_BACKOFF;
            c->backoff_til = t + 0.01;
        }
        return;
    }
    start_request(r, c);
}

static void on_readable(run_t *r, conn_t *c) {
    for (;;) {
        if (gb_reserve(&c->in, 16384)) {
            fail_request(r, c, "out of memory", 0);
            return;
        }
        ssize_t got = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
        if (got > 0) {
            c->in.len += (size_t)got;
            c->in.p[c->in.len] = '\0';
            if (c->in.len > MAX_RESPONSE) {
                fail_request(r, c, "response too large", 0);
                return;
            }
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        int eof = got == 0;
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            fail_request(r, c, "connection reset", 0);
            return;
        }
        if (c->state != C_READING && c->state != C_SENDING) {
            /* Bytes or a close on a connection with nothing in flight: the
             * server closed an idle keep-alive connection; reopen it. */
            conn_close(c);
            if (!r->stop_issuing && conn_open(c) < 0) {
                r->s->conn_errors++;
                c->state = C_BACKOFF;
                c->backoff_til = now_s() + 0.01;
            }
            return;
        }
        parsed_t p;
        int pr = parse_response(c, eof, &p);
        if (pr < 0) {
            fail_request(r, c, eof ? "connection closed mid-response" : "malformed response", 0);
            return;
        }
        if (pr == 1) complete_request(r, c, &p);
        return;
    }
}

static void on_event(run_t *r, conn_t *c, uint32_t ev) {
    if (c->fd < 0) return;
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            r->s->conn_errors++;
            if (r->s->conn_errors <= 3) fprintf(stderr, "loadgen: connect: %s\n", strerror(err ? err : ECONNREFUSED));
            conn_close(c);
            c->state = C_BACKOFF;
            c->backoff_til = now_s() + 0.05;
            return;
        }
        if (!(ev & EPOLLOUT)) return;
        c->state = C_IDLE;
        start_request(r, c);
        return;
    }
    if (c->state == C_SENDING && (ev & EPOLLOUT)) {
        int f = conn_flush(c);
        if (f < 0) {
            fail_request(r, c, "send failed", 0);
            return;
        }
        if (f == 0) {
            c->state = C_READING;
            set_events(c, EPOLLIN);
        }
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(r, c);
}

int main(int argc, char **argv) {
    options_t o;
    int pa = parse_args(argc, argv, &o);
    if (pa) return pa > 0 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);

    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)o.port);
    if (inet_pton(AF_INET, o.host, &g_addr.sin_addr) != 1 || (ntohl(g_addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: --host must be a loopback IPv4 address (127.x.x.x), not '%s'\n", o.host);
        return 2;
    }

    stats_t s = {0};
    s.fine = calloc(FINE_US, sizeof *s.fine);
    s.coarse = calloc(COARSE_MS, sizeof *s.coarse);
    conn_t *conns = calloc((size_t)o.connections, sizeof *conns);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (!s.fine || !s.coarse || !conns || g_ep < 0) {
        fprintf(stderr, "loadgen: out of memory or no epoll\n");
        return 2;
    }
    g_nonce = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^
              (unsigned long long)(now_s() * 1e9);

    double t0 = now_s();
    run_t r = {.o = &o, .s = &s, .conns = conns};
    r.t_measure = t0 + o.warmup;
    r.t_end = r.t_measure + o.duration;
    double hard_stop = r.t_end + o.timeout_ms / 1000.0 + 1.0;

    for (int i = 0; i < o.connections; i++) {
        conns[i].fd = -1;
        if (conn_open(&conns[i]) < 0) {
            fprintf(stderr, "loadgen: cannot open a socket: %s\n", strerror(errno));
            return 2;
        }
    }

    struct epoll_event evs[256];
    double last_scan = t0;
    for (;;) {
        double t = now_s();
        if (t >= hard_stop) break;
        if (t >= r.t_end) r.stop_issuing = 1;
        /* Done when nothing is in flight and nothing more will be sent. */
        if (r.stop_issuing) {
            int busy = 0;
            for (int i = 0; i < o.connections; i++)
                if (conns[i].state == C_SENDING || conns[i].state == C_READING) busy = 1;
            if (!busy) break;
        }
        int n = epoll_wait(g_ep, evs, 256, 5);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) on_event(&r, evs[i].data.ptr, evs[i].events);
        t = now_s();
        if (t - last_scan >= 0.005) {
            last_scan = t;
            for (int i = 0; i < o.connections; i++) {
                conn_t *c = &conns[i];
                if ((c->state == C_SENDING || c->state == C_READING) && (t - c->t_start) * 1000.0 > o.timeout_ms) {
                    fail_request(&r, c, "request timed out", 1);
                } else if (c->state == C_BACKOFF && t >= c->backoff_til && !r.stop_issuing) {
                    if (conn_open(c) < 0) {
                        s.conn_errors++;
                        c->backoff_til = t + 0.05;
                    }
                }
            }
        }
        /* In a count-limited run, stop the clock at the last answer. */
        if (o.requests && r.measured_started >= (unsigned long long)o.requests) r.stop_issuing = 1;
    }

    /* The measured window: warm-up end to duration end, or to the last
     * answer of a count-limited run that finished early. */
    double window = o.duration;
    if (o.requests && r.t_last > r.t_measure && r.t_last < r.t_end) window = r.t_last - r.t_measure;
    if (s.n == 0 && s.conn_errors > 0 && s.done_total == 0) {
        fprintf(stderr, "loadgen: no request completed (could not connect to %s:%d)\n", o.host, o.port);
        return 2;
    }
    double rps = window > 0 ? (double)s.ok / window : 0;
    double p50 = percentile(&s, 0.50), p95 = percentile(&s, 0.95), p99 = percentile(&s, 0.99);
    double mean = s.n ? s.sum_ms / (double)s.n : 0;
    double hit_share = (s.hits + s.misses + s.unknown) ? (double)s.hits / (double)(s.hits + s.misses + s.unknown) : 0;

    printf("mode=%s\nconnections=%d\nwindow_s=%.3f\nrequests=%llu\nok=%llu\nrps=%.1f\n", o.hit_mode ? "hit" : "miss",
           o.connections, window, s.n, s.ok, rps);
    printf("mean_ms=%.3f\np50_ms=%.3f\np95_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n", mean, p50, p95, p99, s.max_ms);
    printf("errors=%llu\ntimeouts=%llu\nconn_errors=%llu\ncache_hits=%llu\ncache_misses=%llu\ncache_unknown=%llu\n"
           "hit_share=%.4f\n",
           s.errors, s.timeouts, s.conn_errors, s.hits, s.misses, s.unknown, hit_share);
    if (!o.quiet)
        fprintf(stderr,
                "loadgen: %s mode, %d connections, %.2f s measured: %llu answers (%llu ok), %.0f req/s; "
                "latency ms mean %.3f p50 %.3f p95 %.3f p99 %.3f max %.3f; errors %llu (timeouts %llu), "
                "connect errors %llu; cache hits %llu, misses %llu, unknown %llu\n",
                o.hit_mode ? "hit" : "miss", o.connections, window, s.n, s.ok, rps, mean, p50, p95, p99, s.max_ms,
                s.errors, s.timeouts, s.conn_errors, s.hits, s.misses, s.unknown);

    for (int i = 0; i < o.connections; i++) {
        if (conns[i].fd >= 0) close(conns[i].fd);
        free(conns[i].out.p);
        free(conns[i].in.p);
        free(conns[i].body.p);
    }
    free(conns);
    free(s.fine);
    free(s.coarse);
    close(g_ep);
    return 0;
}
