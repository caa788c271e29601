/* threads.c -- one persistent pool of worker threads for the forward pass.
 *
 * A forward pass issues a few hundred short parallel sections per token
 * (one per group of matrix products), so creating threads, or even putting
 * them to sleep, between sections would cost more than the sections save.
 * Workers therefore spin for a while on a generation counter after each
 * section, and only then sleep on a condition variable; the caller takes
 * part as thread 0 and spins until the others are done.
 *
 * Only one section runs at a time: a caller that finds the pool busy (an
 * evaluation in another thread) runs its section alone instead of
 * waiting, so concurrent evaluations never deadlock or serialise. */
#include "llm/kernels/kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define K_MAX_THREADS 256
#define K_SPIN_WORKER 20000 /* polls before a worker sleeps (~1 ms) */

typedef struct k_pool {
    pthread_mutex_t run_lock; /* held by the caller of a section */
    pthread_mutex_t mu;       /* with cv: sleeping workers */
    pthread_cond_t cv;
    pthread_t tids[K_MAX_THREADS];
    int n_workers;            /* threads besides the caller */
    int inited;
    atomic_uint gen;          /* bumped once per section (and to quit) */
    atomic_int done;          /* workers finished with this section */
    atomic_int quit;
    k_task_fn fn;             /* the section: written before gen++ */
    void *ctx;
    int nth;
} k_pool_t;

static k_pool_t g_pool = {
    .run_lock = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* `gen` is read by the creator, not the new thread: a section started
 * before the thread first runs must still count as new to it. */
typedef struct { int id; unsigned gen; } worker_arg_t;
static worker_arg_t g_args[K_MAX_THREADS];

static void *worker_main(void *arg) {
    const int id = ((worker_arg_t *)arg)->id;
    k_pool_t *p = &g_pool;
    unsigned seen = ((worker_arg_t *)arg)->gen;
    for (;;) {
        unsigned g = seen;
        for (int i = 0; i < K_SPIN_WORKER; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen) break;
            cpu_relax();
            if ((i & 1023) == 1023) sched_yield(); /* let a busy CPU's other work run */
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) break;
        if (id < p->nth) {
            p->fn(p->ctx, id, p->nth);
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        }
    }
    return NULL;
}

static int default_threads(void) {
    const char *e = getenv("COPYD_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == '\0' && v >= 1 && v <= K_MAX_THREADS) return (int)v;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    if (c < 1) c = 1;
    if (c > K_MAX_THREADS) c = K_MAX_THREADS;
    return (int)c;
}

/* Stops the workers; run_lock held. */
static void stop_workers(k_pool_t *p) {
    if (p->n_workers == 0) return;
    atomic_store(&p->quit, 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->tids[i], NULL);
    p->n_workers = 0;
    atomic_store(&p->quit, 0);
}

/* Starts n - 1 workers; run_lock held. Fewer when creation fails. */
static void start_workers(k_pool_t *p, int n) {
    for (int i = 0; i < n - 1; i++) {
        g_args[i].id = i + 1;
        g_args[i].gen = atomic_load(&p->gen);
        if (pthread_create(&p->tids[i], NULL, worker_main, &g_args[i]) != 0) break;
        p->n_workers++;
    }
}

static void pool_init(void) {
    pthread_mutex_lock(&g_init_lock);
    if (!g_pool.inited) {
        pthread_mutex_lock(&g_pool.run_lock);
        start_workers(&g_pool, default_threads());
        g_pool.inited = 1;
        pthread_mutex_unlock(&g_pool.run_lock);
    }
    pthread_mutex_unlock(&g_init_lock);
}

int k_threads(void) {
    pool_init();
    return g_pool.n_workers + 1;
}

int k_set_threads(int n) {
    pool_init();
    if (n <= 0) n = default_threads();
    if (n > K_MAX_THREADS) n = K_MAX_THREADS;
    pthread_mutex_lock(&g_pool.run_lock);
    if (n != g_pool.n_workers + 1) {
        stop_workers(&g_pool);
        start_workers(&g_pool, n);
    }
    int r = g_pool.n_workers + 1;
    pthread_mutex_unlock(&g_pool.run_lock);
    return r;
}

void k_parallel(k_task_fn fn, void *ctx, int max_threads) {
    k_pool_t *p = &g_pool;
    pool_init();
    if (max_threads <= 1 || p->n_workers == 0 || pthread_mutex_trylock(&p->run_lock) != 0) {
        fn(ctx, 0, 1);
        return;
    }
    int nth = p->n_workers + 1;
    if (nth > max_threads) nth = max_threads;
    p->fn = fn;
    p->ctx = ctx;
    p->nth = nth;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, nth);
    for (unsigned spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < nth - 1; spins++) {
        cpu_relax();
        /* a worker that does not finish soon has probably been preempted
         * (shared machine): give it the CPU rather than spin against it */
        if (spins >= 2048) sched_yield();
    }
    pthread_mutex_unlock(&p->run_lock);
}
