/* test_sysstats.c -- host statistics from the real /proc and file system:
 * values in sane ranges, units agreeing with an independent reading, the
 * JSON shape clients read, and the sampler thread refreshing and stopping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "stats/sysstats.h"
#include "test.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static int sane(const sysstats_t *s) {
    return s->cpu_percent >= 0 && s->cpu_percent <= 100 && s->memory_percent > 0 && s->memory_percent <= 100 &&
           s->memory_available_gb > 0 && s->disk_percent >= 0 && s->disk_percent <= 100 && s->disk_free_gb >= 0 &&
           s->process_rss_mb > 0;
}

/* MemAvailable read here, independently, in GiB. */
static double meminfo_available_gb(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu", &kb) == 1) break;
    fclose(f);
    return (double)kb * 1024.0 / GIB;
}

static int two_decimals(double v) {
    return fabs(v * 100.0 - round(v * 100.0)) < 1e-6;
}

static void test_json(const sysstats_t *s) {
    json_t *j = sysstats_json(s);
    CHECK(json_is_object(j));
    const char *keys[] = {"cpu_percent", "memory_percent", "memory_available_gb", "disk_percent", "disk_free_gb"};
    CHECK(json_object_size(j) == 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_object_get(j, keys[i]);
        CHECK(json_is_number(v));
        CHECK(two_decimals(json_number_value(v)));
    }
    CHECK(fabs(json_number_value(json_object_get(j, "memory_percent")) - s->memory_percent) <= 0.005 + 1e-9);
    CHECK(fabs(json_number_value(json_object_get(j, "disk_free_gb")) - s->disk_free_gb) <= 0.005 + 1e-9);
    json_decref(j);

    /* Non-finite values never reach the JSON. */
    sysstats_t bad = *s;
    bad.cpu_percent = NAN;
    bad.disk_free_gb = 12.345678;
    j = sysstats_json(&bad);
    CHECK(json_number_value(json_object_get(j, "cpu_percent")) == 0);
    CHECK(fabs(json_number_value(json_object_get(j, "disk_free_gb")) - 12.35) < 1e-9);
    char *text = json_dumps(j, 0);
    CHECK(text && strstr(text, "nan") == NULL);
    free(text);
    json_decref(j);
}

int main(void) {
    /* Not started: a sample is taken on demand. */
    sysstats_t a;
    sysstats_get(&a);
    CHECK(sane(&a));
    CHECK(fabs(a.sampled_at - (double)time(NULL)) < 5);
    double ref = meminfo_available_gb();
    CHECK(ref > 0 && fabs(a.memory_available_gb - ref) <= 0.1 * ref); /* same unit as /proc/meminfo in GiB */
    test_json(&a);

    /* Started on a real directory: the disk figures are that file system's. */
    char dir[] = "/tmp/copyd_sysstats_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sysstats_start(dir);
    sysstats_start(dir); /* second start is a no-op */
    sysstats_t b;
    sysstats_get(&b);
    CHECK(sane(&b));
    struct statvfs v;
    CHECK(statvfs(dir, &v) == 0);
    double free_gb = (double)v.f_bavail * (double)v.f_frsize / GIB;
    CHECK(fabs(b.disk_free_gb - free_gb) <= 0.05 * free_gb + 0.5);

    /* The sampler refreshes by itself (about once a second). */
    int refreshed = 0;
    for (int i = 0; i < 100 && !refreshed; i++) {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
        sysstats_t c;
        sysstats_get(&c);
        refreshed = c.sampled_at > b.sampled_at;
        if (refreshed) CHECK(sane(&c));
    }
    CHECK(refreshed);
    sysstats_stop();
    sysstats_stop(); /* stopping twice is harmless */

    /* After stop the last sample stays readable; a restart works, and a
     * path that does not exist falls back to the current directory. */
    sysstats_get(&b);
    CHECK(sane(&b));
    sysstats_start("/nonexistent/copyd/path");
    sysstats_get(&b);
    CHECK(sane(&b));
    CHECK(b.disk_free_gb > 0 || b.disk_percent > 0);
    sysstats_stop();
    rmdir(dir);
    TEST_DONE();
}
