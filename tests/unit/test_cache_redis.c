/* test_cache_redis.c -- the Redis level of the cache against a real
 * redis-server started here on a free port (no persistence, temp dir).
 *
 * Covers: URL parsing; sharing between two cache_t (a put in A is a Redis
 * hit in B, then a memory hit); the TTL on the Redis key; SELECT and AUTH;
 * a Redis that is missing at start; a Redis killed mid-run (memory keeps
 * serving, stats say down) and restarted on the same port (the caches
 * reconnect by themselves and share again); cache_clear deleting only
 * copyd:out:* keys, across several SCAN pages.
 *
 * Waits are bounded polls, never timing assertions. The child redis-server
 * is killed on every exit path (atexit, signals, and PR_SET_PDEATHSIG if
 * this process dies abruptly). */
#include "cache/cache.h"
#include "cache/rediscache.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Process state of this test program: the child server and its files. */
static pid_t redis_pid = -1;
static int redis_port;
static char tmpdir[64];
static char redis_bin[512];

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void kill_redis(void) {
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = -1;
    }
}

static void cleanup(void) {
    kill_redis();
    if (tmpdir[0]) {
        char p[128];
        snprintf(p, sizeof(p), "%s/redis.log", tmpdir);
        unlink(p);
        rmdir(tmpdir);
    }
}

static void on_signal(int sig) {
    if (redis_pid > 0) kill(redis_pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int find_redis(void) {
    const char *env = getenv("COPYD_REDIS_SERVER");
    if (env && access(env, X_OK) == 0) {
        snprintf(redis_bin, sizeof(redis_bin), "%s", env);
        return 1;
    }
    if (access("/usr/bin/redis-server", X_OK) == 0) {
        snprintf(redis_bin, sizeof(redis_bin), "/usr/bin/redis-server");
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(redis_bin, sizeof(redis_bin), "%s/redis-server", d);
        if (access(redis_bin, X_OK) == 0) return 1;
    }
    return 0;
}

/* A port nobody listens on now: bind to port 0 and read what we got. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* A direct connection for checking what the cache did. */
static redisContext *dconn(void) {
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c) redisSetTimeout(c, tv);
    return c;
}

/* Runs a command on a fresh direct connection; integer reply or -999. */
static long long dint(const char *fmt, ...) {
    redisContext *c = dconn();
    if (!c) return -999;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = -999;
    if (r && r->type == REDIS_REPLY_INTEGER) v = r->integer;
    if (r) freeReplyObject(r);
    redisFree(c);
    return v;
}

static int redis_pings(void) {
    redisContext *c = dconn();
    if (!c) return 0;
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
}

static int start_redis(void) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", redis_port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        if (chdir(tmpdir) != 0) _exit(1);
        int fd = open("redis.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(redis_bin, "redis-server", "--save", "", "--appendonly", "no", "--port", portstr,
              "--bind", "127.0.0.1", "--dir", tmpdir, (char *)NULL);
        _exit(127);
    }
    redis_pid = pid;
    for (int i = 0; i < 500; i++) { /* up to ~10 s */
        if (redis_pings()) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            redis_pid = -1;
            fprintf(stderr, "redis-server exited early (see %s/redis.log)\n", tmpdir);
            return -1;
        }
        sleep_s(0.02);
    }
    fprintf(stderr, "redis-server did not answer PING\n");
    return -1;
}

/* Polls until pred() holds, for at most ~10 s. */
static int wait_for(int (*pred)(void *), void *arg) {
    for (int i = 0; i < 500; i++) {
        if (pred(arg)) return 1;
        sleep_s(0.02);
    }
    return pred(arg);
}

static int key_exists(void *key) { return dint("EXISTS " REDISCACHE_KEY_PREFIX "%s", (const char *)key) == 1; }

static int cache_connected(void *c) {
    cache_stats_t st;
    cache_get_stats(c, &st);
    return st.redis_connected == 1 && st.redis_reconnects >= 1;
}

/* Connected again, with more reconnects than `min`. */
typedef struct reconn {
    cache_t *c;
    uint64_t min;
} reconn_t;

static int cache_reconnected(void *arg) {
    reconn_t *r = arg;
    cache_stats_t st;
    cache_get_stats(r->c, &st);
    return st.redis_connected == 1 && st.redis_reconnects > r->min;
}

static uint64_t reconnects_of(cache_t *c) {
    cache_stats_t st;
    cache_get_stats(c, &st);
    return st.redis_reconnects;
}

static int cache_down(void *c) {
    cache_stats_t st;
    cache_get_stats(c, &st);
    return st.redis_connected == 0;
}

static void mkkey(char out[33], unsigned i) { snprintf(out, 33, "%032x", i * 2654435761u); }

static cache_t *mk(const char *url, unsigned ttl) {
    char err[160] = "";
    cache_t *c = cache_create(100, ttl, url, err, sizeof(err));
    if (!c) fprintf(stderr, "cache_create(%s): %s\n", url, err);
    return c;
}

/* ---- tests that need no server ---- */

static void test_url_parse(void) {
    redis_url_t u;
    char err[160];
    CHECK(redis_url_parse("redis://localhost:6380/2", &u, err, sizeof(err)) == 0);
    CHECK_STR(u.host, "localhost");
    CHECK(u.port == 6380 && u.db == 2 && u.password[0] == 0 && u.user[0] == 0);

    CHECK(redis_url_parse("redis://cache.internal", &u, err, sizeof(err)) == 0);
    CHECK_STR(u.host, "cache.internal");
    CHECK(u.port == 6379 && u.db == 0);

    CHECK(redis_url_parse("redis://:s%40cret@10.0.0.5:7000/0", &u, err, sizeof(err)) == 0);
    CHECK_STR(u.host, "10.0.0.5");
    CHECK_STR(u.password, "s@cret");
    CHECK(u.user[0] == 0 && u.port == 7000);

    CHECK(redis_url_parse("redis://alice:pw@h/", &u, err, sizeof(err)) == 0);
    CHECK_STR(u.user, "alice");
    CHECK_STR(u.password, "pw");
    CHECK(u.db == 0);

    CHECK(redis_url_parse("REDIS://[::1]:6390/1", &u, err, sizeof(err)) == 0);
    CHECK_STR(u.host, "::1");
    CHECK(u.port == 6390 && u.db == 1);

    const char *bad[] = {"", "localhost:6379", "http://localhost", "rediss://h:6379", "redis://",
                         "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:port",
                         "redis://h:6379/x", "redis://h:6379/-1", "redis://h/0?timeout=1",
                         "redis://user@h", "redis://:@h", "redis://:pw%zz@h", "redis://[::1",
                         "redis://h o/0", "redis://h:6379:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        int rc = redis_url_parse(bad[i], &u, err, sizeof(err));
        if (rc == 0) fprintf(stderr, "accepted bad URL: %s\n", bad[i]);
        CHECK(rc == -1 && err[0] != 0);
    }
    /* The reason never echoes the password. */
    CHECK(redis_url_parse("redis://:topsecret@h:99999", &u, err, sizeof(err)) == -1);
    CHECK(strstr(err, "topsecret") == NULL);

    /* cache_create refuses a malformed URL with a reason... */
    err[0] = 0;
    CHECK(cache_create(10, 60, "http://localhost:6379", err, sizeof(err)) == NULL);
    CHECK(err[0] != 0);
    /* ...and takes an empty one as "memory only". */
    cache_t *c = cache_create(10, 60, "", err, sizeof(err));
    CHECK(c != NULL);
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.redis_configured == 0);
    cache_destroy(c);
}

/* ---- tests with the server ---- */

static void test_share(cache_t *a, cache_t *b) {
    cache_stats_t st;
    cache_get_stats(a, &st);
    CHECK(st.redis_configured == 1);
    CHECK(st.redis_connected == 1);

    char k[33];
    mkkey(k, 1);
    const char val[] = "shared \0 value"; /* binary-safe, NUL inside */
    size_t vlen = sizeof(val) - 1;
    cache_put(a, k, val, vlen);
    CHECK(wait_for(key_exists, k));

    char *v = NULL;
    size_t n = 0;
    CHECK(cache_get(b, k, &v, &n) == CACHE_HIT_REDIS);
    CHECK(v && n == vlen && memcmp(v, val, vlen) == 0);
    free(v);
    v = NULL;
    CHECK(cache_get(b, k, &v, &n) == CACHE_HIT_MEMORY);
    CHECK(v && n == vlen && memcmp(v, val, vlen) == 0);
    free(v);

    /* TTL on the Redis key is the cache TTL (60 s here). */
    long long ttl = dint("TTL " REDISCACHE_KEY_PREFIX "%s", k);
    CHECK(ttl > 0 && ttl <= 60);

    /* TTL 0 means no expiry, in Redis too. */
    char k0[33];
    mkkey(k0, 2);
    cache_set_ttl(a, 0);
    cache_put(a, k0, "forever", 7);
    CHECK(wait_for(key_exists, k0));
    CHECK(dint("TTL " REDISCACHE_KEY_PREFIX "%s", k0) == -1);
    cache_set_ttl(a, 60);

    /* A key absent everywhere is a miss counted at the Redis level. */
    char km[33];
    mkkey(km, 3);
    v = NULL;
    CHECK(cache_get(b, km, &v, &n) == CACHE_MISS);
    CHECK(v == NULL);

    /* A memory copy of a Redis hit lives no longer than the Redis key. */
    char ks[33];
    mkkey(ks, 4);
    CHECK(dint("PEXPIRE nosuchkey 1") == 0); /* direct connection works */
    redisContext *d = dconn();
    redisReply *r = d ? redisCommand(d, "SET " REDISCACHE_KEY_PREFIX "%s short PX 300", ks) : NULL;
    CHECK(r != NULL);
    if (r) freeReplyObject(r);
    if (d) redisFree(d);
    v = NULL;
    CHECK(cache_get(b, ks, &v, &n) == CACHE_HIT_REDIS);
    free(v);
    sleep_s(0.5);
    v = NULL;
    CHECK(cache_get(b, ks, &v, &n) == CACHE_MISS);
    free(v);

    cache_get_stats(b, &st);
    CHECK(st.redis_hits == 2);
    CHECK(st.redis_misses == 2);
    CHECK(st.redis_errors == 0);
    CHECK(st.hits == 1);
}

static void test_select_and_auth(void) {
    char url[128], k[33];
    mkkey(k, 50);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", redis_port);
    cache_t *c = mk(url, 60);
    CHECK(c != NULL);
    if (!c) return;
    cache_put(c, k, "in db 3", 7);
    int found = 0;
    redisContext *d = dconn();
    for (int i = 0; d && i < 500 && !found; i++) {
        redisReply *r = redisCommand(d, "SELECT 3");
        if (r) freeReplyObject(r);
        r = redisCommand(d, "EXISTS " REDISCACHE_KEY_PREFIX "%s", k);
        found = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r) freeReplyObject(r);
        if (!found) sleep_s(0.02);
    }
    if (d) redisFree(d);
    CHECK(found);
    CHECK(!key_exists(k)); /* not in db 0 */
    cache_destroy(c);

    /* A password the server does not want: an AUTH error leaves the cache
     * running from memory, down, with the reason kept. */
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d/0", redis_port);
    c = mk(url, 60);
    CHECK(c != NULL);
    if (!c) return;
    cache_stats_t st;
    cache_get_stats(c, &st);
    CHECK(st.redis_connected == 0);
    CHECK(st.redis_errors >= 1);
    CHECK(strstr(st.redis_last_error, "AUTH") != NULL);
    cache_put(c, k, "mem", 3);
    char *v = NULL;
    size_t n;
    CHECK(cache_get(c, k, &v, &n) == CACHE_HIT_MEMORY);
    free(v);
    cache_destroy(c);
}

/* Run last: it leaves the server requiring a password. */
static void test_auth_ok(void) {
    redisContext *d = dconn();
    redisReply *r = d ? redisCommand(d, "CONFIG SET requirepass s3cret") : NULL;
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r) freeReplyObject(r);
    if (d) redisFree(d);

    const char *forms[] = {"redis://:s3cret@127.0.0.1:%d", "redis://default:s3cret@127.0.0.1:%d/0"};
    for (int f = 0; f < 2; f++) {
        char url[128], k[33];
        snprintf(url, sizeof(url), forms[f], redis_port);
        mkkey(k, 60 + (unsigned)f);
        cache_t *c = mk(url, 60);
        CHECK(c != NULL);
        if (!c) continue;
        cache_stats_t st;
        cache_get_stats(c, &st);
        CHECK(st.redis_connected == 1);
        cache_put(c, k, "authed", 6);
        /* Check with a second authenticated cache: a Redis hit. */
        cache_t *c2 = mk(url, 60);
        int hit = 0;
        for (int i = 0; c2 && i < 500 && !hit; i++) {
            char *v = NULL;
            size_t n;
            hit = cache_get(c2, k, &v, &n) == CACHE_HIT_REDIS;
            free(v);
            if (!hit) sleep_s(0.02);
        }
        CHECK(hit);
        cache_destroy(c2);
        cache_destroy(c);
    }
}

/* A server that accepts connections but never answers (stopped): lookups
 * give up after the command timeout, mark Redis down and skip it after
 * that; when it wakes up the cache reconnects. */
static void test_stalled(cache_t *b) {
    uint64_t before = reconnects_of(b);
    CHECK(kill(redis_pid, SIGSTOP) == 0);
    int misses = 0;
    for (unsigned i = 0; i < 20; i++) {
        char kn[33];
        mkkey(kn, 4000 + i);
        char *v = NULL;
        size_t n;
        if (cache_get(b, kn, &v, &n) == CACHE_MISS) misses++;
        free(v);
        cache_put(b, kn, "x", 1);
    }
    CHECK(misses == 20);
    cache_stats_t st;
    cache_get_stats(b, &st);
    CHECK(st.redis_connected == 0);
    CHECK(st.redis_errors > 0);
    CHECK(kill(redis_pid, SIGCONT) == 0);
    reconn_t rb = {b, before};
    CHECK(wait_for(cache_reconnected, &rb));
}

static void test_kill_and_restart(cache_t *a, cache_t *b) {
    char k[33], kn[33];
    mkkey(k, 1); /* stored in test_share, in a's and b's memory */
    char *v = NULL;
    size_t n;

    kill_redis();

    /* Everything keeps working from memory; no call fails or hangs. */
    int mem_hits = 0, misses = 0, puts_ok = 0;
    for (unsigned i = 0; i < 50; i++) {
        v = NULL;
        if (cache_get(a, k, &v, &n) == CACHE_HIT_MEMORY) mem_hits++;
        free(v);
        mkkey(kn, 1000 + i);
        v = NULL;
        if (cache_get(b, kn, &v, &n) == CACHE_MISS && v == NULL) misses++;
        cache_put(a, kn, "while down", 10);
        v = NULL;
        if (cache_get(a, kn, &v, &n) == CACHE_HIT_MEMORY && n == 10) puts_ok++;
        free(v);
    }
    CHECK(mem_hits == 50);
    CHECK(misses == 50);
    CHECK(puts_ok == 50);

    /* Both noticed (b through its lookups, a through its writer or probe). */
    CHECK(wait_for(cache_down, a));
    CHECK(wait_for(cache_down, b));
    cache_stats_t st;
    cache_get_stats(a, &st);
    CHECK(st.redis_connected == 0);
    CHECK(st.redis_errors > 0);
    CHECK(st.redis_last_error[0] != 0);
    cache_get_stats(b, &st);
    CHECK(st.redis_connected == 0);
    CHECK(st.redis_errors > 0);
    reconn_t ra = {a, reconnects_of(a)}, rb = {b, reconnects_of(b)};

    /* Same port again: both caches reconnect by themselves. */
    CHECK(start_redis() == 0);
    CHECK(wait_for(cache_reconnected, &ra));
    CHECK(wait_for(cache_reconnected, &rb));
    cache_get_stats(b, &st);
    CHECK(st.redis_connected == 1);

    /* ...and share again (the restarted server is empty). */
    char k2[33];
    mkkey(k2, 2000);
    cache_put(a, k2, "after restart", 13);
    CHECK(wait_for(key_exists, k2));
    int hit = 0;
    for (int i = 0; i < 500 && !hit; i++) {
        v = NULL;
        hit = cache_get(b, k2, &v, &n) == CACHE_HIT_REDIS && n == 13 && memcmp(v, "after restart", 13) == 0;
        free(v);
        if (!hit) sleep_s(0.02);
    }
    CHECK(hit);
}

static void test_clear(cache_t *a) {
    /* More keys than one SCAN page, plus a key that is not ours. */
    redisContext *d = dconn();
    CHECK(d != NULL);
    if (!d) return;
    for (unsigned i = 0; i < 1500; i++)
        redisAppendCommand(d, "SET " REDISCACHE_KEY_PREFIX "bulk%u x EX 60", i);
    redisAppendCommand(d, "SET other:key keep");
    int ok = 1;
    for (unsigned i = 0; i < 1501; i++) {
        redisReply *r = NULL;
        if (redisGetReply(d, (void **)&r) != REDIS_OK) { ok = 0; break; }
        freeReplyObject(r);
    }
    CHECK(ok);
    char k[33];
    mkkey(k, 3000);
    cache_put(a, k, "mine", 4);
    CHECK(wait_for(key_exists, k));

    cache_clear(a);

    redisReply *r = redisCommand(d, "KEYS " REDISCACHE_KEY_PREFIX "*"); /* fine in a test */
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 0);
    if (r) freeReplyObject(r);
    r = redisCommand(d, "EXISTS other:key");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    if (r) freeReplyObject(r);
    redisFree(d);

    cache_stats_t st;
    cache_get_stats(a, &st);
    CHECK(st.entries == 0);
    CHECK(st.redis_connected == 1);
    char *v = NULL;
    size_t n;
    CHECK(cache_get(a, k, &v, &n) == CACHE_MISS);
    free(v);
}

int main(void) {
    test_url_parse();

    if (!find_redis()) {
        printf("SKIP: redis-server not found (Redis tests not run)\n");
        TEST_DONE();
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/copyd-redis-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = 0;
        perror("mkdtemp");
        return 1;
    }
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    redis_port = free_port();
    CHECK(redis_port > 0);
    if (redis_port <= 0) TEST_DONE();

    char url[96];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", redis_port);

    /* Created before the server exists: not an error, it connects later. */
    cache_t *early = mk(url, 60);
    CHECK(early != NULL);
    cache_stats_t st;
    cache_get_stats(early, &st);
    CHECK(st.redis_configured == 1 && st.redis_connected == 0 && st.redis_errors >= 1);

    if (start_redis() != 0) {
        CHECK(!"redis-server started");
        cache_destroy(early);
        TEST_DONE();
    }
    CHECK(wait_for(cache_connected, early));
    cache_destroy(early);

    cache_t *a = mk(url, 60), *b = mk(url, 60);
    CHECK(a && b);
    if (a && b) {
        test_share(a, b);
        test_select_and_auth();
        test_stalled(b);
        test_kill_and_restart(a, b);
        test_clear(a);
        test_auth_ok();
    }
    cache_destroy(a);
    cache_destroy(b);
    TEST_DONE();
}
