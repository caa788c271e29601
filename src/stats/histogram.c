/* histogram.c -- see histogram.h. */
#include "stats/histogram.h"

#include <math.h>
#include <string.h>

const double HIST_PROM_BOUNDS[HIST_PROM_N] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

#define HIST_MAX_SECONDS 1e9
#define HIST_TOP (HIST_MIN_SECONDS * 1e8) /* 10^HIST_DECADES * HIST_MIN_SECONDS = 100 s */

/* Fine bucket of a (sanitised) observation. Bucket 0 is [0, 1us), bucket k
 * in 1..DECADES*PER_DECADE is [1us*10^((k-1)/P), 1us*10^(k/P)), the last one
 * is [100 s, inf). log10 rounding may put a value sitting exactly on a bound
 * into its neighbour; that only moves it by one 4.7% bucket. */
static size_t fine_index(double v) {
    if (v < HIST_MIN_SECONDS) return 0;
    if (v >= HIST_TOP) return HIST_FINE_BUCKETS - 1;
    double pos = log10(v / HIST_MIN_SECONDS) * HIST_PER_DECADE;
    long k = (long)floor(pos) + 1;
    if (k < 1) k = 1;
    if (k > HIST_FINE_BUCKETS - 2) k = HIST_FINE_BUCKETS - 2;
    return (size_t)k;
}

static void fine_bounds(size_t k, double *lo, double *hi) {
    if (k == 0) { *lo = 0; *hi = HIST_MIN_SECONDS; return; }
    if (k == HIST_FINE_BUCKETS - 1) { *lo = HIST_TOP; *hi = HIST_MAX_SECONDS; return; }
    *lo = HIST_MIN_SECONDS * pow(10.0, (double)(k - 1) / HIST_PER_DECADE);
    *hi = HIST_MIN_SECONDS * pow(10.0, (double)k / HIST_PER_DECADE);
}

static double sanitise(double v) {
    if (isnan(v) || v < 0) return 0;
    if (v > HIST_MAX_SECONDS) return HIST_MAX_SECONDS;
    return v;
}

void hist_data_clear(hist_data_t *d) { memset(d, 0, sizeof *d); }

void hist_data_add(hist_data_t *d, double v) {
    v = sanitise(v);
    if (d->count == 0 || v < d->min) d->min = v;
    if (d->count == 0 || v > d->max) d->max = v;
    d->count++;
    d->sum += v;
    d->fine[fine_index(v)]++;
    size_t i = 0;
    while (i < HIST_PROM_N && v > HIST_PROM_BOUNDS[i]) i++;
    d->prom[i]++;
}

double hist_data_mean(const hist_data_t *d) {
    return d->count ? d->sum / (double)d->count : 0;
}

double hist_data_quantile(const hist_data_t *d, double q) {
    if (d->count == 0 || isnan(q)) return 0;
    if (q <= 0) return d->min;
    if (q >= 1) return d->max;
    double rank = q * (double)d->count;
    uint64_t cum = 0;
    for (size_t k = 0; k < HIST_FINE_BUCKETS; k++) {
        uint64_t n = d->fine[k];
        if (n == 0) continue;
        if ((double)(cum + n) >= rank) {
            double lo, hi;
            fine_bounds(k, &lo, &hi);
            /* The extremes are known exactly: they narrow the first and last
             * occupied buckets (and make a one-value histogram exact). */
            if (lo < d->min) lo = d->min;
            if (hi > d->max) hi = d->max;
            if (hi < lo) hi = lo;
            double frac = (rank - (double)cum) / (double)n;
            return lo + frac * (hi - lo);
        }
        cum += n;
    }
    return d->max;
}

uint64_t hist_data_cumulative(const hist_data_t *d, size_t i) {
    if (i > HIST_PROM_N) i = HIST_PROM_N;
    uint64_t c = 0;
    for (size_t k = 0; k <= i; k++) c += d->prom[k];
    return c;
}

void hist_init(histogram_t *h) {
    pthread_mutex_init(&h->mu, NULL);
    hist_data_clear(&h->d);
}

void hist_destroy(histogram_t *h) { pthread_mutex_destroy(&h->mu); }

void hist_reset(histogram_t *h) {
    pthread_mutex_lock(&h->mu);
    hist_data_clear(&h->d);
    pthread_mutex_unlock(&h->mu);
}

void hist_add(histogram_t *h, double seconds) {
    pthread_mutex_lock(&h->mu);
    hist_data_add(&h->d, seconds);
    pthread_mutex_unlock(&h->mu);
}

void hist_snapshot(histogram_t *h, hist_data_t *out) {
    pthread_mutex_lock(&h->mu);
    memcpy(out, &h->d, sizeof *out);
    pthread_mutex_unlock(&h->mu);
}

double hist_quantile(histogram_t *h, double q) {
    hist_data_t d;
    hist_snapshot(h, &d);
    return hist_data_quantile(&d, q);
}
