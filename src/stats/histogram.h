/* histogram.h -- latency distribution with quantiles and Prometheus buckets.
 *
 * Two views of the same observations are kept side by side:
 *  - fine log-spaced buckets from 1 us to 100 s (HIST_PER_DECADE per decade,
 *    about 4.7% wide each) for p50/p95/p99, interpolated linearly inside the
 *    bucket and clamped to the smallest and largest value seen, which keeps
 *    estimates within a couple of percent of the exact quantile;
 *  - the fixed Prometheus bounds (HIST_PROM_BOUNDS) so /metrics can print
 *    exact `le` counts without re-bucketing.
 * Keeping both costs ~3.4 KB per histogram, and the number of histograms is
 * bounded by the metrics registry.
 *
 * histogram_t is thread-safe (one short mutex per histogram); readers take a
 * hist_data_t snapshot once and compute everything from it without the lock.
 * Observations that are negative or NaN count as 0, larger than 1e9 s (and
 * +Inf) as 1e9 s, so a bad clock reading never poisons sums. */
#ifndef COPYD_STATS_HISTOGRAM_H
#define COPYD_STATS_HISTOGRAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_MIN_SECONDS 1e-6
#define HIST_DECADES 8          /* 1 us .. 100 s */
#define HIST_PER_DECADE 50
/* [0, 1us) + the log-spaced buckets + [100 s, inf) */
#define HIST_FINE_BUCKETS (HIST_DECADES * HIST_PER_DECADE + 2)

/* Prometheus upper bounds in seconds, ascending; +Inf is implicit. */
#define HIST_PROM_N 14
extern const double HIST_PROM_BOUNDS[HIST_PROM_N];

typedef struct hist_data {
    uint64_t count;
    double sum;
    double min, max;                   /* meaningful only when count > 0 */
    uint64_t fine[HIST_FINE_BUCKETS];
    uint64_t prom[HIST_PROM_N + 1];    /* per bound, NOT cumulative; last is +Inf */
} hist_data_t;

typedef struct histogram {
    pthread_mutex_t mu;
    hist_data_t d;
} histogram_t;

void hist_init(histogram_t *h);
void hist_destroy(histogram_t *h);
void hist_reset(histogram_t *h);
void hist_add(histogram_t *h, double seconds);
/* Copies the current state under the lock. */
void hist_snapshot(histogram_t *h, hist_data_t *out);

/* Pure functions of a snapshot (no locking). */
void hist_data_clear(hist_data_t *d);
void hist_data_add(hist_data_t *d, double seconds);
double hist_data_mean(const hist_data_t *d);              /* 0 when empty */
/* q in [0,1]; 0 when empty; q<=0 gives min, q>=1 gives max. */
double hist_data_quantile(const hist_data_t *d, double q);
/* Observations <= HIST_PROM_BOUNDS[i]; i == HIST_PROM_N gives count (+Inf). */
uint64_t hist_data_cumulative(const hist_data_t *d, size_t i);

/* Convenience: snapshot + quantile. */
double hist_quantile(histogram_t *h, double q);

#endif
