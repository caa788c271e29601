/* test_metrics.c -- histogram quantiles, the Prometheus text (parsed back
 * line by line), label escaping, the performance JSON, series caps and
 * concurrent recording. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "stats/histogram.h"
#include "stats/metrics.h"
#include "test.h"

static int near(double got, double want, double rel) {
    return fabs(got - want) <= rel * fabs(want);
}

/* ---- histogram ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exact quantile by the same rank rule the histogram uses (value at rank
 * ceil(q*n)). */
static double exact_quantile(const double *sorted, size_t n, double q) {
    size_t r = (size_t)ceil(q * (double)n);
    if (r < 1) r = 1;
    return sorted[r - 1];
}

static void test_histogram_uniform(void) {
    histogram_t h;
    hist_init(&h);
    /* 1..1000 ms, in a scrambled order so nothing depends on arrival order. */
    for (int i = 0; i < 1000; i++) {
        int v = (i * 7919) % 1000 + 1;
        hist_add(&h, v / 1000.0);
    }
    hist_data_t d;
    hist_snapshot(&h, &d);
    CHECK(d.count == 1000);
    CHECK(near(d.sum, 500.5, 1e-9));
    CHECK(near(hist_data_mean(&d), 0.5005, 1e-9));
    CHECK(near(hist_data_quantile(&d, 0.50), 0.500, 0.02));
    CHECK(near(hist_data_quantile(&d, 0.95), 0.950, 0.02));
    CHECK(near(hist_data_quantile(&d, 0.99), 0.990, 0.02));
    CHECK(near(hist_data_quantile(&d, 0.10), 0.100, 0.02));
    CHECK(hist_data_quantile(&d, 0) == 0.001);
    CHECK(hist_data_quantile(&d, 1) == 1.0);
    /* Prometheus bounds: value <= le. */
    CHECK(hist_data_cumulative(&d, 0) == 0);     /* 0.0005 */
    CHECK(hist_data_cumulative(&d, 1) == 1);     /* 0.001 */
    CHECK(hist_data_cumulative(&d, 2) == 2);     /* 0.0025 */
    CHECK(hist_data_cumulative(&d, 4) == 10);    /* 0.01 */
    CHECK(hist_data_cumulative(&d, 7) == 100);   /* 0.1 */
    CHECK(hist_data_cumulative(&d, 9) == 500);   /* 0.5 */
    CHECK(hist_data_cumulative(&d, 10) == 1000); /* 1 */
    CHECK(hist_data_cumulative(&d, HIST_PROM_N) == 1000);
    CHECK(fabs(hist_quantile(&h, 0.5) - hist_data_quantile(&d, 0.5)) < 1e-12);
    hist_reset(&h);
    hist_snapshot(&h, &d);
    CHECK(d.count == 0 && hist_data_quantile(&d, 0.5) == 0 && hist_data_mean(&d) == 0);
    hist_destroy(&h);
}

/* Log-uniform over 2 us .. 50 s (seven decades): every quantile within 3%
 * of the exact one. */
static void test_histogram_log_uniform(void) {
    enum { N = 20000 };
    static double v[N];
    hist_data_t d;
    hist_data_clear(&d);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double u = (double)(x >> 11) / 9007199254740992.0;
        v[i] = 2e-6 * pow(10.0, u * log10(50 / 2e-6));
        hist_data_add(&d, v[i]);
    }
    qsort(v, N, sizeof v[0], cmp_double);
    const double qs[] = {0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = exact_quantile(v, N, qs[i]), got = hist_data_quantile(&d, qs[i]);
        if (!near(got, want, 0.03)) fprintf(stderr, "q=%g got %g want %g\n", qs[i], got, want);
        CHECK(near(got, want, 0.03));
    }
    /* Quantiles never decrease with q. */
    double prev = 0;
    int monotone = 1;
    for (int i = 0; i <= 100; i++) {
        double q = hist_data_quantile(&d, i / 100.0);
        if (q < prev) monotone = 0;
        prev = q;
    }
    CHECK(monotone);
}

static void test_histogram_edges(void) {
    hist_data_t d;
    hist_data_clear(&d);
    hist_data_add(&d, 0.0421);
    CHECK(hist_data_quantile(&d, 0.5) == 0.0421); /* one value: exact */
    CHECK(hist_data_quantile(&d, 0.99) == 0.0421);
    hist_data_clear(&d);
    hist_data_add(&d, -3);      /* counts as 0 */
    hist_data_add(&d, NAN);     /* counts as 0 */
    hist_data_add(&d, INFINITY); /* clamped */
    hist_data_add(&d, 5e-8);    /* below the fine range */
    hist_data_add(&d, 250);     /* above the fine range */
    CHECK(d.count == 5);
    CHECK(isfinite(d.sum));
    CHECK(d.min == 0);
    CHECK(hist_data_cumulative(&d, 0) == 3); /* 0, 0, 5e-8 */
    CHECK(hist_data_cumulative(&d, HIST_PROM_N - 1) == 3);
    CHECK(hist_data_cumulative(&d, HIST_PROM_N) == 5);
    CHECK(hist_data_cumulative(&d, 999) == 5); /* out of range index = +Inf */
    double p = hist_data_quantile(&d, 0.7);
    CHECK(p >= 100 && p <= 1e9); /* rank 3.5 of 5 lies in the overflow bucket [100 s, max] */
    CHECK(d.max == 1e9);
    CHECK(hist_data_quantile(&d, NAN) == 0);
    /* A value exactly on a Prometheus bound belongs to that bucket. */
    hist_data_clear(&d);
    for (size_t i = 0; i < HIST_PROM_N; i++) hist_data_add(&d, HIST_PROM_BOUNDS[i]);
    for (size_t i = 0; i < HIST_PROM_N; i++) CHECK(hist_data_cumulative(&d, i) == i + 1);
}

/* ---- a small parser for the Prometheus text format ----------------------- */

typedef struct sample {
    char name[128];
    char labels[512]; /* raw text between the braces, escapes kept */
    double value;
} sample_t;

typedef struct families {
    char name[64][96];
    char type[64][16];
    int help[64];
    int n;
} families_t;

/* Parses one label set, checking its syntax: name="value" pairs separated by
 * commas, values with only \\ \" \n escapes. Returns 0 if well formed. */
static int check_labels(const char *s) {
    while (*s) {
        const char *p = s;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (p > s && *p >= '0' && *p <= '9')) p++;
        if (p == s || p[0] != '=' || p[1] != '"') return -1;
        p += 2;
        while (*p && *p != '"') {
            if (*p == '\n') return -1;
            if (*p == '\\') {
                if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') return -1;
                p++;
            }
            p++;
        }
        if (*p != '"') return -1;
        p++;
        if (*p == ',') p++;
        else if (*p) return -1;
        s = p;
    }
    return 0;
}

/* Splits the exposition into samples; every line must be a comment
 * (# HELP / # TYPE) or `name{labels} value` / `name value`. Returns the
 * number of samples, -1 on the first malformed line (printed). */
static int parse_exposition(const char *text, sample_t *out, int max, families_t *fam) {
    int n = 0;
    fam->n = 0;
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        if (!eol) { fprintf(stderr, "no final newline\n"); return -1; }
        char l[1024];
        size_t len = (size_t)(eol - line);
        if (len >= sizeof l) { fprintf(stderr, "line too long\n"); return -1; }
        memcpy(l, line, len);
        l[len] = '\0';
        line = eol + 1;
        if (l[0] == '#') {
            char kind[8], name[96], rest[256];
            if (sscanf(l, "# %7s %95s %255[^\n]", kind, name, rest) != 3) { fprintf(stderr, "bad comment: %s\n", l); return -1; }
            int f = -1;
            for (int i = 0; i < fam->n; i++) if (strcmp(fam->name[i], name) == 0) f = i;
            if (strcmp(kind, "HELP") == 0) {
                if (f >= 0 || fam->n == 64) { fprintf(stderr, "HELP twice: %s\n", name); return -1; }
                f = fam->n++;
                snprintf(fam->name[f], sizeof fam->name[f], "%s", name);
                fam->type[f][0] = '\0';
                fam->help[f] = 1;
            } else if (strcmp(kind, "TYPE") == 0) {
                if (f < 0 || fam->type[f][0]) { fprintf(stderr, "TYPE without HELP: %s\n", name); return -1; }
                snprintf(fam->type[f], sizeof fam->type[f], "%.15s", rest);
            } else {
                fprintf(stderr, "bad comment: %s\n", l);
                return -1;
            }
            continue;
        }
        if (n == max) { fprintf(stderr, "too many samples\n"); return -1; }
        sample_t *s = &out[n];
        char *p = l;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':' || (p > l && *p >= '0' && *p <= '9')) p++;
        if (p == l || (size_t)(p - l) >= sizeof s->name) { fprintf(stderr, "bad name: %s\n", l); return -1; }
        memcpy(s->name, l, (size_t)(p - l));
        s->name[p - l] = '\0';
        s->labels[0] = '\0';
        if (*p == '{') {
            /* find the closing brace outside quotes */
            char *q = p + 1;
            int inq = 0;
            for (; *q && (inq || *q != '}'); q++) {
                if (inq && *q == '\\' && q[1]) q++;
                else if (*q == '"') inq = !inq;
            }
            if (*q != '}') { fprintf(stderr, "unclosed labels: %s\n", l); return -1; }
            size_t ll = (size_t)(q - p - 1);
            if (ll >= sizeof s->labels) return -1;
            memcpy(s->labels, p + 1, ll);
            s->labels[ll] = '\0';
            if (check_labels(s->labels) != 0) { fprintf(stderr, "bad labels: %s\n", l); return -1; }
            p = q + 1;
        }
        if (*p != ' ') { fprintf(stderr, "no space before value: %s\n", l); return -1; }
        p++;
        char *end;
        if (strcmp(p, "+Inf") == 0) s->value = INFINITY;
        else if (strcmp(p, "NaN") == 0) s->value = NAN;
        else {
            s->value = strtod(p, &end);
            if (end == p || *end) { fprintf(stderr, "bad value: %s\n", l); return -1; }
        }
        n++;
    }
    return n;
}

/* The family a sample belongs to: its name, or the histogram it is the
 * _bucket/_sum/_count of. */
static int family_of(const families_t *fam, const char *name) {
    for (int i = 0; i < fam->n; i++) {
        size_t fl = strlen(fam->name[i]);
        if (strcmp(fam->name[i], name) == 0) return i;
        if (strcmp(fam->type[i], "histogram") == 0 && strncmp(name, fam->name[i], fl) == 0 &&
            (strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 || strcmp(name + fl, "_count") == 0))
            return i;
    }
    return -1;
}

static const sample_t *find(const sample_t *s, int n, const char *name, const char *labels) {
    for (int i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0 && strcmp(s[i].labels, labels) == 0) return &s[i];
    return NULL;
}

static double value_of(const sample_t *s, int n, const char *name, const char *labels) {
    const sample_t *x = find(s, n, name, labels);
    if (!x) fprintf(stderr, "missing %s{%s}\n", name, labels);
    return x ? x->value : -1;
}

/* Checks every histogram series of `base` whose labels start with
 * `selector` (e.g. `route="/x"`): buckets cumulative, bounds ascending,
 * last +Inf == _count. Returns the number of series checked. */
static int check_histogram(const sample_t *s, int n, const char *base, const char *selector, double *count_out) {
    char bucket[128], countn[128];
    snprintf(bucket, sizeof bucket, "%s_bucket", base);
    snprintf(countn, sizeof countn, "%s_count", base);
    size_t sl = strlen(selector);
    double prev_le = -1, prev_v = -1, inf = -1;
    int nb = 0, ok = 1;
    for (int i = 0; i < n; i++) {
        if (strcmp(s[i].name, bucket) != 0 || strncmp(s[i].labels, selector, sl) != 0 ||
            strncmp(s[i].labels + sl, ",le=\"", 5) != 0)
            continue;
        const char *le = s[i].labels + sl + 5;
        double bound = strncmp(le, "+Inf\"", 5) == 0 ? INFINITY : strtod(le, NULL);
        if (bound <= prev_le || s[i].value < prev_v) ok = 0;
        prev_le = bound, prev_v = s[i].value;
        if (isinf(bound)) inf = s[i].value;
        nb++;
    }
    CHECK(ok);
    CHECK(nb > 1);
    CHECK(isinf(prev_le));
    double c = value_of(s, n, countn, selector);
    CHECK(inf == c);
    if (count_out) *count_out = c;
    return nb;
}

static sample_t samples[4096];

static void test_prometheus(void) {
    metrics_reset();
    const char *gen = "/copywriting/v11/generate";
    for (int i = 1; i <= 40; i++) metrics_http(gen, "POST", 200, i / 1000.0);
    for (int i = 0; i < 3; i++) metrics_http(gen, "POST", 503, 2.0);
    metrics_http(gen, "GET", 405, 0.0001);
    metrics_http("/copywriting/metrics", "GET", 200, 0.003);
    metrics_http("unmatched", "BREW", 404, 0.0002);      /* unknown method folds to "other" */
    metrics_http("/a\"b\\c\nd", "GET", 200, 0.01);        /* needs escaping */
    metrics_engine("local", 4, 1, 400, 0.8);
    metrics_engine("local", 1, 0, 100, 0.2);
    metrics_engine("local", 64, 0, 6400, 3.0);
    metrics_engine("local", 65, 0, 10, 3.0);
    metrics_engine("template", 1, 0, 0, 0.001);
    metrics_cache("memory", 1);
    metrics_cache("memory", 0);
    metrics_cache("memory", 0);
    metrics_cache("redis", 1);
    metrics_breaker("local", 2);
    metrics_generation("local", "engine");
    metrics_generation("local", "engine");
    metrics_generation("local", "memory");

    buf_t b = BUF_INIT;
    metrics_render_prometheus(&b);
    CHECK(!b.oom && b.p);
    families_t fam;
    int n = parse_exposition(b.p, samples, 4096, &fam);
    CHECK(n > 0);
    if (n <= 0) { fputs(b.p ? b.p : "", stderr); buf_free(&b); return; }

    /* Every family declared once with HELP and a known TYPE; every sample
     * belongs to a declared family. */
    for (int i = 0; i < fam.n; i++) {
        CHECK(fam.help[i]);
        CHECK(strcmp(fam.type[i], "counter") == 0 || strcmp(fam.type[i], "gauge") == 0 ||
              strcmp(fam.type[i], "histogram") == 0);
    }
    int orphans = 0;
    for (int i = 0; i < n; i++) if (family_of(&fam, samples[i].name) < 0) orphans++, fprintf(stderr, "orphan %s\n", samples[i].name);
    CHECK(orphans == 0);

    const char *c = "copyd_http_requests_total";
    CHECK(value_of(samples, n, c, "route=\"/copywriting/v11/generate\",method=\"POST\",status=\"200\"") == 40);
    CHECK(value_of(samples, n, c, "route=\"/copywriting/v11/generate\",method=\"POST\",status=\"503\"") == 3);
    CHECK(value_of(samples, n, c, "route=\"/copywriting/v11/generate\",method=\"GET\",status=\"405\"") == 1);
    CHECK(value_of(samples, n, c, "route=\"unmatched\",method=\"other\",status=\"404\"") == 1);
    /* escaping: backslash, quote and newline */
    CHECK(value_of(samples, n, c, "route=\"/a\\\"b\\\\c\\nd\",method=\"GET\",status=\"200\"") == 1);
    CHECK(strstr(b.p, "BREW") == NULL);

    const char *h = "copyd_http_request_duration_seconds";
    double cnt;
    CHECK(check_histogram(samples, n, h, "route=\"/copywriting/v11/generate\"", &cnt) == HIST_PROM_N + 1);
    CHECK(cnt == 44);
    /* 40 requests at 1..40 ms + one at 0.1 ms: le=0.01 holds 0.1 ms and 1..10 ms */
    CHECK(value_of(samples, n, "copyd_http_request_duration_seconds_bucket",
                   "route=\"/copywriting/v11/generate\",le=\"0.01\"") == 11);
    CHECK(value_of(samples, n, "copyd_http_request_duration_seconds_bucket",
                   "route=\"/copywriting/v11/generate\",le=\"0.0005\"") == 1);
    CHECK(value_of(samples, n, "copyd_http_request_duration_seconds_bucket",
                   "route=\"/copywriting/v11/generate\",le=\"1\"") == 41);
    CHECK(near(value_of(samples, n, "copyd_http_request_duration_seconds_sum", "route=\"/copywriting/v11/generate\""),
               0.82 + 6.0 + 0.0001, 1e-9));
    check_histogram(samples, n, h, "route=\"/a\\\"b\\\\c\\nd\"", &cnt);
    CHECK(cnt == 1);

    CHECK(value_of(samples, n, "copyd_engine_batches_total", "engine=\"local\"") == 4);
    CHECK(value_of(samples, n, "copyd_engine_items_total", "engine=\"local\"") == 134);
    CHECK(value_of(samples, n, "copyd_engine_errors_total", "engine=\"local\"") == 1);
    CHECK(value_of(samples, n, "copyd_engine_tokens_total", "engine=\"local\"") == 6910);
    CHECK(value_of(samples, n, "copyd_engine_batches_total", "engine=\"template\"") == 1);
    CHECK(check_histogram(samples, n, "copyd_engine_batch_size", "engine=\"local\"", &cnt) == 8);
    CHECK(cnt == 4);
    CHECK(value_of(samples, n, "copyd_engine_batch_size_bucket", "engine=\"local\",le=\"1\"") == 1);
    CHECK(value_of(samples, n, "copyd_engine_batch_size_bucket", "engine=\"local\",le=\"2\"") == 1);
    CHECK(value_of(samples, n, "copyd_engine_batch_size_bucket", "engine=\"local\",le=\"4\"") == 2);
    CHECK(value_of(samples, n, "copyd_engine_batch_size_bucket", "engine=\"local\",le=\"64\"") == 3);
    CHECK(value_of(samples, n, "copyd_engine_batch_size_sum", "engine=\"local\"") == 134);
    check_histogram(samples, n, "copyd_engine_duration_seconds", "engine=\"local\"", &cnt);
    CHECK(cnt == 4);
    CHECK(value_of(samples, n, "copyd_engine_duration_seconds_bucket", "engine=\"local\",le=\"2.5\"") == 2);
    /* tokens over generation time of the recent batches: 6910 / 7 s */
    CHECK(near(value_of(samples, n, "copyd_engine_tokens_per_second", "engine=\"local\""), 6910 / 7.0, 1e-6));
    CHECK(value_of(samples, n, "copyd_breaker_state", "engine=\"local\"") == 2);
    CHECK(find(samples, n, "copyd_breaker_state", "engine=\"template\"") == NULL); /* never reported */

    CHECK(value_of(samples, n, "copyd_cache_requests_total", "level=\"memory\",result=\"hit\"") == 1);
    CHECK(value_of(samples, n, "copyd_cache_requests_total", "level=\"memory\",result=\"miss\"") == 2);
    CHECK(value_of(samples, n, "copyd_cache_requests_total", "level=\"redis\",result=\"hit\"") == 1);
    CHECK(value_of(samples, n, "copyd_cache_requests_total", "level=\"redis\",result=\"miss\"") == 0);
    CHECK(value_of(samples, n, "copyd_generations_total", "engine=\"local\",source=\"engine\"") == 2);
    CHECK(value_of(samples, n, "copyd_generations_total", "engine=\"local\",source=\"memory\"") == 1);

    CHECK(value_of(samples, n, "process_resident_memory_bytes", "") > 1e5);
    CHECK(value_of(samples, n, "process_virtual_memory_bytes", "") >= value_of(samples, n, "process_resident_memory_bytes", ""));
    CHECK(value_of(samples, n, "process_open_fds", "") >= 3); /* stdin, stdout, stderr */
    CHECK(value_of(samples, n, "process_cpu_seconds_total", "") >= 0);
    double start = value_of(samples, n, "process_start_time_seconds", "");
    double now = (double)time(NULL);
    CHECK(start > now - 3600 && start <= now + 2);
    buf_free(&b);
}

static void test_performance_json(void) {
    metrics_reset();
    for (int i = 1; i <= 100; i++) metrics_http("/r", "POST", i <= 90 ? 200 : i <= 95 ? 422 : 500, i / 1000.0);
    metrics_http("/s", "GET", 200, 0.5);
    metrics_engine("local", 4, 1, 100, 0.1);
    metrics_engine("local", 4, 0, 300, 0.3);
    metrics_engine("local", 1, 0, 0, 0.2);
    metrics_cache("memory", 1);
    metrics_cache("memory", 1);
    metrics_cache("memory", 0);
    metrics_cache("redis", 0);

    json_t *j = metrics_performance_json();
    CHECK(j != NULL);
    json_t *e = json_object_get(json_object_get(j, "engine_stats"), "local");
    CHECK(json_is_object(e));
    CHECK(json_integer_value(json_object_get(e, "requests")) == 9);
    CHECK(json_integer_value(json_object_get(e, "errors")) == 1);
    CHECK(json_integer_value(json_object_get(e, "items_generated")) == 8);
    CHECK(json_integer_value(json_object_get(e, "tokens_generated")) == 400);
    CHECK(near(json_real_value(json_object_get(e, "mean_latency_ms")), 200, 1e-6));
    double p50 = json_real_value(json_object_get(e, "p50_latency_ms"));
    double p95 = json_real_value(json_object_get(e, "p95_latency_ms"));
    double p99 = json_real_value(json_object_get(e, "p99_latency_ms"));
    CHECK(p50 >= 100 && p50 <= 300 && p50 <= p95 && p95 <= p99 && p99 <= 300);
    json_t *bs = json_object_get(e, "batch_sizes");
    CHECK(json_integer_value(json_object_get(bs, "4")) == 2);
    CHECK(json_integer_value(json_object_get(bs, "1")) == 1);
    CHECK(json_object_size(bs) == 2);
    CHECK(near(json_real_value(json_object_get(e, "tokens_per_second")), 400 / 0.6, 1e-3));

    json_t *api = json_object_get(j, "api_stats");
    CHECK(json_integer_value(json_object_get(api, "total_requests")) == 101);
    /* (5.05 s + 0.5 s) / 101 */
    CHECK(near(json_real_value(json_object_get(api, "average_response_time")), 5.55 / 101, 1e-4));
    CHECK(near(json_real_value(json_object_get(api, "error_rate")), 500.0 / 101, 1e-3)); /* 5 of 101 are 5xx */
    CHECK(near(json_real_value(json_object_get(api, "cache_hit_ratio")), 0.5, 1e-9));
    json_t *r = json_object_get(json_object_get(api, "routes"), "/r");
    CHECK(json_integer_value(json_object_get(r, "requests")) == 100);
    CHECK(json_integer_value(json_object_get(r, "errors")) == 5);
    CHECK(near(json_real_value(json_object_get(r, "mean_ms")), 50.5, 1e-6));
    CHECK(near(json_real_value(json_object_get(r, "p50_ms")), 50, 0.04));
    CHECK(near(json_real_value(json_object_get(r, "p95_ms")), 95, 0.04));
    CHECK(near(json_real_value(json_object_get(r, "p99_ms")), 99, 0.04));
    json_t *st = json_object_get(r, "by_status");
    CHECK(json_integer_value(json_object_get(st, "200")) == 90);
    CHECK(json_integer_value(json_object_get(st, "422")) == 5);
    CHECK(json_integer_value(json_object_get(st, "500")) == 5);
    CHECK(json_object_size(st) == 3);
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(json_object_get(api, "routes"), "/s"),
                                                             "by_status"), "200")) == 1);

    metrics_totals_t t;
    metrics_totals(&t);
    CHECK(t.requests == 101 && t.errors == 5);
    CHECK(near(t.mean_seconds, 5.55 / 101, 1e-6));
    CHECK(near(t.cache_hit_ratio, 0.5, 1e-9));
    json_decref(j);

    /* Empty registry: fields still there, all zero. */
    metrics_reset();
    j = metrics_performance_json();
    api = json_object_get(j, "api_stats");
    CHECK(json_integer_value(json_object_get(api, "total_requests")) == 0);
    CHECK(json_number_value(json_object_get(api, "error_rate")) == 0);
    CHECK(json_number_value(json_object_get(api, "cache_hit_ratio")) == 0);
    CHECK(json_object_size(json_object_get(j, "engine_stats")) == 0);
    json_decref(j);
}

/* Many distinct label values: the series stay bounded and nothing is lost,
 * the surplus is counted under "other". */
static void test_caps(void) {
    metrics_reset();
    char route[32];
    for (int i = 0; i < 300; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        metrics_http(route, "GET", 200 + i % 7, 0.001);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(route, sizeof route, "engine%d", i);
        metrics_engine(route, 1, 0, 1, 0.01);
    }
    buf_t b = BUF_INIT;
    metrics_render_prometheus(&b);
    families_t fam;
    int n = parse_exposition(b.p, samples, 4096, &fam);
    CHECK(n > 0);
    double total = 0, routes = 0, req_series = 0, engines = 0, engine_batches = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(samples[i].name, "copyd_http_request_duration_seconds_count") == 0) total += samples[i].value, routes++;
        if (strcmp(samples[i].name, "copyd_http_requests_total") == 0) req_series++;
        if (strcmp(samples[i].name, "copyd_engine_batches_total") == 0) engines++, engine_batches += samples[i].value;
    }
    CHECK(total == 300);
    CHECK(routes <= 64 && routes > 1);
    CHECK(req_series <= 256);
    CHECK(engines <= 16 && engines > 1);
    CHECK(engine_batches == 40);
    CHECK(value_of(samples, n, "copyd_http_request_duration_seconds_count", "route=\"other\"") == 300 - (routes - 1));
    CHECK(value_of(samples, n, "copyd_engine_batches_total", "engine=\"other\"") == 40 - (engines - 1));
    buf_free(&b);

    json_t *j = metrics_performance_json();
    json_t *r = json_object_get(json_object_get(j, "api_stats"), "routes");
    CHECK(json_object_size(r) == (size_t)routes);
    CHECK(json_integer_value(json_object_get(json_object_get(j, "api_stats"), "total_requests")) == 300);
    json_decref(j);
    /* bad input never crashes */
    metrics_http(NULL, NULL, -5, NAN);
    metrics_engine(NULL, 0, 3, 0, -1);
    metrics_cache(NULL, 1);
    metrics_breaker(NULL, 42);
    metrics_generation(NULL, NULL);
    b = (buf_t)BUF_INIT;
    metrics_render_prometheus(&b);
    CHECK(parse_exposition(b.p, samples, 4096, &fam) > 0);
    buf_free(&b);
}

/* ---- concurrency ---------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 5000

static void *recorder(void *arg) {
    int id = (int)(intptr_t)arg;
    const char *routes[] = {"/copywriting/v11/generate", "/copywriting/generate", "/copywriting/metrics"};
    char engine[16];
    snprintf(engine, sizeof engine, "eng%d", id % 2);
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_http(routes[i % 3], i % 2 ? "GET" : "POST", i % 10 ? 200 : 500, (i % 100) / 1000.0);
        if (i % 5 == 0) metrics_engine(engine, 2, 0, 20, 0.01);
        metrics_cache(i % 2 ? "memory" : "redis", i % 4 == 0);
        if (i % 1000 == 0) metrics_breaker(engine, i % 3);
    }
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        buf_t b = BUF_INIT;
        metrics_render_prometheus(&b);
        buf_free(&b);
        json_decref(metrics_performance_json());
    }
    return NULL;
}

static void test_concurrency(void) {
    metrics_reset();
    pthread_t t[THREADS + 1];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, recorder, (void *)(intptr_t)i);
    pthread_create(&t[THREADS], NULL, reader, NULL);
    for (int i = 0; i <= THREADS; i++) pthread_join(t[i], NULL);

    metrics_totals_t tot;
    metrics_totals(&tot);
    CHECK(tot.requests == THREADS * PER_THREAD);
    CHECK(tot.errors == THREADS * PER_THREAD / 10);
    CHECK(near(tot.cache_hit_ratio, 0.25, 1e-9));

    json_t *j = metrics_performance_json();
    json_t *routes = json_object_get(json_object_get(j, "api_stats"), "routes");
    CHECK(json_object_size(routes) == 3);
    long long sum = 0;
    const char *k;
    json_t *v;
    json_object_foreach(routes, k, v) sum += json_integer_value(json_object_get(v, "requests"));
    CHECK(sum == THREADS * PER_THREAD);
    json_t *es = json_object_get(j, "engine_stats");
    long long items = json_integer_value(json_object_get(json_object_get(es, "eng0"), "requests")) +
                      json_integer_value(json_object_get(json_object_get(es, "eng1"), "requests"));
    CHECK(items == THREADS * (PER_THREAD / 5) * 2);
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(es, "eng0"), "batch_sizes"), "2")) ==
          2 * (PER_THREAD / 5));
    json_decref(j);

    buf_t b = BUF_INIT;
    metrics_render_prometheus(&b);
    families_t fam;
    int n = parse_exposition(b.p, samples, 4096, &fam);
    double cnt;
    check_histogram(samples, n, "copyd_http_request_duration_seconds", "route=\"/copywriting/v11/generate\"", &cnt);
    CHECK(cnt == 6668); /* i % 3 == 0 for 1667 of each thread's 5000 */
    buf_free(&b);
}

int main(void) {
    metrics_init();
    test_histogram_uniform();
    test_histogram_log_uniform();
    test_histogram_edges();
    test_prometheus();
    test_performance_json();
    test_caps();
    test_concurrency();
    TEST_DONE();
}
