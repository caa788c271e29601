/* test_llm_engine.c -- the LLM engine's scheduler with a real model
 * (stories260K from $COPYD_TEST_MODELS): continuous batching.
 *
 * The engine's answers must not depend on what else is decoding: a brief
 * written alone, in one fixed batch with another, or admitted into a
 * running batch between two decode steps gives the same variants (or the
 * same error). The feed tests check the admission rules themselves: a
 * request that arrives while another is decoding joins it at once (the
 * feed sees take() with idle = 0 and accepts), each request is handed back
 * through done() exactly once, and with a batch size of one the second
 * request waits until the first is done. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/brief.h"
#include "core/arena.h"
#include "engine/llm.h"
#include "test.h"

static char models[1024];

static int load_brief(const char *text, arena_t *a, brief_t *b) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    brief_problems_t pr;
    int rc = j ? brief_from_json(j, a, b, &pr) : -1;
    json_decref(j);
    return rc;
}

/* The part of an answer that must not depend on batching: the variants'
 * texts, or the error. (The answer also carries timings and dates.) */
static char *essence(const engine_item_t *it) {
    char *out = NULL;
    if (it->status != ENGINE_OK) {
        size_t n = strlen(it->err_message) + 32;
        out = malloc(n);
        snprintf(out, n, "error %d: %s", (int)it->status, it->err_message);
        return out;
    }
    json_error_t je;
    json_t *root = json_loadb(it->output, it->output_len, 0, &je);
    json_t *keep = json_array();
    json_t *vs = json_object_get(root, "variants");
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v) {
        json_array_append_new(keep, json_pack("[OOO]", json_object_get(v, "headline"),
                                              json_object_get(v, "primary_text"), json_object_get(v, "hashtags")));
    }
    out = json_dumps(keep, JSON_COMPACT);
    json_decref(keep);
    json_decref(root);
    return out;
}

static void item_reset(engine_item_t *it, const brief_t *b) {
    free(it->output);
    memset(it, 0, sizeof *it);
    it->brief = b;
}

/* A feed that hands out request A at once and request B only after
 * `b_after` further take() calls (so A has run some decode steps first). */
typedef struct test_feed {
    engine_item_t *a, *b;
    int calls, b_after;
    int a_taken, b_taken, b_taken_idle, b_taken_while_a_running;
    int a_done, b_done, order[2], ndone;
} test_feed_t;

static size_t tf_take(engine_feed_t *f, size_t room, int idle, engine_item_t **items, void **tag) {
    test_feed_t *t = f->ctx;
    t->calls++;
    if (!t->a_taken) {
        t->a_taken = 1;
        *items = t->a;
        *tag = t->a;
        return 1;
    }
    if (!t->b_taken && t->calls > t->b_after && (idle || room >= 1)) {
        t->b_taken = 1;
        t->b_taken_idle = idle;
        t->b_taken_while_a_running = !t->a_done;
        *items = t->b;
        *tag = t->b;
        return 1;
    }
    return 0;
}

static void tf_done(engine_feed_t *f, void *tag) {
    test_feed_t *t = f->ctx;
    int which = tag == t->a ? 0 : 1;
    if (which == 0) t->a_done++;
    else t->b_done++;
    if (t->ndone < 2) t->order[t->ndone] = which;
    t->ndone++;
}

int main(void) {
    const char *env = getenv("COPYD_TEST_MODELS");
    snprintf(models, sizeof models, "%s", env && env[0] ? env : "/work/shared/models");
    char path[1200], data[1200];
    snprintf(path, sizeof path, "%s/gguf/stories260K.gguf", models);
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("SKIP: %s is absent (set COPYD_TEST_MODELS)\n", path);
        return 0;
    }
    const char *src = getenv("COPYD_SOURCE_DIR");
    snprintf(data, sizeof data, "%s/data", src ? src : ".");
    llm_engine_options_t opt = {.model_path = path, .languages = "en", .max_tokens = 24, .template_data = data};
    engine_t *e = llm_engine_create(&opt);
    CHECK(e != NULL);
    char why[400] = "";
    CHECK(e && e->ready(e, why, sizeof why));
    CHECK(e && e->run_feed != NULL);
    if (!e || !e->ready(e, why, sizeof why) || !e->run_feed) {
        fprintf(stderr, "engine not ready: %s\n", why);
        if (e) e->destroy(e);
        TEST_DONE();
    }

    arena_t ar = ARENA_INIT;
    brief_t ba, bb;
    CHECK(load_brief("{\"product_description\": \"A small red boat for the lake\", \"target_platform\": \"facebook\","
                     " \"tone\": \"friendly\", \"language\": \"en\", \"key_points\": [\"Light\"],"
                     " \"variant_settings\": {\"max_variants\": 3}}", &ar, &ba) == 0);
    CHECK(load_brief("{\"product_description\": \"A warm blanket for cold nights\", \"target_platform\": \"linkedin\","
                     " \"tone\": \"formal\", \"language\": \"en\", \"variant_settings\": {\"max_variants\": 2}}",
                     &ar, &bb) == 0);

    /* alone */
    engine_item_t ia = {0}, ib = {0};
    item_reset(&ia, &ba);
    e->generate(e, &ia, 1);
    char *alone_a = essence(&ia);
    item_reset(&ib, &bb);
    e->generate(e, &ib, 1);
    char *alone_b = essence(&ib);
    CHECK(ia.tokens > 0 && ib.tokens > 0);

    /* one fixed batch of both */
    engine_item_t pair[2] = {{0}, {0}};
    item_reset(&pair[0], &ba);
    item_reset(&pair[1], &bb);
    e->generate(e, pair, 2);
    char *fixed_a = essence(&pair[0]), *fixed_b = essence(&pair[1]);
    CHECK_STR(fixed_a, alone_a);
    CHECK_STR(fixed_b, alone_b);

    /* continuous: B arrives while A decodes and joins the running batch
     * (its prompt, hundreds of stories260K tokens, prefilled a chunk per
     * decode step) */
    atomic_int bs;
    atomic_init(&bs, 8);
    item_reset(&ia, &ba);
    item_reset(&ib, &bb);
    test_feed_t tf = {.a = &ia, .b = &ib, .b_after = 4};
    engine_feed_t feed = {tf_take, tf_done, &tf};
    e->run_feed(e, &feed, &bs);
    CHECK(tf.a_taken && tf.b_taken);
    CHECK(tf.b_taken_idle == 0);            /* taken while A was decoding */
    CHECK(tf.b_taken_while_a_running == 1);
    CHECK(tf.a_done == 1 && tf.b_done == 1); /* each handed back once */
    char *cont_a = essence(&ia), *cont_b = essence(&ib);
    CHECK_STR(cont_a, alone_a);
    CHECK_STR(cont_b, alone_b);

    /* batch size 1: B is not admitted while A runs */
    atomic_store(&bs, 1);
    item_reset(&ia, &ba);
    item_reset(&ib, &bb);
    test_feed_t t1 = {.a = &ia, .b = &ib, .b_after = 0};
    engine_feed_t feed1 = {tf_take, tf_done, &t1};
    e->run_feed(e, &feed1, &bs);
    CHECK(t1.b_taken && t1.b_taken_idle == 1 && t1.b_taken_while_a_running == 0);
    CHECK(t1.ndone == 2 && t1.order[0] == 0 && t1.order[1] == 1);
    char *one_b = essence(&ib);
    CHECK_STR(one_b, alone_b);

    /* an item the engine cannot write is answered at once, the feed goes on */
    arena_t ar2 = ARENA_INIT;
    brief_t bes;
    CHECK(load_brief("{\"product_description\": \"Barco rojo\", \"target_platform\": \"facebook\","
                     " \"tone\": \"friendly\", \"language\": \"es\"}", &ar2, &bes) == 0);
    atomic_store(&bs, 8);
    item_reset(&ia, &bes);
    item_reset(&ib, &bb);
    test_feed_t t2 = {.a = &ia, .b = &ib, .b_after = 0};
    engine_feed_t feed2 = {tf_take, tf_done, &t2};
    e->run_feed(e, &feed2, &bs);
    CHECK(ia.status == ENGINE_ERR_LANGUAGE);
    CHECK(t2.a_done == 1 && t2.b_done == 1);
    char *lang_b = essence(&ib);
    CHECK_STR(lang_b, alone_b);

    free(alone_a), free(alone_b), free(fixed_a), free(fixed_b), free(cont_a), free(cont_b), free(one_b), free(lang_b);
    free(ia.output), free(ib.output), free(pair[0].output), free(pair[1].output);
    arena_free(&ar);
    arena_free(&ar2);
    e->destroy(e);
    TEST_DONE();
}
