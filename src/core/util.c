#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes `n` digits of v, zero-padded. */
static char *put_digits(char *p, long v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

void iso8601_from(double t, char out[ISO8601_LEN]) {
    /* Formatted by hand: this runs on every answer, and printf showed in
     * profiles. Years outside 0..9999 are clamped. */
    time_t secs = (time_t)floor(t);
    long usec = (long)((t - (double)secs) * 1e6);
    if (usec < 0) usec = 0;
    if (usec > 999999) usec = 999999;
    struct tm tm;
    gmtime_r(&secs, &tm);
    long year = tm.tm_year + 1900L;
    if (year < 0) year = 0;
    if (year > 9999) year = 9999;
    char *p = put_digits(out, year, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, usec, 6);
    *p++ = 'Z';
    *p = '\0';
}

void iso8601_now(char out[ISO8601_LEN]) { iso8601_from(now_wall(), out); }

int iso8601_parse(const char *s, double *epoch) {
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
    const char *p = s + n;
    double frac = 0;
    long offset = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5) return -1;
        p += 1 + m;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &m) != 1 || m != 2) return -1;
            p += 1 + m;
            if (*p == '.') {
                double scale = 0.1;
                p++;
                if (*p < '0' || *p > '9') return -1;
                while (*p >= '0' && *p <= '9') { frac += (*p - '0') * scale; scale /= 10; p++; }
            }
        }
        if (*p == 'Z' || *p == 'z') p++;
        else if (*p == '+' || *p == '-') {
            int oh, om, sign = *p == '-' ? -1 : 1;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) == 2 && m == 5) p += 1 + m;
            else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &m) == 2 && m == 4) p += 1 + m;
            else return -1;
            if (oh > 23 || om > 59) return -1;
            offset = sign * (oh * 3600L + om * 60L);
        }
    }
    if (*p) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
    tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *epoch = (double)t + frac - (double)offset;
    return 0;
}

/* Reads 8 bytes from the OS; falls back to time mixing rather than abort. */
static uint64_t os_random(void) {
    uint64_t v = 0;
    size_t got = 0;
    while (got < sizeof v) {
        ssize_t r = getrandom((char *)&v + got, sizeof v - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            v ^= (uint64_t)(now_wall() * 1e9) * 0x9E3779B97F4A7C15ULL;
            break;
        }
        got += (size_t)r;
    }
    return v;
}

/* splitmix64 per thread, seeded once from the OS: request ids and UUIDs
 * need uniqueness, not secrecy, and a system call per request showed up in
 * profiles. A fork bumps the generation so the child reseeds instead of
 * repeating its parent's sequence. */
static atomic_uint rand_generation = 1;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;
static void rand_after_fork(void) { atomic_fetch_add(&rand_generation, 1); }
static void rand_register(void) { pthread_atfork(NULL, NULL, rand_after_fork); }

uint64_t rand_u64(void) {
    static _Thread_local uint64_t state;
    static _Thread_local unsigned seeded_generation;
    pthread_once(&rand_once, rand_register);
    unsigned gen = atomic_load_explicit(&rand_generation, memory_order_relaxed);
    if (seeded_generation != gen) {
        state = os_random();
        seeded_generation = gen;
    }
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void uuid4(char out[UUID_LEN]) {
    uint64_t hi = rand_u64(), lo = rand_u64();
    hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    snprintf(out, UUID_LEN, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xFFFF), (unsigned)(hi & 0xFFFF), (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xFFFFFFFFFFFFULL));
}

int ct_streq(const char *given, const char *expected) {
    size_t n = strlen(expected), g = strlen(given);
    volatile unsigned char diff = (unsigned char)(n != g);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = i < g ? (unsigned char)given[i] : 0;
        diff |= c ^ (unsigned char)expected[i];
    }
    return diff == 0;
}

int parse_long(const char *s, long min, long max, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int parse_double(const char *s, double min, double max, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

const char *arg_value(int argc, char **argv, int *i, const char *flag, int *missing) {
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}
