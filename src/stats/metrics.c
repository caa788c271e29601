/* metrics.c -- the process-wide registry behind metrics.h.
 *
 * Layout: fixed tables of series (routes, HTTP status series, engines,
 * generation sources), each with a hard cap; a label value that would go
 * past the cap is folded into the series named "other", so a misbehaving
 * caller can never grow memory or the /metrics page without bound.
 *
 * Concurrency: tables are append-only. Finding a series is lock-free (scan
 * [0, n) after an acquire load of n, comparing a hash first); adding one
 * takes `reg_mu`, fills the slot and publishes it with a release store of
 * n+1. Counters are relaxed atomics; each histogram has its own short mutex
 * (histogram.h). metrics_reset() is for tests and must not race with
 * recording. */
#include "stats/metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "stats/histogram.h"

#define KEY_MAX 128          /* bytes of a series key, NUL included */
#define LABEL_PART_MAX 60    /* each half of a two-label key */
#define MAX_ROUTES 64
#define MAX_HTTP_SERIES 256
#define MAX_ENGINES 16
#define MAX_GEN_SERIES 64
#define BATCH_EXACT_MAX 256  /* batch sizes counted one by one up to this */
#define TPS_RING 64          /* recent batches remembered for tokens/s */
#define TPS_WINDOW 60.0      /* seconds */
#define OTHER "other"
#define PAIR_SEP '\x1f'      /* joins engine and source into one key */

typedef unsigned long long ull;

/* ---- append-only name tables ------------------------------------------ */

typedef struct names {
    size_t cap;
    _Atomic size_t n;
    char (*key)[KEY_MAX];
    uint64_t *hash;
} names_t;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int names_find(names_t *t, const char *key, uint64_t h) {
    size_t n = atomic_load_explicit(&t->n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (t->hash[i] == h && strcmp(t->key[i], key) == 0) return (int)i;
    return -1;
}

/* Slot of `key`, added if new. When only the last slot is left it is kept
 * for OTHER (or `other_key` for composite keys), so every new label value
 * past the cap lands there. */
static int names_slot(names_t *t, const char *key, const char *other_key) {
    uint64_t h = fnv1a(key);
    int i = names_find(t, key, h);
    if (i >= 0) return i;
    pthread_mutex_lock(&reg_mu);
    size_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    i = names_find(t, key, h);
    if (i < 0 && n + 1 >= t->cap && strcmp(key, other_key) != 0) {
        key = other_key;
        h = fnv1a(key);
        i = names_find(t, key, h);
    }
    if (i < 0 && n < t->cap) {
        snprintf(t->key[n], KEY_MAX, "%s", key);
        t->hash[n] = h;
        atomic_store_explicit(&t->n, n + 1, memory_order_release);
        i = (int)n;
    }
    pthread_mutex_unlock(&reg_mu);
    return i; /* >= 0: the OTHER slot always has room */
}

static size_t names_count(names_t *t) { return atomic_load_explicit(&t->n, memory_order_acquire); }

/* Copies a label value into `out` (at most `max`-1 bytes), "unknown" for
 * NULL or empty, with the pair separator replaced so keys stay splittable. */
static void norm_label(char *out, size_t max, const char *in) {
    if (!in || !*in) in = "unknown";
    size_t i = 0;
    for (; in[i] && i + 1 < max; i++) out[i] = in[i] == PAIR_SEP ? '_' : in[i];
    out[i] = '\0';
}

/* ---- the registry ------------------------------------------------------ */

typedef struct route_series {
    histogram_t lat;
    _Atomic ull requests, errors;
} route_series_t;

static const char *const METHODS[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", OTHER};
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])

typedef struct http_series {
    int route;      /* index into routes, -1 for the overflow series */
    int method;     /* index into METHODS */
    int status;     /* 100..599, 0 for the overflow series */
    _Atomic ull n;
} http_series_t;

typedef struct tps_sample {
    double at, seconds;
    unsigned long tokens;
} tps_sample_t;

typedef struct engine_series {
    _Atomic ull batches, items, errors, tokens;
    _Atomic int breaker, breaker_set;
    histogram_t dur;
    _Atomic ull batch_exact[BATCH_EXACT_MAX + 1]; /* [size] for sizes 0..MAX */
    _Atomic ull batch_over, batch_over_sum;       /* sizes above MAX */
    pthread_mutex_t tps_mu;
    tps_sample_t ring[TPS_RING];
    size_t ring_next, ring_len;
} engine_series_t;

enum { LEVEL_MEMORY, LEVEL_REDIS, LEVEL_OTHER, N_LEVELS };
static const char *const LEVELS[N_LEVELS] = {"memory", "redis", OTHER};

static char route_keys[MAX_ROUTES][KEY_MAX];
static uint64_t route_hash[MAX_ROUTES];
static names_t routes = {MAX_ROUTES, 0, route_keys, route_hash};
static route_series_t route_data[MAX_ROUTES];

static http_series_t http_data[MAX_HTTP_SERIES];
static _Atomic size_t http_n;

static char engine_keys[MAX_ENGINES][KEY_MAX];
static uint64_t engine_hash[MAX_ENGINES];
static names_t engines = {MAX_ENGINES, 0, engine_keys, engine_hash};
static engine_series_t engine_data[MAX_ENGINES];

static char gen_keys[MAX_GEN_SERIES][KEY_MAX];
static uint64_t gen_hash[MAX_GEN_SERIES];
static names_t gens = {MAX_GEN_SERIES, 0, gen_keys, gen_hash};
static _Atomic ull gen_data[MAX_GEN_SERIES];

static _Atomic ull cache_data[N_LEVELS][2]; /* [level][hit] */

static _Atomic ull total_requests, total_errors, total_ns;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_all(void) {
    for (size_t i = 0; i < MAX_ROUTES; i++) hist_init(&route_data[i].lat);
    for (size_t i = 0; i < MAX_ENGINES; i++) {
        hist_init(&engine_data[i].dur);
        pthread_mutex_init(&engine_data[i].tps_mu, NULL);
    }
}

void metrics_init(void) { pthread_once(&init_once, init_all); }

#define ADD(a, v) atomic_fetch_add_explicit(&(a), (v), memory_order_relaxed)
#define GET(a) atomic_load_explicit(&(a), memory_order_relaxed)

/* ---- recording --------------------------------------------------------- */

static int method_index(const char *m) {
    for (size_t i = 0; m && i + 1 < N_METHODS; i++)
        if (strcmp(m, METHODS[i]) == 0) return (int)i;
    return (int)N_METHODS - 1;
}

static http_series_t *http_slot(int route, int method, int status) {
    size_t n = atomic_load_explicit(&http_n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (http_data[i].route == route && http_data[i].method == method && http_data[i].status == status)
            return &http_data[i];
    http_series_t *s = NULL;
    pthread_mutex_lock(&reg_mu);
    n = atomic_load_explicit(&http_n, memory_order_relaxed);
    for (size_t i = 0; i < n && !s; i++)
        if (http_data[i].route == route && http_data[i].method == method && http_data[i].status == status)
            s = &http_data[i];
    if (!s && n + 1 >= MAX_HTTP_SERIES) { /* full: fold into the overflow series */
        route = -1, method = (int)N_METHODS - 1, status = 0;
        for (size_t i = 0; i < n && !s; i++)
            if (http_data[i].route == -1) s = &http_data[i];
    }
    if (!s && n < MAX_HTTP_SERIES) {
        s = &http_data[n];
        s->route = route, s->method = method, s->status = status;
        atomic_store_explicit(&s->n, 0, memory_order_relaxed);
        atomic_store_explicit(&http_n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&reg_mu);
    return s ? s : &http_data[MAX_HTTP_SERIES - 1]; /* unreachable: the overflow slot is always kept */
}

void metrics_http(const char *route, const char *method, int status, double seconds) {
    metrics_init();
    char key[KEY_MAX];
    norm_label(key, sizeof key, route);
    if (status < 100 || status > 599) status = 0;
    if (!(seconds >= 0)) seconds = 0;
    if (seconds > 1e6) seconds = 1e6;
    int r = names_slot(&routes, key, OTHER);
    route_series_t *rs = &route_data[r];
    ADD(rs->requests, 1);
    if (status >= 500) ADD(rs->errors, 1);
    hist_add(&rs->lat, seconds);
    ADD(http_slot(r, method_index(method), status)->n, 1);
    ADD(total_requests, 1);
    if (status >= 500) ADD(total_errors, 1);
    ADD(total_ns, (ull)(seconds * 1e9));
}

static engine_series_t *engine_get(const char *engine) {
    char key[KEY_MAX];
    norm_label(key, sizeof key, engine);
    return &engine_data[names_slot(&engines, key, OTHER)];
}

/* Tokens per second of generation time over the batches that finished in
 * the last TPS_WINDOW seconds: the engine's speed while working, not
 * diluted by idle time. Caller holds tps_mu. */
static double tps_locked(engine_series_t *e, double now) {
    double secs = 0, toks = 0;
    for (size_t i = 0; i < e->ring_len; i++) {
        const tps_sample_t *s = &e->ring[i];
        if (now - s->at > TPS_WINDOW) continue;
        secs += s->seconds;
        toks += (double)s->tokens;
    }
    return secs > 0 ? toks / secs : 0;
}

void metrics_engine(const char *engine, size_t batch_size, size_t errors, unsigned long tokens,
                    double seconds) {
    metrics_init();
    engine_series_t *e = engine_get(engine);
    if (!(seconds >= 0)) seconds = 0;
    if (errors > batch_size) errors = batch_size;
    ADD(e->batches, 1);
    ADD(e->items, batch_size);
    ADD(e->errors, errors);
    ADD(e->tokens, tokens);
    if (batch_size <= BATCH_EXACT_MAX) {
        ADD(e->batch_exact[batch_size], 1);
    } else {
        ADD(e->batch_over, 1);
        ADD(e->batch_over_sum, batch_size);
    }
    hist_add(&e->dur, seconds);
    pthread_mutex_lock(&e->tps_mu);
    e->ring[e->ring_next] = (tps_sample_t){now_mono(), seconds, tokens};
    e->ring_next = (e->ring_next + 1) % TPS_RING;
    if (e->ring_len < TPS_RING) e->ring_len++;
    pthread_mutex_unlock(&e->tps_mu);
}

void metrics_cache(const char *level, int hit) {
    int l = LEVEL_OTHER;
    if (level && strcmp(level, "memory") == 0) l = LEVEL_MEMORY;
    else if (level && strcmp(level, "redis") == 0) l = LEVEL_REDIS;
    ADD(cache_data[l][hit ? 1 : 0], 1);
}

void metrics_breaker(const char *engine, int state) {
    metrics_init();
    engine_series_t *e = engine_get(engine);
    if (state < 0 || state > 2) state = 1; /* unknown: report it as not closed */
    atomic_store(&e->breaker, state);
    atomic_store(&e->breaker_set, 1);
}

void metrics_generation(const char *engine, const char *source) {
    char a[LABEL_PART_MAX], b[LABEL_PART_MAX], key[KEY_MAX];
    norm_label(a, sizeof a, engine);
    norm_label(b, sizeof b, source);
    snprintf(key, sizeof key, "%s%c%s", a, PAIR_SEP, b);
    static const char other_pair[] = OTHER "\x1f" OTHER;
    ADD(gen_data[names_slot(&gens, key, other_pair)], 1);
}

/* ---- reading ----------------------------------------------------------- */

void metrics_totals(metrics_totals_t *out) {
    ull req = GET(total_requests);
    out->requests = req;
    out->errors = GET(total_errors);
    out->mean_seconds = req ? (double)GET(total_ns) / 1e9 / (double)req : 0;
    ull hits = 0, lookups = 0;
    for (int l = 0; l < N_LEVELS; l++) {
        hits += GET(cache_data[l][1]);
        lookups += GET(cache_data[l][0]) + GET(cache_data[l][1]);
    }
    out->cache_hit_ratio = lookups ? (double)hits / (double)lookups : 0;
}

static double round_to(double v, double scale) {
    if (!isfinite(v)) return 0;
    return round(v * scale) / scale;
}

static double engine_tps(engine_series_t *e) {
    pthread_mutex_lock(&e->tps_mu);
    double v = tps_locked(e, now_mono());
    pthread_mutex_unlock(&e->tps_mu);
    return v;
}

static json_t *engine_json(engine_series_t *e) {
    hist_data_t d;
    hist_snapshot(&e->dur, &d);
    ull items = GET(e->items), errors = GET(e->errors);
    json_t *sizes = json_object();
    char k[24];
    for (size_t s = 0; s <= BATCH_EXACT_MAX; s++) {
        ull n = GET(e->batch_exact[s]);
        if (!n) continue;
        snprintf(k, sizeof k, "%zu", s);
        json_object_set_new(sizes, k, json_integer((json_int_t)n));
    }
    if (GET(e->batch_over)) {
        snprintf(k, sizeof k, ">%d", BATCH_EXACT_MAX);
        json_object_set_new(sizes, k, json_integer((json_int_t)GET(e->batch_over)));
    }
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer((json_int_t)items));
    json_object_set_new(o, "errors", json_integer((json_int_t)errors));
    json_object_set_new(o, "items_generated", json_integer((json_int_t)(items >= errors ? items - errors : 0)));
    json_object_set_new(o, "tokens_generated", json_integer((json_int_t)GET(e->tokens)));
    json_object_set_new(o, "batches", json_integer((json_int_t)GET(e->batches)));
    json_object_set_new(o, "mean_latency_ms", json_real(round_to(hist_data_mean(&d) * 1e3, 1e3)));
    json_object_set_new(o, "p50_latency_ms", json_real(round_to(hist_data_quantile(&d, 0.50) * 1e3, 1e3)));
    json_object_set_new(o, "p95_latency_ms", json_real(round_to(hist_data_quantile(&d, 0.95) * 1e3, 1e3)));
    json_object_set_new(o, "p99_latency_ms", json_real(round_to(hist_data_quantile(&d, 0.99) * 1e3, 1e3)));
    json_object_set_new(o, "batch_sizes", sizes);
    json_object_set_new(o, "tokens_per_second", json_real(round_to(engine_tps(e), 1e2)));
    return o;
}

static json_t *route_json(size_t r) {
    route_series_t *rs = &route_data[r];
    hist_data_t d;
    hist_snapshot(&rs->lat, &d);
    json_t *by_status = json_object();
    size_t n = atomic_load_explicit(&http_n, memory_order_acquire);
    char k[16];
    for (size_t i = 0; i < n; i++) {
        http_series_t *s = &http_data[i];
        if (s->route != (int)r) continue;
        snprintf(k, sizeof k, "%d", s->status);
        json_int_t prev = json_integer_value(json_object_get(by_status, k)); /* 0 when absent */
        json_object_set_new(by_status, k, json_integer(prev + (json_int_t)GET(s->n)));
    }
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer((json_int_t)GET(rs->requests)));
    json_object_set_new(o, "errors", json_integer((json_int_t)GET(rs->errors)));
    json_object_set_new(o, "mean_ms", json_real(round_to(hist_data_mean(&d) * 1e3, 1e3)));
    json_object_set_new(o, "p50_ms", json_real(round_to(hist_data_quantile(&d, 0.50) * 1e3, 1e3)));
    json_object_set_new(o, "p95_ms", json_real(round_to(hist_data_quantile(&d, 0.95) * 1e3, 1e3)));
    json_object_set_new(o, "p99_ms", json_real(round_to(hist_data_quantile(&d, 0.99) * 1e3, 1e3)));
    json_object_set_new(o, "by_status", by_status);
    return o;
}

json_t *metrics_performance_json(void) {
    metrics_init();
    json_t *es = json_object();
    size_t ne = names_count(&engines);
    for (size_t i = 0; i < ne; i++) json_object_set_new(es, engine_keys[i], engine_json(&engine_data[i]));

    metrics_totals_t t;
    metrics_totals(&t);
    json_t *rt = json_object();
    size_t nr = names_count(&routes);
    for (size_t i = 0; i < nr; i++) json_object_set_new(rt, route_keys[i], route_json(i));
    json_t *api = json_object();
    json_object_set_new(api, "total_requests", json_integer((json_int_t)t.requests));
    json_object_set_new(api, "average_response_time", json_real(round_to(t.mean_seconds, 1e6)));
    json_object_set_new(api, "error_rate",
                        json_real(t.requests ? round_to(100.0 * (double)t.errors / (double)t.requests, 1e2) : 0));
    json_object_set_new(api, "cache_hit_ratio", json_real(round_to(t.cache_hit_ratio, 1e4)));
    json_object_set_new(api, "routes", rt);

    json_t *o = json_object();
    json_object_set_new(o, "engine_stats", es);
    json_object_set_new(o, "api_stats", api);
    return o;
}

/* ---- Prometheus text format ------------------------------------------- */

/* Label value escaping of the text format: backslash, quote, newline. */
static void put_label(buf_t *b, const char *s) {
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '\\') buf_puts(b, "\\\\");
        else if (*s == '"') buf_puts(b, "\\\"");
        else if (*s == '\n') buf_puts(b, "\\n");
        else buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void put_value(buf_t *b, double v) {
    if (isnan(v)) buf_puts(b, "NaN");
    else if (isinf(v)) buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else buf_printf(b, "%.15g", v);
}

static void family(buf_t *b, const char *name, const char *type, const char *help) {
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} for the one-label series below */
static void series1(buf_t *b, const char *name, const char *label, const char *value) {
    buf_printf(b, "%s{%s=", name, label);
    put_label(b, value);
    buf_putc(b, '}');
}

static void render_http(buf_t *b) {
    family(b, "copyd_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.");
    size_t n = atomic_load_explicit(&http_n, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        http_series_t *s = &http_data[i];
        buf_puts(b, "copyd_http_requests_total{route=");
        put_label(b, s->route >= 0 ? route_keys[s->route] : OTHER);
        buf_printf(b, ",method=\"%s\",status=", METHODS[s->method]);
        if (s->status) buf_printf(b, "\"%d\"", s->status);
        else buf_puts(b, "\"" OTHER "\"");
        buf_printf(b, "} %llu\n", GET(s->n));
    }

    const char *h = "copyd_http_request_duration_seconds";
    family(b, h, "histogram", "Time to answer HTTP requests, by route pattern.");
    size_t nr = names_count(&routes);
    hist_data_t d;
    for (size_t r = 0; r < nr; r++) {
        hist_snapshot(&route_data[r].lat, &d);
        for (size_t i = 0; i <= HIST_PROM_N; i++) {
            buf_printf(b, "%s_bucket{route=", h);
            put_label(b, route_keys[r]);
            if (i < HIST_PROM_N) buf_printf(b, ",le=\"%g\"} ", HIST_PROM_BOUNDS[i]);
            else buf_puts(b, ",le=\"+Inf\"} ");
            buf_printf(b, "%llu\n", (ull)hist_data_cumulative(&d, i));
        }
        buf_printf(b, "%s_sum{route=", h);
        put_label(b, route_keys[r]);
        buf_puts(b, "} ");
        put_value(b, d.sum);
        buf_printf(b, "\n%s_count{route=", h);
        put_label(b, route_keys[r]);
        buf_printf(b, "} %llu\n", (ull)d.count);
    }
}

static void render_generations(buf_t *b) {
    family(b, "copyd_generations_total", "counter",
           "Generations answered, by engine and by who answered (engine, memory, redis).");
    size_t n = names_count(&gens);
    for (size_t i = 0; i < n; i++) {
        char key[KEY_MAX];
        memcpy(key, gen_keys[i], KEY_MAX);
        char *sep = strchr(key, PAIR_SEP);
        const char *src = OTHER;
        if (sep) *sep = '\0', src = sep + 1;
        buf_puts(b, "copyd_generations_total{engine=");
        put_label(b, key);
        buf_puts(b, ",source=");
        put_label(b, src);
        buf_printf(b, "} %llu\n", GET(gen_data[i]));
    }
}

static void engine_counter(buf_t *b, const char *name, const char *help, size_t off) {
    family(b, name, "counter", help);
    size_t n = names_count(&engines);
    for (size_t i = 0; i < n; i++) {
        _Atomic ull *c = (_Atomic ull *)((char *)&engine_data[i] + off);
        series1(b, name, "engine", engine_keys[i]);
        buf_printf(b, " %llu\n", GET(*c));
    }
}

static void render_engines(buf_t *b) {
    engine_counter(b, "copyd_engine_batches_total", "Engine calls (one call decodes a batch of items).",
                   offsetof(engine_series_t, batches));
    engine_counter(b, "copyd_engine_items_total", "Items submitted to the engine (sum of batch sizes).",
                   offsetof(engine_series_t, items));
    engine_counter(b, "copyd_engine_errors_total", "Items the engine failed to generate.",
                   offsetof(engine_series_t, errors));
    engine_counter(b, "copyd_engine_tokens_total", "Tokens generated by the engine.",
                   offsetof(engine_series_t, tokens));

    size_t n = names_count(&engines);
    static const unsigned size_bounds[] = {1, 2, 4, 8, 16, 32, 64};
    const size_t nsb = sizeof size_bounds / sizeof size_bounds[0];
    const char *bs = "copyd_engine_batch_size";
    family(b, bs, "histogram", "Items per engine call.");
    for (size_t i = 0; i < n; i++) {
        engine_series_t *e = &engine_data[i];
        /* Count, sum and buckets all come from one read of the exact
         * counts, so +Inf always equals _count. */
        ull exact[BATCH_EXACT_MAX + 1], count = 0, sum = 0;
        for (size_t s = 0; s <= BATCH_EXACT_MAX; s++) {
            exact[s] = GET(e->batch_exact[s]);
            count += exact[s];
            sum += exact[s] * s;
        }
        ull over = GET(e->batch_over);
        count += over;
        sum += GET(e->batch_over_sum);
        ull cum = 0;
        size_t s = 0;
        for (size_t k = 0; k <= nsb; k++) {
            if (k < nsb) {
                for (; s <= size_bounds[k]; s++) cum += exact[s];
            }
            buf_printf(b, "%s_bucket{engine=", bs);
            put_label(b, engine_keys[i]);
            if (k < nsb) buf_printf(b, ",le=\"%u\"} %llu\n", size_bounds[k], cum);
            else buf_printf(b, ",le=\"+Inf\"} %llu\n", count);
        }
        buf_printf(b, "%s_sum{engine=", bs);
        put_label(b, engine_keys[i]);
        buf_printf(b, "} %llu\n%s_count{engine=", sum, bs);
        put_label(b, engine_keys[i]);
        buf_printf(b, "} %llu\n", count);
    }

    const char *ed = "copyd_engine_duration_seconds";
    family(b, ed, "histogram", "Time of one engine call.");
    hist_data_t d;
    for (size_t i = 0; i < n; i++) {
        hist_snapshot(&engine_data[i].dur, &d);
        for (size_t k = 0; k <= HIST_PROM_N; k++) {
            buf_printf(b, "%s_bucket{engine=", ed);
            put_label(b, engine_keys[i]);
            if (k < HIST_PROM_N) buf_printf(b, ",le=\"%g\"} ", HIST_PROM_BOUNDS[k]);
            else buf_puts(b, ",le=\"+Inf\"} ");
            buf_printf(b, "%llu\n", (ull)hist_data_cumulative(&d, k));
        }
        buf_printf(b, "%s_sum{engine=", ed);
        put_label(b, engine_keys[i]);
        buf_puts(b, "} ");
        put_value(b, d.sum);
        buf_printf(b, "\n%s_count{engine=", ed);
        put_label(b, engine_keys[i]);
        buf_printf(b, "} %llu\n", (ull)d.count);
    }

    family(b, "copyd_engine_tokens_per_second", "gauge",
           "Tokens per second of generation time over the batches of the last minute.");
    for (size_t i = 0; i < n; i++) {
        series1(b, "copyd_engine_tokens_per_second", "engine", engine_keys[i]);
        buf_putc(b, ' ');
        put_value(b, engine_tps(&engine_data[i]));
        buf_putc(b, '\n');
    }

    family(b, "copyd_breaker_state", "gauge", "Circuit breaker per engine: 0 closed, 1 open, 2 half-open.");
    for (size_t i = 0; i < n; i++) {
        if (!atomic_load(&engine_data[i].breaker_set)) continue;
        series1(b, "copyd_breaker_state", "engine", engine_keys[i]);
        buf_printf(b, " %d\n", atomic_load(&engine_data[i].breaker));
    }
}

static void render_cache(buf_t *b) {
    family(b, "copyd_cache_requests_total", "counter", "Cache lookups by level and result.");
    for (int l = 0; l < N_LEVELS; l++) {
        if (l == LEVEL_OTHER && !GET(cache_data[l][0]) && !GET(cache_data[l][1])) continue;
        for (int hit = 1; hit >= 0; hit--)
            buf_printf(b, "copyd_cache_requests_total{level=\"%s\",result=\"%s\"} %llu\n", LEVELS[l],
                       hit ? "hit" : "miss", GET(cache_data[l][hit]));
    }
}

/* Reads a small /proc file whole into `out`; 0 on success. */
static int read_small(const char *path, char *out, size_t max) {
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    size_t n = fread(out, 1, max - 1, f);
    fclose(f);
    out[n] = '\0';
    return n ? 0 : -1;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int self = dirfd(d), n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (atoi(de->d_name) == self) continue; /* the descriptor reading the list */
        n++;
    }
    closedir(d);
    return n;
}

static void render_process(buf_t *b) {
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
    char text[4096];

    unsigned long long vsz_pages, rss_pages;
    if (page > 0 && read_small("/proc/self/statm", text, sizeof text) == 0 &&
        sscanf(text, "%llu %llu", &vsz_pages, &rss_pages) == 2) {
        family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        buf_printf(b, "process_resident_memory_bytes %llu\n", rss_pages * (ull)page);
        family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        buf_printf(b, "process_virtual_memory_bytes %llu\n", vsz_pages * (ull)page);
    }

    /* /proc/self/stat: the command name (field 2) may hold spaces and
     * parentheses, so fields are counted from the last ')'. */
    char *rp;
    if (ticks > 0 && read_small("/proc/self/stat", text, sizeof text) == 0 && (rp = strrchr(text, ')')) != NULL) {
        ull f[24] = {0};
        int nf = 0;
        char *save = NULL;
        for (char *tok = strtok_r(rp + 1, " \n", &save); tok && nf < 24; tok = strtok_r(NULL, " \n", &save))
            f[nf++] = strtoull(tok, NULL, 10); /* f[0] is field 3 (state, reads as 0) */
        if (nf >= 20) {
            double cpu = (double)(f[11] + f[12]) / (double)ticks; /* utime + stime */
            family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
            buf_puts(b, "process_cpu_seconds_total ");
            put_value(b, cpu);
            buf_putc(b, '\n');
            char st[8192];
            char *bt;
            unsigned long long btime;
            if (read_small("/proc/stat", st, sizeof st) == 0 && (bt = strstr(st, "\nbtime ")) != NULL &&
                sscanf(bt + 7, "%llu", &btime) == 1) {
                family(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
                buf_puts(b, "process_start_time_seconds ");
                put_value(b, (double)btime + (double)f[19] / (double)ticks);
                buf_putc(b, '\n');
            }
        }
    }

    int fds = count_fds();
    if (fds >= 0) {
        family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        buf_printf(b, "process_open_fds %d\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        buf_printf(b, "process_max_fds %llu\n", (ull)rl.rlim_cur);
    }
}

void metrics_render_prometheus(buf_t *out) {
    metrics_init();
    render_http(out);
    render_generations(out);
    render_engines(out);
    render_cache(out);
    render_process(out);
}

void metrics_reset(void) {
    metrics_init();
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < MAX_ROUTES; i++) {
        hist_reset(&route_data[i].lat);
        atomic_store(&route_data[i].requests, 0);
        atomic_store(&route_data[i].errors, 0);
    }
    atomic_store(&routes.n, 0);
    atomic_store(&http_n, 0);
    for (size_t i = 0; i < MAX_ENGINES; i++) {
        engine_series_t *e = &engine_data[i];
        atomic_store(&e->batches, 0);
        atomic_store(&e->items, 0);
        atomic_store(&e->errors, 0);
        atomic_store(&e->tokens, 0);
        atomic_store(&e->breaker, 0);
        atomic_store(&e->breaker_set, 0);
        hist_reset(&e->dur);
        for (size_t s = 0; s <= BATCH_EXACT_MAX; s++) atomic_store(&e->batch_exact[s], 0);
        atomic_store(&e->batch_over, 0);
        atomic_store(&e->batch_over_sum, 0);
        pthread_mutex_lock(&e->tps_mu);
        e->ring_next = e->ring_len = 0;
        pthread_mutex_unlock(&e->tps_mu);
    }
    atomic_store(&engines.n, 0);
    for (size_t i = 0; i < MAX_GEN_SERIES; i++) atomic_store(&gen_data[i], 0);
    atomic_store(&gens.n, 0);
    for (int l = 0; l < N_LEVELS; l++) atomic_store(&cache_data[l][0], 0), atomic_store(&cache_data[l][1], 0);
    atomic_store(&total_requests, 0);
    atomic_store(&total_errors, 0);
    atomic_store(&total_ns, 0);
    pthread_mutex_unlock(&reg_mu);
}
