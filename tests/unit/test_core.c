/* test_core.c -- buffers, arenas, time and id helpers, configuration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "test.h"

static void test_buf(void) {
    buf_t b = BUF_INIT;
    buf_json_str(&b, "a\"b\\c\n\x01é");
    CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001é\"");
    buf_reset(&b);
    buf_json_str(&b, NULL);
    CHECK_STR(b.p, "null");
    buf_reset(&b);
    buf_json_num(&b, 3.0);
    buf_putc(&b, ' ');
    buf_json_num(&b, 0.25);
    buf_putc(&b, ' ');
    buf_json_num(&b, 1.0 / 0.0);
    CHECK_STR(b.p, "3 0.25 0");
    /* the printf-free path writes what "%.6g" writes: scores rounded to
     * 0.001 and 0.01, odd values, every decade, negatives, carries */
    {
        static const double fixed[] = {0.925, 74.53, 0.001, 0.0001, 0.00012345, 99.99996, 0.9999996, 999999.6,
                                       123456.5, 1e6, 12.3456789, -0.5, -1234.5678, 5e-5, 0.1 + 0.2, 1.0 / 3.0};
        int bad = 0;
        unsigned long long r = 88172645463325252ull;
        for (int i = 0; i < 200000; i++) {
            double v;
            if (i < (int)(sizeof fixed / sizeof fixed[0])) v = fixed[i];
            else {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
                int kind = i % 4;
                v = kind == 0 ? round(u * 1000) / 1000 : kind == 1 ? round(u * 10000) / 100
                  : kind == 2 ? u * pow(10, (int)(r % 12) - 5) : -u * 1000;
            }
            char want[64];
            if (v == (double)(long long)v) snprintf(want, sizeof want, "%lld", (long long)v);
            else snprintf(want, sizeof want, "%.6g", v);
            buf_reset(&b);
            buf_json_num(&b, v);
            if (strcmp(b.p, want) != 0 && bad++ < 5) fprintf(stderr, "buf_json_num(%.17g) = %s, printf %s\n", v, b.p, want);
        }
        CHECK(bad == 0);
    }
    buf_reset(&b);
    buf_fixed6(&b, 0.0001234);
    buf_putc(&b, ' ');
    buf_fixed6(&b, 12.5);
    buf_putc(&b, ' ');
    buf_fixed6(&b, -1);
    buf_putc(&b, ' ');
    buf_fixed6(&b, 0.0 / 0.0);
    CHECK_STR(b.p, "0.000123 12.500000 0.000000 0.000000");
    buf_reset(&b);
    for (int i = 0; i < 10000; i++) buf_printf(&b, "%d,", i);
    CHECK(b.len == strlen(b.p) && strncmp(b.p + b.len - 5, "9999,", 5) == 0);
    size_t len;
    char *p = buf_detach(&b, &len);
    CHECK(p && len > 40000 && b.p == NULL && b.len == 0);
    free(p);
    p = buf_detach(&b, &len); /* empty buffer detaches as "" */
    CHECK(p && len == 0 && p[0] == '\0');
    free(p);
}

static void test_arena(void) {
    arena_t a = ARENA_INIT;
    char *s = arena_strdup(&a, "hello");
    CHECK_STR(s, "hello");
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = arena_alloc(&a, 100);
        CHECK(((uintptr_t)p & 15) == 0 && p[0] == 0 && p[99] == 0);
        memset(p, 0xAB, 100);
    }
    char *big = arena_alloc(&a, 1 << 20); /* larger than a block */
    CHECK(big != NULL);
    CHECK_STR(arena_strndup(&a, "abcdef", 3), "abc");
    CHECK_STR(s, "hello"); /* earlier allocations stay put */
    arena_free(&a);
    CHECK(a.head == NULL);
}

static void test_time_ids(void) {
    char ts[ISO8601_LEN];
    iso8601_from(0, ts);
    CHECK_STR(ts, "1970-01-01T00:00:00.000000Z");
    iso8601_from(1795671783.25, ts);
    CHECK_STR(ts, "2026-11-26T05:43:03.250000Z");
    double t;
    CHECK(iso8601_parse(ts, &t) == 0 && t > 1795671783.24 && t < 1795671783.26);
    CHECK(iso8601_parse("2026-11-26", &t) == 0 && t == 1795651200.0);
    CHECK(iso8601_parse("2026-11-26T10:00:00+02:00", &t) == 0 && t == 1795651200.0 + 8 * 3600);
    CHECK(iso8601_parse("2026-11-26T10:00", &t) == 0);
    CHECK(iso8601_parse("2026-13-26", &t) < 0);
    CHECK(iso8601_parse("yesterday", &t) < 0);
    CHECK(iso8601_parse("2026-11-26T10:00:00Zjunk", &t) < 0);
    CHECK(iso8601_parse("", &t) < 0);
    char u1[UUID_LEN], u2[UUID_LEN];
    uuid4(u1);
    uuid4(u2);
    CHECK(strlen(u1) == 36 && u1[14] == '4' && u1[8] == '-' && strchr("89ab", u1[19]));
    CHECK(strcmp(u1, u2) != 0);
    CHECK(ct_streq("secret", "secret"));
    CHECK(!ct_streq("secreT", "secret"));
    CHECK(!ct_streq("secret-longer", "secret"));
    CHECK(!ct_streq("sec", "secret"));
    CHECK(!ct_streq("", "secret"));
    long v;
    CHECK(parse_long("42", 0, 100, &v) == 0 && v == 42);
    CHECK(parse_long("101", 0, 100, &v) < 0);
    CHECK(parse_long("4x", 0, 100, &v) < 0);
    CHECK(parse_long("", 0, 100, &v) < 0);
    CHECK(parse_long("99999999999999999999999", 0, 100, &v) < 0);
    double d;
    CHECK(parse_double("0.5", 0, 1, &d) == 0 && d == 0.5);
    CHECK(parse_double("nan", 0, 1, &d) < 0);
    CHECK(parse_double("1.5", 0, 1, &d) < 0);
}

static void test_config(void) {
    config_t c;
    char err[256];
    config_defaults(&c);
    CHECK(c.port == 8000 && c.max_batch_size == 20 && c.cache_ttl == 3600 && c.rate_limit == 5);
    CHECK(c.max_body == 10L * 1024 * 1024);
    setenv("PORT", "9001", 1);
    setenv("COPYWRITING_API_KEY", "old", 1);
    setenv("API_KEY", " k1 , k2,,k3 ", 1);
    setenv("CACHE_TTL", "60", 1);
    CHECK(config_from_env(&c, err, sizeof err) == 0);
    CHECK(c.port == 9001 && c.cache_ttl == 60);
    CHECK(c.n_api_keys == 3 && strcmp(c.api_keys[0], "k1") == 0 && strcmp(c.api_keys[2], "k3") == 0);
    setenv("MAX_BATCH_SIZE", "zero", 1);
    CHECK(config_from_env(&c, err, sizeof err) < 0 && strstr(err, "MAX_BATCH_SIZE"));
    unsetenv("MAX_BATCH_SIZE");
    unsetenv("API_KEY");
    CHECK(config_from_env(&c, err, sizeof err) == 0);
    CHECK(c.n_api_keys == 1 && strcmp(c.api_keys[0], "old") == 0); /* the alternative name */
    char *argv[] = {"copyd", "serve", "--port", "7000", "--cache-size=5", "--api-key", "a,b", NULL};
    CHECK(config_from_args(&c, 7, argv, 2, err, sizeof err) == 0);
    CHECK(c.port == 7000 && c.cache_size == 5 && c.n_api_keys == 2);
    char *bad1[] = {"copyd", "serve", "--bogus", NULL};
    CHECK(config_from_args(&c, 3, bad1, 2, err, sizeof err) < 0 && strstr(err, "--bogus"));
    char *bad2[] = {"copyd", "serve", "--port", NULL};
    CHECK(config_from_args(&c, 3, bad2, 2, err, sizeof err) < 0 && strstr(err, "needs a value"));
    char *bad3[] = {"copyd", "serve", "--port", "70000", NULL};
    CHECK(config_from_args(&c, 4, bad3, 2, err, sizeof err) < 0 && strstr(err, "0..65535"));
    char *bad4[] = {"copyd", "serve", "--log-level", "loud", NULL};
    CHECK(config_from_args(&c, 4, bad4, 2, err, sizeof err) < 0 && strstr(err, "loud"));
    unsetenv("PORT");
    unsetenv("COPYWRITING_API_KEY");
    unsetenv("CACHE_TTL");
    config_free(&c);
}

int main(void) {
    test_buf();
    test_arena();
    test_time_ids();
    test_config();
    TEST_DONE();
}
