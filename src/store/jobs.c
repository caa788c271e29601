/* jobs.c -- worker pool behind the legacy job queue.
 *
 * The store is the truth about a job; the in-memory FIFO only says what this
 * process still has to run. A job therefore goes: row created PENDING
 * (durably, before its id is returned) -> id queued -> a worker marks it
 * STARTED, runs the callback, and writes SUCCESS or FAILURE. A crash at any
 * point leaves the row PENDING or STARTED, and the next jobs_start() queues
 * it again: jobs run at least once, and a job interrupted by a crash runs
 * again from the start (the callback must tolerate that; generation does).
 *
 * Locking: j->mu guards the queue, the flags and the counters. It is never
 * held while calling the store or the callback, so a slow job or a slow disk
 * does not block submitters or waiters. */
#include "store/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

/* A waiter re-reads the store at least this often even without a wake-up,
 * so a job finished by someone else (or a lost race) never strands it. */
#define WAIT_RECHECK_SECONDS 1

typedef struct job_node {
    struct job_node *next;
    char *task_id;
} job_node_t;

struct jobs {
    store_t *store;
    job_fn fn;
    void *ud;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* queue got an item, or stopping */
    pthread_cond_t done_cv;  /* a job finished, stopping, or a waiter left */
    job_node_t *head, *tail; /* FIFO of task ids to run */
    size_t queued;
    unsigned long done_seq;  /* bumped on every completion */
    int stopping;
    int waiters;             /* threads inside jobs_wait() */

    pthread_t *threads;
    int nthreads;
};

static const char generic_error[] = "job failed without an error message";

/* Appends ids to the FIFO; all or nothing. Called with j->mu held. */
static int queue_push_locked(jobs_t *j, const char *const *ids, size_t n) {
    job_node_t *first = NULL, *last = NULL;
    for (size_t i = 0; i < n; i++) {
        job_node_t *node = malloc(sizeof *node);
        char *id = node ? strdup(ids[i]) : NULL;
        if (!id) {
            free(node);
            while (first) {
                job_node_t *next = first->next;
                free(first->task_id);
                free(first);
                first = next;
            }
            return -1;
        }
        node->task_id = id;
        node->next = NULL;
        if (last) last->next = node;
        else first = node;
        last = node;
    }
    if (!first) return 0;
    if (j->tail) j->tail->next = first;
    else j->head = first;
    j->tail = last;
    j->queued += n;
    pthread_cond_broadcast(&j->work_cv);
    return 0;
}

static void run_job(jobs_t *j, const char *task_id) {
    char *payload = NULL;
    job_status_t st;
    int found = store_job_get(j->store, task_id, &st, &payload, NULL, NULL);
    if (found != 1) {
        /* Gone (0) or unreadable (-1): nothing sensible to run. */
        log_error("jobs: cannot load task %s (%s)", task_id, found == 0 ? "not found" : "store error");
        return;
    }
    if (st == JOB_SUCCESS || st == JOB_FAILURE) { /* already finished elsewhere */
        free(payload);
        return;
    }
    if (store_job_set(j->store, task_id, JOB_STARTED, NULL, NULL) != 0)
        log_warn("jobs: cannot mark task %s STARTED; running it anyway", task_id);

    char *result = NULL, *error = NULL;
    int rc = j->fn(j->ud, payload, &result, &error);
    free(payload);

    int stored;
    if (rc == 0 && result) {
        stored = store_job_set(j->store, task_id, JOB_SUCCESS, result, NULL);
        if (stored != 0) /* most likely the callback's result is not JSON */
            stored = store_job_set(j->store, task_id, JOB_FAILURE, NULL,
                                   "job produced a result that could not be stored");
    } else {
        const char *msg = error && *error ? error
                          : rc == 0       ? "job produced no result"
                                          : generic_error;
        stored = store_job_set(j->store, task_id, JOB_FAILURE, NULL, msg);
    }
    if (stored != 0) log_error("jobs: cannot store the outcome of task %s", task_id);
    free(result);
    free(error);
}

static void *worker_main(void *arg) {
    jobs_t *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stopping && !j->head) pthread_cond_wait(&j->work_cv, &j->mu);
        if (j->stopping) break; /* queued jobs stay PENDING in the store */
        job_node_t *node = j->head;
        j->head = node->next;
        if (!j->head) j->tail = NULL;
        j->queued--;
        pthread_mutex_unlock(&j->mu);

        run_job(j, node->task_id);
        free(node->task_id);
        free(node);

        pthread_mutex_lock(&j->mu);
        j->done_seq++;
        pthread_cond_broadcast(&j->done_cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static void free_queue(jobs_t *j) {
    while (j->head) {
        job_node_t *next = j->head->next;
        free(j->head->task_id);
        free(j->head);
        j->head = next;
    }
    j->tail = NULL;
    j->queued = 0;
}

static void jobs_free(jobs_t *j) {
    free_queue(j);
    free(j->threads);
    pthread_cond_destroy(&j->work_cv);
    pthread_cond_destroy(&j->done_cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

jobs_t *jobs_start(store_t *store, int workers, job_fn fn, void *ud) {
    if (!store || !fn) return NULL;
    if (workers < 1) workers = 1;
    jobs_t *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->store = store;
    j->fn = fn;
    j->ud = ud;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->work_cv, NULL);
    /* Waiters use a timed wait; a monotonic clock keeps it immune to
     * wall-clock jumps. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->done_cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Recovery: whatever a previous process accepted and did not finish. */
    char **ids = NULL;
    size_t n = 0;
    if (store_jobs_unfinished(store, &ids, &n) != 0) {
        log_error("jobs: cannot list unfinished jobs");
        jobs_free(j);
        return NULL;
    }
    int rc = queue_push_locked(j, (const char *const *)ids, n); /* no threads yet */
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    if (rc != 0) { jobs_free(j); return NULL; }
    if (n) log_info("jobs: re-queued %zu unfinished job(s) from a previous run", n);

    j->threads = calloc((size_t)workers, sizeof *j->threads);
    if (!j->threads) { jobs_free(j); return NULL; }
    for (int i = 0; i < workers; i++) {
        int err = pthread_create(&j->threads[i], NULL, worker_main, j);
        if (err != 0) {
            log_error("jobs: cannot start worker thread: %s", strerror(err));
            jobs_stop(j); /* joins the ones already running and frees j */
            return NULL;
        }
        j->nthreads++;
    }
    return j;
}

int jobs_submit(jobs_t *j, const char *const *task_ids, const char *const *payloads, size_t n) {
    if (!j) return -1;
    pthread_mutex_lock(&j->mu);
    int stopping = j->stopping;
    pthread_mutex_unlock(&j->mu);
    if (stopping) return -1;
    if (n == 0) return 0;
    if (store_jobs_create(j->store, task_ids, payloads, n) != 0) return -1;

    pthread_mutex_lock(&j->mu);
    int rc = queue_push_locked(j, task_ids, n);
    pthread_mutex_unlock(&j->mu);
    if (rc != 0) {
        /* The rows exist and are durable, so they will run after a restart;
         * tell the caller this process could not take them now. */
        log_error("jobs: out of memory queueing %zu job(s); they stay PENDING", n);
        return -1;
    }
    return 0;
}

/* 1 when the task needs no more waiting: finished, unknown, or unreadable
 * (waiting for something that can never finish would hang the caller). */
static int task_settled(jobs_t *j, const char *task_id) {
    job_status_t st;
    int found = store_job_get(j->store, task_id, &st, NULL, NULL, NULL);
    if (found != 1) return 1;
    return st == JOB_SUCCESS || st == JOB_FAILURE;
}

void jobs_wait(jobs_t *j, const char *const *task_ids, size_t n) {
    if (!j || (n && !task_ids)) return;
    pthread_mutex_lock(&j->mu);
    j->waiters++;
    size_t next = 0; /* ids before `next` are known to be settled */
    while (!j->stopping) {
        /* Snapshot the completion counter before reading the store: any job
         * that finishes after our read bumps it, so the wait below cannot
         * miss it. */
        unsigned long seq = j->done_seq;
        pthread_mutex_unlock(&j->mu);
        while (next < n && task_settled(j, task_ids[next])) next++;
        pthread_mutex_lock(&j->mu);
        if (next == n) break;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += WAIT_RECHECK_SECONDS;
        while (j->done_seq == seq && !j->stopping) {
            if (pthread_cond_timedwait(&j->done_cv, &j->mu, &until) == ETIMEDOUT) break;
        }
    }
    j->waiters--;
    pthread_cond_broadcast(&j->done_cv); /* jobs_stop may wait for us to leave */
    pthread_mutex_unlock(&j->mu);
}

void jobs_stop(jobs_t *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    j->stopping = 1;
    pthread_cond_broadcast(&j->work_cv);
    pthread_cond_broadcast(&j->done_cv);
    pthread_mutex_unlock(&j->mu);

    for (int i = 0; i < j->nthreads; i++) pthread_join(j->threads[i], NULL);

    /* Waiters return once they see `stopping`; j must outlive them. */
    pthread_mutex_lock(&j->mu);
    while (j->waiters > 0) pthread_cond_wait(&j->done_cv, &j->mu);
    size_t left = j->queued;
    pthread_mutex_unlock(&j->mu);
    if (left) log_info("jobs: stopped with %zu job(s) queued; they stay PENDING", left);
    jobs_free(j);
}

size_t jobs_queued(jobs_t *j) {
    if (!j) return 0;
    pthread_mutex_lock(&j->mu);
    size_t n = j->queued;
    pthread_mutex_unlock(&j->mu);
    return n;
}
