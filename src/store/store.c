/* store.c -- durable state in one SQLite database, dir/copyd.db.
 *
 * One connection, one mutex: every public function takes the mutex, uses
 * statements prepared once at open time, and resets them before it lets go.
 * SQLite is opened with SQLITE_OPEN_NOMUTEX because our own mutex already
 * serialises all use of the connection.
 *
 * Durability. The database runs in WAL mode with synchronous=NORMAL. Under
 * WAL, a commit appends the transaction's pages to the -wal file with
 * write(2) before sqlite3_step() returns; NORMAL only skips the fsync of the
 * WAL at each commit (it still syncs at checkpoints). Data handed to write(2)
 * lives in the kernel's page cache, which does not die with the process, so
 * every committed transaction survives a crash, abort or `kill -9` of copyd.
 * What NORMAL gives up is the last few transactions on a power loss or a
 * kernel crash. Job creation is the one write a client is promised will be
 * done ("here is your task id"), so it runs with synchronous=FULL: the WAL is
 * fsync'd before the ids are handed out, and that survives power loss too.
 *
 * Only one copyd process should use a data directory at a time: recovery
 * (store_jobs_unfinished) treats every STARTED job as abandoned. Other
 * processes may read the database (WAL lets readers and a writer coexist;
 * busy_timeout absorbs short lock waits).
 *
 * JSON columns (section_feedback, variant_history, optimisation results, job
 * payload and result) are validated with jansson on the way in and stored as
 * the caller's text, so the client's numbers come back exactly as sent, and
 * stored text can be spliced into answers without parsing it again. */
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

/* Bump when the schema changes, and add a step to migrate(). */
#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 5000
#define FEEDBACK_DEFAULT_LIMIT 20

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SYNC_FULL,
    ST_SYNC_NORMAL,
    ST_FB_INSERT,
    ST_FB_LIST,
    ST_VH_GET,
    ST_OPT_PUT,
    ST_OPT_GET,
    ST_JOB_INSERT,
    ST_JOB_SET,
    ST_JOB_GET,
    ST_JOB_UNFINISHED,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
    [ST_FB_INSERT] =
        "INSERT INTO feedback (variant_id, type, score, comments, user_id, ts_text, ts_epoch,"
        " processing_time_ms, section_feedback, variant_history, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    /* One statement for every combination of filters: a NULL parameter
     * switches its condition off. */
    [ST_FB_LIST] =
        "SELECT id, variant_id, type, score, comments, user_id, ts_text, processing_time_ms,"
        " section_feedback, variant_history FROM feedback"
        " WHERE (?1 IS NULL OR variant_id = ?1) AND (?2 IS NULL OR user_id = ?2)"
        " AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR score >= ?4)"
        " AND (?5 IS NULL OR score <= ?5) AND (?6 IS NULL OR ts_epoch >= ?6)"
        " AND (?7 IS NULL OR ts_epoch <= ?7)"
        " ORDER BY id DESC LIMIT ?8 OFFSET ?9",
    [ST_VH_GET] = "SELECT variant_history FROM feedback"
                  " WHERE variant_id = ?1 AND variant_history IS NOT NULL"
                  " ORDER BY id DESC LIMIT 1",
    [ST_OPT_PUT] = "INSERT INTO optimization_results (tracking_id, result, created_at)"
                   " VALUES (?1, ?2, ?3) ON CONFLICT(tracking_id) DO UPDATE SET"
                   " result = excluded.result, created_at = excluded.created_at",
    [ST_OPT_GET] = "SELECT result FROM optimization_results WHERE tracking_id = ?1",
    [ST_JOB_INSERT] = "INSERT INTO jobs (task_id, status, payload, created_at, updated_at)"
                      " VALUES (?1, 'PENDING', ?2, ?3, ?3)",
    [ST_JOB_SET] = "UPDATE jobs SET status = ?2, result = ?3, error = ?4, updated_at = ?5"
                   " WHERE task_id = ?1",
    [ST_JOB_GET] = "SELECT status, payload, result, error FROM jobs WHERE task_id = ?1",
    [ST_JOB_UNFINISHED] = "SELECT task_id FROM jobs WHERE status IN ('PENDING', 'STARTED')"
                          " ORDER BY created_at, rowid",
};

static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS feedback ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " variant_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " score REAL NOT NULL,"
    " comments TEXT,"
    " user_id TEXT,"
    " ts_text TEXT NOT NULL,"      /* ISO 8601, UTC, as answered */
    " ts_epoch REAL NOT NULL,"     /* same instant, for range filters */
    " processing_time_ms REAL,"
    " section_feedback TEXT,"      /* JSON text or NULL */
    " variant_history TEXT,"       /* JSON text or NULL */
    " created_at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS feedback_variant ON feedback (variant_id, id);"
    "CREATE TABLE IF NOT EXISTS optimization_results ("
    " tracking_id TEXT PRIMARY KEY,"
    " result TEXT NOT NULL,"
    " created_at REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs ("
    " task_id TEXT PRIMARY KEY,"
    " status TEXT NOT NULL CHECK (status IN ('PENDING', 'STARTED', 'SUCCESS', 'FAILURE')),"
    " payload TEXT NOT NULL,"
    " result TEXT,"
    " error TEXT,"
    " created_at REAL NOT NULL,"
    " updated_at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);";

struct store {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_COUNT];
};

static const char *const status_names[] = {"PENDING", "STARTED", "SUCCESS", "FAILURE"};

const char *job_status_name(job_status_t st) {
    if ((int)st < 0 || (size_t)st >= sizeof status_names / sizeof status_names[0]) return "UNKNOWN";
    return status_names[st];
}

static int job_status_parse(const char *s, job_status_t *out) {
    for (size_t i = 0; s && i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(s, status_names[i]) == 0) { *out = (job_status_t)i; return 0; }
    return -1;
}

/* ---- helpers --------------------------------------------------------- */

/* mkdir -p: creates every missing component of `dir`. */
static int mkdir_p(const char *dir, char *err, size_t errsz) {
    size_t n = strlen(dir);
    char *path = malloc(n + 1);
    if (!path) { snprintf(err, errsz, "out of memory"); return -1; }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errsz, "cannot create data directory %s: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        path[i] = saved;
    }
    free(path);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        snprintf(err, errsz, "cannot use data directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errsz, "data directory %s exists and is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errsz, "data directory %s is not writable: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* 0 when `text` is one complete JSON value; *is_null says it was `null`. */
static int json_check(const char *text, int *is_null) {
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v) return -1;
    if (is_null) *is_null = json_is_null(v);
    json_decref(v);
    return 0;
}

/* Binds an optional JSON argument: NULL or the JSON `null` become SQL NULL.
 * -1 when the text is not JSON. */
static int bind_json(sqlite3_stmt *st, int idx, const char *text) {
    int is_null = 0;
    if (!text) return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : -1;
    if (json_check(text, &is_null) != 0) return -1;
    if (is_null) return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : -1;
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int bind_text_or_null(sqlite3_stmt *st, int idx, const char *text) {
    int rc = text ? sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
    return rc == SQLITE_OK ? 0 : -1;
}

static void done(sqlite3_stmt *st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows, then resets it. */
static int exec_stmt(store_t *s, int which) {
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_error("store: %s: %s", stmt_sql[which], sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

static char *dup_col(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void put_num(buf_t *b, double v) {
    char tmp[40];
    if (!isfinite(v)) { buf_puts(b, "null"); return; }
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
    buf_puts(b, tmp);
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errsz) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errsz, "database setup failed (%s): %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Brings the schema to SCHEMA_VERSION inside one write transaction, so two
 * processes opening a fresh database at once cannot both migrate. */
static int migrate(sqlite3 *db, char *err, size_t errsz) {
    if (exec_sql(db, "BEGIN IMMEDIATE", err, errsz) != 0) return -1;
    int version = 0;
    if (pragma_int(db, "PRAGMA user_version", &version) != 0) {
        snprintf(err, errsz, "cannot read schema version: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (version > SCHEMA_VERSION) {
        snprintf(err, errsz, "database schema version %d is newer than this copyd (%d)", version,
                 SCHEMA_VERSION);
        goto fail;
    }
    if (version < 1) {
        if (exec_sql(db, schema_v1, err, errsz) != 0) goto fail;
    }
    /* Future versions: if (version < 2) { ALTER TABLE ... } */
    if (version != SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
        if (exec_sql(db, sql, err, errsz) != 0) goto fail;
    }
    return exec_sql(db, "COMMIT", err, errsz);
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* ---- open / close ---------------------------------------------------- */

store_t *store_open(const char *dir, char *err, size_t errsz) {
    char dummy[8];
    if (!err || errsz == 0) { err = dummy; errsz = sizeof dummy; }
    err[0] = '\0';
    if (!dir || !*dir) { snprintf(err, errsz, "no data directory given"); return NULL; }
    if (mkdir_p(dir, err, errsz) != 0) return NULL;

    store_t *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errsz, "out of memory"); return NULL; }
    pthread_mutex_init(&s->mu, NULL);

    size_t plen = strlen(dir) + sizeof "/copyd.db";
    char *path = malloc(plen);
    if (!path) { snprintf(err, errsz, "out of memory"); goto fail; }
    snprintf(path, plen, "%s/copyd.db", dir);
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errsz, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        free(path);
        goto fail;
    }
    free(path);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);

    /* journal_mode answers the mode in force; anything but "wal" means the
     * file system refused it (e.g. no shared memory), and our durability
     * argument above would not hold. */
    sqlite3_stmt *jm;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &jm, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot set WAL mode: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    rc = sqlite3_step(jm);
    const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(jm, 0) : NULL;
    int wal = mode && strcmp((const char *)mode, "wal") == 0;
    if (!wal)
        snprintf(err, errsz, "cannot set WAL mode on %s/copyd.db: %s", dir,
                 rc == SQLITE_ROW ? (mode ? (const char *)mode : "?") : sqlite3_errmsg(s->db));
    sqlite3_finalize(jm);
    if (!wal) goto fail;

    if (exec_sql(s->db, "PRAGMA synchronous=NORMAL", err, errsz) != 0) goto fail;
    if (migrate(s->db, err, errsz) != 0) goto fail;

    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, errsz, "cannot prepare statement: %s", sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(store_t *s) {
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_error("store: close: %s", sqlite3_errmsg(s->db));
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- feedback -------------------------------------------------------- */

int store_feedback_add(store_t *s, const feedback_in_t *f, int64_t *id) {
    if (!s || !f || !f->variant_id || !f->type || !isfinite(f->score) || f->score < 0 ||
        f->score > 1)
        return -1;
    if (f->has_processing_time && !isfinite(f->processing_time_ms)) return -1;
    double now = now_wall(), ts = now;
    if (f->timestamp && iso8601_parse(f->timestamp, &ts) != 0) return -1;
    /* Answered in one canonical UTC form whatever offset the client used. */
    char ts_text[ISO8601_LEN];
    iso8601_from(ts, ts_text);

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_FB_INSERT];
    int ok = sqlite3_bind_text(st, 1, f->variant_id, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(st, 2, f->type, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_double(st, 3, f->score) == SQLITE_OK &&
             bind_text_or_null(st, 4, f->comments) == 0 && bind_text_or_null(st, 5, f->user_id) == 0 &&
             sqlite3_bind_text(st, 6, ts_text, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_double(st, 7, ts) == SQLITE_OK &&
             (f->has_processing_time ? sqlite3_bind_double(st, 8, f->processing_time_ms)
                                     : sqlite3_bind_null(st, 8)) == SQLITE_OK &&
             bind_json(st, 9, f->section_feedback) == 0 && bind_json(st, 10, f->variant_history) == 0 &&
             sqlite3_bind_double(st, 11, now) == SQLITE_OK;
    int rc = -1;
    if (ok) {
        if (sqlite3_step(st) == SQLITE_DONE) {
            if (id) *id = (int64_t)sqlite3_last_insert_rowid(s->db);
            rc = 0;
        } else {
            log_error("store: feedback insert: %s", sqlite3_errmsg(s->db));
        }
    }
    done(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Appends a stored JSON column as a value: the text itself, or null. */
static void put_json_col(buf_t *b, sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    buf_puts(b, t ? (const char *)t : "null");
}

char *store_feedback_list(store_t *s, const feedback_query_t *q) {
    if (!s || !q) return NULL;
    int limit = q->limit > 0 ? q->limit : FEEDBACK_DEFAULT_LIMIT;
    int skip = q->skip > 0 ? q->skip : 0;

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_FB_LIST];
    bind_text_or_null(st, 1, q->variant_id);
    bind_text_or_null(st, 2, q->user_id);
    bind_text_or_null(st, 3, q->type);
    if (q->has_score_gte) sqlite3_bind_double(st, 4, q->score_gte);
    if (q->has_score_lte) sqlite3_bind_double(st, 5, q->score_lte);
    if (q->has_ts_gte) sqlite3_bind_double(st, 6, q->ts_gte);
    if (q->has_ts_lte) sqlite3_bind_double(st, 7, q->ts_lte);
    sqlite3_bind_int(st, 8, limit);
    sqlite3_bind_int(st, 9, skip);

    buf_t b = BUF_INIT;
    buf_putc(&b, '[');
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++) buf_putc(&b, ',');
        buf_printf(&b, "{\"id\":%lld,\"variant_id\":", (long long)sqlite3_column_int64(st, 0));
        buf_json_str(&b, (const char *)sqlite3_column_text(st, 1));
        buf_puts(&b, ",\"type\":");
        buf_json_str(&b, (const char *)sqlite3_column_text(st, 2));
        buf_puts(&b, ",\"score\":");
        put_num(&b, sqlite3_column_double(st, 3));
        buf_puts(&b, ",\"comments\":");
        buf_json_str(&b, (const char *)sqlite3_column_text(st, 4));
        buf_puts(&b, ",\"user_id\":");
        buf_json_str(&b, (const char *)sqlite3_column_text(st, 5));
        buf_puts(&b, ",\"timestamp\":");
        buf_json_str(&b, (const char *)sqlite3_column_text(st, 6));
        buf_puts(&b, ",\"processing_time_ms\":");
        if (sqlite3_column_type(st, 7) == SQLITE_NULL) buf_puts(&b, "null");
        else put_num(&b, sqlite3_column_double(st, 7));
        buf_puts(&b, ",\"section_feedback\":");
        put_json_col(&b, st, 8);
        buf_puts(&b, ",\"variant_history\":");
        put_json_col(&b, st, 9);
        buf_putc(&b, '}');
    }
    if (rc != SQLITE_DONE) log_error("store: feedback list: %s", sqlite3_errmsg(s->db));
    done(st);
    pthread_mutex_unlock(&s->mu);
    buf_putc(&b, ']');
    if (rc != SQLITE_DONE) { buf_free(&b); return NULL; }
    return buf_detach(&b, NULL);
}

/* Runs a one-column, at-most-one-row lookup keyed by `key`. */
static char *lookup_text(store_t *s, int which, const char *key, int *found) {
    int f = -1;
    char *out = NULL;
    if (s && key) {
        pthread_mutex_lock(&s->mu);
        sqlite3_stmt *st = s->st[which];
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out = dup_col(st, 0);
            f = out ? 1 : -1;
        } else if (rc == SQLITE_DONE) {
            f = 0;
        } else {
            log_error("store: %s: %s", stmt_sql[which], sqlite3_errmsg(s->db));
        }
        done(st);
        pthread_mutex_unlock(&s->mu);
    }
    if (found) *found = f;
    return out;
}

char *store_variant_history(store_t *s, const char *variant_id, int *found) {
    return lookup_text(s, ST_VH_GET, variant_id, found);
}

/* ---- optimisation results ------------------------------------------- */

int store_optimization_put(store_t *s, const char *tracking_id, const char *json) {
    if (!s || !tracking_id || !json) return -1;
    json_error_t jerr;
    json_t *v = json_loads(json, 0, &jerr); /* flags 0: objects and arrays only */
    int is_obj = v && json_is_object(v);
    json_decref(v);
    if (!is_obj) return -1;

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_OPT_PUT];
    sqlite3_bind_text(st, 1, tracking_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, now_wall());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (rc) log_error("store: optimization put: %s", sqlite3_errmsg(s->db));
    done(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

char *store_optimization_get(store_t *s, const char *tracking_id, int *found) {
    return lookup_text(s, ST_OPT_GET, tracking_id, found);
}

/* ---- jobs ------------------------------------------------------------ */

int store_jobs_create(store_t *s, const char *const *task_ids, const char *const *payloads,
                      size_t n) {
    if (!s || (n && (!task_ids || !payloads))) return -1;
    for (size_t i = 0; i < n; i++)
        if (!task_ids[i] || !*task_ids[i] || !payloads[i] || json_check(payloads[i], NULL) != 0)
            return -1;
    if (n == 0) return 0;

    pthread_mutex_lock(&s->mu);
    /* FULL: the commit below fsyncs the WAL, so the ids handed to the client
     * survive even a power loss (see the comment at the top). synchronous
     * cannot change inside a transaction, hence around it. */
    int rc = exec_stmt(s, ST_SYNC_FULL);
    if (rc == 0 && (rc = exec_stmt(s, ST_BEGIN)) == 0) {
        double now = now_wall();
        sqlite3_stmt *st = s->st[ST_JOB_INSERT];
        for (size_t i = 0; i < n && rc == 0; i++) {
            sqlite3_bind_text(st, 1, task_ids[i], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, payloads[i], -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 3, now);
            if (sqlite3_step(st) != SQLITE_DONE) {
                log_error("store: job create %s: %s", task_ids[i], sqlite3_errmsg(s->db));
                rc = -1;
            }
            done(st);
        }
        if (rc == 0) rc = exec_stmt(s, ST_COMMIT);
        if (rc != 0) exec_stmt(s, ST_ROLLBACK);
    }
    exec_stmt(s, ST_SYNC_NORMAL);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_job_create(store_t *s, const char *task_id, const char *payload_json) {
    return store_jobs_create(s, &task_id, &payload_json, 1);
}

int store_job_set(store_t *s, const char *task_id, job_status_t stv, const char *result_json,
                  const char *error) {
    if (!s || !task_id || (int)stv < JOB_PENDING || stv > JOB_FAILURE) return -1;
    if (result_json && json_check(result_json, NULL) != 0) return -1;

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_JOB_SET];
    sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job_status_name(stv), -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, result_json);
    bind_text_or_null(st, 4, error);
    sqlite3_bind_double(st, 5, now_wall());
    int rc = -1;
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error("store: job set %s: %s", task_id, sqlite3_errmsg(s->db));
    else if (sqlite3_changes(s->db) == 1)
        rc = 0; /* else: no such task */
    done(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_job_get(store_t *s, const char *task_id, job_status_t *stv, char **payload_json,
                  char **result_json, char **error) {
    if (payload_json) *payload_json = NULL;
    if (result_json) *result_json = NULL;
    if (error) *error = NULL;
    if (!s || !task_id) return -1;

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_JOB_GET];
    sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret;
    if (rc == SQLITE_ROW) {
        job_status_t v = JOB_PENDING;
        ret = job_status_parse((const char *)sqlite3_column_text(st, 0), &v) == 0 ? 1 : -1;
        if (ret == 1 && stv) *stv = v;
        if (ret == 1 && payload_json) *payload_json = dup_col(st, 1);
        if (ret == 1 && result_json) *result_json = dup_col(st, 2);
        if (ret == 1 && error) *error = dup_col(st, 3);
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    } else {
        log_error("store: job get %s: %s", task_id, sqlite3_errmsg(s->db));
        ret = -1;
    }
    done(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int store_jobs_unfinished(store_t *s, char ***ids, size_t *n) {
    if (!s || !ids || !n) return -1;
    *ids = NULL;
    *n = 0;
    char **v = NULL;
    size_t len = 0, cap = 0;
    int rc, ok = 1;

    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->st[ST_JOB_UNFINISHED];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(v, ncap * sizeof *nv);
            if (!nv) { ok = 0; break; }
            v = nv;
            cap = ncap;
        }
        if (!(v[len] = dup_col(st, 0))) { ok = 0; break; }
        len++;
    }
    if (ok && rc != SQLITE_DONE) {
        log_error("store: unfinished jobs: %s", sqlite3_errmsg(s->db));
        ok = 0;
    }
    done(st);
    pthread_mutex_unlock(&s->mu);

    if (!ok) {
        for (size_t i = 0; i < len; i++) free(v[i]);
        free(v);
        return -1;
    }
    *ids = v;
    *n = len;
    return 0;
}
