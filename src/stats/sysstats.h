/* sysstats.h -- host statistics from /proc and statvfs, sampled by one
 * background thread at most once a second so that reading them costs
 * nothing per request (SPEC section 7: system_stats_before/after). */
#ifndef COPYD_STATS_SYSSTATS_H
#define COPYD_STATS_SYSSTATS_H

#include <jansson.h>

typedef struct sysstats {
    double cpu_percent;          /* whole machine, over the last sample interval */
    double memory_percent;       /* (MemTotal - MemAvailable) / MemTotal * 100 */
    double memory_available_gb;
    double disk_percent;         /* of the file system holding the data dir */
    double disk_free_gb;
    double process_rss_mb;
    double sampled_at;           /* epoch seconds */
} sysstats_t;

/* Takes a first sample synchronously and starts the sampler thread. */
void sysstats_start(const char *disk_path);
void sysstats_stop(void);
/* The latest sample (a first sample is taken on demand if not started). */
void sysstats_get(sysstats_t *out);
/* {"cpu_percent":..,"memory_percent":..,"memory_available_gb":..,
 *  "disk_percent":..,"disk_free_gb":..}; new reference. */
json_t *sysstats_json(const sysstats_t *s);

#endif
