/* sysstats.c -- see sysstats.h.
 *
 * One sampler thread refreshes `latest` every SAMPLE_INTERVAL seconds; it
 * sleeps on a condition variable (monotonic clock) so sysstats_stop() wakes
 * it at once instead of waiting out the second. Readers copy `latest` under
 * a mutex: a few dozen bytes, no I/O on the request path.
 *
 * CPU usage is a rate, so it needs two readings of /proc/stat: the sampler
 * keeps the previous one; the very first sample is measured against a
 * reading taken 100 ms before it. Memory follows `free`/psutil
 * (MemAvailable), disk follows `df`/psutil (used / (used + available to
 * unprivileged users)). Sizes are in GiB. */
#include "stats/sysstats.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define SAMPLE_INTERVAL 1.0 /* seconds */
#define FIRST_DELTA_NS 100000000L
#define GIB (1024.0 * 1024.0 * 1024.0)

typedef struct cpu_times {
    unsigned long long busy, total;
    int ok;
} cpu_times_t;

static struct {
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t wake;      /* signalled by sysstats_stop */
    pthread_t thread;
    int running, stopping;
    int have_sample;
    double sampled_mono;      /* now_mono() of `latest` */
    sysstats_t latest;
    cpu_times_t prev;
    char disk_path[4096];
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The condvar is set up once with CLOCK_MONOTONIC so a wall-clock jump
 * cannot stretch or skip the sleep. */
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static void cond_init(void) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&st.wake, &a);
    pthread_condattr_destroy(&a);
}

/* First line of /proc/stat: "cpu user nice system idle iowait irq softirq
 * steal guest guest_nice". Guest time is already inside user/nice, so the
 * total is the first eight; idle time is idle + iowait. */
static cpu_times_t read_cpu(void) {
    cpu_times_t c = {0, 0, 0};
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return c;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4) return c;
    for (int i = 0; i < 8; i++) c.total += v[i];
    c.busy = c.total - v[3] - v[4];
    c.ok = 1;
    return c;
}

static double cpu_percent(cpu_times_t a, cpu_times_t b) {
    if (!a.ok || !b.ok || b.total <= a.total || b.busy < a.busy) return 0;
    double p = 100.0 * (double)(b.busy - a.busy) / (double)(b.total - a.total);
    return p < 0 ? 0 : p > 100 ? 100 : p;
}

static void read_memory(sysstats_t *s) {
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f) return;
    char line[256];
    unsigned long long total = 0, avail = 0, free_ = 0, buffers = 0, cached = 0, v;
    int have_avail = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %llu", &v) == 1) total = v;
        else if (sscanf(line, "MemAvailable: %llu", &v) == 1) avail = v, have_avail = 1;
        else if (sscanf(line, "MemFree: %llu", &v) == 1) free_ = v;
        else if (sscanf(line, "Buffers: %llu", &v) == 1) buffers = v;
        else if (sscanf(line, "Cached: %llu", &v) == 1) cached = v;
    }
    fclose(f);
    if (!have_avail) avail = free_ + buffers + cached; /* kernels before 3.14 */
    if (total == 0) return;
    if (avail > total) avail = total;
    s->memory_percent = 100.0 * (double)(total - avail) / (double)total;
    s->memory_available_gb = (double)avail * 1024.0 / GIB; /* meminfo is in kB */
}

static void read_disk(sysstats_t *s, const char *path) {
    struct statvfs v;
    if (statvfs(path && *path ? path : ".", &v) != 0 && statvfs(".", &v) != 0) return;
    double frsize = v.f_frsize ? (double)v.f_frsize : (double)v.f_bsize;
    double used = (double)(v.f_blocks - v.f_bfree) * frsize;
    double avail = (double)v.f_bavail * frsize;
    s->disk_percent = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
    s->disk_free_gb = avail / GIB;
}

static void read_rss(sysstats_t *s) {
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f) return;
    unsigned long long size, rss;
    if (fscanf(f, "%llu %llu", &size, &rss) == 2)
        s->process_rss_mb = (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
    fclose(f);
}

/* A full sample; `prev` is the CPU reading to measure against and is
 * replaced by the new one. Does file I/O: never call it holding st.mu on
 * the sampler's path (readers would wait behind the disk). */
static void take_sample(sysstats_t *out, cpu_times_t *prev, const char *disk_path) {
    memset(out, 0, sizeof *out);
    cpu_times_t now = read_cpu();
    out->cpu_percent = cpu_percent(*prev, now);
    *prev = now;
    read_memory(out);
    read_disk(out, disk_path);
    read_rss(out);
    out->sampled_at = now_wall();
}

static void first_sample(sysstats_t *out, cpu_times_t *prev, const char *disk_path) {
    *prev = read_cpu();
    struct timespec ts = {0, FIRST_DELTA_NS};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    take_sample(out, prev, disk_path);
}

static void deadline_after(struct timespec *ts, double seconds) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    long ns = ts->tv_nsec + (long)((seconds - floor(seconds)) * 1e9);
    ts->tv_sec += (time_t)seconds + ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

static void *sampler(void *arg) {
    (void)arg;
    pthread_mutex_lock(&st.mu);
    char path[sizeof st.disk_path];
    memcpy(path, st.disk_path, sizeof path);
    cpu_times_t prev = st.prev;
    while (!st.stopping) {
        struct timespec deadline;
        deadline_after(&deadline, SAMPLE_INTERVAL);
        /* 0 is a signal or a spurious wake-up: check `stopping` and sleep
         * on; anything else (the deadline, or an error) ends the wait. */
        while (!st.stopping && pthread_cond_timedwait(&st.wake, &st.mu, &deadline) == 0) {}
        if (st.stopping) break;
        pthread_mutex_unlock(&st.mu);
        sysstats_t s;
        take_sample(&s, &prev, path);
        pthread_mutex_lock(&st.mu);
        st.latest = s;
        st.prev = prev;
        st.have_sample = 1;
        st.sampled_mono = now_mono();
    }
    pthread_mutex_unlock(&st.mu);
    return NULL;
}

/* Serialises start and stop with each other (not with readers), so two
 * racing sysstats_start calls cannot create two samplers. */
static pthread_mutex_t life_mu = PTHREAD_MUTEX_INITIALIZER;

void sysstats_start(const char *disk_path) {
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&life_mu);
    pthread_mutex_lock(&st.mu);
    int running = st.running;
    pthread_mutex_unlock(&st.mu);
    if (running) { pthread_mutex_unlock(&life_mu); return; }

    char path[sizeof st.disk_path];
    snprintf(path, sizeof path, "%s", disk_path && *disk_path ? disk_path : ".");
    sysstats_t s;
    cpu_times_t prev;
    first_sample(&s, &prev, path);

    pthread_mutex_lock(&st.mu);
    memcpy(st.disk_path, path, sizeof path);
    st.latest = s;
    st.prev = prev;
    st.have_sample = 1;
    st.sampled_mono = now_mono();
    st.stopping = 0;
    /* The sampler must never take the process's signals (SIGTERM is for
     * the main thread), so it starts with every signal blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&st.thread, NULL, sampler, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) st.running = 1;
    else log_warn("sysstats: cannot start the sampler thread (%s); sampling on demand", strerror(rc));
    pthread_mutex_unlock(&st.mu);
    pthread_mutex_unlock(&life_mu);
}

void sysstats_stop(void) {
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&life_mu);
    pthread_mutex_lock(&st.mu);
    if (!st.running) { pthread_mutex_unlock(&st.mu); pthread_mutex_unlock(&life_mu); return; }
    st.stopping = 1;
    pthread_cond_broadcast(&st.wake);
    pthread_t t = st.thread;
    pthread_mutex_unlock(&st.mu);
    pthread_join(t, NULL);
    pthread_mutex_lock(&st.mu);
    st.running = 0;
    st.stopping = 0;
    pthread_mutex_unlock(&st.mu);
    pthread_mutex_unlock(&life_mu);
}

void sysstats_get(sysstats_t *out) {
    pthread_mutex_lock(&st.mu);
    if (!st.running) {
        /* No sampler: refresh here, at most once a second, so a tool or a
         * test that never started the thread still gets live values. */
        const char *path = st.disk_path[0] ? st.disk_path : ".";
        if (!st.have_sample) {
            first_sample(&st.latest, &st.prev, path);
            st.have_sample = 1;
            st.sampled_mono = now_mono();
        } else if (now_mono() - st.sampled_mono >= SAMPLE_INTERVAL) {
            take_sample(&st.latest, &st.prev, path);
            st.sampled_mono = now_mono();
        }
    }
    *out = st.latest;
    pthread_mutex_unlock(&st.mu);
}

static json_t *real2(double v) {
    if (!isfinite(v)) v = 0;
    return json_real(round(v * 100.0) / 100.0);
}

json_t *sysstats_json(const sysstats_t *s) {
    json_t *o = json_object();
    json_object_set_new(o, "cpu_percent", real2(s->cpu_percent));
    json_object_set_new(o, "memory_percent", real2(s->memory_percent));
    json_object_set_new(o, "memory_available_gb", real2(s->memory_available_gb));
    json_object_set_new(o, "disk_percent", real2(s->disk_percent));
    json_object_set_new(o, "disk_free_gb", real2(s->disk_free_gb));
    return o;
}
