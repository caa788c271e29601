/* finish.h -- turning variants written elsewhere (by a model) into the
 * output object of SPEC section 3.
 *
 * The template engine composes and scores its own variants (compose.h). An
 * engine whose text comes from a model hands its raw variants here: they
 * are measured (characters, words), scored (readability per language,
 * engagement features) and checked against the brief's rules by the same
 * rules code the template engine uses, then serialised with
 * `extra_metadata` last, as engine.h requires.
 *
 * copy_check() alone is what an engine uses to decide whether a model's
 * output may be served or must be generated again. */
#ifndef COPYD_COPY_FINISH_H
#define COPYD_COPY_FINISH_H

#include <stddef.h>

#include "api/brief.h"
#include "copy/phrasebank.h"
#include "copy/rules.h"
#include "core/buf.h"

typedef struct copy_variant_in {
    const char *headline, *primary_text, *call_to_action;
    const char *const *hashtags;
    size_t n_hashtags;
} copy_variant_in_t;

/* The brief's rules in the language of the copy (the brief's language's
 * patterns first, then the others). */
void copy_rules_for(const copy_data_t *d, const brief_t *b, ruleset_t *rs);

/* Violations of the rules and of the platform's limits (headline, text,
 * whole post, hashtags; max_length/min_length on the text) by `v`, written
 * to `out` (at most `max`). Returns how many were found. */
size_t copy_check(const copy_data_t *d, const brief_t *b, const ruleset_t *rs, const copy_variant_in_t *v,
                  rule_violation_t *out, size_t max);

typedef struct copy_finish_info {
    const char *engine;          /* "llm" */
    const char *model;           /* model name for model_used */
    const char *id_prefix;       /* variant ids are "<prefix>-<12 hex>-<n>" */
    double generation_seconds;
    unsigned tokens;
    const char *const *suggestions; /* optimization_suggestions */
    size_t n_suggestions;
    const char *const *extra_keys;  /* extra string members of extra_metadata */
    const char *const *extra_values;
    size_t n_extra;
} copy_finish_info_t;

/* Appends the whole output object for `n` variants to `out`. 0, or -1
 * when out of memory. */
int copy_finish(const copy_data_t *d, const brief_t *b, const copy_variant_in_t *v, size_t n,
                const copy_finish_info_t *info, buf_t *out);

#endif
