/* template.c -- the template engine: grammar-driven copy from the phrase
 * banks under the data folder (copy/phrasebank.h, copy/compose.h).
 *
 * The data is loaded once at creation and shared read-only by every thread;
 * generate() allocates only the output text (plus small per-brief scratch),
 * so it serves many thousands of briefs a second on one core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/compose.h"
#include "copy/phrasebank.h"
#include "core/buf.h"
#include "engine/engine.h"

static const char *const template_models[] = {"template-v1", NULL};

typedef struct template_impl {
    copy_data_t *data;
} template_impl_t;

static int template_ready(engine_t *e, char *why, size_t whysz) {
    template_impl_t *t = e->impl;
    if (t && t->data) return 1;
    snprintf(why, whysz, "template data not loaded");
    return 0;
}

static void fail(engine_item_t *it, engine_status_t st, const char *field, const char *msg) {
    it->status = st;
    snprintf(it->err_field, sizeof it->err_field, "%s", field);
    snprintf(it->err_message, sizeof it->err_message, "%s", msg);
}

static void template_generate(engine_t *e, engine_item_t *items, size_t n) {
    template_impl_t *t = e->impl;
    for (size_t i = 0; i < n; i++) {
        engine_item_t *it = &items[i];
        it->output = NULL;
        it->output_len = 0;
        it->tokens = 0;
        it->err_field[0] = it->err_message[0] = '\0';
        const brief_t *b = it->brief;
        if (!b || !b->product_description || (unsigned)b->platform >= PLATFORM__COUNT || (unsigned)b->tone >= TONE__COUNT) {
            fail(it, ENGINE_ERR_INVALID, "", "brief is incomplete");
            continue;
        }
        /* it->model: the api only routes names from `models` here (or legacy
         * aliases it maps to the default engine); there is one model, so any
         * name is served by template-v1. */
        const pb_lang_t *lang = engine_speaks(e, b->language) ? copy_data_lang(t->data, b->language) : NULL;
        if (!lang) {
            char langs[128], m[256];
            engine_language_list(e, langs, sizeof langs);
            snprintf(m, sizeof m, "engine 'template' cannot write language '%.8s'; it writes: %s", b->language, langs);
            fail(it, ENGINE_ERR_LANGUAGE, "language", m);
            continue;
        }
        buf_t out = BUF_INIT;
        unsigned tokens = 0;
        if (compose_output(t->data, lang, b, template_models[0], &out, &tokens) < 0) {
            buf_free(&out);
            fail(it, ENGINE_ERR_INTERNAL, "", "out of memory while writing copy");
            continue;
        }
        size_t len = 0;
        it->output = buf_detach(&out, &len);
        if (!it->output) { fail(it, ENGINE_ERR_INTERNAL, "", "out of memory while writing copy"); continue; }
        it->output_len = len;
        it->tokens = tokens;
        it->status = ENGINE_OK;
    }
}

static void template_destroy(engine_t *e) {
    if (!e) return;
    template_impl_t *t = e->impl;
    if (t) copy_data_free(t->data);
    free(t);
    free(e);
}

engine_t *template_engine_create(const char *data_path, char *err, size_t errsz) {
    if (!data_path || !*data_path) {
        snprintf(err, errsz, "template engine: no data folder given");
        return NULL;
    }
    engine_t *e = calloc(1, sizeof *e);
    template_impl_t *t = calloc(1, sizeof *t);
    if (!e || !t) {
        free(e);
        free(t);
        snprintf(err, errsz, "template engine: out of memory");
        return NULL;
    }
    char why[512];
    t->data = copy_data_load(data_path, why, sizeof why);
    if (!t->data) {
        snprintf(err, errsz, "template engine: %s", why);
        free(t);
        free(e);
        return NULL;
    }
    e->name = "template";
    e->models = template_models;
    e->languages = t->data->codes;
    e->ready = template_ready;
    e->generate = template_generate;
    e->destroy = template_destroy;
    e->impl = t;
    return e;
}
