/* store.h -- durable state in SQLite (WAL mode) under the data directory.
 *
 * Tables: feedback (with section_feedback and variant_history JSON),
 * optimization_results (per tracking id), jobs (legacy batch tasks and their
 * status). Every write is committed before the function returns, so what a
 * client was told was accepted survives a crash (synchronous=NORMAL under
 * WAL is durable across process crashes; FULL is used for job creation).
 *
 * One store_t is shared by all threads; calls are serialised internally.
 * Strings returned are malloc'd and owned by the caller. JSON arguments and
 * results are compact JSON texts. */
#ifndef COPYD_STORE_STORE_H
#define COPYD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

/* Creates `dir` if needed and opens (or creates) dir/copyd.db. */
store_t *store_open(const char *dir, char *err, size_t errsz);
void store_close(store_t *s);

/* ---- feedback ------------------------------------------------------- */
typedef struct feedback_in {
    const char *variant_id;          /* required */
    const char *type;                /* human | model | auto | ai_analysis */
    double score;                    /* 0..1 */
    const char *comments;            /* may be NULL */
    const char *user_id;             /* may be NULL */
    const char *timestamp;           /* ISO 8601; NULL = now */
    double processing_time_ms;       /* valid when has_processing_time */
    int has_processing_time;
    const char *section_feedback;    /* JSON or NULL */
    const char *variant_history;     /* JSON or NULL */
} feedback_in_t;

/* 0 on success with the new row id in *id. */
int store_feedback_add(store_t *s, const feedback_in_t *f, int64_t *id);

typedef struct feedback_query {
    const char *variant_id, *user_id, *type;  /* NULL = any */
    double score_gte, score_lte;
    int has_score_gte, has_score_lte;
    double ts_gte, ts_lte;                    /* epoch seconds */
    int has_ts_gte, has_ts_lte;
    int skip, limit;
} feedback_query_t;

/* Bare JSON array, newest first; items have id, variant_id, type, score,
 * comments, user_id, timestamp, processing_time_ms, section_feedback,
 * variant_history. NULL on a database error. */
char *store_feedback_list(store_t *s, const feedback_query_t *q);

/* The variant_history stored with the newest feedback of that variant
 * (JSON), or NULL when there is none (*found = 0) or on error (*found = -1). */
char *store_variant_history(store_t *s, const char *variant_id, int *found);

/* ---- optimisation results ------------------------------------------ */
int store_optimization_put(store_t *s, const char *tracking_id, const char *json);
/* The stored results for that tracking id as a JSON object, NULL if none. */
char *store_optimization_get(store_t *s, const char *tracking_id, int *found);

/* ---- jobs (legacy /batch-generate) --------------------------------- */
typedef enum { JOB_PENDING = 0, JOB_STARTED, JOB_SUCCESS, JOB_FAILURE } job_status_t;
const char *job_status_name(job_status_t st); /* "PENDING", ... */

/* Inserts a PENDING job; durable (fsync'd) before it returns. */
int store_job_create(store_t *s, const char *task_id, const char *payload_json);
/* Inserts n PENDING jobs in one transaction: all or none (a duplicate id or
 * invalid payload JSON fails the whole batch). Durable before it returns. */
int store_jobs_create(store_t *s, const char *const *task_ids, const char *const *payloads,
                      size_t n);
int store_job_set(store_t *s, const char *task_id, job_status_t st, const char *result_json,
                  const char *error);
/* 1 found, 0 not found, -1 error. Outputs are malloc'd (result/error may be NULL). */
int store_job_get(store_t *s, const char *task_id, job_status_t *st, char **payload_json,
                  char **result_json, char **error);
/* Ids of jobs not finished (PENDING or STARTED), oldest first; for recovery at
 * start. *ids is a malloc'd array of malloc'd strings. */
int store_jobs_unfinished(store_t *s, char ***ids, size_t *n);

#endif
