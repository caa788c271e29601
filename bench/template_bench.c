/* template_bench.c -- speed of the template engine, in process, on one core
 * (a benchmark, not a test; bench/template.sh builds and runs it).
 *
 * Reads the briefs of tests/quality/corpus.json ({briefs: [{id, checks, brief}]})
 * and /work/shared/briefs/sample.json (plain briefs), parses each once with
 * brief_from_json(), forces variant_settings.max_variants to 5 and then
 * writes the copy of every brief in turn with compose_output() -- what the
 * template engine does for a request, without HTTP, cache or JSON parsing --
 * until --seconds have passed. It prints briefs/s (and variants/s) and, from
 * the same run, two baselines as ratios: the cost of parsing the briefs
 * (brief_json_parse + brief_from_json of the same bodies) and of a plain
 * memcpy of the output bytes. Briefs in a language the data folder has no
 * phrases for are counted as skipped. */
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/brief.h"
#include "copy/compose.h"
#include "copy/phrasebank.h"
#include "core/arena.h"
#include "core/buf.h"

#define MAX_BRIEFS 512

typedef struct item {
    char *body;          /* the brief as JSON text (for the parse baseline) */
    size_t len;
    brief_t brief;
    const pb_lang_t *lang;
} item_t;

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f) {
    fprintf(f,
            "Usage: template_bench [--data DIR] [--corpus FILE]... [--seconds S] [--variants N] [--cpu K]\n"
            "\n"
            "Measures the template engine in process on one thread: briefs/s with N variants\n"
            "each (default 5) over the briefs of the given files (default\n"
            "tests/quality/corpus.json and /work/shared/briefs/sample.json), parsed once.\n"
            "Also prints, from the same run, the cost of parsing the briefs and of a memcpy\n"
            "of the output, as ratios. --cpu pins the thread to core K (default: core 0).\n"
            "  --data DIR     data folder (default: data, or $COPYD_SOURCE_DIR/data)\n"
            "  --seconds S    measuring time per figure (default 3)\n");
}

/* Appends the briefs of `path` (an array of briefs, or of {brief: ...}). */
static int load_file(const char *path, item_t *items, size_t *n, arena_t *A, const copy_data_t *d, int nvar,
                     size_t *skipped) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (json_is_object(root) && json_is_array(json_object_get(root, "briefs"))) { /* the quality corpus */
        json_t *arr = json_incref(json_object_get(root, "briefs"));
        json_decref(root);
        root = arr;
    }
    if (!root || !json_is_array(root)) {
        fprintf(stderr, "template_bench: %s: %s\n", path, root ? "not a JSON array" : je.text);
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e) {
        json_t *b = json_object_get(e, "brief");
        if (!b) b = e;
        if (*n >= MAX_BRIEFS) break;
        item_t *it = &items[*n];
        it->body = json_dumps(b, JSON_COMPACT);
        it->len = it->body ? strlen(it->body) : 0;
        brief_problems_t *pr = malloc(sizeof *pr);
        if (!pr || !it->body) { free(pr); json_decref(root); return -1; }
        problems_init(pr);
        if (brief_from_json(b, A, &it->brief, pr) < 0) {
            fprintf(stderr, "template_bench: %s[%zu]: invalid brief (%s), skipped\n", path, i,
                    pr->n ? pr->items[0].msg : "?");
            free(pr);
            free(it->body);
            (*skipped)++;
            continue;
        }
        free(pr);
        it->brief.max_variants = nvar;
        it->lang = copy_data_lang(d, it->brief.language);
        if (!it->lang) { free(it->body); (*skipped)++; continue; }
        (*n)++;
    }
    json_decref(root);
    return 0;
}

int main(int argc, char **argv) {
    const char *data = NULL, *files[8];
    int nfiles = 0, nvar = 5, cpu = 0;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (i + 1 >= argc) { usage(stderr); return 2; }
        if (!strcmp(a, "--data")) data = argv[++i];
        else if (!strcmp(a, "--corpus") && nfiles < 8) files[nfiles++] = argv[++i];
        else if (!strcmp(a, "--seconds")) seconds = atof(argv[++i]);
        else if (!strcmp(a, "--variants")) nvar = atoi(argv[++i]);
        else if (!strcmp(a, "--cpu")) cpu = atoi(argv[++i]);
        else { usage(stderr); return 2; }
    }
    if (seconds <= 0 || nvar < 1 || nvar > 20) { usage(stderr); return 2; }
    char dbuf[4096], c1[4096];
    const char *src = getenv("COPYD_SOURCE_DIR");
    if (!data) { snprintf(dbuf, sizeof dbuf, "%s/data", src ? src : "."); data = dbuf; }
    if (!nfiles) {
        snprintf(c1, sizeof c1, "%s/tests/quality/corpus.json", src ? src : ".");
        files[nfiles++] = c1;
        files[nfiles++] = "/work/shared/briefs/sample.json";
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) fprintf(stderr, "template_bench: could not pin to core %d\n", cpu);
    }

    char err[512];
    copy_data_t *d = copy_data_load(data, err, sizeof err);
    if (!d) { fprintf(stderr, "template_bench: %s\n", err); return 1; }
    static item_t items[MAX_BRIEFS];
    size_t n = 0, skipped = 0;
    arena_t A = ARENA_INIT;
    for (int f = 0; f < nfiles; f++)
        if (load_file(files[f], items, &n, &A, d, nvar, &skipped) < 0) return 1;
    if (!n) { fprintf(stderr, "template_bench: no brief to run\n"); return 1; }

    /* the engine */
    buf_t out = BUF_INIT;
    size_t done = 0, bytes = 0;
    double t0 = cpu_now(), w0 = 0;
    struct timespec ws;
    clock_gettime(CLOCK_MONOTONIC, &ws);
    w0 = (double)ws.tv_sec + ws.tv_nsec * 1e-9;
    while (cpu_now() - t0 < seconds) {
        for (size_t i = 0; i < n; i++) {
            buf_reset(&out);
            unsigned tokens;
            if (compose_output(d, items[i].lang, &items[i].brief, NULL, &out, &tokens) < 0) {
                fprintf(stderr, "template_bench: out of memory\n");
                return 1;
            }
            bytes += out.len;
        }
        done += n;
    }
    double eng = cpu_now() - t0;
    clock_gettime(CLOCK_MONOTONIC, &ws);
    double wall = (double)ws.tv_sec + ws.tv_nsec * 1e-9 - w0;
    double avg_out = (double)bytes / (double)done;

    /* baseline 1: parsing the same briefs (what a request costs before the engine) */
    size_t parsed = 0;
    t0 = cpu_now();
    brief_problems_t *pr = malloc(sizeof *pr);
    while (pr && cpu_now() - t0 < seconds / 3) {
        for (size_t i = 0; i < n; i++) {
            json_t *root;
            char msg[128];
            arena_t B = ARENA_INIT;
            brief_t b;
            problems_init(pr);
            if (brief_json_parse(items[i].body, items[i].len, &root, msg, sizeof msg) == 0) {
                brief_from_json(root, &B, &b, pr);
                json_decref(root);
            }
            arena_free(&B);
        }
        parsed += n;
    }
    double parse = cpu_now() - t0;
    free(pr);

    /* baseline 2: a memcpy of output-sized bytes */
    size_t cap = (size_t)avg_out + 1;
    char *s1 = malloc(cap), *s2 = malloc(cap);
    size_t copies = 0;
    volatile char sink = 0;
    if (s1 && s2) {
        memset(s1, 'x', cap);
        t0 = cpu_now();
        while (cpu_now() - t0 < seconds / 3) {
            for (int k = 0; k < 1000; k++) { memcpy(s2, s1, cap); sink ^= s2[k % cap]; s1[0] = (char)k; }
            copies += 1000;
        }
    }
    double copy = cpu_now() - t0;

    double rate = (double)done / eng, prate = (double)parsed / parse, crate = (double)copies / copy;
    printf("template engine, one core (thread pinned to core %d), %zu briefs (%zu skipped), %d variants each\n", cpu, n,
           skipped, nvar);
    printf("  engine:        %10.0f briefs/s  (%.0f variants/s, %.1f us/brief, %.0f bytes out/brief, cpu %.2f s, wall %.2f s)\n",
           rate, rate * nvar, 1e6 / rate, avg_out, eng, wall);
    printf("  brief parsing: %10.0f briefs/s  (engine costs %.1fx the parse of its brief)\n", prate, prate / rate);
    printf("  memcpy output: %10.0f copies/s  (engine costs %.0fx a copy of its output)\n", crate, crate / rate);
    printf("  goal >= 10000 briefs/s: %s\n", rate >= 10000 ? "met" : "not met");
    (void)sink;
    free(s1);
    free(s2);
    buf_free(&out);
    for (size_t i = 0; i < n; i++) free(items[i].body);
    arena_free(&A);
    copy_data_free(d);
    return 0;
}
