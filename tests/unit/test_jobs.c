/* test_jobs.c -- the job queue on a real store: results and failures,
 * recovery after a `kill -9` of a real child process, and a stop that leaves
 * queued jobs PENDING for the next start. No timing assertions: every wait
 * is on a condition (pipe, condition variable, job status). */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "store/jobs.h"
#include "store/store.h"
#include "test.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- the work ---------------------------------------------------------
 * Payload {"n": N, "mode": "ok"|"fail"|"nomsg"|"badjson"}.
 * ok: result {"n": N, "square": N*N}; fail: error "failing on purpose: N";
 * nomsg: -1 without a message; badjson: a result that is not JSON. */

typedef struct {
    pthread_mutex_t mu;
    int calls;
} counter_t;

static int work(void *ud, const char *payload, char **result, char **error) {
    counter_t *c = ud;
    if (c) {
        pthread_mutex_lock(&c->mu);
        c->calls++;
        pthread_mutex_unlock(&c->mu);
    }
    json_error_t jerr;
    json_t *p = json_loads(payload, 0, &jerr);
    if (!p) { *error = strdup("payload is not JSON"); return -1; }
    long long n = json_integer_value(json_object_get(p, "n"));
    const char *mode = json_string_value(json_object_get(p, "mode"));
    if (!mode) mode = "ok";
    int rc = 0;
    if (strcmp(mode, "fail") == 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "failing on purpose: %lld", n);
        *error = strdup(msg);
        rc = -1;
    } else if (strcmp(mode, "nomsg") == 0) {
        rc = -1;
    } else if (strcmp(mode, "badjson") == 0) {
        *result = strdup("{this is not json");
    } else {
        json_t *r = json_pack("{s:I, s:I}", "n", (json_int_t)n, "square", (json_int_t)(n * n));
        *result = json_dumps(r, JSON_COMPACT);
        json_decref(r);
    }
    json_decref(p);
    return rc;
}

static char *make_payload(int n, const char *mode) {
    char buf[96];
    snprintf(buf, sizeof buf, "{\"n\":%d,\"mode\":\"%s\"}", n, mode);
    return strdup(buf);
}

/* SUCCESS with the right square, checked through the store. */
static void check_success(store_t *s, const char *id, int n) {
    job_status_t st = JOB_PENDING;
    char *result = NULL, *error = NULL;
    CHECK(store_job_get(s, id, &st, NULL, &result, &error) == 1);
    CHECK(st == JOB_SUCCESS);
    CHECK(error == NULL);
    json_error_t jerr;
    json_t *r = result ? json_loads(result, 0, &jerr) : NULL;
    CHECK(r != NULL);
    CHECK(json_integer_value(json_object_get(r, "n")) == n);
    CHECK(json_integer_value(json_object_get(r, "square")) == (json_int_t)n * n);
    json_decref(r);
    free(result);
    free(error);
}

static void check_failure(store_t *s, const char *id, const char *want_error) {
    job_status_t st = JOB_PENDING;
    char *result = NULL, *error = NULL;
    CHECK(store_job_get(s, id, &st, NULL, &result, &error) == 1);
    CHECK(st == JOB_FAILURE);
    CHECK(result == NULL);
    CHECK_STR(error, want_error);
    free(result);
    free(error);
}

static job_status_t status_of(store_t *s, const char *id) {
    job_status_t st = (job_status_t)-1;
    if (store_job_get(s, id, &st, NULL, NULL, NULL) != 1) return (job_status_t)-1;
    return st;
}

/* ---- 1. results and failures ----------------------------------------- */

#define N_BASIC 40

static void test_basic(const char *root) {
    char dir[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/basic", root);
    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    counter_t c = {PTHREAD_MUTEX_INITIALIZER, 0};
    jobs_t *j = jobs_start(s, 4, work, &c);
    CHECK(j != NULL);
    if (!j) { store_close(s); return; }

    char ids[N_BASIC][UUID_LEN];
    char *payloads[N_BASIC];
    const char *idp[N_BASIC];
    for (int i = 0; i < N_BASIC; i++) {
        uuid4(ids[i]);
        idp[i] = ids[i];
        const char *mode = i % 10 == 3 ? "fail" : i % 10 == 5 ? "nomsg" : i % 10 == 7 ? "badjson" : "ok";
        payloads[i] = make_payload(i, mode);
    }
    /* Two submissions, so the queue sees more work arrive while it runs. */
    CHECK(jobs_submit(j, idp, (const char *const *)payloads, N_BASIC / 2) == 0);
    CHECK(jobs_submit(j, idp + N_BASIC / 2, (const char *const *)payloads + N_BASIC / 2,
                      N_BASIC - N_BASIC / 2) == 0);
    jobs_wait(j, idp, N_BASIC);

    for (int i = 0; i < N_BASIC; i++) {
        if (i % 10 == 3) {
            char want[64];
            snprintf(want, sizeof want, "failing on purpose: %d", i);
            check_failure(s, ids[i], want);
        } else if (i % 10 == 5) {
            check_failure(s, ids[i], "job failed without an error message");
        } else if (i % 10 == 7) {
            check_failure(s, ids[i], "job produced a result that could not be stored");
        } else {
            check_success(s, ids[i], i);
        }
    }
    CHECK(jobs_queued(j) == 0);
    pthread_mutex_lock(&c.mu);
    CHECK(c.calls == N_BASIC); /* each job ran exactly once */
    pthread_mutex_unlock(&c.mu);

    /* A batch with an id already used is refused whole: nothing new exists. */
    char fresh[UUID_LEN];
    uuid4(fresh);
    const char *dup_ids[] = {fresh, ids[0]};
    const char *dup_pay[] = {"{\"n\":1}", "{\"n\":2}"};
    CHECK(jobs_submit(j, dup_ids, dup_pay, 2) != 0);
    CHECK(store_job_get(s, fresh, NULL, NULL, NULL, NULL) == 0);
    CHECK(jobs_queued(j) == 0);

    /* Waiting on finished or unknown tasks returns at once. */
    const char *unknown[] = {ids[1], "no-such-task"};
    jobs_wait(j, unknown, 2);

    jobs_stop(j);
    char **un = NULL;
    size_t n = 99;
    CHECK(store_jobs_unfinished(s, &un, &n) == 0 && n == 0);
    free(un);
    store_close(s);
    for (int i = 0; i < N_BASIC; i++) free(payloads[i]);
}

/* ---- 2. recovery after kill -9 --------------------------------------- */

#define N_RECOVER 6
#define RECOVER_WORKERS 2

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
} hang_t;

/* Marks itself as running, then never returns: the process is killed. */
static int hang_forever(void *ud, const char *payload, char **result, char **error) {
    (void)payload, (void)result, (void)error;
    hang_t *h = ud;
    pthread_mutex_lock(&h->mu);
    h->entered++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (;;) pause();
    return -1;
}

static void child_run(const char *dir, const char *const *ids, const char *const *payloads, int wfd) {
    char err[256];
    store_t *s = store_open(dir, err, sizeof err);
    if (!s) { (void)!write(wfd, "e", 1); _exit(2); }
    static hang_t h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    jobs_t *j = jobs_start(s, RECOVER_WORKERS, hang_forever, &h);
    if (!j || jobs_submit(j, ids, payloads, N_RECOVER) != 0) { (void)!write(wfd, "e", 1); _exit(2); }
    /* Both workers are inside a job (STARTED in the store), the rest queued. */
    pthread_mutex_lock(&h.mu);
    while (h.entered < RECOVER_WORKERS) pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    (void)!write(wfd, "r", 1);
    for (;;) pause();
}

static void test_recovery(const char *root) {
    char dir[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/recover", root);
    char ids[N_RECOVER][UUID_LEN];
    const char *idp[N_RECOVER];
    char *payloads[N_RECOVER];
    for (int i = 0; i < N_RECOVER; i++) {
        uuid4(ids[i]);
        idp[i] = ids[i];
        payloads[i] = make_payload(100 + i, "ok");
    }

    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid < 0) return;
    if (pid == 0) {
        close(fds[0]);
        child_run(dir, idp, (const char *const *)payloads, fds[1]);
        _exit(3);
    }
    close(fds[1]);
    char c = 0;
    ssize_t got;
    do got = read(fds[0], &c, 1);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    CHECK(got == 1 && c == 'r');
    kill(pid, SIGKILL);
    int wst = 0;
    CHECK(waitpid(pid, &wst, 0) == pid);
    CHECK(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);

    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    if (!s) goto out;
    /* What the dead process left: two jobs mid-run, the rest queued. */
    int started = 0, pending = 0;
    for (int i = 0; i < N_RECOVER; i++) {
        job_status_t st = status_of(s, ids[i]);
        started += st == JOB_STARTED;
        pending += st == JOB_PENDING;
    }
    CHECK(started == RECOVER_WORKERS);
    CHECK(pending == N_RECOVER - RECOVER_WORKERS);

    counter_t cnt = {PTHREAD_MUTEX_INITIALIZER, 0};
    jobs_t *j = jobs_start(s, 3, work, &cnt);
    CHECK(j != NULL);
    if (j) {
        jobs_wait(j, idp, N_RECOVER);
        for (int i = 0; i < N_RECOVER; i++) check_success(s, ids[i], 100 + i);
        pthread_mutex_lock(&cnt.mu);
        CHECK(cnt.calls == N_RECOVER);
        pthread_mutex_unlock(&cnt.mu);
        jobs_stop(j);
    }
    store_close(s);
out:
    for (int i = 0; i < N_RECOVER; i++) free(payloads[i]);
}

/* ---- 3. stop with queued jobs ---------------------------------------- */

#define N_STOP 5

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, released;
} gate_t;

/* Holds each job until the test opens the gate, then works normally. */
static int gated(void *ud, const char *payload, char **result, char **error) {
    gate_t *g = ud;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->released) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return work(NULL, payload, result, error);
}

static void *stopper(void *arg) {
    jobs_stop(arg);
    return NULL;
}

static void test_stop_keeps_pending(const char *root) {
    char dir[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/stop", root);
    store_t *s = store_open(dir, err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    jobs_t *j = jobs_start(s, 1, gated, &g);
    CHECK(j != NULL);
    if (!j) { store_close(s); return; }

    char ids[N_STOP][UUID_LEN];
    const char *idp[N_STOP];
    char *payloads[N_STOP];
    for (int i = 0; i < N_STOP; i++) {
        uuid4(ids[i]);
        idp[i] = ids[i];
        payloads[i] = make_payload(200 + i, "ok");
    }
    CHECK(jobs_submit(j, idp, (const char *const *)payloads, N_STOP) == 0);

    /* The single worker holds job 0; the other four wait in the queue. */
    pthread_mutex_lock(&g.mu);
    while (g.entered < 1) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    CHECK(jobs_queued(j) == N_STOP - 1);
    CHECK(status_of(s, ids[0]) == JOB_STARTED);

    /* Stop in another thread (it waits for job 0); once it has begun,
     * submissions are refused. Only then is job 0 let go. */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, stopper, j) == 0);
    int refused = 0;
    for (int tries = 0; tries < 20000 && !refused; tries++) {
        if (jobs_submit(j, NULL, NULL, 0) != 0) refused = 1;
        else nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    CHECK(refused);
    pthread_mutex_lock(&g.mu);
    g.released = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(th, NULL);

    /* The running job finished; the queued ones were not started. */
    check_success(s, ids[0], 200);
    for (int i = 1; i < N_STOP; i++) CHECK(status_of(s, ids[i]) == JOB_PENDING);
    pthread_mutex_lock(&g.mu);
    CHECK(g.entered == 1);
    pthread_mutex_unlock(&g.mu);

    /* A new pool (same store, as after a restart) finishes them. */
    counter_t cnt = {PTHREAD_MUTEX_INITIALIZER, 0};
    j = jobs_start(s, 2, work, &cnt);
    CHECK(j != NULL);
    if (j) {
        jobs_wait(j, idp, N_STOP);
        for (int i = 0; i < N_STOP; i++) check_success(s, ids[i], 200 + i);
        pthread_mutex_lock(&cnt.mu);
        CHECK(cnt.calls == N_STOP - 1);
        pthread_mutex_unlock(&cnt.mu);
        jobs_stop(j);
    }
    store_close(s);
    for (int i = 0; i < N_STOP; i++) free(payloads[i]);
}

/* A job that never finishes would make jobs_wait() block for ever; turn
 * such a hang into a failure instead of waiting for the CTest timeout.
 * This bounds the run, it does not time anything. */
static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: test_jobs hung (a job never finished)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

int main(void) {
    signal(SIGALRM, on_alarm);
    alarm(120);
    char root[] = "/tmp/copyd-test-jobs-XXXXXX";
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    /* Fork first, while this process has no threads of its own. */
    test_recovery(root);
    test_basic(root);
    test_stop_keeps_pending(root);
    rm_rf(root);
    TEST_DONE();
}
