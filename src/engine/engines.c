#include "engine/engines.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "engine/batcher.h"
#include "engine/breaker.h"
#include "stats/metrics.h"

typedef struct slot {
    engine_t *engine;
    breaker_t breaker;
    batcher_t *batcher; /* for engines that join concurrent requests */
} slot_t;

struct engines {
    slot_t slots[ENGINES_MAX];
    size_t n;
    size_t order[ENGINES_MAX]; /* indexes into slots */
    size_t n_order;
    atomic_int batch_size; /* the latest batch size asked for, read by the batchers */
};

engines_t *engines_create(void) {
    engines_t *set = calloc(1, sizeof(engines_t));
    if (set) atomic_init(&set->batch_size, 8);
    return set;
}

int engines_add(engines_t *set, engine_t *e) {
    if (set->n == ENGINES_MAX) return -1;
    slot_t *s = &set->slots[set->n];
    s->engine = e;
    breaker_init(&s->breaker, 5, 30.0);
    s->batcher = e->joins_batches ? batcher_create(e, &set->batch_size) : NULL;
    set->order[set->n_order++] = set->n;
    set->n++;
    metrics_breaker(e->name, BREAKER_CLOSED);
    return 0;
}

static int slot_index(const engines_t *set, const char *name, size_t len) {
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->slots[i].engine->name) == len && strncmp(set->slots[i].engine->name, name, len) == 0)
            return (int)i;
    return -1;
}

int engines_set_order(engines_t *set, const char *csv, char *err, size_t errsz) {
    size_t order[ENGINES_MAX], n = 0;
    const char *p = csv;
    while (*p) {
        while (*p == ',' || *p == ' ') p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ') p++;
        if (p == start) continue;
        int idx = slot_index(set, start, (size_t)(p - start));
        if (idx < 0) {
            snprintf(err, errsz, "unknown engine '%.*s' in the fallback order", (int)(p - start), start);
            return -1;
        }
        int dup = 0;
        for (size_t k = 0; k < n; k++) dup |= order[k] == (size_t)idx;
        if (!dup && n < ENGINES_MAX) order[n++] = (size_t)idx;
    }
    if (n == 0) {
        snprintf(err, errsz, "the fallback order names no engine");
        return -1;
    }
    memcpy(set->order, order, n * sizeof order[0]);
    set->n_order = n;
    return 0;
}

void engines_destroy(engines_t *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) {
        engine_t *e = set->slots[i].engine;
        batcher_destroy(set->slots[i].batcher); /* finishes its queue before the engine goes */
        if (e && e->destroy) e->destroy(e);
        breaker_destroy(&set->slots[i].breaker);
    }
    free(set);
}

size_t engines_count(const engines_t *set) { return set->n; }

engine_t *engines_at(const engines_t *set, size_t i) { return i < set->n ? set->slots[i].engine : NULL; }

engine_t *engines_find(const engines_t *set, const char *name, const char **model) {
    for (size_t i = 0; i < set->n; i++) {
        engine_t *e = set->slots[i].engine;
        if (strcmp(e->name, name) == 0) return e;
        for (const char *const *m = e->models; m && *m; m++)
            if (strcmp(*m, name) == 0) {
                if (model) *model = *m;
                return e;
            }
    }
    return NULL;
}

static slot_t *slot_of(engines_t *set, const engine_t *e) {
    for (size_t i = 0; i < set->n; i++)
        if (set->slots[i].engine == e) return &set->slots[i];
    return NULL;
}

static int retryable(engine_status_t st) {
    return st == ENGINE_ERR_UNAVAILABLE || st == ENGINE_ERR_INTERNAL;
}

/* One engine call over items[0..n), chunked by batch_size, with breaker and
 * metrics bookkeeping. */
static void run_on(slot_t *slot, engine_item_t **items, size_t n, int batch_size) {
    engine_t *e = slot->engine;
    engine_item_t chunk[256];
    size_t step = batch_size > 0 && batch_size <= 256 ? (size_t)batch_size : 256;
    for (size_t off = 0; off < n; off += step) {
        size_t m = n - off < step ? n - off : step;
        for (size_t k = 0; k < m; k++) {
            chunk[k] = *items[off + k];
            chunk[k].output = NULL;
            chunk[k].status = ENGINE_OK;
            chunk[k].err_field[0] = chunk[k].err_message[0] = '\0';
            chunk[k].tokens = 0;
        }
        double t0 = now_mono();
        if (slot->batcher) batcher_run(slot->batcher, chunk, m);
        else e->generate(e, chunk, m);
        double dt = now_mono() - t0;
        size_t errors = 0, engine_errors = 0;
        unsigned long tokens = 0;
        for (size_t k = 0; k < m; k++) {
            chunk[k].engine_used = e->name;
            *items[off + k] = chunk[k];
            tokens += chunk[k].tokens;
            if (chunk[k].status != ENGINE_OK) errors++;
            if (retryable(chunk[k].status)) engine_errors++;
        }
        if (!slot->batcher) metrics_engine(e->name, m, errors, tokens, dt); /* a batcher reports joined batches */
        if (engine_errors == m) breaker_failure(&slot->breaker);
        else breaker_success(&slot->breaker);
        metrics_breaker(e->name, (int)breaker_state(&slot->breaker));
    }
}

/* One round over the candidates for the items still retryable. */
static void run_round(slot_t **cand, size_t nc, engine_item_t *items, size_t n, engine_item_t **todo,
                      int batch_size) {
    for (size_t c = 0; c < nc; c++) {
        slot_t *slot = cand[c];
        engine_t *e = slot->engine;
        char why[128];
        if (!e->ready(e, why, sizeof why)) continue;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (!retryable(items[i].status)) continue;
            const brief_t *b = items[i].brief;
            if (!engine_speaks(e, b->language)) {
                /* Refuse only when no later candidate speaks it either:
                 * never answer in another language. */
                int later = 0;
                for (size_t k = c + 1; k < nc; k++) later |= engine_speaks(cand[k]->engine, b->language);
                if (!later) {
                    char langs[128];
                    engine_language_list(e, langs, sizeof langs);
                    items[i].status = ENGINE_ERR_LANGUAGE;
                    items[i].engine_used = e->name;
                    snprintf(items[i].err_field, sizeof items[i].err_field, "language");
                    snprintf(items[i].err_message, sizeof items[i].err_message,
                             "engine '%s' cannot write language '%s'; it writes: %s", e->name,
                             b->language, langs);
                }
                continue;
            }
            todo[m++] = &items[i];
        }
        /* Ask the breaker only when there is work: a half-open trial
         * claimed for nothing would never be released. */
        if (m && breaker_allow(&slot->breaker)) run_on(slot, todo, m, batch_size);
    }
}

void engines_generate(engines_t *set, engine_t *first, engine_item_t *items, size_t n, int batch_size) {
    atomic_store(&set->batch_size, batch_size);
    /* Candidate order: `first`, then the configured order without it. */
    slot_t *cand[ENGINES_MAX + 1];
    size_t nc = 0;
    if (first) {
        slot_t *s = slot_of(set, first);
        if (s) cand[nc++] = s;
    }
    for (size_t i = 0; i < set->n_order; i++) {
        slot_t *s = &set->slots[set->order[i]];
        if (nc == 0 || s != cand[0]) cand[nc++] = s;
    }

    engine_item_t **todo = malloc(n * sizeof *todo);
    if (!todo) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = ENGINE_ERR_INTERNAL;
            snprintf(items[i].err_message, sizeof items[i].err_message, "out of memory");
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].output = NULL;
        items[i].engine_used = NULL;
        items[i].status = ENGINE_ERR_UNAVAILABLE;
        snprintf(items[i].err_message, sizeof items[i].err_message, "no engine is available");
        items[i].err_field[0] = '\0';
    }

    /* Items still to serve are those whose status is retryable. When every
     * candidate failed some of them, the round is tried again after a
     * backoff with jitter, as long as the briefs' timeouts allow. */
    double deadline = now_mono() + ENGINES_DEFAULT_TIMEOUT;
    for (size_t i = 0; i < n; i++)
        if (items[i].brief->timeout > 0 && now_mono() + items[i].brief->timeout < deadline)
            deadline = now_mono() + items[i].brief->timeout;
    for (int attempt = 0; attempt < ENGINES_ATTEMPTS; attempt++) {
        if (attempt > 0) {
            size_t left = 0;
            for (size_t i = 0; i < n; i++) left += retryable(items[i].status);
            if (!left) break;
            double backoff = ENGINES_BACKOFF * (double)(1 << (attempt - 1));
            backoff *= 0.5 + (double)(rand_u64() % 1000) / 1000.0; /* jitter: 0.5x .. 1.5x */
            if (now_mono() + backoff >= deadline) break;
            struct timespec ts = {(time_t)backoff, (long)((backoff - (double)(time_t)backoff) * 1e9)};
            nanosleep(&ts, NULL);
        }
        run_round(cand, nc, items, n, todo, batch_size);
    }
    free(todo);
}

json_t *engines_status_json(engines_t *set) {
    json_t *o = json_object();
    for (size_t i = 0; i < set->n; i++) {
        engine_t *e = set->slots[i].engine;
        char why[256] = "";
        int ready = e->ready(e, why, sizeof why);
        json_t *models = json_array(), *langs = json_array();
        for (const char *const *m = e->models; m && *m; m++) json_array_append_new(models, json_string(*m));
        for (const char *const *l = e->languages; l && *l; l++) json_array_append_new(langs, json_string(*l));
        breaker_state_t bs = breaker_state(&set->slots[i].breaker);
        json_object_set_new(o, e->name,
                            json_pack("{s:b, s:s?, s:o, s:o, s:{s:s, s:i, s:I}}", "ready", ready,
                                      "reason", ready ? NULL : why, "models", models, "languages", langs,
                                      "circuit_breaker", "state", breaker_state_name(bs), "consecutive_failures",
                                      set->slots[i].breaker.failures, "times_opened",
                                      (json_int_t)set->slots[i].breaker.opens));
    }
    return o;
}

int engines_any_ready(engines_t *set) {
    for (size_t i = 0; i < set->n; i++) {
        char why[8];
        if (set->slots[i].engine->ready(set->slots[i].engine, why, sizeof why)) return 1;
    }
    return 0;
}
