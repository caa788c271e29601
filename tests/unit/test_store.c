/* test_store.c -- the SQLite store on a real database file in a temp dir:
 * feedback (every filter, paging, order, JSON round trip), variant history,
 * optimisation results, jobs, recovery listing, reopen, bad directories. */
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "store/store.h"
#include "test.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Parses a list answer; every test below reads JSON, not strings. */
static json_t *list(store_t *s, const feedback_query_t *q) {
    char *text = store_feedback_list(s, q);
    CHECK(text != NULL);
    if (!text) return json_array();
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    CHECK(v && json_is_array(v));
    free(text);
    return v ? v : json_array();
}

/* The ids of a list answer, in order, as "5,3,1". */
static void ids_of(json_t *arr, char *out, size_t outsz) {
    size_t i, used = 0;
    json_t *it;
    out[0] = '\0';
    json_array_foreach(arr, i, it) {
        used += (size_t)snprintf(out + used, outsz - used, "%s%lld", i ? "," : "",
                                 (long long)json_integer_value(json_object_get(it, "id")));
        if (used >= outsz) break;
    }
}

static void check_ids(store_t *s, const feedback_query_t *q, const char *want) {
    json_t *arr = list(s, q);
    char got[512];
    ids_of(arr, got, sizeof got);
    CHECK_STR(got, want);
    json_decref(arr);
}

static int64_t add_fb(store_t *s, const char *variant, const char *type, double score, const char *user,
                      const char *ts, const char *history) {
    feedback_in_t f = {0};
    f.variant_id = variant;
    f.type = type;
    f.score = score;
    f.user_id = user;
    f.timestamp = ts;
    f.variant_history = history;
    int64_t id = -1;
    CHECK(store_feedback_add(s, &f, &id) == 0);
    return id;
}

static void test_open_creates_dir(const char *root) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a/b/data", root);
    char err[256] = "";
    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    store_close(s);

    /* The file is there, in WAL mode, with a schema version. */
    char path[600];
    snprintf(path, sizeof path, "%s/copyd.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) >= 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_bad_dirs(const char *root) {
    char file[512], dir[600], err[256];

    /* A data directory below a regular file cannot exist (even for root). */
    snprintf(file, sizeof file, "%s/plainfile", root);
    FILE *fp = fopen(file, "w");
    CHECK(fp != NULL);
    if (fp) fclose(fp);
    snprintf(dir, sizeof dir, "%s/sub", file);
    err[0] = '\0';
    CHECK(store_open(dir, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot create data directory") != NULL);

    /* The path is a file, not a directory. */
    err[0] = '\0';
    CHECK(store_open(file, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a directory") != NULL);

    /* Read-only directory (root ignores permissions, so only as a user). */
    if (geteuid() != 0) {
        snprintf(dir, sizeof dir, "%s/ro", root);
        CHECK(mkdir(dir, 0500) == 0);
        err[0] = '\0';
        CHECK(store_open(dir, err, sizeof err) == NULL);
        CHECK(strstr(err, "not writable") != NULL);
        chmod(dir, 0700);
    }

    CHECK(store_open("", err, sizeof err) == NULL);
    CHECK(store_open(NULL, err, sizeof err) == NULL);
}

static void test_newer_schema_refused(const char *root) {
    char dir[512], path[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/newer", root);
    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    store_close(s);
    snprintf(path, sizeof path, "%s/copyd.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(store_open(dir, err, sizeof err) == NULL);
    CHECK(strstr(err, "newer") != NULL);
}

static void test_feedback(store_t *s) {
    /* Bad input is refused, not stored. */
    feedback_in_t bad = {.variant_id = "v", .type = "human", .score = 0.5};
    int64_t id = 0;
    bad.section_feedback = "{not json";
    CHECK(store_feedback_add(s, &bad, &id) != 0);
    bad.section_feedback = NULL;
    bad.timestamp = "yesterday";
    CHECK(store_feedback_add(s, &bad, &id) != 0);
    bad.timestamp = NULL;
    bad.score = 1.5;
    CHECK(store_feedback_add(s, &bad, &id) != 0);
    bad.score = NAN;
    CHECK(store_feedback_add(s, &bad, &id) != 0);
    bad.score = 0.5;
    bad.variant_id = NULL;
    CHECK(store_feedback_add(s, &bad, &id) != 0);

    feedback_query_t all = {0};
    check_ids(s, &all, "");

    /* Six rows: ids 1..6 in insertion order. */
    int64_t id1 = add_fb(s, "va", "human", 0.2, "alice", "2024-01-01T00:00:00Z", NULL);
    int64_t id2 = add_fb(s, "vb", "model", 0.5, "bob", "2024-02-01T00:00:00Z", "[{\"step\":1}]");
    int64_t id3 = add_fb(s, "va", "auto", 0.8, "alice", "2024-03-01T00:00:00Z", "{\"gen\":1}");
    int64_t id4 = add_fb(s, "vc", "ai_analysis", 1.0, NULL, "2024-04-01T00:00:00Z", NULL);
    int64_t id5 = add_fb(s, "va", "human", 0.0, "carol", "2024-05-01T00:00:00+02:00", "{\"gen\":2}");
    CHECK(id1 > 0 && id2 > id1 && id3 > id2 && id4 > id3 && id5 > id4);

    feedback_in_t full = {0};
    full.variant_id = "vd";
    full.type = "model";
    full.score = 0.123456789012;
    full.comments = "dijo \"genial\"\nñandú ✓";
    full.user_id = "dave";
    full.timestamp = NULL; /* now */
    full.processing_time_ms = 12.5;
    full.has_processing_time = 1;
    full.section_feedback = "{\"headline\":{\"score\":0.9,\"note\":\"corto\"},\"cta\":[1,2.5,null]}";
    full.variant_history = "[{\"variant\":\"vd\",\"score\":0.7}]";
    double before = now_wall();
    int64_t id6 = 0;
    CHECK(store_feedback_add(s, &full, &id6) == 0);
    double after = now_wall();
    CHECK(id6 > id5);

    char want[128];
    snprintf(want, sizeof want, "%lld,%lld,%lld,%lld,%lld,%lld", (long long)id6, (long long)id5,
             (long long)id4, (long long)id3, (long long)id2, (long long)id1);
    check_ids(s, &all, want);

    /* Every field of the full row comes back, JSON members as JSON values. */
    feedback_query_t qd = {.variant_id = "vd"};
    json_t *arr = list(s, &qd);
    CHECK(json_array_size(arr) == 1);
    json_t *it = json_array_get(arr, 0);
    CHECK(json_is_integer(json_object_get(it, "id")));
    CHECK(json_integer_value(json_object_get(it, "id")) == id6);
    CHECK_STR(json_string_value(json_object_get(it, "variant_id")), "vd");
    CHECK_STR(json_string_value(json_object_get(it, "type")), "model");
    CHECK(json_real_value(json_object_get(it, "score")) == 0.123456789012);
    CHECK_STR(json_string_value(json_object_get(it, "comments")), full.comments);
    CHECK_STR(json_string_value(json_object_get(it, "user_id")), "dave");
    CHECK(json_number_value(json_object_get(it, "processing_time_ms")) == 12.5);
    double ts = 0;
    const char *tstext = json_string_value(json_object_get(it, "timestamp"));
    CHECK(tstext && iso8601_parse(tstext, &ts) == 0);
    CHECK(ts >= before - 1e-3 && ts <= after + 1e-3);
    json_error_t jerr;
    json_t *sf_in = json_loads(full.section_feedback, 0, &jerr);
    json_t *vh_in = json_loads(full.variant_history, 0, &jerr);
    CHECK(json_equal(json_object_get(it, "section_feedback"), sf_in));
    CHECK(json_equal(json_object_get(it, "variant_history"), vh_in));
    json_decref(sf_in);
    json_decref(vh_in);
    json_decref(arr);

    /* Absent optional fields are JSON nulls; offsets are normalised to UTC. */
    feedback_query_t qc = {.variant_id = "vc"};
    arr = list(s, &qc);
    it = json_array_get(arr, 0);
    CHECK(json_is_null(json_object_get(it, "comments")));
    CHECK(json_is_null(json_object_get(it, "user_id")));
    CHECK(json_is_null(json_object_get(it, "processing_time_ms")));
    CHECK(json_is_null(json_object_get(it, "section_feedback")));
    CHECK(json_is_null(json_object_get(it, "variant_history")));
    CHECK(json_number_value(json_object_get(it, "score")) == 1.0);
    json_decref(arr);
    feedback_query_t qcarol = {.user_id = "carol"};
    arr = list(s, &qcarol);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "timestamp")),
              "2024-04-30T22:00:00.000000Z");
    json_decref(arr);

    /* Filters, one at a time and together. */
    char w[128];
    feedback_query_t q = {.variant_id = "va"};
    snprintf(w, sizeof w, "%lld,%lld,%lld", (long long)id5, (long long)id3, (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.user_id = "alice"};
    snprintf(w, sizeof w, "%lld,%lld", (long long)id3, (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.type = "human"};
    snprintf(w, sizeof w, "%lld,%lld", (long long)id5, (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.variant_id = "nope"};
    check_ids(s, &q, "");
    /* Score bounds are inclusive. */
    q = (feedback_query_t){.score_gte = 0.5, .has_score_gte = 1};
    snprintf(w, sizeof w, "%lld,%lld,%lld", (long long)id4, (long long)id3, (long long)id2);
    check_ids(s, &q, w);
    q = (feedback_query_t){.score_lte = 0.2, .has_score_lte = 1};
    snprintf(w, sizeof w, "%lld,%lld,%lld", (long long)id6, (long long)id5, (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.score_gte = 0.2, .has_score_gte = 1, .score_lte = 0.8, .has_score_lte = 1};
    snprintf(w, sizeof w, "%lld,%lld,%lld", (long long)id3, (long long)id2, (long long)id1);
    check_ids(s, &q, w);
    /* Time bounds are inclusive too; id5 is 2024-04-30T22:00Z. */
    double t_feb = 0, t_apr = 0;
    CHECK(iso8601_parse("2024-02-01T00:00:00Z", &t_feb) == 0);
    CHECK(iso8601_parse("2024-04-01T00:00:00Z", &t_apr) == 0);
    q = (feedback_query_t){.ts_gte = t_feb, .has_ts_gte = 1, .ts_lte = t_apr, .has_ts_lte = 1};
    snprintf(w, sizeof w, "%lld,%lld,%lld", (long long)id4, (long long)id3, (long long)id2);
    check_ids(s, &q, w);
    q = (feedback_query_t){.ts_lte = t_feb, .has_ts_lte = 1};
    snprintf(w, sizeof w, "%lld,%lld", (long long)id2, (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.ts_gte = t_apr + 1, .has_ts_gte = 1};
    snprintf(w, sizeof w, "%lld,%lld", (long long)id6, (long long)id5);
    check_ids(s, &q, w);
    q = (feedback_query_t){.variant_id = "va", .user_id = "alice", .score_gte = 0.5, .has_score_gte = 1};
    snprintf(w, sizeof w, "%lld", (long long)id3);
    check_ids(s, &q, w);

    /* Paging. */
    q = (feedback_query_t){.skip = 1, .limit = 2};
    snprintf(w, sizeof w, "%lld,%lld", (long long)id5, (long long)id4);
    check_ids(s, &q, w);
    q = (feedback_query_t){.skip = 5, .limit = 10};
    snprintf(w, sizeof w, "%lld", (long long)id1);
    check_ids(s, &q, w);
    q = (feedback_query_t){.skip = 6, .limit = 10};
    check_ids(s, &q, "");
    q = (feedback_query_t){.variant_id = "va", .skip = 1, .limit = 1};
    snprintf(w, sizeof w, "%lld", (long long)id3);
    check_ids(s, &q, w);

    /* Without a limit a page holds 20. */
    for (int i = 0; i < 25; i++) add_fb(s, "bulk", "auto", 0.5, NULL, NULL, NULL);
    q = (feedback_query_t){.variant_id = "bulk"};
    arr = list(s, &q);
    CHECK(json_array_size(arr) == 20);
    json_decref(arr);
    q = (feedback_query_t){.variant_id = "bulk", .limit = 100};
    arr = list(s, &q);
    CHECK(json_array_size(arr) == 25);
    json_decref(arr);
}

static void test_variant_history(store_t *s) {
    int found = -2;
    /* "va": id5 has {"gen":2} and is newer than id3's {"gen":1}. */
    char *h = store_variant_history(s, "va", &found);
    CHECK(found == 1);
    CHECK_STR(h, "{\"gen\":2}");
    free(h);
    /* Newer feedback without a history does not hide the older one. */
    add_fb(s, "va", "human", 0.9, NULL, NULL, NULL);
    add_fb(s, "va", "human", 0.9, NULL, NULL, "null"); /* JSON null = no history */
    h = store_variant_history(s, "va", &found);
    CHECK(found == 1);
    CHECK_STR(h, "{\"gen\":2}");
    free(h);
    add_fb(s, "va", "human", 0.9, NULL, NULL, "{\"gen\":3}");
    h = store_variant_history(s, "va", &found);
    CHECK_STR(h, "{\"gen\":3}");
    free(h);

    h = store_variant_history(s, "vc", &found); /* feedback, no history */
    CHECK(h == NULL && found == 0);
    h = store_variant_history(s, "never-seen", &found);
    CHECK(h == NULL && found == 0);
}

static void test_optimization(store_t *s) {
    int found = -2;
    char *r = store_optimization_get(s, "t-1", &found);
    CHECK(r == NULL && found == 0);
    CHECK(store_optimization_put(s, "t-1", "{\"score\":0.5,\"round\":1}") == 0);
    CHECK(store_optimization_put(s, "t-2", "{\"other\":true}") == 0);
    r = store_optimization_get(s, "t-1", &found);
    CHECK(found == 1);
    CHECK_STR(r, "{\"score\":0.5,\"round\":1}");
    free(r);
    CHECK(store_optimization_put(s, "t-1", "{\"score\":0.9,\"round\":2}") == 0);
    r = store_optimization_get(s, "t-1", &found);
    CHECK_STR(r, "{\"score\":0.9,\"round\":2}");
    free(r);
    r = store_optimization_get(s, "t-2", &found);
    CHECK_STR(r, "{\"other\":true}");
    free(r);
    /* Not an object: refused, previous value kept. */
    CHECK(store_optimization_put(s, "t-1", "[1,2]") != 0);
    CHECK(store_optimization_put(s, "t-1", "{oops") != 0);
    r = store_optimization_get(s, "t-1", &found);
    CHECK_STR(r, "{\"score\":0.9,\"round\":2}");
    free(r);
}

static void test_jobs(store_t *s) {
    CHECK_STR(job_status_name(JOB_PENDING), "PENDING");
    CHECK_STR(job_status_name(JOB_STARTED), "STARTED");
    CHECK_STR(job_status_name(JOB_SUCCESS), "SUCCESS");
    CHECK_STR(job_status_name(JOB_FAILURE), "FAILURE");

    job_status_t st = JOB_FAILURE;
    char *payload = NULL, *result = NULL, *error = NULL;
    CHECK(store_job_get(s, "j-none", &st, &payload, &result, &error) == 0);
    CHECK(payload == NULL && result == NULL && error == NULL);

    CHECK(store_job_create(s, "j-1", "{\"brief\":1}") == 0);
    CHECK(store_job_create(s, "j-1", "{\"brief\":99}") != 0); /* duplicate id */
    CHECK(store_job_create(s, "j-bad", "{not json") != 0);
    CHECK(store_job_get(s, "j-bad", &st, NULL, NULL, NULL) == 0);
    CHECK(store_job_get(s, "j-1", &st, &payload, &result, &error) == 1);
    CHECK(st == JOB_PENDING);
    CHECK_STR(payload, "{\"brief\":1}");
    CHECK(result == NULL && error == NULL);
    free(payload);

    const char *ids[] = {"j-2", "j-3", "j-4"};
    const char *pays[] = {"{\"brief\":2}", "{\"brief\":3}", "{\"brief\":4}"};
    CHECK(store_jobs_create(s, ids, pays, 3) == 0);
    /* All or nothing: j-5 is new but j-2 already exists. */
    const char *ids2[] = {"j-5", "j-2"};
    CHECK(store_jobs_create(s, ids2, pays, 2) != 0);
    CHECK(store_job_get(s, "j-5", &st, NULL, NULL, NULL) == 0);
    const char *ids3[] = {"j-6", "j-6"};
    CHECK(store_jobs_create(s, ids3, pays, 2) != 0);
    CHECK(store_job_get(s, "j-6", &st, NULL, NULL, NULL) == 0);

    CHECK(store_job_set(s, "j-1", JOB_STARTED, NULL, NULL) == 0);
    CHECK(store_job_get(s, "j-1", &st, NULL, NULL, NULL) == 1 && st == JOB_STARTED);
    CHECK(store_job_set(s, "j-1", JOB_SUCCESS, "{\"variants\":[\"a\"]}", NULL) == 0);
    CHECK(store_job_get(s, "j-1", &st, &payload, &result, &error) == 1);
    CHECK(st == JOB_SUCCESS);
    CHECK_STR(payload, "{\"brief\":1}");
    CHECK_STR(result, "{\"variants\":[\"a\"]}");
    CHECK(error == NULL);
    free(payload);
    free(result);

    CHECK(store_job_set(s, "j-3", JOB_FAILURE, NULL, "engine exploded") == 0);
    CHECK(store_job_get(s, "j-3", &st, NULL, &result, &error) == 1);
    CHECK(st == JOB_FAILURE && result == NULL);
    CHECK_STR(error, "engine exploded");
    free(error);

    CHECK(store_job_set(s, "j-4", JOB_STARTED, NULL, NULL) == 0);
    CHECK(store_job_set(s, "j-none", JOB_SUCCESS, "{}", NULL) != 0); /* unknown id */
    CHECK(store_job_set(s, "j-2", JOB_SUCCESS, "{broken", NULL) != 0); /* not JSON */
    CHECK(store_job_set(s, "j-2", (job_status_t)7, NULL, NULL) != 0);
    CHECK(store_job_get(s, "j-2", &st, NULL, NULL, NULL) == 1 && st == JOB_PENDING);

    /* Unfinished: PENDING and STARTED, oldest first. */
    char **un = NULL;
    size_t n = 0;
    CHECK(store_jobs_unfinished(s, &un, &n) == 0);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(un[0], "j-2");
        CHECK_STR(un[1], "j-4");
    }
    for (size_t i = 0; i < n; i++) free(un[i]);
    free(un);
}

/* Many threads on one store: calls are serialised, no id is lost. */
typedef struct { store_t *s; int base; } adder_t;
static void *adder(void *arg) {
    adder_t *a = arg;
    for (int i = 0; i < 25; i++) {
        feedback_in_t f = {.variant_id = "threads", .type = "auto", .score = 0.25};
        int64_t id;
        if (store_feedback_add(a->s, &f, &id) != 0) return (void *)1;
    }
    return NULL;
}

static void test_threads(store_t *s) {
    pthread_t th[4];
    adder_t a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (adder_t){s, i};
        CHECK(pthread_create(&th[i], NULL, adder, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rv = (void *)1;
        pthread_join(th[i], &rv);
        CHECK(rv == NULL);
    }
    feedback_query_t q = {.variant_id = "threads", .limit = 1000};
    json_t *arr = list(s, &q);
    CHECK(json_array_size(arr) == 100);
    json_decref(arr);
}

int main(void) {
    char root[] = "/tmp/copyd-test-store-XXXXXX";
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char dir[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/db", root);

    test_open_creates_dir(root);
    test_bad_dirs(root);
    test_newer_schema_refused(root);

    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    if (!s) { fprintf(stderr, "store_open: %s\n", err); rm_rf(root); TEST_DONE(); }
    test_feedback(s);
    test_variant_history(s);
    test_optimization(s);
    test_jobs(s);
    test_threads(s);

    feedback_query_t all = {.limit = 1000};
    char *before = store_feedback_list(s, &all);
    store_close(s);

    /* Reopen: everything is still there. */
    s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    if (s) {
        char *again = store_feedback_list(s, &all);
        CHECK(before && again && strcmp(before, again) == 0);
        free(again);
        int found = 0;
        char *h = store_variant_history(s, "va", &found);
        CHECK_STR(h, "{\"gen\":3}");
        free(h);
        h = store_optimization_get(s, "t-1", &found);
        CHECK_STR(h, "{\"score\":0.9,\"round\":2}");
        free(h);
        job_status_t st;
        char *result = NULL;
        CHECK(store_job_get(s, "j-1", &st, NULL, &result, NULL) == 1 && st == JOB_SUCCESS);
        CHECK_STR(result, "{\"variants\":[\"a\"]}");
        free(result);
        CHECK(store_job_get(s, "j-4", &st, NULL, NULL, NULL) == 1 && st == JOB_STARTED);
        char **un = NULL;
        size_t n = 0;
        CHECK(store_jobs_unfinished(s, &un, &n) == 0 && n == 2);
        for (size_t i = 0; i < n; i++) free(un[i]);
        free(un);
        /* Ids keep growing after a reopen. */
        int64_t id = add_fb(s, "after", "human", 0.5, NULL, NULL, NULL);
        CHECK(id > 100);
        store_close(s);
    }
    free(before);
    rm_rf(root);
    TEST_DONE();
}
