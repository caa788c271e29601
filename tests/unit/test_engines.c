/* test_engines.c -- the engine registry: fallback order, batching by
 * batch_size, retries, language refusals and circuit breakers.
 *
 * The engines here are small engines written for the test (one that always
 * fails, one that fails a set number of calls, one that records its batch
 * sizes): they exercise the registry's own logic, which does not depend on
 * what an engine writes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/breaker.h"
#include "engine/engines.h"
#include "stats/metrics.h"
#include "test.h"

typedef struct fake {
    int fail_calls;          /* fail this many calls, then succeed (-1: always) */
    int calls;
    size_t sizes[64];        /* batch size of each call */
} fake_t;

static const char *const es_en[] = {"es", "en", NULL};
static const char *const only_fr[] = {"fr", NULL};
static const char *const models_a[] = {"a-model", NULL};
static const char *const models_b[] = {"b-model", NULL};

static int fake_ready(engine_t *e, char *why, size_t n) { (void)e; (void)why; (void)n; return 1; }

static void fake_generate(engine_t *e, engine_item_t *items, size_t n) {
    fake_t *f = e->impl;
    if (f->calls < 64) f->sizes[f->calls] = n;
    int fail = f->fail_calls < 0 || f->calls < f->fail_calls;
    f->calls++;
    for (size_t i = 0; i < n; i++) {
        if (fail) {
            items[i].status = ENGINE_ERR_UNAVAILABLE;
            strcpy(items[i].err_message, "fake outage");
            continue;
        }
        const char *out = "{\"variants\":[],\"extra_metadata\":{\"engine\":\"x\"}}";
        items[i].output = strdup(out);
        items[i].output_len = strlen(out);
        items[i].status = ENGINE_OK;
        items[i].tokens = 3;
    }
}

static void fake_destroy(engine_t *e) { free(e); }

static engine_t *make(const char *name, const char *const *models, const char *const *langs, fake_t *f) {
    engine_t *e = calloc(1, sizeof *e);
    e->name = name;
    e->models = models;
    e->languages = langs;
    e->ready = fake_ready;
    e->generate = fake_generate;
    e->destroy = fake_destroy;
    e->impl = f;
    return e;
}

static brief_t brief(const char *lang) {
    brief_t b;
    memset(&b, 0, sizeof b);
    b.product_description = "x";
    strcpy(b.language, lang);
    return b;
}

static void free_items(engine_item_t *items, size_t n) {
    for (size_t i = 0; i < n; i++) free(items[i].output);
}

int main(void) {
    metrics_init();
    char err[128];

    /* batching: 7 items with batch_size 3 -> calls of 3, 3, 1 */
    {
        fake_t fa = {0};
        engines_t *set = engines_create();
        engines_add(set, make("a", models_a, es_en, &fa));
        brief_t b = brief("es");
        engine_item_t items[7] = {0};
        for (int i = 0; i < 7; i++) items[i].brief = &b;
        engines_generate(set, NULL, items, 7, 3);
        CHECK(fa.calls == 3);
        CHECK(fa.sizes[0] == 3 && fa.sizes[1] == 3 && fa.sizes[2] == 1);
        int ok = 1;
        for (int i = 0; i < 7; i++) ok &= items[i].status == ENGINE_OK && strcmp(items[i].engine_used, "a") == 0;
        CHECK(ok);
        free_items(items, 7);
        CHECK(engines_find(set, "a-model", NULL) != NULL);
        CHECK(engines_find(set, "nope", NULL) == NULL);
        engines_destroy(set);
    }

    /* fallback: a always fails, b serves; a's breaker opens after 5 calls */
    {
        fake_t fa = {.fail_calls = -1}, fb = {0};
        engines_t *set = engines_create();
        engines_add(set, make("a", models_a, es_en, &fa));
        engines_add(set, make("b", models_b, es_en, &fb));
        CHECK(engines_set_order(set, "a,b", err, sizeof err) == 0);
        CHECK(engines_set_order(set, "a,zzz", err, sizeof err) < 0 && strstr(err, "zzz"));
        brief_t b = brief("en");
        for (int round = 0; round < 8; round++) {
            engine_item_t item = {.brief = &b};
            engines_generate(set, NULL, &item, 1, 8);
            CHECK(item.status == ENGINE_OK);
            CHECK_STR(item.engine_used, "b");
            free(item.output);
        }
        CHECK(fa.calls == 5); /* open after 5 failures: not called again */
        json_t *st = engines_status_json(set);
        CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(st, "a"), "circuit_breaker"), "state")),
                  "open");
        json_decref(st);
        engines_destroy(set);
    }

    /* retry: one engine failing its first call succeeds on the next round */
    {
        fake_t fa = {.fail_calls = 1};
        engines_t *set = engines_create();
        engines_add(set, make("a", models_a, es_en, &fa));
        brief_t b = brief("es");
        engine_item_t item = {.brief = &b};
        engines_generate(set, NULL, &item, 1, 8);
        CHECK(item.status == ENGINE_OK);
        CHECK(fa.calls == 2);
        free(item.output);
        /* always failing: ENGINES_ATTEMPTS rounds, then unavailable */
        fake_t fz = {.fail_calls = -1};
        engines_t *set2 = engines_create();
        engines_add(set2, make("z", models_a, es_en, &fz));
        engine_item_t item2 = {.brief = &b};
        engines_generate(set2, NULL, &item2, 1, 8);
        CHECK(item2.status == ENGINE_ERR_UNAVAILABLE);
        CHECK(fz.calls == ENGINES_ATTEMPTS);
        engines_destroy(set);
        engines_destroy(set2);
    }

    /* languages: refused with the engine's languages; served by a later engine that speaks it */
    {
        fake_t fa = {0}, fb = {0};
        engines_t *set = engines_create();
        engines_add(set, make("a", models_a, es_en, &fa));
        brief_t ru = brief("ru");
        engine_item_t item = {.brief = &ru};
        engines_generate(set, NULL, &item, 1, 8);
        CHECK(item.status == ENGINE_ERR_LANGUAGE);
        CHECK(strstr(item.err_message, "'a'") && strstr(item.err_message, "es, en") && strstr(item.err_message, "ru"));
        CHECK_STR(item.err_field, "language");
        CHECK(fa.calls == 0);
        engines_add(set, make("b", models_b, only_fr, &fb));
        brief_t fr = brief("fr");
        engine_item_t item2 = {.brief = &fr};
        engines_generate(set, NULL, &item2, 1, 8);
        CHECK(item2.status == ENGINE_OK);
        CHECK_STR(item2.engine_used, "b");
        free(item2.output);
        /* `first` is tried before the order */
        brief_t es = brief("es");
        engine_item_t item3 = {.brief = &es};
        engines_generate(set, engines_find(set, "b", NULL), &item3, 1, 8);
        CHECK_STR(item3.engine_used, "a"); /* b does not speak es: a serves */
        free(item3.output);
        engines_destroy(set);
    }

    /* breaker state machine */
    {
        breaker_t b;
        breaker_init(&b, 2, 0.05);
        CHECK(breaker_allow(&b));
        breaker_failure(&b);
        CHECK(breaker_state(&b) == BREAKER_CLOSED);
        breaker_failure(&b);
        CHECK(breaker_state(&b) == BREAKER_OPEN);
        CHECK(!breaker_allow(&b));
        usleep(80 * 1000); /* let the cooldown pass */
        CHECK(breaker_state(&b) == BREAKER_HALF_OPEN);
        CHECK(breaker_allow(&b));   /* the trial */
        CHECK(!breaker_allow(&b));  /* only one at a time */
        breaker_failure(&b);
        CHECK(breaker_state(&b) == BREAKER_OPEN);
        usleep(80 * 1000);
        CHECK(breaker_allow(&b));
        breaker_success(&b);
        CHECK(breaker_state(&b) == BREAKER_CLOSED);
        CHECK(b.opens == 2);
        CHECK_STR(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
        breaker_destroy(&b);
    }
    TEST_DONE();
}
