/* rediscache.c -- Redis level of the cache, see rediscache.h.
 *
 * Threads and ownership:
 *  - the background thread owns `wctx` (its own connection) and is the
 *    only one that turns `up` back on, so reconnecting is never done by
 *    more than one thread and never on a request's time;
 *  - request threads borrow pool slots; a borrowed slot's connection is
 *    touched only by its borrower (the pool lock hands it over);
 *  - `up` and the counters are atomics, read without locks on the hot path.
 *
 * When any thread sees an error it calls mark_down(): `up` drops to 0 and
 * the generation counter moves on, so every pooled connection made before
 * the failure is thrown away instead of being tried again. */
#include "cache/rediscache.h"

#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POOL_SIZE 8          /* lookup connections; request threads beyond this wait briefly */
#define TIMEOUT_MS 200       /* connect and per-command timeout */
#define POOL_WAIT_S 0.2      /* longest a lookup waits for a free connection */
#define QUEUE_MAX 1024       /* queued writes; beyond this they are dropped */
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 5.0
#define IDLE_PING_S 1.0      /* health probe interval while idle and up */
#define SCAN_COUNT "500"

typedef struct wjob {
    struct wjob *next;
    size_t len;
    unsigned ttl;
    char *val;   /* points into key[] after the key's NUL */
    char key[];
} wjob_t;

typedef struct slot {
    redisContext *ctx;
    unsigned gen; /* generation the connection was made in */
    int busy;
} slot_t;

struct rediscache {
    redis_url_t url;

    atomic_int up;
    atomic_uint gen;
    atomic_uint_least64_t hits, misses, errors, reconnects, writes, writes_dropped;

    pthread_mutex_t err_lock;
    char last_error[128];

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    slot_t pool[POOL_SIZE];

    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;
    wjob_t *q_head, *q_tail;
    size_t q_len;
    int writing;          /* the writer holds a popped job: clear waits for it */
    int stop;
    int thread_started;
    pthread_t thread;
    redisContext *wctx; /* background thread's connection */
};

/* ---- small helpers ---- */

static void set_err(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...) {
    if (!err || !errsz) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static int cond_init_mono(pthread_cond_t *c) {
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

/* Waits on a CLOCK_MONOTONIC condition until `deadline` (now_mono() time). */
static int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, double deadline) {
    struct timespec ts;
    double whole = floor(deadline);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((deadline - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    return pthread_cond_timedwait(c, m, &ts);
}

static void record_error(rediscache_t *r, const char *msg) {
    atomic_fetch_add(&r->errors, 1);
    pthread_mutex_lock(&r->err_lock);
    snprintf(r->last_error, sizeof(r->last_error), "%s", msg);
    pthread_mutex_unlock(&r->err_lock);
}

/* Any failure lands here. Must be called without q_lock held. */
static void mark_down(rediscache_t *r, const char *msg) {
    record_error(r, msg);
    if (atomic_exchange(&r->up, 0)) {
        atomic_fetch_add(&r->gen, 1);
        log_warn("redis %s:%d down: %s (serving from memory, reconnecting in the background)",
                 r->url.host, r->url.port, msg);
        pthread_mutex_lock(&r->q_lock);
        pthread_cond_signal(&r->q_cond);
        pthread_mutex_unlock(&r->q_lock);
    }
}

/* Checks a reply; on failure writes the reason to err and frees the reply. */
static int reply_ok(redisContext *c, redisReply *rep, const char *what, char *err, size_t errsz) {
    if (!rep) {
        set_err(err, errsz, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
        return 0;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        set_err(err, errsz, "%s: %s", what, rep->str ? rep->str : "error");
        freeReplyObject(rep);
        return 0;
    }
    return 1;
}

/* One connection with timeouts, AUTH and SELECT done. NULL + err on failure. */
static redisContext *rc_connect(rediscache_t *r, char *err, size_t errsz) {
    struct timeval tv = {0, TIMEOUT_MS * 1000};
    redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port, tv);
    if (!c) {
        set_err(err, errsz, "connect: out of memory");
        return NULL;
    }
    if (c->err) {
        set_err(err, errsz, "connect %s:%d: %s", r->url.host, r->url.port, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        set_err(err, errsz, "set timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    redisReply *rep;
    if (r->url.password[0]) {
        if (r->url.user[0]) rep = redisCommand(c, "AUTH %s %s", r->url.user, r->url.password);
        else rep = redisCommand(c, "AUTH %s", r->url.password);
        if (!reply_ok(c, rep, "AUTH", err, errsz)) { redisFree(c); return NULL; }
        freeReplyObject(rep);
    }
    if (r->url.db != 0) {
        rep = redisCommand(c, "SELECT %d", r->url.db);
        if (!reply_ok(c, rep, "SELECT", err, errsz)) { redisFree(c); return NULL; }
        freeReplyObject(rep);
    }
    /* Without AUTH or SELECT nothing has been said yet: a PING proves the
     * server answers (a port that accepts but is not Redis fails here). */
    rep = redisCommand(c, "PING");
    if (!reply_ok(c, rep, "PING", err, errsz)) { redisFree(c); return NULL; }
    freeReplyObject(rep);
    return c;
}

/* ---- URL ---- */

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into out, decoding %XX. -1 on a bad escape or overflow. */
static int pct_decode(const char *s, size_t n, char *out, size_t outsz) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi = i + 1 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            ch = hi * 16 + lo;
            if (ch == 0) return -1;
            i += 2;
        }
        if (o + 1 >= outsz) return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

static int host_char_ok(int ch, int ipv6) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return 1;
    if (ipv6) return ch == ':' || ch == '.' || ch == '%';
    return ch == '.' || ch == '-' || ch == '_';
}

int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errsz) {
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!url || !*url) {
        set_err(err, errsz, "empty Redis URL");
        return -1;
    }
    if (strncasecmp(url, "rediss://", 9) == 0) {
        set_err(err, errsz, "Redis URL: TLS (rediss://) is not supported; use redis://");
        return -1;
    }
    if (strncasecmp(url, "redis://", 8) != 0) {
        set_err(err, errsz, "Redis URL must look like redis://[:password@]host[:port][/db]");
        return -1;
    }
    const char *p = url + 8;
    if (strpbrk(p, "?#")) {
        set_err(err, errsz, "Redis URL: query strings and fragments are not supported");
        return -1;
    }
    const char *slash = strchr(p, '/');
    const char *auth_end = slash ? slash : p + strlen(p);

    /* userinfo: everything up to the last '@' of the authority */
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            set_err(err, errsz, "Redis URL: give the password as redis://:password@host");
            return -1;
        }
        if (pct_decode(p, (size_t)(colon - p), out->user, sizeof(out->user)) != 0 ||
            pct_decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)) != 0) {
            set_err(err, errsz, "Redis URL: bad user name or password (escape or length)");
            return -1;
        }
        if (!out->password[0]) {
            set_err(err, errsz, "Redis URL: empty password after ':'");
            return -1;
        }
        p = at + 1;
    }

    /* host[:port] */
    const char *host = p, *host_end, *port = NULL;
    int ipv6 = 0;
    if (*p == '[') {
        ipv6 = 1;
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end) {
            set_err(err, errsz, "Redis URL: missing ']' after IPv6 address");
            return -1;
        }
        p = host_end + 1;
        if (p < auth_end) {
            if (*p != ':') {
                set_err(err, errsz, "Redis URL: unexpected text after IPv6 address");
                return -1;
            }
            port = p + 1;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host_end = colon ? colon : auth_end;
        if (colon) port = colon + 1;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0) {
        set_err(err, errsz, "Redis URL: missing host");
        return -1;
    }
    if (hlen >= sizeof(out->host)) {
        set_err(err, errsz, "Redis URL: host name too long");
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!host_char_ok((unsigned char)host[i], ipv6)) {
            set_err(err, errsz, "Redis URL: bad character in host");
            return -1;
        }
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';

    if (port) {
        char buf[16];
        size_t plen = (size_t)(auth_end - port);
        long v;
        if (plen == 0 || plen >= sizeof(buf)) {
            set_err(err, errsz, "Redis URL: bad port");
            return -1;
        }
        memcpy(buf, port, plen);
        buf[plen] = '\0';
        if (parse_long(buf, 1, 65535, &v) != 0) {
            set_err(err, errsz, "Redis URL: port must be 1..65535");
            return -1;
        }
        out->port = (int)v;
    }

    /* /db */
    if (slash && slash[1]) {
        long v;
        if (parse_long(slash + 1, 0, 1000000, &v) != 0) {
            set_err(err, errsz, "Redis URL: database must be a number (redis://host:port/0)");
            return -1;
        }
        out->db = (int)v;
    }
    return 0;
}

/* ---- connection pool for lookups ---- */

/* Borrows a slot with a live connection, connecting it if needed. -1 when
 * Redis is down, no slot frees up in time, or the connection fails. */
static int pool_take(rediscache_t *r) {
    double deadline = now_mono() + POOL_WAIT_S;
    int idx = -1;
    pthread_mutex_lock(&r->pool_lock);
    for (;;) {
        if (!atomic_load(&r->up)) break;
        int empty = -1;
        for (int i = 0; i < POOL_SIZE; i++) {
            if (r->pool[i].busy) continue;
            if (r->pool[i].ctx) { idx = i; break; }   /* prefer an open connection */
            if (empty < 0) empty = i;
        }
        if (idx < 0) idx = empty;
        if (idx >= 0) break;
        if (cond_wait_until(&r->pool_cond, &r->pool_lock, deadline) == ETIMEDOUT) break;
    }
    if (idx >= 0) r->pool[idx].busy = 1;
    pthread_mutex_unlock(&r->pool_lock);
    if (idx < 0) return -1;

    slot_t *s = &r->pool[idx];
    unsigned gen = atomic_load(&r->gen);
    if (s->ctx && s->gen != gen) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
    if (!s->ctx) {
        char err[128];
        s->ctx = rc_connect(r, err, sizeof(err));
        if (!s->ctx) {
            mark_down(r, err);
            pthread_mutex_lock(&r->pool_lock);
            s->busy = 0;
            pthread_cond_signal(&r->pool_cond);
            pthread_mutex_unlock(&r->pool_lock);
            return -1;
        }
        s->gen = gen;
    }
    return idx;
}

/* Returns a slot; a connection that failed is closed rather than reused. */
static void pool_give(rediscache_t *r, int idx, int ok) {
    slot_t *s = &r->pool[idx];
    if (!ok && s->ctx) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
    pthread_mutex_lock(&r->pool_lock);
    s->busy = 0;
    pthread_cond_signal(&r->pool_cond);
    pthread_mutex_unlock(&r->pool_lock);
}

/* ---- background thread: writes, health probe, reconnect ---- */

static int do_set(rediscache_t *r, const wjob_t *j) {
    redisReply *rep;
    if (j->ttl)
        rep = redisCommand(r->wctx, "SET " REDISCACHE_KEY_PREFIX "%s %b EX %u", j->key, j->val, j->len, j->ttl);
    else
        rep = redisCommand(r->wctx, "SET " REDISCACHE_KEY_PREFIX "%s %b", j->key, j->val, j->len);
    char err[160];
    if (!reply_ok(r->wctx, rep, "SET", err, sizeof(err))) {
        redisFree(r->wctx);
        r->wctx = NULL;
        mark_down(r, err);
        return -1;
    }
    freeReplyObject(rep);
    atomic_fetch_add(&r->writes, 1);
    return 0;
}

static void do_ping(rediscache_t *r) {
    redisReply *rep = redisCommand(r->wctx, "PING");
    char err[160];
    if (!reply_ok(r->wctx, rep, "PING", err, sizeof(err))) {
        redisFree(r->wctx);
        r->wctx = NULL;
        mark_down(r, err);
        return;
    }
    freeReplyObject(rep);
}

/* Frees every queued job; called with q_lock held. Returns how many. */
static size_t queue_purge(rediscache_t *r) {
    size_t n = 0;
    wjob_t *j = r->q_head;
    while (j) {
        wjob_t *next = j->next;
        free(j);
        j = next;
        n++;
    }
    r->q_head = r->q_tail = NULL;
    r->q_len = 0;
    return n;
}

static wjob_t *queue_pop(rediscache_t *r) {
    wjob_t *j = r->q_head;
    if (!j) return NULL;
    r->q_head = j->next;
    if (!r->q_head) r->q_tail = NULL;
    r->q_len--;
    return j;
}

static void *bg_main(void *arg) {
    rediscache_t *r = arg;
    double backoff = BACKOFF_MIN_S, next_try = 0, last_activity = now_mono();

    pthread_mutex_lock(&r->q_lock);
    while (!r->stop) {
        if (!atomic_load(&r->up)) {
            /* Writes queued before the failure are stale; dropping them
             * keeps the queue from refilling Redis with a burst later. */
            size_t n = queue_purge(r);
            if (n) atomic_fetch_add(&r->writes_dropped, n);
            double now = now_mono();
            if (now < next_try) {
                cond_wait_until(&r->q_cond, &r->q_lock, next_try);
                continue;
            }
            pthread_mutex_unlock(&r->q_lock);
            if (r->wctx) {
                redisFree(r->wctx);
                r->wctx = NULL;
            }
            char err[128];
            redisContext *c = rc_connect(r, err, sizeof(err));
            if (c) {
                r->wctx = c;
                backoff = BACKOFF_MIN_S;
                atomic_fetch_add(&r->reconnects, 1);
                atomic_store(&r->up, 1);
                log_info("redis %s:%d reconnected", r->url.host, r->url.port);
            } else {
                record_error(r, err);
                next_try = now_mono() + backoff;
                backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
            }
            last_activity = now_mono();
            pthread_mutex_lock(&r->q_lock);
            continue;
        }
        wjob_t *j = queue_pop(r);
        if (!j) {
            double due = last_activity + IDLE_PING_S;
            if (now_mono() < due) {
                cond_wait_until(&r->q_cond, &r->q_lock, due);
                continue;
            }
            pthread_mutex_unlock(&r->q_lock);
            if (r->wctx) do_ping(r);
            else mark_down(r, "no connection");
            last_activity = now_mono();
            pthread_mutex_lock(&r->q_lock);
            continue;
        }
        r->writing = 1;
        pthread_mutex_unlock(&r->q_lock);
        if (r->wctx) do_set(r, j);
        else {
            atomic_fetch_add(&r->writes_dropped, 1);
            mark_down(r, "no connection");
        }
        free(j);
        last_activity = now_mono();
        pthread_mutex_lock(&r->q_lock);
        r->writing = 0;
        pthread_cond_broadcast(&r->q_cond); /* a clear may wait for this write */
    }
    /* Stopping: flush what is queued while Redis answers (each write is
     * bounded by the command timeout; the first failure drops the rest). */
    wjob_t *j;
    while ((j = queue_pop(r)) != NULL) {
        pthread_mutex_unlock(&r->q_lock);
        if (atomic_load(&r->up) && r->wctx) do_set(r, j);
        else atomic_fetch_add(&r->writes_dropped, 1);
        free(j);
        pthread_mutex_lock(&r->q_lock);
    }
    pthread_mutex_unlock(&r->q_lock);
    return NULL;
}

/* ---- public ---- */

rediscache_t *rediscache_create(const char *url, char *err, size_t errsz) {
    redis_url_t u;
    if (redis_url_parse(url, &u, err, errsz) != 0) return NULL;

    /* hiredis writes with write(2): a server that went away would raise
     * SIGPIPE and kill the process. Only the default disposition is
     * changed, never a handler someone installed. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_SIGINFO))
        signal(SIGPIPE, SIG_IGN);

    rediscache_t *r = calloc(1, sizeof(*r));
    if (!r) {
        set_err(err, errsz, "out of memory");
        return NULL;
    }
    r->url = u;
    atomic_init(&r->up, 0);
    atomic_init(&r->gen, 0);
    pthread_mutex_init(&r->err_lock, NULL);
    pthread_mutex_init(&r->pool_lock, NULL);
    pthread_mutex_init(&r->q_lock, NULL);
    if (cond_init_mono(&r->pool_cond) != 0 || cond_init_mono(&r->q_cond) != 0) {
        set_err(err, errsz, "cannot create condition variables");
        pthread_mutex_destroy(&r->err_lock);
        pthread_mutex_destroy(&r->pool_lock);
        pthread_mutex_destroy(&r->q_lock);
        free(r);
        return NULL;
    }

    /* One attempt now so a reachable Redis is used from the first request;
     * failure only means "start down". */
    char cerr[128];
    r->wctx = rc_connect(r, cerr, sizeof(cerr));
    if (r->wctx) {
        atomic_store(&r->up, 1);
    } else {
        record_error(r, cerr);
        log_warn("redis %s:%d unavailable at start: %s (memory cache only until it answers)",
                 u.host, u.port, cerr);
    }

    if (pthread_create(&r->thread, NULL, bg_main, r) != 0) {
        set_err(err, errsz, "cannot start the Redis background thread");
        rediscache_destroy(r);
        return NULL;
    }
    r->thread_started = 1;
    return r;
}

void rediscache_destroy(rediscache_t *r) {
    if (!r) return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->q_lock);
        r->stop = 1;
        pthread_cond_signal(&r->q_cond);
        pthread_mutex_unlock(&r->q_lock);
        pthread_join(r->thread, NULL);
    }
    queue_purge(r);
    if (r->wctx) redisFree(r->wctx);
    for (int i = 0; i < POOL_SIZE; i++)
        if (r->pool[i].ctx) redisFree(r->pool[i].ctx);
    pthread_cond_destroy(&r->pool_cond);
    pthread_cond_destroy(&r->q_cond);
    pthread_mutex_destroy(&r->err_lock);
    pthread_mutex_destroy(&r->pool_lock);
    pthread_mutex_destroy(&r->q_lock);
    free(r);
}

int rediscache_get(rediscache_t *r, const char *key, char **val, size_t *len, long long *ttl_ms) {
    if (!r || !key || !val || !atomic_load(&r->up)) return -1;
    int idx = pool_take(r);
    if (idx < 0) return -1;
    redisContext *c = r->pool[idx].ctx;

    /* GET and PTTL pipelined: one round trip. */
    redisReply *get = NULL, *pttl = NULL;
    char err[160];
    if (redisAppendCommand(c, "GET " REDISCACHE_KEY_PREFIX "%s", key) != REDIS_OK ||
        redisAppendCommand(c, "PTTL " REDISCACHE_KEY_PREFIX "%s", key) != REDIS_OK ||
        redisGetReply(c, (void **)&get) != REDIS_OK || redisGetReply(c, (void **)&pttl) != REDIS_OK) {
        snprintf(err, sizeof(err), "GET: %s", c->errstr[0] ? c->errstr : "no reply");
        if (get) freeReplyObject(get);
        pool_give(r, idx, 0);
        mark_down(r, err);
        return -1;
    }
    int rc;
    if (get->type == REDIS_REPLY_STRING) {
        char *copy = malloc(get->len + 1);
        if (copy) {
            memcpy(copy, get->str, get->len);
            copy[get->len] = '\0';
            *val = copy;
            if (len) *len = get->len;
            if (ttl_ms) *ttl_ms = pttl->type == REDIS_REPLY_INTEGER ? pttl->integer : -1;
            atomic_fetch_add(&r->hits, 1);
            rc = 1;
        } else {
            rc = -1;
        }
    } else if (get->type == REDIS_REPLY_NIL) {
        atomic_fetch_add(&r->misses, 1);
        rc = 0;
    } else {
        snprintf(err, sizeof(err), "GET: %s",
                 get->type == REDIS_REPLY_ERROR && get->str ? get->str : "unexpected reply type");
        rc = -2;
    }
    freeReplyObject(get);
    freeReplyObject(pttl);
    pool_give(r, idx, rc != -2);
    if (rc == -2) {
        mark_down(r, err);
        rc = -1;
    }
    return rc;
}

void rediscache_put(rediscache_t *r, const char *key, const char *val, size_t len, unsigned ttl) {
    if (!r || !key || (!val && len)) return;
    if (!atomic_load(&r->up)) {
        atomic_fetch_add(&r->writes_dropped, 1);
        return;
    }
    size_t klen = strlen(key);
    wjob_t *j = malloc(sizeof(*j) + klen + 1 + len + 1);
    if (!j) {
        atomic_fetch_add(&r->writes_dropped, 1);
        return;
    }
    j->next = NULL;
    j->len = len;
    j->ttl = ttl;
    memcpy(j->key, key, klen + 1);
    j->val = j->key + klen + 1;
    if (len) memcpy(j->val, val, len);
    j->val[len] = '\0';

    pthread_mutex_lock(&r->q_lock);
    if (r->stop || r->q_len >= QUEUE_MAX) {
        pthread_mutex_unlock(&r->q_lock);
        free(j);
        atomic_fetch_add(&r->writes_dropped, 1);
        return;
    }
    if (r->q_tail) r->q_tail->next = j;
    else r->q_head = j;
    r->q_tail = j;
    r->q_len++;
    pthread_cond_signal(&r->q_cond);
    pthread_mutex_unlock(&r->q_lock);
}

int rediscache_clear(rediscache_t *r) {
    if (!r) return -1;
    /* Queued writes are dropped and a write being sent is waited for, so no
     * entry written before the clear can land after it. */
    pthread_mutex_lock(&r->q_lock);
    size_t n = queue_purge(r);
    while (r->writing) pthread_cond_wait(&r->q_cond, &r->q_lock);
    pthread_mutex_unlock(&r->q_lock);
    if (n) atomic_fetch_add(&r->writes_dropped, n);

    if (!atomic_load(&r->up)) return -1;
    int idx = pool_take(r);
    if (idx < 0) return -1;
    redisContext *c = r->pool[idx].ctx;

    char cursor[32] = "0", err[160];
    int ok = 1;
    do {
        redisReply *rep = redisCommand(c, "SCAN %s MATCH " REDISCACHE_KEY_PREFIX "* COUNT " SCAN_COUNT, cursor);
        if (!reply_ok(c, rep, "SCAN", err, sizeof(err))) { ok = 0; break; }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_ARRAY ||
            rep->element[0]->len >= sizeof(cursor)) {
            snprintf(err, sizeof(err), "SCAN: unexpected reply");
            freeReplyObject(rep);
            ok = 0;
            break;
        }
        memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
        cursor[rep->element[0]->len] = '\0';
        redisReply *keys = rep->element[1];
        if (keys->elements > 0) {
            size_t argc = keys->elements + 1;
            const char **argv = malloc(argc * sizeof(*argv));
            size_t *argl = malloc(argc * sizeof(*argl));
            if (!argv || !argl) {
                free(argv);
                free(argl);
                freeReplyObject(rep);
                snprintf(err, sizeof(err), "DEL: out of memory");
                ok = 0;
                break;
            }
            argv[0] = "DEL";
            argl[0] = 3;
            for (size_t i = 0; i < keys->elements; i++) {
                argv[i + 1] = keys->element[i]->str;
                argl[i + 1] = keys->element[i]->len;
            }
            redisReply *del = redisCommandArgv(c, (int)argc, argv, argl);
            free(argv);
            free(argl);
            if (!reply_ok(c, del, "DEL", err, sizeof(err))) {
                freeReplyObject(rep);
                ok = 0;
                break;
            }
            freeReplyObject(del);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);

    pool_give(r, idx, ok);
    if (!ok) {
        mark_down(r, err);
        return -1;
    }
    return 0;
}

void rediscache_stats(rediscache_t *r, rediscache_stats_t *out) {
    memset(out, 0, sizeof(*out));
    if (!r) return;
    out->connected = atomic_load(&r->up);
    out->hits = atomic_load(&r->hits);
    out->misses = atomic_load(&r->misses);
    out->errors = atomic_load(&r->errors);
    out->reconnects = atomic_load(&r->reconnects);
    out->writes = atomic_load(&r->writes);
    out->writes_dropped = atomic_load(&r->writes_dropped);
    pthread_mutex_lock(&r->err_lock);
    snprintf(out->last_error, sizeof(out->last_error), "%s", r->last_error);
    pthread_mutex_unlock(&r->err_lock);
}
