/* jobs.h -- the legacy job queue behind POST /batch-generate.
 *
 * A job is created in the store (durably) before its id is returned to the
 * client, then handed to a pool of worker threads. At start every job left
 * PENDING or STARTED by a previous process (SIGTERM, crash, kill -9) is
 * queued again, so an accepted job is always finished and its status is
 * never lost. The work itself is a callback owned by the api layer, so this
 * module knows nothing about engines or HTTP. */
#ifndef COPYD_STORE_JOBS_H
#define COPYD_STORE_JOBS_H

#include <stddef.h>

#include "store/store.h"

/* Runs one job: payload in, result JSON (malloc'd) or error (malloc'd) out.
 * Returns 0 on success, -1 on failure. Called from worker threads. */
typedef int (*job_fn)(void *ud, const char *payload_json, char **result_json, char **error);

typedef struct jobs jobs_t;

/* Starts `workers` threads and re-queues unfinished jobs from `store`. */
jobs_t *jobs_start(store_t *store, int workers, job_fn fn, void *ud);
/* Creates the jobs (durably) and queues them. task_ids[i] must be UUIDs made
 * by the caller. 0 on success; on failure none is queued. -1 once jobs_stop()
 * has begun. */
int jobs_submit(jobs_t *j, const char *const *task_ids, const char *const *payloads, size_t n);
/* Blocks until all these tasks are SUCCESS or FAILURE (for ?wait=true).
 * Unknown ids count as finished; returns early when jobs_stop() begins (the
 * caller then reads whatever status each task has). */
void jobs_wait(jobs_t *j, const char *const *task_ids, size_t n);
/* Stops taking new jobs, finishes the running ones, joins the threads and
 * frees `j`. Jobs still queued stay PENDING in the store and run after restart. */
void jobs_stop(jobs_t *j);
size_t jobs_queued(jobs_t *j);

#endif
